// SPDX-License-Identifier: MIT
/* What amexbpf's BPF programs cost processes it does not watch: in one run, with the real
 * programs attached (tp_btf: exit, fork, exec, mark_victim, signal_generate; 32 idle
 * processes watched, as a PM2 home would have) and without, alternating round by round
 * (with then without, then without then with), each workload's rate in operations per CPU
 * second of its own (wall-clock rates on a shared VM swing too much), the ratio
 * with/without taken per round, and the median over rounds printed with p10/p90.
 *
 *   fork+exit    fork(), the child _exits at once, waitpid: CPU of parent and children
 *   kill(0)      kill(getpid(), 0): a syscall loop (no signal is generated)
 *   kill+wait    kill(getpid(), SIGUSR1) blocked, then sigwaitinfo: each one generates a
 *                signal, so signal_generate runs its filter (watched map lookup) every time
 *   bind+listen  socket, bind 127.0.0.1:0, listen, close: two TCP state changes (to LISTEN
 *                and back), so inet_sock_set_state's listen program runs twice
 *   node req     HTTP GETs, one connection each, to a Node server that IS watched (as an
 *                app is): requests per wall-clock second (the server's CPU is not ours);
 *                each request is several state changes of both ends' sockets
 *
 * The workloads run in a worker process forked before anything is loaded (amexbpf is a
 * process of its own, and a process holding BPF maps forks more slowly); the program run
 * counts and times the kernel keeps are printed too. The load average is printed before
 * and after: the machine is shared.
 *
 * usage: signal_cost [ROUNDS] [SEGMENT_MS]   (default 11, 300; run as root; `node` on PATH
 * for the last workload, else it is left out) */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "sources/bpf_loader.h"

#define WATCHED 32
#define MAX_ROUNDS 101

enum work { FORK_EXIT, KILL0, KILL_WAIT, BIND_LISTEN, NODE_REQ, N_WORK };
static const char *const work_name[N_WORK] = { "fork+exit", "kill(0)", "kill+wait", "bind+listen",
						"node req" };
static uint16_t node_port; /* the watched Node server's port; 0 when node did not start */

static void bind_listen_once(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
		listen(fd, 1);
	close(fd);
}

/* One GET on a new connection to the Node server; false when it failed. */
static bool node_request(void)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				 .sin_port = htons(node_port) };
	char buf[512];
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok = false;

	if (fd < 0)
		return false;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    write(fd, req, sizeof(req) - 1) == (ssize_t)(sizeof(req) - 1)) {
		while (read(fd, buf, sizeof(buf)) > 0)
			ok = true;
	}
	close(fd);
	return ok;
}

/* A Node HTTP server on an ephemeral port of 127.0.0.1; its pid, its port in *port. */
static pid_t start_node(uint16_t *port)
{
	int out[2];
	char line[32] = "";

	if (pipe(out) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(out[1], 1);
		close(out[0]);
		execlp("node", "node", "-e",
		       "const s = require('http').createServer((q, r) => r.end('ok\\n'));"
		       "s.listen(0, '127.0.0.1', () => console.log(s.address().port));",
		       (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	ssize_t n = read(out[0], line, sizeof(line) - 1);
	close(out[0]);
	*port = n > 0 ? (uint16_t)atoi(line) : 0;
	return pid;
}

static uint64_t now_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* User + system CPU of this process and its reaped children, in ns. */
static uint64_t cpu_with_children_ns(void)
{
	struct rusage s, c;

	getrusage(RUSAGE_SELF, &s);
	getrusage(RUSAGE_CHILDREN, &c);
	uint64_t us = (uint64_t)(s.ru_utime.tv_sec + s.ru_stime.tv_sec + c.ru_utime.tv_sec +
				 c.ru_stime.tv_sec) * 1000000ull +
		      (uint64_t)(s.ru_utime.tv_usec + s.ru_stime.tv_usec + c.ru_utime.tv_usec +
				 c.ru_stime.tv_usec);
	return us * 1000ull;
}

/* Operations per CPU second for one segment of segment_ms wall time. */
static double run_segment(enum work w, int segment_ms)
{
	uint64_t end = now_ns(CLOCK_MONOTONIC) + (uint64_t)segment_ms * 1000000ull;
	uint64_t cpu0 = cpu_with_children_ns(), ops = 0;
	sigset_t usr1;
	siginfo_t si;

	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	uint64_t wall0 = now_ns(CLOCK_MONOTONIC);
	while (now_ns(CLOCK_MONOTONIC) < end) {
		for (int i = 0; i < 64; i++) {
			if (w == NODE_REQ) {
				if (!node_port || !node_request())
					return 0;
				if (i == 7)
					break;
			} else if (w == BIND_LISTEN) {
				bind_listen_once();
			} else if (w == FORK_EXIT) {
				pid_t p = fork();
				if (p == 0)
					_exit(0);
				if (p > 0)
					waitpid(p, NULL, 0);
				if (i == 7)
					break; /* forks are slow: look at the clock more often */
			} else if (w == KILL0) {
				kill(getpid(), 0);
			} else {
				kill(getpid(), SIGUSR1);
				sigwaitinfo(&usr1, &si);
			}
			ops++;
		}
	}
	if (w == NODE_REQ) /* the server's CPU is not in ours: per wall-clock second */
		return (double)ops * 1e9 / (double)(now_ns(CLOCK_MONOTONIC) - wall0);
	uint64_t cpu = cpu_with_children_ns() - cpu0;
	return cpu ? (double)ops * 1e9 / (double)cpu : 0;
}

static uint64_t prog_runs[16], prog_ns[16];
static char prog_name[16][64];
static int n_progs;

static void on_event(void *ctx, const struct amx_event *ev)
{
	(void)ctx;
	(void)ev;
}

/* The measured process: forked before anything is loaded, so that its own memory map (and
 * the cost of fork copying it) is the same with and without; runs a segment on request. */
static pid_t start_worker(int segment_ms, int *to, int *from)
{
	int cmd[2], res[2];

	if (pipe(cmd) < 0 || pipe(res) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		unsigned char w;

		close(cmd[1]);
		close(res[0]);
		while (read(cmd[0], &w, 1) == 1) {
			double rate = run_segment((enum work)w, segment_ms);
			if (write(res[1], &rate, sizeof(rate)) != sizeof(rate))
				_exit(1);
		}
		_exit(0);
	}
	close(cmd[0]);
	close(res[1]);
	*to = cmd[1];
	*from = res[0];
	return pid;
}

static double remote_segment(int to, int from, enum work w)
{
	unsigned char c = (unsigned char)w;
	double rate = 0;

	if (write(to, &c, 1) != 1 || read(from, &rate, sizeof(rate)) != sizeof(rate))
		return 0;
	return rate;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void print_load(const char *when)
{
	char buf[128] = "";
	FILE *f = fopen("/proc/loadavg", "r");

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = '\0';
	printf("load average %s: %s (%ld CPUs online)\n", when, buf, sysconf(_SC_NPROCESSORS_ONLN));
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 11, segment_ms = argc > 2 ? atoi(argv[2]) : 300;
	/* STATS=1: the kernel's run-time statistics on, as under --bpf-stats (the daemon's
	 * default is off): the per-program times below, at the price they add. */
	const char *stats_env = getenv("STATS");
	bool stats = stats_env && strcmp(stats_env, "1") == 0;
	static double with[N_WORK][MAX_ROUNDS], without[N_WORK][MAX_ROUNDS], ratio[N_WORK][MAX_ROUNDS];
	pid_t idle[WATCHED];
	sigset_t usr1;
	char err[256];

	if (rounds < 1 || rounds > MAX_ROUNDS || segment_ms < 10) {
		fprintf(stderr, "usage: signal_cost [ROUNDS 1-%d] [SEGMENT_MS >= 10]\n", MAX_ROUNDS);
		return 2;
	}
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	for (int i = 0; i < WATCHED; i++) {
		idle[i] = fork();
		if (idle[i] == 0) {
			for (;;)
				pause();
		}
	}
	pid_t node = start_node(&node_port);
	if (!node_port)
		fprintf(stderr, "signal_cost: node did not start: no node req figures\n");
	int to, from;
	pid_t worker = start_worker(segment_ms, &to, &from);
	if (worker < 0) {
		perror("signal_cost: worker");
		return 1;
	}
	print_load("before");
	printf("%d rounds of %d ms per workload and mode, with and without alternating; "
	       "run-time statistics %s\n", rounds, segment_ms, stats ? "on (STATS=1)" : "off");
	for (int r = 0; r < rounds; r++) {
		for (int half = 0; half < 2; half++) {
			bool attached = (r % 2 == 0) == (half == 0);
			struct amx_bpf *b = NULL;
			if (attached) {
				b = amx_bpf_open(false, on_event, NULL, err, sizeof(err));
				if (!b) {
					fprintf(stderr, "signal_cost: %s\n", err);
					return 1;
				}
				amx_bpf_set_stats(b, stats);
				for (int i = 0; i < WATCHED; i++)
					amx_bpf_watch(b, idle[i], AMX_WATCH_PROC, 0);
				if (node > 0)
					amx_bpf_watch(b, node, AMX_WATCH_PROC, 0);
			}
			for (int w = 0; w < N_WORK; w++) {
				double rate = remote_segment(to, from, (enum work)w);
				(attached ? with : without)[w][r] = rate;
			}
			if (b) {
				struct amx_bpf_prog_stat st[16];
				int n = amx_bpf_prog_stats(b, st, 16);
				for (int i = 0; i < n; i++) {
					prog_runs[i] += st[i].run_cnt;
					prog_ns[i] += st[i].run_time_ns;
					snprintf(prog_name[i], sizeof(prog_name[i]), "%s", st[i].name);
				}
				n_progs = n;
				amx_bpf_consume(b);
				amx_bpf_close(b);
			}
		}
	}
	print_load("after");
	for (int i = 0; i < n_progs; i++)
		if (prog_runs[i])
			printf("program %-12s %10llu runs, %6.1f ns per run (in the program)\n",
			       prog_name[i], (unsigned long long)prog_runs[i],
			       (double)prog_ns[i] / (double)prog_runs[i]);
	printf("%-10s %14s %14s %8s %8s %8s\n", "workload", "with (ops/cpu-s)", "without", "p10",
	       "median", "p90");
	for (int w = 0; w < N_WORK; w++) {
		double a[MAX_ROUNDS], b[MAX_ROUNDS];
		if (w == NODE_REQ && !node_port)
			continue;
		for (int r = 0; r < rounds; r++) {
			ratio[w][r] = with[w][r] / without[w][r];
			a[r] = with[w][r];
			b[r] = without[w][r];
		}
		qsort(ratio[w], (size_t)rounds, sizeof(double), cmp_double);
		qsort(a, (size_t)rounds, sizeof(double), cmp_double);
		qsort(b, (size_t)rounds, sizeof(double), cmp_double);
		printf("%-10s %16.0f %14.0f %8.3f %8.3f %8.3f\n", work_name[w], a[rounds / 2],
		       b[rounds / 2], ratio[w][rounds / 10], ratio[w][rounds / 2],
		       ratio[w][rounds - 1 - rounds / 10]);
	}
	close(to);
	waitpid(worker, NULL, 0);
	if (node > 0) {
		kill(node, SIGKILL);
		waitpid(node, NULL, 0);
	}
	for (int i = 0; i < WATCHED; i++) {
		kill(idle[i], SIGKILL);
		waitpid(idle[i], NULL, 0);
	}
	return 0;
}
