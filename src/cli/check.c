/* sysbroker check (placeholder until the subcommand lands). */
#include "cli.h"

int cmd_check(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	cli_error("check: not implemented yet");
	return EXIT_SB_FAILURE;
}
