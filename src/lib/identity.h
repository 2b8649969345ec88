/* Per-thread identity switching for emulated operations (see identity.c). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <sysbroker/sysbroker.h>

/* Takes the target's fsuid/fsgid, groups, effective caps (within ours) and umask. */
int identity_assume(const sb_creds *c);
/* Back to the supervisor's own identity. */
int identity_restore(void);
/* Makes the directory name under dirfd ("" for dirfd itself) this thread's root, so "/"
 * and ".." resolve as the target sees them; a no-op (one statx) when it already is. */
int identity_enter_root_at(int dirfd, const char *name, bool *ret_changed);
/* Is this thread's root (as identity_enter_root_at left it) the directory with this id? */
bool identity_root_is(dev_t dev, ino_t ino, uint64_t mnt);
/* Back to the supervisor's own root (before running code that opens our own files). */
void identity_leave_root(void);
/* The supervisor's /proc, root and cwd fds, for this (worker) thread to return to. */
void identity_thread_init(int procfd, int rootfd, int cwdfd);
/* This thread's /proc/thread-self/fd, opened once through the supervisor's /proc (the
 * thread may be chrooted into a root whose /proc counts another pid namespace, or has
 * none); a thread's own fd directory is open to it whatever fsuid it has taken. */
int identity_thread_fddir(void);
/* Releases what identity_thread_fddir opened: for a worker about to exit. */
void identity_thread_exit(void);
