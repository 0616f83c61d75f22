/* SPDX-License-Identifier: MIT */
/* The config file: libinih splits it into (section, key, value); this file knows which keys
 * exist, checks every value, and reports each problem with its line number. libinih does not
 * pass line numbers to the handler as Debian builds it, so the reader it calls once per line
 * counts them. */
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/config.h"
#include "daemon/disk.h"
#include "report/notify.h"
#include "daemon/retain.h"

bool amx_parse_seconds(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || v < 0 || v > 86400 * 30)
		return false;
	*out = v;
	return true;
}

bool amx_parse_budget(const char *s, unsigned *n, double *window)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end != '/' || v == 0 || v > 64)
		return false;
	if (!amx_parse_seconds(end + 1, window) || *window <= 0)
		return false;
	*n = (unsigned)v;
	return true;
}

bool amx_parse_count(const char *s, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 1000)
		return false;
	*out = (unsigned)v;
	return true;
}

bool amx_parse_bytes(const char *s, long long *out)
{
	char *end;
	errno = 0;
	if (*s < '0' || *s > '9')
		return false;
	unsigned long long v = strtoull(s, &end, 10);
	unsigned shift = 0;
	if (*end == 'K' || *end == 'k')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	if (shift)
		end++;
	if (errno || end == s || *end || v == 0 || v > (1ull << 50) >> shift)
		return false;
	*out = (long long)(v << shift);
	return true;
}

bool amx_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return true;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return true;
		}
	}
	return false;
}

/* ---------------------------------------------------------------- the reader */

struct load {
	const char *path;
	FILE *f;
	int line;              /* of the line the handler is looking at */
	struct amx_options *o;
	char *problems;
	size_t len;
	int n_problems;
	/* keys seen in the current section, to refuse a key given twice */
	char section[512];
	char seen[48][32];
	int n_seen;
};

static void problem(struct load *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct load *l, const char *fmt, ...)
{
	size_t used = strlen(l->problems);
	if (used + 1 < l->len) {
		char msg[600];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		snprintf(l->problems + used, l->len - used, "%s:%d: %s\n", l->path, l->line, msg);
	}
	l->n_problems++;
}

/* Called by libinih for each physical line. A line longer than its buffer is reported and
 * the rest of it skipped, so that the tail is not read as a line of its own. */
static char *read_counting_lines(char *str, int num, void *stream)
{
	struct load *l = stream;
	char *r = fgets(str, num, l->f);
	if (!r)
		return NULL;
	l->line++;
	size_t n = strlen(r);
	if (n > 0 && r[n - 1] != '\n' && !feof(l->f)) {
		int c;
		while ((c = getc(l->f)) != EOF && c != '\n')
			;
		problem(l, "line longer than %d characters", num - 2);
	}
	return r;
}

/* Every string the options hold beyond argv and literals. A reload builds new options and
 * the old strings stay here, reachable (a few bytes per SIGHUP), instead of lost. */
static struct {
	char **v;
	size_t n, cap;
} Owned;

char *amx_config_own(char *s)
{
	if (!s)
		return NULL;
	if (Owned.n == Owned.cap) {
		size_t cap = Owned.cap ? Owned.cap * 2 : 32;
		char **v = realloc(Owned.v, cap * sizeof(*v));
		if (!v)
			return s; /* not listed: the one string is lost, the value still works */
		Owned.v = v;
		Owned.cap = cap;
	}
	Owned.v[Owned.n++] = s;
	return s;
}

void amx_config_free_strings(void)
{
	for (size_t i = 0; i < Owned.n; i++)
		free(Owned.v[i]);
	free(Owned.v);
	Owned.v = NULL;
	Owned.n = Owned.cap = 0;
}

static char *keep(struct load *l, const char *s)
{
	(void)l;
	return amx_config_own(strdup(s));
}

/* *field = a copy of v. A value this process allocated earlier (the same key in a
 * repeated section) is freed: options are built afresh on reload, so nothing else points
 * at it. Defaults and argv strings are not listed, so never freed. */
static void set_string(struct load *l, const char **field, const char *v)
{
	for (size_t i = 0; *field && i < Owned.n; i++) {
		if (Owned.v[i] == *field) {
			free(Owned.v[i]);
			Owned.v[i] = Owned.v[--Owned.n];
			break;
		}
	}
	*field = keep(l, v);
}

static bool absolute_file(struct load *l, const char *key, const char *v, bool must_exist)
{
	if (v[0] != '/') {
		problem(l, "%s: not an absolute path: %s", key, v);
		return false;
	}
	struct stat st;
	errno = 0;
	if (must_exist && (stat(v, &st) < 0 || !S_ISREG(st.st_mode))) {
		problem(l, "%s: %s: %s", key, v, errno ? strerror(errno) : "not a regular file");
		return false;
	}
	return true;
}

static bool valid_probe(const char *v)
{
	/* http://HOST[:PORT][/PATH], no spaces: the probe is a plain HTTP GET */
	if (strncmp(v, "http://", 7) != 0 || !v[7] || v[7] == '/' || v[7] == ':')
		return false;
	return strpbrk(v, " \t\"'\\") == NULL;
}

/* ---------------------------------------------------------------- sections */

static int find_home(struct amx_options *o, const char *path)
{
	for (int i = 0; i < o->n_homes; i++)
		if (!strcmp(o->homes[i], path))
			return i;
	return -1;
}

static int add_home(struct load *l, const char *path)
{
	struct amx_options *o = l->o;
	int i = find_home(o, path);
	if (i >= 0)
		return i;
	if (path[0] != '/') {
		problem(l, "PM2 home is not an absolute path: %s", path);
		return -1;
	}
	if (o->n_homes == AMX_MAX_HOMES) {
		problem(l, "too many PM2 homes (at most %d)", AMX_MAX_HOMES);
		return -1;
	}
	o->homes[o->n_homes] = keep(l, path);
	o->home_ecosystem[o->n_homes] = NULL;
	o->homes_given = true;
	return o->n_homes++;
}

static struct amx_app_conf *find_app(struct amx_options *o, const char *name)
{
	for (int i = 0; i < o->n_apps; i++)
		if (!strcmp(o->apps[i].name, name))
			return &o->apps[i];
	return NULL;
}

static struct amx_app_conf *add_app(struct load *l, const char *name)
{
	struct amx_options *o = l->o;
	struct amx_app_conf *a = find_app(o, name);
	if (a)
		return a;
	if (o->n_apps == AMX_MAX_APP_CONF) {
		problem(l, "too many [app] sections (at most %d)", AMX_MAX_APP_CONF);
		return NULL;
	}
	a = &o->apps[o->n_apps++];
	memset(a, 0, sizeof(*a));
	a->name = keep(l, name);
	a->manual_grace_s = -1;
	return a;
}

/* A list key (blank or comma separated): each word checked, then added to list. */
static void add_words(struct load *l, const char *k, const char *v, const char **list, int *n,
		      int max, bool (*valid)(const char *))
{
	char *copy = strdup(v), *save = NULL;
	for (char *p = strtok_r(copy, " \t,", &save); p; p = strtok_r(NULL, " \t,", &save)) {
		if (!valid(p))
			problem(l, "bad value for %s: %s", k, p);
		else if (*n >= max)
			problem(l, "%s: too many (at most %d)", k, max);
		else
			list[(*n)++] = keep(l, p);
	}
	free(copy);
}

static bool valid_app_name(const char *v)
{
	return *v != '\0';
}

static bool valid_mount(const char *v)
{
	return v[0] == '/';
}

static bool valid_retain(const char *v)
{
	const char *dir;
	size_t len;
	unsigned days;
	return amx_retain_parse(v, &dir, &len, &days);
}

static void global_key(struct load *l, const char *k, const char *v)
{
	struct amx_options *o = l->o;
	bool ok = true;
	if (!strcmp(k, "pm2-home")) {
		/* a list: homes that need no [home] section of their own */
		char *copy = strdup(v), *save = NULL;
		for (char *p = strtok_r(copy, " \t,", &save); p; p = strtok_r(NULL, " \t,", &save))
			add_home(l, p);
		free(copy);
		return;
	} else if (!strcmp(k, "app")) {
		add_words(l, k, v, o->only, &o->n_only, AMX_MAX_ONLY, valid_app_name);
		return;
	} else if (!strcmp(k, "ecosystem")) {
		if (absolute_file(l, k, v, true))
			set_string(l, &o->ecosystem, v);
		return;
	} else if (!strcmp(k, "events")) {
		if (strcmp(v, "-") != 0 && v[0] != '/') {
			problem(l, "events: not an absolute path or -: %s", v);
			return;
		}
		set_string(l, &o->events_path, v);
	} else if (!strcmp(k, "state-dir")) {
		if (!absolute_file(l, k, v, false))
			return;
		set_string(l, &o->state_dir, v);
	} else if (!strcmp(k, "socket")) {
		if (!absolute_file(l, k, v, false))
			return;
		set_string(l, &o->socket_path, v);
	} else if (!strcmp(k, "pm2")) {
		if (!absolute_file(l, k, v, false))
			return;
		set_string(l, &o->pm2, v);
	} else if (!strcmp(k, "grace"))
		ok = amx_parse_seconds(v, &o->grace_s);
	else if (!strcmp(k, "manual-grace"))
		ok = amx_parse_seconds(v, &o->manual_grace_s);
	else if (!strcmp(k, "action-timeout"))
		ok = amx_parse_seconds(v, &o->action_timeout_s) && o->action_timeout_s >= 1;
	else if (!strcmp(k, "verify-timeout"))
		ok = amx_parse_seconds(v, &o->verify_timeout_s) && o->verify_timeout_s > 0;
	else if (!strcmp(k, "budget"))
		ok = amx_parse_budget(v, &o->budget_attempts, &o->budget_window_s);
	else if (!strcmp(k, "verbose"))
		ok = amx_parse_bool(v, &o->verbose);
	else if (!strcmp(k, "disk")) {
		add_words(l, k, v, o->disks, &o->n_disks, AMX_MAX_HOMES, valid_mount);
		return;
	} else if (!strcmp(k, "disk-threshold"))
		ok = amx_disk_threshold_parse(v, &o->disk_threshold_pct);
	else if (!strcmp(k, "retain")) {
		add_words(l, k, v, o->retains, &o->n_retains, AMX_MAX_HOMES, valid_retain);
		return;
	} else if (!strcmp(k, "probe-interval"))
		ok = amx_parse_seconds(v, &o->probe_interval_s) && o->probe_interval_s >= 0.1;
	else if (!strcmp(k, "probe-timeout"))
		ok = amx_parse_seconds(v, &o->probe_timeout_s) && o->probe_timeout_s >= 0.05;
	else if (!strcmp(k, "probe-failures"))
		ok = amx_parse_count(v, &o->probe_failures);
	else if (!strcmp(k, "socket-group"))
		o->socket_group = keep(l, v);
	else if (!strcmp(k, "textfile-dir")) {
		if (!absolute_file(l, k, v, false))
			return;
		o->textfile_dir = keep(l, v);
	} else if (!strcmp(k, "notify-exec")) {
		/* checked for good (owner, mode) by the notify module at start-up */
		if (!absolute_file(l, k, v, false))
			return;
		o->notify_exec = keep(l, v);
	} else if (!strcmp(k, "notify-user"))
		o->notify_user = keep(l, v);
	else if (!strcmp(k, "notify-level")) {
		ok = amx_level_rank(v) >= 0;
		if (ok)
			o->notify_level = keep(l, v);
	} else if (!strcmp(k, "notify-timeout"))
		ok = amx_parse_seconds(v, &o->notify_timeout_s) && o->notify_timeout_s > 0;
	else if (!strcmp(k, "notify-interval"))
		ok = amx_parse_seconds(v, &o->notify_interval_s);
	else if (!strcmp(k, "journal")) {
		bool on = true;
		ok = amx_parse_bool(v, &on);
		o->no_journal = !on;
	}
	else if (!strcmp(k, "bpf")) {
		if (!strcmp(v, "auto"))
			o->bpf_mode = AMX_BPF_AUTO;
		else if (!strcmp(v, "required"))
			o->bpf_mode = AMX_BPF_REQUIRED;
		else if (!strcmp(v, "off"))
			o->bpf_mode = AMX_BPF_OFF;
		else
			ok = false;
	} else {
		problem(l, "unknown key in [amexbpf]: %s", k);
		return;
	}
	if (!ok)
		problem(l, "bad value for %s: %s", k, v);
}

static void home_key(struct load *l, const char *home, const char *k, const char *v)
{
	int i = add_home(l, home);
	if (i < 0)
		return;
	if (!strcmp(k, "ecosystem")) {
		if (absolute_file(l, k, v, true))
			set_string(l, &l->o->home_ecosystem[i], v);
	} else {
		problem(l, "unknown key in [home]: %s", k);
	}
}

static void app_key(struct load *l, const char *name, const char *k, const char *v)
{
	struct amx_app_conf *a = add_app(l, name);
	if (!a)
		return;
	bool ok = true;
	if (!strcmp(k, "home")) {
		if (v[0] != '/') {
			problem(l, "home: not an absolute path: %s", v);
			return;
		}
		set_string(l, &a->home, v);
	} else if (!strcmp(k, "ecosystem")) {
		if (absolute_file(l, k, v, true))
			set_string(l, &a->ecosystem, v);
		return;
	} else if (!strcmp(k, "memory-limit"))
		ok = amx_parse_bytes(v, &a->memory_limit_bytes);
	else if (!strcmp(k, "probe")) {
		ok = valid_probe(v);
		if (ok)
			set_string(l, &a->probe_url, v);
	} else if (!strcmp(k, "manual-grace"))
		ok = amx_parse_seconds(v, &a->manual_grace_s);
	else if (!strcmp(k, "budget"))
		ok = amx_parse_budget(v, &a->budget_attempts, &a->budget_window_s);
	else {
		problem(l, "unknown key in [app]: %s", k);
		return;
	}
	if (!ok)
		problem(l, "bad value for %s: %s", k, v);
}

/* "word rest": the kind of section and its argument (leading and trailing blanks gone). */
static const char *section_arg(const char *section, const char *kind)
{
	size_t n = strlen(kind);
	if (strncmp(section, kind, n) != 0 || (section[n] != ' ' && section[n] != '\t'))
		return NULL;
	const char *arg = section + n;
	while (*arg == ' ' || *arg == '\t')
		arg++;
	return *arg ? arg : NULL;
}

static int on_key(void *user, const char *section, const char *raw_name, const char *value)
{
	struct load *l = user;
	/* Keys are named like the long options; notify_exec is read as notify-exec. */
	char name[64];
	snprintf(name, sizeof(name), "%s", raw_name);
	for (char *p = name; *p; p++)
		if (*p == '_')
			*p = '-';
	if (strcmp(section, l->section) != 0) {
		snprintf(l->section, sizeof(l->section), "%s", section);
		l->n_seen = 0;
	}
	for (int i = 0; i < l->n_seen; i++) {
		if (!strcmp(l->seen[i], name)) {
			problem(l, "%s given twice in this section (continuation lines are not supported)",
				name);
			return 1;
		}
	}
	if (l->n_seen < 48)
		snprintf(l->seen[l->n_seen++], sizeof(l->seen[0]), "%s", name);
	if (!value || !*value) {
		problem(l, "%s has no value", name);
		return 1;
	}
	const char *arg;
	if (!*section || !strcmp(section, "amexbpf"))
		global_key(l, name, value);
	else if ((arg = section_arg(section, "home")))
		home_key(l, arg, name, value);
	else if ((arg = section_arg(section, "app")))
		app_key(l, arg, name, value);
	else
		problem(l, "unknown section [%s] (use [amexbpf], [home PATH] or [app NAME])", section);
	/* Keep going: every problem is reported, not only the first. */
	return 1;
}

int amx_config_read(FILE *f, const char *path, struct amx_options *o, char *problems, size_t len)
{
	struct load l = { .path = path, .f = f, .o = o, .problems = problems, .len = len };
	if (len)
		problems[0] = '\0';
	int rc = ini_parse_stream(read_counting_lines, &l, on_key, &l);
	if (rc > 0) {
		/* libinih reports only the first line it could not split. */
		l.line = rc;
		problem(&l, "not a [section], a name = value line or a comment");
	} else if (rc < 0) {
		problem(&l, "could not be read");
	}
	o->config_path = path;
	return l.n_problems;
}

int amx_config_load(const char *path, struct amx_options *o, char *problems, size_t len)
{
	if (len)
		problems[0] = '\0';
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	int n = amx_config_read(f, path, o, problems, len);
	fclose(f);
	return n;
}

const struct amx_app_conf *amx_config_app(const struct amx_options *o, const char *home,
					  const char *name)
{
	for (int i = 0; i < o->n_apps; i++) {
		const struct amx_app_conf *a = &o->apps[i];
		if (!strcmp(a->name, name) && (!a->home || !home || !strcmp(a->home, home)))
			return a;
	}
	return NULL;
}

const char *amx_config_ecosystem(const struct amx_options *o, const char *home, const char *app)
{
	const struct amx_app_conf *a = app ? amx_config_app(o, home, app) : NULL;
	if (a && a->ecosystem)
		return a->ecosystem;
	for (int i = 0; home && i < o->n_homes; i++)
		if (o->home_ecosystem[i] && !strcmp(o->homes[i], home))
			return o->home_ecosystem[i];
	return o->ecosystem;
}

void amx_config_policy(const struct amx_options *o, struct amx_policy_config *cfg)
{
	amx_policy_config_defaults(cfg);
	cfg->grace_ms = (uint64_t)(o->grace_s * 1000);
	cfg->manual_grace_ms = (uint64_t)(o->manual_grace_s * 1000);
	cfg->verify_ms = (uint64_t)(o->verify_timeout_s * 1000);
	cfg->budget_attempts = o->budget_attempts;
	cfg->budget_window_ms = (uint64_t)(o->budget_window_s * 1000);
	cfg->have_ecosystem = o->ecosystem != NULL;
}

void amx_config_app_policy(const struct amx_options *o, const char *home, const char *app,
			   struct amx_policy_config *cfg)
{
	const struct amx_app_conf *a = amx_config_app(o, home, app);
	if (a && a->manual_grace_s >= 0)
		cfg->manual_grace_ms = (uint64_t)(a->manual_grace_s * 1000);
	if (a && a->budget_attempts > 0) {
		cfg->budget_attempts = a->budget_attempts;
		cfg->budget_window_ms = (uint64_t)(a->budget_window_s * 1000);
	}
	cfg->have_ecosystem = amx_config_ecosystem(o, home, app) != NULL;
}
