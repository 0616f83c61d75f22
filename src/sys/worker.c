/* SPDX-License-Identifier: MIT */
/* The off-loop worker (sys/worker.h): one slot, a mutex, a condition for the thread and an
 * eventfd for the loop. */
#include "sys/worker.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "sys/sched.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work = PTHREAD_COND_INITIALIZER;
static pthread_t thread;
static bool running, stopping;
static struct amx_job *queued; /* handed over, not finished */
static struct amx_job *done;   /* finished, not taken */
static int done_fd = -1;

static void *worker(void *arg)
{
	(void)arg;
	/* Whatever the creating thread had: the loop's class is for reacting, not for
	 * parsing what a user wrote. */
	amx_sched_ordinary_self();
	pthread_mutex_lock(&lock);
	for (;;) {
		if (!queued) {
			if (stopping)
				break;
			pthread_cond_wait(&work, &lock);
			continue;
		}
		struct amx_job *j = queued;
		pthread_mutex_unlock(&lock);
		j->run(j);
		pthread_mutex_lock(&lock);
		queued = NULL;
		done = j;
		uint64_t one = 1;
		if (write(done_fd, &one, sizeof(one)) < 0) {
			/* the counter is full (never, with one job): the loop takes it anyway */
		}
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

int amx_worker_start(void)
{
	pthread_mutex_lock(&lock);
	if (running) {
		pthread_mutex_unlock(&lock);
		return 0;
	}
	if (done_fd < 0)
		done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (done_fd < 0) {
		int e = errno;
		pthread_mutex_unlock(&lock);
		return -e;
	}
	/* No signal for this thread: the daemon takes them through its signalfd. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	stopping = false;
	int rc = pthread_create(&thread, NULL, worker, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	running = rc == 0;
	pthread_mutex_unlock(&lock);
	return -rc;
}

bool amx_worker_running(void)
{
	pthread_mutex_lock(&lock);
	bool r = running && !stopping;
	pthread_mutex_unlock(&lock);
	return r;
}

bool amx_worker_submit(struct amx_job *j)
{
	pthread_mutex_lock(&lock);
	bool ok = running && !stopping && !queued && !done;
	if (ok) {
		queued = j;
		pthread_cond_signal(&work);
	}
	pthread_mutex_unlock(&lock);
	return ok;
}

int amx_worker_fd(void)
{
	return done_fd;
}

struct amx_job *amx_worker_take(void)
{
	uint64_t n;
	if (done_fd >= 0 && read(done_fd, &n, sizeof(n)) < 0) {
		/* EAGAIN: nothing signalled since the last take; the slot says the truth */
	}
	pthread_mutex_lock(&lock);
	struct amx_job *j = done;
	done = NULL;
	pthread_mutex_unlock(&lock);
	return j;
}

void amx_worker_stop(void)
{
	pthread_mutex_lock(&lock);
	if (!running) {
		pthread_mutex_unlock(&lock);
		return;
	}
	stopping = true;
	pthread_cond_signal(&work);
	pthread_mutex_unlock(&lock);
	pthread_join(thread, NULL); /* it leaves once the job in flight is done */
	pthread_mutex_lock(&lock);
	running = false;
	pthread_mutex_unlock(&lock);
}
