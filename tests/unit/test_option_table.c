/* SPDX-License-Identifier: MIT */
/* The option table and the value parsers: every row is well formed, parses its own default
 * and example, is reachable from the command line (getopt built from the table) and from
 * the config file; the parsers refuse what they must (nan, inf, overflow, empty). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cli/flags.h"
#include "core/option_table.h"
#include "core/option_value.h"
#include "core/policy.h"
#include "daemon/config.h"

static struct amx_options opts;
static struct amx_app_conf app;
static const char *home_slot;

/* The struct a row's fields are in. */
static void *base_of(const struct amx_option *r)
{
	switch (r->section) {
	case AMX_SECTION_HOME: return &home_slot;
	case AMX_SECTION_APP: return &app;
	case AMX_SECTION_GLOBAL: break;
	}
	return &opts;
}

/* A valid value of the row: its default, else its example, else what its flag means. */
static const char *sample(const struct amx_option *r, char *buf, size_t len)
{
	const char *d = amx_option_default(r, buf, len);
	return d ? d : r->example ? r->example : r->implied;
}

static bool numeric(const struct amx_option *r)
{
	return r->type == AMX_OPT_SECONDS || r->type == AMX_OPT_COUNT || r->type == AMX_OPT_NUMBER ||
	       r->type == AMX_OPT_BUDGET;
}

TEST(rows_are_well_formed_and_unique)
{
	for (size_t i = 0; i < amx_option_count; i++) {
		const struct amx_option *r = &amx_option_table[i];
		CHECK(r->flag || r->key);
		CHECK(!r->flag || (r->help && *r->help));
		CHECK(!r->flag || r->section == AMX_SECTION_GLOBAL);
		CHECK(r->implied || !r->flag || r->metavar);
		CHECK(!numeric(r) || r->min <= r->max);
		CHECK(r->type != AMX_OPT_LIST || (r->max >= 1 && r->field2 != r->field));
		CHECK((r->type != AMX_OPT_CHOICE && r->type != AMX_OPT_WORD) || r->choices);
		CHECK(!r->implied || r->type == AMX_OPT_BOOL || r->type == AMX_OPT_CHOICE);
		for (size_t j = i + 1; j < amx_option_count; j++) {
			const struct amx_option *s = &amx_option_table[j];
			CHECK(!r->flag || !s->flag || strcmp(r->flag, s->flag) != 0);
			CHECK(!r->short_flag || r->short_flag != s->short_flag);
			CHECK(!r->key || !s->key || r->section != s->section || strcmp(r->key, s->key) != 0);
		}
		if (check_current_failed) {
			printf("  the row of %s\n", r->flag ? r->flag : r->key);
			return;
		}
	}
}

/* Every row parses its default (and, without one, its example), within its range. */
TEST(every_row_parses_its_default_within_its_range)
{
	char buf[64], msg[256];
	for (size_t i = 0; i < amx_option_count; i++) {
		const struct amx_option *r = &amx_option_table[i];
		const char *v = sample(r, buf, sizeof(buf));
		CHECK(v != NULL);
		if (!v)
			continue;
		CHECK(amx_option_set(r, v, AMX_FROM_FILE, base_of(r), msg, sizeof(msg)));
		if (numeric(r)) {
			double d = strtod(v, NULL); /* N of N/S */
			CHECK(d >= r->min && d <= r->max && !(r->min_open && d == r->min));
		}
		if (r->implied)
			CHECK(amx_option_set(r, r->implied, AMX_FROM_FLAG, base_of(r), msg, sizeof(msg)));
		if (check_current_failed) {
			printf("  the row of %s: %s\n", r->flag ? r->flag : r->key, msg);
			return;
		}
	}
	amx_config_free_strings();
}

/* The policy's defaults are the one source; the options hold them in seconds. */
TEST(defaults_come_from_the_table_and_the_policy)
{
	struct amx_policy_config p;
	amx_policy_config_defaults(&p);
	amx_options_defaults(&opts);
	CHECK(opts.grace_s * 1000 == (double)p.grace_ms);
	CHECK(opts.manual_grace_s * 1000 == (double)p.manual_grace_ms);
	CHECK(opts.verify_timeout_s * 1000 == (double)p.verify_ms);
	CHECK(opts.budget_attempts == p.budget_attempts);
	CHECK(opts.budget_window_s * 1000 == (double)p.budget_window_ms);
	CHECK(opts.action_timeout_s == 30 && opts.notify_timeout_s == 10);
	CHECK(opts.notify_interval_s == 10 && opts.disk_threshold_pct == 80);
	CHECK(opts.probe_interval_s == 5 && opts.probe_timeout_s == 2 && opts.probe_failures == 3);
	CHECK_STR(opts.events_path, "/var/log/amexbpf/events.ndjson");
	CHECK_STR(opts.state_dir, "/var/lib/amexbpf");
	CHECK_STR(opts.notify_user, "nobody");
	CHECK(opts.bpf_mode == AMX_BPF_AUTO && !opts.no_journal && !opts.verbose);
	CHECK(opts.n_homes == 0 && !opts.ecosystem && !opts.pm2 && !opts.notify_level);
}

/* Each config key, with a valid value, in its section: no problem. */
TEST(every_config_key_is_accepted_by_the_loader)
{
	char buf[64], text[512], problems[1024];
	for (size_t i = 0; i < amx_option_count; i++) {
		const struct amx_option *r = &amx_option_table[i];
		if (!r->key)
			continue;
		const char *section = r->section == AMX_SECTION_HOME ? "home /h/.pm2"
				      : r->section == AMX_SECTION_APP ? "app web" : "amexbpf";
		int len = snprintf(text, sizeof(text), "[%s]\n%s = %s\n", section, r->key,
				   sample(r, buf, sizeof(buf)));
		FILE *f = fmemopen(text, (size_t)len, "r");
		memset(&opts, 0, sizeof(opts));
		CHECK(f && amx_config_read(f, "t.conf", &opts, problems, sizeof(problems)) == 0);
		if (f)
			fclose(f);
		if (check_current_failed) {
			printf("  %s", problems);
			return;
		}
	}
	amx_config_free_strings();
}

/* getopt_long over the array built from the table: each flag comes back as its row. */
TEST(getopt_from_the_table_accepts_every_flag)
{
	static struct amx_flags flags;
	char buf[64], name[64];
	amx_flags_build(&flags);
	for (size_t i = 0; i < amx_option_count; i++) {
		const struct amx_option *r = &amx_option_table[i];
		if (!r->flag)
			continue;
		for (int form = 0; form < (r->short_flag ? 2 : 1); form++) {
			const char *v = r->implied ? NULL : sample(r, buf, sizeof(buf));
			if (form)
				snprintf(name, sizeof(name), "-%c", r->short_flag);
			else
				snprintf(name, sizeof(name), "--%s", r->flag);
			char *argv[] = { "run", name, (char *)v, NULL };
			opterr = 0;
			optind = 1;
			int c = getopt_long(v ? 3 : 2, argv, flags.shortopts, flags.longopts, NULL);
			CHECK(amx_flags_row(c) == r);
			CHECK(!v || (optarg && !strcmp(optarg, v)));
			CHECK(optind == (v ? 3 : 2));
			if (check_current_failed) {
				printf("  %s\n", name);
				return;
			}
		}
	}
	char *help[] = { "run", "--help", NULL };
	optind = 1;
	CHECK(getopt_long(2, help, flags.shortopts, flags.longopts, NULL) == AMX_FLAG_HELP);
	char *unknown[] = { "run", "--colour", NULL };
	optind = 1;
	CHECK(amx_flags_row(getopt_long(2, unknown, flags.shortopts, flags.longopts, NULL)) == NULL);
}

/* One line naming the flag or the key, the value and what is allowed. */
TEST(a_bad_value_is_named_with_its_range)
{
	char msg[256];
	const struct amx_option *grace = amx_option_by_flag("grace");
	CHECK(grace && !amx_option_set(grace, "nan", AMX_FROM_FLAG, &opts, msg, sizeof(msg)));
	CHECK_STR(msg, "bad value for --grace: nan (seconds, 0 to 2592000)");
	CHECK(grace && !amx_option_set(grace, "soon", AMX_FROM_FILE, &opts, msg, sizeof(msg)));
	CHECK_STR(msg, "bad value for grace: soon (seconds, 0 to 2592000)");
	const struct amx_option *verify = amx_option_by_key(AMX_SECTION_GLOBAL, "verify_timeout");
	CHECK(verify && !amx_option_set(verify, "0", AMX_FROM_FILE, &opts, msg, sizeof(msg)));
	CHECK_STR(msg, "bad value for verify-timeout: 0 (seconds, more than 0, at most 2592000)");
	const struct amx_option *bpf = amx_option_by_key(AMX_SECTION_GLOBAL, "bpf");
	CHECK(bpf && !amx_option_set(bpf, "maybe", AMX_FROM_FILE, &opts, msg, sizeof(msg)));
	CHECK_STR(msg, "bad value for bpf: maybe (one of: auto, required, off)");
	/* a path: absolute in the file, the operator's own on the command line */
	const struct amx_option *events = amx_option_by_flag("events");
	CHECK(events && !amx_option_set(events, "e.ndjson", AMX_FROM_FILE, &opts, msg, sizeof(msg)));
	CHECK_STR(msg, "bad value for events: e.ndjson (an absolute path or -)");
	CHECK(events && amx_option_set(events, "e.ndjson", AMX_FROM_FLAG, &opts, msg, sizeof(msg)));
	CHECK(events && amx_option_set(events, "-", AMX_FROM_FILE, &opts, msg, sizeof(msg)));
	/* a list: full is its own message */
	const struct amx_option *disk = amx_option_by_flag("disk");
	memset(&opts, 0, sizeof(opts));
	for (int i = 0; disk && i < AMX_MAX_HOMES; i++)
		CHECK(amx_option_set(disk, "/", AMX_FROM_FLAG, &opts, msg, sizeof(msg)));
	CHECK(disk && !amx_option_set(disk, "/", AMX_FROM_FLAG, &opts, msg, sizeof(msg)));
	CHECK_STR(msg, "too many --disk (at most 64)");
	/* the CLI once let any level through; the hook then ran for nothing */
	const struct amx_option *level = amx_option_by_flag("notify-level");
	CHECK(level && !amx_option_set(level, "loud", AMX_FROM_FLAG, &opts, msg, sizeof(msg)));
}

/* A flag replaces the file's list; --pm2-home takes the [home] ecosystems with it. */
TEST(clearing_a_list)
{
	char msg[128];
	const struct amx_option *homes = amx_option_by_flag("pm2-home");
	memset(&opts, 0, sizeof(opts));
	opts.homes[0] = "/a/.pm2";
	opts.home_ecosystem[0] = "/a/eco.js";
	opts.n_homes = 1;
	amx_option_clear(homes, &opts);
	CHECK(opts.n_homes == 0 && opts.home_ecosystem[0] == NULL);
	CHECK(amx_option_set(homes, "/b/.pm2", AMX_FROM_FLAG, &opts, msg, sizeof(msg)));
	CHECK(opts.n_homes == 1 && !strcmp(opts.homes[0], "/b/.pm2"));
}

TEST(help_lines_name_the_flag_and_its_default)
{
	char buf[1024];
	for (size_t i = 0; i < amx_option_count; i++) {
		const struct amx_option *r = &amx_option_table[i];
		const char *h = amx_option_help(r, 88, buf, sizeof(buf));
		if (!r->flag) {
			CHECK(*h == '\0');
			continue;
		}
		char want[64];
		snprintf(want, sizeof(want), "--%s", r->flag);
		CHECK(strstr(h, want) != NULL);
		char def[64];
		const char *d = r->implied ? NULL : amx_option_default(r, def, sizeof(def));
		if (d) {
			snprintf(want, sizeof(want), "(default %s)", d);
			CHECK(strstr(h, want) != NULL);
		}
		for (const char *line = h; *line; line = strchr(line, '\n') + 1)
			CHECK(strchr(line, '\n') && strchr(line, '\n') - line <= 88);
		if (check_current_failed) {
			printf("%s", h);
			return;
		}
	}
	const struct amx_option *grace = amx_option_by_flag("grace");
	CHECK_STR(amx_option_help(grace, 88, buf, sizeof(buf)),
		  "  --grace S             wait for PM2's own restart after an exit (default 2)\n");
	const struct amx_option *verbose = amx_option_by_flag("verbose");
	CHECK_STR(amx_option_help(verbose, 88, buf, sizeof(buf)),
		  "  -v, --verbose         say more, including libbpf's messages\n");
}

TEST(seconds_and_numbers)
{
	double d = -1;
	CHECK(amx_parse_seconds("0", &d) && d == 0);
	CHECK(amx_parse_seconds("1.5", &d) && d == 1.5);
	CHECK(amx_parse_seconds("2592000", &d) && d == AMX_SECONDS_MAX);
	d = 7;
	static const char *const bad[] = { "", " ", "nan", "NAN", "-nan", "inf", "-inf", "infinity",
					   "1e999", "-1", "2592000.5", "1s", "1 ", "0x", "." };
	double x = 7;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(!amx_parse_seconds(bad[i], &d));
		CHECK(!amx_parse_number(bad[i], &x) || strcmp(bad[i], "-1") == 0 ||
		      strcmp(bad[i], "2592000.5") == 0);
	}
	CHECK(d == 7); /* untouched on failure */
	CHECK(amx_parse_number("-1", &x) && x == -1);
}

TEST(counts_bytes_budgets_bools)
{
	unsigned u = 9;
	CHECK(amx_parse_count("0", &u) && u == 0);
	CHECK(amx_parse_count("4294967295", &u) && u == 4294967295u);
	CHECK(!amx_parse_count("4294967296", &u) && !amx_parse_count("99999999999999999999", &u));
	CHECK(!amx_parse_count("", &u) && !amx_parse_count("-1", &u) && !amx_parse_count("+1", &u));
	CHECK(!amx_parse_count(" 1", &u) && !amx_parse_count("1 ", &u) && !amx_parse_count("1.0", &u));

	long long b = 0;
	CHECK(amx_parse_bytes("1G", &b) && b == 1ll << 30);
	CHECK(amx_parse_bytes("300m", &b) && b == 300ll << 20);
	CHECK(amx_parse_bytes("100", &b) && b == 100);
	CHECK(amx_parse_bytes("1048576G", &b) && b == AMX_BYTES_MAX);
	CHECK(!amx_parse_bytes("1048577G", &b) && !amx_parse_bytes("18446744073709551616", &b));
	CHECK(!amx_parse_bytes("", &b) && !amx_parse_bytes("G", &b) && !amx_parse_bytes("0", &b));
	CHECK(!amx_parse_bytes("-1", &b) && !amx_parse_bytes("1T", &b) && !amx_parse_bytes("1GG", &b));
	CHECK(!amx_parse_bytes("nan", &b) && !amx_parse_bytes(" 1", &b));

	unsigned n = 0;
	double w = 0;
	CHECK(amx_parse_budget("5/600", &n, &w) && n == 5 && w == 600);
	CHECK(amx_parse_budget("64/0.5", &n, &w) && n == 64 && w == 0.5);
	static const char *const bad_budgets[] = { "65/10", "0/10", "5", "5/", "/5", "5/0",
						   "5/nan", "5/inf", "5/600/1", "-5/600", "",
						   "99999999999/1" };
	for (size_t i = 0; i < sizeof(bad_budgets) / sizeof(bad_budgets[0]); i++)
		CHECK(!amx_parse_budget(bad_budgets[i], &n, &w));

	bool v = false;
	CHECK(amx_parse_bool("Off", &v) && !v);
	CHECK(amx_parse_bool("YES", &v) && v);
	CHECK(amx_parse_bool("0", &v) && !v);
	CHECK(!amx_parse_bool("maybe", &v) && !amx_parse_bool("", &v));
}

TEST(app_values)
{
	struct amx_probe_url u;
	CHECK(amx_probe_url_parse("http://127.0.0.1:3000/health", &u));
	CHECK_STR(u.host, "127.0.0.1");
	CHECK_STR(u.port, "3000");
	CHECK_STR(u.path, "/health");
	CHECK(amx_probe_url_parse("http://example.internal", &u) && !strcmp(u.port, "80") &&
	      !strcmp(u.path, "/"));
	CHECK(!amx_probe_url_parse("", &u) && !amx_probe_url_parse("ftp://x", &u));
	CHECK(!amx_probe_url_parse("http://x/\"a\"", &u) && !amx_probe_url_parse("http://x/a\tb", &u));
	CHECK(!amx_probe_url_parse("http://x:99999999999999999999/", &u));
	CHECK(amx_valid_probe("api=http://x/") && !amx_valid_probe("api=") && !amx_valid_probe(""));
	CHECK(amx_valid_memlimit("api=300M") && !amx_valid_memlimit("api=nan"));
	CHECK(!amx_valid_memlimit("api=99999999999999999999") && !amx_valid_memlimit(""));
	CHECK(amx_valid_retain("/logs=36500") && !amx_valid_retain("/logs=36501"));
	CHECK(!amx_valid_retain("/logs=99999999999999999999") && !amx_valid_retain("/logs="));
}

int main(void)
{
	RUN(rows_are_well_formed_and_unique);
	RUN(every_row_parses_its_default_within_its_range);
	RUN(defaults_come_from_the_table_and_the_policy);
	RUN(every_config_key_is_accepted_by_the_loader);
	RUN(getopt_from_the_table_accepts_every_flag);
	RUN(a_bad_value_is_named_with_its_range);
	RUN(clearing_a_list);
	RUN(help_lines_name_the_flag_and_its_default);
	RUN(seconds_and_numbers);
	RUN(counts_bytes_budgets_bools);
	RUN(app_values);
	CHECK_DONE();
}
