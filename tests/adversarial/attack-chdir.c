/* Attack: chdir into the protected directory, then use relative names. Under deny and hide the
 * chdir itself is refused (entering is looking in; under hide it would say the directory is
 * there); under allow-read it is allowed, and everything done from there is decided on the
 * object the cwd leads to: opens, changes. (chdir-race tries the path rewritten meanwhile.) */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attack.h"

static void ok_if(bool succeeded, const char *how, const char *what)
{
	if (atk_more() && succeeded)
		atk_escape(how, what);
}

int main(int argc, char **argv)
{
	atk_init(argc, argv);
	bool entered = chdir(atk_path("sec")) == 0;
	if (!A.write)
		ok_if(entered, "chdir", "entered the protected directory");
	if (!entered) {
		printf("chdir refused\n");
		return atk_done();
	}
	struct stat st;
	char buf[256];
	if (!A.write) {
		if (atk_more())
			atk_fd(open("f", O_RDONLY), "open f from the cwd");
		if (atk_more())
			atk_fd(openat(AT_FDCWD, "./f", O_RDONLY), "openat ./f from the cwd");
		ok_if(stat("f", &st) == 0, "stat f", "its metadata");
		ok_if(stat(".", &st) == 0, "stat .", "the directory's metadata");
		ok_if(access("f", F_OK) == 0, "access f", "its existence");
		ok_if(readlink("link", buf, sizeof(buf)) > 0, "readlink link",
		      "a symlink's target");
		DIR *d = opendir(".");
		bool listed = false;
		struct dirent *de;
		while (d && (de = readdir(d)))
			listed |= !strcmp(de->d_name, "f");
		if (d)
			closedir(d);
		ok_if(listed, "listing .", "the names inside");
		if (atk_more()) {
			pid_t pid = fork();
			if (pid == 0) {
				execl("./prog", "prog", "RAN", (char *)NULL);
				_exit(127);
			}
			int s;
			if (waitpid(pid, &s, 0) == pid && WIFEXITED(s) && !WEXITSTATUS(s))
				atk_escape("exec ./prog", "the protected program ran");
		}
	} else {
		if (atk_more())
			atk_fd(open("f", O_WRONLY), "open f for writing from the cwd");
		int fd = open("new", O_WRONLY | O_CREAT | O_EXCL, 0644);
		ok_if(fd >= 0, "create new", "a new file");
		if (fd >= 0)
			close(fd);
		ok_if(unlink("m2") == 0, "unlink m2", "a removed file");
		ok_if(mkdir("nd", 0755) == 0, "mkdir nd", "a new directory");
		ok_if(rename("m3", "m3x") == 0, "rename m3", "a renamed file");
		ok_if(chmod("m4", 0777) == 0, "chmod m4", "a changed mode");
		ok_if(symlink("x", "sl2") == 0, "symlink sl2", "a new symlink");
	}
	return atk_done();
}
