/* SPDX-License-Identifier: MIT */
/* The fake exit source that engine tests drive: events in the order pushed, an fd that is
 * readable exactly while some wait, watches recorded and kept as a real source keeps them. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "fake_exit_source.c"

static struct fake_exit_source fake;
static struct amx_event seen[16];
static int n_seen;

static void on_event(void *ctx, const struct amx_event *ev)
{
	(void)ctx;
	if (n_seen < 16)
		seen[n_seen++] = *ev;
}

/* A handler that answers an exit with a fork, as PM2 does: pushed while consuming. */
static void on_event_push_fork(void *ctx, const struct amx_event *ev)
{
	on_event(ctx, ev);
	if (ev->type == AMX_EV_EXIT) {
		struct amx_event fork = fake_exit_source_event(AMX_EV_FORK, (pid_t)ev->pid + 1, 0, 0);
		fake_exit_source_push(&fake, &fork);
	}
}

static bool readable(const struct amx_exit_source *src)
{
	struct pollfd pfd = { .fd = amx_exit_source_fd(src), .events = POLLIN };
	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
}

TEST(events_in_order_and_fd_readable_while_waiting)
{
	struct amx_exit_source src;
	n_seen = 0;
	CHECK(fake_exit_source_open(&fake, &src, on_event, NULL) == 0);
	CHECK_STR(amx_exit_source_name(&src), "fake");
	CHECK(!readable(&src));
	struct amx_event a = fake_exit_source_event(AMX_EV_EXIT, 100, SIGKILL, 5);
	struct amx_event b = fake_exit_source_event(AMX_EV_FORK, 101, 0, 6);
	CHECK(fake_exit_source_push(&fake, &a));
	CHECK(fake_exit_source_push(&fake, &b));
	CHECK(readable(&src));
	CHECK(amx_exit_source_consume(&src) == 2);
	CHECK(!readable(&src));
	CHECK(n_seen == 2);
	CHECK(seen[0].type == AMX_EV_EXIT && seen[0].pid == 100);
	CHECK(amx_decode_exit(seen[0].exit_code).signal == SIGKILL);
	CHECK(seen[0].start_boottime_ns == 5 && seen[0].ts_ns > 0);
	CHECK(seen[1].type == AMX_EV_FORK && seen[1].pid == 101);
	CHECK(amx_exit_source_consume(&src) == 0);
	amx_exit_source_close(&src);
	CHECK(fake.closed && src.ops == NULL);
}

TEST(events_pushed_by_the_handler_come_after)
{
	struct amx_exit_source src;
	n_seen = 0;
	CHECK(fake_exit_source_open(&fake, &src, on_event_push_fork, NULL) == 0);
	struct amx_event a = fake_exit_source_event(AMX_EV_EXIT, 200, 0, 0);
	struct amx_event b = fake_exit_source_event(AMX_EV_EXEC, 300, 0, 0);
	CHECK(fake_exit_source_push(&fake, &a));
	CHECK(fake_exit_source_push(&fake, &b));
	CHECK(amx_exit_source_consume(&src) == 3);
	CHECK(n_seen == 3);
	CHECK(seen[0].pid == 200 && seen[1].pid == 300);
	CHECK(seen[2].type == AMX_EV_FORK && seen[2].pid == 201);
	CHECK(!readable(&src));
	amx_exit_source_close(&src);
}

TEST(watches_recorded_and_forgotten_on_exit)
{
	struct amx_exit_source src;
	n_seen = 0;
	CHECK(fake_exit_source_open(&fake, &src, on_event, NULL) == 0);
	CHECK(amx_exit_source_watch(&src, 10, AMX_WATCH_PROC | AMX_WATCH_CHILDREN, 0) == 0);
	CHECK(amx_exit_source_watch(&src, 11, AMX_WATCH_PROC, 77) == 0);
	CHECK(amx_exit_source_watch(&src, 11, AMX_WATCH_PROC, 78) == 0); /* replaces */
	CHECK(amx_exit_source_watched_count(&src) == 2);
	CHECK(fake_exit_source_watched(&fake, 11)->start_boottime_ns == 78);
	CHECK(amx_exit_source_unwatch(&src, 10) == 0);
	CHECK(amx_exit_source_unwatch(&src, 10) == -ENOENT);
	CHECK(fake_exit_source_watched(&fake, 10) == NULL);
	CHECK(fake.n_calls == 5);
	CHECK(fake.calls[0].tgid == 10 && fake.calls[0].flags == (AMX_WATCH_PROC | AMX_WATCH_CHILDREN));
	CHECK(fake.calls[3].unwatch && fake.calls[3].tgid == 10);

	struct amx_event x = fake_exit_source_event(AMX_EV_EXIT, 11, 0, 78);
	CHECK(fake_exit_source_push(&fake, &x));
	CHECK(amx_exit_source_watched_count(&src) == 1); /* not until consumed */
	CHECK(amx_exit_source_consume(&src) == 1);
	CHECK(amx_exit_source_watched_count(&src) == 0);

	fake.watch_rc = -ENOSPC;
	CHECK(amx_exit_source_watch(&src, 12, AMX_WATCH_PROC, 0) == -ENOSPC);
	CHECK(fake.n_calls == 6 && amx_exit_source_watched_count(&src) == 0);
	amx_exit_source_close(&src);
}

TEST(lost_and_identity_as_the_test_sets_them)
{
	struct amx_exit_source src;
	CHECK(fake_exit_source_open(&fake, &src, on_event, NULL) == 0);
	CHECK(amx_exit_source_lost(&src).overflow == 0);
	fake.lost.overflow = 3;
	fake.lost.unwatched_forks = 1;
	CHECK(amx_exit_source_lost(&src).overflow == 3);
	CHECK(amx_exit_source_lost(&src).unwatched_forks == 1);
	fake.ops.name = "proc-connector";
	fake.ops.limits = "no OOM attribution";
	CHECK_STR(amx_exit_source_name(&src), "proc-connector");
	CHECK_STR(amx_exit_source_limits(&src), "no OOM attribution");
	CHECK_STR(amx_exit_source_attach_kind(&src), "none");
	CHECK(amx_exit_source_prog_stats(&src, NULL, 0) == 0);
	amx_exit_source_close(&src);
}

TEST(queue_full_refuses)
{
	struct amx_exit_source src;
	n_seen = 0;
	CHECK(fake_exit_source_open(&fake, &src, on_event, NULL) == 0);
	struct amx_event e = fake_exit_source_event(AMX_EV_EXEC, 1, 0, 0);
	for (int i = 0; i < FAKE_EXIT_SOURCE_QUEUE; i++)
		CHECK(fake_exit_source_push(&fake, &e));
	CHECK(!fake_exit_source_push(&fake, &e));
	CHECK(amx_exit_source_consume(&src) == FAKE_EXIT_SOURCE_QUEUE);
	CHECK(fake_exit_source_push(&fake, &e)); /* room again, and the ring wraps */
	CHECK(amx_exit_source_consume(&src) == 1);
	amx_exit_source_close(&src);
}

int main(void)
{
	RUN(events_in_order_and_fd_readable_while_waiting);
	RUN(events_pushed_by_the_handler_come_after);
	RUN(watches_recorded_and_forgotten_on_exit);
	RUN(lost_and_identity_as_the_test_sets_them);
	RUN(queue_full_refuses);
	CHECK_DONE();
}
