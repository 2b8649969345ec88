/* fsop: makes the path system calls the fs-write tests need, each exactly once and by its own
 * number, and prints one word per call: "ok", the errno's name, or what a reading op read.
 * Usage: fsop OP ARG... [, OP ARG...]; "fsop restart DIR N" is the signal stress loop. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

/* In sanitizer builds, LeakSanitizer reads /proc at exit, which fsop no longer sees once its
 * chroot op ran; fsop leaks nothing worth the check. */
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
	return 1;
}

static mode_t octal(const char *s)
{
	return (mode_t)strtoul(s, NULL, 8);
}

static int opath(const char *p)
{
	return open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

static unsigned rename_flags(const char *s)
{
	unsigned f = 0;
	if (strstr(s, "noreplace"))
		f |= RENAME_NOREPLACE;
	if (strstr(s, "exchange"))
		f |= RENAME_EXCHANGE;
	if (strstr(s, "whiteout"))
		f |= RENAME_WHITEOUT;
	return f;
}

static mode_t node_type(const char *t)
{
	switch (t[0]) {
	case 'f':
		return S_IFREG;
	case 'p':
		return S_IFIFO;
	case 's':
		return S_IFSOCK;
	case 'c':
		return S_IFCHR;
	case 'b':
		return S_IFBLK;
	case 'w': /* overlayfs whiteout: char 0:0 */
		return S_IFCHR;
	}
	return 0;
}

/* name_to_handle_at's handle of p as hex, or the errno name. */
static void print_handle(const char *p)
{
	struct {
		struct file_handle h;
		unsigned char bytes[MAX_HANDLE_SZ];
	} fh = {.h.handle_bytes = MAX_HANDLE_SZ};
	int mnt;
	if (syscall(SYS_name_to_handle_at, AT_FDCWD, p, &fh.h, &mnt, 0) < 0) {
		printf("%s", strerrorname_np(errno));
		return;
	}
	printf("%d:", fh.h.handle_type);
	for (unsigned i = 0; i < fh.h.handle_bytes; i++)
		printf("%02x", fh.bytes[i]);
}

/* open_by_handle_at(mountfd of dir, handle "TYPE:HEX"): prints what the file holds. */
static long open_handle(const char *dir, const char *text)
{
	struct {
		struct file_handle h;
		unsigned char bytes[MAX_HANDLE_SZ];
	} fh = {0};
	fh.h.handle_type = atoi(text);
	const char *hex = strchr(text, ':');
	if (!hex)
		return errno = EINVAL, -1;
	hex++;
	size_t n = strlen(hex) / 2;
	if (n > MAX_HANDLE_SZ)
		return errno = EINVAL, -1;
	for (size_t i = 0; i < n; i++)
		sscanf(hex + 2 * i, "%2hhx", &fh.bytes[i]);
	fh.h.handle_bytes = (unsigned)n;
	int mnt = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int fd = (int)syscall(SYS_open_by_handle_at, mnt, &fh.h, O_RDONLY);
	if (fd < 0)
		return -1;
	char buf[256];
	ssize_t k = read(fd, buf, sizeof(buf) - 1);
	buf[k > 0 ? k : 0] = 0;
	buf[strcspn(buf, "\n")] = 0;
	printf("%s", buf);
	return 1; /* printed */
}

static long cat(const char *p)
{
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char buf[256];
	ssize_t k = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (k < 0)
		return -1;
	buf[k] = 0;
	buf[strcspn(buf, "\n")] = 0;
	printf("%s", buf[0] ? buf : "(empty)");
	return 1;
}

/* uid:gid:mode of p (lstat), for ownership and umask checks. */
static long owner(const char *p)
{
	struct stat st;
	if (lstat(p, &st) < 0)
		return -1;
	printf("%u:%u:%o", st.st_uid, st.st_gid, st.st_mode & 07777);
	return 1;
}

/* Runs one op; returns how many arguments it used, or -1 for an unknown op. */
static int one(char **a, int n)
{
	const char *op = a[0];
	long r = -1;
	int used = 1;
#define NEED(k)                    \
	do {                       \
		if (n < (k) + 1)   \
			return -1; \
		used = (k) + 1;    \
	} while (0)
	errno = 0;
	if (!strcmp(op, "mkdir")) {
		NEED(2);
		r = syscall(SYS_mkdir, a[1], octal(a[2]));
	} else if (!strcmp(op, "mkdirat")) {
		NEED(3);
		r = syscall(SYS_mkdirat, opath(a[1]), a[2], octal(a[3]));
	} else if (!strcmp(op, "mknod")) {
		NEED(3);
		r = syscall(SYS_mknod, a[1], node_type(a[2]) | octal(a[3]), 0);
	} else if (!strcmp(op, "mknodat")) {
		NEED(4);
		r = syscall(SYS_mknodat, opath(a[1]), a[2], node_type(a[3]) | octal(a[4]),
			    a[3][0] == 'c' ? makedev(1, 3) : 0);
	} else if (!strcmp(op, "creat")) {
		NEED(2);
		r = syscall(SYS_creat, a[1], octal(a[2]));
		r = r < 0 ? r : close((int)r);
	} else if (!strcmp(op, "unlink")) {
		NEED(1);
		r = syscall(SYS_unlink, a[1]);
	} else if (!strcmp(op, "rmdir")) {
		NEED(1);
		r = syscall(SYS_rmdir, a[1]);
	} else if (!strcmp(op, "unlinkat")) {
		NEED(3);
		r = syscall(SYS_unlinkat, opath(a[1]), a[2],
			    strcmp(a[3], "removedir") ? 0 : AT_REMOVEDIR);
	} else if (!strcmp(op, "rename")) {
		NEED(2);
		r = syscall(SYS_rename, a[1], a[2]);
	} else if (!strcmp(op, "renameat")) {
		NEED(4);
		r = syscall(SYS_renameat, opath(a[1]), a[2], opath(a[3]), a[4]);
	} else if (!strcmp(op, "renameat2")) {
		NEED(3);
		r = syscall(SYS_renameat2, AT_FDCWD, a[1], AT_FDCWD, a[2], rename_flags(a[3]));
	} else if (!strcmp(op, "link")) {
		NEED(2);
		r = syscall(SYS_link, a[1], a[2]);
	} else if (!strcmp(op, "linkat")) {
		NEED(3);
		r = syscall(SYS_linkat, AT_FDCWD, a[1], AT_FDCWD, a[2],
			    !strcmp(a[3], "follow") ? AT_SYMLINK_FOLLOW : 0);
	} else if (!strcmp(op, "flink")) { /* linkat(open(a1), "", AT_FDCWD, a2, AT_EMPTY_PATH) */
		NEED(2);
		int fd = open(a[1], O_RDONLY | O_CLOEXEC);
		r = fd < 0 ? -1 : syscall(SYS_linkat, fd, "", AT_FDCWD, a[2], AT_EMPTY_PATH);
	} else if (!strcmp(op, "symlink")) {
		NEED(2);
		r = syscall(SYS_symlink, a[1], a[2]);
	} else if (!strcmp(op, "symlinkat")) {
		NEED(3);
		r = syscall(SYS_symlinkat, a[1], opath(a[2]), a[3]);
	} else if (!strcmp(op, "chmod")) {
		NEED(2);
		r = syscall(SYS_chmod, a[1], octal(a[2]));
	} else if (!strcmp(op, "fchmodat")) {
		NEED(2);
		r = syscall(SYS_fchmodat, AT_FDCWD, a[1], octal(a[2]));
	} else if (!strcmp(op, "fchmodat2")) {
		NEED(3);
		r = syscall(SYS_fchmodat2, AT_FDCWD, a[1], octal(a[2]),
			    !strcmp(a[3], "nofollow") ? AT_SYMLINK_NOFOLLOW : 0);
	} else if (!strcmp(op, "chown")) {
		NEED(3);
		r = syscall(SYS_chown, a[1], atoi(a[2]), atoi(a[3]));
	} else if (!strcmp(op, "lchown")) {
		NEED(3);
		r = syscall(SYS_lchown, a[1], atoi(a[2]), atoi(a[3]));
	} else if (!strcmp(op, "fchownat")) {
		NEED(4);
		r = syscall(SYS_fchownat, AT_FDCWD, a[1], atoi(a[2]), atoi(a[3]),
			    !strcmp(a[4], "nofollow") ? AT_SYMLINK_NOFOLLOW : 0);
	} else if (!strcmp(op, "truncate")) {
		NEED(2);
		r = syscall(SYS_truncate, a[1], atol(a[2]));
	} else if (!strcmp(op, "utime")) {
		NEED(1);
		struct utimbuf u = {1000000000, 1000000000};
		r = syscall(SYS_utime, a[1], &u);
	} else if (!strcmp(op, "utimes")) {
		NEED(1);
		struct timeval tv[2] = {{1000000000, 5}, {1000000000, 5}};
		r = syscall(SYS_utimes, a[1], tv);
	} else if (!strcmp(op, "futimesat")) {
		NEED(1);
		r = syscall(SYS_futimesat, AT_FDCWD, a[1], NULL);
	} else if (!strcmp(op, "utimensat")) {
		NEED(2);
		struct timespec ts[2] = {{0, UTIME_NOW}, {1000000000, 0}};
		r = syscall(SYS_utimensat, AT_FDCWD, a[1], ts,
			    !strcmp(a[2], "nofollow") ? AT_SYMLINK_NOFOLLOW : 0);
	} else if (!strcmp(op, "futimens")) { /* utimensat(fd, NULL): no path at all */
		NEED(1);
		int fd = open(a[1], O_RDONLY | O_CLOEXEC);
		r = fd < 0 ? -1 : syscall(SYS_utimensat, fd, NULL, NULL, 0);
	} else if (!strcmp(op, "fchmod") || !strcmp(op, "fchown") || !strcmp(op, "fsetxattr") ||
		   !strcmp(op, "fremovexattr") || !strcmp(op, "futimesatfd")) {
		/* Through a read-only fd of the file: the kernel lets its owner change it. */
		int fd = open(a[1], O_RDONLY | O_CLOEXEC);
		if (!strcmp(op, "fchmod")) {
			NEED(2);
			r = fd < 0 ? -1 : syscall(SYS_fchmod, fd, octal(a[2]));
		} else if (!strcmp(op, "fchown")) {
			NEED(3);
			r = fd < 0 ? -1 : syscall(SYS_fchown, fd, atoi(a[2]), atoi(a[3]));
		} else if (!strcmp(op, "fsetxattr")) {
			NEED(3);
			r = fd < 0 ? -1 : syscall(SYS_fsetxattr, fd, a[2], a[3], strlen(a[3]), 0);
		} else if (!strcmp(op, "fremovexattr")) {
			NEED(2);
			r = fd < 0 ? -1 : syscall(SYS_fremovexattr, fd, a[2]);
		} else {
			NEED(1);
			struct timeval tv[2] = {{1000000000, 7}, {1000000000, 7}};
			r = fd < 0 ? -1 : syscall(SYS_futimesat, fd, NULL, tv);
		}
	} else if (!strcmp(op, "setxattrat") || !strcmp(op, "removexattrat")) {
		/* Linux 6.13, by path (463, 466); struct xattr_args: value, size, flags. */
		struct {
			uint64_t value;
			uint32_t size, flags;
		} xa = {0, 0, 0};
		if (op[0] == 's') {
			NEED(3);
			xa.value = (uintptr_t)a[3];
			xa.size = (uint32_t)strlen(a[3]);
			r = syscall(463, AT_FDCWD, a[1], 0, a[2], &xa, sizeof(xa));
		} else {
			NEED(2);
			r = syscall(466, AT_FDCWD, a[1], 0, a[2]);
		}
	} else if (!strcmp(op, "setxattr") || !strcmp(op, "lsetxattr")) {
		NEED(3);
		r = syscall(op[0] == 'l' ? SYS_lsetxattr : SYS_setxattr, a[1], a[2], a[3],
			    strlen(a[3]), 0);
	} else if (!strcmp(op, "removexattr") || !strcmp(op, "lremovexattr")) {
		NEED(2);
		r = syscall(op[0] == 'l' ? SYS_lremovexattr : SYS_removexattr, a[1], a[2]);
	} else if (!strcmp(op, "handle")) {
		NEED(1);
		print_handle(a[1]);
		r = 1;
	} else if (!strcmp(op, "openhandle")) {
		NEED(2);
		r = open_handle(a[1], a[2]);
	} else if (!strcmp(op, "chroot")) {
		NEED(1);
		r = syscall(SYS_chroot, a[1]);
	} else if (!strcmp(op, "pivot_root")) {
		NEED(2);
		r = syscall(SYS_pivot_root, a[1], a[2]);
	} else if (!strcmp(op, "fanotify")) {
		NEED(1);
		int fd = (int)syscall(SYS_fanotify_init, FAN_CLASS_NOTIF, O_RDONLY);
		r = fd < 0 ? -1
			   : syscall(SYS_fanotify_mark, fd, FAN_MARK_ADD, FAN_OPEN, AT_FDCWD, a[1]);
	} else if (!strcmp(op, "cat")) {
		NEED(1);
		r = cat(a[1]);
	} else if (!strcmp(op, "owner")) {
		NEED(1);
		r = owner(a[1]);
	} else if (!strcmp(op, "userns")) {
		/* A user namespace of our own, whose maps someone outside writes: our pid goes
		 * to the file named, then we wait to be root in there. */
		NEED(1);
		r = unshare(CLONE_NEWUSER);
		if (r == 0) {
			FILE *f = fopen(a[1], "w");
			r = f ? fprintf(f, "%d\n", getpid()) : -1;
			if (f)
				fclose(f);
			for (int i = 0; r >= 0 && getuid() != 0 && i < 30000; i++)
				usleep(1000);
			r = getuid() == 0 ? 0 : (errno = ETIMEDOUT, -1);
		}
	} else if (!strcmp(op, "umask")) {
		NEED(1);
		umask(octal(a[1]));
		r = 0;
	} else {
		return -1;
	}
	if (r < 0)
		printf("%s", errno ? strerrorname_np(errno) : "?");
	else if (r == 0)
		printf("ok");
	return used;
}

/* ---- restart: mkdir, rename, rmdir while another thread signals the caller ---- */

static atomic_int stop;
static pid_t worker;
static void on_sig(int s)
{
}

static void *bomber(void *arg)
{
	while (!stop)
		syscall(SYS_tgkill, getpid(), worker, SIGUSR1);
	return NULL;
}

static int restart(const char *dir, int n)
{
	struct sigaction sa = {.sa_handler = on_sig, .sa_flags = SA_RESTART};
	sigaction(SIGUSR1, &sa, NULL);
	worker = (pid_t)syscall(SYS_gettid);
	pthread_t t;
	pthread_create(&t, NULL, bomber, NULL);
	char d[4096], f[4096];
	snprintf(d, sizeof(d), "%s/d", dir);
	snprintf(f, sizeof(f), "%s/f", dir);
	int bad = 0;
	for (int i = 0; i < n; i++) {
		/* Each succeeds exactly once: a change made twice answers EEXIST or ENOENT. */
		bad += syscall(SYS_mkdir, d, 0700) < 0;
		bad += syscall(SYS_rename, d, f) < 0;
		bad += syscall(SYS_rmdir, f) < 0;
	}
	stop = 1;
	pthread_join(t, NULL);
	printf("%d\n", bad);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "restart"))
		return restart(argv[2], atoi(argv[3]));
	umask(022);
	int i = 1;
	while (i < argc) {
		if (!strcmp(argv[i], ",")) {
			i++;
			continue;
		}
		if (i > 1)
			printf(" ");
		int used = one(argv + i, argc - i);
		if (used < 0) {
			fprintf(stderr, "fsop: bad op at '%s'\n", argv[i]);
			return 2;
		}
		i += used;
	}
	printf("\n");
	return 0;
}
