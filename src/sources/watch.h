/* SPDX-License-Identifier: MIT */
/* inotify on each PM2_HOME through libinotifytools. The library hides its descriptor,
 * so a thread owns it, blocks in inotifytools_next_event() and hands each event to the
 * main loop through a queue and an eventfd: reaction in microseconds, no polling timer. */
#ifndef AMX_WATCH_H
#define AMX_WATCH_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

enum amx_fs_what {
	AMX_FS_GOD_PID = 1, /* pm2.pid written, moved in, or removed */
	AMX_FS_PID_FILE,    /* pids/<file>.pid written or removed */
	AMX_FS_DUMP,        /* dump.pm2 written, moved in, or removed */
	AMX_FS_RESCAN,      /* queue overflow, pids/ appeared or vanished, home moved: re-scan */
};

struct amx_fs_event {
	int home;            /* index into the homes (amx_watcher_start, then add_homes) */
	enum amx_fs_what what;
	uint32_t mask;       /* IN_CLOSE_WRITE, IN_MOVED_TO, IN_DELETE, ... */
	char name[256];      /* file name within its directory */
	uint64_t seen_ns;    /* CLOCK_BOOTTIME when the thread read it */
};

struct amx_watcher;

/* Watch each home (and its pids/ directory) without following symlinks.
 * NULL with err filled on failure. */
struct amx_watcher *amx_watcher_start(const char *const *homes, int n_homes, char *err,
				      size_t errlen);
/* Readable (eventfd) when events wait. */
int amx_watcher_fd(const struct amx_watcher *w);
/* Take up to max waiting events; returns how many. Also counts overflows in *overflows. */
int amx_watcher_take(struct amx_watcher *w, struct amx_fs_event *out, int max);
/* Watch more homes: homes[0..n_homes) is the whole list, the first ones as given before
 * (a reload appends). The thread stops, and starts again with the new homes; a missing
 * one is looked for each second. Homes already watched are not watched again: the
 * library would keep a second record of the same watch and lose it. false with err
 * filled on failure (the homes watched before stay watched if the thread runs). */
bool amx_watcher_add_homes(struct amx_watcher *w, const char *const *homes, int n_homes,
			   char *err, size_t errlen);
void amx_watcher_stop(struct amx_watcher *w);

#endif
