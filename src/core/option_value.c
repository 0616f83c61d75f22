/* SPDX-License-Identifier: MIT */
/* Option values: see option_value.h. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/option_value.h"

bool amx_parse_number(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	/* v - v is 0 only for a finite v: nan and inf are refused here, once for every user */
	if (errno || end == s || *end || v - v != 0)
		return false;
	*out = v;
	return true;
}

bool amx_parse_seconds(const char *s, double *out)
{
	double v;
	if (!amx_parse_number(s, &v) || v < 0 || v > AMX_SECONDS_MAX)
		return false;
	*out = v;
	return true;
}

/* Digits up to stop (a NUL or the given character), into *out. */
static bool parse_digits(const char *s, char stop, unsigned long long limit, const char **end,
			 unsigned long long *out)
{
	unsigned long long v = 0;
	const char *p = s;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (limit - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (p == s || *p != stop)
		return false;
	*end = p;
	*out = v;
	return true;
}

bool amx_parse_count(const char *s, unsigned *out)
{
	const char *end;
	unsigned long long v;
	if (!parse_digits(s, '\0', UINT_MAX, &end, &v))
		return false;
	*out = (unsigned)v;
	return true;
}

bool amx_parse_budget(const char *s, unsigned *n, double *window)
{
	const char *slash;
	unsigned long long v;
	double w;
	if (!parse_digits(s, '/', UINT_MAX, &slash, &v) || v < 1 || v > AMX_BUDGET_MAX_ATTEMPTS)
		return false;
	if (!amx_parse_seconds(slash + 1, &w) || w <= 0)
		return false;
	*n = (unsigned)v;
	*window = w;
	return true;
}

bool amx_parse_bytes(const char *s, long long *out)
{
	size_t len = strlen(s);
	unsigned shift = 0;
	char digits[32];
	if (len == 0 || len >= sizeof(digits))
		return false;
	switch (s[len - 1]) {
	case 'K': case 'k': shift = 10; break;
	case 'M': case 'm': shift = 20; break;
	case 'G': case 'g': shift = 30; break;
	default: break;
	}
	memcpy(digits, s, len + 1);
	if (shift)
		digits[--len] = '\0';
	const char *end;
	unsigned long long v;
	if (!parse_digits(digits, '\0', (unsigned long long)AMX_BYTES_MAX >> shift, &end, &v) || v == 0)
		return false;
	*out = (long long)(v << shift);
	return true;
}

bool amx_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return true;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return true;
		}
	}
	return false;
}

bool amx_probe_url_parse(const char *url, struct amx_probe_url *u)
{
	static const char scheme[] = "http://";
	if (strncmp(url, scheme, strlen(scheme)) != 0 || strpbrk(url, " \t\r\n\"'\\"))
		return false;
	const char *host = url + strlen(scheme);
	const char *path = strchr(host, '/');
	size_t hostport = path ? (size_t)(path - host) : strlen(host);
	const char *colon = memchr(host, ':', hostport);
	size_t hlen = colon ? (size_t)(colon - host) : hostport;
	if (hlen == 0 || hlen >= sizeof(u->host))
		return false;
	memcpy(u->host, host, hlen);
	u->host[hlen] = '\0';
	if (colon) {
		size_t plen = hostport - hlen - 1;
		if (plen == 0 || plen >= sizeof(u->port) || strspn(colon + 1, "0123456789") < plen)
			return false;
		memcpy(u->port, colon + 1, plen);
		u->port[plen] = '\0';
		long p = atol(u->port);
		if (p < 1 || p > 65535)
			return false;
	} else {
		memcpy(u->port, "80", 3);
	}
	path = path ? path : "/";
	if (strlen(path) >= sizeof(u->path))
		return false;
	memcpy(u->path, path, strlen(path) + 1);
	return true;
}

bool amx_memlimit_parse(const char *arg, const char **app, size_t *app_len, int64_t *bytes)
{
	const char *eq = strrchr(arg, '='); /* app names may hold '=', sizes never do */
	long long b;
	if (!eq || eq == arg || !amx_parse_bytes(eq + 1, &b))
		return false;
	*bytes = b;
	*app = arg;
	*app_len = (size_t)(eq - arg);
	return true;
}

bool amx_probe_parse(const char *arg, const char **app, size_t *app_len, struct amx_probe_url *u)
{
	const char *eq = strstr(arg, "=http://"); /* names may hold '=', the URL starts here */
	if (!eq || eq == arg || !amx_probe_url_parse(eq + 1, u))
		return false;
	*app = arg;
	*app_len = (size_t)(eq - arg);
	return true;
}

bool amx_retain_parse(const char *arg, const char **dir, size_t *dir_len, unsigned *days)
{
	const char *eq = strrchr(arg, '=');
	const char *end;
	unsigned long long d;
	if (!eq || eq == arg || arg[0] != '/')
		return false;
	if (!parse_digits(eq + 1, '\0', UINT_MAX, &end, &d) || d < 1 || d > AMX_RETAIN_MAX_DAYS)
		return false;
	*dir = arg;
	*dir_len = (size_t)(eq - arg);
	*days = (unsigned)d;
	return true;
}

bool amx_valid_memlimit(const char *arg)
{
	const char *app;
	size_t len;
	int64_t bytes;
	return amx_memlimit_parse(arg, &app, &len, &bytes);
}

bool amx_valid_probe(const char *arg)
{
	const char *app;
	size_t len;
	struct amx_probe_url u;
	return amx_probe_parse(arg, &app, &len, &u);
}

bool amx_valid_retain(const char *arg)
{
	const char *dir;
	size_t len;
	unsigned days;
	return amx_retain_parse(arg, &dir, &len, &days);
}
