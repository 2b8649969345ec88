/* connect(2): decided on our copy of the address and performed by the supervisor on the
 * program's own socket (taken with pidfd_getfd), or, with net-broker, made in the supervisor's
 * network namespace on a new socket that then replaces the program's (ADDFD with SETFD). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine.h"
#include "fs.h"
#include "macros.h"
#include "net_common.h"

/*
 * connect(2) on a blocking socket of ours that must not block us: the program's socket is
 * shared with it, so O_NONBLOCK is set only around the call itself. The kernel then starts
 * the handshake and says EINPROGRESS; a second call once the socket is writable finishes it
 * exactly as the blocking call would (SS_CONNECTED, or the error, which it consumes).
 */
static int connect_nonblock(int fd, const struct sockaddr *sa, socklen_t len)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return negative_errno();
	if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return negative_errno();
	int k = connect(fd, sa, len) < 0 ? negative_errno() : 0;
	if (!(fl & O_NONBLOCK))
		fcntl(fd, F_SETFL, fl);
	return k;
}

/* Waits for a connect in progress on fd to end, as a blocking connect would. */
static int finish_connect(sb_req *r, int fd, int64_t timeout_ms, const struct sockaddr *sa,
			  socklen_t len)
{
	for (;;) {
		int ev = net_wait(r, fd, POLLOUT, timeout_ms);
		if (ev < 0)
			return ev; /* interrupted: the handshake goes on, as natively */
		if (ev == 0)
			return -EINPROGRESS; /* SO_SNDTIMEO ran out: a blocking connect says so */
		int k = connect_nonblock(fd, sa, len);
		if (k != -EALREADY && k != -EINPROGRESS)
			return k;
	}
}

static int inet_connect(sb_req *r, const struct net_sock *s, const struct sockaddr *sa,
			socklen_t len)
{
	/* Datagram connects never wait, nor do non-blocking sockets. */
	if (s->type != SOCK_STREAM || (s->flags & O_NONBLOCK))
		return connect(s->fd, sa, len) < 0 ? negative_errno() : 0;
	int k = connect_nonblock(s->fd, sa, len);
	if (k != -EINPROGRESS && k != -EALREADY)
		return k;
	return finish_connect(r, s->fd, net_sock_timeout(s, SO_SNDTIMEO), sa, len);
}

/* ---- net-broker ---- */

/* Options a program sets before connect that the broker's socket must have as well. */
static const struct {
	int level, name;
	bool doubled; /* the kernel reports twice what was set (SO_RCVBUF, SO_SNDBUF) */
} carried[] = {
    {SOL_SOCKET, SO_KEEPALIVE},
    {SOL_SOCKET, SO_LINGER},
    {SOL_SOCKET, SO_OOBINLINE},
    {SOL_SOCKET, SO_RCVBUF, true},
    {SOL_SOCKET, SO_SNDBUF, true},
    {SOL_SOCKET, SO_RCVLOWAT},
    {SOL_SOCKET, SO_RCVTIMEO},
    {SOL_SOCKET, SO_SNDTIMEO},
    {SOL_SOCKET, SO_PRIORITY},
    {SOL_SOCKET, SO_BROADCAST},
    {SOL_SOCKET, SO_TIMESTAMP},
    {SOL_SOCKET, SO_TIMESTAMPNS},
    {SOL_SOCKET, SO_REUSEADDR},
    {SOL_SOCKET, SO_REUSEPORT},
    {SOL_SOCKET, SO_ZEROCOPY},
    {IPPROTO_IP, IP_TOS},
    {IPPROTO_IP, IP_TTL},
    {IPPROTO_IP, IP_RECVERR},
    {IPPROTO_IP, IP_MTU_DISCOVER},
    {IPPROTO_IP, IP_PKTINFO},
    {IPPROTO_IP, IP_RECVTOS},
    {IPPROTO_IP, IP_RECVTTL},
    {IPPROTO_IPV6, IPV6_V6ONLY},
    {IPPROTO_IPV6, IPV6_TCLASS},
    {IPPROTO_IPV6, IPV6_UNICAST_HOPS},
    {IPPROTO_IPV6, IPV6_RECVERR},
    {IPPROTO_IPV6, IPV6_MTU_DISCOVER},
    {IPPROTO_IPV6, IPV6_RECVPKTINFO},
    {IPPROTO_TCP, TCP_NODELAY},
    {IPPROTO_TCP, TCP_KEEPIDLE},
    {IPPROTO_TCP, TCP_KEEPINTVL},
    {IPPROTO_TCP, TCP_KEEPCNT},
    {IPPROTO_TCP, TCP_USER_TIMEOUT},
    {IPPROTO_TCP, TCP_CONGESTION},
    {IPPROTO_TCP, TCP_NOTSENT_LOWAT},
    {IPPROTO_TCP, TCP_SYNCNT},
    {IPPROTO_TCP, TCP_LINGER2},
    {IPPROTO_TCP, TCP_FASTOPEN_CONNECT},
    {IPPROTO_TCP, TCP_CORK},
};

static bool carried_applies(const struct net_sock *s, int level)
{
	switch (level) {
	case IPPROTO_IP:
		return s->family == AF_INET;
	case IPPROTO_IPV6:
		return s->family == AF_INET6;
	case IPPROTO_TCP:
		return s->type == SOCK_STREAM;
	default:
		return true;
	}
}

/* Copies what differs from a fresh socket's defaults; what our namespace refuses is left. */
static void carry_options(const struct net_sock *s, int fd)
{
	for (size_t i = 0; i < ELEMENTSOF(carried); i++) {
		if (!carried_applies(s, carried[i].level))
			continue;
		unsigned char theirs[64], ours[64];
		socklen_t tl = sizeof(theirs), ol = sizeof(ours);
		if (getsockopt(s->fd, carried[i].level, carried[i].name, theirs, &tl) < 0 ||
		    getsockopt(fd, carried[i].level, carried[i].name, ours, &ol) < 0)
			continue;
		if (tl == ol && !memcmp(theirs, ours, tl))
			continue;
		if (carried[i].doubled && tl == sizeof(int)) {
			int v;
			memcpy(&v, theirs, sizeof(v));
			v /= 2;
			memcpy(theirs, &v, sizeof(v));
		}
		(void)setsockopt(fd, carried[i].level, carried[i].name, theirs, tl);
	}
}

/* Is the program's fd close-on-exec? /proc/TID/fdinfo/N shows it as O_CLOEXEC in flags. */
static bool target_fd_cloexec(sb_req *r, int targetfd)
{
	int procfd = sb_req_procfd(r);
	if (procfd < 0)
		return true;
	char name[32], buf[512];
	snprintf(name, sizeof(name), "fdinfo/%d", targetfd);
	_cleanup_close_ int fd = openat(procfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return true;
	buf[n] = 0;
	const char *f = strstr(buf, "flags:");
	return !f || (strtoul(f + 6, NULL, 8) & O_CLOEXEC);
}

/*
 * The program lives in an empty network namespace; the connection it asks for (allowed by
 * now) is made by us in ours, on a new socket of the same kind carrying its options, and
 * that socket is put at the program's fd number (ADDFD|SETFD, a dup2 from outside). After
 * the swap the data path is the kernel's own, with no supervisor in it.
 */
static int broker_connect(sb_req *r, const struct net_sock *s, int targetfd,
			  const struct sockaddr *sa, socklen_t len)
{
	/* Created as the program: the socket's owner (sk_uid, the file's credentials) is what
	 * owner matches of our own firewall see, not root; its capabilities bound the options. */
	sb_creds c;
	int k = net_identity_begin(r, &c);
	if (k < 0)
		return k;
	_cleanup_close_ int fd =
	    socket(s->family, s->type | SOCK_NONBLOCK | SOCK_CLOEXEC, s->protocol);
	if (fd >= 0)
		carry_options(s, fd);
	net_identity_end();
	if (fd < 0)
		return negative_errno();

	k = connect(fd, sa, len) < 0 ? negative_errno() : 0;
	if (k < 0 && k != -EINPROGRESS)
		return k; /* refused, unreachable...: the program's socket stays as it was */
	bool nonblock = s->flags & O_NONBLOCK;
	if (k == -EINPROGRESS && !nonblock) {
		k = finish_connect(r, fd, net_sock_timeout(s, SO_SNDTIMEO), sa, len);
		if (k < 0 && k != -EINPROGRESS)
			return k; /* failed, or the program left: nothing was swapped */
	}
	/* A non-blocking program gets the socket still connecting and polls it itself. */
	if (!nonblock && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)
		return negative_errno();
	int sk = sb_req_replace_fd(r, fd, targetfd, target_fd_cloexec(r, targetfd));
	if (sk < 0)
		return sk;
	return k;
}

static int net_connect_handler(sb_req *r, void *userdata)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	net_begin(r, sb);
	int targetfd = (int)sb_req_arg(r, 0);
	_cleanup_(net_sock_release) struct net_sock s = {.fd = -1};
	int k = net_sock_take(r, targetfd, &s);
	if (k < 0)
		return k;
	bool broker = false;
	if (sb->net->broker && net_sock_brokerable(&s)) {
		k = net_sock_foreign(sb, &s);
		if (k < 0)
			return k;
		broker = k;
	}
	if (sb->net->trivial && sb->audit_fd < 0 && !broker) {
		/*
		 * Nothing to decide, nothing to record, nothing to broker (an agent serves every
		 * family to every container): decided from the sandbox and the socket alone,
		 * before any memory is read. A dup2 onto the fd meanwhile only hands the kernel
		 * another socket of the program's own to connect where it asked.
		 */
		sb_req_note_get(r)->action = "allow";
		return sb_req_reply_continue_unchecked(r);
	}
	_cleanup_(net_dest_release) struct net_dest d;
	k = net_dest_copy(r, sb_req_arg(r, 1), sb_req_arg(r, 2), &d);
	if (k < 0)
		return k;
	k = net_decide(r, sb, CALL_CONNECT, &s, &d);
	if (k)
		return -k;
	socklen_t len;
	const struct sockaddr *sa = net_dest_sa(&d, &len);
	if (d.unspec)
		k = connect(s.fd, sa, len) < 0 ? negative_errno() : 0;
	else if (broker)
		k = broker_connect(r, &s, targetfd, sa, len);
	else if (s.family == AF_UNIX && s.type != SOCK_DGRAM)
		k = net_connect_as_target(r, &s, sa, len);
	else if (s.family == AF_UNIX)
		k = d.pin >= 0 ? net_connect_at_proc(r, s.fd, sa, len)
			       : (connect(s.fd, sa, len) < 0 ? negative_errno() : 0);
	else if (s.family == AF_INET || s.family == AF_INET6)
		k = inet_connect(r, &s, sa, len);
	else {
		/* netlink and the rest check the caller's capabilities (netlink_allowed). */
		sb_creds c;
		k = net_identity_begin(r, &c);
		if (k == 0)
			k = connect(s.fd, sa, len) < 0 ? negative_errno() : 0;
		net_identity_end();
	}
	if (k < 0)
		return k;
	k = sb_req_reply_value(r, 0);
	return k < 0 && k != -ENOENT ? k : 0;
}

static const struct fs_row connect_rows[] = {
    {SYS_connect, net_connect_handler},
};

const struct fs_family net_connect_family = {"net-connect", connect_rows, ELEMENTSOF(connect_rows),
					     net_wants_connect};
