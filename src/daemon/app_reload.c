/* SPDX-License-Identifier: MIT */
/* `pm2 reload` of an app of several instances, recognised as intentional. PM2 replaces one
 * instance at a time: it starts the new process for the same pm_id (the same pid file), and
 * kills the old one only once the new one is up. A new pid for an instance whose process
 * still runs is therefore a replacement, never a crash; the old process's exit is expected
 * and is no process-exited. Once every instance was replaced and every old process is gone,
 * one app-reloaded says how long it took and whether an instance ran at every moment. */
#include <stdio.h>

#include "daemon/engine.h"

void eng_reload_replacing(struct amx_engine *e, struct amx_app *a, struct amx_instance *in)
{
	if (!a->reload_started_ms) {
		a->reload_started_ms = eng_now_ms(e);
		a->reload_gap = false;
		a->reload_unserved = false;
		for (unsigned k = 0; k < a->n_inst; k++)
			a->inst[k].reloaded = false;
	}
	/* An older replacement still running is left to the kernel's exit of it. */
	in->replaced_pid = in->pid;
	in->replaced_start_ticks = in->start_ticks;
	in->reloaded = true;
}

struct amx_instance *eng_reload_old_process(struct amx_home *h, int pid, uint64_t start_ticks,
					    struct amx_app **app)
{
	for (size_t i = 0; i < h->n_apps; i++)
		for (unsigned k = 0; k < h->apps[i].n_inst; k++) {
			struct amx_instance *in = &h->apps[i].inst[k];
			if (pid > 0 && in->replaced_pid == pid && in->replaced_start_ticks == start_ticks) {
				*app = &h->apps[i];
				return in;
			}
		}
	return NULL;
}

void eng_reload_old_exited(struct amx_engine *e, int hi, struct amx_app *a, struct amx_instance *in)
{
	in->replaced_pid = 0;
	in->replaced_start_ticks = 0;
	if (!amx_app_instances_alive(a))
		a->reload_gap = true;
	/* The old copy's port is gone with it: do the live ones (the new copies) listen? */
	if (a->n_want_ports && !amx_app_serving(a))
		a->reload_unserved = true;
	for (unsigned k = 0; k < a->n_inst; k++)
		if (!a->inst[k].reloaded || a->inst[k].replaced_pid)
			return; /* more to come */
	uint64_t ms = eng_now_ms(e) - a->reload_started_ms;
	a->reload_started_ms = 0;
	json_t *ev = amx_event_new_level(&e->stream, AMX_EVT_APP_RELOADED,
					 a->reload_gap ? "warn" : "info", 0,
					 "%.300s reloaded, %u instances in %llu ms%s", a->name, a->n_inst,
					 (unsigned long long)ms,
					 a->reload_gap ? ", with a moment when none ran" : "");
	amx_event_set_int(ev, "event.duration", (int64_t)ms * 1000000);
	amx_event_set_bool(ev, "amexbpf.reload.kept_running", !a->reload_gap);
	if (a->n_want_ports) /* an app whose own processes listen (not cluster mode's workers) */
		eng_set_serving_fields(ev, a, a->reload_unserved ? AMX_SERVING_NO : AMX_SERVING_YES);
	amx_event_set_int(ev, "amexbpf.pm2.instances", a->n_inst);
	amx_event_set_int(ev, "process.pid", a->pid);
	eng_set_app_fields(ev, &e->homes[hi], a);
	eng_emit(e, ev);
}
