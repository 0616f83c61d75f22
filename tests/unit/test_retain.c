/* SPDX-License-Identifier: MIT */
/* --retain DIR=DAYS as root over paths a user may shape: a symlink in any component is
 * refused, root's rights are used only where root alone controls the path, and a user's
 * directory is cleaned as that user. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

#include "check.h"
#include "daemon/retain.h"

#define USER 65534 /* nobody */

static char top[64];

static void old_log(const char *path)
{
	FILE *f = fopen(path, "w");
	struct utimbuf t = { 1000, 1000 };

	if (!f)
		abort();
	fputs("x\n", f);
	fclose(f);
	utime(path, &t);
}

static void dir(const char *rel, uid_t uid, mode_t mode)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	if (mkdir(p, mode) < 0 || chown(p, uid, uid) < 0 || chmod(p, mode) < 0)
		abort();
}

static bool exists(const char *rel)
{
	char p[256];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	return lstat(p, &st) == 0;
}

static unsigned pass(const char *rel, unsigned *removed)
{
	char p[256];
	struct amx_retain_result r = { .removed = json_array() };

	snprintf(p, sizeof(p), "%s/%s", top, rel);
	amx_retain_pass(p, 1, time(NULL), &r);
	*removed = (unsigned)json_array_size(r.removed);
	json_decref(r.removed);
	return r.errors;
}

TEST(symlinks_and_user_paths)
{
	char p[256];
	unsigned removed;

	snprintf(top, sizeof(top), "/tmp/amx-retain-XXXXXX");
	CHECK(mkdtemp(top) != NULL);
	chmod(top, 0755);
	dir("root", 0, 0755);
	dir("root/logs", 0, 0755);
	snprintf(p, sizeof(p), "%s/root/logs/secret.log", top);
	old_log(p);
	dir("u", USER, 0755);
	dir("u/logs", USER, 0755);
	snprintf(p, sizeof(p), "%s/u/logs/app.log", top);
	old_log(p);
	chown(p, USER, USER);
	/* the user plants a symlink in a parent component, to root's directory */
	snprintf(p, sizeof(p), "%s/u/link", top);
	CHECK(symlink("../root", p) == 0);
	lchown(p, USER, USER);

	CHECK(pass("u/link/logs", &removed) > 0);
	CHECK(removed == 0 && exists("root/logs/secret.log"));

	/* a root-owned directory under the user's: not root's rights, not worked in */
	dir("u/rootowned", 0, 0755);
	snprintf(p, sizeof(p), "%s/u/rootowned/x.log", top);
	old_log(p);
	CHECK(pass("u/rootowned", &removed) > 0);
	CHECK(removed == 0 && exists("u/rootowned/x.log"));

	/* root's own directory that anyone may write to: refused */
	dir("open", 0, 0777);
	snprintf(p, sizeof(p), "%s/open/x.log", top);
	old_log(p);
	CHECK(pass("open", &removed) > 0);
	CHECK(exists("open/x.log"));

	/* the user's own directory: cleaned, as the user */
	CHECK(pass("u/logs", &removed) == 0);
	CHECK(removed == 1 && !exists("u/logs/app.log"));
	/* root's own directory, root all the way: cleaned */
	CHECK(pass("root/logs", &removed) == 0);
	CHECK(removed == 1 && !exists("root/logs/secret.log"));

	snprintf(p, sizeof(p), "rm -rf %s", top);
	CHECK(system(p) == 0);
}

int main(void)
{
	umask(022);
	RUN(symlinks_and_user_paths);
	CHECK_DONE();
}
