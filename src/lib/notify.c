/* Raw seccomp notification ioctls: libseccomp 2.5 folds every failure into -ECANCELED and
 * has no ADDFD, so the engine speaks to the listener directly. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>

#include "engine.h"
#include "macros.h"

int notify_recv(int listener, struct seccomp_notif *n, size_t size)
{
	for (;;) {
		/* The kernel refuses a buffer that is not all zero (EINVAL since 5.5). */
		memset(n, 0, size);
		if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, n) == 0)
			return 0;
		if (errno != EINTR)
			return negative_errno();
	}
}

int notify_id_valid(int listener, uint64_t id)
{
	for (;;) {
		if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0)
			return 0;
		if (errno != EINTR)
			return negative_errno();
	}
}

int notify_send(int listener, uint64_t id, int64_t val, int error, uint32_t flags)
{
	struct seccomp_notif_resp resp = {
		.id = id,
		.val = val,
		.error = error,
		.flags = flags,
	};
	for (;;) {
		if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) == 0)
			return 0;
		if (errno != EINTR)
			return negative_errno();
	}
}

int notify_addfd(int listener, uint64_t id, int srcfd, int newfd, uint32_t flags, bool cloexec)
{
	struct seccomp_notif_addfd a = {
		.id = id,
		.flags = flags,
		.srcfd = (uint32_t)srcfd,
		.newfd = newfd >= 0 ? (uint32_t)newfd : 0,
		.newfd_flags = cloexec ? O_CLOEXEC : 0,
	};
	int r = ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &a);
	/*
	 * No retry on EINTR: on 6.18.44 an interrupted ADDFD|SEND has already marked the reply
	 * sent (the target returns 0 with no fd) and a retry gets EINPROGRESS. Workers block
	 * every catchable signal so this cannot happen from signals; report it as vanished.
	 * ESRCH: the target was killed while its kernel side waited to install the fd
	 * (seccomp_do_user_notification fails pending ADDFDs so): vanished as well.
	 */
	if (r < 0)
		return errno == EINTR || errno == ESRCH ? -ENOENT : negative_errno();
	return r;
}
