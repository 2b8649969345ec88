/* Shared steps of the families that change the filesystem: the decision on a name inside a
 * pinned parent, calls that take only a path made on a pinned object, and changes that are
 * made once even when the kernel restarts a call whose first answer was lost. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "fs_write.h"
#include "identity.h"
#include "macros.h"
#include "strutil.h"

int fs_name_path(struct fs_arg *a, char *buf, size_t size)
{
	char name[NAME_MAX + 2];
	strlcpy_sb(name, a->name, sizeof(name));
	size_t nl = strlen(name);
	while (nl > 0 && name[nl - 1] == '/')
		name[--nl] = 0;
	if (!nl || !strcmp(name, ".") || !strcmp(name, "..")) {
		/* The kernel refuses to create, remove or rename these (EEXIST, EISDIR,
		 * EBUSY...), but what they name is a directory with a decision of its own. */
		_cleanup_close_ int d = openat(a->fd, nl ? name : ".", O_PATH | O_CLOEXEC);
		if (d < 0)
			return negative_errno();
		int k = resolve_fd_path(d, buf, size);
		return k < 0 ? k : 0;
	}
	if (strlcpy_sb(buf, a->real, size) >= size)
		return -ENAMETOOLONG;
	size_t l = strlen(buf);
	while (l > 1 && buf[l - 1] == '/')
		buf[--l] = 0; /* "dir/" names dir: a trailing slash only asks for a directory */
	return 0;
}

int fs_decide_name(sb_req *r, struct sb_sandbox *sb, struct fs_arg *a)
{
	char real[PATH_MAX];
	if (!a->name[0])
		strlcpy_sb(a->name, ".", sizeof(a->name)); /* "/" itself: the kernel's LAST_ROOT */
	int k = fs_name_path(a, real, sizeof(real));
	if (k < 0)
		return k;
	sb_req_note *n = sb_req_note_get(r);
	if (!strcmp(n->path, a->real))
		strlcpy_sb(n->path, real, sizeof(n->path));
	k = fs_decide(r, sb, real, FS_WANT_WRITE);
	return k ? -k : 0;
}

/* Whether this thread has its own cwd (unshare(CLONE_FS)); fchdir would move every
 * thread's otherwise. */
static __thread bool own_fs;

int fs_at_pin(sb_req *r, int pinfd, int (*op)(const char *name, void *arg), void *arg)
{
	if (!own_fs) {
		if (unshare(CLONE_FS) < 0)
			return negative_errno();
		own_fs = true;
	}
	int fddir = identity_thread_fddir();
	if (fddir < 0)
		return fddir;
	_cleanup_close_ int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0)
		return negative_errno();
	/* procfs lets a thread into its own fd directory whatever its fsuid (proc_fd_permission),
	 * so this works with the target's identity assumed. */
	if (fchdir(fddir) < 0)
		return negative_errno();
	char name[16];
	snprintf(name, sizeof(name), "%d", pinfd);
	int k = op(name, arg);
	(void)!fchdir(cwd);
	return k;
}

int fs_userns_foreign(sb_req *r)
{
	/* Known with the program's identity (its /proc/TID/ns/user against ours). */
	return req_userns_foreign(r);
}

int fs_caps_for_change(struct fs_arg *first, int foreign)
{
	if (!foreign)
		return 0;
	sb_creds c = first->c.creds;
	c.cap_eff = 0;
	return identity_assume(&c);
}

int fs_arg_parent_change(sb_req *r, struct sb_sandbox *sb, int dirfd, uint64_t addr,
			 struct fs_arg *a)
{
	int foreign = fs_userns_foreign(r);
	if (foreign < 0)
		return foreign;
	int k = fs_arg_parent(r, NULL, dirfd, addr, a);
	if (k < 0)
		return k;
	k = fs_caps_for_change(a, foreign);
	if (k < 0)
		return k;
	return fs_decide_name(r, sb, a);
}

/* ---- changes made once, whatever the signals ---- */

/*
 * One per thread of a target with a change under way or just made. A thread makes one call
 * at a time: a second notification from it while a change of its is under way means the first
 * wait was abandoned (a signal), and the kernel may be restarting the very same call.
 */
struct change {
	bool used;
	bool busy; /* a worker is making the change */
	bool lost; /* made, but the answer found the call gone */
	const void *listener;
	pid_t tid;
	int nr;
	uint64_t args[6];
	uint64_t hash;
	int result;
	uint64_t stamp; /* when it was made: the oldest lost one gives way first */
};

#define N_CHANGES 256
static struct change changes[N_CHANGES];
static pthread_mutex_t changes_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changes_cond = PTHREAD_COND_INITIALIZER;
static uint64_t changes_clock;

static uint64_t strings_hash(const char *s1, const char *s2)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	const char *s[2] = {s1, s2};
	for (int i = 0; i < 2; i++) {
		for (const char *p = s[i] ? s[i] : ""; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ULL;
		h = (h ^ 0x100) * 1099511628211ULL; /* separator: ("ab","") != ("a","b") */
	}
	return h;
}

static struct change *change_find(const void *listener, pid_t tid)
{
	for (size_t i = 0; i < N_CHANGES; i++)
		if (changes[i].used && changes[i].listener == listener && changes[i].tid == tid)
			return &changes[i];
	return NULL;
}

static bool same_call(const struct change *a, const struct change *b)
{
	return a->nr == b->nr && a->hash == b->hash && !memcmp(a->args, b->args, sizeof(a->args));
}

int fs_change(sb_req *r, const char *s1, const char *s2, int (*op)(void *arg), void *arg)
{
	struct change me = {.used = true,
			    .busy = true,
			    .listener = sb_req_listener(r),
			    .tid = sb_req_tid(r),
			    .nr = sb_req_nr(r),
			    .hash = strings_hash(s1, s2)};
	for (unsigned i = 0; i < 6; i++)
		me.args[i] = sb_req_arg(r, i);

	pthread_mutex_lock(&changes_lock);
	struct change *c;
	/* An earlier call of this thread is still being made: its outcome decides ours. */
	while ((c = change_find(me.listener, me.tid)) && c->busy)
		pthread_cond_wait(&changes_cond, &changes_lock);
	if (c && c->lost && same_call(c, &me)) {
		/* The restart of a change already made: give it the answer the first lost. */
		int result = c->result;
		c->used = false;
		pthread_mutex_unlock(&changes_lock);
		sb_req_note_get(r)->action = "allow";
		return result < 0 ? result : sb_req_reply_value(r, result);
	}
	if (c)
		c->used = false; /* the thread moved on to another call: forget it */
	for (size_t i = 0; !c && i < N_CHANGES; i++)
		if (!changes[i].used)
			c = &changes[i];
	/* Full: a lost answer whose call never came back (its thread died) gives way, the
	 * oldest first. With 256 changes under way at once, this one has no memory. */
	for (size_t i = 0; !c && i < N_CHANGES; i++)
		if (!changes[i].busy && (!c || changes[i].stamp < c->stamp))
			c = &changes[i];
	me.stamp = ++changes_clock;
	if (c)
		*c = me;
	pthread_mutex_unlock(&changes_lock);

	/* Last look: a call its thread gave up (or a dead thread's) must not be done after all. */
	int k = sb_req_valid(r);
	if (k >= 0)
		k = op(arg);
	int sent = k >= 0 ? sb_req_reply_value(r, k) : 0;

	pthread_mutex_lock(&changes_lock);
	if (c) {
		c->busy = false;
		/* Made, but the answer found the wait abandoned: the kernel may restart it. */
		c->lost = k >= 0 && sent == -ENOENT;
		c->result = k;
		if (!c->lost)
			c->used = false;
	}
	pthread_cond_broadcast(&changes_cond);
	pthread_mutex_unlock(&changes_lock);
	return k < 0 ? k : 0;
}

void fs_note_path2(sb_req *r, struct fs_arg *b, bool named)
{
	sb_req_note *n = sb_req_note_get(r);
	if (b->real[0] && named && fs_name_path(b, n->path2, sizeof(n->path2)) == 0)
		return;
	strlcpy_sb(n->path2, b->real[0] ? b->real : b->path, sizeof(n->path2));
}

void fs_note_at_flags(sb_req *r, unsigned flags)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
	    {AT_SYMLINK_NOFOLLOW, "AT_SYMLINK_NOFOLLOW"},
	    {AT_REMOVEDIR, "AT_REMOVEDIR"},
	    {AT_SYMLINK_FOLLOW, "AT_SYMLINK_FOLLOW"},
	    {AT_EMPTY_PATH, "AT_EMPTY_PATH"},
	};
	sb_req_note *n = sb_req_note_get(r);
	size_t used = 0;
	n->flags[0] = 0;
	for (size_t i = 0; i < ELEMENTSOF(names) && used < sizeof(n->flags); i++) {
		if (!(flags & names[i].bit))
			continue;
		flags &= ~names[i].bit;
		used += (size_t)snprintf(n->flags + used, sizeof(n->flags) - used, "%s%s",
					 used ? "|" : "", names[i].name);
	}
	if (flags && used < sizeof(n->flags))
		snprintf(n->flags + used, sizeof(n->flags) - used, "%s0x%x", used ? "|" : "",
			 flags);
}
