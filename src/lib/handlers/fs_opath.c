/* O_PATH descriptors of symlinks. ADDFD cannot carry an O_PATH file (seccomp_notify_addfd takes
 * its source with fget, which skips them) and no other open mode reaches a symlink (may_open:
 * ELOOP), so an open(O_PATH|O_NOFOLLOW) that reaches one is answered with a stand-in: a file of
 * ours that can be neither read nor written, which the fs families turn back into an O_PATH pin
 * on the symlink wherever the program hands it back. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "fs_opath.h"
#include "fs_write.h"
#include "macros.h"
#include "strutil.h"

/*
 * The stand-in is a memfd reopened with access mode 3 (O_WRONLY|O_RDWR): the kernel gives such a
 * file neither FMODE_READ nor FMODE_WRITE (OPEN_FMODE), so read and write fail with EBADF as on
 * an O_PATH fd. Its /proc/self/fd link reads "/memfd:NAME (deleted)".
 */
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif

#define STANDIN_NAME "sb-opath"
#define STANDIN_PATH "/memfd:" STANDIN_NAME " (deleted)"

/* Each live stand-in holds an fd of the supervisor (its pin): a program must not be able to
 * exhaust them, for itself or for the other sandboxes of an agent. */
#define MAX_STANDINS 1024
#define MAX_PER_SANDBOX 256

struct standin {
	bool used;
	dev_t dev; /* the memfd's inode: only the stand-in file (and its dups) reaches it */
	ino_t ino;
	int wd;	   /* inotify watch on that inode: fires when the last reference goes */
	int pin;   /* O_PATH|O_NOFOLLOW on the symlink */
	const void *owner;
};

static struct standin table[MAX_STANDINS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
/* One inotify instance for all: IN_CLOSE_NOWRITE and IN_IGNORED say a stand-in was closed for
 * good (the memfd is unlinked, so its inode goes with its last file). Read when the table is
 * used, never waited on, so it needs no place in the engine's loop. */
static int inotify_fd = -1;

/* Forgets the stand-ins the programs closed. Called with the lock held. */
static void drain_locked(void)
{
	if (inotify_fd < 0)
		return;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		ssize_t n = read(inotify_fd, buf, sizeof(buf));
		if (n <= 0)
			return; /* EAGAIN: nothing more */
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *e = (const struct inotify_event *)p;
			for (size_t i = 0; i < MAX_STANDINS; i++) {
				if (table[i].used && table[i].wd == e->wd) {
					table[i].used = false;
					table[i].pin = safe_close(table[i].pin);
				}
			}
			p += sizeof(*e) + e->len;
		}
	}
}

struct watch_arg {
	int wd;
};

static int watch_op(const char *name, void *arg)
{
	struct watch_arg *w = arg;
	w->wd = inotify_add_watch(inotify_fd, name, IN_CLOSE_NOWRITE);
	return w->wd < 0 ? negative_errno() : 0;
}

int fs_opath_standin(sb_req *r, int pin)
{
	const void *owner = sb_req_listener_data(r);
	pthread_mutex_lock(&lock);
	drain_locked();
	size_t mine = 0, slot = MAX_STANDINS;
	for (size_t i = 0; i < MAX_STANDINS; i++) {
		if (!table[i].used)
			slot = slot < MAX_STANDINS ? slot : i;
		else if (table[i].owner == owner)
			mine++;
	}
	int k = 0;
	if (slot == MAX_STANDINS || mine >= MAX_PER_SANDBOX)
		k = -ENFILE;
	if (k == 0 && inotify_fd < 0) {
		inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
		if (inotify_fd < 0)
			k = negative_errno();
	}
	_cleanup_close_ int memfd = -1, standin = -1, ours = -1;
	if (k == 0) {
		/* vm.memfd_noexec=2 refuses a memfd that could be made executable (6.3). */
		memfd = memfd_create(STANDIN_NAME, MFD_CLOEXEC | MFD_NOEXEC_SEAL);
		if (memfd < 0 && errno == EINVAL)
			memfd = memfd_create(STANDIN_NAME, MFD_CLOEXEC);
		k = memfd < 0 ? negative_errno() : 0;
	}
	if (k == 0) {
		/* Access mode 3 needs read and write permission on the memfd (0777, 0666 sealed). */
		standin = resolve_reopen(memfd, O_WRONLY | O_RDWR);
		k = standin < 0 ? standin : 0;
	}
	struct watch_arg w = {-1};
	if (k == 0)
		k = fs_at_pin(r, standin, watch_op, &w);
	struct stat st;
	if (k == 0 && fstat(standin, &st) < 0)
		k = negative_errno();
	if (k == 0) {
		ours = fcntl(pin, F_DUPFD_CLOEXEC, 3);
		k = ours < 0 ? negative_errno() : 0;
	}
	if (k == 0) {
		table[slot] = (struct standin){.used = true,
					       .dev = st.st_dev,
					       .ino = st.st_ino,
					       .wd = w.wd,
					       .pin = TAKE_FD(ours),
					       .owner = owner};
	} else if (w.wd >= 0) {
		inotify_rm_watch(inotify_fd, w.wd);
	}
	pthread_mutex_unlock(&lock);
	/* The memfd's own file closes here (IN_CLOSE_WRITE, not watched): from now on only the
	 * stand-in reaches the inode, and its last close is the event. */
	return k < 0 ? k : TAKE_FD(standin);
}

bool fs_opath_maybe(const char *real)
{
	return !strcmp(real, STANDIN_PATH);
}

int fs_opath_lookup(int fd, const char *real, int *ret_pin)
{
	if (!fs_opath_maybe(real))
		return 0; /* the common case costs a string compare */
	struct stat st;
	if (fstat(fd, &st) < 0)
		return negative_errno();
	int k = 0;
	pthread_mutex_lock(&lock);
	/* A closed stand-in's inode number could come back for another memfd: forget the
	 * closed ones first. */
	drain_locked();
	for (size_t i = 0; i < MAX_STANDINS; i++) {
		if (table[i].used && table[i].dev == st.st_dev && table[i].ino == st.st_ino) {
			*ret_pin = fcntl(table[i].pin, F_DUPFD_CLOEXEC, 3);
			k = *ret_pin < 0 ? negative_errno() : 1;
			break;
		}
	}
	pthread_mutex_unlock(&lock);
	return k;
}

int fs_opath_swap(int *pin, char *real, size_t realsz)
{
	int link;
	int k = fs_opath_lookup(*pin, real, &link);
	if (k <= 0)
		return k;
	safe_close(*pin);
	*pin = link;
	k = resolve_fd_path(link, real, realsz);
	return k < 0 ? k : 0;
}

int fs_opath_arg(sb_req *r, struct fs_arg *a)
{
	if (!fs_opath_maybe(a->real))
		return 0;
	int k = fs_opath_swap(&a->fd, a->real, sizeof(a->real));
	if (k < 0)
		return k;
	/* The audit line names the symlink, as it would the kernel's O_PATH fd's. */
	sb_req_note *n = sb_req_note_get(r);
	if (fs_opath_maybe(n->path))
		strlcpy_sb(n->path, a->real, sizeof(n->path));
	return 0;
}
