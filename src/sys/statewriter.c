/* SPDX-License-Identifier: MIT */
/* The state-file writer thread (sys/statewriter.h). One thread, a short FIFO of writes:
 * taken oldest first, one at a time, so that the writes of one path land in order; a
 * queued (not yet started) write of a path is replaced by a newer one, since only the
 * newest bytes matter. */
#include "sys/statewriter.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sys/userfile.h"

/* A few per home at most (its good copy, its toolchain): a queue this
 * deep is a disk that stopped answering, and the loop then waits, as it did before. */
#define MAX_ITEMS 64

struct item {
	char *path;
	char *data; /* NULL with remove */
	size_t len;
	bool remove;
	bool busy; /* the thread is writing it */
	uint64_t seq;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work = PTHREAD_COND_INITIALIZER;
static pthread_cond_t idle = PTHREAD_COND_INITIALIZER;
static struct item items[MAX_ITEMS];
static int n_items;
static uint64_t next_seq = 1;
static bool running, stopping;
static pthread_t thread;
static unsigned long done;

static void item_free(struct item *it)
{
	free(it->path);
	free(it->data);
	memset(it, 0, sizeof(*it));
}

static int apply(const char *path, const char *data, size_t len, bool remove)
{
	if (remove)
		return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
	return amx_statefile_write(path, data, len);
}

/* The oldest item not being written, or -1. */
static int oldest_waiting(void)
{
	int best = -1;
	for (int i = 0; i < n_items; i++)
		if (!items[i].busy && (best < 0 || items[i].seq < items[best].seq))
			best = i;
	return best;
}

static void *writer(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	for (;;) {
		int i = oldest_waiting();
		if (i < 0) {
			if (stopping)
				break;
			pthread_cond_wait(&work, &lock);
			continue;
		}
		items[i].busy = true;
		/* The item stays in place while busy: put() and get() see it, and nothing
		 * moves it (removals below swap only after the write). */
		struct item it = items[i];
		pthread_mutex_unlock(&lock);
		int rc = apply(it.path, it.data, it.len, it.remove);
		if (rc < 0)
			fprintf(stderr, "amexbpf: failed to %s %s: %s\n",
				it.remove ? "remove" : "write", it.path, strerror(-rc));
		pthread_mutex_lock(&lock);
		for (int k = 0; k < n_items; k++) {
			if (items[k].seq == it.seq) {
				item_free(&items[k]);
				items[k] = items[--n_items];
				memset(&items[n_items], 0, sizeof(items[n_items]));
				break;
			}
		}
		done++;
		pthread_cond_broadcast(&idle);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

int amx_statewriter_start(void)
{
	pthread_mutex_lock(&lock);
	if (running) {
		pthread_mutex_unlock(&lock);
		return 0;
	}
	/* No signal for this thread: the daemon takes them through its signalfd. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	stopping = false;
	int rc = pthread_create(&thread, NULL, writer, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	running = rc == 0;
	pthread_mutex_unlock(&lock);
	return -rc;
}

/* Queue a write or a remove; false when it must be done at once (no thread, no room). */
static bool enqueue(const char *path, const char *data, size_t len, bool remove)
{
	char *copy = NULL;
	if (!remove && data) {
		copy = malloc(len ? len : 1);
		if (!copy)
			return false;
		memcpy(copy, data, len);
	}
	pthread_mutex_lock(&lock);
	if (!running) {
		pthread_mutex_unlock(&lock);
		free(copy);
		return false;
	}
	for (int i = 0; i < n_items; i++) {
		if (!items[i].busy && strcmp(items[i].path, path) == 0) {
			free(items[i].data);
			items[i].data = copy;
			items[i].len = len;
			items[i].remove = remove;
			pthread_mutex_unlock(&lock);
			return true;
		}
	}
	/* No room: wait for the disk, as the loop did before the thread. */
	while (n_items == MAX_ITEMS && running)
		pthread_cond_wait(&idle, &lock);
	char *p = strdup(path);
	if (!p || !running) {
		pthread_mutex_unlock(&lock);
		free(p);
		free(copy);
		return false;
	}
	items[n_items++] = (struct item){ .path = p, .data = copy, .len = len, .remove = remove,
					  .seq = next_seq++ };
	pthread_cond_signal(&work);
	pthread_mutex_unlock(&lock);
	return true;
}

int amx_statefile_put(const char *path, const char *data, size_t len)
{
	if (enqueue(path, data, len, false))
		return 0;
	amx_statewriter_flush(); /* nothing older of this path may land after it */
	return apply(path, data, len, false);
}

int amx_statefile_remove(const char *path)
{
	if (enqueue(path, NULL, 0, true))
		return 0;
	amx_statewriter_flush();
	return apply(path, NULL, 0, true);
}

int amx_statefile_get(const char *path, size_t max, char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	pthread_mutex_lock(&lock);
	int newest = -1;
	for (int i = 0; i < n_items; i++)
		if (strcmp(items[i].path, path) == 0 &&
		    (newest < 0 || items[i].seq > items[newest].seq))
			newest = i;
	if (newest < 0) {
		pthread_mutex_unlock(&lock);
		return amx_statefile_read(path, max, out, len);
	}
	int rc = 0;
	if (items[newest].remove) {
		rc = -ENOENT;
	} else if (items[newest].len > max) {
		rc = -EFBIG;
	} else if (!(*out = malloc(items[newest].len + 1))) {
		rc = -ENOMEM;
	} else {
		memcpy(*out, items[newest].data, items[newest].len);
		(*out)[items[newest].len] = '\0';
		*len = items[newest].len;
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

void amx_statewriter_flush(void)
{
	pthread_mutex_lock(&lock);
	while (running && n_items > 0)
		pthread_cond_wait(&idle, &lock);
	pthread_mutex_unlock(&lock);
}

void amx_statewriter_stop(void)
{
	pthread_mutex_lock(&lock);
	if (!running) {
		pthread_mutex_unlock(&lock);
		return;
	}
	stopping = true;
	pthread_cond_signal(&work);
	pthread_mutex_unlock(&lock);
	pthread_join(thread, NULL); /* it leaves only with the queue empty */
	pthread_mutex_lock(&lock);
	running = false;
	pthread_mutex_unlock(&lock);
}

unsigned long amx_statewriter_done(void)
{
	pthread_mutex_lock(&lock);
	unsigned long n = done;
	pthread_mutex_unlock(&lock);
	return n;
}
