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

#include "cli/client.h"
#include "cli/flags.h"
#include "core/event.h"
#include "core/option_table.h"
#include "core/option_value.h"
#include "core/options.h"
#include "daemon/config.h"
#include "top/top.h"

/* `amexbpf run --help`: this, the table's flags (cli/flags.c), then RUN_HELP_TAIL. */
static const char *const RUN_HELP_HEAD =
	"Usage: amexbpf run [OPTION]...\n"
	"Watch PM2 apps and their PM2 daemon with BPF and inotify; recover them in tiers:\n"
	"  1 `pm2 restart <app>`, 2 `pm2 resurrect` (daemon down),\n"
	"  3 `pm2 start <ecosystem> --env production --only <app>`.\n"
	"\n";

static const char *const RUN_HELP_TAIL =
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
			return strdup(cand);
		}
	}
	free(copy);
	return NULL;
}

/* path made absolute against the working directory, symlinks kept (malloc'd). */
static char *absolute_path(const char *path)
{
	char cwd[PATH_MAX], *out = NULL;
	if (path[0] == '/')
		return strdup(path);
	if (!getcwd(cwd, sizeof(cwd)) || asprintf(&out, "%s/%s", cwd, path) < 0)
		return NULL;
	return out;
}

/* Problems found in the config file by the last parse, for a SIGHUP's config-invalid. */
static char config_problems[4096];

/* The config file named by --config, or the default one when it exists; NULL for none. */
static const char *config_file_of(int argc, char **argv, const struct amx_flags *f, bool *named)
{
	const struct amx_option *config = amx_option_by_flag("config");
	const char *path = NULL;
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, f->shortopts, f->longopts, NULL)) != -1)
		if (config && amx_flags_row(c) == config)
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
		if (a->home)
			continue; /* keyed by (home, app): the daemon reads it from o->apps */
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

/* A repeatable flag replaces the config file's list: emptied at its first use. */
static void replace_list_once(const struct amx_option *r, struct amx_options *o,
			      const struct amx_option **replaced, size_t *n, size_t max)
{
	for (size_t i = 0; i < *n; i++)
		if (replaced[i] == r)
			return;
	if (*n < max)
		replaced[(*n)++] = r;
	amx_option_clear(r, o);
}

static int parse_options(int argc, char **argv, struct amx_options *o, bool is_check)
{
	static struct amx_flags flags;
	amx_flags_build(&flags);
	amx_options_defaults(o);
	if (is_check)
		o->events_path = NULL;
	/* The file first, then the flags over it. */
	bool named;
	const char *config = config_file_of(argc, argv, &flags, &named);
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
	const struct amx_option *replaced[16];
	size_t n_replaced = 0;
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, flags.shortopts, flags.longopts, NULL)) != -1) {
		const struct amx_option *r = amx_flags_row(c);
		if (c == AMX_FLAG_HELP) {
			fputs(is_check ? CHECK_HELP : RUN_HELP_HEAD, stdout);
			if (!is_check) {
				amx_flags_help(stdout);
				fputs(RUN_HELP_TAIL, stdout);
			}
			return -1;
		}
		if (!r) {
			if (optopt > 0 && optopt < 256) /* a short flag; else a long one, named in argv */
				fprintf(stderr, "amexbpf: unknown option or missing value: -%c (see --help)\n", optopt);
			else
				fprintf(stderr, "amexbpf: unknown option or missing value: %s (see --help)\n",
					argv[optind - 1]);
			return AMX_EXIT_USAGE;
		}
		if (r->type == AMX_OPT_LIST)
			replace_list_once(r, o, replaced, &n_replaced, sizeof(replaced) / sizeof(replaced[0]));
		char msg[512];
		if (!amx_option_set(r, r->implied ? r->implied : optarg, AMX_FROM_FLAG, o, msg,
				    sizeof(msg))) {
			fprintf(stderr, "amexbpf: %s\n", msg); /* it names what is allowed */
			return AMX_EXIT_USAGE;
		}
	}
	o->homes_given = o->n_homes > 0; /* a home named by a flag or the file: a bad one is fatal */
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
	/* The path as given, symlinks kept: nvm's bin/pm2 is a link into lib/node_modules,
	 * and the node to run it with is the one beside the link (daemon/toolchain.c). None
	 * at all is no error: each home's daemon can tell us its own pm2. */
	const char *pm2 = o->pm2;
	char *found = pm2 ? absolute_path(pm2) : find_on_path("pm2");
	if (pm2 && (!found || access(found, X_OK) != 0)) {
		fprintf(stderr, "amexbpf: pm2 executable %s: not found or not executable\n", pm2);
		free(found);
		return AMX_EXIT_NO_INPUT;
	}
	o->pm2 = amx_config_own(found);
	o->pm2_from_path = !pm2 && found;
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
	if (!strcmp(cmd, "--dump-options")) { /* hidden: the option table, for tests/options_check.sh */
		amx_flags_dump(stdout);
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
