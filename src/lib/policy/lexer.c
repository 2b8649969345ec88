/* The policy lexer: checks that text is clean UTF-8 and splits a line into words. */
#include <stdio.h>
#include <string.h>

#include "policy-internal.h"

int policy_why(char *why, size_t whylen, const char *fmt, ...)
{
	if (why && whylen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

size_t policy_utf8_decode(const char *str, size_t len, uint32_t *ret_cp)
{
	const unsigned char *s = (const unsigned char *)str;
	uint32_t cp, min;
	size_t need;

	if (len == 0)
		return 0;
	if (s[0] < 0x80) {
		*ret_cp = s[0];
		return 1;
	}
	/* 0x80-0xc1: a continuation byte, or the lead of an overlong two-byte form. */
	if (s[0] < 0xc2)
		return 0;
	if (s[0] < 0xe0) {
		need = 1;
		cp = s[0] & 0x1f;
		min = 0x80;
	} else if (s[0] < 0xf0) {
		need = 2;
		cp = s[0] & 0x0f;
		min = 0x800;
	} else if (s[0] < 0xf5) {
		need = 3;
		cp = s[0] & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (len < need + 1)
		return 0;
	for (size_t i = 1; i <= need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and code points past Unicode are not UTF-8. */
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*ret_cp = cp;
	return need + 1;
}

int policy_text_check(const char *s, size_t len, char *why, size_t whylen)
{
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = policy_utf8_decode(s + i, len - i, &cp);

		if (n == 0)
			return policy_why(why, whylen, "invalid UTF-8");
		if (cp == 0)
			return policy_why(why, whylen, "NUL byte");
		if (cp == '\r')
			return policy_why(why, whylen,
					  "carriage return (DOS line endings are not accepted)");
		/* C0 and C1 controls and DEL: they would garble error messages and dumps. */
		if ((cp < 0x20 && cp != '\t') || (cp >= 0x7f && cp < 0xa0))
			return policy_why(why, whylen, "control character U+%04X", (unsigned)cp);
		i += n;
	}
	return 0;
}

void policy_strv_free(char **v)
{
	if (!v)
		return;
	for (char **w = v; *w; w++)
		free(*w);
	free(v);
}

int policy_lex_line(const char *line, size_t len, char ***ret_words, size_t *ret_n, char *why,
		    size_t whylen)
{
	_cleanup_(policy_strv_freep) char **words = NULL;
	size_t n = 0, alloc = 0;
	size_t i = 0;
	int r;

	r = policy_text_check(line, len, why, whylen);
	if (r < 0)
		return r;

	for (;;) {
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i >= len || line[i] == '#')
			break;

		/* A word is never longer than the rest of the line. */
		_cleanup_free_ char *w = malloc(len - i + 1);
		size_t o = 0;
		if (!w)
			return -ENOMEM;

		while (i < len && line[i] != ' ' && line[i] != '\t' && line[i] != '#') {
			if (line[i] != '"') {
				w[o++] = line[i++];
				continue;
			}
			/* Quoted part; it may be glued to unquoted parts, as in a shell. */
			i++;
			for (;;) {
				if (i >= len)
					return policy_why(why, whylen, "unterminated quote");
				if (line[i] == '"') {
					i++;
					break;
				}
				if (line[i] == '\\') {
					if (i + 1 < len &&
					    (line[i + 1] == '"' || line[i + 1] == '\\')) {
						w[o++] = line[i + 1];
						i += 2;
						continue;
					}
					if (i + 1 >= len)
						return policy_why(why, whylen,
								  "unterminated quote");
					return policy_why(why, whylen,
							  "unknown escape in quotes "
							  "(only \\\" and \\\\ are escapes)");
				}
				w[o++] = line[i++];
			}
		}
		w[o] = 0;

		if (n + 2 > alloc) {
			size_t na = alloc ? alloc * 2 : 8;
			char **nw = realloc(words, na * sizeof(char *));
			if (!nw)
				return -ENOMEM;
			words = nw;
			alloc = na;
		}
		words[n++] = TAKE_PTR(w);
		words[n] = NULL;
	}

	if (!words) {
		words = calloc(1, sizeof(char *));
		if (!words)
			return -ENOMEM;
	}
	*ret_words = TAKE_PTR(words);
	*ret_n = n;
	return 0;
}

bool policy_word_needs_quotes(const char *w)
{
	if (!*w)
		return true;
	return strpbrk(w, " \t#\"") != NULL;
}
