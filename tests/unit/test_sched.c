/* SPDX-License-Identifier: MIT */
/* The reacting threads' scheduling class (sys/sched.h): each class is set on the calling
 * thread; nothing spawned inherits it (a pm2 command, the hook's stdin path, their own
 * children: SCHED_OTHER, nice 0, the default slice, no RLIMIT_RTTIME); the CPU-time guard
 * drops every raised thread to SCHED_OTHER and says so instead of killing the daemon.
 * Needs root (CAP_SYS_NICE), as CI has. */
#include "check.h"
#include "test_users.h"
#include "sys/sched.h"
#include "sys/spawn.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>


/* Back to what a test starts from: SCHED_OTHER, nice 0, no guard. */
static void ordinary_again(void)
{
	char err[256];
	amx_sched_setup(AMX_SCHED_OFF, 0, err, sizeof(err));
	amx_sched_child_reset();
}

/* The value of "key : value" in a /proc/PID/sched or /proc/PID/limits text. */
static long field(const char *text, const char *key)
{
	const char *p = strstr(text, key);
	if (!p)
		return -999999;
	p += strlen(key);
	while (*p == ' ' || *p == ':')
		p++;
	return strtol(p, NULL, 10);
}

/* What a spawned shell, and the shell's own child, see of themselves. */
static void spawned_child_is_ordinary(const char *check_name, int input)
{
	struct amx_user u = nobody();
	/* The shell reads itself, then forks cat (a grandchild) to read itself too. */
	const char *script = "grep -E '^(policy|prio|se.slice) ' "
			     "/proc/$$/sched; echo child; grep -E '^(policy|prio|se.slice) ' "
			     "/proc/self/sched; grep 'realtime timeout' /proc/$$/limits";
	struct amx_argv a = { .n = 3, .v = { "/bin/sh", "-c", script } };
	struct amx_child c;
	char err[256] = "";
	int rc = input ? amx_spawn_input(&c, &a, &u, NULL, "{}\n", 3, err, sizeof(err))
		       : amx_spawn(&c, &a, &u, NULL, err, sizeof(err));
	CHECK(rc == 0);
	CHECK(amx_child_wait(&c, "sh", 10, err, sizeof(err)) == 0);
	CHECK(amx_child_succeeded(&c));
	char *child = strstr(c.output, "child");
	CHECK(child != NULL);
	if (child) {
		*child = '\0';
		child += strlen("child");
	}
	const char *parts[] = { c.output, child ? child : "" };
	for (int i = 0; i < 2; i++) {
		CHECK(field(parts[i], "policy") == 0);  /* SCHED_OTHER */
		CHECK(field(parts[i], "prio") == 120);  /* nice 0 */
		CHECK(field(parts[i], "se.slice") != 100000); /* not the custom slice */
	}
	if (!strstr(child ? child : "", "unlimited"))
		printf("  child said: %s\n", child ? child : "");
	CHECK(strstr(child ? child : "", "unlimited") != NULL); /* no RLIMIT_RTTIME */
	amx_child_release(&c);
}

static void raise_and_spawn(const char *check_name, enum amx_sched_mode mode, int want_policy, int want_nice)
{
	char err[256] = "";
	int nice = 99;
	CHECK(amx_sched_setup(mode, 10, err, sizeof(err)) == 0);
	int rc = amx_sched_raise_self(err, sizeof(err));
	if (rc != 0)
		printf("  %s: %s\n", amx_sched_describe(), err);
	CHECK(rc == 0);
	CHECK(amx_sched_policy_of(0, &nice) == want_policy);
	CHECK(nice == want_nice);
	spawned_child_is_ordinary(check_name, 0);
	spawned_child_is_ordinary(check_name, 1);
	ordinary_again();
	CHECK(amx_sched_policy_of(0, &nice) == SCHED_OTHER && nice == 0);
}

TEST(fifo_is_not_inherited)
{
	raise_and_spawn(check_name, AMX_SCHED_FIFO, SCHED_FIFO, 0);
	CHECK_STR(amx_sched_describe(), "off");
}

TEST(rr_is_not_inherited)
{
	raise_and_spawn(check_name, AMX_SCHED_RR, SCHED_RR, 0);
}

TEST(nice_is_not_inherited)
{
	raise_and_spawn(check_name, AMX_SCHED_NICE, SCHED_OTHER, -20);
}

TEST(slice_is_not_inherited)
{
	raise_and_spawn(check_name, AMX_SCHED_SLICE, SCHED_OTHER, 0);
}

TEST(deadline_is_not_inherited)
{
	raise_and_spawn(check_name, AMX_SCHED_DEADLINE, 6 /* SCHED_DEADLINE */, 0);
}

/* A cpuset narrower than the root domain refuses SCHED_DEADLINE: fifo instead. */
TEST(deadline_falls_back_to_fifo)
{
	char err[256] = "";
	cpu_set_t all, one;
	CHECK(sched_getaffinity(0, sizeof(all), &all) == 0);
	if (CPU_COUNT(&all) < 2) {
		printf("  (one CPU: nothing to narrow)\n");
		return;
	}
	CPU_ZERO(&one);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &all)) {
			CPU_SET(c, &one);
			break;
		}
	CHECK(sched_setaffinity(0, sizeof(one), &one) == 0);
	CHECK(amx_sched_setup(AMX_SCHED_DEADLINE, 10, err, sizeof(err)) == 0);
	CHECK(amx_sched_raise_self(err, sizeof(err)) == 0);
	CHECK(amx_sched_policy_of(0, NULL) == SCHED_FIFO);
	CHECK(strncmp(amx_sched_describe(), "fifo 10 (deadline refused", 25) == 0);
	ordinary_again();
	CHECK(sched_setaffinity(0, sizeof(all), &all) == 0);
}

TEST(off_changes_nothing)
{
	char err[256];
	int nice = 99;
	CHECK(amx_sched_setup(AMX_SCHED_OFF, 10, err, sizeof(err)) == 0);
	CHECK(amx_sched_raise_self(err, sizeof(err)) == 0);
	CHECK(amx_sched_policy_of(0, &nice) == SCHED_OTHER && nice == 0);
	CHECK(amx_sched_demoted_fd() < 0);
	CHECK_STR(amx_sched_describe(), "off");
}

TEST(describes_the_class)
{
	char err[256];
	amx_sched_setup(AMX_SCHED_FIFO, 7, err, sizeof(err));
	CHECK_STR(amx_sched_describe(), "fifo 7");
	amx_sched_setup(AMX_SCHED_SLICE, 7, err, sizeof(err));
	CHECK_STR(amx_sched_describe(), "slice 100 us");
	amx_sched_setup(AMX_SCHED_NICE, 7, err, sizeof(err));
	CHECK_STR(amx_sched_describe(), "nice -20");
	ordinary_again();
}

static atomic_int follower_policy = -1;
static atomic_bool follower_stop;

/* A thread that raised itself while the class was off (the inotify thread at start). */
static void *follower(void *arg)
{
	char err[256];
	(void)arg;
	amx_sched_raise_self(err, sizeof(err));
	while (!atomic_load(&follower_stop)) {
		atomic_store(&follower_policy, amx_sched_policy_of(0, NULL));
		struct timespec t = { 0, 1000000 };
		nanosleep(&t, NULL);
	}
	return NULL;
}

static bool follower_under(int policy)
{
	for (int i = 0; i < 1000 && atomic_load(&follower_policy) != policy; i++)
		usleep(1000);
	return atomic_load(&follower_policy) == policy;
}

/* SIGHUP with another class: every thread raised before moves at once, either way. */
TEST(reload_moves_every_raised_thread)
{
	char err[256] = "";
	int nice = 99;
	ordinary_again();
	CHECK(amx_sched_setup(AMX_SCHED_OFF, 10, err, sizeof(err)) == 0);
	CHECK(amx_sched_raise_self(err, sizeof(err)) == 0);
	pthread_t t;
	atomic_store(&follower_stop, false);
	CHECK(pthread_create(&t, NULL, follower, NULL) == 0);
	CHECK(follower_under(SCHED_OTHER));
	/* off again: nothing to do, nothing touched */
	CHECK(amx_sched_reconfigure(AMX_SCHED_OFF, 10, err, sizeof(err)) == 0);
	CHECK(amx_sched_policy_of(0, NULL) == SCHED_OTHER);
	CHECK(amx_sched_reconfigure(AMX_SCHED_FIFO, 12, err, sizeof(err)) == 0);
	CHECK(amx_sched_policy_of(0, NULL) == SCHED_FIFO);
	CHECK(follower_under(SCHED_FIFO));
	CHECK_STR(amx_sched_describe(), "fifo 12");
	CHECK(amx_sched_demoted_fd() >= 0); /* the guard comes with it */
	CHECK(amx_sched_reconfigure(AMX_SCHED_RR, 12, err, sizeof(err)) == 0);
	CHECK(amx_sched_policy_of(0, NULL) == SCHED_RR);
	CHECK(follower_under(SCHED_RR));
	CHECK(amx_sched_reconfigure(AMX_SCHED_NICE, 12, err, sizeof(err)) == 0);
	CHECK(amx_sched_policy_of(0, &nice) == SCHED_OTHER && nice == -20);
	CHECK(follower_under(SCHED_OTHER));
	CHECK(amx_sched_reconfigure(AMX_SCHED_OFF, 12, err, sizeof(err)) == 0);
	CHECK(amx_sched_policy_of(0, &nice) == SCHED_OTHER && nice == 0);
	CHECK_STR(amx_sched_describe(), "off");
	atomic_store(&follower_stop, true);
	pthread_join(t, NULL);
	ordinary_again();
}

static atomic_int helper_policy = -1;
static atomic_bool helper_stop;

static void *raised_helper(void *arg)
{
	char err[256];
	(void)arg;
	amx_sched_raise_self(err, sizeof(err));
	while (!atomic_load(&helper_stop)) {
		atomic_store(&helper_policy, amx_sched_policy_of(0, NULL));
		struct timespec t = { 0, 2000000 };
		nanosleep(&t, NULL);
	}
	return NULL;
}

static double cpu_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* Last: the drop is for the rest of the process's life. */
TEST(guard_drops_every_raised_thread)
{
	char err[256];
	CHECK(amx_sched_setup(AMX_SCHED_FIFO, 10, err, sizeof(err)) == 0);
	struct rlimit lim;
	CHECK(getrlimit(RLIMIT_RTTIME, &lim) == 0 && lim.rlim_cur == AMX_SCHED_RTTIME_SOFT_US && lim.rlim_max == RLIM_INFINITY);
	CHECK(amx_sched_raise_self(err, sizeof(err)) == 0);
	pthread_t t;
	CHECK(pthread_create(&t, NULL, raised_helper, NULL) == 0);
	for (int i = 0; i < 500 && atomic_load(&helper_policy) != SCHED_FIFO; i++)
		usleep(1000);
	CHECK(atomic_load(&helper_policy) == SCHED_FIFO);
	/* Spin without a blocking call past the soft limit (bounded by 1 s of CPU). */
	double start = cpu_s();
	while (amx_sched_policy_of(0, NULL) == SCHED_FIFO && cpu_s() - start < 1.0)
		;
	CHECK(amx_sched_policy_of(0, NULL) == SCHED_OTHER);
	struct pollfd p = { .fd = amx_sched_demoted_fd(), .events = POLLIN };
	CHECK(poll(&p, 1, 1000) == 1);
	CHECK(amx_sched_take_demotion());
	CHECK(!amx_sched_take_demotion()); /* once */
	for (int i = 0; i < 500 && atomic_load(&helper_policy) != SCHED_OTHER; i++)
		usleep(1000);
	CHECK(atomic_load(&helper_policy) == SCHED_OTHER);
	CHECK(strstr(amx_sched_describe(), "dropped") != NULL);
	/* Raising again after the drop does nothing. */
	CHECK(amx_sched_raise_self(err, sizeof(err)) == 0);
	CHECK(amx_sched_policy_of(0, NULL) == SCHED_OTHER);
	atomic_store(&helper_stop, true);
	pthread_join(t, NULL);
	/* A reload asks again: raised again, under a guard armed again. */
	CHECK(amx_sched_reconfigure(AMX_SCHED_FIFO, 10, err, sizeof(err)) == 0);
	CHECK(amx_sched_policy_of(0, NULL) == SCHED_FIFO);
	CHECK_STR(amx_sched_describe(), "fifo 10");
	ordinary_again();
}

int main(void)
{
	RUN(off_changes_nothing);
	RUN(describes_the_class);
	RUN(reload_moves_every_raised_thread);
	RUN(fifo_is_not_inherited);
	RUN(rr_is_not_inherited);
	RUN(nice_is_not_inherited);
	RUN(slice_is_not_inherited);
	RUN(deadline_is_not_inherited);
	RUN(deadline_falls_back_to_fifo);
	RUN(guard_drops_every_raised_thread);
	CHECK_DONE();
}
