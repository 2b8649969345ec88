/* sysbroker run: parse the policy options, spawn the program under the engine, forward
 * signals, and exit with the program's status (SPEC §2.5). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sysbroker/sysbroker.h>

#include "cli.h"
#include "macros.h"

/* Policy words accepted as --NAME, with their argument counts (-1: one or more). */
static const struct {
	const char *name;
	int min, max;
} rule_opts[] = {
	{"allow", 1, 1},      {"allow-read", 1, 1}, {"deny", 1, 1},        {"hide", 1, 1},
	{"redirect", 2, 2},   {"default", 1, 1},    {"net-allow", 1, 1},   {"net-deny", 1, 1},
	{"bind-allow", 1, 1}, {"bind-deny", 1, 1},  {"net-default", 1, 1}, {"unshare-net", 0, 0},
	{"net-broker", 0, 0}, {"publish", 1, 1},    {"audit", 1, 1},       {"learn", 1, 1},
	{"stdout", 1, 1},     {"stderr", 1, 1},     {"allow-mount", 2, 3}, {"allow-mknod", 1, 16},
	{"sysinfo", 1, 1},
};

static void run_usage(FILE *f)
{
	fputs("Usage: sysbroker run [OPTION...] [--] COMMAND [ARG...]\n"
	      "\n"
	      "Runs COMMAND under a policy. Every policy rule is an option --NAME ARG...\n"
	      "(see sysbroker.policy(5)); rules apply in order, the last match wins.\n"
	      "\n"
	      "  --policy FILE              rules of FILE at this place\n"
	      "  --allow PATTERN            full access\n"
	      "  --allow-read PATTERN       read, execute, stat, list only\n"
	      "  --deny PATTERN             every access fails with EACCES\n"
	      "  --hide PATTERN             appears not to exist (ENOENT)\n"
	      "  --redirect FROM TO         serve FROM from TO, as a bind mount would\n"
	      "  --default allow|allow-read|deny\n"
	      "  --net-allow ADDR, --net-deny ADDR, --bind-allow ADDR, --bind-deny ADDR\n"
	      "  --net-default allow|deny, --unshare-net, --net-broker, --publish [HOST:]PORT[:INNER]\n"
	      "  --allow-mount FSTYPE TARGET [OPTS], --allow-mknod DEVICE..., --sysinfo cgroup\n"
	      "  --audit FILE|-             one JSON line per intercepted call\n"
	      "  --learn FILE               write a policy of what the program touched\n"
	      "  --stdout FILE, --stderr FILE  append the program's output to FILE\n"
	      "  --help                     this text\n"
	      "\n"
	      "Exit status: the command's; 128+N if it died of signal N; 125 if sysbroker failed;\n"
	      "126 if the command could not be executed; 127 if it was not found.\n",
	      f);
}

static int rule_opt_index(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(rule_opts); i++)
		if (!strcmp(rule_opts[i].name, name))
			return (int)i;
	return -1;
}

/* Parses options into p; returns the index of COMMAND in argv, or -1 after printing. */
static int parse_options(int argc, char **argv, sb_policy *p, bool *help)
{
	unsigned n_rule = 0;
	int i = 1;
	while (i < argc) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (strncmp(a, "--", 2) != 0)
			break;
		if (!strcmp(a, "--help")) {
			*help = true;
			return argc;
		}
		char name[64];
		const char *eq = strchr(a + 2, '=');
		size_t nl = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		if (nl >= sizeof(name)) {
			cli_error("run: unknown option '%s'", a);
			return -1;
		}
		memcpy(name, a + 2, nl);
		name[nl] = 0;
		char err[1024];
		if (!strcmp(name, "policy")) {
			const char *file = eq ? eq + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
			if (!file) {
				cli_error("run: --policy needs a FILE");
				return -1;
			}
			if (sb_policy_load_file(p, file, err, sizeof(err)) < 0) {
				cli_error("%s", err);
				return -1;
			}
			i += eq ? 1 : 2;
			continue;
		}
		int k = rule_opt_index(name);
		if (k < 0) {
			cli_error("run: unknown option '--%s' (try --help)", name);
			return -1;
		}
		const char *words[20];
		size_t nw = 0;
		words[nw++] = rule_opts[k].name;
		i++;
		if (eq) {
			words[nw++] = eq + 1;
		} else {
			/* Take the required arguments, then optional ones up to the next option
			 * or "--" (put "--" before COMMAND after a variable-length option). */
			while (i < argc && (int)nw - 1 < rule_opts[k].max) {
				bool required = (int)nw - 1 < rule_opts[k].min;
				if (!required && (!strncmp(argv[i], "-", 1)))
					break;
				if (!required && rule_opts[k].min == rule_opts[k].max)
					break;
				words[nw++] = argv[i++];
			}
			if ((int)nw - 1 < rule_opts[k].min) {
				cli_error("run: --%s needs %d argument%s", name, rule_opts[k].min,
					  rule_opts[k].min == 1 ? "" : "s");
				return -1;
			}
		}
		n_rule++;
		if (sb_policy_add(p, words, nw, "cli", n_rule, err, sizeof(err)) < 0) {
			cli_error("%s", err);
			return -1;
		}
	}
	return i;
}

static int open_output(const char *path, const char *what)
{
	if (!strcmp(path, "-"))
		return fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
	if (fd < 0)
		cli_error("%s: %s: %s", what, path, strerror(errno));
	return fd;
}

struct run_state {
	sb_supervisor *s;
	_Atomic pid_t child; /* 0 until sb_spawn returned: nothing is reaped before */
	int status; /* exit status to return, -1 while the program runs */
};

/* Kills what is left of the tree: orphans were reparented to us (we are a subreaper). */
static void reap_rest(void)
{
	for (int round = 0; round < 64; round++) {
		char path[64], buf[4096];
		snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			break;
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			break;
		buf[n] = 0;
		for (char *p = buf; *p;) {
			char *end;
			long pid = strtol(p, &end, 10);
			if (end == p)
				break;
			kill((pid_t)pid, SIGKILL);
			p = end;
		}
		while (waitpid(-1, NULL, 0) > 0)
			;
	}
}

static int on_signal(int fd, uint32_t events, void *userdata)
{
	struct run_state *st = userdata;
	struct signalfd_siginfo si;
	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			if (st->child <= 0)
				continue; /* sb_spawn reaps its own failures; we look again after */
			int wst;
			pid_t pid;
			while ((pid = waitpid(-1, &wst, WNOHANG)) > 0) {
				if (pid != st->child)
					continue;
				st->status = WIFEXITED(wst) ? WEXITSTATUS(wst) : 128 + WTERMSIG(wst);
				reap_rest();
				sb_supervisor_stop(st->s, st->status);
			}
			continue;
		}
		/* Signals from the terminal reach the program's process group by themselves;
		 * forward only what somebody sent to us by pid. */
		if (si.ssi_code != SI_KERNEL && st->child > 0)
			kill(st->child, (int)si.ssi_signo);
	}
	return 0;
}

/*
 * A new network namespace has only a loopback interface, and it is down: bubblewrap brings it
 * up, and so do we, for programs that talk to themselves over 127.0.0.1 or ::1 (the kernel
 * adds both addresses as lo comes up). Nothing leaves the namespace through it.
 */
static int loopback_up(void)
{
	_cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = {.ifr_name = "lo"};
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return -errno;
	ifr.ifr_flags |= IFF_UP;
	return ioctl(fd, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 0;
}

struct child_setup {
	bool loopback;
	int ruleset; /* Landlock ruleset built by the supervisor, -1 for none */
};

/* pre_filter of the spawned child, after unshare-net made its namespace: loopback up, then
 * the Landlock ruleset. */
static int child_setup(void *userdata)
{
	const struct child_setup *c = userdata;
	if (c->loopback) {
		int r = loopback_up();
		if (r < 0)
			return r;
	}
	return c->ruleset >= 0 ? sb_landlock_restrict_self(c->ruleset) : 0;
}

static int fail(sb_supervisor *s, sb_sandbox *sb, int code)
{
	sb_supervisor_free(s);
	sb_sandbox_free(sb);
	return code;
}

int cmd_run(int argc, char **argv)
{
	sb_policy *p = NULL;
	if (sb_policy_new(&p) < 0) {
		cli_error("run: out of memory");
		return EXIT_SB_FAILURE;
	}
	bool help = false;
	int cmd = parse_options(argc, argv, p, &help);
	if (cmd < 0) {
		sb_policy_free(p);
		return EXIT_SB_FAILURE;
	}
	if (help) {
		sb_policy_free(p);
		run_usage(stdout);
		return 0;
	}
	if (cmd >= argc) {
		sb_policy_free(p);
		cli_error("run: no COMMAND given (try 'sysbroker run --help')");
		return EXIT_SB_FAILURE;
	}
	sb_policy_settings set;
	sb_policy_get_settings(p, &set);
	char why[1024];
	if (sb_policy_check_spawn(p, why, sizeof(why)) < 0) {
		cli_error("%s", why);
		sb_policy_free(p);
		return EXIT_SB_FAILURE;
	}

	/* Opened now, so that an unwritable learn FILE fails before the program runs. */
	_cleanup_close_ int learn_fd = -1;
	if (set.learn) {
		learn_fd = open(set.learn, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
		if (learn_fd < 0) {
			cli_error("learn: %s: %s", set.learn, strerror(errno));
			sb_policy_free(p);
			return EXIT_SB_FAILURE;
		}
	}
	int audit_fd = -1, out_fd = -1, err_fd = -1;
	if ((set.audit && (audit_fd = open_output(set.audit, "audit")) < 0) ||
	    (set.stdout_path && (out_fd = open_output(set.stdout_path, "stdout")) < 0) ||
	    (set.stderr_path && (err_fd = open_output(set.stderr_path, "stderr")) < 0)) {
		sb_policy_free(p);
		return EXIT_SB_FAILURE;
	}

	/* Signals come in through a signalfd served by the engine; block them everywhere
	 * first so every thread the engine starts inherits the mask. */
	sigset_t mask;
	sigemptyset(&mask);
	int fwd[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD, SIGWINCH, SIGCONT};
	for (size_t i = 0; i < ELEMENTSOF(fwd); i++)
		sigaddset(&mask, fwd[i]);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	/* Not dumpable: our /proc files belong to root and need CAP_SYS_PTRACE, so an
	 * unprivileged program cannot read our memory or take our fds. */
	prctl(PR_SET_DUMPABLE, 0);

	sb_supervisor *s = NULL;
	int r = sb_supervisor_new(&s, NULL);
	if (r < 0) {
		sb_policy_free(p);
		cli_error("run: cannot start the supervisor: %s%s", strerror(-r),
			  r == -EOPNOTSUPP ? " (kernel lacks seccomp user notification)" : "");
		return EXIT_SB_FAILURE;
	}
	sb_sandbox *sb = NULL;
	sb_sandbox_opts so = {.audit_fd = audit_fd};
	so.learn = learn_fd >= 0;
	r = sb_sandbox_new(&sb, p, &so);
	if (r < 0) {
		sb_policy_free(p);
		cli_error("run: %s", strerror(-r));
		return fail(s, NULL, EXIT_SB_FAILURE);
	}
	r = sb_sandbox_install(s, sb);
	if (r < 0) {
		cli_error("run: cannot install handlers: %s", strerror(-r));
		return fail(s, sb, EXIT_SB_FAILURE);
	}
	/* Exec is refused by Landlock where the policy says so (SECURITY.md says how far). */
	char llmsg[1024];
	_cleanup_close_ int ruleset = -1;
	r = sb_sandbox_landlock_prepare(sb, &ruleset, llmsg, sizeof(llmsg));
	if (r < 0) {
		cli_error("run: %s", llmsg[0] ? llmsg : strerror(-r));
		return fail(s, sb, EXIT_SB_FAILURE);
	}
	if (llmsg[0])
		fprintf(stderr, "sysbroker: warning: %s\n", llmsg);
	struct run_state st = {.s = s, .child = 0, .status = -1};
	_cleanup_close_ int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0 || sb_source_add(s, sfd, 0x001 /* EPOLLIN */, on_signal, &st) < 0) {
		cli_error("run: signalfd: %s", strerror(errno));
		return fail(s, sb, EXIT_SB_FAILURE);
	}
	struct child_setup setup = {.loopback = set.unshare_net, .ruleset = ruleset};
	sb_spawn_opts o = {
		.stdin_fd = -1,
		.stdout_fd = out_fd,
		.stderr_fd = err_fd,
		.unshare_net = set.unshare_net,
		.listener_data = sb,
		/* Once received, a call waits for our answer through non-fatal signals:
		 * otherwise a signal racing our answer makes the kernel restart a change we
		 * already made (a second mkdir: EEXIST), and no answer of ours can tell. */
		.wait_killable = true,
		.pre_filter = setup.loopback || ruleset >= 0 ? child_setup : NULL,
		.userdata = &setup,
	};
	int pidfd = -1;
	pid_t pid = sb_spawn(s, &o, argv + cmd, &pidfd, NULL);
	safe_close(out_fd);
	safe_close(err_fd);
	if (pid < 0) {
		int code = EXIT_SB_FAILURE;
		if (pid == -ENOENT)
			code = EXIT_NOT_FOUND;
		else if (pid == -EACCES || pid == -ENOEXEC || pid == -EPERM || pid == -EISDIR ||
			 pid == -ENOTDIR || pid == -ELOOP || pid == -ETXTBSY)
			code = EXIT_CANNOT_EXEC;
		if (pid == -EOPNOTSUPP)
			cli_error("run: this kernel (or an enclosing sandbox) lacks a feature sysbroker "
				  "needs: seccomp user notification with ADDFD_FLAG_SEND and pidfd_getfd "
				  "(see 'sysbroker features')");
		else if (code == EXIT_SB_FAILURE)
			cli_error("run: cannot start %s: %s", argv[cmd], strerror(-pid));
		else
			cli_error("%s: %s", argv[cmd], strerror(-pid));
		reap_rest();
		return fail(s, sb, code);
	}
	safe_close(pidfd);
	ruleset = safe_close(ruleset);
	st.child = pid;
	/* The child may have exited before we recorded its pid: look once more. */
	kill(getpid(), SIGCHLD);
	int code = sb_supervisor_run(s);
	sb_supervisor_free(s);
	if (learn_fd >= 0) {
		r = sb_sandbox_learn_write(sb, learn_fd);
		if (r < 0) {
			cli_error("learn: %s: %s", set.learn, strerror(-r));
			code = EXIT_SB_FAILURE;
		}
	}
	sb_sandbox_free(sb);
	safe_close(audit_fd);
	return code;
}
