/* SPDX-License-Identifier: MIT */
/* The model: a PM2 home (its owner, its God daemon, its desired apps from dump.pm2) and its
 * apps (live pid, last exit, counters, policy state). Plain data, shared by the daemon
 * that keeps it current and the reporting modules that read it (status, metrics); the
 * functions that fill it from files and /proc live in daemon/home.c. */
#ifndef AMX_MODEL_H
#define AMX_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/dump.h"
#include "core/oom_blast.h"
#include "core/policy.h"
#include "core/ratelimit.h"

/* A user as the passwd database names it: whom a PM2 home's commands run as. */
struct amx_user {
	uid_t uid;
	gid_t gid;
	char name[64];
	char home[4096];   /* from the passwd database; "/" when unknown */
};

/* One process of an app: PM2 runs `instances: N` (cluster or fork mode) as N processes,
 * each saved in dump.pm2 as its own entry with its own pid file and NODE_APP_INSTANCE. */
/* At most this many instances of one app are watched (PM2's `-i max` on a 64-CPU host); a
 * dump's further entries of that app are left out, and said once per read. A home's total
 * is bounded by its dump's entries (AMX_DUMP_MAX_APPS): each entry is one instance. */
#define AMX_INSTANCES_MAX 64
/* TCP ports kept per instance and per app: an app serves on a handful; more are counted
 * out (amx_app.ports_dropped), not grown into. */
#define AMX_PORTS_MAX 8
struct amx_instance {
	int pm_id;              /* PM2's id, from pids/<name>-<pm_id>.pid or the process; -1 unknown */
	int node_app_instance;  /* NODE_APP_INSTANCE from the dump; -1 when absent */
	char pid_file[256];     /* basename of pm_pid_path under pids/, "" when unknown */
	int pid;                /* live pid, 0 when none */
	uint64_t start_ticks;   /* of pid, to tell a reused pid apart */
	uint64_t alive_since_ms;
	int mem_over_pid;       /* memwatch: this pid was reported over its limit */
	bool watched;           /* pid is in the kernel's watched set (put there by us) */
	int last_exit_code;
	int last_signal;
	bool last_oom;
	unsigned pm2_restarts;
	/* `pm2 reload`: PM2 started pid while the old process still ran (app_reload.c) */
	int replaced_pid;       /* the old process, until it exits; 0 none */
	uint64_t replaced_start_ticks;
	bool reloaded;          /* replaced since the reload began */
	/* TCP ports pid listens on (IPv4 or IPv6), as the kernel reported them (listen hook)
	 * or /proc showed them; host order, ascending */
	uint16_t ports[AMX_PORTS_MAX];
	uint8_t n_ports;
	bool listened;          /* pid listened at some point of this life (ports may be 0 now) */
	/* Ports pid stopped listening on while it lived, with when (boot ms): a graceful
	 * shutdown closes its server just before it exits, and those ports are still wanted
	 * from the next life; one closed long before is not (daemon/listen.c). */
	uint16_t closed_ports[AMX_PORTS_MAX];
	uint64_t closed_at_ms[AMX_PORTS_MAX];
	uint8_t n_closed;
	/* no BPF: poll /proc for pid's listens until then (boot ms); 0 none */
	uint64_t listen_poll_until_ms;
};

struct amx_app {
	char name[AMX_NAME_MAX];
	bool desired_online;    /* the dump saved it as running */
	bool cluster;           /* exec_mode cluster_mode */
	/* Its instances, in dump order (n_inst >= 1). Most apps have one, held inline in inst_one;
	 * a cluster app's are a heap array of inst_cap (home.c owns both: an app is only ever
	 * built by sync_apps, which points inst at the app's own storage). A whole array of
	 * AMX_INSTANCES_MAX in each app cost 4,096-app dumps tens of MiB. */
	struct amx_instance *inst;
	unsigned n_inst;
	unsigned inst_cap;
	struct amx_instance inst_one;
	/* The lead instance (the first one alive), for what names one pid per app: */
	int pid;                /* live pid, 0 when no instance runs */
	uint64_t start_ticks;   /* of pid, to tell a reused pid apart */
	uint64_t alive_since_ms;
	int64_t max_memory_bytes;
	char restart_only[16];      /* tier 1's next run restarts only this pm_id, "" the app */
	uint64_t reload_started_ms; /* a rolling `pm2 reload` runs since then; 0 none */
	bool reload_gap;            /* at some point of it no instance ran */
	bool reload_unserved;       /* at an old process's exit the live ones did not listen on
				     * every port the app serves on */
	/* last exit of any instance, for status */
	int last_exit_code;
	int last_signal;
	bool last_oom;
	char last_cause[12];     /* its amexbpf.cause (exit, crash, killed, oom, pm2, amexbpf); "" unknown */
	bool restart_asked;      /* amexbpf found it unhealthy (memory, probe): its next death is ours */
	/* counters */
	unsigned pm2_restarts;
	unsigned recoveries[4];  /* by tier */
	struct amx_app_policy pol;
	int running;             /* index of the command running for it, -1 none */
	bool awaiting_status;
	uint64_t conflict_check_ms; /* look at the error log for a port conflict then; 0 none */
	char last_output[512];   /* tail of a failed command's output, for recovery-failed */
	/* The ports the app served on in its last life that listened (the union over its
	 * instances; ephemeral ones left out): a new pid serves again once they are all
	 * listened on again. Empty: it never listened, and a live pid is all we check. */
	uint16_t want_ports[AMX_PORTS_MAX];
	uint8_t n_want_ports;
	unsigned ports_dropped;  /* ports past AMX_PORTS_MAX, not kept */
};

/* Where a home's pm2 and node were found, in the order they are tried. */
enum amx_tools_source {
	AMX_TOOLS_NONE,       /* nothing found: the home is skipped until its daemon runs */
	AMX_TOOLS_CONFIG,     /* [home PATH] pm2 = / node = */
	AMX_TOOLS_DAEMON,     /* learned from the running God daemon */
	AMX_TOOLS_REMEMBERED, /* learned from an earlier daemon, kept in the state directory */
	AMX_TOOLS_OPTION,     /* --pm2 */
	AMX_TOOLS_PATH,       /* amexbpf's own PATH */
};

/* What a stat of a file said, to tell that it changed (replaced, rewritten) cheaply. */
struct amx_file_print {
	uint64_t dev, ino, size;
	int64_t mtime_ns;
	bool exists;
};

/* The pm2 and node a home's commands run with (as its owner, never as root). */
struct amx_toolchain {
	char pm2[1024];
	char node[1024];   /* "" when unknown: the child then looks for node on its PATH */
	char version[32];  /* pm2's package.json version, "" when unknown */
	enum amx_tools_source source;
};

/* A good dump being matched to a home's apps, a part per loop step (daemon/home_sync.c):
 * the new apps built so far (their identity only), the next dump entry, each new app's old
 * index (-1: new) and the two name indices (a slot holds index + 1). */
struct amx_home_sync {
	bool active;
	struct amx_app *apps;
	size_t n, next, left_out;
	int *old;
	uint32_t *new_ix, *old_ix;
	size_t new_mask, old_mask;
};

struct amx_home {
	char path[4096];
	struct amx_user owner;
	int god_pid;             /* 0 when down */
	uint64_t god_start_ticks;
	struct amx_dump good;    /* last good dump (desired state) */
	bool have_good;
	bool dump_valid;         /* dump.pm2 as it is now */
	char dump_problem[32];
	struct amx_app *apps;
	size_t n_apps;
	struct amx_home_policy pol;
	int running;             /* tier-2 command, -1 none */
	int status_query;        /* jlist command, -1 none */
	uint64_t conflict_lookup_ms; /* the last search for a port's holder (daemon/conflict.c) */
	struct amx_bucket file_events; /* events its files cause (dump-changed, dump-invalid) */
	/* What reading its dump.pm2 costs the loop is the owner's to choose (up to 16 MB):
	 * after a read that took T ms the next waits until dump_not_before_ms (9 T later),
	 * so one home's rewrites hold the loop at most a tenth of the time. */
	uint64_t dump_not_before_ms;
	bool dump_pending; /* a change came in meanwhile: read it then */
	/* An adopted dump is matched to the apps, then its apps go to their policies, a part
	 * per loop step (daemon/dumpread.c): the phase and the next app. */
	struct amx_home_sync sync;
	uint8_t dump_feed_phase;
	bool dump_feed_unknown;  /* phase 1 met a name the model did not know */
	size_t dump_feed_next;
	uint64_t unwatched_forks; /* children of its daemon the kernel could not watch */
	uint64_t unwatched_said;  /* how many of them were taken into unwatched_fold */
	struct amx_fold unwatched_fold; /* ... and said once per window (events-lost) */
	int n_pidfds;             /* its apps followed through a pidfd (not in the watched set) */
	bool unwatched_app_said;  /* an app pid left out of the watched set was reported */
	int unit_query;           /* systemctl is-active command before tier 2, -1 none */
	bool unit_active;         /* its answer: pm2-<owner>.service is active */
	int oom_query;            /* systemctl show -p OOMPolicy command, -1 none */
	bool oom_policy_known;    /* the unit was found and its OOMPolicy read: not asked again */
	struct amx_oom_mark oom_mark; /* its last OOM kill: later exits are collateral (oom_blast.h) */
	char last_output[512];   /* tail of a failed tier-2 command's output */
	char state_file[4200];   /* where the last good dump is kept */
	char run_prefix[4200];   /* state-dir prefix of the files naming our running commands */
	char budget_file[4200];  /* the restart budgets, kept across restarts (budgetfile.h) */
	int adopted;             /* commands of a previous run still going: wait before acting */
	struct amx_toolchain tools;   /* what the home's commands run with */
	struct amx_toolchain learned; /* from its God daemon (now or remembered) */
	char god_version[32];    /* "7.0.4" from the daemon's title, "" when unknown */
	char tools_file[4200];   /* where `learned` is kept */
	/* The periodic drift check (daemon/drift.c): tools.pm2 and tools.node when last looked
	 * at (their versions are read again only when these change), when it is due, and the
	 * pm2-drift said for the running daemon (the same one is not said again). */
	struct amx_file_print pm2_print, node_print;
	bool printed;
	uint64_t drift_due_ms;
	char drift_said[1200];
	char *good_raw;          /* its bytes, to put back */
	size_t good_raw_len;
	unsigned good_mode;      /* dump.pm2's permission bits when the good copy was read; 0: unknown */
};

/* Add port to a sorted set of at most AMX_PORTS_MAX; false when it was full. */
static inline bool amx_ports_add(uint16_t *set, uint8_t *n, uint16_t port)
{
	unsigned i = 0;
	while (i < *n && set[i] < port)
		i++;
	if (i < *n && set[i] == port)
		return true;
	if (*n >= AMX_PORTS_MAX)
		return false;
	for (unsigned k = *n; k > i; k--)
		set[k] = set[k - 1];
	set[i] = port;
	(*n)++;
	return true;
}

/* Take port out of a set (sorted or not, order kept); false when it was not in it. */
static inline bool amx_ports_remove(uint16_t *set, uint8_t *n, uint16_t port)
{
	for (unsigned i = 0; i < *n; i++)
		if (set[i] == port) {
			for (unsigned k = i + 1; k < *n; k++)
				set[k - 1] = set[k];
			(*n)--;
			return true;
		}
	return false;
}

static inline bool amx_ports_has(const uint16_t *set, uint8_t n, uint16_t port)
{
	for (unsigned i = 0; i < n; i++)
		if (set[i] == port)
			return true;
	return false;
}

/* Every port the app served on before is listened on now by one of its live instances. */
static inline bool amx_app_serving(const struct amx_app *a)
{
	if (!a->n_want_ports)
		return false;
	for (unsigned w = 0; w < a->n_want_ports; w++) {
		bool found = false;
		for (unsigned i = 0; i < a->n_inst && !found; i++)
			found = a->inst[i].pid && amx_ports_has(a->inst[i].ports, a->inst[i].n_ports,
								a->want_ports[w]);
		if (!found)
			return false;
	}
	return true;
}

/* Instances running now. */
static inline unsigned amx_app_instances_alive(const struct amx_app *a)
{
	unsigned n = 0;
	for (unsigned i = 0; i < a->n_inst; i++)
		n += a->inst[i].pid != 0;
	return n;
}

/* After an instance changed: the app's pid is that of its first live instance. */
static inline void amx_app_refresh_lead(struct amx_app *a)
{
	a->pid = 0;
	a->start_ticks = 0;
	a->alive_since_ms = 0;
	for (unsigned i = 0; i < a->n_inst; i++) {
		if (a->inst[i].pid) {
			a->pid = a->inst[i].pid;
			a->start_ticks = a->inst[i].start_ticks;
			a->alive_since_ms = a->inst[i].alive_since_ms;
			return;
		}
	}
}

#endif
