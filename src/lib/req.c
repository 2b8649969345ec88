/* One notification from receipt to answer: accessors, dispatch to the syscall's handler,
 * and the answers (errno, value, injected fd, replaced fd, unchecked continue). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <linux/audit.h>

#include "engine.h"
#include "macros.h"

void req_init(sb_req *r, sb_supervisor *s, sb_listener *l, struct seccomp_notif *n)
{
	r->s = s;
	r->l = l;
	r->notif = n;
	r->answered = false;
	r->busy = false;
	r->delivered = false;
	r->result = 0;
	r->memfd = r->pidfd = r->procfd = -1;
	r->procfd_unchecked = false;
	r->tgid = 0;
	r->ident_have = r->ident_unchecked = r->ident_store = false;
	r->ident.fds = NULL;
	r->note.action = NULL;
	r->note.rule = NULL;
	r->note.path[0] = r->note.addr[0] = r->note.flags[0] = 0;
	r->note.path2[0] = r->note.comm[0] = 0;
}

/*
 * The answer is going out: the worker counts as free from here (listener_serve). An
 * ADDFD|SEND returns only once the target has taken the fd, and on one CPU the target
 * runs first and makes its next call: counted busy until then, every worker would be, and
 * each request would add a thread.
 */
static void req_answering(sb_req *r)
{
	if (r->busy) {
		r->busy = false;
		atomic_fetch_sub(&r->l->busy, 1);
	}
}

void req_done(sb_req *r)
{
	req_answering(r);
	/* An identity read from /proc and proven the caller's by a later ID_VALID. */
	if (r->ident_store && !r->ident_unchecked && r->s->tcache)
		tcache_store(r->s->tcache, &r->ident);
	tcache_fds_put(r->ident.fds);
	r->ident.fds = NULL;
	r->memfd = safe_close(r->memfd);
	r->pidfd = safe_close(r->pidfd);
	r->procfd = safe_close(r->procfd);
}

/* Errnos the target may see: a real errno, never the kernel-internal ERESTART* range,
 * which would leak to user space as errno 512.. (kernel-api.md rule 8). */
static int sanitize_errno(int err)
{
	if (err <= 0 || err >= 4096 || (err >= 512 && err <= 530))
		return EIO;
	return err;
}

static void after_answer(sb_req *r)
{
	r->answered = true;
	r->delivered = true;
}

/*
 * The after-answer hook (audit) runs once the handler has returned, never inside a reply:
 * a handler closes its copy of an injected fd right after the reply, and a file we still
 * held open for writing while the program went on would make its exec of it fail with
 * ETXTBSY.
 */
static void run_after_hook(sb_req *r)
{
	if (!r->delivered || !r->s->after)
		return;
	int err = r->result < 0 ? (int)-r->result : 0;
	r->s->after(r, r->result, err, r->s->after_userdata);
}

void req_dispatch(sb_req *r)
{
	int nr = r->notif->data.nr;
	/* Only native calls reach us (the filter kills other arches), but a listener handed
	 * in from elsewhere (agent) may carry any filter: never trust its arch. */
	struct handler h = {0};
	bool native = r->notif->data.arch == AUDIT_ARCH_X86_64 && nr >= 0 && nr < SB_MAX_NR;
	if (native)
		h = r->s->handlers[nr];
	if (native && r->l->ident_cache && ident_watch_nr(nr)) {
		/*
		 * A call that may change who a thread is (or, for umask, chroot and the
		 * namespaces, what it shares with others): every cached identity goes stale
		 * before the call can take effect, since the caller waits for our answer. The
		 * decision is on the number alone; nothing of its memory is read.
		 */
		tcache_bump(r->s->tcache);
		if (!h.fn) {
			sb_req_reply_continue_unchecked(r);
			return; /* not a call the policy watches: no audit line */
		}
	}
	if (!h.fn) {
		sb_req_reply_errno(r, ENOSYS);
		run_after_hook(r);
		return;
	}
	int ret = h.fn(r, h.userdata);
	if (!r->answered) {
		/* A handler that failed without answering denies: fail closed, never continue.
		 * ENOENT with the request gone: the target left, nobody to answer. */
		if (!(ret == -ENOENT && sb_req_valid(r) == -ENOENT))
			sb_req_reply_errno(r, ret < 0 ? -ret : ENOSYS);
	}
	run_after_hook(r);
}

int sb_req_nr(const sb_req *r)
{
	return r->notif->data.nr;
}

uint64_t sb_req_arg(const sb_req *r, unsigned i)
{
	return i < 6 ? r->notif->data.args[i] : 0;
}

pid_t sb_req_tid(const sb_req *r)
{
	return (pid_t)r->notif->pid;
}

uint64_t sb_req_id(const sb_req *r)
{
	return r->notif->id;
}

uint64_t sb_req_ip(const sb_req *r)
{
	return r->notif->data.instruction_pointer;
}

sb_listener *sb_req_listener(const sb_req *r)
{
	return r->l;
}

void *sb_req_listener_data(const sb_req *r)
{
	return r->l->data;
}

sb_req_note *sb_req_note_get(sb_req *r)
{
	return &r->note;
}

int sb_req_valid(sb_req *r)
{
	int k = notify_id_valid(r->l->fd, r->notif->id);
	if (k == 0) {
		/* anything opened or read before this is the target's */
		r->procfd_unchecked = false;
		r->ident_unchecked = false;
	}
	return k;
}

int sb_req_reply_errno(sb_req *r, int err)
{
	if (r->answered)
		return -EALREADY;
	req_answering(r);
	err = sanitize_errno(err);
	int ret = notify_send(r->l->fd, r->notif->id, 0, -err, 0);
	r->result = -err;
	if (ret == 0)
		after_answer(r);
	else
		r->answered = true; /* vanished: nothing more to say */
	return ret;
}

int sb_req_reply_value(sb_req *r, int64_t val)
{
	if (r->answered)
		return -EALREADY;
	req_answering(r);
	int ret = notify_send(r->l->fd, r->notif->id, val, 0, 0);
	r->result = val;
	if (ret == 0)
		after_answer(r);
	else
		r->answered = true;
	return ret;
}

int sb_req_reply_fd(sb_req *r, int fd, bool cloexec)
{
	if (r->answered)
		return -EALREADY;
	req_answering(r);
	int ret = notify_addfd(r->l->fd, r->notif->id, fd, -1, SECCOMP_ADDFD_FLAG_SEND, cloexec);
	if (ret >= 0) {
		r->result = ret;
		after_answer(r);
		return ret;
	}
	if (ret == -ENOENT) {
		r->answered = true;
		return ret;
	}
	/*
	 * The target installs the fd itself, under its own RLIMIT_NOFILE: EMFILE is exactly
	 * what the real call would have returned. After a failed ADDFD|SEND the id is still
	 * pending, so answer it (kernel-api.md §2.11). Anything else is our failure: deny.
	 */
	sb_req_reply_errno(r, ret == -EMFILE ? EMFILE : EIO);
	return ret;
}

int sb_req_reply_fd_close(sb_req *r, int fd, bool cloexec)
{
	int fl = r->l->wait_killable ? fcntl(fd, F_GETFL) : O_RDONLY;
	/* Unknown: the two-step answer, which is right for any file. */
	return req_reply_fd_close_mode(r, fd, cloexec, fl < 0 ? O_RDWR : fl & O_ACCMODE);
}

int req_reply_fd_close_mode(sb_req *r, int fd, bool cloexec, int accmode)
{
	if (r->answered) {
		safe_close(fd);
		return -EALREADY;
	}
	/*
	 * A file opened for writing is answered in two steps when the target's wait is
	 * killable only (WAIT_KILLABLE_RECV): no signal can take it out of the call between
	 * an ADDFD and a SEND, so that leaks nothing (kernel-api.md rule 5), and it lets us
	 * drop our copy before the target runs again: a file we still held open for writing
	 * would make its exec fail with ETXTBSY. Anything else takes one ADDFD|SEND: an ADDFD
	 * alone makes the target wake to install the fd and wake us back, two more context
	 * switches, the dearest part of an emulated open on a VM.
	 */
	if (!r->l->wait_killable || accmode == O_RDONLY) {
		int ret = sb_req_reply_fd(r, fd, cloexec);
		safe_close(fd);
		return ret;
	}
	int ret = notify_addfd(r->l->fd, r->notif->id, fd, -1, 0, cloexec);
	safe_close(fd);
	if (ret < 0) {
		if (ret == -ENOENT) {
			r->answered = true;
			return ret;
		}
		sb_req_reply_errno(r, ret == -EMFILE ? EMFILE : EIO);
		return ret;
	}
	int k = sb_req_reply_value(r, ret);
	return k < 0 ? k : ret;
}

int sb_req_replace_fd(sb_req *r, int fd, int targetfd, bool cloexec)
{
	if (r->answered)
		return -EALREADY;
	if (targetfd < 0)
		return -EBADF;
	return notify_addfd(r->l->fd, r->notif->id, fd, targetfd, SECCOMP_ADDFD_FLAG_SETFD, cloexec);
}

int sb_req_reply_continue_unchecked(sb_req *r)
{
	if (r->answered)
		return -EALREADY;
	req_answering(r);
	int ret = notify_send(r->l->fd, r->notif->id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
	r->result = 0;
	if (ret == 0) {
		r->note.action = r->note.action ? r->note.action : "allow";
		after_answer(r);
	} else {
		r->answered = true;
	}
	return ret;
}
