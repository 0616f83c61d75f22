/* SPDX-License-Identifier: MIT */
/* Files in a PM2_HOME belong to an unprivileged user who can replace them with anything:
 * a symlink or hard link to a root-only file, a FIFO, a huge file. We touch them with the
 * owner's filesystem identity (setfsuid/setfsgid, per thread), never following a final
 * symlink, accepting only a regular file that the owner owns, and bounded in size.
 * Our own state files are root's, written atomically (temp file, fsync, rename). */
#ifndef AMX_USERFILE_H
#define AMX_USERFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Read dir/name as uid:gid. Returns 0 with *out (malloc'd, NUL-terminated) and *len, or
 * -ENOENT, -EACCES, -ELOOP (a symlink), -EINVAL (not a regular file), -EPERM (another
 * owner), -EFBIG (over max bytes), or another -errno. */
int amx_userfile_read(const char *dir, const char *name, uid_t uid, gid_t gid, size_t max,
		      char **out, size_t *len);
/* The same, and the file's permission bits in *mode (when not NULL). */
int amx_userfile_read_mode(const char *dir, const char *name, uid_t uid, gid_t gid, size_t max,
			   char **out, size_t *len, mode_t *mode);
/* The last max bytes (at most) of path, read as uid:gid with the same checks as
 * amx_userfile_read; the file may be of any size. *out is malloc'd and NUL-terminated. */
int amx_userfile_tail(const char *path, uid_t uid, gid_t gid, size_t max, char **out,
		      size_t *len);
/* Replace dir/name atomically as uid:gid (temp file in dir, fsync, rename). */
int amx_userfile_write(const char *dir, const char *name, uid_t uid, gid_t gid,
		       const char *data, size_t len, mode_t mode);
/* Root's own files (state directory): atomic replace, mode 0600. */
int amx_statefile_write(const char *path, const char *data, size_t len);
int amx_statefile_read(const char *path, size_t max, char **out, size_t *len);
/* Take uid:gid as this thread's filesystem identity (false if it did not take), and go
 * back to root's. For modules that work in a user's directory (log retention). */
bool amx_fs_become(uid_t uid, gid_t gid);
void amx_fs_become_root(void);
/* mkdir -p with mode, refusing a symlink as the last component. */
int amx_mkdir_p(const char *path, mode_t mode);

#endif
