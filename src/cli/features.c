/* sysbroker features (placeholder until the subcommand lands). */
#include "cli.h"

int cmd_features(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	cli_error("features: not implemented yet");
	return EXIT_SB_FAILURE;
}
