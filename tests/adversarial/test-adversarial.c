/* The adversarial suite: every file attack of SPEC §4, each a small program (attack-*.c), run
 * natively first (the control: it must reach the protected file, else the attack proves
 * nothing) and then under the real `sysbroker run` with a deny, a hide and an allow-read rule
 * on the protected directory, where it must reach nothing. Zero escapes; each line of output
 * says how many tries were made. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "../integration/runcmd.h"
#include "tap.h"

/* attack()'s want_status for an attack whose program may be killed by sysbroker, having
 * escaped nothing, or end on its own (status 1). */
#define HELD_OR_KILLED (-1)

/* Tries of a race under sysbroker; the control stops at its first escape (at most this). */
#define RACE_TRIES 4000
#define CONTROL_RACE_MAX 1000000

static char out[1 << 16], err[1 << 16];
static char T[64]; /* the tree of one run */

struct mode {
	const char *name, *option, *goal;
};
static const struct mode modes[] = {
    {"deny", "--deny", "read"},
    {"hide", "--hide", "read"},
    {"allow-read", "--allow-read", "write"},
};

static void put(const char *rel, const char *text, mode_t mode)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", T, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(write(fd, text, strlen(text)), (long long)strlen(text));
	close(fd);
	ASSERT_EQ(chmod(p, mode), 0);
}

static void copy(const char *from, const char *rel, mode_t mode)
{
	char p[256], buf[1 << 16];
	snprintf(p, sizeof(p), "%s/%s", T, rel);
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int o = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	ASSERT_TRUE(in >= 0 && o >= 0);
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		ASSERT_EQ(write(o, buf, (size_t)n), n);
	close(in);
	close(o);
	ASSERT_EQ(chmod(p, mode), 0);
}

static void dir(const char *rel)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", T, rel);
	ASSERT_EQ(mkdir(p, 0755), 0);
}

static void rm_tree(void)
{
	char cmd[128];
	if (T[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", T);
		run_sh(cmd, NULL, 0, NULL, 0);
	}
}

/*
 * A fresh tree: pub/ is allowed (the default); sec/ gets the rule under test: f (SECRET),
 * prog (an executable), link, out and outdir (links out of it), m1..m9 (to change),
 * emptydir. pub/sec2/ gets the same rule and holds only a non-executable copy of a program:
 * with no executable below it, Landlock grants exec on all of pub/, and only the refusal of
 * chmod keeps it from running.
 */
static void tree(void)
{
	rm_tree();
	snprintf(T, sizeof(T), "/tmp/sb-adv-XXXXXX");
	ASSERT_TRUE(mkdtemp(T));
	ASSERT_EQ(chmod(T, 0755), 0);
	dir("pub");
	dir("pub/sec");
	dir("sec");
	dir("sec/emptydir");
	dir("pub/sec2");
	put("pub/f", "PUBLIC\n", 0644);
	put("pub/sec/f", "PUBLIC\n", 0644);
	put("pub/g", "PUBLIC\n", 0644);
	put("pub/h", "PUBLIC\n", 0644);
	put("sec/f", "SECRET\n", 0644);
	for (int i = 1; i <= 9; i++) {
		char n[16];
		snprintf(n, sizeof(n), "sec/m%d", i);
		put(n, "SECRET\n", 0644);
	}
	copy("/bin/echo", "sec/prog", 0755);
	copy("/bin/echo", "pub/sec2/noexec", 0644);
	char p[256];
	snprintf(p, sizeof(p), "%s/sec/link", T);
	ASSERT_EQ(symlink("f", p), 0);
	/* Links inside sec/ that lead out of it (a walk through a hidden sec/ must not work). */
	snprintf(p, sizeof(p), "%s/sec/out", T);
	ASSERT_EQ(symlink("../pub/f", p), 0);
	snprintf(p, sizeof(p), "%s/sec/outdir", T);
	ASSERT_EQ(symlink("../pub", p), 0);
	snprintf(p, sizeof(p), "%s/sec/f", T);
	ASSERT_EQ(setxattr(p, "user.sb", "x", 1, 0), 0);
	snprintf(p, sizeof(p), "%s/pub/fifo", T);
	ASSERT_EQ(mkfifo(p, 0644), 0);
}

/* Everything about sec/ and pub/sec2/ an attack could change: names, types, modes, owners,
 * sizes, mtimes, contents, xattrs. */
static void snapshot(char *buf, size_t size)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "cd %s && python3 -c 'import os, hashlib\n"
		 "for top in (\"sec\", \"pub/sec2\"):\n"
		 "    for r, ds, fs in sorted(os.walk(top)):\n"
		 "        for n in sorted(ds + fs):\n"
		 "            p = os.path.join(r, n); st = os.lstat(p)\n"
		 "            h = hashlib.md5(open(p, \"rb\").read()).hexdigest() if "
		 "os.path.isfile(p) and not os.path.islink(p) else \"\"\n"
		 "            x = sorted(os.listxattr(p, follow_symlinks=False))\n"
		 "            print(p, st.st_mode, st.st_uid, st.st_gid, st.st_size, "
		 "st.st_mtime_ns, h, x)'",
		 T);
	ASSERT_EQ(run_sh(cmd, buf, size, NULL, 0), 0);
}

static const char *attack_bin(const char *name)
{
	static char p[4096];
	const char *b = getenv("SB_BUILDDIR");
	if (!b)
		tap_skip("SB_BUILDDIR not set (run through meson test)");
	snprintf(p, sizeof(p), "%s/tests/adversarial/attack-%s", b, name);
	return p;
}

/* Runs one attack; m NULL: natively. Returns its status as a shell would. */
static int run_attack(const char *name, const struct mode *m, const char *goal, long tries,
		      const char *extra)
{
	char cmd[8192], prefix[2048] = "";
	if (m)
		snprintf(prefix, sizeof(prefix), "%s run %s %s/sec %s %s/pub/sec2 -- ",
			 sysbroker_bin(), m->option, T, m->option, T);
	snprintf(cmd, sizeof(cmd), "%s%s %s %s %ld %s", prefix, attack_bin(name), goal, T, tries,
		 extra ? extra : "");
	return run_sh(cmd, out, sizeof(out), err, sizeof(err));
}

static long field(const char *key)
{
	const char *p = NULL, *q = out;
	while ((q = strstr(q, key))) /* the last one */
		p = q++;
	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

/* Builds the extra argument of an attack for the tree just made (file handles). */
typedef const char *(*extra_fn)(const struct mode *m);

/*
 * The whole protocol for one attack: per mode, a control that must escape, then the run under
 * sysbroker that must not, with sec/ and sec2/ unchanged. Modes where it is no attack (the
 * rule allows it) are said so. want_status: the sandboxed run's status when it is not 1
 * (e.g. killed by SIGSYS).
 */
static void attack(const char *name, long tries, bool race, extra_fn extra, int want_status)
{
	bool failed = false;
	/* Skips (no environment) before any tree is made, so none is left behind. */
	attack_bin(name);
	sysbroker_bin();
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		const struct mode *m = &modes[i];
		tree();
		int rc = run_attack(name, NULL, m->goal, race ? -CONTROL_RACE_MAX : tries,
				    extra ? extra(m) : NULL);
		if (rc == 3) {
			printf("# %s, %s: no attack (%s)\n", name, m->name, strtok(out, "\n"));
			continue;
		}
		if (rc == 4) {
			rm_tree();
			tap_skip("%s: %s", name, strtok(out, "\n"));
		}
		long ctries = field("tries="), cesc = field("escapes=");
		if (rc != 0 || cesc <= 0)
			tap_fail(__FILE__, __LINE__,
				 "%s, %s: the control did not escape natively (status %d): %s %s",
				 name, m->name, rc, out, err);

		tree();
		char before[1 << 14], after[1 << 14];
		snapshot(before, sizeof(before));
		rc = run_attack(name, m, m->goal, tries, extra ? extra(m) : NULL);
		long stries = field("tries="), sesc = field("escapes="), opened = field("opened=");
		snapshot(after, sizeof(after));
		bool changed = strcmp(before, after) != 0;
		bool held = rc == 1 && sesc == 0;
		bool ok = !strstr(out, "ESCAPED") && !changed &&
			  (want_status == HELD_OR_KILLED ? held || rc == 128 + SIGKILL
			   : want_status		 ? rc == want_status
						 : held);
		/* For a race, how many opens succeeded (the allowed spelling) says the other
		 * spelling was met and refused the rest of the time. */
		char races[64] = "";
		if (opened >= 0)
			snprintf(races, sizeof(races), " (%ld opened the allowed file)", opened);
		printf(
		    "# %s, %s: control %ld tries, %ld escapes; sysbroker %ld tries%s, %ld escapes, "
		    "status %d%s%s\n",
		    name, m->name, ctries, cesc, stries, races, sesc, rc,
		    changed ? ", PROTECTED DIRECTORY CHANGED" : "", ok ? "" : "  <-- FAILED");
		if (!ok) {
			failed = true;
			for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n"))
				printf("#   %s\n", l);
			if (changed)
				printf("#   before:\n%s#   after:\n%s", before, after);
			if (err[0])
				printf("#   stderr: %.500s\n", err);
		}
	}
	rm_tree();
	if (failed)
		tap_fail(__FILE__, __LINE__, "%s: escaped under sysbroker", name);
}

TEST_TIMEOUT(symlink_escapes, 120)
{
	attack("symlink", 100, false, NULL, 0);
}

TEST_TIMEOUT(dotdot_escapes, 120)
{
	attack("dotdot", 100, false, NULL, 0);
}

TEST_TIMEOUT(symlink_swapped_during_the_call, 300)
{
	attack("symlink-race", RACE_TRIES, true, NULL, 0);
}

TEST_TIMEOUT(path_buffer_rewritten_during_the_call, 300)
{
	attack("pathbuf-race", RACE_TRIES, true, NULL, 0);
}

TEST_TIMEOUT(dup2_over_the_checked_dirfd, 300)
{
	attack("dup2-race", RACE_TRIES, true, NULL, 0);
}

TEST_TIMEOUT(rename_of_a_parent_during_the_call, 300)
{
	attack("rename-parent", RACE_TRIES, true, NULL, 0);
}

TEST_TIMEOUT(magic_links, 120)
{
	attack("magiclink", 100, false, NULL, 0);
}

TEST_TIMEOUT(o_path_reopen, 120)
{
	attack("opath", 100, false, NULL, 0);
}

TEST_TIMEOUT(hard_link_made_inside, 120)
{
	attack("hardlink", 100, false, NULL, 0);
}

/* The protected file's handle, taken natively: what a leak or a guess would give. */
static const char *known_handle(const struct mode *m)
{
	static char arg[2 * 128 + 32];
	union {
		struct file_handle h;
		char space[sizeof(struct file_handle) + MAX_HANDLE_SZ];
	} u;
	char p[256];
	int mount_id;
	snprintf(p, sizeof(p), "%s/sec/f", T);
	u.h.handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(AT_FDCWD, p, &u.h, &mount_id, 0) < 0)
		return NULL;
	int o = snprintf(arg, sizeof(arg), "%d:", u.h.handle_type);
	for (unsigned i = 0; i < u.h.handle_bytes && o < (int)sizeof(arg) - 3; i++)
		o += snprintf(arg + o, sizeof(arg) - (size_t)o, "%02x", u.h.f_handle[i]);
	return arg;
}

TEST_TIMEOUT(open_by_handle_at, 120)
{
	attack("handle", 100, false, known_handle, 0);
}

TEST_TIMEOUT(i386_int80_open_dies_by_sigsys, 120)
{
	attack("int80", 100, false, NULL, 128 + SIGSYS);
}

TEST_TIMEOUT(io_uring_open, 120)
{
	attack("iouring", 100, false, NULL, 0);
}

TEST_TIMEOUT(exec_into_denied_places, 120)
{
	attack("exec", 100, false, NULL, 0);
}

TEST_TIMEOUT(chdir_into_denied_places, 120)
{
	attack("chdir", 100, false, NULL, 0);
}

TEST_TIMEOUT(chdir_path_rewritten_during_the_call, 300)
{
	/* The kernel makes the chdir: a win of the race kills the process (status 137). */
	attack("chdir-race", RACE_TRIES, true, NULL, HELD_OR_KILLED);
}

TEST_TIMEOUT(reaching_the_supervisor_through_proc, 120)
{
	attack("proc-supervisor", 100, false, NULL, 0);
}

TEST_TIMEOUT(changing_the_protected_directory, 120)
{
	attack("mutate", 100, false, NULL, 0);
}

static const char *mode_name(const struct mode *m)
{
	return m->name;
}

TEST_TIMEOUT(metadata_and_names, 120)
{
	attack("meta", 100, false, mode_name, 0);
}

TEST_TIMEOUT(metadata_through_an_fd, 120)
{
	attack("fdmeta", 100, false, NULL, 0);
}

TEST_TIMEOUT(walking_through_a_hidden_directory, 120)
{
	attack("hidden-walk", 100, false, mode_name, 0);
}

/* Starts argv with stdout on a pipe; returns the pid, *ret_fd the read end. */
static pid_t spawn(char *const argv[], int *ret_fd)
{
	int p[2];
	ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 1);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	*ret_fd = p[0];
	return pid;
}

static void read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;
	while (n + 1 < size && read(fd, buf + n, 1) == 1 && buf[n] != '\n')
		n++;
	buf[n] = 0;
}

static void read_all(int fd, char *buf, size_t size)
{
	size_t n = 0;
	ssize_t k;
	while (n + 1 < size && (k = read(fd, buf + n, size - 1 - n)) > 0)
		n += (size_t)k;
	buf[n] = 0;
}

/* One run of attack-orphan: kill victim once the grandchild is ready, then wake it. */
static void orphan_run(bool sandboxed, char *res, size_t size)
{
	char sec[128], sec2[128], fifo[256];
	snprintf(sec, sizeof(sec), "%s/sec", T);
	snprintf(sec2, sizeof(sec2), "%s/pub/sec2", T);
	snprintf(fifo, sizeof(fifo), "%s/pub/fifo", T);
	char *const native[] = {(char *)attack_bin("orphan"), T, NULL};
	char bin[4096];
	snprintf(bin, sizeof(bin), "%s", attack_bin("orphan"));
	char *const under[] = {
	    (char *)sysbroker_bin(), "run", "--deny", sec, "--deny", sec2, "--", bin, T, NULL};
	int fd;
	pid_t pid = spawn(sandboxed ? under : native, &fd);
	char line[256];
	read_line(fd, line, sizeof(line));
	ASSERT_STREQ(line, "ready");
	/* Under sysbroker the victim is the supervisor (the program dies with it); natively,
	 * the program itself, so that the grandchild is an orphan the same way. */
	ASSERT_EQ(kill(pid, SIGKILL), 0);
	ASSERT_EQ(waitpid(pid, NULL, 0), pid);
	int w = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	ASSERT_TRUE(w >= 0);
	ASSERT_EQ(write(w, "x", 1), 1);
	close(w);
	read_all(fd, res, size);
	close(fd);
}

TEST_TIMEOUT(killing_the_supervisor_fails_closed, 60)
{
	attack_bin("orphan");
	sysbroker_bin();
	tree();
	orphan_run(false, out, sizeof(out));
	printf("# control: %s", out);
	ASSERT_TRUE(strstr(out, "sec=read:SECRET"));
	tree();
	orphan_run(true, out, sizeof(out));
	printf("# sysbroker killed: %s", out);
	ASSERT_TRUE(strstr(out, "sec=ENOSYS\n"));
	ASSERT_TRUE(strstr(out, "pub=ENOSYS\n"));
	rm_tree();
}
