/* sysbroker agent: the OCI seccomp agent that takes listeners from runc/crun and serves each
 * container under its policy. */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <sysbroker/sysbroker.h>

#include "macros.h"

#define AGENT_MAX_PENDING 1024 /* accepted connections still waiting for their payload */
#define AGENT_MAX_FDS 16       /* fds kept per connection; more and it is refused */
#define AGENT_SCM_MAX 253      /* SCM_MAX_FD: the most one message can carry */
#define AGENT_ACCEPT_BURST 64  /* accepts per wake-up, so connections get their turn */
#define AGENT_READ_BURST 64    /* reads per wake-up of one connection */
#define AGENT_STOP_GRACE 5     /* seconds the workers get to finish after SIGTERM */
#define SD_LISTEN_FDS_START 3
#define SECCOMP_FD_NAME "seccompFd"

struct agent;

/* A runtime's connection, from accept until its payload was handled. */
struct conn {
	struct agent *a;
	struct conn *prev, *next;
	int fd;
	bool registered; /* on the engine's loop */
	sb_oci_reader *reader;
	int fds[AGENT_MAX_FDS];
	size_t n_fds;
	bool fds_overflow;
	pid_t peer_pid;
	char runtime[32]; /* comm of the process that connected (crun, runc...) */
};

/* One attached container; lives as the userdata of its sandbox until its filter is gone. */
struct container {
	struct agent *a;
	struct container *prev, *next;
	sb_sandbox *sandbox;
	char *id;
	pid_t pid;
	char runtime[32];
};

struct agent {
	sb_supervisor *s;
	const char *socket_path;
	const char *policy_dir;
	const char *default_policy; /* NULL: none */
	int audit_fd;
	int listen_fd;
	bool own_socket; /* we created socket_path: unlink it at exit */
	dev_t sock_dev;
	ino_t sock_ino;
	int signal_fd;
	int reserve_fd; /* spent to accept-and-close when out of fds */
	/*
	 * /proc, opened at start: callbacks run on engine workers, whose root may be a
	 * target's while they serve it, so our own lookups go from fds, not from "/".
	 */
	int proc_fd;

	pthread_mutex_t lock; /* the lists and counters below; callbacks run on workers */
	struct conn *conns;
	unsigned n_pending;
	struct container *containers;
	unsigned n_containers;
	time_t last_full_log;
};

/* ---- logging: one line per event, one write(2) so lines from workers never interleave ---- */

static void __attribute__((format(printf, 1, 2))) agent_log(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n = snprintf(line, sizeof(line), "sysbroker agent: ");
	va_start(ap, fmt);
	int k = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	size_t len = (size_t)n + (k < 0 ? 0 : (size_t)k);
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	(void)!write(STDERR_FILENO, line, len);
}

/* Bytes from elsewhere (a comm) made safe for a log line. */
static void sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
}

static void peer_runtime(struct agent *a, pid_t pid, char *buf, size_t size)
{
	char path[64];
	snprintf(buf, size, "?");
	if (pid <= 0 || a->proc_fd < 0)
		return;
	snprintf(path, sizeof(path), "%d/comm", (int)pid);
	_cleanup_close_ int fd = openat(a->proc_fd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, size - 1);
	if (n <= 0) {
		snprintf(buf, size, "?");
		return;
	}
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	sanitize(buf);
}

/* ---- connections ---- */

static void conn_free(struct conn *c)
{
	for (size_t i = 0; i < c->n_fds; i++)
		safe_close(c->fds[i]);
	sb_oci_reader_free(c->reader);
	safe_close(c->fd);
	free(c);
}

/*
 * Drops a connection: off the loop, off the list, its fds closed. Called from the
 * connection's own callback (sb_source_remove takes it off epoll before the close).
 */
static void conn_close(struct conn *c)
{
	struct agent *a = c->a;

	if (c->registered)
		sb_source_remove(a->s, c->fd);
	pthread_mutex_lock(&a->lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		a->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	a->n_pending--;
	pthread_mutex_unlock(&a->lock);
	conn_free(c);
}

static void __attribute__((format(printf, 3, 4)))
conn_refuse(struct conn *c, const char *who, const char *fmt, ...)
{
	char reason[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (who)
		agent_log("%s: refused: %s", who, reason);
	else
		agent_log("connection from pid %d (%s): refused: %s", (int)c->peer_pid, c->runtime,
			  reason);
	conn_close(c);
}

/* The fd a runtime named seccompFd must really be a seccomp listener (anon inode). */
static int check_listener_fd(struct agent *a, int fd)
{
	char path[64], target[64];
	if (a->proc_fd < 0)
		return 0; /* no /proc: the engine's ioctls will tell */
	snprintf(path, sizeof(path), "self/fd/%d", fd);
	ssize_t n = readlinkat(a->proc_fd, path, target, sizeof(target) - 1);
	if (n < 0)
		return -EBADF;
	target[n] = 0;
	return strcmp(target, "anon_inode:seccomp notify") == 0 ? 0 : -EBADF;
}

static int load_policy(struct agent *a, const char *name, sb_policy **ret, char *err, size_t errlen)
{
	char path[PATH_MAX];
	sb_policy *p = NULL;

	err[0] = 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.policy", a->policy_dir, name) >=
	    sizeof(path)) {
		snprintf(err, errlen, "policy path too long");
		return -ENAMETOOLONG;
	}
	int r = sb_policy_new(&p);
	if (r < 0) {
		snprintf(err, errlen, "%s", strerror(-r));
		return r;
	}
	r = sb_policy_load_file(p, path, err, errlen);
	if (r < 0) {
		sb_policy_free(p);
		if (!err[0])
			snprintf(err, errlen, "%.300s: %s", path, strerror(-r));
		return r;
	}
	*ret = p;
	return 0;
}

static void container_unlist(struct container *ct)
{
	struct agent *a = ct->a;

	pthread_mutex_lock(&a->lock);
	if (ct->prev)
		ct->prev->next = ct->next;
	else
		a->containers = ct->next;
	if (ct->next)
		ct->next->prev = ct->prev;
	a->n_containers--;
	pthread_mutex_unlock(&a->lock);
}

static void container_gone(sb_listener *l, void *listener_data)
{
	sb_sandbox *sb = listener_data;
	struct container *ct = sb_sandbox_userdata(sb);

	agent_log("container %s (pid %d, runtime %s): exited", ct->id, (int)ct->pid, ct->runtime);
	container_unlist(ct);
	sb_sandbox_free(sb);
	free(ct->id);
	free(ct);
}

/* Checks the fds against the payload, chooses the policy and attaches. Ends the connection. */
static void conn_attach(struct conn *c, sb_oci_payload *p)
{
	struct agent *a = c->a;
	sb_policy *policy = NULL;
	char err[512], name[256], who[1200];
	int r;

	const char *id = sb_oci_payload_string(p, "state.id");
	pid_t pid = sb_oci_payload_pid(p);
	snprintf(who, sizeof(who), "container %s (pid %d, runtime %s)", id, (int)pid, c->runtime);

	if (c->fds_overflow) {
		conn_refuse(c, who, "more than %d fds received", AGENT_MAX_FDS);
		return;
	}
	if (c->n_fds != sb_oci_payload_n_fds(p)) {
		conn_refuse(c, who, "payload names %zu fds, %zu received", sb_oci_payload_n_fds(p),
			    c->n_fds);
		return;
	}
	int idx = sb_oci_payload_fd_index(p, SECCOMP_FD_NAME);
	if (idx < 0) {
		conn_refuse(c, who, "no fd named " SECCOMP_FD_NAME);
		return;
	}
	if (check_listener_fd(a, c->fds[idx]) < 0) {
		conn_refuse(c, who, SECCOMP_FD_NAME " is not a seccomp listener");
		return;
	}

	r = sb_oci_policy_select(sb_oci_payload_string(p, "metadata"), name, sizeof(name), err,
				 sizeof(err));
	if (r < 0) {
		conn_refuse(c, who, "%s", err);
		return;
	}
	if (r == 0) {
		if (!a->default_policy) {
			conn_refuse(c, who,
				    "metadata names no policy and there is no --default-policy");
			return;
		}
		snprintf(name, sizeof(name), "%s", a->default_policy);
	}
	r = load_policy(a, name, &policy, err, sizeof(err));
	if (r < 0) {
		conn_refuse(c, who, "policy %s: %s", name, err);
		return;
	}

	struct container *ct = calloc(1, sizeof(*ct));
	if (ct)
		ct->id = strdup(id);
	if (!ct || !ct->id) {
		free(ct);
		sb_policy_free(policy);
		conn_refuse(c, who, "out of memory");
		return;
	}
	ct->a = a;
	ct->pid = pid;
	snprintf(ct->runtime, sizeof(ct->runtime), "%s", c->runtime);
	sb_sandbox_opts opts = {.audit_fd = a->audit_fd, .label = id, .userdata = ct};
	r = sb_sandbox_new(&ct->sandbox, policy, &opts);
	if (r < 0) {
		sb_policy_free(policy);
		free(ct->id);
		free(ct);
		conn_refuse(c, who, "sandbox: %s", strerror(-r));
		return;
	}

	/* Listed before attaching: gone() may run on another worker as soon as it is attached. */
	pthread_mutex_lock(&a->lock);
	ct->next = a->containers;
	if (ct->next)
		ct->next->prev = ct;
	a->containers = ct;
	a->n_containers++;
	pthread_mutex_unlock(&a->lock);

	/* Logged first: a short-lived container may be gone before sb_attach returns. */
	agent_log("%s: attached, policy %s", who, name);
	int lfd = c->fds[idx];
	c->fds[idx] = -1; /* sb_attach owns it from here on, even when it fails */
	r = sb_attach(a->s, lfd, ct->sandbox, container_gone, NULL);
	if (r < 0) {
		agent_log("%s: refused: attach: %s", who, strerror(-r));
		container_unlist(ct);
		sb_sandbox_free(ct->sandbox);
		free(ct->id);
		free(ct);
	}
	/* Done with the connection: runc keeps its end open, we do not wait for EOF. Other
	 * named fds are closed with it. */
	conn_close(c);
}

static void conn_payload(struct conn *c)
{
	sb_oci_payload *p = NULL;
	char err[512];

	int r = sb_oci_payload_parse(c->reader, &p, err, sizeof(err));
	if (r < 0) {
		conn_refuse(c, NULL, "bad payload: %s", err);
		return;
	}
	conn_attach(c, p);
	sb_oci_payload_free(p);
}

/* Reads what the runtime sent so far, with any fds; handles the payload once complete. */
static int conn_ready(int fd, uint32_t events, void *userdata)
{
	struct conn *c = userdata;
	char buf[16384];
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * AGENT_SCM_MAX)];
	} ctl;

	for (unsigned burst = 0; burst < AGENT_READ_BURST; burst++) {
		struct iovec iov = {buf, sizeof(buf)};
		struct msghdr msg = {
		    .msg_iov = &iov,
		    .msg_iovlen = 1,
		    .msg_control = ctl.b,
		    .msg_controllen = sizeof(ctl.b),
		};
		ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			conn_refuse(c, NULL, "read: %s", strerror(errno));
			return 0;
		}
		/* Collect fds before anything else, so every path closes them. */
		for (struct cmsghdr *h = CMSG_FIRSTHDR(&msg); h; h = CMSG_NXTHDR(&msg, h)) {
			if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
				continue;
			size_t k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			const unsigned char *data = CMSG_DATA(h);
			for (size_t i = 0; i < k; i++) {
				int rfd;
				memcpy(&rfd, data + i * sizeof(int), sizeof(int));
				if (c->n_fds < AGENT_MAX_FDS) {
					c->fds[c->n_fds++] = rfd;
				} else {
					c->fds_overflow = true;
					safe_close(rfd);
				}
			}
		}
		if (msg.msg_flags & MSG_CTRUNC) {
			/* The kernel dropped (and closed) fds that did not fit. */
			conn_refuse(c, NULL, "more fds than one message can carry");
			return 0;
		}
		if (n == 0) {
			int r = sb_oci_reader_eof(c->reader);
			if (r == -ENODATA)
				conn_refuse(c, NULL, "closed without sending a payload");
			else
				conn_refuse(c, NULL, "closed mid-payload: %s",
					    sb_oci_reader_strerror(c->reader));
			return 0;
		}
		int r = sb_oci_reader_feed(c->reader, buf, (size_t)n);
		if (r == 1) {
			conn_payload(c);
			return 0;
		}
		if (r == -E2BIG) {
			conn_refuse(c, NULL, "payload larger than %d bytes", SB_OCI_PAYLOAD_MAX);
			return 0;
		}
		if (r < 0) {
			conn_refuse(c, NULL, "malformed payload: %s",
				    sb_oci_reader_strerror(c->reader));
			return 0;
		}
	}
	(void)events;
	return 0;
}

/* ---- the listening socket ---- */

static void accept_one(struct agent *a, int cfd)
{
	struct ucred cred = {0};
	socklen_t len = sizeof(cred);
	char runtime[32];

	if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		cred.pid = 0;
		cred.uid = (uid_t)-1;
	}
	peer_runtime(a, cred.pid, runtime, sizeof(runtime));
	/*
	 * The socket is 0600, but an inherited or socket-activated one may be wider: only
	 * root and our own user hand us listeners.
	 */
	if (cred.uid != 0 && cred.uid != geteuid()) {
		agent_log("connection from pid %d (%s): refused: uid %u may not use this agent",
			  (int)cred.pid, runtime, (unsigned)cred.uid);
		safe_close(cfd);
		return;
	}
	pthread_mutex_lock(&a->lock);
	if (a->n_pending >= AGENT_MAX_PENDING) {
		time_t now = time(NULL);
		bool say = now != a->last_full_log;
		a->last_full_log = now;
		pthread_mutex_unlock(&a->lock);
		if (say)
			agent_log("connection from pid %d (%s): refused: %d connections already "
				  "wait for their payload",
				  (int)cred.pid, runtime, AGENT_MAX_PENDING);
		safe_close(cfd);
		return;
	}
	a->n_pending++;
	pthread_mutex_unlock(&a->lock);

	struct conn *c = calloc(1, sizeof(*c));
	if (!c || sb_oci_reader_new(&c->reader, 0) < 0) {
		free(c);
		safe_close(cfd);
		pthread_mutex_lock(&a->lock);
		a->n_pending--;
		pthread_mutex_unlock(&a->lock);
		agent_log("connection from pid %d (%s): refused: out of memory", (int)cred.pid,
			  runtime);
		return;
	}
	c->a = a;
	c->fd = cfd;
	c->peer_pid = cred.pid;
	snprintf(c->runtime, sizeof(c->runtime), "%s", runtime);
	pthread_mutex_lock(&a->lock);
	c->next = a->conns;
	if (c->next)
		c->next->prev = c;
	a->conns = c;
	pthread_mutex_unlock(&a->lock);

	/*
	 * Silent peers (crun connects at create, sends at start) just sit in epoll. Once
	 * added, c belongs to its callback, which may already run (and free it) on another
	 * worker: nothing here touches c after a successful add.
	 */
	c->registered = true;
	int r = sb_source_add(a->s, cfd, EPOLLIN | EPOLLRDHUP, conn_ready, c);
	if (r < 0) {
		c->registered = false;
		conn_refuse(c, NULL, "event loop: %s", strerror(-r));
	}
}

static int listen_ready(int fd, uint32_t events, void *userdata)
{
	struct agent *a = userdata;

	for (unsigned i = 0; i < AGENT_ACCEPT_BURST; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd >= 0) {
			accept_one(a, cfd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EAGAIN)
			return 0;
		if ((errno == EMFILE || errno == ENFILE) && a->reserve_fd >= 0) {
			/*
			 * Out of fds: the pending connection would wake us forever. Spend the
			 * reserve fd to accept and drop it, so the runtime sees a clear failure.
			 */
			agent_log("refused a connection: %s", strerror(errno));
			a->reserve_fd = safe_close(a->reserve_fd);
			int dfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
			safe_close(dfd);
			a->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
			continue;
		}
		agent_log("accept: %s", strerror(errno));
		return 0;
	}
	(void)events;
	return 0;
}

/* Only a socket activation meant for this process (sd_listen_fds(3) rules) is used. */
static int socket_from_systemd(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	if (!pid || !fds)
		return -ENOENT;
	char *end;
	errno = 0;
	unsigned long p = strtoul(pid, &end, 10);
	if (errno || *end || p != (unsigned long)getpid())
		return -ENOENT;
	unsigned long n = strtoul(fds, &end, 10);
	if (errno || *end)
		return -ENOENT;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (n != 1) {
		cli_error("agent: socket activation passed %lu sockets, expected 1", n);
		return -EINVAL;
	}
	int fd = SD_LISTEN_FDS_START;
	int type = 0, listening = 0;
	socklen_t len = sizeof(type);
	struct sockaddr_un sa;
	socklen_t salen = sizeof(sa);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM ||
	    getsockname(fd, (struct sockaddr *)&sa, &salen) < 0 || sa.sun_family != AF_UNIX) {
		cli_error("agent: socket activation: fd 3 is not a unix stream socket");
		return -EINVAL;
	}
	len = sizeof(listening);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 || !listening) {
		cli_error("agent: socket activation: fd 3 is not listening");
		return -EINVAL;
	}
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		return negative_errno();
	return fd;
}

/*
 * Creates the socket at path, mode 0600. A stale socket (nobody listening) is replaced; a
 * live one or anything that is not a socket is left alone.
 */
static int socket_create(struct agent *a)
{
	const char *path = a->socket_path;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		cli_error("agent: socket path longer than %zu bytes: %s", sizeof(sa.sun_path) - 1,
			  path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);

	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			cli_error("agent: %s exists and is not a socket; not replacing it", path);
			return -EEXIST;
		}
		_cleanup_close_ int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe < 0)
			return negative_errno();
		if (connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			cli_error("agent: %s: another agent is listening there", path);
			return -EADDRINUSE;
		}
		if (errno != ECONNREFUSED) {
			cli_error("agent: %s: %m", path);
			return negative_errno();
		}
		if (unlink(path) < 0 && errno != ENOENT) {
			cli_error("agent: cannot remove stale socket %s: %m", path);
			return negative_errno();
		}
	} else if (errno != ENOENT) {
		cli_error("agent: %s: %m", path);
		return negative_errno();
	}

	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return negative_errno();
	/* The umask makes the socket 0600 from its creation: no window with a wider mode. */
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	int saved = errno;
	umask(old);
	if (r < 0) {
		errno = saved;
		cli_error("agent: bind %s: %m", path);
		return -saved;
	}
	if (lstat(path, &st) < 0 || listen(fd, SOMAXCONN) < 0) {
		cli_error("agent: listen %s: %m", path);
		r = negative_errno();
		unlink(path);
		return r;
	}
	a->own_socket = true;
	a->sock_dev = st.st_dev;
	a->sock_ino = st.st_ino;
	return TAKE_FD(fd);
}

/* Removes the socket at exit, unless someone replaced it meanwhile. */
static void socket_remove(struct agent *a)
{
	struct stat st;
	if (a->own_socket && lstat(a->socket_path, &st) == 0 && st.st_dev == a->sock_dev &&
	    st.st_ino == a->sock_ino)
		unlink(a->socket_path);
}

/* ---- signals ---- */

/* Policy files are read when a container attaches; SIGHUP checks them all and says so. */
static void check_policies(struct agent *a)
{
	char err[512];
	unsigned ok = 0, bad = 0;
	sb_policy *p;

	if (a->default_policy) {
		if (load_policy(a, a->default_policy, &p, err, sizeof(err)) < 0) {
			agent_log("reload: default policy %s: %s", a->default_policy, err);
			bad++;
		} else {
			sb_policy_free(p);
			ok++;
		}
	}
	/* Every NAME.policy in the directory that a container could name. */
	_cleanup_close_ int dfd = open(a->policy_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(TAKE_FD(dfd)) : NULL;
	if (!d) {
		agent_log("reload: policy directory %s: %s", a->policy_dir, strerror(errno));
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		char name[256];
		size_t len = strlen(de->d_name);
		if (len <= 7 || strcmp(de->d_name + len - 7, ".policy") != 0 ||
		    len - 7 >= sizeof(name))
			continue;
		memcpy(name, de->d_name, len - 7);
		name[len - 7] = 0;
		if (!sb_oci_policy_name_valid(name) ||
		    (a->default_policy && !strcmp(name, a->default_policy)))
			continue;
		if (load_policy(a, name, &p, err, sizeof(err)) < 0) {
			agent_log("reload: policy %s: %s", name, err);
			bad++;
		} else {
			sb_policy_free(p);
			ok++;
		}
	}
	closedir(d);
	agent_log("reload: %u policies valid, %u broken; new containers get the files as they "
		  "are now",
		  ok, bad);
}

/*
 * SIGUSR1: what the agent holds now. The heap figure is glibc's count of bytes handed out
 * and not freed, over every arena: unlike the resident size it does not move with thread
 * stacks or arena tops, so an operator (and the scale tests) can see a leak per container.
 * The engine's thread counts come with it: each thread stack glibc ever made (and keeps,
 * for reuse, after its thread ends) holds its TLS vector on the heap, 320 bytes here, so
 * the heap may rise that much when more workers than ever ran at once.
 */
static void log_stats(struct agent *a)
{
	pthread_mutex_lock(&a->lock);
	unsigned containers = a->n_containers, pending = a->n_pending;
	pthread_mutex_unlock(&a->lock);
	sb_supervisor_stats st;
	sb_supervisor_stats_get(a->s, &st);
	struct mallinfo2 mi = mallinfo2();
	agent_log("stats: %u containers served, %u connections waiting for a payload, %zu bytes "
		  "of heap in use, %u worker threads (%u at most)",
		  containers, pending, mi.uordblks + mi.hblkhd, st.threads, st.threads_peak);
}

static int signal_ready(int fd, uint32_t events, void *userdata)
{
	struct agent *a = userdata;
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			check_policies(a);
			break;
		case SIGUSR1:
			log_stats(a);
			break;
		case SIGTERM:
		case SIGINT:
			agent_log("stopping on %s", sigabbrev_np((int)si.ssi_signo));
			sb_supervisor_stop(a->s, 0);
			break;
		}
	}
	(void)events;
	return 0;
}

/* ---- main ---- */

struct stopper {
	sb_supervisor *s;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
};

static void *stopper_main(void *arg)
{
	struct stopper *st = arg;
	sb_supervisor_free(st->s);
	pthread_mutex_lock(&st->lock);
	st->done = true;
	pthread_cond_signal(&st->cond);
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

/*
 * sb_supervisor_free joins every worker, and a worker inside an emulated call that never
 * returns (opening a FIFO for a container that no one writes to; workers block signals,
 * so nothing interrupts it) would keep the agent from ever stopping. Frees s on a thread of
 * its own and waits at most seconds; false when that was not enough.
 */
static bool supervisor_free_within(sb_supervisor *s, int seconds)
{
	struct stopper st = {.s = s};
	pthread_condattr_t ca;
	pthread_t t;
	struct timespec until;

	if (!s)
		return true;
	pthread_mutex_init(&st.lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&st.cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&t, NULL, stopper_main, &st) != 0) {
		sb_supervisor_free(s);
		return true;
	}
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += seconds;
	pthread_mutex_lock(&st.lock);
	while (!st.done && pthread_cond_timedwait(&st.cond, &st.lock, &until) != ETIMEDOUT)
		;
	bool done = st.done;
	pthread_mutex_unlock(&st.lock);
	if (!done)
		return false; /* st stays in use by the thread: the caller exits */
	pthread_join(t, NULL);
	pthread_cond_destroy(&st.cond);
	pthread_mutex_destroy(&st.lock);
	return true;
}

/*
 * Every served container holds one listener fd here, every waiting connection a socket and
 * up to AGENT_MAX_FDS received fds. The usual soft limit of 1024 would refuse containers
 * long before the hard limit does; the agent starts no program that could inherit the
 * higher limit, and uses epoll, not select(), so the soft limit goes up to the hard one.
 */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		agent_log("cannot raise the fd limit to %llu: %s", (unsigned long long)rl.rlim_max,
			  strerror(errno));
}

static void usage(FILE *f)
{
	fputs(
	    "Usage: sysbroker agent --socket PATH [--policy-dir DIR] [--default-policy NAME]\n"
	    "                       [--audit FILE]\n"
	    "\n"
	    "OCI seccomp agent (linux.seccomp.listenerPath): receives the seccomp listener of\n"
	    "each container from runc or crun and serves it under DIR/NAME.policy, NAME taken\n"
	    "from listenerMetadata (\"NAME\" or \"...;policy=NAME\"), else --default-policy,\n"
	    "else the container is refused (its intercepted calls then fail with ENOSYS).\n"
	    "\n"
	    "  --socket PATH          unix socket to create (mode 0600); not needed with\n"
	    "                         systemd socket activation (LISTEN_FDS=1)\n"
	    "  --policy-dir DIR       where NAME.policy files live (default /etc/sysbroker/agent)\n"
	    "  --default-policy NAME  policy for containers whose metadata names none\n"
	    "  --audit FILE           JSON Lines record of every intercepted call, all containers\n"
	    "\n"
	    "SIGTERM stops; SIGHUP re-checks the policy files; SIGUSR1 logs what the agent holds.\n"
	    "See docs/agent.md.\n",
	    f);
}

int cmd_agent(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"policy-dir", required_argument, NULL, 'd'},
	    {"default-policy", required_argument, NULL, 'p'},
	    {"audit", required_argument, NULL, 'a'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	struct agent a = {
	    .policy_dir = "/etc/sysbroker/agent",
	    .audit_fd = -1,
	    .listen_fd = -1,
	    .signal_fd = -1,
	    .reserve_fd = -1,
	};
	const char *audit = NULL;
	int c, ret = EXIT_SB_FAILURE;

	optind = 1;
	opterr = 0; /* one line of our own, as for every other error */
	while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			a.socket_path = optarg;
			break;
		case 'd':
			a.policy_dir = optarg;
			break;
		case 'p':
			a.default_policy = optarg;
			break;
		case 'a':
			audit = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			cli_error("agent: option '%s' needs an argument", argv[optind - 1]);
			return EXIT_SB_FAILURE;
		default:
			cli_error("agent: unknown option '%s' (try --help)", argv[optind - 1]);
			return EXIT_SB_FAILURE;
		}
	}
	if (optind < argc) {
		cli_error("agent: unexpected argument '%s'", argv[optind]);
		return EXIT_SB_FAILURE;
	}
	if (a.default_policy && !sb_oci_policy_name_valid(a.default_policy)) {
		cli_error("agent: --default-policy '%s': a NAME is [A-Za-z0-9._-], no leading dot",
			  a.default_policy);
		return EXIT_SB_FAILURE;
	}
	pthread_mutex_init(&a.lock, NULL);

	/* A broken default policy is a start-up error, not a surprise at the first container. */
	if (a.default_policy) {
		char err[512];
		sb_policy *p;
		if (load_policy(&a, a.default_policy, &p, err, sizeof(err)) < 0) {
			cli_error("%s", err);
			goto out;
		}
		sb_policy_free(p);
	}
	if (audit) {
		a.audit_fd = strcmp(audit, "-") == 0
				 ? fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3)
				 : open(audit, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (a.audit_fd < 0) {
			cli_error("agent: --audit %s: %m", audit);
			goto out;
		}
	}

	/* Blocked before any thread exists, so only the signalfd ever sees them. */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();

	int r = socket_from_systemd();
	if (r == -ENOENT) {
		if (!a.socket_path) {
			cli_error("agent: --socket PATH is required (or socket activation)");
			goto out;
		}
		r = socket_create(&a);
	}
	if (r < 0)
		goto out;
	a.listen_fd = r;

	a.signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	a.reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	a.proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (a.signal_fd < 0) {
		cli_error("agent: signalfd: %m");
		goto out;
	}

	/* Containers do not trust each other: one whose calls block (FIFO opens, accepts)
	 * holds at most 16 workers, the rest of its requests wait in its own queue. */
	sb_supervisor_opts so = {.max_workers = 1024, .max_per_listener = 16};
	r = sb_supervisor_new(&a.s, &so);
	if (r < 0) {
		cli_error("agent: cannot start the engine: %s", strerror(-r));
		goto out;
	}
	r = sb_sandbox_install(a.s, NULL);
	if (r < 0) {
		cli_error("agent: cannot install the handlers: %s", strerror(-r));
		goto out;
	}
	if ((r = sb_source_add(a.s, a.signal_fd, EPOLLIN, signal_ready, &a)) < 0 ||
	    (r = sb_source_add(a.s, a.listen_fd, EPOLLIN, listen_ready, &a)) < 0) {
		cli_error("agent: event loop: %s", strerror(-r));
		goto out;
	}
	agent_log("listening on %s, policies in %s, default %s",
		  a.socket_path ? a.socket_path : "(socket activation)", a.policy_dir,
		  a.default_policy ? a.default_policy : "(none: refuse)");
	ret = sb_supervisor_run(a.s);

out:
	/* Stops the workers and closes every listener: containers then see ENOSYS. */
	if (!supervisor_free_within(a.s, AGENT_STOP_GRACE)) {
		/* A worker is still inside an emulated call; exiting ends it, and the kernel
		 * closes every listener as it would have. */
		agent_log("a request still blocks after %d s (an open of a FIFO nobody writes "
			  "to, a hung file system): exiting without waiting for it",
			  AGENT_STOP_GRACE);
		socket_remove(&a);
		_exit(ret);
	}
	while (a.conns) {
		struct conn *cn = a.conns;
		a.conns = cn->next;
		conn_free(cn);
	}
	while (a.containers) {
		struct container *ct = a.containers;
		a.containers = ct->next;
		sb_sandbox_free(ct->sandbox);
		free(ct->id);
		free(ct);
	}
	socket_remove(&a);
	safe_close(a.listen_fd);
	safe_close(a.signal_fd);
	safe_close(a.reserve_fd);
	safe_close(a.proc_fd);
	safe_close(a.audit_fd);
	pthread_mutex_destroy(&a.lock);
	return ret;
}
