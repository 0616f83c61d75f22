/* SPDX-License-Identifier: MIT */
#include "report/journal.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>

#include "core/event.h"
#include "sys/loop.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

/* Fixed, random-looking 128-bit ids (derived once from the action names): journalctl
 * MESSAGE_ID=... finds every event of one kind across renames of its message text. */
static const struct { const char *action, *id; } MESSAGE_IDS[] = {
	{ "monitor-started", "048e56cc483f3dbe62888c715d2e51ae" },
	{ "monitor-stopping", "7390e8bc239ec64f27bbdfb4f1b4835a" },
	{ "process-exited", "b481f8fa91d11349ce0b01be7bcb2239" },
	{ "oom-killed", "8f473af9f2b333ba4f0d3218b29ff795" },
	{ "pm2-daemon-down", "312304f070fc936107cf003de6248b76" },
	{ "pm2-restarted-app", "a20b4e62a56fa8f13d0ec7eb5ce5b4e7" },
	{ "app-stopped", "f40bde79548f012383276b7ea22ce2f7" },
	{ "app-errored", "7fb20d7fcc232ba5808b0666dd11d92f" },
	{ "recovery-started", "527c9f9e91b8082c49f02add4162a79a" },
	{ "recovery-succeeded", "e864ded2e11dacc31392ba7e45698ea7" },
	{ "recovery-failed", "a16c069cbfc69d0b030e55acb3e6be6f" },
	{ "recovery-parked", "682af1da3fd5ab7f885803a98130837f" },
	{ "dump-changed", "3620b247044cfdf0c1c3a47dab3217bb" },
	{ "dump-invalid", "3fe7afd7e97d2819d308af4e0ca084ca" },
	{ "dump-restored", "226948d0e1fc82ecf1eef9182e212f33" },
	{ "memory-over-limit", "e4929d3dd9be007e756beed45e9f286f" },
	{ "disk-over-threshold", "eb811dcf5f04a3ab042de906bb66597a" },
	{ "disk-ok", "5a0988fec8b63993232c4bad9ca6397f" },
	{ "probe-failed", "e1a6efcc18e13a14bfeef697bd3f801b" },
	{ "events-lost", "4afcb0fc95bf310383d077954f2ef6e0" },
	{ "config-reloaded", "14e5d3ca14ede685f9455e08c59ce225" },
	{ "config-invalid", "67f0ebed8c648df6ec97a79fdcd1533f" },
	{ "app-reloaded", "65b1337062ac69b7e8e5dead6550dd95" },
	{ "pm2-unit-oom-policy", "c0d6a9e35b1f4e7a8d2c61f0b94e7a35" },
};

const char *amx_journal_message_id(const char *action)
{
	for (size_t i = 0; action && i < sizeof(MESSAGE_IDS) / sizeof(MESSAGE_IDS[0]); i++)
		if (strcmp(MESSAGE_IDS[i].action, action) == 0)
			return MESSAGE_IDS[i].id;
	return NULL;
}

int amx_journal_priority(const char *level)
{
	if (!level)
		return 6;
	if (!strcmp(level, "critical"))
		return 2;
	if (!strcmp(level, "error"))
		return 3;
	if (!strcmp(level, "warn"))
		return 4;
	if (!strcmp(level, "debug"))
		return 7;
	return 6;
}

static const char *str_at(json_t *ev, const char *path)
{
	const char *s = json_string_value(amx_event_get(ev, path));
	return s ? s : "";
}

static void journal_event(void *ctx, json_t *ev, const char *line)
{
	(void)ctx;
	const char *action = str_at(ev, "event.action");
	const char *id = amx_journal_message_id(action);
	json_t *pid = amx_event_get(ev, "process.pid");
	size_t len = strlen(line);
	if (len && line[len - 1] == '\n')
		len--;
	/* A full journal or a restarting journald must not stop anything: errors are ignored. */
	sd_journal_send("MESSAGE=%s", str_at(ev, "message"),
			"PRIORITY=%d", amx_journal_priority(str_at(ev, "log.level")),
			"MESSAGE_ID=%s", id ? id : "00000000000000000000000000000000",
			"SYSLOG_IDENTIFIER=amexbpf",
			"AMEXBPF_ACTION=%s", action,
			"AMEXBPF_KIND=%s", str_at(ev, "event.kind"),
			"AMEXBPF_SEQUENCE=%lld", (long long)json_integer_value(amx_event_get(ev, "event.sequence")),
			"AMEXBPF_APP=%s", str_at(ev, "amexbpf.pm2.app"),
			"AMEXBPF_HOME=%s", str_at(ev, "amexbpf.pm2.home"),
			"AMEXBPF_PID=%lld", pid ? (long long)json_integer_value(pid) : 0LL,
			"AMEXBPF_JSON=%.*s", (int)len, line,
			NULL);
}

bool amx_journal_start(bool disabled)
{
	struct stat st;
	if (disabled || stat(JOURNAL_SOCKET, &st) < 0 || !S_ISSOCK(st.st_mode))
		return false;
	return amx_loop_subscribe(journal_event, NULL) == 0;
}
