/* Runs a command where Landlock looks absent: landlock_create_ruleset fails with ENOSYS, as on
 * a kernel built without it (a plain filter, no listener, so sysbroker can still run inside). */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <unistd.h>

#include "compat.h"

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs("usage: no-landlock COMMAND [ARG...]\n", stderr);
		return 125;
	}
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SYS_landlock_create_ruleset, 0) < 0 ||
	    seccomp_load(ctx) < 0) {
		perror("no-landlock: seccomp");
		return 125;
	}
	seccomp_release(ctx);
	execvp(argv[1], argv + 1);
	perror("no-landlock: exec");
	return 127;
}
