/* SPDX-License-Identifier: MIT */
/* The control socket's request line (src/core/control_request.c), without a socket. */
#include "check.h"
#include "core/control.h"
#include "core/control_request.h"

#include <stdlib.h>

static struct amx_request parse(const char *line)
{
	struct amx_request r;
	amx_control_parse_request(line, strlen(line), &r);
	return r;
}

TEST(status_with_and_without_cr)
{
	CHECK(parse("STATUS").kind == AMX_REQUEST_STATUS);
	CHECK(parse("STATUS\r").kind == AMX_REQUEST_STATUS);
	CHECK(parse("STATUS ").kind == AMX_REQUEST_ERROR);
	CHECK(parse("status").kind == AMX_REQUEST_ERROR);
}

TEST(events_defaults_and_options)
{
	struct amx_request r = parse("EVENTS");
	CHECK(r.kind == AMX_REQUEST_EVENTS && r.follow && r.since == 0 && r.n_actions == 0);
	r = parse("EVENTS since=3 follow=0\taction=process-exited action=recovery-started\r");
	CHECK(r.kind == AMX_REQUEST_EVENTS && !r.follow && r.since == 3);
	CHECK(r.n_actions == 2);
	CHECK_STR(r.actions[0], "process-exited");
	CHECK_STR(r.actions[1], "recovery-started");
	r = parse("EVENTS since=18446744073709551615");
	CHECK(r.kind == AMX_REQUEST_EVENTS && r.since == UINT64_MAX);
}

TEST(each_error_is_named)
{
	CHECK_STR(parse("EVENTS since=-1").error, "bad since");
	CHECK_STR(parse("EVENTS since=18446744073709551616").error, "bad since");
	CHECK_STR(parse("EVENTS since=").error, "bad since");
	CHECK_STR(parse("EVENTS follow=2").error, "bad argument");
	CHECK_STR(parse("EVENTS action=").error, "bad argument");
	CHECK_STR(parse("EVENTSX").error, "unknown request");
	CHECK_STR(parse("").error, "unknown request");

	char many[2048] = "EVENTS";
	for (int i = 0; i <= AMX_CONTROL_MAX_FILTERS; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), " action=a%d", i);
	CHECK_STR(parse(many).error, "too many actions");

	/* an action name that does not fit a filter is refused, not cut */
	char longname[128] = "EVENTS action=";
	memset(longname + strlen(longname), 'x', AMX_CONTROL_ACTION_MAX);
	CHECK_STR(parse(longname).error, "bad argument");
}

TEST(nul_and_overlong_lines)
{
	struct amx_request r;
	amx_control_parse_request("STAT\0US", 7, &r);
	CHECK(r.kind == AMX_REQUEST_ERROR && !strcmp(r.error, "unknown request"));
	amx_control_parse_request("STATUS\0", 7, &r);
	CHECK(r.kind == AMX_REQUEST_ERROR);

	char *big = malloc(AMX_CONTROL_LINE_MAX + 2);
	if (!big)
		return;
	memset(big, ' ', AMX_CONTROL_LINE_MAX + 1);
	memcpy(big, "EVENTS", 6);
	amx_control_parse_request(big, AMX_CONTROL_LINE_MAX, &r);
	CHECK(r.kind == AMX_REQUEST_EVENTS); /* exactly the limit is fine */
	amx_control_parse_request(big, AMX_CONTROL_LINE_MAX + 1, &r);
	CHECK(r.kind == AMX_REQUEST_ERROR && !strcmp(r.error, "request too long"));
	free(big);
}

int main(void)
{
	RUN(status_with_and_without_cr);
	RUN(events_defaults_and_options);
	RUN(each_error_is_named);
	RUN(nul_and_overlong_lines);
	CHECK_DONE();
}
