/* SPDX-License-Identifier: MIT */
/* `amexbpf check`: one pass for hosts that keep cron. No BPF, no inotify: it looks at each
 * PM2 home, and recovers what is down or over its memory limit through the daemon's own
 * policy and commands (check_drive.h), with the restart budget shared through the state
 * directory. Exit 0 healthy, 1 something was down or over and is back, 2 could not recover. */
#include <stdio.h>

#include "cli/check_drive.h"
#include "core/options.h"
#include "daemon/budgetfile.h"
#include "daemon/config.h"
#include "daemon/toolchain.h"
#include "daemon/home.h"
#include "core/event.h"
#include "sys/userfile.h"

#define say amx_check_say

static int worse(int a, int b)
{
	return a > b ? a : b;
}

static int check_home(struct amx_check_ctx *k)
{
	struct amx_home *h = k->h;
	int kept = amx_budget_load(h, amx_boot_ms());
	if (kept > 0)
		say("%s: %d recent recovery attempt(s) count against the restart budgets", h->path,
		    kept);
	bool by_tier2;
	int worst = amx_check_drive_home(k, &by_tier2);
	if (worst == AMX_EXIT_CHECK_FAILED || !h->pol.wants_daemon)
		return worst;
	for (size_t i = 0; i < h->n_apps; i++)
		if (h->apps[i].desired_online)
			worst = worse(worst, amx_check_drive_app(k, &h->apps[i], by_tier2));
	return worst;
}

/* Read a home's dump.pm2 (or the last good copy) into h; 0, or the exit code. */
static int load_home(struct amx_home *h, const struct amx_options *o)
{
	struct amx_dump_read r;
	amx_home_read_dump(h, &r);
	h->dump_valid = r.problem == AMX_DUMP_OK;
	if (h->dump_valid) {
		amx_home_adopt_dump(h, &r, o->only, o->n_only);
	} else if (!amx_home_load_good_copy(h, o->only, o->n_only)) {
		say("dump.pm2 of %s is %s and no good copy is kept", h->path,
		    amx_dump_read_problem(&r));
		amx_dump_read_free(&r);
		return AMX_EXIT_BAD_DUMP;
	}
	amx_dump_read_free(&r);
	return 0;
}

int amx_check_run(struct amx_options *o)
{
	char *found[AMX_MAX_HOMES];
	if (o->n_homes == 0) {
		int n = amx_discover_homes(found, AMX_MAX_HOMES);
		for (int i = 0; i < n; i++)
			o->homes[o->n_homes++] = found[i];
	}
	if (o->n_homes == 0) {
		say("no PM2 home found (use --pm2-home)");
		return AMX_EXIT_NO_INPUT;
	}
	amx_mkdir_p(o->state_dir, 0700);
	struct amx_check_ctx k = { .o = o };
	amx_config_policy(o, &k.cfg);
	int worst = AMX_EXIT_OK;
	for (int i = 0; i < o->n_homes; i++) {
		static struct amx_home h;
		char err[512];
		if (!amx_home_init(&h, o->homes[i], o->state_dir, err, sizeof(err))) {
			say("%s", err);
			return AMX_EXIT_NO_INPUT;
		}
		int rc = load_home(&h, o);
		if (rc) {
			amx_home_free(&h);
			return rc;
		}
		amx_toolchain_find(&h, o); /* the pm2 and node this home's daemon uses */
		k.h = &h;
		worst = worse(worst, check_home(&k));
		amx_home_free(&h);
	}
	if (worst == AMX_EXIT_OK)
		say("healthy");
	return worst;
}
