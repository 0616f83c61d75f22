/* SPDX-License-Identifier: MIT */
/* The event model: one JSON object per event, as in docs/events.md (ECS 8.11).
 * One encoder serves every sink. Built on jansson. */
#ifndef AMX_EVENT_H
#define AMX_EVENT_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "core/event_catalog.h"

#define AMX_VERSION "0.1.0"
#define AMX_ECS_VERSION "8.11.0"

struct amx_event_stream {
	uint64_t next_seq;   /* starts at 1 */
	char host[256];
};
void amx_event_stream_init(struct amx_event_stream *s);

/* A new event with every common field set: action, level, kind, category and type from
 * its entry in the catalogue (core/event_catalog.h). ts_boot_ns is when it happened on the
 * CLOCK_BOOTTIME clock (the kernel's bpf_ktime_get_boot_ns); 0 means now. message: printf
 * format for the one human sentence. event.sequence is assigned here. NULL for an id out
 * of the catalogue. */
json_t *amx_event_new(struct amx_event_stream *s, enum amx_event_id id, uint64_t ts_boot_ns,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The same at another level (debug|info|warn|error|critical), for an entry whose level
 * varies (its level_varies says when); for any other entry the catalogue's level stands. */
json_t *amx_event_new_level(struct amx_event_stream *s, enum amx_event_id id, const char *level,
			    uint64_t ts_boot_ns, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Set a field by dotted path, creating nested objects ("process.parent.pid").
 * Takes ownership of value (jansson "new" reference); a NULL value sets JSON null. */
void amx_event_set(json_t *ev, const char *path, json_t *value);
void amx_event_set_str(json_t *ev, const char *path, const char *s);   /* invalid UTF-8 is repaired (U+FFFD) */
void amx_event_set_int(json_t *ev, const char *path, int64_t v);
void amx_event_set_bool(json_t *ev, const char *path, bool v);
/* Look up by dotted path (borrowed), NULL when absent. */
json_t *amx_event_get(json_t *ev, const char *path);

/* One compact line ending in "\n" (malloc'd; caller frees), or NULL on allocation failure. */
char *amx_event_encode(json_t *ev);
/* src as one line of printable text in dst (len bytes with the NUL): control characters
 * as \xNN, a backslash as \\; for stderr and for sd_notify's STATUS=. */
void amx_text_one_line(char *dst, size_t len, const char *src);

/* One short human line for stderr (no newline): "12:00:01 error process-exited demo-api: demo-api exited (SIGKILL)". */
void amx_event_human(json_t *ev, char *buf, size_t len);

/* RFC 3339 UTC with microseconds and Z, from CLOCK_BOOTTIME ns (0 = now). */
void amx_format_timestamp(uint64_t ts_boot_ns, char *buf, size_t len);
/* CLOCK_BOOTTIME now, in ns and ms. */
uint64_t amx_boot_ns(void);
uint64_t amx_boot_ms(void);

/* "SIGKILL" etc.; NULL for 0 or unknown. */
const char *amx_signal_name(int sig);

/* The log.level names, lowest first, NULL-terminated (the choices of notify-level). */
extern const char *const amx_level_names[];
/* Rank of a log.level (debug 0 .. critical 4), -1 when unknown. */
int amx_level_rank(const char *level);

#endif
