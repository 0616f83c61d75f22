/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: `pm2 jlist` output (JSON possibly preceded by noise lines), which the
 * owner of a PM2_HOME controls, through the jlist parser. */
#include "core/dump.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct amx_dump d = { 0 };

	if (amx_jlist_parse((const char *)data, size, &d) == AMX_DUMP_OK)
		for (size_t i = 0; i < d.n_apps; i++)
			(void)amx_app_status_name(d.apps[i].status);
	amx_dump_free(&d);
	return 0;
}
