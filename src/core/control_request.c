/* SPDX-License-Identifier: MIT */
/* The control socket's request line (protocol in control.h). Pure: bytes in, a request
 * out, so the server only acts on what this decided. */
#include "core/control_request.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/control.h"

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-')
		return false;
	*out = v;
	return true;
}

static void request_error(struct amx_request *r, const char *what)
{
	r->kind = AMX_REQUEST_ERROR;
	r->error = what;
}

static void parse_events(char *args, struct amx_request *r)
{
	char *save = NULL;
	for (char *w = strtok_r(args, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (!strncmp(w, "since=", 6)) {
			if (!parse_u64(w + 6, &r->since))
				return request_error(r, "bad since");
		} else if (!strcmp(w, "follow=0") || !strcmp(w, "follow=1")) {
			r->follow = w[7] == '1';
		} else if (!strncmp(w, "action=", 7) && w[7] && strlen(w + 7) < sizeof(r->actions[0])) {
			if (r->n_actions == AMX_CONTROL_MAX_FILTERS)
				return request_error(r, "too many actions");
			snprintf(r->actions[r->n_actions++], sizeof(r->actions[0]), "%s", w + 7);
		} else {
			return request_error(r, "bad argument");
		}
	}
	r->kind = AMX_REQUEST_EVENTS;
}

void amx_control_parse_request(const char *line, size_t len, struct amx_request *r)
{
	char req[AMX_CONTROL_LINE_MAX + 1];

	memset(r, 0, sizeof(*r));
	r->follow = true;
	if (len > AMX_CONTROL_LINE_MAX)
		return request_error(r, "request too long");
	if (memchr(line, '\0', len))
		return request_error(r, "unknown request");
	memcpy(req, line, len);
	req[len] = '\0';
	if (len && req[len - 1] == '\r')
		req[--len] = '\0';
	if (!strcmp(req, "STATUS")) {
		r->kind = AMX_REQUEST_STATUS;
		return;
	}
	if (!strncmp(req, "EVENTS", 6) && (req[6] == '\0' || req[6] == ' ' || req[6] == '\t'))
		return parse_events(req + 6, r);
	request_error(r, "unknown request");
}
