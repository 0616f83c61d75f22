/* SPDX-License-Identifier: MIT */
/* `amexbpf top`: the frame layout, pure. A view (the status document, the recent events,
 * what the user selected) goes in; a grid of cells, each one display column with a style,
 * comes out. No terminal, no socket, no clock: the ncurses front end (top.c) paints the
 * grid, `--once` prints it as text, and the unit tests check it at any size. */
#ifndef AMX_TOP_RENDER_H
#define AMX_TOP_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#define TOP_MIN_W 80
#define TOP_MIN_H 24
#define TOP_FILTER_MAX 64

/* What a cell means, not how it looks: top.c maps styles to colours and attributes,
 * and to plain attributes (bold, reverse, dim) on a terminal without colour. */
enum top_style {
	TS_NORMAL, TS_BOLD, TS_TITLE, TS_DIM, TS_OK, TS_WARN, TS_ERR, TS_CRIT, TS_SELECTED,
	TS_COUNT
};

struct top_cell {
	char ch[5];          /* one UTF-8 character; "" continues a double-width character */
	unsigned char style;
};

struct top_frame {
	int w, h;            /* h == 0 to top_render: as tall as the content ("--once") */
	int rows;            /* rows in use */
	struct top_cell *cells;
	int cap_rows;
};

/* The recent events, newest last; a bounded ring of parsed event objects (owned). */
struct top_events {
	json_t **ring;
	size_t cap, len, head; /* head: index of the oldest */
	unsigned long long total; /* events ever pushed (pause keeps its place with this) */
};

enum top_sort { SORT_NAME, SORT_PID, SORT_STATUS, SORT_MEM, SORT_RESTARTS, SORT_RECOVERIES,
		SORT_UPTIME, SORT_COUNT };
enum top_overlay { OVERLAY_NONE, OVERLAY_HELP, OVERLAY_HISTORY };

struct top_view {
	json_t *status;            /* the last status document, or NULL */
	bool connected;            /* the daemon answered the last STATUS */
	const char *problem;       /* when not connected: why (one line) */
	const char *socket_path;
	struct top_events *events;
	unsigned long long paused_total; /* when paused: events->total at the pause */
	bool paused;
	enum top_sort sort;
	char filter[TOP_FILTER_MAX];
	bool editing_filter;
	enum top_overlay overlay;
	int selected;              /* index among the shown apps */
	int app_top;               /* first app row shown (scrolling) */
	int event_scroll;          /* events skipped from the newest */
	bool utf8;                 /* UTF-8 glyphs (bars, ellipsis, µ); else ASCII */
	const char *history_app;   /* OVERLAY_HISTORY: whose events */
};

/* One app as shown: borrowed from the status document. */
struct top_app {
	json_t *home, *app;
	const char *name;
};

void top_events_init(struct top_events *e, size_t cap);
void top_events_push(struct top_events *e, json_t *ev); /* takes the reference */
json_t *top_events_newest(const struct top_events *e, size_t i); /* 0 = newest; NULL past the end */
void top_events_clear(struct top_events *e);
void top_events_free(struct top_events *e);

/* The apps of every home, filtered and sorted as the view says. Returns how many (at most
 * max); out may be NULL to count. */
int top_apps(const struct top_view *v, struct top_app *out, int max);

/* Lay out one frame of f->w columns and f->h rows (0: as many as needed). */
void top_render(const struct top_view *v, struct top_frame *f);
void top_frame_free(struct top_frame *f);
/* Row r as text (UTF-8, trailing blanks kept), into buf; returns buf. */
char *top_frame_row(const struct top_frame *f, int r, char *buf, size_t len);
bool top_frame_equal(const struct top_frame *a, const struct top_frame *b);

/* How many rows the apps table and the event pane get at height h (for paging keys). */
void top_pane_rows(const struct top_view *v, int h, int *app_rows, int *event_rows);

const char *top_sort_name(enum top_sort s);
/* Display width of a UTF-8 string as this renderer draws it. */
int top_text_width(const char *s, bool utf8);

#endif
