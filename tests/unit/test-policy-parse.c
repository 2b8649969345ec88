/* Unit tests of the policy parser: every rule, every error message, include, the dump format
 * and its round trip, settings and sb_policy_add. */
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <sys/stat.h>

#include "tap.h"

#include "policy/policy-internal.h"

static sb_policy *new_policy(void)
{
	sb_policy *p = NULL;
	ASSERT_EQ(sb_policy_new(&p), 0);
	return p;
}

/* Parses text as "t.policy" (its directory is "."): returns the dump, fails the test on error. */
static char *dump_of(const char *text)
{
	sb_policy *p = new_policy();
	char err[2048] = "";

	if (policy_parse_buffer(p, text, strlen(text), "t.policy", err, sizeof(err)) < 0)
		tap_fail(__FILE__, __LINE__, "'%s' failed: %s", text, err);
	char *d = sb_policy_dump(p);
	ASSERT_TRUE(d != NULL);
	sb_policy_free(p);
	return d;
}

/* Parses text as "t.policy" expecting an error; returns the message and checks nothing stuck. */
static char *error_of(const char *text, int *ret)
{
	sb_policy *p = new_policy();
	char err[2048] = "";
	int r = policy_parse_buffer(p, text, strlen(text), "t.policy", err, sizeof(err));

	if (r >= 0)
		tap_fail(__FILE__, __LINE__, "'%s' parsed but should not", text);
	ASSERT_EQ(policy_n_rules(p), 0);
	if (ret)
		*ret = r;
	sb_policy_free(p);
	return strdup(err);
}

TEST(every_rule_kind)
{
	static const char text[] = "# every rule once\n"
				   "allow /usr\n"
				   "allow-read /etc/\n"
				   "deny /home/*/.ssh\n"
				   "hide **/.env\n"
				   "redirect /a/ /b//c\n"
				   "default allow-read\n"
				   "net-allow 10.0.0.1/8:443\n"
				   "net-deny 127.0.0.1:8000-8999\n"
				   "bind-allow [::1]:80\n"
				   "bind-deny [fd00::1/8]\n"
				   "net-allow *:53\n"
				   "net-allow *:0-65535\n"
				   "net-allow unix:/run//*.sock\n"
				   "net-deny unix:@dbus*\n"
				   "net-allow any\n"
				   "net-allow 10.1.2.3:0-65535\n"
				   "net-allow 10.1.2.3:80-80\n"
				   "net-deny [::ffff:10.0.0.0/104]:22\n"
				   "net-deny [::ffff:1.2.3.4]\n"
				   "net-deny [::]\n"
				   "net-default deny\n"
				   "unshare-net\n"
				   "net-broker\n"
				   "publish 8080\n"
				   "publish 8081:81\n"
				   "publish 0.0.0.0:8443:443\n"
				   "publish [::1]:9000:90\n"
				   "publish [::]:9001\n"
				   "audit -\n"
				   "learn learned.policy\n"
				   "stdout /tmp/out\n"
				   "stderr \"/tmp/err log\"\n"
				   "allow-mount tmpfs /tmp\n"
				   "allow-mount proc /proc ro,suid\n"
				   "allow-mount fuse.sshfs /mnt/** nosuid,nodev,noatime\n"
				   "allow-mknod whiteout null null zero full random urandom tty\n"
				   "sysinfo cgroup\n";
	static const char want[] =
	    "t.policy:2: allow /usr\n"
	    "t.policy:3: allow-read /etc\n"
	    "t.policy:4: deny /home/*/.ssh\n"
	    "t.policy:5: hide /**/.env\n"
	    "t.policy:6: redirect /a /b/c\n"
	    "t.policy:7: default allow-read\n"
	    "t.policy:8: net-allow 10.0.0.0/8:443\n"
	    "t.policy:9: net-deny 127.0.0.1:8000-8999\n"
	    "t.policy:10: bind-allow [::1]:80\n"
	    "t.policy:11: bind-deny [fd00::/8]\n"
	    "t.policy:12: net-allow *:53\n"
	    "t.policy:13: net-allow *:0-65535\n"
	    "t.policy:14: net-allow unix:/run/*.sock\n"
	    "t.policy:15: net-deny unix:@dbus*\n"
	    "t.policy:16: net-allow any\n"
	    "t.policy:17: net-allow 10.1.2.3\n"
	    "t.policy:18: net-allow 10.1.2.3:80\n"
	    "t.policy:19: net-deny 10.0.0.0/8:22\n"
	    "t.policy:20: net-deny 1.2.3.4\n"
	    "t.policy:21: net-deny [::]\n"
	    "t.policy:22: net-default deny\n"
	    "t.policy:23: unshare-net\n"
	    "t.policy:24: net-broker\n"
	    "t.policy:25: publish 127.0.0.1:8080:8080\n"
	    "t.policy:26: publish 127.0.0.1:8081:81\n"
	    "t.policy:27: publish 0.0.0.0:8443:443\n"
	    "t.policy:28: publish [::1]:9000:90\n"
	    "t.policy:29: publish [::]:9001:9001\n"
	    "t.policy:30: audit -\n"
	    "t.policy:31: learn learned.policy\n"
	    "t.policy:32: stdout /tmp/out\n"
	    "t.policy:33: stderr \"/tmp/err log\"\n"
	    "t.policy:34: allow-mount tmpfs /tmp\n"
	    "t.policy:35: allow-mount proc /proc ro,suid\n"
	    "t.policy:36: allow-mount fuse.sshfs /mnt/** nosuid,nodev,noatime\n"
	    "t.policy:37: allow-mknod null zero full random urandom tty whiteout\n"
	    "t.policy:38: sysinfo cgroup\n";
	char *d = dump_of(text);
	ASSERT_STREQ(d, want);
	free(d);
}

TEST(empty_policy_dumps_empty)
{
	char *d = dump_of("\n# nothing\n\n");
	ASSERT_STREQ(d, "");
	free(d);
}

static const struct {
	const char *text, *want;
} error_cases[] = {
    {"frobnicate /x", "t.policy:1: unknown rule 'frobnicate'"},
    {"Deny /x", "t.policy:1: unknown rule 'Deny'"},
    {"\"\" /x", "t.policy:1: unknown rule ''"},
    {"deny", "t.policy:1: deny: wrong number of arguments (usage: deny PATTERN)"},
    {"deny /a /b", "t.policy:1: deny: wrong number of arguments (usage: deny PATTERN)"},
    {"allow", "t.policy:1: allow: wrong number of arguments (usage: allow PATTERN)"},
    {"allow-read", "t.policy:1: allow-read: wrong number of arguments (usage: allow-read PATTERN)"},
    {"hide", "t.policy:1: hide: wrong number of arguments (usage: hide PATTERN)"},
    {"deny a/b", "t.policy:1: deny: pattern 'a/b' must be absolute (start with / or **)"},
    {"allow ~/x", "t.policy:1: allow: pattern '~/x' must be absolute (start with / or **)"},
    {"deny /a/../b", "t.policy:1: deny: pattern '/a/../b' must not contain '..'"},
    {"hide /a[b", "t.policy:1: hide: pattern '/a[b': unterminated '['"},
    {"deny /[z-a]", "t.policy:1: deny: pattern '/[z-a]': reversed range in '[...]'"},
    {"deny \"\"", "t.policy:1: deny: empty pattern"},
    {"redirect /a", "t.policy:1: redirect: wrong number of arguments (usage: redirect FROM TO)"},
    {"redirect /a/* /b", "t.policy:1: redirect: path '/a/*' must be literal (no * ? [ characters)"},
    {"redirect /a /b?", "t.policy:1: redirect: path '/b?' must be literal (no * ? [ characters)"},
    {"redirect a /b", "t.policy:1: redirect: path 'a' must be absolute (start with /)"},
    {"redirect /a/.. /b", "t.policy:1: redirect: path '/a/..' must not contain '..'"},
    {"default",
     "t.policy:1: default: wrong number of arguments (usage: default allow|allow-read|deny)"},
    {"default hide", "t.policy:1: default: expected allow, allow-read or deny, not 'hide'"},
    {"net-default maybe", "t.policy:1: net-default: expected allow or deny, not 'maybe'"},
    {"net-default allow-read", "t.policy:1: net-default: expected allow or deny, not 'allow-read'"},
    {"net-allow", "t.policy:1: net-allow: wrong number of arguments (usage: net-allow ADDR)"},
    {"net-allow \"\"", "t.policy:1: net-allow: bad address '': empty address"},
    {"net-allow example.com:443",
     "t.policy:1: net-allow: bad address 'example.com:443': 'example.com' is not an IPv4 "
     "address (host names are not looked up)"},
    {"net-allow 10.0.0", "t.policy:1: net-allow: bad address '10.0.0': '10.0.0' is not an "
			 "IPv4 address (host names are not looked up)"},
    {"net-allow 010.0.0.1", "t.policy:1: net-allow: bad address '010.0.0.1': '010.0.0.1' is "
			    "not an IPv4 address (host names are not looked up)"},
    {"net-deny 10.0.0.0/33",
     "t.policy:1: net-deny: bad address '10.0.0.0/33': bad prefix length '/33' (0-32)"},
    {"net-deny 10.0.0.0/",
     "t.policy:1: net-deny: bad address '10.0.0.0/': bad prefix length '/' (0-32)"},
    {"net-deny 10.0.0.0/-1",
     "t.policy:1: net-deny: bad address '10.0.0.0/-1': bad prefix length '/-1' (0-32)"},
    {"bind-allow 10.0.0.1:70000",
     "t.policy:1: bind-allow: bad address '10.0.0.1:70000': bad port '70000' (0-65535)"},
    {"bind-allow 10.0.0.1:+80",
     "t.policy:1: bind-allow: bad address '10.0.0.1:+80': bad port '+80' (0-65535)"},
    {"bind-deny 10.0.0.1:9000-8000",
     "t.policy:1: bind-deny: bad address '10.0.0.1:9000-8000': port range '9000-8000' is reversed"},
    {"bind-deny 10.0.0.1:80-x", "t.policy:1: bind-deny: bad address '10.0.0.1:80-x': bad port "
				"range '80-x' (PORT-PORT, 0-65535)"},
    {"bind-deny 10.0.0.1:80-", "t.policy:1: bind-deny: bad address '10.0.0.1:80-': bad port range "
			       "'80-' (PORT-PORT, 0-65535)"},
    {"net-allow 10.0.0.1:",
     "t.policy:1: net-allow: bad address '10.0.0.1:': missing port after ':'"},
    {"net-allow :80", "t.policy:1: net-allow: bad address ':80': missing IP address"},
    {"net-allow ::1",
     "t.policy:1: net-allow: bad address '::1': IPv6 addresses go in brackets, as in [::1]:80"},
    {"net-allow [::1", "t.policy:1: net-allow: bad address '[::1': missing ']'"},
    {"net-allow [::1]x", "t.policy:1: net-allow: bad address '[::1]x': expected ':PORT' after ']'"},
    {"net-allow [::1]:", "t.policy:1: net-allow: bad address '[::1]:': missing port after ':'"},
    {"net-allow []", "t.policy:1: net-allow: bad address '[]': missing IP address"},
    {"net-allow [fe80::1%eth0]",
     "t.policy:1: net-allow: bad address '[fe80::1%eth0]': zone indexes ('%') are not supported"},
    {"net-allow [::1/129]",
     "t.policy:1: net-allow: bad address '[::1/129]': bad prefix length '/129' (0-128)"},
    {"net-allow [1.2.3.4]",
     "t.policy:1: net-allow: bad address '[1.2.3.4]': '1.2.3.4' is not an IPv6 address"},
    {"net-allow *", "t.policy:1: net-allow: bad address '*': '*' needs a port, as in *:443 (every "
		    "address is 'any')"},
    {"net-allow *:", "t.policy:1: net-allow: bad address '*:': missing port after ':'"},
    {"net-allow unix:", "t.policy:1: net-allow: bad address 'unix:': empty pattern"},
    {"net-allow unix:run/x", "t.policy:1: net-allow: bad address 'unix:run/x': pattern 'run/x' "
			     "must be absolute (start with / or **)"},
    {"net-allow unix:@", "t.policy:1: net-allow: bad address 'unix:@': empty abstract socket name"},
    {"net-allow unix:@[x", "t.policy:1: net-allow: bad address 'unix:@[x': unterminated '['"},
    {"net-allow ANY", "t.policy:1: net-allow: bad address 'ANY': 'ANY' is not an IPv4 address "
		      "(host names are not looked up)"},
    {"unshare-net now", "t.policy:1: unshare-net: wrong number of arguments (usage: unshare-net)"},
    {"net-broker yes", "t.policy:1: net-broker: wrong number of arguments (usage: net-broker)"},
    {"publish",
     "t.policy:1: publish: wrong number of arguments (usage: publish [HOST:]PORT[:INNERPORT])"},
    {"publish 0", "t.policy:1: publish: bad '0': bad port '0' (1-65535)"},
    {"publish 8080:0", "t.policy:1: publish: bad '8080:0': bad port '0' (1-65535)"},
    {"publish 65536", "t.policy:1: publish: bad '65536': bad port '65536' (1-65535)"},
    {"publish http", "t.policy:1: publish: bad 'http': bad port 'http' (1-65535)"},
    {"publish localhost:80", "t.policy:1: publish: bad 'localhost:80': 'localhost' is not an IPv4 "
			     "address (host names are not looked up)"},
    {"publish ::1:80:90",
     "t.policy:1: publish: bad '::1:80:90': IPv6 hosts go in brackets, as in [::1]:8080:80"},
    {"publish 80:90:100", "t.policy:1: publish: bad '80:90:100': too many ':' in '80:90:100'"},
    {"publish 1.2.3.4:80:90:100",
     "t.policy:1: publish: bad '1.2.3.4:80:90:100': too many ':' in '80:90:100'"},
    {"publish [::1]80", "t.policy:1: publish: bad '[::1]80': expected ':PORT' after ']'"},
    {"publish [::1", "t.policy:1: publish: bad '[::1': missing ']'"},
    {"publish [1.2.3.4]:80",
     "t.policy:1: publish: bad '[1.2.3.4]:80': '1.2.3.4' is not an IPv6 address"},
    {"publish 8080\npublish 127.0.0.1:8080:80",
     "t.policy:2: publish: port 8080 is already published at t.policy:1"},
    {"audit", "t.policy:1: audit: wrong number of arguments (usage: audit FILE|-)"},
    {"audit \"\"", "t.policy:1: audit: empty file name"},
    {"learn -", "t.policy:1: learn: needs a file name ('-' is for audit only)"},
    {"stdout -", "t.policy:1: stdout: needs a file name ('-' is for audit only)"},
    {"stderr a b", "t.policy:1: stderr: wrong number of arguments (usage: stderr FILE)"},
    {"allow-mount tmpfs", "t.policy:1: allow-mount: wrong number of arguments (usage: allow-mount "
			  "FSTYPE TARGET-PATTERN [OPTION,...])"},
    {"allow-mount tmpfs /a ro b", "t.policy:1: allow-mount: wrong number of arguments (usage: "
				  "allow-mount FSTYPE TARGET-PATTERN [OPTION,...])"},
    {"allow-mount tmp/fs /x", "t.policy:1: allow-mount: bad filesystem type 'tmp/fs'"},
    /* arguments are checked in order: the target before the options */
    {"allow-mount tmpfs x bogus",
     "t.policy:1: allow-mount: pattern 'x' must be absolute (start with / or **)"},
    {"allow-mount tmpfs x",
     "t.policy:1: allow-mount: pattern 'x' must be absolute (start with / or **)"},
    {"allow-mount tmpfs /x size=10m",
     "t.policy:1: allow-mount: unknown mount option 'size=10m' (known: ro rw nosuid suid nodev dev "
     "noexec exec nosymfollow symfollow sync async dirsync relatime noatime strictatime nodiratime "
     "lazytime)"},
    {"allow-mount tmpfs /x ro,rw", "t.policy:1: allow-mount: conflicting mount options in 'ro,rw'"},
    {"allow-mount tmpfs /x nosuid,suid",
     "t.policy:1: allow-mount: conflicting mount options in 'nosuid,suid'"},
    {"allow-mount tmpfs /x relatime,noatime",
     "t.policy:1: allow-mount: conflicting mount options in 'relatime,noatime'"},
    {"allow-mount tmpfs /x ro,", "t.policy:1: allow-mount: empty mount option in 'ro,'"},
    {"allow-mount tmpfs /x ,ro", "t.policy:1: allow-mount: empty mount option in ',ro'"},
    {"allow-mknod",
     "t.policy:1: allow-mknod: wrong number of arguments (usage: allow-mknod DEVICE...)"},
    {"allow-mknod null sda", "t.policy:1: allow-mknod: unknown device 'sda' (known: null zero full "
			     "random urandom tty whiteout)"},
    {"allow-mknod mem", "t.policy:1: allow-mknod: unknown device 'mem' (known: null zero full "
			"random urandom tty whiteout)"},
    {"sysinfo", "t.policy:1: sysinfo: wrong number of arguments (usage: sysinfo cgroup)"},
    {"sysinfo host", "t.policy:1: sysinfo: expected cgroup, not 'host'"},
    {"include", "t.policy:1: include: wrong number of arguments (usage: include FILE)"},
    {"include a b", "t.policy:1: include: wrong number of arguments (usage: include FILE)"},
    {"include \"\"", "t.policy:1: include: empty file name"},
    /* the first error stops the parse, and the line number is the offending line's */
    {"deny /a\n\n# c\nallow x\ndeny y",
     "t.policy:4: allow: pattern 'x' must be absolute (start with / or **)"},
};

TEST(every_error_message)
{
	for (size_t i = 0; i < ELEMENTSOF(error_cases); i++) {
		int r;
		char *got = error_of(error_cases[i].text, &r);
		if (strcmp(got, error_cases[i].want))
			tap_fail(__FILE__, __LINE__, "case %zu '%s':\n#  got '%s'\n# want '%s'", i,
				 error_cases[i].text, got, error_cases[i].want);
		ASSERT_EQ(r, -EINVAL);
		free(got);
	}
}

TEST(pattern_too_long_message)
{
	char text[POLICY_PATH_MAX + 16];
	int n = snprintf(text, sizeof(text), "deny /");
	memset(text + n, 'a', POLICY_PATH_MAX);
	text[n + POLICY_PATH_MAX] = 0;
	char *got = error_of(text, NULL);
	ASSERT_STREQ(got, "t.policy:1: deny: pattern too long (more than 4095 bytes)");
	free(got);
}

/* Rules are kept; a failing parse appends nothing, even after good lines. */
TEST(failed_parse_appends_nothing)
{
	sb_policy *p = new_policy();
	char err[256];
	const char *good = "deny /a\n", *bad = "deny /b\ndeny /c\nbogus\n";

	ASSERT_EQ(policy_parse_buffer(p, good, strlen(good), "a.policy", err, sizeof(err)), 0);
	ASSERT_EQ(policy_parse_buffer(p, bad, strlen(bad), "b.policy", err, sizeof(err)), -EINVAL);
	ASSERT_STREQ(err, "b.policy:3: unknown rule 'bogus'");
	char *d = sb_policy_dump(p);
	ASSERT_STREQ(d, "a.policy:1: deny /a\n");
	free(d);
	sb_policy_free(p);
}

TEST(dump_quotes_what_needs_it)
{
	char *d = dump_of("deny \"/a b/#x\\\"y\\\\z\"\n"
			  "deny /back\\slash\n"
			  "deny \"/tab\there\"\n"
			  "redirect \"/with space\" /plain\n"
			  "net-allow \"unix:/run/my socket\"\n"
			  "net-allow \"unix:@name with#hash\"\n"
			  "allow-mount tmpfs \"/mnt/a b\"\n");
	ASSERT_STREQ(d, "t.policy:1: deny \"/a b/#x\\\"y\\\\z\"\n"
			"t.policy:2: deny /back\\slash\n"
			"t.policy:3: deny \"/tab\there\"\n"
			"t.policy:4: redirect \"/with space\" /plain\n"
			"t.policy:5: net-allow \"unix:/run/my socket\"\n"
			"t.policy:6: net-allow \"unix:@name with#hash\"\n"
			"t.policy:7: allow-mount tmpfs \"/mnt/a b\"\n");
	free(d);
}

/* Reads a dump back, line by line with each line's own origin, and dumps again. */
static char *reparse_dump(const char *dump)
{
	sb_policy *p = new_policy();
	char err[2048] = "";

	for (const char *l = dump; *l;) {
		const char *eol = strchr(l, '\n');
		ASSERT_TRUE(eol != NULL);
		const char *sep = strstr(l, ": ");
		ASSERT_TRUE(sep && sep < eol);
		const char *colon = sep;
		while (colon > l && colon[-1] != ':')
			colon--;
		ASSERT_TRUE(colon > l);
		char *origin = strndup(l, colon - 1 - l);
		unsigned line = (unsigned)strtoul(colon, NULL, 10);
		if (policy_parse_line(p, sep + 2, eol - sep - 2, origin, line, err, sizeof(err)) <
		    0)
			tap_fail(__FILE__, __LINE__, "dump line '%.*s' does not parse: %s",
				 (int)(eol - l), l, err);
		free(origin);
		l = eol + 1;
	}
	char *d = sb_policy_dump(p);
	sb_policy_free(p);
	return d;
}

TEST(dump_round_trip)
{
	static const char text[] = "allow /usr\n"
				   "allow-read //etc/./\n"
				   "deny \"/a b/#x\\\"y\\\\z\"\n"
				   "hide **/.env\n"
				   "hide /x/**/**/y\n"
				   "redirect /a/ \"/b c\"\n"
				   "default deny\n"
				   "net-allow 10.0.0.1/8:443\n"
				   "net-deny [::ffff:10.0.0.0/104]:22-23\n"
				   "bind-allow [2001:DB8::1/32]:80\n"
				   "net-allow *:53\n"
				   "net-allow \"unix:/run/a b/*.sock\"\n"
				   "net-deny unix:@dbus*\n"
				   "net-allow any\n"
				   "net-default allow\n"
				   "unshare-net\n"
				   "net-broker\n"
				   "publish 8080\n"
				   "publish [::]:9000:90\n"
				   "audit \"/var/log/a b.json\"\n"
				   "learn /tmp/l.policy\n"
				   "stdout out.txt\n"
				   "stderr /tmp/err\n"
				   "allow-mount overlay /merged/** ro,nodev\n"
				   "allow-mknod tty whiteout\n"
				   "sysinfo cgroup\n";
	char *d1 = dump_of(text);
	char *d2 = reparse_dump(d1);
	ASSERT_STREQ(d2, d1);
	char *d3 = reparse_dump(d2);
	ASSERT_STREQ(d3, d1);
	free(d1);
	free(d2);
	free(d3);
}

TEST(settings_last_one_wins)
{
	sb_policy *p = new_policy();
	sb_policy_settings s;
	char err[256];

	sb_policy_get_settings(p, &s);
	ASSERT_TRUE(!s.audit && !s.learn && !s.stdout_path && !s.stderr_path);
	ASSERT_TRUE(!s.unshare_net && !s.net_broker && !s.sysinfo_cgroup);

	const char *t = "audit /a1\naudit -\nlearn /l1\nlearn /l2\nstdout /o\nstderr /e1\n"
			"stderr /e2\nunshare-net\nnet-broker\nsysinfo cgroup\n";
	ASSERT_EQ(policy_parse_buffer(p, t, strlen(t), "/etc/sb/t.policy", err, sizeof(err)), 0);
	sb_policy_get_settings(p, &s);
	ASSERT_STREQ(s.audit, "-");
	ASSERT_STREQ(s.learn, "/l2");
	ASSERT_STREQ(s.stdout_path, "/o");
	ASSERT_STREQ(s.stderr_path, "/e2");
	ASSERT_TRUE(s.unshare_net && s.net_broker && s.sysinfo_cgroup);
	sb_policy_free(p);
}

/* Output files in a file are relative to its directory; on the command line, as given. */
TEST(output_files_relative)
{
	sb_policy *p = new_policy();
	sb_policy_settings s;
	char err[256];
	const char *t = "audit a.json\nlearn ../l.policy\nstdout /abs/o\nstderr sub/e\n";

	ASSERT_EQ(policy_parse_buffer(p, t, strlen(t), "/etc/sb/t.policy", err, sizeof(err)), 0);
	sb_policy_get_settings(p, &s);
	ASSERT_STREQ(s.audit, "/etc/sb/a.json");
	ASSERT_STREQ(s.learn, "/etc/sb/../l.policy");
	ASSERT_STREQ(s.stdout_path, "/abs/o");
	ASSERT_STREQ(s.stderr_path, "/etc/sb/sub/e");

	const char *w[] = {"audit", "rel.json"};
	ASSERT_EQ(sb_policy_add(p, w, 2, "cli", 7, err, sizeof(err)), 0);
	sb_policy_get_settings(p, &s);
	ASSERT_STREQ(s.audit, "rel.json");
	sb_policy_free(p);
}

TEST(policy_add_words)
{
	sb_policy *p = new_policy();
	char err[256] = "";
	const char *w1[] = {"deny", "/a b"};
	const char *w2[] = {"net-allow", "10.0.0.0/8"};
	const char *w3[] = {"deny"};
	const char *w4[] = {"deny", "/a\nb"};
	const char *w5[] = {"bogus"};
	const char *w6[] = {"deny", "/\xff"};

	ASSERT_EQ(sb_policy_add(p, w1, 2, "cli", 1, err, sizeof(err)), 0);
	ASSERT_EQ(sb_policy_add(p, w2, 2, NULL, 2, err, sizeof(err)), 0);
	ASSERT_EQ(sb_policy_add(p, w3, 1, "cli", 3, err, sizeof(err)), -EINVAL);
	ASSERT_STREQ(err, "cli:3: deny: wrong number of arguments (usage: deny PATTERN)");
	ASSERT_EQ(sb_policy_add(p, w4, 2, "cli", 4, err, sizeof(err)), -EINVAL);
	ASSERT_STREQ(err, "cli:4: word 2: control character U+000A");
	ASSERT_EQ(sb_policy_add(p, w5, 1, "cli", 5, err, sizeof(err)), -EINVAL);
	ASSERT_STREQ(err, "cli:5: unknown rule 'bogus'");
	ASSERT_EQ(sb_policy_add(p, w6, 2, "cli", 6, err, sizeof(err)), -EINVAL);
	ASSERT_STREQ(err, "cli:6: word 2: invalid UTF-8");
	ASSERT_EQ(sb_policy_add(p, NULL, 0, "cli", 7, err, sizeof(err)), -EINVAL);
	ASSERT_STREQ(err, "cli:7: empty rule");
	/* a NULL or short error buffer is fine */
	ASSERT_EQ(sb_policy_add(p, w3, 1, "cli", 8, NULL, 0), -EINVAL);
	ASSERT_EQ(sb_policy_add(p, w3, 1, "cli", 8, err, 4), -EINVAL);
	ASSERT_STREQ(err, "cli");

	char *d = sb_policy_dump(p);
	ASSERT_STREQ(d, "cli:1: deny \"/a b\"\ncli:2: net-allow 10.0.0.0/8\n");
	free(d);
	sb_policy_free(p);
}

TEST(rule_accessors)
{
	sb_policy *p = new_policy();
	char err[256], buf[64];
	const char *t = "publish 80\ndeny /x\npublish 81\n";

	ASSERT_EQ(policy_parse_buffer(p, t, strlen(t), "t.policy", err, sizeof(err)), 0);
	ASSERT_EQ(policy_n_rules(p), 3);
	ASSERT_TRUE(policy_rule(p, 3) == NULL);
	const struct policy_rule *r = policy_next(p, RULE_PUBLISH, NULL);
	ASSERT_TRUE(r && r->line == 1 && r->publish.port == 80 && r->publish.inner_port == 80);
	ASSERT_EQ(r->publish.host.ss_family, AF_INET);
	ASSERT_EQ(r->publish.host_len, sizeof(struct sockaddr_in));
	r = policy_next(p, RULE_PUBLISH, r);
	ASSERT_TRUE(r && r->line == 3 && r->index == 2);
	ASSERT_TRUE(policy_next(p, RULE_PUBLISH, r) == NULL);
	ASSERT_TRUE(policy_next(p, RULE_HIDE, NULL) == NULL);

	policy_rule_origin(policy_rule(p, 1), buf, sizeof(buf));
	ASSERT_STREQ(buf, "t.policy:2");
	policy_rule_origin(NULL, buf, sizeof(buf));
	ASSERT_STREQ(buf, "default");
	ASSERT_EQ(policy_rule_format(policy_rule(p, 1), buf, sizeof(buf)), 0);
	ASSERT_STREQ(buf, "deny /x");
	ASSERT_EQ(policy_rule_format(policy_rule(p, 1), buf, 7), -ENOBUFS);
	ASSERT_STREQ(buf, "");
	ASSERT_EQ(policy_rule_format(policy_rule(p, 1), buf, 8), 0);

	ASSERT_STREQ(policy_kind_name(RULE_SYSINFO_CGROUP), "sysinfo");
	ASSERT_STREQ(policy_kind_name(RULE_ALLOW_READ), "allow-read");
	ASSERT_TRUE(policy_kind_name(RULE_KIND_MAX) == NULL);
	for (int k = 0; k < RULE_KIND_MAX; k++)
		ASSERT_TRUE(policy_kind_name(k) != NULL);
	sb_policy_free(p);
}

/* ---- files and include ---- */

static char tmpdir[PATH_MAX];

static void make_tmpdir(void)
{
	char t[] = "/tmp/sb-policy-XXXXXX";
	ASSERT_TRUE(mkdtemp(t) != NULL);
	/* getcwd() reports the resolved directory; compare against the same. */
	ASSERT_TRUE(realpath(t, tmpdir) != NULL);
}

static void write_file(const char *rel, const char *text)
{
	char path[PATH_MAX * 2];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	FILE *f = fopen(path, "w");
	ASSERT_TRUE(f != NULL);
	fputs(text, f);
	ASSERT_EQ(fclose(f), 0);
}

static void cleanup_tmpdir(void)
{
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmpdir);
}

/* Replaces every "@" in fmt by the temporary directory. */
static char *expand(const char *fmt)
{
	size_t n = strlen(fmt) + 1;
	for (const char *c = fmt; *c; c++)
		n += *c == '@' ? strlen(tmpdir) : 0;
	char *s = malloc(n), *o = s;
	for (const char *c = fmt; *c; c++) {
		if (*c == '@')
			o = stpcpy(o, tmpdir);
		else
			*o++ = *c;
	}
	*o = 0;
	return s;
}

static int load(sb_policy *p, const char *rel, char *err, size_t errlen)
{
	char *path = expand(rel);
	int r = sb_policy_load_file(p, path, err, errlen);
	free(path);
	return r;
}

TEST(include_relative_to_including_file)
{
	make_tmpdir();
	ASSERT_EQ(mkdir(expand("@/sub"), 0755), 0);
	write_file("a.policy", "deny /a\ninclude sub/b.policy\ndeny /c\n");
	write_file("sub/b.policy", "deny /b\ninclude c.policy\ninclude c.policy\n");
	write_file("sub/c.policy", "allow /x\naudit log.json\n");

	sb_policy *p = new_policy();
	char err[512] = "";
	ASSERT_EQ(load(p, "@/a.policy", err, sizeof(err)), 0);
	char *d = sb_policy_dump(p);
	char *want = expand("@/a.policy:1: deny /a\n"
			    "@/sub/b.policy:1: deny /b\n"
			    "@/sub/c.policy:1: allow /x\n"
			    "@/sub/c.policy:2: audit @/sub/log.json\n"
			    "@/sub/c.policy:1: allow /x\n"
			    "@/sub/c.policy:2: audit @/sub/log.json\n"
			    "@/a.policy:3: deny /c\n");
	ASSERT_STREQ(d, want);
	free(d);
	sb_policy_free(p);

	/* The same from a relative name: origins as written, output files absolute. */
	ASSERT_EQ(chdir(tmpdir), 0);
	p = new_policy();
	ASSERT_EQ(sb_policy_load_file(p, "a.policy", err, sizeof(err)), 0);
	d = sb_policy_dump(p);
	want = expand("a.policy:1: deny /a\n"
		      "sub/b.policy:1: deny /b\n"
		      "sub/c.policy:1: allow /x\n"
		      "sub/c.policy:2: audit @/sub/log.json\n"
		      "sub/c.policy:1: allow /x\n"
		      "sub/c.policy:2: audit @/sub/log.json\n"
		      "a.policy:3: deny /c\n");
	ASSERT_STREQ(d, want);
	/* and that dump reads back to itself */
	char *d2 = reparse_dump(d);
	ASSERT_STREQ(d2, d);
	free(d);
	free(d2);
	sb_policy_free(p);

	/* include from the command line is relative to the current directory */
	p = new_policy();
	const char *w[] = {"include", "sub/c.policy"};
	ASSERT_EQ(sb_policy_add(p, w, 2, "cli", 2, err, sizeof(err)), 0);
	ASSERT_EQ(policy_n_rules(p), 2);
	ASSERT_STREQ(policy_rule(p, 0)->origin, "sub/c.policy");
	sb_policy_free(p);
	cleanup_tmpdir();
}

TEST(include_errors)
{
	make_tmpdir();
	ASSERT_EQ(mkdir(expand("@/sub"), 0755), 0);
	ASSERT_EQ(mkfifo(expand("@/fifo"), 0644), 0);
	write_file("self.policy", "deny /a\ninclude self.policy\n");
	write_file("a.policy", "deny /a\ninclude b.policy\n");
	write_file("b.policy", "\n\ninclude sub/../a.policy\n");
	write_file("missing.policy", "include nope.policy\n");
	write_file("dir.policy", "include sub\n");
	write_file("fifo.policy", "include fifo\n");
	write_file("bad-inner.policy", "deny /ok\ninclude inner.policy\n");
	write_file("inner.policy", "deny /fine\ndeny relative\n");

	static const struct {
		const char *file, *want;
		int r;
	} c[] = {
	    {"@/self.policy", "@/self.policy:2: include cycle: @/self.policy is already being read",
	     -ELOOP},
	    {"@/a.policy", "@/b.policy:3: include cycle: @/sub/../a.policy is already being read",
	     -ELOOP},
	    {"@/missing.policy",
	     "@/missing.policy:1: cannot read @/nope.policy: No such file or directory", -ENOENT},
	    {"@/dir.policy", "@/dir.policy:1: cannot read @/sub: not a regular file", -EINVAL},
	    {"@/fifo.policy", "@/fifo.policy:1: cannot read @/fifo: not a regular file", -EINVAL},
	    {"@/bad-inner.policy",
	     "@/inner.policy:2: deny: pattern 'relative' must be absolute (start with / or **)",
	     -EINVAL},
	    {"@/nope.policy", "@/nope.policy: No such file or directory", -ENOENT},
	    {"@/sub", "@/sub: not a regular file", -EINVAL},
	};
	for (size_t i = 0; i < ELEMENTSOF(c); i++) {
		sb_policy *p = new_policy();
		char err[1024] = "";
		char *want = expand(c[i].want);
		/* a failed load leaves the earlier rules alone and adds none */
		const char *w[] = {"deny", "/before"};
		ASSERT_EQ(sb_policy_add(p, w, 2, "cli", 1, err, sizeof(err)), 0);
		int r = load(p, c[i].file, err, sizeof(err));
		if (strcmp(err, want) || r != c[i].r)
			tap_fail(__FILE__, __LINE__, "case %zu: got %d '%s', want %d '%s'", i, r,
				 err, c[i].r, want);
		ASSERT_EQ(policy_n_rules(p), 1);
		free(want);
		sb_policy_free(p);
	}

	sb_policy *p = new_policy();
	char err[256];
	ASSERT_EQ(sb_policy_load_file(p, "", err, sizeof(err)), -EINVAL);
	ASSERT_STREQ(err, "empty policy file name");
	sb_policy_free(p);
	cleanup_tmpdir();
}

/* 16 includes deep is fine, 17 is an error. */
TEST(include_depth)
{
	make_tmpdir();
	for (int i = 0; i <= 17; i++) {
		char name[32], text[64];
		snprintf(name, sizeof(name), "f%d.policy", i);
		snprintf(text, sizeof(text), "deny /%d\ninclude f%d.policy\n", i, i + 1);
		write_file(name, text);
	}
	write_file("f16.policy", "deny /16\n");

	sb_policy *p = new_policy();
	char err[512] = "";
	ASSERT_EQ(load(p, "@/f0.policy", err, sizeof(err)), 0);
	ASSERT_EQ(policy_n_rules(p), 17);
	sb_policy_free(p);

	write_file("f16.policy", "deny /16\ninclude f17.policy\n");
	write_file("f17.policy", "deny /17\n");
	p = new_policy();
	ASSERT_EQ(load(p, "@/f0.policy", err, sizeof(err)), -ELOOP);
	char *want = expand("@/f16.policy:2: includes nested more than 16 deep");
	ASSERT_STREQ(err, want);
	ASSERT_EQ(policy_n_rules(p), 0);
	sb_policy_free(p);
	cleanup_tmpdir();
}

TEST(file_too_large)
{
	make_tmpdir();
	char *path = expand("@/big.policy");
	FILE *f = fopen(path, "w");
	ASSERT_TRUE(f != NULL);
	for (unsigned i = 0; i < POLICY_FILE_MAX / 16 + 1; i++)
		fputs("# padding line.\n", f);
	ASSERT_EQ(fclose(f), 0);

	sb_policy *p = new_policy();
	char err[512];
	ASSERT_EQ(sb_policy_load_file(p, path, err, sizeof(err)), -EFBIG);
	char *want = expand("@/big.policy: larger than 1 MiB");
	ASSERT_STREQ(err, want);
	sb_policy_free(p);

	/* exactly the limit is fine */
	ASSERT_EQ(truncate(path, POLICY_FILE_MAX), 0);
	p = new_policy();
	ASSERT_EQ(sb_policy_load_file(p, path, err, sizeof(err)), 0);
	sb_policy_free(p);
	cleanup_tmpdir();
}

/* Learn mode writes what the program touched: each path must come back as exactly itself. */
TEST(format_path_for_learn)
{
	static const struct {
		const char *path, *want; /* NULL: cannot be written */
		int r;
	} c[] = {
	    {"/usr/lib/x.so", "/usr/lib/x.so", 0},
	    {"/", "/", 0},
	    {"/a b/c", "\"/a b/c\"", 0},
	    {"/a*b/?/[x]", "/a[*]b/[?]/[[]x]", 0},
	    {"/**", "/[*][*]", 0},
	    {"/q\"uote\\", "\"/q\\\"uote\\\\\"", 0},
	    {"/#hash", "\"/#hash\"", 0},
	    {"/caf\xc3\xa9", "/caf\xc3\xa9", 0},
	    {"relative", NULL, -EINVAL},
	    {"/a/../b", NULL, -EINVAL},
	    {"/a/\x01", NULL, -EINVAL},
	    {"/a/\xff", NULL, -EINVAL},
	};
	for (size_t i = 0; i < ELEMENTSOF(c); i++) {
		char buf[64] = "unset";
		int r = policy_format_path(c[i].path, buf, sizeof(buf));
		if (r != c[i].r || (c[i].want && strcmp(buf, c[i].want)))
			tap_fail(__FILE__, __LINE__, "case %zu: got %d '%s', want %d '%s'", i, r,
				 buf, c[i].r, c[i].want ? c[i].want : "");
		if (!c[i].want)
			continue;
		/* read back as a rule, it matches the path and not a sibling */
		sb_policy *p = new_policy();
		char line[128], err[256];
		snprintf(line, sizeof(line), "deny %s\n", buf);
		if (policy_parse_buffer(p, line, strlen(line), "t.policy", err, sizeof(err)) < 0)
			tap_fail(__FILE__, __LINE__, "case %zu: '%s' does not parse: %s", i, line,
				 err);
		struct fs_decision d;
		policy_fs_decide(p, c[i].path, &d);
		ASSERT_EQ(d.access, FS_DENY);
		char sibling[80];
		snprintf(sibling, sizeof(sibling), "%sx", c[i].path);
		policy_fs_decide(p, sibling, &d);
		if (strcmp(c[i].path, "/"))
			ASSERT_EQ(d.access, FS_ALLOW);
		sb_policy_free(p);
	}
	char small[4];
	ASSERT_EQ(policy_format_path("/abcd", small, sizeof(small)), -ENOBUFS);
	ASSERT_STREQ(small, "");
}

TEST(publish_by_inner_port)
{
	sb_policy *p = new_policy();
	char err[256];
	const char *t = "publish 8080:80\npublish 8443:443\npublish 0.0.0.0:9080:80\n";

	ASSERT_EQ(policy_parse_buffer(p, t, strlen(t), "t.policy", err, sizeof(err)), 0);
	const struct policy_rule *r = policy_publish_for_inner_port(p, 80, NULL);
	ASSERT_TRUE(r && r->line == 1);
	r = policy_publish_for_inner_port(p, 80, r);
	ASSERT_TRUE(r && r->line == 3 && r->publish.port == 9080);
	ASSERT_TRUE(policy_publish_for_inner_port(p, 80, r) == NULL);
	ASSERT_TRUE(policy_publish_for_inner_port(p, 22, NULL) == NULL);
	sb_policy_free(p);
}
