/* OCI seccomp-agent payload: incremental reader, validating parser and policy-name rule (pure). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <json-c/json.h>

#define OCI_PAYLOAD_MAX (1024 * 1024) /* default byte cap of one connection's payload */
#define OCI_FDS_MAX 16		      /* names in "fds"; SCM_RIGHTS carries at most 253 */
#define OCI_ID_MAX 1024		      /* state.id */
#define OCI_VERSION_MAX 64	      /* ociVersion, state.ociVersion, state.status */
#define OCI_FD_NAME_MAX 256	      /* one entry of "fds" */
#define OCI_METADATA_MAX 4096	      /* listenerMetadata */
#define OCI_BUNDLE_MAX 4096	      /* state.bundle (PATH_MAX) */
#define OCI_ANNOTATIONS_MAX 1024      /* entries of state.annotations */
#define OCI_DEPTH_MAX 16	      /* JSON nesting; real payloads use 3 */
#define OCI_PID_MAX (4 * 1024 * 1024) /* PID_MAX_LIMIT on 64-bit */
#define OCI_POLICY_NAME_MAX 248	      /* NAME of NAME.policy fits NAME_MAX (255) */

/*
 * Collects one payload from a stream that may deliver it in any number of pieces. The JSON
 * text must be one object; it is complete at its closing brace, so a peer that keeps the
 * connection open (runc) is served without waiting for EOF.
 */
struct oci_reader {
	json_object *root; /* set once complete */
	size_t n_bytes;	   /* bytes fed so far */
	size_t cap;
	int state;	   /* 0 reading, 1 complete, < 0 sticky error */
	const char *error; /* static description of the error, or NULL */
	/* The text from the opening brace on, until it is complete. */
	char *buf;
	size_t len, alloc;
	/* Scanner state, kept across reads. */
	bool started; /* the opening brace was seen */
	bool in_string, escape;
	unsigned depth;
	unsigned char u8_need, u8_lo, u8_hi; /* UTF-8 continuation */
};

/* cap 0 means OCI_PAYLOAD_MAX; caps above INT_MAX are lowered to it. */
int oci_reader_init(struct oci_reader *r, size_t cap);
void oci_reader_done(struct oci_reader *r);
/*
 * Feeds len bytes. Returns 0 when more is needed, 1 once the object is complete (later bytes
 * may only be whitespace), -EBADMSG for anything that is not one JSON object (trailing
 * garbage included) and -E2BIG once more than cap bytes were fed. Errors are sticky.
 */
int oci_reader_feed(struct oci_reader *r, const void *buf, size_t len);
/* The peer closed: 1 complete, -ENODATA nothing but whitespace came, -EBADMSG truncated. */
int oci_reader_eof(struct oci_reader *r);
/* A static, human-readable reason for the last error (or "incomplete"). */
const char *oci_reader_strerror(const struct oci_reader *r);

struct oci_state {
	const char *oci_version; /* NULL when absent */
	const char *id;
	const char *status;	  /* NULL when absent */
	const char *bundle;	  /* NULL when absent */
	pid_t pid;		  /* 0 when absent */
	json_object *annotations; /* object of strings, or NULL */
};

/* A validated payload; its strings point into root, which it holds a reference on. */
struct oci_payload {
	json_object *root;
	const char *oci_version; /* NULL when absent */
	const char *fds[OCI_FDS_MAX];
	size_t n_fds;
	pid_t pid;
	const char *metadata; /* NULL when absent */
	struct oci_state state;
};

/*
 * Validates root and fills *ret (taking a new reference on root). Required: fds (array of
 * distinct non-empty names), pid, state.id; every field present must have its type and a
 * sane value. Unknown keys are ignored (later runtimes may add some). On error returns
 * -EBADMSG and err receives the reason.
 */
int oci_payload_parse(json_object *root, struct oci_payload *ret, char *err, size_t errlen);
void oci_payload_done(struct oci_payload *p);
/* Index in SCM_RIGHTS order of the fd named name, or -ENOENT. */
int oci_payload_fd_index(const struct oci_payload *p, const char *name);
/* The annotation's value, NULL when absent. */
const char *oci_payload_annotation(const struct oci_payload *p, const char *key);

/* 1..OCI_POLICY_NAME_MAX bytes of [A-Za-z0-9._-], not starting with '.' ("." and ".." included). */
bool oci_policy_name_valid(const char *name);
/*
 * The policy a container's listenerMetadata names (docs/agent.md, "Choosing the policy"):
 *  - NULL, empty or blank metadata names none;
 *  - metadata without '=' is one NAME, surrounding blanks trimmed;
 *  - metadata with '=' is a list of items split on ';' or ',', each trimmed; an item
 *    "policy=NAME" names the policy; other keys and bare labels are ignored; no policy key
 *    names none; two or more are refused even when equal.
 * A NAME that is not valid is refused, never replaced by the default (fail closed).
 * Returns 1 with the name in ret, 0 when none is named (the default applies), or -EINVAL
 * (err gets the reason) or -ENAMETOOLONG when size is too small.
 */
int oci_policy_select(const char *metadata, char *ret, size_t size, char *err, size_t errlen);
