/* SPDX-License-Identifier: MIT */
/* What a finished pm2 command says, turned into policy inputs: `pm2 jlist` answers each
 * app waiting for its status; a tier's result (and what pm2 printed when it failed) goes to
 * the app's or the home's policy, and the new God daemon or app pid is looked for at once
 * rather than when inotify gets to it. commands.c reaps; this reads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dump.h"
#include "core/tier_command.h"
#include "daemon/engine.h"

/* pm2 colours its output: drop escape sequences and control characters. */
static void strip_terminal_codes(char *s)
{
	char *w = s;
	for (const char *r = s; *r; r++) {
		if (*r == 0x1b) {
			if (r[1] == '[') {
				r += 2;
				while (*r && !(*r >= '@' && *r <= '~'))
					r++;
				if (!*r)
					break;
			}
			continue;
		}
		*w++ = ((unsigned char)*r < 0x20) ? ' ' : *r;
	}
	*w = '\0';
}

/* pm2 jlist finished: each app waiting for its status gets what PM2 says of it (unknown
 * when the query failed or did not parse, missing when PM2 does not list it). */
static void read_status_answer(struct amx_engine *e, struct amx_command *c, bool ok)
{
	int hi = c->home;
	struct amx_home *h = &e->homes[hi];
	h->status_query = -1;
	struct amx_dump list = { 0 };
	size_t jlen = 0;
	char *jlist = ok ? e->spawner.read_all(e->spawner.ctx, &c->child, AMX_DUMP_MAX_BYTES, &jlen)
			 : NULL;
	bool parsed = jlist && amx_jlist_parse(jlist, jlen, &list) == AMX_DUMP_OK;
	free(jlist);
	for (size_t i = 0; i < h->n_apps; i++) {
		struct amx_app *a = &h->apps[i];
		if (!a->awaiting_status)
			continue;
		a->awaiting_status = false;
		for (size_t k = 0; parsed && k < list.n_apps; k++) {
			const struct amx_dump_app *j = &list.apps[k];
			if (!strcmp(j->name, a->name) && j->status == AMX_ST_ONLINE && j->pid > 0)
				eng_consider_child(e, hi, j->pid);
		}
		/* Online means every instance: the pids of all of them are known. */
		struct amx_input in = {
			.kind = AMX_IN_STATUS,
			.status = amx_jlist_status(parsed ? &list : NULL, a->name,
						   a->n_inst && amx_app_instances_alive(a) == a->n_inst)
		};
		if (a->pol.state == AMX_APP_QUERYING)
			eng_feed_app(e, hi, (int)i, in);
	}
	amx_dump_free(&list);
}

/* The app a command runs for, now: c->app was its index when the command started, but a
 * dump adopted since may have reordered or shrunk the home's apps. The app that still
 * holds the command (a kept app keeps its state, `running` with it) is the one; -1 the
 * home's own command; AMX_CMD_APP_GONE when the app left the dump meanwhile. */
#define AMX_CMD_APP_GONE (-2)
static int command_app(const struct amx_engine *e, const struct amx_command *c)
{
	if (c->app < 0)
		return c->app;
	const struct amx_home *h = &e->homes[c->home];
	int slot = (int)(c - e->cmds);
	if ((size_t)c->app < h->n_apps && h->apps[c->app].running == slot)
		return c->app;
	for (size_t i = 0; i < h->n_apps; i++)
		if (h->apps[i].running == slot)
			return (int)i;
	return AMX_CMD_APP_GONE;
}

/* A tier finished: its result to the policy that ran it. */
static void read_tier_answer(struct amx_engine *e, struct amx_command *c, bool ok,
			     const char *reason)
{
	int hi = c->home, ai = command_app(e, c), tier = c->tier;
	struct amx_home *h = &e->homes[hi];
	if (ai == AMX_CMD_APP_GONE)
		return; /* its app is no longer in the dump: nobody to tell */
	char *keep = ai >= 0 ? h->apps[ai].last_output : h->last_output;
	keep[0] = '\0';
	if (!ok && c->child.out_len) {
		/* What pm2 printed goes with the failure event, briefly. */
		size_t off = c->child.out_len > 500 ? c->child.out_len - 500 : 0;
		snprintf(keep, 512, "%s", c->child.output + off);
		strip_terminal_codes(keep);
	}
	struct amx_input in = { .kind = AMX_IN_ACTION_DONE, .ok = ok, .reason = reason };
	if (ai >= 0) {
		h->apps[ai].running = -1;
		eng_feed_app(e, hi, ai, in);
	} else {
		h->running = -1;
		eng_feed_home(e, hi, in);
		/* pm2 resurrect returned: pick the new daemon up even if inotify is late. */
		eng_refresh_god(e, hi);
	}
	if (tier == 1 || tier == 3) {
		if (ai >= 0 && e->homes[hi].apps[ai].pol.state != AMX_APP_ALIVE && h->god_pid)
			eng_scan_god_children(e, hi);
	}
}

void eng_command_done(struct amx_engine *e, struct amx_command *c, bool ok, const char *reason)
{
	if (c->oom_query)
		eng_oom_policy_answered(e, c, ok);
	else if (c->unit_query) {
		e->homes[c->home].unit_query = -1;
		size_t len = 0;
		char *out = e->spawner.read_all(e->spawner.ctx, &c->child, 64, &len);
		eng_unit_answered(e, c->home, amx_unit_state_is_systemds(ok, out, len));
		free(out);
	} else if (c->tier == 0)
		read_status_answer(e, c, ok);
	else
		read_tier_answer(e, c, ok, reason);
}
