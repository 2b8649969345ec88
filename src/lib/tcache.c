/* The identity cache of the threads behind requests (see tcache.h). */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "macros.h"
#include "tcache.h"

void tcache_init(struct tcache *t)
{
	atomic_init(&t->gen, 1);
	for (size_t i = 0; i < TCACHE_SLOTS; i++) {
		pthread_mutex_init(&t->locks[i], NULL);
		t->slots[i].tid = 0;
		t->slots[i].pidfd = -1;
	}
}

void tcache_destroy(struct tcache *t)
{
	for (size_t i = 0; i < TCACHE_SLOTS; i++) {
		t->slots[i].pidfd = safe_close(t->slots[i].pidfd);
		pthread_mutex_destroy(&t->locks[i]);
	}
}

uint64_t tcache_gen(struct tcache *t)
{
	return atomic_load(&t->gen);
}

void tcache_bump(struct tcache *t)
{
	atomic_fetch_add(&t->gen, 1);
}

static size_t slot_of(pid_t tid)
{
	return (uint32_t)tid % TCACHE_SLOTS;
}

/* The thread behind pidfd has not exited (a pidfd polls readable once it has). */
static bool alive(int pidfd)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};
	int n;
	do
		n = poll(&p, 1, 0);
	while (n < 0 && errno == EINTR);
	return n == 0;
}

int tcache_lookup(struct tcache *t, pid_t tid, struct tcache_ident *ret)
{
	if (tid <= 0)
		return -ENOENT;
	size_t i = slot_of(tid);
	pthread_mutex_lock(&t->locks[i]);
	struct tcache_ident *e = &t->slots[i];
	int r = -ENOENT;
	if (e->tid == tid && e->pidfd >= 0) {
		if (e->gen == atomic_load(&t->gen) && alive(e->pidfd)) {
			*ret = *e;
			ret->pidfd = -1;
			r = 0;
		} else {
			/* Stale, or its thread is dead and the tid may be another's now: the
			 * entry can never serve again. */
			e->pidfd = safe_close(e->pidfd);
			e->tid = 0;
		}
	}
	pthread_mutex_unlock(&t->locks[i]);
	return r;
}

void tcache_store(struct tcache *t, struct tcache_ident *in)
{
	if (in->pidfd < 0 || in->tid <= 0)
		return;
	size_t i = slot_of(in->tid);
	pthread_mutex_lock(&t->locks[i]);
	if (in->gen == atomic_load(&t->gen)) {
		struct tcache_ident *e = &t->slots[i];
		safe_close(e->pidfd);
		*e = *in;
		in->pidfd = -1;
	}
	pthread_mutex_unlock(&t->locks[i]);
	in->pidfd = safe_close(in->pidfd);
}
