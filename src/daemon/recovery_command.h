/* SPDX-License-Identifier: MIT */
/* The command of a tier for an app or a home: the facts gathered (the options' pm2, the
 * home's owner, the configured ecosystem file, systemd's state for tier 2), then built by
 * the one builder, core/tier_command.h. Shared by the daemon and `amexbpf check`. */
#ifndef AMX_RECOVERY_COMMAND_H
#define AMX_RECOVERY_COMMAND_H

#include <stdbool.h>

#include "core/model.h"
#include "core/options.h"
#include "core/tier_command.h"

/* tier: AMX_TIER_STATUS, 1, 2 or 3; a NULL app for the home's own commands (tier 2, status).
 * Tier 2 asks systemd whether it runs PM2 for the owner (see sys/systemd.h). false when the
 * tier has no command here (tier 3 without an ecosystem file). */
bool amx_recovery_command(struct amx_tier_command *cmd, int tier, const struct amx_options *o,
			  const struct amx_home *h, const struct amx_app *a);
/* The same with systemd's facts given (the daemon asks systemctl as a command of its own,
 * never on its loop): booted, and whether pm2-<owner>.service is active. */
bool amx_recovery_command_known(struct amx_tier_command *cmd, int tier,
				const struct amx_options *o, const struct amx_home *h,
				const struct amx_app *a, bool systemd_booted, bool unit_active);

#endif
