/* Integration tests of `sysbroker run --learn FILE`: a real run is learnt, and the written
 * policy, fed back with "default deny", lets the same run pass and nothing else through. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runcmd.h"
#include "tap.h"

static char out[1 << 16], err[1 << 16];
static const char *T;

#define sh(...) run_shf(out, sizeof(out), err, sizeof(err), __VA_ARGS__)

/* A small job: reads input, sorts, writes results and a temporary file, makes a directory,
 * lists it, reads its own /proc entry; and builds and runs a C program when cc is there. Its
 * temporary files go to its own directory (TMPDIR), so that "other" stays untouched. */
static const char *job(void)
{
	static char j[4096];
	snprintf(j, sizeof(j),
		 "sh -c 'cd %s/work && export TMPDIR=$PWD && sort in.txt > out.txt && cat out.txt "
		 "&& mkdir -p d && "
		 "echo x > d/y && t=$(mktemp -p .) && echo tmp > $t && rm $t && ls d && "
		 "grep -c ^Name: /proc/self/status && "
		 "if [ -x /usr/bin/cc ]; then cc -o hello hello.c && ./hello; else echo hi; fi'",
		 T);
	return j;
}

static void setup(void)
{
	T = test_tmpdir();
	ASSERT_EQ(sh("mkdir -p %s/work %s/other && printf 'b\\na\\n' > %s/work/in.txt && "
		     "printf '#include <stdio.h>\\nint main(void){puts(\"hi\");return 0;}\\n' > "
		     "%s/work/hello.c && echo other > %s/other/f",
		     T, T, T, T, T),
		  0);
}

TEST_TIMEOUT(learnt_policy_lets_the_same_run_pass_under_default_deny, 120)
{
	setup();
	/* Natively, for the expected output. */
	ASSERT_EQ(sh("%s", job()), 0);
	static char native[sizeof(out)];
	snprintf(native, sizeof(native), "%s", out);
	ASSERT_EQ(sh("rm -rf %s/work/d %s/work/out.txt %s/work/hello", T, T, T), 0);

	ASSERT_EQ(sh("%s run --learn %s/learnt.policy -- %s", sysbroker_bin(), T, job()), 0);
	ASSERT_STREQ(out, native);
	ASSERT_EQ(sh("cat %s/learnt.policy", T), 0);
	printf("# learnt:\n");
	for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n"))
		printf("#   %s\n", l);
	/* It is a policy as sysbroker check understands it. */
	ASSERT_EQ(sh("%s check %s/learnt.policy", sysbroker_bin(), T), 0);
	ASSERT_TRUE(strstr(out, "default deny"));

	/* Control: "default deny" alone stops the job. */
	ASSERT_EQ(sh("rm -rf %s/work/d %s/work/out.txt %s/work/hello", T, T, T), 0);
	ASSERT_NE(sh("%s run --default deny -- %s", sysbroker_bin(), job()), 0);
	/* The learnt policy lets it pass, the same. */
	ASSERT_EQ(sh("rm -rf %s/work/d %s/work/out.txt %s/work/hello", T, T, T), 0);
	ASSERT_EQ(sh("%s run --policy %s/learnt.policy -- %s", sysbroker_bin(), T, job()), 0);
	ASSERT_STREQ(out, native);
	/* And what the job never touched stays out of reach. */
	ASSERT_NE(sh("%s run --policy %s/learnt.policy -- cat %s/other/f", sysbroker_bin(), T, T),
		  0);
	ASSERT_TRUE(strstr(err, "Permission denied"));
	sh("rm -rf %s", T);
}

TEST(what_the_policy_refused_is_not_learnt)
{
	setup();
	ASSERT_EQ(sh("%s run --deny %s/other --learn %s/l.policy -- sh -c 'cat %s/other/f; "
		     "cat %s/work/in.txt'",
		     sysbroker_bin(), T, T, T, T),
		  0);
	ASSERT_EQ(sh("cat %s/l.policy", T), 0);
	ASSERT_TRUE(!strstr(out, "/other"));
	ASSERT_TRUE(strstr(out, "/work/in.txt"));
	sh("rm -rf %s", T);
}

TEST(an_unwritable_learn_file_fails_before_the_program_runs)
{
	ASSERT_EQ(
	    sh("%s run --learn /nonexistent/dir/l.policy -- sh -c 'echo ran'", sysbroker_bin()),
	    125);
	ASSERT_STREQ(out, "");
	ASSERT_EQ(count_lines(err), 1);
	ASSERT_TRUE(strstr(err, "sysbroker: learn: /nonexistent/dir/l.policy:"));
}
