/* SPDX-License-Identifier: MIT */
/* The config file: every key lands in the options, and every kind of mistake is reported
 * with the line it is on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/option_value.h"
#include "daemon/config.h"

static char path[] = "/tmp/amx-test-config-XXXXXX";

static int load(const char *text, struct amx_options *o, char *problems, size_t len)
{
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	memset(o, 0, sizeof(*o));
	int rc = n < 0 ? -1 : amx_config_load(path, o, problems, len);
	unlink(path);
	strcpy(path, "/tmp/amx-test-config-XXXXXX");
	return rc;
}

/* Does problems hold a line ":LINE: " that contains what? */
static bool has_problem(const char *problems, int line, const char *what)
{
	char tag[32];
	snprintf(tag, sizeof(tag), ":%d: ", line);
	for (const char *p = problems; (p = strstr(p, tag)); p++) {
		const char *eol = strchr(p, '\n');
		const char *w = strstr(p, what);
		if (w && (!eol || w < eol))
			return true;
	}
	return false;
}

TEST(every_key_lands_in_the_options)
{
	struct amx_options o;
	char pr[2048];
	int n = load("# comment\n"
		     "[amexbpf]\n"
		     "pm2-home = /a/.pm2 /b/.pm2\n"
		     "events = -\n"
		     "state-dir = /var/lib/x\n"
		     "socket = /run/x.sock\n"
		     "pm2 = /usr/bin/pm2\n"
		     "grace = 1.5\n"
		     "manual-grace = 0\n"
		     "action-timeout = 10\n"
		     "verify-timeout = 3\n"
		     "budget = 3/60\n"
		     "verbose = yes\n"
		     "bpf = off\n"
		     "[home /c/.pm2]\n"
		     "ecosystem = /etc/hostname\n"
		     "pm2 = /etc/passwd\n"
		     "node = /etc/group\n"
		     "[app web]\n"
		     "home = /c/.pm2\n"
		     "memory-limit = 512M\n"
		     "probe = http://127.0.0.1:3000/health\n"
		     "manual-grace = 7\n"
		     "budget = 2/30\n",
		     &o, pr, sizeof(pr));
	CHECK(n == 0);
	CHECK(o.n_homes == 3);
	CHECK(!strcmp(o.homes[0], "/a/.pm2") && !strcmp(o.homes[2], "/c/.pm2"));
	CHECK(o.homes_given);
	CHECK(o.home_ecosystem[2] && !strcmp(o.home_ecosystem[2], "/etc/hostname"));
	/* [home] pm2 = / node = : each in its own slot, for that home only */
	CHECK(!strcmp(amx_config_home_pm2(&o, "/c/.pm2"), "/etc/passwd"));
	CHECK(!strcmp(amx_config_home_node(&o, "/c/.pm2"), "/etc/group"));
	CHECK(amx_config_home_pm2(&o, "/a/.pm2") == NULL && o.home_ecosystem[0] == NULL);
	CHECK(!strcmp(o.events_path, "-"));
	CHECK(o.grace_s == 1.5 && o.manual_grace_s == 0 && o.action_timeout_s == 10);
	CHECK(o.budget_attempts == 3 && o.budget_window_s == 60);
	CHECK(o.verbose && o.bpf_mode == AMX_BPF_OFF);
	CHECK(o.n_apps == 1);
	const struct amx_app_conf *a = amx_config_app(&o, "/c/.pm2", "web");
	CHECK(a && a->memory_limit_bytes == 512ll << 20);
	CHECK(a && !strcmp(a->probe_url, "http://127.0.0.1:3000/health"));
	CHECK(a && a->manual_grace_s == 7 && a->budget_attempts == 2);
	CHECK(amx_config_app(&o, "/other/.pm2", "web") == NULL);
	CHECK(amx_config_app(&o, "/c/.pm2", "api") == NULL);
	amx_config_free_strings();
}

/* Every flag of `amexbpf run --help` has a key: an operator can put everything in one file. */
TEST(health_and_reporting_keys_land_in_the_options)
{
	struct amx_options o;
	char pr[2048];
	int n = load("[amexbpf]\n"
		     "disk = / /var/log\n"
		     "disk-threshold = 90\n"
		     "retain = /home/u/.pm2/logs=7, /home/u/.pm2/.runtime/logs=30\n"
		     "probe-interval = 1.5\n"
		     "probe-timeout = 0.5\n"
		     "probe-failures = 4\n"
		     "socket-group = adm\n"
		     "textfile-dir = /var/lib/prometheus/node-exporter\n"
		     "notify-exec = /usr/local/lib/amexbpf/hook\n"
		     "notify_user = daemon\n"     /* _ and - are the same in a key */
		     "notify-level = warn\n"
		     "notify-timeout = 3\n"
		     "notify-interval = 0\n"
		     "journal = no\n",
		     &o, pr, sizeof(pr));
	CHECK(n == 0);
	if (n)
		fputs(pr, stderr);
	CHECK(o.n_disks == 2 && !strcmp(o.disks[0], "/") && !strcmp(o.disks[1], "/var/log"));
	CHECK(o.disk_threshold_pct == 90);
	CHECK(o.n_retains == 2 && !strcmp(o.retains[1], "/home/u/.pm2/.runtime/logs=30"));
	CHECK(o.probe_interval_s == 1.5 && o.probe_timeout_s == 0.5 && o.probe_failures == 4);
	CHECK(o.socket_group && !strcmp(o.socket_group, "adm"));
	CHECK(o.textfile_dir && !strcmp(o.textfile_dir, "/var/lib/prometheus/node-exporter"));
	CHECK(o.notify_exec && !strcmp(o.notify_exec, "/usr/local/lib/amexbpf/hook"));
	CHECK(o.notify_user && !strcmp(o.notify_user, "daemon"));
	CHECK(o.notify_level && !strcmp(o.notify_level, "warn"));
	CHECK(o.notify_timeout_s == 3 && o.notify_interval_s == 0);
	CHECK(o.no_journal);

	n = load("[amexbpf]\n"
		 "disk = relative\n"           /* 2 */
		 "disk-threshold = 101\n"      /* 3 */
		 "retain = /logs=x\n"          /* 4 */
		 "probe-failures = 0\n"        /* 5 */
		 "textfile-dir = prom\n"       /* 6 */
		 "notify-exec = hook.sh\n"     /* 7 */
		 "notify-level = loud\n"       /* 8 */
		 "notify-timeout = 0\n"        /* 9 */
		 "journal = maybe\n"           /* 10 */
		 "notify-user = a\n"
		 "notify_user = b\n"           /* 12: the same key twice */
		 "disk_treshold = 50\n",       /* 13: unknown keys stay errors */
		 &o, pr, sizeof(pr));
	CHECK(n == 11);
	static const struct { int line; const char *what; } want[] = {
		{ 2, "disk: relative" }, { 3, "disk-threshold" }, { 4, "retain: /logs=x" },
		{ 5, "probe-failures" }, { 6, "textfile-dir" }, { 7, "notify-exec" },
		{ 8, "notify-level" }, { 9, "notify-timeout" }, { 10, "journal" },
		{ 12, "given twice" }, { 13, "unknown key in [amexbpf]: disk-treshold" },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		CHECK(has_problem(pr, want[i].line, want[i].what));
}

/* Which ecosystem file, manual grace and budget each app gets. */
TEST(per_app_settings_are_selected_app_then_home_then_global)
{
	struct amx_options o;
	char pr[2048];
	int n = load("[amexbpf]\n"
		     "pm2-home = /a/.pm2\n"
		     "ecosystem = /etc/hostname\n"
		     "[home /b/.pm2]\n"
		     "ecosystem = /etc/passwd\n"
		     "[app web]\n"
		     "ecosystem = /etc/group\n"
		     "manual-grace = 7\n"
		     "budget = 2/30\n"
		     "[app api]\n"
		     "home = /b/.pm2\n"
		     "manual-grace = 0\n",
		     &o, pr, sizeof(pr));
	CHECK(n == 0);
	/* ecosystem: the app's, else its home's, else the global one */
	CHECK(!strcmp(amx_config_ecosystem(&o, "/a/.pm2", "web"), "/etc/group"));
	CHECK(!strcmp(amx_config_ecosystem(&o, "/b/.pm2", "web"), "/etc/group"));
	CHECK(!strcmp(amx_config_ecosystem(&o, "/b/.pm2", "api"), "/etc/passwd"));
	CHECK(!strcmp(amx_config_ecosystem(&o, "/b/.pm2", NULL), "/etc/passwd"));
	CHECK(!strcmp(amx_config_ecosystem(&o, "/a/.pm2", "api"), "/etc/hostname"));
	CHECK(!strcmp(amx_config_ecosystem(&o, "/a/.pm2", "other"), "/etc/hostname"));

	struct amx_policy_config global, c;
	amx_policy_config_defaults(&global);
	global.manual_grace_ms = 300000;
	global.budget_attempts = 5;
	global.budget_window_ms = 600000;
	c = global;
	amx_config_app_policy(&o, "/a/.pm2", "web", &c);
	CHECK(c.manual_grace_ms == 7000 && c.budget_attempts == 2 && c.budget_window_ms == 30000);
	CHECK(c.have_ecosystem && c.grace_ms == global.grace_ms && c.verify_ms == global.verify_ms);
	c = global;
	amx_config_app_policy(&o, "/b/.pm2", "api", &c);   /* grace 0 is a value, not unset */
	CHECK(c.manual_grace_ms == 0 && c.budget_attempts == 5 && c.budget_window_ms == 600000);
	c = global;
	amx_config_app_policy(&o, "/a/.pm2", "api", &c);   /* [app api] is for /b/.pm2 only */
	CHECK(c.manual_grace_ms == 300000 && c.budget_attempts == 5);

	/* No ecosystem anywhere: tier 3 is off for the app. */
	n = load("[app web]\nbudget = 1/10\n", &o, pr, sizeof(pr));
	CHECK(n == 0);
	c = global;
	amx_config_app_policy(&o, "/a/.pm2", "web", &c);
	CHECK(!c.have_ecosystem && c.budget_attempts == 1);
	CHECK(amx_config_ecosystem(&o, "/a/.pm2", "web") == NULL);
}

TEST(each_mistake_is_reported_on_its_line)
{
	struct amx_options o;
	char pr[4096];
	int n = load("[amexbpf]\n"                 /* 1 */
		     "grace = soon\n"              /* 2 */
		     "colour = blue\n"             /* 3 */
		     "budget = 0/10\n"             /* 4 */
		     "[app web]\n"                 /* 5 */
		     "memory-limit = 12Q\n"        /* 6 */
		     "probe = ftp://x\n"           /* 7 */
		     "budget = 5/600\n"            /* 8 */
		     "budget = 6/600\n"            /* 9 */
		     "ecosystem = /no/such.js\n"   /* 10 */
		     "[frob]\n"                    /* 11 */
		     "x = 1\n"                     /* 12 */
		     "[home relative]\n"           /* 13 */
		     "ecosystem = /etc/hostname\n" /* 14 */
		     "[amexbpf]\n"                 /* 15 */
		     "events = relative.ndjson\n"  /* 16 */
		     "bpf = maybe\n"               /* 17 */
		     "verbose =\n"                 /* 18 */
		     "junk line\n",                /* 19 */
		     &o, pr, sizeof(pr));
	CHECK(n == 13);
	CHECK(has_problem(pr, 2, "bad value for grace"));
	CHECK(has_problem(pr, 3, "unknown key in [amexbpf]: colour"));
	CHECK(has_problem(pr, 4, "bad value for budget"));
	CHECK(has_problem(pr, 6, "memory-limit"));
	CHECK(has_problem(pr, 7, "probe"));
	CHECK(has_problem(pr, 9, "given twice"));
	CHECK(has_problem(pr, 10, "/no/such.js"));
	CHECK(has_problem(pr, 12, "unknown section [frob]"));
	CHECK(has_problem(pr, 14, "not an absolute path: relative"));
	CHECK(has_problem(pr, 16, "events"));
	CHECK(has_problem(pr, 17, "bad value for bpf"));
	CHECK(has_problem(pr, 18, "no value"));
	CHECK(has_problem(pr, 19, "not a [section]"));
	amx_config_free_strings();
}

TEST(long_lines_count_once)
{
	struct amx_options o;
	char pr[2048];
	char text[1200];
	memset(text, 0, sizeof(text));
	strcat(text, "# ");
	memset(text + 2, 'x', 600); /* longer than libinih's line buffer */
	strcat(text, "\n[amexbpf]\nnope = 1\n");
	int n = load(text, &o, pr, sizeof(pr));
	CHECK(n == 2);
	CHECK(has_problem(pr, 1, "line longer than"));
	CHECK(has_problem(pr, 3, "unknown key"));
	amx_config_free_strings();
}

TEST(value_parsers)
{
	long long b;
	CHECK(amx_parse_bytes("1G", &b) && b == 1ll << 30);
	CHECK(amx_parse_bytes("100", &b) && b == 100);
	CHECK(!amx_parse_bytes("-1", &b) && !amx_parse_bytes("0", &b) && !amx_parse_bytes("1T", &b));
	bool v;
	CHECK(amx_parse_bool("Off", &v) && !v);
	CHECK(amx_parse_bool("true", &v) && v);
	CHECK(!amx_parse_bool("maybe", &v));
	unsigned n;
	double w;
	CHECK(amx_parse_budget("5/600", &n, &w) && n == 5 && w == 600);
	CHECK(!amx_parse_budget("65/10", &n, &w) && !amx_parse_budget("5", &n, &w));
}

TEST(missing_file)
{
	struct amx_options o = { 0 };
	char pr[256];
	CHECK(amx_config_load("/no/such/amexbpf.conf", &o, pr, sizeof(pr)) < 0);
}

/* A section given again is not an error: its later value wins (and the earlier copy is
 * freed, which the fuzz harness checks under LeakSanitizer). */
TEST(repeated_section_last_value_wins)
{
	static struct amx_options o;
	char pr[1024];
	int n = load("[app web]\n"
		     "probe = http://a:1/\n"
		     "[amexbpf]\n"
		     "pm2 = /usr/bin/pm2\n"
		     "[app web]\n"
		     "probe = http://b:2/x\n"
		     "events = /x\n"
		     "[amexbpf]\n"
		     "pm2 = /opt/pm2\n",
		     &o, pr, sizeof(pr));
	CHECK(n == 1); /* events is not an [app] key */
	CHECK(o.n_apps == 1);
	CHECK(o.apps[0].probe_url && !strcmp(o.apps[0].probe_url, "http://b:2/x"));
	CHECK(o.pm2 && !strcmp(o.pm2, "/opt/pm2"));
	amx_config_free_strings();
}

int main(void)
{
	RUN(every_key_lands_in_the_options);
	RUN(health_and_reporting_keys_land_in_the_options);
	RUN(per_app_settings_are_selected_app_then_home_then_global);
	RUN(each_mistake_is_reported_on_its_line);
	RUN(long_lines_count_once);
	RUN(value_parsers);
	RUN(missing_file);
	RUN(repeated_section_last_value_wins);
	CHECK_DONE();
}
