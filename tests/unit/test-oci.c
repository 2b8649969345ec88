/* Unit tests of the OCI seccomp-agent payload reader, parser and metadata-to-policy rule. */
#include "tap.h"

#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include <sysbroker/sysbroker.h>

#include "macros.h"
#include "oci/oci.h"

static const char *const samples[] = {
    "sample-runc-1.1.5-payload.json",
    "sample-runc-1.1.5-payload-annotations.json",
    "sample-crun-1.8.1-payload.json",
    "sample-crun-1.8.1-payload-annotations.json",
    "sample-crun-1.8.1-payload-receiver-annotation-no-metadata.json",
};

/* What each sample must parse to, in the order of samples[]. */
static const struct {
	const char *oci_version, *id, *bundle, *metadata, *annotation_key, *annotation;
	pid_t pid;
} expect[] = {
    {"1.0.2-dev", "agent-runc-20821", "/tmp/oci-agent-final/bundle",
     "agent-test;policy=deny-mkdir-*deny*", NULL, NULL, 21189},
    {"1.0.2-dev", "vA-runc", "/tmp/oci-agent-variants/A", "agent-test;policy=deny-mkdir-*deny*",
     "org.example.agent/policy", "strict", 14479},
    {"0.2.0", "agent-crun-20821", "/tmp/oci-agent-final/bundle",
     "agent-test;policy=deny-mkdir-*deny*", NULL, NULL, 21160},
    {"0.2.0", "vA-crun", "/tmp/oci-agent-variants/A", "agent-test;policy=deny-mkdir-*deny*",
     "io.example/x", "1", 14407},
    {"0.2.0", "vG", "/tmp/oci-agent-variants/G", NULL, "run.oci.seccomp.receiver",
     "/tmp/oci-agent-variants/agent.sock", 16296},
};

/* Reads tests/fuzz/corpus/oci/NAME from the source tree (SB_SRCDIR, set by meson). */
static char *read_sample(const char *name, size_t *ret_len)
{
	const char *src = getenv("SB_SRCDIR");
	char path[PATH_MAX];
	if (!src)
		tap_skip("SB_SRCDIR not set");
	snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/oci/%s", src, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ASSERT_TRUE(fd >= 0);
	static char buf[65536];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	ASSERT_TRUE(n > 0);
	close(fd);
	char *s = malloc((size_t)n + 1);
	ASSERT_TRUE(s);
	memcpy(s, buf, (size_t)n);
	s[n] = 0;
	*ret_len = (size_t)n;
	return s;
}

/* Feeds s in one piece; returns the reader's final answer. */
static int feed_all(struct oci_reader *r, const char *s, size_t len)
{
	ASSERT_EQ(oci_reader_init(r, 0), 0);
	return oci_reader_feed(r, s, len);
}

static int feed_str(const char *s)
{
	struct oci_reader r;
	int ret = feed_all(&r, s, strlen(s));
	if (ret == 0)
		ret = oci_reader_eof(&r);
	oci_reader_done(&r);
	return ret;
}

static void check_sample(unsigned i, json_object *root)
{
	struct oci_payload p;
	char err[256];

	ASSERT_EQ(oci_payload_parse(root, &p, err, sizeof(err)), 0);
	ASSERT_STREQ(p.oci_version, expect[i].oci_version);
	ASSERT_STREQ(p.state.oci_version, expect[i].oci_version);
	ASSERT_STREQ(p.state.id, expect[i].id);
	ASSERT_STREQ(p.state.status, "creating");
	ASSERT_STREQ(p.state.bundle, expect[i].bundle);
	ASSERT_EQ(p.pid, expect[i].pid);
	ASSERT_EQ(p.state.pid, expect[i].pid);
	if (expect[i].metadata)
		ASSERT_STREQ(p.metadata, expect[i].metadata);
	else
		ASSERT_TRUE(p.metadata == NULL);
	if (expect[i].annotation_key)
		ASSERT_STREQ(oci_payload_annotation(&p, expect[i].annotation_key),
			     expect[i].annotation);
	else
		ASSERT_TRUE(p.state.annotations == NULL);
	ASSERT_TRUE(oci_payload_annotation(&p, "no.such/key") == NULL);
	ASSERT_EQ(p.n_fds, 1);
	ASSERT_EQ(oci_payload_fd_index(&p, "seccompFd"), 0);
	ASSERT_EQ(oci_payload_fd_index(&p, "seccompfd"), -ENOENT);
	oci_payload_done(&p);
	ASSERT_TRUE(p.root == NULL);
}

TEST(samples_whole)
{
	for (unsigned i = 0; i < ELEMENTSOF(samples); i++) {
		size_t len;
		_cleanup_free_ char *s = read_sample(samples[i], &len);
		struct oci_reader r;
		ASSERT_EQ(feed_all(&r, s, len), 1);
		ASSERT_EQ(oci_reader_eof(&r), 1);
		check_sample(i, r.root);
		oci_reader_done(&r);
	}
}

/* Byte by byte: complete exactly at the closing brace, whatever comes after is whitespace. */
TEST(samples_byte_by_byte)
{
	for (unsigned i = 0; i < ELEMENTSOF(samples); i++) {
		size_t len;
		_cleanup_free_ char *s = read_sample(samples[i], &len);
		const char *brace = strrchr(s, '}');
		ASSERT_TRUE(brace);
		struct oci_reader r;
		ASSERT_EQ(oci_reader_init(&r, 0), 0);
		for (size_t k = 0; k < len; k++) {
			int ret = oci_reader_feed(&r, s + k, 1);
			ASSERT_EQ(ret, s + k >= brace ? 1 : 0);
		}
		check_sample(i, r.root);
		oci_reader_done(&r);
	}
}

/* Every split into two pieces and a few into many: the answer never depends on the cut. */
TEST(samples_split)
{
	for (unsigned i = 0; i < ELEMENTSOF(samples); i++) {
		size_t len;
		_cleanup_free_ char *s = read_sample(samples[i], &len);
		for (size_t cut = 0; cut <= len; cut++) {
			struct oci_reader r;
			ASSERT_EQ(oci_reader_init(&r, 0), 0);
			int a = oci_reader_feed(&r, s, cut);
			int b = oci_reader_feed(&r, s + cut, len - cut);
			ASSERT_TRUE(a == 0 || a == 1);
			ASSERT_EQ(b, 1);
			check_sample(i, r.root);
			oci_reader_done(&r);
		}
		for (size_t step = 2; step < 64; step += 7) {
			struct oci_reader r;
			int ret = 0;
			ASSERT_EQ(oci_reader_init(&r, 0), 0);
			for (size_t k = 0; k < len; k += step)
				ret = oci_reader_feed(&r, s + k, len - k < step ? len - k : step);
			ASSERT_EQ(ret, 1);
			check_sample(i, r.root);
			oci_reader_done(&r);
		}
	}
}

TEST(samples_public_api)
{
	for (unsigned i = 0; i < ELEMENTSOF(samples); i++) {
		size_t len;
		_cleanup_free_ char *s = read_sample(samples[i], &len);
		sb_oci_reader *r;
		sb_oci_payload *p;
		char err[256];
		ASSERT_EQ(sb_oci_reader_new(&r, 0), 0);
		ASSERT_EQ(sb_oci_payload_parse(r, &p, err, sizeof(err)), -EAGAIN);
		ASSERT_EQ(sb_oci_reader_feed(r, s, len / 2), 0);
		ASSERT_EQ(sb_oci_reader_feed(r, s + len / 2, len - len / 2), 1);
		ASSERT_EQ(sb_oci_payload_parse(r, &p, err, sizeof(err)), 0);
		/* The payload keeps its own reference: it outlives the reader. */
		sb_oci_reader_free(r);
		ASSERT_EQ(sb_oci_payload_n_fds(p), 1);
		ASSERT_EQ(sb_oci_payload_fd_index(p, "seccompFd"), 0);
		ASSERT_EQ(sb_oci_payload_pid(p), expect[i].pid);
		ASSERT_STREQ(sb_oci_payload_string(p, "state.id"), expect[i].id);
		ASSERT_STREQ(sb_oci_payload_string(p, "ociVersion"), expect[i].oci_version);
		ASSERT_STREQ(sb_oci_payload_string(p, "state.ociVersion"), expect[i].oci_version);
		ASSERT_STREQ(sb_oci_payload_string(p, "state.status"), "creating");
		ASSERT_STREQ(sb_oci_payload_string(p, "state.bundle"), expect[i].bundle);
		ASSERT_TRUE(sb_oci_payload_string(p, "nonsense") == NULL);
		if (expect[i].metadata)
			ASSERT_STREQ(sb_oci_payload_string(p, "metadata"), expect[i].metadata);
		else
			ASSERT_TRUE(sb_oci_payload_string(p, "metadata") == NULL);
		if (expect[i].annotation_key) {
			char key[256];
			snprintf(key, sizeof(key), "state.annotations.%s",
				 expect[i].annotation_key);
			ASSERT_STREQ(sb_oci_payload_string(p, key), expect[i].annotation);
		}
		sb_oci_payload_free(p);
	}
}

/* Every real sample carries policy=deny-mkdir-*deny*: a '*' is refused, not defaulted. */
TEST(samples_metadata_refused)
{
	char name[256], err[256];
	ASSERT_EQ(sb_oci_policy_select("agent-test;policy=deny-mkdir-*deny*", name, sizeof(name),
				       err, sizeof(err)),
		  -EINVAL);
	ASSERT_TRUE(strstr(err, "deny-mkdir-*deny*"));
}

TEST(reader_trailing)
{
	static const char obj[] = "{\"a\":1}";
	ASSERT_EQ(feed_str("{\"a\":1}"), 1);
	ASSERT_EQ(feed_str("  \n{\"a\":1}\r\n\t "), 1);
	ASSERT_EQ(feed_str("{\"a\":1}x"), -EBADMSG);
	ASSERT_EQ(feed_str("{\"a\":1} {\"a\":1}"), -EBADMSG);
	ASSERT_EQ(feed_str("{\"a\":1}}"), -EBADMSG);

	/* Garbage in a later read than the one that completed the object. */
	struct oci_reader r;
	ASSERT_EQ(oci_reader_init(&r, 0), 0);
	ASSERT_EQ(oci_reader_feed(&r, obj, strlen(obj)), 1);
	ASSERT_EQ(oci_reader_feed(&r, "\n ", 2), 1);
	ASSERT_EQ(oci_reader_feed(&r, "{", 1), -EBADMSG);
	/* Sticky. */
	ASSERT_EQ(oci_reader_feed(&r, " ", 1), -EBADMSG);
	ASSERT_EQ(oci_reader_eof(&r), -EBADMSG);
	ASSERT_TRUE(strstr(oci_reader_strerror(&r), "garbage"));
	oci_reader_done(&r);
}

TEST(reader_not_an_object)
{
	static const char *const bad[] = {
	    "[]",	  "[{\"a\":1}]", "12",		"\"x\"",      "true",
	    "null",	  "x",		 "}",		"\x01",	      "/* c */ {}",
	    "{\"a\":1,}", "{\"a\" 1}",	 "{\"a\":tru}", "{\"a\":01}", "{{}}",
	};
	for (unsigned i = 0; i < ELEMENTSOF(bad); i++) {
		int ret = feed_str(bad[i]);
		if (ret != -EBADMSG)
			tap_fail(__FILE__, __LINE__, "\"%s\": %d", bad[i], ret);
	}
	/* A non-object top level is refused at its first byte, not after more input. */
	struct oci_reader r;
	ASSERT_EQ(oci_reader_init(&r, 0), 0);
	ASSERT_EQ(oci_reader_feed(&r, " t", 2), -EBADMSG);
	oci_reader_done(&r);
}

TEST(reader_eof)
{
	ASSERT_EQ(feed_str(""), -ENODATA);
	ASSERT_EQ(feed_str(" \n\t"), -ENODATA);
	ASSERT_EQ(feed_str("{"), -EBADMSG);
	ASSERT_EQ(feed_str("{\"fds\":[\"seccompFd\"],\"pid\":1"), -EBADMSG);
	ASSERT_EQ(feed_str("{\"a\":\"unterminated"), -EBADMSG);

	struct oci_reader r;
	ASSERT_EQ(oci_reader_init(&r, 0), 0);
	ASSERT_EQ(oci_reader_feed(&r, "{\"a\":", 5), 0);
	ASSERT_EQ(oci_reader_eof(&r), -EBADMSG);
	ASSERT_TRUE(strstr(oci_reader_strerror(&r), "middle"));
	oci_reader_done(&r);
}

TEST(reader_cap)
{
	struct oci_reader r;
	static const char obj[] = "{\"a\":1}";
	size_t n = strlen(obj);

	/* Exactly at the cap is fine, one byte more is not (even whitespace). */
	ASSERT_EQ(oci_reader_init(&r, n), 0);
	ASSERT_EQ(oci_reader_feed(&r, obj, n), 1);
	ASSERT_EQ(oci_reader_feed(&r, " ", 1), -E2BIG);
	oci_reader_done(&r);

	ASSERT_EQ(oci_reader_init(&r, n - 1), 0);
	ASSERT_EQ(oci_reader_feed(&r, obj, 3), 0);
	ASSERT_EQ(oci_reader_feed(&r, obj + 3, n - 3), -E2BIG);
	ASSERT_EQ(oci_reader_eof(&r), -E2BIG);
	oci_reader_done(&r);

	/* The default cap: a 2 MiB string in 64 KiB reads stops at 1 MiB. */
	ASSERT_EQ(oci_reader_init(&r, 0), 0);
	static char chunk[65536];
	memset(chunk, 'a', sizeof(chunk));
	ASSERT_EQ(oci_reader_feed(&r, "{\"a\":\"", 6), 0);
	int ret = 0;
	size_t fed = 6;
	while (ret == 0 && fed < 2 * 1024 * 1024) {
		ret = oci_reader_feed(&r, chunk, sizeof(chunk));
		fed += sizeof(chunk);
	}
	ASSERT_EQ(ret, -E2BIG);
	ASSERT_TRUE(fed <= OCI_PAYLOAD_MAX + sizeof(chunk));
	oci_reader_done(&r);
}

TEST(reader_depth)
{
	char buf[512];
	size_t o = 0;
	o += (size_t)snprintf(buf + o, sizeof(buf) - o, "{\"a\":");
	for (int i = 0; i < 40; i++)
		buf[o++] = '[';
	buf[o] = 0;
	ASSERT_EQ(feed_str(buf), -EBADMSG);
}

TEST(reader_bytes)
{
	/* Raw NUL inside and outside strings. */
	struct oci_reader r;
	ASSERT_EQ(oci_reader_init(&r, 0), 0);
	ASSERT_EQ(oci_reader_feed(&r, "{\"a\":\"x\0y\"}", 11), -EBADMSG);
	oci_reader_done(&r);

	/* Valid UTF-8 split across reads (json-c 0.16's own check refuses this). */
	static const char u8[] = "{\"a\":\"h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}";
	ASSERT_EQ(oci_reader_init(&r, 0), 0);
	for (size_t k = 0; k < strlen(u8); k++)
		ASSERT_EQ(oci_reader_feed(&r, u8 + k, 1), k + 1 == strlen(u8) ? 1 : 0);
	oci_reader_done(&r);

	static const char *const bad[] = {
	    "{\"a\":\"\xc3\"}",		    /* truncated sequence */
	    "{\"a\":\"\xc0\xaf\"}",	    /* overlong '/' */
	    "{\"a\":\"\xe0\x80\xaf\"}",	    /* overlong */
	    "{\"a\":\"\xed\xa0\x80\"}",	    /* surrogate */
	    "{\"a\":\"\xf4\x90\x80\x80\"}", /* above U+10FFFF */
	    "{\"a\":\"\xff\"}",
	    "{\"a\":\"\x80\"}",
	};
	for (unsigned i = 0; i < ELEMENTSOF(bad); i++)
		ASSERT_EQ(feed_str(bad[i]), -EBADMSG);
}

/* Parses s whole; returns oci_payload_parse's answer, the reason in err. */
static int parse_str(const char *s, char *err, size_t errlen)
{
	struct oci_reader r;
	struct oci_payload p;
	ASSERT_EQ(feed_all(&r, s, strlen(s)), 1);
	int ret = oci_payload_parse(r.root, &p, err, errlen);
	oci_reader_done(&r);
	if (ret == 0) {
		/* The payload holds its own reference on the JSON. */
		ASSERT_TRUE(p.state.id != NULL);
		oci_payload_done(&p);
	}
	return ret;
}

#define STATE "\"state\":{\"id\":\"c1\"}"

TEST(parse_minimal)
{
	char err[256];
	ASSERT_EQ(parse_str("{\"fds\":[\"seccompFd\"],\"pid\":1," STATE "}", err, sizeof(err)), 0);
	/* Unknown keys anywhere are ignored: later runtimes may add some. */
	ASSERT_EQ(parse_str("{\"fds\":[],\"pid\":1,\"new\":{\"x\":[1,2]},\"state\":{\"id\":\"c\","
			    "\"annotations\":null,\"new\":3}}",
			    err, sizeof(err)),
		  0);

	struct oci_reader r;
	struct oci_payload p;
	static const char two[] = "{\"fds\":[\"a\",\"seccompFd\"],\"pid\":7," STATE "}";
	ASSERT_EQ(feed_all(&r, two, strlen(two)), 1);
	ASSERT_EQ(oci_payload_parse(r.root, &p, err, sizeof(err)), 0);
	oci_reader_done(&r);
	ASSERT_EQ(p.n_fds, 2);
	ASSERT_EQ(oci_payload_fd_index(&p, "a"), 0);
	ASSERT_EQ(oci_payload_fd_index(&p, "seccompFd"), 1);
	ASSERT_EQ(p.pid, 7);
	ASSERT_EQ(p.state.pid, 0);
	ASSERT_TRUE(p.metadata == NULL && p.oci_version == NULL && p.state.status == NULL);
	oci_payload_done(&p);
}

TEST(parse_refused)
{
	char id_long[OCI_ID_MAX + 64], fds17[512], err[256];
	size_t o;

	o = (size_t)snprintf(id_long, sizeof(id_long),
			     "{\"fds\":[],\"pid\":1,\"state\":{\"id\":\"");
	memset(id_long + o, 'x', OCI_ID_MAX + 1);
	strcpy(id_long + o + OCI_ID_MAX + 1, "\"}}");
	o = (size_t)snprintf(fds17, sizeof(fds17), "{\"pid\":1," STATE ",\"fds\":[");
	for (int i = 0; i <= OCI_FDS_MAX; i++)
		o += (size_t)snprintf(fds17 + o, sizeof(fds17) - o, "%s\"f%d\"", i ? "," : "", i);
	snprintf(fds17 + o, sizeof(fds17) - o, "]}");

	const struct {
		const char *json, *why;
	} bad[] = {
	    {"{\"pid\":1," STATE "}", "missing fds"},
	    {"{\"fds\":\"seccompFd\",\"pid\":1," STATE "}", "fds is a string"},
	    {"{\"fds\":[3],\"pid\":1," STATE "}", "fds[0] is a int"},
	    {"{\"fds\":[\"\"],\"pid\":1," STATE "}", "fds[0] is not a valid name"},
	    {"{\"fds\":[\"a\\u0000b\"],\"pid\":1," STATE "}", "fds[0] is not a valid name"},
	    {"{\"fds\":[\"a\\nb\"],\"pid\":1," STATE "}", "control"},
	    {"{\"fds\":[\"a\",\"a\"],\"pid\":1," STATE "}", "repeats"},
	    {"{\"fds\":[]," STATE "}", "missing pid"},
	    {"{\"fds\":[],\"pid\":0," STATE "}", "pid out of range"},
	    {"{\"fds\":[],\"pid\":-1," STATE "}", "pid out of range"},
	    {"{\"fds\":[],\"pid\":4194305," STATE "}", "pid out of range"},
	    {"{\"fds\":[],\"pid\":99999999999999999999999," STATE "}", "pid out of range"},
	    {"{\"fds\":[],\"pid\":1.5," STATE "}", "not an integer"},
	    {"{\"fds\":[],\"pid\":1e3," STATE "}", "not an integer"},
	    {"{\"fds\":[],\"pid\":\"1\"," STATE "}", "not an integer"},
	    {"{\"fds\":[],\"pid\":null," STATE "}", "not an integer"},
	    {"{\"fds\":[],\"pid\":1}", "missing state"},
	    {"{\"fds\":[],\"pid\":1,\"state\":[]}", "state is a array"},
	    {"{\"fds\":[],\"pid\":1,\"state\":{}}", "missing state.id"},
	    {"{\"fds\":[],\"pid\":1,\"state\":{\"id\":\"\"}}", "state.id is empty"},
	    {"{\"fds\":[],\"pid\":1,\"state\":{\"id\":5}}", "state.id is a int"},
	    {"{\"fds\":[],\"pid\":1,\"state\":{\"id\":\"a\\nb\"}}", "control"},
	    {"{\"fds\":[],\"pid\":1,\"state\":{\"id\":\"a\\u001bb\"}}", "control"},
	    {"{\"fds\":[],\"pid\":1,\"state\":{\"id\":\"a\\u007fb\"}}", "control"},
	    {"{\"fds\":[],\"pid\":1,\"state\":{\"id\":\"a\\u0000b\"}}", "NUL"},
	    {"{\"fds\":[],\"pid\":1,\"state\":{\"id\":\"c\",\"pid\":0}}", "state.pid out"},
	    {"{\"fds\":[],\"pid\":1,\"state\":{\"id\":\"c\",\"status\":1}}", "state.status"},
	    {"{\"fds\":[],\"pid\":1,\"state\":{\"id\":\"c\",\"bundle\":[]}}", "state.bundle"},
	    {"{\"fds\":[],\"pid\":1,\"state\":{\"id\":\"c\",\"annotations\":[]}}", "annotations"},
	    {"{\"fds\":[],\"pid\":1,\"state\":{\"id\":\"c\",\"annotations\":{\"k\":1}}}",
	     "annotations value"},
	    {"{\"fds\":[],\"pid\":1,\"state\":{\"id\":\"c\",\"annotations\":{\"k\":\"\\u0000\"}}}",
	     "NUL"},
	    {"{\"ociVersion\":1,\"fds\":[],\"pid\":1," STATE "}", "ociVersion is a int"},
	    {"{\"metadata\":{},\"fds\":[],\"pid\":1," STATE "}", "metadata is a object"},
	    {"{\"metadata\":\"a\\u0000b\",\"fds\":[],\"pid\":1," STATE "}", "metadata contains"},
	    {id_long, "longer than"},
	    {fds17, "at most 16"},
	};
	for (unsigned i = 0; i < ELEMENTSOF(bad); i++) {
		int ret = parse_str(bad[i].json, err, sizeof(err));
		if (ret != -EBADMSG || !strstr(err, bad[i].why))
			tap_fail(__FILE__, __LINE__, "case %u: %d \"%s\", want \"%s\"", i, ret, err,
				 bad[i].why);
	}
	/* A null root or a non-object. */
	struct oci_payload p;
	ASSERT_EQ(oci_payload_parse(NULL, &p, err, sizeof(err)), -EBADMSG);
	json_object *arr = json_object_new_array();
	ASSERT_EQ(oci_payload_parse(arr, &p, NULL, 0), -EBADMSG);
	json_object_put(arr);
}

TEST(policy_name_valid)
{
	static const char *const good[] = {"a",	       "default", "deny-mkdir", "web_1.2",
					   "A-Z.0-9_", "a..b",	  "a."};
	static const char *const bad[] = {"",	".",   "..",  ".hidden", "a/b", "../x",
					  "a*", "a b", "a\n", "é",	 "a;b", "a=b"};
	for (unsigned i = 0; i < ELEMENTSOF(good); i++)
		ASSERT_TRUE(oci_policy_name_valid(good[i]));
	for (unsigned i = 0; i < ELEMENTSOF(bad); i++)
		ASSERT_TRUE(!oci_policy_name_valid(bad[i]));
	ASSERT_TRUE(!oci_policy_name_valid(NULL));
	char n[OCI_POLICY_NAME_MAX + 2];
	memset(n, 'a', sizeof(n));
	n[OCI_POLICY_NAME_MAX] = 0;
	ASSERT_TRUE(oci_policy_name_valid(n));
	n[OCI_POLICY_NAME_MAX] = 'a';
	n[OCI_POLICY_NAME_MAX + 1] = 0;
	ASSERT_TRUE(!oci_policy_name_valid(n));
}

TEST(policy_select)
{
	static const struct {
		const char *metadata;
		int ret;
		const char *name; /* the name, or a piece of the reason */
	} cases[] = {
	    {NULL, 0, NULL},
	    {"", 0, NULL},
	    {"  \t", 0, NULL},
	    {"web", 1, "web"},
	    {"  web\n", 1, "web"},
	    {"policy=web", 1, "web"},
	    {"agent-test;policy=web", 1, "web"},
	    {"agent-test, policy = web ,x=y", 1, "web"},
	    {"a=b;c=d", 0, NULL},
	    {"agent-test;x=1", 0, NULL},
	    {"Policy=web", 0, NULL}, /* keys are case-sensitive */
	    {"policies=web", 0, NULL},
	    {";;policy=web;;", 1, "web"},
	    {"agent-test;policy=deny-mkdir-*deny*", -EINVAL, "deny-mkdir-*deny*"},
	    {"policy=", -EINVAL, "empty"},
	    {"policy= ;x=1", -EINVAL, "empty"},
	    {"policy=..", -EINVAL, "\"..\""},
	    {"policy=.", -EINVAL, "not valid"},
	    {"policy=.hidden", -EINVAL, "not valid"},
	    {"policy=../etc/passwd", -EINVAL, "not valid"},
	    {"policy=a/b", -EINVAL, "not valid"},
	    {"policy=a b", -EINVAL, "not valid"},
	    {"policy=a=b", -EINVAL, "not valid"},
	    {"policy=web;policy=web", -EINVAL, "more than one"},
	    {"policy=web,policy=other", -EINVAL, "more than one"},
	    {"..", -EINVAL, "not valid"},
	    {"agent-test;web", -EINVAL, "not valid"}, /* no '=': the whole string is the NAME */
	    {"/etc/x", -EINVAL, "not valid"},
	    {"a\x1b[31m", -EINVAL, "\\x1b"},
	};
	for (unsigned i = 0; i < ELEMENTSOF(cases); i++) {
		char name[OCI_POLICY_NAME_MAX + 1] = "", err[512] = "";
		int ret =
		    oci_policy_select(cases[i].metadata, name, sizeof(name), err, sizeof(err));
		if (ret != cases[i].ret)
			tap_fail(__FILE__, __LINE__, "case %u: ret %d want %d (%s)", i, ret,
				 cases[i].ret, err);
		if (ret == 1)
			ASSERT_STREQ(name, cases[i].name);
		if (ret < 0 && !strstr(err, cases[i].name))
			tap_fail(__FILE__, __LINE__, "case %u: reason \"%s\" lacks \"%s\"", i, err,
				 cases[i].name);
	}
	/* A reason never carries a raw control character into a log line, and stays short. */
	char err[512], name[16];
	char longbad[1200];
	memset(longbad, '\n', sizeof(longbad));
	memcpy(longbad, "policy=a", 8);
	longbad[sizeof(longbad) - 2] = 'x';
	longbad[sizeof(longbad) - 1] = 0;
	ASSERT_EQ(oci_policy_select(longbad, name, sizeof(name), err, sizeof(err)), -EINVAL);
	ASSERT_TRUE(strchr(err, '\n') == NULL);
	/* Too small an output buffer. */
	ASSERT_EQ(oci_policy_select("policy=abcdef", name, 4, err, sizeof(err)), -ENAMETOOLONG);
	ASSERT_EQ(sb_oci_policy_select("policy=abc", name, sizeof(name), err, sizeof(err)), 1);
	ASSERT_STREQ(name, "abc");
	ASSERT_TRUE(sb_oci_policy_name_valid("abc") && !sb_oci_policy_name_valid(".."));
}
