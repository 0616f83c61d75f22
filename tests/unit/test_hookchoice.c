// SPDX-License-Identifier: MIT
/* Per-hook twin choice (sources/hookchoice.c) against hand-built BTF: the prototypes of
 * both mark_victim generations, a kernel without BTF, a missing or changed hook, the force
 * list and the start-up summary. Needs no privilege and no BPF. */
#include <stdlib.h>
#include <unistd.h>
#include <bpf/btf.h>
#include "check.h"
#include "fake_btf.h"
#include "sources/hookchoice.h"

TEST(new_mark_victim_all_tp_btf)
{
	struct btf *b = fake_vmlinux(MARK_VICTIM_TASK_UID);
	struct amx_hook_choice c;
	char s[96];

	amx_hook_choose(b, &c);
	for (int h = 0; h < AMX_HOOK_COUNT; h++)
		CHECK(c.kind[h] == AMX_KIND_TP_BTF);
	CHECK(!c.oom_pid_only);
	CHECK_STR(amx_hook_choice_summary(&c, s, sizeof(s)), "tp_btf");
	btf__free(b);
}

/* Before 6.8 (and Debian's 6.1.133): only oom moves to raw_tp, with the pid-only record. */
TEST(pid_only_mark_victim_moves_only_oom)
{
	struct btf *b = fake_vmlinux(MARK_VICTIM_PID);
	struct amx_hook_choice c;
	char s[96];

	amx_hook_choose(b, &c);
	CHECK(c.kind[AMX_HOOK_EXIT] == AMX_KIND_TP_BTF);
	CHECK(c.kind[AMX_HOOK_FORK] == AMX_KIND_TP_BTF);
	CHECK(c.kind[AMX_HOOK_EXEC] == AMX_KIND_TP_BTF);
	CHECK(c.kind[AMX_HOOK_OOM] == AMX_KIND_RAW_TP);
	CHECK(c.oom_pid_only);
	CHECK_STR(amx_hook_choice_summary(&c, s, sizeof(s)),
		  "exit,fork,exec,listen,signal=tp_btf oom=raw_tp (oom: pid only)");
	btf__free(b);
}

/* The same choice from a raw blob on disk, as AMEXBPF_TEST_BTF hands it to the loader. */
TEST(pid_only_mark_victim_from_a_raw_blob)
{
	struct btf *b = fake_vmlinux(MARK_VICTIM_PID), *back;
	char path[] = "/tmp/amx-test-btf-XXXXXX";
	int fd = mkstemp(path);
	__u32 size = 0;
	const void *raw = btf__raw_data(b, &size);
	struct amx_hook_choice c;

	CHECK(fd >= 0 && raw && size > 0);
	CHECK(write(fd, raw, size) == (ssize_t)size);
	close(fd);
	back = btf__parse_raw(path);
	unlink(path);
	CHECK(back != NULL);
	amx_hook_choose(back, &c);
	CHECK(c.kind[AMX_HOOK_EXIT] == AMX_KIND_TP_BTF && c.kind[AMX_HOOK_OOM] == AMX_KIND_RAW_TP);
	CHECK(c.oom_pid_only);
	btf__free(back);
	btf__free(b);
}

/* No typedef for mark_victim (a kernel built without it): raw_tp, and the raw twin tells a
 * pid from a task pointer itself (no pid-only claim from a prototype that is not there). */
TEST(missing_hook_prototype_is_raw_tp)
{
	struct btf *b = fake_vmlinux(MARK_VICTIM_NONE);
	struct amx_hook_choice c;

	amx_hook_choose(b, &c);
	CHECK(c.kind[AMX_HOOK_EXIT] == AMX_KIND_TP_BTF);
	CHECK(c.kind[AMX_HOOK_OOM] == AMX_KIND_RAW_TP);
	CHECK(!c.oom_pid_only);
	btf__free(b);
}

/* An argument of another type than the program reads (a fork hook passing an int). */
TEST(changed_argument_type_is_raw_tp)
{
	struct btf *b = btf__new_empty();
	int s32 = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
	int void_ptr = btf__add_ptr(b, 0);
	int task_ptr = btf__add_ptr(b, btf__add_struct(b, "task_struct", 0));
	int other_ptr = btf__add_ptr(b, btf__add_struct(b, "pid", 0));
	struct amx_hook_choice c;

	add_trace(b, "sched_process_exit", void_ptr, (int[]){ other_ptr }, 1);
	add_trace(b, "sched_process_fork", void_ptr, (int[]){ task_ptr, s32 }, 2);
	add_trace(b, "sched_process_exec", void_ptr, (int[]){ task_ptr }, 1);
	add_trace(b, "mark_victim", void_ptr, (int[]){ task_ptr }, 1); /* no uid */
	/* a socket hook whose first argument is no longer a struct sock */
	add_trace(b, "inet_sock_set_state", void_ptr, (int[]){ task_ptr, s32, s32 }, 3);
	amx_hook_choose(b, &c);
	CHECK(c.kind[AMX_HOOK_LISTEN] == AMX_KIND_RAW_TP);
	CHECK(c.kind[AMX_HOOK_EXIT] == AMX_KIND_RAW_TP);
	CHECK(c.kind[AMX_HOOK_FORK] == AMX_KIND_RAW_TP);
	CHECK(c.kind[AMX_HOOK_EXEC] == AMX_KIND_TP_BTF);
	CHECK(c.kind[AMX_HOOK_OOM] == AMX_KIND_RAW_TP);
	CHECK(!c.oom_pid_only); /* a task, not a pid */
	CHECK(c.kind[AMX_HOOK_SIGNAL] == AMX_KIND_RAW_TP); /* no prototype in this blob */
	btf__free(b);
}

/* signal_generate has its own check: a changed prototype moves it alone to raw_tp, and the
 * exit hook stays tp_btf (it used to follow the exit hook's choice). */
static struct btf *vmlinux_with_signal(bool siginfo_ptr, int n_args)
{
	struct btf *b = btf__new_empty();
	int s32 = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
	int void_ptr = btf__add_ptr(b, 0);
	int task_ptr = btf__add_ptr(b, btf__add_struct(b, "task_struct", 0));
	int info_ptr = btf__add_ptr(b, btf__add_struct(b, "kernel_siginfo", 0));
	int args[5] = { s32, siginfo_ptr ? info_ptr : s32, task_ptr, s32, s32 };

	add_trace(b, "sched_process_exit", void_ptr, (int[]){ task_ptr }, 1);
	add_trace(b, "sched_process_fork", void_ptr, (int[]){ task_ptr, task_ptr }, 2);
	add_trace(b, "sched_process_exec", void_ptr, (int[]){ task_ptr }, 1);
	add_trace(b, "mark_victim", void_ptr, (int[]){ task_ptr, s32 }, 2);
	add_trace(b, "signal_generate", void_ptr, args, n_args);
	add_trace(b, "inet_sock_set_state", void_ptr,
		  (int[]){ btf__add_ptr(b, btf__add_struct(b, "sock", 0)), s32, s32 }, 3);
	return b;
}

TEST(signal_generate_has_its_own_check)
{
	struct amx_hook_choice c;
	char s[96];
	struct btf *b = vmlinux_with_signal(true, 5);

	amx_hook_choose(b, &c);
	CHECK(c.kind[AMX_HOOK_SIGNAL] == AMX_KIND_TP_BTF);
	CHECK_STR(amx_hook_choice_summary(&c, s, sizeof(s)), "tp_btf");
	btf__free(b);

	b = vmlinux_with_signal(false, 5); /* info is not a kernel_siginfo pointer */
	amx_hook_choose(b, &c);
	CHECK(c.kind[AMX_HOOK_SIGNAL] == AMX_KIND_RAW_TP);
	CHECK(c.kind[AMX_HOOK_EXIT] == AMX_KIND_TP_BTF);
	CHECK_STR(amx_hook_choice_summary(&c, s, sizeof(s)), "exit,fork,exec,oom,listen=tp_btf signal=raw_tp");
	btf__free(b);

	b = vmlinux_with_signal(true, 4); /* the result argument is gone */
	amx_hook_choose(b, &c);
	CHECK(c.kind[AMX_HOOK_SIGNAL] == AMX_KIND_RAW_TP);
	CHECK(c.kind[AMX_HOOK_EXIT] == AMX_KIND_TP_BTF);
	btf__free(b);

	b = vmlinux_with_signal(true, 5);
	amx_hook_choose(b, &c);
	CHECK(amx_hook_force_raw(&c, "signal") == 0);
	CHECK(c.kind[AMX_HOOK_SIGNAL] == AMX_KIND_RAW_TP && c.kind[AMX_HOOK_EXIT] == AMX_KIND_TP_BTF);
	btf__free(b);
}

TEST(no_btf_is_raw_tp_everywhere)
{
	struct amx_hook_choice c;
	char s[96];

	amx_hook_choose(NULL, &c);
	for (int h = 0; h < AMX_HOOK_COUNT; h++)
		CHECK(c.kind[h] == AMX_KIND_RAW_TP);
	CHECK_STR(amx_hook_choice_summary(&c, s, sizeof(s)), "raw_tp");
}

TEST(force_list)
{
	struct btf *b = fake_vmlinux(MARK_VICTIM_TASK_UID);
	struct amx_hook_choice c;
	char s[96];

	amx_hook_choose(b, &c);
	CHECK(amx_hook_force_raw(&c, "oom") == 0);
	CHECK_STR(amx_hook_choice_summary(&c, s, sizeof(s)), "exit,fork,exec,listen,signal=tp_btf oom=raw_tp");
	CHECK(!c.oom_pid_only);
	CHECK(amx_hook_force_raw(&c, "exec,bogus") == -1); /* refused whole */
	CHECK(c.kind[AMX_HOOK_EXEC] == AMX_KIND_TP_BTF);
	CHECK(amx_hook_force_raw(&c, "fork,exec") == 0);
	CHECK_STR(amx_hook_choice_summary(&c, s, sizeof(s)), "exit,listen,signal=tp_btf fork,exec,oom=raw_tp");
	CHECK(amx_hook_force_raw(&c, "all") == 0);
	CHECK_STR(amx_hook_choice_summary(&c, s, sizeof(s)), "raw_tp");
	CHECK(amx_hook_force_raw(&c, "") == 0);
	btf__free(b);
}

/* The running kernel's BTF, when it has one: this host's kernels pass (task, uid). */
TEST(running_kernel)
{
	struct btf *b = btf__load_vmlinux_btf();
	struct amx_hook_choice c;
	char s[96];

	if (!b) {
		printf("# no vmlinux BTF here\n");
		return;
	}
	amx_hook_choose(b, &c);
	printf("# this kernel: %s\n", amx_hook_choice_summary(&c, s, sizeof(s)));
	CHECK(c.kind[AMX_HOOK_EXIT] == AMX_KIND_TP_BTF);
	CHECK(c.kind[AMX_HOOK_FORK] == AMX_KIND_TP_BTF);
	CHECK(c.kind[AMX_HOOK_EXEC] == AMX_KIND_TP_BTF);
	CHECK(c.kind[AMX_HOOK_SIGNAL] == AMX_KIND_TP_BTF);
	btf__free(b);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	RUN(new_mark_victim_all_tp_btf);
	RUN(pid_only_mark_victim_moves_only_oom);
	RUN(pid_only_mark_victim_from_a_raw_blob);
	RUN(missing_hook_prototype_is_raw_tp);
	RUN(changed_argument_type_is_raw_tp);
	RUN(signal_generate_has_its_own_check);
	RUN(no_btf_is_raw_tp_everywhere);
	RUN(force_list);
	RUN(running_kernel);
	CHECK_DONE();
}
