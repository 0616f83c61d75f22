/* SPDX-License-Identifier: MIT */
/* Every option of `amexbpf run` / `check`, one row each: its flag, its config key, its
 * type and range, its default, the field it sets and its help. The command line (getopt,
 * --help), the config file's keys and the defaults are all driven by this table, so an
 * option is added in one place; tests/options_check.sh checks that the man page, the
 * example config and the README name every row. Pure: no I/O. */
#ifndef AMX_OPTION_TABLE_H
#define AMX_OPTION_TABLE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/options.h"

/* Which struct a row's fields are in. */
enum amx_opt_section {
	AMX_SECTION_GLOBAL,   /* [amexbpf] and the flags: struct amx_options */
	AMX_SECTION_HOME,     /* [home PATH]: the home's const char *ecosystem slot */
	AMX_SECTION_APP,      /* [app NAME]: struct amx_app_conf */
};

enum amx_opt_type {
	AMX_OPT_SECONDS,  /* double at field, amx_parse_seconds, then [min, max] */
	AMX_OPT_COUNT,    /* unsigned at field, amx_parse_count, then [min, max] */
	AMX_OPT_NUMBER,   /* double at field, amx_parse_number, then [min, max] */
	AMX_OPT_BYTES,    /* long long at field, amx_parse_bytes */
	AMX_OPT_BUDGET,   /* "N/S": unsigned N at field, double S at field2 */
	AMX_OPT_BOOL,     /* bool at field, amx_parse_bool */
	AMX_OPT_CHOICE,   /* int at field: the index of the value in choices */
	AMX_OPT_WORD,     /* const char * at field: one of choices */
	AMX_OPT_STRING,   /* const char * at field: any value */
	AMX_OPT_PATH,     /* const char * at field: absolute in the config file (a relative
			   * one on the command line is the operator's, from their directory) */
	AMX_OPT_FILE,     /* the same, and a regular file: the caller checks that it exists */
	AMX_OPT_URL,      /* const char * at field: amx_probe_url_parse */
	AMX_OPT_LIST,     /* const char *[] at field, int count at field2: each value checked
			   * by valid, at most max of them; the config file gives several per
			   * line (blank or comma separated), a flag one per use */
};

/* Where a value comes from: the checks differ only for paths (see AMX_OPT_PATH). */
enum amx_opt_origin { AMX_FROM_DEFAULT, AMX_FROM_FLAG, AMX_FROM_FILE };

/* A default the policy owns (amx_policy_config_defaults): the table refers to it. */
enum amx_opt_policy {
	AMX_POLICY_NONE,
	AMX_POLICY_GRACE,
	AMX_POLICY_MANUAL_GRACE,
	AMX_POLICY_VERIFY,
	AMX_POLICY_BUDGET,
};

struct amx_option {
	const char *flag;          /* long flag without "--"; NULL: config file only */
	char short_flag;           /* 0: none */
	const char *key;           /* config key; NULL: command line only */
	enum amx_opt_section section;
	enum amx_opt_type type;
	double min, max;           /* SECONDS, COUNT, NUMBER: the range; LIST: max = how many */
	bool min_open;             /* the range excludes min (> 0, not >= 0) */
	const char *def;           /* the default, as written in the file; NULL: none */
	enum amx_opt_policy policy_default; /* else the policy's default */
	const char *example;       /* a valid value when there is no default (tests, docs) */
	size_t field, field2;      /* offsetof in the section's struct */
	const char *const *choices; /* CHOICE, WORD: NULL-terminated */
	bool (*valid)(const char *v); /* LIST: checks one value; NULL: a path (AMX_OPT_PATH) */
	const char *accepts;       /* LIST: what valid accepts, for the error message */
	const char *implied;       /* the flag takes no value: it means this one ("yes") */
	bool negated;              /* BOOL: the field holds the opposite (journal: no_journal) */
	const char *metavar;       /* the flag's value in --help: "S", "DIR" */
	const char *help;          /* one sentence for --help; "(default X)" is added */
};

extern const struct amx_option amx_option_table[];
extern const size_t amx_option_count;

/* The row of a config key in a section ('_' and '-' alike), or of a long flag; NULL. */
const struct amx_option *amx_option_by_key(enum amx_opt_section section, const char *key);
const struct amx_option *amx_option_by_flag(const char *flag);

/* The row's default as it would be written ("2", "5/600", "auto"), formatted into buf when
 * the policy owns it; NULL when the row has none. */
const char *amx_option_default(const struct amx_option *r, char *buf, size_t len);
/* Every default of the global rows into o (zeroed first). */
void amx_options_defaults(struct amx_options *o);

/* Check v for the row and store it in base (the section's struct: struct amx_options for
 * the global rows, struct amx_app_conf for [app], a const char * slot for [home]). A string
 * is stored as the pointer given: the caller keeps it alive. A LIST value is appended.
 * false with one line in msg: "bad value for KEY: V (what is allowed)" or "too many KEY
 * (at most N)", KEY being --flag for AMX_FROM_FLAG, the config key otherwise. */
bool amx_option_set(const struct amx_option *r, const char *v, enum amx_opt_origin from,
		    void *base, char *msg, size_t len);
/* A LIST row's list emptied (a flag replaces the config file's list). */
void amx_option_clear(const struct amx_option *r, void *base);
/* What the row accepts, e.g. "seconds, 0 to 2592000", into buf. */
const char *amx_option_accepts(const struct amx_option *r, enum amx_opt_origin from, char *buf,
			       size_t len);

/* The row's lines of --help ("  --grace S    wait for ... (default 2)\n"), wrapped at
 * width columns, into buf; "" for a row without a flag. */
const char *amx_option_help(const struct amx_option *r, int width, char *buf, size_t len);

#endif
