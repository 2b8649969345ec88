/* Attack: chdir cannot be emulated (no call sets another process's cwd), so the kernel reads the
 * path again after sysbroker decided on its copy. A second thread rewrites it between "DIR/pub"
 * and "DIR/sec" meanwhile, so the process may land in sec/; from there it asks where it is
 * (getcwd), opens a relative name and lists ".". The process must never get an answer from
 * inside sec/: it is killed at its next intercepted call. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "attack.h"

static char buf[4096];

int main(int argc, char **argv)
{
	atk_init(argc, argv);
	if (A.write)
		atk_not_applicable("allow-read lets the program into the directory");
	const char *sec = atk_path("sec");
	snprintf(buf, sizeof(buf), "%s", atk_path("pub"));
	atk_rewrite_start(buf, strlen(buf) - strlen("pub"));
	long entered = 0;
	while (atk_more()) {
		if (chdir(buf) < 0)
			continue;
		entered++;
		char cwd[4096];
		if (getcwd(cwd, sizeof(cwd)) && !strcmp(cwd, sec))
			atk_escape("getcwd after a rewritten chdir", "the cwd is the protected directory");
		atk_fd(open("f", O_RDONLY), "relative open after a rewritten chdir");
		if (atk_listing_has(".", "m1"))
			atk_escape("listing . after a rewritten chdir", "the protected names");
	}
	atk_rewrite_stop();
	printf("entered=%ld\n", entered);
	return atk_done();
}
