/* Unit tests of path patterns: normalisation, glob semantics, and bounded time on hostile input. */
#include <time.h>

#include "tap.h"

#include "policy/policy-internal.h"

static bool match(const char *pattern, const char *path)
{
	struct policy_pattern pat;
	char why[256];

	if (policy_pattern_parse(pattern, true, &pat, why, sizeof(why)) < 0)
		tap_fail(__FILE__, __LINE__, "pattern '%s': %s", pattern, why);
	bool r = policy_pattern_match(&pat, path);
	policy_pattern_done(&pat);
	return r;
}

static const struct {
	const char *pattern, *path;
	bool want;
} match_cases[] = {
    /* a pattern covers the object and everything below it, at component boundaries */
    {"/", "/", true},
    {"/", "/a/b", true},
    {"/a", "/a", true},
    {"/a", "/a/b/c", true},
    {"/a", "/ab", false},
    {"/a", "/", false},
    {"/a/b", "/a", false},
    {"/a/b", "//a//b/", true},
    /* '*' within one component, never across '/' */
    {"/a/*", "/a", false},
    {"/a/*", "/a/b", true},
    {"/a/*", "/a/b/c", true},
    {"/a/*/c", "/a/b/c", true},
    {"/a/*/c", "/a/b/x/c", false},
    {"/a*", "/a", true},
    {"/a*", "/abc", true},
    {"/a*", "/b", false},
    {"/*.txt", "/x.txt", true},
    {"/*.txt", "/dir/x.txt", false},
    {"/*.txt", "/x.txt/inside", true},
    {"/*", "/", false},
    {"/*", "/.dot", true},
    {"/*x*y*", "/axbxcy", true},
    {"/*x*y*", "/ayx", false},
    {"/home/*/.ssh", "/home/u/.ssh", true},
    {"/home/*/.ssh", "/home/u/.ssh/id_rsa", true},
    {"/home/*/.ssh", "/home/.ssh", false},
    {"/home/*/.ssh", "/home/u/x/.ssh", false},
    /* '?' is one character, UTF-8 aware, never '/' */
    {"/a?c", "/abc", true},
    {"/a?c", "/ac", false},
    {"/a?c", "/abbc", false},
    {"/a?c", "/a/c", false},
    {"/caf?", "/caf\xc3\xa9", true},
    {"/caf??", "/caf\xc3\xa9", false},
    {"/?", "/\xff", true},
    /* classes */
    {"/[abc]x", "/bx", true},
    {"/[abc]x", "/dx", false},
    {"/[!abc]x", "/bx", false},
    {"/[!abc]x", "/dx", true},
    {"/[^abc]x", "/dx", true},
    {"/[a-c]", "/b", true},
    {"/[a-c]", "/d", false},
    {"/[]]", "/]", true},
    {"/[]a]", "/a", true},
    {"/[*]", "/*", true},
    {"/[*]", "/a", false},
    {"/[?]", "/?", true},
    {"/[[]", "/[", true},
    {"/[a-]", "/-", true},
    {"/x[\xc3\xa9]", "/x\xc3\xa9", true},
    {"/x[\xc3\xa0-\xc3\xbf]", "/x\xc3\xa9", true},
    {"/x[!\xc3\xa9]", "/x\xc3\xa9", false},
    /* '**' is any number of components, zero included */
    {"**/.env", "/.env", true},
    {"**/.env", "/a/b/.env", true},
    {"**/.env", "/a/.env/x", true},
    {"**/.env", "/a/b/env", false},
    {"**/.env", "/a/.envx", false},
    {"/a/**/b", "/a/b", true},
    {"/a/**/b", "/a/x/y/b", true},
    {"/a/**/b", "/a/x/y/b/z", true},
    {"/a/**/b", "/a/x/y", false},
    {"/a/**/b", "/b", false},
    {"/a/**", "/a", true},
    {"/a/**", "/a/b/c", true},
    {"/a/**", "/ab", false},
    {"/**", "/", true},
    {"/**", "/any/thing", true},
    {"**", "/x", true},
    {"/a/**/b/**/c", "/a/b/c", true},
    {"/a/**/b/**/c", "/a/x/b/y/z/c", true},
    {"/a/**/b/**/c", "/a/c/b", false},
    {"/**/*.pem", "/etc/ssl/x.pem", true},
    {"/**/*.pem", "/etc/ssl/x.pem.bak", false},
    /* '**' inside a component is just '*' */
    {"/a**b", "/axxb", true},
    {"/a**b", "/ax/xb", false},
    /* backslash is an ordinary character */
    {"/a\\b", "/a\\b", true},
    {"/a\\*", "/a\\x", true},
};

TEST(glob_match_table)
{
	for (size_t i = 0; i < ELEMENTSOF(match_cases); i++) {
		bool got = match(match_cases[i].pattern, match_cases[i].path);
		if (got != match_cases[i].want)
			tap_fail(__FILE__, __LINE__, "case %zu: '%s' vs '%s': got %d, want %d", i,
				 match_cases[i].pattern, match_cases[i].path, got,
				 match_cases[i].want);
	}
}

static const struct {
	const char *in;
	bool glob;
	const char *want; /* normalised text, or "ERR:" and the message */
} norm_cases[] = {
    {"/", true, "/"},
    {"//", true, "/"},
    {"/./", true, "/"},
    {"/a//b/", true, "/a/b"},
    {"/a/./b/.", true, "/a/b"},
    {"/a/.hidden/..x/x..", true, "/a/.hidden/..x/x.."},
    {"**/.env", true, "/**/.env"},
    {"**", true, "/**"},
    {"/a/**/**/b", true, "/a/**/b"},
    {"/**/**/**", true, "/**"},
    {"/a/**b/**", true, "/a/**b/**"},
    {"", true, "ERR:empty pattern"},
    {"a/b", true, "ERR:pattern 'a/b' must be absolute (start with / or **)"},
    {"*/x", true, "ERR:pattern '*/x' must be absolute (start with / or **)"},
    {"**x", true, "ERR:pattern '**x' must be absolute (start with / or **)"},
    {"./a", true, "ERR:pattern './a' must be absolute (start with / or **)"},
    {"/a/../b", true, "ERR:pattern '/a/../b' must not contain '..'"},
    {"/a/..", true, "ERR:pattern '/a/..' must not contain '..'"},
    {"/a[b", true, "ERR:pattern '/a[b': unterminated '['"},
    {"/a[b/c]", true, "ERR:pattern '/a[b/c]': unterminated '['"},
    {"/[!]", true, "ERR:pattern '/[!]': unterminated '['"},
    {"/[z-a]", true, "ERR:pattern '/[z-a]': reversed range in '[...]'"},
    {"/a/b/", false, "/a/b"},
    {"/a/*", false, "ERR:path '/a/*' must be literal (no * ? [ characters)"},
    {"**", false, "ERR:path '**' must be absolute (start with /)"},
    {"x", false, "ERR:path 'x' must be absolute (start with /)"},
    {"", false, "ERR:empty path"},
};

TEST(pattern_normalise_table)
{
	for (size_t i = 0; i < ELEMENTSOF(norm_cases); i++) {
		struct policy_pattern pat = {};
		char why[256] = "", got[300];
		if (policy_pattern_parse(norm_cases[i].in, norm_cases[i].glob, &pat, why,
					 sizeof(why)) < 0)
			snprintf(got, sizeof(got), "ERR:%s", why);
		else
			snprintf(got, sizeof(got), "%s", pat.text);
		if (strcmp(got, norm_cases[i].want))
			tap_fail(__FILE__, __LINE__, "case %zu '%s': got '%s', want '%s'", i,
				 norm_cases[i].in, got, norm_cases[i].want);
		policy_pattern_done(&pat);
	}
}

TEST(pattern_too_long)
{
	char in[POLICY_PATH_MAX + 2], why[256];
	struct policy_pattern pat;

	memset(in, 'a', sizeof(in));
	in[0] = '/';
	in[POLICY_PATH_MAX] = 0;
	ASSERT_EQ(policy_pattern_parse(in, true, &pat, why, sizeof(why)), 0);
	policy_pattern_done(&pat);
	in[POLICY_PATH_MAX] = 'a';
	in[POLICY_PATH_MAX + 1] = 0;
	ASSERT_EQ(policy_pattern_parse(in, true, &pat, why, sizeof(why)), -EINVAL);
	ASSERT_STREQ(why, "pattern too long (more than 4095 bytes)");

	/* the limit is on the normalised text: a leading "**" gains a "/" */
	memcpy(in, "**/", 3);
	in[POLICY_PATH_MAX] = 0;
	ASSERT_EQ(strlen(in), POLICY_PATH_MAX);
	ASSERT_EQ(policy_pattern_parse(in, true, &pat, why, sizeof(why)), -EINVAL);
	/* and "//" folded away does not count */
	memcpy(in, "////", 4);
	in[POLICY_PATH_MAX] = 'a';
	in[POLICY_PATH_MAX + 1] = 0;
	ASSERT_EQ(policy_pattern_parse(in, true, &pat, why, sizeof(why)), 0);
	ASSERT_EQ(strlen(pat.text), POLICY_PATH_MAX - 2);
	policy_pattern_done(&pat);
}

/* The most components a pattern can have still fits the matcher's state sets. */
TEST(pattern_most_components)
{
	char in[POLICY_PATH_MAX + 1], path[POLICY_PATH_MAX + 1], why[256];
	struct policy_pattern pat;

	for (size_t i = 0; i < POLICY_PATH_MAX; i++)
		in[i] = path[i] = i % 2 ? 'a' : '/';
	in[POLICY_PATH_MAX] = path[POLICY_PATH_MAX] = 0;
	/* 2047 components "a" (a trailing "/" folded away), the first one made a glob */
	in[1] = '*';
	ASSERT_EQ(policy_pattern_parse(in, true, &pat, why, sizeof(why)), 0);
	ASSERT_EQ(pat.n_comp, POLICY_PATH_MAX / 2);
	ASSERT_TRUE(policy_pattern_match(&pat, path));
	path[POLICY_PATH_MAX - 2] = 'b';
	ASSERT_TRUE(!policy_pattern_match(&pat, path));
	policy_pattern_done(&pat);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static char *repeat(const char *head, const char *unit, size_t n, const char *tail)
{
	size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
	char *s = malloc(hl + ul * n + tl + 1), *o = s;

	memcpy(o, head, hl);
	o += hl;
	for (size_t i = 0; i < n; i++, o += ul)
		memcpy(o, unit, ul);
	memcpy(o, tail, tl + 1);
	return s;
}

/* Patterns that make backtracking matchers exponential must finish at once here. */
TEST_TIMEOUT(hostile_patterns_finish_quickly, 10)
{
	struct {
		char *pattern, *path;
		bool want;
	} c[] = {
	    /* many "**" separated by a literal, against a long path that never ends right */
	    {repeat("", "/**/a", 800, "/b"), repeat("", "/a", 2000, ""), false},
	    {repeat("", "/**/a", 800, "/b"), repeat("", "/a", 2000, "/b"), true},
	    /* "*a*a*a...b" in one component against "aaaa..." */
	    {repeat("/", "*a", 2000, "b"), repeat("/", "a", 4000, ""), false},
	    {repeat("/", "*?", 2000, "x"), repeat("/", "?", 4000, ""), false},
	    /* one component glob repeated in many components */
	    {repeat("", "/*a*a*a*b", 400, ""), repeat("", "/aaaaaaaaaaaaaaaaaaaa", 190, ""), false},
	};
	double t0 = now();
	for (size_t i = 0; i < ELEMENTSOF(c); i++) {
		struct policy_pattern pat;
		char why[256];
		ASSERT_EQ(policy_pattern_parse(c[i].pattern, true, &pat, why, sizeof(why)), 0);
		ASSERT_EQ(policy_pattern_match(&pat, c[i].path), c[i].want);
		policy_pattern_done(&pat);
		free(c[i].pattern);
		free(c[i].path);
	}
	double dt = now() - t0;
	printf("# hostile patterns took %.3f s\n", dt);
	ASSERT_TRUE(dt < 2.0);
}

TEST(flat_glob)
{
	/* abstract socket names: one string, '*' crosses '/' there */
	ASSERT_TRUE(policy_glob_match("dbus*", 5, "dbus-abc", 8));
	ASSERT_TRUE(policy_glob_match("/tmp/.X11-unix/*", 16, "/tmp/.X11-unix/X0", 17));
	ASSERT_TRUE(policy_glob_match("*", 1, "a/b/c", 5));
	ASSERT_TRUE(policy_glob_match("*", 1, "", 0));
	ASSERT_TRUE(!policy_glob_match("?", 1, "", 0));
	ASSERT_TRUE(policy_glob_match("", 0, "", 0));
	ASSERT_TRUE(!policy_glob_match("", 0, "a", 1));
	ASSERT_TRUE(!policy_glob_match("abc", 3, "ab", 2));
	/* an unvalidated, malformed class reads as a literal '[' */
	ASSERT_TRUE(policy_glob_match("a[b", 3, "a[b", 3));
	ASSERT_TRUE(!policy_glob_match("a[b", 3, "ab", 2));
}

TEST(glob_check)
{
	char why[64];
	ASSERT_EQ(policy_glob_check("a[bc]d", 6, why, sizeof(why)), 0);
	ASSERT_EQ(policy_glob_check("a[bc", 4, why, sizeof(why)), -EINVAL);
	ASSERT_STREQ(why, "unterminated '['");
	ASSERT_TRUE(policy_has_glob_chars("a?"));
	ASSERT_TRUE(!policy_has_glob_chars("/a/b]"));
}
