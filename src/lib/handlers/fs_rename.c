/* The rename family (rename, renameat, renameat2): both parents are pinned, the policy judges
 * the source and the destination as writes, a directory moves only where nothing below it
 * changes its decision, and the supervisor renames between the pinned parents. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fs.h"
#include "fs_write.h"
#include "macros.h"

static void note_rename_flags(sb_req *r, unsigned flags)
{
	sb_req_note *n = sb_req_note_get(r);
	snprintf(n->flags, sizeof(n->flags), "%s%s%s%s%s",
		 flags & RENAME_NOREPLACE ? "RENAME_NOREPLACE" : "",
		 (flags & RENAME_NOREPLACE) && (flags & ~RENAME_NOREPLACE) ? "|" : "",
		 flags & RENAME_EXCHANGE ? "RENAME_EXCHANGE" : "",
		 (flags & RENAME_EXCHANGE) && (flags & RENAME_WHITEOUT) ? "|" : "",
		 flags & RENAME_WHITEOUT ? "RENAME_WHITEOUT" : "");
}

static bool is_dir_at(int dirfd, const char *name)
{
	struct stat st;
	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

struct rename_call {
	int olddirfd, newdirfd;
	const char *oldname, *newname;
	unsigned flags;
};

static int rename_op(void *arg)
{
	const struct rename_call *c = arg;
	/* RENAME_WHITEOUT needs CAP_MKNOD: the kernel judges it with the target's caps. */
	return syscall(SYS_renameat2, c->olddirfd, c->oldname, c->newdirfd, c->newname, c->flags) <
		       0
		   ? negative_errno()
		   : 0;
}

static int rename_handler(sb_req *r, void *userdata)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	int nr = sb_req_nr(r);
	bool at = nr != SYS_rename;
	int olddirfd = at ? (int)sb_req_arg(r, 0) : AT_FDCWD_ARG;
	uint64_t oldaddr = sb_req_arg(r, at ? 1 : 0);
	int newdirfd = at ? (int)sb_req_arg(r, 2) : AT_FDCWD_ARG;
	uint64_t newaddr = sb_req_arg(r, at ? 3 : 1);
	unsigned flags = nr == SYS_renameat2 ? (unsigned)sb_req_arg(r, 4) : 0;

	/* The kernel's own checks on the flags, before any memory is read. */
	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT))
		return -EINVAL;
	if ((flags & RENAME_EXCHANGE) && (flags & (RENAME_NOREPLACE | RENAME_WHITEOUT)))
		return -EINVAL;
	note_rename_flags(r, flags);

	int foreign = fs_userns_foreign(r);
	if (foreign < 0)
		return foreign;
	_cleanup_(fs_arg_endp) struct fs_arg a = {.fd = -1, .startfd = -1};
	_cleanup_(fs_arg_endp) struct fs_arg b = {.fd = -1, .startfd = -1};
	int k = fs_arg_parent(r, NULL, olddirfd, oldaddr, &a);
	if (k < 0)
		return k;
	k = fs_arg_parent(r, &a, newdirfd, newaddr, &b);
	fs_note_path2(r, &b, true);
	if (k < 0)
		return k;
	k = fs_caps_for_change(&a, foreign);
	if (k < 0)
		return k;
	/* SPEC 2.1: a rename writes to both the source and the destination. */
	k = fs_decide_name(r, sb, &a);
	if (k < 0)
		return k;
	k = fs_decide_name(r, sb, &b);
	if (k < 0)
		return k;
	/*
	 * A directory takes everything below it along, and only its top was judged: with "deny
	 * /w/x/secret", moving /w/x to /w/y would make the secret /w/y/secret. Refused with
	 * EXDEV, as Landlock refuses a reparenting that changes access rights: mv and friends
	 * then copy object by object, each copy judged on its own. A file that becomes a
	 * directory between this look and the rename can only have got there by a rename this
	 * same check passed, so what lies below it already keeps its decisions.
	 */
	if (is_dir_at(a.fd, a.name) || ((flags & RENAME_EXCHANGE) && is_dir_at(b.fd, b.name))) {
		char pa[PATH_MAX], pb[PATH_MAX];
		k = fs_name_path(&a, pa, sizeof(pa));
		if (k < 0)
			return k;
		k = fs_name_path(&b, pb, sizeof(pb));
		if (k < 0)
			return k;
		if (!policy_fs_same_below(sb->policy, pa, pb)) {
			sandbox_note_rule(r, "deny", NULL);
			return -EXDEV;
		}
	}
	struct rename_call c = {a.fd, b.fd, a.name, b.name, flags};
	return fs_change(r, a.path, b.path, rename_op, &c);
}

static const struct fs_row rename_rows[] = {
    {SYS_rename, rename_handler},
    {SYS_renameat, rename_handler},
    {SYS_renameat2, rename_handler},
};

const struct fs_family fs_rename_family = {"rename", rename_rows, ELEMENTSOF(rename_rows),
					   sandbox_wants_fs};
