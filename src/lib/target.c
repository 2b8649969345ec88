/* Access to the process behind a request: its memory, fds, identity and namespaces, each
 * followed by an ID_VALID check so what we got belongs to the thread that made the call. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine.h"
#include "macros.h"

#define PAGE 4096UL

/*
 * An fd just opened on the target's behalf counts only if the request is still pending
 * afterwards: then the tid it names was still our target when we opened it (no pid reuse).
 * Returns fd, or closes it and returns -ENOENT (or the ioctl's error).
 */
static int keep_if_valid(sb_req *r, int fd)
{
	int v = sb_req_valid(r);
	if (v < 0) {
		safe_close(fd);
		return v;
	}
	return fd;
}

static int procfd_open(sb_req *r)
{
	char path[32];
	snprintf(path, sizeof(path), "%d", (int)r->notif->pid);
	if (r->notif->pid == 0)
		return -ESRCH; /* not visible in our pid namespace */
	/* Relative to our own /proc: this thread may be chrooted into the target's root,
	 * whose /proc (if any) counts pids in another namespace. */
	int fd = openat(r->s->procfd, path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT : negative_errno();
	return fd;
}

int req_procfd_early(sb_req *r)
{
	if (r->procfd >= 0)
		return r->procfd;
	int fd = procfd_open(r);
	if (fd >= 0) {
		r->procfd = fd;
		r->procfd_unchecked = true;
	}
	return fd;
}

int sb_req_procfd(sb_req *r)
{
	if (r->procfd >= 0 && !r->procfd_unchecked)
		return r->procfd;
	if (r->procfd >= 0) {
		int v = sb_req_valid(r);
		return v < 0 ? v : r->procfd;
	}
	int fd = procfd_open(r);
	if (fd < 0)
		return fd;
	fd = keep_if_valid(r, fd);
	if (fd >= 0)
		r->procfd = fd;
	return fd;
}

int sb_req_pidfd(sb_req *r)
{
	if (r->pidfd >= 0)
		return r->pidfd;
	if (r->ident_have && r->ident.fds) {
		/* The identity's own (PIDFD_THREAD), once an ID_VALID proved it the caller's. */
		if (r->ident_unchecked) {
			int v = sb_req_valid(r);
			if (v < 0)
				return v;
		}
		return r->ident.fds->pidfd;
	}
	if (r->notif->pid == 0)
		return -ESRCH;
	/* The notification names a thread; without PIDFD_THREAD a non-leader tid fails. */
	unsigned flags = r->s->features.pidfd_thread ? PIDFD_THREAD : 0;
	int fd = (int)syscall(SYS_pidfd_open, r->notif->pid, flags);
	if (fd < 0 && flags == 0 && errno == ENOENT) {
		pid_t tgid = sb_req_tgid(r);
		if (tgid > 0)
			fd = (int)syscall(SYS_pidfd_open, tgid, 0);
	}
	if (fd < 0)
		return errno == ESRCH ? -ENOENT : negative_errno();
	fd = keep_if_valid(r, fd);
	if (fd >= 0)
		r->pidfd = fd;
	return fd;
}

int sb_req_getfd(sb_req *r, int targetfd)
{
	if (targetfd < 0)
		return -EBADF;
	int pidfd = sb_req_pidfd(r);
	if (pidfd < 0)
		return pidfd;
	int fd = (int)syscall(SYS_pidfd_getfd, pidfd, targetfd, 0);
	if (fd < 0)
		return errno == ESRCH ? -ENOENT : negative_errno();
	return keep_if_valid(r, fd);
}

/* Reads a status-like file under dfd (/proc/TID) into buf (NUL-terminated). */
static int status_read(int dfd, const char *name, char *buf, size_t size)
{
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ESRCH ? -ENOENT : negative_errno();
	size_t used = 0;
	while (used + 1 < size) {
		ssize_t n = read(fd, buf + used, size - 1 - used);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == ESRCH ? -ENOENT : negative_errno();
		}
		used += (size_t)n;
		/* procfs hands out the whole file when it fits: a short read is the end
		 * (saves the read that would return 0). */
		if ((size_t)n < size - 1 - (used - (size_t)n))
			break;
	}
	buf[used] = 0;
	return (int)used;
}

/* The identity read early (req_ident_early), proven the caller's by an ID_VALID since. */
static int ident_checked(sb_req *r)
{
	int k = req_ident_early(r);
	if (k < 0 || !r->ident_unchecked)
		return k;
	return sb_req_valid(r);
}

pid_t sb_req_tgid(sb_req *r)
{
	if (r->tgid <= 0 && ident_checked(r) == 0)
		r->tgid = r->ident.tgid;
	return r->tgid > 0 ? r->tgid : 0;
}

int req_cap_permitted(sb_req *r, uint64_t *ret)
{
	int k = ident_checked(r);
	if (k == 0)
		*ret = r->ident.cap_prm;
	return k;
}

static const char *status_field(const char *buf, const char *key)
{
	size_t k = strlen(key);
	for (const char *p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, key, k) && p[k] == ':')
			return p + k + 1;
	return NULL;
}

/* Parses a line of numbers ("5000 2") into ids; returns how many (at most max). */
static int number_list(const char *p, pid_t *ids, int max)
{
	int n = 0;
	char *end;
	while (n < max) {
		long v = strtol(p, &end, 10);
		if (end == p)
			break;
		ids[n++] = (pid_t)v;
		p = end;
		if (*p == '\n' || *p == 0)
			break;
	}
	return n;
}

/* Credentials, tgid and CapPrm from /proc/TID/status through procfd (opened before an
 * ID_VALID to come), and whether its user namespace is ours. */
static int creds_read(sb_req *r, int procfd, struct tcache_ident *id)
{
	sb_creds *ret = &id->creds;
	int *ret_foreign = &id->userns_foreign;
	char buf[8192];
	int n = status_read(procfd, "status", buf, sizeof(buf));
	if (n < 0)
		return n;
	memset(ret, 0, sizeof(*ret));
	const char *uid = status_field(buf, "Uid"), *gid = status_field(buf, "Gid");
	const char *cap = status_field(buf, "CapEff"), *um = status_field(buf, "Umask");
	const char *groups = status_field(buf, "Groups"), *tgid = status_field(buf, "Tgid");
	const char *prm = status_field(buf, "CapPrm");
	if (!uid || !gid || !cap || !tgid || !prm)
		return -EIO;
	id->tgid = (pid_t)strtol(tgid, NULL, 10);
	/* As the status shows it (access() lends root its permitted set). */
	id->cap_prm = strtoull(prm, NULL, 16);
	unsigned u[4], g[4];
	if (sscanf(uid, "%u %u %u %u", &u[0], &u[1], &u[2], &u[3]) != 4 ||
	    sscanf(gid, "%u %u %u %u", &g[0], &g[1], &g[2], &g[3]) != 4)
		return -EIO;
	ret->ruid = u[0], ret->euid = u[1], ret->suid = u[2], ret->fsuid = u[3];
	ret->rgid = g[0], ret->egid = g[1], ret->sgid = g[2], ret->fsgid = g[3];
	ret->cap_eff = strtoull(cap, NULL, 16);
	ret->umask = um ? (mode_t)strtoul(um, NULL, 8) : 022;
	/* NStgid/NSpid list the ids from our namespace inwards; the last is its own. */
	const char *nst = status_field(buf, "NStgid"), *nsp = status_field(buf, "NSpid");
	int nt = nst ? number_list(nst, ret->ns_tgids, (int)ELEMENTSOF(ret->ns_tgids)) : 0;
	int np = nsp ? number_list(nsp, ret->ns_tids, (int)ELEMENTSOF(ret->ns_tids)) : 0;
	ret->ns_depth = nt < np ? nt : np;
	ret->ns_tgid = ret->ns_depth ? ret->ns_tgids[ret->ns_depth - 1] : 0;
	ret->ns_tid = ret->ns_depth ? ret->ns_tids[ret->ns_depth - 1] : 0;
	if (groups) {
		char *end;
		const char *p = groups;
		while (ret->ngroups < (int)ELEMENTSOF(ret->groups)) {
			unsigned long v = strtoul(p, &end, 10);
			if (end == p)
				break;
			ret->groups[ret->ngroups++] = (gid_t)v;
			p = end;
		}
	}
	/*
	 * CapEff counts in the target's own user namespace: root of a namespace it made with
	 * unshare(CLONE_NEWUSER) shows every capability, which hold nothing over our objects.
	 * We act in our namespace, so such a target gets none lent. readlink names the
	 * namespace ("user:[INO]", all in the one nsfs) without the dentry that a stat of the
	 * magic link allocates and frees each time.
	 */
	char link[64], want[64];
	ssize_t k = readlinkat(procfd, "ns/user", link, sizeof(link) - 1);
	snprintf(want, sizeof(want), "user:[%lu]", (unsigned long)r->s->userns_ino);
	*ret_foreign = k <= 0 ? -1 : (link[k] = 0, strcmp(link, want) != 0);
	if (*ret_foreign != 0) {
		/* another namespace's, or cannot tell: lend nothing (nor, to access(), the
		 * permitted set a root there shows) */
		ret->cap_eff = 0;
		id->cap_prm = 0;
	}
	return 0;
}

static void root_read(int procfd, struct tcache_ident *id)
{
	struct statx sx;
	id->root_known = statx(procfd, "root", 0, STATX_INO | STATX_MNT_ID, &sx) == 0;
	if (!id->root_known)
		return;
	id->root_dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
	id->root_ino = sx.stx_ino;
	id->root_mnt = (sx.stx_mask & STATX_MNT_ID) ? sx.stx_mnt_id : 0;
}

int req_ident_early(sb_req *r)
{
	if (r->ident_have)
		return 0;
	pid_t tid = (pid_t)r->notif->pid;
	struct tcache *t = r->l->ident_cache && tcache_usable(r->s->tcache, r->l->execs_counted)
				   ? r->s->tcache
				   : NULL;
	if (t && tcache_lookup(t, tid, &r->ident) == 0) {
		r->ident_have = r->ident_unchecked = true;
		return 0;
	}
	struct tcache_ident *id = &r->ident;
	id->tid = tid;
	/* The generation and tid count before the read: a change made meanwhile makes the
	 * entry stale. */
	if (t)
		tcache_stamp(t, id);
	int procfd = req_procfd_early(r);
	if (procfd < 0)
		return procfd;
	int k = creds_read(r, procfd, id);
	if (k < 0)
		return k;
	root_read(procfd, id);
	/*
	 * The pidfd that keeps the entry honest (polled, without the thread watch): it names
	 * the thread with this tid now, and the ID_VALID that must follow before the entry is
	 * stored proves the caller held the tid all along, so pidfd, /proc/TID and the caller
	 * are one thread (and, with the watch, that it had not ended before the count read).
	 */
	int pidfd = t ? (int)syscall(SYS_pidfd_open, tid, PIDFD_THREAD) : -1;
	id->fds = pidfd >= 0 ? tcache_fds_new(pidfd) : NULL;
	r->ident_store = id->fds != NULL;
	r->ident_have = r->ident_unchecked = true;
	return 0;
}

int req_userns_foreign(sb_req *r)
{
	int k = req_ident_early(r);
	if (k < 0)
		return k;
	return r->ident.userns_foreign < 0 ? -EIO : r->ident.userns_foreign;
}

int req_root_id(sb_req *r, dev_t *dev, ino_t *ino, uint64_t *mnt)
{
	if (!r->ident_have || !r->ident.root_known)
		return 0;
	*dev = r->ident.root_dev;
	*ino = r->ident.root_ino;
	*mnt = r->ident.root_mnt;
	return 1;
}

int sb_req_creds(sb_req *r, sb_creds *ret)
{
	int k = ident_checked(r);
	if (k == 0)
		*ret = r->ident.creds;
	return k;
}

/* process_vm_readv, or /proc/TID/mem where cross-memory attach is unavailable. */
static ssize_t mem_read_raw(sb_req *r, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = {buf, len}, remote = {(void *)(uintptr_t)addr, len};
	ssize_t n = process_vm_readv(r->notif->pid, &local, 1, &remote, 1, 0);
	if (n >= 0 || (errno != ENOSYS && errno != EPERM))
		return n < 0 ? (errno == ESRCH ? -ENOENT : negative_errno()) : n;
	if (r->memfd < 0) {
		int dfd = sb_req_procfd(r);
		if (dfd < 0)
			return dfd;
		int fd = openat(dfd, "mem", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return negative_errno();
		fd = keep_if_valid(r, fd);
		if (fd < 0)
			return fd;
		r->memfd = fd;
	}
	n = pread(r->memfd, buf, len, (off_t)addr);
	return n < 0 ? (errno == EIO ? -EFAULT : negative_errno()) : n;
}

int sb_req_read(sb_req *r, uint64_t addr, void *buf, size_t len)
{
	if (len == 0)
		return sb_req_valid(r);
	if (addr + len < addr)
		return -EFAULT;
	ssize_t n = mem_read_raw(r, addr, buf, len);
	if (n < 0)
		return (int)n;
	if ((size_t)n != len)
		return -EFAULT; /* partially unmapped: the real call would fault too */
	/* The bytes are ours now; make sure they came from the thread that is still in
	 * this call (no pid reuse, no abandoned call) before anybody acts on them. */
	return sb_req_valid(r);
}

int sb_req_read_string(sb_req *r, uint64_t addr, char *buf, size_t size)
{
	if (size == 0)
		return -EINVAL;
	if (addr == 0)
		return -EFAULT;
	size_t used = 0;
	while (used < size) {
		/* Never read across a page we do not need: the next page may be unmapped
		 * although the string ends before it. */
		size_t chunk = PAGE - ((addr + used) % PAGE);
		if (chunk > size - used)
			chunk = size - used;
		ssize_t n = mem_read_raw(r, addr + used, buf + used, chunk);
		if (n < 0)
			return (int)n;
		if (n == 0)
			return -EFAULT;
		char *nul = memchr(buf + used, 0, (size_t)n);
		if (nul) {
			int v = sb_req_valid(r);
			return v < 0 ? v : (int)(nul - buf);
		}
		used += (size_t)n;
	}
	buf[size - 1] = 0;
	return -ENAMETOOLONG;
}

/*
 * /proc/TID/mem for writing: the thread's cached one (it stays on the memory it was opened
 * on, and an exec, which replaces that memory, makes the identity stale), else one opened
 * for this request (*own, closed by the caller).
 */
static int mem_for_write(sb_req *r, int *own)
{
	struct tcache_fds *f = r->ident_have ? r->ident.fds : NULL;
	int fd = f ? atomic_load(&f->memfd) : -1;
	if (fd >= 0)
		return fd;
	int dfd = sb_req_procfd(r);
	if (dfd < 0)
		return dfd;
	fd = openat(dfd, "mem", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ESRCH ? -ENOENT : negative_errno();
	int none = -1;
	if (f && !r->ident_unchecked && atomic_compare_exchange_strong(&f->memfd, &none, fd))
		return fd; /* the identity's now, closed with it */
	*own = fd;
	return fd;
}

int sb_req_write(sb_req *r, uint64_t addr, const void *buf, size_t len)
{
	if (len == 0)
		return 0;
	/*
	 * Through /proc/TID/mem opened from the validated /proc/TID, never process_vm_writev
	 * by number: between a check and a write by pid, the target could die and its pid be
	 * reused, and we would write into a stranger. This fd fails instead (ESRCH/EOF).
	 */
	_cleanup_close_ int own = -1;
	int fd = mem_for_write(r, &own);
	if (fd < 0)
		return fd;
	ssize_t n = pwrite(fd, buf, len, (off_t)addr);
	if (n < 0)
		return errno == ESRCH ? -ENOENT : (errno == EIO ? -EFAULT : negative_errno());
	return (size_t)n == len ? 0 : -EFAULT;
}

int sb_req_run_in_ns(sb_req *r, int nstypes, int (*fn)(void *arg), void *arg)
{
	int pidfd = sb_req_pidfd(r);
	if (pidfd < 0)
		return pidfd;
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return negative_errno();
	pid_t pid = fork();
	if (pid < 0) {
		safe_close(pfd[0]);
		safe_close(pfd[1]);
		return negative_errno();
	}
	if (pid == 0) {
		/* setns with a pidfd joins all the requested namespaces atomically (5.8). */
		int res = setns(pidfd, nstypes) < 0 ? negative_errno() : fn(arg);
		(void)!write(pfd[1], &res, sizeof(res));
		_exit(0);
	}
	safe_close(pfd[1]);
	int res = -EIO;
	ssize_t n;
	do
		n = read(pfd[0], &res, sizeof(res));
	while (n < 0 && errno == EINTR);
	safe_close(pfd[0]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return n == sizeof(res) ? res : -EIO;
}
