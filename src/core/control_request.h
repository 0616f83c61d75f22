/* SPDX-License-Identifier: MIT */
/* The control socket's request line, parsed without a socket (protocol in control.h), so it
 * is unit tested and fuzzed (tests/fuzz/fuzz_control.c) on its own. */
#ifndef AMX_CONTROL_REQUEST_H
#define AMX_CONTROL_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AMX_CONTROL_MAX_FILTERS 32
#define AMX_CONTROL_ACTION_MAX 40

enum amx_request_kind {
	AMX_REQUEST_ERROR = 0,   /* error says what; the answer is {"error":"<error>"} */
	AMX_REQUEST_STATUS,
	AMX_REQUEST_EVENTS,
};

struct amx_request {
	enum amx_request_kind kind;
	const char *error;       /* a static string, for AMX_REQUEST_ERROR */
	uint64_t since;          /* EVENTS: events with a sequence above this */
	bool follow;
	char actions[AMX_CONTROL_MAX_FILTERS][AMX_CONTROL_ACTION_MAX];
	int n_actions;           /* 0: every action */
};

/* One request line of len bytes, without its '\n' (a trailing '\r' is allowed). A line
 * longer than AMX_CONTROL_LINE_MAX or holding a NUL byte is an error. Fills r; never
 * fails otherwise. */
void amx_control_parse_request(const char *line, size_t len, struct amx_request *r);

#endif
