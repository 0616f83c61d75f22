/* SPDX-License-Identifier: MIT */
/* Tier 2 under systemd without a pm2-<user>.service: `pm2 resurrect` through systemd-run,
 * so the new PM2 daemon lives in a transient unit of its own. Run directly, it would land
 * in amexbpf's cgroup (killed when amexbpf's unit stops) and inherit amexbpf's sandbox
 * (ProtectSystem=strict, NoNewPrivileges, the capability bounding set), which the apps
 * must not get. */
#ifndef AMX_SDRUN_H
#define AMX_SDRUN_H

#include <stdbool.h>

#include "sys/spawn.h"

/* Strings the argv points into; keep it alive as long as the argv. */
struct amx_sdrun_buf {
	char unit[128], uid[32], gid[32], pm2_home[4200], home[4200], pidfile[4200];
};

/* systemd-run --quiet --collect --unit=amexbpf-pm2-<user> --uid= --gid=
 *   --setenv=PM2_HOME= --setenv=HOME= --property=Type=forking --property=PIDFile=<home>/pm2.pid
 *   <pm2> resurrect
 * Pure; false when a path does not fit. It must be run as root. */
bool amx_sdrun_tier2_argv(struct amx_argv *out, struct amx_sdrun_buf *b, const char *pm2,
			  const struct amx_user *owner, const char *pm2_home);

#endif
