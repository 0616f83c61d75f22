/* SPDX-License-Identifier: MIT */
/* The start-up self-test, in the style of earlyoom: before monitor-started, check that
 * what recovery will need works, and say what does not. Nothing here runs pm2 itself:
 * `pm2 --version` and most pm2 commands start a PM2 daemon when none runs. */
#ifndef AMX_SELFTEST_H
#define AMX_SELFTEST_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/home.h"

/* The home's pm2 (t) can run as its owner: pm2 is executable, and when it is a node
 * script, node is found on the PATH the child gets (t's node first) and reads pm2's
 * package.json as the owner (`node -e`, not pm2). version receives pm2's version when
 * known. false + one line in err otherwise. */
bool amx_selftest_pm2(const struct amx_toolchain *t, const struct amx_home *h, char *version,
		      size_t versionlen, char *err, size_t errlen);
/* The owner can read the home and its dump.pm2 (when there is one). */
bool amx_selftest_home(const struct amx_home *h, char *err, size_t errlen);
/* A hook (notification command): an absolute path to a regular executable file that
 * only root can change. */
bool amx_selftest_hook(const char *path, char *err, size_t errlen);

#endif
