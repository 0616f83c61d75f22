/* SPDX-License-Identifier: MIT */
/* The OOM blast radius of a PM2 home run by systemd (issue 15). systemd's default
 * OOMPolicy=stop stops a whole unit when the kernel's OOM killer kills one process in it:
 * for pm2-<user>.service that is every app of the home, not just the victim. Two pure
 * decisions: does a home's unit, as `systemctl show` describes it, call for a warning; and
 * is an app's exit collateral damage of an OOM kill in the same home. */
#ifndef AMX_OOM_BLAST_H
#define AMX_OOM_BLAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An exit this long after an OOM kill in the same home counts as its collateral. systemd
 * stops the unit at once, and `pm2 kill` (the unit's ExecStop) ends the apps within a
 * second or two on a real host; under TCG the same stop took up to ~20 s (docs/systemd.md). */
#define AMX_OOM_COLLATERAL_MS 30000

/* The drop-in that takes the blast away, named by the warning. */
#define AMX_OOM_DROPIN_FMT "/etc/systemd/system/%s.d/oom-policy.conf"

enum amx_oom_policy {
	AMX_OOMPOL_UNKNOWN,    /* no answer, or one we cannot read */
	AMX_OOMPOL_NOT_LOADED, /* no such unit (systemctl show still prints the defaults) */
	AMX_OOMPOL_CONTINUE,
	AMX_OOMPOL_STOP,
	AMX_OOMPOL_KILL,
};

/* The answer of `systemctl show -p LoadState -p OOMPolicy <unit>` (KEY=VALUE lines, in any
 * order; len bytes of untrusted text, at most the first 4 kB looked at). */
enum amx_oom_policy amx_oom_policy_parse(const char *out, size_t len);
/* "continue", "stop", "kill", "not-loaded" or "unknown". */
const char *amx_oom_policy_name(enum amx_oom_policy p);
/* Does this policy take the other apps down with the victim (stop or kill)? */
bool amx_oom_policy_warns(enum amx_oom_policy p);

/* The last OOM kill seen in one home. */
struct amx_oom_mark {
	uint64_t at_ms; /* when its exit was seen; 0: none */
	int pid;
	char app[128];
};

/* Is the exit of pid at now_ms collateral damage of mark's OOM kill: another process than
 * the victim (and not itself an OOM victim), exiting within AMX_OOM_COLLATERAL_MS after it. */
bool amx_oom_collateral(const struct amx_oom_mark *mark, uint64_t now_ms, int pid, bool own_oom);

#endif
