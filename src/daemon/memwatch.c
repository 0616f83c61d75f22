/* SPDX-License-Identifier: MIT */
/* The memory limit timer; why a timer and not BPF or cgroups: see memwatch.h. */
#include <string.h>

#include "core/dump.h"
#include "sys/loop.h"
#include "daemon/memwatch.h"
#include "daemon/config.h"
#include "sys/proc.h"

int64_t amx_memlimit_for(const char *const *limits, int n_limits, const char *app,
			 int64_t from_dump)
{
	for (int i = 0; i < n_limits; i++) {
		const char *name;
		size_t len;
		int64_t bytes;
		if (amx_memlimit_parse(limits[i], &name, &len, &bytes) && len == strlen(app) &&
		    !memcmp(name, app, len))
			return bytes;
	}
	return from_dump > 0 ? from_dump : AMX_DEFAULT_MEMORY_LIMIT;
}

static struct {
	const struct amx_options *o;
	struct amx_home *homes;
	const int *n_homes;
	const char *const *limits;
	int n_limits;
	amx_memwatch_over_fn fn;
	void *ctx;
	uint64_t next_ms;
} W;

static void check_app(int hi, int ai)
{
	struct amx_app *a = &W.homes[hi].apps[ai];

	if (a->pol.state != AMX_APP_ALIVE)
		return;
	/* keyed by (home, app): a section for another home's app of the same name is not this
	 * app's */
	long long own = W.o ? amx_config_home_app_limit(W.o, W.homes[hi].path, a->name) : 0;
	int64_t limit = amx_memlimit_for(W.limits, W.n_limits, a->name,
					 own > 0 ? own : a->max_memory_bytes);
	/* The limit is per process, as PM2's max_memory_restart is. */
	for (unsigned k = 0; k < a->n_inst; k++) {
		struct amx_instance *in = &a->inst[k];
		if (in->pid <= 0 || in->mem_over_pid == in->pid)
			continue; /* not running, or reported: its restart is under way or parked */
		uint64_t rss = amx_proc_rss_bytes(in->pid);
		if (rss == 0 || (int64_t)rss < limit)
			continue;
		in->mem_over_pid = in->pid;
		W.fn(W.ctx, hi, ai, (int)k, rss, limit);
		return;
	}
}

static void memwatch_tick(void *ctx, uint64_t now_ms)
{
	(void)ctx;
	if (now_ms >= W.next_ms) {
		W.next_ms = now_ms + AMX_MEMWATCH_INTERVAL_MS;
		for (int hi = 0; hi < *W.n_homes; hi++)
			for (size_t ai = 0; ai < W.homes[hi].n_apps; ai++)
				check_app(hi, (int)ai);
	}
	amx_loop_wake_at(W.next_ms);
}

int amx_memwatch_start(const struct amx_options *o, struct amx_home *homes, const int *n_homes,
		       const char *const *limits, int n_limits, amx_memwatch_over_fn fn, void *ctx)
{
	W.o = o;
	W.homes = homes;
	W.n_homes = n_homes;
	W.limits = limits;
	W.n_limits = n_limits;
	W.fn = fn;
	W.ctx = ctx;
	W.next_ms = 0;
	return amx_loop_add_ticker(memwatch_tick, NULL);
}
