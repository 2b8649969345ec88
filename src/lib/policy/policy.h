/* Internal API of the policy module: the parsed rules and the pure decisions the fs, net, mount
 * and mknod handlers ask for (last matching rule wins everywhere). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <sysbroker/sysbroker.h>

/* Longest pattern or path a rule may carry, in bytes (PATH_MAX - 1). */
#define POLICY_PATH_MAX 4095
/* How deep include may nest below the file given first. */
#define POLICY_INCLUDE_DEPTH_MAX 16
/* Largest policy file read (a bigger one is an error, not truncated). */
#define POLICY_FILE_MAX (1u << 20)

enum policy_kind {
	/* filesystem */
	RULE_ALLOW,
	RULE_ALLOW_READ,
	RULE_DENY,
	RULE_HIDE,
	RULE_REDIRECT,
	RULE_DEFAULT,
	/* network */
	RULE_NET_ALLOW,
	RULE_NET_DENY,
	RULE_BIND_ALLOW,
	RULE_BIND_DENY,
	RULE_NET_DEFAULT,
	RULE_UNSHARE_NET,
	RULE_NET_BROKER,
	RULE_PUBLISH,
	/* output */
	RULE_AUDIT,
	RULE_LEARN,
	RULE_STDOUT,
	RULE_STDERR,
	/* lifting restrictions */
	RULE_ALLOW_MOUNT,
	RULE_ALLOW_MKNOD,
	RULE_SYSINFO_CGROUP,
	RULE_KIND_MAX,
};

enum fs_access {
	FS_ALLOW,
	FS_ALLOW_READ,
	FS_DENY,
	FS_HIDE,
};

enum net_op {
	NET_CONNECT, /* connect, sendto/sendmsg with an address: net-allow/net-deny */
	NET_BIND,    /* bind: bind-allow/bind-deny */
};

enum net_verdict {
	NET_ALLOW,
	NET_DENY,
};

/* The devices allow-mknod knows; bit (1u << DEV_x) in policy_rule.mknod_devices. */
enum policy_device {
	DEV_NULL,     /* char 1:3 */
	DEV_ZERO,     /* char 1:5 */
	DEV_FULL,     /* char 1:7 */
	DEV_RANDOM,   /* char 1:8 */
	DEV_URANDOM,  /* char 1:9 */
	DEV_TTY,      /* char 5:0 */
	DEV_WHITEOUT, /* char 0:0, overlayfs whiteout */
	DEV_MAX,
};

/* One component of a pattern: a slice of policy_pattern.text. */
enum { COMP_LITERAL, COMP_GLOB, COMP_GLOBSTAR };
struct policy_comp {
	uint16_t off, len;
	uint8_t type;
};

/* An absolute path pattern, normalised: always starts with "/", no "//", "." or trailing "/". */
struct policy_pattern {
	char *text;
	struct policy_comp *comp;
	size_t n_comp;
};

enum policy_addr_type {
	ADDR_ANY,	    /* any: every address of every family, unix included */
	ADDR_IP4,	    /* CIDR[:PORT[-PORT]] */
	ADDR_IP6,	    /* [CIDR][:PORT[-PORT]] */
	ADDR_ANY_IP,	    /* *:PORT[-PORT], both families */
	ADDR_UNIX,	    /* unix:PATH-PATTERN */
	ADDR_UNIX_ABSTRACT, /* unix:@NAME-GLOB */
};

struct policy_addr {
	enum policy_addr_type type;
	uint8_t ip[16]; /* network in network byte order, host bits clear; IP4 uses 4 bytes */
	uint8_t prefix; /* 0..32 or 0..128 */
	uint16_t port_lo, port_hi;	 /* 0-65535 when no port was given */
	struct policy_pattern unix_path; /* ADDR_UNIX */
	char *abstract;			 /* ADDR_UNIX_ABSTRACT: glob on the name, '@' left off */
};

struct policy_rule {
	enum policy_kind kind;
	const char *origin; /* file name as given, or "cli"; owned by the policy */
	unsigned line;
	size_t index; /* position in the policy, from 0 */
	union {
		struct policy_pattern pattern; /* allow, allow-read, deny, hide */
		struct {
			char *from, *to; /* literal normalised absolute paths */
		} redirect;
		enum fs_access fs_default;    /* default */
		enum net_verdict net_default; /* net-default */
		struct policy_addr addr;      /* net-allow, net-deny, bind-allow, bind-deny */
		struct {
			struct sockaddr_storage host; /* AF_INET or AF_INET6, sin_port = port */
			socklen_t host_len;
			uint16_t port, inner_port; /* host byte order, 1..65535 */
		} publish;
		char *file; /* audit ("-" kept as is), learn, stdout, stderr; resolved */
		struct {
			char *fstype;
			struct policy_pattern target;
			char *options;		 /* as written (validated), NULL when none */
			unsigned long set_flags; /* MS_* forced on; nosuid/nodev unless waived */
			unsigned long
			    clear_flags; /* MS_* forced off: the atime modes it replaces */
		} mount;
		uint32_t mknod_devices; /* allow-mknod: bits of enum policy_device */
	};
};

struct fs_decision {
	enum fs_access access;
	const struct policy_rule *rule; /* deciding rule; NULL: the default decided */
};

struct net_decision {
	enum net_verdict verdict;
	const struct policy_rule *rule; /* deciding rule; NULL: the default decided */
};

struct mount_decision {
	const struct policy_rule *rule; /* NULL: no allow-mount rule matches, refuse */
	unsigned long add_flags;    /* MS_* to OR into the request (nosuid/nodev unless waived) */
	unsigned long remove_flags; /* MS_* to take out (an atime mode the rule replaces) */
};

/* ---- Building (besides sb_policy_new/add/load_file/free in sysbroker.h) ---- */

/*
 * Parses text (len bytes, need not be NUL-terminated) as if it were the policy file origin and
 * appends its rules; relative names resolve against origin's directory as written. The entry
 * used by sb_policy_load_file and the fuzzer. On error nothing is appended, -EINVAL/-ENOMEM/
 * the errno of an include is returned and err gets "ORIGIN:LINE: message".
 */
int policy_parse_buffer(sb_policy *p, const char *text, size_t len, const char *origin, char *err,
			size_t errlen);
/* Parses one line of text as line number line of origin ("cli" for the command line). */
int policy_parse_line(sb_policy *p, const char *text, size_t len, const char *origin, unsigned line,
		      char *err, size_t errlen);

static inline void sb_policy_freep(sb_policy **p)
{
	sb_policy_free(*p);
}

/* ---- Reading the rules ---- */

/* Number of rules. */
size_t policy_n_rules(const sb_policy *p);
/* Rule i (0-based, in order), NULL past the end. */
const struct policy_rule *policy_rule(const sb_policy *p, size_t i);
/* The next rule of kind after prev (NULL: from the start), NULL when none; e.g. every publish. */
const struct policy_rule *policy_next(const sb_policy *p, enum policy_kind kind,
				      const struct policy_rule *prev);
/* The rule's name as written: "allow-read", "net-deny"... */
const char *policy_kind_name(enum policy_kind kind);
/* "FILE:LINE", "cli:N", or "default" for NULL (for audit's rule field). */
void policy_rule_origin(const struct policy_rule *r, char *buf, size_t len);
/* The rule as a policy line, arguments quoted where needed: "deny /etc/shadow". -ENOBUFS. */
int policy_rule_format(const struct policy_rule *r, char *buf, size_t len);
/*
 * Writes path as one policy argument that matches exactly that path and nothing beside it
 * (below it, as every pattern does): "*", "?" and "[" put in classes, quotes where needed;
 * for learn mode. -EINVAL when the language cannot say it (not absolute, "..", invalid UTF-8,
 * control characters, too long), -ENOBUFS.
 */
int policy_format_path(const char *path, char *buf, size_t len);
/* An address in canonical ADDR form ("10.0.0.0/8:443", "[::1]", "unix:@x*"); -ENOBUFS. */
int policy_addr_format(const struct policy_addr *a, char *buf, size_t len);

/* ---- Filesystem decisions; abspath is absolute and normalised (no ., .., //) ---- */

/* Access for abspath: the last allow/allow-read/deny/hide matching it or a parent. */
void policy_fs_decide(const sb_policy *p, const char *abspath, struct fs_decision *ret);
/*
 * The last redirect whose FROM is abspath or a parent of it, NULL when none; out gets TO plus
 * the rest of abspath. When that does not fit in outlen, out is "" and the rule is still
 * returned: answer ENAMETOOLONG, never fall back to the original path.
 */
const struct policy_rule *policy_redirect(const sb_policy *p, const char *abspath, char *out,
					  size_t outlen);
/*
 * Would every object below a keep its decision if a were moved to b (and the other way)? True
 * when each allow/allow-read/deny/hide rule decides a/REST and b/REST alike for every REST, and
 * no redirect starts strictly below either. A directory rename or exchange needs it: it moves
 * a whole subtree in one call, and the decision is only taken on its top.
 */
bool policy_fs_same_below(const sb_policy *p, const char *a, const char *b);
/* True when no fs rule exists and the default is allow: the engine may skip fs work. */
bool policy_fs_is_trivial(const sb_policy *p);
/* The fs default (the last "default" rule, allow without one). */
enum fs_access policy_fs_default(const sb_policy *p);

/* ---- Network decisions ---- */

/*
 * Verdict for an AF_INET/AF_INET6 address (a copy the caller owns). An IPv4-mapped
 * (::ffff:a.b.c.d) or IPv4-compatible (::a.b.c.d, not :: or ::1) address is judged as the IPv4
 * address a.b.c.d: IPv4 rules apply to it, IPv6 rules do not. Returns 0, or -EAFNOSUPPORT
 * (other family) / -EINVAL (len too short) with a deny verdict filled in (fail closed).
 */
int policy_net_decide(const sb_policy *p, enum net_op op, const struct sockaddr *sa, socklen_t len,
		      struct net_decision *ret);
/*
 * Verdict for a unix socket: name is the resolved absolute path, or for abstract the name
 * without its leading NUL. A name with embedded NUL bytes must be judged by the caller (deny).
 */
void policy_net_decide_unix(const sb_policy *p, enum net_op op, const char *name, bool abstract,
			    struct net_decision *ret);
/* True when no net-allow/net-deny/bind-allow/bind-deny rule exists and net-default is allow. */
bool policy_net_is_trivial(const sb_policy *p);
/* The net default (the last "net-default" rule, allow without one). */
enum net_verdict policy_net_default(const sb_policy *p);
/* The next publish rule after prev (NULL: the first) whose INNERPORT is inner_port, or NULL. */
const struct policy_rule *policy_publish_for_inner_port(const sb_policy *p, uint16_t inner_port,
							const struct policy_rule *prev);

/* ---- Lifting restrictions ---- */

/*
 * May the supervisor perform this mount for the program? fstype as the kernel would see it
 * ("tmpfs"...), "bind" for MS_BIND; target is the resolved absolute mount point; flags the MS_*
 * the program asked for. Remount, move and propagation changes are never allowed here. Returns
 * true and fills ret (the rule, and the MS_* flags to add or take away) when a rule allows it.
 */
bool policy_mount_allowed(const sb_policy *p, const char *fstype, const char *target,
			  unsigned long flags, struct mount_decision *ret);
/* The allow-mknod rule that allows this character device (mode with S_IFCHR), or NULL. */
const struct policy_rule *policy_mknod_allowed(const sb_policy *p, mode_t mode, dev_t dev);
/* Is there a "sysinfo cgroup" rule? */
bool policy_sysinfo_cgroup(const sb_policy *p);
/* The device allow-mknod names name ("null"...), or -1; and its name. */
int policy_device_from_name(const char *name);
const char *policy_device_name(enum policy_device d);
