/* SPDX-License-Identifier: MIT */
#include "report/eventfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sys/userfile.h"

static int open_path(const char *path)
{
	if (!path || strcmp(path, "-") == 0)
		return fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		amx_mkdir_p(dir, 0755);
	}
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
}

int amx_eventfile_open(struct amx_eventfile *f, const char *path)
{
	memset(f, 0, sizeof(*f));
	f->path = path;
	f->fd = open_path(path);
	return f->fd < 0 ? -errno : 0;
}

/* A short write leaves half a line: cut it off again so readers never see it. */
static void cut_partial(int fd, size_t written)
{
	off_t end = lseek(fd, 0, SEEK_END);
	if (end >= (off_t)written && ftruncate(fd, end - (off_t)written) < 0) {
		/* a pipe or a device: nothing to cut */
	}
}

bool amx_eventfile_write(struct amx_eventfile *f, const char *line, size_t len)
{
	if (f->fd < 0)
		return false;
	ssize_t n;
	do
		n = write(f->fd, line, len);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)len)
		return true;
	int err = n < 0 ? errno : ENOSPC;
	if (n > 0)
		cut_partial(f->fd, (size_t)n);
	if (f->lost == 0)
		f->lost_errno = err;
	f->lost++;
	f->lost_total++;
	return false;
}

bool amx_eventfile_take_recovery(struct amx_eventfile *f, uint64_t *lost, int *err)
{
	if (!f->lost)
		return false;
	*lost = f->lost;
	*err = f->lost_errno;
	f->lost = 0;
	f->lost_errno = 0;
	return true;
}

void amx_eventfile_reopen(struct amx_eventfile *f)
{
	if (!f->path || strcmp(f->path, "-") == 0)
		return;
	int nfd = open_path(f->path);
	if (nfd < 0) {
		fprintf(stderr, "amexbpf: cannot reopen events file %s: %s (still writing the old one)\n",
			f->path, strerror(errno));
		return;
	}
	if (f->fd >= 0)
		close(f->fd);
	f->fd = nfd;
}

void amx_eventfile_close(struct amx_eventfile *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}
