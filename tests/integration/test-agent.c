/* Integration tests of `sysbroker agent`: the real binary with hostile peers, socket handling, and
 * real runc and crun containers. */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "macros.h"
#include "tap.h"

/* ---- small helpers ---- */

static void __attribute__((format(printf, 2, 3))) write_file(const char *path, const char *fmt, ...)
{
	va_list ap;
	FILE *f = fopen(path, "we");
	ASSERT_TRUE(f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	ASSERT_EQ(fclose(f), 0);
}

/* Whole file into a static buffer ("" when missing). */
static const char *read_file(const char *path)
{
	static char buf[1 << 20];
	buf[0] = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return buf;
	size_t n = 0;
	ssize_t k;
	while (n < sizeof(buf) - 1 && (k = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)k;
	buf[n] = 0;
	close(fd);
	return buf;
}

static unsigned count_str(const char *hay, const char *needle)
{
	unsigned n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

/*
 * The fds of pid that are not directories. The engine keeps per-worker-thread directory
 * fds (the thread's /proc fd dir, its root) that come and go with worker threads; what a
 * connection could leak (sockets, listeners, pipes, files) is counted.
 */
static int count_fds(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	DIR *d = fdopendir(dfd);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		struct stat st;
		if (de->d_name[0] == '.' || atoi(de->d_name) == dfd)
			continue;
		if (fstatat(dfd, de->d_name, &st, 0) == 0 && S_ISDIR(st.st_mode))
			continue;
		n++;
	}
	closedir(d);
	return n;
}

/* An executable on PATH (or at an absolute path), NULL when absent. */
static const char *find_exe(const char *name)
{
	static char buf[4096];
	if (name[0] == '/')
		return access(name, X_OK) == 0 ? name : NULL;
	const char *path = getenv("PATH");
	char dirs[4096];
	snprintf(dirs, sizeof(dirs), "%s:/usr/sbin:/sbin", path ? path : "/usr/bin:/bin");
	for (char *save, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(buf, sizeof(buf), "%s/%s", d, name);
		if (access(buf, X_OK) == 0)
			return buf;
	}
	return NULL;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 ? -1 : 0;
}

/* Removes a test's directory once it passed (a failing one stays for a look). */
static void rm_rf(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

/* ---- the agent under test ---- */

struct agent {
	pid_t pid;
	char dir[256], sock[300], log[300], pol[300];
	int baseline_fds;
};

static const char *sysbroker(void)
{
	const char *s = getenv("SYSBROKER");
	if (!s || access(s, X_OK) < 0)
		tap_skip("SYSBROKER (the binary under test) not set");
	return s;
}

static void need_root(void)
{
	if (geteuid() != 0)
		tap_skip("needs root (the agent serves other users' processes)");
}

/* Log lines so far. */
static const char *agent_log(struct agent *a)
{
	return read_file(a->log);
}

/* Waits until the log holds at least n occurrences of needle. */
static void wait_log(struct agent *a, const char *needle, unsigned n, long timeout_ms)
{
	long end = now_ms() + timeout_ms;
	while (count_str(agent_log(a), needle) < n) {
		if (now_ms() > end)
			tap_fail(__FILE__, __LINE__, "no %u× \"%s\" in the agent log:\n%s", n,
				 needle, agent_log(a));
		sleep_ms(10);
	}
}

/* The agent's fds back at their idle count (listeners are closed a moment after "exited"). */
static void wait_baseline(struct agent *a)
{
	long end = now_ms() + 3000;
	int n;
	while ((n = count_fds(a->pid)) != a->baseline_fds) {
		if (now_ms() > end)
			tap_fail(__FILE__, __LINE__, "agent holds %d fds, baseline %d\n%s", n,
				 a->baseline_fds, agent_log(a));
		sleep_ms(10);
	}
}

static void agent_dirs(struct agent *a)
{
	snprintf(a->dir, sizeof(a->dir), "/tmp/sb-agent-test-XXXXXX");
	ASSERT_TRUE(mkdtemp(a->dir));
	snprintf(a->sock, sizeof(a->sock), "%s/agent.sock", a->dir);
	snprintf(a->log, sizeof(a->log), "%s/agent.log", a->dir);
	snprintf(a->pol, sizeof(a->pol), "%s/policies", a->dir);
	ASSERT_EQ(mkdir(a->pol, 0700), 0);
	char p[512];
	snprintf(p, sizeof(p), "%s/default.policy", a->pol);
	write_file(p, "default allow\n");
	snprintf(p, sizeof(p), "%s/deny-secret.policy", a->pol);
	write_file(p, "default allow\ndeny %s/secret\n", a->dir);
	snprintf(p, sizeof(p), "%s/secret", a->dir);
	write_file(p, "hush\n");
	snprintf(p, sizeof(p), "%s/public", a->dir);
	write_file(p, "hello\n");
	snprintf(p, sizeof(p), "%s/broken.policy", a->pol);
	write_file(p, "default allow\nalow /x\n");
}

/*
 * Starts the agent with its stderr in a->log. listen_fd >= 0: socket activation with it as
 * fd 3. Returns once it logged that it listens; skips when the kernel lacks user notification.
 */
static void agent_spawn(struct agent *a, int listen_fd, const char *const *extra)
{
	const char *bin = sysbroker();
	char *argv[32];
	int n = 0;
	argv[n++] = (char *)bin;
	argv[n++] = (char *)"agent";
	if (listen_fd < 0) {
		argv[n++] = (char *)"--socket";
		argv[n++] = a->sock;
	}
	argv[n++] = (char *)"--policy-dir";
	argv[n++] = a->pol;
	for (; extra && *extra && n < 30; extra++)
		argv[n++] = (char *)*extra;
	argv[n] = NULL;

	int logfd = open(a->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ASSERT_TRUE(logfd >= 0);
	fflush(stdout);
	a->pid = fork();
	ASSERT_TRUE(a->pid >= 0);
	if (a->pid == 0) {
		/* A failing test must not leave its agent behind. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(logfd, STDERR_FILENO);
		int null = open("/dev/null", O_RDWR);
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		if (listen_fd >= 0) {
			char pid[32];
			/* dup2 onto itself would keep O_CLOEXEC. */
			if (listen_fd == 3)
				fcntl(3, F_SETFD, 0);
			else
				dup2(listen_fd, 3);
			snprintf(pid, sizeof(pid), "%d", (int)getpid());
			setenv("LISTEN_PID", pid, 1);
			setenv("LISTEN_FDS", "1", 1);
		}
		/* Only what the agent opens itself counts, nothing inherited from the runner. */
		for (int fd = listen_fd >= 0 ? 4 : 3; fd < 1024; fd++)
			close(fd);
		execv(bin, argv);
		_exit(127);
	}
	close(logfd);
	long end = now_ms() + 10000;
	while (!strstr(agent_log(a), "listening on")) {
		int st;
		if (waitpid(a->pid, &st, WNOHANG) == a->pid) {
			a->pid = 0;
			if (strstr(agent_log(a), "cannot start the engine"))
				tap_skip("engine unavailable: %s", agent_log(a));
			tap_fail(__FILE__, __LINE__, "agent exited early:\n%s", agent_log(a));
		}
		if (now_ms() > end)
			tap_fail(__FILE__, __LINE__, "agent did not start:\n%s", agent_log(a));
		sleep_ms(10);
	}
	a->baseline_fds = count_fds(a->pid);
	ASSERT_TRUE(a->baseline_fds > 0);
}

static void agent_start(struct agent *a)
{
	static const char *const def[] = {"--default-policy", "default", NULL};
	need_root();
	agent_dirs(a);
	agent_spawn(a, -1, def);
}

/* SIGTERM: exit 0, socket gone. */
static void agent_stop(struct agent *a, bool socket_removed)
{
	ASSERT_EQ(kill(a->pid, SIGTERM), 0);
	int st = 0;
	ASSERT_EQ(waitpid(a->pid, &st, 0), a->pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		tap_fail(__FILE__, __LINE__, "agent status 0x%x\n%s", st, agent_log(a));
	struct stat sb;
	ASSERT_EQ(lstat(a->sock, &sb) < 0, socket_removed);
	a->pid = 0;
}

static int agent_connect(struct agent *a)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_TRUE(fd >= 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	ASSERT_TRUE(strlen(a->sock) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, a->sock, strlen(a->sock) + 1);
	ASSERT_EQ(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Sends len bytes with fds (n_fds of them) in SCM_RIGHTS on the first byte. */
static ssize_t send_with_fds(int sock, const void *buf, size_t len, const int *fds, size_t n_fds)
{
	char ctl[CMSG_SPACE(sizeof(int) * 8)] = {0};
	struct iovec iov = {(void *)buf, len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	if (n_fds) {
		msg.msg_control = ctl;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
		struct cmsghdr *h = CMSG_FIRSTHDR(&msg);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
		memcpy(CMSG_DATA(h), fds, sizeof(int) * n_fds);
	}
	return sendmsg(sock, &msg, MSG_NOSIGNAL);
}

/* A runc-style payload. fds_json is the "fds" array; metadata NULL leaves the key out. */
static const char *payload(const char *id, pid_t pid, const char *metadata, const char *fds_json)
{
	static char buf[4096];
	char meta[1024] = "";
	if (metadata)
		snprintf(meta, sizeof(meta), "\"metadata\":\"%s\",", metadata);
	snprintf(
	    buf, sizeof(buf),
	    "{\"ociVersion\":\"1.0.2-dev\",\"fds\":%s,\"pid\":%d,%s\"state\":{\"ociVersion\":"
	    "\"1.0.2-dev\",\"id\":\"%s\",\"status\":\"creating\",\"pid\":%d,\"bundle\":\"/b\"}}",
	    fds_json ? fds_json : "[\"seccompFd\"]", (int)pid, meta, id, (int)pid);
	return buf;
}

/* ---- a process with a real seccomp listener, as a runtime would hand over ---- */

struct target {
	pid_t pid;
	int ctl;      /* commands to the process */
	int listener; /* its seccomp listener, ours to send */
};

static int recv_fd(int sock)
{
	char ctl[CMSG_SPACE(sizeof(int))], c;
	struct iovec iov = {&c, 1};
	struct msghdr msg = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)};
	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	struct cmsghdr *h = CMSG_FIRSTHDR(&msg);
	if (!h || h->cmsg_type != SCM_RIGHTS)
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(h), sizeof(fd));
	return fd;
}

/*
 * Forks a process that installs a filter sending openat and getppid to user space and
 * hands its listener back. Commands on ctl: 'o' PATH\n -> open it, answer "errno\n" (0 ok);
 * 'g' -> getppid, answer "result errno\n"; EOF -> exit.
 */
static void target_start(struct target *t)
{
	int sp[2];
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	fflush(stdout);
	t->pid = fork();
	ASSERT_TRUE(t->pid >= 0);
	if (t->pid == 0) {
		close(sp[0]);
		struct sock_filter f[] = {
		    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, 2, 0),
		    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 1, 0),
		    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		};
		struct sock_fprog prog = {ELEMENTSOF(f), f};
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			_exit(2);
		int lfd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
				       SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
		if (lfd < 0)
			_exit(3);
		if (send_with_fds(sp[1], "L", 1, &lfd, 1) != 1)
			_exit(4);
		close(lfd);
		char cmd[4096];
		for (;;) {
			ssize_t n = read(sp[1], cmd, sizeof(cmd) - 1);
			if (n <= 0)
				_exit(0);
			cmd[n] = 0;
			char ans[64];
			if (cmd[0] == 'o') {
				cmd[strcspn(cmd, "\n")] = 0;
				int fd = open(cmd + 1, O_RDONLY | O_CLOEXEC);
				snprintf(ans, sizeof(ans), "%d\n", fd < 0 ? errno : 0);
				if (fd >= 0)
					close(fd);
			} else {
				errno = 0;
				long r = syscall(SYS_getppid);
				snprintf(ans, sizeof(ans), "%ld %d\n", r, r < 0 ? errno : 0);
			}
			if (write(sp[1], ans, strlen(ans)) < 0)
				_exit(5);
		}
	}
	close(sp[1]);
	t->ctl = sp[0];
	t->listener = recv_fd(t->ctl);
	ASSERT_TRUE(t->listener >= 0);
}

/* Asks the target to open path; returns its errno (0: opened). */
static int target_open(struct target *t, const char *path)
{
	char cmd[4200], ans[64];
	snprintf(cmd, sizeof(cmd), "o%s\n", path);
	ASSERT_EQ(write(t->ctl, cmd, strlen(cmd)), (ssize_t)strlen(cmd));
	struct pollfd p = {t->ctl, POLLIN, 0};
	if (poll(&p, 1, 10000) != 1)
		tap_fail(__FILE__, __LINE__, "target blocked in open(%s): nobody answers", path);
	ssize_t n = read(t->ctl, ans, sizeof(ans) - 1);
	ASSERT_TRUE(n > 0);
	ans[n] = 0;
	return atoi(ans);
}

/* Asks the target to call getppid; returns once it got an answer. */
static long target_getppid(struct target *t)
{
	char ans[64];
	ASSERT_EQ(write(t->ctl, "g", 1), 1);
	struct pollfd p = {t->ctl, POLLIN, 0};
	if (poll(&p, 1, 10000) != 1)
		tap_fail(__FILE__, __LINE__, "target blocked in getppid: nobody answers");
	ssize_t n = read(t->ctl, ans, sizeof(ans) - 1);
	ASSERT_TRUE(n > 0);
	ans[n] = 0;
	return atol(ans);
}

static void target_stop(struct target *t)
{
	if (t->listener >= 0)
		close(t->listener);
	close(t->ctl);
	int st;
	ASSERT_EQ(waitpid(t->pid, &st, 0), t->pid);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* The good case: a listener with a proper payload is attached, served, and let go. */
static void good_connection(struct agent *a, const char *id)
{
	struct target t;
	char line[512];
	target_start(&t);
	unsigned before = count_str(agent_log(a), "exited");
	int s = agent_connect(a);
	const char *p = payload(id, t.pid, NULL, NULL);
	ASSERT_EQ(send_with_fds(s, p, strlen(p), &t.listener, 1), (ssize_t)strlen(p));
	close(t.listener);
	t.listener = -1;
	snprintf(line, sizeof(line),
		 "container %s (pid %d, runtime test-integratio): attached, "
		 "policy default",
		 id, (int)t.pid);
	wait_log(a, line, 1, 5000);
	/* Served: the notified call comes back (a handler's answer or ENOSYS), never hangs. */
	target_getppid(&t);
	close(s); /* like runc, the runtime may keep it open as long as it likes */
	target_stop(&t);
	wait_log(a, "exited", before + 1, 5000);
	wait_baseline(a);
}

/* ---- the agent itself ---- */

TEST_TIMEOUT(agent_serves_and_stops, 60)
{
	struct agent a;
	agent_start(&a);
	struct stat st;
	ASSERT_EQ(lstat(a.sock, &st), 0);
	ASSERT_TRUE(S_ISSOCK(st.st_mode));
	ASSERT_EQ(st.st_mode & 07777, 0600);
	good_connection(&a, "good-1");
	good_connection(&a, "good-2");
	agent_stop(&a, true);
	ASSERT_TRUE(strstr(agent_log(&a), "stopping on TERM"));
	rm_rf(a.dir);
}

TEST_TIMEOUT(agent_enforces_policy_from_metadata, 60)
{
	struct agent a;
	struct target t;
	char path[512], audit[512];
	need_root();
	agent_dirs(&a);
	snprintf(audit, sizeof(audit), "%s/audit.jsonl", a.dir);
	const char *const args[] = {"--default-policy", "default", "--audit", audit, NULL};
	agent_spawn(&a, -1, args);
	target_start(&t);
	int s = agent_connect(&a);
	const char *p = payload("meta-1", t.pid, "agent-test;policy=deny-secret", NULL);
	ASSERT_EQ(send_with_fds(s, p, strlen(p), &t.listener, 1), (ssize_t)strlen(p));
	wait_log(&a, "meta-1 (pid", 1, 5000);
	wait_log(&a, "attached, policy deny-secret", 1, 5000);
	snprintf(path, sizeof(path), "%s/public", a.dir);
	ASSERT_EQ(target_open(&t, path), 0);
	snprintf(path, sizeof(path), "%s/secret", a.dir);
	ASSERT_EQ(target_open(&t, path), EACCES);
	close(s);
	target_stop(&t);
	wait_log(&a, "meta-1 (pid", 2, 5000);
	wait_baseline(&a);
	/* The audit record names the container of each call. */
	const char *log = read_file(audit);
	if (count_str(log, "\"container\":\"meta-1\"") < 2 || !strstr(log, "\"errno\":\"EACCES\""))
		tap_fail(__FILE__, __LINE__, "audit:\n%s", log);
	agent_stop(&a, true);
	rm_rf(a.dir);
}

/* Refusals: one line each, the listener closed (ENOSYS in the target), the agent unharmed. */
static void refused(struct agent *a, const char *metadata, const char *why)
{
	struct target t;
	target_start(&t);
	unsigned before = count_str(agent_log(a), "refused");
	int s = agent_connect(a);
	const char *p = payload("refused-1", t.pid, metadata, NULL);
	ASSERT_EQ(send_with_fds(s, p, strlen(p), &t.listener, 1), (ssize_t)strlen(p));
	close(t.listener);
	t.listener = -1;
	wait_log(a, "refused", before + 1, 5000);
	if (!strstr(agent_log(a), why))
		tap_fail(__FILE__, __LINE__, "want \"%s\" in:\n%s", why, agent_log(a));
	/* The listener is closed: the call fails with ENOSYS, never a silent allow. */
	ASSERT_EQ(target_open(&t, "/"), ENOSYS);
	close(s);
	target_stop(&t);
	wait_baseline(a);
}

TEST_TIMEOUT(agent_refuses_bad_policy_names, 60)
{
	struct agent a;
	agent_start(&a);
	refused(&a, "agent-test;policy=deny-mkdir-*deny*", "is not valid");
	refused(&a, "policy=..", "is not valid");
	refused(&a, "policy=a;policy=b", "more than one policy");
	refused(&a, "policy=missing", "policy missing: ");
	refused(&a, "policy=broken", "broken.policy:2: unknown rule");
	good_connection(&a, "after-refusals");
	agent_stop(&a, true);
	rm_rf(a.dir);
}

TEST_TIMEOUT(agent_without_default_refuses_unnamed, 60)
{
	struct agent a;
	need_root();
	agent_dirs(&a);
	agent_spawn(&a, -1, NULL);
	refused(&a, NULL, "no --default-policy");
	agent_stop(&a, true);
	rm_rf(a.dir);
}

/* ---- hostile peers: after each, a good connection is served and no fd is left behind ---- */

TEST_TIMEOUT(peer_silent, 60)
{
	struct agent a;
	agent_start(&a);
	/* Silent peers (crun between create and start) must not hold anyone up. */
	int silent[50];
	for (unsigned i = 0; i < ELEMENTSOF(silent); i++)
		silent[i] = agent_connect(&a);
	int base = a.baseline_fds;
	a.baseline_fds += ELEMENTSOF(silent);
	good_connection(&a, "beside-silent");
	a.baseline_fds = base;
	for (unsigned i = 0; i < ELEMENTSOF(silent); i++)
		close(silent[i]);
	wait_log(&a, "closed without sending a payload", ELEMENTSOF(silent), 5000);
	wait_baseline(&a);
	agent_stop(&a, true);
	rm_rf(a.dir);
}

TEST_TIMEOUT(peer_garbage, 60)
{
	struct agent a;
	agent_start(&a);
	int s = agent_connect(&a);
	ASSERT_EQ(send(s, "hello world\n", 12, MSG_NOSIGNAL), 12);
	wait_log(&a, "refused: malformed payload", 1, 5000);
	/* Garbage after a complete object, in the same read. */
	int s2 = agent_connect(&a);
	char buf[8192];
	snprintf(buf, sizeof(buf), "%s}", payload("g", 1, NULL, "[]"));
	ASSERT_EQ(send(s2, buf, strlen(buf), MSG_NOSIGNAL), (ssize_t)strlen(buf));
	wait_log(&a, "refused: malformed payload", 2, 5000);
	close(s);
	close(s2);
	good_connection(&a, "after-garbage");
	agent_stop(&a, true);
	rm_rf(a.dir);
}

TEST_TIMEOUT(peer_truncated_then_close, 60)
{
	struct agent a;
	agent_start(&a);
	int s = agent_connect(&a);
	const char *p = payload("trunc", 1, NULL, NULL);
	ASSERT_EQ(send(s, p, strlen(p) / 2, MSG_NOSIGNAL), (ssize_t)(strlen(p) / 2));
	sleep_ms(50);
	close(s);
	wait_log(&a, "refused: closed mid-payload", 1, 5000);
	good_connection(&a, "after-truncated");
	agent_stop(&a, true);
	rm_rf(a.dir);
}

TEST_TIMEOUT(peer_disconnects_mid_payload_with_fd, 60)
{
	struct agent a;
	struct target t;
	agent_start(&a);
	target_start(&t);
	int s = agent_connect(&a);
	const char *p = payload("mid", t.pid, NULL, NULL);
	ASSERT_EQ(send_with_fds(s, p, 40, &t.listener, 1), 40);
	sleep_ms(50);
	close(s);
	wait_log(&a, "refused: closed mid-payload", 1, 5000);
	/* The fd it received was closed with the connection. */
	wait_baseline(&a);
	target_stop(&t);
	good_connection(&a, "after-mid");
	agent_stop(&a, true);
	rm_rf(a.dir);
}

TEST_TIMEOUT(peer_no_fd, 60)
{
	struct agent a;
	agent_start(&a);
	int s = agent_connect(&a);
	const char *p = payload("nofd", 1, NULL, NULL);
	ASSERT_EQ(send(s, p, strlen(p), MSG_NOSIGNAL), (ssize_t)strlen(p));
	wait_log(&a, "container nofd (pid 1, runtime ", 1, 5000);
	wait_log(&a, "refused: payload names 1 fds, 0 received", 1, 5000);
	close(s);
	/* Named nothing at all. */
	s = agent_connect(&a);
	p = payload("nofd2", 1, NULL, "[]");
	ASSERT_EQ(send(s, p, strlen(p), MSG_NOSIGNAL), (ssize_t)strlen(p));
	wait_log(&a, "refused: no fd named seccompFd", 1, 5000);
	close(s);
	good_connection(&a, "after-nofd");
	agent_stop(&a, true);
	rm_rf(a.dir);
}

TEST_TIMEOUT(peer_two_fds, 60)
{
	struct agent a;
	struct target t;
	agent_start(&a);
	target_start(&t);
	int fds[2] = {t.listener, STDIN_FILENO};
	int s = agent_connect(&a);
	const char *p = payload("twofds", t.pid, NULL, NULL);
	ASSERT_EQ(send_with_fds(s, p, strlen(p), fds, 2), (ssize_t)strlen(p));
	wait_log(&a, "refused: payload names 1 fds, 2 received", 1, 5000);
	close(s);
	wait_baseline(&a);
	/* Two fds, both named: the one named seccompFd is used, the other closed. */
	s = agent_connect(&a);
	int fds2[2] = {STDIN_FILENO, t.listener};
	p = payload("twonamed", t.pid, NULL, "[\"other\",\"seccompFd\"]");
	ASSERT_EQ(send_with_fds(s, p, strlen(p), fds2, 2), (ssize_t)strlen(p));
	wait_log(&a, "twonamed (pid", 1, 5000);
	wait_log(&a, "attached, policy default", 1, 5000);
	target_getppid(&t);
	close(s);
	target_stop(&t);
	wait_log(&a, "exited", 1, 5000);
	wait_baseline(&a);
	agent_stop(&a, true);
	rm_rf(a.dir);
}

TEST_TIMEOUT(peer_fd_not_a_listener, 60)
{
	struct agent a;
	agent_start(&a);
	int pfd[2];
	ASSERT_EQ(pipe2(pfd, O_CLOEXEC), 0);
	int s = agent_connect(&a);
	const char *p = payload("pipe", 1, NULL, NULL);
	ASSERT_EQ(send_with_fds(s, p, strlen(p), &pfd[0], 1), (ssize_t)strlen(p));
	wait_log(&a, "refused: seccompFd is not a seccomp listener", 1, 5000);
	close(s);
	close(pfd[0]);
	close(pfd[1]);
	wait_baseline(&a);
	good_connection(&a, "after-pipe");
	agent_stop(&a, true);
	rm_rf(a.dir);
}

TEST_TIMEOUT(peer_huge_payload, 60)
{
	struct agent a;
	agent_start(&a);
	int s = agent_connect(&a);
	static char chunk[65536];
	memset(chunk, 'a', sizeof(chunk));
	ASSERT_EQ(send(s, "{\"a\":\"", 6, MSG_NOSIGNAL), 6);
	/* Past 1 MiB the agent hangs up: sends then fail with EPIPE/ECONNRESET. */
	size_t sent = 6;
	while (sent < 4 * 1024 * 1024) {
		ssize_t n = send(s, chunk, sizeof(chunk), MSG_NOSIGNAL);
		if (n < 0)
			break;
		sent += (size_t)n;
	}
	wait_log(&a, "refused: payload larger than 1048576 bytes", 1, 5000);
	close(s);
	good_connection(&a, "after-huge");
	agent_stop(&a, true);
	rm_rf(a.dir);
}

TEST_TIMEOUT(peer_split_byte_by_byte, 60)
{
	struct agent a;
	struct target t;
	agent_start(&a);
	target_start(&t);
	int s = agent_connect(&a);
	/* crun's pretty-printed form, one byte per write, the fd with the first one. */
	char p[4096];
	snprintf(
	    p, sizeof(p),
	    "{\n    \"ociVersion\": \"0.2.0\",\n    \"fds\": [\n        \"seccompFd\"\n    ],\n"
	    "    \"pid\": %d,\n    \"state\": {\n        \"ociVersion\": \"0.2.0\",\n        "
	    "\"id\": \"split\",\n        \"status\": \"creating\",\n        \"pid\": %d,\n"
	    "        \"bundle\": \"/b\"\n    }\n}\n",
	    (int)t.pid, (int)t.pid);
	ASSERT_EQ(send_with_fds(s, p, 1, &t.listener, 1), 1);
	size_t brace = (size_t)(strrchr(p, '}') - p);
	for (size_t i = 1; i < strlen(p); i++) {
		/* After the closing brace the agent may already have hung up (EPIPE). */
		ssize_t n = send(s, p + i, 1, MSG_NOSIGNAL);
		if (i <= brace)
			ASSERT_EQ(n, 1);
		if (i % 16 == 0)
			sleep_ms(1);
	}
	wait_log(&a, "split (pid", 1, 5000);
	wait_log(&a, "attached, policy default", 1, 5000);
	target_getppid(&t);
	close(s);
	close(t.listener);
	t.listener = -1;
	target_stop(&t);
	wait_log(&a, "exited", 1, 5000);
	wait_baseline(&a);
	agent_stop(&a, true);
	rm_rf(a.dir);
}

TEST_TIMEOUT(agent_socket_handling, 60)
{
	struct agent a;
	need_root();
	agent_dirs(&a);
	/* A stale socket (nobody listening) is replaced. */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	ASSERT_TRUE(strlen(a.sock) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, a.sock, strlen(a.sock) + 1);
	ASSERT_EQ(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	static const char *const def[] = {"--default-policy", "default", NULL};
	agent_spawn(&a, -1, def);
	good_connection(&a, "after-stale");

	/* A second agent on a live socket refuses to start and leaves it alone. */
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "%s agent --socket %s --policy-dir %s 2>/dev/null", sysbroker(),
		 a.sock, a.pol);
	int st = system(cmd);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 125);
	good_connection(&a, "after-second");

	/* SIGHUP checks the policy files and names the broken one. */
	ASSERT_EQ(kill(a.pid, SIGHUP), 0);
	wait_log(&a, "reload: 2 policies valid, 1 broken", 1, 5000);
	ASSERT_TRUE(strstr(agent_log(&a), "reload: policy broken: "));
	agent_stop(&a, true);

	/* Anything that is not a socket is never replaced. */
	write_file(a.sock, "precious\n");
	snprintf(cmd, sizeof(cmd), "%s agent --socket %s --policy-dir %s 2>/dev/null", sysbroker(),
		 a.sock, a.pol);
	st = system(cmd);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 125);
	ASSERT_STREQ(read_file(a.sock), "precious\n");

	/* A broken default policy is a start-up error. */
	snprintf(cmd, sizeof(cmd),
		 "%s agent --socket %s.2 --policy-dir %s --default-policy broken 2>&1 | grep -q "
		 "'broken.policy:2: unknown rule'",
		 sysbroker(), a.sock, a.pol);
	ASSERT_EQ(system(cmd), 0);
	rm_rf(a.dir);
}

TEST_TIMEOUT(agent_socket_activation, 60)
{
	struct agent a;
	need_root();
	agent_dirs(&a);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	ASSERT_TRUE(strlen(a.sock) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, a.sock, strlen(a.sock) + 1);
	ASSERT_EQ(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ASSERT_EQ(listen(fd, 16), 0);
	static const char *const def[] = {"--default-policy", "default", NULL};
	agent_spawn(&a, fd, def);
	close(fd);
	ASSERT_TRUE(strstr(agent_log(&a), "listening on (socket activation)"));
	good_connection(&a, "activated");
	/* systemd owns the path: the agent leaves it. */
	agent_stop(&a, false);
	rm_rf(a.dir);
}

/* ---- real runtimes ---- */

struct bundle {
	char dir[256], rootfs[300], config[300];
};

/* A busybox rootfs; config.json comes from bundle_config. */
static void bundle_make(struct bundle *b, const char *base)
{
	static const char *const links[] = {"sh", "cat", "echo", "mkdir", "true", "ls", "sleep"};
	char p[512];
	snprintf(b->dir, sizeof(b->dir), "%s/bundle", base);
	snprintf(b->rootfs, sizeof(b->rootfs), "%s/rootfs", b->dir);
	snprintf(b->config, sizeof(b->config), "%s/config.json", b->dir);
	ASSERT_EQ(mkdir(b->dir, 0755), 0);
	ASSERT_EQ(mkdir(b->rootfs, 0755), 0);
	static const char *const dirs[] = {"bin", "proc", "dev", "sys", "tmp", "etc"};
	for (unsigned i = 0; i < ELEMENTSOF(dirs); i++) {
		snprintf(p, sizeof(p), "%s/%s", b->rootfs, dirs[i]);
		ASSERT_EQ(mkdir(p, 0755), 0);
	}
	/* busybox-static: no libraries needed inside. */
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "cp /bin/busybox %s/bin/busybox", b->rootfs);
	ASSERT_EQ(system(cmd), 0);
	for (unsigned i = 0; i < ELEMENTSOF(links); i++) {
		snprintf(p, sizeof(p), "%s/bin/%s", b->rootfs, links[i]);
		ASSERT_EQ(symlink("busybox", p), 0);
	}
	snprintf(p, sizeof(p), "%s/etc/hostname", b->rootfs);
	write_file(p, "sbtest\n");
	snprintf(p, sizeof(p), "%s/etc/secret", b->rootfs);
	write_file(p, "hush\n");
}

/* config.json with the seccomp section sending `notify` (a JSON array) to the agent. */
static void bundle_config(struct bundle *b, const char *script, const char *listener,
			  const char *metadata, const char *notify)
{
	char meta[512] = "";
	if (metadata)
		snprintf(meta, sizeof(meta), "\"listenerMetadata\": \"%s\",", metadata);
	write_file(
	    b->config,
	    "{\"ociVersion\": \"1.0.2\",\n"
	    " \"process\": {\"terminal\": false, \"user\": {\"uid\": 0, \"gid\": 0},\n"
	    "   \"args\": [\"sh\", \"-c\", \"%s\"], \"env\": [\"PATH=/bin\"], \"cwd\": \"/\",\n"
	    "   \"capabilities\": {\"bounding\": [\"CAP_KILL\"], \"effective\": [\"CAP_KILL\"],\n"
	    "     \"permitted\": [\"CAP_KILL\"]},\n"
	    "   \"noNewPrivileges\": true},\n"
	    " \"root\": {\"path\": \"rootfs\", \"readonly\": false},\n"
	    " \"hostname\": \"sbtest\",\n"
	    " \"mounts\": [{\"destination\": \"/proc\", \"type\": \"proc\", \"source\": "
	    "\"proc\"},\n"
	    "   {\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\",\n"
	    "    \"options\": [\"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\"]}],\n"
	    " \"linux\": {\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"ipc\"}, {\"type\": "
	    "\"uts\"},\n"
	    "   {\"type\": \"mount\"}, {\"type\": \"network\"}],\n"
	    "   \"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\",\n"
	    "     \"architectures\": [\"SCMP_ARCH_X86_64\"],\n"
	    "     \"listenerPath\": \"%s\", %s\n"
	    "     \"syscalls\": [{\"names\": %s, \"action\": \"SCMP_ACT_NOTIFY\"}]}}}\n",
	    script, listener, meta, notify);
}

/* Runs argv with a timeout; output (stdout+stderr) in out. Returns the exit status. */
static int run_argv(char *const argv[], char *out, size_t size, int timeout_s)
{
	int pfd[2];
	ASSERT_EQ(pipe2(pfd, O_CLOEXEC), 0);
	fflush(stdout);
	pid_t pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		dup2(null, STDIN_FILENO);
		dup2(pfd[1], STDOUT_FILENO);
		dup2(pfd[1], STDERR_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	size_t used = 0;
	long end = now_ms() + timeout_s * 1000L;
	for (;;) {
		struct pollfd p = {pfd[0], POLLIN, 0};
		long left = end - now_ms();
		if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			out[used] = 0;
			tap_fail(__FILE__, __LINE__, "%s timed out; output:\n%s", argv[0], out);
		}
		ssize_t n = read(pfd[0], out + used, size - 1 - used);
		if (n <= 0)
			break;
		used += (size_t)n;
	}
	out[used] = 0;
	close(pfd[0]);
	int st;
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/*
 * Like run_argv, with the output going to a file: for `crun create`, whose container keeps
 * the create's stdout open until it exits.
 */
static int run_argv_to_file(char *const argv[], const char *outfile, int timeout_s)
{
	fflush(stdout);
	pid_t pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		int fd = open(outfile, O_WRONLY | O_CREAT | O_APPEND, 0600);
		dup2(null, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	long end = now_ms() + timeout_s * 1000L;
	int st;
	while (waitpid(pid, &st, WNOHANG) != pid) {
		if (now_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			tap_fail(__FILE__, __LINE__, "%s timed out:\n%s", argv[0],
				 read_file(outfile));
		}
		sleep_ms(10);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static bool crun_wrapped;

/* argv for a runtime: crun runs in a private mount namespace without the v2 hierarchy. */
static void runtime_argv(const char *runtime, const char *root, char **argv, size_t n_max,
			 const char *const *args)
{
	size_t n = 0;
	if (!strcmp(runtime, "crun") && crun_wrapped) {
		argv[n++] = (char *)"unshare";
		argv[n++] = (char *)"-m";
		argv[n++] = (char *)"--propagation";
		argv[n++] = (char *)"private";
		argv[n++] = (char *)"sh";
		argv[n++] = (char *)"-c";
		argv[n++] = (char *)"umount /sys/fs/cgroup/unified 2>/dev/null; exec crun \"$@\"";
	}
	argv[n++] = (char *)runtime;
	argv[n++] = (char *)"--root";
	argv[n++] = (char *)root;
	for (; *args && n < n_max - 1; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
}

static void need_runtime(const char *runtime)
{
	need_root();
	if (!find_exe(runtime))
		tap_skip("%s not installed", runtime);
	if (access("/bin/busybox", X_OK) < 0)
		tap_skip("busybox-static not installed (/bin/busybox)");
	if (!strcmp(runtime, "crun")) {
		/* crun 1.8 refuses hybrid v1+v2 hosts; see docs/agent.md. */
		struct stat st;
		crun_wrapped = stat("/sys/fs/cgroup/unified", &st) == 0 && find_exe("unshare");
	}
}

static char rt_out[1 << 16];

/* `RUNTIME run` of script under the agent; returns the runtime's exit status. */
static int container_run(struct agent *a, const char *runtime, const char *id, const char *script,
			 const char *metadata, const char *notify)
{
	struct bundle b;
	char root[400];
	bundle_make(&b, a->dir);
	bundle_config(&b, script, a->sock, metadata, notify);
	snprintf(root, sizeof(root), "%s/%s-root", a->dir, runtime);
	mkdir(root, 0700);
	const char *args[] = {"run", "--bundle", b.dir, id, NULL};
	char *argv[32];
	runtime_argv(runtime, root, argv, ELEMENTSOF(argv), args);
	return run_argv(argv, rt_out, sizeof(rt_out), 30);
}

static void runtime_serves(const char *runtime)
{
	struct agent a;
	char id[64], line[256];
	need_runtime(runtime);
	agent_start(&a);
	snprintf(id, sizeof(id), "sbt-%s-%d", runtime, (int)getpid());
	/* getppid is notified and, with no handler for it, answered ENOSYS by the agent: the
	 * container gets an answer (not a hang), and the call did not reach the kernel. */
	int r =
	    container_run(&a, runtime, id, "cat /etc/hostname; echo done", NULL, "[\"getppid\"]");
	if (r != 0)
		tap_fail(__FILE__, __LINE__, "%s exited %d:\n%s\nagent:\n%s", runtime, r, rt_out,
			 agent_log(&a));
	ASSERT_TRUE(strstr(rt_out, "sbtest\ndone\n"));
	snprintf(line, sizeof(line), "container %s (pid ", id);
	wait_log(&a, line, 2, 5000);
	snprintf(line, sizeof(line), "runtime %s): attached, policy default", runtime);
	wait_log(&a, line, 1, 5000);
	snprintf(line, sizeof(line), "runtime %s): exited", runtime);
	wait_log(&a, line, 1, 5000);
	wait_baseline(&a);
	good_connection(&a, "after-container");
	agent_stop(&a, true);
	rm_rf(a.dir);
}

TEST_TIMEOUT(runc_container_attached, 120)
{
	runtime_serves("runc");
}

TEST_TIMEOUT(crun_container_attached, 120)
{
	runtime_serves("crun");
}

/* The policy really applies inside the container: open of a denied file fails. */
static void runtime_enforces(const char *runtime)
{
	struct agent a;
	char id[64], p[512];
	need_runtime(runtime);
	agent_start(&a);
	snprintf(p, sizeof(p), "%s/deny-etc-secret.policy", a.pol);
	write_file(p, "default allow\ndeny /etc/secret\n");
	snprintf(id, sizeof(id), "sbt-enf-%s-%d", runtime, (int)getpid());
	int r = container_run(&a, runtime, id,
			      "cat /etc/hostname; cat /etc/secret || echo denied; echo done",
			      "agent-test;policy=deny-etc-secret", "[\"open\", \"openat\"]");
	if (r != 0 || !strstr(rt_out, "sbtest\n") || !strstr(rt_out, "denied\ndone\n") ||
	    strstr(rt_out, "hush"))
		tap_fail(__FILE__, __LINE__, "%s exited %d:\n%s\nagent:\n%s", runtime, r, rt_out,
			 agent_log(&a));
	wait_log(&a, "exited", 1, 5000);
	wait_baseline(&a);
	agent_stop(&a, true);
	rm_rf(a.dir);
}

TEST_TIMEOUT(runc_container_policy_enforced, 120)
{
	runtime_enforces("runc");
}

TEST_TIMEOUT(crun_container_policy_enforced, 120)
{
	runtime_enforces("crun");
}

/* crun connects at create and sends at start: the silent connection holds nobody up. */
TEST_TIMEOUT(crun_create_then_start, 120)
{
	struct agent a;
	struct bundle b;
	char id[64], root[400], line[256];
	char *argv[32];
	need_runtime("crun");
	agent_start(&a);
	bundle_make(&b, a.dir);
	bundle_config(&b, "echo started", a.sock, "policy=default", "[\"getppid\"]");
	snprintf(root, sizeof(root), "%s/crun-root", a.dir);
	mkdir(root, 0700);
	snprintf(id, sizeof(id), "sbt-cs-%d", (int)getpid());

	char outfile[512];
	snprintf(outfile, sizeof(outfile), "%s/crun.out", a.dir);
	const char *create[] = {"create", "--bundle", b.dir, id, NULL};
	runtime_argv("crun", root, argv, ELEMENTSOF(argv), create);
	int r = run_argv_to_file(argv, outfile, 30);
	if (r != 0)
		tap_fail(__FILE__, __LINE__, "crun create exited %d:\n%s", r, read_file(outfile));
	/* Connected, silent: another container is served meanwhile. */
	ASSERT_EQ(count_str(agent_log(&a), "attached"), 0);
	ASSERT_TRUE(count_fds(a.pid) > a.baseline_fds);
	int base = a.baseline_fds;
	a.baseline_fds = count_fds(a.pid);
	good_connection(&a, "while-crun-waits");
	a.baseline_fds = base;

	const char *start[] = {"start", id, NULL};
	runtime_argv("crun", root, argv, ELEMENTSOF(argv), start);
	r = run_argv_to_file(argv, outfile, 30);
	if (r != 0)
		tap_fail(__FILE__, __LINE__, "crun start exited %d:\n%s", r, read_file(outfile));
	snprintf(line, sizeof(line), "container %s (pid ", id);
	wait_log(&a, line, 2, 10000);
	ASSERT_TRUE(strstr(agent_log(&a), "runtime crun): attached, policy default"));
	snprintf(line, sizeof(line), "container %s (pid ", id);
	wait_log(&a, "exited", 2, 10000);
	const char *del[] = {"delete", "-f", id, NULL};
	runtime_argv("crun", root, argv, ELEMENTSOF(argv), del);
	run_argv(argv, rt_out, sizeof(rt_out), 30);
	long end = now_ms() + 5000;
	while (!strstr(read_file(outfile), "started") && now_ms() < end)
		sleep_ms(10);
	ASSERT_TRUE(strstr(read_file(outfile), "started\n"));
	wait_baseline(&a);
	agent_stop(&a, true);
	rm_rf(a.dir);
}

/* No agent behind the socket: the runtime refuses to start the container. */
TEST_TIMEOUT(runc_without_agent_fails, 60)
{
	struct agent a;
	need_runtime("runc");
	agent_dirs(&a);
	char id[64];
	snprintf(id, sizeof(id), "sbt-none-%d", (int)getpid());
	int r = container_run(&a, "runc", id, "echo ran", NULL, "[\"getppid\"]");
	ASSERT_NE(r, 0);
	ASSERT_TRUE(!strstr(rt_out, "ran\n"));
	const char *args[] = {"delete", "-f", id, NULL};
	char *argv[32], root[400];
	snprintf(root, sizeof(root), "%s/runc-root", a.dir);
	runtime_argv("runc", root, argv, ELEMENTSOF(argv), args);
	run_argv(argv, rt_out, sizeof(rt_out), 30);
	rm_rf(a.dir);
}

/* Bad command lines: exit 125 with one line on stderr (no root needed). */
TEST(agent_bad_options_one_line)
{
	static const char *const bad[] = {
	    "agent --bogus",
	    "agent --socket",
	    "agent",
	    "agent --socket /nonexistent-dir/x.sock",
	    "agent --socket /tmp/x.sock --default-policy ../etc",
	    "agent --socket /tmp/x.sock extra",
	};
	for (unsigned i = 0; i < ELEMENTSOF(bad); i++) {
		char cmd[1024], out[4096];
		snprintf(cmd, sizeof(cmd), "%s %s 2>&1 >/dev/null; echo \"rc=$?\"", sysbroker(),
			 bad[i]);
		FILE *f = popen(cmd, "r");
		ASSERT_TRUE(f);
		size_t n = fread(out, 1, sizeof(out) - 1, f);
		out[n] = 0;
		pclose(f);
		if (count_str(out, "\n") != 2 || !strstr(out, "sysbroker: agent: ") ||
		    !strstr(out, "rc=125\n"))
			tap_fail(__FILE__, __LINE__, "'%s' gave:\n%s", bad[i], out);
	}
}
