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

/* Open dir from "/" one component at a time (openat, O_NOFOLLOW|O_DIRECTORY: no symlink
 * anywhere on the way) and decide whose rights the pass takes. A directory owned by a user,
 * or writable by others without the sticky bit, hands what follows it to that user (or to
 * anyone): past it, only that user's own directory is worked in, as that user; root's
 * rights only when root alone controls every component, the last included. Returns the fd
 * and the uid and gid to act as, or -1 with the reason in r. */
static int open_verified(const char *dir, struct amx_retain_result *r, uid_t *uid, gid_t *gid)
{
	char path[4096], *save = NULL;
	struct stat st;
	bool anyone = false;     /* a group/other-writable, non-sticky directory on the way */
	uid_t ctl = 0;           /* the user who controls what follows, 0: root alone */

	if (dir[0] != '/' || snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path)) {
		note_error(r, "open", dir, EINVAL);
		return -1;
	}
	int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		note_error(r, "open", "/", errno);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	for (char *c = strtok_r(path, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		/* what controls the name c in this directory */
		bool sticky = st.st_mode & S_ISVTX;
		if (st.st_uid != 0 && !ctl)
			ctl = st.st_uid;
		else if (st.st_uid != 0 && st.st_uid != ctl)
			anyone = true; /* two users on the way */
		if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !sticky)
			anyone = true;
		if (!strcmp(c, ".."))
			anyone = true; /* never walk back up */
		int next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int e = errno;
		close(fd);
		if (next < 0) {
			note_error(r, "open", dir, e == ENOTDIR ? ELOOP : e);
			return -1;
		}
		fd = next;
		if (fstat(fd, &st) < 0) {
			note_error(r, "stat", dir, errno);
			close(fd);
			return -1;
		}
		/* in a sticky directory an entry is its owner's to replace */
		if (sticky && st.st_uid != 0) {
			if (!ctl)
				ctl = st.st_uid;
			else if (ctl != st.st_uid)
				anyone = true;
		}
	}
	/* the directory itself: whoever may write in it controls its entries */
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
		anyone = true;
	if (st.st_uid != 0 && ctl && ctl != st.st_uid)
		anyone = true;
	if (anyone || (st.st_uid == 0 && ctl)) {
		/* root's directory under a user's, or one others may write to */
		note_error(r, "refuse (a user controls the path to)", dir, EPERM);
		close(fd);
		return -1;
	}
	*uid = st.st_uid;
	*gid = st.st_gid;
	return fd;
}

void amx_retain_pass(const char *dir, unsigned days, time_t now, struct amx_retain_result *r)
{
	uid_t uid;
	gid_t gid;
	int dfd = open_verified(dir, r, &uid, &gid);

	if (dfd < 0)
		return;
	if (!amx_fs_become(uid, gid))
		note_error(r, "become the owner of", dir, EPERM);
	else
		retain_in(dfd, days, now, r);
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
