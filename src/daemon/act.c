/* SPDX-License-Identifier: MIT */
/* Policy glue: an input goes to the app's or the home's recovery policy (src/core/policy.c,
 * pure), and what the policy asks for is done here: an event, a status query, a tier run
 * as a pm2 command. Budgets are saved when an attempt went in; an oom-killed held for its
 * outcome goes out once the policy has decided. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "daemon/budgetfile.h"
#include "daemon/config.h"
#include "daemon/engine.h"
#include "sys/loop.h"
#include "sys/proc.h"
#include "sys/systemd.h"

/* The policy settings of one app: the global ones, with its [app] section's manual grace,
 * budget and ecosystem file over them. */
static struct amx_policy_config app_cfg(const struct amx_engine *e, const struct amx_home *h,
					const struct amx_app *a)
{
	struct amx_policy_config cfg = e->cfg;
	amx_config_app_policy(e->o, h->path, a->name, &cfg);
	return cfg;
}

/* Attempts left in an app's budget: the status view's getter (ctx is the engine). */
unsigned eng_app_budget_left(void *ctx, const struct amx_home *h, const struct amx_app *a,
			     uint64_t now)
{
	struct amx_engine *e = ctx;
	struct amx_policy_config cfg = app_cfg(e, h, a);
	return amx_budget_left(&a->pol.budget, &cfg, now);
}

static void run_actions(struct amx_engine *e, int hi, int ai, struct amx_actions *acts);

/* The held oom-killed goes out with its outcome. */
void eng_send_held_oom(struct amx_engine *e, struct amx_oom_pending *p, const struct amx_oom_outcome *o)
{
	eng_emit(e, amx_oom_event_new(&e->stream, &p->kev, e->homes[p->home].path, p->app, o));
	amx_oomwait_release(p);
}

/* A held oom-killed goes out once the victim has exited and the policy has decided: PM2
 * gave the app a new pid while we waited for it (sent just before pm2-restarted-app), or
 * the wait for PM2 is over (sent just before what the policy does next). */
static void resolve_held_oom(struct amx_engine *e, int hi, int ai, const struct amx_actions *acts)
{
	const struct amx_app *a = &e->homes[hi].apps[ai];
	struct amx_oom_pending *p = amx_oomwait_find(&e->oomwait, hi, a->name);
	if (!p)
		return; /* nothing held */
	for (unsigned k = 0; k < a->n_inst; k++)
		if (a->inst[k].pid && a->inst[k].pid == (int)p->kev.pid)
			return; /* the victim has not exited yet */
	struct amx_oom_outcome o = { .result = AMX_OOM_NOT_RESTARTED };
	for (int i = 0; i < acts->n; i++)
		if (acts->a[i].kind == AMX_ACT_EMIT && acts->a[i].emit == AMX_EMIT_PM2_RESTARTED_APP) {
			o.result = AMX_OOM_PM2_RESTARTED;
			o.new_pid = acts->a[i].pid;
			o.restart_ms = acts->a[i].ms;
		}
	if (o.result != AMX_OOM_PM2_RESTARTED &&
	    (a->pol.state == AMX_APP_WAIT_PM2 || a->pol.state == AMX_APP_QUERYING ||
	     (a->pol.state == AMX_APP_AWAIT_LISTEN && a->pol.listen_for_pm2)))
		return; /* PM2's part is not known yet (its new copy is not serving yet) */
	eng_send_held_oom(e, p, &o);
}

/* Held past AMX_OOM_HOLD_MAX_MS: the policy never decided (a victim that did not exit). */
void eng_tick_held_ooms(void *ctx, uint64_t now)
{
	struct amx_engine *e = ctx;
	struct amx_oom_pending *p;
	struct amx_oom_outcome o = { .result = AMX_OOM_NOT_RESTARTED };
	while ((p = amx_oomwait_expired(&e->oomwait, now)))
		eng_send_held_oom(e, p, &o);
	amx_loop_wake_at(amx_oomwait_next_deadline(&e->oomwait));
}

static uint64_t budget_last(const struct amx_budget *b)
{
	return b->n ? b->at_ms[b->n - 1] : 0;
}

/* An attempt went into a budget: keep it in the state directory before the tier runs, so
 * that a restart of amexbpf does not renew a spent budget. */
static void save_budget_if_changed(const struct amx_home *h, const struct amx_budget *b,
				   unsigned n_before, uint64_t last_before)
{
	if (b->n != n_before || budget_last(b) != last_before)
		amx_budget_save(h);
}

/* One input to an app's policy (now filled in when 0), and its actions run. */
void eng_feed_app(struct amx_engine *e, int hi, int ai, struct amx_input in)
{
	struct amx_home *h = &e->homes[hi];
	struct amx_app *a = &h->apps[ai];
	struct amx_actions acts = { 0 };
	struct amx_policy_config cfg = app_cfg(e, h, a);
	in.now_ms = in.now_ms ? in.now_ms : eng_now_ms(e);
	in.rand = (uint32_t)random();
	unsigned n_before = a->pol.budget.n;
	uint64_t last_before = budget_last(&a->pol.budget);
	amx_app_step(&a->pol, &cfg, &in, &acts);
	save_budget_if_changed(h, &a->pol.budget, n_before, last_before);
	resolve_held_oom(e, hi, ai, &acts);
	run_actions(e, hi, ai, &acts);
}

/* One input to the home's policy (the God daemon), and its actions run. */
void eng_feed_home(struct amx_engine *e, int hi, struct amx_input in)
{
	struct amx_home *h = &e->homes[hi];
	struct amx_actions acts = { 0 };
	in.now_ms = in.now_ms ? in.now_ms : eng_now_ms(e);
	in.rand = (uint32_t)random();
	in.dump_valid = h->dump_valid;
	h->pol.wants_daemon = amx_home_wants_daemon(h);
	h->pol.dump_valid = h->dump_valid;
	unsigned n_before = h->pol.budget.n;
	uint64_t last_before = budget_last(&h->pol.budget);
	amx_home_step(&h->pol, &e->cfg, &in, &acts);
	save_budget_if_changed(h, &h->pol.budget, n_before, last_before);
	run_actions(e, hi, -1, &acts);
}

/* The event of an AMX_ACT_EMIT action. */
static void emit_policy_event(struct amx_engine *e, int hi, int ai, const struct amx_action *x)
{
	struct amx_home *h = &e->homes[hi];
	struct amx_app *a = ai >= 0 ? &h->apps[ai] : NULL;
	const char *who = a ? a->name : "the PM2 daemon";
	json_t *ev = NULL;
	switch (x->emit) {
	case AMX_EMIT_PM2_RESTARTED_APP:
		ev = amx_event_new(&e->stream, AMX_EVT_PM2_RESTARTED_APP, 0,
				   "PM2 restarted %s in %llu ms", who, (unsigned long long)x->ms);
		amx_event_set_int(ev, "process.pid", x->pid ? x->pid : a ? a->pid : 0);
		amx_event_set_int(ev, "amexbpf.pm2_restart_ms", (int64_t)x->ms);
		if (a)
			a->pm2_restarts++;
		if (a && e->instance_now) {
			e->instance_now->pm2_restarts++;
			eng_set_instance_fields(ev, a, e->instance_now);
		}
		if (x->serving != AMX_SERVING_UNKNOWN)
			amx_event_set_int(ev, "event.duration", (int64_t)x->ms * 1000000);
		eng_set_serving_fields(ev, a, x->serving);
		break;
	case AMX_EMIT_APP_STOPPED:
		ev = amx_event_new(&e->stream, AMX_EVT_APP_STOPPED, 0, "%s was %s on purpose", who,
				   x->deleted ? "deleted" : "stopped");
		amx_event_set_bool(ev, "amexbpf.intentional", true);
		amx_event_set_bool(ev, "amexbpf.deleted", x->deleted);
		amx_event_set_int(ev, "amexbpf.manual_grace_s", (int64_t)(e->o->manual_grace_s));
		break;
	case AMX_EMIT_APP_ERRORED:
		ev = amx_event_new(&e->stream, AMX_EVT_APP_ERRORED, 0,
				   "PM2 gave up on %s (errored)", who);
		if (a)
			eng_set_stderr_tail(ev, h, a);
		break;
	case AMX_EMIT_DAEMON_DOWN_NO_APPS:
		ev = amx_event_new_level(&e->stream, AMX_EVT_RECOVERY_FAILED, "warn", 0,
					 "the PM2 daemon of %s is down and no saved app wants it",
					 h->path);
		amx_event_set_int(ev, "amexbpf.tier", 2);
		amx_event_set_int(ev, "amexbpf.attempt", x->attempt);
		amx_event_set_str(ev, "event.reason", "no app desired online");
		break;
	case AMX_EMIT_RECOVERY_STARTED: {
		struct amx_argv argv = { 0 };
		eng_build_argv(e, &argv, x->tier, h, a);
		ev = amx_event_new(&e->stream, AMX_EVT_RECOVERY_STARTED, 0,
				   "recovering %s: tier %d, attempt %d", who, x->tier, x->attempt);
		amx_event_set_int(ev, "amexbpf.tier", x->tier);
		amx_event_set_int(ev, "amexbpf.attempt", x->attempt);
		amx_event_set_int(ev, "amexbpf.backoff_ms", (int64_t)x->backoff_ms);
		if (x->retry)
			amx_event_set_int(ev, "amexbpf.deferred_ms", (int64_t)x->deferred_ms);
		amx_event_set(ev, "amexbpf.command", eng_argv_json(&argv));
		amx_event_set_str(ev, "amexbpf.run_as", h->owner.name);
		break;
	}
	case AMX_EMIT_RECOVERY_SUCCEEDED:
		ev = amx_event_new(&e->stream, AMX_EVT_RECOVERY_SUCCEEDED, 0,
				   "%s is back (tier %d, attempt %d, %llu ms)", who, x->tier,
				   x->attempt, (unsigned long long)x->ms);
		amx_event_set_int(ev, "amexbpf.tier", x->tier);
		amx_event_set_int(ev, "amexbpf.attempt", x->attempt);
		amx_event_set_int(ev, "event.duration", (int64_t)x->ms * 1000000);
		amx_event_set_int(ev, "process.pid", x->pid);
		eng_set_serving_fields(ev, a, x->serving);
		if (a && x->tier >= 1 && x->tier <= 3)
			a->recoveries[x->tier]++;
		break;
	case AMX_EMIT_RECOVERY_FAILED: {
		ev = amx_event_new(&e->stream, AMX_EVT_RECOVERY_FAILED, 0,
				   "tier %d did not bring %s back: %s", x->tier, who, x->reason);
		amx_event_set_int(ev, "amexbpf.tier", x->tier);
		amx_event_set_int(ev, "amexbpf.attempt", x->attempt);
		amx_event_set_str(ev, "event.reason", x->reason);
		char *out = a ? a->last_output : h->last_output;
		if (out[0])
			amx_event_set_str(ev, "amexbpf.output", out);
		out[0] = '\0';
		break;
	}
	case AMX_EMIT_RECOVERY_PARKED:
		if (x->reason[0])
			ev = amx_event_new(&e->stream, AMX_EVT_RECOVERY_PARKED, 0,
					   "recovery of %s parked: port %u is held by another "
					   "process; looking again in %llu s", who, x->port,
					   (unsigned long long)(x->ms / 1000));
		else
			ev = amx_event_new(&e->stream, AMX_EVT_RECOVERY_PARKED, 0,
					   "restart budget of %s spent (%u attempts in %llu s): "
					   "waiting %llu s", who, x->budget_attempts,
					   (unsigned long long)(x->budget_window_ms / 1000),
					   (unsigned long long)(x->ms / 1000));
		amx_event_set_int(ev, "amexbpf.budget.attempts", x->budget_attempts);
		amx_event_set_int(ev, "amexbpf.budget.window_s", (int64_t)(x->budget_window_ms / 1000));
		amx_event_set_int(ev, "amexbpf.budget.retry_in_ms", (int64_t)x->ms);
		if (x->reason[0]) { /* not the budget: a port another process holds */
			amx_event_set_str(ev, "event.reason", x->reason);
			amx_event_set_int(ev, "amexbpf.port", x->port);
		}
		if (a)
			eng_set_stderr_tail(ev, h, a);
		break;
	case AMX_EMIT_PORT_CONFLICT: {
		const struct amx_holder_facts *f = &e->conflict_now;
		bool ours = x->holder == AMX_HOLDER_ORPHAN;
		ev = amx_event_new(&e->stream, AMX_EVT_PORT_CONFLICT, 0,
				   "%s cannot listen on port %u: pid %d (%.64s, uid %u) holds it%s",
				   who, x->port, x->holder_pid, f->comm, (unsigned)f->uid,
				   !ours ? "; recovery parks"
				   : e->conflict_stopped ? ", an orphaned copy of the app: stopped"
							 : ", an orphaned copy of the app");
		amx_event_set_int(ev, "amexbpf.port", x->port);
		amx_event_set_int(ev, "amexbpf.holder.pid", x->holder_pid);
		if (f->pid == x->holder_pid) {
			amx_event_set_str(ev, "amexbpf.holder.name", f->comm);
			amx_event_set_int(ev, "amexbpf.holder.uid", f->uid);
		}
		amx_event_set_bool(ev, "amexbpf.holder.orphan", ours);
		if (ours)
			amx_event_set_bool(ev, "amexbpf.holder.stopped", e->conflict_stopped);
		if (a)
			eng_set_stderr_tail(ev, h, a);
		break;
	}
	case AMX_EMIT_NO_ECOSYSTEM:
		ev = amx_event_new_level(&e->stream, AMX_EVT_RECOVERY_FAILED, "warn", 0,
					 "tier 3 skipped for %s: no ecosystem file configured (--ecosystem)",
					 who);
		amx_event_set_int(ev, "amexbpf.tier", 3);
		amx_event_set_int(ev, "amexbpf.attempt", x->attempt);
		amx_event_set_str(ev, "event.reason", "no ecosystem file configured");
		break;
	}
	if (!ev)
		return;
	eng_set_app_fields(ev, h, a);
	if (!a && x->emit == AMX_EMIT_RECOVERY_SUCCEEDED)
		amx_event_set_int(ev, "amexbpf.pm2.daemon_pid", x->pid);
	eng_emit(e, ev);
}

static void answer_status_unknown(struct amx_engine *e, int hi, int ai)
{
	struct amx_input in = { .kind = AMX_IN_STATUS, .status = AMX_PM2_UNKNOWN };
	eng_feed_app(e, hi, ai, in);
}

/* Ask PM2 (pm2 jlist) how the app stands; one query answers every app waiting. */
static void start_status_query(struct amx_engine *e, int hi, int ai)
{
	struct amx_home *h = &e->homes[hi];
	h->apps[ai].awaiting_status = true;
	if (h->status_query >= 0)
		return; /* one jlist answers every app waiting */
	/* `pm2 jlist` would start an empty daemon if none runs: ask only a live one. */
	if (!h->god_pid || !amx_home_is_god(h, h->god_pid)) {
		h->apps[ai].awaiting_status = false;
		e->up.rescan_home(e, hi);
		if (e->homes[hi].apps[ai].pol.state == AMX_APP_QUERYING)
			answer_status_unknown(e, hi, ai);
		return;
	}
	struct amx_argv argv;
	char err[256] = "no pm2 known for this home";
	/* A home with no pm2 yet (daemon/toolchain.h) has no status query to run. */
	int idx = eng_build_argv(e, &argv, AMX_TIER_STATUS, h, NULL)
			  ? eng_start_command(e, hi, -1, 0, 0, &argv, err, sizeof(err))
			  : -1;
	if (idx < 0) {
		fprintf(stderr, "amexbpf: failed to run pm2 jlist for %s: %s\n", h->path, err);
		h->apps[ai].awaiting_status = false;
		answer_status_unknown(e, hi, ai);
		return;
	}
	e->cmds[idx].child.keep_all_output = true;
	h->status_query = idx;
}

/* Tier 2 with a dump found broken: the last good copy goes back first. */
static void restore_dump(struct amx_engine *e, int hi)
{
	struct amx_home *h = &e->homes[hi];
	int rc = amx_home_restore_dump(h);
	json_t *ev;
	if (rc == 0) {
		ev = amx_event_new(&e->stream, AMX_EVT_DUMP_RESTORED, 0,
				   "put back the last good dump.pm2 of %s (%zu apps)", h->path,
				   h->good.n_apps);
		amx_event_set_int(ev, "amexbpf.dump.apps", (int64_t)h->good.n_apps);
		h->dump_valid = true;
	} else {
		ev = amx_event_new(&e->stream, AMX_EVT_RECOVERY_FAILED, 0,
				   "could not put back dump.pm2 of %s: %s", h->path, strerror(-rc));
		amx_event_set_str(ev, "event.reason", strerror(-rc));
		amx_event_set_int(ev, "amexbpf.tier", 2);
		amx_event_set_int(ev, "amexbpf.attempt", h->pol.attempt);
	}
	char p[4200];
	snprintf(p, sizeof(p), "%s/dump.pm2", h->path);
	amx_event_set_str(ev, "amexbpf.dump.path", p);
	eng_set_app_fields(ev, h, NULL);
	eng_emit(e, ev);
}

/* Whether the process we know as the instance still runs: the same pid and start time,
 * not a zombie. */
bool eng_instance_runs(const struct amx_instance *in)
{
	struct amx_proc_stat st;
	return in->pid && amx_proc_read_stat(in->pid, &st) && st.state != 'Z' &&
	       st.start_ticks == in->start_ticks;
}

/* The app's process still runs and belongs to the home's owner: root never kills, on the
 * word of a user's files, a process that is not that user's. */
static bool orphan_of_owner(const struct amx_home *h, const struct amx_instance *in)
{
	struct amx_proc_stat st;
	return eng_instance_runs(in) && amx_proc_read_stat(in->pid, &st) && st.uid == h->owner.uid;
}

/* A quiet app can outlive a killed PM2 daemon, re-parented to PID 1, still holding its
 * port: the resurrected copy would then crash-loop on EADDRINUSE. Nothing supervises the
 * orphan any more, so it goes before tier 2 brings the app back. The pid is checked
 * against its start time and signalled through a pidfd, so a reused pid is never hit. */
static void stop_orphaned_apps(struct amx_engine *e, int hi)
{
	struct amx_home *h = &e->homes[hi];
	for (size_t i = 0; i < h->n_apps; i++) {
		struct amx_app *a = &h->apps[i];
		for (unsigned k = 0; k < a->n_inst; k++) {
			const struct amx_instance *in = &a->inst[k];
			if (!orphan_of_owner(h, in))
				continue;
			int pidfd = (int)syscall(SYS_pidfd_open, in->pid, 0);
			if (pidfd < 0)
				continue;
			/* Checked again through the pidfd: it now pins this very process. */
			if (orphan_of_owner(h, in) &&
			    syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) == 0)
				fprintf(stderr, "amexbpf: %s: stopped %s (pid %d), left running by "
						"the dead PM2 daemon, so that the resurrected copy "
						"can take its place\n", h->path, a->name, in->pid);
			close(pidfd);
		}
	}
}

/* No command slot for this home: the tier waits (not an attempt, no budget spent, no
 * recovery-started), and says so once per app and attempt. A home's owner can make all her
 * apps wait at once (a pm2 that hangs): her deferrals share her home's rate limit of
 * events (events-suppressed counts what it held back), so a flood of them stays hers. */
static void defer_tier(struct amx_engine *e, int hi, int ai, const struct amx_action *x,
		       const char *why)
{
	struct amx_home *h = &e->homes[hi];
	struct amx_app *a = ai >= 0 ? &h->apps[ai] : NULL;
	if (!x->retry && eng_file_event_allowed(e, hi)) {
		json_t *ev = amx_event_new(&e->stream, AMX_EVT_RECOVERY_DEFERRED, 0,
					   "tier %d of %s waits for a command slot: %s", x->tier,
					   a ? a->name : "the PM2 daemon", why);
		amx_event_set_int(ev, "amexbpf.tier", x->tier);
		amx_event_set_int(ev, "amexbpf.attempt", x->attempt);
		amx_event_set_str(ev, "event.reason", why);
		amx_event_set_int(ev, "amexbpf.retry_in_ms", AMX_DEFER_RETRY_MS);
		eng_set_app_fields(ev, h, a);
		eng_emit(e, ev);
	}
	struct amx_input in = { .kind = AMX_IN_ACTION_DONE, .deferred = true };
	if (a)
		eng_feed_app(e, hi, ai, in);
	else
		eng_feed_home(e, hi, in);
}

/* Run a tier as a pm2 command, with its recovery-started (started, the policy's, said
 * here once a command slot is the tier's: a tier that waits for one is deferred, not
 * started). A tier that cannot start its command is a failed attempt at once. */
static void run_tier(struct amx_engine *e, int hi, int ai, const struct amx_action *x,
		     const struct amx_action *started)
{
	struct amx_home *h = &e->homes[hi];
	struct amx_app *a = ai >= 0 ? &h->apps[ai] : NULL;
	char err[512];
	struct amx_argv argv;
	if (!eng_command_slot_free(e, hi, err, sizeof(err))) {
		defer_tier(e, hi, ai, x, err);
		return;
	}
	if (started)
		emit_policy_event(e, hi, ai, started);
	if (x->tier != 2 && (!h->god_pid || !amx_home_is_god(h, h->god_pid))) {
		/* Tier 1 or 3 against a dead daemon would spawn an empty one: tier 2 first. */
		struct amx_input in = { .kind = AMX_IN_ACTION_DONE, .ok = false,
					.reason = "the PM2 daemon is down" };
		eng_feed_app(e, hi, ai, in);
		e->up.rescan_home(e, hi);
		return;
	}
	if (x->tier == 2)
		stop_orphaned_apps(e, hi);
	if (x->tier == 2 && x->restore_dump)
		restore_dump(e, hi);
	if (!eng_build_argv(e, &argv, x->tier, h, a)) {
		struct amx_input in = { .kind = AMX_IN_ACTION_DONE, .ok = false,
					.reason = "no command for this tier" };
		if (a)
			eng_feed_app(e, hi, ai, in);
		else
			eng_feed_home(e, hi, in);
		return;
	}
	int idx = eng_start_command(e, hi, ai, x->tier, x->attempt, &argv, err, sizeof(err));
	if (a) /* after the spawn: argv borrows it. A later attempt restarts the whole app. */
		a->restart_only[0] = '\0';
	if (idx < 0) {
		struct amx_input in = { .kind = AMX_IN_ACTION_DONE, .ok = false, .reason = err };
		if (a)
			eng_feed_app(e, hi, ai, in);
		else
			eng_feed_home(e, hi, in);
		return;
	}
	if (a)
		a->running = idx;
	else
		h->running = idx;
}

/* Tier 2 where systemd is the init: whether pm2-<owner>.service is active decides its
 * command. Asked with `systemctl is-active` as a command like the others (its own deadline,
 * AMX_UNIT_QUERY_TIMEOUT_MS), never on the loop: the tier's recovery-started and its run
 * wait for the answer (eng_unit_answered). false: not needed, go on now. */
static bool ask_unit_first(struct amx_engine *e, int hi, const struct amx_action *started,
			   const struct amx_action *run)
{
	struct amx_home *h = &e->homes[hi];
	char unit[128], err[256];
	if (!e->systemd_booted || !e->systemd_booted())
		return false;
	h->unit_active = false;
	if (!amx_pm2_unit_name(h->owner.name, unit, sizeof(unit)))
		return false; /* no such unit can exist */
	e->unit_wait[hi] = (struct amx_unit_wait){ .started = *started, .run = *run };
	if (h->unit_query >= 0)
		return true; /* asked already: the answer runs this one */
	struct amx_argv argv;
	amx_unit_active_argv(&argv, unit); /* a command keeps only argv[0], a literal */
	int idx = eng_start_command(e, hi, -1, 0, 0, &argv, err, sizeof(err));
	if (idx < 0)
		return false; /* as if inactive; run_tier defers it when no slot is free */
	e->cmds[idx].unit_query = true;
	e->cmds[idx].deadline_ms = eng_now_ms(e) + AMX_UNIT_QUERY_TIMEOUT_MS;
	h->unit_query = idx;
	return true;
}

void eng_unit_answered(struct amx_engine *e, int hi, bool active)
{
	struct amx_home *h = &e->homes[hi];
	h->unit_active = active;
	struct amx_unit_wait w = e->unit_wait[hi];
	memset(&e->unit_wait[hi], 0, sizeof(e->unit_wait[hi]));
	/* The daemon may have come back meanwhile: the policy has moved on. */
	if (w.run.kind != AMX_ACT_RUN_TIER || h->pol.state != AMX_HOME_RECOVERING)
		return;
	run_tier(e, hi, -1, &w.run, &w.started);
}

/* A park for a port conflict looks again: who holds the port now (nobody: the policy
 * runs tier 1). */
static void check_port(struct amx_engine *e, int hi, int ai, uint16_t port)
{
	uint64_t next_ms;
	if (!eng_conflict_lookup_allowed(e, hi, &next_ms))
		return; /* the home searched a moment ago: the park looks again next time */
	struct amx_input in = { .kind = AMX_IN_PORT_CONFLICT, .port = port };
	in.holder = eng_port_holder(e, hi, &e->homes[hi].apps[ai], port, &e->conflict_now);
	in.holder_pid = e->conflict_now.pid;
	eng_feed_app(e, hi, ai, in);
}

static void run_actions(struct amx_engine *e, int hi, int ai, struct amx_actions *acts)
{
	for (int i = 0; i < acts->n; i++) {
		const struct amx_action *x = &acts->a[i];
		const struct amx_action *next = i + 1 < acts->n ? &acts->a[i + 1] : NULL;
		if (x->kind == AMX_ACT_EMIT && x->emit == AMX_EMIT_RECOVERY_STARTED && next &&
		    next->kind == AMX_ACT_RUN_TIER) {
			i++; /* said by run_tier once the command has its slot */
			if (ai < 0 && next->tier == 2 && ask_unit_first(e, hi, x, next))
				continue; /* both wait for systemctl's answer */
			run_tier(e, hi, ai, next, x);
			continue;
		}
		switch (x->kind) {
		case AMX_ACT_EMIT:
			emit_policy_event(e, hi, ai, x);
			break;
		case AMX_ACT_QUERY_STATUS:
			if (ai >= 0)
				start_status_query(e, hi, ai);
			break;
		case AMX_ACT_RUN_TIER:
			run_tier(e, hi, ai, x, NULL);
			break;
		case AMX_ACT_STOP_HOLDER:
			e->conflict_stopped = ai >= 0 &&
				eng_stop_holder(e, hi, &e->homes[hi].apps[ai], x->port, x->holder_pid);
			break;
		case AMX_ACT_CHECK_PORT:
			if (ai >= 0)
				check_port(e, hi, ai, x->port);
			break;
		default:
			break;
		}
	}
}
