/* Network load for bench/net.sh: a TCP sink, a bulk sender and a connection-rate client.
 *
 *   net-load sink PORT [READY-FILE]  accepts forever; reads each connection to EOF, closes
 *   net-load bulk HOST PORT MB       sends MB MiB on one connection; prints MiB/s
 *   net-load sendbulk HOST PORT MB   the same with send(2), 4 KiB at a time
 *   net-load rate HOST PORT N        N connections (connect, close); prints connections/s
 *
 * Plain blocking sockets and write(2): after the connect, the data path of a brokered or
 * published connection is the kernel's own, which is what this measures against native.
 * send(2) is sendto without an address: sysbroker's filter leaves it to the kernel too, which
 * sendbulk shows (each call would otherwise be a round trip through sysbroker). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4; the project defines it, a plain cc does not */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int dial(const char *host, int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
		return -1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("net-load: connect");
		exit(1);
	}
	return fd;
}

static int sink(int port, const char *ready)
{
	int l = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1, zero = 0;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 4096) < 0) {
		perror("net-load: listen");
		return 1;
	}
	if (ready)
		close(open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	static char buf[1 << 18];
	for (;;) {
		int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		while (read(c, buf, sizeof(buf)) > 0)
			;
		close(c);
	}
}

static int bulk(const char *host, int port, long mb, bool use_send)
{
	static char buf[1 << 18];
	memset(buf, 'x', sizeof(buf));
	int fd = dial(host, port);
	long total = mb << 20, sent = 0;
	double t0 = now();
	while (sent < total) {
		ssize_t n = use_send ? send(fd, buf, 4 << 10, 0) : write(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			perror("net-load: write");
			return 1;
		}
		sent += n;
	}
	/* Until the sink has read it all: it closes only at EOF. */
	shutdown(fd, SHUT_WR);
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	double dt = now() - t0;
	printf("%.1f\n", (double)mb / dt);
	return 0;
}

static int rate(const char *host, int port, long n)
{
	char b;
	double t0 = now();
	for (long i = 0; i < n; i++) {
		int fd = dial(host, port);
		shutdown(fd, SHUT_WR);
		(void)!read(fd, &b, 1); /* the sink's close: the connection was accepted */
		close(fd);
	}
	printf("%.0f\n", (double)n / (now() - t0));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "sink"))
		return sink(atoi(argv[2]), argc > 3 ? argv[3] : NULL);
	if (argc == 5 && !strcmp(argv[1], "bulk"))
		return bulk(argv[2], atoi(argv[3]), atol(argv[4]), false);
	if (argc == 5 && !strcmp(argv[1], "sendbulk"))
		return bulk(argv[2], atoi(argv[3]), atol(argv[4]), true);
	if (argc == 5 && !strcmp(argv[1], "rate"))
		return rate(argv[2], atoi(argv[3]), atol(argv[4]));
	fprintf(stderr, "usage: net-load sink PORT [READY] | bulk|sendbulk HOST PORT MB | "
			"rate HOST PORT N\n");
	return 2;
}
