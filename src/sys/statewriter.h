/* SPDX-License-Identifier: MIT */
/* Root's own state files that file events change (the good copy of each dump, the learned
 * toolchain), written by a thread of their own. A state write is a
 * temp file, an fsync and a rename: 0.4 ms on this VM when it is quiet, tens of ms when
 * other I/O shares the disk, and the loop's thread was doing it in the middle of a file
 * event (it was most of dump-changed's 40 ms p99, issue 16). The loop now hands the bytes
 * over and goes on; the writer, an ordinary SCHED_OTHER thread, writes the newest bytes of
 * each path in order. Reading a path with a write still queued answers the queued bytes,
 * so that nothing in the daemon sees an older state than it wrote. Before
 * amx_statewriter_start, and when the queue is full, writes are done at once, as before. */
#ifndef AMX_STATEWRITER_H
#define AMX_STATEWRITER_H

#include <stddef.h>

/* Start the writer thread (the daemon, once). 0, or -errno: writes stay synchronous. */
int amx_statewriter_start(void);
/* Replace path with data (atomic: temp file, fsync, rename), now or by the writer. A later
 * write or remove of the same path replaces a queued one. 0, or -errno when done at once
 * and failed; a queued write that fails says so on stderr. */
int amx_statefile_put(const char *path, const char *data, size_t len);
/* Remove path, in order with the writes queued for it. */
int amx_statefile_remove(const char *path);
/* What path holds, or will hold once the writer is done: amx_statefile_read's contract. */
int amx_statefile_get(const char *path, size_t max, char **out, size_t *len);
/* Wait until everything queued is on disk (or failed). */
void amx_statewriter_flush(void);
/* Flush, then stop the thread; writes are synchronous again. */
void amx_statewriter_stop(void);
/* Writes and removes done by the thread (tests). */
unsigned long amx_statewriter_done(void);

#endif
