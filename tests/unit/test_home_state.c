/* SPDX-License-Identifier: MIT */
/* A home's files in the state directory: one name per home path (injective: /x/a_b and
 * /x/a/b never share), old names taken over once when that is unambiguous, the good copy
 * written only when the dump changed, and a restored dump with the original's mode. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "daemon/home.h"
#include "sys/userfile.h"

static char root[64], state[128];

static void setup(void)
{
	char cmd[256];

	snprintf(root, sizeof(root), "/tmp/amxhomeXXXXXX" /* [A-Za-z0-9./] only: see old names */);
	if (!mkdtemp(root))
		abort();
	snprintf(state, sizeof(state), "%s/state", root);
	mkdir(state, 0700);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/a_b/.pm2 %s/a/b/.pm2 %s/c/.pm2", root, root, root);
	if (system(cmd) != 0)
		abort();
}

static void teardown(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		abort();
}

static bool init_home(struct amx_home *h, const char *rel)
{
	char p[256], err[256];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	return amx_home_init(h, p, state, err, sizeof(err));
}

static void put(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	fchmod(fd, mode);
	close(fd);
}

TEST(state_names_are_injective)
{
	struct amx_home x, y;

	setup();
	CHECK(init_home(&x, "a_b/.pm2") && init_home(&y, "a/b/.pm2"));
	CHECK(strcmp(x.state_file, y.state_file) != 0);
	CHECK(strcmp(x.budget_file, y.budget_file) != 0);
	CHECK(strcmp(x.run_prefix, y.run_prefix) != 0);
	/* neither run prefix starts the other's: a running file is never the other home's */
	CHECK(strncmp(x.run_prefix, y.run_prefix, strlen(x.run_prefix)) != 0);
	CHECK(strncmp(y.run_prefix, x.run_prefix, strlen(y.run_prefix)) != 0);
	/* still in the state directory, readable */
	CHECK(strncmp(x.state_file, state, strlen(state)) == 0 && strstr(x.state_file, "pm2"));
	amx_home_free(&x);
	amx_home_free(&y);
	teardown();
}

TEST(old_names_are_taken_over_only_when_unambiguous)
{
	struct amx_home h;
	char old[512];
	struct stat st;

	setup();
	/* /c/.pm2 has one reading of its old name, unless a "..._c" twin exists */
	snprintf(old, sizeof(old), "%s/dump%s", state, root);
	for (char *p = old + strlen(state) + 5; *p; p++)
		if (*p == '/')
			*p = '_';
	strcat(old, "_c_.pm2.good");
	put(old, "[{\"name\":\"a\"}]", 0600);
	CHECK(init_home(&h, "c/.pm2"));
	CHECK(stat(h.state_file, &st) == 0);
	CHECK(stat(old, &st) != 0);
	amx_home_free(&h);

	/* a_b/.pm2 and a/b/.pm2 both exist: the old file could be either's, left alone */
	snprintf(old, sizeof(old), "%s/dump%s", state, root);
	for (char *p = old + strlen(state) + 5; *p; p++)
		if (*p == '/')
			*p = '_';
	strcat(old, "_a_b_.pm2.good");
	put(old, "[{\"name\":\"a\"}]", 0600);
	CHECK(init_home(&h, "a/b/.pm2"));
	CHECK(stat(h.state_file, &st) != 0);
	CHECK(stat(old, &st) == 0);
	amx_home_free(&h);
	teardown();
}

static void read_and_adopt_(struct amx_home *h, const char *check_name)
{
	struct amx_dump_read r;

	amx_home_read_dump(h, &r);
	CHECK(r.problem == AMX_DUMP_OK);
	amx_home_adopt_dump(h, &r, NULL, 0);
	amx_dump_read_free(&r);
}

TEST(good_copy_is_written_only_on_change)
{
	struct amx_home h;
	char dump[256];
	struct stat a, b;

	setup();
	CHECK(init_home(&h, "c/.pm2"));
	snprintf(dump, sizeof(dump), "%s/dump.pm2", h.path);
	put(dump, "[{\"name\":\"web\"}]", 0600);
	read_and_adopt_(&h, check_name);
	CHECK(stat(h.state_file, &a) == 0);
	read_and_adopt_(&h, check_name); /* the same bytes again: no rewrite (a rewrite is a new inode) */
	CHECK(stat(h.state_file, &b) == 0 && a.st_ino == b.st_ino);
	put(dump, "[{\"name\":\"api\"}]", 0600);
	read_and_adopt_(&h, check_name);
	CHECK(stat(h.state_file, &b) == 0 && a.st_ino != b.st_ino);
	amx_home_free(&h);
	teardown();
}

TEST(restored_dump_keeps_the_original_mode)
{
	struct amx_home h;
	char dump[256];
	struct stat st;

	setup();
	CHECK(init_home(&h, "c/.pm2"));
	snprintf(dump, sizeof(dump), "%s/dump.pm2", h.path);
	put(dump, "[{\"name\":\"web\",\"env\":{\"SECRET\":\"x\"}}]", 0600);
	read_and_adopt_(&h, check_name);
	unlink(dump);
	CHECK(amx_home_restore_dump(&h) == 0);
	CHECK(stat(dump, &st) == 0 && (st.st_mode & 07777) == 0600);
	amx_home_free(&h);

	/* after a restart the good copy comes from the state dir: the mode is not known, so
	 * the restored file is the owner's alone */
	CHECK(init_home(&h, "c/.pm2"));
	CHECK(amx_home_load_good_copy(&h, NULL, 0));
	unlink(dump);
	CHECK(amx_home_restore_dump(&h) == 0);
	CHECK(stat(dump, &st) == 0 && (st.st_mode & 07777) == 0600);
	amx_home_free(&h);
	teardown();
}

int main(void)
{
	umask(022);
	RUN(state_names_are_injective);
	RUN(old_names_are_taken_over_only_when_unambiguous);
	RUN(good_copy_is_written_only_on_change);
	RUN(restored_dump_keeps_the_original_mode);
	CHECK_DONE();
}
