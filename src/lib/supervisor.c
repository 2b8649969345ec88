/* The engine loop: one epoll set over listeners and user sources, served by a pool of
 * worker threads that grows while handlers block, so a slow emulation stalls nobody else. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine.h"
#include "identity.h"
#include "macros.h"

#define WAKE_DATA UINT64_MAX

static uint64_t slot_data(const struct source *src, uint32_t slot)
{
	return ((uint64_t)src->gen << 32) | slot;
}

/* Called with s->lock held. Returns the slot index or -ENOMEM. */
static int slot_alloc(sb_supervisor *s)
{
	for (size_t i = 0; i < s->n_sources; i++)
		if (!s->sources[i].used)
			return (int)i;
	size_t n = s->n_sources ? s->n_sources * 2 : 16;
	struct source *t = realloc(s->sources, n * sizeof(*t));
	if (!t)
		return -ENOMEM;
	memset(t + s->n_sources, 0, (n - s->n_sources) * sizeof(*t));
	s->sources = t;
	int slot = (int)s->n_sources;
	s->n_sources = n;
	return slot;
}

/* Called with s->lock held. */
static void slot_release(sb_supervisor *s, uint32_t slot)
{
	struct source *src = &s->sources[slot];
	uint32_t gen = src->gen + 1;
	memset(src, 0, sizeof(*src));
	src->gen = gen;
}

static int source_register(sb_supervisor *s, const struct source *tmpl, uint32_t *ret_slot)
{
	pthread_mutex_lock(&s->lock);
	int slot = slot_alloc(s);
	if (slot < 0) {
		pthread_mutex_unlock(&s->lock);
		return slot;
	}
	struct source *src = &s->sources[slot];
	uint32_t gen = src->gen;
	*src = *tmpl;
	src->gen = gen;
	src->used = true;
	struct epoll_event ev = {.events = tmpl->events | EPOLLONESHOT,
				 .data.u64 = slot_data(src, (uint32_t)slot)};
	int r = epoll_ctl(s->epfd, EPOLL_CTL_ADD, tmpl->fd, &ev) < 0 ? negative_errno() : 0;
	if (r < 0)
		slot_release(s, (uint32_t)slot);
	else if (ret_slot)
		*ret_slot = (uint32_t)slot;
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* Called with s->lock held. */
static void source_rearm_locked(sb_supervisor *s, uint32_t slot)
{
	struct source *src = &s->sources[slot];
	struct epoll_event ev = {.events = src->events | EPOLLONESHOT,
				 .data.u64 = slot_data(src, slot)};
	epoll_ctl(s->epfd, EPOLL_CTL_MOD, src->fd, &ev);
}

void listener_unref(sb_listener *l)
{
	if (atomic_fetch_sub(&l->refs, 1) != 1)
		return;
	/* Last reference: no request of this listener is in flight any more, so its owner
	 * may free what the handlers use (the agent frees the container's sandbox). */
	if (l->gone)
		l->gone(l, l->data);
	safe_close(l->fd);
	free(l);
}

/* No task uses the filter any more: drop it from the loop and tell the owner. */
static void listener_hangup(sb_supervisor *s, uint32_t slot)
{
	pthread_mutex_lock(&s->lock);
	struct source *src = &s->sources[slot];
	sb_listener *l = src->listener;
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, src->fd, NULL);
	slot_release(s, slot);
	pthread_mutex_unlock(&s->lock);
	if (atomic_exchange(&l->dead, true))
		return;
	listener_unref(l); /* the loop's reference; gone() runs with the last one */
}

/*
 * Called with s->lock held, when a request of l is received (+1) or answered (-1): the
 * listener's source is re-armed only while it is below its cap. Returns whether to re-arm,
 * with the event in *ev: the caller does it once the lock is dropped (an epoll_ctl under the
 * lock kept the worker it wakes waiting for the lock, a futex sleep per request). The caller
 * holds a reference on l, so its fd stays open; a source removed meanwhile makes the
 * epoll_ctl fail harmlessly (ENOENT: its fd left the set).
 */
static bool listener_account_locked(sb_supervisor *s, sb_listener *l, int delta,
				    struct epoll_event *ev)
{
	l->inflight += delta;
	struct source *src = &s->sources[l->slot];
	if (!src->used || src->listener != l)
		return false; /* hung up meanwhile */
	bool arm = false;
	if (delta > 0) {
		src->busy = false;
		if (l->inflight < s->max_per_listener)
			arm = true;
		else
			l->parked = true;
	} else if (l->parked && l->inflight < s->max_per_listener) {
		l->parked = false;
		arm = true;
	}
	if (arm)
		*ev = (struct epoll_event){.events = src->events | EPOLLONESHOT,
					   .data.u64 = slot_data(src, l->slot)};
	return arm;
}

/* Takes the listener's request count by delta (see listener_account_locked). */
static void listener_account(sb_supervisor *s, sb_listener *l, int delta)
{
	struct epoll_event ev;
	pthread_mutex_lock(&s->lock);
	bool arm = listener_account_locked(s, l, delta, &ev);
	pthread_mutex_unlock(&s->lock);
	if (arm)
		epoll_ctl(s->epfd, EPOLL_CTL_MOD, l->fd, &ev);
}

static void serve_listener(sb_supervisor *s, uint32_t slot, sb_listener *l, uint32_t events,
			   struct seccomp_notif *n)
{
	if (events & EPOLLIN) {
		int r = notify_recv(l->fd, n, s->notif_size);
		/* Re-arm right after RECV so the next notification goes to another worker
		 * while this one handles (and maybe blocks on) the request. */
		atomic_fetch_add(&l->refs, 1);
		listener_account(s, l, +1);
		if (r == 0) {
			sb_req req;
			req_init(&req, s, l, n);
			req_dispatch(&req);
			req_done(&req);
		}
		/* ENOENT: the target left before we received; anything else is a dead fd
		 * and shows up as EPOLLHUP/EPOLLERR next. */
		listener_account(s, l, -1);
		listener_unref(l);
		return;
	}
	if (events & (EPOLLHUP | EPOLLERR))
		listener_hangup(s, slot);
}

static void serve_user(sb_supervisor *s, uint32_t slot, struct source src, uint32_t events)
{
	/* User callbacks run in the supervisor's own root, not a container's we served. */
	identity_leave_root();
	int r = src.fn(src.fd, events, src.userdata);
	pthread_mutex_lock(&s->lock);
	struct source *cur = &s->sources[slot];
	cur->busy = false;
	if (cur->removed) {
		/* sb_source_remove already took it out of epoll; the fd may be closed and
		 * its number reused by now, so it must not be touched again. */
		slot_release(s, slot);
	} else if (r < 0) {
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, cur->fd, NULL);
		slot_release(s, slot);
	} else {
		source_rearm_locked(s, slot);
	}
	pthread_mutex_unlock(&s->lock);
}

static int worker_spawn_locked(sb_supervisor *s);

static void *worker_main(void *arg)
{
	sb_supervisor *s = arg;
	identity_thread_init(s->rootfd, s->cwdfd);
	_cleanup_free_ struct seccomp_notif *n = calloc(1, s->notif_size);
	if (!n)
		return NULL;
	for (;;) {
		struct epoll_event ev;
		int k = epoll_wait(s->epfd, &ev, 1, -1);
		if (atomic_load(&s->stopping))
			break;
		if (k <= 0)
			continue;
		if (ev.data.u64 == WAKE_DATA)
			break;
		uint32_t slot = (uint32_t)ev.data.u64, gen = (uint32_t)(ev.data.u64 >> 32);

		pthread_mutex_lock(&s->lock);
		if (slot >= s->n_sources || !s->sources[slot].used ||
		    s->sources[slot].gen != gen || s->sources[slot].removed) {
			pthread_mutex_unlock(&s->lock);
			continue;
		}
		struct source copy = s->sources[slot];
		s->sources[slot].busy = true;
		/*
		 * Keep one worker out of the handlers: if every worker is now in one, add
		 * another, so a handler that blocks cannot stall the other requests. Counted
		 * in handlers, not in epoll_wait: a worker that answered and is on its way
		 * back is free, and counting it busy grew the pool by dozens of threads in a
		 * loop with a single request in flight (the next request arriving first).
		 */
		unsigned busy = atomic_fetch_add(&s->in_handler, 1) + 1;
		if (busy >= s->n_workers && s->n_workers < s->max_workers)
			worker_spawn_locked(s);
		pthread_mutex_unlock(&s->lock);

		if (copy.kind == SOURCE_LISTENER)
			serve_listener(s, slot, copy.listener, ev.events, n);
		else
			serve_user(s, slot, copy, ev.events);
		atomic_fetch_sub(&s->in_handler, 1);
	}
	return NULL;
}

/* Called with s->lock held. Workers block every catchable signal: signals reach the
 * program through a signalfd source, and an ADDFD|SEND interrupted by a signal corrupts
 * the reply on 6.18.44 (kernel-api.md §2.10). */
static int worker_spawn_locked(sb_supervisor *s)
{
	pthread_t *w = realloc(s->workers, (s->n_workers + 1) * sizeof(*w));
	if (!w)
		return -ENOMEM;
	s->workers = w;
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 512 * 1024);
	int r = pthread_create(&s->workers[s->n_workers], &attr, worker_main, s);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return -r;
	s->n_workers++;
	return 0;
}

int supervisor_ensure_workers(sb_supervisor *s)
{
	int r = 0;
	pthread_mutex_lock(&s->lock);
	while (s->n_workers < s->min_workers && r == 0)
		r = worker_spawn_locked(s);
	pthread_mutex_unlock(&s->lock);
	return r;
}

int sb_supervisor_new(sb_supervisor **ret, const sb_supervisor_opts *opts)
{
	sb_supervisor *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->wakefd = -1;
	s->procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	s->rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	s->cwdfd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct stat uns;
	if (stat("/proc/self/ns/user", &uns) == 0) {
		s->userns_dev = uns.st_dev;
		s->userns_ino = uns.st_ino;
	}
	/* Held for a few loads and stores per request by every worker: spin a little before
	 * sleeping, as a futex round trip would cost more than the wait. */
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ADAPTIVE_NP);
	pthread_mutex_init(&s->lock, &ma);
	pthread_mutexattr_destroy(&ma);
	pthread_cond_init(&s->stopped_cond, NULL);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	s->min_workers = opts && opts->min_workers ? opts->min_workers : (cpus > 0 ? (unsigned)cpus : 2);
	s->max_workers = opts && opts->max_workers ? opts->max_workers : 256;
	if (s->max_workers < s->min_workers)
		s->max_workers = s->min_workers;
	s->max_per_listener = opts && opts->max_per_listener ? opts->max_per_listener
							      : s->max_workers;
	if (s->max_per_listener > s->max_workers)
		s->max_per_listener = s->max_workers;

	int r = sb_features_probe(&s->features);
	if (r < 0)
		goto fail;
	if (!s->features.user_notif) {
		r = -EOPNOTSUPP;
		goto fail;
	}
	/* Cached identities need a pidfd per thread to know the thread is still the one. */
	struct rlimit nofile;
	if (s->features.pidfd_thread && !(opts && opts->no_ident_cache) &&
	    getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur >= 8 * TCACHE_SLOTS) {
		s->tcache = malloc(sizeof(*s->tcache));
		if (!s->tcache) {
			r = -ENOMEM;
			goto fail;
		}
		tcache_init(s->tcache);
	}
	s->notif_size = s->features.sizeof_notif > sizeof(struct seccomp_notif)
				? s->features.sizeof_notif
				: sizeof(struct seccomp_notif);

	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0) {
		r = negative_errno();
		goto fail;
	}
	s->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->wakefd < 0) {
		r = negative_errno();
		goto fail;
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = WAKE_DATA};
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->wakefd, &ev) < 0) {
		r = negative_errno();
		goto fail;
	}
	r = supervisor_ensure_workers(s);
	if (r < 0)
		goto fail;
	*ret = s;
	return 0;
fail:
	sb_supervisor_free(s);
	return r;
}

void sb_supervisor_stop(sb_supervisor *s, int code)
{
	pthread_mutex_lock(&s->lock);
	if (!s->stopped) {
		s->stopped = true;
		s->stop_code = code;
	}
	pthread_cond_broadcast(&s->stopped_cond);
	pthread_mutex_unlock(&s->lock);
}

int sb_supervisor_run(sb_supervisor *s)
{
	pthread_mutex_lock(&s->lock);
	while (!s->stopped)
		pthread_cond_wait(&s->stopped_cond, &s->lock);
	int code = s->stop_code;
	pthread_mutex_unlock(&s->lock);
	return code;
}

void sb_supervisor_free(sb_supervisor *s)
{
	if (!s)
		return;
	atomic_store(&s->stopping, true);
	if (s->wakefd >= 0) {
		uint64_t one = 1;
		(void)!write(s->wakefd, &one, sizeof(one));
	}
	for (unsigned i = 0; i < s->n_workers; i++)
		pthread_join(s->workers[i], NULL);
	free(s->workers);
	for (size_t i = 0; i < s->n_sources; i++) {
		struct source *src = &s->sources[i];
		if (!src->used)
			continue;
		if (src->kind == SOURCE_LISTENER && !atomic_exchange(&src->listener->dead, true))
			listener_unref(src->listener);
	}
	free(s->sources);
	safe_close(s->wakefd);
	safe_close(s->procfd);
	safe_close(s->rootfd);
	safe_close(s->cwdfd);
	safe_close(s->epfd);
	if (s->tcache) {
		tcache_destroy(s->tcache);
		free(s->tcache);
	}
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->stopped_cond);
	free(s);
}

int sb_on_syscall(sb_supervisor *s, int nr, sb_handler_fn fn, void *userdata)
{
	if (nr < 0 || nr >= SB_MAX_NR)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	s->handlers[nr] = (struct handler){fn, userdata};
	pthread_mutex_unlock(&s->lock);
	return 0;
}

void sb_on_answer(sb_supervisor *s, sb_after_fn fn, void *userdata)
{
	s->after = fn;
	s->after_userdata = userdata;
}

int sb_attach(sb_supervisor *s, int listener_fd, void *listener_data, sb_listener_gone_fn gone,
	      sb_listener **ret)
{
	if (listener_fd < 0)
		return -EBADF;
	sb_listener *l = calloc(1, sizeof(*l));
	if (!l) {
		safe_close(listener_fd);
		return -ENOMEM;
	}
	l->fd = listener_fd;
	l->s = s;
	l->data = listener_data;
	l->gone = gone;
	atomic_init(&l->refs, 1);
	/* SYNC_WAKE_UP helps a single synchronous handler; a pool answering in parallel
	 * gains nothing (kernel-api.md rule 16), so only a one-worker engine asks for it. */
	if (s->max_workers == 1 && s->features.sync_wake_up)
		ioctl(listener_fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
	struct source tmpl = {
		.kind = SOURCE_LISTENER,
		.fd = listener_fd,
		.events = EPOLLIN,
		.listener = l,
	};
	int r = source_register(s, &tmpl, &l->slot);
	if (r < 0) {
		listener_unref(l);
		return r;
	}
	if (ret)
		*ret = l;
	return 0;
}

void *sb_listener_data(sb_listener *l)
{
	return l->data;
}

int sb_source_add(sb_supervisor *s, int fd, uint32_t events, sb_source_fn fn, void *userdata)
{
	if (fd < 0 || !fn)
		return -EINVAL;
	struct source tmpl = {
		.kind = SOURCE_USER,
		.fd = fd,
		.events = events,
		.fn = fn,
		.userdata = userdata,
	};
	return source_register(s, &tmpl, NULL);
}

int sb_source_remove(sb_supervisor *s, int fd)
{
	int r = -ENOENT;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n_sources; i++) {
		struct source *src = &s->sources[i];
		if (!src->used || src->kind != SOURCE_USER || src->fd != fd || src->removed)
			continue;
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, fd, NULL);
		if (src->busy)
			src->removed = true; /* its worker releases the slot */
		else
			slot_release(s, (uint32_t)i);
		r = 0;
		break;
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}
