/* Runs a command line through /bin/sh for integration tests and captures its output. */
#include "runcmd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

const char *sysbroker_bin(void)
{
	const char *b = getenv("SYSBROKER");
	if (!b)
		tap_skip("SYSBROKER not set (run through meson test)");
	return b;
}

const char *test_tmpdir(void)
{
	static char dir[] = "/tmp/sb-test-XXXXXX";
	static bool made;
	if (!made && !(made = mkdtemp(dir) != NULL))
		tap_fail(__FILE__, __LINE__, "mkdtemp: %s", strerror(errno));
	return dir;
}

int run_sh(const char *cmd, char *out, size_t outsz, char *err, size_t errsz)
{
	int po[2], pe[2];
	if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0)
		tap_fail(__FILE__, __LINE__, "pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		int devnull = open("/dev/null", O_RDONLY);
		dup2(devnull, 0);
		execl("/bin/sh", "sh", "-c", cmd, NULL);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	size_t no = 0, ne = 0;
	struct pollfd pf[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
	int open_fds = 2;
	while (open_fds > 0) {
		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			if (!pf[i].revents)
				continue;
			char buf[4096];
			ssize_t n = read(pf[i].fd, buf, sizeof(buf));
			if (n <= 0) {
				close(pf[i].fd);
				pf[i].fd = -1;
				open_fds--;
				continue;
			}
			char *dst = i == 0 ? out : err;
			size_t *used = i == 0 ? &no : &ne;
			size_t cap = i == 0 ? outsz : errsz;
			if (dst && *used + 1 < cap) {
				size_t k = (size_t)n < cap - 1 - *used ? (size_t)n : cap - 1 - *used;
				memcpy(dst + *used, buf, k);
				*used += k;
			}
		}
	}
	if (out && outsz)
		out[no] = 0;
	if (err && errsz)
		err[ne] = 0;
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int run_shf(char *out, size_t outsz, char *err, size_t errsz, const char *fmt, ...)
{
	char cmd[16384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return run_sh(cmd, out, outsz, err, errsz);
}

int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}
