/* SPDX-License-Identifier: MIT */
/* `amexbpf check` over the daemon's recovery policy (core/policy.h), synchronously: feed a
 * machine what is seen, with the real clock; run the actions it asks for (the commands come
 * from the same builder as the daemon's, daemon/recovery_command.h, each waited for up to
 * the action time-out); look again until the machine settles: healthy, back, or parked. So
 * check has the daemon's budget (kept in the state directory, shared by cron runs and the
 * daemon), backoff, systemd-aware tier 2 and tier order. */
#ifndef AMX_CHECK_DRIVE_H
#define AMX_CHECK_DRIVE_H

#include <stdbool.h>

#include "core/model.h"
#include "core/options.h"
#include "core/policy.h"

struct amx_check_ctx {
	const struct amx_options *o;
	struct amx_policy_config cfg; /* the global settings (daemon/config.h) */
	struct amx_home *h;
};

void amx_check_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The home's PM2 daemon: up (AMX_EXIT_OK), brought back by tier 2 (AMX_EXIT_CHECK_RECOVERED,
 * *by_tier2 set), down with no saved app wanting it (AMX_EXIT_OK), or not brought back
 * (AMX_EXIT_CHECK_FAILED). */
int amx_check_drive_home(struct amx_check_ctx *k, bool *by_tier2);
/* One app saved online, once its daemon is up: online and under its memory limit
 * (AMX_EXIT_OK), back (AMX_EXIT_CHECK_RECOVERED), or not (AMX_EXIT_CHECK_FAILED).
 * home_by_tier2: tier 2 just brought the daemon back, and with it the saved apps. */
int amx_check_drive_app(struct amx_check_ctx *k, struct amx_app *a, bool home_by_tier2);

#endif
