/* Fuzz target for the policy language: text to rules through the same entry as policy files,
 * then the dump, reading the dump back (it must give the same dump), and every decision. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "policy/policy-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A directory that does not exist: relative includes fail without touching real files. */
#define ORIGIN "/nonexistent-sysbroker-fuzz/fuzz.policy"

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz-policy: invariant broken: %s\n", what);
		abort();
	}
}

/* Reads every dump line back with the origin and line of the rule it came from. */
static void round_trip(const sb_policy *p, const char *dump)
{
	sb_policy *q = NULL;
	const char *l = dump;
	char err[512];

	if (sb_policy_new(&q) < 0)
		return;
	for (size_t i = 0; i < policy_n_rules(p); i++) {
		const struct policy_rule *r = policy_rule(p, i);
		char prefix[64];
		int n = snprintf(prefix, sizeof(prefix), ":%u: ", r->line);
		size_t ol = strlen(r->origin);
		const char *eol = strchr(l, '\n');

		check(eol != NULL, "dump line ends with a newline");
		check(!strncmp(l, r->origin, ol) && !strncmp(l + ol, prefix, n),
		      "dump line starts with ORIGIN:LINE");
		const char *text = l + ol + n;
		int k =
		    policy_parse_line(q, text, eol - text, r->origin, r->line, err, sizeof(err));
		if (k == -ENOMEM)
			goto out;
		if (k < 0)
			fprintf(stderr, "fuzz-policy: '%.*s': %s\n", (int)(eol - text), text, err);
		check(k == 0, "a dump line parses");
		l = eol + 1;
	}
	check(*l == 0, "no extra dump lines");
	char *again = sb_policy_dump(q);
	if (again) {
		if (strcmp(again, dump))
			fprintf(stderr, "first:\n%s\nagain:\n%s\n", dump, again);
		check(!strcmp(again, dump), "the dump reads back to the same dump");
		free(again);
	}
out:
	sb_policy_free(q);
}

/* A path written by policy_format_path (learn mode) must read back as a rule matching it. */
static void exact_path(const char *path)
{
	char word[3 * POLICY_PATH_MAX + 16], err[256];
	sb_policy *q = NULL;
	struct fs_decision d;

	if (policy_format_path(path, word, sizeof(word)) < 0 || sb_policy_new(&q) < 0)
		return;
	char line[sizeof(word) + 8];
	snprintf(line, sizeof(line), "deny %s", word);
	int k = policy_parse_line(q, line, strlen(line), "cli", 1, err, sizeof(err));
	if (k == 0) {
		policy_fs_decide(q, path, &d);
		check(d.access == FS_DENY && d.rule, "a learned path matches itself");
	} else {
		check(k == -ENOMEM, "a learned path parses");
	}
	sb_policy_free(q);
}

static void decide_all(const sb_policy *p)
{
	static const char *const paths[] = {
	    "/",
	    "/etc/shadow",
	    "/home/u/.ssh/id_rsa",
	    "/a/b/.env",
	    "/tmp/x",
	    "/proc/1/mem",
	    "/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/b",
	};
	struct fs_decision fd;
	struct net_decision nd;
	struct mount_decision md;
	char out[256], buf[8192];

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		policy_fs_decide(p, paths[i], &fd);
		policy_rule_origin(fd.rule, buf, sizeof(buf));
		policy_redirect(p, paths[i], out, sizeof(out));
		policy_net_decide_unix(p, NET_CONNECT, paths[i], false, &nd);
		policy_net_decide_unix(p, NET_BIND, paths[i] + 1, true, &nd);
		policy_mount_allowed(p, "tmpfs", paths[i], 0, &md);
		policy_mount_allowed(p, "bind", paths[i], MS_BIND, &md);
	}
	/* The rules' own patterns as paths: the hostile ones meet each other. */
	for (size_t i = 0; i < policy_n_rules(p) && i < 16; i++) {
		const struct policy_rule *r = policy_rule(p, i);
		if (policy_rule_format(r, buf, sizeof(buf)) == 0)
			check(!strncmp(buf, policy_kind_name(r->kind),
				       strlen(policy_kind_name(r->kind))),
			      "a formatted rule starts with its name");
		if (r->kind == RULE_ALLOW || r->kind == RULE_DENY || r->kind == RULE_HIDE ||
		    r->kind == RULE_ALLOW_READ) {
			policy_fs_decide(p, r->pattern.text, &fd);
			policy_redirect(p, r->pattern.text, out, sizeof(out));
			exact_path(r->pattern.text);
		}
		if (r->kind == RULE_REDIRECT) {
			const struct policy_rule *rr =
			    policy_redirect(p, r->redirect.from, out, sizeof(out));
			check(rr != NULL, "a redirect's FROM is redirected");
		}
	}

	static const char *const v4[] = {"127.0.0.1", "10.1.2.3", "0.0.0.0", "255.255.255.255"};
	static const char *const v6[] = {"::1", "::ffff:127.0.0.1", "::10.0.0.1", "fd00::1", "::"};
	for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++) {
		struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(443)};
		inet_pton(AF_INET, v4[i], &sin.sin_addr);
		check(policy_net_decide(p, NET_CONNECT, (struct sockaddr *)&sin, sizeof(sin),
					&nd) == 0,
		      "IPv4 decided");
		policy_net_decide(p, NET_BIND, (struct sockaddr *)&sin, sizeof(sin), &nd);
	}
	for (size_t i = 0; i < sizeof(v6) / sizeof(v6[0]); i++) {
		struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(53)};
		inet_pton(AF_INET6, v6[i], &sin6.sin6_addr);
		check(policy_net_decide(p, NET_CONNECT, (struct sockaddr *)&sin6, sizeof(sin6),
					&nd) == 0,
		      "IPv6 decided");
		policy_net_decide(p, NET_BIND, (struct sockaddr *)&sin6, sizeof(sin6), &nd);
	}
	for (unsigned mi = 0; mi < 6; mi++)
		policy_mknod_allowed(p, S_IFCHR | 0666, makedev(mi, 3 + mi));
	policy_mknod_allowed(p, S_IFCHR, makedev(0, 0));
	policy_fs_is_trivial(p);
	policy_net_is_trivial(p);
	policy_sysinfo_cgroup(p);
	sb_policy_settings s;
	sb_policy_get_settings(p, &s);
	for (const struct policy_rule *r = policy_next(p, RULE_PUBLISH, NULL); r;
	     r = policy_next(p, RULE_PUBLISH, r))
		check(r->publish.port > 0 && r->publish.inner_port > 0, "publish ports are set");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sb_policy *p = NULL;
	char err[2048];

	if (sb_policy_new(&p) < 0)
		return 0;
	err[0] = 0;
	int r = policy_parse_buffer(p, (const char *)data, size, ORIGIN, err, sizeof(err));
	if (r < 0) {
		/* One line, saying where: "FILE:LINE: message" or "FILE: message". */
		check(r == -ENOMEM || (err[0] && !strchr(err, '\n')), "an error is one line");
		check(r == -ENOMEM || policy_n_rules(p) == 0, "a failed parse adds no rules");
	} else {
		char *dump = sb_policy_dump(p);
		if (dump) {
			round_trip(p, dump);
			free(dump);
		}
		decide_all(p);
	}
	sb_policy_free(p);
	return 0;
}
