/* O_PATH descriptors of symlinks: the stand-in the program gets for one, and how the fs
 * families find the symlink again wherever the program hands the stand-in back. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "fs_common.h"

/*
 * An fd to install as the answer of an open(O_PATH|O_NOFOLLOW) that reached the symlink
 * pinned by pin (an O_PATH fd of ours; it is duplicated, not consumed): a file that can be
 * neither read nor written, which the families below turn back into the symlink. -ENFILE when
 * the sandbox holds too many already (each costs the supervisor an fd).
 */
int fs_opath_standin(sb_req *r, int pin);

/*
 * If fd (an fd of ours whose path in the program's view is real) is a stand-in, *ret_pin gets a
 * new O_PATH fd on its symlink and 1 is returned; 0 when it is none; -errno.
 */
int fs_opath_lookup(int fd, const char *real, int *ret_pin);

/*
 * For a pinned argument: a stand-in becomes the symlink it stands for (a->fd, a->real and the
 * audit path), so that fstatat, statx, readlinkat, fchownat, linkat... with AT_EMPTY_PATH, and
 * paths through /proc/self/fd/N, act on the symlink as with the kernel's own O_PATH fd.
 * Returns 0 or -errno.
 */
int fs_opath_arg(sb_req *r, struct fs_arg *a);

/* The same for a bare pin and its real path (realsz bytes), as the open family keeps them. */
int fs_opath_swap(int *pin, char *real, size_t realsz);

/* Is real the path of a stand-in (not checked against the table)? */
bool fs_opath_maybe(const char *real);
