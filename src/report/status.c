/* SPDX-License-Identifier: MIT */
/* The status document (format in control.h): the daemon's view of every home and app,
 * plus figures gathered from the event stream itself (rate, detection latency, losses,
 * when each app last exited). */
#include "report/status.h"

#include "core/tier_command.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "report/control_server.h"
#include "core/event.h"
#include "core/tier_command.h"
#include "sys/loop.h"
#include "sys/proc.h"

#define RATE_WINDOW_S 60
#define LATENCY_SAMPLES 1024
#define MAX_EXITS 1024

static struct {
	uint64_t per_sec[RATE_WINDOW_S];    /* events counted in each second of the window */
	uint64_t sec_of[RATE_WINDOW_S];     /* which second (boot clock) each bucket holds */
	struct { uint64_t at_ms; int64_t us; } lat[LATENCY_SAMPLES];
	size_t lat_next, lat_count;
	uint64_t lost_bpf, lost_inotify, lost_file;
	struct { char key[600]; char at[40]; } exits[MAX_EXITS];
	size_t n_exits;
} St;

/* A JSON string, or "?" when s is not valid UTF-8 (json_string gives NULL). Built once:
 * calling json_string twice leaked the first copy on every status request. */
static json_t *string_or_mark(const char *s)
{
	json_t *v = json_string(s);
	return v ? v : json_string("?");
}

static void exit_key(char *buf, size_t len, const char *home, const char *app)
{
	snprintf(buf, len, "%.300s\n%.290s", home ? home : "", app ? app : "");
}

static void remember_exit(const char *home, const char *app, const char *at)
{
	char key[600];
	exit_key(key, sizeof(key), home, app);
	size_t i;
	for (i = 0; i < St.n_exits; i++)
		if (!strcmp(St.exits[i].key, key))
			break;
	if (i == St.n_exits) {
		if (St.n_exits == MAX_EXITS)
			return;
		St.n_exits++;
		snprintf(St.exits[i].key, sizeof(St.exits[i].key), "%s", key);
	}
	snprintf(St.exits[i].at, sizeof(St.exits[i].at), "%s", at);
}

static const char *last_exit_at(const char *home, const char *app)
{
	char key[600];
	exit_key(key, sizeof(key), home, app);
	for (size_t i = 0; i < St.n_exits; i++)
		if (!strcmp(St.exits[i].key, key))
			return St.exits[i].at;
	return NULL;
}

static void on_event(void *ctx, json_t *ev, const char *line)
{
	(void)ctx;
	(void)line;
	uint64_t now = amx_boot_ms();
	uint64_t sec = now / 1000;
	size_t b = sec % RATE_WINDOW_S;
	if (St.sec_of[b] != sec) {
		St.sec_of[b] = sec;
		St.per_sec[b] = 0;
	}
	St.per_sec[b]++;
	json_t *lat = amx_event_get(ev, "amexbpf.detect_latency_us");
	if (json_is_integer(lat)) {
		St.lat[St.lat_next].at_ms = now;
		St.lat[St.lat_next].us = json_integer_value(lat);
		St.lat_next = (St.lat_next + 1) % LATENCY_SAMPLES;
		if (St.lat_count < LATENCY_SAMPLES)
			St.lat_count++;
	}
	const char *action = json_string_value(amx_event_get(ev, "event.action"));
	if (!action)
		return;
	if (!strcmp(action, "events-lost")) {
		const char *src = json_string_value(amx_event_get(ev, "amexbpf.lost.source"));
		uint64_t n = (uint64_t)json_integer_value(amx_event_get(ev, "amexbpf.lost.count"));
		if (src && !strcmp(src, "bpf"))
			St.lost_bpf += n;
		else if (src && !strcmp(src, "inotify"))
			St.lost_inotify += n;
		else if (src && !strcmp(src, "file"))
			St.lost_file += n;
	} else if (!strcmp(action, "process-exited")) {
		const char *at = json_string_value(json_object_get(ev, "@timestamp"));
		const char *home = json_string_value(amx_event_get(ev, "amexbpf.pm2.home"));
		const char *app = json_string_value(amx_event_get(ev, "amexbpf.pm2.app"));
		if (at && app)
			remember_exit(home, app, at);
	}
}

static amx_report_view_fn View;
static void *ViewCtx;

void amx_status_view(struct amx_report_view *v)
{
	memset(v, 0, sizeof(*v));
	if (View)
		View(ViewCtx, v);
}

void amx_status_start(amx_report_view_fn view, void *ctx)
{
	View = view;
	ViewCtx = ctx;
	memset(&St, 0, sizeof(St));
	amx_loop_subscribe(on_event, NULL);
}

/* How long the reacting loop's steps take: a step is time no other event is handled in. */
static json_t *loop_json(void)
{
	struct amx_loop_steps st;
	amx_loop_step_stats(&st);
	json_t *steps = json_object();
	json_object_set_new(steps, "p50", json_integer((json_int_t)st.p50_us));
	json_object_set_new(steps, "p99", json_integer((json_int_t)st.p99_us));
	json_object_set_new(steps, "max", json_integer((json_int_t)st.max_us));
	json_object_set_new(steps, "samples", json_integer(st.samples));
	json_t *loop = json_object();
	json_object_set_new(loop, "step_us", steps);
	json_object_set_new(loop, "steps", json_integer((json_int_t)st.steps));
	return loop;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static json_t *latency_json(uint64_t now)
{
	static int64_t v[LATENCY_SAMPLES];
	size_t n = 0;
	for (size_t i = 0; i < St.lat_count; i++)
		if (St.lat[i].at_ms + RATE_WINDOW_S * 1000 >= now)
			v[n++] = St.lat[i].us;
	json_t *o = json_object();
	if (n) {
		qsort(v, n, sizeof(v[0]), cmp_i64);
		json_object_set_new(o, "p50", json_integer(v[(n - 1) / 2]));
		json_object_set_new(o, "p99", json_integer(v[(n * 99 + 99) / 100 - 1]));
	} else {
		json_object_set_new(o, "p50", json_null());
		json_object_set_new(o, "p99", json_null());
	}
	json_object_set_new(o, "samples", json_integer((json_int_t)n));
	json_object_set_new(o, "window_s", json_integer(RATE_WINDOW_S));
	return o;
}

static double events_per_second(uint64_t now)
{
	uint64_t sec = now / 1000, total = 0;
	for (size_t i = 0; i < RATE_WINDOW_S; i++)
		if (St.sec_of[i] + RATE_WINDOW_S > sec)
			total += St.per_sec[i];
	return (double)total / RATE_WINDOW_S;
}

const char *amx_status_app_word(const struct amx_app *a)
{
	switch (a->pol.state) {
	case AMX_APP_ALIVE:
		return "online";
	case AMX_APP_MANUAL:
	case AMX_APP_DESIRED_STOPPED:
		return "stopped";
	case AMX_APP_PARKED:
		return "errored";
	case AMX_APP_RECOVERING:
	case AMX_APP_VERIFYING:
		return "launching";
	case AMX_APP_UNKNOWN:
		return a->pid ? "online" : "down";
	default:
		return "down";
	}
}

static json_t *ports_json(const uint16_t *ports, unsigned n)
{
	json_t *arr = json_array();
	for (unsigned i = 0; i < n; i++)
		json_array_append_new(arr, json_integer(ports[i]));
	return arr;
}

/* Every process of the app: one for a single instance, N for `instances: N`. */
static json_t *instances_json(const struct amx_app *a, uint64_t now)
{
	json_t *arr = json_array();
	for (unsigned k = 0; k < a->n_inst; k++) {
		const struct amx_instance *in = &a->inst[k];
		json_t *o = json_object();
		json_object_set_new(o, "pm_id", in->pm_id >= 0 ? json_integer(in->pm_id) : json_null());
		json_object_set_new(o, "instance", in->node_app_instance >= 0
					   ? json_integer(in->node_app_instance) : json_null());
		json_object_set_new(o, "pid", in->pid ? json_integer(in->pid) : json_null());
		json_object_set_new(o, "uptime_s", in->pid && now >= in->alive_since_ms
					   ? json_integer((json_int_t)((now - in->alive_since_ms) / 1000))
					   : json_null());
		json_object_set_new(o, "restarts_pm2", json_integer(in->pm2_restarts));
		uint64_t rss = in->pid ? amx_proc_rss_bytes(in->pid) : 0;
		json_object_set_new(o, "rss_bytes", rss ? json_integer((json_int_t)rss) : json_null());
		const char *sig = in->last_signal ? amx_signal_name(in->last_signal) : NULL;
		json_object_set_new(o, "last_exit_code", json_integer(in->last_exit_code));
		json_object_set_new(o, "last_exit_signal", sig ? json_string(sig) : json_null());
		json_object_set_new(o, "ports", ports_json(in->ports, in->pid ? in->n_ports : 0));
		json_array_append_new(arr, o);
	}
	return arr;
}

static json_t *app_json(const struct amx_report_view *v, const struct amx_home *h,
			const struct amx_app *a, uint64_t now)
{
	json_t *o = json_object();
	json_object_set_new(o, "name", string_or_mark(a->name));
	json_object_set_new(o, "pid", a->pid ? json_integer(a->pid) : json_null());
	json_object_set_new(o, "status", json_string(amx_status_app_word(a)));
	json_object_set_new(o, "state", json_string(amx_app_state_name(a->pol.state)));
	json_object_set_new(o, "desired_online", json_boolean(a->desired_online));
	json_object_set_new(o, "uptime_s", a->pid && now >= a->alive_since_ms
				   ? json_integer((json_int_t)((now - a->alive_since_ms) / 1000)) : json_null());
	json_object_set_new(o, "restarts_pm2", json_integer(a->pm2_restarts));
	json_t *rec = json_object();
	json_object_set_new(rec, "1", json_integer(a->recoveries[1]));
	json_object_set_new(rec, "2", json_integer(a->recoveries[2]));
	json_object_set_new(rec, "3", json_integer(a->recoveries[3]));
	json_object_set_new(o, "recoveries", rec);
	uint64_t rss = a->pid ? amx_proc_rss_bytes(a->pid) : 0;
	json_object_set_new(o, "rss_bytes", rss ? json_integer((json_int_t)rss) : json_null());
	json_object_set_new(o, "memory_limit_bytes", a->max_memory_bytes > 0
				   ? json_integer(a->max_memory_bytes) : json_null());
	const char *at = last_exit_at(h->path, a->name);
	if (at || a->last_exit_code || a->last_signal) {
		json_t *x = json_object();
		const char *sig = a->last_signal ? amx_signal_name(a->last_signal) : NULL;
		json_object_set_new(x, "code", json_integer(a->last_exit_code));
		json_object_set_new(x, "signal", sig ? json_string(sig) : json_null());
		json_object_set_new(x, "oom", json_boolean(a->last_oom));
		json_object_set_new(x, "cause", a->last_cause[0] ? json_string(a->last_cause) : json_null());
		json_object_set_new(x, "at", at ? json_string(at) : json_null());
		json_object_set_new(o, "last_exit", x);
	} else {
		json_object_set_new(o, "last_exit", json_null());
	}
	json_object_set_new(o, "parked", json_boolean(a->pol.state == AMX_APP_PARKED));
	if (a->pol.state == AMX_APP_PARKED && a->pol.conflict_parked) {
		/* Parked for a port another process holds, not for the budget: say which. */
		json_t *c = json_object();
		json_object_set_new(c, "port", json_integer(a->pol.conflict_port));
		json_object_set_new(c, "holder_pid", json_integer(a->pol.conflict_holder));
		/* Who the holder is now (top shows it): its name and uid from /proc, null once
		 * it is gone. The name is the holder's own text: escaped by JSON, drawn by top
		 * with control characters replaced. */
		struct amx_proc_stat st;
		bool alive = a->pol.conflict_holder > 0 &&
			     amx_proc_read_stat(a->pol.conflict_holder, &st) && st.state != 'Z';
		json_object_set_new(c, "holder_name", alive ? string_or_mark(st.comm) : json_null());
		json_object_set_new(c, "holder_uid", alive ? json_integer(st.uid) : json_null());
		json_object_set_new(o, "port_conflict", c);
	}
	json_object_set_new(o, "exec_mode", json_string(a->cluster ? "cluster" : "fork"));
	json_object_set_new(o, "instances_online", json_integer(amx_app_instances_alive(a)));
	json_object_set_new(o, "instances", instances_json(a, now));
	/* every port a live instance listens on; and those a recovery waits for */
	uint16_t ports[AMX_PORTS_MAX];
	uint8_t n = 0;
	for (unsigned k = 0; k < a->n_inst; k++)
		for (unsigned i = 0; a->inst[k].pid && i < a->inst[k].n_ports; i++)
			amx_ports_add(ports, &n, a->inst[k].ports[i]);
	json_object_set_new(o, "ports", ports_json(ports, n));
	json_object_set_new(o, "serving_ports", ports_json(a->want_ports, a->n_want_ports));
	json_object_set_new(o, "budget_left", json_integer(v->budget_left ? v->budget_left(v->ctx, h, a, now) : 0));
	return o;
}

static json_t *home_json(const struct amx_report_view *v, const struct amx_home *h, uint64_t now)
{
	json_t *o = json_object();
	json_object_set_new(o, "path", string_or_mark(h->path));
	json_object_set_new(o, "owner", string_or_mark(h->owner.name));
	json_t *d = json_object();
	json_object_set_new(d, "pid", h->god_pid ? json_integer(h->god_pid) : json_null());
	json_object_set_new(d, "up", json_boolean(h->god_pid != 0));
	json_object_set_new(d, "state", json_string(amx_home_state_name(h->pol.state)));
	json_object_set_new(d, "budget_left", json_integer(amx_budget_left(&h->pol.budget, v->cfg, now)));
	json_object_set_new(d, "version", h->god_version[0] ? json_string(h->god_version) : json_null());
	json_object_set_new(o, "daemon", d);
	/* the pm2 and node this home's commands run with, and where they were found */
	json_t *tools = json_object();
	json_object_set_new(tools, "path", h->tools.pm2[0] ? string_or_mark(h->tools.pm2) : json_null());
	json_object_set_new(tools, "node", h->tools.node[0] ? string_or_mark(h->tools.node) : json_null());
	json_object_set_new(tools, "version", h->tools.version[0] ? json_string(h->tools.version) : json_null());
	json_object_set_new(tools, "source", json_string(amx_tools_source_name(h->tools.source)));
	json_object_set_new(o, "pm2", tools);
	json_t *dump = json_object();
	json_object_set_new(dump, "valid", json_boolean(h->dump_valid));
	json_object_set_new(dump, "problem", h->dump_valid ? json_null() : json_string(h->dump_problem));
	/* lstat only: the metadata, never the user's content, with root's rights. */
	char p[4200];
	struct stat st;
	snprintf(p, sizeof(p), "%s/dump.pm2", h->path);
	time_t t = time(NULL);
	json_object_set_new(dump, "age_s", lstat(p, &st) == 0 && t >= st.st_mtime
				    ? json_integer((json_int_t)(t - st.st_mtime)) : json_null());
	json_object_set_new(dump, "apps", json_integer((json_int_t)h->good.n_apps));
	json_object_set_new(o, "dump", dump);
	json_t *apps = json_array();
	for (size_t i = 0; i < h->n_apps; i++)
		json_array_append_new(apps, app_json(v, h, &h->apps[i], now));
	json_object_set_new(o, "apps", apps);
	return o;
}

/* The daemon's own memory: RSS, and the heap split into what is in use and what malloc
 * holds free. RSS growth with flat in-use bytes is pages touched for the first time (or
 * fragmentation), not a leak. */
static json_t *memory_json(void)
{
	json_t *m = json_object();
	json_object_set_new(m, "rss_kb", json_integer((json_int_t)(amx_proc_rss_bytes(getpid()) / 1024)));
	/* A sanitizer's allocator replaces malloc's and reports nothing: null, not 0. */
	struct mallinfo2 mi = mallinfo2();
	size_t in_use = mi.uordblks + mi.hblkhd;
	bool known = mi.arena > 0;
	json_object_set_new(m, "heap_in_use_bytes", known ? json_integer((json_int_t)in_use) : json_null());
	json_object_set_new(m, "heap_free_bytes", known ? json_integer((json_int_t)mi.fordblks) : json_null());
	json_object_set_new(m, "heap_arena_bytes", known ? json_integer((json_int_t)mi.arena) : json_null());
	return m;
}

json_t *amx_status_document(void)
{
	struct amx_report_view v;
	amx_status_view(&v);
	uint64_t now = amx_boot_ms();
	json_t *doc = json_object();
	char host[256] = "unknown";
	gethostname(host, sizeof(host) - 1);
	json_object_set_new(doc, "version", json_string(AMX_VERSION));
	json_object_set_new(doc, "host", string_or_mark(host));
	json_object_set_new(doc, "pid", json_integer(getpid()));
	json_object_set_new(doc, "uptime_s", json_integer((json_int_t)((now - v.started_ms) / 1000)));
	json_object_set_new(doc, "source", json_string("bpf"));
	json_object_set_new(doc, "attach", json_string(v.attach ? v.attach : "none"));
	json_t *evs = json_object();
	json_object_set_new(evs, "sequence", json_integer((json_int_t)v.last_sequence));
	json_object_set_new(evs, "per_second", json_real(events_per_second(now)));
	json_t *lost = json_object();
	json_object_set_new(lost, "bpf", json_integer((json_int_t)St.lost_bpf));
	json_object_set_new(lost, "inotify", json_integer((json_int_t)St.lost_inotify));
	json_object_set_new(lost, "file", json_integer((json_int_t)St.lost_file));
	json_object_set_new(evs, "lost", lost);
	struct amx_control_stats cs;
	amx_control_stats(&cs);
	json_object_set_new(evs, "subscribers", json_integer(cs.subscribers));
	json_object_set_new(evs, "subscribers_dropped", json_integer((json_int_t)cs.dropped));
	json_t *hist = json_object();
	json_object_set_new(hist, "count", json_integer((json_int_t)cs.history_count));
	json_object_set_new(hist, "bytes", json_integer((json_int_t)cs.history_bytes));
	json_object_set_new(evs, "history", hist);
	json_object_set_new(doc, "events", evs);
	json_object_set_new(doc, "detect_latency_us", latency_json(now));
	json_object_set_new(doc, "memory", memory_json());
	json_object_set_new(doc, "loop", loop_json());
	json_t *bpf = json_object();
	json_t *progs = json_array();
	const struct amx_report_prog *ps = v.progs;
	for (int i = 0; i < v.n_progs; i++) {
		json_t *p = json_object();
		json_object_set_new(p, "name", json_string(ps[i].name));
		json_object_set_new(p, "run_cnt", json_integer((json_int_t)ps[i].run_cnt));
		json_object_set_new(p, "run_time_ns", json_integer((json_int_t)ps[i].run_time_ns));
		json_array_append_new(progs, p);
	}
	json_object_set_new(bpf, "programs", progs);
	json_object_set_new(bpf, "watched", json_integer(v.bpf_watched));
	json_object_set_new(bpf, "stats", json_boolean(v.bpf_stats));
	json_object_set_new(doc, "bpf", bpf);
	json_t *homes = json_array();
	for (int i = 0; i < v.n_homes; i++)
		json_array_append_new(homes, home_json(&v, &v.homes[i], now));
	json_object_set_new(doc, "homes", homes);
	return doc;
}
