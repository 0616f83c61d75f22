/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: one control socket request line (what any client allowed on the
 * socket sends) through the request parser, then the answer the server would send for
 * an error, formatted as it formats it. */
#include "core/control.h"
#include "core/control_request.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct amx_request r;
	const char *nl = memchr(data, '\n', size);
	size_t len = nl ? (size_t)(nl - (const char *)data) : size;
	char answer[256];

	amx_control_parse_request((const char *)data, len, &r);
	if (r.kind == AMX_REQUEST_ERROR)
		snprintf(answer, sizeof(answer), "{\"error\":\"%s\"}\n", r.error);
	for (int i = 0; i < r.n_actions; i++)
		if (!memchr(r.actions[i], '\0', sizeof(r.actions[i])))
			__builtin_trap(); /* every filter is a C string */
	return 0;
}
