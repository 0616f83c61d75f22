/* SPDX-License-Identifier: MIT */
/* Log retention: see retain.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys/loop.h"
#include "daemon/retain.h"
#include "sys/userfile.h"

bool amx_retain_name_matches(const char *name)
{
	size_t n = strlen(name);
	return n > 4 && !strcmp(name + n - 4, ".log");
}

static void note_error(struct amx_retain_result *r, const char *what, const char *name, int err)
{
	if (r->errors++ == 0)
		snprintf(r->error, sizeof(r->error), "%s %s: %s", what, name, strerror(err));
}

/* The walk, already as the owner, over an open directory descriptor. */
static void retain_in(int dfd, unsigned days, time_t now, struct amx_retain_result *r)
{
	int lfd = dup(dfd);
	DIR *d = lfd >= 0 ? fdopendir(lfd) : NULL;
	time_t cutoff = now - (time_t)days * 86400;
	struct dirent *de;

	if (!d) {
		note_error(r, "list", ".", errno);
		if (lfd >= 0)
			close(lfd);
		return;
	}
	while ((de = readdir(d))) {
		struct stat st;
		if (!amx_retain_name_matches(de->d_name))
			continue;
		/* lstat relative to DIR: a symlink is itself, never what it points to */
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			note_error(r, "stat", de->d_name, errno);
			continue;
		}
		if (!S_ISREG(st.st_mode) || st.st_mtime >= cutoff)
			continue;
		if (unlinkat(dfd, de->d_name, 0) < 0) {
			note_error(r, "remove", de->d_name, errno);
			continue;
		}
		json_t *name = json_string(de->d_name); /* once: NULL for invalid UTF-8 */
		json_array_append_new(r->removed, name ? name : json_string("?"));
		r->bytes += (unsigned long long)st.st_size;
	}
	closedir(d);
}

void amx_retain_pass(const char *dir, unsigned days, time_t now, struct amx_retain_result *r)
{
	struct stat st;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (dfd < 0) {
		note_error(r, "open", dir, errno);
		return;
	}
	if (fstat(dfd, &st) < 0) {
		note_error(r, "stat", dir, errno);
	} else if (!amx_fs_become(st.st_uid, st.st_gid)) {
		note_error(r, "become the owner of", dir, EPERM);
	} else {
		retain_in(dfd, days, now, r);
	}
	amx_fs_become_root();
	close(dfd);
}

static struct {
	const char *const *specs;
	int n;
	struct amx_event_stream *stream;
	amx_emit_fn emit;
	void *emit_ctx;
	uint64_t next_ms;
} R;

static void report(const char *dir, unsigned days, struct amx_retain_result *r)
{
	size_t n = json_array_size(r->removed);
	json_t *ev = amx_event_new_level(R.stream, AMX_EVT_LOGS_RETAINED,
					 r->errors ? "warn" : "info", 0,
					 "removed %zu log file(s) older than %u days from %s%s", n,
					 days, dir, r->errors ? " (with errors)" : "");
	amx_event_set_str(ev, "amexbpf.retain.dir", dir);
	amx_event_set_int(ev, "amexbpf.retain.days", days);
	amx_event_set_int(ev, "amexbpf.retain.count", (int64_t)n);
	amx_event_set_int(ev, "amexbpf.retain.bytes", (int64_t)r->bytes);
	amx_event_set(ev, "amexbpf.retain.removed", json_incref(r->removed));
	if (r->errors) {
		amx_event_set_int(ev, "amexbpf.retain.errors", r->errors);
		amx_event_set_str(ev, "event.reason", r->error);
	}
	R.emit(R.emit_ctx, ev);
}

static void retain_all(void)
{
	for (int i = 0; i < R.n; i++) {
		const char *d;
		size_t len;
		unsigned days;
		char dir[4096];
		if (!amx_retain_parse(R.specs[i], &d, &len, &days) || len >= sizeof(dir))
			continue; /* validated at start-up */
		memcpy(dir, d, len);
		dir[len] = '\0';
		struct amx_retain_result r = { .removed = json_array() };
		amx_retain_pass(dir, days, time(NULL), &r);
		if (json_array_size(r.removed) || r.errors)
			report(dir, days, &r);
		json_decref(r.removed);
	}
}

static void retain_tick(void *ctx, uint64_t now_ms)
{
	(void)ctx;
	if (now_ms >= R.next_ms) {
		R.next_ms = now_ms + AMX_RETAIN_PERIOD_MS;
		retain_all();
	}
	amx_loop_wake_at(R.next_ms);
}

int amx_retain_start(const char *const *specs, int n, struct amx_event_stream *s, amx_emit_fn emit,
		     void *emit_ctx)
{
	R.specs = specs;
	R.n = n;
	R.stream = s;
	R.emit = emit;
	R.emit_ctx = emit_ctx;
	R.next_ms = 0; /* the first tick runs it: at start-up */
	return n ? amx_loop_add_ticker(retain_tick, NULL) : 0;
}
