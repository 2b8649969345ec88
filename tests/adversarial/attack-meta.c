/* Attack: what deny and hide protect besides content: metadata, existence, names. stat,
 * statx, access, readlink, the listing of the protected directory, its xattrs, statfs,
 * inotify; and under hide, the protected directory's name in its parent's listing. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "attack.h"

static void ok_if(bool succeeded, const char *how)
{
	if (atk_more() && succeeded)
		atk_escape(how, "learned about the protected file");
}

int main(int argc, char **argv)
{
	atk_init(argc, argv);
	if (A.write)
		atk_not_applicable("allow-read allows reading metadata");
	bool hide = argc > 4 && !strcmp(argv[4], "hide");
	struct stat st;
	struct statx stx;
	struct statfs sfs;
	char buf[256];
	const char *f = atk_path("sec/f");
	ok_if(stat(f, &st) == 0, "stat");
	ok_if(lstat(f, &st) == 0, "lstat");
	ok_if(statx(AT_FDCWD, f, 0, STATX_BASIC_STATS, &stx) == 0, "statx");
	ok_if(access(f, F_OK) == 0, "access");
	ok_if(faccessat(AT_FDCWD, f, R_OK, AT_EACCESS) == 0, "faccessat");
	ok_if(readlink(atk_path("sec/link"), buf, sizeof(buf)) > 0, "readlink");
	ok_if(atk_listing_has(atk_path("sec"), "f"), "listing the protected directory");
	ok_if(getxattr(f, "user.sb", buf, sizeof(buf)) > 0, "getxattr");
	ok_if(listxattr(f, buf, sizeof(buf)) > 0, "listxattr");
	ok_if(statfs(f, &sfs) == 0, "statfs");
	int in = inotify_init1(IN_CLOEXEC);
	ok_if(in >= 0 && inotify_add_watch(in, f, IN_ALL_EVENTS) >= 0, "inotify_add_watch");
	if (hide)
		ok_if(atk_listing_has(A.dir, "sec"), "the hidden name in its parent's listing");
	return atk_done();
}
