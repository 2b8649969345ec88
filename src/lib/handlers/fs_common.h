/* Shared steps of the filesystem handler families: one path argument resolved in the
 * target's view and pinned, and the policy's answer for the object reached. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "resolve.h"
#include "sandbox.h"

/* What an operation does to the object, as the policy sees it. */
enum fs_want {
	FS_WANT_READ,  /* read, execute, stat, list: allowed by allow-read */
	FS_WANT_WRITE, /* modify, create, delete, rename, metadata: needs allow */
};

/*
 * The policy's answer for the object at real (absolute, in the program's view): 0 to go
 * on, or the positive errno the call fails with (EACCES for deny and for a write under
 * allow-read, ENOENT for hide). Notes action and rule for the audit line.
 */
int fs_decide(sb_req *r, struct sb_sandbox *sb, const char *real, enum fs_want want);

/* One path argument: the program's string, where it leads, and a pin on it. */
struct fs_arg {
	struct resolve_ctx c; /* identity and root of the target; valid after begin */
	bool begun;
	int startfd;          /* c.startfd, or a second start for a second argument (owned) */
	int fd;               /* O_PATH pin: the object (pin) or its parent (parent) */
	char name[NAME_MAX + 2]; /* the last component, for fs_arg_parent */
	char path[PATH_MAX];  /* the program's path, our copy */
	char real[PATH_MAX];  /* the object's (or parent + name) path in the program's view */
};

/*
 * Reads the path at addr (NUL-checked, ID_VALID after), resolves it from dirfd (the raw
 * argument, AT_FDCWD included) following a last symlink when follow, and pins the object.
 * empty_path: AT_EMPTY_PATH, where "" means the dirfd's own object. With first non-NULL,
 * the context of that (earlier) argument is shared: for rename, link and the like.
 * The real path is noted for the audit line. Returns 0 or -errno.
 */
int fs_arg_pin(sb_req *r, struct fs_arg *first, int dirfd, uint64_t addr, bool follow,
	       bool empty_path, struct fs_arg *a);
/* Same, but pins the parent directory and keeps the last component in a->name; a->real
 * is the parent's real path plus the name. For creating, removing, renaming. */
int fs_arg_parent(sb_req *r, struct fs_arg *first, int dirfd, uint64_t addr,
		  struct fs_arg *a);
/*
 * Same as fs_arg_pin (first argument only), but the walk and all that follows run with
 * the identity ids makes of the target's: for a call that the kernel runs with other
 * credentials than the fs ones (access without AT_EACCESS uses the real ids).
 */
typedef int (*fs_ids_fn)(sb_req *r, sb_creds *creds);
int fs_arg_pin_as(sb_req *r, int dirfd, uint64_t addr, bool follow, bool empty_path, fs_ids_fn ids,
		  struct fs_arg *a);
/* AT_EMPTY_PATH with a NULL path (fstatat, statx since 6.11): the object behind dirfd itself. */
int fs_arg_pin_empty(sb_req *r, int dirfd, struct fs_arg *a);
/* Releases the pin (and, for a first argument, the target's identity and root). */
void fs_arg_end(struct fs_arg *a);
/* For _cleanup_(fs_arg_endp): an fs_arg ended on every return (fd and startfd -1 if unset). */
static inline void fs_arg_endp(struct fs_arg *a)
{
	fs_arg_end(a);
}

/*
 * resolve_pin and resolve_parent with the sandbox's redirect rules applied: when a component
 * reached (or the start) lies at or below a FROM, the walk goes on in TO, as a bind mount of
 * TO on FROM would make it, ".." at TO's top included. Without redirect rules they are
 * resolve_pin and resolve_parent. Every fs family resolves through these.
 */
int fs_resolve_pin(sb_req *r, struct resolve_ctx *c, int startfd, const char *path, bool follow,
		   uint64_t resolve);
int fs_resolve_parent(sb_req *r, struct resolve_ctx *c, int startfd, const char *path, char *name,
		      size_t namesz);

/*
 * For calls that take no dirfd (getxattr, inotify_add_watch): makes this thread's cwd its own
 * /proc/thread-self/fd in our procfs and puts the pin's number in name, so that the relative
 * name "N" reaches the pinned object itself through the magic link (a symlink too: the jump
 * lands on it, not on its target), whatever root the thread is in. fs_magic_leave goes back.
 */
int fs_magic_enter(sb_req *r, int pin, char *name, size_t size);
void fs_magic_leave(sb_req *r);

/*
 * struct xattr_args of getxattrat and setxattrat (arguments 4 and 5: the pointer and its
 * size), read as copy_struct_from_user takes it: smaller than version 0 is EINVAL, a tail
 * we do not know that is not all zeros E2BIG. Each caller checks flags as its call does.
 */
int fs_read_xattr_args(sb_req *r, uint64_t *ret_value, uint32_t *ret_size, uint32_t *ret_flags);
