/* SPDX-License-Identifier: MIT */
/* The reacting threads' scheduling class (--sched; sys/sched.h): chosen before the
 * watcher's thread starts, so that it raises itself, and the loop's thread raised just
 * before the loop; chosen again on SIGHUP when the config names another (both threads
 * change at once, from the loop's thread). A class that cannot be set is one line on stderr and monitor-started's
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

static void watch_demotion(struct amx_engine *e)
{
	if (amx_sched_demoted_fd() >= 0 && !e->sched_fd_watched) {
		amx_loop_add_fd(amx_sched_demoted_fd(), EPOLLIN, on_demoted, e);
		e->sched_fd_watched = true;
	}
}

void eng_sched_setup(struct amx_engine *e)
{
	char err[256];
	if (amx_sched_setup(e->o->sched_mode, e->o->sched_priority, err, sizeof(err)) < 0)
		fprintf(stderr, "amexbpf: %s; running without it\n", err);
	watch_demotion(e);
}

void eng_sched_reload(struct amx_engine *e, enum amx_sched_mode was, unsigned was_priority,
		      char *what, size_t whatlen)
{
	char err[256] = "";
	what[0] = '\0';
	if (e->o->sched_mode == was && e->o->sched_priority == was_priority)
		return;
	if (amx_sched_reconfigure(e->o->sched_mode, e->o->sched_priority, err, sizeof(err)) < 0)
		fprintf(stderr, "amexbpf: %s; running without it\n", err);
	watch_demotion(e); /* a real-time class for the first time: its guard's eventfd */
	snprintf(what, whatlen, "; --sched now %s", amx_sched_describe());
}

void eng_sched_raise_loop(struct amx_engine *e)
{
	char err[256];
	(void)e;
	if (amx_sched_raise_self(err, sizeof(err)) < 0)
		fprintf(stderr, "amexbpf: %s; running without it\n", err);
}
