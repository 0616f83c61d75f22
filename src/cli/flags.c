/* SPDX-License-Identifier: MIT */
/* Flags from the option table: see flags.h. */
#include <string.h>

#include "cli/flags.h"

/* getopt_long returns FLAG_BASE + the row's index for a long flag. */
#define FLAG_BASE 256
#define HELP_WIDTH 88

void amx_flags_build(struct amx_flags *f)
{
	size_t n = 0, s = 0;
	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < amx_option_count && n < AMX_FLAGS_MAX - 1; i++) {
		const struct amx_option *r = &amx_option_table[i];
		if (!r->flag)
			continue;
		f->longopts[n++] = (struct option){ r->flag, r->implied ? no_argument : required_argument,
						    NULL, FLAG_BASE + (int)i };
		if (r->short_flag) {
			f->shortopts[s++] = r->short_flag;
			if (!r->implied)
				f->shortopts[s++] = ':';
		}
	}
	f->longopts[n] = (struct option){ "help", no_argument, NULL, AMX_FLAG_HELP };
	f->shortopts[s] = AMX_FLAG_HELP;
}

const struct amx_option *amx_flags_row(int c)
{
	if (c >= FLAG_BASE && (size_t)(c - FLAG_BASE) < amx_option_count)
		return &amx_option_table[c - FLAG_BASE];
	for (size_t i = 0; c > 0 && i < amx_option_count; i++)
		if (amx_option_table[i].short_flag == c)
			return &amx_option_table[i];
	return NULL;
}

void amx_flags_help(FILE *out)
{
	char buf[1024];
	for (size_t i = 0; i < amx_option_count; i++)
		fputs(amx_option_help(&amx_option_table[i], HELP_WIDTH, buf, sizeof(buf)), out);
	fputs("  -h, --help            this help\n", out);
}

void amx_flags_dump(FILE *out)
{
	static const char *const sections[] = {
		[AMX_SECTION_GLOBAL] = "amexbpf", [AMX_SECTION_HOME] = "home", [AMX_SECTION_APP] = "app",
	};
	char buf[64];
	for (size_t i = 0; i < amx_option_count; i++) {
		const struct amx_option *r = &amx_option_table[i];
		const char *def = amx_option_default(r, buf, sizeof(buf));
		fprintf(out, "%s\t%s%s\t%s\t%s\t%s\n", sections[r->section], r->flag ? "--" : "-",
			r->flag ? r->flag : "", r->key ? r->key : "-", def ? def : "-",
			r->implied ? "-" : r->metavar ? r->metavar : "VALUE");
	}
}
