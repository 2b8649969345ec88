/* Makes a worker thread act as the target for one emulated operation: its fsuid/fsgid,
 * supplementary groups, effective capabilities, umask and root directory. Everything here is
 * per thread: raw syscalls, because glibc's setgroups/setfsuid wrappers would change every
 * thread of the supervisor (glibc broadcasts set*id), and umask/chroot act on the thread's
 * own fs_struct after unshare(CLONE_FS). */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "identity.h"
#include "macros.h"

struct thread_ident {
	bool init;
	bool fs_private; /* unshare(CLONE_FS) done */
	uid_t fsuid;
	gid_t fsgid;
	int ngroups;
	gid_t groups[64];
	uint64_t cap_eff;
	mode_t umask;
	/* Something above may differ from base_*: identity_restore has work to do. */
	bool away;
	/* The root this thread is in: a bind mount of a directory onto itself (runc does this
	 * with the rootfs) has the same dev/ino but another mount, so the mount id counts. */
	dev_t root_dev;
	ino_t root_ino;
	uint64_t root_mnt;
	/* what the thread started with, to return to */
	uid_t base_fsuid;
	gid_t base_fsgid;
	int base_ngroups;
	gid_t base_groups[64];
	uint64_t base_cap_eff;
	uint64_t base_cap_prm;
	uint64_t base_cap_inh;
	mode_t base_umask;
	int base_root; /* O_PATH fd of the supervisor's root (the engine's, not owned) */
};

static __thread struct thread_ident ti;

static int caps_get(uint64_t *eff, uint64_t *prm, uint64_t *inh)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) < 0)
		return negative_errno();
	*eff = d[0].effective | ((uint64_t)d[1].effective << 32);
	*prm = d[0].permitted | ((uint64_t)d[1].permitted << 32);
	*inh = d[0].inheritable | ((uint64_t)d[1].inheritable << 32);
	return 0;
}

static int caps_set_eff(uint64_t eff)
{
	/* Permitted and inheritable never change on a worker: set them as captured. */
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2] = {
		{.permitted = (uint32_t)ti.base_cap_prm, .inheritable = (uint32_t)ti.base_cap_inh},
		{.permitted = (uint32_t)(ti.base_cap_prm >> 32),
		 .inheritable = (uint32_t)(ti.base_cap_inh >> 32)},
	};
	d[0].effective = (uint32_t)eff;
	d[1].effective = (uint32_t)(eff >> 32);
	return syscall(SYS_capset, &h, d) < 0 ? negative_errno() : 0;
}

static int root_id(int dirfd, const char *name, dev_t *dev, ino_t *ino, uint64_t *mnt)
{
	struct statx sx;
	if (statx(dirfd, name, *name ? 0 : AT_EMPTY_PATH, STATX_INO | STATX_MNT_ID, &sx) < 0)
		return negative_errno();
	*dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
	*ino = sx.stx_ino;
	*mnt = (sx.stx_mask & STATX_MNT_ID) ? sx.stx_mnt_id : 0;
	return 0;
}

/* The supervisor's own /proc, root and cwd, set by identity_thread_init for this thread. */
static __thread int sup_proc = -1, sup_root = -1, sup_cwd = -1;
/* This thread's own /proc/thread-self/fd (owned: closed by identity_thread_exit). */
static __thread int own_fddir = -1;

static int ident_init(void);

int identity_thread_fddir(void)
{
	if (own_fddir < 0)
		own_fddir = sup_proc >= 0 ? openat(sup_proc, "thread-self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC)
					  : open("/proc/thread-self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	return own_fddir < 0 ? negative_errno() : own_fddir;
}

void identity_thread_exit(void)
{
	own_fddir = safe_close(own_fddir);
}

void identity_thread_init(int procfd, int rootfd, int cwdfd)
{
	sup_proc = procfd;
	sup_root = rootfd;
	sup_cwd = cwdfd;
	/*
	 * Now, not lazily: until then this thread shares its creator's fs_struct, which may be
	 * chrooted into a container, and anything it opens by absolute path (its own
	 * /proc/thread-self) would be looked up there.
	 */
	ident_init();
}

static int ident_init(void)
{
	if (ti.init)
		return 0;
	ti.base_root = -1;
	ti.base_fsuid = (uid_t)syscall(SYS_setfsuid, -1);
	ti.base_fsgid = (gid_t)syscall(SYS_setfsgid, -1);
	int n = (int)syscall(SYS_getgroups, (int)ELEMENTSOF(ti.base_groups), ti.base_groups);
	ti.base_ngroups = n < 0 ? 0 : n;
	int r = caps_get(&ti.base_cap_eff, &ti.base_cap_prm, &ti.base_cap_inh);
	if (r < 0)
		return r;
	/*
	 * A private fs_struct for this thread: its umask, root and cwd become its own. A
	 * thread starts sharing its creator's, and a worker's creator may be chrooted into a
	 * container's root: unshare first, then go back to the supervisor's own root and cwd.
	 */
	if (unshare(CLONE_FS) == 0)
		ti.fs_private = true;
	if (ti.fs_private && sup_root >= 0) {
		/* Only when the creator was elsewhere: an unprivileged supervisor cannot
		 * chroot at all (and never did). */
		dev_t d1, d2;
		ino_t i1, i2;
		uint64_t m1, m2;
		if (root_id(sup_root, "", &d1, &i1, &m1) < 0 || root_id(AT_FDCWD, "/", &d2, &i2, &m2) < 0 ||
		    d1 != d2 || i1 != i2 || m1 != m2) {
			if (fchdir(sup_root) < 0 || chroot(".") < 0)
				return negative_errno();
		}
		if (sup_cwd >= 0)
			(void)!fchdir(sup_cwd);
	}
	ti.base_umask = umask(022);
	umask(ti.base_umask);
	/* The engine keeps one fd on our root for every worker; a thread outside the
	 * engine (sup_root unset) has no chroot to come back from. */
	ti.base_root = sup_root;
	if (ti.base_root < 0)
		ti.fs_private = false; /* never chroot then: nothing to return to */
	else
		root_id(ti.base_root, "", &ti.root_dev, &ti.root_ino, &ti.root_mnt);
	ti.fsuid = ti.base_fsuid;
	ti.fsgid = ti.base_fsgid;
	ti.ngroups = ti.base_ngroups;
	memcpy(ti.groups, ti.base_groups, sizeof(ti.groups));
	ti.cap_eff = ti.base_cap_eff;
	ti.umask = ti.base_umask;
	ti.init = true;
	return 0;
}

static int set_groups(int n, const gid_t *g)
{
	return syscall(SYS_setgroups, n, g) < 0 ? negative_errno() : 0;
}

int identity_assume(const sb_creds *c)
{
	int r = ident_init();
	if (r < 0)
		return r;
	bool groups = c->ngroups != ti.ngroups ||
		      memcmp(c->groups, ti.groups, c->ngroups * sizeof(gid_t)) != 0;
	/* Set before the changes: one that fails half-way still leaves work for restore. */
	if (groups || c->fsgid != ti.fsgid || c->fsuid != ti.fsuid ||
	    (c->cap_eff & ti.base_cap_prm) != ti.cap_eff || c->umask != ti.umask)
		ti.away = true;
	bool ids = groups || c->fsgid != ti.fsgid || c->fsuid != ti.fsuid;
	/*
	 * Order matters: setgroups, setfsgid and setfsuid need CAP_SETGID/CAP_SETUID in our
	 * effective set, so caps are back to ours while ids change and narrowed to the
	 * target's last (setfsuid also toggles the fs caps, so they are set after it).
	 */
	if (ids && ti.cap_eff != ti.base_cap_eff) {
		r = caps_set_eff(ti.base_cap_eff);
		if (r < 0)
			return r;
		ti.cap_eff = ti.base_cap_eff;
	}
	if (groups) {
		r = set_groups(c->ngroups, c->groups);
		if (r < 0)
			return r;
		ti.ngroups = c->ngroups;
		memcpy(ti.groups, c->groups, c->ngroups * sizeof(gid_t));
	}
	if (c->fsgid != ti.fsgid) {
		syscall(SYS_setfsgid, c->fsgid);
		if ((gid_t)syscall(SYS_setfsgid, -1) != c->fsgid)
			return -EPERM;
		ti.fsgid = c->fsgid;
	}
	if (c->fsuid != ti.fsuid) {
		syscall(SYS_setfsuid, c->fsuid);
		if ((uid_t)syscall(SYS_setfsuid, -1) != c->fsuid)
			return -EPERM;
		ti.fsuid = c->fsuid;
		ti.cap_eff = ~c->cap_eff; /* the fs caps moved: force the capset below */
	}
	uint64_t eff = c->cap_eff & ti.base_cap_prm; /* never more than we have */
	if (eff != ti.cap_eff) {
		r = caps_set_eff(eff);
		if (r < 0)
			return r;
		ti.cap_eff = eff;
	}
	if (ti.fs_private && c->umask != ti.umask) {
		umask(c->umask & 0777);
		ti.umask = c->umask & 0777;
	}
	return 0;
}

int identity_restore(void)
{
	/* The common case: the target's identity was ours (or restored already). */
	if (!ti.init || !ti.away)
		return 0;
	sb_creds c = {
		.fsuid = ti.base_fsuid,
		.fsgid = ti.base_fsgid,
		.cap_eff = ti.base_cap_eff,
		.umask = ti.base_umask,
		.ngroups = ti.base_ngroups,
	};
	memcpy(c.groups, ti.base_groups, sizeof(c.groups));
	int r = identity_assume(&c); /* only what differs costs a system call */
	if (r == 0)
		ti.away = false;
	return r;
}

int identity_enter_root_at(int dirfd, const char *name, bool *ret_changed)
{
	int r = ident_init();
	if (r < 0)
		return r;
	dev_t dev;
	ino_t ino;
	uint64_t mnt;
	/* One statx through the (magic) link tells whether we are there already: the
	 * common case costs no open. */
	r = root_id(dirfd, name, &dev, &ino, &mnt);
	if (r < 0)
		return r == -ESRCH ? -ENOENT : r;
	*ret_changed = false;
	if (dev == ti.root_dev && ino == ti.root_ino && mnt == ti.root_mnt)
		return 0;
	if (!ti.fs_private)
		return -EPERM;
	_cleanup_close_ int rootfd = *name ? openat(dirfd, name, O_PATH | O_DIRECTORY | O_CLOEXEC)
					   : fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	if (rootfd < 0)
		return errno == ESRCH ? -ENOENT : negative_errno();
	/* chroot needs CAP_SYS_CHROOT in our effective set, which a target's may lack. */
	uint64_t saved = ti.cap_eff;
	if (saved != ti.base_cap_eff)
		caps_set_eff(ti.base_cap_eff);
	r = 0;
	if (fchdir(rootfd) < 0 || chroot(".") < 0)
		r = negative_errno();
	if (saved != ti.base_cap_eff)
		caps_set_eff(saved);
	if (r < 0)
		return r;
	ti.root_dev = dev;
	ti.root_ino = ino;
	ti.root_mnt = mnt;
	*ret_changed = true;
	return 0;
}

bool identity_root_is(dev_t dev, ino_t ino, uint64_t mnt)
{
	return ident_init() == 0 && dev == ti.root_dev && ino == ti.root_ino && mnt == ti.root_mnt;
}

void identity_leave_root(void)
{
	if (!ti.init || ti.base_root < 0)
		return;
	bool changed;
	identity_enter_root_at(ti.base_root, "", &changed);
	/* enter_root moved the cwd too: relative names in callbacks mean ours again. */
	if (changed && sup_cwd >= 0)
		(void)!fchdir(sup_cwd);
}
