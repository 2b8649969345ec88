/* Incremental reader of one OCI seccomp-agent payload: JSON in any pieces, done at its last brace.
 */
#include "oci.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/*
 * How it works: a small scanner follows the bytes as they come (strings, escapes, nesting)
 * to find the brace that closes the top-level object, buffering the text; only then is the
 * whole text handed to json-c in one call. json-c's own incremental mode is not used
 * because its answer depends on where the reads were cut (json-c 0.16 parses {"a":1-}
 * fed byte by byte as {"a":1}, and refuses it fed whole), and its UTF-8 check does not
 * span reads. A scanner/json-c disagreement (say json-c's single-quoted strings) can only
 * end in an error, never in a different object.
 */

static bool is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int oci_reader_init(struct oci_reader *r, size_t cap)
{
	*r = (struct oci_reader){0};
	/* json_tokener_parse_ex takes an int length. */
	r->cap = cap == 0 ? OCI_PAYLOAD_MAX : cap > INT_MAX ? INT_MAX : cap;
	return 0;
}

void oci_reader_done(struct oci_reader *r)
{
	free(r->buf);
	if (r->root)
		json_object_put(r->root);
	*r = (struct oci_reader){0};
}

static int fail(struct oci_reader *r, int err, const char *why)
{
	r->state = err;
	r->error = why;
	return err;
}

/* Bytes after the complete object: only whitespace is allowed. */
static int check_trailing(struct oci_reader *r, const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!is_ws(p[i]))
			return fail(r, -EBADMSG, "garbage after the JSON object");
	return 1;
}

/*
 * Streaming UTF-8 validation (RFC 3629: no overlongs, surrogates or code points above
 * U+10FFFF); the state survives between chunks. A raw NUL cannot appear in JSON text and
 * json-c would stop at it, so it is refused here too. Returns false on the first bad byte.
 */
static bool utf8_check(struct oci_reader *r, const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = p[i];
		if (r->u8_need) {
			if (c < r->u8_lo || c > r->u8_hi)
				return false;
			r->u8_need--;
			r->u8_lo = 0x80;
			r->u8_hi = 0xbf;
			continue;
		}
		r->u8_lo = 0x80;
		r->u8_hi = 0xbf;
		if (c == 0)
			return false;
		if (c < 0x80)
			continue;
		if (c >= 0xc2 && c <= 0xdf) {
			r->u8_need = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			r->u8_need = 2;
			if (c == 0xe0) /* overlong */
				r->u8_lo = 0xa0;
			if (c == 0xed) /* UTF-16 surrogates */
				r->u8_hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			r->u8_need = 3;
			if (c == 0xf0) /* overlong */
				r->u8_lo = 0x90;
			if (c == 0xf4) /* above U+10FFFF */
				r->u8_hi = 0x8f;
		} else {
			return false;
		}
	}
	return true;
}

static int append(struct oci_reader *r, const unsigned char *p, size_t len)
{
	if (len > r->alloc - r->len) {
		size_t want = r->alloc ? r->alloc : 512;
		while (want - r->len < len)
			want *= 2;
		/* n_bytes <= cap was checked, so this stays within cap plus the first 512. */
		char *n = realloc(r->buf, want + 1);
		if (!n)
			return -ENOMEM;
		r->buf = n;
		r->alloc = want;
	}
	memcpy(r->buf + r->len, p, len);
	r->len += len;
	return 0;
}

/* Follows the JSON structure byte by byte; returns the offset just past the closing brace, or len.
 */
static size_t scan(struct oci_reader *r, const unsigned char *p, size_t len, int *err)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = p[i];
		if (r->in_string) {
			if (r->escape)
				r->escape = false;
			else if (c == '\\')
				r->escape = true;
			else if (c == '"')
				r->in_string = false;
			continue;
		}
		switch (c) {
		case '"':
			r->in_string = true;
			break;
		case '{':
		case '[':
			if (++r->depth > OCI_DEPTH_MAX) {
				*err = fail(r, -EBADMSG, "JSON nested too deep");
				return len;
			}
			break;
		case '}':
		case ']':
			if (--r->depth == 0)
				return i + 1;
			break;
		}
	}
	return len;
}

int oci_reader_feed(struct oci_reader *r, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	int err = 0;

	if (r->state < 0)
		return r->state;
	if (r->cap == 0)
		return fail(r, -EINVAL, "reader not initialised");
	if (len > r->cap - r->n_bytes)
		return fail(r, -E2BIG, "payload larger than the limit");
	r->n_bytes += len;
	if (r->state == 1)
		return check_trailing(r, p, len);

	if (!utf8_check(r, p, len))
		return fail(r, -EBADMSG, "NUL byte or invalid UTF-8 in payload");

	size_t off = 0;
	if (!r->started) {
		while (off < len && is_ws(p[off]))
			off++;
		if (off == len)
			return 0;
		/* Only an object is a payload; a bare "tru" or "12" is refused at once. */
		if (p[off] != '{')
			return fail(r, -EBADMSG, "payload is not a JSON object");
		r->started = true;
	}

	size_t end = off + scan(r, p + off, len - off, &err);
	if (err < 0)
		return err;
	if (append(r, p + off, end - off) < 0)
		return fail(r, -ENOMEM, "out of memory");
	if (r->depth > 0)
		return 0;

	/* The closing brace is in: parse the whole text at once. */
	struct json_tokener *tok = json_tokener_new_ex(OCI_DEPTH_MAX + 1);
	if (!tok)
		return fail(r, -ENOMEM, "out of memory");
	/* Strict: no comments, trailing commas or bare words, which json-c otherwise accepts. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	json_object *o = json_tokener_parse_ex(tok, r->buf, (int)r->len);
	enum json_tokener_error e = json_tokener_get_error(tok);
	size_t used = json_tokener_get_parse_end(tok), text_len = r->len;
	json_tokener_free(tok);
	free(r->buf);
	r->buf = NULL;
	r->len = r->alloc = 0;
	if (!o) {
		/* The scanner saw the end, so "continue" means the two disagree: refuse. */
		return fail(r, -EBADMSG,
			    e == json_tokener_continue ? "malformed JSON"
						       : json_tokener_error_desc(e));
	}
	if (!json_object_is_type(o, json_type_object) || used != text_len) {
		json_object_put(o);
		return fail(r, -EBADMSG, "malformed JSON");
	}
	r->root = o;
	r->state = 1;
	return check_trailing(r, p + end, len - end);
}

int oci_reader_eof(struct oci_reader *r)
{
	if (r->state != 0)
		return r->state;
	if (!r->started)
		return fail(r, -ENODATA, "connection closed before any payload");
	return fail(r, -EBADMSG, "connection closed in the middle of the payload");
}

const char *oci_reader_strerror(const struct oci_reader *r)
{
	if (r->error)
		return r->error;
	return r->state == 1 ? "complete" : "incomplete";
}
