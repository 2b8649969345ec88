/* The public sb_oci_* face of the OCI payload parser, for `sysbroker agent` and other agents. */
#include <sysbroker/sysbroker.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci.h"

struct sb_oci_reader {
	struct oci_reader r;
};

struct sb_oci_payload {
	struct oci_payload p;
};

int sb_oci_reader_new(sb_oci_reader **ret, size_t cap)
{
	sb_oci_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	int err = oci_reader_init(&r->r, cap);
	if (err < 0) {
		free(r);
		return err;
	}
	*ret = r;
	return 0;
}

void sb_oci_reader_free(sb_oci_reader *r)
{
	if (!r)
		return;
	oci_reader_done(&r->r);
	free(r);
}

int sb_oci_reader_feed(sb_oci_reader *r, const void *buf, size_t len)
{
	return oci_reader_feed(&r->r, buf, len);
}

int sb_oci_reader_eof(sb_oci_reader *r)
{
	return oci_reader_eof(&r->r);
}

const char *sb_oci_reader_strerror(const sb_oci_reader *r)
{
	return oci_reader_strerror(&r->r);
}

int sb_oci_payload_parse(sb_oci_reader *r, sb_oci_payload **ret, char *err, size_t errlen)
{
	if (r->r.state != 1 || !r->r.root) {
		if (err && errlen)
			snprintf(err, errlen, "payload not complete");
		return -EAGAIN;
	}
	sb_oci_payload *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	int e = oci_payload_parse(r->r.root, &p->p, err, errlen);
	if (e < 0) {
		free(p);
		return e;
	}
	*ret = p;
	return 0;
}

void sb_oci_payload_free(sb_oci_payload *p)
{
	if (!p)
		return;
	oci_payload_done(&p->p);
	free(p);
}

size_t sb_oci_payload_n_fds(const sb_oci_payload *p)
{
	return p->p.n_fds;
}

int sb_oci_payload_fd_index(const sb_oci_payload *p, const char *name)
{
	return oci_payload_fd_index(&p->p, name);
}

pid_t sb_oci_payload_pid(const sb_oci_payload *p)
{
	return p->p.pid;
}

const char *sb_oci_payload_string(const sb_oci_payload *p, const char *field)
{
	static const char annotations[] = "state.annotations.";

	if (!strcmp(field, "ociVersion"))
		return p->p.oci_version;
	if (!strcmp(field, "metadata"))
		return p->p.metadata;
	if (!strcmp(field, "state.ociVersion"))
		return p->p.state.oci_version;
	if (!strcmp(field, "state.id"))
		return p->p.state.id;
	if (!strcmp(field, "state.status"))
		return p->p.state.status;
	if (!strcmp(field, "state.bundle"))
		return p->p.state.bundle;
	if (!strncmp(field, annotations, sizeof(annotations) - 1))
		return oci_payload_annotation(&p->p, field + sizeof(annotations) - 1);
	return NULL;
}

bool sb_oci_policy_name_valid(const char *name)
{
	return oci_policy_name_valid(name);
}

int sb_oci_policy_select(const char *metadata, char *ret, size_t size, char *err, size_t errlen)
{
	return oci_policy_select(metadata, ret, size, err, errlen);
}
