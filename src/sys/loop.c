/* SPDX-License-Identifier: MIT */
#include "sys/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_FDS 512
#define MAX_TICKERS 32
#define MAX_SUBSCRIBERS 32

struct fd_slot {
	int fd; /* -1 when free */
	amx_fd_fn fn;
	void *ctx;
};

static int epfd = -1, timerfd = -1;
static struct fd_slot slots[MAX_FDS];
static struct { amx_tick_fn fn; void *ctx; } tickers[MAX_TICKERS];
static int n_tickers;
static struct { amx_event_fn fn; void *ctx; } subs[MAX_SUBSCRIBERS];
static int n_subs;
static uint64_t wake_at_ms;
static struct {
	uint32_t us[AMX_LOOP_STEP_SAMPLES];
	unsigned next, count;
	uint64_t steps, max_us;
} step_log;

static uint64_t boot_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int amx_loop_init(void)
{
	for (int i = 0; i < MAX_FDS; i++)
		slots[i].fd = -1;
	n_tickers = n_subs = 0;
	wake_at_ms = 0;
	memset(&step_log, 0, sizeof(step_log));
	epfd = epoll_create1(EPOLL_CLOEXEC);
	timerfd = timerfd_create(CLOCK_BOOTTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	if (epfd < 0 || timerfd < 0)
		return -errno;
	struct epoll_event e = { .events = EPOLLIN, .data.u32 = MAX_FDS };
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, timerfd, &e) < 0)
		return -errno;
	return 0;
}

void amx_loop_close(void)
{
	if (timerfd >= 0)
		close(timerfd);
	if (epfd >= 0)
		close(epfd);
	timerfd = epfd = -1;
}

int amx_loop_add_fd(int fd, uint32_t events, amx_fd_fn fn, void *ctx)
{
	for (uint32_t i = 0; i < MAX_FDS; i++) {
		if (slots[i].fd != -1)
			continue;
		struct epoll_event e = { .events = events, .data.u32 = i };
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e) < 0)
			return -errno;
		slots[i] = (struct fd_slot){ .fd = fd, .fn = fn, .ctx = ctx };
		return 0;
	}
	return -EMFILE;
}

int amx_loop_mod_fd(int fd, uint32_t events)
{
	for (uint32_t i = 0; i < MAX_FDS; i++) {
		if (slots[i].fd == fd) {
			struct epoll_event e = { .events = events, .data.u32 = i };
			return epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &e) < 0 ? -errno : 0;
		}
	}
	return -ENOENT;
}

void amx_loop_del_fd(int fd)
{
	for (int i = 0; i < MAX_FDS; i++) {
		if (slots[i].fd == fd) {
			epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
			slots[i].fd = -1;
			return;
		}
	}
}

int amx_loop_add_ticker(amx_tick_fn fn, void *ctx)
{
	if (n_tickers == MAX_TICKERS)
		return -ENOSPC;
	tickers[n_tickers].fn = fn;
	tickers[n_tickers].ctx = ctx;
	n_tickers++;
	return 0;
}

void amx_loop_wake_at(uint64_t at_ms)
{
	if (at_ms && (!wake_at_ms || at_ms < wake_at_ms))
		wake_at_ms = at_ms;
}

int amx_loop_subscribe(amx_event_fn fn, void *ctx)
{
	if (n_subs == MAX_SUBSCRIBERS)
		return -ENOSPC;
	subs[n_subs].fn = fn;
	subs[n_subs].ctx = ctx;
	n_subs++;
	return 0;
}

void amx_loop_publish(json_t *ev, const char *line)
{
	for (int i = 0; i < n_subs; i++)
		subs[i].fn(subs[i].ctx, ev, line);
}

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void log_step(uint64_t us)
{
	step_log.us[step_log.next] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	step_log.next = (step_log.next + 1) % AMX_LOOP_STEP_SAMPLES;
	if (step_log.count < AMX_LOOP_STEP_SAMPLES)
		step_log.count++;
	step_log.steps++;
	if (us > step_log.max_us)
		step_log.max_us = us;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

void amx_loop_step_stats(struct amx_loop_steps *out)
{
	static uint32_t sorted[AMX_LOOP_STEP_SAMPLES];
	memset(out, 0, sizeof(*out));
	out->steps = step_log.steps;
	out->max_us = step_log.max_us;
	out->samples = step_log.count;
	if (!step_log.count)
		return;
	memcpy(sorted, step_log.us, step_log.count * sizeof(sorted[0]));
	qsort(sorted, step_log.count, sizeof(sorted[0]), cmp_u32);
	out->p50_us = sorted[(step_log.count - 1) / 2];
	out->p99_us = sorted[(step_log.count - 1) * 99 / 100];
}

static void arm(void)
{
	struct itimerspec its = { 0 };
	if (wake_at_ms) {
		uint64_t now = boot_ms();
		uint64_t in = wake_at_ms > now ? wake_at_ms - now : 1;
		its.it_value.tv_sec = (time_t)(in / 1000);
		its.it_value.tv_nsec = (long)((in % 1000) * 1000000);
	}
	timerfd_settime(timerfd, 0, &its, NULL);
}

bool amx_loop_run_once(void)
{
	arm();
	struct epoll_event evs[64];
	int n = epoll_wait(epfd, evs, 64, -1);
	if (n < 0)
		return errno == EINTR;
	uint64_t t0 = mono_us();
	for (int i = 0; i < n; i++) {
		uint32_t slot = evs[i].data.u32;
		if (slot == MAX_FDS) {
			uint64_t expirations;
			if (read(timerfd, &expirations, sizeof(expirations)) < 0) {
				/* EAGAIN after a re-arm: nothing to do, tickers run below */
			}
			continue;
		}
		/* A callback may have removed this descriptor earlier in the batch. */
		if (slot < MAX_FDS && slots[slot].fd >= 0)
			slots[slot].fn(slots[slot].ctx, slots[slot].fd, evs[i].events);
	}
	/* Every wake-up re-checks every deadline: tickers ask again for what they need. */
	wake_at_ms = 0;
	uint64_t now = boot_ms();
	for (int i = 0; i < n_tickers; i++)
		tickers[i].fn(tickers[i].ctx, now);
	log_step(mono_us() - t0);
	return true;
}
