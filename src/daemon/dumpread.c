/* SPDX-License-Identifier: MIT */
/* dump.pm2 read off the loop (issue 14: no user's file holds the loop for more than a few
 * ms). A home's dump is the one input whose size its owner chooses: up to 16 MB and 4,096
 * apps, 0.2-0.3 s to read and parse. A dump larger than AMX_DUMP_LOOP_MAX_BYTES is read on
 * the worker thread (sys/worker.h), with everything else proportional to its bytes (the
 * comparison with the good copy, the parse, the state file's copy, freeing the copy it
 * replaces), one read at a time for all homes, taken round the homes; a home's reads use at
 * most a tenth of the worker. A smaller one (PM2's own saves, mostly) is read at once, as
 * before: at most about 1.6 ms, and no hand-over between the rewrite and its dump-changed.
 * What stays on the loop is the adoption, bounded by the apps: matching them to the model
 * AMX_HOME_SYNC_STEP entries a step (daemon/home_sync.c), then their policies fed
 * AMX_DUMP_APPS_PER_STEP a step, the kernel's events read in between. Without the thread
 * (the unit tests' engine, or a start that could not make it) every read and adoption runs
 * at once, on the loop. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/dump.h"
#include "daemon/engine.h"
#include "sys/loop.h"
#include "sys/proc.h"


static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void job_run(struct amx_job *j)
{
	struct amx_dump_job *d = (struct amx_dump_job *)j;
	uint64_t t0 = mono_us();
	amx_dump_free(&d->trash);
	free(d->trash_raw);
	d->trash_raw = NULL;
	amx_dump_source_read(&d->src, &d->r);
	d->run_us = mono_us() - t0;
}

/* Feed up to *left apps of home hi to their policies; true when its feed is over. */
static bool feed_some(struct amx_engine *e, int hi, unsigned *left)
{
	struct amx_home *h = &e->homes[hi];
	if (h->dump_feed_phase == AMX_FEED_SYNC || h->dump_feed_phase == AMX_FEED_SYNC_ONLY) {
		/* A part of the matching is a step's work; the feed begins at the next. */
		if (amx_home_sync_step(h, e->o->only, e->o->n_only, AMX_HOME_SYNC_STEP)) {
			h->dump_feed_phase = h->dump_feed_phase == AMX_FEED_SYNC ? AMX_FEED_DESIRED
										 : AMX_FEED_NONE;
			h->dump_feed_next = 0;
			h->dump_feed_unknown = false;
		}
		*left = 0;
		return false;
	}
	if (h->dump_feed_phase == AMX_FEED_DESIRED) {
		/* A saved stop is the new desired state; a saved start likewise. n_apps is read
		 * again each time: a policy's action may re-read the dump. */
		for (; h->dump_feed_next < h->n_apps && *left; h->dump_feed_next++, (*left)--) {
			size_t i = h->dump_feed_next;
			struct amx_app *a = &h->apps[i];
			bool alive = a->pid && amx_proc_alive(a->pid);
			struct amx_input in = { .kind = AMX_IN_DESIRED,
						.desired_online = a->desired_online, .alive = alive };
			eng_feed_app(e, hi, (int)i, in);
			h->dump_feed_unknown |= h->apps[i].pol.state == AMX_APP_UNKNOWN;
		}
		if (h->dump_feed_next < h->n_apps)
			return false;
		if (!h->dump_feed_unknown || !h->god_pid) {
			h->dump_feed_phase = AMX_FEED_NONE;
			return true;
		}
		/* New names: one look at the daemon's children for all of them (a dump of
		 * thousands of names is one look, not one each), then the ones not found. */
		eng_scan_god_children(e, hi);
		h->dump_feed_phase = AMX_FEED_ABSENT;
		h->dump_feed_next = 0;
		*left = *left > AMX_DUMP_APPS_PER_STEP / 2 ? *left - AMX_DUMP_APPS_PER_STEP / 2 : 0;
	}
	if (h->dump_feed_phase == AMX_FEED_ABSENT) {
		for (; h->dump_feed_next < h->n_apps && *left; h->dump_feed_next++, (*left)--) {
			size_t i = h->dump_feed_next;
			if (h->apps[i].pol.state == AMX_APP_UNKNOWN &&
			    amx_app_instances_alive(&h->apps[i]) < h->apps[i].n_inst) {
				struct amx_input ab = { .kind = AMX_IN_ABSENT };
				eng_feed_app(e, hi, (int)i, ab);
			}
		}
		if (h->dump_feed_next < h->n_apps)
			return false;
	}
	h->dump_feed_phase = AMX_FEED_NONE;
	return true;
}

/* A read of home hi is done: adopt it (or say it is invalid), then start feeding. */
static void read_done(struct amx_engine *e, int hi, struct amx_dump_read *r)
{
	struct amx_home *h = &e->homes[hi];
	/* PM2 truncates, then writes, then closes: we act on CLOSE_WRITE, so an empty file
	 * here is what the writer left (a save in progress would have a later CLOSE_WRITE
	 * that brings dump-changed). */
	if (r->problem != AMX_DUMP_OK) {
		eng_dump_invalid(e, hi, amx_dump_read_problem(r));
		return;
	}
	bool same = r->unchanged;
	size_t n = same ? h->good.n_apps : r->dump.n_apps;
	amx_home_adopt_dump_parts(h, r);
	eng_dump_keep_replaced(e, r);
	if (!same && eng_file_event_allowed(e, hi)) {
		char p[4200];
		snprintf(p, sizeof(p), "%s/dump.pm2", h->path);
		json_t *ev = amx_event_new(&e->stream, AMX_EVT_DUMP_CHANGED, 0,
					   "dump.pm2 of %s saved with %zu apps", h->path, n);
		amx_event_set_str(ev, "amexbpf.dump.path", p);
		amx_event_set_int(ev, "amexbpf.dump.apps", (int64_t)n);
		eng_set_app_fields(ev, h, NULL);
		eng_emit(e, ev);
	}
	/* The matching and the feed at the next steps: this one parsed nothing, but the
	 * kernel's events are read between them. */
	h->dump_feed_phase = AMX_FEED_SYNC;
	h->dump_feed_next = 0;
	if (!e->dump_worker) {
		/* No worker (the unit tests' engine): all of it now, as before the worker. */
		unsigned left;
		do
			left = UINT_MAX;
		while (!feed_some(e, hi, &left));
		return;
	}
	amx_loop_wake_at(eng_now_ms(e));
}

/* The job is done: its home's share of the worker, the result adopted, the job free. */
static void job_done(struct amx_engine *e)
{
	struct amx_dump_job *d = &e->dump_job;
	int hi = d->home;
	d->home = -1;
	struct amx_home *h = &e->homes[hi];
	uint64_t now = eng_now_ms(e);
	/* On the worker, what the read itself took (its wait for a CPU is not its cost);
	 * at once, the engine's clock (milliseconds): a read under 1 ms puts nothing off. */
	uint64_t wait = d->on_worker ? d->run_us * (AMX_DUMP_LOOP_SHARE - 1) / 1000
				     : (now - d->submitted_ms) * (AMX_DUMP_LOOP_SHARE - 1);
	uint64_t from = d->on_worker ? now : d->submitted_ms;
	h->dump_not_before_ms = wait ? from + (wait < AMX_DUMP_MAX_DEFER_MS ?
					       wait : AMX_DUMP_MAX_DEFER_MS) : 0;
	read_done(e, hi, &d->r);
	amx_dump_read_free(&d->r);
}

/* The next home whose dump waits and may be read now, if no read is in flight. */
static void start_next(struct amx_engine *e)
{
	struct amx_dump_job *d = &e->dump_job;
	while (d->home < 0 && e->n_homes > 0) {
		uint64_t now = eng_now_ms(e);
		int hi = -1;
		for (int k = 0; k < e->n_homes && hi < 0; k++) {
			int i = (e->dump_next_home + k) % e->n_homes;
			struct amx_home *h = &e->homes[i];
			if (!h->dump_pending)
				continue;
			if (now >= h->dump_not_before_ms)
				hi = i;
			else
				amx_loop_wake_at(h->dump_not_before_ms);
		}
		if (hi < 0)
			return;
		struct amx_home *h = &e->homes[hi];
		e->dump_next_home = (hi + 1) % e->n_homes;
		h->dump_pending = false;
		d->home = hi;
		d->submitted_ms = now;
		d->job.run = job_run;
		amx_home_dump_source(h, AMX_DUMP_MAX_BYTES, true, &d->src);
		d->src.make_room = e->dump_worker;
		d->on_worker = e->dump_worker && amx_worker_submit(&d->job);
		if (d->on_worker)
			return;
		job_run(&d->job); /* no worker: here, as before it */
		job_done(e);
	}
}

/* A small dump read at once, on the loop, as before the worker; false (nothing done) when
 * it is larger than AMX_DUMP_LOOP_MAX_BYTES (an open and a stat found it so). */
static bool read_small_now(struct amx_engine *e, int hi)
{
	struct amx_home *h = &e->homes[hi];
	struct amx_dump_source s = { .max = 0 };
	struct amx_dump_read r;
	uint64_t t0 = eng_now_ms(e);
	amx_home_dump_source(h, AMX_DUMP_LOOP_MAX_BYTES, true, &s);
	amx_dump_source_read(&s, &r);
	if (r.over_max) {
		amx_dump_read_free(&r);
		return false;
	}
	h->dump_pending = false;
	uint64_t took = eng_now_ms(e) - t0, wait = took * (AMX_DUMP_LOOP_SHARE - 1);
	h->dump_not_before_ms = took ? t0 + (wait < AMX_DUMP_MAX_DEFER_MS ?
					     wait : AMX_DUMP_MAX_DEFER_MS) : 0;
	read_done(e, hi, &r);
	amx_dump_read_free(&r);
	return true;
}

void eng_on_dump_event(struct amx_engine *e, int hi)
{
	struct amx_home *h = &e->homes[hi];
	h->dump_pending = true;
	if (e->dump_worker && e->dump_job.home != hi && eng_now_ms(e) >= h->dump_not_before_ms &&
	    read_small_now(e, hi))
		return;
	start_next(e);
}

void eng_on_dump_done(void *ctx, int fd, uint32_t events)
{
	struct amx_engine *e = ctx;
	(void)fd;
	(void)events;
	if (!amx_worker_take())
		return;
	/* As before a file event: an exit that came meanwhile goes first. */
	e->up.read_kernel_events(e);
	job_done(e);
	start_next(e);
}

void eng_tick_dumps(struct amx_engine *e, uint64_t now)
{
	unsigned left = AMX_DUMP_APPS_PER_STEP;
	for (int k = 0; k < e->n_homes; k++) {
		int hi = (e->dump_next_home + k) % e->n_homes;
		if (e->homes[hi].dump_feed_phase != AMX_FEED_NONE && !feed_some(e, hi, &left))
			amx_loop_wake_at(now);
	}
	start_next(e);
}

void eng_dump_discard(struct amx_engine *e)
{
	struct amx_dump_job *d = &e->dump_job;
	if (amx_worker_take() || d->home >= 0)
		d->home = -1;
	amx_dump_read_free(&d->r);
	amx_dump_free(&d->trash);
	free(d->trash_raw);
	d->trash_raw = NULL;
}
