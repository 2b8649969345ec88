/* The rule that turns a container's listenerMetadata into a policy NAME, failing closed. */
#include "oci.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void trim(const char **b, const char **e)
{
	while (*b < *e && is_blank(**b))
		(*b)++;
	while (*e > *b && is_blank((*e)[-1]))
		(*e)--;
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

static bool name_valid(const char *s, size_t n)
{
	/* A leading dot covers ".", ".." and hidden files; '/' is not a name character. */
	if (n == 0 || n > OCI_POLICY_NAME_MAX || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!name_char(s[i]))
			return false;
	return true;
}

bool oci_policy_name_valid(const char *name)
{
	return name && name_valid(name, strlen(name));
}

/* The candidate, quoted for a log line: non-printable bytes as \xNN, cut after 64 bytes. */
static void quote(char *buf, size_t size, const char *s, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n && i < 64 && o + 5 < size; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c >= 0x7f || c == '\\' || c == '"')
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	if (n > 64 && o + 4 < size) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o < size ? o : size - 1] = 0;
}

static int __attribute__((format(printf, 3, 4)))
refuse(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

int oci_policy_select(const char *metadata, char *ret, size_t size, char *err, size_t errlen)
{
	const char *nb = NULL, *ne = NULL;

	if (err && errlen)
		err[0] = 0;
	if (!metadata)
		return 0;
	const char *b = metadata, *e = metadata + strlen(metadata);
	trim(&b, &e);
	if (b == e)
		return 0;

	if (!memchr(b, '=', (size_t)(e - b))) {
		/* No key=value syntax at all: the whole string is meant as the NAME. */
		nb = b;
		ne = e;
	} else {
		bool found = false;
		size_t len = (size_t)(e - b);
		for (size_t i = 0; i <= len;) {
			size_t j = i;
			while (j < len && b[j] != ';' && b[j] != ',')
				j++;
			const char *ib = b + i, *ie = b + j;
			trim(&ib, &ie);
			const char *eq = memchr(ib, '=', (size_t)(ie - ib));
			if (eq) {
				const char *kb = ib, *ke = eq;
				trim(&kb, &ke);
				if (ke - kb == 6 && memcmp(kb, "policy", 6) == 0) {
					/* Even two equal keys are refused: someone meant two
					 * things. */
					if (found)
						return refuse(
						    err, errlen,
						    "metadata names more than one policy");
					found = true;
					nb = eq + 1;
					ne = ie;
					trim(&nb, &ne);
				}
			}
			i = j + 1;
		}
		if (!found)
			return 0;
	}

	if (!name_valid(nb, (size_t)(ne - nb))) {
		char q[64 * 4 + 8];
		quote(q, sizeof(q), nb, (size_t)(ne - nb));
		if (nb == ne)
			return refuse(err, errlen, "metadata names an empty policy");
		return refuse(
		    err, errlen,
		    "policy name \"%s\" is not valid (1-%d of [A-Za-z0-9._-], no leading dot)", q,
		    OCI_POLICY_NAME_MAX);
	}
	if ((size_t)(ne - nb) >= size)
		return -ENAMETOOLONG;
	memcpy(ret, nb, (size_t)(ne - nb));
	ret[ne - nb] = 0;
	return 1;
}
