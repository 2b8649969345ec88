/* Unit tests of policy decisions: last match wins for paths, redirects, addresses, unix sockets,
 * mounts and device nodes. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>

#include "tap.h"

#include "policy/policy-internal.h"

static sb_policy *parse(const char *text)
{
	sb_policy *p = NULL;
	char err[1024] = "";

	ASSERT_EQ(sb_policy_new(&p), 0);
	if (policy_parse_buffer(p, text, strlen(text), "t.policy", err, sizeof(err)) < 0)
		tap_fail(__FILE__, __LINE__, "parse failed: %s", err);
	return p;
}

/* ---- filesystem ---- */

TEST(fs_empty_policy_allows)
{
	sb_policy *p = parse("");
	struct fs_decision d;

	policy_fs_decide(p, "/etc/shadow", &d);
	ASSERT_EQ(d.access, FS_ALLOW);
	ASSERT_TRUE(d.rule == NULL);
	ASSERT_TRUE(policy_fs_is_trivial(p));
	ASSERT_EQ(policy_fs_default(p), FS_ALLOW);
	sb_policy_free(p);
}

TEST(fs_last_match_wins)
{
	sb_policy *p = parse("default deny\n"
			     "allow /usr\n"
			     "deny /usr/bin/su\n"
			     "allow-read /etc\n"
			     "hide /etc/shadow\n"
			     "allow /home\n"
			     "deny /home/*/.ssh\n"
			     "allow /home/*/.ssh/known_hosts\n"
			     "hide **/.env\n");
	static const struct {
		const char *path;
		enum fs_access access;
		unsigned line; /* 0: the default */
	} c[] = {
	    {"/usr/bin/ls", FS_ALLOW, 2},
	    {"/usr", FS_ALLOW, 2},
	    {"/usr/bin/su", FS_DENY, 3},
	    {"/usr/bin/sudo", FS_ALLOW, 2},
	    {"/etc/passwd", FS_ALLOW_READ, 4},
	    {"/etc/shadow", FS_HIDE, 5},
	    {"/etc/shadow-", FS_ALLOW_READ, 4},
	    {"/home/u/.ssh/id_rsa", FS_DENY, 7},
	    {"/home/u/.ssh/known_hosts", FS_ALLOW, 8},
	    {"/home/u/src/.env", FS_HIDE, 9},
	    {"/usr/.env", FS_HIDE, 9},
	    {"/", FS_DENY, 0},
	    {"/root", FS_DENY, 0},
	    {"/us", FS_DENY, 0},
	};
	for (size_t i = 0; i < ELEMENTSOF(c); i++) {
		struct fs_decision d;
		policy_fs_decide(p, c[i].path, &d);
		unsigned line = d.rule ? d.rule->line : 0;
		if (d.access != c[i].access || line != c[i].line)
			tap_fail(__FILE__, __LINE__, "%s: got %d by line %u, want %d by line %u",
				 c[i].path, d.access, line, c[i].access, c[i].line);
	}
	ASSERT_TRUE(!policy_fs_is_trivial(p));
	sb_policy_free(p);
}

TEST(fs_default_last_one_wins)
{
	sb_policy *p = parse("default deny\ndefault allow-read\n");
	struct fs_decision d;

	policy_fs_decide(p, "/x", &d);
	ASSERT_EQ(d.access, FS_ALLOW_READ);
	ASSERT_TRUE(d.rule == NULL);
	ASSERT_TRUE(!policy_fs_is_trivial(p));
	sb_policy_free(p);

	p = parse("default deny\ndefault allow\n");
	ASSERT_TRUE(policy_fs_is_trivial(p));
	sb_policy_free(p);

	/* any fs rule, even one that changes nothing, makes the engine look */
	p = parse("allow /\n");
	ASSERT_TRUE(!policy_fs_is_trivial(p));
	sb_policy_free(p);
	p = parse("redirect /a /b\n");
	ASSERT_TRUE(!policy_fs_is_trivial(p));
	sb_policy_free(p);
	/* net rules do not */
	p = parse("net-deny any\nunshare-net\n");
	ASSERT_TRUE(policy_fs_is_trivial(p));
	sb_policy_free(p);
}

TEST(redirect_mapping)
{
	sb_policy *p = parse("redirect /home/u/.cache /tmp/cache\n"
			     "redirect /a /b\n"
			     "redirect /a/x /c\n"
			     "redirect /root /\n");
	static const struct {
		const char *path, *want; /* NULL: no redirect */
		unsigned line;
	} c[] = {
	    {"/a/x/y", "/c/y", 3},
	    {"/a/x", "/c", 3},
	    {"/a/xy", "/b/xy", 2},
	    {"/a/y/z", "/b/y/z", 2},
	    {"/a", "/b", 2},
	    {"/ab", NULL, 0},
	    {"/", NULL, 0},
	    {"/home/u/.cache/z", "/tmp/cache/z", 1},
	    {"/home/u/.cach", NULL, 0},
	    {"/root", "/", 4},
	    {"/root/x/y", "/x/y", 4},
	};
	for (size_t i = 0; i < ELEMENTSOF(c); i++) {
		char out[64] = "unset";
		const struct policy_rule *r = policy_redirect(p, c[i].path, out, sizeof(out));
		if (!c[i].want) {
			if (r)
				tap_fail(__FILE__, __LINE__, "%s: redirected by line %u", c[i].path,
					 r->line);
			continue;
		}
		if (!r || r->line != c[i].line || strcmp(out, c[i].want))
			tap_fail(__FILE__, __LINE__, "%s: got '%s' by %u, want '%s' by %u",
				 c[i].path, r ? out : "(none)", r ? r->line : 0, c[i].want,
				 c[i].line);
	}

	/* a result that does not fit is "", never a truncated path */
	char small[6] = "unset";
	const struct policy_rule *r = policy_redirect(p, "/a/x/long", small, sizeof(small));
	ASSERT_TRUE(r != NULL);
	ASSERT_STREQ(small, "");
	sb_policy_free(p);

	p = parse("redirect / /newroot\n");
	char out[64];
	ASSERT_TRUE(policy_redirect(p, "/etc/passwd", out, sizeof(out)) != NULL);
	ASSERT_STREQ(out, "/newroot/etc/passwd");
	ASSERT_TRUE(policy_redirect(p, "/", out, sizeof(out)) != NULL);
	ASSERT_STREQ(out, "/newroot");
	sb_policy_free(p);
}

/* ---- network ---- */

static int decide4(const sb_policy *p, enum net_op op, const char *ip, uint16_t port,
		   struct net_decision *d)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
	ASSERT_EQ(inet_pton(AF_INET, ip, &sin.sin_addr), 1);
	return policy_net_decide(p, op, (struct sockaddr *)&sin, sizeof(sin), d);
}

static int decide6(const sb_policy *p, enum net_op op, const char *ip, uint16_t port,
		   struct net_decision *d)
{
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
	ASSERT_EQ(inet_pton(AF_INET6, ip, &sin6.sin6_addr), 1);
	return policy_net_decide(p, op, (struct sockaddr *)&sin6, sizeof(sin6), d);
}

/* "ALLOW:LINE" or "DENY:0" for a decision, to compare in tables. */
static const char *verdict(const struct net_decision *d)
{
	static char buf[32];
	snprintf(buf, sizeof(buf), "%s:%u", d->verdict == NET_ALLOW ? "allow" : "deny",
		 d->rule ? d->rule->line : 0);
	return buf;
}

TEST(net_ip_rules)
{
	sb_policy *p = parse("net-default deny\n"	       /* 1 */
			     "net-allow 10.0.0.0/8:443\n"      /* 2 */
			     "net-allow 127.0.0.1:8000-8999\n" /* 3 */
			     "net-deny 10.1.0.0/16\n"	       /* 4 */
			     "net-allow [::1]:80\n"	       /* 5 */
			     "net-allow [fd00::/8]\n"	       /* 6 */
			     "net-allow *:53\n"		       /* 7 */
			     "net-deny 192.168.1.7\n"	       /* 8 */
			     "net-allow [2001:db8::/32]:22\n"  /* 9 */
			     "bind-allow 0.0.0.0/0:8080\n");   /* 10 */
	static const struct {
		int family;
		const char *ip;
		uint16_t port;
		const char *want;
	} c[] = {
	    {AF_INET, "10.2.3.4", 443, "allow:2"},
	    {AF_INET, "10.2.3.4", 444, "deny:0"},
	    {AF_INET, "10.1.3.4", 443, "deny:4"},
	    {AF_INET, "11.0.0.1", 443, "deny:0"},
	    {AF_INET, "127.0.0.1", 8000, "allow:3"},
	    {AF_INET, "127.0.0.1", 8999, "allow:3"},
	    {AF_INET, "127.0.0.1", 9000, "deny:0"},
	    {AF_INET, "127.0.0.1", 7999, "deny:0"},
	    {AF_INET, "127.0.0.2", 8000, "deny:0"},
	    {AF_INET, "8.8.8.8", 53, "allow:7"},
	    {AF_INET, "192.168.1.7", 53, "deny:8"},
	    {AF_INET, "192.168.1.8", 53, "allow:7"},
	    {AF_INET6, "::1", 80, "allow:5"},
	    {AF_INET6, "::1", 81, "deny:0"},
	    {AF_INET6, "fd12::1", 1, "allow:6"},
	    {AF_INET6, "fe80::1", 1, "deny:0"},
	    {AF_INET6, "2001:4860::8888", 53, "allow:7"},
	    {AF_INET6, "2001:db8:ffff::1", 22, "allow:9"},
	    {AF_INET6, "2001:db9::1", 22, "deny:0"},
	    /* mapped and compatible addresses are judged as the IPv4 address they carry */
	    {AF_INET6, "::ffff:10.2.3.4", 443, "allow:2"},
	    {AF_INET6, "::ffff:10.1.3.4", 443, "deny:4"},
	    {AF_INET6, "::ffff:127.0.0.1", 8080, "allow:3"},
	    {AF_INET6, "::ffff:192.168.1.7", 53, "deny:8"},
	    {AF_INET6, "::10.2.3.4", 443, "allow:2"},
	    {AF_INET6, "::192.168.1.7", 53, "deny:8"},
	    /* ... but :: and ::1 are IPv6 */
	    {AF_INET6, "::", 80, "deny:0"},
	};
	for (size_t i = 0; i < ELEMENTSOF(c); i++) {
		struct net_decision d;
		int r = c[i].family == AF_INET ? decide4(p, NET_CONNECT, c[i].ip, c[i].port, &d)
					       : decide6(p, NET_CONNECT, c[i].ip, c[i].port, &d);
		ASSERT_EQ(r, 0);
		if (strcmp(verdict(&d), c[i].want))
			tap_fail(__FILE__, __LINE__, "connect %s port %u: got %s, want %s", c[i].ip,
				 c[i].port, verdict(&d), c[i].want);
	}

	/* bind rules are separate from connect rules; both use net-default */
	struct net_decision d;
	ASSERT_EQ(decide4(p, NET_BIND, "0.0.0.0", 8080, &d), 0);
	ASSERT_STREQ(verdict(&d), "allow:10");
	ASSERT_EQ(decide4(p, NET_BIND, "10.2.3.4", 443, &d), 0);
	ASSERT_STREQ(verdict(&d), "deny:0");
	ASSERT_EQ(decide6(p, NET_BIND, "::ffff:1.2.3.4", 8080, &d), 0);
	ASSERT_STREQ(verdict(&d), "allow:10");
	ASSERT_EQ(decide6(p, NET_BIND, "::", 8080, &d), 0);
	ASSERT_STREQ(verdict(&d), "deny:0");
	ASSERT_TRUE(!policy_net_is_trivial(p));
	sb_policy_free(p);
}

TEST(net_mapped_cannot_sidestep_deny)
{
	sb_policy *p = parse("net-deny 127.0.0.0/8\nnet-allow [::/0]\n");
	struct net_decision d;

	ASSERT_EQ(decide6(p, NET_CONNECT, "::ffff:127.0.0.1", 80, &d), 0);
	ASSERT_STREQ(verdict(&d), "deny:1");
	ASSERT_EQ(decide6(p, NET_CONNECT, "::127.0.0.1", 80, &d), 0);
	ASSERT_STREQ(verdict(&d), "deny:1");
	ASSERT_EQ(decide6(p, NET_CONNECT, "::1", 80, &d), 0);
	ASSERT_STREQ(verdict(&d), "allow:2");
	sb_policy_free(p);

	/* a rule written as a mapped network is the IPv4 network */
	p = parse("net-default deny\nnet-allow [::ffff:10.0.0.0/104]:22\n");
	ASSERT_EQ(decide4(p, NET_CONNECT, "10.9.9.9", 22, &d), 0);
	ASSERT_STREQ(verdict(&d), "allow:2");
	ASSERT_EQ(decide6(p, NET_CONNECT, "::ffff:10.9.9.9", 22, &d), 0);
	ASSERT_STREQ(verdict(&d), "allow:2");
	ASSERT_EQ(decide4(p, NET_CONNECT, "11.0.0.1", 22, &d), 0);
	ASSERT_STREQ(verdict(&d), "deny:0");
	sb_policy_free(p);
}

TEST(net_any_and_defaults)
{
	sb_policy *p = parse("net-deny any\nnet-allow 1.2.3.4\n");
	struct net_decision d;

	ASSERT_EQ(decide4(p, NET_CONNECT, "1.2.3.4", 1, &d), 0);
	ASSERT_STREQ(verdict(&d), "allow:2");
	ASSERT_EQ(decide4(p, NET_CONNECT, "1.2.3.5", 1, &d), 0);
	ASSERT_STREQ(verdict(&d), "deny:1");
	ASSERT_EQ(decide6(p, NET_CONNECT, "::1", 1, &d), 0);
	ASSERT_STREQ(verdict(&d), "deny:1");
	/* no bind rule: the default (allow) */
	ASSERT_EQ(decide4(p, NET_BIND, "1.2.3.5", 1, &d), 0);
	ASSERT_STREQ(verdict(&d), "allow:0");
	sb_policy_free(p);

	p = parse("");
	ASSERT_TRUE(policy_net_is_trivial(p));
	ASSERT_EQ(policy_net_default(p), NET_ALLOW);
	sb_policy_free(p);
	p = parse("net-default deny\nnet-default allow\nunshare-net\npublish 80\n");
	ASSERT_TRUE(policy_net_is_trivial(p));
	sb_policy_free(p);
	p = parse("net-default deny\n");
	ASSERT_TRUE(!policy_net_is_trivial(p));
	ASSERT_EQ(policy_net_default(p), NET_DENY);
	sb_policy_free(p);
	p = parse("bind-allow any\n");
	ASSERT_TRUE(!policy_net_is_trivial(p));
	sb_policy_free(p);
}

/* What cannot be judged is denied, and the caller learns why. */
TEST(net_bad_sockaddr)
{
	sb_policy *p = parse("");
	struct net_decision d;
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char unaligned[64];

	ASSERT_EQ(policy_net_decide(p, NET_CONNECT, (struct sockaddr *)&sin, sizeof(sin) - 1, &d),
		  -EINVAL);
	ASSERT_EQ(d.verdict, NET_DENY);
	ASSERT_EQ(policy_net_decide(p, NET_CONNECT, (struct sockaddr *)&sin6, 23, &d), -EINVAL);
	ASSERT_EQ(d.verdict, NET_DENY);
	ASSERT_EQ(policy_net_decide(p, NET_CONNECT, (struct sockaddr *)&sun, sizeof(sun), &d),
		  -EAFNOSUPPORT);
	ASSERT_EQ(d.verdict, NET_DENY);
	ASSERT_EQ(policy_net_decide(p, NET_CONNECT, NULL, 0, &d), -EINVAL);
	ASSERT_EQ(policy_net_decide(p, NET_CONNECT, (struct sockaddr *)&sin, 1, &d), -EINVAL);

	/* the RFC 2133 size (no scope id) is accepted, as the kernel does */
	ASSERT_EQ(policy_net_decide(p, NET_CONNECT, (struct sockaddr *)&sin6, 24, &d), 0);
	ASSERT_EQ(d.verdict, NET_ALLOW);
	/* an address at an odd offset in a buffer */
	memcpy(unaligned + 1, &sin, sizeof(sin));
	ASSERT_EQ(
	    policy_net_decide(p, NET_CONNECT, (struct sockaddr *)(unaligned + 1), sizeof(sin), &d),
	    0);
	sb_policy_free(p);
}

TEST(net_unix)
{
	sb_policy *p = parse("net-default deny\n"		  /* 1 */
			     "net-allow unix:/run/*.sock\n"	  /* 2 */
			     "net-deny unix:/run/docker.sock\n"	  /* 3 */
			     "net-allow unix:@dbus-*\n"		  /* 4 */
			     "net-allow unix:@/tmp/.X11-unix/*\n" /* 5 */
			     "net-allow *:53\n"			  /* 6 */
			     "bind-allow unix:/tmp/**\n");	  /* 7 */
	static const struct {
		enum net_op op;
		const char *name;
		bool abstract;
		const char *want;
	} c[] = {
	    {NET_CONNECT, "/run/a.sock", false, "allow:2"},
	    {NET_CONNECT, "/run/docker.sock", false, "deny:3"},
	    {NET_CONNECT, "/run/sub/a.sock", false, "deny:0"},
	    {NET_CONNECT, "/run/a.sock", true, "deny:0"},
	    {NET_CONNECT, "dbus-xyz", true, "allow:4"},
	    {NET_CONNECT, "dbus-xyz", false, "deny:0"},
	    {NET_CONNECT, "/tmp/.X11-unix/X0", true, "allow:5"},
	    {NET_CONNECT, "/tmp/.X11-unix/sub/X0", true, "allow:5"},
	    {NET_CONNECT, "other", true, "deny:0"},
	    {NET_BIND, "/tmp/a/b.sock", false, "allow:7"},
	    {NET_BIND, "/run/a.sock", false, "deny:0"},
	};
	for (size_t i = 0; i < ELEMENTSOF(c); i++) {
		struct net_decision d;
		policy_net_decide_unix(p, c[i].op, c[i].name, c[i].abstract, &d);
		if (strcmp(verdict(&d), c[i].want))
			tap_fail(__FILE__, __LINE__, "%s%s: got %s, want %s",
				 c[i].abstract ? "@" : "", c[i].name, verdict(&d), c[i].want);
	}
	sb_policy_free(p);

	/* any covers unix sockets too */
	p = parse("net-deny any\n");
	struct net_decision d;
	policy_net_decide_unix(p, NET_CONNECT, "/run/x", false, &d);
	ASSERT_STREQ(verdict(&d), "deny:1");
	policy_net_decide_unix(p, NET_CONNECT, "x", true, &d);
	ASSERT_STREQ(verdict(&d), "deny:1");
	sb_policy_free(p);
}

/* ---- mount, mknod, sysinfo ---- */

TEST(mount_rules)
{
	sb_policy *p = parse("allow-mount tmpfs /tmp\n"		      /* 1 */
			     "allow-mount proc /proc ro,suid\n"	      /* 2 */
			     "allow-mount bind /mnt/** dev,noatime\n" /* 3 */
			     "allow-mount tmpfs /tmp/x rw,noexec\n"); /* 4 */
	struct mount_decision d;

	ASSERT_TRUE(policy_mount_allowed(p, "tmpfs", "/tmp/a", 0, &d));
	ASSERT_EQ(d.rule->line, 1);
	ASSERT_EQ(d.add_flags, MS_NOSUID | MS_NODEV);
	ASSERT_EQ(d.remove_flags, 0);
	ASSERT_TRUE(policy_mount_allowed(p, "tmpfs", "/tmp", MS_NOSUID | MS_RDONLY, &d));
	ASSERT_EQ(d.add_flags, MS_NODEV);
	ASSERT_TRUE(policy_mount_allowed(p, "tmpfs", "/tmp/x/y", MS_RDONLY, &d));
	ASSERT_EQ(d.rule->line, 4);
	ASSERT_EQ(d.add_flags, MS_NOSUID | MS_NODEV | MS_NOEXEC);
	/* "rw" waives nothing the program asked for: its MS_RDONLY stays */
	ASSERT_EQ(d.remove_flags, 0);

	ASSERT_TRUE(policy_mount_allowed(p, "proc", "/proc", 0, &d));
	ASSERT_EQ(d.add_flags, MS_RDONLY | MS_NODEV);
	ASSERT_TRUE(policy_mount_allowed(p, "proc", "/proc", MS_NOSUID, &d));
	ASSERT_EQ(d.add_flags, MS_RDONLY | MS_NODEV);
	ASSERT_EQ(d.remove_flags, 0);

	ASSERT_TRUE(
	    policy_mount_allowed(p, "bind", "/mnt/a/b", MS_BIND | MS_REC | MS_RELATIME, &d));
	ASSERT_EQ(d.rule->line, 3);
	ASSERT_EQ(d.add_flags, MS_NOSUID | MS_NOATIME);
	ASSERT_EQ(d.remove_flags, MS_RELATIME);
	ASSERT_TRUE(policy_mount_allowed(p, "bind", "/mnt", MS_BIND, &d));

	ASSERT_TRUE(!policy_mount_allowed(p, "tmpfs", "/var/tmp", 0, &d));
	ASSERT_TRUE(d.rule == NULL);
	ASSERT_TRUE(!policy_mount_allowed(p, "sysfs", "/tmp", 0, &d));
	ASSERT_TRUE(!policy_mount_allowed(p, "tmpfs", "/tmpx", 0, &d));
	ASSERT_TRUE(!policy_mount_allowed(p, "tmpfs", "/tmp", MS_REMOUNT, &d));
	ASSERT_TRUE(!policy_mount_allowed(p, "bind", "/mnt/a", MS_MOVE, &d));
	ASSERT_TRUE(!policy_mount_allowed(p, "tmpfs", "/tmp", MS_SHARED, &d));
	ASSERT_TRUE(!policy_mount_allowed(p, "tmpfs", "/tmp", MS_PRIVATE | MS_REC, &d));
	sb_policy_free(p);
}

TEST(mknod_rules)
{
	sb_policy *p = parse("allow-mknod null zero\n"		 /* 1 */
			     "allow-mknod whiteout null tty\n"); /* 2 */
	const struct policy_rule *r;

	r = policy_mknod_allowed(p, S_IFCHR | 0666, makedev(1, 3));
	ASSERT_TRUE(r && r->line == 2);
	r = policy_mknod_allowed(p, S_IFCHR | 0666, makedev(1, 5));
	ASSERT_TRUE(r && r->line == 1);
	r = policy_mknod_allowed(p, S_IFCHR, makedev(0, 0));
	ASSERT_TRUE(r && r->line == 2);
	r = policy_mknod_allowed(p, S_IFCHR | 0620, makedev(5, 0));
	ASSERT_TRUE(r && r->line == 2);
	ASSERT_TRUE(policy_mknod_allowed(p, S_IFCHR | 0666, makedev(1, 7)) == NULL); /* full */
	ASSERT_TRUE(policy_mknod_allowed(p, S_IFCHR | 0666, makedev(1, 1)) == NULL); /* mem */
	ASSERT_TRUE(policy_mknod_allowed(p, S_IFCHR | 0666, makedev(1, 2)) == NULL); /* kmem */
	ASSERT_TRUE(policy_mknod_allowed(p, S_IFCHR | 0666, makedev(5, 1)) == NULL); /* console */
	ASSERT_TRUE(policy_mknod_allowed(p, S_IFBLK | 0666, makedev(1, 3)) == NULL);
	ASSERT_TRUE(policy_mknod_allowed(p, S_IFBLK | 0666, makedev(0, 0)) == NULL);
	ASSERT_TRUE(policy_mknod_allowed(p, S_IFREG | 0666, makedev(1, 3)) == NULL);
	ASSERT_TRUE(policy_mknod_allowed(p, S_IFIFO | 0666, 0) == NULL);
	sb_policy_free(p);

	p = parse("allow-mknod full random urandom\n");
	ASSERT_TRUE(policy_mknod_allowed(p, S_IFCHR, makedev(1, 7)) != NULL);
	ASSERT_TRUE(policy_mknod_allowed(p, S_IFCHR, makedev(1, 8)) != NULL);
	ASSERT_TRUE(policy_mknod_allowed(p, S_IFCHR, makedev(1, 9)) != NULL);
	ASSERT_TRUE(policy_mknod_allowed(p, S_IFCHR, makedev(1, 3)) == NULL);
	sb_policy_free(p);

	ASSERT_EQ(policy_device_from_name("urandom"), DEV_URANDOM);
	ASSERT_EQ(policy_device_from_name("sda"), -1);
	ASSERT_STREQ(policy_device_name(DEV_WHITEOUT), "whiteout");
	ASSERT_TRUE(policy_device_name(DEV_MAX) == NULL);
}

TEST(sysinfo_rule)
{
	sb_policy *p = parse("deny /x\n");
	ASSERT_TRUE(!policy_sysinfo_cgroup(p));
	sb_policy_free(p);
	p = parse("sysinfo cgroup\n");
	ASSERT_TRUE(policy_sysinfo_cgroup(p));
	sb_policy_free(p);
}

/* Many rules and a deep path stay cheap: the engine decides on every open. */
TEST_TIMEOUT(many_rules, 20)
{
	size_t n = 2000, o = 0;
	char *text = malloc(n * 40);
	for (size_t i = 0; i < n; i++)
		o += sprintf(text + o, "%s /data/**/dir%zu/*.txt\n", i % 2 ? "deny" : "allow", i);
	sb_policy *p = parse(text);
	struct fs_decision d;
	for (int k = 0; k < 200; k++)
		policy_fs_decide(p, "/data/a/b/c/d/e/f/g/h/dir7/x.txt", &d);
	ASSERT_EQ(d.access, FS_DENY);
	ASSERT_EQ(d.rule->line, 8);
	free(text);
	sb_policy_free(p);
}

/* A directory rename moves its subtree: it is allowed only where no object below changes its
 * decision. Each case would let a denied or hidden object out (or in) if answered true. */
TEST(fs_same_below_for_directory_moves)
{
	sb_policy *p = parse("allow /w\n"
			     "deny /w/x/secret\n"
			     "deny /home/*/.ssh\n"
			     "hide **/.env\n"
			     "redirect /w/r/conf /etc/conf\n");
	static const struct {
		const char *a, *b;
		bool same;
	} c[] = {
	    {"/w/a", "/w/b", true},           /* nothing below either is special */
	    {"/w/x", "/w/y", false},          /* /w/x/secret would become /w/y/secret */
	    {"/w/y", "/w/x", false},          /* and the other way round (exchange) */
	    {"/w/x/secret", "/w/s", false},   /* the object itself: decided differently */
	    {"/home/a", "/home/b", true},     /* .ssh stays denied under either name */
	    {"/home/a", "/w/a", false},       /* /home/a/.ssh would become /w/a/.ssh */
	    {"/home", "/w/h", false},         /* a glob below /home */
	    {"/w/a/.env", "/w/b/.env", true}, /* hidden on both sides */
	    {"/w/a/.env", "/w/b/env", false}, /* a hidden object would reappear */
	    {"/w/r", "/w/s", false},          /* a redirect lives below /w/r */
	    {"/w/r/conf/sub", "/w/s", true},  /* below the redirect itself: its rule, not ours */
	    {"/", "/", false},                /* everything is below the root */
	};
	for (size_t i = 0; i < ELEMENTSOF(c); i++)
		if (policy_fs_same_below(p, c[i].a, c[i].b) != c[i].same)
			tap_fail(__FILE__, __LINE__, "%s -> %s: want %s", c[i].a, c[i].b,
				 c[i].same ? "same" : "different");
	sb_policy_free(p);
}
