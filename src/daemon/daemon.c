/* SPDX-License-Identifier: MIT */
/* The daemon: one event loop over the kernel ring buffer, the inotify hand-off, signals,
 * one timer for every deadline, and the pm2 commands it runs. It turns what it sees into
 * inputs of the recovery policy, and the policy's actions into commands and events. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "sources/bpf_loader.h"
#include "daemon/budgetfile.h"
#include "daemon/config.h"
#include "daemon/disk.h"
#include "report/control_server.h"
#include "core/dump.h"
#include "core/event.h"
#include "report/eventfile.h"
#include "daemon/home.h"
#include "report/journal.h"
#include "sys/loop.h"
#include "daemon/memwatch.h"
#include "report/metrics.h"
#include "report/notify.h"
#include "sys/sdnotify.h"
#include "core/options.h"
#include "core/policy.h"
#include "daemon/probe.h"
#include "daemon/recovery_command.h"
#include "sys/proc.h"
#include "daemon/retain.h"
#include "sources/procconn.h"
#include "core/oomwait.h"
#include "daemon/selftest.h"
#include "sys/spawn.h"
#include "report/status.h"
#include "sys/userfile.h"
#include "sources/watch.h"

#define MAX_COMMANDS 64
#define MAX_CHILDREN_SCAN 1024

struct command {
	bool used;
	struct amx_child child;
	int home;
	int app;          /* -1: the home's own command */
	int tier;         /* 0: status query (jlist) */
	int attempt;
	uint64_t deadline_ms;
	struct amx_argv argv;
	char ecosystem_copy[4096];
};

struct daemon {
	struct amx_options *o;
	struct amx_policy_config cfg;
	struct amx_home homes[AMX_MAX_HOMES];
	int n_homes;
	struct amx_bpf *bpf;
	struct amx_procconn *pc;  /* the fallback, when BPF is off or unavailable */
	struct amx_watcher *watcher;
	int sigfd;
	struct amx_eventfile events;
	uint64_t started_ms;
	struct amx_event_stream stream;
	struct command cmds[MAX_COMMANDS];
	uint64_t bpf_lost_seen;
	bool stopping;
	/* When the kernel event being handled was taken off the ring buffer: the end point
	 * of amexbpf.detect_latency_us. */
	uint64_t handled_ns;
	char pm2_version[64];     /* from the start-up self-test */
	struct amx_oomwait oomwait; /* oom-killed events waiting for their outcome */
};

static struct daemon D;

/* ---------------------------------------------------------------- events and sinks */

static void sink_write(json_t *ev)
{
	char *line = amx_event_encode(ev);
	bool written = false;
	if (line) {
		/* One write() a line, O_APPEND: readers never see half a line. */
		written = amx_eventfile_write(&D.events, line, strlen(line));
		amx_loop_publish(ev, line);
		free(line);
	}
	char human[1024];
	amx_event_human(ev, human, sizeof(human));
	fprintf(stderr, "%s\n", human);
	json_decref(ev);
	uint64_t lost;
	int err;
	/* The file took a line again after ENOSPC/EIO: say how many it lost (in the file too). */
	if (written && amx_eventfile_take_recovery(&D.events, &lost, &err)) {
		json_t *e = amx_event_new(&D.stream, "events-lost", "error", "alert", "host", "error", 0,
					  "%llu events could not be written to %s (%s); writing again",
					  (unsigned long long)lost, D.o->events_path, strerror(err));
		amx_event_set_str(e, "amexbpf.lost.source", "file");
		amx_event_set_int(e, "amexbpf.lost.count", (int64_t)lost);
		amx_event_set_str(e, "event.reason", strerror(err));
		sink_write(e);
	}
}


static void set_app_fields(json_t *ev, const struct amx_home *h, const struct amx_app *a)
{
	if (h)
		amx_event_set_str(ev, "amexbpf.pm2.home", h->path);
	if (a) {
		amx_event_set_str(ev, "service.name", a->name);
		amx_event_set_str(ev, "amexbpf.pm2.app", a->name);
	}
}

static json_t *argv_json(const struct amx_argv *argv)
{
	json_t *arr = json_array();
	for (int i = 0; i < argv->n; i++) {
		/* json_string is NULL for invalid UTF-8; build it once, or it leaks. */
		json_t *s = json_string(argv->v[i]);
		json_array_append_new(arr, s ? s : json_string("?"));
	}
	return arr;
}

static void logv(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logv(const char *fmt, ...)
{
	if (!D.o->verbose)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "amexbpf: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}


/* ---------------------------------------------------------------- helpers */

static uint64_t now_ms(void)
{
	return amx_boot_ms();
}

/* The policy settings of one app: the global ones, with its [app] section's manual grace,
 * budget and ecosystem file over them. */
static struct amx_policy_config app_cfg(const struct amx_home *h, const struct amx_app *a)
{
	struct amx_policy_config cfg = D.cfg;
	amx_config_app_policy(D.o, h->path, a->name, &cfg);
	return cfg;
}

static unsigned app_budget_left(const struct amx_home *h, const struct amx_app *a, uint64_t now)
{
	struct amx_policy_config cfg = app_cfg(h, a);
	return amx_budget_left(&a->pol.budget, &cfg, now);
}

/* The reporting modules' window on the daemon (report/status.h). */
static void report_view(struct amx_report_view *v)
{
	v->homes = D.homes;
	v->n_homes = D.n_homes;
	v->cfg = &D.cfg;
	v->started_ms = D.started_ms;
	v->last_sequence = D.stream.next_seq ? D.stream.next_seq - 1 : 0;
	v->attach = D.bpf ? amx_bpf_attach_kind(D.bpf) : "none";
	v->bpf_watched = D.bpf ? amx_bpf_watched_count(D.bpf) : 0;
	struct amx_bpf_prog_stat ps[AMX_REPORT_PROGS];
	v->n_progs = D.bpf ? amx_bpf_prog_stats(D.bpf, ps, AMX_REPORT_PROGS) : 0;
	for (int i = 0; i < v->n_progs; i++) {
		snprintf(v->progs[i].name, sizeof(v->progs[i].name), "%s", ps[i].name);
		v->progs[i].run_cnt = ps[i].run_cnt;
		v->progs[i].run_time_ns = ps[i].run_time_ns;
	}
	v->budget_left = app_budget_left;
}

static int app_index(const struct amx_home *h, const struct amx_app *a)
{
	return (int)(a - h->apps);
}

/* The command of a tier: built by the one builder (core/tier_command.h). The argv points
 * into a buffer that the next call reuses; a command keeps only argv[0], a literal or o->pm2. */
static bool build_argv(struct amx_argv *argv, int tier, const struct amx_home *h,
		       const struct amx_app *a)
{
	static struct amx_tier_command cmd;
	if (!amx_recovery_command(&cmd, tier, D.o, h, a))
		return false;
	*argv = cmd.argv;
	return true;
}

/* ---------------------------------------------------------------- policy glue */

static void run_actions(int hi, int ai, struct amx_actions *acts);

static void send_held_oom(struct amx_oom_pending *p, const struct amx_oom_outcome *o)
{
	sink_write(amx_oom_event_new(&D.stream, &p->kev, D.homes[p->home].path, p->app, o));
	amx_oomwait_release(p);
}

/* A held oom-killed goes out once the victim has exited and the policy has decided: PM2
 * gave the app a new pid while we waited for it (sent just before pm2-restarted-app), or
 * the wait for PM2 is over (sent just before what the policy does next). */
static void resolve_held_oom(int hi, int ai, const struct amx_actions *acts)
{
	const struct amx_app *a = &D.homes[hi].apps[ai];
	struct amx_oom_pending *p = amx_oomwait_find(&D.oomwait, hi, a->name);
	if (!p || (a->pid && a->pid == (int)p->kev.pid))
		return; /* nothing held, or the victim has not exited yet */
	struct amx_oom_outcome o = { .result = AMX_OOM_NOT_RESTARTED };
	for (int i = 0; i < acts->n; i++)
		if (acts->a[i].kind == AMX_ACT_EMIT && acts->a[i].emit == AMX_EMIT_PM2_RESTARTED_APP) {
			o.result = AMX_OOM_PM2_RESTARTED;
			o.new_pid = acts->a[i].pid;
			o.restart_ms = acts->a[i].ms;
		}
	if (o.result != AMX_OOM_PM2_RESTARTED &&
	    (a->pol.state == AMX_APP_WAIT_PM2 || a->pol.state == AMX_APP_QUERYING))
		return;
	send_held_oom(p, &o);
}

/* Held past AMX_OOM_HOLD_MAX_MS: the policy never decided (a victim that did not exit). */
static void tick_held_ooms(void *ctx, uint64_t now)
{
	(void)ctx;
	struct amx_oom_pending *p;
	struct amx_oom_outcome o = { .result = AMX_OOM_NOT_RESTARTED };
	while ((p = amx_oomwait_expired(&D.oomwait, now)))
		send_held_oom(p, &o);
	amx_loop_wake_at(amx_oomwait_next_deadline(&D.oomwait));
}

static uint64_t budget_last(const struct amx_budget *b)
{
	return b->n ? b->at_ms[b->n - 1] : 0;
}

/* An attempt went into a budget: keep it in the state directory before the tier runs, so
 * that a restart of amexbpf does not renew a spent budget. */
static void save_budget_if_changed(const struct amx_home *h, const struct amx_budget *b,
				   unsigned n_before, uint64_t last_before)
{
	if (b->n != n_before || budget_last(b) != last_before)
		amx_budget_save(h);
}

static void feed_app(int hi, int ai, struct amx_input in)
{
	struct amx_home *h = &D.homes[hi];
	struct amx_app *a = &h->apps[ai];
	struct amx_actions acts = { 0 };
	struct amx_policy_config cfg = app_cfg(h, a);
	in.now_ms = in.now_ms ? in.now_ms : now_ms();
	in.rand = (uint32_t)random();
	unsigned n_before = a->pol.budget.n;
	uint64_t last_before = budget_last(&a->pol.budget);
	amx_app_step(&a->pol, &cfg, &in, &acts);
	save_budget_if_changed(h, &a->pol.budget, n_before, last_before);
	resolve_held_oom(hi, ai, &acts);
	run_actions(hi, ai, &acts);
}

static void feed_home(int hi, struct amx_input in)
{
	struct amx_home *h = &D.homes[hi];
	struct amx_actions acts = { 0 };
	in.now_ms = in.now_ms ? in.now_ms : now_ms();
	in.rand = (uint32_t)random();
	in.dump_valid = h->dump_valid;
	h->pol.wants_daemon = amx_home_wants_daemon(h);
	h->pol.dump_valid = h->dump_valid;
	unsigned n_before = h->pol.budget.n;
	uint64_t last_before = budget_last(&h->pol.budget);
	amx_home_step(&h->pol, &D.cfg, &in, &acts);
	save_budget_if_changed(h, &h->pol.budget, n_before, last_before);
	run_actions(hi, -1, &acts);
}

static struct command *new_command(void)
{
	for (int i = 0; i < MAX_COMMANDS; i++)
		if (!D.cmds[i].used) {
			memset(&D.cmds[i], 0, sizeof(D.cmds[i]));
			D.cmds[i].used = true;
			D.cmds[i].child.pidfd = -1;
			D.cmds[i].child.out_fd = -1;
			return &D.cmds[i];
		}
	return NULL;
}

static void on_command_exit(void *ctx, int fd, uint32_t events);
static void on_bpf_ready(void *ctx, int fd, uint32_t events);

/* The kernel's events first, before anything that can name an app's new pid (a pid file,
 * a finished pm2 command, a deadline's re-scan): the old copy exited before PM2 made the
 * new one, and that exit must be read before the new pid replaces the old one, or it
 * arrives for a pid no app has any more. Never from inside a kernel-event callback (a
 * nested read would take the ring or the socket out of order). */
static void read_kernel_events(void)
{
	on_bpf_ready(NULL, -1, 0);
}

/* A tier command outlives us if we are killed (it has its own session, so that a time-out
 * can kill its group). Each one is named in the state directory while it runs, so that the
 * next start waits for it instead of starting a second `pm2 resurrect` next to it. */
static void running_file(const struct amx_home *h, pid_t pid, char *buf, size_t len)
{
	snprintf(buf, len, "%s%d", h->run_prefix, (int)pid);
}

static void record_running(const struct amx_home *h, const struct command *c)
{
	struct amx_proc_stat st;
	char path[4300], line[96];
	if (!amx_proc_read_stat(c->child.pid, &st))
		return;
	running_file(h, c->child.pid, path, sizeof(path));
	int n = snprintf(line, sizeof(line), "%d %llu %d\n", (int)c->child.pid,
			 (unsigned long long)st.start_ticks, c->tier);
	amx_statefile_write(path, line, (size_t)n);
}

static void forget_running(const struct amx_home *h, pid_t pid)
{
	char path[4300];
	running_file(h, pid, path, sizeof(path));
	unlink(path);
}

static int start_command(int hi, int ai, int tier, int attempt, const struct amx_argv *argv,
			 char *err, size_t errlen)
{
	struct amx_home *h = &D.homes[hi];
	struct command *c = new_command();
	if (!c) {
		snprintf(err, errlen, "too many commands running");
		return -1;
	}
	c->home = hi;
	c->app = ai;
	c->tier = tier;
	c->attempt = attempt;
	c->argv = *argv;
	/* systemctl and systemd-run talk to systemd as root; they name the owner themselves. */
	static const struct amx_user root = { .uid = 0, .gid = 0, .name = "root", .home = "/" };
	bool as_root = !strcmp(argv->v[0], "/usr/bin/systemctl") ||
		       !strcmp(argv->v[0], "/usr/bin/systemd-run");
	int rc = amx_spawn(&c->child, argv, as_root ? &root : &h->owner, h->path, err, errlen);
	if (rc < 0) {
		c->used = false;
		return -1;
	}
	int idx = (int)(c - D.cmds);
	c->deadline_ms = now_ms() + (uint64_t)(D.o->action_timeout_s * 1000);
	if (tier > 0)
		record_running(h, c);
	if (c->child.pidfd >= 0)
		amx_loop_add_fd(c->child.pidfd, EPOLLIN, on_command_exit, c);
	logv("started %s (pid %d) as %s", argv->v[0], c->child.pid, h->owner.name);
	return idx;
}

static void emit_policy_event(int hi, int ai, const struct amx_action *x)
{
	struct amx_home *h = &D.homes[hi];
	struct amx_app *a = ai >= 0 ? &h->apps[ai] : NULL;
	const char *who = a ? a->name : "the PM2 daemon";
	json_t *ev = NULL;
	switch (x->emit) {
	case AMX_EMIT_PM2_RESTARTED_APP:
		ev = amx_event_new(&D.stream, "pm2-restarted-app", "info", "event", "process",
				   "start", 0, "PM2 restarted %s in %llu ms", who,
				   (unsigned long long)x->ms);
		amx_event_set_int(ev, "process.pid", a ? a->pid : 0);
		amx_event_set_int(ev, "amexbpf.pm2_restart_ms", (int64_t)x->ms);
		if (a)
			a->pm2_restarts++;
		break;
	case AMX_EMIT_APP_STOPPED:
		ev = amx_event_new(&D.stream, "app-stopped", "warn", "event", "process", "end", 0,
				   "%s was %s on purpose", who, x->deleted ? "deleted" : "stopped");
		amx_event_set_bool(ev, "amexbpf.intentional", true);
		amx_event_set_bool(ev, "amexbpf.deleted", x->deleted);
		amx_event_set_int(ev, "amexbpf.manual_grace_s", (int64_t)(D.o->manual_grace_s));
		break;
	case AMX_EMIT_APP_ERRORED:
		ev = amx_event_new(&D.stream, "app-errored", "error", "alert", "process", "error", 0,
				   "PM2 gave up on %s (errored)", who);
		break;
	case AMX_EMIT_DAEMON_DOWN_NO_APPS:
		ev = amx_event_new(&D.stream, "recovery-failed", "warn", "event", "process", "info", 0,
				   "the PM2 daemon of %s is down and no saved app wants it", h->path);
		amx_event_set_int(ev, "amexbpf.tier", 2);
		amx_event_set_int(ev, "amexbpf.attempt", x->attempt);
		amx_event_set_str(ev, "event.reason", "no app desired online");
		break;
	case AMX_EMIT_RECOVERY_STARTED: {
		struct amx_argv argv = { 0 };
		build_argv(&argv, x->tier, h, a);
		ev = amx_event_new(&D.stream, "recovery-started", "warn", "event", "process", "start",
				   0, "recovering %s: tier %d, attempt %d", who, x->tier, x->attempt);
		amx_event_set_int(ev, "amexbpf.tier", x->tier);
		amx_event_set_int(ev, "amexbpf.attempt", x->attempt);
		amx_event_set_int(ev, "amexbpf.backoff_ms", (int64_t)x->backoff_ms);
		amx_event_set(ev, "amexbpf.command", argv_json(&argv));
		amx_event_set_str(ev, "amexbpf.run_as", h->owner.name);
		break;
	}
	case AMX_EMIT_RECOVERY_SUCCEEDED:
		ev = amx_event_new(&D.stream, "recovery-succeeded", "info", "event", "process",
				   "start", 0, "%s is back (tier %d, attempt %d, %llu ms)", who, x->tier,
				   x->attempt, (unsigned long long)x->ms);
		amx_event_set_int(ev, "amexbpf.tier", x->tier);
		amx_event_set_int(ev, "amexbpf.attempt", x->attempt);
		amx_event_set_int(ev, "event.duration", (int64_t)x->ms * 1000000);
		amx_event_set_int(ev, "process.pid", x->pid);
		if (a && x->tier >= 1 && x->tier <= 3)
			a->recoveries[x->tier]++;
		break;
	case AMX_EMIT_RECOVERY_FAILED: {
		ev = amx_event_new(&D.stream, "recovery-failed", "error", "event", "process", "error",
				   0, "tier %d did not bring %s back: %s", x->tier, who, x->reason);
		amx_event_set_int(ev, "amexbpf.tier", x->tier);
		amx_event_set_int(ev, "amexbpf.attempt", x->attempt);
		amx_event_set_str(ev, "event.reason", x->reason);
		char *out = a ? a->last_output : h->last_output;
		if (out[0])
			amx_event_set_str(ev, "amexbpf.output", out);
		out[0] = '\0';
		break;
	}
	case AMX_EMIT_RECOVERY_PARKED:
		ev = amx_event_new(&D.stream, "recovery-parked", "critical", "alert", "process",
				   "info", 0,
				   "restart budget of %s spent (%u attempts in %llu s): waiting %llu s",
				   who, x->budget_attempts,
				   (unsigned long long)(x->budget_window_ms / 1000),
				   (unsigned long long)(x->ms / 1000));
		amx_event_set_int(ev, "amexbpf.budget.attempts", x->budget_attempts);
		amx_event_set_int(ev, "amexbpf.budget.window_s", (int64_t)(x->budget_window_ms / 1000));
		amx_event_set_int(ev, "amexbpf.budget.retry_in_ms", (int64_t)x->ms);
		break;
	case AMX_EMIT_NO_ECOSYSTEM:
		ev = amx_event_new(&D.stream, "recovery-failed", "warn", "event", "process", "info", 0,
				   "tier 3 skipped for %s: no ecosystem file configured (--ecosystem)",
				   who);
		amx_event_set_int(ev, "amexbpf.tier", 3);
		amx_event_set_int(ev, "amexbpf.attempt", x->attempt);
		amx_event_set_str(ev, "event.reason", "no ecosystem file configured");
		break;
	}
	if (!ev)
		return;
	set_app_fields(ev, h, a);
	if (!a && x->emit == AMX_EMIT_RECOVERY_SUCCEEDED)
		amx_event_set_int(ev, "amexbpf.pm2.daemon_pid", x->pid);
	sink_write(ev);
}

static void answer_status_unknown(int hi, int ai)
{
	struct amx_input in = { .kind = AMX_IN_STATUS, .status = AMX_PM2_UNKNOWN };
	feed_app(hi, ai, in);
}

static void rescan_home(int hi);

static void start_status_query(int hi, int ai)
{
	struct amx_home *h = &D.homes[hi];
	h->apps[ai].awaiting_status = true;
	if (h->status_query >= 0)
		return; /* one jlist answers every app waiting */
	/* `pm2 jlist` would start an empty daemon if none runs: ask only a live one. */
	if (!h->god_pid || !amx_home_is_god(h, h->god_pid)) {
		h->apps[ai].awaiting_status = false;
		rescan_home(hi);
		if (D.homes[hi].apps[ai].pol.state == AMX_APP_QUERYING)
			answer_status_unknown(hi, ai);
		return;
	}
	struct amx_argv argv;
	build_argv(&argv, AMX_TIER_STATUS, h, NULL);
	char err[256];
	int idx = start_command(hi, -1, 0, 0, &argv, err, sizeof(err));
	if (idx < 0) {
		fprintf(stderr, "amexbpf: failed to run pm2 jlist for %s: %s\n", h->path, err);
		h->apps[ai].awaiting_status = false;
		answer_status_unknown(hi, ai);
		return;
	}
	D.cmds[idx].child.keep_all_output = true;
	h->status_query = idx;
}

static void restore_dump(int hi)
{
	struct amx_home *h = &D.homes[hi];
	int rc = amx_home_restore_dump(h);
	json_t *ev;
	if (rc == 0) {
		ev = amx_event_new(&D.stream, "dump-restored", "warn", "event", "file", "change", 0,
				   "put back the last good dump.pm2 of %s (%zu apps)", h->path,
				   h->good.n_apps);
		amx_event_set_int(ev, "amexbpf.dump.apps", (int64_t)h->good.n_apps);
		h->dump_valid = true;
	} else {
		ev = amx_event_new(&D.stream, "recovery-failed", "error", "event", "file", "error", 0,
				   "could not put back dump.pm2 of %s: %s", h->path, strerror(-rc));
		amx_event_set_str(ev, "event.reason", strerror(-rc));
		amx_event_set_int(ev, "amexbpf.tier", 2);
		amx_event_set_int(ev, "amexbpf.attempt", h->pol.attempt);
	}
	char p[4200];
	snprintf(p, sizeof(p), "%s/dump.pm2", h->path);
	amx_event_set_str(ev, "amexbpf.dump.path", p);
	set_app_fields(ev, h, NULL);
	sink_write(ev);
}

/* Whether the process we know as the app still runs: the same pid and start time, not a
 * zombie. */
static bool app_process_runs(const struct amx_app *a)
{
	struct amx_proc_stat st;
	return a->pid && amx_proc_read_stat(a->pid, &st) && st.state != 'Z' &&
	       st.start_ticks == a->start_ticks;
}

/* A quiet app can outlive a killed PM2 daemon, re-parented to PID 1, still holding its
 * port: the resurrected copy would then crash-loop on EADDRINUSE. Nothing supervises the
 * orphan any more, so it goes before tier 2 brings the app back. The pid is checked
 * against its start time and signalled through a pidfd, so a reused pid is never hit. */
static void stop_orphaned_apps(int hi)
{
	struct amx_home *h = &D.homes[hi];
	for (size_t i = 0; i < h->n_apps; i++) {
		struct amx_app *a = &h->apps[i];
		if (!app_process_runs(a))
			continue;
		int pidfd = (int)syscall(SYS_pidfd_open, a->pid, 0);
		if (pidfd < 0)
			continue;
		/* Checked again through the pidfd: it now pins this very process. */
		if (app_process_runs(a) &&
		    syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) == 0)
			fprintf(stderr, "amexbpf: %s: stopped %s (pid %d), left running by the dead "
					"PM2 daemon, so that the resurrected copy can take its place\n",
				h->path, a->name, a->pid);
		close(pidfd);
	}
}

static void run_tier(int hi, int ai, const struct amx_action *x)
{
	struct amx_home *h = &D.homes[hi];
	struct amx_app *a = ai >= 0 ? &h->apps[ai] : NULL;
	char err[512];
	struct amx_argv argv;
	if (x->tier != 2 && (!h->god_pid || !amx_home_is_god(h, h->god_pid))) {
		/* Tier 1 or 3 against a dead daemon would spawn an empty one: tier 2 first. */
		struct amx_input in = { .kind = AMX_IN_ACTION_DONE, .ok = false,
					.reason = "the PM2 daemon is down" };
		feed_app(hi, ai, in);
		rescan_home(hi);
		return;
	}
	if (x->tier == 2)
		stop_orphaned_apps(hi);
	if (x->tier == 2 && x->restore_dump)
		restore_dump(hi);
	if (!build_argv(&argv, x->tier, h, a)) {
		struct amx_input in = { .kind = AMX_IN_ACTION_DONE, .ok = false,
					.reason = "no command for this tier" };
		if (a)
			feed_app(hi, ai, in);
		else
			feed_home(hi, in);
		return;
	}
	int idx = start_command(hi, ai, x->tier, x->attempt, &argv, err, sizeof(err));
	if (idx < 0) {
		struct amx_input in = { .kind = AMX_IN_ACTION_DONE, .ok = false, .reason = err };
		if (a)
			feed_app(hi, ai, in);
		else
			feed_home(hi, in);
		return;
	}
	if (a)
		a->running = idx;
	else
		h->running = idx;
}

static void run_actions(int hi, int ai, struct amx_actions *acts)
{
	for (int i = 0; i < acts->n; i++) {
		const struct amx_action *x = &acts->a[i];
		switch (x->kind) {
		case AMX_ACT_EMIT:
			emit_policy_event(hi, ai, x);
			break;
		case AMX_ACT_QUERY_STATUS:
			if (ai >= 0)
				start_status_query(hi, ai);
			break;
		case AMX_ACT_RUN_TIER:
			run_tier(hi, ai, x);
			break;
		default:
			break;
		}
	}
}

/* ---------------------------------------------------------------- what was seen */

static void watch_pid(int pid, uint32_t flags)
{
	/* /proc gives the start time only to the tick; the kernel compares nanoseconds, so
	 * pass 0 ("unknown") and check the start tick ourselves when the exit arrives. */
	if (D.bpf)
		amx_bpf_watch(D.bpf, pid, flags, 0);
	else if (D.pc)
		amx_procconn_watch(D.pc, pid, flags, 0);
}

static void app_exited(int hi, struct amx_app *a, const struct amx_event *kev);

static void app_seen_alive(int hi, struct amx_app *a, int pid)
{
	struct amx_proc_stat st;
	if (!amx_proc_read_stat(pid, &st) || st.state == 'Z')
		return;
	if (a->pid == pid && a->start_ticks == st.start_ticks)
		return;
	if (a->pid && !app_process_runs(a)) {
		/* The old copy is gone and its exit was not read yet (the kernel's events are
		 * read first, so this is a last resort): report it now, unseen, rather than
		 * let it arrive later for a pid the app no longer has. */
		fprintf(stderr, "amexbpf: %s: app %s has pid %d before the exit of pid %d was "
				"read\n", D.homes[hi].path, a->name, pid, a->pid);
		app_exited(hi, a, NULL);
		/* EXITED makes the policy wait for PM2 and act on nothing; should that change,
		 * a nested call may have taken this pid already. */
		if (a->pid == pid)
			return;
	}
	a->pid = pid;
	a->start_ticks = st.start_ticks;
	a->alive_since_ms = now_ms();
	watch_pid(pid, AMX_WATCH_PROC);
	logv("%s: app %s has pid %d", D.homes[hi].path, a->name, pid);
	struct amx_input in = { .kind = AMX_IN_ALIVE, .pid = pid };
	feed_app(hi, app_index(&D.homes[hi], a), in);
}

/* A live process whose parent is the God daemon and whose environment names a watched
 * app of this home is that app's new pid. */
static void consider_child(int hi, int pid)
{
	struct amx_home *h = &D.homes[hi];
	struct amx_proc_stat st;
	if (!amx_proc_read_stat(pid, &st) || st.ppid != h->god_pid || st.state == 'Z')
		return;
	struct amx_app *a = amx_home_app_of_pid(h, pid);
	if (a)
		app_seen_alive(hi, a, pid);
}

/* Exits of the God daemon's children that no app claimed yet: an app can die before it
 * has exec'd (its environment still the daemon's), before anything names it. PM2 writes its
 * pid file right after the fork, so the pid file that names it settles the matter. */
#define UNCLAIMED_EXITS 64
static struct unclaimed_exit {
	int home;
	struct amx_event ev;
} unclaimed[UNCLAIMED_EXITS];
static unsigned unclaimed_next;

static void remember_unclaimed_exit(int hi, const struct amx_event *ev)
{
	unclaimed[unclaimed_next++ % UNCLAIMED_EXITS] = (struct unclaimed_exit){ .home = hi, .ev = *ev };
}

static const struct amx_event *take_unclaimed_exit(int hi, int pid)
{
	for (int i = 0; i < UNCLAIMED_EXITS; i++) {
		struct unclaimed_exit *u = &unclaimed[i];
		if (u->ev.pid == (uint32_t)pid && u->home == hi && u->ev.type == AMX_EV_EXIT) {
			u->ev.type = 0; /* claimed once */
			return &u->ev;
		}
	}
	return NULL;
}

/* pids/<file> names pid: a live child of the God daemon is that app's new pid (by its
 * environment, or before its exec by the dump's pm_pid_path); a pid that already died
 * unclaimed is that app's exit, reported now. */
static void consider_pid_file(int hi, const char *file, int pid)
{
	struct amx_home *h = &D.homes[hi];
	struct amx_app *a = amx_home_app_of_pid(h, pid);
	if (!a)
		a = amx_home_app_by_pid_file(h, file);
	if (!a)
		return;
	struct amx_proc_stat st;
	if (amx_proc_read_stat(pid, &st) && st.state != 'Z' && st.ppid == h->god_pid) {
		app_seen_alive(hi, a, pid);
		return;
	}
	const struct amx_event *ev = take_unclaimed_exit(hi, pid);
	if (ev && a->pid != pid) {
		/* Make it the app's pid for the moment of the report, then let it exit. */
		a->pid = pid;
		a->start_ticks = amx_ns_to_ticks(ev->start_boottime_ns);
		app_exited(hi, a, ev);
	}
}

static void scan_god_children(int hi)
{
	int kids[MAX_CHILDREN_SCAN];
	int n = amx_proc_children(D.homes[hi].god_pid, kids, MAX_CHILDREN_SCAN);
	for (int i = 0; i < n; i++)
		consider_child(hi, kids[i]);
}

static void god_died(int hi, const struct amx_event *kev)
{
	struct amx_home *h = &D.homes[hi];
	int pid = h->god_pid;
	/* pm2 kill and SIGTERM remove pm2.pid before the daemon exits; SIGKILL leaves it. */
	int file_pid = amx_home_read_god_pid(h);
	struct amx_exit_status xs = { 0 };
	if (kev)
		xs = amx_decode_exit(kev->exit_code);
	bool intentional = file_pid != pid && xs.signal != 9;
	h->god_pid = 0;
	/* The dump decides tier 2's first step: look now, PM2 may have just written it. */
	struct amx_dump_read r;
	amx_home_read_dump(h, &r);
	{
		if (r.problem == AMX_DUMP_OK)
			amx_home_adopt_dump(h, &r, D.o->only, D.o->n_only);
		else {
			if (h->dump_valid || strcmp(h->dump_problem, amx_dump_read_problem(&r)) != 0) {
				json_t *ev = amx_event_new(&D.stream, "dump-invalid", "error", "alert",
							   "file", "error", 0,
							   "dump.pm2 of %s is %s", h->path,
							   amx_dump_read_problem(&r));
				char p[4200];
				snprintf(p, sizeof(p), "%s/dump.pm2", h->path);
				amx_event_set_str(ev, "amexbpf.dump.path", p);
				amx_event_set_str(ev, "amexbpf.dump.problem", amx_dump_read_problem(&r));
				set_app_fields(ev, h, NULL);
				sink_write(ev);
			}
			h->dump_valid = false;
			snprintf(h->dump_problem, sizeof(h->dump_problem), "%s",
				 amx_dump_read_problem(&r));
		}
	}
	amx_dump_read_free(&r);

	json_t *ev = amx_event_new(&D.stream, "pm2-daemon-down", intentional ? "warn" : "critical",
				   "alert", "process,host", "end", kev ? kev->ts_ns : 0,
				   "the PM2 daemon of %s (pid %d) is down%s", h->path, pid,
				   intentional ? " (stopped on purpose)" : "");
	amx_event_set_int(ev, "amexbpf.pm2.daemon_pid", pid);
	amx_event_set_bool(ev, "amexbpf.intentional", intentional);
	amx_event_set_int(ev, "process.pid", pid);
	set_app_fields(ev, h, NULL);
	if (kev)
		amx_event_set_int(ev, "amexbpf.detect_latency_us",
				  (int64_t)((D.handled_ns - kev->ts_ns) / 1000));
	sink_write(ev);

	for (size_t i = 0; i < h->n_apps; i++) {
		struct amx_input in = { .kind = AMX_IN_HOME_DOWN };
		feed_app(hi, (int)i, in);
	}
	struct amx_input in = { .kind = AMX_IN_DAEMON_DOWN, .intentional = intentional };
	feed_home(hi, in);
}

/* pm2.pid changed, or a re-scan: is there a (new) God daemon? */
static void refresh_god(int hi)
{
	struct amx_home *h = &D.homes[hi];
	if (h->god_pid && !amx_home_is_god(h, h->god_pid)) {
		/* Died without our seeing the exit (lost event, or before we watched it). */
		god_died(hi, NULL);
	}
	int pid = amx_home_read_god_pid(h);
	if (!pid || pid == h->god_pid || !amx_home_is_god(h, pid))
		return;
	struct amx_proc_stat st;
	if (!amx_proc_read_stat(pid, &st))
		return;
	/* Watch it (and its children) first, then look at what it already forked: nothing
	 * falls between the two. */
	h->god_pid = pid;
	h->god_start_ticks = st.start_ticks;
	watch_pid(pid, AMX_WATCH_PROC | AMX_WATCH_CHILDREN);
	logv("%s: PM2 daemon pid %d", h->path, pid);
	bool by_tier2 = h->pol.state == AMX_HOME_RECOVERING || h->pol.state == AMX_HOME_VERIFYING;
	struct amx_input in = { .kind = AMX_IN_ALIVE, .pid = pid };
	feed_home(hi, in);
	for (size_t i = 0; i < h->n_apps; i++) {
		if (h->apps[i].pol.state == AMX_APP_HOME_DOWN) {
			struct amx_input up = { .kind = AMX_IN_HOME_UP, .by_tier2 = by_tier2 };
			feed_app(hi, (int)i, up);
		}
	}
	scan_god_children(hi);
}

/* The fields every process-exited from the kernel carries. */
static void set_exit_fields(json_t *ev, const struct amx_event *kev)
{
	struct amx_exit_status xs = amx_decode_exit(kev->exit_code);
	const char *sig = xs.signal ? amx_signal_name(xs.signal) : NULL;
	amx_event_set_str(ev, "process.name", kev->comm);
	amx_event_set_int(ev, "process.parent.pid", kev->ppid);
	amx_event_set_int(ev, "process.exit_code", xs.exit_code);
	amx_event_set(ev, "amexbpf.signal", sig ? json_string(sig) : NULL);
	amx_event_set_bool(ev, "amexbpf.core_dumped", xs.core_dumped);
	amx_event_set_int(ev, "process.uptime",
			  (int64_t)((kev->ts_ns - kev->start_boottime_ns) / 1000000000ull));
	amx_event_set_int(ev, "amexbpf.detect_latency_us",
			  (int64_t)((D.handled_ns - kev->ts_ns) / 1000));
}

static void app_exited(int hi, struct amx_app *a, const struct amx_event *kev)
{
	struct amx_home *h = &D.homes[hi];
	int pid = a->pid;
	struct amx_exit_status xs = { 0 };
	if (kev) {
		xs = amx_decode_exit(kev->exit_code);
		a->last_exit_code = xs.exit_code;
		a->last_signal = xs.signal;
	}
	char how[96];
	if (!kev)
		snprintf(how, sizeof(how), "exit not seen");
	else if (xs.signal)
		snprintf(how, sizeof(how), "%s%s",
			 amx_signal_name(xs.signal) ? amx_signal_name(xs.signal) : "signal",
			 xs.core_dumped ? ", core dumped" : "");
	else
		snprintf(how, sizeof(how), "status %d", xs.status);
	json_t *ev = amx_event_new(&D.stream, "process-exited",
				   kev && xs.exit_code == 0 ? "warn" : "error", "event", "process",
				   "end", kev ? kev->ts_ns : 0, "%.300s exited (%s)", a->name, how);
	amx_event_set_int(ev, "process.pid", pid);
	if (kev) {
		set_exit_fields(ev, kev);
		amx_event_set_bool(ev, "amexbpf.oom_killed", a->last_oom);
	}
	/* Found gone by a re-scan (its exit lost, or before we watched it): how it ended is
	 * not known, and no exit code is made up. */
	amx_event_set_bool(ev, "amexbpf.exit_seen", kev != NULL);
	set_app_fields(ev, h, a);
	sink_write(ev);
	a->pid = 0;
	a->start_ticks = 0;
	a->last_oom = false;
	struct amx_input in = { .kind = AMX_IN_EXITED };
	feed_app(hi, app_index(h, a), in);
}

static void rescan_home(int hi)
{
	struct amx_home *h = &D.homes[hi];
	refresh_god(hi);
	for (size_t i = 0; i < h->n_apps; i++) {
		struct amx_app *a = &h->apps[i];
		if (a->pid && !app_process_runs(a))
			app_exited(hi, a, NULL);
	}
	if (h->god_pid)
		scan_god_children(hi);
}

static void on_kernel_event(void *ctx, const struct amx_event *ev)
{
	(void)ctx;
	D.handled_ns = amx_boot_ns();
	switch (ev->type) {
	case AMX_EV_EXIT:
		for (int hi = 0; hi < D.n_homes; hi++) {
			struct amx_home *h = &D.homes[hi];
			if (h->god_pid == (int)ev->pid &&
			    amx_ns_to_ticks(ev->start_boottime_ns) == h->god_start_ticks) {
				/* the process-exited of the daemon itself */
				struct amx_exit_status xs = amx_decode_exit(ev->exit_code);
				json_t *e = amx_event_new(&D.stream, "process-exited", "error", "event",
							  "process", "end", ev->ts_ns,
							  "the PM2 daemon of %s exited (%s)", h->path,
							  xs.signal ? amx_signal_name(xs.signal) : "exit");
				amx_event_set_int(e, "process.pid", (int)ev->pid);
				set_exit_fields(e, ev);
				set_app_fields(e, h, NULL);
				sink_write(e);
				god_died(hi, ev);
				return;
			}
			struct amx_app *a = amx_home_app_with_pid(h, (int)ev->pid);
			if (a && amx_ns_to_ticks(ev->start_boottime_ns) == a->start_ticks) {
				app_exited(hi, a, ev);
				return;
			}
		}
		for (int hi = 0; hi < D.n_homes; hi++)
			if (D.homes[hi].god_pid && (int)ev->ppid == D.homes[hi].god_pid)
				remember_unclaimed_exit(hi, ev);
		logv("watched pid %u (%s) exited, not an app we know (yet)", ev->pid, ev->comm);
		break;
	case AMX_EV_EXEC:
		for (int hi = 0; hi < D.n_homes; hi++)
			if (D.homes[hi].god_pid && (int)ev->ppid == D.homes[hi].god_pid)
				consider_child(hi, (int)ev->pid);
		break;
	case AMX_EV_OOM:
		for (int hi = 0; hi < D.n_homes; hi++) {
			struct amx_home *h = &D.homes[hi];
			struct amx_app *a = amx_home_app_with_pid(h, (int)ev->pid);
			if (!a)
				continue;
			a->last_oom = true;
			/* Sent when PM2's part is known (resolve_held_oom); an earlier kill of the
			 * app still held, or no room to hold this one, goes out now. */
			struct amx_oom_outcome unknown = { .result = AMX_OOM_RESULT_UNKNOWN };
			struct amx_oom_pending *p = amx_oomwait_find(&D.oomwait, hi, a->name);
			if (p)
				send_held_oom(p, &unknown);
			if (!amx_oomwait_hold(&D.oomwait, hi, a->name, ev, now_ms()))
				sink_write(amx_oom_event_new(&D.stream, ev, h->path, a->name, &unknown));
			amx_loop_wake_at(amx_oomwait_next_deadline(&D.oomwait));
		}
		break;
	default:
		break;
	}
}

static void on_dump_event(int hi)
{
	struct amx_home *h = &D.homes[hi];
	struct amx_dump_read r;
	amx_home_read_dump(h, &r);
	char p[4200];
	snprintf(p, sizeof(p), "%s/dump.pm2", h->path);
	/* PM2 truncates, then writes, then closes: we act on CLOSE_WRITE, so an empty file
	 * here is what the writer left (a save in progress would have a later CLOSE_WRITE
	 * that brings dump-changed). */
	if (r.problem == AMX_DUMP_OK) {
		bool same = h->good_raw && r.raw_len == h->good_raw_len &&
			    memcmp(r.raw, h->good_raw, r.raw_len) == 0;
		size_t n = r.dump.n_apps;
		amx_home_adopt_dump(h, &r, D.o->only, D.o->n_only);
		if (!same) {
			json_t *ev = amx_event_new(&D.stream, "dump-changed", "info", "event", "file,configuration",
						   "change", 0, "dump.pm2 of %s saved with %zu apps",
						   h->path, n);
			amx_event_set_str(ev, "amexbpf.dump.path", p);
			amx_event_set_int(ev, "amexbpf.dump.apps", (int64_t)n);
			set_app_fields(ev, h, NULL);
			sink_write(ev);
		}
		/* A saved stop is the new desired state; a saved start likewise. */
		for (size_t i = 0; i < h->n_apps; i++) {
			struct amx_app *a = &h->apps[i];
			bool alive = a->pid && amx_proc_alive(a->pid);
			struct amx_input in = { .kind = AMX_IN_DESIRED,
						.desired_online = a->desired_online, .alive = alive };
			feed_app(hi, (int)i, in);
			if (a->pol.state == AMX_APP_UNKNOWN && h->god_pid) {
				scan_god_children(hi);
				if (!a->pid) {
					struct amx_input ab = { .kind = AMX_IN_ABSENT };
					feed_app(hi, (int)i, ab);
				}
			}
		}
	} else {
		const char *problem = amx_dump_read_problem(&r);
		if (h->dump_valid || strcmp(h->dump_problem, problem) != 0) {
			json_t *ev = amx_event_new(&D.stream, "dump-invalid", "error", "alert", "file",
						   "error", 0, "dump.pm2 of %s is %s", h->path,
						   problem);
			amx_event_set_str(ev, "amexbpf.dump.path", p);
			amx_event_set_str(ev, "amexbpf.dump.problem", problem);
			set_app_fields(ev, h, NULL);
			sink_write(ev);
		}
		h->dump_valid = false;
		snprintf(h->dump_problem, sizeof(h->dump_problem), "%s", problem);
	}
	amx_dump_read_free(&r);
}

static void on_fs_event(const struct amx_fs_event *fe)
{
	if (fe->home < 0 || fe->home >= D.n_homes)
		return;
	int hi = fe->home;
	struct amx_home *h = &D.homes[hi];
	switch (fe->what) {
	case AMX_FS_GOD_PID:
		refresh_god(hi);
		break;
	case AMX_FS_PID_FILE:
		if (fe->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) {
			if (!h->god_pid)
				refresh_god(hi);
			int pid = amx_home_read_pid_file(h, fe->name);
			if (pid > 0)
				consider_pid_file(hi, fe->name, pid);
		}
		break;
	case AMX_FS_DUMP:
		on_dump_event(hi);
		break;
	case AMX_FS_RESCAN:
		if (strcmp(fe->name, "overflow") == 0 || strcmp(fe->name, "queue-overflow") == 0) {
			json_t *ev = amx_event_new(&D.stream, "events-lost", "error", "alert", "host",
						   "error", 0,
						   "the inotify queue overflowed; re-scanning %s", h->path);
			amx_event_set_str(ev, "amexbpf.lost.source", "inotify");
			amx_event_set_int(ev, "amexbpf.lost.count", 1);
			set_app_fields(ev, h, NULL);
			sink_write(ev);
		}
		rescan_home(hi);
		on_dump_event(hi);
		break;
	}
}

/* ---------------------------------------------------------------- commands */

/* pm2 colours its output: drop escape sequences and control characters. */
static void strip_terminal_codes(char *s)
{
	char *w = s;
	for (const char *r = s; *r; r++) {
		if (*r == 0x1b) {
			if (r[1] == '[') {
				r += 2;
				while (*r && !(*r >= '@' && *r <= '~'))
					r++;
				if (!*r)
					break;
			}
			continue;
		}
		*w++ = ((unsigned char)*r < 0x20) ? ' ' : *r;
	}
	*w = '\0';
}

static void finish_command(int idx)
{
	struct command *c = &D.cmds[idx];
	amx_child_read_output(&c->child);
	if (!amx_child_reap(&c->child))
		return;
	if (c->child.pidfd >= 0)
		amx_loop_del_fd(c->child.pidfd);
	int hi = c->home, ai = c->app, tier = c->tier;
	struct amx_home *h = &D.homes[hi];
	if (tier > 0)
		forget_running(h, c->child.pid);
	bool ok = amx_child_succeeded(&c->child);
	char reason[256];
	amx_child_describe(&c->child, (int)D.o->action_timeout_s, reason, sizeof(reason));
	logv("%s finished: %s", c->argv.v[0], reason);
	if (tier == 0) {
		h->status_query = -1;
		struct amx_dump list = { 0 };
		size_t jlen = 0;
		char *jlist = ok ? amx_child_read_all(&c->child, AMX_DUMP_MAX_BYTES, &jlen) : NULL;
		bool parsed = jlist && amx_jlist_parse(jlist, jlen, &list) == AMX_DUMP_OK;
		free(jlist);
		for (size_t i = 0; i < h->n_apps; i++) {
			struct amx_app *a = &h->apps[i];
			if (!a->awaiting_status)
				continue;
			a->awaiting_status = false;
			const struct amx_dump_app *j = parsed ? amx_dump_find(&list, a->name) : NULL;
			if (j && j->status == AMX_ST_ONLINE && j->pid > 0)
				consider_child(hi, j->pid);
			struct amx_input in = { .kind = AMX_IN_STATUS,
				.status = amx_jlist_status(parsed ? &list : NULL, a->name, a->pid != 0) };
			if (a->pol.state == AMX_APP_QUERYING)
				feed_app(hi, (int)i, in);
		}
		amx_dump_free(&list);
	} else {
		char *keep = ai >= 0 ? h->apps[ai].last_output : h->last_output;
		keep[0] = '\0';
		if (!ok && c->child.out_len) {
			/* What pm2 printed goes with the failure event, briefly. */
			size_t off = c->child.out_len > 500 ? c->child.out_len - 500 : 0;
			snprintf(keep, 512, "%s", c->child.output + off);
			strip_terminal_codes(keep);
		}
		struct amx_input in = { .kind = AMX_IN_ACTION_DONE, .ok = ok, .reason = reason };
		if (ai >= 0) {
			h->apps[ai].running = -1;
			feed_app(hi, ai, in);
		} else {
			h->running = -1;
			feed_home(hi, in);
			/* pm2 resurrect returned: pick the new daemon up even if inotify is late. */
			refresh_god(hi);
		}
		if (tier == 1 || tier == 3) {
			if (ai >= 0 && D.homes[hi].apps[ai].pol.state != AMX_APP_ALIVE && h->god_pid)
				scan_god_children(hi);
		}
	}
	amx_child_release(&c->child);
	c->used = false;
}

/* Without a pidfd (pidfd_open missing: kernels before 5.3, or valgrind) nothing wakes the
 * loop when a command exits: each tick tries to reap it, and asks for the next tick. */
#define NO_PIDFD_POLL_MS 50

static void check_command_deadlines(uint64_t now)
{
	for (int i = 0; i < MAX_COMMANDS; i++) {
		struct command *c = &D.cmds[i];
		if (!c->used)
			continue;
		/* Take output in as it comes, so that what overflows is dropped early. */
		amx_child_read_output(&c->child);
		if (!c->child.timed_out && now >= c->deadline_ms)
			amx_child_kill_group(&c->child);
		if (c->used && c->child.pidfd < 0)
			finish_command(i);
	}
}

/* ---------------------------------------------------------------- loop hooks */

static void check_bpf_lost(void);

static void on_command_exit(void *ctx, int fd, uint32_t events)
{
	(void)fd;
	(void)events;
	struct command *c = ctx;
	read_kernel_events();
	if (c->used)
		finish_command((int)(c - D.cmds));
}

/* Whether a policy deadline has come, or a command without a pidfd waits to be finished:
 * acting on either can name an app's new pid, so the kernel's events go first. */
static bool something_due(uint64_t now)
{
	for (int hi = 0; hi < D.n_homes; hi++) {
		const struct amx_home *h = &D.homes[hi];
		if (h->pol.deadline_ms && h->pol.deadline_ms <= now)
			return true;
		for (size_t i = 0; i < h->n_apps; i++)
			if (h->apps[i].pol.deadline_ms && h->apps[i].pol.deadline_ms <= now)
				return true;
	}
	for (int i = 0; i < MAX_COMMANDS; i++)
		if (D.cmds[i].used && D.cmds[i].child.pidfd < 0)
			return true;
	return false;
}

/* After every wake-up: act on expired deadlines, then ask for the next one. */
static void tick_policies(void *ctx, uint64_t now)
{
	(void)ctx;
	if (something_due(now))
		read_kernel_events(); /* not on every wake-up: most follow a read already */
	for (int hi = 0; hi < D.n_homes; hi++) {
		struct amx_home *h = &D.homes[hi];
		if (h->pol.deadline_ms && h->pol.deadline_ms <= now) {
			struct amx_input in = { .kind = AMX_IN_TICK, .now_ms = now };
			feed_home(hi, in);
		}
		for (size_t i = 0; i < h->n_apps; i++) {
			if (h->apps[i].pol.deadline_ms && h->apps[i].pol.deadline_ms <= now) {
				struct amx_input in = { .kind = AMX_IN_TICK, .now_ms = now };
				feed_app(hi, (int)i, in);
			}
		}
	}
	check_command_deadlines(now);
	for (int hi = 0; hi < D.n_homes; hi++) {
		struct amx_home *h = &D.homes[hi];
		amx_loop_wake_at(h->pol.deadline_ms);
		for (size_t i = 0; i < h->n_apps; i++)
			amx_loop_wake_at(h->apps[i].pol.deadline_ms);
	}
	for (int i = 0; i < MAX_COMMANDS; i++) {
		if (D.cmds[i].used && !D.cmds[i].child.timed_out)
			/* at least each second: its output is taken in (and capped) as it comes */
			amx_loop_wake_at(D.cmds[i].deadline_ms < now + 1000 ? D.cmds[i].deadline_ms
									     : now + 1000);
		if (D.cmds[i].used && D.cmds[i].child.pidfd < 0)
			amx_loop_wake_at(now + NO_PIDFD_POLL_MS);
	}
}

static void on_bpf_ready(void *ctx, int fd, uint32_t events)
{
	(void)ctx;
	(void)fd;
	(void)events;
	if (D.bpf)
		amx_bpf_consume(D.bpf);
	else
		amx_procconn_consume(D.pc);
	check_bpf_lost();
}

static void on_watcher_ready(void *ctx, int fd, uint32_t events)
{
	(void)ctx;
	(void)fd;
	(void)events;
	/* A few at a time: the watcher signals again while more wait. The kernel's events
	 * are read before each one, so a flood of file events (each read, parsed and
	 * emitted, up to a millisecond on a busy host) delays an exit by one of them at
	 * most; reading an empty ring or socket costs a syscall or two. */
	static struct amx_fs_event fsev[8];
	int k = amx_watcher_take(D.watcher, fsev, 8);
	for (int j = 0; j < k; j++) {
		read_kernel_events();
		on_fs_event(&fsev[j]);
	}
}

static void reload_config(void);

static void on_signal(void *ctx, int fd, uint32_t events)
{
	(void)ctx;
	(void)events;
	struct signalfd_siginfo si;
	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM) {
			D.stopping = true;
		} else if (si.ssi_signo == SIGHUP) {
			reload_config();
		}
	}
}

/* ---------------------------------------------------------------- set-up and loop */

static void check_bpf_lost(void)
{
	if (!D.bpf && !D.pc)
		return;
	uint64_t lost = D.bpf ? amx_bpf_lost(D.bpf) : amx_procconn_lost(D.pc);
	if (lost == D.bpf_lost_seen)
		return;
	json_t *ev = amx_event_new(&D.stream, "events-lost", "error", "alert", "host", "error", 0,
				   "the %s overflowed (%llu events lost); re-scanning",
				   D.bpf ? "kernel ring buffer" : "process connector socket",
				   (unsigned long long)(lost - D.bpf_lost_seen));
	amx_event_set_str(ev, "amexbpf.lost.source", D.bpf ? "bpf" : AMX_PROCCONN_SOURCE);
	amx_event_set_int(ev, "amexbpf.lost.count", (int64_t)(lost - D.bpf_lost_seen));
	sink_write(ev);
	D.bpf_lost_seen = lost;
	for (int hi = 0; hi < D.n_homes; hi++)
		rescan_home(hi);
}

static int home_index(const char *path)
{
	for (int hi = 0; hi < D.n_homes; hi++)
		if (!strcmp(D.homes[hi].path, path))
			return hi;
	return -1;
}

static int setup_homes(char *err, size_t errlen)
{
	char *found[AMX_MAX_HOMES];
	int n = 0;
	if (D.o->n_homes == 0) {
		n = amx_discover_homes(found, AMX_MAX_HOMES);
		for (int i = 0; i < n; i++)
			D.o->homes[D.o->n_homes++] = found[i];
	}
	if (D.o->n_homes == 0) {
		snprintf(err, errlen, "no PM2 home found (no ~/.pm2 with dump.pm2 or pm2.pid; use --pm2-home)");
		return AMX_EXIT_NO_INPUT;
	}
	for (int i = 0; i < D.o->n_homes; i++) {
		char herr[512];
		struct amx_home *h = &D.homes[D.n_homes];
		if (home_index(D.o->homes[i]) >= 0)
			continue; /* a reload re-scans: homes already watched stay as they are */
		if (!amx_home_init(h, D.o->homes[i], D.o->state_dir, herr, sizeof(herr))) {
			if (D.o->homes_given) {
				snprintf(err, errlen, "%s", herr);
				return AMX_EXIT_NO_INPUT;
			}
			fprintf(stderr, "amexbpf: skipping %s\n", herr);
			continue;
		}
		struct amx_dump_read r;
		amx_home_read_dump(h, &r);
		if (r.problem == AMX_DUMP_OK) {
			amx_home_adopt_dump(h, &r, D.o->only, D.o->n_only);
		} else {
			const char *problem = amx_dump_read_problem(&r);
			bool missing = r.problem == -1000 - ENOENT;
			h->dump_valid = false;
			snprintf(h->dump_problem, sizeof(h->dump_problem), "%s", problem);
			if (!amx_home_load_good_copy(h, D.o->only, D.o->n_only) && !missing) {
				amx_dump_read_free(&r);
				snprintf(err, errlen, "dump.pm2 of %s is %s and no good copy is kept in %s",
					 h->path, problem, D.o->state_dir);
				return AMX_EXIT_BAD_DUMP;
			}
			if (missing && !h->have_good)
				fprintf(stderr, "amexbpf: %s has no dump.pm2: no saved apps to watch yet\n", h->path);
		}
		amx_dump_read_free(&r);
		int kept = amx_budget_load(h, now_ms());
		if (kept > 0)
			fprintf(stderr, "amexbpf: %s: %d recovery attempt(s) of the previous run still "
					"count against the restart budgets\n", h->path, kept);
		D.n_homes++;
	}
	if (D.n_homes == 0) {
		snprintf(err, errlen, "no usable PM2 home");
		return AMX_EXIT_NO_INPUT;
	}
	return 0;
}

static void emit_started(void)
{
	json_t *ev = amx_event_new(&D.stream, "monitor-started", "info", "event", "host", "start", 0,
				   "amexbpf %s watching %d PM2 home(s)", AMX_VERSION, D.n_homes);
	amx_event_set_str(ev, "amexbpf.source", D.bpf ? "bpf" : AMX_PROCCONN_SOURCE);
	if (!D.bpf)
		amx_event_set_str(ev, "amexbpf.source_lost", AMX_PROCCONN_LOST);
	amx_event_set_str(ev, "amexbpf.attach", D.bpf ? amx_bpf_attach_kind(D.bpf) : "none");
	json_t *homes = json_array(), *apps = json_array();
	for (int hi = 0; hi < D.n_homes; hi++) {
		json_array_append_new(homes, json_string(D.homes[hi].path));
		for (size_t i = 0; i < D.homes[hi].n_apps; i++) {
			json_t *s = json_string(D.homes[hi].apps[i].name);
			if (s)
				json_array_append_new(apps, s);
		}
	}
	amx_event_set(ev, "amexbpf.pm2.homes", homes);
	if (D.pm2_version[0])
		amx_event_set_str(ev, "amexbpf.pm2.version", D.pm2_version);
	amx_event_set(ev, "amexbpf.apps", apps);
	amx_event_set_int(ev, "process.pid", getpid());
	sink_write(ev);
}

static void initial_home_state(int hi)
{
	struct amx_home *h = &D.homes[hi];
	refresh_god(hi);
	if (!h->god_pid) {
		/* Down at start-up (a reboot, or a crash while we were away): recover. */
		for (size_t i = 0; i < h->n_apps; i++) {
			struct amx_input in = { .kind = AMX_IN_HOME_DOWN };
			feed_app(hi, (int)i, in);
		}
		json_t *ev = amx_event_new(&D.stream, "pm2-daemon-down", "critical", "alert",
					   "process,host", "end", 0,
					   "the PM2 daemon of %s is not running", h->path);
		/* the stale pid pm2.pid still names, or 0 */
		amx_event_set_int(ev, "amexbpf.pm2.daemon_pid", amx_home_read_god_pid(h));
		amx_event_set_bool(ev, "amexbpf.intentional", false);
		set_app_fields(ev, h, NULL);
		sink_write(ev);
		struct amx_input in = { .kind = AMX_IN_DAEMON_DOWN, .intentional = false };
		feed_home(hi, in);
		return;
	}
	for (size_t i = 0; i < h->n_apps; i++) {
		struct amx_app *a = &h->apps[i];
		if (!a->desired_online) {
			struct amx_input in = { .kind = AMX_IN_DESIRED, .desired_online = false };
			feed_app(hi, (int)i, in);
		} else if (!a->pid) {
			struct amx_input in = { .kind = AMX_IN_ABSENT };
			feed_app(hi, (int)i, in);
		}
	}
}

struct adopted_command {
	int home;
	pid_t pid;
	int pidfd;
};

/* A command of the previous run ended: once the last one of its home is done, look at the
 * home afresh and decide. */
static void on_adopted_exit(void *ctx, int fd, uint32_t events)
{
	(void)events;
	struct adopted_command *ac = ctx;
	struct amx_home *h = &D.homes[ac->home];
	amx_loop_del_fd(fd);
	close(fd);
	forget_running(h, ac->pid);
	int hi = ac->home;
	free(ac);
	if (--h->adopted == 0) {
		fprintf(stderr, "amexbpf: %s: the previous run's commands are done; looking again\n",
			h->path);
		initial_home_state(hi);
	}
}

/* The commands a killed previous run left going for this home: wait for each (through a
 * pidfd; it is not our child) and forget the ones that are gone. Returns how many wait. */
static int adopt_running_commands(int hi)
{
	struct amx_home *h = &D.homes[hi];
	char dir[4200];
	snprintf(dir, sizeof(dir), "%s", h->run_prefix);
	char *slash = strrchr(dir, '/');
	if (!slash)
		return 0;
	const char *prefix = slash + 1;
	*slash = '\0';
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
			continue;
		char path[4400], *buf = NULL;
		size_t len = 0;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		int pid = 0, tier = 0;
		unsigned long long ticks = 0;
		struct amx_proc_stat st;
		bool live = amx_statefile_read(path, 128, &buf, &len) == 0 &&
			    sscanf(buf, "%d %llu %d", &pid, &ticks, &tier) == 3 &&
			    amx_proc_read_stat(pid, &st) && st.start_ticks == ticks && st.state != 'Z';
		free(buf);
		int pidfd = live ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
		struct adopted_command *ac = pidfd >= 0 ? calloc(1, sizeof(*ac)) : NULL;
		if (!ac) {
			if (pidfd >= 0)
				close(pidfd);
			unlink(path);
			continue;
		}
		*ac = (struct adopted_command){ .home = hi, .pid = pid, .pidfd = pidfd };
		amx_loop_add_fd(pidfd, EPOLLIN, on_adopted_exit, ac);
		h->adopted++;
		fprintf(stderr, "amexbpf: %s: tier %d (pid %d) of the previous run still goes; "
				"waiting for it before acting\n", h->path, tier, pid);
	}
	closedir(d);
	return h->adopted;
}

static void initial_state(int from_home)
{
	for (int hi = from_home; hi < D.n_homes; hi++)
		if (!adopt_running_commands(hi))
			initial_home_state(hi);
}

/* ---------------------------------------------------------------- health checks */

static void memory_over(void *ctx, int hi, int ai, uint64_t rss, int64_t limit)
{
	(void)ctx;
	struct amx_home *h = &D.homes[hi];
	struct amx_app *a = &h->apps[ai];
	json_t *e = amx_event_new(&D.stream, "memory-over-limit", "error", "alert", "process",
				  "info", 0, "%s uses %llu MiB, over its limit of %lld MiB", a->name,
				  (unsigned long long)(rss >> 20), (long long)(limit >> 20));
	amx_event_set_int(e, "process.pid", a->pid);
	amx_event_set_int(e, "amexbpf.memory.rss_bytes", (int64_t)rss);
	amx_event_set_int(e, "amexbpf.memory.limit_bytes", limit);
	set_app_fields(e, h, a);
	sink_write(e);
	feed_app(hi, ai, (struct amx_input){ .kind = AMX_IN_UNHEALTHY });
}

static bool find_app_named(const char *name, int *hi, int *ai)
{
	for (int i = 0; i < D.n_homes; i++) {
		struct amx_app *a = amx_home_app_by_name(&D.homes[i], name);
		if (a) {
			*hi = i;
			*ai = app_index(&D.homes[i], a);
			return true;
		}
	}
	return false;
}

static bool probe_app_alive(void *ctx, const char *name)
{
	(void)ctx;
	int hi, ai;
	if (!find_app_named(name, &hi, &ai))
		return false;
	const struct amx_app *a = &D.homes[hi].apps[ai];
	return a->pid > 0 && a->pol.state == AMX_APP_ALIVE;
}

static void probe_failed(void *ctx, const char *name, const char *url, const char *reason,
			 unsigned failures)
{
	(void)ctx;
	int hi, ai;
	if (!find_app_named(name, &hi, &ai))
		return;
	struct amx_home *h = &D.homes[hi];
	struct amx_app *a = &h->apps[ai];
	json_t *e = amx_event_new(&D.stream, "probe-failed", "error", "alert", "process", "error", 0,
				  "%s failed its probe %u times in a row: %s", a->name, failures, reason);
	amx_event_set_int(e, "process.pid", a->pid);
	amx_event_set_str(e, "amexbpf.probe.url", url);
	amx_event_set_str(e, "amexbpf.probe.reason", reason);
	amx_event_set_int(e, "amexbpf.probe.failures", failures);
	set_app_fields(e, h, a);
	sink_write(e);
	feed_app(hi, ai, (struct amx_input){ .kind = AMX_IN_UNHEALTHY });
}

/* Memory limit, disk space, probes and log retention: each a module on the loop. */
static int start_health_checks(char *err, size_t errlen)
{
	struct amx_options *o = D.o;
	const char *disks[AMX_MAX_HOMES + 2];
	int n_disks = 0;

	amx_memwatch_start(D.homes, &D.n_homes, o->memory_limits, o->n_memory_limits, memory_over, NULL);
	if (o->n_disks) {
		for (int i = 0; i < o->n_disks; i++)
			disks[n_disks++] = o->disks[i];
	} else {
		disks[n_disks++] = "/";
		for (int i = 0; i < D.n_homes && n_disks < AMX_MAX_HOMES; i++)
			disks[n_disks++] = D.homes[i].path;
		if (o->events_path && strcmp(o->events_path, "-") != 0)
			disks[n_disks++] = o->events_path;
	}
	amx_disk_start(disks, n_disks, o->disk_threshold_pct, &D.stream, sink_write);
	struct amx_probe_hooks hooks = { .app_alive = probe_app_alive, .failed = probe_failed };
	if (amx_probe_start(o->probes, o->n_probes, o->probe_interval_s, o->probe_timeout_s,
			    o->probe_failures, &hooks, err, errlen) < 0)
		return AMX_EXIT_USAGE;
	amx_retain_start(o->retains, o->n_retains, &D.stream, sink_write);
	amx_loop_wake_at(now_ms()); /* their first run: the tickers ask for the next ones */
	return 0;
}

/* ---------------------------------------------------------------- SIGHUP */

/* logrotate moved the file (same path): open it anew. A reload that names another file:
 * close the old one, open the new. */
static void reopen_events_sink(const char *old_path)
{
	const char *path = D.o->events_path;
	if (old_path && path && !strcmp(old_path, path)) {
		amx_eventfile_reopen(&D.events);
		return;
	}
	amx_eventfile_close(&D.events);
	if (amx_eventfile_open(&D.events, path) < 0)
		fprintf(stderr, "amexbpf: failed to open events file %s: %s\n", path ? path : "-",
			strerror(errno));
}

static void apply_policy_options(const struct amx_options *o)
{
	amx_config_policy(o, &D.cfg);
}

/* Watch the homes a reload added; whatever happened in them before is caught by the
 * re-scan that follows. */
static bool watch_new_homes(char *err, size_t errlen)
{
	const char *paths[AMX_MAX_HOMES];
	for (int i = 0; i < D.n_homes; i++)
		paths[i] = D.homes[i].path;
	return amx_watcher_add_homes(D.watcher, paths, D.n_homes, err, errlen);
}

/* SIGHUP: the config file again, new PM2 homes, a new events file. BPF stays attached, and
 * a config that does not validate changes nothing. */
static void reload_config(void)
{
	reopen_events_sink(D.o->events_path);
	static struct amx_options fresh;
	char err[4096] = "";
	int rc = D.o->rebuild ? D.o->rebuild(&fresh, err, sizeof(err)) : AMX_EXIT_SOFTWARE;
	size_t n = strlen(err);
	while (n && err[n - 1] == '\n')
		err[--n] = '\0';
	if (rc) {
		json_t *ev = amx_event_new(&D.stream, "config-invalid", "error", "alert",
					   "configuration", "error", 0,
					   "the config file did not validate; the running settings stay");
		amx_event_set_str(ev, "event.reason", err[0] ? err : "invalid");
		sink_write(ev);
		return;
	}
	const char *old_events = D.o->events_path;
	*D.o = fresh;
	apply_policy_options(D.o);
	if (!old_events || !D.o->events_path || strcmp(old_events, D.o->events_path) != 0)
		reopen_events_sink(old_events);
	int before = D.n_homes;
	char herr[1024] = "";
	rc = setup_homes(herr, sizeof(herr));
	if (D.n_homes > before && !watch_new_homes(herr, sizeof(herr)))
		rc = AMX_EXIT_OS;
	char reason[1200];
	snprintf(reason, sizeof(reason), "%s: %d new PM2 home(s)%s%s",
		 D.o->config_path ? D.o->config_path : "no config file", D.n_homes - before,
		 rc && herr[0] ? "; " : "", rc ? herr : "");
	json_t *ev = amx_event_new(&D.stream, "config-reloaded", rc ? "warn" : "info", "event",
				   "configuration", "change", 0,
				   "re-read the configuration; watching %d PM2 home(s)", D.n_homes);
	amx_event_set_str(ev, "event.reason", reason);
	sink_write(ev);
	for (int hi = 0; hi < before; hi++) {
		rescan_home(hi);
		on_dump_event(hi);
	}
	initial_state(before);
}

/* Before monitor-started: can pm2 run as each home's owner, can each owner read its home?
 * Each failure is one line; pm2 failing, or a home given by name failing, is fatal. */
static int run_selftest(void)
{
	char err[700];
	int rc = 0;
	for (int hi = 0; hi < D.n_homes; hi++) {
		struct amx_home *h = &D.homes[hi];
		if (!amx_selftest_home(h, err, sizeof(err))) {
			fprintf(stderr, "amexbpf: self-test: %s\n", err);
			if (D.o->homes_given)
				rc = AMX_EXIT_NO_INPUT;
		}
		bool owner_done = false;
		for (int j = 0; j < hi; j++)
			owner_done |= D.homes[j].owner.uid == h->owner.uid;
		if (!owner_done && !amx_selftest_pm2(D.o->pm2, h, D.pm2_version,
						     sizeof(D.pm2_version), err, sizeof(err))) {
			fprintf(stderr, "amexbpf: self-test: %s\n", err);
			rc = AMX_EXIT_NO_INPUT;
		}
	}
	return rc;
}

/* BPF, or the process connector: by choice (--no-bpf, bpf = off), or because BPF cannot
 * load here (no BTF, no CAP_BPF) unless bpf = required. Both feed on_kernel_event. */
static int open_event_source(char *err, size_t errlen)
{
	const char *why = "--no-bpf";
	if (D.o->bpf_mode != AMX_BPF_OFF) {
		if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
			snprintf(err, errlen, "this kernel has no BTF (/sys/kernel/btf/vmlinux)");
		} else {
			D.bpf = amx_bpf_open(D.o->verbose, on_kernel_event, NULL, err, errlen);
			if (D.bpf)
				return 0;
		}
		if (D.o->bpf_mode == AMX_BPF_REQUIRED) {
			fprintf(stderr, "amexbpf: %s\n", err);
			return AMX_EXIT_NO_BPF;
		}
		why = err;
	}
	char pcerr[512];
	D.pc = amx_procconn_open(on_kernel_event, NULL, pcerr, sizeof(pcerr));
	if (!D.pc) {
		fprintf(stderr, "amexbpf: no BPF (%s), and %s\n", why, pcerr);
		return AMX_EXIT_NO_BPF;
	}
	fprintf(stderr, "amexbpf: BPF off (%s): using the netlink process connector; lost: %s\n",
		why, AMX_PROCCONN_LOST);
	return 0;
}

int amx_daemon_run(struct amx_options *o)
{
	char err[1024];
	memset(&D, 0, sizeof(D));
	D.o = o;
	D.events.fd = -1;
	D.started_ms = now_ms();
	srandom((unsigned)(amx_boot_ns() ^ (uint64_t)getpid()));
	amx_policy_config_defaults(&D.cfg);
	apply_policy_options(o);

	if (geteuid() != 0) {
		fprintf(stderr, "amexbpf: must run as root (BPF and acting as each PM2 home's owner)\n");
		return AMX_EXIT_NOT_ROOT;
	}
	if (o->bpf_mode == AMX_BPF_REQUIRED && access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		fprintf(stderr, "amexbpf: this kernel has no BTF (/sys/kernel/btf/vmlinux): BPF CO-RE cannot load\n");
		return AMX_EXIT_NO_BPF;
	}
	int rc = amx_mkdir_p(o->state_dir, 0700);
	if (rc < 0) {
		fprintf(stderr, "amexbpf: failed to create state directory %s: %s\n", o->state_dir, strerror(-rc));
		return AMX_EXIT_OS;
	}
	rc = setup_homes(err, sizeof(err));
	if (rc) {
		fprintf(stderr, "amexbpf: %s\n", err);
		return rc;
	}
	if (amx_eventfile_open(&D.events, o->events_path) < 0) {
		fprintf(stderr, "amexbpf: failed to open events file %s: %s\n", o->events_path, strerror(errno));
		return AMX_EXIT_OS;
	}
	amx_event_stream_init(&D.stream);

	/* Signals through signalfd, so they are just another event in the loop. */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGPIPE);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	D.sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (D.sigfd < 0 || amx_loop_init() < 0) {
		fprintf(stderr, "amexbpf: failed to set up the event loop: %s\n", strerror(errno));
		return AMX_EXIT_OS;
	}
	amx_sd_notify_start(); /* before any thread starts: it may block SIGUSR1 (test only) */
	/* The reporting modules: each subscribes to the event stream by itself. */
	amx_status_start(report_view);
	if ((rc = amx_control_start(o->socket_path, o->socket_group, o->verbose,
				     amx_status_document, err, sizeof(err))) ||
	    (o->textfile_dir && (rc = amx_metrics_start(o->textfile_dir, err, sizeof(err)))) ||
	    (rc = amx_notify_start(o, err, sizeof(err)))) {
		fprintf(stderr, "amexbpf: %s\n", err);
		amx_control_stop();
		return rc;
	}
	amx_journal_start(o->no_journal);

	/* Watches first, then the scan: whatever happens in between is seen twice, never
	 * missed. */
	rc = run_selftest();
	if (rc)
		return rc;
	rc = open_event_source(err, sizeof(err));
	if (rc)
		return rc;
	const char *paths[AMX_MAX_HOMES];
	for (int i = 0; i < D.n_homes; i++)
		paths[i] = D.homes[i].path;
	D.watcher = amx_watcher_start(paths, D.n_homes, err, sizeof(err));
	if (!D.watcher) {
		fprintf(stderr, "amexbpf: %s\n", err);
		amx_bpf_close(D.bpf);
		amx_procconn_close(D.pc);
		return AMX_EXIT_OS;
	}
	amx_loop_add_fd(D.bpf ? amx_bpf_epoll_fd(D.bpf) : amx_procconn_epoll_fd(D.pc), EPOLLIN,
			on_bpf_ready, NULL);
	amx_loop_add_fd(amx_watcher_fd(D.watcher), EPOLLIN, on_watcher_ready, NULL);
	amx_loop_add_fd(D.sigfd, EPOLLIN, on_signal, NULL);
	amx_loop_add_ticker(tick_policies, NULL);
	amx_loop_add_ticker(tick_held_ooms, NULL);

	emit_started();
	initial_state(0);
	tick_policies(NULL, now_ms());
	rc = start_health_checks(err, sizeof(err));
	if (rc) {
		fprintf(stderr, "amexbpf: %s\n", err);
		amx_watcher_stop(D.watcher);
		amx_bpf_close(D.bpf);
		return rc;
	}

	while (!D.stopping) {
		if (!amx_loop_run_once()) {
			fprintf(stderr, "amexbpf: epoll_wait failed: %s\n", strerror(errno));
			break;
		}
	}

	struct amx_oom_pending *held;
	struct amx_oom_outcome unknown = { .result = AMX_OOM_RESULT_UNKNOWN };
	while ((held = amx_oomwait_any(&D.oomwait)))
		send_held_oom(held, &unknown);
	json_t *ev = amx_event_new(&D.stream, "monitor-stopping", "info", "event", "host", "end", 0,
				   "amexbpf is stopping");
	sink_write(ev);
	amx_metrics_flush();
	amx_notify_stop();
	amx_control_stop();
	for (int i = 0; i < MAX_COMMANDS; i++) {
		if (D.cmds[i].used) {
			amx_child_kill_group(&D.cmds[i].child);
			struct amx_child *c = &D.cmds[i].child;
			/* blocking reap of a SIGKILLed group leader is immediate */
			while (!amx_child_reap(c)) {
				struct timespec ts = { 0, 10 * 1000 * 1000 };
				nanosleep(&ts, NULL);
			}
			amx_child_release(c);
		}
	}
	amx_watcher_stop(D.watcher);
	amx_bpf_close(D.bpf);
	amx_procconn_close(D.pc);
	for (int hi = 0; hi < D.n_homes; hi++)
		amx_home_free(&D.homes[hi]);
	amx_eventfile_close(&D.events);
	amx_loop_close();
	return AMX_EXIT_OK;
}
