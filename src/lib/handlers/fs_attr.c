/* The metadata family (chmod, fchmodat, fchmodat2, chown, lchown, fchownat, utime, utimes,
 * futimesat, utimensat, truncate, and through an fd fchmod, fchown, futimens): the object is
 * pinned as the call would reach it (the program's fd taken with pidfd_getfd), judged as a
 * write, and changed by the supervisor with the target's identity. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>
#include <utime.h>

#include "compat.h"
#include "engine.h"
#include "fs.h"
#include "fs_write.h"
#include "fs_opath.h"
#include "macros.h"

enum attr_op {
	OP_CHMOD,
	OP_CHOWN,
	OP_UTIMES,
	OP_TRUNCATE,
};

struct attr_call {
	enum attr_op op;
	int dirfd;
	uint64_t path;
	unsigned flags; /* AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH */
	mode_t mode;
	uint32_t uid, gid;
	uint64_t times_addr;
	bool have_times;
	struct timespec times[2];
	off_t length;
	/* The object is the program's open file (fchmod, fchown, and utimensat and futimesat
	 * with a NULL path): the kernel lets its owner change it through any fd, a read-only
	 * one of a file the program may only read included. */
	bool by_fd;
};

/* The times as the kernel copies them (before it looks at the path), in utimensat's form. */
static int read_times(sb_req *r, int nr, struct attr_call *c)
{
	uint64_t addr = c->times_addr;
	c->have_times = addr != 0;
	if (!addr)
		return 0;
	if (nr == SYS_utime) {
		struct utimbuf u;
		int k = sb_req_read(r, addr, &u, sizeof(u));
		if (k < 0)
			return k;
		c->times[0] = (struct timespec){u.actime, 0};
		c->times[1] = (struct timespec){u.modtime, 0};
		return 0;
	}
	if (nr == SYS_utimes || nr == SYS_futimesat) {
		struct timeval tv[2];
		int k = sb_req_read(r, addr, tv, sizeof(tv));
		if (k < 0)
			return k;
		for (int i = 0; i < 2; i++) {
			if (tv[i].tv_usec < 0 || tv[i].tv_usec >= 1000000)
				return -EINVAL;
			c->times[i] = (struct timespec){tv[i].tv_sec, tv[i].tv_usec * 1000};
		}
		return 0;
	}
	return sb_req_read(r, addr, c->times, sizeof(c->times));
}

/* Decodes the registers; 1 when the call needs no path decision (answered by the caller). */
static int decode(sb_req *r, struct attr_call *c)
{
	int nr = sb_req_nr(r);
	c->dirfd = AT_FDCWD_ARG;
	c->flags = 0;
	c->by_fd = false;
	switch (nr) {
	case SYS_fchmod:
		c->op = OP_CHMOD;
		c->by_fd = true;
		c->dirfd = (int)sb_req_arg(r, 0);
		c->mode = (uint16_t)sb_req_arg(r, 1);
		return 0;
	case SYS_fchown:
		c->op = OP_CHOWN;
		c->by_fd = true;
		c->dirfd = (int)sb_req_arg(r, 0);
		c->uid = (uint32_t)sb_req_arg(r, 1);
		c->gid = (uint32_t)sb_req_arg(r, 2);
		return 0;
	case SYS_chmod:
	case SYS_fchmodat:
	case SYS_fchmodat2: {
		bool at = nr != SYS_chmod;
		c->op = OP_CHMOD;
		c->dirfd = at ? (int)sb_req_arg(r, 0) : AT_FDCWD_ARG;
		c->path = sb_req_arg(r, at ? 1 : 0);
		c->mode = (uint16_t)sb_req_arg(r, at ? 2 : 1); /* umode_t */
		/* fchmodat(2) has no flags; glibc emulates them, fchmodat2 has them. */
		c->flags = nr == SYS_fchmodat2 ? (unsigned)sb_req_arg(r, 3) : 0;
		return c->flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) ? -EINVAL : 0;
	}
	case SYS_chown:
	case SYS_lchown:
	case SYS_fchownat: {
		bool at = nr == SYS_fchownat;
		c->op = OP_CHOWN;
		c->dirfd = at ? (int)sb_req_arg(r, 0) : AT_FDCWD_ARG;
		c->path = sb_req_arg(r, at ? 1 : 0);
		c->uid = (uint32_t)sb_req_arg(r, at ? 2 : 1);
		c->gid = (uint32_t)sb_req_arg(r, at ? 3 : 2);
		c->flags = at		      ? (unsigned)sb_req_arg(r, 4)
			   : nr == SYS_lchown ? AT_SYMLINK_NOFOLLOW
					      : 0;
		return c->flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) ? -EINVAL : 0;
	}
	case SYS_utime:
	case SYS_utimes:
		c->op = OP_UTIMES;
		c->path = sb_req_arg(r, 0);
		c->times_addr = sb_req_arg(r, 1);
		return c->path ? 0 : 1;
	case SYS_futimesat:
	case SYS_utimensat:
		c->op = OP_UTIMES;
		c->dirfd = (int)sb_req_arg(r, 0);
		c->path = sb_req_arg(r, 1);
		c->times_addr = sb_req_arg(r, 2);
		c->flags = nr == SYS_utimensat ? (unsigned)sb_req_arg(r, 3) : 0;
		/* A NULL path names the dirfd's own open file (futimens, do_utimes_fd). */
		c->by_fd = !c->path;
		return 0;
	case SYS_truncate:
		c->op = OP_TRUNCATE;
		c->path = sb_req_arg(r, 0);
		c->length = (off_t)sb_req_arg(r, 1);
		return c->length < 0 ? -EINVAL : 0;
	}
	return -ENOSYS;
}

/*
 * chown's ids count in the caller's user namespace; the supervisor's thread counts in its
 * own. Maps id through /proc/TID/{uid,gid}_map, whose second column is given in the reader's
 * namespace. (uint32_t)-1 means "leave it". -EINVAL for an id the target's namespace lacks,
 * as chown itself answers.
 */
static int map_id(sb_req *r, const char *file, uint32_t id, uint32_t *ret)
{
	*ret = id;
	if (id == UINT32_MAX)
		return 0;
	int foreign = fs_userns_foreign(r);
	if (foreign <= 0)
		return foreign; /* ours: the id means the same to both */
	int procfd = sb_req_procfd(r);
	if (procfd < 0)
		return procfd;
	_cleanup_close_ int fd = openat(procfd, file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	char buf[8192];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return negative_errno();
	buf[n] = 0;
	for (char *line = buf, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		unsigned long long inside, outside, count;
		if (sscanf(line, "%llu %llu %llu", &inside, &outside, &count) != 3)
			continue;
		if (id >= inside && id - inside < count) {
			*ret = (uint32_t)(outside + (id - inside));
			return 0;
		}
	}
	return -EINVAL;
}

struct truncate_arg {
	off_t length;
};

static int truncate_op(const char *name, void *arg)
{
	const struct truncate_arg *t = arg;
	return truncate(name, t->length) < 0 ? negative_errno() : 0;
}

static int chmod_op(const char *name, void *arg)
{
	return chmod(name, *(const mode_t *)arg) < 0 ? negative_errno() : 0;
}

static int do_chmod(sb_req *r, int pin, mode_t mode)
{
	if (syscall(SYS_fchmodat2, pin, "", mode, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno != ENOSYS)
		return negative_errno();
	/* Before 6.6: through the magic link, which leads to the pin (glibc's lchmod does
	 * the same and, like the kernel, leaves symlinks alone). */
	struct stat st;
	if (fstat(pin, &st) < 0)
		return negative_errno();
	if (S_ISLNK(st.st_mode))
		return -EOPNOTSUPP;
	return fs_at_pin(r, pin, chmod_op, &mode);
}

static int attr_handler(sb_req *r, void *userdata)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	struct attr_call c;
	int k = decode(r, &c);
	if (k < 0)
		return k;
	if (k == 1) {
		/* Decided from registers alone, before any memory is read. */
		sb_req_note_get(r)->action = "allow";
		return sb_req_reply_continue_unchecked(r);
	}
	if (c.flags)
		fs_note_at_flags(r, c.flags);
	if (c.op == OP_UTIMES) {
		k = read_times(r, sb_req_nr(r), &c);
		if (k < 0)
			return k;
		/* Nothing to do: the kernel does not even look at the path. */
		if (c.have_times && c.times[0].tv_nsec == UTIME_OMIT &&
		    c.times[1].tv_nsec == UTIME_OMIT)
			return sb_req_reply_value(r, 0);
		if (c.flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
			return -EINVAL;
		/* do_utimes: a NULL path with AT_FDCWD is looked up (EFAULT); with an fd, no
		 * flags are taken. */
		if (c.by_fd && c.dirfd == AT_FDCWD_ARG)
			return -EFAULT;
		if (c.by_fd && c.flags)
			return -EINVAL;
	}
	if (c.by_fd && c.dirfd == AT_FDCWD_ARG)
		return -EBADF; /* fdget, not a path: AT_FDCWD is no fd */
	if (c.op == OP_CHOWN) {
		/* Before the target's identity is assumed: its /proc files are ours to read. */
		k = map_id(r, "uid_map", c.uid, &c.uid);
		if (k < 0)
			return k;
		k = map_id(r, "gid_map", c.gid, &c.gid);
		if (k < 0)
			return k;
	}

	int foreign = fs_userns_foreign(r);
	if (foreign < 0)
		return foreign;
	_cleanup_(fs_arg_endp) struct fs_arg a = {.fd = -1, .startfd = -1};
	if (c.by_fd) {
		k = fs_arg_pin_empty(r, c.dirfd, &a);
		int link;
		if (k == 0 && fs_opath_lookup(a.fd, a.real, &link) > 0) {
			safe_close(link);
			k = -EBADF; /* an O_PATH symlink stand-in: these need a real open file */
		}
	} else {
		k = fs_arg_pin(r, NULL, c.dirfd, c.path, !(c.flags & AT_SYMLINK_NOFOLLOW),
			       c.flags & AT_EMPTY_PATH, &a);
		if (k == 0)
			k = fs_opath_arg(r, &a);
	}
	if (k < 0)
		return k;
	k = fs_caps_for_change(&a, foreign);
	if (k < 0)
		return k;
	k = fs_decide(r, sb, a.real, FS_WANT_WRITE);
	if (k)
		return -k;
	/* Each change lands on the pinned inode (AT_EMPTY_PATH on an O_PATH fd, or its magic
	 * link), never on whatever the name means by now. Made twice (a restarted call), it
	 * answers the same: these need no fs_change. Through an fd, on our copy of the
	 * program's open file, where the kernel checks what it would check on the program's
	 * (an O_PATH one: EBADF). */
	if (c.by_fd) {
		if (c.op == OP_CHMOD)
			k = fchmod(a.fd, c.mode);
		else if (c.op == OP_CHOWN)
			k = fchown(a.fd, c.uid, c.gid);
		else
			k = futimens(a.fd, c.have_times ? c.times : NULL);
		return k < 0 ? negative_errno() : sb_req_reply_value(r, 0);
	}
	switch (c.op) {
	case OP_CHMOD:
		k = do_chmod(r, a.fd, c.mode);
		break;
	case OP_CHOWN:
		k = fchownat(a.fd, "", c.uid, c.gid, AT_EMPTY_PATH) < 0 ? negative_errno() : 0;
		break;
	case OP_UTIMES:
		k = utimensat(a.fd, "", c.have_times ? c.times : NULL, AT_EMPTY_PATH) < 0
			? negative_errno()
			: 0;
		break;
	case OP_TRUNCATE: {
		struct truncate_arg t = {c.length};
		k = fs_at_pin(r, a.fd, truncate_op, &t);
		break;
	}
	}
	return k < 0 ? k : sb_req_reply_value(r, 0);
}

static const struct fs_row attr_rows[] = {
    {SYS_chmod, attr_handler},	   {SYS_fchmodat, attr_handler}, {SYS_fchmodat2, attr_handler},
    {SYS_chown, attr_handler},	   {SYS_lchown, attr_handler},	 {SYS_fchownat, attr_handler},
    {SYS_utime, attr_handler},	   {SYS_utimes, attr_handler},	 {SYS_futimesat, attr_handler},
    {SYS_utimensat, attr_handler}, {SYS_truncate, attr_handler}, {SYS_fchmod, attr_handler},
    {SYS_fchown, attr_handler},
};

const struct fs_family fs_attr_family = {"attr", attr_rows, ELEMENTSOF(attr_rows),
					 sandbox_wants_fs};
