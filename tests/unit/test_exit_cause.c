// SPDX-License-Identifier: MIT
/* amx_exit_cause: exit status plus the fatal signal's sender, turned into amexbpf.cause. */
#include <signal.h>
#include "check.h"
#include "core/exit_cause.h"

#define APP 100
#define GOD 50
#define US 7

static const char *cause(struct amx_cause_facts f, bool *known)
{
	f.pid = APP;
	f.god_pid = GOD;
	f.self_pid = US;
	return amx_cause_name(amx_exit_cause(&f, known));
}

TEST(exit_code_is_exit)
{
	bool k;
	CHECK(strcmp(cause((struct amx_cause_facts){ .status = 1 }, &k), "exit") == 0 && !k);
}

TEST(sigkill_from_another_user_process_is_killed)
{
	bool k;
	struct amx_cause_facts f = { .signal = SIGKILL, .killer_pid = 4242, .killer_sig = SIGKILL };
	CHECK(strcmp(cause(f, &k), "killed") == 0 && k);
}

TEST(signal_from_the_pm2_daemon_is_pm2)
{
	bool k;
	struct amx_cause_facts f = { .signal = SIGINT, .killer_pid = GOD, .killer_sig = SIGINT };
	CHECK(strcmp(cause(f, &k), "pm2") == 0 && k);
	/* a graceful exit in answer to PM2's SIGINT */
	f = (struct amx_cause_facts){ .status = 0, .killer_pid = GOD, .killer_sig = SIGINT };
	CHECK(strcmp(cause(f, &k), "pm2") == 0 && k);
	/* the same, while amexbpf asked for the restart (memory limit) */
	f.asked = true;
	CHECK(strcmp(cause(f, &k), "amexbpf") == 0 && k);
}

TEST(signal_from_amexbpf_is_amexbpf)
{
	bool k;
	struct amx_cause_facts f = { .signal = SIGKILL, .killer_pid = US, .killer_sig = SIGKILL };
	CHECK(strcmp(cause(f, &k), "amexbpf") == 0 && k);
}

TEST(fault_is_crash)
{
	bool k;
	struct amx_cause_facts f = { .signal = SIGSEGV, .killer_pid = APP, .killer_sig = SIGSEGV,
				     .killer_code = 1 };
	CHECK(strcmp(cause(f, &k), "crash") == 0 && !k);
	f = (struct amx_cause_facts){ .signal = SIGABRT }; /* no BPF: from the status alone */
	CHECK(strcmp(cause(f, &k), "crash") == 0 && !k);
}

TEST(oom_wins)
{
	bool k;
	struct amx_cause_facts f = { .signal = SIGKILL, .oom = true, .killer_pid = 9,
				     .killer_sig = SIGKILL };
	CHECK(strcmp(cause(f, &k), "oom") == 0 && !k);
}

TEST(without_bpf_a_signal_is_killed_and_no_killer)
{
	bool k;
	CHECK(strcmp(cause((struct amx_cause_facts){ .signal = SIGKILL }, &k), "killed") == 0 && !k);
	CHECK(strcmp(cause((struct amx_cause_facts){ .signal = SIGTERM, .asked = true }, &k),
		     "amexbpf") == 0);
}

TEST(a_stale_unrelated_signal_is_not_the_killer)
{
	bool k;
	/* a SIGTERM the app handled, then it crashed on its own */
	struct amx_cause_facts f = { .signal = SIGSEGV, .killer_pid = 4242, .killer_sig = SIGTERM };
	CHECK(strcmp(cause(f, &k), "crash") == 0 && !k);
}

int main(void)
{
	RUN(exit_code_is_exit);
	RUN(sigkill_from_another_user_process_is_killed);
	RUN(signal_from_the_pm2_daemon_is_pm2);
	RUN(signal_from_amexbpf_is_amexbpf);
	RUN(fault_is_crash);
	RUN(oom_wins);
	RUN(without_bpf_a_signal_is_killed_and_no_killer);
	RUN(a_stale_unrelated_signal_is_not_the_killer);
	CHECK_DONE();
}
