/* A static test program for the lifting tests: makes one mount, umount2, mknod or sysinfo
 * call (or a hostile series of them) as told on its command line and prints the outcome, so
 * the same binary runs natively, under sysbroker run and inside a busybox container. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *ename(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "E?";
}

static int report(long r)
{
	if (r < 0) {
		printf("%s\n", ename(errno));
		return 1;
	}
	printf("ok\n");
	return 0;
}

static const char *arg_or_null(const char *s)
{
	return strcmp(s, "-") ? s : NULL;
}

static unsigned long mount_flags(const char *list)
{
	static const struct {
		const char *n;
		unsigned long f;
	} names[] = {
	    {"bind", MS_BIND},
	    {"rec", MS_REC},
	    {"rdonly", MS_RDONLY},
	    {"nosuid", MS_NOSUID},
	    {"nodev", MS_NODEV},
	    {"noexec", MS_NOEXEC},
	    {"remount", MS_REMOUNT},
	    {"move", MS_MOVE},
	    {"private", MS_PRIVATE},
	    {"shared", MS_SHARED},
	    {"slave", MS_SLAVE},
	    {"noatime", MS_NOATIME},
	    {"strictatime", MS_STRICTATIME},
	};
	unsigned long f = 0;
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *save, *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save))
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (!strcmp(w, names[i].n))
				f |= names[i].f;
	return f;
}

/* Is path the root of a mount (in our mount namespace)? */
static int is_mount(const char *path)
{
	struct statx sx;
	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, 0, &sx) < 0)
		return -1;
	return (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	       (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

/* The per-mount and super-block options of the topmost mount at path in mountinfo. */
static int mount_opts(const char *path)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return report(-1);
	char line[4096], found[4096] = "";
	while (fgets(line, sizeof(line), f)) {
		char mp[4096], opts[1024], type[256], src[1024], sopts[2048];
		if (sscanf(line, "%*d %*d %*s %*s %4095s %1023s", mp, opts) != 2)
			continue;
		char *sep = strstr(line, " - ");
		if (!sep || sscanf(sep + 3, "%255s %1023s %2047s", type, src, sopts) != 3)
			continue;
		if (!strcmp(mp, path))
			snprintf(found, sizeof(found), "%s %s %s", type, opts, sopts);
	}
	fclose(f);
	printf("%s\n", found[0] ? found : "none");
	return 0;
}

static int do_mknod(char **a)
{
	mode_t type = a[1][0] == 'c'   ? S_IFCHR
		      : a[1][0] == 'b' ? S_IFBLK
		      : a[1][0] == 'p' ? S_IFIFO
				       : S_IFREG;
	mode_t mode = (mode_t)strtoul(a[4], NULL, 8);
	return report(mknod(a[0], type | mode, makedev(atoi(a[2]), atoi(a[3]))));
}

/* Every call of the new mount API, each with arguments a privileged caller would use. */
static int new_api(const char *target)
{
	int fs = (int)syscall(SYS_fsopen, "tmpfs", 0);
	printf("fsopen=%s", fs < 0 ? ename(errno) : "ok");
	long r = syscall(SYS_fsconfig, fs < 0 ? 0 : fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
	printf(" fsconfig=%s", r < 0 ? ename(errno) : "ok");
	int m = (int)syscall(SYS_fsmount, fs < 0 ? 0 : fs, 0, 0);
	printf(" fsmount=%s", m < 0 ? ename(errno) : "ok");
	int t = (int)syscall(SYS_open_tree, AT_FDCWD, target, OPEN_TREE_CLONE);
	printf(" open_tree_clone=%s", t < 0 ? ename(errno) : "ok");
	r = syscall(SYS_move_mount, t < 0 ? AT_FDCWD : t, t < 0 ? target : "", AT_FDCWD, target,
		    t < 0 ? 0 : MOVE_MOUNT_F_EMPTY_PATH);
	printf(" move_mount=%s", r < 0 ? ename(errno) : "ok");
	struct mount_attr attr = {.attr_clr = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV};
	r = syscall(SYS_mount_setattr, AT_FDCWD, target, 0, &attr, sizeof(attr));
	printf(" mount_setattr=%s", r < 0 ? ename(errno) : "ok");
	int p = (int)syscall(SYS_fspick, AT_FDCWD, target, 0);
	printf(" fspick=%s", p < 0 ? ename(errno) : "ok");
	int o = (int)syscall(SYS_open_tree, AT_FDCWD, target, 0);
	printf(" open_tree=%s\n", o < 0 ? ename(errno) : "ok");
	return 0;
}

/* ---- races ---- */

static char race_buf[4096];
static const char *race_good, *race_bad, *race_dir;
static atomic_bool race_stop;

/* Rewrites the path argument between an allowed and a refused target, as fast as it can. */
static void *flip_path(void *unused)
{
	size_t n = strlen(race_good) + 1;
	while (!race_stop) {
		memcpy(race_buf, race_bad, n);
		memcpy(race_buf, race_good, n);
	}
	return NULL;
}

/* Swaps race_dir between a real directory and a symlink to race_bad's directory. */
static void *flip_link(void *unused)
{
	char aside[4200];
	snprintf(aside, sizeof(aside), "%s.real", race_dir);
	while (!race_stop) {
		if (rename(race_dir, aside) < 0)
			continue;
		if (symlink(race_bad, race_dir) < 0) {
			rename(aside, race_dir);
			continue;
		}
		unlink(race_dir);
		rename(aside, race_dir);
	}
	return NULL;
}

/*
 * Mounts tmpfs n times while another thread rewrites the target; every mount that succeeds
 * must be on the allowed directory and is undone. Prints the counts; exits 1 if a mount
 * landed anywhere else.
 */
/*
 * A tmpfs the new mount API way: fsopen, a size, FSCONFIG_CMD_CREATE, fsmount with attrs
 * (MOUNT_ATTR_*), move_mount onto target with extra move flags. Prints each step up to the
 * first failure ("fsopen=ok set=ok create=ok fsmount=ok move_mount=EPERM"); 0 once mounted.
 * With quiet, prints nothing and returns the failing errno.
 */
static int fs_mount(const char *target, unsigned move_flags, unsigned attrs, bool quiet)
{
	int fs = (int)syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC), m = -1, e = 0;
	const char *step = "fsopen";
	if (fs >= 0) {
		step = "set";
		if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "size", "1m", 0) == 0) {
			step = "create";
			if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0) {
				step = "fsmount";
				m = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, attrs);
			}
		}
	}
	if (m >= 0) {
		step = "move_mount";
		if (syscall(SYS_move_mount, m, "", AT_FDCWD, target,
			    MOVE_MOUNT_F_EMPTY_PATH | move_flags) == 0)
			step = NULL;
	}
	e = step ? errno : 0;
	if (m >= 0)
		close(m);
	if (fs >= 0)
		close(fs);
	if (quiet)
		return e;
	static const char *const steps[] = {"fsopen", "set", "create", "fsmount", "move_mount"};
	for (size_t i = 0; i < 5; i++) {
		bool failed = step && !strcmp(step, steps[i]);
		printf("%s%s=%s", i ? " " : "", steps[i], failed ? ename(e) : "ok");
		if (failed)
			break;
	}
	printf("\n");
	return e ? 1 : 0;
}

/* fsopen to fsmount: the mount's fd, or -1 (errno set). */
static int fs_detached(void)
{
	int fs = (int)syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0)
		return -1;
	int m = -1;
	if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0)
		m = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
	int e = errno;
	close(fs);
	errno = e;
	return m;
}

/* Makes dir/a (dir absolute) inside the detached mount m and opens it: a directory whose
 * path, as /proc shows it, is the very dir/a of the program's namespace. */
static int mirror(int m, const char *dir)
{
	char rel[4200];
	snprintf(rel, sizeof(rel), "%s/a", dir + 1);
	for (char *p = rel; (p = strchr(p + 1, '/'));) {
		*p = 0;
		mkdirat(m, rel, 0755);
		*p = '/';
	}
	mkdirat(m, rel, 0755);
	return openat(m, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/*
 * What else a program could try with the mounts the new API gives it, in dir (with a and b
 * in it): attach one onto another still detached (where dir/a is mirrored, so the path reads
 * as an allowed target), mount(2) there, attach one twice, move an attached mount by an fd
 * of its own (open_tree), attach from a subdirectory, clear nosuid. Then a plain attach to
 * show the mount was usable.
 */
static int newapi_attack(const char *dir)
{
	char a[4200], b[4200];
	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(b, sizeof(b), "%s/b", dir);
	int m1 = fs_detached(), m2 = m1 >= 0 ? fs_detached() : -1;
	if (m1 < 0 || m2 < 0)
		return report(-1);
	int in1 = mirror(m1, dir);
	long r = in1 < 0 ? -1
			 : syscall(SYS_move_mount, m2, "", in1, "",
				   MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
	printf("onto_detached=%s", r < 0 ? ename(errno) : "ok");
	r = in1 < 0 || fchdir(in1) < 0 ? -1 : mount("none", ".", "tmpfs", 0, NULL);
	printf(" mount_onto_detached=%s", r < 0 ? ename(errno) : "ok");
	if (chdir("/") < 0)
		return 2;
	r = syscall(SYS_move_mount, m1, "", AT_FDCWD, a, MOVE_MOUNT_F_EMPTY_PATH);
	printf(" attach=%s", r < 0 ? ename(errno) : "ok");
	r = syscall(SYS_move_mount, m1, "", AT_FDCWD, b, MOVE_MOUNT_F_EMPTY_PATH);
	printf(" again=%s", r < 0 ? ename(errno) : "ok");
	int o = (int)syscall(SYS_open_tree, AT_FDCWD, a, 0);
	r = o < 0 ? -1 : syscall(SYS_move_mount, o, "", AT_FDCWD, b, MOVE_MOUNT_F_EMPTY_PATH);
	printf(" attached_tree=%s", r < 0 ? ename(errno) : "ok");
	int sub = mkdirat(m2, "sub", 0755) == 0 ? openat(m2, "sub", O_RDONLY | O_DIRECTORY) : -1;
	r = sub < 0 ? -1 : syscall(SYS_move_mount, sub, "", AT_FDCWD, b, MOVE_MOUNT_F_EMPTY_PATH);
	printf(" subdir=%s", r < 0 ? ename(errno) : "ok");
	struct mount_attr attr = {.attr_clr = MOUNT_ATTR_NOSUID};
	r = syscall(SYS_mount_setattr, m2, "", AT_EMPTY_PATH, &attr, sizeof(attr));
	printf(" setattr=%s", r < 0 ? ename(errno) : "ok");
	r = syscall(SYS_move_mount, m2, "", AT_FDCWD, b, MOVE_MOUNT_F_EMPTY_PATH);
	printf(" attach2=%s\n", r < 0 ? ename(errno) : "ok");
	return 0;
}

/*
 * An fs context the supervisor did not make: a child in a user and mount namespace of its
 * own (where fsopen is its right) opens one for type and hands it over; we, without any
 * privilege, name a source and try to create and mount it.
 */
static int foreign_ctx(const char *type)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
		return report(-1);
	pid_t pid = fork();
	if (pid == 0) {
		int fs = -1;
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0)
			fs = (int)syscall(SYS_fsopen, type, FSOPEN_CLOEXEC);
		char c = fs < 0 ? 'n' : 'y';
		struct iovec iov = {&c, 1};
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(int))];
		} u = {0};
		struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
		if (fs >= 0) {
			m.msg_control = u.buf;
			m.msg_controllen = sizeof(u.buf);
			struct cmsghdr *h = CMSG_FIRSTHDR(&m);
			h->cmsg_level = SOL_SOCKET;
			h->cmsg_type = SCM_RIGHTS;
			h->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(h), &fs, sizeof(int));
		}
		_exit(sendmsg(sv[1], &m, 0) == 1 ? 0 : 1);
	}
	char c;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = {&c, 1};
	struct msghdr m = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = u.buf,
			   .msg_controllen = sizeof(u.buf)};
	int fs = -1;
	if (recvmsg(sv[0], &m, MSG_CMSG_CLOEXEC) == 1 && c == 'y' && CMSG_FIRSTHDR(&m))
		memcpy(&fs, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof(int));
	waitpid(pid, NULL, 0);
	if (fs < 0) {
		printf("no context\n");
		return 1;
	}
	long r = syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "source", "/nonexistent/img", 0);
	printf("source=%s", r < 0 ? ename(errno) : "ok");
	r = syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
	printf(" create=%s", r < 0 ? ename(errno) : "ok");
	int mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
	printf(" fsmount=%s\n", mnt < 0 ? ename(errno) : "ok");
	return 0;
}

static int race(const char *mode, const char *good, const char *bad, int n)
{
	race_good = good;
	race_bad = bad;
	race_dir = good;
	if (strlen(good) != strlen(bad))
		return 2;
	memcpy(race_buf, good, strlen(good) + 1);
	pthread_t th;
	pthread_create(&th, NULL, strstr(mode, "path") ? flip_path : flip_link, NULL);
	int ok = 0, refused = 0, other = 0, escaped = 0;
	bool newapi = !strncmp(mode, "newapi-", 7);
	const char *target = !strcmp(mode, newapi ? "newapi-path" : "path") ? race_buf : good;
	/* n rounds, and on until both outcomes were seen (a race that never lands proves
	 * nothing), at most 20 n. */
	for (int i = 0; (i < n || !ok || !refused) && i < 20 * n; i++) {
		errno = newapi ? fs_mount(target, 0, 0, true) : 0;
		if (newapi ? errno != 0 : mount("none", target, "tmpfs", 0, "size=64k") < 0) {
			if (errno == EPERM)
				refused++;
			else
				other++;
			continue;
		}
		ok++;
		if (is_mount(bad) == 1) {
			escaped++;
			break;
		}
		/* The one we made is the top of good (or of good.real while it is aside). */
		char aside[4200];
		snprintf(aside, sizeof(aside), "%s.real", good);
		int tries = 0;
		while (umount2(good, UMOUNT_NOFOLLOW) < 0 && umount2(aside, UMOUNT_NOFOLLOW) < 0)
			if (++tries > 10000) {
				other++;
				break;
			}
	}
	race_stop = true;
	pthread_join(th, NULL);
	printf("ok=%d refused=%d other=%d escaped=%d\n", ok, refused, other, escaped);
	return escaped ? 1 : 0;
}

static atomic_bool ticking = true;
static pthread_t main_thread;
static const char *watched;
static atomic_long signals;

static void on_usr1(int sig)
{
	(void)sig;
	signals++;
}

/*
 * Signals the calling thread the moment its operation shows (the node in its directory, the
 * mount in its mount table): while the supervisor has done the work but not yet answered.
 */
static int watch_fd = -1;

static void *watch(void *mnt)
{
	int fd = watch_fd;
	if (!mnt) {
		char dir[4096];
		snprintf(dir, sizeof(dir), "%s", watched);
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = 0;
		fd = inotify_init1(IN_CLOEXEC);
		inotify_add_watch(fd, dir, IN_CREATE);
	}
	char buf[4096];
	while (ticking) {
		/* mountinfo reports a change of the mount table as POLLPRI (mounts_poll). */
		struct pollfd p = {fd, mnt ? POLLPRI : POLLIN, 0};
		if (poll(&p, 1, 100) <= 0)
			continue;
		pthread_kill(main_thread, SIGUSR1);
		if (!mnt)
			(void)!read(fd, buf, sizeof(buf));
	}
	close(fd);
	return NULL;
}

/*
 * mknod + unlink (or mount + umount2) n times while the thread is signalled (SA_RESTART)
 * right as its node or mount appears: a call restarted after the work was done for it must
 * still succeed once, never EEXIST, and never leave a second mount behind.
 */
static int restart_op(const char *path, const char *kind, int n)
{
	struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_RESTART};
	sigaction(SIGUSR1, &sa, NULL);
	main_thread = pthread_self();
	watched = path;
	bool mnt = !strcmp(kind, "mount");
	if (mnt)
		watch_fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	/* The watcher runs first whenever it wakes (real-time, set while we are still root),
	 * then we drop to an unprivileged user: the supervisor acts for us from here on. */
	pthread_attr_t at;
	pthread_attr_init(&at);
	struct sched_param sp = {.sched_priority = 1};
	if (!getuid() && !pthread_attr_setinheritsched(&at, PTHREAD_EXPLICIT_SCHED) &&
	    !pthread_attr_setschedpolicy(&at, SCHED_FIFO))
		pthread_attr_setschedparam(&at, &sp);
	pthread_t th;
	if (pthread_create(&th, &at, watch, mnt ? (void *)1 : NULL) != 0 &&
	    pthread_create(&th, NULL, watch, mnt ? (void *)1 : NULL) != 0)
		return 2;
	if (!getuid() && (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
			  setresuid(65534, 65534, 65534) < 0))
		return 2;
	usleep(100000); /* the watch is set */
	dev_t dev = !strcmp(kind, "null") ? makedev(1, 3) : makedev(0, 0);
	int ok = 0, twice = 0, other = 0;
	for (int i = 0; i < n; i++) {
		if (mnt) {
			/* Exactly one mount per successful call, gone after one umount2. */
			if (mount("none", path, "tmpfs", 0, NULL) < 0)
				other++;
			else if (umount2(path, 0) < 0 || is_mount(path) != 0)
				twice++;
			else
				ok++;
			while (is_mount(path) == 1 && umount2(path, 0) == 0)
				;
			continue;
		}
		if (mknod(path, S_IFCHR | 0666, dev) == 0)
			ok++;
		else if (errno == EEXIST)
			twice++;
		else
			other++;
		unlink(path);
	}
	ticking = false;
	pthread_join(th, NULL);
	printf("ok=%d twice=%d other=%d signals=%ld\n", ok, twice, other, (long)signals);
	return twice || other;
}

static void *pester(void *unused)
{
	while (ticking) {
		pthread_kill(main_thread, SIGUSR1);
		usleep(50);
	}
	return NULL;
}

/*
 * fsopen, FSCONFIG_CMD_CREATE and fsmount n times while a thread signals us (SA_RESTART)
 * every 50 us: a call the kernel restarts after the supervisor did its work must get that
 * work's answer, never EBUSY (a context creates and mounts once).
 */
static int fsmount_signalled(int n)
{
	struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_RESTART};
	sigaction(SIGUSR1, &sa, NULL);
	main_thread = pthread_self();
	pthread_t th;
	if (pthread_create(&th, NULL, pester, NULL) != 0)
		return 2;
	int ok = 0, busy = 0, other = 0;
	const char *step = "", *err = "";
	for (int i = 0; i < n; i++) {
		int fs = (int)syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC), m = -1;
		const char *at = "fsopen";
		if (fs >= 0) {
			at = "create";
			if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0) {
				at = "fsmount";
				m = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
			}
		}
		if (m >= 0) {
			ok++;
		} else {
			busy += errno == EBUSY;
			other += errno != EBUSY;
			step = at;
			err = ename(errno);
		}
		if (m >= 0)
			close(m);
		if (fs >= 0)
			close(fs);
	}
	ticking = false;
	pthread_join(th, NULL);
	if (*step)
		printf("last failure: %s=%s\n", step, err);
	printf("ok=%d busy=%d other=%d signals=%ld\n", ok, busy, other, (long)signals);
	return 0;
}

/*
 * n times: a tmpfs on dir, another on dir/m, then umount2 of dir/m and at once of dir. The
 * second umount2 must not find dir busy because of something the first left behind.
 */
static int nested_umount(const char *dir, int n)
{
	char sub[4200];
	snprintf(sub, sizeof(sub), "%s/m", dir);
	int ok = 0, busy = 0, other = 0;
	for (int i = 0; i < n; i++) {
		if (mount("none", dir, "tmpfs", 0, NULL) < 0 || mkdir(sub, 0755) < 0 ||
		    mount("none", sub, "tmpfs", 0, NULL) < 0 || umount2(sub, 0) < 0) {
			other++;
			break;
		}
		if (umount2(dir, 0) == 0) {
			ok++;
			continue;
		}
		busy += errno == EBUSY;
		other += errno != EBUSY;
		while (umount2(dir, 0) < 0 && errno == EBUSY)
			usleep(1000);
	}
	printf("ok=%d busy=%d other=%d\n", ok, busy, other);
	return 0;
}

/* Opens path for writing and writes text in one write, as `echo text > path` would:
 * "ok", or where it failed ("open=EACCES", "write=EPERM"). */
static int write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		printf("open=%s\n", ename(errno));
		return 1;
	}
	ssize_t n = write(fd, text, strlen(text));
	int e = errno;
	close(fd);
	if (n < 0) {
		printf("write=%s\n", ename(e));
		return 1;
	}
	printf("ok\n");
	return 0;
}

/* In a user and mount namespace of its own: a FUSE mount on target with a /dev/fuse it
 * opened itself (nobody serves it: the mount is made, then detached). */
static int fuse_mount(const char *target)
{
	int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("open=%s\n", ename(errno));
		return 1;
	}
	char data[128];
	snprintf(data, sizeof(data), "fd=%d,rootmode=40000,user_id=0,group_id=0", fd);
	if (mount("sbtest", target, "fuse", MS_NOSUID | MS_NODEV, data) < 0) {
		printf("mount=%s\n", ename(errno));
		return 1;
	}
	umount2(target, MNT_DETACH);
	printf("ok\n");
	return 0;
}

/* The parent pid of p, from /proc/p/stat (after the last ')': comm may hold anything). */
static pid_t ppid_of(pid_t p)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)p);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	char *e = strrchr(buf, ')');
	int ppid;
	return e && sscanf(e + 1, " %*c %d", &ppid) == 1 ? ppid : -1;
}

struct scan {
	atomic_bool stop;
	atomic_int seen, taken;
	pid_t sup, self;
};

/* Tries to take fds 0-31 of the process behind pidfd (pidfd_getfd needs the right to
 * ptrace it); false once it is gone. */
static bool take_fds(struct scan *s, int pidfd)
{
	bool alive = false;
	for (int fd = 0; fd < 32; fd++) {
		int x = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
		if (x >= 0) {
			s->taken++;
			close(x);
		}
		alive |= x >= 0 || errno != ESRCH;
	}
	return alive;
}

/* Each new process (pids after ours, as they come): if its parent is the supervisor (our
 * parent), its fds, again and again until it is gone. */
static void *scanner(void *arg)
{
	struct scan *s = arg;
	pid_t last = s->self;
	while (!s->stop) {
		for (pid_t p = last + 1; p <= last + 256 && !s->stop; p++) {
			int pfd = (int)syscall(SYS_pidfd_open, p, 0);
			if (pfd < 0)
				continue;
			last = p;
			if (ppid_of(p) == s->sup) {
				s->seen++;
				while (take_fds(s, pfd) && !s->stop)
					;
			}
			close(pfd);
			break;
		}
	}
	return NULL;
}

static int write_quiet(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	return n < 0 ? -1 : 0;
}

/*
 * Started as root by the supervisor: root of a user namespace of its own (0 mapped to 0),
 * it opens its own uid_map again and again (the supervisor opens each in a child that holds
 * our credentials, in our user namespace) while a thread tries to take the fds of every
 * child of the supervisor. Prints how many it saw and how many fds it got.
 */
static int opener_attack(int rounds)
{
	struct scan s = {.sup = getppid(), .self = getpid()};
	if (unshare(CLONE_NEWUSER) < 0 || write_quiet("/proc/self/setgroups", "deny") < 0 ||
	    write_quiet("/proc/self/uid_map", "0 0 1") < 0 ||
	    write_quiet("/proc/self/gid_map", "0 0 1") < 0)
		return report(-1);
	pthread_t t;
	if (pthread_create(&t, NULL, scanner, &s))
		return 2;
	int opened = 0;
	for (int i = 0; i < rounds && s.seen < 100; i++) {
		int fd = open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			opened++;
			close(fd);
		}
	}
	s.stop = true;
	pthread_join(t, NULL);
	printf("opened=%d seen=%s taken=%d\n", opened, s.seen ? "yes" : "no", (int)s.taken);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc < 2)
		return 2;
	const char *c = argv[1];
	char **a = argv + 2;
	int n = argc - 2;
	if (!strcmp(c, "mount") && n == 5)
		return report(mount(arg_or_null(a[0]), a[1], arg_or_null(a[2]), mount_flags(a[3]),
				    arg_or_null(a[4])));
	if (!strcmp(c, "umount") && n >= 1) {
		int f = 0;
		if (n > 1)
			f = (strstr(a[1], "detach") ? MNT_DETACH : 0) |
			    (strstr(a[1], "nofollow") ? UMOUNT_NOFOLLOW : 0) |
			    (strstr(a[1], "force") ? MNT_FORCE : 0);
		return report(umount2(a[0], f));
	}
	if (!strcmp(c, "mknod") && n == 5)
		return do_mknod(a);
	if (!strcmp(c, "userns-mknod") && n == 1) {
		/* With every capability in a user namespace of its own, none over the host. */
		if (unshare(CLONE_NEWUSER) < 0)
			return report(-1);
		return report(mknod(a[0], S_IFCHR | 0666, makedev(1, 3)));
	}
	if (!strcmp(c, "fsmount") && n >= 1)
		return fs_mount(a[0], n > 1 ? (unsigned)strtoul(a[1], NULL, 0) : 0,
				n > 2 ? (unsigned)strtoul(a[2], NULL, 0) : 0, false);
	if (!strcmp(c, "fsopen") && n == 1) {
		int fs = (int)syscall(SYS_fsopen, a[0], FSOPEN_CLOEXEC);
		return report(fs);
	}
	if (!strcmp(c, "nested-umount") && n == 2)
		return nested_umount(a[0], atoi(a[1]));
	if (!strcmp(c, "fsmount-signalled") && n == 1)
		return fsmount_signalled(atoi(a[0]));
	if (!strcmp(c, "foreign-ctx") && n == 1)
		return foreign_ctx(a[0]);
	if (!strcmp(c, "newapi-attack") && n == 1)
		return newapi_attack(a[0]);
	if (!strcmp(c, "newapi") && n == 1)
		return new_api(a[0]);
	if (!strcmp(c, "ismount") && n == 1) {
		int m = is_mount(a[0]);
		printf("%s\n", m < 0 ? ename(errno) : m ? "mount" : "not-mount");
		return 0;
	}
	if (!strcmp(c, "write") && n == 2)
		return write_text(a[0], a[1]);
	if (!strcmp(c, "opener-attack") && n == 1)
		return opener_attack(atoi(a[0]));
	if (!strcmp(c, "fuse") && n == 1)
		return fuse_mount(a[0]);
	if (!strcmp(c, "mountopts") && n == 1)
		return mount_opts(a[0]);
	if (!strcmp(c, "race") && n == 4)
		return race(a[0], a[1], a[2], atoi(a[3]));
	if (!strcmp(c, "restart") && n == 3)
		return restart_op(a[0], a[1], atoi(a[2]));
	if (!strcmp(c, "sysinfo") && n == 0) {
		struct sysinfo si;
		if (sysinfo(&si) < 0)
			return report(-1);
		printf("totalram=%llu freeram=%llu procs=%u uptime=%ld\n",
		       (unsigned long long)si.totalram * si.mem_unit,
		       (unsigned long long)si.freeram * si.mem_unit, si.procs, si.uptime);
		return 0;
	}
	fprintf(stderr, "lift-helper: bad command\n");
	return 2;
}
