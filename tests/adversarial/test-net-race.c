/* Attacks on the network rules: a hostile program (this binary, re-executed) races the
 * supervisor with a second thread rewriting the address, a dup2 of another socket over the
 * checked fd, a symlink flipped under a unix socket path, IPv4-mapped and AF_UNSPEC
 * addresses. Each runs natively first (the control: the denied server must be reached, or
 * the test could not fail) and then under `sysbroker run` (it must not be, not once). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../integration/runcmd.h"
#include "tap.h"

#define TRIES 3000

/* ---------------- the servers (a child of the test) ---------------- */

enum { SRV_TCP_OK, SRV_TCP_NO, SRV_UDP_OK, SRV_UDP_NO, SRV_UNIX_OK, SRV_UNIX_NO, SRV_N };

struct counters {
	_Atomic long hits[SRV_N];
	int port[SRV_N];
	_Atomic int ready;
};

static struct counters *C;
static char dir[64];
static pid_t server_pid;

static int listen_on(int type, int *port)
{
	int fd = socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(a);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &l) < 0 ||
	    (type == SOCK_STREAM && listen(fd, SOMAXCONN) < 0))
		tap_fail(__FILE__, __LINE__, "server socket: %s", strerror(errno));
	*port = ntohs(a.sin_port);
	/* Room for every datagram of a run: one dropped could be an escape not counted. */
	int big = 64 << 20;
	if (type == SOCK_DGRAM)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	return fd;
}

static int listen_unix(const char *name)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/%s", dir, name);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, SOMAXCONN) < 0)
		tap_fail(__FILE__, __LINE__, "unix server: %s", strerror(errno));
	return fd;
}

static int ctl[2], ack[2];

/* Takes everything queued on server socket i. */
static void drain(int fd, int i)
{
	for (;;) {
		if (i == SRV_UDP_OK || i == SRV_UDP_NO) {
			char b[64];
			if (recv(fd, b, sizeof(b), MSG_DONTWAIT) < 0)
				return;
		} else {
			int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			if (c < 0)
				return;
			close(c);
		}
		atomic_fetch_add(&C->hits[i], 1);
	}
}

/* Counts every connection and datagram each server gets, in shared memory. */
static void start_servers(void)
{
	snprintf(dir, sizeof(dir), "%s", test_tmpdir());
	/* In a file: the hostile program maps it too, to know when its race was run. */
	char cp[128];
	snprintf(cp, sizeof(cp), "%s/counts", dir);
	int cfd = open(cp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	ASSERT_TRUE(cfd >= 0);
	ASSERT_EQ(ftruncate(cfd, sizeof(*C)), 0);
	C = mmap(NULL, sizeof(*C), PROT_READ | PROT_WRITE, MAP_SHARED, cfd, 0);
	ASSERT_TRUE(C != MAP_FAILED);
	close(cfd);
	ASSERT_EQ(pipe2(ctl, O_CLOEXEC), 0);
	ASSERT_EQ(pipe2(ack, O_CLOEXEC), 0);
	int fds[SRV_N];
	fds[SRV_TCP_OK] = listen_on(SOCK_STREAM, &C->port[SRV_TCP_OK]);
	fds[SRV_TCP_NO] = listen_on(SOCK_STREAM, &C->port[SRV_TCP_NO]);
	fds[SRV_UDP_OK] = listen_on(SOCK_DGRAM, &C->port[SRV_UDP_OK]);
	fds[SRV_UDP_NO] = listen_on(SOCK_DGRAM, &C->port[SRV_UDP_NO]);
	fds[SRV_UNIX_OK] = listen_unix("ok.sock");
	fds[SRV_UNIX_NO] = listen_unix("no.sock");
	server_pid = fork();
	ASSERT_TRUE(server_pid >= 0);
	if (server_pid == 0) {
		struct pollfd pf[SRV_N + 1];
		for (int i = 0; i < SRV_N; i++)
			pf[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
		pf[SRV_N] = (struct pollfd){.fd = ctl[0], .events = POLLIN};
		for (;;) {
			if (poll(pf, SRV_N + 1, -1) < 0)
				_exit(1);
			for (int i = 0; i < SRV_N; i++)
				if (pf[i].revents & POLLIN)
					drain(fds[i], i);
			if (pf[SRV_N].revents) {
				/* The program is done: what it sent is queued; take it all. */
				char b;
				if (read(ctl[0], &b, 1) != 1)
					_exit(0);
				for (int i = 0; i < SRV_N; i++)
					drain(fds[i], i);
				(void)!write(ack[1], &b, 1);
			}
		}
	}
	for (int i = 0; i < SRV_N; i++)
		close(fds[i]);
}

static void stop_servers(void)
{
	kill(server_pid, SIGKILL);
	waitpid(server_pid, NULL, 0);
	close(ctl[0]);
	close(ctl[1]);
	close(ack[0]);
	close(ack[1]);
}

static void reset_counts(void)
{
	for (int i = 0; i < SRV_N; i++)
		atomic_store(&C->hits[i], 0);
}

/* After the program exited: every connection it made and datagram it sent is in a server
 * queue already (loopback delivers before the call returns); the server takes them all. */
static void settle(void)
{
	char b = 's';
	ASSERT_EQ(write(ctl[1], &b, 1), 1);
	ASSERT_EQ(read(ack[0], &b, 1), 1);
}

/* ---------------- the hostile program (SB_CHILD=mode) ---------------- */

static struct sockaddr_in flip_addr;
static struct sockaddr_in addr_ok, addr_no;
static struct msghdr flip_msg;
static atomic_bool flipping = true, flip_started;
static int flip_fd = -1, flip_a = -1, flip_b = -1;
static char flip_link[96], flip_target_ok[96], flip_target_no[96];

/* Holds a state a little while, so that both states of a flip are seen about as often. */
static void hold(void)
{
	for (int i = 0; i < 200; i++)
		__builtin_ia32_pause();
}

static void *flipper(void *mode)
{
	const char *m = mode;
	uint16_t ok = addr_ok.sin_port, no = addr_no.sin_port;
	char tmp[160];
	snprintf(tmp, sizeof(tmp), "%s.tmp", flip_link);
	atomic_store(&flip_started, true);
	while (atomic_load_explicit(&flipping, memory_order_relaxed)) {
		if (!strcmp(m, "port")) {
			((volatile struct sockaddr_in *)&flip_addr)->sin_port = ok;
			hold();
			((volatile struct sockaddr_in *)&flip_addr)->sin_port = no;
			hold();
		} else if (!strcmp(m, "name")) {
			((volatile struct msghdr *)&flip_msg)->msg_name = &addr_ok;
			hold();
			((volatile struct msghdr *)&flip_msg)->msg_name = &addr_no;
			hold();
		} else if (!strcmp(m, "dup2")) {
			dup2(flip_a, flip_fd);
			hold();
			dup2(flip_b, flip_fd);
			hold();
		} else if (!strcmp(m, "symlink")) {
			/* rename over the link: it always exists, and leads to one or the other. */
			unlink(tmp);
			if (symlink(flip_target_no, tmp) == 0)
				rename(tmp, flip_link);
			hold();
			if (symlink(flip_target_ok, tmp) == 0)
				rename(tmp, flip_link);
			hold();
		}
	}
	return NULL;
}

/* The race must run for the whole loop: the flipper is going before the first try. */
static void start_flipper(pthread_t *th, const char *what)
{
	atomic_store(&flip_started, false);
	pthread_create(th, NULL, flipper, (void *)what);
	while (!atomic_load(&flip_started))
		sched_yield();
}

struct tally {
	long ok, denied, other;
	long esc; /* the program's own count of escapes it could see (bind) */
};

static void count(struct tally *t, int r)
{
	if (r >= 0)
		t->ok++;
	else if (errno == EACCES)
		t->denied++;
	else
		t->other++;
}

/*
 * Keeps the race going: at least TRIES tries, then on until it was seen both ways (a loaded
 * machine may not run the flipper for a while): natively, both servers reached (the
 * program reads the servers' counts); under sysbroker, both a success and a refusal. Only
 * escapes are counted when there is no allowed side (need_ok false).
 */
static struct counters *seen;
static int side_ok = -1, side_no = -1;
static bool need_ok = true, supervised;

static bool more(const struct tally *t, long i)
{
	if (i < TRIES)
		return true;
	if (i >= 50L * TRIES)
		return false;
	if (supervised)
		return !(t->denied > 0 && (t->ok > 0 || !need_ok));
	if (side_no < 0)
		return !(t->esc > 0 && t->ok > 0);
	return !(atomic_load(&seen->hits[side_no]) > 0 &&
		 (!need_ok || atomic_load(&seen->hits[side_ok]) > 0));
}

static int child_main(const char *mode)
{
	int p_ok = 0, p_no = 0, u_ok = 0, u_no = 0;
	const char *d = getenv("SB_DIR");
	sscanf(getenv("SB_PORTS"), "%d %d %d %d", &p_ok, &p_no, &u_ok, &u_no);
	addr_ok =
	    (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	addr_no = addr_ok;
	bool udp = strstr(mode, "udp") != NULL;
	addr_ok.sin_port = htons(udp ? u_ok : p_ok);
	addr_no.sin_port = htons(udp ? u_no : p_no);
	flip_addr = addr_ok;
	struct tally t = {0};
	pthread_t th;
	const char *what = "port";
	supervised = getenv("SB_SUPERVISED") != NULL;
	char cp[128];
	snprintf(cp, sizeof(cp), "%s/counts", d);
	int cfd = open(cp, O_RDONLY | O_CLOEXEC);
	seen = cfd < 0 ? MAP_FAILED : mmap(NULL, sizeof(*seen), PROT_READ, MAP_SHARED, cfd, 0);
	if (seen == MAP_FAILED)
		return 98;
	bool unix_side = strstr(mode, "symlink") != NULL;
	side_ok = unix_side ? SRV_UNIX_OK : udp ? SRV_UDP_OK : SRV_TCP_OK;
	side_no = unix_side ? SRV_UNIX_NO : udp ? SRV_UDP_NO : SRV_TCP_NO;
	need_ok = strncmp(mode, "dup2", 4) != 0;
	if (!strcmp(mode, "bind-flip"))
		side_no = -1;

	if (!strcmp(mode, "connect-flip")) {
		start_flipper(&th, what);
		for (long i = 0; more(&t, i); i++) {
			int s = socket(AF_INET, SOCK_STREAM, 0);
			count(&t, connect(s, (struct sockaddr *)&flip_addr, sizeof(flip_addr)));
			close(s);
		}
	} else if (!strcmp(mode, "sendto-flip-udp")) {
		start_flipper(&th, what);
		int s = socket(AF_INET, SOCK_DGRAM, 0);
		for (long i = 0; more(&t, i); i++)
			count(&t, (int)sendto(s, "x", 1, 0, (struct sockaddr *)&flip_addr,
					      sizeof(flip_addr)));
	} else if (!strcmp(mode, "sendmsg-flip-udp")) {
		/* The pointer to the address flips, not the bytes. */
		struct iovec iov = {"x", 1};
		flip_msg = (struct msghdr){.msg_name = &addr_ok,
					   .msg_namelen = sizeof(addr_ok),
					   .msg_iov = &iov,
					   .msg_iovlen = 1};
		what = "name";
		start_flipper(&th, what);
		int s = socket(AF_INET, SOCK_DGRAM, 0);
		for (long i = 0; more(&t, i); i++)
			count(&t, (int)sendmsg(s, &flip_msg, 0));
	} else if (!strcmp(mode, "sendmmsg-flip-udp")) {
		start_flipper(&th, what);
		int s = socket(AF_INET, SOCK_DGRAM, 0);
		for (long i = 0; more(&t, i); i++) {
			struct iovec iov = {"x", 1};
			struct mmsghdr mm[2] = {
			    {.msg_hdr = {.msg_name = &flip_addr,
					 .msg_namelen = sizeof(flip_addr),
					 .msg_iov = &iov,
					 .msg_iovlen = 1}},
			    {.msg_hdr = {.msg_name = &flip_addr,
					 .msg_namelen = sizeof(flip_addr),
					 .msg_iov = &iov,
					 .msg_iovlen = 1}},
			};
			count(&t, sendmmsg(s, mm, 2, 0));
		}
	} else if (!strcmp(mode, "dup2-connect") || !strcmp(mode, "dup2-sendto-udp")) {
		/*
		 * The fd flips between a unix socket (which an inet address can never reach)
		 * and an inet one: a supervisor that judged the fd it looked at, then let the
		 * kernel look again, would connect the inet socket to the denied server.
		 */
		bool dg = udp;
		flip_a = socket(AF_UNIX, dg ? SOCK_DGRAM : SOCK_STREAM, 0);
		flip_fd = dup(flip_a);
		what = "dup2";
		for (long i = 0; more(&t, i); i++) {
			flip_b = socket(AF_INET, dg ? SOCK_DGRAM : SOCK_STREAM, 0);
			atomic_store(&flipping, true);
			start_flipper(&th, what);
			for (int k = 0; k < 4; k++)
				count(&t,
				      dg ? (int)sendto(flip_fd, "x", 1, 0,
						       (struct sockaddr *)&addr_no, sizeof(addr_no))
					 : connect(flip_fd, (struct sockaddr *)&addr_no,
						   sizeof(addr_no)));
			atomic_store(&flipping, false);
			pthread_join(th, NULL);
			close(flip_b);
		}
		printf("ok=%ld denied=%ld other=%ld esc=%ld\n", t.ok, t.denied, t.other, t.esc);
		return 0;
	} else if (!strcmp(mode, "symlink-connect")) {
		/* A symlink that flips between the allowed and the denied socket. */
		snprintf(flip_link, sizeof(flip_link), "%s/link.sock", d);
		snprintf(flip_target_ok, sizeof(flip_target_ok), "%s/ok.sock", d);
		snprintf(flip_target_no, sizeof(flip_target_no), "%s/no.sock", d);
		what = "symlink";
		start_flipper(&th, what);
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", flip_link);
		for (long i = 0; more(&t, i); i++) {
			int s = socket(AF_UNIX, SOCK_STREAM, 0);
			count(&t, connect(s, (struct sockaddr *)&a, sizeof(a)));
			close(s);
		}
	} else if (!strcmp(mode, "bind-flip")) {
		/*
		 * The directory of a unix socket path flips between a symlink to an allowed
		 * directory and one to a denied directory: the bind must never leave a socket
		 * file in the denied one and say it succeeded.
		 */
		char ok_dir[96], no_dir[96], sock_no[128], sock_ok[128];
		snprintf(flip_link, sizeof(flip_link), "%s/d", d);
		snprintf(ok_dir, sizeof(ok_dir), "%s/bind-ok", d);
		snprintf(no_dir, sizeof(no_dir), "%s/bind-no", d);
		snprintf(flip_target_ok, sizeof(flip_target_ok), "%s", ok_dir);
		snprintf(flip_target_no, sizeof(flip_target_no), "%s", no_dir);
		snprintf(sock_ok, sizeof(sock_ok), "%s/x.sock", ok_dir);
		snprintf(sock_no, sizeof(sock_no), "%s/x.sock", no_dir);
		mkdir(ok_dir, 0755);
		mkdir(no_dir, 0755);
		what = "symlink";
		start_flipper(&th, what);
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		snprintf(a.sun_path, sizeof(a.sun_path), "%s/x.sock", flip_link);
		for (long i = 0; more(&t, i); i++) {
			int s = socket(AF_UNIX, SOCK_STREAM, 0);
			int r = bind(s, (struct sockaddr *)&a, sizeof(a));
			count(&t, r);
			if (r == 0 && access(sock_no, F_OK) == 0)
				t.esc++;
			close(s);
			unlink(sock_ok);
			unlink(sock_no);
		}
	} else if (!strcmp(mode, "bypass")) {
		/* One try each of the address forms that mean the denied IPv4 server. */
		struct sockaddr_in6 m6 = {.sin6_family = AF_INET6, .sin6_port = addr_no.sin_port};
		inet_pton(AF_INET6, "::ffff:127.0.0.1", &m6.sin6_addr);
		int s = socket(AF_INET6, SOCK_STREAM, 0);
		count(&t, connect(s, (struct sockaddr *)&m6, sizeof(m6)));
		close(s);
		/* IPv4 address on an IPv6 UDP socket, and the v4-mapped form. */
		struct sockaddr_in u4 = addr_no;
		u4.sin_port = htons(u_no);
		m6.sin6_port = htons(u_no);
		s = socket(AF_INET6, SOCK_DGRAM, 0);
		count(&t, (int)sendto(s, "x", 1, 0, (struct sockaddr *)&m6, sizeof(m6)));
		count(&t, (int)sendto(s, "x", 1, 0, (struct sockaddr *)&u4, sizeof(u4)));
		count(&t, connect(s, (struct sockaddr *)&u4, sizeof(u4)));
		close(s);
		/* AF_UNSPEC: udp_sendmsg reads it as AF_INET. */
		struct sockaddr_in un = u4;
		un.sin_family = AF_UNSPEC;
		s = socket(AF_INET, SOCK_DGRAM, 0);
		count(&t, (int)sendto(s, "x", 1, 0, (struct sockaddr *)&un, sizeof(un)));
		close(s);
		/* TCP Fast Open: an address given to sendto on a TCP socket is a connect. */
		s = socket(AF_INET, SOCK_STREAM, 0);
		int r = (int)sendto(s, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&addr_no,
				    sizeof(addr_no));
		/* Natively without a cookie: the SYN leaves, the data waits (EINPROGRESS is
		 * not a refusal); the connection is made either way. */
		count(&t, r < 0 && errno == EINPROGRESS ? 0 : r);
		close(s);
		/* AF_UNSPEC then the address: a disconnect is no way around either. */
		s = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr sa_unspec = {.sa_family = AF_UNSPEC};
		connect(s, &sa_unspec, sizeof(sa_unspec));
		count(&t, connect(s, (struct sockaddr *)&addr_no, sizeof(addr_no)));
		close(s);
		printf("ok=%ld denied=%ld other=%ld esc=%ld\n", t.ok, t.denied, t.other, t.esc);
		return 0;
	} else {
		return 99;
	}
	atomic_store(&flipping, false);
	pthread_join(th, NULL);
	printf("ok=%ld denied=%ld other=%ld esc=%ld\n", t.ok, t.denied, t.other, t.esc);
	return 0;
}

/* ---------------- the driver ---------------- */

static char out[1 << 14], err[1 << 14];

/* Runs the hostile program (natively when policy is NULL) and returns its tally. */
static struct tally run_child(const char *mode, const char *policy)
{
	char self[512], cmd[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	ASSERT_TRUE(n > 0);
	self[n] = 0;
	snprintf(cmd, sizeof(cmd), "SB_CHILD=%s SB_DIR=%s SB_PORTS='%d %d %d %d' %s%s%s%s%s %s",
		 mode, dir, C->port[SRV_TCP_OK], C->port[SRV_TCP_NO], C->port[SRV_UDP_OK],
		 C->port[SRV_UDP_NO], policy ? "SB_SUPERVISED=1 " : "",
		 policy ? sysbroker_bin() : "", policy ? " run " : "", policy ? policy : "",
		 policy ? " --" : "", self);
	reset_counts();
	int rc = run_sh(cmd, out, sizeof(out), err, sizeof(err));
	if (rc != 0)
		tap_fail(__FILE__, __LINE__, "%s: exit %d, stderr: %s", mode, rc, err);
	settle();
	struct tally t = {0};
	ASSERT_EQ(
	    sscanf(out, "ok=%ld denied=%ld other=%ld esc=%ld", &t.ok, &t.denied, &t.other, &t.esc),
	    4);
	printf("# %s %s: ok=%ld denied=%ld other=%ld esc=%ld; server hits ok=%ld/%ld/%ld "
	       "denied=%ld/%ld/%ld\n",
	       policy ? "sysbroker" : "native", mode, t.ok, t.denied, t.other, t.esc,
	       atomic_load(&C->hits[SRV_TCP_OK]), atomic_load(&C->hits[SRV_UDP_OK]),
	       atomic_load(&C->hits[SRV_UNIX_OK]), atomic_load(&C->hits[SRV_TCP_NO]),
	       atomic_load(&C->hits[SRV_UDP_NO]), atomic_load(&C->hits[SRV_UNIX_NO]));
	return t;
}

/* A test that passed leaves nothing behind; a failed one keeps its directory to look at. */
static void clean(void)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	run_sh(cmd, out, sizeof(out), err, sizeof(err));
}

static long denied_hits(void)
{
	return atomic_load(&C->hits[SRV_TCP_NO]) + atomic_load(&C->hits[SRV_UDP_NO]) +
	       atomic_load(&C->hits[SRV_UNIX_NO]);
}

static long allowed_hits(void)
{
	return atomic_load(&C->hits[SRV_TCP_OK]) + atomic_load(&C->hits[SRV_UDP_OK]) +
	       atomic_load(&C->hits[SRV_UNIX_OK]);
}

/* The policy: everything allowed but the denied servers. */
static const char *deny_policy(void)
{
	static char p[512];
	snprintf(p, sizeof(p),
		 "--net-deny 127.0.0.1:%d --net-deny 127.0.0.1:%d --net-deny unix:%s/no.sock",
		 C->port[SRV_TCP_NO], C->port[SRV_UDP_NO], dir);
	return p;
}

/* The race: natively the denied server is reached; under sysbroker never, while the
 * allowed one is, and the program saw both answers (the flips really happened). */
static void race(const char *mode)
{
	start_servers();
	run_child(mode, NULL);
	long native = denied_hits();
	struct tally t = run_child(mode, deny_policy());
	long escapes = denied_hits(), allowed = allowed_hits();
	stop_servers();
	if (native == 0)
		tap_fail(__FILE__, __LINE__,
			 "control: natively the denied server was never reached");
	ASSERT_EQ(escapes, 0);
	ASSERT_TRUE(allowed > 0);
	ASSERT_TRUE(t.denied > 0);
	clean();
}

TEST_TIMEOUT(connect_address_rewritten_during_the_call, 120)
{
	race("connect-flip");
}

TEST_TIMEOUT(sendto_address_rewritten_during_the_call, 120)
{
	race("sendto-flip-udp");
}

TEST_TIMEOUT(sendmsg_name_pointer_swapped_during_the_call, 120)
{
	race("sendmsg-flip-udp");
}

TEST_TIMEOUT(sendmmsg_address_rewritten_during_the_call, 120)
{
	race("sendmmsg-flip-udp");
}

TEST_TIMEOUT(unix_path_symlink_flipped_during_the_call, 120)
{
	race("symlink-connect");
}

/* dup2 over the fd: no allowed server is involved, only escapes count. */
static void dup2_race(const char *mode)
{
	start_servers();
	run_child(mode, NULL);
	long native = denied_hits();
	run_child(mode, deny_policy());
	long escapes = denied_hits();
	stop_servers();
	if (native == 0)
		tap_fail(__FILE__, __LINE__,
			 "control: natively the denied server was never reached");
	ASSERT_EQ(escapes, 0);
	clean();
}

TEST_TIMEOUT(connect_with_dup2_over_the_checked_fd, 120)
{
	dup2_race("dup2-connect");
}

TEST_TIMEOUT(sendto_with_dup2_over_the_checked_fd, 120)
{
	dup2_race("dup2-sendto-udp");
}

TEST_TIMEOUT(unix_bind_directory_flipped_during_the_call, 120)
{
	start_servers();
	struct tally nat = run_child("bind-flip", NULL);
	char policy[512];
	snprintf(policy, sizeof(policy), "--bind-deny unix:%s/bind-no", dir);
	struct tally sb = run_child("bind-flip", policy);
	stop_servers();
	if (nat.esc == 0)
		tap_fail(__FILE__, __LINE__,
			 "control: natively no bind landed in the denied directory");
	ASSERT_EQ(sb.esc, 0);
	ASSERT_TRUE(sb.ok > 0);
	ASSERT_TRUE(sb.denied > 0);
	/* Nothing left behind in the denied directory either. */
	char p[160];
	snprintf(p, sizeof(p), "%s/bind-no/x.sock", dir);
	ASSERT_ERRNO(access(p, F_OK), ENOENT);
	clean();
}

TEST_TIMEOUT(ipv4_mapped_and_unspec_forms_refused, 60)
{
	start_servers();
	struct tally nat = run_child("bypass", NULL);
	long native = denied_hits();
	/* Every form reached the denied servers natively (Fast Open too, when the kernel has
	 * its client side on: net.ipv4.tcp_fastopen & 1, the default). */
	ASSERT_EQ(nat.ok, 7);
	struct tally sb = run_child("bypass", deny_policy());
	long escapes = denied_hits();
	stop_servers();
	ASSERT_TRUE(native > 0);
	ASSERT_EQ(nat.denied, 0);
	ASSERT_EQ(escapes, 0);
	/* Every form was refused by the policy, none failed for another reason. */
	ASSERT_EQ(sb.ok, 0);
	ASSERT_EQ(sb.denied, 7);
	clean();
}

/* The hostile program is this binary, re-executed with SB_CHILD=mode. */
__attribute__((constructor)) static void maybe_child(void)
{
	const char *mode = getenv("SB_CHILD");
	if (!mode)
		return;
	int rc = child_main(mode);
	fflush(stdout);
	_exit(rc);
}
