/*
 * The thread watch: two BPF programs on the raw tracepoints of thread exit and exec count,
 * per tid slot, every moment a thread id may stop naming the thread it named (the thread
 * ended, or took another tid in an exec) or its credentials were made anew (exec). The
 * counters are a read-only mapping in our memory, so the identity cache learns that a tid
 * still names the thread it read without a system call (see tcache.h).
 */
#pragma once

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A power of two above the usual pid_max (32768 or 4194304 both fold without harm: a
 * shared slot only makes an entry go stale when the other tid's thread ends). */
#define TWATCH_SLOTS 65536u

struct twatch {
	int map, prog_exit, prog_exec, link_exit, link_exec;
	const _Atomic uint64_t *count; /* TWATCH_SLOTS counters, mapped read-only */
	size_t len;
};

/*
 * Loads and attaches the programs: 0, or -errno when the kernel or our privileges do not
 * allow it (BPF raw tracepoints need CAP_BPF and CAP_PERFMON), or when our pid namespace
 * is not the initial one (the programs see tids as the initial namespace numbers them,
 * and notifications name them as ours does).
 */
int twatch_open(struct twatch **ret);
/* Whether twatch_open can work here, at a fraction of its cost (it attaches nothing). */
int twatch_probe(void);
void twatch_close(struct twatch *w);

/* The count of tid's slot; it only grows, and it has grown once tid's thread ended or
 * exec'ed after the count was read. */
static inline uint64_t twatch_count(const struct twatch *w, pid_t tid)
{
	return atomic_load_explicit(&w->count[(uint32_t)tid & (TWATCH_SLOTS - 1)],
				    memory_order_acquire);
}
