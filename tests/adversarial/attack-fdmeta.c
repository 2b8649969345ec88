/* Attack: change the protected file's metadata without a path the supervisor judges: through
 * an fd (fchmod, fchown, fsetxattr, fremovexattr, futimens and utimensat/futimesat with a NULL
 * path), which the kernel allows the file's owner on any fd, one opened read-only included;
 * and with setxattrat/removexattrat, by path and by fd. Under allow-read the file may be opened
 * for reading; under deny and hide only the path forms are left. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "attack.h"

#define NR_setxattrat 463
#define NR_removexattrat 466

struct xattr_args {
	uint64_t value;
	uint32_t size, flags;
};

static void ok_if(bool succeeded, const char *how)
{
	if (atk_more() && succeeded)
		atk_escape(how, "changed the protected file's metadata");
}

int main(int argc, char **argv)
{
	atk_init(argc, argv);
	struct xattr_args xa = {(uintptr_t) "PWNED", 5, 0};
	struct timespec ts[2] = {{1, 0}, {1, 0}};
	struct timeval tv[2] = {{2, 0}, {2, 0}};
	int fd = open(atk_path("sec/f"), O_RDONLY);
	if (fd >= 0) {
		ok_if(fchmod(fd, 0666) == 0, "fchmod of a read-only fd");
		ok_if(fchown(fd, 1, 1) == 0, "fchown of a read-only fd");
		ok_if(fsetxattr(fd, "user.pwn", "x", 1, 0) == 0, "fsetxattr");
		ok_if(fremovexattr(fd, "user.sb") == 0, "fremovexattr");
		ok_if(syscall(SYS_utimensat, fd, NULL, ts, 0) == 0, "utimensat(fd, NULL)");
		ok_if(syscall(SYS_futimesat, fd, NULL, tv) == 0, "futimesat(fd, NULL)");
		ok_if(futimens(fd, NULL) == 0, "futimens(fd, NULL)");
		ok_if(syscall(NR_setxattrat, fd, "", AT_EMPTY_PATH, "user.pwn2", &xa, sizeof(xa)) == 0,
		      "setxattrat(fd, \"\", AT_EMPTY_PATH)");
		ok_if(syscall(NR_removexattrat, fd, NULL, AT_EMPTY_PATH, "user.sb") == 0,
		      "removexattrat(fd, NULL, AT_EMPTY_PATH)");
		close(fd);
	}
	ok_if(syscall(NR_setxattrat, AT_FDCWD, atk_path("sec/m5"), 0, "user.pwn", &xa, sizeof(xa)) ==
		  0,
	      "setxattrat by path");
	ok_if(syscall(NR_removexattrat, AT_FDCWD, atk_path("sec/f"), 0, "user.sb") == 0,
	      "removexattrat by path");
	return atk_done();
}
