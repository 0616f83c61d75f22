/* SPDX-License-Identifier: MIT */
/* Why a process died (amexbpf.cause of process-exited), from its exit status and what the
 * kernel saw of the fatal signal's sender. Pure: no I/O, unit-tested in test_exit_cause.c. */
#ifndef AMX_EXIT_CAUSE_H
#define AMX_EXIT_CAUSE_H

#include <stdbool.h>
#include <stdint.h>

enum amx_cause {
	AMX_CAUSE_EXIT,    /* it called exit with a code */
	AMX_CAUSE_CRASH,   /* a fault signal it raised itself (SIGSEGV, SIGABRT, ...) */
	AMX_CAUSE_KILLED,  /* a signal sent by another process */
	AMX_CAUSE_OOM,     /* the kernel's OOM killer */
	AMX_CAUSE_PM2,     /* signalled by its PM2 daemon (restart, reload, stop, memory limit) */
	AMX_CAUSE_AMEXBPF, /* our own memory limit or probe, or a signal we sent */
};

struct amx_cause_facts {
	int pid;             /* the process that exited */
	int status;          /* exit status when it exited with a code */
	int signal;          /* the signal that ended it, 0 when it exited with a code */
	bool oom;            /* the kernel chose it as OOM victim */
	bool asked;          /* amexbpf asked for its restart (memory limit, probe) */
	int god_pid;         /* its PM2 daemon, 0 when unknown */
	int self_pid;        /* amexbpf's own pid */
	/* the last possibly fatal signal generated for it (BPF only; sig 0 when none) */
	int killer_pid;
	int killer_sig;
	int killer_code;     /* si_code: > 0 a fault the kernel raised */
};

/* The cause; *killer_known says whether the killer_* facts name the sender of the signal
 * that ended it (or that it exited in answer to), so that they belong in the event. */
enum amx_cause amx_exit_cause(const struct amx_cause_facts *f, bool *killer_known);
/* "exit", "crash", "killed", "oom", "pm2", "amexbpf". */
const char *amx_cause_name(enum amx_cause c);

#endif
