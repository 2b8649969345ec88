/* The access family (access, faccessat, faccessat2): the supervisor resolves the path, decides
 * on the object reached and asks the kernel about the pinned object with the identity the
 * call uses, the program's real ids unless AT_EACCESS. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine.h"
#include "fs.h"
#include "fs_common.h"
#include "fs_opath.h"
#include "macros.h"
#include "sandbox.h"
#include "strutil.h"

#ifndef AT_EACCESS
#define AT_EACCESS 0x200
#endif

static void format_mode(int mode, char *buf, size_t size)
{
	if (!mode) {
		strlcpy_sb(buf, "F_OK", size);
		return;
	}
	snprintf(buf, size, "%s%s%s%s%s", mode & R_OK ? "R_OK" : "",
		 (mode & R_OK) && (mode & (W_OK | X_OK)) ? "|" : "", mode & W_OK ? "W_OK" : "",
		 (mode & W_OK) && (mode & X_OK) ? "|" : "", mode & X_OK ? "X_OK" : "");
}

/*
 * Without AT_EACCESS the kernel runs the whole call, walk included, with the real ids
 * (access_override_creds): fsuid = uid, fsgid = gid, and no effective caps, or for root the
 * permitted ones (SECURE_NO_SETUID_FIXUP is taken as unset).
 */
static int real_ids(sb_req *r, sb_creds *c)
{
	uint64_t cap_prm = 0;
	if (c->ruid == 0) {
		int k = req_cap_permitted(r, &cap_prm);
		if (k < 0)
			return k;
	}
	c->fsuid = c->ruid;
	c->fsgid = c->rgid;
	c->cap_eff = c->ruid == 0 ? cap_prm : 0;
	return 0;
}

static int fs_access_handler(sb_req *r, void *userdata)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	int nr = sb_req_nr(r);
	int dirfd = AT_FDCWD_ARG, mode, flags = 0;
	uint64_t path;
	if (nr == SYS_access) {
		path = sb_req_arg(r, 0);
		mode = (int)sb_req_arg(r, 1);
	} else {
		dirfd = (int)sb_req_arg(r, 0);
		path = sb_req_arg(r, 1);
		mode = (int)sb_req_arg(r, 2);
		if (nr == SYS_faccessat2)
			flags = (int)sb_req_arg(r, 3);
	}
	/* As do_faccessat, before the path is read. */
	if (mode & ~S_IRWXO)
		return -EINVAL;
	if (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	if (sb->fs_trivial && sb->audit_fd < 0) {
		/* Nothing to decide, nothing to record; mode and flags are registers. */
		sb_req_note_get(r)->action = "allow";
		return sb_req_reply_continue_unchecked(r);
	}
	sb_req_note *note = sb_req_note_get(r);
	format_mode(mode, note->flags, sizeof(note->flags));

	struct fs_arg a;
	int k = fs_arg_pin_as(r, dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW), flags & AT_EMPTY_PATH,
			      flags & AT_EACCESS ? NULL : real_ids, &a);
	if (k == 0)
		k = fs_opath_arg(r, &a);
	/* Asking for write is a write as far as the policy goes: allow-read answers EACCES,
	 * as the write itself would. */
	if (k == 0)
		k = -fs_decide(r, sb, a.real, mode & W_OK ? FS_WANT_WRITE : FS_WANT_READ);
	if (k == 0) {
		/* On the pinned object (O_PATH is fine with AT_EMPTY_PATH): its mount decides
		 * EROFS and noexec, its inode the rest. */
		if (syscall(SYS_faccessat2, a.fd, "", mode, AT_EMPTY_PATH | AT_EACCESS) < 0)
			k = negative_errno();
	}
	fs_arg_end(&a);
	if (k < 0)
		return k;
	return sb_req_reply_value(r, 0);
}

static const struct fs_row access_rows[] = {
    {SYS_access, fs_access_handler},
    {SYS_faccessat, fs_access_handler},
    {SYS_faccessat2, fs_access_handler},
};

const struct fs_family fs_access_family = {"access", access_rows, ELEMENTSOF(access_rows),
					   sandbox_wants_fs};
