/* Builds the BPF program a spawned tree runs under: notify exactly the syscalls that have a
 * handler (less the calls a register value shows need none), kill any non-native
 * architecture, and make io_uring unavailable. */
#include <errno.h>
#include <pthread.h>
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

int filter_native_if_zero(sb_supervisor *s, int nr, unsigned arg)
{
	if (nr < 0 || nr >= SB_MAX_NR || arg >= 6)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	s->handlers[nr].native_if_zero |= (uint8_t)(1u << arg);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/*
 * Notify nr only when every argument named in the mask is non-zero: one rule with one
 * condition per argument (libseccomp ANDs a rule's conditions), anything else falls to the
 * default, allow. The comparison is on the register, so nothing the program can change
 * after the check is involved.
 */
static int add_notify(scmp_filter_ctx ctx, int nr, uint8_t native_if_zero)
{
	struct scmp_arg_cmp cmp[6];
	unsigned n = 0;
	for (unsigned i = 0; i < 6; i++)
		if (native_if_zero & (1u << i))
			cmp[n++] = SCMP_CMP(i, SCMP_CMP_NE, 0);
	return seccomp_rule_add_array(ctx, SCMP_ACT_NOTIFY, nr, n, cmp);
}

int filter_build(sb_supervisor *s, const bool *notify_nrs, struct sock_fprog *ret)
{
	uint8_t native_if_zero[SB_MAX_NR];
	pthread_mutex_lock(&s->lock);
	for (int nr = 0; nr < SB_MAX_NR; nr++)
		native_if_zero[nr] = s->handlers[nr].fn ? s->handlers[nr].native_if_zero : 0;
	pthread_mutex_unlock(&s->lock);

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
		r = add_notify(ctx, nr, native_if_zero[nr]);
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
