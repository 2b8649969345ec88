/* Unit tests of the policy lexer: words, quotes, escapes, comments, and rejected bytes. */
#include "tap.h"

#include "policy/policy-internal.h"

/* Lexes line and returns its words joined with '|', or "ERR:" and the message. */
static char *lex(const char *line, size_t len)
{
	char **words = NULL, why[256], *out;
	size_t n = 0, o = 0, total = 8;
	int r;

	r = policy_lex_line(line, len, &words, &n, why, sizeof(why));
	if (r < 0) {
		if (asprintf(&out, "ERR:%s", why) < 0)
			abort();
		return out;
	}
	for (size_t i = 0; i < n; i++)
		total += strlen(words[i]) + 1;
	out = calloc(1, total);
	for (size_t i = 0; i < n; i++)
		o += sprintf(out + o, "%s%s", i ? "|" : "", words[i]);
	ASSERT_TRUE(words[n] == NULL);
	policy_strv_free(words);
	return out;
}

static const struct {
	const char *line;
	const char *want;
} cases[] = {
    {"deny /a", "deny|/a"},
    {"  deny\t /a  ", "deny|/a"},
    {"", ""},
    {"   \t ", ""},
    {"# a comment", ""},
    {"   # indented comment", ""},
    {"deny /a # trailing comment", "deny|/a"},
    {"deny /a#b", "deny|/a"},
    {"deny \"/a#b\"", "deny|/a#b"},
    {"deny \"/a b\"", "deny|/a b"},
    {"deny \"/a \\\"q\\\" \\\\ b\"", "deny|/a \"q\" \\ b"},
    {"deny /a\\b", "deny|/a\\b"},
    {"deny pre\"mid dle\"post", "deny|premid dlepost"},
    {"deny \"\"", "deny|"},
    {"deny \"\" x", "deny||x"},
    {"deny \"tab\there\"", "deny|tab\there"},
    {"deny /caf\xc3\xa9 /\xe2\x82\xac /\xf0\x9f\x98\x80",
     "deny|/caf\xc3\xa9|/\xe2\x82\xac|/\xf0\x9f\x98\x80"},
    {"deny \"/a", "ERR:unterminated quote"},
    {"deny \"/a\\", "ERR:unterminated quote"},
    {"deny \"/a\\\"", "ERR:unterminated quote"},
    {"deny \"/a\\n\"", "ERR:unknown escape in quotes (only \\\" and \\\\ are escapes)"},
    {"deny /a\x01", "ERR:control character U+0001"},
    {"deny /a\x1b[31m", "ERR:control character U+001B"},
    {"deny /a\x7f", "ERR:control character U+007F"},
    {"deny /a\xc2\x85", "ERR:control character U+0085"},
    {"deny /a\r", "ERR:carriage return (DOS line endings are not accepted)"},
    {"deny /a\xff", "ERR:invalid UTF-8"},
    {"deny /a\xc3", "ERR:invalid UTF-8"},
    {"deny /\xc0\xaf", "ERR:invalid UTF-8"},	     /* overlong '/' */
    {"deny /\xe0\x80\xaf", "ERR:invalid UTF-8"},     /* overlong '/' */
    {"deny /\xed\xa0\x80", "ERR:invalid UTF-8"},     /* surrogate */
    {"deny /\xf4\x90\x80\x80", "ERR:invalid UTF-8"}, /* past U+10FFFF */
    {"# \x01 even in comments", "ERR:control character U+0001"},
};

TEST(lexer_table)
{
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		char *got = lex(cases[i].line, strlen(cases[i].line));
		if (strcmp(got, cases[i].want))
			tap_fail(__FILE__, __LINE__, "case %zu '%s': got '%s', want '%s'", i,
				 cases[i].line, got, cases[i].want);
		free(got);
	}
}

TEST(lexer_nul_byte)
{
	char *got = lex("deny /a\0b", 9);
	ASSERT_STREQ(got, "ERR:NUL byte");
	free(got);
}

TEST(lexer_long_line)
{
	size_t n = 100000;
	char *line = malloc(n + 1);
	memset(line, 'x', n);
	memcpy(line, "deny /", 6);
	line[n] = 0;
	char *got = lex(line, n);
	ASSERT_EQ(strlen(got), n);
	free(got);
	free(line);
}

static char *parse_error(const char *text, size_t len)
{
	sb_policy *p = NULL;
	char err[512] = "";

	ASSERT_EQ(sb_policy_new(&p), 0);
	ASSERT_TRUE(policy_parse_buffer(p, text, len, "dir/t.policy", err, sizeof(err)) < 0);
	ASSERT_EQ(policy_n_rules(p), 0);
	sb_policy_free(p);
	return strdup(err);
}

/* Errors carry the file and the line they are on, counted from 1, blank lines included. */
TEST(lexer_errors_have_file_and_line)
{
	static const struct {
		const char *text;
		size_t len;
		const char *want;
	} c[] = {
	    {"deny /a\n\ndeny \"x\n", 0, "dir/t.policy:3: unterminated quote"},
	    {"\xff", 0, "dir/t.policy:1: invalid UTF-8"},
	    {"deny /a\r\ndeny /b\r\n", 0,
	     "dir/t.policy:1: carriage return (DOS line endings are not accepted)"},
	    {"# ok\n# ok\n\n\n# \x02\n", 0, "dir/t.policy:5: control character U+0002"},
	    {"deny /a\ndeny /b\0\n", 16, "dir/t.policy:2: NUL byte"},
	    {"deny /a\n\xef\xbb\xbf deny /b", 0, "dir/t.policy:2: unknown rule '\xef\xbb\xbf'"},
	};
	for (size_t i = 0; i < ELEMENTSOF(c); i++) {
		char *got = parse_error(c[i].text, c[i].len ? c[i].len : strlen(c[i].text));
		if (strcmp(got, c[i].want))
			tap_fail(__FILE__, __LINE__, "case %zu: got '%s', want '%s'", i, got,
				 c[i].want);
		free(got);
	}
}

/* A byte-order mark at the very start is skipped; no trailing newline is needed. */
TEST(lexer_bom_and_no_final_newline)
{
	const char *text = "\xef\xbb\xbf"
			   "deny /a\n  \n# c\ndeny /b";
	sb_policy *p = NULL;
	char err[256] = "";

	ASSERT_EQ(sb_policy_new(&p), 0);
	ASSERT_EQ(policy_parse_buffer(p, text, strlen(text), "t.policy", err, sizeof(err)), 0);
	char *d = sb_policy_dump(p);
	ASSERT_STREQ(d, "t.policy:1: deny /a\nt.policy:4: deny /b\n");
	free(d);
	sb_policy_free(p);
}

TEST(quoting_needs)
{
	ASSERT_TRUE(policy_word_needs_quotes(""));
	ASSERT_TRUE(policy_word_needs_quotes("a b"));
	ASSERT_TRUE(policy_word_needs_quotes("a\tb"));
	ASSERT_TRUE(policy_word_needs_quotes("a#b"));
	ASSERT_TRUE(policy_word_needs_quotes("a\"b"));
	ASSERT_TRUE(!policy_word_needs_quotes("a\\b"));
	ASSERT_TRUE(!policy_word_needs_quotes("/home/*/.ssh"));
}
