/* SPDX-License-Identifier: MIT */
/* The notification hook: --notify-exec runs for each alert (and each event at or above
 * --notify-level) with the event's JSON line on stdin, as --notify-user, under a time-out,
 * never blocking the loop. At most one run at a time and one per --notify-interval: what
 * comes in between is folded per home (amexbpf.pm2.home) into that home's worst event (a
 * lower level never replaces a higher one), runs take the worst waiting home first, and
 * each carries amexbpf.notify.folded = how many events it stands for beyond itself. */
#ifndef AMX_NOTIFY_H
#define AMX_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "core/event.h" /* amx_level_rank */
#include "core/options.h"

/* Homes whose worst pending event waits for a run at once; beyond, the least important
 * waiting event gives way (counted as folded). */
#define AMX_NOTIFY_PENDING_MAX 64

/* Check the hook (absolute; resolved, root's, a regular executable file, not writable by
 * group or others, nor any directory on its real path),
 * the user and the level; subscribe. 0 (also when no hook is set), or an exit code with
 * err filled. */
int amx_notify_start(const struct amx_options *o, char *err, size_t errlen);
/* Kill a hook still running (shutdown). */
void amx_notify_stop(void);

#endif
