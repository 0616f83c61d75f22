/* SPDX-License-Identifier: MIT */
/* Unit tests of the recovery policy (src/core/policy.c): inputs and a fake clock in, actions out. */
#include "check.h"
#include "core/policy.h"

#include <stdint.h>

#define T0 1000000ull /* a boot-time clock well past zero */
#define IN(...) ((struct amx_input){__VA_ARGS__})

/* Every step in this file goes through these, so that the action bound is checked for all. */
static int most_actions_seen;

static struct amx_actions app_feed(struct amx_app_policy *p, const struct amx_policy_config *c,
				   struct amx_input in)
{
	struct amx_actions out;

	memset(&out, 0, sizeof(out));
	amx_app_step(p, c, &in, &out);
	if (out.n > most_actions_seen)
		most_actions_seen = out.n;
	return out;
}

static struct amx_actions home_feed(struct amx_home_policy *p, const struct amx_policy_config *c,
				    struct amx_input in)
{
	struct amx_actions out;

	memset(&out, 0, sizeof(out));
	amx_home_step(p, c, &in, &out);
	if (out.n > most_actions_seen)
		most_actions_seen = out.n;
	return out;
}

static const struct amx_action *find_emit(const struct amx_actions *o, enum amx_emit_kind emit)
{
	for (int i = 0; i < o->n; i++)
		if (o->a[i].kind == AMX_ACT_EMIT && o->a[i].emit == emit)
			return &o->a[i];
	return NULL;
}

static const struct amx_action *find_action(const struct amx_actions *o, enum amx_action_kind kind)
{
	for (int i = 0; i < o->n; i++)
		if (o->a[i].kind == kind)
			return &o->a[i];
	return NULL;
}

static struct amx_policy_config defaults(void)
{
	struct amx_policy_config c;

	amx_policy_config_defaults(&c);
	return c;
}

/* An app that was alive and has just exited at T0: WAIT_PM2. */
static struct amx_app_policy app_exited(const struct amx_policy_config *c)
{
	struct amx_app_policy p;

	amx_app_policy_init(&p);
	app_feed(&p, c, IN(.kind = AMX_IN_ALIVE, .now_ms = T0 - 5000, .pid = 100));
	app_feed(&p, c, IN(.kind = AMX_IN_EXITED, .now_ms = T0));
	return p;
}

/* An app in QUERYING at T0 + grace (the query was sent then). */
static struct amx_app_policy app_querying(const struct amx_policy_config *c)
{
	struct amx_app_policy p = app_exited(c);

	app_feed(&p, c, IN(.kind = AMX_IN_TICK, .now_ms = T0 + c->grace_ms));
	return p;
}

/* An app running tier 1, attempt 1, started at time `at` (PM2 said errored). */
static struct amx_app_policy app_recovering(const struct amx_policy_config *c, uint64_t *at)
{
	struct amx_app_policy p = app_querying(c);

	*at = T0 + c->grace_ms + 100;
	app_feed(&p, c, IN(.kind = AMX_IN_STATUS, .now_ms = *at, .status = AMX_PM2_ERRORED));
	return p;
}

static struct amx_home_policy home_up(void)
{
	struct amx_home_policy h;
	struct amx_policy_config c = defaults();

	amx_home_policy_init(&h);
	h.wants_daemon = true;
	h.dump_valid = true;
	home_feed(&h, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = T0 - 1000, .pid = 50));
	return h;
}

/* ---- config and names ---- */

TEST(config_defaults)
{
	struct amx_policy_config c = defaults();

	CHECK(c.grace_ms == 2000);
	CHECK(c.manual_grace_ms == 300000);
	CHECK(c.verify_ms == 15000);
	CHECK(c.budget_attempts == 5);
	CHECK(c.budget_window_ms == 600000);
	CHECK(c.backoff_base_ms == 1000);
	CHECK(c.backoff_max_ms == 60000);
	CHECK(!c.have_ecosystem);
}

TEST(state_names_cover_every_state)
{
	for (int s = AMX_APP_UNKNOWN; s <= AMX_APP_HOME_DOWN; s++) {
		const char *name = amx_app_state_name(s);

		CHECK(name && *name && strcmp(name, "invalid") != 0);
		for (int t = AMX_APP_UNKNOWN; t < s; t++)
			CHECK(strcmp(name, amx_app_state_name(t)) != 0);
	}
	for (int s = AMX_HOME_UNKNOWN; s <= AMX_HOME_PARKED; s++) {
		const char *name = amx_home_state_name(s);

		CHECK(name && *name && strcmp(name, "invalid") != 0);
		for (int t = AMX_HOME_UNKNOWN; t < s; t++)
			CHECK(strcmp(name, amx_home_state_name(t)) != 0);
	}
	CHECK_STR(amx_app_state_name(AMX_APP_WAIT_PM2), "wait_pm2");
	CHECK_STR(amx_home_state_name(AMX_HOME_DOWN_MANUAL), "down_manual");
	CHECK_STR(amx_app_state_name((enum amx_app_state)99), "invalid");
	CHECK_STR(amx_home_state_name((enum amx_home_state)99), "invalid");
}

/* ---- app: first sight ---- */

TEST(app_unknown_alive_becomes_alive)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p;
	struct amx_actions o;

	amx_app_policy_init(&p);
	CHECK(p.state == AMX_APP_UNKNOWN);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = T0, .pid = 7));
	CHECK(p.state == AMX_APP_ALIVE);
	CHECK(o.n == 0);
}

TEST(app_unknown_absent_waits_for_pm2)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p;
	struct amx_actions o;

	amx_app_policy_init(&p);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_ABSENT, .now_ms = T0));
	CHECK(o.n == 0);
	CHECK(p.state == AMX_APP_WAIT_PM2);
	CHECK(p.deadline_ms == T0 + 2000);
	CHECK(p.exited_at_ms == T0);
}

TEST(app_alive_absent_waits_for_pm2)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p;

	amx_app_policy_init(&p);
	app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = T0, .pid = 7));
	app_feed(&p, &c, IN(.kind = AMX_IN_ABSENT, .now_ms = T0 + 10));
	CHECK(p.state == AMX_APP_WAIT_PM2);
	CHECK(p.deadline_ms == T0 + 10 + 2000);
}

TEST(app_absent_ignored_where_it_means_nothing)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p;
	struct amx_actions o;
	uint64_t at;

	/* DESIRED_STOPPED */
	amx_app_policy_init(&p);
	app_feed(&p, &c, IN(.kind = AMX_IN_DESIRED, .now_ms = T0, .desired_online = false));
	o = app_feed(&p, &c, IN(.kind = AMX_IN_ABSENT, .now_ms = T0 + 1));
	CHECK(p.state == AMX_APP_DESIRED_STOPPED && o.n == 0);
	/* HOME_DOWN */
	amx_app_policy_init(&p);
	app_feed(&p, &c, IN(.kind = AMX_IN_HOME_DOWN, .now_ms = T0));
	o = app_feed(&p, &c, IN(.kind = AMX_IN_ABSENT, .now_ms = T0 + 1));
	CHECK(p.state == AMX_APP_HOME_DOWN && o.n == 0);
	/* MANUAL */
	p = app_querying(&c);
	app_feed(&p, &c, IN(.kind = AMX_IN_STATUS, .now_ms = T0 + 2100, .status = AMX_PM2_STOPPED));
	CHECK(p.state == AMX_APP_MANUAL);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_ABSENT, .now_ms = T0 + 2200));
	CHECK(p.state == AMX_APP_MANUAL && o.n == 0 && p.deadline_ms == T0 + 2100 + 300000);
	/* RECOVERING, VERIFYING, BACKOFF */
	p = app_recovering(&c, &at);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_ABSENT, .now_ms = at + 1));
	CHECK(p.state == AMX_APP_RECOVERING && o.n == 0);
	app_feed(&p, &c, IN(.kind = AMX_IN_ACTION_DONE, .now_ms = at + 300, .ok = true));
	o = app_feed(&p, &c, IN(.kind = AMX_IN_ABSENT, .now_ms = at + 301));
	CHECK(p.state == AMX_APP_VERIFYING && o.n == 0);
	app_feed(&p, &c, IN(.kind = AMX_IN_TICK, .now_ms = at + 300 + 15000));
	CHECK(p.state == AMX_APP_BACKOFF);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_ABSENT, .now_ms = at + 300 + 15001));
	CHECK(p.state == AMX_APP_BACKOFF && o.n == 0);
	/* PARKED */
	c.budget_attempts = 1;
	p = app_recovering(&c, &at);
	app_feed(&p, &c, IN(.kind = AMX_IN_ACTION_DONE, .now_ms = at + 300, .ok = false, .reason = "exit status 1"));
	CHECK(p.state == AMX_APP_PARKED);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_ABSENT, .now_ms = at + 301));
	CHECK(p.state == AMX_APP_PARKED && o.n == 0);
}

TEST(app_alive_exited_starts_an_incident)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p;
	struct amx_actions o;

	amx_app_policy_init(&p);
	app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = T0 - 100, .pid = 7));
	p.attempt = 4; /* left over from an earlier incident */
	p.requeries = 2;
	o = app_feed(&p, &c, IN(.kind = AMX_IN_EXITED, .now_ms = T0));
	CHECK(o.n == 0);
	CHECK(p.state == AMX_APP_WAIT_PM2);
	CHECK(p.deadline_ms == T0 + 2000);
	CHECK(p.exited_at_ms == T0);
	CHECK(p.attempt == 0);
	CHECK(p.requeries == 0);
}

/* ---- app: waiting for PM2 ---- */

TEST(app_wait_pm2_alive_reports_pm2_restart)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p = app_exited(&c);
	struct amx_actions o;
	const struct amx_action *e;

	o = app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = T0 + 12, .pid = 101));
	CHECK(o.n == 1);
	e = find_emit(&o, AMX_EMIT_PM2_RESTARTED_APP);
	CHECK(e && e->ms == 12 && e->pid == 101);
	CHECK(p.state == AMX_APP_ALIVE);
	CHECK(p.deadline_ms == 0);
}

/* Apps of N instances: the app is up only when all N run. */
#define ALIVE_OF(t, p_, n, of) IN(.kind = AMX_IN_ALIVE, .now_ms = (t), .pid = (p_), \
				  .instances_alive = (n), .instances_wanted = (of))

TEST(app_instances_one_back_of_two_is_a_pm2_restart_and_the_wait_goes_on)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p;
	struct amx_actions o;
	const struct amx_action *e;

	amx_app_policy_init(&p);
	app_feed(&p, &c, ALIVE_OF(T0 - 5000, 100, 1, 2)); /* found one of two: not up yet */
	CHECK(p.state == AMX_APP_UNKNOWN);
	app_feed(&p, &c, ALIVE_OF(T0 - 5000, 101, 2, 2));
	CHECK(p.state == AMX_APP_ALIVE);
	app_feed(&p, &c, IN(.kind = AMX_IN_EXITED, .now_ms = T0));      /* worker 100 */
	app_feed(&p, &c, IN(.kind = AMX_IN_EXITED, .now_ms = T0 + 5));  /* worker 101 */
	CHECK(p.state == AMX_APP_WAIT_PM2 && p.deadline_ms == T0 + c.grace_ms);
	o = app_feed(&p, &c, ALIVE_OF(T0 + 20, 102, 1, 2));
	e = find_emit(&o, AMX_EMIT_PM2_RESTARTED_APP);
	CHECK(e && e->pid == 102 && e->ms == 20);
	CHECK(p.state == AMX_APP_WAIT_PM2 && p.deadline_ms == T0 + c.grace_ms);
	o = app_feed(&p, &c, ALIVE_OF(T0 + 30, 103, 2, 2));
	e = find_emit(&o, AMX_EMIT_PM2_RESTARTED_APP);
	CHECK(e && e->pid == 103 && e->ms == 30);
	CHECK(p.state == AMX_APP_ALIVE && p.deadline_ms == 0);
}

TEST(app_instances_one_not_brought_back_is_an_incident)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p;
	struct amx_actions o;

	amx_app_policy_init(&p);
	app_feed(&p, &c, ALIVE_OF(T0 - 5000, 100, 2, 2));
	app_feed(&p, &c, IN(.kind = AMX_IN_EXITED, .now_ms = T0));
	app_feed(&p, &c, IN(.kind = AMX_IN_EXITED, .now_ms = T0 + 5));
	app_feed(&p, &c, ALIVE_OF(T0 + 20, 102, 1, 2));
	o = app_feed(&p, &c, IN(.kind = AMX_IN_TICK, .now_ms = T0 + c.grace_ms));
	CHECK(find_action(&o, AMX_ACT_QUERY_STATUS) != NULL);
	CHECK(p.state == AMX_APP_QUERYING);
}

TEST(app_instances_tier2_succeeds_when_all_are_back)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p;
	struct amx_actions o;
	const struct amx_action *e;

	amx_app_policy_init(&p);
	app_feed(&p, &c, ALIVE_OF(T0 - 100, 10, 2, 2));
	app_feed(&p, &c, IN(.kind = AMX_IN_HOME_DOWN, .now_ms = T0));
	app_feed(&p, &c, IN(.kind = AMX_IN_EXITED, .now_ms = T0 + 40));
	app_feed(&p, &c, IN(.kind = AMX_IN_EXITED, .now_ms = T0 + 41));
	app_feed(&p, &c, IN(.kind = AMX_IN_HOME_UP, .now_ms = T0 + 600, .by_tier2 = true));
	CHECK(p.state == AMX_APP_VERIFYING);
	o = app_feed(&p, &c, ALIVE_OF(T0 + 700, 11, 1, 2));
	CHECK(o.n == 0 && p.state == AMX_APP_VERIFYING);
	o = app_feed(&p, &c, ALIVE_OF(T0 + 750, 12, 2, 2));
	e = find_emit(&o, AMX_EMIT_RECOVERY_SUCCEEDED);
	CHECK(e && e->tier == 2 && e->ms == 150 && e->pid == 12);
	CHECK(p.state == AMX_APP_ALIVE);
}

TEST(app_instances_seen_during_home_down_count_only_when_all_run)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p;
	struct amx_actions o;

	amx_app_policy_init(&p);
	app_feed(&p, &c, ALIVE_OF(T0 - 100, 10, 2, 2));
	app_feed(&p, &c, IN(.kind = AMX_IN_HOME_DOWN, .now_ms = T0));
	app_feed(&p, &c, ALIVE_OF(T0 + 500, 11, 1, 2)); /* a new daemon's first worker */
	o = app_feed(&p, &c, IN(.kind = AMX_IN_HOME_UP, .now_ms = T0 + 600, .by_tier2 = true));
	CHECK(find_emit(&o, AMX_EMIT_RECOVERY_SUCCEEDED) == NULL);
	CHECK(p.state == AMX_APP_VERIFYING);
}

TEST(app_wait_pm2_tick_before_deadline_does_nothing)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p = app_exited(&c);
	struct amx_actions o;

	o = app_feed(&p, &c, IN(.kind = AMX_IN_TICK, .now_ms = T0 + 1999));
	CHECK(o.n == 0);
	CHECK(p.state == AMX_APP_WAIT_PM2);
}

TEST(app_wait_pm2_tick_after_grace_queries_status)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p = app_exited(&c);
	struct amx_actions o;

	o = app_feed(&p, &c, IN(.kind = AMX_IN_TICK, .now_ms = T0 + 2000));
	CHECK(o.n == 1);
	CHECK(find_action(&o, AMX_ACT_QUERY_STATUS) != NULL);
	CHECK(p.state == AMX_APP_QUERYING);
	CHECK(p.deadline_ms == T0 + 2000 + 15000);
}

/* ---- app: PM2's answer ---- */

TEST(app_querying_online_becomes_alive)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p = app_querying(&c);
	struct amx_actions o;

	o = app_feed(&p, &c, IN(.kind = AMX_IN_STATUS, .now_ms = T0 + 2100, .status = AMX_PM2_ONLINE));
	CHECK(o.n == 0);
	CHECK(p.state == AMX_APP_ALIVE);
}

TEST(app_querying_alive_reports_pm2_restart)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p = app_querying(&c);
	struct amx_actions o;
	const struct amx_action *e;

	o = app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = T0 + 2050, .pid = 102));
	e = find_emit(&o, AMX_EMIT_PM2_RESTARTED_APP);
	CHECK(e && e->ms == 2050 && e->pid == 102);
	CHECK(p.state == AMX_APP_ALIVE);
	/* the answer that follows is no longer asked for */
	o = app_feed(&p, &c, IN(.kind = AMX_IN_STATUS, .now_ms = T0 + 2100, .status = AMX_PM2_ONLINE));
	CHECK(o.n == 0 && p.state == AMX_APP_ALIVE);
}

TEST(app_querying_stopped_honours_manual_grace)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p = app_querying(&c);
	struct amx_actions o;
	const struct amx_action *e;

	o = app_feed(&p, &c, IN(.kind = AMX_IN_STATUS, .now_ms = T0 + 2100, .status = AMX_PM2_STOPPED));
	CHECK(o.n == 1);
	e = find_emit(&o, AMX_EMIT_APP_STOPPED);
	CHECK(e && e->intentional && !e->deleted);
	CHECK(find_action(&o, AMX_ACT_RUN_TIER) == NULL);
	CHECK(p.state == AMX_APP_MANUAL);
	CHECK(p.deadline_ms == T0 + 2100 + 300000);
}

TEST(app_querying_stopped_with_manual_grace_0_recovers_at_once)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p;
	struct amx_actions o;
	const struct amx_action *e, *run;

	c.manual_grace_ms = 0;
	p = app_querying(&c);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_STATUS, .now_ms = T0 + 2100, .status = AMX_PM2_STOPPED));
	CHECK(o.n == 3);
	CHECK(find_emit(&o, AMX_EMIT_APP_STOPPED) != NULL);
	e = find_emit(&o, AMX_EMIT_RECOVERY_STARTED);
	CHECK(e && e->tier == 1 && e->attempt == 1 && e->backoff_ms == 0);
	run = find_action(&o, AMX_ACT_RUN_TIER);
	CHECK(run && run->tier == 1 && run->attempt == 1);
	CHECK(p.state == AMX_APP_RECOVERING);
	CHECK(p.tier_started_ms == T0 + 2100);
}

TEST(app_querying_missing_is_a_deleted_stop)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p = app_querying(&c);
	struct amx_actions o;
	const struct amx_action *e;

	o = app_feed(&p, &c, IN(.kind = AMX_IN_STATUS, .now_ms = T0 + 2100, .status = AMX_PM2_MISSING));
	e = find_emit(&o, AMX_EMIT_APP_STOPPED);
	CHECK(e && e->intentional && e->deleted);
	CHECK(p.state == AMX_APP_MANUAL);
	CHECK(p.deadline_ms == T0 + 2100 + 300000);
}

TEST(app_querying_errored_starts_tier1)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p = app_querying(&c);
	struct amx_actions o;
	const struct amx_action *e, *run;

	o = app_feed(&p, &c, IN(.kind = AMX_IN_STATUS, .now_ms = T0 + 2100, .status = AMX_PM2_ERRORED));
	CHECK(o.n == 3);
	CHECK(find_emit(&o, AMX_EMIT_APP_ERRORED) != NULL);
	e = find_emit(&o, AMX_EMIT_RECOVERY_STARTED);
	CHECK(e && e->tier == 1 && e->attempt == 1 && e->backoff_ms == 0);
	run = find_action(&o, AMX_ACT_RUN_TIER);
	CHECK(run && run->tier == 1 && run->attempt == 1 && !run->restore_dump);
	CHECK(p.state == AMX_APP_RECOVERING);
	CHECK(amx_budget_left(&p.budget, &c, T0 + 2100) == 4);
}

TEST(app_querying_unknown_starts_tier1)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p = app_querying(&c);
	struct amx_actions o;

	o = app_feed(&p, &c, IN(.kind = AMX_IN_STATUS, .now_ms = T0 + 2100, .status = AMX_PM2_UNKNOWN));
	CHECK(o.n == 2);
	CHECK(find_emit(&o, AMX_EMIT_APP_ERRORED) == NULL);
	CHECK(find_emit(&o, AMX_EMIT_RECOVERY_STARTED) != NULL);
	CHECK(find_action(&o, AMX_ACT_RUN_TIER) != NULL);
	CHECK(p.state == AMX_APP_RECOVERING);
}

TEST(app_querying_transient_asks_again_three_times)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p = app_querying(&c);
	struct amx_actions o;
	uint64_t now = T0 + 2100;

	for (int i = 1; i <= 2; i++) {
		o = app_feed(&p, &c, IN(.kind = AMX_IN_STATUS, .now_ms = now, .status = AMX_PM2_TRANSIENT));
		CHECK(o.n == 0);
		CHECK(p.state == AMX_APP_WAIT_PM2);
		CHECK(p.deadline_ms == now + 2000);
		CHECK(p.requeries == i);
		CHECK(p.exited_at_ms == T0); /* still the same incident */
		now += 2000;
		o = app_feed(&p, &c, IN(.kind = AMX_IN_TICK, .now_ms = now));
		CHECK(find_action(&o, AMX_ACT_QUERY_STATUS) != NULL);
		CHECK(p.state == AMX_APP_QUERYING);
		now += 100;
	}
	/* the third transient answer in a row counts as errored */
	o = app_feed(&p, &c, IN(.kind = AMX_IN_STATUS, .now_ms = now, .status = AMX_PM2_TRANSIENT));
	CHECK(find_emit(&o, AMX_EMIT_APP_ERRORED) != NULL);
	CHECK(find_action(&o, AMX_ACT_RUN_TIER) != NULL);
	CHECK(p.state == AMX_APP_RECOVERING);
}

TEST(app_querying_without_answer_acts_as_unknown)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p = app_querying(&c);
	struct amx_actions o;
	const struct amx_action *run;

	o = app_feed(&p, &c, IN(.kind = AMX_IN_TICK, .now_ms = T0 + 2000 + 14999));
	CHECK(o.n == 0 && p.state == AMX_APP_QUERYING);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_TICK, .now_ms = T0 + 2000 + 15000));
	run = find_action(&o, AMX_ACT_RUN_TIER);
	CHECK(run && run->tier == 1);
	CHECK(p.state == AMX_APP_RECOVERING);
	/* the late answer is ignored */
	o = app_feed(&p, &c, IN(.kind = AMX_IN_STATUS, .now_ms = T0 + 17001, .status = AMX_PM2_STOPPED));
	CHECK(o.n == 0 && p.state == AMX_APP_RECOVERING);
}

/* ---- app: manual stop ---- */

TEST(app_manual_tick_after_grace_starts_tier1)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p = app_querying(&c);
	struct amx_actions o;
	const struct amx_action *e;

	app_feed(&p, &c, IN(.kind = AMX_IN_STATUS, .now_ms = T0 + 2100, .status = AMX_PM2_STOPPED));
	o = app_feed(&p, &c, IN(.kind = AMX_IN_TICK, .now_ms = T0 + 2100 + 299999));
	CHECK(o.n == 0 && p.state == AMX_APP_MANUAL);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_TICK, .now_ms = T0 + 2100 + 300000));
	e = find_emit(&o, AMX_EMIT_RECOVERY_STARTED);
	CHECK(e && e->tier == 1 && e->attempt == 1 && e->backoff_ms == 0);
	CHECK(find_action(&o, AMX_ACT_RUN_TIER) != NULL);
	CHECK(p.state == AMX_APP_RECOVERING);
}

TEST(app_manual_alive_means_the_operator_restarted_it)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p = app_querying(&c);
	struct amx_actions o;

	app_feed(&p, &c, IN(.kind = AMX_IN_STATUS, .now_ms = T0 + 2100, .status = AMX_PM2_STOPPED));
	o = app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = T0 + 60000, .pid = 300));
	CHECK(o.n == 0);
	CHECK(p.state == AMX_APP_ALIVE);
	CHECK(p.deadline_ms == 0);
}

/* ---- app: recovering ---- */

TEST(app_recovering_alive_before_action_done_succeeds)
{
	struct amx_policy_config c = defaults();
	uint64_t at;
	struct amx_app_policy p = app_recovering(&c, &at);
	struct amx_actions o;
	const struct amx_action *e;

	o = app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = at + 320, .pid = 400));
	CHECK(o.n == 1);
	e = find_emit(&o, AMX_EMIT_RECOVERY_SUCCEEDED);
	CHECK(e && e->tier == 1 && e->attempt == 1 && e->ms == 320 && e->pid == 400);
	CHECK(p.state == AMX_APP_ALIVE);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_ACTION_DONE, .now_ms = at + 330, .ok = true));
	CHECK(o.n == 0 && p.state == AMX_APP_ALIVE);
}

TEST(app_recovering_done_ok_verifies)
{
	struct amx_policy_config c = defaults();
	uint64_t at;
	struct amx_app_policy p = app_recovering(&c, &at);
	struct amx_actions o;

	o = app_feed(&p, &c, IN(.kind = AMX_IN_TICK, .now_ms = at + 100000));
	CHECK(o.n == 0 && p.state == AMX_APP_RECOVERING); /* the spawner owns the command's time-out */
	o = app_feed(&p, &c, IN(.kind = AMX_IN_ACTION_DONE, .now_ms = at + 300, .ok = true));
	CHECK(o.n == 0);
	CHECK(p.state == AMX_APP_VERIFYING);
	CHECK(p.deadline_ms == at + 300 + 15000);
}

TEST(app_recovering_done_failed_escalates_to_tier3)
{
	struct amx_policy_config c = defaults();
	uint64_t at;
	struct amx_app_policy p;
	struct amx_actions o;
	const struct amx_action *e;

	c.have_ecosystem = true;
	p = app_recovering(&c, &at);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_ACTION_DONE, .now_ms = at + 300, .ok = false,
				.reason = "exit status 1", .rand = 20));
	CHECK(o.n == 1);
	e = find_emit(&o, AMX_EMIT_RECOVERY_FAILED);
	CHECK(e && e->tier == 1 && e->attempt == 1);
	CHECK(e && strcmp(e->reason, "exit status 1") == 0);
	CHECK(find_emit(&o, AMX_EMIT_NO_ECOSYSTEM) == NULL);
	CHECK(p.state == AMX_APP_BACKOFF);
	CHECK(p.next_tier == 3);
	CHECK(p.deadline_ms == at + 300 + 1000); /* rand 20: no jitter */
	/* the backoff runs out: tier 3, attempt 2, with the wait it took */
	o = app_feed(&p, &c, IN(.kind = AMX_IN_TICK, .now_ms = at + 1299));
	CHECK(o.n == 0);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_TICK, .now_ms = at + 1300));
	e = find_emit(&o, AMX_EMIT_RECOVERY_STARTED);
	CHECK(e && e->tier == 3 && e->attempt == 2 && e->backoff_ms == 1000);
	e = find_action(&o, AMX_ACT_RUN_TIER);
	CHECK(e && e->tier == 3 && e->attempt == 2);
	CHECK(p.state == AMX_APP_RECOVERING);
}

TEST(app_failure_reason_defaults_when_missing)
{
	struct amx_policy_config c = defaults();
	uint64_t at;
	struct amx_app_policy p = app_recovering(&c, &at);
	struct amx_actions o;
	const struct amx_action *e;
	char long_reason[300];

	o = app_feed(&p, &c, IN(.kind = AMX_IN_ACTION_DONE, .now_ms = at + 300, .ok = false));
	e = find_emit(&o, AMX_EMIT_RECOVERY_FAILED);
	CHECK(e && e->reason[0] != '\0');
	/* a long reason is cut, not overrun */
	memset(long_reason, 'x', sizeof(long_reason) - 1);
	long_reason[sizeof(long_reason) - 1] = '\0';
	p = app_recovering(&c, &at);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_ACTION_DONE, .now_ms = at + 300, .ok = false, .reason = long_reason));
	e = find_emit(&o, AMX_EMIT_RECOVERY_FAILED);
	CHECK(e && strlen(e->reason) == sizeof(e->reason) - 1);
}

TEST(app_verifying_alive_succeeds)
{
	struct amx_policy_config c = defaults();
	uint64_t at;
	struct amx_app_policy p = app_recovering(&c, &at);
	struct amx_actions o;
	const struct amx_action *e;

	app_feed(&p, &c, IN(.kind = AMX_IN_ACTION_DONE, .now_ms = at + 300, .ok = true));
	o = app_feed(&p, &c, IN(.kind = AMX_IN_TICK, .now_ms = at + 300 + 14999));
	CHECK(o.n == 0 && p.state == AMX_APP_VERIFYING);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = at + 450, .pid = 401));
	e = find_emit(&o, AMX_EMIT_RECOVERY_SUCCEEDED);
	CHECK(e && e->tier == 1 && e->attempt == 1 && e->ms == 450 && e->pid == 401);
	CHECK(p.state == AMX_APP_ALIVE);
}

TEST(app_verifying_timeout_fails_and_schedules_next)
{
	struct amx_policy_config c = defaults();
	uint64_t at;
	struct amx_app_policy p = app_recovering(&c, &at);
	struct amx_actions o;
	const struct amx_action *e;

	app_feed(&p, &c, IN(.kind = AMX_IN_ACTION_DONE, .now_ms = at + 300, .ok = true));
	o = app_feed(&p, &c, IN(.kind = AMX_IN_TICK, .now_ms = at + 300 + 15000, .rand = 20));
	e = find_emit(&o, AMX_EMIT_RECOVERY_FAILED);
	CHECK(e && e->tier == 1 && e->attempt == 1);
	CHECK(e && strcmp(e->reason, "no live pid within 15 s") == 0);
	CHECK(p.state == AMX_APP_BACKOFF);
	CHECK(p.next_tier == 1);
	/* a late ACTION_DONE or STATUS is not asked for */
	o = app_feed(&p, &c, IN(.kind = AMX_IN_ACTION_DONE, .now_ms = at + 300 + 15001, .ok = true));
	CHECK(o.n == 0 && p.state == AMX_APP_BACKOFF);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_STATUS, .now_ms = at + 300 + 15001, .status = AMX_PM2_ONLINE));
	CHECK(o.n == 0 && p.state == AMX_APP_BACKOFF);
}

TEST(app_no_ecosystem_reported_once_per_incident)
{
	struct amx_policy_config c = defaults();
	uint64_t at, now;
	struct amx_app_policy p = app_recovering(&c, &at);
	struct amx_actions o;
	const struct amx_action *e;

	now = at + 300;
	o = app_feed(&p, &c, IN(.kind = AMX_IN_ACTION_DONE, .now_ms = now, .ok = false, .reason = "exit status 1"));
	e = find_emit(&o, AMX_EMIT_NO_ECOSYSTEM);
	CHECK(e != NULL);
	CHECK(find_emit(&o, AMX_EMIT_RECOVERY_FAILED) != NULL);
	CHECK(p.state == AMX_APP_BACKOFF && p.next_tier == 1);
	now = p.deadline_ms;
	o = app_feed(&p, &c, IN(.kind = AMX_IN_TICK, .now_ms = now));
	e = find_action(&o, AMX_ACT_RUN_TIER);
	CHECK(e && e->tier == 1 && e->attempt == 2);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_ACTION_DONE, .now_ms = now + 300, .ok = false, .reason = "exit status 1"));
	CHECK(find_emit(&o, AMX_EMIT_RECOVERY_FAILED) != NULL);
	CHECK(find_emit(&o, AMX_EMIT_NO_ECOSYSTEM) == NULL);
	CHECK(p.next_tier == 1);
}

TEST(app_tier3_failure_falls_back_to_tier1)
{
	struct amx_policy_config c = defaults();
	uint64_t at;
	struct amx_app_policy p;
	struct amx_actions o;
	const struct amx_action *e;

	c.have_ecosystem = true;
	p = app_recovering(&c, &at);
	app_feed(&p, &c, IN(.kind = AMX_IN_ACTION_DONE, .now_ms = at + 300, .ok = false, .reason = "exit status 1"));
	app_feed(&p, &c, IN(.kind = AMX_IN_TICK, .now_ms = p.deadline_ms));
	CHECK(p.state == AMX_APP_RECOVERING && p.tier == 3);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_ACTION_DONE, .now_ms = at + 5000, .ok = false, .reason = "exit status 2"));
	e = find_emit(&o, AMX_EMIT_RECOVERY_FAILED);
	CHECK(e && e->tier == 3 && e->attempt == 2);
	CHECK(p.state == AMX_APP_BACKOFF && p.next_tier == 1);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_TICK, .now_ms = p.deadline_ms));
	e = find_action(&o, AMX_ACT_RUN_TIER);
	CHECK(e && e->tier == 1 && e->attempt == 3);
	/* and tier 1 escalates again */
	o = app_feed(&p, &c, IN(.kind = AMX_IN_ACTION_DONE, .now_ms = at + 9000, .ok = false, .reason = "exit status 1"));
	CHECK(p.next_tier == 3);
}

/* ---- app: backoff ---- */

/* Fail attempts one after the other with a fixed rand; record each backoff deadline. */
static int backoff_series(const struct amx_policy_config *c, uint32_t rand, uint64_t *waits, int count)
{
	uint64_t at, now;
	struct amx_app_policy p = app_recovering(c, &at);
	int got = 0;

	now = at;
	for (int i = 0; i < count; i++) {
		now += 100;
		app_feed(&p, c, IN(.kind = AMX_IN_ACTION_DONE, .now_ms = now, .ok = false, .reason = "x", .rand = rand));
		if (p.state != AMX_APP_BACKOFF)
			break;
		waits[got++] = p.deadline_ms - now;
		now = p.deadline_ms;
		app_feed(&p, c, IN(.kind = AMX_IN_TICK, .now_ms = now));
		if (p.state != AMX_APP_RECOVERING)
			break;
	}
	return got;
}

TEST(app_backoff_doubles_up_to_the_cap)
{
	struct amx_policy_config c = defaults();
	uint64_t waits[10], want[10] = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000, 60000};

	c.budget_attempts = 64; /* keep the budget out of this test */
	CHECK(backoff_series(&c, 20, waits, 10) == 10); /* rand % 41 == 20: exactly 100 % */
	for (int i = 0; i < 10; i++)
		CHECK(waits[i] == want[i]);
}

TEST(app_backoff_jitter_stays_within_20_percent)
{
	struct amx_policy_config c = defaults();
	uint64_t waits[8], nominal[8] = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000};
	uint32_t rands[] = {0, 1, 19, 20, 21, 40, 41, 12345, 0xffffffffu};

	c.budget_attempts = 64;
	for (unsigned r = 0; r < sizeof(rands) / sizeof(rands[0]); r++) {
		CHECK(backoff_series(&c, rands[r], waits, 8) == 8);
		for (int i = 0; i < 8; i++) {
			CHECK(waits[i] * 100 >= nominal[i] * 80);
			CHECK(waits[i] * 100 <= nominal[i] * 120);
			CHECK(waits[i] <= c.backoff_max_ms);
		}
	}
	/* the extremes */
	backoff_series(&c, 0, waits, 2);
	CHECK(waits[0] == 800 && waits[1] == 1600);
	backoff_series(&c, 40, waits, 2);
	CHECK(waits[0] == 1200 && waits[1] == 2400);
}

TEST(app_backoff_alive_returns_to_alive_without_success)
{
	struct amx_policy_config c = defaults();
	uint64_t at;
	struct amx_app_policy p = app_recovering(&c, &at);
	struct amx_actions o;

	app_feed(&p, &c, IN(.kind = AMX_IN_ACTION_DONE, .now_ms = at + 300, .ok = false, .reason = "x"));
	CHECK(p.state == AMX_APP_BACKOFF);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = at + 400, .pid = 500));
	CHECK(o.n == 0);
	CHECK(p.state == AMX_APP_ALIVE);
	CHECK(p.deadline_ms == 0);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_TICK, .now_ms = at + 100000));
	CHECK(o.n == 0);
}

/* ---- app: budget and park ---- */

TEST(budget_counts_free_slots_in_the_window)
{
	struct amx_policy_config c = defaults();
	struct amx_budget b;

	memset(&b, 0, sizeof(b));
	CHECK(amx_budget_left(&b, &c, T0) == 5);
	b.at_ms[0] = T0;
	b.at_ms[1] = T0 + 1000;
	b.n = 2;
	CHECK(amx_budget_left(&b, &c, T0 + 1000) == 3);
	CHECK(amx_budget_left(&b, &c, T0 + 599999) == 3);
	CHECK(amx_budget_left(&b, &c, T0 + 600000) == 4); /* the first left the window */
	CHECK(amx_budget_left(&b, &c, T0 + 601000) == 5);
	c.budget_attempts = 1;
	CHECK(amx_budget_left(&b, &c, T0 + 1000) == 0);
	c.budget_attempts = 1000; /* the ring holds at most AMX_BUDGET_MAX */
	CHECK(amx_budget_left(&b, &c, T0 + 1000) == AMX_BUDGET_MAX - 2);
}

TEST(app_budget_spent_parks_until_the_oldest_attempt_leaves)
{
	struct amx_policy_config c = defaults();
	uint64_t at;
	struct amx_app_policy p;
	struct amx_actions o;
	const struct amx_action *e;

	c.budget_attempts = 2;
	p = app_recovering(&c, &at); /* attempt 1 at `at` */
	app_feed(&p, &c, IN(.kind = AMX_IN_ACTION_DONE, .now_ms = at + 300, .ok = false, .reason = "x", .rand = 20));
	app_feed(&p, &c, IN(.kind = AMX_IN_TICK, .now_ms = at + 1300)); /* attempt 2 */
	CHECK(p.state == AMX_APP_RECOVERING && p.attempt == 2);
	CHECK(amx_budget_left(&p.budget, &c, at + 1300) == 0);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_ACTION_DONE, .now_ms = at + 2000, .ok = false, .reason = "x"));
	CHECK(o.n == 2);
	CHECK(find_emit(&o, AMX_EMIT_RECOVERY_FAILED) != NULL);
	e = find_emit(&o, AMX_EMIT_RECOVERY_PARKED);
	CHECK(e && e->budget_attempts == 2 && e->budget_window_ms == 600000);
	CHECK(e && e->ms == at + 600000 - (at + 2000));
	CHECK(find_action(&o, AMX_ACT_RUN_TIER) == NULL);
	CHECK(p.state == AMX_APP_PARKED);
	CHECK(p.deadline_ms == at + 600000);
	CHECK(p.next_tier == 1);
	/* nothing before the deadline; the due attempt at it, with the whole wait reported */
	o = app_feed(&p, &c, IN(.kind = AMX_IN_TICK, .now_ms = at + 599999));
	CHECK(o.n == 0 && p.state == AMX_APP_PARKED);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_TICK, .now_ms = at + 600000));
	e = find_emit(&o, AMX_EMIT_RECOVERY_STARTED);
	CHECK(e && e->tier == 1 && e->attempt == 3 && e->backoff_ms == 600000 - 2000);
	CHECK(find_action(&o, AMX_ACT_RUN_TIER) != NULL);
	CHECK(p.state == AMX_APP_RECOVERING);
}

TEST(app_budget_spent_at_the_first_attempt_parks)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p;
	struct amx_actions o;
	const struct amx_action *e;

	c.budget_attempts = 1;
	p = app_querying(&c);
	p.budget.at_ms[0] = T0; /* an attempt of an earlier incident */
	p.budget.n = 1;
	o = app_feed(&p, &c, IN(.kind = AMX_IN_STATUS, .now_ms = T0 + 2100, .status = AMX_PM2_ERRORED));
	CHECK(o.n == 2);
	CHECK(find_emit(&o, AMX_EMIT_APP_ERRORED) != NULL);
	e = find_emit(&o, AMX_EMIT_RECOVERY_PARKED);
	CHECK(e && e->ms == 600000 - 2100 && e->tier == 1 && e->attempt == 1);
	CHECK(p.state == AMX_APP_PARKED && p.deadline_ms == T0 + 600000);
	CHECK(p.attempt == 0);
}

TEST(app_parked_alive_lifts_the_park)
{
	struct amx_policy_config c = defaults();
	uint64_t at;
	struct amx_app_policy p;
	struct amx_actions o;

	c.budget_attempts = 1;
	p = app_recovering(&c, &at);
	app_feed(&p, &c, IN(.kind = AMX_IN_ACTION_DONE, .now_ms = at + 300, .ok = false, .reason = "x"));
	CHECK(p.state == AMX_APP_PARKED);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = at + 5000, .pid = 600));
	CHECK(o.n == 0);
	CHECK(p.state == AMX_APP_ALIVE && p.deadline_ms == 0);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_TICK, .now_ms = at + 700000));
	CHECK(o.n == 0 && p.state == AMX_APP_ALIVE);
}

TEST(app_budget_of_zero_never_runs_a_tier)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p;
	struct amx_actions o;
	const struct amx_action *e;

	c.budget_attempts = 0;
	p = app_querying(&c);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_STATUS, .now_ms = T0 + 2100, .status = AMX_PM2_UNKNOWN));
	e = find_emit(&o, AMX_EMIT_RECOVERY_PARKED);
	CHECK(e && e->ms == 600000);
	CHECK(find_action(&o, AMX_ACT_RUN_TIER) == NULL);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_TICK, .now_ms = T0 + 2100 + 600000));
	CHECK(find_emit(&o, AMX_EMIT_RECOVERY_PARKED) != NULL);
	CHECK(find_action(&o, AMX_ACT_RUN_TIER) == NULL);
	CHECK(amx_budget_left(&p.budget, &c, T0) == 0);
}

/* The scenario the budget exists for: an app that PM2 keeps giving up on. Each round it comes
 * back for a moment (tier 1 works), then errors again. Five attempts in ten minutes, then the
 * park; after the window, recovery resumes. */
TEST(app_crash_loop_parks_then_recovers_after_the_window)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p;
	struct amx_actions o;
	const struct amx_action *e;
	uint64_t now = T0, first_attempt = 0;
	int attempts = 0, parked = 0;

	amx_app_policy_init(&p);
	app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = now, .pid = 1000));
	for (int round = 0; round < 10 && !parked; round++) {
		now += 20000; /* it lives 20 s, then PM2 gives up on it */
		app_feed(&p, &c, IN(.kind = AMX_IN_EXITED, .now_ms = now));
		CHECK(p.state == AMX_APP_WAIT_PM2);
		now += 2000;
		o = app_feed(&p, &c, IN(.kind = AMX_IN_TICK, .now_ms = now));
		CHECK(find_action(&o, AMX_ACT_QUERY_STATUS) != NULL);
		now += 150;
		o = app_feed(&p, &c, IN(.kind = AMX_IN_STATUS, .now_ms = now, .status = AMX_PM2_ERRORED));
		if (find_emit(&o, AMX_EMIT_RECOVERY_PARKED)) {
			parked = 1;
			break;
		}
		e = find_action(&o, AMX_ACT_RUN_TIER);
		CHECK(e && e->tier == 1 && e->attempt == 1); /* each incident starts afresh */
		if (!first_attempt)
			first_attempt = now;
		attempts++;
		now += 300;
		app_feed(&p, &c, IN(.kind = AMX_IN_ACTION_DONE, .now_ms = now, .ok = true));
		now += 100;
		o = app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = now, .pid = 1001 + round));
		CHECK(find_emit(&o, AMX_EMIT_RECOVERY_SUCCEEDED) != NULL);
	}
	CHECK(parked);
	CHECK(attempts == 5);
	CHECK(p.state == AMX_APP_PARKED);
	CHECK(p.deadline_ms == first_attempt + 600000);
	/* ticks every second until the park lifts: nothing, then tier 1 */
	while (now + 1000 < p.deadline_ms) {
		now += 1000;
		o = app_feed(&p, &c, IN(.kind = AMX_IN_TICK, .now_ms = now));
		CHECK(o.n == 0);
	}
	now = p.deadline_ms;
	o = app_feed(&p, &c, IN(.kind = AMX_IN_TICK, .now_ms = now));
	e = find_action(&o, AMX_ACT_RUN_TIER);
	CHECK(e && e->tier == 1 && e->attempt == 1);
	CHECK(p.state == AMX_APP_RECOVERING);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = now + 400, .pid = 2000));
	CHECK(find_emit(&o, AMX_EMIT_RECOVERY_SUCCEEDED) != NULL);
	CHECK(p.state == AMX_APP_ALIVE);
}

/* ---- app: desired state ---- */

TEST(app_desired_stopped_from_any_state)
{
	struct amx_policy_config c = defaults();
	uint64_t at;
	struct amx_app_policy p = app_recovering(&c, &at);
	struct amx_actions o;

	o = app_feed(&p, &c, IN(.kind = AMX_IN_DESIRED, .now_ms = at + 10, .desired_online = false));
	CHECK(o.n == 0);
	CHECK(p.state == AMX_APP_DESIRED_STOPPED && p.deadline_ms == 0);
	/* the tier already started reports; it is ignored, and so is everything but DESIRED */
	o = app_feed(&p, &c, IN(.kind = AMX_IN_ACTION_DONE, .now_ms = at + 300, .ok = false, .reason = "x"));
	CHECK(o.n == 0 && p.state == AMX_APP_DESIRED_STOPPED);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = at + 400, .pid = 9));
	CHECK(o.n == 0 && p.state == AMX_APP_DESIRED_STOPPED);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_EXITED, .now_ms = at + 500));
	CHECK(o.n == 0 && p.state == AMX_APP_DESIRED_STOPPED);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_HOME_DOWN, .now_ms = at + 600));
	CHECK(o.n == 0 && p.state == AMX_APP_DESIRED_STOPPED);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_TICK, .now_ms = at + 10000000));
	CHECK(o.n == 0 && p.state == AMX_APP_DESIRED_STOPPED);
	/* and from the other states too */
	for (int s = AMX_APP_UNKNOWN; s <= AMX_APP_HOME_DOWN; s++) {
		amx_app_policy_init(&p);
		p.state = s;
		p.deadline_ms = T0;
		o = app_feed(&p, &c, IN(.kind = AMX_IN_DESIRED, .now_ms = T0, .desired_online = false));
		CHECK(o.n == 0 && p.state == AMX_APP_DESIRED_STOPPED && p.deadline_ms == 0);
	}
}

TEST(app_desired_online_again)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p;
	struct amx_actions o;

	amx_app_policy_init(&p);
	app_feed(&p, &c, IN(.kind = AMX_IN_DESIRED, .now_ms = T0, .desired_online = false));
	o = app_feed(&p, &c, IN(.kind = AMX_IN_DESIRED, .now_ms = T0 + 5, .desired_online = true, .alive = true));
	CHECK(o.n == 0 && p.state == AMX_APP_ALIVE);

	app_feed(&p, &c, IN(.kind = AMX_IN_DESIRED, .now_ms = T0 + 10, .desired_online = false));
	o = app_feed(&p, &c, IN(.kind = AMX_IN_DESIRED, .now_ms = T0 + 20, .desired_online = true, .alive = false));
	CHECK(o.n == 0 && p.state == AMX_APP_WAIT_PM2);
	CHECK(p.deadline_ms == T0 + 20 + 2000);
	CHECK(p.exited_at_ms == T0 + 20 && p.attempt == 0);
}

TEST(app_desired_online_elsewhere_changes_nothing)
{
	struct amx_policy_config c = defaults();
	uint64_t at;
	struct amx_app_policy p = app_recovering(&c, &at), before;
	struct amx_actions o;

	before = p;
	o = app_feed(&p, &c, IN(.kind = AMX_IN_DESIRED, .now_ms = at + 5, .desired_online = true, .alive = false));
	CHECK(o.n == 0);
	CHECK(memcmp(&p, &before, sizeof(p)) == 0);
	p = app_exited(&c);
	before = p;
	o = app_feed(&p, &c, IN(.kind = AMX_IN_DESIRED, .now_ms = T0 + 5, .desired_online = true, .alive = true));
	CHECK(o.n == 0);
	CHECK(memcmp(&p, &before, sizeof(p)) == 0);
}

/* ---- app: its home goes down and comes back ---- */

TEST(app_home_down_from_any_state_but_desired_stopped)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p;
	struct amx_actions o;

	for (int s = AMX_APP_UNKNOWN; s <= AMX_APP_HOME_DOWN; s++) {
		amx_app_policy_init(&p);
		p.state = s;
		p.deadline_ms = T0 + 5;
		o = app_feed(&p, &c, IN(.kind = AMX_IN_HOME_DOWN, .now_ms = T0));
		CHECK(o.n == 0);
		if (s == AMX_APP_DESIRED_STOPPED) {
			CHECK(p.state == AMX_APP_DESIRED_STOPPED);
		} else {
			CHECK(p.state == AMX_APP_HOME_DOWN);
			CHECK(s == AMX_APP_HOME_DOWN || p.deadline_ms == 0);
		}
	}
}

TEST(app_home_down_ignores_app_inputs)
{
	struct amx_policy_config c = defaults();
	uint64_t at;
	struct amx_app_policy p = app_recovering(&c, &at);
	struct amx_actions o;

	app_feed(&p, &c, IN(.kind = AMX_IN_HOME_DOWN, .now_ms = at + 10));
	CHECK(p.state == AMX_APP_HOME_DOWN && p.deadline_ms == 0);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_ACTION_DONE, .now_ms = at + 300, .ok = false, .reason = "x"));
	CHECK(o.n == 0 && p.state == AMX_APP_HOME_DOWN);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_STATUS, .now_ms = at + 310, .status = AMX_PM2_ERRORED));
	CHECK(o.n == 0 && p.state == AMX_APP_HOME_DOWN);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_EXITED, .now_ms = at + 320));
	CHECK(o.n == 0 && p.state == AMX_APP_HOME_DOWN);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_TICK, .now_ms = at + 10000000));
	CHECK(o.n == 0 && p.state == AMX_APP_HOME_DOWN);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_DESIRED, .now_ms = at + 10000001, .desired_online = true));
	CHECK(o.n == 0 && p.state == AMX_APP_HOME_DOWN);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = at + 10000002, .pid = 77));
	CHECK(o.n == 0 && p.state == AMX_APP_HOME_DOWN);
}

TEST(app_home_up_by_tier2_verifies_and_succeeds)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p;
	struct amx_actions o;
	const struct amx_action *e;

	amx_app_policy_init(&p);
	app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = T0 - 100, .pid = 10));
	app_feed(&p, &c, IN(.kind = AMX_IN_HOME_DOWN, .now_ms = T0));
	app_feed(&p, &c, IN(.kind = AMX_IN_EXITED, .now_ms = T0 + 40)); /* dies with its daemon */
	o = app_feed(&p, &c, IN(.kind = AMX_IN_HOME_UP, .now_ms = T0 + 600, .by_tier2 = true));
	CHECK(o.n == 0);
	CHECK(p.state == AMX_APP_VERIFYING);
	CHECK(p.deadline_ms == T0 + 600 + 15000);
	CHECK(p.tier == 2 && p.tier_started_ms == T0 + 600);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = T0 + 700, .pid = 11));
	e = find_emit(&o, AMX_EMIT_RECOVERY_SUCCEEDED);
	CHECK(e && e->tier == 2 && e->attempt == 1 && e->ms == 100 && e->pid == 11);
	CHECK(p.state == AMX_APP_ALIVE);
}

TEST(app_home_up_by_tier2_without_the_app_falls_back_to_tier1_at_once)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p;
	struct amx_actions o;
	const struct amx_action *e;

	c.have_ecosystem = true;
	amx_app_policy_init(&p);
	app_feed(&p, &c, IN(.kind = AMX_IN_HOME_DOWN, .now_ms = T0));
	app_feed(&p, &c, IN(.kind = AMX_IN_HOME_UP, .now_ms = T0 + 600, .by_tier2 = true));
	o = app_feed(&p, &c, IN(.kind = AMX_IN_TICK, .now_ms = T0 + 600 + 15000));
	CHECK(o.n == 3);
	e = find_emit(&o, AMX_EMIT_RECOVERY_FAILED);
	CHECK(e && e->tier == 2 && e->attempt == 1);
	e = find_emit(&o, AMX_EMIT_RECOVERY_STARTED);
	CHECK(e && e->tier == 1 && e->attempt == 1 && e->backoff_ms == 0);
	e = find_action(&o, AMX_ACT_RUN_TIER);
	CHECK(e && e->tier == 1 && e->attempt == 1);
	CHECK(p.state == AMX_APP_RECOVERING);
	/* a failure there goes on as usual: tier 3 after a backoff */
	app_feed(&p, &c, IN(.kind = AMX_IN_ACTION_DONE, .now_ms = T0 + 16000, .ok = false, .reason = "x"));
	CHECK(p.state == AMX_APP_BACKOFF && p.next_tier == 3);
}

TEST(app_home_up_by_someone_else_waits_for_pm2)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p;
	struct amx_actions o;
	const struct amx_action *e;

	amx_app_policy_init(&p);
	app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = T0 - 100, .pid = 10));
	app_feed(&p, &c, IN(.kind = AMX_IN_HOME_DOWN, .now_ms = T0));
	o = app_feed(&p, &c, IN(.kind = AMX_IN_HOME_UP, .now_ms = T0 + 600, .by_tier2 = false));
	CHECK(o.n == 0);
	CHECK(p.state == AMX_APP_WAIT_PM2);
	CHECK(p.deadline_ms == T0 + 600 + 15000);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = T0 + 900, .pid = 12));
	e = find_emit(&o, AMX_EMIT_PM2_RESTARTED_APP);
	CHECK(e && e->ms == 900 && e->pid == 12);
	CHECK(p.state == AMX_APP_ALIVE);
}

TEST(app_alive_during_home_down_is_remembered)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p;
	struct amx_actions o;
	const struct amx_action *e;

	/* by tier 2: success at once */
	amx_app_policy_init(&p);
	app_feed(&p, &c, IN(.kind = AMX_IN_HOME_DOWN, .now_ms = T0));
	app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = T0 + 500, .pid = 13));
	o = app_feed(&p, &c, IN(.kind = AMX_IN_HOME_UP, .now_ms = T0 + 520, .by_tier2 = true));
	CHECK(o.n == 1);
	e = find_emit(&o, AMX_EMIT_RECOVERY_SUCCEEDED);
	CHECK(e && e->tier == 2 && e->attempt == 1 && e->pid == 13 && e->ms == 520);
	CHECK(p.state == AMX_APP_ALIVE);
	/* by someone else: just alive */
	app_feed(&p, &c, IN(.kind = AMX_IN_HOME_DOWN, .now_ms = T0 + 1000));
	app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = T0 + 1500, .pid = 14));
	o = app_feed(&p, &c, IN(.kind = AMX_IN_HOME_UP, .now_ms = T0 + 1520, .by_tier2 = false));
	CHECK(o.n == 0 && p.state == AMX_APP_ALIVE);
	/* seen alive, then gone again: forgotten */
	app_feed(&p, &c, IN(.kind = AMX_IN_HOME_DOWN, .now_ms = T0 + 2000));
	app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = T0 + 2500, .pid = 15));
	app_feed(&p, &c, IN(.kind = AMX_IN_EXITED, .now_ms = T0 + 2600));
	o = app_feed(&p, &c, IN(.kind = AMX_IN_HOME_UP, .now_ms = T0 + 2700, .by_tier2 = true));
	CHECK(o.n == 0 && p.state == AMX_APP_VERIFYING);
}

TEST(app_home_up_elsewhere_is_ignored)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p;
	struct amx_actions o;

	amx_app_policy_init(&p);
	app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = T0, .pid = 10));
	o = app_feed(&p, &c, IN(.kind = AMX_IN_HOME_UP, .now_ms = T0 + 1, .by_tier2 = true));
	CHECK(o.n == 0 && p.state == AMX_APP_ALIVE);
	p = app_exited(&c);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_HOME_UP, .now_ms = T0 + 1, .by_tier2 = true));
	CHECK(o.n == 0 && p.state == AMX_APP_WAIT_PM2 && p.deadline_ms == T0 + 2000);
}

TEST(app_unasked_answers_are_ignored)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p, before;
	struct amx_actions o;

	amx_app_policy_init(&p);
	app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = T0, .pid = 10));
	before = p;
	o = app_feed(&p, &c, IN(.kind = AMX_IN_ACTION_DONE, .now_ms = T0 + 1, .ok = false, .reason = "x"));
	CHECK(o.n == 0);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_STATUS, .now_ms = T0 + 2, .status = AMX_PM2_STOPPED));
	CHECK(o.n == 0);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_DAEMON_DOWN, .now_ms = T0 + 3));
	CHECK(o.n == 0);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_TICK, .now_ms = T0 + 4));
	CHECK(o.n == 0);
	CHECK(memcmp(&p, &before, sizeof(p)) == 0);
	/* STATUS while waiting for PM2 (not yet asked) */
	p = app_exited(&c);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_STATUS, .now_ms = T0 + 5, .status = AMX_PM2_ERRORED));
	CHECK(o.n == 0 && p.state == AMX_APP_WAIT_PM2);
}

/* ---- home ---- */

TEST(home_unknown_alive_is_up)
{
	struct amx_policy_config c = defaults();
	struct amx_home_policy h;
	struct amx_actions o;

	amx_home_policy_init(&h);
	CHECK(h.state == AMX_HOME_UNKNOWN);
	o = home_feed(&h, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = T0, .pid = 50));
	CHECK(o.n == 0 && h.state == AMX_HOME_UP);
}

TEST(home_unknown_down_is_treated_as_a_death)
{
	struct amx_policy_config c = defaults();
	struct amx_home_policy h;
	struct amx_actions o;
	const struct amx_action *e;

	amx_home_policy_init(&h);
	h.wants_daemon = true;
	o = home_feed(&h, &c, IN(.kind = AMX_IN_DAEMON_DOWN, .now_ms = T0, .intentional = true, .dump_valid = true));
	e = find_action(&o, AMX_ACT_RUN_TIER);
	CHECK(e && e->tier == 2 && e->attempt == 1 && !e->restore_dump);
	CHECK(h.state == AMX_HOME_RECOVERING);
	CHECK(h.down_at_ms == T0);
}

TEST(home_unintentional_death_recovers_at_once)
{
	struct amx_policy_config c = defaults();
	struct amx_home_policy h = home_up();
	struct amx_actions o;
	const struct amx_action *e;

	o = home_feed(&h, &c, IN(.kind = AMX_IN_DAEMON_DOWN, .now_ms = T0, .intentional = false, .dump_valid = true));
	CHECK(o.n == 2);
	e = find_emit(&o, AMX_EMIT_RECOVERY_STARTED);
	CHECK(e && e->tier == 2 && e->attempt == 1 && e->backoff_ms == 0);
	e = find_action(&o, AMX_ACT_RUN_TIER);
	CHECK(e && e->tier == 2 && e->attempt == 1 && !e->restore_dump);
	CHECK(h.state == AMX_HOME_RECOVERING);
	CHECK(h.tier_started_ms == T0 && h.down_at_ms == T0);
	CHECK(amx_budget_left(&h.budget, &c, T0) == 4);
}

TEST(home_intentional_death_honours_manual_grace)
{
	struct amx_policy_config c = defaults();
	struct amx_home_policy h = home_up();
	struct amx_actions o;
	const struct amx_action *e;

	o = home_feed(&h, &c, IN(.kind = AMX_IN_DAEMON_DOWN, .now_ms = T0, .intentional = true, .dump_valid = true));
	CHECK(o.n == 0);
	CHECK(h.state == AMX_HOME_DOWN_MANUAL);
	CHECK(h.deadline_ms == T0 + 300000);
	o = home_feed(&h, &c, IN(.kind = AMX_IN_TICK, .now_ms = T0 + 299999, .dump_valid = true));
	CHECK(o.n == 0 && h.state == AMX_HOME_DOWN_MANUAL);
	o = home_feed(&h, &c, IN(.kind = AMX_IN_TICK, .now_ms = T0 + 300000, .dump_valid = true));
	e = find_action(&o, AMX_ACT_RUN_TIER);
	CHECK(e && e->tier == 2 && e->attempt == 1);
	CHECK(h.state == AMX_HOME_RECOVERING);
}

TEST(home_intentional_death_with_manual_grace_0_recovers_at_once)
{
	struct amx_policy_config c = defaults();
	struct amx_home_policy h = home_up();
	struct amx_actions o;

	c.manual_grace_ms = 0;
	o = home_feed(&h, &c, IN(.kind = AMX_IN_DAEMON_DOWN, .now_ms = T0, .intentional = true, .dump_valid = true));
	CHECK(find_action(&o, AMX_ACT_RUN_TIER) != NULL);
	CHECK(h.state == AMX_HOME_RECOVERING);
}

TEST(home_down_without_apps_stays_idle)
{
	struct amx_policy_config c = defaults();
	struct amx_home_policy h = home_up();
	struct amx_actions o;
	const struct amx_action *e;

	h.wants_daemon = false;
	o = home_feed(&h, &c, IN(.kind = AMX_IN_DAEMON_DOWN, .now_ms = T0, .intentional = false, .dump_valid = true));
	CHECK(o.n == 1);
	CHECK(find_emit(&o, AMX_EMIT_DAEMON_DOWN_NO_APPS) != NULL);
	CHECK(h.state == AMX_HOME_DOWN_IDLE);
	o = home_feed(&h, &c, IN(.kind = AMX_IN_TICK, .now_ms = T0 + 10000000, .dump_valid = true));
	CHECK(o.n == 0 && h.state == AMX_HOME_DOWN_IDLE);
	/* an app becomes desired online: recover now */
	h.wants_daemon = true;
	o = home_feed(&h, &c, IN(.kind = AMX_IN_TICK, .now_ms = T0 + 10000001, .dump_valid = true));
	e = find_emit(&o, AMX_EMIT_RECOVERY_STARTED);
	CHECK(e && e->tier == 2 && e->attempt == 1 && e->backoff_ms == 0);
	CHECK(h.state == AMX_HOME_RECOVERING);
}

TEST(home_manual_grace_over_without_apps_goes_idle)
{
	struct amx_policy_config c = defaults();
	struct amx_home_policy h = home_up();
	struct amx_actions o;

	home_feed(&h, &c, IN(.kind = AMX_IN_DAEMON_DOWN, .now_ms = T0, .intentional = true, .dump_valid = true));
	h.wants_daemon = false;
	o = home_feed(&h, &c, IN(.kind = AMX_IN_TICK, .now_ms = T0 + 300000, .dump_valid = true));
	CHECK(find_emit(&o, AMX_EMIT_DAEMON_DOWN_NO_APPS) != NULL);
	CHECK(find_action(&o, AMX_ACT_RUN_TIER) == NULL);
	CHECK(h.state == AMX_HOME_DOWN_IDLE);
}

TEST(home_restores_the_dump_when_it_is_invalid)
{
	struct amx_policy_config c = defaults();
	struct amx_home_policy h = home_up();
	struct amx_actions o;
	const struct amx_action *e;

	o = home_feed(&h, &c, IN(.kind = AMX_IN_DAEMON_DOWN, .now_ms = T0, .dump_valid = false));
	e = find_action(&o, AMX_ACT_RUN_TIER);
	CHECK(e && e->restore_dump);
	CHECK(!h.dump_valid);
	/* the validity seen on TICK counts for the next attempt */
	home_feed(&h, &c, IN(.kind = AMX_IN_ACTION_DONE, .now_ms = T0 + 500, .ok = false, .reason = "exit status 1", .rand = 20));
	CHECK(h.state == AMX_HOME_BACKOFF);
	o = home_feed(&h, &c, IN(.kind = AMX_IN_TICK, .now_ms = T0 + 1500, .dump_valid = true));
	e = find_action(&o, AMX_ACT_RUN_TIER);
	CHECK(e && e->tier == 2 && e->attempt == 2 && !e->restore_dump);
	/* and the caller's own setting */
	h = home_up();
	h.dump_valid = false;
	home_feed(&h, &c, IN(.kind = AMX_IN_DAEMON_DOWN, .now_ms = T0, .intentional = true, .dump_valid = false));
	CHECK(h.state == AMX_HOME_DOWN_MANUAL);
	o = home_feed(&h, &c, IN(.kind = AMX_IN_TICK, .now_ms = T0 + 300000, .dump_valid = false));
	e = find_action(&o, AMX_ACT_RUN_TIER);
	CHECK(e && e->restore_dump);
}

TEST(home_recovering_alive_succeeds)
{
	struct amx_policy_config c = defaults();
	struct amx_home_policy h = home_up();
	struct amx_actions o;
	const struct amx_action *e;

	home_feed(&h, &c, IN(.kind = AMX_IN_DAEMON_DOWN, .now_ms = T0, .dump_valid = true));
	o = home_feed(&h, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = T0 + 485, .pid = 51));
	e = find_emit(&o, AMX_EMIT_RECOVERY_SUCCEEDED);
	CHECK(e && e->tier == 2 && e->attempt == 1 && e->ms == 485 && e->pid == 51);
	CHECK(h.state == AMX_HOME_UP);
	o = home_feed(&h, &c, IN(.kind = AMX_IN_ACTION_DONE, .now_ms = T0 + 500, .ok = true));
	CHECK(o.n == 0 && h.state == AMX_HOME_UP);
}

TEST(home_done_ok_verifies_then_alive_succeeds)
{
	struct amx_policy_config c = defaults();
	struct amx_home_policy h = home_up();
	struct amx_actions o;
	const struct amx_action *e;

	home_feed(&h, &c, IN(.kind = AMX_IN_DAEMON_DOWN, .now_ms = T0, .dump_valid = true));
	o = home_feed(&h, &c, IN(.kind = AMX_IN_ACTION_DONE, .now_ms = T0 + 500, .ok = true));
	CHECK(o.n == 0 && h.state == AMX_HOME_VERIFYING);
	CHECK(h.deadline_ms == T0 + 500 + 15000);
	o = home_feed(&h, &c, IN(.kind = AMX_IN_TICK, .now_ms = T0 + 15499, .dump_valid = true));
	CHECK(o.n == 0 && h.state == AMX_HOME_VERIFYING);
	o = home_feed(&h, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = T0 + 600, .pid = 52));
	e = find_emit(&o, AMX_EMIT_RECOVERY_SUCCEEDED);
	CHECK(e && e->tier == 2 && e->ms == 600 && e->pid == 52);
	CHECK(h.state == AMX_HOME_UP);
}

TEST(home_verify_timeout_fails_and_backs_off)
{
	struct amx_policy_config c = defaults();
	struct amx_home_policy h = home_up();
	struct amx_actions o;
	const struct amx_action *e;

	home_feed(&h, &c, IN(.kind = AMX_IN_DAEMON_DOWN, .now_ms = T0, .dump_valid = true));
	home_feed(&h, &c, IN(.kind = AMX_IN_ACTION_DONE, .now_ms = T0 + 500, .ok = true));
	o = home_feed(&h, &c, IN(.kind = AMX_IN_TICK, .now_ms = T0 + 15500, .dump_valid = true, .rand = 20));
	e = find_emit(&o, AMX_EMIT_RECOVERY_FAILED);
	CHECK(e && e->tier == 2 && e->attempt == 1 && strcmp(e->reason, "no live pid within 15 s") == 0);
	CHECK(h.state == AMX_HOME_BACKOFF);
	CHECK(h.deadline_ms == T0 + 15500 + 1000);
	o = home_feed(&h, &c, IN(.kind = AMX_IN_TICK, .now_ms = T0 + 16499, .dump_valid = true));
	CHECK(o.n == 0);
	o = home_feed(&h, &c, IN(.kind = AMX_IN_TICK, .now_ms = T0 + 16500, .dump_valid = true));
	e = find_emit(&o, AMX_EMIT_RECOVERY_STARTED);
	CHECK(e && e->tier == 2 && e->attempt == 2 && e->backoff_ms == 1000);
	CHECK(h.state == AMX_HOME_RECOVERING);
}

TEST(home_done_failed_backs_off)
{
	struct amx_policy_config c = defaults();
	struct amx_home_policy h = home_up();
	struct amx_actions o;
	const struct amx_action *e;

	home_feed(&h, &c, IN(.kind = AMX_IN_DAEMON_DOWN, .now_ms = T0, .dump_valid = true));
	o = home_feed(&h, &c, IN(.kind = AMX_IN_ACTION_DONE, .now_ms = T0 + 500, .ok = false,
				 .reason = "timed out after 30 s", .rand = 0));
	e = find_emit(&o, AMX_EMIT_RECOVERY_FAILED);
	CHECK(e && e->tier == 2 && strcmp(e->reason, "timed out after 30 s") == 0);
	CHECK(h.state == AMX_HOME_BACKOFF);
	CHECK(h.deadline_ms == T0 + 500 + 800); /* rand 0: -20 % */
}

TEST(home_daemon_dies_again_while_recovering)
{
	struct amx_policy_config c = defaults();
	struct amx_home_policy h = home_up();
	struct amx_actions o;
	const struct amx_action *e;

	home_feed(&h, &c, IN(.kind = AMX_IN_DAEMON_DOWN, .now_ms = T0, .dump_valid = true));
	o = home_feed(&h, &c, IN(.kind = AMX_IN_DAEMON_DOWN, .now_ms = T0 + 300, .dump_valid = true, .rand = 20));
	e = find_emit(&o, AMX_EMIT_RECOVERY_FAILED);
	CHECK(e && e->tier == 2 && e->attempt == 1 && strcmp(e->reason, "daemon died again") == 0);
	CHECK(h.state == AMX_HOME_BACKOFF);
	/* the first command's report is no longer asked for */
	o = home_feed(&h, &c, IN(.kind = AMX_IN_ACTION_DONE, .now_ms = T0 + 400, .ok = true));
	CHECK(o.n == 0 && h.state == AMX_HOME_BACKOFF);
	/* and from VERIFYING */
	o = home_feed(&h, &c, IN(.kind = AMX_IN_TICK, .now_ms = h.deadline_ms, .dump_valid = true));
	CHECK(h.state == AMX_HOME_RECOVERING && h.attempt == 2);
	home_feed(&h, &c, IN(.kind = AMX_IN_ACTION_DONE, .now_ms = T0 + 2000, .ok = true));
	CHECK(h.state == AMX_HOME_VERIFYING);
	o = home_feed(&h, &c, IN(.kind = AMX_IN_DAEMON_DOWN, .now_ms = T0 + 2100, .dump_valid = true, .rand = 20));
	e = find_emit(&o, AMX_EMIT_RECOVERY_FAILED);
	CHECK(e && e->attempt == 2 && strcmp(e->reason, "daemon died again") == 0);
	CHECK(h.state == AMX_HOME_BACKOFF && h.deadline_ms == T0 + 2100 + 2000);
}

TEST(home_down_states_alive_is_up_without_success)
{
	struct amx_policy_config c = defaults();
	struct amx_home_policy h;
	struct amx_actions o;
	enum amx_home_state states[] = {AMX_HOME_DOWN_MANUAL, AMX_HOME_DOWN_IDLE, AMX_HOME_BACKOFF, AMX_HOME_PARKED};

	for (unsigned i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		h = home_up();
		h.state = states[i];
		h.deadline_ms = T0 + 100;
		o = home_feed(&h, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = T0, .pid = 53));
		CHECK(o.n == 0);
		CHECK(h.state == AMX_HOME_UP && h.deadline_ms == 0);
	}
}

TEST(home_second_down_while_down_is_ignored)
{
	struct amx_policy_config c = defaults();
	struct amx_home_policy h = home_up();
	struct amx_actions o;

	home_feed(&h, &c, IN(.kind = AMX_IN_DAEMON_DOWN, .now_ms = T0, .intentional = true, .dump_valid = true));
	o = home_feed(&h, &c, IN(.kind = AMX_IN_DAEMON_DOWN, .now_ms = T0 + 10, .intentional = false, .dump_valid = true));
	CHECK(o.n == 0 && h.state == AMX_HOME_DOWN_MANUAL && h.deadline_ms == T0 + 300000);
	o = home_feed(&h, &c, IN(.kind = AMX_IN_ACTION_DONE, .now_ms = T0 + 20, .ok = false, .reason = "x"));
	CHECK(o.n == 0 && h.state == AMX_HOME_DOWN_MANUAL);
}

TEST(home_budget_parks_and_lifts)
{
	struct amx_policy_config c = defaults();
	struct amx_home_policy h = home_up();
	struct amx_actions o;
	const struct amx_action *e;
	uint64_t now = T0;
	int runs = 0;

	/* the daemon keeps dying right after each resurrect */
	home_feed(&h, &c, IN(.kind = AMX_IN_DAEMON_DOWN, .now_ms = now, .dump_valid = true));
	runs++;
	for (int i = 0; i < 10 && h.state != AMX_HOME_PARKED; i++) {
		now += 500;
		o = home_feed(&h, &c, IN(.kind = AMX_IN_ACTION_DONE, .now_ms = now, .ok = false, .reason = "exit status 1"));
		if (h.state == AMX_HOME_PARKED)
			break;
		CHECK(h.state == AMX_HOME_BACKOFF);
		now = h.deadline_ms;
		o = home_feed(&h, &c, IN(.kind = AMX_IN_TICK, .now_ms = now, .dump_valid = true));
		CHECK(find_action(&o, AMX_ACT_RUN_TIER) != NULL);
		runs++;
	}
	CHECK(runs == 5);
	CHECK(h.state == AMX_HOME_PARKED);
	e = find_emit(&o, AMX_EMIT_RECOVERY_PARKED);
	CHECK(e && e->tier == 2 && e->budget_attempts == 5 && e->ms == T0 + 600000 - now);
	CHECK(h.deadline_ms == T0 + 600000);
	o = home_feed(&h, &c, IN(.kind = AMX_IN_TICK, .now_ms = T0 + 599999, .dump_valid = true));
	CHECK(o.n == 0);
	o = home_feed(&h, &c, IN(.kind = AMX_IN_TICK, .now_ms = T0 + 600000, .dump_valid = true));
	e = find_action(&o, AMX_ACT_RUN_TIER);
	CHECK(e && e->tier == 2 && e->attempt == 6);
	CHECK(h.state == AMX_HOME_RECOVERING);
}

TEST(home_ignores_app_inputs)
{
	struct amx_policy_config c = defaults();
	struct amx_home_policy h = home_up(), before = h;
	struct amx_actions o;
	enum amx_input_kind kinds[] = {AMX_IN_EXITED, AMX_IN_ABSENT, AMX_IN_STATUS, AMX_IN_HOME_DOWN,
				       AMX_IN_HOME_UP, AMX_IN_DESIRED, AMX_IN_UNHEALTHY};

	for (unsigned i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		o = home_feed(&h, &c, IN(.kind = kinds[i], .now_ms = T0));
		CHECK(o.n == 0);
	}
	CHECK(memcmp(&h, &before, sizeof(h)) == 0);
}


/* ---- unhealthy (memory over limit, probe failing): tier 1 at once, within the budget ---- */

TEST(app_unhealthy_alive_runs_tier1_at_once)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p;
	struct amx_actions o;
	const struct amx_action *run, *started;

	amx_app_policy_init(&p);
	app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = T0 - 100, .pid = 7));
	p.attempt = 3; /* left over from an earlier incident */
	o = app_feed(&p, &c, IN(.kind = AMX_IN_UNHEALTHY, .now_ms = T0));
	run = find_action(&o, AMX_ACT_RUN_TIER);
	started = find_emit(&o, AMX_EMIT_RECOVERY_STARTED);
	CHECK(run && run->tier == 1 && run->attempt == 1);
	CHECK(started && started->tier == 1 && started->backoff_ms == 0);
	CHECK(p.state == AMX_APP_RECOVERING);
	CHECK(p.exited_at_ms == T0);
	CHECK(p.budget.n == 1);
	/* the old pid exits because of the restart: no second incident */
	o = app_feed(&p, &c, IN(.kind = AMX_IN_EXITED, .now_ms = T0 + 50));
	CHECK(o.n == 0 && p.state == AMX_APP_RECOVERING);
	/* the new pid: success, tier 1 */
	o = app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = T0 + 400, .pid = 8));
	started = find_emit(&o, AMX_EMIT_RECOVERY_SUCCEEDED);
	CHECK(started && started->tier == 1 && started->pid == 8);
	CHECK(p.state == AMX_APP_ALIVE);
}

TEST(app_unhealthy_ignored_while_an_incident_runs)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p, before;
	struct amx_actions o;
	uint64_t at;

	p = app_exited(&c); /* WAIT_PM2 */
	before = p;
	o = app_feed(&p, &c, IN(.kind = AMX_IN_UNHEALTHY, .now_ms = T0 + 1));
	CHECK(o.n == 0 && memcmp(&p, &before, sizeof(p)) == 0);
	p = app_recovering(&c, &at);
	before = p;
	o = app_feed(&p, &c, IN(.kind = AMX_IN_UNHEALTHY, .now_ms = at + 1));
	CHECK(o.n == 0 && memcmp(&p, &before, sizeof(p)) == 0);
	/* not ours: a saved stop, an unknown app */
	amx_app_policy_init(&p);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_UNHEALTHY, .now_ms = T0));
	CHECK(o.n == 0 && p.state == AMX_APP_UNKNOWN);
	app_feed(&p, &c, IN(.kind = AMX_IN_DESIRED, .now_ms = T0, .desired_online = false));
	o = app_feed(&p, &c, IN(.kind = AMX_IN_UNHEALTHY, .now_ms = T0));
	CHECK(o.n == 0 && p.state == AMX_APP_DESIRED_STOPPED);
}

TEST(app_unhealthy_counts_against_the_budget)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p;
	struct amx_actions o;
	uint64_t now = T0;

	c.budget_attempts = 2;
	amx_app_policy_init(&p);
	app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = now, .pid = 7));
	for (int i = 0; i < 2; i++) {
		now += 1000;
		o = app_feed(&p, &c, IN(.kind = AMX_IN_UNHEALTHY, .now_ms = now));
		CHECK(find_action(&o, AMX_ACT_RUN_TIER) != NULL);
		app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = now + 300, .pid = 8 + i));
		CHECK(p.state == AMX_APP_ALIVE);
	}
	now += 1000;
	o = app_feed(&p, &c, IN(.kind = AMX_IN_UNHEALTHY, .now_ms = now));
	CHECK(find_action(&o, AMX_ACT_RUN_TIER) == NULL);
	CHECK(find_emit(&o, AMX_EMIT_RECOVERY_PARKED) != NULL);
	CHECK(p.state == AMX_APP_PARKED);
}

/* ---- bounds, under random input ---- */

static uint32_t lcg_next(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(*s >> 33);
}

/* ---- serving: an app that listened before is back when it listens again ---- */

TEST(app_verifying_waits_for_the_listen_then_succeeds_serving)
{
	struct amx_policy_config c = defaults();
	uint64_t at;
	struct amx_app_policy p = app_recovering(&c, &at);
	struct amx_actions o;
	const struct amx_action *e;

	app_feed(&p, &c, IN(.kind = AMX_IN_ACTION_DONE, .now_ms = at + 300, .ok = true));
	o = app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = at + 450, .pid = 401, .must_listen = true));
	CHECK(o.n == 0 && p.state == AMX_APP_AWAIT_LISTEN);
	CHECK(p.deadline_ms == at + 450 + 15000); /* from the pid's appearance */
	o = app_feed(&p, &c, IN(.kind = AMX_IN_TICK, .now_ms = at + 450 + 14999));
	CHECK(o.n == 0);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_SERVING, .now_ms = at + 1200, .pid = 401));
	e = find_emit(&o, AMX_EMIT_RECOVERY_SUCCEEDED);
	CHECK(e && e->tier == 1 && e->attempt == 1 && e->pid == 401);
	CHECK(e && e->ms == 1200 && e->serving == AMX_SERVING_YES); /* to the listen */
	CHECK(p.state == AMX_APP_ALIVE);
	/* a late SERVING changes nothing */
	o = app_feed(&p, &c, IN(.kind = AMX_IN_SERVING, .now_ms = at + 1300, .pid = 401));
	CHECK(o.n == 0 && p.state == AMX_APP_ALIVE);
}

TEST(app_already_listening_succeeds_serving_at_once)
{
	struct amx_policy_config c = defaults();
	uint64_t at;
	struct amx_app_policy p = app_recovering(&c, &at);
	struct amx_actions o;
	const struct amx_action *e;

	o = app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = at + 450, .pid = 401, .serving = true));
	e = find_emit(&o, AMX_EMIT_RECOVERY_SUCCEEDED);
	CHECK(e && e->serving == AMX_SERVING_YES && p.state == AMX_APP_ALIVE);
	/* an app that never listened: today's rule, serving not claimed */
	p = app_recovering(&c, &at);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = at + 450, .pid = 402));
	e = find_emit(&o, AMX_EMIT_RECOVERY_SUCCEEDED);
	CHECK(e && e->serving == AMX_SERVING_UNKNOWN && p.state == AMX_APP_ALIVE);
}

TEST(app_no_listen_within_verify_is_a_failed_attempt)
{
	struct amx_policy_config c = defaults();
	uint64_t at;
	struct amx_app_policy p;
	struct amx_actions o;
	const struct amx_action *e;

	c.verify_ms = 1500;
	p = app_recovering(&c, &at);
	app_feed(&p, &c, IN(.kind = AMX_IN_ACTION_DONE, .now_ms = at + 300, .ok = true));
	app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = at + 400, .pid = 42, .must_listen = true));
	/* the new copy dies and PM2 makes another: that one is awaited, same deadline */
	app_feed(&p, &c, IN(.kind = AMX_IN_EXITED, .now_ms = at + 500));
	CHECK(p.state == AMX_APP_AWAIT_LISTEN);
	app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = at + 600, .pid = 43, .must_listen = true));
	o = app_feed(&p, &c, IN(.kind = AMX_IN_TICK, .now_ms = at + 400 + 1499));
	CHECK(o.n == 0);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_TICK, .now_ms = at + 400 + 1500, .rand = 20));
	e = find_emit(&o, AMX_EMIT_RECOVERY_FAILED);
	CHECK(e && e->tier == 1 && e->attempt == 1);
	CHECK(e && strcmp(e->reason, "pid 43 did not listen within 1500 ms") == 0);
	CHECK(find_emit(&o, AMX_EMIT_RECOVERY_SUCCEEDED) == NULL);
	CHECK(p.state == AMX_APP_BACKOFF && p.next_tier == 1);
	/* its listen after the failure is not a success */
	o = app_feed(&p, &c, IN(.kind = AMX_IN_SERVING, .now_ms = at + 2000, .pid = 43));
	CHECK(o.n == 0 && p.state == AMX_APP_BACKOFF);
}

/* A tier's new copy that dies before it listens fails that attempt at once: a crash loop
 * parks as fast as before listening was awaited, not one verify_ms an attempt. */
TEST(app_tier_copy_exiting_before_it_listens_fails_at_once)
{
	struct amx_policy_config c = defaults();
	uint64_t at;
	struct amx_app_policy p;
	struct amx_actions o;
	const struct amx_action *e;

	c.verify_ms = 15000;
	p = app_recovering(&c, &at);
	app_feed(&p, &c, IN(.kind = AMX_IN_ACTION_DONE, .now_ms = at + 300, .ok = true));
	app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = at + 400, .pid = 42, .must_listen = true));
	CHECK(p.state == AMX_APP_AWAIT_LISTEN);
	/* another pid's exit (an old instance's) changes nothing */
	o = app_feed(&p, &c, IN(.kind = AMX_IN_EXITED, .now_ms = at + 450, .pid = 41));
	CHECK(o.n == 0 && p.state == AMX_APP_AWAIT_LISTEN);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_EXITED, .now_ms = at + 500, .pid = 42, .rand = 20));
	e = find_emit(&o, AMX_EMIT_RECOVERY_FAILED);
	CHECK(e && e->tier == 1 && e->attempt == 1);
	CHECK(e && strcmp(e->reason, "pid 42 exited before it listened") == 0);
	CHECK(p.state == AMX_APP_BACKOFF);
}

TEST(app_pm2_restart_reported_once_it_serves)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p = app_exited(&c);
	struct amx_actions o;
	const struct amx_action *e;

	o = app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = T0 + 80, .pid = 101, .must_listen = true));
	CHECK(o.n == 0 && p.state == AMX_APP_AWAIT_LISTEN);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_SERVING, .now_ms = T0 + 350, .pid = 101));
	e = find_emit(&o, AMX_EMIT_PM2_RESTARTED_APP);
	CHECK(e && e->ms == 350 && e->pid == 101 && e->serving == AMX_SERVING_YES);
	CHECK(find_emit(&o, AMX_EMIT_RECOVERY_SUCCEEDED) == NULL);
	CHECK(p.state == AMX_APP_ALIVE);
}

TEST(app_pm2_restart_not_serving_is_said_without_an_attempt)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p = app_exited(&c);
	struct amx_actions o;
	const struct amx_action *e;

	app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = T0 + 80, .pid = 101, .must_listen = true));
	o = app_feed(&p, &c, IN(.kind = AMX_IN_TICK, .now_ms = T0 + 80 + 15000));
	e = find_emit(&o, AMX_EMIT_PM2_RESTARTED_APP);
	CHECK(e && e->pid == 101 && e->serving == AMX_SERVING_NO && e->ms == 15080);
	CHECK(find_action(&o, AMX_ACT_RUN_TIER) == NULL);
	CHECK(p.state == AMX_APP_ALIVE);
	/* PM2's new copy dying before it listens is a new exit for PM2 */
	p = app_exited(&c);
	app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = T0 + 80, .pid = 101, .must_listen = true));
	app_feed(&p, &c, IN(.kind = AMX_IN_EXITED, .now_ms = T0 + 90));
	CHECK(p.state == AMX_APP_WAIT_PM2 && p.exited_at_ms == T0 + 90);
}

TEST(app_tier2_recovery_waits_for_the_listen)
{
	struct amx_policy_config c = defaults();
	struct amx_app_policy p;
	struct amx_actions o;
	const struct amx_action *e;

	/* seen alive during HOME_DOWN, not listening yet */
	amx_app_policy_init(&p);
	app_feed(&p, &c, IN(.kind = AMX_IN_HOME_DOWN, .now_ms = T0));
	app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = T0 + 500, .pid = 13, .must_listen = true));
	o = app_feed(&p, &c, IN(.kind = AMX_IN_HOME_UP, .now_ms = T0 + 520, .by_tier2 = true));
	CHECK(o.n == 0 && p.state == AMX_APP_AWAIT_LISTEN && p.tier == 2);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_SERVING, .now_ms = T0 + 900, .pid = 13));
	e = find_emit(&o, AMX_EMIT_RECOVERY_SUCCEEDED);
	CHECK(e && e->tier == 2 && e->pid == 13 && e->ms == 900 && e->serving == AMX_SERVING_YES);
	/* listening already before the daemon was back */
	amx_app_policy_init(&p);
	app_feed(&p, &c, IN(.kind = AMX_IN_HOME_DOWN, .now_ms = T0));
	app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = T0 + 500, .pid = 13, .must_listen = true));
	app_feed(&p, &c, IN(.kind = AMX_IN_SERVING, .now_ms = T0 + 510, .pid = 13));
	o = app_feed(&p, &c, IN(.kind = AMX_IN_HOME_UP, .now_ms = T0 + 520, .by_tier2 = true));
	e = find_emit(&o, AMX_EMIT_RECOVERY_SUCCEEDED);
	CHECK(e && e->serving == AMX_SERVING_YES && p.state == AMX_APP_ALIVE);
	/* after HOME_UP, while VERIFYING: the pid, then its listen */
	amx_app_policy_init(&p);
	app_feed(&p, &c, IN(.kind = AMX_IN_HOME_DOWN, .now_ms = T0));
	app_feed(&p, &c, IN(.kind = AMX_IN_HOME_UP, .now_ms = T0 + 600, .by_tier2 = true));
	app_feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = T0 + 700, .pid = 11, .must_listen = true));
	CHECK(p.state == AMX_APP_AWAIT_LISTEN);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_SERVING, .now_ms = T0 + 800, .pid = 11));
	e = find_emit(&o, AMX_EMIT_RECOVERY_SUCCEEDED);
	CHECK(e && e->tier == 2 && e->ms == 200 && e->serving == AMX_SERVING_YES);
}

TEST(no_step_comes_near_the_action_limit)
{
	struct amx_policy_config configs[3];
	static const char reasons[][16] = {"exit status 1", "timed out", ""};
	uint64_t seed = 42;

	amx_policy_config_defaults(&configs[0]);
	amx_policy_config_defaults(&configs[1]);
	configs[1].manual_grace_ms = 0;
	configs[1].have_ecosystem = true;
	configs[1].budget_attempts = 2;
	amx_policy_config_defaults(&configs[2]);
	configs[2].backoff_base_ms = 0;
	configs[2].budget_attempts = 0;
	for (int k = 0; k < 3; k++) {
		struct amx_policy_config *c = &configs[k];
		struct amx_app_policy p;
		struct amx_home_policy h;
		uint64_t now = T0;

		amx_app_policy_init(&p);
		amx_home_policy_init(&h);
		for (int i = 0; i < 200000; i++) {
			struct amx_input in;
			struct amx_actions o;

			memset(&in, 0, sizeof(in));
			now += lcg_next(&seed) % 20000;
			in.kind = 1 + lcg_next(&seed) % 11;
			in.now_ms = now;
			in.rand = lcg_next(&seed);
			in.pid = 1 + lcg_next(&seed) % 32768;
			in.status = 1 + lcg_next(&seed) % 6;
			in.ok = lcg_next(&seed) & 1;
			in.reason = reasons[lcg_next(&seed) % 3];
			in.intentional = lcg_next(&seed) & 1;
			in.by_tier2 = lcg_next(&seed) & 1;
			in.desired_online = lcg_next(&seed) % 4 != 0;
			in.alive = lcg_next(&seed) & 1;
			in.dump_valid = lcg_next(&seed) & 1;
			h.wants_daemon = lcg_next(&seed) % 4 != 0;
			o = app_feed(&p, c, in);
			CHECK(o.n >= 0 && o.n < AMX_MAX_ACTIONS);
			CHECK(strcmp(amx_app_state_name(p.state), "invalid") != 0);
			CHECK(p.budget.n <= AMX_BUDGET_MAX);
			for (int j = 0; j < o.n; j++)
				CHECK(o.a[j].kind != AMX_ACT_RUN_TIER || o.a[j].tier == 1 || o.a[j].tier == 3);
			o = home_feed(&h, c, in);
			CHECK(o.n >= 0 && o.n < AMX_MAX_ACTIONS);
			CHECK(strcmp(amx_home_state_name(h.state), "invalid") != 0);
			for (int j = 0; j < o.n; j++)
				CHECK(o.a[j].kind != AMX_ACT_RUN_TIER || o.a[j].tier == 2);
		}
	}
	/* and every step of every test above */
	CHECK(most_actions_seen < AMX_MAX_ACTIONS);
}

/* A tier that found no command slot is not an attempt: it is tried again after
 * AMX_DEFER_RETRY_MS under the same number, with its RECOVERY_STARTED again (the caller
 * said none: nothing ran), marked retry, with the backoff before its first try and the
 * time it has waited for a slot since. The next attempt after it ran is a new one. */
TEST(app_deferred_tier_is_started_again_with_its_wait)
{
	struct amx_policy_config c = defaults();
	uint64_t at;
	struct amx_app_policy p = app_recovering(&c, &at);
	struct amx_actions o;

	CHECK(p.state == AMX_APP_RECOVERING && p.attempt == 1 && p.budget.n == 1);
	o = app_feed(&p, &c, IN(.kind = AMX_IN_ACTION_DONE, .now_ms = at, .deferred = true));
	CHECK(o.n == 0 && p.state == AMX_APP_BACKOFF && p.attempt == 0 && p.budget.n == 0);
	for (int k = 1; k <= 2; k++) {
		o = app_feed(&p, &c, IN(.kind = AMX_IN_TICK, .now_ms = at + k * AMX_DEFER_RETRY_MS));
		CHECK(o.n == 2 && o.a[0].kind == AMX_ACT_EMIT &&
		      o.a[0].emit == AMX_EMIT_RECOVERY_STARTED && o.a[0].retry);
		CHECK(o.a[0].attempt == 1 && o.a[0].backoff_ms == 0 &&
		      o.a[0].deferred_ms == (uint64_t)k * AMX_DEFER_RETRY_MS);
		CHECK(o.a[1].kind == AMX_ACT_RUN_TIER && o.a[1].retry && o.a[1].tier == 1);
		if (k == 1) /* no slot again */
			app_feed(&p, &c, IN(.kind = AMX_IN_ACTION_DONE,
					    .now_ms = at + AMX_DEFER_RETRY_MS, .deferred = true));
	}
	CHECK(p.attempt == 1 && p.budget.n == 1);
	/* It ran, and failed: attempt 2 is a new attempt after its backoff. */
	app_feed(&p, &c, IN(.kind = AMX_IN_ACTION_DONE, .now_ms = at + 2500, .ok = false,
			    .reason = "exit status 1"));
	CHECK(p.state == AMX_APP_BACKOFF);
	uint64_t due = p.deadline_ms;
	o = app_feed(&p, &c, IN(.kind = AMX_IN_TICK, .now_ms = due));
	CHECK(o.n == 2 && o.a[0].emit == AMX_EMIT_RECOVERY_STARTED && !o.a[0].retry);
	CHECK(o.a[0].attempt == 2 && o.a[0].deferred_ms == 0 && o.a[0].backoff_ms == due - (at + 2500));
	CHECK(!o.a[1].retry);
}

int main(void)
{
	RUN(config_defaults);
	RUN(state_names_cover_every_state);
	RUN(app_unknown_alive_becomes_alive);
	RUN(app_unknown_absent_waits_for_pm2);
	RUN(app_alive_absent_waits_for_pm2);
	RUN(app_absent_ignored_where_it_means_nothing);
	RUN(app_alive_exited_starts_an_incident);
	RUN(app_wait_pm2_alive_reports_pm2_restart);
	RUN(app_wait_pm2_tick_before_deadline_does_nothing);
	RUN(app_wait_pm2_tick_after_grace_queries_status);
	RUN(app_querying_online_becomes_alive);
	RUN(app_querying_alive_reports_pm2_restart);
	RUN(app_querying_stopped_honours_manual_grace);
	RUN(app_querying_stopped_with_manual_grace_0_recovers_at_once);
	RUN(app_querying_missing_is_a_deleted_stop);
	RUN(app_querying_errored_starts_tier1);
	RUN(app_querying_unknown_starts_tier1);
	RUN(app_querying_transient_asks_again_three_times);
	RUN(app_querying_without_answer_acts_as_unknown);
	RUN(app_manual_tick_after_grace_starts_tier1);
	RUN(app_manual_alive_means_the_operator_restarted_it);
	RUN(app_recovering_alive_before_action_done_succeeds);
	RUN(app_recovering_done_ok_verifies);
	RUN(app_recovering_done_failed_escalates_to_tier3);
	RUN(app_failure_reason_defaults_when_missing);
	RUN(app_verifying_alive_succeeds);
	RUN(app_verifying_timeout_fails_and_schedules_next);
	RUN(app_no_ecosystem_reported_once_per_incident);
	RUN(app_tier3_failure_falls_back_to_tier1);
	RUN(app_backoff_doubles_up_to_the_cap);
	RUN(app_backoff_jitter_stays_within_20_percent);
	RUN(app_backoff_alive_returns_to_alive_without_success);
	RUN(budget_counts_free_slots_in_the_window);
	RUN(app_budget_spent_parks_until_the_oldest_attempt_leaves);
	RUN(app_budget_spent_at_the_first_attempt_parks);
	RUN(app_parked_alive_lifts_the_park);
	RUN(app_budget_of_zero_never_runs_a_tier);
	RUN(app_crash_loop_parks_then_recovers_after_the_window);
	RUN(app_desired_stopped_from_any_state);
	RUN(app_desired_online_again);
	RUN(app_desired_online_elsewhere_changes_nothing);
	RUN(app_home_down_from_any_state_but_desired_stopped);
	RUN(app_verifying_waits_for_the_listen_then_succeeds_serving);
	RUN(app_already_listening_succeeds_serving_at_once);
	RUN(app_no_listen_within_verify_is_a_failed_attempt);
	RUN(app_tier_copy_exiting_before_it_listens_fails_at_once);
	RUN(app_pm2_restart_reported_once_it_serves);
	RUN(app_pm2_restart_not_serving_is_said_without_an_attempt);
	RUN(app_tier2_recovery_waits_for_the_listen);
	RUN(app_home_down_ignores_app_inputs);
	RUN(app_home_up_by_tier2_verifies_and_succeeds);
	RUN(app_home_up_by_tier2_without_the_app_falls_back_to_tier1_at_once);
	RUN(app_home_up_by_someone_else_waits_for_pm2);
	RUN(app_alive_during_home_down_is_remembered);
	RUN(app_home_up_elsewhere_is_ignored);
	RUN(app_unasked_answers_are_ignored);
	RUN(home_unknown_alive_is_up);
	RUN(home_unknown_down_is_treated_as_a_death);
	RUN(home_unintentional_death_recovers_at_once);
	RUN(home_intentional_death_honours_manual_grace);
	RUN(home_intentional_death_with_manual_grace_0_recovers_at_once);
	RUN(home_down_without_apps_stays_idle);
	RUN(home_manual_grace_over_without_apps_goes_idle);
	RUN(home_restores_the_dump_when_it_is_invalid);
	RUN(home_recovering_alive_succeeds);
	RUN(home_done_ok_verifies_then_alive_succeeds);
	RUN(home_verify_timeout_fails_and_backs_off);
	RUN(home_done_failed_backs_off);
	RUN(home_daemon_dies_again_while_recovering);
	RUN(home_down_states_alive_is_up_without_success);
	RUN(home_second_down_while_down_is_ignored);
	RUN(home_budget_parks_and_lifts);
	RUN(home_ignores_app_inputs);
	RUN(app_unhealthy_alive_runs_tier1_at_once);
	RUN(app_unhealthy_ignored_while_an_incident_runs);
	RUN(app_unhealthy_counts_against_the_budget);
	RUN(app_instances_one_back_of_two_is_a_pm2_restart_and_the_wait_goes_on);
	RUN(app_instances_one_not_brought_back_is_an_incident);
	RUN(app_instances_tier2_succeeds_when_all_are_back);
	RUN(app_instances_seen_during_home_down_count_only_when_all_run);
	RUN(app_deferred_tier_is_started_again_with_its_wait);
	RUN(no_step_comes_near_the_action_limit);
	CHECK_DONE();
}
