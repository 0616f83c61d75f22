/* SPDX-License-Identifier: MIT */
/* The scheduling class of the threads that react (the event loop, the inotify thread), so
 * that their wake-ups win on a saturated host (issue 16, docs/benchmarks.md). Every class
 * is set with sched_setattr and SCHED_FLAG_RESET_ON_FORK: whatever the daemon forks (pm2
 * commands, the hook, any PM2 daemon they start) is an ordinary SCHED_OTHER, nice 0
 * process; amx_sched_child_reset says so again in the child. deadline falls back to fifo
 * when the kernel refuses it (a cpuset narrower than the root domain, no bandwidth left).
 * The real-time classes (and deadline, for its fall-back) run
 * under RLIMIT_RTTIME: a thread that runs AMX_SCHED_RTTIME_SOFT_US without blocking gets
 * SIGXCPU, whose handler drops every raised thread to SCHED_OTHER at once and makes
 * amx_sched_demoted_fd readable, so that the loop says so (sched-demoted) instead of the
 * daemon dying or hogging a CPU. The hard limit is left as found (raising it back in a
 * child would need CAP_SYS_RESOURCE): should the drop ever fail, SIGXCPU comes again each
 * second, and the kernel's RT throttling still leaves 5 % of each CPU to the rest. */
#ifndef AMX_SCHED_H
#define AMX_SCHED_H

#include <stdbool.h>
#include <stddef.h>

#include "core/options.h" /* enum amx_sched_mode */

#define AMX_SCHED_RTTIME_SOFT_US 200000ull  /* 200 ms on a CPU without blocking */
#define AMX_SCHED_SLICE_NS 100000ull        /* "slice": EEVDF's shortest request, 0.1 ms */
/* Overridable at build time (-D) to measure other budgets (docs/benchmarks.md). */
#ifndef AMX_SCHED_DL_RUNTIME_NS
#define AMX_SCHED_DL_RUNTIME_NS 2000000ull  /* "deadline": 2 ms of CPU ... */
#endif
#ifndef AMX_SCHED_DL_PERIOD_NS
#define AMX_SCHED_DL_PERIOD_NS 10000000ull  /* ... in every 10 ms (deadline = period) */
#endif
#define AMX_SCHED_NICE_VALUE (-20)                /* "nice" */

/* Choose the class (once, from the main thread, before any raise): for fifo and rr also
 * sets RLIMIT_RTTIME and installs the SIGXCPU handler. 0, or -errno with err filled (the
 * daemon then runs without the class). */
int amx_sched_setup(enum amx_sched_mode mode, unsigned priority, char *err, size_t errlen);
/* Put the calling thread in the chosen class and remember it (for the drop, and for a
 * reload). 0 (also with AMX_SCHED_OFF, or after a drop: nothing is done), or -errno with
 * err filled. */
int amx_sched_raise_self(char *err, size_t errlen);
/* SIGHUP with another class: choose it, as amx_sched_setup does, and put every thread
 * raised before in it (off: SCHED_OTHER, nice 0); a guard's drop is forgotten (the
 * operator asked again). 0, or -errno with err filled; a class the kernel refuses leaves
 * every such thread ordinary, and amx_sched_describe says why. */
int amx_sched_reconfigure(enum amx_sched_mode mode, unsigned priority, char *err,
			  size_t errlen);
/* Readable (an eventfd) once the CPU-time guard dropped the class; -1 before setup. */
int amx_sched_demoted_fd(void);
/* Read the eventfd: true once per drop. */
bool amx_sched_take_demotion(void);
/* "fifo 10", "slice 100 us", "nice -20", "off": the class chosen, with what it applied to
 * ("off (fifo refused: Operation not permitted)" when it could not be set). */
const char *amx_sched_describe(void);
/* In a child between fork and exec (async-signal-safe): SCHED_OTHER, nice 0, the default
 * slice, RLIMIT_RTTIME as the daemon found it. */
void amx_sched_child_reset(void);

/* The calling thread to SCHED_OTHER, nice 0, the default slice, with
 * SCHED_FLAG_RESET_ON_FORK: a helper thread (sys/worker.h) that must never share the
 * loop's class, whoever created it. Not remembered: a reload never raises it. 0 or -errno. */
int amx_sched_ordinary_self(void);

/* The calling thread's policy (SCHED_OTHER, SCHED_FIFO, ...) and nice, for tests. */
int amx_sched_policy_of(int tid, int *nice);

#endif
