/* SPDX-License-Identifier: MIT */
#include "daemon/toolchain.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/config.h"
#include "daemon/home.h"
#include "sys/proc.h"
#include "sys/statewriter.h"
#include "sys/userfile.h"

#define MAX_PATH_DIRS 64 /* of the daemon's PATH: enough for any real one */

/* Every component of an already resolved path (no symlinks left): root's or uid's, and
 * writable by no one else (group-writable only by root's group or the owner's own). */
static bool components_ok(const char *real, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	char prefix[PATH_MAX];
	size_t len = strlen(real);
	for (size_t i = 1; i <= len; i++) {
		if (real[i] != '/' && real[i] != '\0')
			continue;
		memcpy(prefix, real, i);
		prefix[i] = '\0';
		struct stat st;
		if (lstat(prefix, &st) < 0) {
			snprintf(err, errlen, "%s: %s", prefix, strerror(errno));
			return false;
		}
		bool group_ok = st.st_gid == 0 || st.st_gid == gid;
		if ((st.st_uid != 0 && st.st_uid != uid) || (st.st_mode & S_IWOTH) ||
		    ((st.st_mode & S_IWGRP) && !group_ok)) {
			snprintf(err, errlen, "%s can be changed by someone other than its owner "
					      "and root", prefix);
			return false;
		}
	}
	return true;
}

bool amx_toolchain_path_ok(const char *path, uid_t uid, gid_t gid, char *real, size_t reallen,
			   char *err, size_t errlen)
{
	if (!path || path[0] != '/' || strlen(path) >= 1024) {
		snprintf(err, errlen, "not an absolute path of at most 1023 bytes");
		return false;
	}
	/* Resolved as the owner: a link the owner could not follow is not followed for them. */
	char resolved[PATH_MAX];
	bool became = amx_fs_become(uid, gid);
	bool found = became && realpath(path, resolved) != NULL;
	int e = errno;
	amx_fs_become_root();
	if (!found) {
		snprintf(err, errlen, "%s: %s", path, became ? strerror(e) : "cannot act as its owner");
		return false;
	}
	struct stat st;
	if (stat(resolved, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & S_IXUSR)) {
		snprintf(err, errlen, "%s is not an executable file", resolved);
		return false;
	}
	if (!components_ok(resolved, uid, gid, err, errlen))
		return false;
	if (real)
		snprintf(real, reallen, "%s", resolved);
	return true;
}

#define PACKAGE_JSON_MAX (256 * 1024)

/* pm2's version from its package.json, two levels up from the resolved bin/pm2, read as
 * the owner; "" when there is none (a wrapper). The owner controls that file: a FIFO or a
 * device there must not stall the loop, so it is opened without blocking and read only
 * when it is a regular file, at most PACKAGE_JSON_MAX bytes. */
static void pm2_version_of(const char *real_pm2, uid_t uid, gid_t gid, char *out, size_t len)
{
	out[0] = '\0';
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", real_pm2);
	for (int up = 0; up < 2; up++) {
		char *slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			return;
		*slash = '\0';
	}
	if (!amx_fs_become(uid, gid)) {
		amx_fs_become_root();
		return;
	}
	char pkg[PATH_MAX + 16];
	snprintf(pkg, sizeof(pkg), "%s/package.json", dir);
	int fd = open(pkg, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	amx_fs_become_root();
	struct stat st;
	if (fd < 0)
		return;
	char *data = NULL;
	size_t n = 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= PACKAGE_JSON_MAX)
		data = malloc(PACKAGE_JSON_MAX + 1);
	while (data && n < PACKAGE_JSON_MAX) {
		ssize_t r = read(fd, data + n, PACKAGE_JSON_MAX - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (!data)
		return;
	data[n] = '\0';
	json_t *j = json_loads(data, 0, NULL);
	free(data);
	const char *v = json_string_value(json_object_get(j, "version"));
	if (v && strlen(v) < len && strspn(v, "0123456789.-+abcdefghijklmnopqrstuvwxyz") == strlen(v))
		snprintf(out, len, "%s", v);
	json_decref(j);
}

/* "PM2 v7.0.4: God Daemon (...)" -> "7.0.4". */
static void god_version_of(int pid, char *out, size_t len)
{
	char cmd[128];
	out[0] = '\0';
	ssize_t n = amx_proc_read(pid, "cmdline", cmd, sizeof(cmd) - 1);
	if (n < 6 || strncmp(cmd, "PM2 v", 5) != 0)
		return;
	cmd[n] = '\0';
	size_t v = strcspn(cmd + 5, ": ");
	if (v > 0 && v < len)
		snprintf(out, len, "%.*s", (int)v, cmd + 5);
}

/* The node the daemon runs: /proc/PID/exe, " (deleted)" when it was removed or replaced. */
static bool god_exe(int pid, char *out, size_t len, bool *deleted)
{
	char link[64];
	snprintf(link, sizeof(link), "%s/%d/exe", amx_procdir, pid);
	ssize_t n = readlink(link, out, len - 1);
	if (n <= 0 || (size_t)n >= len - 1)
		return false;
	out[n] = '\0';
	static const char mark[] = " (deleted)";
	size_t m = sizeof(mark) - 1;
	*deleted = (size_t)n > m && strcmp(out + n - m, mark) == 0;
	if (*deleted)
		out[n - m] = '\0';
	return out[0] == '/';
}

/* Try dir/pm2: safe, and its version; a match of the daemon's version wins at once, else
 * the first one found is kept. */
static bool try_pm2_dir(const struct amx_home *h, const char *dir, size_t dlen,
			struct amx_daemon_tools *out)
{
	char path[1024], err[256], real[PATH_MAX], version[32];
	if (dlen == 0 || dir[0] != '/' || dlen + sizeof("/pm2") > sizeof(path))
		return false;
	snprintf(path, sizeof(path), "%.*s/pm2", (int)dlen, dir);
	if (!amx_toolchain_path_ok(path, h->owner.uid, h->owner.gid, real, sizeof(real), err,
				   sizeof(err)))
		return false;
	pm2_version_of(real, h->owner.uid, h->owner.gid, version, sizeof(version));
	bool match = version[0] && !strcmp(version, out->god_version);
	if (!out->found.pm2[0] || match) {
		/* The path as found, not resolved: it names the install the user knows. */
		snprintf(out->found.pm2, sizeof(out->found.pm2), "%s", path);
		snprintf(out->found.version, sizeof(out->found.version), "%s", version);
	}
	return match;
}

/* volta: the daemon runs on VOLTA_HOME/tools/image/node/<v>/bin/node, started through a
 * shim that took its own directory (VOLTA_HOME/bin) out of PATH and put the node image's
 * first, so neither place has a pm2. The shim ran the package image's bin, the pm2 that
 * `volta install pm2` put in VOLTA_HOME/tools/image/packages/pm2/bin: try that one. */
static bool try_volta_image(const struct amx_home *h, const char *exe, struct amx_daemon_tools *out)
{
	static const char image[] = "/tools/image/node/";
	const char *at = strstr(exe, image);
	if (!at)
		return false;
	const char *version = at + sizeof(image) - 1;
	const char *rest = strchr(version, '/');
	if (!rest || rest == version || strcmp(rest, "/bin/node") != 0)
		return false;
	char dir[1024];
	int n = snprintf(dir, sizeof(dir), "%.*s/tools/image/packages/pm2/bin", (int)(at - exe), exe);
	if (n <= 0 || (size_t)n >= sizeof(dir))
		return false;
	return try_pm2_dir(h, dir, (size_t)n, out);
}

bool amx_toolchain_daemon_state(int pid, struct amx_daemon_tools *out)
{
	memset(out, 0, sizeof(*out));
	out->found.source = AMX_TOOLS_DAEMON;
	god_version_of(pid, out->god_version, sizeof(out->god_version));
	return god_exe(pid, out->node_was, sizeof(out->node_was), &out->node_deleted);
}

bool amx_toolchain_learn(const struct amx_home *h, int pid, struct amx_daemon_tools *out,
			 char *err, size_t errlen)
{
	if (!amx_toolchain_daemon_state(pid, out)) {
		snprintf(err, errlen, "cannot read the daemon's executable");
		return false;
	}
	char exe[1024];
	snprintf(exe, sizeof(exe), "%s", out->node_was);
	/* Node upgraded in place (n, a package) leaves a new node at the same path. */
	if (amx_toolchain_path_ok(exe, h->owner.uid, h->owner.gid, NULL, 0, err, errlen))
		snprintf(out->found.node, sizeof(out->found.node), "%s", exe);
	/* Where pm2 lives: beside node (nvm, n, a system package), else on the daemon's PATH
	 * (npm's global bin under the user's prefix), else in volta's package image. */
	const char *slash = strrchr(exe, '/');
	bool done = try_pm2_dir(h, exe, (size_t)(slash - exe), out);
	char *path = malloc(32768);
	if (!done && path && amx_proc_environ_get(pid, "PATH", path, 32768)) {
		const char *p = path;
		for (int i = 0; !done && *p && i < MAX_PATH_DIRS; i++) {
			size_t n = strcspn(p, ":");
			done = try_pm2_dir(h, p, n, out);
			p += n;
			if (*p == ':')
				p++;
		}
	}
	free(path);
	if (!done)
		try_volta_image(h, exe, out);
	if (!out->found.pm2[0]) {
		snprintf(err, errlen, "no pm2 beside %s or on the daemon's PATH that only %s or root "
				      "can change", exe, h->owner.name);
		return false;
	}
	return true;
}

void amx_toolchain_remember(const struct amx_home *h)
{
	json_t *j = json_pack("{s:s, s:s, s:s}", "pm2", h->learned.pm2, "node", h->learned.node,
			      "version", h->learned.version);
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (text)
		amx_statefile_put(h->tools_file, text, strlen(text));
	free(text);
	json_decref(j);
}

static void copy_json_string(json_t *j, const char *key, char *out, size_t len)
{
	const char *v = json_string_value(json_object_get(j, key));
	if (v && strlen(v) < len)
		snprintf(out, len, "%s", v);
}

void amx_toolchain_recall(struct amx_home *h)
{
	char *data = NULL, err[256];
	size_t len = 0;
	memset(&h->learned, 0, sizeof(h->learned));
	if (amx_statefile_get(h->tools_file, 16384, &data, &len) != 0)
		return;
	json_t *j = json_loads(data, 0, NULL);
	free(data);
	struct amx_toolchain t = { .source = AMX_TOOLS_REMEMBERED };
	copy_json_string(j, "pm2", t.pm2, sizeof(t.pm2));
	copy_json_string(j, "node", t.node, sizeof(t.node));
	copy_json_string(j, "version", t.version, sizeof(t.version));
	json_decref(j);
	if (!amx_toolchain_path_ok(t.pm2, h->owner.uid, h->owner.gid, NULL, 0, err, sizeof(err)))
		return;
	if (t.node[0] && !amx_toolchain_path_ok(t.node, h->owner.uid, h->owner.gid, NULL, 0, err,
						 sizeof(err)))
		t.node[0] = '\0';
	h->learned = t;
}

/* The node beside pm2 (the path as given, before symlinks: nvm's bin/pm2 sits next to its
 * node), else the first on our own PATH. "" when none. */
static void node_for(const char *pm2, char *out, size_t len)
{
	char candidate[PATH_MAX];
	const char *slash = strrchr(pm2, '/');
	out[0] = '\0';
	if (slash && (size_t)(slash - pm2) + sizeof("/node") <= sizeof(candidate)) {
		snprintf(candidate, sizeof(candidate), "%.*s/node", (int)(slash - pm2), pm2);
		if (access(candidate, X_OK) == 0) {
			snprintf(out, len, "%s", candidate);
			return;
		}
	}
	const char *p = getenv("PATH");
	while (p && *p) {
		size_t n = strcspn(p, ":");
		if (n > 0 && p[0] == '/' && n + sizeof("/node") <= sizeof(candidate)) {
			snprintf(candidate, sizeof(candidate), "%.*s/node", (int)n, p);
			if (access(candidate, X_OK) == 0) {
				snprintf(out, len, "%s", candidate);
				return;
			}
		}
		p += n;
		if (*p == ':')
			p++;
	}
}

void amx_toolchain_choose(struct amx_home *h, const struct amx_options *o)
{
	struct amx_toolchain *t = &h->tools;
	const char *cfg_pm2 = amx_config_home_pm2(o, h->path);
	const char *cfg_node = amx_config_home_node(o, h->path);
	memset(t, 0, sizeof(*t));
	if (cfg_pm2) {
		snprintf(t->pm2, sizeof(t->pm2), "%s", cfg_pm2);
		t->source = AMX_TOOLS_CONFIG;
	} else if (h->learned.pm2[0]) {
		*t = h->learned;
	} else if (o->pm2) {
		snprintf(t->pm2, sizeof(t->pm2), "%s", o->pm2);
		t->source = o->pm2_from_path ? AMX_TOOLS_PATH : AMX_TOOLS_OPTION;
	} else {
		return;
	}
	if (cfg_node)
		snprintf(t->node, sizeof(t->node), "%s", cfg_node);
	else if (!t->node[0])
		node_for(t->pm2, t->node, sizeof(t->node));
	char real[PATH_MAX], err[256];
	if (!t->version[0] &&
	    amx_toolchain_path_ok(t->pm2, h->owner.uid, h->owner.gid, real, sizeof(real), err,
				  sizeof(err)))
		pm2_version_of(real, h->owner.uid, h->owner.gid, t->version, sizeof(t->version));
}

void amx_toolchain_find(struct amx_home *h, const struct amx_options *o)
{
	struct amx_daemon_tools d;
	char err[512];
	amx_toolchain_recall(h);
	int god = amx_home_read_god_pid(h);
	if (god && amx_home_is_god(h, god) && amx_toolchain_learn(h, god, &d, err, sizeof(err))) {
		h->learned = d.found;
		amx_toolchain_remember(h);
	}
	amx_toolchain_choose(h, o);
}

bool amx_toolchain_recheck(struct amx_home *h, const struct amx_options *o)
{
	struct amx_toolchain was = h->learned;
	char real[PATH_MAX], err[256];
	if (h->learned.pm2[0]) {
		if (!amx_toolchain_path_ok(h->learned.pm2, h->owner.uid, h->owner.gid, real,
					   sizeof(real), err, sizeof(err)))
			memset(&h->learned, 0, sizeof(h->learned)); /* gone, or no longer safe */
		else
			pm2_version_of(real, h->owner.uid, h->owner.gid, h->learned.version,
				       sizeof(h->learned.version));
	}
	if (h->learned.node[0] && !amx_toolchain_path_ok(h->learned.node, h->owner.uid,
							 h->owner.gid, NULL, 0, err, sizeof(err)))
		h->learned.node[0] = '\0';
	amx_toolchain_choose(h, o);
	bool changed = memcmp(&was, &h->learned, sizeof(was)) != 0;
	if (changed && h->learned.pm2[0])
		amx_toolchain_remember(h);
	return changed;
}

void amx_toolchain_print(const struct amx_home *h, const char *path, struct amx_file_print *p)
{
	struct stat st;
	memset(p, 0, sizeof(*p));
	if (!path || path[0] != '/')
		return;
	/* stat follows links: as the owner, whose links they are. */
	bool became = amx_fs_become(h->owner.uid, h->owner.gid);
	bool ok = became && stat(path, &st) == 0;
	amx_fs_become_root();
	if (!ok)
		return;
	p->exists = true;
	p->dev = st.st_dev;
	p->ino = st.st_ino;
	p->size = (uint64_t)st.st_size;
	p->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}
