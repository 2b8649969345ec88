/* Attack: a second thread rewrites the path buffer during the call, between "DIR/pub/f" and
 * "DIR/sec/f" (same length, three bytes differ). The supervisor must decide on its own copy
 * and open exactly what it decided on; a CONTINUE would let the kernel read the rewritten
 * path. */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "attack.h"

static atomic_bool stop;
static char buf[4096];
static size_t off;

static void *rewriter(void *arg)
{
	(void)arg;
	volatile char *b = buf;
	/* Each spelling is held for a short spin, so that either can be what a reader sees. */
	while (!stop) {
		b[off] = 's', b[off + 1] = 'e', b[off + 2] = 'c';
		for (volatile int i = 0; i < 200; i++)
			;
		b[off] = 'p', b[off + 1] = 'u', b[off + 2] = 'b';
		for (volatile int i = 0; i < 200; i++)
			;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	atk_init(argc, argv);
	int flags = A.write ? O_WRONLY : O_RDONLY;
	snprintf(buf, sizeof(buf), "%s", atk_path("pub/f"));
	off = strlen(buf) - strlen("pub/f");
	pthread_t t;
	pthread_create(&t, NULL, rewriter, NULL);
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
	stop = true;
	pthread_join(t, NULL);
	printf("opened=%ld\n", opened);
	return atk_done();
}
