/* The baseline for bench/run.sh: the least work any supervisor that emulates openat must do
 * (RECV, read the path, ID_VALID, open, ADDFD|SEND), single-threaded with a blocking RECV.
 *
 * Usage: minimal-supervisor [-t N] [-e] [-s] COMMAND [ARG...]
 *   -s  ask for SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (6.6+), which helps exactly this shape
 *       of supervisor: one thread answering synchronously.
 *   -t N  N threads serve the listener (default 1); -e  each waits in epoll_wait on a
 *       one-shot registration and re-arms it after RECV, as a pool over one epoll set
 *       does. These two shapes are what docs/architecture.md compares ("Why each listener
 *       has its own workers"); bench/run.sh uses the default.
 *
 * The child installs a raw BPF filter that notifies openat only (and kills any other
 * architecture), hands the listener over through pidfd_getfd and execs COMMAND. The parent
 * serves requests until the child exits, then exits with its status. No policy, no path
 * resolution in the target's view, no identity switch: it opens the path as given, relative
 * to its own cwd, which is only correct for absolute paths; good enough for a baseline. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

/* Constants newer than Debian 12's headers: the project's one list of them. */
#include "compat.h"

static pid_t child;
static int epfd = -1; /* -e: the one-shot epoll set the threads wait on */

static void die(const char *what)
{
	fprintf(stderr, "minimal-supervisor: %s: %s\n", what, strerror(errno));
	if (child > 0)
		kill(child, SIGKILL);
	exit(125);
}

/* The child is gone: RECV would block forever (nothing wakes it), so leave from here. */
static void on_sigchld(int sig)
{
	int st;
	(void)sig;
	if (waitpid(child, &st, WNOHANG) == child)
		_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

static int install_filter(void)
{
	struct sock_filter insns[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		/* x32 numbers have bit 30 set: treat them as foreign too. */
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(insns) / sizeof(insns[0]), .filter = insns};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
			    &prog);
}

/* The path, read page by page (the next page may be unmapped), then checked with ID_VALID. */
static int read_path(int lfd, const struct seccomp_notif *n, char *buf, size_t size)
{
	uint64_t addr = n->data.args[1];
	size_t used = 0;
	while (used < size) {
		size_t chunk = 4096 - ((addr + used) % 4096);
		if (chunk > size - used)
			chunk = size - used;
		struct iovec l = {buf + used, chunk}, r = {(void *)(uintptr_t)(addr + used), chunk};
		ssize_t k = process_vm_readv((pid_t)n->pid, &l, 1, &r, 1, 0);
		if (k <= 0)
			return -EFAULT;
		if (memchr(buf + used, 0, (size_t)k)) {
			uint64_t id = n->id;
			return ioctl(lfd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) < 0 ? -ENOENT : 0;
		}
		used += (size_t)k;
	}
	return -ENAMETOOLONG;
}

static void serve(int lfd)
{
	struct seccomp_notif n;
	struct seccomp_notif_resp resp;
	char path[PATH_MAX];

	for (;;) {
		struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT};
		if (epfd >= 0 && epoll_wait(epfd, &ev, 1, -1) < 1)
			continue;
		memset(&n, 0, sizeof(n));
		int got = ioctl(lfd, SECCOMP_IOCTL_NOTIF_RECV, &n);
		if (epfd >= 0) {
			ev.events = EPOLLIN | EPOLLONESHOT;
			epoll_ctl(epfd, EPOLL_CTL_MOD, lfd, &ev);
		}
		if (got < 0) {
			if (errno == EINTR || errno == ENOENT)
				continue;
			die("RECV");
		}
		int err = read_path(lfd, &n, path, sizeof(path));
		if (err == -ENOENT)
			continue; /* the caller is gone */
		if (err == 0) {
			int flags = (int)n.data.args[2];
			int fd = openat(AT_FDCWD, path, flags | O_CLOEXEC, (mode_t)n.data.args[3]);
			if (fd >= 0) {
				struct seccomp_notif_addfd a = {
					.id = n.id,
					.flags = SECCOMP_ADDFD_FLAG_SEND,
					.srcfd = (uint32_t)fd,
					.newfd_flags = flags & O_CLOEXEC,
				};
				int k = ioctl(lfd, SECCOMP_IOCTL_NOTIF_ADDFD, &a);
				close(fd);
				if (k >= 0 || errno == ENOENT)
					continue;
				err = -errno;
			} else {
				err = -errno;
			}
		}
		memset(&resp, 0, sizeof(resp));
		resp.id = n.id;
		resp.error = err;
		ioctl(lfd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
	}
}

static void *serve_thread(void *arg)
{
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, NULL); /* SIGCHLD is the main thread's */
	serve((int)(intptr_t)arg);
	return NULL;
}

int main(int argc, char **argv)
{
	int sync_wake = 0, threads = 1, use_epoll = 0, i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-s"))
			sync_wake = 1;
		else if (!strcmp(argv[i], "-e"))
			use_epoll = 1;
		else if (!strcmp(argv[i], "-t") && i + 1 < argc)
			threads = atoi(argv[++i]);
		else
			break;
	}
	if (i >= argc || threads < 1) {
		fprintf(stderr, "usage: minimal-supervisor [-t N] [-e] [-s] COMMAND [ARG...]\n");
		return 125;
	}

	struct sigaction sa = {.sa_handler = on_sigchld}; /* no SA_RESTART: RECV returns EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	sigset_t chld, old;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &old); /* until child is set */

	int msg[2], go[2];
	if (pipe2(msg, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0)
		die("pipe");
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		signal(SIGCHLD, SIG_DFL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int lfd = install_filter();
		if (lfd < 0)
			_exit(125);
		/* Only read, write and close until execve: none of them is notified. */
		if (write(msg[1], &lfd, sizeof(lfd)) != sizeof(lfd))
			_exit(125);
		char c;
		if (read(go[0], &c, 1) != 1)
			_exit(125);
		close(lfd);
		execvp(argv[i], argv + i);
		_exit(127);
	}
	close(msg[1]);
	close(go[0]);
	int pidfd = (int)syscall(SYS_pidfd_open, child, 0);
	if (pidfd < 0)
		die("pidfd_open");
	int remote;
	if (read(msg[0], &remote, sizeof(remote)) != sizeof(remote)) {
		errno = EIO;
		die("child setup");
	}
	int lfd = (int)syscall(SYS_pidfd_getfd, pidfd, remote, 0);
	if (lfd < 0)
		die("pidfd_getfd");
	if (sync_wake && ioctl(lfd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP, 0) < 0)
		die("SET_FLAGS SYNC_WAKE_UP");
	if (write(go[1], "g", 1) != 1)
		die("go");
	close(go[1]);
	if (use_epoll) {
		struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT};
		epfd = epoll_create1(EPOLL_CLOEXEC);
		if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev) < 0)
			die("epoll");
	}
	for (int t = 1; t < threads; t++) {
		pthread_t th;
		if (pthread_create(&th, NULL, serve_thread, (void *)(intptr_t)lfd) != 0)
			die("pthread_create");
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	serve(lfd);
	return 0;
}
