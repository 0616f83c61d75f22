/* SPDX-License-Identifier: MIT */
/* The one tier command builder: each tier's argv, hostile app names kept one word, the
 * systemd decisions of tier 2 (systemd is not PID 1 on the test machines: they are tested
 * here, as decisions on given facts), and the reading of the status query's answer. */
#include <string.h>

#include "check.h"
#include "core/tier_command.h"

static const char *const hostile_names[] = {
	"my app",          "it's \"quoted\"", "a;rm -rf /tmp/nothing", "$(touch /tmp/p)",
	"`touch /tmp/p`",  "line\nbreak",     "-x",                   "--help",
	"a b\tc",          "*",               "'",                    "",
};

static const char PM2[] = "/usr/lib/node_modules/pm2/bin/pm2";
static const char ECO[] = "/srv/app/ecosystem.config.js";
static const struct amx_user DEPLOY = { .uid = 1001, .gid = 1002, .name = "deploy",
					.home = "/home/deploy" };

static struct amx_tier_facts facts(const char *app, bool booted, bool active)
{
	return (struct amx_tier_facts){ .pm2 = PM2, .owner = &DEPLOY, .pm2_home = "/home/deploy/.pm2",
					.app = app, .ecosystem = ECO, .systemd_booted = booted,
					.unit_active = active };
}

static bool argv_is(const struct amx_argv *a, const char *const *want, int n)
{
	if (a->n != n || a->v[n] != NULL)
		return false;
	for (int i = 0; i < n; i++)
		if (strcmp(a->v[i], want[i]) != 0)
			return false;
	return true;
}

TEST(argv_keeps_each_name_one_word)
{
	struct amx_argv a;

	for (size_t i = 0; i < sizeof(hostile_names) / sizeof(hostile_names[0]); i++) {
		const char *name = hostile_names[i];

		if (!name[0])
			continue;
		CHECK(amx_pm2_argv(&a, 1, PM2, name, NULL));
		CHECK(a.n == 3);
		CHECK(a.v[0] == PM2);
		CHECK_STR(a.v[1], "restart");
		CHECK(a.v[2] == name);
		CHECK(a.v[3] == NULL);

		CHECK(amx_pm2_argv(&a, 3, PM2, name, ECO));
		CHECK(a.n == 7);
		CHECK(a.v[0] == PM2);
		CHECK_STR(a.v[1], "start");
		CHECK(a.v[2] == ECO);
		CHECK_STR(a.v[3], "--env");
		CHECK_STR(a.v[4], "production");
		CHECK_STR(a.v[5], "--only");
		CHECK(a.v[6] == name);
		CHECK(a.v[7] == NULL);
	}

	CHECK(amx_pm2_argv(&a, 2, PM2, "ignored", NULL));
	CHECK(a.n == 2);
	CHECK_STR(a.v[1], "resurrect");
	CHECK(a.v[2] == NULL);

	CHECK(amx_pm2_argv(&a, AMX_TIER_STATUS, PM2, NULL, NULL));
	CHECK(a.n == 2);
	CHECK_STR(a.v[1], "jlist");
	CHECK(a.v[2] == NULL);
}

TEST(argv_refuses_missing_parts)
{
	struct amx_argv a;

	CHECK(!amx_pm2_argv(&a, 3, "/bin/pm2", "api", NULL));
	CHECK(!amx_pm2_argv(&a, 3, "/bin/pm2", "api", ""));
	CHECK(!amx_pm2_argv(&a, 3, "/bin/pm2", NULL, "/srv/eco.js"));
	CHECK(!amx_pm2_argv(&a, 1, "/bin/pm2", NULL, NULL));
	CHECK(!amx_pm2_argv(&a, 1, "/bin/pm2", "", NULL));
	CHECK(!amx_pm2_argv(&a, 4, "/bin/pm2", "api", "/srv/eco.js"));
	CHECK(!amx_pm2_argv(&a, 1, NULL, "api", NULL));
}

/* Tiers 1, 3 and the status query never go through systemd, whatever it says. */
TEST(app_tiers_are_pm2_whatever_systemd_says)
{
	struct amx_tier_command cmd;

	for (int booted = 0; booted < 2; booted++)
		for (int active = 0; active < 2; active++) {
			struct amx_tier_facts f = facts("a;b $(x)", booted, active);
			const char *t1[] = { PM2, "restart", "a;b $(x)" };
			const char *t3[] = { PM2, "start", ECO, "--env", "production", "--only", "a;b $(x)" };
			const char *st[] = { PM2, "jlist" };

			CHECK(amx_tier_command(&cmd, 1, &f) && argv_is(&cmd.argv, t1, 3) && !cmd.as_root);
			CHECK(amx_tier_command(&cmd, 3, &f) && argv_is(&cmd.argv, t3, 7) && !cmd.as_root);
			CHECK(amx_tier_command(&cmd, AMX_TIER_STATUS, &f) && argv_is(&cmd.argv, st, 2));
		}
}

/* One instance over its memory limit: tier 1 restarts that pm_id only; tier 3 still names
 * the app. */
TEST(tier1_of_one_instance_restarts_its_pm_id)
{
	struct amx_tier_command cmd;
	struct amx_tier_facts f = facts("web", false, false);
	const char *t1[] = { PM2, "restart", "3" };
	const char *t3[] = { PM2, "start", ECO, "--env", "production", "--only", "web" };

	f.instance = "3";
	CHECK(amx_tier_command(&cmd, 1, &f) && argv_is(&cmd.argv, t1, 3));
	CHECK(amx_tier_command(&cmd, 3, &f) && argv_is(&cmd.argv, t3, 7));
}

TEST(tier3_needs_an_ecosystem_and_an_app)
{
	struct amx_tier_command cmd;
	struct amx_tier_facts f = facts("api", false, false);

	f.ecosystem = NULL;
	CHECK(!amx_tier_command(&cmd, 3, &f));
	f = facts(NULL, false, false);
	CHECK(!amx_tier_command(&cmd, 3, &f));
	CHECK(!amx_tier_command(&cmd, 1, &f));
	CHECK(!amx_tier_command(&cmd, 7, &f));
	f.pm2 = NULL;
	CHECK(!amx_tier_command(&cmd, 2, &f));
	CHECK(!amx_tier_command(&cmd, 2, NULL));
}

/* Restarting the owner's active PM2 unit needs no pm2 of ours: the unit names its own. A
 * transient unit does (it runs `pm2 resurrect`). */
TEST(tier2_unit_restart_needs_no_pm2)
{
	struct amx_tier_command cmd;
	struct amx_tier_facts f = facts(NULL, true, true);

	f.pm2 = NULL;
	CHECK(amx_tier_command(&cmd, 2, &f) && cmd.as_root && cmd.argv.n == 3);
	CHECK_STR(cmd.argv.v[1], "restart");
	f = facts(NULL, true, false);
	f.pm2 = "";
	CHECK(!amx_tier_command(&cmd, 2, &f));
	CHECK(!amx_tier_command(&cmd, 1, &f));
}

TEST(pm2_commands_carry_the_homes_node)
{
	struct amx_tier_command cmd;
	struct amx_tier_facts f = facts("api", false, false);

	f.node = "/home/u/.nvm/versions/node/v20/bin/node";
	CHECK(amx_tier_command(&cmd, 1, &f) && cmd.argv.node == f.node);
	CHECK(amx_tier_command(&cmd, 2, &f) && cmd.argv.node == f.node);
	/* a transient unit gets no PATH of ours: it is named on its command line */
	f = facts(NULL, true, false);
	f.node = "/home/u/.nvm/versions/node/v20/bin/node";
	CHECK(amx_tier_command(&cmd, 2, &f) && cmd.as_root && cmd.argv.n == 13);
	CHECK_STR(cmd.argv.v[10], "--setenv=PATH=/home/u/.nvm/versions/node/v20/bin:/usr/local/bin:/usr/bin:/bin");
	CHECK_STR(cmd.argv.v[12], "resurrect");
	{
		/* word for word: nothing else of ours reaches the unit's environment */
		const char *want[] = { "/usr/bin/systemd-run", "--quiet", "--collect",
				       "--unit=amexbpf-pm2-deploy", "--uid=1001", "--gid=1002",
				       "--setenv=PM2_HOME=/home/deploy/.pm2",
				       "--setenv=HOME=/home/deploy", "--property=Type=forking",
				       "--property=PIDFile=/home/deploy/.pm2/pm2.pid",
				       "--setenv=PATH=/home/u/.nvm/versions/node/v20/bin:/usr/local/bin:/usr/bin:/bin",
				       PM2, "resurrect" };
		CHECK(argv_is(&cmd.argv, want, 13));
		CHECK(cmd.argv.node == NULL); /* systemd-run itself needs no node */
	}
	f = facts("api", false, false);
	CHECK(amx_tier_command(&cmd, 1, &f) && cmd.argv.node == NULL);
	CHECK(!strcmp(amx_tools_source_name(AMX_TOOLS_DAEMON), "daemon"));
	CHECK(!strcmp(amx_tools_source_name(AMX_TOOLS_NONE), "none"));
}

TEST(tier2_without_systemd_is_pm2_resurrect)
{
	struct amx_tier_command cmd;
	struct amx_tier_facts f = facts(NULL, false, true); /* an "active" unit means nothing */
	const char *want[] = { PM2, "resurrect" };

	CHECK(amx_tier_command(&cmd, 2, &f));
	CHECK(argv_is(&cmd.argv, want, 2));
	CHECK(!cmd.as_root);
}

TEST(tier2_restarts_the_owners_active_unit)
{
	struct amx_tier_command cmd;
	struct amx_tier_facts f = facts(NULL, true, true);
	const char *want[] = { "/usr/bin/systemctl", "restart", "pm2-deploy.service" };

	CHECK(amx_tier_command(&cmd, 2, &f));
	CHECK(argv_is(&cmd.argv, want, 3));
	CHECK(cmd.as_root);
}

TEST(tier2_without_a_unit_runs_in_a_transient_one)
{
	struct amx_tier_command cmd;
	struct amx_tier_facts f = facts(NULL, true, false);

	CHECK(amx_tier_command(&cmd, 2, &f));
	CHECK(cmd.as_root);
	CHECK(cmd.argv.n == 12 && cmd.argv.v[12] == NULL);
	CHECK_STR(cmd.argv.v[0], "/usr/bin/systemd-run");
	CHECK_STR(cmd.argv.v[3], "--unit=amexbpf-pm2-deploy");
	CHECK_STR(cmd.argv.v[4], "--uid=1001");
	CHECK_STR(cmd.argv.v[5], "--gid=1002");
	CHECK_STR(cmd.argv.v[6], "--setenv=PM2_HOME=/home/deploy/.pm2");
	CHECK_STR(cmd.argv.v[7], "--setenv=HOME=/home/deploy");
	CHECK_STR(cmd.argv.v[9], "--property=PIDFile=/home/deploy/.pm2/pm2.pid");
	CHECK(cmd.argv.v[10] == PM2);
	CHECK_STR(cmd.argv.v[11], "resurrect");
}

/* A user name that cannot be a unit's: neither systemctl nor systemd-run gets it; plain
 * `pm2 resurrect` as the owner is what is left. */
TEST(tier2_odd_user_names_never_reach_systemd)
{
	static const char *const odd[] = { "x;y", "a b", "$(id)", "../x", "", "p\nq" };
	const char *want[] = { PM2, "resurrect" };

	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		struct amx_user u = DEPLOY;
		struct amx_tier_command cmd;
		struct amx_argv a;
		struct amx_sdrun_buf b;
		char unit[64];

		strcpy(u.name, odd[i]);
		for (int active = 0; active < 2; active++) {
			struct amx_tier_facts f = facts(NULL, true, active);

			f.owner = &u;
			CHECK(amx_tier_command(&cmd, 2, &f));
			CHECK(argv_is(&cmd.argv, want, 2) && !cmd.as_root);
		}
		CHECK(!amx_pm2_unit_name(u.name, unit, sizeof(unit)) && unit[0] == '\0');
		CHECK(!amx_sdrun_tier2_argv(&a, &b, PM2, NULL, &u, "/h"));
	}
}

TEST(tier2_systemd_decision_table)
{
	CHECK(amx_tier2_use_systemd(true, true));
	CHECK(!amx_tier2_use_systemd(true, false));
	CHECK(!amx_tier2_use_systemd(false, true));
	CHECK(!amx_tier2_use_systemd(false, false));
}

TEST(unit_name_and_its_question)
{
	char unit[64], tiny[8];
	struct amx_argv a;
	const char *want[] = { "/usr/bin/systemctl", "is-active", "pm2-deploy.service" };

	CHECK(amx_pm2_unit_name("deploy", unit, sizeof(unit)));
	CHECK_STR(unit, "pm2-deploy.service");
	CHECK(!amx_pm2_unit_name("deploy", tiny, sizeof(tiny)));
	amx_unit_active_argv(&a, unit);
	CHECK(argv_is(&a, want, 3));
}

/* systemd restarting the unit by itself (Restart=on-failure after the daemon died) reads
 * deactivating, then activating: still the unit's to bring back, never a resurrect of ours. */
TEST(a_unit_on_its_way_back_is_systemds)
{
	CHECK(amx_unit_state_is_systemds(true, NULL, 0));
	CHECK(amx_unit_state_is_systemds(false, "activating\n", 11));
	CHECK(amx_unit_state_is_systemds(false, "deactivating\n", 13));
	CHECK(amx_unit_state_is_systemds(false, "reloading", 9));
	CHECK(!amx_unit_state_is_systemds(false, "inactive\n", 9));
	CHECK(!amx_unit_state_is_systemds(false, "failed\n", 7));
	CHECK(!amx_unit_state_is_systemds(false, "activatingx\n", 12));
	CHECK(!amx_unit_state_is_systemds(false, NULL, 0));
}

TEST(sdrun_paths_that_do_not_fit_are_refused)
{
	static char home[5000];
	struct amx_argv a;
	struct amx_sdrun_buf b;

	memset(home, 'h', sizeof(home) - 1);
	home[0] = '/';
	CHECK(!amx_sdrun_tier2_argv(&a, &b, PM2, NULL, &DEPLOY, home));
}

TEST(status_answer_from_jlist)
{
	struct amx_dump_app apps[5] = {
		{ .name = "on", .status = AMX_ST_ONLINE, .pid = 10 },
		{ .name = "off", .status = AMX_ST_STOPPED },
		{ .name = "err", .status = AMX_ST_ERRORED },
		{ .name = "up", .status = AMX_ST_LAUNCHING },
		{ .name = "wait", .status = AMX_ST_WAITING_RESTART },
	};
	struct amx_dump list = { .apps = apps, .n_apps = 5 };

	CHECK(amx_jlist_status(&list, "on", true) == AMX_PM2_ONLINE);
	CHECK(amx_jlist_status(&list, "on", false) == AMX_PM2_TRANSIENT);
	CHECK(amx_jlist_status(&list, "off", false) == AMX_PM2_STOPPED);
	CHECK(amx_jlist_status(&list, "err", true) == AMX_PM2_ERRORED);
	CHECK(amx_jlist_status(&list, "up", false) == AMX_PM2_TRANSIENT);
	CHECK(amx_jlist_status(&list, "wait", false) == AMX_PM2_TRANSIENT);
	CHECK(amx_jlist_status(&list, "gone", false) == AMX_PM2_MISSING);
	CHECK(amx_jlist_status(NULL, "on", true) == AMX_PM2_UNKNOWN);
}

/* jlist has one entry per instance: the app's answer is its worst instance's. */
TEST(status_answer_of_instances_is_the_worst)
{
	struct amx_dump_app apps[5] = {
		{ .name = "web", .status = AMX_ST_ONLINE, .pid = 10 },
		{ .name = "web", .status = AMX_ST_ERRORED },
		{ .name = "job", .status = AMX_ST_ONLINE, .pid = 11 },
		{ .name = "job", .status = AMX_ST_LAUNCHING },
		{ .name = "job", .status = AMX_ST_ONLINE, .pid = 12 },
	};
	struct amx_dump list = { .apps = apps, .n_apps = 5 };

	CHECK(amx_jlist_status(&list, "web", true) == AMX_PM2_ERRORED);
	CHECK(amx_jlist_status(&list, "job", true) == AMX_PM2_TRANSIENT);
	apps[3].status = AMX_ST_ONLINE;
	CHECK(amx_jlist_status(&list, "job", true) == AMX_PM2_ONLINE);
}

int main(void)
{
	RUN(argv_keeps_each_name_one_word);
	RUN(argv_refuses_missing_parts);
	RUN(app_tiers_are_pm2_whatever_systemd_says);
	RUN(tier1_of_one_instance_restarts_its_pm_id);
	RUN(tier3_needs_an_ecosystem_and_an_app);
	RUN(tier2_unit_restart_needs_no_pm2);
	RUN(pm2_commands_carry_the_homes_node);
	RUN(tier2_without_systemd_is_pm2_resurrect);
	RUN(tier2_restarts_the_owners_active_unit);
	RUN(tier2_without_a_unit_runs_in_a_transient_one);
	RUN(tier2_odd_user_names_never_reach_systemd);
	RUN(tier2_systemd_decision_table);
	RUN(unit_name_and_its_question);
	RUN(a_unit_on_its_way_back_is_systemds);
	RUN(sdrun_paths_that_do_not_fit_are_refused);
	RUN(status_answer_from_jlist);
	RUN(status_answer_of_instances_is_the_worst);
	CHECK_DONE();
}
