/* SPDX-License-Identifier: MIT */
/* A fake exit source for unit tests of the code that acts on kernel events: the test
 * pushes events, and consume hands them to the handler in the order pushed; every watch and
 * unwatch is recorded; lost counts are whatever the test sets. The fd is an eventfd, readable
 * while pushed events wait, so an epoll loop wakes as it would for the kernel.
 *
 * Use: the Makefile builds each tests/unit/test_*.c alone, so a test includes the code:
 *     #include "fake_exit_source.c"   (it includes this header)
 * then:
 *     static struct fake_exit_source fake;  (large: static, not on the stack)
 *     struct amx_exit_source src;
 *     fake_exit_source_open(&fake, &src, on_event, NULL);
 *     fake_exit_source_push(&fake, &(struct amx_event){ .type = AMX_EV_EXIT, .pid = 42 });
 *     ... code under test calls amx_exit_source_consume(&src), _watch, ... ...
 *     amx_exit_source_close(&src);          (fake.closed tells the code under test did)
 * To play the connector rather than BPF, set fake.ops.name / .limits / .channel after open.
 */
#ifndef FAKE_EXIT_SOURCE_H
#define FAKE_EXIT_SOURCE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sources/exit_source.h"

#define FAKE_EXIT_SOURCE_QUEUE 256
#define FAKE_EXIT_SOURCE_CALLS 256
#define FAKE_EXIT_SOURCE_WATCHED 256

/* One call of watch or unwatch, as made. */
struct fake_watch_call {
	bool unwatch;
	pid_t tgid;
	uint32_t flags;             /* watch only */
	uint64_t start_boottime_ns; /* watch only */
};

struct fake_exit_source {
	struct amx_exit_source_ops ops; /* a copy: a test may rename it */
	amx_exit_source_handler handler;
	void *handler_ctx;
	int efd;
	bool closed;

	/* Pushed, not yet consumed: queue[taken .. pushed). */
	struct amx_event queue[FAKE_EXIT_SOURCE_QUEUE];
	int pushed, taken;

	struct fake_watch_call calls[FAKE_EXIT_SOURCE_CALLS];
	int n_calls;

	/* Watched now: added by watch, removed by unwatch and by a consumed AMX_EV_EXIT
	 * (as both real sources forget a process once its exit is reported). */
	struct fake_watch_call watched[FAKE_EXIT_SOURCE_WATCHED];
	int n_watched;

	/* Set by the test; returned as they are. */
	struct amx_exit_source_lost lost;
	int watch_rc; /* what watch returns: 0, or e.g. -ENOSPC to test a failure */
};

/* Fill *src to drive the fake. 0, or -errno when the eventfd cannot be made. */
int fake_exit_source_open(struct fake_exit_source *f, struct amx_exit_source *src,
			  amx_exit_source_handler handler, void *handler_ctx);
/* Queue an event for the next consume; false when the queue is full. */
bool fake_exit_source_push(struct fake_exit_source *f, const struct amx_event *ev);
/* An event of this type for pid, with ts_ns now (boot clock); exit_code raw (e.g. 9 for
 * SIGKILL, 7 << 8 for exit(7)), start_boottime_ns as given. */
struct amx_event fake_exit_source_event(uint32_t type, pid_t pid, uint32_t exit_code,
					uint64_t start_boottime_ns);
/* The watch in force for tgid, or NULL. */
const struct fake_watch_call *fake_exit_source_watched(const struct fake_exit_source *f,
						       pid_t tgid);

#endif
