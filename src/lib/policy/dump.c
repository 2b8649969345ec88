/* Printing rules back as policy text (sysbroker check, audit's rule field), in a form the
 * parser reads back to the same rules. */
#include <stdio.h>
#include <string.h>

#include "policy-internal.h"

/* A growing string; an allocation failure sticks and is reported once at the end. */
struct strbuf {
	char *s;
	size_t len, alloc;
	bool oom;
};

static void buf_add(struct strbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->alloc) {
		size_t na = b->alloc ? b->alloc : 256;
		while (na < b->len + n + 1)
			na *= 2;
		char *ns = realloc(b->s, na);
		if (!ns) {
			b->oom = true;
			return;
		}
		b->s = ns;
		b->alloc = na;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = 0;
}

static void buf_adds(struct strbuf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* One argument, preceded by a space, in quotes when it needs them. */
static void buf_add_word(struct strbuf *b, const char *w)
{
	buf_adds(b, " ");
	if (!policy_word_needs_quotes(w)) {
		buf_adds(b, w);
		return;
	}
	buf_adds(b, "\"");
	for (const char *c = w; *c; c++) {
		if (*c == '"' || *c == '\\')
			buf_adds(b, "\\");
		buf_add(b, c, 1);
	}
	buf_adds(b, "\"");
}

static const char *access_name(enum fs_access a)
{
	switch (a) {
	case FS_ALLOW:
		return "allow";
	case FS_ALLOW_READ:
		return "allow-read";
	case FS_HIDE:
		return "hide";
	default:
		return "deny";
	}
}

static int format_rule(const struct policy_rule *r, struct strbuf *b)
{
	/* Long enough for any address: a unix pattern is at most POLICY_PATH_MAX bytes. */
	char tmp[POLICY_PATH_MAX + 64];
	int k;

	buf_adds(b, policy_kind_name(r->kind));
	switch (r->kind) {
	case RULE_ALLOW:
	case RULE_ALLOW_READ:
	case RULE_DENY:
	case RULE_HIDE:
		buf_add_word(b, r->pattern.text);
		break;
	case RULE_REDIRECT:
		buf_add_word(b, r->redirect.from);
		buf_add_word(b, r->redirect.to);
		break;
	case RULE_DEFAULT:
		buf_add_word(b, access_name(r->fs_default));
		break;
	case RULE_NET_DEFAULT:
		buf_add_word(b, r->net_default == NET_ALLOW ? "allow" : "deny");
		break;
	case RULE_NET_ALLOW:
	case RULE_NET_DENY:
	case RULE_BIND_ALLOW:
	case RULE_BIND_DENY:
		k = policy_addr_format(&r->addr, tmp, sizeof(tmp));
		if (k < 0)
			return k;
		buf_add_word(b, tmp);
		break;
	case RULE_PUBLISH:
		k = policy_publish_format(r, tmp, sizeof(tmp));
		if (k < 0)
			return k;
		buf_add_word(b, tmp);
		break;
	case RULE_AUDIT:
	case RULE_LEARN:
	case RULE_STDOUT:
	case RULE_STDERR:
		buf_add_word(b, r->file);
		break;
	case RULE_ALLOW_MOUNT:
		buf_add_word(b, r->mount.fstype);
		buf_add_word(b, r->mount.target.text);
		if (r->mount.options)
			buf_add_word(b, r->mount.options);
		break;
	case RULE_ALLOW_MKNOD:
		for (unsigned d = 0; d < DEV_MAX; d++)
			if (r->mknod_devices & (1u << d))
				buf_add_word(b, policy_device_name(d));
		break;
	case RULE_SYSINFO_CGROUP:
		buf_add_word(b, "cgroup");
		break;
	case RULE_UNSHARE_NET:
	case RULE_NET_BROKER:
	default:
		break;
	}
	return b->oom ? -ENOMEM : 0;
}

int policy_format_path(const char *path, char *buf, size_t len)
{
	struct strbuf e = {}, q = {};
	struct policy_pattern pat;
	int k = 0;

	if (path[0] != '/' || policy_text_check(path, strlen(path), NULL, 0) < 0)
		return -EINVAL;
	/* A class holding one glob character matches just that character. */
	for (const char *c = path; *c; c++) {
		char cls[4] = {'[', *c, ']', 0};
		if (*c == '*' || *c == '?' || *c == '[')
			buf_adds(&e, cls);
		else
			buf_add(&e, c, 1);
	}
	buf_add(&e, "", 0);
	if (e.oom) {
		k = -ENOMEM;
	} else if (policy_pattern_parse(e.s, true, &pat, NULL, 0) < 0) {
		/* What we print must read back: this refuses ".." and overlong results. */
		k = -EINVAL;
	} else {
		policy_pattern_done(&pat);
		buf_add_word(&q, e.s);
		if (q.oom)
			k = -ENOMEM;
		else if (q.len - 1 >= len)
			k = -ENOBUFS;
		else
			memcpy(buf, q.s + 1, q.len); /* leaves out buf_add_word's leading space */
	}
	if (k < 0 && len)
		buf[0] = 0;
	free(e.s);
	free(q.s);
	return k;
}

void policy_rule_origin(const struct policy_rule *r, char *buf, size_t len)
{
	if (!r)
		snprintf(buf, len, "default");
	else
		snprintf(buf, len, "%s:%u", r->origin, r->line);
}

int policy_rule_format(const struct policy_rule *r, char *buf, size_t len)
{
	struct strbuf b = {};
	int k = format_rule(r, &b);

	if (k >= 0 && b.len >= len)
		k = -ENOBUFS;
	if (k >= 0)
		memcpy(buf, b.s, b.len + 1);
	else if (len)
		buf[0] = 0;
	free(b.s);
	return k;
}

char *sb_policy_dump(const sb_policy *p)
{
	struct strbuf b = {};
	char num[16];

	/* An empty policy dumps as "", not NULL: NULL means out of memory. */
	buf_add(&b, "", 0);
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct policy_rule *r = p->rules[i];
		buf_adds(&b, r->origin);
		snprintf(num, sizeof(num), ":%u: ", r->line);
		buf_adds(&b, num);
		if (format_rule(r, &b) < 0)
			b.oom = true;
		buf_adds(&b, "\n");
	}
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}
