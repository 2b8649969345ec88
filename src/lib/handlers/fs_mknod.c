/* The mknod family (mknod, mknodat) for regular files, FIFOs and sockets: the parent is
 * pinned, the policy judges parent + name, and the supervisor makes the node there with the
 * target's identity and umask. Device nodes are refused here (allow-mknod lifts that). */
#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "fs.h"
#include "fs_write.h"
#include "macros.h"

struct mknod_call {
	int dirfd;
	const char *name;
	mode_t mode;
	unsigned dev;
};

static int mknod_op(void *arg)
{
	const struct mknod_call *m = arg;
	return mknodat(m->dirfd, m->name, m->mode, m->dev) < 0 ? negative_errno() : 0;
}

static int mknod_handler(sb_req *r, void *userdata)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	bool at = sb_req_nr(r) == SYS_mknodat;
	int dirfd = at ? (int)sb_req_arg(r, 0) : AT_FDCWD_ARG;
	uint64_t addr = sb_req_arg(r, at ? 1 : 0);
	mode_t mode = (uint16_t)sb_req_arg(r, at ? 2 : 1);  /* umode_t */
	unsigned dev = (unsigned)sb_req_arg(r, at ? 3 : 2); /* the kernel's 32-bit encoding */

	/* The type is a register value: judged before any memory is read, in the kernel's
	 * order (may_mknod comes before the lookup). */
	switch (mode & S_IFMT) {
	case 0:
	case S_IFREG:
	case S_IFIFO:
	case S_IFSOCK:
		break;
	case S_IFCHR:
		if (dev == 0)
			break; /* an overlayfs whiteout needs no privilege (vfs_mknod, 5.8) */
			       /* fall through */
	case S_IFBLK:
		/*
		 * What a caller without CAP_MKNOD gets, whatever the program's own caps: a
		 * device node in an allowed directory would reach a disk or memory around
		 * every path rule. Making devices is for allow-mknod rules (lift_mknod.c).
		 */
		sandbox_note_rule(r, "deny", NULL);
		return -EPERM;
	case S_IFDIR:
		return -EPERM;
	default:
		return -EINVAL;
	}

	_cleanup_(fs_arg_endp) struct fs_arg a = {.fd = -1, .startfd = -1};
	int k = fs_arg_parent_change(r, sb, dirfd, addr, &a);
	if (k < 0)
		return k;
	struct mknod_call m = {a.fd, a.name, mode, dev};
	return fs_change(r, a.path, NULL, mknod_op, &m);
}

static const struct fs_row mknod_rows[] = {
    {SYS_mknod, mknod_handler},
    {SYS_mknodat, mknod_handler},
};

const struct fs_family fs_mknod_family = {"mknod", mknod_rows, ELEMENTSOF(mknod_rows),
					  sandbox_wants_fs};
