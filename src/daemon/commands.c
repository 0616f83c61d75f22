/* SPDX-License-Identifier: MIT */
/* The pm2 command table: the argv of each tier, starting a command as the home's owner,
 * reaping it (what it said goes up to answers.c), its deadline, the state file that names
 * it while it runs, and the commands a killed previous run left going. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "daemon/engine.h"
#include "daemon/recovery_command.h"
#include "sys/loop.h"
#include "sys/proc.h"
#include "sys/userfile.h"

/* The command of a tier: built by the one builder (core/tier_command.h), through
 * daemon/recovery_command.h. The argv points into e->tier_cmd, which the next call reuses;
 * a command keeps only its own copy of argv[0]. */
bool eng_build_argv(struct amx_engine *e, struct amx_argv *argv, int tier,
		    const struct amx_home *h, const struct amx_app *a)
{
	/* systemd's facts as last asked (the daemon asks with a command of its own, act.c):
	 * nothing here blocks the loop. */
	bool booted = tier == 2 && e->systemd_booted && e->systemd_booted();
	if (!amx_recovery_command_known(&e->tier_cmd, tier, e->o, h, a, booted, h->unit_active))
		return false;
	*argv = e->tier_cmd.argv;
	return true;
}

static struct amx_command *new_command(struct amx_engine *e)
{
	for (int i = 0; i < AMX_ENGINE_COMMANDS; i++)
		if (!e->cmds[i].used) {
			memset(&e->cmds[i], 0, sizeof(e->cmds[i]));
			e->cmds[i].used = true;
			e->cmds[i].child.pidfd = -1;
			e->cmds[i].child.out_fd = -1;
			return &e->cmds[i];
		}
	return NULL;
}

/* A tier command outlives us if we are killed (it has its own session, so that a time-out
 * can kill its group). Each one is named in the state directory while it runs, so that the
 * next start waits for it instead of starting a second `pm2 resurrect` next to it. */
static void running_file(const struct amx_home *h, pid_t pid, char *buf, size_t len)
{
	snprintf(buf, len, "%s%d", h->run_prefix, (int)pid);
}

static void record_running(const struct amx_home *h, const struct amx_command *c)
{
	struct amx_proc_stat st;
	char path[4300], line[96];
	if (!amx_proc_read_stat(c->child.pid, &st))
		return;
	running_file(h, c->child.pid, path, sizeof(path));
	int n = snprintf(line, sizeof(line), "%d %llu %d\n", (int)c->child.pid,
			 (unsigned long long)st.start_ticks, c->tier);
	/* At once, not through the writer thread: an amexbpf SIGKILLed right after
	 * recovery-started must leave the record, or its next run starts a second
	 * `pm2 resurrect` beside this one (t_x_amx_killed). One fsync per tier command. */
	amx_statefile_write(path, line, (size_t)n);
}

static void forget_running(const struct amx_home *h, pid_t pid)
{
	char path[4300];
	running_file(h, pid, path, sizeof(path));
	unlink(path);
}

/* Reap a command that exited (nothing when it still runs) and hand what it said to
 * answers.c; its slot is free afterwards. */
static void finish_command(struct amx_engine *e, struct amx_command *c)
{
	const struct amx_spawner *sp = &e->spawner;
	sp->read_output(sp->ctx, &c->child);
	if (!sp->reap(sp->ctx, &c->child))
		return;
	if (c->child.pidfd >= 0)
		amx_loop_del_fd(c->child.pidfd);
	if (c->tier > 0)
		forget_running(&e->homes[c->home], c->child.pid);
	bool ok = amx_child_succeeded(&c->child);
	char reason[256];
	amx_child_describe(&c->child, (int)e->o->action_timeout_s, reason, sizeof(reason));
	eng_log(e, "%s finished: %s", c->argv.v[0], reason);
	/* What the answer starts (tier 1 for every app a jlist found down) must not find this
	 * finished command still counted against the home's quota. */
	c->finishing = true;
	e->up.command_done(e, c, ok, reason);
	sp->release(sp->ctx, &c->child);
	c->finishing = false;
	c->used = false;
}

/* A command's pidfd is readable: it exited. The kernel's events first (intake.c says
 * why), then the command's answer. */
static void on_command_exit(void *ctx, int fd, uint32_t events)
{
	(void)events;
	struct amx_engine *e = ctx;
	e->up.read_kernel_events(e);
	for (int i = 0; i < AMX_ENGINE_COMMANDS; i++)
		if (e->cmds[i].used && e->cmds[i].child.pidfd == fd) {
			finish_command(e, &e->cmds[i]);
			return;
		}
}

bool eng_command_slot_free(const struct amx_engine *e, int hi, char *err, size_t errlen)
{
	int mine = 0, used = 0;
	for (int i = 0; i < AMX_ENGINE_COMMANDS; i++) {
		bool counts = e->cmds[i].used && !e->cmds[i].finishing;
		used += counts;
		mine += counts && e->cmds[i].home == hi;
	}
	if (mine >= AMX_HOME_COMMANDS) {
		snprintf(err, errlen, "this home already runs %d commands (at most %d at once)",
			 mine, AMX_HOME_COMMANDS);
		return false;
	}
	if (used >= AMX_ENGINE_COMMANDS ||
	    (mine > 0 && AMX_ENGINE_COMMANDS - used <= AMX_ENGINE_COMMANDS_RESERVED)) {
		snprintf(err, errlen, "%d commands running for all homes (this home: %d)", used,
			 mine);
		return false;
	}
	return true;
}

/* Start argv for an app (ai >= 0) or the home (ai = -1); tier 0 is a status query. The
 * index of the command, or -1 with err filled. */
int eng_start_command(struct amx_engine *e, int hi, int ai, int tier, int attempt,
		      const struct amx_argv *argv, char *err, size_t errlen)
{
	struct amx_home *h = &e->homes[hi];
	if (!eng_command_slot_free(e, hi, err, errlen))
		return -1;
	struct amx_command *c = new_command(e);
	if (!c) {
		snprintf(err, errlen, "too many commands running");
		return -1;
	}
	c->home = hi;
	c->app = ai;
	c->tier = tier;
	c->attempt = attempt;
	c->argv = *argv;
	snprintf(c->exe, sizeof(c->exe), "%s", argv->v[0]);
	c->argv.v[0] = c->exe;
	c->argv.node = NULL; /* points into the home; only spawn needs it */
	/* systemctl and systemd-run talk to systemd as root; they name the owner themselves. */
	static const struct amx_user root = { .uid = 0, .gid = 0, .name = "root", .home = "/" };
	bool as_root = !strcmp(argv->v[0], "/usr/bin/systemctl") ||
		       !strcmp(argv->v[0], "/usr/bin/systemd-run");
	int rc = e->spawner.spawn(e->spawner.ctx, &c->child, argv, as_root ? &root : &h->owner,
				  h->path, err, errlen);
	if (rc < 0) {
		c->used = false;
		return -1;
	}
	int idx = (int)(c - e->cmds);
	c->deadline_ms = eng_now_ms(e) + (uint64_t)(e->o->action_timeout_s * 1000);
	if (tier > 0)
		record_running(h, c);
	if (c->child.pidfd >= 0)
		amx_loop_add_fd(c->child.pidfd, EPOLLIN, on_command_exit, e);
	eng_log(e, "started %s (pid %d) as %s", argv->v[0], c->child.pid, h->owner.name);
	return idx;
}

/* Each tick: output taken in, a command past its deadline killed (its group), and one
 * without a pidfd reaped if it is done. */
void eng_check_command_deadlines(struct amx_engine *e, uint64_t now)
{
	const struct amx_spawner *sp = &e->spawner;
	for (int i = 0; i < AMX_ENGINE_COMMANDS; i++) {
		struct amx_command *c = &e->cmds[i];
		if (!c->used)
			continue;
		/* Take output in as it comes, so that what overflows is dropped early. */
		sp->read_output(sp->ctx, &c->child);
		if (!c->child.timed_out && now >= c->deadline_ms)
			sp->kill_group(sp->ctx, &c->child);
		if (c->used && c->child.pidfd < 0)
			finish_command(e, c);
	}
}

/* At shutdown: every command still running is killed with its group and reaped. */
void eng_kill_commands(struct amx_engine *e)
{
	const struct amx_spawner *sp = &e->spawner;
	for (int i = 0; i < AMX_ENGINE_COMMANDS; i++) {
		if (e->cmds[i].used) {
			struct amx_child *c = &e->cmds[i].child;
			sp->kill_group(sp->ctx, c);
			/* blocking reap of a SIGKILLed group leader is immediate */
			while (!sp->reap(sp->ctx, c)) {
				struct timespec ts = { 0, 10 * 1000 * 1000 };
				nanosleep(&ts, NULL);
			}
			sp->release(sp->ctx, c);
			e->cmds[i].used = false;
		}
	}
}

struct adopted_command {
	struct amx_engine *e;
	int home;
	pid_t pid;
	int pidfd;
};

/* A command of the previous run ended: once the last one of its home is done, look at the
 * home afresh and decide. */
static void on_adopted_exit(void *ctx, int fd, uint32_t events)
{
	(void)events;
	struct adopted_command *ac = ctx;
	struct amx_engine *e = ac->e;
	struct amx_home *h = &e->homes[ac->home];
	amx_loop_del_fd(fd);
	close(fd);
	forget_running(h, ac->pid);
	int hi = ac->home;
	free(ac);
	if (--h->adopted == 0) {
		fprintf(stderr, "amexbpf: %s: the previous run's commands are done; looking again\n",
			h->path);
		e->up.initial_home_state(e, hi);
	}
}

/* The commands a killed previous run left going for this home: wait for each (through a
 * pidfd; it is not our child) and forget the ones that are gone. Returns how many wait. */
int eng_adopt_running_commands(struct amx_engine *e, int hi)
{
	struct amx_home *h = &e->homes[hi];
	char dir[4200];
	snprintf(dir, sizeof(dir), "%s", h->run_prefix);
	char *slash = strrchr(dir, '/');
	if (!slash)
		return 0;
	const char *prefix = slash + 1;
	*slash = '\0';
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
			continue;
		char path[4400], *buf = NULL;
		size_t len = 0;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		int pid = 0, tier = 0;
		unsigned long long ticks = 0;
		struct amx_proc_stat st;
		bool live = amx_statefile_read(path, 128, &buf, &len) == 0 &&
			    sscanf(buf, "%d %llu %d", &pid, &ticks, &tier) == 3 &&
			    amx_proc_read_stat(pid, &st) && st.start_ticks == ticks && st.state != 'Z';
		free(buf);
		int pidfd = live ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
		struct adopted_command *ac = pidfd >= 0 ? calloc(1, sizeof(*ac)) : NULL;
		if (!ac) {
			if (pidfd >= 0)
				close(pidfd);
			unlink(path);
			continue;
		}
		*ac = (struct adopted_command){ .e = e, .home = hi, .pid = pid, .pidfd = pidfd };
		amx_loop_add_fd(pidfd, EPOLLIN, on_adopted_exit, ac);
		h->adopted++;
		fprintf(stderr, "amexbpf: %s: tier %d (pid %d) of the previous run still goes; "
				"waiting for it before acting\n", h->path, tier, pid);
	}
	closedir(d);
	return h->adopted;
}
