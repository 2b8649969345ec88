/* Attack: a second thread rewrites the path buffer during the call, between "DIR/pub/f" and
 * "DIR/sec/f" (same length, three bytes differ). The supervisor must decide on its own copy
 * and open exactly what it decided on; a CONTINUE would let the kernel read the rewritten
 * path. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "attack.h"

static char buf[4096];

int main(int argc, char **argv)
{
	atk_init(argc, argv);
	int flags = A.write ? O_WRONLY : O_RDONLY;
	snprintf(buf, sizeof(buf), "%s", atk_path("pub/f"));
	atk_rewrite_start(buf, strlen(buf) - strlen("pub/f"));
	long opened = 0;
	while (atk_more()) {
		int fd = open(buf, flags);
		opened += fd >= 0;
		atk_fd(fd, "rewritten path buffer");
		/* openat and openat2 read the path the same way; try them too. */
		if (atk_more()) {
			fd = openat(AT_FDCWD, buf, flags);
			opened += fd >= 0;
			atk_fd(fd, "rewritten path buffer (openat)");
		}
	}
	atk_rewrite_stop();
	printf("opened=%ld\n", opened);
	return atk_done();
}
