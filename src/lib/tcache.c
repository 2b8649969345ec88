/* The identity cache of the threads behind requests (see tcache.h). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "macros.h"
#include "tcache.h"

void tcache_init(struct tcache *t)
{
	atomic_init(&t->gen, 1);
	atomic_init(&t->watch, NULL);
	t->watch_wanted = false;
	atomic_init(&t->waiting, 0);
	for (size_t i = 0; i < TCACHE_SLOTS; i++) {
		pthread_mutex_init(&t->locks[i], NULL);
		t->slots[i].tid = 0;
		t->slots[i].fds = NULL;
	}
}

void tcache_destroy(struct tcache *t)
{
	for (size_t i = 0; i < TCACHE_SLOTS; i++) {
		tcache_fds_put(t->slots[i].fds);
		t->slots[i].fds = NULL;
		pthread_mutex_destroy(&t->locks[i]);
	}
	twatch_close(atomic_load(&t->watch));
	atomic_store(&t->watch, NULL);
}

bool tcache_watch_want(struct tcache *t, bool allowed)
{
	t->watch_wanted = t->watch_wanted || allowed;
	return t->watch_wanted;
}

bool tcache_usable(struct tcache *t, bool execs_counted)
{
	if (!execs_counted || atomic_load_explicit(&t->watch, memory_order_acquire))
		return true;
	if (atomic_fetch_add(&t->waiting, 1) + 1 == WATCH_AFTER) {
		/* One request gets here, and attaches it before its own answer: the tree's
		 * calls after this one find it (other workers go on reading afresh). */
		struct twatch *w;
		if (twatch_open(&w) == 0) {
			atomic_store_explicit(&t->watch, w, memory_order_release);
			return true;
		}
	}
	return false;
}

void tcache_stamp(struct tcache *t, struct tcache_ident *id)
{
	id->gen = atomic_load(&t->gen);
	struct twatch *w = atomic_load_explicit(&t->watch, memory_order_acquire);
	id->watched = w != NULL;
	id->tcount = w ? twatch_count(w, id->tid) : 0;
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
		n = (int)syscall(SYS_poll, &p, 1, 0); /* not glibc's: no cancellation point */
	while (n < 0 && errno == EINTR);
	return n == 0;
}

struct tcache_fds *tcache_fds_new(int pidfd)
{
	struct tcache_fds *f = malloc(sizeof(*f));
	if (!f) {
		safe_close(pidfd);
		return NULL;
	}
	atomic_init(&f->refs, 1);
	f->pidfd = pidfd;
	atomic_init(&f->memfd, -1);
	return f;
}

void tcache_fds_put(struct tcache_fds *f)
{
	if (!f || atomic_fetch_sub(&f->refs, 1) != 1)
		return;
	safe_close(f->pidfd);
	safe_close(atomic_load(&f->memfd));
	free(f);
}

int tcache_lookup(struct tcache *t, pid_t tid, struct tcache_ident *ret)
{
	if (tid <= 0)
		return -ENOENT;
	size_t i = slot_of(tid);
	pthread_mutex_lock(&t->locks[i]);
	struct tcache_ident *e = &t->slots[i];
	int r = -ENOENT;
	if (e->tid == tid && e->fds) {
		struct twatch *w = atomic_load_explicit(&t->watch, memory_order_acquire);
		/* An entry read before the watch counted has no count to compare. */
		bool same = w && e->watched ? twatch_count(w, tid) == e->tcount
					    : alive(e->fds->pidfd);
		if (e->gen == atomic_load(&t->gen) && same) {
			*ret = *e;
			atomic_fetch_add(&e->fds->refs, 1);
			r = 0;
		} else {
			/* Stale, or its thread is dead and the tid may be another's now: the
			 * entry can never serve again. */
			tcache_fds_put(e->fds);
			e->fds = NULL;
			e->tid = 0;
		}
	}
	pthread_mutex_unlock(&t->locks[i]);
	return r;
}

void tcache_store(struct tcache *t, const struct tcache_ident *in)
{
	if (!in->fds || in->tid <= 0)
		return;
	size_t i = slot_of(in->tid);
	pthread_mutex_lock(&t->locks[i]);
	if (in->gen == atomic_load(&t->gen)) {
		struct tcache_ident *e = &t->slots[i];
		tcache_fds_put(e->fds);
		*e = *in;
		atomic_fetch_add(&in->fds->refs, 1);
	}
	pthread_mutex_unlock(&t->locks[i]);
}
