/* The symlink family (symlink, symlinkat): the link's parent is pinned and the policy judges
 * where the link is made; its target is only text, judged whenever something follows it. */
#include <errno.h>
#include <limits.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fs.h"
#include "fs_write.h"
#include "macros.h"
#include "strutil.h"

struct symlink_call {
	const char *target;
	int dirfd;
	const char *name;
};

static int symlink_op(void *arg)
{
	const struct symlink_call *s = arg;
	return symlinkat(s->target, s->dirfd, s->name) < 0 ? negative_errno() : 0;
}

static int symlink_handler(sb_req *r, void *userdata)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	bool at = sb_req_nr(r) == SYS_symlinkat;
	uint64_t target_addr = sb_req_arg(r, 0);
	int dirfd = at ? (int)sb_req_arg(r, 1) : AT_FDCWD_ARG;
	uint64_t addr = sb_req_arg(r, at ? 2 : 1);

	/* Our copy: the link gets the text we read, whatever the buffer holds later. */
	char target[PATH_MAX];
	int k = sb_req_read_string(r, target_addr, target, sizeof(target));
	if (k < 0)
		return k;
	if (!target[0])
		return -ENOENT; /* as the kernel's getname() of "" */
	/* The audit shows what the link will hold, as given: text, not a path judged. */
	strlcpy_sb(sb_req_note_get(r)->path2, target, sizeof(sb_req_note_get(r)->path2));

	_cleanup_(fs_arg_endp) struct fs_arg a = {.fd = -1, .startfd = -1};
	k = fs_arg_parent_change(r, sb, dirfd, addr, &a);
	if (k < 0)
		return k;
	struct symlink_call s = {target, a.fd, a.name};
	return fs_change(r, target, a.path, symlink_op, &s);
}

static const struct fs_row symlink_rows[] = {
    {SYS_symlink, symlink_handler},
    {SYS_symlinkat, symlink_handler},
};

const struct fs_family fs_symlink_family = {"symlink", symlink_rows, ELEMENTSOF(symlink_rows),
					    sandbox_wants_fs};
