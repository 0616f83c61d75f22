/* SPDX-License-Identifier: MIT */
/* dump.pm2 is written by a PM2_HOME owner and parsed by root: the work is bounded before
 * parsing (bytes, values, depth) and jansson's memory has a fixed budget, whatever the
 * shape of the file. Each hostile shape is refused fast and small. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "check.h"
#include "core/dump.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long maxrss_mb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss / 1024;
}

/* "[" + unit repeated + "]" filling about bytes, the last separator dropped */
static char *repeat(const char *unit, size_t bytes, size_t *len)
{
	size_t u = strlen(unit), n = (bytes - 2) / u;
	char *b = malloc(n * u + 2);

	b[0] = '[';
	for (size_t i = 0; i < n; i++)
		memcpy(b + 1 + i * u, unit, u);
	b[n * u] = ']'; /* overwrites the last ',' */
	*len = n * u + 1;
	return b;
}

static void refused_fast_and_small(const char *unit, const char *check_name)
{
	size_t len;
	char *buf = repeat(unit, AMX_DUMP_MAX_BYTES - 16, &len);
	struct amx_dump d = { 0 };
	long rss0 = maxrss_mb();
	double t0 = now_s();

	CHECK(amx_dump_parse(buf, len, &d) == AMX_DUMP_TOO_BIG);
	CHECK(now_s() - t0 < 2.0);
	/* the buffer itself is 16 MB; jansson may use no more than its budget besides */
	CHECK(maxrss_mb() - rss0 <= (long)(AMX_DUMP_PARSE_BUDGET >> 20) + 8);
	CHECK(amx_dump_parse_peak() <= AMX_DUMP_PARSE_BUDGET);
	CHECK(amx_jlist_parse(buf, len, &d) == AMX_DUMP_TOO_BIG);
	CHECK(d.apps == NULL);
	free(buf);
}

TEST(sixteen_megabytes_of_empty_objects)
{
	refused_fast_and_small("{},", check_name);
}

TEST(long_array_of_numbers)
{
	refused_fast_and_small("1,", check_name);
}

TEST(objects_of_empty_arrays)
{
	refused_fast_and_small("{\"a\":[]},", check_name);
}

TEST(empty_strings)
{
	refused_fast_and_small("\"\",", check_name);
}

/* one app holding `total` values in all: [ { "name" "a" "x" [ and total-6 zeros */
static char *with_values(size_t total, size_t *len)
{
	char *b = malloc(2 * total + 64);
	size_t n = (size_t)sprintf(b, "[{\"name\":\"a\",\"x\":[");

	for (size_t i = 0; i < total - 6; i++)
		n += (size_t)sprintf(b + n, "%s0", i ? "," : "");
	n += (size_t)sprintf(b + n, "]}]");
	*len = n;
	return b;
}

TEST(values_limit_is_exact)
{
	size_t len;
	struct amx_dump d = { 0 };
	char *b = with_values(AMX_DUMP_MAX_VALUES, &len);

	CHECK(amx_dump_parse(b, len, &d) == AMX_DUMP_OK);
	CHECK(d.n_apps == 1);
	amx_dump_free(&d);
	free(b);
	b = with_values(AMX_DUMP_MAX_VALUES + 1, &len);
	CHECK(amx_dump_parse(b, len, &d) == AMX_DUMP_TOO_BIG);
	free(b);
}

TEST(under_the_value_limit_the_memory_budget_holds)
{
	/* a million empty objects pass the value count but would cost jansson ~200 MB */
	size_t len;
	char *buf = repeat("{},", 3 * (AMX_DUMP_MAX_VALUES - 8), &len);
	struct amx_dump d = { 0 };

	CHECK(amx_dump_parse(buf, len, &d) == AMX_DUMP_TOO_BIG);
	CHECK(amx_dump_parse_peak() <= AMX_DUMP_PARSE_BUDGET);
	CHECK(amx_dump_parse_peak() > AMX_DUMP_PARSE_BUDGET / 2);
	free(buf);
}

TEST(one_huge_string_is_within_budget)
{
	/* a 15 MB env value: few values, many bytes; fine, and held within the budget */
	size_t n = 15u << 20;
	char *b = malloc(n + 64);
	struct amx_dump d = { 0 };
	size_t len = (size_t)sprintf(b, "[{\"name\":\"a\",\"env\":{\"X\":\"");
	memset(b + len, 'x', n);
	len += n;
	len += (size_t)sprintf(b + len, "\"}}]");
	CHECK(amx_dump_parse(b, len, &d) == AMX_DUMP_OK);
	CHECK(amx_dump_parse_peak() > n && amx_dump_parse_peak() <= AMX_DUMP_PARSE_BUDGET);
	amx_dump_free(&d);
	free(b);
}

TEST(budget_leaves_other_jansson_use_alone)
{
	/* outside a parse, jansson allocates as usual, and json_dumps output is free()able */
	json_t *big = json_array();
	for (int i = 0; i < 100000; i++)
		json_array_append_new(big, json_object());
	char *s = json_dumps(big, JSON_COMPACT);
	CHECK(s && strlen(s) > 300000);
	free(s);
	json_decref(big);
}

int main(void)
{
	RUN(sixteen_megabytes_of_empty_objects);
	RUN(long_array_of_numbers);
	RUN(objects_of_empty_arrays);
	RUN(empty_strings);
	RUN(values_limit_is_exact);
	RUN(under_the_value_limit_the_memory_budget_holds);
	RUN(one_huge_string_is_within_budget);
	RUN(budget_leaves_other_jansson_use_alone);
	CHECK_DONE();
}
