/* The stat family (stat, lstat, newfstatat, statx, statfs): the supervisor resolves the path,
 * decides on the object reached, stats the pinned object itself and writes the kernel's own
 * structure into the program's buffer, so a path rewritten after our read is moot. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine.h"
#include "fs.h"
#include "fs_common.h"
#include "fs_write.h"
#include "fs_opath.h"
#include "macros.h"
#include "sandbox.h"
#include "strutil.h"

#ifndef AT_STATX_SYNC_TYPE
#define AT_STATX_SYNC_TYPE 0x6000
#endif
#ifndef STATX__RESERVED
#define STATX__RESERVED 0x80000000U
#endif

/* The flags the kernel's vfs_statx accepts (fs/stat.c); anything else is EINVAL before
 * the path is even read. */
#define STAT_FLAGS (AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE)

struct stat_args {
	int dirfd;
	uint64_t path, buf;
	int flags;
	unsigned mask; /* statx */
};

static int decode_stat(sb_req *r, struct stat_args *a)
{
	a->dirfd = AT_FDCWD_ARG;
	a->flags = 0;
	a->mask = 0;
	switch (sb_req_nr(r)) {
	case SYS_lstat:
		a->flags = AT_SYMLINK_NOFOLLOW;
		/* fallthrough */
	case SYS_stat:
	case SYS_statfs:
		a->path = sb_req_arg(r, 0);
		a->buf = sb_req_arg(r, 1);
		return 0;
	case SYS_newfstatat:
		a->dirfd = (int)sb_req_arg(r, 0);
		a->path = sb_req_arg(r, 1);
		a->buf = sb_req_arg(r, 2);
		a->flags = (int)sb_req_arg(r, 3);
		return a->flags & ~STAT_FLAGS ? -EINVAL : 0;
	case SYS_statx:
		a->dirfd = (int)sb_req_arg(r, 0);
		a->path = sb_req_arg(r, 1);
		a->flags = (int)sb_req_arg(r, 2);
		a->mask = (unsigned)sb_req_arg(r, 3);
		a->buf = sb_req_arg(r, 4);
		/* statx alone refuses both sync types at once, and the reserved mask bit. */
		if ((a->flags & ~STAT_FLAGS) ||
		    (a->flags & AT_STATX_SYNC_TYPE) == AT_STATX_SYNC_TYPE ||
		    (a->mask & STATX__RESERVED))
			return -EINVAL;
		return 0;
	}
	return -ENOSYS;
}

static void format_at_flags(int flags, char *buf, size_t size)
{
	buf[0] = 0;
	if (flags & AT_SYMLINK_NOFOLLOW)
		strlcpy_sb(buf, "AT_SYMLINK_NOFOLLOW", size);
	if (flags & AT_EMPTY_PATH)
		snprintf(buf + strlen(buf), size - strlen(buf), "%sAT_EMPTY_PATH",
			 buf[0] ? "|" : "");
}

/*
 * Stats the pinned object into out and returns its size. The pin is O_PATH, which fstatat,
 * statx and fstatfs accept: no permission is needed on the object itself, as for the call.
 */
static int stat_pinned(int nr, int pin, const struct stat_args *a, void *out)
{
	long k;
	switch (nr) {
	case SYS_statx:
		k = syscall(SYS_statx, pin, "", (a->flags & ~AT_SYMLINK_NOFOLLOW) | AT_EMPTY_PATH,
			    a->mask, out);
		return k < 0 ? negative_errno() : (int)sizeof(struct statx);
	case SYS_statfs:
		k = syscall(SYS_fstatfs, pin, out);
		return k < 0 ? negative_errno() : (int)sizeof(struct statfs);
	default:
		/* struct stat of x86_64 glibc is the kernel's (cp_new_stat): 144 bytes. */
		k = syscall(SYS_newfstatat, pin, "", out,
			    (a->flags & ~AT_SYMLINK_NOFOLLOW) | AT_EMPTY_PATH);
		return k < 0 ? negative_errno() : (int)sizeof(struct stat);
	}
}

/* The kernel's overflowuid/overflowgid (65534 unless changed): an id that has no name in
 * the caller's namespace. */
static uint32_t overflow_id(const char *name)
{
	char path[64], buf[32];
	snprintf(path, sizeof(path), "/proc/sys/kernel/%s", name);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 65534;
	buf[n] = 0;
	return (uint32_t)strtoul(buf, NULL, 10);
}

/*
 * An id as we see it, as the program's user namespace names it (from_kuid_munged): through
 * /proc/TID/{uid,gid}_map, whose second column is given in the reader's namespace; an id
 * without a name there is the overflow id.
 */
static uint32_t id_for_target(const char *map, size_t len, uint32_t id, uint32_t overflow)
{
	char buf[8192];
	if (len >= sizeof(buf))
		len = sizeof(buf) - 1;
	memcpy(buf, map, len);
	buf[len] = 0;
	for (char *line = buf, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		unsigned long long inside, outside, count;
		if (sscanf(line, "%llu %llu %llu", &inside, &outside, &count) != 3)
			continue;
		if (id >= outside && id - outside < count)
			return (uint32_t)(inside + (id - outside));
	}
	return overflow;
}

static int read_map(sb_req *r, const char *name, char *buf, size_t size)
{
	int procfd = sb_req_procfd(r);
	if (procfd < 0)
		return procfd;
	_cleanup_close_ int fd = openat(procfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ESRCH ? -ENOENT : negative_errno();
	ssize_t n = read(fd, buf, size);
	return n < 0 ? negative_errno() : (int)n;
}

/* Owner and group of a result as the program's namespace names them, when it has its own. */
static int ids_for_target(sb_req *r, int nr, void *out)
{
	static uint32_t over_uid, over_gid;
	char umap[4096], gmap[4096];
	int ul = read_map(r, "uid_map", umap, sizeof(umap));
	if (ul < 0)
		return ul;
	int gl = read_map(r, "gid_map", gmap, sizeof(gmap));
	if (gl < 0)
		return gl;
	if (!over_uid) {
		over_uid = overflow_id("overflowuid");
		over_gid = overflow_id("overflowgid");
	}
	if (nr == SYS_statx) {
		struct statx *sx = out;
		sx->stx_uid = id_for_target(umap, (size_t)ul, sx->stx_uid, over_uid);
		sx->stx_gid = id_for_target(gmap, (size_t)gl, sx->stx_gid, over_gid);
	} else if (nr != SYS_statfs) {
		struct stat *st = out;
		st->st_uid = id_for_target(umap, (size_t)ul, st->st_uid, over_uid);
		st->st_gid = id_for_target(gmap, (size_t)gl, st->st_gid, over_gid);
	}
	return 0;
}

static int fs_stat_handler(sb_req *r, void *userdata)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	int nr = sb_req_nr(r);
	struct stat_args a;
	int k = decode_stat(r, &a);
	if (k < 0)
		return k;
	if (sb->fs_trivial && sb->audit_fd < 0) {
		/* No rule and no record (an agent installs every family): nothing to decide,
		 * and the flags came from registers. Decided before reading any target memory. */
		sb_req_note_get(r)->action = "allow";
		return sb_req_reply_continue_unchecked(r);
	}
	format_at_flags(a.flags, sb_req_note_get(r)->flags, sizeof(sb_req_note_get(r)->flags));

	/* A program in a user namespace of its own sees owners as that namespace names them;
	 * the kernel maps them for the caller, and our thread is not it. Asked with our own
	 * identity, before fs_arg_*. */
	int foreign = nr == SYS_statfs ? 0 : fs_userns_foreign(r);
	if (foreign < 0)
		return foreign;
	bool empty = a.flags & AT_EMPTY_PATH;
	struct fs_arg arg;
	/* Since 6.11 a NULL path with AT_EMPTY_PATH means the dirfd itself (getname_maybe_null). */
	if (a.path == 0 && empty && nr != SYS_statfs)
		k = fs_arg_pin_empty(r, a.dirfd, &arg);
	else
		k = fs_arg_pin(r, NULL, a.dirfd, a.path, !(a.flags & AT_SYMLINK_NOFOLLOW),
			       empty && nr != SYS_statfs, &arg);
	if (k == 0)
		k = fs_opath_arg(r, &arg);
	union {
		struct stat st;
		struct statx stx;
		struct statfs sfs;
	} out;
	memset(&out, 0, sizeof(out));
	if (k == 0)
		k = -fs_decide(r, sb, arg.real, FS_WANT_READ);
	if (k == 0)
		k = stat_pinned(nr, arg.fd, &a, &out);
	fs_arg_end(&arg);
	if (k > 0 && foreign) {
		int v = ids_for_target(r, nr, &out);
		if (v < 0)
			return v;
	}
	if (k < 0)
		return k;
	/* The program may have left the call (a signal) while we worked: then its buffer is
	 * no longer ours to fill. */
	int v = sb_req_valid(r);
	if (v < 0)
		return v;
	v = sb_req_write(r, a.buf, &out, (size_t)k);
	if (v < 0)
		return v;
	return sb_req_reply_value(r, 0);
}

static const struct fs_row stat_rows[] = {
    {SYS_stat, fs_stat_handler},  {SYS_lstat, fs_stat_handler},	 {SYS_newfstatat, fs_stat_handler},
    {SYS_statx, fs_stat_handler}, {SYS_statfs, fs_stat_handler},
};

const struct fs_family fs_stat_family = {"stat", stat_rows, ELEMENTSOF(stat_rows),
					 sandbox_wants_fs};
