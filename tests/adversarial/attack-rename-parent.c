/* Attack: rename of a parent during the call. (1) A thread exchanges an allowed directory
 * "pub/x" (holding a harmless f) with a symlink "pub/y" to the protected directory while the
 * other opens "pub/x/f". (2) A thread moves the protected directory itself to an allowed name
 * and back while the other opens it there: a rename must not carry it out of its rule. */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attack.h"

static atomic_bool stop;
static atomic_long moved;

static void *exchanger(void *arg)
{
	(void)arg;
	while (!stop)
		renameat2(AT_FDCWD, atk_path("pub/x"), AT_FDCWD, atk_path("pub/y"),
			  RENAME_EXCHANGE);
	return NULL;
}

static void *mover(void *arg)
{
	(void)arg;
	while (!stop) {
		if (rename(atk_path("sec"), atk_path("moved")) == 0) {
			moved++;
			rename(atk_path("moved"), atk_path("sec"));
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	atk_init(argc, argv);
	int flags = A.write ? O_WRONLY : O_RDONLY;
	mkdir(atk_path("pub/x"), 0755);
	int fd = open(atk_path("pub/x/f"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "PUBLIC\n", 7) != 7)
		atk_cannot("a directory in the allowed one");
	close(fd);
	unlink(atk_path("pub/y"));
	if (symlink("../sec", atk_path("pub/y")) < 0)
		atk_cannot("a symlink in the allowed directory");

	pthread_t t;
	pthread_create(&t, NULL, exchanger, NULL);
	long half = A.max / 2;
	while (A.tries < half && atk_more())
		atk_fd(open(atk_path("pub/x/f"), flags), "parent exchanged with a symlink");
	stop = true;
	pthread_join(t, NULL);

	stop = false;
	pthread_create(&t, NULL, mover, NULL);
	while (atk_more())
		atk_fd(open(atk_path("moved/f"), flags), "protected directory renamed");
	stop = true;
	pthread_join(t, NULL);
	printf("moved=%ld\n", (long)moved);
	return atk_done();
}
