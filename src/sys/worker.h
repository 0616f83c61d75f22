/* SPDX-License-Identifier: MIT */
/* One job at a time off the loop's thread. Work whose size a user chooses (reading and
 * parsing a PM2 home's 16 MB dump.pm2 took the loop 0.2-0.3 s in one step) is handed to
 * this thread, and its result comes back through a descriptor the loop polls: the loop
 * reads the kernel's events meanwhile. One job in flight for the whole daemon keeps the
 * memory bounded (one parse's budget); the caller queues the rest as flags of its own.
 *
 * The thread is an ordinary SCHED_OTHER, nice 0 thread whatever --sched gives the loop
 * (it sets itself so at start, and is never in sys/sched.h's raised set): a user's file
 * must never run in the real-time class. It takes no signal. Before amx_worker_start and
 * after amx_worker_stop amx_worker_submit refuses, and the caller runs the job itself. */
#ifndef AMX_WORKER_H
#define AMX_WORKER_H

#include <stdbool.h>

struct amx_job {
	void (*run)(struct amx_job *j); /* on the worker thread; j is the caller's */
};

/* Start the thread (the daemon, once). 0, or -errno. */
int amx_worker_start(void);
/* Whether the thread runs. */
bool amx_worker_running(void);
/* Hand j over; false when no thread runs or a job is in flight (or done and not taken). */
bool amx_worker_submit(struct amx_job *j);
/* Readable (an eventfd) once a job is done; -1 before the start. */
int amx_worker_fd(void);
/* The job done, or NULL; the worker is free again once it is taken. */
struct amx_job *amx_worker_take(void);
/* Let the job in flight end, stop the thread and join it; a job done is left to take. */
void amx_worker_stop(void);

#endif
