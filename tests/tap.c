/* TAP runner: forks one child per test, enforces its timeout, maps exit 77 to a skip. */
#include "tap.h"

#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <unistd.h>

#define TAP_MAX 256

static struct {
	const char *name;
	tap_fn fn;
	unsigned timeout;
} tests[TAP_MAX];
static unsigned n_tests;

void tap_register(const char *name, tap_fn fn, unsigned timeout_s)
{
	if (n_tests < TAP_MAX)
		tests[n_tests++] = (typeof(tests[0])){name, fn, timeout_s};
}

void tap_skip(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stdout, "# skip: ");
	vfprintf(stdout, fmt, ap);
	fprintf(stdout, "\n");
	va_end(ap);
	fflush(stdout);
	_exit(77);
}

void tap_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stdout, "# %s:%d: ", file, line);
	vfprintf(stdout, fmt, ap);
	fprintf(stdout, "\n");
	va_end(ap);
	fflush(stdout);
	_exit(1);
}

static int run_one(unsigned i, char *skipmsg, size_t skiplen)
{
	int pfd[2];
	if (pipe(pfd) < 0)
		return 1;
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		close(pfd[0]);
		/* stdout of the child goes through the pipe so a skip reason can be captured. */
		dup2(pfd[1], STDOUT_FILENO);
		close(pfd[1]);
		setpgid(0, 0);
		alarm(tests[i].timeout);
		tests[i].fn();
		fflush(stdout);
		_exit(0);
	}
	close(pfd[1]);
	char buf[4096];
	ssize_t n;
	size_t used = 0;
	skipmsg[0] = 0;
	while ((n = read(pfd[0], buf, sizeof(buf))) > 0) {
		fwrite(buf, 1, n, stdout);
		for (ssize_t k = 0; k < n && used + 1 < skiplen; k++)
			skipmsg[used++] = buf[k];
	}
	skipmsg[used] = 0;
	close(pfd[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	/* Whatever the test left behind in its process group goes too. */
	kill(-pid, SIGKILL);
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st)) {
		printf("# killed by signal %d%s\n", WTERMSIG(st),
		       WTERMSIG(st) == SIGALRM ? " (timeout)" : "");
		return 1;
	}
	return 1;
}

int tap_main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : NULL;
	unsigned failed = 0, planned = 0;
	for (unsigned i = 0; i < n_tests; i++)
		if (!only || strcmp(only, tests[i].name) == 0)
			planned++;
	printf("1..%u\n", planned);
	unsigned k = 0;
	for (unsigned i = 0; i < n_tests; i++) {
		if (only && strcmp(only, tests[i].name) != 0)
			continue;
		char out[8192];
		int rc = run_one(i, out, sizeof(out));
		k++;
		if (rc == 77) {
			const char *why = strstr(out, "# skip: ");
			char reason[256] = "skipped";
			if (why) {
				snprintf(reason, sizeof(reason), "%s", why + 8);
				reason[strcspn(reason, "\n")] = 0;
			}
			printf("ok %u - %s # SKIP %s\n", k, tests[i].name, reason);
		} else if (rc == 0) {
			printf("ok %u - %s\n", k, tests[i].name);
		} else {
			printf("not ok %u - %s\n", k, tests[i].name);
			failed++;
		}
		fflush(stdout);
	}
	return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	return tap_main(argc, argv);
}
