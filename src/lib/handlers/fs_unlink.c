/* The unlink family (unlink, unlinkat with or without AT_REMOVEDIR, rmdir): the parent is
 * pinned, the policy judges parent + name, and the supervisor removes the name from the pinned
 * parent with the target's identity (so sticky directories and permissions hold as for it). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fs.h"
#include "fs_write.h"
#include "macros.h"

struct unlink_call {
	int dirfd;
	const char *name;
	int flags;
};

static int unlink_op(void *arg)
{
	const struct unlink_call *u = arg;
	return unlinkat(u->dirfd, u->name, u->flags) < 0 ? negative_errno() : 0;
}

static int unlink_handler(sb_req *r, void *userdata)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	int nr = sb_req_nr(r);
	int dirfd = nr == SYS_unlinkat ? (int)sb_req_arg(r, 0) : AT_FDCWD_ARG;
	uint64_t addr = sb_req_arg(r, nr == SYS_unlinkat ? 1 : 0);
	unsigned flags = nr == SYS_unlinkat ? (unsigned)sb_req_arg(r, 2)
			 : nr == SYS_rmdir  ? AT_REMOVEDIR
					    : 0;
	if (flags & ~AT_REMOVEDIR)
		return -EINVAL;
	if (nr == SYS_unlinkat)
		fs_note_at_flags(r, flags);

	_cleanup_(fs_arg_endp) struct fs_arg a = {.fd = -1, .startfd = -1};
	int k = fs_arg_parent_change(r, sb, dirfd, addr, &a);
	if (k < 0)
		return k;
	if ((flags & AT_REMOVEDIR) && !strcmp(a.real, "/"))
		return -EBUSY; /* rmdir("/"): the root, which the name "." would answer EINVAL */
	struct unlink_call u = {a.fd, a.name, (int)flags};
	return fs_change(r, a.path, NULL, unlink_op, &u);
}

static const struct fs_row unlink_rows[] = {
    {SYS_unlink, unlink_handler},
    {SYS_unlinkat, unlink_handler},
    {SYS_rmdir, unlink_handler},
};

const struct fs_family fs_unlink_family = {"unlink", unlink_rows, ELEMENTSOF(unlink_rows),
					   sandbox_wants_fs};
