/* Reading extended attributes by path (getxattr, lgetxattr, listxattr, llistxattr, and the
 * dirfd forms getxattrat, listxattrat): the supervisor resolves the path, decides on the
 * object reached, reads the pinned object's attributes itself and writes them into the
 * program's buffer. */
#include <errno.h>
#include <fcntl.h>
#include <linux/limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fs.h"
#include "fs_common.h"
#include "fs_opath.h"
#include "macros.h"
#include "sandbox.h"

/* Linux 6.13; Debian 12's headers lack them (libseccomp takes the numbers). */
#define NR_getxattrat 464
#define NR_listxattrat 465

struct xattr_call {
	bool list, follow, empty;
	int dirfd;
	uint64_t path, name, value;
	size_t size;
};

/* struct xattr_args of getxattrat: flags must be 0 (getxattrat takes no flags there). */
static int read_xattr_args(sb_req *r, struct xattr_call *x)
{
	uint64_t value;
	uint32_t size, flags;
	int k = fs_read_xattr_args(r, &value, &size, &flags);
	if (k < 0)
		return k;
	if (flags)
		return -EINVAL;
	x->value = value;
	x->size = size;
	return 0;
}

/* The arguments in the kernel's order of checks; registers, then the struct. */
static int decode(sb_req *r, struct xattr_call *x)
{
	int nr = sb_req_nr(r);
	x->dirfd = AT_FDCWD_ARG;
	x->empty = false;
	x->list = nr == SYS_listxattr || nr == SYS_llistxattr || nr == NR_listxattrat;
	if (nr == NR_getxattrat || nr == NR_listxattrat) {
		unsigned at = (unsigned)sb_req_arg(r, 2);
		x->dirfd = (int)sb_req_arg(r, 0);
		x->path = sb_req_arg(r, 1);
		x->follow = !(at & AT_SYMLINK_NOFOLLOW);
		x->empty = at & AT_EMPTY_PATH;
		if (nr == NR_listxattrat) {
			x->value = sb_req_arg(r, 3);
			x->size = (size_t)sb_req_arg(r, 4);
		} else {
			x->name = sb_req_arg(r, 3);
			int k = read_xattr_args(r, x);
			if (k < 0)
				return k;
		}
		return at & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) ? -EINVAL : 0;
	}
	x->follow = nr == SYS_getxattr || nr == SYS_listxattr;
	x->path = sb_req_arg(r, 0);
	x->name = sb_req_arg(r, 1);
	x->value = sb_req_arg(r, x->list ? 1 : 2);
	x->size = (size_t)sb_req_arg(r, x->list ? 2 : 3);
	return 0;
}

static int fs_getxattr_handler(sb_req *r, void *userdata)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	if (sb->fs_trivial && sb->audit_fd < 0) {
		/* Nothing to decide, nothing to record: decided before any memory is read. */
		sb_req_note_get(r)->action = "allow";
		return sb_req_reply_continue_unchecked(r);
	}
	struct xattr_call x;
	int k = decode(r, &x);
	if (k < 0)
		return k;

	/* The name first, as the kernel (import_xattr_name): empty or too long is ERANGE. */
	char name[XATTR_NAME_MAX + 1];
	if (!x.list) {
		int n = sb_req_read_string(r, x.name, name, sizeof(name));
		if (n == -ENAMETOOLONG || n == 0)
			return -ERANGE;
		if (n < 0)
			return n;
	}
	/* Bigger buffers are cut to the most an attribute or a list can be, as the kernel does. */
	if (x.size > (x.list ? XATTR_LIST_MAX : XATTR_SIZE_MAX))
		x.size = x.list ? XATTR_LIST_MAX : XATTR_SIZE_MAX;
	_cleanup_free_ char *buf = x.size ? malloc(x.size) : NULL;
	if (x.size && !buf)
		return -ENOMEM;

	struct fs_arg a;
	/* The *at forms take a NULL path with AT_EMPTY_PATH as the dirfd (getname_maybe_null). */
	if (x.path == 0 && x.empty)
		k = fs_arg_pin_empty(r, x.dirfd, &a);
	else
		k = fs_arg_pin(r, NULL, x.dirfd, x.path, x.follow, x.empty, &a);
	if (k == 0)
		k = fs_opath_arg(r, &a);
	if (k == 0)
		k = -fs_decide(r, sb, a.real, FS_WANT_READ);
	if (k == 0) {
		/* No f*xattr works on an O_PATH pin: its magic link does, and lands on the
		 * pinned object itself, a symlink included. */
		char magic[16];
		k = fs_magic_enter(r, a.fd, magic, sizeof(magic));
		if (k == 0) {
			ssize_t n = x.list ? listxattr(magic, buf, x.size)
					   : getxattr(magic, name, buf, x.size);
			k = n < 0 ? negative_errno() : (int)n;
			fs_magic_leave(r);
		}
	}
	fs_arg_end(&a);
	if (k < 0)
		return k;
	if (x.size && k > 0) {
		int v = sb_req_valid(r);
		if (v < 0)
			return v;
		v = sb_req_write(r, x.value, buf, (size_t)k);
		if (v < 0)
			return v;
	}
	return sb_req_reply_value(r, k);
}

static const struct fs_row getxattr_rows[] = {
    {SYS_getxattr, fs_getxattr_handler},  {SYS_lgetxattr, fs_getxattr_handler},
    {SYS_listxattr, fs_getxattr_handler}, {SYS_llistxattr, fs_getxattr_handler},
    {NR_getxattrat, fs_getxattr_handler}, {NR_listxattrat, fs_getxattr_handler},
};

const struct fs_family fs_getxattr_family = {"getxattr", getxattr_rows, ELEMENTSOF(getxattr_rows),
					     sandbox_wants_fs};
