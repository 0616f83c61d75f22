/* SPDX-License-Identifier: MIT */
/* Users the unit tests run children as. */
#ifndef AMX_TEST_USERS_H
#define AMX_TEST_USERS_H

#include <pwd.h>
#include <string.h>

#include "sys/spawn.h"

/* nobody as the passwd database has it (zeroed when it has none). */
static inline struct amx_user nobody(void)
{
	struct amx_user u;
	struct passwd *pw = getpwnam("nobody");
	char err[256];

	memset(&u, 0, sizeof(u));
	if (pw)
		amx_user_from_uid(pw->pw_uid, &u, err, sizeof(err));
	return u;
}

#endif
