/* SPDX-License-Identifier: MIT */
#include "report/notify.h"

#include <errno.h>
#include <limits.h>
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
	/* Folding is per home (amexbpf.pm2.home; "" for events of no home): each waiting
	 * slot holds its home's worst event (a higher level, or an alert over an event of the
	 * same level, replaces; a lower one never does), so one home's stream of warnings
	 * cannot mask another home's critical alert. Runs take the worst slot first. */
	struct pending {
		json_t *ev;
		char home[256];
		int rank;
		uint64_t folded;       /* events of this home folded into it */
		uint64_t seq;          /* arrival, for the order among equals */
	} pending[AMX_NOTIFY_PENDING_MAX];
	uint64_t seq;
	uint64_t runs, folded_total, failures;
	char exec_path[PATH_MAX];
} N;

static int rank_of(json_t *ev)
{
	const char *kind = json_string_value(amx_event_get(ev, "event.kind"));
	int level = amx_level_rank(json_string_value(amx_event_get(ev, "log.level")));

	return level * 2 + (kind && !strcmp(kind, "alert"));
}

/* The slot to run next: the worst, the oldest among equals; NULL when none waits. */
static struct pending *next_pending(void)
{
	struct pending *best = NULL;

	for (int i = 0; i < AMX_NOTIFY_PENDING_MAX; i++) {
		struct pending *p = &N.pending[i];
		if (p->ev && (!best || p->rank > best->rank ||
			      (p->rank == best->rank && p->seq < best->seq)))
			best = p;
	}
	return best;
}

static void fold(json_t *ev)
{
	const char *home = json_string_value(amx_event_get(ev, "amexbpf.pm2.home"));
	int rank = rank_of(ev);
	struct pending *slot = NULL, *free_slot = NULL, *lowest = NULL;

	if (!home)
		home = "";
	for (int i = 0; i < AMX_NOTIFY_PENDING_MAX; i++) {
		struct pending *p = &N.pending[i];
		if (!p->ev) {
			if (!free_slot)
				free_slot = p;
			continue;
		}
		if (!strncmp(p->home, home, sizeof(p->home) - 1) &&
		    strlen(home) < sizeof(p->home)) {
			slot = p;
			break;
		}
		/* the least important waiting event: the newest of the lowest rank */
		if (!lowest || p->rank < lowest->rank ||
		    (p->rank == lowest->rank && p->seq > lowest->seq))
			lowest = p;
	}
	if (slot) {
		slot->folded++;
		if (rank < slot->rank)
			return; /* a lower level never replaces a higher one */
		json_decref(slot->ev);
		slot->ev = json_deep_copy(ev);
		slot->rank = rank;
		return;
	}
	if (!free_slot) {
		/* more homes waiting than slots: the least important event gives way, or the
		 * new one does; either way it is counted */
		N.folded_total++;
		if (rank <= lowest->rank)
			return;
		json_decref(lowest->ev);
		lowest->ev = NULL;
		free_slot = lowest;
	}
	free_slot->ev = json_deep_copy(ev);
	snprintf(free_slot->home, sizeof(free_slot->home), "%s", home);
	free_slot->rank = rank;
	free_slot->folded = 0;
	free_slot->seq = ++N.seq;
}

static void on_hook_exit(void *ctx, int fd, uint32_t events);

static void run_pending(uint64_t now)
{
	struct pending *p = N.running || now < N.next_ok_ms ? NULL : next_pending();
	if (!p)
		return;
	json_t *ev = p->ev;
	p->ev = NULL;
	amx_event_set_int(ev, "amexbpf.notify.folded", (int64_t)p->folded);
	N.folded_total += p->folded;
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
	fold(ev);
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
	if (next_pending() && !N.running)
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
	/* Resolved once (a symlink such as /bin -> usr/bin is fine), then every directory
	 * on the real path must be root's and writable by root only (or sticky), or whoever
	 * could write there could swap the program root starts. That path is what runs. */
	if (!realpath(o->notify_exec, N.exec_path) || stat(N.exec_path, &st) < 0) {
		snprintf(err, errlen, "--notify-exec %s: %s", o->notify_exec, strerror(errno));
		return AMX_EXIT_NO_INPUT;
	}
	char parent[PATH_MAX];
	snprintf(parent, sizeof(parent), "%s", N.exec_path);
	for (char *slash = strrchr(parent, '/'); slash; slash = strrchr(parent, '/')) {
		struct stat ds;
		slash[slash == parent] = '\0'; /* "/a/b" -> "/a" -> "/" */
		/* a sticky directory (/tmp) is fine: there only an entry's owner, root here,
		 * may rename or remove it */
		if (stat(parent, &ds) < 0 || ds.st_uid != 0 ||
		    ((ds.st_mode & (S_IWGRP | S_IWOTH)) && !(ds.st_mode & S_ISVTX))) {
			snprintf(err, errlen, "--notify-exec %s: directory %s is not root's alone: "
				 "refusing to run it", o->notify_exec, parent);
			return AMX_EXIT_USAGE;
		}
		if (!strcmp(parent, "/"))
			break;
	}
	if (st.st_uid != 0) {
		snprintf(err, errlen, "--notify-exec %s is not owned by root: refusing to run it",
			 o->notify_exec);
		return AMX_EXIT_USAGE;
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
	N.exec = N.exec_path;
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
	for (int i = 0; i < AMX_NOTIFY_PENDING_MAX; i++) {
		json_decref(N.pending[i].ev);
		N.pending[i].ev = NULL;
	}
}
