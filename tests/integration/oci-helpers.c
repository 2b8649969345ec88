/* Helpers for integration tests of `sysbroker agent`: the agent process, fake runtimes with
 * real seccomp listeners, busybox bundles, and real runc and crun. */
#include "oci-helpers.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
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

void __attribute__((format(printf, 2, 3))) write_file(const char *path, const char *fmt, ...)
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
const char *read_file(const char *path)
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

unsigned count_str(const char *hay, const char *needle)
{
	unsigned n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

/*
 * The fds of pid that are not directories. The engine keeps per-worker-thread directory
 * fds (the thread's /proc fd dir, its root) that come and go with worker threads; what a
 * connection could leak (sockets, listeners, pipes, files) is counted.
 */
int count_fds(pid_t pid)
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
		/* Our own listing's fd, when we count ourselves; another process's fd with that
		 * number is one of its own. */
		if (de->d_name[0] == '.' || (pid == getpid() && atoi(de->d_name) == dfd))
			continue;
		if (fstatat(dfd, de->d_name, &st, 0) == 0 && S_ISDIR(st.st_mode))
			continue;
		n++;
	}
	closedir(d);
	return n;
}

long proc_status_field(pid_t pid, const char *name)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	const char *st = read_file(path);
	size_t len = strlen(name);
	for (const char *l = st; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l))
		if (!strncmp(l, name, len) && l[len] == ':')
			return strtol(l + len + 1, NULL, 10);
	return -1;
}

/* An executable on PATH (or at an absolute path), NULL when absent. */
const char *find_exe(const char *name)
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
void rm_rf(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

/* ---- the agent under test ---- */

const char *sysbroker(void)
{
	const char *s = getenv("SYSBROKER");
	if (!s || access(s, X_OK) < 0)
		tap_skip("SYSBROKER (the binary under test) not set");
	return s;
}

void need_root(void)
{
	if (geteuid() != 0)
		tap_skip("needs root (the agent serves other users' processes)");
}

/* Log lines so far. */
const char *agent_log(struct agent *a)
{
	return read_file(a->log);
}

/* Waits until the log holds at least n occurrences of needle. */
void wait_log(struct agent *a, const char *needle, unsigned n, long timeout_ms)
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
void wait_baseline(struct agent *a)
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

void agent_dirs(struct agent *a)
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
void agent_spawn(struct agent *a, int listen_fd, const char *const *extra)
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

void agent_start(struct agent *a)
{
	static const char *const def[] = {"--default-policy", "default", NULL};
	need_root();
	agent_dirs(a);
	agent_spawn(a, -1, def);
}

/* SIGTERM: exit 0, socket gone. */
void agent_stop(struct agent *a, bool socket_removed)
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

int agent_connect(struct agent *a)
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
ssize_t send_with_fds(int sock, const void *buf, size_t len, const int *fds, size_t n_fds)
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
const char *payload(const char *id, pid_t pid, const char *metadata, const char *fds_json)
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

int recv_fd(int sock)
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
void target_start(struct target *t)
{
	int sp[2];
	ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	fflush(stdout);
	t->pid = fork();
	ASSERT_TRUE(t->pid >= 0);
	if (t->pid == 0) {
		/* Only its own end: a copy of another target's control socket held here would
		 * keep that target from seeing EOF when the test ends it. */
		if (sp[1] != 3) {
			dup2(sp[1], 3);
			sp[1] = 3;
		}
		syscall(SYS_close_range, 4U, ~0U, 0U);
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
int target_open(struct target *t, const char *path)
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
long target_getppid(struct target *t)
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

void target_stop(struct target *t)
{
	if (t->listener >= 0)
		close(t->listener);
	close(t->ctl);
	int st;
	ASSERT_EQ(waitpid(t->pid, &st, 0), t->pid);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* The good case: a listener with a proper payload is attached, served, and let go. */
void good_connection(struct agent *a, const char *id)
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

/* ---- real runtimes ---- */

/* A busybox rootfs at dir (created), with /etc/hostname "sbtest" and /etc/secret "hush". */
void rootfs_make(const char *dir)
{
	static const char *const links[] = {"sh", "cat", "echo", "mkdir", "true", "ls", "sleep"};
	static const char *const dirs[] = {"bin", "proc", "dev", "sys", "tmp", "etc"};
	char p[512];
	ASSERT_EQ(mkdir(dir, 0755), 0);
	for (unsigned i = 0; i < ELEMENTSOF(dirs); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, dirs[i]);
		ASSERT_EQ(mkdir(p, 0755), 0);
	}
	/* The rootfs may be shared by containers that write the barrier files in /tmp. */
	snprintf(p, sizeof(p), "%s/tmp", dir);
	ASSERT_EQ(chmod(p, 01777), 0);
	/* busybox-static: no libraries needed inside. */
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "cp /bin/busybox %s/bin/busybox", dir);
	ASSERT_EQ(system(cmd), 0);
	for (unsigned i = 0; i < ELEMENTSOF(links); i++) {
		snprintf(p, sizeof(p), "%s/bin/%s", dir, links[i]);
		ASSERT_EQ(symlink("busybox", p), 0);
	}
	snprintf(p, sizeof(p), "%s/etc/hostname", dir);
	write_file(p, "sbtest\n");
	snprintf(p, sizeof(p), "%s/etc/secret", dir);
	write_file(p, "hush\n");
	snprintf(p, sizeof(p), "%s/etc/hidden", dir);
	write_file(p, "shh\n");
}

void bundle_new(struct bundle *b, const char *dir, const char *rootfs)
{
	snprintf(b->dir, sizeof(b->dir), "%s", dir);
	snprintf(b->rootfs, sizeof(b->rootfs), "%s", rootfs);
	snprintf(b->config, sizeof(b->config), "%s/config.json", b->dir);
	b->uid = b->gid = 0;
	b->no_new_privs = true;
	ASSERT_EQ(mkdir(b->dir, 0755), 0);
}

void bundle_make(struct bundle *b, const char *base)
{
	char dir[300], rootfs[400];
	snprintf(dir, sizeof(dir), "%s/bundle", base);
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", dir);
	bundle_new(b, dir, rootfs);
	rootfs_make(b->rootfs);
}

void bundle_config(struct bundle *b, const char *script, const char *listener, const char *metadata,
		   const char *notify)
{
	char meta[512] = "", seccomp[2048] = "";
	if (metadata)
		snprintf(meta, sizeof(meta), "\"listenerMetadata\": \"%s\",", metadata);
	if (notify)
		snprintf(seccomp, sizeof(seccomp),
			 ",\n   \"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\",\n"
			 "     \"architectures\": [\"SCMP_ARCH_X86_64\"],\n"
			 "     \"listenerPath\": \"%s\", %s\n"
			 "     \"syscalls\": [{\"names\": %s, \"action\": \"SCMP_ACT_NOTIFY\"}]}",
			 listener, meta, notify);
	write_file(
	    b->config,
	    "{\"ociVersion\": \"1.0.2\",\n"
	    " \"process\": {\"terminal\": false, \"user\": {\"uid\": %u, \"gid\": %u},\n"
	    "   \"args\": [\"sh\", \"-c\", \"%s\"], \"env\": [\"PATH=/bin\"], \"cwd\": \"/\",\n"
	    "   \"capabilities\": {\"bounding\": [\"CAP_KILL\"], \"effective\": [\"CAP_KILL\"],\n"
	    "     \"permitted\": [\"CAP_KILL\"]},\n"
	    "   \"noNewPrivileges\": %s},\n"
	    " \"root\": {\"path\": \"%s\", \"readonly\": false},\n"
	    " \"hostname\": \"sbtest\",\n"
	    " \"mounts\": [{\"destination\": \"/proc\", \"type\": \"proc\", \"source\": "
	    "\"proc\"},\n"
	    "   {\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\",\n"
	    "    \"options\": [\"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\"]}],\n"
	    " \"linux\": {\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"ipc\"}, {\"type\": "
	    "\"uts\"},\n"
	    "   {\"type\": \"mount\"}, {\"type\": \"network\"}]%s}}\n",
	    b->uid, b->gid, script, b->no_new_privs ? "true" : "false", b->rootfs, seccomp);
}

/* Runs argv with a timeout; output (stdout+stderr) in out. Returns the exit status. */
int run_argv(char *const argv[], char *out, size_t size, int timeout_s)
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

pid_t spawn_argv_to_file(char *const argv[], const char *outfile)
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
	return pid;
}

int wait_exit(pid_t pid, int timeout_s, const char *what)
{
	long end = now_ms() + timeout_s * 1000L;
	int st;
	while (waitpid(pid, &st, WNOHANG) != pid) {
		if (now_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			tap_fail(__FILE__, __LINE__, "%s timed out", what);
		}
		sleep_ms(10);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Like run_argv, with the output going to a file: for `crun create`, whose container keeps
 * the create's stdout open until it exits. */
int run_argv_to_file(char *const argv[], const char *outfile, int timeout_s)
{
	pid_t pid = spawn_argv_to_file(argv, outfile);
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
void runtime_argv(const char *runtime, const char *root, char **argv, size_t n_max,
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

/* Skips, or fails where CI installed everything and a skip would hide a broken install. */
#define need(cond, ...)                                                    \
	do {                                                               \
		if (!(cond)) {                                             \
			if (getenv("SB_REQUIRE_RUNTIMES"))                 \
				tap_fail(__FILE__, __LINE__, __VA_ARGS__); \
			tap_skip(__VA_ARGS__);                             \
		}                                                          \
	} while (0)

void need_runtime(const char *runtime)
{
	need(geteuid() == 0, "needs root (runtimes create namespaces and cgroups)");
	need(find_exe(runtime), "%s not installed", runtime);
	need(access("/bin/busybox", X_OK) == 0, "busybox-static not installed (/bin/busybox)");
	if (!strcmp(runtime, "crun")) {
		/* crun 1.8 refuses hybrid v1+v2 hosts; see docs/agent.md. */
		struct stat st;
		crun_wrapped = stat("/sys/fs/cgroup/unified", &st) == 0 && find_exe("unshare");
	}
}

char rt_out[1 << 16];

/* `RUNTIME run` of script under the agent; returns the runtime's exit status. */
int container_run(struct agent *a, const char *runtime, const char *id, const char *script,
		  const char *metadata, const char *notify)
{
	struct bundle b;
	char root[400], base[400];
	/* A bundle per container, so one test can run several. */
	snprintf(base, sizeof(base), "%s/%s", a->dir, id);
	ASSERT_EQ(mkdir(base, 0755), 0);
	bundle_make(&b, base);
	bundle_config(&b, script, a->sock, metadata, notify);
	snprintf(root, sizeof(root), "%s/%s-root", a->dir, runtime);
	mkdir(root, 0700);
	const char *args[] = {"run", "--bundle", b.dir, id, NULL};
	char *argv[32];
	runtime_argv(runtime, root, argv, ELEMENTSOF(argv), args);
	return run_argv(argv, rt_out, sizeof(rt_out), 30);
}
