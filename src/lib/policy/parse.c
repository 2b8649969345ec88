/* The policy parser: words to rules (one table row per rule name), policy files and include,
 * and the sb_policy object itself. The only I/O is reading policy files. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "policy-internal.h"

#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256 /* Linux 5.10; glibc headers of Debian 12 lack it */
#endif

/* Room for a message that quotes a long pattern. */
#define WHY_MAX 1024

/* Where the words being parsed come from. */
struct frame {
	const char *origin; /* interned: the file name as given, or "cli" */
	/* Base for relative names in output rules; NULL keeps them as given (the command line). */
	const char *dir;
	/* Identity of the file, to find include cycles. */
	bool has_id;
	dev_t dev;
	ino_t ino;
	const struct frame *parent;
	unsigned depth; /* includes above this file */
};

_printf_(6, 7) static int fail(char *err, size_t errlen, int r, const char *origin, unsigned line,
			       const char *fmt, ...)
{
	if (err && errlen) {
		int n = line ? snprintf(err, errlen, "%s:%u: ", origin, line)
			     : snprintf(err, errlen, "%s: ", origin);
		if (n >= 0 && (size_t)n < errlen) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(err + n, errlen - n, fmt, ap);
			va_end(ap);
		}
	}
	return r;
}

/* ---- the policy object ---- */

int sb_policy_new(sb_policy **ret)
{
	sb_policy *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	*ret = p;
	return 0;
}

void policy_rule_free(struct policy_rule *r)
{
	if (!r)
		return;
	switch (r->kind) {
	case RULE_ALLOW:
	case RULE_ALLOW_READ:
	case RULE_DENY:
	case RULE_HIDE:
		policy_pattern_done(&r->pattern);
		break;
	case RULE_REDIRECT:
		free(r->redirect.from);
		free(r->redirect.to);
		break;
	case RULE_NET_ALLOW:
	case RULE_NET_DENY:
	case RULE_BIND_ALLOW:
	case RULE_BIND_DENY:
		policy_addr_done(&r->addr);
		break;
	case RULE_AUDIT:
	case RULE_LEARN:
	case RULE_STDOUT:
	case RULE_STDERR:
		free(r->file);
		break;
	case RULE_ALLOW_MOUNT:
		free(r->mount.fstype);
		policy_pattern_done(&r->mount.target);
		free(r->mount.options);
		break;
	default:
		break;
	}
	free(r);
}

static void truncate_rules(sb_policy *p, size_t n)
{
	while (p->n_rules > n)
		policy_rule_free(p->rules[--p->n_rules]);
}

void sb_policy_free(sb_policy *p)
{
	if (!p)
		return;
	truncate_rules(p, 0);
	free(p->rules);
	for (size_t i = 0; i < p->n_origins; i++)
		free(p->origins[i]);
	free(p->origins);
	free(p);
}

static const char *intern_origin(sb_policy *p, const char *origin)
{
	for (size_t i = p->n_origins; i > 0; i--)
		if (!strcmp(p->origins[i - 1], origin))
			return p->origins[i - 1];
	char **n = realloc(p->origins, (p->n_origins + 1) * sizeof(char *));
	if (!n)
		return NULL;
	p->origins = n;
	n[p->n_origins] = strdup(origin);
	if (!n[p->n_origins])
		return NULL;
	return p->origins[p->n_origins++];
}

static int append_rule(sb_policy *p, struct policy_rule *r)
{
	if (p->n_rules == p->n_alloc) {
		size_t na = p->n_alloc ? p->n_alloc * 2 : 16;
		struct policy_rule **n = realloc(p->rules, na * sizeof(*n));
		if (!n)
			return -ENOMEM;
		p->rules = n;
		p->n_alloc = na;
	}
	r->index = p->n_rules;
	p->rules[p->n_rules++] = r;
	return 0;
}

/* ---- paths ---- */

/* The directory part of path as written: "a/b.policy" -> "a", "b.policy" -> ".", "/x" -> "/". */
static char *dirname_text(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return strdup(".");
	while (slash > path && slash[-1] == '/')
		slash--;
	if (slash == path)
		return strdup("/");
	return strndup(path, slash - path);
}

static char *path_join(const char *dir, const char *name)
{
	char *s;

	if (name[0] == '/' || !strcmp(dir, "."))
		return strdup(name);
	size_t dl = strlen(dir);
	if (asprintf(&s, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", name) < 0)
		return NULL;
	return s;
}

/*
 * The absolute directory of a file we are about to read. Output files named in it are stored
 * absolute, so they do not change meaning when the supervisor changes directory, and a dump
 * read back resolves to the same names.
 */
static int absolute_dir(const char *path, char **ret)
{
	_cleanup_free_ char *d = dirname_text(path);
	char cwd[PATH_MAX];

	if (!d)
		return -ENOMEM;
	if (d[0] == '/') {
		*ret = TAKE_PTR(d);
		return 0;
	}
	if (!getcwd(cwd, sizeof(cwd)))
		return negative_errno();
	if (!strcmp(d, "."))
		*ret = strdup(cwd);
	else
		*ret = path_join(cwd, d);
	return *ret ? 0 : -ENOMEM;
}

/* ---- rule arguments ---- */

typedef int (*parse_fn)(const sb_policy *p, struct policy_rule *r, char **args, size_t n,
			const struct frame *f, char *why, size_t whylen);

static int parse_fs_pattern(const sb_policy *p, struct policy_rule *r, char **args, size_t n,
			    const struct frame *f, char *why, size_t whylen)
{
	return policy_pattern_parse(args[0], true, &r->pattern, why, whylen);
}

static int parse_redirect(const sb_policy *p, struct policy_rule *r, char **args, size_t n,
			  const struct frame *f, char *why, size_t whylen)
{
	struct policy_pattern from = {}, to = {};
	int k;

	k = policy_pattern_parse(args[0], false, &from, why, whylen);
	if (k < 0)
		return k;
	k = policy_pattern_parse(args[1], false, &to, why, whylen);
	if (k < 0) {
		policy_pattern_done(&from);
		return k;
	}
	r->redirect.from = TAKE_PTR(from.text);
	r->redirect.to = TAKE_PTR(to.text);
	policy_pattern_done(&from);
	policy_pattern_done(&to);
	return 0;
}

static int parse_default(const sb_policy *p, struct policy_rule *r, char **args, size_t n,
			 const struct frame *f, char *why, size_t whylen)
{
	if (!strcmp(args[0], "allow"))
		r->fs_default = FS_ALLOW;
	else if (!strcmp(args[0], "allow-read"))
		r->fs_default = FS_ALLOW_READ;
	else if (!strcmp(args[0], "deny"))
		r->fs_default = FS_DENY;
	else
		return policy_why(why, whylen, "expected allow, allow-read or deny, not '%s'",
				  args[0]);
	return 0;
}

static int parse_net_default(const sb_policy *p, struct policy_rule *r, char **args, size_t n,
			     const struct frame *f, char *why, size_t whylen)
{
	if (!strcmp(args[0], "allow"))
		r->net_default = NET_ALLOW;
	else if (!strcmp(args[0], "deny"))
		r->net_default = NET_DENY;
	else
		return policy_why(why, whylen, "expected allow or deny, not '%s'", args[0]);
	return 0;
}

static int parse_addr(const sb_policy *p, struct policy_rule *r, char **args, size_t n,
		      const struct frame *f, char *why, size_t whylen)
{
	char w[WHY_MAX];
	int k = policy_addr_parse(args[0], &r->addr, w, sizeof(w));

	if (k == -EINVAL)
		return policy_why(why, whylen, "bad address '%s': %s", args[0], w);
	return k;
}

static int parse_nothing(const sb_policy *p, struct policy_rule *r, char **args, size_t n,
			 const struct frame *f, char *why, size_t whylen)
{
	return 0;
}

static int parse_publish(const sb_policy *p, struct policy_rule *r, char **args, size_t n,
			 const struct frame *f, char *why, size_t whylen)
{
	char w[WHY_MAX];
	int k = policy_publish_parse(args[0], r, w, sizeof(w));

	if (k < 0)
		return policy_why(why, whylen, "bad '%s': %s", args[0], w);
	/* Two listeners on one host address and port cannot both exist. */
	for (const struct policy_rule *o = policy_next(p, RULE_PUBLISH, NULL); o;
	     o = policy_next(p, RULE_PUBLISH, o))
		if (o->publish.port == r->publish.port &&
		    o->publish.host_len == r->publish.host_len &&
		    !memcmp(&o->publish.host, &r->publish.host, r->publish.host_len))
			return policy_why(why, whylen, "port %u is already published at %s:%u",
					  r->publish.port, o->origin, o->line);
	return 0;
}

static int parse_file(const sb_policy *p, struct policy_rule *r, char **args, size_t n,
		      const struct frame *f, char *why, size_t whylen)
{
	const char *name = args[0];

	if (!*name)
		return policy_why(why, whylen, "empty file name");
	if (!strcmp(name, "-")) {
		/* Only the audit trail has a sensible "standard output" meaning. */
		if (r->kind != RULE_AUDIT)
			return policy_why(why, whylen, "needs a file name ('-' is for audit only)");
		r->file = strdup(name);
	} else if (!f->dir) {
		r->file = strdup(name);
	} else {
		r->file = path_join(f->dir, name);
	}
	return r->file ? 0 : -ENOMEM;
}

/*
 * Rule options say what the supervisor enforces on the mounts it performs: restrictive ones
 * (ro, nosuid, ...) are forced on, an atime mode replaces the one asked for, and permissive ones
 * (rw, suid, dev, ...) only waive a default. Nothing ever removes a restriction the program
 * asked for itself. Filesystem-specific data ("size=", "mode=") is not a rule option.
 */
static const struct mount_opt {
	const char *name;
	unsigned long set, clear, waive;
} mount_opts[] = {
    {"ro", MS_RDONLY, 0, 0},
    {"rw", 0, 0, MS_RDONLY},
    {"nosuid", MS_NOSUID, 0, 0},
    {"suid", 0, 0, MS_NOSUID},
    {"nodev", MS_NODEV, 0, 0},
    {"dev", 0, 0, MS_NODEV},
    {"noexec", MS_NOEXEC, 0, 0},
    {"exec", 0, 0, MS_NOEXEC},
    {"nosymfollow", MS_NOSYMFOLLOW, 0, 0},
    {"symfollow", 0, 0, MS_NOSYMFOLLOW},
    {"sync", MS_SYNCHRONOUS, 0, 0},
    {"async", 0, 0, MS_SYNCHRONOUS},
    {"dirsync", MS_DIRSYNC, 0, 0},
    {"relatime", MS_RELATIME, MS_NOATIME | MS_STRICTATIME, 0},
    {"noatime", MS_NOATIME, MS_RELATIME | MS_STRICTATIME, 0},
    {"strictatime", MS_STRICTATIME, MS_NOATIME | MS_RELATIME, 0},
    {"nodiratime", MS_NODIRATIME, 0, 0},
    {"lazytime", MS_LAZYTIME, 0, 0},
};

static int parse_mount_options(const char *opts, struct policy_rule *r, char *why, size_t whylen)
{
	unsigned long set = 0, clear = 0, waive = 0;

	for (const char *p = opts;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		const struct mount_opt *o = NULL;

		if (len == 0)
			return policy_why(why, whylen, "empty mount option in '%s'", opts);
		for (size_t i = 0; i < ELEMENTSOF(mount_opts); i++)
			if (strlen(mount_opts[i].name) == len &&
			    !memcmp(mount_opts[i].name, p, len))
				o = &mount_opts[i];
		if (!o)
			return policy_why(
			    why, whylen,
			    "unknown mount option '%.*s' (known: ro rw nosuid suid "
			    "nodev dev noexec exec nosymfollow symfollow sync async "
			    "dirsync relatime noatime strictatime nodiratime lazytime)",
			    (int)len, p);
		set |= o->set;
		clear |= o->clear;
		waive |= o->waive;
		if ((set & clear) || (set & waive))
			return policy_why(why, whylen, "conflicting mount options in '%s'", opts);
		if (!comma)
			break;
		p = comma + 1;
	}
	/* Mounts done with the supervisor's privileges get nosuid and nodev unless the rule
	 * waives them: a set-uid file or a device node on them would reach the host. */
	if (!(waive & MS_NOSUID))
		set |= MS_NOSUID;
	if (!(waive & MS_NODEV))
		set |= MS_NODEV;
	r->mount.set_flags = set;
	r->mount.clear_flags = clear;
	return 0;
}

static int parse_mount(const sb_policy *p, struct policy_rule *r, char **args, size_t n,
		       const struct frame *f, char *why, size_t whylen)
{
	const char *fstype = args[0];
	size_t len = strlen(fstype);
	int k;

	/* Known types (tmpfs proc sysfs overlay bind mqueue devpts) and others alike are one
	 * word as the kernel names them ("fuse.sshfs", "9p"). */
	if (len == 0 || len > 64 ||
	    strspn(fstype, "abcdefghijklmnopqrstuvwxyz"
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-") != len)
		return policy_why(why, whylen, "bad filesystem type '%s'", fstype);
	/* Arguments are checked in the order they are written, so the error names the first. */
	k = policy_pattern_parse(args[1], true, &r->mount.target, why, whylen);
	if (k < 0)
		return k;
	k = parse_mount_options(n > 2 ? args[2] : "nosuid,nodev", r, why, whylen);
	if (k < 0)
		return k;
	if (n > 2) {
		r->mount.options = strdup(args[2]);
		if (!r->mount.options)
			return -ENOMEM;
	}
	r->mount.fstype = strdup(fstype);
	return r->mount.fstype ? 0 : -ENOMEM;
}

static int parse_mknod(const sb_policy *p, struct policy_rule *r, char **args, size_t n,
		       const struct frame *f, char *why, size_t whylen)
{
	for (size_t i = 0; i < n; i++) {
		int d = policy_device_from_name(args[i]);
		if (d < 0)
			return policy_why(why, whylen,
					  "unknown device '%s' (known: null zero full random "
					  "urandom tty whiteout)",
					  args[i]);
		r->mknod_devices |= 1u << d;
	}
	return 0;
}

static int parse_sysinfo(const sb_policy *p, struct policy_rule *r, char **args, size_t n,
			 const struct frame *f, char *why, size_t whylen)
{
	if (strcmp(args[0], "cgroup"))
		return policy_why(why, whylen, "expected cgroup, not '%s'", args[0]);
	return 0;
}

#define ARGS_MANY UINT_MAX

static const struct rule_def {
	const char *name;
	enum policy_kind kind;
	unsigned min_args, max_args;
	const char *usage;
	parse_fn parse;
} rule_defs[RULE_KIND_MAX] = {
    [RULE_ALLOW] = {"allow", RULE_ALLOW, 1, 1, "allow PATTERN", parse_fs_pattern},
    [RULE_ALLOW_READ] = {"allow-read", RULE_ALLOW_READ, 1, 1, "allow-read PATTERN",
			 parse_fs_pattern},
    [RULE_DENY] = {"deny", RULE_DENY, 1, 1, "deny PATTERN", parse_fs_pattern},
    [RULE_HIDE] = {"hide", RULE_HIDE, 1, 1, "hide PATTERN", parse_fs_pattern},
    [RULE_REDIRECT] = {"redirect", RULE_REDIRECT, 2, 2, "redirect FROM TO", parse_redirect},
    [RULE_DEFAULT] = {"default", RULE_DEFAULT, 1, 1, "default allow|allow-read|deny",
		      parse_default},
    [RULE_NET_ALLOW] = {"net-allow", RULE_NET_ALLOW, 1, 1, "net-allow ADDR", parse_addr},
    [RULE_NET_DENY] = {"net-deny", RULE_NET_DENY, 1, 1, "net-deny ADDR", parse_addr},
    [RULE_BIND_ALLOW] = {"bind-allow", RULE_BIND_ALLOW, 1, 1, "bind-allow ADDR", parse_addr},
    [RULE_BIND_DENY] = {"bind-deny", RULE_BIND_DENY, 1, 1, "bind-deny ADDR", parse_addr},
    [RULE_NET_DEFAULT] = {"net-default", RULE_NET_DEFAULT, 1, 1, "net-default allow|deny",
			  parse_net_default},
    [RULE_UNSHARE_NET] = {"unshare-net", RULE_UNSHARE_NET, 0, 0, "unshare-net", parse_nothing},
    [RULE_NET_BROKER] = {"net-broker", RULE_NET_BROKER, 0, 0, "net-broker", parse_nothing},
    [RULE_PUBLISH] = {"publish", RULE_PUBLISH, 1, 1, "publish [HOST:]PORT[:INNERPORT]",
		      parse_publish},
    [RULE_AUDIT] = {"audit", RULE_AUDIT, 1, 1, "audit FILE|-", parse_file},
    [RULE_LEARN] = {"learn", RULE_LEARN, 1, 1, "learn FILE", parse_file},
    [RULE_STDOUT] = {"stdout", RULE_STDOUT, 1, 1, "stdout FILE", parse_file},
    [RULE_STDERR] = {"stderr", RULE_STDERR, 1, 1, "stderr FILE", parse_file},
    [RULE_ALLOW_MOUNT] = {"allow-mount", RULE_ALLOW_MOUNT, 2, 3,
			  "allow-mount FSTYPE TARGET-PATTERN [OPTION,...]", parse_mount},
    [RULE_ALLOW_MKNOD] = {"allow-mknod", RULE_ALLOW_MKNOD, 1, ARGS_MANY, "allow-mknod DEVICE...",
			  parse_mknod},
    [RULE_SYSINFO_CGROUP] = {"sysinfo", RULE_SYSINFO_CGROUP, 1, 1, "sysinfo cgroup", parse_sysinfo},
};

const char *policy_kind_name(enum policy_kind kind)
{
	if ((unsigned)kind >= RULE_KIND_MAX)
		return NULL;
	return rule_defs[kind].name;
}

/* ---- files and include ---- */

static int parse_text(sb_policy *p, const char *text, size_t len, const struct frame *f, char *err,
		      size_t errlen);

/* Reads a whole regular file of at most POLICY_FILE_MAX bytes. */
static int read_policy_file(const char *path, char **ret_text, size_t *ret_len, dev_t *ret_dev,
			    ino_t *ret_ino, const char **ret_what)
{
	/* O_NONBLOCK: a FIFO named by mistake must not hang the parser before the S_ISREG check. */
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, alloc = 0;
	struct stat st;

	*ret_what = NULL;
	if (fd < 0)
		return negative_errno();
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode)) {
		*ret_what = "not a regular file";
		return -EINVAL;
	}
	/* The size from fstat is only a hint (procfs says 0): read until EOF. */
	for (;;) {
		if (len == alloc) {
			size_t na = alloc ? alloc * 2 : 4096;
			if (na > POLICY_FILE_MAX + 1)
				na = POLICY_FILE_MAX + 1;
			if (na == alloc) {
				*ret_what = "larger than 1 MiB";
				return -EFBIG;
			}
			char *nb = realloc(buf, na);
			if (!nb)
				return -ENOMEM;
			buf = nb;
			alloc = na;
		}
		ssize_t k = read(fd, buf + len, alloc - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return negative_errno();
		if (k == 0)
			break;
		len += (size_t)k;
	}
	*ret_text = TAKE_PTR(buf);
	*ret_len = len;
	*ret_dev = st.st_dev;
	*ret_ino = st.st_ino;
	return 0;
}

/*
 * Reads path and parses it as a policy file. from (with line) is the include that names it,
 * NULL for a file given directly; errors about the file itself are reported there.
 */
static int load_file(sb_policy *p, const char *path, const struct frame *from, unsigned line,
		     char *err, size_t errlen)
{
	const char *at = from ? from->origin : path;
	unsigned at_line = from ? line : 0;
	_cleanup_free_ char *text = NULL, *dir = NULL;
	const char *what;
	size_t len;
	struct frame f = {.parent = from, .depth = from ? from->depth + 1 : 0, .has_id = true};
	int r;

	if (f.depth > POLICY_INCLUDE_DEPTH_MAX)
		return fail(err, errlen, -ELOOP, at, at_line, "includes nested more than %d deep",
			    POLICY_INCLUDE_DEPTH_MAX);

	r = read_policy_file(path, &text, &len, &f.dev, &f.ino, &what);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		const char *reason = what ? what : strerror(-r);
		return from ? fail(err, errlen, r, at, at_line, "cannot read %s: %s", path, reason)
			    : fail(err, errlen, r, at, 0, "%s", reason);
	}
	for (const struct frame *a = from; a; a = a->parent)
		if (a->has_id && a->dev == f.dev && a->ino == f.ino)
			return fail(err, errlen, -ELOOP, at, at_line,
				    "include cycle: %s is already being read", path);

	r = absolute_dir(path, &dir);
	if (r < 0)
		return fail(err, errlen, r, at, at_line, "cannot resolve the directory of %s: %s",
			    path, strerror(-r));
	f.dir = dir;
	f.origin = intern_origin(p, path);
	if (!f.origin)
		return -ENOMEM;
	return parse_text(p, text, len, &f, err, errlen);
}

static int include_file(sb_policy *p, const char *name, const struct frame *f, unsigned line,
			char *err, size_t errlen)
{
	_cleanup_free_ char *path = NULL;

	if (!*name)
		return fail(err, errlen, -EINVAL, f->origin, line, "include: empty file name");
	/* Relative to the including file's directory as written, so the origin shown for the
	 * included rules reads like the path a user would type. The command line has none. */
	if (!f->dir || name[0] == '/') {
		path = strdup(name);
	} else {
		_cleanup_free_ char *d = dirname_text(f->origin);
		path = d ? path_join(d, name) : NULL;
	}
	if (!path)
		return -ENOMEM;
	return load_file(p, path, f, line, err, errlen);
}

/* ---- words to rules ---- */

static int add_words(sb_policy *p, char **words, size_t n, const struct frame *f, unsigned line,
		     char *err, size_t errlen)
{
	const struct rule_def *def = NULL;
	char why[WHY_MAX];
	int r;

	if (n == 0)
		return fail(err, errlen, -EINVAL, f->origin, line, "empty rule");
	if (!strcmp(words[0], "include")) {
		if (n != 2)
			return fail(err, errlen, -EINVAL, f->origin, line,
				    "include: wrong number of arguments (usage: include FILE)");
		return include_file(p, words[1], f, line, err, errlen);
	}
	for (size_t i = 0; i < ELEMENTSOF(rule_defs); i++)
		if (!strcmp(words[0], rule_defs[i].name))
			def = &rule_defs[i];
	if (!def)
		return fail(err, errlen, -EINVAL, f->origin, line, "unknown rule '%s'", words[0]);
	if (n - 1 < def->min_args || n - 1 > def->max_args)
		return fail(err, errlen, -EINVAL, f->origin, line,
			    "%s: wrong number of arguments (usage: %s)", def->name, def->usage);

	struct policy_rule *rule = calloc(1, sizeof(*rule));
	if (!rule)
		return -ENOMEM;
	rule->kind = def->kind;
	rule->origin = f->origin;
	rule->line = line;
	why[0] = 0;
	r = def->parse(p, rule, words + 1, n - 1, f, why, sizeof(why));
	if (r >= 0)
		r = append_rule(p, rule);
	if (r < 0) {
		policy_rule_free(rule);
		if (r == -ENOMEM)
			return r;
		return fail(err, errlen, r, f->origin, line, "%s: %s", def->name, why);
	}
	return 0;
}

static int parse_line(sb_policy *p, const char *text, size_t len, const struct frame *f,
		      unsigned line, char *err, size_t errlen)
{
	_cleanup_(policy_strv_freep) char **words = NULL;
	char why[WHY_MAX];
	size_t n;
	int r;

	r = policy_lex_line(text, len, &words, &n, why, sizeof(why));
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return fail(err, errlen, r, f->origin, line, "%s", why);
	if (n == 0)
		return 0;
	return add_words(p, words, n, f, line, err, errlen);
}

static int parse_text(sb_policy *p, const char *text, size_t len, const struct frame *f, char *err,
		      size_t errlen)
{
	unsigned line = 1;
	size_t pos = 0;
	int r;

	/* Some editors start UTF-8 files with a byte-order mark; it carries no meaning. */
	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		pos = 3;
	while (pos < len) {
		const char *eol = memchr(text + pos, '\n', len - pos);
		size_t llen = eol ? (size_t)(eol - (text + pos)) : len - pos;

		r = parse_line(p, text + pos, llen, f, line, err, errlen);
		if (r < 0)
			return r;
		pos += llen + 1;
		line++;
	}
	return 0;
}

/* ---- entry points ---- */

int sb_policy_load_file(sb_policy *p, const char *path, char *err, size_t errlen)
{
	size_t n0 = p->n_rules;
	int r;

	if (!path || !*path) {
		if (err && errlen)
			snprintf(err, errlen, "empty policy file name");
		return -EINVAL;
	}
	r = load_file(p, path, NULL, 0, err, errlen);
	if (r < 0)
		truncate_rules(p, n0);
	return r;
}

int policy_parse_buffer(sb_policy *p, const char *text, size_t len, const char *origin, char *err,
			size_t errlen)
{
	_cleanup_free_ char *dir = NULL;
	size_t n0 = p->n_rules;
	int r;

	dir = dirname_text(origin);
	struct frame f = {.origin = intern_origin(p, origin), .dir = dir};
	if (!dir || !f.origin)
		return -ENOMEM;
	r = parse_text(p, text, len, &f, err, errlen);
	if (r < 0)
		truncate_rules(p, n0);
	return r;
}

static int line_frame(sb_policy *p, const char *origin, struct frame *f, char **ret_dir)
{
	*ret_dir = NULL;
	if (!origin)
		origin = "cli";
	f->origin = intern_origin(p, origin);
	if (!f->origin)
		return -ENOMEM;
	/* On the command line file names mean what they say; elsewhere they are relative to
	 * the file the rule claims to come from. */
	if (strcmp(origin, "cli")) {
		*ret_dir = dirname_text(origin);
		if (!*ret_dir)
			return -ENOMEM;
		f->dir = *ret_dir;
	}
	return 0;
}

int policy_parse_line(sb_policy *p, const char *text, size_t len, const char *origin, unsigned line,
		      char *err, size_t errlen)
{
	_cleanup_free_ char *dir = NULL;
	struct frame f = {};
	size_t n0 = p->n_rules;
	int r;

	r = line_frame(p, origin, &f, &dir);
	if (r < 0)
		return r;
	r = parse_line(p, text, len, &f, line, err, errlen);
	if (r < 0)
		truncate_rules(p, n0);
	return r;
}

int sb_policy_add(sb_policy *p, const char *const *words, size_t n_words, const char *origin,
		  unsigned line, char *err, size_t errlen)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_free_ char **copy = NULL;
	struct frame f = {};
	size_t n0 = p->n_rules;
	char why[WHY_MAX];
	int r;

	r = line_frame(p, origin, &f, &dir);
	if (r < 0)
		return r;
	/* Words from argv never went through the lexer: hold them to the same standard. */
	for (size_t i = 0; i < n_words; i++) {
		r = policy_text_check(words[i], strlen(words[i]), why, sizeof(why));
		if (r < 0)
			return fail(err, errlen, r, f.origin, line, "word %zu: %s", i + 1, why);
	}
	copy = calloc(n_words + 1, sizeof(char *));
	if (!copy)
		return -ENOMEM;
	for (size_t i = 0; i < n_words; i++)
		copy[i] = (char *)words[i];
	r = add_words(p, copy, n_words, &f, line, err, errlen);
	if (r < 0)
		truncate_rules(p, n0);
	return r;
}

/* ---- reading rules ---- */

size_t policy_n_rules(const sb_policy *p)
{
	return p->n_rules;
}

const struct policy_rule *policy_rule(const sb_policy *p, size_t i)
{
	return i < p->n_rules ? p->rules[i] : NULL;
}

const struct policy_rule *policy_next(const sb_policy *p, enum policy_kind kind,
				      const struct policy_rule *prev)
{
	for (size_t i = prev ? prev->index + 1 : 0; i < p->n_rules; i++)
		if (p->rules[i]->kind == kind)
			return p->rules[i];
	return NULL;
}

void sb_policy_get_settings(const sb_policy *p, sb_policy_settings *ret)
{
	*ret = (sb_policy_settings){};
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct policy_rule *r = p->rules[i];
		switch (r->kind) {
		case RULE_AUDIT:
			ret->audit = r->file;
			break;
		case RULE_LEARN:
			ret->learn = r->file;
			break;
		case RULE_STDOUT:
			ret->stdout_path = r->file;
			break;
		case RULE_STDERR:
			ret->stderr_path = r->file;
			break;
		case RULE_UNSHARE_NET:
			ret->unshare_net = true;
			break;
		case RULE_NET_BROKER:
			ret->net_broker = true;
			break;
		case RULE_SYSINFO_CGROUP:
			ret->sysinfo_cgroup = true;
			break;
		default:
			break;
		}
	}
}

int sb_policy_check_spawn(const sb_policy *p, char *err, size_t errlen)
{
	const struct policy_rule *needs = NULL;
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct policy_rule *r = p->rules[i];
		if (r->kind == RULE_UNSHARE_NET)
			return 0; /* wherever it is written: a setting, not a rule in order */
		if (!needs && (r->kind == RULE_NET_BROKER || r->kind == RULE_PUBLISH))
			needs = r;
	}
	if (!needs)
		return 0;
	/* Without it the program shares our namespace: net-broker would have nothing to
	 * broker and publish would publish nothing, silently. Refused rather than implied:
	 * unshare-net also takes away the program's network, which must be asked for. */
	if (err && errlen)
		snprintf(err, errlen,
			 "%s:%u: %s needs unshare-net (a network namespace of the program's own)",
			 needs->origin, needs->line, policy_kind_name(needs->kind));
	return -EINVAL;
}
