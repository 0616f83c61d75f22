/* SPDX-License-Identifier: MIT */
/* Unit tests for src/core/dump.c: PM2's dump.pm2 and `pm2 jlist` output, good and hostile.
 * Run from the repository root (fixtures are opened as tests/unit/fixtures/...). */
#include "check.h"
#include "core/dump.h"

#include <stdint.h>
#include <stdlib.h>

#define FIXTURES "tests/unit/fixtures/"

/* Whole file into a malloc'd buffer (not NUL-terminated for the parser's sake, but one
 * extra NUL is added so tests can use string functions). NULL when unreadable. */
static char *read_fixture(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long size;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)size + 1);
		if (buf && fread(buf, 1, (size_t)size, f) == (size_t)size) {
			buf[size] = '\0';
			*len = (size_t)size;
		} else {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

static enum amx_dump_problem parse_str(const char *s, struct amx_dump *d)
{
	return amx_dump_parse(s, strlen(s), d);
}

/* The problem a one-string dump gets; the dump is freed. */
static enum amx_dump_problem problem_of(const char *s)
{
	struct amx_dump d;
	enum amx_dump_problem p = parse_str(s, &d);

	amx_dump_free(&d);
	return p;
}

/* A string of n copies of c. */
static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* Checks shared by the indented and the compact fixture: both hold the same three apps. */
static void check_fixture_apps(const char *check_name, const struct amx_dump *d)
{
	CHECK(d->n_apps == 3);
	if (d->n_apps != 3)
		return;

	const struct amx_dump_app *api = amx_dump_find(d, "api");

	CHECK(api != NULL);
	if (api) {
		CHECK(api->status == AMX_ST_ONLINE);
		CHECK_STR(api->pid_path, "/home/app/.pm2/pids/api-0.pid");
		CHECK_STR(api->namespace_, "default");
		CHECK(api->autorestart);
		CHECK(api->max_restarts == 10);
		CHECK(api->min_uptime_ms == 10000);
		CHECK(api->max_memory_bytes == 1073741824);
		CHECK(api->pm_id == -1); /* dump.pm2 holds no pm_id and no pid */
		CHECK(api->pid == 0);
	}
	const struct amx_dump_app *cron = amx_dump_find(d, "billing cron");

	CHECK(cron != NULL);
	if (cron) {
		CHECK(cron->status == AMX_ST_ERRORED);
		CHECK_STR(cron->namespace_, "batch");
		CHECK_STR(cron->pid_path, "/home/app/.pm2/pids/billing cron-2.pid");
	}
	CHECK(amx_dump_find(d, "nope") == NULL);
}

TEST(pm2_save_indented_dump_is_read)
{
	size_t len = 0;
	char *buf = read_fixture(FIXTURES "dump-saved.json", &len);
	struct amx_dump d;

	CHECK(buf != NULL);
	if (!buf)
		return;
	CHECK(strchr(buf, '\n') != NULL); /* really the indented form */
	CHECK(amx_dump_parse(buf, len, &d) == AMX_DUMP_OK);
	check_fixture_apps(check_name, &d);
	amx_dump_free(&d);
	free(buf);
}

TEST(auto_dump_compact_line_is_read)
{
	size_t len = 0;
	char *buf = read_fixture(FIXTURES "dump-auto.json", &len);
	struct amx_dump d;

	CHECK(buf != NULL);
	if (!buf)
		return;
	CHECK(strchr(buf, '\n') == NULL); /* really one line */
	CHECK(amx_dump_parse(buf, len, &d) == AMX_DUMP_OK);
	check_fixture_apps(check_name, &d);
	amx_dump_free(&d);
	free(buf);
}

TEST(stopped_app_keeps_its_saved_settings)
{
	size_t len = 0;
	char *buf = read_fixture(FIXTURES "dump-saved.json", &len);
	struct amx_dump d;

	if (!buf) {
		CHECK(buf != NULL);
		return;
	}
	CHECK(amx_dump_parse(buf, len, &d) == AMX_DUMP_OK);
	const struct amx_dump_app *w = amx_dump_find(&d, "worker");

	CHECK(w != NULL);
	if (w) {
		CHECK(w->status == AMX_ST_STOPPED);
		CHECK(!w->autorestart);
		CHECK(w->max_memory_bytes == 300 * 1024 * 1024);
		CHECK(w->min_uptime_ms == 1000);
		CHECK(w->max_restarts == 16);
	}
	amx_dump_free(&d);
	free(buf);
}

/* `instances: 2`: one entry per instance; exec_mode and NODE_APP_INSTANCE are read, and a
 * NODE_APP_INSTANCE a user set to a string is "absent", not a broken dump. */
TEST(instances_are_one_entry_each_with_mode_and_number)
{
	static const char dump[] =
		"[{\"name\":\"cl\",\"exec_mode\":\"cluster_mode\",\"NODE_APP_INSTANCE\":0,"
		"\"pm_pid_path\":\"/h/pids/cl-0.pid\"},"
		"{\"name\":\"cl\",\"exec_mode\":\"cluster_mode\",\"NODE_APP_INSTANCE\":1,"
		"\"pm_pid_path\":\"/h/pids/cl-3.pid\"},"
		"{\"name\":\"fk\",\"exec_mode\":\"fork_mode\",\"NODE_APP_INSTANCE\":\"x\"}]";
	struct amx_dump d;

	CHECK(amx_dump_parse(dump, sizeof(dump) - 1, &d) == AMX_DUMP_OK);
	CHECK(d.n_apps == 3);
	if (d.n_apps == 3) {
		CHECK(d.apps[0].cluster && d.apps[0].node_app_instance == 0);
		CHECK(d.apps[1].cluster && d.apps[1].node_app_instance == 1);
		CHECK_STR(d.apps[1].pid_path, "/h/pids/cl-3.pid");
		CHECK(!d.apps[2].cluster && d.apps[2].node_app_instance == -1);
	}
	amx_dump_free(&d);
}

TEST(zero_byte_dump_is_empty_not_broken)
{
	struct amx_dump d = { (void *)1, 7 };

	CHECK(amx_dump_parse("", 0, &d) == AMX_DUMP_EMPTY);
	CHECK(d.apps == NULL && d.n_apps == 0);
	CHECK(amx_dump_parse(NULL, 0, &d) == AMX_DUMP_EMPTY);
	CHECK_STR(amx_dump_problem_name(AMX_DUMP_EMPTY), "empty");
}

TEST(whitespace_only_dump_is_empty)
{
	CHECK(problem_of(" ") == AMX_DUMP_EMPTY);
	CHECK(problem_of("\n") == AMX_DUMP_EMPTY);
	CHECK(problem_of(" \t\r\n  \n") == AMX_DUMP_EMPTY);
}

TEST(empty_array_parses_with_no_apps)
{
	struct amx_dump d;

	CHECK(parse_str("[]", &d) == AMX_DUMP_OK);
	CHECK(d.n_apps == 0);
	amx_dump_free(&d);
	CHECK(parse_str("  [ \n ]\n", &d) == AMX_DUMP_OK);
	CHECK(d.n_apps == 0);
	amx_dump_free(&d);
}

TEST(empty_array_after_a_good_dump_is_emptied)
{
	struct amx_dump good, empty;
	enum amx_dump_problem pg = parse_str("[{\"name\":\"api\"}]", &good);
	enum amx_dump_problem pe = parse_str("[]", &empty);

	CHECK(pg == AMX_DUMP_OK && pe == AMX_DUMP_OK);
	CHECK(amx_dump_judge(pe, &empty, &good) == AMX_DUMP_EMPTIED);
	CHECK_STR(amx_dump_problem_name((enum amx_dump_problem)AMX_DUMP_EMPTIED), "emptied");
	/* with no history, or an empty history, [] is only what it says */
	CHECK(amx_dump_judge(pe, &empty, NULL) == AMX_DUMP_OK);
	CHECK(amx_dump_judge(pe, &empty, &empty) == AMX_DUMP_OK);
	/* a good dump after a good dump is fine */
	CHECK(amx_dump_judge(pg, &good, &good) == AMX_DUMP_OK);
	amx_dump_free(&good);
	amx_dump_free(&empty);
}

TEST(judge_reports_a_parse_problem_as_itself)
{
	struct amx_dump good, fresh;

	CHECK(parse_str("[{\"name\":\"api\"}]", &good) == AMX_DUMP_OK);
	enum amx_dump_problem p = parse_str("", &fresh);

	CHECK(amx_dump_judge(p, &fresh, &good) == AMX_DUMP_EMPTY);
	p = parse_str("[{\"name\":", &fresh);
	CHECK(amx_dump_judge(p, &fresh, &good) == AMX_DUMP_NOT_JSON);
	CHECK(amx_dump_judge(p, &fresh, NULL) == AMX_DUMP_NOT_JSON);
	amx_dump_free(&good);
}

TEST(truncated_dump_is_not_json_at_every_cut)
{
	const char *files[] = { FIXTURES "dump-auto.json", FIXTURES "dump-saved.json" };

	for (size_t f = 0; f < 2; f++) {
		size_t len = 0;
		char *buf = read_fixture(files[f], &len);

		CHECK(buf != NULL);
		if (!buf)
			continue;
		/* every 61st byte, the last 64 bytes one by one, and both cuts of the
		 * multi-byte characters in GREETING (a cut inside a character is truncation) */
		for (size_t cut = 1; cut < len; cut++) {
			bool near_end = cut + 64 >= len;
			bool in_char = (unsigned char)buf[cut] >= 0x80;

			if (cut % 61 && !near_end && !in_char)
				continue;
			struct amx_dump d;
			enum amx_dump_problem p = amx_dump_parse(buf, cut, &d);

			CHECK(p == AMX_DUMP_NOT_JSON);
			CHECK(d.apps == NULL);
			if (p != AMX_DUMP_NOT_JSON) {
				printf("  cut %zu of %s gave %s\n", cut, files[f],
				       amx_dump_problem_name(p));
				amx_dump_free(&d);
				break;
			}
		}
		free(buf);
	}
}

TEST(garbage_is_not_json)
{
	CHECK(problem_of("hello") == AMX_DUMP_NOT_JSON);
	CHECK(problem_of("[{\"name\":\"a\"},]") == AMX_DUMP_NOT_JSON);
	CHECK(problem_of("[{'name':'a'}]") == AMX_DUMP_NOT_JSON);
	CHECK(problem_of("[1,2") == AMX_DUMP_NOT_JSON);
	CHECK(problem_of("[] []") == AMX_DUMP_NOT_JSON);
	CHECK(problem_of("\xef\xbb\xbf[]") == AMX_DUMP_NOT_JSON); /* a BOM */
	CHECK(amx_dump_parse("\0\0\0\0", 4, &(struct amx_dump){ 0 }) == AMX_DUMP_NOT_JSON);
	CHECK_STR(amx_dump_problem_name(AMX_DUMP_NOT_JSON), "not-json");
}

TEST(valid_json_that_is_not_an_array_is_refused)
{
	CHECK(problem_of("{\"name\":\"api\"}") == AMX_DUMP_NOT_ARRAY);
	CHECK(problem_of("{}") == AMX_DUMP_NOT_ARRAY);
	CHECK(problem_of("5") == AMX_DUMP_NOT_ARRAY);
	CHECK(problem_of("\"[]\"") == AMX_DUMP_NOT_ARRAY);
	CHECK(problem_of("null") == AMX_DUMP_NOT_ARRAY);
	CHECK_STR(amx_dump_problem_name(AMX_DUMP_NOT_ARRAY), "not-array");
}

TEST(field_with_a_wrong_type_refuses_the_dump)
{
	const char *bad_fields[] = {
		"\"name\":5,\"x\":1",
		"\"name\":true,\"x\":1",
		"\"name\":[\"a\"],\"x\":1",
		"\"name\":{},\"x\":1",
		"\"name\":null,\"x\":1",
		"\"name\":\"a\",\"pm_pid_path\":5",
		"\"name\":\"a\",\"pm_pid_path\":[]",
		"\"name\":\"a\",\"namespace\":1",
		"\"name\":\"a\",\"status\":1",
		"\"name\":\"a\",\"status\":{}",
		"\"name\":\"a\",\"autorestart\":\"true\"",
		"\"name\":\"a\",\"autorestart\":1",
		"\"name\":\"a\",\"max_restarts\":true",
		"\"name\":\"a\",\"max_restarts\":\"ten\"",
		"\"name\":\"a\",\"max_restarts\":-1",
		"\"name\":\"a\",\"max_restarts\":[10]",
		"\"name\":\"a\",\"min_uptime\":false",
		"\"name\":\"a\",\"min_uptime\":\"10 s\"",
		"\"name\":\"a\",\"min_uptime\":\"-5s\"",
		"\"name\":\"a\",\"min_uptime\":-1",
		"\"name\":\"a\",\"max_memory_restart\":{}",
		"\"name\":\"a\",\"max_memory_restart\":\"1GB\"",
		"\"name\":\"a\",\"max_memory_restart\":\"lots\"",
		"\"name\":\"a\",\"max_memory_restart\":-1073741824",
		"\"name\":\"a\",\"max_memory_restart\":\"99999999999999999999G\"",
	};
	char json[256];

	for (size_t i = 0; i < sizeof(bad_fields) / sizeof(bad_fields[0]); i++) {
		snprintf(json, sizeof(json), "[{\"name\":\"ok\"},{%s}]", bad_fields[i]);
		enum amx_dump_problem p = problem_of(json);

		CHECK(p == AMX_DUMP_BAD_APP);
		if (p != AMX_DUMP_BAD_APP)
			printf("  %s gave %s\n", json, amx_dump_problem_name(p));
	}
	CHECK_STR(amx_dump_problem_name(AMX_DUMP_BAD_APP), "bad-app");
}

TEST(app_without_a_usable_name_refuses_the_dump)
{
	CHECK(problem_of("[{\"status\":\"online\"}]") == AMX_DUMP_BAD_APP);
	CHECK(problem_of("[{\"name\":\"\"}]") == AMX_DUMP_BAD_APP);
	CHECK(problem_of("[{\"name\":\"a\\u0000b\"}]") == AMX_DUMP_BAD_APP);
	CHECK(problem_of("[{\"name\":\"a\"},1]") == AMX_DUMP_BAD_APP);
	CHECK(problem_of("[null]") == AMX_DUMP_BAD_APP);
	CHECK(problem_of("[[{\"name\":\"a\"}]]") == AMX_DUMP_BAD_APP);
	CHECK(problem_of("[\"api\"]") == AMX_DUMP_BAD_APP);
}

TEST(failed_parse_leaves_no_apps_behind)
{
	struct amx_dump d;

	CHECK(parse_str("[{\"name\":\"a\"},{\"name\":\"b\",\"autorestart\":\"no\"}]", &d) ==
	      AMX_DUMP_BAD_APP);
	CHECK(d.apps == NULL && d.n_apps == 0);
	amx_dump_free(&d); /* harmless on an empty dump */
}

TEST(absent_or_null_fields_take_pm2_defaults)
{
	struct amx_dump d;

	CHECK(parse_str("[{\"name\":\"a\",\"unknown\":{\"deep\":[1,2,{}]},\"versioning\":null},"
			"{\"name\":\"b\",\"autorestart\":null,\"max_restarts\":null,"
			"\"min_uptime\":null,\"max_memory_restart\":null,\"status\":null,"
			"\"pm_pid_path\":null,\"namespace\":null}]",
			&d) == AMX_DUMP_OK);
	CHECK(d.n_apps == 2);
	for (size_t i = 0; i < d.n_apps; i++) {
		const struct amx_dump_app *a = &d.apps[i];

		CHECK(a->status == AMX_ST_UNKNOWN);
		CHECK(a->autorestart);
		CHECK(a->max_restarts == -1);
		CHECK(a->min_uptime_ms == -1);
		CHECK(a->max_memory_bytes == -1);
		CHECK(a->pm_id == -1);
		CHECK(a->pid == 0);
		CHECK_STR(a->pid_path, "");
		CHECK_STR(a->namespace_, "");
	}
	amx_dump_free(&d);
}

TEST(numbers_written_as_strings_are_understood)
{
	struct amx_dump d;

	CHECK(parse_str("[{\"name\":\"a\",\"max_restarts\":\"10\",\"min_uptime\":\"10s\","
			"\"max_memory_restart\":\"300M\"},"
			"{\"name\":\"b\",\"min_uptime\":\"5000\",\"max_memory_restart\":\"1G\","
			"\"max_restarts\":3.0}]",
			&d) == AMX_DUMP_OK);
	CHECK(d.n_apps == 2);
	if (d.n_apps == 2) {
		CHECK(d.apps[0].max_restarts == 10);
		CHECK(d.apps[0].min_uptime_ms == 10000);
		CHECK(d.apps[0].max_memory_bytes == 300LL * 1024 * 1024);
		CHECK(d.apps[1].min_uptime_ms == 5000);
		CHECK(d.apps[1].max_memory_bytes == 1LL << 30);
		CHECK(d.apps[1].max_restarts == 3);
	}
	amx_dump_free(&d);
}

TEST(every_pm2_status_is_recognised)
{
	const char *names[] = { "online",    "stopped",           "stopping",       "errored",
				"launching", "one-launch-status", "waiting restart" };
	const enum amx_app_status want[] = { AMX_ST_ONLINE,    AMX_ST_STOPPED,
					     AMX_ST_STOPPING,  AMX_ST_ERRORED,
					     AMX_ST_LAUNCHING, AMX_ST_ONE_LAUNCH_STATUS,
					     AMX_ST_WAITING_RESTART };

	for (size_t i = 0; i < 7; i++) {
		char json[128];
		struct amx_dump d;

		CHECK(amx_app_status_from(names[i]) == want[i]);
		CHECK_STR(amx_app_status_name(want[i]), names[i]);
		snprintf(json, sizeof(json), "[{\"name\":\"a\",\"status\":\"%s\"}]", names[i]);
		CHECK(parse_str(json, &d) == AMX_DUMP_OK);
		CHECK(d.n_apps == 1 && d.apps[0].status == want[i]);
		amx_dump_free(&d);
	}
	/* a status from a newer PM2 is not an error */
	CHECK(amx_app_status_from("Online") == AMX_ST_UNKNOWN);
	CHECK(amx_app_status_from("waiting-restart") == AMX_ST_UNKNOWN);
	CHECK(amx_app_status_from(NULL) == AMX_ST_UNKNOWN);
	CHECK(problem_of("[{\"name\":\"a\",\"status\":\"hibernating\"}]") == AMX_DUMP_OK);
	CHECK_STR(amx_app_status_name(AMX_ST_UNKNOWN), "unknown");
	CHECK_STR(amx_app_status_name((enum amx_app_status)99), "unknown");
}

TEST(invalid_utf8_is_refused_as_bad_utf8)
{
	/* a stray continuation byte in a name */
	CHECK(problem_of("[{\"name\":\"ap\x80i\"}]") == AMX_DUMP_BAD_UTF8);
	/* Latin-1 in an env value, deep in an otherwise good app */
	CHECK(problem_of("[{\"name\":\"api\",\"env\":{\"GREETING\":\"h\xe9llo\"}}]") ==
	      AMX_DUMP_BAD_UTF8);
	/* overlong '/', an encoded surrogate, above U+10FFFF, a lone lead byte */
	CHECK(problem_of("[{\"name\":\"\xc0\xaf\"}]") == AMX_DUMP_BAD_UTF8);
	CHECK(problem_of("[{\"name\":\"\xed\xa0\x80\"}]") == AMX_DUMP_BAD_UTF8);
	CHECK(problem_of("[{\"name\":\"\xf4\x90\x80\x80\"}]") == AMX_DUMP_BAD_UTF8);
	CHECK(problem_of("[{\"name\":\"\xe2\x82\"}]") == AMX_DUMP_BAD_UTF8);
	CHECK(problem_of("[{\"name\":\"\xff\"}]") == AMX_DUMP_BAD_UTF8);
	/* good multi-byte text of every length passes */
	CHECK(problem_of("[{\"name\":\"h\xc3\xa9llo \xe2\x98\x83 \xf0\x9f\x9a\x80\"}]") ==
	      AMX_DUMP_OK);
	CHECK_STR(amx_dump_problem_name(AMX_DUMP_BAD_UTF8), "bad-utf8");
}

TEST(huge_env_of_two_megabytes_is_fine)
{
	size_t value_len = 2u << 20;
	char *value = repeat('x', value_len);
	size_t cap = 2 * value_len + 256;
	char *json = malloc(cap);
	struct amx_dump d;

	snprintf(json, cap,
		 "[{\"name\":\"api\",\"env\":{\"BIG\":\"%s\",\"PORT\":\"3000\"},"
		 "\"BIG\":\"%s\",\"status\":\"online\"}]",
		 value, value);
	/* the 2 MB value twice: in env and at the top level, as PM2 duplicates env keys */
	CHECK(parse_str(json, &d) == AMX_DUMP_OK);
	CHECK(d.n_apps == 1 && d.apps[0].status == AMX_ST_ONLINE);
	amx_dump_free(&d);
	free(json);
	free(value);
}

TEST(hundred_thousand_deep_nest_is_too_big)
{
	size_t depth = 100000;
	char *json = malloc(2 * depth + 64);
	size_t n = 0;

	for (size_t i = 0; i < depth; i++)
		json[n++] = (i % 2) ? '{' : '[';
	/* unbalanced on purpose: the depth check must not need the end */
	CHECK(amx_dump_parse(json, n, &(struct amx_dump){ 0 }) == AMX_DUMP_TOO_BIG);
	memset(json, '[', depth);
	memset(json + depth, ']', depth);
	CHECK(amx_dump_parse(json, 2 * depth, &(struct amx_dump){ 0 }) == AMX_DUMP_TOO_BIG);
	free(json);
	CHECK_STR(amx_dump_problem_name(AMX_DUMP_TOO_BIG), "too-big");
}

TEST(nesting_limit_is_sixty_four_and_strings_do_not_count)
{
	char json[4096];
	size_t n = 0;

	/* [ {name, env: [[[ ... ]]]} ] with 64 levels in all is fine, 65 is not */
	for (int total = 64; total <= 65; total++) {
		n = (size_t)snprintf(json, sizeof(json), "[{\"name\":\"a\",\"x\":");
		for (int i = 0; i < total - 2; i++)
			json[n++] = '[';
		for (int i = 0; i < total - 2; i++)
			json[n++] = ']';
		n += (size_t)snprintf(json + n, sizeof(json) - n, "}]");
		struct amx_dump nested;

		CHECK(amx_dump_parse(json, n, &nested) ==
		      (total == 64 ? AMX_DUMP_OK : AMX_DUMP_TOO_BIG));
		amx_dump_free(&nested);
	}
	/* brackets and escaped quotes inside strings are text, not nesting */
	char *brackets = repeat('[', 1000);

	snprintf(json, sizeof(json), "[{\"name\":\"\\\"[{\",\"env\":{\"A\":\"%s\"}}]", brackets);
	struct amx_dump d;

	CHECK(parse_str(json, &d) == AMX_DUMP_OK);
	CHECK(d.n_apps == 1 && strcmp(d.apps[0].name, "\"[{") == 0);
	amx_dump_free(&d);
	free(brackets);
}

static char *many_apps(size_t n)
{
	const char *one = "{\"name\":\"a\"},";
	size_t one_len = strlen(one);
	char *json = malloc(n * one_len + 3);
	size_t len = 0;

	json[len++] = '[';
	for (size_t i = 0; i < n; i++) {
		memcpy(json + len, one, one_len);
		len += one_len;
	}
	json[len - 1] = ']';
	json[len] = '\0';
	return json;
}

TEST(more_than_max_apps_is_too_big)
{
	char *json = many_apps(AMX_DUMP_MAX_APPS);
	struct amx_dump d;

	CHECK(parse_str(json, &d) == AMX_DUMP_OK);
	CHECK(d.n_apps == AMX_DUMP_MAX_APPS);
	amx_dump_free(&d);
	free(json);
	json = many_apps(AMX_DUMP_MAX_APPS + 1);
	CHECK(parse_str(json, &d) == AMX_DUMP_TOO_BIG);
	CHECK(d.apps == NULL);
	free(json);
}

TEST(file_over_the_byte_limit_is_too_big)
{
	size_t len = AMX_DUMP_MAX_BYTES + 1;
	char *json = repeat(' ', len);

	json[0] = '[';
	json[len - 1] = ']';
	CHECK(amx_dump_parse(json, len, &(struct amx_dump){ 0 }) == AMX_DUMP_TOO_BIG);
	/* one byte less is within the limit */
	json[len - 2] = ']';
	CHECK(amx_dump_parse(json, len - 1, &(struct amx_dump){ 0 }) == AMX_DUMP_OK);
	free(json);
}

TEST(hostile_names_are_kept_byte_exact)
{
	struct amx_dump d;

	CHECK(parse_str("[{\"name\":\"my app\"},"
			"{\"name\":\"say \\\"hi\\\" 'there'\"},"
			"{\"name\":\"x;touch /tmp/p;$(touch /tmp/p)\"},"
			"{\"name\":\"line1\\nline2\\ttab\"},"
			"{\"name\":\"`id` && rm -rf ~ | cat > /dev/null\"},"
			"{\"name\":\"caf\\u00e9 \xe2\x98\x83\"},"
			"{\"name\":\"-dash\"}]",
			&d) == AMX_DUMP_OK);
	CHECK(d.n_apps == 7);
	if (d.n_apps == 7) {
		CHECK_STR(d.apps[0].name, "my app");
		CHECK_STR(d.apps[1].name, "say \"hi\" 'there'");
		CHECK_STR(d.apps[2].name, "x;touch /tmp/p;$(touch /tmp/p)");
		CHECK_STR(d.apps[3].name, "line1\nline2\ttab");
		CHECK_STR(d.apps[4].name, "`id` && rm -rf ~ | cat > /dev/null");
		CHECK_STR(d.apps[5].name, "caf\xc3\xa9 \xe2\x98\x83");
		CHECK_STR(d.apps[6].name, "-dash");
		CHECK(amx_dump_find(&d, "x;touch /tmp/p;$(touch /tmp/p)") == &d.apps[2]);
	}
	amx_dump_free(&d);
}

TEST(overlong_name_or_path_is_refused)
{
	size_t cap = AMX_PATH_MAX + 128;
	char *json = malloc(cap);
	char *s = repeat('n', AMX_NAME_MAX);

	/* AMX_NAME_MAX - 1 bytes fit (with the NUL), AMX_NAME_MAX do not */
	s[AMX_NAME_MAX - 1] = '\0';
	snprintf(json, cap, "[{\"name\":\"%s\"}]", s);
	CHECK(problem_of(json) == AMX_DUMP_OK);
	s[AMX_NAME_MAX - 1] = 'n';
	snprintf(json, cap, "[{\"name\":\"%s\"}]", s);
	CHECK(problem_of(json) == AMX_DUMP_BAD_APP);
	snprintf(json, cap, "[{\"name\":\"a\",\"namespace\":\"%s\"}]", s);
	CHECK(problem_of(json) == AMX_DUMP_BAD_APP);
	free(s);

	s = repeat('p', AMX_PATH_MAX);
	s[AMX_PATH_MAX - 1] = '\0';
	snprintf(json, cap, "[{\"name\":\"a\",\"pm_pid_path\":\"%s\"}]", s);
	struct amx_dump d;

	CHECK(parse_str(json, &d) == AMX_DUMP_OK);
	CHECK(d.n_apps == 1 && strlen(d.apps[0].pid_path) == AMX_PATH_MAX - 1);
	amx_dump_free(&d);
	s[AMX_PATH_MAX - 1] = 'p';
	snprintf(json, cap, "[{\"name\":\"a\",\"pm_pid_path\":\"%s\"}]", s);
	CHECK(problem_of(json) == AMX_DUMP_BAD_APP);
	/* a multi-byte name is bounded by bytes, not characters */
	free(s);
	s = malloc(AMX_NAME_MAX * 2);
	for (int i = 0; i < AMX_NAME_MAX / 2; i++)
		memcpy(s + 2 * i, "\xc3\xa9", 2);
	s[AMX_NAME_MAX] = '\0';
	snprintf(json, cap, "[{\"name\":\"%s\"}]", s);
	CHECK(problem_of(json) == AMX_DUMP_BAD_APP);
	free(s);
	free(json);
}

TEST(jlist_after_pm2_warnings_is_read)
{
	size_t len = 0;
	char *buf = read_fixture(FIXTURES "jlist-noisy.txt", &len);
	struct amx_dump d;

	if (!buf) {
		CHECK(buf != NULL);
		return;
	}
	CHECK(strncmp(buf, ">>>> In-memory PM2 is out-of-date", 33) == 0);
	CHECK(strstr(buf, "\n[PM2] Spawning") != NULL); /* a "[" line that is not JSON */
	CHECK(amx_jlist_parse(buf, len, &d) == AMX_DUMP_OK);
	CHECK(d.n_apps == 3);
	if (d.n_apps == 3) {
		CHECK_STR(d.apps[0].name, "api");
		CHECK(d.apps[0].pm_id == 0 && d.apps[0].pid == 40123);
		CHECK(d.apps[0].status == AMX_ST_ONLINE);
		CHECK_STR(d.apps[0].pid_path, "/home/app/.pm2/pids/api-0.pid");
		CHECK(d.apps[0].max_memory_bytes == 1073741824);
		CHECK(d.apps[0].min_uptime_ms == 10000);
		CHECK(d.apps[0].max_restarts == 10);
		CHECK(d.apps[1].pm_id == 1 && d.apps[1].pid == 0);
		CHECK(d.apps[1].status == AMX_ST_STOPPED && !d.apps[1].autorestart);
		CHECK_STR(d.apps[2].name, "billing cron");
		CHECK_STR(d.apps[2].namespace_, "batch");
		CHECK(d.apps[2].status == AMX_ST_ERRORED && d.apps[2].pm_id == 2);
	}
	amx_dump_free(&d);
	free(buf);
}

TEST(jlist_of_a_fresh_daemon_is_empty)
{
	const char *out = "[PM2] Spawning PM2 daemon with pm2_home=/home/app/.pm2\n"
			  "[PM2] PM2 Successfully daemonized\n[]\n";
	struct amx_dump d;

	CHECK(amx_jlist_parse(out, strlen(out), &d) == AMX_DUMP_OK);
	CHECK(d.n_apps == 0);
	amx_dump_free(&d);
	CHECK(amx_jlist_parse("[]", 2, &d) == AMX_DUMP_OK);
	amx_dump_free(&d);
	CHECK(amx_jlist_parse("", 0, &d) == AMX_DUMP_EMPTY);
	CHECK(amx_jlist_parse("[PM2] error\n", 12, &d) == AMX_DUMP_NOT_JSON);
}

TEST(jlist_entries_are_checked_like_the_dump)
{
	struct amx_dump d;
	const char *no_env = "[{\"name\":\"a\",\"pm_id\":0,\"pid\":10}]";
	const char *bad_pid = "[{\"name\":\"a\",\"pm_id\":0,\"pid\":\"10\",\"pm2_env\":{}}]";
	const char *neg_id = "[{\"name\":\"a\",\"pm_id\":-3,\"pid\":10,\"pm2_env\":{}}]";
	const char *bad_env = "[{\"name\":\"a\",\"pm_id\":0,\"pm2_env\":{\"autorestart\":\"yes\"}}]";
	const char *not_array = "{\"name\":\"a\"}";

	CHECK(amx_jlist_parse(no_env, strlen(no_env), &d) == AMX_DUMP_BAD_APP);
	CHECK(amx_jlist_parse(bad_pid, strlen(bad_pid), &d) == AMX_DUMP_BAD_APP);
	CHECK(amx_jlist_parse(neg_id, strlen(neg_id), &d) == AMX_DUMP_BAD_APP);
	CHECK(amx_jlist_parse(bad_env, strlen(bad_env), &d) == AMX_DUMP_BAD_APP);
	CHECK(amx_jlist_parse(not_array, strlen(not_array), &d) == AMX_DUMP_NOT_ARRAY);
	CHECK(d.apps == NULL);
}

TEST(size_strings_use_1024_multiples)
{
	const struct {
		const char *in;
		int64_t want;
	} table[] = {
		{ "0", 0 },
		{ "1024", 1024 },
		{ "500K", 500LL * 1024 },
		{ "300M", 300LL * 1024 * 1024 },
		{ "1G", 1LL << 30 },
		{ "2g", 2LL << 30 },
		{ "1m", 1LL << 20 },
		{ "8589934592G", -1 }, /* 2^33 G overflows int64 */
		{ "8589934591G", 8589934591LL << 30 },
		{ "9223372036854775807", INT64_MAX },
		{ "9223372036854775808", -1 },
		{ "", -1 },
		{ "G", -1 },
		{ "-1", -1 },
		{ "+1", -1 },
		{ " 1", -1 },
		{ "1 ", -1 },
		{ "1GB", -1 },
		{ "1T", -1 },
		{ "1.5G", -1 },
		{ "0x10", -1 },
		{ "1G1", -1 },
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		int64_t got = amx_parse_size(table[i].in);

		CHECK(got == table[i].want);
		if (got != table[i].want)
			printf("  size \"%s\" gave %lld\n", table[i].in, (long long)got);
	}
	CHECK(amx_parse_size(NULL) == -1);
}

TEST(duration_strings_become_milliseconds)
{
	const struct {
		const char *in;
		int64_t want;
	} table[] = {
		{ "0", 0 },
		{ "1000", 1000 },
		{ "200ms", 200 },
		{ "10s", 10000 },
		{ "5m", 300000 },
		{ "1h", 3600000 },
		{ "9223372036854776s", -1 }, /* overflows int64 ms */
		{ "9223372036854775s", 9223372036854775000LL },
		{ "9223372036854775807", INT64_MAX },
		{ "", -1 },
		{ "s", -1 },
		{ "-10s", -1 },
		{ "10 s", -1 },
		{ "10S", -1 },
		{ "1.5s", -1 },
		{ "10sec", -1 },
		{ "10x", -1 },
		{ "1d", -1 },
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		int64_t got = amx_parse_duration_ms(table[i].in);

		CHECK(got == table[i].want);
		if (got != table[i].want)
			printf("  duration \"%s\" gave %lld\n", table[i].in, (long long)got);
	}
	CHECK(amx_parse_duration_ms(NULL) == -1);
}

TEST(every_problem_has_an_event_word)
{
	CHECK_STR(amx_dump_problem_name(AMX_DUMP_OK), "ok");
	for (int p = AMX_DUMP_OK; p <= AMX_DUMP_TOO_BIG; p++)
		CHECK(strcmp(amx_dump_problem_name((enum amx_dump_problem)p), "unknown") != 0);
}

int main(void)
{
	RUN(pm2_save_indented_dump_is_read);
	RUN(auto_dump_compact_line_is_read);
	RUN(stopped_app_keeps_its_saved_settings);
	RUN(instances_are_one_entry_each_with_mode_and_number);
	RUN(zero_byte_dump_is_empty_not_broken);
	RUN(whitespace_only_dump_is_empty);
	RUN(empty_array_parses_with_no_apps);
	RUN(empty_array_after_a_good_dump_is_emptied);
	RUN(judge_reports_a_parse_problem_as_itself);
	RUN(truncated_dump_is_not_json_at_every_cut);
	RUN(garbage_is_not_json);
	RUN(valid_json_that_is_not_an_array_is_refused);
	RUN(field_with_a_wrong_type_refuses_the_dump);
	RUN(app_without_a_usable_name_refuses_the_dump);
	RUN(failed_parse_leaves_no_apps_behind);
	RUN(absent_or_null_fields_take_pm2_defaults);
	RUN(numbers_written_as_strings_are_understood);
	RUN(every_pm2_status_is_recognised);
	RUN(invalid_utf8_is_refused_as_bad_utf8);
	RUN(huge_env_of_two_megabytes_is_fine);
	RUN(hundred_thousand_deep_nest_is_too_big);
	RUN(nesting_limit_is_sixty_four_and_strings_do_not_count);
	RUN(more_than_max_apps_is_too_big);
	RUN(file_over_the_byte_limit_is_too_big);
	RUN(hostile_names_are_kept_byte_exact);
	RUN(overlong_name_or_path_is_refused);
	RUN(jlist_after_pm2_warnings_is_read);
	RUN(jlist_of_a_fresh_daemon_is_empty);
	RUN(jlist_entries_are_checked_like_the_dump);
	RUN(size_strings_use_1024_multiples);
	RUN(duration_strings_become_milliseconds);
	RUN(every_problem_has_an_event_word);
	CHECK_DONE();
}
