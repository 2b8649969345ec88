/* Path patterns: normalising them, and matching without exponential backtracking, because a
 * policy (or a fuzzer) may hand us a thousand "**" and a request must still be answered fast. */
#include <string.h>

#include "policy-internal.h"

/* A "/a/a/a..." pattern of POLICY_PATH_MAX bytes has this many components at most. */
#define PATTERN_MAX_COMP (POLICY_PATH_MAX / 2 + 1)
/* NFA states are "components matched so far", 0..n_comp. */
#define STATE_WORDS ((PATTERN_MAX_COMP + 1 + 63) / 64)

/* Stands for a byte that is not UTF-8: only '?', '*' and negated classes match it. */
#define CP_INVALID UINT32_MAX

static size_t next_char(const char *s, size_t len, uint32_t *ret_cp)
{
	size_t n = policy_utf8_decode(s, len, ret_cp);

	if (n == 0) {
		*ret_cp = CP_INVALID;
		return 1;
	}
	return n;
}

/*
 * Evaluates the class whose '[' is just before g[*gi] against cp and moves *gi past its ']'.
 * Syntax as fnmatch(3): "!" or "^" first negates, "]" first is a member, "a-z" a range.
 * Returns 1 on a hit, 0 on a miss, -1 when unterminated, -2 for a reversed range.
 */
static int class_eval(const char *g, size_t glen, size_t *gi, uint32_t cp)
{
	size_t i = *gi;
	bool neg = false, hit = false, first = true;

	if (i < glen && (g[i] == '!' || g[i] == '^')) {
		neg = true;
		i++;
	}
	for (;;) {
		uint32_t lo, hi;

		if (i >= glen)
			return -1;
		if (g[i] == ']' && !first) {
			i++;
			break;
		}
		first = false;
		i += next_char(g + i, glen - i, &lo);
		hi = lo;
		if (i + 1 < glen && g[i] == '-' && g[i + 1] != ']') {
			i++;
			i += next_char(g + i, glen - i, &hi);
			if (hi < lo)
				return -2;
		}
		if (cp >= lo && cp <= hi)
			hit = true;
	}
	*gi = i;
	return hit != neg;
}

int policy_glob_check(const char *glob, size_t len, char *why, size_t whylen)
{
	for (size_t i = 0; i < len; i++) {
		if (glob[i] != '[')
			continue;
		size_t j = i + 1;
		int r = class_eval(glob, len, &j, 0);
		if (r == -1)
			return policy_why(why, whylen, "unterminated '['");
		if (r == -2)
			return policy_why(why, whylen, "reversed range in '[...]'");
		i = j - 1;
	}
	return 0;
}

bool policy_has_glob_chars(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/*
 * The two-pointer algorithm: on a mismatch only the last '*' is retried one character further,
 * so the cost is O(glen * slen) at worst instead of exponential.
 */
bool policy_glob_match(const char *g, size_t glen, const char *s, size_t slen)
{
	size_t gi = 0, si = 0, star_g = SIZE_MAX, star_s = 0;

	while (si < slen) {
		if (gi < glen && g[gi] == '*') {
			while (gi < glen && g[gi] == '*')
				gi++;
			if (gi == glen)
				return true;
			star_g = gi;
			star_s = si;
			continue;
		}
		if (gi < glen) {
			uint32_t cp;
			size_t n = next_char(s + si, slen - si, &cp);

			if (g[gi] == '?') {
				gi++;
				si += n;
				continue;
			}
			if (g[gi] == '[') {
				size_t gj = gi + 1;
				int m = class_eval(g, glen, &gj, cp);
				if (m == 1) {
					gi = gj;
					si += n;
					continue;
				}
				/* A malformed class never gets here from a parsed policy; read it
				 * as a literal '[' so callers with raw globs still get an answer.
				 */
				if (m < 0 && s[si] == '[') {
					gi++;
					si++;
					continue;
				}
			} else if (g[gi] == s[si]) {
				gi++;
				si++;
				continue;
			}
		}
		if (star_g == SIZE_MAX)
			return false;
		uint32_t cp;
		star_s += next_char(s + star_s, slen - star_s, &cp);
		si = star_s;
		gi = star_g;
	}
	while (gi < glen && g[gi] == '*')
		gi++;
	return gi == glen;
}

/* The next component of a path at *p (skipping slashes) and its length; NULL at the end. */
static const char *next_comp(const char **p, size_t *len)
{
	while (**p == '/')
		(*p)++;
	if (!**p)
		return NULL;
	const char *start = *p;
	while (**p && **p != '/')
		(*p)++;
	*len = (size_t)(*p - start);
	return start;
}

int policy_pattern_parse(const char *in, bool allow_glob, struct policy_pattern *ret, char *why,
			 size_t whylen)
{
	const char *what = allow_glob ? "pattern" : "path";
	size_t inlen = strlen(in);
	int r;

	if (inlen == 0)
		return policy_why(why, whylen, "empty %s", what);
	/* A leading "**" means "anywhere", the same as a leading "/" and "**". */
	bool globstar_first =
	    allow_glob && in[0] == '*' && in[1] == '*' && (in[2] == '/' || in[2] == 0);
	if (in[0] != '/' && !globstar_first)
		return policy_why(why, whylen, "%s '%s' must be absolute (start with /%s)", what,
				  in, allow_glob ? " or **" : "");

	_cleanup_free_ char *text = malloc(inlen + 2);
	_cleanup_free_ struct policy_comp *comp = calloc(inlen / 2 + 2, sizeof(*comp));
	size_t o = 0, n = 0;
	if (!text || !comp)
		return -ENOMEM;

	size_t len;
	for (const char *p = in, *start; (start = next_comp(&p, &len));) {
		uint8_t type = COMP_LITERAL;

		if (len == 1 && start[0] == '.')
			continue;
		if (len == 2 && start[0] == '.' && start[1] == '.')
			return policy_why(why, whylen, "%s '%s' must not contain '..'", what, in);
		if (len == 2 && start[0] == '*' && start[1] == '*')
			type = COMP_GLOBSTAR;
		else if (memchr(start, '*', len) || memchr(start, '?', len) ||
			 memchr(start, '[', len))
			type = COMP_GLOB;
		if (type != COMP_LITERAL && !allow_glob)
			return policy_why(why, whylen,
					  "path '%s' must be literal (no * ? [ characters)", in);
		if (type == COMP_GLOB) {
			char cwhy[64];
			r = policy_glob_check(start, len, cwhy, sizeof(cwhy));
			if (r < 0)
				return policy_why(why, whylen, "pattern '%s': %s", in, cwhy);
		}
		/* Two "**" in a row mean no more than one; folding them also keeps the NFA small.
		 */
		if (type == COMP_GLOBSTAR && n > 0 && comp[n - 1].type == COMP_GLOBSTAR)
			continue;

		/* The limit is on the normalised text, what a dump prints and reads back. */
		if (o + 1 + len > POLICY_PATH_MAX)
			return policy_why(why, whylen, "%s too long (more than %d bytes)", what,
					  POLICY_PATH_MAX);
		text[o++] = '/';
		comp[n].off = (uint16_t)o;
		comp[n].len = (uint16_t)len;
		comp[n].type = type;
		memcpy(text + o, start, len);
		o += len;
		n++;
	}
	if (o == 0)
		text[o++] = '/';
	text[o] = 0;

	*ret = (struct policy_pattern){
	    .text = TAKE_PTR(text),
	    .comp = TAKE_PTR(comp),
	    .n_comp = n,
	};
	return 0;
}

void policy_pattern_done(struct policy_pattern *pat)
{
	free(pat->text);
	free(pat->comp);
	*pat = (struct policy_pattern){};
}

static bool comp_match(const struct policy_pattern *pat, const struct policy_comp *c, const char *s,
		       size_t slen)
{
	const char *g = pat->text + c->off;

	if (c->type == COMP_LITERAL)
		return c->len == slen && memcmp(g, s, slen) == 0;
	return policy_glob_match(g, c->len, s, slen);
}

static inline void bit_set(uint64_t *set, size_t i)
{
	set[i / 64] |= UINT64_C(1) << (i % 64);
}

static inline bool bit_test(const uint64_t *set, size_t i)
{
	return set[i / 64] & (UINT64_C(1) << (i % 64));
}

/* A "**" at state i may match zero components: state i+1 is then live as well. */
static void closure(const struct policy_pattern *pat, uint64_t *set)
{
	for (size_t i = 0; i < pat->n_comp; i++)
		if (pat->comp[i].type == COMP_GLOBSTAR && bit_test(set, i))
			bit_set(set, i + 1);
}

/*
 * Simulates the pattern as an NFA over the path's components: O(components * states) steps,
 * whatever the pattern. Returns true as soon as all its components are consumed, because a
 * pattern covers the object and everything below it. Otherwise cur holds the states still
 * live after the whole path: what decides whether something below it could match.
 */
static bool pattern_run(const struct policy_pattern *pat, const char *path, uint64_t *cur)
{
	uint64_t next[STATE_WORDS];
	size_t n = pat->n_comp;
	size_t words = n / 64 + 1;

	memset(cur, 0, STATE_WORDS * sizeof(uint64_t));
	if (n > PATTERN_MAX_COMP)
		return false;
	bit_set(cur, 0);
	closure(pat, cur);
	if (bit_test(cur, n))
		return true;

	size_t len;
	for (const char *p = path, *start; (start = next_comp(&p, &len));) {
		bool live = false;

		memset(next, 0, words * sizeof(uint64_t));
		for (size_t w = 0; w < words; w++) {
			uint64_t bits = cur[w];
			while (bits) {
				size_t i = w * 64 + (size_t)__builtin_ctzll(bits);
				bits &= bits - 1;
				if (i >= n)
					continue;
				const struct policy_comp *c = &pat->comp[i];
				if (c->type == COMP_GLOBSTAR) {
					bit_set(next, i);
					live = true;
				} else if (comp_match(pat, c, start, len)) {
					bit_set(next, i + 1);
					live = true;
				}
			}
		}
		memcpy(cur, next, words * sizeof(uint64_t));
		if (!live)
			return false;
		closure(pat, cur);
		if (bit_test(cur, n))
			return true;
	}
	return false;
}

bool policy_pattern_match(const struct policy_pattern *pat, const char *path)
{
	uint64_t cur[STATE_WORDS];

	return pattern_run(pat, path, cur);
}

bool policy_pattern_may_match_below(const struct policy_pattern *pat, const char *path)
{
	uint64_t cur[STATE_WORDS];

	if (pattern_run(pat, path, cur))
		return false; /* matches path itself, and so everything below it alike */
	for (size_t w = 0; w < STATE_WORDS; w++)
		if (cur[w])
			return true;
	return false;
}

bool policy_pattern_same_below(const struct policy_pattern *pat, const char *a, const char *b)
{
	uint64_t sa[STATE_WORDS], sb[STATE_WORDS];
	bool ma = pattern_run(pat, a, sa), mb = pattern_run(pat, b, sb);

	if (ma || mb)
		return ma == mb;
	/* The NFA's future depends on its live states alone: equal states, equal answers for
	 * every a/rest and b/rest. */
	return memcmp(sa, sb, sizeof(sa)) == 0;
}
