// SPDX-License-Identifier: MIT
/* Why a process died: see exit_cause.h. */
#include <signal.h>

#include "core/exit_cause.h"

/* Signals a process raises itself when it faults or aborts. */
static bool fault_signal(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL ||
	       sig == SIGABRT || sig == SIGTRAP || sig == SIGSYS;
}

/* Signals a process commonly answers by exiting with a code (a graceful shutdown). */
static bool stop_request(int sig)
{
	return sig == SIGHUP || sig == SIGINT || sig == SIGQUIT || sig == SIGTERM;
}

/* The sender of a signal that ended the process, by who it is. */
static enum amx_cause by_sender(const struct amx_cause_facts *f)
{
	if (f->killer_pid == f->self_pid)
		return AMX_CAUSE_AMEXBPF;
	if (f->god_pid && f->killer_pid == f->god_pid)
		return f->asked ? AMX_CAUSE_AMEXBPF : AMX_CAUSE_PM2;
	return AMX_CAUSE_KILLED;
}

enum amx_cause amx_exit_cause(const struct amx_cause_facts *f, bool *killer_known)
{
	*killer_known = false;
	if (f->oom)
		return AMX_CAUSE_OOM; /* the OOM killer's "sender" is whoever was allocating */
	bool from_other = f->killer_sig && f->killer_pid && f->killer_pid != f->pid;
	if (f->signal) {
		if (f->killer_sig == f->signal) {
			if (!from_other || f->killer_code > 0)
				return fault_signal(f->signal) ? AMX_CAUSE_CRASH : AMX_CAUSE_KILLED;
			*killer_known = true;
			return by_sender(f);
		}
		if (fault_signal(f->signal))
			return AMX_CAUSE_CRASH;
		return f->asked ? AMX_CAUSE_AMEXBPF : AMX_CAUSE_KILLED;
	}
	/* It exited with a code: after another process asked it to stop, that one is why. */
	if (from_other && stop_request(f->killer_sig) && f->killer_code <= 0) {
		*killer_known = true;
		return by_sender(f);
	}
	if (f->asked)
		return AMX_CAUSE_AMEXBPF;
	return AMX_CAUSE_EXIT;
}

const char *amx_cause_name(enum amx_cause c)
{
	switch (c) {
	case AMX_CAUSE_EXIT:
		return "exit";
	case AMX_CAUSE_CRASH:
		return "crash";
	case AMX_CAUSE_KILLED:
		return "killed";
	case AMX_CAUSE_OOM:
		return "oom";
	case AMX_CAUSE_PM2:
		return "pm2";
	case AMX_CAUSE_AMEXBPF:
		return "amexbpf";
	}
	return "exit";
}
