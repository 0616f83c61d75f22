/* SPDX-License-Identifier: MIT */
/* The event sink: each event goes to the events file (one write a line), to the loop's
 * subscribers and, as one human line, to stderr. Also the fields many events share and
 * the daemon's verbose log. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/exit_cause.h"
#include "core/stderr_tail.h"
#include "sys/userfile.h"
#include "daemon/engine.h"
#include "sys/loop.h"
#include "sys/sched.h"

/* Emit ev (taken over). */
void eng_emit(struct amx_engine *e, json_t *ev)
{
	char *line = amx_event_encode(ev);
	bool written = false;
	if (line) {
		/* One write() a line, O_APPEND: readers never see half a line. */
		written = amx_eventfile_write(&e->events, line, strlen(line));
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
	if (written && amx_eventfile_take_recovery(&e->events, &lost, &err)) {
		json_t *lost_ev = amx_event_new(&e->stream, AMX_EVT_EVENTS_LOST, 0,
						"%llu events could not be written to %s (%s); writing again",
						(unsigned long long)lost, e->o->events_path,
						strerror(err));
		amx_event_set_str(lost_ev, "amexbpf.lost.source", "file");
		amx_event_set_int(lost_ev, "amexbpf.lost.count", (int64_t)lost);
		amx_event_set_str(lost_ev, "event.reason", strerror(err));
		eng_emit(e, lost_ev);
	}
}

static json_t *ports_json(const uint16_t *ports, unsigned n)
{
	json_t *a = json_array();
	for (unsigned i = 0; i < n; i++)
		json_array_append_new(a, json_integer(ports[i]));
	return a;
}

/* amexbpf.serving and amexbpf.listen.ports of a recovery or a PM2 restart: the ports it
 * serves on again, or (not serving) the ports it was waited on for. */
void eng_set_serving_fields(json_t *ev, const struct amx_app *a, enum amx_serving serving)
{
	if (!a || serving == AMX_SERVING_UNKNOWN)
		return;
	amx_event_set_bool(ev, "amexbpf.serving", serving == AMX_SERVING_YES);
	amx_event_set(ev, "amexbpf.listen.ports", ports_json(a->want_ports, a->n_want_ports));
}

/* The ports an instance's process listens on (process-exited, status). */
void eng_set_instance_ports(json_t *ev, const struct amx_instance *in)
{
	if (in->n_ports)
		amx_event_set(ev, "amexbpf.listen.ports", ports_json(in->ports, in->n_ports));
}

/* The home and the app an event is about (either may be NULL). */
void eng_set_app_fields(json_t *ev, const struct amx_home *h, const struct amx_app *a)
{
	if (h)
		amx_event_set_str(ev, "amexbpf.pm2.home", h->path);
	if (a) {
		amx_event_set_str(ev, "service.name", a->name);
		amx_event_set_str(ev, "amexbpf.pm2.app", a->name);
		if (a->n_inst > 1)
			amx_event_set_int(ev, "amexbpf.pm2.instances", a->n_inst);
	}
}

void eng_set_instance_fields(json_t *ev, const struct amx_app *a, const struct amx_instance *in)
{
	if (!in)
		return;
	if (in->pm_id >= 0)
		amx_event_set_int(ev, "amexbpf.pm2.pm_id", in->pm_id);
	if (a->n_inst > 1 && in->node_app_instance >= 0)
		amx_event_set_int(ev, "amexbpf.pm2.instance", in->node_app_instance);
}

/* A command line as a JSON array (amexbpf.command). */
json_t *eng_argv_json(const struct amx_argv *argv)
{
	json_t *arr = json_array();
	for (int i = 0; i < argv->n; i++) {
		/* json_string is NULL for invalid UTF-8; build it once, or it leaks. */
		json_t *s = json_string(argv->v[i]);
		json_array_append_new(arr, s ? s : json_string("?"));
	}
	return arr;
}

/* One line on stderr, only with --verbose. */
void eng_log(struct amx_engine *e, const char *fmt, ...)
{
	if (!e->o->verbose)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "amexbpf: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

/* The fields every process-exited from the kernel carries. */
/* amexbpf.cause, and amexbpf.killer where the kernel named the sender. */
static void set_cause(struct amx_engine *e, json_t *ev, const struct amx_event *kev,
		      const struct amx_exit_status *xs, const struct amx_home *h,
		      const struct amx_app *a)
{
	struct amx_cause_facts f = {
		.pid = (int)kev->pid, .status = xs->status, .signal = xs->signal,
		.oom = a && a->last_oom, .asked = a && a->restart_asked,
		.god_pid = h ? h->god_pid : 0, .self_pid = (int)getpid(),
		.killer_pid = (int)kev->killer_pid, .killer_sig = kev->killer_sig,
		.killer_code = kev->killer_code,
	};
	bool known;
	(void)e;
	amx_event_set_str(ev, "amexbpf.cause", amx_cause_name(amx_exit_cause(&f, &known)));
	if (!known)
		return;
	char comm[AMX_COMM_LEN + 1];
	snprintf(comm, sizeof(comm), "%.*s", AMX_COMM_LEN, kev->killer_comm);
	amx_event_set_int(ev, "amexbpf.killer.pid", kev->killer_pid);
	amx_event_set_str(ev, "amexbpf.killer.name", comm);
	amx_event_set_int(ev, "amexbpf.killer.uid", kev->killer_uid);
	const char *sig = amx_signal_name(kev->killer_sig);
	if (sig)
		amx_event_set_str(ev, "amexbpf.killer.signal", sig);
}

void eng_set_exit_fields(struct amx_engine *e, json_t *ev, const struct amx_event *kev,
			 const struct amx_home *h, const struct amx_app *a)
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
			  (int64_t)((e->handled_ns - kev->ts_ns) / 1000));
	set_cause(e, ev, kev, &xs, h, a);
}

/* The end of the app's PM2 error log (pm_err_log_path from the dump, else PM2's default
 * logs/<name>-error.log), read as the home's owner: at most AMX_STDERR_TAIL_BYTES. */
bool eng_read_error_tail(const struct amx_home *h, const struct amx_app *a, char **buf,
			 size_t *len)
{
	char path[AMX_PATH_MAX + 8] = "";
	for (size_t i = 0; i < h->good.n_apps; i++)
		if (!strcmp(h->good.apps[i].name, a->name) && h->good.apps[i].err_log_path[0])
			snprintf(path, sizeof(path), "%s", h->good.apps[i].err_log_path);
	if (!path[0] &&
	    snprintf(path, sizeof(path), "%s/logs/%s-error.log", h->path, a->name) >= (int)sizeof(path))
		return false;
	return amx_userfile_tail(path, h->owner.uid, h->owner.gid, AMX_STDERR_TAIL_BYTES, buf,
				 len) >= 0;
}

/* amexbpf.stderr_tail: the end of the app's PM2 error log. Nothing when it cannot be read
 * or is empty. */
void eng_set_stderr_tail(json_t *ev, const struct amx_home *h, const struct amx_app *a)
{
	char *buf;
	size_t len;
	if (!eng_read_error_tail(h, a, &buf, &len))
		return;
	/* A full buffer may start mid-line: its first line goes (a file of exactly the
	 * limit loses its first line too, which is harmless). */
	json_t *lines = amx_stderr_tail_lines(buf, len, len == AMX_STDERR_TAIL_BYTES,
					      AMX_STDERR_TAIL_LINES);
	free(buf);
	if (json_array_size(lines))
		amx_event_set(ev, "amexbpf.stderr_tail", lines);
	else
		json_decref(lines);
}

/* monitor-started: what is watched, and how. */
void eng_emit_started(struct amx_engine *e)
{
	json_t *ev = amx_event_new(&e->stream, AMX_EVT_MONITOR_STARTED, 0,
				   "amexbpf %s watching %d PM2 home(s)", AMX_VERSION, e->n_homes);
	amx_event_set_str(ev, "amexbpf.source", amx_exit_source_name(&e->src));
	if (amx_exit_source_limits(&e->src))
		amx_event_set_str(ev, "amexbpf.source_lost", amx_exit_source_limits(&e->src));
	amx_event_set_str(ev, "amexbpf.attach", amx_exit_source_attach_kind(&e->src));
	json_t *homes = json_array(), *apps = json_array();
	for (int hi = 0; hi < e->n_homes; hi++) {
		json_array_append_new(homes, json_string(e->homes[hi].path));
		for (size_t i = 0; i < e->homes[hi].n_apps; i++) {
			json_t *s = json_string(e->homes[hi].apps[i].name);
			if (s)
				json_array_append_new(apps, s);
		}
	}
	amx_event_set(ev, "amexbpf.pm2.homes", homes);
	if (e->pm2_version[0])
		amx_event_set_str(ev, "amexbpf.pm2.version", e->pm2_version);
	amx_event_set(ev, "amexbpf.apps", apps);
	amx_event_set_int(ev, "process.pid", getpid());
	amx_event_set_str(ev, "amexbpf.sched", amx_sched_describe());
	eng_emit(e, ev);
	eng_emit_skipped_homes(e);
}

/* May an event caused by home hi's files go out now? Its owner writes them as fast as they
 * like: one home cannot fill the events file, the history or the hooks of the others. Ask
 * before making the event (a refused one takes no sequence number). */
bool eng_file_event_allowed(struct amx_engine *e, int hi)
{
	struct amx_home *h = &e->homes[hi];
	uint64_t now = eng_now_ms(e);
	eng_report_suppressed(e, hi, now);
	return amx_bucket_take(&h->file_events, e->file_events_burst,
			       AMX_HOME_FILE_EVENTS_REFILL_MS, now);
}

/* events-suppressed, once the bucket of home hi has a token again, for what it held back;
 * else a wake-up for then. */
void eng_report_suppressed(struct amx_engine *e, int hi, uint64_t now)
{
	struct amx_bucket *b = &e->homes[hi].file_events;
	if (!b->suppressed)
		return;
	if (!amx_bucket_ready(b, e->file_events_burst, AMX_HOME_FILE_EVENTS_REFILL_MS,
			      now)) {
		amx_loop_wake_at(amx_bucket_next_ms(b, e->file_events_burst,
						    AMX_HOME_FILE_EVENTS_REFILL_MS));
		return;
	}
	b->tokens--;
	json_t *ev = amx_event_new(&e->stream, AMX_EVT_EVENTS_SUPPRESSED, 0,
				   "%llu events caused by the files of %s were not sent (more "
				   "than %d at once)", (unsigned long long)b->suppressed,
				   e->homes[hi].path, e->file_events_burst);
	amx_event_set_int(ev, "amexbpf.suppressed.count", (int64_t)b->suppressed);
	amx_event_set_int(ev, "amexbpf.suppressed.window_ms",
			  (int64_t)(now - b->suppressed_since_ms));
	eng_set_app_fields(ev, &e->homes[hi], NULL);
	b->suppressed = 0;
	eng_emit(e, ev);
}

/* home-skipped for each discovered home left out since the last call. */
void eng_emit_skipped_homes(struct amx_engine *e)
{
	for (int i = 0; i < e->n_skipped; i++) {
		const struct amx_skipped_home *s = &e->skipped[i];
		json_t *ev = amx_event_new(&e->stream, AMX_EVT_HOME_SKIPPED, 0,
					   "not watching %s: %s", s->path, s->reason);
		amx_event_set_str(ev, "amexbpf.pm2.home", s->path);
		if (s->user[0])
			amx_event_set_str(ev, "user.name", s->user);
		amx_event_set_str(ev, "event.reason", s->reason);
		eng_emit(e, ev);
	}
	e->n_skipped = 0;
}
