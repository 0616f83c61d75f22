/* SPDX-License-Identifier: MIT */
/* oom-killed is sent once its outcome is known. The kernel's record of the kill (taken at
 * mark_victim: memory figures and memory cgroup) is held until the recovery policy knows
 * whether PM2 brought the app back: a new live pid while the policy waited for PM2 says
 * yes (amexbpf.oom.pm2_restarted true, with the time and the new pid), the end of that
 * wait says no. @timestamp stays the kernel's time of the kill. Nothing else waits:
 * process-exited and the recovery policy go ahead as soon as the exit is seen.
 * The table and the event builder are pure; the daemon decides when an outcome is known. */
#ifndef AMX_OOMWAIT_H
#define AMX_OOMWAIT_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include <linux/types.h>

#include "bpf/amexbpf.h"
#include "core/dump.h"
#include "core/event.h"

/* Longest an oom-killed is held (from the kill) when no outcome comes: a victim that never
 * exits, or an app the policy no longer follows. Then it goes out as not restarted. */
#define AMX_OOM_HOLD_MAX_MS 60000
#define AMX_OOM_PENDING_MAX 32

enum amx_oom_result {
	AMX_OOM_RESULT_UNKNOWN = 0, /* amexbpf stopped (or had no room) before it knew: null */
	AMX_OOM_PM2_RESTARTED,      /* PM2 gave the app a new live pid during its grace */
	AMX_OOM_NOT_RESTARTED,      /* the grace passed (or PM2 stopped / gave up on it) */
};

struct amx_oom_outcome {
	enum amx_oom_result result;
	int new_pid;          /* PM2_RESTARTED */
	uint64_t restart_ms;  /* PM2_RESTARTED: from the exit to the new pid */
};

struct amx_oom_pending {
	bool used;
	int home;                /* index of the PM2_HOME */
	char app[AMX_NAME_MAX];
	uint64_t deadline_ms;    /* boot clock: sent as not restarted then */
	struct amx_event kev;    /* the kernel's record */
};

struct amx_oomwait {
	struct amx_oom_pending p[AMX_OOM_PENDING_MAX];
};

/* The held kill of this app, or NULL. */
struct amx_oom_pending *amx_oomwait_find(struct amx_oomwait *w, int home, const char *app);
/* Hold a kill until now_ms + AMX_OOM_HOLD_MAX_MS; NULL when the table is full (the caller
 * sends it at once, outcome unknown). The caller sends any earlier kill of the app first. */
struct amx_oom_pending *amx_oomwait_hold(struct amx_oomwait *w, int home, const char *app,
					 const struct amx_event *kev, uint64_t now_ms);
/* The first held kill past its deadline at now_ms, or NULL. */
struct amx_oom_pending *amx_oomwait_expired(struct amx_oomwait *w, uint64_t now_ms);
/* Any held kill (for the flush at shutdown), or NULL. */
struct amx_oom_pending *amx_oomwait_any(struct amx_oomwait *w);
/* The earliest deadline, 0 when nothing is held. */
uint64_t amx_oomwait_next_deadline(const struct amx_oomwait *w);
void amx_oomwait_release(struct amx_oom_pending *p);

/* The oom-killed event of a kernel record (AMX_EV_OOM) for an app of home_path, with its
 * outcome: every amexbpf.oom field the kernel gave, the memory cgroup, and pm2_restarted
 * (true, false, or null when unknown). */
json_t *amx_oom_event_new(struct amx_event_stream *s, const struct amx_event *kev,
			  const char *home_path, const char *app,
			  const struct amx_oom_outcome *o);

#endif
