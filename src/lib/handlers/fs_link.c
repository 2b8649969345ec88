/* The link family (link, linkat with AT_SYMLINK_FOLLOW and AT_EMPTY_PATH): the source object
 * is pinned as the call would reach it and the destination's parent is pinned; both are
 * judged as writes, and the supervisor links the pinned object itself into the pinned parent. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fs.h"
#include "fs_write.h"
#include "fs_opath.h"
#include "macros.h"

struct link_call {
	sb_req *r;
	int pin;
	int dirfd;
	const char *name;
};

/* name is our /proc/thread-self/fd entry of the pin: following it (AT_SYMLINK_FOLLOW)
 * jumps to exactly the pinned inode, a symlink itself included, as flink via /proc does. */
static int link_magic(const char *name, void *arg)
{
	const struct link_call *t = arg;
	return linkat(AT_FDCWD, name, t->dirfd, t->name, AT_SYMLINK_FOLLOW) < 0 ? negative_errno()
										: 0;
}

static int link_op(void *arg)
{
	struct link_call *t = arg;
	return fs_at_pin(t->r, t->pin, link_magic, t);
}

static int link_handler(sb_req *r, void *userdata)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	bool at = sb_req_nr(r) == SYS_linkat;
	int olddirfd = at ? (int)sb_req_arg(r, 0) : AT_FDCWD_ARG;
	uint64_t oldaddr = sb_req_arg(r, at ? 1 : 0);
	int newdirfd = at ? (int)sb_req_arg(r, 2) : AT_FDCWD_ARG;
	uint64_t newaddr = sb_req_arg(r, at ? 3 : 1);
	unsigned flags = at ? (unsigned)sb_req_arg(r, 4) : 0;
	if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	if (at)
		fs_note_at_flags(r, flags);

	/* The source is what the call would link: a last symlink only with AT_SYMLINK_FOLLOW. */
	int foreign = fs_userns_foreign(r);
	if (foreign < 0)
		return foreign;
	_cleanup_(fs_arg_endp) struct fs_arg a = {.fd = -1, .startfd = -1};
	_cleanup_(fs_arg_endp) struct fs_arg b = {.fd = -1, .startfd = -1};
	int k = fs_arg_pin(r, NULL, olddirfd, oldaddr, flags & AT_SYMLINK_FOLLOW,
			   flags & AT_EMPTY_PATH, &a);
	if (k == 0)
		k = fs_opath_arg(r, &a);
	if (k < 0)
		return k;
	/*
	 * linkat(fd, "", ..., AT_EMPTY_PATH) (flink) needs CAP_DAC_READ_SEARCH: a file passed
	 * in as an fd must not get a name from whoever merely holds it. The link below goes
	 * through /proc, which asks for nothing, so the rule is the program's to meet here.
	 */
	if (!a.path[0] && (foreign || !(a.c.creds.cap_eff & (UINT64_C(1) << CAP_DAC_READ_SEARCH))))
		return -ENOENT;
	k = fs_arg_parent(r, &a, newdirfd, newaddr, &b);
	fs_note_path2(r, &b, true);
	if (k < 0)
		return k;
	k = fs_caps_for_change(&a, foreign);
	if (k < 0)
		return k;
	/*
	 * SPEC 2.1: linking writes to the source as well. Otherwise a hard link made in an
	 * allowed place would be a second, allowed path to a denied or read-only object: the
	 * policy judges objects by their path.
	 */
	k = fs_decide(r, sb, a.real, FS_WANT_WRITE);
	if (k)
		return -k;
	k = fs_decide_name(r, sb, &b);
	if (k < 0)
		return k;
	struct link_call t = {r, a.fd, b.fd, b.name};
	return fs_change(r, a.path, b.path, link_op, &t);
}

static const struct fs_row link_rows[] = {
    {SYS_link, link_handler},
    {SYS_linkat, link_handler},
};

const struct fs_family fs_link_family = {"link", link_rows, ELEMENTSOF(link_rows),
					 sandbox_wants_fs};
