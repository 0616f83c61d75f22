/* SPDX-License-Identifier: MIT */
/* Unit tests of the pure parts of the health checks: memory limits, disk hysteresis, probe
 * URLs and HTTP status lines, retention specs and names. */
#include "check.h"
#include "core/option_table.h"
#include "daemon/disk.h"
#include "daemon/memwatch.h"
#include "daemon/probe.h"
#include "daemon/retain.h"

TEST(memory_limit_parse_and_choose)
{
	const char *app;
	size_t len;
	int64_t b;
	CHECK(amx_memlimit_parse("api=300M", &app, &len, &b) && len == 3 && b == 300ll << 20);
	CHECK(amx_memlimit_parse("a=b=1G", &app, &len, &b) && len == 3 && b == 1ll << 30);
	CHECK(!amx_memlimit_parse("api", &app, &len, &b));
	CHECK(!amx_memlimit_parse("=1G", &app, &len, &b));
	CHECK(!amx_memlimit_parse("api=", &app, &len, &b));
	CHECK(!amx_memlimit_parse("api=0", &app, &len, &b));
	CHECK(!amx_memlimit_parse("api=12X", &app, &len, &b));
	const char *limits[] = { "api=100M", "web=2G" };
	CHECK(amx_memlimit_for(limits, 2, "api", 500ll << 20) == 100ll << 20);
	CHECK(amx_memlimit_for(limits, 2, "ap", 500ll << 20) == 500ll << 20);
	CHECK(amx_memlimit_for(limits, 2, "other", -1) == AMX_DEFAULT_MEMORY_LIMIT);
	CHECK(amx_memlimit_for(NULL, 0, "api", 0) == AMX_DEFAULT_MEMORY_LIMIT);
}

TEST(disk_hysteresis_reports_once_each_way)
{
	bool known = false, over = false;
	/* --disk-threshold: PCT in (0, 100], the row of the option table */
	const struct amx_option *pct = amx_option_by_flag("disk-threshold");
	static struct amx_options o;
	char msg[256];
	CHECK(pct && amx_option_set(pct, "80", AMX_FROM_FLAG, &o, msg, sizeof(msg)) &&
	      o.disk_threshold_pct == 80);
	CHECK(pct && !amx_option_set(pct, "0", AMX_FROM_FLAG, &o, msg, sizeof(msg)) &&
	      !amx_option_set(pct, "101", AMX_FROM_FLAG, &o, msg, sizeof(msg)) &&
	      !amx_option_set(pct, "8x", AMX_FROM_FLAG, &o, msg, sizeof(msg)));
	CHECK(amx_disk_step(&known, &over, 50, 80) == AMX_DISK_SAME);       /* fine at start: quiet */
	CHECK(amx_disk_step(&known, &over, 80, 80) == AMX_DISK_WENT_OVER);
	CHECK(amx_disk_step(&known, &over, 90, 80) == AMX_DISK_SAME);
	CHECK(amx_disk_step(&known, &over, 79, 80) == AMX_DISK_SAME);       /* within hysteresis */
	CHECK(amx_disk_step(&known, &over, 80.5, 80) == AMX_DISK_SAME);
	CHECK(amx_disk_step(&known, &over, 77.9, 80) == AMX_DISK_WENT_OK);
	CHECK(amx_disk_step(&known, &over, 70, 80) == AMX_DISK_SAME);
	known = over = false;
	CHECK(amx_disk_step(&known, &over, 95, 80) == AMX_DISK_WENT_OVER);  /* over at start: said */
	struct statvfs v = { .f_blocks = 100, .f_bfree = 30, .f_bavail = 20 };
	CHECK(amx_disk_used_pct(&v) > 77.7 && amx_disk_used_pct(&v) < 77.8); /* 70 / 90, as df */
}

TEST(probe_url_parse)
{
	const char *app;
	size_t len;
	struct amx_probe_url u;
	CHECK(amx_probe_parse("api=http://127.0.0.1:3000/health", &app, &len, &u) && len == 3);
	CHECK(!strcmp(u.host, "127.0.0.1") && !strcmp(u.port, "3000") && !strcmp(u.path, "/health"));
	CHECK(amx_probe_parse("a=b=http://example.internal", &app, &len, &u) && len == 3);
	CHECK(!strcmp(u.host, "example.internal") && !strcmp(u.port, "80") && !strcmp(u.path, "/"));
	CHECK(!amx_probe_parse("api=https://x/", &app, &len, &u));
	CHECK(!amx_probe_parse("=http://x/", &app, &len, &u));
	CHECK(!amx_probe_parse("api=http://:80/", &app, &len, &u));
	CHECK(!amx_probe_parse("api=http://x:0/", &app, &len, &u));
	CHECK(!amx_probe_parse("api=http://x:70000/", &app, &len, &u));
	CHECK(!amx_probe_parse("api=http://x:8a/", &app, &len, &u));
	CHECK(!amx_probe_parse("api=http://x/a b", &app, &len, &u));
	CHECK(!amx_probe_parse("api=http://x/a\r\nX: y", &app, &len, &u));
}

TEST(probe_status_line)
{
	CHECK(amx_probe_status("HTTP/1.1 200 OK\r\n", 17) == 200);
	CHECK(amx_probe_status("HTTP/1.0 503 Busy", 17) == 503);
	CHECK(amx_probe_status("HTTP/1.1 20", 11) == -1); /* not yet */
	CHECK(amx_probe_status("SSH-2.0-OpenSSH", 15) == -1);
	CHECK(amx_probe_status("HTTP/1.1 2x0 OK", 15) == -1);
}

TEST(retain_parse_and_names)
{
	const char *dir;
	size_t len;
	unsigned days;
	CHECK(amx_retain_parse("/home/a/.pm2/logs=7", &dir, &len, &days) && days == 7 && len == 17);
	CHECK(!amx_retain_parse("logs=7", &dir, &len, &days)); /* relative */
	CHECK(!amx_retain_parse("/logs=0", &dir, &len, &days));
	CHECK(!amx_retain_parse("/logs=7d", &dir, &len, &days));
	CHECK(!amx_retain_parse("/logs", &dir, &len, &days));
	CHECK(amx_retain_name_matches("app-out.log"));
	CHECK(!amx_retain_name_matches(".log"));
	CHECK(!amx_retain_name_matches("app.log.1"));
	CHECK(!amx_retain_name_matches("app.LOG"));
}

int main(void)
{
	RUN(memory_limit_parse_and_choose);
	RUN(disk_hysteresis_reports_once_each_way);
	RUN(probe_url_parse);
	RUN(probe_status_line);
	RUN(retain_parse_and_names);
	CHECK_DONE();
}
