/* The readlink family (readlink, readlinkat): the supervisor resolves the path without
 * following its last component, decides on the link reached, reads the pinned link itself
 * and writes the text into the program's buffer. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fs.h"
#include "fs_common.h"
#include "fs_opath.h"
#include "macros.h"
#include "sandbox.h"
#include "strutil.h"

/*
 * The magic link of an fd that is an O_PATH symlink stand-in (/proc/self/fd/N) reads as the
 * kernel's would: the symlink's path. Found by following the same path (the magic link jumps
 * to the stand-in); another stand-in swapped in meanwhile is the program's own as well.
 * Returns the length of text.
 */
static int standin_text(sb_req *r, struct fs_arg *a, char *text, size_t size)
{
	if (!fs_opath_maybe(text) || !a->path[0])
		return (int)strlen(text);
	_cleanup_close_ int obj = fs_resolve_pin(r, &a->c, a->startfd, a->path, true, 0);
	if (obj < 0)
		return (int)strlen(text);
	char real[PATH_MAX];
	int k = resolve_fd_path(obj, real, sizeof(real));
	if (k < 0)
		return k;
	k = fs_opath_swap(&obj, real, sizeof(real));
	if (k < 0)
		return k;
	strlcpy_sb(text, real, size);
	return (int)strlen(text);
}

static int fs_readlink_handler(sb_req *r, void *userdata)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	bool at = sb_req_nr(r) == SYS_readlinkat;
	int dirfd = at ? (int)sb_req_arg(r, 0) : AT_FDCWD_ARG;
	uint64_t path = sb_req_arg(r, at ? 1 : 0);
	uint64_t buf = sb_req_arg(r, at ? 2 : 1);
	int size = (int)sb_req_arg(r, at ? 3 : 2);
	if (size <= 0)
		return -EINVAL; /* do_readlinkat, before the lookup */
	if (sb->fs_trivial && sb->audit_fd < 0) {
		/* Nothing to decide, nothing to record. */
		sb_req_note_get(r)->action = "allow";
		return sb_req_reply_continue_unchecked(r);
	}

	/* readlinkat takes "" as the dirfd's own object (LOOKUP_EMPTY) without any flag. */
	struct fs_arg a;
	int k = fs_arg_pin(r, NULL, dirfd, path, false, true, &a);
	if (k == 0)
		k = fs_opath_arg(r, &a); /* readlinkat(fd, "") of an O_PATH symlink stand-in */
	if (k == 0)
		k = -fs_decide(r, sb, a.real, FS_WANT_READ);
	char text[PATH_MAX];
	if (k == 0) {
		/*
		 * One call tells a link from anything else: readlinkat(fd, "") reads the pinned
		 * link, and answers ENOENT for an object that is no link (do_readlinkat), which
		 * the program's own call answers with EINVAL (or ENOENT for its own ""). A magic
		 * link (/proc/PID/fd/N) reads as the program would read it: its object's path
		 * from this thread's root, which is the program's.
		 */
		ssize_t n = readlinkat(a.fd, "", text, sizeof(text) - 1);
		if (n < 0)
			k = errno == ENOENT ? (a.path[0] ? -EINVAL : -ENOENT) : negative_errno();
		if (n >= 0) {
			text[n] = 0;
			k = standin_text(r, &a, text, sizeof(text));
		}
		if (k > size)
			k = size; /* readlink truncates silently */
	}
	fs_arg_end(&a);
	if (k < 0)
		return k;
	int v = sb_req_valid(r);
	if (v < 0)
		return v;
	v = sb_req_write(r, buf, text, (size_t)k);
	if (v < 0)
		return v;
	return sb_req_reply_value(r, k);
}

static const struct fs_row readlink_rows[] = {
    {SYS_readlink, fs_readlink_handler},
    {SYS_readlinkat, fs_readlink_handler},
};

const struct fs_family fs_readlink_family = {"readlink", readlink_rows, ELEMENTSOF(readlink_rows),
					     sandbox_wants_fs};
