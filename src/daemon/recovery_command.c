/* SPDX-License-Identifier: MIT */
#include "daemon/recovery_command.h"

#include "daemon/config.h"
#include "sys/systemd.h"

static void facts_of(struct amx_tier_facts *f, const struct amx_options *o,
		     const struct amx_home *h, const struct amx_app *a)
{
	const char *app = a ? a->name : NULL;
	*f = (struct amx_tier_facts){
		/* the home's own pm2 and node (daemon/toolchain.h); `amexbpf check` has none */
		.pm2 = h->tools.pm2[0] ? h->tools.pm2 : o->pm2,
		.node = h->tools.pm2[0] && h->tools.node[0] ? h->tools.node : NULL,
		.owner = &h->owner,
		.pm2_home = h->path,
		.app = app,
		.instance = a && a->restart_only[0] ? a->restart_only : NULL,
		.ecosystem = amx_config_ecosystem(o, h->path, app),
	};
}

bool amx_recovery_command_known(struct amx_tier_command *cmd, int tier,
				const struct amx_options *o, const struct amx_home *h,
				const struct amx_app *a, bool systemd_booted, bool unit_active)
{
	struct amx_tier_facts f;
	facts_of(&f, o, h, a);
	f.systemd_booted = tier == 2 && systemd_booted;
	f.unit_active = f.systemd_booted && unit_active;
	return amx_tier_command(cmd, tier, &f);
}

bool amx_recovery_command(struct amx_tier_command *cmd, int tier, const struct amx_options *o,
			  const struct amx_home *h, const struct amx_app *a)
{
	/* systemd's facts asked now (`check` is one pass; the daemon asks with a command of
	 * its own and calls amx_recovery_command_known). */
	bool booted = tier == 2 && amx_systemd_booted();
	bool active = booted && amx_pm2_unit_active(h->owner.name);
	return amx_recovery_command_known(cmd, tier, o, h, a, booted, active);
}
