/* SPDX-License-Identifier: MIT */
/* The process-connector fallback against the real kernel: exit codes and signals of a
 * watched process, reported once its last thread is gone, and the children of a process
 * watched with AMX_WATCH_CHILDREN followed from their fork, and an exit reported before the
 * fork that follows it. Needs root (CAP_NET_ADMIN). */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "sources/procconn.h"

#define MAX_SEEN 64
static struct amx_event seen[MAX_SEEN];
static uint64_t seen_at_ns[MAX_SEEN]; /* when the handler got it */
static int n_seen;

static uint64_t boot_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void on_event(void *ctx, const struct amx_event *ev)
{
	(void)ctx;
	if (n_seen < MAX_SEEN) {
		seen_at_ns[n_seen] = boot_ns();
		seen[n_seen++] = *ev;
	}
}

/* Where is a seen event of type about pid (-1: not seen)? */
static int seen_index(uint32_t type, pid_t pid)
{
	for (int i = 0; i < n_seen; i++)
		if (seen[i].type == type && (pid_t)seen[i].pid == pid)
			return i;
	return -1;
}

/* Pump events until one of type about pid arrives, or 5 s pass (by the clock: on a busy
 * host the connector is always readable, so rounds would run out early). */
static const struct amx_event *wait_for(struct amx_procconn *p, uint32_t type, pid_t pid)
{
	uint64_t deadline = boot_ns() + 5000000000ull;
	while (boot_ns() < deadline) {
		int i = seen_index(type, pid);
		if (i >= 0)
			return &seen[i];
		struct pollfd pfd = { .fd = amx_procconn_epoll_fd(p), .events = POLLIN };
		poll(&pfd, 1, 10);
		amx_procconn_consume(p);
	}
	return NULL;
}

static void *idle_thread(void *arg)
{
	(void)arg;
	usleep(200 * 1000);
	return NULL;
}

/* A connector with nothing seen yet; NULL (and why on stderr) when it cannot open. */
static struct amx_procconn *open_fresh(void)
{
	char err[256];
	n_seen = 0;
	struct amx_procconn *p = amx_procconn_open(on_event, NULL, err, sizeof(err));
	if (!p)
		fprintf(stderr, "%s\n", err);
	return p;
}

TEST(exit_code_signal_and_last_thread)
{
	struct amx_procconn *p = open_fresh();
	CHECK(p != NULL);
	if (!p)
		return;
	int go[2];
	CHECK(pipe(go) == 0);
	pid_t a = fork();
	if (a == 0) {
		char c;
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		/* the leader leaves first; the process ends 200 ms later, with the thread */
		pthread_t t;
		pthread_create(&t, NULL, idle_thread, NULL);
		pthread_detach(t);
		syscall(SYS_exit, 0);
	}
	CHECK(amx_procconn_watch(p, a, AMX_WATCH_PROC, 0) == 0);
	uint64_t start = boot_ns();
	CHECK(write(go[1], "x", 1) == 1);
	const struct amx_event *e = wait_for(p, AMX_EV_EXIT, a);
	CHECK(e != NULL);
	if (e) {
		CHECK(e->start_boottime_ns > 0);
		/* reported when the last thread left, not when the leader did */
		CHECK(seen_at_ns[e - seen] >= start + 150 * 1000000ull);
	}
	waitpid(a, NULL, 0);

	pid_t b = fork();
	if (b == 0) {
		pause();
		_exit(0);
	}
	CHECK(amx_procconn_watch(p, b, AMX_WATCH_PROC, 0) == 0);
	kill(b, SIGKILL);
	e = wait_for(p, AMX_EV_EXIT, b);
	CHECK(e != NULL);
	if (e) {
		struct amx_exit_status xs = amx_decode_exit(e->exit_code);
		CHECK(xs.signal == SIGKILL && xs.exit_code == 137);
	}
	waitpid(b, NULL, 0);
	amx_procconn_close(p);
}

TEST(children_of_a_followed_parent)
{
	struct amx_procconn *p = open_fresh();
	CHECK(p != NULL);
	if (!p)
		return;
	int go[2], kid[2];
	CHECK(pipe(go) == 0 && pipe(kid) == 0);
	pid_t parent = fork();
	if (parent == 0) {
		char c;
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		pid_t k = fork();
		if (k == 0) {
			execl("/bin/sh", "sh", "-c", "exit 7", (char *)NULL);
			_exit(127);
		}
		if (write(kid[1], &k, sizeof(k)) != sizeof(k))
			_exit(1);
		waitpid(k, NULL, 0);
		_exit(0);
	}
	CHECK(amx_procconn_watch(p, parent, AMX_WATCH_PROC | AMX_WATCH_CHILDREN, 0) == 0);
	CHECK(write(go[1], "x", 1) == 1);
	pid_t k = 0;
	CHECK(read(kid[0], &k, sizeof(k)) == sizeof(k));
	CHECK(wait_for(p, AMX_EV_FORK, k) != NULL);
	CHECK(wait_for(p, AMX_EV_EXEC, k) != NULL);
	const struct amx_event *e = wait_for(p, AMX_EV_EXIT, k);
	CHECK(e != NULL);
	if (e) {
		CHECK(amx_decode_exit(e->exit_code).exit_code == 7);
		CHECK((pid_t)e->ppid == parent);
	}
	CHECK(wait_for(p, AMX_EV_EXIT, parent) != NULL);
	waitpid(parent, NULL, 0);
	amx_procconn_close(p);
}

/* PM2 forks an app's next copy within milliseconds of the last one's exit, so both often
 * sit in one batch of connector messages: the exit must come out first, as it happened,
 * or the daemon learns the new pid before the old one's exit and drops that exit. */
TEST(an_exit_before_the_next_fork)
{
	struct amx_procconn *p = open_fresh();
	CHECK(p != NULL);
	if (!p)
		return;
	int go[2], kid[2];
	CHECK(pipe(go) == 0 && pipe(kid) == 0);
	pid_t parent = fork();
	if (parent == 0) {
		char c;
		pid_t k[2];
		for (int i = 0; i < 2; i++) {
			if (read(go[0], &c, 1) != 1)
				_exit(1);
			if (i == 1) { /* the first copy dies, the next one is forked at once */
				kill(k[0], SIGKILL);
				waitpid(k[0], NULL, 0);
			}
			k[i] = fork();
			if (k[i] == 0) {
				pause();
				_exit(0);
			}
			if (write(kid[1], &k[i], sizeof(k[i])) != sizeof(k[i]))
				_exit(1);
		}
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		kill(k[1], SIGKILL); /* its own children, reaped by itself */
		waitpid(k[1], NULL, 0);
		_exit(0);
	}
	CHECK(amx_procconn_watch(p, parent, AMX_WATCH_PROC | AMX_WATCH_CHILDREN, 0) == 0);
	pid_t first = 0, next = 0;
	CHECK(write(go[1], "x", 1) == 1);
	CHECK(read(kid[0], &first, sizeof(first)) == sizeof(first));
	CHECK(wait_for(p, AMX_EV_FORK, first) != NULL);
	/* Nothing is read while the parent kills, reaps and forks: one batch holds it all. */
	CHECK(write(go[1], "x", 1) == 1);
	CHECK(read(kid[0], &next, sizeof(next)) == sizeof(next));
	CHECK(wait_for(p, AMX_EV_FORK, next) != NULL);
	CHECK(wait_for(p, AMX_EV_EXIT, first) != NULL);
	CHECK(seen_index(AMX_EV_EXIT, first) < seen_index(AMX_EV_FORK, next));
	CHECK(write(go[1], "x", 1) == 1);
	waitpid(parent, NULL, 0);
	amx_procconn_close(p);
}

int main(void)
{
	RUN(exit_code_signal_and_last_thread);
	RUN(children_of_a_followed_parent);
	RUN(an_exit_before_the_next_fork);
	CHECK_DONE();
}
