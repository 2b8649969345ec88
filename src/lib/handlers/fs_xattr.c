/* The extended-attribute writers (setxattr, lsetxattr, removexattr, lremovexattr): the object is
 * pinned as the call would reach it, judged as a write, and changed by the supervisor through
 * its magic link with the target's identity; name and value are our copies. */
#include <errno.h>
#include <linux/limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/xattr.h>

#include "fs.h"
#include "fs_write.h"
#include "fs_opath.h"
#include "macros.h"

static void fs_arg_endp(struct fs_arg *a)
{
	fs_arg_end(a);
}

struct xattr_call {
	sb_req *r;
	int pin;
	bool set;
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
	return fs_at_pin(x->r, x->pin, xattr_magic, x);
}

static int xattr_handler(sb_req *r, void *userdata)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	int nr = sb_req_nr(r);
	struct xattr_call x = {.r = r, .set = nr == SYS_setxattr || nr == SYS_lsetxattr};
	bool follow = nr == SYS_setxattr || nr == SYS_removexattr;
	if (x.set) {
		x.size = (size_t)sb_req_arg(r, 3);
		x.flags = (int)sb_req_arg(r, 4);
		/* The kernel's order (setxattr_copy): flags, name, size, value, then the path. */
		if (x.flags & ~(XATTR_CREATE | XATTR_REPLACE))
			return -EINVAL;
	}
	char name[XATTR_NAME_MAX + 1];
	int k = sb_req_read_string(r, sb_req_arg(r, 1), name, sizeof(name));
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
		k = sb_req_read(r, sb_req_arg(r, 2), value, x.size);
		if (k < 0)
			return k;
		x.value = value;
	}

	int foreign = fs_userns_foreign(r);
	if (foreign < 0)
		return foreign;
	_cleanup_(fs_arg_endp) struct fs_arg a = {.fd = -1, .startfd = -1};
	k = fs_arg_pin(r, NULL, AT_FDCWD_ARG, sb_req_arg(r, 0), follow, false, &a);
	if (k == 0)
		k = fs_opath_arg(r, &a);
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
    {SYS_setxattr, xattr_handler},
    {SYS_lsetxattr, xattr_handler},
    {SYS_removexattr, xattr_handler},
    {SYS_lremovexattr, xattr_handler},
};

const struct fs_family fs_xattr_family = {"xattr", xattr_rows, ELEMENTSOF(xattr_rows),
					  sandbox_wants_fs};
