/* SPDX-License-Identifier: MIT */
/* Reading "as the user" is the user's access alone: not root's supplementary groups. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "sys/userfile.h"

#define USER 65534
#define ROOT_GROUP 4242 /* a group root is in and the user is not */

TEST(root_groups_are_not_the_users)
{
	char d[] = "/tmp/amx-userfile-XXXXXX", p[128];
	char *out = NULL;
	size_t len;
	gid_t g = ROOT_GROUP, before[64], after[64];
	int nb, na;

	CHECK(mkdtemp(d) != NULL);
	chmod(d, 0755);
	CHECK(setgroups(1, &g) == 0); /* root, in group 4242 */
	nb = getgroups(64, before);
	snprintf(p, sizeof(p), "%s/f", d);
	FILE *f = fopen(p, "w");
	fputs("secret", f);
	fclose(f);
	/* root's file, readable only through group 4242: the user may not even open it
	 * (with root's groups kept, the open succeeded and only the owner check refused) */
	CHECK(chown(p, 0, ROOT_GROUP) == 0 && chmod(p, 0040) == 0);
	CHECK(amx_userfile_read(d, "f", USER, USER, 100, &out, &len) == -EACCES);
	CHECK(out == NULL);
	free(out);
	/* the same through amx_fs_become, which log retention uses */
	CHECK(amx_fs_become(USER, USER));
	int fd = open(p, O_RDONLY);
	CHECK(fd < 0 && errno == EACCES);
	if (fd >= 0)
		close(fd);
	amx_fs_become_root();
	/* root's groups are back afterwards */
	na = getgroups(64, after);
	CHECK(na == nb && na == 1 && after[0] == ROOT_GROUP);
	/* and the user's primary group still works */
	CHECK(chown(p, USER, USER) == 0 && chmod(p, 0400) == 0);
	CHECK(amx_userfile_read(d, "f", USER, USER, 100, &out, &len) == 0 && len == 6);
	free(out);
	unlink(p);
	rmdir(d);
}

int main(void)
{
	RUN(root_groups_are_not_the_users);
	CHECK_DONE();
}
