/* What the lifting tests (test-lift.c, test-lift-opener.c) share: the path of their test
 * program (lift-helper.c), their skip condition, their TAP comments, and a program run under
 * a supervisor of the test's own. */
#pragma once

#include <stddef.h>

/* The static test program tests/integration/lift-helper; skips the test when not built. */
const char *lift_helper(void);
/* Skips the test unless it runs as root with setpriv and unshare; why: what root is for. */
void lift_need_root(const char *why);
/* text for the TAP log, every line a comment (a line starting "ok" would count as a test):
 * "# line", or, under a heading "# what:", "#   line". what may be NULL. */
void lift_diag(const char *what, const char *text);
/*
 * Runs argv (its executable at path) under a supervisor that is this test process, not
 * `sysbroker run` (no Landlock, a listener without WAIT_KILLABLE_RECV), with a policy of the
 * one rule of n words; its stdout and stderr go to out_path. Returns its wait status, with
 * what it printed in out (size bytes at most, NUL-terminated). Skips the test without
 * seccomp user notification.
 */
int lift_supervised(const char *const *rule, size_t n, const char *path, char *const argv[],
		    const char *out_path, char *out, size_t size);
