/*
 * What the engine knows of each thread that made a call: its credentials and root,
 * read once from /proc/TID and reused until something could have changed them.
 *
 * An entry is valid while (1) no call that changes credentials, namespaces, umask or root
 * was made anywhere in the tree since it was read (a generation, bumped by the engine when
 * such a call is notified: the filter of a tree we spawned notifies them all), and (2) its
 * thread neither ended nor exec'ed: a tid reused by a new thread never finds the old
 * thread's identity. With the thread watch (twatch.h) the count of its tid's slot has not
 * moved since the read, which costs no system call; without it, its thread is alive (a
 * PIDFD_THREAD pidfd held by the entry polls not readable) and execs are notified calls
 * that bump the generation.
 */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <sysbroker/sysbroker.h>

#include "twatch.h"

/* Direct-mapped by tid (a collision evicts). Each entry holds up to two fds: at most a
 * quarter of the usual 1024 fds a supervisor may have open (no cache below that). */
#define TCACHE_SLOTS 128
/* Requests read afresh, in trees that leave execs to the thread watch, before it is
 * attached (tcache_usable): a dynamically linked program's start makes about 10. */
#define WATCH_AFTER 32

/*
 * The fds that name one thread, shared by its cache entry and the requests using it, and
 * closed with the last reference: a request may go on using them after the entry was
 * evicted, and an fd number is never closed under a user (it could be reused meanwhile).
 */
struct tcache_fds {
	atomic_int refs;
	int pidfd;          /* PIDFD_THREAD: liveness, pidfd_getfd, setns */
	_Atomic int memfd;  /* /proc/TID/mem, opened at the first write (-1 until then) */
};

struct tcache_ident {
	pid_t tid;
	struct tcache_fds *fds; /* one reference */
	uint64_t gen; /* the generation read before the identity was */
	uint64_t tcount; /* with the thread watch: its tid slot's count, read before too */
	bool watched;    /* tcount was read (else only the pidfd poll can prove the thread) */
	int userns_foreign; /* its user namespace is not ours: 1, 0, or -1 unknown */
	pid_t tgid;         /* its thread group, in our pid namespace */
	uint64_t cap_prm;   /* CapPrm as its status shows it */
	sb_creds creds;
	bool root_known;
	dev_t root_dev;
	ino_t root_ino;
	uint64_t root_mnt;
};

struct tcache {
	_Atomic uint64_t gen;
	/*
	 * The thread watch, owned, published here once it counts. A tree whose filter leaves
	 * execs to it reads identities afresh until then. Attaching and detaching it cost
	 * about a millisecond on our VM (0.6 ms to load and attach, 0.4 ms to let go), so a
	 * program that makes a few calls and ends never pays for it: the WATCH_AFTER-th request that finds it missing attaches it. NULL for good
	 * without it: liveness by pidfd poll, execs notified.
	 */
	struct twatch *_Atomic watch;
	bool watch_wanted;   /* trees spawned from now on leave execs to the watch */
	atomic_uint waiting; /* requests that found it wanted but not there yet */
	/* One lock per slot: a thread has one call pending at a time, so two workers meet
	 * on a slot only for two tids that collide (a lookup polls its pidfd under it). */
	pthread_mutex_t locks[TCACHE_SLOTS];
	struct tcache_ident slots[TCACHE_SLOTS];
};

void tcache_init(struct tcache *t);
/* Whether trees spawned from now on may leave execs to the thread watch (allowed: it can
 * work here). Call under the engine's lock. */
bool tcache_watch_want(struct tcache *t, bool allowed);
/* Whether a tree may use the cache for this request: execs_counted, its filter left them
 * to the watch, which must count by now (this request may be the one that attaches it). */
bool tcache_usable(struct tcache *t, bool execs_counted);
void tcache_destroy(struct tcache *t);
/* Call before reading an identity that may be stored: its generation and tid count. */
void tcache_stamp(struct tcache *t, struct tcache_ident *id);
/* Something changed credentials, namespaces, umask or root: every entry is stale. */
void tcache_bump(struct tcache *t);
/* Copies tid's identity, with a reference on its fds, if the entry is valid: 0, or -ENOENT. */
int tcache_lookup(struct tcache *t, pid_t tid, struct tcache_ident *ret);
/* Stores a copy of in (another reference on its fds), once its thread was proven the caller. */
void tcache_store(struct tcache *t, const struct tcache_ident *in);
/* New fds for a thread (one reference), taking pidfd; NULL without memory (pidfd closed). */
struct tcache_fds *tcache_fds_new(int pidfd);
void tcache_fds_put(struct tcache_fds *f);
