/* SPDX-License-Identifier: MIT */
#include "report/notify.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <time.h>

#include "core/event.h"
#include "sys/loop.h"
#include "sys/spawn.h"

static struct {
	bool on;
	const char *exec;
	struct amx_user user;
	int min_rank;              /* events at or above this level; alerts always */
	uint64_t timeout_ms, interval_ms;
	struct amx_child child;
	bool running;
	uint64_t deadline_ms;      /* of the running hook */
	uint64_t next_ok_ms;       /* no new run before this */
	json_t *pending;           /* the latest event waiting for a run */
	uint64_t folded;           /* events waiting beyond the pending one */
	uint64_t runs, folded_total, failures;
} N;

static void on_hook_exit(void *ctx, int fd, uint32_t events);

static void run_pending(uint64_t now)
{
	if (N.running || !N.pending || now < N.next_ok_ms)
		return;
	json_t *ev = N.pending;
	N.pending = NULL;
	amx_event_set_int(ev, "amexbpf.notify.folded", (int64_t)N.folded);
	N.folded_total += N.folded;
	N.folded = 0;
	char *line = amx_event_encode(ev);
	json_decref(ev);
	if (!line)
		return;
	struct amx_argv argv = { .v = { N.exec, NULL }, .n = 1 };
	char err[512];
	int rc = amx_spawn_input(&N.child, &argv, &N.user, NULL, line, strlen(line), err, sizeof(err));
	free(line);
	N.next_ok_ms = now + N.interval_ms;
	if (rc < 0) {
		N.failures++;
		fprintf(stderr, "amexbpf: notify: %s\n", err);
		return;
	}
	N.runs++;
	N.running = true;
	N.deadline_ms = now + N.timeout_ms;
	amx_loop_add_fd(N.child.pidfd, EPOLLIN, on_hook_exit, NULL);
}

static void on_hook_exit(void *ctx, int fd, uint32_t events)
{
	(void)ctx;
	(void)events;
	amx_child_read_output(&N.child);
	if (!amx_child_reap(&N.child))
		return;
	amx_loop_del_fd(fd);
	if (!amx_child_succeeded(&N.child)) {
		char why[128];
		N.failures++;
		amx_child_describe(&N.child, (int)(N.timeout_ms / 1000), why, sizeof(why));
		/* The hook's own words, on one line, so the operator sees why it failed. */
		for (char *p = N.child.output; *p; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
		fprintf(stderr, "amexbpf: notify: %s %s%s%.300s\n", N.exec, why,
			N.child.out_len ? ": " : "", N.child.output);
	}
	amx_child_release(&N.child);
	N.running = false;
	run_pending(amx_boot_ms());
}

static void on_event(void *ctx, json_t *ev, const char *line)
{
	(void)ctx;
	(void)line;
	const char *kind = json_string_value(amx_event_get(ev, "event.kind"));
	int rank = amx_level_rank(json_string_value(amx_event_get(ev, "log.level")));
	bool wanted = (kind && !strcmp(kind, "alert")) || (N.min_rank >= 0 && rank >= N.min_rank);
	if (!wanted)
		return;
	if (N.pending) {
		json_decref(N.pending);
		N.folded++;
	}
	N.pending = json_deep_copy(ev);
	run_pending(amx_boot_ms());
}

static void on_tick(void *ctx, uint64_t now)
{
	(void)ctx;
	if (N.running && now >= N.deadline_ms && !N.child.timed_out) {
		fprintf(stderr, "amexbpf: notify: %s still runs after %llu ms: killing its process group\n",
			N.exec, (unsigned long long)N.timeout_ms);
		amx_child_kill_group(&N.child);
	}
	run_pending(now);
	if (N.running && !N.child.timed_out)
		amx_loop_wake_at(N.deadline_ms);
	if (N.pending && !N.running)
		amx_loop_wake_at(N.next_ok_ms);
}

int amx_notify_start(const struct amx_options *o, char *err, size_t errlen)
{
	memset(&N, 0, sizeof(N));
	N.min_rank = -1;
	if (o->notify_level) {
		N.min_rank = amx_level_rank(o->notify_level);
		if (N.min_rank < 0) {
			snprintf(err, errlen, "--notify-level must be debug, info, warn, error or critical, not %s",
				 o->notify_level);
			return AMX_EXIT_USAGE;
		}
	}
	if (!o->notify_exec)
		return 0;
	struct stat st;
	if (o->notify_exec[0] != '/') {
		snprintf(err, errlen, "--notify-exec must be an absolute path: %s", o->notify_exec);
		return AMX_EXIT_USAGE;
	}
	if (stat(o->notify_exec, &st) < 0) {
		snprintf(err, errlen, "--notify-exec %s: %s", o->notify_exec, strerror(errno));
		return AMX_EXIT_NO_INPUT;
	}
	if (!S_ISREG(st.st_mode) || !(st.st_mode & S_IXUSR)) {
		snprintf(err, errlen, "--notify-exec %s is not an executable file", o->notify_exec);
		return AMX_EXIT_USAGE;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen, "--notify-exec %s is writable by group or others: refusing to run it",
			 o->notify_exec);
		return AMX_EXIT_USAGE;
	}
	struct passwd *pw = getpwnam(o->notify_user);
	if (!pw || !amx_user_from_uid(pw->pw_uid, &N.user, err, errlen)) {
		snprintf(err, errlen, "--notify-user: no such user: %s", o->notify_user);
		return AMX_EXIT_USAGE;
	}
	N.exec = o->notify_exec;
	N.timeout_ms = (uint64_t)(o->notify_timeout_s * 1000);
	N.interval_ms = (uint64_t)(o->notify_interval_s * 1000);
	N.child.pidfd = N.child.out_fd = -1;
	N.on = true;
	amx_loop_subscribe(on_event, NULL);
	amx_loop_add_ticker(on_tick, NULL);
	return 0;
}

void amx_notify_stop(void)
{
	if (N.running) {
		amx_child_kill_group(&N.child);
		/* a SIGKILLed group leader is reaped at once */
		for (int i = 0; i < 100 && !amx_child_reap(&N.child); i++) {
			struct timespec ts = { 0, 10 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
		amx_child_release(&N.child);
		N.running = false;
	}
	json_decref(N.pending);
	N.pending = NULL;
}
