/* SPDX-License-Identifier: MIT */
/* The one event loop: epoll over descriptors, one timerfd (CLOCK_BOOTTIME) for every
 * deadline, and the hooks through which modules plug in without touching the core:
 * descriptors with a callback, "tickers" run after every wake-up (they check their own
 * deadlines and ask for the next one), and subscribers to every event the daemon emits. */
#ifndef AMX_LOOP_H
#define AMX_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

typedef void (*amx_fd_fn)(void *ctx, int fd, uint32_t epoll_events);
typedef void (*amx_tick_fn)(void *ctx, uint64_t now_ms);
/* ev is the event object; line is its encoded NDJSON line (with "\n"). Both borrowed. */
typedef void (*amx_event_fn)(void *ctx, json_t *ev, const char *line);

int amx_loop_init(void);
void amx_loop_close(void);

/* Watch fd (EPOLLIN etc.); fn runs when it is ready. -errno on failure. */
int amx_loop_add_fd(int fd, uint32_t events, amx_fd_fn fn, void *ctx);
int amx_loop_mod_fd(int fd, uint32_t events);
void amx_loop_del_fd(int fd);

/* Called after every wake-up, in registration order. */
int amx_loop_add_ticker(amx_tick_fn fn, void *ctx);
/* Ask for a wake-up at (or soon after) boot-clock ms; the earliest request wins. Requests
 * are forgotten at each wake-up: tickers ask again for what they still need. */
void amx_loop_wake_at(uint64_t boot_ms);

/* Every emitted event reaches each subscriber, after it was written to the events file. */
int amx_loop_subscribe(amx_event_fn fn, void *ctx);
void amx_loop_publish(json_t *ev, const char *line);

/* Wait for and dispatch one batch; false when epoll failed. */
bool amx_loop_run_once(void);

/* How long the loop's steps took (from epoll_wait's return to the last ticker): what a
 * dump of thousands of names, or any other input, costs the one thread that reacts. Over
 * the last AMX_LOOP_STEP_SAMPLES steps that did any work, plus the longest since start. */
#define AMX_LOOP_STEP_SAMPLES 4096
struct amx_loop_steps {
	uint64_t p50_us, p99_us, max_us; /* max_us: since start, not only the recent steps */
	uint64_t steps;                   /* steps counted since start */
	unsigned samples;                 /* the recent ones p50/p99 are taken from */
};
void amx_loop_step_stats(struct amx_loop_steps *out);

#endif
