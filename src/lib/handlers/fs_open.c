/* The open family (open, openat, creat, openat2): the supervisor resolves the path in the
 * target's view, decides on the object actually reached, opens it itself and injects the fd
 * with ADDFD|SEND. Nothing is ever continued, so a path rewritten after our read is moot. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine.h"
#include "fs.h"
#include "fs_common.h"
#include "fs_opath.h"
#include "macros.h"
#include "opener.h"
#include "resolve.h"
#include "sandbox.h"
#include "strutil.h"

#define MAX_SYMLINKS 40
#define OPEN_HOW_SIZE_V0 24 /* struct open_how of 5.6: flags, mode, resolve */

struct open_args {
	int dirfd;
	uint64_t path_addr;
	int flags;
	mode_t mode;
	uint64_t resolve; /* openat2 RESOLVE_* */
	bool openat2;
};

static int decode_open(sb_req *r, struct open_args *a)
{
	a->resolve = 0;
	a->openat2 = false;
	switch (sb_req_nr(r)) {
	case SYS_open:
		a->dirfd = AT_FDCWD_ARG;
		a->path_addr = sb_req_arg(r, 0);
		a->flags = (int)sb_req_arg(r, 1);
		a->mode = (mode_t)sb_req_arg(r, 2);
		return 0;
	case SYS_creat:
		a->dirfd = AT_FDCWD_ARG;
		a->path_addr = sb_req_arg(r, 0);
		a->flags = O_CREAT | O_WRONLY | O_TRUNC;
		a->mode = (mode_t)sb_req_arg(r, 1);
		return 0;
	case SYS_openat:
		a->dirfd = (int)sb_req_arg(r, 0);
		a->path_addr = sb_req_arg(r, 1);
		a->flags = (int)sb_req_arg(r, 2);
		a->mode = (mode_t)sb_req_arg(r, 3);
		return 0;
	case SYS_openat2: {
		struct open_how how;
		uint64_t size = sb_req_arg(r, 3);
		/* As the kernel: at least version 0, and any tail we do not know must be zero. */
		if (size < OPEN_HOW_SIZE_V0 || size > 4096)
			return -EINVAL;
		unsigned char buf[4096];
		int k = sb_req_read(r, sb_req_arg(r, 2), buf, size);
		if (k < 0)
			return k;
		for (size_t i = sizeof(how); i < size; i++)
			if (buf[i])
				return -E2BIG;
		memset(&how, 0, sizeof(how));
		memcpy(&how, buf, size < sizeof(how) ? size : sizeof(how));
		if (how.flags >> 32)
			return -EINVAL;
		a->dirfd = (int)sb_req_arg(r, 0);
		a->path_addr = sb_req_arg(r, 1);
		a->flags = (int)how.flags;
		a->mode = (mode_t)how.mode;
		a->resolve = how.resolve;
		a->openat2 = true;
		return 0;
	}
	}
	return -ENOSYS;
}

static int do_open(int dirfd, const char *path, const struct open_args *a, int flags)
{
	int fd;
	if (a->openat2) {
		struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
				       .mode = (flags & (O_CREAT | (O_TMPFILE & ~O_DIRECTORY))) ? a->mode : 0,
				       .resolve = a->resolve};
		fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	} else {
		fd = openat(dirfd, path, flags | O_CLOEXEC, a->mode);
	}
	return fd < 0 ? negative_errno() : fd;
}

/* An open modifies when it writes, truncates or creates. */
static enum fs_want open_want(int flags)
{
	bool w = (flags & O_ACCMODE) != O_RDONLY ||
		 (flags & (O_TRUNC | O_CREAT | (O_TMPFILE & ~O_DIRECTORY)));
	return w ? FS_WANT_WRITE : FS_WANT_READ;
}

/* A file whose later use the kernel judges by its opener (a /proc/PID/uid_map...) is opened
 * with the program's own credentials, in a child of ours (opener.c). */
static int reopen_pin(sb_req *r, int pin, const char *real, int flags)
{
	return opener_wanted(real) ? opener_reopen(r, pin, flags) : resolve_reopen(pin, flags);
}

/*
 * Opens with decisions on the object reached. Existing objects are pinned with O_PATH,
 * judged by their real path, and reopened through the pin; new ones are judged by their
 * parent's real path plus the name and created with O_EXCL|O_NOFOLLOW so a symlink planted
 * meanwhile cannot redirect the creation (we retry and then see it).
 */
static int open_checked(sb_req *r, struct sb_sandbox *sb, struct resolve_ctx *c,
			const char *path0, const struct open_args *a, char *real, size_t realsz)
{
	char path[PATH_MAX];
	strlcpy_sb(path, path0, sizeof(path));
	/* Where the walk starts: the call's own start, then the directory of each last
	 * component symlink we follow ourselves. */
	int base = c->startfd;
	_cleanup_close_ int followed = -1;
	int flags = a->flags;
	bool tmpfile = (flags & O_TMPFILE) == O_TMPFILE;

	for (int hops = 0; hops <= MAX_SYMLINKS; hops++) {
		if (!(flags & O_CREAT)) {
			/* No creation: pin whatever the path leads to, as the call would. */
			_cleanup_close_ int pin =
				fs_resolve_pin(r, c, base, path, !(flags & O_NOFOLLOW), a->resolve);
			if (pin < 0)
				return pin;
			int k = resolve_fd_path(pin, real, realsz);
			if (k < 0)
				return k;
			/* /proc/self/fd/N of an O_PATH symlink stand-in leads to its symlink. */
			k = fs_opath_swap(&pin, real, realsz);
			if (k < 0)
				return k;
			k = fs_decide(r, sb, real, open_want(flags));
			if (k)
				return -k;
			struct stat st;
			if (fstat(pin, &st) < 0)
				return negative_errno();
			if ((flags & O_DIRECTORY) && !S_ISDIR(st.st_mode))
				return S_ISLNK(st.st_mode) ? -ELOOP : -ENOTDIR;
			if (flags & O_PATH)
				return S_ISLNK(st.st_mode) ? fs_opath_standin(r, pin)
							   : resolve_reopen(pin, O_RDONLY | O_NONBLOCK |
										   (flags & O_DIRECTORY));
			if (S_ISLNK(st.st_mode))
				return -ELOOP; /* O_NOFOLLOW on a symlink */
			if (tmpfile) {
				int fd = openat(pin, ".", flags | O_CLOEXEC, a->mode);
				return fd < 0 ? negative_errno() : fd;
			}
			return reopen_pin(r, pin, real, flags);
		}

		/* Creation: the parent and the last component. */
		char name[NAME_MAX + 2];
		_cleanup_close_ int parent = fs_resolve_parent(r, c, base, path, name, sizeof(name));
		if (parent < 0)
			return parent;
		if (!*name || !strcmp(name, ".") || !strcmp(name, "..") || strchr(name, '/'))
			return -EISDIR;

		_cleanup_close_ int pin = openat(parent, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (pin >= 0) {
			struct stat st;
			if (fstat(pin, &st) < 0)
				return negative_errno();
			if (flags & O_EXCL)
				return -EEXIST;
			struct statfs sfs;
			if (S_ISLNK(st.st_mode) && !(flags & O_NOFOLLOW) && fstatfs(pin, &sfs) == 0 &&
			    sfs.f_type == PROC_SUPER_MAGIC) {
				/* A procfs link (/dev/stdout leads to /proc/self/fd/1) may be a magic
				 * one, whose text ("pipe:[N]") names nothing to create: the kernel
				 * jumps to the open file. So does the walk, and the object reached
				 * exists: open it as the existing object it is. */
				safe_close(pin);
				pin = fs_resolve_pin(r, c, parent, name, true, a->resolve);
				if (pin < 0)
					return pin;
				if (fstat(pin, &st) < 0)
					return negative_errno();
				if (S_ISDIR(st.st_mode))
					return -EISDIR;
				int k = resolve_fd_path(pin, real, realsz);
				if (k < 0)
					return k;
				k = fs_opath_swap(&pin, real, realsz); /* then ELOOP, as the kernel */
				if (k < 0)
					return k;
				k = fs_decide(r, sb, real, open_want(flags & ~O_CREAT));
				if (k)
					return -k;
				return reopen_pin(r, pin, real, flags & ~(O_CREAT | O_EXCL));
			}
			if (S_ISLNK(st.st_mode)) {
				if (flags & O_NOFOLLOW)
					return -ELOOP;
				/* A hidden link is not there to follow (fs_common.c: rw_hidden). */
				int k = resolve_fd_path(pin, real, realsz);
				if (k < 0)
					return k;
				if (sb->fs_hide && fs_decide(r, sb, real, FS_WANT_READ) == ENOENT)
					return -ENOENT;
				/* Follow it ourselves: the next round resolves the target. */
				char target[PATH_MAX];
				ssize_t n = readlinkat(pin, "", target, sizeof(target) - 1);
				if (n < 0)
					return negative_errno();
				target[n] = 0;
				safe_close(followed);
				base = followed = TAKE_FD(parent);
				strlcpy_sb(path, target, sizeof(path));
				continue;
			}
			int k = resolve_fd_path(pin, real, realsz);
			if (k < 0)
				return k;
			k = fs_decide(r, sb, real, open_want(flags & ~O_CREAT));
			if (k)
				return -k;
			if (S_ISDIR(st.st_mode))
				return -EISDIR;
			return reopen_pin(r, pin, real, flags);
		}
		if (errno != ENOENT)
			return negative_errno();
		int k = resolve_fd_path(parent, real, realsz);
		if (k < 0)
			return k;
		size_t rl = strlen(real);
		if (rl + 1 + strlen(name) >= realsz)
			return -ENAMETOOLONG;
		snprintf(real + rl, realsz - rl, "%s%s", rl > 1 ? "/" : "", name);
		k = fs_decide(r, sb, real, FS_WANT_WRITE);
		if (k)
			return -k;
		int fd = openat(parent, name, flags | O_EXCL | O_NOFOLLOW | O_CLOEXEC, a->mode);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			return negative_errno();
		/* Someone created it between our look and our create: look again. */
	}
	return -ELOOP;
}

static int fs_open_handler(sb_req *r, void *userdata)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	int nr = sb_req_nr(r);
	int reg_flags = (int)sb_req_arg(r, nr == SYS_openat ? 2 : 1);
	if (sb->fs_trivial && (nr == SYS_open || nr == SYS_openat) && (reg_flags & O_PATH)) {
		/*
		 * ADDFD cannot inject an O_PATH file (fget skips them), and an O_PATH open
		 * needs no permission on the object (O_NOFOLLOW even opens a symlink). With no
		 * fs rule nothing is decided, and the flags are a register value: the kernel may
		 * run the call as it would natively. Decided before reading any target memory
		 * (so the audit line has no path).
		 */
		sb_req_note *n = sb_req_note_get(r);
		fs_format_open_flags(reg_flags, n->flags, sizeof(n->flags));
		n->action = "allow";
		return sb_req_reply_continue_unchecked(r);
	}
	struct open_args a;
	int k = decode_open(r, &a);
	if (k < 0)
		return k;
	/* The caller's identity before the path read: the ID_VALID that read does proves both. */
	k = req_ident_early(r);
	if (k < 0)
		return k;
	char path[PATH_MAX];
	k = sb_req_read_string(r, a.path_addr, path, sizeof(path));
	if (k < 0)
		return k;
	sb_req_note *note = sb_req_note_get(r);
	if (sandbox_records(sb))
		fs_format_open_flags(a.flags, note->flags, sizeof(note->flags));

	struct resolve_ctx c;
	k = resolve_begin(r, a.dirfd, path, false, &c);
	if (k < 0)
		return k;
	int fd;
	if (sb->fs_trivial && !c.start_on_proc && !opener_wanted(path)) {
		/*
		 * Nothing to decide: the kernel may resolve our copy of the path, as long as
		 * it stays on one mount (so it never meets /proc/self, which would mean us).
		 * A name that may need the program as its opener takes the checked path.
		 */
		struct open_args fa = a;
		fa.resolve |= RESOLVE_NO_XDEV;
		fa.openat2 = true;
		fd = do_open(c.startfd, path, &fa, a.flags);
		/* EXDEV: it left the mount, so walk ourselves. EINVAL: openat2 refuses flag
		 * bits that openat ignores; the walk reopens with openat. */
		if ((fd == -EXDEV && !(a.resolve & RESOLVE_NO_XDEV)) || (fd == -EINVAL && !a.openat2))
			fd = open_checked(r, sb, &c, path, &a, note->path, sizeof(note->path));
		else if (fd >= 0 && sb->audit_fd >= 0)
			resolve_fd_path(fd, note->path, sizeof(note->path));
	} else {
		fd = open_checked(r, sb, &c, path, &a, note->path, sizeof(note->path));
	}
	if (sb->fs_trivial)
		note->action = "allow";
	if (fd >= 0 && (a.flags & O_PATH)) {
		/* ADDFD cannot carry O_PATH files (fget skips them): the target gets a read
		 * descriptor on the same object instead, without the O_NONBLOCK we added. */
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	}
	resolve_end(&c);
	if (fd < 0) {
		/* Nothing was reached: the audit shows the name as the program gave it. */
		if (!note->path[0])
			strlcpy_sb(note->path, path, sizeof(note->path));
		return fd;
	}
	/* Its access mode is known: O_PATH files are given as read descriptors. */
	k = req_reply_fd_close_mode(r, fd, a.flags & O_CLOEXEC,
				    (a.flags & O_PATH) ? O_RDONLY : a.flags & O_ACCMODE);
	return k < 0 && k != -ENOENT ? k : 0;
}

static const struct fs_row open_rows[] = {
	{SYS_open, fs_open_handler},
	{SYS_openat, fs_open_handler},
	{SYS_creat, fs_open_handler},
	{SYS_openat2, fs_open_handler},
};

const struct fs_family fs_open_family = {"open", open_rows, ELEMENTSOF(open_rows)};
