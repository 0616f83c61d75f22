/* SPDX-License-Identifier: MIT */
/* The command line: `amexbpf run`, `amexbpf check`, `amexbpf version`. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "control.h"
#include "event.h"
#include "options.h"

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
	"  -v, --verbose         say more, including libbpf's messages\n"
	"  -h, --help            this help\n"
	"\n"
	"Exit codes: 0 ok, 64 usage, 65 invalid dump.pm2 and no good copy, 66 no PM2 home /\n"
	"ecosystem / pm2 missing, 69 no BTF or BPF failed to load, 70 internal, 71 system call\n"
	"failed at start-up, 77 not root.\n";

static const char *const CHECK_HELP =
	"Usage: amexbpf check [OPTION]...\n"
	"One pass of the old cron check, with the same tiers: is each PM2 daemon up, is each\n"
	"saved app online and under its memory limit? Recover what is not.\n"
	"Takes the options of `amexbpf run` (--events defaults to none here).\n"
	"Exit codes: 0 healthy, 1 something was recovered, 2 something could not be recovered,\n"
	"and the start-up codes of `amexbpf run` (64, 65, 66, 77).\n";

static const char *const MAIN_HELP =
	"Usage: amexbpf COMMAND [OPTION]...\n"
	"Event-driven recovery monitor for Node apps under PM2.\n"
	"\n"
	"Commands:\n"
	"  run       the daemon (see `amexbpf run --help`)\n"
	"  check     one pass of the checks, for hosts that keep cron\n"
	"  events    print the daemon's events as NDJSON (see `amexbpf events --help`)\n"
	"  status    print the daemon's view of homes and apps (see `amexbpf status --help`)\n"
	"  version   print the version\n";

static bool parse_seconds(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || v < 0 || v > 86400 * 30)
		return false;
	*out = v;
	return true;
}

static bool parse_budget(const char *s, unsigned *n, double *window)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end != '/' || v == 0 || v > 64)
		return false;
	if (!parse_seconds(end + 1, window) || *window <= 0)
		return false;
	*n = (unsigned)v;
	return true;
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

static int parse_options(int argc, char **argv, struct amx_options *o, bool is_check)
{
	enum { O_HOME = 256, O_APP, O_ECO, O_EVENTS, O_STATE, O_SOCKET, O_PM2, O_GRACE,
	       O_MANUAL, O_ATIMEOUT, O_VTIMEOUT, O_BUDGET, O_SOCKGROUP, O_TEXTFILE, O_NEXEC,
	       O_NUSER, O_NLEVEL, O_NTIMEOUT, O_NINTERVAL, O_NOJOURNAL };
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
	o->grace_s = 2;
	o->manual_grace_s = 300;
	o->action_timeout_s = 30;
	o->verify_timeout_s = 15;
	o->budget_attempts = 5;
	o->budget_window_s = 600;
	o->socket_path = AMX_DEFAULT_SOCKET;
	o->notify_user = "nobody";
	o->notify_timeout_s = 10;
	o->notify_interval_s = 10;
	const char *pm2 = NULL;
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		bool ok = true;
		switch (c) {
		case O_HOME:
			if (o->n_homes == AMX_MAX_HOMES) {
				fprintf(stderr, "amexbpf: too many --pm2-home (at most %d)\n", AMX_MAX_HOMES);
				return AMX_EXIT_USAGE;
			}
			o->homes[o->n_homes++] = optarg;
			o->homes_given = true;
			break;
		case O_APP:
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
		case O_GRACE: ok = parse_seconds(optarg, &o->grace_s); break;
		case O_MANUAL: ok = parse_seconds(optarg, &o->manual_grace_s); break;
		case O_ATIMEOUT: ok = parse_seconds(optarg, &o->action_timeout_s) && o->action_timeout_s >= 1; break;
		case O_VTIMEOUT: ok = parse_seconds(optarg, &o->verify_timeout_s) && o->verify_timeout_s > 0; break;
		case O_BUDGET: ok = parse_budget(optarg, &o->budget_attempts, &o->budget_window_s); break;
		case O_SOCKGROUP: o->socket_group = optarg; break;
		case O_TEXTFILE: o->textfile_dir = optarg; break;
		case O_NEXEC: o->notify_exec = optarg; break;
		case O_NUSER: o->notify_user = optarg; break;
		case O_NLEVEL: o->notify_level = optarg; break;
		case O_NTIMEOUT: ok = parse_seconds(optarg, &o->notify_timeout_s) && o->notify_timeout_s > 0; break;
		case O_NINTERVAL: ok = parse_seconds(optarg, &o->notify_interval_s); break;
		case O_NOJOURNAL: o->no_journal = true; break;
		case 'v': o->verbose = true; break;
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
		o->ecosystem = realpath(o->ecosystem, NULL);
	}
	char *resolved = pm2 ? realpath(pm2, NULL) : find_on_path("pm2");
	if (!resolved || access(resolved, X_OK) != 0) {
		fprintf(stderr, "amexbpf: pm2 executable %s (use --pm2 PATH)\n",
			pm2 ? "not found or not executable" : "not found on PATH");
		return AMX_EXIT_NO_INPUT;
	}
	/* Keep the path as given when it is a node_modules/.bin symlink: the file it points
	 * to is a script whose interpreter is found through PATH either way. */
	o->pm2 = resolved;
	return 0;
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
	if (!strcmp(cmd, "events"))
		return amx_client_events(argc - 1, argv + 1);
	if (!strcmp(cmd, "status"))
		return amx_client_status(argc - 1, argv + 1);
	if (strcmp(cmd, "run") && strcmp(cmd, "check")) {
		fprintf(stderr, "amexbpf: unknown command: %s (try: run, check, events, status, version)\n", cmd);
		return AMX_EXIT_USAGE;
	}
	bool is_check = !strcmp(cmd, "check");
	static struct amx_options o;
	int rc = parse_options(argc - 1, argv + 1, &o, is_check);
	if (rc < 0)
		return 0;
	if (rc)
		return rc;
	/* Root check before anything else touches the system. */
	if (geteuid() != 0) {
		fprintf(stderr, "amexbpf: must run as root\n");
		return AMX_EXIT_NOT_ROOT;
	}
	return is_check ? amx_check_run(&o) : amx_daemon_run(&o);
}
