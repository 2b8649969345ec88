/* Shared steps of the network handler families: the program's socket taken as an object of
 * ours, its address copied once, the policy's answer for where that address leads, the
 * operation performed on our copies, and waits that give up when the program is interrupted. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "fs_common.h"
#include "identity.h"
#include "macros.h"
#include "net_common.h"
#include "resolve.h"
#include "strutil.h"

#ifndef SIOCGSKNS
#define SIOCGSKNS 0x894C /* 4.9: the socket's network namespace as an fd */
#endif

int net_sandbox_new(struct sb_sandbox *sb)
{
	struct net_sandbox *n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	sb_policy_settings set;
	sb_policy_get_settings(sb->policy, &set);
	n->trivial = policy_net_is_trivial(sb->policy);
	n->broker = set.net_broker;
	n->publish = policy_next(sb->policy, RULE_PUBLISH, NULL) != NULL;
	struct stat st;
	if (stat("/proc/thread-self/ns/net", &st) == 0)
		n->own_netns = st.st_ino;
	pthread_mutex_init(&n->lock, NULL);
	sb->net = n;
	return 0;
}

void net_sandbox_free(struct sb_sandbox *sb)
{
	struct net_sandbox *n = sb->net;
	if (!n)
		return;
	publish_free(n->pub);
	pthread_mutex_destroy(&n->lock);
	free(n);
	sb->net = NULL;
}

/* The families are installed only where they have work: a net rule or the audit needs every
 * call judged or recorded; the broker needs connect; publish needs bind, listen and accept. */
bool net_wants_connect(const struct sb_sandbox *sb)
{
	return !sb->net->trivial || sb->audit_fd >= 0 || sb->net->broker;
}

bool net_wants_send(const struct sb_sandbox *sb)
{
	return !sb->net->trivial || sb->audit_fd >= 0;
}

bool net_wants_bind(const struct sb_sandbox *sb)
{
	return !sb->net->trivial || sb->audit_fd >= 0 || sb->net->publish;
}

bool net_wants_publish(const struct sb_sandbox *sb)
{
	return sb->net->publish;
}

void net_begin(sb_req *r, struct sb_sandbox *sb)
{
	/* The audit line is written after the answer, when the request can no longer vouch
	 * for /proc/TID: open it (and read the pid) while it still can. */
	if (sb->audit_fd >= 0)
		sb_req_tgid(r);
}

int net_sock_take(sb_req *r, int targetfd, struct net_sock *ret)
{
	ret->fd = -1;
	if (targetfd < 0)
		return -EBADF;
	_cleanup_close_ int fd = sb_req_getfd(r, targetfd);
	if (fd < 0)
		return fd;
	socklen_t l = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &ret->family, &l) < 0)
		return negative_errno(); /* ENOTSOCK, as the call would fail */
	l = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &ret->type, &l) < 0)
		return negative_errno();
	l = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &ret->protocol, &l) < 0)
		ret->protocol = 0;
	ret->flags = fcntl(fd, F_GETFL);
	if (ret->flags < 0)
		return negative_errno();
	ret->fd = TAKE_FD(fd);
	return 0;
}

void net_sock_release(struct net_sock *s)
{
	s->fd = safe_close(s->fd);
}

int net_sock_foreign(struct sb_sandbox *sb, const struct net_sock *s)
{
	/* SIOCGSKNS asks CAP_NET_ADMIN over the socket's namespace of us, not of the program.
	 * Without it we cannot tell: "ours", and the call then runs where the socket is (an
	 * empty namespace has no route: it fails closed). */
	_cleanup_close_ int ns = ioctl(s->fd, SIOCGSKNS);
	if (ns < 0)
		return errno == EPERM ? 0 : negative_errno();
	struct stat st;
	if (fstat(ns, &st) < 0)
		return negative_errno();
	return st.st_ino != sb->net->own_netns;
}

bool net_sock_brokerable(const struct net_sock *s)
{
	if (s->family != AF_INET && s->family != AF_INET6)
		return false;
	if (s->type == SOCK_STREAM)
		return s->protocol == IPPROTO_TCP || s->protocol == IPPROTO_MPTCP ||
		       s->protocol == 0;
	return s->type == SOCK_DGRAM && (s->protocol == IPPROTO_UDP || s->protocol == 0);
}

void net_dest_init(struct net_dest *d)
{
	memset(d, 0, sizeof(*d));
	d->pin = -1;
}

void net_dest_release(struct net_dest *d)
{
	d->pin = safe_close(d->pin);
}

int net_dest_copy(sb_req *r, uint64_t addr, uint64_t len, struct net_dest *d)
{
	net_dest_init(d);
	/* move_addr_to_kernel: the length is an int, 0..sizeof(sockaddr_storage). */
	int ilen = (int)len;
	if (ilen < 0 || (size_t)ilen > sizeof(d->ss))
		return -EINVAL;
	d->len = (socklen_t)ilen;
	if (ilen == 0)
		return 0; /* no bytes read: the kernel does not look at the pointer either */
	int k = sb_req_read(r, addr, &d->ss, d->len);
	if (k < 0)
		return k;
	d->present = true;
	return 0;
}

const struct sockaddr *net_dest_sa(const struct net_dest *d, socklen_t *ret_len)
{
	if (d->pin >= 0) {
		*ret_len = d->via_len;
		return (const struct sockaddr *)&d->via;
	}
	*ret_len = d->len;
	return (const struct sockaddr *)&d->ss;
}

void net_format_addr(const struct sockaddr *sa, socklen_t len, char *buf, size_t size)
{
	sa_family_t fam = AF_UNSPEC;
	if (len >= sizeof(fam))
		memcpy(&fam, sa, sizeof(fam));
	char ip[INET6_ADDRSTRLEN];
	if (fam == AF_INET && len >= sizeof(struct sockaddr_in)) {
		struct sockaddr_in sin;
		memcpy(&sin, sa, sizeof(sin));
		inet_ntop(AF_INET, &sin.sin_addr, ip, sizeof(ip));
		snprintf(buf, size, "%s:%u", ip, ntohs(sin.sin_port));
	} else if (fam == AF_INET6 && len >= offsetof(struct sockaddr_in6, sin6_scope_id)) {
		struct sockaddr_in6 sin6 = {};
		memcpy(&sin6, sa, len < sizeof(sin6) ? len : sizeof(sin6));
		inet_ntop(AF_INET6, &sin6.sin6_addr, ip, sizeof(ip));
		snprintf(buf, size, "[%s]:%u", ip, ntohs(sin6.sin6_port));
	} else if (fam == AF_UNIX) {
		const char *p = ((const struct sockaddr_un *)sa)->sun_path;
		size_t n = len - offsetof(struct sockaddr_un, sun_path);
		if (len <= offsetof(struct sockaddr_un, sun_path)) {
			snprintf(buf, size, "unix:");
		} else if (p[0] == 0) {
			/* Abstract: '@' for the leading NUL; other NULs are shown as '@' too. */
			size_t o = (size_t)snprintf(buf, size, "unix:@");
			for (size_t i = 1; i < n && o + 1 < size; i++)
				buf[o++] = p[i] ? p[i] : '@';
			if (o < size)
				buf[o] = 0;
		} else {
			snprintf(buf, size, "unix:%.*s", (int)strnlen(p, n), p);
		}
	} else if (fam == AF_UNSPEC) {
		snprintf(buf, size, "unspec");
	} else {
		snprintf(buf, size, "family:%u", (unsigned)fam);
	}
}

void net_note_addr(sb_req *r, const struct sockaddr *sa, socklen_t len)
{
	sb_req_note *n = sb_req_note_get(r);
	net_format_addr(sa, len, n->addr, sizeof(n->addr));
}

static void note_verdict(sb_req *r, const struct net_decision *d)
{
	sandbox_note_rule(r, d->verdict == NET_ALLOW ? "allow" : "deny", d->rule);
}

int net_decide_other(sb_req *r, struct sb_sandbox *sb, enum net_op op)
{
	const sb_policy *p = sb->policy;
	for (size_t i = policy_n_rules(p); i > 0; i--) {
		const struct policy_rule *rule = policy_rule(p, i - 1);
		bool connect_kind = rule->kind == RULE_NET_ALLOW || rule->kind == RULE_NET_DENY;
		bool bind_kind = rule->kind == RULE_BIND_ALLOW || rule->kind == RULE_BIND_DENY;
		if ((op == NET_BIND ? !bind_kind : !connect_kind) || rule->addr.type != ADDR_ANY)
			continue;
		bool allow = rule->kind == RULE_NET_ALLOW || rule->kind == RULE_BIND_ALLOW;
		sandbox_note_rule(r, allow ? "allow" : "deny", rule);
		return allow ? 0 : EACCES;
	}
	bool allow = policy_net_default(p) == NET_ALLOW;
	sandbox_note_rule(r, allow ? "allow" : "deny", NULL);
	return allow ? 0 : EACCES;
}

/* An abstract unix name (the bytes after the leading NUL). */
static int decide_abstract(sb_req *r, struct sb_sandbox *sb, enum net_op op, const char *name,
			   size_t n)
{
	char buf[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	memcpy(buf, name, n);
	buf[n] = 0;
	if (memchr(name, 0, n) && !sb->net->trivial) {
		/* The policy's globs are C strings: a name with NUL bytes would be judged by its
		 * first part only, so it is refused (policy.h). */
		sandbox_note_rule(r, "deny", NULL);
		return EACCES;
	}
	struct net_decision dec;
	policy_net_decide_unix(sb->policy, op, buf, true, &dec);
	note_verdict(r, &dec);
	return dec.verdict == NET_ALLOW ? 0 : EACCES;
}

/*
 * A unix socket path for connect or send: resolved as the kernel would for the program (its
 * root, its cwd, its identity, symlinks followed), then pinned. Decisions are on the socket
 * file reached, which is then reached again through the pin's magic link, never by name.
 */
static int decide_unix_path(sb_req *r, struct sb_sandbox *sb, struct net_dest *d, const char *path)
{
	struct resolve_ctx c;
	int k = resolve_begin(r, AT_FDCWD_ARG, path, false, &c);
	if (k < 0)
		return -k;
	char real[PATH_MAX];
	_cleanup_close_ int pin = resolve_pin(&c, c.startfd, path, true, 0);
	if (pin < 0) {
		resolve_end(&c);
		return -pin;
	}
	struct stat st;
	k = fstat(pin, &st) < 0 ? errno : 0;
	if (!k && !S_ISSOCK(st.st_mode))
		k = ECONNREFUSED; /* unix_find_bsd: not a socket */
	if (!k)
		k = resolve_fd_path(pin, real, sizeof(real)) < 0 ? ENAMETOOLONG : 0;
	if (!k) {
		sb_req_note *n = sb_req_note_get(r);
		snprintf(n->addr, sizeof(n->addr), "unix:%.*s", (int)sizeof(n->addr) - 6, real);
		/* A socket file is a file: deny and hide apply to it as to an open. */
		k = fs_decide(r, sb, real, FS_WANT_READ);
	}
	/* The kernel wants write permission on the socket file (unix_find_bsd); checked here
	 * with the program's identity, since the connect itself may run with ours. */
	if (!k && syscall(SYS_faccessat2, pin, "", W_OK, AT_EMPTY_PATH | AT_EACCESS) < 0)
		k = errno;
	resolve_end(&c);
	if (k)
		return k;
	struct net_decision dec;
	policy_net_decide_unix(sb->policy, NET_CONNECT, real, false, &dec);
	note_verdict(r, &dec);
	if (dec.verdict != NET_ALLOW)
		return EACCES;
	d->pin = TAKE_FD(pin);
	d->via.sun_family = AF_UNIX;
	int n = snprintf(d->via.sun_path, sizeof(d->via.sun_path), "self/fd/%d", d->pin);
	d->via_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}

static int decide_unix(sb_req *r, struct sb_sandbox *sb, enum net_call call, struct net_dest *d)
{
	const struct sockaddr_un *sun = (const struct sockaddr_un *)&d->ss;
	const size_t off = offsetof(struct sockaddr_un, sun_path);
	enum net_op op = call == CALL_BIND ? NET_BIND : NET_CONNECT;
	if (d->len <= off) {
		/* Only the family: bind autobinds an abstract name of the kernel's choosing;
		 * connect and send look the empty abstract name up. */
		return decide_abstract(r, sb, op, "", 0);
	}
	size_t n = d->len - off;
	if (sun->sun_path[0] == 0)
		return decide_abstract(r, sb, op, sun->sun_path + 1, n - 1);
	if (call == CALL_BIND)
		return 0; /* the bind handler resolves the parent itself */
	/* unix_mkname_bsd: the path ends at the length given or at the first NUL. */
	char path[sizeof(sun->sun_path) + 1];
	size_t pl = strnlen(sun->sun_path, n);
	memcpy(path, sun->sun_path, pl);
	path[pl] = 0;
	return decide_unix_path(r, sb, d, path);
}

int net_decide(sb_req *r, struct sb_sandbox *sb, enum net_call call, const struct net_sock *s,
	       struct net_dest *d)
{
	enum net_op op = call == CALL_BIND ? NET_BIND : NET_CONNECT;
	if (!d->present) {
		/* No address: the socket's own peer, nothing to judge. */
		d->unspec = true;
		sb_req_note_get(r)->action = "allow";
		return 0;
	}
	net_note_addr(r, (const struct sockaddr *)&d->ss, d->len);
	sa_family_t fam = AF_UNSPEC;
	if (d->len >= sizeof(fam))
		memcpy(&fam, &d->ss, sizeof(fam));

	switch (s->family) {
	case AF_UNIX:
		if (fam != AF_UNIX) {
			/* unix sockets take no other family: AF_UNSPEC disconnects a datagram
			 * socket, anything else fails in the kernel. No destination either way. */
			d->unspec = true;
			sb_req_note_get(r)->action = "allow";
			return 0;
		}
		return decide_unix(r, sb, call, d);
	case AF_INET:
	case AF_INET6: {
		struct sockaddr_storage judged = d->ss;
		if (fam == AF_UNSPEC) {
			if (call == CALL_CONNECT) {
				/* inet_dgram_connect/__inet_stream_connect: a disconnect. */
				d->unspec = true;
				sb_req_note_get(r)->action = "allow";
				return 0;
			}
			/*
			 * The kernel reads AF_UNSPEC as the socket's own family in places:
			 * udp_sendmsg and inet_bind take it as AF_INET, rawv6_sendmsg as
			 * AF_INET6. Judge it as that, never as "no address".
			 */
			sa_family_t sf = (sa_family_t)s->family;
			memcpy(&judged, &sf, sizeof(sf));
		} else if (fam != AF_INET && fam != AF_INET6) {
			sandbox_note_rule(r, "deny", NULL);
			return EAFNOSUPPORT; /* no inet protocol takes another family */
		}
		struct net_decision dec;
		int k = policy_net_decide(sb->policy, op, (const struct sockaddr *)&judged, d->len,
					  &dec);
		if (k < 0) {
			sandbox_note_rule(r, "deny", NULL);
			return -k; /* too short for its family: EINVAL, as the kernel */
		}
		note_verdict(r, &dec);
		return dec.verdict == NET_ALLOW ? 0 : EACCES;
	}
	case AF_NETLINK:
		/* The kernel's own messaging, not a network: no rule is about it. */
		sb_req_note_get(r)->action = "allow";
		return 0;
	default:
		/* packet, vsock and the rest: only `any` and the default speak of them. */
		return net_decide_other(r, sb, op);
	}
}

static uint64_t status_mask(const char *buf, const char *key)
{
	const char *p = strstr(buf, key);
	return p ? strtoull(p + strlen(key), NULL, 16) : 0;
}

/*
 * Under WAIT_KILLABLE_RECV (sysbroker run uses it) a call we received waits for our answer
 * through any non-fatal signal: the signal stays pending. A blocking connect, accept or send
 * natively ends with EINTR when a handled signal comes, so we end ours: when the thread has a
 * caught, unblocked signal pending, answer EINTR. Not for the signals whose default is to be
 * ignored (SIGCHLD, SIGCONT, SIGURG, SIGWINCH): their handlers are bookkeeping installed with
 * SA_RESTART, where the call natively goes on; they wait for our answer instead.
 */
static bool interrupt_pending(sb_req *r)
{
	int procfd = sb_req_procfd(r);
	if (procfd < 0)
		return false;
	char buf[4096];
	_cleanup_close_ int fd = openat(procfd, "status", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return false;
	buf[n] = 0;
	uint64_t pending = status_mask(buf, "\nSigPnd:");
	const char *t = strstr(buf, "\nThreads:");
	/* A signal for the whole process goes to this thread only if it is the only one. */
	if (t && strtol(t + 9, NULL, 10) == 1)
		pending |= status_mask(buf, "\nShdPnd:");
	const uint64_t deferred = 1ULL << (SIGCHLD - 1) | 1ULL << (SIGCONT - 1) |
				  1ULL << (SIGURG - 1) | 1ULL << (SIGWINCH - 1);
	return pending & ~status_mask(buf, "\nSigBlk:") & status_mask(buf, "\nSigCgt:") & ~deferred;
}

int net_wait_any(sb_req *r, struct pollfd *fds, int n, int64_t timeout_ms)
{
	int pidfd = sb_req_pidfd(r);
	struct pollfd p[8];
	if (n < 0 || n > 7)
		return -EINVAL;
	if (n)
		memcpy(p, fds, n * sizeof(*p));
	/* The calling thread's pidfd turns readable when it exits: no need to wait a slice. */
	p[n] = (struct pollfd){.fd = pidfd, .events = POLLIN};
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		int slice = 50;
		if (timeout_ms >= 0) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			int64_t spent =
			    (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
			if (spent >= timeout_ms)
				return 0;
			if (timeout_ms - spent < slice)
				slice = (int)(timeout_ms - spent);
		}
		int k = poll(p, (nfds_t)(pidfd >= 0 ? n + 1 : n), slice);
		if (k < 0 && errno != EINTR)
			return negative_errno();
		if (k > 0) {
			bool any = false;
			for (int i = 0; i < n; i++) {
				fds[i].revents = p[i].revents;
				any |= p[i].revents != 0;
			}
			if (any)
				return 1;
			if (pidfd >= 0 && p[n].revents)
				return -ENOENT;
		}
		/* Nothing on our side: is the program still waiting for us? A signal that
		 * interrupted its call makes the id vanish (kernel-api.md §2.1); one that must
		 * wait for our answer (WAIT_KILLABLE_RECV) is pending. */
		if (sb_req_valid(r) < 0)
			return -ENOENT;
		if (interrupt_pending(r))
			return -EINTR;
	}
}

int net_wait(sb_req *r, int fd, short events, int64_t timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = events};
	int k = net_wait_any(r, &p, 1, timeout_ms);
	return k > 0 ? p.revents : k;
}

int64_t net_sock_timeout(const struct net_sock *s, int optname)
{
	struct timeval tv;
	socklen_t l = sizeof(tv);
	if (getsockopt(s->fd, SOL_SOCKET, optname, &tv, &l) < 0 || (!tv.tv_sec && !tv.tv_usec))
		return -1;
	return (int64_t)tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000;
}

int net_enter_proc(sb_req *r)
{
	/* "self/fd/N" resolves in our own /proc from this thread's cwd, whatever root it is
	 * in (a worker may be chrooted into the program's root). */
	return fchdir(r->s->procfd) < 0 ? negative_errno() : 0;
}

void net_leave_proc(sb_req *r)
{
	(void)!fchdir(r->s->cwdfd);
}

int net_connect_at_proc(sb_req *r, int fd, const struct sockaddr *sa, socklen_t len)
{
	int k = net_enter_proc(r);
	if (k < 0)
		return k;
	k = connect(fd, sa, len) < 0 ? negative_errno() : 0;
	net_leave_proc(r);
	return k;
}

int net_identity_begin(sb_req *r, sb_creds *ret)
{
	int k = sb_req_creds(r, ret);
	if (k < 0)
		return k;
	k = identity_assume(ret);
	if (k < 0)
		identity_restore();
	return k;
}

void net_identity_end(void)
{
	identity_restore();
}

struct as_target {
	int sockfd;
	const struct sockaddr *sa;
	socklen_t len;
	const sb_creds *c;
	uint64_t caps; /* the program's effective set, within our permitted set */
	int cwdfd;
	int pipefd;
	/* The program's ids are not ours. A supervisor that is not root serves programs of its
	 * own uid: there is nothing to change then, nor the right to. */
	bool change_ids;
};

/* The child: raw system calls only (it is a copy of a threaded process made by clone3). */
static _Noreturn void as_target_child(const struct as_target *a)
{
	int err = 0;
	const sb_creds *c = a->c;
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2] = {
	    {.effective = (uint32_t)a->caps, .permitted = (uint32_t)a->caps},
	    {.effective = (uint32_t)(a->caps >> 32), .permitted = (uint32_t)(a->caps >> 32)},
	};
	/* Not dumpable: the program, same uid, must not ptrace the helper and its fds. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 || fchdir(a->cwdfd) < 0 ||
	    prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		err = errno;
	else if (a->change_ids && (syscall(SYS_setgroups, c->ngroups, c->groups) < 0 ||
				   syscall(SYS_setresgid, c->rgid, c->egid, c->sgid) < 0 ||
				   syscall(SYS_setresuid, c->ruid, c->euid, c->suid) < 0))
		err = errno;
	else if (syscall(SYS_capset, &h, d) < 0)
		err = errno;
	else if (connect(a->sockfd, a->sa, a->len) < 0)
		err = errno;
	(void)!write(a->pipefd, &err, sizeof(err));
	_exit(0);
}

int net_connect_as_target(sb_req *r, const struct net_sock *s, const struct sockaddr *sa,
			  socklen_t len)
{
	sb_creds c;
	int k = sb_req_creds(r, &c);
	if (k < 0)
		return k;
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct cd[2];
	if (syscall(SYS_capget, &h, cd) < 0)
		return negative_errno();
	uint64_t ours = cd[0].permitted | ((uint64_t)cd[1].permitted << 32);
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return negative_errno();
	_cleanup_close_ int rd = pfd[0], wr = pfd[1];
	uid_t ru, eu, su;
	gid_t rg, eg, sg, groups[64];
	int ng = (int)syscall(SYS_getgroups, 64, groups);
	bool same = getresuid(&ru, &eu, &su) == 0 && getresgid(&rg, &eg, &sg) == 0 &&
		    ru == c.ruid && eu == c.euid && su == c.suid && rg == c.rgid && eg == c.egid &&
		    sg == c.sgid && ng == c.ngroups &&
		    !memcmp(groups, c.groups, (size_t)(ng > 0 ? ng : 0) * sizeof(gid_t));
	struct as_target a = {
	    .change_ids = !same,
	    .sockfd = s->fd,
	    .sa = sa,
	    .len = len,
	    .c = &c,
	    .caps = c.cap_eff & ours,
	    .cwdfd = r->s->procfd,
	    .pipefd = wr,
	};
	/*
	 * clone3 with exit_signal 0 and a pidfd: no SIGCHLD, so `sysbroker run`'s reaper
	 * (waitpid(-1)) never takes it, and the pidfd names it for good (no pid reuse when we
	 * kill it).
	 */
	int cpidfd = -1;
	struct clone_args ca = {
	    .flags = CLONE_PIDFD,
	    .pidfd = (uint64_t)(uintptr_t)&cpidfd,
	    .exit_signal = 0,
	};
	long pid = syscall(SYS_clone3, &ca, sizeof(ca));
	if (pid < 0)
		return negative_errno();
	if (pid == 0)
		as_target_child(&a);
	_cleanup_close_ int child = cpidfd;
	wr = safe_close(wr);
	int err = EIO;
	k = net_wait(r, rd, POLLIN, -1);
	if (k > 0) {
		if (read(rd, &err, sizeof(err)) != sizeof(err))
			err = EIO;
	} else {
		/* The program's call is gone: so is the connect it asked for. */
		syscall(SYS_pidfd_send_signal, child, SIGKILL, NULL, 0);
	}
	siginfo_t si;
	while (waitid(P_PIDFD, (id_t)child, &si, WEXITED | __WALL) < 0 && errno == EINTR)
		;
	if (k <= 0)
		return k < 0 ? k : -EIO;
	return -err;
}
