/* SPDX-License-Identifier: MIT */
/* The config file (INI, read with libinih). It and the command line fill the one struct
 * amx_options through the option table (core/option_table.h): defaults, then the file,
 * then the flags. */
#ifndef AMX_CONFIG_H
#define AMX_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/options.h"
#include "core/policy.h"

/* Read the INI file at path into o, on top of what o holds (call it after the defaults and
 * before the command line). Every problem is one line "PATH:LINE: what" appended to
 * problems (which is always NUL-terminated). Returns the number of problems, or -errno
 * when the file cannot be opened. Strings put into o are allocated and listed (see
 * amx_config_own): a reload builds a new set and the few bytes of the old one stay. */
int amx_config_load(const char *path, struct amx_options *o, char *problems, size_t len);
/* The same from an open stream; path names it in the problems (the fuzz harness reads
 * bytes through fmemopen). */
int amx_config_read(FILE *f, const char *path, struct amx_options *o, char *problems, size_t len);

/* Strings the options keep for the process's life (config values, resolved paths, entries
 * built from [app] sections) are listed through amx_config_own (returns s), so that options
 * replaced by a reload leave them reachable rather than lost. amx_config_free_strings frees
 * every one (unit tests, the fuzz harness: never while options still point at them). */
char *amx_config_own(char *s);
void amx_config_free_strings(void);

/* The [app NAME] section for an app of a home, or NULL. */
/* The memory limit of an [app NAME] section for exactly this home (home = set), or 0. */
long long amx_config_home_app_limit(const struct amx_options *o, const char *home,
				    const char *name);
const struct amx_app_conf *amx_config_app(const struct amx_options *o, const char *home,
					  const char *name);

/* The ecosystem file for tier 3 of an app of a home (app NULL: the home's): the [app]
 * section's, else the [home] section's, else the global one; NULL for none. */
const char *amx_config_ecosystem(const struct amx_options *o, const char *home, const char *app);
/* [home PATH] pm2 = and node = ; NULL when not set. */
const char *amx_config_home_pm2(const struct amx_options *o, const char *home);
const char *amx_config_home_node(const struct amx_options *o, const char *home);
/* The global policy settings the options give (the policy's defaults for the rest: backoff). */
void amx_config_policy(const struct amx_options *o, struct amx_policy_config *cfg);
/* One app's policy settings: cfg holds the global ones; the [app] section's manual grace
 * and budget go over them, and have_ecosystem says whether tier 3 has a file for it. */
void amx_config_app_policy(const struct amx_options *o, const char *home, const char *app,
			   struct amx_policy_config *cfg);

#endif
