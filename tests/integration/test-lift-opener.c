/* Integration tests of the files the kernel judges by their opener (/proc/PID/uid_map and the
 * other id maps, setgroups, timens_offsets, loginuid, cgroup v1 tasks, /dev/fuse): under
 * `sysbroker run` with a rule set they behave as natively, as root and as uid 65534, and a
 * program gets no more through them than natively. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sysbroker/sysbroker.h>

#include "lift-helpers.h"
#include "macros.h"
#include "runcmd.h"
#include "tap.h"

static char out[1 << 16], err[1 << 16], native[1 << 16];

#define NOBODY "setpriv --reuid=65534 --regid=65534 --clear-groups"

static void need_root(void)
{
	lift_need_root("the programs change uid and make user namespaces");
}

/* The test's directory, open to the programs that run as uid 65534. */
static const char *tdir(void)
{
	const char *t = test_tmpdir();
	ASSERT_EQ(chmod(t, 0755), 0);
	return t;
}

static void rm_tdir(void)
{
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tdir());
	run_sh(cmd, out, sizeof(out), err, sizeof(err));
}

/*
 * Runs script (no single quote in it) with $H the helper, $T the test directory and $SB
 * empty natively, or "sysbroker run RULES --" under sysbroker (rules NULL: natively). The
 * exit status; the output in out.
 */
static int run(const char *rules, const char *script)
{
	char cmd[16384], sb[4096] = "";
	if (rules)
		snprintf(sb, sizeof(sb), "%s run %s --", sysbroker_bin(), rules);
	snprintf(cmd, sizeof(cmd), "export H=%s T=%s; SB=\"%s\"; %s", lift_helper(), tdir(), sb,
		 script);
	return run_sh(cmd, out, sizeof(out), err, sizeof(err));
}

/* The rule set: a path rule, so that every open is decided on the object reached. */
#define RULES "--deny $T/none"

/*
 * script natively, then under sysbroker with the rule set and without any rule: the same
 * status and output each time. The native output is left in native.
 */
static void same_as_native(const char *script)
{
	int rc = run(NULL, script);
	lift_diag("natively", out);
	if (err[0])
		lift_diag("stderr", err);
	strcpy(native, out);
	const char *modes[] = {RULES, ""};
	for (size_t i = 0; i < ELEMENTSOF(modes); i++) {
		int r = run(modes[i], script);
		if (r != rc || strcmp(out, native))
			tap_fail(__FILE__, __LINE__,
				 "under sysbroker run %s: status %d (natively %d)\n%s%s", modes[i],
				 r, rc, out, err);
	}
}

/* ---- the program's own namespaces ---- */

TEST(unshare_map_root_user_as_root)
{
	need_root();
	same_as_native("$SB unshare -U -r id -u; $SB unshare --user --map-root-user "
		       "cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups");
	ASSERT_STREQ(native,
		     "0\n         0          0          1\n         0          0          1\n"
		     "deny\n");
	rm_tdir();
}

/* Supervisor root, program uid 65534: the child that opens the map takes the program's
 * uid, so the kernel sees 65534 map itself, as natively. */
TEST(unshare_map_root_user_as_nobody)
{
	need_root();
	same_as_native("$SB " NOBODY " unshare -U -r id -u; $SB " NOBODY
		       " unshare -U -r cat /proc/self/uid_map /proc/self/gid_map");
	ASSERT_STREQ(native,
		     "0\n         0      65534          1\n         0      65534          1\n");
	rm_tdir();
}

/* A namespace in a namespace: the inner map is written (and read) by a task of the inner
 * namespace, whose parent is not ours; projid_map needs no capability at all, only an
 * opener in the namespace or its parent. */
TEST(nested_namespaces_and_projid_map)
{
	need_root();
	same_as_native("$SB " NOBODY
		       " unshare -U -r sh -c 'echo \"0 0 1\" > /proc/self/projid_map; "
		       "unshare -U -r sh -c \"echo 0 0 1 > /proc/self/projid_map; "
		       "cat /proc/self/uid_map /proc/self/projid_map; id -u\"'");
	ASSERT_STREQ(native,
		     "         0          0          1\n         0          0          1\n0\n");
	rm_tdir();
}

/* A time namespace's offsets: CAP_SYS_TIME over its user namespace, held by the opener. */
TEST(time_namespace_offsets)
{
	need_root();
	if (access("/proc/self/timens_offsets", F_OK))
		tap_skip("no time namespaces");
	same_as_native("$SB " NOBODY " unshare -U -r -T --boottime 5000000 cat /proc/uptime | "
		       "cut -d. -f1 | sed 's/^5[0-9]\\{6\\}$/shifted/'");
	ASSERT_STREQ(native, "shifted\n");
	rm_tdir();
}

/* loginuid is written and shown in the opener's user namespace: 65534 is 0 in a namespace
 * that maps 0 to it. */
TEST(loginuid_counted_in_the_programs_namespace)
{
	need_root();
	if (run(NULL, "echo 65534 > /proc/self/loginuid") != 0)
		tap_skip("cannot set a loginuid here (no audit, or immutable)");
	same_as_native("echo 65534 > /proc/self/loginuid && $SB " NOBODY
		       " unshare -U -r cat /proc/self/loginuid; echo");
	ASSERT_STREQ(native, "0\n");
	rm_tdir();
}

/* FUSE in a user namespace takes a /dev/fuse opened in that namespace (fuse_fill_super). */
TEST(fuse_mount_with_its_own_dev_fuse)
{
	need_root();
	if (access("/dev/fuse", F_OK))
		tap_skip("no /dev/fuse");
	ASSERT_EQ(run(NULL, "mkdir $T/fz"), 0);
	same_as_native("$SB unshare -U -r -m $H fuse $T/fz");
	if (!strcmp(native, "mount=ENODEV\n"))
		tap_skip("no fuse file system");
	ASSERT_STREQ(native, "ok\n");
	rm_tdir();
}

/* ---- attacks ---- */

/*
 * A user namespace root made, still without maps, and programs that may not write them:
 * uid 65534 (not its owner) and root of another user namespace (no capability over it). A
 * supervisor that opened for them would have let them map ids or disable setgroups there.
 */
TEST(cannot_write_the_maps_of_another_namespace)
{
	need_root();
	const char *s =
	    "mkfifo $T/ready; unshare -U sh -c \"echo > $T/ready; exec sleep 100\" & V=$!; "
	    "read x < $T/ready; "
	    "for f in uid_map gid_map setgroups; do $SB " NOBODY
	    " $H write /proc/$V/$f deny; done; "
	    "$SB unshare -U $H write /proc/$V/setgroups deny; "
	    "$SB unshare -U $H write /proc/$V/uid_map \"1 0 1\"; "
	    "$SB unshare -U $H write /proc/$V/gid_map \"1 0 1\"; "
	    "echo maps:; cat /proc/$V/uid_map /proc/$V/gid_map /proc/$V/setgroups; kill $V; "
	    "rm $T/ready";
	same_as_native(s);
	ASSERT_STREQ(native, "open=EACCES\nopen=EACCES\nopen=EACCES\nopen=EACCES\nwrite=EPERM\n"
			     "write=EPERM\nmaps:\nallow\n");
	rm_tdir();
}

/*
 * cgroup v1 moves a task only for an opener whose euid is root or the task's uid: uid 65534
 * with a writable cgroup.procs moves itself, never a root process (the supervisor's euid
 * on the file would have moved any), whether it names the file, a relative name from
 * inside the cgroup, or a magic link to a descriptor it holds.
 */
TEST(cgroup_v1_move_judged_by_the_programs_euid)
{
	need_root();
	const char *s =
	    "CG=$(for c in pids freezer cpu memory; do [ -w /sys/fs/cgroup/$c/cgroup.procs ] && "
	    "echo /sys/fs/cgroup/$c && break; done); [ -n \"$CG\" ] || exit 77; "
	    "G=$CG/sbopener$$; mkdir $G && chmod 666 $G/cgroup.procs $G/tasks || exit 77; "
	    "sleep 100 & V=$!; "
	    "$SB " NOBODY " $H write $G/cgroup.procs $V; $SB " NOBODY " $H write $G/tasks $V; "
	    "$SB " NOBODY " sh -c \"cd $G && $H write tasks $V\"; "
	    "$SB " NOBODY " sh -c \"exec 3<$G/cgroup.procs; echo $V >/proc/self/fd/3 && echo moved "
	    "|| echo refused\" 2>/dev/null; "
	    "$SB " NOBODY " sh -c \"$H write $G/cgroup.procs \\$\\$ && "
	    "grep -qx \\$\\$ $G/cgroup.procs && echo moved\"; "
	    "echo left:; cat $G/cgroup.procs; kill $V; wait $V 2>/dev/null; "
	    "for i in 1 2 3 4 5 6 7 8 9 10; do rmdir $G 2>/dev/null && break; sleep 0.1; done";
	int rc = run(NULL, s);
	if (rc == 77)
		tap_skip("no cgroup v1 hierarchy to make a cgroup in");
	same_as_native(s);
	ASSERT_STREQ(native,
		     "write=EACCES\nwrite=EACCES\nwrite=EACCES\nrefused\nok\nmoved\nleft:\n");
	rm_tdir();
}

/*
 * The child that opens for the program holds the program's credentials, and (in the
 * program's own user namespace) the program could ptrace a process with them and take its
 * fds, every listener of the supervisor among them. Here the supervisor is this test
 * process (dumpable, no Landlock, unlike `sysbroker run`), the program is root of a user
 * namespace of its own and tries to take the fds of every child of the supervisor while
 * that opens its uid_map again and again.
 */
TEST_TIMEOUT(opener_child_cannot_be_taken_over, 60)
{
	need_root();
	const char *rule[] = {"deny", "/nonexistent/sb-opener"};
	char path[4200];
	snprintf(path, sizeof(path), "%s/attack.out", tdir());
	char *argv[] = {(char *)lift_helper(), "opener-attack", "5000", NULL};
	int st = lift_supervised(rule, 2, argv[0], argv, path, out, sizeof(out));
	lift_diag("attack", out);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* It met the children (else it proves nothing) and took nothing from them. */
	ASSERT_TRUE(strstr(out, "seen=yes taken=0\n"));
	rm_tdir();
}
