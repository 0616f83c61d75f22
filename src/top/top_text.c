/* SPDX-License-Identifier: MIT */
/* `amexbpf top`: text into cells, and numbers into short text. Everything shown comes from
 * the daemon and, through it, from users' PM2 homes: app names, messages and paths are
 * untrusted, so every string is drawn character by character and control characters
 * (terminal escapes) are replaced, never written. Width is counted as the terminal will:
 * double-width characters take two cells, zero-width ones none. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include "top/top_draw.h"

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

void top_frame_grow(struct top_frame *f, int rows)
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

/* Row r becomes blank in style; returns false past a fixed height. */
bool top_row_clear(struct top_frame *f, int r, int style)
{
	if (f->h && r >= f->h)
		return false;
	top_frame_grow(f, r + 1);
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

/* Draws s at (r, c) in at most w columns (padded with blanks when pad), cut with an
 * ellipsis when longer; right-aligned when right. Returns the columns used. */
int top_put(struct top_pen *p, int r, int c, int w, const char *s, int style, bool right, bool pad)
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
bool top_append(struct top_pen *p, int r, int *col, const char *s, int style)
{
	int room = p->f->w - *col;
	if (room <= 0)
		return false;
	*col += top_put(p, r, *col, room, s, style, false, false);
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

/* ------------------------------------------------------------------ numbers as text */

void top_fmt_duration(double s, char *buf, size_t len)
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

void top_fmt_bytes(double b, char *buf, size_t len)
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

void top_fmt_us(double us, bool utf8, char *buf, size_t len)
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

void top_fmt_count(double n, char *buf, size_t len)
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
void top_fmt_clock(const char *ts, char *buf, size_t len)
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

