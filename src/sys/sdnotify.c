/* SPDX-License-Identifier: MIT */
#include "sys/sdnotify.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/event.h"
#include "sys/loop.h"

static int notify_fd = -1;
static struct sockaddr_un notify_addr;
static socklen_t notify_addr_len;
static uint64_t watchdog_ms;   /* ping interval: half of WATCHDOG_USEC */
static uint64_t next_ping_ms;

bool amx_sd_notify(const char *msg)
{
	if (notify_fd < 0)
		return false;
	return sendto(notify_fd, msg, strlen(msg), MSG_NOSIGNAL,
		      (struct sockaddr *)&notify_addr, notify_addr_len) >= 0;
}

uint64_t amx_sd_notify_watchdog_ms(void)
{
	return watchdog_ms;
}

static bool open_notify_socket(const char *path)
{
	size_t n = strlen(path);
	/* "/path" or "@abstract"; anything else (vsock, too long) is not ours to guess */
	if ((path[0] != '/' && path[0] != '@') || n < 2 || n >= sizeof(notify_addr.sun_path))
		return false;
	memset(&notify_addr, 0, sizeof(notify_addr));
	notify_addr.sun_family = AF_UNIX;
	memcpy(notify_addr.sun_path, path, n);
	if (path[0] == '@')
		notify_addr.sun_path[0] = '\0';
	notify_addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	return notify_fd >= 0;
}

/* The pings come from the loop itself: a ticker runs only when the loop turns. */
static void ping_watchdog(void *ctx, uint64_t now)
{
	(void)ctx;
	if (now >= next_ping_ms) {
		amx_sd_notify("WATCHDOG=1");
		next_ping_ms = now + watchdog_ms;
	}
	amx_loop_wake_at(next_ping_ms);
}

/* READY once monitor-started is written, STOPPING on monitor-stopping, and a STATUS line
 * for what an operator wants to see in `systemctl status`. */
static void on_event(void *ctx, json_t *ev, const char *line)
{
	(void)ctx;
	(void)line;
	const char *action = json_string_value(amx_event_get(ev, "event.action"));
	const char *message = json_string_value(amx_event_get(ev, "message"));
	if (!action || !message)
		return;
	/* The message carries app names and paths a PM2_HOME owner chose: one line of
	 * printable text only, or a newline would start a new KEY= (MAINPID=, WATCHDOG=...). */
	char status[600];
	strcpy(status, "STATUS=");
	amx_text_one_line(status + 7, sizeof(status) - 7, message);
	if (!strcmp(action, "monitor-started")) {
		amx_sd_notify(status);
		amx_sd_notify("READY=1");
	} else if (!strcmp(action, "monitor-stopping")) {
		amx_sd_notify("STOPPING=1");
	} else if (!strncmp(action, "recovery-", 9) || !strncmp(action, "config-", 7) ||
		   !strcmp(action, "pm2-daemon-down") || !strcmp(action, "app-errored")) {
		amx_sd_notify(status);
	}
}

/* Test-only (AMEXBPF_TEST_STALL=1): SIGUSR1 stalls the loop, as a bug would. */
static void stall_loop(void *ctx, int fd, uint32_t events)
{
	(void)ctx;
	(void)events;
	struct signalfd_siginfo si;
	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	fprintf(stderr, "amexbpf: SIGUSR1 with AMEXBPF_TEST_STALL=1: stalling the event loop\n");
	for (;;) {
		struct timespec ts = { 3600, 0 };
		nanosleep(&ts, NULL);
	}
}

static void arm_test_stall(void)
{
	const char *v = getenv("AMEXBPF_TEST_STALL");
	if (!v || strcmp(v, "1") != 0)
		return;
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd >= 0)
		amx_loop_add_fd(fd, EPOLLIN, stall_loop, NULL);
}

void amx_sd_notify_start(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	if (path && !open_notify_socket(path))
		fprintf(stderr, "amexbpf: NOTIFY_SOCKET=%s is not a usable socket path: not notifying\n",
			path);
	const char *usec = getenv("WATCHDOG_USEC");
	const char *wpid = getenv("WATCHDOG_PID");
	if (notify_fd >= 0 && usec && (!wpid || atol(wpid) == getpid())) {
		unsigned long long us = strtoull(usec, NULL, 10);
		/* ping at half the interval, as systemd advises */
		watchdog_ms = us / 2000;
		if (watchdog_ms == 0 && us)
			watchdog_ms = 1;
	}
	if (watchdog_ms) {
		amx_loop_add_ticker(ping_watchdog, NULL);
		/* A ticker runs only after a wake-up: ask for the first one, or an idle loop
		 * would never ping. */
		amx_loop_wake_at(amx_boot_ms());
	}
	if (notify_fd >= 0)
		amx_loop_subscribe(on_event, NULL);
	arm_test_stall();
}
