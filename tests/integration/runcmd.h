/* Runs a command line through /bin/sh for integration tests and captures its output. */
#pragma once

#include <stddef.h>

/* Runs sh -c cmd with stdout and stderr captured (each truncated to size-1 bytes).
 * Returns the shell's wait status decoded like a shell: exit code or 128+signal. */
int run_sh(const char *cmd, char *out, size_t outsz, char *err, size_t errsz);
/* run_sh of the command line fmt makes (16 KiB at most). Each test file defines
 * sh(...) as this with its own out and err. */
int run_shf(char *out, size_t outsz, char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* How many lines s has: its newlines. */
int count_lines(const char *s);
/* Path of the sysbroker binary under test (env SYSBROKER). */
const char *sysbroker_bin(void);
/* Creates a fresh temporary directory for the test; returns its path. */
const char *test_tmpdir(void);
