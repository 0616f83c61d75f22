/* SPDX-License-Identifier: MIT */
/* The flags of `amexbpf run` and `check`, built from the option table: getopt_long's
 * array, the row a getopt result stands for, the generated --help, and the hidden
 * `amexbpf --dump-options` that tests/options_check.sh reads. */
#ifndef AMX_CLI_FLAGS_H
#define AMX_CLI_FLAGS_H

#include <getopt.h>
#include <stdio.h>

#include "core/option_table.h"

#define AMX_FLAGS_MAX 64       /* rows with a flag, and --help */
#define AMX_FLAG_HELP 'h'

struct amx_flags {
	struct option longopts[AMX_FLAGS_MAX + 1];
	char shortopts[2 * AMX_FLAGS_MAX + 1];
};

/* Fill f from the table. */
void amx_flags_build(struct amx_flags *f);
/* The row of a getopt_long result, NULL for AMX_FLAG_HELP and for '?'. */
const struct amx_option *amx_flags_row(int c);
/* The options part of --help: one entry per flag, and -h. */
void amx_flags_help(FILE *out);
/* One line per row: "SECTION<TAB>--FLAG<TAB>KEY<TAB>DEFAULT<TAB>METAVAR", "-" for a
 * missing flag, key or default, and as the METAVAR of a flag that takes no value. */
void amx_flags_dump(FILE *out);

#endif
