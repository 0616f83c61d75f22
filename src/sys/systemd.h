/* SPDX-License-Identifier: MIT */
/* The systemd facts the tier command builder (core/tier_command.h) decides tier 2 on,
 * found out: is systemd the init, and does it run PM2 for this user. Under systemd, tier 2
 * must not run `pm2 resurrect` directly: the new PM2 daemon would land in amexbpf's cgroup
 * (killed when amexbpf's unit stops) and inherit its sandbox (ProtectSystem=strict,
 * NoNewPrivileges, the capability bounding set), which the apps must not get. */
#ifndef AMX_SYSTEMD_H
#define AMX_SYSTEMD_H

#include <stdbool.h>

/* Is systemd the init (sd_booted equivalent: /run/systemd/system is a directory)? */
bool amx_systemd_booted(void);
/* Is pm2-<user>.service active? Asks `systemctl is-active` (argv only, as root, 5 s at most);
 * false when it is not, when the name cannot be a unit's, or when the question fails. */
bool amx_pm2_unit_active(const char *user);

#endif
