/* Live tests of feature probing: what the probe finds here, that it leaks nothing, the CLI. */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include <sysbroker/sysbroker.h>

#include "macros.h"
#include "tap.h"

/* SPEC §7 order, with the JSON key `sysbroker features --json` documents for each row. */
static const struct {
	const char *name, *since, *key;
} expected[] = {
	{"user notification", "5.0", "user_notification"},
	{"CONTINUE", "5.5", "continue"},
	{"ADDFD", "5.9", "addfd"},
	{"ADDFD_FLAG_SEND", "5.14", "addfd_flag_send"},
	{"ADDFD_FLAG_SETFD", "5.9", "addfd_flag_setfd"},
	{"WAIT_KILLABLE_RECV", "5.19", "wait_killable_recv"},
	{"TSYNC_ESRCH", "5.7", "tsync_esrch"},
	{"NOTIF_SET_FLAGS/SYNC_WAKE_UP", "6.6", "notif_set_flags_sync_wake_up"},
	{"pidfd_open", "5.3", "pidfd_open"},
	{"pidfd_getfd", "5.6", "pidfd_getfd"},
	{"PIDFD_THREAD", "6.9", "pidfd_thread"},
	{"openat2", "5.6", "openat2"},
	{"Landlock", "5.13", "landlock"},
	{"BPF thread watch", "5.5", "bpf_thread_watch"},
};
#define N_ROWS ELEMENTSOF(expected)

static unsigned count_dir(const char *path)
{
	DIR *d = opendir(path);
	unsigned n = 0;

	ASSERT_TRUE(d);
	for (struct dirent *e; (e = readdir(d));)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static bool file_contains(const char *path, const char *word)
{
	char buf[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	return strstr(buf, word) != NULL;
}

/*
 * The oracle for "should the probe have found it": the running kernel's version. The library
 * must never decide this way (backports, disabled configs), but a test may: it only ever
 * demands a feature the kernel is certain to have, never forbids one.
 */
static bool kernel_at_least(const char *since)
{
	struct utsname u;
	unsigned kmaj = 0, kmin = 0, smaj = 0, smin = 0;

	ASSERT_EQ(uname(&u), 0);
	ASSERT_EQ(sscanf(u.release, "%u.%u", &kmaj, &kmin), 2);
	ASSERT_EQ(sscanf(since, "%u.%u", &smaj, &smin), 2);
	return kmaj > smaj || (kmaj == smaj && kmin >= smin);
}

static bool initial_pid_ns(void)
{
	struct stat st;
	return stat("/proc/self/ns/pid", &st) == 0 && st.st_ino == 0xEFFFFFFCu;
}

TEST(probe_finds_this_kernels_features)
{
	sb_feature_row rows[N_ROWS];
	sb_features f;
	unsigned missing = 0;

	ASSERT_EQ(sb_features_probe(&f), 0);
	if (!f.user_notif) {
		ASSERT_TRUE(!file_contains("/proc/sys/kernel/seccomp/actions_avail", "user_notif"));
		tap_skip("no seccomp user notification on this kernel");
	}
	ASSERT_EQ(sb_features_rows(&f, rows, N_ROWS), N_ROWS);
	for (size_t i = 0; i < N_ROWS; i++) {
		printf("# %-30s %s (since %s)\n", rows[i].name, rows[i].present ? "yes" : "no",
		       rows[i].since);
		if (rows[i].present || !kernel_at_least(rows[i].since))
			continue;
		/* Landlock may be built but not enabled in the LSM list. */
		if (!strcmp(rows[i].name, "Landlock") &&
		    !file_contains("/sys/kernel/security/lsm", "landlock"))
			continue;
		/* The thread watch needs root's CAP_BPF and CAP_PERFMON, and our pid namespace
		 * the initial one. */
		if (!strcmp(rows[i].name, "BPF thread watch") &&
		    (geteuid() != 0 || !initial_pid_ns()))
			continue;
		printf("# MISSING: %s should be present on this kernel\n", rows[i].name);
		missing++;
	}
	ASSERT_EQ(missing, 0);

	/* What the features imply about one another. */
	ASSERT_TRUE(!f.addfd_send || f.addfd);
	ASSERT_TRUE(!f.addfd_setfd || f.addfd);
	ASSERT_TRUE(!f.pidfd_thread || f.pidfd_open);
	ASSERT_TRUE(!f.wait_killable_recv || f.user_notif);
	ASSERT_TRUE(f.landlock_abi >= 0);
	ASSERT_GE(f.sizeof_notif, 80);
	ASSERT_GE(f.sizeof_resp, 24);
	ASSERT_GE(f.sizeof_data, 64);
	if (f.landlock_abi > 0)
		printf("# Landlock ABI %d\n", f.landlock_abi);
}

static volatile sig_atomic_t sigchld_count;

static void on_sigchld(int sig)
{
	sigchld_count++;
}

TEST(probe_leaks_no_fds_children_or_threads)
{
	unsigned fds = count_dir("/proc/self/fd"), threads = count_dir("/proc/self/task");
	siginfo_t si = {};
	sb_features f;

	for (int i = 0; i < 50; i++)
		ASSERT_EQ(sb_features_probe(&f), 0);
	ASSERT_EQ(count_dir("/proc/self/fd"), fds);
	ASSERT_EQ(count_dir("/proc/self/task"), threads);
	/* No child left, not even a zombie, whatever its exit signal. */
	ASSERT_ERRNO(waitid(P_ALL, 0, &si, WEXITED | WNOHANG | __WALL), ECHILD);
}

/* EINVAL (size too small) where clone3 exists; ENOSYS, or a filter's EPERM, where not. */
static bool have_clone3(void)
{
	return syscall(SYS_clone3, NULL, 0) < 0 && errno == EINVAL;
}

TEST(probe_leaves_signals_alone)
{
	struct sigaction sa = {.sa_handler = on_sigchld};
	sigset_t block, before, after;
	sb_features f;

	ASSERT_EQ(sigaction(SIGCHLD, &sa, NULL), 0);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	ASSERT_EQ(sigprocmask(SIG_BLOCK, &block, NULL), 0);
	ASSERT_EQ(sigprocmask(SIG_BLOCK, NULL, &before), 0);

	ASSERT_EQ(sb_features_probe(&f), 0);

	ASSERT_EQ(sigprocmask(SIG_BLOCK, NULL, &after), 0);
	for (int s = 1; s < NSIG; s++)
		ASSERT_EQ(sigismember(&after, s), sigismember(&before, s));
	/* The probe child is cloned with no exit signal: a SIGCHLD-driven reaper never sees it. */
	if (have_clone3())
		ASSERT_EQ(sigchld_count, 0);
}

static void *probe_thread(void *arg)
{
	sb_features *f = arg;
	return (void *)(intptr_t)sb_features_probe(f);
}

TEST(probe_from_another_thread)
{
	unsigned fds = count_dir("/proc/self/fd");
	sb_features a, b;
	pthread_t t;
	void *r;

	ASSERT_EQ(sb_features_probe(&a), 0);
	ASSERT_EQ(pthread_create(&t, NULL, probe_thread, &b), 0);
	ASSERT_EQ(pthread_join(t, &r), 0);
	ASSERT_EQ((intptr_t)r, 0);
	/* Field by field: padding bytes may differ. */
	ASSERT_EQ(a.user_notif, b.user_notif);
	ASSERT_EQ(a.notif_continue, b.notif_continue);
	ASSERT_EQ(a.addfd, b.addfd);
	ASSERT_EQ(a.addfd_send, b.addfd_send);
	ASSERT_EQ(a.addfd_setfd, b.addfd_setfd);
	ASSERT_EQ(a.wait_killable_recv, b.wait_killable_recv);
	ASSERT_EQ(a.tsync_esrch, b.tsync_esrch);
	ASSERT_EQ(a.sync_wake_up, b.sync_wake_up);
	ASSERT_EQ(a.pidfd_open, b.pidfd_open);
	ASSERT_EQ(a.pidfd_getfd, b.pidfd_getfd);
	ASSERT_EQ(a.pidfd_thread, b.pidfd_thread);
	ASSERT_EQ(a.openat2, b.openat2);
	ASSERT_EQ(a.landlock_abi, b.landlock_abi);
	ASSERT_EQ(a.sizeof_notif, b.sizeof_notif);
	ASSERT_EQ(a.sizeof_resp, b.sizeof_resp);
	ASSERT_EQ(a.sizeof_data, b.sizeof_data);
	ASSERT_EQ(count_dir("/proc/self/fd"), fds);
}

TEST(probe_is_fast)
{
	long long best = -1;
	sb_features f;

	for (int i = 0; i < 5; i++) {
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		ASSERT_EQ(sb_features_probe(&f), 0);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		long long us = (t1.tv_sec - t0.tv_sec) * 1000000LL + (t1.tv_nsec - t0.tv_nsec) / 1000;
		if (best < 0 || us < best)
			best = us;
	}
	printf("# best of 5: %lld us\n", best);
	ASSERT_TRUE(best < 50000);
}

TEST(probe_rejects_null)
{
	ASSERT_EQ(sb_features_probe(NULL), -EINVAL);
}

TEST(rows_order_and_versions)
{
	sb_feature_row rows[N_ROWS + 4];
	sb_features f = {};

	ASSERT_EQ(sb_features_rows(&f, rows, ELEMENTSOF(rows)), N_ROWS);
	for (size_t i = 0; i < N_ROWS; i++) {
		ASSERT_STREQ(rows[i].name, expected[i].name);
		ASSERT_STREQ(rows[i].since, expected[i].since);
		ASSERT_TRUE(!rows[i].present);
	}

	/* Never writes past n. */
	memset(rows, 0xa5, sizeof(rows));
	ASSERT_EQ(sb_features_rows(&f, rows, 3), 3);
	ASSERT_STREQ(rows[2].name, expected[2].name);
	unsigned char canary[sizeof(rows[0])];
	memset(canary, 0xa5, sizeof(canary));
	ASSERT_EQ(memcmp(&rows[3], canary, sizeof(canary)), 0);
	ASSERT_EQ(sb_features_rows(&f, rows, 0), 0);
	ASSERT_EQ(sb_features_rows(NULL, rows, N_ROWS), 0);
}

TEST(rows_follow_the_struct)
{
	sb_feature_row rows[N_ROWS];
	const sb_features f = {
		.user_notif = true,
		.addfd = true,
		.addfd_setfd = true,
		.tsync_esrch = true,
		.pidfd_open = true,
		.pidfd_thread = true,
		.landlock_abi = 3,
	};
	const bool want[N_ROWS] = {true, false, true, false, true, false, true,
				   false, true, false, true, false, true};

	ASSERT_EQ(sb_features_rows(&f, rows, N_ROWS), N_ROWS);
	for (size_t i = 0; i < N_ROWS; i++)
		ASSERT_EQ(rows[i].present, want[i]);
}

/* ---- The sysbroker binary ---- */

struct run_result {
	int status;
	char out[8192], err[2048];
};

static void slurp(int fd, char *buf, size_t size)
{
	ssize_t n = pread(fd, buf, size - 1, 0);
	ASSERT_GE(n, 0);
	buf[n] = 0;
	close(fd);
}

static void run_sysbroker(struct run_result *r, const char *arg1, const char *arg2)
{
	const char *bin = getenv("SYSBROKER");
	if (!bin)
		tap_skip("SYSBROKER is not set");
	int out = memfd_create("out", MFD_CLOEXEC), err = memfd_create("err", MFD_CLOEXEC);
	ASSERT_TRUE(out >= 0 && err >= 0);

	pid_t pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (pid == 0) {
		const char *argv[] = {bin, "features", arg1, arg2, NULL};
		dup2(out, STDOUT_FILENO);
		dup2(err, STDERR_FILENO);
		execv(bin, (char **)argv);
		_exit(127);
	}
	int st;
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	ASSERT_TRUE(WIFEXITED(st));
	r->status = WEXITSTATUS(st);
	slurp(out, r->out, sizeof(r->out));
	slurp(err, r->err, sizeof(r->err));
}

static unsigned count_lines(const char *s)
{
	unsigned n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

TEST(cli_table_has_every_row)
{
	static struct run_result r;
	sb_features f;
	char line[128];

	run_sysbroker(&r, NULL, NULL);
	ASSERT_EQ(r.status, 0);
	ASSERT_STREQ(r.err, "");
	ASSERT_EQ(count_lines(r.out), N_ROWS + 1);
	ASSERT_EQ(sb_features_probe(&f), 0);

	const char *p = r.out;
	for (size_t i = 0; i < N_ROWS; i++) {
		const char *nl = strchr(p, '\n');
		ASSERT_TRUE(nl);
		snprintf(line, sizeof(line), "%.*s", (int)(nl - p), p);
		p = nl + 1;

		char name[64], yesno[16], since[32];
		size_t len = strlen(expected[i].name);
		ASSERT_EQ(strncmp(line, expected[i].name, len), 0);
		ASSERT_TRUE(line[len] == ' ');
		ASSERT_EQ(sscanf(line + len, " %15s", yesno), 1);
		snprintf(name, sizeof(name), "since %s", expected[i].since);
		snprintf(since, sizeof(since), "%s", line + strlen(line) - strlen(name));
		ASSERT_STREQ(since, name);
		if (!strcmp(expected[i].key, "landlock") && f.landlock_abi > 0) {
			char want[32];
			snprintf(want, sizeof(want), "yes (ABI %d)", f.landlock_abi);
			ASSERT_TRUE(strstr(line, want));
		} else
			ASSERT_TRUE(!strcmp(yesno, "yes") || !strcmp(yesno, "no"));
	}
	snprintf(line, sizeof(line), "notif struct sizes: notif=%u resp=%u data=%u\n",
		 f.sizeof_notif, f.sizeof_resp, f.sizeof_data);
	ASSERT_STREQ(p, line);
}

TEST(cli_json_is_valid_and_complete)
{
	static struct run_result r;
	sb_feature_row rows[N_ROWS];
	sb_features f;
	struct json_object *o, *v, *sizes;

	run_sysbroker(&r, "--json", NULL);
	ASSERT_EQ(r.status, 0);
	ASSERT_STREQ(r.err, "");
	ASSERT_EQ(count_lines(r.out), 1);

	struct json_tokener *tok = json_tokener_new();
	size_t len = strlen(r.out) - 1; /* the newline */
	o = json_tokener_parse_ex(tok, r.out, (int)len);
	ASSERT_EQ(json_tokener_get_error(tok), json_tokener_success);
	ASSERT_EQ(json_tokener_get_parse_end(tok), len);
	json_tokener_free(tok);
	ASSERT_TRUE(o && json_object_is_type(o, json_type_object));
	ASSERT_EQ(json_object_object_length(o), N_ROWS + 2);

	ASSERT_EQ(sb_features_probe(&f), 0);
	ASSERT_EQ(sb_features_rows(&f, rows, N_ROWS), N_ROWS);
	for (size_t i = 0; i < N_ROWS; i++) {
		struct json_object *feat;
		ASSERT_TRUE(json_object_object_get_ex(o, expected[i].key, &feat));
		ASSERT_EQ(json_object_object_length(feat), 2);
		ASSERT_TRUE(json_object_object_get_ex(feat, "present", &v));
		ASSERT_TRUE(json_object_is_type(v, json_type_boolean));
		ASSERT_EQ(json_object_get_boolean(v), rows[i].present);
		ASSERT_TRUE(json_object_object_get_ex(feat, "since", &v));
		ASSERT_STREQ(json_object_get_string(v), expected[i].since);
	}
	ASSERT_TRUE(json_object_object_get_ex(o, "landlock_abi", &v));
	ASSERT_TRUE(json_object_is_type(v, json_type_int));
	ASSERT_EQ(json_object_get_int(v), f.landlock_abi);
	ASSERT_TRUE(json_object_object_get_ex(o, "sizes", &sizes));
	ASSERT_TRUE(json_object_object_get_ex(sizes, "notif", &v));
	ASSERT_EQ(json_object_get_int(v), f.sizeof_notif);
	ASSERT_TRUE(json_object_object_get_ex(sizes, "resp", &v));
	ASSERT_EQ(json_object_get_int(v), f.sizeof_resp);
	ASSERT_TRUE(json_object_object_get_ex(sizes, "data", &v));
	ASSERT_EQ(json_object_get_int(v), f.sizeof_data);
	json_object_put(o);
}

TEST(cli_bad_option_is_one_line_and_125)
{
	static struct run_result r;

	run_sysbroker(&r, "--bogus", NULL);
	ASSERT_EQ(r.status, 125);
	ASSERT_STREQ(r.out, "");
	ASSERT_STREQ(r.err, "sysbroker: features: unknown option '--bogus'\n");

	run_sysbroker(&r, "--json", "-x");
	ASSERT_EQ(r.status, 125);
	ASSERT_STREQ(r.out, "");
	ASSERT_STREQ(r.err, "sysbroker: features: unknown option '-x'\n");

	run_sysbroker(&r, "extra", NULL);
	ASSERT_EQ(r.status, 125);
	ASSERT_STREQ(r.out, "");
	ASSERT_EQ(count_lines(r.err), 1);
}

TEST(cli_help)
{
	static struct run_result r;

	run_sysbroker(&r, "--help", NULL);
	ASSERT_EQ(r.status, 0);
	ASSERT_STREQ(r.err, "");
	ASSERT_TRUE(strstr(r.out, "sysbroker features [--json]"));
}
