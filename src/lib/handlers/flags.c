/* Decoding of flag words into names for audit lines. Pure. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "fs.h"

void fs_format_open_flags(int flags, char *buf, size_t size)
{
	static const struct {
		int bit;
		const char *name;
	} names[] = {
		{O_CREAT, "O_CREAT"},         {O_EXCL, "O_EXCL"},         {O_NOCTTY, "O_NOCTTY"},
		{O_TRUNC, "O_TRUNC"},         {O_APPEND, "O_APPEND"},     {O_NONBLOCK, "O_NONBLOCK"},
		{O_DSYNC, "O_DSYNC"},         {O_DIRECT, "O_DIRECT"},     {O_LARGEFILE, "O_LARGEFILE"},
		{O_NOFOLLOW, "O_NOFOLLOW"},   {O_NOATIME, "O_NOATIME"},   {O_CLOEXEC, "O_CLOEXEC"},
		{O_PATH, "O_PATH"},           {O_SYNC & ~O_DSYNC, "O_SYNC"},       {O_TMPFILE & ~O_DIRECTORY, "O_TMPFILE"},
		{O_DIRECTORY, "O_DIRECTORY"}, {FASYNC, "O_ASYNC"},
	};
	const char *acc = (flags & O_ACCMODE) == O_WRONLY ? "O_WRONLY"
			  : (flags & O_ACCMODE) == O_RDWR ? "O_RDWR"
							  : "O_RDONLY";
	int n = snprintf(buf, size, "%s", acc);
	int rest = flags & ~O_ACCMODE;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && n >= 0 && (size_t)n < size; i++) {
		if ((rest & names[i].bit) != names[i].bit)
			continue;
		rest &= ~names[i].bit;
		n += snprintf(buf + n, size - n, "|%s", names[i].name);
	}
	if (rest && n >= 0 && (size_t)n < size)
		snprintf(buf + n, size - n, "|0x%x", (unsigned)rest);
}
