/* Reading extended attributes by path (getxattr, lgetxattr, listxattr, llistxattr): the
 * supervisor resolves the path, decides on the object reached, reads the pinned object's
 * attributes itself and writes them into the program's buffer. */
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
#include "macros.h"
#include "sandbox.h"

static int fs_getxattr_handler(sb_req *r, void *userdata)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	int nr = sb_req_nr(r);
	bool list = nr == SYS_listxattr || nr == SYS_llistxattr;
	bool follow = nr == SYS_getxattr || nr == SYS_listxattr;
	uint64_t path = sb_req_arg(r, 0);
	uint64_t value = sb_req_arg(r, list ? 1 : 2);
	size_t size = (size_t)sb_req_arg(r, list ? 2 : 3);
	if (sb->fs_trivial && sb->audit_fd < 0) {
		/* Nothing to decide, nothing to record. */
		sb_req_note_get(r)->action = "allow";
		return sb_req_reply_continue_unchecked(r);
	}

	/* The name first, as the kernel (import_xattr_name): empty or too long is ERANGE. */
	char name[XATTR_NAME_MAX + 1];
	if (!list) {
		int n = sb_req_read_string(r, sb_req_arg(r, 1), name, sizeof(name));
		if (n == -ENAMETOOLONG || n == 0)
			return -ERANGE;
		if (n < 0)
			return n;
	}
	/* Bigger buffers are cut to the most an attribute or a list can be, as the kernel does. */
	if (size > (list ? XATTR_LIST_MAX : XATTR_SIZE_MAX))
		size = list ? XATTR_LIST_MAX : XATTR_SIZE_MAX;
	_cleanup_free_ char *buf = size ? malloc(size) : NULL;
	if (size && !buf)
		return -ENOMEM;

	struct fs_arg a;
	int k = fs_arg_pin(r, NULL, AT_FDCWD_ARG, path, follow, false, &a);
	if (k == 0)
		k = -fs_decide(r, sb, a.real, FS_WANT_READ);
	if (k == 0) {
		/* No f*xattr works on an O_PATH pin: its magic link does, and lands on the
		 * pinned object itself, a symlink included. */
		char magic[16];
		k = fs_magic_enter(r, a.fd, magic, sizeof(magic));
		if (k == 0) {
			ssize_t n =
			    list ? listxattr(magic, buf, size) : getxattr(magic, name, buf, size);
			k = n < 0 ? negative_errno() : (int)n;
			fs_magic_leave(r);
		}
	}
	fs_arg_end(&a);
	if (k < 0)
		return k;
	if (size && k > 0) {
		int v = sb_req_valid(r);
		if (v < 0)
			return v;
		v = sb_req_write(r, value, buf, (size_t)k);
		if (v < 0)
			return v;
	}
	return sb_req_reply_value(r, k);
}

static const struct fs_row getxattr_rows[] = {
    {SYS_getxattr, fs_getxattr_handler},
    {SYS_lgetxattr, fs_getxattr_handler},
    {SYS_listxattr, fs_getxattr_handler},
    {SYS_llistxattr, fs_getxattr_handler},
};

const struct fs_family fs_getxattr_family = {"getxattr", getxattr_rows, ELEMENTSOF(getxattr_rows),
					     sandbox_wants_fs};
