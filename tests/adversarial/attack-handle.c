/* Attack: file handles. name_to_handle_at gives a handle for the protected file, and
 * open_by_handle_at opens it with no path at all (CAP_DAC_READ_SEARCH, which root has). A
 * handle can also be known beforehand: the control passes one in (argv[4], hex), as a leak
 * or a guess would. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attack.h"

static void try_handle(struct file_handle *h, const char *how)
{
	int flags = A.write ? O_WRONLY : O_RDONLY;
	int m = open(atk_path("pub"), O_RDONLY | O_DIRECTORY); /* any fd on the filesystem */
	if (m < 0)
		return;
	if (atk_more())
		atk_fd(open_by_handle_at(m, h, flags), how);
	close(m);
}

int main(int argc, char **argv)
{
	atk_init(argc, argv);
	union {
		struct file_handle h;
		char space[sizeof(struct file_handle) + MAX_HANDLE_SZ];
	} u;
	int mount_id;
	u.h.handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(AT_FDCWD, atk_path("sec/f"), &u.h, &mount_id, 0) == 0)
		try_handle(&u.h, "name_to_handle_at + open_by_handle_at");
	if (argc > 4) {
		/* TYPE:HEX, taken natively by the test driver. */
		const char *hex = strchr(argv[4], ':');
		if (hex) {
			u.h.handle_type = atoi(argv[4]);
			size_t n = strlen(++hex) / 2;
			if (n <= MAX_HANDLE_SZ) {
				u.h.handle_bytes = (unsigned)n;
				for (size_t i = 0; i < n; i++)
					sscanf(hex + 2 * i, "%2hhx",
					       (unsigned char *)&u.h.f_handle[i]);
				try_handle(&u.h, "a known handle");
			}
		}
	}
	return atk_done();
}
