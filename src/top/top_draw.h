/* SPDX-License-Identifier: MIT */
/* `amexbpf top`: what the parts of the frame layout share, for top_render.c and the files
 * that draw one part each (top_header.c, top_apps.c, top_events.c); not for the front end,
 * which knows only top_render.h. A pen draws untrusted text into a frame's cells
 * (top_text.c); the JSON accessors read the status document and events by dotted path. */
#ifndef AMX_TOP_DRAW_H
#define AMX_TOP_DRAW_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "core/event.h"
#include "top/top_render.h"

/* At most this many PM2 homes get a row of their own above the apps table. */
#define TOP_MAX_HOME_ROWS 3

struct top_pen {
	struct top_frame *f;
	bool utf8;
};

static inline struct top_cell *cell(struct top_frame *f, int r, int c)
{
	return &f->cells[(size_t)r * (size_t)f->w + (size_t)c];
}

/* ------------------------------------------------------------------ cells (top_text.c) */

/* Makes room for rows rows (aborts when out of memory: a frame is a few kB). */
void top_frame_grow(struct top_frame *f, int rows);
/* Row r becomes blank in style; returns false past a fixed height. */
bool top_row_clear(struct top_frame *f, int r, int style);
/* Draws s at (r, c) in at most w columns (padded with blanks when pad), cut with an
 * ellipsis when longer; right-aligned when right. Returns the columns used. */
int top_put(struct top_pen *p, int r, int c, int w, const char *s, int style, bool right, bool pad);
/* Appends s at *col in the rest of the row; returns false when the row is full. */
bool top_append(struct top_pen *p, int r, int *col, const char *s, int style);

/* Numbers as short text: "4m02s", "9.5M", "80µs", "120k", "HH:MM:SS" (local time of an
 * RFC 3339 UTC timestamp); "-" (or "--:--:--") when absent. */
void top_fmt_duration(double s, char *buf, size_t len);
void top_fmt_bytes(double b, char *buf, size_t len);
void top_fmt_us(double us, bool utf8, char *buf, size_t len);
void top_fmt_count(double n, char *buf, size_t len);
void top_fmt_clock(const char *ts, char *buf, size_t len);

static inline const char *sep(bool utf8)
{
	return utf8 ? " \u00b7 " : " | ";
}

/* ------------------------------------------------------------------ JSON access */

static inline json_t *jget(json_t *o, const char *path)
{
	return o ? amx_event_get(o, path) : NULL;
}

static inline const char *jstr(json_t *o, const char *path)
{
	json_t *v = jget(o, path);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* NAN when absent or not a number. */
static inline double jnum(json_t *o, const char *path)
{
	json_t *v = jget(o, path);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static inline bool jtrue(json_t *o, const char *path)
{
	return json_is_true(jget(o, path));
}

static inline double num_or(double v, double dflt)
{
	return isnan(v) ? dflt : v;
}

/* ------------------------------------------------------------------ the parts */

/* top_header.c: the daemon's rows, then one row a PM2 home (TOP_MAX_HOME_ROWS at most).
 * Returns the next free row; top_header_rows says how many that is. */
int top_draw_header(const struct top_view *v, struct top_pen *p, int r);
int top_header_rows(const struct top_view *v);

/* top_apps.c: the apps table's title at row r and app_rows rows below it; returns the
 * next free row. An app's style by its status, and an app by name (filter or not). */
int top_draw_apps(const struct top_view *v, struct top_pen *p, int r, int app_rows);
int top_status_style(const char *status);
json_t *top_find_app(const struct top_view *v, const char *name);

/* top_events.c: the event pane's title at row r and event_rows rows below it (with a
 * frame of any height: as many as there are, "no event yet" for none); returns the next
 * free row. The history overlay of v->history_app in rows [r0, r1). */
int top_draw_events(const struct top_view *v, struct top_pen *p, int r, int event_rows);
void top_draw_history(const struct top_view *v, struct top_pen *p, int r0, int r1);

#endif
