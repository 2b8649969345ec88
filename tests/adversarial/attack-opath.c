/* Attack: O_PATH descriptors. An O_PATH open needs no permission on the object natively, and
 * its fd can be reopened through /proc/self/fd/N, used as a dirfd, or linked to a new name
 * with linkat(AT_EMPTY_PATH). */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "attack.h"

int main(int argc, char **argv)
{
	atk_init(argc, argv);
	int flags = A.write ? O_WRONLY : O_RDONLY;
	char p[4096];
	int f = open(atk_path("sec/f"), O_PATH);
	if (f >= 0) {
		/* What sysbroker hands back for O_PATH is a read-only fd: try it as it is. */
		if (!A.write && atk_more())
			atk_fd(dup(f), "the O_PATH fd itself");
		snprintf(p, sizeof(p), "/proc/self/fd/%d", f);
		if (atk_more())
			atk_fd(open(p, flags), "reopen of an O_PATH fd");
		unlink(atk_path("pub/linked"));
		if (atk_more() &&
		    linkat(f, "", AT_FDCWD, atk_path("pub/linked"), AT_EMPTY_PATH) == 0)
			atk_fd(open(atk_path("pub/linked"), flags), "linkat(AT_EMPTY_PATH)");
		close(f);
	}
	int d = open(atk_path("sec"), O_PATH | O_DIRECTORY);
	if (d >= 0) {
		if (atk_more())
			atk_fd(openat(d, "f", flags), "O_PATH dirfd of the protected directory");
		close(d);
	}
	d = open(atk_path("pub"), O_PATH | O_DIRECTORY);
	if (d >= 0) {
		if (atk_more())
			atk_fd(openat(d, "../sec/f", flags), "O_PATH dirfd ../sec/f");
		close(d);
	}
	return atk_done();
}
