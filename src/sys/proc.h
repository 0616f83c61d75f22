/* SPDX-License-Identifier: MIT */
/* Reading /proc. Everything here is written by the process itself or the kernel on its
 * behalf: parse defensively. amx_procdir is a seam for tests (default "/proc"). */
#ifndef AMX_PROC_H
#define AMX_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

extern const char *amx_procdir;

struct amx_proc_stat {
	char state;            /* R, S, D, Z, X, ... */
	int ppid;
	uint64_t start_ticks;  /* field 22: clock ticks since boot (USER_HZ) */
	uid_t uid;             /* owner of /proc/PID: the real uid */
	char comm[64];
};

bool amx_proc_read_stat(int pid, struct amx_proc_stat *st);
/* Exists and is not a zombie (PID 1 here does not reap, so zombies linger). */
bool amx_proc_alive(int pid);
/* Read /proc/PID/<file> (cmdline, environ) into buf; returns bytes or -1. */
ssize_t amx_proc_read(int pid, const char *file, char *buf, size_t len);
/* Value of KEY in /proc/PID/environ into out; false when absent. */
bool amx_proc_environ_get(int pid, const char *key, char *out, size_t outlen);
/* Every live pid whose parent is ppid; returns how many (at most max). Through the
 * children files of ppid's threads (at most 256 of them) when the kernel has them, else a
 * walk of every pid in /proc (counted in amx_proc_full_walks). */
int amx_proc_children(int ppid, int *out, int max);
extern unsigned long amx_proc_full_walks, amx_proc_children_calls;
/* RSS in bytes from /proc/PID/statm; 0 when unknown. */
uint64_t amx_proc_rss_bytes(int pid);
/* The boot-clock start of a process in ns, from its start ticks. */
uint64_t amx_ticks_to_ns(uint64_t ticks);
uint64_t amx_ns_to_ticks(uint64_t ns);

#endif
