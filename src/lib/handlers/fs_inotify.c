/* inotify_add_watch: the supervisor resolves the path, decides on the object reached and adds
 * the watch itself, on the program's own inotify instance (taken with pidfd_getfd, the same
 * open file) and on the pinned object: the watch descriptor it gets is the call's result. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fs.h"
#include "fs_common.h"
#include "fs_opath.h"
#include "macros.h"
#include "sandbox.h"

#ifndef IN_MASK_CREATE
#define IN_MASK_CREATE 0x10000000
#endif

/* Every bit inotify_add_watch knows (ALL_INOTIFY_BITS of the kernel). */
#define INOTIFY_BITS                                                                             \
	(IN_ALL_EVENTS | IN_UNMOUNT | IN_Q_OVERFLOW | IN_IGNORED | IN_ONLYDIR | IN_DONT_FOLLOW | \
	 IN_EXCL_UNLINK | IN_MASK_CREATE | IN_MASK_ADD | IN_ISDIR | IN_ONESHOT)

static int fs_inotify_handler(sb_req *r, void *userdata)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	int ifd = (int)sb_req_arg(r, 0);
	uint64_t path = sb_req_arg(r, 1);
	uint32_t mask = (uint32_t)sb_req_arg(r, 2);
	/* As the kernel, before the fd and the path: contradictions, or no bit it knows. */
	if ((mask & IN_MASK_ADD) && (mask & IN_MASK_CREATE))
		return -EINVAL;
	if (!(mask & INOTIFY_BITS))
		return -EINVAL;
	if (sb->fs_trivial && sb->audit_fd < 0) {
		/* Nothing to decide, nothing to record. */
		sb_req_note_get(r)->action = "allow";
		return sb_req_reply_continue_unchecked(r);
	}
	/* The program's instance: the same open file, so the watch is the program's. */
	_cleanup_close_ int inst = sb_req_getfd(r, ifd);
	if (inst < 0)
		return inst;
	char what[64];
	if (resolve_fd_path(inst, what, sizeof(what)) < 0 || strcmp(what, "anon_inode:inotify"))
		return -EINVAL; /* not an inotify instance: refused before the path */

	struct fs_arg a;
	int k = fs_arg_pin(r, NULL, AT_FDCWD_ARG, path, !(mask & IN_DONT_FOLLOW), false, &a);
	if (k == 0)
		k = fs_opath_arg(r, &a);
	if (k == 0)
		k = -fs_decide(r, sb, a.real, FS_WANT_READ);
	if (k == 0 && (mask & IN_ONLYDIR)) {
		struct stat st;
		if (fstat(a.fd, &st) < 0)
			k = negative_errno();
		else if (!S_ISDIR(st.st_mode))
			k = -ENOTDIR;
	}
	if (k == 0) {
		/*
		 * Through the pin's magic link, which lands on the pinned object itself (a
		 * symlink too, for IN_DONT_FOLLOW): the flag is ours to drop, or it would watch
		 * the link in /proc. Read permission on the object is checked with the
		 * program's identity, as the call would.
		 */
		char magic[16];
		k = fs_magic_enter(r, a.fd, magic, sizeof(magic));
		if (k == 0) {
			int wd = inotify_add_watch(inst, magic, mask & ~IN_DONT_FOLLOW);
			k = wd < 0 ? negative_errno() : wd;
			fs_magic_leave(r);
		}
	}
	fs_arg_end(&a);
	if (k < 0)
		return k;
	return sb_req_reply_value(r, k);
}

static const struct fs_row inotify_rows[] = {
    {SYS_inotify_add_watch, fs_inotify_handler},
};

const struct fs_family fs_inotify_family = {"inotify", inotify_rows, ELEMENTSOF(inotify_rows),
					    sandbox_wants_fs};
