/* SPDX-License-Identifier: MIT */
/* The catalogue of every event the daemon can emit: one enum, and one table that gives
 * each its event.action, log.level, event.kind, event.category and event.type (the
 * contract in docs/events.md). amx_event_new (core/event.h) takes the enum, so an action
 * and its classification are written in one place only.
 *
 * The rule for levels: an event has the level of its entry. Only an entry whose
 * level_varies says when may be given another level at the call (amx_event_new_level);
 * elsewhere a level given at the call is ignored. Kind, category and type never vary. */
#ifndef AMX_EVENT_CATALOG_H
#define AMX_EVENT_CATALOG_H
#include <stddef.h>

/* Named AMX_EVT_ because AMX_EV_ names the kernel's record types (bpf/amexbpf.h). */
enum amx_event_id {
	AMX_EVT_MONITOR_STARTED,
	AMX_EVT_MONITOR_STOPPING,
	AMX_EVT_PROCESS_EXITED,
	AMX_EVT_OOM_KILLED,
	AMX_EVT_PM2_DAEMON_DOWN,
	AMX_EVT_PM2_RESTARTED_APP,
	AMX_EVT_APP_STOPPED,
	AMX_EVT_APP_ERRORED,
	AMX_EVT_RECOVERY_STARTED,
	AMX_EVT_RECOVERY_SUCCEEDED,
	AMX_EVT_RECOVERY_FAILED,
	AMX_EVT_RECOVERY_PARKED,
	AMX_EVT_DUMP_CHANGED,
	AMX_EVT_DUMP_INVALID,
	AMX_EVT_DUMP_RESTORED,
	AMX_EVT_MEMORY_OVER_LIMIT,
	AMX_EVT_DISK_OVER_THRESHOLD,
	AMX_EVT_DISK_OK,
	AMX_EVT_PROBE_FAILED,
	AMX_EVT_LOGS_RETAINED,
	AMX_EVT_EVENTS_LOST,
	AMX_EVT_CONFIG_RELOADED,
	AMX_EVT_CONFIG_INVALID,
	AMX_EVT_HOME_SKIPPED,
	AMX_EVT_RECOVERY_DEFERRED,
	AMX_EVT_EVENTS_SUPPRESSED,
	AMX_EVT_PM2_DRIFT,
	AMX_EVT_APP_RELOADED,
	AMX_EVT_SCHED_DEMOTED,
	AMX_EVT_PM2_UNIT_OOM_POLICY,
	AMX_EVT_APP_LISTENING,
	AMX_EVT_PORT_CONFLICT,
	AMX_EVT_APP_STOPPED_LISTENING,
	AMX_EVT_COUNT
};

struct amx_event_info {
	enum amx_event_id id;
	const char *action;       /* event.action */
	const char *level;        /* log.level: debug, info, warn, error or critical */
	const char *kind;         /* event.kind: event, or alert */
	const char *category;     /* event.category, comma-separated */
	const char *type;         /* event.type, comma-separated */
	const char *level_varies; /* NULL, or when the call gives another level, in words */
};

/* The entry of id; NULL for an id out of range. */
const struct amx_event_info *amx_event_catalog(enum amx_event_id id);
/* Every entry, for tests and documentation: i in [0, amx_event_catalog_count()). */
size_t amx_event_catalog_count(void);
const struct amx_event_info *amx_event_catalog_at(size_t i);
/* The entry whose action is action, or NULL. */
const struct amx_event_info *amx_event_catalog_find(const char *action);

#endif
