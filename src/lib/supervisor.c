/* The engine loop: one epoll set over listeners and user sources, served by a pool of
 * worker threads that grows while handlers block, so a slow emulation stalls nobody else. */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <fcntl.h>
#include <poll.h>
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

static int source_register(sb_supervisor *s, const struct source *tmpl)
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
	free(l->workers);
	free(l);
}

/* ---- a listener's own workers ----
 *
 * Each listener has threads of its own that block in RECV, as the least any supervisor
 * does: an epoll wake-up, then RECV and the re-arm of a one-shot source cost about 2 us
 * more per request (docs/architecture.md, "Why each listener has its own workers"). The
 * epoll set only watches the listener for POLLHUP. A worker that takes a request while
 * every other one of the listener is busy starts another, so a handler that blocks stalls
 * no other request.
 *
 * When the filter loses its last task, a RECV that waits returns ENOENT since 6.11
 * (95036a7), and every RECV after it at once; older kernels leave it waiting. A worker that gets
 * ENOENT asks the listener whether it hung up and leaves then: looping on RECV until the
 * loop's thread took the hang-up from epoll held a CPU that thread needed, up to a 4 ms
 * tick (half the starts of `sysbroker run -- true` took 8 ms instead of 4). Otherwise a
 * hung-up listener's workers are woken by a signal of ours (SB_WAKE_SIGNAL), and only
 * while they wait in RECV: a signal that interrupts ADDFD|SEND answers the target 0 with no fd on 6.18
 * (kernel-api.md §2.10). Each worker publishes W_RECV before it checks whether the
 * listener is dead and waits; the waker signals only a worker it moves from W_RECV to
 * W_WOKEN, and a worker that finds itself moved when RECV returns waits for the signal to
 * land before it does anything else. The handler jumps out of the RECV window (from just
 * before the ioctl to just after), so a signal that lands before the ioctl starts is not
 * lost.
 */

enum { W_BUSY, W_RECV, W_WOKEN };

struct lworker {
	sb_supervisor *s;
	sb_listener *l;
	_Atomic pid_t tid;
	atomic_int state;
};

static __thread sigjmp_buf wake_env;
static __thread volatile sig_atomic_t wake_armed, wake_seen;

static void wake_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	/* Only ours: tgkill from this process (SI_TKILL with our pid cannot be forged). */
	if (si->si_code != SI_TKILL || si->si_pid != getpid())
		return;
	wake_seen = 1;
	if (wake_armed) {
		wake_armed = 0;
		siglongjmp(wake_env, 1);
	}
}

static void wake_handler_install(void)
{
	struct sigaction sa = {.sa_sigaction = wake_handler, .sa_flags = SA_SIGINFO | SA_RESTART};
	sigfillset(&sa.sa_mask);
	sigaction(SB_WAKE_SIGNAL, &sa, NULL);
}

/* RECV that our wake signal ends: 0 with n filled, -errno, and *woken once woken (n may
 * still hold a request received just before: data.arch is then set). */
static int recv_wakeable(int fd, struct seccomp_notif *n, size_t size, bool *woken)
{
	memset(n, 0, size);
	if (sigsetjmp(wake_env, 0)) {
		*woken = true;
		return n->data.arch ? 0 : -EINTR;
	}
	wake_armed = 1;
	atomic_signal_fence(memory_order_seq_cst);
	if (wake_seen) {
		wake_armed = 0;
		*woken = true;
		return -EINTR;
	}
	int r = ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, n) == 0 ? 0 : negative_errno();
	wake_armed = 0;
	atomic_signal_fence(memory_order_seq_cst);
	return r;
}

static int thread_start(pthread_t *t, void *(*fn)(void *), void *arg, bool detached);

/* No task uses the listener's filter any more (a seccomp listener polls POLLHUP then). */
static bool hung_up(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return syscall(SYS_poll, &p, 1, 0) == 1 && (p.revents & POLLHUP);
}

/* The engine's threads alive, pool and listeners' (s->lock held). */
static unsigned threads_locked(const sb_supervisor *s)
{
	return s->n_workers + s->n_lworkers;
}

/* After a thread was added, with s->lock held. */
static void threads_counted_locked(sb_supervisor *s)
{
	if (threads_locked(s) > s->threads_peak)
		s->threads_peak = threads_locked(s);
}

void sb_supervisor_stats_get(sb_supervisor *s, sb_supervisor_stats *ret)
{
	pthread_mutex_lock(&s->lock);
	ret->threads = threads_locked(s);
	ret->threads_peak = s->threads_peak;
	pthread_mutex_unlock(&s->lock);
}

static void *listener_worker(void *arg);

/* Called with s->lock held. The worker holds a reference on l until it exits. */
static int listener_worker_spawn_locked(sb_supervisor *s, sb_listener *l)
{
	unsigned n = atomic_load(&l->n_threads);
	struct lworker **ws = realloc(l->workers, (n + 1) * sizeof(*ws));
	if (!ws)
		return -ENOMEM;
	l->workers = ws;
	struct lworker *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->s = s;
	w->l = l;
	atomic_init(&w->state, W_BUSY);
	atomic_fetch_add(&l->refs, 1);
	pthread_t t;
	int r = thread_start(&t, listener_worker, w, true);
	if (r < 0) {
		atomic_fetch_sub(&l->refs, 1);
		free(w);
		return r;
	}
	l->workers[n] = w;
	atomic_store(&l->n_threads, n + 1);
	s->n_lworkers++;
	threads_counted_locked(s);
	return 0;
}

/* Every worker of l is busy: add one, within the caps. */
static void listener_grow(sb_supervisor *s, sb_listener *l)
{
	pthread_mutex_lock(&s->lock);
	unsigned n = atomic_load(&l->n_threads);
	if (atomic_load(&l->busy) >= n && n < s->max_per_listener && s->n_lworkers < s->max_workers &&
	    !atomic_load(&l->dead) && !atomic_load(&s->stopping))
		listener_worker_spawn_locked(s, l);
	pthread_mutex_unlock(&s->lock);
}

/* Called with s->lock held, after l->dead was set: a worker in RECV is woken; any other
 * sees l->dead before its next RECV. */
static void listener_wake_workers_locked(sb_listener *l)
{
	for (unsigned i = 0; i < atomic_load(&l->n_threads); i++) {
		struct lworker *w = l->workers[i];
		int expect = W_RECV;
		if (atomic_compare_exchange_strong(&w->state, &expect, W_WOKEN))
			syscall(SYS_tgkill, getpid(), atomic_load(&w->tid), SB_WAKE_SIGNAL);
	}
}

/* The listener is done (hung up, or the engine ends): stop its workers, drop the loop's
 * reference. gone() runs with the last reference, once no request of l is in flight. */
static void listener_kill(sb_supervisor *s, sb_listener *l)
{
	if (atomic_exchange(&l->dead, true))
		return;
	pthread_mutex_lock(&s->lock);
	listener_wake_workers_locked(l);
	pthread_mutex_unlock(&s->lock);
	listener_unref(l);
}

/* The worker leaves: off the listener's list (no wake-up can be sent to its tid after
 * that), its reference dropped, and counted out last. */
static void listener_worker_exit(struct lworker *w)
{
	sb_supervisor *s = w->s;
	sb_listener *l = w->l;
	identity_thread_exit();
	pthread_mutex_lock(&s->lock);
	unsigned n = atomic_load(&l->n_threads);
	for (unsigned i = 0; i < n; i++)
		if (l->workers[i] == w) {
			l->workers[i] = l->workers[n - 1];
			atomic_store(&l->n_threads, n - 1);
			break;
		}
	pthread_mutex_unlock(&s->lock);
	free(w);
	listener_unref(l); /* gone() may run here */
	/* Last: sb_supervisor_free may return (and its caller free what gone() used) as soon
	 * as the count reaches 0, and the thread is detached. */
	pthread_mutex_lock(&s->lock);
	s->n_lworkers--;
	pthread_cond_broadcast(&s->stopped_cond);
	pthread_mutex_unlock(&s->lock);
}

static void listener_serve(sb_supervisor *s, sb_listener *l, struct seccomp_notif *n)
{
	/* Counted until the answer goes out: a worker on its way back to RECV is free, and
	 * counting it busy would add a thread whenever the next request arrives first. */
	unsigned busy = atomic_fetch_add(&l->busy, 1) + 1;
	if (busy >= atomic_load(&l->n_threads))
		listener_grow(s, l);
	sb_req req;
	req_init(&req, s, l, n);
	req.busy = true; /* until its answer goes out (req_answering) */
	req_dispatch(&req);
	req_done(&req);
}

static void *listener_worker(void *arg)
{
	struct lworker *w = arg;
	sb_listener *l = w->l;
	sb_supervisor *s = w->s;
	sigset_t wake;
	sigemptyset(&wake);
	sigaddset(&wake, SB_WAKE_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &wake, NULL);
	atomic_store(&w->tid, (pid_t)syscall(SYS_gettid));
	identity_thread_init(s->procfd, s->rootfd, s->cwdfd);
	struct seccomp_notif *n = calloc(1, s->notif_size);
	bool woken = false;
	while (n && !woken) {
		atomic_store(&w->state, W_RECV);
		if (atomic_load(&l->dead) || atomic_load(&s->stopping))
			break;
		int r = recv_wakeable(l->fd, n, s->notif_size, &woken);
		int expect = W_RECV;
		if (!woken && !atomic_compare_exchange_strong(&w->state, &expect, W_BUSY)) {
			/* Woken as RECV returned: let the signal land before any ADDFD. */
			while (!wake_seen)
				sched_yield();
			woken = true;
		}
		if (r == 0)
			listener_serve(s, l, n);
		else if (r == -ENOENT && hung_up(l->fd))
			break; /* no task uses the filter any more: RECV would return at once */
		else if (r != -ENOENT && r != -EINTR) /* ENOENT: the target left first */
			usleep(1000); /* not seen on a live fd; do not spin on it */
	}
	free(n);
	listener_worker_exit(w);
	return NULL;
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

/* No task uses the filter any more: drop it from the loop and tell the owner. */
static void listener_hangup(sb_supervisor *s, uint32_t slot)
{
	pthread_mutex_lock(&s->lock);
	struct source *src = &s->sources[slot];
	sb_listener *l = src->listener;
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, src->fd, NULL);
	slot_release(s, slot);
	pthread_mutex_unlock(&s->lock);
	listener_kill(s, l);
}

static int worker_spawn_locked(sb_supervisor *s);

static void *worker_main(void *arg)
{
	sb_supervisor *s = arg;
	identity_thread_init(s->procfd, s->rootfd, s->cwdfd);
	/* Take this thread's malloc cache now: a pool thread may serve nothing for a long
	 * time, and its first allocation would otherwise show as heap growth then. Through a
	 * volatile pointer: the compiler drops a plain free(malloc(1)). */
	void *volatile warm = malloc(1);
	free(warm);
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
			listener_hangup(s, slot); /* watched for POLLHUP only */
		else
			serve_user(s, slot, copy, ev.events);
		atomic_fetch_sub(&s->in_handler, 1);
	}
	identity_thread_exit();
	return NULL;
}

/* Called with s->lock held. Workers block every catchable signal: signals reach the
 * program through a signalfd source, and an ADDFD|SEND interrupted by a signal corrupts
 * the reply on 6.18.44 (kernel-api.md §2.10). */
static int thread_start(pthread_t *t, void *(*fn)(void *), void *arg, bool detached)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 512 * 1024);
	if (detached)
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int r = pthread_create(t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -r;
}

static int worker_spawn_locked(sb_supervisor *s)
{
	/* sb_supervisor_free joins s->workers: none may be added (nor the array moved)
	 * once it has set stopping under the lock. */
	if (atomic_load(&s->stopping))
		return -ECANCELED;
	pthread_t *w = realloc(s->workers, (s->n_workers + 1) * sizeof(*w));
	if (!w)
		return -ENOMEM;
	s->workers = w;
	int r = thread_start(&s->workers[s->n_workers], worker_main, s, false);
	if (r < 0)
		return r;
	s->n_workers++;
	threads_counted_locked(s);
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
	static pthread_once_t wake_once = PTHREAD_ONCE_INIT;
	pthread_once(&wake_once, wake_handler_install);
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
		s->thread_watch = s->features.thread_watch && !(opts && opts->no_thread_watch);
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
	/*
	 * Under the lock: a pool worker busy in a handler may be growing the pool (realloc
	 * of s->workers) right now; after this no worker is added, and the array we join
	 * stays where it is (ASan caught a join reading the array a realloc had freed).
	 */
	pthread_mutex_lock(&s->lock);
	atomic_store(&s->stopping, true);
	pthread_t *workers = s->workers;
	unsigned n_workers = s->n_workers;
	pthread_mutex_unlock(&s->lock);
	if (s->wakefd >= 0) {
		uint64_t one = 1;
		(void)!write(s->wakefd, &one, sizeof(one));
	}
	for (unsigned i = 0; i < n_workers; i++)
		pthread_join(workers[i], NULL);
	free(workers);
	for (size_t i = 0; i < s->n_sources; i++) {
		struct source *src = &s->sources[i];
		if (src->used && src->kind == SOURCE_LISTENER)
			listener_kill(s, src->listener);
	}
	/* Listeners hung up before were cancelled then; wait for all to leave. */
	pthread_mutex_lock(&s->lock);
	while (s->n_lworkers > 0)
		pthread_cond_wait(&s->stopped_cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
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
	/* SYNC_WAKE_UP helps a single synchronous handler; workers answering in parallel
	 * gain nothing (kernel-api.md rule 16), so only a listener with one worker asks. */
	if (s->max_per_listener == 1 && s->features.sync_wake_up)
		ioctl(listener_fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
	pthread_mutex_lock(&s->lock);
	int r = listener_worker_spawn_locked(s, l);
	pthread_mutex_unlock(&s->lock);
	if (r < 0) {
		listener_unref(l);
		return r;
	}
	/* Watched for POLLHUP only (epoll always reports it): its workers take requests. */
	struct source tmpl = {
		.kind = SOURCE_LISTENER,
		.fd = listener_fd,
		.events = 0,
		.listener = l,
	};
	r = source_register(s, &tmpl);
	if (r < 0) {
		listener_kill(s, l);
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
	return source_register(s, &tmpl);
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
