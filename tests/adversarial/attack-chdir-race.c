/* Attack: chdir cannot be emulated (no call sets another process's cwd), so the kernel reads the
 * path again after sysbroker decided on its copy. A second thread rewrites it between "DIR/pub"
 * and "DIR/sec" meanwhile, so the process may land in sec/; from there it asks where it is
 * (getcwd), opens a relative name and lists ".". The process must never get an answer from
 * inside sec/: it is killed at its next intercepted call. */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "attack.h"

static atomic_bool stop;
static char buf[4096];
static size_t off;

static void *rewriter(void *arg)
{
	(void)arg;
	volatile char *b = buf;
	/* Each spelling is held for a short spin, so that either can be what a reader sees. */
	while (!stop) {
		b[off] = 's', b[off + 1] = 'e', b[off + 2] = 'c';
		for (volatile int i = 0; i < 200; i++)
			;
		b[off] = 'p', b[off + 1] = 'u', b[off + 2] = 'b';
		for (volatile int i = 0; i < 200; i++)
			;
	}
	return NULL;
}

static bool listing_has(const char *name)
{
	DIR *d = opendir(".");
	bool seen = false;
	struct dirent *de;
	while (d && (de = readdir(d)))
		seen |= !strcmp(de->d_name, name);
	if (d)
		closedir(d);
	return seen;
}

int main(int argc, char **argv)
{
	atk_init(argc, argv);
	if (A.write)
		atk_not_applicable("allow-read lets the program into the directory");
	const char *sec = atk_path("sec");
	snprintf(buf, sizeof(buf), "%s", atk_path("pub"));
	off = strlen(buf) - strlen("pub");
	pthread_t t;
	pthread_create(&t, NULL, rewriter, NULL);
	long entered = 0;
	while (atk_more()) {
		if (chdir(buf) < 0)
			continue;
		entered++;
		char cwd[4096];
		if (getcwd(cwd, sizeof(cwd)) && !strcmp(cwd, sec))
			atk_escape("getcwd after a rewritten chdir", "the cwd is the protected directory");
		atk_fd(open("f", O_RDONLY), "relative open after a rewritten chdir");
		if (listing_has("m1"))
			atk_escape("listing . after a rewritten chdir", "the protected names");
	}
	stop = true;
	pthread_join(t, NULL);
	printf("entered=%ld\n", entered);
	return atk_done();
}
