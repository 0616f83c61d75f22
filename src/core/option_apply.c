/* SPDX-License-Identifier: MIT */
/* A value of a row of the option table checked and stored (the one place where an option's
 * range is checked), the defaults set that way, what a row accepts, and a row's lines of
 * --help. See option_table.h. */
#include <stdio.h>
#include <string.h>

#include "core/option_table.h"
#include "core/option_value.h"

static bool in_range(const struct amx_option *r, double v)
{
	return (r->min_open ? v > r->min : v >= r->min) && v <= r->max;
}

static int choice_index(const struct amx_option *r, const char *v)
{
	for (int i = 0; r->choices && r->choices[i]; i++)
		if (!strcmp(r->choices[i], v))
			return i;
	return -1;
}

static bool path_ok(const struct amx_option *r, const char *v, enum amx_opt_origin from)
{
	if (!*v)
		return false;
	return from != AMX_FROM_FILE || v[0] == '/' || choice_index(r, v) >= 0;
}

/* "0 to 30", "more than 0, at most 30" */
static void range_text(const struct amx_option *r, char *buf, size_t len)
{
	if (r->min_open)
		snprintf(buf, len, "more than %.10g, at most %.10g", r->min, r->max);
	else
		snprintf(buf, len, "%.10g to %.10g", r->min, r->max);
}

const char *amx_option_accepts(const struct amx_option *r, enum amx_opt_origin from, char *buf,
			       size_t len)
{
	char range[96];
	range_text(r, range, sizeof(range));
	switch (r->type) {
	case AMX_OPT_SECONDS:
		snprintf(buf, len, "seconds, %s", range);
		break;
	case AMX_OPT_COUNT:
		snprintf(buf, len, "a whole number, %s", range);
		break;
	case AMX_OPT_NUMBER:
		snprintf(buf, len, "a number, %s", range);
		break;
	case AMX_OPT_BYTES:
		snprintf(buf, len, "bytes, or with K, M, G (300M, 1G); more than 0, at most 2^50");
		break;
	case AMX_OPT_BUDGET:
		snprintf(buf, len, "N/S: %s attempts in S seconds, more than 0, at most %.10g",
			 range, AMX_SECONDS_MAX);
		break;
	case AMX_OPT_BOOL:
		snprintf(buf, len, "yes or no (true/false, on/off, 1/0)");
		break;
	case AMX_OPT_CHOICE:
	case AMX_OPT_WORD: {
		size_t used = (size_t)snprintf(buf, len, "one of:");
		for (int i = 0; r->choices[i] && used < len; i++)
			used += (size_t)snprintf(buf + used, len - used, "%s %s", i ? "," : "",
						 r->choices[i]);
		break;
	}
	case AMX_OPT_STRING:
		snprintf(buf, len, "not empty");
		break;
	case AMX_OPT_URL:
		snprintf(buf, len, "http://HOST[:PORT][/PATH], no blanks, quotes or backslashes");
		break;
	case AMX_OPT_LIST:
		if (r->accepts) {
			snprintf(buf, len, "%s", r->accepts);
			break;
		}
		/* a list of paths */
		__attribute__((fallthrough));
	case AMX_OPT_PATH:
	case AMX_OPT_FILE:
		snprintf(buf, len, "%s%s%s", from == AMX_FROM_FILE ? "an absolute path" : "a path",
			 r->type == AMX_OPT_FILE ? " of a regular file" : "",
			 r->choices ? " or -" : "");
		break;
	}
	return buf;
}

static const char *name_of(const struct amx_option *r, enum amx_opt_origin from, char *buf,
			   size_t len)
{
	if (r->flag && (from == AMX_FROM_FLAG || !r->key))
		snprintf(buf, len, "--%s", r->flag);
	else
		snprintf(buf, len, "%s", r->key);
	return buf;
}

static bool bad(const struct amx_option *r, const char *v, enum amx_opt_origin from, char *msg,
		size_t len)
{
	char name[64], accepts[160];
	snprintf(msg, len, "bad value for %s: %s (%s)", name_of(r, from, name, sizeof(name)), v,
		 amx_option_accepts(r, from, accepts, sizeof(accepts)));
	return false;
}

static bool list_add(const struct amx_option *r, const char *v, enum amx_opt_origin from,
		     void *base, char *msg, size_t len)
{
	const char **list = (const char **)((char *)base + r->field);
	int *n = (int *)((char *)base + r->field2);
	if (r->valid ? !r->valid(v) : !path_ok(r, v, from))
		return bad(r, v, from, msg, len);
	if (*n >= (int)r->max) {
		char name[64];
		snprintf(msg, len, "too many %s (at most %.10g)", name_of(r, from, name, sizeof(name)),
			 r->max);
		return false;
	}
	list[(*n)++] = v;
	return true;
}

/* A field of a row, written as bytes: the table knows its type, the compiler does not. */
static void store(void *base, size_t field, const void *v, size_t n)
{
	memcpy((char *)base + field, v, n);
}

bool amx_option_set(const struct amx_option *r, const char *v, enum amx_opt_origin from,
		    void *base, char *msg, size_t len)
{
	double d;
	unsigned u;
	long long b;
	bool yes;
	struct amx_probe_url url;
	int i;

	switch (r->type) {
	case AMX_OPT_SECONDS:
	case AMX_OPT_NUMBER:
		if (!(r->type == AMX_OPT_SECONDS ? amx_parse_seconds(v, &d) : amx_parse_number(v, &d)) ||
		    !in_range(r, d))
			return bad(r, v, from, msg, len);
		store(base, r->field, &d, sizeof(d));
		return true;
	case AMX_OPT_COUNT:
		if (!amx_parse_count(v, &u) || !in_range(r, u))
			return bad(r, v, from, msg, len);
		store(base, r->field, &u, sizeof(u));
		return true;
	case AMX_OPT_BYTES:
		if (!amx_parse_bytes(v, &b))
			return bad(r, v, from, msg, len);
		store(base, r->field, &b, sizeof(b));
		return true;
	case AMX_OPT_BUDGET:
		if (!amx_parse_budget(v, &u, &d) || !in_range(r, u))
			return bad(r, v, from, msg, len);
		store(base, r->field, &u, sizeof(u));
		store(base, r->field2, &d, sizeof(d));
		return true;
	case AMX_OPT_BOOL:
		if (!amx_parse_bool(v, &yes))
			return bad(r, v, from, msg, len);
		yes = yes != r->negated;
		store(base, r->field, &yes, sizeof(yes));
		return true;
	case AMX_OPT_CHOICE:
		if ((i = choice_index(r, v)) < 0)
			return bad(r, v, from, msg, len);
		store(base, r->field, &i, sizeof(i));
		return true;
	case AMX_OPT_WORD:
		if (choice_index(r, v) < 0)
			return bad(r, v, from, msg, len);
		break;
	case AMX_OPT_STRING:
		if (!*v)
			return bad(r, v, from, msg, len);
		break;
	case AMX_OPT_PATH:
	case AMX_OPT_FILE:
		if (!path_ok(r, v, from))
			return bad(r, v, from, msg, len);
		break;
	case AMX_OPT_URL:
		if (!amx_probe_url_parse(v, &url))
			return bad(r, v, from, msg, len);
		break;
	case AMX_OPT_LIST:
		return list_add(r, v, from, base, msg, len);
	}
	store(base, r->field, &v, sizeof(v));
	return true;
}

void amx_option_clear(const struct amx_option *r, void *base)
{
	if (r->type != AMX_OPT_LIST)
		return;
	*(int *)((char *)base + r->field2) = 0;
	/* The [home] sections' ecosystems are kept by index of homes[]: they go with them. */
	if (r->section == AMX_SECTION_GLOBAL && r->field == offsetof(struct amx_options, homes)) {
		struct amx_options *o = base;
		memset(o->home_ecosystem, 0, sizeof(o->home_ecosystem));
		memset(o->home_pm2, 0, sizeof(o->home_pm2));
		memset(o->home_node, 0, sizeof(o->home_node));
	}
}

void amx_options_defaults(struct amx_options *o)
{
	memset(o, 0, sizeof(*o));
	for (size_t i = 0; i < amx_option_count; i++) {
		const struct amx_option *r = &amx_option_table[i];
		char buf[64], msg[256];
		const char *def = amx_option_default(r, buf, sizeof(buf));
		/* A default that does not parse is a bug of the table; test_option_table
		 * catches it, and the zero value stays. Only numbers are formatted into buf
		 * (the policy's defaults), so no string field is left pointing at it. */
		if (r->section == AMX_SECTION_GLOBAL && def)
			(void)amx_option_set(r, def, AMX_FROM_DEFAULT, o, msg, sizeof(msg));
	}
}

/* ---------------------------------------------------------------- --help */

#define HELP_COLUMN 24

/* buf[*used..] = the text, cut at len; *used never passes len - 1. */
static void put(char *buf, size_t len, size_t *used, const char *text, size_t n)
{
	if (*used + 1 >= len)
		return;
	if (n > len - 1 - *used)
		n = len - 1 - *used;
	memcpy(buf + *used, text, n);
	*used += n;
	buf[*used] = '\0';
}

/* A word of the help text: \1 stands for a blank that does not break the line. */
static void put_word(char *buf, size_t len, size_t *used, const char *word, size_t n)
{
	size_t at = *used;
	put(buf, len, used, word, n);
	for (size_t i = at; i < *used; i++)
		if (buf[i] == '\1')
			buf[i] = ' ';
}

const char *amx_option_help(const struct amx_option *r, int width, char *buf, size_t len)
{
	char head[96], def[64], text[512];
	size_t used = 0;
	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (!r->flag)
		return buf;
	if (r->short_flag)
		snprintf(head, sizeof(head), "  -%c, --%s%s%s", r->short_flag, r->flag,
			 r->metavar ? " " : "", r->metavar ? r->metavar : "");
	else
		snprintf(head, sizeof(head), "  --%s%s%s", r->flag, r->metavar ? " " : "",
			 r->metavar ? r->metavar : "");
	const char *d = r->implied ? NULL : amx_option_default(r, def, sizeof(def));
	/* "(default 10)" is one word for the wrapping: \1 is its blank */
	snprintf(text, sizeof(text), "%s%s%s%s", r->help ? r->help : "", d ? " (default\1" : "",
		 d ? d : "", d ? ")" : "");
	/* The head, then the words from HELP_COLUMN (or two blanks after a long head). */
	put(buf, len, &used, head, strlen(head));
	int col = (int)strlen(head);
	int pad = col < HELP_COLUMN - 1 ? HELP_COLUMN - col : 2;
	put(buf, len, &used, "                        ", (size_t)pad);
	col += pad;
	bool first = true;
	for (const char *p = text; *p;) {
		size_t w = strcspn(p, " ");
		if (!first && col + 1 + (int)w > width) {
			put(buf, len, &used, "\n                        ", 1 + HELP_COLUMN);
			col = HELP_COLUMN;
		} else if (!first) {
			put(buf, len, &used, " ", 1);
			col++;
		}
		put_word(buf, len, &used, p, w);
		col += (int)w;
		first = false;
		p += w;
		while (*p == ' ')
			p++;
	}
	put(buf, len, &used, "\n", 1);
	return buf;
}
