/* SPDX-License-Identifier: MIT */
/* The pure parts of the sinks and the hook: journald ids and priorities, level ranks, the
 * events file's loss accounting, and a child's stdin fed from a buffer. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "report/eventfile.h"
#include "report/journal.h"
#include "report/notify.h"
#include "sys/spawn.h"

static const char *const ACTIONS[] = {
	"monitor-started", "monitor-stopping", "process-exited", "oom-killed", "pm2-daemon-down",
	"pm2-restarted-app", "app-stopped", "app-errored", "recovery-started", "recovery-succeeded",
	"recovery-failed", "recovery-parked", "dump-changed", "dump-invalid", "dump-restored",
	"memory-over-limit", "disk-over-threshold", "disk-ok", "probe-failed", "events-lost",
	"config-reloaded", "config-invalid", "app-reloaded",
};
#define N_ACTIONS (sizeof(ACTIONS) / sizeof(ACTIONS[0]))

TEST(every_action_has_its_own_message_id)
{
	for (size_t i = 0; i < N_ACTIONS; i++) {
		const char *id = amx_journal_message_id(ACTIONS[i]);
		CHECK(id && strlen(id) == 32 && strspn(id, "0123456789abcdef") == 32);
		for (size_t j = 0; id && j < i; j++)
			CHECK(strcmp(id, amx_journal_message_id(ACTIONS[j])) != 0);
	}
	CHECK(amx_journal_message_id("no-such-action") == NULL);
	CHECK(amx_journal_message_id(NULL) == NULL);
}

TEST(levels_map_to_priorities_and_ranks)
{
	CHECK(amx_journal_priority("critical") == 2);
	CHECK(amx_journal_priority("error") == 3);
	CHECK(amx_journal_priority("warn") == 4);
	CHECK(amx_journal_priority("info") == 6);
	CHECK(amx_journal_priority("debug") == 7);
	CHECK(amx_level_rank("debug") == 0);
	CHECK(amx_level_rank("critical") == 4);
	CHECK(amx_level_rank("warn") < amx_level_rank("error"));
	CHECK(amx_level_rank("fatal") == -1);
	CHECK(amx_level_rank(NULL) == -1);
}

TEST(full_device_loses_lines_and_reports_once)
{
	struct amx_eventfile f;
	CHECK(amx_eventfile_open(&f, "/dev/full") == 0);
	uint64_t lost = 0;
	int err = 0;
	CHECK(!amx_eventfile_write(&f, "a\n", 2));
	CHECK(!amx_eventfile_write(&f, "b\n", 2));
	CHECK(f.lost == 2 && f.lost_total == 2 && f.lost_errno == ENOSPC);
	/* writable again: the same struct on /dev/null */
	close(f.fd);
	f.fd = open("/dev/null", O_WRONLY);
	CHECK(amx_eventfile_write(&f, "c\n", 2));
	CHECK(amx_eventfile_take_recovery(&f, &lost, &err));
	CHECK(lost == 2 && err == ENOSPC);
	CHECK(!amx_eventfile_take_recovery(&f, &lost, &err));
	amx_eventfile_close(&f);
}

TEST(child_reads_its_stdin_from_the_buffer)
{
	struct amx_user me;
	char err[256];
	CHECK(amx_user_from_uid(getuid(), &me, err, sizeof(err)));
	struct amx_argv argv = { .v = { "/bin/cat", NULL }, .n = 1 };
	struct amx_child c;
	static char big[200000];
	memset(big, 'x', sizeof(big));
	const char *ev = "{\"message\":\"x\"}\n";
	CHECK(amx_spawn_input(&c, &argv, &me, NULL, ev, strlen(ev), err, sizeof(err)) == 0);
	for (int i = 0; i < 500 && !amx_child_reap(&c); i++) {
		amx_child_read_output(&c);
		usleep(10000);
	}
	amx_child_read_output(&c);
	CHECK(amx_child_succeeded(&c));
	CHECK_STR(c.output, ev);
	amx_child_release(&c);
	/* more than a pipe holds by default is still delivered whole (up to the limit) */
	CHECK(amx_spawn_input(&c, &argv, &me, NULL, big, sizeof(big), err, sizeof(err)) == 0);
	for (int i = 0; i < 500 && !amx_child_reap(&c); i++) {
		amx_child_read_output(&c);
		usleep(10000);
	}
	amx_child_read_output(&c);
	CHECK(amx_child_succeeded(&c));
	CHECK(c.truncated && c.out_len == AMX_CHILD_OUTPUT_MAX - 1);
	amx_child_release(&c);
	CHECK(amx_spawn_input(&c, &argv, &me, NULL, big, AMX_SPAWN_INPUT_MAX + 1, err, sizeof(err)) == -EMSGSIZE);
}

int main(void)
{
	RUN(every_action_has_its_own_message_id);
	RUN(levels_map_to_priorities_and_ranks);
	RUN(full_device_loses_lines_and_reports_once);
	RUN(child_reads_its_stdin_from_the_buffer);
	CHECK_DONE();
}
