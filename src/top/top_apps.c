/* SPDX-License-Identifier: MIT */
/* `amexbpf top`: the apps table. Which apps are shown (every home's, filtered by name),
 * in what order (the sort key; the worst status first when sorting by status), and one
 * row each: status in colour ("conflict" when parked for a port another process holds), restarts by PM2 and recoveries by tier, RSS with a bar
 * against its memory limit, the last exit, the recovery budget left. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "top/top_draw.h"

int top_status_style(const char *status)
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
struct app_cols {
	int name, pid, status, uptime, rst, rec, mem, bar, last, budget;
};

static struct app_cols app_cols(int w)
{
	struct app_cols c = { .pid = 7, .status = 10, .uptime = 6, .rst = 4, .rec = 6, .mem = 5,
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
static void draw_bar(struct top_pen *p, int r, int c, int w, double rss, double limit)
{
	static const char *const eighths[8] = { "", "\u258f", "\u258e", "\u258d", "\u258c",
						"\u258b", "\u258a", "\u2589" };
	if (isnan(rss) || isnan(limit) || limit <= 0) {
		top_put(p, r, c, w, "", TS_NORMAL, false, true);
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

static void draw_app_header(struct top_pen *p, int r, const struct app_cols *c)
{
	top_row_clear(p->f, r, TS_TITLE);
	int x = 0;
	x += top_put(p, r, x, c->name, "NAME", TS_TITLE, false, true) + 1;
	x += top_put(p, r, x, c->pid, "PID", TS_TITLE, true, true) + 1;
	x += top_put(p, r, x, c->status, "STATUS", TS_TITLE, false, true) + 1;
	x += top_put(p, r, x, c->uptime, "UPTIME", TS_TITLE, true, true) + 1;
	x += top_put(p, r, x, c->rst, "RST", TS_TITLE, true, true) + 1;
	x += top_put(p, r, x, c->rec, "T1/2/3", TS_TITLE, true, true) + 1;
	x += top_put(p, r, x, c->mem + 1 + c->bar, "MEM/LIMIT", TS_TITLE, false, true) + 1;
	x += top_put(p, r, x, c->last, "LAST EXIT", TS_TITLE, false, true) + 1;
	top_put(p, r, x, c->budget, "BUDGET", TS_TITLE, true, true);
}

static void draw_app(struct top_pen *p, int r, const struct app_cols *c, json_t *app, bool selected)
{
	char b[64];
	int base = selected ? TS_SELECTED : TS_NORMAL;
	top_row_clear(p->f, r, base);
	int x = 0;
	/* A selected row is drawn in one style so the highlight reads as one bar. */
#define ST(s) (selected ? TS_SELECTED : (s))
	x += top_put(p, r, x, c->name, jstr(app, "name"), ST(TS_BOLD), false, true) + 1;
	double pid = jnum(app, "pid");
	if (isnan(pid) || pid <= 0)
		snprintf(b, sizeof(b), "-");
	else
		snprintf(b, sizeof(b), "%.0f", pid);
	x += top_put(p, r, x, c->pid, b, base, true, true) + 1;
	const char *status = jstr(app, "status");
	json_t *inst = jget(app, "instances");
	bool conflict = json_is_object(jget(app, "port_conflict"));
	if (conflict) /* parked for a port another process holds: the history view says who */
		snprintf(b, sizeof(b), "conflict");
	else if (json_array_size(inst) > 1) /* an app of N processes: how many run, "2/2 online" */
		snprintf(b, sizeof(b), "%.0f/%zu %s", num_or(jnum(app, "instances_online"), 0),
			 json_array_size(inst), status ? status : "?");
	else
		snprintf(b, sizeof(b), "%s", status ? status : "?");
	x += top_put(p, r, x, c->status, b, ST(conflict ? TS_CRIT : top_status_style(status)), false,
		     true) + 1;
	if (status && !strcmp(status, "online"))
		top_fmt_duration(jnum(app, "uptime_s"), b, sizeof(b));
	else
		snprintf(b, sizeof(b), "-");
	x += top_put(p, r, x, c->uptime, b, base, true, true) + 1;
	top_fmt_count(jnum(app, "restarts_pm2"), b, sizeof(b));
	x += top_put(p, r, x, c->rst, b, base, true, true) + 1;
	double t1 = jnum(app, "recoveries.1"), t2 = jnum(app, "recoveries.2"), t3 = jnum(app, "recoveries.3");
	snprintf(b, sizeof(b), "%.0f/%.0f/%.0f", num_or(t1, 0), num_or(t2, 0), num_or(t3, 0));
	x += top_put(p, r, x, c->rec, b, num_or(t1, 0) + num_or(t2, 0) + num_or(t3, 0) > 0 ? ST(TS_WARN) : base,
		 true, true) + 1;
	double rss = jnum(app, "rss_bytes"), limit = jnum(app, "memory_limit_bytes");
	top_fmt_bytes(rss, b, sizeof(b));
	x += top_put(p, r, x, c->mem, b, base, true, true) + 1;
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
		x += top_put(p, r, x, c->last, b, ST(st), false, true) + 1;
	} else {
		x += top_put(p, r, x, c->last, "-", base, false, true) + 1;
	}
	double left = jnum(app, "budget_left");
	if (jtrue(app, "parked"))
		top_put(p, r, x, c->budget, "parked", ST(TS_CRIT), true, true);
	else if (!isnan(left)) {
		snprintf(b, sizeof(b), "%.0f left", left);
		top_put(p, r, x, c->budget, b, left <= 1 ? ST(TS_WARN) : base, true, true);
	} else
		top_put(p, r, x, c->budget, "-", base, true, true);
#undef ST
}

/* A name the filter hides is still found: the history overlay outlives a new filter. */
json_t *top_find_app(const struct top_view *v, const char *name)
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

int top_draw_apps(const struct top_view *v, struct top_pen *p, int r, int app_rows)
{
	int napps = top_apps(v, NULL, 0);
	struct top_app *apps = calloc((size_t)(napps ? napps : 1), sizeof(*apps));
	napps = apps ? top_apps(v, apps, napps) : 0;
	struct app_cols c = app_cols(p->f->w);
	draw_app_header(p, r++, &c);
	if (napps > app_rows) {
		char a[48];
		int last = v->app_top + app_rows > napps ? napps : v->app_top + app_rows;
		snprintf(a, sizeof(a), " %d-%d of %d ", v->app_top + 1, last, napps);
		int w = top_text_width(a, p->utf8);
		top_put(p, r - 1, p->f->w - w, w, a, TS_TITLE, false, false);
	}
	for (int k = 0; k < app_rows; k++, r++) {
		int idx = v->app_top + k;
		if (apps && idx >= 0 && idx < napps)
			draw_app(p, r, &c, apps[idx].app, idx == v->selected && !v->editing_filter && p->f->h);
		else {
			top_row_clear(p->f, r, TS_NORMAL);
			if (k == 0)
				top_put(p, r, 1, p->f->w - 1,
					v->filter[0] ? "no app matches the filter" : v->status ? "no PM2 app watched" : "",
					TS_DIM, false, false);
		}
	}
	free(apps);

	return r;
}
