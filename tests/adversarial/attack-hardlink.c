/* Attack: a hard link made inside the sandbox. Link the protected file to an allowed name (the
 * same inode under a name no rule covers), directly or through a symlink that linkat follows,
 * then open it there. A link is a write to both names, so it must be refused. */
#include <fcntl.h>
#include <unistd.h>

#include "attack.h"

int main(int argc, char **argv)
{
	atk_init(argc, argv);
	int flags = A.write ? O_WRONLY : O_RDONLY;
	unlink(atk_path("pub/hl"));
	if (atk_more() && link(atk_path("sec/f"), atk_path("pub/hl")) == 0)
		atk_fd(open(atk_path("pub/hl"), flags), "link(sec/f, pub/hl)");
	unlink(atk_path("pub/sl"));
	unlink(atk_path("pub/hl2"));
	if (symlink("../sec/f", atk_path("pub/sl")) == 0 && atk_more() &&
	    linkat(AT_FDCWD, atk_path("pub/sl"), AT_FDCWD, atk_path("pub/hl2"),
		   AT_SYMLINK_FOLLOW) == 0)
		atk_fd(open(atk_path("pub/hl2"), flags), "linkat(AT_SYMLINK_FOLLOW) via a symlink");
	return atk_done();
}
