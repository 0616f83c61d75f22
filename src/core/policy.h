/* SPDX-License-Identifier: MIT */
/* The recovery policy: a pure state machine. Inputs (what was seen, and the clock) go in,
 * actions (what to run, what to report) come out. No I/O, no clock reads, no randomness
 * of its own: the caller passes now_ms (CLOCK_BOOTTIME in ms) and a random word for jitter.
 *
 * Two machines: one per PM2 home (the God daemon, tier 2) and one per watched app
 * (tiers 1 and 3). The daemon glues them: when the home machine reports the daemon down
 * or up, the daemon feeds AMX_IN_HOME_DOWN / AMX_IN_HOME_UP to each app of that home.
 *
 * Tiers: 1 = `pm2 restart <app>`, 2 = `pm2 resurrect` (daemon down),
 *        3 = `pm2 start <ecosystem> --env production --only <app>`.
 */
#ifndef AMX_POLICY_H
#define AMX_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "core/port_conflict.h"

struct amx_policy_config {
	uint64_t grace_ms;         /* wait for PM2's own restart after an exit (default 2000) */
	uint64_t manual_grace_ms;  /* honour `pm2 stop` / `pm2 kill` this long (default 300000); 0 = recover at once */
	uint64_t verify_ms;        /* after a tier command succeeded, wait this long for a live pid (default 15000) */
	unsigned budget_attempts;  /* at most this many attempts ... (default 5) */
	uint64_t budget_window_ms; /* ... within this window (default 600000) */
	uint64_t backoff_base_ms;  /* delay before the 2nd attempt of an incident (default 1000), doubling */
	uint64_t backoff_max_ms;   /* cap (default 60000) */
	bool have_ecosystem;       /* tier 3 possible for this app */
};
void amx_policy_config_defaults(struct amx_policy_config *c);

/* A tier that could not start for want of a command slot is tried again this much later. */
#define AMX_DEFER_RETRY_MS 1000

enum amx_input_kind {
	AMX_IN_TICK = 1,     /* time passed; act on expired deadlines */
	AMX_IN_EXITED,       /* app: the watched process died. home: not used */
	AMX_IN_ABSENT,       /* app: not running when first seen (start-up, rescan, dump change) */
	AMX_IN_ALIVE,        /* app: a new live pid. home: the God daemon is alive (pid) */
	AMX_IN_STATUS,       /* app: PM2's status after a query (status field) */
	AMX_IN_ACTION_DONE,  /* a tier command finished: ok, or failed with reason */
	AMX_IN_DAEMON_DOWN,  /* home: God died; intentional = pm2.pid was removed (pm2 kill, SIGTERM) */
	AMX_IN_HOME_DOWN,    /* app: its home's daemon is down; the home machine is in charge */
	AMX_IN_HOME_UP,      /* app: its home's daemon is back; by_tier2 = tier 2 brought it */
	AMX_IN_DESIRED,      /* app: dump.pm2 says desired_online (false: a saved stop) */
	AMX_IN_UNHEALTHY,    /* app: alive but unhealthy (over its memory limit, its probe
			      * failing): tier 1 at once, like an errored app, within the budget.
			      * Ignored unless the app is ALIVE (an incident already runs). */
	AMX_IN_SERVING,      /* app: its live pid now listens on every TCP port the app listened
			      * on before it died (pid): it serves again */
	AMX_IN_PORT_CONFLICT,/* app: its port (port) is held by holder_pid, of kind holder;
			      * AMX_HOLDER_NONE answers AMX_ACT_CHECK_PORT when the port is free */
};

/* PM2's answer to a status query. */
enum amx_pm2_status {
	AMX_PM2_ONLINE = 1,   /* the caller has already fed ALIVE if it found the pid */
	AMX_PM2_STOPPED,      /* stopped on purpose (pm2 stop) */
	AMX_PM2_MISSING,      /* not in PM2's list (pm2 delete): also on purpose */
	AMX_PM2_ERRORED,      /* PM2 gave up */
	AMX_PM2_TRANSIENT,    /* launching, stopping, waiting restart: ask again later */
	AMX_PM2_UNKNOWN,      /* the query failed */
};

struct amx_input {
	enum amx_input_kind kind;
	uint64_t now_ms;
	uint32_t rand;            /* for jitter */
	int pid;                  /* ALIVE; EXITED: the pid that exited */
	unsigned instances_alive; /* ALIVE: instances of the app running now (pid's included) */
	unsigned instances_wanted;/* ALIVE: instances saved in the dump; 0 or 1 = a single process */
	/* ALIVE: the app listened before it died and pid does not listen on those ports yet:
	 * it is back only once it does (AMX_IN_SERVING), within verify_ms of this pid. */
	bool must_listen;
	bool serving;             /* ALIVE: the app listened before and pid already does again */
	enum amx_pm2_status status; /* STATUS */
	bool ok;                  /* ACTION_DONE */
	bool deferred;            /* ACTION_DONE: the tier could not start (no command slot): not
				   * an attempt (the budget gets it back); it is tried again after
				   * AMX_DEFER_RETRY_MS, with its RECOVERY_STARTED and RUN_TIER again
				   * (the caller says RECOVERY_STARTED only once the command starts) */
	const char *reason;       /* ACTION_DONE when !ok: "exit status 1", "timed out after 30 s" (copied) */
	bool intentional;         /* DAEMON_DOWN */
	bool by_tier2;            /* HOME_UP */
	bool desired_online;      /* DESIRED */
	bool alive;               /* DESIRED: is it running now */
	bool dump_valid;          /* DAEMON_DOWN / TICK on a home: is dump.pm2 valid now */
	uint16_t port;            /* PORT_CONFLICT */
	int holder_pid;           /* PORT_CONFLICT */
	enum amx_holder_kind holder; /* PORT_CONFLICT */
};

enum amx_action_kind {
	AMX_ACT_NONE = 0,
	AMX_ACT_QUERY_STATUS,  /* app: ask PM2 for its status; answer with AMX_IN_STATUS */
	AMX_ACT_RUN_TIER,      /* run tier (1, 2 or 3); answer with AMX_IN_ACTION_DONE */
	AMX_ACT_EMIT,          /* report an event */
	AMX_ACT_STOP_HOLDER,   /* app: stop holder_pid, an orphaned copy of the app on its port */
	AMX_ACT_CHECK_PORT,    /* app: who holds port now; answer with AMX_IN_PORT_CONFLICT */
};

enum amx_emit_kind {
	AMX_EMIT_PM2_RESTARTED_APP = 1, /* ms = time from exit to new pid */
	AMX_EMIT_APP_STOPPED,           /* intentional stop seen (or missing: deleted) */
	AMX_EMIT_APP_ERRORED,           /* PM2 gave up */
	AMX_EMIT_DAEMON_DOWN_NO_APPS,   /* home: daemon down, nothing desired online: no action */
	AMX_EMIT_RECOVERY_STARTED,      /* tier, attempt, backoff_ms, deferred_ms, retry; always just
					 * before its RUN_TIER */
	AMX_EMIT_RECOVERY_SUCCEEDED,    /* tier, attempt, ms = duration since the tier started, pid */
	AMX_EMIT_RECOVERY_FAILED,       /* tier, attempt, reason */
	AMX_EMIT_RECOVERY_PARKED,       /* attempts, window_ms, ms = until the park lifts */
	AMX_EMIT_NO_ECOSYSTEM,          /* tier 3 would be next but no ecosystem file is configured */
	AMX_EMIT_PORT_CONFLICT,         /* port, holder_pid, holder; parked: recovery parks for it */
};

/* Whether a recovered app serves again (RECOVERY_SUCCEEDED, PM2_RESTARTED_APP). */
enum amx_serving {
	AMX_SERVING_UNKNOWN = 0, /* it never listened: a live pid is all there is to check */
	AMX_SERVING_YES,         /* its new pid listens on every port it listened on before */
	AMX_SERVING_NO,          /* it did not within verify_ms (PM2's restart only: a tier's
				  * is a failed attempt instead) */
};

struct amx_action {
	enum amx_action_kind kind;
	enum amx_serving serving; /* RECOVERY_SUCCEEDED, PM2_RESTARTED_APP */
	enum amx_emit_kind emit;  /* EMIT */
	int tier;                 /* RUN_TIER, RECOVERY_* */
	int attempt;              /* 1-based within the current incident */
	uint64_t backoff_ms;      /* RECOVERY_STARTED: the delay waited before this attempt */
	uint64_t deferred_ms;     /* RECOVERY_STARTED: then waited for a command slot */
	bool retry;               /* RUN_TIER, RECOVERY_STARTED: this attempt waited for a command
				   * slot before (its deferral was said already) */
	uint64_t ms;              /* see amx_emit_kind */
	int pid;                  /* RECOVERY_SUCCEEDED */
	bool restore_dump;        /* RUN_TIER 2: put the last good dump.pm2 back first */
	bool intentional;         /* APP_STOPPED: always true; MISSING sets deleted */
	bool deleted;             /* APP_STOPPED because the app is not in PM2's list */
	unsigned budget_attempts; /* RECOVERY_PARKED */
	uint64_t budget_window_ms;/* RECOVERY_PARKED */
	char reason[128];         /* RECOVERY_FAILED; RECOVERY_PARKED: "port-conflict" or "" (budget) */
	uint16_t port;            /* PORT_CONFLICT, STOP_HOLDER, CHECK_PORT, RECOVERY_PARKED */
	int holder_pid;           /* PORT_CONFLICT, STOP_HOLDER */
	enum amx_holder_kind holder; /* PORT_CONFLICT */
};

#define AMX_MAX_ACTIONS 6
struct amx_actions {
	int n;
	struct amx_action a[AMX_MAX_ACTIONS];
};

/* The restart budget: timestamps of recent attempts (a ring, oldest first). */
#define AMX_BUDGET_MAX 64
struct amx_budget {
	uint64_t at_ms[AMX_BUDGET_MAX];
	unsigned n;
};

enum amx_app_state {
	AMX_APP_UNKNOWN = 0,
	AMX_APP_ALIVE,
	AMX_APP_WAIT_PM2,      /* exited; waiting grace_ms for PM2's own restart */
	AMX_APP_QUERYING,      /* asked PM2 for the status */
	AMX_APP_MANUAL,        /* stopped on purpose; waiting manual_grace_ms */
	AMX_APP_RECOVERING,    /* a tier command runs */
	AMX_APP_VERIFYING,     /* it finished fine; waiting verify_ms for a live pid */
	AMX_APP_BACKOFF,       /* waiting before the next attempt */
	AMX_APP_PARKED,        /* budget spent; until the window frees an attempt or it is seen alive */
	AMX_APP_DESIRED_STOPPED, /* dump says stopped: nothing to do */
	AMX_APP_HOME_DOWN,     /* the daemon is down: the home machine is in charge */
	AMX_APP_AWAIT_LISTEN,  /* a new pid runs; waiting verify_ms for it to listen on the
				* app's ports (the app listened before it died) */
};

struct amx_app_policy {
	enum amx_app_state state;
	uint64_t deadline_ms;     /* 0 = none */
	uint64_t exited_at_ms;    /* start of the incident */
	uint64_t tier_started_ms;
	int tier;                 /* current or last tier */
	int attempt;              /* attempts in this incident */
	int next_tier;            /* BACKOFF/PARKED: what runs at the deadline */
	int requeries;            /* TRANSIENT answers in a row */
	bool deferred;            /* BACKOFF: this attempt found no command slot; tried again */
	uint64_t try_waited_ms;   /* the backoff before the current attempt, and when it was */
	uint64_t tried_ms;        /* first tried: a deferred retry reports both again */
	/* AWAIT_LISTEN: PM2's own restart is awaited (reported as PM2_RESTARTED_APP), not a
	 * tier's; and the pid awaited */
	bool listen_for_pm2;
	int listen_pid;
	bool seen_must_listen;    /* HOME_DOWN: the pid seen alive meanwhile does not listen yet */
	bool seen_serving;        /* HOME_DOWN: ... or listens again on the app's ports */
	struct amx_budget budget;
	/* The last port conflict said (port, holder, when): said once per budget window. */
	uint16_t conflict_port;
	bool conflict_parked;     /* PARKED because another process holds conflict_port */
	int conflict_holder;
	uint64_t conflict_at_ms;
};

/* A park for a port conflict looks at the port again this often (a read of the socket
 * tables, and a walk of /proc while it is held): the holder gone, tier 1 runs at once. */
#define AMX_CONFLICT_RECHECK_MS 10000

enum amx_home_state {
	AMX_HOME_UNKNOWN = 0,
	AMX_HOME_UP,
	AMX_HOME_DOWN_MANUAL,  /* pm2 kill / SIGTERM: waiting manual_grace_ms */
	AMX_HOME_DOWN_IDLE,    /* down, but no app is desired online */
	AMX_HOME_RECOVERING,   /* tier 2 runs */
	AMX_HOME_VERIFYING,
	AMX_HOME_BACKOFF,
	AMX_HOME_PARKED,
};

struct amx_home_policy {
	enum amx_home_state state;
	uint64_t deadline_ms;
	uint64_t down_at_ms;
	uint64_t tier_started_ms;
	int attempt;
	bool wants_daemon;        /* some watched app is desired online; set by the caller */
	bool dump_valid;          /* set by the caller; decides restore_dump */
	bool deferred;            /* BACKOFF: this attempt found no command slot; tried again */
	uint64_t try_waited_ms;   /* as in amx_app_policy */
	uint64_t tried_ms;
	struct amx_budget budget;
};

void amx_app_policy_init(struct amx_app_policy *p);
void amx_home_policy_init(struct amx_home_policy *p);

/* Feed one input; the actions to take are appended to *out (which the caller zeroes). */
void amx_app_step(struct amx_app_policy *p, const struct amx_policy_config *c,
		  const struct amx_input *in, struct amx_actions *out);
void amx_home_step(struct amx_home_policy *p, const struct amx_policy_config *c,
		   const struct amx_input *in, struct amx_actions *out);

/* For `status` and the events: attempts left in the budget at now_ms. */
unsigned amx_budget_left(const struct amx_budget *b, const struct amx_policy_config *c, uint64_t now_ms);

const char *amx_app_state_name(enum amx_app_state s);
const char *amx_home_state_name(enum amx_home_state s);

#endif
