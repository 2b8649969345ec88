/* Calls that would walk around path rules (file handles, chroot, pivot_root, fanotify marks)
 * are refused with EPERM, what an unprivileged caller gets, whenever the policy has a
 * filesystem rule; decided from the syscall number and registers, before any memory is read. */
#include <errno.h>
#include <sys/fanotify.h>
#include <sys/syscall.h>

#include "fs.h"
#include "macros.h"
#include "sandbox.h"

static bool has_fs_rules(const struct sb_sandbox *sb)
{
	return !sb->fs_trivial;
}

/*
 * fanotify_mark only tidies up when it flushes, or removes a mark from the dirfd's own object;
 * everything else adds a mark, and a mark reports other objects: events on a marked
 * directory's children (or a whole mount) carry an fd of the child or its name, so a denied
 * file would be opened, and a hidden name told, by the kernel on the program's behalf.
 */
static bool fanotify_harmless(sb_req *r)
{
	unsigned flags = (unsigned)sb_req_arg(r, 1);
	return (flags & FAN_MARK_FLUSH) || ((flags & FAN_MARK_REMOVE) && sb_req_arg(r, 4) == 0);
}

static int refuse_handler(sb_req *r, void *userdata)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	/*
	 * Installed everywhere in agent mode: with no fs rule there is nothing to protect, and
	 * the number alone decided, so the kernel runs the call as it would without us.
	 */
	if (!sb->fs_trivial && (sb_req_nr(r) != SYS_fanotify_mark || !fanotify_harmless(r))) {
		/*
		 * open_by_handle_at reaches any inode of a filesystem without a path,
		 * name_to_handle_at tells whether a hidden name exists, and chroot or
		 * pivot_root would make "/" mean what the policy never saw.
		 */
		sandbox_note_rule(r, "deny", NULL);
		return -EPERM;
	}
	sb_req_note_get(r)->action = "allow";
	return sb_req_reply_continue_unchecked(r);
}

static const struct fs_row refuse_rows[] = {
    {SYS_name_to_handle_at, refuse_handler},
    {SYS_open_by_handle_at, refuse_handler},
    {SYS_chroot, refuse_handler},
    {SYS_pivot_root, refuse_handler},
    {SYS_fanotify_mark, refuse_handler},
};

const struct fs_family fs_refuse_family = {"refuse", refuse_rows, ELEMENTSOF(refuse_rows),
					   has_fs_rules};
