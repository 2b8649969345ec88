/* Directory listings (getdents64, getdents) with hide rules: the supervisor reads the
 * program's own directory file (pidfd_getfd: the same open file, so the same offset), leaves
 * out every entry a hide rule covers and writes the rest into the program's buffer. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fs.h"
#include "fs_common.h"
#include "macros.h"
#include "sandbox.h"
#include "strutil.h"

/* Records are read in chunks of at most this much (the program's count if smaller). */
#define CHUNK_MAX (64 * 1024)

/*
 * Both record layouts start with d_ino (8), d_off (8), d_reclen (2); the name follows at 19
 * in linux_dirent64 (after d_type) and at 18 in linux_dirent (d_type is its last byte).
 * Records keep their size, so what is kept always fits the program's count.
 */
#define RECLEN_OFF 16
#define NAME_OFF64 19
#define NAME_OFF 18

/*
 * One listing at a time per directory: reading moves the shared offset, and when the
 * program leaves the call (a signal) before our answer lands, the offset is put back, so
 * the restarted call (which may reach another worker) must not read in between.
 */
#define N_LOCKS 64
static pthread_mutex_t locks[N_LOCKS] = {[0 ... N_LOCKS - 1] = PTHREAD_MUTEX_INITIALIZER};

static pthread_mutex_t *dir_lock(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return &locks[0];
	uint64_t h = (uint64_t)st.st_ino * 0x9e3779b97f4a7c15ULL ^ (uint64_t)st.st_dev;
	return &locks[h % N_LOCKS];
}

/* Leaves hidden entries out of n bytes of records; returns the bytes kept. */
static size_t filter(struct sb_sandbox *sb, const char *dir, char *buf, size_t n, size_t name_off)
{
	size_t in = 0, out = 0, dl = strlen(dir);
	char path[PATH_MAX + NAME_MAX + 2];
	memcpy(path, dir, dl);
	if (dl > 1)
		path[dl++] = '/';
	while (in + name_off < n) {
		uint16_t reclen;
		memcpy(&reclen, buf + in + RECLEN_OFF, sizeof(reclen));
		if (reclen == 0 || in + reclen > n)
			break; /* never from the kernel; stop rather than loop */
		const char *name = buf + in + name_off;
		size_t nl = strnlen(name, reclen - name_off);
		bool keep = true;
		if (strcmp(name, ".") && strcmp(name, "..") && dl + nl < sizeof(path)) {
			memcpy(path + dl, name, nl);
			path[dl + nl] = 0;
			struct fs_decision d;
			policy_fs_decide(sb->policy, path, &d);
			keep = d.access != FS_HIDE;
		}
		if (keep) {
			if (out != in)
				memmove(buf + out, buf + in, reclen);
			out += reclen;
		}
		in += reclen;
	}
	return out;
}

static int fs_getdents_handler(sb_req *r, void *userdata)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	int nr = sb_req_nr(r);
	if (!sb->fs_hide) {
		/*
		 * No hide rule, nothing to leave out (an agent installs every family): the
		 * kernel lists as usual. The arguments are an fd, a buffer it only writes and a
		 * count: no memory of the program is read, so there is nothing to rewrite.
		 */
		sb_req_note_get(r)->action = "allow";
		return sb_req_reply_continue_unchecked(r);
	}
	int fd = (int)sb_req_arg(r, 0);
	uint64_t dirp = sb_req_arg(r, 1);
	unsigned count = (unsigned)sb_req_arg(r, 2);
	size_t name_off = nr == SYS_getdents64 ? NAME_OFF64 : NAME_OFF;

	/* Our copy of the program's fd, with its root entered so paths read as it sees them. */
	struct resolve_ctx c;
	int k = resolve_begin(r, fd, "", true, &c);
	if (k < 0)
		return k;
	char dir[PATH_MAX];
	k = resolve_fd_path(c.startfd, dir, sizeof(dir));
	if (k >= 0) {
		strlcpy_sb(sb_req_note_get(r)->path, dir, sizeof(sb_req_note_get(r)->path));
		/* Listing is reading the directory: a denied or hidden one stays so. */
		k = -fs_decide(r, sb, dir, FS_WANT_READ);
	}
	size_t size = count < CHUNK_MAX ? count : CHUNK_MAX;
	_cleanup_free_ char *buf = k >= 0 ? malloc(size ? size : 1) : NULL;
	if (k >= 0 && !buf)
		k = -ENOMEM;
	pthread_mutex_t *lock = NULL;
	off_t pos0 = -1;
	size_t kept = 0;
	if (k >= 0) {
		lock = dir_lock(c.startfd);
		pthread_mutex_lock(lock);
		pos0 = lseek(c.startfd, 0, SEEK_CUR);
		/*
		 * A chunk whose entries are all hidden is not the end of the directory (0 means
		 * EOF to the program): read on until something is kept or the kernel says EOF.
		 */
		for (;;) {
			long n = syscall(nr, c.startfd, buf, size);
			if (n < 0) {
				k = negative_errno();
				break;
			}
			if (n == 0)
				break;
			kept = filter(sb, dir, buf, (size_t)n, name_off);
			if (kept)
				break;
		}
	}
	/* The answer needs neither the program's identity nor its root: keep only our fd. */
	int dfd = TAKE_FD(c.startfd);
	resolve_end(&c);
	if (k >= 0 && kept) {
		k = sb_req_valid(r);
		if (k >= 0)
			k = sb_req_write(r, dirp, buf, kept);
	}
	bool replied = false;
	if (k >= 0) {
		k = sb_req_reply_value(r, (int64_t)kept);
		replied = true;
	}
	/* Nothing delivered (the program left the call, or its buffer faults): nothing was
	 * consumed, as with the kernel's own listing. */
	if (k < 0 && pos0 >= 0)
		lseek(dfd, pos0, SEEK_SET);
	if (lock)
		pthread_mutex_unlock(lock);
	safe_close(dfd);
	if (replied)
		return k < 0 && k != -ENOENT ? k : 0;
	return k;
}

/* Installed only where a hide rule exists: listings are otherwise the kernel's alone. */
static bool wants_hide(const struct sb_sandbox *sb)
{
	return sb->fs_hide;
}

static const struct fs_row getdents_rows[] = {
    {SYS_getdents64, fs_getdents_handler},
    {SYS_getdents, fs_getdents_handler},
};

const struct fs_family fs_getdents_family = {"getdents", getdents_rows, ELEMENTSOF(getdents_rows),
					     wants_hide};
