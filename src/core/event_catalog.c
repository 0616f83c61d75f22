/* SPDX-License-Identifier: MIT */
/* The one table of events (core/event_catalog.h). Keep it in step with docs/events.md:
 * tests/unit/test_event_catalog.c checks that every action here is documented there. */
#include "core/event_catalog.h"

#include <string.h>

static const struct amx_event_info CATALOG[AMX_EVT_COUNT] = {
	[AMX_EVT_MONITOR_STARTED] = {
		AMX_EVT_MONITOR_STARTED, "monitor-started", "info", "event", "host", "start", NULL },
	[AMX_EVT_MONITOR_STOPPING] = {
		AMX_EVT_MONITOR_STOPPING, "monitor-stopping", "info", "event", "host", "end", NULL },
	[AMX_EVT_PROCESS_EXITED] = {
		AMX_EVT_PROCESS_EXITED, "process-exited", "error", "event", "process", "end",
		"warn when an app exited with code 0" },
	[AMX_EVT_OOM_KILLED] = {
		AMX_EVT_OOM_KILLED, "oom-killed", "critical", "alert", "process", "end", NULL },
	[AMX_EVT_PM2_DAEMON_DOWN] = {
		AMX_EVT_PM2_DAEMON_DOWN, "pm2-daemon-down", "critical", "alert", "process,host", "end",
		"warn when the daemon was stopped on purpose" },
	[AMX_EVT_PM2_RESTARTED_APP] = {
		AMX_EVT_PM2_RESTARTED_APP, "pm2-restarted-app", "info", "event", "process", "start",
		NULL },
	[AMX_EVT_APP_STOPPED] = {
		AMX_EVT_APP_STOPPED, "app-stopped", "warn", "event", "process", "end", NULL },
	[AMX_EVT_APP_ERRORED] = {
		AMX_EVT_APP_ERRORED, "app-errored", "error", "alert", "process", "error", NULL },
	[AMX_EVT_RECOVERY_STARTED] = {
		AMX_EVT_RECOVERY_STARTED, "recovery-started", "warn", "event", "process", "start",
		NULL },
	[AMX_EVT_RECOVERY_SUCCEEDED] = {
		AMX_EVT_RECOVERY_SUCCEEDED, "recovery-succeeded", "info", "event", "process", "start",
		NULL },
	[AMX_EVT_RECOVERY_FAILED] = {
		AMX_EVT_RECOVERY_FAILED, "recovery-failed", "error", "event", "process", "error",
		"warn when a tier was skipped, not tried: no saved app wants the daemon, or no "
		"ecosystem file for tier 3" },
	[AMX_EVT_RECOVERY_PARKED] = {
		AMX_EVT_RECOVERY_PARKED, "recovery-parked", "critical", "alert", "process", "info",
		NULL },
	[AMX_EVT_DUMP_CHANGED] = {
		AMX_EVT_DUMP_CHANGED, "dump-changed", "info", "event", "file,configuration", "change",
		NULL },
	[AMX_EVT_DUMP_INVALID] = {
		AMX_EVT_DUMP_INVALID, "dump-invalid", "error", "alert", "file", "error", NULL },
	[AMX_EVT_DUMP_RESTORED] = {
		AMX_EVT_DUMP_RESTORED, "dump-restored", "warn", "event", "file", "change", NULL },
	[AMX_EVT_MEMORY_OVER_LIMIT] = {
		AMX_EVT_MEMORY_OVER_LIMIT, "memory-over-limit", "error", "alert", "process", "info",
		NULL },
	[AMX_EVT_DISK_OVER_THRESHOLD] = {
		AMX_EVT_DISK_OVER_THRESHOLD, "disk-over-threshold", "warn", "alert", "host",
		"info,error", NULL },
	[AMX_EVT_DISK_OK] = {
		AMX_EVT_DISK_OK, "disk-ok", "info", "event", "host", "info", NULL },
	[AMX_EVT_PROBE_FAILED] = {
		AMX_EVT_PROBE_FAILED, "probe-failed", "error", "alert", "process", "error", NULL },
	[AMX_EVT_LOGS_RETAINED] = {
		AMX_EVT_LOGS_RETAINED, "logs-retained", "info", "event", "file", "change",
		"warn when a file could not be removed" },
	[AMX_EVT_EVENTS_LOST] = {
		AMX_EVT_EVENTS_LOST, "events-lost", "error", "alert", "host", "error", NULL },
	[AMX_EVT_CONFIG_RELOADED] = {
		AMX_EVT_CONFIG_RELOADED, "config-reloaded", "info", "event", "configuration",
		"change", "warn when a new home failed" },
	[AMX_EVT_CONFIG_INVALID] = {
		AMX_EVT_CONFIG_INVALID, "config-invalid", "error", "alert", "configuration", "error",
		NULL },
	[AMX_EVT_HOME_SKIPPED] = {
		AMX_EVT_HOME_SKIPPED, "home-skipped", "error", "alert", "configuration,file",
		"error", NULL },
	[AMX_EVT_EVENTS_SUPPRESSED] = {
		AMX_EVT_EVENTS_SUPPRESSED, "events-suppressed", "warn", "event", "file", "info",
		NULL },
	[AMX_EVT_RECOVERY_DEFERRED] = {
		AMX_EVT_RECOVERY_DEFERRED, "recovery-deferred", "warn", "event", "process", "info",
		NULL },
	[AMX_EVT_PORT_CONFLICT] = {
		AMX_EVT_PORT_CONFLICT, "port-conflict", "error", "alert", "process", "error",
		NULL },
	[AMX_EVT_PM2_DRIFT] = {
		AMX_EVT_PM2_DRIFT, "pm2-drift", "warn", "alert", "process,configuration", "change",
		NULL },
	[AMX_EVT_APP_RELOADED] = {
		AMX_EVT_APP_RELOADED, "app-reloaded", "info", "event", "process", "change",
		"warn when at some moment of the reload no instance of the app ran" },
	[AMX_EVT_SCHED_DEMOTED] = {
		AMX_EVT_SCHED_DEMOTED, "sched-demoted", "warn", "event", "host", "change", NULL },
	[AMX_EVT_PM2_UNIT_OOM_POLICY] = {
		AMX_EVT_PM2_UNIT_OOM_POLICY, "pm2-unit-oom-policy", "warn", "alert", "configuration",
		"info", NULL },
	[AMX_EVT_APP_LISTENING] = {
		AMX_EVT_APP_LISTENING, "app-listening", "info", "event", "process", "start",
		NULL },
	[AMX_EVT_APP_STOPPED_LISTENING] = {
		AMX_EVT_APP_STOPPED_LISTENING, "app-stopped-listening", "info", "event", "process",
		"end", NULL },
};

const struct amx_event_info *amx_event_catalog(enum amx_event_id id)
{
	return (unsigned)id < AMX_EVT_COUNT ? &CATALOG[id] : NULL;
}

size_t amx_event_catalog_count(void)
{
	return AMX_EVT_COUNT;
}

const struct amx_event_info *amx_event_catalog_at(size_t i)
{
	return i < AMX_EVT_COUNT ? &CATALOG[i] : NULL;
}

const struct amx_event_info *amx_event_catalog_find(const char *action)
{
	for (size_t i = 0; action && i < AMX_EVT_COUNT; i++)
		if (!strcmp(CATALOG[i].action, action))
			return &CATALOG[i];
	return NULL;
}
