/* SPDX-License-Identifier: MIT */
/* Filling the model of one PM2_HOME (core/model.h) from its files and /proc: its owner, its
 * God daemon, its desired apps (from dump.pm2, validated, with a last good copy kept in our
 * state directory) and their live pids (from pid files and kernel events). */
#ifndef AMX_HOME_H
#define AMX_HOME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/model.h"
#include "sys/spawn.h"

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

/* Which watched app and instance is pid? Checked through /proc/PID/environ: `name=`,
 * `pm_pid_path=` and `NODE_APP_INSTANCE=` in fork mode, the same keys inside `pm2_env=`
 * for a cluster worker. NULL when none; *app is set when an instance is returned. */
struct amx_instance *amx_home_instance_of_pid(struct amx_home *h, int pid, struct amx_app **app);
struct amx_app *amx_home_app_of_pid(struct amx_home *h, int pid);
struct amx_app *amx_home_app_by_name(struct amx_home *h, const char *name);
/* The instance we know as having pid now. */
struct amx_instance *amx_home_instance_with_pid(struct amx_home *h, int pid, struct amx_app **app);
/* Which instance does pids/<file> belong to, by the dump's pm_pid_path (never by rebuilding
 * the file name from the app name: PM2 sanitises it). NULL when none. */
struct amx_instance *amx_home_instance_by_pid_file(struct amx_home *h, const char *file,
						   struct amx_app **app);

/* dump.pm2 read result. */
struct amx_dump_read {
	int problem;             /* AMX_DUMP_OK, a problem, AMX_DUMP_EMPTIED, or -1000-errno when unreadable */
	bool not_yet;            /* an empty read: PM2 is between O_TRUNC and write() */
	bool over_max;           /* larger than the read's max (below the dump's bound): not read */
	struct amx_dump dump;    /* when OK */
	char *raw;               /* the bytes read (for the good copy); NULL unless OK and changed */
	size_t raw_len;
	unsigned mode;           /* dump.pm2's permission bits */
	bool unchanged;          /* OK: the bytes of the good copy, not parsed again */
	bool stored;             /* OK and changed: already handed to the state writer */
	/* The good copy an adoption replaced, freed by amx_dump_read_free (or by the caller,
	 * elsewhere: freeing 4,096 apps and 16 MB is work too). */
	struct amx_dump replaced;
	char *replaced_raw;
	/* OK, with the source's make_room: the zeroed arrays matching it to the apps will
	 * need (fresh_cap entries), made where the read runs (7.7 MB zeroed for 4,096 apps
	 * was most of the step that took a worker's result). */
	struct amx_app *fresh_apps;
	int *fresh_old;
	size_t fresh_cap;
};

/* What a read of a home's dump.pm2 needs, copied out of the home so that the read can run
 * on another thread (sys/worker.h) while the loop goes on with the home. good_raw is the
 * home's good copy: the caller keeps it unchanged until the read is done. */
struct amx_dump_source {
	char dir[4096];
	uid_t uid;
	gid_t gid;
	size_t max;              /* bytes: AMX_DUMP_MAX_BYTES, or less for a read on the loop */
	const char *good_raw;
	size_t good_raw_len;
	bool have_good;
	size_t good_n_apps;
	char state_file[4200];   /* "": a changed good dump is left to amx_home_adopt_dump */
	bool make_room;          /* fill the read's fresh_* arrays */
};
void amx_home_dump_source(const struct amx_home *h, size_t max, bool store,
			  struct amx_dump_source *s);
/* Read, compare and parse (everything proportional to the file's size): on the worker. */
void amx_dump_source_read(const struct amx_dump_source *s, struct amx_dump_read *r);
/* amx_dump_source_read of the home at once, up to the dump's bound, nothing stored. */
void amx_home_read_dump(const struct amx_home *h, struct amx_dump_read *r);
void amx_dump_read_free(struct amx_dump_read *r);
const char *amx_dump_read_problem(const struct amx_dump_read *r);

/* Adopt a good dump: keep a copy in the state dir, and sync the app list with it (apps
 * filtered by `only` when n_only > 0). New apps start UNKNOWN. */
void amx_home_adopt_dump(struct amx_home *h, struct amx_dump_read *r, const char *const *only,
			 int n_only);
/* The same, but the apps are matched to the new dump later, in parts: amx_home_sync_step
 * until it returns true (the apps stay as they were until then). */
void amx_home_adopt_dump_parts(struct amx_home *h, struct amx_dump_read *r);

/* home_sync.c: the good dump matched to the apps (kept ones keep their state, new ones
 * start UNKNOWN, the others go), at once or a part at a time: begin, then steps of at
 * most max dump entries (the step that puts the apps in place is one of its own) until
 * true. A sync begun again, or an adoption, cancels the one under way. */
#define AMX_HOME_SYNC_STEP 512
void amx_home_sync_all(struct amx_home *h, const char *const *only, int n_only);
bool amx_home_sync_begin(struct amx_home *h);
/* The same with the arrays of a read (r->fresh_*), taken when large enough. */
bool amx_home_sync_begin_with(struct amx_home *h, struct amx_dump_read *r);
bool amx_home_sync_step(struct amx_home *h, const char *const *only, int n_only, size_t max);
void amx_home_sync_cancel(struct amx_home *h);
/* An app's heap array of instances, when it has one (model.h), freed. */
void amx_app_free_instances(struct amx_app *a);

/* Load the last good copy from the state dir (start-up when dump.pm2 is bad). */
bool amx_home_load_good_copy(struct amx_home *h, const char *const *only, int n_only);
/* Put the last good copy back as dump.pm2 (as the owner, atomically). */
int amx_home_restore_dump(struct amx_home *h);

bool amx_home_wants_daemon(const struct amx_home *h);

#endif
