/* Live tests of the thread watch (twatch.c): real BPF programs on the real tracepoints count
 * a thread's end and exec in its tid's slot, and nothing else moves them. Needs root in the
 * initial pid namespace (skipped elsewhere). */
#include <errno.h>
#include <signal.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "twatch.h"

static struct twatch *open_or_skip(void)
{
	struct twatch *w = NULL;
	int r = twatch_open(&w);
	if (r < 0)
		tap_skip("no thread watch here (needs CAP_BPF and CAP_PERFMON, initial pid ns)");
	ASSERT_EQ(twatch_probe(), 0);
	return w;
}

/* A process that ends moves its tid's slot by one; a live one's does not move. */
TEST(exit_moves_the_slot)
{
	struct twatch *w = open_or_skip();
	uint64_t self0 = twatch_count(w, getpid());
	int go[2];
	ASSERT_EQ(pipe(go), 0);
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		close(go[1]);
		(void)!read(go[0], &c, 1);
		_exit(0);
	}
	ASSERT_GE(pid, 1);
	uint64_t c0 = twatch_count(w, pid);
	usleep(20000);
	ASSERT_EQ(twatch_count(w, pid), c0); /* alive: nothing moved */
	close(go[1]);
	ASSERT_EQ(waitpid(pid, NULL, 0), pid);
	ASSERT_EQ(twatch_count(w, pid), c0 + 1);
	close(go[0]);
	ASSERT_EQ(twatch_count(w, getpid()), self0);
	twatch_close(w);
}

static void *thread_tid(void *arg)
{
	*(pid_t *)arg = (pid_t)syscall(SYS_gettid);
	return NULL;
}

/* A thread's end moves its own slot (its tid, not its process's). */
TEST(thread_exit_moves_its_tid)
{
	struct twatch *w = open_or_skip();
	uint64_t self0 = twatch_count(w, getpid());
	pid_t tid = 0;
	pthread_t t;
	ASSERT_EQ(pthread_create(&t, NULL, thread_tid, &tid), 0);
	ASSERT_EQ(pthread_join(t, NULL), 0);
	ASSERT_GE(tid, 1);
	/* Joined: its do_exit is under way (the tid word is cleared in exit_mm, which older
	 * kernels run before the tracepoint): wait for the count a little. */
	for (int i = 0; i < 100 && twatch_count(w, tid) == 0; i++)
		usleep(10000);
	ASSERT_GE(twatch_count(w, tid), 1);
	ASSERT_EQ(twatch_count(w, getpid()), self0);
	twatch_close(w);
}

/* An exec moves the slot of the tid that execs (credentials made anew), before it ends. */
TEST(exec_moves_the_slot)
{
	struct twatch *w = open_or_skip();
	int p[2], go[2];
	ASSERT_EQ(pipe(p), 0);
	ASSERT_EQ(pipe(go), 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		close(go[1]);
		dup2(p[1], 1);
		char g;
		(void)!read(go[0], &g, 1); /* the parent has read the count */
		/* Tells the parent it is past the exec, then sleeps until killed. */
		execl("/bin/sh", "sh", "-c", "echo x; exec sleep 30", (char *)NULL);
		_exit(127);
	}
	ASSERT_GE(pid, 1);
	close(p[1]);
	close(go[0]);
	uint64_t before = twatch_count(w, pid);
	ASSERT_EQ(write(go[1], "g", 1), 1);
	char c;
	ASSERT_EQ(read(p[0], &c, 1), 1);
	uint64_t after = twatch_count(w, pid);
	ASSERT_GE(after, before + 1);
	kill(pid, SIGKILL);
	ASSERT_EQ(waitpid(pid, NULL, 0), pid);
	ASSERT_GE(twatch_count(w, pid), after + 1);
	close(p[0]);
	close(go[1]);
	twatch_close(w);
}
