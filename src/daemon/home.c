/* SPDX-License-Identifier: MIT */
#include "daemon/home.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "sys/proc.h"
#include "sys/statewriter.h"
#include "sys/userfile.h"

/* The state files of a home are named from its path, injectively: [A-Za-z0-9.-] as they
 * are, '/' as '_', every other byte (the '_' included) as %XX, so /x/a_b and /x/a/b never
 * share a file; '+' never occurs in the encoding, so "home<path>+running." is no other
 * home's prefix. */
static void flat_name(const char *path, char *out, size_t len)
{
	size_t j = 0;

	for (const unsigned char *p = (const unsigned char *)path; *p && j + 4 < len; p++) {
		if (isalnum(*p) || *p == '.' || *p == '-')
			out[j++] = (char)*p;
		else if (*p == '/')
			out[j++] = '_';
		else
			j += (size_t)snprintf(out + j, len - j, "%%%02X", *p);
	}
	out[j] = '\0';
}

/* Before 0.2 the names were "dump<flat>.good", "budget<flat>.json", "tools<flat>.json",
 * "running<flat>.<pid>" with '/' and '_' both written '_' and other bytes '-': /x/a_b and
 * /x/a/b shared them.
 * Such an old file is taken over once (renamed) when it can only be this home's: the path
 * is made of [A-Za-z0-9./] only, and no twin directory (a '/' read as '_') exists. */
static bool old_name_is_ours(const char *path)
{
	size_t slash[12], k = 0;

	for (size_t i = 0; path[i]; i++) {
		if (!isalnum((unsigned char)path[i]) && path[i] != '.' && path[i] != '/')
			return false;
		if (path[i] == '/' && i > 0) {
			if (k == sizeof(slash) / sizeof(slash[0]))
				return false;
			slash[k++] = i;
		}
	}
	for (unsigned m = 1; m < (1u << k); m++) {
		char twin[4096];
		struct stat st;

		snprintf(twin, sizeof(twin), "%s", path);
		for (size_t b = 0; b < k; b++)
			if (m & (1u << b))
				twin[slash[b]] = '_';
		if (lstat(twin, &st) == 0)
			return false;
	}
	return true;
}

static void take_over(const char *old, const char *new)
{
	struct stat st;

	if (lstat(new, &st) < 0 && errno == ENOENT && lstat(old, &st) == 0 && S_ISREG(st.st_mode))
		rename(old, new);
}

static void take_over_old_names(struct amx_home *h, const char *state_dir)
{
	char oldflat[4200], old[8600], new[8600];

	if (!old_name_is_ours(h->path))
		return;
	snprintf(oldflat, sizeof(oldflat), "%s", h->path);
	for (char *p = oldflat; *p; p++)
		if (*p == '/')
			*p = '_';
	snprintf(old, sizeof(old), "%s/dump%s.good", state_dir, oldflat);
	take_over(old, h->state_file);
	snprintf(old, sizeof(old), "%s/budget%s.json", state_dir, oldflat);
	take_over(old, h->budget_file);
	snprintf(old, sizeof(old), "%s/tools%s.json", state_dir, oldflat);
	take_over(old, h->tools_file);
	DIR *d = opendir(state_dir);
	if (!d)
		return;
	char prefix[4300];
	snprintf(prefix, sizeof(prefix), "running%s.", oldflat);
	for (struct dirent *de; (de = readdir(d));) {
		const char *pid = de->d_name + strlen(prefix);
		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0 || !*pid ||
		    strspn(pid, "0123456789") != strlen(pid))
			continue;
		snprintf(old, sizeof(old), "%s/%s", state_dir, de->d_name);
		snprintf(new, sizeof(new), "%s%s", h->run_prefix, pid);
		take_over(old, new);
	}
	closedir(d);
}

static void state_names(struct amx_home *h, const char *state_dir)
{
	char flat[4096 * 3 + 1];

	flat_name(h->path, flat, sizeof(flat));
	snprintf(h->state_file, sizeof(h->state_file), "%s/home%s+dump.good", state_dir, flat);
	snprintf(h->run_prefix, sizeof(h->run_prefix), "%s/home%s+running.", state_dir, flat);
	snprintf(h->budget_file, sizeof(h->budget_file), "%s/home%s+budget.json", state_dir, flat);
	snprintf(h->tools_file, sizeof(h->tools_file), "%s/home%s+tools.json", state_dir, flat);
	take_over_old_names(h, state_dir);
}

bool amx_home_init(struct amx_home *h, const char *path, const char *state_dir, char *err,
		   size_t errlen)
{
	memset(h, 0, sizeof(*h));
	h->running = -1;
	h->status_query = -1;
	h->unit_query = -1;
	h->oom_query = -1;
	amx_home_policy_init(&h->pol);
	size_t len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	if (len == 0 || len >= sizeof(h->path) || path[0] != '/') {
		snprintf(err, errlen, "PM2 home %s: not an absolute path", path);
		return false;
	}
	memcpy(h->path, path, len);
	h->path[len] = '\0';
	struct stat st;
	if (lstat(h->path, &st) < 0) {
		snprintf(err, errlen, "PM2 home %s: %s", h->path, strerror(errno));
		return false;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "PM2 home %s: not a directory (symlinks are not followed)",
			 h->path);
		return false;
	}
	if (!amx_user_from_uid(st.st_uid, &h->owner, err, errlen))
		return false;
	state_names(h, state_dir);
	return true;
}

void amx_home_free(struct amx_home *h)
{
	amx_home_sync_cancel(h);
	amx_dump_free(&h->good);
	for (size_t i = 0; h->apps && i < h->n_apps; i++)
		amx_app_free_instances(&h->apps[i]);
	free(h->apps);
	free(h->good_raw);
	h->apps = NULL;
	h->n_apps = 0;
	h->good_raw = NULL;
}

static bool has_file(const char *dir, const char *name)
{
	char p[4200];
	struct stat st;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return lstat(p, &st) == 0;
}

int amx_discover_homes(char **out, int max)
{
	int n = 0;
	char path[4200];
	struct stat st;
	setpwent();
	struct passwd *pw;
	while ((pw = getpwent()) && n < max) {
		if (!pw->pw_dir || pw->pw_dir[0] != '/')
			continue;
		snprintf(path, sizeof(path), "%s/.pm2", strcmp(pw->pw_dir, "/") ? pw->pw_dir : "");
		if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != pw->pw_uid)
			continue;
		if (!has_file(path, "dump.pm2") && !has_file(path, "pm2.pid"))
			continue;
		bool dup = false;
		for (int i = 0; i < n; i++)
			dup |= strcmp(out[i], path) == 0;
		if (!dup)
			out[n++] = strdup(path);
	}
	endpwent();
	return n;
}

bool amx_home_is_god(const struct amx_home *h, int pid)
{
	struct amx_proc_stat st;
	if (pid <= 1 || !amx_proc_read_stat(pid, &st) || st.state == 'Z' || st.state == 'X')
		return false;
	if (st.uid != h->owner.uid)
		return false;
	char cmd[4400];
	ssize_t n = amx_proc_read(pid, "cmdline", cmd, sizeof(cmd) - 1);
	if (n <= 0)
		return false;
	cmd[n] = '\0';
	/* "PM2 v7.0.4: God Daemon (/home/u/.pm2)", padded with NULs. */
	if (strncmp(cmd, "PM2 v", 5) != 0)
		return false;
	char want[4200];
	snprintf(want, sizeof(want), ": God Daemon (%s)", h->path);
	const char *at = strstr(cmd, want);
	return at && at[strlen(want)] == '\0';
}

static int parse_pid(const char *s, size_t len)
{
	long v = 0;
	size_t i = 0;
	while (i < len && isspace((unsigned char)s[i]))
		i++;
	if (i == len)
		return 0;
	for (; i < len && isdigit((unsigned char)s[i]); i++) {
		v = v * 10 + (s[i] - '0');
		if (v > 4194304)
			return 0;
	}
	while (i < len && isspace((unsigned char)s[i]))
		i++;
	return i == len ? (int)v : 0;
}

static int read_pid_at(const struct amx_home *h, const char *dir, const char *name)
{
	char *buf = NULL;
	size_t len = 0;
	if (amx_userfile_read(dir, name, h->owner.uid, h->owner.gid, 64, &buf, &len) < 0)
		return 0;
	int pid = parse_pid(buf, len);
	free(buf);
	return pid;
}

int amx_home_read_god_pid(const struct amx_home *h)
{
	return read_pid_at(h, h->path, "pm2.pid");
}

int amx_home_read_pid_file(const struct amx_home *h, const char *file)
{
	if (strchr(file, '/') || file[0] == '.')
		return 0;
	char dir[4200];
	snprintf(dir, sizeof(dir), "%s/pids", h->path);
	return read_pid_at(h, dir, file);
}

struct amx_app *amx_home_app_by_name(struct amx_home *h, const char *name)
{
	for (size_t i = 0; i < h->n_apps; i++)
		if (strcmp(h->apps[i].name, name) == 0)
			return &h->apps[i];
	return NULL;
}

struct amx_instance *amx_home_instance_with_pid(struct amx_home *h, int pid, struct amx_app **app)
{
	if (pid <= 0)
		return NULL;
	for (size_t i = 0; i < h->n_apps; i++)
		for (unsigned k = 0; k < h->apps[i].n_inst; k++)
			if (h->apps[i].inst[k].pid == pid) {
				*app = &h->apps[i];
				return &h->apps[i].inst[k];
			}
	return NULL;
}

struct amx_instance *amx_home_instance_by_pid_file(struct amx_home *h, const char *file,
						   struct amx_app **app)
{
	for (size_t i = 0; i < h->n_apps; i++)
		for (unsigned k = 0; k < h->apps[i].n_inst; k++)
			if (h->apps[i].inst[k].pid_file[0] &&
			    !strcmp(h->apps[i].inst[k].pid_file, file)) {
				*app = &h->apps[i];
				return &h->apps[i].inst[k];
			}
	return NULL;
}

/* What PM2 put in a process's environment: a fork-mode app has name=, pm_pid_path=,
 * NODE_APP_INSTANCE= as variables; a cluster worker (forked by Node's cluster module inside
 * the God daemon) has them only inside pm2_env=<JSON>. */
struct pm2_identity {
	char name[AMX_NAME_MAX];
	char home[4200];
	char pid_path[AMX_PATH_MAX];
	int node_app_instance;
};

static void copy_json_string(json_t *o, const char *key, char *out, size_t len)
{
	json_t *v = json_object_get(o, key);
	if (json_is_string(v))
		snprintf(out, len, "%s", json_string_value(v));
}

static bool read_identity(int pid, struct pm2_identity *id)
{
	memset(id, 0, sizeof(*id));
	id->node_app_instance = -1;
	char num[32];
	if (amx_proc_environ_get(pid, "name", id->name, sizeof(id->name))) {
		amx_proc_environ_get(pid, "PM2_HOME", id->home, sizeof(id->home));
		amx_proc_environ_get(pid, "pm_pid_path", id->pid_path, sizeof(id->pid_path));
		if (amx_proc_environ_get(pid, "NODE_APP_INSTANCE", num, sizeof(num)) &&
		    isdigit((unsigned char)num[0]))
			id->node_app_instance = atoi(num);
		return true;
	}
	size_t cap = 256 * 1024;
	char *env = malloc(cap);
	if (!env)
		return false;
	json_t *o = NULL;
	if (amx_proc_environ_get(pid, "pm2_env", env, cap))
		o = json_loads(env, JSON_REJECT_DUPLICATES, NULL);
	free(env);
	if (!json_is_object(o)) {
		json_decref(o);
		return false;
	}
	copy_json_string(o, "name", id->name, sizeof(id->name));
	copy_json_string(o, "PM2_HOME", id->home, sizeof(id->home));
	copy_json_string(o, "pm_pid_path", id->pid_path, sizeof(id->pid_path));
	json_t *v = json_object_get(o, "NODE_APP_INSTANCE");
	if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) < 65536)
		id->node_app_instance = (int)json_integer_value(v);
	json_decref(o);
	return id->name[0] != '\0';
}

struct amx_instance *amx_home_instance_of_pid(struct amx_home *h, int pid, struct amx_app **app)
{
	struct pm2_identity id;
	if (!read_identity(pid, &id))
		return NULL;
	/* An app of another PM2 home can carry the same name. */
	if (id.home[0] && strcmp(id.home, h->path) != 0)
		return NULL;
	struct amx_app *a = amx_home_app_by_name(h, id.name);
	if (!a)
		return NULL;
	*app = a;
	const char *base = strrchr(id.pid_path, '/');
	for (unsigned k = 0; base && k < a->n_inst; k++)
		if (a->inst[k].pid_file[0] && !strcmp(a->inst[k].pid_file, base + 1))
			return &a->inst[k];
	/* Resurrected instances get new pm_ids (and pid files) until the next save. */
	for (unsigned k = 0; k < a->n_inst; k++)
		if (a->inst[k].node_app_instance == id.node_app_instance)
			return &a->inst[k];
	return a->n_inst == 1 ? &a->inst[0] : NULL;
}

struct amx_app *amx_home_app_of_pid(struct amx_home *h, int pid)
{
	struct amx_app *a = NULL;
	return amx_home_instance_of_pid(h, pid, &a) ? a : NULL;
}

void amx_home_dump_source(const struct amx_home *h, size_t max, bool store,
			  struct amx_dump_source *s)
{
	snprintf(s->dir, sizeof(s->dir), "%s", h->path);
	s->uid = h->owner.uid;
	s->gid = h->owner.gid;
	s->max = max;
	s->have_good = h->have_good && h->good_raw;
	s->good_raw = h->good_raw;
	s->good_raw_len = h->good_raw_len;
	s->good_n_apps = h->good.n_apps;
	snprintf(s->state_file, sizeof(s->state_file), "%s", store ? h->state_file : "");
	s->make_room = false;
}

/* The zeroed arrays for matching a dump of n apps (home_sync.c takes them). */
static void make_room(struct amx_dump_read *r, size_t n)
{
	r->fresh_cap = n ? n : 1;
	r->fresh_apps = calloc(r->fresh_cap, sizeof(*r->fresh_apps));
	r->fresh_old = calloc(r->fresh_cap, sizeof(*r->fresh_old));
	if (!r->fresh_apps || !r->fresh_old) {
		free(r->fresh_apps);
		free(r->fresh_old);
		r->fresh_apps = NULL;
		r->fresh_old = NULL;
		r->fresh_cap = 0;
	}
}

void amx_dump_source_read(const struct amx_dump_source *s, struct amx_dump_read *r)
{
	memset(r, 0, sizeof(*r));
	mode_t mode = 0;
	int e = amx_userfile_read_mode(s->dir, "dump.pm2", s->uid, s->gid, s->max, &r->raw,
				       &r->raw_len, &mode);
	r->mode = mode;
	if (e == -EFBIG) {
		r->problem = AMX_DUMP_TOO_BIG;
		r->over_max = s->max < AMX_DUMP_MAX_BYTES;
		return;
	}
	if (e < 0) {
		r->problem = -1000 + e;
		return;
	}
	/* The bytes we hold already (a save that changed nothing, the daemon's exit reading
	 * it again): the parse, about 25 ns a byte here (0.2 ms for 6 apps, milliseconds for
	 * hundreds), is the larger part of a file event's work; skip it. */
	if (s->have_good && r->raw_len == s->good_raw_len &&
	    memcmp(r->raw, s->good_raw, r->raw_len) == 0) {
		r->unchanged = true;
		r->problem = AMX_DUMP_OK;
		free(r->raw); /* the good copy holds these bytes */
		r->raw = NULL;
		if (s->make_room)
			make_room(r, s->good_n_apps);
		return;
	}
	enum amx_dump_problem p = amx_dump_parse(r->raw, r->raw_len, &r->dump);
	if (p == AMX_DUMP_EMPTY)
		r->not_yet = true;
	struct amx_dump last = { .apps = NULL, .n_apps = s->good_n_apps };
	r->problem = amx_dump_judge(p, &r->dump, s->have_good ? &last : NULL);
	if (r->problem != AMX_DUMP_OK) {
		amx_dump_free(&r->dump);
		free(r->raw);
		r->raw = NULL;
		return;
	}
	/* The state file's copy of the bytes is made here too (16 MB, on the worker). */
	if (s->state_file[0])
		r->stored = amx_statefile_put(s->state_file, r->raw, r->raw_len) == 0;
	if (s->make_room)
		make_room(r, r->dump.n_apps);
}

void amx_home_read_dump(const struct amx_home *h, struct amx_dump_read *r)
{
	struct amx_dump_source s = { .max = 0 };
	amx_home_dump_source(h, AMX_DUMP_MAX_BYTES, false, &s);
	amx_dump_source_read(&s, r);
}

void amx_dump_read_free(struct amx_dump_read *r)
{
	amx_dump_free(&r->dump);
	free(r->raw);
	r->raw = NULL;
	amx_dump_free(&r->replaced);
	free(r->replaced_raw);
	r->replaced_raw = NULL;
	free(r->fresh_apps);
	free(r->fresh_old);
	r->fresh_apps = NULL;
	r->fresh_old = NULL;
	r->fresh_cap = 0;
}

const char *amx_dump_read_problem(const struct amx_dump_read *r)
{
	if (r->problem <= -1000) {
		switch (-(r->problem + 1000)) {
		case ENOENT: return "missing";
		case ELOOP: return "symlink";
		case EINVAL: return "not-a-regular-file";
		case EPERM: return "wrong-owner";
		default: return "unreadable";
		}
	}
	if (r->problem == AMX_DUMP_EMPTIED)
		return "emptied";
	return amx_dump_problem_name((enum amx_dump_problem)r->problem);
}

/* The read's dump becomes the good one (unless it is the good one's bytes); the apps are
 * not matched yet. */
static void adopt_good(struct amx_home *h, struct amx_dump_read *r)
{
	/* Every CLOSE_WRITE of dump.pm2 lands here: rewrite (and fsync) the good copy only
	 * when the bytes changed, or a user saving in a loop makes us write 16 MB each time.
	 * The read compared them with the good copy already (r->unchanged). */
	amx_home_sync_cancel(h);
	h->dump_valid = true;
	h->dump_problem[0] = '\0';
	h->good_mode = r->mode;
	if (r->unchanged && h->good_raw)
		return; /* not parsed: the good copy stays as it is */
	/* The old copy goes to the caller, who frees it where it costs the loop nothing. */
	amx_dump_free(&r->replaced);
	free(r->replaced_raw);
	r->replaced = h->good;
	r->replaced_raw = h->good_raw;
	h->good = r->dump;
	memset(&r->dump, 0, sizeof(r->dump));
	h->good_raw = r->raw;
	h->good_raw_len = r->raw_len;
	r->raw = NULL;
	h->have_good = true;
	if (h->good_raw && !r->stored)
		amx_statefile_put(h->state_file, h->good_raw, h->good_raw_len);
}

void amx_home_adopt_dump(struct amx_home *h, struct amx_dump_read *r, const char *const *only,
			 int n_only)
{
	adopt_good(h, r);
	amx_home_sync_all(h, only, n_only);
}

void amx_home_adopt_dump_parts(struct amx_home *h, struct amx_dump_read *r)
{
	adopt_good(h, r);
	amx_home_sync_begin_with(h, r);
}

bool amx_home_load_good_copy(struct amx_home *h, const char *const *only, int n_only)
{
	char *raw = NULL;
	size_t len = 0;
	if (amx_statefile_get(h->state_file, AMX_DUMP_MAX_BYTES, &raw, &len) < 0)
		return false;
	struct amx_dump d = { 0 };
	if (amx_dump_parse(raw, len, &d) != AMX_DUMP_OK || d.n_apps == 0) {
		amx_dump_free(&d);
		free(raw);
		return false;
	}
	amx_home_sync_cancel(h);
	amx_dump_free(&h->good);
	h->good = d;
	free(h->good_raw);
	h->good_raw = raw;
	h->good_raw_len = len;
	h->good_mode = 0; /* not kept with the copy: restored as the owner's alone */
	h->have_good = true;
	amx_home_sync_all(h, only, n_only);
	return true;
}

int amx_home_restore_dump(struct amx_home *h)
{
	if (!h->have_good || !h->good_raw)
		return -ENOENT;
	/* The original's mode (the dump holds the apps' env: secrets, often), never more than
	 * rw for anyone and no special bits; unknown: the owner's alone. The temp file is
	 * created with it, so the bytes are never readable wider for a moment. */
	mode_t mode = h->good_mode ? (mode_t)(h->good_mode & 0666) : 0600;
	return amx_userfile_write(h->path, "dump.pm2", h->owner.uid, h->owner.gid, h->good_raw,
				  h->good_raw_len, mode);
}

bool amx_home_wants_daemon(const struct amx_home *h)
{
	for (size_t i = 0; i < h->n_apps; i++)
		if (h->apps[i].desired_online)
			return true;
	return false;
}
