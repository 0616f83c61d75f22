/* SPDX-License-Identifier: MIT */
/* The command line: `amexbpf run`, `amexbpf check`, `amexbpf top`, `amexbpf version`. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/disk.h"
#include "daemon/config.h"
#include "cli/client.h"
#include "core/control.h"
#include "core/event.h"
#include "daemon/memwatch.h"
#include "core/options.h"
#include "core/policy.h"
#include "daemon/probe.h"
#include "daemon/retain.h"
#include "top/top.h"

static const char *const RUN_HELP =
	"Usage: amexbpf run [OPTION]...\n"
	"Watch PM2 apps and their PM2 daemon with BPF and inotify; recover them in tiers:\n"
	"  1 `pm2 restart <app>`, 2 `pm2 resurrect` (daemon down),\n"
	"  3 `pm2 start <ecosystem> --env production --only <app>`.\n"
	"\n"
	"  --pm2-home DIR        a PM2_HOME to watch (repeatable; default: /root/.pm2 and each\n"
	"                        user's ~/.pm2 that holds dump.pm2 or pm2.pid)\n"
	"  --app NAME            watch only this app (repeatable; default: every app in dump.pm2)\n"
	"  --ecosystem FILE      ecosystem file for tier 3 (without it, tier 3 is skipped)\n"
	"  --events FILE|-       NDJSON event stream (default /var/log/amexbpf/events.ndjson;\n"
	"                        - is stdout); a human line per event goes to stderr\n"
	"  --state-dir DIR       last good dumps (default /var/lib/amexbpf)\n"
	"  --socket PATH         control socket (default /run/amexbpf/amexbpf.sock, mode 0600)\n"
	"  --socket-group G      also let members of group G use it (mode 0660)\n"
	"  --textfile-dir DIR    write amexbpf.prom there for node_exporter's textfile collector\n"
	"  --notify-exec PATH    run this hook for each alert, the event's JSON on stdin\n"
	"  --notify-user USER    run the hook as USER (default nobody)\n"
	"  --notify-level LEVEL  also run it for events at or above LEVEL (warn, error, critical)\n"
	"  --notify-timeout S    kill the hook's process group after S (default 10)\n"
	"  --notify-interval S   at most one hook run per S seconds; the rest are folded (default 10)\n"
	"  --no-journal          do not send events to journald even when it runs\n"
	"  --pm2 PATH            the pm2 executable (default: found on PATH)\n"
	"  --grace S             wait for PM2's own restart after an exit (default 2)\n"
	"  --manual-grace S      honour pm2 stop / pm2 kill this long (default 300; 0 = at once)\n"
	"  --action-timeout S    kill a pm2 command's process group after S (default 30)\n"
	"  --verify-timeout S    wait for a live pid after a command succeeded (default 15)\n"
	"  --budget N/S          at most N recovery attempts per app in S seconds (default 5/600)\n"
	"  --memory-limit APP=SIZE  restart APP when its RSS reaches SIZE (300M, 1G; repeatable;\n"
	"                        default: max_memory_restart from dump.pm2, else 1G)\n"
	"  --disk MOUNT          watch this filesystem's space (repeatable; default: /, and those\n"
	"                        of each PM2_HOME and of the events file)\n"
	"  --disk-threshold PCT  disk-over-threshold at PCT % used (default 80)\n"
	"  --probe APP=URL       HTTP GET http://HOST[:PORT]/PATH to tell a hung APP (repeatable)\n"
	"  --probe-interval S    between probes (default 5)\n"
	"  --probe-timeout S     a probe fails after S (default 2)\n"
	"  --probe-failures N    failures in a row that restart the app (default 3)\n"
	"  --retain DIR=DAYS     delete *.log in DIR older than DAYS, at start and daily (repeatable)\n"
	"  --config FILE         the config file (default /etc/amexbpf/amexbpf.conf when it\n"
	"                        exists); command-line flags override it\n"
	"  --check-config        validate the config file and the flags, print each problem\n"
	"                        with its line number, and exit (0 valid, 78 not)\n"
	"  --no-bpf              detect exits with the netlink process connector, not BPF\n"
	"                        (also chosen by itself when BTF or CAP_BPF is missing)\n"
	"  -v, --verbose         say more, including libbpf's messages\n"
	"  -h, --help            this help\n"
	"\n"
	"Exit codes: 0 ok, 64 usage, 65 invalid dump.pm2 and no good copy, 66 no PM2 home /\n"
	"ecosystem / pm2 missing, 69 no BTF or BPF failed to load, 70 internal, 71 system call\n"
	"failed at start-up, 77 not root, 78 invalid config file.\n"
	"SIGHUP re-reads the config file, re-scans the PM2 homes and reopens the events file.\n";

static const char *const CHECK_HELP =
	"Usage: amexbpf check [OPTION]...\n"
	"One pass, for hosts that keep cron: is each PM2 daemon up, is each saved app online and\n"
	"under its memory limit? What is not is recovered as `amexbpf run` would: the same tiers\n"
	"and commands, backoff, and restart budget (kept in --state-dir, shared by every run).\n"
	"Takes the options of `amexbpf run` (--events defaults to none here). A manual grace is\n"
	"not waited for: an app saved online and found stopped is restarted.\n"
	"Exit codes: 0 healthy, 1 something was down or over its limit and is back, 2 something\n"
	"could not be recovered or its restart budget is spent, and the start-up codes of\n"
	"`amexbpf run` (64, 65, 66, 77).\n";

static const char *const MAIN_HELP =
	"Usage: amexbpf COMMAND [OPTION]...\n"
	"Event-driven recovery monitor for Node apps under PM2.\n"
	"\n"
	"Commands:\n"
	"  run       the daemon (see `amexbpf run --help`)\n"
	"  check     one pass of the checks, for hosts that keep cron\n"
	"  top       a live view of the daemon, its PM2 homes, apps and events\n"
	"  events    print the daemon's events as NDJSON (see `amexbpf events --help`)\n"
	"  status    print the daemon's view of homes and apps (see `amexbpf status --help`)\n"
	"  version   print the version\n";

/* A repeatable option: valid, and room left. */
static bool add_checked(const char **list, int *n, int max, const char *value, bool valid)
{
	if (!valid || *n >= max)
		return false;
	list[(*n)++] = value;
	return true;
}

static bool valid_memory_limit(const char *s)
{
	const char *app;
	size_t len;
	int64_t bytes;
	return amx_memlimit_parse(s, &app, &len, &bytes);
}

static bool valid_probe(const char *s)
{
	const char *app;
	size_t len;
	struct amx_probe_url u;
	return amx_probe_parse(s, &app, &len, &u);
}

static bool valid_retain(const char *s)
{
	const char *dir;
	size_t len;
	unsigned days;
	return amx_retain_parse(s, &dir, &len, &days);
}

static char *find_on_path(const char *name)
{
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	char *copy = strdup(path), *save = NULL;
	for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		char cand[PATH_MAX];
		snprintf(cand, sizeof(cand), "%s/%s", dir, name);
		if (dir[0] == '/' && access(cand, X_OK) == 0) {
			free(copy);
			return realpath(cand, NULL);
		}
	}
	free(copy);
	return NULL;
}

/* Problems found in the config file by the last parse, for a SIGHUP's config-invalid. */
static char config_problems[4096];

/* The config file named by --config, or the default one when it exists; NULL for none. */
static const char *config_file_of(int argc, char **argv, const struct option *longopts,
				  bool *named)
{
	const char *path = NULL;
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1)
		if (c == 'C')
			path = optarg;
	*named = path != NULL;
	if (!path && access(AMX_DEFAULT_CONFIG, F_OK) == 0)
		path = AMX_DEFAULT_CONFIG;
	return path;
}

/* The config file's [app NAME] memory_limit and probe become the same "APP=VALUE" entries
 * the flags give, unless a flag already named that app (flags override the file). */
static bool named_in(const char *const *list, int n, const char *app)
{
	size_t len = strlen(app);
	for (int i = 0; i < n; i++)
		if (!strncmp(list[i], app, len) && list[i][len] == '=')
			return true;
	return false;
}

static void add_app_sections(struct amx_options *o)
{
	for (int i = 0; i < o->n_apps; i++) {
		const struct amx_app_conf *a = &o->apps[i];
		char *entry = NULL;
		if (a->memory_limit_bytes > 0 && o->n_memory_limits < AMX_MAX_ONLY &&
		    !named_in(o->memory_limits, o->n_memory_limits, a->name) &&
		    asprintf(&entry, "%s=%lld", a->name, a->memory_limit_bytes) > 0)
			o->memory_limits[o->n_memory_limits++] = amx_config_own(entry);
		entry = NULL;
		if (a->probe_url && o->n_probes < AMX_PROBE_MAX &&
		    !named_in(o->probes, o->n_probes, a->name) &&
		    asprintf(&entry, "%s=%s", a->name, a->probe_url) > 0)
			o->probes[o->n_probes++] = amx_config_own(entry);
	}
}

static int parse_options(int argc, char **argv, struct amx_options *o, bool is_check)
{
	enum { O_HOME = 256, O_APP, O_ECO, O_EVENTS, O_STATE, O_SOCKET, O_PM2, O_GRACE,
	       O_MANUAL, O_ATIMEOUT, O_VTIMEOUT, O_BUDGET, O_MEMLIMIT, O_DISK, O_DISKPCT, O_PROBE,
	       O_PINTERVAL, O_PTIMEOUT, O_PFAILURES, O_RETAIN, O_CHECK_CONFIG, O_NO_BPF,
	       O_SOCKGROUP, O_TEXTFILE, O_NEXEC, O_NUSER, O_NLEVEL, O_NTIMEOUT, O_NINTERVAL,
	       O_NOJOURNAL };
	static const struct option longopts[] = {
		{ "pm2-home", required_argument, NULL, O_HOME },
		{ "app", required_argument, NULL, O_APP },
		{ "ecosystem", required_argument, NULL, O_ECO },
		{ "events", required_argument, NULL, O_EVENTS },
		{ "state-dir", required_argument, NULL, O_STATE },
		{ "socket", required_argument, NULL, O_SOCKET },
		{ "pm2", required_argument, NULL, O_PM2 },
		{ "grace", required_argument, NULL, O_GRACE },
		{ "manual-grace", required_argument, NULL, O_MANUAL },
		{ "action-timeout", required_argument, NULL, O_ATIMEOUT },
		{ "verify-timeout", required_argument, NULL, O_VTIMEOUT },
		{ "budget", required_argument, NULL, O_BUDGET },
		{ "memory-limit", required_argument, NULL, O_MEMLIMIT },
		{ "disk", required_argument, NULL, O_DISK },
		{ "disk-threshold", required_argument, NULL, O_DISKPCT },
		{ "probe", required_argument, NULL, O_PROBE },
		{ "probe-interval", required_argument, NULL, O_PINTERVAL },
		{ "probe-timeout", required_argument, NULL, O_PTIMEOUT },
		{ "probe-failures", required_argument, NULL, O_PFAILURES },
		{ "retain", required_argument, NULL, O_RETAIN },
		{ "config", required_argument, NULL, 'C' },
		{ "check-config", no_argument, NULL, O_CHECK_CONFIG },
		{ "no-bpf", no_argument, NULL, O_NO_BPF },
		{ "socket-group", required_argument, NULL, O_SOCKGROUP },
		{ "textfile-dir", required_argument, NULL, O_TEXTFILE },
		{ "notify-exec", required_argument, NULL, O_NEXEC },
		{ "notify-user", required_argument, NULL, O_NUSER },
		{ "notify-level", required_argument, NULL, O_NLEVEL },
		{ "notify-timeout", required_argument, NULL, O_NTIMEOUT },
		{ "notify-interval", required_argument, NULL, O_NINTERVAL },
		{ "no-journal", no_argument, NULL, O_NOJOURNAL },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	memset(o, 0, sizeof(*o));
	o->events_path = is_check ? NULL : "/var/log/amexbpf/events.ndjson";
	o->state_dir = "/var/lib/amexbpf";
	/* The policy's defaults are the one source: the options only express them in seconds. */
	struct amx_policy_config pd;
	amx_policy_config_defaults(&pd);
	o->grace_s = (double)pd.grace_ms / 1000;
	o->manual_grace_s = (double)pd.manual_grace_ms / 1000;
	o->action_timeout_s = 30;
	o->verify_timeout_s = (double)pd.verify_ms / 1000;
	o->budget_attempts = pd.budget_attempts;
	o->budget_window_s = (double)pd.budget_window_ms / 1000;
	o->socket_path = AMX_DEFAULT_SOCKET;
	o->notify_user = "nobody";
	o->notify_timeout_s = 10;
	o->notify_interval_s = 10;
	o->disk_threshold_pct = 80;
	o->probe_interval_s = 5;
	o->probe_timeout_s = 2;
	o->probe_failures = 3;
	/* The file first, then the flags over it. */
	bool named;
	const char *config = config_file_of(argc, argv, longopts, &named);
	config_problems[0] = '\0';
	if (config) {
		int n = amx_config_load(config, o, config_problems, sizeof(config_problems));
		if (n < 0) {
			snprintf(config_problems, sizeof(config_problems), "%s: %s\n", config,
				 strerror(-n));
			fprintf(stderr, "amexbpf: failed to read config file %s", config_problems);
			return named ? AMX_EXIT_NO_INPUT : AMX_EXIT_CONFIG;
		}
		if (n > 0) {
			fputs(config_problems, stderr);
			return AMX_EXIT_CONFIG;
		}
	}
	bool homes_from_config = o->n_homes > 0;
	/* A repeatable flag replaces the file's list, as --pm2-home does. */
	bool disks_from_config = o->n_disks > 0, retains_from_config = o->n_retains > 0;
	bool only_from_config = o->n_only > 0;
	const char *pm2 = o->pm2;
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		bool ok = true;
		switch (c) {
		case O_HOME:
			if (homes_from_config) {
				/* --pm2-home replaces the config file's homes */
				homes_from_config = false;
				o->n_homes = 0;
				memset(o->home_ecosystem, 0, sizeof(o->home_ecosystem));
			}
			if (o->n_homes == AMX_MAX_HOMES) {
				fprintf(stderr, "amexbpf: too many --pm2-home (at most %d)\n", AMX_MAX_HOMES);
				return AMX_EXIT_USAGE;
			}
			o->homes[o->n_homes++] = optarg;
			o->homes_given = true;
			break;
		case O_APP:
			if (only_from_config)
				only_from_config = false, o->n_only = 0;
			if (o->n_only == AMX_MAX_ONLY) {
				fprintf(stderr, "amexbpf: too many --app (at most %d)\n", AMX_MAX_ONLY);
				return AMX_EXIT_USAGE;
			}
			o->only[o->n_only++] = optarg;
			break;
		case O_ECO: o->ecosystem = optarg; break;
		case O_EVENTS: o->events_path = optarg; break;
		case O_STATE: o->state_dir = optarg; break;
		case O_SOCKET: o->socket_path = optarg; break;
		case O_PM2: pm2 = optarg; break;
		case O_GRACE: ok = amx_parse_seconds(optarg, &o->grace_s); break;
		case O_MANUAL: ok = amx_parse_seconds(optarg, &o->manual_grace_s); break;
		case O_ATIMEOUT: ok = amx_parse_seconds(optarg, &o->action_timeout_s) && o->action_timeout_s >= 1; break;
		case O_VTIMEOUT: ok = amx_parse_seconds(optarg, &o->verify_timeout_s) && o->verify_timeout_s > 0; break;
		case O_BUDGET: ok = amx_parse_budget(optarg, &o->budget_attempts, &o->budget_window_s); break;
		case O_MEMLIMIT: ok = add_checked(o->memory_limits, &o->n_memory_limits, AMX_MAX_ONLY,
						   optarg, valid_memory_limit(optarg)); break;
		case O_DISK:
			if (disks_from_config)
				disks_from_config = false, o->n_disks = 0;
			ok = add_checked(o->disks, &o->n_disks, AMX_MAX_HOMES, optarg, optarg[0] == '/'); break;
		case O_DISKPCT: ok = amx_disk_threshold_parse(optarg, &o->disk_threshold_pct); break;
		case O_PROBE: ok = add_checked(o->probes, &o->n_probes, AMX_PROBE_MAX, optarg,
					       valid_probe(optarg)); break;
		case O_PINTERVAL: ok = amx_parse_seconds(optarg, &o->probe_interval_s) && o->probe_interval_s >= 0.1; break;
		case O_PTIMEOUT: ok = amx_parse_seconds(optarg, &o->probe_timeout_s) && o->probe_timeout_s >= 0.05; break;
		case O_PFAILURES: ok = amx_parse_count(optarg, &o->probe_failures); break;
		case O_RETAIN:
			if (retains_from_config)
				retains_from_config = false, o->n_retains = 0;
			ok = add_checked(o->retains, &o->n_retains, AMX_MAX_HOMES, optarg,
						valid_retain(optarg)); break;
		case O_SOCKGROUP: o->socket_group = optarg; break;
		case O_TEXTFILE: o->textfile_dir = optarg; break;
		case O_NEXEC: o->notify_exec = optarg; break;
		case O_NUSER: o->notify_user = optarg; break;
		case O_NLEVEL: o->notify_level = optarg; break;
		case O_NTIMEOUT: ok = amx_parse_seconds(optarg, &o->notify_timeout_s) && o->notify_timeout_s > 0; break;
		case O_NINTERVAL: ok = amx_parse_seconds(optarg, &o->notify_interval_s); break;
		case O_NOJOURNAL: o->no_journal = true; break;
		case 'v': o->verbose = true; break;
		case 'C': break; /* read above */
		case O_CHECK_CONFIG: o->check_config = true; break;
		case O_NO_BPF: o->bpf_mode = AMX_BPF_OFF; break;
		case 'h':
			fputs(is_check ? CHECK_HELP : RUN_HELP, stdout);
			return -1;
		case '?':
		default:
			if (optopt)
				fprintf(stderr, "amexbpf: unknown option or missing value: -%c (see --help)\n", optopt);
			else
				fprintf(stderr, "amexbpf: unknown option or missing value: %s (see --help)\n",
					argv[optind - 1]);
			return AMX_EXIT_USAGE;
		}
		if (!ok) {
			fprintf(stderr, "amexbpf: bad value for %s: %s (see --help)\n", argv[optind - 2 >= 0 ? optind - 2 : 0], optarg);
			return AMX_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "amexbpf: unexpected argument: %s (see --help)\n", argv[optind]);
		return AMX_EXIT_USAGE;
	}
	if (o->ecosystem) {
		struct stat st;
		if (stat(o->ecosystem, &st) < 0 || !S_ISREG(st.st_mode)) {
			fprintf(stderr, "amexbpf: ecosystem file %s: %s\n", o->ecosystem,
				errno ? strerror(errno) : "not a regular file");
			return AMX_EXIT_NO_INPUT;
		}
		o->ecosystem = amx_config_own(realpath(o->ecosystem, NULL));
	}
	char *resolved = amx_config_own(pm2 ? realpath(pm2, NULL) : find_on_path("pm2"));
	if (!resolved || access(resolved, X_OK) != 0) {
		fprintf(stderr, "amexbpf: pm2 executable %s (use --pm2 PATH)\n",
			pm2 ? "not found or not executable" : "not found on PATH");
		return AMX_EXIT_NO_INPUT;
	}
	/* Keep the path as given when it is a node_modules/.bin symlink: the file it points
	 * to is a script whose interpreter is found through PATH either way. */
	o->pm2 = resolved;
	add_app_sections(o);
	return 0;
}

static int saved_argc;
static char **saved_argv;
static bool saved_is_check;

/* SIGHUP: the same command line over the config file as it is now. */
static int rebuild_options(struct amx_options *out, char *err, size_t errlen)
{
	int rc = parse_options(saved_argc, saved_argv, out, saved_is_check);
	if (rc > 0)
		snprintf(err, errlen, "%s", config_problems[0] ? config_problems
				: "the command line no longer validates (see stderr)");
	out->rebuild = rebuild_options;
	return rc < 0 ? AMX_EXIT_USAGE : rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(MAIN_HELP, stderr);
		return AMX_EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		fputs(MAIN_HELP, stdout);
		return 0;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("amexbpf %s\n", AMX_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "top")) /* a client: no root, no pm2 needed */
		return amx_top_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "events"))
		return amx_client_events(argc - 1, argv + 1);
	if (!strcmp(cmd, "status"))
		return amx_client_status(argc - 1, argv + 1);
	if (strcmp(cmd, "run") != 0 && strcmp(cmd, "check") != 0) {
		fprintf(stderr, "amexbpf: unknown command: %s (try: run, check, events, status, top, version)\n", cmd);
		return AMX_EXIT_USAGE;
	}
	bool is_check = !strcmp(cmd, "check");
	static struct amx_options o;
	int rc = parse_options(argc - 1, argv + 1, &o, is_check);
	if (rc < 0)
		return 0;
	if (rc)
		return rc;
	if (o.check_config) {
		printf("%s: valid\n", o.config_path ? o.config_path : "(no config file)");
		return 0;
	}
	saved_argc = argc - 1;
	saved_argv = argv + 1;
	saved_is_check = is_check;
	o.rebuild = rebuild_options;
	/* Root check before anything else touches the system. */
	if (geteuid() != 0) {
		fprintf(stderr, "amexbpf: must run as root\n");
		return AMX_EXIT_NOT_ROOT;
	}
	return is_check ? amx_check_run(&o) : amx_daemon_run(&o);
}
