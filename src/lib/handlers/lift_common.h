/* Shared steps of the lifting families (mount, mknod, sysinfo): whether the program may
 * mount by itself, optional string arguments, mountinfo fields. (What the program's
 * capabilities are worth outside its user namespace, and doing a change once whatever
 * signals restart its call, come from fs_write.h.) */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <sysbroker/sysbroker.h>

/* Newer than Debian 12's uapi headers (statx of 6.8: a mount id that is never reused). */
#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x00004000U
#endif
#ifndef SYS_open_tree_attr
#define SYS_open_tree_attr 467
#endif

#define LIFT_CAP_SYS_ADMIN 21
#define LIFT_CAP_MKNOD 27

/*
 * Would the kernel let the calling thread mount in its own mount namespace? It needs
 * CAP_SYS_ADMIN in the user namespace that owns that mount namespace, or in an ancestor of
 * it (may_mount()). Returns 1, 0, or -errno. Decided from /proc/TID, never from memory: its
 * CapEff there counts in its own user namespace, as may_mount() counts it (sb_creds has
 * none for a program in another user namespace than ours).
 */
int lift_may_mount_natively(sb_req *r);

/* Reads the NUL-terminated string at addr into buf, or "" for a NULL pointer. */
int lift_read_opt_string(sb_req *r, uint64_t addr, char *buf, size_t size);

/* Unescapes a /proc mountinfo field in place (\040 for a space and the like). */
void lift_unoctal(char *s);

struct sb_sandbox;
/* The sandbox goes: the contexts and detached mounts the new mount API made for it are
 * closed, and what was mounted for it is forgotten (lift_mount.c). */
void lift_sandbox_free(const struct sb_sandbox *sb);
