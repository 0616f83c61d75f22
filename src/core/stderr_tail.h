/* SPDX-License-Identifier: MIT */
/* The app's last words: the end of its PM2 error log as a JSON array of lines
 * (amexbpf.stderr_tail). Pure; the file is read by sys/userfile.c. */
#ifndef AMX_STDERR_TAIL_H
#define AMX_STDERR_TAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#define AMX_STDERR_TAIL_LINES 20
#define AMX_STDERR_TAIL_BYTES 4096

/* The last max_lines lines of buf (the end of a file; cut: it does not start at the file's
 * start, so its first line is partial and dropped). Control characters and bytes that are
 * not UTF-8 become "\xNN" text, a final '\r' goes. A new array (empty when no line). */
json_t *amx_stderr_tail_lines(const char *buf, size_t len, bool cut, int max_lines);

#endif
