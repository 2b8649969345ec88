/* Fuzz target: OCI agent payloads fed in arbitrary chunks must parse the same as fed whole. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sysbroker/sysbroker.h>

#include "oci/oci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                  \
	do {                                                                                      \
		if (!(x)) {                                                                       \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #x); \
			abort();                                                                  \
		}                                                                                 \
	} while (0)

/* Chunk lengths come from a PRNG seeded by the input, so every input is its own split. */
static uint32_t next(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* mode 0: whole; 1: byte by byte; 2: random chunks. Returns the reader's last answer. */
static int feed(struct oci_reader *r, const uint8_t *data, size_t size, int mode, size_t cap)
{
	uint32_t seed = 2166136261u;
	int ret = 0;

	for (size_t i = 0; i < size && i < 64; i++)
		seed = (seed ^ data[i]) * 16777619u;
	seed |= 1;
	CHECK(oci_reader_init(r, cap) == 0);
	if (mode == 0)
		return oci_reader_feed(r, data, size);
	for (size_t off = 0; off < size;) {
		size_t n = mode == 1 ? 1 : 1 + next(&seed) % 97;
		if (n > size - off)
			n = size - off;
		/* Empty reads in between change nothing. */
		CHECK(oci_reader_feed(r, data + off, 0) == ret || ret < 0);
		ret = oci_reader_feed(r, data + off, n);
		CHECK(ret == 0 || ret == 1 || ret == -EBADMSG || ret == -E2BIG);
		off += n;
		if (ret < 0)
			break;
	}
	return ret;
}

static void use_payload(json_object *root)
{
	struct oci_payload p;
	char err[256], name[OCI_POLICY_NAME_MAX + 1];

	int ret = oci_payload_parse(root, &p, err, sizeof(err));
	CHECK(ret == 0 || ret == -EBADMSG);
	if (ret < 0) {
		CHECK(err[0] != 0);
		return;
	}
	CHECK(p.state.id && p.state.id[0]);
	CHECK(strlen(p.state.id) <= OCI_ID_MAX);
	for (const char *c = p.state.id; *c; c++)
		CHECK((unsigned char)*c >= 0x20 && *c != 0x7f);
	CHECK(p.pid > 0 && p.pid <= OCI_PID_MAX);
	CHECK(p.n_fds <= OCI_FDS_MAX);
	for (size_t i = 0; i < p.n_fds; i++)
		CHECK(oci_payload_fd_index(&p, p.fds[i]) == (int)i);
	(void)oci_payload_annotation(&p, "run.oci.seccomp.receiver");
	ret = oci_policy_select(p.metadata, name, sizeof(name), err, sizeof(err));
	CHECK(ret >= -EINVAL && ret <= 1);
	if (ret == 1)
		CHECK(oci_policy_name_valid(name));
	oci_payload_done(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct oci_reader whole, bytes, chunks;

	if (size > 65536)
		return 0;
	int a = feed(&whole, data, size, 0, 0);
	int c = feed(&chunks, data, size, 2, 0);
	/* The answer never depends on how the bytes were cut. */
	CHECK(a == c);
	if (size <= 4096) {
		int b = feed(&bytes, data, size, 1, 0);
		CHECK(a == b);
		oci_reader_done(&bytes);
	}
	if (a == 0) {
		int e = oci_reader_eof(&whole);
		CHECK(e == -ENODATA || e == -EBADMSG);
	}
	if (a == 1) {
		CHECK(whole.root && json_object_is_type(whole.root, json_type_object));
		use_payload(whole.root);
	}
	oci_reader_done(&whole);
	oci_reader_done(&chunks);

	/* A small cap: never over it, and a completed payload really fit. */
	struct oci_reader small;
	int s = feed(&small, data, size, 2, 64);
	CHECK(small.n_bytes <= 64);
	if (s == 1)
		CHECK(size <= 64);
	oci_reader_done(&small);

	/* The metadata rule on the raw bytes as a string. */
	char *str = malloc(size + 1);
	char name[OCI_POLICY_NAME_MAX + 1], err[512];
	CHECK(str);
	memcpy(str, data, size);
	str[size] = 0;
	int ret = oci_policy_select(str, name, sizeof(name), err, sizeof(err));
	CHECK(ret == 0 || ret == 1 || ret == -EINVAL);
	if (ret == 1)
		CHECK(oci_policy_name_valid(name));
	if (ret == -EINVAL)
		for (const char *k = err; *k; k++)
			CHECK((unsigned char)*k >= 0x20);
	free(str);
	return 0;
}
