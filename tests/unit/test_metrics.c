/* SPDX-License-Identifier: MIT */
/* The textfile: label values of any length (home paths up to PATH_MAX, app names) stay
 * within bounds and well-formed, and the directory must be root's alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "core/event.h"
#include "report/metrics.h"
#include "sys/loop.h"

static char dir[64];

TEST(directory_must_be_roots_alone)
{
	char err[256];

	snprintf(dir, sizeof(dir), "/tmp/amx-metrics-XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	CHECK(chown(dir, 65534, 65534) == 0);
	CHECK(amx_metrics_start(dir, err, sizeof(err)) != 0);
	CHECK(chown(dir, 0, 0) == 0 && chmod(dir, 0777) == 0);
	CHECK(amx_metrics_start(dir, err, sizeof(err)) != 0);
	CHECK(chmod(dir, 0755) == 0);
	CHECK(amx_loop_init() == 0);
	CHECK(amx_metrics_start(dir, err, sizeof(err)) == 0);
}

TEST(long_labels_are_bounded_and_well_formed)
{
	static struct amx_event_stream stream;
	char home[4097], app[300], path[128], line[40000];
	FILE *f;
	int exits = 0;

	/* a home path of 4000 bytes of quotes and backslashes: each doubles when escaped */
	home[0] = '/';
	for (int i = 1; i < 4000; i++)
		home[i] = i % 2 ? '"' : '\\';
	home[4000] = '\0';
	memset(app, 'a', 255);
	app[255] = '\0';
	amx_event_stream_init(&stream);
	json_t *ev = amx_event_new(&stream, AMX_EVT_PROCESS_EXITED, 0, "x");
	amx_event_set_str(ev, "amexbpf.pm2.home", home);
	amx_event_set_str(ev, "amexbpf.pm2.app", app);
	amx_event_set_int(ev, "process.exit_code", 1);
	amx_event_set_str(ev, "amexbpf.cause", "oom");
	amx_loop_publish(ev, "");
	json_decref(ev);
	/* A cause outside the fixed set is "other"; none at all "unknown". */
	ev = amx_event_new(&stream, AMX_EVT_PROCESS_EXITED, 0, "x");
	amx_event_set_str(ev, "amexbpf.pm2.home", "/h");
	amx_event_set_str(ev, "amexbpf.pm2.app", "a");
	amx_event_set_int(ev, "process.exit_code", 1);
	amx_event_set_str(ev, "amexbpf.cause", "\"} 9\nevil");
	amx_loop_publish(ev, "");
	json_decref(ev);
	ev = amx_event_new(&stream, AMX_EVT_PROCESS_EXITED, 0, "x");
	amx_event_set_str(ev, "amexbpf.pm2.home", "/h");
	amx_event_set_str(ev, "amexbpf.pm2.app", "a");
	amx_loop_publish(ev, "");
	json_decref(ev);
	ev = amx_event_new(&stream, AMX_EVT_PORT_CONFLICT, 0, "x");
	amx_event_set_str(ev, "amexbpf.pm2.home", "/h");
	amx_event_set_str(ev, "amexbpf.pm2.app", "a");
	amx_event_set_bool(ev, "amexbpf.holder.orphan", true);
	amx_loop_publish(ev, "");
	json_decref(ev);
	amx_metrics_flush();
	snprintf(path, sizeof(path), "%s/amexbpf.prom", dir);
	f = fopen(path, "r");
	CHECK(f != NULL);
	int causes = 0;
	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "amexbpf_process_exit_causes_total{", 34)) {
			causes++;
			CHECK(strstr(line, "cause=\"oom\"} 1\n") || strstr(line, "cause=\"other\"} 1\n") ||
			      strstr(line, "cause=\"unknown\"} 1\n"));
		}
		if (!strncmp(line, "amexbpf_port_conflicts_total{", 29))
			CHECK(strstr(line, "app=\"a\",holder=\"orphan\"} 1\n") ||
			      strstr(line, "holder=\"orphan\"") != NULL);
		if (strncmp(line, "amexbpf_process_exits_total{", 28))
			continue;
		if (strstr(line, "home=\"/h\""))
			continue; /* the cause cases' exits */
		exits++;
		/* ends in "} 1": the label set closed, after an unescaped quote */
		char *end = strstr(line, "\"} 1\n");
		CHECK(end != NULL);
		CHECK(strstr(line, "reason=\"exit_error\"") != NULL);
	}
	if (f)
		fclose(f);
	CHECK(exits == 1);
	CHECK(causes == 3);
}

/* node_exporter reads the file as its own user: 0644 under the unit's UMask=0027 too (it
 * was 0640 root:root in the systemd bed, unreadable to the exporter). */
TEST(file_is_world_readable_under_the_units_umask)
{
	char path[128];
	struct stat st;
	mode_t old = umask(0027);

	amx_metrics_flush();
	umask(old);
	snprintf(path, sizeof(path), "%s/amexbpf.prom", dir);
	CHECK(stat(path, &st) == 0);
	CHECK((st.st_mode & 07777) == 0644);
	char line[160];
	snprintf(line, sizeof(line), "rm -rf %s", dir);
	CHECK(system(line) == 0);
}

int main(void)
{
	RUN(directory_must_be_roots_alone);
	RUN(long_labels_are_bounded_and_well_formed);
	RUN(file_is_world_readable_under_the_units_umask);
	CHECK_DONE();
}
