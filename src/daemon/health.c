/* SPDX-License-Identifier: MIT */
/* Health checks wired to the engine: the memory limit and the HTTP probe make an app
 * unhealthy (an input of its policy); disk space and log retention only report. Each is a
 * module on the loop (memwatch.c, probe.c, disk.c, retain.c); this file starts them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/disk.h"
#include "daemon/engine.h"
#include "daemon/memwatch.h"
#include "daemon/probe.h"
#include "daemon/retain.h"
#include "sys/loop.h"

/* An app's RSS reached its limit: memory-over-limit, and the app is unhealthy. */
static void memory_over(void *ctx, int hi, int ai, int ii, uint64_t rss, int64_t limit)
{
	struct amx_engine *e = ctx;
	struct amx_home *h = &e->homes[hi];
	struct amx_app *a = &h->apps[ai];
	struct amx_instance *in = &a->inst[ii];
	json_t *ev = amx_event_new(&e->stream, AMX_EVT_MEMORY_OVER_LIMIT, 0,
				   "%s uses %llu MiB, over its limit of %lld MiB", a->name,
				   (unsigned long long)(rss >> 20), (long long)(limit >> 20));
	amx_event_set_int(ev, "process.pid", in->pid);
	amx_event_set_int(ev, "amexbpf.memory.rss_bytes", (int64_t)rss);
	amx_event_set_int(ev, "amexbpf.memory.limit_bytes", limit);
	eng_set_app_fields(ev, h, a);
	eng_set_instance_fields(ev, a, in);
	eng_emit(e, ev);
	a->restart_asked = true;
	/* The limit is per process, as PM2's max_memory_restart: restart that one only. */
	a->restart_only[0] = '\0';
	if (a->n_inst > 1 && in->pm_id >= 0)
		snprintf(a->restart_only, sizeof(a->restart_only), "%d", in->pm_id);
	eng_feed_app(e, hi, ai, (struct amx_input){ .kind = AMX_IN_UNHEALTHY });
	if (a->running < 0)
		a->restart_only[0] = '\0'; /* no tier 1 started: not for a later incident */
}

/* The app a probe is for: named, in its home when the probe names one ([app NAME] home=),
 * else in the first home that has one of that name. */
static bool find_app_named(struct amx_engine *e, const char *home, const char *name, int *hi,
			   int *ai)
{
	for (int i = 0; i < e->n_homes; i++) {
		if (home && strcmp(e->homes[i].path, home) != 0)
			continue;
		struct amx_app *a = amx_home_app_by_name(&e->homes[i], name);
		if (a) {
			*hi = i;
			*ai = eng_app_index(&e->homes[i], a);
			return true;
		}
	}
	return false;
}

/* Probes wait while the app is not live. */
static bool probe_app_alive(void *ctx, const char *home, const char *name)
{
	struct amx_engine *e = ctx;
	int hi, ai;
	if (!find_app_named(e, home, name, &hi, &ai))
		return false;
	const struct amx_app *a = &e->homes[hi].apps[ai];
	return a->pid > 0 && a->pol.state == AMX_APP_ALIVE;
}

/* The probe failed N times in a row: probe-failed, and the app is unhealthy. */
static void probe_failed(void *ctx, const char *home, const char *name, const char *url,
			 const char *reason, unsigned failures)
{
	struct amx_engine *e = ctx;
	int hi, ai;
	if (!find_app_named(e, home, name, &hi, &ai))
		return;
	struct amx_home *h = &e->homes[hi];
	struct amx_app *a = &h->apps[ai];
	json_t *ev = amx_event_new(&e->stream, AMX_EVT_PROBE_FAILED, 0,
				   "%s failed its probe %u times in a row: %s", a->name, failures,
				   reason);
	amx_event_set_int(ev, "process.pid", a->pid);
	amx_event_set_str(ev, "amexbpf.probe.url", url);
	amx_event_set_str(ev, "amexbpf.probe.reason", reason);
	amx_event_set_int(ev, "amexbpf.probe.failures", failures);
	eng_set_app_fields(ev, h, a);
	eng_emit(e, ev);
	a->restart_asked = true;
	eng_feed_app(e, hi, ai, (struct amx_input){ .kind = AMX_IN_UNHEALTHY });
}

/* The disk and retention modules' sink: the engine's. */
static void emit_to(void *ctx, json_t *ev)
{
	eng_emit(ctx, ev);
}

/* Memory limit, disk space, probes and log retention: each a module on the loop. */
int eng_start_health_checks(struct amx_engine *e, char *err, size_t errlen)
{
	struct amx_options *o = e->o;
	const char *disks[AMX_MAX_HOMES + 2];
	int n_disks = 0;

	amx_memwatch_start(o, e->homes, &e->n_homes, o->memory_limits, o->n_memory_limits,
			   memory_over, e);
	if (o->n_disks) {
		for (int i = 0; i < o->n_disks; i++)
			disks[n_disks++] = o->disks[i];
	} else {
		disks[n_disks++] = "/";
		for (int i = 0; i < e->n_homes && n_disks < AMX_MAX_HOMES; i++)
			disks[n_disks++] = e->homes[i].path;
		if (o->events_path && strcmp(o->events_path, "-") != 0)
			disks[n_disks++] = o->events_path;
	}
	amx_disk_start(disks, n_disks, o->disk_threshold_pct, &e->stream, emit_to, e);
	struct amx_probe_hooks hooks = { .app_alive = probe_app_alive, .failed = probe_failed,
					 .ctx = e };
	/* --probe (and [app] sections without home=, main.c made them flags) for the first
	 * home with the app; [app NAME] home= for that home's app only. */
	const char *specs[AMX_PROBE_MAX], *homes[AMX_PROBE_MAX];
	char *owned[AMX_PROBE_MAX];
	int n = 0, n_owned = 0;
	for (int i = 0; i < o->n_probes && n < AMX_PROBE_MAX; i++) {
		homes[n] = NULL;
		specs[n++] = o->probes[i];
	}
	for (int i = 0; i < o->n_apps && n < AMX_PROBE_MAX; i++) {
		const struct amx_app_conf *a = &o->apps[i];
		char *spec = NULL;
		if (!a->home || !a->probe_url || asprintf(&spec, "%s=%s", a->name, a->probe_url) < 0)
			continue;
		owned[n_owned++] = spec;
		homes[n] = a->home;
		specs[n++] = spec;
	}
	int rc = amx_probe_start(specs, homes, n, o->probe_interval_s, o->probe_timeout_s,
				 o->probe_failures, &hooks, err, errlen);
	for (int i = 0; i < n_owned; i++)
		free(owned[i]);
	if (rc < 0)
		return AMX_EXIT_USAGE;
	amx_retain_start(o->retains, o->n_retains, &e->stream, emit_to, e);
	amx_loop_wake_at(eng_now_ms(e)); /* their first run: the tickers ask for the next ones */
	return 0;
}
