/* publish [HOST:]PORT[:INNERPORT]: the supervisor listens on HOST:PORT in its own namespace;
 * the program's accept on the socket it bound to INNERPORT is answered by accepting there and
 * injecting the connection (ADDFD|SEND). The program's listener is kept readable while
 * connections wait outside: one loopback "dummy" connection to it, made from inside its
 * namespace, per waiting connection, which the emulated accept consumes. poll, epoll (level
 * or edge) and blocking accepts then behave as they would natively. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine.h"
#include "fs.h"
#include "macros.h"
#include "net_common.h"

#ifndef SIOCGSKNS
#define SIOCGSKNS 0x894C
#endif

#define MAX_INNERS 256 /* program sockets bound to published ports, kept until the end */
#define MAX_STASH 64   /* accepted connections whose accept vanished, for the next one */

/* One publish rule: the supervisor's listener in its own namespace. */
struct outer {
	const struct policy_rule *rule;
	int fd; /* -1 until a program's socket is bound to the inner port */
};

/* Our loopback connection to the program's listener, from inside its namespace. */
struct dummy {
	int fd;
	struct sockaddr_storage local; /* how the program's listener sees it as a peer */
	socklen_t len;
};

/* A program's socket bound to a published inner port. */
struct inner {
	dev_t dev;
	ino_t ino; /* the socket's inode: names it while it lives */
	uint16_t port;
	int netns;		      /* its network namespace, where the dummies are made */
	struct sockaddr_storage dial; /* where a dummy connects (loopback for a wildcard) */
	socklen_t dial_len;
	int backlog;  /* from its listen(): no more dummies than its queue holds */
	bool current; /* the latest bound to the port in its namespace: it gets the dummies */
	struct dummy *dummies;
	size_t n_dummies;
	int stash[MAX_STASH]; /* accepted outside, their accept gone: first for the next */
	size_t n_stash;
};

struct publisher {
	pthread_mutex_t lock;
	struct outer *outers;
	size_t n_outers;
	struct inner *inners[MAX_INNERS];
	size_t n_inners;
	int epfd; /* the outer listeners (edge-triggered: one event per new connection) */
	int kick; /* eventfd: look again, or stop */
	int own_netns;
	bool stop;
	bool started;
	pthread_t thread;
};

static void inner_free(struct inner *in)
{
	if (!in)
		return;
	for (size_t i = 0; i < in->n_dummies; i++)
		safe_close(in->dummies[i].fd);
	for (size_t i = 0; i < in->n_stash; i++)
		safe_close(in->stash[i]);
	free(in->dummies);
	safe_close(in->netns);
	free(in);
}

void publish_free(struct publisher *p)
{
	if (!p)
		return;
	if (p->started) {
		pthread_mutex_lock(&p->lock);
		p->stop = true;
		pthread_mutex_unlock(&p->lock);
		uint64_t one = 1;
		(void)!write(p->kick, &one, sizeof(one));
		pthread_join(p->thread, NULL);
	}
	for (size_t i = 0; i < p->n_outers; i++)
		safe_close(p->outers[i].fd);
	free(p->outers);
	for (size_t i = 0; i < p->n_inners; i++)
		inner_free(p->inners[i]);
	safe_close(p->epfd);
	safe_close(p->kick);
	safe_close(p->own_netns);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

static void kick(struct publisher *p)
{
	uint64_t one = 1;
	(void)!write(p->kick, &one, sizeof(one));
}

/* Connections waiting outside for the program's inner port: the accept queues of our
 * listeners (TCP_INFO says how many, tcpi_unacked for a listener). */
static size_t outer_pending(struct publisher *p, uint16_t port)
{
	size_t n = 0;
	for (size_t i = 0; i < p->n_outers; i++) {
		if (p->outers[i].fd < 0 || p->outers[i].rule->publish.inner_port != port)
			continue;
		struct tcp_info ti;
		socklen_t l = sizeof(ti);
		if (getsockopt(p->outers[i].fd, IPPROTO_TCP, TCP_INFO, &ti, &l) == 0)
			n += ti.tcpi_unacked;
	}
	return n;
}

/* A new namespace has its loopback down: the dummies need it (as does the program). */
static void loopback_up(void)
{
	_cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = {0};
	strcpy(ifr.ifr_name, "lo");
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0 || (ifr.ifr_flags & IFF_UP))
		return;
	ifr.ifr_flags |= IFF_UP;
	(void)ioctl(fd, SIOCSIFFLAGS, &ifr);
}

static void *loopback_up_thread(void *netns)
{
	/* setns is per thread: this one is made for it and ends in the program's namespace. */
	if (setns(*(int *)netns, CLONE_NEWNET) == 0)
		loopback_up();
	return NULL;
}

/* Before the program's listener is registered: the dummies reach it through loopback, and
 * so may the program's own clients from inside, at once. */
static void loopback_up_in(int netns)
{
	pthread_t t;
	if (pthread_create(&t, NULL, loopback_up_thread, &netns) == 0)
		pthread_join(t, NULL);
}

/* Drops dummies whose connection failed (refused: nobody listened; reset: the listener
 * went away), so that they are made again where they can succeed. */
static void prune_dummies(struct inner *in)
{
	size_t w = 0;
	for (size_t i = 0; i < in->n_dummies; i++) {
		int err = 0;
		socklen_t l = sizeof(err);
		struct pollfd pf = {.fd = in->dummies[i].fd, .events = 0};
		bool dead = getsockopt(in->dummies[i].fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0 ||
			    err != 0 || (poll(&pf, 1, 0) > 0 && (pf.revents & (POLLHUP | POLLERR)));
		if (dead)
			safe_close(in->dummies[i].fd);
		else
			in->dummies[w++] = in->dummies[i];
	}
	in->n_dummies = w;
}

/* Makes one dummy connection from inside the program's namespace. Called with p->lock. */
static int make_dummy(struct publisher *p, struct inner *in)
{
	struct dummy *t = realloc(in->dummies, (in->n_dummies + 1) * sizeof(*t));
	if (!t)
		return -ENOMEM;
	in->dummies = t;
	/* A socket belongs to the namespace of the thread that creates it: this thread enters
	 * the program's for one socket() and comes back. */
	if (setns(in->netns, CLONE_NEWNET) < 0)
		return negative_errno();
	int fd = socket(in->dial.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int err = errno;
	if (setns(p->own_netns, CLONE_NEWNET) < 0) {
		/* Stuck in the program's namespace: this thread makes nothing more. */
		safe_close(fd);
		p->stop = true;
		return -EIO;
	}
	if (fd < 0)
		return -err;
	if (connect(fd, (const struct sockaddr *)&in->dial, in->dial_len) < 0 &&
	    errno != EINPROGRESS) {
		err = errno;
		close(fd);
		return -err;
	}
	struct dummy *d = &in->dummies[in->n_dummies];
	d->fd = fd;
	d->len = sizeof(d->local);
	if (getsockname(fd, (struct sockaddr *)&d->local, &d->len) < 0) {
		close(fd);
		return -EIO;
	}
	in->n_dummies++;
	return 0;
}

/* As many dummies as connections wait outside (and stashed), within the program's queue. */
static void reconcile(struct publisher *p)
{
	for (size_t i = 0; i < p->n_inners; i++) {
		struct inner *in = p->inners[i];
		if (!in->current)
			continue;
		prune_dummies(in);
		size_t want = outer_pending(p, in->port) + in->n_stash;
		size_t cap = in->backlog > 0 ? (size_t)in->backlog : 1;
		if (want > cap)
			want = cap;
		while (in->n_dummies < want)
			if (make_dummy(p, in) < 0)
				break; /* not listening yet: listen() kicks us again */
	}
}

static void *publisher_main(void *arg)
{
	struct publisher *p = arg;
	for (;;) {
		struct epoll_event ev[16];
		int n = epoll_wait(p->epfd, ev, 16, -1);
		if (n < 0 && errno != EINTR)
			break;
		uint64_t v;
		(void)!read(p->kick, &v, sizeof(v));
		pthread_mutex_lock(&p->lock);
		bool stop = p->stop;
		if (!stop)
			reconcile(p);
		pthread_mutex_unlock(&p->lock);
		if (stop)
			break;
	}
	return NULL;
}

static struct publisher *publisher_new(void)
{
	struct publisher *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	p->kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	p->own_netns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = p->kick};
	if (p->epfd < 0 || p->kick < 0 || p->own_netns < 0 ||
	    epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->kick, &ev) < 0) {
		publish_free(p);
		return NULL;
	}
	return p;
}

/* The publisher of the sandbox, made on first use. */
static struct publisher *get_publisher(struct sb_sandbox *sb, bool create)
{
	struct net_sandbox *n = sb->net;
	pthread_mutex_lock(&n->lock);
	if (!n->pub && create)
		n->pub = publisher_new();
	struct publisher *p = n->pub;
	pthread_mutex_unlock(&n->lock);
	return p;
}

static uint16_t sa_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return 0;
}

/*
 * Our listener for a rule, in our own namespace, of the family of the program's socket
 * where the host allows it: an IPv6 listener bound to ::ffff:HOST serves IPv4 clients with
 * IPv6 sockets, which is what a program listening on IPv6 expects to accept.
 */
static int outer_open(sb_req *r, struct outer *o, int family)
{
	struct sockaddr_storage host;
	socklen_t hl = o->rule->publish.host_len;
	memcpy(&host, &o->rule->publish.host, hl);
	if (family == AF_INET6 && host.ss_family == AF_INET) {
		struct sockaddr_in v4;
		memcpy(&v4, &host, sizeof(v4));
		struct sockaddr_in6 v6 = {.sin6_family = AF_INET6, .sin6_port = v4.sin_port};
		v6.sin6_addr.s6_addr[10] = v6.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&v6.sin6_addr.s6_addr[12], &v4.sin_addr, 4);
		memcpy(&host, &v6, sizeof(v6));
		hl = sizeof(v6);
	}
	/* Created as the program (the socket's owner), bound with our own rights: the port
	 * was chosen by whoever wrote the policy, not by the program. */
	sb_creds c;
	int k = net_identity_begin(r, &c);
	int fd = k < 0 ? -1 : socket(host.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int err = errno;
	net_identity_end();
	if (k < 0)
		return k;
	if (fd < 0 && host.ss_family == AF_INET6 && family == AF_INET6 &&
	    o->rule->publish.host.ss_family == AF_INET)
		return outer_open(r, o, AF_INET); /* no IPv6 here: a plain IPv4 listener */
	if (fd < 0)
		return -err;
	int one = 1, zero = 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (host.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (const struct sockaddr *)&host, hl) < 0 || listen(fd, SOMAXCONN) < 0) {
		err = errno;
		close(fd);
		return -err;
	}
	o->fd = fd;
	return 0;
}

int publish_bound(sb_req *r, struct sb_sandbox *sb, const struct net_sock *s,
		  const struct sockaddr *sa, socklen_t len)
{
	/* What the kernel bound (port 0 picks one, AF_UNSPEC means AF_INET). */
	struct sockaddr_storage bound;
	socklen_t bl = sizeof(bound);
	if (getsockname(s->fd, (struct sockaddr *)&bound, &bl) < 0)
		return negative_errno();
	uint16_t port = sa_port(&bound);
	if (!port || !policy_publish_for_inner_port(sb->policy, port, NULL))
		return 0;
	/* Published ports connect two namespaces; in ours the program's port needs nothing. */
	int foreign = net_sock_foreign(sb, s);
	if (foreign <= 0)
		return foreign;
	struct stat st;
	if (fstat(s->fd, &st) < 0)
		return negative_errno();
	struct publisher *p = get_publisher(sb, true);
	if (!p)
		return -ENOMEM;

	struct inner *in = calloc(1, sizeof(*in));
	if (!in)
		return -ENOMEM;
	in->dev = st.st_dev;
	in->ino = st.st_ino;
	in->port = port;
	in->netns = ioctl(s->fd, SIOCGSKNS);
	if (in->netns < 0) {
		int err = negative_errno();
		inner_free(in);
		return err;
	}
	loopback_up_in(in->netns);
	/* Dummies dial the address it bound, loopback for a wildcard. */
	in->dial = bound;
	in->dial_len = bl;
	if (bound.ss_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&in->dial;
		if (a->sin_addr.s_addr == htonl(INADDR_ANY))
			a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&in->dial;
		if (IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr))
			a->sin6_addr = in6addr_loopback;
	}
	in->current = true;

	pthread_mutex_lock(&p->lock);
	int k = 0;
	/* Our listeners for every rule of this inner port, made the first time. */
	for (const struct policy_rule *rule = policy_publish_for_inner_port(sb->policy, port, NULL);
	     rule && k == 0; rule = policy_publish_for_inner_port(sb->policy, port, rule)) {
		struct outer *o = NULL;
		for (size_t i = 0; i < p->n_outers; i++)
			if (p->outers[i].rule == rule)
				o = &p->outers[i];
		if (!o) {
			struct outer *t = realloc(p->outers, (p->n_outers + 1) * sizeof(*t));
			if (!t) {
				k = -ENOMEM;
				break;
			}
			p->outers = t;
			o = &p->outers[p->n_outers++];
			*o = (struct outer){.rule = rule, .fd = -1};
		}
		if (o->fd >= 0)
			continue;
		k = outer_open(r, o, bound.ss_family);
		if (k == 0) {
			struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.fd = o->fd};
			if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, o->fd, &ev) < 0)
				k = negative_errno();
		}
	}
	if (k == 0) {
		struct stat ns = {0};
		fstat(in->netns, &ns);
		for (size_t i = 0; i < p->n_inners; i++) {
			struct inner *o = p->inners[i];
			struct stat os;
			if (o->port == port && fstat(o->netns, &os) == 0 && os.st_ino == ns.st_ino)
				o->current = false;
			if (o->dev == in->dev && o->ino == in->ino)
				o->ino = 0; /* an old socket's inode, reused: forget it */
		}
		/* Never freed before the publisher: handlers hold them without the lock. */
		if (p->n_inners == MAX_INNERS) {
			k = -ENOBUFS;
		} else {
			p->inners[p->n_inners++] = in;
			in = NULL;
		}
		if (!p->started && pthread_create(&p->thread, NULL, publisher_main, p) == 0)
			p->started = true;
	}
	pthread_mutex_unlock(&p->lock);
	inner_free(in);
	if (k == 0)
		kick(p);
	return k;
}

/* The inner entry of the program's socket s, or NULL. Called with p->lock. */
static struct inner *find_inner(struct publisher *p, const struct net_sock *s)
{
	struct stat st;
	if (fstat(s->fd, &st) < 0)
		return NULL;
	for (size_t i = p->n_inners; i > 0; i--)
		if (p->inners[i - 1]->ino == st.st_ino && p->inners[i - 1]->dev == st.st_dev)
			return p->inners[i - 1];
	return NULL;
}

static bool same_addr(const struct sockaddr_storage *a, socklen_t al,
		      const struct sockaddr_storage *b, socklen_t bl)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
	return al >= sizeof(*x) && bl >= sizeof(*y) && x->sin6_port == y->sin6_port &&
	       !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr));
}

/* accept4 that never waits, on a listener the program may have left blocking: O_NONBLOCK
 * only around the call (there is no per-call flag for accept). */
static int accept_nonblock(int fd, struct sockaddr_storage *peer, socklen_t *peerlen)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -1;
	if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	int c = accept4(fd, (struct sockaddr *)peer, peerlen, SOCK_CLOEXEC);
	int err = errno;
	if (!(fl & O_NONBLOCK))
		fcntl(fd, F_SETFL, fl);
	errno = err;
	return c;
}

/*
 * The next connection for the program's accept on its listener fd: a stashed one, a real
 * connection from inside its namespace, or one from our listeners (a dummy in the program's
 * queue stands for it and is consumed on the way), with the publish rule it came through
 * (NULL from inside). -EAGAIN when none is there.
 */
static int take_connection(struct publisher *p, struct inner *in, int fd,
			   struct sockaddr_storage *peer, socklen_t *peerlen,
			   const struct policy_rule **ret_rule)
{
	*ret_rule = NULL;
	pthread_mutex_lock(&p->lock);
	int ret = -EAGAIN;
	if (in->n_stash) {
		ret = in->stash[--in->n_stash];
		*peerlen = sizeof(*peer);
		if (getpeername(ret, (struct sockaddr *)peer, peerlen) < 0)
			*peerlen = 0;
		goto out;
	}
	for (;;) {
		bool consumed = false;
		/* The program's listener may be blocking and is shared with it: a native
		 * accept of its own (a dup2 race past our check) could take the connection
		 * between a poll and our accept, so the accept itself must not wait. */
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		if (poll(&pf, 1, 0) > 0 && (pf.revents & POLLIN)) {
			*peerlen = sizeof(*peer);
			int c = accept_nonblock(fd, peer, peerlen);
			if (c >= 0) {
				size_t i;
				for (i = 0; i < in->n_dummies; i++)
					if (same_addr(&in->dummies[i].local, in->dummies[i].len,
						      peer, *peerlen))
						break;
				if (i == in->n_dummies) {
					ret = c; /* a connection from inside: the program's own */
					goto out;
				}
				close(c);
				safe_close(in->dummies[i].fd);
				in->dummies[i] = in->dummies[--in->n_dummies];
				consumed = true;
			}
		}
		for (size_t i = 0; i < p->n_outers; i++) {
			if (p->outers[i].fd < 0 ||
			    p->outers[i].rule->publish.inner_port != in->port)
				continue;
			*peerlen = sizeof(*peer);
			int c = accept4(p->outers[i].fd, (struct sockaddr *)peer, peerlen,
					SOCK_CLOEXEC);
			if (c >= 0) {
				*ret_rule = p->outers[i].rule;
				ret = c;
				goto out;
			}
		}
		if (!consumed)
			break;
	}
out:
	pthread_mutex_unlock(&p->lock);
	if (ret >= 0)
		kick(p); /* room in the program's queue for the next dummy */
	return ret;
}

/* Writes the peer address as accept(2) does (move_addr_to_user). */
static int write_peer(sb_req *r, uint64_t addr, uint64_t lenp, const struct sockaddr_storage *peer,
		      socklen_t peerlen)
{
	if (!addr)
		return 0;
	int ulen;
	int k = sb_req_read(r, lenp, &ulen, sizeof(ulen));
	if (k < 0)
		return k;
	if (ulen < 0)
		return -EINVAL;
	size_t n = (size_t)ulen < peerlen ? (size_t)ulen : peerlen;
	if (n) {
		k = sb_req_write(r, addr, peer, n);
		if (k < 0)
			return k;
	}
	int out = (int)peerlen;
	return sb_req_write(r, lenp, &out, sizeof(out));
}

static int net_accept_handler(sb_req *r, void *userdata)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	net_begin(r, sb);
	struct publisher *p = get_publisher(sb, false);
	int flags = sb_req_nr(r) == SYS_accept4 ? (int)sb_req_arg(r, 3) : 0;
	if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK))
		return -EINVAL;
	_cleanup_(net_sock_release) struct net_sock s = {.fd = -1};
	struct inner *in = NULL;
	if (p) {
		int k = net_sock_take(r, (int)sb_req_arg(r, 0), &s);
		if (k < 0)
			return k;
		pthread_mutex_lock(&p->lock);
		in = find_inner(p, &s);
		pthread_mutex_unlock(&p->lock);
	}
	if (!in) {
		/*
		 * Not a published socket: accept involves no rule. The kernel runs it on the
		 * program's own socket, decided from the fd's socket alone, no memory read.
		 */
		sb_req_note_get(r)->action = "allow";
		return sb_req_reply_continue_unchecked(r);
	}
	struct sockaddr_storage peer;
	socklen_t peerlen = 0;
	int k;
	int64_t timeout = (s.flags & O_NONBLOCK) ? 0 : net_sock_timeout(&s, SO_RCVTIMEO);
	_cleanup_close_ int conn = -1;
	const struct policy_rule *rule = NULL;
	for (;;) {
		conn = take_connection(p, in, s.fd, &peer, &peerlen, &rule);
		if (conn != -EAGAIN)
			break;
		if (s.flags & O_NONBLOCK)
			return -EAGAIN;
		/* Blocking accept: wait for the program's queue or ours, as long as it waits. */
		struct pollfd pf[8] = {{.fd = s.fd, .events = POLLIN}};
		int n = 1;
		pthread_mutex_lock(&p->lock);
		for (size_t i = 0; i < p->n_outers && n < 7; i++)
			if (p->outers[i].fd >= 0 &&
			    p->outers[i].rule->publish.inner_port == in->port)
				pf[n++] = (struct pollfd){.fd = p->outers[i].fd, .events = POLLIN};
		pthread_mutex_unlock(&p->lock);
		k = net_wait_any(r, pf, n, timeout);
		if (k < 0)
			return k;
		if (k == 0)
			return -EAGAIN; /* SO_RCVTIMEO ran out */
	}
	if (conn < 0)
		return conn;
	sb_req_note *note = sb_req_note_get(r);
	net_format_addr((const struct sockaddr *)&peer, peerlen, note->addr, sizeof(note->addr));
	if (rule)
		sandbox_note_rule(r, "emulate", rule); /* the publish rule it came through */
	else
		note->action = "emulate";
	int fl = fcntl(conn, F_GETFL);
	fcntl(conn, F_SETFL, (flags & SOCK_NONBLOCK) ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
	k = write_peer(r, sb_req_arg(r, 1), sb_req_arg(r, 2), &peer, peerlen);
	if (k < 0)
		return k == -ENOENT ? k : -EFAULT; /* the connection is dropped, as accept does */
	k = sb_req_reply_fd(r, conn, flags & SOCK_CLOEXEC);
	if (k == -ENOENT) {
		/* The program's accept went away (a signal) after ours succeeded: the connection
		 * waits for its next accept instead of being lost. */
		pthread_mutex_lock(&p->lock);
		if (in->n_stash < MAX_STASH)
			in->stash[in->n_stash++] = TAKE_FD(conn);
		pthread_mutex_unlock(&p->lock);
		kick(p);
		return 0;
	}
	return k < 0 ? k : 0;
}

static int net_listen_handler(sb_req *r, void *userdata)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	net_begin(r, sb);
	struct publisher *p = get_publisher(sb, false);
	_cleanup_(net_sock_release) struct net_sock s = {.fd = -1};
	int k = p ? net_sock_take(r, (int)sb_req_arg(r, 0), &s) : 0;
	if (k < 0)
		return k;
	struct inner *in = NULL;
	if (p) {
		pthread_mutex_lock(&p->lock);
		in = find_inner(p, &s);
		pthread_mutex_unlock(&p->lock);
	}
	if (!in) {
		/* listen involves no rule: register values and the fd's socket decide. */
		sb_req_note_get(r)->action = "allow";
		return sb_req_reply_continue_unchecked(r);
	}
	/* Done by us to learn when the program's queue exists: dummies can reach it now. */
	int backlog = (int)sb_req_arg(r, 1);
	if (listen(s.fd, backlog) < 0)
		return negative_errno();
	pthread_mutex_lock(&p->lock);
	in->backlog = backlog > 0 ? backlog : 1;
	pthread_mutex_unlock(&p->lock);
	kick(p);
	sb_req_note_get(r)->action = "emulate";
	k = sb_req_reply_value(r, 0);
	return k < 0 && k != -ENOENT ? k : 0;
}

static const struct fs_row publish_rows[] = {
    {SYS_listen, net_listen_handler},
    {SYS_accept, net_accept_handler},
    {SYS_accept4, net_accept_handler},
};

const struct fs_family net_publish_family = {"net-publish", publish_rows, ELEMENTSOF(publish_rows),
					     net_wants_publish};
