/* Internal structures of the engine shared by the supervisor loop, requests and the spawner. */
#pragma once

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <sysbroker/sysbroker.h>

#include "compat.h"
#include "tcache.h"

#define SB_MAX_NR 512 /* x86_64 syscall numbers are below this */
/* Ends a listener worker's RECV (supervisor.c); public in sysbroker.h's words. */
#define SB_WAKE_SIGNAL (SIGRTMAX - 1)

struct sb_listener {
	int fd;
	atomic_int refs;
	atomic_bool dead;
	sb_supervisor *s;
	void *data;
	sb_listener_gone_fn gone;
	bool wait_killable; /* its filter has WAIT_KILLABLE_RECV (we installed it) */
	/* Its filter notifies every call that changes an identity (we installed it, with
	 * IDENT_WATCH_NRS): identities of its threads may be cached (tcache.h). */
	bool ident_cache;
	/* ... and leaves execs to the thread watch: no cache until the watch counts. */
	bool execs_counted;
	/* Its own workers, each blocked in RECV when idle (supervisor.c): the array under
	 * s->lock, the count also read without it to decide whether to add one. At most
	 * s->max_per_listener, so one tree or container whose calls block cannot hold every
	 * thread; its further calls wait in its own kernel queue. */
	struct lworker **workers;
	atomic_uint n_threads;
	atomic_uint busy; /* of those, in a handler whose answer has not gone out */
};

enum source_kind {
	SOURCE_LISTENER,
	SOURCE_USER,
	SOURCE_WAKE,
};

/*
 * One fd in the engine's epoll set, one-shot and re-armed after use. epoll data holds
 * slot index and generation, not a pointer, so an event that raced with a removal finds a
 * stale generation instead of freed memory.
 */
struct source {
	enum source_kind kind;
	int fd;
	uint32_t events;
	uint32_t gen;
	bool used;
	bool removed;
	bool busy; /* a worker is running its callback */
	sb_listener *listener;
	sb_source_fn fn;
	void *userdata;
};

struct handler {
	sb_handler_fn fn;
	void *userdata;
	/* Bit i: a call whose argument i is 0 is left to the kernel by the filter, never
	 * notified (filter_native_if_zero). sb_on_syscall clears it with a new handler. */
	uint8_t native_if_zero;
};

struct sb_supervisor {
	int epfd;
	int wakefd; /* eventfd: level-triggered, wakes every worker to stop */
	int procfd; /* our /proc: workers may be chrooted into a target's root */
	int rootfd, cwdfd; /* our root and cwd, for workers to start from and return to */
	dev_t userns_dev;   /* our user namespace (/proc/self/ns/user), to tell a target's apart */
	ino_t userns_ino;
	struct handler handlers[SB_MAX_NR];
	sb_after_fn after;
	void *after_userdata;

	pthread_mutex_t lock; /* sources table, workers array, stop state */
	pthread_cond_t stopped_cond;
	struct source *sources; /* table of slots */
	size_t n_sources;
	pthread_t *workers; /* the pool serving the epoll set */
	unsigned n_workers, min_workers, max_workers, max_per_listener;
	atomic_uint in_handler; /* pool workers serving a source now */
	unsigned n_lworkers;    /* listeners' workers (detached) alive; stopped_cond: one left */
	unsigned threads_peak;  /* most of n_workers + n_lworkers at once */
	atomic_bool stopping;
	bool stopped;
	int stop_code;

	sb_features features;
	size_t notif_size;
	struct tcache *tcache; /* NULL without PIDFD_THREAD: identities are read every time */
	bool thread_watch;     /* the cache may have the thread watch (tcache.h) */
};

struct sb_req {
	sb_supervisor *s;
	sb_listener *l;
	struct seccomp_notif *notif; /* sized from SECCOMP_GET_NOTIF_SIZES */
	bool answered;
	bool busy;       /* counted in l->busy until its answer goes out (req_answering) */
	bool delivered;  /* our answer reached the target (the after hook runs then) */
	int64_t result; /* what the target saw: value, or -errno */
	int memfd, pidfd, procfd;
	bool procfd_unchecked; /* opened early; proven by the next successful ID_VALID */
	pid_t tgid;
	/* The target's identity, read once per request (from the cache or /proc/TID); store:
	 * read from /proc, to be cached once an ID_VALID after the read proves it the caller's. */
	bool ident_have, ident_unchecked, ident_store;
	struct tcache_ident ident;
	sb_req_note note;
};

/* notify.c: raw ioctls. Each returns 0 or -errno; -ENOENT means the request vanished. */
int notify_recv(int listener, struct seccomp_notif *n, size_t size);
int notify_id_valid(int listener, uint64_t id);
int notify_send(int listener, uint64_t id, int64_t val, int error, uint32_t flags);
int notify_addfd(int listener, uint64_t id, int srcfd, int newfd, uint32_t flags, bool cloexec);

/* filter.c: the BPF program for a spawned tree. */
int filter_build(sb_supervisor *s, const bool *notify_nrs, struct sock_fprog *ret);
/*
 * Calls to nr with argument arg (< 6) equal to 0 are not notified: for handlers that would
 * only let such a call run (a decision on a register value, which the filter can make).
 * Set after sb_on_syscall, before sb_spawn.
 */
int filter_native_if_zero(sb_supervisor *s, int nr, unsigned arg);
void filter_free(struct sock_fprog *prog);

/* supervisor.c */
void listener_unref(sb_listener *l);
int supervisor_ensure_workers(sb_supervisor *s);

/* req.c */
void req_init(sb_req *r, sb_supervisor *s, sb_listener *l, struct seccomp_notif *n);
void req_dispatch(sb_req *r);
void req_done(sb_req *r);
/* sb_req_reply_fd_close for an fd whose access mode (O_RDONLY...) the caller knows. */
int req_reply_fd_close_mode(sb_req *r, int fd, bool cloexec, int accmode);
/* Opens /proc/TID without its own ID_VALID: the caller's next read (which checks) proves it. */
int req_procfd_early(sb_req *r);
/* The same for the target's identity (credentials and root), cached or read. */
int req_ident_early(sb_req *r);
/* Calls that change a thread's credentials, namespaces, umask or root: a tree we spawn has
 * them notified (execs not, where the thread watch counts them), and each makes every
 * cached identity stale (tcache.h). */
bool ident_watch_nr(int nr);
/* Whether the target's user namespace is not ours: 1, 0, or -errno (from its identity). */
int req_userns_foreign(sb_req *r);
/* The target's permitted capabilities as its status shows them (from its identity). */
int req_cap_permitted(sb_req *r, uint64_t *ret);
/* The cached root of the target, if known: 1 and its id, or 0. */
int req_root_id(sb_req *r, dev_t *dev, ino_t *ino, uint64_t *mnt);
