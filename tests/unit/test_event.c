/* SPDX-License-Identifier: MIT */
/* The event encoder against the contract in docs/events.md. */
#include "check.h"
#include "core/event.h"

#include <ctype.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

static struct amx_event_stream stream;

static json_t *example_event(void)
{
	return amx_event_new(&stream, AMX_EVT_PROCESS_EXITED, 0, "%s exited (%s)", "demo-api",
			     "SIGKILL");
}

static bool is_string_array(json_t *v)
{
	size_t i;
	json_t *item;

	if (!json_is_array(v) || json_array_size(v) == 0)
		return false;
	json_array_foreach(v, i, item)
		if (!json_is_string(item))
			return false;
	return true;
}

/* YYYY-MM-DDTHH:MM:SS.uuuuuuZ */
static bool timestamp_shape_ok(const char *s)
{
	const char *shape = "dddd-dd-ddTdd:dd:dd.ddddddZ";
	size_t i;

	if (!s || strlen(s) != strlen(shape))
		return false;
	for (i = 0; shape[i]; i++) {
		if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
			return false;
	}
	return true;
}

/* Wall time in microseconds of an RFC 3339 UTC stamp as we write it. */
static long long timestamp_usec(const char *s)
{
	struct tm tm;
	const char *rest;

	memset(&tm, 0, sizeof(tm));
	rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!rest || *rest != '.')
		return -1;
	return (long long)timegm(&tm) * 1000000LL + atoll(rest + 1);
}

static bool jq_accepts(const char *line)
{
	FILE *jq = popen("jq -e . >/dev/null 2>&1", "w");
	int status;

	if (!jq)
		return false;
	fputs(line, jq);
	status = pclose(jq);
	return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

TEST(sequence_has_no_gaps)
{
	int i;

	amx_event_stream_init(&stream);
	for (i = 1; i <= 50; i++) {
		json_t *ev = example_event();

		CHECK(json_integer_value(amx_event_get(ev, "event.sequence")) == i);
		json_decref(ev);
	}
}

TEST(common_fields_present_and_typed)
{
	json_t *ev, *parsed;
	char *line;
	json_error_t err;

	amx_event_stream_init(&stream);
	/* pm2-daemon-down: two categories, process and host */
	ev = amx_event_new(&stream, AMX_EVT_PM2_DAEMON_DOWN, 0, "watching %d homes", 2);
	line = amx_event_encode(ev);
	CHECK(line != NULL);
	parsed = json_loads(line, 0, &err);
	CHECK(parsed != NULL);

	CHECK(timestamp_shape_ok(json_string_value(amx_event_get(parsed, "@timestamp"))));
	CHECK_STR(json_string_value(amx_event_get(parsed, "ecs.version")), "8.11.0");
	CHECK_STR(json_string_value(amx_event_get(parsed, "agent.name")), "amexbpf");
	CHECK_STR(json_string_value(amx_event_get(parsed, "agent.version")), AMX_VERSION);
	CHECK_STR(json_string_value(amx_event_get(parsed, "host.name")), stream.host);
	CHECK(strlen(stream.host) > 0);
	CHECK_STR(json_string_value(amx_event_get(parsed, "log.level")), "critical");
	CHECK_STR(json_string_value(amx_event_get(parsed, "message")), "watching 2 homes");
	CHECK_STR(json_string_value(amx_event_get(parsed, "event.kind")), "alert");
	CHECK(is_string_array(amx_event_get(parsed, "event.category")));
	CHECK(json_array_size(amx_event_get(parsed, "event.category")) == 2);
	CHECK_STR(json_string_value(json_array_get(amx_event_get(parsed, "event.category"), 1)),
		  "host");
	CHECK(is_string_array(amx_event_get(parsed, "event.type")));
	CHECK_STR(json_string_value(json_array_get(amx_event_get(parsed, "event.type"), 0)),
		  "end");
	CHECK_STR(json_string_value(amx_event_get(parsed, "event.action")), "pm2-daemon-down");
	CHECK_STR(json_string_value(amx_event_get(parsed, "event.dataset")), "amexbpf.events");
	CHECK(json_is_integer(amx_event_get(parsed, "event.sequence")));

	/* Nested objects, never dotted keys; @timestamp first; one line ending in \n. */
	CHECK(strstr(line, "\"ecs.version\"") == NULL);
	CHECK(strncmp(line, "{\"@timestamp\":", 14) == 0);
	CHECK(line[strlen(line) - 1] == '\n');
	CHECK(strchr(line, '\n') == line + strlen(line) - 1);

	free(line);
	json_decref(parsed);
	json_decref(ev);
}

TEST(timestamp_converts_boot_clock)
{
	char stamp[40], now_stamp[40];
	long long then_us, now_us;

	amx_format_timestamp(amx_boot_ns() - 1000000000ULL, stamp, sizeof(stamp));
	amx_format_timestamp(0, now_stamp, sizeof(now_stamp));
	CHECK(timestamp_shape_ok(stamp));
	CHECK(timestamp_shape_ok(now_stamp));
	then_us = timestamp_usec(stamp);
	now_us = timestamp_usec(now_stamp);
	CHECK(then_us > 0 && now_us > 0);
	CHECK(llabs(now_us - then_us - 1000000LL) < 50000);
	CHECK(llabs(now_us - (long long)time(NULL) * 1000000LL) < 2000000LL);
}

TEST(nested_paths)
{
	json_t *ev;

	amx_event_stream_init(&stream);
	ev = example_event();
	amx_event_set_int(ev, "process.parent.pid", 1001);
	amx_event_set_int(ev, "process.pid", 4242);
	amx_event_set_int(ev, "amexbpf.oom.anon_rss_kb", 12345);
	amx_event_set_bool(ev, "amexbpf.core_dumped", true);
	amx_event_set(ev, "amexbpf.signal", NULL);

	CHECK(json_is_object(json_object_get(ev, "process")));
	CHECK(json_is_object(json_object_get(json_object_get(ev, "process"), "parent")));
	CHECK(json_integer_value(amx_event_get(ev, "process.parent.pid")) == 1001);
	CHECK(json_integer_value(amx_event_get(ev, "process.pid")) == 4242);
	CHECK(json_integer_value(amx_event_get(ev, "amexbpf.oom.anon_rss_kb")) == 12345);
	CHECK(json_is_true(amx_event_get(ev, "amexbpf.core_dumped")));
	CHECK(json_is_null(amx_event_get(ev, "amexbpf.signal")));
	CHECK(amx_event_get(ev, "process.parent.missing") == NULL);
	CHECK(amx_event_get(ev, "process.pid.deeper") == NULL);
	CHECK(json_object_get(ev, "process.pid") == NULL);
	json_decref(ev);
}

TEST(hostile_strings_stay_valid_json)
{
	/* Truncated sequence, lone continuation, overlong '/', surrogate, > U+10FFFF,
	 * control characters, an escape sequence and a newline. */
	const char *hostile = "app\xE2\x82 x\x80y\xC0\xAFz\xED\xA0\x80w\xF4\x90\x80\x80"
			      "\n\r\t\x01\x1b[31mred\x7f\"q\\uotes\"";
	json_t *ev, *parsed;
	char *line;
	json_error_t err;
	const char *back;

	amx_event_stream_init(&stream);
	ev = amx_event_new(&stream, AMX_EVT_PROCESS_EXITED, 0, "%s exited", hostile);
	amx_event_set_str(ev, "service.name", hostile);
	amx_event_set_str(ev, "process.name", "\xFF\xFE");
	line = amx_event_encode(ev);
	CHECK(line != NULL);
	CHECK(strchr(line, '\n') == line + strlen(line) - 1);
	CHECK(strchr(line, '\r') == NULL);
	CHECK(strchr(line, '\x1b') == NULL);

	parsed = json_loads(line, 0, &err);
	CHECK(parsed != NULL);
	back = json_string_value(amx_event_get(parsed, "service.name"));
	CHECK(back != NULL);
	CHECK(back && strncmp(back, "app\xEF\xBF\xBD x\xEF\xBF\xBDy", 12) == 0);
	CHECK(back && strstr(back, "\n\r\t\x01\x1b[31mred\x7f\"q\\uotes\"") != NULL);
	CHECK_STR(json_string_value(amx_event_get(parsed, "process.name")),
		  "\xEF\xBF\xBD\xEF\xBF\xBD");
	CHECK(jq_accepts(line));

	/* Valid multi-byte text passes through untouched. */
	amx_event_set_str(ev, "service.name", "caf\xC3\xA9-\xF0\x9F\x9A\x80-\xE6\x97\xA5");
	CHECK_STR(json_string_value(amx_event_get(ev, "service.name")),
		  "caf\xC3\xA9-\xF0\x9F\x9A\x80-\xE6\x97\xA5");

	free(line);
	json_decref(parsed);
	json_decref(ev);
}

TEST(human_line)
{
	json_t *ev;
	char buf[256];

	amx_event_stream_init(&stream);
	ev = example_event();
	amx_event_human(ev, buf, sizeof(buf));
	CHECK(strlen(buf) > 9 && buf[2] == ':' && buf[5] == ':' && buf[8] == ' ');
	CHECK_STR(buf + 9, "error process-exited: demo-api exited (SIGKILL)");

	amx_event_set_str(ev, "service.name", "demo\x1b[2J\napi");
	amx_event_human(ev, buf, sizeof(buf));
	CHECK_STR(buf + 9, "error process-exited demo\\x1b[2J\\x0aapi: demo-api exited (SIGKILL)");

	amx_event_human(ev, buf, 12);
	CHECK(strlen(buf) == 11);
	json_decref(ev);
}

TEST(example_line_round_trips)
{
	const char *example =
		"{\"@timestamp\":\"2026-11-27T10:00:01.123456Z\",\"ecs\":{\"version\":\"8.11.0\"},"
		"\"agent\":{\"name\":\"amexbpf\",\"version\":\"0.1.0\"},\"host\":{\"name\":\"prod-1\"},"
		"\"log\":{\"level\":\"error\"},\"message\":\"demo-api exited (SIGKILL)\","
		"\"event\":{\"kind\":\"event\",\"category\":[\"process\"],\"type\":[\"end\"],"
		"\"action\":\"process-exited\",\"dataset\":\"amexbpf.events\",\"sequence\":41},"
		"\"service\":{\"name\":\"demo-api\"},\"process\":{\"pid\":4242,\"name\":\"node\","
		"\"parent\":{\"pid\":1001},\"exit_code\":137,\"uptime\":5310},"
		"\"amexbpf\":{\"signal\":\"SIGKILL\",\"core_dumped\":false,\"detect_latency_us\":180,"
		"\"pm2\":{\"home\":\"/home/deploy/.pm2\",\"app\":\"demo-api\"}}}\n";
	json_t *ev, *want, *got;
	json_error_t err;
	char *line;

	amx_event_stream_init(&stream);
	stream.next_seq = 41;
	ev = example_event();
	amx_event_set_str(ev, "service.name", "demo-api");
	amx_event_set_int(ev, "process.pid", 4242);
	amx_event_set_str(ev, "process.name", "node");
	amx_event_set_int(ev, "process.parent.pid", 1001);
	amx_event_set_int(ev, "process.exit_code", 137);
	amx_event_set_int(ev, "process.uptime", 5310);
	amx_event_set_str(ev, "amexbpf.signal", amx_signal_name(SIGKILL));
	amx_event_set_bool(ev, "amexbpf.core_dumped", false);
	amx_event_set_int(ev, "amexbpf.detect_latency_us", 180);
	amx_event_set_str(ev, "amexbpf.pm2.home", "/home/deploy/.pm2");
	amx_event_set_str(ev, "amexbpf.pm2.app", "demo-api");

	/* Field for field, leaving out what differs per run (time and host). */
	want = json_loads(example, 0, &err);
	CHECK(want != NULL);
	line = amx_event_encode(ev);
	got = json_loads(line, 0, &err);
	CHECK(got != NULL);
	json_object_del(want, "@timestamp");
	json_object_del(got, "@timestamp");
	json_object_del(want, "host");
	json_object_del(got, "host");
	CHECK(json_equal(want, got));
	free(line);

	/* With time and host pinned, byte for byte (key order included). */
	amx_event_set_str(ev, "@timestamp", "2026-11-27T10:00:01.123456Z");
	amx_event_set_str(ev, "host.name", "prod-1");
	line = amx_event_encode(ev);
	CHECK_STR(line, example);

	free(line);
	json_decref(want);
	json_decref(got);
	json_decref(ev);
}

TEST(signal_names)
{
	CHECK_STR(amx_signal_name(SIGKILL), "SIGKILL");
	CHECK_STR(amx_signal_name(SIGHUP), "SIGHUP");
	CHECK_STR(amx_signal_name(SIGSEGV), "SIGSEGV");
	CHECK_STR(amx_signal_name(SIGSYS), "SIGSYS");
	CHECK_STR(amx_signal_name(SIGTERM), "SIGTERM");
	CHECK(amx_signal_name(0) == NULL);
	CHECK(amx_signal_name(-1) == NULL);
	CHECK(amx_signal_name(SIGRTMIN + 1) == NULL);
	CHECK(amx_signal_name(1000) == NULL);
}

int main(void)
{
	RUN(sequence_has_no_gaps);
	RUN(common_fields_present_and_typed);
	RUN(timestamp_converts_boot_clock);
	RUN(nested_paths);
	RUN(hostile_strings_stay_valid_json);
	RUN(human_line);
	RUN(example_line_round_trips);
	RUN(signal_names);
	CHECK_DONE();
}
