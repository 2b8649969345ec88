/* Opening a file with the program's own credentials as its opener, for the files whose later
 * reads and writes the kernel judges by who opened them (file->f_cred). */
#pragma once

#include <stdbool.h>

#include <sysbroker/sysbroker.h>

/*
 * Could the object at path (its last component: the program's path, or the real path of
 * what was reached) be one of those files? A test on the name only, cheap enough for every
 * open; opener_reopen checks the object itself.
 */
bool opener_wanted(const char *path);

/*
 * Reopens the O_PATH pin with flags, as resolve_reopen does, but when the pinned object is one
 * of those files (a /proc/PID/uid_map, a cgroup v1 tasks file...), in a short-lived child of
 * ours that holds exactly the calling thread's credentials: ids, groups, capabilities, user
 * and cgroup namespaces. Any other object is reopened by this thread. Call it with the
 * target's identity assumed (after resolve_begin). Returns the fd or -errno.
 */
int opener_reopen(sb_req *r, int pin, int flags);
