/* SPDX-License-Identifier: MIT */
/* Parse PM2's dump.pm2 and `pm2 jlist` output. Both are written by an unprivileged user,
 * so the raw bytes are checked (size, UTF-8, nesting) before jansson sees them, and every
 * field we use is type-checked and bounded. */
#include "core/dump.h"

#include <jansson.h>
#include <malloc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Deeper than any real dump (array > app > env > value is 3); a deep nest is an attack. */
#define AMX_DUMP_MAX_DEPTH 64
/* How many "[" lines of noise we try before giving up on jlist output. */
#define AMX_JLIST_MAX_STARTS 64

static bool is_json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool only_whitespace(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!is_json_space(buf[i]))
			return false;
	return true;
}

enum utf8_verdict { UTF8_VALID, UTF8_INVALID, UTF8_CUT_AT_END };

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
 * A sequence that is fine so far but cut by the end of the buffer is reported apart: that
 * is a truncated file, not a bad one. */
static enum utf8_verdict check_utf8(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t need;
		unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			need = 1;
		} else if (c >= 0xE0 && c <= 0xEF) {
			need = 2;
			if (c == 0xE0)
				lo = 0xA0; /* overlong */
			if (c == 0xED)
				hi = 0x9F; /* UTF-16 surrogates */
		} else if (c >= 0xF0 && c <= 0xF4) {
			need = 3;
			if (c == 0xF0)
				lo = 0x90; /* overlong */
			if (c == 0xF4)
				hi = 0x8F; /* above U+10FFFF */
		} else {
			return UTF8_INVALID;
		}
		size_t have = len - i - 1;

		for (size_t k = 1; k <= need && k <= have; k++) {
			unsigned char min = k == 1 ? lo : 0x80, max = k == 1 ? hi : 0xBF;

			if (s[i + k] < min || s[i + k] > max)
				return UTF8_INVALID;
		}
		if (have < need)
			return UTF8_CUT_AT_END;
		i += need + 1;
	}
	return UTF8_VALID;
}

/* One linear pass over the bytes before jansson sees them: the deepest nesting of [ and {
 * and the number of values (each [, {, string, key and scalar counts one), outside
 * strings. Iterative and allocation-free, so a gigantic nest or a file of millions of tiny
 * values is refused before jansson's recursive, allocating parser runs. */
static bool shape_over_limits(const char *buf, size_t len)
{
	int depth = 0;
	size_t values = 0;
	bool in_string = false;
	char prev = '[';

	for (size_t i = 0; i < len; i++) {
		char c = buf[i];

		if (in_string) {
			if (c == '\\')
				i++; /* skip the escaped character, which may be a quote */
			else if (c == '"')
				in_string = false;
			prev = c;
			continue;
		}
		if (c == '"') {
			in_string = true;
			values++;
		} else if (c == '[' || c == '{') {
			values++;
			if (++depth > AMX_DUMP_MAX_DEPTH)
				return true;
		} else if (c == ']' || c == '}') {
			if (depth > 0)
				depth--;
		} else if (strchr("-0123456789tfn", c) && c &&
			   (prev == '[' || prev == ',' || prev == ':' || is_json_space(prev))) {
			values++; /* the first character of a number, true, false or null */
		}
		if (values > AMX_DUMP_MAX_VALUES)
			return true;
		prev = c;
	}
	return false;
}

/* jansson's memory during a parse has a fixed budget (AMX_DUMP_PARSE_BUDGET), whatever
 * the shape of the file: the allocator below counts what this thread's parse holds
 * (malloc_usable_size, so no header: memory jansson hands out elsewhere, such as
 * json_dumps output, stays free()able) and fails an allocation over the budget; jansson
 * then stops with an error. Outside a parse it is plain malloc/free. */
static __thread bool budget_on, budget_hit;
static __thread size_t budget_used, budget_peak;

static void *budget_malloc(size_t n)
{
	if (budget_on && n > AMX_DUMP_PARSE_BUDGET - budget_used) {
		budget_hit = true;
		return NULL;
	}
	void *p = malloc(n);

	if (p && budget_on) {
		budget_used += malloc_usable_size(p);
		if (budget_used > budget_peak)
			budget_peak = budget_used;
		if (budget_used > AMX_DUMP_PARSE_BUDGET) { /* usable size rounded it over */
			budget_used -= malloc_usable_size(p);
			budget_hit = true;
			free(p);
			return NULL;
		}
	}
	return p;
}

static void budget_free(void *p)
{
	if (p && budget_on) {
		size_t n = malloc_usable_size(p);

		budget_used = n < budget_used ? budget_used - n : 0;
	}
	free(p);
}

__attribute__((constructor)) static void budget_install(void)
{
	json_set_alloc_funcs(budget_malloc, budget_free);
}

size_t amx_dump_parse_peak(void)
{
	return budget_peak;
}

static enum amx_dump_problem check_raw_bytes(const char *buf, size_t len)
{
	if (len > AMX_DUMP_MAX_BYTES)
		return AMX_DUMP_TOO_BIG;
	if (len == 0 || only_whitespace(buf, len))
		return AMX_DUMP_EMPTY;
	switch (check_utf8((const unsigned char *)buf, len)) {
	case UTF8_INVALID:
		return AMX_DUMP_BAD_UTF8;
	case UTF8_CUT_AT_END:
		return AMX_DUMP_NOT_JSON;
	case UTF8_VALID:
		break;
	}
	if (shape_over_limits(buf, len))
		return AMX_DUMP_TOO_BIG;
	return AMX_DUMP_OK;
}

/* --- field readers: each returns false when the field is present with a wrong type or an
 * out-of-range value; an absent field (or JSON null) leaves the default in place. --- */

static bool read_bounded_string(json_t *obj, const char *key, char *dst, size_t dst_size,
				bool required)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return !required;
	if (!json_is_string(v))
		return false;
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);

	if (n >= dst_size)
		return false;
	if (strlen(s) != n) /* an embedded NUL (\u0000) would cut the string short */
		return false;
	if (required && n == 0)
		return false;
	memcpy(dst, s, n + 1);
	return true;
}

/* The "" of an absent path: never freed. */
static const char no_path[] = "";

/* Like read_bounded_string, into a string of its own (no_path when absent or empty). */
static bool read_bounded_path(json_t *obj, const char *key, const char **dst)
{
	json_t *v = json_object_get(obj, key);

	*dst = no_path;
	if (!v || json_is_null(v))
		return true;
	if (!json_is_string(v))
		return false;
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);

	if (n >= AMX_PATH_MAX || strlen(s) != n) /* too long, or an embedded NUL */
		return false;
	if (n == 0)
		return true;
	char *copy = strdup(s);
	if (!copy)
		return false;
	*dst = copy;
	return true;
}

static void free_path(const char *p)
{
	if (p && p != no_path)
		free((char *)p);
}

/* A JSON number as a non-negative int64; reals are accepted when finite (truncated). */
static bool number_as_count(json_t *v, int64_t *out)
{
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);

		if (i < 0)
			return false;
		*out = (int64_t)i;
		return true;
	}
	double d = json_real_value(v);

	/* 9.2e18 keeps the conversion inside int64_t */
	if (!isfinite(d) || d < 0 || d >= 9.2e18)
		return false;
	*out = (int64_t)d;
	return true;
}

/* Only digits, no sign, no spaces; -1 when invalid or overflowing. */
static int64_t parse_plain_count(const char *s, const char **end)
{
	int64_t v = 0;
	const char *p = s;

	if (!s || *s < '0' || *s > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		int d = *p - '0';

		if (v > (INT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*end = p;
	return v;
}

static int64_t parse_count_string(const char *s)
{
	const char *end;
	int64_t v = parse_plain_count(s, &end);

	return (v < 0 || *end) ? -1 : v;
}

/* A number, or a string read by parse_string; null or absent leaves *out alone. */
static bool read_count(json_t *obj, const char *key, int64_t (*parse_string)(const char *),
		       int64_t *out)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return true;
	if (json_is_number(v))
		return number_as_count(v, out);
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return false;
	int64_t parsed = parse_string(json_string_value(v));

	if (parsed < 0)
		return false;
	*out = parsed;
	return true;
}

static bool read_int_id(json_t *obj, const char *key, int *out)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return true;
	if (!json_is_integer(v))
		return false;
	json_int_t i = json_integer_value(v);

	if (i < 0 || i > INT32_MAX)
		return false;
	*out = (int)i;
	return true;
}

static bool read_bool(json_t *obj, const char *key, bool *out)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return true;
	if (!json_is_boolean(v))
		return false;
	*out = json_is_true(v);
	return true;
}

static bool read_status(json_t *obj, enum amx_app_status *out)
{
	json_t *v = json_object_get(obj, "status");

	if (!v || json_is_null(v))
		return true;
	if (!json_is_string(v))
		return false;
	/* A status we do not know (a newer PM2) is not an error: it stays UNKNOWN. */
	*out = amx_app_status_from(json_string_value(v));
	return true;
}

/* NODE_APP_INSTANCE is also an ordinary env key a user may set to anything: a value that
 * is not a small number is "absent", never a reason to call the dump invalid. */
static bool read_instance(json_t *obj, int *out)
{
	json_t *v = json_object_get(obj, "NODE_APP_INSTANCE");

	if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) < INT32_MAX)
		*out = (int)json_integer_value(v);
	return true;
}

static bool read_exec_mode(json_t *obj, bool *cluster)
{
	json_t *v = json_object_get(obj, "exec_mode");

	*cluster = json_is_string(v) && strcmp(json_string_value(v), "cluster_mode") == 0;
	return true;
}

/* The fields dump.pm2 holds at the top of each app, and jlist holds inside pm2_env. An app
 * started with `instances` appears once per instance, each with its own pm_pid_path and
 * NODE_APP_INSTANCE. */
static bool read_env_fields(json_t *env, struct amx_dump_app *app)
{
	return read_instance(env, &app->node_app_instance) &&
	       read_exec_mode(env, &app->cluster) &&
	       read_bounded_path(env, "pm_pid_path", &app->pid_path) &&
	       read_bounded_path(env, "pm_err_log_path", &app->err_log_path) &&
	       read_bounded_string(env, "namespace", app->namespace_, sizeof(app->namespace_),
				   false) &&
	       read_status(env, &app->status) && read_bool(env, "autorestart", &app->autorestart) &&
	       read_count(env, "max_restarts", parse_count_string, &app->max_restarts) &&
	       read_count(env, "min_uptime", amx_parse_duration_ms, &app->min_uptime_ms) &&
	       read_count(env, "max_memory_restart", amx_parse_size, &app->max_memory_bytes);
}

static void set_app_defaults(struct amx_dump_app *app)
{
	memset(app, 0, sizeof(*app));
	app->status = AMX_ST_UNKNOWN;
	app->autorestart = true;
	app->max_restarts = -1;
	app->min_uptime_ms = -1;
	app->max_memory_bytes = -1;
	app->pm_id = -1;
	app->node_app_instance = -1;
	app->pid = 0;
	app->pid_path = no_path;
	app->err_log_path = no_path;
}

static void free_apps(struct amx_dump_app *apps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free_path(apps[i].pid_path);
		free_path(apps[i].err_log_path);
	}
	free(apps);
}

static bool read_dump_app(json_t *obj, struct amx_dump_app *app)
{
	return read_bounded_string(obj, "name", app->name, sizeof(app->name), true) &&
	       read_env_fields(obj, app);
}

static bool read_jlist_app(json_t *obj, struct amx_dump_app *app)
{
	json_t *env = json_object_get(obj, "pm2_env");

	if (!json_is_object(env))
		return false;
	return read_bounded_string(obj, "name", app->name, sizeof(app->name), true) &&
	       read_int_id(obj, "pm_id", &app->pm_id) && read_int_id(obj, "pid", &app->pid) &&
	       read_env_fields(env, app);
}

typedef bool (*app_reader)(json_t *obj, struct amx_dump_app *app);

static enum amx_dump_problem read_apps(json_t *root, app_reader read_app, struct amx_dump *out)
{
	if (!json_is_array(root))
		return AMX_DUMP_NOT_ARRAY;
	size_t n = json_array_size(root);

	if (n > AMX_DUMP_MAX_APPS)
		return AMX_DUMP_TOO_BIG;
	if (n == 0)
		return AMX_DUMP_OK;

	struct amx_dump_app *apps = malloc(n * sizeof(*apps));

	if (!apps)
		return AMX_DUMP_TOO_BIG; /* no memory for it is, for us, too big */
	for (size_t i = 0; i < n; i++) {
		json_t *obj = json_array_get(root, i);

		set_app_defaults(&apps[i]);
		if (!json_is_object(obj) || !read_app(obj, &apps[i])) {
			free_apps(apps, i + 1);
			return AMX_DUMP_BAD_APP;
		}
	}
	out->apps = apps;
	out->n_apps = n;
	return AMX_DUMP_OK;
}

static enum amx_dump_problem parse_with(const char *buf, size_t len, size_t json_flags,
					app_reader read_app, struct amx_dump *out)
{
	enum amx_dump_problem p = check_raw_bytes(buf, len);

	if (p != AMX_DUMP_OK)
		return p;

	json_error_t err;
	/* DECODE_ANY so that "5" or "{}" say NOT_ARRAY rather than NOT_JSON; ALLOW_NUL so a
	 * \u0000 somewhere in an env value does not refuse the whole file (names are checked). */
	budget_on = true;
	budget_hit = false;
	budget_used = budget_peak = 0;
	json_t *root = json_loadb(buf, len, json_flags | JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);

	if (!root) {
		budget_on = false;
		/* jansson does not always say "out of memory" when an allocation failed */
		return budget_hit ? AMX_DUMP_TOO_BIG : AMX_DUMP_NOT_JSON;
	}
	p = read_apps(root, read_app, out);
	json_decref(root);
	budget_on = false;
	return p;
}

enum amx_dump_problem amx_dump_parse(const char *buf, size_t len, struct amx_dump *out)
{
	out->apps = NULL;
	out->n_apps = 0;
	return parse_with(buf, len, 0, read_dump_app, out);
}

/* PM2 may print lines such as "[PM2] Spawning PM2 daemon" or an out-of-date warning before
 * the JSON. When the whole buffer does not parse, try each line that starts with '['. */
enum amx_dump_problem amx_jlist_parse(const char *buf, size_t len, struct amx_dump *out)
{
	out->apps = NULL;
	out->n_apps = 0;

	enum amx_dump_problem whole = parse_with(buf, len, 0, read_jlist_app, out);

	/* Noise can make the whole buffer look non-JSON, non-UTF-8 or (an unbalanced '[')
	 * too deep; an array that parsed but holds a bad app is a real answer. */
	if (whole != AMX_DUMP_NOT_JSON && whole != AMX_DUMP_BAD_UTF8 && whole != AMX_DUMP_TOO_BIG)
		return whole;

	int tries = 0;

	for (size_t i = 1; i < len && tries < AMX_JLIST_MAX_STARTS; i++) {
		if (buf[i] != '[' || buf[i - 1] != '\n')
			continue;
		tries++;
		/* trailing noise after the array is tolerated too */
		if (parse_with(buf + i, len - i, JSON_DISABLE_EOF_CHECK, read_jlist_app, out) ==
		    AMX_DUMP_OK)
			return AMX_DUMP_OK;
		amx_dump_free(out);
	}
	return whole;
}

void amx_dump_free(struct amx_dump *d)
{
	if (!d)
		return;
	free_apps(d->apps, d->n_apps);
	d->apps = NULL;
	d->n_apps = 0;
}

const char *amx_dump_problem_name(enum amx_dump_problem p)
{
	switch ((int)p) {
	case AMX_DUMP_OK:
		return "ok";
	case AMX_DUMP_EMPTY:
		return "empty";
	case AMX_DUMP_NOT_JSON:
		return "not-json";
	case AMX_DUMP_NOT_ARRAY:
		return "not-array";
	case AMX_DUMP_BAD_APP:
		return "bad-app";
	case AMX_DUMP_BAD_UTF8:
		return "bad-utf8";
	case AMX_DUMP_TOO_BIG:
		return "too-big";
	case AMX_DUMP_EMPTIED:
		return "emptied";
	}
	return "unknown";
}

int amx_dump_judge(enum amx_dump_problem parsed, const struct amx_dump *fresh,
		   const struct amx_dump *last_good)
{
	if (parsed != AMX_DUMP_OK)
		return (int)parsed;
	/* An app list that suddenly went to [] is the known PM2 failure (crash, kill, reboot,
	 * ENOSPC), not a wish to run nothing: PM2 refuses to save an empty list without --force. */
	if (fresh && fresh->n_apps == 0 && last_good && last_good->n_apps > 0)
		return AMX_DUMP_EMPTIED;
	return AMX_DUMP_OK;
}

const struct amx_dump_app *amx_dump_find(const struct amx_dump *d, const char *name)
{
	if (!d || !name)
		return NULL;
	for (size_t i = 0; i < d->n_apps; i++)
		if (strcmp(d->apps[i].name, name) == 0)
			return &d->apps[i];
	return NULL;
}

/* n * mult, or -1 on overflow. */
static int64_t scaled(int64_t n, int64_t mult)
{
	if (n > INT64_MAX / mult)
		return -1;
	return n * mult;
}

/* PM2 converts "1G", "300M", "500K" with 1024 multiples; a bare number is bytes. */
int64_t amx_parse_size(const char *s)
{
	const char *end;
	int64_t n = parse_plain_count(s, &end);

	if (n < 0)
		return -1;
	if (*end == '\0')
		return n;
	if (end[1] != '\0')
		return -1;
	switch (*end) {
	case 'K':
	case 'k':
		return scaled(n, 1024);
	case 'M':
	case 'm':
		return scaled(n, 1024 * 1024);
	case 'G':
	case 'g':
		return scaled(n, 1024 * 1024 * 1024);
	}
	return -1;
}

int64_t amx_parse_duration_ms(const char *s)
{
	const char *end;
	int64_t n = parse_plain_count(s, &end);

	if (n < 0)
		return -1;
	if (*end == '\0' || strcmp(end, "ms") == 0)
		return n;
	if (strcmp(end, "s") == 0)
		return scaled(n, 1000);
	if (strcmp(end, "m") == 0)
		return scaled(n, 60 * 1000);
	if (strcmp(end, "h") == 0)
		return scaled(n, 60 * 60 * 1000);
	return -1;
}

/* PM2's own spellings, indexed by enum amx_app_status. */
static const char *const status_names[] = {
	[AMX_ST_UNKNOWN] = "unknown",
	[AMX_ST_ONLINE] = "online",
	[AMX_ST_STOPPED] = "stopped",
	[AMX_ST_STOPPING] = "stopping",
	[AMX_ST_ERRORED] = "errored",
	[AMX_ST_LAUNCHING] = "launching",
	[AMX_ST_ONE_LAUNCH_STATUS] = "one-launch-status",
	[AMX_ST_WAITING_RESTART] = "waiting restart",
};

const char *amx_app_status_name(enum amx_app_status s)
{
	if ((unsigned)s >= sizeof(status_names) / sizeof(status_names[0]))
		return "unknown";
	return status_names[s];
}

enum amx_app_status amx_app_status_from(const char *s)
{
	if (!s)
		return AMX_ST_UNKNOWN;
	for (size_t i = 1; i < sizeof(status_names) / sizeof(status_names[0]); i++)
		if (strcmp(s, status_names[i]) == 0)
			return (enum amx_app_status)i;
	return AMX_ST_UNKNOWN;
}
