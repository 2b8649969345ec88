/* Live tests of fs_change (handlers/fs_write.c): a change is made once although the program's
 * wait is interrupted around it. Without WAIT_KILLABLE_RECV (the agent's case) a signal makes
 * the kernel drop the notification and, with SA_RESTART, send the same call again; here the
 * handler itself sends that signal at a chosen point, so each case happens every time. The
 * test binary re-executes itself as the supervised program (SB_CHILD=mode). */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sysbroker/sysbroker.h>

#include "handlers/fs_write.h"
#include "tap.h"

/* ---------------- the supervised side ---------------- */

static void on_usr1(int sig)
{
}

/* mkdir DIR/d, then mkdir it again: 0, then EEXIST (a real repetition is not a restart). */
static int child_main(const char *mode)
{
	const char *dir = getenv("SB_DIR");
	char d[4096];
	snprintf(d, sizeof(d), "%s/d", dir);
	struct sigaction sa = {.sa_handler = on_usr1};
	sa.sa_flags = strcmp(mode, "norestart") ? SA_RESTART : 0;
	sigaction(SIGUSR1, &sa, NULL);
	long r = syscall(SYS_mkdir, d, 0700);
	int e = errno;
	if (!strcmp(mode, "norestart"))
		return r == -1 && e == EINTR ? 0 : 10;
	if (r != 0)
		return 20 + (e == EEXIST);
	r = syscall(SYS_mkdir, d, 0700);
	return r == -1 && errno == EEXIST ? 0 : 30;
}

/* Before tap's main: the re-executed binary is the program, not the test runner. */
__attribute__((constructor)) static void maybe_child(void)
{
	const char *mode = getenv("SB_CHILD");
	if (mode)
		_exit(child_main(mode));
}

/* ---------------- the supervisor side ---------------- */

enum when { BEFORE, AFTER, AFTER_AND_HOLD };
static enum when when;
static atomic_int entered, made;
static pid_t target;

/* Interrupts the target's wait for this call and returns once the kernel dropped it. The
 * caller's own tid, not target: the call may come before sb_spawn has returned its pid. */
static void interrupt(sb_req *r)
{
	kill(sb_req_tid(r), SIGUSR1);
	while (sb_req_valid(r) == 0)
		usleep(1000);
}

static sb_req *first;

static int make(void *arg)
{
	int k = mkdir(arg, 0700) < 0 ? -errno : 0;
	atomic_fetch_add(&made, 1);
	if (atomic_load(&made) == 1 && when != BEFORE) {
		interrupt(first);
		/* Hold until the restarted call is in the handler too (another worker):
		 * fs_change must make it wait for this one's outcome. */
		while (when == AFTER_AND_HOLD && atomic_load(&entered) < 2)
			usleep(1000);
	}
	return k;
}

static int h_mkdir(sb_req *r, void *ud)
{
	char path[4096];
	int k = sb_req_read_string(r, sb_req_arg(r, 0), path, sizeof(path));
	if (k < 0)
		return k;
	if (atomic_fetch_add(&entered, 1) == 0) {
		first = r;
		if (when == BEFORE)
			interrupt(r);
	}
	return fs_change(r, path, NULL, make, path);
}

static int run(enum when w, const char *mode, const char *dir)
{
	when = w;
	sb_supervisor *s = NULL;
	sb_supervisor_opts so = {.min_workers = 2};
	int r = sb_supervisor_new(&s, &so);
	if (r == -EOPNOTSUPP)
		tap_skip("no seccomp user notification");
	ASSERT_EQ(r, 0);
	ASSERT_EQ(sb_on_syscall(s, SYS_mkdir, h_mkdir, NULL), 0);
	static char env[64], envd[4200];
	snprintf(env, sizeof(env), "SB_CHILD=%s", mode);
	snprintf(envd, sizeof(envd), "SB_DIR=%s", dir);
	char *envp[] = {env, envd, NULL};
	char *argv[] = {"self", NULL};
	sb_spawn_opts o = {.path = "/proc/self/exe",
			   .envp = envp,
			   .stdin_fd = -1,
			   .stdout_fd = -1,
			   .stderr_fd = -1};
	int pidfd;
	target = sb_spawn(s, &o, argv, &pidfd, NULL);
	ASSERT_GE(target, 1);
	int st;
	ASSERT_EQ(waitpid(target, &st, 0), target);
	close(pidfd);
	sb_supervisor_free(s);
	ASSERT_TRUE(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* A test that passed leaves nothing behind; a failed one keeps its directory. */
static void clean(const char *dir)
{
	char d[4200];
	snprintf(d, sizeof(d), "%s/d", dir);
	rmdir(d);
	rmdir(dir);
}

static const char *tmpdir(void)
{
	static char dir[] = "/tmp/sb-fs-change-XXXXXX";
	ASSERT_TRUE(mkdtemp(dir) != NULL);
	return dir;
}

/* Made, then the answer lost: the restart gets that answer (not EEXIST), the next mkdir is
 * made again (EEXIST from the kernel). */
TEST(restart_after_the_change_gets_its_answer)
{
	const char *dir = tmpdir();
	ASSERT_EQ(run(AFTER, "restart", dir), 0);
	ASSERT_EQ(atomic_load(&made), 2);
	ASSERT_EQ(atomic_load(&entered), 3);
	clean(dir);
}

/* The same while the restart reaches a second worker before the first finished. */
TEST(restart_on_another_worker_waits_for_the_first)
{
	const char *dir = tmpdir();
	ASSERT_EQ(run(AFTER_AND_HOLD, "restart", dir), 0);
	ASSERT_EQ(atomic_load(&made), 2);
	clean(dir);
}

/* Abandoned before the change: nothing is made (the program saw EINTR, as if the call never
 * ran). */
TEST(abandoned_before_the_change_makes_nothing)
{
	const char *dir = tmpdir();
	ASSERT_EQ(run(BEFORE, "norestart", dir), 0);
	ASSERT_EQ(atomic_load(&made), 0);
	char d[4200];
	snprintf(d, sizeof(d), "%s/d", dir);
	ASSERT_TRUE(access(d, F_OK) < 0 && errno == ENOENT);
	clean(dir);
}
