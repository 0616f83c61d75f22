/* SPDX-License-Identifier: MIT */
/* systemd's notify protocol, written here (a datagram to $NOTIFY_SOCKET): READY=1 once
 * monitor-started is out, STATUS= lines for what the daemon is doing, STOPPING=1, and
 * WATCHDOG=1 sent by a loop ticker, so that a loop that stops turning stops the pings and
 * systemd restarts the daemon. Without NOTIFY_SOCKET every call does nothing. */
#ifndef AMX_SDNOTIFY_H
#define AMX_SDNOTIFY_H

#include <stdbool.h>
#include <stdint.h>

/* Read NOTIFY_SOCKET and WATCHDOG_USEC (honoured only when WATCHDOG_PID is unset or ours)
 * and plug into the loop (after amx_loop_init). Test-only: with AMEXBPF_TEST_STALL=1 in the
 * environment, SIGUSR1 makes the loop stall (sleep inside a callback) so a test can see the
 * WATCHDOG pings stop; without it SIGUSR1 is left alone. */
void amx_sd_notify_start(void);
/* Send one message ("READY=1", "STATUS=..."); false when not sent. */
bool amx_sd_notify(const char *msg);
/* Interval between WATCHDOG=1 pings in ms (0: no watchdog). */
uint64_t amx_sd_notify_watchdog_ms(void);

#endif
