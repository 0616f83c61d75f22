/* SPDX-License-Identifier: MIT */
/* The periodic drift check (--drift-interval). A PM2 daemon runs for months; its owner
 * upgrades Node (n replaces bin/node, nvm uninstalls the old version) or PM2 (npm i -g
 * pm2) under it, and until the daemon restarts, the pm2 we would run for a recovery is not
 * the one it runs. Learning happens when a daemon appears; this looks again while it runs.
 *
 * Cost, per home and interval: one readlink and one read of /proc/PID (the daemon's exe
 * and title) and two stats, as the owner, of the home's pm2 and node. The pm2's version
 * (a bounded, non-blocking read of its package.json as the owner) and the daemon's
 * toolchain are looked at again only when one of those stats changed. At most
 * AMX_DRIFT_HOMES_PER_WAKE homes are looked at per wake-up, taken in turn, so a host of many
 * homes spreads the work over several wake-ups and never holds up the loop. */
#include <stdint.h>
#include <string.h>

#include "daemon/engine.h"
#include "daemon/home.h"
#include "daemon/toolchain.h"
#include "sys/loop.h"

/* When more homes were due than one wake-up takes: the rest this soon after. */
#define DRIFT_MORE_MS 20

static bool same_print(const struct amx_file_print *a, const struct amx_file_print *b)
{
	return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino &&
	       a->size == b->size && a->mtime_ns == b->mtime_ns;
}

/* Did tools.pm2 or tools.node change since the last look? The first look counts as a
 * change: something may have changed since the daemon was learned. */
static bool tools_changed(struct amx_home *h)
{
	struct amx_file_print pm2, node;
	amx_toolchain_print(h, h->tools.pm2, &pm2);
	amx_toolchain_print(h, h->tools.node, &node);
	bool changed = !h->printed || !same_print(&pm2, &h->pm2_print) ||
		       !same_print(&node, &h->node_print);
	h->pm2_print = pm2;
	h->node_print = node;
	h->printed = true;
	return changed;
}

static void check_home(struct amx_engine *e, int hi)
{
	struct amx_home *h = &e->homes[hi];
	int god = h->god_pid && amx_home_is_god(h, h->god_pid) ? h->god_pid : 0;
	if (tools_changed(h)) {
		/* The daemon is the authority on what it runs; then what it named is checked
		 * again (a removed pm2 is forgotten) and the home's pm2 chosen again. */
		if (god && h->tools.source != AMX_TOOLS_CONFIG)
			eng_learn_tools(e, hi, god, false);
		if (amx_toolchain_recheck(h, e->o))
			eng_log(e, "%s: pm2 %s, node %s after a change on disk", h->path,
				h->tools.pm2[0] ? h->tools.pm2 : "(none)",
				h->tools.node[0] ? h->tools.node : "(unknown)");
		/* What was chosen now is what the next look compares with. */
		tools_changed(h);
	}
	struct amx_daemon_tools d;
	if (god && amx_toolchain_daemon_state(god, &d))
		eng_report_drift(e, hi, god, &d, true);
}

void eng_tick_drift(void *ctx, uint64_t now)
{
	struct amx_engine *e = ctx;
	if (e->o->drift_interval_s <= 0 || e->n_homes <= 0)
		return;
	uint64_t every = (uint64_t)(e->o->drift_interval_s * 1000);
	if (every == 0)
		every = 1;
	if (e->drift_due_ms && now < e->drift_due_ms) {
		amx_loop_wake_at(e->drift_due_ms);
		return;
	}
	int done = 0;
	uint64_t next = UINT64_MAX;
	int start = e->drift_next % e->n_homes;
	for (int k = 0; k < e->n_homes; k++) {
		int hi = (start + k) % e->n_homes;
		struct amx_home *h = &e->homes[hi];
		/* The first looks spread over one interval, not all at once. */
		if (!h->drift_due_ms)
			h->drift_due_ms = now + every * (uint64_t)(hi + 1) / (uint64_t)e->n_homes;
		if (h->drift_due_ms <= now) {
			if (done < AMX_DRIFT_HOMES_PER_WAKE) {
				check_home(e, hi);
				done++;
				h->drift_due_ms = now + every;
				e->drift_next = hi + 1;
			} else if (now + DRIFT_MORE_MS < next) {
				next = now + DRIFT_MORE_MS;
			}
		}
		if (h->drift_due_ms > now && h->drift_due_ms < next)
			next = h->drift_due_ms;
	}
	e->drift_due_ms = next;
	amx_loop_wake_at(next);
}
