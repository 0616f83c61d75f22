/* SPDX-License-Identifier: MIT */
/* Options of `amexbpf run` and `amexbpf check`, and the exit codes (sysexits-style, so
 * they never collide with check's 0/1/2). */
#ifndef AMX_OPTIONS_H
#define AMX_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#define AMX_MAX_HOMES 64
#define AMX_MAX_ONLY 256
#define AMX_MAX_APP_CONF 256
#define AMX_DEFAULT_CONFIG "/etc/amexbpf/amexbpf.conf"

/* Where the exit and fork events come from (config `bpf =`, `--no-bpf`). */
enum amx_bpf_mode {
	AMX_BPF_AUTO = 0,   /* BPF; the process connector when BTF or CAP_BPF is missing */
	AMX_BPF_REQUIRED,   /* BPF or exit 69 */
	AMX_BPF_OFF,        /* the process connector only */
};

/* The scheduling class of the threads that react (config `sched =`, `--sched`; sys/sched.h).
 * In the order of the option's choices. */
enum amx_sched_mode {
	AMX_SCHED_FIFO = 0, /* SCHED_FIFO at sched_priority, under RLIMIT_RTTIME */
	AMX_SCHED_RR,       /* SCHED_RR at sched_priority, under RLIMIT_RTTIME */
	AMX_SCHED_DEADLINE, /* SCHED_DEADLINE, 2 ms every 10 ms */
	AMX_SCHED_SLICE,    /* SCHED_OTHER with a 0.1 ms custom slice (Linux 6.12+) */
	AMX_SCHED_NICE,     /* SCHED_OTHER at nice -20 */
	AMX_SCHED_OFF,      /* as started */
};

/* An [app NAME] section of the config file. Zero / NULL / negative = the global value. */
struct amx_app_conf {
	const char *name;
	const char *home;            /* only in this PM2_HOME; NULL = any */
	const char *ecosystem;
	long long memory_limit_bytes; /* 0 = max_memory_restart from dump.pm2 */
	const char *probe_url;
	double manual_grace_s;       /* < 0: the global one */
	unsigned budget_attempts;    /* 0: the global budget */
	double budget_window_s;
};

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
	AMX_EXIT_CONFIG = 78,           /* the config file does not validate */
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
	const char *pm2;             /* absolute path; NULL when neither --pm2 nor PATH has one */
	bool pm2_from_path;          /* found on our PATH, not given */
	double drift_interval_s;     /* each home's pm2 and node looked at this often; 0: never */
	double grace_s;
	double manual_grace_s;
	double action_timeout_s;
	double verify_timeout_s;
	unsigned budget_attempts;
	double budget_window_s;
	bool verbose;
	/* Kernel run-time statistics of BPF programs on (BPF_ENABLE_STATS). Off by default:
	 * the kernel's switch is host-wide, so every program of every tool would pay. */
	bool bpf_stats;
	/* health checks (issue 5): raw, validated by main.c with each module's parser */
	const char *memory_limits[AMX_MAX_ONLY];  /* APP=SIZE */
	int n_memory_limits;
	const char *disks[AMX_MAX_HOMES];         /* mount points; none = the defaults */
	int n_disks;
	double disk_threshold_pct;
	const char *probes[AMX_MAX_ONLY];         /* APP=URL */
	int n_probes;
	double probe_interval_s;
	double probe_timeout_s;
	unsigned probe_failures;
	const char *retains[AMX_MAX_HOMES];       /* DIR=DAYS */
	int n_retains;
	/* The config file and what only it can say (src/daemon/config.c). */
	const char *config_path;     /* NULL: none read */
	bool check_config;           /* --check-config: validate, print problems, exit */
	enum amx_bpf_mode bpf_mode;
	enum amx_sched_mode sched_mode;
	unsigned sched_priority;     /* fifo, rr: 1..99 */
	const char *home_ecosystem[AMX_MAX_HOMES]; /* [home PATH] ecosystem = , by homes[] index */
	/* [home PATH] pm2 = and node = , by homes[] index. The table's [home] rows address
	 * them from &home_ecosystem[i] (src/core/option_table.c): keep the three arrays alike. */
	const char *home_pm2[AMX_MAX_HOMES];
	const char *home_node[AMX_MAX_HOMES];
	struct amx_app_conf apps[AMX_MAX_APP_CONF];
	int n_apps;
	/* SIGHUP: build fresh options (defaults, config file, then the same command line).
	 * 0, or an exit code with one line in err. Set by main.c. */
	int (*rebuild)(struct amx_options *out, char *err, size_t errlen);
};

int amx_daemon_run(struct amx_options *o);
int amx_check_run(struct amx_options *o);

#endif
