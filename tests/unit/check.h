/* SPDX-License-Identifier: MIT */
/* A tiny unit-test harness: each TEST is one test; it prints "PASS file:name" or
 * "FAIL file:name: line N: what". tests/run.sh counts those lines. */
#ifndef AMX_CHECK_H
#define AMX_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failed_tests;
static int check_current_failed;

#define CHECK(cond)                                                                    \
	do {                                                                           \
		if (!(cond)) {                                                         \
			if (!check_current_failed)                                     \
				printf("FAIL %s:%s: line %d: %s\n", __FILE__, check_name, \
				       __LINE__, #cond);                               \
			check_current_failed = 1;                                      \
		}                                                                      \
	} while (0)

#define CHECK_STR(a, b) CHECK(strcmp((a), (b)) == 0)

#define TEST(fn) static void fn(const char *check_name __attribute__((unused)))

#define RUN(fn)                                                                        \
	do {                                                                           \
		check_current_failed = 0;                                              \
		fn(#fn);                                                               \
		if (check_current_failed)                                              \
			check_failed_tests++;                                          \
		else                                                                   \
			printf("PASS %s:%s\n", __FILE__, #fn);                         \
	} while (0)

#define CHECK_DONE() return check_failed_tests ? 1 : 0

#endif
