/* SPDX-License-Identifier: MIT */
/* The events file sink: append-only, one write() a line, reopened on SIGHUP (logrotate),
 * and never fatal once running: a full disk (ENOSPC) or an I/O error (EIO) loses lines,
 * counts them, and reports the count once writing works again. "-" is stdout. */
#ifndef AMX_EVENTFILE_H
#define AMX_EVENTFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct amx_eventfile {
	int fd;                 /* -1 when none (no --events) */
	const char *path;       /* NULL or "-" for stdout */
	uint64_t lost;          /* lines lost in the current run of failures */
	int lost_errno;         /* why the first of them was lost */
	uint64_t lost_total;    /* since start */
};

/* Open (creating the parent directory). -errno on failure. */
int amx_eventfile_open(struct amx_eventfile *f, const char *path);
/* Write one whole line; false when it was lost. */
bool amx_eventfile_write(struct amx_eventfile *f, const char *line, size_t len);
/* Open the path anew (after logrotate moved it); the old descriptor is kept on failure. */
void amx_eventfile_reopen(struct amx_eventfile *f);
/* After a run of lost lines, the first successful write ends it: returns true once with
 * how many lines were lost and the errno of the first failure, then forgets them. */
bool amx_eventfile_take_recovery(struct amx_eventfile *f, uint64_t *lost, int *err);
void amx_eventfile_close(struct amx_eventfile *f);

#endif
