/* Attack helper: enters a user namespace of its own (where it holds every capability)
 * and tries to open a file its uid cannot read. Exit 0: refused; 1: it read it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/etc/shadow";
	if (unshare(CLONE_NEWUSER) < 0) {
		perror("userns-open: unshare");
		return 2;
	}
	int fd = open(path, O_RDONLY);
	if (fd >= 0) {
		puts("read");
		return 1;
	}
	printf("%s\n", strerrorname_np(errno));
	return 0;
}
