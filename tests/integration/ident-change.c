/*
 * ident-change: changes who it is between opens, the ways a cached identity could go stale,
 * and prints one word per open ("ok" or the errno's name). Run natively and under sysbroker
 * run, the words must be the same. Needs root.
 *
 *   ident-change setresuid ROOTFILE   open; setresuid(65534) of this thread alone; open
 *   ident-change umask DIR            a thread creates, another changes the shared umask,
 *                                     the first creates again (prints the modes)
 *   ident-change capset NOBODYFILE    open; effective caps dropped; open; exec: caps back; open
 *   ident-change unshare NOBODYFILE   open; unshare(CLONE_NEWUSER); open; access
 *   ident-change execstat FILE        stat; exec; stat (results are written into the new
 *                                     memory, never the one before the exec)
 *   ident-change execs PROGRAM        300 children exec PROGRAM under a 50 us timer whose
 *                                     handler has no SA_RESTART; prints how many execs
 *                                     failed (an exec never fails with EINTR natively)
 *   ident-change tidreuse ROOTFILE    a root thread opens and exits; a thread of a process
 *                                     running as 65534 gets the same tid and opens
 *   ident-change forks -              1000 forks under a 50 us timer whose handler has no
 *                                     SA_RESTART; prints how many failed (fork never fails
 *                                     with EINTR natively)
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *word(int fd)
{
	if (fd >= 0) {
		close(fd);
		return "ok";
	}
	return errno == EACCES ? "EACCES" : errno == EPERM ? "EPERM" : errno == ENOENT ? "ENOENT"
									    : strerror(errno);
}

static void try_open(const char *path)
{
	printf("%s ", word(open(path, O_RDONLY | O_CLOEXEC)));
	fflush(stdout);
}

/* access() without AT_EACCESS: the real ids, and for root its permitted capabilities. */
static void try_access(const char *path)
{
	printf("%s ", access(path, R_OK) == 0 ? "ok" : word(-1));
	fflush(stdout);
}

static int caps(uint32_t eff0, uint32_t eff1)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) < 0)
		return -1;
	d[0].effective = eff0 & d[0].permitted;
	d[1].effective = eff1 & d[1].permitted;
	return (int)syscall(SYS_capset, &h, d);
}

/* ---- umask: shared by the threads of a process ---- */
static int pipe_a[2], pipe_b[2];
static const char *udir;

static void make_and_show(const char *name)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s/%s", udir, name);
	int fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		printf("%s ", strerror(errno));
	else
		printf("%o ", st.st_mode & 0777);
	fflush(stdout);
	if (fd >= 0)
		close(fd);
}

static void *umask_thread(void *arg)
{
	char c;
	make_and_show("a");
	(void)!write(pipe_a[1], "x", 1);
	(void)!read(pipe_b[0], &c, 1); /* the other thread changed the umask */
	make_and_show("b");
	return NULL;
}

/* ---- tid reuse ---- */
struct reuse {
	const char *path;
	pid_t tid;
};

static void *root_thread(void *arg)
{
	struct reuse *u = arg;
	u->tid = (pid_t)syscall(SYS_gettid);
	int fd = open(u->path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void *nobody_thread(void *arg)
{
	struct reuse *u = arg;
	u->tid = (pid_t)syscall(SYS_gettid);
	int fd = open(u->path, O_RDONLY | O_CLOEXEC);
	u->path = word(fd);
	return NULL;
}

static int tidreuse(const char *path)
{
	int go[2], back[2];
	if (pipe(go) < 0 || pipe(back) < 0)
		return 1;
	/* Opened as root: the write that sets the next pid needs only the capability then. */
	int last = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
	if (last < 0) {
		printf("skip\n");
		return 0;
	}
	pid_t b = fork();
	if (b == 0) {
		close(go[1]);
		close(back[0]);
		/* A process that opens files as nobody (fsuid/fsgid 65534: the fs capabilities
		 * leave its effective set) and stays euid 0, which the write to ns_last_pid
		 * needs. */
		if (syscall(SYS_setfsgid, 65534) < 0 || syscall(SYS_setfsuid, 65534) < 0)
			_exit(2);
		char ready[16] = "ready";
		if (write(back[1], ready, sizeof(ready)) != sizeof(ready))
			_exit(3);
		pid_t tid;
		while (read(go[0], &tid, sizeof(tid)) == sizeof(tid)) {
			char s[16];
			int n = snprintf(s, sizeof(s), "%d", (int)tid - 1);
			struct reuse u = {path, 0};
			pthread_t t;
			if (pwrite(last, s, (size_t)n, 0) != n) {
				perror("ident-change: ns_last_pid");
				_exit(4);
			}
			if (pthread_create(&t, NULL, nobody_thread, &u) != 0)
				_exit(4);
			pthread_join(t, NULL);
			char res[16] = "";
			if (u.tid == tid)
				snprintf(res, sizeof(res), "%s", u.path);
			if (write(back[1], res, sizeof(res)) != sizeof(res))
				_exit(5);
		}
		_exit(0);
	}
	close(go[0]);
	close(back[1]);
	const char *result = NULL;
	char res[16];
	/* Its identity changes are made before the first root thread opens. */
	if (read(back[0], res, sizeof(res)) != sizeof(res))
		return 1;
	for (int i = 0; i < 200 && !result; i++) {
		struct reuse u = {path, 0};
		pthread_t t;
		if (pthread_create(&t, NULL, root_thread, &u) != 0)
			break;
		pthread_join(t, NULL);
		if (write(go[1], &u.tid, sizeof(u.tid)) != sizeof(u.tid) ||
		    read(back[0], res, sizeof(res)) != sizeof(res))
			break;
		if (res[0])
			result = res;
	}
	close(go[1]);
	waitpid(b, NULL, 0);
	printf("%s\n", result ? result : "skip");
	return 0;
}

static void on_alarm(int sig)
{
	(void)sig;
}

static int forks_under_signals(void)
{
	struct sigaction sa = {.sa_handler = on_alarm}; /* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {{0, 50}, {0, 50}};
	setitimer(ITIMER_REAL, &it, NULL);
	int failed = 0;
	for (int i = 0; i < 1000; i++) {
		pid_t p = fork();
		if (p == 0)
			_exit(0);
		if (p < 0) {
			failed++;
			continue;
		}
		while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
			;
	}
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &off, NULL);
	printf("%d\n", failed);
	return 0;
}

/* 300 children each exec PATH under a 50 us timer whose handler has no SA_RESTART; prints
 * how many execs failed (an exec never fails with EINTR natively). */
static int execs_under_signals(const char *path)
{
	int failed = 0;
	for (int i = 0; i < 300; i++) {
		pid_t p = fork();
		if (p == 0) {
			struct sigaction sa = {.sa_handler = on_alarm}; /* no SA_RESTART */
			sigemptyset(&sa.sa_mask);
			sigaction(SIGALRM, &sa, NULL);
			struct itimerval it = {{0, 50}, {0, 50}};
			setitimer(ITIMER_REAL, &it, NULL);
			execl(path, path, (char *)NULL);
			_exit(errno == EINTR ? 99 : 98);
		}
		int st;
		if (p < 0 || waitpid(p, &st, 0) < 0 || (WIFEXITED(st) && WEXITSTATUS(st) >= 98))
			failed++;
	}
	printf("%d\n", failed);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: ident-change MODE PATH\n");
		return 2;
	}
	const char *mode = argv[1], *path = argv[2];
	/* sysbroker attaches its thread watch at the 32nd call whose caller's identity it
	 * needs and the cache could not serve (WATCH_AFTER, tcache.h): what follows must
	 * meet the cache with it, not a cache still waiting for it. */
	for (int i = 0; i < 40; i++)
		close(open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	if (!strcmp(mode, "setresuid")) {
		try_open(path);
		if (syscall(SYS_setresuid, 65534, 65534, 65534) < 0)
			return 3;
		try_open(path);
	} else if (!strcmp(mode, "umask")) {
		udir = path;
		umask(022);
		pthread_t t;
		if (pipe(pipe_a) < 0 || pipe(pipe_b) < 0 ||
		    pthread_create(&t, NULL, umask_thread, NULL) != 0)
			return 3;
		char c;
		(void)!read(pipe_a[0], &c, 1);
		umask(077);
		(void)!write(pipe_b[1], "x", 1);
		pthread_join(t, NULL);
	} else if (!strcmp(mode, "capset")) {
		try_open(path);
		if (caps(0, 0) < 0)
			return 3;
		try_open(path);
		/* root's exec makes the permitted set effective again */
		execl("/proc/self/exe", argv[0], "capset-after-exec", path, (char *)NULL);
		return 4;
	} else if (!strcmp(mode, "capset-after-exec")) {
		try_open(path);
	} else if (!strcmp(mode, "execstat") || !strcmp(mode, "execstat-after-exec")) {
		struct stat st;
		memset(&st, 0, sizeof(st));
		if (stat(path, &st) < 0)
			printf("%s ", strerror(errno));
		else
			printf("%lld ", (long long)st.st_size);
		fflush(stdout);
		if (!strcmp(mode, "execstat")) {
			execl("/proc/self/exe", argv[0], "execstat-after-exec", path, (char *)NULL);
			return 4;
		}
	} else if (!strcmp(mode, "unshare")) {
		try_open(path);
		if (unshare(CLONE_NEWUSER) < 0)
			return 3;
		try_open(path);
		try_access(path);
	} else if (!strcmp(mode, "forks")) {
		return forks_under_signals();
	} else if (!strcmp(mode, "execs")) {
		return execs_under_signals(path);
	} else if (!strcmp(mode, "tidreuse")) {
		return tidreuse(path);
	} else {
		return 2;
	}
	printf("\n");
	return 0;
}
