/* SPDX-License-Identifier: MIT */
/* amx_daemon_run: the engine set up in order (homes, events file, loop and signals,
 * reporting, self-test, kernel-event source, watcher, first look at every home, health
 * checks), the run loop, and one cleanup ladder that every way out goes down: each label
 * undoes one step of the set-up, in reverse order. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "daemon/engine.h"
#include "daemon/selftest.h"
#include "daemon/toolchain.h"
#include "report/control_server.h"
#include "report/journal.h"
#include "report/metrics.h"
#include "report/notify.h"
#include "report/status.h"
#include "sys/loop.h"
#include "sys/sdnotify.h"
#include "sys/statewriter.h"
#include "sys/systemd.h"
#include "sys/userfile.h"

/* The reporting modules' window on the daemon (report/status.h). */
static void report_view(void *ctx, struct amx_report_view *v)
{
	struct amx_engine *e = ctx;
	v->homes = e->homes;
	v->n_homes = e->n_homes;
	v->cfg = &e->cfg;
	v->started_ms = e->started_ms;
	v->last_sequence = e->stream.next_seq ? e->stream.next_seq - 1 : 0;
	v->attach = amx_exit_source_attach_kind(&e->src);
	v->bpf_watched = amx_exit_source_watched_count(&e->src);
	v->bpf_stats = e->o->bpf_stats;
	struct amx_bpf_prog_stat ps[AMX_REPORT_PROGS];
	v->n_progs = amx_exit_source_prog_stats(&e->src, ps, AMX_REPORT_PROGS);
	for (int i = 0; i < v->n_progs; i++) {
		snprintf(v->progs[i].name, sizeof(v->progs[i].name), "%s", ps[i].name);
		v->progs[i].run_cnt = ps[i].run_cnt;
		v->progs[i].run_time_ns = ps[i].run_time_ns;
	}
	v->budget_left = eng_app_budget_left;
	v->ctx = e;
}

/* SIGINT, SIGTERM: leave the loop. SIGHUP: reload. */
static void on_signal(void *ctx, int fd, uint32_t events)
{
	struct amx_engine *e = ctx;
	(void)events;
	struct signalfd_siginfo si;
	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM) {
			e->stopping = true;
		} else if (si.ssi_signo == SIGHUP) {
			eng_reload_config(e);
		}
	}
}

/* The engine's calls up the chain of its job files (engine.h). */
static void wire_up_calls(struct amx_engine *e)
{
	e->up.rescan_home = eng_rescan_home;
	e->up.initial_home_state = eng_initial_home_state;
	e->up.read_kernel_events = eng_read_kernel_events;
	e->up.command_done = eng_command_done;
}

/* Signals through signalfd, so they are just another event in the loop. */
static int open_signals(void)
{
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGPIPE);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	return signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* The reporting modules: each subscribes to the event stream by itself. */
static int start_reporting(struct amx_engine *e, char *err, size_t errlen)
{
	struct amx_options *o = e->o;
	int rc;
	amx_status_start(report_view, e);
	if ((rc = amx_control_start(o->socket_path, o->socket_group, o->verbose,
				     amx_status_document, err, errlen)) ||
	    (o->textfile_dir && (rc = amx_metrics_start(o->textfile_dir, err, errlen))) ||
	    (rc = amx_notify_start(o, err, errlen)))
		return rc;
	amx_journal_start(o->no_journal);
	return 0;
}

/* The last events of a run: every held oom-killed (outcome unknown) and every loss not
 * said yet, then monitor-stopping; the metrics file written once more. */
static void say_goodbye(struct amx_engine *e)
{
	eng_report_lost(e, eng_now_ms(e), true);
	struct amx_oom_pending *held;
	struct amx_oom_outcome unknown = { .result = AMX_OOM_RESULT_UNKNOWN };
	while ((held = amx_oomwait_any(&e->oomwait)))
		eng_send_held_oom(e, held, &unknown);
	json_t *ev = amx_event_new(&e->stream, AMX_EVT_MONITOR_STOPPING, 0, "amexbpf is stopping");
	eng_emit(e, ev);
	amx_metrics_flush();
}

static int run(struct amx_engine *e)
{
	struct amx_options *o = e->o;
	char err[1024];
	int rc;

	if (geteuid() != 0) {
		fprintf(stderr, "amexbpf: must run as root (BPF and acting as each PM2 home's owner)\n");
		return AMX_EXIT_NOT_ROOT;
	}
	if (o->bpf_mode == AMX_BPF_REQUIRED && access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		fprintf(stderr, "amexbpf: this kernel has no BTF (/sys/kernel/btf/vmlinux): BPF CO-RE cannot load\n");
		return AMX_EXIT_NO_BPF;
	}
	rc = amx_mkdir_p(o->state_dir, 0700);
	if (rc < 0) {
		fprintf(stderr, "amexbpf: failed to create state directory %s: %s\n", o->state_dir, strerror(-rc));
		return AMX_EXIT_OS;
	}
	rc = eng_setup_homes(e, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "amexbpf: %s\n", err);
		goto out_homes;
	}
	if (amx_eventfile_open(&e->events, o->events_path) < 0) {
		fprintf(stderr, "amexbpf: failed to open events file %s: %s\n", o->events_path, strerror(errno));
		rc = AMX_EXIT_OS;
		goto out_homes;
	}
	amx_event_stream_init(&e->stream);

	e->sigfd = open_signals();
	if (e->sigfd < 0 || amx_loop_init() < 0) {
		fprintf(stderr, "amexbpf: failed to set up the event loop: %s\n", strerror(errno));
		rc = AMX_EXIT_OS;
		goto out_loop;
	}
	amx_sd_notify_start(); /* before any thread starts: it may block SIGUSR1 (test only) */
	/* State files (fsync) off the loop's thread: sys/statewriter.h. Without the thread
	 * they are written at once, as before. */
	if (amx_statewriter_start() < 0)
		fprintf(stderr, "amexbpf: no state-writer thread: state files written inline\n");
	/* dump.pm2 read and parsed off the loop's thread (daemon/dumpread.c). */
	e->dump_worker = amx_worker_start() == 0;
	if (!e->dump_worker)
		fprintf(stderr, "amexbpf: no worker thread: dump.pm2 read on the loop\n");
	rc = start_reporting(e, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "amexbpf: %s\n", err);
		goto out_reporting;
	}

	/* Watches first, then the scan: whatever happens in between is seen twice, never
	 * missed. */
	rc = eng_selftest_homes(e);
	if (rc)
		goto out_reporting;
	rc = eng_open_event_source(e, err, sizeof(err));
	if (rc)
		goto out_source;
	eng_sched_setup(e);
	const char *paths[AMX_MAX_HOMES];
	for (int i = 0; i < e->n_homes; i++)
		paths[i] = e->homes[i].path;
	e->watcher = amx_watcher_start(paths, e->n_homes, err, sizeof(err));
	if (!e->watcher) {
		fprintf(stderr, "amexbpf: %s\n", err);
		rc = AMX_EXIT_OS;
		goto out_source;
	}
	amx_loop_add_fd(amx_exit_source_fd(&e->src), EPOLLIN, eng_on_kernel_ready, e);
	amx_loop_add_fd(amx_watcher_fd(e->watcher), EPOLLIN, eng_on_watcher_ready, e);
	amx_loop_add_fd(e->sigfd, EPOLLIN, on_signal, e);
	if (e->dump_worker)
		amx_loop_add_fd(amx_worker_fd(), EPOLLIN, eng_on_dump_done, e);
	amx_loop_add_ticker(eng_tick_policies, e);
	amx_loop_add_ticker(eng_tick_held_ooms, e);
	amx_loop_add_ticker(eng_tick_listen, e);
	amx_loop_add_ticker(eng_tick_drift, e);

	eng_sched_raise_loop(e);
	eng_start_monitoring(e);
	eng_tick_policies(e, eng_now_ms(e));
	rc = eng_start_health_checks(e, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "amexbpf: %s\n", err);
		goto out_commands;
	}

	while (!e->stopping) {
		if (!amx_loop_run_once()) {
			fprintf(stderr, "amexbpf: epoll_wait failed: %s\n", strerror(errno));
			break;
		}
	}
	say_goodbye(e);
	rc = AMX_EXIT_OK;

out_commands:
	eng_kill_commands(e);
	amx_watcher_stop(e->watcher);
out_source:
	amx_exit_source_close(&e->src);
out_reporting:
	amx_worker_stop(); /* the read in flight ends; its state file is queued */
	eng_dump_discard(e);
	e->dump_worker = false;
	amx_statewriter_stop(); /* what was queued lands before we go */
	amx_notify_stop();
	amx_control_stop();
out_loop:
	amx_loop_close();
	if (e->sigfd >= 0)
		close(e->sigfd);
	amx_eventfile_close(&e->events);
out_homes:
	for (int hi = 0; hi < e->n_homes; hi++)
		amx_home_free(&e->homes[hi]);
	return rc;
}

void amx_engine_init(struct amx_engine *e, struct amx_options *o)
{
	memset(e, 0, sizeof(*e));
	e->o = o;
	e->dump_job.home = -1;
	e->events.fd = -1;
	e->sigfd = -1;
	e->clock_ms = eng_real_clock_ms;
	e->spawner = eng_real_spawner;
	e->selftest_pm2 = amx_selftest_pm2;
	e->systemd_booted = amx_systemd_booted;
	/* The per-home limit of file-caused events, lifted only by the throughput test
	 * (t_burst: 10,000 dump rewrites); root's own environment, never a home's. */
	const char *burst = getenv("AMEXBPF_TEST_FILE_EVENT_BURST");
	unsigned long n = burst ? strtoul(burst, NULL, 10) : 0;
	e->file_events_burst = n > 0 && n <= 1000000 ? (uint32_t)n : AMX_HOME_FILE_EVENTS_BURST;
	wire_up_calls(e);
	e->started_ms = eng_now_ms(e);
	amx_policy_config_defaults(&e->cfg);
	eng_apply_policy_options(e, o);
	eng_listen_init(e);
}

int amx_daemon_run(struct amx_options *o)
{
	/* Over a megabyte (each command keeps 16 kB of output): on the heap, not the stack. */
	struct amx_engine *e = malloc(sizeof(*e));
	if (!e) {
		fprintf(stderr, "amexbpf: out of memory\n");
		return AMX_EXIT_OS;
	}
	amx_engine_init(e, o);
	srandom((unsigned)(amx_boot_ns() ^ (uint64_t)getpid()));
	int rc = run(e);
	free(e);
	return rc;
}
