/* Attack: exec of a protected program (sec/prog, a copy of echo), which the kernel opens
 * itself: directly, through a symlink, with execveat from an allowed dirfd, as the
 * interpreter of a script, by fd (fexecve of what an open returned), through the dynamic
 * loader, and after chmod +x of a protected non-executable copy (pub/sec2/noexec). */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attack.h"

static char *const args[] = {"prog", "RAN", NULL};
extern char **environ;

/* Runs fn in a child: an exit status of 0 is the protected program having run. */
static void attempt(const char *how, int (*fn)(const void *), const void *arg)
{
	if (!atk_more())
		return;
	pid_t pid = fork();
	if (pid == 0) {
		fn(arg);
		_exit(127);
	}
	int st;
	if (pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0)
		atk_escape(how, "the protected program ran");
}

static int by_path(const void *p)
{
	return execv(p, args);
}

static int by_dirfd(const void *p)
{
	int d = open(atk_path("pub"), O_RDONLY | O_DIRECTORY);
	return (int)syscall(SYS_execveat, d, p, args, environ, 0);
}

static int by_fd(const void *p)
{
	int fd = open(p, O_RDONLY);
	if (fd < 0)
		fd = open(p, O_PATH);
	return (int)syscall(SYS_execveat, fd, "", args, environ, AT_EMPTY_PATH);
}

static int by_loader(const void *p)
{
	char *const la[] = {"ld.so", (char *)p, "RAN", NULL};
	return execv("/lib64/ld-linux-x86-64.so.2", la);
}

static int after_chmod(const void *p)
{
	chmod(p, 0755);
	return execv(p, args);
}

int main(int argc, char **argv)
{
	atk_init(argc, argv);
	if (A.write)
		atk_not_applicable("allow-read allows exec");
	const char *prog = atk_path("sec/prog");
	attempt("exec sec/prog", by_path, prog);
	unlink(atk_path("pub/eln"));
	if (symlink(prog, atk_path("pub/eln")) == 0)
		attempt("exec a symlink to it", by_path, atk_path("pub/eln"));
	attempt("execveat(pubfd, \"../sec/prog\")", by_dirfd, "../sec/prog");
	FILE *f = fopen(atk_path("pub/script"), "w");
	if (f) {
		fprintf(f, "#!%s\n", prog);
		fclose(f);
		chmod(atk_path("pub/script"), 0755);
		attempt("as the interpreter of a script", by_path, atk_path("pub/script"));
	}
	attempt("fexecve of an fd on it", by_fd, prog);
	attempt("through the dynamic loader", by_loader, prog);
	attempt("chmod +x of a protected copy, then exec", after_chmod,
		atk_path("pub/sec2/noexec"));
	return atk_done();
}
