/* Shared steps of the lifting families (mount, mknod, sysinfo): whether the program may
 * mount by itself, optional string arguments, mountinfo fields. */
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "lift_common.h"
#include "macros.h"

static bool same_ns(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* The user namespace of the target (nsfs inode), through its validated /proc/TID. */
static int target_userns(sb_req *r, struct stat *ret)
{
	int procfd = sb_req_procfd(r);
	if (procfd < 0)
		return procfd;
	if (fstatat(procfd, "ns/user", ret, 0) < 0)
		return errno == ESRCH ? -ENOENT : negative_errno();
	return 0;
}

/*
 * The thread's effective capabilities as its status shows them, counted in its own user
 * namespace. sb_creds has none for a program in another user namespace than ours (lending
 * them would give it power over our objects), but may_mount() asks exactly about its own.
 */
static int own_cap_eff(int procfd, uint64_t *ret)
{
	_cleanup_close_ int fd = openat(procfd, "status", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ESRCH ? -ENOENT : negative_errno();
	char buf[8192];
	size_t used = 0;
	ssize_t n;
	while (used < sizeof(buf) - 1 && (n = read(fd, buf + used, sizeof(buf) - 1 - used)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == ESRCH ? -ENOENT : negative_errno();
		used += (size_t)n;
	}
	buf[used] = 0;
	const char *p = strstr(buf, "\nCapEff:");
	if (!p)
		return -EIO;
	*ret = strtoull(p + 8, NULL, 16);
	return 0;
}

int lift_may_mount_natively(sb_req *r)
{
	int procfd = sb_req_procfd(r);
	if (procfd < 0)
		return procfd;
	uint64_t eff;
	int k = own_cap_eff(procfd, &eff);
	if (k < 0)
		return k;
	if (!(eff & (1ULL << LIFT_CAP_SYS_ADMIN)))
		return 0;
	struct stat user;
	k = target_userns(r, &user);
	if (k < 0)
		return k;
	_cleanup_close_ int mnt = openat(procfd, "ns/mnt", O_RDONLY | O_CLOEXEC);
	if (mnt < 0)
		return errno == ESRCH ? -ENOENT : negative_errno();
	/* ns_capable(mnt_ns->user_ns): the owner or any of its ancestors up to the thread's. */
	_cleanup_close_ int cur = ioctl(mnt, NS_GET_USERNS);
	for (int depth = 0; cur >= 0 && depth < 33; depth++) {
		struct stat st;
		if (fstat(cur, &st) < 0)
			return negative_errno();
		if (same_ns(&st, &user))
			return 1;
		int parent = ioctl(cur, NS_GET_PARENT);
		safe_close(cur);
		cur = parent; /* EPERM above our own namespace: not the thread's then */
	}
	return 0;
}

int lift_read_opt_string(sb_req *r, uint64_t addr, char *buf, size_t size)
{
	if (!addr) {
		buf[0] = 0;
		return sb_req_valid(r);
	}
	return sb_req_read_string(r, addr, buf, size);
}

void lift_unoctal(char *s)
{
	char *o = s;
	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = 0;
}
