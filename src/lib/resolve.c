/* Path resolution in the target's view: the worker thread takes the target's identity and
 * root, and starts from the target's own cwd or dirfd, so ".", "..", absolute symlinks and
 * permissions resolve exactly as the kernel would resolve them for the target. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine.h"
#include "identity.h"
#include "macros.h"
#include "resolve.h"
#include "strutil.h"

/* The context begun on this thread (resolve_begin to resolve_end): the program this worker
 * acts for, which resolve_reopen needs to tell the program's own fd directory. */
static __thread const struct resolve_ctx *serving;

static bool own_fd_dir(const struct resolve_ctx *c, int dir);

/*
 * Where resolution of path starts: the target's root for an absolute path, its cwd or the
 * object behind its dirfd for a relative one. Taken with our own identity (the target's
 * may not open its own /proc entries once it dropped dumpability).
 */
static int open_start(sb_req *r, int dirfd, const char *path, bool empty_path_ok,
		      bool *ret_on_proc)
{
	int start;
	*ret_on_proc = false;
	if (path[0] == '/')
		return RESOLVE_AT_ROOT; /* this thread is in the target's root already */
	if (dirfd == AT_FDCWD_ARG) {
		int procfd = sb_req_procfd(r);
		if (procfd < 0)
			return procfd;
		start = openat(procfd, "cwd", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (start < 0)
			return errno == ESRCH ? -ENOENT : negative_errno();
	} else {
		start = sb_req_getfd(r, dirfd);
		if (start < 0)
			return start;
		if (!(path[0] == 0 && empty_path_ok)) {
			struct stat st;
			if (fstat(start, &st) < 0 || !S_ISDIR(st.st_mode)) {
				safe_close(start);
				return -ENOTDIR;
			}
		}
	}
	struct statfs sfs;
	*ret_on_proc = fstatfs(start, &sfs) < 0 || sfs.f_type == PROC_SUPER_MAGIC;
	return start;
}

int resolve_begin(sb_req *r, int dirfd, const char *path, bool empty_path_ok,
		  struct resolve_ctx *ret)
{
	ret->startfd = -1;
	serving = NULL;
	int r0 = identity_thread_fddir();
	if (r0 < 0)
		return r0;
	int v = sb_req_creds(r, &ret->creds);
	if (v < 0)
		return v;
	ret->req = r;
	/* Its root, known from the identity read with its credentials: when this thread is
	 * there already (the common case), no /proc access at all. */
	dev_t dev;
	ino_t ino;
	uint64_t mnt;
	if (!req_root_id(r, &dev, &ino, &mnt) || !identity_root_is(dev, ino, mnt)) {
		int procfd = sb_req_procfd(r);
		if (procfd < 0)
			return procfd;
		bool changed;
		int k = identity_enter_root_at(procfd, "root", &changed);
		if (k < 0)
			return k;
	}
	ret->startfd = open_start(r, dirfd, path, empty_path_ok, &ret->start_on_proc);
	if (ret->startfd < 0 && ret->startfd != RESOLVE_AT_ROOT)
		return ret->startfd;
	/* Resolution and the operation itself run with the target's identity. */
	int k = identity_assume(&ret->creds);
	if (k < 0) {
		ret->startfd = safe_close(ret->startfd);
		identity_restore();
		return k;
	}
	serving = ret;
	return 0;
}

int resolve_another_start(sb_req *r, struct resolve_ctx *c, int dirfd, const char *path,
			  bool empty_path_ok, bool *ret_on_proc)
{
	identity_restore();
	int start = open_start(r, dirfd, path, empty_path_ok, ret_on_proc);
	int k = identity_assume(&c->creds);
	if (k < 0) {
		safe_close(start);
		return k;
	}
	return start; /* an fd, RESOLVE_AT_ROOT, or -errno */
}

void resolve_end(struct resolve_ctx *c)
{
	c->startfd = safe_close(c->startfd);
	serving = NULL;
	identity_restore();
}

int resolve_fd_path(int fd, char *buf, size_t size)
{
	int d = identity_thread_fddir();
	if (d < 0)
		return d;
	char name[16];
	snprintf(name, sizeof(name), "%d", fd);
	ssize_t n = readlinkat(d, name, buf, size - 1);
	if (n < 0)
		return negative_errno();
	if ((size_t)n >= size - 1)
		return -ENAMETOOLONG;
	buf[n] = 0;
	return (int)n;
}

int resolve_reopen(int pathfd, int flags)
{
	int d = identity_thread_fddir();
	if (d < 0)
		return d;
	char name[16];
	snprintf(name, sizeof(name), "%d", pathfd);
	/* The magic link leads to the very object we checked; O_CREAT/O_EXCL no longer apply. */
	flags = (flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW)) | O_CLOEXEC;
	int fd = openat(d, name, flags);
	if (fd >= 0)
		return fd;
	if (errno != EACCES || !serving)
		return negative_errno();
	/*
	 * The program may list its own /proc/PID/fd whatever its ids (proc_fd_permission asks
	 * for the same thread group); when it is not dumpable that directory is root's, mode
	 * 0500, and refuses its uid, which is what we act with. runc init does this after it
	 * took the container's uid (it closes the fds it inherited before exec).
	 */
	const struct resolve_ctx *c = serving;
	fd = identity_restore();
	if (fd == 0) {
		fd = -EACCES;
		if (own_fd_dir(c, pathfd)) {
			fd = openat(d, name, flags);
			if (fd < 0)
				fd = negative_errno();
		}
	}
	int k = identity_assume(&c->creds);
	if (k < 0) {
		safe_close(fd);
		return k;
	}
	return fd;
}

#define MAX_LINKS 40

static bool is_proc_root(int fd)
{
	struct statfs sfs;
	struct stat st;
	return fstatfs(fd, &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC && fstat(fd, &st) == 0 &&
	       st.st_ino == 1;
}

static bool on_proc(int fd)
{
	struct statfs sfs;
	return fstatfs(fd, &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC;
}

/* Is /proc/PID (PID a process or thread id under this proc root) the supervisor itself? */
static bool is_supervisor(int procroot, const char *pid)
{
	char path[NAME_MAX + 16], buf[1024];
	snprintf(path, sizeof(path), "%s/status", pid);
	_cleanup_close_ int fd = openat(procroot, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return false;
	buf[n] = 0;
	const char *t = strstr(buf, "\nTgid:");
	return t && strtol(t + 6, NULL, 10) == getpid();
}

/* Is this procfs fd inside /proc/PID of the supervisor (reached by a relative walk)? */
static bool proc_fd_is_supervisor(int fd)
{
	char path[PATH_MAX];
	if (resolve_fd_path(fd, path, sizeof(path)) < 0)
		return true; /* cannot tell: refuse */
	if (strncmp(path, "/proc/", 6) != 0 || path[6] < '1' || path[6] > '9')
		return false;
	char pid[NAME_MAX + 1];
	size_t n = strspn(path + 6, "0123456789");
	if (n > 16)
		return false;
	memcpy(pid, path + 6, n);
	pid[n] = 0;
	_cleanup_close_ int root = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	return root >= 0 && is_supervisor(root, pid);
}

/* The start time (clock ticks since boot) in a /proc/PID/stat under dirfd; 0 if unknown.
 * With the pid, it names one task for good: a reused pid has a later start. */
static unsigned long long start_time(int dirfd, const char *pid)
{
	char path[40], buf[1024];
	snprintf(path, sizeof(path), "%s/stat", pid);
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	const char *p = strrchr(buf, ')'); /* comm may hold spaces and parentheses */
	if (!p)
		return 0;
	/* After ") " come fields 3..; the start time is field 22. */
	for (int f = 2; f < 22 && p; f++)
		p = strchr(p + 1, ' ');
	return p ? strtoull(p + 1, NULL, 10) : 0;
}

/*
 * Which of the target's pid namespaces this procfs counts pids in: the level whose id,
 * looked up there, is a task started when the target was. -1: the target is not
 * visible in it. (An id alone could be another task: pid 2 of the host is not pid 2
 * of the program's namespace.)
 */
static int proc_level(int procroot, const struct resolve_ctx *c)
{
	/* The calling thread's own entry: /proc/TID of a thread that is not the leader is
	 * reachable too (unlisted), and it is the thread's start time we compare. */
	int procfd = sb_req_procfd(c->req);
	unsigned long long mine = procfd < 0 ? 0 : start_time(procfd, ".");
	if (!mine)
		return -1;
	for (int i = c->creds.ns_depth - 1; i >= 0; i--) {
		char pid[16];
		snprintf(pid, sizeof(pid), "%d", (int)c->creds.ns_tids[i]);
		if (start_time(procroot, pid) == mine)
			return i;
	}
	return -1;
}

/*
 * The program's own magic links. The kernel lets a task into its own /proc/PID/fd
 * (proc_fd_permission) and through its own fd/N, cwd, root and exe (proc_pid_get_link:
 * ptrace_may_access passes within one thread group), whatever its ids and dumpable state.
 * We walk with its fsuid but are another task: once it is not dumpable (runc init after it
 * took the container's uid, a daemon that dropped privileges, PR_SET_DUMPABLE 0), that
 * directory is root's with mode 0500 and the jump needs ptrace rights over it, so the same
 * step fails for us with EACCES. When the directory is the program's own, that step is
 * taken again with our identity: it reaches the object the kernel gives the program, and
 * what is then done to that object is checked with the program's identity again. The
 * links of any other task stay refused.
 */

/* The last number of the status line key ("NStgid:\t5000\t2"): the id in the task's own
 * pid namespace. 0 if absent. */
static pid_t status_last_id(const char *buf, const char *key)
{
	const char *p = strstr(buf, key);
	if (!p)
		return 0;
	p += strlen(key);
	long v = 0;
	for (;;) {
		char *end;
		long n = strtol(p, &end, 10);
		if (end == p)
			break;
		v = n;
		p = end;
		if (*p == '\n' || !*p)
			break;
	}
	return (pid_t)v;
}

/*
 * Is fd's object where the lookup that gave it arrived, not something mounted on top? The
 * program may mount in a namespace of its own, and a bind mount of its own status or ns
 * directory over another task's would make that task look like its own.
 */
static bool not_mount_root(int fd)
{
	struct statx sx;
	return statx(fd, "", AT_EMPTY_PATH, 0, &sx) == 0 &&
	       (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	       !(sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

/*
 * Is dir the /proc/PID (or /proc/PID/task/TID) directory of a task in the program's thread
 * group, in any procfs? Its pid namespace must be the program's (threads share theirs) and
 * its tgid there the program's: one namespace never holds one tgid for two groups at once.
 * Numbers are compared in the task's own namespace, never a level guessed from which
 * procfs this is. Runs with our identity (the ns link of a non-dumpable task is closed to
 * its own uid). dir is pinned: its task is fixed, and a task never changes group. The
 * target is looked up after dir's status was read: alive then, the tgid was still its.
 */
static bool own_task_dir(const struct resolve_ctx *c, int dir)
{
	char buf[4096];
	if (!on_proc(dir))
		return false;
	_cleanup_close_ int fd = openat(dir, "status", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || !on_proc(fd) || !not_mount_root(fd))
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return false;
	buf[n] = 0;
	pid_t tgid = status_last_id(buf, "\nNStgid:");
	/* "ns" pinned first, so that nothing mounted on it later is what "pid" finds. */
	_cleanup_close_ int ns = openat(dir, "ns", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (tgid <= 0 || ns < 0 || !on_proc(ns) || !not_mount_root(ns))
		return false;
	_cleanup_close_ int pidns = openat(ns, "pid", O_PATH | O_CLOEXEC);
	struct stat theirs, ours;
	if (pidns < 0 || !not_mount_root(pidns) || fstat(pidns, &theirs) < 0 ||
	    sb_req_procfd(c->req) < 0 || fstatat(sb_req_procfd(c->req), "ns/pid", &ours, 0) < 0)
		return false;
	return theirs.st_dev == ours.st_dev && theirs.st_ino == ours.st_ino &&
	       tgid == c->creds.ns_tgid;
}

/*
 * Is dir the fd directory of a task in the program's thread group? Not a mount root, its
 * ".." is its own parent, the task's directory, whose "fd" must be dir itself (a lookup
 * finds the dentry we hold while the task lives).
 */
static bool own_fd_dir(const struct resolve_ctx *c, int dir)
{
	if (!on_proc(dir) || !not_mount_root(dir))
		return false;
	_cleanup_close_ int task = openat(dir, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct stat a, b;
	if (task < 0 || fstat(dir, &a) < 0 || fstatat(task, "fd", &b, AT_SYMLINK_NOFOLLOW) < 0 ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return false;
	return own_task_dir(c, task);
}

/*
 * The step from dir to comp that the kernel refused the program's identity (EACCES),
 * taken with ours if comp is one of the program's own magic links: fd/N in its fd
 * directory, cwd, root or exe in its task directory. follow: jump to the object, else the
 * link itself. Returns an O_PATH fd, or -EACCES for anything else.
 */
static int own_magic_step(const struct resolve_ctx *c, int dir, const char *comp, bool follow)
{
	bool fd_entry = comp[0] >= '0' && comp[0] <= '9' && !comp[strspn(comp, "0123456789")];
	if (!fd_entry && strcmp(comp, "cwd") && strcmp(comp, "root") && strcmp(comp, "exe"))
		return -EACCES;
	if (!on_proc(dir) || is_proc_root(dir))
		return -EACCES;
	int fd = identity_restore();
	if (fd == 0) {
		fd = -EACCES;
		if (fd_entry ? own_fd_dir(c, dir) : own_task_dir(c, dir)) {
			fd = openat(dir, comp, O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
			if (fd < 0)
				fd = negative_errno();
		}
	}
	int k = identity_assume(&c->creds);
	if (k < 0) {
		safe_close(fd);
		return k;
	}
	return fd;
}

/*
 * After a jump through a magic link that the program's identity was allowed to take (a
 * dumpable task of its uid): an object with a path is decided by that path like any other,
 * but one in no directory (a pipe, a socket, a namespace, a memfd or a deleted file) has no
 * rule to decide it. The program reaches those only through its own thread group: natively
 * its Landlock domain keeps it from other processes' fds (ptrace scoping), and the walk,
 * made by the supervisor, must not lend it a way around that.
 */
static int foreign_jump_check(const struct resolve_ctx *c, int dir, const char *comp, int jumped)
{
	char p[PATH_MAX];
	static const char del[] = " (deleted)";
	int k = resolve_fd_path(jumped, p, sizeof(p));
	if (k < 0)
		return k;
	size_t n = strlen(p), dl = sizeof(del) - 1;
	if (p[0] == '/' && !(n >= dl && !strcmp(p + n - dl, del)))
		return 0;
	bool fd_entry = comp[0] >= '0' && comp[0] <= '9' && !comp[strspn(comp, "0123456789")];
	bool own = false;
	if (identity_restore() == 0) {
		if (fd_entry) {
			own = own_fd_dir(c, dir);
		} else {
			/* cwd, root, exe in the task's directory; ns/NAME, map_files/RANGE
			 * one level below it. */
			own = own_task_dir(c, dir);
			if (!own) {
				_cleanup_close_ int up =
					openat(dir, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
				own = up >= 0 && own_task_dir(c, up);
			}
		}
	}
	k = identity_assume(&c->creds);
	if (k < 0)
		return k;
	return own ? 0 : -EACCES;
}

/* Puts text in front of rest (rest is inside buf). */
static int prepend(char *buf, size_t size, const char **rest, const char *text)
{
	size_t tl = strlen(text), rl = strlen(*rest);
	if (tl + 1 + rl + 1 > size)
		return -ENAMETOOLONG;
	memmove(buf + tl + 1, *rest, rl + 1);
	memcpy(buf, text, tl);
	buf[tl] = '/';
	*rest = buf;
	return 0;
}

/*
 * Our own namei: one component at a time from startfd. Returns an O_PATH fd of the object,
 * or with want_parent the parent and the last component in name.
 */
static int walk(struct resolve_ctx *c, int startfd, const char *path, bool follow,
		uint64_t resolve, bool want_parent, char *name, size_t namesz)
{
	if (resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT))
		return -EXDEV; /* scoped lookups that cross mounts are not emulated */
	char buf[2 * PATH_MAX];
	if (strlcpy_sb(buf, path, sizeof(buf)) >= sizeof(buf))
		return -ENAMETOOLONG;
	const char *rest = buf;
	int links = 0;
	_cleanup_close_ int cur = -1;
	if (*rest == '/')
		cur = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC); /* this thread's root: the target's */
	else
		cur = fcntl(startfd, F_DUPFD_CLOEXEC, 0);
	if (cur < 0)
		return negative_errno();
	if (on_proc(cur) && proc_fd_is_supervisor(cur))
		return -EACCES;

	for (;;) {
		while (*rest == '/')
			rest++;
		if (!*rest) {
			if (want_parent) {
				strlcpy_sb(name, ".", namesz);
				return TAKE_FD(cur);
			}
			return TAKE_FD(cur);
		}
		char comp[NAME_MAX + 1];
		size_t cl = strcspn(rest, "/");
		if (cl > NAME_MAX)
			return -ENAMETOOLONG;
		memcpy(comp, rest, cl);
		comp[cl] = 0;
		rest += cl;
		bool trailing = *rest == '/';
		const char *after = rest;
		while (*after == '/')
			after++;
		bool last = !*after;
		if (last && want_parent) {
			/* A trailing slash belongs to the name: "dir/" must be a directory. */
			snprintf(name, namesz, "%s%s", comp, trailing ? "/" : "");
			return TAKE_FD(cur);
		}
		if (!strcmp(comp, "."))
			continue;
		if ((!strcmp(comp, "self") || !strcmp(comp, "thread-self")) && is_proc_root(cur)) {
			/* The reader-dependent links of procfs: resolve them as the target, with
			 * its ids as this procfs (of whichever pid namespace) counts them. */
			int lvl = proc_level(cur, c);
			if (lvl < 0)
				return -ENOENT; /* the target is not visible there: self dangles */
			char sub[64];
			if (comp[0] == 's')
				snprintf(sub, sizeof(sub), "%d", (int)c->creds.ns_tgids[lvl]);
			else
				snprintf(sub, sizeof(sub), "%d/task/%d", (int)c->creds.ns_tgids[lvl],
					 (int)c->creds.ns_tids[lvl]);
			int k = prepend(buf, sizeof(buf), &rest, sub);
			if (k < 0)
				return k;
			continue;
		}
		if (comp[0] >= '1' && comp[0] <= '9' && is_proc_root(cur) && is_supervisor(cur, comp))
			return -EACCES; /* our fds, memory and state are not the program's to see */
		_cleanup_close_ int next = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0) {
			/* Refused: perhaps the program's own fd/N (its fd directory is 0500). */
			next = errno == EACCES ? own_magic_step(c, cur, comp, false)
					       : negative_errno();
			if (next < 0)
				return next;
		}
		struct stat st;
		if (fstat(next, &st) < 0)
			return negative_errno();
		if (S_ISLNK(st.st_mode) && (!last || follow || trailing)) {
			if (resolve & RESOLVE_NO_SYMLINKS)
				return -ELOOP;
			if (++links > MAX_LINKS)
				return -ELOOP;
			if (on_proc(next) && !is_proc_root(cur)) {
				/* A magic link (/proc/PID/fd/N, cwd, root, exe): the kernel jumps
				 * to the object itself, which is the target's, not ours. */
				if (resolve & RESOLVE_NO_MAGICLINKS)
					return -ELOOP;
				int jumped = openat(cur, comp, O_PATH | O_CLOEXEC);
				if (jumped < 0) {
					jumped = errno == EACCES
						     ? own_magic_step(c, cur, comp, true)
						     : negative_errno();
					if (jumped < 0)
						return jumped;
				} else {
					int k = foreign_jump_check(c, cur, comp, jumped);
					if (k < 0) {
						safe_close(jumped);
						return k;
					}
				}
				safe_close(cur);
				cur = jumped;
				continue;
			}
			char text[PATH_MAX];
			ssize_t n = readlinkat(next, "", text, sizeof(text) - 1);
			if (n < 0)
				return negative_errno();
			text[n] = 0;
			int k = prepend(buf, sizeof(buf), &rest, text);
			if (k < 0)
				return k;
			if (text[0] == '/') {
				int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
				if (root < 0)
					return negative_errno();
				safe_close(cur);
				cur = root;
			}
			continue;
		}
		if (on_proc(next) && proc_fd_is_supervisor(next))
			return -EACCES; /* e.g. a cwd inside /proc/OURPID */
		safe_close(cur);
		cur = TAKE_FD(next);
	}
}

static int fast_open(int startfd, const char *path, int flags, uint64_t resolve)
{
	struct open_how how = {.flags = (uint64_t)(flags | O_PATH | O_CLOEXEC),
			       .resolve = resolve | RESOLVE_NO_XDEV};
	int fd = (int)syscall(SYS_openat2, startfd, path, &how, sizeof(how));
	return fd < 0 ? negative_errno() : fd;
}

/* May the kernel's own walk start here? Not from procfs, where "self" would mean us. */
static bool fast_walk_ok(const struct resolve_ctx *c, int startfd)
{
	if (startfd == c->startfd)
		return !c->start_on_proc;
	return !on_proc(startfd); /* e.g. the directory of a symlink we followed ourselves */
}

int resolve_pin(struct resolve_ctx *c, int startfd, const char *path, bool follow,
		uint64_t resolve)
{
	if (!*path)
		return -ENOENT;
	if (fast_walk_ok(c, startfd)) {
		/* One mount all the way: procfs was never entered, the kernel's walk is ours. */
		int fd = fast_open(startfd, path, follow ? 0 : O_NOFOLLOW, resolve);
		if (fd != -EXDEV || (resolve & RESOLVE_NO_XDEV))
			return fd;
	}
	return walk(c, startfd, path, follow, resolve, false, NULL, 0);
}

int resolve_parent(struct resolve_ctx *c, int startfd, const char *path, char *name,
		   size_t namesz)
{
	if (!*path)
		return -ENOENT;
	size_t len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	const char *slash = memrchr(path, '/', len);
	size_t nl = slash ? len - (size_t)(slash + 1 - path) : len;
	if (fast_walk_ok(c, startfd) && len < PATH_MAX) {
		char dir[PATH_MAX];
		if (slash) {
			size_t dl = slash == path ? 1 : (size_t)(slash - path);
			memcpy(dir, path, dl);
			dir[dl] = 0;
		} else {
			strcpy(dir, ".");
		}
		int fd = fast_open(startfd, dir, O_DIRECTORY, 0);
		if (fd != -EXDEV) {
			if (fd >= 0) {
				if (nl + 2 > namesz) {
					safe_close(fd);
					return -ENAMETOOLONG;
				}
				memcpy(name, path + len - nl, nl);
				strcpy(name + nl, len < strlen(path) ? "/" : "");
			}
			return fd;
		}
	}
	return walk(c, startfd, path, true, 0, true, name, namesz);
}
