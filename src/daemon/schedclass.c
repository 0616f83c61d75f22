/* SPDX-License-Identifier: MIT */
/* The reacting threads' scheduling class (--sched; sys/sched.h): chosen before the
 * watcher's thread starts, so that it raises itself, and the loop's thread raised just
 * before the loop. A class that cannot be set is one line on stderr and monitor-started's
 * amexbpf.sched, never a reason not to start. The CPU-time guard's drop is an event. */
#include <stdio.h>
#include <sys/epoll.h>

#include "daemon/engine.h"
#include "sys/loop.h"
#include "sys/sched.h"

static void on_demoted(void *ctx, int fd, uint32_t events)
{
	struct amx_engine *e = ctx;
	(void)fd;
	(void)events;
	if (!amx_sched_take_demotion())
		return;
	json_t *ev = amx_event_new(&e->stream, AMX_EVT_SCHED_DEMOTED, 0,
				   "a reacting thread ran %llu ms without blocking: back to "
				   "SCHED_OTHER until a restart", AMX_SCHED_RTTIME_SOFT_US / 1000);
	amx_event_set_str(ev, "amexbpf.sched", amx_sched_describe());
	eng_emit(e, ev);
}

void eng_sched_setup(struct amx_engine *e)
{
	char err[256];
	if (amx_sched_setup(e->o->sched_mode, e->o->sched_priority, err, sizeof(err)) < 0)
		fprintf(stderr, "amexbpf: %s; running without it\n", err);
	if (amx_sched_demoted_fd() >= 0)
		amx_loop_add_fd(amx_sched_demoted_fd(), EPOLLIN, on_demoted, e);
}

void eng_sched_raise_loop(struct amx_engine *e)
{
	char err[256];
	(void)e;
	if (amx_sched_raise_self(err, sizeof(err)) < 0)
		fprintf(stderr, "amexbpf: %s; running without it\n", err);
}
