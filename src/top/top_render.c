/* SPDX-License-Identifier: MIT */
/* `amexbpf top`: the frame layout (see top_render.h). From the top: the header (the daemon
 * and its PM2 homes, top_header.c), the apps table (top_apps.c), the event pane
 * (top_events.c), the footer with the keys and the connection state. This file shares the
 * rows between the parts, draws the footer, and the help and "too small" screens; an
 * overlay (help, an app's history) takes the place of the table and the pane. */
#include <stdio.h>
#include <string.h>

#include "top/top_draw.h"

void top_pane_rows(const struct top_view *v, int h, int *app_rows, int *event_rows)
{
	int napps = top_apps(v, NULL, 0);
	int body = h - top_header_rows(v) - 3; /* apps title, events title, footer */
	int ev_min = body * 2 / 5 < 3 ? 3 : body * 2 / 5;
	int a = napps < 1 ? 1 : napps;
	if (a > body - ev_min)
		a = body - ev_min;
	if (a < 1)
		a = 1;
	*app_rows = a;
	*event_rows = body - a < 0 ? 0 : body - a;
}

static void draw_footer(const struct top_view *v, struct top_pen *p, int r)
{
	char a[160];
	int col = 0;
	top_row_clear(p->f, r, TS_TITLE);
	if (v->editing_filter) {
		top_append(p, r, &col, " Filter: ", TS_TITLE);
		top_append(p, r, &col, v->filter, TS_TITLE);
		top_append(p, r, &col, "_   Enter keep, Esc clear", TS_TITLE);
		return;
	}
	/* The connection state first, on the right: on a narrow terminal the key hints
	 * give way, never the news that the daemon is gone. */
	const char *state = v->connected ? (p->utf8 ? "\u25cf connected " : "* connected ")
					 : (p->utf8 ? "\u25cb reconnecting " : "o reconnecting ");
	int sw = top_text_width(state, p->utf8);
	top_put(p, r, p->f->w - sw, sw, state, v->connected ? TS_TITLE : TS_CRIT, false, true);
	snprintf(a, sizeof(a), " q quit  ? help  p %s  / filter  s sort:%s  %s PgUp/PgDn  Enter history",
		 v->paused ? "resume" : "pause", top_sort_name(v->sort), p->utf8 ? "\u2191\u2193" : "arrows");
	top_put(p, r, 0, p->f->w - sw - 1, a, TS_TITLE, false, false);
}

static const char *const HELP_LINES[] = {
	"amexbpf top: the live view of amexbpf's control socket",
	"",
	"  q             quit (also Ctrl-C)",
	"  ?             this help; any key closes it",
	"  p             pause or resume the event pane (events are still received)",
	"  /             filter apps and their events by name (Enter keeps, Esc clears)",
	"  s             next sort key: name, pid, status, memory, restarts, recoveries, uptime",
	"  Up / Down     select an app",
	"  PgUp / PgDn   scroll the event pane (Home / End: newest / oldest)",
	"  Enter         the selected app's recent history; Esc or Enter closes it",
	"",
	"STATUS is PM2's word as amexbpf sees it: online, stopped, errored, launching, and",
	"down (exited, recovery pending). RST: restarts done by PM2. T1/2/3: recoveries done",
	"by amexbpf per tier (1 pm2 restart, 2 pm2 resurrect, 3 pm2 start <ecosystem>).",
	"MEM/LIMIT: RSS against max_memory_restart. LAST EXIT: code or signal, OOM if the",
	"kernel's OOM killer chose it. BUDGET: recovery attempts left in the window; parked:",
	"spent, amexbpf waits until the app is seen alive again.",
	NULL,
};

static void draw_help(struct top_pen *p, int r0, int r1)
{
	int r = r0;
	for (int i = 0; HELP_LINES[i] && (p->f->h == 0 || r < r1); i++, r++) {
		top_row_clear(p->f, r, TS_NORMAL);
		top_put(p, r, 1, p->f->w - 1, HELP_LINES[i], i == 0 ? TS_BOLD : TS_NORMAL, false, false);
	}
	for (; p->f->h && r < r1; r++)
		top_row_clear(p->f, r, TS_NORMAL);
}

static void draw_too_small(struct top_pen *p)
{
	char a[128];
	for (int r = 0; r < p->f->h; r++)
		top_row_clear(p->f, r, TS_NORMAL);
	snprintf(a, sizeof(a), "amexbpf top needs %dx%d; this terminal is %dx%d", TOP_MIN_W, TOP_MIN_H,
		 p->f->w, p->f->h);
	if (p->f->h > 0)
		top_put(p, p->f->h / 2, 0, p->f->w, a, TS_WARN, false, false);
}

void top_render(const struct top_view *v, struct top_frame *f)
{
	struct top_pen p = { .f = f, .utf8 = v->utf8 };
	f->rows = 0;
	if (f->w <= 0)
		return;
	if (f->h && (f->w < TOP_MIN_W || f->h < TOP_MIN_H)) {
		top_frame_grow(f, f->h);
		draw_too_small(&p);
		return;
	}
	if (f->h)
		top_frame_grow(f, f->h);
	int r = top_draw_header(v, &p, 0);
	int footer = f->h ? f->h - 1 : -1;
	if (v->overlay != OVERLAY_NONE) {
		if (v->overlay == OVERLAY_HELP)
			draw_help(&p, r, footer);
		else
			top_draw_history(v, &p, r, footer);
		if (!f->h)
			footer = f->rows;
		draw_footer(v, &p, footer);
		return;
	}
	/* A frame of any height ("--once") shows every app and the last 20 events. */
	int app_rows, event_rows;
	if (f->h) {
		top_pane_rows(v, f->h, &app_rows, &event_rows);
	} else {
		int napps = top_apps(v, NULL, 0);
		app_rows = napps ? napps : 1;
		event_rows = 20;
	}
	r = top_draw_apps(v, &p, r, app_rows);
	r = top_draw_events(v, &p, r, event_rows);
	draw_footer(v, &p, f->h ? footer : r);
}
