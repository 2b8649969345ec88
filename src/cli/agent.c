/* sysbroker agent (placeholder until the subcommand lands). */
#include "cli.h"

int cmd_agent(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	cli_error("agent: not implemented yet");
	return EXIT_SB_FAILURE;
}
