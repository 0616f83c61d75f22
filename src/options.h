/* SPDX-License-Identifier: MIT */
/* Options of `amexbpf run` and `amexbpf check`, and the exit codes (sysexits-style, so
 * they never collide with check's 0/1/2). */
#ifndef AMX_OPTIONS_H
#define AMX_OPTIONS_H

#include <stdbool.h>

#define AMX_MAX_HOMES 64
#define AMX_MAX_ONLY 256

enum amx_exit {
	AMX_EXIT_OK = 0,
	AMX_EXIT_CHECK_RECOVERED = 1,   /* check: something was down and is back */
	AMX_EXIT_CHECK_FAILED = 2,      /* check: something could not be recovered */
	AMX_EXIT_USAGE = 64,            /* unknown flag, bad value */
	AMX_EXIT_BAD_DUMP = 65,         /* dump.pm2 unreadable or invalid, and no good copy */
	AMX_EXIT_NO_INPUT = 66,         /* no PM2 home found, ecosystem file or pm2 missing */
	AMX_EXIT_NO_BPF = 69,           /* no BTF, or the BPF programs did not load */
	AMX_EXIT_SOFTWARE = 70,         /* an internal failure */
	AMX_EXIT_OS = 71,               /* a system call failed at start-up */
	AMX_EXIT_IO = 74,               /* events/status: the daemon dropped us or the stream broke */
	AMX_EXIT_NO_DAEMON = 75,        /* events/status: no daemon answers on the control socket */
	AMX_EXIT_NOT_ROOT = 77,         /* must run as root */
};

struct amx_options {
	const char *homes[AMX_MAX_HOMES];
	int n_homes;
	bool homes_given;            /* --pm2-home used: a bad home is fatal */
	const char *only[AMX_MAX_ONLY];
	int n_only;
	const char *ecosystem;
	const char *events_path;     /* "-" = stdout */
	const char *state_dir;
	const char *socket_path;     /* the control socket (default AMX_DEFAULT_SOCKET) */
	const char *socket_group;    /* NULL: root only (0600); else this group too (0660) */
	const char *textfile_dir;    /* node_exporter textfile collector directory, or NULL */
	const char *notify_exec;     /* hook run for alerts (absolute, checked), or NULL */
	const char *notify_user;     /* the hook runs as this user (default nobody) */
	const char *notify_level;    /* also run it for events at or above this level */
	double notify_timeout_s;     /* the hook's process group is killed after this */
	double notify_interval_s;    /* at most one hook run per this many seconds; the rest are folded */
	bool no_journal;             /* do not send events to journald even when it runs */
	const char *pm2;             /* absolute path */
	double grace_s;
	double manual_grace_s;
	double action_timeout_s;
	double verify_timeout_s;
	unsigned budget_attempts;
	double budget_window_s;
	bool verbose;
};

int amx_daemon_run(struct amx_options *o);
int amx_check_run(struct amx_options *o);

#endif
