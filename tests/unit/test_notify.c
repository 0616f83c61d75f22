/* SPDX-License-Identifier: MIT */
/* The notification hook: checked like a root-run program (root's, not writable by group or
 * others, nor any parent directory), and folding keeps each home's worst pending event:
 * one home's stream of warnings never masks another home's critical alert. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "core/event.h"
#include "core/options.h"
#include "report/notify.h"
#include "sys/loop.h"

static char dir[64], hook[128], out[128];
static struct amx_event_stream stream;

static void make_hook(void)
{
	snprintf(dir, sizeof(dir), "/tmp/amx-notify-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	chmod(dir, 0755);
	snprintf(hook, sizeof(hook), "%s/hook", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	FILE *f = fopen(hook, "w");
	/* one line per run; the output file is written by nobody */
	fprintf(f, "#!/bin/sh\ncat >> %s\n", out);
	fclose(f);
	chmod(hook, 0755);
	f = fopen(out, "w");
	fclose(f);
	chown(out, 65534, 65534);
}

static struct amx_options opts(void)
{
	struct amx_options o;

	memset(&o, 0, sizeof(o));
	o.notify_exec = hook;
	o.notify_user = "nobody";
	o.notify_timeout_s = 5;
	o.notify_interval_s = 0.05;
	return o;
}

static void emit(const char *home, const char *action, const char *level)
{
	/* any catalogue entry, then the fields the hook's folding looks at */
	json_t *ev = amx_event_new(&stream, AMX_EVT_DUMP_INVALID, 0, "%s %s", action, home);
	amx_event_set_str(ev, "event.action", action);
	amx_event_set_str(ev, "log.level", level);
	amx_event_set_str(ev, "event.kind", "alert");
	amx_event_set_str(ev, "amexbpf.pm2.home", home);
	amx_loop_publish(ev, "");
	json_decref(ev);
}

static int lines(void)
{
	FILE *f = fopen(out, "r");
	int n = 0, c;

	while (f && (c = fgetc(f)) != EOF)
		n += c == '\n';
	if (f)
		fclose(f);
	return n;
}

static bool out_has(const char *s)
{
	char buf[65536];
	FILE *f = fopen(out, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	return strstr(buf, s) != NULL;
}

TEST(one_home_does_not_mask_another)
{
	char err[256];
	struct amx_options o;

	make_hook();
	o = opts();
	CHECK(amx_loop_init() == 0);
	amx_event_stream_init(&stream);
	CHECK(amx_notify_start(&o, err, sizeof(err)) == 0);
	emit("/home/a/.pm2", "first", "warn");           /* runs at once */
	emit("/home/b/.pm2", "b-pm2-daemon-down", "critical");
	for (int i = 0; i < 50; i++)
		emit("/home/a/.pm2", "a-dump-invalid", "warn");
	emit("/home/a/.pm2", "a-critical", "critical");
	emit("/home/a/.pm2", "a-after", "warn");          /* lower: does not replace it */
	/* up to 3 s of loop turns (each bounded), then whatever ran is what ran */
	uint64_t end = amx_boot_ms() + 3000;
	while (amx_boot_ms() < end && lines() < 3) {
		amx_loop_wake_at(amx_boot_ms() + 20);
		amx_loop_run_once();
	}
	/* and no fourth run comes */
	end = amx_boot_ms() + 300;
	while (amx_boot_ms() < end) {
		amx_loop_wake_at(amx_boot_ms() + 20);
		amx_loop_run_once();
	}
	CHECK(lines() == 3);
	CHECK(out_has("b-pm2-daemon-down"));
	CHECK(out_has("a-critical"));
	CHECK(!out_has("a-after\""));
	amx_notify_stop();
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
}

TEST(hook_must_be_roots_in_roots_directories)
{
	char err[256];
	struct amx_options o;

	make_hook();
	o = opts();
	/* owned by a user, even if not writable by others */
	CHECK(chown(hook, 65534, 65534) == 0);
	CHECK(amx_notify_start(&o, err, sizeof(err)) != 0);
	CHECK(chown(hook, 0, 0) == 0);
	/* in a directory a user owns: they could swap it */
	CHECK(chown(dir, 65534, 65534) == 0);
	CHECK(amx_notify_start(&o, err, sizeof(err)) != 0);
	CHECK(chown(dir, 0, 0) == 0);
	/* in a directory anyone may write to */
	CHECK(chmod(dir, 0777) == 0);
	CHECK(amx_notify_start(&o, err, sizeof(err)) != 0);
	CHECK(chmod(dir, 0755) == 0);
	/* root's, in root's directories: fine */
	CHECK(amx_notify_start(&o, err, sizeof(err)) == 0);
	amx_notify_stop();
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
}

int main(void)
{
	RUN(one_home_does_not_mask_another);
	RUN(hook_must_be_roots_in_roots_directories);
	CHECK_DONE();
}
