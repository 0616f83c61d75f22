/* SPDX-License-Identifier: MIT */
/* `amexbpf top`: the rows above the apps table. The daemon: version, host, uptime, pid,
 * event source; events, losses and detection latency; the cost of each BPF program. Then
 * one row a PM2 home: its PM2 daemon (God) up or down, and its dump.pm2 valid or not.
 * When the daemon does not answer, a first row says so above the last known state. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "top/top_draw.h"

static int draw_daemon(const struct top_view *v, struct top_pen *p, int r)
{
	char a[128], b[128];
	json_t *s = v->status;
	const char *S = sep(p->utf8);
	int col = 0;
	if (!v->connected) {
		top_row_clear(p->f, r, TS_CRIT);
		snprintf(a, sizeof(a), "amexbpf top: no answer on %s, retrying every second",
			 v->socket_path ? v->socket_path : "?");
		top_append(p, r, &col, a, TS_CRIT);
		if (v->problem) {
			top_append(p, r, &col, ": ", TS_CRIT);
			top_append(p, r, &col, v->problem, TS_CRIT);
		}
		if (s)
			top_append(p, r, &col, " (below: the last known state)", TS_CRIT);
		r++;
		if (!s)
			return r;
		col = 0;
	}
	top_row_clear(p->f, r, TS_NORMAL);
	snprintf(a, sizeof(a), "amexbpf %s", jstr(s, "version") ? jstr(s, "version") : "?");
	top_append(p, r, &col, a, TS_BOLD);
	top_append(p, r, &col, " on ", TS_NORMAL);
	top_append(p, r, &col, jstr(s, "host") ? jstr(s, "host") : "?", TS_BOLD);
	top_append(p, r, &col, S, TS_DIM);
	top_fmt_duration(jnum(s, "uptime_s"), b, sizeof(b));
	snprintf(a, sizeof(a), "up %s", b);
	top_append(p, r, &col, a, TS_NORMAL);
	top_append(p, r, &col, S, TS_DIM);
	snprintf(a, sizeof(a), "pid %.0f", num_or(jnum(s, "pid"), 0));
	top_append(p, r, &col, a, TS_NORMAL);
	top_append(p, r, &col, S, TS_DIM);
	const char *src = jstr(s, "source"), *att = jstr(s, "attach");
	snprintf(a, sizeof(a), "source %s%s%s", src ? src : "?", att ? "/" : "", att ? att : "");
	top_append(p, r, &col, a, src && !strcmp(src, "bpf") ? TS_OK : TS_WARN);
	r++;

	col = 0;
	top_row_clear(p->f, r, TS_NORMAL);
	top_fmt_count(jnum(s, "events.sequence"), b, sizeof(b));
	snprintf(a, sizeof(a), "events %s, %.1f/s", b, num_or(jnum(s, "events.per_second"), 0));
	top_append(p, r, &col, a, TS_NORMAL);
	top_append(p, r, &col, S, TS_DIM);
	double lb = num_or(jnum(s, "events.lost.bpf"), 0), li = num_or(jnum(s, "events.lost.inotify"), 0);
	snprintf(a, sizeof(a), "lost %.0f (bpf %.0f, inotify %.0f)", lb + li, lb, li);
	top_append(p, r, &col, a, lb + li > 0 ? TS_ERR : TS_NORMAL);
	top_append(p, r, &col, S, TS_DIM);
	char p50[16], p99[16];
	top_fmt_us(jnum(s, "detect_latency_us.p50"), p->utf8, p50, sizeof(p50));
	top_fmt_us(jnum(s, "detect_latency_us.p99"), p->utf8, p99, sizeof(p99));
	double win = jnum(s, "detect_latency_us.window_s");
	snprintf(a, sizeof(a), "latency p50 %s p99 %s", p50, p99);
	top_append(p, r, &col, a, num_or(jnum(s, "detect_latency_us.p99"), 0) > 1000 ? TS_WARN : TS_NORMAL);
	if (!isnan(win)) {
		snprintf(a, sizeof(a), " (%.0fs)", win);
		top_append(p, r, &col, a, TS_DIM);
	}
	r++;

	json_t *progs = jget(s, "bpf.programs"), *prog;
	size_t i;
	if (json_is_array(progs) && json_array_size(progs) > 0) {
		col = 0;
		top_row_clear(p->f, r, TS_NORMAL);
		top_append(p, r, &col, "bpf", TS_DIM);
		/* Counts are kept only under --bpf-stats (a host-wide cost): say so once
		 * rather than show every program at 0 runs. */
		json_t *kept = jget(s, "bpf.stats");
		if (json_is_false(kept)) {
			top_append(p, r, &col, " run counts off (--bpf-stats)", TS_DIM);
			return r + 1;
		}
		json_array_foreach(progs, i, prog) {
			double cnt = jnum(prog, "run_cnt"), ns = jnum(prog, "run_time_ns");
			top_fmt_count(cnt, b, sizeof(b));
			if (!isnan(cnt) && cnt > 0 && !isnan(ns))
				snprintf(a, sizeof(a), " %s %s runs %.0fns", jstr(prog, "name") ? jstr(prog, "name") : "?",
					 b, ns / cnt);
			else
				snprintf(a, sizeof(a), " %s %s runs", jstr(prog, "name") ? jstr(prog, "name") : "?", b);
			if (!top_append(p, r, &col, a, TS_NORMAL))
				break;
			if (i + 1 < json_array_size(progs))
				top_append(p, r, &col, p->utf8 ? " \u00b7" : " |", TS_DIM);
		}
		r++;
	}
	return r;
}

static int home_count(const struct top_view *v)
{
	json_t *homes = jget(v->status, "homes");
	return json_is_array(homes) ? (int)json_array_size(homes) : 0;
}

static int home_rows(const struct top_view *v)
{
	int n = home_count(v);
	return n > TOP_MAX_HOME_ROWS ? TOP_MAX_HOME_ROWS : n;
}

static void draw_home(struct top_pen *p, int r, json_t *home)
{
	char a[160], b[32];
	const char *S = sep(p->utf8);
	int col = 0;
	top_row_clear(p->f, r, TS_NORMAL);
	top_append(p, r, &col, "home ", TS_DIM);
	top_append(p, r, &col, jstr(home, "path"), TS_BOLD);
	snprintf(a, sizeof(a), " (%s)", jstr(home, "owner") ? jstr(home, "owner") : "?");
	top_append(p, r, &col, a, TS_NORMAL);
	top_append(p, r, &col, S, TS_DIM);
	bool up = jtrue(home, "daemon.up");
	double pid = jnum(home, "daemon.pid");
	if (!isnan(pid) && pid > 0)
		snprintf(a, sizeof(a), "God %.0f %s", pid, up ? "up" : "DOWN");
	else
		snprintf(a, sizeof(a), "God %s", up ? "up" : "DOWN");
	top_append(p, r, &col, a, up ? TS_OK : TS_CRIT);
	top_append(p, r, &col, S, TS_DIM);
	top_fmt_duration(jnum(home, "dump.age_s"), b, sizeof(b));
	if (jtrue(home, "dump.valid")) {
		snprintf(a, sizeof(a), "dump valid, %.0f app%s, saved %s ago", num_or(jnum(home, "dump.apps"), 0),
			 num_or(jnum(home, "dump.apps"), 0) == 1 ? "" : "s", b);
		top_append(p, r, &col, a, TS_NORMAL);
	} else {
		const char *problem = jstr(home, "dump.problem");
		snprintf(a, sizeof(a), "dump INVALID%s%s", problem ? ": " : "", problem ? problem : "");
		top_append(p, r, &col, a, TS_ERR);
	}
}

int top_header_rows(const struct top_view *v)
{
	int n = v->connected ? 0 : 1;
	if (!v->status)
		return n;
	json_t *progs = jget(v->status, "bpf.programs");
	n += 2 + (json_is_array(progs) && json_array_size(progs) > 0) + home_rows(v);
	if (home_count(v) > TOP_MAX_HOME_ROWS)
		n++;
	return n;
}

int top_draw_header(const struct top_view *v, struct top_pen *p, int r)
{
	r = draw_daemon(v, p, r);
	json_t *homes = jget(v->status, "homes"), *home;
	size_t i;
	/* json_array_foreach runs no round for what is not an array. */
	json_array_foreach(homes, i, home) {
		if (i == TOP_MAX_HOME_ROWS) {
			char a[64];
			top_row_clear(p->f, r, TS_DIM);
			snprintf(a, sizeof(a), "... and %zu more PM2 homes", json_array_size(homes) - i);
			top_put(p, r++, 0, p->f->w, a, TS_DIM, false, false);
			break;
		}
		draw_home(p, r++, home);
	}
	return r;
}
