/*
 * What the engine knows of each thread that made a call: its credentials and root,
 * read once from /proc/TID and reused until something could have changed them.
 *
 * An entry is valid while (1) no call that changes credentials, namespaces, umask or root
 * was made anywhere in the tree since it was read (a generation, bumped by the engine when
 * such a call is notified: the filter of a tree we spawned notifies them all), and (2) its
 * thread is alive (a PIDFD_THREAD pidfd held by the entry): a tid reused by a new thread
 * never finds the old thread's identity.
 */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <sysbroker/sysbroker.h>

/* Direct-mapped by tid (a collision evicts). Each entry holds a pidfd: at most a quarter of
 * the usual 1024 fds a supervisor may have open (the engine uses no cache below that). */
#define TCACHE_SLOTS 256

struct tcache_ident {
	pid_t tid;
	int pidfd;    /* PIDFD_THREAD, owned by the entry */
	uint64_t gen; /* the generation read before the identity was */
	sb_creds creds;
	bool root_known;
	dev_t root_dev;
	ino_t root_ino;
	uint64_t root_mnt;
};

struct tcache {
	_Atomic uint64_t gen;
	/* One lock per slot: a thread has one call pending at a time, so two workers meet
	 * on a slot only for two tids that collide (a lookup polls its pidfd under it). */
	pthread_mutex_t locks[TCACHE_SLOTS];
	struct tcache_ident slots[TCACHE_SLOTS];
};

void tcache_init(struct tcache *t);
void tcache_destroy(struct tcache *t);
/* Call before reading an identity that may be stored. */
uint64_t tcache_gen(struct tcache *t);
/* Something changed credentials, namespaces, umask or root: every entry is stale. */
void tcache_bump(struct tcache *t);
/* Copies tid's identity (pidfd not included: set to -1) if the entry is valid: 0, or -ENOENT. */
int tcache_lookup(struct tcache *t, pid_t tid, struct tcache_ident *ret);
/* Takes in (and its pidfd, closed when not kept) once its thread was proven the caller. */
void tcache_store(struct tcache *t, struct tcache_ident *in);
