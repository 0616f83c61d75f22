/* SPDX-License-Identifier: MIT */
/* Which twin of each BPF hook to load (tp_btf or raw_tp), decided from the kernel's BTF
 * prototype of the hook's tracepoint, one hook at a time: a prototype that changed under
 * one hook (oom:mark_victim took only a pid before 6.8) moves only that hook to raw_tp. */
#ifndef AMX_HOOKCHOICE_H
#define AMX_HOOKCHOICE_H

#include <stdbool.h>

struct btf;

enum amx_hook {
	AMX_HOOK_EXIT, /* sched_process_exit(task) */
	AMX_HOOK_FORK, /* sched_process_fork(parent, child) */
	AMX_HOOK_EXEC, /* sched_process_exec(task, ...) */
	AMX_HOOK_OOM,  /* mark_victim(task, uid) since 6.8 (Debian 6.1.133); mark_victim(pid) before */
	AMX_HOOK_LISTEN, /* inet_sock_set_state(sk, oldstate, newstate) since 4.16 */
	AMX_HOOK_SIGNAL, /* signal_generate(sig, info, task, group, result) */
	AMX_HOOK_COUNT,
};

enum amx_hook_kind {
	AMX_KIND_TP_BTF = 0, /* typed arguments checked by the verifier */
	AMX_KIND_RAW_TP = 1, /* raw u64 arguments: loads whatever the prototype */
};

struct amx_hook_choice {
	enum amx_hook_kind kind[AMX_HOOK_COUNT];
	/* mark_victim passes a pid, not the task: the OOM record carries the pid only (no
	 * comm, memory figures or memory cgroup). Implies kind[AMX_HOOK_OOM] == raw_tp. */
	bool oom_pid_only;
};

/* The hook's name as the start-up line and the force variable spell it: "exit", ... */
const char *amx_hook_name(enum amx_hook hook);
/* The tracepoint the hook attaches to: "sched_process_exit", ..., "mark_victim". */
const char *amx_hook_tracepoint(enum amx_hook hook);
const char *amx_hook_kind_name(enum amx_hook_kind kind);

/* Pure: the choice for every hook from vmlinux (NULL: no BTF, every hook raw_tp). A hook
 * is tp_btf when its `btf_trace_<tracepoint>` typedef is a function prototype whose
 * arguments the tp_btf program reads are there with the types it reads them as. */
void amx_hook_choose(const struct btf *vmlinux, struct amx_hook_choice *out);

/* Moves the hooks named in `list` to raw_tp: names separated by commas, or "all".
 * Returns -1 (and changes nothing) on a name it does not know. */
int amx_hook_force_raw(struct amx_hook_choice *c, const char *list);

/* "tp_btf" or "raw_tp" when every hook attached the same way, otherwise the hooks by
 * kind, e.g. "exit,fork,exec,signal=tp_btf oom=raw_tp (oom: pid only)". Returns buf. */
const char *amx_hook_choice_summary(const struct amx_hook_choice *c, char *buf, int len);

#endif
