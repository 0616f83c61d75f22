/* SPDX-License-Identifier: MIT */
/* The reacting threads' scheduling class (sys/sched.h). sched_setattr is called through
 * syscall(): glibc 2.36 has no wrapper. */
#include "sys/sched.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SCHED_DEADLINE
#define SCHED_DEADLINE 6
#endif
#ifndef SCHED_FLAG_RESET_ON_FORK
#define SCHED_FLAG_RESET_ON_FORK 0x01
#endif

struct amx_sched_attr { /* struct sched_attr, SCHED_ATTR_SIZE_VER0 */
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime;
	uint64_t sched_deadline;
	uint64_t sched_period;
};

#define MAX_RAISED 8

static enum amx_sched_mode chosen = AMX_SCHED_OFF;
static unsigned chosen_priority;
static struct rlimit rttime_before = { RLIM_INFINITY, RLIM_INFINITY };
static bool rttime_set;
static int demoted_fd = -1;
static atomic_bool demoted;
static _Atomic pid_t raised[MAX_RAISED]; /* 0: a free slot */
static char description[160] = "off";

static int set_attr(pid_t tid, const struct amx_sched_attr *a)
{
	return (int)syscall(SYS_sched_setattr, tid, a, 0U);
}

static void ordinary(struct amx_sched_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	a->sched_policy = SCHED_OTHER;
}

/* Async-signal-safe: raw system calls and atomics only. */
static void drop_all(void)
{
	struct amx_sched_attr a;
	pid_t tgid = getpid();

	ordinary(&a);
	a.sched_flags = SCHED_FLAG_RESET_ON_FORK;
	for (int i = 0; i < MAX_RAISED; i++) {
		pid_t tid = atomic_load(&raised[i]);
		/* Only a thread of ours: a tid of a thread gone may be someone else's now. */
		if (tid > 0 && syscall(SYS_tgkill, tgid, tid, 0) == 0)
			set_attr(tid, &a);
	}
}

static void on_xcpu(int sig)
{
	int saved = errno;
	uint64_t one = 1;

	(void)sig;
	drop_all();
	if (!atomic_exchange(&demoted, true) && demoted_fd >= 0 &&
	    write(demoted_fd, &one, sizeof(one)) < 0) {
		/* the flag is set; the loop will not hear of it, nothing else to do here */
	}
	errno = saved;
}

static const char *const names[] = { "fifo", "rr", "deadline", "slice", "nice", "off" };

static void describe_chosen(void)
{
	switch (chosen) {
	case AMX_SCHED_FIFO:
	case AMX_SCHED_RR:
		snprintf(description, sizeof(description), "%s %u", names[chosen], chosen_priority);
		break;
	case AMX_SCHED_DEADLINE:
		snprintf(description, sizeof(description), "deadline %llu us every %llu us",
			 AMX_SCHED_DL_RUNTIME_NS / 1000, AMX_SCHED_DL_PERIOD_NS / 1000);
		break;
	case AMX_SCHED_SLICE:
		snprintf(description, sizeof(description), "slice %llu us",
			 AMX_SCHED_SLICE_NS / 1000);
		break;
	case AMX_SCHED_NICE:
		snprintf(description, sizeof(description), "nice %d", AMX_SCHED_NICE_VALUE);
		break;
	case AMX_SCHED_OFF:
		snprintf(description, sizeof(description), "off");
		break;
	}
}

int amx_sched_setup(enum amx_sched_mode mode, unsigned priority, char *err, size_t errlen)
{
	chosen = mode;
	chosen_priority = priority;
	describe_chosen();
	/* deadline too: its fall-back is fifo */
	if (mode != AMX_SCHED_FIFO && mode != AMX_SCHED_RR && mode != AMX_SCHED_DEADLINE)
		return 0;
	if (demoted_fd < 0)
		demoted_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_xcpu;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (!rttime_set && getrlimit(RLIMIT_RTTIME, &rttime_before) < 0)
		rttime_before.rlim_cur = rttime_before.rlim_max = RLIM_INFINITY;
	/* The soft limit only: the hard one stays as found, so that a child can be given
	 * back exactly what the daemon had without CAP_SYS_RESOURCE (not in the unit). */
	struct rlimit guard = { AMX_SCHED_RTTIME_SOFT_US, rttime_before.rlim_max };
	if (guard.rlim_cur > guard.rlim_max)
		guard.rlim_cur = guard.rlim_max;
	if (demoted_fd < 0 || sigaction(SIGXCPU, &sa, NULL) < 0 ||
	    setrlimit(RLIMIT_RTTIME, &guard) < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot set the CPU-time guard of --sched %s: %s",
			 names[mode], strerror(e));
		snprintf(description, sizeof(description), "off (%s guard refused: %s)",
			 names[mode], strerror(e));
		chosen = AMX_SCHED_OFF;
		return -e;
	}
	rttime_set = true;
	return 0;
}

static void attr_of(enum amx_sched_mode mode, struct amx_sched_attr *a)
{
	ordinary(a);
	a->sched_flags = SCHED_FLAG_RESET_ON_FORK;
	switch (mode) {
	case AMX_SCHED_FIFO:
	case AMX_SCHED_RR:
		a->sched_policy = mode == AMX_SCHED_FIFO ? SCHED_FIFO : SCHED_RR;
		a->sched_priority = chosen_priority;
		break;
	case AMX_SCHED_DEADLINE:
		a->sched_policy = SCHED_DEADLINE;
		a->sched_runtime = AMX_SCHED_DL_RUNTIME_NS;
		a->sched_deadline = AMX_SCHED_DL_PERIOD_NS;
		a->sched_period = AMX_SCHED_DL_PERIOD_NS;
		break;
	case AMX_SCHED_SLICE:
		a->sched_runtime = AMX_SCHED_SLICE_NS; /* SCHED_OTHER: the slice (6.12+) */
		break;
	case AMX_SCHED_NICE:
		a->sched_nice = AMX_SCHED_NICE_VALUE;
		break;
	case AMX_SCHED_OFF:
		break;
	}
}

/* Remember the calling thread (whatever the class: a reload may raise it later). */
static bool remember_self(pid_t self)
{
	int slot = -1;
	for (int i = 0; i < MAX_RAISED && slot < 0; i++) {
		pid_t tid = atomic_load(&raised[i]);
		if (tid == self || tid == 0 || syscall(SYS_tgkill, getpid(), tid, 0) != 0)
			slot = i; /* ours already, free, or a thread gone */
	}
	if (slot < 0)
		return false;
	atomic_store(&raised[slot], self);
	return true;
}

/* Put thread tid (0: the caller) in the chosen class; off: SCHED_OTHER, nice 0. */
static int apply(pid_t tid, char *err, size_t errlen)
{
	struct amx_sched_attr a;
	attr_of(chosen, &a);
	int rc = set_attr(tid, &a);
	if (rc < 0 && chosen == AMX_SCHED_DEADLINE) {
		/* Refused (a cpuset narrower than the root domain, no bandwidth left, an old
		 * kernel): SCHED_FIFO, under the same guard, is the next best (benchmarks.md). */
		int e = errno;
		attr_of(AMX_SCHED_FIFO, &a);
		rc = set_attr(tid, &a);
		if (rc == 0)
			snprintf(description, sizeof(description), "fifo %u (deadline refused: %s)",
				 chosen_priority, strerror(e));
		else
			errno = e;
	}
	if (rc < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot set --sched %s: %s%s", names[chosen], strerror(e),
			 e == EPERM ? " (CAP_SYS_NICE, or the unit's RestrictRealtime=)" :
			 e == EBUSY ? " (SCHED_DEADLINE: no bandwidth left in the root domain)" :
			 e == EINVAL && chosen == AMX_SCHED_SLICE ? " (custom slices need Linux 6.12)" :
			 "");
		snprintf(description, sizeof(description), "off (%s refused: %s)", names[chosen],
			 strerror(e));
		return -e;
	}
	return 0;
}

int amx_sched_raise_self(char *err, size_t errlen)
{
	if (!remember_self((pid_t)syscall(SYS_gettid))) {
		snprintf(err, errlen, "cannot raise more than %d threads", MAX_RAISED);
		return -ENOSPC;
	}
	if (chosen == AMX_SCHED_OFF || atomic_load(&demoted))
		return 0;
	return apply(0, err, errlen);
}

int amx_sched_reconfigure(enum amx_sched_mode mode, unsigned priority, char *err,
			  size_t errlen)
{
	bool was_off = chosen == AMX_SCHED_OFF && strcmp(description, "off") == 0;
	if (mode == chosen && priority == chosen_priority && !atomic_load(&demoted))
		return 0;
	if (mode == AMX_SCHED_OFF && was_off)
		return 0; /* never raised: nothing to undo, the threads stay as started */
	int rc = amx_sched_setup(mode, priority, err, errlen);
	/* An operator's reload asks again after a drop: the guard is armed again. */
	atomic_store(&demoted, false);
	int first = rc;
	for (int i = 0; i < MAX_RAISED; i++) {
		pid_t tid = atomic_load(&raised[i]);
		if (tid <= 0 || syscall(SYS_tgkill, getpid(), tid, 0) != 0)
			continue;
		char e2[256];
		int r = apply(tid, e2, sizeof(e2));
		if (r < 0 && first == 0) {
			first = r;
			snprintf(err, errlen, "%s", e2);
		}
	}
	if (first < 0 && rc == 0) {
		/* refused: every thread back to ordinary, as a start that failed leaves them */
		char d[sizeof(description)];
		snprintf(d, sizeof(d), "%s", description);
		chosen = AMX_SCHED_OFF;
		for (int i = 0; i < MAX_RAISED; i++) {
			pid_t tid = atomic_load(&raised[i]);
			char e3[64];
			if (tid > 0 && syscall(SYS_tgkill, getpid(), tid, 0) == 0)
				apply(tid, e3, sizeof(e3));
		}
		snprintf(description, sizeof(description), "%s", d);
	}
	return first;
}

int amx_sched_demoted_fd(void)
{
	return demoted_fd;
}

bool amx_sched_take_demotion(void)
{
	uint64_t n;
	if (demoted_fd < 0 || read(demoted_fd, &n, sizeof(n)) != sizeof(n))
		return false;
	drop_all(); /* the handler did; a thread raised since (a reload) too */
	snprintf(description, sizeof(description),
		 "off (%s dropped: a thread ran %llu ms without blocking)", names[chosen],
		 AMX_SCHED_RTTIME_SOFT_US / 1000);
	return true;
}

const char *amx_sched_describe(void)
{
	return description;
}

void amx_sched_child_reset(void)
{
	struct amx_sched_attr a;

	ordinary(&a); /* no RESET_ON_FORK flag: the child's own children are its business */
	set_attr(0, &a);
	if (rttime_set)
		syscall(SYS_prlimit64, 0, RLIMIT_RTTIME, &rttime_before, NULL);
}

int amx_sched_ordinary_self(void)
{
	struct amx_sched_attr a;

	ordinary(&a);
	a.sched_flags = SCHED_FLAG_RESET_ON_FORK;
	return set_attr(0, &a) < 0 ? -errno : 0;
}

int amx_sched_policy_of(int tid, int *nice)
{
	struct amx_sched_attr a;
	memset(&a, 0, sizeof(a));
	if (syscall(SYS_sched_getattr, tid, &a, sizeof(a), 0U) < 0)
		return -errno;
	if (nice)
		*nice = a.sched_nice;
	return (int)a.sched_policy;
}
