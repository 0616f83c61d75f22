/* SPDX-License-Identifier: MIT */
/* `amexbpf top`: the events. The ring of recent ones (parsed, newest last, bounded), one
 * row an event (time, level, app, action, and the message with what it does not say:
 * tier, attempt, detection latency, reason), the event pane under the apps table, and the
 * history overlay: one app's events and its counters. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "top/top_draw.h"

/* ------------------------------------------------------------------ the ring */

void top_events_init(struct top_events *e, size_t cap)
{
	memset(e, 0, sizeof(*e));
	e->cap = cap ? cap : 1;
	e->ring = calloc(e->cap, sizeof(json_t *));
}

void top_events_push(struct top_events *e, json_t *ev)
{
	if (!e->ring) {
		json_decref(ev);
		return;
	}
	if (e->len == e->cap) {
		json_decref(e->ring[e->head]);
		e->ring[e->head] = ev;
		e->head = (e->head + 1) % e->cap;
	} else {
		e->ring[(e->head + e->len) % e->cap] = ev;
		e->len++;
	}
	e->total++;
}

json_t *top_events_newest(const struct top_events *e, size_t i)
{
	if (!e || i >= e->len)
		return NULL;
	return e->ring[(e->head + e->len - 1 - i) % e->cap];
}

void top_events_clear(struct top_events *e)
{
	for (size_t i = 0; i < e->len; i++)
		json_decref(e->ring[(e->head + i) % e->cap]);
	e->len = 0;
	e->head = 0;
}

void top_events_free(struct top_events *e)
{
	top_events_clear(e);
	free(e->ring);
	e->ring = NULL;
}

/* ------------------------------------------------------------------ drawing */

static const char *event_app(json_t *ev)
{
	const char *a = jstr(ev, "service.name");
	return a ? a : jstr(ev, "amexbpf.pm2.app");
}

static int level_style(const char *level)
{
	if (!level)
		return TS_NORMAL;
	if (!strcmp(level, "debug"))
		return TS_DIM;
	if (!strcmp(level, "warn"))
		return TS_WARN;
	if (!strcmp(level, "error"))
		return TS_ERR;
	if (!strcmp(level, "critical"))
		return TS_CRIT;
	return TS_NORMAL;
}

static const char *level_tag(const char *level)
{
	if (!level)
		return "";
	if (!strcmp(level, "debug"))
		return "DBG";
	if (!strcmp(level, "info"))
		return "INFO";
	if (!strcmp(level, "warn"))
		return "WARN";
	if (!strcmp(level, "error"))
		return "ERR";
	if (!strcmp(level, "critical"))
		return "CRIT";
	return "?";
}

/* " :3000 :3001" of an array of ports, appended at buf+n; the new length. */
static size_t ports_append(json_t *ports, char *buf, size_t n, size_t len)
{
	for (size_t i = 0; i < json_array_size(ports) && n < len; i++)
		if (json_is_integer(json_array_get(ports, i)))
			n += (size_t)snprintf(buf + n, len - n, " :%lld",
					      (long long)json_integer_value(json_array_get(ports, i)));
	return n;
}

/* The one-line detail: the human message, plus what it does not say. */
static void event_detail(json_t *ev, bool utf8, char *buf, size_t len)
{
	const char *msg = jstr(ev, "message");
	size_t n = (size_t)snprintf(buf, len, "%s", msg ? msg : "");
	double tier = jnum(ev, "amexbpf.tier"), attempt = jnum(ev, "amexbpf.attempt");
	if (!isnan(tier) && (!msg || !strstr(msg, "tier")) && n < len)
		n += (size_t)snprintf(buf + n, len - n, " [tier %.0f%s", tier, isnan(attempt) ? "]" : "");
	if (!isnan(tier) && !isnan(attempt) && (!msg || !strstr(msg, "tier")) && n < len)
		n += (size_t)snprintf(buf + n, len - n, ", attempt %.0f]", attempt);
	double lat = jnum(ev, "amexbpf.detect_latency_us");
	if (!isnan(lat) && n < len) {
		char l[16];
		top_fmt_us(lat, utf8, l, sizeof(l));
		n += (size_t)snprintf(buf + n, len - n, " (seen in %s)", l);
	}
	const char *reason = jstr(ev, "event.reason");
	if (reason && (!msg || !strstr(msg, reason)) && n < len)
		n += (size_t)snprintf(buf + n, len - n, ": %s", reason);
	/* Who ended it, and the last line it wrote to its error log. */
	const char *cause = jstr(ev, "amexbpf.cause"), *killer = jstr(ev, "amexbpf.killer.name");
	if (cause && killer && n < len)
		n += (size_t)snprintf(buf + n, len - n, " [%s by %s, pid %.0f, uid %.0f]", cause,
				      killer, jnum(ev, "amexbpf.killer.pid"), jnum(ev, "amexbpf.killer.uid"));
	else if (cause && n < len)
		n += (size_t)snprintf(buf + n, len - n, " [%s]", cause);
	/* Died in the wake of another app's OOM kill (systemd stopping the whole unit). */
	if (json_is_true(jget(ev, "amexbpf.collateral")) && n < len)
		n += (size_t)snprintf(buf + n, len - n, " [collateral of %s's OOM kill, pid %.0f]",
				      jstr(ev, "amexbpf.collateral_of.app") ? jstr(ev, "amexbpf.collateral_of.app") : "?",
				      num_or(jnum(ev, "amexbpf.collateral_of.pid"), 0));
	json_t *serving = jget(ev, "amexbpf.serving");
	if (json_is_boolean(serving) && n < len)
		n = ports_append(jget(ev, "amexbpf.listen.ports"), buf,
				 n + (size_t)snprintf(buf + n, len - n, " [%s", json_is_true(serving)
						      ? "serving" : "NOT serving"), len);
	if (json_is_boolean(serving) && n < len)
		n += (size_t)snprintf(buf + n, len - n, "]");
	json_t *tail = jget(ev, "amexbpf.stderr_tail");
	const char *last = json_string_value(json_array_get(tail, json_array_size(tail) - 1));
	if (last && n < len)
		snprintf(buf + n, len - n, " stderr: %s", last);
}

static bool event_shown(const struct top_view *v, json_t *ev)
{
	if (!v->filter[0])
		return true;
	const char *app = event_app(ev);
	return !app || strcasestr(app, v->filter);
}

static void draw_event(struct top_pen *p, int r, json_t *ev, int app_w)
{
	char t[16], d[512];
	const char *level = jstr(ev, "log.level");
	int st = level_style(level);
	top_row_clear(p->f, r, TS_NORMAL);
	top_fmt_clock(jstr(ev, "@timestamp"), t, sizeof(t));
	int x = 0;
	x += top_put(p, r, x, 8, t, TS_DIM, false, true) + 1;
	x += top_put(p, r, x, 4, level_tag(level), st, false, true) + 1;
	const char *app = event_app(ev);
	x += top_put(p, r, x, app_w, app ? app : "-", app ? TS_BOLD : TS_DIM, false, true) + 1;
	x += top_put(p, r, x, 18, jstr(ev, "event.action"), st, false, true) + 1;
	event_detail(ev, p->utf8, d, sizeof(d));
	top_put(p, r, x, p->f->w - x, d, st == TS_DIM ? TS_DIM : TS_NORMAL, false, false);
}

/* Newest first; a pause holds the newest shown where it was. */
int top_draw_events(const struct top_view *v, struct top_pen *p, int r, int event_rows)
{
	char a[128];
	int col = 0;
	top_row_clear(p->f, r, TS_TITLE);
	unsigned long long skip_new = v->paused && v->events && v->events->total > v->paused_total
					      ? v->events->total - v->paused_total : 0;
	snprintf(a, sizeof(a), " EVENTS newest first%s", v->event_scroll ? " (scrolled)" : "");
	top_append(p, r, &col, a, TS_TITLE);
	if (v->paused) {
		snprintf(a, sizeof(a), "  PAUSED, %llu new", skip_new);
		top_append(p, r, &col, a, TS_WARN);
	}
	if (v->filter[0]) {
		top_append(p, r, &col, "  filter: ", TS_TITLE);
		top_append(p, r, &col, v->filter, TS_TITLE);
	}
	r++;
	int app_w = p->f->w >= 120 ? 20 : 16;
	size_t i_ev = (size_t)skip_new;
	int skipped = 0, drawn = 0;
	for (; drawn < event_rows; i_ev++) {
		json_t *ev = top_events_newest(v->events, i_ev);
		if (!ev)
			break;
		if (!event_shown(v, ev))
			continue;
		if (skipped++ < v->event_scroll)
			continue;
		draw_event(p, r++, ev, app_w);
		drawn++;
	}
	if (p->f->h)
		for (; drawn < event_rows; drawn++)
			top_row_clear(p->f, r++, TS_NORMAL);
	if (!p->f->h && drawn == 0) {
		top_row_clear(p->f, r, TS_DIM);
		top_put(p, r++, 1, p->f->w - 1, "no event yet", TS_DIM, false, false);
	}
	return r;
}

/* An app of several instances: one line per process under its summary. */
static int draw_instances(struct top_pen *p, json_t *app, int r, int r1)
{
	json_t *inst = jget(app, "instances");
	if (json_array_size(inst) < 2)
		return r;
	for (size_t k = 0; k < json_array_size(inst) && (p->f->h == 0 || r < r1); k++) {
		json_t *in = json_array_get(inst, k);
		char a[160], pid[24] = "-";
		if (!isnan(jnum(in, "pid")))
			snprintf(pid, sizeof(pid), "%.0f", jnum(in, "pid"));
		size_t n = (size_t)snprintf(a, sizeof(a), "   instance %.0f%spm_id %.0f%spid %s%srestarts by PM2 %.0f",
			 num_or(jnum(in, "instance"), (double)k), sep(p->utf8),
			 num_or(jnum(in, "pm_id"), -1), sep(p->utf8), pid, sep(p->utf8),
			 num_or(jnum(in, "restarts_pm2"), 0));
		if (json_array_size(jget(in, "ports")) && n < sizeof(a))
			ports_append(jget(in, "ports"), a, n + (size_t)snprintf(a + n, sizeof(a) - n, "%slistening", sep(p->utf8)), sizeof(a));
		top_row_clear(p->f, r, TS_NORMAL);
		top_put(p, r++, 0, p->f->w, a, isnan(jnum(in, "pid")) ? TS_WARN : TS_NORMAL, false, false);
	}
	return r;
}

/* The ports the app listens on now, and those a recovery would wait for (where its last
 * death left them listened on), on a row of their own: they do not fit after the counters. */
static int draw_ports(struct top_pen *p, json_t *app, int r, int r1)
{
	json_t *now = jget(app, "ports"), *want = jget(app, "serving_ports");
	if ((!json_array_size(now) && !json_array_size(want)) || (p->f->h && r >= r1))
		return r;
	char a[256];
	size_t n = (size_t)snprintf(a, sizeof(a), " %s", json_array_size(now) ? "listening" : "not listening");
	n = ports_append(now, a, n, sizeof(a));
	if (json_array_size(want) && n < sizeof(a))
		ports_append(want, a, n + (size_t)snprintf(a + n, sizeof(a) - n, "%sa recovery waits for",
							 sep(p->utf8)), sizeof(a));
	top_row_clear(p->f, r, TS_NORMAL);
	top_put(p, r++, 0, p->f->w, a, json_array_size(now) ? TS_NORMAL : TS_WARN, false, false);
	return r;
}

/* Parked for a port another process holds: which port, and who holds it now. */
static int draw_conflict(struct top_pen *p, json_t *app, int r, int r1)
{
	json_t *c = jget(app, "port_conflict");
	if (!json_is_object(c) || (p->f->h && r >= r1))
		return r;
	char a[200];
	const char *name = jstr(c, "holder_name");
	int n = snprintf(a, sizeof(a), " PORT CONFLICT :%.0f held by pid %.0f", num_or(jnum(c, "port"), 0),
			 num_or(jnum(c, "holder_pid"), 0));
	if (name && n > 0 && (size_t)n < sizeof(a))
		n += snprintf(a + n, sizeof(a) - (size_t)n, " (%s, uid %.0f)", name,
			      num_or(jnum(c, "holder_uid"), -1));
	else if (n > 0 && (size_t)n < sizeof(a))
		n += snprintf(a + n, sizeof(a) - (size_t)n, " (gone)");
	if (n > 0 && (size_t)n < sizeof(a))
		snprintf(a + n, sizeof(a) - (size_t)n, "%sparked until the port is free", sep(p->utf8));
	top_row_clear(p->f, r, TS_NORMAL);
	top_put(p, r++, 0, p->f->w, a, TS_CRIT, false, false);
	return r;
}

void top_draw_history(const struct top_view *v, struct top_pen *p, int r0, int r1)
{
	char a[256];
	int r = r0, col = 0;
	const char *name = v->history_app ? v->history_app : "";
	json_t *app = top_find_app(v, name);
	top_row_clear(p->f, r, TS_TITLE);
	snprintf(a, sizeof(a), " History of %s", name);
	top_append(p, r, &col, a, TS_TITLE);
	top_append(p, r, &col, "  (newest first; Esc or Enter closes)", TS_TITLE);
	r++;
	if (app) {
		col = 0;
		top_row_clear(p->f, r, TS_NORMAL);
		const char *status = jstr(app, "status");
		snprintf(a, sizeof(a), " pid %.0f ", num_or(jnum(app, "pid"), 0));
		top_append(p, r, &col, a, TS_NORMAL);
		top_append(p, r, &col, status ? status : "?", top_status_style(status));
		snprintf(a, sizeof(a), "%sstate %s%srestarts by PM2 %.0f%srecoveries by tier %.0f/%.0f/%.0f",
			 sep(p->utf8), jstr(app, "state") ? jstr(app, "state") : "?", sep(p->utf8),
			 num_or(jnum(app, "restarts_pm2"), 0), sep(p->utf8), num_or(jnum(app, "recoveries.1"), 0),
			 num_or(jnum(app, "recoveries.2"), 0), num_or(jnum(app, "recoveries.3"), 0));
		top_append(p, r, &col, a, TS_NORMAL);
		const char *at = jstr(app, "last_exit.at");
		if (at) {
			char t[16];
			top_fmt_clock(at, t, sizeof(t));
			const char *cause = jstr(app, "last_exit.cause");
			snprintf(a, sizeof(a), "%slast exit at %s%s%s%s", sep(p->utf8), t, cause ? " (" : "",
				 cause ? cause : "", cause ? ")" : "");
			top_append(p, r, &col, a, TS_NORMAL);
		}
		r++;
		r = draw_ports(p, app, r, r1);
		r = draw_conflict(p, app, r, r1);
		r = draw_instances(p, app, r, r1);
	}
	int shown = 0;
	for (size_t i = 0; (p->f->h == 0 || r < r1); i++) {
		json_t *ev = top_events_newest(v->events, i);
		if (!ev)
			break;
		const char *ea = event_app(ev);
		if (!ea || strcmp(ea, name) != 0)
			continue;
		if (p->f->h == 0 && shown >= 50)
			break;
		draw_event(p, r++, ev, 16);
		shown++;
	}
	if (!shown && (p->f->h == 0 || r < r1)) {
		top_row_clear(p->f, r, TS_DIM);
		top_put(p, r++, 1, p->f->w - 1, "no event for this app in the recent history", TS_DIM, false, false);
	}
	for (; p->f->h && r < r1; r++)
		top_row_clear(p->f, r, TS_NORMAL);
}

