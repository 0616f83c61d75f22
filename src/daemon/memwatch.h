/* SPDX-License-Identifier: MIT */
/* The memory limit of each app, watched by a timer reading /proc/PID/statm every 250 ms.
 * Chosen by measurement (tests/bench/memwatch_cost.c, figures in the README): a BPF
 * program on kmem:rss_stat runs on every page fault of every process and cost a
 * fault-heavy process 3 % when it watched another app and 10 % when it watched that one;
 * cgroup v1 thresholds cost 6 % to the app moved into its own group; reading statm four
 * times a second costs within the noise, and still catches a crossing within 250 ms. */
#ifndef AMX_MEMWATCH_H
#define AMX_MEMWATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "core/option_value.h" /* amx_memlimit_parse */
#include "daemon/home.h"

#define AMX_MEMWATCH_INTERVAL_MS 250
#define AMX_DEFAULT_MEMORY_LIMIT (1024ll * 1024 * 1024) /* the old script's 1 GB */

/* The limit of an app: the first --memory-limit naming it, else max_memory_restart from
 * dump.pm2 (when > 0), else 1 GiB. Pure. */
int64_t amx_memlimit_for(const char *const *limits, int n_limits, const char *app,
			 int64_t from_dump);

/* Called once per crossing: an app's live pid reached its limit. */
typedef void (*amx_memwatch_over_fn)(void *ctx, int home, int app, int instance,
				     uint64_t rss_bytes, int64_t limit_bytes);

/* Plug the watch into the loop: every interval, each ALIVE app with a pid of each home is
 * read; a pid is reported once (each instance's mem_over_pid remembers it). */
struct amx_options;
/* o: its [app NAME] home= sections' memory limits apply to that home's app only, below the
 * --memory-limit list (flags, and sections without home=) and above dump.pm2's. */
int amx_memwatch_start(const struct amx_options *o, struct amx_home *homes, const int *n_homes,
		       const char *const *limits,
		       int n_limits, amx_memwatch_over_fn fn, void *ctx);

#endif
