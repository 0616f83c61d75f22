// SPDX-License-Identifier: MIT
/* Which mechanism should watch each app's memory limit? Each candidate is measured by what
 * it costs a page-fault-heavy process, in one run, alternating with a baseline:
 *
 *   bpf     tp_btf/kmem:rss_stat, filtered in the kernel by a map of watched tgids with a
 *           per-process limit; only a crossing reaches user space (tests/bench/rsswatch.bpf.c)
 *   statm   a timer in user space reading /proc/PID/statm every INTERVAL ms (250)
 *   cgroup  cgroup v1 memory thresholds: the process in its own memory cgroup, a threshold
 *           registered through cgroup.event_control with an eventfd
 *
 * Each is measured twice: watching the faulting process itself ("self"), and watching some
 * other, idle process while the faulting one runs unwatched ("other").
 * The faulting process maps 64 MiB, writes one byte per page, unmaps, and repeats; its
 * figure is pages touched per CPU second of its own (wall-clock rates on a shared VM swing
 * by +-20 % between identical segments; CPU time keeps the in-context cost and drops that). For every round, each mode runs once right after a
 * baseline segment; the ratio mode/baseline is taken per round, and the median over rounds
 * is printed with p10/p90.
 *
 * usage: memwatch_cost [ROUNDS] [SEGMENT_MS]   (default 15, 400; run as root) */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <linux/types.h>
#include "rsswatch.h"
#include "rsswatch.skel.h"

#define MAP_BYTES (64ul << 20)
#define STATM_INTERVAL_MS 250
#define CG "/sys/fs/cgroup/memory/amx-bench-memwatch"

enum mode { BASE, CONTROL, BPF_SELF, BPF_OTHER, STATM_SELF, STATM_OTHER, CG_SELF, CG_OTHER, N_MODES };
static const char *const mode_name[N_MODES] = {
	"baseline", "nothing (noise floor)", "bpf rss_stat, self", "bpf rss_stat, other", "statm 250ms, self",
	"statm 250ms, other", "cgroup v1 threshold, self", "cgroup v1 threshold, other",
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* The faulting process: on each request (segment length in ms) it touches fresh pages for
 * that long and answers with pages per second. */
static void fault_worker(int req, int resp)
{
	uint32_t ms;

	while (read(req, &ms, sizeof(ms)) == sizeof(ms)) {
		uint64_t end = mono_ns() + (uint64_t)ms * 1000000ull, pages = 0, t;
		uint64_t cpu0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);

		do {
			char *p = mmap(NULL, MAP_BYTES, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p == MAP_FAILED)
				_exit(1);
			for (size_t off = 0; off < MAP_BYTES; off += 4096)
				p[off] = 1;
			munmap(p, MAP_BYTES);
			pages += MAP_BYTES / 4096;
			t = mono_ns();
		} while (t < end);
		/* Per CPU second of this process: what a watcher adds in the faulting context
		 * (a BPF program, memcg charging, lock contention) shows; what other tenants of
		 * this shared 2-vCPU machine take (steal, preemption) does not. */
		double rate = (double)pages / ((double)(clock_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0) / 1e9);
		if (write(resp, &rate, sizeof(rate)) != sizeof(rate))
			_exit(1);
	}
	_exit(0);
}

struct statm_reader {
	pthread_t thread;
	volatile int pid;   /* 0: idle */
	volatile bool stop;
	unsigned long reads;
};

static void *statm_loop(void *arg)
{
	struct statm_reader *r = arg;

	while (!r->stop) {
		if (r->pid) {
			char path[64], buf[128];
			snprintf(path, sizeof(path), "/proc/%d/statm", r->pid);
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd >= 0) {
				if (read(fd, buf, sizeof(buf)) > 0)
					r->reads++;
				close(fd);
			}
		}
		usleep(STATM_INTERVAL_MS * 1000);
	}
	return NULL;
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, s, strlen(s));
	int e = n < 0 ? -errno : 0;
	close(fd);
	return e;
}

static int move_to_cgroup(const char *cg, int pid)
{
	char path[256], s[32];
	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	snprintf(s, sizeof(s), "%d", pid);
	return write_str(path, s);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double run_segment(int req, int resp, uint32_t ms)
{
	double rate = 0;
	if (write(req, &ms, sizeof(ms)) != sizeof(ms) || read(resp, &rate, sizeof(rate)) != sizeof(rate)) {
		fprintf(stderr, "memwatch_cost: the fault worker died\n");
		exit(1);
	}
	return rate;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 15;
	uint32_t seg_ms = argc > 2 ? (uint32_t)atoi(argv[2]) : 400;
	int req[2], resp[2];

	if (rounds < 3 || seg_ms < 50) {
		fprintf(stderr, "usage: memwatch_cost [ROUNDS>=3] [SEGMENT_MS>=50]\n");
		return 64;
	}
	if (pipe(req) || pipe(resp))
		return 71;
	pid_t worker = fork();
	if (worker == 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(1, &set);
		sched_setaffinity(0, sizeof(set), &set); /* away from this process's threads */
		close(req[1]);
		close(resp[0]);
		fault_worker(req[0], resp[1]);
	}
	close(req[0]);
	close(resp[1]);
	/* "some other app": an idle process holding a little memory */
	pid_t other = fork();
	if (other == 0) {
		char *p = malloc(8 << 20);
		memset(p, 1, 8 << 20);
		pause();
		_exit(0);
	}
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);

	/* bpf: loaded once, attached only during its segments */
	struct rsswatch_bpf *skel = rsswatch_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "memwatch_cost: load rsswatch BPF: %s\n", strerror(errno));
		return 69;
	}
	/* statm: one reader thread, idle outside its segments */
	struct statm_reader reader = { 0 };
	pthread_create(&reader.thread, NULL, statm_loop, &reader);
	/* cgroup v1: a group with a 1 GiB threshold on an eventfd */
	rmdir(CG);
	if (mkdir(CG, 0755) && errno != EEXIST) {
		fprintf(stderr, "memwatch_cost: mkdir %s: %s\n", CG, strerror(errno));
		return 71;
	}
	int usage_fd = open(CG "/memory.usage_in_bytes", O_RDONLY | O_CLOEXEC);
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	char ctl[64];
	snprintf(ctl, sizeof(ctl), "%d %d %llu", efd, usage_fd, 1ull << 30);
	int cg_err = write_str(CG "/cgroup.event_control", ctl);
	if (cg_err)
		fprintf(stderr, "memwatch_cost: cgroup.event_control: %s (cgroup rows measure the group move only)\n",
			strerror(-cg_err));
	char own_cg[256] = "/sys/fs/cgroup/memory";

	double *ratio[N_MODES];
	double base_sum = 0;
	for (int m = 0; m < N_MODES; m++)
		ratio[m] = calloc((size_t)rounds, sizeof(double));
	run_segment(req[1], resp[0], seg_ms); /* warm-up */
	printf("%d rounds; each mode runs %u ms right after %u ms of baseline, order rotated\n",
	       rounds, seg_ms, seg_ms);
	for (int r = 0; r < rounds; r++) {
		for (int k = 0; k < N_MODES - 1; k++) {
			int m = 1 + (k + r) % (N_MODES - 1);
			double base = run_segment(req[1], resp[0], seg_ms);
			struct bpf_link *link = NULL;
			int watched = (m == BPF_SELF || m == STATM_SELF || m == CG_SELF) ? worker : other;

			base_sum += base;
			if (m == BPF_SELF || m == BPF_OTHER) {
				struct amx_rss_watch w = { .limit_pages = (1ull << 30) / 4096 };
				__u32 key = (__u32)watched;
				bpf_map__update_elem(skel->maps.rss_watched, &key, sizeof(key), &w, sizeof(w), 0);
				link = bpf_program__attach(skel->progs.on_rss_stat);
			} else if (m == STATM_SELF || m == STATM_OTHER) {
				reader.pid = watched;
			} else if (m == CG_SELF || m == CG_OTHER) {
				move_to_cgroup(CG, watched);
			}
			double rate = run_segment(req[1], resp[0], seg_ms);
			if (link) {
				__u32 key = (__u32)watched;
				bpf_link__destroy(link);
				bpf_map__delete_elem(skel->maps.rss_watched, &key, sizeof(key), 0);
			}
			reader.pid = 0;
			if (m == CG_SELF || m == CG_OTHER)
				move_to_cgroup(own_cg, watched);
			ratio[m][r] = rate / base;
		}
	}
	printf("baseline: %.0f pages per CPU second (%.2f GB/s of fresh pages)\n", base_sum / (rounds * (N_MODES - 1)),
	       base_sum / (rounds * (N_MODES - 1)) * 4096 / 1e9);
	printf("%-28s %10s %10s %10s %10s\n", "mode", "p10", "median", "p90", "loss");
	for (int m = 1; m < N_MODES; m++) {
		qsort(ratio[m], (size_t)rounds, sizeof(double), cmp_double);
		double med = ratio[m][rounds / 2];
		printf("%-28s %10.4f %10.4f %10.4f %9.2f%%\n", mode_name[m], ratio[m][rounds / 10], med,
		       ratio[m][rounds - 1 - rounds / 10], (1 - med) * 100);
	}
	printf("rss_stat program runs: %llu; statm reads: %lu\n",
	       (unsigned long long)skel->bss->rss_calls, reader.reads);

	reader.stop = true;
	pthread_join(reader.thread, NULL);
	close(req[1]);
	kill(other, SIGKILL);
	waitpid(worker, NULL, 0);
	waitpid(other, NULL, 0);
	close(efd);
	close(usage_fd);
	rmdir(CG);
	rsswatch_bpf__destroy(skel);
	return 0;
}
