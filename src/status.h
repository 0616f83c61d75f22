/* SPDX-License-Identifier: MIT */
/* The status document of the control socket (format in control.h), and the read-only view
 * of the daemon it is built from. */
#ifndef AMX_STATUS_H
#define AMX_STATUS_H

#include <stdint.h>
#include <jansson.h>

#include "home.h"
#include "policy.h"

struct amx_bpf;

/* What the daemon lets its reporting modules see (borrowed; valid during the call). */
struct amx_daemon_view {
	struct amx_home *homes;
	int n_homes;
	const struct amx_policy_config *cfg;
	struct amx_bpf *bpf;
	uint64_t started_ms;      /* boot clock */
	uint64_t last_sequence;   /* event.sequence of the last event emitted */
};
/* Implemented by daemon.c. */
void amx_daemon_view(struct amx_daemon_view *v);
/* Attempts left in an app's budget (its own budget when its [app] section sets one). */
unsigned amx_daemon_app_budget_left(const struct amx_home *h, const struct amx_app *a,
				    uint64_t now);

/* Start following the event stream (rates, latencies, losses, last exits). */
void amx_status_start(void);
/* The document, as a new JSON object. */
json_t *amx_status_document(void);

/* PM2's vocabulary for an app as amexbpf sees it: online, stopped, errored, down, launching. */
const char *amx_status_app_word(const struct amx_app *a);

#endif
