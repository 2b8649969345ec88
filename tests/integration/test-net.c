/* Integration tests of the network rules, net-broker and publish: real clients and servers
 * (Python, busybox, curl, and this binary re-executed for the cases a script cannot pace)
 * under the real binary, each compared with the same run natively where that says more. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runcmd.h"
#include "tap.h"

static char out[1 << 16], err[1 << 16];
static char dir[64], helper[512];
static int port[4]; /* tcp_ok tcp_no udp_ok udp_no of the helper's servers */
static pid_t server;

#define sh(...) run_shf(out, sizeof(out), err, sizeof(err), __VA_ARGS__)

/* Keeps a copy of out before the next command overwrites it. */
static void keep(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);
	memcpy(dst, src, n);
	dst[n] = 0;
}

/* A test that passed leaves nothing behind; a failed one keeps its directory to look at.
 * (Thousands of leftovers in /tmp slow down whatever lists it.) */
static void clean(void)
{
	sh("rm -rf %s", test_tmpdir());
}

static void need_python(void)
{
	if (access("/usr/bin/python3", X_OK))
		tap_skip("no /usr/bin/python3");
	const char *src = getenv("SB_SRCDIR");
	if (!src)
		tap_skip("SB_SRCDIR not set (run through meson test)");
	snprintf(helper, sizeof(helper), "/usr/bin/python3 %s/tests/integration/nethelp.py", src);
}

/* Can we make a network namespace here (unshare-net needs the privilege)? */
static void need_netns(void)
{
	if (sh("unshare -n true") != 0)
		tap_skip("cannot create a network namespace here");
}

/* Waits for a file the helper writes when it is ready (it is another process). */
static void wait_file(const char *path)
{
	for (int i = 0; i < 1000 && access(path, F_OK); i++)
		usleep(10000);
	ASSERT_EQ(access(path, F_OK), 0);
}

static void start_server(void)
{
	need_python();
	snprintf(dir, sizeof(dir), "%s", test_tmpdir());
	chmod(dir, 0755); /* the clients may run as nobody */
	ASSERT_EQ(sh("%s serve %s >%s/serve.log 2>&1 &", helper, dir, dir), 0);
	char p[128];
	snprintf(p, sizeof(p), "%s/ready", dir);
	wait_file(p);
	snprintf(p, sizeof(p), "%s/ports", dir);
	FILE *f = fopen(p, "r");
	ASSERT_TRUE(f);
	ASSERT_EQ(fscanf(f, "%d %d %d %d", &port[0], &port[1], &port[2], &port[3]), 4);
	fclose(f);
	snprintf(p, sizeof(p), "%s/pid", dir);
	f = fopen(p, "r");
	ASSERT_TRUE(f);
	ASSERT_EQ(fscanf(f, "%d", &server), 1);
	fclose(f);
}

static void stop_server(void)
{
	if (server > 0)
		kill(server, SIGKILL);
}

/* The policy that allows the *_ok servers and nothing else. */
static const char *allow_ok_policy(void)
{
	static char p[1024];
	snprintf(p, sizeof(p),
		 "--net-default deny --net-allow 127.0.0.1:%d --net-allow 127.0.0.1:%d "
		 "--net-allow unix:%s/ok.sock --net-allow unix:%s/dg.sock",
		 port[0], port[2], dir, dir);
	return p;
}

static const char *client_ops(void)
{
	static char c[1024];
	snprintf(c, sizeof(c),
		 "tcp 127.0.0.1 %d tcp 127.0.0.1 %d udp 127.0.0.1 %d udp 127.0.0.1 %d "
		 "udpconn 127.0.0.1 %d udpconn 127.0.0.1 %d unix %s/ok.sock unix %s/no.sock "
		 "unix %s/link.sock unixdg %s/dg.sock pid",
		 port[0], port[1], port[2], port[3], port[2], port[3], dir, dir, dir, dir);
	return c;
}

TEST_TIMEOUT(tcp_udp_unix_allowed_and_denied, 60)
{
	start_server();
	/* As nobody: the servers see the client's own uid through SO_PEERCRED and
	 * SCM_CREDENTIALS, never the supervisor's root. */
	const char *as = "setpriv --reuid 65534 --regid 65534 --clear-groups";
	ASSERT_EQ(sh("%s %s client %s", as, helper, client_ops()), 0);
	char expect_native[2048];
	snprintf(
	    expect_native, sizeof(expect_native),
	    "ok hi %d\nok hi %d\nok re x\nok re x\nok re y\nok re y\n"
	    "ok uid=65534 gid=65534\nok uid=65534 gid=65534\nok uid=65534 gid=65534\nok sent\n",
	    port[0], port[1]);
	if (strncmp(out, expect_native, strlen(expect_native)))
		tap_fail(__FILE__, __LINE__, "control (native) got:\n%s", out);

	ASSERT_EQ(sh("%s run %s -- %s %s client %s", sysbroker_bin(), allow_ok_policy(), as, helper,
		     client_ops()),
		  0);
	char expect[2048];
	snprintf(expect, sizeof(expect),
		 "ok hi %d\nerr EACCES\nok re x\nerr EACCES\nok re y\nerr EACCES\n"
		 "ok uid=65534 gid=65534\nerr EACCES\nerr EACCES\nok sent\n",
		 port[0]);
	if (strncmp(out, expect, strlen(expect)))
		tap_fail(__FILE__, __LINE__, "under sysbroker got:\n%s\nstderr: %s", out, err);
	/* The datagram reached the server with the program's pid and uid. */
	int pid = 0;
	const char *p = strstr(out, "pid ");
	ASSERT_TRUE(p && sscanf(p, "pid %d", &pid) == 1);
	char want[128];
	snprintf(want, sizeof(want), "dg m%d pid=%d uid=65534 gid=65534", pid, pid);
	char logp[128];
	snprintf(logp, sizeof(logp), "%s/log", dir);
	for (int i = 0; i < 500; i++) {
		ASSERT_EQ(sh("cat %s", logp), 0);
		if (strstr(out, want))
			break;
		usleep(10000);
	}
	stop_server();
	if (!strstr(out, want))
		tap_fail(__FILE__, __LINE__, "no '%s' in the server's log:\n%s", want, out);
	clean();
}

TEST_TIMEOUT(audit_lines_carry_addr_and_rule, 60)
{
	start_server();
	ASSERT_EQ(
	    sh("%s run --audit %s/audit.jsonl %s -- %s client tcp 127.0.0.1 %d tcp 127.0.0.1 %d "
	       "unix %s/link.sock",
	       sysbroker_bin(), dir, allow_ok_policy(), helper, port[0], port[1], dir),
	    0);
	stop_server();
	ASSERT_EQ(sh("grep '\"syscall\":\"connect\"' %s/audit.jsonl", dir), 0);
	/* --audit is cli:1, --net-default cli:2: the allowed server's rule is cli:3. Python's
	 * socket with a timeout is non-blocking: its connect says EINPROGRESS, allowed. */
	char a[256], b[256], c[256];
	snprintf(a, sizeof(a),
		 "\"addr\":\"127.0.0.1:%d\",\"action\":\"allow\",\"errno\":\"EINPROGRESS\","
		 "\"result\":-1,\"rule\":\"cli:3\"",
		 port[0]);
	snprintf(b, sizeof(b),
		 "\"addr\":\"127.0.0.1:%d\",\"action\":\"deny\",\"errno\":\"EACCES\",\"result\":-1,"
		 "\"rule\":\"default\"",
		 port[1]);
	/* A unix path shows where it led: the symlink's target, judged there. */
	snprintf(c, sizeof(c), "\"addr\":\"unix:%s/no.sock\",\"action\":\"deny\"", dir);
	if (!strstr(out, a) || !strstr(out, b) || !strstr(out, c))
		tap_fail(__FILE__, __LINE__, "audit lines:\n%s", out);
	clean();
}

TEST_TIMEOUT(bind_rules, 60)
{
	need_python();
	snprintf(dir, sizeof(dir), "%s", test_tmpdir());
	ASSERT_EQ(sh("mkdir -p %s/pub %s/priv", dir, dir), 0);
	/* Ports the kernel picks are allowed, one range is not; a unix directory is not. */
	ASSERT_EQ(
	    sh("%s run --bind-deny 127.0.0.1:40000-40999 --bind-deny unix:%s/priv -- %s client "
	       "bind 127.0.0.1 40123 bind 127.0.0.1 0 bindunix %s/pub/s bindunix %s/priv/s",
	       sysbroker_bin(), dir, helper, dir, dir),
	    0);
	ASSERT_STREQ(out, "err EACCES\nok bound True\nok True True\nerr EACCES False\n");
	ASSERT_EQ(access(strcat(strcpy(err, dir), "/priv/s"), F_OK), -1);
	clean();
}

TEST_TIMEOUT(check_shows_net_rules_and_errors, 30)
{
	snprintf(dir, sizeof(dir), "%s", test_tmpdir());
	ASSERT_EQ(
	    sh("printf 'net-default deny\\nnet-allow 10.0.0.0/8:443\\nnet-allow [::1]:8000-8999\\n"
	       "net-deny *:25\\nnet-allow unix:/run/**\\nnet-allow unix:@dbus*\\nbind-allow any\\n"
	       "unshare-net\\nnet-broker\\npublish 8080:80\\n' > %s/n.policy && %s check "
	       "%s/n.policy",
	       dir, sysbroker_bin(), dir),
	    0);
	char want[1024];
	snprintf(want, sizeof(want),
		 "%s/n.policy:1: net-default deny\n%s/n.policy:2: net-allow 10.0.0.0/8:443\n"
		 "%s/n.policy:3: net-allow [::1]:8000-8999\n",
		 dir, dir, dir);
	if (strncmp(out, want, strlen(want)) || !strstr(out, ":10: publish 127.0.0.1:8080:80"))
		tap_fail(__FILE__, __LINE__, "check printed:\n%s", out);
	ASSERT_EQ(sh("printf 'net-allow 127.0.0.1:80\\nnet-deny 10.1.2.3/40\\n' > %s/b.policy && "
		     "%s check %s/b.policy",
		     dir, sysbroker_bin(), dir),
		  125);
	if (!strstr(err, "b.policy:2: net-deny: bad address '10.1.2.3/40'"))
		tap_fail(__FILE__, __LINE__, "error was: %s", err);
	clean();
}

/* ---- unshare-net ---- */

TEST_TIMEOUT(unshare_net_has_its_own_loopback_up, 60)
{
	need_netns();
	start_server();
	/* A server and its client inside, over both loopback addresses; the servers outside on
	 * the host's 127.0.0.1, and any other address, out of reach. */
	char ops[256];
	snprintf(
	    ops, sizeof(ops),
	    "echo 127.0.0.1 0 echo ::1 0 tcp 127.0.0.1 %d udpconn 127.0.0.1 %d tcp 192.0.2.1 80",
	    port[0], port[2]);
	/* Control: unshare -n alone leaves loopback down. */
	ASSERT_EQ(sh("unshare -n %s client %s", helper, ops), 0);
	if (strstr(out, "ok"))
		tap_fail(__FILE__, __LINE__, "unshare -n got:\n%s", out);
	ASSERT_EQ(sh("%s run --unshare-net -- %s client %s", sysbroker_bin(), helper, ops), 0);
	ASSERT_STREQ(out, "ok echo hello\nok echo hello\nerr ECONNREFUSED\nerr ECONNREFUSED\n"
			  "err ENETUNREACH\n");
	/* With a net rule every connect is emulated, on the program's socket in its namespace. */
	ASSERT_EQ(sh("%s run --unshare-net --net-deny 192.0.2.1 -- %s client %s", sysbroker_bin(),
		     helper, ops),
		  0);
	stop_server();
	ASSERT_STREQ(out, "ok echo hello\nok echo hello\nerr ECONNREFUSED\nerr ECONNREFUSED\n"
			  "err EACCES\n");
	clean();
}

TEST_TIMEOUT(publish_and_broker_need_unshare_net, 60)
{
	const char *t = test_tmpdir();
	/* Refused before anything runs, naming the rule: without a namespace of its own the
	 * program would share ours and nothing would be published or brokered. */
	ASSERT_EQ(sh("%s run --publish 18080 -- touch %s/ran", sysbroker_bin(), t), 125);
	ASSERT_STREQ(err, "sysbroker: cli:1: publish needs unshare-net (a network namespace of "
			  "the program's own)\n");
	ASSERT_EQ(sh("%s run --audit /dev/null --net-broker -- touch %s/ran", sysbroker_bin(), t),
		  125);
	ASSERT_STREQ(err, "sysbroker: cli:2: net-broker needs unshare-net (a network namespace "
			  "of the program's own)\n");
	ASSERT_NE(sh("test -e %s/ran", t), 0);
	/* From a policy file: FILE:LINE. */
	ASSERT_EQ(
	    sh("printf '# a server\\nnet-default allow\\npublish 18080:80\\n' > %s/p.policy", t),
	    0);
	ASSERT_EQ(sh("%s run --policy %s/p.policy -- true", sysbroker_bin(), t), 125);
	char want[256];
	snprintf(want, sizeof(want), "sysbroker: %s/p.policy:3: publish needs unshare-net", t);
	if (strncmp(err, want, strlen(want)))
		tap_fail(__FILE__, __LINE__, "error was: %s", err);
	/* The file is still a valid policy: a container under the agent has a namespace of
	 * its own. */
	ASSERT_EQ(sh("%s check %s/p.policy", sysbroker_bin(), t), 0);
	/* unshare-net anywhere, after the rule or from another file, is what they need. */
	need_netns();
	ASSERT_EQ(
	    sh("%s run --policy %s/p.policy --unshare-net -- touch %s/ran", sysbroker_bin(), t, t),
	    0);
	ASSERT_EQ(sh("printf 'unshare-net\\n' > %s/u.policy && %s run --net-broker --policy "
		     "%s/u.policy -- true",
		     t, sysbroker_bin(), t),
		  0);
	ASSERT_EQ(sh("test -e %s/ran", t), 0);
	clean();
}

/* ---- net-broker ---- */

TEST_TIMEOUT(broker_client_reaches_allowed_server_only, 60)
{
	need_netns();
	start_server();
	char ops[256];
	snprintf(ops, sizeof(ops), "tcp 127.0.0.1 %d tcp 127.0.0.1 %d udpconn 127.0.0.1 %d",
		 port[0], port[1], port[2]);
	/* Control: in an empty namespace the servers are out of reach (its own loopback has
	 * nobody on their ports). */
	ASSERT_EQ(sh("%s run --unshare-net -- %s client %s", sysbroker_bin(), helper, ops), 0);
	ASSERT_STREQ(out, "err ECONNREFUSED\nerr ECONNREFUSED\nerr ECONNREFUSED\n");
	ASSERT_EQ(sh("%s run --unshare-net --net-broker %s -- %s client %s", sysbroker_bin(),
		     allow_ok_policy(), helper, ops),
		  0);
	char want[256];
	snprintf(want, sizeof(want), "ok hi %d\nerr EACCES\nok re y\n", port[0]);
	ASSERT_STREQ(out, want);
	/* busybox, a static binary with its own resolver and sockets, gets the same. */
	if (access("/bin/busybox", X_OK) == 0) {
		ASSERT_EQ(
		    sh("%s run --unshare-net --net-broker %s -- busybox nc 127.0.0.1 %d </dev/null",
		       sysbroker_bin(), allow_ok_policy(), port[0]),
		    0);
		snprintf(want, sizeof(want), "hi %d\n", port[0]);
		ASSERT_STREQ(out, want);
		ASSERT_NE(
		    sh("%s run --unshare-net --net-broker %s -- busybox nc 127.0.0.1 %d </dev/null",
		       sysbroker_bin(), allow_ok_policy(), port[1]),
		    0);
	}
	stop_server();
	clean();
}

/* ---- publish ---- */

/* A TCP port on 127.0.0.1 free right now (the kernel's pick, released). */
static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(a);
	ASSERT_EQ(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ASSERT_EQ(getsockname(fd, (struct sockaddr *)&a, &l), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* Retries until the published server answers (it starts in the background). */
static int fetch(const char *url)
{
	for (int i = 0; i < 300; i++) {
		if (sh("/usr/bin/python3 -c 'import urllib.request,sys; "
		       "sys.stdout.write(urllib.request.urlopen(\"%s\", "
		       "timeout=5).read().decode())'",
		       url) == 0)
			return 0;
		usleep(20000);
	}
	return -1;
}

TEST_TIMEOUT(http_server_in_empty_namespace_published, 60)
{
	need_python();
	need_netns();
	const char *t = test_tmpdir();
	ASSERT_EQ(sh("mkdir -p %s/www && echo 'published page' > %s/www/index.html", t, t), 0);
	int p = free_port();
	ASSERT_EQ(sh("%s run --unshare-net --publish %d:8000 -- /usr/bin/python3 -m http.server -d "
		     "%s/www 8000 >%s/http.log 2>&1 & echo $! > %s/sb.pid",
		     sysbroker_bin(), p, t, t, t),
		  0);
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/index.html", p);
	int k = fetch(url);
	char got[256];
	keep(got, sizeof(got), out);
	/* Three more, one of them with curl if it is there. */
	int more = 0;
	for (int i = 0; i < 2 && k == 0; i++)
		more += fetch(url) == 0 && !strcmp(out, "published page\n");
	if (access("/usr/bin/curl", X_OK) == 0)
		more += sh("curl -s -m 10 %s", url) == 0 && !strcmp(out, "published page\n");
	else
		more++;
	sh("kill $(cat %s/sb.pid)", t);
	ASSERT_EQ(k, 0);
	ASSERT_STREQ(got, "published page\n");
	ASSERT_EQ(more, 3);
	/* Natively the port is not there: the program's 8000 is inside its namespace. */
	ASSERT_NE(sh("curl -s -m 2 http://127.0.0.1:8000/ || exit 1"), 0);
	clean();
}

TEST_TIMEOUT(example_net_policies, 60)
{
	need_python();
	need_netns();
	const char *src = getenv("SB_SRCDIR"), *t = test_tmpdir();
	char eg[512], ps[512];
	snprintf(eg, sizeof(eg), "%s/examples/egress-allowlist.policy", src);
	snprintf(ps, sizeof(ps), "%s/examples/published-server.policy", src);
	ASSERT_EQ(sh("%s check %s %s", sysbroker_bin(), eg, ps), 0);
	/* The allowlist, in a namespace of the test's own where the listed ports are ours: the
	 * proxy's is reachable; another port, a send to one and a bind elsewhere are not. */
	ASSERT_EQ(sh("%s run --unshare-net --policy %s -- %s client echo 127.0.0.1 3128 echo "
		     "127.0.0.1 8000 udp 127.0.0.1 9 bind 192.0.2.1 0",
		     sysbroker_bin(), eg, helper),
		  0);
	ASSERT_STREQ(out, "ok echo hello\nerr EACCES\nerr EACCES\nerr EACCES\n");
	/* The published server as written, on a free port instead of 8080. */
	int p = free_port();
	ASSERT_EQ(sh("sed 's/:8080:/:%d:/' %s > %s/pub.policy && mkdir %s/www && echo page > "
		     "%s/www/index.html",
		     p, ps, t, t, t),
		  0);
	ASSERT_EQ(sh("%s run --policy %s/pub.policy -- /usr/bin/python3 -m http.server -d %s/www "
		     "8000 >%s/http.log 2>&1 & echo $! > %s/sb.pid",
		     sysbroker_bin(), t, t, t, t),
		  0);
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/index.html", p);
	int k = fetch(url);
	char got[256];
	keep(got, sizeof(got), out);
	sh("kill $(cat %s/sb.pid)", t);
	ASSERT_EQ(k, 0);
	ASSERT_STREQ(got, "page\n");
	clean();
}

TEST_TIMEOUT(event_loop_server_serves_concurrent_clients, 60)
{
	need_python();
	need_netns();
	const char *t = test_tmpdir();
	int p = free_port();
	/* The server answers nobody until all 8 clients are connected at once: it gets there
	 * only if every connection waiting outside shows up on its listener's readiness. */
	ASSERT_EQ(sh("%s run --unshare-net --publish %d:9000 -- %s barrier 9000 8 %s/ready "
		     ">%s/b.log 2>&1 & echo $! > %s/sb.pid",
		     sysbroker_bin(), p, helper, t, t, t),
		  0);
	char ready[128];
	snprintf(ready, sizeof(ready), "%s/ready", t);
	wait_file(ready);
	int k = sh("%s barrier-clients %d 8", helper, p);
	char got[256];
	keep(got, sizeof(got), out);
	if (k)
		printf("# clients: %s\n", err);
	sh("kill $(cat %s/sb.pid)", t);
	ASSERT_EQ(k, 0);
	ASSERT_STREQ(got, "answers 8 all-together True each-own True\n");
	clean();
}

/* Runs a helper server under --unshare-net --publish and N clients from outside at once,
 * then M more one after the other; returns the clients' answers. */
static void publish_clients(const char *prog, int n, int m, char *ret, size_t size)
{
	need_python();
	need_netns();
	const char *t = test_tmpdir();
	int p = free_port();
	ASSERT_EQ(sh("%s run --unshare-net --publish %d:9000 -- %s %s 9000 %d %s/ready "
		     ">%s/s.log 2>&1 & echo $! > %s/sb.pid",
		     sysbroker_bin(), p, helper, prog, n + m, t, t, t),
		  0);
	char ready[128];
	snprintf(ready, sizeof(ready), "%s/ready", t);
	wait_file(ready);
	char all[512] = "";
	int k = sh("%s many %d %d", helper, p, n);
	size_t used = strlen(all);
	keep(all + used, sizeof(all) - used, out);
	for (int i = 0; i < m && k == 0; i++) {
		k = sh("%s many %d 1", helper, p);
		used = strlen(all);
		keep(all + used, sizeof(all) - used, out);
	}
	/* The server exits after n + m: sysbroker with it. */
	int rc = sh("pid=$(cat %s/sb.pid); while kill -0 $pid 2>/dev/null; do sleep 0.02; done", t);
	keep(ret, size, all);
	ASSERT_EQ(k, 0);
	ASSERT_EQ(rc, 0);
}

TEST_TIMEOUT(published_blocking_accept, 60)
{
	char got[512];
	publish_clients("accept-server", 3, 2, got, sizeof(got));
	ASSERT_STREQ(got, "hi=3\nhi=1\nhi=1\n");
	clean();
}

TEST_TIMEOUT(published_edge_triggered_epoll, 60)
{
	char got[512];
	publish_clients("et-server", 4, 2, got, sizeof(got));
	ASSERT_STREQ(got, "et=4\net=1\net=1\n");
	clean();
}

TEST_TIMEOUT(published_server_reached_from_inside_too, 60)
{
	/* A client inside the namespace connects to the server there (loopback is up): its
	 * connection is the program's own and is accepted as it is, beside outside ones. */
	need_python();
	need_netns();
	const char *t = test_tmpdir();
	int p = free_port();
	ASSERT_EQ(
	    sh("%s run --unshare-net --publish %d:9000 -- sh -c '%s accept-server 9000 3 %s/ready "
	       "& "
	       "while [ ! -e %s/ready ]; do sleep 0.02; done; %s many 9000 1 > %s/inside; wait' "
	       ">%s/s.log 2>&1 & echo $! > %s/sb.pid",
	       sysbroker_bin(), p, helper, t, t, helper, t, t, t),
	    0);
	char path[128];
	snprintf(path, sizeof(path), "%s/inside", t);
	wait_file(path);
	char got[256] = "";
	int k = sh("%s many %d 2", helper, p);
	keep(got, sizeof(got), out);
	int rc = sh("pid=$(cat %s/sb.pid); while kill -0 $pid 2>/dev/null; do sleep 0.02; done; "
		    "cat %s/inside",
		    t, t);
	ASSERT_EQ(k, 0);
	ASSERT_EQ(rc, 0);
	ASSERT_STREQ(got, "hi=2\n");
	ASSERT_STREQ(out, "hi=1\n");
	clean();
}

/* ---- the cases a script cannot pace: this binary as the program (SB_CHILD=mode) ---- */

static atomic_int blocked_result = 1, blocked_tid;
static int sigpipes;

static void on_sigpipe(int sig)
{
	sigpipes++;
}
static int blocked_errno;
static struct sockaddr_in full_addr;

static void on_usr1(int sig)
{
}

static void *blocked_connect(void *arg)
{
	atomic_store(&blocked_tid, gettid());
	int s = socket(AF_INET, SOCK_STREAM, 0);
	int r = connect(s, (struct sockaddr *)&full_addr, sizeof(full_addr));
	blocked_errno = errno;
	atomic_store(&blocked_result, r);
	return NULL;
}

/* Connected sends (send(2) is sendto without an address) and sends with an address. */
static int sends(const struct sockaddr_in *ok)
{
	struct sockaddr_in no = *ok;
	no.sin_port = htons(atoi(getenv("SB_DENIED")));
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	int r = connect(u, (const struct sockaddr *)ok, sizeof(*ok));
	printf("connect %s\n", r == 0 ? "0" : strerrorname_np(errno));
	int n = 0;
	for (int i = 0; i < 50; i++)
		n += send(u, "c", 1, 0) == 1;
	printf("connected sends %d\n", n);
	struct iovec iov = {"m", 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	printf("sendmsg without name %d\n", (int)sendmsg(u, &mh, 0));
	int v = socket(AF_INET, SOCK_DGRAM, 0);
	r = (int)sendto(v, "a", 1, 0, (const struct sockaddr *)ok, sizeof(*ok));
	printf("sendto allowed %s\n", r == 1 ? "1" : strerrorname_np(errno));
	r = (int)sendto(v, "d", 1, 0, (struct sockaddr *)&no, sizeof(no));
	printf("sendto denied %s\n", r == 1 ? "1" : strerrorname_np(errno));
	return 0;
}

/* ---- hold: calls that block in the supervisor, and others that must still be served ---- */

#define HOLD_ACCEPTS 10
#define HOLD_CONNECTS 10

static int hold_listener, hold_full_fd;
static struct sockaddr_in hold_full;
static atomic_int hold_tids[HOLD_ACCEPTS + HOLD_CONNECTS], hold_returned;

static void *hold_accept(void *arg)
{
	atomic_store(&hold_tids[(intptr_t)arg], gettid());
	accept(hold_listener, NULL, NULL); /* nobody ever connects */
	atomic_fetch_add(&hold_returned, 1);
	return NULL;
}

static void *hold_connect(void *arg)
{
	atomic_store(&hold_tids[(intptr_t)arg], gettid());
	int s = socket(AF_INET, SOCK_STREAM, 0);
	connect(s, (struct sockaddr *)&hold_full, sizeof(hold_full)); /* its SYNs are dropped */
	atomic_fetch_add(&hold_returned, 1);
	return NULL;
}

static void on_winch(int sig)
{
}

/*
 * Is the thread's call received by the supervisor, and so holding the worker that received
 * it until it answers? Under WAIT_KILLABLE_RECV a signal wakes the waiting thread: before
 * the RECV the call is restarted (SA_RESTART) and notified again; after it, the thread goes
 * back to wait in TASK_KILLABLE, "D", with the signal pending. SIGWINCH is one the
 * supervisor lets wait for its answer rather than ending the call with EINTR.
 */
static bool held(pid_t tid)
{
	syscall(SYS_tgkill, getpid(), tid, SIGWINCH);
	usleep(1000);
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	long nr = strtol(buf, NULL, 10);
	if (nr != 42 && nr != 43 && nr != 288) /* connect, accept, accept4 */
		return false;
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	const char *st = strrchr(buf, ')');
	return st && st[1] == ' ' && st[2] == 'D';
}

/*
 * HOLD_ACCEPTS threads in accept on a published port nobody connects to and HOLD_CONNECTS in
 * connect to a listener whose queue is full: every one of them holds a worker of the
 * supervisor. Then 100 opens and 100 connects, all emulated, must still be served.
 */
static int hold(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(9000)};
	hold_listener = socket(AF_INET, SOCK_STREAM, 0);
	if (bind(hold_listener, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(hold_listener, 16) < 0)
		return printf("published listener: %s\n", strerrorname_np(errno)), 1;
	/* A listener with a queue of one, filled: the kernel drops further SYNs. */
	int full = socket(AF_INET, SOCK_STREAM, 0);
	hold_full =
	    (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(hold_full);
	bind(full, (struct sockaddr *)&hold_full, sizeof(hold_full));
	listen(full, 0);
	getsockname(full, (struct sockaddr *)&hold_full, &al);
	hold_full_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(hold_full_fd, (struct sockaddr *)&hold_full, sizeof(hold_full)) < 0)
		return printf("filling connect: %s\n", strerrorname_np(errno)), 1;
	struct pollfd pf = {full, POLLIN, 0};
	poll(&pf, 1, -1); /* in the queue now: it is full */

	struct sigaction sa = {.sa_handler = on_winch, .sa_flags = SA_RESTART};
	sigaction(SIGWINCH, &sa, NULL);
	pthread_t th;
	for (intptr_t i = 0; i < HOLD_ACCEPTS + HOLD_CONNECTS; i++)
		pthread_create(&th, NULL, i < HOLD_ACCEPTS ? hold_accept : hold_connect, (void *)i);
	for (int i = 0; i < HOLD_ACCEPTS + HOLD_CONNECTS; i++) {
		while (!atomic_load(&hold_tids[i]) || !held(atomic_load(&hold_tids[i])))
			usleep(2000);
	}
	printf("held %d returned %d\n", HOLD_ACCEPTS + HOLD_CONNECTS, atomic_load(&hold_returned));

	int other = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in oa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	al = sizeof(oa);
	bind(other, (struct sockaddr *)&oa, sizeof(oa));
	listen(other, 128);
	getsockname(other, (struct sockaddr *)&oa, &al);
	int opens = 0, connects = 0;
	for (int i = 0; i < 100; i++) {
		int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		opens += fd >= 0;
		close(fd);
		int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		connects += connect(c, (struct sockaddr *)&oa, sizeof(oa)) == 0;
		close(c);
		int s = accept4(other, NULL, NULL, SOCK_CLOEXEC);
		close(s);
	}
	printf("opens %d connects %d returned %d\n", opens, connects, atomic_load(&hold_returned));
	fflush(stdout);
	_exit(0); /* the held calls end with the process */
}

/* Prints one line per case; the test compares native and supervised runs. */
static int child_main(const char *mode)
{
	int p_ok = atoi(getenv("SB_PORT"));
	struct sockaddr_in ok = {.sin_family = AF_INET,
				 .sin_port = htons(p_ok),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (!strcmp(mode, "nonblock")) {
		/* Non-blocking: EINPROGRESS (or at once), then writable and SO_ERROR 0. */
		int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		int r = connect(s, (struct sockaddr *)&ok, sizeof(ok));
		printf("connect %s\n", r == 0 ? "0" : strerrorname_np(errno));
		struct pollfd pf = {s, POLLOUT, 0};
		poll(&pf, 1, 10000);
		int e = -1;
		socklen_t l = sizeof(e);
		getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &l);
		printf("writable %d so_error %d\n", !!(pf.revents & POLLOUT), e);
		r = connect(s, (struct sockaddr *)&ok, sizeof(ok));
		printf("again %s\n", r == 0 ? "0" : strerrorname_np(errno));
		printf("flags nonblock %d\n", !!(fcntl(s, F_GETFL) & O_NONBLOCK));
		/* A closed port: refused, by the call or through SO_ERROR. */
		struct sockaddr_in closed = ok;
		closed.sin_port = htons(atoi(getenv("SB_CLOSED")));
		int c = socket(AF_INET, SOCK_STREAM, 0);
		r = connect(c, (struct sockaddr *)&closed, sizeof(closed));
		printf("blocking closed %s\n", r == 0 ? "0" : strerrorname_np(errno));
		/* UDP: connect, disconnect with AF_UNSPEC, then no peer. */
		int u = socket(AF_INET, SOCK_DGRAM, 0);
		connect(u, (struct sockaddr *)&ok, sizeof(ok));
		struct sockaddr unspec = {.sa_family = AF_UNSPEC};
		r = connect(u, &unspec, sizeof(unspec));
		printf("unspec %s\n", r == 0 ? "0" : strerrorname_np(errno));
		struct sockaddr_in peer;
		l = sizeof(peer);
		r = getpeername(u, (struct sockaddr *)&peer, &l);
		printf("peer after unspec %s\n", r == 0 ? "0" : strerrorname_np(errno));
		/* Bad arguments fail as the kernel fails them. */
		r = connect(u, (struct sockaddr *)&ok, 3);
		printf("short %s\n", r == 0 ? "0" : strerrorname_np(errno));
		r = connect(u, (struct sockaddr *)8, sizeof(ok));
		printf("fault %s\n", r == 0 ? "0" : strerrorname_np(errno));
		r = connect(1000, (struct sockaddr *)&ok, sizeof(ok));
		printf("badfd %s\n", r == 0 ? "0" : strerrorname_np(errno));
		r = connect(0, (struct sockaddr *)&ok, sizeof(ok));
		printf("notsock %s\n", r == 0 ? "0" : strerrorname_np(errno));
		r = (int)sendto(u, "x", 1, MSG_NOSIGNAL, (struct sockaddr *)&ok, sizeof(ok));
		printf("sendto %d\n", r);
		/* TCP Fast Open: sendto with an address connects and sends. */
		int fo = socket(AF_INET, SOCK_STREAM, 0);
		r = (int)sendto(fo, "q", 1, MSG_FASTOPEN, (struct sockaddr *)&ok, sizeof(ok));
		printf("fastopen %s\n", r >= 0 ? "sent" : strerrorname_np(errno));
		char reply[64];
		ssize_t got = recv(fo, reply, sizeof(reply) - 1, MSG_WAITALL);
		reply[got > 0 ? got : 0] = 0;
		printf("fastopen reply %s", reply);
		/* SCM_RIGHTS: the fd arrives; the receiver's SO_PASSCRED shows the sender. */
		int sp[2], pp[2];
		socketpair(AF_UNIX, SOCK_DGRAM, 0, sp);
		int on = 1;
		setsockopt(sp[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on));
		(void)!pipe(pp);
		(void)!write(pp[1], "fd!", 3);
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} ctl = {0};
		struct iovec one = {"r", 1};
		struct msghdr rm = {.msg_iov = &one,
				    .msg_iovlen = 1,
				    .msg_control = ctl.buf,
				    .msg_controllen = sizeof(ctl.buf)};
		struct cmsghdr *cm = CMSG_FIRSTHDR(&rm);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &pp[0], sizeof(int));
		r = (int)sendmsg(sp[0], &rm, 0);
		union {
			char buf[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct ucred))];
			struct cmsghdr align;
		} in = {0};
		char c1;
		struct iovec iv = {&c1, 1};
		struct msghdr im = {.msg_iov = &iv,
				    .msg_iovlen = 1,
				    .msg_control = in.buf,
				    .msg_controllen = sizeof(in.buf)};
		recvmsg(sp[1], &im, 0);
		char fdtext[8] = "";
		int creds_self = 0;
		for (cm = CMSG_FIRSTHDR(&im); cm; cm = CMSG_NXTHDR(&im, cm)) {
			if (cm->cmsg_type == SCM_RIGHTS) {
				int passed;
				memcpy(&passed, CMSG_DATA(cm), sizeof(passed));
				(void)!read(passed, fdtext, 3);
			} else if (cm->cmsg_type == SCM_CREDENTIALS) {
				struct ucred uc;
				memcpy(&uc, CMSG_DATA(cm), sizeof(uc));
				creds_self =
				    uc.pid == getpid() && uc.uid == getuid() && uc.gid == getgid();
			}
		}
		printf("rights %d %s creds self %d\n", r, fdtext, creds_self);
		/* An empty SCM_RIGHTS is no error. */
		cm = CMSG_FIRSTHDR(&rm);
		cm->cmsg_len = CMSG_LEN(0);
		rm.msg_controllen = CMSG_SPACE(0);
		r = (int)sendmsg(sp[0], &rm, 0);
		printf("empty rights %s\n", r >= 0 ? "sent" : strerrorname_np(errno));
		/* EPIPE comes with SIGPIPE to the caller, unless MSG_NOSIGNAL. */
		int sv[2];
		socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
		close(sv[1]);
		struct sigaction sa = {.sa_handler = on_sigpipe};
		sigaction(SIGPIPE, &sa, NULL);
		struct iovec iov = {"z", 1};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
		r = (int)sendmsg(sv[0], &mh, 0);
		printf("epipe %s sigpipes %d\n", r >= 0 ? "sent" : strerrorname_np(errno),
		       sigpipes);
		r = (int)sendmsg(sv[0], &mh, MSG_NOSIGNAL);
		printf("epipe %s sigpipes %d\n", r >= 0 ? "sent" : strerrorname_np(errno),
		       sigpipes);
		return 0;
	}
	if (!strcmp(mode, "opts")) {
		/* What the program set before connect, and how its fd is, after it. */
		int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int one = 1, idle = 77, rcv = 65536, tos = 0x10;
		struct timeval tv = {5, 0};
		setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
		setsockopt(s, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
		setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
		setsockopt(s, IPPROTO_IP, IP_TOS, &tos, sizeof(tos));
		setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		fcntl(s, F_SETFL, O_NONBLOCK);
		int r = connect(s, (struct sockaddr *)&ok, sizeof(ok));
		printf("connect %s\n", r == 0 ? "0" : strerrorname_np(errno));
		struct pollfd pf = {s, POLLOUT, 0};
		poll(&pf, 1, 10000);
		int v[5];
		socklen_t l;
		int opts[5][2] = {{IPPROTO_TCP, TCP_NODELAY},
				  {SOL_SOCKET, SO_KEEPALIVE},
				  {IPPROTO_TCP, TCP_KEEPIDLE},
				  {SOL_SOCKET, SO_RCVBUF},
				  {IPPROTO_IP, IP_TOS}};
		for (int i = 0; i < 5; i++) {
			l = sizeof(v[i]);
			getsockopt(s, opts[i][0], opts[i][1], &v[i], &l);
		}
		l = sizeof(tv);
		getsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, &l);
		printf("nodelay %d keepalive %d keepidle %d rcvbuf %d tos %d sndtimeo %ld\n", v[0],
		       v[1], v[2], v[3], v[4], (long)tv.tv_sec);
		printf("nonblock %d cloexec %d\n", !!(fcntl(s, F_GETFL) & O_NONBLOCK),
		       !!(fcntl(s, F_GETFD) & FD_CLOEXEC));
		struct sockaddr_in peer;
		l = sizeof(peer);
		getpeername(s, (struct sockaddr *)&peer, &l);
		printf("peer port ok %d\n", ntohs(peer.sin_port) == p_ok);
		/* A blocking one without close-on-exec stays so. */
		int b = socket(AF_INET, SOCK_STREAM, 0);
		r = connect(b, (struct sockaddr *)&ok, sizeof(ok));
		printf("blocking connect %s nonblock %d cloexec %d\n",
		       r == 0 ? "0" : strerrorname_np(errno), !!(fcntl(b, F_GETFL) & O_NONBLOCK),
		       !!(fcntl(b, F_GETFD) & FD_CLOEXEC));
		char reply[64];
		ssize_t got = recv(b, reply, sizeof(reply) - 1, MSG_WAITALL);
		reply[got > 0 ? got : 0] = 0;
		printf("reply %s", reply);
		return 0;
	}
	if (!strcmp(mode, "blocking")) {
		/*
		 * A listener whose queue is full drops new SYNs: a connect to it blocks. Meanwhile
		 * another connect must go through (nothing stalls), and a handled signal must end
		 * the blocked one with EINTR, as natively.
		 */
		struct sigaction sa = {.sa_handler = on_usr1}; /* no SA_RESTART */
		sigaction(SIGUSR1, &sa, NULL);
		int l = socket(AF_INET, SOCK_STREAM, 0);
		full_addr = (struct sockaddr_in){.sin_family = AF_INET,
						 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		socklen_t al = sizeof(full_addr);
		bind(l, (struct sockaddr *)&full_addr, sizeof(full_addr));
		listen(l, 0);
		getsockname(l, (struct sockaddr *)&full_addr, &al);
		int f1 = socket(AF_INET, SOCK_STREAM, 0);
		connect(f1, (struct sockaddr *)&full_addr, sizeof(full_addr));
		pthread_t th;
		pthread_create(&th, NULL, blocked_connect, NULL);
		/* Wait until its thread is in the call (natively or waiting for us: the same
		 * syscall number in /proc either way). */
		while (!atomic_load(&blocked_tid))
			sched_yield();
		char path[64], sc[64];
		snprintf(path, sizeof(path), "/proc/self/task/%d/syscall",
			 atomic_load(&blocked_tid));
		for (;;) {
			int fd = open(path, O_RDONLY);
			ssize_t k = read(fd, sc, sizeof(sc) - 1);
			close(fd);
			if (k > 3 && !strncmp(sc, "42 ", 3))
				break;
			usleep(1000);
		}
		int s = socket(AF_INET, SOCK_STREAM, 0);
		int r = connect(s, (struct sockaddr *)&ok, sizeof(ok));
		printf("other connect meanwhile %s\n", r == 0 ? "0" : strerrorname_np(errno));
		printf("still blocked %d\n", atomic_load(&blocked_result) == 1);
		/* Until it returns: a signal that lands before the call is handled and lost. */
		while (atomic_load(&blocked_result) == 1) {
			pthread_kill(th, SIGUSR1);
			usleep(10000);
		}
		pthread_join(th, NULL);
		printf("blocked connect %s\n",
		       blocked_result == 0 ? "0" : strerrorname_np(blocked_errno));
		return 0;
	}
	if (!strcmp(mode, "sends"))
		return sends(&ok);
	if (!strcmp(mode, "hold"))
		return hold();
	return 99;
}

__attribute__((constructor)) static void maybe_child(void)
{
	const char *mode = getenv("SB_CHILD");
	if (!mode)
		return;
	int rc = child_main(mode);
	fflush(stdout);
	_exit(rc);
}

/* Runs this binary as the program natively, then under `sysbroker run ARGS`; the two
 * outputs must be the same. */
static void same_as_native(const char *mode, const char *args, const char *env)
{
	char self[512], native[8192];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	ASSERT_TRUE(n > 0);
	self[n] = 0;
	ASSERT_EQ(sh("SB_CHILD=%s %s %s", mode, env, self), 0);
	keep(native, sizeof(native), out);
	ASSERT_EQ(sh("SB_CHILD=%s %s %s run %s -- %s", mode, env, sysbroker_bin(), args, self), 0);
	if (strcmp(native, out))
		tap_fail(__FILE__, __LINE__, "native:\n%s\nunder sysbroker:\n%s\nstderr: %s",
			 native, out, err);
	/* TAP: every line of the output as a comment. */
	for (const char *l = out; *l;) {
		size_t len = strcspn(l, "\n");
		printf("# %.*s\n", (int)len, l);
		l += len + (l[len] == '\n');
	}
}

TEST_TIMEOUT(socket_semantics_same_as_native, 60)
{
	start_server();
	char env[128], args[256];
	snprintf(env, sizeof(env), "SB_PORT=%d SB_CLOSED=%d", port[0], free_port());
	/* A rule (on nothing used here) so that every call is emulated. */
	snprintf(args, sizeof(args), "--net-deny 192.0.2.1");
	same_as_native("nonblock", args, env);
	stop_server();
	clean();
}

TEST_TIMEOUT(broker_keeps_options_and_flags, 60)
{
	/* Natively on the host, and from an empty namespace through the broker: the same. */
	need_netns();
	start_server();
	char env[128];
	snprintf(env, sizeof(env), "SB_PORT=%d", port[0]);
	same_as_native("opts", "--unshare-net --net-broker", env);
	stop_server();
	clean();
}

TEST_TIMEOUT(connected_send_is_native_sendto_with_an_address_decided, 60)
{
	start_server();
	char env[128];
	snprintf(env, sizeof(env), "SB_CHILD=sends SB_PORT=%d SB_DENIED=%d", port[2], port[3]);
	char self[512];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	ASSERT_TRUE(n > 0);
	self[n] = 0;
	ASSERT_EQ(
	    sh("%s %s run --audit %s/a.jsonl --net-default deny --net-allow 127.0.0.1:%d -- %s",
	       env, sysbroker_bin(), dir, port[2], self),
	    0);
	stop_server();
	ASSERT_STREQ(out, "connect 0\nconnected sends 50\nsendmsg without name 1\n"
			  "sendto allowed 1\nsendto denied EACCES\n");
	/*
	 * One audit line per notified call. The 50 send() calls have none: the filter leaves a
	 * sendto without an address to the kernel. Both sendto calls with an address were
	 * notified and decided; sendmsg is always notified (its address is behind a pointer).
	 */
	ASSERT_EQ(sh("grep -c '\"syscall\":\"sendto\"' %s/a.jsonl", dir), 0);
	ASSERT_STREQ(out, "2\n");
	char a[256], b[256];
	snprintf(a, sizeof(a),
		 "\"syscall\":\"sendto\",\"addr\":\"127.0.0.1:%d\",\"action\":\"allow\","
		 "\"result\":1,\"rule\":\"cli:3\"",
		 port[2]);
	snprintf(b, sizeof(b),
		 "\"syscall\":\"sendto\",\"addr\":\"127.0.0.1:%d\",\"action\":\"deny\","
		 "\"errno\":\"EACCES\"",
		 port[3]);
	ASSERT_EQ(sh("cat %s/a.jsonl", dir), 0);
	if (!strstr(out, a) || !strstr(out, b))
		tap_fail(__FILE__, __LINE__, "audit lines:\n%s", out);
	ASSERT_EQ(sh("grep -c '\"syscall\":\"sendmsg\"' %s/a.jsonl", dir), 0);
	ASSERT_STREQ(out, "1\n");
	clean();
}

TEST_TIMEOUT(twenty_blocked_calls_stall_no_other_request, 60)
{
	/* 10 accepts on a published port and 10 connects that never complete, each holding a
	 * worker; 100 opens and 100 connects of another thread meanwhile (fs and net rules make
	 * every one emulated). A pool that ran out would leave them waiting: a timeout. */
	need_netns();
	char self[512];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	ASSERT_TRUE(n > 0);
	self[n] = 0;
	ASSERT_EQ(sh("SB_CHILD=hold SB_PORT=0 %s run --unshare-net --publish %d:9000 --net-deny "
		     "192.0.2.1 --deny /nonexistent -- %s",
		     sysbroker_bin(), free_port(), self),
		  0);
	ASSERT_STREQ(out, "held 20 returned 0\nopens 100 connects 100 returned 0\n");
	clean();
}

TEST_TIMEOUT(blocking_connect_stalls_nothing_and_a_signal_ends_it, 60)
{
	start_server();
	char env[128];
	snprintf(env, sizeof(env), "SB_PORT=%d", port[0]);
	same_as_native("blocking", "--net-deny 192.0.2.1", env);
	stop_server();
	ASSERT_TRUE(
	    strstr(out, "other connect meanwhile 0\nstill blocked 1\nblocked connect EINTR\n"));
	clean();
}
