/* SPDX-License-Identifier: MIT */
/* The paths a user's God daemon names (its node, the pm2 on its PATH) are hostile input:
 * only a file that root or the owner alone can change is ever run for that owner. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "daemon/toolchain.h"

#define NOBODY 65534

TEST(root_owned_system_binaries_are_fine_for_anyone)
{
	char real[4096], err[256];

	CHECK(amx_toolchain_path_ok("/usr/bin/env", NOBODY, NOBODY, real, sizeof(real), err, sizeof(err)));
	CHECK(!strcmp(real, "/usr/bin/env"));
}

TEST(relative_long_missing_and_non_executable_paths_are_refused)
{
	char err[256], big[2048];

	memset(big, 'a', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = '\0';
	CHECK(!amx_toolchain_path_ok("usr/bin/env", 0, 0, NULL, 0, err, sizeof(err)));
	CHECK(!amx_toolchain_path_ok(big, 0, 0, NULL, 0, err, sizeof(err)));
	CHECK(!amx_toolchain_path_ok("/nonexistent/amx/pm2", 0, 0, NULL, 0, err, sizeof(err)));
	CHECK(!amx_toolchain_path_ok("/etc/passwd", 0, 0, NULL, 0, err, sizeof(err)));
	CHECK(strstr(err, "not an executable file") != NULL);
}

/* Under /tmp (world-writable) anyone could have put it there; in a directory of another
 * user, that user could swap it. */
TEST(a_component_others_can_change_is_refused)
{
	char dir[] = "/tmp/amx-test-toolchain-XXXXXX", file[64], err[256];

	CHECK(mkdtemp(dir) != NULL);
	snprintf(file, sizeof(file), "%s/pm2", dir);
	FILE *f = fopen(file, "w");
	CHECK(f != NULL);
	if (f)
		fclose(f);
	chmod(file, 0755);
	CHECK(!amx_toolchain_path_ok(file, 0, 0, NULL, 0, err, sizeof(err)));
	CHECK(strstr(err, "/tmp can be changed") != NULL);
	unlink(file);
	rmdir(dir);
}

TEST(a_symlink_is_judged_by_where_it_leads)
{
	char dir[] = "/var/tmp/amx-test-toolchain-XXXXXX", link[64], real[4096], err[256];

	CHECK(mkdtemp(dir) != NULL);
	chmod(dir, 0755); /* the owner must reach it: links are followed as the owner */
	snprintf(link, sizeof(link), "%s/pm2", dir);
	CHECK(symlink("/usr/bin/env", link) == 0);
	/* the link sits under a world-writable /var/tmp, but what runs is /usr/bin/env */
	CHECK(amx_toolchain_path_ok(link, NOBODY, NOBODY, real, sizeof(real), err, sizeof(err)));
	CHECK(!strcmp(real, "/usr/bin/env"));
	unlink(link);
	rmdir(dir);
}

int main(void)
{
	if (geteuid() != 0) {
		puts("SKIP tests/unit/test_toolchain.c: needs root (acts as another user)");
		return 0;
	}
	RUN(root_owned_system_binaries_are_fine_for_anyone);
	RUN(relative_long_missing_and_non_executable_paths_are_refused);
	RUN(a_component_others_can_change_is_refused);
	RUN(a_symlink_is_judged_by_where_it_leads);
	CHECK_DONE();
}
