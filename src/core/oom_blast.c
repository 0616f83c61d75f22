/* SPDX-License-Identifier: MIT */
#include "core/oom_blast.h"

#include <string.h>

/* Bounded: systemctl's output is ours, but it names a unit whose file a home's owner may
 * have written. */
#define SHOW_MAX 4096

static bool line_is(const char *line, size_t n, const char *key, const char **val, size_t *vlen)
{
	size_t k = strlen(key);
	if (n <= k || strncmp(line, key, k) != 0 || line[k] != '=')
		return false;
	*val = line + k + 1;
	*vlen = n - k - 1;
	return true;
}

static bool word_is(const char *v, size_t n, const char *w)
{
	return n == strlen(w) && !strncmp(v, w, n);
}

enum amx_oom_policy amx_oom_policy_parse(const char *out, size_t len)
{
	if (!out)
		return AMX_OOMPOL_UNKNOWN;
	if (len > SHOW_MAX)
		len = SHOW_MAX;
	int loaded = -1;
	enum amx_oom_policy pol = AMX_OOMPOL_UNKNOWN;
	size_t i = 0;
	while (i < len) {
		const char *line = out + i;
		const char *nl = memchr(line, '\n', len - i);
		size_t n = nl ? (size_t)(nl - line) : len - i;
		i += n + 1;
		const char *v;
		size_t vn;
		if (line_is(line, n, "LoadState", &v, &vn))
			loaded = word_is(v, vn, "loaded");
		else if (line_is(line, n, "OOMPolicy", &v, &vn)) {
			if (word_is(v, vn, "continue"))
				pol = AMX_OOMPOL_CONTINUE;
			else if (word_is(v, vn, "stop"))
				pol = AMX_OOMPOL_STOP;
			else if (word_is(v, vn, "kill"))
				pol = AMX_OOMPOL_KILL;
		}
	}
	if (loaded == 0)
		return AMX_OOMPOL_NOT_LOADED;
	return loaded == 1 ? pol : AMX_OOMPOL_UNKNOWN;
}

const char *amx_oom_policy_name(enum amx_oom_policy p)
{
	switch (p) {
	case AMX_OOMPOL_NOT_LOADED: return "not-loaded";
	case AMX_OOMPOL_CONTINUE: return "continue";
	case AMX_OOMPOL_STOP: return "stop";
	case AMX_OOMPOL_KILL: return "kill";
	default: return "unknown";
	}
}

bool amx_oom_policy_warns(enum amx_oom_policy p)
{
	return p == AMX_OOMPOL_STOP || p == AMX_OOMPOL_KILL;
}

bool amx_oom_collateral(const struct amx_oom_mark *mark, uint64_t now_ms, int pid, bool own_oom)
{
	if (!mark || !mark->at_ms || own_oom || pid <= 0 || pid == mark->pid)
		return false;
	return now_ms >= mark->at_ms && now_ms - mark->at_ms <= AMX_OOM_COLLATERAL_MS;
}
