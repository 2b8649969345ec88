/* Attack: the i386 system call entry (int 0x80) from a 64-bit process. Its numbers differ
 * (5 is open, not fstat), so a filter that only knew x86_64 numbers would let it by; the
 * filter checks the architecture first and kills the process (SIGSYS). */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>

#include "attack.h"

int main(int argc, char **argv)
{
	atk_init(argc, argv);
	/* The i386 ABI takes 32-bit pointers: put the path below 4 GiB. */
	char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT,
		       -1, 0);
	if (p == MAP_FAILED)
		atk_cannot("mmap below 4 GiB");
	strncpy(p, atk_path("sec/f"), 4095);
	long fd;
	long flags = A.write ? O_WRONLY : O_RDONLY;
	atk_more();
	__asm__ volatile("int $0x80" : "=a"(fd) : "a"(5L), "b"(p), "c"(flags), "d"(0L) : "memory");
	if (fd == -38)
		atk_cannot("no i386 emulation in this kernel");
	atk_fd(fd >= 0 ? (int)fd : -1, "int 0x80 open");
	return atk_done();
}
