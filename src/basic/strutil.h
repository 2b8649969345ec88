/* String helpers: bounded copies and JSON string escaping. */
#pragma once
#include <stddef.h>

/* Copies at most size-1 bytes and NUL-terminates; returns strlen(src) (truncated if >= size). */
size_t strlcpy_sb(char *dst, const char *src, size_t size);
/* Writes src as the inside of a JSON string (no quotes); returns the full length needed. */
size_t json_escape(char *dst, size_t size, const char *src);
