/* SPDX-License-Identifier: MIT */
/* The `amexbpf top` frame layout, without a terminal: every row exactly the frame's
 * width at 80, 100, 120 and 200 columns; what each part shows; styles (colours) by status
 * and level; bars in UTF-8 and ASCII; hostile names; sorting, filtering, pausing;
 * "too small" below 80x24. */
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "top/top_render.h"

static json_t *status_doc(void)
{
	json_error_t e;
	json_t *s = json_load_file("tests/unit/fixtures/top_status.json", 0, &e);
	if (!s)
		fprintf(stderr, "fixture: %s\n", e.text);
	return s;
}

static void load_events(struct top_events *ev)
{
	top_events_init(ev, 8);
	FILE *f = fopen("tests/unit/fixtures/top_events.ndjson", "r");
	char line[4096];
	while (f && fgets(line, sizeof(line), f))
		top_events_push(ev, json_loads(line, 0, NULL));
	if (f)
		fclose(f);
}

struct fixture {
	struct top_view v;
	struct top_events ev;
	struct top_frame f;
};

static void fx_init(struct fixture *x, int w, int h, bool utf8)
{
	memset(x, 0, sizeof(*x));
	load_events(&x->ev);
	x->v.status = status_doc();
	x->v.connected = true;
	x->v.events = &x->ev;
	x->v.utf8 = utf8;
	x->v.socket_path = "/run/amexbpf/amexbpf.sock";
	x->f.w = w;
	x->f.h = h;
}

static void fx_free(struct fixture *x)
{
	json_decref(x->v.status);
	top_events_free(&x->ev);
	top_frame_free(&x->f);
}

static char row_buf[4096];
static const char *row(struct fixture *x, int r)
{
	return top_frame_row(&x->f, r, row_buf, sizeof(row_buf));
}

/* The first row containing needle, or -1. */
static int find_row(struct fixture *x, const char *needle)
{
	for (int r = 0; r < x->f.rows; r++)
		if (strstr(row(x, r), needle))
			return r;
	return -1;
}

static int style_at(struct fixture *x, int r, const char *needle)
{
	const char *t = row(x, r), *p = strstr(t, needle);
	if (!p)
		return -1;
	/* needle's byte offset to a column: count characters before it. */
	int col = 0;
	for (const char *q = t; q < p; q++)
		if (((unsigned char)*q & 0xc0) != 0x80)
			col++;
	return x->f.cells[(size_t)r * (size_t)x->f.w + (size_t)col].style;
}

TEST(every_row_is_the_frame_width_at_several_widths)
{
	static const int widths[] = { 80, 100, 120, 200 };
	for (int utf8 = 0; utf8 < 2; utf8++)
		for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
			struct fixture x;
			fx_init(&x, widths[i], 0, utf8);
			top_render(&x.v, &x.f);
			CHECK(x.f.rows > 10);
			for (int r = 0; r < x.f.rows; r++)
				CHECK(top_text_width(row(&x, r), utf8) == widths[i]);
			int a = find_row(&x, "demo-api  ");
			CHECK(a > 0 && strstr(row(&x, a), " 1234 online "));
			fx_free(&x);
		}
}

TEST(header_home_and_columns)
{
	struct fixture x;
	fx_init(&x, 120, 32, true);
	top_render(&x.v, &x.f);
	CHECK(x.f.rows == 32);
	CHECK(strncmp(row(&x, 0), "amexbpf 0.1.0 on vm \u00b7 up 1h10m \u00b7 pid 123 \u00b7 source bpf/tp_btf", 60) == 0);
	CHECK(strstr(row(&x, 1), "lost 0 (bpf 0, inotify 0)"));
	CHECK(strstr(row(&x, 1), "latency p50 80\u00b5s p99 900\u00b5s (60s)"));
	CHECK(strstr(row(&x, 2), "exit_btf 100 runs 500ns"));
	CHECK(strstr(row(&x, 3), "home /home/u/.pm2 (u) \u00b7 God 1000 up \u00b7 dump valid, 4 apps, saved 5m00s ago"));
	CHECK(strncmp(row(&x, 4), "NAME ", 5) == 0 && strstr(row(&x, 4), "LAST EXIT"));
	CHECK(strncmp(row(&x, 31), " q quit", 7) == 0 && strstr(row(&x, 31), "\u25cf connected"));
	int w = find_row(&x, "worker  ");
	CHECK(w > 0 && strstr(row(&x, w), " code 1 ") && strstr(row(&x, w), "parked"));
	CHECK(style_at(&x, w, "parked") == TS_CRIT);
	CHECK(style_at(&x, w, "errored") == TS_ERR);
	int h = find_row(&x, "hog  ");
	CHECK(h > 0 && strstr(row(&x, h), "OOM SIGKILL"));
	CHECK(style_at(&x, h, "OOM SIGKILL") == TS_CRIT);
	CHECK(style_at(&x, h, "online") == TS_OK);
	/* 944 MiB of 1 GiB: a high bar, red. */
	CHECK(style_at(&x, h, "\u2588") == TS_ERR);
	fx_free(&x);
}

TEST(ascii_fallback_has_only_ascii)
{
	struct fixture x;
	fx_init(&x, 100, 30, false);
	top_render(&x.v, &x.f);
	for (int r = 0; r < x.f.rows; r++)
		for (const char *p = row(&x, r); *p; p++)
			CHECK((unsigned char)*p < 0x80);
	int h = find_row(&x, "hog  ");
	CHECK(h > 0 && strstr(row(&x, h), "944M ####"));
	CHECK(strstr(row(&x, 1), "p50 80us"));
	fx_free(&x);
}

TEST(hostile_name_cannot_reach_the_terminal)
{
	struct fixture x;
	fx_init(&x, 120, 32, true);
	top_render(&x.v, &x.f);
	int e = find_row(&x, "evil");
	CHECK(e > 0 && strstr(row(&x, e), "evil?[31m?name"));
	for (int r = 0; r < x.f.rows; r++)
		for (const char *p = row(&x, r); *p; p++)
			CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
	fx_free(&x);
}

TEST(events_newest_first_coloured_by_level)
{
	struct fixture x;
	fx_init(&x, 120, 32, true);
	top_render(&x.v, &x.f);
	int parked = find_row(&x, "recovery-parked"), restarted = find_row(&x, "pm2-restarted-app"),
	    exited = find_row(&x, "process-exited");
	CHECK(parked > 0 && parked < restarted && restarted < exited);
	CHECK(style_at(&x, parked, "CRIT") == TS_CRIT);
	CHECK(style_at(&x, exited, "ERR") == TS_ERR);
	CHECK(strstr(row(&x, exited), "(seen in 93\u00b5s)"));
	fx_free(&x);
}

/* An exit in the wake of another app's OOM kill says so on its row. */
TEST(collateral_exit_names_the_oom_victim)
{
	struct fixture x;
	fx_init(&x, 200, 32, false);
	top_events_push(&x.ev, json_loads("{\"log\":{\"level\":\"error\"},\"message\":\"web exited (SIGTERM)\","
		"\"event\":{\"action\":\"process-exited\",\"sequence\":18},\"service\":{\"name\":\"web\"},"
		"\"amexbpf\":{\"cause\":\"killed\",\"collateral\":true,"
		"\"collateral_of\":{\"pid\":2222,\"app\":\"hog\"}}}", 0, NULL));
	top_render(&x.v, &x.f);
	CHECK(find_row(&x, "web exited (SIGTERM) [killed] [collateral of hog's OOM kill, pid 2222]") > 0);
	fx_free(&x);
}

TEST(pause_holds_the_pane_and_counts_what_is_new)
{
	struct fixture x;
	fx_init(&x, 120, 32, true);
	x.v.paused = true;
	x.v.paused_total = x.ev.total;
	top_events_push(&x.ev, json_loads("{\"log\":{\"level\":\"info\"},\"message\":\"later\","
					   "\"event\":{\"action\":\"dump-changed\",\"sequence\":9}}", 0, NULL));
	top_render(&x.v, &x.f);
	CHECK(find_row(&x, "later") < 0);
	CHECK(find_row(&x, "PAUSED, 1 new") > 0);
	x.v.paused = false;
	top_render(&x.v, &x.f);
	CHECK(find_row(&x, "later") > 0);
	fx_free(&x);
}

TEST(sort_and_filter)
{
	struct fixture x;
	fx_init(&x, 120, 32, true);
	struct top_app apps[8];
	CHECK(top_apps(&x.v, apps, 8) == 4);
	CHECK_STR(apps[0].name, "demo-api");
	CHECK_STR(apps[3].name, "worker");
	x.v.sort = SORT_MEM;
	top_apps(&x.v, apps, 8);
	CHECK_STR(apps[0].name, "hog");
	x.v.sort = SORT_STATUS;
	top_apps(&x.v, apps, 8);
	CHECK_STR(apps[0].name, "worker");
	x.v.sort = SORT_RESTARTS;
	top_apps(&x.v, apps, 8);
	CHECK_STR(apps[0].name, "worker");
	x.v.sort = SORT_NAME;
	strcpy(x.v.filter, "WOR");
	CHECK(top_apps(&x.v, apps, 8) == 1);
	top_render(&x.v, &x.f);
	CHECK(find_row(&x, "demo-api  ") < 0);
	CHECK(find_row(&x, "PM2 restarted demo-api") < 0); /* its events are filtered too */
	CHECK(find_row(&x, "budget spent for worker") > 0);
	fx_free(&x);
}

TEST(disconnected_says_so_and_keeps_the_last_state)
{
	struct fixture x;
	fx_init(&x, 80, 24, true);
	x.v.connected = false;
	x.v.problem = "Connection refused";
	top_render(&x.v, &x.f);
	CHECK(strstr(row(&x, 0), "no answer on /run/amexbpf/amexbpf.sock, retrying every second: Co"));
	CHECK(style_at(&x, 0, "no answer") == TS_CRIT);
	CHECK(strstr(row(&x, 23), "reconnecting"));
	CHECK(find_row(&x, "demo-api  ") > 0);
	json_decref(x.v.status);
	x.v.status = NULL;
	top_render(&x.v, &x.f);
	CHECK(strstr(row(&x, 0), "retrying every second"));
	CHECK(x.f.rows == 24);
	fx_free(&x);
}

TEST(too_small_and_overlays)
{
	struct fixture x;
	fx_init(&x, 79, 24, true);
	top_render(&x.v, &x.f);
	CHECK(find_row(&x, "needs 80x24; this terminal is 79x24") > 0);
	top_frame_free(&x.f);
	x.f = (struct top_frame){ .w = 80, .h = 24 };
	x.v.overlay = OVERLAY_HELP;
	top_render(&x.v, &x.f);
	CHECK(find_row(&x, "pause or resume the event pane") > 0);
	x.v.overlay = OVERLAY_HISTORY;
	x.v.history_app = "demo-api";
	top_render(&x.v, &x.f);
	CHECK(find_row(&x, " History of demo-api") > 0);
	CHECK(find_row(&x, "pm2-restarted-app") > 0);
	CHECK(find_row(&x, "recovery-parked") < 0);
	CHECK(x.f.rows == 24);
	fx_free(&x);
}

/* An app of two instances: "2/2 online" on its one line; its history lists each process. */
TEST(instances_show_as_counts_and_expand_in_history)
{
	struct fixture x;
	fx_init(&x, 100, 30, false);
	json_t *apps = json_object_get(json_array_get(json_object_get(x.v.status, "homes"), 0), "apps");
	json_array_append_new(apps, json_pack(
		"{s:s, s:i, s:s, s:s, s:i, s:i, s:[{s:i, s:i, s:i, s:i}, {s:i, s:i, s:n, s:i}]}",
		"name", "web", "pid", 4100, "status", "online", "state", "alive", "uptime_s", 5,
		"instances_online", 1, "instances",
		"pm_id", 0, "instance", 0, "pid", 4100, "restarts_pm2", 2,
		"pm_id", 3, "instance", 1, "pid", "restarts_pm2", 0));
	top_render(&x.v, &x.f);
	CHECK(find_row(&x, "1/2 online") > 0);
	top_frame_free(&x.f);
	x.f = (struct top_frame){ .w = 100, .h = 30 };
	x.v.overlay = OVERLAY_HISTORY;
	x.v.history_app = "web";
	top_render(&x.v, &x.f);
	CHECK(find_row(&x, "instance 0 | pm_id 0 | pid 4100 | restarts by PM2 2") > 0);
	CHECK(find_row(&x, "instance 1 | pm_id 3 | pid - | restarts by PM2 0") > 0);
	fx_free(&x);
}

/* An app parked for a port another process holds: "conflict" on its line (in red), and in
 * its history the port, the holder (pid, name, uid; a hostile name drawn harmless) and the
 * ports the other app listens on. */
TEST(port_conflict_on_the_app_line_and_in_history)
{
	struct fixture x;
	fx_init(&x, 100, 30, false);
	json_t *apps = json_object_get(json_array_get(json_object_get(x.v.status, "homes"), 0), "apps");
	json_array_append_new(apps, json_pack(
		"{s:s, s:n, s:s, s:s, s:b, s:i, s:{s:i, s:i, s:s, s:i}, s:[], s:[i]}",
		"name", "web2", "pid", "status", "errored", "state", "parked", "parked", 1,
		"budget_left", 5, "port_conflict", "port", 3999, "holder_pid", 4321,
		"holder_name", "port\033[2Jholder", "holder_uid", 1001, "ports", "serving_ports", 3999));
	json_object_set_new(json_array_get(apps, 0), "ports", json_pack("[i, i]", 3000, 3001));
	json_object_set_new(json_object_get(json_array_get(apps, 0), "last_exit"), "cause", json_string("pm2"));
	top_render(&x.v, &x.f);
	int a = find_row(&x, "web2  ");
	CHECK(a > 0 && strstr(row(&x, a), " conflict ") && strstr(row(&x, a), "parked"));
	CHECK(style_at(&x, a, "conflict") == TS_CRIT);
	top_frame_free(&x.f);
	x.f = (struct top_frame){ .w = 100, .h = 30 };
	x.v.overlay = OVERLAY_HISTORY;
	x.v.history_app = "web2";
	top_render(&x.v, &x.f);
	int c = find_row(&x, "PORT CONFLICT :3999 held by pid 4321 (port?[2Jholder, uid 1001)");
	CHECK(c > 0 && strstr(row(&x, c), "parked until the port is free"));
	CHECK(find_row(&x, " not listening | a recovery waits for :3999") == c - 1);
	CHECK(style_at(&x, c, "PORT CONFLICT") == TS_CRIT);
	top_frame_free(&x.f);
	x.f = (struct top_frame){ .w = 120, .h = 30 };
	x.v.history_app = "demo-api";
	top_render(&x.v, &x.f);
	CHECK(find_row(&x, " listening :3000 :3001") > 0);
	CHECK(find_row(&x, "last exit at 22:29:09 (pm2)") > 0);
	CHECK(find_row(&x, "PORT CONFLICT") < 0);
	fx_free(&x);
}

TEST(many_apps_scroll_and_keep_the_event_pane)
{
	struct fixture x;
	fx_init(&x, 80, 24, true);
	json_t *apps = json_object_get(json_array_get(json_object_get(x.v.status, "homes"), 0), "apps");
	for (int i = 0; i < 40; i++) {
		char name[16];
		snprintf(name, sizeof(name), "app-%02d", i);
		json_array_append_new(apps, json_pack("{s:s, s:i, s:s}", "name", name, "pid", 5000 + i,
						      "status", "online"));
	}
	int ar, er;
	top_pane_rows(&x.v, 24, &ar, &er);
	CHECK(er >= 3 && ar >= 3);
	x.v.app_top = 10;
	top_render(&x.v, &x.f);
	CHECK(x.f.rows == 24);
	CHECK(find_row(&x, "11-") > 0 && find_row(&x, "of 44") > 0);
	CHECK(find_row(&x, "recovery-parked") > 0);
	fx_free(&x);
}

TEST(frame_equality_detects_changes)
{
	struct fixture x, y;
	fx_init(&x, 100, 30, true);
	fx_init(&y, 100, 30, true);
	top_render(&x.v, &x.f);
	top_render(&y.v, &y.f);
	CHECK(top_frame_equal(&x.f, &y.f));
	y.v.sort = SORT_PID;
	top_render(&y.v, &y.f);
	CHECK(!top_frame_equal(&x.f, &y.f));
	fx_free(&x);
	fx_free(&y);
}

int main(void)
{
	setlocale(LC_ALL, "C.UTF-8");
	setenv("TZ", "UTC", 1);
	RUN(every_row_is_the_frame_width_at_several_widths);
	RUN(header_home_and_columns);
	RUN(ascii_fallback_has_only_ascii);
	RUN(hostile_name_cannot_reach_the_terminal);
	RUN(events_newest_first_coloured_by_level);
	RUN(collateral_exit_names_the_oom_victim);
	RUN(pause_holds_the_pane_and_counts_what_is_new);
	RUN(sort_and_filter);
	RUN(disconnected_says_so_and_keeps_the_last_state);
	RUN(too_small_and_overlays);
	RUN(instances_show_as_counts_and_expand_in_history);
	RUN(port_conflict_on_the_app_line_and_in_history);
	RUN(many_apps_scroll_and_keep_the_event_pane);
	RUN(frame_equality_detects_changes);
	CHECK_DONE();
}
