/* SPDX-License-Identifier: MIT */
/* The engine (src/daemon/engine.h) driven through its seams, in milliseconds: a fake clock,
 * a fake spawner (pm2 commands are recorded and answered by the test) and a fake exit
 * source (tests/unit/fake_exit_source.h: the test hands the kernel's events in). What the
 * engine reads of the world is real: a PM2_HOME in a temporary directory with dump.pm2,
 * pm2.pid and pid files, and a fake God daemon, this program run again under the name
 * "PM2 v7.0.4: God Daemon (<home>)", whose children carry PM2's environment (name=,
 * PM2_HOME=) as PM2's apps do. The scenarios are those of the end-to-end tests; each
 * asserts the events emitted and the commands run. */
#include "check.h"
#include "fake_exit_source.c"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/event.h"
#include "daemon/engine.h"
#include "sys/loop.h"
#include "sys/proc.h"

#define GOD_ENV "AMX_TEST_FAKE_GOD_HOME"
#define FAKE_PID_BASE 100000 /* above pid_max's default: never a live process */
#define MAX_SEEN 256
#define MAX_CMDS 64
#define MAX_KIDS 64

/* ---------------------------------------------------------------- the fake God daemon */

/* Run as the God daemon: each line "NAME" read on stdin forks an app (sleep, with PM2's
 * environment) and writes its pid on stdout; then it waits to be killed, as a God daemon
 * does. Children are reaped by the kernel. */
static int fake_god_main(const char *home)
{
	signal(SIGCHLD, SIG_IGN);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	char name[128];
	while (fgets(name, sizeof(name), stdin)) {
		name[strcspn(name, "\n")] = '\0';
		/* "NAME K": instance K of a cluster app, with PM2's NODE_APP_INSTANCE and pid file. */
		char *k = strchr(name, ' ');
		if (k)
			*k++ = '\0';
		pid_t pid = fork();
		if (pid == 0) {
			char env_name[160], env_home[4200], env_inst[64], env_pidf[4400];
			snprintf(env_name, sizeof(env_name), "name=%s", name);
			snprintf(env_home, sizeof(env_home), "PM2_HOME=%s", home);
			snprintf(env_inst, sizeof(env_inst), "NODE_APP_INSTANCE=%s", k ? k : "");
			snprintf(env_pidf, sizeof(env_pidf), "pm_pid_path=%s/pids/%s-%s.pid", home, name,
				 k ? k : "");
			char *const argv[] = { "sleep", "30", NULL };
			/* A plain app's environment ends at PM2_HOME, as before instances. */
			char *const envp[] = { env_name, env_home, k ? env_inst : NULL, env_pidf, NULL };
			execve("/bin/sleep", argv, envp);
			_exit(127);
		}
		printf("%d\n", (int)pid);
		fflush(stdout);
	}
	for (;;)
		pause();
}

struct god {
	pid_t pid;
	FILE *to, *from;
};

/* What the fake God daemon runs from: this program, or a copy (the drift tests delete it
 * under the running daemon, as a Node upgrade does). */
static const char *god_binary = "/proc/self/exe";

static struct god god_start(const char *home)
{
	int in[2], out[2];
	struct god g = { 0 };
	if (pipe(in) < 0 || pipe(out) < 0)
		return g;
	char name[4300], env[4300];
	snprintf(name, sizeof(name), "PM2 v7.0.4: God Daemon (%s)", home);
	snprintf(env, sizeof(env), GOD_ENV "=%s", home);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		char *const argv[] = { name, NULL };
		char *const envp[] = { env, NULL };
		execve(god_binary, argv, envp);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	g.pid = pid;
	g.to = fdopen(in[1], "w");
	g.from = fdopen(out[0], "r");
	/* Ready once its name is its own (after the exec). */
	for (int i = 0; i < 2000; i++) {
		char cmd[64] = "";
		ssize_t n = amx_proc_read(pid, "cmdline", cmd, sizeof(cmd) - 1);
		if (n > 4 && !strncmp(cmd, "PM2 v", 5))
			break;
		usleep(1000);
	}
	return g;
}

/* The God daemon forks app name; its pid. */
static pid_t god_fork_app(struct god *g, const char *name)
{
	int pid = 0;
	fprintf(g->to, "%s\n", name);
	fflush(g->to);
	if (fscanf(g->from, "%d", &pid) != 1)
		return 0;
	/* Ready once exec'd: its environment is PM2's. */
	for (int i = 0; i < 2000; i++) {
		char v[64];
		if (amx_proc_environ_get(pid, "name", v, sizeof(v)))
			break;
		usleep(1000);
	}
	return pid;
}

static void god_close(struct god *g)
{
	if (g->to)
		fclose(g->to);
	if (g->from)
		fclose(g->from);
	g->to = g->from = NULL;
}

/* ---------------------------------------------------------------- processes of a test */

static pid_t kids[MAX_KIDS];
static int n_kids;

static void remember_kid(pid_t pid)
{
	if (pid > 0 && n_kids < MAX_KIDS)
		kids[n_kids++] = pid;
}

static bool process_gone(pid_t pid)
{
	struct amx_proc_stat st;
	return !amx_proc_read_stat(pid, &st) || st.state == 'Z';
}

/* The exit the kernel reports when live process pid dies of SIGKILL. */
static struct amx_event sigkill_event(pid_t pid)
{
	struct amx_proc_stat st = { 0 };
	amx_proc_read_stat(pid, &st);
	uint64_t start_ns = st.start_ticks * (1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK));
	struct amx_event ev = fake_exit_source_event(AMX_EV_EXIT, pid, SIGKILL, start_ns);
	ev.ppid = (uint32_t)st.ppid;
	snprintf(ev.comm, sizeof(ev.comm), "sleep");
	return ev;
}

/* Wait (up to 5 s) until pid is gone: the kernel reaps it, SIGCHLD being ignored here and
 * orphans coming to us as the subreaper. */
static bool wait_gone(pid_t pid)
{
	for (int i = 0; i < 5000 && !process_gone(pid); i++)
		usleep(1000);
	return process_gone(pid);
}

/* SIGKILL pid, wait until it is gone; the event the kernel would report. */
static struct amx_event kill_and_wait(pid_t pid)
{
	if (pid <= 0) { /* a pid the engine never learned: kill(0) would end this whole run */
		printf("FAIL test_engine: kill_and_wait of pid %d\n", (int)pid);
		exit(1);
	}
	struct amx_event ev = sigkill_event(pid);
	kill(pid, SIGKILL);
	wait_gone(pid);
	return ev;
}

static void kill_kids(void)
{
	for (int i = 0; i < n_kids; i++)
		if (!process_gone(kids[i]))
			kill_and_wait(kids[i]);
	n_kids = 0;
}

/* ---------------------------------------------------------------- the seams */

static uint64_t now_ms;
static uint64_t clock_step_ms; /* how far each reading of the clock moves it (0: frozen) */

static uint64_t fake_clock(void *ctx)
{
	(void)ctx;
	now_ms += clock_step_ms;
	return now_ms;
}

/* A pm2 command the engine ran: what, and how the test made it end. */
struct fake_cmd {
	char line[512];   /* argv[1..] joined: "jlist", "restart api", "resurrect" */
	char exe[1024];   /* argv[0] */
	char node[1024];  /* the node whose directory leads the child's PATH, "" none */
	char pm2_home[512];
	uid_t uid;        /* who it runs as */
	bool finished;
	int wait_status;
	char *output;     /* what it printed (jlist's JSON) */
};
static struct fake_cmd cmds[MAX_CMDS];
static int n_cmds;

static int fake_spawn(void *ctx, struct amx_child *c, const struct amx_argv *argv,
		      const struct amx_user *u, const char *pm2_home, char *err, size_t errlen)
{
	(void)ctx;
	if (n_cmds == MAX_CMDS) {
		snprintf(err, errlen, "too many");
		return -EAGAIN;
	}
	struct fake_cmd *f = &cmds[n_cmds];
	memset(f, 0, sizeof(*f));
	snprintf(f->exe, sizeof(f->exe), "%s", argv->v[0]);
	snprintf(f->node, sizeof(f->node), "%s", argv->node ? argv->node : "");
	snprintf(f->pm2_home, sizeof(f->pm2_home), "%s", pm2_home ? pm2_home : "");
	f->uid = u->uid;
	for (int i = 1; i < argv->n; i++)
		snprintf(f->line + strlen(f->line), sizeof(f->line) - strlen(f->line), "%s%s",
			 i > 1 ? " " : "", argv->v[i]);
	c->pid = FAKE_PID_BASE + n_cmds++;
	c->pidfd = -1; /* no pidfd: the engine reaps it on a tick */
	c->out_fd = -1;
	c->wait_status = -1;
	return 0;
}

static struct fake_cmd *cmd_of(const struct amx_child *c)
{
	int i = c->pid - FAKE_PID_BASE;
	return i >= 0 && i < n_cmds ? &cmds[i] : NULL;
}

static void fake_read_output(void *ctx, struct amx_child *c)
{
	(void)ctx;
	(void)c;
}

static bool fake_reap(void *ctx, struct amx_child *c)
{
	(void)ctx;
	struct fake_cmd *f = cmd_of(c);
	if (!f || !f->finished)
		return false;
	c->wait_status = f->wait_status;
	return true;
}

static char *fake_read_all(void *ctx, const struct amx_child *c, size_t max, size_t *len)
{
	(void)ctx;
	(void)max;
	struct fake_cmd *f = cmd_of(c);
	if (!f || !f->output)
		return NULL;
	*len = strlen(f->output);
	return strdup(f->output);
}

static void fake_kill_group(void *ctx, struct amx_child *c)
{
	(void)ctx;
	struct fake_cmd *f = cmd_of(c);
	c->timed_out = true;
	if (f && !f->finished) {
		f->finished = true;
		f->wait_status = SIGKILL;
	}
}

static void fake_release(void *ctx, struct amx_child *c)
{
	(void)ctx;
	(void)c;
}

static const struct amx_spawner fake_spawner = {
	.spawn = fake_spawn,
	.read_output = fake_read_output,
	.reap = fake_reap,
	.read_all = fake_read_all,
	.kill_group = fake_kill_group,
	.release = fake_release,
};

/* ---------------------------------------------------------------- what the engine said */

struct seen {
	char action[40];
	json_t *ev;
};
static struct seen seen[MAX_SEEN];
static int n_seen;

static void note_monitor_started(void);

static void capture(void *ctx, json_t *ev, const char *line)
{
	(void)ctx;
	(void)line;
	if (n_seen == MAX_SEEN)
		return;
	if (!strcmp(json_string_value(amx_event_get(ev, "event.action")), "monitor-started"))
		note_monitor_started();
	snprintf(seen[n_seen].action, sizeof(seen[n_seen].action), "%s",
		 json_string_value(amx_event_get(ev, "event.action")));
	seen[n_seen++].ev = json_incref(ev);
}

static void forget_seen(void)
{
	for (int i = 0; i < n_seen; i++)
		json_decref(seen[i].ev);
	n_seen = 0;
}

/* The first event with this action from index *from on (which moves past it), or NULL. */
static json_t *next_event(int *from, const char *action)
{
	for (int i = *from; i < n_seen; i++)
		if (!strcmp(seen[i].action, action)) {
			*from = i + 1;
			return seen[i].ev;
		}
	return NULL;
}

static int count_events(const char *action)
{
	int n = 0;
	for (int i = 0; i < n_seen; i++)
		n += !strcmp(seen[i].action, action);
	return n;
}

static const char *str_of(json_t *ev, const char *path)
{
	const char *s = ev ? json_string_value(amx_event_get(ev, path)) : NULL;
	return s ? s : "";
}

static long long int_of(json_t *ev, const char *path)
{
	return ev ? json_integer_value(amx_event_get(ev, path)) : -1;
}

static int count_cmds(const char *line)
{
	int n = 0;
	for (int i = 0; i < n_cmds; i++)
		n += !strcmp(cmds[i].line, line);
	return n;
}

/* ---------------------------------------------------------------- one PM2 home */

static struct amx_engine E; /* large: static */
static struct amx_options O;
static struct fake_exit_source FX;
static char dir[256], home[300], state[300], events[300];
static struct god god;

/* Whether the God daemon and the first app were in the watched set when monitor-started
 * went out (its promise: every watch is in place). */
static bool watched_at_started;

static void note_monitor_started(void)
{
	const struct amx_home *h = E.n_homes ? &E.homes[0] : NULL;
	watched_at_started = h && h->god_pid && h->n_apps && h->apps[0].pid &&
			     fake_exit_source_watched(&FX, h->god_pid) &&
			     fake_exit_source_watched(&FX, h->apps[0].pid);
}

static void write_file(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void write_file(const char *path, const char *fmt, ...)
{
	char tmp[4400];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
	rename(tmp, path); /* as PM2 does it: whole, or not at all */
}

/* Set before engine_up: the dump's entries are instances of one cluster app (entry i is
 * pm_id and NODE_APP_INSTANCE i), and the God daemon forks each as that instance. */
static bool cluster_apps;

static void write_dump(const char *const *apps, int n)
{
	char path[4400], body[8192] = "[", inst[96];
	for (int i = 0; i < n; i++) {
		snprintf(inst, sizeof(inst), ",\"exec_mode\":\"cluster_mode\",\"NODE_APP_INSTANCE\":%d", i);
		snprintf(body + strlen(body), sizeof(body) - strlen(body),
			 "%s{\"name\":\"%s\",\"status\":\"online\",\"autorestart\":true,"
			 "\"pm_pid_path\":\"%s/pids/%s-%d.pid\",\"pm_exec_path\":\"/srv/%s.js\"%s}",
			 i ? "," : "", apps[i], home, apps[i], i, apps[i], cluster_apps ? inst : "");
	}
	snprintf(path, sizeof(path), "%s/dump.pm2", home);
	write_file(path, "%s]", body);
}

static void write_pid_file(const char *name, int i, pid_t pid)
{
	char path[4400];
	snprintf(path, sizeof(path), "%s/pids/%s-%d.pid", home, name, i);
	write_file(path, "%d", (int)pid);
}

static void write_god_pid(pid_t pid)
{
	char path[4400];
	snprintf(path, sizeof(path), "%s/pm2.pid", home);
	write_file(path, "%d", (int)pid);
}

/* A new God daemon with each app forked (pid files written); returns app 0's pid. */
static pid_t start_pm2(const char *const *apps, int n)
{
	god = god_start(home);
	remember_kid(god.pid);
	pid_t first = 0;
	for (int i = 0; i < n; i++) {
		char line[160];
		snprintf(line, sizeof(line), cluster_apps ? "%s %d" : "%s", apps[i], i);
		pid_t pid = god_fork_app(&god, line);
		remember_kid(pid);
		write_pid_file(apps[i], i, pid);
		if (!i)
			first = pid;
	}
	write_god_pid(god.pid);
	return first;
}

static void push_kernel_event(struct amx_event ev)
{
	fake_exit_source_push(&FX, &ev);
	eng_on_kernel_ready(&E, -1, 0);
}

static void file_event(enum amx_fs_what what, const char *name)
{
	struct amx_fs_event fe = { .home = 0, .what = what, .mask = IN_CLOSE_WRITE };
	snprintf(fe.name, sizeof(fe.name), "%s", name);
	eng_handle_fs_event(&E, &fe);
}

static void advance(uint64_t ms)
{
	now_ms += ms;
	eng_tick_policies(&E, now_ms);
}

/* Command i ends with exit status st, having printed output (NULL: nothing); a tick reaps
 * it. */
static void finish_cmd(int i, int st, const char *output)
{
	cmds[i].finished = true;
	cmds[i].wait_status = st << 8;
	free(cmds[i].output);
	cmds[i].output = output ? strdup(output) : NULL;
	advance(1);
}

/* `pm2 jlist`'s answer for one app. */
static void jlist_answer(char *buf, size_t len, const char *app, const char *status, int pid)
{
	snprintf(buf, len,
		 "[{\"name\":\"%s\",\"pm_id\":0,\"pid\":%d,\"pm2_env\":{\"status\":\"%s\","
		 "\"pm_pid_path\":\"%s/pids/%s-0.pid\",\"autorestart\":true}}]",
		 app, pid, status, home, app);
}

/* The app is killed and PM2 does not bring it back: once the grace for PM2's own restart
 * is over the engine asks PM2 (pm2 jlist), and PM2 says status. */
static bool app_dies_and_pm2_says(const char *status)
{
	push_kernel_event(kill_and_wait(E.homes[0].apps[0].pid));
	advance(2000);
	int last = n_cmds - 1;
	if (last < 0 || strcmp(cmds[last].line, "jlist") != 0)
		return false;
	char jl[1024];
	jlist_answer(jl, sizeof(jl), "api", status, 0);
	finish_cmd(last, 0, jl);
	return true;
}

static int rebuild_rc;
static double rebuild_manual_grace_s;

/* SIGHUP's options: the same, with another manual grace; or a config that is invalid. */
static int fake_rebuild(struct amx_options *out, char *err, size_t errlen)
{
	if (rebuild_rc) {
		snprintf(err, errlen, "line 3: unknown key\n");
		return rebuild_rc;
	}
	*out = O;
	out->manual_grace_s = rebuild_manual_grace_s;
	return 0;
}

/* More homes next to the test's own (set before engine_up; cleared by engine_down), and
 * whether they are all discovered (not named by the operator) and go through the self-test
 * (with fake_selftest_pm2). */
static const char *extra_homes[12];
static int n_extra_homes;
static bool homes_discovered, with_selftest;
static int setup_rc;

/* pm2 cannot run for any owner but root (as if that owner broke their node). */
static bool fake_selftest_pm2(const struct amx_toolchain *t, const struct amx_home *h,
			      char *version, size_t versionlen, char *err, size_t errlen)
{
	(void)t;
	if (version && versionlen)
		snprintf(version, versionlen, "7.0.4");
	if (h->owner.uid == 0)
		return true;
	snprintf(err, errlen, "cannot run node for pm2 as %s: killed", h->owner.name);
	return false;
}

/* A PM2 home dir/NAME with this dump.pm2 (NULL: none), owned by uid; its path. */
static const char *make_home(const char *name, const char *dump, uid_t uid)
{
	static char paths[12][4400];
	static int next;
	char *p = paths[next++ % 12], f[4500];
	snprintf(p, sizeof(paths[0]), "%s/%s", dir, name);
	mkdir(p, 0755);
	if (dump) {
		snprintf(f, sizeof(f), "%s/dump.pm2", p);
		write_file(f, "%s", dump);
		if (chown(f, uid, uid) < 0)
			return NULL;
	}
	return chown(p, uid, uid) < 0 ? NULL : p;
}

/* The engine over a new home with these apps, each running under a new God daemon; the
 * start-up done (monitor-started, first look). */
static bool make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/amx-engine-test.XXXXXX");
	return mkdtemp(dir) != NULL && chmod(dir, 0755) == 0; /* other owners' homes inside */
}

static bool engine_up(const char *const *apps, int n, double manual_grace_s, unsigned budget)
{
	if (!n_extra_homes && !make_dir())
		return false;
	snprintf(home, sizeof(home), "%s/pm2", dir);
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(events, sizeof(events), "%s/events.ndjson", dir);
	char pids[400];
	snprintf(pids, sizeof(pids), "%s/pids", home);
	if (mkdir(home, 0755) < 0 || mkdir(pids, 0755) < 0 || mkdir(state, 0700) < 0)
		return false;
	write_dump(apps, n);
	start_pm2(apps, n);

	memset(&O, 0, sizeof(O));
	O.homes[0] = home;
	O.n_homes = 1 + n_extra_homes;
	for (int i = 0; i < n_extra_homes; i++)
		O.homes[1 + i] = extra_homes[i];
	O.homes_given = !homes_discovered;
	O.state_dir = state;
	O.events_path = events;
	O.pm2 = "/usr/bin/pm2";
	O.grace_s = 2;
	O.manual_grace_s = manual_grace_s;
	O.action_timeout_s = 30;
	O.verify_timeout_s = 15;
	O.budget_attempts = budget;
	O.budget_window_s = 600;
	O.rebuild = fake_rebuild;

	n_cmds = 0;
	forget_seen();
	now_ms = amx_boot_ms();
	amx_engine_init(&E, &O);
	clock_step_ms = 0;
	E.clock_ms = fake_clock;
	E.spawner = fake_spawner;
	E.selftest_pm2 = fake_selftest_pm2;
	char err[1024];
	if (fake_exit_source_open(&FX, &E.src, eng_on_kernel_event, &E) < 0)
		return false;
	setup_rc = eng_setup_homes(&E, err, sizeof(err));
	if (!setup_rc && with_selftest)
		setup_rc = eng_selftest_homes(&E);
	if (setup_rc || amx_eventfile_open(&E.events, events) < 0)
		return false;
	amx_event_stream_init(&E.stream);
	eng_start_monitoring(&E);
	eng_tick_policies(&E, now_ms);
	return true;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void engine_down(void)
{
	eng_kill_commands(&E);
	amx_exit_source_close(&E.src);
	for (int hi = 0; hi < E.n_homes; hi++)
		amx_home_free(&E.homes[hi]);
	amx_eventfile_close(&E.events);
	god_close(&god);
	kill_kids();
	for (int i = 0; i < n_cmds; i++) {
		free(cmds[i].output);
		cmds[i].output = NULL;
	}
	if (nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
		printf("note: could not remove %s\n", dir);
	n_extra_homes = 0;
	homes_discovered = with_selftest = cluster_apps = false;
}

static const char *const ONE_APP[] = { "api" };

/* ---------------------------------------------------------------- the scenarios */

TEST(start_up_watches_the_god_daemon_and_the_app)
{
	CHECK(engine_up(ONE_APP, 1, 300, 5));
	pid_t app = E.homes[0].apps[0].pid;
	int at = 0;
	json_t *ev = next_event(&at, "monitor-started");
	CHECK(ev != NULL);
	CHECK_STR(str_of(ev, "amexbpf.source"), "fake");
	CHECK(E.homes[0].god_pid == god.pid);
	CHECK(app > 0 && E.homes[0].apps[0].pol.state == AMX_APP_ALIVE);
	const struct fake_watch_call *w = fake_exit_source_watched(&FX, god.pid);
	CHECK(w && (w->flags & AMX_WATCH_CHILDREN));
	CHECK(fake_exit_source_watched(&FX, app) != NULL);
	CHECK(n_cmds == 0);
	CHECK(n_seen == 1); /* nothing wrong: monitor-started alone */
	CHECK(watched_at_started); /* said once the daemon and the app were watched */
	engine_down();
}

TEST(app_killed_and_restarted_by_pm2)
{
	CHECK(engine_up(ONE_APP, 1, 300, 5));
	pid_t old = E.homes[0].apps[0].pid;
	push_kernel_event(kill_and_wait(old));
	now_ms += 300;
	pid_t fresh = god_fork_app(&god, "api");
	remember_kid(fresh);
	write_pid_file("api", 0, fresh);
	file_event(AMX_FS_PID_FILE, "api-0.pid");
	int at = 0;
	json_t *ev = next_event(&at, "process-exited");
	CHECK(ev != NULL);
	CHECK(int_of(ev, "process.pid") == old);
	CHECK_STR(str_of(ev, "amexbpf.signal"), "SIGKILL");
	CHECK_STR(str_of(ev, "log.level"), "error");
	CHECK_STR(str_of(ev, "amexbpf.pm2.app"), "api");
	ev = next_event(&at, "pm2-restarted-app");
	CHECK(ev != NULL);
	CHECK(int_of(ev, "process.pid") == fresh);
	CHECK(int_of(ev, "amexbpf.pm2_restart_ms") == 300);
	advance(60000); /* nothing more to do */
	CHECK(n_cmds == 0);
	CHECK(count_events("recovery-started") == 0);
	CHECK(E.homes[0].apps[0].pol.state == AMX_APP_ALIVE);
	engine_down();
}

/* The kernel says pid listens on 127.0.0.1:port (the listen hook's record). */
static void listen_event(pid_t pid, uint16_t port)
{
	struct amx_proc_stat st;
	struct amx_event ev = { .type = AMX_EV_LISTEN, .pid = (uint32_t)pid, .tid = (uint32_t)pid,
				.listen_port = port, .listen_family = 2,
				.listen_addr = { 127, 0, 0, 1 } };
	if (amx_proc_read_stat(pid, &st))
		ev.start_boottime_ns = amx_ticks_to_ns(st.start_ticks);
	ev.ts_ns = amx_boot_ns();
	push_kernel_event(ev);
}

/* An app that listened: PM2's restart is said once the new copy listens on the same port
 * (serving), or, when it does not within --verify-timeout, said not serving, nothing run. */
TEST(pm2_restart_of_a_listening_app_waits_for_its_port)
{
	CHECK(engine_up(ONE_APP, 1, 300, 5));
	pid_t old = E.homes[0].apps[0].pid;
	listen_event(old, 3000);
	int at = 0;
	json_t *ev = next_event(&at, "app-listening");
	CHECK(ev != NULL);
	CHECK(int_of(ev, "amexbpf.listen.port") == 3000);
	CHECK_STR(str_of(ev, "amexbpf.listen.address"), "127.0.0.1");
	CHECK(E.homes[0].apps[0].inst[0].n_ports == 1);
	push_kernel_event(kill_and_wait(old));
	ev = next_event(&at, "process-exited");
	CHECK(ev && json_array_size(amx_event_get(ev, "amexbpf.listen.ports")) == 1);
	now_ms += 300;
	pid_t fresh = god_fork_app(&god, "api");
	remember_kid(fresh);
	write_pid_file("api", 0, fresh);
	file_event(AMX_FS_PID_FILE, "api-0.pid");
	CHECK(count_events("pm2-restarted-app") == 0); /* not serving yet */
	CHECK(E.homes[0].apps[0].pol.state == AMX_APP_AWAIT_LISTEN);
	now_ms += 200;
	listen_event(fresh, 3000);
	ev = next_event(&at, "pm2-restarted-app");
	CHECK(ev != NULL);
	CHECK(ev && json_is_true(amx_event_get(ev, "amexbpf.serving")));
	CHECK(ev && json_integer_value(json_array_get(amx_event_get(ev, "amexbpf.listen.ports"), 0)) == 3000);
	CHECK(ev && int_of(ev, "event.duration") == 500 * 1000000LL);
	CHECK(E.homes[0].apps[0].pol.state == AMX_APP_ALIVE);
	/* again, and this copy never listens */
	push_kernel_event(kill_and_wait(fresh));
	pid_t mute = god_fork_app(&god, "api");
	remember_kid(mute);
	write_pid_file("api", 0, mute);
	file_event(AMX_FS_PID_FILE, "api-0.pid");
	advance(14999);
	CHECK(count_events("pm2-restarted-app") == 1);
	advance(1);
	CHECK(count_events("pm2-restarted-app") == 2);
	ev = next_event(&at, "pm2-restarted-app");
	CHECK(ev && json_is_false(amx_event_get(ev, "amexbpf.serving")));
	CHECK(n_cmds == 0 && count_events("recovery-started") == 0);
	engine_down();
}

/* The kernel says pid closed its listener on 127.0.0.1:port (LISTEN -> CLOSE). */
static void unlisten_event(pid_t pid, uint16_t port)
{
	struct amx_proc_stat st;
	struct amx_event ev = { .type = AMX_EV_UNLISTEN, .pid = (uint32_t)pid, .tid = (uint32_t)pid,
				.listen_port = port, .listen_family = 2,
				.listen_addr = { 127, 0, 0, 1 } };
	if (amx_proc_read_stat(pid, &st))
		ev.start_boottime_ns = amx_ticks_to_ns(st.start_ticks);
	ev.ts_ns = amx_boot_ns();
	push_kernel_event(ev);
}

/* An app that closes its server: the port leaves the app (app-stopped-listening). Dying
 * within 5 s of the close (a graceful shutdown) keeps the port wanted from the next life;
 * dying long after (closed on purpose) does not: PM2's restart is said at once. */
TEST(a_closed_port_is_wanted_only_when_closed_just_before_the_death)
{
	CHECK(engine_up(ONE_APP, 1, 300, 5));
	pid_t old = E.homes[0].apps[0].pid;
	listen_event(old, 3000);
	unlisten_event(old, 3000);
	int at = 0;
	json_t *ev = next_event(&at, "app-stopped-listening");
	CHECK(ev != NULL);
	CHECK(ev && int_of(ev, "amexbpf.listen.port") == 3000);
	CHECK(ev && int_of(ev, "process.pid") == old);
	CHECK_STR(str_of(ev, "amexbpf.listen.address"), "127.0.0.1");
	CHECK(E.homes[0].apps[0].inst[0].n_ports == 0);
	unlisten_event(old, 3000); /* said once */
	CHECK(count_events("app-stopped-listening") == 1);
	/* a graceful shutdown: dead 1 s after the close */
	now_ms += 1000;
	push_kernel_event(kill_and_wait(old));
	CHECK(E.homes[0].apps[0].n_want_ports == 1 && E.homes[0].apps[0].want_ports[0] == 3000);
	pid_t fresh = god_fork_app(&god, "api");
	remember_kid(fresh);
	write_pid_file("api", 0, fresh);
	file_event(AMX_FS_PID_FILE, "api-0.pid");
	CHECK(E.homes[0].apps[0].pol.state == AMX_APP_AWAIT_LISTEN);
	listen_event(fresh, 3000);
	ev = next_event(&at, "pm2-restarted-app");
	CHECK(ev && json_is_true(amx_event_get(ev, "amexbpf.serving")));
	/* closed on purpose: it lives on 6 s without the port, then dies */
	unlisten_event(fresh, 3000);
	CHECK(count_events("app-stopped-listening") == 2);
	now_ms += 6000;
	push_kernel_event(kill_and_wait(fresh));
	CHECK(E.homes[0].apps[0].n_want_ports == 0);
	pid_t next = god_fork_app(&god, "api");
	remember_kid(next);
	write_pid_file("api", 0, next);
	file_event(AMX_FS_PID_FILE, "api-0.pid");
	ev = next_event(&at, "pm2-restarted-app");
	CHECK(ev && int_of(ev, "process.pid") == next);
	CHECK(ev && amx_event_get(ev, "amexbpf.serving") == NULL);
	CHECK(E.homes[0].apps[0].pol.state == AMX_APP_ALIVE);
	/* a life that never listened keeps what the last one left: still nothing wanted */
	CHECK(n_cmds == 0 && count_events("recovery-started") == 0);
	engine_down();
}

/* `pm2 stop api`: the app exits, PM2 says stopped; within the manual grace nothing runs. */
TEST(pm2_stop_within_the_manual_grace)
{
	CHECK(engine_up(ONE_APP, 1, 300, 5));
	CHECK(app_dies_and_pm2_says("stopped"));
	CHECK(n_cmds == 1);
	int at = 0;
	json_t *ev = next_event(&at, "app-stopped");
	CHECK(ev != NULL);
	CHECK(json_is_true(amx_event_get(ev, "amexbpf.intentional")));
	CHECK(int_of(ev, "amexbpf.manual_grace_s") == 300);
	advance(299000);
	CHECK(n_cmds == 1);
	CHECK(count_events("recovery-started") == 0);
	CHECK(E.homes[0].apps[0].pol.state == AMX_APP_MANUAL);
	engine_down();
}

/* Past the manual grace a stop counts as a failure: tier 1 brings the app back. */
TEST(pm2_stop_past_the_manual_grace)
{
	CHECK(engine_up(ONE_APP, 1, 60, 5));
	CHECK(app_dies_and_pm2_says("stopped"));
	advance(60000);
	CHECK(n_cmds == 2 && !strcmp(cmds[1].line, "restart api"));
	int at = 0;
	json_t *ev = next_event(&at, "recovery-started");
	CHECK(ev != NULL);
	CHECK(int_of(ev, "amexbpf.tier") == 1);
	CHECK(int_of(ev, "amexbpf.attempt") == 1);
	finish_cmd(1, 0, NULL);
	pid_t fresh = god_fork_app(&god, "api");
	remember_kid(fresh);
	write_pid_file("api", 0, fresh);
	file_event(AMX_FS_PID_FILE, "api-0.pid");
	ev = next_event(&at, "recovery-succeeded");
	CHECK(ev != NULL);
	CHECK(int_of(ev, "process.pid") == fresh);
	CHECK(E.homes[0].apps[0].pol.state == AMX_APP_ALIVE);
	engine_down();
}

/* God killed with a valid dump: pm2-daemon-down, the orphaned app stopped, tier 2
 * (pm2 resurrect), and the new daemon and app picked up when it returns. */
TEST(god_killed_with_a_valid_dump)
{
	CHECK(engine_up(ONE_APP, 1, 300, 5));
	pid_t old_god = god.pid, orphan = E.homes[0].apps[0].pid;
	struct amx_event orphan_exit = sigkill_event(orphan);
	push_kernel_event(kill_and_wait(old_god));
	god_close(&god);
	int at = 0;
	json_t *ev = next_event(&at, "process-exited");
	CHECK(ev && int_of(ev, "process.pid") == old_god);
	ev = next_event(&at, "pm2-daemon-down");
	CHECK(ev != NULL);
	CHECK_STR(str_of(ev, "log.level"), "critical");
	CHECK(json_is_false(amx_event_get(ev, "amexbpf.intentional")));
	CHECK(count_events("dump-invalid") == 0);
	ev = next_event(&at, "recovery-started");
	CHECK(ev && int_of(ev, "amexbpf.tier") == 2);
	CHECK(n_cmds == 1 && !strcmp(cmds[0].line, "resurrect"));
	CHECK(wait_gone(orphan)); /* stopped before tier 2: it held the app's port */
	orphan_exit.ppid = (uint32_t)getpid(); /* re-parented to us, the subreaper */
	push_kernel_event(orphan_exit);
	ev = next_event(&at, "process-exited");
	CHECK(ev && int_of(ev, "process.pid") == orphan);
	start_pm2(ONE_APP, 1);
	finish_cmd(0, 0, NULL);
	CHECK(E.homes[0].god_pid == god.pid);
	ev = next_event(&at, "recovery-succeeded");
	CHECK(ev && int_of(ev, "amexbpf.pm2.daemon_pid") == god.pid);
	CHECK(count_events("dump-restored") == 0);
	CHECK(E.homes[0].apps[0].pid > 0 && E.homes[0].apps[0].pol.state == AMX_APP_ALIVE);
	engine_down();
}

/* God killed after dump.pm2 was wiped: dump-invalid, and tier 2 puts the good copy back
 * before pm2 resurrect. */
TEST(god_killed_with_an_invalid_dump)
{
	CHECK(engine_up(ONE_APP, 1, 300, 5));
	char path[4400];
	snprintf(path, sizeof(path), "%s/dump.pm2", home);
	write_file(path, "%s", "");
	push_kernel_event(kill_and_wait(god.pid));
	god_close(&god);
	int at = 0;
	json_t *ev = next_event(&at, "dump-invalid");
	CHECK(ev != NULL);
	CHECK_STR(str_of(ev, "amexbpf.dump.problem"), "empty");
	ev = next_event(&at, "pm2-daemon-down");
	CHECK(ev != NULL);
	ev = next_event(&at, "recovery-started");
	CHECK(ev && int_of(ev, "amexbpf.tier") == 2);
	ev = next_event(&at, "dump-restored");
	CHECK(ev && int_of(ev, "amexbpf.dump.apps") == 1);
	CHECK(n_cmds == 1 && !strcmp(cmds[0].line, "resurrect"));
	struct stat st;
	CHECK(stat(path, &st) == 0 && st.st_size > 0); /* put back before the command ran */
	engine_down();
}

/* An app that PM2 gives up on, and that no restart brings back: attempts until the budget
 * is spent, then recovery-parked. */
TEST(crash_loop_ends_parked)
{
	CHECK(engine_up(ONE_APP, 1, 300, 2));
	CHECK(app_dies_and_pm2_says("errored"));
	CHECK(count_events("app-errored") == 1);
	for (int round = 0; round < 4 && count_events("recovery-parked") == 0; round++) {
		/* each attempt: pm2 restart succeeds, but no live pid follows */
		int last = n_cmds - 1;
		if (!strcmp(cmds[last].line, "restart api") && !cmds[last].finished)
			finish_cmd(last, 0, NULL);
		advance(15000); /* verify_ms: no pid, recovery-failed */
		advance(60000); /* any backoff */
	}
	CHECK(count_cmds("restart api") == 2);
	CHECK(count_events("recovery-started") == 2);
	CHECK(count_events("recovery-failed") >= 2);
	int at = 0;
	json_t *ev = next_event(&at, "recovery-parked");
	CHECK(ev != NULL);
	CHECK(int_of(ev, "amexbpf.budget.attempts") == 2);
	CHECK(E.homes[0].apps[0].pol.state == AMX_APP_PARKED);
	/* The notice that tier 3 was skipped: recovery-failed at warn, the rule's exception. */
	at = 0;
	bool skipped = false;
	while ((ev = next_event(&at, "recovery-failed")))
		if (int_of(ev, "amexbpf.tier") == 3)
			skipped = !strcmp(str_of(ev, "log.level"), "warn");
	CHECK(skipped);
	engine_down();
}

/* SIGHUP: new options applied (a config-reloaded event); an invalid config changes nothing. */
TEST(reload_applies_new_options_or_keeps_the_old)
{
	CHECK(engine_up(ONE_APP, 1, 300, 5));
	rebuild_rc = 0;
	rebuild_manual_grace_s = 5;
	eng_reload_config(&E);
	int at = 0;
	json_t *ev = next_event(&at, "config-reloaded");
	CHECK(ev != NULL);
	CHECK_STR(str_of(ev, "log.level"), "info");
	CHECK(E.cfg.manual_grace_ms == 5000);
	rebuild_rc = AMX_EXIT_CONFIG;
	eng_reload_config(&E);
	ev = next_event(&at, "config-invalid");
	CHECK(ev != NULL);
	CHECK_STR(str_of(ev, "event.reason"), "line 3: unknown key");
	CHECK(E.cfg.manual_grace_ms == 5000);
	/* The new manual grace is the one a stop gets. */
	CHECK(app_dies_and_pm2_says("stopped"));
	advance(5000);
	CHECK(count_cmds("restart api") == 1);
	CHECK(E.homes[0].god_pid == god.pid); /* the re-scan kept what runs */
	engine_down();
}

/* Every event the engine wrote went to the events file too, in sequence. */
TEST(events_file_has_every_event_in_sequence)
{
	CHECK(engine_up(ONE_APP, 1, 300, 5));
	push_kernel_event(kill_and_wait(E.homes[0].apps[0].pid));
	advance(2000);
	int written = n_seen;
	FILE *f = fopen(events, "r");
	CHECK(f != NULL);
	char line[8192];
	int n = 0;
	while (f && fgets(line, sizeof(line), f)) {
		json_t *ev = json_loads(line, 0, NULL);
		CHECK(ev && json_integer_value(amx_event_get(ev, "event.sequence")) == n + 1);
		json_decref(ev);
		n++;
	}
	if (f)
		fclose(f);
	CHECK(n == written);
	engine_down();
}

/* ---------------------------------------------------------------- tenants (issue 14) */

static const char *const GOOD_DUMP_WEB =
	"[{\"name\":\"web\",\"status\":\"online\",\"pm_exec_path\":\"/srv/web.js\"}]";

/* A discovered home whose dump.pm2 is garbage and has no good copy (never had one, or
 * only of [], which is no good copy): reported (home-skipped) and left out; the others are
 * watched. */
TEST(a_discovered_home_with_a_bad_dump_is_skipped_not_fatal)
{
	CHECK(make_dir());
	extra_homes[0] = make_home("garbage", "{{{ not json", 0);
	n_extra_homes = 1;
	homes_discovered = true;
	CHECK(engine_up(ONE_APP, 1, 300, 5));
	CHECK(setup_rc == 0);
	CHECK(E.n_homes == 1 && !strcmp(E.homes[0].path, home));
	CHECK(E.homes[0].apps[0].pol.state == AMX_APP_ALIVE);
	int at = 0;
	CHECK(next_event(&at, "monitor-started") != NULL);
	json_t *ev = next_event(&at, "home-skipped");
	CHECK(ev && !strcmp(str_of(ev, "amexbpf.pm2.home"), extra_homes[0]));
	CHECK(strstr(str_of(ev, "event.reason"), "no good copy") != NULL);
	CHECK_STR(str_of(ev, "user.name"), "root");
	engine_down();
	/* Named by the operator, the same home stops the start-up (65). */
	CHECK(make_dir());
	extra_homes[0] = make_home("garbage", "{{{ not json", 0);
	n_extra_homes = 1;
	CHECK(!engine_up(ONE_APP, 1, 300, 5));
	CHECK(setup_rc == AMX_EXIT_BAD_DUMP);
	engine_down();
}

/* The pm2 self-test failing for one owner (who can kill their own self-test child) leaves
 * that owner's discovered homes out, and only theirs. */
TEST(a_failing_self_test_of_one_owner_skips_only_that_owner)
{
	CHECK(make_dir());
	extra_homes[0] = make_home("nobody-home", GOOD_DUMP_WEB, 65534);
	CHECK(extra_homes[0] != NULL);
	n_extra_homes = 1;
	homes_discovered = with_selftest = true;
	CHECK(engine_up(ONE_APP, 1, 300, 5));
	CHECK(setup_rc == 0);
	CHECK(E.n_homes == 1 && !strcmp(E.homes[0].path, home));
	int at = 0;
	json_t *ev = next_event(&at, "home-skipped");
	CHECK(ev && !strcmp(str_of(ev, "amexbpf.pm2.home"), extra_homes[0]));
	CHECK(strstr(str_of(ev, "event.reason"), "cannot run node") != NULL);
	CHECK(E.homes[0].apps[0].pol.state == AMX_APP_ALIVE);
	engine_down();
	/* A home named by the operator: fatal, as before. */
	CHECK(make_dir());
	extra_homes[0] = make_home("nobody-home", GOOD_DUMP_WEB, 65534);
	n_extra_homes = 1;
	with_selftest = true;
	CHECK(!engine_up(ONE_APP, 1, 300, 5));
	CHECK(setup_rc == AMX_EXIT_NO_INPUT);
	engine_down();
}

/* A hanging pm2 command of home hi (as a flood of `pm2 restart`s leaves them); its index,
 * or -1 when refused. */
static int hang_command(int hi)
{
	static const struct amx_argv hang = { .v = { "/usr/bin/pm2", "restart", "hang", NULL },
					      .n = 3 };
	char err[256];
	return eng_start_command(&E, hi, -1, 1, 1, &hang, err, sizeof(err));
}

/* Home B floods the command table: it gets its quota, no more, and A's recovery runs as
 * if B were quiet. */
TEST(one_home_cannot_take_the_command_slots_of_another)
{
	CHECK(make_dir());
	extra_homes[0] = make_home("flooder", GOOD_DUMP_WEB, 0);
	n_extra_homes = 1;
	CHECK(engine_up(ONE_APP, 1, 60, 5));
	CHECK(E.n_homes == 2);
	int taken = 0; /* with its own pm2 resurrect (its daemon is down), if any */
	for (int i = 0; i < AMX_ENGINE_COMMANDS; i++)
		taken += E.cmds[i].used && E.cmds[i].home == 1;
	for (int i = 0; i < 2 * AMX_ENGINE_COMMANDS; i++)
		taken += hang_command(1) >= 0;
	CHECK(taken == AMX_HOME_COMMANDS);
	int first = n_cmds;
	CHECK(app_dies_and_pm2_says("errored"));
	CHECK(n_cmds == first + 2 && !strcmp(cmds[first + 1].line, "restart api"));
	CHECK(count_events("recovery-failed") == 0);
	CHECK(count_events("recovery-deferred") == 0);
	engine_down();
}

/* A home whose own slots are all taken: its tier waits for a slot, is said once, never
 * charged to the budget, and says recovery-started only when it runs. */
TEST(no_command_slot_defers_without_charging_the_budget)
{
	CHECK(engine_up(ONE_APP, 1, 60, 2));
	for (int i = 0; i < AMX_HOME_COMMANDS; i++)
		CHECK(hang_command(0) >= 0);
	CHECK(hang_command(0) < 0);
	int hung = n_cmds;
	push_kernel_event(kill_and_wait(E.homes[0].apps[0].pid));
	for (int i = 0; i < 10; i++)
		advance(2000); /* the jlist cannot start: unknown, tier 1, no slot, and again */
	const struct amx_app *a = &E.homes[0].apps[0];
	CHECK(n_cmds == hung);
	CHECK(count_events("recovery-deferred") == 1);
	CHECK(count_events("recovery-started") == 0); /* nothing ran */
	CHECK(count_events("recovery-failed") == 0);
	CHECK(count_events("recovery-parked") == 0);
	CHECK(a->pol.budget.n == 0);
	int at = 0;
	json_t *ev = next_event(&at, "recovery-deferred");
	CHECK(ev && int_of(ev, "amexbpf.tier") == 1);
	CHECK_STR(str_of(ev, "amexbpf.pm2.app"), "api");
	finish_cmd(0, 1, NULL); /* one hanging command ends */
	advance(AMX_DEFER_RETRY_MS);
	CHECK(count_cmds("restart api") == 1);
	CHECK(count_events("recovery-started") == 1);
	CHECK(count_events("recovery-deferred") == 1);
	ev = next_event(&at, "recovery-started");
	CHECK(ev && int_of(ev, "amexbpf.attempt") == 1 && int_of(ev, "amexbpf.backoff_ms") == 0);
	CHECK(int_of(ev, "amexbpf.deferred_ms") >= 18000); /* since its first try */
	CHECK(a->pol.budget.n == 1 && a->pol.state == AMX_APP_RECOVERING);
	engine_down();
}

static const char *const TWELVE[] = { "a0", "a1", "a2", "a3", "a4", "a5",
				      "a6", "a7", "a8", "a9", "a10", "a11" };

/* The index in TWELVE of the app an event names, or -1. */
static int twelve_of(json_t *ev)
{
	for (int k = 0; k < 12; k++)
		if (!strcmp(str_of(ev, "amexbpf.pm2.app"), TWELVE[k]))
			return k;
	return -1;
}

/* Twelve apps of one home die at once and PM2 cannot say how they stand: tier 1 for each,
 * but a home runs 8 commands at most. The 8 that run say recovery-started, and only they;
 * each of the other 4 says recovery-deferred, naming itself, once; none is charged; each
 * starts (and only then says recovery-started) when a slot is free. */
TEST(twelve_apps_over_the_quota_start_eight_and_defer_four_by_name)
{
	CHECK(engine_up(TWELVE, 12, 60, 5));
	for (int k = 0; k < 12; k++)
		push_kernel_event(kill_and_wait(E.homes[0].apps[k].pid));
	advance(2000); /* PM2's grace is over: one jlist for all twelve */
	CHECK(n_cmds == 1 && !strcmp(cmds[0].line, "jlist"));
	finish_cmd(0, 1, NULL); /* it fails: tier 1 for each */
	CHECK(n_cmds == 1 + AMX_HOME_COMMANDS);
	CHECK(count_events("recovery-started") == AMX_HOME_COMMANDS);
	CHECK(count_events("recovery-deferred") == 12 - AMX_HOME_COMMANDS);
	int said[12] = { 0 }, at = 0;
	json_t *ev;
	while ((ev = next_event(&at, "recovery-started"))) {
		int k = twelve_of(ev);
		char line[32];
		snprintf(line, sizeof(line), "restart %s", TWELVE[k < 0 ? 0 : k]);
		CHECK(k >= 0 && !said[k] && count_cmds(line) == 1);
		if (k >= 0)
			said[k]++;
	}
	for (at = 0; (ev = next_event(&at, "recovery-deferred"));) {
		int k = twelve_of(ev);
		CHECK(k >= 0 && !said[k] && int_of(ev, "amexbpf.tier") == 1);
		if (k >= 0) {
			said[k]++;
			CHECK(E.homes[0].apps[k].pol.budget.n == 0);
		}
	}
	for (int k = 0; k < 12; k++)
		CHECK(said[k] == 1);
	advance(AMX_DEFER_RETRY_MS); /* no slot yet: tried again, said nothing */
	CHECK(count_events("recovery-started") == AMX_HOME_COMMANDS);
	CHECK(count_events("recovery-deferred") == 12 - AMX_HOME_COMMANDS);
	for (int i = 1; i <= 12 - AMX_HOME_COMMANDS; i++)
		finish_cmd(i, 0, NULL); /* four restarts end well: four slots */
	advance(AMX_DEFER_RETRY_MS);
	CHECK(count_events("recovery-started") == 12);
	CHECK(count_events("recovery-deferred") == 12 - AMX_HOME_COMMANDS);
	CHECK(count_events("recovery-failed") == 0);
	for (int k = 0; k < 12; k++) {
		char line[32];
		snprintf(line, sizeof(line), "restart %s", TWELVE[k]);
		CHECK(count_cmds(line) == 1 && E.homes[0].apps[k].pol.budget.n == 1);
	}
	engine_down();
}

/* A command names its app by index, and a dump adopted while it runs may reorder the
 * apps: its answer still goes to the app it ran for, not to the app now at that index. */
TEST(a_tier_answer_follows_its_app_through_a_reordered_dump)
{
	static const char *const two[] = { "api", "web" };
	CHECK(engine_up(two, 2, 60, 5));
	CHECK(!strcmp(E.homes[0].apps[1].name, "web"));
	push_kernel_event(kill_and_wait(E.homes[0].apps[1].pid));
	advance(2000);
	int last = n_cmds - 1;
	CHECK(last >= 0 && !strcmp(cmds[last].line, "jlist"));
	char jl[1024];
	jlist_answer(jl, sizeof(jl), "web", "errored", 0);
	finish_cmd(last, 0, jl);
	int tier1 = n_cmds - 1;
	CHECK(!strcmp(cmds[tier1].line, "restart web"));
	/* The owner saves the apps in another order (same pid files) while pm2 restarts web. */
	char path[4400];
	snprintf(path, sizeof(path), "%s/dump.pm2", home);
	write_file(path,
		   "[{\"name\":\"web\",\"status\":\"online\",\"autorestart\":true,"
		   "\"pm_pid_path\":\"%s/pids/web-1.pid\",\"pm_exec_path\":\"/srv/web.js\"},"
		   "{\"name\":\"api\",\"status\":\"online\",\"autorestart\":true,"
		   "\"pm_pid_path\":\"%s/pids/api-0.pid\",\"pm_exec_path\":\"/srv/api.js\"}]",
		   home, home);
	file_event(AMX_FS_DUMP, "dump.pm2");
	for (int i = 0; i < 8; i++)
		advance(1); /* an adoption in parts ends within a few steps */
	CHECK(!strcmp(E.homes[0].apps[0].name, "web") && !strcmp(E.homes[0].apps[1].name, "api"));
	pid_t api_pid = E.homes[0].apps[1].pid;
	finish_cmd(tier1, 0, NULL);
	pid_t fresh = god_fork_app(&god, "web");
	remember_kid(fresh);
	write_pid_file("web", 1, fresh);
	file_event(AMX_FS_PID_FILE, "web-1.pid");
	int at = 0;
	json_t *ev = next_event(&at, "recovery-succeeded");
	CHECK(ev != NULL);
	CHECK_STR(str_of(ev, "service.name"), "web");
	CHECK(E.homes[0].apps[0].pol.state == AMX_APP_ALIVE && E.homes[0].apps[0].running == -1);
	CHECK(E.homes[0].apps[1].pol.state == AMX_APP_ALIVE && E.homes[0].apps[1].pid == api_pid);
	engine_down();
}

/* Tier 2 stops the dead daemon's orphaned apps, but only processes of the home's owner. */
TEST(an_orphan_of_another_owner_is_never_killed)
{
	CHECK(engine_up(ONE_APP, 1, 300, 5));
	pid_t orphan = E.homes[0].apps[0].pid;
	E.homes[0].owner.uid = 65534; /* the app's process (ours, root's) is not the owner's */
	push_kernel_event(kill_and_wait(god.pid));
	god_close(&god);
	CHECK(n_cmds == 1 && !strcmp(cmds[0].line, "resurrect"));
	CHECK(!process_gone(orphan));
	engine_down();
}

/* A dump rewritten with thousands of new app names: one look at the daemon's children for
 * the whole event, not one (a walk of /proc) per name, and the loop is back soon. */
TEST(many_new_app_names_cost_one_look_at_the_children)
{
	CHECK(engine_up(ONE_APP, 1, 300, 5));
	enum { NAMES = 4096 };
	size_t cap = (size_t)NAMES * 128 + 64, len = 0;
	char *body = malloc(cap), path[4400];
	CHECK(body != NULL);
	len += (size_t)snprintf(body + len, cap - len, "[");
	for (int i = 0; i < NAMES; i++)
		len += (size_t)snprintf(body + len, cap - len,
					"%s{\"name\":\"n%d\",\"status\":\"online\",\"pm_exec_path\":\"/srv/n.js\"}",
					i ? "," : "", i);
	snprintf(body + len, cap - len, "]");
	snprintf(path, sizeof(path), "%s/dump.pm2", home);
	write_file(path, "%s", body);
	free(body);
	unsigned long calls = amx_proc_children_calls;
	uint64_t t0 = amx_boot_ns();
	file_event(AMX_FS_DUMP, "dump.pm2");
	uint64_t ms = (amx_boot_ns() - t0) / 1000000;
	printf("note: a dump of %d new names handled in %llu ms, %lu look(s) at the children\n",
	       NAMES, (unsigned long long)ms, amx_proc_children_calls - calls);
	CHECK(E.homes[0].n_apps == NAMES);
	CHECK(amx_proc_children_calls - calls <= 1);
	CHECK(ms < 1000); /* 3.4 s before, on a quiet host */
	engine_down();
}

/* A home whose dump reads are costly gets at most a tenth of the loop: a rewrite right
 * after a read that took T waits until 9 T later, then is read by the ticker (once, however
 * many rewrites came meanwhile); an app's exit meanwhile goes out at once. */
TEST(costly_dump_reads_are_put_off_to_a_tenth_of_the_loop)
{
	CHECK(engine_up(ONE_APP, 1, 300, 5));
	static const char *const two[] = { "api", "web" };
	clock_step_ms = 5; /* every look at the clock during a read: 5 ms gone */
	write_dump(two, 2);
	uint64_t t0 = now_ms;
	file_event(AMX_FS_DUMP, "dump.pm2");
	uint64_t took = now_ms - t0;
	clock_step_ms = 0;
	CHECK(E.homes[0].n_apps == 2);
	CHECK(took > 0 && E.homes[0].dump_not_before_ms > now_ms);
	CHECK(E.homes[0].dump_not_before_ms <= t0 + 9 * took + 5);
	write_dump(ONE_APP, 1);
	file_event(AMX_FS_DUMP, "dump.pm2");
	file_event(AMX_FS_DUMP, "dump.pm2");
	CHECK(E.homes[0].dump_pending);
	CHECK(E.homes[0].n_apps == 2); /* not read yet */
	push_kernel_event(kill_and_wait(E.homes[0].apps[0].pid));
	CHECK(count_events("process-exited") == 1); /* never held back */
	advance(E.homes[0].dump_not_before_ms - now_ms);
	CHECK(!E.homes[0].dump_pending);
	CHECK(E.homes[0].n_apps == 1); /* read by the ticker */
	engine_down();
}

/* As the daemon runs, with the worker thread: a dump of 4,096 names is read and parsed off
 * the loop, then matched to the apps a part per step, the old apps live meanwhile; an exit
 * handled between two parts is not lost when the new apps go in place. */
TEST(a_dump_is_read_on_the_worker_and_adopted_in_parts)
{
	CHECK(engine_up(ONE_APP, 1, 300, 5));
	pid_t api = E.homes[0].apps[0].pid;
	CHECK(amx_worker_start() == 0);
	E.dump_worker = true;
	enum { NAMES = 4096 };
	size_t cap = (size_t)NAMES * 160 + 8192, len = 0;
	char *body = malloc(cap), path[4400];
	CHECK(body != NULL);
	len += (size_t)snprintf(body, cap, "[{\"name\":\"api\",\"status\":\"online\","
				"\"pm_pid_path\":\"%s/pids/api-0.pid\"}", home);
	for (int i = 1; i < NAMES; i++)
		len += (size_t)snprintf(body + len, cap - len,
					",{\"name\":\"n%d\",\"status\":\"stopped\"}", i);
	snprintf(body + len, cap - len, "]");
	snprintf(path, sizeof(path), "%s/dump.pm2", home);
	write_file(path, "%s", body);
	free(body);
	file_event(AMX_FS_DUMP, "dump.pm2");
	CHECK(E.dump_job.home == 0);  /* on the worker */
	CHECK(E.homes[0].n_apps == 1);
	struct pollfd pfd = { .fd = amx_worker_fd(), .events = POLLIN };
	CHECK(poll(&pfd, 1, 10000) == 1);
	eng_on_dump_done(&E, pfd.fd, POLLIN);
	CHECK(E.dump_job.home == -1);
	CHECK(count_events("dump-changed") == 1);
	CHECK(E.homes[0].n_apps == 1); /* matched at the next steps */
	advance(1);
	CHECK(E.homes[0].sync.active && E.homes[0].sync.next == AMX_HOME_SYNC_STEP);
	CHECK(E.homes[0].n_apps == 1);
	push_kernel_event(kill_and_wait(api)); /* between two parts */
	CHECK(count_events("process-exited") == 1);
	int steps = 1;
	while (E.homes[0].dump_feed_phase && steps < 200) {
		advance(1);
		steps++;
	}
	printf("note: 4,096 names adopted in %d loop steps\n", steps);
	CHECK(steps >= NAMES / AMX_HOME_SYNC_STEP + 1 && steps < 200);
	CHECK(E.homes[0].n_apps == NAMES);
	struct amx_app *a = amx_home_app_by_name(&E.homes[0], "api");
	CHECK(a != NULL && a->pid == 0 && a->inst[0].pid == 0); /* its exit was kept */
	CHECK(a != NULL && a->pol.state != AMX_APP_ALIVE);
	CHECK(count_events("process-exited") == 1);
	amx_worker_stop();
	eng_dump_discard(&E);
	E.dump_worker = false;
	engine_down();
}

/* A flood of dump rewrites (garbage of changing kinds, and good dumps in between): the
 * home's file events stop at the burst, what was held back is counted and said once the
 * bucket refills, and an app's exit still goes out at once. */
TEST(a_flood_of_dump_rewrites_is_rate_limited_per_home)
{
	CHECK(engine_up(ONE_APP, 1, 300, 5));
	static const char *const garbage[] = { "{", "[1,2", "\"x\"", "null", "[{}]" };
	static const char *const two[] = { "api", "web" };
	char path[4400];
	snprintf(path, sizeof(path), "%s/dump.pm2", home);
	enum { REWRITES = 200 };
	for (int i = 0; i < REWRITES; i++) {
		if (i % 2)
			write_file(path, "%s", garbage[(i / 2) % 5]);
		else
			write_dump(two, 1 + (i / 2) % 2);
		file_event(AMX_FS_DUMP, "dump.pm2");
	}
	int said = count_events("dump-invalid") + count_events("dump-changed");
	printf("note: %d dump rewrites, %d events\n", REWRITES, said);
	CHECK(said == AMX_HOME_FILE_EVENTS_BURST);
	CHECK(count_events("events-suppressed") == 0);
	write_dump(ONE_APP, 1);
	file_event(AMX_FS_DUMP, "dump.pm2"); /* one good dump again: api only */
	push_kernel_event(kill_and_wait(E.homes[0].apps[0].pid));
	CHECK(count_events("process-exited") == 1); /* never held back */
	advance(AMX_HOME_FILE_EVENTS_REFILL_MS);
	int at = 0;
	json_t *ev = next_event(&at, "events-suppressed");
	CHECK(ev != NULL);
	CHECK(int_of(ev, "amexbpf.suppressed.count") >= REWRITES - AMX_HOME_FILE_EVENTS_BURST);
	CHECK_STR(str_of(ev, "amexbpf.pm2.home"), home);
	CHECK(count_events("events-suppressed") == 1);
	engine_down();
}

/* The kernel could not watch new children of this home's daemon (its cap per daemon, or a
 * full set): that home is named, said at its rate and re-scanned; nothing is said for the
 * others. */
TEST(unwatched_forks_of_one_daemon_are_that_homes_trouble)
{
	CHECK(make_dir());
	extra_homes[0] = make_home("other", GOOD_DUMP_WEB, 0);
	n_extra_homes = 1;
	CHECK(engine_up(ONE_APP, 1, 300, 5));
	struct amx_event fork_ev = fake_exit_source_event(AMX_EV_FORK, FAKE_PID_BASE + 999, 0, 0);
	fork_ev.ppid = (uint32_t)god.pid;
	fork_ev.exit_code = AMX_FORK_NOT_WATCHED;
	FX.lost.unwatched_forks = 1;
	push_kernel_event(fork_ev);
	advance(10);
	for (int i = 2; i <= 3; i++) { /* two more in the same window: folded */
		FX.lost.unwatched_forks = (uint64_t)i;
		push_kernel_event(fork_ev);
	}
	CHECK(count_events("events-lost") == 0);
	advance(AMX_LOST_FOLD_MS - 10);
	int at = 0;
	json_t *ev = next_event(&at, "events-lost");
	CHECK(ev != NULL);
	CHECK_STR(str_of(ev, "amexbpf.lost.source"), "watched-set");
	CHECK_STR(str_of(ev, "amexbpf.pm2.home"), home);
	CHECK(int_of(ev, "amexbpf.lost.count") == 3);
	CHECK(int_of(ev, "amexbpf.lost.window_ms") == AMX_LOST_FOLD_MS);
	CHECK(next_event(&at, "events-lost") == NULL); /* none for every home */
	engine_down();
}

/* One kernel-side burst of lost ring records read in pieces (1, then 51): every home is
 * re-scanned at once (an app that died unseen is found), and one events-lost with the
 * total goes out when the window from the first piece is over; a later loss is another. */
TEST(a_burst_of_lost_records_is_one_events_lost)
{
	CHECK(engine_up(ONE_APP, 1, 300, 5));
	kill_and_wait(E.homes[0].apps[0].pid); /* its exit record is among the lost */
	FX.lost.overflow = 1;
	eng_on_kernel_ready(&E, -1, 0);
	CHECK(count_events("process-exited") == 1); /* the re-scan did not wait */
	CHECK(count_events("events-lost") == 0);
	advance(10);
	FX.lost.overflow = 52;
	eng_on_kernel_ready(&E, -1, 0);
	advance(AMX_LOST_FOLD_MS - 11);
	CHECK(count_events("events-lost") == 0);
	advance(1);
	int at = 0;
	json_t *ev = next_event(&at, "events-lost");
	CHECK(ev && count_events("events-lost") == 1);
	CHECK_STR(str_of(ev, "amexbpf.lost.source"), "fake");
	CHECK(int_of(ev, "amexbpf.lost.count") == 52);
	CHECK(int_of(ev, "amexbpf.lost.window_ms") == AMX_LOST_FOLD_MS);
	FX.lost.overflow = 60;
	eng_on_kernel_ready(&E, -1, 0);
	advance(AMX_LOST_FOLD_MS);
	ev = next_event(&at, "events-lost");
	CHECK(ev && int_of(ev, "amexbpf.lost.count") == 8);
	CHECK(count_events("events-lost") == 2);
	engine_down();
}

/* An app pid that cannot go in the watched set (full): followed through a pidfd, so its
 * exit is still seen, and said. */
TEST(an_app_left_out_of_the_watched_set_is_followed_by_pidfd)
{
	CHECK(engine_up(ONE_APP, 1, 300, 5));
	push_kernel_event(kill_and_wait(E.homes[0].apps[0].pid));
	FX.watch_rc = -ENOSPC;
	pid_t fresh = god_fork_app(&god, "api");
	remember_kid(fresh);
	write_pid_file("api", 0, fresh);
	file_event(AMX_FS_PID_FILE, "api-0.pid");
	CHECK(E.homes[0].apps[0].pid == fresh && !E.homes[0].apps[0].inst[0].watched);
	int at = 0;
	json_t *ev = next_event(&at, "events-lost");
	CHECK(ev != NULL);
	CHECK_STR(str_of(ev, "amexbpf.lost.source"), "watched-set");
	CHECK_STR(str_of(ev, "amexbpf.pm2.app"), "api");
	kill(fresh, SIGKILL);
	CHECK(wait_gone(fresh));
	for (int i = 0; i < 5 && E.homes[0].apps[0].pid == fresh; i++) {
		amx_loop_wake_at(amx_boot_ms() + 100); /* never blocks for long */
		amx_loop_run_once();
	}
	at = 0;
	json_t *exit_ev = NULL;
	while ((ev = next_event(&at, "process-exited")))
		if (int_of(ev, "process.pid") == fresh)
			exit_ev = ev;
	CHECK(exit_ev != NULL);
	CHECK(json_is_false(amx_event_get(exit_ev, "amexbpf.exit_seen")));
	FX.watch_rc = 0;
	engine_down();
}

static bool booted_by_systemd(void)
{
	return true;
}

/* Where systemd is the init, tier 2 asks `systemctl is-active` first, as a command like the
 * others (never on the loop): its recovery-started and its run wait for the answer, which
 * picks the command (the unit restarted when active). */
TEST(systemctl_is_active_is_a_command_not_a_wait)
{
	CHECK(engine_up(ONE_APP, 1, 300, 5));
	E.systemd_booted = booted_by_systemd;
	push_kernel_event(kill_and_wait(god.pid));
	god_close(&god);
	CHECK(n_cmds == 1 && !strcmp(cmds[0].line, "is-active pm2-root.service"));
	CHECK(count_events("recovery-started") == 0);
	advance(1000); /* the loop goes on meanwhile */
	CHECK(n_cmds == 1);
	finish_cmd(0, 0, NULL); /* active */
	CHECK(n_cmds == 2 && !strcmp(cmds[1].line, "restart pm2-root.service"));
	int at = 0;
	json_t *ev = next_event(&at, "recovery-started");
	CHECK(ev && int_of(ev, "amexbpf.tier") == 2);
	CHECK_STR(json_string_value(json_array_get(amx_event_get(ev, "amexbpf.command"), 1)),
		  "restart");
	/* Its deadline is its own: a hanging systemctl is cut after 5 s, as inactive. */
	finish_cmd(1, 1, NULL);
	advance(120000); /* the next attempt, after its backoff */
	int q = n_cmds - 1;
	CHECK(q >= 2 && !strcmp(cmds[q].line, "is-active pm2-root.service"));
	advance(AMX_UNIT_QUERY_TIMEOUT_MS);
	advance(1);
	CHECK(n_cmds == q + 2 && !strncmp(cmds[q + 1].line, "--quiet --collect", 17));
	engine_down();
}

/* The OOM blast radius (issue 15): systemd is asked, as a command, what the home's unit
 * does on an OOM kill; OOMPolicy=stop warns with the drop-in. After an OOM kill, another
 * app's exit is marked collateral of it; past the window, it is not. */
static const char *const TWO_APPS[] = { "api", "web" };

TEST(oom_policy_stop_warns_and_later_exits_are_collateral)
{
	CHECK(engine_up(TWO_APPS, 2, 300, 5));
	E.systemd_booted = booted_by_systemd;
	eng_ask_oom_policy(&E, 0);
	CHECK(n_cmds == 1 && !strcmp(cmds[0].line, "show -p LoadState -p OOMPolicy pm2-root.service"));
	eng_ask_oom_policy(&E, 0); /* asked once */
	CHECK(n_cmds == 1);
	finish_cmd(0, 0, "OOMPolicy=stop\nLoadState=loaded\n");
	int at = 0;
	json_t *ev = next_event(&at, "pm2-unit-oom-policy");
	CHECK(ev != NULL);
	CHECK_STR(str_of(ev, "amexbpf.systemd.oom_policy"), "stop");
	CHECK_STR(str_of(ev, "amexbpf.systemd.dropin"),
		  "/etc/systemd/system/pm2-root.service.d/oom-policy.conf");
	eng_ask_oom_policy(&E, 0); /* known now: never asked again */
	CHECK(n_cmds == 1);

	pid_t victim = E.homes[0].apps[0].pid, other = E.homes[0].apps[1].pid;
	struct amx_event oom = { .type = AMX_EV_OOM, .pid = (uint32_t)victim };
	push_kernel_event(oom);
	push_kernel_event(kill_and_wait(victim));
	now_ms += 2000;
	push_kernel_event(kill_and_wait(other));
	at = 0;
	json_t *first = next_event(&at, "process-exited");
	json_t *second = next_event(&at, "process-exited");
	CHECK(first && second);
	CHECK(first && !amx_event_get(first, "amexbpf.collateral"));
	CHECK(second && json_is_true(amx_event_get(second, "amexbpf.collateral")));
	CHECK(second && int_of(second, "amexbpf.collateral_of.pid") == victim);
	CHECK(second && !strcmp(str_of(second, "amexbpf.collateral_of.app"), "api"));
	engine_down();
}

TEST(exits_long_after_an_oom_kill_are_not_collateral)
{
	CHECK(engine_up(TWO_APPS, 2, 300, 5));
	pid_t victim = E.homes[0].apps[0].pid, other = E.homes[0].apps[1].pid;
	struct amx_event oom = { .type = AMX_EV_OOM, .pid = (uint32_t)victim };
	push_kernel_event(oom);
	push_kernel_event(kill_and_wait(victim));
	now_ms += AMX_OOM_COLLATERAL_MS + 1;
	push_kernel_event(kill_and_wait(other));
	int at = 0;
	json_t *ev;
	while ((ev = next_event(&at, "process-exited")))
		CHECK(!amx_event_get(ev, "amexbpf.collateral"));
	engine_down();
}

/* ---------------------------------------------------------------- drift (drift.c) */

/* An nvm-like install the God daemon runs from, in a directory only root can change (beside
 * this program: /tmp is anyone's, and an unsafe pm2 is never learned):
 * D/bin/node (a copy of this program), D/bin/pm2 -> ../lib/node_modules/pm2/bin/pm2 and its
 * package.json of version v. */
static char tools_dir[4200];

static bool copy_file(const char *from, const char *to, mode_t mode)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	char buf[65536];
	ssize_t n = 0;
	bool ok = in >= 0 && out >= 0;
	while (ok && (n = read(in, buf, sizeof(buf))) > 0)
		ok = write(out, buf, (size_t)n) == n;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return ok && n == 0;
}

/* A pm2 of version v: a new bin/pm2 file (a new inode, as npm installs one) and its
 * package.json. */
static bool install_pm2(const char *v)
{
	char f[4400], tmp[4500];
	snprintf(f, sizeof(f), "%s/lib/node_modules/pm2/bin/pm2", tools_dir);
	snprintf(tmp, sizeof(tmp), "%s.new", f);
	if (!copy_file("/bin/true", tmp, 0755) || rename(tmp, f) < 0)
		return false;
	snprintf(f, sizeof(f), "%s/lib/node_modules/pm2/package.json", tools_dir);
	write_file(f, "{\"name\":\"pm2\",\"version\":\"%s\"}", v);
	return true;
}

static bool make_tools(void)
{
	char self[4096], d[4400];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return false;
	self[n] = '\0';
	snprintf(tools_dir, sizeof(tools_dir), "%.*s/amx-drift.XXXXXX",
		 (int)(strrchr(self, '/') - self), self);
	if (!mkdtemp(tools_dir) || chmod(tools_dir, 0755) < 0)
		return false;
	const char *dirs[] = { "bin", "lib", "lib/node_modules", "lib/node_modules/pm2",
			       "lib/node_modules/pm2/bin" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(d, sizeof(d), "%s/%s", tools_dir, dirs[i]);
		if (mkdir(d, 0755) < 0)
			return false;
	}
	snprintf(d, sizeof(d), "%s/bin/node", tools_dir);
	if (!copy_file(self, d, 0755))
		return false;
	static char node[4400];
	snprintf(node, sizeof(node), "%s", d);
	god_binary = node;
	snprintf(d, sizeof(d), "%s/bin/pm2", tools_dir);
	return symlink("../lib/node_modules/pm2/bin/pm2", d) == 0 && install_pm2("7.0.4");
}

static void remove_tools(void)
{
	god_binary = "/proc/self/exe";
	if (tools_dir[0] && nftw(tools_dir, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
		printf("note: could not remove %s\n", tools_dir);
	tools_dir[0] = '\0';
}

/* The periodic check on the fake clock: interval ms later. */
static void drift_tick(uint64_t ms)
{
	now_ms += ms;
	eng_tick_drift(&E, now_ms);
}

/* PM2 upgraded, then Node deleted, under the running daemon: each found by the periodic
 * check within one interval, each said once. */
TEST(drift_under_a_running_daemon_is_found_by_the_periodic_check)
{
	char pm2[4400], node[4400];
	CHECK(make_tools());
	CHECK(engine_up(ONE_APP, 1, 300, 5));
	O.drift_interval_s = 1;
	struct amx_home *h = &E.homes[0];
	snprintf(pm2, sizeof(pm2), "%s/bin/pm2", tools_dir);
	snprintf(node, sizeof(node), "%s/bin/node", tools_dir);
	CHECK(h->tools.source == AMX_TOOLS_DAEMON);
	CHECK_STR(h->tools.pm2, pm2);
	CHECK_STR(h->tools.node, node);
	CHECK_STR(h->tools.version, "7.0.4");
	drift_tick(0);
	drift_tick(1000);
	drift_tick(1000);
	CHECK(count_events("pm2-drift") == 0);

	CHECK(install_pm2("7.1.0")); /* npm i -g pm2 under the daemon */
	drift_tick(1000);
	CHECK(count_events("pm2-drift") == 1);
	int at = 0;
	json_t *ev = next_event(&at, "pm2-drift");
	CHECK_STR(str_of(ev, "amexbpf.drift"), "pm2-version");
	CHECK_STR(str_of(ev, "amexbpf.drift_check"), "periodic");
	CHECK_STR(str_of(ev, "amexbpf.pm2.cli_version"), "7.1.0");
	CHECK_STR(str_of(ev, "amexbpf.pm2.daemon_version"), "7.0.4");
	CHECK(int_of(ev, "amexbpf.pm2.daemon_pid") == god.pid);
	drift_tick(1000);
	drift_tick(1000);
	CHECK(count_events("pm2-drift") == 1); /* said once */

	CHECK(unlink(node) == 0); /* n or nvm removed the node it runs on */
	drift_tick(1000);
	CHECK(count_events("pm2-drift") == 2);
	ev = next_event(&at, "pm2-drift");
	CHECK_STR(str_of(ev, "amexbpf.drift"), "node-deleted");
	CHECK_STR(str_of(ev, "amexbpf.pm2.daemon_node"), node);
	CHECK_STR(str_of(ev, "amexbpf.drift_check"), "periodic");
	drift_tick(1000);
	CHECK(count_events("pm2-drift") == 2);
	/* Not due: nothing is looked at between two intervals. */
	CHECK(install_pm2("7.2.0"));
	drift_tick(10);
	CHECK_STR(h->tools.version, "7.1.0");
	engine_down();
	remove_tools();
}

/* --drift-interval 0: looked at only when a daemon appears. */
TEST(drift_interval_zero_never_looks)
{
	CHECK(make_tools());
	CHECK(engine_up(ONE_APP, 1, 300, 5));
	O.drift_interval_s = 0;
	CHECK(install_pm2("7.1.0"));
	drift_tick(0);
	drift_tick(3600 * 1000);
	CHECK(count_events("pm2-drift") == 0);
	CHECK_STR(E.homes[0].tools.version, "7.0.4");
	engine_down();
	remove_tools();
}

/* Many homes due at once: one wake-up looks at AMX_DRIFT_HOMES_PER_WAKE of them, the next
 * at the rest; none is looked at twice meanwhile. */
TEST(drift_checks_a_bounded_number_of_homes_per_wake_up)
{
	char name[32];
	CHECK(make_dir());
	n_extra_homes = AMX_DRIFT_HOMES_PER_WAKE + 2;
	for (int i = 0; i < n_extra_homes; i++) {
		snprintf(name, sizeof(name), "h%d", i);
		extra_homes[i] = make_home(name, "[]", 0);
	}
	CHECK(engine_up(ONE_APP, 1, 300, 5));
	O.drift_interval_s = 60;
	int n = E.n_homes, looked = 0;
	CHECK(n == AMX_DRIFT_HOMES_PER_WAKE + 3);
	for (int i = 0; i < n; i++)
		E.homes[i].drift_due_ms = now_ms; /* all due now */
	E.drift_due_ms = 0;
	drift_tick(0);
	for (int i = 0; i < n; i++)
		looked += E.homes[i].printed;
	CHECK(looked == AMX_DRIFT_HOMES_PER_WAKE);
	CHECK(E.drift_due_ms <= now_ms + 20); /* the rest soon, not an interval later */
	drift_tick(20);
	looked = 0;
	for (int i = 0; i < n; i++) {
		looked += E.homes[i].printed;
		CHECK(E.homes[i].drift_due_ms >= now_ms + 59000); /* each once per interval */
	}
	CHECK(looked == n);
	engine_down();
}

/* Tier 2 under systemd without a pm2-<owner> unit: the transient unit's exact command line
 * (the home's own pm2, its node's directory first on the unit's PATH, PM2_HOME and HOME,
 * nothing else of ours), run as root (systemd-run names the owner); tier 1 runs the same
 * pm2 as the owner with that node. */
TEST(systemd_run_carries_the_homes_pm2_node_and_environment)
{
	char want[8192], pm2[4400], node[4400];
	CHECK(make_tools());
	CHECK(engine_up(ONE_APP, 1, 300, 5));
	snprintf(pm2, sizeof(pm2), "%s/bin/pm2", tools_dir);
	snprintf(node, sizeof(node), "%s/bin/node", tools_dir);
	E.systemd_booted = booted_by_systemd;
	push_kernel_event(kill_and_wait(god.pid));
	god_close(&god);
	CHECK(n_cmds == 1 && !strcmp(cmds[0].line, "is-active pm2-root.service"));
	CHECK(cmds[0].uid == 0);
	finish_cmd(0, 3, NULL); /* inactive: no unit of its own */
	CHECK(n_cmds == 2);
	snprintf(want, sizeof(want),
		 "--quiet --collect --unit=amexbpf-pm2-root --uid=0 --gid=0 "
		 "--setenv=PM2_HOME=%s --setenv=HOME=%s --property=Type=forking "
		 "--property=PIDFile=%s/pm2.pid --setenv=PATH=%s/bin:/usr/local/bin:/usr/bin:/bin "
		 "%s resurrect", home, E.homes[0].owner.home, home, tools_dir, pm2);
	CHECK_STR(cmds[1].line, want);
	CHECK_STR(cmds[1].exe, "/usr/bin/systemd-run");
	CHECK(cmds[1].uid == 0);
	CHECK_STR(cmds[1].node, ""); /* systemd-run needs no node; the unit gets it by PATH */
	engine_down();
	remove_tools();

	CHECK(make_tools());
	CHECK(engine_up(ONE_APP, 1, 0, 5));
	snprintf(pm2, sizeof(pm2), "%s/bin/pm2", tools_dir);
	snprintf(node, sizeof(node), "%s/bin/node", tools_dir);
	CHECK(app_dies_and_pm2_says("stopped"));
	int t1 = n_cmds - 1;
	CHECK(t1 >= 1 && !strcmp(cmds[t1].line, "restart api"));
	CHECK_STR(cmds[t1].exe, pm2);
	CHECK_STR(cmds[t1].node, node);
	CHECK_STR(cmds[t1].pm2_home, home);
	engine_down();
	remove_tools();
}

/* Run the loop (the health checks' tickers, on the real clock) until an event with this
 * action is seen, at most ms. */
static json_t *loop_until(const char *action, int ms)
{
	uint64_t end = amx_boot_ms() + (uint64_t)ms;
	int at = 0;
	json_t *ev;
	while (!(ev = next_event(&at, action)) && amx_boot_ms() < end) {
		at = 0;
		amx_loop_wake_at(amx_boot_ms() + 20);
		amx_loop_run_once();
	}
	return ev;
}

/* [app api] home=H: its probe and its memory limit are for H's api only, not for the first
 * home that has an app of that name. (Last: the health checks stay on the loop.) */
TEST(app_sections_are_keyed_by_home_and_app)
{
	CHECK(make_dir());
	extra_homes[0] = make_home("other", "[{\"name\":\"api\",\"status\":\"stopped\"}]", 0);
	n_extra_homes = 1;
	CHECK(engine_up(ONE_APP, 1, 300, 5));
	CHECK(E.n_homes == 2 && E.homes[0].apps[0].pol.state == AMX_APP_ALIVE);
	/* For the other home's api (stopped there): never probed, never over its limit,
	 * though this home's api of the same name runs. */
	O.apps[0] = (struct amx_app_conf){ .name = "api", .home = extra_homes[0],
					   .memory_limit_bytes = 1, .probe_url = "http://127.0.0.1:9/",
					   .manual_grace_s = -1 };
	O.n_apps = 1;
	O.probe_interval_s = 0.1;
	O.probe_timeout_s = 1;
	O.probe_failures = 1;
	char err[256];
	CHECK(eng_start_health_checks(&E, err, sizeof(err)) == 0);
	CHECK(loop_until("probe-failed", 1000) == NULL);
	CHECK(count_events("memory-over-limit") == 0);
	/* The limit made this home's: over at the next look (250 ms). */
	O.apps[0].home = home;
	json_t *ev = loop_until("memory-over-limit", 3000);
	CHECK(ev != NULL);
	CHECK_STR(str_of(ev, "amexbpf.pm2.home"), home);
	/* The probe made this home's (probes are set up at start): it fails for this api. */
	E.homes[0].apps[0].pol.state = AMX_APP_ALIVE; /* as if its restart were verified */
	O.apps[0].memory_limit_bytes = 0;
	CHECK(eng_start_health_checks(&E, err, sizeof(err)) == 0);
	ev = loop_until("probe-failed", 3000);
	CHECK(ev != NULL);
	CHECK_STR(str_of(ev, "amexbpf.pm2.home"), home);
	engine_down();
}

/* ---------------------------------------------------------------- port conflicts */

/* A TCP socket listening on 127.0.0.1 (any port); its port in *port. */
static int listen_any(uint16_t *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 1) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	*port = ntohs(a.sin_port);
	return fd;
}

/* The app dies with status 1 after Node's EADDRINUSE line for port in its error log. */
static void app_dies_on_port(uint16_t port)
{
	char logs[400], log[500];
	snprintf(logs, sizeof(logs), "%s/logs", home);
	mkdir(logs, 0755);
	snprintf(log, sizeof(log), "%s/api-error.log", logs);
	write_file(log, "Error: listen EADDRINUSE: address already in use 127.0.0.1:%u\n"
			"    at Server.setupListenHandle [as _listen2] (node:net:1908:16)\n", port);
	pid_t pid = E.homes[0].apps[0].pid;
	struct amx_event ev = sigkill_event(pid);
	ev.exit_code = 1 << 8;
	kill(pid, SIGKILL);
	wait_gone(pid);
	push_kernel_event(ev);
}

/* Another process (this test, without PM2's environment) holds the port: port-conflict
 * names it, recovery parks with that reason and runs nothing, not even a status query;
 * once the port is free, tier 1 runs at the next look. */
TEST(port_held_by_another_process_parks)
{
	CHECK(engine_up(ONE_APP, 1, 300, 5));
	uint16_t port = 0;
	int fd = listen_any(&port);
	CHECK(fd >= 0);
	app_dies_on_port(port);
	int at = 0;
	json_t *ev = next_event(&at, "port-conflict");
	CHECK(ev != NULL);
	CHECK(int_of(ev, "amexbpf.port") == port);
	CHECK(int_of(ev, "amexbpf.holder.pid") == getpid());
	CHECK(int_of(ev, "amexbpf.holder.uid") == (long long)getuid());
	CHECK(json_is_false(json_object_get(json_object_get(json_object_get(ev, "amexbpf"), "holder"),
					    "orphan")));
	CHECK_STR(str_of(ev, "event.kind"), "alert");
	at = 0;
	ev = next_event(&at, "recovery-parked");
	CHECK(ev != NULL);
	CHECK_STR(str_of(ev, "event.reason"), "port-conflict");
	CHECK(int_of(ev, "amexbpf.port") == port);
	CHECK(E.homes[0].apps[0].pol.state == AMX_APP_PARKED);
	/* One search per home per AMX_CONFLICT_LOOKUP_EVERY_MS: another failed exit at once
	 * is looked at when the home may search again, not now. */
	uint64_t searched = E.homes[0].conflict_lookup_ms;
	CHECK(searched == now_ms);
	CHECK(eng_check_port_conflict(&E, 0, 0));
	CHECK(E.homes[0].conflict_lookup_ms == searched);
	CHECK(E.homes[0].apps[0].conflict_check_ms == searched + AMX_CONFLICT_LOOKUP_EVERY_MS);
	advance(2000); /* past the grace: no pm2 jlist, no tier */
	advance(30000);
	CHECK(n_cmds == 0);
	CHECK(count_events("recovery-started") == 0);
	close(fd);
	advance(AMX_CONFLICT_RECHECK_MS); /* the port looked at again: free */
	CHECK(count_cmds("restart api") == 1);
	CHECK(count_events("recovery-started") == 1);
	CHECK(count_events("port-conflict") == 1 && count_events("recovery-parked") == 1);
	engine_down();
}

/* An orphaned copy of the app holds the port: the owner's, PM2's environment for this app,
 * running the script PM2 gave it from its cwd, and not the God daemon's child. It is
 * stopped; nothing parks. */
TEST(port_held_by_an_orphaned_copy_is_stopped)
{
	CHECK(engine_up(ONE_APP, 1, 300, 5));
	char script[400], env_home[400], env_exec[450], env_cwd[400];
	snprintf(script, sizeof(script), "%s/api.js", dir);
	write_file(script, "const s = require('net').createServer().listen(0, '127.0.0.1', () => "
			   "process.stdout.write(s.address().port + '\\n'));\n");
	snprintf(env_home, sizeof(env_home), "PM2_HOME=%s", home);
	snprintf(env_exec, sizeof(env_exec), "pm_exec_path=%s", script);
	snprintf(env_cwd, sizeof(env_cwd), "pm_cwd=%s", dir);
	int out[2];
	CHECK(pipe(out) == 0);
	pid_t orphan = fork();
	if (orphan == 0) {
		dup2(out[1], 1);
		if (chdir(dir) < 0)
			_exit(126);
		char *const argv[] = { "node", script, NULL };
		char *const envp[] = { "name=api", env_home, env_exec, env_cwd, NULL };
		execve("/usr/bin/node", argv, envp);
		_exit(127);
	}
	remember_kid(orphan);
	close(out[1]);
	char buf[16] = "";
	FILE *f = fdopen(out[0], "r");
	CHECK(f && fgets(buf, sizeof(buf), f));
	if (f)
		fclose(f);
	uint16_t port = (uint16_t)atoi(buf);
	CHECK(port > 0);
	app_dies_on_port(port);
	int at = 0;
	json_t *ev = next_event(&at, "port-conflict");
	CHECK(ev != NULL);
	CHECK(int_of(ev, "amexbpf.holder.pid") == orphan);
	CHECK(json_is_true(json_object_get(json_object_get(json_object_get(ev, "amexbpf"), "holder"),
					   "orphan")));
	CHECK_STR(str_of(ev, "amexbpf.holder.name"), "node");
	CHECK(wait_gone(orphan));
	CHECK(ev && json_is_true(json_object_get(json_object_get(json_object_get(ev, "amexbpf"),
								 "holder"), "stopped")));
	CHECK(count_events("recovery-parked") == 0);
	CHECK(E.homes[0].apps[0].pol.state == AMX_APP_WAIT_PM2); /* PM2's restart goes on */
	engine_down();
}

/* ---------------------------------------------------------------- a cluster app */

static const char *const WEB2[] = { "web", "web" }; /* one app, instances 0 and 1 */

/* The app, looked up each time: a dump read re-builds the home's apps array. */
#define WEB (&E.homes[0].apps[0])

/* Instance k of web forked by the God daemon, its pid file written and seen. */
static pid_t fork_instance(int k)
{
	char line[32], file[32];
	snprintf(line, sizeof(line), "web %d", k);
	pid_t pid = god_fork_app(&god, line);
	remember_kid(pid);
	write_pid_file("web", k, pid);
	snprintf(file, sizeof(file), "web-%d.pid", k);
	file_event(AMX_FS_PID_FILE, file);
	return pid;
}

/* Issue 19: a 2-instance cluster app. One worker killed and restarted by PM2 is that
 * instance's pm2-restarted-app, no tier; God killed: tier 2 succeeds only once both
 * instances are back. */
TEST(cluster_app_worker_and_god_killed)
{
	cluster_apps = true;
	CHECK(engine_up(WEB2, 2, 300, 5));
	CHECK(E.homes[0].n_apps == 1 && WEB->n_inst == 2 && WEB->cluster);
	CHECK(amx_app_instances_alive(WEB) == 2 && WEB->pol.state == AMX_APP_ALIVE);
	CHECK(WEB->inst[0].pm_id == 0 && WEB->inst[1].pm_id == 1);
	pid_t keep = WEB->inst[0].pid, old = WEB->inst[1].pid;

	push_kernel_event(kill_and_wait(old));
	now_ms += 250;
	pid_t fresh = fork_instance(1);
	int at = 0;
	json_t *ev = next_event(&at, "process-exited");
	CHECK(ev && int_of(ev, "process.pid") == old && int_of(ev, "amexbpf.pm2.pm_id") == 1);
	ev = next_event(&at, "pm2-restarted-app");
	CHECK(ev && int_of(ev, "process.pid") == fresh);
	advance(60000);
	CHECK(n_cmds == 0 && count_events("recovery-started") == 0);
	CHECK(WEB->inst[0].pid == keep && WEB->inst[1].pid == fresh && WEB->pol.state == AMX_APP_ALIVE);

	pid_t o0 = WEB->inst[0].pid, o1 = WEB->inst[1].pid;
	struct amx_event x0 = sigkill_event(o0), x1 = sigkill_event(o1);
	push_kernel_event(kill_and_wait(god.pid));
	god_close(&god);
	ev = next_event(&at, "recovery-started");
	CHECK(ev && int_of(ev, "amexbpf.tier") == 2);
	CHECK(n_cmds == 1 && !strcmp(cmds[0].line, "resurrect"));
	CHECK(wait_gone(o0) && wait_gone(o1)); /* both orphans stopped before tier 2 */
	x0.ppid = x1.ppid = (uint32_t)getpid();
	push_kernel_event(x0);
	push_kernel_event(x1);
	CHECK(amx_app_instances_alive(WEB) == 0);
	/* The new daemon with instance 0 only: not yet a success. */
	god = god_start(home);
	remember_kid(god.pid);
	write_god_pid(god.pid);
	fork_instance(0);
	finish_cmd(0, 0, NULL);
	advance(1000);
	CHECK(E.homes[0].god_pid == god.pid && amx_app_instances_alive(WEB) == 1);
	ev = next_event(&at, "recovery-succeeded"); /* the daemon's, not the app's */
	CHECK(ev && str_of(ev, "amexbpf.pm2.app")[0] == '\0');
	CHECK(count_events("recovery-succeeded") == 1);
	fork_instance(1);
	advance(1000);
	ev = next_event(&at, "recovery-succeeded");
	CHECK(ev && !strcmp(str_of(ev, "amexbpf.pm2.app"), "web") && int_of(ev, "amexbpf.tier") == 2);
	CHECK(amx_app_instances_alive(WEB) == 2 && WEB->pol.state == AMX_APP_ALIVE);
	CHECK(count_events("recovery-failed") == 0);
	engine_down();
}

/* `pm2 reload`: each instance's new process starts before its old one is killed, one at a
 * time; one app-reloaded, no process-exited of an old one, no recovery. */
TEST(cluster_app_reload_replaces_instances_one_by_one)
{
	cluster_apps = true;
	CHECK(engine_up(WEB2, 2, 300, 5));
	for (int k = 0; k < 2; k++) {
		pid_t old = WEB->inst[k].pid;
		now_ms += 400;
		pid_t fresh = fork_instance(k);
		CHECK(WEB->inst[k].pid == fresh && WEB->inst[k].replaced_pid == old);
		push_kernel_event(kill_and_wait(old));
	}
	int at = 0;
	json_t *ev = next_event(&at, "app-reloaded");
	CHECK(ev != NULL);
	CHECK(json_is_true(amx_event_get(ev, "amexbpf.reload.kept_running")));
	CHECK(int_of(ev, "amexbpf.pm2.instances") == 2);
	CHECK(int_of(ev, "event.duration") == 400LL * 1000000);
	advance(60000);
	CHECK(count_events("process-exited") == 0 && count_events("recovery-started") == 0);
	CHECK(n_cmds == 0 && amx_app_instances_alive(WEB) == 2 && WEB->pol.state == AMX_APP_ALIVE);
	engine_down();
}

/* A dump is its owner's to write: one app named by 4,095 entries keeps AMX_INSTANCES_MAX
 * instances, the others are left out; the running app keeps its one inline instance, and
 * a dump that shrinks the big app back gives its heap array back (ASan/valgrind see it). */
TEST(instances_of_one_app_are_capped)
{
	CHECK(engine_up(ONE_APP, 1, 300, 5));
	enum { ENTRIES = AMX_DUMP_MAX_APPS - 1 }; /* with api: the most a dump may hold */
	size_t cap = (size_t)ENTRIES * 160 + 256, len = 0;
	char *body = malloc(cap), path[4400];
	CHECK(body != NULL);
	len += (size_t)snprintf(body + len, cap - len, "[{\"name\":\"api\",\"status\":\"online\","
				"\"pm_pid_path\":\"%s/pids/api-0.pid\",\"pm_exec_path\":\"/srv/api.js\"}",
				home);
	for (int i = 0; i < ENTRIES; i++)
		len += (size_t)snprintf(body + len, cap - len,
					",{\"name\":\"big\",\"status\":\"online\",\"NODE_APP_INSTANCE\":%d,"
					"\"exec_mode\":\"cluster_mode\",\"pm_exec_path\":\"/srv/b.js\"}", i);
	snprintf(body + len, cap - len, "]");
	snprintf(path, sizeof(path), "%s/dump.pm2", home);
	write_file(path, "%s", body);
	free(body);
	pid_t api = E.homes[0].apps[0].pid;
	file_event(AMX_FS_DUMP, "dump.pm2");
	const struct amx_home *h = &E.homes[0];
	CHECK(h->n_apps == 2);
	if (h->n_apps != 2) {
		engine_down();
		return;
	}
	CHECK(h->apps[0].n_inst == 1 && h->apps[0].inst == &h->apps[0].inst_one);
	CHECK(h->apps[0].pid == api);
	CHECK(h->apps[1].n_inst == AMX_INSTANCES_MAX && h->apps[1].inst_cap == AMX_INSTANCES_MAX);
	CHECK(h->apps[1].inst[AMX_INSTANCES_MAX - 1].node_app_instance == AMX_INSTANCES_MAX - 1);
	write_dump(ONE_APP, 1);
	file_event(AMX_FS_DUMP, "dump.pm2");
	CHECK(E.homes[0].n_apps == 1 && E.homes[0].apps[0].pid == api);
	engine_down();
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	const char *god_home = getenv(GOD_ENV);
	if (god_home)
		return fake_god_main(god_home);
	/* Orphaned apps come back to us, and every child is reaped by the kernel. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	signal(SIGCHLD, SIG_IGN);
	srandom(1);
	amx_loop_init();
	amx_loop_subscribe(capture, NULL);
	RUN(start_up_watches_the_god_daemon_and_the_app);
	RUN(app_killed_and_restarted_by_pm2);
	RUN(pm2_restart_of_a_listening_app_waits_for_its_port);
	RUN(a_closed_port_is_wanted_only_when_closed_just_before_the_death);
	RUN(pm2_stop_within_the_manual_grace);
	RUN(pm2_stop_past_the_manual_grace);
	RUN(god_killed_with_a_valid_dump);
	RUN(god_killed_with_an_invalid_dump);
	RUN(crash_loop_ends_parked);
	RUN(reload_applies_new_options_or_keeps_the_old);
	RUN(events_file_has_every_event_in_sequence);
	RUN(a_discovered_home_with_a_bad_dump_is_skipped_not_fatal);
	RUN(a_failing_self_test_of_one_owner_skips_only_that_owner);
	RUN(one_home_cannot_take_the_command_slots_of_another);
	RUN(no_command_slot_defers_without_charging_the_budget);
	RUN(twelve_apps_over_the_quota_start_eight_and_defer_four_by_name);
	RUN(a_tier_answer_follows_its_app_through_a_reordered_dump);
	RUN(an_orphan_of_another_owner_is_never_killed);
	RUN(many_new_app_names_cost_one_look_at_the_children);
	RUN(costly_dump_reads_are_put_off_to_a_tenth_of_the_loop);
	RUN(a_dump_is_read_on_the_worker_and_adopted_in_parts);
	RUN(a_flood_of_dump_rewrites_is_rate_limited_per_home);
	RUN(unwatched_forks_of_one_daemon_are_that_homes_trouble);
	RUN(a_burst_of_lost_records_is_one_events_lost);
	RUN(an_app_left_out_of_the_watched_set_is_followed_by_pidfd);
	RUN(systemctl_is_active_is_a_command_not_a_wait);
	RUN(oom_policy_stop_warns_and_later_exits_are_collateral);
	RUN(exits_long_after_an_oom_kill_are_not_collateral);
	RUN(port_held_by_another_process_parks);
	RUN(port_held_by_an_orphaned_copy_is_stopped);
	RUN(drift_under_a_running_daemon_is_found_by_the_periodic_check);
	RUN(drift_interval_zero_never_looks);
	RUN(drift_checks_a_bounded_number_of_homes_per_wake_up);
	RUN(systemd_run_carries_the_homes_pm2_node_and_environment);
	RUN(instances_of_one_app_are_capped);
	RUN(cluster_app_worker_and_god_killed);
	RUN(cluster_app_reload_replaces_instances_one_by_one);
	RUN(app_sections_are_keyed_by_home_and_app); /* last: it leaves tickers on the loop */
	forget_seen();
	amx_loop_close();
	CHECK_DONE();
}
