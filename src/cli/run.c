/* sysbroker run (placeholder until the subcommand lands). */
#include "cli.h"

int cmd_run(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	cli_error("run: not implemented yet");
	return EXIT_SB_FAILURE;
}
