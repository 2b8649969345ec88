/* The workload of bench/agent.sh: N rounds of openat+close started together with its siblings,
 * printing when it started and ended. Usage: agent-loop N PATH READY GO
 *
 * It creates READY, waits until GO exists (polling with stat, which no supervisor here
 * intercepts), makes 200 warm-up rounds, then times N rounds of openat(PATH)+close and
 * prints "T0 T1 N" (CLOCK_MONOTONIC ns; one clock for every container, as no time namespace
 * is used). Built static so that it runs alone in a container's empty rootfs. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int round_trip(const char *path)
{
	int fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "agent-loop: %s: %s\n", path, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 5 || strtol(argv[1], NULL, 10) <= 0) {
		fprintf(stderr, "usage: agent-loop N PATH READY GO\n");
		return 2;
	}
	long n = strtol(argv[1], NULL, 10);
	const char *path = argv[2];
	int fd = open(argv[3], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "agent-loop: %s: %s\n", argv[3], strerror(errno));
		return 1;
	}
	close(fd);
	struct stat st;
	struct timespec ms = {0, 1000000};
	while (stat(argv[4], &st) < 0)
		nanosleep(&ms, NULL);
	for (int i = 0; i < 200; i++)
		if (round_trip(path) < 0)
			return 1;
	long long t0 = now_ns();
	for (long i = 0; i < n; i++)
		if (round_trip(path) < 0)
			return 1;
	long long t1 = now_ns();
	printf("%lld %lld %ld\n", t0, t1, n);
	return 0;
}
