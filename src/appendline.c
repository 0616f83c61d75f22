/* SPDX-License-Identifier: MIT */
#include "appendline.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

bool amx_append_line(int fd, const char *line, size_t len)
{
	ssize_t n = write(fd, line, len);

	if (n == (ssize_t)len)
		return true;
	if (n > 0) {
		/* Part of the line went in: take it out again, or the next line would be glued
		 * to it and a log shipper would drop both. O_APPEND means the part is at the end. */
		struct stat st;
		int saved = ENOSPC;

		if (fstat(fd, &st) == 0 && st.st_size >= n && ftruncate(fd, st.st_size - n) == 0) {
			errno = saved;
			return false;
		}
		errno = saved;
		return false;
	}
	if (n == 0)
		errno = ENOSPC;
	return false;
}
