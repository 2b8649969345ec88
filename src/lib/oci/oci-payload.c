/* Validation of an OCI seccomp-agent payload (container state plus fd names) into a struct. */
#include "oci.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum {
	STR_REQUIRED = 1 << 0,
	STR_NONEMPTY = 1 << 1,
	STR_NOCTRL = 1 << 2, /* no C0 control characters nor DEL: these go into log lines */
};

static int __attribute__((format(printf, 3, 4)))
reason(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

static const char *type_name(json_object *o)
{
	return json_type_to_name(json_object_get_type(o));
}

/* A string member: present (if required), a string, no embedded NUL, bounded, printable. */
static int get_string(json_object *obj, const char *where, const char *key, unsigned flags,
		      size_t max, const char **ret, char *err, size_t errlen)
{
	json_object *v;

	*ret = NULL;
	if (!json_object_object_get_ex(obj, key, &v)) {
		if (flags & STR_REQUIRED)
			return reason(err, errlen, "missing %s%s", where, key);
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return reason(err, errlen, "%s%s is a %s, not a string", where, key, type_name(v));
	const char *s = json_object_get_string(v);
	size_t len = (size_t)json_object_get_string_len(v);
	if (strlen(s) != len)
		return reason(err, errlen, "%s%s contains a NUL character", where, key);
	if (len > max)
		return reason(err, errlen, "%s%s longer than %zu bytes", where, key, max);
	if ((flags & STR_NONEMPTY) && len == 0)
		return reason(err, errlen, "%s%s is empty", where, key);
	if (flags & STR_NOCTRL)
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
				return reason(err, errlen, "%s%s contains a control character",
					      where, key);
	*ret = s;
	return 0;
}

static int get_pid(json_object *obj, const char *where, const char *key, bool required, pid_t *ret,
		   char *err, size_t errlen)
{
	json_object *v;

	*ret = 0;
	if (!json_object_object_get_ex(obj, key, &v)) {
		if (required)
			return reason(err, errlen, "missing %s%s", where, key);
		return 0;
	}
	/* json-c keeps integers and doubles apart: 12.0 and 1e3 are doubles, refused. */
	if (!json_object_is_type(v, json_type_int))
		return reason(err, errlen, "%s%s is a %s, not an integer", where, key,
			      type_name(v));
	int64_t n = json_object_get_int64(v);
	if (n <= 0 || n > OCI_PID_MAX)
		return reason(err, errlen, "%s%s out of range", where, key);
	*ret = (pid_t)n;
	return 0;
}

static int parse_fds(json_object *root, struct oci_payload *p, char *err, size_t errlen)
{
	json_object *a;

	if (!json_object_object_get_ex(root, "fds", &a))
		return reason(err, errlen, "missing fds");
	if (!json_object_is_type(a, json_type_array))
		return reason(err, errlen, "fds is a %s, not an array", type_name(a));
	size_t n = json_object_array_length(a);
	if (n > OCI_FDS_MAX)
		return reason(err, errlen, "fds has %zu names, at most %d allowed", n, OCI_FDS_MAX);
	for (size_t i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(a, i);
		if (!json_object_is_type(v, json_type_string))
			return reason(err, errlen, "fds[%zu] is a %s, not a string", i,
				      type_name(v));
		const char *s = json_object_get_string(v);
		size_t len = (size_t)json_object_get_string_len(v);
		if (len == 0 || strlen(s) != len || len > OCI_FD_NAME_MAX)
			return reason(err, errlen, "fds[%zu] is not a valid name", i);
		for (size_t k = 0; k < len; k++)
			if ((unsigned char)s[k] < 0x20 || s[k] == 0x7f)
				return reason(err, errlen, "fds[%zu] contains a control character",
					      i);
		/* Two fds with one name would make the mapping by name ambiguous. */
		for (size_t k = 0; k < i; k++)
			if (strcmp(p->fds[k], s) == 0)
				return reason(err, errlen, "fds[%zu] repeats the name of fds[%zu]",
					      i, k);
		p->fds[i] = s;
	}
	p->n_fds = n;
	return 0;
}

static int parse_annotations(json_object *state, struct oci_payload *p, char *err, size_t errlen)
{
	json_object *a;

	if (!json_object_object_get_ex(state, "annotations", &a))
		return 0;
	/* runc and crun leave the key out when there are none; null is tolerated too. */
	if (json_object_is_type(a, json_type_null))
		return 0;
	if (!json_object_is_type(a, json_type_object))
		return reason(err, errlen, "state.annotations is a %s, not an object",
			      type_name(a));
	if (json_object_object_length(a) > OCI_ANNOTATIONS_MAX)
		return reason(err, errlen, "state.annotations has more than %d entries",
			      OCI_ANNOTATIONS_MAX);
	json_object_object_foreach(a, key, val)
	{
		if (!json_object_is_type(val, json_type_string))
			return reason(err, errlen, "state.annotations value is a %s, not a string",
				      type_name(val));
		if (strlen(json_object_get_string(val)) != (size_t)json_object_get_string_len(val))
			return reason(err, errlen, "state.annotations value contains a NUL");
		(void)key;
	}
	p->state.annotations = a;
	return 0;
}

static int parse_state(json_object *root, struct oci_payload *p, char *err, size_t errlen)
{
	json_object *st;
	int r;

	if (!json_object_object_get_ex(root, "state", &st))
		return reason(err, errlen, "missing state");
	if (!json_object_is_type(st, json_type_object))
		return reason(err, errlen, "state is a %s, not an object", type_name(st));
	r = get_string(st, "state.", "ociVersion", STR_NOCTRL, OCI_VERSION_MAX,
		       &p->state.oci_version, err, errlen);
	if (r < 0)
		return r;
	r = get_string(st, "state.", "id", STR_REQUIRED | STR_NONEMPTY | STR_NOCTRL, OCI_ID_MAX,
		       &p->state.id, err, errlen);
	if (r < 0)
		return r;
	r = get_string(st, "state.", "status", STR_NOCTRL, OCI_VERSION_MAX, &p->state.status, err,
		       errlen);
	if (r < 0)
		return r;
	r = get_string(st, "state.", "bundle", STR_NOCTRL, OCI_BUNDLE_MAX, &p->state.bundle, err,
		       errlen);
	if (r < 0)
		return r;
	r = get_pid(st, "state.", "pid", false, &p->state.pid, err, errlen);
	if (r < 0)
		return r;
	return parse_annotations(st, p, err, errlen);
}

int oci_payload_parse(json_object *root, struct oci_payload *ret, char *err, size_t errlen)
{
	struct oci_payload p = {0};
	int r;

	if (err && errlen)
		err[0] = 0;
	*ret = (struct oci_payload){0};
	if (!root || !json_object_is_type(root, json_type_object))
		return reason(err, errlen, "payload is not a JSON object");
	r = get_string(root, "", "ociVersion", STR_NOCTRL, OCI_VERSION_MAX, &p.oci_version, err,
		       errlen);
	if (r < 0)
		return r;
	r = parse_fds(root, &p, err, errlen);
	if (r < 0)
		return r;
	r = get_pid(root, "", "pid", true, &p.pid, err, errlen);
	if (r < 0)
		return r;
	/*
	 * listenerMetadata is free text for the agent; only NUL and its size are refused here,
	 * the policy rule decides what it means.
	 */
	r = get_string(root, "", "metadata", 0, OCI_METADATA_MAX, &p.metadata, err, errlen);
	if (r < 0)
		return r;
	r = parse_state(root, &p, err, errlen);
	if (r < 0)
		return r;
	p.root = json_object_get(root);
	*ret = p;
	return 0;
}

void oci_payload_done(struct oci_payload *p)
{
	if (p->root)
		json_object_put(p->root);
	*p = (struct oci_payload){0};
}

int oci_payload_fd_index(const struct oci_payload *p, const char *name)
{
	for (size_t i = 0; i < p->n_fds; i++)
		if (strcmp(p->fds[i], name) == 0)
			return (int)i;
	return -ENOENT;
}

const char *oci_payload_annotation(const struct oci_payload *p, const char *key)
{
	json_object *v;

	if (!p->state.annotations || !json_object_object_get_ex(p->state.annotations, key, &v))
		return NULL;
	return json_object_get_string(v);
}
