/* SPDX-License-Identifier: MIT */
/* libFuzzer harness: config file bytes through libinih and our key handlers
 * (amx_config_read on an fmemopen stream: no path is opened; keys naming an ecosystem
 * file only stat() what the input names). Every string the parser keeps is listed
 * (amx_config_own) and freed after each input; anything else left behind is a leak, a
 * finding. */
#include "daemon/config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct amx_options o; /* 100 kB: not on the stack */
	char problems[4096];
	FILE *f;

	if (size == 0)
		return 0; /* fmemopen refuses an empty buffer */
	f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	memset(&o, 0, sizeof(o));
	(void)amx_config_read(f, "fuzz.conf", &o, problems, sizeof(problems));
	fclose(f);
	for (int i = 0; i < o.n_apps; i++)
		(void)amx_config_app(&o, o.apps[i].home, o.apps[i].name);
	amx_config_free_strings();
	return 0;
}
