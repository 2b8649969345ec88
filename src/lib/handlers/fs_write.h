/* Shared steps of the families that change the filesystem: the decision on a name inside a
 * pinned parent, calls that take only a path made on a pinned object, and changes that are
 * made once even when the kernel restarts a call whose first answer was lost. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "fs_common.h"

/*
 * The policy's answer for changing what a->name names inside the pinned parent a->fd (after
 * fs_arg_parent): the parent's real path plus the name. "", "." and ".." are judged as the
 * directory they lead to (the kernel never creates or removes those names, but a hidden or
 * denied directory must not answer EEXIST or EBUSY as if it were there). Trailing slashes
 * are not part of the object's path. An empty name (the path was "/") becomes ".", which the
 * *at calls then refuse as the kernel refuses "/". Returns 0 or -errno (EACCES, ENOENT for
 * hide).
 */
int fs_decide_name(sb_req *r, struct sb_sandbox *sb, struct fs_arg *a);

/* The name (without trailing slashes) the policy judged, for a check that needs it again. */
int fs_name_path(struct fs_arg *a, char *buf, size_t size);

/*
 * Runs op(name, arg) where name leads to exactly the pinned object: the calls that take only
 * a path (truncate, setxattr...) have no *at form, so they are made relative to this thread's
 * /proc/thread-self/fd, whose entry N is a magic link to our fd N (a pinned symlink itself,
 * not its target). Runs with whatever identity the caller assumed. Returns op's result.
 */
int fs_at_pin(sb_req *r, int pinfd, int (*op)(const char *name, void *arg), void *arg);

/*
 * Makes a change that cannot be repeated (mkdir, unlink, rename...) and answers the call: op
 * returns 0 or -errno, the result is answered (0) or returned (-errno, for the engine to
 * answer). Three things a change must survive:
 *  - the call was abandoned (a signal, death) while we judged it: nothing is done;
 *  - the kernel restarts a call whose wait a signal interrupted (SA_RESTART), with the same
 *    registers, after we made the change but before our answer arrived: the repetition
 *    (same thread, number, registers, and strings s1/s2) gets the lost answer instead of
 *    EEXIST or ENOENT from doing it twice;
 *  - that repetition may reach another worker while the first is still making the change:
 *    a thread has one call at a time, so it waits for the first to finish.
 */
int fs_change(sb_req *r, const char *s1, const char *s2, int (*op)(void *arg), void *arg);

/*
 * Does the program live in another user namespace than ours? Its CapEff then names
 * capabilities over that namespace only, but a worker thread of ours that took them over
 * would hold them over every object of the host. Returns 1, 0 or -errno. Call it with our
 * own identity, before fs_arg_*: it reads /proc/TID/ns/user.
 */
int fs_userns_foreign(sb_req *r);

/*
 * Makes the change with the program's identity but, when foreign, without capabilities:
 * a chance to refuse more than the kernel would (a container's root chowning its own
 * files), never to allow more. Call it after the last fs_arg_* (each one takes the
 * program's identity again). Returns 0 or -errno.
 */
int fs_caps_for_change(struct fs_arg *first, int foreign);

/*
 * The first steps of a change to one name (mkdir, mknod, symlink, unlink): whether the
 * program is foreign (fs_userns_foreign), its parent pinned (fs_arg_parent), the capabilities
 * the change keeps (fs_caps_for_change), and the name judged (fs_decide_name). a starts as
 * {.fd = -1, .startfd = -1}; the caller ends it, whatever this returns. Returns 0 or -errno.
 */
int fs_arg_parent_change(sb_req *r, struct sb_sandbox *sb, int dirfd, uint64_t addr,
			 struct fs_arg *a);

/*
 * Notes the second path argument b (rename's and link's destination) for the audit line and
 * learn: the name judged (named: after fs_decide_name), or where its parent led, or the text
 * as the program gave it when nothing was reached.
 */
void fs_note_path2(sb_req *r, struct fs_arg *b, bool named);

/* Audit text for AT_* flags ("AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH"). */
void fs_note_at_flags(sb_req *r, unsigned flags);
