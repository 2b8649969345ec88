/* Replays a fuzz corpus directory through LLVMFuzzerTestOneInput; one TAP line per file. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS-DIR\n", argv[0]);
		return 2;
	}
	DIR *d = opendir(argv[1]);
	if (!d) {
		printf("1..0 # SKIP no corpus at %s\n", argv[1]);
		return 0;
	}
	char *names[4096];
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < 4096)
		if (de->d_name[0] != '.')
			names[n++] = strdup(de->d_name);
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp);
	printf("1..%zu\n", n);
	int failed = 0;
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", argv[1], names[i]);
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			FILE *f = fopen(path, "rb");
			if (!f)
				_exit(3);
			static uint8_t buf[1 << 20];
			size_t len = fread(buf, 1, sizeof(buf), f);
			fclose(f);
			uint8_t *copy = malloc(len ? len : 1);
			memcpy(copy, buf, len);
			alarm(20);
			LLVMFuzzerTestOneInput(copy, len);
			free(copy);
			_exit(0);
		}
		int st = 0;
		waitpid(pid, &st, 0);
		int ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
		printf("%s %zu - %s\n", ok ? "ok" : "not ok", i + 1, names[i]);
		failed |= !ok;
		free(names[i]);
	}
	return failed;
}
