/* SPDX-License-Identifier: MIT */
/* Tier 2 through systemd-run: the argv puts the daemon in its own unit, as the owner. */
#include <string.h>

#include "check.h"
#include "sys/sdrun.h"

TEST(argv_runs_resurrect_in_a_unit_of_its_own)
{
	struct amx_user u = { .uid = 1001, .gid = 1002, .name = "deploy", .home = "/home/deploy" };
	struct amx_argv a;
	struct amx_sdrun_buf b;
	CHECK(amx_sdrun_tier2_argv(&a, &b, "/usr/bin/pm2", &u, "/home/deploy/.pm2"));
	CHECK(a.n == 12 && a.v[12] == NULL);
	CHECK(!strcmp(a.v[0], "/usr/bin/systemd-run"));
	CHECK(!strcmp(a.v[3], "--unit=amexbpf-pm2-deploy"));
	CHECK(!strcmp(a.v[4], "--uid=1001") && !strcmp(a.v[5], "--gid=1002"));
	CHECK(!strcmp(a.v[6], "--setenv=PM2_HOME=/home/deploy/.pm2"));
	CHECK(!strcmp(a.v[9], "--property=PIDFile=/home/deploy/.pm2/pm2.pid"));
	CHECK(!strcmp(a.v[10], "/usr/bin/pm2") && !strcmp(a.v[11], "resurrect"));
}

TEST(odd_user_names_are_refused)
{
	struct amx_user u = { .uid = 1, .gid = 1, .name = "x;y", .home = "/" };
	struct amx_argv a;
	struct amx_sdrun_buf b;
	CHECK(!amx_sdrun_tier2_argv(&a, &b, "/usr/bin/pm2", &u, "/h"));
}

int main(void)
{
	RUN(argv_runs_resurrect_in_a_unit_of_its_own);
	RUN(odd_user_names_are_refused);
	CHECK_DONE();
}
