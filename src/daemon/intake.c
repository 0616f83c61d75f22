/* SPDX-License-Identifier: MIT */
/* What wakes the engine up, and in which order it is handled: the kernel's events (BPF
 * ring buffer or process connector), file events from the watcher thread, due policy
 * deadlines and commands without a pidfd. The kernel's events are always read first. */
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "daemon/engine.h"
#include "sys/loop.h"
#include "sys/proc.h"

/* Without a pidfd (pidfd_open missing: kernels before 5.3, or valgrind) nothing wakes the
 * loop when a command exits: each tick tries to reap it, and asks for the next tick. */
#define NO_PIDFD_POLL_MS 50

/* The kernel's events first, before anything that can name an app's new pid (a pid file,
 * a finished pm2 command, a deadline's re-scan): the old copy exited before PM2 made the
 * new one, and that exit must be read before the new pid replaces the old one, or it
 * arrives for a pid no app has any more. Never from inside a kernel-event callback (a
 * nested read would take the ring or the socket out of order). */
void eng_read_kernel_events(struct amx_engine *e)
{
	eng_on_kernel_ready(e, -1, 0);
}

/* One event from the kernel: an exit, an exec of a God daemon's child, an OOM kill. */
void eng_on_kernel_event(void *ctx, const struct amx_event *ev)
{
	struct amx_engine *e = ctx;
	e->handled_ns = amx_boot_ns();
	switch (ev->type) {
	case AMX_EV_EXIT:
		for (int hi = 0; hi < e->n_homes; hi++) {
			struct amx_home *h = &e->homes[hi];
			if (h->god_pid == (int)ev->pid &&
			    amx_ns_to_ticks(ev->start_boottime_ns) == h->god_start_ticks) {
				/* the process-exited of the daemon itself */
				struct amx_exit_status xs = amx_decode_exit(ev->exit_code);
				const char *how = xs.signal ? amx_signal_name(xs.signal) : "exit";
				json_t *xev = amx_event_new(&e->stream, AMX_EVT_PROCESS_EXITED,
							    ev->ts_ns, "the PM2 daemon of %s exited (%s)",
							    h->path, how);
				amx_event_set_int(xev, "process.pid", (int)ev->pid);
				eng_set_exit_fields(e, xev, ev, h, NULL);
				eng_set_app_fields(xev, h, NULL);
				eng_emit(e, xev);
				eng_god_died(e, hi, ev);
				return;
			}
			struct amx_app *a = NULL;
			struct amx_instance *in = amx_home_instance_with_pid(h, (int)ev->pid, &a);
			if (in && amx_ns_to_ticks(ev->start_boottime_ns) == in->start_ticks) {
				eng_instance_exited(e, hi, a, in, ev);
				return;
			}
			in = eng_reload_old_process(h, (int)ev->pid,
						    amx_ns_to_ticks(ev->start_boottime_ns), &a);
			if (in) {
				eng_reload_old_exited(e, hi, a, in);
				return;
			}
		}
		for (int hi = 0; hi < e->n_homes; hi++)
			if (e->homes[hi].god_pid && (int)ev->ppid == e->homes[hi].god_pid)
				eng_remember_unclaimed_exit(e, hi, ev);
		eng_log(e, "watched pid %u (%s) exited, not an app we know (yet)", ev->pid, ev->comm);
		break;
	case AMX_EV_FORK:
		/* A child of a daemon the kernel could not watch (its cap, or a full set):
		 * counted for that home, which alone is re-scanned (check_lost). */
		if (ev->exit_code & AMX_FORK_NOT_WATCHED)
			for (int hi = 0; hi < e->n_homes; hi++)
				if (e->homes[hi].god_pid && (int)ev->ppid == e->homes[hi].god_pid)
					e->homes[hi].unwatched_forks++;
		break;
	case AMX_EV_EXEC:
		for (int hi = 0; hi < e->n_homes; hi++)
			if (e->homes[hi].god_pid && (int)ev->ppid == e->homes[hi].god_pid)
				eng_consider_child(e, hi, (int)ev->pid);
		break;
	case AMX_EV_OOM:
		for (int hi = 0; hi < e->n_homes; hi++) {
			struct amx_home *h = &e->homes[hi];
			struct amx_app *a = NULL;
			struct amx_instance *in = amx_home_instance_with_pid(h, (int)ev->pid, &a);
			if (!in)
				continue;
			in->last_oom = a->last_oom = true;
			/* Sent when PM2's part is known (resolve_held_oom); an earlier kill of the
			 * app still held, or no room to hold this one, goes out now. */
			struct amx_oom_outcome unknown = { .result = AMX_OOM_RESULT_UNKNOWN };
			struct amx_oom_pending *p = amx_oomwait_find(&e->oomwait, hi, a->name);
			if (p)
				eng_send_held_oom(e, p, &unknown);
			if (!amx_oomwait_hold(&e->oomwait, hi, a->name, ev, eng_now_ms(e)))
				eng_emit(e, amx_oom_event_new(&e->stream, ev, h->path, a->name, &unknown));
			amx_loop_wake_at(amx_oomwait_next_deadline(&e->oomwait));
		}
		break;
	case AMX_EV_LISTEN:
		eng_on_listen_event(e, ev);
		break;
	case AMX_EV_UNLISTEN:
		eng_on_unlisten_event(e, ev);
		break;
	default:
		break;
	}
}

/* A file event of a home: pm2.pid, a pid file, dump.pm2, or a re-scan. */
static void on_fs_event(struct amx_engine *e, const struct amx_fs_event *fe)
{
	if (fe->home < 0 || fe->home >= e->n_homes)
		return;
	int hi = fe->home;
	struct amx_home *h = &e->homes[hi];
	switch (fe->what) {
	case AMX_FS_GOD_PID:
		eng_refresh_god(e, hi);
		break;
	case AMX_FS_PID_FILE:
		if (fe->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) {
			if (!h->god_pid)
				eng_refresh_god(e, hi);
			int pid = amx_home_read_pid_file(h, fe->name);
			if (pid > 0)
				eng_consider_pid_file(e, hi, fe->name, pid);
		}
		break;
	case AMX_FS_DUMP:
		eng_on_dump_event(e, hi);
		break;
	case AMX_FS_RESCAN:
		if (strcmp(fe->name, "overflow") == 0 || strcmp(fe->name, "queue-overflow") == 0) {
			json_t *ev = amx_event_new(&e->stream, AMX_EVT_EVENTS_LOST, 0,
						   "the inotify queue overflowed; re-scanning %s",
						   h->path);
			amx_event_set_str(ev, "amexbpf.lost.source", "inotify");
			amx_event_set_int(ev, "amexbpf.lost.count", 1);
			eng_set_app_fields(ev, h, NULL);
			eng_emit(e, ev);
		}
		eng_rescan_home(e, hi);
		eng_on_dump_event(e, hi);
		break;
	}
}

/* Whether a policy deadline has come, or a command without a pidfd waits to be finished:
 * acting on either can name an app's new pid, so the kernel's events go first. */
static bool something_due(struct amx_engine *e, uint64_t now)
{
	for (int hi = 0; hi < e->n_homes; hi++) {
		const struct amx_home *h = &e->homes[hi];
		if (h->pol.deadline_ms && h->pol.deadline_ms <= now)
			return true;
		for (size_t i = 0; i < h->n_apps; i++)
			if (h->apps[i].pol.deadline_ms && h->apps[i].pol.deadline_ms <= now)
				return true;
	}
	for (int i = 0; i < AMX_ENGINE_COMMANDS; i++)
		if (e->cmds[i].used && e->cmds[i].child.pidfd < 0)
			return true;
	return false;
}

/* After every wake-up: act on expired deadlines, then ask for the next one. */
void eng_tick_policies(void *ctx, uint64_t now)
{
	struct amx_engine *e = ctx;
	if (something_due(e, now))
		eng_read_kernel_events(e); /* not on every wake-up: most follow a read already */
	for (int hi = 0; hi < e->n_homes; hi++) {
		struct amx_home *h = &e->homes[hi];
		if (h->pol.deadline_ms && h->pol.deadline_ms <= now) {
			struct amx_input in = { .kind = AMX_IN_TICK, .now_ms = now };
			eng_feed_home(e, hi, in);
		}
		for (size_t i = 0; i < h->n_apps; i++) {
			if (h->apps[i].pol.deadline_ms && h->apps[i].pol.deadline_ms <= now) {
				struct amx_input in = { .kind = AMX_IN_TICK, .now_ms = now };
				eng_feed_app(e, hi, (int)i, in);
			}
			if (h->apps[i].conflict_check_ms && h->apps[i].conflict_check_ms <= now)
				eng_check_port_conflict(e, hi, (int)i);
		}
	}
	eng_check_command_deadlines(e, now);
	eng_tick_dumps(e, now);
	eng_report_lost(e, now, false);
	for (int hi = 0; hi < e->n_homes; hi++) {
		struct amx_home *h = &e->homes[hi];
		eng_report_suppressed(e, hi, now);
		amx_loop_wake_at(h->pol.deadline_ms);
		for (size_t i = 0; i < h->n_apps; i++) {
			amx_loop_wake_at(h->apps[i].pol.deadline_ms);
			amx_loop_wake_at(h->apps[i].conflict_check_ms);
		}
	}
	for (int i = 0; i < AMX_ENGINE_COMMANDS; i++) {
		if (e->cmds[i].used && !e->cmds[i].child.timed_out)
			/* at least each second: its output is taken in (and capped) as it comes */
			amx_loop_wake_at(e->cmds[i].deadline_ms < now + 1000 ? e->cmds[i].deadline_ms
									     : now + 1000);
		if (e->cmds[i].used && e->cmds[i].child.pidfd < 0)
			amx_loop_wake_at(now + NO_PIDFD_POLL_MS);
	}
}

/* What the kernel-event source lost comes in pieces: one burst of lost ring records is
 * seen by several reads (1, then 51). The re-scan is at once; the events-lost waits until
 * the fold's window (AMX_LOST_FOLD_MS) from the first piece is over, and says the total:
 * one per source and window. Each home's unwatched forks fold the same way (per home). */
static void add_lost(struct amx_engine *e, uint64_t overflowed, uint64_t unclaimed,
		     uint64_t now)
{
	e->lost_overflow += overflowed;
	e->lost_unwatched += unclaimed;
	amx_fold_add(&e->lost_fold, overflowed + unclaimed, now);
	amx_loop_wake_at(amx_fold_due_ms(&e->lost_fold, AMX_LOST_FOLD_MS));
}

/* The source's events-lost of a window that is over (force: whatever is pending). */
static void report_source_lost(struct amx_engine *e, uint64_t now, bool force)
{
	uint64_t opened;
	uint64_t n = amx_fold_take(&e->lost_fold, AMX_LOST_FOLD_MS, now, force, &opened);
	if (!n) {
		amx_loop_wake_at(amx_fold_due_ms(&e->lost_fold, AMX_LOST_FOLD_MS));
		return;
	}
	char what[320] = "";
	if (e->lost_overflow)
		snprintf(what, sizeof(what), "the %s overflowed (%llu events lost)",
			 amx_exit_source_channel(&e->src), (unsigned long long)e->lost_overflow);
	if (e->lost_unwatched)
		snprintf(what + strlen(what), sizeof(what) - strlen(what),
			 "%s%llu new processes of a watched PM2 daemon could not be followed "
			 "(the watched set is full)", what[0] ? "; " : "",
			 (unsigned long long)e->lost_unwatched);
	json_t *ev = amx_event_new(&e->stream, AMX_EVT_EVENTS_LOST, 0,
				   "%s, in %llu ms; every home was re-scanned", what,
				   (unsigned long long)(now - opened));
	amx_event_set_str(ev, "amexbpf.lost.source", amx_exit_source_name(&e->src));
	amx_event_set_int(ev, "amexbpf.lost.count", (int64_t)n);
	amx_event_set_int(ev, "amexbpf.lost.window_ms", (int64_t)(now - opened));
	e->lost_overflow = e->lost_unwatched = 0;
	eng_emit(e, ev);
}

/* One home's unwatched forks of a window that is over: one events-lost and a re-scan of
 * that home, at its rate. */
static void report_home_lost(struct amx_engine *e, int hi, uint64_t now, bool force)
{
	struct amx_home *h = &e->homes[hi];
	uint64_t opened;
	uint64_t n = amx_fold_take(&h->unwatched_fold, AMX_LOST_FOLD_MS, now, force, &opened);
	if (!n) {
		amx_loop_wake_at(amx_fold_due_ms(&h->unwatched_fold, AMX_LOST_FOLD_MS));
		return;
	}
	if (!eng_file_event_allowed(e, hi))
		return;
	json_t *ev = amx_event_new(&e->stream, AMX_EVT_EVENTS_LOST, 0,
				   "%llu new processes of the PM2 daemon of %s are not watched (at "
				   "most %d of one daemon), in %llu ms; re-scanning it",
				   (unsigned long long)n, h->path, AMX_MAX_CHILDREN_PER_PARENT,
				   (unsigned long long)(now - opened));
	amx_event_set_str(ev, "amexbpf.lost.source", "watched-set");
	amx_event_set_int(ev, "amexbpf.lost.count", (int64_t)n);
	amx_event_set_int(ev, "amexbpf.lost.window_ms", (int64_t)(now - opened));
	eng_set_app_fields(ev, h, NULL);
	eng_emit(e, ev);
	eng_rescan_home(e, hi);
}

/* Each wake-up (and, with force, before stopping): the folds whose window is over. */
void eng_report_lost(struct amx_engine *e, uint64_t now, bool force)
{
	report_source_lost(e, now, force);
	for (int hi = 0; hi < e->n_homes; hi++)
		report_home_lost(e, hi, now, force);
}

/* The source has lost events: its way up overflowed, or it could not follow a new child of
 * a watched process (its watched set full). Look at every home afresh now, and say so
 * (folded: eng_report_lost). */
static void check_lost(struct amx_engine *e)
{
	struct amx_exit_source_lost now = amx_exit_source_lost(&e->src);
	uint64_t overflowed = now.overflow - e->lost_seen.overflow;
	uint64_t unwatched = now.unwatched_forks - e->lost_seen.unwatched_forks;
	if (!overflowed && !unwatched)
		return;
	uint64_t now_ms = eng_now_ms(e);
	/* The unwatched forks each home's daemon made: that home's trouble, said and
	 * re-scanned there only, once its fold's window is over and at its rate (a flood of
	 * forks costs its own home the re-scans). What no home claims (a fork record lost
	 * too) concerns them all. */
	uint64_t claimed = 0;
	for (int hi = 0; hi < e->n_homes; hi++) {
		struct amx_home *h = &e->homes[hi];
		uint64_t mine = h->unwatched_forks - h->unwatched_said;
		if (!mine)
			continue;
		claimed += mine;
		h->unwatched_said = h->unwatched_forks;
		amx_fold_add(&h->unwatched_fold, mine, now_ms);
		amx_loop_wake_at(amx_fold_due_ms(&h->unwatched_fold, AMX_LOST_FOLD_MS));
	}
	bool all = overflowed || unwatched > claimed;
	add_lost(e, overflowed, unwatched > claimed ? unwatched - claimed : 0, now_ms);
	e->lost_seen = now;
	for (int hi = 0; all && hi < e->n_homes; hi++)
		eng_rescan_home(e, hi);
}

/* The source is readable; also called directly, to read the kernel's events first. */
void eng_on_kernel_ready(void *ctx, int fd, uint32_t events)
{
	struct amx_engine *e = ctx;
	(void)fd;
	(void)events;
	amx_exit_source_consume(&e->src);
	check_lost(e);
}

/* The watcher thread handed file events over. */
void eng_on_watcher_ready(void *ctx, int fd, uint32_t events)
{
	struct amx_engine *e = ctx;
	(void)fd;
	(void)events;
	/* A few at a time: the watcher signals again while more wait. The kernel's events
	 * are read before each one, so a flood of file events (each read, parsed and
	 * emitted, up to a millisecond on a busy host) delays an exit by one of them at
	 * most; reading an empty ring or socket costs a syscall or two. */
	int k = amx_watcher_take(e->watcher, e->fs_batch, 8);
	for (int j = 0; j < k; j++)
		eng_handle_fs_event(e, &e->fs_batch[j]);
}

void eng_handle_fs_event(struct amx_engine *e, const struct amx_fs_event *fe)
{
	eng_read_kernel_events(e);
	on_fs_event(e, fe);
}

/* BPF, or the process connector: by choice (--no-bpf, bpf = off), or because BPF cannot
 * load here (no BTF, no CAP_BPF) unless bpf = required. Either feeds eng_on_kernel_event. */
int eng_open_event_source(struct amx_engine *e, char *err, size_t errlen)
{
	struct amx_exit_source_want want = { .mode = e->o->bpf_mode, .verbose = e->o->verbose,
					     .bpf_stats = e->o->bpf_stats, .handler = eng_on_kernel_event, .handler_ctx = e };
	if (amx_exit_source_open(&e->src, &want, err, errlen) < 0) {
		fprintf(stderr, "amexbpf: %s\n", err);
		return AMX_EXIT_NO_BPF;
	}
	if (amx_exit_source_limits(&e->src))
		fprintf(stderr, "amexbpf: BPF off (%s): using the netlink process connector; "
				"lost: %s\n", e->src.why_not_bpf, amx_exit_source_limits(&e->src));
	return 0;
}
