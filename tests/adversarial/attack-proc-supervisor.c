/* Attack: reaching the supervisor (the program's parent under `sysbroker run`) through /proc
 * and the process calls: its memory, environment, fds, maps, root and cwd; ptrace;
 * process_vm_readv; pidfd_getfd; a signal. Natively (the control) the parent is a plain
 * process of the same root user, and all of it works. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attack.h"

static int ppid;

static void try_open(const char *fmt)
{
	const char *p = atk_subst(fmt, ppid);
	if (!atk_more())
		return;
	int fd = open(p, O_RDONLY);
	if (fd < 0)
		return;
	char buf[64];
	if (read(fd, buf, sizeof(buf)) >= 0 || errno == EIO) /* mem at address 0: EIO, but open */
		atk_escape(fmt, "opened the supervisor's file");
	close(fd);
}

int main(int argc, char **argv)
{
	atk_init(argc, argv);
	ppid = (int)getppid();
	const char *files[] = {
	    "/proc/N/mem",
	    "/proc/N/environ",
	    "/proc/N/maps",
	    "/proc/N/fd/0",
	    "/proc/N/fd/3",
	    "/proc/N/fd/4",
	    "/proc/N/fd/5",
	    "/proc/N/fdinfo/3",
	    "/proc/N/cmdline",
	    "/proc/N/root/etc/hostname",
	    "/proc/N/cwd/.",
	    "/proc/N/task/N/environ",
	    "/proc/self/../N/environ",
	    "/proc/thread-self/../../N/mem",
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		try_open(files[i]);
	DIR *d = opendir(atk_subst("/proc/N/fd", ppid));
	if (atk_more() && d && readdir(d))
		atk_escape("listing /proc/PPID/fd", "the supervisor's fds");
	if (d)
		closedir(d);
	/* A symlink the program makes, to the supervisor's directory. */
	unlink(atk_path("pub/sup"));
	if (symlink(atk_subst("/proc/N", ppid), atk_path("pub/sup")) == 0 && atk_more()) {
		int fd = open(atk_path("pub/sup/environ"), O_RDONLY);
		if (fd >= 0) {
			atk_escape("a symlink to /proc/PPID", "opened the supervisor's environ");
			close(fd);
		}
	}
	char buf[16];
	struct iovec l = {buf, sizeof(buf)}, r = {(void *)0x10000, sizeof(buf)};
	errno = 0;
	/* EFAULT means the access check passed and only the address was bad. */
	if (atk_more() && (process_vm_readv(ppid, &l, 1, &r, 1, 0) >= 0 || errno == EFAULT))
		atk_escape("process_vm_readv", "read access to the supervisor's memory");
	if (atk_more() && ptrace(PTRACE_SEIZE, ppid, 0, 0) == 0) {
		atk_escape("ptrace", "attached to the supervisor");
		ptrace(PTRACE_DETACH, ppid, 0, 0);
	}
	int pfd = (int)syscall(SYS_pidfd_open, ppid, 0);
	if (pfd >= 0) {
		for (int n = 0; n < 8; n++) {
			if (!atk_more())
				break;
			int fd = (int)syscall(SYS_pidfd_getfd, pfd, n, 0);
			if (fd >= 0) {
				atk_escape("pidfd_getfd", "took one of the supervisor's fds");
				close(fd);
			}
		}
		close(pfd);
	}
	if (atk_more() && kill(ppid, 0) == 0)
		atk_escape("kill(ppid, 0)", "a signal would reach the supervisor");
	return atk_done();
}
