/* SPDX-License-Identifier: MIT */
/* Tier commands as argv (see tier_command.h). Pure: no I/O, every fact is an argument. */
#include "core/tier_command.h"

#include <stdio.h>
#include <string.h>

static void argv_push(struct amx_argv *a, const char *s)
{
	if (a->n < AMX_ARGV_MAX)
		a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

static void argv_set(struct amx_argv *out, const char *const *words, size_t n)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++)
		argv_push(out, words[i]);
}

bool amx_pm2_argv(struct amx_argv *out, int tier, const char *pm2, const char *app,
		  const char *ecosystem)
{
	bool has_app = app && app[0];

	memset(out, 0, sizeof(*out));
	if (!pm2 || !pm2[0])
		return false;
	argv_push(out, pm2);
	switch (tier) {
	case AMX_TIER_STATUS:
		argv_push(out, "jlist");
		return true;
	case 1:
		if (!has_app)
			return false;
		argv_push(out, "restart");
		argv_push(out, app);
		return true;
	case 2:
		argv_push(out, "resurrect");
		return true;
	case 3:
		if (!has_app || !ecosystem || !ecosystem[0])
			return false;
		argv_push(out, "start");
		argv_push(out, ecosystem);
		argv_push(out, "--env");
		argv_push(out, "production");
		argv_push(out, "--only");
		argv_push(out, app);
		return true;
	default:
		return false;
	}
}

bool amx_tier2_use_systemd(bool systemd_booted, bool unit_active)
{
	return systemd_booted && unit_active;
}

/* A user name goes into a unit name: only the portable characters, anything else is
 * refused rather than put there (and such a user has no pm2-<user>.service anyway). */
static bool portable_user_name(const char *name)
{
	if (!name || !name[0])
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.'))
			return false;
	return true;
}

static bool fits(int n, size_t len)
{
	return n > 0 && (size_t)n < len;
}

bool amx_pm2_unit_name(const char *user, char *buf, size_t len)
{
	if (len)
		buf[0] = '\0';
	return portable_user_name(user) && fits(snprintf(buf, len, "pm2-%s.service", user), len);
}

void amx_unit_active_argv(struct amx_argv *out, const char *unit)
{
	const char *v[] = { AMX_SYSTEMCTL, "is-active", unit };

	argv_set(out, v, sizeof(v) / sizeof(v[0]));
}

bool amx_unit_state_is_systemds(bool exit_ok, const char *out, size_t len)
{
	static const char *const busy[] = { "active", "activating", "deactivating", "reloading" };

	if (exit_ok)
		return true;
	if (!out)
		return false;
	size_t n = 0;
	while (n < len && n < 32 && out[n] != '\n' && out[n] != '\0')
		n++;
	for (size_t i = 0; i < sizeof(busy) / sizeof(busy[0]); i++)
		if (n == strlen(busy[i]) && !strncmp(out, busy[i], n))
			return true;
	return false;
}

void amx_oom_policy_argv(struct amx_argv *out, const char *unit)
{
	const char *v[] = { AMX_SYSTEMCTL, "show", "-p", "LoadState", "-p", "OOMPolicy", unit };

	argv_set(out, v, sizeof(v) / sizeof(v[0]));
}

/* --setenv=PATH= with node's directory first, "" when node is unknown; false when too long. */
static bool sdrun_path(char *buf, size_t len, const char *node)
{
	const char *slash = node && node[0] == '/' ? strrchr(node, '/') : NULL;
	int dlen = slash ? (int)(slash - node) : 0;

	buf[0] = '\0';
	if (!slash)
		return true;
	return fits(snprintf(buf, len, "--setenv=PATH=%.*s:/usr/local/bin:/usr/bin:/bin",
			     dlen ? dlen : 1, node), len);
}

bool amx_sdrun_tier2_argv(struct amx_argv *out, struct amx_sdrun_buf *b, const char *pm2,
			  const char *node, const struct amx_user *owner, const char *pm2_home)
{
	if (!portable_user_name(owner->name) || !pm2 || !pm2[0] || !pm2_home ||
	    !fits(snprintf(b->unit, sizeof(b->unit), "--unit=amexbpf-pm2-%s", owner->name), sizeof(b->unit)) ||
	    !fits(snprintf(b->uid, sizeof(b->uid), "--uid=%u", (unsigned)owner->uid), sizeof(b->uid)) ||
	    !fits(snprintf(b->gid, sizeof(b->gid), "--gid=%u", (unsigned)owner->gid), sizeof(b->gid)) ||
	    !fits(snprintf(b->pm2_home, sizeof(b->pm2_home), "--setenv=PM2_HOME=%s", pm2_home), sizeof(b->pm2_home)) ||
	    !fits(snprintf(b->home, sizeof(b->home), "--setenv=HOME=%s", owner->home), sizeof(b->home)) ||
	    !fits(snprintf(b->pidfile, sizeof(b->pidfile), "--property=PIDFile=%s/pm2.pid", pm2_home), sizeof(b->pidfile)) ||
	    !sdrun_path(b->path, sizeof(b->path), node))
		return false;
	const char *v[] = { AMX_SYSTEMD_RUN, "--quiet", "--collect", b->unit, b->uid, b->gid,
			    b->pm2_home, b->home, "--property=Type=forking", b->pidfile };
	_Static_assert(sizeof(v) / sizeof(v[0]) + 3 <= AMX_ARGV_MAX, "argv too long");
	argv_set(out, v, sizeof(v) / sizeof(v[0]));
	if (b->path[0])
		argv_push(out, b->path);
	argv_push(out, pm2);
	argv_push(out, "resurrect");
	return true;
}

/* Tier 2 under systemd: the owner's own unit when it runs PM2, else a transient one. false
 * when neither can be built (an odd user name): then plain `pm2 resurrect`. */
/* The owner's active PM2 unit restarted: the unit names its own pm2, so none is needed
 * here (the systemd bed's home had none amexbpf could find, and its tier 2 had no command). */
static bool tier2_unit_restart(struct amx_tier_command *cmd, const struct amx_tier_facts *f)
{
	if (!amx_tier2_use_systemd(f->systemd_booted, f->unit_active) ||
	    !amx_pm2_unit_name(f->owner->name, cmd->unit, sizeof(cmd->unit)))
		return false;
	const char *v[] = { AMX_SYSTEMCTL, "restart", cmd->unit };

	argv_set(&cmd->argv, v, sizeof(v) / sizeof(v[0]));
	return true;
}

bool amx_tier_command(struct amx_tier_command *cmd, int tier, const struct amx_tier_facts *f)
{
	memset(&cmd->argv, 0, sizeof(cmd->argv));
	cmd->as_root = false;
	cmd->unit[0] = '\0';
	if (!f)
		return false;
	bool sd = tier == 2 && f->systemd_booted && f->owner;
	if (sd && tier2_unit_restart(cmd, f)) {
		cmd->as_root = true;
		return true;
	}
	if (!f->pm2 || !f->pm2[0])
		return false;
	/* No unit of its own: a transient one, outside our cgroup and our sandbox. */
	if (sd && amx_sdrun_tier2_argv(&cmd->argv, &cmd->sdrun, f->pm2, f->node, f->owner,
				       f->pm2_home)) {
		cmd->as_root = true;
		return true;
	}
	/* PM2 takes an id where it takes a name: one instance of an app of several. */
	const char *app = tier == 1 && f->instance && f->instance[0] ? f->instance : f->app;
	if (!amx_pm2_argv(&cmd->argv, tier, f->pm2, app, f->ecosystem))
		return false;
	cmd->argv.node = f->node && f->node[0] ? f->node : NULL;
	return true;
}

/* How bad one status is, to answer for an app of several instances by its worst one. */
static int status_rank(enum amx_app_status s)
{
	switch (s) {
	case AMX_ST_ONLINE:
		return 0;
	case AMX_ST_ERRORED:
		return 3;
	case AMX_ST_STOPPED:
		return 2;
	default:
		return 1;
	}
}

enum amx_pm2_status amx_jlist_status(const struct amx_dump *list, const char *app, bool pid_known)
{
	const struct amx_dump_app *j = NULL;

	if (!list)
		return AMX_PM2_UNKNOWN;
	/* jlist has one entry per instance: one errored worker makes the app errored. */
	for (size_t i = 0; app && i < list->n_apps; i++)
		if (!strcmp(list->apps[i].name, app) &&
		    (!j || status_rank(list->apps[i].status) > status_rank(j->status)))
			j = &list->apps[i];
	if (!j)
		return AMX_PM2_MISSING;
	switch (j->status) {
	case AMX_ST_ONLINE:
		return pid_known ? AMX_PM2_ONLINE : AMX_PM2_TRANSIENT;
	case AMX_ST_STOPPED:
		return AMX_PM2_STOPPED;
	case AMX_ST_ERRORED:
		return AMX_PM2_ERRORED;
	default:
		return AMX_PM2_TRANSIENT;
	}
}

const char *amx_tools_source_name(enum amx_tools_source s)
{
	switch (s) {
	case AMX_TOOLS_CONFIG: return "config";
	case AMX_TOOLS_DAEMON: return "daemon";
	case AMX_TOOLS_REMEMBERED: return "remembered";
	case AMX_TOOLS_OPTION: return "option";
	case AMX_TOOLS_PATH: return "path";
	default: return "none";
	}
}
