/* Attack: every kind of change to the protected directory, which deny, hide and allow-read
 * all forbid: truncate, unlink, rename out and in, chmod, chown, utimes, xattrs, mkdir,
 * mknod, symlink, link in, create, rmdir, open with O_TRUNC. The driver also compares the
 * directory before and after. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "attack.h"

static void ok_if(bool succeeded, const char *how)
{
	if (atk_more() && succeeded)
		atk_escape(how, "changed the protected directory");
}

int main(int argc, char **argv)
{
	atk_init(argc, argv);
	const struct timespec t0[2] = {{0, 0}, {0, 0}};
	ok_if(truncate(atk_path("sec/m1"), 0) == 0, "truncate");
	ok_if(unlink(atk_path("sec/m2")) == 0, "unlink");
	ok_if(rename(atk_path("sec/m3"), atk_path("pub/m3")) == 0, "rename out");
	ok_if(chmod(atk_path("sec/m4"), 0777) == 0, "chmod");
	ok_if(utimensat(AT_FDCWD, atk_path("sec/m5"), t0, 0) == 0, "utimensat");
	ok_if(setxattr(atk_path("sec/m6"), "user.sb", "x", 1, 0) == 0, "setxattr");
	ok_if(removexattr(atk_path("sec/f"), "user.sb") == 0, "removexattr");
	ok_if(chown(atk_path("sec/m7"), 1, 1) == 0, "chown");
	ok_if(mkdir(atk_path("sec/nd"), 0755) == 0, "mkdir");
	ok_if(mknod(atk_path("sec/fifo"), S_IFIFO | 0644, 0) == 0, "mknod fifo");
	ok_if(symlink("x", atk_path("sec/sl2")) == 0, "symlink");
	ok_if(link(atk_path("pub/f"), atk_path("sec/hl")) == 0, "link in");
	ok_if(rename(atk_path("pub/g"), atk_path("sec/g")) == 0, "rename in");
	ok_if(renameat2(AT_FDCWD, atk_path("pub/h"), AT_FDCWD, atk_path("sec/m8"),
			RENAME_EXCHANGE) == 0,
	      "rename exchange");
	ok_if(rmdir(atk_path("sec/emptydir")) == 0, "rmdir");
	int fd = creat(atk_path("sec/new"), 0644);
	ok_if(fd >= 0, "creat");
	if (fd >= 0)
		close(fd);
	fd = open(atk_path("sec/m9"), O_WRONLY | O_TRUNC);
	ok_if(fd >= 0, "open O_TRUNC");
	if (fd >= 0)
		close(fd);
	return atk_done();
}
