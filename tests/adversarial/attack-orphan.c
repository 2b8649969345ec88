/* Fail-closed check, run by the test driver: a grandchild that outlives the supervisor. The
 * program forks it and waits; it announces "ready" and blocks on a FIFO. The driver then kills
 * sysbroker (the program dies with it: PDEATHSIG) and writes to the FIFO; the grandchild,
 * unsupervised, tries to open the protected and an allowed file. Every intercepted call must
 * now fail (ENOSYS), never run. argv: DIR. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	char fifo[4096], sec[4096], pub[4096];
	snprintf(fifo, sizeof(fifo), "%s/pub/fifo", argv[1]);
	snprintf(sec, sizeof(sec), "%s/sec/f", argv[1]);
	snprintf(pub, sizeof(pub), "%s/pub/f", argv[1]);
	setvbuf(stdout, NULL, _IONBF, 0);
	int w = open(fifo, O_RDWR); /* opened while supervised; RDWR never blocks */
	if (w < 0)
		return 2;
	if (fork() == 0) {
		printf("ready\n");
		char c;
		if (read(w, &c, 1) != 1) /* read is not intercepted */
			return 2;
		int fd = open(sec, O_RDONLY);
		char buf[64] = "";
		if (fd >= 0 && read(fd, buf, sizeof(buf) - 1) > 0)
			printf("sec=read:%s", buf);
		else
			printf("sec=%s\n", fd < 0 ? strerrorname_np(errno) : "empty");
		fd = open(pub, O_RDONLY);
		printf("pub=%s\n", fd < 0 ? strerrorname_np(errno) : "opened");
		return 0;
	}
	for (;;)
		pause(); /* until the supervisor's death kills us */
}
