/* SPDX-License-Identifier: MIT */
/* The recovery policy (see policy.h): two pure state machines. Everything they decide comes
 * from the inputs: the clock is in->now_ms, the jitter comes from in->rand.
 *
 * Two fields carry a second meaning, because policy.h has no dedicated slot for them:
 * - tier_started_ms, while BACKOFF or PARKED: when the wait began, so that RECOVERY_STARTED
 *   can report the delay actually waited.
 * - requeries (app), while HOME_DOWN: the pid seen alive meanwhile (0 = none seen), so that
 *   HOME_UP knows whether the app is already back.
 */
#include "core/policy.h"
#include "core/policy_budget.h"

#include <stdio.h>
#include <string.h>

void amx_policy_config_defaults(struct amx_policy_config *c)
{
	memset(c, 0, sizeof(*c));
	c->grace_ms = 2000;
	c->manual_grace_ms = 300000;
	c->verify_ms = 15000;
	c->budget_attempts = 5;
	c->budget_window_ms = 600000;
	c->backoff_base_ms = 1000;
	c->backoff_max_ms = 60000;
	c->have_ecosystem = false;
}

void amx_app_policy_init(struct amx_app_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->state = AMX_APP_UNKNOWN;
}

void amx_home_policy_init(struct amx_home_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->state = AMX_HOME_UNKNOWN;
}

static struct amx_action *add_action(struct amx_actions *out, enum amx_action_kind kind)
{
	struct amx_action *a;

	if (out->n < 0 || out->n >= AMX_MAX_ACTIONS)
		return NULL; /* cannot happen: no step emits more than 4; never overrun */
	a = &out->a[out->n++];
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	return a;
}

static struct amx_action *add_emit(struct amx_actions *out, enum amx_emit_kind emit, int tier, int attempt)
{
	struct amx_action *a = add_action(out, AMX_ACT_EMIT);

	if (a) {
		a->emit = emit;
		a->tier = tier;
		a->attempt = attempt;
	}
	return a;
}

/* RECOVERY_STARTED and its RUN_TIER, always together: the caller says the first only once
 * the command has a slot. A deferred attempt tried again (retry) says the backoff waited
 * before its first try, and how long it has waited for a slot since (deferred_ms). */
static void start_tier(struct amx_actions *out, int tier, int attempt, bool restore_dump,
		       bool retry, uint64_t backoff_ms, uint64_t deferred_ms)
{
	struct amx_action *a = add_emit(out, AMX_EMIT_RECOVERY_STARTED, tier, attempt);

	if (a) {
		a->backoff_ms = backoff_ms;
		a->deferred_ms = deferred_ms;
		a->retry = retry;
	}
	a = add_action(out, AMX_ACT_RUN_TIER);
	if (a) {
		a->tier = tier;
		a->attempt = attempt;
		a->restore_dump = restore_dump;
		a->retry = retry;
	}
}

static void emit_succeeded(struct amx_actions *out, int tier, int attempt, uint64_t ms, int pid,
			   enum amx_serving serving)
{
	struct amx_action *a = add_emit(out, AMX_EMIT_RECOVERY_SUCCEEDED, tier, attempt);

	if (a) {
		a->ms = ms;
		a->pid = pid;
		a->serving = serving;
	}
}

static void emit_pm2_restarted(struct amx_actions *out, uint64_t ms, int pid, enum amx_serving serving)
{
	struct amx_action *a = add_emit(out, AMX_EMIT_PM2_RESTARTED_APP, 0, 0);

	if (a) {
		a->ms = ms;
		a->pid = pid;
		a->serving = serving;
	}
}

/* "no live pid within 15 s", "pid 42 did not listen within 1500 ms" */
static void within(char *buf, size_t len, const char *what, uint64_t ms)
{
	if (ms % 1000 == 0)
		snprintf(buf, len, "%s within %llu s", what, (unsigned long long)(ms / 1000));
	else
		snprintf(buf, len, "%s within %llu ms", what, (unsigned long long)ms);
}

static void emit_failed(struct amx_actions *out, int tier, int attempt, const char *reason)
{
	struct amx_action *a = add_emit(out, AMX_EMIT_RECOVERY_FAILED, tier, attempt);

	if (a)
		snprintf(a->reason, sizeof(a->reason), "%s",
			 reason && *reason ? reason : "tier command failed");
}

static void emit_failed_no_pid(struct amx_actions *out, int tier, int attempt,
			       const struct amx_policy_config *c)
{
	char reason[64];

	within(reason, sizeof(reason), "no live pid", c->verify_ms);
	emit_failed(out, tier, attempt, reason);
}

static void emit_parked(struct amx_actions *out, const struct amx_policy_config *c, int tier,
			int attempt, uint64_t ms)
{
	struct amx_action *a = add_emit(out, AMX_EMIT_RECOVERY_PARKED, tier, attempt);

	if (a) {
		a->budget_attempts = c->budget_attempts;
		a->budget_window_ms = c->budget_window_ms;
		a->ms = ms;
	}
}

static uint64_t elapsed(uint64_t since_ms, uint64_t now_ms)
{
	return now_ms > since_ms ? now_ms - since_ms : 0;
}

/* ---- the app machine ---- */

static void app_enter(struct amx_app_policy *p, enum amx_app_state state, uint64_t deadline_ms)
{
	if (state != AMX_APP_BACKOFF)
		p->deferred = false;
	if (state != AMX_APP_PARKED)
		p->conflict_parked = false;
	p->state = state;
	p->deadline_ms = deadline_ms;
}

static void app_new_incident(struct amx_app_policy *p, uint64_t now_ms)
{
	p->exited_at_ms = now_ms;
	p->attempt = 0;
	p->requeries = 0;
	p->next_tier = 0;
}

static void app_wait_pm2(struct amx_app_policy *p, const struct amx_policy_config *c, uint64_t now_ms)
{
	app_new_incident(p, now_ms);
	app_enter(p, AMX_APP_WAIT_PM2, now_ms + c->grace_ms);
}

static void app_park(struct amx_app_policy *p, const struct amx_policy_config *c, int tier,
		     uint64_t now_ms, uint64_t until_ms, struct amx_actions *out)
{
	emit_parked(out, c, tier, p->attempt + 1, until_ms - now_ms);
	p->next_tier = tier;
	p->tier_started_ms = now_ms; /* the wait begins */
	app_enter(p, AMX_APP_PARKED, until_ms);
}

/* Run `tier` now unless the budget is spent. */
static void app_start_attempt(struct amx_app_policy *p, const struct amx_policy_config *c, int tier,
			      uint64_t waited_ms, uint64_t now_ms, struct amx_actions *out)
{
	uint64_t lift_at_ms;

	if (amx_budget_spent(&p->budget, c, now_ms, &lift_at_ms)) {
		app_park(p, c, tier, now_ms, lift_at_ms, out);
		return;
	}
	amx_budget_record(&p->budget, c, now_ms);
	p->attempt++;
	p->tier = tier;
	p->next_tier = 0;
	p->tier_started_ms = now_ms;
	if (!p->deferred) { /* not a deferred attempt tried again: a new one */
		p->try_waited_ms = waited_ms;
		p->tried_ms = now_ms;
	}
	start_tier(out, tier, p->attempt, false, p->deferred, p->try_waited_ms,
		   elapsed(p->tried_ms, now_ms));
	app_enter(p, AMX_APP_RECOVERING, 0);
}

/* The next attempt of this incident is due: at once if it is the first, else after a backoff
 * (or a park, when the budget is already spent: say so now, not after the backoff). */
static void app_attempt_due(struct amx_app_policy *p, const struct amx_policy_config *c, int tier,
			    const struct amx_input *in, struct amx_actions *out)
{
	uint64_t now_ms = in->now_ms, lift_at_ms;
	uint64_t backoff_ms = amx_backoff_before_attempt(c, p->attempt + 1, in->rand);

	if (backoff_ms == 0) {
		app_start_attempt(p, c, tier, 0, now_ms, out);
		return;
	}
	if (amx_budget_spent(&p->budget, c, now_ms, &lift_at_ms)) {
		if (lift_at_ms < now_ms + backoff_ms)
			lift_at_ms = now_ms + backoff_ms;
		app_park(p, c, tier, now_ms, lift_at_ms, out);
		return;
	}
	p->next_tier = tier;
	p->tier_started_ms = now_ms; /* the wait begins */
	app_enter(p, AMX_APP_BACKOFF, now_ms + backoff_ms);
}

/* A tier failed: choose what runs next. Tier 1 escalates to tier 3 (a fresh start from the
 * ecosystem file) when there is one; tier 3 and tier 2 fall back to tier 1. */
static void app_after_failure(struct amx_app_policy *p, const struct amx_policy_config *c,
			      const struct amx_input *in, struct amx_actions *out)
{
	int failed = p->tier, next = 1;

	if (failed == 1 && c->have_ecosystem)
		next = 3;
	else if (failed == 1 && p->attempt == 1) /* once per incident: its first failure */
		add_emit(out, AMX_EMIT_NO_ECOSYSTEM, 3, p->attempt);
	if (failed == 2)
		p->attempt = 0; /* tier 2 was the home's attempt; the app's own begin now, at once */
	app_attempt_due(p, c, next, in, out);
}

static void app_succeeded(struct amx_app_policy *p, const struct amx_input *in, struct amx_actions *out,
			  enum amx_serving serving)
{
	emit_succeeded(out, p->tier, p->attempt, elapsed(p->tier_started_ms, in->now_ms), in->pid,
		       serving);
	app_enter(p, AMX_APP_ALIVE, 0);
}

/* A new pid of an app that listened before: it is back once it listens again, within
 * verify_ms of its appearance (a cold start is counted from there, not from the tier). */
static void app_await_listen(struct amx_app_policy *p, const struct amx_policy_config *c,
			     const struct amx_input *in, bool for_pm2)
{
	p->listen_for_pm2 = for_pm2;
	p->listen_pid = in->pid;
	app_enter(p, AMX_APP_AWAIT_LISTEN, in->now_ms + c->verify_ms);
}

static void app_on_serving(struct amx_app_policy *p, const struct amx_input *in,
			   struct amx_actions *out)
{
	if (p->state == AMX_APP_HOME_DOWN) {
		if (p->requeries == in->pid && p->seen_must_listen) {
			p->seen_must_listen = false;
			p->seen_serving = true;
		}
		return;
	}
	if (p->state != AMX_APP_AWAIT_LISTEN)
		return;
	if (p->listen_for_pm2) {
		emit_pm2_restarted(out, elapsed(p->exited_at_ms, in->now_ms), in->pid, AMX_SERVING_YES);
		app_enter(p, AMX_APP_ALIVE, 0);
	} else {
		app_succeeded(p, in, out, AMX_SERVING_YES);
	}
}

/* verify_ms passed and the new pid does not listen: PM2's restart is reported as not
 * serving (no attempt of ours failed); a tier's attempt failed. */
static void app_listen_timed_out(struct amx_app_policy *p, const struct amx_policy_config *c,
				 const struct amx_input *in, struct amx_actions *out)
{
	char what[48], reason[80];

	if (p->listen_for_pm2) {
		emit_pm2_restarted(out, elapsed(p->exited_at_ms, in->now_ms), p->listen_pid,
				   AMX_SERVING_NO);
		app_enter(p, AMX_APP_ALIVE, 0);
		return;
	}
	snprintf(what, sizeof(what), "pid %d did not listen", p->listen_pid);
	within(reason, sizeof(reason), what, c->verify_ms);
	emit_failed(out, p->tier, p->attempt, reason);
	app_after_failure(p, c, in, out);
}

/* An app of `instances: N` is up when all N run: one instance back while another is still
 * missing is PM2's restart of that instance, and the incident goes on. */
static bool app_complete(const struct amx_input *in)
{
	return in->instances_wanted <= 1 || in->instances_alive >= in->instances_wanted;
}

static void app_on_alive(struct amx_app_policy *p, const struct amx_policy_config *c,
			 const struct amx_input *in, struct amx_actions *out)
{
	bool complete = app_complete(in);
	enum amx_serving serving = in->serving ? AMX_SERVING_YES : AMX_SERVING_UNKNOWN;

	switch (p->state) {
	case AMX_APP_WAIT_PM2:
	case AMX_APP_QUERYING: /* PM2 brought it back while we waited or asked */
		if (complete && in->must_listen) {
			app_await_listen(p, c, in, true);
			break;
		}
		emit_pm2_restarted(out, elapsed(p->exited_at_ms, in->now_ms), in->pid, serving);
		if (complete)
			app_enter(p, AMX_APP_ALIVE, 0);
		break;
	case AMX_APP_RECOVERING: /* the new pid can arrive before the tier command exits */
	case AMX_APP_VERIFYING:
		if (complete && in->must_listen)
			app_await_listen(p, c, in, false);
		else if (complete)
			app_succeeded(p, in, out, serving);
		break;
	case AMX_APP_AWAIT_LISTEN: /* another pid (PM2 restarted it again): await that one */
		p->listen_pid = in->pid;
		if (!in->must_listen)
			app_on_serving(p, in, out);
		break;
	case AMX_APP_HOME_DOWN:
		if (complete) {
			p->requeries = in->pid > 0 ? in->pid : -1;
			p->seen_must_listen = in->must_listen;
			p->seen_serving = in->serving;
		}
		break;
	case AMX_APP_DESIRED_STOPPED:
		break; /* dump.pm2 still says stopped: an unsaved manual start is not ours to keep */
	default: /* UNKNOWN, ALIVE, MANUAL, BACKOFF, PARKED: it is back, whoever did it */
		if (complete)
			app_enter(p, AMX_APP_ALIVE, 0);
		break;
	}
}

static void app_on_gone(struct amx_app_policy *p, const struct amx_policy_config *c,
			const struct amx_input *in, struct amx_actions *out)
{
	/* A tier's new copy died before it listened: that attempt failed, now (waiting out
	 * verify_ms instead made a crash loop take 15 s an attempt to park). If PM2 brings
	 * another copy meanwhile, it is seen alive as in any backoff. */
	if (p->state == AMX_APP_AWAIT_LISTEN && !p->listen_for_pm2 && in->kind == AMX_IN_EXITED &&
	    in->pid > 0 && in->pid == p->listen_pid) {
		char reason[80];
		snprintf(reason, sizeof(reason), "pid %d exited before it listened", in->pid);
		emit_failed(out, p->tier, p->attempt, reason);
		app_after_failure(p, c, in, out);
		return;
	}
	/* PM2's new copy died before it listened: a new exit for PM2 to handle. */
	if (p->state == AMX_APP_UNKNOWN || p->state == AMX_APP_ALIVE ||
	    (p->state == AMX_APP_AWAIT_LISTEN && p->listen_for_pm2))
		app_wait_pm2(p, c, in->now_ms);
	else if (p->state == AMX_APP_HOME_DOWN)
		p->requeries = 0; /* what was seen alive is gone again */
}

static void app_on_status(struct amx_app_policy *p, const struct amx_policy_config *c,
			  const struct amx_input *in, struct amx_actions *out)
{
	struct amx_action *a;
	enum amx_pm2_status status = in->status;

	if (p->state != AMX_APP_QUERYING)
		return;
	if (status == AMX_PM2_TRANSIENT) {
		if (++p->requeries < 3) {
			app_enter(p, AMX_APP_WAIT_PM2, in->now_ms + c->grace_ms);
			return;
		}
		status = AMX_PM2_ERRORED; /* stuck between states: PM2 is not getting there */
	}
	switch (status) {
	case AMX_PM2_ONLINE:
		app_enter(p, AMX_APP_ALIVE, 0);
		break;
	case AMX_PM2_STOPPED:
	case AMX_PM2_MISSING:
		a = add_emit(out, AMX_EMIT_APP_STOPPED, 0, 0);
		if (a) {
			a->intentional = true;
			a->deleted = status == AMX_PM2_MISSING;
		}
		if (c->manual_grace_ms == 0)
			app_attempt_due(p, c, 1, in, out);
		else
			app_enter(p, AMX_APP_MANUAL, in->now_ms + c->manual_grace_ms);
		break;
	case AMX_PM2_ERRORED:
		add_emit(out, AMX_EMIT_APP_ERRORED, 0, 0);
		app_attempt_due(p, c, 1, in, out);
		break;
	default: /* UNKNOWN or anything new: we cannot tell, so act */
		app_attempt_due(p, c, 1, in, out);
		break;
	}
}

static void app_on_action_done(struct amx_app_policy *p, const struct amx_policy_config *c,
			       const struct amx_input *in, struct amx_actions *out)
{
	if (p->state != AMX_APP_RECOVERING)
		return;
	if (in->deferred) { /* no slot: not an attempt; the same tier again shortly */
		amx_budget_refund(&p->budget, p->tier_started_ms);
		p->attempt--;
		p->next_tier = p->tier;
		app_enter(p, AMX_APP_BACKOFF, in->now_ms + AMX_DEFER_RETRY_MS);
		p->deferred = true;
		return;
	}
	if (in->ok) {
		app_enter(p, AMX_APP_VERIFYING, in->now_ms + c->verify_ms);
		return;
	}
	emit_failed(out, p->tier, p->attempt, in->reason);
	app_after_failure(p, c, in, out);
}


static void app_on_tick(struct amx_app_policy *p, const struct amx_policy_config *c,
			const struct amx_input *in, struct amx_actions *out)
{
	uint64_t now_ms = in->now_ms;

	switch (p->state) {
	case AMX_APP_WAIT_PM2:
	case AMX_APP_QUERYING:
	case AMX_APP_MANUAL:
	case AMX_APP_VERIFYING:
	case AMX_APP_AWAIT_LISTEN:
	case AMX_APP_BACKOFF:
	case AMX_APP_PARKED:
		if (now_ms < p->deadline_ms)
			return;
		break;
	default:
		return;
	}
	switch (p->state) {
	case AMX_APP_WAIT_PM2:
		add_action(out, AMX_ACT_QUERY_STATUS);
		app_enter(p, AMX_APP_QUERYING, now_ms + c->verify_ms);
		break;
	case AMX_APP_QUERYING: /* no answer in time: as if the query failed */
	case AMX_APP_MANUAL:   /* a long stop counts as a failure, as the old cron did */
		app_attempt_due(p, c, 1, in, out);
		break;
	case AMX_APP_VERIFYING:
		emit_failed_no_pid(out, p->tier, p->attempt, c);
		app_after_failure(p, c, in, out);
		break;
	case AMX_APP_AWAIT_LISTEN:
		app_listen_timed_out(p, c, in, out);
		break;
	case AMX_APP_PARKED:
		if (p->conflict_parked) { /* is the port free now? (PORT_CONFLICT answers) */
			struct amx_action *a = add_action(out, AMX_ACT_CHECK_PORT);
			if (a)
				a->port = p->conflict_port;
			p->deadline_ms = now_ms + AMX_CONFLICT_RECHECK_MS;
			break;
		}
		/* fall through */
	default: /* BACKOFF, PARKED */
		app_start_attempt(p, c, p->next_tier ? p->next_tier : 1,
				  elapsed(p->tier_started_ms, now_ms), now_ms, out);
		break;
	}
}

static void app_on_desired(struct amx_app_policy *p, const struct amx_policy_config *c,
			   const struct amx_input *in)
{
	if (!in->desired_online) {
		app_enter(p, AMX_APP_DESIRED_STOPPED, 0);
		return;
	}
	if (p->state != AMX_APP_DESIRED_STOPPED)
		return;
	if (in->alive)
		app_enter(p, AMX_APP_ALIVE, 0);
	else
		app_wait_pm2(p, c, in->now_ms);
}

static void app_on_home_down(struct amx_app_policy *p, const struct amx_input *in)
{
	if (p->state == AMX_APP_DESIRED_STOPPED || p->state == AMX_APP_HOME_DOWN)
		return;
	app_new_incident(p, in->now_ms); /* the incident starts with the daemon's death */
	app_enter(p, AMX_APP_HOME_DOWN, 0);
}

static void app_on_home_up(struct amx_app_policy *p, const struct amx_policy_config *c,
			   const struct amx_input *in, struct amx_actions *out)
{
	int seen_pid = p->requeries;

	if (p->state != AMX_APP_HOME_DOWN)
		return;
	p->requeries = 0;
	if (!seen_pid)
		p->seen_must_listen = p->seen_serving = false;
	if (in->by_tier2) {
		/* tier 2 was the home's attempt; the app counts it as its own first */
		p->tier = 2;
		p->attempt = 1;
	}
	if (seen_pid && in->by_tier2 && p->seen_must_listen) {
		/* back, not yet serving: the duration still counts from the death */
		struct amx_input seen = *in;

		seen.pid = seen_pid > 0 ? seen_pid : 0;
		p->tier_started_ms = p->exited_at_ms;
		app_await_listen(p, c, &seen, false);
	} else if (seen_pid && in->by_tier2) {
		emit_succeeded(out, 2, 1, elapsed(p->exited_at_ms, in->now_ms), seen_pid > 0 ? seen_pid : 0,
			       p->seen_serving ? AMX_SERVING_YES : AMX_SERVING_UNKNOWN);
		app_enter(p, AMX_APP_ALIVE, 0);
	} else if (seen_pid) {
		app_enter(p, AMX_APP_ALIVE, 0);
	} else if (in->by_tier2) {
		p->tier_started_ms = in->now_ms;
		app_enter(p, AMX_APP_VERIFYING, in->now_ms + c->verify_ms);
	} else {
		/* someone else revived the daemon: give its resurrect time to bring the app */
		app_enter(p, AMX_APP_WAIT_PM2, in->now_ms + c->verify_ms);
	}
}


/* The app's port is held (its error log said EADDRINUSE, the socket tables named the
 * holder). An orphaned copy of the app is stopped, and PM2's restart or the incident's
 * tier goes on. Another process is not ours to stop, and no restart can win against it:
 * recovery parks (no attempt spent) and looks at the port again every recheck; the port
 * free, tier 1 runs. A conflict is said once per port and holder per budget window: PM2's
 * own restart loop repeats it at every crash. */
static void app_on_port_conflict(struct amx_app_policy *p, const struct amx_policy_config *c,
				 const struct amx_input *in, struct amx_actions *out)
{
	uint64_t now_ms = in->now_ms;
	struct amx_action *a;

	switch (p->state) {
	case AMX_APP_UNKNOWN:
	case AMX_APP_MANUAL:
	case AMX_APP_DESIRED_STOPPED:
	case AMX_APP_HOME_DOWN:
		return; /* not ours to act on now */
	default:
		break;
	}
	if (in->holder == AMX_HOLDER_NONE || !in->port) {
		if (p->state == AMX_APP_PARKED && p->conflict_parked) /* the port is free */
			app_start_attempt(p, c, 1, elapsed(p->tier_started_ms, now_ms), now_ms, out);
		return;
	}
	bool repeat = p->conflict_port == in->port && p->conflict_holder == in->holder_pid &&
		      now_ms >= p->conflict_at_ms && now_ms - p->conflict_at_ms < c->budget_window_ms;
	bool park = in->holder == AMX_HOLDER_OTHER && !(p->state == AMX_APP_PARKED);
	/* The orphan is stopped first, so that the event can say whether it was. */
	if (in->holder == AMX_HOLDER_ORPHAN) {
		a = add_action(out, AMX_ACT_STOP_HOLDER);
		if (a) {
			a->port = in->port;
			a->holder_pid = in->holder_pid;
		}
	}
	if (!repeat) {
		a = add_emit(out, AMX_EMIT_PORT_CONFLICT, 0, p->attempt);
		if (a) {
			a->port = in->port;
			a->holder_pid = in->holder_pid;
			a->holder = in->holder;
		}
		p->conflict_port = in->port;
		p->conflict_holder = in->holder_pid;
		p->conflict_at_ms = now_ms;
	}
	if (in->holder == AMX_HOLDER_ORPHAN)
		return;
	if (!park)
		return; /* already parked: that park stands and ends as it would have */
	if (!repeat) {
		a = add_emit(out, AMX_EMIT_RECOVERY_PARKED, 1, p->attempt + 1);
		if (a) {
			a->budget_attempts = c->budget_attempts;
			a->budget_window_ms = c->budget_window_ms;
			a->ms = AMX_CONFLICT_RECHECK_MS;
			a->port = in->port;
			snprintf(a->reason, sizeof(a->reason), "port-conflict");
		}
	}
	p->next_tier = 1;
	p->tier_started_ms = now_ms;
	app_enter(p, AMX_APP_PARKED, now_ms + AMX_CONFLICT_RECHECK_MS);
	p->conflict_parked = true;
}

/* An unhealthy live app gets what an errored one gets: tier 1 at once (a new incident).
 * Only from ALIVE: in every other state an incident already runs, or it is not ours. */
static void app_on_unhealthy(struct amx_app_policy *p, const struct amx_policy_config *c,
			     const struct amx_input *in, struct amx_actions *out)
{
	if (p->state != AMX_APP_ALIVE)
		return;
	app_new_incident(p, in->now_ms);
	app_attempt_due(p, c, 1, in, out);
}

void amx_app_step(struct amx_app_policy *p, const struct amx_policy_config *c,
		  const struct amx_input *in, struct amx_actions *out)
{
	switch (in->kind) {
	case AMX_IN_DESIRED:
		app_on_desired(p, c, in);
		return;
	case AMX_IN_HOME_DOWN:
		app_on_home_down(p, in);
		return;
	case AMX_IN_HOME_UP:
		app_on_home_up(p, c, in, out);
		return;
	case AMX_IN_ALIVE:
		app_on_alive(p, c, in, out);
		return;
	case AMX_IN_SERVING:
		app_on_serving(p, in, out);
		return;
	case AMX_IN_EXITED:
	case AMX_IN_ABSENT:
		app_on_gone(p, c, in, out);
		return;
	default:
		break;
	}
	if (p->state == AMX_APP_HOME_DOWN)
		return; /* the home machine is in charge */
	switch (in->kind) {
	case AMX_IN_STATUS:
		app_on_status(p, c, in, out);
		break;
	case AMX_IN_ACTION_DONE:
		app_on_action_done(p, c, in, out);
		break;
	case AMX_IN_TICK:
		app_on_tick(p, c, in, out);
		break;
	case AMX_IN_UNHEALTHY:
		app_on_unhealthy(p, c, in, out);
		break;
	case AMX_IN_PORT_CONFLICT:
		app_on_port_conflict(p, c, in, out);
		break;
	default: /* DAEMON_DOWN is for homes */
		break;
	}
}

/* ---- the home machine ---- */

static void home_enter(struct amx_home_policy *p, enum amx_home_state state, uint64_t deadline_ms)
{
	if (state != AMX_HOME_BACKOFF)
		p->deferred = false;
	p->state = state;
	p->deadline_ms = deadline_ms;
}

static void home_park(struct amx_home_policy *p, const struct amx_policy_config *c,
		      uint64_t now_ms, uint64_t until_ms, struct amx_actions *out)
{
	emit_parked(out, c, 2, p->attempt + 1, until_ms - now_ms);
	p->tier_started_ms = now_ms; /* the wait begins */
	home_enter(p, AMX_HOME_PARKED, until_ms);
}

static void home_start_attempt(struct amx_home_policy *p, const struct amx_policy_config *c,
			       uint64_t waited_ms, uint64_t now_ms, struct amx_actions *out)
{
	uint64_t lift_at_ms;

	if (amx_budget_spent(&p->budget, c, now_ms, &lift_at_ms)) {
		home_park(p, c, now_ms, lift_at_ms, out);
		return;
	}
	amx_budget_record(&p->budget, c, now_ms);
	p->attempt++;
	p->tier_started_ms = now_ms;
	if (!p->deferred) { /* as in app_start_attempt */
		p->try_waited_ms = waited_ms;
		p->tried_ms = now_ms;
	}
	start_tier(out, 2, p->attempt, !p->dump_valid, p->deferred, p->try_waited_ms,
		   elapsed(p->tried_ms, now_ms));
	home_enter(p, AMX_HOME_RECOVERING, 0);
}

/* Tier 2 is due: at once for the first attempt of an incident, else after a backoff. */
static void home_recover(struct amx_home_policy *p, const struct amx_policy_config *c,
			 const struct amx_input *in, struct amx_actions *out)
{
	uint64_t now_ms = in->now_ms, lift_at_ms;
	uint64_t backoff_ms = amx_backoff_before_attempt(c, p->attempt + 1, in->rand);

	if (backoff_ms == 0) {
		home_start_attempt(p, c, 0, now_ms, out);
		return;
	}
	if (amx_budget_spent(&p->budget, c, now_ms, &lift_at_ms)) {
		if (lift_at_ms < now_ms + backoff_ms)
			lift_at_ms = now_ms + backoff_ms;
		home_park(p, c, now_ms, lift_at_ms, out);
		return;
	}
	p->tier_started_ms = now_ms; /* the wait begins */
	home_enter(p, AMX_HOME_BACKOFF, now_ms + backoff_ms);
}

static void home_idle(struct amx_home_policy *p, struct amx_actions *out)
{
	add_emit(out, AMX_EMIT_DAEMON_DOWN_NO_APPS, 0, 0);
	home_enter(p, AMX_HOME_DOWN_IDLE, 0);
}

static void home_on_daemon_down(struct amx_home_policy *p, const struct amx_policy_config *c,
				const struct amx_input *in, struct amx_actions *out)
{
	/* seen down at start-up: we cannot know it was on purpose, so treat it as a death */
	bool intentional = p->state == AMX_HOME_UNKNOWN ? false : in->intentional;

	switch (p->state) {
	case AMX_HOME_UNKNOWN:
	case AMX_HOME_UP:
		p->down_at_ms = in->now_ms;
		p->attempt = 0;
		if (!p->wants_daemon)
			home_idle(p, out);
		else if (intentional && c->manual_grace_ms > 0)
			home_enter(p, AMX_HOME_DOWN_MANUAL, in->now_ms + c->manual_grace_ms);
		else
			home_recover(p, c, in, out);
		break;
	case AMX_HOME_RECOVERING:
	case AMX_HOME_VERIFYING: /* the fresh daemon died too */
		emit_failed(out, 2, p->attempt, "daemon died again");
		home_recover(p, c, in, out);
		break;
	default: /* already down and handled */
		break;
	}
}

static void home_on_alive(struct amx_home_policy *p, const struct amx_input *in, struct amx_actions *out)
{
	if (p->state == AMX_HOME_RECOVERING || p->state == AMX_HOME_VERIFYING)
		emit_succeeded(out, 2, p->attempt, elapsed(p->tier_started_ms, in->now_ms), in->pid,
			       AMX_SERVING_UNKNOWN);
	home_enter(p, AMX_HOME_UP, 0);
}

static void home_on_tick(struct amx_home_policy *p, const struct amx_policy_config *c,
			 const struct amx_input *in, struct amx_actions *out)
{
	uint64_t now_ms = in->now_ms;

	switch (p->state) {
	case AMX_HOME_DOWN_IDLE:
		if (p->wants_daemon)
			home_recover(p, c, in, out);
		break;
	case AMX_HOME_DOWN_MANUAL:
		if (now_ms < p->deadline_ms)
			break;
		if (p->wants_daemon)
			home_recover(p, c, in, out);
		else
			home_idle(p, out);
		break;
	case AMX_HOME_VERIFYING:
		if (now_ms < p->deadline_ms)
			break;
		emit_failed_no_pid(out, 2, p->attempt, c);
		home_recover(p, c, in, out);
		break;
	case AMX_HOME_BACKOFF:
	case AMX_HOME_PARKED:
		if (now_ms >= p->deadline_ms)
			home_start_attempt(p, c, elapsed(p->tier_started_ms, now_ms), now_ms, out);
		break;
	default:
		break;
	}
}

void amx_home_step(struct amx_home_policy *p, const struct amx_policy_config *c,
		   const struct amx_input *in, struct amx_actions *out)
{
	if (in->kind == AMX_IN_DAEMON_DOWN || in->kind == AMX_IN_TICK)
		p->dump_valid = in->dump_valid;
	switch (in->kind) {
	case AMX_IN_ALIVE:
		home_on_alive(p, in, out);
		break;
	case AMX_IN_DAEMON_DOWN:
		home_on_daemon_down(p, c, in, out);
		break;
	case AMX_IN_ACTION_DONE:
		if (p->state != AMX_HOME_RECOVERING)
			break;
		if (in->deferred) { /* no slot: not an attempt; tier 2 again shortly */
			amx_budget_refund(&p->budget, p->tier_started_ms);
			p->attempt--;
			home_enter(p, AMX_HOME_BACKOFF, in->now_ms + AMX_DEFER_RETRY_MS);
			p->deferred = true;
		} else if (in->ok) {
			home_enter(p, AMX_HOME_VERIFYING, in->now_ms + c->verify_ms);
		} else {
			emit_failed(out, 2, p->attempt, in->reason);
			home_recover(p, c, in, out);
		}
		break;
	case AMX_IN_TICK:
		home_on_tick(p, c, in, out);
		break;
	default: /* app inputs */
		break;
	}
}

const char *amx_app_state_name(enum amx_app_state s)
{
	switch (s) {
	case AMX_APP_UNKNOWN: return "unknown";
	case AMX_APP_ALIVE: return "alive";
	case AMX_APP_WAIT_PM2: return "wait_pm2";
	case AMX_APP_QUERYING: return "querying";
	case AMX_APP_MANUAL: return "manual";
	case AMX_APP_RECOVERING: return "recovering";
	case AMX_APP_VERIFYING: return "verifying";
	case AMX_APP_BACKOFF: return "backoff";
	case AMX_APP_PARKED: return "parked";
	case AMX_APP_DESIRED_STOPPED: return "desired_stopped";
	case AMX_APP_HOME_DOWN: return "home_down";
	case AMX_APP_AWAIT_LISTEN: return "await_listen";
	}
	return "invalid";
}

const char *amx_home_state_name(enum amx_home_state s)
{
	switch (s) {
	case AMX_HOME_UNKNOWN: return "unknown";
	case AMX_HOME_UP: return "up";
	case AMX_HOME_DOWN_MANUAL: return "down_manual";
	case AMX_HOME_DOWN_IDLE: return "down_idle";
	case AMX_HOME_RECOVERING: return "recovering";
	case AMX_HOME_VERIFYING: return "verifying";
	case AMX_HOME_BACKOFF: return "backoff";
	case AMX_HOME_PARKED: return "parked";
	}
	return "invalid";
}
