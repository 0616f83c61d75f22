/* SPDX-License-Identifier: MIT */
/* The synchronous driver of `amexbpf check` (see check_drive.h). The daemon learns of
 * changes from the kernel and inotify; check looks instead: every LOOK_EVERY_MS until the
 * policy's next deadline. */
#include "cli/check_drive.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/event.h"
#include "core/tier_command.h"
#include "daemon/budgetfile.h"
#include "daemon/config.h"
#include "daemon/home.h"
#include "daemon/memwatch.h"
#include "daemon/recovery_command.h"
#include "sys/proc.h"
#include "sys/spawn.h"

#define LOOK_EVERY_MS 100
#define MAX_CHILDREN_SCAN 1024
#define OUTPUT_TAIL 300

void amx_check_say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "amexbpf check: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}
#define say amx_check_say

/* The policy's clock (CLOCK_BOOTTIME), the one the budget file is kept on. */
static uint64_t now_ms(void)
{
	return amx_boot_ms();
}

/* Sleep until the next look: LOOK_EVERY_MS at most, less when the deadline is nearer. */
static void pause_until(uint64_t deadline_ms)
{
	uint64_t now = now_ms();
	uint64_t ms = deadline_ms > now ? deadline_ms - now : 0;
	if (ms == 0 || ms > LOOK_EVERY_MS)
		ms = LOOK_EVERY_MS;
	struct timespec ts = { 0, (long)ms * 1000000 };
	nanosleep(&ts, NULL);
}

static int live_god(const struct amx_home *h)
{
	int pid = amx_home_read_god_pid(h);
	return pid && amx_home_is_god(h, pid) ? pid : 0;
}

/* Look at the app's instances as they are now: each instance by its pm_id (its pid file,
 * else NODE_APP_INSTANCE), from the God daemon's children; a pid gone or dead is dropped.
 * How many instances have a live copy other than the one we knew (none known at first). */
static unsigned look_at_instances(struct amx_home *h, struct amx_app *a)
{
	for (unsigned i = 0; i < a->n_inst; i++)
		if (a->inst[i].pid && !amx_proc_alive(a->inst[i].pid))
			a->inst[i].pid = 0;
	unsigned changed = 0;
	int god = live_god(h), kids[MAX_CHILDREN_SCAN];
	int n = god ? amx_proc_children(god, kids, MAX_CHILDREN_SCAN) : 0;
	for (int i = 0; i < n; i++) {
		struct amx_proc_stat st;
		struct amx_app *of = NULL;
		struct amx_instance *in = amx_home_instance_of_pid(h, kids[i], &of);
		if (!in || of != a || !amx_proc_read_stat(kids[i], &st) || st.state == 'Z')
			continue;
		if (kids[i] == in->pid && st.start_ticks == in->start_ticks)
			continue;
		in->pid = kids[i];
		in->start_ticks = st.start_ticks;
		changed++;
	}
	amx_app_refresh_lead(a);
	return changed;
}

/* What the machine is told once an instance is back: the app is back when every saved
 * instance runs (policy.c's app_complete), as in the daemon. */
static struct amx_input alive_input(const struct amx_app *a)
{
	return (struct amx_input){ .kind = AMX_IN_ALIVE, .pid = a->pid,
				   .instances_alive = amx_app_instances_alive(a),
				   .instances_wanted = a->n_inst };
}


/* One app's settings: the global ones under its [app] section. Check runs once: it cannot
 * wait out a manual grace of minutes, nor remember across runs when a stop began, so an app
 * that dump.pm2 saved online and PM2 says stopped is restarted, as the old cron script did. */
static struct amx_policy_config app_cfg(const struct amx_check_ctx *k, const struct amx_app *a)
{
	struct amx_policy_config cfg = k->cfg;
	amx_config_app_policy(k->o, k->h->path, a->name, &cfg);
	cfg.manual_grace_ms = 0;
	return cfg;
}

static void run_actions(struct amx_check_ctx *k, struct amx_app *a, const struct amx_actions *acts);

/* One input to the app's machine (a NULL app: the home's), then what it asks for. */
static void feed(struct amx_check_ctx *k, struct amx_app *a, struct amx_input in)
{
	struct amx_actions acts = { 0 };
	in.now_ms = now_ms();
	in.rand = (uint32_t)random();
	if (a) {
		struct amx_policy_config cfg = app_cfg(k, a);
		amx_app_step(&a->pol, &cfg, &in, &acts);
	} else {
		k->h->pol.wants_daemon = amx_home_wants_daemon(k->h);
		k->h->pol.dump_valid = k->h->dump_valid;
		in.dump_valid = k->h->dump_valid;
		amx_home_step(&k->h->pol, &k->cfg, &in, &acts);
	}
	run_actions(k, a, &acts);
}

/* Run a built command to its end, or kill it at the action time-out. *out (when asked)
 * receives all it printed (malloc'd; NULL on failure); a failure's output is said. */
static bool run_command(struct amx_check_ctx *k, const struct amx_tier_command *cmd, char **out,
			char *reason, size_t len)
{
	struct amx_child c;
	char err[256];
	int timeout_s = (int)k->o->action_timeout_s;
	const char *prog = cmd->argv.v[0];
	const struct amx_user *as = cmd->as_root ? amx_user_root() : &k->h->owner;
	if (amx_spawn(&c, &cmd->argv, as, k->h->path, err, sizeof(err)) < 0) {
		snprintf(reason, len, "%s", err);
		return false;
	}
	c.keep_all_output = out != NULL;
	if (amx_child_wait(&c, prog, timeout_s, err, sizeof(err)) < 0)
		say("%s", err);
	amx_child_describe(&c, timeout_s, reason, len);
	bool ok = amx_child_succeeded(&c);
	size_t n = 0;
	if (out)
		*out = ok ? amx_child_read_all(&c, AMX_DUMP_MAX_BYTES, &n) : NULL;
	else if (!ok && c.out_len)
		say("%s printed: %s", prog,
		    c.output + (c.out_len > OUTPUT_TAIL ? c.out_len - OUTPUT_TAIL : 0));
	amx_child_release(&c);
	return ok;
}

static void say_command(const struct amx_check_ctx *k, const struct amx_app *a,
			const struct amx_action *x, const struct amx_argv *argv)
{
	char line[1024];
	size_t used = 0;
	line[0] = '\0';
	for (int i = 0; i < argv->n && used < sizeof(line); i++) {
		int w = snprintf(line + used, sizeof(line) - used, "%s%s", i ? " " : "", argv->v[i]);
		used += w > 0 ? (size_t)w : 0;
	}
	say("%s: tier %d for %s (attempt %d): %s", k->h->path, x->tier,
	    a ? a->name : "the PM2 daemon", x->attempt, line);
}

static void run_tier(struct amx_check_ctx *k, struct amx_app *a, const struct amx_action *x)
{
	struct amx_home *h = k->h;
	struct amx_input done = { .kind = AMX_IN_ACTION_DONE, .reason = "no command for this tier" };
	char reason[256];
	/* The attempt is spent before it runs: the next cron run (or the daemon) sees it. */
	amx_budget_save(h);
	if (x->tier != 2 && !live_god(h)) {
		done.reason = "the PM2 daemon is down"; /* tier 1 or 3 would start an empty one */
	} else {
		if (x->tier == 2 && x->restore_dump && h->have_good && amx_home_restore_dump(h) == 0) {
			say("%s: put back the last good dump.pm2", h->path);
			h->dump_valid = true;
		}
		struct amx_tier_command cmd;
		if (amx_recovery_command(&cmd, x->tier, k->o, h, a)) {
			say_command(k, a, x, &cmd.argv);
			done.ok = run_command(k, &cmd, NULL, reason, sizeof(reason));
			done.reason = reason;
		}
	}
	feed(k, a, done);
}

/* `pm2 jlist`, asked only of a live daemon (it would start an empty one). */
static void query_status(struct amx_check_ctx *k, struct amx_app *a)
{
	struct amx_tier_command cmd;
	struct amx_dump list = { 0 };
	char *out = NULL, reason[256];
	bool parsed = false;
	if (live_god(k->h) && amx_recovery_command(&cmd, AMX_TIER_STATUS, k->o, k->h, NULL) &&
	    run_command(k, &cmd, &out, reason, sizeof(reason)) && out)
		parsed = amx_jlist_parse(out, strlen(out), &list) == AMX_DUMP_OK;
	free(out);
	/* PM2 brought an instance back meanwhile; online in jlist means every instance runs. */
	if (look_at_instances(k->h, a))
		feed(k, a, alive_input(a));
	else
		feed(k, a, (struct amx_input){ .kind = AMX_IN_STATUS,
					       .status = amx_jlist_status(parsed ? &list : NULL, a->name,
									  amx_app_instances_alive(a) == a->n_inst) });
	amx_dump_free(&list);
}

static void say_emit(const struct amx_check_ctx *k, const struct amx_app *a, const struct amx_action *x)
{
	const char *home = k->h->path, *who = a ? a->name : "the PM2 daemon";
	switch (x->emit) {
	case AMX_EMIT_PM2_RESTARTED_APP:
		say("%s: PM2 restarted %s (pid %d) in %llu ms", home, who, x->pid, (unsigned long long)x->ms);
		break;
	case AMX_EMIT_APP_STOPPED:
		say("%s: %s is %s in PM2 but saved online in dump.pm2", home, who,
		    x->deleted ? "deleted" : "stopped");
		break;
	case AMX_EMIT_APP_ERRORED:
		say("%s: PM2 gave up on %s (errored)", home, who);
		break;
	case AMX_EMIT_DAEMON_DOWN_NO_APPS:
		say("%s: PM2 daemon down, no saved app wants it", home);
		break;
	case AMX_EMIT_RECOVERY_STARTED:
		if (x->backoff_ms)
			say("%s: %s: attempt %d after a backoff of %llu ms", home, who, x->attempt,
			    (unsigned long long)x->backoff_ms);
		break;
	case AMX_EMIT_RECOVERY_SUCCEEDED:
		say("%s: %s is back (tier %d, attempt %d, %llu ms)", home, who, x->tier, x->attempt,
		    (unsigned long long)x->ms);
		break;
	case AMX_EMIT_RECOVERY_FAILED:
		say("%s: tier %d did not bring %s back: %s", home, x->tier, who, x->reason);
		break;
	case AMX_EMIT_RECOVERY_PARKED:
		say("%s: restart budget of %s spent (%u attempts in %llu s): parked, no attempt for "
		    "%llu s", home, who, x->budget_attempts,
		    (unsigned long long)(x->budget_window_ms / 1000),
		    (unsigned long long)((x->ms + 999) / 1000));
		break;
	case AMX_EMIT_NO_ECOSYSTEM:
		say("%s: tier 3 skipped for %s: no ecosystem file configured (--ecosystem)", home, who);
		break;
	case AMX_EMIT_PORT_CONFLICT: /* check never feeds a conflict: the daemon's job */
		say("%s: %s: port %u is held by pid %d", home, who, x->port, x->holder_pid);
		break;
	}
}

static void run_actions(struct amx_check_ctx *k, struct amx_app *a, const struct amx_actions *acts)
{
	for (int i = 0; i < acts->n; i++) {
		const struct amx_action *x = &acts->a[i];
		if (x->kind == AMX_ACT_EMIT)
			say_emit(k, a, x);
		else if (x->kind == AMX_ACT_QUERY_STATUS && a)
			query_status(k, a);
		else if (x->kind == AMX_ACT_RUN_TIER)
			run_tier(k, a, x);
	}
}

int amx_check_drive_home(struct amx_check_ctx *k, bool *by_tier2)
{
	struct amx_home *h = k->h;
	int god = live_god(h);
	*by_tier2 = false;
	if (god) {
		feed(k, NULL, (struct amx_input){ .kind = AMX_IN_ALIVE, .pid = god });
		return AMX_EXIT_OK;
	}
	say("%s: PM2 daemon down", h->path);
	/* Seen down by a one-shot look: never known to be on purpose. */
	feed(k, NULL, (struct amx_input){ .kind = AMX_IN_DAEMON_DOWN, .intentional = false });
	for (;;) {
		switch (h->pol.state) {
		case AMX_HOME_UP:
			*by_tier2 = true;
			return AMX_EXIT_CHECK_RECOVERED;
		case AMX_HOME_DOWN_IDLE:
			return AMX_EXIT_OK;
		case AMX_HOME_VERIFYING:
		case AMX_HOME_BACKOFF:
			break; /* look until the deadline */
		case AMX_HOME_PARKED:
			say("%s: the PM2 daemon stays down: its restart budget is spent", h->path);
			return AMX_EXIT_CHECK_FAILED;
		default: /* RECOVERING cannot last here: each command is waited for */
			say("%s: the PM2 daemon is still down", h->path);
			return AMX_EXIT_CHECK_FAILED;
		}
		if ((god = live_god(h)))
			feed(k, NULL, (struct amx_input){ .kind = AMX_IN_ALIVE, .pid = god });
		else if (now_ms() >= h->pol.deadline_ms)
			feed(k, NULL, (struct amx_input){ .kind = AMX_IN_TICK });
		else
			pause_until(h->pol.deadline_ms);
	}
}

/* Look until the app's machine settles. */
static int settle_app(struct amx_check_ctx *k, struct amx_app *a)
{
	for (;;) {
		switch (a->pol.state) {
		case AMX_APP_ALIVE:
			return AMX_EXIT_CHECK_RECOVERED;
		case AMX_APP_WAIT_PM2:
		case AMX_APP_QUERYING:
		case AMX_APP_MANUAL:
		case AMX_APP_VERIFYING:
		case AMX_APP_BACKOFF:
			break; /* look until the deadline */
		case AMX_APP_PARKED:
			say("%s: %s is left as it is: its restart budget is spent", k->h->path, a->name);
			return AMX_EXIT_CHECK_FAILED;
		default: /* RECOVERING cannot last here: each command is waited for */
			say("%s: could not bring %s back", k->h->path, a->name);
			return AMX_EXIT_CHECK_FAILED;
		}
		if (look_at_instances(k->h, a))
			feed(k, a, alive_input(a));
		else if (now_ms() >= a->pol.deadline_ms)
			feed(k, a, (struct amx_input){ .kind = AMX_IN_TICK });
		else
			pause_until(a->pol.deadline_ms);
	}
}

int amx_check_drive_app(struct amx_check_ctx *k, struct amx_app *a, bool home_by_tier2)
{
	struct amx_home *h = k->h;
	if (home_by_tier2) {
		/* The app's incident began with the daemon's death; tier 2 was its first attempt. */
		feed(k, a, (struct amx_input){ .kind = AMX_IN_HOME_DOWN });
		feed(k, a, (struct amx_input){ .kind = AMX_IN_HOME_UP, .by_tier2 = true });
		return settle_app(k, a);
	}
	look_at_instances(h, a);
	unsigned alive = amx_app_instances_alive(a);
	if (alive < a->n_inst) {
		/* The app's status is its worst instance's: one missing is the app not online. */
		if (a->n_inst > 1)
			say("%s: %s is not online: %u of %u instances run", h->path, a->name, alive,
			    a->n_inst);
		else
			say("%s: %s is not online", h->path, a->name);
		feed(k, a, (struct amx_input){ .kind = AMX_IN_ABSENT });
		return settle_app(k, a);
	}
	feed(k, a, alive_input(a));
	long long own = amx_config_home_app_limit(k->o, h->path, a->name);
	int64_t limit = amx_memlimit_for(k->o->memory_limits, k->o->n_memory_limits, a->name,
					 own > 0 ? own : a->max_memory_bytes);
	/* The limit is per instance, as PM2's max_memory_restart: tier 1 restarts only the one
	 * over it (the first found; a later check finds the next). */
	const struct amx_instance *over = NULL;
	uint64_t rss = 0;
	for (unsigned i = 0; i < a->n_inst && !over; i++) {
		rss = amx_proc_rss_bytes(a->inst[i].pid);
		if (rss && (int64_t)rss >= limit)
			over = &a->inst[i];
	}
	if (!over)
		return AMX_EXIT_OK;
	if (a->n_inst > 1 && over->pm_id >= 0) {
		snprintf(a->restart_only, sizeof(a->restart_only), "%d", over->pm_id);
		say("%s: %s instance %d uses %llu MiB, over its limit of %lld MiB", h->path, a->name,
		    over->pm_id, (unsigned long long)(rss >> 20), (long long)(limit >> 20));
	} else {
		say("%s: %s uses %llu MiB, over its limit of %lld MiB", h->path, a->name,
		    (unsigned long long)(rss >> 20), (long long)(limit >> 20));
	}
	feed(k, a, (struct amx_input){ .kind = AMX_IN_UNHEALTHY });
	return settle_app(k, a);
}
