// SPDX-License-Identifier: MIT
/* fake_btf_blob FILE: writes a raw BTF blob whose four hook prototypes are those of a
 * kernel where oom/mark_victim passes only a pid (before upstream 6.8 and Debian's
 * 6.1.133), for AMEXBPF_TEST_BTF: the daemon then loads exit, fork and exec as tp_btf and
 * oom as raw_tp with the pid-only record (t_h3_oom_pid_only). */
#include <stdio.h>
#include "../unit/fake_btf.h"

int main(int argc, char **argv)
{
	struct btf *b;
	const void *raw;
	__u32 size = 0;
	FILE *f;
	int ok;

	if (argc != 2) {
		fprintf(stderr, "usage: fake_btf_blob FILE\n");
		return 2;
	}
	b = fake_vmlinux(MARK_VICTIM_PID);
	raw = b ? btf__raw_data(b, &size) : NULL;
	f = fopen(argv[1], "we");
	ok = raw && f && fwrite(raw, 1, size, f) == size;
	if (f && fclose(f) != 0)
		ok = 0;
	btf__free(b);
	if (!ok) {
		perror(argv[1]);
		return 1;
	}
	return 0;
}
