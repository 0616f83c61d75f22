/* SPDX-License-Identifier: MIT */
/* Log retention, replacing the daily cron job: `--retain DIR=DAYS` deletes the regular
 * `*.log` files directly in DIR whose mtime is older than DAYS, at start-up and daily.
 * It works as the directory's owner (setfsuid/setfsgid), relative to a descriptor of DIR
 * opened with O_NOFOLLOW|O_DIRECTORY (openat/unlinkat only), so it never follows a
 * symlink, never enters a subdirectory and never leaves DIR. One `logs-retained` event a
 * pass that removed something (or failed), naming what went. */
#ifndef AMX_RETAIN_H
#define AMX_RETAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <jansson.h>

#include "core/event.h"
#include "core/option_value.h" /* amx_retain_parse */

#define AMX_RETAIN_PERIOD_MS (24ull * 3600 * 1000)

/* Is this entry a candidate by name ("x.log", not ".log")? Pure. */
bool amx_retain_name_matches(const char *name);

struct amx_retain_result {
	json_t *removed;        /* array of file names removed */
	unsigned long long bytes;
	unsigned errors;
	char error[256];        /* the first error */
};
/* One pass over dir: remove regular *.log files with mtime < now - days. */
void amx_retain_pass(const char *dir, unsigned days, time_t now, struct amx_retain_result *r);

/* Where an event goes (taken over); ctx is the one given with it. */
typedef void (*amx_emit_fn)(void *ctx, json_t *ev);
/* Run each --retain once now and then every AMX_RETAIN_PERIOD_MS from the loop. */
int amx_retain_start(const char *const *specs, int n, struct amx_event_stream *s, amx_emit_fn emit,
		     void *emit_ctx);

#endif
