/* SPDX-License-Identifier: MIT */
/* Which pm2 and node a home's commands run with (core/model.h, struct amx_toolchain).
 * With nvm, n or volta each user has their own Node and PM2 under their home, root has
 * neither, and running another PM2 version's CLI against a user's daemon gives PM2's
 * "in-memory PM2 is out-of-date" trouble. So the running God daemon tells us: its
 * /proc/PID/exe is the node it runs on, the PATH in its environment is where its pm2
 * lives. What it tells us is hostile input (the owner controls it): every path is resolved
 * with the owner's filesystem identity, must belong to the owner or root with no component
 * writable by anyone else, is bounded, and is only ever run as the owner.
 *
 * Per home, the first that gives a pm2 wins: [home PATH] pm2 = / node = in the config,
 * what its daemon told us (now, or remembered in the state directory from an earlier
 * daemon), --pm2, amexbpf's own PATH. */
#ifndef AMX_TOOLCHAIN_H
#define AMX_TOOLCHAIN_H

#include <stdbool.h>
#include <stddef.h>

#include "core/model.h"
#include "core/options.h"

/* What a God daemon says about its node and pm2. */
struct amx_daemon_tools {
	struct amx_toolchain found; /* source AMX_TOOLS_DAEMON; pm2 "" when none was found */
	char god_version[32];       /* from its title "PM2 v7.0.4: God Daemon (...)" */
	bool node_deleted;          /* its exe was deleted or replaced: Node upgraded under it */
	char node_was[1024];        /* the exe path it started from */
};

/* Ask God daemon pid of home h. false (why in err) when nothing usable was found; the
 * god_version and node_deleted are filled either way as far as known. */
bool amx_toolchain_learn(const struct amx_home *h, int pid, struct amx_daemon_tools *out,
			 char *err, size_t errlen);

/* Only what the daemon says of itself (god_version, node_deleted, node_was): a readlink
 * and a read of /proc, cheap enough for every periodic check. false when its exe cannot be
 * read (gone). */
bool amx_toolchain_daemon_state(int pid, struct amx_daemon_tools *out);

/* Look again at what h->learned names: a pm2 or node gone or no longer safe is forgotten,
 * the pm2's version is read again; then choose. true (and remembered) when h->learned
 * changed. */
bool amx_toolchain_recheck(struct amx_home *h, const struct amx_options *o);

/* A stat of path as h's owner (following links as they may), to tell a change; all zero
 * when it cannot be seen. */
void amx_toolchain_print(const struct amx_home *h, const char *path, struct amx_file_print *p);

/* Keep h->learned in / load it from h->tools_file (root's state directory). Loading checks
 * the paths again: a remembered pm2 that is gone or no longer safe is forgotten. */
void amx_toolchain_remember(const struct amx_home *h);
void amx_toolchain_recall(struct amx_home *h);

/* For one-off runs (`amexbpf check`): remembered, then learned from the home's live
 * daemon (and remembered), then chosen by the order above. */
void amx_toolchain_find(struct amx_home *h, const struct amx_options *o);

/* Fill h->tools by the order above (config given as cfg_pm2/cfg_node, NULL when none). */
void amx_toolchain_choose(struct amx_home *h, const struct amx_options *o);

/* Is path safe to run as owner: absolute, bounded, resolved as the owner, every component
 * owned by root or uid and writable by no one else, the file a regular executable one. The
 * resolved path goes to real (NULL: not wanted). */
bool amx_toolchain_path_ok(const char *path, uid_t uid, gid_t gid, char *real, size_t reallen,
			   char *err, size_t errlen);

#endif
