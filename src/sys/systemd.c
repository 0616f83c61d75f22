/* SPDX-License-Identifier: MIT */
#include "sys/systemd.h"

#include <string.h>
#include <sys/stat.h>

#include "sys/spawn.h"

#define IS_ACTIVE_TIMEOUT_S 5

bool amx_systemd_booted(void)
{
	struct stat st;

	return lstat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);
}

bool amx_pm2_unit_active(const char *user)
{
	char unit[128], err[256];
	struct amx_argv argv;
	struct amx_child c;

	if (!amx_pm2_unit_name(user, unit, sizeof(unit)))
		return false;
	amx_unit_active_argv(&argv, unit);
	if (amx_run_wait(&c, &argv, amx_user_root(), NULL, IS_ACTIVE_TIMEOUT_S, err, sizeof(err)) < 0)
		return false;
	bool active = amx_unit_state_is_systemds(amx_child_succeeded(&c), c.output, strlen(c.output));
	amx_child_release(&c);
	return active;
}
