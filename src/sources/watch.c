/* SPDX-License-Identifier: MIT */
#include "sources/watch.h"
#include "sys/sched.h"

#include <errno.h>
#include <inotifytools/inotify.h>
#include <inotifytools/inotifytools.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* A bounded queue: if the loop falls far behind, we drop and ask for a re-scan instead
 * of growing without limit. Its pages are touched only up to the deepest backlog (see
 * amx_watcher_take). */
#define QUEUE_MAX 4096
#define MAX_WATCHES 256

struct watch_slot {
	int wd;
	int home;
	bool is_pids_dir;
};

struct amx_watcher {
	pthread_t thread;
	atomic_bool stop;
	int efd;
	pthread_mutex_t lock;
	struct amx_fs_event queue[QUEUE_MAX];
	int head, count;
	bool overflowed;
	/* Owned by the thread after start. */
	char **homes;
	int n_homes;
	struct watch_slot slots[MAX_WATCHES];
	int n_slots;
	bool home_gone; /* a home's watch went away: look for it without waiting 1 s */
};

static const uint32_t DIR_EVENTS = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
				   IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF | IN_DONT_FOLLOW |
				   IN_ONLYDIR;

static uint64_t boot_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void push(struct amx_watcher *w, int home, enum amx_fs_what what, uint32_t mask,
		 const char *name)
{
	pthread_mutex_lock(&w->lock);
	if (w->count == QUEUE_MAX) {
		w->overflowed = true;
	} else {
		struct amx_fs_event *e = &w->queue[(w->head + w->count) % QUEUE_MAX];
		memset(e, 0, sizeof(*e));
		e->home = home;
		e->what = what;
		e->mask = mask;
		e->seen_ns = boot_ns();
		if (name)
			snprintf(e->name, sizeof(e->name), "%s", name);
		w->count++;
	}
	pthread_mutex_unlock(&w->lock);
	uint64_t one = 1;
	if (write(w->efd, &one, sizeof(one)) < 0) {
		/* The counter cannot overflow in practice; nothing to do. */
	}
}

static struct watch_slot *slot_by_wd(struct amx_watcher *w, int wd)
{
	for (int i = 0; i < w->n_slots; i++)
		if (w->slots[i].wd == wd)
			return &w->slots[i];
	return NULL;
}

static void forget_wd(struct amx_watcher *w, int wd)
{
	for (int i = 0; i < w->n_slots; i++) {
		if (w->slots[i].wd == wd) {
			w->slots[i] = w->slots[--w->n_slots];
			return;
		}
	}
}

/* Add a watch; returns false when the directory is missing (it may appear later). */
static bool add_dir(struct amx_watcher *w, int home, bool pids)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s%s", w->homes[home], pids ? "/pids" : "");
	if (w->n_slots == MAX_WATCHES)
		return false;
	if (!inotifytools_watch_file(path, (int)DIR_EVENTS))
		return false;
	int wd = inotifytools_wd_from_filename(path);
	if (wd < 0) {
		/* The library stores directory names with a trailing slash. */
		strncat(path, "/", sizeof(path) - strlen(path) - 1);
		wd = inotifytools_wd_from_filename(path);
	}
	if (wd < 0)
		return false;
	if (!slot_by_wd(w, wd))
		w->slots[w->n_slots++] = (struct watch_slot){ .wd = wd, .home = home, .is_pids_dir = pids };
	return true;
}

static bool home_watched(const struct amx_watcher *w, int home)
{
	for (int i = 0; i < w->n_slots; i++)
		if (w->slots[i].home == home && !w->slots[i].is_pids_dir)
			return true;
	return false;
}

/* A PM2_HOME deleted and made again: nothing watches its parent (a directory the user
 * owns), so the thread looks for it each second while it is missing. Returns whether a
 * home is still missing. */
static bool rewatch_missing_homes(struct amx_watcher *w)
{
	bool missing = false;
	for (int h = 0; h < w->n_homes; h++) {
		if (home_watched(w, h))
			continue;
		if (!add_dir(w, h, false)) {
			missing = true;
			continue;
		}
		add_dir(w, h, true);
		push(w, h, AMX_FS_RESCAN, 0, "home");
	}
	return missing;
}

static void handle(struct amx_watcher *w, const struct inotify_event *ev)
{
	if (ev->mask & IN_Q_OVERFLOW) {
		for (int h = 0; h < w->n_homes; h++)
			push(w, h, AMX_FS_RESCAN, ev->mask, "overflow");
		return;
	}
	struct watch_slot *s = slot_by_wd(w, ev->wd);
	if (!s)
		return;
	int home = s->home;
	bool pids = s->is_pids_dir;
	if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
		/* The directory went away or moved: drop the watch, re-add what exists. */
		if (ev->mask & IN_IGNORED) {
			forget_wd(w, ev->wd);
			/* The library keeps its record of a watch the kernel dropped (removing
			 * it fails, the kernel no longer knows the wd) and would hand the dead wd
			 * back when the same path is watched again: rename the record away. */
			char gone[64];
			snprintf(gone, sizeof(gone), "/amexbpf-dropped-watch/%d", ev->wd);
			inotifytools_set_filename_by_wd(ev->wd, gone);
		}
		if (!pids && (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)))
			add_dir(w, home, false);
		if (!pids && (ev->mask & IN_IGNORED))
			w->home_gone = true; /* the thread looks for it again */
		push(w, home, AMX_FS_RESCAN, ev->mask, pids ? "pids" : "home");
		return;
	}
	const char *name = ev->len ? ev->name : "";
	if (pids) {
		size_t n = strlen(name);
		if (n > 4 && strcmp(name + n - 4, ".pid") == 0 && !(ev->mask & IN_ISDIR))
			push(w, home, AMX_FS_PID_FILE, ev->mask, name);
		return;
	}
	if ((ev->mask & IN_ISDIR) && strcmp(name, "pids") == 0) {
		if (ev->mask & (IN_CREATE | IN_MOVED_TO))
			add_dir(w, home, true);
		push(w, home, AMX_FS_RESCAN, ev->mask, "pids");
		return;
	}
	if (strcmp(name, "pm2.pid") == 0)
		push(w, home, AMX_FS_GOD_PID, ev->mask, name);
	else if (strcmp(name, "dump.pm2") == 0)
		push(w, home, AMX_FS_DUMP, ev->mask, name);
}

/* Stopping the thread: it blocks in the library's select() on an inotify descriptor we
 * cannot reach (the library has no fd getter). pthread_cancel unwound it through the
 * library's frames, which AddressSanitizer then reported at thread exit; instead a signal
 * with a handler that does nothing makes select() fail with EINTR, and the thread sees
 * the stop flag. */
#define WAKE_SIGNAL (SIGRTMIN + 1)

static void on_wake(int sig)
{
	(void)sig;
}

static void *watch_thread(void *arg)
{
	struct amx_watcher *w = arg;
	bool missing = false;
	uint64_t last_try = 0;
	sigset_t wake;
	sigemptyset(&wake);
	sigaddset(&wake, WAKE_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &wake, NULL);
	/* A file event (pm2.pid removed, a dump rewritten) must be handled as fast as an
	 * exit: the same class as the loop's thread (--sched). */
	char err[256];
	if (amx_sched_raise_self(err, sizeof(err)) < 0)
		fprintf(stderr, "amexbpf: inotify thread: %s; running without it\n", err);
	while (!atomic_load(&w->stop)) {
		if (w->home_gone || (missing && boot_ns() - last_try >= 1000000000ull)) {
			w->home_gone = false;
			missing = rewatch_missing_homes(w);
			last_try = boot_ns();
		}
		/* 0 = block until an event (1 s while a home is missing). The library returns
		 * events it already buffered without blocking, so calling it again at once
		 * drains the buffer. */
		struct inotify_event *ev = inotifytools_next_event(missing ? 1 : 0);
		if (ev) {
			/* Only act on what changes state; OPEN/ACCESS from readers are noise. */
			if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
					IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED |
					IN_Q_OVERFLOW))
				handle(w, ev);
			continue;
		}
		int e = inotifytools_error();
		if (e && e != EINTR && !atomic_load(&w->stop)) {
			for (int h = 0; h < w->n_homes; h++)
				push(w, h, AMX_FS_RESCAN, 0, "inotify-error");
			struct timespec pause = { 0, 100 * 1000 * 1000 };
			nanosleep(&pause, NULL); /* back off from a persistent read error */
		}
	}
	return NULL;
}

struct amx_watcher *amx_watcher_start(const char *const *homes, int n_homes, char *err,
				      size_t errlen)
{
	struct amx_watcher *w = calloc(1, sizeof(*w));
	if (!w) {
		snprintf(err, errlen, "failed to allocate the file watcher");
		return NULL;
	}
	pthread_mutex_init(&w->lock, NULL);
	w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	w->homes = calloc((size_t)n_homes + 1, sizeof(char *));
	w->n_homes = n_homes;
	if (w->efd < 0 || !w->homes) {
		snprintf(err, errlen, "failed to create the watcher eventfd: %s", strerror(errno));
		goto fail;
	}
	struct sigaction sa = { .sa_handler = on_wake }; /* no SA_RESTART: select() returns */
	sigemptyset(&sa.sa_mask);
	sigaction(WAKE_SIGNAL, &sa, NULL);
	if (!inotifytools_initialize()) {
		snprintf(err, errlen, "failed to initialise inotify: %s",
			 strerror(inotifytools_error()));
		goto fail;
	}
	for (int h = 0; h < n_homes; h++) {
		w->homes[h] = strdup(homes[h]);
		if (!add_dir(w, h, false)) {
			snprintf(err, errlen, "failed to watch %s: %s", homes[h],
				 strerror(inotifytools_error() ? inotifytools_error() : ENOENT));
			goto fail;
		}
		add_dir(w, h, true); /* pids/ may not exist yet; its creation is seen */
	}
	if (pthread_create(&w->thread, NULL, watch_thread, w) != 0) {
		snprintf(err, errlen, "failed to start the watcher thread");
		goto fail;
	}
	return w;
fail:
	if (w->efd >= 0)
		close(w->efd);
	free(w->homes);
	free(w);
	return NULL;
}

int amx_watcher_fd(const struct amx_watcher *w)
{
	return w->efd;
}

int amx_watcher_take(struct amx_watcher *w, struct amx_fs_event *out, int max)
{
	uint64_t counter;
	if (read(w->efd, &counter, sizeof(counter)) < 0) {
		/* EAGAIN: nothing signalled since the last take; still drain below. */
	}
	int n = 0;
	pthread_mutex_lock(&w->lock);
	if (w->overflowed && max > 0) {
		/* Our own queue was full: events were dropped, so ask for a full re-scan. */
		for (int h = 0; h < w->n_homes && n < max; h++)
			out[n++] = (struct amx_fs_event){ .home = h, .what = AMX_FS_RESCAN,
							  .name = "queue-overflow", .seen_ns = boot_ns() };
		w->overflowed = false;
	}
	while (w->count > 0 && n < max) {
		out[n++] = w->queue[w->head];
		w->head = (w->head + 1) % QUEUE_MAX;
		w->count--;
	}
	bool more = w->count > 0;
	/* Empty: start again at slot 0. The queue is 4096 slots of 280 bytes; a head going
	 * round it would touch all 1.1 MB over hours (a soak saw RSS creep by that much)
	 * though the backlog never passed a few hundred. */
	if (!more)
		w->head = 0;
	pthread_mutex_unlock(&w->lock);
	if (more) {
		uint64_t one = 1;
		if (write(w->efd, &one, sizeof(one)) < 0) {
			/* ignore: see push() */
		}
	}
	return n;
}

/* The signal can land just before the thread enters select(): send it again until the
 * thread is gone. */
static void stop_thread(struct amx_watcher *w)
{
	atomic_store(&w->stop, true);
	for (;;) {
		pthread_kill(w->thread, WAKE_SIGNAL);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 20 * 1000 * 1000;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		if (pthread_timedjoin_np(w->thread, NULL, &until) == 0)
			break;
	}
	atomic_store(&w->stop, false);
}

bool amx_watcher_add_homes(struct amx_watcher *w, const char *const *homes, int n_homes,
			   char *err, size_t errlen)
{
	if (n_homes <= w->n_homes)
		return true;
	stop_thread(w);
	char **more = realloc(w->homes, ((size_t)n_homes + 1) * sizeof(char *));
	bool ok = more != NULL;
	if (more) {
		w->homes = more;
		for (int h = w->n_homes; h < n_homes; h++)
			w->homes[h] = strdup(homes[h]);
		w->n_homes = n_homes;
		w->home_gone = true; /* the thread watches the new homes (or waits for them) */
	} else {
		snprintf(err, errlen, "failed to allocate the new homes' watches");
	}
	if (pthread_create(&w->thread, NULL, watch_thread, w) != 0) {
		snprintf(err, errlen, "failed to start the watcher thread again");
		return false;
	}
	return ok;
}

void amx_watcher_stop(struct amx_watcher *w)
{
	if (!w)
		return;
	stop_thread(w);
	close(w->efd);
	for (int h = 0; h < w->n_homes; h++)
		free(w->homes[h]);
	free(w->homes);
	free(w);
}
