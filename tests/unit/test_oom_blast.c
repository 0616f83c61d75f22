// SPDX-License-Identifier: MIT
/* The OOM blast radius (core/oom_blast.h): which unit answers warn, and which exits are an
 * OOM kill's collateral. */
#include "check.h"
#include "core/oom_blast.h"

static enum amx_oom_policy parse(const char *s)
{
	return amx_oom_policy_parse(s, strlen(s));
}

TEST(systemd_default_stop_warns)
{
	enum amx_oom_policy p = parse("LoadState=loaded\nOOMPolicy=stop\n");
	CHECK(p == AMX_OOMPOL_STOP && amx_oom_policy_warns(p));
	/* the order of the lines is systemd's, not the question's */
	p = parse("OOMPolicy=kill\nLoadState=loaded\n");
	CHECK(p == AMX_OOMPOL_KILL && amx_oom_policy_warns(p));
	CHECK_STR(amx_oom_policy_name(AMX_OOMPOL_STOP), "stop");
}

TEST(the_dropin_silences_it)
{
	enum amx_oom_policy p = parse("LoadState=loaded\nOOMPolicy=continue");
	CHECK(p == AMX_OOMPOL_CONTINUE && !amx_oom_policy_warns(p));
}

TEST(a_missing_unit_does_not_warn)
{
	/* systemctl show prints the defaults for a unit that does not exist */
	enum amx_oom_policy p = parse("LoadState=not-found\nOOMPolicy=stop\n");
	CHECK(p == AMX_OOMPOL_NOT_LOADED && !amx_oom_policy_warns(p));
	CHECK(parse("LoadState=masked\nOOMPolicy=stop\n") == AMX_OOMPOL_NOT_LOADED);
}

TEST(garbage_is_unknown)
{
	CHECK(parse("") == AMX_OOMPOL_UNKNOWN);
	CHECK(amx_oom_policy_parse(NULL, 0) == AMX_OOMPOL_UNKNOWN);
	CHECK(parse("OOMPolicy=stop\n") == AMX_OOMPOL_UNKNOWN); /* no LoadState */
	CHECK(parse("LoadState=loaded\nOOMPolicy=stopped\n") == AMX_OOMPOL_UNKNOWN);
	CHECK(parse("LoadState=loaded\nXOOMPolicy=stop\n") == AMX_OOMPOL_UNKNOWN);
	CHECK(!amx_oom_policy_warns(AMX_OOMPOL_UNKNOWN));
	/* only the first 4 kB are read */
	char big[8192];
	memset(big, 'x', sizeof(big));
	memcpy(big, "LoadState=loaded\n", 17);
	memcpy(big + 6000, "\nOOMPolicy=stop\n", 16);
	CHECK(amx_oom_policy_parse(big, sizeof(big)) == AMX_OOMPOL_UNKNOWN);
}

TEST(exits_soon_after_are_collateral)
{
	struct amx_oom_mark m = { .at_ms = 100000, .pid = 42, .app = "hog" };
	CHECK(amx_oom_collateral(&m, 100000, 43, false));
	CHECK(amx_oom_collateral(&m, 100000 + AMX_OOM_COLLATERAL_MS, 43, false));
	CHECK(!amx_oom_collateral(&m, 100001 + AMX_OOM_COLLATERAL_MS, 43, false));
}

TEST(the_victim_and_other_victims_are_not)
{
	struct amx_oom_mark m = { .at_ms = 100000, .pid = 42, .app = "hog" };
	CHECK(!amx_oom_collateral(&m, 100500, 42, false));
	CHECK(!amx_oom_collateral(&m, 100500, 43, true)); /* an OOM victim of its own */
	CHECK(!amx_oom_collateral(&m, 99000, 43, false)); /* before the kill */
	struct amx_oom_mark none = { 0 };
	CHECK(!amx_oom_collateral(&none, 100500, 43, false));
	CHECK(!amx_oom_collateral(NULL, 100500, 43, false));
}

int main(void)
{
	RUN(systemd_default_stop_warns);
	RUN(the_dropin_silences_it);
	RUN(a_missing_unit_does_not_warn);
	RUN(garbage_is_unknown);
	RUN(exits_soon_after_are_collateral);
	RUN(the_victim_and_other_victims_are_not);
	CHECK_DONE();
}
