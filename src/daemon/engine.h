/* SPDX-License-Identifier: MIT */
/* The engine: everything one run of the daemon knows, and the functions its job files
 * share.
 *
 * Contract. One struct amx_engine holds the whole state of a run: the options, the PM2
 * homes with their apps (and each one's recovery-policy state), the kernel-event source,
 * the file watcher, the events file and stream, the pm2 commands in flight, the exits no
 * app claimed yet and the oom-killed events held for their outcome. amx_daemon_run
 * (lifecycle.c) makes it with amx_engine_init, sets it up in order and tears it down in
 * reverse; a unit test makes one the same way and replaces its seams (below). Every engine
 * function takes it as its first argument, and every callback
 * the engine registers (loop descriptors and tickers, the kernel-event handler, the
 * memory, probe, disk and retention modules, the status view) gets it as its ctx: no engine
 * file keeps state at file scope. It is touched from the loop's thread only; the watcher
 * thread hands its events over through amx_watcher_take.
 *
 * The job files, each calling only the ones before it (tests/layering.sh forbids a circle
 * between them):
 *   emit      the event sink, the fields every event shares, verbose logging
 *   commands  the pm2 command table: argv of a tier, start, finish, deadlines, commands a
 *             previous run left going
 *   act       policy glue: feeding the policy, running its actions, budgets, held OOMs
 *   listen    the TCP ports apps listen on (kernel or /proc), serving again after a death
 *   observe   what the kernel, the files and /proc say, turned into model changes (also
 *             the pm2 and node a new God daemon runs with: daemon/toolchain.h)
 *   dumpread  dump.pm2 read and parsed on the worker thread, adopted a bounded part a step
 *   drift     every --drift-interval: a pm2 or node changed under a running daemon
 *   answers   what a finished pm2 command says, turned into policy inputs
 *   intake    what wakes the engine, in order: kernel events first, then a file event,
 *             a finished command or a due deadline
 *   health    memory limit, probes, disk, log retention
 *   reload    homes set up at start and on SIGHUP, options re-applied, events file
 *   lifecycle amx_daemon_run: set-up, the loop, one cleanup ladder
 * and seams.c, the real clock and spawner (below).
 * The few calls that must go back up that chain (a tier finding the daemon down asks for
 * a re-scan; a finished command is read by answers; ...) go through e->up, filled once by
 * lifecycle.c. */
#ifndef AMX_ENGINE_H
#define AMX_ENGINE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <jansson.h>

#include "core/event.h"
#include "core/model.h"
#include "core/oomwait.h"
#include "core/options.h"
#include "core/policy.h"
#include "core/port_conflict.h"
#include "daemon/home.h"
#include "report/eventfile.h"
#include "sources/exit_source.h"
#include "sources/watch.h"
#include "core/tier_command.h"
#include "sys/spawn.h"
#include "sys/worker.h"

struct amx_engine;

#define AMX_ENGINE_COMMANDS 64
/* One home runs at most this many commands at once; and once it runs one, it takes another
 * only while more than AMX_ENGINE_COMMANDS_RESERVED slots are free: those are kept for
 * the first command of the other homes. One home's hanging pm2 never takes the others'. */
#define AMX_HOME_COMMANDS 8
#define AMX_ENGINE_COMMANDS_RESERVED 16
/* App pids of one home we put in the kernel's watched set (shared by every home); past
 * that, up to AMX_HOME_PIDFDS are followed through a pidfd, the rest by re-scans. */
#define AMX_HOME_WATCHED 1024
#define AMX_HOME_PIDFDS 64
/* systemctl is-active before a tier 2 gets this long. */
#define AMX_UNIT_QUERY_TIMEOUT_MS 5000
/* The events a home's owner can cause in any number (dump-changed, dump-invalid, her
 * daemon's unwatched forks, her apps' recovery-deferred): at most this many at once, one
 * more each AMX_HOME_FILE_EVENTS_REFILL_MS; the rest are counted and said once
 * (events-suppressed). Exits and recovery-started/succeeded/failed are never held back. */
#define AMX_HOME_FILE_EVENTS_BURST 20
#define AMX_HOME_FILE_EVENTS_REFILL_MS 3000
/* Losses of events (ring records, unwatched forks) are said once per this window from the
 * first: one kernel-side burst is read in several pieces (intake.c). */
#define AMX_LOST_FOLD_MS 1000
/* Exits of the God daemon's children kept until a pid file claims them. */
#define AMX_ENGINE_UNCLAIMED 64

/* A pm2 command in flight: a tier of an app or of a home, or a status query (jlist). */
struct amx_command {
	bool used;
	bool finishing; /* its answer is being handled: its slot no longer counts */
	struct amx_child child;
	int home;
	int app;          /* -1: the home's own command */
	int tier;         /* 0: status query (jlist), or systemctl is-active (unit_query) */
	bool unit_query;  /* systemctl is-active before a tier 2 (the tier waits for it) */
	bool oom_query;   /* systemctl show -p OOMPolicy of the home's unit (oom_policy.c) */
	int attempt;
	uint64_t deadline_ms;
	struct amx_argv argv;
	char exe[1024];   /* argv.v[0], kept: the argv points into buffers the next build reuses */
};

/* An exit of a God daemon's child that no app claimed (yet): an app can die before it
 * has exec'd, before anything names it. */
struct amx_unclaimed_exit {
	int home;
	struct amx_event ev;
};

/* The one read of a dump.pm2 in flight, for every home (dumpread.c): read, compared and
 * parsed on the worker thread (sys/worker.h), or at once when none runs (tests). */
struct amx_dump_job {
	struct amx_job job;      /* first: the worker hands this pointer back */
	struct amx_dump_source src;
	struct amx_dump_read r;
	/* A good copy an adoption replaced: the next job frees it, off the loop. */
	struct amx_dump trash;
	char *trash_raw;
	int home;                /* -1: none in flight */
	uint64_t submitted_ms;
	bool on_worker;
	uint64_t run_us;         /* what the read took on the worker (not its wait) */
};

/* A discovered home left out (its dump, its owner's self-test): said by a home-skipped
 * event once the events are out (eng_emit_skipped_homes). */
struct amx_skipped_home {
	char path[512];
	char user[64];
	char reason[320];
};

/* Seams: what the engine takes from the world, which a test replaces
 * (tests/unit/test_engine.c). The clock (e->clock_ms), the pm2 commands (e->spawner, with
 * the contracts of sys/spawn.h's amx_spawn and amx_child_*), and the kernel's events
 * (e->src, an exit source: sources/exit_source.h). amx_engine_init puts the real ones. */
struct amx_spawner {
	int (*spawn)(void *ctx, struct amx_child *c, const struct amx_argv *argv,
		     const struct amx_user *u, const char *pm2_home, char *err, size_t errlen);
	void (*read_output)(void *ctx, struct amx_child *c);
	bool (*reap)(void *ctx, struct amx_child *c);
	char *(*read_all)(void *ctx, const struct amx_child *c, size_t max, size_t *len);
	void (*kill_group)(void *ctx, struct amx_child *c);
	void (*release)(void *ctx, struct amx_child *c);
	void *ctx;
};

/* The calls that go up the chain of job files (see above), set by lifecycle.c. */
struct amx_engine_up {
	void (*rescan_home)(struct amx_engine *e, int hi);             /* act -> observe */
	void (*initial_home_state)(struct amx_engine *e, int hi);      /* commands -> observe */
	void (*read_kernel_events)(struct amx_engine *e);              /* commands -> intake */
	/* A command was reaped (ok, and how it ended): commands -> answers. */
	void (*command_done)(struct amx_engine *e, struct amx_command *c, bool ok,
			     const char *reason);
};

struct amx_engine {
	struct amx_options *o;
	struct amx_policy_config cfg;
	struct amx_home homes[AMX_MAX_HOMES];
	int n_homes;
	struct amx_exit_source src; /* BPF, or the process connector (or a test's fake) */
	struct amx_watcher *watcher;
	int sigfd;
	struct amx_eventfile events;
	uint64_t started_ms;
	struct amx_event_stream stream;
	struct amx_command cmds[AMX_ENGINE_COMMANDS];
	struct amx_exit_source_lost lost_seen; /* what src had lost when last looked at */
	/* What src lost since, folded into one events-lost per AMX_LOST_FOLD_MS: the total,
	 * and how much of it overflowed and how much was unwatched forks (for its message). */
	struct amx_fold lost_fold;
	uint64_t lost_overflow, lost_unwatched;
	bool stopping;
	/* When the kernel event being handled was taken off the ring buffer: the end point
	 * of amexbpf.detect_latency_us. */
	uint64_t handled_ns;
	char pm2_version[64];       /* from the start-up self-test */
	struct amx_oomwait oomwait; /* oom-killed events waiting for their outcome */
	struct amx_unclaimed_exit unclaimed[AMX_ENGINE_UNCLAIMED];
	unsigned unclaimed_next;
	/* The instance the input being fed to an app's policy is about (its events name it),
	 * NULL when the input is about the app as a whole. */
	struct amx_instance *instance_now;
	struct amx_tier_command tier_cmd; /* what eng_build_argv's argv points into */
	struct amx_options reloaded;        /* the options a SIGHUP built (e->o copies them) */
	struct amx_fs_event fs_batch[8];    /* file events taken from the watcher at once */
	struct amx_engine_up up;
	/* Events one home's files may cause at once (AMX_HOME_FILE_EVENTS_BURST; a test that
	 * measures throughput lifts it with AMEXBPF_TEST_FILE_EVENT_BURST). */
	uint32_t file_events_burst;
	bool sched_fd_watched; /* the guard's eventfd is in the loop (schedclass.c) */
	uint64_t (*clock_ms)(void *ctx); /* the boot clock, in ms */
	void *clock_ctx;
	struct amx_spawner spawner;
	/* The pm2 self-test of one home's toolchain (daemon/selftest.h's amx_selftest_pm2):
	 * a seam. */
	bool (*selftest_pm2)(const struct amx_toolchain *t, const struct amx_home *h,
			     char *version, size_t versionlen, char *err, size_t errlen);
	/* Is systemd the init (sys/systemd.h's amx_systemd_booted): a seam. */
	bool (*systemd_booted)(void);
	/* The tier 2 (its recovery-started, its run) waiting for its home's systemctl
	 * is-active, by home. */
	struct amx_unit_wait {
		struct amx_action started, run;
	} unit_wait[AMX_MAX_HOMES];
	/* The port conflict being fed to an app's policy: the holder's facts, and whether
	 * the holder was stopped (its events say so). */
	struct amx_holder_facts conflict_now;
	bool conflict_stopped;
	struct amx_skipped_home skipped[AMX_MAX_HOMES]; /* not said yet */
	int n_skipped;
	/* listen.c: the kernel's ephemeral port range (never a port an app must listen on
	 * again), and when /proc is next read for new pids' listens (no BPF) */
	uint16_t ephemeral_lo, ephemeral_hi;
	uint64_t listen_poll_at_ms;
	uint64_t listen_recheck_at_ms; /* no BPF: the next check that apps still listen; 0 unset */
	/* The drift check (drift.c): the home it starts from next, and the earliest due. */
	int drift_next;
	uint64_t drift_due_ms;
	/* dumpread.c: the read in flight, the home the next one is looked for from, and
	 * whether reads go to the worker thread (lifecycle.c starts it; tests read at once). */
	struct amx_dump_job dump_job;
	int dump_next_home;
	bool dump_worker;
};

/* lifecycle.c: an engine ready to be set up (or driven by a test): options, policy
 * settings, the calls up the chain and the real seams; nothing opened. */
void amx_engine_init(struct amx_engine *e, struct amx_options *o);

/* emit.c */
void eng_emit(struct amx_engine *e, json_t *ev);
void eng_set_app_fields(json_t *ev, const struct amx_home *h, const struct amx_app *a);
/* amexbpf.pm2.pm_id and amexbpf.pm2.instance of an app of more than one instance. */
void eng_set_instance_fields(json_t *ev, const struct amx_app *a, const struct amx_instance *in);
/* Exit status, uptime, latency, and amexbpf.cause/killer. h: the home whose app or
 * daemon it was (NULL when none); a: the app (NULL for the daemon). */
void eng_set_exit_fields(struct amx_engine *e, json_t *ev, const struct amx_event *kev,
			 const struct amx_home *h, const struct amx_app *a);
/* amexbpf.stderr_tail: the last lines of the app's PM2 error log, when there are any. */
void eng_set_stderr_tail(json_t *ev, const struct amx_home *h, const struct amx_app *a);
/* The end of the app's PM2 error log (*buf malloc'd); false when it cannot be read. */
bool eng_read_error_tail(const struct amx_home *h, const struct amx_app *a, char **buf,
			 size_t *len);
json_t *eng_argv_json(const struct amx_argv *argv);
/* amexbpf.serving and amexbpf.listen.ports (the app's wanted ports) unless serving is
 * AMX_SERVING_UNKNOWN; an instance's own ports (amexbpf.listen.ports) when it has some. */
void eng_set_serving_fields(json_t *ev, const struct amx_app *a, enum amx_serving serving);
void eng_set_instance_ports(json_t *ev, const struct amx_instance *in);
void eng_log(struct amx_engine *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void eng_emit_started(struct amx_engine *e);
void eng_emit_skipped_homes(struct amx_engine *e);
bool eng_file_event_allowed(struct amx_engine *e, int hi);
void eng_report_suppressed(struct amx_engine *e, int hi, uint64_t now);

/* conflict.c: port conflicts (core/port_conflict.h). The port the app's error log says
 * was taken (0: none); who holds it now, and what kind of holder that is (its facts in
 * *f); stopping an orphaned copy of the app (classified again through a pidfd first). */
uint16_t eng_conflict_port(const struct amx_home *h, const struct amx_app *a);
enum amx_holder_kind eng_port_holder(struct amx_engine *e, int hi, const struct amx_app *a,
				     uint16_t port, struct amx_holder_facts *f);
bool eng_stop_holder(struct amx_engine *e, int hi, const struct amx_app *a, uint16_t port,
		     int pid);
/* After an app's failed exit: a conflict in its error log goes to its policy. When the log
 * does not say so yet (PM2 writes it after the exit), it is looked at again shortly. */
#define AMX_CONFLICT_LATE_LOG_MS 300
/* A search for a port's holder reads the socket tables and walks every /proc/PID/fd (measured
 * 8-12 ms of CPU here, more under load): one home searches at most once in this long, so
 * an app of one owner crash-looping with EADDRINUSE cannot take the loop from the others.
 * A failed exit that finds the home's search spent is looked at again when it is not. */
#define AMX_CONFLICT_LOOKUP_EVERY_MS 500
/* Whether home hi may search for a port's holder now (and if so, it is counted); else
 * when it may, in *next_ms. */
bool eng_conflict_lookup_allowed(struct amx_engine *e, int hi, uint64_t *next_ms);

/* commands.c */
bool eng_build_argv(struct amx_engine *e, struct amx_argv *argv, int tier,
		    const struct amx_home *h, const struct amx_app *a);
/* Whether home hi may start a command now (its quota, the reserve); when not, why in
 * err. */
bool eng_command_slot_free(const struct amx_engine *e, int hi, char *err, size_t errlen);
int eng_start_command(struct amx_engine *e, int hi, int ai, int tier, int attempt,
		      const struct amx_argv *argv, char *err, size_t errlen);
void eng_check_command_deadlines(struct amx_engine *e, uint64_t now);
int eng_adopt_running_commands(struct amx_engine *e, int hi);
void eng_kill_commands(struct amx_engine *e);

/* The boot clock, in ms: every deadline of the policy is on it. */
static inline uint64_t eng_now_ms(const struct amx_engine *e)
{
	return e->clock_ms(e->clock_ctx);
}

/* seams.c */
uint64_t eng_real_clock_ms(void *ctx);
extern const struct amx_spawner eng_real_spawner;

/* act.c */
static inline int eng_app_index(const struct amx_home *h, const struct amx_app *a)
{
	return (int)(a - h->apps);
}
unsigned eng_app_budget_left(void *ctx, const struct amx_home *h, const struct amx_app *a,
			     uint64_t now);
bool eng_instance_runs(const struct amx_instance *in);
void eng_feed_app(struct amx_engine *e, int hi, int ai, struct amx_input in);
void eng_feed_home(struct amx_engine *e, int hi, struct amx_input in);
void eng_send_held_oom(struct amx_engine *e, struct amx_oom_pending *p,
		       const struct amx_oom_outcome *o);
void eng_tick_held_ooms(void *ctx, uint64_t now);
/* systemctl is-active answered (active: exit 0) for home hi: its tier 2 goes on. */
void eng_unit_answered(struct amx_engine *e, int hi, bool active);

/* listen.c: the ports apps listen on, and whether a recovered app serves again */
void eng_listen_init(struct amx_engine *e);
void eng_listen_new_pid(struct amx_engine *e, struct amx_instance *in);
void eng_listen_instance_gone(struct amx_engine *e, struct amx_app *a, struct amx_instance *in);
void eng_on_listen_event(struct amx_engine *e, const struct amx_event *kev);
void eng_on_unlisten_event(struct amx_engine *e, const struct amx_event *kev);
void eng_listen_scan(struct amx_engine *e, int hi, struct amx_app *a, struct amx_instance *in,
		     bool announce);
void eng_listen_alive_input(const struct amx_app *a, struct amx_input *x);
void eng_tick_listen(void *ctx, uint64_t now);

/* observe.c */
void eng_consider_child(struct amx_engine *e, int hi, int pid);
void eng_remember_unclaimed_exit(struct amx_engine *e, int hi, const struct amx_event *ev);
void eng_consider_pid_file(struct amx_engine *e, int hi, const char *file, int pid);
void eng_scan_god_children(struct amx_engine *e, int hi);
void eng_god_died(struct amx_engine *e, int hi, const struct amx_event *kev);
void eng_refresh_god(struct amx_engine *e, int hi);
/* God daemon pid of home hi runs: learn its pm2 and node (daemon/toolchain.h), choose the
 * home's again, and (report) emit pm2-drift when they disagree with what it runs. */
void eng_learn_tools(struct amx_engine *e, int hi, int pid, bool report);
/* Emit pm2-drift when daemon pid of home hi (what it says of itself: d) disagrees with the
 * pm2 chosen for the home; the same disagreement with the same daemon only once. periodic:
 * found by the --drift-interval check (drift.c), not as the daemon appeared. */
struct amx_daemon_tools;
void eng_report_drift(struct amx_engine *e, int hi, int pid, const struct amx_daemon_tools *d,
		      bool periodic);
void eng_instance_exited(struct amx_engine *e, int hi, struct amx_app *a, struct amx_instance *in,
			 const struct amx_event *kev);
/* Does the app's error log say its port was taken? If so, who holds it goes to its
 * policy (AMX_IN_PORT_CONFLICT); true when a port was found. */
bool eng_check_port_conflict(struct amx_engine *e, int hi, int ai);
void eng_rescan_home(struct amx_engine *e, int hi);
/* dump.pm2 is invalid (problem): dump-invalid, once per problem. */
void eng_dump_invalid(struct amx_engine *e, int hi, const char *problem);
/* The good copy an adoption on the loop replaced (r->replaced): to the worker's next job to
 * free when none is in flight, else left to amx_dump_read_free. */
static inline void eng_dump_keep_replaced(struct amx_engine *e, struct amx_dump_read *r)
{
	struct amx_dump_job *d = &e->dump_job;
	if (d->home >= 0 || d->trash_raw || d->trash.apps)
		return;
	d->trash = r->replaced;
	d->trash_raw = r->replaced_raw;
	memset(&r->replaced, 0, sizeof(r->replaced));
	r->replaced_raw = NULL;
}
void eng_initial_home_state(struct amx_engine *e, int hi);
void eng_initial_state(struct amx_engine *e, int from_home);
/* Start-up: every home watched, then monitor-started, then each home's state acted on. */
void eng_start_monitoring(struct amx_engine *e);

/* dumpread.c: dump.pm2 read off the loop. A home's reads take at most
 * 1/AMX_DUMP_LOOP_SHARE of the worker's time (a read put off waits at most
 * AMX_DUMP_MAX_DEFER_MS), one read in flight for all homes, taken round the homes; what
 * stays on the loop (adopting the parse, feeding its apps to their policies) is bounded per
 * step: AMX_DUMP_APPS_PER_STEP apps, the rest at the next steps. A small dump (up to
 * AMX_DUMP_LOOP_MAX_BYTES, about 1.6 ms to parse) is read at once on the loop, as PM2's own
 * saves are (a hand-over per save cost t_burst's rewrites three quarters of their rate);
 * so is the look at the dump when the God daemon dies (it decides tier 2's first step). */
/* What a home's adopted dump still needs from the loop (amx_home.dump_feed_phase), in this
 * order: matching it to the apps (SYNC_ONLY: and nothing after), then the saved state to
 * each app's policy, then the new names found absent. */
enum { AMX_FEED_NONE, AMX_FEED_SYNC, AMX_FEED_DESIRED, AMX_FEED_ABSENT, AMX_FEED_SYNC_ONLY };
#define AMX_DUMP_LOOP_SHARE 10
#define AMX_DUMP_MAX_DEFER_MS 5000
#define AMX_DUMP_APPS_PER_STEP 256
#define AMX_DUMP_LOOP_MAX_BYTES (64u << 10)
/* dump.pm2 changed (or must be looked at again): read it as soon as its share allows. */
void eng_on_dump_event(struct amx_engine *e, int hi);
/* From the loop's ticker: reads put off that are due, apps left to feed. */
void eng_tick_dumps(struct amx_engine *e, uint64_t now);
/* The worker's descriptor is readable (ctx: the engine): a read is done. */
void eng_on_dump_done(void *ctx, int fd, uint32_t events);
/* At shutdown, after amx_worker_stop: what the last job holds is freed. */
void eng_dump_discard(struct amx_engine *e);

/* app_reload.c */
void eng_reload_replacing(struct amx_engine *e, struct amx_app *a, struct amx_instance *in);
struct amx_instance *eng_reload_old_process(struct amx_home *h, int pid, uint64_t start_ticks,
					    struct amx_app **app);
void eng_reload_old_exited(struct amx_engine *e, int hi, struct amx_app *a, struct amx_instance *in);

/* oom_policy.c: the OOM blast radius of a home whose PM2 systemd runs (core/oom_blast.h). */
/* Ask, once per home, what its pm2-<owner>.service does on an OOM kill (when systemd is
 * the init and nothing is asked yet); the answer comes to eng_oom_policy_answered. */
void eng_ask_oom_policy(struct amx_engine *e, int hi);
void eng_oom_policy_answered(struct amx_engine *e, struct amx_command *c, bool ok);
/* An app instance's exit (kev NULL: found gone): its OOM kill marks the home; another
 * app's exit soon after is marked amexbpf.collateral on its process-exited event. */
void eng_oom_blast_exit(struct amx_engine *e, json_t *ev, int hi, const struct amx_app *a,
			int pid, bool own_oom);

/* answers.c */
void eng_command_done(struct amx_engine *e, struct amx_command *c, bool ok, const char *reason);

/* intake.c */
int eng_open_event_source(struct amx_engine *e, char *err, size_t errlen);
void eng_read_kernel_events(struct amx_engine *e);
/* The exit source's handler (ctx: the engine): one event from the kernel. */
void eng_on_kernel_event(void *ctx, const struct amx_event *ev);
void eng_on_kernel_ready(void *ctx, int fd, uint32_t events);
void eng_on_watcher_ready(void *ctx, int fd, uint32_t events);
/* One file event, handled as the watcher's are: the kernel's events read first. */
void eng_handle_fs_event(struct amx_engine *e, const struct amx_fs_event *fe);
void eng_tick_policies(void *ctx, uint64_t now);
/* The events-lost of each fold whose window is over at now (force: every one pending, the
 * last before monitor-stopping); a wake-up asked for the others. */
void eng_report_lost(struct amx_engine *e, uint64_t now, bool force);

/* drift.c: every --drift-interval, each home's pm2 and node looked at again (a stat; the
 * versions read again only when a file changed) and its daemon's node (deleted?), a
 * bounded number of homes per wake-up; a ticker (ctx: the engine). */
#define AMX_DRIFT_HOMES_PER_WAKE 8
void eng_tick_drift(void *ctx, uint64_t now);

/* health.c */
int eng_start_health_checks(struct amx_engine *e, char *err, size_t errlen);

/* schedclass.c: the reacting threads' class (--sched, sys/sched.h). Setup before the
 * watcher starts (its thread raises itself), the loop's thread raised before the loop. */
void eng_sched_setup(struct amx_engine *e);
void eng_sched_raise_loop(struct amx_engine *e);
/* SIGHUP: the class of the options now in force, if it is not the one the threads have
 * (both threads at once); what is in force after, for config-reloaded, in what. */
void eng_sched_reload(struct amx_engine *e, enum amx_sched_mode was, unsigned was_priority,
		      char *what, size_t whatlen);

/* reload.c */
int eng_setup_homes(struct amx_engine *e, char *err, size_t errlen);
int eng_selftest_homes(struct amx_engine *e);
void eng_apply_policy_options(struct amx_engine *e, const struct amx_options *o);
void eng_reload_config(struct amx_engine *e);

#endif
