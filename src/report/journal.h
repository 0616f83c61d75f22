/* SPDX-License-Identifier: MIT */
/* The journald sink: each event as a structured journal entry (MESSAGE, PRIORITY, a
 * MESSAGE_ID per action, AMEXBPF_* fields and the whole JSON), through libsystemd.
 * Where journald does not run (no /run/systemd/journal/socket at start-up), a no-op. */
#ifndef AMX_JOURNAL_H
#define AMX_JOURNAL_H

#include <stdbool.h>
#include <jansson.h>

/* Subscribe to the event stream when journald runs and !disabled. Returns whether the
 * sink is active. */
bool amx_journal_start(bool disabled);
/* The MESSAGE_ID of an action (32 hex digits), NULL when unknown. */
const char *amx_journal_message_id(const char *action);
/* syslog priority of a log.level (critical 2, error 3, warn 4, info 6, debug 7). */
int amx_journal_priority(const char *level);

#endif
