/* SPDX-License-Identifier: MIT */
#include "report/metrics.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "report/control_server.h"
#include "core/event.h"
#include "sys/loop.h"
#include "core/options.h"
#include "sys/proc.h"
#include "report/status.h"

#define REFRESH_MS 15000
#define MAX_SERIES 4096

/* A labelled counter: metric name and its rendered label set. */
struct series {
	const char *name;
	char *labels;      /* {a="b",c="d"} */
	double value;
};

struct histogram {
	const char *name, *help;
	const double *bounds;
	size_t n_bounds;
	uint64_t counts[16]; /* per bucket, not cumulative; the last is +Inf */
	double sum;
	uint64_t count;
};

static const double DURATION_BOUNDS[] = { 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120 };
static const double LATENCY_BOUNDS[] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
					 0.05, 0.1, 1 };

static struct {
	char dir[4096];
	int dir_fd;
	struct series s[MAX_SERIES];
	size_t n;
	struct histogram duration, latency;
	bool dirty;
	uint64_t next_ms;
} M;

/* Label values are untrusted (app names, paths up to PATH_MAX): escaped as the exposition
 * format says, and bounded. out holds len bytes; *pos never passes len - 2, which leaves
 * room for the closing '}' and the NUL, and an escape is never cut in half: a value that
 * does not fit is cut, and its closing quote is always written. */
#define LABELS_MAX (2 * 4096 + 2 * 256 + 512)
static void label(char *out, size_t len, size_t *pos, const char *key, const char *val)
{
	size_t klen = strlen(key) + (*pos > 1) + 2;

	/* the key, '="', the closing '"', then '}' and NUL */
	if (*pos + klen + 3 > len)
		return;
	*pos += (size_t)snprintf(out + *pos, len - *pos, "%s%s=\"", *pos > 1 ? "," : "", key);
	for (const char *p = val ? val : ""; *p; p++) {
		bool esc = *p == '\\' || *p == '"' || *p == '\n';
		if (*pos + (esc ? 2 : 1) + 3 > len)
			break;
		if (esc)
			out[(*pos)++] = '\\';
		out[(*pos)++] = *p == '\n' ? 'n' : *p;
	}
	out[(*pos)++] = '"';
	out[*pos] = '\0';
}

/* labels: NULL-terminated key, value pairs. */
static void counter_add(const char *name, double v, const char *const *kv)
{
	char l[LABELS_MAX] = "{";
	size_t pos = 1;
	for (int i = 0; kv && kv[i]; i += 2)
		label(l, sizeof(l), &pos, kv[i], kv[i + 1]);
	l[pos++] = '}';
	l[pos] = '\0';
	if (pos == 2)
		l[0] = '\0';
	for (size_t i = 0; i < M.n; i++)
		if (M.s[i].name == name && !strcmp(M.s[i].labels, l)) {
			M.s[i].value += v;
			return;
		}
	if (M.n == MAX_SERIES)
		return;
	M.s[M.n].name = name;
	M.s[M.n].labels = strdup(l);
	M.s[M.n].value = v;
	if (M.s[M.n].labels)
		M.n++;
}

static void observe(struct histogram *h, double v)
{
	size_t b = 0;
	while (b < h->n_bounds && v > h->bounds[b])
		b++;
	h->counts[b]++;
	h->sum += v;
	h->count++;
}

static const char *str_at(json_t *ev, const char *path)
{
	return json_string_value(amx_event_get(ev, path));
}

static const char M_EXITS[] = "amexbpf_process_exits_total";
static const char M_OOM[] = "amexbpf_oom_kills_total";
static const char M_RECOV[] = "amexbpf_recoveries_total";
static const char M_LOST[] = "amexbpf_events_lost_total";
static const char M_EVENTS[] = "amexbpf_events_total";
static const char M_PROBE[] = "amexbpf_probe_failures_total";
static const char M_CAUSE[] = "amexbpf_process_exit_causes_total";
static const char M_CONFLICT[] = "amexbpf_port_conflicts_total";

/* amexbpf.cause as a label: the fixed set of events.md, anything else "other" (a label is
 * never a value we did not choose), and "unknown" when the event has none. */
static const char *cause_label(const char *cause)
{
	static const char *const known[] = { "exit", "crash", "killed", "oom", "pm2", "amexbpf" };
	if (!cause)
		return "unknown";
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(cause, known[i]))
			return known[i];
	return "other";
}

/* Watched filesystems, as the disk events last reported them (mounts are few and fixed by
 * the configuration: a bounded label). */
#define MAX_MOUNTS 16
static struct {
	char mount[256];
	double used_ratio, threshold_ratio;
	bool over;
} D[MAX_MOUNTS];
static size_t n_mounts;
static double started_s;

static void disk_event(json_t *ev, bool over)
{
	const char *mount = str_at(ev, "amexbpf.disk.mount");
	if (!mount)
		return;
	size_t i = 0;
	while (i < n_mounts && strcmp(D[i].mount, mount) != 0)
		i++;
	if (i == n_mounts) {
		if (n_mounts == MAX_MOUNTS)
			return;
		snprintf(D[n_mounts++].mount, sizeof(D[0].mount), "%s", mount);
	}
	D[i].used_ratio = json_number_value(amx_event_get(ev, "amexbpf.disk.used_pct")) / 100;
	D[i].threshold_ratio = json_number_value(amx_event_get(ev, "amexbpf.disk.threshold_pct")) / 100;
	D[i].over = over;
}

static void on_event(void *ctx, json_t *ev, const char *line)
{
	(void)ctx;
	(void)line;
	const char *action = str_at(ev, "event.action");
	const char *home = str_at(ev, "amexbpf.pm2.home");
	const char *app = str_at(ev, "amexbpf.pm2.app");
	if (!action)
		return;
	M.dirty = true;
	counter_add(M_EVENTS, 1, (const char *[]){ "action", action, NULL });
	json_t *lat = amx_event_get(ev, "amexbpf.detect_latency_us");
	if (json_is_integer(lat))
		observe(&M.latency, (double)json_integer_value(lat) / 1e6);
	if (!strcmp(action, "process-exited")) {
		const char *sig = str_at(ev, "amexbpf.signal");
		int64_t code = json_integer_value(amx_event_get(ev, "process.exit_code"));
		const char *reason = json_is_true(amx_event_get(ev, "amexbpf.oom_killed")) ? "oom"
				     : sig ? sig : code == 0 ? "exit_clean" : "exit_error";
		if (!amx_event_get(ev, "process.exit_code"))
			reason = "unseen";
		counter_add(M_EXITS, 1, (const char *[]){ "home", home, "app", app ? app : "", "reason", reason, NULL });
		counter_add(M_CAUSE, 1, (const char *[]){ "home", home, "app", app ? app : "", "cause",
							   cause_label(str_at(ev, "amexbpf.cause")), NULL });
	} else if (!strcmp(action, "port-conflict")) {
		bool orphan = json_is_true(amx_event_get(ev, "amexbpf.holder.orphan"));
		counter_add(M_CONFLICT, 1, (const char *[]){ "home", home, "app", app ? app : "", "holder",
							      orphan ? "orphan" : "other", NULL });
	} else if (!strcmp(action, "oom-killed")) {
		counter_add(M_OOM, 1, (const char *[]){ "home", home, "app", app, NULL });
	} else if (!strcmp(action, "recovery-succeeded") || !strcmp(action, "recovery-failed")) {
		/* A failed "recovery" of type info says why nothing ran (no ecosystem file, no
		 * app wanting the daemon): not an attempt. */
		json_t *types = amx_event_get(ev, "event.type");
		if (json_array_size(types) && !strcmp(json_string_value(json_array_get(types, 0)) ?: "", "info"))
			return;
		char tier[8];
		snprintf(tier, sizeof(tier), "%lld", (long long)json_integer_value(amx_event_get(ev, "amexbpf.tier")));
		bool ok = action[9] == 's';
		counter_add(M_RECOV, 1, (const char *[]){ "home", home, "app", app ? app : "", "tier", tier,
							   "outcome", ok ? "success" : "failure", NULL });
		json_t *d = amx_event_get(ev, "event.duration");
		if (ok && json_is_integer(d))
			observe(&M.duration, (double)json_integer_value(d) / 1e9);
	} else if (!strcmp(action, "probe-failed")) {
		counter_add(M_PROBE, 1, (const char *[]){ "home", home, "app", app ? app : "", NULL });
	} else if (!strcmp(action, "disk-over-threshold") || !strcmp(action, "disk-ok")) {
		disk_event(ev, action[5] == 'o' && action[6] == 'v');
	} else if (!strcmp(action, "events-lost")) {
		const char *src = str_at(ev, "amexbpf.lost.source");
		counter_add(M_LOST, (double)json_integer_value(amx_event_get(ev, "amexbpf.lost.count")),
			    (const char *[]){ "source", src ? src : "unknown", NULL });
	}
}

/* ---------------------------------------------------------------- the file */

struct buf {
	char *p;
	size_t len, cap;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct buf *b, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (b->p && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = (b->cap ? b->cap * 2 : 65536) + (size_t)n;
		char *np = realloc(b->p, cap);
		if (!np)
			return;
		b->p = np;
		b->cap = cap;
	}
}

static void put_counters(struct buf *b, const char *name, const char *help)
{
	put(b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	for (size_t i = 0; i < M.n; i++)
		if (M.s[i].name == name)
			put(b, "%s%s %.17g\n", name, M.s[i].labels, M.s[i].value);
}

static void put_histogram(struct buf *b, const struct histogram *h)
{
	put(b, "# HELP %s %s\n# TYPE %s histogram\n", h->name, h->help, h->name);
	uint64_t cum = 0;
	for (size_t i = 0; i < h->n_bounds; i++) {
		cum += h->counts[i];
		put(b, "%s_bucket{le=\"%g\"} %llu\n", h->name, h->bounds[i], (unsigned long long)cum);
	}
	put(b, "%s_bucket{le=\"+Inf\"} %llu\n", h->name, (unsigned long long)h->count);
	put(b, "%s_sum %.9g\n%s_count %llu\n", h->name, h->sum, h->name, (unsigned long long)h->count);
}

static void put_gauge_head(struct buf *b, const char *name, const char *help)
{
	put(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

static void put_labelled(struct buf *b, const char *name, const char *const *kv, double v)
{
	char l[LABELS_MAX] = "{";
	size_t pos = 1;
	for (int i = 0; kv[i]; i += 2)
		label(l, sizeof(l), &pos, kv[i], kv[i + 1]);
	l[pos++] = '}';
	l[pos] = '\0';
	put(b, "%s%s %.17g\n", name, l, v);
}

static void write_file(void)
{
	struct buf b = { 0 };
	struct amx_report_view v;
	amx_status_view(&v);
	put_gauge_head(&b, "amexbpf_build_info", "amexbpf version (always 1)");
	put(&b, "amexbpf_build_info{version=\"%s\"} 1\n", AMX_VERSION);
	put_gauge_head(&b, "amexbpf_start_time_seconds", "when this amexbpf run started, in seconds since the epoch");
	put(&b, "amexbpf_start_time_seconds %.3f\n", started_s);
	put_gauge_head(&b, "amexbpf_pm2_daemon_up", "1 when the PM2 God daemon of the home runs");
	for (int i = 0; i < v.n_homes; i++)
		put_labelled(&b, "amexbpf_pm2_daemon_up", (const char *[]){ "home", v.homes[i].path, NULL },
			     v.homes[i].god_pid ? 1 : 0);
	put_gauge_head(&b, "amexbpf_pm2_daemon_wanted", "1 when some app of the home is saved online (the daemon should run)");
	for (int i = 0; i < v.n_homes; i++)
		put_labelled(&b, "amexbpf_pm2_daemon_wanted", (const char *[]){ "home", v.homes[i].path, NULL },
			     v.homes[i].pol.wants_daemon ? 1 : 0);
	put_gauge_head(&b, "amexbpf_pm2_dump_valid", "1 when the home's dump.pm2 is valid as it is now");
	for (int i = 0; i < v.n_homes; i++)
		put_labelled(&b, "amexbpf_pm2_dump_valid", (const char *[]){ "home", v.homes[i].path, NULL },
			     v.homes[i].dump_valid ? 1 : 0);
	put_gauge_head(&b, "amexbpf_recovery_parked",
		       "1 while recovery is parked (restart budget spent); app=\"\" is the PM2 daemon");
	for (int i = 0; i < v.n_homes; i++) {
		put_labelled(&b, "amexbpf_recovery_parked", (const char *[]){ "home", v.homes[i].path, "app", "", NULL },
			     v.homes[i].pol.state == AMX_HOME_PARKED ? 1 : 0);
		for (size_t j = 0; j < v.homes[i].n_apps; j++)
			put_labelled(&b, "amexbpf_recovery_parked",
				     (const char *[]){ "home", v.homes[i].path, "app", v.homes[i].apps[j].name, NULL },
				     v.homes[i].apps[j].pol.state == AMX_APP_PARKED ? 1 : 0);
	}
	put_gauge_head(&b, "amexbpf_app_desired_online", "1 when dump.pm2 saved the app as running");
	for (int i = 0; i < v.n_homes; i++)
		for (size_t j = 0; j < v.homes[i].n_apps; j++)
			put_labelled(&b, "amexbpf_app_desired_online",
				     (const char *[]){ "home", v.homes[i].path, "app", v.homes[i].apps[j].name, NULL },
				     v.homes[i].apps[j].desired_online ? 1 : 0);
	put_gauge_head(&b, "amexbpf_app_up", "1 when the app has a live process");
	for (int i = 0; i < v.n_homes; i++)
		for (size_t j = 0; j < v.homes[i].n_apps; j++)
			put_labelled(&b, "amexbpf_app_up",
				     (const char *[]){ "home", v.homes[i].path, "app", v.homes[i].apps[j].name, NULL },
				     v.homes[i].apps[j].pid ? 1 : 0);
	put_gauge_head(&b, "amexbpf_app_memory_rss_bytes", "resident memory of the app's process");
	for (int i = 0; i < v.n_homes; i++)
		for (size_t j = 0; j < v.homes[i].n_apps; j++) {
			const struct amx_app *a = &v.homes[i].apps[j];
			if (a->pid)
				put_labelled(&b, "amexbpf_app_memory_rss_bytes",
					     (const char *[]){ "home", v.homes[i].path, "app", a->name, NULL },
					     (double)amx_proc_rss_bytes(a->pid));
		}
	put_gauge_head(&b, "amexbpf_app_instances_online",
		       "processes of the app running, of amexbpf_app_instances saved in dump.pm2");
	for (int i = 0; i < v.n_homes; i++)
		for (size_t j = 0; j < v.homes[i].n_apps; j++) {
			const struct amx_app *a = &v.homes[i].apps[j];
			put_labelled(&b, "amexbpf_app_instances_online",
				     (const char *[]){ "home", v.homes[i].path, "app", a->name, NULL },
				     amx_app_instances_alive(a));
		}
	put_gauge_head(&b, "amexbpf_app_instances", "processes of the app saved in dump.pm2 (instances)");
	for (int i = 0; i < v.n_homes; i++)
		for (size_t j = 0; j < v.homes[i].n_apps; j++) {
			const struct amx_app *a = &v.homes[i].apps[j];
			put_labelled(&b, "amexbpf_app_instances",
				     (const char *[]){ "home", v.homes[i].path, "app", a->name, NULL },
				     a->n_inst);
		}
	/* Labelled by NODE_APP_INSTANCE (0..N-1), never by pid or pm_id: bounded series. */
	put_gauge_head(&b, "amexbpf_instance_memory_rss_bytes",
		       "resident memory of one process of an app of several instances");
	for (int i = 0; i < v.n_homes; i++)
		for (size_t j = 0; j < v.homes[i].n_apps; j++) {
			const struct amx_app *a = &v.homes[i].apps[j];
			for (unsigned k = 0; a->n_inst > 1 && k < a->n_inst; k++) {
				const struct amx_instance *in = &a->inst[k];
				char num[16];
				if (!in->pid || in->node_app_instance < 0)
					continue;
				snprintf(num, sizeof(num), "%d", in->node_app_instance);
				put_labelled(&b, "amexbpf_instance_memory_rss_bytes",
					     (const char *[]){ "home", v.homes[i].path, "app", a->name,
							       "instance", num, NULL },
					     (double)amx_proc_rss_bytes(in->pid));
			}
		}
	put_gauge_head(&b, "amexbpf_app_restart_budget_left", "recovery attempts left in the budget window");
	for (int i = 0; i < v.n_homes; i++)
		for (size_t j = 0; j < v.homes[i].n_apps; j++) {
			const struct amx_app *a = &v.homes[i].apps[j];
			put_labelled(&b, "amexbpf_app_restart_budget_left",
				     (const char *[]){ "home", v.homes[i].path, "app", a->name, NULL },
				     v.budget_left ? v.budget_left(v.ctx, &v.homes[i], a, amx_boot_ms()) : 0);
		}
	/* Every watched app has its OOM series from the start: an absent series hides in alerts. */
	for (int i = 0; i < v.n_homes; i++)
		for (size_t j = 0; j < v.homes[i].n_apps; j++) {
			counter_add(M_OOM, 0, (const char *[]){ "home", v.homes[i].path, "app", v.homes[i].apps[j].name, NULL });
			counter_add(M_PROBE, 0, (const char *[]){ "home", v.homes[i].path, "app", v.homes[i].apps[j].name, NULL });
		}
	put_counters(&b, M_EXITS, "exits of watched app processes and PM2 daemons (app=\"\"), by reason");
	put_counters(&b, M_CAUSE, "exits of watched app processes and PM2 daemons (app=\"\"), by amexbpf.cause");
	put_counters(&b, M_CONFLICT, "port conflicts (port-conflict events), by holder: orphan (stopped) or other (parked)");
	put_counters(&b, M_OOM, "OOM kills of watched processes");
	put_counters(&b, M_RECOV, "recovery attempts by tier and outcome");
	put_counters(&b, M_LOST, "events lost before amexbpf could see them, by source");
	put_counters(&b, M_EVENTS, "events emitted, by action");
	put_counters(&b, M_PROBE, "HTTP health-probe failures reported (probe-failed events)");
	put_gauge_head(&b, "amexbpf_disk_used_ratio", "used share of a watched filesystem, as last reported");
	for (size_t i = 0; i < n_mounts; i++)
		put_labelled(&b, "amexbpf_disk_used_ratio", (const char *[]){ "mount", D[i].mount, NULL }, D[i].used_ratio);
	put_gauge_head(&b, "amexbpf_disk_threshold_ratio", "the used-space threshold of a watched filesystem");
	for (size_t i = 0; i < n_mounts; i++)
		put_labelled(&b, "amexbpf_disk_threshold_ratio", (const char *[]){ "mount", D[i].mount, NULL },
			     D[i].threshold_ratio);
	put_gauge_head(&b, "amexbpf_disk_over_threshold", "1 while a watched filesystem is over its threshold");
	for (size_t i = 0; i < n_mounts; i++)
		put_labelled(&b, "amexbpf_disk_over_threshold", (const char *[]){ "mount", D[i].mount, NULL },
			     D[i].over ? 1 : 0);
	struct amx_control_stats cs;
	amx_control_stats(&cs);
	put(&b, "# HELP amexbpf_subscribers_dropped_total control-socket subscribers dropped for falling behind\n"
		"# TYPE amexbpf_subscribers_dropped_total counter\namexbpf_subscribers_dropped_total %llu\n",
	    (unsigned long long)cs.dropped);
	put_histogram(&b, &M.duration);
	put_histogram(&b, &M.latency);
	if (!b.p)
		return;
	const char *tmp = "amexbpf.prom.tmp", *final = "amexbpf.prom";
	/* In the directory checked at start (by its descriptor), a file of our own: a
	 * leftover is removed, never opened, and nothing is followed. */
	unlinkat(M.dir_fd, tmp, 0);
	int fd = openat(M.dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	/* 0644 whatever the umask: node_exporter reads it as its own user, and the unit's
	 * UMask=0027 made it 0640 root:root, unreadable to it (make test-systemd); what it
	 * holds, node_exporter serves to whoever can reach it anyway. */
	bool ok = fd >= 0 && fchmod(fd, 0644) == 0 && write(fd, b.p, b.len) == (ssize_t)b.len;
	if (fd >= 0)
		ok = close(fd) == 0 && ok;
	/* node_exporter reads only *.prom: it never sees the half-written temporary file. */
	if (!ok || renameat(M.dir_fd, tmp, M.dir_fd, final) < 0) {
		static bool told;
		if (!told)
			fprintf(stderr, "amexbpf: cannot write metrics to %s/%s: %s\n", M.dir, final,
				strerror(errno));
		told = true;
		unlinkat(M.dir_fd, tmp, 0);
	}
	free(b.p);
}

static void on_tick(void *ctx, uint64_t now)
{
	(void)ctx;
	if (M.dirty || now >= M.next_ms) {
		write_file();
		M.dirty = false;
		M.next_ms = now + REFRESH_MS;
	}
	amx_loop_wake_at(M.next_ms);
}

void amx_metrics_flush(void)
{
	if (M.dir[0])
		write_file();
}

int amx_metrics_start(const char *dir, char *err, size_t errlen)
{
	struct stat st;
	/* Root writes there: the directory must be root's and writable by root only, or its
	 * owner (or anyone) could plant or swap what we write. Kept open, used by fd. */
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fstat(dfd, &st) < 0) {
		snprintf(err, errlen, "--textfile-dir %s: %s", dir, strerror(errno));
		if (dfd >= 0)
			close(dfd);
		return AMX_EXIT_NO_INPUT;
	}
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		snprintf(err, errlen, "--textfile-dir %s must be owned by root and writable by root "
			 "only", dir);
		close(dfd);
		return AMX_EXIT_USAGE;
	}
	if (M.dir[0] && M.dir_fd >= 0)
		close(M.dir_fd);
	M.dir_fd = dfd;
	snprintf(M.dir, sizeof(M.dir), "%s", dir);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	started_s = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	M.duration = (struct histogram){ .name = "amexbpf_recovery_duration_seconds",
					 .help = "time from the start of a recovery to a live pid",
					 .bounds = DURATION_BOUNDS,
					 .n_bounds = sizeof(DURATION_BOUNDS) / sizeof(DURATION_BOUNDS[0]) };
	M.latency = (struct histogram){ .name = "amexbpf_detect_latency_seconds",
					.help = "time from the kernel's timestamp of an exit to amexbpf handling it",
					.bounds = LATENCY_BOUNDS,
					.n_bounds = sizeof(LATENCY_BOUNDS) / sizeof(LATENCY_BOUNDS[0]) };
	/* Zero series for the losses, so an alert on rate() has data from the start. */
	counter_add(M_LOST, 0, (const char *[]){ "source", "bpf", NULL });
	counter_add(M_LOST, 0, (const char *[]){ "source", "inotify", NULL });
	counter_add(M_LOST, 0, (const char *[]){ "source", "file", NULL });
	M.dirty = true;
	amx_loop_subscribe(on_event, NULL);
	amx_loop_add_ticker(on_tick, NULL);
	return 0;
}
