/* The workload of bench/run.sh: N rounds of openat+close of one file, timed, printed as
 * nanoseconds per round. Usage: openat-loop [N [PATH]] (default 200000 /etc/hostname). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
		fprintf(stderr, "openat-loop: %s: %s\n", path, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 200000;
	const char *path = argc > 2 ? argv[2] : "/etc/hostname";
	if (n <= 0) {
		fprintf(stderr, "usage: openat-loop [N [PATH]]\n");
		return 2;
	}
	/* Warm up: page in the code, the dentries and the supervisor's threads. */
	for (long i = 0; i < 1000; i++)
		if (round_trip(path) < 0)
			return 1;
	long long t0 = now_ns();
	for (long i = 0; i < n; i++)
		if (round_trip(path) < 0)
			return 1;
	long long t1 = now_ns();
	printf("%.1f\n", (double)(t1 - t0) / (double)n);
	return 0;
}
