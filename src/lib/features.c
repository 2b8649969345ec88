/* Feature probing: finds what the running kernel supports by trying each interface. */
#include <sysbroker/sysbroker.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/param.h> /* MIN, MAX */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include <linux/filter.h>
#include <linux/sched.h> /* struct clone_args */
#include <seccomp.h> /* seccomp_arch_native() only */

#include "macros.h"
#include "twatch.h"

/* Only reached when something is badly wrong: a normal probe takes about a millisecond. */
#define PROBE_TIMEOUT_MS 2000

/* Large enough for any struct seccomp_notif a kernel reports through GET_NOTIF_SIZES. */
typedef union {
	struct seccomp_notif n;
	char buf[1024];
} notif_buf;

static void sigmask_restore(sigset_t *saved)
{
	pthread_sigmask(SIG_SETMASK, saved, NULL);
}

/*
 * A NULL program with filter flags the kernel knows fails in copy_from_user() with EFAULT,
 * before the no_new_privs check and before anything is installed; unknown flags (or a
 * forbidden combination) fail earlier with EINVAL.
 */
static bool seccomp_flags_known(unsigned long flags)
{
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, NULL) < 0 && errno == EFAULT;
}

static void probe_seccomp(sb_features *f)
{
	uint32_t action = SECCOMP_RET_USER_NOTIF;
	struct seccomp_notif_sizes sizes = {};

	f->user_notif = syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0 &&
			seccomp_flags_known(SECCOMP_FILTER_FLAG_NEW_LISTENER);
	f->tsync_esrch = seccomp_flags_known(SECCOMP_FILTER_FLAG_TSYNC_ESRCH);
	/* WAIT_KILLABLE_RECV alone is EINVAL even where it exists: it needs NEW_LISTENER. */
	f->wait_killable_recv = seccomp_flags_known(SECCOMP_FILTER_FLAG_NEW_LISTENER |
						    SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) == 0) {
		f->sizeof_notif = sizes.seccomp_notif;
		f->sizeof_resp = sizes.seccomp_notif_resp;
		f->sizeof_data = sizes.seccomp_data;
	}
}

static void probe_pidfd(sb_features *f)
{
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	if (pidfd < 0)
		return;
	f->pidfd_open = true;

	/* Taking an fd from our own process needs no ptrace permission (same thread group), so
	 * Yama or an LSM cannot make this fail: only a missing syscall can. */
	_cleanup_close_ int fd = (int)syscall(SYS_pidfd_getfd, pidfd, pidfd, 0);
	f->pidfd_getfd = fd >= 0;
}

struct thread_probe {
	pthread_barrier_t barrier;
	pid_t tid;
};

static void *thread_probe_main(void *userdata)
{
	struct thread_probe *t = userdata;

	t->tid = gettid();
	pthread_barrier_wait(&t->barrier); /* tid published */
	pthread_barrier_wait(&t->barrier); /* the prober is done with us */
	return NULL;
}

/*
 * PIDFD_THREAD only shows on a thread that is not the group leader: without the flag (or
 * before 6.9, where the O_EXCL bit is an unknown flag: EINVAL) pidfd_open() of such a tid
 * fails with ENOENT. So make such a thread; it inherits the caller's (fully blocked) mask.
 */
static int probe_pidfd_thread(sb_features *f)
{
	struct thread_probe t = {};
	pthread_t thread;
	int r;

	r = pthread_barrier_init(&t.barrier, NULL, 2);
	if (r != 0)
		return -r;
	r = pthread_create(&thread, NULL, thread_probe_main, &t);
	if (r != 0) {
		pthread_barrier_destroy(&t.barrier);
		return -r;
	}
	pthread_barrier_wait(&t.barrier);
	int fd = (int)syscall(SYS_pidfd_open, t.tid, PIDFD_THREAD);
	f->pidfd_thread = fd >= 0;
	safe_close(fd);
	pthread_barrier_wait(&t.barrier);
	pthread_join(thread, NULL);
	pthread_barrier_destroy(&t.barrier);
	return 0;
}

static void probe_openat2(sb_features *f)
{
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_NO_MAGICLINKS,
	};
	_cleanup_close_ int fd = (int)syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof(how));
	f->openat2 = fd >= 0;
}

static void probe_landlock(sb_features *f)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	f->landlock_abi = abi > 0 ? (int)abi : 0;
}

/* ---- The notification ioctls, tried for real against a short-lived child ---- */

struct probe_child {
	pid_t pid;
	int pidfd;
};

static void probe_child_reap(struct probe_child *c)
{
	int saved = errno;

	if (c->pid > 0) {
		if (c->pidfd < 0 || syscall(SYS_pidfd_send_signal, c->pidfd, SIGKILL, NULL, 0) < 0)
			kill(c->pid, SIGKILL);
		while (waitpid(c->pid, NULL, __WALL) < 0 && errno == EINTR)
			;
	}
	safe_close(c->pidfd);
	errno = saved;
}

/*
 * clone3 with exit_signal 0: no SIGCHLD reaches the caller, and a caller that reaps with
 * waitpid(-1) cannot take our child (only __WALL sees it); CLONE_PIDFD gives a pidfd with
 * no pid-reuse window. Falls back to fork() where clone3 is missing or filtered (containers
 * often answer ENOSYS or EPERM for it). Returns like fork().
 */
static pid_t probe_clone(struct probe_child *c)
{
	int pidfd = -1;
	struct clone_args args = {
		.flags = CLONE_PIDFD,
		.pidfd = (uint64_t)(uintptr_t)&pidfd,
		.exit_signal = 0,
	};
	pid_t pid = (pid_t)syscall(SYS_clone3, &args, CLONE_ARGS_SIZE_VER0);

	if (pid < 0 && errno != EAGAIN && errno != ENOMEM) {
		pid = fork();
		if (pid > 0)
			pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	}
	if (pid < 0)
		return negative_errno();
	if (pid > 0) {
		c->pid = pid;
		c->pidfd = pidfd;
	}
	return pid;
}

/*
 * The child: only raw system calls from here on (the caller may be multi-threaded and we
 * may have skipped glibc's fork handlers). Installs a filter that notifies getppid(), sends
 * the listener over sk (or the install error), makes three getppid() calls, reports their
 * results and waits to be killed.
 */
static _Noreturn void notif_child(int sk, const struct sock_fprog *prog)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control = {};
	int listener = -1, err = 0;
	long results[3];
	char c;

	(void)prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		err = -errno;
	else {
		listener = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
					SECCOMP_FILTER_FLAG_NEW_LISTENER, prog);
		if (listener < 0)
			err = -errno;
	}

	struct iovec iov = {.iov_base = &err, .iov_len = sizeof(err)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	if (listener >= 0) {
		mh.msg_control = control.buf;
		mh.msg_controllen = sizeof(control.buf);
		struct cmsghdr *cmsg = CMSG_FIRSTHDR(&mh);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &listener, sizeof(int));
	}
	if (sendmsg(sk, &mh, MSG_NOSIGNAL) < 0 || listener < 0)
		_exit(1);
	close(listener);

	for (size_t i = 0; i < ELEMENTSOF(results); i++) {
		long r = syscall(SYS_getppid);
		results[i] = r < 0 ? -errno : r;
	}
	(void)send(sk, results, sizeof(results), MSG_NOSIGNAL);
	if (read(sk, &c, 1) < 0) /* EOF or death: either way we are done */
		_exit(0);
	_exit(0);
}

static int remaining_ms(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	long long ms = (deadline->tv_sec - now.tv_sec) * 1000LL +
		       (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? (int)ms : 0;
}

static int wait_readable(int fd, const struct timespec *deadline)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int ms = remaining_ms(deadline);
		if (ms <= 0)
			return -ETIMEDOUT;
		int r = poll(&p, 1, ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		/* The child died, or (listener) no task uses the filter any more. */
		if (!(p.revents & POLLIN))
			return -ECHILD;
		return 0;
	}
}

/* *ret_fd is -1 when the child could not install the filter: nothing to probe then. */
static int recv_listener(int sk, const struct timespec *deadline, int *ret_fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	int err = 0, fd = -1, r;
	struct iovec iov = {.iov_base = &err, .iov_len = sizeof(err)};
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};

	r = wait_readable(sk, deadline);
	if (r < 0)
		return r;
	ssize_t n = recvmsg(sk, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0)
		return negative_errno();
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&fd, CMSG_DATA(c), sizeof(int));
	_cleanup_close_ int owned = fd;

	if (n != sizeof(err) || (mh.msg_flags & MSG_CTRUNC))
		return -EIO;
	*ret_fd = TAKE_FD(owned);
	return 0;
}

static int notif_recv(int listener, size_t size, notif_buf *nb, const struct timespec *deadline)
{
	int r = wait_readable(listener, deadline);
	if (r < 0)
		return r;
	r = notify_recv(listener, &nb->n, size);
	if (r < 0)
		return r;
	return nb->n.data.nr == SYS_getppid ? 0 : -EIO;
}

static int probe_notif(sb_features *f)
{
	const size_t size = MAX((size_t)f->sizeof_notif, sizeof(struct seccomp_notif));
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, seccomp_arch_native(), 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	const struct sock_fprog prog = {.len = ELEMENTSOF(code), .filter = code};
	struct timespec deadline;
	notif_buf nb;
	long results[3];
	int sk[2], r;

	if (!f->user_notif || size > sizeof(nb))
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += PROBE_TIMEOUT_MS / 1000;
	deadline.tv_nsec += (PROBE_TIMEOUT_MS % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sk) < 0)
		return negative_errno();
	_cleanup_close_ int psk = sk[0];
	_cleanup_close_ int csk = sk[1];
	/* Declared after the sockets, so it is killed and reaped before they are closed. */
	_cleanup_(probe_child_reap) struct probe_child child = {.pid = -1, .pidfd = -1};

	pid_t pid = probe_clone(&child);
	if (pid < 0)
		return pid;
	if (pid == 0)
		notif_child(csk, &prog);
	csk = safe_close(csk);

	_cleanup_close_ int listener = -1;
	r = recv_listener(psk, &deadline, &listener);
	if (r < 0)
		return r;
	if (listener < 0)
		return 0; /* e.g. EBUSY: the caller's own filter chain already has a listener */

	/* The flag is by value, not through a pointer; the listener is ours alone, so leave it. */
	f->sync_wake_up = ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS,
				SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) == 0;

	/* 1st getppid(): let it run. Without CONTINUE (EINVAL) answer it plainly. */
	r = notif_recv(listener, size, &nb, &deadline);
	if (r < 0)
		return r;
	r = notify_send(listener, nb.n.id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
	bool continued = r == 0;
	if (r == -EINVAL)
		r = notify_send(listener, nb.n.id, 0, 0, 0);
	if (r < 0)
		return r;

	/*
	 * 2nd: plain ADDFD, then ADDFD|SETFD onto the number it got: dup2 semantics replace it,
	 * and that number is below the child's RLIMIT_NOFILE by construction.
	 */
	r = notif_recv(listener, size, &nb, &deadline);
	if (r < 0)
		return r;
	struct seccomp_notif_addfd addfd = {
		.id = nb.n.id,
		.srcfd = (uint32_t)psk,
		.newfd_flags = O_CLOEXEC,
	};
	int installed = ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &addfd);
	f->addfd = installed >= 0;
	if (installed >= 0) {
		addfd.flags = SECCOMP_ADDFD_FLAG_SETFD;
		addfd.newfd = (uint32_t)installed;
		f->addfd_setfd = ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &addfd) == installed;
	}
	r = notify_send(listener, nb.n.id, 0, 0, 0);
	if (r < 0)
		return r;

	/* 3rd: ADDFD|SEND answers the call itself; the fd must come back as its return value. */
	r = notif_recv(listener, size, &nb, &deadline);
	if (r < 0)
		return r;
	addfd = (struct seccomp_notif_addfd){
		.id = nb.n.id,
		.flags = SECCOMP_ADDFD_FLAG_SEND,
		.srcfd = (uint32_t)psk,
		.newfd_flags = O_CLOEXEC,
	};
	int sent = ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &addfd);
	if (sent < 0) {
		r = notify_send(listener, nb.n.id, 0, 0, 0);
		if (r < 0)
			return r;
	}

	r = wait_readable(psk, &deadline);
	if (r < 0)
		return r;
	if (recv(psk, results, sizeof(results), MSG_DONTWAIT) != (ssize_t)sizeof(results))
		return -EIO;
	f->notif_continue = continued && results[0] == getpid();
	f->addfd_send = sent >= 0 && results[2] == sent;
	return 0;
}

/* Its capabilities and a map of its kind, made for real (twatch_probe). */
static void probe_thread_watch(sb_features *f)
{
	f->thread_watch = twatch_probe() == 0;
}

int sb_features_probe(sb_features *ret)
{
	sb_features f = {};
	sigset_t all;
	int r, r2;

	if (!ret)
		return -EINVAL;

	/*
	 * Block every catchable signal while probing (they stay pending and arrive afterwards):
	 * an interrupted ADDFD|SEND can leave the child with a 0 return and no fd on 6.18.44,
	 * and the probe thread and child inherit the mask, so no caller handler runs there.
	 */
	sigfillset(&all);
	_cleanup_(sigmask_restore) sigset_t saved;
	pthread_sigmask(SIG_BLOCK, &all, &saved);

	probe_seccomp(&f);
	probe_pidfd(&f);
	probe_openat2(&f);
	probe_landlock(&f);
	probe_thread_watch(&f);
	r = probe_pidfd_thread(&f);
	r2 = probe_notif(&f);

	/* Even on failure *ret holds what could be found. */
	*ret = f;
	return r < 0 ? r : r2;
}

size_t sb_features_rows(const sb_features *f, sb_feature_row *rows, size_t n)
{
	if (!f || !rows)
		return 0;

	/* SPEC §7 order; the names are also the source of the JSON keys of `sysbroker features`. */
	const sb_feature_row all[] = {
		{"user notification", "5.0", f->user_notif},
		{"CONTINUE", "5.5", f->notif_continue},
		{"ADDFD", "5.9", f->addfd},
		{"ADDFD_FLAG_SEND", "5.14", f->addfd_send},
		{"ADDFD_FLAG_SETFD", "5.9", f->addfd_setfd},
		{"WAIT_KILLABLE_RECV", "5.19", f->wait_killable_recv},
		{"TSYNC_ESRCH", "5.7", f->tsync_esrch},
		{"NOTIF_SET_FLAGS/SYNC_WAKE_UP", "6.6", f->sync_wake_up},
		{"pidfd_open", "5.3", f->pidfd_open},
		{"pidfd_getfd", "5.6", f->pidfd_getfd},
		{"PIDFD_THREAD", "6.9", f->pidfd_thread},
		{"openat2", "5.6", f->openat2},
		{"Landlock", "5.13", f->landlock_abi > 0},
		{"BPF thread watch", "5.5", f->thread_watch},
	};
	size_t k = MIN(n, ELEMENTSOF(all));

	memcpy(rows, all, k * sizeof(all[0]));
	return k;
}
