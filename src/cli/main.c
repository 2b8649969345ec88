/* The sysbroker binary: subcommand dispatch, --help and --version. */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sysbroker/sysbroker.h>

void cli_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("sysbroker: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void usage(FILE *f)
{
	fputs("Usage:\n"
	      "  sysbroker run [OPTION...] [--] COMMAND [ARG...]\n"
	      "  sysbroker agent --socket PATH [--policy-dir DIR] [--default-policy NAME] [OPTION...]\n"
	      "  sysbroker check POLICY-FILE...\n"
	      "  sysbroker features [--json]\n"
	      "  sysbroker --help | --version\n"
	      "\n"
	      "Supervises system calls through seccomp user notification; see sysbroker(1)\n"
	      "and sysbroker.policy(5). 'sysbroker run --help' lists the run options.\n",
	      f);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_SB_FAILURE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		printf("sysbroker %s\n", SB_VERSION);
		return 0;
	}
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{"run", cmd_run},
		{"agent", cmd_agent},
		{"check", cmd_check},
		{"features", cmd_features},
	};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmd, cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	cli_error("unknown command '%s' (try --help)", cmd);
	return EXIT_SB_FAILURE;
}
