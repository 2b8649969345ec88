/* Subcommands of the sysbroker binary; each returns the process exit status. */
#pragma once

#define EXIT_SB_FAILURE 125 /* sysbroker itself failed: bad option, bad policy, missing feature */
#define EXIT_CANNOT_EXEC 126
#define EXIT_NOT_FOUND 127

int cmd_run(int argc, char **argv);
int cmd_agent(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_features(int argc, char **argv);

/* One-line error on stderr, prefixed "sysbroker: ". */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
