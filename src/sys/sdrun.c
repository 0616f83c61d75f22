/* SPDX-License-Identifier: MIT */
#include "sys/sdrun.h"

#include <stdio.h>

#define SYSTEMD_RUN "/usr/bin/systemd-run"

static bool fits(int n, size_t len)
{
	return n > 0 && (size_t)n < len;
}

bool amx_sdrun_tier2_argv(struct amx_argv *out, struct amx_sdrun_buf *b, const char *pm2,
			  const struct amx_user *owner, const char *pm2_home)
{
	/* A user name is at most 32 portable characters; anything else is refused rather
	 * than put into a unit name. */
	for (const char *p = owner->name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.'))
			return false;
	if (!fits(snprintf(b->unit, sizeof(b->unit), "--unit=amexbpf-pm2-%s", owner->name), sizeof(b->unit)) ||
	    !fits(snprintf(b->uid, sizeof(b->uid), "--uid=%u", (unsigned)owner->uid), sizeof(b->uid)) ||
	    !fits(snprintf(b->gid, sizeof(b->gid), "--gid=%u", (unsigned)owner->gid), sizeof(b->gid)) ||
	    !fits(snprintf(b->pm2_home, sizeof(b->pm2_home), "--setenv=PM2_HOME=%s", pm2_home), sizeof(b->pm2_home)) ||
	    !fits(snprintf(b->home, sizeof(b->home), "--setenv=HOME=%s", owner->home), sizeof(b->home)) ||
	    !fits(snprintf(b->pidfile, sizeof(b->pidfile), "--property=PIDFile=%s/pm2.pid", pm2_home), sizeof(b->pidfile)))
		return false;
	const char *v[] = { SYSTEMD_RUN, "--quiet", "--collect", b->unit, b->uid, b->gid,
			    b->pm2_home, b->home, "--property=Type=forking", b->pidfile, pm2,
			    "resurrect" };
	_Static_assert(sizeof(v) / sizeof(v[0]) <= AMX_ARGV_MAX, "argv too long");
	out->n = 0;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		out->v[out->n++] = v[i];
	out->v[out->n] = NULL;
	return true;
}
