/* sendto, sendmsg, sendmmsg: the destination decided on our copy of the address and the data
 * sent by the supervisor on the program's own socket, with our copies of the data and the
 * control messages. sendmsg keeps its address in memory, so it is never continued. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>

#include "engine.h"
#include "fs.h"
#include "macros.h"
#include "net_common.h"

/* The most a stream send takes at once (a short count, as a signal would give); a datagram
 * larger than this fails with EMSGSIZE, which no socket buffer would take anyway. */
#define NET_SEND_MAX (4u << 20)
#define NET_CONTROL_MAX (64u << 10) /* beyond optmem_max: the kernel says ENOBUFS */
#define NET_MAX_FDS 253		    /* SCM_MAX_FD */

#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY 0x4000000
#endif

/* One message as we will send it: every byte ours. */
struct out_msg {
	struct net_dest d;
	bool name_given; /* msg_name was non-NULL (the kernel then passes it on, even with length 0)
			  */
	char *data;
	size_t len;
	bool mapped; /* data is an mmap of its own (MSG_ZEROCOPY) */
	unsigned char *control;
	size_t controllen;
	int fds[NET_MAX_FDS]; /* our copies of SCM_RIGHTS fds, closed after the send */
	int n_fds;
	bool has_creds; /* the program passed SCM_CREDENTIALS */
};

static void out_msg_init(struct out_msg *m)
{
	memset(m, 0, sizeof(*m));
	net_dest_init(&m->d);
}

static void out_msg_release(struct out_msg *m)
{
	net_dest_release(&m->d);
	if (m->mapped && m->data)
		munmap(m->data, m->len ? m->len : 1);
	else
		free(m->data);
	free(m->control);
	for (int i = 0; i < m->n_fds; i++)
		safe_close(m->fds[i]);
	m->data = NULL;
	m->control = NULL;
	m->n_fds = 0;
}

static int data_alloc(struct out_msg *m, size_t len, int flags)
{
	m->len = len;
	if (flags & MSG_ZEROCOPY) {
		/*
		 * The kernel pins these pages and sends from them after we return: a buffer of
		 * our own that nothing reuses. munmap drops only our mapping; the pages live
		 * until the kernel lets go of them.
		 */
		void *p = mmap(NULL, len ? len : 1, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return -ENOBUFS;
		m->data = p;
		m->mapped = true;
		return 0;
	}
	m->data = malloc(len ? len : 1);
	return m->data ? 0 : -ENOBUFS;
}

/* Reads the payload described by the program's iovec array (already copied). */
static int read_payload(sb_req *r, const struct net_sock *s, const struct iovec *iov, size_t n,
			int flags, struct out_msg *m)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++) {
		if (iov[i].iov_len > SSIZE_MAX || total + iov[i].iov_len < total)
			return -EINVAL; /* import_iovec */
		total += iov[i].iov_len;
	}
	if (total > NET_SEND_MAX) {
		if (s->type != SOCK_STREAM)
			return -EMSGSIZE;
		total = NET_SEND_MAX;
	}
	int k = data_alloc(m, total, flags);
	if (k < 0)
		return k;
	size_t used = 0;
	for (size_t i = 0; i < n && used < total; i++) {
		size_t take = iov[i].iov_len < total - used ? iov[i].iov_len : total - used;
		if (take == 0)
			continue;
		k = sb_req_read(r, (uint64_t)(uintptr_t)iov[i].iov_base, m->data + used, take);
		if (k < 0)
			return k;
		used += take;
	}
	return 0;
}

/*
 * SCM_CREDENTIALS as the program may send them: the kernel checks them against the sender,
 * which is us (root), so the program's own rule is applied here: its pid, one of its uids or
 * gids, or the capability that waives it (scm_check_creds).
 */
static int translate_creds(sb_req *r, struct ucred *u, const sb_creds *c)
{
	pid_t tgid = sb_req_tgid(r);
	if (tgid <= 0)
		return -ESRCH;
	if (u->pid == c->ns_tgid)
		u->pid = tgid; /* its pid in its namespace is tgid in ours */
	else if (!(c->cap_eff & (1ULL << CAP_SYS_ADMIN)) || c->ns_tgid != tgid)
		return -EPERM;
	bool uid_ok = u->uid == c->ruid || u->uid == c->euid || u->uid == c->suid ||
		      (c->cap_eff & (1ULL << CAP_SETUID));
	bool gid_ok = u->gid == c->rgid || u->gid == c->egid || u->gid == c->sgid ||
		      (c->cap_eff & (1ULL << CAP_SETGID));
	return uid_ok && gid_ok ? 0 : -EPERM;
}

/* Copies and translates the control messages: SCM_RIGHTS fds become ours (pidfd_getfd),
 * SCM_CREDENTIALS are checked; the rest go as they came. Malformed: EINVAL, as the kernel. */
static int read_control(sb_req *r, uint64_t addr, size_t len, struct out_msg *m, const sb_creds *c)
{
	if (len == 0)
		return 0;
	if (len > NET_CONTROL_MAX)
		return -ENOBUFS;
	m->control = calloc(1, len + sizeof(struct cmsghdr));
	if (!m->control)
		return -ENOBUFS;
	int k = sb_req_read(r, addr, m->control, len);
	if (k < 0)
		return k;
	m->controllen = len;
	struct msghdr mh = {.msg_control = m->control, .msg_controllen = len};
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		size_t off = (size_t)((unsigned char *)cm - m->control);
		if (cm->cmsg_len < sizeof(*cm) || cm->cmsg_len > len - off)
			return -EINVAL;
		if (cm->cmsg_level != SOL_SOCKET)
			continue;
		if (cm->cmsg_type == SCM_RIGHTS) {
			size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			if (m->n_fds + n > NET_MAX_FDS)
				return -EINVAL; /* scm_fp_copy; an empty one is no error there */
			int *fds = (int *)CMSG_DATA(cm);
			for (size_t i = 0; i < n; i++) {
				int theirs;
				memcpy(&theirs, &fds[i], sizeof(theirs));
				int ours = sb_req_getfd(r, theirs);
				if (ours < 0)
					return ours == -ENOENT ? ours : -EBADF;
				m->fds[m->n_fds++] = ours;
				memcpy(&fds[i], &ours, sizeof(ours));
			}
		} else if (cm->cmsg_type == SCM_CREDENTIALS) {
			if (cm->cmsg_len != CMSG_LEN(sizeof(struct ucred)))
				return -EINVAL;
			struct ucred u;
			memcpy(&u, CMSG_DATA(cm), sizeof(u));
			k = translate_creds(r, &u, c);
			if (k < 0)
				return k;
			memcpy(CMSG_DATA(cm), &u, sizeof(u));
			m->has_creds = true;
		}
	}
	return 0;
}

/*
 * A unix socket reports its sender's pid and uid to a receiver with SO_PASSCRED: ours, root,
 * if we let the kernel fill them in. The program's are given explicitly instead (the kernel
 * lets root name any), exactly what it would have sent itself.
 */
static int add_own_creds(sb_req *r, struct out_msg *m, const sb_creds *c)
{
	pid_t tgid = sb_req_tgid(r);
	if (tgid <= 0)
		return -ESRCH;
	size_t add = CMSG_SPACE(sizeof(struct ucred));
	size_t base = CMSG_ALIGN(m->controllen);
	unsigned char *p = realloc(m->control, base + add);
	if (!p)
		return -ENOBUFS;
	memset(p + m->controllen, 0, base + add - m->controllen);
	m->control = p;
	struct cmsghdr *cm = (struct cmsghdr *)(p + base);
	cm->cmsg_len = CMSG_LEN(sizeof(struct ucred));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_CREDENTIALS;
	struct ucred u = {.pid = tgid, .uid = c->ruid, .gid = c->rgid};
	memcpy(CMSG_DATA(cm), &u, sizeof(u));
	m->controllen = base + add;
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The send itself: non-blocking, waiting ourselves where the program's call would block. */
static ssize_t do_send(sb_req *r, const struct net_sock *s, struct out_msg *m, int flags,
		       bool may_wait)
{
	socklen_t namelen = 0;
	const struct sockaddr *name = m->name_given ? net_dest_sa(&m->d, &namelen) : NULL;
	struct iovec iov = {m->data, m->len};
	struct msghdr mh = {
	    .msg_name = (void *)name,
	    .msg_namelen = namelen,
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = m->controllen ? m->control : NULL,
	    .msg_controllen = m->controllen,
	};
	bool blocking = may_wait && !(s->flags & O_NONBLOCK) && !(flags & MSG_DONTWAIT);
	int64_t timeout = blocking ? net_sock_timeout(s, SO_SNDTIMEO) : 0;
	int64_t deadline = timeout >= 0 ? now_ms() + timeout : -1;
	/* Never a SIGPIPE to us (it would stay pending in a worker), never blocked in the
	 * kernel where the program's interruption could not reach us. */
	int fl = flags | MSG_NOSIGNAL | MSG_DONTWAIT;
	bool polled_writable = false;
	for (;;) {
		if (m->d.pin >= 0 && net_enter_proc(r) < 0)
			return negative_errno();
		ssize_t n = sendmsg(s->fd, &mh, fl);
		int err = errno;
		if (m->d.pin >= 0)
			net_leave_proc(r);
		if (n >= 0)
			return n;
		if (err == EINPROGRESS && (fl & MSG_FASTOPEN) && blocking) {
			/*
			 * tcp_sendmsg_fastopen connects without waiting under our MSG_DONTWAIT
			 * and, without a cookie, keeps the data back. The blocking call would
			 * wait for the handshake and send: wait, then send on the connection.
			 */
			int64_t left = deadline < 0 ? -1 : deadline - now_ms();
			int ev = net_wait(r, s->fd, POLLOUT, left);
			if (ev <= 0)
				return ev < 0 ? ev : -EINPROGRESS;
			int soerr = 0;
			socklen_t sl = sizeof(soerr);
			if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr)
				return -soerr;
			fl &= ~MSG_FASTOPEN;
			mh.msg_name = NULL;
			mh.msg_namelen = 0;
			continue;
		}
		if (err != EAGAIN || !blocking)
			return -err;
		/*
		 * Would block, having sent nothing: wait and send again, which is what the
		 * kernel would do, and an interruption leaves nothing half-sent. A datagram to
		 * a full unix receiver polls writable while the receiver stays full: pause then.
		 */
		int64_t left = deadline < 0 ? -1 : deadline - now_ms();
		if (deadline >= 0 && left <= 0)
			return -EAGAIN; /* SO_SNDTIMEO ran out */
		int ev;
		if (polled_writable) {
			int64_t pause = left >= 0 && left < 5 ? left : 5;
			ev = net_wait_any(r, NULL, 0, pause);
		} else {
			ev = net_wait(r, s->fd, POLLOUT, left);
		}
		if (ev < 0)
			return ev;
		polled_writable = ev > 0;
	}
}

/* EPIPE comes with SIGPIPE to the sending thread unless MSG_NOSIGNAL: the program's. */
static void raise_sigpipe(sb_req *r, ssize_t n, int flags)
{
	if (n != -EPIPE || (flags & MSG_NOSIGNAL))
		return;
	int pidfd = sb_req_pidfd(r);
	if (pidfd >= 0)
		syscall(SYS_pidfd_send_signal, pidfd, SIGPIPE, NULL, 0);
}

/* Decides the prepared message's destination and sends it. */
static ssize_t send_prepared(sb_req *r, struct sb_sandbox *sb, const struct net_sock *s,
			     struct out_msg *m, int flags, bool may_wait, const sb_creds *c)
{
	int k = net_decide(r, sb, CALL_SEND, s, &m->d);
	if (k)
		return -k;
	ssize_t n;
	if (s->family == AF_UNIX) {
		if (!m->has_creds) {
			k = add_own_creds(r, m, c);
			if (k < 0)
				return k;
		}
		/* With our capabilities: the credentials we name carry the program's pid. */
		n = do_send(r, s, m, flags, may_wait);
	} else if ((s->family == AF_INET || s->family == AF_INET6) && !m->controllen) {
		n = do_send(r, s, m, flags, may_wait);
	} else {
		/* With the program's: SO_MARK and SO_PRIORITY messages, netlink groups
		 * (netlink_allowed) check the sender's capabilities. */
		sb_creds ic;
		k = net_identity_begin(r, &ic);
		n = k < 0 ? k : do_send(r, s, m, flags, may_wait);
		net_identity_end();
	}
	raise_sigpipe(r, n, flags);
	return n;
}

/* Reads one message (name, data, control) of the program's msghdr, decides and sends. */
static ssize_t send_one(sb_req *r, struct sb_sandbox *sb, const struct net_sock *s,
			const struct msghdr *mh, int flags, bool may_wait, const sb_creds *c)
{
	_cleanup_(out_msg_release) struct out_msg m;
	out_msg_init(&m);
	if (mh->msg_name) {
		/* copy_msghdr_from_user: a longer name is cut to sockaddr_storage. */
		int nl = (int)mh->msg_namelen;
		if (nl < 0)
			return -EINVAL;
		if ((size_t)nl > sizeof(struct sockaddr_storage))
			nl = sizeof(struct sockaddr_storage);
		int k = net_dest_copy(r, (uint64_t)(uintptr_t)mh->msg_name, (uint64_t)nl, &m.d);
		if (k < 0)
			return k;
		m.name_given = true;
	}
	if (mh->msg_iovlen > UIO_MAXIOV)
		return -EMSGSIZE;
	_cleanup_free_ struct iovec *iov = NULL;
	if (mh->msg_iovlen) {
		iov = calloc(mh->msg_iovlen, sizeof(*iov));
		if (!iov)
			return -ENOBUFS;
		int k = sb_req_read(r, (uint64_t)(uintptr_t)mh->msg_iov, iov,
				    mh->msg_iovlen * sizeof(*iov));
		if (k < 0)
			return k;
	}
	int k = read_payload(r, s, iov, mh->msg_iovlen, flags, &m);
	if (k < 0)
		return k;
	k = read_control(r, (uint64_t)(uintptr_t)mh->msg_control, mh->msg_controllen, &m, c);
	if (k < 0)
		return k;
	return send_prepared(r, sb, s, &m, flags, may_wait, c);
}

/* Is the sandbox such that nothing needs to be judged or recorded? Then the kernel runs the
 * call as it is, decided from the sandbox alone before any memory is read. */
static bool pass_through(struct sb_sandbox *sb, bool audit_counts)
{
	return sb->net->trivial && (!audit_counts || sb->audit_fd < 0);
}

static int reply_count(sb_req *r, ssize_t n)
{
	if (n < 0)
		return (int)n;
	int k = sb_req_reply_value(r, n);
	return k < 0 && k != -ENOENT ? k : 0;
}

/* The program's socket (argument 0), taken, and its credentials: SCM_CREDENTIALS it passes
 * are checked against them, and the ones the kernel would add are made from them. */
static int take_sock(sb_req *r, struct net_sock *s, sb_creds *c)
{
	int k = net_sock_take(r, (int)sb_req_arg(r, 0), s);
	if (k < 0)
		return k;
	return sb_req_creds(r, c);
}

static int net_sendto_handler(sb_req *r, void *userdata)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	net_begin(r, sb);
	/* No address: the socket's own peer, a register value. Nothing to judge. (Filters
	 * sb_spawn makes never send these; an agent's profile may.) */
	if (sb_req_arg(r, 4) == 0 || pass_through(sb, true)) {
		sb_req_note_get(r)->action = "allow";
		return sb_req_reply_continue_unchecked(r);
	}
	_cleanup_(net_sock_release) struct net_sock s = {.fd = -1};
	sb_creds c;
	int k = take_sock(r, &s, &c);
	if (k < 0)
		return k;
	_cleanup_(out_msg_release) struct out_msg m;
	out_msg_init(&m);
	/* __sys_sendto: the address as move_addr_to_kernel takes it, the length cut to INT_MAX. */
	k = net_dest_copy(r, sb_req_arg(r, 4), sb_req_arg(r, 5), &m.d);
	if (k < 0)
		return k;
	m.name_given = true;
	size_t len = (size_t)sb_req_arg(r, 2);
	struct iovec iov = {(void *)(uintptr_t)sb_req_arg(r, 1), len > INT_MAX ? INT_MAX : len};
	int flags = (int)sb_req_arg(r, 3);
	k = read_payload(r, &s, &iov, 1, flags, &m);
	if (k < 0)
		return k;
	return reply_count(r, send_prepared(r, sb, &s, &m, flags, true, &c));
}

static int net_sendmsg_handler(sb_req *r, void *userdata)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	net_begin(r, sb);
	if (pass_through(sb, false)) {
		/* The address is in memory: with anything to judge this is never continued.
		 * With nothing (no net rule), the call runs as it is, unread. */
		sb_req_note_get(r)->action = "allow";
		return sb_req_reply_continue_unchecked(r);
	}
	_cleanup_(net_sock_release) struct net_sock s = {.fd = -1};
	sb_creds c;
	int k = take_sock(r, &s, &c);
	if (k < 0)
		return k;
	struct msghdr mh;
	k = sb_req_read(r, sb_req_arg(r, 1), &mh, sizeof(mh));
	if (k < 0)
		return k;
	int flags = (int)sb_req_arg(r, 2);
	return reply_count(r, send_one(r, sb, &s, &mh, flags, true, &c));
}

static int net_sendmmsg_handler(sb_req *r, void *userdata)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	net_begin(r, sb);
	if (pass_through(sb, false)) {
		sb_req_note_get(r)->action = "allow";
		return sb_req_reply_continue_unchecked(r);
	}
	_cleanup_(net_sock_release) struct net_sock s = {.fd = -1};
	sb_creds c;
	int k = take_sock(r, &s, &c);
	if (k < 0)
		return k;
	uint64_t vec = sb_req_arg(r, 1);
	unsigned vlen = (unsigned)sb_req_arg(r, 2);
	int flags = (int)sb_req_arg(r, 3);
	if (vlen > UIO_MAXIOV)
		vlen = UIO_MAXIOV; /* __sys_sendmmsg */
	unsigned sent = 0;
	ssize_t err = 0;
	for (; sent < vlen; sent++) {
		struct mmsghdr mm;
		uint64_t at = vec + (uint64_t)sent * sizeof(mm);
		k = sb_req_read(r, at, &mm, sizeof(mm));
		if (k < 0) {
			err = k;
			break;
		}
		/* Only the first message may wait: after one went out, a full socket ends the
		 * batch with the count sent, never half a batch lost to an interruption. */
		ssize_t n = send_one(r, sb, &s, &mm.msg_hdr, flags, sent == 0, &c);
		if (n < 0) {
			err = n;
			break;
		}
		unsigned len = (unsigned)n;
		k = sb_req_write(r, at + offsetof(struct mmsghdr, msg_len), &len, sizeof(len));
		if (k < 0) {
			err = k;
			break;
		}
	}
	if (sent == 0 && err < 0)
		return (int)err;
	return reply_count(r, sent);
}

static const struct fs_row send_rows[] = {
    /* send() is sendto without an address: the socket's own peer, decided when it was
     * connected. The filter leaves it to the kernel, so connected sends stay native. */
    {SYS_sendto, net_sendto_handler, 1u << 4},
    {SYS_sendmsg, net_sendmsg_handler},
    {SYS_sendmmsg, net_sendmmsg_handler},
};

const struct fs_family net_send_family = {"net-send", send_rows, ELEMENTSOF(send_rows),
					  net_wants_send};
