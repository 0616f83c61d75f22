/* SPDX-License-Identifier: MIT */
/* `amexbpf top`: the frame layout (see top_render.h). Everything shown comes from the
 * daemon and, through it, from users' PM2 homes: app names, messages and paths are
 * untrusted, so every string is drawn character by character and control characters
 * (terminal escapes) are replaced, never written. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include "core/event.h"
#include "top/top_render.h"

/* ------------------------------------------------------------------ event ring */

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

/* ------------------------------------------------------------------ JSON access */

static json_t *jget(json_t *o, const char *path)
{
	return o ? amx_event_get(o, path) : NULL;
}

static const char *jstr(json_t *o, const char *path)
{
	json_t *v = jget(o, path);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* NAN when absent or not a number. */
static double jnum(json_t *o, const char *path)
{
	json_t *v = jget(o, path);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static bool jtrue(json_t *o, const char *path)
{
	return json_is_true(jget(o, path));
}

/* ------------------------------------------------------------------ text and cells */

/* Takes one character off *s into out (NUL-terminated UTF-8) and returns its display
 * width; -1 at the end. Control characters and bad UTF-8 become "?"; zero-width ones are
 * dropped (width 0, out empty); without UTF-8 every non-ASCII character is "?". */
static int next_char(const char **s, char out[5], bool utf8)
{
	const unsigned char *p = (const unsigned char *)*s;
	if (!*p)
		return -1;
	out[0] = '?';
	out[1] = 0;
	if (*p < 0x80) {
		*s += 1;
		if (*p >= 0x20 && *p != 0x7f)
			out[0] = (char)*p;
		return 1;
	}
	int n = (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;
	uint32_t cp = n == 2 ? *p & 0x1f : n == 3 ? *p & 0x0f : *p & 0x07;
	for (int i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			n = 0;
			break;
		}
		cp = cp << 6 | (p[i] & 0x3f);
	}
	static const uint32_t min_cp[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	if (n == 0 || cp < min_cp[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
		*s += 1;
		return 1;
	}
	*s += n;
	if (!utf8 || (cp >= 0x80 && cp < 0xa0) || cp == 0x2028 || cp == 0x2029)
		return 1;
	int w = wcwidth((wchar_t)cp);
	if (w == 0) {
		out[0] = 0;
		return 0;
	}
	memcpy(out, p, (size_t)n);
	out[n] = 0;
	return w == 2 ? 2 : 1; /* unknown width (C locale): assume one column */
}

int top_text_width(const char *s, bool utf8)
{
	char ch[5];
	int w = 0, cw;
	while (s && (cw = next_char(&s, ch, utf8)) >= 0)
		w += cw;
	return w;
}

static void frame_grow(struct top_frame *f, int rows)
{
	if (rows <= f->cap_rows)
		return;
	int cap = f->cap_rows ? f->cap_rows : 32;
	while (cap < rows)
		cap *= 2;
	struct top_cell *c = realloc(f->cells, (size_t)cap * (size_t)f->w * sizeof(*c));
	if (!c)
		abort(); /* a frame is a few kB: out of memory here is not recoverable */
	f->cells = c;
	f->cap_rows = cap;
}

static struct top_cell *cell(struct top_frame *f, int r, int c)
{
	return &f->cells[(size_t)r * (size_t)f->w + (size_t)c];
}

/* Row r becomes blank in style; returns false past a fixed height. */
static bool row_clear(struct top_frame *f, int r, int style)
{
	if (f->h && r >= f->h)
		return false;
	frame_grow(f, r + 1);
	for (int c = 0; c < f->w; c++) {
		struct top_cell *x = cell(f, r, c);
		x->ch[0] = ' ';
		x->ch[1] = 0;
		x->style = (unsigned char)style;
	}
	if (r >= f->rows)
		f->rows = r + 1;
	return true;
}

struct pen {
	struct top_frame *f;
	bool utf8;
};

/* Draws s at (r, c) in at most w columns (padded with blanks when pad), cut with an
 * ellipsis when longer; right-aligned when right. Returns the columns used. */
static int put(struct pen *p, int r, int c, int w, const char *s, int style, bool right, bool pad)
{
	struct top_frame *f = p->f;
	if (!s)
		s = "";
	if (c >= f->w || w <= 0 || r >= f->rows)
		return 0;
	if (c + w > f->w)
		w = f->w - c;
	int tw = top_text_width(s, p->utf8);
	bool cut = tw > w;
	int room = cut ? w - 1 : w; /* one column for the ellipsis */
	int start = c;
	if (right && !cut && tw < w)
		start = c + (w - tw);
	if (pad || right)
		for (int i = c; i < start; i++) {
			struct top_cell *x = cell(f, r, i);
			strcpy(x->ch, " ");
			x->style = (unsigned char)style;
		}
	int col = start, cw;
	char ch[5];
	while ((cw = next_char(&s, ch, p->utf8)) >= 0) {
		if (cw == 0)
			continue;
		if (col + cw > start + room)
			break;
		struct top_cell *x = cell(f, r, col);
		strcpy(x->ch, ch);
		x->style = (unsigned char)style;
		if (cw == 2) {
			struct top_cell *y = cell(f, r, col + 1);
			y->ch[0] = 0;
			y->style = (unsigned char)style;
		}
		col += cw;
	}
	if (cut) {
		while (col < c + w - 1) { /* a double-width character did not fit */
			struct top_cell *x = cell(f, r, col++);
			strcpy(x->ch, " ");
			x->style = (unsigned char)style;
		}
		struct top_cell *x = cell(f, r, col++);
		strcpy(x->ch, p->utf8 ? "\u2026" : "~");
		x->style = (unsigned char)style;
	}
	if (pad)
		while (col < c + w) {
			struct top_cell *x = cell(f, r, col++);
			strcpy(x->ch, " ");
			x->style = (unsigned char)style;
		}
	return col - c;
}

/* Appends s at *col in the rest of the row; returns false when the row is full. */
static bool append(struct pen *p, int r, int *col, const char *s, int style)
{
	int room = p->f->w - *col;
	if (room <= 0)
		return false;
	*col += put(p, r, *col, room, s, style, false, false);
	return *col < p->f->w;
}

void top_frame_free(struct top_frame *f)
{
	free(f->cells);
	f->cells = NULL;
	f->cap_rows = 0;
	f->rows = 0;
}

char *top_frame_row(const struct top_frame *f, int r, char *buf, size_t len)
{
	size_t n = 0;
	if (len)
		buf[0] = 0;
	for (int c = 0; r < f->rows && c < f->w; c++) {
		const char *ch = f->cells[(size_t)r * (size_t)f->w + (size_t)c].ch;
		size_t k = strlen(ch);
		if (n + k + 1 > len)
			break;
		memcpy(buf + n, ch, k);
		n += k;
		buf[n] = 0;
	}
	return buf;
}

bool top_frame_equal(const struct top_frame *a, const struct top_frame *b)
{
	if (a->w != b->w || a->rows != b->rows)
		return false;
	for (int r = 0; r < a->rows; r++)
		for (int c = 0; c < a->w; c++) {
			const struct top_cell *x = &a->cells[(size_t)r * (size_t)a->w + (size_t)c];
			const struct top_cell *y = &b->cells[(size_t)r * (size_t)b->w + (size_t)c];
			if (x->style != y->style || strcmp(x->ch, y->ch) != 0)
				return false;
		}
	return true;
}

/* ------------------------------------------------------------------ formatting */

static void fmt_duration(double s, char *buf, size_t len)
{
	if (isnan(s) || s < 0) {
		snprintf(buf, len, "-");
		return;
	}
	unsigned long long t = (unsigned long long)s;
	if (t < 60)
		snprintf(buf, len, "%llus", t);
	else if (t < 3600)
		snprintf(buf, len, "%llum%02llus", t / 60, t % 60);
	else if (t < 86400)
		snprintf(buf, len, "%lluh%02llum", t / 3600, t % 3600 / 60);
	else
		snprintf(buf, len, "%llud%02lluh", t / 86400, t % 86400 / 3600);
}

static void fmt_bytes(double b, char *buf, size_t len)
{
	static const char units[] = "BKMGTP";
	if (isnan(b) || b < 0) {
		snprintf(buf, len, "-");
		return;
	}
	int u = 0;
	while (b >= 1024 && u < 5) {
		b /= 1024;
		u++;
	}
	if (u > 0 && b < 10)
		snprintf(buf, len, "%.1f%c", b, units[u]);
	else
		snprintf(buf, len, "%.0f%c", b, units[u]);
}

static void fmt_us(double us, bool utf8, char *buf, size_t len)
{
	if (isnan(us))
		snprintf(buf, len, "-");
	else if (us < 1000)
		snprintf(buf, len, "%.0f%s", us, utf8 ? "\u00b5s" : "us");
	else if (us < 1e6)
		snprintf(buf, len, "%.1fms", us / 1000);
	else
		snprintf(buf, len, "%.1fs", us / 1e6);
}

static void fmt_count(double n, char *buf, size_t len)
{
	if (isnan(n))
		snprintf(buf, len, "-");
	else if (n < 100000)
		snprintf(buf, len, "%.0f", n);
	else if (n < 1e8)
		snprintf(buf, len, "%.0fk", n / 1000);
	else
		snprintf(buf, len, "%.0fM", n / 1e6);
}

/* "HH:MM:SS" local time of an RFC 3339 UTC timestamp. */
static void fmt_clock(const char *ts, char *buf, size_t len)
{
	struct tm tm = { 0 };
	if (!ts || !strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm)) {
		snprintf(buf, len, "--:--:--");
		return;
	}
	time_t t = timegm(&tm);
	localtime_r(&t, &tm);
	strftime(buf, len, "%H:%M:%S", &tm);
}

static const char *sep(bool utf8)
{
	return utf8 ? " \u00b7 " : " | ";
}

/* ------------------------------------------------------------------ apps */

static int status_style(const char *status)
{
	if (!status)
		return TS_DIM;
	if (!strcmp(status, "online"))
		return TS_OK;
	if (!strcmp(status, "launching") || !strcmp(status, "stopping"))
		return TS_WARN;
	if (!strcmp(status, "stopped"))
		return TS_DIM;
	if (!strcmp(status, "down"))
		return TS_CRIT;
	return TS_ERR; /* errored, and anything unknown deserves a look */
}

static int status_rank(const char *status)
{
	/* The worst first when sorting by status: what needs eyes comes to the top. */
	static const char *const order[] = { "down", "errored", "launching", "stopping", "stopped", "online" };
	for (size_t i = 0; status && i < sizeof(order) / sizeof(order[0]); i++)
		if (!strcmp(status, order[i]))
			return (int)i;
	return 1;
}

static double recoveries_total(json_t *app)
{
	static const char *const tiers[] = { "recoveries.1", "recoveries.2", "recoveries.3" };
	double t = 0;
	for (size_t i = 0; i < 3; i++) {
		double n = jnum(app, tiers[i]);
		if (!isnan(n))
			t += n;
	}
	return t;
}

static double num_or(double v, double dflt)
{
	return isnan(v) ? dflt : v;
}

static int cmp_apps(const void *pa, const void *pb, void *ctx)
{
	const struct top_app *a = pa, *b = pb;
	enum top_sort s = *(const enum top_sort *)ctx;
	double x = 0, y = 0;
	switch (s) {
	case SORT_PID:
		x = num_or(jnum(a->app, "pid"), 1e12);
		y = num_or(jnum(b->app, "pid"), 1e12);
		break;
	case SORT_STATUS:
		x = status_rank(jstr(a->app, "status"));
		y = status_rank(jstr(b->app, "status"));
		break;
	case SORT_MEM: /* largest first, as in htop */
		x = -num_or(jnum(a->app, "rss_bytes"), 0);
		y = -num_or(jnum(b->app, "rss_bytes"), 0);
		break;
	case SORT_RESTARTS:
		x = -num_or(jnum(a->app, "restarts_pm2"), 0);
		y = -num_or(jnum(b->app, "restarts_pm2"), 0);
		break;
	case SORT_RECOVERIES:
		x = -recoveries_total(a->app);
		y = -recoveries_total(b->app);
		break;
	case SORT_UPTIME: /* the youngest first: it just restarted */
		x = num_or(jnum(a->app, "uptime_s"), 1e12);
		y = num_or(jnum(b->app, "uptime_s"), 1e12);
		break;
	default:
		break;
	}
	if (x != y)
		return x < y ? -1 : 1;
	return strcmp(a->name, b->name);
}

int top_apps(const struct top_view *v, struct top_app *out, int max)
{
	int n = 0;
	json_t *homes = jget(v->status, "homes"), *home, *app;
	size_t i, j;
	if (!json_is_array(homes))
		return 0;
	json_array_foreach(homes, i, home) {
		json_t *apps = json_object_get(home, "apps");
		if (!json_is_array(apps))
			continue;
		json_array_foreach(apps, j, app) {
			const char *name = jstr(app, "name");
			if (!json_is_object(app) || !name)
				continue;
			if (v->filter[0] && !strcasestr(name, v->filter))
				continue;
			if (out && n < max)
				out[n] = (struct top_app){ .home = home, .app = app, .name = name };
			n++;
		}
	}
	if (out) {
		enum top_sort s = v->sort;
		qsort_r(out, (size_t)(n < max ? n : max), sizeof(*out), cmp_apps, &s);
	}
	return n < max || !out ? n : max;
}

const char *top_sort_name(enum top_sort s)
{
	static const char *const names[SORT_COUNT] = { "name", "pid", "status", "memory",
						       "restarts", "recoveries", "uptime" };
	return s < SORT_COUNT ? names[s] : "?";
}

/* Column widths of the apps table at width w; the name and the bar share what is left. */
struct cols {
	int name, pid, status, uptime, rst, rec, mem, bar, last, budget;
};

static struct cols app_cols(int w)
{
	struct cols c = { .pid = 7, .status = 9, .uptime = 6, .rst = 4, .rec = 6, .mem = 5,
			  .last = 11, .budget = 6 };
	int fixed = c.pid + c.status + c.uptime + c.rst + c.rec + c.mem + c.last + c.budget + 9;
	int extra = w - fixed;
	c.bar = extra - 12;
	if (c.bar > 20)
		c.bar = 20;
	if (c.bar < 4)
		c.bar = 4;
	c.name = extra - c.bar;
	if (c.last < 14 && c.name > 30) { /* room to spare: a wider last exit */
		c.name -= 3;
		c.last += 3;
	}
	return c;
}

/* The memory bar: the share of the limit, in eighths of a cell with UTF-8 blocks, in
 * whole cells of '#' without. */
static void draw_bar(struct pen *p, int r, int c, int w, double rss, double limit)
{
	static const char *const eighths[8] = { "", "\u258f", "\u258e", "\u258d", "\u258c",
						"\u258b", "\u258a", "\u2589" };
	if (isnan(rss) || isnan(limit) || limit <= 0) {
		put(p, r, c, w, "", TS_NORMAL, false, true);
		return;
	}
	double frac = rss / limit;
	int style = frac >= 0.9 ? TS_ERR : frac >= 0.7 ? TS_WARN : TS_OK;
	if (frac > 1)
		frac = 1;
	int units = p->utf8 ? (int)lround(frac * w * 8) : (int)lround(frac * w);
	for (int i = 0; i < w; i++) {
		struct top_cell *x = cell(p->f, r, c + i);
		x->style = (unsigned char)style;
		if (p->utf8) {
			int u = units - i * 8;
			if (u >= 8)
				strcpy(x->ch, "\xe2\x96\x88"); /* U+2588; cppcheck sizes "\u" escapes wrongly */
			else if (u > 0)
				snprintf(x->ch, sizeof(x->ch), "%s", eighths[u]);
			else {
				strcpy(x->ch, "\xe2\x96\x91"); /* U+2591 */
				x->style = TS_DIM;
			}
		} else {
			strcpy(x->ch, i < units ? "#" : ".");
			if (i >= units)
				x->style = TS_DIM;
		}
	}
}

static void draw_app_header(struct pen *p, int r, const struct cols *c)
{
	row_clear(p->f, r, TS_TITLE);
	int x = 0;
	x += put(p, r, x, c->name, "NAME", TS_TITLE, false, true) + 1;
	x += put(p, r, x, c->pid, "PID", TS_TITLE, true, true) + 1;
	x += put(p, r, x, c->status, "STATUS", TS_TITLE, false, true) + 1;
	x += put(p, r, x, c->uptime, "UPTIME", TS_TITLE, true, true) + 1;
	x += put(p, r, x, c->rst, "RST", TS_TITLE, true, true) + 1;
	x += put(p, r, x, c->rec, "T1/2/3", TS_TITLE, true, true) + 1;
	x += put(p, r, x, c->mem + 1 + c->bar, "MEM/LIMIT", TS_TITLE, false, true) + 1;
	x += put(p, r, x, c->last, "LAST EXIT", TS_TITLE, false, true) + 1;
	put(p, r, x, c->budget, "BUDGET", TS_TITLE, true, true);
}

static void draw_app(struct pen *p, int r, const struct cols *c, json_t *app, bool selected)
{
	char b[64];
	int base = selected ? TS_SELECTED : TS_NORMAL;
	row_clear(p->f, r, base);
	int x = 0;
	/* A selected row is drawn in one style so the highlight reads as one bar. */
#define ST(s) (selected ? TS_SELECTED : (s))
	x += put(p, r, x, c->name, jstr(app, "name"), ST(TS_BOLD), false, true) + 1;
	double pid = jnum(app, "pid");
	if (isnan(pid) || pid <= 0)
		snprintf(b, sizeof(b), "-");
	else
		snprintf(b, sizeof(b), "%.0f", pid);
	x += put(p, r, x, c->pid, b, base, true, true) + 1;
	const char *status = jstr(app, "status");
	x += put(p, r, x, c->status, status ? status : "?", ST(status_style(status)), false, true) + 1;
	if (status && !strcmp(status, "online"))
		fmt_duration(jnum(app, "uptime_s"), b, sizeof(b));
	else
		snprintf(b, sizeof(b), "-");
	x += put(p, r, x, c->uptime, b, base, true, true) + 1;
	fmt_count(jnum(app, "restarts_pm2"), b, sizeof(b));
	x += put(p, r, x, c->rst, b, base, true, true) + 1;
	double t1 = jnum(app, "recoveries.1"), t2 = jnum(app, "recoveries.2"), t3 = jnum(app, "recoveries.3");
	snprintf(b, sizeof(b), "%.0f/%.0f/%.0f", num_or(t1, 0), num_or(t2, 0), num_or(t3, 0));
	x += put(p, r, x, c->rec, b, num_or(t1, 0) + num_or(t2, 0) + num_or(t3, 0) > 0 ? ST(TS_WARN) : base,
		 true, true) + 1;
	double rss = jnum(app, "rss_bytes"), limit = jnum(app, "memory_limit_bytes");
	fmt_bytes(rss, b, sizeof(b));
	x += put(p, r, x, c->mem, b, base, true, true) + 1;
	draw_bar(p, r, x, c->bar, rss, limit);
	x += c->bar + 1;
	json_t *le = jget(app, "last_exit");
	if (json_is_object(le)) {
		bool oom = jtrue(le, "oom");
		const char *sig = jstr(le, "signal");
		double code = jnum(le, "code");
		char what[32];
		if (sig)
			snprintf(what, sizeof(what), "%s", sig);
		else if (!isnan(code))
			snprintf(what, sizeof(what), "code %.0f", code);
		else
			snprintf(what, sizeof(what), "?");
		snprintf(b, sizeof(b), "%s%s", oom ? "OOM " : "", what);
		int st = oom ? TS_CRIT : (sig || num_or(code, 0) != 0) ? TS_ERR : base;
		x += put(p, r, x, c->last, b, ST(st), false, true) + 1;
	} else {
		x += put(p, r, x, c->last, "-", base, false, true) + 1;
	}
	double left = jnum(app, "budget_left");
	if (jtrue(app, "parked"))
		put(p, r, x, c->budget, "parked", ST(TS_CRIT), true, true);
	else if (!isnan(left)) {
		snprintf(b, sizeof(b), "%.0f left", left);
		put(p, r, x, c->budget, b, left <= 1 ? ST(TS_WARN) : base, true, true);
	} else
		put(p, r, x, c->budget, "-", base, true, true);
#undef ST
}

/* ------------------------------------------------------------------ header */

static int draw_header(const struct top_view *v, struct pen *p, int r)
{
	char a[128], b[128];
	json_t *s = v->status;
	const char *S = sep(p->utf8);
	int col = 0;
	if (!v->connected) {
		row_clear(p->f, r, TS_CRIT);
		snprintf(a, sizeof(a), "amexbpf top: no answer on %s, retrying every second",
			 v->socket_path ? v->socket_path : "?");
		append(p, r, &col, a, TS_CRIT);
		if (v->problem) {
			append(p, r, &col, ": ", TS_CRIT);
			append(p, r, &col, v->problem, TS_CRIT);
		}
		if (s)
			append(p, r, &col, " (below: the last known state)", TS_CRIT);
		r++;
		if (!s)
			return r;
		col = 0;
	}
	row_clear(p->f, r, TS_NORMAL);
	snprintf(a, sizeof(a), "amexbpf %s", jstr(s, "version") ? jstr(s, "version") : "?");
	append(p, r, &col, a, TS_BOLD);
	append(p, r, &col, " on ", TS_NORMAL);
	append(p, r, &col, jstr(s, "host") ? jstr(s, "host") : "?", TS_BOLD);
	append(p, r, &col, S, TS_DIM);
	fmt_duration(jnum(s, "uptime_s"), b, sizeof(b));
	snprintf(a, sizeof(a), "up %s", b);
	append(p, r, &col, a, TS_NORMAL);
	append(p, r, &col, S, TS_DIM);
	snprintf(a, sizeof(a), "pid %.0f", num_or(jnum(s, "pid"), 0));
	append(p, r, &col, a, TS_NORMAL);
	append(p, r, &col, S, TS_DIM);
	const char *src = jstr(s, "source"), *att = jstr(s, "attach");
	snprintf(a, sizeof(a), "source %s%s%s", src ? src : "?", att ? "/" : "", att ? att : "");
	append(p, r, &col, a, src && !strcmp(src, "bpf") ? TS_OK : TS_WARN);
	r++;

	col = 0;
	row_clear(p->f, r, TS_NORMAL);
	fmt_count(jnum(s, "events.sequence"), b, sizeof(b));
	snprintf(a, sizeof(a), "events %s, %.1f/s", b, num_or(jnum(s, "events.per_second"), 0));
	append(p, r, &col, a, TS_NORMAL);
	append(p, r, &col, S, TS_DIM);
	double lb = num_or(jnum(s, "events.lost.bpf"), 0), li = num_or(jnum(s, "events.lost.inotify"), 0);
	snprintf(a, sizeof(a), "lost %.0f (bpf %.0f, inotify %.0f)", lb + li, lb, li);
	append(p, r, &col, a, lb + li > 0 ? TS_ERR : TS_NORMAL);
	append(p, r, &col, S, TS_DIM);
	char p50[16], p99[16];
	fmt_us(jnum(s, "detect_latency_us.p50"), p->utf8, p50, sizeof(p50));
	fmt_us(jnum(s, "detect_latency_us.p99"), p->utf8, p99, sizeof(p99));
	double win = jnum(s, "detect_latency_us.window_s");
	snprintf(a, sizeof(a), "latency p50 %s p99 %s", p50, p99);
	append(p, r, &col, a, num_or(jnum(s, "detect_latency_us.p99"), 0) > 1000 ? TS_WARN : TS_NORMAL);
	if (!isnan(win)) {
		snprintf(a, sizeof(a), " (%.0fs)", win);
		append(p, r, &col, a, TS_DIM);
	}
	r++;

	json_t *progs = jget(s, "bpf.programs"), *prog;
	size_t i;
	if (json_is_array(progs) && json_array_size(progs) > 0) {
		col = 0;
		row_clear(p->f, r, TS_NORMAL);
		append(p, r, &col, "bpf", TS_DIM);
		json_array_foreach(progs, i, prog) {
			double cnt = jnum(prog, "run_cnt"), ns = jnum(prog, "run_time_ns");
			fmt_count(cnt, b, sizeof(b));
			if (!isnan(cnt) && cnt > 0 && !isnan(ns))
				snprintf(a, sizeof(a), " %s %s runs %.0fns", jstr(prog, "name") ? jstr(prog, "name") : "?",
					 b, ns / cnt);
			else
				snprintf(a, sizeof(a), " %s %s runs", jstr(prog, "name") ? jstr(prog, "name") : "?", b);
			if (!append(p, r, &col, a, TS_NORMAL))
				break;
			if (i + 1 < json_array_size(progs))
				append(p, r, &col, p->utf8 ? " \u00b7" : " |", TS_DIM);
		}
		r++;
	}
	return r;
}

#define MAX_HOME_ROWS 3

static int home_count(const struct top_view *v)
{
	json_t *homes = jget(v->status, "homes");
	return json_is_array(homes) ? (int)json_array_size(homes) : 0;
}

static int home_rows(const struct top_view *v)
{
	int n = home_count(v);
	return n > MAX_HOME_ROWS ? MAX_HOME_ROWS : n;
}

static void draw_home(struct pen *p, int r, json_t *home)
{
	char a[160], b[32];
	const char *S = sep(p->utf8);
	int col = 0;
	row_clear(p->f, r, TS_NORMAL);
	append(p, r, &col, "home ", TS_DIM);
	append(p, r, &col, jstr(home, "path"), TS_BOLD);
	snprintf(a, sizeof(a), " (%s)", jstr(home, "owner") ? jstr(home, "owner") : "?");
	append(p, r, &col, a, TS_NORMAL);
	append(p, r, &col, S, TS_DIM);
	bool up = jtrue(home, "daemon.up");
	double pid = jnum(home, "daemon.pid");
	if (!isnan(pid) && pid > 0)
		snprintf(a, sizeof(a), "God %.0f %s", pid, up ? "up" : "DOWN");
	else
		snprintf(a, sizeof(a), "God %s", up ? "up" : "DOWN");
	append(p, r, &col, a, up ? TS_OK : TS_CRIT);
	append(p, r, &col, S, TS_DIM);
	fmt_duration(jnum(home, "dump.age_s"), b, sizeof(b));
	if (jtrue(home, "dump.valid")) {
		snprintf(a, sizeof(a), "dump valid, %.0f app%s, saved %s ago", num_or(jnum(home, "dump.apps"), 0),
			 num_or(jnum(home, "dump.apps"), 0) == 1 ? "" : "s", b);
		append(p, r, &col, a, TS_NORMAL);
	} else {
		const char *problem = jstr(home, "dump.problem");
		snprintf(a, sizeof(a), "dump INVALID%s%s", problem ? ": " : "", problem ? problem : "");
		append(p, r, &col, a, TS_ERR);
	}
}

/* ------------------------------------------------------------------ events */

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
		fmt_us(lat, utf8, l, sizeof(l));
		n += (size_t)snprintf(buf + n, len - n, " (seen in %s)", l);
	}
	const char *reason = jstr(ev, "event.reason");
	if (reason && (!msg || !strstr(msg, reason)) && n < len)
		snprintf(buf + n, len - n, ": %s", reason);
}

static bool event_shown(const struct top_view *v, json_t *ev)
{
	if (!v->filter[0])
		return true;
	const char *app = event_app(ev);
	return !app || strcasestr(app, v->filter);
}

static void draw_event(struct pen *p, int r, json_t *ev, int app_w)
{
	char t[16], d[512];
	const char *level = jstr(ev, "log.level");
	int st = level_style(level);
	row_clear(p->f, r, TS_NORMAL);
	fmt_clock(jstr(ev, "@timestamp"), t, sizeof(t));
	int x = 0;
	x += put(p, r, x, 8, t, TS_DIM, false, true) + 1;
	x += put(p, r, x, 4, level_tag(level), st, false, true) + 1;
	const char *app = event_app(ev);
	x += put(p, r, x, app_w, app ? app : "-", app ? TS_BOLD : TS_DIM, false, true) + 1;
	x += put(p, r, x, 18, jstr(ev, "event.action"), st, false, true) + 1;
	event_detail(ev, p->utf8, d, sizeof(d));
	put(p, r, x, p->f->w - x, d, st == TS_DIM ? TS_DIM : TS_NORMAL, false, false);
}

/* ------------------------------------------------------------------ layout */

static int header_rows(const struct top_view *v)
{
	int n = v->connected ? 0 : 1;
	if (!v->status)
		return n;
	json_t *progs = jget(v->status, "bpf.programs");
	n += 2 + (json_is_array(progs) && json_array_size(progs) > 0) + home_rows(v);
	if (home_count(v) > MAX_HOME_ROWS)
		n++;
	return n;
}

void top_pane_rows(const struct top_view *v, int h, int *app_rows, int *event_rows)
{
	int napps = top_apps(v, NULL, 0);
	int body = h - header_rows(v) - 3; /* apps title, events title, footer */
	int ev_min = body * 2 / 5 < 3 ? 3 : body * 2 / 5;
	int a = napps < 1 ? 1 : napps;
	if (a > body - ev_min)
		a = body - ev_min;
	if (a < 1)
		a = 1;
	*app_rows = a;
	*event_rows = body - a < 0 ? 0 : body - a;
}

static void draw_footer(const struct top_view *v, struct pen *p, int r)
{
	char a[160];
	int col = 0;
	row_clear(p->f, r, TS_TITLE);
	if (v->editing_filter) {
		append(p, r, &col, " Filter: ", TS_TITLE);
		append(p, r, &col, v->filter, TS_TITLE);
		append(p, r, &col, "_   Enter keep, Esc clear", TS_TITLE);
		return;
	}
	/* The connection state first, on the right: on a narrow terminal the key hints
	 * give way, never the news that the daemon is gone. */
	const char *state = v->connected ? (p->utf8 ? "\u25cf connected " : "* connected ")
					 : (p->utf8 ? "\u25cb reconnecting " : "o reconnecting ");
	int sw = top_text_width(state, p->utf8);
	put(p, r, p->f->w - sw, sw, state, v->connected ? TS_TITLE : TS_CRIT, false, true);
	snprintf(a, sizeof(a), " q quit  ? help  p %s  / filter  s sort:%s  %s PgUp/PgDn  Enter history",
		 v->paused ? "resume" : "pause", top_sort_name(v->sort), p->utf8 ? "\u2191\u2193" : "arrows");
	put(p, r, 0, p->f->w - sw - 1, a, TS_TITLE, false, false);
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

static void draw_help(struct pen *p, int r0, int r1)
{
	int r = r0;
	for (int i = 0; HELP_LINES[i] && (p->f->h == 0 || r < r1); i++, r++) {
		row_clear(p->f, r, TS_NORMAL);
		put(p, r, 1, p->f->w - 1, HELP_LINES[i], i == 0 ? TS_BOLD : TS_NORMAL, false, false);
	}
	for (; p->f->h && r < r1; r++)
		row_clear(p->f, r, TS_NORMAL);
}

static json_t *find_app(const struct top_view *v, const char *name)
{
	struct top_app apps[256];
	struct top_view all = *v;
	all.filter[0] = 0;
	int n = top_apps(&all, apps, 256);
	for (int i = 0; i < n; i++)
		if (!strcmp(apps[i].name, name))
			return apps[i].app;
	return NULL;
}

static void draw_history(const struct top_view *v, struct pen *p, int r0, int r1)
{
	char a[256];
	int r = r0, col = 0;
	const char *name = v->history_app ? v->history_app : "";
	json_t *app = find_app(v, name);
	row_clear(p->f, r, TS_TITLE);
	snprintf(a, sizeof(a), " History of %s", name);
	append(p, r, &col, a, TS_TITLE);
	append(p, r, &col, "  (newest first; Esc or Enter closes)", TS_TITLE);
	r++;
	if (app) {
		col = 0;
		row_clear(p->f, r, TS_NORMAL);
		const char *status = jstr(app, "status");
		snprintf(a, sizeof(a), " pid %.0f ", num_or(jnum(app, "pid"), 0));
		append(p, r, &col, a, TS_NORMAL);
		append(p, r, &col, status ? status : "?", status_style(status));
		snprintf(a, sizeof(a), "%sstate %s%srestarts by PM2 %.0f%srecoveries by tier %.0f/%.0f/%.0f",
			 sep(p->utf8), jstr(app, "state") ? jstr(app, "state") : "?", sep(p->utf8),
			 num_or(jnum(app, "restarts_pm2"), 0), sep(p->utf8), num_or(jnum(app, "recoveries.1"), 0),
			 num_or(jnum(app, "recoveries.2"), 0), num_or(jnum(app, "recoveries.3"), 0));
		append(p, r, &col, a, TS_NORMAL);
		const char *at = jstr(app, "last_exit.at");
		if (at) {
			char t[16];
			fmt_clock(at, t, sizeof(t));
			snprintf(a, sizeof(a), "%slast exit at %s", sep(p->utf8), t);
			append(p, r, &col, a, TS_NORMAL);
		}
		r++;
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
		row_clear(p->f, r, TS_DIM);
		put(p, r++, 1, p->f->w - 1, "no event for this app in the recent history", TS_DIM, false, false);
	}
	for (; p->f->h && r < r1; r++)
		row_clear(p->f, r, TS_NORMAL);
}

static void draw_too_small(struct pen *p)
{
	char a[128];
	for (int r = 0; r < p->f->h; r++)
		row_clear(p->f, r, TS_NORMAL);
	snprintf(a, sizeof(a), "amexbpf top needs %dx%d; this terminal is %dx%d", TOP_MIN_W, TOP_MIN_H,
		 p->f->w, p->f->h);
	if (p->f->h > 0)
		put(p, p->f->h / 2, 0, p->f->w, a, TS_WARN, false, false);
}

void top_render(const struct top_view *v, struct top_frame *f)
{
	struct pen p = { .f = f, .utf8 = v->utf8 };
	f->rows = 0;
	if (f->w <= 0)
		return;
	if (f->h && (f->w < TOP_MIN_W || f->h < TOP_MIN_H)) {
		frame_grow(f, f->h);
		draw_too_small(&p);
		return;
	}
	if (f->h)
		frame_grow(f, f->h);
	int r = draw_header(v, &p, 0);
	json_t *homes = jget(v->status, "homes"), *home;
	size_t i;
	if (json_is_array(homes))
		json_array_foreach(homes, i, home) {
			if (i == MAX_HOME_ROWS) {
				char a[64];
				row_clear(f, r, TS_DIM);
				snprintf(a, sizeof(a), "... and %zu more PM2 homes", json_array_size(homes) - i);
				put(&p, r++, 0, f->w, a, TS_DIM, false, false);
				break;
			}
			draw_home(&p, r++, home);
		}
	int footer = f->h ? f->h - 1 : -1;
	if (v->overlay != OVERLAY_NONE) {
		if (v->overlay == OVERLAY_HELP)
			draw_help(&p, r, footer);
		else
			draw_history(v, &p, r, footer);
		if (!f->h)
			footer = f->rows;
		draw_footer(v, &p, footer);
		return;
	}

	int napps = top_apps(v, NULL, 0);
	struct top_app *apps = calloc((size_t)(napps ? napps : 1), sizeof(*apps));
	napps = apps ? top_apps(v, apps, napps) : 0;
	int app_rows, event_rows;
	if (f->h)
		top_pane_rows(v, f->h, &app_rows, &event_rows);
	else {
		app_rows = napps ? napps : 1;
		event_rows = 20;
	}
	struct cols c = app_cols(f->w);
	draw_app_header(&p, r++, &c);
	if (napps > app_rows) {
		char a[48];
		int last = v->app_top + app_rows > napps ? napps : v->app_top + app_rows;
		snprintf(a, sizeof(a), " %d-%d of %d ", v->app_top + 1, last, napps);
		int w = top_text_width(a, p.utf8);
		put(&p, r - 1, f->w - w, w, a, TS_TITLE, false, false);
	}
	for (int k = 0; k < app_rows; k++, r++) {
		int idx = v->app_top + k;
		if (apps && idx >= 0 && idx < napps)
			draw_app(&p, r, &c, apps[idx].app, idx == v->selected && !v->editing_filter && f->h);
		else {
			row_clear(f, r, TS_NORMAL);
			if (k == 0)
				put(&p, r, 1, f->w - 1,
				    v->filter[0] ? "no app matches the filter" : v->status ? "no PM2 app watched" : "",
				    TS_DIM, false, false);
		}
	}
	free(apps);

	/* The event pane: newest first; a pause holds the newest shown where it was. */
	char a[128];
	int col = 0;
	row_clear(f, r, TS_TITLE);
	unsigned long long skip_new = v->paused && v->events && v->events->total > v->paused_total
					      ? v->events->total - v->paused_total : 0;
	snprintf(a, sizeof(a), " EVENTS newest first%s", v->event_scroll ? " (scrolled)" : "");
	append(&p, r, &col, a, TS_TITLE);
	if (v->paused) {
		snprintf(a, sizeof(a), "  PAUSED, %llu new", skip_new);
		append(&p, r, &col, a, TS_WARN);
	}
	if (v->filter[0]) {
		append(&p, r, &col, "  filter: ", TS_TITLE);
		append(&p, r, &col, v->filter, TS_TITLE);
	}
	r++;
	int app_w = f->w >= 120 ? 20 : 16;
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
		draw_event(&p, r++, ev, app_w);
		drawn++;
	}
	if (f->h)
		for (; drawn < event_rows; drawn++)
			row_clear(f, r++, TS_NORMAL);
	if (!f->h && drawn == 0) {
		row_clear(f, r, TS_DIM);
		put(&p, r++, 1, f->w - 1, "no event yet", TS_DIM, false, false);
	}
	draw_footer(v, &p, f->h ? footer : r);
}
