/* Path resolution in the target's view, done by the supervisor on its own copy of the path. */
#pragma once

#include <stdbool.h>
#include <sysbroker/sysbroker.h>

#define AT_FDCWD_ARG ((int)-100)
/*
 * The start of an absolute path: the worker thread is chrooted into the target's root, so
 * "/" already means it and no fd is needed. (AT_FDCWD: *at() calls then take the path from
 * the thread's root, and negative fds are never closed.)
 */
#define RESOLVE_AT_ROOT AT_FDCWD

/*
 * Everything an fs handler needs before touching a path: the target's identity assumed on
 * this thread, its root entered, and the fd where resolution of path starts (its root for
 * an absolute path, its cwd or its dirfd for a relative one). Release with resolve_end().
 */
struct resolve_ctx {
	int startfd; /* an fd, or RESOLVE_AT_ROOT */
	bool start_on_proc; /* the walk must be ours from the start */
	sb_req *req;        /* the request (its /proc/TID: sb_req_procfd) */
	sb_creds creds;
};

/* dirfd is the raw syscall argument; path the supervisor's copy. */
int resolve_begin(sb_req *r, int dirfd, const char *path, bool empty_path_ok,
		  struct resolve_ctx *ret);
void resolve_end(struct resolve_ctx *c);
/* The start of a second path argument (rename, link...) inside a begun context. */
int resolve_another_start(sb_req *r, struct resolve_ctx *c, int dirfd, const char *path,
			  bool empty_path_ok, bool *ret_on_proc);

/*
 * An O_PATH fd on what path leads to from startfd (following a last symlink when follow).
 * The kernel resolves it when the walk stays on one mount (RESOLVE_NO_XDEV); otherwise we
 * walk component by component so that /proc/self and /proc/thread-self mean the target,
 * never the supervisor thread doing the walk. resolve is the caller's RESOLVE_* set.
 */
int resolve_pin(struct resolve_ctx *c, int startfd, const char *path, bool follow,
		uint64_t resolve);
/* The parent directory (O_PATH) of path's last component, and that component in name. */
int resolve_parent(struct resolve_ctx *c, int startfd, const char *path, char *name,
		   size_t namesz);

/* The path of an fd of ours as the target sees it (this thread is in its root). */
int resolve_fd_path(int fd, char *buf, size_t size);
/* Reopens an O_PATH fd of ours with real open flags (through /proc/thread-self/fd). */
int resolve_reopen(int pathfd, int flags);
