/* String helpers: bounded copies and JSON string escaping. */
#include "strutil.h"

#include <stdio.h>
#include <string.h>

size_t strlcpy_sb(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);
	if (size) {
		size_t k = n < size - 1 ? n : size - 1;
		memcpy(dst, src, k);
		dst[k] = 0;
	}
	return n;
}

size_t json_escape(char *dst, size_t size, const char *src)
{
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)src; *p; p++) {
		char tmp[8];
		const char *rep = NULL;
		switch (*p) {
		case '"': rep = "\\\""; break;
		case '\\': rep = "\\\\"; break;
		case '\n': rep = "\\n"; break;
		case '\r': rep = "\\r"; break;
		case '\t': rep = "\\t"; break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				snprintf(tmp, sizeof(tmp), "\\u%04x", *p);
				rep = tmp;
			}
		}
		if (rep) {
			for (; *rep; rep++)
				if (o + 1 < size)
					dst[o++] = *rep;
				else
					o++;
		} else if (o + 1 < size) {
			dst[o++] = (char)*p;
		} else {
			o++;
		}
	}
	if (size)
		dst[o < size ? o : size - 1] = 0;
	return o;
}
