/* libsysbroker: the one public header for writing seccomp user-notification supervisors. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Conventions: functions return 0, a count or an fd on success and -errno on failure.
 * The library never prints and never exits. -ENOENT from anything that talks to a
 * notification means the request vanished (the target was signalled or died): normal flow.
 */

#define SB_VERSION "0.1.0"

/* ---- Feature probing (probes by trying, never by kernel version) ---- */

typedef struct sb_features {
	bool user_notif;         /* SECCOMP_RET_USER_NOTIF + NEW_LISTENER (5.0) */
	bool notif_continue;     /* SECCOMP_USER_NOTIF_FLAG_CONTINUE (5.5) */
	bool addfd;              /* SECCOMP_IOCTL_NOTIF_ADDFD (5.9) */
	bool addfd_send;         /* SECCOMP_ADDFD_FLAG_SEND (5.14) */
	bool addfd_setfd;        /* SECCOMP_ADDFD_FLAG_SETFD (5.9) */
	bool wait_killable_recv; /* SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (5.19) */
	bool tsync_esrch;        /* SECCOMP_FILTER_FLAG_TSYNC_ESRCH (5.7) */
	bool sync_wake_up;       /* SECCOMP_IOCTL_NOTIF_SET_FLAGS + SYNC_WAKE_UP (6.6) */
	bool pidfd_open;         /* pidfd_open (5.3) */
	bool pidfd_getfd;        /* pidfd_getfd (5.6) */
	bool pidfd_thread;       /* PIDFD_THREAD (6.9) */
	bool openat2;            /* openat2 (5.6) */
	int landlock_abi;        /* 0 when Landlock is absent */
	/* BPF raw tracepoints with an mmap-able array (5.5), and the privilege to attach
	 * them (CAP_BPF, CAP_PERFMON) from the initial pid namespace: the identity cache's
	 * thread watch (sb_supervisor_opts.no_thread_watch) */
	bool thread_watch;
	uint16_t sizeof_notif, sizeof_resp, sizeof_data; /* SECCOMP_GET_NOTIF_SIZES */
} sb_features;

/* Fills *ret by trying each feature. Safe to call from any thread; forks short-lived children. */
int sb_features_probe(sb_features *ret);

/* Feature table for printing: name, kernel version that brought it, and the value. */
typedef struct sb_feature_row {
	const char *name;
	const char *since;
	bool present;
} sb_feature_row;
/* Returns the number of rows written to rows (at most n). */
size_t sb_features_rows(const sb_features *f, sb_feature_row *rows, size_t n);

/* ---- The engine ---- */

typedef struct sb_supervisor sb_supervisor;
typedef struct sb_listener sb_listener;
typedef struct sb_req sb_req;

/*
 * A handler answers its request with exactly one sb_req_reply_* call and returns 0, or
 * returns -errno without answering: the engine then answers with that errno (fail closed).
 * A handler that returns 0 without answering gets -ENOSYS sent for it.
 */
typedef int (*sb_handler_fn)(sb_req *req, void *userdata);

/* Called once per listener when no task uses its filter any more (POLLHUP). */
typedef void (*sb_listener_gone_fn)(sb_listener *l, void *listener_data);

typedef struct sb_supervisor_opts {
	/* threads serving the sources of sb_source_add and listener hang-ups; 0: one per
	 * CPU (each listener has worker threads of its own, blocked in RECV) */
	unsigned min_workers;
	/* upper bound on threads when handlers block, for the pool and for all listeners'
	 * workers together (a listener's first is started whatever the count); 0: 256 */
	unsigned max_workers;
	/* workers of one listener, so requests handled at once (the rest wait in the
	 * kernel's queue): one program tree or container whose calls block cannot take
	 * every thread; 0: max_workers */
	unsigned max_per_listener;
	/* read each target's credentials and root from /proc/TID on every request instead
	 * of caching them per thread (the cache needs PIDFD_THREAD and a tree we spawned) */
	bool no_ident_cache;
	/* never count thread exits and execs with BPF for the cache (the thread watch: needs
	 * CAP_BPF and CAP_PERFMON, and our pid namespace the initial one): poll a pidfd per
	 * cached thread on every request instead, and have execs notified */
	bool no_thread_watch;
} sb_supervisor_opts;

/* The engine installs a handler for SIGRTMAX - 1, which it sends to its own threads to
 * end a wait for notifications on a listener that is done: leave that signal to it. */
int sb_supervisor_new(sb_supervisor **ret, const sb_supervisor_opts *opts);
/* Stops the workers, closes every listener (their targets then see ENOSYS) and frees. */
void sb_supervisor_free(sb_supervisor *s);

/* What the engine runs on, for an operator's figures. */
typedef struct sb_supervisor_stats {
	unsigned threads;      /* worker threads alive: the pool's and the listeners' */
	/* the most alive at once since sb_supervisor_new: the C library keeps the stack of
	 * a thread that ended (and its own few hundred bytes of heap) for the next one, so
	 * this, not threads, bounds what the engine's threads hold */
	unsigned threads_peak;
} sb_supervisor_stats;
void sb_supervisor_stats_get(sb_supervisor *s, sb_supervisor_stats *ret);

/*
 * Registers the handler for native (x86_64) syscall number nr. Replaces any earlier one.
 * Must be called before sb_spawn/sb_attach for the number to be in spawned filters.
 */
int sb_on_syscall(sb_supervisor *s, int nr, sb_handler_fn fn, void *userdata);

/* Serves a listener fd obtained elsewhere (the agent does this). Takes ownership of fd. */
int sb_attach(sb_supervisor *s, int listener_fd, void *listener_data, sb_listener_gone_fn gone,
	      sb_listener **ret);
void *sb_listener_data(sb_listener *l);

/*
 * Adds an fd to the engine's event loop (a socket, a signalfd, a pidfd...). fn runs on a
 * worker with the epoll events; the source stays armed until sb_source_remove or fn
 * returns < 0. Sources are one-shot internally and re-armed after fn returns.
 */
typedef int (*sb_source_fn)(int fd, uint32_t events, void *userdata);
int sb_source_add(sb_supervisor *s, int fd, uint32_t events, sb_source_fn fn, void *userdata);
int sb_source_remove(sb_supervisor *s, int fd);

/* Runs the loop on the calling thread plus the workers until sb_supervisor_stop(). */
int sb_supervisor_run(sb_supervisor *s);
/* Async-signal-unsafe but thread-safe; makes sb_supervisor_run return with code. */
void sb_supervisor_stop(sb_supervisor *s, int code);

/* ---- Spawning a program under a filter ---- */

/* Filter flags for the spawned program. */
typedef struct sb_spawn_opts {
	const char *path;          /* executable; NULL: argv[0] searched in PATH */
	char *const *envp;         /* NULL: environ */
	int stdin_fd, stdout_fd, stderr_fd; /* -1: inherit */
	bool unshare_net;          /* new empty network namespace (needs privilege) */
	/* Runs in the child after fork, before the filter; returns 0 or -errno. */
	int (*pre_filter)(void *userdata);
	void *userdata;
	void *listener_data;       /* passed to handlers through the listener */
	sb_listener_gone_fn gone;
	/* Extra syscall numbers that must reach user space even with no handler (answered ENOSYS). */
	const int *extra_nrs;
	size_t n_extra_nrs;
	bool wait_killable;        /* use WAIT_KILLABLE_RECV where available */
} sb_spawn_opts;

/*
 * Forks, installs a filter in the child that notifies exactly the registered syscalls, kills
 * any non-native architecture and fails io_uring, hands the listener to the supervisor
 * without a deadlock, then execs argv. Returns the child's pid; *ret_pidfd gets a pidfd.
 * An exec failure is reported as -ENOENT (not found) or -EACCES etc. before returning.
 */
pid_t sb_spawn(sb_supervisor *s, const sb_spawn_opts *opts, char *const argv[], int *ret_pidfd,
	       sb_listener **ret_listener);

/* ---- A request ---- */

int sb_req_nr(const sb_req *r);                 /* native syscall number */
uint64_t sb_req_arg(const sb_req *r, unsigned i); /* i < 6 */
pid_t sb_req_tid(const sb_req *r);              /* calling thread, in our pid namespace; 0 if invisible */
pid_t sb_req_tgid(sb_req *r);                   /* its process (read once from /proc) */
uint64_t sb_req_id(const sb_req *r);
uint64_t sb_req_ip(const sb_req *r);
sb_listener *sb_req_listener(const sb_req *r);
void *sb_req_listener_data(const sb_req *r);

/* 0 while the request is still pending, -ENOENT once it vanished. */
int sb_req_valid(sb_req *r);

/*
 * Target memory. Each read is followed by an ID_VALID check, so the bytes were read from the
 * process that made this call; act only on the returned copy. process_vm_readv with a
 * /proc/TID/mem fallback (opened before the first ID_VALID).
 */
int sb_req_read(sb_req *r, uint64_t addr, void *buf, size_t len);
/* Reads a NUL-terminated string of at most size-1 bytes: -ENAMETOOLONG, -EFAULT. */
int sb_req_read_string(sb_req *r, uint64_t addr, char *buf, size_t size);
/* Writes an emulated result (e.g. a stat buffer) into the target. */
int sb_req_write(sb_req *r, uint64_t addr, const void *buf, size_t len);

/* A pidfd for the calling thread (PIDFD_THREAD where present), opened once and ID_VALID-checked. */
int sb_req_pidfd(sb_req *r);
/* The target's fd number targetfd as a new O_CLOEXEC fd of ours (pidfd_getfd), checked. */
int sb_req_getfd(sb_req *r, int targetfd);
/* An O_PATH|O_CLOEXEC fd on /proc/TID (the thread's proc dir), opened once and checked. */
int sb_req_procfd(sb_req *r);

/* The identity the program runs with (from /proc/TID/status), for emulating as it would. */
typedef struct sb_creds {
	uid_t ruid, euid, suid, fsuid;
	gid_t rgid, egid, sgid, fsgid;
	uint64_t cap_eff;
	mode_t umask;
	int ngroups;
	gid_t groups[64];
	pid_t ns_tgid, ns_tid; /* its ids in its own (innermost) pid namespace */
	/* Its ids in every pid namespace from ours inwards (NStgid/NSpid of /proc/TID/status). */
	int ns_depth;
	pid_t ns_tgids[8], ns_tids[8];
} sb_creds;
int sb_req_creds(sb_req *r, sb_creds *ret);

/* Runs fn(arg) in a child that joined the target's namespaces (CLONE_NEW* bits in nstypes). */
int sb_req_run_in_ns(sb_req *r, int nstypes, int (*fn)(void *arg), void *arg);

/* ---- Answers: exactly one per request ---- */

int sb_req_reply_errno(sb_req *r, int err);      /* err > 0: the call fails with it */
int sb_req_reply_value(sb_req *r, int64_t val);  /* the call returns val */
/*
 * Installs our fd in the target as the call's result (ADDFD|SEND), atomically: the target
 * either gets it as the return value or never sees it. EMFILE from the target's own
 * RLIMIT_NOFILE is answered as the real call would (-EMFILE to the target).
 */
int sb_req_reply_fd(sb_req *r, int fd, bool cloexec);
/*
 * The same, but consumes fd, and our copy is closed before the target runs again where
 * the listener allows it (a filter with WAIT_KILLABLE_RECV, as sb_spawn installs with
 * wait_killable): a file the supervisor still held open for writing would make the
 * program's exec of it fail with ETXTBSY.
 */
int sb_req_reply_fd_close(sb_req *r, int fd, bool cloexec);
/*
 * dup2 from outside: puts our fd at targetfd in the target (ADDFD|SETFD). Not an answer;
 * follow with a reply. EBADF from the target's RLIMIT_NOFILE is passed back.
 */
int sb_req_replace_fd(sb_req *r, int fd, int targetfd, bool cloexec);
/*
 * Lets the kernel run the original call. NOT a security decision: the kernel re-reads
 * argument memory, so use it only where the decision came from register values alone or
 * the kernel's own checks would stop a rewritten argument.
 */
int sb_req_reply_continue_unchecked(sb_req *r);

/* Per-request scratch for handlers and the audit layer (cleared per request). */
typedef struct sb_req_note {
	const char *action;  /* "allow", "deny", ... or NULL */
	const char *rule;    /* "FILE:LINE", "cli:N", "default" or NULL */
	char path[4096];     /* resolved path, "" if none */
	char addr[128];      /* network address, "" if none */
	char flags[256];     /* decoded flags, "" if none */
	/* A second path, "" if none: where rename and link put their object (resolved), the
	 * text a symlink holds (as given). */
	char path2[4096];
	char comm[64];       /* the process's name, taken before the answer; "" if not taken */
} sb_req_note;
sb_req_note *sb_req_note_get(sb_req *r);

/* Called after every answered request (audit), once its handler has returned. Runs on
 * the worker that answered. */
typedef void (*sb_after_fn)(sb_req *r, int64_t result, int err, void *userdata);
void sb_on_answer(sb_supervisor *s, sb_after_fn fn, void *userdata);


/* ---- Policy (the language of sysbroker.policy(5)) ---- */

typedef struct sb_policy sb_policy;

int sb_policy_new(sb_policy **ret);
void sb_policy_free(sb_policy *p);
/*
 * Appends one rule given as words, e.g. {"deny", "/etc/shadow"}. origin is a file name, or
 * "cli" for the command line (then line is N of "cli:N"). On error returns -EINVAL (or
 * -ENOMEM) and err receives "ORIGIN:LINE: what is wrong".
 */
int sb_policy_add(sb_policy *p, const char *const *words, size_t n_words, const char *origin,
		  unsigned line, char *err, size_t errlen);
/* Reads a policy file, appending its rules in place (include FILE is relative to it). */
int sb_policy_load_file(sb_policy *p, const char *path, char *err, size_t errlen);
/* The rules as understood, in order, one per line with their origin; caller frees. */
char *sb_policy_dump(const sb_policy *p);

/* Settings that are not access rules (output, namespaces), the last one written wins. */
typedef struct sb_policy_settings {
	const char *audit;       /* "audit FILE|-", NULL when absent */
	const char *learn;       /* "learn FILE" */
	const char *stdout_path; /* "stdout FILE" */
	const char *stderr_path; /* "stderr FILE" */
	bool unshare_net, net_broker, sysinfo_cgroup;
} sb_policy_settings;
void sb_policy_get_settings(const sb_policy *p, sb_policy_settings *ret);
/*
 * For a program spawned with the policy's settings (sb_spawn_opts.unshare_net): publish and
 * net-broker act on a program in another network namespace than the supervisor's, which only
 * unshare-net gives it. Returns 0, or -EINVAL with "ORIGIN:LINE: ..." in err for the first of
 * them when the policy has no unshare-net. (A container served by an agent has its own.)
 */
int sb_policy_check_spawn(const sb_policy *p, char *err, size_t errlen);

/* ---- Sandboxes: a policy enforced by the built-in handler families ---- */

typedef struct sb_sandbox sb_sandbox;
typedef struct sb_sandbox_opts {
	int audit_fd;      /* JSON Lines audit sink, -1 for none (not owned) */
	const char *label; /* container id for agent mode, NULL otherwise */
	void *userdata;
	bool learn;        /* record what the program touches (sb_sandbox_learn_write) */
} sb_sandbox_opts;

/* Takes ownership of policy. */
int sb_sandbox_new(sb_sandbox **ret, sb_policy *policy, const sb_sandbox_opts *opts);
void sb_sandbox_free(sb_sandbox *sb);
void *sb_sandbox_userdata(sb_sandbox *sb);
/*
 * Registers the handler families on s and the audit hook: every family when only is NULL
 * (an agent serving many policies), else just those the sandbox only needs (the others'
 * syscalls then stay out of spawned filters). Every listener of s must then carry an
 * sb_sandbox as its listener_data (sb_spawn_opts.listener_data, sb_attach).
 */
int sb_sandbox_install(sb_supervisor *s, const sb_sandbox *only);

/*
 * Exec cannot be emulated (the kernel opens the file and its interpreter itself), so a
 * sandbox whose policy has fs rules is also a Landlock ruleset, built here in the supervisor:
 * execute is granted exactly where allow/allow-read would let the program run something, and
 * signals and ptrace stay inside the sandbox. *ret_fd gets the ruleset (O_CLOEXEC) for
 * sb_landlock_restrict_self in the spawned child (sb_spawn_opts.pre_filter), or -1 when there
 * is nothing to do. msg gets one line for the user, "" when there is nothing to say: what
 * Landlock cannot enforce, or that it is missing. Returns -EOPNOTSUPP when Landlock is
 * missing but the policy refuses some exec: do not run the program then.
 */
int sb_sandbox_landlock_prepare(const sb_sandbox *sb, int *ret_fd, char *msg, size_t msglen);
/* In the spawned child, before the filter: sets no_new_privs and enters the ruleset. */
int sb_landlock_restrict_self(int ruleset_fd);

/*
 * learn FILE: a sandbox made with sb_sandbox_opts.learn records what the program was allowed
 * to touch. This writes it to fd (emptied first) as a policy, sysbroker.policy(5), that lets
 * the same run pass under "default deny". -ENODATA when the sandbox is not learning.
 */
int sb_sandbox_learn_write(sb_sandbox *sb, int fd);

/* Syscall names (native), NULL when unknown; and the reverse. */
const char *sb_syscall_name(int nr);
int sb_syscall_nr(const char *name);

/* ---- OCI seccomp agent protocol ---- */

/*
 * The receiving side of the OCI runtime spec's linux.seccomp.listenerPath: the runtime
 * sends the container state as one JSON object with the listener fds in SCM_RIGHTS, and
 * "fds" names them in order. Pure: the caller reads the socket and feeds the bytes.
 */
typedef struct sb_oci_reader sb_oci_reader;
typedef struct sb_oci_payload sb_oci_payload;

#define SB_OCI_PAYLOAD_MAX (1024 * 1024)

/* A reader for one connection, accepting at most cap bytes (0: SB_OCI_PAYLOAD_MAX). */
int sb_oci_reader_new(sb_oci_reader **ret, size_t cap);
void sb_oci_reader_free(sb_oci_reader *r);
/*
 * Feeds bytes as they arrive. Returns 0 when more is needed, 1 once the object is complete
 * (its closing brace: never wait for EOF), -EBADMSG when the bytes are not one JSON object
 * (garbage after it included), -E2BIG past the cap. Errors are sticky.
 */
int sb_oci_reader_feed(sb_oci_reader *r, const void *buf, size_t len);
/* The peer closed: 1 complete, -ENODATA nothing came, -EBADMSG cut in the middle. */
int sb_oci_reader_eof(sb_oci_reader *r);
/* Why the reader failed, for a log line (static string). */
const char *sb_oci_reader_strerror(const sb_oci_reader *r);

/*
 * Validates the complete payload (fds, pid, state.id required; types and bounds checked).
 * Returns 0, -EAGAIN when the reader is not complete, -EBADMSG with the reason in err.
 */
int sb_oci_payload_parse(sb_oci_reader *r, sb_oci_payload **ret, char *err, size_t errlen);
void sb_oci_payload_free(sb_oci_payload *p);
size_t sb_oci_payload_n_fds(const sb_oci_payload *p);
/* Index in SCM_RIGHTS order of the fd named name (e.g. "seccompFd"), or -ENOENT. */
int sb_oci_payload_fd_index(const sb_oci_payload *p, const char *name);
pid_t sb_oci_payload_pid(const sb_oci_payload *p);
/*
 * A string field by its JSON path: "ociVersion", "metadata", "state.ociVersion", "state.id",
 * "state.status", "state.bundle", "state.annotations.KEY". NULL when absent. Owned by p.
 */
const char *sb_oci_payload_string(const sb_oci_payload *p, const char *field);

/* NAME of DIR/NAME.policy: 1-248 bytes of [A-Za-z0-9._-], not starting with '.'. */
bool sb_oci_policy_name_valid(const char *name);
/*
 * The policy named by listenerMetadata: metadata without '=' is the NAME itself; otherwise
 * ';'/','-separated items of which "policy=NAME" counts. Returns 1 with the name in ret,
 * 0 when none is named (use the default), -EINVAL with the reason in err when the metadata
 * names an invalid NAME or several (fail closed: never the default instead).
 */
int sb_oci_policy_select(const char *metadata, char *ret, size_t size, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
