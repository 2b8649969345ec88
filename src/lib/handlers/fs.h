/* Handler families: each is a table of (syscall, handler) rows installed together. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sysbroker/sysbroker.h>

struct fs_row {
	int nr;
	sb_handler_fn fn;
	/* Bit i: a call with argument i == 0 needs no handler (it would only be let run), so
	 * sb_spawn's filter leaves it to the kernel (filter_native_if_zero). */
	uint8_t native_if_zero;
};

struct sb_sandbox;

struct fs_family {
	const char *name;
	const struct fs_row *rows;
	size_t n_rows;
	/* NULL: always installed; else installed only for sandboxes it returns true for
	 * (e.g. sandbox_wants_fs, or "has a net rule"). */
	bool (*wanted)(const struct sb_sandbox *sb);
};

extern const struct fs_family fs_open_family;
extern const struct fs_family fs_stat_family;     /* stat, lstat, newfstatat, statx, statfs */
extern const struct fs_family fs_access_family;   /* access, faccessat, faccessat2 */
extern const struct fs_family fs_readlink_family; /* readlink, readlinkat */
extern const struct fs_family fs_getxattr_family; /* getxattr, lgetxattr, listxattr, llistxattr */
extern const struct fs_family fs_inotify_family;  /* inotify_add_watch */
extern const struct fs_family fs_getdents_family; /* getdents64, getdents (hide rules) */
extern const struct fs_family fs_chdir_family;    /* chdir, fchdir, getcwd (fs rules) */
extern const struct fs_family fs_mkdir_family;
extern const struct fs_family fs_mknod_family;
extern const struct fs_family fs_unlink_family;
extern const struct fs_family fs_rename_family;
extern const struct fs_family fs_link_family;
extern const struct fs_family fs_symlink_family;
extern const struct fs_family fs_attr_family;
extern const struct fs_family fs_xattr_family;
extern const struct fs_family fs_refuse_family;

extern const struct fs_family net_connect_family;
extern const struct fs_family net_send_family;
extern const struct fs_family net_bind_family;
extern const struct fs_family net_publish_family;
extern const struct fs_family lift_mount_family;
extern const struct fs_family lift_mknod_family;
extern const struct fs_family lift_sysinfo_family;

/* "O_WRONLY|O_CREAT|O_CLOEXEC" for open flags. */
void fs_format_open_flags(int flags, char *buf, size_t size);
