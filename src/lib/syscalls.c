/* Native syscall names, looked up once through libseccomp's table. */
#include <errno.h>
#include <pthread.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

static char *names[SB_MAX_NR];
static pthread_once_t names_once = PTHREAD_ONCE_INIT;

static void names_init(void)
{
	for (int nr = 0; nr < SB_MAX_NR; nr++)
		names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
}

const char *sb_syscall_name(int nr)
{
	if (nr < 0 || nr >= SB_MAX_NR)
		return NULL;
	pthread_once(&names_once, names_init);
	return names[nr];
}

int sb_syscall_nr(const char *name)
{
	int nr = seccomp_syscall_resolve_name(name);
	return nr >= 0 && nr < SB_MAX_NR ? nr : -ENOENT;
}
