/* SPDX-License-Identifier: MIT */
/* The exit-source interface over the real kernel, once with BPF and once with the process
 * connector: the same calls, the same events. Needs root (CAP_BPF, CAP_NET_ADMIN); fails,
 * never skips, when a source does not open. Every child forked here is reaped here. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "core/event.h"
#include "sources/exit_source.h"
#include "sources/procconn.h"

#define MAX_SEEN 256
static struct amx_event seen[MAX_SEEN];
static int n_seen;

static void on_event(void *ctx, const struct amx_event *ev)
{
	(void)ctx;
	if (n_seen < MAX_SEEN)
		seen[n_seen++] = *ev;
}

static const struct amx_event *find_seen(uint32_t type, pid_t pid)
{
	for (int i = 0; i < n_seen; i++)
		if (seen[i].type == type && (pid_t)seen[i].pid == pid)
			return &seen[i];
	return NULL;
}

/* Poll the source's fd and consume until an event of type about pid arrives, or until
 * ms pass (by the clock: the connector is readable all the time on a busy host). */
static const struct amx_event *wait_for(const struct amx_exit_source *src, uint32_t type,
					pid_t pid, int ms)
{
	uint64_t deadline = amx_boot_ns() + (uint64_t)ms * 1000000ull;
	const struct amx_event *ev;
	while (!(ev = find_seen(type, pid)) && amx_boot_ns() < deadline) {
		struct pollfd pfd = { .fd = amx_exit_source_fd(src), .events = POLLIN };
		poll(&pfd, 1, 10);
		if (amx_exit_source_consume(src) < 0)
			return NULL;
	}
	return ev;
}

/* A child that waits to be killed. */
static pid_t fork_pausing(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	return pid;
}

static bool open_source(struct amx_exit_source *src, enum amx_bpf_mode mode)
{
	struct amx_exit_source_want want = { .mode = mode, .handler = on_event };
	char err[512];
	n_seen = 0;
	if (amx_exit_source_open(src, &want, err, sizeof(err)) < 0) {
		printf("# amx_exit_source_open: %s\n", err);
		return false;
	}
	return true;
}

/* What both sources must do: report a watched child's death by signal, once, and forget
 * it; forget an unwatched one without a word. */
static void kill_and_unwatch(const char *check_name, struct amx_exit_source *src)
{
	CHECK(amx_exit_source_fd(src) >= 0);
	int before = amx_exit_source_watched_count(src);

	pid_t killed = fork_pausing(), spared = fork_pausing();
	CHECK(killed > 0 && spared > 0);
	CHECK(amx_exit_source_watch(src, killed, AMX_WATCH_PROC, 0) == 0);
	CHECK(amx_exit_source_watch(src, spared, AMX_WATCH_PROC, 0) == 0);
	CHECK(amx_exit_source_watched_count(src) == before + 2);
	CHECK(amx_exit_source_unwatch(src, spared) == 0);
	CHECK(amx_exit_source_unwatch(src, spared) == -ENOENT);
	CHECK(amx_exit_source_watched_count(src) == before + 1);

	kill(spared, SIGKILL);
	kill(killed, SIGTERM);
	const struct amx_event *ev = wait_for(src, AMX_EV_EXIT, killed, 5000);
	CHECK(ev != NULL);
	if (ev) {
		struct amx_exit_status xs = amx_decode_exit(ev->exit_code);
		CHECK(xs.signal == SIGTERM && xs.exit_code == 128 + SIGTERM);
		CHECK(ev->ppid == (uint32_t)getpid());
		CHECK(ev->start_boottime_ns > 0);
	}
	waitpid(killed, NULL, 0);
	waitpid(spared, NULL, 0);
	/* The unwatched one's exit, had it been sent, would be in by now (same batch or an
	 * earlier one): the connector's pidfd and the ring buffer are both prompt. */
	wait_for(src, AMX_EV_EXIT, spared, 200);
	CHECK(find_seen(AMX_EV_EXIT, spared) == NULL);
	int exits = 0;
	for (int i = 0; i < n_seen; i++)
		exits += seen[i].type == AMX_EV_EXIT && (pid_t)seen[i].pid == killed;
	CHECK(exits == 1);
	CHECK(amx_exit_source_watched_count(src) == before); /* forgotten once reported */
	struct amx_exit_source_lost lost = amx_exit_source_lost(src);
	CHECK(lost.overflow == 0 && lost.unwatched_forks == 0);
}

/* What each source says of itself. */
struct expected {
	enum amx_bpf_mode mode;
	const char *name, *limits, *why_not_bpf, *attach;
	bool progs;
};

static void check_source(const char *check_name, const struct expected *x)
{
	struct amx_exit_source src;
	CHECK(open_source(&src, x->mode));
	if (!src.ops)
		return;
	CHECK_STR(amx_exit_source_name(&src), x->name);
	CHECK(x->limits ? amx_exit_source_limits(&src) && !strcmp(amx_exit_source_limits(&src), x->limits)
			: !amx_exit_source_limits(&src));
	CHECK_STR(src.why_not_bpf, x->why_not_bpf);
	CHECK_STR(amx_exit_source_attach_kind(&src), x->attach);
	struct amx_bpf_prog_stat ps[16];
	CHECK((amx_exit_source_prog_stats(&src, ps, 16) > 0) == x->progs);
	kill_and_unwatch(check_name, &src);
	amx_exit_source_close(&src);
	CHECK(src.ops == NULL);
}

TEST(bpf_reports_a_killed_child)
{
	struct expected x = { AMX_BPF_REQUIRED, "bpf", NULL, "", "tp_btf", true };
	check_source(check_name, &x);
}

TEST(connector_reports_a_killed_child)
{
	struct expected x = { AMX_BPF_OFF, AMX_PROCCONN_SOURCE, AMX_PROCCONN_LOST, "--no-bpf",
			      "none", false };
	check_source(check_name, &x);
}

/* Where BPF loads, auto takes it. */
TEST(auto_prefers_bpf)
{
	struct amx_exit_source src;
	CHECK(open_source(&src, AMX_BPF_AUTO));
	CHECK_STR(amx_exit_source_name(&src), "bpf");
	amx_exit_source_close(&src);
}

/* The code that holds a source may call it before one is open, or after close. */
TEST(none_open_is_harmless)
{
	struct amx_exit_source src;
	memset(&src, 0, sizeof(src));
	CHECK(amx_exit_source_fd(&src) == -1);
	CHECK(amx_exit_source_consume(&src) == 0);
	CHECK(amx_exit_source_watch(&src, getpid(), AMX_WATCH_PROC, 0) < 0);
	CHECK(amx_exit_source_unwatch(&src, getpid()) == -ENOENT);
	CHECK(amx_exit_source_watched_count(&src) == 0);
	CHECK(amx_exit_source_lost(&src).overflow == 0);
	CHECK_STR(amx_exit_source_name(&src), "none");
	CHECK_STR(amx_exit_source_attach_kind(&src), "none");
	CHECK(amx_exit_source_prog_stats(&src, NULL, 0) == 0);
	amx_exit_source_close(&src);
}

int main(void)
{
	RUN(bpf_reports_a_killed_child);
	RUN(connector_reports_a_killed_child);
	RUN(auto_prefers_bpf);
	RUN(none_open_is_harmless);
	CHECK_DONE();
}
