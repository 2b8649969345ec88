/* The thread watch (see twatch.h): BPF programs written as instructions, no compiler, no BTF. */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "macros.h"
#include "twatch.h"

/* CAP_PERFMON and CAP_BPF (5.8), which Debian 12's headers have, numbered here for older. */
#define CAP_PERFMON_NR 38
#define CAP_BPF_NR 39

/* The inode of the initial pid namespace (PROC_PID_INIT_INO in the kernel's proc_ns.h). */
#define PID_NS_INIT_INO 0xEFFFFFFCu

#define INSN(c, d, s, o, i) ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})
/* r_dst = address of the map's value (one array element holds every counter) */
#define LD_MAP_VALUE(dst, mapfd)                                                                   \
	INSN(BPF_LD | BPF_DW | BPF_IMM, dst, BPF_PSEUDO_MAP_VALUE, 0, mapfd), INSN(0, 0, 0, 0, 0)
/* counter[r_slot & mask] += 1, atomically; uses r1 and r_one */
#define BUMP(slot, one, mapfd)                                                                     \
	INSN(BPF_ALU64 | BPF_AND | BPF_K, slot, 0, 0, TWATCH_SLOTS - 1),                           \
		INSN(BPF_ALU64 | BPF_LSH | BPF_K, slot, 0, 0, 3), LD_MAP_VALUE(1, mapfd),           \
		INSN(BPF_ALU64 | BPF_ADD | BPF_X, 1, slot, 0, 0),                                  \
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, one, 0, 0, 1),                                   \
		INSN(BPF_STX | BPF_ATOMIC | BPF_DW, 1, one, 0, BPF_ADD)
#define RETURN_0 INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0), INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
#define CALL_PID_TGID INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_get_current_pid_tgid)

static long sys_bpf(int cmd, union bpf_attr *a)
{
	return syscall(SYS_bpf, cmd, a, sizeof(*a));
}

static int prog_load(const struct bpf_insn *insns, size_t n)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_RAW_TRACEPOINT;
	a.insns = (uintptr_t)insns;
	a.insn_cnt = (uint32_t)n;
	/* The project's own: the one helper called (bpf_get_current_pid_tgid) is not
	 * GPL-only, and raw tracepoint programs take any license. */
	a.license = (uintptr_t) "Apache-2.0";
	int fd = (int)sys_bpf(BPF_PROG_LOAD, &a);
	return fd < 0 ? negative_errno() : fd;
}

static int attach(int prog, const char *tracepoint)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.raw_tracepoint.name = (uintptr_t)tracepoint;
	a.raw_tracepoint.prog_fd = (uint32_t)prog;
	int fd = (int)sys_bpf(BPF_RAW_TRACEPOINT_OPEN, &a);
	return fd < 0 ? negative_errno() : fd;
}

static bool pid_ns_initial(void)
{
	struct stat st;
	return stat("/proc/thread-self/ns/pid", &st) == 0 && st.st_ino == PID_NS_INIT_INO;
}

static int map_create(size_t len)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_ARRAY;
	a.key_size = sizeof(uint32_t);
	a.value_size = (uint32_t)len;
	a.max_entries = 1; /* one value: the programs address it directly (BPF_PSEUDO_MAP_VALUE) */
	a.map_flags = BPF_F_MMAPABLE;
	int fd = (int)sys_bpf(BPF_MAP_CREATE, &a);
	return fd < 0 ? negative_errno() : fd;
}

static bool caps_allow(void)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) < 0)
		return false;
	uint64_t eff = d[0].effective | ((uint64_t)d[1].effective << 32);
	uint64_t bpf = 1ULL << CAP_BPF_NR, perfmon = 1ULL << CAP_PERFMON_NR;
	uint64_t admin = 1ULL << CAP_SYS_ADMIN;
	return (eff & admin) || ((eff & bpf) && (eff & perfmon));
}

int twatch_probe(void)
{
	/*
	 * What twatch_open needs, at a fraction of its cost: the capabilities its program
	 * type asks for, and an mmap-able map made for real. Loading a program is left to
	 * twatch_open: a probe at every start would pay its load and free (0.2 ms here) for
	 * nothing.
	 */
	if (!pid_ns_initial())
		return -EOPNOTSUPP;
	if (!caps_allow())
		return -EPERM;
	int map = map_create(sizeof(uint64_t));
	if (map < 0)
		return map;
	safe_close(map);
	return 0;
}

void twatch_close(struct twatch *w)
{
	if (!w)
		return;
	/* Links first: once they are closed no program runs any more. */
	safe_close(w->link_exit);
	safe_close(w->link_exec);
	safe_close(w->prog_exit);
	safe_close(w->prog_exec);
	if (w->count)
		munmap((void *)w->count, w->len);
	safe_close(w->map);
	free(w);
}

int twatch_open(struct twatch **ret)
{
	if (!pid_ns_initial())
		return -EOPNOTSUPP;
	struct twatch *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->map = w->prog_exit = w->prog_exec = w->link_exit = w->link_exec = -1;
	w->len = TWATCH_SLOTS * sizeof(uint64_t);

	int r = map_create(w->len);
	if (r < 0)
		goto fail;
	w->map = r;
	/* Read-only for us: nothing here may move a count back. */
	void *p = mmap(NULL, w->len, PROT_READ, MAP_SHARED, w->map, 0);
	if (p == MAP_FAILED)
		goto fail_errno;
	w->count = p;

	/*
	 * sched_process_exit runs in every task's do_exit, before its tid is freed: the
	 * exiting thread's slot. bpf_get_current_pid_tgid's low half is the tid as the
	 * initial pid namespace numbers it.
	 */
	const struct bpf_insn on_exit[] = {CALL_PID_TGID, BUMP(0, 2, w->map), RETURN_0};
	/*
	 * sched_process_exec(task, old_pid, bprm) runs after a successful exec made the
	 * credentials anew: the slot of the tid the thread has now (the leader's, after
	 * de_thread) and of old_pid, the tid it had, which went with the old leader and is
	 * freed without an exit of its own under that number.
	 */
	const struct bpf_insn on_exec[] = {
		INSN(BPF_ALU64 | BPF_MOV | BPF_X, 6, 1, 0, 0), /* r6 = ctx */
		CALL_PID_TGID,
		BUMP(0, 2, w->map),
		INSN(BPF_LDX | BPF_MEM | BPF_DW, 2, 6, 8, 0), /* r2 = args[1], old_pid */
		BUMP(2, 3, w->map),
		RETURN_0,
	};
	if ((r = prog_load(on_exit, ELEMENTSOF(on_exit))) < 0)
		goto fail;
	w->prog_exit = r;
	if ((r = prog_load(on_exec, ELEMENTSOF(on_exec))) < 0)
		goto fail;
	w->prog_exec = r;
	if ((r = attach(w->prog_exit, "sched_process_exit")) < 0)
		goto fail;
	w->link_exit = r;
	if ((r = attach(w->prog_exec, "sched_process_exec")) < 0)
		goto fail;
	w->link_exec = r;
	*ret = w;
	return 0;

fail_errno:
	r = negative_errno();
fail:
	twatch_close(w);
	return r;
}
