/* Attack: learn that a hidden directory exists by walking through it and back out. Where sec/
 * does not exist, "sec/../pub/f" and any symlink inside sec/ fail with ENOENT; a walk that
 * goes in and out (with "..", or with a symlink inside sec/ that leads out) and succeeds tells
 * that sec/ and its links are there, and where they lead. Every way the kernel offers: opens,
 * stat, access, readlink, creation, from the cwd, from a dirfd, through a symlink into sec/. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attack.h"

static void ok_if(bool succeeded, const char *how)
{
	if (atk_more() && succeeded)
		atk_escape(how, "walked through the hidden directory");
}

int main(int argc, char **argv)
{
	atk_init(argc, argv);
	/* deny and allow-read say nothing about existence: the walk is theirs to make. */
	if (argc <= 4 || strcmp(argv[4], "hide"))
		atk_not_applicable("only hide makes a directory absent");
	struct stat st;
	char buf[256];
	unlink(atk_path("pub/into"));
	if (symlink("../sec", atk_path("pub/into")) < 0)
		atk_cannot("symlink pub/into");
	const char *through[] = {"sec/../pub/f", "sec/emptydir/../../pub/f", "sec/./../pub/f",
				 "sec/out", "sec/outdir/f", "pub/into/../pub/f", "pub/into/out"};
	for (size_t i = 0; i < sizeof(through) / sizeof(through[0]); i++) {
		const char *p = atk_path(through[i]);
		ok_if(stat(p, &st) == 0, through[i]);
		if (atk_more())
			atk_fd(open(p, O_RDONLY), through[i]);
		ok_if(access(p, F_OK) == 0, through[i]);
	}
	ok_if(lstat(atk_path("sec/../pub/f"), &st) == 0, "lstat sec/../pub/f");
	ok_if(readlink(atk_path("sec/../pub/into"), buf, sizeof(buf)) > 0, "readlink sec/..");
	/* Creating through it: the file lands outside, in pub/. */
	int fd = open(atk_path("sec/../pub/made"), O_WRONLY | O_CREAT | O_EXCL, 0644);
	ok_if(fd >= 0, "create sec/../pub/made");
	if (fd >= 0)
		close(fd);
	ok_if(mkdir(atk_path("sec/../pub/madedir"), 0755) == 0, "mkdir sec/../pub/madedir");
	/* From a dirfd and from the cwd. */
	int d = open(atk_path("pub"), O_RDONLY | O_DIRECTORY);
	if (d >= 0) {
		ok_if(fstatat(d, "../sec/../pub/f", &st, 0) == 0, "dirfd ../sec/../pub/f");
		ok_if(fstatat(d, "../sec/out", &st, 0) == 0, "dirfd ../sec/out");
		close(d);
	}
	if (chdir(atk_path("pub")) == 0) {
		ok_if(stat("../sec/../pub/f", &st) == 0, "cwd ../sec/../pub/f");
		ok_if(stat("into/../pub/f", &st) == 0, "cwd into/../pub/f");
	}
	return atk_done();
}
