/* Sandboxes: a policy with its outputs, the handler families that enforce it, and the audit
 * record written after every answer. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "handlers/fs.h"
#include "handlers/fs_chdir.h"
#include "handlers/lift_common.h"
#include "handlers/net_common.h"
#include "learn.h"
#include "macros.h"
#include "sandbox.h"
#include "strutil.h"

static const struct fs_family *const families[] = {
	&fs_open_family,
	&fs_stat_family,
	&fs_access_family,
	&fs_readlink_family,
	&fs_getxattr_family,
	&fs_inotify_family,
	&fs_getdents_family,
	&fs_chdir_family,
	/* Path syscalls that change the filesystem, and calls refused under fs rules. */
	&fs_mkdir_family,
	&fs_mknod_family, /* before any allow-mknod family: a later one replaces it */
	&fs_unlink_family,
	&fs_rename_family,
	&fs_link_family,
	&fs_symlink_family,
	&fs_attr_family,
	&fs_xattr_family,
	&fs_refuse_family,
	/* Network rules, net-broker and publish (net_common.h says which each needs). */
	&net_connect_family,
	&net_send_family,
	&net_bind_family,
	&net_publish_family,
	/* Lifting (allow-mount, allow-mknod, sysinfo cgroup): last, so that with a rule their
	 * handlers (which apply the path rules too) replace the ones above. */
	&lift_mount_family,
	&lift_mknod_family,
	&lift_sysinfo_family,
};

int sb_sandbox_new(sb_sandbox **ret, sb_policy *policy, const sb_sandbox_opts *opts)
{
	struct sb_sandbox *sb = calloc(1, sizeof(*sb));
	if (!sb)
		return -ENOMEM;
	sb->policy = policy;
	sb->fs_trivial = policy_fs_is_trivial(policy);
	if (opts && opts->learn) {
		/* Learning needs every path noted, so every call is resolved and decided. */
		sb->learn = learn_new();
		if (!sb->learn) {
			free(sb);
			return -ENOMEM;
		}
		sb->fs_trivial = false;
	}
	sb->fs_redirect = policy_next(policy, RULE_REDIRECT, NULL) != NULL;
	sb->fs_hide = policy_next(policy, RULE_HIDE, NULL) != NULL;
	sb->audit_fd = opts ? opts->audit_fd : -1;
	if (opts && opts->label) {
		sb->label = strdup(opts->label);
		if (!sb->label) {
			free(sb);
			return -ENOMEM;
		}
	}
	sb->userdata = opts ? opts->userdata : NULL;
	int r = net_sandbox_new(sb);
	if (r < 0) {
		free(sb->label);
		free(sb);
		return r;
	}
	pthread_mutex_init(&sb->lock, NULL);
	*ret = sb;
	return 0;
}

void sb_sandbox_free(sb_sandbox *sb)
{
	if (!sb)
		return;
	net_sandbox_free(sb); /* before the policy: the publisher's listeners name its rules */
	lift_sandbox_free(sb);
	sb_policy_free(sb->policy);
	learn_free(sb->learn);
	pthread_mutex_destroy(&sb->lock);
	free(sb->label);
	free(sb);
}

void *sb_sandbox_userdata(sb_sandbox *sb)
{
	return sb->userdata;
}

bool sandbox_wants_fs(const struct sb_sandbox *sb)
{
	return !sb->fs_trivial || sb->audit_fd >= 0;
}

bool sandbox_records(const struct sb_sandbox *sb)
{
	return sb->audit_fd >= 0 || sb->learn;
}

void sandbox_note_rule(sb_req *r, const char *action, const struct policy_rule *rule)
{
	sb_req_note *n = sb_req_note_get(r);
	n->action = action;
	static __thread char origin[512];
	policy_rule_origin(rule, origin, sizeof(origin));
	n->rule = origin;
}

/*
 * The process behind a call for its audit line: its pid (sb_req_tgid keeps it) and comm. Read
 * before the answer: once the call is answered the process may exit at once, and its /proc
 * entry with it (the line would say pid 0 and no comm).
 */
static void note_process(sb_req *r)
{
	sb_req_note *n = sb_req_note_get(r);
	sb_req_tgid(r);
	int procfd = sb_req_procfd(r);
	if (procfd < 0)
		return;
	_cleanup_close_ int fd = openat(procfd, "comm", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t k = read(fd, n->comm, sizeof(n->comm) - 1);
	n->comm[k > 0 ? k : 0] = 0;
	n->comm[strcspn(n->comm, "\n")] = 0;
}

/* Appends "key":"escaped" to a line buffer. */
static size_t put_str(char *buf, size_t used, size_t size, const char *key, const char *val)
{
	if (used >= size)
		return used;
	used += (size_t)snprintf(buf + used, size - used, ",\"%s\":\"", key);
	if (used >= size)
		return used;
	used += json_escape(buf + used, size - used, val);
	if (used < size)
		used += (size_t)snprintf(buf + used, size - used, "\"");
	return used;
}

static void audit_write(sb_req *r, int64_t result, int err, void *userdata)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	if (sb && sb->learn)
		learn_note(sb->learn, r);
	if (!sb || sb->audit_fd < 0)
		return;
	sb_req_note *n = sb_req_note_get(r);
	char buf[16384];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	/* Taken before the answer (sandbox_dispatch); a call no family handled is read now. */
	if (!n->comm[0])
		note_process(r);
	const char *name = sb_syscall_name(sb_req_nr(r));
	size_t used = (size_t)snprintf(
		buf, sizeof(buf),
		"{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ\",\"pid\":%d,\"tid\":%d",
		tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		ts.tv_nsec / 1000, (int)sb_req_tgid(r), (int)sb_req_tid(r));
	if (sb->label)
		used = put_str(buf, used, sizeof(buf), "container", sb->label);
	used = put_str(buf, used, sizeof(buf), "comm", n->comm);
	used = put_str(buf, used, sizeof(buf), "syscall", name ? name : "unknown");
	if (n->path[0])
		used = put_str(buf, used, sizeof(buf), "path", n->path);
	if (n->path2[0])
		used = put_str(buf, used, sizeof(buf), "path2", n->path2);
	if (n->addr[0])
		used = put_str(buf, used, sizeof(buf), "addr", n->addr);
	if (n->flags[0])
		used = put_str(buf, used, sizeof(buf), "flags", n->flags);
	const char *action = n->action ? n->action : (err ? "error" : "emulate");
	/* Allowed, but the operation itself failed; a connect in progress has not failed. */
	if (err && err != EINPROGRESS && n->action && !strcmp(n->action, "allow"))
		action = "error";
	used = put_str(buf, used, sizeof(buf), "action", action);
	if (err) {
		const char *en = strerrorname_np(err);
		used = put_str(buf, used, sizeof(buf), "errno", en ? en : "EIO");
		if (used < sizeof(buf))
			used += (size_t)snprintf(buf + used, sizeof(buf) - used, ",\"result\":-1");
	} else if (used < sizeof(buf)) {
		used += (size_t)snprintf(buf + used, sizeof(buf) - used, ",\"result\":%lld",
					 (long long)result);
	}
	used = put_str(buf, used, sizeof(buf), "rule", n->rule ? n->rule : "default");
	if (used + 2 > sizeof(buf))
		used = sizeof(buf) - 2; /* a path this long is cut rather than lost */
	buf[used++] = '}';
	buf[used++] = '\n';
	/* One write per line under the lock: lines from parallel workers never interleave. */
	pthread_mutex_lock(&sb->lock);
	size_t off = 0;
	while (off < used) {
		ssize_t w = write(sb->audit_fd, buf + off, used - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	pthread_mutex_unlock(&sb->lock);
}

/* Every call of the families passes here first, for what the sandbox does before any handler:
 * the process is noted for the audit line while it surely exists, and a cwd a chdir may have
 * taken into a denied place is checked (fs_chdir.c). */
static int sandbox_dispatch(sb_req *r, void *userdata)
{
	const struct fs_row *row = userdata;
	struct sb_sandbox *sb = sb_req_listener_data(r);
	if (sb && sb->audit_fd >= 0)
		note_process(r);
	int k = fs_cwd_check(r);
	if (k < 0)
		return k;
	return row->fn(r, NULL);
}

int sb_sandbox_install(sb_supervisor *s, const sb_sandbox *only)
{
	for (size_t f = 0; f < ELEMENTSOF(families); f++) {
		/* A family the sandbox has no use for stays out of the filter: its calls then
		 * run natively at full speed (SPEC 6: unneeded syscalls are never notified). */
		if (only && families[f]->wanted && !families[f]->wanted(only))
			continue;
		for (size_t i = 0; i < families[f]->n_rows; i++) {
			const struct fs_row *row = &families[f]->rows[i];
			int r = sb_on_syscall(s, row->nr, sandbox_dispatch, (void *)row);
			for (unsigned a = 0; a < 6 && r == 0; a++)
				if (row->native_if_zero & (1u << a))
					r = filter_native_if_zero(s, row->nr, a);
			if (r < 0)
				return r;
		}
	}
	sb_on_answer(s, audit_write, NULL);
	return 0;
}
