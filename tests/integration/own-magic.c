/* Test helper: a program that drops to uid 65534 and stops being dumpable, then reaches its own
 * files through /proc/self/fd/N, cwd, root and exe ("own DIR"), or tries other tasks' ("attack
 * DIR"), also with their status and ns overmounted by its own ("overmount DIR"). Prints one
 * line per try: "label: ok TEXT" or "label: ERRNO". */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOBODY 65534

static const char *dir;

static void die(const char *what)
{
	fprintf(stderr, "own-magic: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* Takes uid (and gid) for good and, unless dumpable, stops being dumpable. */
static void become(uid_t uid, int dumpable)
{
	if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0)
		die("drop to the user");
	if (prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0) < 0 || prctl(PR_GET_DUMPABLE) != dumpable)
		die("PR_SET_DUMPABLE");
}

/* One try: open path with flags and print what it reads (its first line) or the errno. */
static void try_open(const char *label, const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);
	if (fd < 0) {
		printf("%s: %s\n", label, strerrorname_np(errno));
		return;
	}
	char buf[64] = "";
	if (flags & O_DIRECTORY) {
		DIR *d = fdopendir(fd);
		int n = 0;
		while (d && readdir(d))
			n++;
		snprintf(buf, sizeof(buf), "listed %s", n > 2 ? "entries" : "nothing");
		if (d)
			closedir(d);
		else
			close(fd);
	} else if ((flags & O_ACCMODE) == O_WRONLY) {
		snprintf(buf, sizeof(buf), "opened for writing");
		close(fd);
	} else {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = 0;
		buf[strcspn(buf, "\n")] = 0;
		if (!memcmp(buf, "\177ELF", 4))
			strcpy(buf, "ELF");
		close(fd);
	}
	printf("%s: ok %s\n", label, buf);
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	static char bufs[4][4096];
	static int i;
	char *b = bufs[i++ % 4];
	va_list ap;
	va_start(ap, f);
	vsnprintf(b, sizeof(bufs[0]), f, ap);
	va_end(ap);
	return b;
}

static int own_fd;

static void *thread_try(void *arg)
{
	(void)arg;
	try_open("thread /proc/thread-self/fd/N", fmt("/proc/thread-self/fd/%d", own_fd),
		 O_RDONLY | O_NONBLOCK);
	return NULL;
}

/*
 * DIR/own (0700, root) holds f (0644), w (0666) and in/g (0644): opened or entered as root,
 * then unreachable by name for uid 65534, reachable again through the program's own magic
 * links, as the kernel allows a task whatever its uid and dumpable state.
 */
static int own(void)
{
	own_fd = open(fmt("%s/own/f", dir), O_RDONLY | O_CLOEXEC);
	int w = open(fmt("%s/own/w", dir), O_RDONLY | O_CLOEXEC);
	if (own_fd < 0 || w < 0 || chdir(fmt("%s/own/in", dir)) < 0)
		die("open the files as root");
	become(NOBODY, 0);
	int n = own_fd;
	pid_t p = getpid();
	try_open("by name (control)", fmt("%s/own/f", dir), O_RDONLY);
	try_open("/proc/self/fd/N", fmt("/proc/self/fd/%d", n), O_RDONLY | O_NONBLOCK);
	try_open("/dev/fd/N", fmt("/dev/fd/%d", n), O_RDONLY | O_NONBLOCK);
	try_open("/proc/thread-self/fd/N", fmt("/proc/thread-self/fd/%d", n),
		 O_RDONLY | O_NONBLOCK);
	try_open("/proc/PID/fd/N", fmt("/proc/%d/fd/%d", (int)p, n), O_RDONLY | O_NONBLOCK);
	try_open("/proc/PID/task/PID/fd/N", fmt("/proc/%d/task/%d/fd/%d", (int)p, (int)p, n),
		 O_RDONLY | O_NONBLOCK);
	pthread_t t;
	if (pthread_create(&t, NULL, thread_try, NULL) || pthread_join(t, NULL))
		die("thread");
	int fddir = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fddir < 0) {
		printf("openat(/proc/self/fd, N): %s\n", strerrorname_np(errno));
	} else {
		int fd = openat(fddir, fmt("%d", n), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		printf("openat(/proc/self/fd, N): %s\n", fd < 0 ? strerrorname_np(errno) : "ok");
		if (fd >= 0)
			close(fd);
		close(fddir);
	}
	try_open("list /proc/self/fd", "/proc/self/fd", O_RDONLY | O_DIRECTORY);
	try_open("/proc/self/cwd/g", "/proc/self/cwd/g", O_RDONLY);
	try_open("list /proc/self/cwd", "/proc/self/cwd", O_RDONLY | O_DIRECTORY);
	try_open("/proc/self/root/DIR/pub/h", fmt("/proc/self/root%s/pub/h", dir), O_RDONLY);
	try_open("/proc/self/exe", "/proc/self/exe", O_RDONLY);
	struct stat a, b;
	if (stat(fmt("/proc/self/fd/%d", n), &a) < 0)
		printf("stat /proc/self/fd/N: %s\n", strerrorname_np(errno));
	else
		printf("stat /proc/self/fd/N: %s\n",
		       fstat(n, &b) == 0 && a.st_ino == b.st_ino ? "the file" : "another object");
	/* w is 0666: the kernel lets it be reopened for writing; a rule on w may not. */
	try_open("/proc/self/fd/W for writing", fmt("/proc/self/fd/%d", w), O_WRONLY);
	return 0;
}

/*
 * Victims open DIR/priv/f (priv: 0700, root; f: 0666) and enter DIR/priv/in (0777, with g
 * 0666) as root, then become their uid; the attacker, uid 65534 and not dumpable either,
 * tries their fd, cwd and fd directory, which nothing but the magic links leads to.
 */
struct victim {
	uid_t uid;
	int dumpable;
	pid_t pid;
	int fd; /* its number of f */
};

static void victim_start(struct victim *v)
{
	int ready[2];
	if (pipe2(ready, O_CLOEXEC) < 0)
		die("pipe");
	v->pid = fork();
	if (v->pid < 0)
		die("fork");
	if (v->pid == 0) {
		int fd = open(fmt("%s/priv/f", dir), O_RDONLY);
		if (fd < 0 || chdir(fmt("%s/priv/in", dir)) < 0)
			die("victim: open as root");
		become(v->uid, v->dumpable);
		if (write(ready[1], &fd, sizeof(fd)) != sizeof(fd))
			die("victim: ready");
		for (;;)
			pause();
	}
	close(ready[1]);
	if (read(ready[0], &v->fd, sizeof(v->fd)) != sizeof(v->fd))
		die("victim did not start");
	close(ready[0]);
}

static void victim_tries(const struct victim *v)
{
	int p = (int)v->pid;
	printf("victim uid %u, %s:\n", (unsigned)v->uid, v->dumpable ? "dumpable" : "not dumpable");
	try_open("  /proc/V/fd/N", fmt("/proc/%d/fd/%d", p, v->fd), O_RDONLY);
	try_open("  /proc/V/task/V/fd/N", fmt("/proc/%d/task/%d/fd/%d", p, p, v->fd), O_RDONLY);
	try_open("  /proc/V/cwd/g", fmt("/proc/%d/cwd/g", p), O_RDONLY);
	try_open("  list /proc/V/cwd", fmt("/proc/%d/cwd", p), O_RDONLY | O_DIRECTORY);
	try_open("  list /proc/V/fd", fmt("/proc/%d/fd", p), O_RDONLY | O_DIRECTORY);
}

static int attack(void)
{
	/* Another uid, the attacker's own uid, and (the control that the files are there to
	 * be read once the kernel lets the links be followed) a dumpable one of its uid. */
	struct victim v[] = {{1000, 0, 0, -1}, {NOBODY, 0, 0, -1}, {NOBODY, 1, 0, -1}};
	size_t nv = sizeof(v) / sizeof(v[0]);
	for (size_t i = 0; i < nv; i++)
		victim_start(&v[i]);
	pid_t a = fork();
	if (a < 0)
		die("fork");
	if (a == 0) {
		become(NOBODY, 0);
		for (size_t i = 0; i < nv; i++)
			victim_tries(&v[i]);
		exit(0);
	}
	int st = 0;
	waitpid(a, &st, 0);
	for (size_t i = 0; i < nv; i++) {
		kill(v[i].pid, SIGKILL);
		waitpid(v[i].pid, NULL, 0);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 2;
}

/*
 * The attacker makes a user and mount namespace of its own and mounts its own status and ns
 * directory over a victim's: the victim (uid 1000, not dumpable) would then look like the
 * attacker to anyone who reads them by name. The kernel checks the task itself.
 */
static int overmount(void)
{
	struct victim v = {1000, 0, 0, -1};
	victim_start(&v);
	pid_t a = fork();
	if (a < 0)
		die("fork");
	if (a == 0) {
		become(NOBODY, 0);
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
			printf("overmount: unavailable (%s)\n", strerrorname_np(errno));
			exit(0);
		}
		if (mount("/proc/self/status", fmt("/proc/%d/status", (int)v.pid), NULL, MS_BIND,
			  NULL) < 0 ||
		    mount("/proc/self/ns", fmt("/proc/%d/ns", (int)v.pid), NULL, MS_BIND, NULL) < 0)
			die("bind over the victim's status and ns");
		victim_tries(&v);
		exit(0);
	}
	int st = 0;
	waitpid(a, &st, 0);
	kill(v.pid, SIGKILL);
	waitpid(v.pid, NULL, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 2;
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	dir = argv[2];
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(argv[1], "own"))
		return own();
	if (!strcmp(argv[1], "attack"))
		return attack();
	if (!strcmp(argv[1], "overmount"))
		return overmount();
	return 2;
}
