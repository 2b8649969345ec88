/* Builds the BPF program a spawned tree runs under: notify exactly the syscalls that have a
 * handler, kill any non-native architecture, and make io_uring unavailable. */
#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine.h"
#include "macros.h"

static void ctx_releasep(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}

int filter_build(const bool *notify_nrs, struct sock_fprog *ret)
{
	_cleanup_(ctx_releasep) scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return -ENOMEM;
	/*
	 * i386 (int 0x80) and x32 enter with other syscall numbers that our rules do not
	 * cover; the whole process dies instead of bypassing the policy. libseccomp applies
	 * BADARCH to both foreign audit arches and to x32 numbers on an x86_64 filter.
	 */
	int r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (r < 0)
		return r;
	for (int nr = 0; nr < SB_MAX_NR; nr++) {
		if (!notify_nrs[nr])
			continue;
		r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, nr, 0);
		if (r < 0)
			return r;
	}
	/* io_uring performs file and socket operations that seccomp never sees. ENOSYS makes
	 * libraries fall back to ordinary syscalls, which we do see. */
	static const char *const uring[] = {"io_uring_setup", "io_uring_enter",
					    "io_uring_register"};
	for (size_t i = 0; i < ELEMENTSOF(uring); i++) {
		int nr = seccomp_syscall_resolve_name(uring[i]);
		if (nr < 0)
			continue;
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
		if (r < 0)
			return r;
	}

	/* Export the raw program through a memfd so the child installs it without libseccomp
	 * (no allocation between fork and the seccomp() call). */
	_cleanup_close_ int mfd = memfd_create("sb-bpf", MFD_CLOEXEC);
	if (mfd < 0)
		return negative_errno();
	r = seccomp_export_bpf(ctx, mfd);
	if (r < 0)
		return r;
	off_t len = lseek(mfd, 0, SEEK_END);
	if (len <= 0 || len % sizeof(struct sock_filter) != 0)
		return -EIO;
	struct sock_filter *insns = malloc(len);
	if (!insns)
		return -ENOMEM;
	if (pread(mfd, insns, len, 0) != len) {
		free(insns);
		return -EIO;
	}
	ret->filter = insns;
	ret->len = (unsigned short)(len / sizeof(struct sock_filter));
	return 0;
}

void filter_free(struct sock_fprog *prog)
{
	free(prog->filter);
	prog->filter = NULL;
	prog->len = 0;
}
