/* Integration tests of exec under `sysbroker run`: the kernel opens an exec'd file itself, so
 * Landlock refuses it where the policy denies or hides; each case next to a native run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runcmd.h"
#include "tap.h"

static char out[1 << 16], err[1 << 16];
static const char *T;

#define sh(...) run_shf(out, sizeof(out), err, sizeof(err), __VA_ARGS__)

/* T/sec/prog and T/pub/prog are copies of echo; T/noexec/f is a plain file. */
static void tree(void)
{
	T = test_tmpdir();
	ASSERT_EQ(sh("cd %s && mkdir -p sec pub noexec && cp /bin/echo sec/prog && "
		     "cp /bin/echo pub/prog && echo data > noexec/f && echo data > sec/f",
		     T),
		  0);
}

static void cleanup(void)
{
	sh("rm -rf %s", T);
}

TEST(exec_of_a_denied_program_is_refused)
{
	tree();
	/* Control: natively it runs. */
	ASSERT_EQ(sh("%s/sec/prog RAN", T), 0);
	ASSERT_STREQ(out, "RAN\n");

	ASSERT_EQ(sh("%s run --deny %s/sec -- %s/pub/prog PUB", sysbroker_bin(), T, T), 0);
	ASSERT_STREQ(out, "PUB\n");
	ASSERT_STREQ(err, "");
	/* As the command itself: exec fails, 126 (SPEC 2.5). */
	ASSERT_EQ(sh("%s run --deny %s/sec -- %s/sec/prog RAN", sysbroker_bin(), T, T), 126);
	ASSERT_STREQ(out, "");
	ASSERT_EQ(count_lines(err), 1);
	/* From inside the program. */
	ASSERT_EQ(
	    sh("%s run --deny %s/sec -- sh -c '%s/sec/prog RAN; echo $?'", sysbroker_bin(), T, T),
	    0);
	ASSERT_STREQ(out, "126\n");
	cleanup();
}

TEST(exec_of_a_hidden_program_is_refused)
{
	tree();
	/* Landlock answers EACCES, not the ENOENT of hide: the name's existence shows, its
	 * content never runs (SECURITY.md). */
	ASSERT_EQ(
	    sh("%s run --hide %s/sec -- sh -c '%s/sec/prog RAN; echo $?'", sysbroker_bin(), T, T),
	    0);
	ASSERT_TRUE(!strstr(out, "RAN"));
	ASSERT_TRUE(!strcmp(out, "126\n") || !strcmp(out, "127\n"));
	cleanup();
}

TEST(allow_read_lets_it_run)
{
	tree();
	ASSERT_EQ(sh("%s run --default deny --allow-read / --allow-read %s/sec -- %s/sec/prog RAN",
		     sysbroker_bin(), T, T),
		  0);
	ASSERT_STREQ(out, "RAN\n");
	cleanup();
}

TEST(symlink_and_interpreter_cannot_carry_exec)
{
	tree();
	/* A symlink in an allowed place, and a script whose interpreter is denied: the kernel
	 * checks the object it opens, wherever the name was. */
	ASSERT_EQ(
	    sh("cd %s && ln -s %s/sec/prog pub/link && printf '#!%s/sec/prog\\n' > pub/script "
	       "&& chmod +x pub/script && pub/link L && pub/script",
	       T, T, T),
	    0);
	ASSERT_TRUE(strstr(out, "L\n"));
	ASSERT_TRUE(strstr(out, "pub/script"));
	ASSERT_EQ(sh("%s run --deny %s/sec -- sh -c 'cd %s/pub; ./link L; ./script; echo end'",
		     sysbroker_bin(), T, T),
		  0);
	ASSERT_STREQ(out, "end\n");
	cleanup();
}

TEST(last_match_wins_for_exec)
{
	tree();
	ASSERT_EQ(sh("%s run --deny %s --allow-read %s/pub -- sh -c '%s/pub/prog P; %s/sec/prog S; "
		     "echo end'",
		     sysbroker_bin(), T, T, T, T),
		  0);
	ASSERT_STREQ(out, "P\nend\n");
	cleanup();
}

TEST(new_programs_in_an_allowed_tree_run)
{
	/*
	 * A granted tree covers what is made in it later: a build can run what it built. (A
	 * link, not a copy: the supervisor's own copy of an emulated writable open outlives the
	 * reply by a moment, so a copy exec'd at once may meet ETXTBSY; reported, not ours.)
	 * The link goes into another directory: Landlock must not refuse it (EXDEV).
	 */
	tree();
	ASSERT_EQ(sh("%s run --default deny --allow-read / --allow %s/pub --deny %s/sec -- sh -c "
		     "'mkdir %s/pub/d && ln %s/pub/prog %s/pub/d/new && %s/pub/d/new NEW'",
		     sysbroker_bin(), T, T, T, T, T, T),
		  0);
	ASSERT_STREQ(out, "NEW\n");
	cleanup();
}

TEST(denied_tree_without_programs_costs_nothing)
{
	/* No executable under the rule, and the program cannot add one: no warning, and
	 * everything else runs. */
	tree();
	ASSERT_EQ(sh("%s run --deny %s/noexec -- sh -c 'cat %s/noexec/f; %s/pub/prog P'",
		     sysbroker_bin(), T, T, T),
		  0);
	ASSERT_STREQ(out, "P\n");
	ASSERT_TRUE(strstr(err, "Permission denied"));
	ASSERT_EQ(count_lines(err), 1);
	cleanup();
}

TEST(globstar_deny_below_a_name_refuses_exec)
{
	/* A deny of every sec at any depth below T (a double-star pattern): Landlock matches no
	 * names, so the tree is listed at start and exec is granted around every sec; a copy of the same program elsewhere runs. */
	tree();
	ASSERT_EQ(sh("mkdir -p %s/deep/er && cp -r %s/sec %s/deep/er/ && %s/deep/er/sec/prog RAN",
		     T, T, T, T),
		  0);
	ASSERT_STREQ(out, "RAN\n");
	ASSERT_EQ(sh("%s run --deny '%s/**/sec' -- sh -c '%s/deep/er/sec/prog RAN; echo $?; "
		     "%s/sec/prog RAN; echo $?; %s/pub/prog PUB'",
		     sysbroker_bin(), T, T, T, T),
		  0);
	ASSERT_STREQ(out, "126\n126\nPUB\n");
	ASSERT_TRUE(!strstr(err, "warning"));
	cleanup();
}

TEST(globstar_rules_are_named_in_one_warning)
{
	ASSERT_EQ(sh("%s run --hide '**/.no-such-name' -- echo ok", sysbroker_bin()), 0);
	ASSERT_STREQ(out, "ok\n");
	ASSERT_EQ(count_lines(err), 1);
	ASSERT_TRUE(strstr(err,
			   "sysbroker: warning: exec is not refused by 'hide /**/.no-such-name' "
			   "(cli:1)"));
}

static const char *no_landlock(void)
{
	static char path[4096];
	const char *b = getenv("SB_BUILDDIR");
	if (!b)
		tap_skip("SB_BUILDDIR not set (run through meson test)");
	snprintf(path, sizeof(path), "%s/tests/integration/no-landlock", b);
	return path;
}

TEST(without_landlock_a_policy_that_needs_it_fails_closed)
{
	tree();
	ASSERT_EQ(sh("%s %s run --deny %s/sec -- true", no_landlock(), sysbroker_bin(), T), 125);
	ASSERT_EQ(count_lines(err), 1);
	ASSERT_TRUE(strstr(err,
			   "sysbroker: run: the policy refuses exec of some files, which needs "
			   "Landlock"));
	/* A policy that refuses no exec runs, with one line saying what is lost. */
	ASSERT_EQ(sh("%s %s run --deny %s/noexec -- echo ok", no_landlock(), sysbroker_bin(), T),
		  0);
	ASSERT_STREQ(out, "ok\n");
	ASSERT_EQ(count_lines(err), 1);
	ASSERT_TRUE(strstr(err, "sysbroker: warning: Landlock is not available"));
	/* No fs rule: no Landlock at all, nothing to say. */
	ASSERT_EQ(sh("%s %s run -- echo ok", no_landlock(), sysbroker_bin()), 0);
	ASSERT_STREQ(err, "");
	cleanup();
}

TEST(signals_and_ptrace_stay_inside_the_sandbox)
{
	/* Control: without fs rules the program may signal its parent, sysbroker. */
	ASSERT_EQ(sh("%s run -- sh -c 'kill -0 $PPID && echo reached'", sysbroker_bin()), 0);
	ASSERT_STREQ(out, "reached\n");
	tree();
	ASSERT_EQ(sh("%s run --deny %s/sec -- sh -c 'kill -0 $PPID && echo reached; echo end'",
		     sysbroker_bin(), T),
		  0);
	ASSERT_STREQ(out, "end\n");
	ASSERT_TRUE(strstr(err, "Operation not permitted"));
	/* Also when no exec is refused; and then the program's own mounts work as they would. */
	ASSERT_EQ(sh("%s run --deny %s/noexec -- sh -c 'kill -0 $PPID && echo reached; "
		     "unshare -m sh -c \"mount -t tmpfs x /mnt && echo mounted\"'",
		     sysbroker_bin(), T),
		  0);
	ASSERT_STREQ(out, "mounted\n");
	ASSERT_TRUE(strstr(err, "Operation not permitted"));
	/* Signals inside the sandbox still work. */
	ASSERT_EQ(sh("%s run --deny %s/sec -- sh -c 'sleep 5 & kill $! && wait $!; echo $?'",
		     sysbroker_bin(), T),
		  0);
	ASSERT_STREQ(out, "143\n");
	cleanup();
}

TEST_TIMEOUT(a_real_build_under_default_deny, 300)
{
	/* The realistic policy of the issue: system directories read-only, the work directory
	 * writable, nothing else. A multi-file C project compiles, links and runs: the compiler
	 * driver's execs (cc1, as, collect2, ld) all pass Landlock, the program built in the
	 * work directory runs. */
	if (access("/usr/bin/cc", X_OK) || access("/usr/bin/make", X_OK))
		tap_skip("no cc or make");
	tree();
	ASSERT_EQ(sh("cd %s/pub && for i in 1 2 3 4 5; do printf 'int f%%d(void){return %%d;}\\n' "
		     "$i $i > f$i.c; done && printf '#include <stdio.h>\\nint f1(void),f2(void),"
		     "f3(void),f4(void),f5(void);\\nint main(void){printf(\"%%%%d\\\\n\","
		     "f1()+f2()+f3()+f4()+f5());return 0;}\\n' > main.c && printf 'prog: "
		     "f1.o f2.o f3.o f4.o f5.o main.o\\n\\t$(CC) -o $@ $^\\n' > Makefile",
		     T),
		  0);
	ASSERT_EQ(sh("cd %s/pub && TMPDIR=%s/pub %s run --default deny --allow-read /usr "
		     "--allow-read /lib --allow-read /etc --allow-read /bin --allow %s/pub --allow "
		     "/dev/null -- sh -c 'make -s -j2 prog && ./prog'",
		     T, T, sysbroker_bin(), T),
		  0);
	ASSERT_STREQ(out, "15\n");
	/* Outside the work directory nothing may be written, nor sec/prog run. */
	ASSERT_NE(
	    sh("cd %s/pub && %s run --default deny --allow-read /usr --allow-read /lib "
	       "--allow-read /etc --allow-read /bin --allow %s/pub -- sh -c 'cp prog %s/prog2 || "
	       "%s/sec/prog RAN'",
	       T, sysbroker_bin(), T, T, T),
	    0);
	ASSERT_TRUE(!strstr(out, "RAN"));
	cleanup();
}
