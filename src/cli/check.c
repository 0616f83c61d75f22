/* SPDX-License-Identifier: MIT */
/* `amexbpf check`: one pass of the old cron script, with the same tiers, for hosts that
 * keep cron. No BPF, no inotify: it looks, acts, and waits for the result with a
 * deadline. Exit 0 healthy, 1 recovered, 2 could not recover. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/event.h"
#include "daemon/config.h"
#include "daemon/home.h"
#include "core/options.h"
#include "sys/proc.h"
#include "sys/spawn.h"
#include "sys/userfile.h"

#define DEFAULT_MEMORY_LIMIT (1024ll * 1024 * 1024) /* the old script's 1 GB */

static struct amx_options *O;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "amexbpf check: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

static int find_app_pid(struct amx_home *h, int god, struct amx_app *a)
{
	int kids[1024];
	int n = amx_proc_children(god, kids, 1024);
	for (int i = 0; i < n; i++)
		if (amx_home_app_of_pid(h, kids[i]) == a)
			return kids[i];
	return 0;
}

static int live_god(struct amx_home *h)
{
	int pid = amx_home_read_god_pid(h);
	return pid && amx_home_is_god(h, pid) ? pid : 0;
}

static void pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

static bool run_tier(struct amx_home *h, int tier, struct amx_app *a)
{
	struct amx_argv argv;
	if (!amx_pm2_argv(&argv, tier, O->pm2, a ? a->name : NULL,
			  amx_config_ecosystem(O, h->path, a ? a->name : NULL)))
		return false;
	struct amx_child c;
	char err[256], how[256];
	say("%s: tier %d for %s", h->path, tier, a ? a->name : "the PM2 daemon");
	if (amx_run_wait(&c, &argv, &h->owner, h->path, (int)O->action_timeout_s, err, sizeof(err)) < 0) {
		say("failed to run %s: %s", argv.v[0], err);
		return false;
	}
	amx_child_describe(&c, (int)O->action_timeout_s, how, sizeof(how));
	bool ok = amx_child_succeeded(&c);
	if (!ok)
		say("%s %s: %s", argv.v[0], argv.v[1], how);
	amx_child_release(&c);
	return ok;
}

/* Wait for the app (or, with a NULL app, the daemon) to have a live pid. */
static bool wait_back(struct amx_home *h, struct amx_app *a)
{
	long waited = 0, limit = (long)(O->verify_timeout_s * 1000);
	while (waited <= limit) {
		int god = live_god(h);
		if (god && (!a || find_app_pid(h, god, a)))
			return true;
		pause_ms(100);
		waited += 100;
	}
	return false;
}

static int check_home(struct amx_home *h)
{
	int worst = AMX_EXIT_OK;
	int god = live_god(h);
	if (!god) {
		if (!amx_home_wants_daemon(h)) {
			say("%s: PM2 daemon down, no saved app wants it", h->path);
			return AMX_EXIT_OK;
		}
		say("%s: PM2 daemon down", h->path);
		if (!h->dump_valid && h->have_good && amx_home_restore_dump(h) == 0)
			say("%s: put back the last good dump.pm2", h->path);
		run_tier(h, 2, NULL);
		if (!wait_back(h, NULL)) {
			say("%s: the PM2 daemon is still down", h->path);
			return AMX_EXIT_CHECK_FAILED;
		}
		worst = AMX_EXIT_CHECK_RECOVERED;
		god = live_god(h);
	}
	for (size_t i = 0; i < h->n_apps; i++) {
		struct amx_app *a = &h->apps[i];
		if (!a->desired_online)
			continue;
		int pid = find_app_pid(h, god, a);
		if (worst == AMX_EXIT_CHECK_RECOVERED && !pid && wait_back(h, a))
			continue; /* tier 2 brings it back */
		int64_t limit = a->max_memory_bytes > 0 ? a->max_memory_bytes : DEFAULT_MEMORY_LIMIT;
		bool over = pid && (int64_t)amx_proc_rss_bytes(pid) > limit;
		if (pid && !over)
			continue;
		say("%s: %s %s", h->path, a->name, over ? "is over its memory limit" : "is not online");
		bool back = run_tier(h, 1, a) && wait_back(h, a);
		if (!back && amx_config_ecosystem(O, h->path, a->name))
			back = run_tier(h, 3, a) && wait_back(h, a);
		if (!back) {
			say("%s: could not bring %s back", h->path, a->name);
			worst = AMX_EXIT_CHECK_FAILED;
		} else if (worst == AMX_EXIT_OK) {
			worst = AMX_EXIT_CHECK_RECOVERED;
		}
	}
	return worst;
}

int amx_check_run(struct amx_options *o)
{
	O = o;
	char *found[AMX_MAX_HOMES];
	if (o->n_homes == 0) {
		int n = amx_discover_homes(found, AMX_MAX_HOMES);
		for (int i = 0; i < n; i++)
			o->homes[o->n_homes++] = found[i];
	}
	if (o->n_homes == 0) {
		say("no PM2 home found (use --pm2-home)");
		return AMX_EXIT_NO_INPUT;
	}
	amx_mkdir_p(o->state_dir, 0700);
	int worst = AMX_EXIT_OK;
	for (int i = 0; i < o->n_homes; i++) {
		static struct amx_home h;
		char err[512];
		if (!amx_home_init(&h, o->homes[i], o->state_dir, err, sizeof(err))) {
			say("%s", err);
			return AMX_EXIT_NO_INPUT;
		}
		struct amx_dump_read r;
		amx_home_read_dump(&h, &r);
		if (r.problem == AMX_DUMP_OK) {
			amx_home_adopt_dump(&h, &r, o->only, o->n_only);
		} else if (!amx_home_load_good_copy(&h, o->only, o->n_only)) {
			say("dump.pm2 of %s is %s and no good copy is kept", h.path,
			    amx_dump_read_problem(&r));
			amx_dump_read_free(&r);
			amx_home_free(&h);
			return AMX_EXIT_BAD_DUMP;
		}
		amx_dump_read_free(&r);
		int rc = check_home(&h);
		if (rc > worst)
			worst = rc;
		amx_home_free(&h);
	}
	if (worst == AMX_EXIT_OK)
		say("healthy");
	return worst;
}
