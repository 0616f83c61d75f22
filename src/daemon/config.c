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

#include "core/option_table.h"
#include "daemon/config.h"

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

/* A string this process allocated (listed in Owned) freed and unlisted: the value a key
 * given again replaces. Defaults and argv strings are not listed, so never freed. */
static void forget(const char *s)
{
	for (size_t i = 0; s && i < Owned.n; i++) {
		if (Owned.v[i] == s) {
			free(Owned.v[i]);
			Owned.v[i] = Owned.v[--Owned.n];
			return;
		}
	}
}

/* The rows whose field is a const char * (the value is kept, as a copy). */
static bool holds_string(const struct amx_option *r)
{
	return r->type == AMX_OPT_WORD || r->type == AMX_OPT_STRING || r->type == AMX_OPT_PATH ||
	       r->type == AMX_OPT_FILE || r->type == AMX_OPT_URL;
}

/* The file's one check beyond the table's: an ecosystem file must exist (when the daemon
 * reads it, a typo would only show on the first tier 3). */
static void check_regular_file(struct load *l, const char *key, const char *v)
{
	struct stat st;
	errno = 0;
	if (stat(v, &st) < 0 || !S_ISREG(st.st_mode))
		problem(l, "%s: %s: %s", key, v, errno ? strerror(errno) : "not a regular file");
}

/* key = v for a row of the option table, into base (the section's struct). A list takes
 * several words (blank or comma separated); a string is kept as a copy. */
static void set_key(struct load *l, const struct amx_option *r, const char *v, void *base)
{
	char msg[600];
	if (r->type == AMX_OPT_LIST) {
		char *copy = strdup(v), *save = NULL;
		for (char *p = strtok_r(copy, " \t,", &save); p; p = strtok_r(NULL, " \t,", &save)) {
			char *word = keep(l, p);
			if (!amx_option_set(r, word, AMX_FROM_FILE, base, msg, sizeof(msg))) {
				problem(l, "%s", msg);
				forget(word);
			}
		}
		free(copy);
		return;
	}
	if (!holds_string(r)) {
		if (!amx_option_set(r, v, AMX_FROM_FILE, base, msg, sizeof(msg)))
			problem(l, "%s", msg);
		return;
	}
	const char **field = (const char **)((char *)base + r->field);
	const char *old = *field;
	char *copy = keep(l, v);
	if (!amx_option_set(r, copy, AMX_FROM_FILE, base, msg, sizeof(msg))) {
		problem(l, "%s", msg);
		forget(copy);
		return;
	}
	forget(old);
	if (r->type == AMX_OPT_FILE)
		check_regular_file(l, r->key, v);
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
	o->home_pm2[o->n_homes] = NULL;
	o->home_node[o->n_homes] = NULL;
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

static void global_key(struct load *l, const char *k, const char *v)
{
	const struct amx_option *r = amx_option_by_key(AMX_SECTION_GLOBAL, k);
	if (!r) {
		problem(l, "unknown key in [amexbpf]: %s", k);
		return;
	}
	if (r->field == offsetof(struct amx_options, homes)) {
		/* a list of homes that need no [home] section of their own; one home named by
		 * both is one home */
		char *copy = strdup(v), *save = NULL;
		for (char *p = strtok_r(copy, " \t,", &save); p; p = strtok_r(NULL, " \t,", &save))
			add_home(l, p);
		free(copy);
		return;
	}
	set_key(l, r, v, l->o);
}

static void home_key(struct load *l, const char *home, const char *k, const char *v)
{
	int i = add_home(l, home);
	if (i < 0)
		return;
	const struct amx_option *r = amx_option_by_key(AMX_SECTION_HOME, k);
	if (r)
		set_key(l, r, v, &l->o->home_ecosystem[i]);
	else
		problem(l, "unknown key in [home]: %s", k);
}

static void app_key(struct load *l, const char *name, const char *k, const char *v)
{
	struct amx_app_conf *a = add_app(l, name);
	if (!a)
		return;
	const struct amx_option *r = amx_option_by_key(AMX_SECTION_APP, k);
	if (r)
		set_key(l, r, v, a);
	else
		problem(l, "unknown key in [app]: %s", k);
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

long long amx_config_home_app_limit(const struct amx_options *o, const char *home,
				    const char *name)
{
	for (int i = 0; home && i < o->n_apps; i++) {
		const struct amx_app_conf *a = &o->apps[i];
		if (a->home && a->memory_limit_bytes > 0 && !strcmp(a->name, name) &&
		    !strcmp(a->home, home))
			return a->memory_limit_bytes;
	}
	return 0;
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

static const char *home_slot(const struct amx_options *o, const char *const *slots,
			     const char *home)
{
	for (int i = 0; home && i < o->n_homes; i++)
		if (slots[i] && !strcmp(o->homes[i], home))
			return slots[i];
	return NULL;
}

const char *amx_config_home_pm2(const struct amx_options *o, const char *home)
{
	return home_slot(o, o->home_pm2, home);
}

const char *amx_config_home_node(const struct amx_options *o, const char *home)
{
	return home_slot(o, o->home_node, home);
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
