/* Attack: dup2 over a checked dirfd during openat. A second thread keeps putting, at one fd
 * number, first the allowed directory (where "sec/f" is a harmless file) and then its parent
 * (where "sec/f" is the protected file). The supervisor must resolve from the object it took
 * out of the program (pidfd_getfd) and open from that same object. */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include "attack.h"

#define N 200

static atomic_bool stop;
static int pubfd, topfd;

static void *swapper(void *arg)
{
	(void)arg;
	while (!stop) {
		dup2(pubfd, N);
		dup2(topfd, N);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	atk_init(argc, argv);
	int flags = A.write ? O_WRONLY : O_RDONLY;
	pubfd = open(atk_path("pub"), O_RDONLY | O_DIRECTORY);
	topfd = open(A.dir, O_RDONLY | O_DIRECTORY);
	if (pubfd < 0 || topfd < 0)
		atk_cannot("open the directories");
	dup2(pubfd, N);
	pthread_t t;
	pthread_create(&t, NULL, swapper, NULL);
	long opened = 0;
	while (atk_more()) {
		int fd = openat(N, "sec/f", flags);
		opened += fd >= 0;
		atk_fd(fd, "dup2 over the dirfd");
	}
	stop = true;
	pthread_join(t, NULL);
	printf("opened=%ld\n", opened);
	return atk_done();
}
