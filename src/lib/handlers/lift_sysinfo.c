/* sysinfo(2) under "sysinfo cgroup": memory, swap, process count and uptime are those of the
 * program's cgroup (its limit and usage, its tasks, how long its oldest process has run), not
 * the host's, the way LXCFS answers for containers; the load averages stay the host's. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "fs.h"
#include "identity.h"
#include "lift_common.h"
#include "macros.h"
#include "policy/policy.h"
#include "sandbox.h"
#include "strutil.h"

#define UNLIMITED UINT64_MAX

/* A small file under dirfd into buf; -errno. */
static int read_at(int dirfd, const char *name, char *buf, size_t size)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	size_t used = 0;
	while (used + 1 < size) {
		ssize_t n = read(fd, buf + used, size - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return negative_errno();
		if (n == 0)
			break;
		used += (size_t)n;
	}
	buf[used] = 0;
	return (int)used;
}

/* A cgroup file holding one number ("max" is unlimited); false when absent or unreadable. */
static bool read_u64(const char *dir, const char *name, uint64_t *ret)
{
	char path[PATH_MAX + 64], buf[64];
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return false;
	if (read_at(AT_FDCWD, path, buf, sizeof(buf)) <= 0)
		return false;
	if (!strncmp(buf, "max", 3)) {
		*ret = UNLIMITED;
		return true;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(buf, &end, 10);
	if (errno || end == buf)
		return false;
	*ret = v;
	return true;
}

/* The smallest value of name in dir and its ancestors down to the hierarchy's mount point:
 * a limit anywhere above the cgroup limits it too. */
static uint64_t min_up(const char *dir, size_t mnt_len, const char *name, bool *found)
{
	char d[PATH_MAX];
	uint64_t best = UNLIMITED;
	*found = false;
	strlcpy_sb(d, dir, sizeof(d));
	for (;;) {
		uint64_t v;
		if (read_u64(d, name, &v)) {
			*found = true;
			if (v < best)
				best = v;
		}
		char *slash = strrchr(d, '/');
		if (!slash || (size_t)(slash - d) < mnt_len)
			break;
		*slash = 0;
	}
	return best;
}

/* Where one cgroup hierarchy is mounted in our view, and the cgroup path its root shows. */
struct hier {
	char mnt[PATH_MAX];
	char root[PATH_MAX];
	bool found;
};

static bool has_word(const char *list, const char *word)
{
	size_t wl = strlen(word);
	for (const char *p = list; p && *p; p = strchr(p, ','), p = p ? p + 1 : NULL)
		if (!strncmp(p, word, wl) && (p[wl] == ',' || p[wl] == 0))
			return true;
	return false;
}

/* Our own mounts of cgroup2 and of the v1 memory and pids controllers (hybrid hosts have
 * both: memory under v1 while the unified hierarchy holds no controller). */
static void find_hierarchies(int procfd, struct hier *v2, struct hier *mem1, struct hier *pids1)
{
	const size_t size = 1 << 18;
	_cleanup_free_ char *buf = malloc(size);
	if (!buf || read_at(procfd, "self/mountinfo", buf, size) <= 0)
		return;
	char *save;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER */
		char *sep = strstr(line, " - ");
		if (!sep)
			continue;
		*sep = 0;
		char *f[5], *p = line;
		int n = 0;
		for (; n < 5 && p; n++) {
			f[n] = p;
			p = strchr(p, ' ');
			if (p)
				*p++ = 0;
		}
		char *type = sep + 3, *src = strchr(type, ' ');
		if (n < 5 || !src)
			continue;
		*src++ = 0;
		char *opts = strchr(src, ' ');
		opts = opts ? opts + 1 : (char *)"";
		struct hier *h = NULL;
		if (!strcmp(type, "cgroup2"))
			h = v2;
		else if (!strcmp(type, "cgroup") && has_word(opts, "memory"))
			h = mem1;
		else if (!strcmp(type, "cgroup") && has_word(opts, "pids"))
			h = pids1;
		if (!h || h->found)
			continue;
		lift_unoctal(f[3]);
		lift_unoctal(f[4]);
		strlcpy_sb(h->root, f[3], sizeof(h->root));
		strlcpy_sb(h->mnt, f[4], sizeof(h->mnt));
		h->found = true;
	}
}

/*
 * The directory of the program's cgroup in hierarchy h: the line of /proc/TID/cgroup for
 * it ("0::" for cgroup2, the controller list for v1), under our mount of it.
 */
static bool cgroup_dir(const char *cgfile, const struct hier *h, const char *controller, char *ret,
		       size_t size, bool *ret_root)
{
	if (!h->found)
		return false;
	char copy[8192];
	strlcpy_sb(copy, cgfile, sizeof(copy));
	char *save;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = 0;
		bool match = controller ? has_word(c1 + 1, controller) : !strcmp(line, "0");
		if (!match)
			continue;
		const char *path = c2 + 1;
		/* A mount of a subtree shows paths below its root only. */
		size_t rl = strlen(h->root);
		if (strcmp(h->root, "/")) {
			if (strncmp(path, h->root, rl) || (path[rl] && path[rl] != '/'))
				return false;
			path += rl;
		}
		*ret_root = !*path || !strcmp(path, "/");
		return snprintf(ret, size, "%s%s", h->mnt, *ret_root ? "" : path) < (int)size;
	}
	return false;
}

/* How many lines (tasks, pids) a cgroup file lists. */
static long count_lines(const char *dir, const char *name)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	long n = 0;
	int c;
	while ((c = getc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/* Seconds the oldest process of the cgroup at dir has run (its start time in ticks since
 * boot, field 22 of /proc/PID/stat); -1 when none can be read. */
static long oldest_uptime(int procfd, const char *dir, double now)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	long hz = sysconf(_SC_CLK_TCK);
	unsigned long long oldest = ULLONG_MAX;
	int pid;
	for (int i = 0; i < 4096 && fscanf(f, "%d", &pid) == 1; i++) {
		char name[32], buf[1024];
		snprintf(name, sizeof(name), "%d/stat", pid);
		if (read_at(procfd, name, buf, sizeof(buf)) <= 0)
			continue;
		const char *p = strrchr(buf, ')'); /* comm may hold spaces and parentheses */
		if (!p)
			continue;
		unsigned long long start = 0;
		/* After ") ": state, then fields 4..21; starttime is field 22. */
		if (sscanf(p + 2,
			   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
			   "%*d %*d %*d %llu",
			   &start) == 1 &&
		    start < oldest)
			oldest = start;
	}
	fclose(f);
	if (oldest == ULLONG_MAX || hz <= 0)
		return -1;
	double up = now - (double)oldest / (double)hz;
	return up < 0 ? 0 : (long)up;
}

/* One figure of memory.stat ("shmem 1234"). */
static bool stat_field(const char *dir, const char *key, uint64_t *ret)
{
	char path[PATH_MAX + 64], buf[8192];
	snprintf(path, sizeof(path), "%s/memory.stat", dir);
	if (read_at(AT_FDCWD, path, buf, sizeof(buf)) <= 0)
		return false;
	size_t kl = strlen(key);
	for (char *p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, key, kl) && p[kl] == ' ') {
			*ret = strtoull(p + kl + 1, NULL, 10);
			return true;
		}
	return false;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* The program's view: host figures replaced where its cgroups say otherwise. */
static void cgroup_sysinfo(sb_req *r, struct sysinfo *si)
{
	char cgfile[8192];
	int procfd = sb_req_procfd(r);
	if (procfd < 0 || read_at(procfd, "cgroup", cgfile, sizeof(cgfile)) <= 0)
		return;
	struct hier v2 = {0}, mem1 = {0}, pids1 = {0};
	find_hierarchies(r->s->procfd, &v2, &mem1, &pids1);

	uint64_t unit = si->mem_unit ? si->mem_unit : 1;
	uint64_t host_ram = (uint64_t)si->totalram * unit,
		 host_swap = (uint64_t)si->totalswap * unit;
	uint64_t ram = host_ram, free_ram = (uint64_t)si->freeram * unit;
	uint64_t swap = host_swap, free_swap = (uint64_t)si->freeswap * unit;
	uint64_t shared = (uint64_t)si->sharedram * unit, buffers = (uint64_t)si->bufferram * unit;

	char dir[PATH_MAX];
	bool root = true, v1 = false, found;
	if (cgroup_dir(cgfile, &mem1, "memory", dir, sizeof(dir), &root))
		v1 = true;
	else if (!cgroup_dir(cgfile, &v2, NULL, dir, sizeof(dir), &root))
		root = true;
	char memdir[PATH_MAX];
	strlcpy_sb(memdir, dir, sizeof(memdir));
	if (!root) {
		size_t ml = strlen(v1 ? mem1.mnt : v2.mnt);
		uint64_t limit =
		    min_up(dir, ml, v1 ? "memory.limit_in_bytes" : "memory.max", &found);
		uint64_t usage;
		if (found &&
		    read_u64(dir, v1 ? "memory.usage_in_bytes" : "memory.current", &usage)) {
			ram = min_u64(limit, host_ram);
			free_ram = ram - min_u64(usage, ram);
			buffers = 0;
			uint64_t shmem;
			shared = stat_field(dir, v1 ? "total_shmem" : "shmem", &shmem) ||
					 stat_field(dir, "shmem", &shmem)
				     ? min_u64(shmem, ram)
				     : 0;
			/* Swap: v2 limits it on its own; v1 limits memory+swap together. */
			uint64_t sl, su;
			if (!v1) {
				sl = min_up(dir, ml, "memory.swap.max", &found);
				if (found && read_u64(dir, "memory.swap.current", &su)) {
					swap = min_u64(sl, host_swap);
					free_swap = swap - min_u64(su, swap);
				}
			} else {
				sl = min_up(dir, ml, "memory.memsw.limit_in_bytes", &found);
				if (found && read_u64(dir, "memory.memsw.usage_in_bytes", &su)) {
					swap = sl == UNLIMITED || sl < limit
						   ? host_swap
						   : min_u64(sl - limit, host_swap);
					su = su > usage ? su - usage : 0;
					free_swap = swap - min_u64(su, swap);
				}
			}
		}
	}

	/* Tasks: pids.current counts every thread of the subtree, as sysinfo's procs does. */
	char pdir[PATH_MAX];
	bool proot = true;
	uint64_t tasks;
	if ((cgroup_dir(cgfile, &pids1, "pids", pdir, sizeof(pdir), &proot) ||
	     cgroup_dir(cgfile, &v2, NULL, pdir, sizeof(pdir), &proot)) &&
	    !proot && read_u64(pdir, "pids.current", &tasks))
		si->procs = (unsigned short)min_u64(tasks, 65535);
	else if (!root) {
		long n = count_lines(memdir, v1 ? "tasks" : "cgroup.threads");
		if (n >= 0)
			si->procs = (unsigned short)(n > 65535 ? 65535 : n);
	}

	if (!root) {
		struct timespec ts;
		clock_gettime(CLOCK_BOOTTIME, &ts);
		long up = oldest_uptime(r->s->procfd, memdir,
					(double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
		if (up >= 0)
			si->uptime = up;
	}

	si->mem_unit = 1;
	si->totalram = ram;
	si->freeram = free_ram;
	si->sharedram = shared;
	si->bufferram = buffers;
	si->totalswap = swap;
	si->freeswap = free_swap;
	si->totalhigh = si->freehigh = 0;
}

static int lift_sysinfo_handler(sb_req *r, void *userdata)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	if (!policy_sysinfo_cgroup(sb->policy)) {
		/* A runtime's profile may notify sysinfo for a policy without the rule: the
		 * kernel's own answer, decided on no memory at all. */
		sb_req_note_get(r)->action = "allow";
		return sb_req_reply_continue_unchecked(r);
	}
	struct sysinfo si;
	if (sysinfo(&si) < 0)
		return negative_errno();
	/* The cgroup files and /proc are ours: out of whatever root this worker is in. */
	identity_leave_root();
	cgroup_sysinfo(r, &si);
	int k = sb_req_write(r, sb_req_arg(r, 0), &si, sizeof(si));
	if (k < 0)
		return k;
	sb_req_note_get(r)->action = "emulate";
	k = sb_req_reply_value(r, 0);
	return k == -ENOENT ? 0 : k;
}

static bool wants_sysinfo(const struct sb_sandbox *sb)
{
	return policy_sysinfo_cgroup(sb->policy);
}

static const struct fs_row sysinfo_rows[] = {
    {SYS_sysinfo, lift_sysinfo_handler},
};

const struct fs_family lift_sysinfo_family = {"sysinfo", sysinfo_rows, ELEMENTSOF(sysinfo_rows),
					      wants_sysinfo};
