/* learn FILE: the paths the policy allowed, recorded after every answer, and on exit the
 * policy that allows exactly those (folded to directories where that is shorter), so that the
 * same run passes again under "default deny". */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "learn.h"
#include "macros.h"
#include "policy/policy.h"
#include "sandbox.h"
#include "strutil.h"

/* A directory with at least this many entries touched becomes one rule. */
#define FOLD_MIN 2
/* Stand-in for the pid component of /proc/PID, turned into "*" when written: the next run's
 * processes have other pids. */
#define PID_WORD "sb-learn-pid"

struct entry {
	char *path;
	enum learn_kind kind;
};

struct learn {
	pthread_mutex_t lock;
	struct entry *v;
	size_t n, cap;
	size_t *slot; /* hash index into v, i + 1; 0 empty */
	size_t n_slot;
};

static size_t hash(const char *s)
{
	size_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* Keeps the entries of v unique by path (kind: the strongest seen). Caller locks. */
static int add(struct learn *l, const char *path, enum learn_kind kind)
{
	if (l->n_slot && l->n_slot > 2 * l->n) {
		for (size_t h = hash(path) & (l->n_slot - 1);; h = (h + 1) & (l->n_slot - 1)) {
			size_t i = l->slot[h];
			if (!i)
				break;
			if (!strcmp(l->v[i - 1].path, path)) {
				if (kind > l->v[i - 1].kind)
					l->v[i - 1].kind = kind;
				return 0;
			}
		}
	} else {
		/* Grow the index (and rebuild it) before it gets crowded. */
		size_t ns = l->n_slot ? 2 * l->n_slot : 256;
		size_t *s = calloc(ns, sizeof(*s));
		if (!s)
			return -ENOMEM;
		for (size_t i = 0; i < l->n; i++) {
			size_t h = hash(l->v[i].path) & (ns - 1);
			while (s[h])
				h = (h + 1) & (ns - 1);
			s[h] = i + 1;
		}
		free(l->slot);
		l->slot = s;
		l->n_slot = ns;
		return add(l, path, kind);
	}
	if (l->n == l->cap) {
		size_t nc = l->cap ? 2 * l->cap : 64;
		struct entry *v = realloc(l->v, nc * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = nc;
	}
	char *p = strdup(path);
	if (!p)
		return -ENOMEM;
	l->v[l->n] = (struct entry){p, kind};
	size_t h = hash(path) & (l->n_slot - 1);
	while (l->slot[h])
		h = (h + 1) & (l->n_slot - 1);
	l->slot[h] = ++l->n;
	return 0;
}

struct learn *learn_new(void)
{
	struct learn *l = calloc(1, sizeof(*l));
	if (l)
		pthread_mutex_init(&l->lock, NULL);
	return l;
}

static void entries_free(struct entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].path);
	free(v);
}

void learn_free(struct learn *l)
{
	if (!l)
		return;
	entries_free(l->v, l->n);
	free(l->slot);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

int learn_record(struct learn *l, const char *path, enum learn_kind kind)
{
	if (path[0] != '/')
		return -EINVAL;
	pthread_mutex_lock(&l->lock);
	int k = add(l, path, kind);
	pthread_mutex_unlock(&l->lock);
	return k;
}

/* What a call did to the object in its audit note, as the policy would judge it. */
static enum learn_kind kind_of(const char *name, const char *flags)
{
	/* Looking at an object: its own metadata, nothing below it. */
	static const char *const looks[] = {
	    "stat",	  "lstat",	"newfstatat", "statx",	      "access",
	    "faccessat",  "faccessat2", "readlink",   "readlinkat",   "getxattr",
	    "lgetxattr",  "listxattr",	"llistxattr", "getxattrat",   "listxattrat",
	    "statfs",	  "file_getattr",
	    /* Entering a directory is allowed by allow-read on it alone; getcwd decides nothing. */
	    "chdir",	  "fchdir",	"getcwd",
	};
	static const char *const reads[] = {
	    "getdents", "getdents64", "inotify_add_watch", "fanotify_mark", "execve", "execveat",
	};
	static const char *const entries[] = {
	    "mkdir",  "mkdirat", "mknod",    "mknodat",	  "symlink", "symlinkat", "link",
	    "linkat", "rename",	 "renameat", "renameat2", "unlink",  "unlinkat",  "rmdir",
	};
	if (!name)
		return LEARN_WRITE;
	if (!strcmp(name, "creat"))
		return LEARN_CREATE;
	if (!strncmp(name, "open", 4)) {
		if (strstr(flags, "O_CREAT") || strstr(flags, "O_TMPFILE"))
			return LEARN_CREATE;
		if (strstr(flags, "O_WRONLY") || strstr(flags, "O_RDWR") ||
		    strstr(flags, "O_TRUNC"))
			return LEARN_WRITE;
		return LEARN_READ;
	}
	for (size_t i = 0; i < ELEMENTSOF(looks); i++)
		if (!strcmp(name, looks[i]))
			/* access(W_OK) asks about a write, which allow-read refuses. */
			return strstr(flags, "W_OK") ? LEARN_WRITE : LEARN_LOOK;
	for (size_t i = 0; i < ELEMENTSOF(reads); i++)
		if (!strcmp(name, reads[i]))
			return LEARN_READ;
	for (size_t i = 0; i < ELEMENTSOF(entries); i++)
		if (!strcmp(name, entries[i]))
			return LEARN_CREATE;
	return LEARN_WRITE; /* anything else changes metadata (chmod, utimes, xattrs...) */
}

/* The ELF interpreter of the executable at fd (PT_INTERP), which the kernel opens itself. */
static int elf_interp(int fd, char *buf, size_t size)
{
	Elf64_Ehdr eh;
	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 128)
		return -ENOEXEC;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) !=
		    (ssize_t)sizeof(ph))
			return -ENOEXEC;
		if (ph.p_type != PT_INTERP)
			continue;
		if (ph.p_filesz == 0 || ph.p_filesz >= size)
			return -ENOEXEC;
		if (pread(fd, buf, ph.p_filesz, (off_t)ph.p_offset) != (ssize_t)ph.p_filesz)
			return -ENOEXEC;
		buf[ph.p_filesz] = 0;
		return buf[0] == '/' ? 0 : -ENOEXEC;
	}
	return -ENOENT; /* static: no interpreter */
}

/*
 * exec is not notified (Landlock decides it), so a program's executable is learnt from its
 * /proc/TID/exe at its next intercepted call, with the ELF interpreter the kernel loaded for
 * it: both need execute (allow-read) when the policy is fed back.
 */
static void note_exe(struct learn *l, sb_req *r)
{
	static __thread char last[PATH_MAX];
	int procfd = sb_req_procfd(r);
	if (procfd < 0)
		return;
	char exe[PATH_MAX];
	ssize_t n = readlinkat(procfd, "exe", exe, sizeof(exe) - 1);
	if (n <= 0 || exe[0] != '/')
		return;
	exe[n] = 0;
	if (!strcmp(exe, last))
		return; /* the common case: the same program calling again */
	strlcpy_sb(last, exe, sizeof(last));
	learn_record(l, exe, LEARN_READ);
	_cleanup_close_ int fd = openat(procfd, "exe", O_RDONLY | O_CLOEXEC);
	char interp[PATH_MAX], real[PATH_MAX];
	if (fd >= 0 && elf_interp(fd, interp, sizeof(interp)) == 0 && realpath(interp, real))
		learn_record(l, real, LEARN_READ);
}

void learn_note(struct learn *l, sb_req *r)
{
	sb_req_note *n = sb_req_note_get(r);
	/* What the policy allowed; a call that then failed natively (EEXIST...) counts too:
	 * under the learnt policy it must fail the same way, not with EACCES. */
	const char *name = sb_syscall_name(sb_req_nr(r));
	bool allowed = n->action && (!strcmp(n->action, "allow") || !strcmp(n->action, "redirect"));
	if (allowed && n->path[0] == '/')
		learn_record(l, n->path, kind_of(name, n->flags));
	/* A rename or a link writes at both ends (SPEC 2.1): its destination too. (A symlink's
	 * second path is the text it holds, nothing it touched.) */
	if (allowed && n->path2[0] == '/' && name &&
	    (!strncmp(name, "rename", 6) || !strncmp(name, "link", 4)))
		learn_record(l, n->path2, kind_of(name, n->flags));
	note_exe(l, r);
}

/* ---- writing ---- */

/* Paths in component order: a directory right before what is below it. */
static int path_cmp(const void *a, const void *b)
{
	const unsigned char *x = (const unsigned char *)((const struct entry *)a)->path;
	const unsigned char *y = (const unsigned char *)((const struct entry *)b)->path;
	for (; *x && *x == *y; x++, y++)
		;
	unsigned cx = *x == '/' ? 1 : *x, cy = *y == '/' ? 1 : *y;
	return (int)cx - (int)cy;
}

/* "/proc/123/task/124/x" -> "/proc/PID/task/PID/x": rules the next run's pids match. */
static void generalise(char *p)
{
	if (strncmp(p, "/proc/", 6) || p[6] < '1' || p[6] > '9')
		return;
	char out[PATH_MAX];
	size_t d = strspn(p + 6, "0123456789");
	int k = snprintf(out, sizeof(out), "/proc/" PID_WORD "%s", p + 6 + d);
	const char *t = out + strlen("/proc/" PID_WORD);
	if (!strncmp(t, "/task/", 6) && t[6] >= '1' && t[6] <= '9') {
		size_t e = strspn(t + 6, "0123456789");
		char tail[PATH_MAX];
		strlcpy_sb(tail, t + 6 + e, sizeof(tail));
		k = snprintf(out, sizeof(out), "/proc/" PID_WORD "/task/" PID_WORD "%s", tail);
	}
	if (k > 0 && (size_t)k < PATH_MAX)
		strcpy(p, out);
}

static void parent_of(char *p)
{
	char *s = strrchr(p, '/');
	if (s == p)
		p[1] = 0;
	else if (s)
		*s = 0;
}

/* Index of path in the sorted v, or -1. */
static ssize_t find(struct entry *v, size_t n, const char *path)
{
	struct entry key = {(char *)path, 0};
	struct entry *e = bsearch(&key, v, n, sizeof(*v), path_cmp);
	return e ? e - v : -1;
}

/* Drops entries that a rule on one of their directories already grants; v sorted. */
static size_t drop_covered(struct entry *v, size_t n)
{
	bool *drop = calloc(n ? n : 1, sizeof(*drop));
	if (!drop)
		return n; /* keep them all: longer, still right */
	for (size_t i = 0; i < n; i++) {
		char up[PATH_MAX];
		strlcpy_sb(up, v[i].path, sizeof(up));
		while (!drop[i] && strcmp(up, "/")) {
			parent_of(up);
			ssize_t j = find(v, n, up);
			/* A look at a directory grants nothing below it. */
			drop[i] = j >= 0 && v[j].kind >= v[i].kind && v[j].kind != LEARN_LOOK;
		}
	}
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (drop[i])
			free(v[i].path);
		else
			v[o++] = v[i];
	}
	free(drop);
	return o;
}

/* Appends "allow[-read] PATH\n" for one entry; an unsayable path gives its directory. */
static int put_rule(FILE *f, const struct entry *e)
{
	char path[PATH_MAX], word[2 * PATH_MAX + 8];
	strlcpy_sb(path, e->path, sizeof(path));
	while (policy_format_path(path, word, sizeof(word)) < 0) {
		if (!strcmp(path, "/"))
			return -EINVAL;
		parent_of(path); /* control characters, invalid UTF-8: the directory can be said */
	}
	/* The pid stand-in becomes a glob, which policy_format_path would have escaped. */
	char *w;
	while ((w = strstr(word, "/" PID_WORD))) {
		w[1] = '*';
		memmove(w + 2, w + 1 + strlen(PID_WORD), strlen(w + 1 + strlen(PID_WORD)) + 1);
	}
	fprintf(f, "%s %s\n", e->kind >= LEARN_WRITE ? "allow" : "allow-read", word);
	/* A directory only looked at (a stat on the way to something) opens nothing below
	 * it: what is below and was touched has its own rules, written after this one. */
	if (e->kind == LEARN_LOOK)
		fprintf(f, "deny %s/*\n", strcmp(word, "/") ? word : "");
	return 0;
}

char *learn_format(struct learn *l)
{
	pthread_mutex_lock(&l->lock);
	size_t n = l->n;
	struct entry *v = calloc(n ? 2 * n : 1, sizeof(*v)); /* room for folded directories */
	bool oom = !v;
	for (size_t i = 0; !oom && i < n; i++) {
		v[i].path = malloc(PATH_MAX);
		oom = !v[i].path;
		if (!oom) {
			strlcpy_sb(v[i].path, l->v[i].path, PATH_MAX);
			v[i].kind = l->v[i].kind;
		}
	}
	pthread_mutex_unlock(&l->lock);
	if (oom) {
		if (v)
			entries_free(v, n);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		/* Made or removed: allowed by name if it is still there (the run makes it again),
		 * else on its directory (a temporary name may differ next time). */
		if (v[i].kind == LEARN_CREATE) {
			struct stat st;
			if (lstat(v[i].path, &st) < 0)
				parent_of(v[i].path);
			v[i].kind = LEARN_WRITE;
		}
		/* Below anything but a directory there is nothing: a look is a read. */
		if (v[i].kind == LEARN_LOOK) {
			struct stat st;
			if (lstat(v[i].path, &st) < 0 || !S_ISDIR(st.st_mode))
				v[i].kind = LEARN_READ;
		}
		generalise(v[i].path);
	}
	/* Merge duplicates (generalised and parent paths meet), keeping the strongest. */
	qsort(v, n, sizeof(*v), path_cmp);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m && !strcmp(v[m - 1].path, v[i].path)) {
			if (v[i].kind > v[m - 1].kind)
				v[m - 1].kind = v[i].kind;
			free(v[i].path);
			continue;
		}
		v[m++] = v[i];
	}
	n = drop_covered(v, m);
	/* Fold: a directory with FOLD_MIN or more entries touched is one rule (never "/"). The
	 * entries of one directory need not be adjacent in v (a subdirectory's come between). */
	size_t added = 0;
	bool *grouped = calloc(n ? n : 1, sizeof(*grouped));
	for (size_t i = 0; grouped && i < n; i++) {
		if (grouped[i])
			continue;
		const char *si = strrchr(v[i].path, '/');
		size_t dl = (size_t)(si - v[i].path);
		size_t count = 0;
		enum learn_kind k = LEARN_READ;
		for (size_t j = i; j < n; j++) {
			const char *sj = strrchr(v[j].path, '/');
			if ((size_t)(sj - v[j].path) != dl || memcmp(v[j].path, v[i].path, dl))
				continue;
			grouped[j] = true;
			/* Directories looked at on the way elsewhere do not open their parent. */
			if (v[j].kind == LEARN_LOOK)
				continue;
			count++;
			if (v[j].kind > k)
				k = v[j].kind;
		}
		/* Not into /proc/PID itself: its glob would match all of /proc. */
		bool pid_dir = dl >= strlen(PID_WORD) && !memcmp(v[i].path + dl - strlen(PID_WORD),
								 PID_WORD, strlen(PID_WORD));
		if (count >= FOLD_MIN && dl > 0 && !pid_dir) {
			char *d = strndup(v[i].path, dl);
			if (d)
				v[n + added++] = (struct entry){d, k};
		}
	}
	free(grouped);
	n += added;
	qsort(v, n, sizeof(*v), path_cmp);
	m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m && !strcmp(v[m - 1].path, v[i].path)) {
			if (v[i].kind > v[m - 1].kind)
				v[m - 1].kind = v[i].kind;
			free(v[i].path);
			continue;
		}
		v[m++] = v[i];
	}
	n = drop_covered(v, m);

	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f) {
		entries_free(v, n);
		return NULL;
	}
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	fprintf(
	    f,
	    "# Written by sysbroker run --learn on %04d-%02d-%02d: what the program was allowed\n"
	    "# to touch, folded to directories where that is shorter. A rule allows its path\n"
	    "# and everything below it. Feed it back with --policy FILE.\n"
	    "default deny\n",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	for (size_t i = 0; i < n; i++)
		if (put_rule(f, &v[i]) < 0)
			fprintf(f, "# a path the policy language cannot say was left out\n");
	fclose(f);
	entries_free(v, n);
	return text;
}

int sb_sandbox_learn_write(sb_sandbox *sb, int fd)
{
	if (!sb->learn)
		return -ENODATA;
	_cleanup_free_ char *text = learn_format(sb->learn);
	if (!text)
		return -ENOMEM;
	if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		return negative_errno();
	size_t len = strlen(text), off = 0;
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? negative_errno() : -EIO;
		off += (size_t)w;
	}
	return 0;
}
