/* Attack: symlinks the program makes in an allowed directory, to the protected file or its
 * directory, absolute, relative and chained. The object reached decides, not the name. */
#include <fcntl.h>
#include <unistd.h>

#include "attack.h"

int main(int argc, char **argv)
{
	atk_init(argc, argv);
	int flags = A.write ? O_WRONLY : O_RDONLY;
	const struct {
		const char *link, *target, *open;
	} v[] = {
	    {"pub/abs", atk_path("sec/f"), "pub/abs"},
	    {"pub/rel", "../sec/f", "pub/rel"},
	    {"pub/dir", "../sec", "pub/dir/f"},
	    {"pub/chain2", "../sec/f", NULL},
	    {"pub/chain1", "chain2", "pub/chain1"},
	    {"pub/loopy", "./../pub/../sec/./f", "pub/loopy"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		unlink(atk_path(v[i].link));
		if (symlink(v[i].target, atk_path(v[i].link)) < 0)
			atk_cannot("symlink in the allowed directory");
		if (v[i].open && atk_more())
			atk_fd(open(atk_path(v[i].open), flags), v[i].open);
	}
	/* Creating through a dangling symlink into the protected directory. */
	unlink(atk_path("pub/dangling"));
	if (symlink("../sec/created", atk_path("pub/dangling")) == 0 && atk_more()) {
		int fd = open(atk_path("pub/dangling"), O_WRONLY | O_CREAT, 0644);
		if (fd >= 0) {
			atk_escape("pub/dangling", "created a file in the protected directory");
			close(fd);
		}
	}
	return atk_done();
}
