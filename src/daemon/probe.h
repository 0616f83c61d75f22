/* SPDX-License-Identifier: MIT */
/* The hung-app probe: `--probe APP=URL` (repeatable; http://HOST[:PORT]/PATH, any host the
 * operator names), an HTTP/1.0 GET every --probe-interval (5 s) with a --probe-timeout
 * (2 s). An answer with a 2xx or 3xx status is healthy; anything else (refused, reset,
 * time-out, a 5xx) is a failure, and --probe-failures (3) in a row make `probe-failed`.
 * Everything runs on non-blocking sockets in the loop: a probe never stalls it. Only a
 * live app is probed; a failure count starts over once the app is back. */
#ifndef AMX_PROBE_H
#define AMX_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/option_value.h" /* struct amx_probe_url, amx_probe_parse */

/* The status code of an HTTP status line ("HTTP/1.1 200 OK"), or -1 when it is not one
 * (yet). Pure. */
int amx_probe_status(const char *buf, size_t len);

struct amx_probe_hooks {
	/* Is the app live now (probes wait while it is not)? home: the PM2 home the probe is
	 * for ([app NAME] home=), or NULL for any. */
	bool (*app_alive)(void *ctx, const char *home, const char *app);
	/* N failures in a row. */
	void (*failed)(void *ctx, const char *home, const char *app, const char *url,
		       const char *reason, unsigned failures);
	void *ctx;
};

/* Resolve each URL (once, at start-up) and plug the probes into the loop. homes[i]: the
 * PM2 home specs[i] is for, or NULL (homes itself may be NULL: none). -1 with err filled
 * when a host does not resolve. */
int amx_probe_start(const char *const *specs, const char *const *homes, int n,
		    double interval_s, double timeout_s,
		    unsigned failures, const struct amx_probe_hooks *hooks, char *err, size_t errlen);

#endif
