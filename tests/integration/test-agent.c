/* Integration tests of `sysbroker agent`: the real binary with hostile peers, socket handling, and
 * real runc and crun containers. */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "engine.h"
#include "macros.h"
#include "oci-helpers.h"
#include "tap.h"

/* ---- the agent itself ---- */

/* Attaches a fresh target under metadata; the caller ends it with target_stop. */
static void attach(struct agent *a, struct target *t, const char *id, const char *metadata)
{
	char line[256];
	target_start(t);
	int s = agent_connect(a);
	const char *p = payload(id, t->pid, metadata, NULL);
	ASSERT_EQ(send_with_fds(s, p, strlen(p), &t->listener, 1), (ssize_t)strlen(p));
	close(t->listener);
	t->listener = -1;
	close(s);
	snprintf(line, sizeof(line), "container %s (pid %d, runtime ", id, (int)t->pid);
	wait_log(a, line, 1, 5000);
}

TEST_TIMEOUT(agent_serves_and_stops, 60)
{
	struct agent a;
	agent_start(&a);
	struct stat st;
	ASSERT_EQ(lstat(a.sock, &st), 0);
	ASSERT_TRUE(S_ISSOCK(st.st_mode));
	ASSERT_EQ(st.st_mode & 07777, 0600);
	good_connection(&a, "good-1");
	good_connection(&a, "good-2");
	agent_stop(&a, true);
	ASSERT_TRUE(strstr(agent_log(&a), "stopping on TERM"));
	rm_rf(a.dir);
}

/*
 * SIGTERM while a container is served and connections wait: exit 0 with nothing leaked (the
 * ASan build checks at exit), the socket removed, and the container's next notified call
 * fails with ENOSYS (its listener closed), never runs unchecked.
 */
TEST_TIMEOUT(agent_stops_while_serving, 60)
{
	struct agent a;
	struct target t;
	char path[512];
	agent_start(&a);
	target_start(&t);
	int s = agent_connect(&a);
	const char *p = payload("busy", t.pid, NULL, NULL);
	ASSERT_EQ(send_with_fds(s, p, strlen(p), &t.listener, 1), (ssize_t)strlen(p));
	close(t.listener);
	t.listener = -1;
	wait_log(&a, "container busy (pid", 1, 5000);
	snprintf(path, sizeof(path), "%s/public", a.dir);
	ASSERT_EQ(target_open(&t, path), 0);
	int silent = agent_connect(&a);
	int half = agent_connect(&a);
	p = payload("half", 1, NULL, NULL);
	ASSERT_EQ(send(half, p, 20, MSG_NOSIGNAL), 20);
	/* The listener and both connections are held (accepted) before it is told to stop. */
	a.baseline_fds += 3;
	wait_baseline(&a);
	agent_stop(&a, true);
	ASSERT_TRUE(strstr(agent_log(&a), "stopping on TERM"));
	ASSERT_EQ(target_open(&t, path), ENOSYS);
	close(silent);
	close(half);
	close(s);
	target_stop(&t);
	rm_rf(a.dir);
}

/* Whether a task of pid sleeps in the kernel function fn (its wchan). */
static bool task_waits_in(pid_t pid, const char *fn)
{
	char path[64], p[512];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return false;
	bool found = false;
	struct dirent *de;
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s/wchan", path, de->d_name);
		found = !strcmp(read_file(p), fn);
	}
	closedir(d);
	return found;
}

/*
 * SIGTERM while a worker is stuck inside an emulated call (an open of a FIFO no one will
 * write to; workers block signals, so nothing interrupts it): the agent still exits 0
 * after its grace period, says why, removes its socket, and the container's call fails
 * with ENOSYS.
 */
TEST_TIMEOUT(agent_stops_while_a_request_blocks, 60)
{
	struct agent a;
	struct target t;
	char fifo[512], cmd[600], ans[64];
	agent_start(&a);
	snprintf(fifo, sizeof(fifo), "%s/fifo", a.dir);
	ASSERT_EQ(mkfifo(fifo, 0600), 0);
	attach(&a, &t, "fifo-reader", NULL);
	snprintf(cmd, sizeof(cmd), "o%s\n", fifo);
	ASSERT_EQ(write(t.ctl, cmd, strlen(cmd)), (ssize_t)strlen(cmd));
	long end = now_ms() + 10000;
	while (!task_waits_in(a.pid, "wait_for_partner")) {
		if (now_ms() > end)
			tap_fail(__FILE__, __LINE__, "no agent worker blocked in the FIFO open");
		sleep_ms(10);
	}
	ASSERT_EQ(kill(a.pid, SIGTERM), 0);
	ASSERT_EQ(wait_exit(a.pid, 30, "agent"), 0);
	ASSERT_TRUE(strstr(agent_log(&a), "a request still blocks after 5 s"));
	struct stat sb;
	ASSERT_TRUE(lstat(a.sock, &sb) < 0);
	struct pollfd p = {t.ctl, POLLIN, 0};
	ASSERT_EQ(poll(&p, 1, 10000), 1);
	ssize_t n = read(t.ctl, ans, sizeof(ans) - 1);
	ASSERT_TRUE(n > 0);
	ans[n] = 0;
	ASSERT_EQ(atoi(ans), ENOSYS);
	target_stop(&t);
	rm_rf(a.dir);
}

TEST_TIMEOUT(agent_enforces_policy_from_metadata, 60)
{
	struct agent a;
	struct target t;
	char path[512], audit[512];
	need_root();
	agent_dirs(&a);
	snprintf(audit, sizeof(audit), "%s/audit.jsonl", a.dir);
	const char *const args[] = {"--default-policy", "default", "--audit", audit, NULL};
	agent_spawn(&a, -1, args);
	target_start(&t);
	int s = agent_connect(&a);
	const char *p = payload("meta-1", t.pid, "agent-test;policy=deny-secret", NULL);
	ASSERT_EQ(send_with_fds(s, p, strlen(p), &t.listener, 1), (ssize_t)strlen(p));
	wait_log(&a, "meta-1 (pid", 1, 5000);
	wait_log(&a, "attached, policy deny-secret", 1, 5000);
	snprintf(path, sizeof(path), "%s/public", a.dir);
	ASSERT_EQ(target_open(&t, path), 0);
	snprintf(path, sizeof(path), "%s/secret", a.dir);
	ASSERT_EQ(target_open(&t, path), EACCES);
	close(s);
	target_stop(&t);
	wait_log(&a, "meta-1 (pid", 2, 5000);
	wait_baseline(&a);
	/* The audit record names the container of each call. */
	const char *log = read_file(audit);
	if (count_str(log, "\"container\":\"meta-1\"") < 2 || !strstr(log, "\"errno\":\"EACCES\""))
		tap_fail(__FILE__, __LINE__, "audit:\n%s", log);
	agent_stop(&a, true);
	rm_rf(a.dir);
}

/*
 * A policy file is read when a container attaches: an edit applies to the containers that
 * start after it, a running one keeps the rules it started with, and SIGHUP reports the
 * edited file (broken or not) without touching either.
 */
TEST_TIMEOUT(agent_policy_edit_applies_to_new_containers, 60)
{
	struct agent a;
	struct target old, new;
	char pol[512], secret[512];
	agent_start(&a);
	snprintf(pol, sizeof(pol), "%s/edited.policy", a.pol);
	snprintf(secret, sizeof(secret), "%s/secret", a.dir);
	write_file(pol, "default allow\ndeny %s\n", secret);
	attach(&a, &old, "before-edit", "policy=edited");
	ASSERT_EQ(target_open(&old, secret), EACCES);

	write_file(pol, "default allow\nalow %s\n", secret); /* broken */
	ASSERT_EQ(kill(a.pid, SIGHUP), 0);
	wait_log(&a, "reload: policy edited: ", 1, 5000);
	ASSERT_EQ(target_open(&old, secret), EACCES);

	write_file(pol, "default allow\n");
	ASSERT_EQ(kill(a.pid, SIGHUP), 0);
	wait_log(&a, "reload: 3 policies valid, 1 broken", 1, 5000);
	attach(&a, &new, "after-edit", "policy=edited");
	ASSERT_EQ(target_open(&new, secret), 0);
	ASSERT_EQ(target_open(&old, secret), EACCES);
	target_stop(&old);
	target_stop(&new);
	wait_log(&a, "exited", 2, 5000);
	wait_baseline(&a);
	agent_stop(&a, true);
	rm_rf(a.dir);
}

/* Refusals: one line each, the listener closed (ENOSYS in the target), the agent unharmed. */
static void refused(struct agent *a, const char *metadata, const char *why)
{
	struct target t;
	target_start(&t);
	unsigned before = count_str(agent_log(a), "refused");
	int s = agent_connect(a);
	const char *p = payload("refused-1", t.pid, metadata, NULL);
	ASSERT_EQ(send_with_fds(s, p, strlen(p), &t.listener, 1), (ssize_t)strlen(p));
	close(t.listener);
	t.listener = -1;
	wait_log(a, "refused", before + 1, 5000);
	if (!strstr(agent_log(a), why))
		tap_fail(__FILE__, __LINE__, "want \"%s\" in:\n%s", why, agent_log(a));
	/* The listener is closed: the call fails with ENOSYS, never a silent allow. */
	ASSERT_EQ(target_open(&t, "/"), ENOSYS);
	close(s);
	target_stop(&t);
	wait_baseline(a);
}

TEST_TIMEOUT(agent_refuses_bad_policy_names, 60)
{
	struct agent a;
	agent_start(&a);
	refused(&a, "agent-test;policy=deny-mkdir-*deny*", "is not valid");
	refused(&a, "policy=..", "is not valid");
	refused(&a, "policy=a;policy=b", "more than one policy");
	refused(&a, "policy=missing", "policy missing: ");
	refused(&a, "policy=broken", "broken.policy:2: unknown rule");
	good_connection(&a, "after-refusals");
	agent_stop(&a, true);
	rm_rf(a.dir);
}

TEST_TIMEOUT(agent_without_default_refuses_unnamed, 60)
{
	struct agent a;
	need_root();
	agent_dirs(&a);
	agent_spawn(&a, -1, NULL);
	refused(&a, NULL, "no --default-policy");
	agent_stop(&a, true);
	rm_rf(a.dir);
}

/* ---- hostile peers: after each, a good connection is served and no fd is left behind ---- */

TEST_TIMEOUT(peer_silent, 60)
{
	struct agent a;
	agent_start(&a);
	/* Silent peers (crun between create and start) must not hold anyone up. */
	int silent[50];
	for (unsigned i = 0; i < ELEMENTSOF(silent); i++)
		silent[i] = agent_connect(&a);
	int base = a.baseline_fds;
	a.baseline_fds += ELEMENTSOF(silent);
	good_connection(&a, "beside-silent");
	a.baseline_fds = base;
	for (unsigned i = 0; i < ELEMENTSOF(silent); i++)
		close(silent[i]);
	wait_log(&a, "closed without sending a payload", ELEMENTSOF(silent), 5000);
	wait_baseline(&a);
	agent_stop(&a, true);
	rm_rf(a.dir);
}

/* Started with a soft fd limit of 64 (hard higher), the agent still holds 200 waiting
 * connections and serves a container beside them: it raised its soft limit. */
TEST_TIMEOUT(agent_raises_soft_fd_limit, 60)
{
	struct agent a;
	struct rlimit old, low;
	ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
	if (old.rlim_max < 1024)
		tap_skip("hard fd limit %llu too low", (unsigned long long)old.rlim_max);
	low = (struct rlimit){64, old.rlim_max};
	ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
	agent_start(&a); /* the agent inherits the low soft limit */
	ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &old), 0);
	int silent[200];
	for (unsigned i = 0; i < ELEMENTSOF(silent); i++)
		silent[i] = agent_connect(&a);
	int base = a.baseline_fds;
	a.baseline_fds += ELEMENTSOF(silent);
	wait_baseline(&a);
	good_connection(&a, "beyond-64");
	a.baseline_fds = base;
	for (unsigned i = 0; i < ELEMENTSOF(silent); i++)
		close(silent[i]);
	wait_log(&a, "closed without sending a payload", ELEMENTSOF(silent), 5000);
	wait_baseline(&a);
	ASSERT_EQ(count_str(agent_log(&a), "refused a connection"), 0);
	agent_stop(&a, true);
	rm_rf(a.dir);
}

TEST_TIMEOUT(peer_garbage, 60)
{
	struct agent a;
	agent_start(&a);
	int s = agent_connect(&a);
	ASSERT_EQ(send(s, "hello world\n", 12, MSG_NOSIGNAL), 12);
	wait_log(&a, "refused: malformed payload", 1, 5000);
	/* Garbage after a complete object, in the same read. */
	int s2 = agent_connect(&a);
	char buf[8192];
	snprintf(buf, sizeof(buf), "%s}", payload("g", 1, NULL, "[]"));
	ASSERT_EQ(send(s2, buf, strlen(buf), MSG_NOSIGNAL), (ssize_t)strlen(buf));
	wait_log(&a, "refused: malformed payload", 2, 5000);
	close(s);
	close(s2);
	good_connection(&a, "after-garbage");
	agent_stop(&a, true);
	rm_rf(a.dir);
}

TEST_TIMEOUT(peer_truncated_then_close, 60)
{
	struct agent a;
	agent_start(&a);
	int s = agent_connect(&a);
	const char *p = payload("trunc", 1, NULL, NULL);
	ASSERT_EQ(send(s, p, strlen(p) / 2, MSG_NOSIGNAL), (ssize_t)(strlen(p) / 2));
	sleep_ms(50);
	close(s);
	wait_log(&a, "refused: closed mid-payload", 1, 5000);
	good_connection(&a, "after-truncated");
	agent_stop(&a, true);
	rm_rf(a.dir);
}

TEST_TIMEOUT(peer_disconnects_mid_payload_with_fd, 60)
{
	struct agent a;
	struct target t;
	agent_start(&a);
	target_start(&t);
	int s = agent_connect(&a);
	const char *p = payload("mid", t.pid, NULL, NULL);
	ASSERT_EQ(send_with_fds(s, p, 40, &t.listener, 1), 40);
	sleep_ms(50);
	close(s);
	wait_log(&a, "refused: closed mid-payload", 1, 5000);
	/* The fd it received was closed with the connection. */
	wait_baseline(&a);
	target_stop(&t);
	good_connection(&a, "after-mid");
	agent_stop(&a, true);
	rm_rf(a.dir);
}

TEST_TIMEOUT(peer_no_fd, 60)
{
	struct agent a;
	agent_start(&a);
	int s = agent_connect(&a);
	const char *p = payload("nofd", 1, NULL, NULL);
	ASSERT_EQ(send(s, p, strlen(p), MSG_NOSIGNAL), (ssize_t)strlen(p));
	wait_log(&a, "container nofd (pid 1, runtime ", 1, 5000);
	wait_log(&a, "refused: payload names 1 fds, 0 received", 1, 5000);
	close(s);
	/* Named nothing at all. */
	s = agent_connect(&a);
	p = payload("nofd2", 1, NULL, "[]");
	ASSERT_EQ(send(s, p, strlen(p), MSG_NOSIGNAL), (ssize_t)strlen(p));
	wait_log(&a, "refused: no fd named seccompFd", 1, 5000);
	close(s);
	good_connection(&a, "after-nofd");
	agent_stop(&a, true);
	rm_rf(a.dir);
}

TEST_TIMEOUT(peer_two_fds, 60)
{
	struct agent a;
	struct target t;
	agent_start(&a);
	target_start(&t);
	int fds[2] = {t.listener, STDIN_FILENO};
	int s = agent_connect(&a);
	const char *p = payload("twofds", t.pid, NULL, NULL);
	ASSERT_EQ(send_with_fds(s, p, strlen(p), fds, 2), (ssize_t)strlen(p));
	wait_log(&a, "refused: payload names 1 fds, 2 received", 1, 5000);
	close(s);
	wait_baseline(&a);
	/* Two fds, both named: the one named seccompFd is used, the other closed. */
	s = agent_connect(&a);
	int fds2[2] = {STDIN_FILENO, t.listener};
	p = payload("twonamed", t.pid, NULL, "[\"other\",\"seccompFd\"]");
	ASSERT_EQ(send_with_fds(s, p, strlen(p), fds2, 2), (ssize_t)strlen(p));
	wait_log(&a, "twonamed (pid", 1, 5000);
	wait_log(&a, "attached, policy default", 1, 5000);
	target_getppid(&t);
	close(s);
	target_stop(&t);
	wait_log(&a, "exited", 1, 5000);
	wait_baseline(&a);
	agent_stop(&a, true);
	rm_rf(a.dir);
}

TEST_TIMEOUT(peer_fd_not_a_listener, 60)
{
	struct agent a;
	agent_start(&a);
	int pfd[2];
	ASSERT_EQ(pipe2(pfd, O_CLOEXEC), 0);
	int s = agent_connect(&a);
	const char *p = payload("pipe", 1, NULL, NULL);
	ASSERT_EQ(send_with_fds(s, p, strlen(p), &pfd[0], 1), (ssize_t)strlen(p));
	wait_log(&a, "refused: seccompFd is not a seccomp listener", 1, 5000);
	close(s);
	close(pfd[0]);
	close(pfd[1]);
	wait_baseline(&a);
	good_connection(&a, "after-pipe");
	agent_stop(&a, true);
	rm_rf(a.dir);
}

TEST_TIMEOUT(peer_huge_payload, 60)
{
	struct agent a;
	agent_start(&a);
	int s = agent_connect(&a);
	static char chunk[65536];
	memset(chunk, 'a', sizeof(chunk));
	ASSERT_EQ(send(s, "{\"a\":\"", 6, MSG_NOSIGNAL), 6);
	/* Past 1 MiB the agent hangs up: sends then fail with EPIPE/ECONNRESET. */
	size_t sent = 6;
	while (sent < 4 * 1024 * 1024) {
		ssize_t n = send(s, chunk, sizeof(chunk), MSG_NOSIGNAL);
		if (n < 0)
			break;
		sent += (size_t)n;
	}
	wait_log(&a, "refused: payload larger than 1048576 bytes", 1, 5000);
	close(s);
	good_connection(&a, "after-huge");
	agent_stop(&a, true);
	rm_rf(a.dir);
}

TEST_TIMEOUT(peer_split_byte_by_byte, 60)
{
	struct agent a;
	struct target t;
	agent_start(&a);
	target_start(&t);
	int s = agent_connect(&a);
	/* crun's pretty-printed form, one byte per write, the fd with the first one. */
	char p[4096];
	snprintf(
	    p, sizeof(p),
	    "{\n    \"ociVersion\": \"0.2.0\",\n    \"fds\": [\n        \"seccompFd\"\n    ],\n"
	    "    \"pid\": %d,\n    \"state\": {\n        \"ociVersion\": \"0.2.0\",\n        "
	    "\"id\": \"split\",\n        \"status\": \"creating\",\n        \"pid\": %d,\n"
	    "        \"bundle\": \"/b\"\n    }\n}\n",
	    (int)t.pid, (int)t.pid);
	ASSERT_EQ(send_with_fds(s, p, 1, &t.listener, 1), 1);
	size_t brace = (size_t)(strrchr(p, '}') - p);
	for (size_t i = 1; i < strlen(p); i++) {
		/* After the closing brace the agent may already have hung up (EPIPE). */
		ssize_t n = send(s, p + i, 1, MSG_NOSIGNAL);
		if (i <= brace)
			ASSERT_EQ(n, 1);
		if (i % 16 == 0)
			sleep_ms(1);
	}
	wait_log(&a, "split (pid", 1, 5000);
	wait_log(&a, "attached, policy default", 1, 5000);
	target_getppid(&t);
	close(s);
	close(t.listener);
	t.listener = -1;
	target_stop(&t);
	wait_log(&a, "exited", 1, 5000);
	wait_baseline(&a);
	agent_stop(&a, true);
	rm_rf(a.dir);
}

TEST_TIMEOUT(agent_socket_handling, 60)
{
	struct agent a;
	need_root();
	agent_dirs(&a);
	/* A stale socket (nobody listening) is replaced. */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	ASSERT_TRUE(strlen(a.sock) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, a.sock, strlen(a.sock) + 1);
	ASSERT_EQ(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	static const char *const def[] = {"--default-policy", "default", NULL};
	agent_spawn(&a, -1, def);
	good_connection(&a, "after-stale");

	/* A second agent on a live socket refuses to start and leaves it alone. */
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "%s agent --socket %s --policy-dir %s 2>/dev/null", sysbroker(),
		 a.sock, a.pol);
	int st = system(cmd);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 125);
	good_connection(&a, "after-second");

	/* SIGHUP checks the policy files and names the broken one. */
	ASSERT_EQ(kill(a.pid, SIGHUP), 0);
	wait_log(&a, "reload: 2 policies valid, 1 broken", 1, 5000);
	ASSERT_TRUE(strstr(agent_log(&a), "reload: policy broken: "));
	agent_stop(&a, true);

	/* Anything that is not a socket is never replaced. */
	write_file(a.sock, "precious\n");
	snprintf(cmd, sizeof(cmd), "%s agent --socket %s --policy-dir %s 2>/dev/null", sysbroker(),
		 a.sock, a.pol);
	st = system(cmd);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 125);
	ASSERT_STREQ(read_file(a.sock), "precious\n");

	/* A broken default policy is a start-up error. */
	snprintf(cmd, sizeof(cmd),
		 "%s agent --socket %s.2 --policy-dir %s --default-policy broken 2>&1 | grep -q "
		 "'broken.policy:2: unknown rule'",
		 sysbroker(), a.sock, a.pol);
	ASSERT_EQ(system(cmd), 0);
	rm_rf(a.dir);
}

TEST_TIMEOUT(agent_socket_activation, 60)
{
	struct agent a;
	need_root();
	agent_dirs(&a);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	ASSERT_TRUE(strlen(a.sock) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, a.sock, strlen(a.sock) + 1);
	ASSERT_EQ(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ASSERT_EQ(listen(fd, 16), 0);
	static const char *const def[] = {"--default-policy", "default", NULL};
	agent_spawn(&a, fd, def);
	close(fd);
	ASSERT_TRUE(strstr(agent_log(&a), "listening on (socket activation)"));
	good_connection(&a, "activated");
	/* systemd owns the path: the agent leaves it. */
	agent_stop(&a, false);
	rm_rf(a.dir);
}

static void runtime_serves(const char *runtime)
{
	struct agent a;
	char id[64], line[256];
	need_runtime(runtime);
	agent_start(&a);
	snprintf(id, sizeof(id), "sbt-%s-%d", runtime, (int)getpid());
	/* getppid is notified and, with no handler for it, answered ENOSYS by the agent: the
	 * container gets an answer (not a hang), and the call did not reach the kernel. */
	int r =
	    container_run(&a, runtime, id, "cat /etc/hostname; echo done", NULL, "[\"getppid\"]");
	if (r != 0)
		tap_fail(__FILE__, __LINE__, "%s exited %d:\n%s\nagent:\n%s", runtime, r, rt_out,
			 agent_log(&a));
	ASSERT_TRUE(strstr(rt_out, "sbtest\ndone\n"));
	snprintf(line, sizeof(line), "container %s (pid ", id);
	wait_log(&a, line, 2, 5000);
	snprintf(line, sizeof(line), "runtime %s): attached, policy default", runtime);
	wait_log(&a, line, 1, 5000);
	snprintf(line, sizeof(line), "runtime %s): exited", runtime);
	wait_log(&a, line, 1, 5000);
	wait_baseline(&a);
	good_connection(&a, "after-container");
	agent_stop(&a, true);
	rm_rf(a.dir);
}

TEST_TIMEOUT(runc_container_attached, 120)
{
	runtime_serves("runc");
}

TEST_TIMEOUT(crun_container_attached, 120)
{
	runtime_serves("crun");
}

/* An audit line of container id that also holds every needle. */
static bool audit_line(const char *audit, const char *id, const char *n1, const char *n2)
{
	char who[128], line[4096];
	snprintf(who, sizeof(who), "\"container\":\"%s\"", id);
	for (const char *l = audit; *l;) {
		size_t len = strcspn(l, "\n");
		snprintf(line, sizeof(line), "%.*s",
			 (int)(len < sizeof(line) ? len : sizeof(line) - 1), l);
		if (strstr(line, who) && strstr(line, n1) && (!n2 || strstr(line, n2)))
			return true;
		l += len + (l[len] ? 1 : 0);
	}
	return false;
}

/*
 * The policy really applies inside the container: deny gives EACCES, hide ENOENT, in the
 * container's own root (its /etc, not the host's), the container's exit code comes through,
 * and the audit records name the container. The control is the same container under the
 * default policy: both files read.
 */
static void runtime_enforces(const char *runtime)
{
	struct agent a;
	char id[64], ctl[64], p[512], audit[512];
	static const char script[] = "cat /etc/hostname; cat /etc/secret; cat /etc/hidden; exit 7";
	need_runtime(runtime);
	agent_dirs(&a);
	snprintf(audit, sizeof(audit), "%s/audit.jsonl", a.dir);
	const char *const args[] = {"--default-policy", "default", "--audit", audit, NULL};
	agent_spawn(&a, -1, args);
	snprintf(p, sizeof(p), "%s/enforce.policy", a.pol);
	write_file(p, "default allow\ndeny /etc/secret\nhide /etc/hidden\n");

	snprintf(ctl, sizeof(ctl), "sbt-ctl-%s-%d", runtime, (int)getpid());
	int r = container_run(&a, runtime, ctl, script, "agent-test;policy=default",
			      "[\"open\", \"openat\"]");
	if (r != 7 || !strstr(rt_out, "sbtest\nhush\nshh\n"))
		tap_fail(__FILE__, __LINE__, "control: %s exited %d:\n%s\nagent:\n%s", runtime, r,
			 rt_out, agent_log(&a));

	snprintf(id, sizeof(id), "sbt-enf-%s-%d", runtime, (int)getpid());
	r = container_run(&a, runtime, id, script, "agent-test;policy=enforce",
			  "[\"open\", \"openat\"]");
	if (r != 7 || !strstr(rt_out, "sbtest\n") ||
	    !strstr(rt_out, "cat: can't open '/etc/secret': Permission denied\n") ||
	    !strstr(rt_out, "cat: can't open '/etc/hidden': No such file or directory\n") ||
	    strstr(rt_out, "hush") || strstr(rt_out, "shh"))
		tap_fail(__FILE__, __LINE__, "%s exited %d:\n%s\nagent:\n%s", runtime, r, rt_out,
			 agent_log(&a));
	wait_log(&a, "exited", 2, 5000);
	wait_baseline(&a);

	/* Written before "exited" is logged: gone() runs after the container's last request. */
	const char *log = read_file(audit);
	if (!audit_line(log, id, "\"path\":\"/etc/secret\"", "\"errno\":\"EACCES\"") ||
	    !audit_line(log, id, "\"path\":\"/etc/hidden\"", "\"action\":\"hide\"") ||
	    !audit_line(log, id, "\"path\":\"/etc/hostname\"", NULL) ||
	    !audit_line(log, ctl, "\"path\":\"/etc/secret\"", "\"action\":\"allow\""))
		tap_fail(__FILE__, __LINE__, "audit:\n%s", log);
	agent_stop(&a, true);
	rm_rf(a.dir);
}

TEST_TIMEOUT(runc_container_policy_enforced, 120)
{
	runtime_enforces("runc");
}

TEST_TIMEOUT(crun_container_policy_enforced, 120)
{
	runtime_enforces("crun");
}

/*
 * Containers without noNewPrivileges, whose runtime init then makes more notified calls
 * (runc reads /proc/self/status, /etc/passwd, /etc/group and /proc/self/setgroups through
 * the agent): as root, and as uid 1000 (Kubernetes' runAsUser); uid 1000 with it too. The
 * agent opens files with the container's uid, so a root-only file stays closed to uid 1000
 * and a file it creates is its own, exactly as without the agent (the control run). runc
 * loads the filter in runc init, which, after it took the uid and while it is not dumpable,
 * opens its exec fifo through /proc/self/fd/N and lists /proc/self/fd: the program's own
 * magic links and fd directory, which the kernel leaves open to it (and only to it)
 * whatever its uid. The audit records that open on the fifo itself.
 */
static void runtime_users(const char *runtime)
{
	static const struct {
		unsigned uid;
		bool agent, nnp;
		const char *want_id, *want_secret;
	} runs[] = {
	    {0, true, false, "0\n", "hush\n"},
	    {1000, false, false, "1000\n", "cat: can't open '/etc/secret': Permission denied\n"},
	    {1000, true, false, "1000\n", "cat: can't open '/etc/secret': Permission denied\n"},
	    {1000, true, true, "1000\n", "cat: can't open '/etc/secret': Permission denied\n"},
	};
	struct agent a;
	struct bundle b;
	char id[64], root[400], p[800], out[1 << 14], audit[512];
	static const char script[] = "id -u; cat /etc/hostname; cat /etc/secret; "
				     "echo mine > /tmp/mine; cat /tmp/mine; exit 3";
	need_runtime(runtime);
	agent_dirs(&a);
	snprintf(audit, sizeof(audit), "%s/audit.jsonl", a.dir);
	const char *const aargs[] = {"--default-policy", "default", "--audit", audit, NULL};
	agent_spawn(&a, -1, aargs);
	snprintf(root, sizeof(root), "%s/%s-root", a.dir, runtime);
	mkdir(root, 0700);
	for (unsigned i = 0; i < ELEMENTSOF(runs); i++) {
		snprintf(id, sizeof(id), "sbt-user-%s-%u-%d", runtime, i, (int)getpid());
		snprintf(p, sizeof(p), "%s/%s", a.dir, id);
		ASSERT_EQ(mkdir(p, 0755), 0);
		bundle_make(&b, p);
		snprintf(p, sizeof(p), "%s/etc/secret", b.rootfs);
		ASSERT_EQ(chmod(p, 0600), 0);
		snprintf(p, sizeof(p), "%s/tmp", b.rootfs);
		ASSERT_EQ(chmod(p, 01777), 0);
		b.uid = b.gid = runs[i].uid;
		b.no_new_privs = runs[i].nnp;
		bundle_config(&b, script, a.sock, NULL,
			      runs[i].agent ? "[\"open\", \"openat\"]" : NULL);
		const char *args[] = {"run", "--bundle", b.dir, id, NULL};
		char *argv[32];
		runtime_argv(runtime, root, argv, ELEMENTSOF(argv), args);
		int r = run_argv(argv, out, sizeof(out), 30);
		/* Line by line: runc copies the container's stdout and stderr separately. */
		if (r != 3 || !strstr(out, runs[i].want_id) || !strstr(out, "sbtest\n") ||
		    !strstr(out, runs[i].want_secret) || !strstr(out, "mine\n"))
			tap_fail(__FILE__, __LINE__,
				 "%s (uid %u, %s, noNewPrivileges %d) exited %d:\n%s\nagent:\n%s",
				 runtime, runs[i].uid, runs[i].agent ? "agent" : "control",
				 runs[i].nnp, r, out, agent_log(&a));
		struct stat st;
		snprintf(p, sizeof(p), "%s/tmp/mine", b.rootfs);
		ASSERT_EQ(stat(p, &st), 0);
		ASSERT_EQ(st.st_uid, runs[i].uid);
		ASSERT_EQ(st.st_gid, runs[i].uid);
	}
	wait_log(&a, "exited", 3, 5000);
	wait_baseline(&a);
	if (!strcmp(runtime, "runc")) {
		/* runc init of the uid 1000 containers: decided and recorded on the fifo. */
		const char *log = read_file(audit);
		for (unsigned i = 2; i < ELEMENTSOF(runs); i++) {
			snprintf(id, sizeof(id), "sbt-user-%s-%u-%d", runtime, i, (int)getpid());
			if (!audit_line(log, id, "/exec.fifo\"", "\"action\":\"allow\""))
				tap_fail(__FILE__, __LINE__,
					 "%s: no audit line of the exec fifo:\n%s", id, log);
		}
	}
	agent_stop(&a, true);
	rm_rf(a.dir);
}

TEST_TIMEOUT(runc_container_users, 120)
{
	runtime_users("runc");
}

TEST_TIMEOUT(crun_container_users, 120)
{
	runtime_users("crun");
}

/* crun connects at create and sends at start: the silent connection holds nobody up. */
TEST_TIMEOUT(crun_create_then_start, 120)
{
	struct agent a;
	struct bundle b;
	char id[64], root[400], line[256];
	char *argv[32];
	need_runtime("crun");
	agent_start(&a);
	bundle_make(&b, a.dir);
	bundle_config(&b, "echo started", a.sock, "policy=default", "[\"getppid\"]");
	snprintf(root, sizeof(root), "%s/crun-root", a.dir);
	mkdir(root, 0700);
	snprintf(id, sizeof(id), "sbt-cs-%d", (int)getpid());

	char outfile[512];
	snprintf(outfile, sizeof(outfile), "%s/crun.out", a.dir);
	const char *create[] = {"create", "--bundle", b.dir, id, NULL};
	runtime_argv("crun", root, argv, ELEMENTSOF(argv), create);
	int r = run_argv_to_file(argv, outfile, 30);
	if (r != 0)
		tap_fail(__FILE__, __LINE__, "crun create exited %d:\n%s", r, read_file(outfile));
	/* Connected, silent: another container is served meanwhile. */
	ASSERT_EQ(count_str(agent_log(&a), "attached"), 0);
	ASSERT_TRUE(count_fds(a.pid) > a.baseline_fds);
	int base = a.baseline_fds;
	a.baseline_fds = count_fds(a.pid);
	good_connection(&a, "while-crun-waits");
	a.baseline_fds = base;

	const char *start[] = {"start", id, NULL};
	runtime_argv("crun", root, argv, ELEMENTSOF(argv), start);
	r = run_argv_to_file(argv, outfile, 30);
	if (r != 0)
		tap_fail(__FILE__, __LINE__, "crun start exited %d:\n%s", r, read_file(outfile));
	snprintf(line, sizeof(line), "container %s (pid ", id);
	wait_log(&a, line, 2, 10000);
	ASSERT_TRUE(strstr(agent_log(&a), "runtime crun): attached, policy default"));
	snprintf(line, sizeof(line), "container %s (pid ", id);
	wait_log(&a, "exited", 2, 10000);
	const char *del[] = {"delete", "-f", id, NULL};
	runtime_argv("crun", root, argv, ELEMENTSOF(argv), del);
	run_argv(argv, rt_out, sizeof(rt_out), 30);
	long end = now_ms() + 5000;
	while (!strstr(read_file(outfile), "started") && now_ms() < end)
		sleep_ms(10);
	ASSERT_TRUE(strstr(read_file(outfile), "started\n"));
	wait_baseline(&a);
	agent_stop(&a, true);
	rm_rf(a.dir);
}

/* No agent behind the socket: the runtime refuses to start the container. */
TEST_TIMEOUT(runc_without_agent_fails, 60)
{
	struct agent a;
	need_runtime("runc");
	agent_dirs(&a);
	char id[64];
	snprintf(id, sizeof(id), "sbt-none-%d", (int)getpid());
	int r = container_run(&a, "runc", id, "echo ran", NULL, "[\"getppid\"]");
	ASSERT_NE(r, 0);
	ASSERT_TRUE(!strstr(rt_out, "ran\n"));
	const char *args[] = {"delete", "-f", id, NULL};
	char *argv[32], root[400];
	snprintf(root, sizeof(root), "%s/runc-root", a.dir);
	runtime_argv("runc", root, argv, ELEMENTSOF(argv), args);
	run_argv(argv, rt_out, sizeof(rt_out), 30);
	rm_rf(a.dir);
}

/* ---- the seccomp profiles shipped in contrib/ ---- */

/* A profile from SB_SRCDIR: a JSON file, or the "default.json: |" block of a YAML file. */
static json_object *contrib_profile(const char *rel)
{
	char path[1024];
	const char *src = getenv("SB_SRCDIR");
	if (!src)
		tap_skip("SB_SRCDIR not set (run through meson test)");
	snprintf(path, sizeof(path), "%s/%s", src, rel);
	const char *text = read_file(path);
	ASSERT_TRUE(*text);
	if (strstr(rel, ".yaml")) {
		/* The block's lines, indented by 4 under the key, until the first line that
		 * is not: YAML's literal style keeps the text as written otherwise. */
		static char json[1 << 16];
		const char *l = strstr(text, "  default.json: |\n");
		ASSERT_TRUE(l);
		l = strchr(l, '\n') + 1;
		size_t n = 0;
		while (!strncmp(l, "    ", 4) || *l == '\n') {
			size_t len = strcspn(l, "\n");
			size_t skip = *l == '\n' ? 0 : 4;
			ASSERT_TRUE(n + len < sizeof(json));
			memcpy(json + n, l + skip, len - skip);
			n += len - skip;
			json[n++] = '\n';
			l += len + (l[len] ? 1 : 0);
		}
		json[n] = 0;
		text = json;
	}
	json_object *o = json_tokener_parse(text);
	if (!o)
		tap_fail(__FILE__, __LINE__, "%s is not JSON", rel);
	return o;
}

/*
 * Every call the shipped profiles send to the agent has a handler in it: a notified call
 * without one fails with ENOSYS in the container, and runc's own init (which lists
 * /proc/self/fd and stats files after the filter is loaded) would then not start. The
 * three copies (plain, Kubernetes file, DaemonSet ConfigMap) say the same.
 */
TEST(contrib_profiles_notify_only_handled_calls)
{
	static const char *const files[] = {
	    "contrib/seccomp-profile.json",
	    "contrib/kubernetes/sysbroker-default.json",
	    "contrib/kubernetes/daemonset.yaml",
	};
	json_object *prof[ELEMENTSOF(files)];
	for (unsigned i = 0; i < ELEMENTSOF(files); i++) {
		prof[i] = contrib_profile(files[i]);
		if (i && !json_object_equal(prof[0], prof[i]))
			tap_fail(__FILE__, __LINE__, "%s differs from %s", files[i], files[0]);
	}
	sb_supervisor *s;
	int r = sb_supervisor_new(&s, NULL);
	if (r < 0)
		tap_skip("engine unavailable: %s", strerror(-r));
	ASSERT_EQ(sb_sandbox_install(s, NULL), 0); /* what the agent installs */
	json_object *calls;
	ASSERT_TRUE(json_object_object_get_ex(prof[0], "syscalls", &calls));
	unsigned notified = 0;
	for (size_t i = 0; i < json_object_array_length(calls); i++) {
		json_object *rule = json_object_array_get_idx(calls, i), *action, *names;
		ASSERT_TRUE(json_object_object_get_ex(rule, "action", &action));
		ASSERT_TRUE(json_object_object_get_ex(rule, "names", &names));
		if (strcmp(json_object_get_string(action), "SCMP_ACT_NOTIFY"))
			continue;
		for (size_t k = 0; k < json_object_array_length(names); k++) {
			const char *name =
			    json_object_get_string(json_object_array_get_idx(names, k));
			int nr = sb_syscall_nr(name);
			if (nr < 0 || nr >= SB_MAX_NR || !s->handlers[nr].fn)
				tap_fail(__FILE__, __LINE__,
					 "%s notifies %s, which the agent has no handler for",
					 files[0], name);
			notified++;
		}
	}
	ASSERT_TRUE(notified >= 4);
	sb_supervisor_free(s);
	for (unsigned i = 0; i < ELEMENTSOF(files); i++)
		json_object_put(prof[i]);
}

/*
 * A real container under the shipped profile (listenerPath pointed at the test's agent):
 * a day's worth of shell work succeeds, nothing it does gets ENOSYS, and the policy holds
 * for the calls the profile sends (a hidden file cannot be read, removed, moved or stat'ed,
 * and is left out of its directory's listing).
 */
static void runtime_contrib_profile(const char *runtime)
{
	struct agent a;
	struct bundle b;
	char id[64], root[400], p[800], audit[400];
	static const char script[] =
	    "mkdir /tmp/d && echo x > /tmp/d/f && cat /tmp/d/f && mv /tmp/d/f /tmp/d/g && "
	    "ln -s g /tmp/d/l && cat /tmp/d/l && ln /tmp/d/g /tmp/d/h && rm /tmp/d/g /tmp/d/h "
	    "/tmp/d/l && rmdir /tmp/d && ls /etc && echo WORKED; cat /etc/secret; "
	    "rm /etc/secret; mv /etc/secret /tmp/s; stat /etc/secret; exit 4";
	need_runtime(runtime);
	agent_dirs(&a);
	snprintf(audit, sizeof(audit), "%s/audit.jsonl", a.dir);
	snprintf(p, sizeof(p), "%s/hide-secret.policy", a.pol);
	write_file(p, "default allow\nhide /etc/secret\n");
	const char *const args[] = {"--default-policy", "hide-secret", "--audit", audit, NULL};
	agent_spawn(&a, -1, args);
	json_object *prof = contrib_profile("contrib/seccomp-profile.json");
	json_object_object_add(prof, "listenerPath", json_object_new_string(a.sock));
	json_object_object_del(prof, "listenerMetadata"); /* the default: hide-secret */

	snprintf(id, sizeof(id), "sbt-contrib-%s-%d", runtime, (int)getpid());
	snprintf(p, sizeof(p), "%s/%s", a.dir, id);
	ASSERT_EQ(mkdir(p, 0755), 0);
	bundle_make(&b, p);
	/* bundle_config's layout, with the profile's seccomp section in place of its own. */
	bundle_config(&b, script, a.sock, NULL, NULL);
	json_object *cfg = json_tokener_parse(read_file(b.config)), *linux_;
	ASSERT_TRUE(cfg && json_object_object_get_ex(cfg, "linux", &linux_));
	json_object_object_add(linux_, "seccomp", prof);
	ASSERT_EQ(json_object_to_file(b.config, cfg), 0);
	json_object_put(cfg);

	snprintf(root, sizeof(root), "%s/%s-root", a.dir, runtime);
	mkdir(root, 0700);
	const char *run[] = {"run", "--bundle", b.dir, id, NULL};
	char *argv[32];
	runtime_argv(runtime, root, argv, ELEMENTSOF(argv), run);
	int r = run_argv(argv, rt_out, sizeof(rt_out), 30);
	if (r != 4 || !strstr(rt_out, "x\nx\n") || !strstr(rt_out, "hostname\nWORKED\n") ||
	    !strstr(rt_out, "cat: can't open '/etc/secret': No such file or directory") ||
	    !strstr(rt_out, "rm: can't remove '/etc/secret': No such file or directory") ||
	    !strstr(rt_out, "mv: can't rename '/etc/secret': No such file or directory") ||
	    !strstr(rt_out, "stat: can't stat '/etc/secret': No such file or directory") ||
	    !strstr(rt_out, "hostname\n") || strstr(rt_out, "\nsecret\n"))
		tap_fail(__FILE__, __LINE__, "%s exited %d:\n%s\nagent:\n%s", runtime, r, rt_out,
			 agent_log(&a));
	wait_log(&a, "exited", 1, 5000);
	wait_baseline(&a);
	const char *log = read_file(audit);
	if (strstr(log, "ENOSYS") || !strstr(log, "\"syscall\":\"unlink\"") ||
	    !strstr(log, "\"syscall\":\"rename\""))
		tap_fail(__FILE__, __LINE__, "audit:\n%s", log);
	snprintf(p, sizeof(p), "%s/etc/secret", b.rootfs);
	ASSERT_EQ(access(p, F_OK), 0);
	agent_stop(&a, true);
	rm_rf(a.dir);
}

TEST_TIMEOUT(runc_with_contrib_profile, 120)
{
	runtime_contrib_profile("runc");
}

TEST_TIMEOUT(crun_with_contrib_profile, 120)
{
	runtime_contrib_profile("crun");
}

/* Bad command lines: exit 125 with one line on stderr (no root needed). */
TEST(agent_bad_options_one_line)
{
	static const char *const bad[] = {
	    "agent --bogus",
	    "agent --socket",
	    "agent",
	    "agent --socket /nonexistent-dir/x.sock",
	    "agent --socket /tmp/x.sock --default-policy ../etc",
	    "agent --socket /tmp/x.sock extra",
	};
	for (unsigned i = 0; i < ELEMENTSOF(bad); i++) {
		char cmd[1024], out[4096];
		snprintf(cmd, sizeof(cmd), "%s %s 2>&1 >/dev/null; echo \"rc=$?\"", sysbroker(),
			 bad[i]);
		FILE *f = popen(cmd, "r");
		ASSERT_TRUE(f);
		size_t n = fread(out, 1, sizeof(out) - 1, f);
		out[n] = 0;
		pclose(f);
		if (count_str(out, "\n") != 2 || !strstr(out, "sysbroker: agent: ") ||
		    !strstr(out, "rc=125\n"))
			tap_fail(__FILE__, __LINE__, "'%s' gave:\n%s", bad[i], out);
	}
}
