/* SPDX-License-Identifier: MIT */
#include "sys/userfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Switch this thread's filesystem identity; the kernel drops CAP_DAC_OVERRIDE and
 * friends from the effective set while fsuid is not 0, so permission checks are the
 * owner's. Returns false if the switch did not take. */
/* Root's supplementary groups stay in force under setfsuid: a file readable by a group
 * root is in (adm, shadow...) would be readable "as the user". They are dropped to the
 * user's primary group alone for the access, per thread (the raw system call: glibc's
 * setgroups() changes every thread of the process), and root's are put back after. */
static __thread gid_t root_groups[NGROUPS_MAX];
static __thread int n_root_groups = -1;

static bool become(uid_t uid, gid_t gid)
{
	if (n_root_groups < 0) {
		n_root_groups = getgroups(NGROUPS_MAX, root_groups);
		if (n_root_groups < 0)
			return false;
	}
	if (syscall(SYS_setgroups, 1, &gid) < 0)
		return false;
	setfsgid(gid);
	setfsuid(uid);
	return (uid_t)setfsuid((uid_t)-1) == uid && (gid_t)setfsgid((gid_t)-1) == gid;
}

static void become_root(void)
{
	setfsuid(0);
	setfsgid(0);
	if (n_root_groups >= 0)
		syscall(SYS_setgroups, (size_t)n_root_groups, root_groups);
}

bool amx_fs_become(uid_t uid, gid_t gid)
{
	return become(uid, gid);
}

void amx_fs_become_root(void)
{
	become_root();
}

static int read_fd(int fd, size_t max, char **out, size_t *len)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((size_t)st.st_size > max)
		return -EFBIG;
	char *buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	size_t got = 0;
	/* Read at most what fstat said (+1 to notice growth): the file may still grow. */
	while (got <= (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = -errno;
			free(buf);
			return e;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > (size_t)st.st_size) {
			free(buf);
			return -EFBIG; /* grew while we read: treat like a save in progress */
		}
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return 0;
}

/* Write everything and fsync: a rename after this publishes whole content only. */
static int write_all_synced(int fd, const char *data, size_t len)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(fd, data + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += (size_t)n;
	}
	return fsync(fd) < 0 ? -errno : 0;
}

/* Open path as uid:gid for reading: no final symlink, a regular file the owner owns.
 * Returns the fd (blocking), or -errno as amx_userfile_read says. */
static int open_owned(const char *path, uid_t uid, gid_t gid)
{
	if (!become(uid, gid)) {
		become_root();
		return -EPERM;
	}
	/* O_NONBLOCK: opening a FIFO must not hang us; O_NOFOLLOW: no final symlink. */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	int err = fd < 0 ? -errno : 0;
	become_root();
	if (fd < 0)
		return err;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		err = -errno;
	} else if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
	} else if (st.st_uid != uid || (st.st_nlink > 1 && uid != 0)) {
		/* Not the owner's. A hard link to someone else's file would fail the owner
		 * check; one to the owner's own files is harmless, but PM2 never makes one. */
		err = -EPERM;
	}
	if (err) {
		close(fd);
		return err;
	}
	int flags = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	return fd;
}

int amx_userfile_read(const char *dir, const char *name, uid_t uid, gid_t gid, size_t max,
		      char **out, size_t *len)
{
	return amx_userfile_read_mode(dir, name, uid, gid, max, out, len, NULL);
}

int amx_userfile_read_mode(const char *dir, const char *name, uid_t uid, gid_t gid, size_t max,
			   char **out, size_t *len, mode_t *mode)
{
	char path[4200];
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	*out = NULL;
	*len = 0;
	int fd = open_owned(path, uid, gid);
	if (fd < 0)
		return fd;
	struct stat st;
	if (mode && fstat(fd, &st) == 0)
		*mode = st.st_mode & 07777;
	int err = read_fd(fd, max, out, len);
	close(fd);
	return err;
}

int amx_userfile_tail(const char *path, uid_t uid, gid_t gid, size_t max, char **out,
		      size_t *len)
{
	*out = NULL;
	*len = 0;
	int fd = open_owned(path, uid, gid);
	if (fd < 0)
		return fd;
	struct stat st;
	int err = 0;
	char *buf = malloc(max + 1);
	if (!buf || fstat(fd, &st) < 0) {
		err = buf ? -errno : -ENOMEM;
		goto out;
	}
	off_t from = st.st_size > (off_t)max ? st.st_size - (off_t)max : 0;
	size_t got = 0;
	while (got < max) {
		ssize_t n = pread(fd, buf + got, max - got, from + (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return err;
}

int amx_userfile_write(const char *dir, const char *name, uid_t uid, gid_t gid,
		       const char *data, size_t len, mode_t mode)
{
	char tmp[4200], path[4200];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.amexbpf-%d", dir, name, (int)getpid());
	if (!become(uid, gid)) {
		become_root();
		return -EPERM;
	}
	int err = 0;
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	/* the mode asked for, not narrowed by our umask */
	err = fchmod(fd, mode) < 0 ? -errno : write_all_synced(fd, data, len);
	close(fd);
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err)
		unlink(tmp);
out:
	become_root();
	return err;
}

int amx_statefile_write(const char *path, const char *data, size_t len)
{
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int err = 0;
	err = write_all_synced(fd, data, len);
	close(fd);
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

int amx_statefile_read(const char *path, size_t max, char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int err = read_fd(fd, max, out, len);
	close(fd);
	return err;
}

int amx_mkdir_p(const char *path, mode_t mode)
{
	char buf[4200];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	struct stat st;
	if (lstat(buf, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	return 0;
}
