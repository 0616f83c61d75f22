/* SPDX-License-Identifier: MIT */
/* The paths a user's God daemon names (its node, the pm2 on its PATH) are hostile input:
 * only a file that root or the owner alone can change is ever run for that owner. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "daemon/toolchain.h"
#include "sys/proc.h"

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

static bool put(const char *path, const char *data, size_t len, mode_t mode)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return false;
	bool ok = fwrite(data, 1, len, f) == len;
	return fclose(f) == 0 && ok && chmod(path, mode) == 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* A daemon started through volta's shim runs on VOLTA_HOME/tools/image/node/<v>/bin/node
 * with a PATH of the node image's bin and the system's (the shim took its own directory
 * out): no pm2 beside node or on that PATH. Its pm2 is the package image's. The daemon is
 * a fake /proc entry (amx_procdir); the install sits beside this program, in directories
 * only root can change. */
TEST(a_volta_daemon_leads_to_the_package_image_and_a_fifo_never_blocks)
{
	char self[4096], root[4200], p[4400], fake[4400], env[4400];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	CHECK(n > 0);
	if (n <= 0)
		return;
	self[n] = '\0';
	snprintf(root, sizeof(root), "%.*s/amx-volta.XXXXXX", (int)(strrchr(self, '/') - self), self);
	CHECK(mkdtemp(root) != NULL);
	chmod(root, 0755);
	const char *dirs[] = { "tools", "tools/image", "tools/image/node", "tools/image/node/20.1.0",
			       "tools/image/node/20.1.0/bin", "tools/image/packages",
			       "tools/image/packages/pm2", "tools/image/packages/pm2/bin",
			       "tools/image/packages/pm2/lib", "tools/image/packages/pm2/lib/node_modules",
			       "tools/image/packages/pm2/lib/node_modules/pm2",
			       "tools/image/packages/pm2/lib/node_modules/pm2/bin", "bin", "proc",
			       "proc/4242" };
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", root, dirs[i]);
		CHECK(mkdir(p, 0755) == 0);
	}
	snprintf(p, sizeof(p), "%s/tools/image/node/20.1.0/bin/node", root);
	CHECK(put(p, "#!/bin/true\n", 12, 0755));
	snprintf(p, sizeof(p), "%s/tools/image/packages/pm2/lib/node_modules/pm2/bin/pm2", root);
	CHECK(put(p, "#!/bin/true\n", 12, 0755));
	snprintf(p, sizeof(p), "%s/tools/image/packages/pm2/lib/node_modules/pm2/package.json", root);
	CHECK(put(p, "{\"version\":\"7.0.4\"}", 19, 0644));
	snprintf(p, sizeof(p), "%s/tools/image/packages/pm2/bin/pm2", root);
	CHECK(symlink("../lib/node_modules/pm2/bin/pm2", p) == 0);
	snprintf(p, sizeof(p), "%s/bin/pm2", root); /* the shim: a link to volta-shim */
	CHECK(symlink("volta-shim", p) == 0);

	snprintf(fake, sizeof(fake), "%s/proc/4242/exe", root);
	snprintf(p, sizeof(p), "%s/tools/image/node/20.1.0/bin/node", root);
	CHECK(symlink(p, fake) == 0);
	snprintf(fake, sizeof(fake), "%s/proc/4242/cmdline", root);
	CHECK(put(fake, "PM2 v7.0.4: God Daemon (/home/u/.pm2)", 38, 0644));
	snprintf(fake, sizeof(fake), "%s/proc/4242/environ", root);
	int len = snprintf(env, sizeof(env), "HOME=/home/u%cPATH=%s/tools/image/node/20.1.0/bin:/usr/bin:/bin%c",
			   '\0', root, '\0');
	CHECK(put(fake, env, (size_t)len, 0644));

	struct amx_home h;
	memset(&h, 0, sizeof(h));
	snprintf(h.owner.name, sizeof(h.owner.name), "root");
	struct amx_daemon_tools d;
	char err[512], want[4400];
	snprintf(fake, sizeof(fake), "%s/proc", root);
	const char *was = amx_procdir;
	amx_procdir = fake;
	CHECK(amx_toolchain_learn(&h, 4242, &d, err, sizeof(err)));
	amx_procdir = was;
	snprintf(want, sizeof(want), "%s/tools/image/packages/pm2/bin/pm2", root);
	CHECK_STR(d.found.pm2, want);
	CHECK_STR(d.found.node, p);
	CHECK_STR(d.found.version, "7.0.4");
	CHECK(!d.node_deleted);

	/* The owner made package.json a FIFO: read without blocking, no version, no hang. */
	char pj[4400];
	snprintf(pj, sizeof(pj), "%s/tools/image/packages/pm2/lib/node_modules/pm2/package.json", root);
	CHECK(unlink(pj) == 0 && mkfifo(pj, 0644) == 0);
	amx_procdir = fake;
	CHECK(amx_toolchain_learn(&h, 4242, &d, err, sizeof(err)));
	amx_procdir = was;
	CHECK_STR(d.found.pm2, want);
	CHECK_STR(d.found.version, "");
	if (nftw(root, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
		printf("note: could not remove %s\n", root);
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
	RUN(a_volta_daemon_leads_to_the_package_image_and_a_fifo_never_blocks);
	CHECK_DONE();
}
