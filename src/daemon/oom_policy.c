/* SPDX-License-Identifier: MIT */
/* The OOM blast radius (issue 15, core/oom_blast.h). Under systemd's default
 * OOMPolicy=stop, one OOM kill in pm2-<owner>.service stops the whole unit: PM2's
 * ExecStop (`pm2 kill`) ends every app of the home, and amexbpf would otherwise report
 * them as unrelated exits. So: at start-up, and when a home's PM2 daemon appears (its unit
 * may be new), systemd is asked what the unit does, and a warning names the drop-in that
 * keeps one victim from taking the home down; and the exits that follow an OOM kill in the
 * same home say whose collateral they are. */
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "core/oom_blast.h"
#include "core/tier_command.h"
#include "daemon/engine.h"

void eng_ask_oom_policy(struct amx_engine *e, int hi)
{
	struct amx_home *h = &e->homes[hi];
	char unit[128], err[256];
	if (h->oom_policy_known || h->oom_query >= 0)
		return;
	if (!e->systemd_booted || !e->systemd_booted())
		return;
	if (!amx_pm2_unit_name(h->owner.name, unit, sizeof(unit)))
		return; /* no such unit can exist */
	/* Asked as a command like systemctl is-active (argv only, as root, its own deadline),
	 * never on the loop. No slot free: asked again when the daemon next appears. */
	struct amx_argv argv;
	amx_oom_policy_argv(&argv, unit); /* a command keeps only argv[0], a literal */
	int idx = eng_start_command(e, hi, -1, 0, 0, &argv, err, sizeof(err));
	if (idx < 0)
		return;
	e->cmds[idx].oom_query = true;
	e->cmds[idx].deadline_ms = eng_now_ms(e) + AMX_UNIT_QUERY_TIMEOUT_MS;
	h->oom_query = idx;
}

void eng_oom_policy_answered(struct amx_engine *e, struct amx_command *c, bool ok)
{
	int hi = c->home;
	struct amx_home *h = &e->homes[hi];
	h->oom_query = -1;
	size_t len = 0;
	char *out = ok ? e->spawner.read_all(e->spawner.ctx, &c->child, 4096, &len) : NULL;
	enum amx_oom_policy p = amx_oom_policy_parse(out, len);
	free(out);
	/* No unit (yet), or no answer: asked again when a PM2 daemon appears. */
	if (p == AMX_OOMPOL_UNKNOWN || p == AMX_OOMPOL_NOT_LOADED)
		return;
	h->oom_policy_known = true;
	char unit[128], dropin[300];
	if (!amx_pm2_unit_name(h->owner.name, unit, sizeof(unit)))
		return;
	eng_log(e, "%s: %s has OOMPolicy=%s", h->path, unit, amx_oom_policy_name(p));
	if (!amx_oom_policy_warns(p))
		return;
	snprintf(dropin, sizeof(dropin), AMX_OOM_DROPIN_FMT, unit);
	json_t *ev = amx_event_new(&e->stream, AMX_EVT_PM2_UNIT_OOM_POLICY, 0,
				   "%s has OOMPolicy=%s: one OOM kill stops every app of %.300s; "
				   "put OOMPolicy=continue under [Service] in %s, then systemctl daemon-reload",
				   unit, amx_oom_policy_name(p), h->path, dropin);
	amx_event_set_str(ev, "amexbpf.pm2.home", h->path);
	amx_event_set_str(ev, "amexbpf.systemd.unit", unit);
	amx_event_set_str(ev, "amexbpf.systemd.oom_policy", amx_oom_policy_name(p));
	amx_event_set_str(ev, "amexbpf.systemd.dropin", dropin);
	eng_emit(e, ev);
}

void eng_oom_blast_exit(struct amx_engine *e, json_t *ev, int hi, const struct amx_app *a,
			int pid, bool own_oom)
{
	struct amx_home *h = &e->homes[hi];
	uint64_t now = eng_now_ms(e);
	if (own_oom) {
		h->oom_mark.at_ms = now;
		h->oom_mark.pid = pid;
		snprintf(h->oom_mark.app, sizeof(h->oom_mark.app), "%s", a->name);
		return;
	}
	if (!amx_oom_collateral(&h->oom_mark, now, pid, own_oom))
		return;
	amx_event_set_bool(ev, "amexbpf.collateral", true);
	amx_event_set_int(ev, "amexbpf.collateral_of.pid", h->oom_mark.pid);
	amx_event_set_str(ev, "amexbpf.collateral_of.app", h->oom_mark.app);
}
