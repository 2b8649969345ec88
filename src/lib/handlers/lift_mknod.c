/* mknod and mknodat: the character devices allow-mknod names (and overlayfs whiteouts) are
 * created for a program that lacks CAP_MKNOD, by the supervisor, in the program's view and
 * with the owner and mode the program would get; block devices and any other device are
 * refused, and FIFOs, sockets and files get exactly the kernel's own answer. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fs.h"
#include "fs_common.h"
#include "fs_write.h"
#include "identity.h"
#include "lift_common.h"
#include "macros.h"
#include "policy/policy.h"

/* The kernel's 32-bit device number (new_decode_dev): 12 bits of major, 20 of minor. */
static dev_t decode_dev(uint32_t d)
{
	return makedev((d & 0xfff00) >> 8, (d & 0xff) | ((d >> 12) & 0xfff00));
}

static void note_mode(sb_req *r, mode_t mode, dev_t dev)
{
	static const struct {
		mode_t type;
		const char *name;
	} types[] = {{S_IFREG, "S_IFREG"}, {S_IFCHR, "S_IFCHR"},   {S_IFBLK, "S_IFBLK"},
		     {S_IFIFO, "S_IFIFO"}, {S_IFSOCK, "S_IFSOCK"}, {S_IFDIR, "S_IFDIR"}};
	const char *t = "0";
	for (size_t i = 0; i < ELEMENTSOF(types); i++)
		if ((mode & S_IFMT) == types[i].type)
			t = types[i].name;
	sb_req_note *n = sb_req_note_get(r);
	if (S_ISCHR(mode) || S_ISBLK(mode))
		snprintf(n->flags, sizeof(n->flags), "%s|0%o %u:%u", t, mode & 07777, major(dev),
			 minor(dev));
	else
		snprintf(n->flags, sizeof(n->flags), "%s|0%o", t, mode & 07777);
}

struct mknod_call {
	int dirfd;
	const char *name;
	mode_t mode;
	dev_t dev;
};

static int mknod_op(void *arg)
{
	const struct mknod_call *m = arg;
	return mknodat(m->dirfd, m->name, m->mode, m->dev) < 0 ? negative_errno() : 0;
}

/*
 * Creates the node ourselves: the parent resolved and judged in the program's view, then
 * mknodat(parent, name) with the program's fsuid/fsgid, groups and umask, its capabilities
 * as they count on the host, and CAP_MKNOD added when a rule lends it; once, whatever
 * signals restart the call (fs_change).
 */
static int mknod_emulated(sb_req *r, struct sb_sandbox *sb, int dirfd, uint64_t addr, mode_t mode,
			  dev_t dev, const struct policy_rule *lend)
{
	int foreign = fs_userns_foreign(r);
	if (foreign < 0)
		return foreign;
	_cleanup_(fs_arg_endp) struct fs_arg a = {.fd = -1, .startfd = -1};
	int k = fs_arg_parent(r, NULL, dirfd, addr, &a);
	if (k < 0)
		return k;
	k = fs_decide_name(r, sb, &a);
	if (k < 0)
		return k;
	sb_creds cr = a.c.creds;
	cr.cap_eff = (foreign ? 0 : cr.cap_eff) | (lend ? 1ULL << LIFT_CAP_MKNOD : 0);
	k = identity_assume(&cr);
	if (k < 0)
		return k;
	if (lend)
		sandbox_note_rule(r, "allow", lend); /* the audit names the rule that lent */
	struct mknod_call m = {a.fd, a.name, mode, dev};
	return fs_change(r, a.path, NULL, mknod_op, &m);
}

static int lift_mknod_handler(sb_req *r, void *userdata)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	bool at = sb_req_nr(r) == SYS_mknodat;
	int dirfd = at ? (int)sb_req_arg(r, 0) : AT_FDCWD_ARG;
	uint64_t addr = sb_req_arg(r, at ? 1 : 0);
	mode_t mode = (uint16_t)sb_req_arg(r, at ? 2 : 1); /* umode_t */
	dev_t dev = decode_dev((uint32_t)sb_req_arg(r, at ? 3 : 2));
	note_mode(r, mode, dev);

	/* Everything here is decided on register values, before any memory is read. */
	const struct policy_rule *rule = NULL;
	switch (mode & S_IFMT) {
	case 0:
	case S_IFREG:
	case S_IFIFO:
	case S_IFSOCK:
		break; /* no privilege needed: the kernel's answer is the program's */
	case S_IFCHR:
	case S_IFBLK:
		rule = policy_mknod_allowed(sb->policy, mode, dev);
		if (rule)
			break;
		/* A whiteout needs no privilege since Linux 5.8 (vfs_mknod): native. Any other
		 * device, and a block device always, is what the kernel refuses a program
		 * without CAP_MKNOD. */
		if (S_ISCHR(mode) && dev == makedev(0, 0))
			break;
		sandbox_note_rule(r, "deny", NULL);
		return -EPERM;
	case S_IFDIR:
		return -EPERM; /* may_mknod(): mkdir is the way */
	default:
		return -EINVAL;
	}
	if (!rule && sb->fs_trivial) {
		/* Nothing lent, no path rule to apply: mode and device are register values
		 * and the kernel checks the path itself, so it may run the call. */
		sb_req_note_get(r)->action = "allow";
		return sb_req_reply_continue_unchecked(r);
	}
	return mknod_emulated(r, sb, dirfd, addr, mode, dev, rule);
}

static bool wants_mknod(const struct sb_sandbox *sb)
{
	return policy_next(sb->policy, RULE_ALLOW_MKNOD, NULL) != NULL;
}

static const struct fs_row mknod_rows[] = {
    {SYS_mknod, lift_mknod_handler},
    {SYS_mknodat, lift_mknod_handler},
};

const struct fs_family lift_mknod_family = {"mknod", mknod_rows, ELEMENTSOF(mknod_rows),
					    wants_mknod};
