/* SPDX-License-Identifier: MIT */
/* The homes set up at start and added on SIGHUP, and the reload itself: the config file
 * read again (a config that does not validate changes nothing), the policy options
 * re-applied, the events file reopened (logrotate) or replaced, new homes watched. BPF
 * stays attached. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/dump.h"
#include "daemon/budgetfile.h"
#include "daemon/config.h"
#include "daemon/engine.h"
#include "daemon/selftest.h"
#include "daemon/toolchain.h"
#include "sys/sched.h"

/* logrotate moved the file (same path): open it anew. A reload that names another file:
 * close the old one, open the new. */
static void reopen_events_sink(struct amx_engine *e, const char *old_path)
{
	const char *path = e->o->events_path;
	if (old_path && path && !strcmp(old_path, path)) {
		amx_eventfile_reopen(&e->events);
		return;
	}
	amx_eventfile_close(&e->events);
	if (amx_eventfile_open(&e->events, path) < 0)
		fprintf(stderr, "amexbpf: failed to open events file %s: %s\n", path ? path : "-",
			strerror(errno));
}

/* The options the recovery policy reads, in its units. */
void eng_apply_policy_options(struct amx_engine *e, const struct amx_options *o)
{
	amx_config_policy(o, &e->cfg);
}

/* Watch the homes a reload added; whatever happened in them before is caught by the
 * re-scan that follows. */
static bool watch_new_homes(struct amx_engine *e, char *err, size_t errlen)
{
	const char *paths[AMX_MAX_HOMES];
	for (int i = 0; i < e->n_homes; i++)
		paths[i] = e->homes[i].path;
	return amx_watcher_add_homes(e->watcher, paths, e->n_homes, err, errlen);
}

/* SIGHUP: the config file again, new PM2 homes, a new events file. BPF stays attached, and
 * a config that does not validate changes nothing. */
void eng_reload_config(struct amx_engine *e)
{
	reopen_events_sink(e, e->o->events_path);
	struct amx_options *fresh = &e->reloaded;
	char err[4096] = "";
	int rc = e->o->rebuild ? e->o->rebuild(fresh, err, sizeof(err)) : AMX_EXIT_SOFTWARE;
	size_t n = strlen(err);
	while (n && err[n - 1] == '\n')
		err[--n] = '\0';
	if (rc) {
		json_t *ev = amx_event_new(&e->stream, AMX_EVT_CONFIG_INVALID, 0,
					   "the config file did not validate; the running settings stay");
		amx_event_set_str(ev, "event.reason", err[0] ? err : "invalid");
		eng_emit(e, ev);
		return;
	}
	const char *old_events = e->o->events_path;
	enum amx_sched_mode old_sched = e->o->sched_mode;
	unsigned old_priority = e->o->sched_priority;
	*e->o = *fresh;
	eng_apply_policy_options(e, e->o);
	/* Before the watcher's thread may start again (new homes): it raises itself. */
	char sched_said[200];
	eng_sched_reload(e, old_sched, old_priority, sched_said, sizeof(sched_said));
	amx_exit_source_set_stats(&e->src, e->o->bpf_stats);
	if (!old_events || !e->o->events_path || strcmp(old_events, e->o->events_path) != 0)
		reopen_events_sink(e, old_events);
	int before = e->n_homes;
	char herr[1024] = "";
	rc = eng_setup_homes(e, herr, sizeof(herr));
	if (e->n_homes > before && !watch_new_homes(e, herr, sizeof(herr)))
		rc = AMX_EXIT_OS;
	char reason[1200];
	snprintf(reason, sizeof(reason), "%s: %d new PM2 home(s)%s%s%s",
		 e->o->config_path ? e->o->config_path : "no config file", e->n_homes - before,
		 sched_said, rc && herr[0] ? "; " : "", rc ? herr : "");
	json_t *ev = amx_event_new_level(&e->stream, AMX_EVT_CONFIG_RELOADED, rc ? "warn" : "info",
					 0, "re-read the configuration; watching %d PM2 home(s)",
					 e->n_homes);
	amx_event_set_str(ev, "event.reason", reason);
	amx_event_set_str(ev, "amexbpf.sched", amx_sched_describe());
	eng_emit(e, ev);
	eng_emit_skipped_homes(e);
	for (int hi = 0; hi < before; hi++) {
		eng_rescan_home(e, hi);
		eng_on_dump_event(e, hi);
	}
	eng_initial_state(e, before);
	/* --drift-interval may have changed: every home is looked at afresh within it. */
	e->drift_due_ms = 0;
	for (int hi = 0; hi < e->n_homes; hi++)
		e->homes[hi].drift_due_ms = 0;
}


/* The index of the home at path, or -1. */
static int home_index(struct amx_engine *e, const char *path)
{
	for (int hi = 0; hi < e->n_homes; hi++)
		if (!strcmp(e->homes[hi].path, path))
			return hi;
	return -1;
}

/* Leave out a discovered home, and say so once the events are out: one user's files never
 * stop the monitoring of the others. */
static void skip_home(struct amx_engine *e, const char *path, const char *user,
		      const char *reason)
{
	fprintf(stderr, "amexbpf: skipping %s: %s\n", path, reason);
	if (e->n_skipped == AMX_MAX_HOMES)
		return;
	struct amx_skipped_home *s = &e->skipped[e->n_skipped++];
	snprintf(s->path, sizeof(s->path), "%s", path);
	snprintf(s->user, sizeof(s->user), "%s", user ? user : "");
	snprintf(s->reason, sizeof(s->reason), "%s", reason);
}

/* Drop home hi, set up but not watched yet (before the self-test's end). */
static void drop_home(struct amx_engine *e, int hi, const char *reason)
{
	struct amx_home *h = &e->homes[hi];
	skip_home(e, h->path, h->owner.name, reason);
	amx_home_free(h);
	memmove(h, h + 1, (size_t)(e->n_homes - hi - 1) * sizeof(*h));
	e->n_homes--;
}

/* The homes of the options (discovered when none is given) that are not set up yet: each
 * one's dump (or its good copy) and its budgets of the previous run. At start, and on
 * SIGHUP for the homes a reload added. A home named by the operator that cannot be used
 * stops the start-up; a discovered one is skipped (home-skipped). */
int eng_setup_homes(struct amx_engine *e, char *err, size_t errlen)
{
	char *found[AMX_MAX_HOMES];
	int n = 0;
	if (e->o->n_homes == 0) {
		n = amx_discover_homes(found, AMX_MAX_HOMES);
		for (int i = 0; i < n; i++)
			e->o->homes[e->o->n_homes++] = found[i];
	}
	if (e->o->n_homes == 0) {
		snprintf(err, errlen, "no PM2 home found (no ~/.pm2 with dump.pm2 or pm2.pid; use --pm2-home)");
		return AMX_EXIT_NO_INPUT;
	}
	for (int i = 0; i < e->o->n_homes; i++) {
		char herr[512];
		struct amx_home *h = &e->homes[e->n_homes];
		if (home_index(e, e->o->homes[i]) >= 0)
			continue; /* a reload re-scans: homes already watched stay as they are */
		if (!amx_home_init(h, e->o->homes[i], e->o->state_dir, herr, sizeof(herr))) {
			if (e->o->homes_given) {
				snprintf(err, errlen, "%s", herr);
				return AMX_EXIT_NO_INPUT;
			}
			skip_home(e, e->o->homes[i], NULL, herr);
			continue;
		}
		struct amx_dump_read r;
		amx_home_read_dump(h, &r);
		if (r.problem == AMX_DUMP_OK) {
			amx_home_adopt_dump(h, &r, e->o->only, e->o->n_only);
		} else {
			const char *problem = amx_dump_read_problem(&r);
			bool missing = r.problem == -1000 - ENOENT;
			h->dump_valid = false;
			snprintf(h->dump_problem, sizeof(h->dump_problem), "%s", problem);
			if (!amx_home_load_good_copy(h, e->o->only, e->o->n_only) && !missing) {
				snprintf(herr, sizeof(herr), "dump.pm2 of %s is %s and no good copy is kept in %s",
					 h->path, problem, e->o->state_dir);
				amx_dump_read_free(&r);
				if (e->o->homes_given) {
					snprintf(err, errlen, "%s", herr);
					amx_home_free(h); /* not counted in n_homes: the cleanup would miss it */
					return AMX_EXIT_BAD_DUMP;
				}
				skip_home(e, h->path, h->owner.name, herr);
				amx_home_free(h);
				continue;
			}
			if (missing && !h->have_good)
				fprintf(stderr, "amexbpf: %s has no dump.pm2: no saved apps to watch yet\n", h->path);
		}
		amx_dump_read_free(&r);
		int kept = amx_budget_load(h, eng_now_ms(e));
		if (kept > 0)
			fprintf(stderr, "amexbpf: %s: %d recovery attempt(s) of the previous run still "
					"count against the restart budgets\n", h->path, kept);
		e->n_homes++;
	}
	if (e->n_homes == 0) {
		snprintf(err, errlen, "no usable PM2 home");
		return AMX_EXIT_NO_INPUT;
	}
	/* Each home's pm2 and node: remembered, then asked of its daemon when one runs (the
	 * drift is reported once the daemon is watched); the config may have changed. */
	for (int hi = 0; hi < e->n_homes; hi++) {
		struct amx_home *h = &e->homes[hi];
		if (!h->learned.pm2[0])
			amx_toolchain_recall(h);
		int god = amx_home_read_god_pid(h);
		if (god && amx_home_is_god(h, god))
			eng_learn_tools(e, hi, god, false);
		else
			amx_toolchain_choose(h, e->o);
	}
	return 0;
}

/* One home's pm2 and node (its toolchain, daemon/toolchain.h): true when they run, or when
 * the home has none yet (it waits for its daemon to name one). A pm2 learned from a daemon
 * that fails is forgotten and the next choice tried; one the operator named (--pm2, the
 * config) failing is a failure, with err filled. */
static bool selftest_tools(struct amx_engine *e, struct amx_home *h, char *err, size_t errlen)
{
	char version[64];
	for (int attempt = 0; attempt < 2; attempt++) {
		struct amx_toolchain *t = &h->tools;
		if (t->source == AMX_TOOLS_NONE) {
			fprintf(stderr, "amexbpf: self-test: %s: no usable pm2 (none from the config, "
					"its daemon, --pm2 or PATH): skipped until a daemon names one\n",
				h->path);
			return true;
		}
		fprintf(stderr, "amexbpf: %s: pm2 %s, node %s (from %s)\n", h->path, t->pm2,
			t->node[0] ? t->node : "on PATH", amx_tools_source_name(t->source));
		if (e->selftest_pm2(t, h, version, sizeof(version), err, errlen)) {
			if (!e->pm2_version[0])
				snprintf(e->pm2_version, sizeof(e->pm2_version), "%s", version);
			return true;
		}
		if (t->source != AMX_TOOLS_DAEMON && t->source != AMX_TOOLS_REMEMBERED)
			return false;
		fprintf(stderr, "amexbpf: self-test: %s\n", err);
		memset(&h->learned, 0, sizeof(h->learned));
		amx_toolchain_choose(h, e->o);
	}
	return true;
}

/* Before monitor-started: can each owner read its home, and run its home's pm2? Each
 * failure is one line. A home named by the operator failing is fatal; a discovered one is
 * skipped (its owner can make its own self-test fail: kill the child, break its node), and
 * only no home left is fatal. */
int eng_selftest_homes(struct amx_engine *e)
{
	char err[700];
	int rc = 0;
	for (int hi = 0; hi < e->n_homes; hi++) {
		struct amx_home *h = &e->homes[hi];
		if (amx_selftest_home(h, err, sizeof(err)) && selftest_tools(e, h, err, sizeof(err)))
			continue;
		fprintf(stderr, "amexbpf: self-test: %s\n", err);
		if (e->o->homes_given) {
			rc = AMX_EXIT_NO_INPUT;
			continue;
		}
		drop_home(e, hi, err);
		hi--;
	}
	if (!rc && e->n_homes == 0) {
		fprintf(stderr, "amexbpf: self-test: no usable PM2 home\n");
		rc = AMX_EXIT_NO_INPUT;
	}
	return rc;
}
