/* The working directory (chdir, fchdir, getcwd): chdir into a denied or hidden place fails as
 * the rule says, and since the supervisor cannot change another process's cwd, the kernel makes
 * the change and the cwd is checked after the fact: a process found in a denied or hidden place
 * at its next intercepted call is killed before that call is answered. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine.h"
#include "fs.h"
#include "fs_chdir.h"
#include "fs_common.h"
#include "fs_opath.h"
#include "macros.h"
#include "sandbox.h"
#include "strutil.h"

/*
 * chdir cannot be emulated: no system call sets another process's cwd. So chdir is decided on
 * our copy of the path (the object reached, pinned, as for any call) and then continued, and
 * the kernel reads the path again. A second thread may rewrite it in between (or dup2 another
 * directory over fchdir's fd), and the process lands where no rule lets it. That cannot be
 * prevented, only caught: the thread is recorded as pending before the call is continued, and
 * while any thread of a sandbox is pending, every intercepted call of that sandbox first checks
 * the caller's cwd (fs_cwd_check). Found in a denied or hidden place, the process is killed
 * (SIGKILL through the pidfd, before the call is answered). A pending thread is done with when
 * it makes its next intercepted call (its chdir has returned by then, and the check has seen
 * its result) or is gone.
 */
struct pending {
	bool used;
	const void *sandbox;
	pid_t tid;
	int pidfd; /* the thread's: readable once it is gone, so tid is its own while not */
};

#define MAX_PENDING 1024
#define MAX_PENDING_PER_SANDBOX 128

static struct pending pending[MAX_PENDING];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_uint n_pending; /* fast path: nothing pending anywhere */

/* Records the calling thread as pending; -ENOMEM when the sandbox has too many. */
static int pending_add(sb_req *r)
{
	const void *sb = sb_req_listener_data(r);
	pid_t tid = sb_req_tid(r);
	int pidfd = sb_req_pidfd(r);
	if (pidfd < 0)
		return pidfd;
	_cleanup_close_ int ours = fcntl(pidfd, F_DUPFD_CLOEXEC, 3);
	if (ours < 0)
		return negative_errno();
	int k = -ENOMEM;
	unsigned mine = 0;
	pthread_mutex_lock(&lock);
	struct pending *slot = NULL;
	for (size_t i = 0; i < MAX_PENDING; i++) {
		if (!pending[i].used) {
			slot = slot ? slot : &pending[i];
			continue;
		}
		if (pending[i].sandbox != sb)
			continue;
		if (pending[i].tid == tid) {
			slot = &pending[i]; /* already pending: one entry per thread */
			break;
		}
		mine++;
	}
	if (slot && (slot->used || mine < MAX_PENDING_PER_SANDBOX)) {
		if (!slot->used)
			atomic_fetch_add(&n_pending, 1);
		safe_close(slot->used ? slot->pidfd : -1);
		*slot = (struct pending){
		    .used = true, .sandbox = sb, .tid = tid, .pidfd = TAKE_FD(ours)};
		k = 0;
	}
	pthread_mutex_unlock(&lock);
	return k;
}

/*
 * Does the sandbox have pending threads? Forgets the caller (its chdir has returned) and
 * threads that are gone, of any sandbox (they will make no call to be caught at; and a
 * sandbox freed with its last process leaves none behind).
 */
static bool pending_in(sb_req *r)
{
	if (atomic_load(&n_pending) == 0)
		return false;
	const void *sb = sb_req_listener_data(r);
	pid_t tid = sb_req_tid(r);
	bool any = false;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < MAX_PENDING; i++) {
		struct pending *p = &pending[i];
		if (!p->used)
			continue;
		struct pollfd pfd = {.fd = p->pidfd, .events = POLLIN};
		bool gone = poll(&pfd, 1, 0) != 0;
		bool mine = p->sandbox == sb;
		any |= mine;
		if (gone || (mine && p->tid == tid)) {
			p->used = false;
			p->pidfd = safe_close(p->pidfd);
			atomic_fetch_sub(&n_pending, 1);
		}
	}
	pthread_mutex_unlock(&lock);
	return any;
}

/*
 * The caller's cwd, begun in c (its root entered): in kernel its path as the kernel names it
 * (what getcwd reports), in served the path of what a walk from it reaches, which a redirect
 * may serve from elsewhere (what the rules judge, as for chdir). Both PATH_MAX.
 */
static int cwd_paths(sb_req *r, struct resolve_ctx *c, char *kernel, char *served)
{
	int k = resolve_fd_path(c->startfd, kernel, PATH_MAX);
	if (k < 0)
		return k;
	_cleanup_close_ int fd = fs_resolve_pin(r, c, c->startfd, ".", true, 0);
	if (fd < 0)
		return fd;
	k = resolve_fd_path(fd, served, PATH_MAX);
	return k < 0 ? k : 0;
}

/* A cwd (the path it serves, in the program's view) judged: a process in a denied or hidden
 * place is killed. Returns 0, or -errno for the call. */
static int judge_cwd(sb_req *r, struct sb_sandbox *sb, const char *served)
{
	int k = fs_decide(r, sb, served, FS_WANT_READ);
	if (!k)
		return 0;
	int pidfd = sb_req_pidfd(r);
	if (pidfd >= 0)
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
	return -k;
}

int fs_cwd_check(sb_req *r)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	if (!sb || !pending_in(r))
		return 0;
	/* The caller's cwd as the program sees it (its root entered). */
	struct resolve_ctx c;
	int k = resolve_begin(r, AT_FDCWD_ARG, ".", false, &c);
	char kernel[PATH_MAX], served[PATH_MAX];
	/* A cwd found in order leaves the audit line to the call's own decision. */
	sb_req_note *n = sb_req_note_get(r);
	const char *action = n->action, *rule = n->rule;
	if (k == 0)
		k = cwd_paths(r, &c, kernel, served);
	resolve_end(&c);
	if (k < 0)
		return k;
	k = judge_cwd(r, sb, served);
	if (k == 0) {
		n->action = action;
		n->rule = rule;
	} else if (!n->path[0]) {
		strlcpy_sb(n->path, served, sizeof(n->path));
	}
	return k;
}

/* No rule (an agent installs every family): nothing to decide, before any memory is read. */
static int let_run(sb_req *r)
{
	sb_req_note_get(r)->action = "allow";
	return sb_req_reply_continue_unchecked(r);
}

static int chdir_handler(sb_req *r, void *userdata)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	if (sb->fs_trivial)
		return let_run(r);
	struct fs_arg a;
	int k;
	if (sb_req_nr(r) == SYS_fchdir)
		k = fs_arg_pin_empty(r, (int)sb_req_arg(r, 0), &a); /* the object behind the fd */
	else
		k = fs_arg_pin(r, NULL, AT_FDCWD_ARG, sb_req_arg(r, 0), true, false, &a);
	if (k == 0)
		k = fs_opath_arg(r, &a);
	if (k == 0) {
		struct stat st;
		if (fstat(a.fd, &st) < 0)
			k = negative_errno();
		else if (!S_ISDIR(st.st_mode))
			k = -ENOTDIR;
	}
	/* Entering a directory is looking into it: allow-read allows it. */
	if (k == 0)
		k = -fs_decide(r, sb, a.real, FS_WANT_READ);
	fs_arg_end(&a);
	if (k < 0)
		return k;
	/* Before the kernel can act: a check that follows must see this thread pending. */
	k = pending_add(r);
	if (k < 0)
		return k;
	/* The one continue after reading memory (see above): the kernel makes the change, with
	 * its own permission checks, and the result is checked at the next call. */
	return sb_req_reply_continue_unchecked(r);
}

/*
 * getcwd reports the cwd: emulated, so that what it reports is what was checked. The cwd is
 * read first and the pending threads looked at after: a cwd changed by a pending chdir was
 * marked before it changed, so it is seen. A deleted cwd is ENOENT, as getcwd(2) answers.
 */
static int getcwd_handler(sb_req *r, void *userdata)
{
	struct sb_sandbox *sb = sb_req_listener_data(r);
	if (sb->fs_trivial)
		return let_run(r);
	uint64_t buf = sb_req_arg(r, 0);
	size_t size = (size_t)sb_req_arg(r, 1);
	struct resolve_ctx c;
	int k = resolve_begin(r, AT_FDCWD_ARG, ".", false, &c);
	char real[PATH_MAX], served[PATH_MAX];
	struct stat st;
	if (k == 0 && fstat(c.startfd, &st) < 0)
		k = negative_errno();
	if (k == 0 && st.st_nlink == 0)
		k = -ENOENT;
	if (k == 0)
		k = cwd_paths(r, &c, real, served);
	resolve_end(&c);
	if (k < 0)
		return k;
	if (pending_in(r)) {
		k = judge_cwd(r, sb, served);
		if (k < 0)
			return k;
	}
	sb_req_note *n = sb_req_note_get(r);
	n->action = "allow";
	strlcpy_sb(n->path, real, sizeof(n->path));
	size_t len = strlen(real) + 1;
	if (size < len)
		return -ERANGE;
	k = sb_req_valid(r);
	if (k < 0)
		return k;
	k = sb_req_write(r, buf, real, len);
	if (k < 0)
		return k;
	return sb_req_reply_value(r, (int64_t)len);
}

/* Only a policy with fs rules has places a cwd must not be in. */
static bool wants_rules(const struct sb_sandbox *sb)
{
	return !sb->fs_trivial;
}

static const struct fs_row chdir_rows[] = {
    {SYS_chdir, chdir_handler},
    {SYS_fchdir, chdir_handler},
    {SYS_getcwd, getcwd_handler},
};

const struct fs_family fs_chdir_family = {"chdir", chdir_rows, ELEMENTSOF(chdir_rows),
					  wants_rules};
