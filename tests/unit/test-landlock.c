/* Unit tests of the policy's translation into Landlock exec rules: which trees and files may
 * run, planned against a real directory tree (no ruleset is entered here). */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"

#include "landlock.h"
#include "policy/policy-internal.h"

static char T[64]; /* the test's tree: pub/prog, sec/prog, sec/f, noexec/f, deep/a/b/prog */

static void put(const char *rel, mode_t mode)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", T, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(write(fd, "x\n", 2), 2);
	close(fd);
	ASSERT_EQ(chmod(p, mode), 0);
}

static void tree(void)
{
	snprintf(T, sizeof(T), "/tmp/sb-ll-XXXXXX");
	ASSERT_TRUE(mkdtemp(T));
	const char *dirs[] = {"pub", "sec", "noexec", "deep", "deep/a", "deep/a/b"};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char p[256];
		snprintf(p, sizeof(p), "%s/%s", T, dirs[i]);
		ASSERT_EQ(mkdir(p, 0755), 0);
	}
	put("pub/prog", 0755);
	put("sec/prog", 0755);
	put("sec/f", 0644);
	put("noexec/f", 0644);
	put("deep/a/b/prog", 0755);
}

/* Removes the tree when the test passed (a failure leaves it to look at). */
static void done(sb_policy *p)
{
	char cmd[128];
	sb_policy_free(p);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", T);
	ASSERT_EQ(system(cmd), 0);
}

static sb_policy *parse(const char *fmt)
{
	char text[4096], err[1024] = "";
	/* Every "@" in fmt is the test tree. */
	size_t o = 0;
	for (const char *c = fmt; *c && o + sizeof(T) < sizeof(text); c++) {
		if (*c == '@')
			o += (size_t)snprintf(text + o, sizeof(text) - o, "%s", T);
		else
			text[o++] = *c;
	}
	text[o] = 0;
	sb_policy *p = NULL;
	ASSERT_EQ(sb_policy_new(&p), 0);
	if (policy_parse_buffer(p, text, strlen(text), "t.policy", err, sizeof(err)) < 0)
		tap_fail(__FILE__, __LINE__, "parse failed: %s", err);
	return p;
}

/* Room for a rule per entry of a crowded /tmp beside the test's tree. */
struct rules {
	char path[16384][256];
	bool dir[16384];
	unsigned n;
	bool overflow;
};
static struct rules got;

static void on_rule(void *userdata, const char *path, bool is_dir)
{
	struct rules *r = userdata;
	if (r->n >= 16384 || strlen(path) >= 256) {
		r->overflow = true;
		return;
	}
	snprintf(r->path[r->n], sizeof(r->path[0]), "%s", path);
	r->dir[r->n++] = is_dir;
}

static void plan(sb_policy *p, struct ll_plan *pl)
{
	memset(&got, 0, sizeof(got));
	landlock_plan_init(pl, p, -1);
	pl->on_rule = on_rule;
	pl->userdata = &got;
	ASSERT_EQ(landlock_plan_run(pl), 0);
	ASSERT_TRUE(!got.overflow);
	ASSERT_EQ(pl->n_rules, got.n);
}

/* Would Landlock let rel run: a rule on it, or on a directory above it? */
static bool runs(const char *rel)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", T, rel);
	for (unsigned i = 0; i < got.n; i++) {
		size_t l = strlen(got.path[i]);
		if (!strcmp(got.path[i], p))
			return true;
		if (got.dir[i] && (l == 1 || (!strncmp(got.path[i], p, l) && p[l] == '/')))
			return true;
	}
	return false;
}

static enum ll_class classify_root(sb_policy *p)
{
	struct ll_plan pl;
	landlock_plan_init(&pl, p, -1);
	int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	enum ll_class c = landlock_classify(&pl, root, "/");
	close(root);
	return c;
}

TEST(deny_dir_with_an_executable)
{
	tree();
	sb_policy *p = parse("deny @/sec\n");
	ASSERT_EQ(classify_root(p), LL_EXEC_MIXED);
	struct ll_plan pl;
	plan(p, &pl);
	ASSERT_TRUE(runs("pub/prog"));
	ASSERT_TRUE(runs("deep/a/b/prog"));
	ASSERT_TRUE(!runs("sec/prog"));
	ASSERT_TRUE(!runs("sec/f"));
	/* A new file directly in a mixed directory gets no rule: refused, never let through. */
	ASSERT_TRUE(!runs("new-prog"));
	ASSERT_TRUE(runs("pub/new-prog")); /* pub is a granted tree: later files run too */
	ASSERT_EQ(pl.gave_up[0], 0);
	done(p);
}

TEST(hide_file_is_excepted_alone)
{
	tree();
	sb_policy *p = parse("hide @/sec/prog\n");
	struct ll_plan pl;
	plan(p, &pl);
	ASSERT_TRUE(!runs("sec/prog"));
	ASSERT_TRUE(runs("sec/f"));
	ASSERT_TRUE(runs("pub/prog"));
	done(p);
}

TEST(denied_tree_without_executables_needs_no_exception)
{
	/* Nothing there can run, and the program cannot put anything there: the tree above
	 * stays one rule. */
	tree();
	sb_policy *p = parse("deny @/noexec\nhide @/nothing-here\n");
	ASSERT_EQ(classify_root(p), LL_EXEC_ALL);
	struct ll_plan pl;
	plan(p, &pl);
	ASSERT_EQ(pl.n_rules, 1);
	ASSERT_STREQ(got.path[0], "/");
	done(p);
}

TEST(default_deny_grants_only_allowed_trees)
{
	tree();
	sb_policy *p = parse("default deny\nallow-read @/pub\nallow @/deep/a\n");
	ASSERT_EQ(classify_root(p), LL_EXEC_MIXED);
	struct ll_plan pl;
	plan(p, &pl);
	ASSERT_TRUE(runs("pub/prog"));
	ASSERT_TRUE(runs("deep/a/b/prog"));
	ASSERT_TRUE(!runs("sec/prog"));
	ASSERT_EQ(got.n, 2); /* looked up by name, no listing */
	done(p);
}

TEST(last_match_wins_inside_out)
{
	tree();
	sb_policy *p = parse("default deny\nallow-read /\ndeny @\nallow @/pub\n");
	struct ll_plan pl;
	plan(p, &pl);
	ASSERT_TRUE(runs("pub/prog"));
	ASSERT_TRUE(!runs("sec/prog"));
	ASSERT_TRUE(!runs("deep/a/b/prog"));
	sb_policy_free(p);

	/* An allow written before the deny loses to it. */
	p = parse("allow @/sec/prog\ndeny @/sec\n");
	plan(p, &pl);
	ASSERT_TRUE(!runs("sec/prog"));
	sb_policy_free(p);
	/* Written after, it wins. */
	p = parse("deny @/sec\nallow-read @/sec/prog\n");
	plan(p, &pl);
	ASSERT_TRUE(runs("sec/prog"));
	ASSERT_TRUE(!runs("sec/f"));
	done(p);
}

TEST(globs_name_entries)
{
	tree();
	sb_policy *p = parse("deny @/*/prog\n");
	struct ll_plan pl;
	plan(p, &pl);
	ASSERT_TRUE(!runs("pub/prog"));
	ASSERT_TRUE(!runs("sec/prog"));
	ASSERT_TRUE(runs("deep/a/b/prog"));
	sb_policy_free(p);

	p = parse("default deny\nallow-read @/d?ep\n");
	plan(p, &pl);
	ASSERT_TRUE(runs("deep/a/b/prog"));
	ASSERT_TRUE(!runs("pub/prog"));
	done(p);
}

TEST(globstar_deny_below_a_name_is_translated)
{
	/* "**" below a literal start is listed: every prog under the tree is refused, the
	 * rest still runs. A pattern that starts with "**" names entries anywhere: reported. */
	tree();
	put("pub/tool", 0755);
	sb_policy *p = parse("hide **/sec\ndeny @/**/prog\n");
	struct ll_plan pl;
	plan(p, &pl);
	ASSERT_EQ(pl.n_unenforced, 1);
	ASSERT_EQ(pl.unenforced->kind, RULE_HIDE);
	ASSERT_TRUE(!runs("pub/prog"));
	ASSERT_TRUE(!runs("sec/prog"));
	ASSERT_TRUE(!runs("deep/a/b/prog"));
	ASSERT_TRUE(runs("pub/tool"));
	ASSERT_TRUE(runs("noexec/f")); /* a tree without prog keeps its one grant */
	sb_policy_free(p);

	/* An allowing "**" only takes grants away. */
	p = parse("default deny\nallow **/pub\n");
	plan(p, &pl);
	ASSERT_EQ(pl.n_unenforced, 0);
	ASSERT_TRUE(!runs("pub/prog"));
	done(p);
}

TEST(globstar_deny_over_a_large_region_is_reported)
{
	/* More entries under the region than one scan looks at: the rule is left out of the
	 * translation (and named in the warning), and exec there is not refused by it. */
	tree();
	char d[256];
	snprintf(d, sizeof(d), "%s/big", T);
	ASSERT_EQ(mkdir(d, 0755), 0);
	for (int i = 0; i < LL_SCAN_MAX + 10; i++) {
		char f[64];
		snprintf(f, sizeof(f), "big/f%d", i);
		put(f, 0644);
	}
	sb_policy *p = parse("deny @/big/**/prog\n");
	struct ll_plan pl;
	plan(p, &pl);
	ASSERT_EQ(pl.n_unenforced, 1);
	ASSERT_EQ(pl.unenforced->kind, RULE_DENY);
	ASSERT_TRUE(runs("pub/prog"));
	done(p);
}

TEST(symlinks_are_judged_where_they_lead)
{
	/* The policy decides on the real path, and Landlock checks the object reached: a
	 * symlink to a denied program gets no rule of its own. */
	tree();
	char l[256], t[256];
	snprintf(l, sizeof(l), "%s/pub/link", T);
	snprintf(t, sizeof(t), "%s/sec/prog", T);
	ASSERT_EQ(symlink(t, l), 0);
	sb_policy *p = parse("deny @/sec\n");
	struct ll_plan pl;
	plan(p, &pl);
	ASSERT_TRUE(!runs("sec/prog"));
	done(p);
}

TEST(over_budget_fails_closed)
{
	/* A translation too big to finish leaves what it did not reach without rules: refused,
	 * never let through, and named for the warning. */
	tree();
	sb_policy *p = parse("deny @/sec\n");
	struct ll_plan pl;
	memset(&got, 0, sizeof(got));
	landlock_plan_init(&pl, p, -1);
	pl.on_rule = on_rule;
	pl.userdata = &got;
	pl.budget = 1;
	ASSERT_EQ(landlock_plan_run(&pl), 0);
	ASSERT_TRUE(pl.gave_up[0] != 0);
	ASSERT_TRUE(!runs("sec/prog"));
	ASSERT_TRUE(got.n <= 1);
	done(p);
}
