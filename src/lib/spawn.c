/* Launches a program under a filter: the child installs the filter, the supervisor takes the
 * listener out of it with pidfd_getfd, and only then the child execs. The child makes no
 * notified syscall between install and hand-off (read/write are never notified), so the
 * hand-off cannot deadlock the way a sendmsg through a notified socket call could. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine.h"
#include "macros.h"

extern char **environ;

struct child_msg {
	int stage; /* 0: listener fd number in value; 1: setup failed, errno in value */
	int value;
};

static _Noreturn void child_fail(int fd, int err)
{
	struct child_msg m = {1, err};
	(void)!write(fd, &m, sizeof(m));
	_exit(EXIT_FAILURE);
}

static int move_fd(int from, int to)
{
	if (from < 0 || from == to)
		return 0;
	return dup2(from, to) < 0 ? -1 : 0;
}

static _Noreturn void child_main(const sb_spawn_opts *o, char *const argv[], const struct sock_fprog *prog,
				 unsigned filter_flags, pid_t parent, int msg_fd, int go_fd, int exec_fd)
{
	/* Restore what the supervisor changed for itself: signals blocked for the
	 * signalfd, handlers, so the program starts as it would without us. */
	sigset_t none;
	sigemptyset(&none);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, NULL);

	/* The program never runs unsupervised: if the supervisor dies, it dies. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		child_fail(msg_fd, ESRCH);
	if (move_fd(o->stdin_fd, 0) < 0 || move_fd(o->stdout_fd, 1) < 0 ||
	    move_fd(o->stderr_fd, 2) < 0)
		child_fail(msg_fd, errno);
	if (o->unshare_net && unshare(CLONE_NEWNET) < 0)
		child_fail(msg_fd, errno);
	if (o->pre_filter) {
		int r = o->pre_filter(o->userdata);
		if (r < 0)
			child_fail(msg_fd, -r);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		child_fail(msg_fd, errno);
	int listener = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, filter_flags, prog);
	if (listener < 0)
		child_fail(msg_fd, errno);
	/* From here on only unnotified calls until execve: write, read, close. */
	struct child_msg m = {0, listener};
	if (write(msg_fd, &m, sizeof(m)) != sizeof(m))
		_exit(EXIT_FAILURE);
	char go;
	if (read(go_fd, &go, 1) != 1)
		_exit(EXIT_FAILURE);
	close(listener);
	close(go_fd);
	close(msg_fd);
	char *const *envp = o->envp ? o->envp : environ;
	if (o->path)
		execve(o->path, argv, envp);
	else
		execvpe(argv[0], argv, envp);
	int err = errno;
	(void)!write(exec_fd, &err, sizeof(err));
	_exit(err == ENOENT ? 127 : 126);
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

	struct sock_fprog prog = {0};
	int r = filter_build(nrs, &prog);
	if (r < 0)
		return r;
	unsigned flags = SECCOMP_FILTER_FLAG_NEW_LISTENER;
	if (o->wait_killable && s->features.wait_killable_recv)
		flags |= SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;

	int msg[2] = {-1, -1}, go[2] = {-1, -1}, ex[2] = {-1, -1}, pidfd = -1;
	if (pipe2(msg, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0 || pipe2(ex, O_CLOEXEC) < 0) {
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
		close(msg[0]);
		close(go[1]);
		close(ex[0]);
		child_main(o, argv, &prog, flags, parent, msg[1], go[0], ex[1]);
	}
	msg[1] = safe_close(msg[1]);
	go[0] = safe_close(go[0]);
	ex[1] = safe_close(ex[1]);

	/* Our child, not yet reaped: its pid cannot be reused, so the pidfd is its own. */
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct child_msg m;
	ssize_t n;
	do
		n = read(msg[0], &m, sizeof(m));
	while (n < 0 && errno == EINTR);
	if (pidfd < 0 || n != sizeof(m) || m.stage != 0) {
		r = n == sizeof(m) && m.stage == 1 ? -m.value : (pidfd < 0 ? negative_errno() : -EIO);
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		goto out;
	}
	int lfd = (int)syscall(SYS_pidfd_getfd, pidfd, m.value, 0);
	if (lfd < 0) {
		r = negative_errno();
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		goto out;
	}
	sb_listener *l = NULL;
	r = sb_attach(s, lfd, o->listener_data, o->gone, &l);
	if (r < 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		goto out;
	}
	(void)!write(go[1], "g", 1);
	go[1] = safe_close(go[1]);
	/* EOF: execve succeeded (the pipe is close-on-exec). An errno: it failed, and the
	 * child exits 126/127; the caller decides how to report it. */
	int err = 0;
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
	safe_close(pidfd);
	safe_close(msg[0]);
	safe_close(msg[1]);
	safe_close(go[0]);
	safe_close(go[1]);
	safe_close(ex[0]);
	safe_close(ex[1]);
	return r;
}
