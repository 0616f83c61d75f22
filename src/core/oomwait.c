// SPDX-License-Identifier: MIT
/* Holding oom-killed until its outcome is known, and building the event (see oomwait.h). */
#include <stdio.h>
#include <string.h>

#include "core/oomwait.h"

struct amx_oom_pending *amx_oomwait_find(struct amx_oomwait *w, int home, const char *app)
{
	for (int i = 0; i < AMX_OOM_PENDING_MAX; i++)
		if (w->p[i].used && w->p[i].home == home && !strcmp(w->p[i].app, app))
			return &w->p[i];
	return NULL;
}

struct amx_oom_pending *amx_oomwait_hold(struct amx_oomwait *w, int home, const char *app,
					 const struct amx_event *kev, uint64_t now_ms)
{
	for (int i = 0; i < AMX_OOM_PENDING_MAX; i++) {
		struct amx_oom_pending *p = &w->p[i];

		if (p->used)
			continue;
		p->used = true;
		p->home = home;
		snprintf(p->app, sizeof(p->app), "%s", app);
		p->deadline_ms = now_ms + AMX_OOM_HOLD_MAX_MS;
		p->kev = *kev;
		return p;
	}
	return NULL;
}

struct amx_oom_pending *amx_oomwait_expired(struct amx_oomwait *w, uint64_t now_ms)
{
	for (int i = 0; i < AMX_OOM_PENDING_MAX; i++)
		if (w->p[i].used && w->p[i].deadline_ms <= now_ms)
			return &w->p[i];
	return NULL;
}

struct amx_oom_pending *amx_oomwait_any(struct amx_oomwait *w)
{
	return amx_oomwait_expired(w, UINT64_MAX);
}

uint64_t amx_oomwait_next_deadline(const struct amx_oomwait *w)
{
	uint64_t next = 0;

	for (int i = 0; i < AMX_OOM_PENDING_MAX; i++)
		if (w->p[i].used && (next == 0 || w->p[i].deadline_ms < next))
			next = w->p[i].deadline_ms;
	return next;
}

void amx_oomwait_release(struct amx_oom_pending *p)
{
	memset(p, 0, sizeof(*p));
}

/* The kernel writes the path; it is NUL-terminated within the field, but do not trust a
 * record from a mismatched build to be. */
static void set_memcg(json_t *ev, const struct amx_event *kev)
{
	char path[AMX_MEMCG_LEN];

	if (!kev->memcg_flags || !kev->memcg[0])
		return;
	memcpy(path, kev->memcg, sizeof(path));
	path[sizeof(path) - 1] = '\0';
	amx_event_set_str(ev, "amexbpf.oom.memcg", path);
	amx_event_set_str(ev, "amexbpf.oom.memcg_hierarchy",
			  kev->memcg_flags & AMX_MEMCG_V1 ? "v1" : "v2");
}

static const char *outcome_words(const struct amx_oom_outcome *o, char *buf, size_t len)
{
	switch (o->result) {
	case AMX_OOM_PM2_RESTARTED:
		snprintf(buf, len, "PM2 restarted it in %llu ms", (unsigned long long)o->restart_ms);
		break;
	case AMX_OOM_NOT_RESTARTED:
		snprintf(buf, len, "PM2 did not restart it");
		break;
	default:
		snprintf(buf, len, "not known whether PM2 restarted it");
		break;
	}
	return buf;
}

json_t *amx_oom_event_new(struct amx_event_stream *s, const struct amx_event *kev,
			  const char *home_path, const char *app,
			  const struct amx_oom_outcome *o)
{
	char words[64];
	json_t *ev = amx_event_new(s, AMX_EVT_OOM_KILLED, kev->ts_ns,
				   "the kernel chose %.300s (pid %u) as OOM victim; %s", app,
				   kev->pid, outcome_words(o, words, sizeof(words)));

	amx_event_set_int(ev, "process.pid", (int)kev->pid);
	if (kev->comm[0]) {
		char comm[AMX_COMM_LEN + 1];

		memcpy(comm, kev->comm, AMX_COMM_LEN);
		comm[AMX_COMM_LEN] = '\0';
		amx_event_set_str(ev, "process.name", comm);
	}
	if (kev->oom_fields) {
		amx_event_set_int(ev, "amexbpf.oom.anon_rss_kb", (int64_t)kev->anon_rss_kb);
		amx_event_set_int(ev, "amexbpf.oom.file_rss_kb", (int64_t)kev->file_rss_kb);
		amx_event_set_int(ev, "amexbpf.oom.shmem_rss_kb", (int64_t)kev->shmem_rss_kb);
		amx_event_set_int(ev, "amexbpf.oom.total_vm_kb", (int64_t)kev->total_vm_kb);
	}
	/* The pid-only record (mark_victim(pid), before 6.8) reads nothing of the task: no
	 * comm, and no oom_score_adj to report (a 0 there would be made up). */
	if (kev->comm[0])
		amx_event_set_int(ev, "amexbpf.oom.oom_score_adj", kev->oom_score_adj);
	set_memcg(ev, kev);
	if (o->result == AMX_OOM_RESULT_UNKNOWN)
		amx_event_set(ev, "amexbpf.oom.pm2_restarted", NULL);
	else
		amx_event_set_bool(ev, "amexbpf.oom.pm2_restarted",
				   o->result == AMX_OOM_PM2_RESTARTED);
	if (o->result == AMX_OOM_PM2_RESTARTED) {
		amx_event_set_int(ev, "amexbpf.oom.pm2_restart_ms", (int64_t)o->restart_ms);
		amx_event_set_int(ev, "amexbpf.oom.new_pid", o->new_pid);
	}
	amx_event_set_str(ev, "amexbpf.pm2.home", home_path);
	amx_event_set_str(ev, "service.name", app);
	amx_event_set_str(ev, "amexbpf.pm2.app", app);
	return ev;
}
