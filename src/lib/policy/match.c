/* Decisions: a request's path, address, mount or device against the rules. Pure; the last
 * matching rule wins, so every search walks the rules backwards and stops at the first hit. */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>

#include "policy-internal.h"

/* ---- filesystem ---- */

static bool kind_is_fs_access(enum policy_kind k)
{
	return k == RULE_ALLOW || k == RULE_ALLOW_READ || k == RULE_DENY || k == RULE_HIDE;
}

static enum fs_access kind_to_access(enum policy_kind k)
{
	switch (k) {
	case RULE_ALLOW:
		return FS_ALLOW;
	case RULE_ALLOW_READ:
		return FS_ALLOW_READ;
	case RULE_HIDE:
		return FS_HIDE;
	default:
		return FS_DENY;
	}
}

enum fs_access policy_fs_default(const sb_policy *p)
{
	for (size_t i = p->n_rules; i > 0; i--)
		if (p->rules[i - 1]->kind == RULE_DEFAULT)
			return p->rules[i - 1]->fs_default;
	return FS_ALLOW;
}

void policy_fs_decide(const sb_policy *p, const char *abspath, struct fs_decision *ret)
{
	for (size_t i = p->n_rules; i > 0; i--) {
		const struct policy_rule *r = p->rules[i - 1];
		if (kind_is_fs_access(r->kind) && policy_pattern_match(&r->pattern, abspath)) {
			*ret = (struct fs_decision){.access = kind_to_access(r->kind), .rule = r};
			return;
		}
	}
	*ret = (struct fs_decision){.access = policy_fs_default(p), .rule = NULL};
}

/*
 * When from is path or one of its parents, returns what follows it in path ("" or "/..."),
 * else NULL. Compares whole components, so /ab is not below /a.
 */
static const char *path_below(const char *from, const char *path)
{
	const char *a = from, *b = path;

	for (;;) {
		while (*a == '/')
			a++;
		if (!*a)
			return b;
		while (*b == '/')
			b++;
		const char *as = a, *bs = b;
		while (*a && *a != '/')
			a++;
		while (*b && *b != '/')
			b++;
		if (a - as != b - bs || memcmp(as, bs, a - as) != 0)
			return NULL;
	}
}

const struct policy_rule *policy_redirect(const sb_policy *p, const char *abspath, char *out,
					  size_t outlen)
{
	for (size_t i = p->n_rules; i > 0; i--) {
		const struct policy_rule *r = p->rules[i - 1];
		if (r->kind != RULE_REDIRECT)
			continue;
		const char *rest = path_below(r->redirect.from, abspath);
		if (!rest)
			continue;
		/* Nothing but slashes left ("/" below "/"): the object is FROM itself. */
		if (rest[strspn(rest, "/")] == 0)
			rest = "";
		/* "redirect /x /" must give "/a", not "//a". */
		const char *to = !strcmp(r->redirect.to, "/") && *rest ? "" : r->redirect.to;
		int n = snprintf(out, outlen, "%s%s", to, rest);
		if (n < 0 || (size_t)n >= outlen) {
			if (outlen)
				out[0] = 0;
		}
		return r;
	}
	return NULL;
}

bool policy_fs_same_below(const sb_policy *p, const char *a, const char *b)
{
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct policy_rule *r = p->rules[i];
		if (kind_is_fs_access(r->kind) && !policy_pattern_same_below(&r->pattern, a, b))
			return false;
		/* A redirect below either one would serve other objects after the move. */
		if (r->kind == RULE_REDIRECT) {
			const char *ra = path_below(a, r->redirect.from);
			const char *rb = path_below(b, r->redirect.from);
			if ((ra && ra[strspn(ra, "/")]) || (rb && rb[strspn(rb, "/")]))
				return false;
		}
	}
	return true;
}

bool policy_fs_is_trivial(const sb_policy *p)
{
	for (size_t i = 0; i < p->n_rules; i++)
		if (kind_is_fs_access(p->rules[i]->kind) || p->rules[i]->kind == RULE_REDIRECT)
			return false;
	return policy_fs_default(p) == FS_ALLOW;
}

/* ---- network ---- */

enum net_verdict policy_net_default(const sb_policy *p)
{
	for (size_t i = p->n_rules; i > 0; i--)
		if (p->rules[i - 1]->kind == RULE_NET_DEFAULT)
			return p->rules[i - 1]->net_default;
	return NET_ALLOW;
}

static bool kind_for_op(enum policy_kind k, enum net_op op, enum net_verdict *ret)
{
	switch (k) {
	case RULE_NET_ALLOW:
	case RULE_BIND_ALLOW:
		*ret = NET_ALLOW;
		break;
	case RULE_NET_DENY:
	case RULE_BIND_DENY:
		*ret = NET_DENY;
		break;
	default:
		return false;
	}
	if (op == NET_BIND)
		return k == RULE_BIND_ALLOW || k == RULE_BIND_DENY;
	return k == RULE_NET_ALLOW || k == RULE_NET_DENY;
}

static void decide_ip(const sb_policy *p, enum net_op op, int family, const uint8_t *ip,
		      uint16_t port, struct net_decision *ret)
{
	for (size_t i = p->n_rules; i > 0; i--) {
		const struct policy_rule *r = p->rules[i - 1];
		enum net_verdict v;
		if (kind_for_op(r->kind, op, &v) &&
		    policy_addr_match_ip(&r->addr, family, ip, port)) {
			*ret = (struct net_decision){.verdict = v, .rule = r};
			return;
		}
	}
	*ret = (struct net_decision){.verdict = policy_net_default(p), .rule = NULL};
}

int policy_net_decide(const sb_policy *p, enum net_op op, const struct sockaddr *sa, socklen_t len,
		      struct net_decision *ret)
{
	sa_family_t family;

	/* Fail closed on anything we cannot judge; the caller passes the errno on. */
	*ret = (struct net_decision){.verdict = NET_DENY, .rule = NULL};
	if (!sa || len < sizeof(sa_family_t))
		return -EINVAL;
	/* The address may sit unaligned in a request buffer: copy, never dereference. */
	memcpy(&family, sa, sizeof(family));

	if (family == AF_INET) {
		struct sockaddr_in sin;
		if (len < sizeof(sin))
			return -EINVAL;
		memcpy(&sin, sa, sizeof(sin));
		decide_ip(p, op, AF_INET, (const uint8_t *)&sin.sin_addr, ntohs(sin.sin_port), ret);
		return 0;
	}
	if (family == AF_INET6) {
		struct sockaddr_in6 sin6 = {};
		/* The kernel accepts the RFC 2133 size, without sin6_scope_id (inet6_connect). */
		const socklen_t min = offsetof(struct sockaddr_in6, sin6_scope_id);
		if (len < min)
			return -EINVAL;
		memcpy(&sin6, sa, len < sizeof(sin6) ? len : sizeof(sin6));
		const uint8_t *ip = sin6.sin6_addr.s6_addr;
		uint16_t port = ntohs(sin6.sin6_port);
		static const uint8_t zero[12], mapped[12] = {[10] = 0xff, [11] = 0xff};
		/*
		 * ::ffff:a.b.c.d reaches the IPv4 host a.b.c.d from a dual-stack socket, and
		 * ::a.b.c.d (IPv4-compatible) would through a sit tunnel: judge both as IPv4 so
		 * "net-deny 127.0.0.0/8" cannot be sidestepped. :: and ::1 are IPv6's own.
		 */
		bool v4 =
		    !memcmp(ip, mapped, 12) ||
		    (!memcmp(ip, zero, 12) && ((ip[12] | ip[13] | ip[14]) != 0 || ip[15] > 1));
		if (v4)
			decide_ip(p, op, AF_INET, ip + 12, port, ret);
		else
			decide_ip(p, op, AF_INET6, ip, port, ret);
		return 0;
	}
	return -EAFNOSUPPORT;
}

void policy_net_decide_unix(const sb_policy *p, enum net_op op, const char *name, bool abstract,
			    struct net_decision *ret)
{
	for (size_t i = p->n_rules; i > 0; i--) {
		const struct policy_rule *r = p->rules[i - 1];
		enum net_verdict v;
		if (kind_for_op(r->kind, op, &v) &&
		    policy_addr_match_unix(&r->addr, name, abstract)) {
			*ret = (struct net_decision){.verdict = v, .rule = r};
			return;
		}
	}
	*ret = (struct net_decision){.verdict = policy_net_default(p), .rule = NULL};
}

bool policy_net_is_trivial(const sb_policy *p)
{
	for (size_t i = 0; i < p->n_rules; i++) {
		enum net_verdict v;
		if (kind_for_op(p->rules[i]->kind, NET_CONNECT, &v) ||
		    kind_for_op(p->rules[i]->kind, NET_BIND, &v))
			return false;
	}
	return policy_net_default(p) == NET_ALLOW;
}

const struct policy_rule *policy_publish_for_inner_port(const sb_policy *p, uint16_t inner_port,
							const struct policy_rule *prev)
{
	for (const struct policy_rule *r = policy_next(p, RULE_PUBLISH, prev); r;
	     r = policy_next(p, RULE_PUBLISH, r))
		if (r->publish.inner_port == inner_port)
			return r;
	return NULL;
}

/* ---- lifting restrictions ---- */

bool policy_mount_allowed(const sb_policy *p, const char *fstype, const char *target,
			  unsigned long flags, struct mount_decision *ret)
{
	*ret = (struct mount_decision){};
	/* allow-mount grants new mounts only; changing an existing one is another matter. */
	if (flags & (MS_REMOUNT | MS_MOVE | MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE))
		return false;
	for (size_t i = p->n_rules; i > 0; i--) {
		const struct policy_rule *r = p->rules[i - 1];
		if (r->kind != RULE_ALLOW_MOUNT || strcmp(r->mount.fstype, fstype) ||
		    !policy_pattern_match(&r->mount.target, target))
			continue;
		ret->rule = r;
		ret->add_flags = r->mount.set_flags & ~flags;
		ret->remove_flags = r->mount.clear_flags & flags;
		return true;
	}
	return false;
}

static const struct {
	const char *name;
	unsigned major, minor;
} devices[DEV_MAX] = {
    [DEV_NULL] = {"null", 1, 3},	 [DEV_ZERO] = {"zero", 1, 5},
    [DEV_FULL] = {"full", 1, 7},	 [DEV_RANDOM] = {"random", 1, 8},
    [DEV_URANDOM] = {"urandom", 1, 9},	 [DEV_TTY] = {"tty", 5, 0},
    [DEV_WHITEOUT] = {"whiteout", 0, 0},
};

int policy_device_from_name(const char *name)
{
	for (size_t i = 0; i < DEV_MAX; i++)
		if (!strcmp(devices[i].name, name))
			return (int)i;
	return -1;
}

const char *policy_device_name(enum policy_device d)
{
	return (unsigned)d < DEV_MAX ? devices[d].name : NULL;
}

const struct policy_rule *policy_mknod_allowed(const sb_policy *p, mode_t mode, dev_t dev)
{
	int d = -1;

	/* Character devices only: a block device node would hand out a raw disk. */
	if ((mode & S_IFMT) != S_IFCHR)
		return NULL;
	for (size_t i = 0; i < DEV_MAX; i++)
		if (major(dev) == devices[i].major && minor(dev) == devices[i].minor)
			d = (int)i;
	if (d < 0)
		return NULL;
	for (size_t i = p->n_rules; i > 0; i--) {
		const struct policy_rule *r = p->rules[i - 1];
		if (r->kind == RULE_ALLOW_MKNOD && (r->mknod_devices & (1u << d)))
			return r;
	}
	return NULL;
}

bool policy_sysinfo_cgroup(const sb_policy *p)
{
	return policy_next(p, RULE_SYSINFO_CGROUP, NULL) != NULL;
}
