/* Shared steps of the filesystem handler families: one path argument resolved in the
 * target's view and pinned, and the policy's answer for the object reached. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "engine.h"
#include "fs_common.h"
#include "identity.h"
#include "macros.h"
#include "strutil.h"

/* An allowed access keeps "redirect" as its action when a redirect served it. */
static void note_allow(sb_req *r, const char *action, const struct policy_rule *rule)
{
	sb_req_note *n = sb_req_note_get(r);
	if (n->action && !strcmp(n->action, "redirect"))
		return;
	sandbox_note_rule(r, action, rule);
}

int fs_decide(sb_req *r, struct sb_sandbox *sb, const char *real, enum fs_want want)
{
	if (sb->fs_trivial) {
		sb_req_note_get(r)->action = "allow";
		return 0; /* no fs rule: nothing to decide, only the resolution matters */
	}
	if (real[0] != '/') {
		/* A pipe, a socket, an anonymous inode ("pipe:[N]"), reached through an fd the
		 * program holds: in no directory, so no rule speaks of it. */
		note_allow(r, "allow", NULL);
		return 0;
	}
	struct fs_decision d;
	policy_fs_decide(sb->policy, real, &d);
	switch (d.access) {
	case FS_ALLOW:
		note_allow(r, "allow", d.rule);
		return 0;
	case FS_ALLOW_READ:
		if (want == FS_WANT_WRITE) {
			sandbox_note_rule(r, "deny", d.rule);
			return EACCES;
		}
		note_allow(r, "allow", d.rule);
		return 0;
	case FS_HIDE:
		sandbox_note_rule(r, "hide", d.rule);
		return ENOENT;
	case FS_DENY:
	default:
		sandbox_note_rule(r, "deny", d.rule);
		return EACCES;
	}
}

/* Sets up where the walk of a->path starts (sharing first's context if given). */
static int arg_start(sb_req *r, struct fs_arg *first, int dirfd, bool empty_path, struct fs_arg *a)
{
	int k;
	if (!first) {
		k = resolve_begin(r, dirfd, a->path, empty_path, &a->c);
		if (k < 0)
			return k;
		a->begun = true;
		a->startfd = a->c.startfd;
		return 0;
	}
	a->c = first->c;
	bool on_proc;
	int start = resolve_another_start(r, &first->c, dirfd, a->path, empty_path, &on_proc);
	if (start < 0 && start != RESOLVE_AT_ROOT)
		return start;
	a->c.startfd = a->startfd = start;
	a->c.start_on_proc = on_proc;
	return 0;
}

/* Reads the path, then arg_start. */
static int arg_begin(sb_req *r, struct fs_arg *first, int dirfd, uint64_t addr, bool empty_path,
		     struct fs_arg *a)
{
	a->begun = false;
	a->startfd = -1;
	a->fd = -1;
	a->name[0] = a->real[0] = 0;
	/* A second argument is read while the first holds the target's identity: read it
	 * as ourselves (a target that changed uid without exec is not dumpable, and its
	 * effective caps would not let us read its memory). */
	int k;
	if (first) {
		identity_restore();
	} else {
		/* The caller's identity before the read: its ID_VALID proves both. */
		k = req_ident_early(r);
		if (k < 0)
			return k;
	}
	k = sb_req_read_string(r, addr, a->path, sizeof(a->path));
	if (first) {
		int k2 = identity_assume(&first->c.creds);
		if (k2 < 0)
			return k2;
	}
	if (k < 0)
		return k;
	if (!a->path[0] && !empty_path)
		return -ENOENT;
	return arg_start(r, first, dirfd, empty_path, a);
}

static void note_path(sb_req *r, const char *real)
{
	sb_req_note *n = sb_req_note_get(r);
	if (!n->path[0])
		strlcpy_sb(n->path, real, sizeof(n->path));
}

static int arg_pin(sb_req *r, struct fs_arg *first, int dirfd, uint64_t addr, bool follow,
		   bool empty_path, fs_ids_fn ids, struct fs_arg *a)
{
	int k = arg_begin(r, first, dirfd, addr, empty_path, a);
	if (k < 0)
		return k;
	if (ids) {
		k = ids(r, &a->c.creds);
		if (k < 0)
			return k;
		k = identity_assume(&a->c.creds);
		if (k < 0)
			return k;
	}
	if (!a->path[0])
		a->fd = fcntl(a->startfd, F_DUPFD_CLOEXEC, 0); /* AT_EMPTY_PATH: the dirfd itself */
	else
		a->fd = fs_resolve_pin(r, &a->c, a->startfd, a->path, follow, 0);
	if (a->fd < 0) {
		note_path(r, a->path); /* nothing reached: the name as the program gave it */
		return a->fd == -1 ? negative_errno() : a->fd;
	}
	k = resolve_fd_path(a->fd, a->real, sizeof(a->real));
	if (k < 0)
		return k;
	note_path(r, a->real);
	return 0;
}

int fs_arg_pin(sb_req *r, struct fs_arg *first, int dirfd, uint64_t addr, bool follow,
	       bool empty_path, struct fs_arg *a)
{
	return arg_pin(r, first, dirfd, addr, follow, empty_path, NULL, a);
}

int fs_arg_pin_as(sb_req *r, int dirfd, uint64_t addr, bool follow, bool empty_path, fs_ids_fn ids,
		  struct fs_arg *a)
{
	return arg_pin(r, NULL, dirfd, addr, follow, empty_path, ids, a);
}

int fs_arg_parent(sb_req *r, struct fs_arg *first, int dirfd, uint64_t addr, struct fs_arg *a)
{
	int k = arg_begin(r, first, dirfd, addr, false, a);
	if (k < 0)
		return k;
	a->fd = fs_resolve_parent(r, &a->c, a->startfd, a->path, a->name, sizeof(a->name));
	if (a->fd < 0) {
		note_path(r, a->path);
		return a->fd;
	}
	k = resolve_fd_path(a->fd, a->real, sizeof(a->real));
	if (k < 0)
		return k;
	size_t rl = strlen(a->real);
	if (rl + 1 + strlen(a->name) >= sizeof(a->real))
		return -ENAMETOOLONG;
	snprintf(a->real + rl, sizeof(a->real) - rl, "%s%s", rl > 1 ? "/" : "", a->name);
	note_path(r, a->real);
	return 0;
}

int fs_arg_pin_empty(sb_req *r, int dirfd, struct fs_arg *a)
{
	a->begun = false;
	a->startfd = -1;
	a->fd = -1;
	a->name[0] = a->real[0] = a->path[0] = 0;
	int k = arg_start(r, NULL, dirfd, true, a);
	if (k < 0)
		return k;
	a->fd = fcntl(a->startfd, F_DUPFD_CLOEXEC, 0);
	if (a->fd < 0)
		return negative_errno();
	k = resolve_fd_path(a->fd, a->real, sizeof(a->real));
	if (k < 0)
		return k;
	note_path(r, a->real);
	return 0;
}

void fs_arg_end(struct fs_arg *a)
{
	a->fd = safe_close(a->fd);
	if (a->begun) {
		resolve_end(&a->c); /* closes c.startfd and gives back our identity */
		a->begun = false;
	} else {
		safe_close(a->startfd);
	}
	a->startfd = -1;
}

/* ---- redirect: a bind mount of TO on FROM, made by the walk ---- */

#define MAX_LINKS 40	 /* symlinks per walk, as the kernel's MAXSYMLINKS */
#define MAX_REDIRECTS 40 /* redirects per walk: "redirect /a /b" with "redirect /b /a" ends */
#define MAX_JUMPS 8	 /* TO tops remembered for ".." */

/*
 * What follows dir in path when dir is path or one of its parents ("" or "/..."), else NULL.
 * Whole components only (/ab is not below /a). Both are absolute and normalised: rules are
 * normalised by the parser, real paths by the kernel.
 */
static const char *path_below(const char *dir, const char *path)
{
	if (!strcmp(dir, "/"))
		return path[0] == '/' ? (path[1] ? path : "") : NULL;
	size_t n = strlen(dir);
	if (strncmp(dir, path, n) || (path[n] && path[n] != '/'))
		return NULL;
	return path + n;
}

/*
 * The redirect serving real: the last one written whose FROM is real or a parent of it, with
 * what follows FROM in ret_below. A rule whose TO lies inside its own FROM does not apply
 * again to what it serves ("redirect /a /a/b" must not send /a/b/x on to /a/b/b/x).
 */
static const struct policy_rule *redirect_for(const sb_policy *p, const char *real,
					      const char **ret_below)
{
	const struct policy_rule *found = NULL;
	for (const struct policy_rule *rule = policy_next(p, RULE_REDIRECT, NULL); rule;
	     rule = policy_next(p, RULE_REDIRECT, rule)) {
		const char *below = path_below(rule->redirect.from, real);
		if (!below)
			continue;
		if (path_below(rule->redirect.from, rule->redirect.to) &&
		    path_below(rule->redirect.to, real))
			continue;
		found = rule;
		*ret_below = below;
	}
	return found;
}

/*
 * Can reaching the component comp put the walk on a FROM? Only when comp is some FROM's
 * last component: the walk expands symlinks itself, so the name of what it reaches is the
 * name it looked up ("", for the root). Saves a readlink per component.
 */
static bool may_be_from(const sb_policy *p, const char *comp)
{
	for (const struct policy_rule *rule = policy_next(p, RULE_REDIRECT, NULL); rule;
	     rule = policy_next(p, RULE_REDIRECT, rule))
		if (!strcmp(strrchr(rule->redirect.from, '/') + 1, comp))
			return true;
	return false;
}

static bool fd_on_proc(int fd)
{
	struct statfs sfs;
	return fstatfs(fd, &sfs) == 0 && sfs.f_type == PROC_SUPER_MAGIC;
}

static bool fd_is_proc_root(int fd)
{
	struct stat st;
	return fd_on_proc(fd) && fstat(fd, &st) == 0 && st.st_ino == 1;
}

struct rwalk {
	sb_req *r;
	const sb_policy *p;
	struct resolve_ctx *c;
	uint64_t resolve;
	char buf[2 * PATH_MAX];
	const char *rest; /* what is left of the path, inside buf */
	int cur;	  /* where the walk is (owned) */
	int links, redirects;
	bool want_dir; /* a trailing slash: the object must be a directory */
	/* for resolve_parent: the parent is returned, its last component in name */
	bool want_parent;
	char *name;
	size_t namesz;
	bool finished; /* want_parent met TO itself: result holds its parent (or -errno) */
	bool hide;     /* a hide rule: nothing hidden may be walked through (rw_hidden) */
	int result;
	/* the tops of TO the walk jumped to, for a mount-like ".." back to FROM's parent */
	int n_jumps;
	struct {
		dev_t dev;
		ino_t ino;
		const struct policy_rule *rule;
	} jumps[MAX_JUMPS];
};

/* Puts text (and a slash, unless nothing follows) in front of what is left of the path. */
static int rw_prepend(struct rwalk *w, const char *text, size_t tl)
{
	size_t rl = strlen(w->rest);
	size_t sep = rl ? 1 : 0;
	if (tl + sep + rl + 1 > sizeof(w->buf))
		return -ENAMETOOLONG;
	memmove(w->buf + tl + sep, w->rest, rl + 1);
	memmove(w->buf, text, tl);
	if (sep)
		w->buf[tl] = '/';
	w->rest = w->buf;
	return 0;
}

static void rw_move(struct rwalk *w, int fd)
{
	safe_close(w->cur);
	w->cur = fd;
}

/* Opens a path as it is in the program's root, every symlink followed (TO, FROM's parent:
 * rule paths, resolved as mount --bind resolves its arguments). */
static int pin_rule_path(struct rwalk *w, const char *path)
{
	return resolve_pin(w->c, RESOLVE_AT_ROOT, path, true, 0);
}

/*
 * The walk reached FROM (or below it, by below): it goes on at TO (plus below). With
 * want_parent and nothing left after it, the object itself is TO+below: the walk is
 * finished with its parent. Returns 1 (jumped) or -errno.
 */
static int rw_jump(struct rwalk *w, const struct policy_rule *rule, const char *below)
{
	if (w->resolve & RESOLVE_NO_XDEV)
		return -EXDEV; /* a redirect is a mount crossing */
	if (++w->redirects > MAX_REDIRECTS)
		return -ELOOP;
	sandbox_note_rule(w->r, "redirect", rule);
	if (w->want_parent && !w->rest[strspn(w->rest, "/")]) {
		char to[PATH_MAX];
		int n = snprintf(to, sizeof(to), "%s%s%s",
				 strcmp(rule->redirect.to, "/") ? rule->redirect.to : "", below,
				 *w->rest || w->want_dir ? "/" : "");
		if (n < 0 || (size_t)n >= sizeof(to))
			return -ENAMETOOLONG;
		if (!to[0])
			strcpy(to, "/");
		w->result = resolve_parent(w->c, RESOLVE_AT_ROOT, to, w->name, w->namesz);
		w->finished = true;
		return 1;
	}
	if (*below) {
		int k = rw_prepend(w, below + 1, strlen(below + 1));
		if (k < 0)
			return k;
	}
	int to = pin_rule_path(w, rule->redirect.to);
	if (to < 0)
		return to;
	struct stat st;
	if (fstat(to, &st) < 0) {
		safe_close(to);
		return negative_errno();
	}
	rw_move(w, to);
	if (w->n_jumps < MAX_JUMPS) {
		w->jumps[w->n_jumps].dev = st.st_dev;
		w->jumps[w->n_jumps].ino = st.st_ino;
		w->jumps[w->n_jumps].rule = rule;
		w->n_jumps++;
	}
	return 1;
}

/*
 * A hidden object is as absent for a walk that passes through it as for one that ends there:
 * "H/../x" and a symlink inside H fail with ENOENT where H does not exist, so they must here
 * too, or the answer tells that H exists (and where its links lead). Checked at each ".." (the
 * directory left) and each symlink followed (comp, in the walk's directory); a walk that ends
 * below H is judged by its end. Returns 0 or -ENOENT.
 */
static int rw_hidden(struct rwalk *w, const char *comp)
{
	if (!w->hide)
		return 0;
	char real[PATH_MAX + NAME_MAX + 2];
	int k = resolve_fd_path(w->cur, real, PATH_MAX);
	if (k < 0)
		return k;
	if (comp) {
		size_t l = strlen(real);
		snprintf(real + l, sizeof(real) - l, "%s%s", l > 1 ? "/" : "", comp);
	}
	struct fs_decision d;
	policy_fs_decide(w->p, real, &d);
	if (d.access != FS_HIDE)
		return 0;
	sandbox_note_rule(w->r, "hide", d.rule);
	return -ENOENT;
}

/* Is the walk (its current directory) at or below a FROM? Then it jumps. 0: no. */
static int rw_check(struct rwalk *w)
{
	char real[PATH_MAX];
	int k = resolve_fd_path(w->cur, real, sizeof(real));
	if (k < 0)
		return k;
	const char *below;
	const struct policy_rule *rule = redirect_for(w->p, real, &below);
	if (!rule)
		return 0;
	return rw_jump(w, rule, below);
}

/*
 * comp is missing in the walk's directory. If comp, or a path below it spelled by the rest
 * of the walk, is a FROM, the walk goes on at TO: FROM need not exist, where a mount would
 * need a mount point. Returns 1 after a jump, 0 when nothing is there.
 */
static int rw_missing(struct rwalk *w, const char *comp)
{
	char cand[PATH_MAX];
	int k = resolve_fd_path(w->cur, cand, sizeof(cand));
	if (k < 0)
		return k;
	size_t len = strlen(cand);
	const char *p = comp;
	size_t cl = strlen(comp);
	const char *next = w->rest;
	for (;;) {
		if (len + 1 + cl + 1 > sizeof(cand))
			return 0;
		if (len > 1)
			cand[len++] = '/';
		memcpy(cand + len, p, cl);
		len += cl;
		cand[len] = 0;
		const char *below;
		const struct policy_rule *rule = redirect_for(w->p, cand, &below);
		if (rule) {
			w->rest = next;
			return rw_jump(w, rule, below);
		}
		/* Further down, lexically: what does not exist holds no symlink. */
		for (;;) {
			while (*next == '/')
				next++;
			if (!*next)
				return 0;
			cl = strcspn(next, "/");
			p = next;
			next += cl;
			if (cl == 2 && !strncmp(p, "..", 2))
				return 0;
			if (!(cl == 1 && *p == '.'))
				break;
		}
	}
}

/* ".." at the top of a TO the walk jumped to leads to FROM's parent, as out of a mount. */
static __attribute__((noinline)) int rw_dotdot(struct rwalk *w)
{
	struct stat st;
	if (fstat(w->cur, &st) < 0)
		return negative_errno();
	int top = w->n_jumps - 1;
	if (st.st_dev != w->jumps[top].dev || st.st_ino != w->jumps[top].ino)
		return 0;
	const char *from = w->jumps[top].rule->redirect.from;
	char parent[PATH_MAX];
	strlcpy_sb(parent, from, sizeof(parent));
	char *slash = strrchr(parent, '/');
	if (slash == parent)
		slash[1] = 0;
	else if (slash)
		*slash = 0;
	int fd = pin_rule_path(w, parent);
	if (fd < 0)
		return fd;
	rw_move(w, fd);
	w->n_jumps--;
	int k = rw_check(w); /* FROM's parent may lie in another FROM */
	return k < 0 ? k : 1;
}

/*
 * A symlink met by the walk (link, consumed): its text goes in front of what is left, from
 * the root if absolute. Apart from rw_walk so that its buffer is on the stack only here, not
 * under each step's resolve_pin (a hide rule walks every path with a symlink this way).
 */
static __attribute__((noinline)) int rw_follow(struct rwalk *w, int link)
{
	char text[PATH_MAX];
	ssize_t n = readlinkat(link, "", text, sizeof(text));
	safe_close(link);
	if (n < 0)
		return negative_errno();
	if ((size_t)n >= sizeof(text))
		return -ENAMETOOLONG;
	int k = rw_prepend(w, text, (size_t)n);
	if (k < 0)
		return k;
	if (text[0] == '/') {
		int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (root < 0)
			return negative_errno();
		rw_move(w, root);
		w->n_jumps = 0;
		if (may_be_from(w->p, "")) {
			k = rw_check(w);
			if (k < 0)
				return k;
		}
	}
	return 0;
}

/* The walk: one component at a time, each resolved by resolve_pin (which keeps /proc/self
 * the program's and the supervisor out of reach), symlinks expanded here so that a FROM on
 * their way is seen. Returns an O_PATH fd (or with want_parent the parent, name set). */
static int rw_walk(struct rwalk *w, bool follow)
{
	int k;
	for (;;) {
		if (w->finished)
			return w->result;
		while (*w->rest == '/')
			w->rest++;
		if (!*w->rest) {
			if (w->want_parent) {
				strlcpy_sb(w->name, ".", w->namesz);
				return TAKE_FD(w->cur);
			}
			if (w->want_dir) {
				struct stat st;
				if (fstat(w->cur, &st) < 0)
					return negative_errno();
				if (!S_ISDIR(st.st_mode))
					return -ENOTDIR;
			}
			return TAKE_FD(w->cur);
		}
		char comp[NAME_MAX + 1];
		size_t cl = strcspn(w->rest, "/");
		if (cl > NAME_MAX)
			return -ENAMETOOLONG;
		memcpy(comp, w->rest, cl);
		comp[cl] = 0;
		w->rest += cl;
		bool trailing = *w->rest == '/';
		bool last = !w->rest[strspn(w->rest, "/")];
		bool dot = !strcmp(comp, "."), dotdot = !strcmp(comp, "..");
		if (last && trailing)
			w->want_dir = true;
		if (last && w->want_parent) {
			/* The object itself may be a FROM (creating or removing it): then the
			 * parent is TO's. */
			if (!dot && !dotdot && may_be_from(w->p, comp)) {
				k = rw_missing(w, comp);
				if (k < 0)
					return k;
				if (k > 0)
					continue;
			}
			if ((size_t)snprintf(w->name, w->namesz, "%s%s", comp,
					     trailing ? "/" : "") >= w->namesz)
				return -ENAMETOOLONG;
			return TAKE_FD(w->cur);
		}
		if (dot)
			continue;
		if (dotdot) {
			k = rw_hidden(w, NULL);
			if (k < 0)
				return k;
		}
		if (dotdot && w->n_jumps > 0) {
			k = rw_dotdot(w);
			if (k < 0)
				return k;
			if (k > 0)
				continue;
		}
		int next = resolve_pin(w->c, w->cur, comp, false, w->resolve);
		if (next == -ENOENT && !dotdot) {
			k = rw_missing(w, comp);
			if (k < 0)
				return k;
			if (k > 0)
				continue;
			return -ENOENT;
		}
		if (next < 0)
			return next;
		struct stat st;
		if (fstat(next, &st) < 0) {
			safe_close(next);
			return negative_errno();
		}
		if (S_ISLNK(st.st_mode) && (!last || follow || trailing)) {
			if (w->resolve & RESOLVE_NO_SYMLINKS) {
				safe_close(next);
				return -ELOOP;
			}
			k = rw_hidden(w, comp);
			if (k < 0) {
				safe_close(next);
				return k;
			}
			if (++w->links > MAX_LINKS) {
				safe_close(next);
				return -ELOOP;
			}
			if (fd_on_proc(next) && !fd_is_proc_root(w->cur)) {
				/* A magic link (/proc/PID/fd/N, cwd, root): the kernel jumps to the
				 * object, which resolve_pin makes the program's. */
				safe_close(next);
				int j = resolve_pin(w->c, w->cur, comp, true, w->resolve);
				if (j < 0)
					return j;
				rw_move(w, j);
				w->n_jumps = 0;
				k = rw_check(w);
				if (k < 0)
					return k;
				continue;
			}
			k = rw_follow(w, next);
			if (k < 0)
				return k;
			continue;
		}
		rw_move(w, next);
		if (!dotdot && may_be_from(w->p, comp)) {
			k = rw_check(w);
			if (k < 0)
				return k;
		}
	}
}

/* Sets up a walk of path from startfd; 1: use it, 0: no redirect applies to this sandbox. */
static int rw_init(sb_req *r, struct resolve_ctx *c, int startfd, const char *path,
		   uint64_t resolve, struct rwalk *w)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	/* Scoped lookups are the kernel's own (resolve.c refuses them across mounts). */
	if (!sb || !(sb->fs_redirect || sb->fs_hide) ||
	    (resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT)))
		return 0;
	if (strlcpy_sb(w->buf, path, sizeof(w->buf)) >= sizeof(w->buf))
		return -ENAMETOOLONG;
	w->r = r;
	w->p = sb->policy;
	w->c = c;
	w->resolve = resolve;
	w->rest = w->buf;
	w->links = w->redirects = w->n_jumps = 0;
	w->want_dir = w->want_parent = w->finished = false;
	w->hide = sb->fs_hide;
	w->result = -EIO;
	w->name = NULL;
	w->namesz = 0;
	bool abs = path[0] == '/' || startfd < 0;
	w->cur =
	    abs ? open("/", O_PATH | O_DIRECTORY | O_CLOEXEC) : fcntl(startfd, F_DUPFD_CLOEXEC, 0);
	if (w->cur < 0)
		return negative_errno();
	return 1;
}

/* The start (the program's cwd or dirfd) may itself lie below a FROM. */
static int rw_start(struct rwalk *w, const char *path)
{
	if (path[0] == '/' && !may_be_from(w->p, ""))
		return 0;
	return rw_check(w);
}

/*
 * With hide rules but no redirect, the kernel's walk is kept where it cannot pass through a
 * hidden object and back out: no ".." in the path and no symlink met (RESOLVE_NO_SYMLINKS
 * refuses it with ELOOP, and then our walk checks each one). 1: take the kernel's walk.
 */
static bool hide_fast(sb_req *r, const char *path, uint64_t resolve)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	if (!sb || !sb->fs_hide || sb->fs_redirect)
		return false;
	if (resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT))
		return false; /* rw_init leaves these to the kernel anyway */
	for (const char *p = path; (p = strstr(p, "..")); p += 2)
		if ((p == path || p[-1] == '/') && (p[2] == '/' || !p[2]))
			return false;
	return true;
}

int fs_resolve_pin(sb_req *r, struct resolve_ctx *c, int startfd, const char *path, bool follow,
		   uint64_t resolve)
{
	if (!*path)
		return -ENOENT;
	if (hide_fast(r, path, resolve)) {
		int fd = resolve_pin(c, startfd, path, follow, resolve | RESOLVE_NO_SYMLINKS);
		if (fd != -ELOOP || (resolve & RESOLVE_NO_SYMLINKS))
			return fd;
	}
	struct rwalk w;
	int k = rw_init(r, c, startfd, path, resolve, &w);
	if (k <= 0)
		return k < 0 ? k : resolve_pin(c, startfd, path, follow, resolve);
	k = rw_start(&w, path);
	if (k >= 0)
		k = rw_walk(&w, follow);
	safe_close(w.cur);
	return k;
}

int fs_resolve_parent(sb_req *r, struct resolve_ctx *c, int startfd, const char *path, char *name,
		      size_t namesz)
{
	if (!*path)
		return -ENOENT;
	if (hide_fast(r, path, 0)) {
		/* The directory part as resolve_parent splits it: trailing slashes belong to the
		 * name ("dir/" must be a directory). */
		size_t len = strlen(path);
		while (len > 1 && path[len - 1] == '/')
			len--;
		const char *slash = memrchr(path, '/', len);
		size_t nl = slash ? len - (size_t)(slash + 1 - path) : len;
		char dir[PATH_MAX];
		size_t dl = !slash ? 1 : slash == path ? 1 : (size_t)(slash - path);
		if (dl >= sizeof(dir) || nl + 2 > namesz)
			return -ENAMETOOLONG;
		memcpy(dir, slash ? path : ".", dl);
		dir[dl] = 0;
		int fd = resolve_pin(c, startfd, dir, true, RESOLVE_NO_SYMLINKS);
		if (fd != -ELOOP) {
			if (fd >= 0) {
				memcpy(name, path + len - nl, nl);
				strcpy(name + nl, len < strlen(path) ? "/" : "");
			}
			return fd;
		}
	}
	struct rwalk w;
	int k = rw_init(r, c, startfd, path, 0, &w);
	if (k <= 0)
		return k < 0 ? k : resolve_parent(c, startfd, path, name, namesz);
	w.want_parent = true;
	w.name = name;
	w.namesz = namesz;
	k = rw_start(&w, path);
	if (k >= 0)
		k = rw_walk(&w, true);
	safe_close(w.cur);
	return k;
}

/* ---- calls without a dirfd ---- */

int fs_magic_enter(sb_req *r, int pin, char *name, size_t size)
{
	(void)r;
	int dir = identity_thread_fddir();
	if (dir < 0)
		return dir;
	if (fchdir(dir) < 0)
		return negative_errno();
	snprintf(name, size, "%d", pin);
	return 0;
}

void fs_magic_leave(sb_req *r)
{
	/* Nothing resolves against a worker's cwd; going back is tidiness, and the target's
	 * identity may not be allowed to. */
	(void)!fchdir(r->s->cwdfd);
}

/* ---- struct xattr_args ---- */

#define XATTR_ARGS_SIZE_VER0 16

int fs_read_xattr_args(sb_req *r, uint64_t *ret_value, uint32_t *ret_size, uint32_t *ret_flags)
{
	size_t usize = (size_t)sb_req_arg(r, 5);
	if (usize < XATTR_ARGS_SIZE_VER0)
		return -EINVAL;
	if (usize > 4096)
		return -E2BIG;
	unsigned char buf[4096];
	int k = sb_req_read(r, sb_req_arg(r, 4), buf, usize);
	if (k < 0)
		return k;
	for (size_t i = XATTR_ARGS_SIZE_VER0; i < usize; i++)
		if (buf[i])
			return -E2BIG; /* a newer struct with fields we do not know */
	memcpy(ret_value, buf, 8);
	memcpy(ret_size, buf + 8, 4);
	memcpy(ret_flags, buf + 12, 4);
	return 0;
}
