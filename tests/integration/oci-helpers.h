/* Helpers for integration tests of `sysbroker agent`: the agent process, fake runtimes with
 * real seccomp listeners, busybox bundles, and real runc and crun. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* ---- small helpers (failures end the test through tap_fail) ---- */

void write_file(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Whole file into a static buffer of 1 MiB ("" when missing); valid until the next call. */
const char *read_file(const char *path);
unsigned count_str(const char *hay, const char *needle);
long now_ms(void);
void sleep_ms(long ms);
/*
 * The fds of pid that are not directories. The engine keeps per-worker-thread directory
 * fds (the thread's /proc fd dir, its root) that come and go with worker threads; what a
 * connection could leak (sockets, listeners, pipes, files) is counted.
 */
int count_fds(pid_t pid);
/* A "Name:   N kB" (or plain number) field of /proc/PID/status, -1 when absent. */
long proc_status_field(pid_t pid, const char *name);
/* An executable on PATH (or at an absolute path), NULL when absent. */
const char *find_exe(const char *name);
/* Removes a test's directory once it passed (a failing one stays for a look). */
void rm_rf(const char *dir);

/* ---- the agent under test ---- */

struct agent {
	pid_t pid;
	/* dir: the test's directory; pol: policy dir with default, deny-secret (DIR/secret)
	 * and broken policies; log: the agent's stderr. */
	char dir[256], sock[300], log[300], pol[300];
	int baseline_fds; /* count_fds once it listens */
};

/* The binary under test (env SYSBROKER), or skip. */
const char *sysbroker(void);
void need_root(void);
/* The agent's log so far (read_file's buffer). */
const char *agent_log(struct agent *a);
/* Waits until the log holds at least n occurrences of needle; fails after timeout_ms. */
void wait_log(struct agent *a, const char *needle, unsigned n, long timeout_ms);
/* Waits until the agent's fds are back at baseline_fds (listeners close just after "exited"). */
void wait_baseline(struct agent *a);
/* The test directory, its policies and files. */
void agent_dirs(struct agent *a);
/*
 * Starts the agent with its stderr in a->log and extra options. listen_fd >= 0: socket
 * activation with it as fd 3. Returns once it logged that it listens; skips when the
 * kernel lacks user notification.
 */
void agent_spawn(struct agent *a, int listen_fd, const char *const *extra);
/* need_root + agent_dirs + agent_spawn with --default-policy default. */
void agent_start(struct agent *a);
/* SIGTERM: must exit 0; the socket must be gone (or not, for socket activation). */
void agent_stop(struct agent *a, bool socket_removed);
int agent_connect(struct agent *a);
/* Sends len bytes with n_fds fds (at most 8) in SCM_RIGHTS on the first byte. */
ssize_t send_with_fds(int sock, const void *buf, size_t len, const int *fds, size_t n_fds);
/* A runc-style payload. fds_json is the "fds" array (NULL: ["seccompFd"]); metadata NULL
 * leaves the key out. Static buffer. */
const char *payload(const char *id, pid_t pid, const char *metadata, const char *fds_json);

/* ---- a process with a real seccomp listener, as a runtime would hand over ---- */

struct target {
	pid_t pid;
	int ctl;      /* commands to the process */
	int listener; /* its seccomp listener, ours to send */
};

int recv_fd(int sock);
/* Forks a process whose filter notifies openat and getppid; its listener is t->listener. */
void target_start(struct target *t);
/* Asks the target to open path; returns its errno (0: opened). */
int target_open(struct target *t, const char *path);
/* Asks the target to call getppid; returns once it got an answer. */
long target_getppid(struct target *t);
/* Ends the target (EOF on ctl); it must exit 0. */
void target_stop(struct target *t);
/* A listener with a proper payload is attached, served and let go; fds back at baseline. */
void good_connection(struct agent *a, const char *id);

/* ---- real runtimes ---- */

struct bundle {
	char dir[300], rootfs[400], config[400];
	/* process.user and noNewPrivileges for bundle_config: bundle_new sets 0, 0, true. */
	unsigned uid, gid;
	bool no_new_privs;
};

/* A busybox rootfs at dir (created), with /etc/hostname "sbtest", /etc/secret "hush" and
 * /etc/hidden "shh". */
void rootfs_make(const char *dir);
/* A bundle directory dir (created) whose config will use rootfs (absolute; may be shared). */
void bundle_new(struct bundle *b, const char *dir, const char *rootfs);
/* bundle_new(BASE/bundle) with its own rootfs_make(BASE/bundle/rootfs). */
void bundle_make(struct bundle *b, const char *base);
/*
 * config.json running `sh -c script` (no '"' or '\' in it) as b->uid/gid with CAP_KILL only, in
 * new pid, ipc, uts, mount and network namespaces. notify (a JSON array of syscall names)
 * is sent to listener with listenerMetadata metadata (NULL: none); notify NULL: no seccomp.
 */
void bundle_config(struct bundle *b, const char *script, const char *listener, const char *metadata,
		   const char *notify);
/* Runs argv with a timeout; output (stdout+stderr) in out. Returns the exit status. */
int run_argv(char *const argv[], char *out, size_t size, int timeout_s);
/* Like run_argv, output appended to a file: for `crun create`, whose container keeps the
 * create's stdout open until it exits. */
int run_argv_to_file(char *const argv[], const char *outfile, int timeout_s);
/* Starts argv with stdin /dev/null and stdout+stderr appended to outfile; returns its pid. */
pid_t spawn_argv_to_file(char *const argv[], const char *outfile);
/* Waits for pid, killing it and failing the test after timeout_s. Returns the exit status
 * (128+N for signal N). */
int wait_exit(pid_t pid, int timeout_s, const char *what);
/* argv (n_max entries) for `RUNTIME --root ROOT args...`; crun runs in a private mount
 * namespace without the cgroup v2 hierarchy on hybrid hosts (docs/agent.md). */
void runtime_argv(const char *runtime, const char *root, char **argv, size_t n_max,
		  const char *const *args);
/* Root, the runtime and busybox-static, or skip; with SB_REQUIRE_RUNTIMES set (.ci/run),
 * fail instead. */
void need_runtime(const char *runtime);
/* Output of the last container_run. */
extern char rt_out[1 << 16];
/* `RUNTIME run` of script under the agent (own bundle in a->dir/id); the runtime's exit
 * status, which is the container's. */
int container_run(struct agent *a, const char *runtime, const char *id, const char *script,
		  const char *metadata, const char *notify);
