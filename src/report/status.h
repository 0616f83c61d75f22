/* SPDX-License-Identifier: MIT */
/* The status document of the control socket (format in core/control.h), and the read-only
 * view of the daemon it is built from. */
#ifndef AMX_STATUS_H
#define AMX_STATUS_H

#include <stdint.h>
#include <jansson.h>

#include "core/model.h"
#include "core/policy.h"

/* What the daemon lets the reporting modules see (borrowed; valid during the call). The
 * daemon registers a getter that fills it (amx_status_start): reporting reads the engine's
 * state without linking to the engine, so dependencies point one way (docs/design.md). */
struct amx_report_prog {
	char name[64];
	uint64_t run_cnt, run_time_ns;
};
#define AMX_REPORT_PROGS 16
struct amx_report_view {
	struct amx_home *homes;
	int n_homes;
	const struct amx_policy_config *cfg;
	uint64_t started_ms;      /* boot clock */
	uint64_t last_sequence;   /* event.sequence of the last event emitted */
	const char *attach;       /* how the exit hook attached: "tp_btf", "raw_tp", "none" */
	int bpf_watched;          /* entries in the kernel's watched map */
	bool bpf_stats;           /* the programs' run counts and times are kept (--bpf-stats) */
	struct amx_report_prog progs[AMX_REPORT_PROGS];
	int n_progs;
	/* Attempts left in an app's budget (its own budget when its [app] section sets one). */
	unsigned (*budget_left)(void *ctx, const struct amx_home *h, const struct amx_app *a,
				uint64_t now);
	void *ctx; /* the getter's ctx, for budget_left */
};
typedef void (*amx_report_view_fn)(void *ctx, struct amx_report_view *v);

/* Start following the event stream (rates, latencies, losses, last exits); view is how the
 * status document and the metrics read the daemon's state. */
void amx_status_start(amx_report_view_fn view, void *ctx);
/* Fill v through the registered getter (zeroed when none is registered). */
void amx_status_view(struct amx_report_view *v);

/* The document, as a new JSON object. */
json_t *amx_status_document(void);

/* PM2's vocabulary for an app as amexbpf sees it: online, stopped, errored, down, launching. */
const char *amx_status_app_word(const struct amx_app *a);

#endif
