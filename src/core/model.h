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
#include "core/policy.h"
#include "core/ratelimit.h"

/* A user as the passwd database names it: whom a PM2 home's commands run as. */
struct amx_user {
	uid_t uid;
	gid_t gid;
	char name[64];
	char home[4096];   /* from the passwd database; "/" when unknown */
};

struct amx_app {
	char name[AMX_NAME_MAX];
	char pid_file[256];     /* basename of pm_pid_path under pids/, "" when unknown */
	bool desired_online;    /* the dump saved it as running */
	int pid;                /* live pid, 0 when none */
	uint64_t start_ticks;   /* of pid, to tell a reused pid apart */
	uint64_t alive_since_ms;
	int64_t max_memory_bytes;
	int mem_over_pid;        /* memwatch: this pid was reported over its limit */
	/* last exit, for status */
	int last_exit_code;
	int last_signal;
	bool last_oom;
	/* counters */
	unsigned pm2_restarts;
	unsigned recoveries[4];  /* by tier */
	struct amx_app_policy pol;
	int running;             /* index of the command running for it, -1 none */
	bool awaiting_status;
	bool watched;            /* pid is in the kernel's watched set (put there by us) */
	char last_output[512];   /* tail of a failed command's output, for recovery-failed */
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
	bool deferral_said;      /* recovery-deferred was emitted; cleared when a command starts */
	struct amx_bucket file_events; /* events its files cause (dump-changed, dump-invalid) */
	uint64_t unwatched_forks; /* children of its daemon the kernel could not watch */
	uint64_t unwatched_said;  /* how many of them were reported (events-lost) */
	int n_pidfds;             /* its apps followed through a pidfd (not in the watched set) */
	bool unwatched_app_said;  /* an app pid left out of the watched set was reported */
	int unit_query;           /* systemctl is-active command before tier 2, -1 none */
	bool unit_active;         /* its answer: pm2-<owner>.service is active */
	char last_output[512];   /* tail of a failed tier-2 command's output */
	char state_file[4200];   /* where the last good dump is kept */
	char run_prefix[4200];   /* state-dir prefix of the files naming our running commands */
	char budget_file[4200];  /* the restart budgets, kept across restarts (budgetfile.h) */
	int adopted;             /* commands of a previous run still going: wait before acting */
	char *good_raw;          /* its bytes, to put back */
	size_t good_raw_len;
	unsigned good_mode;      /* dump.pm2's permission bits when the good copy was read; 0: unknown */
};

#endif
