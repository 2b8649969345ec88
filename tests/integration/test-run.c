/* Integration tests of `sysbroker run`: real programs (shell pipelines, Python, a compiler)
 * under the real binary, exit statuses per SPEC §2.5, audit records and option errors. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runcmd.h"
#include "tap.h"

static char out[1 << 16], err[1 << 16];

static int sb(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sb(const char *fmt, ...)
{
	char args[8192], cmd[9000];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "%s %s", sysbroker_bin(), args);
	return run_sh(cmd, out, sizeof(out), err, sizeof(err));
}

TEST(exit_status_is_the_programs)
{
	ASSERT_EQ(sb("run -- true"), 0);
	ASSERT_EQ(sb("run -- false"), 1);
	ASSERT_EQ(sb("run -- sh -c 'exit 7'"), 7);
	ASSERT_EQ(sb("run -- sh -c 'kill -TERM $$'"), 128 + SIGTERM);
	ASSERT_STREQ(err, "");
}

TEST(not_found_127_not_executable_126)
{
	ASSERT_EQ(sb("run -- /nonexistent/prog"), 127);
	ASSERT_EQ(count_lines(err), 1);
	ASSERT_TRUE(strstr(err, "sysbroker: /nonexistent/prog: No such file or directory"));
	ASSERT_EQ(sb("run -- /etc/passwd"), 126);
	ASSERT_EQ(count_lines(err), 1);
	ASSERT_EQ(sb("run -- no-such-command-anywhere"), 127);
}

TEST(bad_options_125_one_line)
{
	const char *bad[] = {
		"run --frobnicate -- true",
		"run",
		"run --deny",
		"run --default sometimes -- true",
		"run --deny relative/path -- true",
		"run --policy /nonexistent.policy -- true",
		"run --net-allow 300.1.1.1 -- true",
		"frobnicate",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = sb("%s", bad[i]);
		if (rc != 125 || count_lines(err) != 1 || strncmp(err, "sysbroker: ", 11))
			tap_fail(__FILE__, __LINE__, "'%s': rc %d, stderr '%s'", bad[i], rc, err);
	}
	ASSERT_EQ(sb("run --help"), 0);
	ASSERT_TRUE(strstr(out, "Usage: sysbroker run"));
}

TEST(shell_pipeline)
{
	const char *t = test_tmpdir();
	ASSERT_EQ(sb("run -- sh -c 'printf \"b\\na\\nc\\n\" | sort | tr a-z A-Z > %s/p; cat %s/p'",
		     t, t),
		  0);
	ASSERT_STREQ(out, "A\nB\nC\n");
}

TEST(python_file_io)
{
	if (access("/usr/bin/python3", X_OK))
		tap_skip("no /usr/bin/python3");
	const char *t = test_tmpdir();
	ASSERT_EQ(sb("run -- /usr/bin/python3 -c '"
		     "import os, json, tempfile\n"
		     "d = \"%s/py\"\n"
		     "os.makedirs(d, exist_ok=True)\n"
		     "for i in range(50):\n"
		     "    open(os.path.join(d, f\"f{i}\"), \"w\").write(json.dumps({\"i\": i}))\n"
		     "s = sum(json.load(open(os.path.join(d, n)))[\"i\"] for n in os.listdir(d))\n"
		     "with tempfile.NamedTemporaryFile(dir=d) as f: f.write(b\"x\")\n"
		     "print(s, len(os.listdir(d)))'",
		     t),
		  0);
	ASSERT_STREQ(out, "1225 50\n");
}

TEST_TIMEOUT(compiler_run, 120)
{
	if (access("/usr/bin/cc", X_OK))
		tap_skip("no cc");
	const char *t = test_tmpdir();
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
		 "mkdir -p %s/c && printf '#include <stdio.h>\\n#include \"x.h\"\\nint main(void){printf(\"%%%%d\\\\n\", X*2);return 3;}\\n' > %s/c/m.c && echo '#define X 21' > %s/c/x.h",
		 t, t, t);
	ASSERT_EQ(run_sh(cmd, out, sizeof(out), err, sizeof(err)), 0);
	ASSERT_EQ(sb("run -- sh -c 'cd %s/c && cc -O1 -o m m.c && ./m'", t), 3);
	ASSERT_STREQ(out, "42\n");
}

TEST(audit_records_the_real_path)
{
	const char *t = test_tmpdir();
	ASSERT_EQ(sb("run --audit %s/audit.jsonl -- sh -c 'cd %s && echo hi > rel.txt && cat rel.txt'",
		     t, t),
		  0);
	ASSERT_STREQ(out, "hi\n");
	char cmd[1024];
	/* Every line is a JSON object with the fields of SPEC §2.3; the relative name shows
	 * up resolved. */
	snprintf(cmd, sizeof(cmd),
		 "python3 -c 'import json,sys\n"
		 "n=0; seen=False\n"
		 "for l in open(\"%s/audit.jsonl\"):\n"
		 "    o=json.loads(l); n+=1\n"
		 "    assert set(o) >= {\"time\",\"pid\",\"tid\",\"comm\",\"syscall\",\"action\",\"rule\"}, o\n"
		 "    assert \"result\" in o, o\n"
		 "    if o.get(\"path\")==\"%s/rel.txt\" and \"O_CREAT\" in o.get(\"flags\",\"\"): seen=True\n"
		 "print(n>0, seen)'",
		 t, t);
	ASSERT_EQ(run_sh(cmd, out, sizeof(out), err, sizeof(err)), 0);
	ASSERT_STREQ(out, "True True\n");
}

TEST(audit_to_stderr_dash)
{
	ASSERT_EQ(sb("run --audit - -- cat /etc/hostname"), 0);
	ASSERT_TRUE(strstr(err, "\"path\":\"/etc/hostname\""));
	ASSERT_TRUE(strstr(err, "\"syscall\":\"openat\""));
}

TEST(stdout_and_stderr_files_append)
{
	const char *t = test_tmpdir();
	ASSERT_EQ(sb("run --stdout %s/o.txt --stderr %s/e.txt -- sh -c 'echo out; echo err >&2'", t, t), 0);
	ASSERT_EQ(sb("run --stdout %s/o.txt -- sh -c 'echo again'", t), 0);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "cat %s/o.txt; cat %s/e.txt; stat -c %%a %s/o.txt", t, t, t);
	ASSERT_EQ(run_sh(cmd, out, sizeof(out), err, sizeof(err)), 0);
	ASSERT_STREQ(out, "out\nagain\nerr\n644\n");
}

TEST(signals_are_forwarded)
{
	const char *t = test_tmpdir();
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "%s run -- sh -c 'trap \"exit 42\" TERM; echo ready > %s/ready; while :; do sleep 0.05; done' & "
		 "p=$!; while [ ! -s %s/ready ]; do sleep 0.02; done; kill -TERM $p; wait $p",
		 sysbroker_bin(), t, t);
	ASSERT_EQ(run_sh(cmd, out, sizeof(out), err, sizeof(err)), 42);
}

TEST(open_flags_behave_natively)
{
	const char *t = test_tmpdir();
	/* O_EXCL on an existing file, O_DIRECTORY on a file, O_NOFOLLOW on a symlink,
	 * O_CREAT through a dangling symlink, O_PATH, O_TMPFILE: same answers as native. */
	char script[4096];
	snprintf(script, sizeof(script),
		 "/usr/bin/python3 -c 'import os,errno\n"
		 "d=\"%s/fl\"; os.makedirs(d, exist_ok=True); os.chdir(d)\n"
		 "open(\"f\",\"w\").write(\"x\")\n"
		 "for n in (\"l\",\"dl\"):\n"
		 "    try: os.unlink(n)\n"
		 "    except FileNotFoundError: pass\n"
		 "os.symlink(\"f\",\"l\"); os.symlink(\"made\",\"dl\")\n"
		 "def t(p,fl):\n"
		 "    try: fd=os.open(p,fl,0o600); os.close(fd); return \"ok\"\n"
		 "    except OSError as e: return errno.errorcode[e.errno]\n"
		 "r=[t(\"f\",os.O_CREAT|os.O_EXCL|os.O_WRONLY), t(\"f\",os.O_DIRECTORY),\n"
		 "   t(\"l\",os.O_NOFOLLOW), t(\"dl\",os.O_CREAT|os.O_WRONLY), t(\"f\",os.O_PATH),\n"
		 "   t(\".\",os.O_TMPFILE|os.O_WRONLY), t(\"nope\",0), t(\"f/x\",0)]\n"
		 "print(\" \".join(r), os.path.exists(\"made\"))'",
		 t);
	ASSERT_EQ(run_sh(script, out, sizeof(out), err, sizeof(err)), 0);
	char native[1024];
	strcpy(native, out);
	snprintf(script + strlen(script), 0, "%s", "");
	char cmd[8192];
	snprintf(cmd, sizeof(cmd), "%s run -- %s", sysbroker_bin(), script);
	ASSERT_EQ(run_sh(cmd, out, sizeof(out), err, sizeof(err)), 0);
	ASSERT_STREQ(out, native);
	ASSERT_STREQ(native, "EEXIST ENOTDIR ELOOP ok ok ok ENOENT ENOTDIR True\n");
}

TEST_TIMEOUT(python_own_test_suite_same_results, 600)
{
	if (access("/usr/lib/python3.11/test/test_glob.py", R_OK))
		tap_skip("libpython3.11-testsuite is not installed");
	const char *t = test_tmpdir();
	/* CPython's own file-heavy tests: the summary must match the native run's. */
	const char *suite = "test_glob test_fnmatch test_shutil test_tempfile test_os test_fileio "
			    "test_pathlib test_posixpath test_zipfile";
	char cmd[2048], native[4096];
	snprintf(cmd, sizeof(cmd),
		 "cd %s && /usr/bin/python3 -m test %s 2>&1 | grep -E '^(Total tests|Result|Tests result)'",
		 t, suite);
	run_sh(cmd, out, sizeof(out), err, sizeof(err));
	strcpy(native, out);
	printf("# native: %s", native);
	ASSERT_TRUE(strstr(native, "SUCCESS"));
	snprintf(cmd, sizeof(cmd),
		 "cd %s && %s run -- /usr/bin/python3 -m test %s 2>&1 | grep -E '^(Total tests|Result|Tests result)'",
		 t, sysbroker_bin(), suite);
	run_sh(cmd, out, sizeof(out), err, sizeof(err));
	printf("# sysbroker: %s", out);
	ASSERT_STREQ(out, native);
}

TEST(proc_self_means_the_program)
{
	/* /proc/self resolved by the supervisor must still be the program, not us. */
	char native[4096];
	ASSERT_EQ(run_sh("ls /proc/self/fd; readlink /proc/self/exe; readlink /dev/stdout",
			 native, sizeof(native), err, sizeof(err)),
		  0);
	ASSERT_EQ(sb("run -- sh -c 'ls /proc/self/fd; readlink /proc/self/exe; readlink /dev/stdout'"),
		  0);
	ASSERT_STREQ(out, native);
	ASSERT_EQ(sb("run -- sh -c 'cat /proc/self/status' "), 0);
	ASSERT_TRUE(strstr(out, "Name:\tcat"));
}

TEST(supervisor_proc_files_are_out_of_reach)
{
	/* The program's parent is sysbroker: its status, fds and memory stay closed. */
	ASSERT_EQ(sb("run -- sh -c 'cat /proc/$PPID/status; ls /proc/$PPID/fd; "
		     "cat /proc/$PPID/mem; cd /proc/$PPID && cat environ fd/2; echo done'"),
		  0);
	ASSERT_STREQ(out, "done\n");
	ASSERT_TRUE(strstr(err, "Permission denied"));
}

TEST(missing_kernel_feature_125_one_line)
{
	/* Inside sysbroker the listener slot of the filter chain is taken (EBUSY), so the
	 * inner one finds no usable user notification: what a kernel without it looks like. */
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "%s run -- %s run -- true", sysbroker_bin(), sysbroker_bin());
	ASSERT_EQ(run_sh(cmd, out, sizeof(out), err, sizeof(err)), 125);
	ASSERT_EQ(count_lines(err), 1);
	ASSERT_TRUE(strstr(err, "sysbroker: run: this kernel (or an enclosing sandbox) lacks"));
}

TEST(program_in_its_own_pid_and_mount_namespaces)
{
	/* Its root is another mount, its pids count in another namespace, and the /proc it
	 * sees is either the host's or its own: opens resolve in its view each time, and
	 * /proc/self is the program as that /proc counts it. Repeated: workers that served
	 * one shape must serve the next correctly. */
	if (access("/usr/bin/unshare", X_OK))
		tap_skip("no unshare");
	const char *cmd = "sh -c 'cat /etc/hostname >/dev/null && head -1 /proc/self/status && "
			  "ls /proc/self/fd | wc -l'";
	for (int i = 0; i < 5; i++) {
		char native[256];
		const char *const shapes[] = {"-m", "-p -f", "-p -f --mount-proc"};
		for (size_t k = 0; k < 3; k++) {
			char c[512];
			snprintf(c, sizeof(c), "unshare %s %s", shapes[k], cmd);
			ASSERT_EQ(run_sh(c, native, sizeof(native), err, sizeof(err)), 0);
			ASSERT_EQ(sb("run -- %s", c), 0);
			if (strcmp(out, native))
				tap_fail(__FILE__, __LINE__, "unshare %s: '%s' natively, '%s' under sysbroker",
					 shapes[k], native, out);
		}
	}
}

TEST(creating_through_a_procfs_symlink_reads_the_programs_view)
{
	/* /proc/mounts is a symlink to "self/mounts" inside procfs; when an O_CREAT open
	 * follows it, "self" must still mean the program (its mount namespace has sbtest),
	 * not the supervisor. A deny rule makes the open take the checked path. */
	if (access("/usr/bin/python3", X_OK))
		tap_skip("no python3");
	ASSERT_EQ(sb("run --deny /nonexistent -- unshare -m sh -c 'mount -t tmpfs sbtest /mnt && "
		     "/usr/bin/python3 -c \"import os; fd = os.open(\\\"/proc/mounts\\\", os.O_CREAT | os.O_RDONLY); "
		     "print(\\\"sbtest\\\" in os.read(fd, 1 << 20).decode())\"'"),
		  0);
	ASSERT_STREQ(out, "True\n");
}

TEST(creating_through_a_magic_link_opens_the_file_it_holds)
{
	/* "> /dev/stdout" is an O_CREAT open through /proc/self/fd/1, whose text
	 * ("pipe:[N]") names nothing: the kernel jumps to the open file, so must we. */
	const char *T = test_tmpdir();
	ASSERT_EQ(sb("run --deny /nonexistent -- sh -c 'echo one > /dev/stdout; "
		     "echo two >> /proc/self/fd/1; echo three > /dev/fd/1'"),
		  0);
	ASSERT_STREQ(out, "one\ntwo\nthree\n");
	/* The decision is on the file reached: an fd on a denied file, handed in from
	 * outside, is not reopened for writing through its magic link (native: it is). */
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "echo secret > %s/d && sh -c 'echo x > /proc/self/fd/3' 3<%s/d && cat %s/d",
		 T, T, T);
	ASSERT_EQ(run_sh(cmd, out, sizeof(out), err, sizeof(err)), 0);
	ASSERT_STREQ(out, "x\n");
	ASSERT_NE(sb("run --deny %s/d -- sh -c 'echo y > /proc/self/fd/3' 3<%s/d", T, T), 0);
	snprintf(cmd, sizeof(cmd), "cat %s/d", T);
	ASSERT_EQ(run_sh(cmd, out, sizeof(out), err, sizeof(err)), 0);
	ASSERT_STREQ(out, "x\n");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", T);
	run_sh(cmd, out, sizeof(out), err, sizeof(err));
}

TEST(another_process_pipe_is_not_reached_through_its_fd_link)
{
	/* A process outside the sandbox, of the same uid, holds a pipe. Natively (no
	 * Landlock) a program may open it through /proc/PID/fd/N; under sysbroker with fs
	 * rules its Landlock domain would keep it from that process, and the supervisor's
	 * walk must not lend a way around: refused. A file there is decided by its path,
	 * and the program's own pipe is reached as before. */
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
		 "printf abcdef | { exec 5<&0; sleep 30 3<&5 4</dev/zero & P=$!; sleep 0.3; "
		 "echo native; head -c 2 /proc/$P/fd/3 && echo read; "
		 "%s run --deny /nonexistent -- sh -c \"head -c 2 /proc/$P/fd/3 && echo read; "
		 "head -c 1 /proc/$P/fd/4 | tr '\\\\0' Z; head -c 2 /proc/self/fd/0 && echo own\"; "
		 "kill $P; }",
		 sysbroker_bin());
	run_sh(cmd, out, sizeof(out), err, sizeof(err));
	ASSERT_STREQ(out, "native\nabread\nZcdown\n");
	ASSERT_TRUE(strstr(err, "Permission denied") != NULL);
}

TEST(opens_run_with_the_programs_identity)
{
	/* A root supervisor must not lend its privileges: an unprivileged program cannot
	 * open /etc/shadow under sysbroker either; its umask shapes what it creates; and
	 * root programs served by the same workers afterwards are root again. */
	if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK))
		tap_skip("needs root and setpriv");
	const char *t = test_tmpdir();
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "chmod 777 %s", t);
	ASSERT_EQ(run_sh(cmd, out, sizeof(out), err, sizeof(err)), 0);
	ASSERT_EQ(sb("run -- sh -c 'setpriv --reuid=65534 --regid=65534 --clear-groups cat /etc/shadow; "
		     "echo rc=$?; umask 027; setpriv --reuid=65534 --regid=65534 --clear-groups touch %s/u; "
		     "stat -c \"%%a %%u %%g\" %s/u; head -c 4 /etc/shadow | wc -c'",
		     t, t),
		  0);
	ASSERT_STREQ(out, "rc=1\n640 65534 65534\n4\n");
	ASSERT_TRUE(strstr(err, "Permission denied"));
}

TEST(unprivileged_supervisor)
{
	/* sysbroker run by an ordinary user: the hand-off, the opens and the audit work
	 * without any privilege (the child must not inherit our non-dumpable state). */
	if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK))
		tap_skip("needs root (to become another user) and setpriv");
	const char *t = test_tmpdir();
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
		 "chmod 777 %s && setpriv --reuid=65534 --regid=65534 --clear-groups %s run --audit %s/nr.jsonl "
		 "-- sh -c 'cat /etc/hostname >/dev/null && id -u && echo x > %s/nr.txt && cat %s/nr.txt'",
		 t, sysbroker_bin(), t, t, t);
	ASSERT_EQ(run_sh(cmd, out, sizeof(out), err, sizeof(err)), 0);
	ASSERT_STREQ(out, "65534\nx\n");
	snprintf(cmd, sizeof(cmd), "grep -c '\"path\":\"%s/nr.txt\"' %s/nr.jsonl", t, t);
	ASSERT_EQ(run_sh(cmd, out, sizeof(out), err, sizeof(err)), 0);
	ASSERT_TRUE(atoi(out) >= 2);
}

TEST(a_written_file_can_be_executed_at_once)
{
	/* The supervisor's copy of a file the program opened for writing is closed before
	 * anything else happens (the audit runs after), so exec right after close does not
	 * meet ETXTBSY. */
	const char *t = test_tmpdir();
	ASSERT_EQ(sb("run --audit /dev/null --deny /nonexistent -- sh -c 'for i in $(seq 1 40); do "
		     "cp /bin/true %s/x$i && %s/x$i || exit 1; done; echo ok'",
		     t, t),
		  0);
	ASSERT_STREQ(out, "ok\n");
}

TEST(no_capabilities_lent_to_a_user_namespace_root)
{
	/* An unprivileged program that makes a user namespace of its own holds every
	 * capability there, none over our files: opens emulated for it must not use ours. */
	if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK))
		tap_skip("needs root and setpriv");
	const char *b = getenv("SB_BUILDDIR");
	if (!b)
		tap_skip("SB_BUILDDIR not set");
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "setpriv --reuid=65534 --regid=65534 --clear-groups %s/tests/integration/userns-open",
		 b);
	char native[64];
	ASSERT_EQ(run_sh(cmd, native, sizeof(native), err, sizeof(err)), 0);
	ASSERT_STREQ(native, "EACCES\n");
	ASSERT_EQ(sb("run -- %s", cmd), 0);
	ASSERT_STREQ(out, "EACCES\n");
}

/* ---- the program's own magic links, once it is not dumpable ---- */

/* The whole of a small file (static buffer; "" if unreadable). */
static const char *read_text(const char *path)
{
	static char buf[1 << 18];
	buf[0] = 0;
	FILE *f = fopen(path, "re");
	if (f) {
		buf[fread(buf, 1, sizeof(buf) - 1, f)] = 0;
		fclose(f);
	}
	return buf;
}

static void remove_tree(const char *t)
{
	char cmd[1100];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s.audit'", t, t);
	ASSERT_EQ(run_sh(cmd, out, sizeof(out), err, sizeof(err)), 0);
}

/*
 * T/om: own/ (0700, root) with f, w (0666) and in/g; pub/h; priv/ (0700, root) with f (0666)
 * and in/ (0777) with g (0666). Returns the helper's path, or skips.
 */
static const char *own_magic_tree(char *t, size_t size)
{
	const char *b = getenv("SB_BUILDDIR");
	if (geteuid() != 0)
		tap_skip("needs root (the helper drops to uid 65534)");
	if (!b)
		tap_skip("SB_BUILDDIR not set");
	snprintf(t, size, "%s/om", test_tmpdir());
	char cmd[2048];
	snprintf(
	    cmd, sizeof(cmd),
	    "T=%s && chmod 755 %s && rm -rf $T && mkdir -p $T/own/in $T/pub $T/priv/in && "
	    "echo own-f > $T/own/f && echo own-w > $T/own/w && echo own-g > $T/own/in/g && "
	    "echo pub-h > $T/pub/h && echo priv-f > $T/priv/f && echo priv-g > $T/priv/in/g && "
	    "chmod 755 $T $T/pub $T/own/in && chmod 700 $T/own $T/priv && chmod 777 $T/priv/in && "
	    "chmod 644 $T/own/f $T/own/in/g $T/pub/h && chmod 666 $T/own/w $T/priv/f $T/priv/in/g",
	    t, test_tmpdir());
	ASSERT_EQ(run_sh(cmd, out, sizeof(out), err, sizeof(err)), 0);
	static char helper[1024];
	snprintf(helper, sizeof(helper), "%s/tests/integration/own-magic", b);
	return helper;
}

/*
 * A program that opened files as root, took uid 65534 and stopped being dumpable (runc
 * init before exec, a daemon that dropped privileges, ssh-agent) may still reach them
 * through its own /proc/self/fd/N, /dev/fd/N, /proc/PID/fd/N, a thread's, its cwd, root and
 * exe, and list its own fd directory: the kernel lets a task at its own links whatever its
 * uid, while the supervisor that resolves the path for it is another task, and without it
 * would be refused. The name itself stays closed to it (the control). Rules still decide on
 * the object reached: under allow-read of own/, w is not reopened for writing, and the
 * audit names the files, never the link. Both walks: the plain one, and the one that
 * serves redirect rules.
 */
TEST(own_magic_links_of_a_program_that_is_not_dumpable)
{
	char t[512], audit[600];
	const char *helper = own_magic_tree(t, sizeof(t));
	static const char reached[] = "by name (control): EACCES\n"
				      "/proc/self/fd/N: ok own-f\n"
				      "/dev/fd/N: ok own-f\n"
				      "/proc/thread-self/fd/N: ok own-f\n"
				      "/proc/PID/fd/N: ok own-f\n"
				      "/proc/PID/task/PID/fd/N: ok own-f\n"
				      "thread /proc/thread-self/fd/N: ok own-f\n"
				      "openat(/proc/self/fd, N): ok\n"
				      "list /proc/self/fd: ok listed entries\n"
				      "/proc/self/cwd/g: ok own-g\n"
				      "list /proc/self/cwd: ok listed entries\n"
				      "/proc/self/root/DIR/pub/h: ok pub-h\n"
				      "/proc/self/exe: ok ELF\n"
				      "stat /proc/self/fd/N: the file\n";
	char want[2048];
	snprintf(want, sizeof(want), "%s/proc/self/fd/W for writing: ok opened for writing\n",
		 reached);
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "%s own %s", helper, t);
	ASSERT_EQ(run_sh(cmd, out, sizeof(out), err, sizeof(err)), 0);
	ASSERT_STREQ(out, want);

	snprintf(audit, sizeof(audit), "%s.audit", t);
	snprintf(want, sizeof(want), "%s/proc/self/fd/W for writing: EACCES\n", reached);
	int r = sb("run --audit %s --allow-read %s/own -- %s own %s", audit, t, helper, t);
	if (r != 0 || strcmp(out, want))
		tap_fail(__FILE__, __LINE__, "exited %d:\n%s\nstderr:\n%s", r, out, err);

	/* The same through the walk that serves redirects (a step at a time, fs_common.c). */
	snprintf(want, sizeof(want), "%s/proc/self/fd/W for writing: ok opened for writing\n",
		 reached);
	r = sb("run --redirect %s/nothing %s/pub -- %s own %s", t, t, helper, t);
	if (r != 0 || strcmp(out, want))
		tap_fail(__FILE__, __LINE__, "with a redirect, exited %d:\n%s\nstderr:\n%s", r, out,
			 err);

	/* Each reopen through a link is decided and recorded on the file it reached. */
	const char *log = read_text(audit);
	char f[600], w[600];
	snprintf(f, sizeof(f), "\"path\":\"%s/own/f\"", t);
	snprintf(w, sizeof(w), "\"path\":\"%s/own/w\"", t);
	int reopened = 0, refused = 0;
	for (const char *l = log; *l;) {
		size_t len = strcspn(l, "\n");
		char line[4096];
		snprintf(line, sizeof(line), "%.*s",
			 (int)(len < sizeof(line) ? len : sizeof(line) - 1), l);
		if (strstr(line, f) && strstr(line, "O_NONBLOCK") &&
		    strstr(line, "\"action\":\"allow\"") && strstr(line, "\"rule\":\"cli:2\""))
			reopened++;
		if (strstr(line, w) && strstr(line, "O_WRONLY") &&
		    strstr(line, "\"action\":\"deny\"") && strstr(line, "\"errno\":\"EACCES\"") &&
		    strstr(line, "\"rule\":\"cli:2\""))
			refused++;
		if (strstr(line, "/fd/"))
			tap_fail(__FILE__, __LINE__, "a link in the audit, not its object: %s",
				 line);
		l += len + (l[len] ? 1 : 0);
	}
	if (reopened != 7 || refused != 1)
		tap_fail(__FILE__, __LINE__, "%d reopens of f, %d refusals of w recorded:\n%s",
			 reopened, refused, log);
	remove_tree(t);
}

/*
 * The attack: the same program tries the fd, cwd and fd directory of other tasks that are not
 * dumpable, one of another uid and one of its own, each holding a file and a directory that
 * only those links lead to. The kernel refuses it (the control), and so must we: the step
 * we take with our own identity is for the program's own links only. A dumpable victim of
 * its uid shows the files are there to be read when the kernel does allow the links.
 */
TEST(other_tasks_magic_links_stay_closed)
{
	char t[512];
	const char *helper = own_magic_tree(t, sizeof(t));
	static const char closed[] = "  /proc/V/fd/N: EACCES\n"
				     "  /proc/V/task/V/fd/N: EACCES\n"
				     "  /proc/V/cwd/g: EACCES\n"
				     "  list /proc/V/cwd: EACCES\n"
				     "  list /proc/V/fd: EACCES\n";
	char want[2048];
	snprintf(want, sizeof(want),
		 "victim uid 1000, not dumpable:\n%s"
		 "victim uid 65534, not dumpable:\n%s"
		 "victim uid 65534, dumpable:\n"
		 "  /proc/V/fd/N: ok priv-f\n"
		 "  /proc/V/task/V/fd/N: ok priv-f\n"
		 "  /proc/V/cwd/g: ok priv-g\n"
		 "  list /proc/V/cwd: ok listed entries\n"
		 "  list /proc/V/fd: ok listed entries\n",
		 closed, closed);
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "%s attack %s", helper, t);
	ASSERT_EQ(run_sh(cmd, out, sizeof(out), err, sizeof(err)), 0);
	ASSERT_STREQ(out, want);
	int r = sb("run --deny %s/nothing -- %s attack %s", t, helper, t);
	if (r != 0 || strcmp(out, want))
		tap_fail(__FILE__, __LINE__, "exited %d:\n%s\nstderr:\n%s", r, out, err);

	/*
	 * The attacker, in a user and mount namespace of its own, mounts its own status and ns
	 * directory over the victim's, which then read as its own. Without a filesystem rule
	 * (Landlock, which the rules bring, forbids mounting), where the walk still runs.
	 */
	snprintf(cmd, sizeof(cmd), "%s overmount %s", helper, t);
	ASSERT_EQ(run_sh(cmd, out, sizeof(out), err, sizeof(err)), 0);
	if (strstr(out, "overmount: unavailable")) {
		remove_tree(t);
		tap_skip("the rest needs user namespaces for uid 65534: %s", out);
	}
	snprintf(want, sizeof(want), "victim uid 1000, not dumpable:\n%s", closed);
	ASSERT_STREQ(out, want);
	r = sb("run --audit /dev/null -- %s overmount %s", helper, t);
	if (r != 0 || strcmp(out, want))
		tap_fail(__FILE__, __LINE__, "overmounted, exited %d:\n%s\nstderr:\n%s", r, out,
			 err);
	remove_tree(t);
}
