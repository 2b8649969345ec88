/* Helpers shared by the files of the policy module; the handlers use policy.h only. */
#pragma once

#include <stdarg.h>

#include "macros.h"
#include "policy.h"

struct sb_policy {
	struct policy_rule **rules;
	size_t n_rules, n_alloc;
	/* Origin names ("cli", file names) the rules point to, kept until the policy is freed. */
	char **origins;
	size_t n_origins;
};

/* ---- lexer.c ---- */

/* Writes a message into why (may be NULL) and returns -EINVAL, for one-line error returns. */
int policy_why(char *why, size_t whylen, const char *fmt, ...) _printf_(3, 4);
/* Decodes one strict UTF-8 character; returns its length, 0 when the bytes are not UTF-8. */
size_t policy_utf8_decode(const char *s, size_t len, uint32_t *ret_cp);
/* Accepts UTF-8 without NUL bytes or control characters (tab is fine); -EINVAL and why. */
int policy_text_check(const char *s, size_t len, char *why, size_t whylen);
/* Splits one line (without its '\n') into words: NULL-terminated, caller frees with strv. */
int policy_lex_line(const char *line, size_t len, char ***ret_words, size_t *ret_n, char *why,
		    size_t whylen);
void policy_strv_free(char **v);
static inline void policy_strv_freep(char ***v)
{
	policy_strv_free(*v);
}
/* Whether a word must be written in quotes to be read back as itself. */
bool policy_word_needs_quotes(const char *w);

/* ---- glob.c ---- */

/*
 * Normalises and checks an absolute pattern (or a literal path when !allow_glob): must start
 * with "/" or "**", no "..", "//" "/./" and a trailing "/" folded away, valid [...] classes.
 */
int policy_pattern_parse(const char *in, bool allow_glob, struct policy_pattern *ret, char *why,
			 size_t whylen);
void policy_pattern_done(struct policy_pattern *pat);
/* Does pat match path or one of its parents? */
bool policy_pattern_match(const struct policy_pattern *pat, const char *path);
/* Could pat match something strictly below path without matching path itself? */
bool policy_pattern_may_match_below(const struct policy_pattern *pat, const char *path);
/* Does pat decide a/rest and b/rest alike for every rest ("" included)? */
bool policy_pattern_same_below(const struct policy_pattern *pat, const char *a, const char *b);
/* Checks the [...] classes of a glob; -EINVAL and why. */
int policy_glob_check(const char *glob, size_t len, char *why, size_t whylen);
/* Whole-string glob: '*' any run of characters, '?' one character, [...] a class. */
bool policy_glob_match(const char *glob, size_t glen, const char *s, size_t slen);
bool policy_has_glob_chars(const char *s);

/* ---- netaddr.c ---- */

int policy_addr_parse(const char *in, struct policy_addr *ret, char *why, size_t whylen);
void policy_addr_done(struct policy_addr *a);
/* ip is 4 bytes for AF_INET, 16 for AF_INET6 (neither mapped nor compatible: see match.c). */
bool policy_addr_match_ip(const struct policy_addr *a, int family, const uint8_t *ip,
			  uint16_t port);
bool policy_addr_match_unix(const struct policy_addr *a, const char *name, bool abstract);
/* "[HOST:]PORT[:INNERPORT]" into r->publish. */
int policy_publish_parse(const char *in, struct policy_rule *r, char *why, size_t whylen);
int policy_publish_format(const struct policy_rule *r, char *buf, size_t len);

/* ---- parse.c ---- */

void policy_rule_free(struct policy_rule *r);
