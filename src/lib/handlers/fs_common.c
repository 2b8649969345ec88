/* Shared steps of the filesystem handler families: one path argument resolved in the
 * target's view and pinned, and the policy's answer for the object reached. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fs_common.h"
#include "macros.h"
#include "strutil.h"

int fs_decide(sb_req *r, struct sb_sandbox *sb, const char *real, enum fs_want want)
{
	if (sb->fs_trivial) {
		sb_req_note_get(r)->action = "allow";
		return 0; /* no fs rule: nothing to decide, only the resolution matters */
	}
	struct fs_decision d;
	policy_fs_decide(sb->policy, real, &d);
	switch (d.access) {
	case FS_ALLOW:
		sandbox_note_rule(r, "allow", d.rule);
		return 0;
	case FS_ALLOW_READ:
		sandbox_note_rule(r, want == FS_WANT_WRITE ? "deny" : "allow", d.rule);
		return want == FS_WANT_WRITE ? EACCES : 0;
	case FS_HIDE:
		sandbox_note_rule(r, "hide", d.rule);
		return ENOENT;
	case FS_DENY:
	default:
		sandbox_note_rule(r, "deny", d.rule);
		return EACCES;
	}
}

/* Reads the path and sets up where its walk starts (sharing first's context if given). */
static int arg_begin(sb_req *r, struct fs_arg *first, int dirfd, uint64_t addr,
		     bool empty_path, struct fs_arg *a)
{
	a->begun = false;
	a->startfd = -1;
	a->fd = -1;
	a->name[0] = a->real[0] = 0;
	int k = sb_req_read_string(r, addr, a->path, sizeof(a->path));
	if (k < 0)
		return k;
	if (!a->path[0] && !empty_path)
		return -ENOENT;
	if (!first) {
		k = resolve_begin(r, dirfd, a->path, empty_path, &a->c);
		if (k < 0)
			return k;
		a->begun = true;
		a->startfd = a->c.startfd;
		return 0;
	}
	a->c = first->c;
	bool on_proc;
	int start = resolve_another_start(r, &first->c, dirfd, a->path, empty_path, &on_proc);
	if (start < 0 && start != RESOLVE_AT_ROOT)
		return start;
	a->c.startfd = a->startfd = start;
	a->c.start_on_proc = on_proc;
	return 0;
}

static void note_path(sb_req *r, const char *real)
{
	sb_req_note *n = sb_req_note_get(r);
	if (!n->path[0])
		strlcpy_sb(n->path, real, sizeof(n->path));
}

int fs_arg_pin(sb_req *r, struct fs_arg *first, int dirfd, uint64_t addr, bool follow,
	       bool empty_path, struct fs_arg *a)
{
	int k = arg_begin(r, first, dirfd, addr, empty_path, a);
	if (k < 0)
		return k;
	if (!a->path[0])
		a->fd = fcntl(a->startfd, F_DUPFD_CLOEXEC, 0); /* AT_EMPTY_PATH: the dirfd itself */
	else
		a->fd = resolve_pin(&a->c, a->startfd, a->path, follow, 0);
	if (a->fd < 0)
		return a->fd == -1 ? negative_errno() : a->fd;
	k = resolve_fd_path(a->fd, a->real, sizeof(a->real));
	if (k < 0)
		return k;
	note_path(r, a->real);
	return 0;
}

int fs_arg_parent(sb_req *r, struct fs_arg *first, int dirfd, uint64_t addr, struct fs_arg *a)
{
	int k = arg_begin(r, first, dirfd, addr, false, a);
	if (k < 0)
		return k;
	a->fd = resolve_parent(&a->c, a->startfd, a->path, a->name, sizeof(a->name));
	if (a->fd < 0)
		return a->fd;
	k = resolve_fd_path(a->fd, a->real, sizeof(a->real));
	if (k < 0)
		return k;
	size_t rl = strlen(a->real);
	if (rl + 1 + strlen(a->name) >= sizeof(a->real))
		return -ENAMETOOLONG;
	snprintf(a->real + rl, sizeof(a->real) - rl, "%s%s", rl > 1 ? "/" : "", a->name);
	note_path(r, a->real);
	return 0;
}

void fs_arg_end(struct fs_arg *a)
{
	a->fd = safe_close(a->fd);
	if (a->begun) {
		resolve_end(&a->c); /* closes c.startfd and gives back our identity */
		a->begun = false;
	} else {
		safe_close(a->startfd);
	}
	a->startfd = -1;
}
