// SPDX-License-Identifier: MIT
/* amx_stderr_tail_lines: the end of an error log as escaped lines. */
#include "check.h"
#include "core/stderr_tail.h"

static const char *line(json_t *a, size_t i)
{
	return json_string_value(json_array_get(a, i));
}

TEST(last_lines_only)
{
	const char *log = "one\ntwo\nthree\nfour\n";
	json_t *a = amx_stderr_tail_lines(log, strlen(log), false, 2);
	CHECK(json_array_size(a) == 2);
	CHECK(strcmp(line(a, 0), "three") == 0 && strcmp(line(a, 1), "four") == 0);
	json_decref(a);
}

TEST(cut_start_drops_the_partial_line)
{
	const char *log = "tial line\nError: boom\n    at x.js:1\n";
	json_t *a = amx_stderr_tail_lines(log, strlen(log), true, 20);
	CHECK(json_array_size(a) == 2);
	CHECK(strcmp(line(a, 0), "Error: boom") == 0);
	json_decref(a);
}

TEST(control_and_invalid_bytes_escaped)
{
	const char log[] = "\x1b[31mred\x1b[0m\r\nbad \xff byte, caf\xc3\xa9\n";
	json_t *a = amx_stderr_tail_lines(log, sizeof(log) - 1, false, 20);
	CHECK(json_array_size(a) == 2);
	CHECK(strcmp(line(a, 0), "\\x1b[31mred\\x1b[0m") == 0);
	CHECK(strcmp(line(a, 1), "bad \\xff byte, caf\xc3\xa9") == 0);
	json_decref(a);
}

TEST(empty_and_no_newline)
{
	json_t *a = amx_stderr_tail_lines("", 0, false, 20);
	CHECK(json_array_size(a) == 0);
	json_decref(a);
	a = amx_stderr_tail_lines("last", 4, false, 20);
	CHECK(json_array_size(a) == 1 && strcmp(line(a, 0), "last") == 0);
	json_decref(a);
}

int main(void)
{
	RUN(last_lines_only);
	RUN(cut_start_drops_the_partial_line);
	RUN(control_and_invalid_bytes_escaped);
	RUN(empty_and_no_newline);
	CHECK_DONE();
}
