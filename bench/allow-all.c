/* Baseline for the syscall-floor benchmark: runs a command under a one-instruction
 * allow-all seccomp filter, the least any seccomp-based tool makes every syscall pay. */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: allow-all COMMAND [ARG...]\n");
		return 125;
	}
	struct sock_filter insn = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = {.len = 1, .filter = &insn};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
		perror("allow-all: seccomp");
		return 125;
	}
	execvp(argv[1], argv + 1);
	perror("allow-all: exec");
	return 127;
}
