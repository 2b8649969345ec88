/* The attack programs' common part: arguments, escape checks and the report line. */
#include "attack.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct atk A;

void atk_init(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s read|write DIR TRIES\n", argv[0]);
		exit(2);
	}
	A.write = !strcmp(argv[1], "write");
	A.dir = argv[2];
	long t = strtol(argv[3], NULL, 10);
	A.stop_at_first = t < 0;
	A.max = t < 0 ? -t : t;
	/* The write goal compares objects: natively, and under allow-read, stat works. */
	struct stat st;
	if (A.write && stat(atk_path("sec/f"), &st) == 0) {
		A.dev = st.st_dev;
		A.ino = st.st_ino;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
}

const char *atk_path(const char *rel)
{
	static char buf[8][4096];
	static unsigned n;
	char *b = buf[n++ % 8];
	snprintf(b, sizeof(buf[0]), "%s/%s", A.dir, rel);
	return b;
}

const char *atk_subst(const char *fmt, long n)
{
	static char buf[4][4096];
	static unsigned k;
	char *b = buf[k++ % 4];
	size_t o = 0;
	for (const char *s = fmt; *s && o + 32 < sizeof(buf[0]); s++) {
		bool word = *s == 'N' && (s == fmt || s[-1] == '/') && (s[1] == '/' || !s[1]);
		if (word)
			o += (size_t)snprintf(b + o, sizeof(buf[0]) - o, "%ld", n);
		else
			b[o++] = *s;
	}
	b[o] = 0;
	return b;
}

bool atk_more(void)
{
	if (A.tries >= A.max || (A.stop_at_first && A.escapes > 0))
		return false;
	A.tries++;
	return true;
}

void atk_escape(const char *how, const char *what)
{
	/* Only the first few are printed: a race may escape thousands of times natively. */
	if (A.escapes++ < 5)
		printf("ESCAPED via %s: %s\n", how, what);
}

bool atk_fd(int fd, const char *how)
{
	if (fd < 0)
		return false;
	bool esc = false;
	if (A.write) {
		struct stat st;
		if (fstat(fd, &st) == 0 && A.ino && st.st_dev == A.dev && st.st_ino == A.ino &&
		    pwrite(fd, "PWNED\n", 6, 0) == 6) {
			atk_escape(how, "wrote the read-only file");
			esc = true;
		}
	} else {
		char buf[64] = "";
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
		if (n > 0 && !strncmp(buf, "SECRET", 6)) {
			atk_escape(how, "read the secret");
			esc = true;
		}
	}
	close(fd);
	return esc;
}

int atk_done(void)
{
	printf("tries=%ld escapes=%ld\n", A.tries, A.escapes);
	return A.escapes ? 0 : 1;
}

void atk_not_applicable(const char *why)
{
	printf("n/a: %s\n", why);
	exit(3);
}

void atk_cannot(const char *why)
{
	printf("cannot: %s (%s)\n", why, strerror(errno));
	exit(4);
}

static atomic_bool rewrite_stop;
static char *rewrite_buf;
static size_t rewrite_off;
static pthread_t rewrite_thread;

static void *rewriter(void *arg)
{
	(void)arg;
	volatile char *b = rewrite_buf;
	size_t off = rewrite_off;
	while (!rewrite_stop) {
		b[off] = 's', b[off + 1] = 'e', b[off + 2] = 'c';
		for (volatile int i = 0; i < 200; i++)
			;
		b[off] = 'p', b[off + 1] = 'u', b[off + 2] = 'b';
		for (volatile int i = 0; i < 200; i++)
			;
	}
	return NULL;
}

void atk_rewrite_start(char *buf, size_t off)
{
	rewrite_buf = buf;
	rewrite_off = off;
	pthread_create(&rewrite_thread, NULL, rewriter, NULL);
}

void atk_rewrite_stop(void)
{
	rewrite_stop = true;
	pthread_join(rewrite_thread, NULL);
}

bool atk_listing_has(const char *dir, const char *name)
{
	DIR *d = opendir(dir);
	bool seen = false;
	struct dirent *de;
	while (d && (de = readdir(d)))
		seen |= !strcmp(de->d_name, name);
	if (d)
		closedir(d);
	return seen;
}
