/* SPDX-License-Identifier: MIT */
/* The option table (see option_table.h), its look-ups and its defaults. The rows are in
 * the order of `amexbpf run --help`. */
#include <stdio.h>
#include <string.h>

#include "core/control.h"
#include "core/event.h"
#include "core/option_table.h"
#include "core/option_value.h"
#include "core/policy.h"

#define GLOBAL(f) offsetof(struct amx_options, f)
#define APP(f) offsetof(struct amx_app_conf, f)
/* A [home] key's slot, as an offset from the home's &home_ecosystem[i] */
#define HOME_SLOT(f) (offsetof(struct amx_options, f) - offsetof(struct amx_options, home_ecosystem))

static bool not_empty(const char *v)
{
	return *v != '\0';
}

static bool absolute(const char *v)
{
	return v[0] == '/';
}

static const char *const bpf_modes[] = { "auto", "required", "off", NULL }; /* enum amx_bpf_mode */
static const char *const sched_modes[] = { /* enum amx_sched_mode */
	"fifo", "rr", "deadline", "slice", "nice", "off", NULL };
static const char *const stdout_word[] = { "-", NULL };

const struct amx_option amx_option_table[] = {
	/* ---- [amexbpf] and the flags */
	{ .flag = "pm2-home", .key = "pm2-home", .type = AMX_OPT_LIST, .max = AMX_MAX_HOMES,
	  .field = GLOBAL(homes), .field2 = GLOBAL(n_homes), .example = "/home/deploy/.pm2",
	  .metavar = "DIR", .help = "a PM2_HOME to watch (repeatable; default: /root/.pm2 and each "
	  "user's ~/.pm2 that holds dump.pm2 or pm2.pid)" },
	{ .flag = "app", .key = "app", .type = AMX_OPT_LIST, .max = AMX_MAX_ONLY,
	  .field = GLOBAL(only), .field2 = GLOBAL(n_only), .valid = not_empty, .accepts = "an app name",
	  .example = "demo-api", .metavar = "NAME",
	  .help = "watch only this app (repeatable; default: every app in dump.pm2)" },
	{ .flag = "ecosystem", .key = "ecosystem", .type = AMX_OPT_FILE, .field = GLOBAL(ecosystem),
	  .example = "/etc/hostname", .metavar = "FILE",
	  .help = "ecosystem file for tier 3 (without it, tier 3 is skipped)" },
	{ .flag = "events", .key = "events", .type = AMX_OPT_PATH, .choices = stdout_word,
	  .def = "/var/log/amexbpf/events.ndjson", .field = GLOBAL(events_path), .metavar = "FILE|-",
	  .help = "NDJSON event stream (- is stdout); a human line per event goes to stderr" },
	{ .flag = "state-dir", .key = "state-dir", .type = AMX_OPT_PATH, .def = "/var/lib/amexbpf",
	  .field = GLOBAL(state_dir), .metavar = "DIR", .help = "last good dumps" },
	{ .flag = "socket", .key = "socket", .type = AMX_OPT_PATH, .def = AMX_DEFAULT_SOCKET,
	  .field = GLOBAL(socket_path), .metavar = "PATH", .help = "control socket, mode 0600" },
	{ .flag = "socket-group", .key = "socket-group", .type = AMX_OPT_STRING,
	  .field = GLOBAL(socket_group), .example = "adm", .metavar = "G",
	  .help = "also let members of group G use it (mode 0660)" },
	{ .flag = "textfile-dir", .key = "textfile-dir", .type = AMX_OPT_PATH,
	  .field = GLOBAL(textfile_dir), .example = "/var/lib/prometheus/node-exporter",
	  .metavar = "DIR", .help = "write amexbpf.prom there for node_exporter's textfile collector" },
	{ .flag = "notify-exec", .key = "notify-exec", .type = AMX_OPT_PATH,
	  .field = GLOBAL(notify_exec), .example = "/usr/local/lib/amexbpf/hook", .metavar = "PATH",
	  .help = "run this hook for each alert, the event's JSON on stdin" },
	{ .flag = "notify-user", .key = "notify-user", .type = AMX_OPT_STRING, .def = "nobody",
	  .field = GLOBAL(notify_user), .metavar = "USER", .help = "run the hook as USER" },
	{ .flag = "notify-level", .key = "notify-level", .type = AMX_OPT_WORD,
	  .choices = amx_level_names, .field = GLOBAL(notify_level), .example = "error",
	  .metavar = "LEVEL", .help = "also run it for events at or above LEVEL (warn, error, critical)" },
	{ .flag = "notify-timeout", .key = "notify-timeout", .type = AMX_OPT_SECONDS,
	  .min = 0, .min_open = true, .max = AMX_SECONDS_MAX, .def = "10",
	  .field = GLOBAL(notify_timeout_s), .metavar = "S",
	  .help = "kill the hook's process group after S" },
	{ .flag = "notify-interval", .key = "notify-interval", .type = AMX_OPT_SECONDS,
	  .max = AMX_SECONDS_MAX, .def = "10", .field = GLOBAL(notify_interval_s), .metavar = "S",
	  .help = "at most one hook run per S seconds; the rest are folded" },
	{ .flag = "no-journal", .key = "journal", .type = AMX_OPT_BOOL, .negated = true,
	  .implied = "no", .def = "yes", .field = GLOBAL(no_journal),
	  .help = "do not send events to journald even when it runs" },
	{ .flag = "pm2", .key = "pm2", .type = AMX_OPT_PATH, .field = GLOBAL(pm2),
	  .example = "/usr/bin/pm2", .metavar = "PATH",
	  .help = "the pm2 executable (default: found on PATH)" },
	{ .flag = "drift-interval", .key = "drift-interval", .type = AMX_OPT_SECONDS,
	  .max = AMX_SECONDS_MAX, .def = "60", .field = GLOBAL(drift_interval_s), .metavar = "S",
	  .help = "look each S for a pm2 or node changed under a running PM2 daemon (pm2-drift); "
	  "0 = only when a daemon starts" },
	{ .flag = "grace", .key = "grace", .type = AMX_OPT_SECONDS, .max = AMX_SECONDS_MAX,
	  .policy_default = AMX_POLICY_GRACE, .field = GLOBAL(grace_s), .metavar = "S",
	  .help = "wait for PM2's own restart after an exit" },
	{ .flag = "manual-grace", .key = "manual-grace", .type = AMX_OPT_SECONDS,
	  .max = AMX_SECONDS_MAX, .policy_default = AMX_POLICY_MANUAL_GRACE,
	  .field = GLOBAL(manual_grace_s), .metavar = "S",
	  .help = "honour pm2 stop / pm2 kill this long; 0 = at once" },
	{ .flag = "action-timeout", .key = "action-timeout", .type = AMX_OPT_SECONDS, .min = 1,
	  .max = AMX_SECONDS_MAX, .def = "30", .field = GLOBAL(action_timeout_s), .metavar = "S",
	  .help = "kill a pm2 command's process group after S" },
	{ .flag = "verify-timeout", .key = "verify-timeout", .type = AMX_OPT_SECONDS,
	  .min = 0, .min_open = true, .max = AMX_SECONDS_MAX, .policy_default = AMX_POLICY_VERIFY,
	  .field = GLOBAL(verify_timeout_s), .metavar = "S",
	  .help = "wait for a live pid (and its listen, for an app that listened) after a "
	  "command succeeded" },
	{ .flag = "budget", .key = "budget", .type = AMX_OPT_BUDGET, .min = 1,
	  .max = AMX_BUDGET_MAX_ATTEMPTS, .policy_default = AMX_POLICY_BUDGET,
	  .field = GLOBAL(budget_attempts), .field2 = GLOBAL(budget_window_s), .metavar = "N/S",
	  .help = "at most N recovery attempts per app in S seconds" },
	{ .flag = "memory-limit", .type = AMX_OPT_LIST, .max = AMX_MAX_ONLY,
	  .field = GLOBAL(memory_limits), .field2 = GLOBAL(n_memory_limits),
	  .valid = amx_valid_memlimit, .accepts = "APP=SIZE, SIZE in bytes or with K, M, G",
	  .example = "api=300M", .metavar = "APP=SIZE",
	  .help = "restart APP when its RSS reaches SIZE (300M, 1G; repeatable; default: "
	  "max_memory_restart from dump.pm2, else 1G)" },
	{ .flag = "disk", .key = "disk", .type = AMX_OPT_LIST, .max = AMX_MAX_HOMES,
	  .field = GLOBAL(disks), .field2 = GLOBAL(n_disks), .valid = absolute,
	  .accepts = "an absolute path", .example = "/", .metavar = "MOUNT",
	  .help = "watch this filesystem's space (repeatable; default: /, and those of each "
	  "PM2_HOME and of the events file)" },
	{ .flag = "disk-threshold", .key = "disk-threshold", .type = AMX_OPT_NUMBER, .min = 0,
	  .min_open = true, .max = 100, .def = "80", .field = GLOBAL(disk_threshold_pct),
	  .metavar = "PCT", .help = "disk-over-threshold at PCT % used" },
	{ .flag = "probe", .type = AMX_OPT_LIST, .max = AMX_PROBE_MAX, .field = GLOBAL(probes),
	  .field2 = GLOBAL(n_probes), .valid = amx_valid_probe,
	  .accepts = "APP=http://HOST[:PORT][/PATH]", .example = "api=http://127.0.0.1:3000/health",
	  .metavar = "APP=URL",
	  .help = "HTTP GET http://HOST[:PORT]/PATH to tell a hung APP (repeatable)" },
	{ .flag = "probe-interval", .key = "probe-interval", .type = AMX_OPT_SECONDS, .min = 0.1,
	  .max = AMX_SECONDS_MAX, .def = "5", .field = GLOBAL(probe_interval_s), .metavar = "S",
	  .help = "between probes" },
	{ .flag = "probe-timeout", .key = "probe-timeout", .type = AMX_OPT_SECONDS, .min = 0.05,
	  .max = AMX_SECONDS_MAX, .def = "2", .field = GLOBAL(probe_timeout_s), .metavar = "S",
	  .help = "a probe fails after S" },
	{ .flag = "probe-failures", .key = "probe-failures", .type = AMX_OPT_COUNT, .min = 1,
	  .max = 1000, .def = "3", .field = GLOBAL(probe_failures), .metavar = "N",
	  .help = "failures in a row that restart the app" },
	{ .flag = "retain", .key = "retain", .type = AMX_OPT_LIST, .max = AMX_MAX_HOMES,
	  .field = GLOBAL(retains), .field2 = GLOBAL(n_retains), .valid = amx_valid_retain,
	  .accepts = "DIR=DAYS, DIR absolute, DAYS 1 to 36500", .example = "/home/deploy/.pm2/logs=7",
	  .metavar = "DIR=DAYS",
	  .help = "delete *.log in DIR older than DAYS, at start and daily (repeatable)" },
	{ .flag = "config", .type = AMX_OPT_PATH, .field = GLOBAL(config_path),
	  .example = "/etc/amexbpf/amexbpf.conf", .metavar = "FILE",
	  .help = "the config file (default " AMX_DEFAULT_CONFIG " when it exists); "
	  "command-line flags override it" },
	{ .flag = "check-config", .type = AMX_OPT_BOOL, .implied = "yes",
	  .field = GLOBAL(check_config),
	  .help = "validate the config file and the flags, print each problem with its line "
	  "number, and exit (0 valid, 78 not)" },
	{ .flag = "no-bpf", .key = "bpf", .type = AMX_OPT_CHOICE, .choices = bpf_modes,
	  .implied = "off", .def = "auto", .field = GLOBAL(bpf_mode),
	  .help = "detect exits with the netlink process connector, not BPF (also chosen by "
	  "itself when BTF or CAP_BPF is missing)" },
	{ .flag = "sched", .key = "sched", .type = AMX_OPT_CHOICE, .choices = sched_modes,
	  .def = "fifo", .field = GLOBAL(sched_mode), .metavar = "CLASS",
	  .help = "scheduling class of the threads that react to the kernel and to PM2's files: "
	  "fifo or rr (real-time at --sched-priority, dropped to normal after 200 ms on a CPU "
	  "without blocking), deadline (SCHED_DEADLINE, 2 ms every 10 ms; fifo when refused), "
	  "slice (0.1 ms custom slice), nice "
	  "(-20), off; nothing the daemon starts inherits it" },
	{ .flag = "sched-priority", .key = "sched-priority", .type = AMX_OPT_COUNT, .min = 1,
	  .max = 99, .def = "10", .field = GLOBAL(sched_priority), .metavar = "N",
	  .help = "real-time priority for --sched fifo or rr (and deadline's fall-back)" },
	{ .flag = "bpf-stats", .key = "bpf-stats", .type = AMX_OPT_BOOL, .implied = "yes",
	  .def = "no", .field = GLOBAL(bpf_stats),
	  .help = "count each BPF program's runs and time for status and top; while on, every "
	  "BPF program on the host pays two clock reads per run" },
	{ .flag = "verbose", .short_flag = 'v', .key = "verbose", .type = AMX_OPT_BOOL,
	  .implied = "yes", .def = "no", .field = GLOBAL(verbose),
	  .help = "say more, including libbpf's messages" },

	/* ---- [home PATH]: the home's ecosystem slot is the whole "struct" */
	{ .key = "ecosystem", .section = AMX_SECTION_HOME, .type = AMX_OPT_FILE, .field = 0,
	  .example = "/etc/hostname" },
	/* pm2 and node: the same index in their own arrays, reached from &home_ecosystem[i] */
	{ .key = "pm2", .section = AMX_SECTION_HOME, .type = AMX_OPT_FILE, .field = HOME_SLOT(home_pm2),
	  .example = "/etc/hostname" },
	{ .key = "node", .section = AMX_SECTION_HOME, .type = AMX_OPT_FILE, .field = HOME_SLOT(home_node),
	  .example = "/etc/hostname" },

	/* ---- [app NAME] */
	{ .key = "home", .section = AMX_SECTION_APP, .type = AMX_OPT_PATH, .field = APP(home),
	  .example = "/home/deploy/.pm2" },
	{ .key = "ecosystem", .section = AMX_SECTION_APP, .type = AMX_OPT_FILE,
	  .field = APP(ecosystem), .example = "/etc/hostname" },
	{ .key = "memory-limit", .section = AMX_SECTION_APP, .type = AMX_OPT_BYTES,
	  .field = APP(memory_limit_bytes), .example = "512M" },
	{ .key = "probe", .section = AMX_SECTION_APP, .type = AMX_OPT_URL, .field = APP(probe_url),
	  .example = "http://127.0.0.1:3000/health" },
	{ .key = "manual-grace", .section = AMX_SECTION_APP, .type = AMX_OPT_SECONDS,
	  .max = AMX_SECONDS_MAX, .field = APP(manual_grace_s), .example = "300" },
	{ .key = "budget", .section = AMX_SECTION_APP, .type = AMX_OPT_BUDGET, .min = 1,
	  .max = AMX_BUDGET_MAX_ATTEMPTS, .field = APP(budget_attempts),
	  .field2 = APP(budget_window_s), .example = "5/600" },
};

const size_t amx_option_count = sizeof(amx_option_table) / sizeof(amx_option_table[0]);

/* Keys are named like the long options; notify_exec is read as notify-exec. */
static bool same_key(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (*a != *b && !((*a == '_' || *a == '-') && (*b == '_' || *b == '-')))
			return false;
	return *a == *b;
}

const struct amx_option *amx_option_by_key(enum amx_opt_section section, const char *key)
{
	for (size_t i = 0; i < amx_option_count; i++) {
		const struct amx_option *r = &amx_option_table[i];
		if (r->section == section && r->key && same_key(r->key, key))
			return r;
	}
	return NULL;
}

const struct amx_option *amx_option_by_flag(const char *flag)
{
	for (size_t i = 0; i < amx_option_count; i++)
		if (amx_option_table[i].flag && !strcmp(amx_option_table[i].flag, flag))
			return &amx_option_table[i];
	return NULL;
}

const char *amx_option_default(const struct amx_option *r, char *buf, size_t len)
{
	struct amx_policy_config p;
	amx_policy_config_defaults(&p);
	switch (r->policy_default) {
	case AMX_POLICY_GRACE:
		snprintf(buf, len, "%g", (double)p.grace_ms / 1000);
		return buf;
	case AMX_POLICY_MANUAL_GRACE:
		snprintf(buf, len, "%g", (double)p.manual_grace_ms / 1000);
		return buf;
	case AMX_POLICY_VERIFY:
		snprintf(buf, len, "%g", (double)p.verify_ms / 1000);
		return buf;
	case AMX_POLICY_BUDGET:
		snprintf(buf, len, "%u/%g", p.budget_attempts, (double)p.budget_window_ms / 1000);
		return buf;
	case AMX_POLICY_NONE:
		break;
	}
	return r->def;
}
