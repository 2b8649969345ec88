/* Handler families: each is a table of (syscall, handler) rows installed together. */
#pragma once

#include <stddef.h>
#include <sysbroker/sysbroker.h>

struct fs_row {
	int nr;
	sb_handler_fn fn;
};

struct fs_family {
	const char *name;
	const struct fs_row *rows;
	size_t n_rows;
};

extern const struct fs_family fs_open_family;

/* "O_WRONLY|O_CREAT|O_CLOEXEC" for open flags. */
void fs_format_open_flags(int flags, char *buf, size_t size);
