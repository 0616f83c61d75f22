/* SPDX-License-Identifier: MIT */
/* Running pm2 (and every other child) the one safe way: argv through execve (never a
 * shell), as the PM2_HOME owner (uid, gid, supplementary groups), a clean environment,
 * no inherited descriptors, its own process group (so a time-out kills the whole group),
 * stdout+stderr captured (bounded) in a memory file, so that the child never depends on
 * us to finish. */
#ifndef AMX_SPAWN_H
#define AMX_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/model.h"        /* struct amx_user */
#include "core/tier_command.h" /* struct amx_argv */


/* Fill *u from the passwd entry of uid; false (and a message in err) when none. */
bool amx_user_from_uid(uid_t uid, struct amx_user *u, char *err, size_t errlen);

/* A running child. */
#define AMX_CHILD_OUTPUT_MAX 16384
struct amx_child {
	pid_t pid;
	int pidfd;        /* readable when the child exits */
	int out_fd;       /* the memfd holding the child's stdout+stderr (not pollable:
			   * read it with amx_child_read_output, at the latest when it exits) */
	uint64_t out_off; /* how far out_fd was read (or dropped, once output is full) */
	char output[AMX_CHILD_OUTPUT_MAX]; /* captured output, NUL-terminated, truncated */
	size_t out_len;
	bool truncated;
	bool keep_all_output; /* set by the caller: leave everything in the memfd for
			       * amx_child_read_all (`pm2 jlist` prints far more than 16 kB) */
	bool timed_out;
	int wait_status;  /* from waitid, once reaped */
};

/* Start argv[0] (an absolute path) as user u with environment
 * HOME=<u->home> USER= LOGNAME=<u->name> PM2_HOME=<pm2_home> (when not NULL)
 * PATH=<dir of argv->node>:<dir of argv[0]>:/usr/local/bin:/usr/bin:/bin, and nothing else
 * (without argv->node: the directory of the first node on our own PATH after argv[0]'s).
 * The child: new session (setsid), stdin /dev/null, stdout+stderr to a memfd, every other
 * descriptor closed (close_range), groups from initgroups(u->name, u->gid), setgid,
 * setuid (checked), chdir to u->home or /. When the caller is not root, the identity
 * change is skipped only if u->uid is the caller's. Returns 0, or -errno with err filled. */
int amx_spawn(struct amx_child *c, const struct amx_argv *argv, const struct amx_user *u,
	      const char *pm2_home, char *err, size_t errlen);

/* amx_spawn with stdin fed from input (len bytes, at most AMX_SPAWN_INPUT_MAX) instead of
 * /dev/null: the bytes are in a pipe before the child starts, then EOF, so the parent
 * never blocks on a child that does not read. -EMSGSIZE when input is too large. */
#define AMX_SPAWN_INPUT_MAX (1 << 20)
int amx_spawn_input(struct amx_child *c, const struct amx_argv *argv, const struct amx_user *u,
		    const char *pm2_home, const char *input, size_t len, char *err, size_t errlen);

/* Take in what the child wrote so far (never blocks); returns false once released. */
bool amx_child_read_output(struct amx_child *c);
/* Everything the child wrote, up to max bytes (malloc'd, NUL-terminated; caller frees),
 * for a child started with keep_all_output. NULL when more than max, or on failure. */
char *amx_child_read_all(const struct amx_child *c, size_t max, size_t *len);
/* Kill the child's whole process group with SIGKILL (time-out). */
void amx_child_kill_group(struct amx_child *c);
/* Reap after the pidfd became readable; returns true when reaped. */
bool amx_child_reap(struct amx_child *c);
/* Close descriptors. */
void amx_child_release(struct amx_child *c);
/* "exit status 1", "killed by SIGTERM", "timed out after 30 s" into buf. */
void amx_child_describe(const struct amx_child *c, int timeout_s, char *buf, size_t len);
bool amx_child_succeeded(const struct amx_child *c);

/* Blocking: wait for a spawned child up to timeout_s, collecting its output; kill its group
 * on time-out (then it is reaped, and timed_out set). what names it in err. 0, or -errno. */
int amx_child_wait(struct amx_child *c, const char *what, int timeout_s, char *err, size_t errlen);
/* Blocking convenience for `amexbpf check` and one-off questions: spawn, then
 * amx_child_wait. Returns 0 with *c filled, or -errno. */
int amx_run_wait(struct amx_child *c, const struct amx_argv *argv, const struct amx_user *u,
		 const char *pm2_home, int timeout_s, char *err, size_t errlen);
/* root, for commands that talk to systemd (systemctl, systemd-run) rather than run as a
 * home's owner. */
const struct amx_user *amx_user_root(void);

#endif
