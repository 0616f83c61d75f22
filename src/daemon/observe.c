/* SPDX-License-Identifier: MIT */
/* What the kernel, the files and /proc say, turned into changes of the model: the God
 * daemon up or down, an app's new pid, an app's exit (seen by the kernel, or found gone by
 * a re-scan), exits no app claimed yet, dump.pm2 saved or broken, and the state of each
 * home at start. Each change goes to the policy (act.c) as an input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/dump.h"
#include "daemon/engine.h"
#include "sys/loop.h"
#include "daemon/toolchain.h"
#include "sys/proc.h"

#define MAX_CHILDREN_SCAN 1024

static int watch_pid(struct amx_engine *e, int pid, uint32_t flags)
{
	/* /proc gives the start time only to the tick; the kernel compares nanoseconds, so
	 * pass 0 ("unknown") and check the start tick ourselves when the exit arrives. */
	return amx_exit_source_watch(&e->src, pid, flags, 0);
}

/* An app followed through a pidfd: its exit is seen (not how it ended). */
struct pidfd_follow {
	struct amx_engine *e;
	int home, pid, fd;
	uint64_t start_ticks;
};

static void on_followed_exit(void *ctx, int fd, uint32_t events)
{
	(void)events;
	struct pidfd_follow *f = ctx;
	struct amx_engine *e = f->e;
	struct amx_home *h = &e->homes[f->home];
	amx_loop_del_fd(fd);
	close(fd);
	h->n_pidfds--;
	int hi = f->home, pid = f->pid;
	uint64_t ticks = f->start_ticks;
	free(f);
	e->up.read_kernel_events(e);
	struct amx_app *a = NULL;
	struct amx_instance *in = amx_home_instance_with_pid(&e->homes[hi], pid, &a);
	if (in && in->start_ticks == ticks && !eng_instance_runs(in))
		eng_instance_exited(e, hi, a, in, NULL);
}

/* The app's pid could not go in the kernel's watched set (this home's share of it is
 * used, or the set is full): follow it through a pidfd while this home has few, else
 * leave it to the re-scans. Said once per home (events-lost, rate-limited per home). */
static void follow_unwatched(struct amx_engine *e, int hi, struct amx_app *a,
			     const struct amx_instance *in, int rc)
{
	struct amx_home *h = &e->homes[hi];
	int fd = h->n_pidfds < AMX_HOME_PIDFDS ? (int)syscall(SYS_pidfd_open, in->pid, 0) : -1;
	struct pidfd_follow *f = fd >= 0 ? malloc(sizeof(*f)) : NULL;
	if (f) {
		*f = (struct pidfd_follow){ .e = e, .home = hi, .pid = in->pid, .fd = fd,
					    .start_ticks = in->start_ticks };
		amx_loop_add_fd(fd, EPOLLIN, on_followed_exit, f);
		h->n_pidfds++;
	} else if (fd >= 0) {
		close(fd);
	}
	if (h->unwatched_app_said || !eng_file_event_allowed(e, hi))
		return;
	json_t *ev = amx_event_new(&e->stream, AMX_EVT_EVENTS_LOST, 0,
				   "pid %d of %s is not in the kernel's watched set (%s); %s", in->pid,
				   a->name, rc ? strerror(-rc) : "this home's share is used",
				   f ? "followed through a pidfd" : "left to re-scans");
	amx_event_set_str(ev, "amexbpf.lost.source", "watched-set");
	amx_event_set_int(ev, "amexbpf.lost.count", 1);
	amx_event_set_str(ev, "event.reason", rc ? strerror(-rc) : "home share used");
	eng_set_app_fields(ev, h, a);
	h->unwatched_app_said = true;
	eng_emit(e, ev);
}

/* An instance's new pid into the kernel's watched set, within this home's share of it. */
static void watch_instance(struct amx_engine *e, int hi, struct amx_app *a, struct amx_instance *in)
{
	struct amx_home *h = &e->homes[hi];
	int mine = 0;
	for (size_t i = 0; i < h->n_apps; i++)
		for (unsigned k = 0; k < h->apps[i].n_inst; k++)
			mine += h->apps[i].inst[k].watched && &h->apps[i].inst[k] != in;
	in->watched = false;
	int rc = 0;
	if (mine < AMX_HOME_WATCHED && (rc = watch_pid(e, in->pid, AMX_WATCH_PROC)) == 0)
		in->watched = true;
	else
		follow_unwatched(e, hi, a, in, rc);
}

/* An instance of the app has a (new) live pid. */
static void instance_seen_alive(struct amx_engine *e, int hi, struct amx_app *a,
				struct amx_instance *in, int pid)
{
	struct amx_proc_stat st;
	if (!amx_proc_read_stat(pid, &st) || st.state == 'Z')
		return;
	if (in->pid == pid && in->start_ticks == st.start_ticks)
		return;
	if (in->pid && eng_instance_runs(in) && (a->n_inst > 1 || a->cluster)) {
		/* A new process for an instance whose process still runs: `pm2 reload`. */
		eng_reload_replacing(e, a, in);
	} else if (in->pid && !eng_instance_runs(in)) {
		/* The old copy is gone and its exit was not read yet (the kernel's events are
		 * read first, so this is a last resort): report it now, unseen, rather than
		 * let it arrive later for a pid the instance no longer has. */
		fprintf(stderr, "amexbpf: %s: app %s has pid %d before the exit of pid %d was "
				"read\n", e->homes[hi].path, a->name, pid, in->pid);
		eng_instance_exited(e, hi, a, in, NULL);
		/* EXITED makes the policy wait for PM2 and act on nothing; should that change,
		 * a nested call may have taken this pid already. */
		if (in->pid == pid)
			return;
	}
	if (in->listened)
		eng_listen_instance_gone(e, a, in); /* a reload: the old copy's ports are wanted */
	in->pid = pid;
	in->start_ticks = st.start_ticks;
	in->alive_since_ms = eng_now_ms(e);
	eng_listen_new_pid(e, in);
	amx_app_refresh_lead(a);
	watch_instance(e, hi, a, in);
	eng_log(e, "%s: app %s (pm_id %d) has pid %d", e->homes[hi].path, a->name, in->pm_id, pid);
	/* What it listens on already: before amexbpf started, or before it was watched. */
	eng_listen_scan(e, hi, a, in, false);
	e->instance_now = in;
	struct amx_input ev = { .kind = AMX_IN_ALIVE, .pid = pid,
				.instances_alive = amx_app_instances_alive(a),
				.instances_wanted = a->n_inst };
	eng_listen_alive_input(a, &ev);
	eng_feed_app(e, hi, eng_app_index(&e->homes[hi], a), ev);
	e->instance_now = NULL;
}

/* A live process whose parent is the God daemon and whose environment names an instance of
 * a watched app of this home is that instance's new pid. */
void eng_consider_child(struct amx_engine *e, int hi, int pid)
{
	struct amx_home *h = &e->homes[hi];
	struct amx_proc_stat st;
	if (!amx_proc_read_stat(pid, &st) || st.ppid != h->god_pid || st.state == 'Z')
		return;
	struct amx_app *a = NULL;
	struct amx_instance *in = amx_home_instance_of_pid(h, pid, &a);
	if (in)
		instance_seen_alive(e, hi, a, in, pid);
}

/* Exits of the God daemon's children that no app claimed yet: an app can die before it
 * has exec'd (its environment still the daemon's), before anything names it. PM2 writes its
 * pid file right after the fork, so the pid file that names it settles the matter. */
void eng_remember_unclaimed_exit(struct amx_engine *e, int hi, const struct amx_event *ev)
{
	e->unclaimed[e->unclaimed_next++ % AMX_ENGINE_UNCLAIMED] = (struct amx_unclaimed_exit){ .home = hi, .ev = *ev };
}

static const struct amx_event *take_unclaimed_exit(struct amx_engine *e, int hi, int pid)
{
	for (int i = 0; i < AMX_ENGINE_UNCLAIMED; i++) {
		struct amx_unclaimed_exit *u = &e->unclaimed[i];
		if (u->ev.pid == (uint32_t)pid && u->home == hi && u->ev.type == AMX_EV_EXIT) {
			u->ev.type = 0; /* claimed once */
			return &u->ev;
		}
	}
	return NULL;
}

/* pids/<file> names pid: a live child of the God daemon is that app's new pid (by its
 * environment, or before its exec by the dump's pm_pid_path); a pid that already died
 * unclaimed is that app's exit, reported now. */
void eng_consider_pid_file(struct amx_engine *e, int hi, const char *file, int pid)
{
	struct amx_home *h = &e->homes[hi];
	struct amx_app *a = NULL;
	struct amx_instance *in = amx_home_instance_of_pid(h, pid, &a);
	if (!in)
		in = amx_home_instance_by_pid_file(h, file, &a);
	if (!in)
		return;
	struct amx_proc_stat st;
	if (amx_proc_read_stat(pid, &st) && st.state != 'Z' && st.ppid == h->god_pid) {
		instance_seen_alive(e, hi, a, in, pid);
		return;
	}
	const struct amx_event *ev = take_unclaimed_exit(e, hi, pid);
	if (ev && in->pid != pid) {
		/* Make it the instance's pid for the moment of the report, then let it exit. */
		in->pid = pid;
		in->start_ticks = amx_ns_to_ticks(ev->start_boottime_ns);
		eng_instance_exited(e, hi, a, in, ev);
	}
}

/* Each child the God daemon has now, considered as an app's new pid. */
void eng_scan_god_children(struct amx_engine *e, int hi)
{
	int kids[MAX_CHILDREN_SCAN];
	int n = amx_proc_children(e->homes[hi].god_pid, kids, MAX_CHILDREN_SCAN);
	for (int i = 0; i < n; i++)
		eng_consider_child(e, hi, kids[i]);
}

/* dump.pm2 does not parse: dump-invalid, once per problem (not again while it stays the
 * same); tier 2 restores the good copy. */
void eng_dump_invalid(struct amx_engine *e, int hi, const char *problem)
{
	struct amx_home *h = &e->homes[hi];
	if ((h->dump_valid || strcmp(h->dump_problem, problem) != 0) &&
	    eng_file_event_allowed(e, hi)) {
		json_t *ev = amx_event_new(&e->stream, AMX_EVT_DUMP_INVALID, 0,
					   "dump.pm2 of %s is %s", h->path, problem);
		char p[4200];
		snprintf(p, sizeof(p), "%s/dump.pm2", h->path);
		amx_event_set_str(ev, "amexbpf.dump.path", p);
		amx_event_set_str(ev, "amexbpf.dump.problem", problem);
		eng_set_app_fields(ev, h, NULL);
		eng_emit(e, ev);
	}
	h->dump_valid = false;
	snprintf(h->dump_problem, sizeof(h->dump_problem), "%s", problem);
}

/* The God daemon exited (kev: its exit), or was found gone (kev NULL). */
void eng_god_died(struct amx_engine *e, int hi, const struct amx_event *kev)
{
	struct amx_home *h = &e->homes[hi];
	int pid = h->god_pid;
	/* pm2 kill and SIGTERM remove pm2.pid before the daemon exits; SIGKILL leaves it. */
	int file_pid = amx_home_read_god_pid(h);
	struct amx_exit_status xs = { 0 };
	if (kev)
		xs = amx_decode_exit(kev->exit_code);
	bool intentional = file_pid != pid && xs.signal != 9;
	h->god_pid = 0;
	/* The dump decides tier 2's first step: look now, PM2 may have just written it. Not
	 * on the loop when it is large (or being read already): the worker reads it, and
	 * tier 2 goes with what the last read said. */
	if (e->dump_job.home == hi) {
		h->dump_pending = true;
	} else {
		struct amx_dump_source s = { .max = 0 };
		struct amx_dump_read r;
		amx_home_dump_source(h, e->dump_worker ? AMX_DUMP_LOOP_MAX_BYTES : AMX_DUMP_MAX_BYTES,
				     false, &s);
		amx_dump_source_read(&s, &r);
		if (r.over_max) {
			h->dump_pending = true;
		} else if (r.problem == AMX_DUMP_OK && !e->dump_worker) {
			amx_home_adopt_dump(h, &r, e->o->only, e->o->n_only);
			h->dump_feed_next = 0; /* the apps may have moved: a feed starts over */
		} else if (r.problem == AMX_DUMP_OK) {
			/* 64 KiB holds thousands of short entries: matched in parts too (tier 2
			 * needs dump_valid, set now). A feed under way starts over after it. */
			amx_home_adopt_dump_parts(h, &r);
			eng_dump_keep_replaced(e, &r);
			h->dump_feed_phase = h->dump_feed_phase == AMX_FEED_NONE ? AMX_FEED_SYNC_ONLY
										 : AMX_FEED_SYNC;
			h->dump_feed_next = 0;
			amx_loop_wake_at(eng_now_ms(e));
		} else {
			eng_dump_invalid(e, hi, amx_dump_read_problem(&r));
		}
		amx_dump_read_free(&r);
	}
	if (h->dump_pending)
		amx_loop_wake_at(eng_now_ms(e));

	json_t *ev = amx_event_new_level(&e->stream, AMX_EVT_PM2_DAEMON_DOWN,
					 intentional ? "warn" : "critical", kev ? kev->ts_ns : 0,
					 "the PM2 daemon of %s (pid %d) is down%s", h->path, pid,
					 intentional ? " (stopped on purpose)" : "");
	amx_event_set_int(ev, "amexbpf.pm2.daemon_pid", pid);
	amx_event_set_bool(ev, "amexbpf.intentional", intentional);
	amx_event_set_int(ev, "process.pid", pid);
	eng_set_app_fields(ev, h, NULL);
	if (kev)
		amx_event_set_int(ev, "amexbpf.detect_latency_us",
				  (int64_t)((e->handled_ns - kev->ts_ns) / 1000));
	eng_emit(e, ev);

	for (size_t i = 0; i < h->n_apps; i++) {
		struct amx_input in = { .kind = AMX_IN_HOME_DOWN };
		eng_feed_app(e, hi, (int)i, in);
	}
	struct amx_input in = { .kind = AMX_IN_DAEMON_DOWN, .intentional = intentional };
	eng_feed_home(e, hi, in);
}

void eng_report_drift(struct amx_engine *e, int hi, int pid, const struct amx_daemon_tools *d,
		      bool periodic)
{
	struct amx_home *h = &e->homes[hi];
	bool version = d->god_version[0] && h->tools.version[0] &&
		       strcmp(d->god_version, h->tools.version) != 0;
	if (!version && !d->node_deleted) {
		h->drift_said[0] = '\0';
		return;
	}
	/* Said once per daemon and per disagreement: the periodic check finds it again and
	 * again until someone runs pm2 update. */
	char said[sizeof(h->drift_said)];
	snprintf(said, sizeof(said), "%d %d %s %s %s", pid, d->node_deleted, d->god_version,
		 h->tools.version, h->tools.pm2);
	if (!strcmp(said, h->drift_said))
		return;
	snprintf(h->drift_said, sizeof(h->drift_said), "%s", said);
	json_t *ev;
	if (d->node_deleted)
		ev = amx_event_new(&e->stream, AMX_EVT_PM2_DRIFT, 0,
				   "the PM2 daemon of %s runs on %s, which was deleted or replaced "
				   "(Node upgraded under it): run `pm2 update` as %s to restart it on "
				   "the new Node", h->path, d->node_was, h->owner.name);
	else
		ev = amx_event_new(&e->stream, AMX_EVT_PM2_DRIFT, 0,
				   "the PM2 daemon of %s runs PM2 %s, but %s is PM2 %s: run `%s "
				   "update` as %s, or set pm2 = in [home %s]", h->path,
				   d->god_version, h->tools.pm2, h->tools.version, h->tools.pm2,
				   h->owner.name, h->path);
	amx_event_set_str(ev, "amexbpf.drift", d->node_deleted ? "node-deleted" : "pm2-version");
	amx_event_set_int(ev, "amexbpf.pm2.daemon_pid", pid);
	amx_event_set_int(ev, "process.pid", pid);
	amx_event_set_str(ev, "amexbpf.pm2.daemon_version", d->god_version);
	amx_event_set_str(ev, "amexbpf.pm2.daemon_node", d->node_was);
	amx_event_set_bool(ev, "amexbpf.pm2.node_deleted", d->node_deleted);
	amx_event_set_str(ev, "amexbpf.pm2.cli", h->tools.pm2);
	amx_event_set_str(ev, "amexbpf.pm2.cli_version", h->tools.version);
	amx_event_set_str(ev, "amexbpf.drift_check", periodic ? "periodic" : "daemon-start");
	eng_set_app_fields(ev, h, NULL);
	eng_emit(e, ev);
}

void eng_learn_tools(struct amx_engine *e, int hi, int pid, bool report)
{
	struct amx_home *h = &e->homes[hi];
	struct amx_daemon_tools d;
	char why[512];
	bool ok = amx_toolchain_learn(h, pid, &d, why, sizeof(why));
	snprintf(h->god_version, sizeof(h->god_version), "%s", d.god_version);
	if (ok) {
		bool changed = strcmp(h->learned.pm2, d.found.pm2) != 0 ||
			       strcmp(h->learned.node, d.found.node) != 0 ||
			       h->learned.source != AMX_TOOLS_DAEMON;
		h->learned = d.found;
		if (changed) {
			amx_toolchain_remember(h);
			eng_log(e, "%s: its daemon runs pm2 %s on node %s", h->path, d.found.pm2,
				d.found.node[0] ? d.found.node : "(unknown)");
		}
	} else {
		eng_log(e, "%s: nothing learned from daemon pid %d: %s", h->path, pid, why);
	}
	amx_toolchain_choose(h, e->o);
	if (report)
		eng_report_drift(e, hi, pid, &d, false);
}

/* pm2.pid changed, or a re-scan: is there a (new) God daemon? */
void eng_refresh_god(struct amx_engine *e, int hi)
{
	struct amx_home *h = &e->homes[hi];
	if (h->god_pid && !amx_home_is_god(h, h->god_pid)) {
		/* Died without our seeing the exit (lost event, or before we watched it). */
		eng_god_died(e, hi, NULL);
	}
	int pid = amx_home_read_god_pid(h);
	if (!pid || pid == h->god_pid || !amx_home_is_god(h, pid))
		return;
	struct amx_proc_stat st;
	if (!amx_proc_read_stat(pid, &st))
		return;
	/* Watch it (and its children) first, then look at what it already forked: nothing
	 * falls between the two. */
	h->god_pid = pid;
	h->god_start_ticks = st.start_ticks;
	watch_pid(e, pid, AMX_WATCH_PROC | AMX_WATCH_CHILDREN);
	eng_log(e, "%s: PM2 daemon pid %d", h->path, pid);
	eng_learn_tools(e, hi, pid, true);
	eng_ask_oom_policy(e, hi);
	bool by_tier2 = h->pol.state == AMX_HOME_RECOVERING || h->pol.state == AMX_HOME_VERIFYING;
	struct amx_input in = { .kind = AMX_IN_ALIVE, .pid = pid };
	eng_feed_home(e, hi, in);
	for (size_t i = 0; i < h->n_apps; i++) {
		if (h->apps[i].pol.state == AMX_APP_HOME_DOWN) {
			struct amx_input up = { .kind = AMX_IN_HOME_UP, .by_tier2 = by_tier2 };
			eng_feed_app(e, hi, (int)i, up);
		}
	}
	eng_scan_god_children(e, hi);
}


/* An instance's process exited (kev: its exit), or was found gone (kev NULL). */
void eng_instance_exited(struct amx_engine *e, int hi, struct amx_app *a, struct amx_instance *in,
			 const struct amx_event *kev)
{
	struct amx_home *h = &e->homes[hi];
	int pid = in->pid;
	struct amx_exit_status xs = { 0 };
	if (kev) {
		xs = amx_decode_exit(kev->exit_code);
		in->last_exit_code = a->last_exit_code = xs.exit_code;
		in->last_signal = a->last_signal = xs.signal;
	}
	char how[96];
	if (!kev)
		snprintf(how, sizeof(how), "exit not seen");
	else if (xs.signal)
		snprintf(how, sizeof(how), "%s%s",
			 amx_signal_name(xs.signal) ? amx_signal_name(xs.signal) : "signal",
			 xs.core_dumped ? ", core dumped" : "");
	else
		snprintf(how, sizeof(how), "status %d", xs.status);
	char which[48] = "";
	if (a->n_inst > 1)
		snprintf(which, sizeof(which), " instance %d", in->pm_id);
	json_t *ev = amx_event_new_level(&e->stream, AMX_EVT_PROCESS_EXITED,
					 kev && xs.exit_code == 0 ? "warn" : "error",
					 kev ? kev->ts_ns : 0, "%.300s%s exited (%s)", a->name, which,
					 how);
	amx_event_set_int(ev, "process.pid", pid);
	/* The app's last OOM is this instance's: eng_set_exit_fields classifies the cause by it. */
	a->last_oom = in->last_oom;
	a->last_cause[0] = '\0'; /* found by a re-scan: not known */
	if (kev) {
		eng_set_exit_fields(e, ev, kev, h, a);
		/* status and top say how the last exit came about, as the event did */
		const char *cause = json_string_value(amx_event_get(ev, "amexbpf.cause"));
		snprintf(a->last_cause, sizeof(a->last_cause), "%s", cause ? cause : "");
		amx_event_set_bool(ev, "amexbpf.oom_killed", in->last_oom);
		if (xs.exit_code != 0)
			eng_set_stderr_tail(ev, h, a);
	}
	/* Found gone by a re-scan (its exit lost, or before we watched it): how it ended is
	 * not known, and no exit code is made up. */
	amx_event_set_bool(ev, "amexbpf.exit_seen", kev != NULL);
	eng_oom_blast_exit(e, ev, hi, a, pid, in->last_oom);
	eng_set_app_fields(ev, h, a);
	eng_set_instance_fields(ev, a, in);
	eng_set_instance_ports(ev, in);
	eng_emit(e, ev);
	eng_listen_instance_gone(e, a, in);
	in->pid = 0;
	in->start_ticks = 0;
	in->last_oom = false;
	a->restart_asked = false;
	in->watched = false;
	amx_app_refresh_lead(a);
	e->instance_now = in;
	struct amx_input x = { .kind = AMX_IN_EXITED, .pid = pid };
	eng_feed_app(e, hi, eng_app_index(h, a), x);
	e->instance_now = NULL;
	/* A failed exit may be a taken port. PM2 copies the app's stderr to the log itself,
	 * possibly after we see the exit: no answer now is asked again a little later. */
	if (kev && xs.exit_code != 0 && !eng_check_port_conflict(e, hi, eng_app_index(h, a)))
		a->conflict_check_ms = eng_now_ms(e) + AMX_CONFLICT_LATE_LOG_MS;
}

bool eng_check_port_conflict(struct amx_engine *e, int hi, int ai)
{
	struct amx_home *h = &e->homes[hi];
	struct amx_app *a = &h->apps[ai];
	a->conflict_check_ms = 0;
	uint16_t port = eng_conflict_port(h, a);
	if (!port)
		return false;
	uint64_t next_ms;
	if (!eng_conflict_lookup_allowed(e, hi, &next_ms)) {
		a->conflict_check_ms = next_ms; /* this home searched a moment ago */
		return true;
	}
	struct amx_input in = { .kind = AMX_IN_PORT_CONFLICT, .port = port };
	in.holder = eng_port_holder(e, hi, a, port, &e->conflict_now);
	in.holder_pid = e->conflict_now.pid;
	if (in.holder != AMX_HOLDER_NONE)
		eng_feed_app(e, hi, ai, in);
	return true;
}

/* Look at the home afresh: its God daemon, and whether each known pid still runs. */
void eng_rescan_home(struct amx_engine *e, int hi)
{
	struct amx_home *h = &e->homes[hi];
	eng_refresh_god(e, hi);
	for (size_t i = 0; i < h->n_apps; i++) {
		struct amx_app *a = &h->apps[i];
		for (unsigned k = 0; k < a->n_inst; k++)
			if (a->inst[k].pid && !eng_instance_runs(&a->inst[k]))
				eng_instance_exited(e, hi, a, &a->inst[k], NULL);
	}
	if (h->god_pid)
		eng_scan_god_children(e, hi);
}

/* At start (or once the previous run's commands are done): the home as it is now. */
void eng_initial_home_state(struct amx_engine *e, int hi)
{
	struct amx_home *h = &e->homes[hi];
	eng_refresh_god(e, hi);
	if (!h->god_pid) {
		/* Down at start-up (a reboot, or a crash while we were away): recover. */
		for (size_t i = 0; i < h->n_apps; i++) {
			struct amx_input in = { .kind = AMX_IN_HOME_DOWN };
			eng_feed_app(e, hi, (int)i, in);
		}
		json_t *ev = amx_event_new(&e->stream, AMX_EVT_PM2_DAEMON_DOWN, 0,
					   "the PM2 daemon of %s is not running", h->path);
		/* the stale pid pm2.pid still names, or 0 */
		amx_event_set_int(ev, "amexbpf.pm2.daemon_pid", amx_home_read_god_pid(h));
		amx_event_set_bool(ev, "amexbpf.intentional", false);
		eng_set_app_fields(ev, h, NULL);
		eng_emit(e, ev);
		struct amx_input in = { .kind = AMX_IN_DAEMON_DOWN, .intentional = false };
		eng_feed_home(e, hi, in);
		return;
	}
	for (size_t i = 0; i < h->n_apps; i++) {
		struct amx_app *a = &h->apps[i];
		if (!a->desired_online) {
			struct amx_input in = { .kind = AMX_IN_DESIRED, .desired_online = false };
			eng_feed_app(e, hi, (int)i, in);
		} else if (amx_app_instances_alive(a) < a->n_inst) {
			/* not every instance runs: PM2 has time to bring the others */
			struct amx_input in = { .kind = AMX_IN_ABSENT };
			eng_feed_app(e, hi, (int)i, in);
		}
	}
}

/* Every home from from_home on: wait for a previous run's commands, or look now. */
void eng_initial_state(struct amx_engine *e, int from_home)
{
	for (int hi = from_home; hi < e->n_homes; hi++)
		if (!eng_adopt_running_commands(e, hi))
			eng_initial_home_state(e, hi);
}

/* Start-up in the order monitor-started promises: each home's running daemon and apps go
 * in the kernel's watched set first (a home whose previous run's commands still go waits
 * for them), then monitor-started, then what each home's state calls for (a daemon down,
 * an app absent). An exit after monitor-started is seen; only events about the watching
 * itself (events-lost watched-set, pm2-drift at daemon-start) can come before it. */
void eng_start_monitoring(struct amx_engine *e)
{
	for (int hi = 0; hi < e->n_homes; hi++)
		if (!eng_adopt_running_commands(e, hi))
			eng_refresh_god(e, hi);
	eng_emit_started(e);
	for (int hi = 0; hi < e->n_homes; hi++)
		if (!e->homes[hi].adopted)
			eng_initial_home_state(e, hi);
}
