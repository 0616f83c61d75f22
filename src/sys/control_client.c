/* SPDX-License-Identifier: MIT */
/* The client side of the control socket (see control_client.h): one request per
 * connection, answers read as lines. */
#include "sys/control_client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int amx_control_connect(const char *path, int timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A Unix socket's connect waits for room in the server's backlog as long as the
	 * send time-out says: a daemon that accepts nothing must not hang a client. */
	if (timeout_ms >= 0) {
		struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = timeout_ms % 1000 * 1000L };
		if (tv.tv_sec == 0 && tv.tv_usec == 0)
			tv.tv_usec = 1; /* 0 would mean no limit */
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EINTR)
			continue;
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

int amx_control_send(int fd, const char *line)
{
	size_t len = strlen(line);
	while (len) {
		ssize_t n = send(fd, line, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		line += n;
		len -= (size_t)n;
	}
	return 0;
}

int amx_control_request(const char *path, const char *line, struct amx_control_error *e)
{
	int fd = amx_control_connect(path, AMX_CONTROL_CONNECT_TIMEOUT_MS);
	if (fd < 0) {
		*e = (struct amx_control_error){ AMX_CONTROL_CONNECT, -fd };
		return -1;
	}
	int rc = amx_control_send(fd, line);
	if (rc < 0) {
		*e = (struct amx_control_error){ AMX_CONTROL_SEND, -rc };
		close(fd);
		return -1;
	}
	return fd;
}

/* ------------------------------------------------------------------ lines */

void amx_control_lines_init(struct amx_control_lines *r, int fd, size_t max_line)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->max = max_line;
}

static bool has_line(const struct amx_control_lines *r)
{
	return r->len > r->start && memchr(r->buf + r->start, '\n', r->len - r->start);
}

/* Room for one more byte and the NUL the last line may need; false past the bound. */
static bool make_room(struct amx_control_lines *r)
{
	if (r->start) { /* what was taken goes */
		memmove(r->buf, r->buf + r->start, r->len - r->start);
		r->len -= r->start;
		r->start = 0;
	}
	if (r->len + 1 < r->cap)
		return true;
	size_t limit = r->max + 2; /* a line of max bytes, its "\n", a NUL */
	if (r->cap >= limit)
		return false;
	size_t cap = r->cap ? r->cap * 2 : 16384;
	if (cap > limit)
		cap = limit;
	char *nb = realloc(r->buf, cap);
	if (!nb)
		return false;
	r->buf = nb;
	r->cap = cap;
	return true;
}

int amx_control_lines_fill(struct amx_control_lines *r, int timeout_ms)
{
	if (r->eof)
		return 0;
	if (timeout_ms != 0) {
		struct pollfd p = { .fd = r->fd, .events = POLLIN };
		int n = poll(&p, 1, timeout_ms);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n <= 0)
			return 1;
	}
	for (;;) {
		/* A full buffer with whole lines in it: take those first. */
		if (r->start == 0 && r->len + 1 >= r->cap && has_line(r))
			return 1;
		if (!make_room(r))
			return has_line(r) ? 1 : -EMSGSIZE;
		ssize_t n = recv(r->fd, r->buf + r->len, r->cap - r->len - 1, MSG_DONTWAIT);
		if (n > 0) {
			r->len += (size_t)n;
			continue;
		}
		if (n == 0) {
			r->eof = true;
			return 0;
		}
		if (errno == EINTR)
			continue;
		return errno == EAGAIN || errno == EWOULDBLOCK ? 1 : -errno;
	}
}

char *amx_control_lines_next(struct amx_control_lines *r, size_t *len)
{
	if (r->len <= r->start)
		return NULL;
	char *line = r->buf + r->start;
	char *nl = memchr(line, '\n', r->len - r->start);
	if (!nl && !r->eof)
		return NULL;
	if (!nl) /* the unterminated rest; make_room left a byte for its NUL */
		nl = r->buf + r->len;
	*nl = 0;
	*len = (size_t)(nl - line);
	r->start = nl == r->buf + r->len ? r->len : (size_t)(nl - r->buf) + 1;
	return line;
}

void amx_control_lines_close(struct amx_control_lines *r)
{
	if (r->fd >= 0)
		close(r->fd);
	free(r->buf);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

/* ------------------------------------------------------------------ one answer */

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

char *amx_control_fetch_line(const char *path, const char *line, int timeout_ms, size_t max,
			     struct amx_control_error *e)
{
	int fd = amx_control_request(path, line, e);
	if (fd < 0)
		return NULL;
	struct amx_control_lines r;
	amx_control_lines_init(&r, fd, max);
	long long deadline = mono_ms() + timeout_ms;
	char *answer = NULL, *got;
	size_t n;
	*e = (struct amx_control_error){ AMX_CONTROL_RECEIVE, 0 };
	while (!(got = amx_control_lines_next(&r, &n))) {
		long long left = timeout_ms < 0 ? -1 : deadline - mono_ms();
		if (timeout_ms >= 0 && left <= 0) {
			e->err = ETIMEDOUT;
			break;
		}
		int rc = amx_control_lines_fill(&r, left > 1000000 ? 1000000 : (int)left);
		if (rc < 0)
			e->err = -rc;
		if (rc < 0 || (rc == 0 && r.len == r.start))
			break; /* an error, or closed without a line */
	}
	if (got && !(answer = strndup(got, n)))
		e->err = ENOMEM;
	amx_control_lines_close(&r);
	return answer;
}

const char *amx_control_strerror(const struct amx_control_error *e, int timeout_ms, char *buf,
				 size_t len)
{
	switch (e->stage) {
	case AMX_CONTROL_CONNECT:
		snprintf(buf, len, "%s", e->err == ENAMETOOLONG ? "socket path too long" : strerror(e->err));
		break;
	case AMX_CONTROL_SEND:
		snprintf(buf, len, "send: %s", strerror(e->err));
		break;
	case AMX_CONTROL_RECEIVE:
		if (e->err == 0)
			snprintf(buf, len, "closed without an answer");
		else if (e->err == ETIMEDOUT)
			snprintf(buf, len, "not answered within %d ms", timeout_ms);
		else if (e->err == EMSGSIZE)
			snprintf(buf, len, "an answer line longer than the bound");
		else
			snprintf(buf, len, "read: %s", strerror(e->err));
		break;
	}
	return buf;
}
