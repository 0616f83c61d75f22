/* SPDX-License-Identifier: MIT */
/* The event model: builds one ECS 8.11 JSON object per event (see docs/events.md) and
 * encodes it as one NDJSON line. Every sink uses this one encoder. */
#include "core/event.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_SEC 1000000000LL

static const char REPLACEMENT_CHAR[] = "\xEF\xBF\xBD"; /* U+FFFD */

void amx_event_stream_init(struct amx_event_stream *s)
{
	memset(s, 0, sizeof(*s));
	s->next_seq = 1;
	/* gethostname may leave the name unterminated when it is truncated. */
	if (gethostname(s->host, sizeof(s->host) - 1) != 0 || s->host[0] == '\0')
		snprintf(s->host, sizeof(s->host), "unknown");
	s->host[sizeof(s->host) - 1] = '\0';
}

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t amx_boot_ns(void)
{
	return clock_ns(CLOCK_BOOTTIME);
}

uint64_t amx_boot_ms(void)
{
	return amx_boot_ns() / 1000000;
}

void amx_format_timestamp(uint64_t ts_boot_ns, char *buf, size_t len)
{
	/* The kernel stamps events on CLOCK_BOOTTIME; wall time is derived only here, from
	 * how long ago the event happened, so a clock step never reorders the boot clock. */
	int64_t real_now = (int64_t)clock_ns(CLOCK_REALTIME);
	int64_t boot_now = (int64_t)amx_boot_ns();
	int64_t when = ts_boot_ns ? real_now - (boot_now - (int64_t)ts_boot_ns) : real_now;
	time_t secs;
	long usec;
	struct tm tm;
	char date[32];

	if (when < 0)
		when = 0;
	secs = (time_t)(when / NS_PER_SEC);
	usec = (long)((when % NS_PER_SEC) / 1000);
	gmtime_r(&secs, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%06ldZ", date, usec);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is invalid; *bad_len
 * then receives how many bytes form the invalid part (the maximal valid prefix, at least
 * 1), so that one U+FFFD replaces it, as Unicode recommends. */
static size_t utf8_sequence_len(const unsigned char *s, size_t *bad_len)
{
	unsigned char b = s[0], lo = 0x80, hi = 0xBF;
	size_t need, i;

	*bad_len = 1;
	if (b < 0x80)
		return 1;
	if (b >= 0xC2 && b <= 0xDF)
		need = 1;
	else if (b >= 0xE0 && b <= 0xEF) {
		need = 2;
		if (b == 0xE0)
			lo = 0xA0; /* no overlong forms */
		else if (b == 0xED)
			hi = 0x9F; /* no UTF-16 surrogates */
	} else if (b >= 0xF0 && b <= 0xF4) {
		need = 3;
		if (b == 0xF0)
			lo = 0x90;
		else if (b == 0xF4)
			hi = 0x8F; /* nothing above U+10FFFF */
	} else
		return 0;

	for (i = 1; i <= need; i++) {
		unsigned char c = s[i]; /* the NUL terminator stops this too */
		unsigned char min = i == 1 ? lo : 0x80, max = i == 1 ? hi : 0xBF;

		if (c < min || c > max) {
			*bad_len = i;
			return 0;
		}
	}
	return need + 1;
}

/* A copy of s that is valid UTF-8 (malloc'd), invalid bytes replaced by U+FFFD. */
static char *utf8_repair(const char *s)
{
	size_t in_len = strlen(s), out = 0, bad;
	const unsigned char *p = (const unsigned char *)s;
	char *dst = malloc(in_len * 3 + 1);

	if (!dst)
		return NULL;
	while (*p) {
		size_t n = utf8_sequence_len(p, &bad);

		if (n) {
			memcpy(dst + out, p, n);
			out += n;
			p += n;
		} else {
			memcpy(dst + out, REPLACEMENT_CHAR, 3);
			out += 3;
			p += bad;
		}
	}
	dst[out] = '\0';
	return dst;
}

static json_t *safe_string(const char *s)
{
	char *fixed;
	json_t *v;

	if (!s)
		return json_null();
	fixed = utf8_repair(s);
	if (!fixed)
		return NULL;
	v = json_string(fixed);
	free(fixed);
	return v;
}

/* "process,host" -> ["process","host"]; empty items are skipped. */
static json_t *comma_list(const char *list)
{
	json_t *arr = json_array();
	const char *p = list ? list : "";

	while (arr && *p) {
		size_t n = strcspn(p, ",");

		if (n > 0) {
			char *item = strndup(p, n);

			if (item)
				json_array_append_new(arr, safe_string(item));
			free(item);
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return arr;
}

static json_t *event_newv(struct amx_event_stream *s, enum amx_event_id id, const char *level,
			  uint64_t ts_boot_ns, const char *fmt, va_list ap)
{
	const struct amx_event_info *c = amx_event_catalog(id);
	char stamp[40];
	char *message = NULL;

	if (!c)
		return NULL;
	json_t *ev = json_object();
	if (!ev)
		return NULL;
	if (!level || !c->level_varies)
		level = c->level;
	if (vasprintf(&message, fmt, ap) < 0)
		message = NULL;

	/* Insertion order is the output order: @timestamp first, as in the contract. */
	amx_format_timestamp(ts_boot_ns, stamp, sizeof(stamp));
	amx_event_set_str(ev, "@timestamp", stamp);
	amx_event_set_str(ev, "ecs.version", AMX_ECS_VERSION);
	amx_event_set_str(ev, "agent.name", "amexbpf");
	amx_event_set_str(ev, "agent.version", AMX_VERSION);
	amx_event_set_str(ev, "host.name", s->host);
	amx_event_set_str(ev, "log.level", level);
	amx_event_set_str(ev, "message", message ? message : "");
	amx_event_set_str(ev, "event.kind", c->kind);
	amx_event_set(ev, "event.category", comma_list(c->category));
	amx_event_set(ev, "event.type", comma_list(c->type));
	amx_event_set_str(ev, "event.action", c->action);
	amx_event_set_str(ev, "event.dataset", "amexbpf.events");
	amx_event_set_int(ev, "event.sequence", (int64_t)s->next_seq++);
	free(message);
	return ev;
}

json_t *amx_event_new(struct amx_event_stream *s, enum amx_event_id id, uint64_t ts_boot_ns,
		      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	json_t *ev = event_newv(s, id, NULL, ts_boot_ns, fmt, ap);
	va_end(ap);
	return ev;
}

json_t *amx_event_new_level(struct amx_event_stream *s, enum amx_event_id id, const char *level,
			    uint64_t ts_boot_ns, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	json_t *ev = event_newv(s, id, level, ts_boot_ns, fmt, ap);
	va_end(ap);
	return ev;
}

/* Walks path component by component; creates (or replaces non-object) intermediates
 * when create is set. Returns the object that holds the last component, whose name
 * is copied into leaf. */
static json_t *walk_parent(json_t *ev, const char *path, bool create, char *leaf, size_t leaf_len)
{
	json_t *obj = ev;
	const char *p = path;

	if (!json_is_object(ev) || !path || !*path)
		return NULL;
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		char key[128];
		json_t *child;

		if (n == 0 || n >= sizeof(key) || n >= leaf_len)
			return NULL;
		memcpy(key, p, n);
		key[n] = '\0';
		if (!dot) {
			memcpy(leaf, key, n + 1);
			return obj;
		}
		child = json_object_get(obj, key);
		if (!json_is_object(child)) {
			if (!create)
				return NULL;
			child = json_object();
			if (!child || json_object_set_new(obj, key, child) != 0)
				return NULL;
		}
		obj = child;
		p = dot + 1;
	}
}

void amx_event_set(json_t *ev, const char *path, json_t *value)
{
	char leaf[128];
	json_t *parent = walk_parent(ev, path, true, leaf, sizeof(leaf));

	if (!value)
		value = json_null();
	if (!parent) {
		json_decref(value);
		return;
	}
	json_object_set_new(parent, leaf, value);
}

void amx_event_set_str(json_t *ev, const char *path, const char *s)
{
	amx_event_set(ev, path, safe_string(s));
}

void amx_event_set_int(json_t *ev, const char *path, int64_t v)
{
	amx_event_set(ev, path, json_integer((json_int_t)v));
}

void amx_event_set_bool(json_t *ev, const char *path, bool v)
{
	amx_event_set(ev, path, json_boolean(v));
}

json_t *amx_event_get(json_t *ev, const char *path)
{
	char leaf[128];
	json_t *parent = walk_parent(ev, path, false, leaf, sizeof(leaf));

	return parent ? json_object_get(parent, leaf) : NULL;
}

char *amx_event_encode(json_t *ev)
{
	/* jansson escapes every control character, so the line holds no raw newline. */
	char *body = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
	size_t n;
	char *line;

	if (!body)
		return NULL;
	n = strlen(body);
	line = realloc(body, n + 2);
	if (!line) {
		free(body);
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	return line;
}

/* Copies src into dst as one line of printable text: C0/C1 control characters and DEL
 * are written as \xNN (a terminal must not receive escape sequences from an app name,
 * and a newline must not start a new key in sd_notify's KEY=VALUE text), a backslash as
 * \\ so the escaping cannot be forged; never cuts a UTF-8 sequence or an escape in half. */
void amx_text_one_line(char *dst, size_t len, const char *src)
{
	const unsigned char *p = (const unsigned char *)src;
	size_t out = 0;

	if (len == 0)
		return;
	while (*p) {
		size_t n = 1;
		char esc[9];

		if (*p < 0x20 || *p == 0x7f) {
			snprintf(esc, sizeof(esc), "\\x%02x", *p);
		} else if (p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F) {
			/* C1 controls such as U+009B (CSI) */
			snprintf(esc, sizeof(esc), "\\xc2\\x%02x", p[1]);
			n = 2;
		} else if (*p == '\\') {
			strcpy(esc, "\\\\");
		} else {
			if (*p >= 0xC0) {
				while (p[n] >= 0x80 && p[n] <= 0xBF && n < 4)
					n++;
			}
			if (out + n >= len)
				break;
			memcpy(dst + out, p, n);
			out += n;
			p += n;
			continue;
		}
		size_t e = strlen(esc);
		if (out + e >= len)
			break;
		memcpy(dst + out, esc, e);
		out += e;
		p += n;
	}
	dst[out] = '\0';
}

static const char *str_field(json_t *ev, const char *path, const char *fallback)
{
	const char *v = json_string_value(amx_event_get(ev, path));

	return v ? v : fallback;
}

void amx_event_human(json_t *ev, char *buf, size_t len)
{
	const char *stamp = str_field(ev, "@timestamp", "");
	const char *service = str_field(ev, "service.name", NULL);
	char clock[9] = "??:??:??";
	char *line = NULL;
	int n;

	if (len == 0)
		return;
	/* "YYYY-MM-DDTHH:MM:SS..." -> "HH:MM:SS" (UTC, as in the event). */
	if (strlen(stamp) >= 19)
		memcpy(clock, stamp + 11, 8);
	n = asprintf(&line, "%s %s %s%s%s: %s", clock, str_field(ev, "log.level", "-"),
		     str_field(ev, "event.action", "-"), service ? " " : "", service ? service : "",
		     str_field(ev, "message", ""));
	if (n < 0) {
		buf[0] = '\0';
		return;
	}
	amx_text_one_line(buf, len, line);
	free(line);
}

/* Names by number from the <signal.h> constants, so the table cannot drift from the
 * ABI, and with static storage so the result can be returned without a buffer. */
static const char *const signal_names[] = {
	[SIGHUP] = "SIGHUP",   [SIGINT] = "SIGINT",       [SIGQUIT] = "SIGQUIT",
	[SIGILL] = "SIGILL",   [SIGTRAP] = "SIGTRAP",     [SIGABRT] = "SIGABRT",
	[SIGBUS] = "SIGBUS",   [SIGFPE] = "SIGFPE",       [SIGKILL] = "SIGKILL",
	[SIGUSR1] = "SIGUSR1", [SIGSEGV] = "SIGSEGV",     [SIGUSR2] = "SIGUSR2",
	[SIGPIPE] = "SIGPIPE", [SIGALRM] = "SIGALRM",     [SIGTERM] = "SIGTERM",
	[SIGSTKFLT] = "SIGSTKFLT", [SIGCHLD] = "SIGCHLD", [SIGCONT] = "SIGCONT",
	[SIGSTOP] = "SIGSTOP", [SIGTSTP] = "SIGTSTP",     [SIGTTIN] = "SIGTTIN",
	[SIGTTOU] = "SIGTTOU", [SIGURG] = "SIGURG",       [SIGXCPU] = "SIGXCPU",
	[SIGXFSZ] = "SIGXFSZ", [SIGVTALRM] = "SIGVTALRM", [SIGPROF] = "SIGPROF",
	[SIGWINCH] = "SIGWINCH", [SIGIO] = "SIGIO",       [SIGPWR] = "SIGPWR",
	[SIGSYS] = "SIGSYS",
};

const char *amx_signal_name(int sig)
{
	if (sig <= 0 || (size_t)sig >= sizeof(signal_names) / sizeof(signal_names[0]))
		return NULL;
	return signal_names[sig];
}

const char *const amx_level_names[] = { "debug", "info", "warn", "error", "critical", NULL };

int amx_level_rank(const char *level)
{
	for (int i = 0; level && amx_level_names[i]; i++)
		if (!strcmp(level, amx_level_names[i]))
			return i;
	return -1;
}
