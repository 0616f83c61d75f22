// SPDX-License-Identifier: MIT
/* amx_decode_exit: the raw task->exit_code the kernel side reports, decoded once. */
#include <signal.h>
#include "check.h"
#include "sources/bpf_loader.h"

TEST(exit_zero)
{
	struct amx_exit_status s = amx_decode_exit(0);

	CHECK(s.status == 0);
	CHECK(s.signal == 0);
	CHECK(!s.core_dumped);
	CHECK(s.exit_code == 0);
}

TEST(exit_three)
{
	struct amx_exit_status s = amx_decode_exit(3 << 8);

	CHECK(s.status == 3);
	CHECK(s.signal == 0);
	CHECK(!s.core_dumped);
	CHECK(s.exit_code == 3);
}

TEST(exit_255_is_not_a_signal)
{
	struct amx_exit_status s = amx_decode_exit(255 << 8);

	CHECK(s.status == 255);
	CHECK(s.signal == 0);
	CHECK(s.exit_code == 255);
}

TEST(sigkill_without_core)
{
	struct amx_exit_status s = amx_decode_exit(SIGKILL);

	CHECK(s.status == 0);
	CHECK(s.signal == 9);
	CHECK(!s.core_dumped);
	CHECK(s.exit_code == 137);
}

TEST(sigsegv_with_core)
{
	struct amx_exit_status s = amx_decode_exit(SIGSEGV | 0x80);

	CHECK(s.status == 0);
	CHECK(s.signal == 11);
	CHECK(s.core_dumped);
	CHECK(s.exit_code == 139);
}

TEST(sigterm)
{
	struct amx_exit_status s = amx_decode_exit(SIGTERM);

	CHECK(s.signal == 15);
	CHECK(!s.core_dumped);
	CHECK(s.exit_code == 143);
}

int main(void)
{
	RUN(exit_zero);
	RUN(exit_three);
	RUN(exit_255_is_not_a_signal);
	RUN(sigkill_without_core);
	RUN(sigsegv_with_core);
	RUN(sigterm);
	CHECK_DONE();
}
