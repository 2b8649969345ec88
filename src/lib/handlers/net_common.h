/* Shared steps of the network handler families: the program's socket taken as an object of
 * ours, its address copied once, the policy's answer for where that address leads, the
 * operation performed on our copies, and waits that give up when the program is interrupted. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include "policy/policy.h"
#include "sandbox.h"

/* Per sandbox: what the net families have to do, and the published ports. */
struct net_sandbox {
	bool trivial;	       /* no net-allow/deny, bind-allow/deny, net-default allow */
	bool broker;	       /* net-broker */
	bool publish;	       /* a publish rule */
	ino_t own_netns;       /* the supervisor's network namespace (nsfs inode) */
	struct publisher *pub; /* net_publish.c, NULL until a published port is bound */
	pthread_mutex_t lock;  /* pub */
};

int net_sandbox_new(struct sb_sandbox *sb);
void net_sandbox_free(struct sb_sandbox *sb);
/* Predicates of the families' tables. */
bool net_wants_connect(const struct sb_sandbox *sb);
bool net_wants_send(const struct sb_sandbox *sb);
bool net_wants_bind(const struct sb_sandbox *sb);
bool net_wants_publish(const struct sb_sandbox *sb);

/*
 * The program's socket as ours (pidfd_getfd): the same open file description, so whatever we
 * do to it the program's fd sees, and a dup2 over the fd number after we took it changes
 * nothing for this call.
 */
struct net_sock {
	int fd;
	int family, type, protocol;
	int flags; /* F_GETFL of the open file description (O_NONBLOCK) */
};

/* First thing of every handler: what the audit line will need from /proc/TID. */
void net_begin(sb_req *r, struct sb_sandbox *sb);
/* -EBADF, -ENOTSOCK as the call would fail; -ENOENT when the request vanished. */
int net_sock_take(sb_req *r, int targetfd, struct net_sock *ret);
void net_sock_release(struct net_sock *s);
/* 1 when the socket lives in another network namespace than the supervisor, else 0 or -errno. */
int net_sock_foreign(struct sb_sandbox *sb, const struct net_sock *s);
/* An inet socket of a type the broker can remake in our namespace (TCP, UDP). */
bool net_sock_brokerable(const struct net_sock *s);

/* An address argument, copied once, and where it leads once decided. */
struct net_dest {
	struct sockaddr_storage ss; /* our copy, as the program gave it */
	socklen_t len;
	bool present; /* an address was given (non-NULL, non-zero length) */
	bool
	    unspec; /* no destination: AF_UNSPEC connect (a disconnect), or ignored by the socket */
	int pin;    /* unix path: O_PATH pin on the socket file it reaches, else -1 */
	struct sockaddr_un via; /* unix path: "self/fd/PIN", for a thread whose cwd is our /proc */
	socklen_t via_len;
};

/* Which call wants the address: AF_UNSPEC means something else to each. */
enum net_call {
	CALL_CONNECT,
	CALL_SEND,
	CALL_BIND,
};

/* Copies len bytes at addr as the kernel does (0..sizeof(sockaddr_storage), else EINVAL). */
int net_dest_copy(sb_req *r, uint64_t addr, uint64_t len, struct net_dest *ret);
void net_dest_init(struct net_dest *d);
void net_dest_release(struct net_dest *d);
/* The address to hand the kernel: the pin's magic link for a unix path, else our copy. */
const struct sockaddr *net_dest_sa(const struct net_dest *d, socklen_t *ret_len);

/*
 * The policy's answer for call on d from the
 * socket s: 0 to go on, or the positive errno the call fails with (EACCES; ENOENT for a
 * hidden unix socket). Notes addr, action and rule for the audit line. A unix path is resolved
 * in the program's view (root, cwd, identity, symlinks) and the socket file reached is
 * pinned in d->pin; for CALL_BIND the caller resolves instead (the file does not exist yet).
 */
int net_decide(sb_req *r, struct sb_sandbox *sb, enum net_call call, const struct net_sock *s,
	       struct net_dest *d);
/* The verdict for a name that only `any` rules and the default can match. */
int net_decide_other(sb_req *r, struct sb_sandbox *sb, enum net_op op);

/* "127.0.0.1:80", "[::1]:443", "unix:/run/x.sock", "unix:@name", "unspec". */
void net_format_addr(const struct sockaddr *sa, socklen_t len, char *buf, size_t size);
void net_note_addr(sb_req *r, const struct sockaddr *sa, socklen_t len);

/*
 * Waits for events on fd like poll(2), but gives up when the program's call is gone (a signal
 * interrupted it, it died): the kernel does not tell us, so the request is checked between
 * slices (kernel-api.md §2.13). timeout_ms < 0: no limit. Returns the revents (> 0), 0 on
 * timeout, -ENOENT when the request vanished, -EINTR when a signal the program handles is
 * waiting for our answer (WAIT_KILLABLE_RECV): answer EINTR, as the blocking call would.
 */
int net_wait(sb_req *r, int fd, short events, int64_t timeout_ms);
/* The same over n (at most 7) fds, revents filled in; with n == 0, a pause of timeout_ms. */
struct pollfd;
int net_wait_any(sb_req *r, struct pollfd *fds, int n, int64_t timeout_ms);
/* The socket's SO_SNDTIMEO (or SO_RCVTIMEO) in ms, -1 when none: how long a blocking call waits. */
int64_t net_sock_timeout(const struct net_sock *s, int optname);

/* This thread's cwd in our own /proc, where d->via resolves; and back to ours. */
int net_enter_proc(sb_req *r);
void net_leave_proc(sb_req *r);
/* connect(2) on fd to sa with this thread's cwd in our own /proc (for d->via). */
int net_connect_at_proc(sb_req *r, int fd, const struct sockaddr *sa, socklen_t len);
/*
 * connect(2) performed by a short-lived child that holds the program's full credentials:
 * the kernel records the connecting task's pid and credentials as the peer's SO_PEERCRED
 * for a unix stream socket, and the supervisor's would hand the server a root peer. The
 * child's cwd is our /proc (for d->via). Blocking sockets block in the child, which is
 * killed when the program's call goes away.
 */
int net_connect_as_target(sb_req *r, const struct net_sock *s, const struct sockaddr *sa,
			  socklen_t len);

/* Assumes the program's identity (for socket operations whose checks use the caller's
 * capabilities: privileged ports, netlink groups, SO_MARK); release with net_identity_end. */
int net_identity_begin(sb_req *r, sb_creds *ret);
void net_identity_end(void);

/* net_publish.c: the program bound s to addr; remember it if a publish rule names the port. */
int publish_bound(sb_req *r, struct sb_sandbox *sb, const struct net_sock *s,
		  const struct sockaddr *sa, socklen_t len);
void publish_free(struct publisher *p);
