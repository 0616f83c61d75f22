/* SPDX-License-Identifier: MIT */
/* The values an option can take, parsed the same way from the command line and from the
 * config file. Pure: no I/O. Each parser checks the form and the limits every use shares;
 * the range of one option (verify-timeout > 0, probe-failures <= 1000) is its row's in
 * core/option_table.c. All return false on a bad value and leave *out alone. */
#ifndef AMX_OPTION_VALUE_H
#define AMX_OPTION_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AMX_SECONDS_MAX (86400.0 * 30)      /* no time option means more than 30 days */
#define AMX_BYTES_MAX (1ll << 50)           /* 1 PiB: more is a typo, not a limit */
#define AMX_BUDGET_MAX_ATTEMPTS 64
#define AMX_RETAIN_MAX_DAYS 36500
#define AMX_PROBE_MAX 64                    /* --probe: at most this many */

/* A finite decimal number (strtod's forms; no nan, no inf). */
bool amx_parse_number(const char *s, double *out);
/* Seconds, decimals allowed, 0 .. AMX_SECONDS_MAX. */
bool amx_parse_seconds(const char *s, double *out);
/* Decimal digits only (no sign, no blank), no more than UINT_MAX. */
bool amx_parse_count(const char *s, unsigned *out);
/* "N/S": N (1 .. AMX_BUDGET_MAX_ATTEMPTS) attempts in S seconds (> 0). */
bool amx_parse_budget(const char *s, unsigned *n, double *window);
/* Bytes with an optional K, M or G suffix (powers of 1024), 1 .. AMX_BYTES_MAX. */
bool amx_parse_bytes(const char *s, long long *out);
/* yes/no, true/false, on/off, 1/0 (any case). */
bool amx_parse_bool(const char *s, bool *out);

/* A probe's URL: http://HOST[:PORT][/PATH], PORT 1..65535 (default 80), PATH (default /)
 * without blanks, quotes or backslashes: it goes into the request line as it is. */
struct amx_probe_url {
	char host[256];
	char port[8];
	char path[1024];
};
bool amx_probe_url_parse(const char *url, struct amx_probe_url *u);

/* The APP=VALUE forms of the repeatable flags; *app points into arg. App names may hold
 * '=': a memory limit splits at the last one, a probe at "=http://". */
/* --memory-limit APP=SIZE, SIZE as amx_parse_bytes. */
bool amx_memlimit_parse(const char *arg, const char **app, size_t *app_len, int64_t *bytes);
/* --probe APP=URL, URL as amx_probe_url_parse. */
bool amx_probe_parse(const char *arg, const char **app, size_t *app_len, struct amx_probe_url *u);
/* --retain DIR=DAYS: DIR absolute, DAYS 1 .. AMX_RETAIN_MAX_DAYS; *dir points into arg. */
bool amx_retain_parse(const char *arg, const char **dir, size_t *dir_len, unsigned *days);

/* The same, as yes/no checks for lists of such values. */
bool amx_valid_memlimit(const char *arg);
bool amx_valid_probe(const char *arg);
bool amx_valid_retain(const char *arg);

#endif
