/* Unit tests of learn mode's policy writer: what is recorded comes back as rules that allow
 * it under "default deny" (read back by the real parser), folded, ordered and quoted. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"

#include "learn.h"
#include "policy/policy-internal.h"

static sb_policy *reparse(const char *text)
{
	sb_policy *p = NULL;
	char err[1024] = "";
	ASSERT_EQ(sb_policy_new(&p), 0);
	if (policy_parse_buffer(p, text, strlen(text), "learnt.policy", err, sizeof(err)) < 0)
		tap_fail(__FILE__, __LINE__, "the learnt policy does not parse: %s\n%s", err, text);
	return p;
}

static enum fs_access access_of(sb_policy *p, const char *path)
{
	struct fs_decision d;
	policy_fs_decide(p, path, &d);
	return d.access;
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *s = text; (s = strstr(s, line)); s++)
		if ((s == text || s[-1] == '\n') && (s[n] == '\n' || !s[n]))
			return true;
	return false;
}

TEST(recorded_paths_are_allowed_and_nothing_beside)
{
	struct learn *l = learn_new();
	ASSERT_EQ(learn_record(l, "/srv/a/one", LEARN_READ), 0);
	ASSERT_EQ(learn_record(l, "/srv/b/two", LEARN_WRITE), 0);
	ASSERT_EQ(learn_record(l, "/srv/b/two", LEARN_READ), 0); /* the stronger stays */
	char *text = learn_format(l);
	ASSERT_TRUE(text);
	ASSERT_TRUE(has_line(text, "default deny"));
	ASSERT_TRUE(has_line(text, "allow-read /srv/a/one"));
	ASSERT_TRUE(has_line(text, "allow /srv/b/two"));
	sb_policy *p = reparse(text);
	ASSERT_EQ(access_of(p, "/srv/a/one"), FS_ALLOW_READ);
	ASSERT_EQ(access_of(p, "/srv/b/two"), FS_ALLOW);
	ASSERT_EQ(access_of(p, "/srv/a/other"), FS_DENY);
	ASSERT_EQ(access_of(p, "/srv"), FS_DENY);
	sb_policy_free(p);
	free(text);
	learn_free(l);
}

TEST(a_directory_with_two_entries_touched_is_one_rule)
{
	struct learn *l = learn_new();
	learn_record(l, "/usr/lib/x/libc.so", LEARN_READ);
	learn_record(l, "/usr/lib/x/sub/deep", LEARN_READ);
	learn_record(l, "/usr/lib/x/libm.so", LEARN_READ);
	learn_record(l, "/usr/lib/x/sub/deep2", LEARN_WRITE);
	learn_record(l, "/etc/passwd", LEARN_READ);
	char *text = learn_format(l);
	/* x has libc.so and libm.so (its sub/ entries count for sub/); sub is folded too,
	 * written to, so allow, and it comes after x: last match wins. */
	ASSERT_TRUE(has_line(text, "allow-read /usr/lib/x"));
	ASSERT_TRUE(has_line(text, "allow /usr/lib/x/sub"));
	ASSERT_TRUE(strstr(text, "allow-read /usr/lib/x\n") <
		    strstr(text, "allow /usr/lib/x/sub\n"));
	ASSERT_TRUE(!strstr(text, "libc.so"));
	ASSERT_TRUE(has_line(text, "allow-read /etc/passwd")); /* alone: not folded */
	/* Never folded to "/". */
	ASSERT_TRUE(!has_line(text, "allow-read /") && !has_line(text, "allow /"));
	sb_policy *p = reparse(text);
	ASSERT_EQ(access_of(p, "/usr/lib/x/sub/deep2"), FS_ALLOW);
	ASSERT_EQ(access_of(p, "/usr/lib/x/libc.so"), FS_ALLOW_READ);
	sb_policy_free(p);
	free(text);
	learn_free(l);
}

TEST(made_files_by_name_temporary_ones_by_directory)
{
	char d[] = "/tmp/sb-learn-XXXXXX", kept[64], gone[64];
	ASSERT_TRUE(mkdtemp(d));
	snprintf(kept, sizeof(kept), "%s/out.o", d);
	snprintf(gone, sizeof(gone), "%s/tmpXYZ", d);
	int fd = open(kept, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	ASSERT_TRUE(fd >= 0);
	close(fd);
	struct learn *l = learn_new();
	learn_record(l, kept, LEARN_CREATE);
	char *text = learn_format(l);
	char line[128];
	snprintf(line, sizeof(line), "allow %s", kept);
	ASSERT_TRUE(has_line(text, line));
	free(text);
	/* A name that is gone at the end (mkstemp and unlink) may differ next time. */
	learn_record(l, gone, LEARN_CREATE);
	text = learn_format(l);
	snprintf(line, sizeof(line), "allow %s", d);
	ASSERT_TRUE(has_line(text, line));
	ASSERT_TRUE(!strstr(text, "out.o"));
	free(text);
	learn_free(l);
	unlink(kept);
	rmdir(d);
}

TEST(proc_pids_become_globs)
{
	struct learn *l = learn_new();
	learn_record(l, "/proc/4242/status", LEARN_READ);
	learn_record(l, "/proc/4242/maps", LEARN_READ); /* not folded: that would be all of /proc */
	learn_record(l, "/proc/4242/task/4243/comm", LEARN_READ);
	learn_record(l, "/proc/filesystems", LEARN_READ);
	char *text = learn_format(l);
	ASSERT_TRUE(has_line(text, "allow-read /proc/*/status"));
	ASSERT_TRUE(has_line(text, "allow-read /proc/*/task/*/comm"));
	sb_policy *p = reparse(text);
	ASSERT_EQ(access_of(p, "/proc/77/status"), FS_ALLOW_READ);
	ASSERT_EQ(access_of(p, "/proc/77/task/78/comm"), FS_ALLOW_READ);
	ASSERT_EQ(access_of(p, "/proc/77/environ"), FS_DENY);
	ASSERT_EQ(access_of(p, "/proc/sys/kernel/hostname"), FS_DENY);
	sb_policy_free(p);
	free(text);
	learn_free(l);
}

TEST(odd_names_are_quoted_and_escaped)
{
	struct learn *l = learn_new();
	learn_record(l, "/srv/with space/f", LEARN_READ);
	learn_record(l, "/srv/star*/g", LEARN_READ);
	learn_record(l, "/opt/ctl\x01name", LEARN_READ); /* unsayable: its directory instead */
	char *text = learn_format(l);
	sb_policy *p = reparse(text);
	ASSERT_EQ(access_of(p, "/srv/with space/f"), FS_ALLOW_READ);
	ASSERT_EQ(access_of(p, "/srv/star*/g"), FS_ALLOW_READ);
	ASSERT_EQ(access_of(p, "/srv/starX/g"), FS_DENY); /* the * is a character, not a glob */
	ASSERT_EQ(access_of(p, "/opt/ctl\x01name"), FS_ALLOW_READ);
	sb_policy_free(p);
	free(text);
	learn_free(l);
}

TEST(a_directory_only_looked_at_opens_nothing_below)
{
	/* stat, access, readlink of the directories on the way (realpath, cd): each needs its
	 * directory readable, and nothing beside the path taken. */
	char d[] = "/tmp/sb-learn-XXXXXX", f[64], sub[64];
	ASSERT_TRUE(mkdtemp(d));
	snprintf(sub, sizeof(sub), "%s/work", d);
	ASSERT_EQ(mkdir(sub, 0755), 0);
	snprintf(f, sizeof(f), "%s/file", d);
	int fd = open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	ASSERT_TRUE(fd >= 0);
	close(fd);
	struct learn *l = learn_new();
	learn_record(l, "/tmp", LEARN_LOOK);
	learn_record(l, d, LEARN_LOOK);
	learn_record(l, f, LEARN_LOOK); /* a file: a look is a read, nothing is below it */
	char in[80];
	snprintf(in, sizeof(in), "%s/work/in.txt", d);
	learn_record(l, in, LEARN_WRITE);
	char *text = learn_format(l);
	sb_policy *p = reparse(text);
	ASSERT_EQ(access_of(p, "/tmp"), FS_ALLOW_READ);
	ASSERT_EQ(access_of(p, d), FS_ALLOW_READ);
	ASSERT_EQ(access_of(p, f), FS_ALLOW_READ);
	ASSERT_EQ(access_of(p, in), FS_ALLOW);
	char other[80];
	snprintf(other, sizeof(other), "%s/other/secret", d);
	ASSERT_EQ(access_of(p, other), FS_DENY);
	ASSERT_EQ(access_of(p, "/tmp/elsewhere"), FS_DENY);
	/* Two directories looked at in one place do not fold into it. */
	char a[80], b[80], c[80];
	snprintf(a, sizeof(a), "%s/a", d);
	snprintf(b, sizeof(b), "%s/b", d);
	snprintf(c, sizeof(c), "%s/c", d);
	ASSERT_EQ(mkdir(a, 0755), 0);
	ASSERT_EQ(mkdir(b, 0755), 0);
	learn_record(l, a, LEARN_LOOK);
	learn_record(l, b, LEARN_LOOK);
	free(text);
	sb_policy_free(p);
	text = learn_format(l);
	p = reparse(text);
	ASSERT_EQ(access_of(p, a), FS_ALLOW_READ);
	ASSERT_EQ(access_of(p, c), FS_DENY);
	sb_policy_free(p);
	free(text);
	learn_free(l);
	unlink(f);
	rmdir(a);
	rmdir(b);
	rmdir(sub);
	rmdir(d);
}

TEST(relative_paths_are_refused)
{
	struct learn *l = learn_new();
	ASSERT_EQ(learn_record(l, "rel/path", LEARN_READ), -EINVAL);
	learn_free(l);
}
