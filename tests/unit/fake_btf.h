/* SPDX-License-Identifier: MIT */
/* Hand-built vmlinux BTF for the per-hook twin choice (sources/hookchoice.c): the six
 * tracepoints' `btf_trace_*` typedefs, mark_victim in either generation. */
#ifndef AMX_FAKE_BTF_H
#define AMX_FAKE_BTF_H

#include <stdio.h>
#include <bpf/btf.h>

enum { MARK_VICTIM_NONE, MARK_VICTIM_PID, MARK_VICTIM_TASK_UID };

/* `typedef void (*btf_trace_<tp>)(void *__data, args...)`, as the kernel's BTF has it. */
static inline void add_trace(struct btf *b, const char *tp, int void_ptr, const int *args, int n)
{
	char name[64];
	int proto = btf__add_func_proto(b, 0);

	btf__add_func_param(b, "__data", void_ptr);
	for (int i = 0; i < n; i++)
		btf__add_func_param(b, "", args[i]);
	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	btf__add_typedef(b, name, btf__add_ptr(b, proto));
}

/* signal_generate(int sig, struct kernel_siginfo *info, struct task_struct *task,
 * int group, int result), as every kernel with the hook's tp_btf twin has it. */
static inline void add_signal_generate(struct btf *b, int s32, int void_ptr, int task_ptr)
{
	int info_ptr = btf__add_ptr(b, btf__add_struct(b, "kernel_siginfo", 0));

	add_trace(b, "signal_generate", void_ptr, (int[]){ s32, info_ptr, task_ptr, s32, s32 }, 5);
}

/* A vmlinux BTF with the six tracepoints; mark_victim in the generation asked for. */
static inline struct btf *fake_vmlinux(int mark_victim)
{
	struct btf *b = btf__new_empty();
	int u32 = btf__add_int(b, "unsigned int", 4, 0);
	int s32 = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
	int uid_t_ = btf__add_typedef(b, "uid_t", btf__add_typedef(b, "__kernel_uid32_t", u32));
	int void_ptr = btf__add_ptr(b, 0);
	int task = btf__add_struct(b, "task_struct", 8);
	int task_ptr;

	btf__add_field(b, "pid", s32, 0, 0);
	task_ptr = btf__add_ptr(b, task);
	int sock_ptr = btf__add_ptr(b, btf__add_const(b, btf__add_struct(b, "sock", 0)));
	int cs32 = btf__add_const(b, s32);
	add_trace(b, "inet_sock_set_state", void_ptr, (int[]){ sock_ptr, cs32, cs32 }, 3);
	add_trace(b, "sched_process_exit", void_ptr, (int[]){ task_ptr }, 1);
	add_trace(b, "sched_process_fork", void_ptr, (int[]){ task_ptr, task_ptr }, 2);
	add_trace(b, "sched_process_exec", void_ptr, (int[]){ task_ptr, s32, void_ptr }, 3);
	if (mark_victim == MARK_VICTIM_PID)
		add_trace(b, "mark_victim", void_ptr, (int[]){ s32 }, 1);
	else if (mark_victim == MARK_VICTIM_TASK_UID)
		add_trace(b, "mark_victim", void_ptr, (int[]){ task_ptr, uid_t_ }, 2);
	add_signal_generate(b, s32, void_ptr, task_ptr);
	return b;
}

#endif
