/* SPDX-License-Identifier: MIT */
/* Disk space checks: see disk.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/disk.h"
#include "sys/loop.h"

double amx_disk_used_pct(const struct statvfs *v)
{
	double used = (double)(v->f_blocks - v->f_bfree);
	double usable = used + (double)v->f_bavail;
	return usable > 0 ? 100.0 * used / usable : 0;
}

enum amx_disk_change amx_disk_step(bool *known, bool *over, double used_pct, double threshold_pct)
{
	*known = true;
	if (!*over && used_pct >= threshold_pct) {
		*over = true;
		return AMX_DISK_WENT_OVER;
	}
	if (*over && used_pct < threshold_pct - AMX_DISK_HYSTERESIS_PCT) {
		*over = false;
		return AMX_DISK_WENT_OK;
	}
	return AMX_DISK_SAME;
}

struct watched_fs {
	char path[4096];
	dev_t dev;
	bool known, over;
};

static struct {
	struct watched_fs fs[AMX_DISK_MAX];
	int n;
	double threshold;
	struct amx_event_stream *stream;
	amx_emit_fn emit;
	void *emit_ctx;
	uint64_t next_ms;
} K;

static void check_fs(struct watched_fs *f)
{
	struct statvfs v;
	if (statvfs(f->path, &v) < 0)
		return; /* unmounted for now: keep the state, look again next time */
	double pct = amx_disk_used_pct(&v);
	enum amx_disk_change c = amx_disk_step(&f->known, &f->over, pct, K.threshold);
	if (c == AMX_DISK_SAME)
		return;
	bool over = c == AMX_DISK_WENT_OVER;
	json_t *ev = amx_event_new(K.stream, over ? AMX_EVT_DISK_OVER_THRESHOLD : AMX_EVT_DISK_OK,
				   0, "%s is %.1f%% full (threshold %.0f%%)", f->path, pct,
				   K.threshold);
	amx_event_set_str(ev, "amexbpf.disk.mount", f->path);
	amx_event_set(ev, "amexbpf.disk.used_pct", json_real((double)(long)(pct * 10) / 10));
	amx_event_set(ev, "amexbpf.disk.threshold_pct", json_real(K.threshold));
	amx_event_set_int(ev, "amexbpf.disk.free_bytes", (int64_t)((unsigned long long)v.f_bavail * v.f_frsize));
	K.emit(K.emit_ctx, ev);
}

static void disk_tick(void *ctx, uint64_t now_ms)
{
	(void)ctx;
	if (now_ms >= K.next_ms) {
		K.next_ms = now_ms + AMX_DISK_INTERVAL_MS;
		for (int i = 0; i < K.n; i++)
			check_fs(&K.fs[i]);
	}
	amx_loop_wake_at(K.next_ms);
}

/* The mount point holding path: the highest ancestor on the same device. */
static void mount_point_of(const char *path, dev_t dev, char *out, size_t len)
{
	char *real = realpath(path, NULL);
	snprintf(out, len, "%s", real ? real : path);
	free(real);
	for (;;) {
		char *slash = strrchr(out, '/');
		struct stat st;
		if (!slash || slash == out) {
			if (out[0] == '/' && out[1] && stat("/", &st) == 0 && st.st_dev == dev)
				snprintf(out, len, "/");
			return;
		}
		*slash = '\0';
		if (stat(out, &st) < 0 || st.st_dev != dev) {
			*slash = '/';
			return;
		}
	}
}

int amx_disk_start(const char *const *paths, int n, double threshold_pct,
		   struct amx_event_stream *s, amx_emit_fn emit, void *emit_ctx)
{
	K.threshold = threshold_pct;
	K.stream = s;
	K.emit = emit;
	K.emit_ctx = emit_ctx;
	K.n = 0;
	for (int i = 0; i < n && K.n < AMX_DISK_MAX; i++) {
		struct stat st;
		if (!paths[i] || stat(paths[i], &st) < 0)
			continue;
		bool dup = false;
		for (int j = 0; j < K.n; j++)
			dup |= K.fs[j].dev == st.st_dev;
		if (dup)
			continue;
		struct watched_fs *f = &K.fs[K.n++];
		mount_point_of(paths[i], st.st_dev, f->path, sizeof(f->path));
		f->dev = st.st_dev;
		f->known = f->over = false;
	}
	K.next_ms = 0;
	return K.n ? amx_loop_add_ticker(disk_tick, NULL) : 0;
}
