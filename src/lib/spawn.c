/* Launches a program under a filter. Between installing the filter and the supervisor
 * owning the listener, the child makes no system call that the filter may notify: it
 * publishes the listener's number in shared memory and spins (yielding, where sched_yield
 * is not notified) until the supervisor, which took the listener with pidfd_getfd, says
 * so. A notified call there would wait for a listener nobody serves yet and deadlock
 * (runc #4328), whatever handlers a library user registered. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "macros.h"

extern char **environ;

enum handoff_state {
	HANDOFF_WAIT,   /* child still setting up */
	HANDOFF_INSTALLING, /* child: the filter goes in now (READY follows in microseconds) */
	HANDOFF_READY,  /* child: the listener is fd `fd` */
	HANDOFF_TAKEN,  /* parent: we own a copy, go on */
	HANDOFF_FAILED, /* child: setup failed with `err` before the filter */
};

/* One shared page between the two processes. */
struct handoff {
	_Atomic int state;
	int fd;
	int err;
};

/* The state moves on: wake the parent if it sleeps on it (a futex on the shared page). */
static void handoff_set(struct handoff *h, int state)
{
	atomic_store(&h->state, state);
	syscall(SYS_futex, &h->state, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static _Noreturn void child_fail(struct handoff *h, int err)
{
	h->err = err;
	handoff_set(h, HANDOFF_FAILED);
	_exit(EXIT_FAILURE);
}

static int move_fd(int from, int to)
{
	if (from < 0 || from == to)
		return 0;
	return dup2(from, to) < 0 ? -1 : 0;
}

static _Noreturn void child_main(const sb_spawn_opts *o, char *const argv[],
				 const struct sock_fprog *prog, unsigned filter_flags, pid_t parent,
				 struct handoff *h, int exec_fd, bool may_yield)
{
	/* Restore what the supervisor changed for itself: signals blocked for the
	 * signalfd, handlers, so the program starts as it would without us. */
	sigset_t none;
	sigemptyset(&none);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, NULL);

	/* The program never runs unsupervised: if the supervisor dies, it dies (this also
	 * ends the spin below, which needs no system call to be killed). */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		child_fail(h, ESRCH);
	/* A supervisor that made itself non-dumpable (sysbroker run does) passed that on:
	 * then an unprivileged supervisor could not take our listener with pidfd_getfd.
	 * execve decides dumpability afresh for the program anyway. */
	if (prctl(PR_SET_DUMPABLE, 1) < 0)
		child_fail(h, errno);
	if (move_fd(o->stdin_fd, 0) < 0 || move_fd(o->stdout_fd, 1) < 0 ||
	    move_fd(o->stderr_fd, 2) < 0)
		child_fail(h, errno);
	if (o->unshare_net && unshare(CLONE_NEWNET) < 0)
		child_fail(h, errno);
	if (o->pre_filter) {
		int r = o->pre_filter(o->userdata);
		if (r < 0)
			child_fail(h, -r);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		child_fail(h, errno);
	/* The last call we may make before the filter: the parent stops sleeping and spins
	 * for READY, which needs no call of ours to be seen. */
	handoff_set(h, HANDOFF_INSTALLING);
	int listener = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, filter_flags, prog);
	if (listener < 0)
		child_fail(h, errno);
	/*
	 * From here until TAKEN: no system call that the filter may notify. sched_yield
	 * when it is not one: sharing a CPU with the supervisor's thread that must take the
	 * listener, a spin would hold it until the next tick preempts us (4 ms at HZ=250,
	 * a startup of 8 ms instead of 4 pinned to one CPU).
	 */
	h->fd = listener;
	atomic_store(&h->state, HANDOFF_READY);
	while (atomic_load(&h->state) != HANDOFF_TAKEN) {
		if (may_yield)
			syscall(SYS_sched_yield);
		else
			__builtin_ia32_pause();
	}
	/* Served from now on, whatever these calls are. */
	close(listener);
	char *const *envp = o->envp ? o->envp : environ;
	if (o->path)
		execve(o->path, argv, envp);
	else
		execvpe(argv[0], argv, envp);
	int err = errno;
	(void)!write(exec_fd, &err, sizeof(err));
	_exit(err == ENOENT ? 127 : 126);
}

static void kill_and_reap(pid_t pid)
{
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/*
 * Waits for the child to publish its listener; -errno if it failed or died first. Asleep
 * on the futex while it sets up (it wakes us when the state moves), then spinning while
 * it installs the filter: after that it may make no call to wake us, and READY follows
 * within microseconds. Sleeping in steps there cost up to a step of latency per start.
 */
static int wait_ready(struct handoff *h, pid_t pid)
{
	unsigned spins = 0;
	for (;;) {
		int st = atomic_load(&h->state);
		if (st == HANDOFF_READY)
			return 0;
		if (st == HANDOFF_FAILED)
			return -h->err;
		if (st == HANDOFF_WAIT) {
			/* A timeout: the child may die without a word (then only waitpid says). */
			struct timespec ts = {0, 10 * 1000 * 1000};
			syscall(SYS_futex, &h->state, FUTEX_WAIT, HANDOFF_WAIT, &ts, NULL, 0);
		} else if (++spins % 4096) {
			__builtin_ia32_pause();
			continue;
		} else {
			sched_yield(); /* one CPU: let the child run */
		}
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -ECHILD;
	}
}

static bool exec_nr(int nr)
{
	return nr == SYS_execve || nr == SYS_execveat;
}

bool ident_watch_nr(int nr)
{
	switch (nr) {
	case SYS_setuid: case SYS_setgid: case SYS_setreuid: case SYS_setregid:
	case SYS_setresuid: case SYS_setresgid: case SYS_setfsuid: case SYS_setfsgid:
	case SYS_setgroups: case SYS_capset: /* credentials */
	case SYS_execve: case SYS_execveat: /* capabilities are computed afresh */
	case SYS_umask:
	case SYS_unshare: case SYS_setns: /* user namespace (caps), mount namespace (root) */
	case SYS_chroot: case SYS_pivot_root:
		return true;
	default:
		return false;
	}
}

pid_t sb_spawn(sb_supervisor *s, const sb_spawn_opts *opts, char *const argv[], int *ret_pidfd,
	       sb_listener **ret_listener)
{
	static const sb_spawn_opts defaults = {.stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
	const sb_spawn_opts *o = opts ? opts : &defaults;
	if (!argv || !argv[0])
		return -EINVAL;
	if (!s->features.addfd_send || !s->features.pidfd_getfd)
		return -EOPNOTSUPP;

	bool nrs[SB_MAX_NR] = {0};
	pthread_mutex_lock(&s->lock);
	for (int nr = 0; nr < SB_MAX_NR; nr++)
		nrs[nr] = s->handlers[nr].fn != NULL;
	pthread_mutex_unlock(&s->lock);
	for (size_t i = 0; i < o->n_extra_nrs; i++)
		if (o->extra_nrs[i] >= 0 && o->extra_nrs[i] < SB_MAX_NR)
			nrs[o->extra_nrs[i]] = true;
	/*
	 * Identities of this tree may be cached when every call that changes one is ours to
	 * see (a handful of rare calls; each one is let run after it made the cache stale).
	 * The thread watch counts execs itself: they run unnotified then, so a signal can
	 * never make one fail with EINTR (twatch.h).
	 */
	bool ident_cache = s->tcache != NULL;
	pthread_mutex_lock(&s->lock);
	bool execs_counted = ident_cache && tcache_watch_want(s->tcache, s->thread_watch);
	pthread_mutex_unlock(&s->lock);
	for (int nr = 0; ident_cache && nr < SB_MAX_NR; nr++)
		if (ident_watch_nr(nr) && !(execs_counted && exec_nr(nr)))
			nrs[nr] = true;

	struct sock_fprog prog = {0};
	int r = filter_build(s, nrs, &prog);
	if (r < 0)
		return r;
	unsigned flags = SECCOMP_FILTER_FLAG_NEW_LISTENER;
	if (o->wait_killable && s->features.wait_killable_recv)
		flags |= SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;

	int ex[2] = {-1, -1}, pidfd = -1;
	struct handoff *h = mmap(NULL, sizeof(*h), PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (h == MAP_FAILED) {
		filter_free(&prog);
		return negative_errno();
	}
	atomic_init(&h->state, HANDOFF_WAIT);
	if (pipe2(ex, O_CLOEXEC) < 0) {
		r = negative_errno();
		goto out;
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		r = negative_errno();
		goto out;
	}
	if (pid == 0) {
		close(ex[0]);
		child_main(o, argv, &prog, flags, parent, h, ex[1], !nrs[SYS_sched_yield]);
	}
	ex[1] = safe_close(ex[1]);

	/* Our child, not yet reaped: its pid cannot be reused, so the pidfd is its own. */
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	r = pidfd < 0 ? negative_errno() : wait_ready(h, pid);
	if (r < 0) {
		if (r != -ECHILD)
			kill_and_reap(pid);
		goto out;
	}
	int lfd = (int)syscall(SYS_pidfd_getfd, pidfd, h->fd, 0);
	if (lfd < 0) {
		r = negative_errno();
		kill_and_reap(pid);
		goto out;
	}
	sb_listener *l = NULL;
	r = sb_attach(s, lfd, o->listener_data, o->gone, &l);
	if (r < 0) {
		kill_and_reap(pid);
		goto out;
	}
	l->wait_killable = flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
	l->ident_cache = ident_cache;
	l->execs_counted = execs_counted;
	atomic_store(&h->state, HANDOFF_TAKEN);
	/* EOF: execve succeeded (the pipe is close-on-exec). An errno: it failed, and the
	 * child exits 126/127; the caller decides how to report it. */
	int err = 0;
	ssize_t n;
	do
		n = read(ex[0], &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	if (n == sizeof(err)) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		r = -err;
		goto out;
	}
	if (ret_listener)
		*ret_listener = l;
	if (ret_pidfd)
		*ret_pidfd = TAKE_FD(pidfd);
	r = pid;
out:
	filter_free(&prog);
	munmap(h, sizeof(*h));
	safe_close(pidfd);
	safe_close(ex[0]);
	safe_close(ex[1]);
	return r;
}
