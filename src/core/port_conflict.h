/* SPDX-License-Identifier: MIT */
/* Port conflicts (amexbpf.port, amexbpf.holder): an app that died because its port was
 * taken, and who holds the port. Pure: the error log is read by sys/userfile.c, the holder
 * found by sys/socket_table.c and its facts read from /proc by the daemon
 * (daemon/conflict.c); this file only reads the text it is given and decides what kind of
 * holder that is. Every input is hostile (the app's owner writes the log, and the holder
 * writes its own cmdline and environment): bounded, never trusted for more than a match. */
#ifndef AMX_PORT_CONFLICT_H
#define AMX_PORT_CONFLICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Lines of the tail looked at for the error, from its end: Node 20 prints 21 lines after
 * the EADDRINUSE line (the stack, the error object), more under PM2's wrapper. */
#define AMX_CONFLICT_LINES 128
/* Longest line looked at; longer ones are cut (the port is near Node's line start). */
#define AMX_CONFLICT_LINE_MAX 512

/* The port of the last EADDRINUSE line in buf (the end of an error log), e.g. Node's
 * `Error: listen EADDRINUSE: address already in use :::3000` or `... 0.0.0.0:3000`, or 0
 * when its last AMX_CONFLICT_LINES lines name none. */
uint16_t amx_port_from_error_tail(const char *buf, size_t len);

/* What amexbpf knows of a holder, read from /proc as root (never through a link). */
struct amx_holder_facts {
	int pid;
	int ppid;
	uid_t uid;
	char comm[64];
	char script[1024];   /* the first argument of its cmdline that is not an option */
	char cwd[1024];      /* readlink of /proc/PID/cwd */
	/* What its environment says PM2 started it as (a PM2 app's own): "" when absent. */
	char env_home[1024]; /* PM2_HOME */
	char env_name[256];  /* name */
	char env_exec_path[1024]; /* pm_exec_path */
	char env_cwd[1024];  /* pm_cwd */
};

/* The script of a cmdline (NUL-separated, len bytes): its first argument after argv[0]
 * that does not start with '-' (node's own options), into out; false when none. A cmdline
 * of one argument (PM2's process.title, "node /srv/app.js") is split at its spaces. */
bool amx_cmdline_script(const char *cmdline, size_t len, char *out, size_t outlen);

enum amx_holder_kind {
	AMX_HOLDER_NONE = 0,   /* nobody found, or the app's own God daemon (cluster mode) */
	AMX_HOLDER_ORPHAN,     /* an orphaned copy of this very app: amexbpf may stop it */
	AMX_HOLDER_OTHER,      /* anything else: never touched */
};

/* An orphaned copy of app `app` of home `home` (owned by owner_uid, God daemon god_pid,
 * 0 when down): the owner's process, started by PM2 as this app (PM2_HOME and name in its
 * environment), running the script and in the directory PM2 gave it (its cmdline and cwd
 * match pm_exec_path and pm_cwd), and not a child of the current God daemon. Anything
 * short of all that is another process. */
enum amx_holder_kind amx_holder_classify(const struct amx_holder_facts *f, uid_t owner_uid,
					 const char *home, const char *app, int god_pid);

const char *amx_holder_kind_name(enum amx_holder_kind k);

#endif
