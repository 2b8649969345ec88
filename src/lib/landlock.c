/* Landlock for exec, which seccomp cannot emulate (the kernel opens an exec'd file and its
 * interpreter itself): a ruleset that lets the program execute exactly where the policy lets
 * it, computed in the supervisor and entered by the child before its filter. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "compat.h"
#include "landlock.h"
#include "macros.h"
/* For the pattern's components and the glob of one component: a policy rule says which
 * entries of a directory it names, and Landlock needs those entries one by one. */
#include "policy/policy-internal.h"
#include "sandbox.h"
#include "strutil.h"


static bool kind_is_fs(enum policy_kind k)
{
	return k == RULE_ALLOW || k == RULE_ALLOW_READ || k == RULE_DENY || k == RULE_HIDE;
}

/* allow and allow-read include execute (SPEC 2.1); deny and hide do not. */
static bool kind_execs(enum policy_kind k)
{
	return k == RULE_ALLOW || k == RULE_ALLOW_READ;
}

static bool has_globstar(const struct policy_pattern *pat)
{
	for (size_t i = 0; i < pat->n_comp; i++)
		if (pat->comp[i].type == COMP_GLOBSTAR)
			return true;
	return false;
}

static bool globstar_first(const struct policy_pattern *pat)
{
	return pat->n_comp > 0 && pat->comp[0].type == COMP_GLOBSTAR;
}

static bool dropped(const struct ll_plan *pl, size_t i)
{
	return i >= LL_MAX_GLOBSTAR_RULES || (pl->dropped[i / 64] >> (i % 64)) & 1;
}

/* A deny or hide with "**" that cannot be turned into rules: counted for the warning. */
static void drop_rule(struct ll_plan *pl, size_t i)
{
	if (i < LL_MAX_GLOBSTAR_RULES) {
		if (dropped(pl, i))
			return;
		pl->dropped[i / 64] |= UINT64_C(1) << (i % 64);
	}
	if (!pl->unenforced)
		pl->unenforced = policy_rule(pl->p, i);
	pl->n_unenforced++;
}

/*
 * The rules the translation uses. Landlock matches no names, so a "**" is turned into rules
 * by listing what it names below an executable tree now (globstar_region_has_exec) and
 * granting around it. That is done for a deny or hide whose pattern starts with a name
 * (/home/star-star/.ssh), as long as the region is small; one that starts with "**" names
 * entries anywhere, and one whose region is too large, is left out and reported. An allowing
 * "**" is always left out: that only takes grants away.
 */
static const struct policy_rule *usable_rule(const struct ll_plan *pl, size_t i)
{
	const struct policy_rule *r = policy_rule(pl->p, i);
	if (!r || !kind_is_fs(r->kind))
		return NULL;
	if (has_globstar(&r->pattern) && (kind_execs(r->kind) || dropped(pl, i)))
		return NULL;
	return r;
}

/* policy_fs_decide over the usable rules: may path run, and which rule said so (index + 1,
 * 0 for the default). */
static bool decide(const struct ll_plan *pl, const char *path, size_t *ret_idx)
{
	for (size_t i = policy_n_rules(pl->p); i > 0; i--) {
		const struct policy_rule *r = usable_rule(pl, i - 1);
		if (r && policy_pattern_match(&r->pattern, path)) {
			*ret_idx = i;
			return kind_execs(r->kind);
		}
	}
	*ret_idx = 0;
	enum fs_access a = policy_fs_default(pl->p);
	return a == FS_ALLOW || a == FS_ALLOW_READ;
}

/*
 * For a pattern without "**" that does not match path itself: the index of its component that
 * would name an entry directly below path, or -1 when nothing strictly below path can match.
 */
static int pattern_next(const struct policy_pattern *pat, const char *path)
{
	size_t j = 0;
	for (const char *s = path;;) {
		while (*s == '/')
			s++;
		if (!*s)
			break;
		size_t len = strcspn(s, "/");
		if (j >= pat->n_comp)
			return -1; /* the pattern ends above path: it matches path itself */
		const struct policy_comp *c = &pat->comp[j];
		const char *g = pat->text + c->off;
		bool ok = c->type == COMP_LITERAL ? c->len == len && !memcmp(g, s, len)
						  : policy_glob_match(g, c->len, s, len);
		if (!ok)
			return -1;
		j++;
		s += len;
	}
	return j < pat->n_comp ? (int)j : -1;
}

static bool comp_names(const struct policy_pattern *pat, int j, const char *name)
{
	const struct policy_comp *c = &pat->comp[j];
	const char *g = pat->text + c->off;
	size_t len = strlen(name);
	if (c->type == COMP_LITERAL)
		return c->len == len && !memcmp(g, name, len);
	return policy_glob_match(g, c->len, name, len);
}

static DIR *open_listing(int fd)
{
	int d = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d < 0)
		return NULL;
	DIR *dir = fdopendir(d);
	if (!dir)
		safe_close(d);
	return dir;
}

static bool is_dot(const char *n)
{
	return n[0] == '.' && (!n[1] || (n[1] == '.' && !n[2]));
}

/* Is there a file anybody may execute in the tree at fd? Unsure (too big, unreadable): yes. */
static bool tree_has_exec(int fd, unsigned depth, unsigned *left)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return true;
	if (S_ISREG(st.st_mode))
		return (st.st_mode & 0111) != 0;
	if (!S_ISDIR(st.st_mode))
		return false; /* a symlink is judged where it leads, by that object's real path */
	if (depth > LL_MAX_DEPTH)
		return true;
	DIR *dir = open_listing(fd);
	if (!dir)
		return true;
	bool found = false;
	struct dirent *de;
	while (!found && (de = readdir(dir))) {
		if (is_dot(de->d_name))
			continue;
		if (*left == 0) {
			found = true;
			break;
		}
		(*left)--;
		_cleanup_close_ int c = openat(fd, de->d_name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		found = c < 0 || tree_has_exec(c, depth + 1, left);
	}
	closedir(dir);
	return found;
}

/*
 * Does what pat names below the directory fd (from component j on) hold an executable file
 * now? The program cannot put one there later: creating, linking, renaming into, or chmod in
 * a denied or hidden place is refused by the emulated calls, so an existing executable is
 * the only thing a grant on an enclosing directory could let it run.
 */
static bool region_has_exec(int fd, const struct policy_pattern *pat, int j, unsigned depth,
			    unsigned *left)
{
	if (depth > LL_MAX_DEPTH || *left == 0)
		return true;
	const struct policy_comp *c = &pat->comp[j];
	bool last = (size_t)j + 1 == pat->n_comp;
	if (c->type == COMP_LITERAL) {
		char name[NAME_MAX + 1];
		if (c->len > NAME_MAX)
			return false;
		memcpy(name, pat->text + c->off, c->len);
		name[c->len] = 0;
		(*left)--;
		_cleanup_close_ int e = openat(fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (e < 0)
			return errno != ENOENT && errno != ENOTDIR;
		if (last)
			return tree_has_exec(e, depth + 1, left);
		struct stat st;
		if (fstat(e, &st) < 0)
			return true;
		return S_ISDIR(st.st_mode) && region_has_exec(e, pat, j + 1, depth + 1, left);
	}
	DIR *dir = open_listing(fd);
	if (!dir)
		return true;
	bool found = false;
	struct dirent *de;
	while (!found && (de = readdir(dir))) {
		if (is_dot(de->d_name) || !comp_names(pat, j, de->d_name))
			continue;
		if (*left == 0) {
			found = true;
			break;
		}
		(*left)--;
		_cleanup_close_ int e = openat(fd, de->d_name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;
		if (e < 0 || fstat(e, &st) < 0)
			found = true;
		else if (last)
			found = tree_has_exec(e, depth + 1, left);
		else
			found =
			    S_ISDIR(st.st_mode) && region_has_exec(e, pat, j + 1, depth + 1, left);
	}
	closedir(dir);
	return found;
}

/*
 * Does what the "**" pattern names below the directory fd (at path) hold a file anybody may
 * execute now? Walks only into directories where the pattern can still match. *exhausted
 * tells that the walk stopped short (too many entries, too deep): the answer means nothing.
 */
static bool globstar_region_has_exec(int fd, const char *path, const struct policy_pattern *pat,
				     unsigned depth, unsigned *left, bool *exhausted)
{
	if (depth > LL_MAX_DEPTH) {
		*exhausted = true;
		return true;
	}
	DIR *dir = open_listing(fd);
	if (!dir)
		return true; /* unreadable: assume one is there (refused below, as elsewhere) */
	bool found = false;
	struct dirent *de;
	while (!found && (de = readdir(dir))) {
		if (is_dot(de->d_name))
			continue;
		char child[PATH_MAX];
		if ((size_t)snprintf(child, sizeof(child), "%s/%s", strcmp(path, "/") ? path : "",
				     de->d_name) >= sizeof(child))
			continue; /* cannot be named: no rule, so it cannot run */
		/* Entries the pattern cannot reach cost a name match, not the budget: a
		 * crowded /tmp beside the region must not make the rule unenforceable. */
		bool match = policy_pattern_match(pat, child);
		if (!match && !policy_pattern_may_match_below(pat, child))
			continue;
		if (*left == 0) {
			*exhausted = true;
			break;
		}
		(*left)--;
		_cleanup_close_ int e = openat(fd, de->d_name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;
		if (e < 0 || fstat(e, &st) < 0)
			found = true;
		else if (match)
			found = tree_has_exec(e, depth + 1, left);
		else if (S_ISDIR(st.st_mode))
			found = globstar_region_has_exec(e, child, pat, depth + 1, left, exhausted);
		if (*left == 0)
			*exhausted = true;
	}
	closedir(dir);
	return found;
}

void landlock_plan_init(struct ll_plan *pl, const sb_policy *p, int ruleset)
{
	*pl = (struct ll_plan){.p = p, .ruleset = ruleset, .budget = LL_BUDGET};
	for (size_t i = 0; i < policy_n_rules(p); i++) {
		const struct policy_rule *r = policy_rule(p, i);
		if (kind_is_fs(r->kind) && !kind_execs(r->kind) && has_globstar(&r->pattern) &&
		    (globstar_first(&r->pattern) || i >= LL_MAX_GLOBSTAR_RULES))
			drop_rule(pl, i);
	}
}

enum ll_class landlock_classify(struct ll_plan *pl, int fd, const char *path)
{
	size_t idx;
	bool execs = decide(pl, path, &idx);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return LL_EXEC_NONE;
	if (!S_ISDIR(st.st_mode))
		return execs && S_ISREG(st.st_mode) ? LL_EXEC_ALL : LL_EXEC_NONE;
	/* Last match wins: below path, only a rule written after the one deciding path itself
	 * (which matches everything below it too) can change the answer. */
	for (size_t i = idx; i < policy_n_rules(pl->p); i++) {
		const struct policy_rule *r = usable_rule(pl, i);
		if (!r || kind_execs(r->kind) == execs)
			continue;
		if (has_globstar(&r->pattern)) {
			/* A deny or hide (the only "**" used) below a tree that may run. */
			if (!policy_pattern_may_match_below(&r->pattern, path))
				continue;
			unsigned left = LL_SCAN_MAX;
			bool exhausted = false;
			bool found = globstar_region_has_exec(fd, path, &r->pattern, 0, &left,
							      &exhausted);
			if (exhausted) {
				drop_rule(pl, i);
				continue;
			}
			if (found)
				return LL_EXEC_MIXED;
			continue;
		}
		int j = pattern_next(&r->pattern, path);
		if (j < 0)
			continue;
		if (!execs)
			return LL_EXEC_MIXED; /* something below may run: grants below */
		unsigned left = LL_SCAN_MAX;
		if (region_has_exec(fd, &r->pattern, j, 0, &left))
			return LL_EXEC_MIXED; /* an executable below must not run */
	}
	return execs ? LL_EXEC_ALL : LL_EXEC_NONE;
}

static int add_rule(struct ll_plan *pl, int fd, const char *path, bool is_dir)
{
	if (pl->ruleset >= 0) {
		struct sb_landlock_path_beneath_attr pb = {
		    .allowed_access = LANDLOCK_ACCESS_FS_EXECUTE,
		    .parent_fd = fd,
		};
		if (syscall(SYS_landlock_add_rule, pl->ruleset, SB_LANDLOCK_RULE_PATH_BENEATH, &pb,
			    0) < 0)
			return negative_errno();
	}
	pl->n_rules++;
	if (pl->on_rule)
		pl->on_rule(pl->userdata, path, is_dir);
	return 0;
}

static void give_up(struct ll_plan *pl, const char *path)
{
	if (!pl->gave_up[0])
		strlcpy_sb(pl->gave_up, path, sizeof(pl->gave_up));
}

static int explore(struct ll_plan *pl, int fd, const char *path, unsigned depth);

/* One entry of a mixed directory: a tree of its own, or a file that may run or not. */
static int explore_entry(struct ll_plan *pl, int dirfd, const char *path, const char *name,
			 unsigned depth)
{
	if (pl->budget == 0) {
		give_up(pl, path);
		return 0;
	}
	pl->budget--;
	char child[PATH_MAX];
	if ((size_t)snprintf(child, sizeof(child), "%s/%s", strcmp(path, "/") ? path : "", name) >=
	    sizeof(child))
		return 0; /* cannot be named: no rule, so it cannot run */
	_cleanup_close_ int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	return explore(pl, fd, child, depth + 1);
}

static int explore(struct ll_plan *pl, int fd, const char *path, unsigned depth)
{
	enum ll_class c = landlock_classify(pl, fd, path);
	if (c == LL_EXEC_NONE)
		return 0;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return 0;
	if (c == LL_EXEC_ALL)
		return add_rule(pl, fd, path, S_ISDIR(st.st_mode));
	if (depth >= LL_MAX_DEPTH) {
		give_up(pl, path);
		return 0;
	}
	/*
	 * Mixed. Landlock only adds rights, so an exception inside a granted tree is made by
	 * granting its siblings one by one: every entry when the directory itself may run, else
	 * just those a later allowing rule names (looked up by name when it is literal).
	 */
	size_t idx;
	bool execs = decide(pl, path, &idx);
	bool need_list = execs;
	for (size_t i = idx; !need_list && i < policy_n_rules(pl->p); i++) {
		const struct policy_rule *r = usable_rule(pl, i);
		if (!r || !kind_execs(r->kind))
			continue;
		int j = pattern_next(&r->pattern, path);
		need_list = j >= 0 && r->pattern.comp[j].type != COMP_LITERAL;
	}
	if (!need_list) {
		/* Literal names only; two rules may name the same entry, explore it once. */
		struct {
			const char *s;
			size_t len;
		} seen[64];
		size_t n_seen = 0;
		for (size_t i = idx; i < policy_n_rules(pl->p); i++) {
			const struct policy_rule *r = usable_rule(pl, i);
			if (!r || !kind_execs(r->kind))
				continue;
			int j = pattern_next(&r->pattern, path);
			if (j < 0)
				continue;
			const struct policy_comp *cp = &r->pattern.comp[j];
			char name[NAME_MAX + 1];
			if (cp->len > NAME_MAX)
				continue;
			memcpy(name, r->pattern.text + cp->off, cp->len);
			name[cp->len] = 0;
			bool dup = false;
			for (size_t k = 0; k < n_seen && !dup; k++)
				dup = seen[k].len == cp->len &&
				      !memcmp(seen[k].s, r->pattern.text + cp->off, cp->len);
			if (dup)
				continue;
			if (n_seen < ELEMENTSOF(seen))
				seen[n_seen++] =
				    (typeof(seen[0])){r->pattern.text + cp->off, cp->len};
			int k = explore_entry(pl, fd, path, name, depth);
			if (k < 0)
				return k;
		}
		return 0;
	}
	DIR *dir = open_listing(fd);
	if (!dir) {
		give_up(pl, path);
		return 0;
	}
	int k = 0;
	struct dirent *de;
	while (k >= 0 && (de = readdir(dir))) {
		if (is_dot(de->d_name))
			continue;
		if (!execs) {
			/* Only entries a later allowing rule names can hold anything that runs. */
			bool named = false;
			for (size_t i = idx; !named && i < policy_n_rules(pl->p); i++) {
				const struct policy_rule *r = usable_rule(pl, i);
				if (!r || !kind_execs(r->kind))
					continue;
				int j = pattern_next(&r->pattern, path);
				named = j >= 0 && comp_names(&r->pattern, j, de->d_name);
			}
			if (!named)
				continue;
		}
		k = explore_entry(pl, fd, path, de->d_name, depth);
	}
	closedir(dir);
	return k;
}

int landlock_plan_run(struct ll_plan *pl)
{
	_cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return negative_errno();
	return explore(pl, root, "/", 0);
}

int sb_sandbox_landlock_prepare(const sb_sandbox *sb, int *ret_fd, char *msg, size_t msglen)
{
	*ret_fd = -1;
	if (msglen)
		msg[0] = 0;
	if (policy_fs_is_trivial(sb->policy))
		return 0; /* no fs rule: nothing to refuse, nothing to scope */

	struct ll_plan pl;
	landlock_plan_init(&pl, sb->policy, -1);
	_cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return negative_errno();
	bool needed = landlock_classify(&pl, root, "/") != LL_EXEC_ALL;

	int abi =
	    (int)syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 0) {
		int e = errno;
		if (needed) {
			snprintf(msg, msglen,
				 "the policy refuses exec of some files, which needs Landlock: %s",
				 strerror(e));
			return -EOPNOTSUPP;
		}
		snprintf(msg, msglen,
			 "Landlock is not available (%s): ptrace and signals of the program are "
			 "not confined to the sandbox",
			 strerror(e));
		return 0;
	}
	/*
	 * Only EXECUTE is handled: every other access is emulated and decided per object. A
	 * Landlock domain also keeps ptrace (and so /proc/PID/mem, pidfd_getfd,
	 * process_vm_readv) inside the sandbox, and from ABI 6 signals too, so the program
	 * cannot reach the supervisor that way. A domain that handles any fs access also
	 * refuses every mount call of the program (mount, umount, pivot_root, propagation), so
	 * EXECUTE is handled only when some exec must be refused. The struct grew with the ABI:
	 * pass the size the running kernel knows, or an older one refuses the call (E2BIG).
	 */
	struct sb_landlock_ruleset_attr attr = {};
	size_t size = sizeof(attr.handled_access_fs);
	/*
	 * A domain that does not handle REFER refuses every link and rename into another
	 * directory (EXDEV, the ABI 1 behaviour kept for compatibility): handle it and grant it
	 * everywhere. What remains is Landlock's own rule that a move may not gain EXECUTE.
	 */
	uint64_t refer = abi >= 2 ? LANDLOCK_ACCESS_FS_REFER : 0;
	if (needed)
		attr.handled_access_fs = LANDLOCK_ACCESS_FS_EXECUTE | refer;
	if (abi >= 6) {
		attr.scoped = LANDLOCK_SCOPE_SIGNAL;
		size = sizeof(attr);
	} else if (!needed) {
		return 0; /* nothing this kernel's Landlock could add */
	}
	_cleanup_close_ int fd = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
	if (fd < 0) {
		int e = errno;
		snprintf(msg, msglen, "cannot create a Landlock ruleset: %s", strerror(e));
		return -e;
	}
	pl.ruleset = fd;
	int k = 0;
	if (needed && refer) {
		struct sb_landlock_path_beneath_attr pb = {.allowed_access = refer,
							   .parent_fd = root};
		if (syscall(SYS_landlock_add_rule, fd, SB_LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
			k = negative_errno();
	}
	if (needed && k == 0)
		k = landlock_plan_run(&pl);
	if (k < 0) {
		snprintf(msg, msglen, "cannot add a Landlock rule: %s", strerror(-k));
		return k;
	}
	char origin[256] = "", rule[512] = "";
	if (pl.unenforced) {
		policy_rule_origin(pl.unenforced, origin, sizeof(origin));
		policy_rule_format(pl.unenforced, rule, sizeof(rule));
	}
	if (pl.unenforced && pl.gave_up[0])
		snprintf(msg, msglen,
			 "exec is not refused by '%s' (%s)%s: Landlock matches no names and what "
			 "'**' covers is too large to list; and exec "
			 "below %s is refused: no Landlock rules could be made there (too many "
			 "entries, or unreadable)",
			 rule, origin, pl.n_unenforced > 1 ? " and other '**' rules" : "",
			 pl.gave_up);
	else if (pl.unenforced)
		snprintf(msg, msglen,
			 "exec is not refused by '%s' (%s)%s: Landlock matches no names and what "
			 "'**' covers is too large to list; only opens and the other calls are",
			 rule, origin, pl.n_unenforced > 1 ? " and other '**' rules" : "");
	else if (pl.gave_up[0])
		snprintf(
		    msg, msglen,
		    "exec below %s is refused: no Landlock rules could be made there (too many "
		    "entries, or unreadable)",
		    pl.gave_up);
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int sb_landlock_restrict_self(int ruleset_fd)
{
	/* Landlock needs no_new_privs (or CAP_SYS_ADMIN); the filter sets it just after. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return negative_errno();
	if (syscall(SYS_landlock_restrict_self, ruleset_fd, 0) < 0)
		return negative_errno();
	return 0;
}
