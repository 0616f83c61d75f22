/* SPDX-License-Identifier: MIT */
#include "daemon/selftest.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys/spawn.h"
#include "sys/userfile.h"

/* pm2's package.json, two levels up from bin/pm2 once symlinks are resolved. */
static bool package_json_of(const char *pm2, char *out, size_t len)
{
	char *real = realpath(pm2, NULL);
	if (!real)
		return false;
	char *bin = dirname(real);       /* .../pm2/bin */
	char *pkg = dirname(bin);        /* .../pm2 */
	int n = snprintf(out, len, "%s/package.json", pkg);
	free(real);
	return n > 0 && (size_t)n < len && access(out, R_OK) == 0;
}

static bool is_env_node_script(const char *pm2)
{
	FILE *f = fopen(pm2, "re");
	if (!f)
		return false;
	char line[128] = "";
	bool node = fgets(line, sizeof(line), f) && !strncmp(line, "#!", 2) && strstr(line, "node");
	fclose(f);
	return node;
}

bool amx_selftest_pm2(const struct amx_toolchain *t, const struct amx_home *h, char *version,
		      size_t versionlen, char *err, size_t errlen)
{
	const char *pm2 = t->pm2;
	if (version && versionlen)
		version[0] = '\0';
	struct stat st;
	if (stat(pm2, &st) < 0 || !S_ISREG(st.st_mode) || access(pm2, X_OK) < 0) {
		snprintf(err, errlen, "pm2 %s is not an executable file", pm2);
		return false;
	}
	char pkg[PATH_MAX];
	if (!is_env_node_script(pm2) || !package_json_of(pm2, pkg, sizeof(pkg)))
		return true; /* a wrapper of some kind: being executable is all we can check */
	/* node, found the way the pm2 child will find it, reads pm2's package.json as the
	 * owner: this starts no PM2 daemon. */
	struct amx_argv argv = { .v = { "/usr/bin/env", "node", "-e",
					"process.stdout.write(String(require(process.argv[1]).version))",
					pkg, NULL }, .n = 5,
				.node = t->node[0] ? t->node : NULL };
	struct amx_child c;
	char serr[256];
	if (amx_run_wait(&c, &argv, &h->owner, h->path, 10, serr, sizeof(serr)) < 0) {
		snprintf(err, errlen, "cannot run node for pm2 as %s: %s", h->owner.name, serr);
		return false;
	}
	bool ok = amx_child_succeeded(&c);
	if (!ok) {
		char why[128];
		amx_child_describe(&c, 10, why, sizeof(why));
		/* the first line of what node said */
		c.output[strcspn(c.output, "\n")] = '\0';
		snprintf(err, errlen, "node cannot read pm2's %s as %s (%s)%s%.200s", pkg,
			 h->owner.name, why, c.output[0] ? ": " : "", c.output);
	} else if (version && versionlen) {
		snprintf(version, versionlen, "%.*s", (int)strcspn(c.output, "\n"), c.output);
	}
	amx_child_release(&c);
	return ok;
}

bool amx_selftest_home(const struct amx_home *h, char *err, size_t errlen)
{
	char *data = NULL;
	size_t len = 0;
	int rc = amx_userfile_read(h->path, "dump.pm2", h->owner.uid, h->owner.gid,
				   16u << 20, &data, &len);
	free(data);
	if (rc == 0 || rc == -ENOENT)
		return true;
	snprintf(err, errlen, "%s/dump.pm2 cannot be read as its owner %s: %s", h->path,
		 h->owner.name, strerror(-rc));
	return false;
}

bool amx_selftest_hook(const char *path, char *err, size_t errlen)
{
	struct stat st;
	if (path[0] != '/') {
		snprintf(err, errlen, "hook %s: not an absolute path", path);
		return false;
	}
	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "hook %s: %s", path, strerror(errno));
		return false;
	}
	if (!S_ISREG(st.st_mode) || access(path, X_OK) < 0) {
		snprintf(err, errlen, "hook %s: not an executable file", path);
		return false;
	}
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		snprintf(err, errlen, "hook %s: can be changed by someone other than root", path);
		return false;
	}
	return true;
}
