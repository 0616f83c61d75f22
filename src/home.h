/* SPDX-License-Identifier: MIT */
/* The model of one PM2_HOME: who owns it, its God daemon, its desired apps (from
 * dump.pm2, validated, with a last good copy kept in our state directory) and their live
 * pids (from pid files and kernel events, always checked against /proc). */
#ifndef AMX_HOME_H
#define AMX_HOME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dump.h"
#include "policy.h"
#include "spawn.h"

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
	char last_output[512];   /* tail of a failed tier-2 command's output */
	char state_file[4200];   /* where the last good dump is kept */
	char run_prefix[4200];   /* state-dir prefix of the files naming our running commands */
	char budget_file[4200];  /* the restart budgets, kept across restarts (budgetfile.h) */
	int adopted;             /* commands of a previous run still going: wait before acting */
	char *good_raw;          /* its bytes, to put back */
	size_t good_raw_len;
};

/* Set up a home: lstat (a real directory, not a symlink), owner from its uid.
 * false with err filled when unusable. */
bool amx_home_init(struct amx_home *h, const char *path, const char *state_dir, char *err,
		   size_t errlen);
void amx_home_free(struct amx_home *h);

/* Find the PM2 homes of this host: /root/.pm2 and ~/.pm2 of each passwd user that holds
 * dump.pm2 or pm2.pid. Returns how many paths were written (each malloc'd). */
int amx_discover_homes(char **out, int max);

/* Is pid the God daemon of this home (live, cmdline "PM2 vX: God Daemon (<home>)",
 * owned by the home's owner)? */
bool amx_home_is_god(const struct amx_home *h, int pid);
/* Read pm2.pid as the owner; the pid, or 0 when missing/invalid. */
int amx_home_read_god_pid(const struct amx_home *h);
/* Read pids/<file> as the owner; the pid, or 0. */
int amx_home_read_pid_file(const struct amx_home *h, const char *file);

/* Which watched app is pid? Checked through /proc/PID/environ (`name=`), which PM2 sets
 * for every app it forks. NULL when none. */
struct amx_app *amx_home_app_of_pid(struct amx_home *h, int pid);
struct amx_app *amx_home_app_by_name(struct amx_home *h, const char *name);
struct amx_app *amx_home_app_with_pid(struct amx_home *h, int pid);
/* Which app does pids/<file> belong to, by the dump's pm_pid_path (never by rebuilding the
 * file name from the app name: PM2 sanitises it). NULL when none. */
struct amx_app *amx_home_app_by_pid_file(struct amx_home *h, const char *file);

/* dump.pm2 read result. */
struct amx_dump_read {
	int problem;             /* AMX_DUMP_OK, a problem, AMX_DUMP_EMPTIED, or -1000-errno when unreadable */
	bool not_yet;            /* an empty read: PM2 is between O_TRUNC and write() */
	struct amx_dump dump;    /* when OK */
	char *raw;               /* the bytes read (for the good copy) */
	size_t raw_len;
};
void amx_home_read_dump(const struct amx_home *h, struct amx_dump_read *r);
void amx_dump_read_free(struct amx_dump_read *r);
const char *amx_dump_read_problem(const struct amx_dump_read *r);

/* Adopt a good dump: keep a copy in the state dir, and sync the app list with it (apps
 * filtered by `only` when n_only > 0). New apps start UNKNOWN. */
void amx_home_adopt_dump(struct amx_home *h, struct amx_dump_read *r, const char *const *only,
			 int n_only);
/* Load the last good copy from the state dir (start-up when dump.pm2 is bad). */
bool amx_home_load_good_copy(struct amx_home *h, const char *const *only, int n_only);
/* Put the last good copy back as dump.pm2 (as the owner, atomically). */
int amx_home_restore_dump(struct amx_home *h);

bool amx_home_wants_daemon(const struct amx_home *h);

#endif
