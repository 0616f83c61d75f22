/* SPDX-License-Identifier: MIT */
/* PM2's saved process list (dump.pm2) and `pm2 jlist` output, parsed and validated.
 * Both inputs are written by an unprivileged user: every field is checked for type,
 * strings are bounded and must be valid UTF-8, unknown fields are ignored. */
#ifndef AMX_DUMP_H
#define AMX_DUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AMX_NAME_MAX 256   /* longest app name we accept (bytes) */
#define AMX_PATH_MAX 4096

enum amx_app_status {
	AMX_ST_UNKNOWN = 0,
	AMX_ST_ONLINE,
	AMX_ST_STOPPED,
	AMX_ST_STOPPING,
	AMX_ST_ERRORED,
	AMX_ST_LAUNCHING,
	AMX_ST_ONE_LAUNCH_STATUS,
	AMX_ST_WAITING_RESTART,
};

struct amx_dump_app {
	char name[AMX_NAME_MAX];
	/* pm_pid_path and pm_err_log_path: "" when absent, else at most AMX_PATH_MAX - 1 bytes
	 * held by the dump (amx_dump_free frees them). Pointers, not arrays: 4,096 apps with
	 * two 4 KB arrays each were 35 MB to zero on every parse. */
	const char *pid_path;
	const char *err_log_path;
	char namespace_[AMX_NAME_MAX];  /* "" when absent */
	enum amx_app_status status;     /* saved status ("online", "stopped", ...) */
	bool autorestart;               /* default true */
	int64_t max_restarts;           /* -1 when absent */
	int64_t min_uptime_ms;          /* -1 when absent; PM2 accepts a number or a string like "10s" */
	int64_t max_memory_bytes;       /* max_memory_restart; -1 when absent; number or "1G"/"300M"/"500K" */
	int node_app_instance;          /* NODE_APP_INSTANCE: which instance of the app; -1 when absent */
	bool cluster;                   /* exec_mode "cluster_mode" (workers forked by Node's cluster) */
	int pm_id;                      /* only in jlist output; -1 otherwise */
	int pid;                        /* only in jlist output; 0 otherwise */
};

struct amx_dump {
	struct amx_dump_app *apps;
	size_t n_apps;
};

enum amx_dump_problem {
	AMX_DUMP_OK = 0,
	AMX_DUMP_EMPTY,      /* zero bytes (a save in progress, or wiped) */
	AMX_DUMP_NOT_JSON,   /* does not parse, or truncated */
	AMX_DUMP_NOT_ARRAY,  /* valid JSON but not an array */
	AMX_DUMP_BAD_APP,    /* an element is not an object, has no valid name, or a field has a wrong type */
	AMX_DUMP_BAD_UTF8,
	AMX_DUMP_TOO_BIG,    /* over AMX_DUMP_MAX_BYTES, or more than AMX_DUMP_MAX_APPS apps, or nested too deep */
};

#define AMX_DUMP_MAX_BYTES (16u << 20)
#define AMX_DUMP_MAX_APPS 4096
/* The work a parse may do, whatever the file's shape: values counted by a linear pre-scan
 * before jansson runs (each [, {, key, string and scalar is one), and the bytes jansson may
 * hold during the parse. Over either: AMX_DUMP_TOO_BIG. */
#define AMX_DUMP_MAX_VALUES (1u << 20)
#define AMX_DUMP_PARSE_BUDGET ((size_t)128 << 20)

/* The most bytes jansson held during this thread's last parse (for tests and metrics). */
size_t amx_dump_parse_peak(void);

/* Parse len bytes (need not be NUL-terminated). On AMX_DUMP_OK fills *out (free with
 * amx_dump_free); otherwise *out is empty. A dump of [] parses OK with zero apps:
 * whether that is acceptable is the caller's decision (see amx_dump_judge). */
enum amx_dump_problem amx_dump_parse(const char *buf, size_t len, struct amx_dump *out);
/* Same parser for `pm2 jlist` output: also reads pm_id, pid and pm2_env.status. */
enum amx_dump_problem amx_jlist_parse(const char *buf, size_t len, struct amx_dump *out);
void amx_dump_free(struct amx_dump *d);

/* The short machine word for a problem, used in events: "empty", "not-json",
 * "not-array", "bad-app", "bad-utf8", "too-big", "emptied" (see below), "ok". */
const char *amx_dump_problem_name(enum amx_dump_problem p);

/* Judge a freshly parsed dump against the last good one: a parse problem is itself; an
 * empty array when the last good dump had apps is "emptied" (returned as -1). */
#define AMX_DUMP_EMPTIED (-1)
int amx_dump_judge(enum amx_dump_problem parsed, const struct amx_dump *fresh,
		   const struct amx_dump *last_good);

/* Look an app up by name; NULL when absent. */
const struct amx_dump_app *amx_dump_find(const struct amx_dump *d, const char *name);

/* Parse a PM2 size string: "1G", "300M", "500K", "1024" (bytes). -1 when invalid. */
int64_t amx_parse_size(const char *s);
/* Parse a PM2 duration: number (ms) or "10s", "5m", "1h", "200ms". -1 when invalid. */
int64_t amx_parse_duration_ms(const char *s);

const char *amx_app_status_name(enum amx_app_status s);
enum amx_app_status amx_app_status_from(const char *s);

#endif
