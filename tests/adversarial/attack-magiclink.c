/* Attack: magic links. /proc/self/fd/N, /dev/fd/N and /proc/self/cwd lead to objects, not
 * names: "fd-of-allowed-dir/../sec/f", the cwd after a chdir into the protected directory,
 * /proc/self/root, and (write goal) reopening a read-only fd for writing through
 * /proc/self/fd/N. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "attack.h"

int main(int argc, char **argv)
{
	atk_init(argc, argv);
	int flags = A.write ? O_WRONLY : O_RDONLY;
	char p[4096];
	int d = open(atk_path("pub"), O_RDONLY | O_DIRECTORY);
	if (d < 0)
		atk_cannot("open the allowed directory");
	const char *via[] = {"/proc/self/fd/N/../sec/f", "/dev/fd/N/../sec/f",
			     "/proc/thread-self/fd/N/../sec/f"};
	for (size_t i = 0; i < sizeof(via) / sizeof(via[0]); i++)
		if (atk_more())
			atk_fd(open(atk_subst(via[i], d), flags), via[i]);
	snprintf(p, sizeof(p), "/proc/self/root%s/sec/f", A.dir);
	if (atk_more())
		atk_fd(open(p, flags), "/proc/self/root/DIR/sec/f");
	snprintf(p, sizeof(p), "/proc/%d/cwd/../sec/f", (int)getpid());
	if (chdir(atk_path("pub")) == 0 && atk_more())
		atk_fd(open(p, flags), "/proc/PID/cwd/../sec/f");
	/* chdir itself is not refused (SECURITY.md): what the cwd then leads to is. */
	if (chdir(atk_path("sec")) == 0) {
		if (atk_more())
			atk_fd(open("/proc/self/cwd/f", flags), "/proc/self/cwd/f");
		if (atk_more())
			atk_fd(open("/proc/thread-self/cwd/f", flags), "/proc/thread-self/cwd/f");
	}
	if (A.write) {
		/* Allowed to read: may the read-only fd be reopened for writing? */
		int r = open(atk_path("sec/f"), O_RDONLY);
		if (r >= 0) {
			snprintf(p, sizeof(p), "/proc/self/fd/%d", r);
			if (atk_more())
				atk_fd(open(p, O_WRONLY), "reopen /proc/self/fd/N for writing");
			snprintf(p, sizeof(p), "/dev/fd/%d", r);
			if (atk_more())
				atk_fd(open(p, O_RDWR), "reopen /dev/fd/N for writing");
			close(r);
		}
	}
	return atk_done();
}
