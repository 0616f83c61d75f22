/* SPDX-License-Identifier: MIT */
/* Appending one NDJSON line to the events file so that readers never see half a line,
 * even when the filesystem fills up. */
#ifndef AMX_APPENDLINE_H
#define AMX_APPENDLINE_H

#include <stdbool.h>
#include <stddef.h>

/* Appends len bytes (one line, ending in '\n') to fd, opened O_APPEND. A short write (disk
 * full, quota) is cut off again with ftruncate, so the file ends on a line boundary. Returns
 * true when the whole line is in the file; false (errno set) when nothing of it is. */
bool amx_append_line(int fd, const char *line, size_t len);

#endif
