/* SPDX-License-Identifier: MIT */
/* The one place that turns a policy action into a command line: tier 1, 2 or 3 of the
 * recovery (core/policy.h), or the status query. Pure: every fact it decides on (is systemd
 * the init, is the owner's pm2 unit active, which pm2, whose home, which ecosystem file) is
 * an input, found by the caller (src/sys/systemd.h for the systemd facts). The daemon and
 * `amexbpf check` both build their commands here, so they cannot disagree.
 *
 *   status  <pm2> jlist
 *   tier 1  <pm2> restart <app>
 *           <pm2> restart <pm_id>                   (one instance over its memory limit)
 *   tier 2  systemctl restart pm2-<user>.service   (systemd runs PM2 for the owner: the
 *                                                   unit is active)
 *           systemd-run ... <pm2> resurrect         (systemd is the init, no such unit: a
 *                                                   transient unit, outside our cgroup)
 *           <pm2> resurrect                         (no systemd)
 *   tier 3  <pm2> start <ecosystem> --env production --only <app>
 *
 * An app name is always one argv word, whatever it holds: argv goes to execve, never a shell. */
#ifndef AMX_TIER_COMMAND_H
#define AMX_TIER_COMMAND_H

#include <stdbool.h>
#include <stddef.h>

#include "core/dump.h"
#include "core/model.h" /* struct amx_user */
#include "core/policy.h"

#define AMX_ARGV_MAX 14
/* An argv that owns nothing: pointers into caller strings (and string literals). */
struct amx_argv {
	const char *v[AMX_ARGV_MAX + 1]; /* NULL-terminated */
	int n;
	const char *node; /* the node that runs this pm2, NULL when unknown: its directory goes
			   * first on the child's PATH, so "#!/usr/bin/env node" finds it */
};

#define AMX_TIER_STATUS 0 /* pass as tier to get the `jlist` command */

#define AMX_SYSTEMCTL "/usr/bin/systemctl"
#define AMX_SYSTEMD_RUN "/usr/bin/systemd-run"

/* What a command depends on. Strings are borrowed: the built argv points into them. */
struct amx_tier_facts {
	const char *pm2;              /* absolute path of the pm2 executable */
	const char *node;             /* the node that runs it (NULL: unknown), see amx_argv */
	const struct amx_user *owner; /* the PM2_HOME's owner: whom pm2 runs as */
	const char *pm2_home;
	const char *app;              /* tiers 1 and 3 */
	const char *instance;         /* tier 1: PM2's id of the one instance to restart (its
				       * memory limit), NULL for the whole app */
	const char *ecosystem;        /* tier 3; NULL when none is configured */
	bool systemd_booted;          /* tier 2: systemd is the init */
	bool unit_active;             /* tier 2: pm2-<owner>.service is active */
};

/* Strings the systemd-run argv is made of; keep it alive as long as the argv. */
struct amx_sdrun_buf {
	char unit[128], uid[32], gid[32], pm2_home[4200], home[4200], pidfile[4200], path[1200];
};

/* A command ready to spawn. */
struct amx_tier_command {
	struct amx_argv argv;     /* points into the facts' strings and into the buffers below */
	bool as_root;             /* systemctl and systemd-run talk to systemd as root and name
				   * the owner themselves; pm2 runs as the owner */
	char unit[128];           /* tier 2 through systemctl: the unit */
	struct amx_sdrun_buf sdrun;
};

/* Build the command of tier (AMX_TIER_STATUS, 1, 2 or 3) from the facts. false when the tier
 * needs something missing: tier 1 or 3 without an app, tier 3 without an ecosystem file, no
 * pm2, an unknown tier. The command must not be copied (its argv points into itself). */
bool amx_tier_command(struct amx_tier_command *cmd, int tier, const struct amx_tier_facts *f);

/* The status query's answer for one app, by its worst instance (errored, then stopped, then
 * between states, then online): list is the parsed `pm2 jlist` output (NULL when the
 * query failed or did not parse: UNKNOWN). Not in the list: MISSING (deleted). Online counts
 * only when the caller knows the app's live pid (pid_known, after looking at the pid PM2
 * names): else PM2 is between states (TRANSIENT), as for launching or waiting restart. */
enum amx_pm2_status amx_jlist_status(const struct amx_dump *list, const char *app, bool pid_known);

/* Where a home's pm2 came from (struct amx_toolchain): "config", "daemon", "remembered",
 * "option", "path" or "none". */
const char *amx_tools_source_name(enum amx_tools_source s);

/* The pieces, for callers and tests. */

/* The plain pm2 command of a tier (no systemd): see the table above. */
bool amx_pm2_argv(struct amx_argv *out, int tier, const char *pm2, const char *app,
		  const char *ecosystem);
/* Tier 2 restarts the owner's unit only when systemd runs (booted) and the unit is active:
 * `pm2 resurrect` next to it would race systemd and start a daemon in our own cgroup. */
bool amx_tier2_use_systemd(bool systemd_booted, bool unit_active);
/* "pm2-<user>.service", the unit `pm2 startup systemd` installs. false when the user name
 * is not a portable one (letters, digits, '_', '-', '.') or does not fit: no such unit. */
bool amx_pm2_unit_name(const char *user, char *buf, size_t len);
/* systemctl is-active <unit>: the question whose answer is facts.unit_active. */
void amx_unit_active_argv(struct amx_argv *out, const char *unit);
/* Its answer (exit status 0, and the state it printed): does systemd run PM2 for the owner
 * now? Active, or on its way through Restart= by itself: the systemd bed showed that when
 * the PM2 daemon is SIGKILLed, systemd restarts pm2-<user>.service on its own
 * (Restart=on-failure), and the unit reads "deactivating" or "activating", not active,
 * when amexbpf asks; a transient `pm2 resurrect` of ours then raced systemd's. So those
 * states (and reloading) count as the unit's: tier 2 restarts the unit. */
bool amx_unit_state_is_systemds(bool exit_ok, const char *out, size_t len);
/* systemctl show -p LoadState -p OOMPolicy <unit>: what the unit does when the OOM killer
 * kills one of its processes (core/oom_blast.h reads the answer). */
void amx_oom_policy_argv(struct amx_argv *out, const char *unit);
/* systemd-run --quiet --collect --unit=amexbpf-pm2-<user> --uid= --gid=
 *   --setenv=PM2_HOME= --setenv=HOME= --property=Type=forking --property=PIDFile=<home>/pm2.pid
 *   [--setenv=PATH=<dir of node>:/usr/local/bin:/usr/bin:/bin] <pm2> resurrect
 * (the PATH only when node is known: systemd's own has no nvm node). false when the user
 * name is not portable or a path does not fit. Run it as root. */
bool amx_sdrun_tier2_argv(struct amx_argv *out, struct amx_sdrun_buf *b, const char *pm2,
			  const char *node, const struct amx_user *owner, const char *pm2_home);

#endif
