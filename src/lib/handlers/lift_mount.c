/* mount and umount2 for a program without CAP_SYS_ADMIN: a mount that an allow-mount rule
 * allows is made by the supervisor inside the program's mount namespace, onto the object the
 * target path reaches in the program's view, always nosuid and nodev unless the rule waives
 * them; umount2 undoes such mounts; the new mount API and every other mount get what the
 * kernel gives an unprivileged caller (EPERM). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine.h"
#include "fs.h"
#include "fs_common.h"
#include "fs_write.h"
#include "identity.h"
#include "lift_common.h"
#include "macros.h"
#include "policy/policy.h"
#include "resolve.h"
#include "strutil.h"

#define MS_PROPAGATION (MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE)
#define MAX_LOWER 64
#define MAX_OPTS 64
#define FUSE_MAGIC 0x65735546

/*
 * The file systems the supervisor mounts, and the namespaces their instance is taken from
 * (the fs_context binds them at fsopen: proc the caller's pid namespace, sysfs its network
 * namespace, mqueue its IPC namespace). Nothing that reads a device or an image file: a
 * file system image is untrusted input to kernel code running with our privileges.
 */
static const struct fstype {
	const char *name;
	int ns;
} fstypes[] = {
    {"tmpfs", 0},	    {"overlay", 0},	     {"devpts", 0},
    {"proc", CLONE_NEWPID}, {"sysfs", CLONE_NEWNET}, {"mqueue", CLONE_NEWIPC},
};

static const struct fstype *fstype_find(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(fstypes); i++)
		if (!strcmp(fstypes[i].name, name))
			return &fstypes[i];
	return NULL;
}

/* ---- the mounts we made, for umount2 ---- */

struct made {
	const void *sb;
	uint64_t id;
	bool unique;
	char type[16];
};

#define MADE_MAX 4096

static struct made made[MADE_MAX];
static size_t n_made, made_next;
static pthread_mutex_t made_lock = PTHREAD_MUTEX_INITIALIZER;

static void made_add(const void *sb, uint64_t id, bool unique, const char *type)
{
	pthread_mutex_lock(&made_lock);
	/* Past the cap the oldest is forgotten: umount2 of it is then refused (fail closed). */
	size_t i = n_made < MADE_MAX ? n_made++ : made_next++ % MADE_MAX;
	made[i] = (struct made){sb, id, unique, ""};
	strlcpy_sb(made[i].type, type, sizeof(made[i].type));
	pthread_mutex_unlock(&made_lock);
}

static bool made_find(const void *sb, uint64_t id, bool unique, char *type, size_t size)
{
	bool found = false;
	pthread_mutex_lock(&made_lock);
	for (size_t i = 0; i < n_made && !found; i++)
		if (made[i].sb == sb && made[i].id == id && made[i].unique == unique) {
			strlcpy_sb(type, made[i].type, size);
			found = true;
		}
	pthread_mutex_unlock(&made_lock);
	return found;
}

static void made_remove(const void *sb, uint64_t id, bool unique)
{
	pthread_mutex_lock(&made_lock);
	for (size_t i = 0; i < n_made; i++)
		if (made[i].sb == sb && made[i].id == id && made[i].unique == unique)
			made[i].sb = NULL;
	pthread_mutex_unlock(&made_lock);
}

/*
 * The mount an fd is on and whether the fd is its root. Mount ids from statx are reused
 * once a mount is gone, unless the kernel has STATX_MNT_ID_UNIQUE (6.8): prefer that one.
 */
static int mount_id_of(int fd, uint64_t *id, bool *unique, bool *is_root)
{
	struct statx sx;
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID_UNIQUE, &sx) < 0)
		return negative_errno();
	*unique = sx.stx_mask & STATX_MNT_ID_UNIQUE;
	if (!*unique && !(sx.stx_mask & STATX_MNT_ID))
		return -EOPNOTSUPP;
	*id = sx.stx_mnt_id;
	if (is_root)
		*is_root = (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
			   (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
	return 0;
}

/* ---- what the child in the program's namespaces does ---- */

enum job_kind { JOB_NEW, JOB_BIND, JOB_UMOUNT, JOB_ATTACH };

struct job_out {
	int err;
	bool unique;
	uint64_t id;
};

struct job {
	enum job_kind kind;
	const char *type;
	const char *source;			     /* "" for none */
	const char *keys[MAX_OPTS], *vals[MAX_OPTS]; /* vals[i] NULL: a flag */
	size_t n_opts;
	int lower[MAX_LOWER], upper, work; /* overlay layers, real open fds */
	size_t n_lower;
	unsigned long sb_flags; /* MS_RDONLY, MS_SYNCHRONOUS, MS_DIRSYNC, MS_LAZYTIME */
	struct mount_attr attr;
	int target, source_fd;
	int umount_flags, procfd;
	const char *name; /* umount: the mount point's name in the directory target */
	uint64_t umount_id;
	bool pid_child;
	struct job_out *out; /* a shared page: the child writes, we read */
};

static int job_new(const struct job *j, int *ret_mnt)
{
	_cleanup_close_ int fs = fsopen(j->type, FSOPEN_CLOEXEC);
	if (fs < 0)
		return negative_errno();
	if (j->source[0] && fsconfig(fs, FSCONFIG_SET_STRING, "source", j->source, 0) < 0)
		return negative_errno();
	for (size_t i = 0; i < j->n_opts; i++) {
		int k = j->vals[i] ? fsconfig(fs, FSCONFIG_SET_STRING, j->keys[i], j->vals[i], 0)
				   : fsconfig(fs, FSCONFIG_SET_FLAG, j->keys[i], NULL, 0);
		if (k < 0)
			return negative_errno();
	}
	/* Layers as open directories (Linux 6.13 overlayfs): the kernel never resolves a
	 * name of ours, so they are the objects we judged in the program's view. */
	for (size_t i = 0; i < j->n_lower; i++)
		if (fsconfig(fs, FSCONFIG_SET_FD, "lowerdir+", NULL, j->lower[i]) < 0)
			return negative_errno();
	if (j->upper >= 0 && fsconfig(fs, FSCONFIG_SET_FD, "upperdir", NULL, j->upper) < 0)
		return negative_errno();
	if (j->work >= 0 && fsconfig(fs, FSCONFIG_SET_FD, "workdir", NULL, j->work) < 0)
		return negative_errno();
	static const struct {
		unsigned long flag;
		const char *name;
	} sbf[] = {{MS_RDONLY, "ro"},
		   {MS_SYNCHRONOUS, "sync"},
		   {MS_DIRSYNC, "dirsync"},
		   {MS_LAZYTIME, "lazytime"}};
	for (size_t i = 0; i < ELEMENTSOF(sbf); i++)
		if ((j->sb_flags & sbf[i].flag) &&
		    fsconfig(fs, FSCONFIG_SET_FLAG, sbf[i].name, NULL, 0) < 0)
			return negative_errno();
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return negative_errno();
	int m = fsmount(fs, FSMOUNT_CLOEXEC, (unsigned)j->attr.attr_set);
	if (m < 0)
		return negative_errno();
	*ret_mnt = m;
	return 0;
}

static int job_bind(const struct job *j, int *ret_mnt)
{
	/* Always recursive: a bind without the mounts below its source would show what they
	 * hide, such as the paths a container runtime masks with a mount (/proc/kcore...). */
	_cleanup_close_ int t = open_tree(
	    j->source_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
	if (t < 0)
		return negative_errno();
	struct mount_attr a = j->attr;
	if (mount_setattr(t, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) < 0)
		return negative_errno();
	*ret_mnt = TAKE_FD(t);
	return 0;
}

/* A detached mount the new API made for the program: the attributes the rule asks for, on
 * the whole tree (it has no other mount, but nothing below may keep suid or dev). */
static int job_attach(const struct job *j, int *ret_mnt)
{
	struct mount_attr a = j->attr;
	if (mount_setattr(j->source_fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) < 0)
		return negative_errno();
	*ret_mnt = fcntl(j->source_fd, F_DUPFD_CLOEXEC, 0);
	return *ret_mnt < 0 ? negative_errno() : 0;
}

static int job_run(struct job *j)
{
	if (j->kind == JOB_UMOUNT) {
		/*
		 * umount2 takes a name only, and an fd held on the mount would make it busy:
		 * our /proc's magic link to the pinned parent, then the mount point's name,
		 * checked to lead to the very mount we judged (a mount point cannot be renamed
		 * or removed, and nothing is mounted for the program while we hold job_lock).
		 */
		char name[NAME_MAX + 32];
		snprintf(name, sizeof(name), "self/fd/%d/%s", j->target, j->name);
		struct statx sx;
		if (fchdir(j->procfd) < 0 ||
		    statx(AT_FDCWD, name, AT_SYMLINK_NOFOLLOW, STATX_MNT_ID_UNIQUE, &sx) < 0)
			return negative_errno();
		if (sx.stx_mnt_id != j->umount_id)
			return -EPERM;
		if (umount2(name, j->umount_flags | UMOUNT_NOFOLLOW) < 0)
			return negative_errno();
		return 0;
	}
	_cleanup_close_ int m = -1;
	int k = j->kind == JOB_BIND	? job_bind(j, &m)
		: j->kind == JOB_ATTACH ? job_attach(j, &m)
					: job_new(j, &m);
	if (k < 0)
		return k;
	struct statx sx;
	if (statx(m, "", AT_EMPTY_PATH, STATX_MNT_ID_UNIQUE, &sx) < 0)
		return negative_errno();
	j->out->unique = sx.stx_mask & STATX_MNT_ID_UNIQUE;
	j->out->id = sx.stx_mnt_id;
	/* Onto the object pinned in the program's view, never onto a name. */
	if (move_mount(m, "", j->target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return negative_errno();
	return 0;
}

/* Runs in a child of ours that joined the program's namespaces (sb_req_run_in_ns). */
static int job_in_ns(void *arg)
{
	struct job *j = arg;
	if (!j->pid_child)
		return job_run(j);
	/* setns(CLONE_NEWPID) places our children in the program's pid namespace, not us,
	 * and proc takes the pid namespace of the task that calls fsopen. */
	j->out->err = -EIO;
	pid_t pid = fork();
	if (pid < 0)
		return negative_errno();
	if (pid == 0)
		_exit((j->out->err = job_run(j)) < 0);
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return negative_errno();
	return j->out->err;
}

/* ---- deciding ---- */

/* Decoded MS_* flags for the audit line. */
static void note_flags(sb_req *r, const char *type, unsigned long flags)
{
	static const struct {
		unsigned long f;
		const char *n;
	} names[] = {
	    {MS_RDONLY, "MS_RDONLY"},
	    {MS_NOSUID, "MS_NOSUID"},
	    {MS_NODEV, "MS_NODEV"},
	    {MS_NOEXEC, "MS_NOEXEC"},
	    {MS_SYNCHRONOUS, "MS_SYNCHRONOUS"},
	    {MS_REMOUNT, "MS_REMOUNT"},
	    {MS_MANDLOCK, "MS_MANDLOCK"},
	    {MS_DIRSYNC, "MS_DIRSYNC"},
	    {MS_NOSYMFOLLOW, "MS_NOSYMFOLLOW"},
	    {MS_NOATIME, "MS_NOATIME"},
	    {MS_NODIRATIME, "MS_NODIRATIME"},
	    {MS_BIND, "MS_BIND"},
	    {MS_MOVE, "MS_MOVE"},
	    {MS_REC, "MS_REC"},
	    {MS_SILENT, "MS_SILENT"},
	    {MS_UNBINDABLE, "MS_UNBINDABLE"},
	    {MS_PRIVATE, "MS_PRIVATE"},
	    {MS_SLAVE, "MS_SLAVE"},
	    {MS_SHARED, "MS_SHARED"},
	    {MS_RELATIME, "MS_RELATIME"},
	    {MS_STRICTATIME, "MS_STRICTATIME"},
	    {MS_LAZYTIME, "MS_LAZYTIME"},
	};
	sb_req_note *n = sb_req_note_get(r);
	size_t used = (size_t)snprintf(n->flags, sizeof(n->flags), "%s", type);
	for (size_t i = 0; i < ELEMENTSOF(names) && used < sizeof(n->flags); i++)
		if (flags & names[i].f)
			used += (size_t)snprintf(n->flags + used, sizeof(n->flags) - used, "%s%s",
						 used ? "|" : "", names[i].n);
}

/* May pattern match something strictly below the directory real? A glob component is
 * taken to match anything (conservative: a bind of that tree is then refused). */
static bool pattern_below(const struct policy_pattern *pat, const char *real)
{
	size_t j = 0;
	for (const char *p = real;;) {
		while (*p == '/')
			p++;
		if (!*p)
			return j < pat->n_comp;
		size_t len = strcspn(p, "/");
		if (j == pat->n_comp)
			return false; /* it matches a parent: the decision on real covers it */
		const struct policy_comp *c = &pat->comp[j];
		if (c->type == COMP_GLOBSTAR)
			return true;
		if (c->type == COMP_LITERAL &&
		    (c->len != len || memcmp(pat->text + c->off, p, len) != 0))
			return false;
		j++;
		p += len;
	}
}

/*
 * Would a rule give something below real less than want? A bind or an overlay layer shows
 * the whole tree under another name, where rules about the old names no longer apply; the
 * decision on real itself (fs_decide) covers every rule matching real or a parent.
 */
static bool restricted_below(const sb_policy *p, const char *real, enum fs_want want)
{
	size_t rl = strlen(real);
	for (size_t i = 0; i < policy_n_rules(p); i++) {
		const struct policy_rule *rule = policy_rule(p, i);
		switch (rule->kind) {
		case RULE_ALLOW_READ:
			if (want == FS_WANT_READ)
				break;
			/* fall through */
		case RULE_DENY:
		case RULE_HIDE:
			if (pattern_below(&rule->pattern, real))
				return true;
			break;
		case RULE_REDIRECT:
			if (!strncmp(rule->redirect.from, real, rl) &&
			    (rule->redirect.from[rl] == '/' || (rl == 1 && rule->redirect.from[1])))
				return true;
			break;
		default:
			break;
		}
	}
	return false;
}

/* The program's /proc/TID/mountinfo (its mount namespace, mount points as it sees them from
 * its root) in *ret (NUL-terminated, freed by the caller); 1 when it does not fit in 1 MiB. */
static int read_mountinfo(sb_req *r, char **ret)
{
	*ret = NULL;
	int procfd = sb_req_procfd(r);
	if (procfd < 0)
		return procfd;
	_cleanup_close_ int fd = openat(procfd, "mountinfo", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ESRCH ? -ENOENT : negative_errno();
	const size_t size = 1 << 20;
	_cleanup_free_ char *buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	size_t used = 0;
	ssize_t n;
	while (used < size - 1 && (n = read(fd, buf + used, size - 1 - used)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return negative_errno();
		used += (size_t)n;
	}
	if (used >= size - 1)
		return 1;
	buf[used] = 0;
	*ret = TAKE_PTR(buf);
	return 0;
}

/* Is anything mounted strictly below real in the program's mount namespace? */
static int has_submounts(sb_req *r, const char *real)
{
	_cleanup_free_ char *buf = NULL;
	int k = read_mountinfo(r, &buf);
	if (k)
		return k; /* 1: cannot tell, say yes */
	size_t rl = strlen(real);
	char *save;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *mp = line;
		for (int f = 0; f < 4 && mp; f++) {
			mp = strchr(mp, ' ');
			mp = mp ? mp + 1 : NULL;
		}
		if (!mp)
			continue;
		char *end = strchr(mp, ' ');
		if (end)
			*end = 0;
		lift_unoctal(mp);
		if (!strncmp(mp, real, rl) && (mp[rl] == '/' || (rl == 1 && mp[1])) &&
		    mp[rl + (rl > 1)])
			return 1;
	}
	return 0;
}

/*
 * Is the pinned target on a mount of the program's own mount namespace? A directory of a
 * detached tree (a mount the new API made, not yet attached) has a path that reads like one
 * of the namespace's, but a mount there would ride along wherever that tree goes. Returns 0
 * (it is), -EPERM (it is not), or -errno.
 */
static int target_attached(sb_req *r, int pin)
{
	struct statx sx;
	if (statx(pin, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &sx) < 0)
		return negative_errno();
	if (!(sx.stx_mask & STATX_MNT_ID))
		return -EOPNOTSUPP;
	_cleanup_free_ char *buf = NULL;
	int k = read_mountinfo(r, &buf);
	if (k)
		return k < 0 ? k : -EPERM;
	char *save;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (strtoull(line, NULL, 10) == sx.stx_mnt_id)
			return 0;
	return -EPERM;
}

/*
 * A second path of the call (a bind source, an overlay layer), from our copy of it: resolved
 * from the program's root and cwd in the context of the target t, pinned, its real path in
 * real. Never reads the program's memory: that was done before its identity was taken.
 */
static int pin_another(sb_req *r, struct fs_arg *t, const char *path, char *real, size_t size)
{
	if (!*path)
		return -ENOENT;
	bool on_proc;
	/* An fd, or RESOLVE_AT_ROOT (negative, never closed) for an absolute path. */
	_cleanup_close_ int start =
	    resolve_another_start(r, &t->c, AT_FDCWD_ARG, path, false, &on_proc);
	if (start < 0 && start != RESOLVE_AT_ROOT)
		return start;
	struct resolve_ctx c = t->c;
	c.startfd = start;
	c.start_on_proc = on_proc;
	_cleanup_close_ int pin = resolve_pin(&c, start, path, true, 0);
	if (pin < 0)
		return pin;
	int k = resolve_fd_path(pin, real, size);
	return k < 0 ? k : TAKE_FD(pin);
}

/* A directory the program names as an overlay layer, resolved and judged. */
static int layer_open(sb_req *r, struct sb_sandbox *sb, struct fs_arg *t, const char *path,
		      enum fs_want want, int *ret_fd)
{
	char real[PATH_MAX];
	_cleanup_close_ int pin = pin_another(r, t, path, real, sizeof(real));
	if (pin < 0)
		return pin;
	int k = fs_decide(r, sb, real, want);
	if (k)
		return -k;
	if (restricted_below(sb->policy, real, want))
		return -EPERM;
	struct statfs sfs;
	if (fstatfs(pin, &sfs) < 0)
		return negative_errno();
	/* A FUSE server answers what it likes, set-uid root files included, and overlayfs
	 * copies up with our credentials (CVE-2023-0386): never a layer. */
	if (sfs.f_type == FUSE_MAGIC)
		return -EPERM;
	k = has_submounts(r, real);
	if (k)
		return k < 0 ? k : -EPERM; /* the layer would show what those mounts hide */
	/* The program's own access, as overlayfs would check it on each later access. */
	if (faccessat(pin, "", (want == FS_WANT_WRITE ? W_OK : 0) | R_OK | X_OK,
		      AT_EMPTY_PATH | AT_EACCESS) < 0)
		return negative_errno();
	int fd = resolve_reopen(pin, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return fd;
	*ret_fd = fd;
	return 0;
}

/* Splits overlayfs data at commas not escaped by a backslash (ovl_next_opt). */
static char *next_opt(char **s, bool escapes)
{
	char *begin = *s;
	if (!begin)
		return NULL;
	for (char *p = begin; *p; p++) {
		if (escapes && *p == '\\' && p[1]) {
			p++;
		} else if (*p == ',') {
			*p = 0;
			*s = p + 1;
			return begin;
		}
	}
	*s = NULL;
	return begin;
}

/* Drops the escaping backslashes of one layer name ("\:" "\," "\\"). */
static void unescape(char *s)
{
	char *o = s;
	for (; *s; s++) {
		if (*s == '\\' && s[1])
			s++;
		*o++ = *s;
	}
	*o = 0;
}

/* The overlayfs options the supervisor passes on; others would make it follow what the
 * layers' extended attributes say (metacopy, redirects, user xattrs: the program's to
 * write), or are not needed to unpack an image. */
static bool overlay_opt_ok(const char *key, const char *val)
{
	static const char *const free_keys[] = {"index", "xino",       "volatile",
						"uuid",	 "nfs_export", "default_permissions"};
	for (size_t i = 0; i < ELEMENTSOF(free_keys); i++)
		if (!strcmp(key, free_keys[i]))
			return true;
	if (!strcmp(key, "redirect_dir"))
		return val && (!strcmp(val, "off") || !strcmp(val, "nofollow"));
	if (!strcmp(key, "metacopy"))
		return val && !strcmp(val, "off");
	return false;
}

/* Parses mount(2)'s data for the file system, resolving overlayfs layers in the program's
 * view; data is modified (the job points into it). */
static int parse_data(sb_req *r, struct sb_sandbox *sb, struct fs_arg *t, struct job *j, char *data)
{
	bool overlay = !strcmp(j->type, "overlay"), tmpfs = !strcmp(j->type, "tmpfs");
	bool proc = !strcmp(j->type, "proc");
	char *rest = data[0] ? data : NULL;
	for (char *o; (o = next_opt(&rest, overlay));) {
		if (!*o)
			continue;
		char *eq = strchr(o, '=');
		if (eq)
			*eq++ = 0;
		/* tmpfs: mpol=bind:0,1 continues after a comma with a digit
		 * (shmem_parse_monolithic). */
		while (tmpfs && eq && !strcmp(o, "mpol") && rest && *rest >= '0' && *rest <= '9') {
			rest[-1] = ',';
			next_opt(&rest, false);
		}
		if (proc && !strcmp(o, "subset"))
			continue; /* ours below */
		if (!overlay) {
			if (j->n_opts >= MAX_OPTS)
				return -EINVAL;
			j->keys[j->n_opts] = o;
			j->vals[j->n_opts++] = eq;
			continue;
		}
		if (!strcmp(o, "lowerdir") || !strcmp(o, "lowerdir+")) {
			if (!eq || !*eq)
				return -EINVAL;
			bool one = o[8] == '+';
			for (char *p = eq; p;) {
				char *name = p;
				for (; *p && !(*p == ':' && !one); p++)
					if (*p == '\\' && p[1])
						p++;
				bool more = *p == ':';
				*p = 0;
				p = more ? p + 1 : NULL;
				if (!*name)
					return -EPERM; /* "::" data-only layers need metacopy */
				unescape(name);
				if (j->n_lower >= MAX_LOWER)
					return -EINVAL;
				int k =
				    layer_open(r, sb, t, name, FS_WANT_READ, &j->lower[j->n_lower]);
				if (k < 0)
					return k;
				j->n_lower++;
			}
		} else if (!strcmp(o, "upperdir") || !strcmp(o, "workdir")) {
			int *fd = o[0] == 'u' ? &j->upper : &j->work;
			if (!eq || !*eq || *fd >= 0)
				return -EINVAL;
			unescape(eq);
			int k = layer_open(r, sb, t, eq, FS_WANT_WRITE, fd);
			if (k < 0)
				return k;
		} else if (overlay_opt_ok(o, eq)) {
			if (j->n_opts >= MAX_OPTS)
				return -EINVAL;
			j->keys[j->n_opts] = o;
			j->vals[j->n_opts++] = eq;
		} else {
			return -EPERM;
		}
	}
	if (proc) {
		/*
		 * Only the process directories: a full proc instance would hand a container's
		 * root /proc/sysrq-trigger, /proc/sys and /proc/kcore, which its runtime keeps
		 * read-only or masked and the kernel would not have given it.
		 */
		if (j->n_opts >= MAX_OPTS)
			return -EINVAL;
		j->keys[j->n_opts] = "subset";
		j->vals[j->n_opts++] = "pid";
	}
	if (overlay && !j->n_lower)
		return -EINVAL;
	return 0;
}

/* Does the rule's option list name word ("rw")? */
static bool rule_says(const struct policy_rule *rule, const char *word)
{
	const char *o = rule->mount.options;
	size_t wl = strlen(word);
	for (; o && *o; o = strchr(o, ','), o = o ? o + 1 : NULL)
		if (!strncmp(o, word, wl) && (o[wl] == ',' || !o[wl]))
			return true;
	return false;
}

/* MS_* flags of the mount itself as mount_setattr/fsmount attributes. */
static void mount_attrs(unsigned long f, struct mount_attr *a, bool set_atime)
{
	a->attr_set = 0;
	a->attr_clr = 0;
	if (f & MS_RDONLY)
		a->attr_set |= MOUNT_ATTR_RDONLY;
	if (f & MS_NOSUID)
		a->attr_set |= MOUNT_ATTR_NOSUID;
	if (f & MS_NODEV)
		a->attr_set |= MOUNT_ATTR_NODEV;
	if (f & MS_NOEXEC)
		a->attr_set |= MOUNT_ATTR_NOEXEC;
	if (f & MS_NODIRATIME)
		a->attr_set |= MOUNT_ATTR_NODIRATIME;
	if (f & MS_NOSYMFOLLOW)
		a->attr_set |= MOUNT_ATTR_NOSYMFOLLOW;
	if (!set_atime)
		return;
	/* As path_mount(): strictatime wins over noatime, relatime is the default. */
	a->attr_clr |= MOUNT_ATTR__ATIME;
	if (f & MS_STRICTATIME)
		a->attr_set |= MOUNT_ATTR_STRICTATIME;
	else if (f & MS_NOATIME)
		a->attr_set |= MOUNT_ATTR_NOATIME;
	else
		a->attr_set |= MOUNT_ATTR_RELATIME;
}

/* Idempotent: the ops close their job before the answer, the handlers again after. */
static void close_job(struct job *j)
{
	for (size_t i = 0; i < j->n_lower; i++)
		safe_close(j->lower[i]);
	j->n_lower = 0;
	j->upper = safe_close(j->upper);
	j->work = safe_close(j->work);
	j->target = safe_close(j->target);
	j->source_fd = safe_close(j->source_fd);
	if (j->out)
		munmap(j->out, sizeof(*j->out));
	j->out = NULL;
}

/* One mount change at a time: an umount2 checks the mount it removes, and no mount of ours
 * may be stacked on it in between. */
static pthread_mutex_t job_lock = PTHREAD_MUTEX_INITIALIZER;

/* Runs the job in a child that joined the program's namespaces. */
static int job_start(sb_req *r, struct job *j, int ns)
{
	j->out =
	    mmap(NULL, sizeof(*j->out), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (j->out == MAP_FAILED) {
		j->out = NULL;
		return -ENOMEM;
	}
	j->out->err = -EIO;
	j->pid_child = ns & CLONE_NEWPID;
	pthread_mutex_lock(&job_lock);
	int k = sb_req_run_in_ns(r, CLONE_NEWNS | ns, job_in_ns, j);
	pthread_mutex_unlock(&job_lock);
	return k;
}

/* The program may mount by itself: the kernel judges every argument as it would without
 * us. Decided on its credentials in /proc, before any of its memory is read. */
static int native_if_privileged(sb_req *r, struct sb_sandbox *sb)
{
	if (!sb->fs_trivial)
		return 0; /* a path rule to uphold: its mounts are ours to decide */
	int k = lift_may_mount_natively(r);
	if (k <= 0)
		return k;
	sb_req_note_get(r)->action = "allow";
	k = sb_req_reply_continue_unchecked(r);
	return k < 0 && k != -ENOENT ? k : 1;
}

static int refuse(sb_req *r)
{
	sandbox_note_rule(r, "deny", NULL);
	return -EPERM;
}

/* The mount, made by a child of ours in the program's namespaces. */
struct mount_call {
	sb_req *r;
	struct sb_sandbox *sb;
	struct job *j;
	int ns;
	const char *type;
};

/*
 * The ops below close the job (our fds on the target, its parent, the layers) before
 * fs_change answers: each holds a mount of the program's, and the program's next umount2
 * of it (the layers' tmpfs once the overlay is gone) would fail with EBUSY.
 */
static int mount_op(void *arg)
{
	struct mount_call *m = arg;
	int k = job_start(m->r, m->j, m->ns);
	if (k >= 0)
		made_add(m->sb, m->j->out->id, m->j->out->unique, m->type);
	close_job(m->j);
	return k;
}

static int mount_decided(sb_req *r, struct sb_sandbox *sb, unsigned long flags, const char *type,
			 bool foreign)
{
	bool bind = flags & MS_BIND;
	struct job j = {.kind = bind ? JOB_BIND : JOB_NEW,
			.type = type,
			.source = "",
			.upper = -1,
			.work = -1,
			.target = -1,
			.source_fd = -1};
	struct fs_arg t;
	t.fd = t.startfd = -1;
	t.begun = false;
	/* Every string first, with our own identity: a program that changed its uid without
	 * exec is not dumpable, and only our CAP_SYS_PTRACE reads its memory then. */
	char source[PATH_MAX], data[4096];
	int k = lift_read_opt_string(r, sb_req_arg(r, 0), source, sizeof(source));
	if (k >= 0 && !bind)
		k = lift_read_opt_string(r, sb_req_arg(r, 4), data, sizeof(data));
	if (k == -ENAMETOOLONG && !bind)
		k = -EINVAL;
	if (k >= 0 && bind && !source[0])
		k = -EINVAL; /* do_loopback(): no source */
	if (k < 0)
		goto out;
	k = fs_arg_pin(r, NULL, AT_FDCWD_ARG, sb_req_arg(r, 1), true, false, &t);
	if (k < 0)
		goto out;
	k = fs_decide(r, sb, t.real, FS_WANT_READ); /* a hidden or denied target stays so */
	if (k) {
		k = -k;
		goto out;
	}
	k = target_attached(r, t.fd);
	if (k < 0) {
		if (k == -EPERM)
			refuse(r);
		goto out;
	}
	struct mount_decision dec;
	const struct fstype *ft = bind ? NULL : fstype_find(type);
	if (!policy_mount_allowed(sb->policy, type, t.real, flags, &dec) || (!bind && !ft)) {
		k = refuse(r);
		goto out;
	}
	/* From here on the program's capabilities count as they would on the host (the
	 * second path and the layers start again from t.c.creds). */
	if (foreign) {
		t.c.creds.cap_eff = 0;
		k = identity_assume(&t.c.creds);
		if (k < 0)
			goto out;
	}

	unsigned long eff = (flags | dec.add_flags) & ~dec.remove_flags;
	if (!bind && !strcmp(type, "sysfs") && !rule_says(dec.rule, "rw"))
		eff |= MS_RDONLY; /* sysfs attributes are root-writable: reboot, power... */
	if (bind) {
		char real[PATH_MAX];
		j.source_fd = pin_another(r, &t, source, real, sizeof(real));
		if (j.source_fd < 0) {
			k = j.source_fd;
			goto out;
		}
		bool ro = dec.rule->mount.set_flags & MS_RDONLY;
		enum fs_want want = ro ? FS_WANT_READ : FS_WANT_WRITE;
		k = fs_decide(r, sb, real, want);
		if (k) {
			k = -k;
			goto out;
		}
		if (restricted_below(sb->policy, real, want)) {
			k = refuse(r);
			goto out;
		}
		/* mount(2) applies no per-mount flag of the program's to a new bind; the rule's
		 * restrictions apply to every mount of the copied tree. */
		bool atime = dec.rule->mount.clear_flags != 0;
		mount_attrs(dec.rule->mount.set_flags, &j.attr, atime);
	} else {
		j.source = source;
		k = parse_data(r, sb, &t, &j, data);
		if (k < 0) {
			if (k == -EPERM)
				refuse(r);
			goto out;
		}
		j.sb_flags = eff & (MS_RDONLY | MS_SYNCHRONOUS | MS_DIRSYNC | MS_LAZYTIME);
		mount_attrs(eff, &j.attr, true);
	}
	j.target = TAKE_FD(t.fd);
	char target[PATH_MAX];
	strlcpy_sb(target, t.real, sizeof(target));
	fs_arg_end(&t); /* our own identity again: the child needs our capabilities */
	sandbox_note_rule(r, "allow", dec.rule);
	/* Once: a restart of this very call after we mounted gets the lost answer. */
	struct mount_call m = {r, sb, &j, bind ? 0 : ft->ns, type};
	k = fs_change(r, target, source, mount_op, &m);
	close_job(&j);
	return k;
out:
	fs_arg_end(&t);
	close_job(&j);
	return k;
}

static int lift_mount_handler(sb_req *r, void *userdata)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	unsigned long flags = sb_req_arg(r, 3);
	if ((flags & 0xffff0000UL) == MS_MGC_VAL)
		flags &= ~0xffff0000UL; /* the old magic number in the high half */
	note_flags(r, "", flags);
	int k = native_if_privileged(r, sb);
	if (k)
		return k < 0 ? k : 0;
	/* Changing an existing mount is never lent: decided on the flags alone. */
	if (flags & (MS_REMOUNT | MS_MOVE | MS_PROPAGATION))
		return refuse(r);
	char type[256] = "bind";
	if (!(flags & MS_BIND)) {
		k = lift_read_opt_string(r, sb_req_arg(r, 2), type, sizeof(type));
		if (k < 0)
			return k == -ENAMETOOLONG ? refuse(r) : k;
		if (!type[0])
			return -EINVAL; /* do_new_mount(): no type */
	}
	note_flags(r, type, flags);
	int foreign = fs_userns_foreign(r);
	if (foreign < 0)
		return foreign;
	return mount_decided(r, sb, flags, type, foreign);
}

struct umount_call {
	sb_req *r;
	struct sb_sandbox *sb;
	struct job *j;
	uint64_t id;
	bool unique;
};

static int umount_op(void *arg)
{
	struct umount_call *u = arg;
	int k = job_start(u->r, u->j, 0);
	if (k >= 0)
		made_remove(u->sb, u->id, u->unique);
	close_job(u->j);
	return k;
}

static int lift_umount_handler(sb_req *r, void *userdata)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	int flags = (int)sb_req_arg(r, 1);
	if (flags & ~(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW))
		return -EINVAL;
	int k = native_if_privileged(r, sb);
	if (k)
		return k < 0 ? k : 0;
	if (flags & MNT_FORCE)
		return refuse(r); /* capable(CAP_SYS_ADMIN) even for the owner of a mount */
	if ((flags & MNT_EXPIRE) && (flags & MNT_DETACH))
		return -EINVAL;
	struct fs_arg t;
	struct job j = {.kind = JOB_UMOUNT, .upper = -1, .work = -1, .target = -1, .source_fd = -1};
	k = fs_arg_pin(r, NULL, AT_FDCWD_ARG, sb_req_arg(r, 0), !(flags & UMOUNT_NOFOLLOW), false,
		       &t);
	uint64_t id = 0;
	bool unique = false, is_root = false;
	if (k >= 0)
		k = mount_id_of(t.fd, &id, &unique, &is_root);
	if (k >= 0) {
		k = fs_decide(r, sb, t.real, FS_WANT_READ);
		k = k > 0 ? -k : 0;
	}
	/* Only what we mounted, at a place a rule still allows for its type: a mount that
	 * was there before (a runtime's mask, a copy made by a recursive bind) stays. */
	char type[16];
	struct mount_decision dec;
	if (k >= 0 && (!is_root || !made_find(sb, id, unique, type, sizeof(type)) ||
		       !policy_mount_allowed(sb->policy, type, t.real, 0, &dec)))
		k = refuse(r);
	/* The mount point's parent and name (an fd on the mount itself would keep it busy). */
	char name[NAME_MAX + 1], target[PATH_MAX];
	if (k >= 0) {
		const char *base = strrchr(t.real, '/');
		base = base ? base + 1 : "";
		if (!*base || strlen(base) > NAME_MAX) {
			k = -EINVAL; /* the program's root */
		} else {
			strlcpy_sb(name, base, sizeof(name));
			strlcpy_sb(target, t.real, sizeof(target));
			j.target = openat(t.fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
			k = j.target < 0 ? negative_errno() : 0;
		}
	}
	fs_arg_end(&t);
	if (k < 0) {
		close_job(&j);
		return k;
	}
	j.name = name;
	j.umount_id = id;
	j.umount_flags = flags & (MNT_DETACH | MNT_EXPIRE);
	j.procfd = r->s->procfd;
	sandbox_note_rule(r, "allow", dec.rule);
	struct umount_call u = {r, sb, &j, id, unique};
	k = fs_change(r, target, NULL, umount_op, &u);
	close_job(&j);
	return k;
}

/*
 * The rest of the new mount API (fspick, open_tree with OPEN_TREE_CLONE, mount_setattr, and
 * whatever fsconfig, fsmount and move_mount do with a context or a mount we did not make for
 * the program): never lent, so it cannot move, reconfigure or clear the nosuid/nodev of the
 * mounts made above. A program that could use it by itself still can.
 */
static int newapi_refused(sb_req *r, struct sb_sandbox *sb)
{
	int nr = sb_req_nr(r);
	bool harmless = nr == SYS_fsconfig; /* the context came from fsopen or fspick */
	if ((nr == SYS_open_tree || nr == SYS_open_tree_attr) &&
	    !(sb_req_arg(r, 2) & OPEN_TREE_CLONE))
		harmless = true; /* an O_PATH open of what is there: no privilege needed */
	if (harmless && sb->fs_trivial) {
		/* No path rule to apply, numbers and flags in registers, and the kernel's own
		 * checks refuse the rest: it may run the call. */
		sb_req_note_get(r)->action = "allow";
		return sb_req_reply_continue_unchecked(r);
	}
	return refuse(r);
}

static int lift_newapi_handler(sb_req *r, void *userdata)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	int k = native_if_privileged(r, sb);
	if (k)
		return k < 0 ? k : 0;
	return newapi_refused(r, sb);
}

/*
 * ---- the new mount API, lifted for tmpfs ----
 *
 * fsopen("tmpfs") is made by us and the context handed to the program, which sets its
 * parameters itself (none of tmpfs needs a privilege that the kernel would not check on the
 * caller: noswap does, with capable()); we create the superblock (FSCONFIG_CMD_CREATE wants
 * CAP_SYS_ADMIN of the caller) and mount it, detached, nosuid and nodev, for it (fsmount);
 * move_mount then takes the decision, on the target resolved in the program's view, as
 * mount(2) does, and attaches the mount in the program's mount namespace. Only contexts and
 * detached mounts we made count: another context could hold an image file system (ext4 reads
 * a device or file with our privileges), another detached mount a bind of what the rules
 * hide, and an attached mount would be moved.
 */

#ifndef KCMP_FILE
#define KCMP_FILE 0
#endif
#define LIFT_FSCONFIG_CMD_CREATE_EXCL 8 /* 6.6, newer than Debian 12's headers */
#define MOUNT_ATTR_LIFTABLE                                                             \
	(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC | \
	 MOUNT_ATTR__ATIME | MOUNT_ATTR_NODIRATIME | MOUNT_ATTR_NOSYMFOLLOW)
#define MOVE_MOUNT_LIFTABLE                                                          \
	(MOVE_MOUNT_F_SYMLINKS | MOVE_MOUNT_F_AUTOMOUNTS | MOVE_MOUNT_F_EMPTY_PATH | \
	 MOVE_MOUNT_T_SYMLINKS | MOVE_MOUNT_T_AUTOMOUNTS | MOVE_MOUNT_T_EMPTY_PATH)

/* A tmpfs context we opened for a program: our copy of it, to know it again (kcmp). */
struct ctx {
	const void *sb;
	int fd; /* -1: a free slot */
	uint64_t gen;
	/*
	 * A call whose work was done but whose answer was lost (a signal took the program out
	 * of its wait) is restarted by the kernel, with the same registers: the restart gets
	 * the answer, never EBUSY from doing it twice. created: FSCONFIG_CMD_CREATE's;
	 * mnt_id: the mount fsmount made. busy: one of them is under way, and a restart (on
	 * another worker) waits for it.
	 */
	bool created;
	uint64_t mnt_id;
	bool mnt_unique;
	bool busy;
};

#define CTX_MAX 64

static struct ctx ctxs[CTX_MAX] = {[0 ... CTX_MAX - 1] = {.fd = -1}};
static uint64_t ctx_gen;
static pthread_mutex_t ctx_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ctx_cond = PTHREAD_COND_INITIALIZER;

static void ctx_free_locked(struct ctx *c)
{
	safe_close(c->fd);
	*c = (struct ctx){.fd = -1};
}

static void ctx_add(const void *sb, int fd)
{
	int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (copy < 0)
		return; /* then the program's later calls on it are refused */
	pthread_mutex_lock(&ctx_lock);
	/* A free slot, else the oldest: contexts the program never mounted are forgotten
	 * (their later calls refused) rather than kept open for ever. */
	struct ctx *c = NULL;
	for (size_t i = 0; i < CTX_MAX && !c; i++)
		if (ctxs[i].fd < 0)
			c = &ctxs[i];
	for (size_t i = 0; i < CTX_MAX; i++)
		if (!c || ctxs[i].gen < c->gen)
			c = &ctxs[i];
	ctx_free_locked(c);
	*c = (struct ctx){.sb = sb, .fd = copy, .gen = ++ctx_gen};
	pthread_mutex_unlock(&ctx_lock);
}

/* Our context behind fd (the program's, taken with pidfd_getfd), or NULL. Under ctx_lock. */
static struct ctx *ctx_find_locked(const void *sb, int fd)
{
	pid_t self = getpid();
	for (size_t i = 0; i < CTX_MAX; i++)
		if (ctxs[i].fd >= 0 && ctxs[i].sb == sb &&
		    syscall(SYS_kcmp, self, self, KCMP_FILE, ctxs[i].fd, fd) == 0)
			return &ctxs[i];
	return NULL;
}

/* Is the program's fd tfd a context we made for it? Returns 1 with its generation (and a
 * copy of the fd in *ret_fd when asked), 0, or -errno. */
static int ctx_lookup(sb_req *r, struct sb_sandbox *sb, int tfd, uint64_t *ret_gen, int *ret_fd)
{
	_cleanup_close_ int fd = sb_req_getfd(r, tfd);
	if (fd < 0)
		return fd == -EBADF ? 0 : fd;
	pthread_mutex_lock(&ctx_lock);
	struct ctx *c = ctx_find_locked(sb, fd);
	if (c)
		*ret_gen = c->gen;
	pthread_mutex_unlock(&ctx_lock);
	if (c && ret_fd)
		*ret_fd = TAKE_FD(fd);
	return c != NULL;
}

/* The slot found by ctx_lookup, if it was not given to another context since. */
static struct ctx *ctx_by_gen_locked(uint64_t gen)
{
	for (size_t i = 0; i < CTX_MAX; i++)
		if (ctxs[i].fd >= 0 && ctxs[i].gen == gen)
			return &ctxs[i];
	return NULL;
}

/* Waits until no call works on the context gen, then marks it busy; NULL when it is gone. */
static struct ctx *ctx_claim_locked(uint64_t gen)
{
	struct ctx *c;
	while ((c = ctx_by_gen_locked(gen)) && c->busy)
		pthread_cond_wait(&ctx_cond, &ctx_lock);
	if (c)
		c->busy = true;
	return c;
}

static void ctx_release_locked(uint64_t gen)
{
	struct ctx *c = ctx_by_gen_locked(gen);
	if (c)
		c->busy = false;
	pthread_cond_broadcast(&ctx_cond);
}

/*
 * The start of fsconfig and fsmount on the program's fd (argument 0): 1 when it is a context
 * we made for it, with the context's generation and our copy of the fd; else the handler's
 * answer (0: answered natively or by newapi_refused, or -errno).
 */
static int ctx_call_begin(sb_req *r, struct sb_sandbox *sb, uint64_t *ret_gen, int *ret_fd)
{
	int k = native_if_privileged(r, sb);
	if (k)
		return k < 0 ? k : 0;
	k = ctx_lookup(r, sb, (int)sb_req_arg(r, 0), ret_gen, ret_fd);
	if (k <= 0)
		return k < 0 ? k : newapi_refused(r, sb);
	return 1;
}

/* Claims the context gen for this call (ctx_claim_locked) and copies it into *ret: what an
 * earlier call whose answer was lost did. false when the context was forgotten meanwhile. */
static bool ctx_claim(uint64_t gen, struct ctx *ret)
{
	pthread_mutex_lock(&ctx_lock);
	struct ctx *c = ctx_claim_locked(gen);
	if (c)
		*ret = *c;
	pthread_mutex_unlock(&ctx_lock);
	return c != NULL;
}

/* Keeps on the claimed context gen what this call did (done's created, mnt_id and
 * mnt_unique), for a restart after a lost answer; release ends the claim. */
static void ctx_keep(uint64_t gen, const struct ctx *done, bool release)
{
	pthread_mutex_lock(&ctx_lock);
	struct ctx *c = ctx_by_gen_locked(gen);
	if (c) {
		c->created = done->created;
		c->mnt_id = done->mnt_id;
		c->mnt_unique = done->mnt_unique;
	}
	if (release)
		ctx_release_locked(gen);
	pthread_mutex_unlock(&ctx_lock);
}

/* An answer that did not reach the program: its call will come again. */
static bool answer_lost(int k)
{
	/* ADDFD answers ESRCH when the program left its wait while the fd was queued. */
	return k == -ENOENT || k == -ESRCH;
}

/*
 * Detached mounts fsmount made for a program and not attached yet: the only ones move_mount
 * attaches for it, once. fsmount's file is O_PATH, which ADDFD cannot carry, and the detached
 * tree dissolves when that file is closed (dissolve_on_fput): we keep it, and the program gets
 * a directory fd on the mount's root instead. Kept until attached, or until the program's
 * process is gone (pidfd), or, past DETACHED_MAX, the oldest goes.
 */
struct detached {
	const void *sb;
	uint64_t id;
	bool unique;
	unsigned attr; /* what the program asked fsmount for */
	int mnt;       /* fsmount's file; -1: a free slot */
	int pidfd;     /* the program's process */
	uint64_t gen;
};

#define DETACHED_MAX 64

static struct detached detached[DETACHED_MAX] = {
    [0 ... DETACHED_MAX - 1] = {.mnt = -1, .pidfd = -1}};
static uint64_t detached_gen;

static void detached_free(struct detached *d)
{
	safe_close(d->mnt);
	safe_close(d->pidfd);
	*d = (struct detached){.mnt = -1, .pidfd = -1};
}

/* Takes d's fds. Under made_lock, like every access to the table. */
static void detached_put_locked(struct detached *d)
{
	struct detached *slot = NULL;
	for (size_t i = 0; i < DETACHED_MAX; i++) {
		struct pollfd p = {detached[i].pidfd, POLLIN, 0};
		if (detached[i].mnt >= 0 && poll(&p, 1, 0) == 1)
			detached_free(&detached[i]); /* its program exited */
	}
	for (size_t i = 0; i < DETACHED_MAX && !slot; i++)
		if (detached[i].mnt < 0)
			slot = &detached[i];
	for (size_t i = 0; i < DETACHED_MAX; i++)
		if (!slot || detached[i].gen < slot->gen)
			slot = &detached[i];
	detached_free(slot);
	*slot = *d;
	slot->gen = ++detached_gen;
	*d = (struct detached){.mnt = -1, .pidfd = -1};
}

static void detached_put(struct detached *d)
{
	pthread_mutex_lock(&made_lock);
	detached_put_locked(d);
	pthread_mutex_unlock(&made_lock);
}

static struct detached *detached_find_locked(const void *sb, uint64_t id, bool unique)
{
	for (size_t i = 0; i < DETACHED_MAX; i++)
		if (detached[i].mnt >= 0 && detached[i].sb == sb && detached[i].id == id &&
		    detached[i].unique == unique)
			return &detached[i];
	return NULL;
}

/* Takes the entry out, its fds with it (one attach per mount); false when not there. */
static bool detached_take(const void *sb, uint64_t id, bool unique, struct detached *ret)
{
	pthread_mutex_lock(&made_lock);
	struct detached *d = detached_find_locked(sb, id, unique);
	if (d) {
		*ret = *d;
		*d = (struct detached){.mnt = -1, .pidfd = -1};
	}
	pthread_mutex_unlock(&made_lock);
	return d != NULL;
}

/* What fsmount was asked for the entry, or -EPERM when it is not ours. */
static int detached_attr(const void *sb, uint64_t id, bool unique, unsigned *ret)
{
	pthread_mutex_lock(&made_lock);
	struct detached *d = detached_find_locked(sb, id, unique);
	if (d)
		*ret = d->attr;
	pthread_mutex_unlock(&made_lock);
	return d ? 0 : -EPERM;
}

/* A directory fd on the root of the entry's mount, for the program. */
static int detached_dirfd(const void *sb, uint64_t id, bool unique)
{
	pthread_mutex_lock(&made_lock);
	struct detached *d = detached_find_locked(sb, id, unique);
	int fd = d ? openat(d->mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	int k = d ? (fd < 0 ? negative_errno() : fd) : -EIO;
	pthread_mutex_unlock(&made_lock);
	return k;
}

/* A pidfd of the program's process (its thread group), proven by the ID_VALID after. */
static int program_pidfd(sb_req *r)
{
	pid_t tgid = sb_req_tgid(r);
	if (tgid <= 0)
		return -ESRCH;
	int fd = (int)syscall(SYS_pidfd_open, tgid, 0);
	if (fd < 0)
		return negative_errno();
	int v = sb_req_valid(r);
	if (v < 0) {
		safe_close(fd);
		return v;
	}
	return fd;
}

static bool has_tmpfs_rule(const struct sb_sandbox *sb)
{
	for (const struct policy_rule *rule = NULL;
	     (rule = policy_next(sb->policy, RULE_ALLOW_MOUNT, rule));)
		if (!strcmp(rule->mount.fstype, "tmpfs"))
			return true;
	return false;
}

static int lift_fsopen_handler(sb_req *r, void *userdata)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	int k = native_if_privileged(r, sb);
	if (k)
		return k < 0 ? k : 0;
	if (!has_tmpfs_rule(sb))
		return refuse(r);
	char type[64];
	k = lift_read_opt_string(r, sb_req_arg(r, 0), type, sizeof(type));
	if (k < 0)
		return k == -ENAMETOOLONG ? refuse(r) : k;
	note_flags(r, type, 0);
	if (strcmp(type, "tmpfs"))
		return refuse(r);
	unsigned flags = (unsigned)sb_req_arg(r, 1);
	if (flags & ~FSOPEN_CLOEXEC)
		return -EINVAL;
	/* With our own credentials, as mount(2) for the program makes it: the root directory
	 * is root's, mode 1777, unless the program's parameters say otherwise. */
	int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0)
		return negative_errno();
	ctx_add(sb, fs);
	sb_req_note_get(r)->action = "allow";
	k = sb_req_reply_fd_close(r, fs, flags & FSOPEN_CLOEXEC);
	return k < 0 && k != -ENOENT ? k : 0;
}

struct create_call {
	int fd;
	unsigned cmd;
};

static int create_op(void *arg)
{
	struct create_call *c = arg;
	return fsconfig(c->fd, c->cmd, NULL, NULL, 0) < 0 ? negative_errno() : 0;
}

static int lift_fsconfig_handler(sb_req *r, void *userdata)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	uint64_t gen;
	_cleanup_close_ int ours = -1;
	int k = ctx_call_begin(r, sb, &gen, &ours);
	if (k <= 0)
		return k;
	unsigned cmd = (unsigned)sb_req_arg(r, 1);
	if (cmd != FSCONFIG_CMD_CREATE && cmd != LIFT_FSCONFIG_CMD_CREATE_EXCL) {
		/* A parameter of our tmpfs context (or, should another thread swap the fd
		 * meanwhile, of whatever context: setting one needs no privilege): decided on
		 * registers. */
		sb_req_note_get(r)->action = "allow";
		return sb_req_reply_continue_unchecked(r);
	}
	if (sb_req_arg(r, 2) || sb_req_arg(r, 3) || sb_req_arg(r, 4))
		return -EINVAL; /* vfs_fsconfig: a command takes no key, value or aux */
	sb_req_note_get(r)->action = "allow";
	struct ctx was;
	if (!ctx_claim(gen, &was))
		return -EPERM; /* forgotten meanwhile */
	bool again = was.created;
	/* Last look: a call the program gave up is not made (its restart will be). */
	k = again ? 0 : sb_req_valid(r);
	if (k >= 0 && !again) {
		struct create_call cc = {ours, cmd};
		k = create_op(&cc);
	}
	int sent = k >= 0 ? sb_req_reply_value(r, 0) : 0;
	was.created = k >= 0 && answer_lost(sent);
	ctx_keep(gen, &was, true);
	return k < 0 ? k : 0;
}

static int lift_fsmount_handler(sb_req *r, void *userdata)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	uint64_t gen;
	_cleanup_close_ int ours = -1;
	int k = ctx_call_begin(r, sb, &gen, &ours);
	if (k <= 0)
		return k;
	unsigned flags = (unsigned)sb_req_arg(r, 1), attr = (unsigned)sb_req_arg(r, 2);
	if ((flags & ~FSMOUNT_CLOEXEC) || (attr & ~MOUNT_ATTR_LIFTABLE))
		return -EINVAL;
	sb_req_note_get(r)->action = "allow";
	/* A restart of a call whose mount was made but whose answer was lost gets that mount
	 * (the context is spent: a second fsmount would fail with EBUSY). */
	struct detached d = {.sb = sb, .attr = attr, .mnt = -1, .pidfd = -1};
	struct ctx was;
	if (!ctx_claim(gen, &was))
		return -EPERM; /* forgotten meanwhile */
	d.id = was.mnt_id;
	d.unique = was.mnt_unique;
	if (!d.id) {
		/* The pidfd first: once mounted, nothing may fail before the mount is kept (the
		 * context is spent, and a restart would find it so). */
		k = d.pidfd = program_pidfd(r);
		if (k >= 0) {
			/* nosuid and nodev until move_mount knows the rule that may waive them. */
			d.mnt = fsmount(ours, FSMOUNT_CLOEXEC,
					attr | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
			k = d.mnt < 0 ? negative_errno()
				      : mount_id_of(d.mnt, &d.id, &d.unique, NULL);
		}
		uint64_t id = d.id;
		bool unique = d.unique;
		if (k < 0)
			detached_free(&d);
		else
			detached_put(&d);
		was.mnt_id = k < 0 ? 0 : id;
		was.mnt_unique = unique;
		ctx_keep(gen, &was, k < 0);
		if (k < 0)
			return k;
		d.id = id;
		d.unique = unique;
	}
	int fd = detached_dirfd(sb, d.id, d.unique);
	k = fd < 0 ? fd : sb_req_reply_fd_close(r, fd, flags & FSMOUNT_CLOEXEC);
	pthread_mutex_lock(&ctx_lock);
	struct ctx *c = ctx_by_gen_locked(gen);
	/* Answered: we hold no context the program may have let go. */
	if (c && !answer_lost(k))
		ctx_free_locked(c);
	ctx_release_locked(gen);
	pthread_mutex_unlock(&ctx_lock);
	return k < 0 && !answer_lost(k) ? k : 0;
}

/* MOUNT_ATTR_* of fsmount as the MS_* flags the rules speak of. */
static unsigned long attr_to_ms(unsigned attr)
{
	unsigned long f = 0;
	if (attr & MOUNT_ATTR_RDONLY)
		f |= MS_RDONLY;
	if (attr & MOUNT_ATTR_NOSUID)
		f |= MS_NOSUID;
	if (attr & MOUNT_ATTR_NODEV)
		f |= MS_NODEV;
	if (attr & MOUNT_ATTR_NOEXEC)
		f |= MS_NOEXEC;
	if (attr & MOUNT_ATTR_NODIRATIME)
		f |= MS_NODIRATIME;
	if (attr & MOUNT_ATTR_NOSYMFOLLOW)
		f |= MS_NOSYMFOLLOW;
	if ((attr & MOUNT_ATTR__ATIME) == MOUNT_ATTR_NOATIME)
		f |= MS_NOATIME;
	else if ((attr & MOUNT_ATTR__ATIME) == MOUNT_ATTR_STRICTATIME)
		f |= MS_STRICTATIME;
	return f;
}

struct attach_call {
	sb_req *r;
	struct sb_sandbox *sb;
	struct job *j;
	uint64_t id;
	bool unique;
};

static int attach_op(void *arg)
{
	struct attach_call *a = arg;
	struct detached d;
	/* Once: two threads attaching one mount would otherwise move it on the second. */
	if (!detached_take(a->sb, a->id, a->unique, &d))
		return -EPERM;
	a->j->source_fd = d.mnt;
	int k = job_start(a->r, a->j, 0);
	a->j->source_fd = -1;
	if (k >= 0) {
		made_add(a->sb, a->id, a->unique, "tmpfs");
		detached_free(&d); /* closes d.mnt: attached, the mount no longer needs it */
	} else {
		detached_put(&d); /* still detached, still the program's */
	}
	close_job(a->j);
	return k;
}

static int lift_move_mount_handler(sb_req *r, void *userdata)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	int k = native_if_privileged(r, sb);
	if (k)
		return k < 0 ? k : 0;
	unsigned flags = (unsigned)sb_req_arg(r, 4);
	note_flags(r, "tmpfs", 0);
	/* Only "this detached mount of ours, there": from an fd, never a path. */
	if (!(flags & MOVE_MOUNT_F_EMPTY_PATH) || (flags & ~MOVE_MOUNT_LIFTABLE))
		return refuse(r);
	char from[8];
	k = lift_read_opt_string(r, sb_req_arg(r, 1), from, sizeof(from));
	if (k == -ENAMETOOLONG || (k >= 0 && from[0]))
		return refuse(r);
	if (k < 0)
		return k;
	_cleanup_close_ int src = sb_req_getfd(r, (int)sb_req_arg(r, 0));
	if (src < 0)
		return src;
	struct detached d = {.sb = sb, .mnt = -1, .pidfd = -1};
	bool root;
	k = mount_id_of(src, &d.id, &d.unique, &root);
	if (k < 0)
		return k;
	src = safe_close(src);
	/* Looked up, not taken: the decision below may still refuse. */
	if (!root || detached_attr(sb, d.id, d.unique, &d.attr) < 0)
		return refuse(r);
	struct job j = {.kind = JOB_ATTACH, .upper = -1, .work = -1, .target = -1, .source_fd = -1};
	struct fs_arg t;
	t.fd = t.startfd = -1;
	t.begun = false;
	k = fs_arg_pin(r, NULL, (int)sb_req_arg(r, 2), sb_req_arg(r, 3),
		       flags & MOVE_MOUNT_T_SYMLINKS, flags & MOVE_MOUNT_T_EMPTY_PATH, &t);
	if (k >= 0) {
		k = fs_decide(r, sb, t.real, FS_WANT_READ);
		k = k > 0 ? -k : 0;
	}
	if (k >= 0)
		k = target_attached(r, t.fd);
	unsigned long ms = attr_to_ms(d.attr);
	struct mount_decision dec;
	if (k >= 0 && !policy_mount_allowed(sb->policy, "tmpfs", t.real, ms, &dec))
		k = -EPERM;
	if (k == -EPERM)
		refuse(r);
	char target[PATH_MAX];
	if (k >= 0) {
		mount_attrs((ms | dec.add_flags) & ~dec.remove_flags, &j.attr, true);
		/* What fsmount set and the rule does not keep goes (nosuid/nodev when waived). */
		j.attr.attr_clr |= MOUNT_ATTR_LIFTABLE & ~MOUNT_ATTR__ATIME & ~j.attr.attr_set;
		j.target = TAKE_FD(t.fd);
		strlcpy_sb(target, t.real, sizeof(target));
	}
	fs_arg_end(&t);
	if (k < 0) {
		close_job(&j);
		return k;
	}
	sandbox_note_rule(r, "allow", dec.rule);
	struct attach_call a = {r, sb, &j, d.id, d.unique};
	k = fs_change(r, target, "", attach_op, &a);
	close_job(&j);
	return k;
}

void lift_sandbox_free(const struct sb_sandbox *sb)
{
	pthread_mutex_lock(&ctx_lock);
	for (size_t i = 0; i < CTX_MAX; i++)
		if (ctxs[i].fd >= 0 && ctxs[i].sb == sb)
			ctx_free_locked(&ctxs[i]);
	pthread_mutex_unlock(&ctx_lock);
	pthread_mutex_lock(&made_lock);
	for (size_t i = 0; i < DETACHED_MAX; i++)
		if (detached[i].mnt >= 0 && detached[i].sb == sb)
			detached_free(&detached[i]);
	/* Its address may serve another sandbox next: nothing made for this one counts then. */
	for (size_t i = 0; i < n_made; i++)
		if (made[i].sb == sb)
			made[i].sb = NULL;
	pthread_mutex_unlock(&made_lock);
}

static bool wants_mount(const struct sb_sandbox *sb)
{
	return policy_next(sb->policy, RULE_ALLOW_MOUNT, NULL) != NULL;
}

static const struct fs_row mount_rows[] = {
    {SYS_mount, lift_mount_handler},	      {SYS_umount2, lift_umount_handler},
    {SYS_open_tree, lift_newapi_handler},     {SYS_move_mount, lift_move_mount_handler},
    {SYS_fsopen, lift_fsopen_handler},	      {SYS_fsconfig, lift_fsconfig_handler},
    {SYS_fsmount, lift_fsmount_handler},      {SYS_fspick, lift_newapi_handler},
    {SYS_mount_setattr, lift_newapi_handler}, {SYS_open_tree_attr, lift_newapi_handler},
};

const struct fs_family lift_mount_family = {"mount", mount_rows, ELEMENTSOF(mount_rows),
					    wants_mount};
