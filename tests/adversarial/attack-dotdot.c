/* Attack: ".." from an allowed directory into the protected one, spelled every way the kernel
 * accepts: in an absolute path, from the cwd, from a dirfd, past the root, with "." and "//". */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "attack.h"

int main(int argc, char **argv)
{
	atk_init(argc, argv);
	int flags = A.write ? O_WRONLY : O_RDONLY;
	char p[4096];
	const char *abs[] = {"pub/../sec/f", "pub/./../sec/./f", "pub//..//sec//f",
			     "pub/../pub/../sec/f"};
	for (size_t i = 0; i < sizeof(abs) / sizeof(abs[0]); i++)
		if (atk_more())
			atk_fd(open(atk_path(abs[i]), flags), abs[i]);
	/* Past the root: "/.." is "/". */
	snprintf(p, sizeof(p), "/../../..%s/sec/f", A.dir);
	if (atk_more())
		atk_fd(open(p, flags), "/../../..DIR/sec/f");
	/* From the cwd. */
	if (chdir(atk_path("pub")) == 0 && atk_more())
		atk_fd(open("../sec/f", flags), "cwd ../sec/f");
	/* From a dirfd, and from a dirfd deeper down. */
	int d = open(atk_path("pub"), O_RDONLY | O_DIRECTORY);
	if (d >= 0) {
		if (atk_more())
			atk_fd(openat(d, "../sec/f", flags), "dirfd ../sec/f");
		const char *base = strrchr(A.dir, '/');
		snprintf(p, sizeof(p), "../..%s/sec/f", base ? base : "/");
		if (atk_more())
			atk_fd(openat(d, p, flags), "dirfd ../../BASE/sec/f");
		close(d);
	}
	return atk_done();
}
