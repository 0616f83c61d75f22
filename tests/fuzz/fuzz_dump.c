/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: dump.pm2 bytes, as an unprivileged user may write them, through the
 * parser and the judge. Any crash, leak or sanitizer report is a finding. */
#include "core/dump.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct amx_dump d = { 0 }, none = { 0 };
	enum amx_dump_problem p = amx_dump_parse((const char *)data, size, &d);

	(void)amx_dump_judge(p, &d, &none);
	(void)amx_dump_problem_name(p);
	for (size_t i = 0; i < d.n_apps; i++)
		(void)amx_dump_find(&d, d.apps[i].name);
	amx_dump_free(&d);
	return 0;
}
