/* SPDX-License-Identifier: MIT */
/* The good dump matched to the model's apps (daemon/home.h): apps and instances that stay
 * keep their state, new ones start UNKNOWN, the ones no longer saved are dropped. Each dump
 * entry is one instance; entries of one name are one app.
 *
 * A dump of 4,096 apps took 10-20 ms to match at once (7.7 MB of apps faulted in, named,
 * hashed, copied), a step during which every other home's exits waited. So it is done in
 * parts: the new apps are built AMX_HOME_SYNC_STEP entries at a time (their identity only:
 * name, saved state, pid files), the old apps staying the live ones meanwhile, and a last
 * part copies each kept app's state (its policy, pids, counters) from the old app as it is
 * then, and puts the new apps in place. An exit handled between two parts changes an old
 * app, which the last part copies: nothing is lost. */
#include "daemon/home.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void amx_app_free_instances(struct amx_app *a)
{
	if (a->inst != &a->inst_one)
		free(a->inst);
	a->inst = &a->inst_one;
	a->inst_cap = 1;
}

static bool wanted(const char *name, const char *const *only, int n_only)
{
	if (n_only <= 0)
		return true;
	for (int i = 0; i < n_only; i++)
		if (strcmp(only[i], name) == 0)
			return true;
	return false;
}

/* PM2 names an instance's pid file <sanitised name>-<pm_id>.pid: the id is what follows
 * the last '-'. -1 when the name does not have that form. */
static int pm_id_of_pid_file(const char *file)
{
	const char *dash = strrchr(file, '-');
	if (!dash || !isdigit((unsigned char)dash[1]))
		return -1;
	char *end;
	long v = strtol(dash + 1, &end, 10);
	return strcmp(end, ".pid") == 0 && v <= INT32_MAX ? (int)v : -1;
}

/* The instance of old that has this pid file, else the same NODE_APP_INSTANCE (PM2 gives
 * resurrected instances new pm_ids, hence new pid files). */
static const struct amx_instance *old_instance(const struct amx_app *old, const char *pid_file,
					       int node_app_instance)
{
	if (!old)
		return NULL;
	for (unsigned i = 0; i < old->n_inst; i++)
		if (pid_file[0] && !strcmp(old->inst[i].pid_file, pid_file))
			return &old->inst[i];
	for (unsigned i = 0; i < old->n_inst; i++)
		if (old->inst[i].node_app_instance == node_app_instance)
			return &old->inst[i];
	return NULL;
}

/* Room for one more instance in a: the inline one first, then a heap array doubled up to
 * AMX_INSTANCES_MAX (a dump's entries are the owner's to choose: never more). */
static bool instance_room(struct amx_app *a)
{
	if (a->n_inst < a->inst_cap)
		return true;
	if (a->inst_cap >= AMX_INSTANCES_MAX)
		return false;
	unsigned cap = a->inst_cap < 1 ? 2 : a->inst_cap * 2;
	if (cap > AMX_INSTANCES_MAX)
		cap = AMX_INSTANCES_MAX;
	struct amx_instance *v = malloc((size_t)cap * sizeof(*v));
	if (!v)
		return false;
	if (a->n_inst)
		memcpy(v, a->inst, a->n_inst * sizeof(*v));
	if (a->inst != &a->inst_one)
		free(a->inst);
	a->inst = v;
	a->inst_cap = cap;
	return true;
}

/* One more dump entry of app a: an instance of it, its identity only (its state is the old
 * one's, copied when the new apps go in place). False when it is left out (over the cap). */
static bool add_instance(const struct amx_home *h, struct amx_app *a, const struct amx_dump_app *d)
{
	if (!instance_room(a))
		return false;
	struct amx_instance *in = &a->inst[a->n_inst++];
	memset(in, 0, sizeof(*in));
	/* Only a pid file in this home's pids/ is one we watch. */
	const char *base = strrchr(d->pid_path, '/');
	size_t home_len = strlen(h->path);
	if (base && (size_t)(base - d->pid_path) == home_len + 5 &&
	    !strncmp(d->pid_path, h->path, home_len) && !strncmp(d->pid_path + home_len, "/pids", 5))
		snprintf(in->pid_file, sizeof(in->pid_file), "%s", base + 1);
	in->node_app_instance = d->node_app_instance;
	in->pm_id = pm_id_of_pid_file(in->pid_file);
	return true;
}

/* The identity of instance fresh over the state of was (an instance of the old app). */
static void instance_keep_state(struct amx_instance *fresh, const struct amx_instance *was)
{
	struct amx_instance in = *was;
	memcpy(in.pid_file, fresh->pid_file, sizeof(in.pid_file));
	in.node_app_instance = fresh->node_app_instance;
	if (fresh->pm_id >= 0)
		in.pm_id = fresh->pm_id;
	*fresh = in;
}

/* Names to indices, open addressing: matching is linear in the number of apps (a dump of
 * thousands of names must not cost their square). A slot holds index + 1; 0 is empty. */
static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;
	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static uint32_t *name_index_new(size_t n, size_t *mask)
{
	size_t cap = 16;
	while (cap < 2 * n)
		cap *= 2;
	*mask = cap - 1;
	return calloc(cap, sizeof(uint32_t));
}

/* The app named name in apps, or -1; with add >= 0, apps[add] goes in when none is there. */
static int name_index_find(uint32_t *slot, size_t mask, const struct amx_app *apps,
			   const char *name, int add)
{
	for (size_t k = name_hash(name) & mask;; k = (k + 1) & mask) {
		if (!slot[k]) {
			if (add >= 0)
				slot[k] = (uint32_t)add + 1;
			return -1;
		}
		if (!strcmp(apps[slot[k] - 1].name, name))
			return (int)slot[k] - 1;
	}
}

void amx_home_sync_cancel(struct amx_home *h)
{
	struct amx_home_sync *s = &h->sync;
	for (size_t i = 0; s->apps && i < s->n; i++)
		amx_app_free_instances(&s->apps[i]);
	free(s->apps);
	free(s->old);
	free(s->new_ix);
	free(s->old_ix);
	memset(s, 0, sizeof(*s));
}

bool amx_home_sync_begin(struct amx_home *h)
{
	struct amx_dump_read none = { .fresh_cap = 0 };
	return amx_home_sync_begin_with(h, &none);
}

bool amx_home_sync_begin_with(struct amx_home *h, struct amx_dump_read *r)
{
	struct amx_home_sync *s = &h->sync;
	amx_home_sync_cancel(h);
	size_t cap = h->good.n_apps ? h->good.n_apps : 1;
	if (r->fresh_apps && r->fresh_old && r->fresh_cap >= cap) {
		s->apps = r->fresh_apps; /* zeroed off the loop */
		s->old = r->fresh_old;
		r->fresh_apps = NULL;
		r->fresh_old = NULL;
		r->fresh_cap = 0;
	} else {
		s->apps = calloc(cap, sizeof(*s->apps));
		s->old = calloc(cap, sizeof(*s->old));
	}
	s->new_ix = name_index_new(h->good.n_apps, &s->new_mask);
	s->old_ix = name_index_new(h->n_apps, &s->old_mask);
	if (!s->apps || !s->old || !s->new_ix || !s->old_ix) {
		free(s->apps); /* nothing built in them yet */
		free(s->old);
		free(s->new_ix);
		free(s->old_ix);
		memset(s, 0, sizeof(*s));
		return false;
	}
	for (size_t i = 0; i < h->n_apps; i++)
		name_index_find(s->old_ix, s->old_mask, h->apps, h->apps[i].name, (int)i);
	s->active = true;
	return true;
}

/* Up to max more dump entries built into new apps. */
static void build(struct amx_home *h, const char *const *only, int n_only, size_t max)
{
	struct amx_home_sync *s = &h->sync;
	for (; s->next < h->good.n_apps && max; s->next++, max--) {
		const struct amx_dump_app *d = &h->good.apps[s->next];
		if (!wanted(d->name, only, n_only))
			continue;
		int at = name_index_find(s->new_ix, s->new_mask, s->apps, d->name, -1);
		struct amx_app *a;
		if (at >= 0) {
			a = &s->apps[at]; /* one more instance of an app already listed */
		} else {
			a = &s->apps[s->n];
			memset(a, 0, sizeof(*a));
			snprintf(a->name, sizeof(a->name), "%s", d->name);
			a->running = -1;
			amx_app_policy_init(&a->pol);
			a->inst = &a->inst_one;
			a->inst_cap = 1;
			a->desired_online = d->status != AMX_ST_STOPPED && d->status != AMX_ST_STOPPING;
			a->cluster = d->cluster;
			a->max_memory_bytes = d->max_memory_bytes;
			s->old[s->n] = name_index_find(s->old_ix, s->old_mask, h->apps, d->name, -1);
			name_index_find(s->new_ix, s->new_mask, s->apps, a->name, (int)s->n);
			s->n++;
		}
		s->left_out += !add_instance(h, a, d);
	}
}

/* The new apps in place: each kept app's state copied from the old one as it is now. */
static void put_in_place(struct amx_home *h)
{
	struct amx_home_sync *s = &h->sync;
	for (size_t j = 0; j < s->n; j++) {
		struct amx_app *a = &s->apps[j];
		if (s->old[j] >= 0) {
			const struct amx_app *old = &h->apps[s->old[j]];
			/* The new identity (saved state, instances), the old state. */
			bool desired = a->desired_online, cluster = a->cluster;
			int64_t max_memory = a->max_memory_bytes;
			unsigned n_inst = a->n_inst, cap = a->inst_cap;
			struct amx_instance one = a->inst_one;
			struct amx_instance *inst = a->inst == &a->inst_one ? NULL : a->inst;
			*a = *old;
			a->desired_online = desired;
			a->cluster = cluster;
			a->max_memory_bytes = max_memory;
			a->inst_one = one;
			a->inst = inst ? inst : &a->inst_one;
			a->n_inst = n_inst;
			a->inst_cap = cap;
			for (unsigned k = 0; k < a->n_inst; k++) {
				const struct amx_instance *was = old_instance(
					old, a->inst[k].pid_file, a->inst[k].node_app_instance);
				if (was)
					instance_keep_state(&a->inst[k], was);
			}
		}
		amx_app_refresh_lead(a);
	}
	/* One line per read, not one per entry: the dump is rewritten as often as its owner likes. */
	if (s->left_out)
		fprintf(stderr, "amexbpf: %s: %zu dump entries over %d instances of an app are not "
				"watched\n", h->path, s->left_out, AMX_INSTANCES_MAX);
	for (size_t i = 0; i < h->n_apps; i++)
		amx_app_free_instances(&h->apps[i]);
	free(h->apps);
	h->apps = s->apps;
	h->n_apps = s->n;
	s->apps = NULL;
	s->n = 0;
	amx_home_sync_cancel(h);
}

bool amx_home_sync_step(struct amx_home *h, const char *const *only, int n_only, size_t max)
{
	struct amx_home_sync *s = &h->sync;
	if (!s->active)
		return true;
	if (s->next < h->good.n_apps) {
		build(h, only, n_only, max);
		return false; /* the last part in a step of its own */
	}
	put_in_place(h);
	return true;
}

void amx_home_sync_all(struct amx_home *h, const char *const *only, int n_only)
{
	if (!amx_home_sync_begin(h))
		return;
	build(h, only, n_only, (size_t)-1);
	put_in_place(h);
}
