/* bind(2): decided on our copy of the address and performed by the supervisor on the
 * program's own socket, with the program's capabilities (privileged ports) and, for a unix
 * socket file, its root, cwd and identity; a bind to a published port is remembered. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "engine.h"
#include "fs.h"
#include "fs_common.h"
#include "macros.h"
#include "net_common.h"
#include "resolve.h"

#ifndef SIOCUNIXFILE
#define SIOCUNIXFILE (SIOCPROTOPRIVATE + 0) /* 5.7: an O_PATH fd on a unix socket's file */
#endif

/* Removes the socket file at fd (O_PATH) if the name still leads to it: best effort. */
static void unlink_socket_file(int fd)
{
	char real[PATH_MAX];
	if (resolve_fd_path(fd, real, sizeof(real)) < 0)
		return;
	char *slash = strrchr(real, '/');
	if (!slash || !slash[1])
		return;
	*slash = 0;
	_cleanup_close_ int dir = open(real[0] ? real : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct stat a, b;
	if (dir < 0 || fstat(fd, &a) < 0 || fstatat(dir, slash + 1, &b, AT_SYMLINK_NOFOLLOW) < 0 ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return;
	unlinkat(dir, slash + 1, 0);
}

/*
 * A unix socket file. The kernel keeps the name exactly as bound (getsockname, and the peer
 * address others see), so the bind must be given the program's own string, resolved from its
 * root and cwd like the program would. What the string reached is judged first (the parent
 * directory we pinned, plus the name); that the file was created there is checked after, on
 * the file itself (SIOCUNIXFILE): a directory swapped meanwhile for a symlink elsewhere is
 * caught, the file removed and the bind refused.
 */
static int unix_bind(sb_req *r, struct sb_sandbox *sb, const struct net_sock *s,
		     const struct net_dest *d)
{
	const struct sockaddr_un *sun = (const struct sockaddr_un *)&d->ss;
	size_t n = d->len - offsetof(struct sockaddr_un, sun_path);
	char path[sizeof(sun->sun_path) + 1];
	size_t pl = strnlen(sun->sun_path, n);
	memcpy(path, sun->sun_path, pl);
	path[pl] = 0;

	struct resolve_ctx c;
	int k = resolve_begin(r, AT_FDCWD_ARG, path, false, &c);
	if (k < 0)
		return k;
	char name[NAME_MAX + 2], real[PATH_MAX];
	_cleanup_close_ int parent = resolve_parent(&c, c.startfd, path, name, sizeof(name));
	if (parent < 0) {
		resolve_end(&c);
		return parent;
	}
	k = resolve_fd_path(parent, real, sizeof(real));
	size_t rl = k < 0 ? 0 : strlen(real);
	if (k >= 0 && rl + 1 + strlen(name) >= sizeof(real))
		k = -ENAMETOOLONG;
	if (k < 0) {
		resolve_end(&c);
		return k;
	}
	snprintf(real + rl, sizeof(real) - rl, "%s%s", rl > 1 ? "/" : "", name);
	sb_req_note *note = sb_req_note_get(r);
	snprintf(note->addr, sizeof(note->addr), "unix:%.*s", (int)sizeof(note->addr) - 6, real);
	/* Creating the file is a write where it lands, and a bind for the net rules. */
	k = -fs_decide(r, sb, real, FS_WANT_WRITE);
	if (k == 0) {
		struct net_decision dec;
		policy_net_decide_unix(sb->policy, NET_BIND, real, false, &dec);
		sandbox_note_rule(r, dec.verdict == NET_ALLOW ? "allow" : "deny", dec.rule);
		k = dec.verdict == NET_ALLOW ? 0 : -EACCES;
	}
	if (k == 0) {
		/* The program's cwd for a relative name; its root (entered) for an absolute
		 * one. Its identity: owner, umask and permission to create are its own. */
		if (path[0] != '/' && fchdir(c.startfd) < 0)
			k = negative_errno();
		if (k == 0)
			k = bind(s->fd, (const struct sockaddr *)&d->ss, d->len) < 0
				? negative_errno()
				: 0;
		net_leave_proc(r);
	}
	resolve_end(&c);
	if (k < 0)
		return k;

	_cleanup_close_ int file = ioctl(s->fd, SIOCUNIXFILE);
	struct stat a, b;
	if (file >= 0 && fstat(file, &a) == 0 &&
	    fstatat(parent, name, &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino)
		return 0;
	/* Not where we judged (or we cannot tell): undo what we can, refuse. */
	if (file >= 0)
		unlink_socket_file(file);
	sandbox_note_rule(r, "deny", NULL);
	return -EACCES;
}

static int net_bind_handler(sb_req *r, void *userdata)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	net_begin(r, sb);
	_cleanup_(net_sock_release) struct net_sock s = {.fd = -1};
	int k = net_sock_take(r, (int)sb_req_arg(r, 0), &s);
	if (k < 0)
		return k;
	if (sb->net->trivial && sb->audit_fd < 0 && !sb->net->publish) {
		/* Nothing to judge, record or publish (an agent serves every family): decided
		 * from the sandbox alone, before any memory is read. */
		sb_req_note_get(r)->action = "allow";
		return sb_req_reply_continue_unchecked(r);
	}
	_cleanup_(net_dest_release) struct net_dest d;
	k = net_dest_copy(r, sb_req_arg(r, 1), sb_req_arg(r, 2), &d);
	if (k < 0)
		return k;
	k = net_decide(r, sb, CALL_BIND, &s, &d);
	if (k)
		return -k;
	const struct sockaddr_un *sun = (const struct sockaddr_un *)&d.ss;
	if (s.family == AF_UNIX && d.present && !d.unspec &&
	    d.len > offsetof(struct sockaddr_un, sun_path) && sun->sun_path[0]) {
		k = unix_bind(r, sb, &s, &d);
	} else if (s.family == AF_UNIX) {
		/* Abstract names and autobind: no file, no capability. */
		k = bind(s.fd, (const struct sockaddr *)&d.ss, d.len) < 0 ? negative_errno() : 0;
	} else {
		/* With the program's capabilities: ports below ip_unprivileged_port_start,
		 * netlink groups (netlink_allowed), IP_TRANSPARENT binds check the caller. */
		sb_creds c;
		k = net_identity_begin(r, &c);
		if (k == 0)
			k = bind(s.fd, (const struct sockaddr *)&d.ss, d.len) < 0 ? negative_errno()
										  : 0;
		net_identity_end();
		if (k == 0 && sb->net->publish && (s.family == AF_INET || s.family == AF_INET6) &&
		    s.type == SOCK_STREAM)
			k = publish_bound(r, sb, &s, (const struct sockaddr *)&d.ss, d.len);
	}
	if (k < 0)
		return k;
	k = sb_req_reply_value(r, 0);
	return k < 0 && k != -ENOENT ? k : 0;
}

static const struct fs_row bind_rows[] = {
    {SYS_bind, net_bind_handler},
};

const struct fs_family net_bind_family = {"net-bind", bind_rows, ELEMENTSOF(bind_rows),
					  net_wants_bind};
