/* Integration tests of the path syscalls that change the filesystem, and of the calls refused
 * under fs rules, through the real `sysbroker run`: each call under allow, allow-read, deny and
 * hide against a native control, renames and links across rules, the program's identity and
 * umask, and changes made once while signals restart calls. fsop makes the calls by number. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "macros.h"
#include "runcmd.h"
#include "tap.h"

static char out[1 << 16], err[1 << 16];

static const char *fsop(void)
{
	static char path[4096];
	const char *b = getenv("SB_BUILDDIR");
	if (!b)
		tap_skip("SB_BUILDDIR not set (run through meson test)");
	snprintf(path, sizeof(path), "%s/tests/integration/fsop", b);
	return path;
}

#define sh(...) run_shf(out, sizeof(out), err, sizeof(err), __VA_ARGS__)

/* Runs a command and fails the test unless it exits 0; returns its stdout. */
#define SH_OK(...)                                                                   \
	do {                                                                         \
		int _rc = sh(__VA_ARGS__);                                           \
		if (_rc != 0)                                                        \
			tap_fail(__FILE__, __LINE__, "rc %d, stderr: %s", _rc, err); \
	} while (0)

/* Every place a rule can put a directory in: allow (by default), allow-read, deny, hide. */
static const char *const places[] = {"w", "ro", "d", "h"};

/* A fresh set of places under dir, each with a file f (xattr user.x), a directory sub and a
 * symlink l -> f. */
static void fixture(const char *dir)
{
	SH_OK("rm -rf %s && mkdir -p %s && cd %s && for p in w ro d h; do mkdir $p && "
	      "echo data > $p/f && mkdir $p/sub && ln -s f $p/l && "
	      "%s setxattr $p/f user.x 1 >/dev/null || exit 1; done",
	      dir, dir, dir, fsop());
}

/* Copies src into dst, cut to size - 1 bytes. */
static void keep(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);
	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
}

/* A test that passed leaves nothing behind; a failed one keeps its directory to look at. */
static void clean(const char *t)
{
	sh("rm -rf %s", t);
}

static const char *rules(const char *dir)
{
	static char r[16384];
	snprintf(r, sizeof(r), "--allow-read %s/ro --deny %s/d --hide %s/h", dir, dir, dir);
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One line for the object at path (shown as rel), then, for a directory, its entries. */
static void snap(const char *path, const char *rel, bool ctime, char *buf, size_t size, size_t *o)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		tap_fail(__FILE__, __LINE__, "lstat %s: %s", path, strerror(errno));
	char xattrs[1024] = "", *names[64];
	ssize_t xl = llistxattr(path, xattrs, sizeof(xattrs) - 1);
	size_t nx = 0;
	for (ssize_t i = 0; i < xl && nx < 64; i += (ssize_t)strlen(xattrs + i) + 1)
		names[nx++] = xattrs + i;
	qsort(names, nx, sizeof(names[0]), cmp_str);
	char target[4096] = "";
	if (S_ISLNK(st.st_mode) && readlink(path, target, sizeof(target) - 1) < 0)
		target[0] = 0;
	*o += (size_t)snprintf(
	    buf + *o, size - *o, "%s %o %lld %u %u %s %lld", rel, (unsigned)st.st_mode,
	    S_ISDIR(st.st_mode) ? 0LL : (long long)st.st_size, st.st_uid, st.st_gid, target,
	    ctime ? (long long)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec : 0LL);
	for (size_t i = 0; i < nx && *o < size; i++)
		*o += (size_t)snprintf(buf + *o, size - *o, " %s", names[i]);
	if (*o < size)
		*o += (size_t)snprintf(buf + *o, size - *o, "\n");
	if (!S_ISDIR(st.st_mode))
		return;
	struct dirent **list;
	int n = scandir(path, &list, NULL, alphasort);
	if (n < 0)
		tap_fail(__FILE__, __LINE__, "scandir %s: %s", path, strerror(errno));
	for (int i = 0; i < n; i++) {
		const char *e = list[i]->d_name;
		if (strcmp(e, ".") && strcmp(e, "..") && *o < size) {
			char p2[4096], r2[4096];
			snprintf(p2, sizeof(p2), "%s/%s", path, e);
			snprintf(r2, sizeof(r2), "%s/%s", rel, e);
			snap(p2, r2, ctime, buf, size, o);
		}
		free(list[i]);
	}
	free(list);
}

/*
 * What the directories named in dirs (under top) hold, as text: names, types, modes, sizes,
 * owners, link targets and xattrs; with ctime, the inode change time too (any change at all
 * moves it).
 */
static void snapshot(const char *top, const char *const *dirs, bool ctime, char *buf, size_t size)
{
	size_t o = 0;
	buf[0] = 0;
	for (size_t i = 0; dirs[i]; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", top, dirs[i]);
		snap(path, dirs[i], ctime, buf, size, &o);
	}
	if (o >= size)
		tap_fail(__FILE__, __LINE__, "snapshot of %s does not fit", top);
}

/* op with every "@" replaced by dir, every "^" by its parent and every "%" by its name. */
static void expand(const char *op, const char *dir, char *buf, size_t size)
{
	char parent[4096];
	keep(parent, sizeof(parent), dir);
	char *slash = strrchr(parent, '/');
	const char *name = slash ? dir + (slash - parent) + 1 : dir;
	if (slash)
		*slash = 0;
	size_t o = 0;
	for (const char *p = op; *p && o + 1 < size; p++) {
		const char *with = *p == '@' ? dir : *p == '^' ? parent : *p == '%' ? name : NULL;
		if (with)
			o += (size_t)snprintf(buf + o, size - o, "%s", with);
		else
			buf[o++] = *p;
	}
	buf[o < size ? o : size - 1] = 0;
}

static const char *const ops[] = {
    "mkdir @/new 750",
    "mkdirat ^ %/new 750",
    "mknod @/fifo p 640",
    "mknod @/reg f 640",
    "mknod @/sock s 640",
    "mknodat ^ %/fifo p 640",
    "unlink @/f",
    "unlinkat ^ %/f 0",
    "rmdir @/sub",
    "unlinkat ^ %/sub removedir",
    "rename @/f @/g",
    "renameat ^ %/f ^ %/g",
    "renameat2 @/f @/g noreplace",
    "renameat2 @/f @/sub exchange",
    "link @/f @/g",
    "linkat @/l @/g follow",
    "symlink /anywhere @/s",
    "symlinkat /anywhere ^ %/s",
    "chmod @/f 600",
    "fchmodat @/f 604",
    "fchmodat2 @/f 606 nofollow",
    "chown @/f 1 2",
    "lchown @/l 1 2",
    "fchownat @/l 3 4 nofollow",
    "truncate @/f 1",
    "utime @/f",
    "utimes @/f",
    "futimesat @/f",
    "utimensat @/l nofollow",
    "setxattr @/f user.t v",
    "lsetxattr @/f user.t v",
    "removexattr @/f user.x",
    "lremovexattr @/f user.x",
    "setxattrat @/f user.t v",
    "removexattrat @/f user.x",
    /* Through a read-only fd: the kernel lets the owner change the file this way. */
    "fchmod @/f 600",
    "fchown @/f 1 2",
    "fsetxattr @/f user.t v",
    "fremovexattr @/f user.x",
    "futimens @/f",
    "futimesatfd @/f",
};

/*
 * Each call: natively it works (the control, so the refusals below are the rules' doing);
 * under sysbroker it works in an allowed directory with the same outcome, and in allow-read,
 * deny and hide it fails with EACCES, EACCES, ENOENT and changes nothing at all.
 */
TEST_TIMEOUT(each_call_under_each_rule, 120)
{
	static const char *const allowed[] = {"w", NULL}, *const others[] = {"ro", "d", "h", NULL};
	const char *t = test_tmpdir();
	char nat[4096], sbx[4096], cmd[8192], one[1024];
	snprintf(nat, sizeof(nat), "%s/native", t);
	snprintf(sbx, sizeof(sbx), "%s/sb", t);
	for (size_t i = 0; i < ELEMENTSOF(ops); i++) {
		fixture(nat);
		char dir[4200], want[16 * 1024], got[16 * 1024], before[48 * 1024];
		char after[48 * 1024];
		snprintf(dir, sizeof(dir), "%s/w", nat);
		expand(ops[i], dir, one, sizeof(one));
		SH_OK("%s %s", fsop(), one);
		if (strcmp(out, "ok\n"))
			tap_fail(__FILE__, __LINE__, "native '%s': %s", one, out);
		snapshot(nat, allowed, false, want, sizeof(want));

		fixture(sbx);
		snapshot(sbx, others, true, before, sizeof(before));
		size_t o = 0;
		for (int p = 0; p < 4; p++) {
			snprintf(dir, sizeof(dir), "%s/%s", sbx, places[p]);
			expand(ops[i], dir, one, sizeof(one));
			o +=
			    (size_t)snprintf(cmd + o, sizeof(cmd) - o, "%s%s", p ? " , " : "", one);
		}
		SH_OK("%s run %s -- %s %s", sysbroker_bin(), rules(sbx), fsop(), cmd);
		if (strcmp(out, "ok EACCES EACCES ENOENT\n"))
			tap_fail(__FILE__, __LINE__, "'%s' under w ro d h: %s", ops[i], out);
		snapshot(sbx, allowed, false, got, sizeof(got));
		if (strcmp(got, want))
			tap_fail(__FILE__, __LINE__, "'%s': native left\n%s\nsysbroker left\n%s",
				 ops[i], want, got);
		snapshot(sbx, others, true, after, sizeof(after));
		if (strcmp(after, before))
			tap_fail(__FILE__, __LINE__, "'%s' changed ro, d or h:\n%s\nthen\n%s",
				 ops[i], before, after);
	}
	clean(t);
}

/*
 * SPEC 2.1: renaming or linking writes to both ends. The classic way around a path rule is
 * to move the object out of the denied directory (or a link to it) and read it under its
 * new name: refused both ways, while natively it works.
 */
TEST(rename_and_link_across_a_denied_directory)
{
	const char *t = test_tmpdir();
	SH_OK("mkdir -p %s/x %s/free && echo secret > %s/x/secret && echo mine > %s/free/mine", t,
	      t, t, t);
	/* The control: the same shell lines work without sysbroker. */
	SH_OK("cp -a %s/x %s/xc && mv %s/xc/secret %s/y && cat %s/y && rm %s/y", t, t, t, t, t, t);
	ASSERT_STREQ(out, "secret\n");

	ASSERT_NE(sh("%s run --deny %s/x -- sh -c 'mv %s/x/secret %s/y && cat %s/y'",
		     sysbroker_bin(), t, t, t, t),
		  0);
	ASSERT_TRUE(strstr(err, "Permission denied"));
	ASSERT_NE(sh("%s run --deny %s/x -- sh -c 'ln %s/x/secret %s/z && cat %s/z'",
		     sysbroker_bin(), t, t, t, t),
		  0);
	ASSERT_NE(sh("%s run --deny %s/x -- sh -c 'ln -s %s/x/secret %s/s && cat %s/s'",
		     sysbroker_bin(), t, t, t, t),
		  0);
	/* Into the denied directory: refused as well, whatever the source. */
	SH_OK("%s run --deny %s/x -- %s rename %s/free/mine %s/x/mine , link %s/free/mine "
	      "%s/x/mine , renameat2 %s/free/mine %s/x/secret exchange , cat %s/free/mine",
	      sysbroker_bin(), t, fsop(), t, t, t, t, t, t, t);
	ASSERT_STREQ(out, "EACCES EACCES EACCES mine\n");
	SH_OK("ls %s/x && cat %s/x/secret && test ! -e %s/y && test ! -e %s/z", t, t, t, t);
	ASSERT_STREQ(out, "secret\nsecret\n");
	clean(t);
}

/*
 * A directory moves with everything below it, but only its top is judged: with a deny rule
 * below it, the rename would carry the denied object to an allowed name. EXDEV, so mv falls
 * back to copying object by object, and the denied file is not copied.
 */
TEST(directory_rename_keeps_what_lies_below)
{
	const char *t = test_tmpdir();
	SH_OK("mkdir -p %s/p/deep %s/a/deep %s/h/.ssh && echo secret > %s/p/deep/secret && "
	      "echo ok > %s/a/deep/f",
	      t, t, t, t, t);
	char rule[1024];
	snprintf(rule, sizeof(rule), "--deny %s/p/deep/secret --deny '/**/.ssh'", t);
	SH_OK("%s run %s -- %s rename %s/p %s/q , renameat2 %s/a %s/p exchange , "
	      "rename %s/a %s/b , cat %s/b/deep/f , rename %s/h %s/h2 , cat %s/h2/.ssh",
	      sysbroker_bin(), rule, fsop(), t, t, t, t, t, t, t, t, t, t);
	/* p holds the secret (EXDEV both ways); a has nothing special (moves); .ssh stays
	 * denied under any parent, so h moves. */
	ASSERT_STREQ(out, "EXDEV EXDEV ok ok ok EACCES\n");
	ASSERT_NE(sh("%s run %s -- sh -c 'mv %s/p %s/q; cat %s/q/deep/secret'", sysbroker_bin(),
		     rule, t, t, t),
		  0);
	SH_OK("cat %s/p/deep/secret", t);
	ASSERT_STREQ(out, "secret\n");
	/* Natively the rename works: the refusal is the rule's. */
	SH_OK("rm -rf %s/q && %s rename %s/p %s/q", t, fsop(), t, t);
	ASSERT_STREQ(out, "ok\n");
	clean(t);
}

/*
 * A hard link is another path to the same object, and the policy judges paths: a link to a
 * denied file made inside the sandbox would read it. Making it needs write access to the
 * source (SPEC 2.1), so it is refused however the source is named: directly, through an
 * allowed symlink (AT_SYMLINK_FOLLOW), or through a magic link.
 */
TEST(hard_link_to_a_denied_file)
{
	const char *t = test_tmpdir();
	SH_OK("mkdir -p %s/x && echo secret > %s/x/secret && ln -s %s/x/secret %s/sl && echo "
	      "pub > %s/pub",
	      t, t, t, t, t);
	SH_OK("%s run --deny %s/x -- %s link %s/x/secret %s/h1 , linkat %s/sl %s/h2 follow , "
	      "linkat %s/sl %s/h3 nofollow , cat %s/h1 , cat %s/h2 , cat %s/h3",
	      sysbroker_bin(), t, fsop(), t, t, t, t, t, t, t, t, t);
	/* Linking the symlink itself is fine: following it later is judged again. */
	ASSERT_STREQ(out, "EACCES EACCES ok ENOENT ENOENT EACCES\n");
	/* allow-read is no write access either. */
	SH_OK("%s run --allow-read %s/pub -- %s link %s/pub %s/h4 , flink %s/pub %s/h5",
	      sysbroker_bin(), t, fsop(), t, t, t, t);
	ASSERT_STREQ(out, "EACCES EACCES\n");
	/* Control: natively every link works and reads the secret. */
	SH_OK("%s link %s/x/secret %s/n1 , linkat %s/sl %s/n2 follow , cat %s/n2", fsop(), t, t, t,
	      t, t);
	ASSERT_STREQ(out, "ok ok secret\n");
	/* Through the program's own magic link: /proc/self/fd/N of an allowed file links that
	 * file, of nothing else. */
	SH_OK("%s run --deny %s/x -- sh -c 'exec 3<%s/pub; %s linkat /proc/self/fd/3 %s/m1 follow "
	      ", cat %s/m1'",
	      sysbroker_bin(), t, t, fsop(), t, t);
	ASSERT_STREQ(out, "ok pub\n");
	clean(t);
}

/* Where a symlink is made is what is judged; its text is data, judged when followed. */
TEST(symlink_text_is_judged_on_use)
{
	const char *t = test_tmpdir();
	SH_OK("mkdir -p %s/x %s/w && echo secret > %s/x/secret", t, t, t);
	SH_OK("%s run --deny %s/x -- %s symlink %s/x/secret %s/w/s , symlink ../w %s/x/s , "
	      "cat %s/w/s , symlink /etc/passwd %s/w/p , cat %s/w/p",
	      sysbroker_bin(), t, fsop(), t, t, t, t, t, t);
	ASSERT_TRUE(!strncmp(out, "ok EACCES EACCES ok root:", 25));
	SH_OK("readlink %s/w/s", t);
	char want[4096];
	snprintf(want, sizeof(want), "%s/x/secret\n", t);
	ASSERT_STREQ(out, want);
	clean(t);
}

/* New objects get the program's umask, as natively. */
TEST(umask_applies_to_what_is_made)
{
	const char *t = test_tmpdir();
	const char *script =
	    "umask 027 , mkdir @/d 777 , mknod @/p p 666 , mknod @/f f 666 , "
	    "mknod @/s s 777 , creat @/c 666 , owner @/d , owner @/p , owner @/f , "
	    "owner @/s , owner @/c";
	char native[1024], one[2048], dir[4200];
	snprintf(dir, sizeof(dir), "%s/n", t);
	SH_OK("mkdir %s", dir);
	expand(script, dir, one, sizeof(one));
	SH_OK("%s %s", fsop(), one);
	keep(native, sizeof(native), out);
	ASSERT_STREQ(native, "ok ok ok ok ok ok 0:0:750 0:0:640 0:0:640 0:0:750 0:0:640\n");
	snprintf(dir, sizeof(dir), "%s/s", t);
	SH_OK("mkdir %s", dir);
	expand(script, dir, one, sizeof(one));
	SH_OK("%s run --deny /nonexistent -- %s %s", sysbroker_bin(), fsop(), one);
	ASSERT_STREQ(out, native);
	clean(t);
}

/*
 * A root supervisor must not lend its privileges: a program running as nobody makes objects
 * owned by nobody, and cannot remove, chmod, chown, link or truncate what nobody could not.
 * Every answer is compared with the same program run natively.
 */
TEST(program_identity_not_the_supervisors)
{
	if (getuid() != 0)
		tap_skip("needs root (the supervisor must have privileges to lend)");
	if (access("/usr/bin/setpriv", X_OK))
		tap_skip("no setpriv");
	const char *t = test_tmpdir();
	/* o: nobody's directory; r: root's, 0755, with root's files; k: sticky, 1777. */
	SH_OK("chmod 755 %s && mkdir -p %s/o %s/r %s/k && chown 65534:65534 %s/o && "
	      "chmod 1777 %s/k && echo root > %s/r/f && chmod 644 %s/r/f && echo s > %s/r/s && "
	      "chmod 600 %s/r/s && echo k > %s/k/rootfile && chmod 666 %s/k/rootfile && "
	      "ln -s %s/r/f %s/k/rl",
	      t, t, t, t, t, t, t, t, t, t, t, t, t, t);
	const char *script =
	    "mkdir @/o/d 755 , mknod @/o/p p 644 , mknod @/o/f f 600 , symlink x @/o/l , "
	    "creat @/o/cr 640 , owner @/o/d , owner @/o/p , owner @/o/f , owner @/o/l , "
	    "owner @/o/cr , "
	    "unlink @/r/f , rename @/r/f @/o/g , chmod @/r/f 777 , chown @/o/f 0 0 , "
	    "chown @/r/f 65534 65534 , link @/r/s @/o/hs , truncate @/r/f 0 , "
	    "setxattr @/r/f user.t v , mkdir @/r/d 755 , rmdir @/o/d , unlink @/k/rootfile , "
	    "lchown @/k/rl 65534 65534 , utimes @/r/f , mknodat @/o c c 600 , "
	    "renameat2 @/o/f @/o/w whiteout , cat @/r/f";
	char one[4096];
	expand(script, t, one, sizeof(one));
	char native[4096];
	SH_OK("setpriv --reuid=65534 --regid=65534 --clear-groups %s %s", fsop(), one);
	keep(native, sizeof(native), out);
	ASSERT_STREQ(
	    native,
	    "ok ok ok ok ok 65534:65534:755 65534:65534:644 65534:65534:600 "
	    "65534:65534:777 65534:65534:640 EACCES EACCES EPERM EPERM EPERM EPERM EACCES EACCES "
	    "EACCES ok EPERM EPERM EPERM EPERM ok root\n");
	SH_OK("rm -rf %s/o/* && chown 65534:65534 %s/o", t, t);
	SH_OK("%s run --deny /nonexistent -- setpriv --reuid=65534 --regid=65534 --clear-groups "
	      "%s %s",
	      sysbroker_bin(), fsop(), one);
	ASSERT_STREQ(out, native);
	clean(t);
}

/*
 * File handles reach inodes without a path, chroot and pivot_root change what "/" means, and
 * fanotify marks report other objects: EPERM under any fs rule, decided on the number alone.
 * Without a rule the filter does not even see them (transparency): they work as natively.
 */
TEST(handles_chroot_and_marks_refused_under_fs_rules)
{
	if (getuid() != 0)
		tap_skip("needs root (these calls are privileged natively)");
	const char *t = test_tmpdir();
	SH_OK("mkdir -p %s/a %s/new && echo data > %s/f", t, t, t);
	SH_OK("%s handle %s/f", fsop(), t);
	char handle[512];
	keep(handle, sizeof(handle), out);
	handle[strcspn(handle, "\n")] = 0;
	ASSERT_TRUE(strchr(handle, ':'));

	/* chroot last: it changes what the later paths would mean. */
	char fmt[1024], one[8192], ops_[4096];
	snprintf(fmt, sizeof(fmt),
		 "handle @/f , openhandle @ %s , pivot_root @/new @/new , fanotify @/f , "
		 "chroot @/a",
		 handle);
	expand(fmt, t, ops_, sizeof(ops_));
	snprintf(one, sizeof(one), "%s %s", fsop(), ops_);
	/* Natively (root): all but pivot_root (the new root is no mount point) work. */
	SH_OK("%s", one);
	char native[1024];
	keep(native, sizeof(native), out);
	char want[1024];
	snprintf(want, sizeof(want), "%s data EBUSY ok ok\n", handle);
	ASSERT_STREQ(native, want);
	/* No fs rule: the same answers. */
	SH_OK("%s run -- %s", sysbroker_bin(), one);
	ASSERT_STREQ(out, native);
	/* Any fs rule: refused. */
	SH_OK("%s run --deny /nonexistent -- %s", sysbroker_bin(), one);
	ASSERT_STREQ(out, "EPERM EPERM EPERM EPERM EPERM\n");
	SH_OK("%s run --allow-read / -- %s", sysbroker_bin(), one);
	ASSERT_STREQ(out, "EPERM EPERM EPERM EPERM EPERM\n");
	clean(t);
}

/* Device nodes are refused (a disk node in an allowed directory would read around every
 * path rule); whiteouts need no privilege and are made as natively. */
TEST(device_nodes_refused_whiteouts_made)
{
	if (getuid() != 0)
		tap_skip("needs root (mknod of a device is privileged natively)");
	const char *t = test_tmpdir();
	SH_OK("mkdir -p %s/n %s/s", t, t);
	SH_OK("%s mknodat %s/n c c 600 , mknodat %s/n w w 600", fsop(), t, t);
	ASSERT_STREQ(out, "ok ok\n");
	SH_OK("%s run --deny /nonexistent -- %s mknodat %s/s c c 600 , mknod %s/s/b b 600 , "
	      "mknodat %s/s w w 600 , owner %s/s/w",
	      sysbroker_bin(), fsop(), t, t, t, t);
	ASSERT_STREQ(out, "EPERM EPERM ok 0:0:600\n");
	clean(t);
}

/*
 * A signal that interrupts the wait for our answer makes the kernel restart the call after
 * the handler (SA_RESTART), with the same arguments: a change we had already made must not
 * be made again (a second mkdir answers EEXIST, a second rmdir ENOENT). Thousands of calls
 * under a thread that signals the caller without pause; natively none fails.
 */
TEST_TIMEOUT(changes_made_once_under_signals, 120)
{
	const char *t = test_tmpdir();
	SH_OK("mkdir -p %s/n %s/s", t, t);
	SH_OK("%s restart %s/n 1000", fsop(), t);
	ASSERT_STREQ(out, "0\n");
	SH_OK("%s run --deny /nonexistent -- %s restart %s/s 2000", sysbroker_bin(), fsop(), t);
	ASSERT_STREQ(out, "0\n");
	clean(t);
}

/*
 * The calls through an fd are judged on what the fd refers to: a file (by its path), or an
 * object in no directory (a pipe: "pipe:[N]"), of which no rule speaks. Under a read-only
 * view of everything, the file's mode stays while the pipe's can change, as natively.
 */
TEST(fd_based_calls_decided_on_the_object)
{
	const char *t = test_tmpdir();
	SH_OK("echo x > %s/f", t);
	char calls[4096];
	snprintf(calls, sizeof(calls),
		 "fchmod /dev/stdin 600 , fchmod %s/f 600 , futimens /dev/stdin , futimens %s/f , "
		 "fchown %s/f 0 0",
		 t, t, t);
	SH_OK("true | %s %s", fsop(), calls);
	ASSERT_STREQ(out, "ok ok ok ok ok\n");
	SH_OK("true | %s run --allow-read / -- %s %s", sysbroker_bin(), fsop(), calls);
	ASSERT_STREQ(out, "ok EACCES ok EACCES EACCES\n");
	clean(t);
}

/* Each change is one audit line naming the call, the object, the action and the rule. */
TEST(audit_names_the_change)
{
	const char *t = test_tmpdir();
	SH_OK("mkdir -p %s/x && echo s > %s/x/secret", t, t);
	SH_OK("%s run --audit %s/a.jsonl --deny %s/x -- %s unlinkat %s x/secret 0 , mkdir %s/d "
	      "700",
	      sysbroker_bin(), t, t, fsop(), t, t);
	ASSERT_STREQ(out, "EACCES ok\n");
	SH_OK("grep '\"syscall\":\"unlinkat\"' %s/a.jsonl", t);
	char want[4096];
	snprintf(want, sizeof(want), "\"path\":\"%s/x/secret\"", t);
	ASSERT_TRUE(strstr(out, want));
	ASSERT_TRUE(strstr(out, "\"action\":\"deny\""));
	ASSERT_TRUE(strstr(out, "\"errno\":\"EACCES\""));
	ASSERT_TRUE(strstr(out, "\"rule\":\"cli:"));
	SH_OK("grep '\"syscall\":\"mkdir\"' %s/a.jsonl", t);
	snprintf(want, sizeof(want), "\"path\":\"%s/d\"", t);
	ASSERT_TRUE(strstr(out, want));
	ASSERT_TRUE(strstr(out, "\"action\":\"allow\""));
	clean(t);
}

/*
 * A rename and a link write at both ends (SPEC 2.1): the audit line names both, and learn
 * allows both, so that the run passes again under the policy it wrote (where it was refused
 * at the destination when only the first path was noted).
 */
TEST(rename_and_link_audited_and_learnt_at_both_ends)
{
	const char *t = test_tmpdir();
	char setup[4096], run[8192];
	snprintf(setup, sizeof(setup),
		 "rm -rf %s/src %s/dst %s/other && mkdir -p %s/src %s/dst %s/other && echo a > "
		 "%s/src/a && echo c > %s/src/c",
		 t, t, t, t, t, t, t, t);
	snprintf(run, sizeof(run),
		 "sh -c 'mv %s/src/a %s/dst/b && ln %s/src/c %s/other/d && ln -s ../x %s/other/s "
		 "&& echo done'",
		 t, t, t, t, t);
	SH_OK("%s", setup);
	SH_OK("%s run --audit %s/a.jsonl --learn %s/learnt.policy -- %s", sysbroker_bin(), t, t,
	      run);
	ASSERT_STREQ(out, "done\n");
	char want[4096];
	SH_OK("grep -h '\"syscall\":\"renameat2\"' %s/a.jsonl", t);
	snprintf(want, sizeof(want), "\"path\":\"%s/src/a\",\"path2\":\"%s/dst/b\"", t, t);
	ASSERT_TRUE(strstr(out, want));
	SH_OK("grep -h '\"syscall\":\"linkat\"' %s/a.jsonl", t);
	snprintf(want, sizeof(want), "\"path\":\"%s/src/c\",\"path2\":\"%s/other/d\"", t, t);
	ASSERT_TRUE(strstr(out, want));
	SH_OK("grep -h '\"syscall\":\"symlinkat\"' %s/a.jsonl", t);
	snprintf(want, sizeof(want), "\"path\":\"%s/other/s\",\"path2\":\"../x\"", t);
	ASSERT_TRUE(strstr(out, want));
	/* Fed back, under its default deny. */
	SH_OK("%s", setup);
	SH_OK("%s run --policy %s/learnt.policy -- %s", sysbroker_bin(), t, run);
	ASSERT_STREQ(out, "done\n");
	clean(t);
}

/*
 * chdir and getcwd look at a directory: learn allows reading it, not what is below it nor
 * writing in it (getcwd was learnt as a write of the cwd, chdir as a read of all below).
 */
TEST(learn_of_chdir_grants_the_directory_alone)
{
	const char *t = test_tmpdir();
	SH_OK("mkdir -p %s/sub/deep && echo x > %s/sub/deep/f && echo y > %s/sub/other", t, t, t);
	char run[4096];
	snprintf(run, sizeof(run), "sh -c 'cd %s/sub && pwd > /dev/null && /bin/pwd && cat deep/f'",
		 t);
	SH_OK("%s run --learn %s/learnt.policy -- %s", sysbroker_bin(), t, run);
	SH_OK("%s run --policy %s/learnt.policy -- %s", sysbroker_bin(), t, run);
	char want[4096];
	snprintf(want, sizeof(want), "%s/sub\nx\n", t);
	ASSERT_STREQ(out, want);
	ASSERT_NE(sh("%s run --policy %s/learnt.policy -- sh -c 'cat %s/sub/other || echo > %s/sub/new'",
		     sysbroker_bin(), t, t, t),
		  0);
	SH_OK("test ! -e %s/sub/new", t);
	clean(t);
}

/*
 * The audit line is written after the answer, by when the process may have exited: its pid
 * and comm are taken before. 200 processes whose last intercepted call comes just before
 * their exit: every line names its process.
 */
TEST_TIMEOUT(audit_names_processes_that_exited, 60)
{
	const char *t = test_tmpdir();
	SH_OK("%s run --audit %s/a.jsonl --deny /nonexistent -- sh -c 'for i in $(seq 200); do "
	      "/bin/true; done'",
	      sysbroker_bin(), t);
	SH_OK("grep -c '\"comm\":\"true\"' %s/a.jsonl; grep -c '\"pid\":0,\\|\"comm\":\"\"' "
	      "%s/a.jsonl || true",
	      t, t);
	printf("# lines of true, then lines without a pid or comm: %s", out);
	ASSERT_TRUE(atoi(out) >= 200);
	ASSERT_STREQ(strchr(out, '\n') + 1, "0\n");
	clean(t);
}

/* Runs fsop as nobody in a user namespace of its own whose maps we write from outside (under
 * sysbroker the program's own write of its uid_map is an open the supervisor makes), then
 * the calls; prefix is "" or "SYSBROKER run ... --". Its stdout lands in out. */
static void in_userns(const char *prefix, const char *t, const char *d)
{
	SH_OK("%s setpriv --reuid=65534 --regid=65534 --clear-groups %s userns %s/%s/pid , "
	      "chmod %s/rootfile 777 , chown %s/%s/mine 0 0 , chown %s/%s/mine 1 1 , "
	      "owner %s/%s/mine > %s/%s/out 2>&1 & "
	      "while [ ! -s %s/%s/pid ]; do sleep 0.01; done; p=$(cat %s/%s/pid); "
	      "echo '0 65534 1' > /proc/$p/uid_map && echo '0 65534 1' > /proc/$p/gid_map; "
	      "wait; cat %s/%s/out",
	      prefix, fsop(), t, d, t, t, d, t, d, t, d, t, d, t, d, t, d, t, d);
}

/*
 * A program in a user namespace of its own holds capabilities over that namespace only: as
 * its root it may not chmod a file of the host's root, although its CapEff is full. Made by
 * a worker thread of ours, the change must not get them over the host. chown's ids are its
 * namespace's: 0 is its root (our 65534), 1 is not mapped (EINVAL), as natively.
 */
TEST(user_namespace_capabilities_stay_in_it)
{
	if (getuid() != 0)
		tap_skip("needs root (to write the program's uid_map from outside)");
	if (access("/usr/bin/setpriv", X_OK))
		tap_skip("no setpriv");
	const char *t = test_tmpdir();
	SH_OK("chmod 755 %s && mkdir -m 777 %s/n %s/s && echo x > %s/rootfile && "
	      "chmod 644 %s/rootfile && for d in n s; do echo m > %s/$d/mine && "
	      "chown 65534:65534 %s/$d/mine; done",
	      t, t, t, t, t, t, t);
	char native[1024], prefix[4096];
	in_userns("", t, "n");
	keep(native, sizeof(native), out);
	ASSERT_STREQ(native, "ok EPERM ok EINVAL 0:0:644\n");
	snprintf(prefix, sizeof(prefix), "%s run --deny /nonexistent --", sysbroker_bin());
	in_userns(prefix, t, "s");
	ASSERT_STREQ(out, native);
	SH_OK("stat -c %%a %s/rootfile", t);
	ASSERT_STREQ(out, "644\n");
	clean(t);
}
