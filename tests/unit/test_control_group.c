/* SPDX-License-Identifier: MIT */
/* --socket-group under the shipped unit: its CapabilityBoundingSet has no CAP_CHOWN, and
 * the socket must still come out root:<group> 0660. */
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "report/control_server.h"
#include "sys/loop.h"

#define GROUP "nogroup"

static int drop_cap_chown(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return -1;
	d[0].effective &= ~(1u << CAP_CHOWN);
	d[0].permitted &= ~(1u << CAP_CHOWN);
	d[0].inheritable &= ~(1u << CAP_CHOWN);
	return (int)syscall(SYS_capset, &h, d);
}

TEST(socket_group_without_cap_chown)
{
	char dir[] = "/tmp/amx-ctlgrp-XXXXXX", path[128];
	struct group *g = getgrnam(GROUP);
	struct stat st;
	int status = -1;

	CHECK(g != NULL);
	CHECK(mkdtemp(dir) != NULL);
	chmod(dir, 0755);
	snprintf(path, sizeof(path), "%s/control.sock", dir);
	pid_t pid = fork();
	if (pid == 0) {
		char err[256] = "";

		if (drop_cap_chown() < 0 || amx_loop_init() < 0)
			_exit(2);
		int rc = amx_control_start(path, GROUP, false, NULL, err, sizeof(err));
		if (rc)
			fprintf(stderr, "%s\n", err);
		_exit(rc ? 1 : 0); /* the socket file stays for the parent to look at */
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(lstat(path, &st) == 0 && S_ISSOCK(st.st_mode));
	CHECK(st.st_uid == 0 && g && st.st_gid == g->gr_gid && (st.st_mode & 0777) == 0660);
	/* and our own identity is root's again afterwards: checked in the child by exit 0 */
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	RUN(socket_group_without_cap_chown);
	CHECK_DONE();
}
