/* The mkdir family (mkdir, mkdirat): the parent is resolved in the target's view and pinned,
 * the policy judges parent + name, and the supervisor makes the directory in the pinned parent
 * with the target's identity and umask. */
#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "fs.h"
#include "fs_write.h"
#include "macros.h"

struct mkdir_call {
	int dirfd;
	const char *name;
	mode_t mode;
};

static int mkdir_op(void *arg)
{
	const struct mkdir_call *m = arg;
	/* The kernel applies this thread's umask (the target's) or the parent's default ACL. */
	return mkdirat(m->dirfd, m->name, m->mode) < 0 ? negative_errno() : 0;
}

static int mkdir_handler(sb_req *r, void *userdata)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	bool at = sb_req_nr(r) == SYS_mkdirat;
	int dirfd = at ? (int)sb_req_arg(r, 0) : AT_FDCWD_ARG;
	uint64_t addr = sb_req_arg(r, at ? 1 : 0);
	mode_t mode = (uint16_t)sb_req_arg(r, at ? 2 : 1); /* umode_t */

	_cleanup_(fs_arg_endp) struct fs_arg a = {.fd = -1, .startfd = -1};
	int k = fs_arg_parent_change(r, sb, dirfd, addr, &a);
	if (k < 0)
		return k;
	struct mkdir_call m = {a.fd, a.name, mode};
	return fs_change(r, a.path, NULL, mkdir_op, &m);
}

static const struct fs_row mkdir_rows[] = {
    {SYS_mkdir, mkdir_handler},
    {SYS_mkdirat, mkdir_handler},
};

const struct fs_family fs_mkdir_family = {"mkdir", mkdir_rows, ELEMENTSOF(mkdir_rows),
					  sandbox_wants_fs};
