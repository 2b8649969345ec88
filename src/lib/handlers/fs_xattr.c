/* The extended-attribute writers (setxattr, lsetxattr, fsetxattr, setxattrat, removexattr,
 * lremovexattr, fremovexattr, removexattrat): the object is pinned as the call would reach it
 * (by path, or the program's fd taken with pidfd_getfd), judged as a write, and changed by the
 * supervisor with the target's identity; name and value are our copies. */
#include <errno.h>
#include <fcntl.h>
#include <linux/limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/xattr.h>

#include "fs.h"
#include "fs_opath.h"
#include "fs_write.h"
#include "macros.h"

/* Linux 6.13; Debian 12's headers lack them (libseccomp takes the numbers). */
#define NR_setxattrat 463
#define NR_removexattrat 466

struct xattr_call {
	sb_req *r;
	int pin;
	bool set;
	bool on_fd; /* the program's own open file: f*xattr on our copy of it */
	const char *name;
	const void *value;
	size_t size;
	int flags;
};

/* name leads to the pinned inode itself (a symlink included), so one call serves both the
 * following and the l- variants: the pin already chose. */
static int xattr_magic(const char *name, void *arg)
{
	const struct xattr_call *x = arg;
	int k = x->set ? setxattr(name, x->name, x->value, x->size, x->flags)
		       : removexattr(name, x->name);
	return k < 0 ? negative_errno() : 0;
}

static int xattr_op(void *arg)
{
	struct xattr_call *x = arg;
	if (x->on_fd) {
		/* The program's open file: an O_PATH one fails with EBADF here, as its own call
		 * would (file_setxattr takes the fd with fdget). */
		int k = x->set ? fsetxattr(x->pin, x->name, x->value, x->size, x->flags)
			       : fremovexattr(x->pin, x->name);
		return k < 0 ? negative_errno() : 0;
	}
	return fs_at_pin(x->r, x->pin, xattr_magic, x);
}

/* struct xattr_args of setxattrat: value, size and the XATTR_CREATE/REPLACE flags. */
static int read_xattr_args(sb_req *r, struct xattr_call *x, uint64_t *ret_value)
{
	uint32_t size, flags;
	int k = fs_read_xattr_args(r, ret_value, &size, &flags);
	if (k < 0)
		return k;
	x->size = size;
	x->flags = (int)flags;
	return 0;
}

static int xattr_handler(sb_req *r, void *userdata)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	int nr = sb_req_nr(r);
	bool at = nr == NR_setxattrat || nr == NR_removexattrat;
	bool by_fd = nr == SYS_fsetxattr || nr == SYS_fremovexattr;
	struct xattr_call x = {.r = r,
			       .set = nr == SYS_setxattr || nr == SYS_lsetxattr ||
				      nr == SYS_fsetxattr || nr == NR_setxattrat};
	int dirfd = at || by_fd ? (int)sb_req_arg(r, 0) : AT_FDCWD_ARG;
	uint64_t path = at ? sb_req_arg(r, 1) : by_fd ? 0 : sb_req_arg(r, 0);
	uint64_t name_addr = sb_req_arg(r, at ? 3 : 1);
	unsigned at_flags = at ? (unsigned)sb_req_arg(r, 2) : 0;
	bool follow = nr == SYS_setxattr || nr == SYS_removexattr ||
		      (at && !(at_flags & AT_SYMLINK_NOFOLLOW));
	/*
	 * The kernel's order: the fd (fremovexattr: fdget; fsetxattr goes through
	 * path_setxattrat, which takes AT_FDCWD as the cwd), the at-flags, the struct, the
	 * flags, name, size and value (setxattr_copy), then the path.
	 */
	if (nr == SYS_fremovexattr && dirfd == AT_FDCWD_ARG)
		return -EBADF;
	if (at_flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	uint64_t value_addr = 0;
	int k = 0;
	if (nr == NR_setxattrat) {
		k = read_xattr_args(r, &x, &value_addr);
	} else if (x.set) {
		value_addr = sb_req_arg(r, 2);
		x.size = (size_t)sb_req_arg(r, 3);
		x.flags = (int)sb_req_arg(r, 4);
	}
	if (k < 0)
		return k;
	if (x.set && (x.flags & ~(XATTR_CREATE | XATTR_REPLACE)))
		return -EINVAL;
	char name[XATTR_NAME_MAX + 1];
	k = sb_req_read_string(r, name_addr, name, sizeof(name));
	if (k == -ENAMETOOLONG || k == 0)
		return -ERANGE;
	if (k < 0)
		return k;
	x.name = name;
	_cleanup_free_ void *value = NULL;
	if (x.set && x.size) {
		if (x.size > XATTR_SIZE_MAX)
			return -E2BIG;
		value = malloc(x.size);
		if (!value)
			return -ENOMEM;
		k = sb_req_read(r, value_addr, value, x.size);
		if (k < 0)
			return k;
		x.value = value;
	}

	int foreign = fs_userns_foreign(r);
	if (foreign < 0)
		return foreign;
	_cleanup_(fs_arg_endp) struct fs_arg a = {.fd = -1, .startfd = -1};
	/* A NULL path with AT_EMPTY_PATH is the dirfd itself (getname_maybe_null), and so is
	 * "" (then read as such). The f- calls name their fd only. */
	bool empty = at && (at_flags & AT_EMPTY_PATH);
	if (by_fd || (empty && path == 0))
		k = fs_arg_pin_empty(r, dirfd, &a);
	else
		k = fs_arg_pin(r, NULL, dirfd, path, follow, empty, &a);
	if (k < 0)
		return k;
	/* The program's own file (not a path, nor AT_FDCWD, which is the cwd): f*xattr on it. */
	x.on_fd = (by_fd || (empty && !a.path[0])) && dirfd != AT_FDCWD_ARG;
	if (x.on_fd) {
		int link;
		k = fs_opath_lookup(a.fd, a.real, &link);
		if (k > 0) {
			safe_close(link);
			return -EBADF; /* an O_PATH symlink stand-in: no f*xattr on O_PATH */
		}
	} else {
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
	/* XATTR_CREATE and removal fail when repeated: a restart must get the first answer. */
	x.pin = a.fd;
	return fs_change(r, a.path, name, xattr_op, &x);
}

static const struct fs_row xattr_rows[] = {
    {SYS_setxattr, xattr_handler},	  {SYS_lsetxattr, xattr_handler},
    {SYS_fsetxattr, xattr_handler},	  {NR_setxattrat, xattr_handler},
    {SYS_removexattr, xattr_handler},	  {SYS_lremovexattr, xattr_handler},
    {SYS_fremovexattr, xattr_handler},	  {NR_removexattrat, xattr_handler},
};

const struct fs_family fs_xattr_family = {"xattr", xattr_rows, ELEMENTSOF(xattr_rows),
					  sandbox_wants_fs};
