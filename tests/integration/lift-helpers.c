/* What the lifting tests (test-lift.c, test-lift-opener.c) share: the path of their test
 * program (lift-helper.c), their skip condition, their TAP comments, and a program run under
 * a supervisor of the test's own. */
#include "lift-helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sysbroker/sysbroker.h>

#include "tap.h"

const char *lift_helper(void)
{
	static char path[4096];
	const char *b = getenv("SB_BUILDDIR");
	snprintf(path, sizeof(path), "%s/tests/integration/lift-helper", b ? b : ".");
	if (access(path, X_OK))
		tap_skip("lift-helper not built");
	return path;
}

void lift_need_root(const char *why)
{
	if (geteuid() != 0)
		tap_skip("needs root: %s", why);
	if (access("/usr/bin/setpriv", X_OK) || access("/usr/bin/unshare", X_OK))
		tap_skip("needs setpriv and unshare");
}

void lift_diag(const char *what, const char *text)
{
	if (what)
		printf("# %s:\n", what);
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");
		printf("#%s%.*s\n", what ? "   " : " ", (int)n, p);
		p += n + (p[n] == '\n');
	}
}

int lift_supervised(const char *const *rule, size_t n, const char *path, char *const argv[],
		    const char *out_path, char *out, size_t size)
{
	sb_supervisor *s = NULL;
	int k = sb_supervisor_new(&s, NULL);
	if (k == -EOPNOTSUPP)
		tap_skip("no seccomp user notification");
	ASSERT_EQ(k, 0);
	sb_policy *p;
	ASSERT_EQ(sb_policy_new(&p), 0);
	char e[256];
	ASSERT_EQ(sb_policy_add(p, rule, n, "cli", 1, e, sizeof(e)), 0);
	sb_sandbox *sb;
	sb_sandbox_opts so = {.audit_fd = -1};
	ASSERT_EQ(sb_sandbox_new(&sb, p, &so), 0);
	ASSERT_EQ(sb_sandbox_install(s, sb), 0);
	int ofd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ASSERT_TRUE(ofd >= 0);
	sb_spawn_opts o = {
	    .path = path, .stdin_fd = -1, .stdout_fd = ofd, .stderr_fd = ofd, .listener_data = sb};
	int pidfd;
	pid_t pid = sb_spawn(s, &o, argv, &pidfd, NULL);
	ASSERT_GE(pid, 1);
	close(ofd);
	int st;
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	close(pidfd);
	sb_supervisor_free(s);
	sb_sandbox_free(sb);
	int fd = open(out_path, O_RDONLY | O_CLOEXEC);
	ASSERT_TRUE(fd >= 0);
	ssize_t r = read(fd, out, size - 1);
	close(fd);
	out[r > 0 ? r : 0] = 0;
	return st;
}
