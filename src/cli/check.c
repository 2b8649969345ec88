/* sysbroker check: reads policy files and prints their rules as understood, in order. */
#include <stdio.h>
#include <string.h>

#include <sysbroker/sysbroker.h>

#include "cli.h"
#include "macros.h"

static void policy_freep(sb_policy **p)
{
	sb_policy_free(*p);
}

static void check_usage(FILE *f)
{
	fputs("Usage: sysbroker check POLICY-FILE...\n"
	      "\n"
	      "Reads the policy files in order, as --policy would, and prints every rule as\n"
	      "understood (includes expanded, patterns normalised, addresses canonical), one a\n"
	      "line prefixed with where it was written. Exits 0 when all is well, 125 on the\n"
	      "first error, which is printed as FILE:LINE: message. See sysbroker.policy(5).\n",
	      f);
}

int cmd_check(int argc, char **argv)
{
	_cleanup_(policy_freep) sb_policy *p = NULL;
	_cleanup_free_ char *dump = NULL;
	char err[2048];
	int first = 1, r;

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		check_usage(stdout);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--"))
		first = 2;
	else if (argc > 1 && argv[1][0] == '-' && argv[1][1])
		/* No options yet; say so rather than look for a file named "--foo". */
		return cli_error("check: unknown option '%s' (try --help)", argv[1]),
		       EXIT_SB_FAILURE;
	if (first >= argc) {
		cli_error("check: no policy file given (usage: sysbroker check POLICY-FILE...)");
		return EXIT_SB_FAILURE;
	}

	r = sb_policy_new(&p);
	if (r < 0) {
		cli_error("check: %s", strerror(-r));
		return EXIT_SB_FAILURE;
	}
	for (int i = first; i < argc; i++) {
		err[0] = 0;
		r = sb_policy_load_file(p, argv[i], err, sizeof(err));
		if (r < 0) {
			if (err[0])
				cli_error("%s", err);
			else
				cli_error("%s: %s", argv[i], strerror(-r));
			return EXIT_SB_FAILURE;
		}
	}

	dump = sb_policy_dump(p);
	if (!dump) {
		cli_error("check: %s", strerror(ENOMEM));
		return EXIT_SB_FAILURE;
	}
	fputs(dump, stdout);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error("check: cannot write the rules: %s", strerror(errno));
		return EXIT_SB_FAILURE;
	}
	return 0;
}
