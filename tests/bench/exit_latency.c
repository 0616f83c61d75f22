// SPDX-License-Identifier: MIT
/* How long from a watched child's exit in the kernel until user space handles the event.
 *
 * A spawner process, watched with AMX_WATCH_CHILDREN, forks N children one after another,
 * each exiting at once. This process only waits in epoll and consumes; for each EXIT event
 * latency = CLOCK_BOOTTIME in the handler - ev->ts_ns. Measured twice in one run: on a
 * quiet machine, and under a concurrent fork storm from an unwatched process.
 *
 * usage: exit_latency [N]   (default 2000; run as root) */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "sources/bpf_loader.h"

struct run {
	pid_t spawner;
	double *latency_us;
	int wanted;
	int got;
	int overflow;
};

struct result {
	int events;
	double p50, p99, max;
	double storm_forks_per_s;
};

static uint64_t boottime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void on_event(void *ctx, const struct amx_event *ev)
{
	uint64_t now = boottime_ns();
	struct run *r = ctx;

	if (!r || ev->type != AMX_EV_EXIT || ev->ppid != (uint32_t)r->spawner)
		return;
	if (r->got < r->wanted)
		r->latency_us[r->got++] = (double)(now - ev->ts_ns) / 1000.0;
	else
		r->overflow++;
}

static void die(const char *what)
{
	fprintf(stderr, "exit_latency: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Shared with the fork storm: the count it reports and the flag that stops it. */
struct storm_state {
	uint64_t forks;
	int stop;
};

/* Forks and reaps unwatched children as fast as it can until told to stop. It is stopped
 * by a flag rather than killed so it always reaps its last child (PID 1 here reaps no
 * orphans). */
static pid_t start_fork_storm(struct storm_state *st)
{
	pid_t pid = fork();

	if (pid < 0)
		die("failed to fork the fork storm");
	if (pid > 0)
		return pid;
	while (!__atomic_load_n(&st->stop, __ATOMIC_RELAXED)) {
		pid_t child = fork();

		if (child == 0)
			_exit(0);
		if (child > 0 && waitpid(child, NULL, 0) == child)
			__atomic_add_fetch(&st->forks, 1, __ATOMIC_RELAXED);
	}
	_exit(0);
}

/* Waits for one byte, then forks `n` children one after another, each exiting at once. */
static pid_t start_spawner(int n, int *release_fd)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		die("failed to create the spawner pipe");
	pid = fork();
	if (pid < 0)
		die("failed to fork the spawner");
	if (pid == 0) {
		char c;

		close(fds[1]);
		if (read(fds[0], &c, 1) != 1)
			_exit(2);
		for (int i = 0; i < n; i++) {
			pid_t child = fork();

			if (child == 0)
				_exit(0);
			if (child < 0 || waitpid(child, NULL, 0) != child)
				_exit(3);
		}
		_exit(0);
	}
	close(fds[0]);
	*release_fd = fds[1];
	return pid;
}

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double percentile(const double *sorted, int n, double p)
{
	int i = (int)(p * (n - 1) + 0.5);

	return n ? sorted[i] : 0;
}

static struct result measure(struct amx_bpf *b, struct run *r, int n, bool with_storm)
{
	struct storm_state *st;
	struct epoll_event ee = { .events = EPOLLIN };
	struct result res = { 0 };
	pid_t storm = -1;
	int epfd, pidfd, release_fd, status;
	uint64_t started, finished;
	bool spawner_done = false;

	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (st == MAP_FAILED)
		die("failed to map the storm state");
	memset(st, 0, sizeof(*st));

	r->got = 0;
	r->overflow = 0;
	r->wanted = n;
	r->spawner = start_spawner(n, &release_fd);
	if (amx_bpf_watch(b, r->spawner, AMX_WATCH_CHILDREN, 0) != 0)
		die("failed to watch the spawner");

	epfd = epoll_create1(EPOLL_CLOEXEC);
	pidfd = (int)syscall(SYS_pidfd_open, r->spawner, 0);
	if (epfd < 0 || pidfd < 0)
		die("failed to set up epoll");
	ee.data.fd = amx_bpf_epoll_fd(b);
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, ee.data.fd, &ee) < 0)
		die("failed to add the ring buffer to epoll");
	ee.data.fd = pidfd;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, pidfd, &ee) < 0)
		die("failed to add the spawner pidfd to epoll");

	if (with_storm)
		storm = start_fork_storm(st);
	started = boottime_ns();
	if (write(release_fd, "g", 1) != 1)
		die("failed to release the spawner");
	close(release_fd);

	/* Consume as events arrive; the spawner's pidfd says when no more can come. */
	while (!spawner_done) {
		struct epoll_event got[2];
		int ready = epoll_wait(epfd, got, 2, 10000);

		if (ready < 0 && errno != EINTR)
			die("failed to wait in epoll");
		if (ready == 0) {
			fprintf(stderr, "exit_latency: no progress for 10 s, giving up\n");
			break;
		}
		for (int i = 0; i < ready; i++)
			if (got[i].data.fd == pidfd)
				spawner_done = true;
		amx_bpf_consume(b);
	}
	finished = boottime_ns();
	amx_bpf_consume(b);

	if (storm > 0) {
		__atomic_store_n(&st->stop, 1, __ATOMIC_RELAXED);
		waitpid(storm, NULL, 0);
		res.storm_forks_per_s = (double)__atomic_load_n(&st->forks, __ATOMIC_RELAXED) *
					1e9 / (double)(finished - started);
	}
	if (waitpid(r->spawner, &status, 0) != r->spawner || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		fprintf(stderr, "exit_latency: the spawner failed (status 0x%x)\n", status);
	close(pidfd);
	close(epfd);
	munmap(st, sizeof(*st));

	qsort(r->latency_us, (size_t)r->got, sizeof(double), compare_double);
	res.events = r->got;
	res.p50 = percentile(r->latency_us, r->got, 0.50);
	res.p99 = percentile(r->latency_us, r->got, 0.99);
	res.max = r->got ? r->latency_us[r->got - 1] : 0;
	return res;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 2000;
	struct run r = { 0 };
	struct result quiet, storm;
	struct amx_bpf *b;
	char err[256] = "";

	if (n <= 0) {
		fprintf(stderr, "usage: exit_latency [N > 0]\n");
		return 2;
	}
	r.latency_us = calloc((size_t)n, sizeof(double));
	if (!r.latency_us)
		die("failed to allocate the latency table");
	b = amx_bpf_open(false, on_event, &r, err, sizeof(err));
	if (!b) {
		fprintf(stderr, "exit_latency: %s\n", err);
		return 1;
	}

	quiet = measure(b, &r, n, false);
	storm = measure(b, &r, n, true);

	printf("exit event latency, kernel exit -> user-space handler (%s, N=%d)\n",
	       amx_bpf_attach_kind(b), n);
	printf("%-14s %12s %12s\n", "", "quiet", "fork storm");
	printf("%-14s %12d %12d\n", "events", quiet.events, storm.events);
	printf("%-14s %12.1f %12.1f\n", "p50 (us)", quiet.p50, storm.p50);
	printf("%-14s %12.1f %12.1f\n", "p99 (us)", quiet.p99, storm.p99);
	printf("%-14s %12.1f %12.1f\n", "max (us)", quiet.max, storm.max);
	printf("%-14s %12s %12.0f\n", "storm forks/s", "-", storm.storm_forks_per_s);
	printf("events lost: %llu\n", (unsigned long long)amx_bpf_lost(b));

	amx_bpf_close(b);
	free(r.latency_us);
	return quiet.events == n && storm.events == n ? 0 : 1;
}
