/* Opening a file with the program's own credentials as its opener: some files are judged,
 * long after the open, by the credentials of whoever opened them (file->f_cred), and a file
 * the supervisor opened would carry the supervisor's, never the program's. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <limits.h>
#include <linux/magic.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine.h"
#include "macros.h"
#include "opener.h"
#include "resolve.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define FUSE_MAJOR 10
#define FUSE_MINOR 229
#define MAX_GROUPS 1024

/*
 * The files, by name and file system. What the kernel does with the opener's credentials:
 *  - uid_map, gid_map, projid_map (kernel/user_namespace.c): a write is refused unless the
 *    opener is in the namespace or its parent (proc_uid_map_write), holds CAP_SYS_ADMIN over
 *    it (map_write) and may map the ids (new_idmap_permitted: its euid, its CAP_SETUID over
 *    the parent, CAP_SETFCAP for a root mapping in verify_root_map); a read shows the lower
 *    ids as the opener's namespace counts them (uid_m_show);
 *  - setgroups: opening it for writing needs CAP_SYS_ADMIN over the namespace
 *    (proc_setgroups_open), checked on the task that opens;
 *  - timens_offsets (kernel/time/namespace.c, proc_timens_set_offset): the opener needs
 *    CAP_SYS_TIME over the time namespace's user namespace;
 *  - loginuid (fs/proc/base.c): the uid written and read is counted in the opener's user
 *    namespace;
 *  - cgroup v1 tasks and cgroup.procs (kernel/cgroup/cgroup-v1.c, __cgroup1_procs_write):
 *    the opener's euid must be root or the moved task's uid; cgroup v2 cgroup.procs and
 *    cgroup.threads (__cgroup_procs_write) judge the migration with the opener's credentials
 *    and its cgroup namespace (cgroup_file_open keeps it) as the delegation boundary;
 *  - /dev/fuse (fs/fuse/inode.c, fuse_fill_super): a mount in a user namespace takes only
 *    a descriptor opened in that namespace.
 * The supervisor's thread has the program's fsuid, fsgid, groups and (in the same user
 * namespace) capabilities, but its euid, its user namespace and its cgroup namespace stay
 * the supervisor's: a uid_map write the program may make fails, a cgroup v1 migration it
 * may not make succeeds.
 */
enum kind { K_NONE, K_PROC, K_CGROUP, K_FUSE };

#define SPECIAL(n, k) {n, sizeof(n) - 1, k}
static const struct {
	const char *name;
	size_t len;
	enum kind kind;
} special[] = {
    SPECIAL("uid_map", K_PROC),	     SPECIAL("gid_map", K_PROC),
    SPECIAL("projid_map", K_PROC),   SPECIAL("setgroups", K_PROC),
    SPECIAL("timens_offsets", K_PROC), SPECIAL("loginuid", K_PROC),
    SPECIAL("tasks", K_CGROUP),	     SPECIAL("cgroup.procs", K_CGROUP),
    SPECIAL("cgroup.threads", K_CGROUP), SPECIAL("fuse", K_FUSE),
};
#undef SPECIAL

/* The last component of path, without trailing slashes, in buf. */
static void last_component(const char *path, char *buf, size_t size)
{
	size_t end = strlen(path);
	while (end > 1 && path[end - 1] == '/')
		end--;
	size_t begin = end;
	while (begin > 0 && path[begin - 1] != '/')
		begin--;
	size_t n = end - begin < size - 1 ? end - begin : size - 1;
	memcpy(buf, path + begin, n);
	buf[n] = 0;
}

static enum kind kind_of_name(const char *path)
{
	char name[32];
	last_component(path, name, sizeof(name));
	size_t len = strlen(name);
	/* Every open asks: compare names only where the lengths match. */
	for (size_t i = 0; i < ELEMENTSOF(special); i++)
		if (len == special[i].len && !memcmp(name, special[i].name, len))
			return special[i].kind;
	return K_NONE;
}

bool opener_wanted(const char *path)
{
	return kind_of_name(path) != K_NONE;
}

/* Is the pinned object really one of those files? The name is the kernel's (procfs and
 * cgroupfs names are fixed); the file system and type say the rest. */
static int pin_is_special(int pin)
{
	char real[PATH_MAX];
	int k = resolve_fd_path(pin, real, sizeof(real));
	if (k < 0)
		return k;
	enum kind kind = kind_of_name(real);
	struct stat st;
	struct statfs sfs;
	if (kind == K_NONE)
		return 0;
	if (fstat(pin, &st) < 0 || fstatfs(pin, &sfs) < 0)
		return negative_errno();
	switch (kind) {
	case K_PROC:
		return S_ISREG(st.st_mode) && sfs.f_type == PROC_SUPER_MAGIC;
	case K_CGROUP:
		return S_ISREG(st.st_mode) &&
		       (sfs.f_type == CGROUP_SUPER_MAGIC || sfs.f_type == CGROUP2_SUPER_MAGIC);
	case K_FUSE:
		return S_ISCHR(st.st_mode) && major(st.st_rdev) == FUSE_MAJOR &&
		       minor(st.st_rdev) == FUSE_MINOR;
	default:
		return 0;
	}
}

/* ---- the credentials, from /proc/TID/status ---- */

struct creds {
	unsigned uid[4], gid[4]; /* real, effective, saved, fs */
	int ngroups;
	gid_t groups[MAX_GROUPS];
	uint64_t inh, prm, eff;
};

static int read_status(int dirfd, const char *name, char *buf, size_t size)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ESRCH ? -ENOENT : negative_errno();
	size_t used = 0;
	for (;;) {
		ssize_t n = read(fd, buf + used, size - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == ESRCH ? -ENOENT : negative_errno();
		if (n == 0)
			break;
		used += (size_t)n;
		if (used == size - 1)
			return -E2BIG;
	}
	buf[used] = 0;
	return 0;
}

static const char *field(const char *status, const char *key)
{
	size_t k = strlen(key);
	for (const char *p = status; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, key, k) && p[k] == ':')
			return p + k + 1;
	return NULL;
}

/* The lines that make up the credentials, in one string: two tasks whose lines are equal
 * (read through the same procfs, so the ids count in one namespace) have the same ids,
 * groups and capabilities. */
static int cred_lines(const char *status, char *buf, size_t size)
{
	static const char *const keys[] = {"Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff"};
	size_t used = 0;
	for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
		const char *v = field(status, keys[i]);
		if (!v)
			return -EIO;
		size_t n = strcspn(v, "\n");
		if (used + n + 2 > size)
			return -E2BIG;
		memcpy(buf + used, v, n);
		used += n;
		buf[used++] = '\n';
	}
	buf[used] = 0;
	return 0;
}

static int parse_creds(const char *status, struct creds *c)
{
	const char *u = field(status, "Uid"), *g = field(status, "Gid");
	const char *groups = field(status, "Groups");
	const char *inh = field(status, "CapInh"), *prm = field(status, "CapPrm");
	const char *eff = field(status, "CapEff");
	if (!u || !g || !groups || !inh || !prm || !eff)
		return -EIO;
	if (sscanf(u, "%u %u %u %u", &c->uid[0], &c->uid[1], &c->uid[2], &c->uid[3]) != 4 ||
	    sscanf(g, "%u %u %u %u", &c->gid[0], &c->gid[1], &c->gid[2], &c->gid[3]) != 4)
		return -EIO;
	c->inh = strtoull(inh, NULL, 16);
	c->prm = strtoull(prm, NULL, 16);
	c->eff = strtoull(eff, NULL, 16);
	c->ngroups = 0;
	for (const char *p = groups;;) {
		char *end;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\n' || !*p)
			break;
		unsigned long v = strtoul(p, &end, 10);
		if (end == p)
			return -EIO;
		if (c->ngroups == MAX_GROUPS)
			return -E2BIG; /* cannot be reproduced: refuse rather than open with fewer
					*/
		c->groups[c->ngroups++] = (gid_t)v;
		p = end;
	}
	return 0;
}

/* ---- the child ---- */

struct job {
	int sock, pin, procfd, sup_procfd;
	char pin_name[32]; /* "self/fd/N" in our procfs: the pin, as the child's own fd */
	int flags;
	dev_t userns_dev; /* the supervisor's user namespace */
	ino_t userns_ino;
	struct creds c;
};

struct reply {
	int err;
};

static int caps_set(uint64_t eff, uint64_t prm, uint64_t inh)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2] = {
	    {(uint32_t)eff, (uint32_t)prm, (uint32_t)inh},
	    {(uint32_t)(eff >> 32), (uint32_t)(prm >> 32), (uint32_t)(inh >> 32)},
	};
	return syscall(SYS_capset, &h, d) < 0 ? negative_errno() : 0;
}

/* Our effective set back to all we are permitted: the worker had narrowed it to the
 * program's, and the steps below need CAP_SETUID, CAP_SETGID and CAP_SYS_ADMIN. */
static int caps_raise(void)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) < 0)
		return negative_errno();
	uint64_t prm = d[0].permitted | ((uint64_t)d[1].permitted << 32);
	uint64_t inh = d[0].inheritable | ((uint64_t)d[1].inheritable << 32);
	return caps_set(prm, prm, inh);
}

/* Closes every fd but the n in keep: the worker's table holds every listener we serve. */
static void close_others(int *keep, size_t n)
{
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int t = keep[j];
			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	unsigned lo = 0;
	for (size_t i = 0; i < n; i++) {
		if ((unsigned)keep[i] > lo)
			syscall(SYS_close_range, lo, (unsigned)keep[i] - 1, 0);
		lo = (unsigned)keep[i] + 1;
	}
	syscall(SYS_close_range, lo, ~0U, 0);
}

static bool same_file(int fd1, int dirfd, const char *name)
{
	struct stat a, b;
	return fstat(fd1, &a) == 0 && fstatat(dirfd, name, &b, 0) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

static bool groups_equal(const struct creds *c)
{
	gid_t cur[MAX_GROUPS];
	long n = syscall(SYS_getgroups, MAX_GROUPS, cur);
	return n == c->ngroups && !memcmp(cur, c->groups, (size_t)n * sizeof(gid_t));
}

/*
 * Becomes the program, as far as an open can tell: its groups and ids (set while we still
 * count in our own user namespace, where the program's ids have the values its status
 * shows), then its user and cgroup namespaces, then its capabilities there. Raw system
 * calls only: we are the fork of a threaded process, and glibc's set*id would try to
 * broadcast to threads that this process does not have.
 */
static int become(const struct job *j)
{
	int k = caps_raise();
	if (k < 0)
		return k;
	_cleanup_close_ int userns = openat(j->procfd, "ns/user", O_RDONLY | O_CLOEXEC);
	_cleanup_close_ int cgns = openat(j->procfd, "ns/cgroup", O_RDONLY | O_CLOEXEC);
	if (userns < 0 || cgns < 0)
		return errno == ESRCH ? -ENOENT : negative_errno();
	struct stat st;
	if (fstat(userns, &st) < 0)
		return negative_errno();
	bool foreign = st.st_dev != j->userns_dev || st.st_ino != j->userns_ino;
	/* The cgroup namespace: now, while our capabilities count over the namespace's owner;
	 * an owner inside the program's user namespace is tried again once we are there. */
	bool cg_pending = !same_file(cgns, j->sup_procfd, "self/ns/cgroup");
	if (cg_pending && setns(cgns, CLONE_NEWCGROUP) == 0)
		cg_pending = false;
	/* Our permitted capabilities survive the uid change; the effective set is raised again
	 * after it (setresuid to a non-root euid empties it). */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return negative_errno();
	if (!groups_equal(&j->c) && syscall(SYS_setgroups, j->c.ngroups, j->c.groups) < 0)
		return negative_errno();
	if (syscall(SYS_setresgid, j->c.gid[0], j->c.gid[1], j->c.gid[2]) < 0 ||
	    syscall(SYS_setresuid, j->c.uid[0], j->c.uid[1], j->c.uid[2]) < 0)
		return negative_errno();
	k = caps_raise();
	if (k < 0)
		return k;
	syscall(SYS_setfsgid, j->c.gid[3]);
	syscall(SYS_setfsuid, j->c.uid[3]);
	if ((unsigned)syscall(SYS_setfsgid, -1) != j->c.gid[3] ||
	    (unsigned)syscall(SYS_setfsuid, -1) != j->c.uid[3])
		return -EPERM;
	/* Keeps our ids (setns changes the namespace only) and gives every capability there. */
	if (foreign && setns(userns, CLONE_NEWUSER) < 0)
		return negative_errno();
	if (cg_pending && setns(cgns, CLONE_NEWCGROUP) < 0)
		return negative_errno();
	return caps_set(j->c.eff, j->c.prm, j->c.inh);
}

static int send_reply(int sock, int err, int fd)
{
	struct reply rep = {err};
	struct iovec iov = {&rep, sizeof(rep)};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	if (fd >= 0) {
		memset(&u, 0, sizeof(u));
		m.msg_control = u.buf;
		m.msg_controllen = sizeof(u.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	return sendmsg(sock, &m, MSG_NOSIGNAL) < 0 ? negative_errno() : 0;
}

static _Noreturn void child_main(struct job *j)
{
	/*
	 * Not dumpable, before anything else: once we hold the program's ids (and, in its
	 * user namespace, its capabilities there), a dumpable process would let the program
	 * ptrace us. The fds we do not need go too (every listener of the supervisor is in
	 * this copy of the table).
	 */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	int keep[] = {j->sock, j->pin, j->procfd, j->sup_procfd};
	close_others(keep, ELEMENTSOF(keep));
	char go;
	if (read(j->sock, &go, 1) != 1)
		_exit(1);
	int k = become(j);
	int fd = -1;
	if (k == 0) {
		/* The magic link leads to the very object the policy judged. */
		fd = openat(j->sup_procfd, j->pin_name,
			    (j->flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW)) | O_CLOEXEC);
		k = fd < 0 ? negative_errno() : 0;
	}
	send_reply(j->sock, k, fd);
	/* Alive until the supervisor compared our credentials with the program's. */
	while (read(j->sock, &go, 1) < 0 && errno == EINTR)
		;
	_exit(0);
}

/* ---- the supervisor's side ---- */

static int recv_reply(int sock, int *ret_fd)
{
	struct reply rep;
	struct iovec iov = {&rep, sizeof(rep)};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr m = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = u.buf,
			   .msg_controllen = sizeof(u.buf)};
	*ret_fd = -1;
	ssize_t n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return negative_errno();
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
	    c->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(ret_fd, CMSG_DATA(c), sizeof(int));
	if (n != sizeof(rep) || (m.msg_flags & MSG_CTRUNC) || rep.err > 0 ||
	    (rep.err == 0) != (*ret_fd >= 0)) {
		*ret_fd = safe_close(*ret_fd);
		return -EIO;
	}
	return rep.err;
}

/*
 * Waits for the child's answer. The program may stop or kill the child (it has the
 * program's ids), or abandon its call: we look at the request now and then, so a worker is
 * held no longer than the call it serves.
 */
static int wait_reply(sb_req *r, int sock, int pidfd, int *ret_fd)
{
	for (;;) {
		struct pollfd p = {sock, POLLIN, 0};
		int n = poll(&p, 1, 250);
		if (n < 0 && errno != EINTR)
			return negative_errno();
		if (n > 0)
			return recv_reply(sock, ret_fd);
		int v = sb_req_valid(r);
		if (v < 0) {
			syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
			return v;
		}
	}
}

/* The child's credentials, read through our procfs as the program's were, must be the
 * program's: a step of become() that silently did less would show here. */
static int check_child(sb_req *r, pid_t pid, const char *want)
{
	char name[32], status[8192], lines[4096];
	snprintf(name, sizeof(name), "%d/status", (int)pid);
	int k = read_status(r->s->procfd, name, status, sizeof(status));
	if (k < 0)
		return k;
	k = cred_lines(status, lines, sizeof(lines));
	if (k < 0)
		return k;
	return strcmp(lines, want) ? -EPERM : 0;
}

static int open_as_program(sb_req *r, int pin, int flags)
{
	int procfd = sb_req_procfd(r);
	if (procfd < 0)
		return procfd;
	_cleanup_free_ struct job *j = calloc(1, sizeof(*j));
	_cleanup_free_ char *status = malloc(8192), *want = malloc(4096);
	if (!j || !status || !want)
		return -ENOMEM;
	/* Read once: the calling thread cannot change its credentials while it waits in this
	 * call (no other thread can change them for it), and if it leaves, ADDFD fails. */
	int k = read_status(procfd, "status", status, 8192);
	if (k < 0)
		return k;
	k = parse_creds(status, &j->c);
	if (k < 0)
		return k;
	k = cred_lines(status, want, 4096);
	if (k < 0)
		return k;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return negative_errno();
	_cleanup_close_ int sock = sv[0];
	j->sock = sv[1];
	j->pin = pin;
	j->procfd = procfd;
	j->sup_procfd = r->s->procfd;
	snprintf(j->pin_name, sizeof(j->pin_name), "self/fd/%d", pin);
	j->flags = flags;
	j->userns_dev = r->s->userns_dev;
	j->userns_ino = r->s->userns_ino;
	pid_t pid = fork();
	if (pid < 0) {
		safe_close(sv[1]);
		return negative_errno();
	}
	if (pid == 0)
		child_main(j);
	safe_close(sv[1]);
	/* A pidfd before the child may do anything: `sysbroker run` reaps every child of ours
	 * it sees exit, so a pid alone could name another process by the time we wait. */
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0) {
		k = negative_errno();
		kill(pid, SIGKILL); /* still ours: it waits for our byte, unreaped */
		waitpid(pid, NULL, 0);
		return k;
	}
	int fd = -1;
	k = write(sock, "g", 1) == 1 ? 0 : negative_errno();
	if (k == 0)
		k = wait_reply(r, sock, pidfd, &fd);
	if (k == 0) {
		k = check_child(r, pid, want);
		if (k < 0)
			fd = safe_close(fd);
	}
	sock = safe_close(sock); /* the child exits */
	siginfo_t si;
	while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0 && errno == EINTR)
		;
	return k < 0 ? k : fd;
}

int opener_reopen(sb_req *r, int pin, int flags)
{
	int k = pin_is_special(pin);
	if (k < 0)
		return k;
	return k ? open_as_program(r, pin, flags) : resolve_reopen(pin, flags);
}
