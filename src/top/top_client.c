/* SPDX-License-Identifier: MIT */
/* `amexbpf top`: the client side of the control socket. One request per connection, as
 * the protocol says; answers are NDJSON lines. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/control.h"
#include "top/top_client.h"

/* A status document grows with the apps watched; this bounds a broken server. */
#define STATUS_MAX (8u << 20)

int top_request(const char *path, const char *line, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path too long");
		return -1;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	size_t n = strlen(line), off = 0;
	while (off < n) {
		ssize_t w = send(fd, line + off, n - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(err, errlen, "send: %s", strerror(errno));
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	return fd;
}

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

json_t *top_fetch_status(const char *path, int timeout_ms, char *err, size_t errlen)
{
	int fd = top_request(path, "STATUS\n", err, errlen);
	if (fd < 0)
		return NULL;
	long long deadline = mono_ms() + timeout_ms;
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);
	json_t *doc = NULL;
	for (;;) {
		if (!buf) {
			snprintf(err, errlen, "out of memory");
			break;
		}
		if (memchr(buf, '\n', len))
			break;
		long long left = deadline - mono_ms();
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int pr = left > 0 ? poll(&pfd, 1, (int)left) : 0;
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0) {
			snprintf(err, errlen, "STATUS not answered within %d ms", timeout_ms);
			goto out;
		}
		if (len + 1 >= cap) {
			if (cap >= STATUS_MAX) {
				snprintf(err, errlen, "status document larger than %u bytes", STATUS_MAX);
				goto out;
			}
			cap *= 2;
			char *nb = realloc(buf, cap);
			if (!nb) {
				snprintf(err, errlen, "out of memory");
				goto out;
			}
			buf = nb;
		}
		ssize_t r = read(fd, buf + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "read: %s", strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (!buf)
		goto out;
	if (len == 0) {
		snprintf(err, errlen, "closed without answering STATUS");
		goto out;
	}
	json_error_t je;
	doc = json_loadb(buf, len, JSON_DISABLE_EOF_CHECK, &je);
	if (!json_is_object(doc)) {
		snprintf(err, errlen, "STATUS answer is not a JSON object: %s", je.text);
		json_decref(doc);
		doc = NULL;
	} else if (json_is_string(json_object_get(doc, "error"))) {
		snprintf(err, errlen, "server says: %s", json_string_value(json_object_get(doc, "error")));
		json_decref(doc);
		doc = NULL;
	}
out:
	free(buf);
	close(fd);
	return doc;
}

void top_stream_init(struct top_stream *s, int fd)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	if (fd >= 0)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

int top_stream_fill(struct top_stream *s)
{
	for (;;) {
		if (s->cap - s->len < 4096) {
			/* A line longer than this is not an event of ours: the stream is broken. */
			if (s->cap >= (1u << 20))
				return -1;
			size_t cap = s->cap ? s->cap * 2 : 16384;
			char *nb = realloc(s->buf, cap);
			if (!nb)
				return -1;
			s->buf = nb;
			s->cap = cap;
		}
		ssize_t r = read(s->fd, s->buf + s->len, s->cap - s->len - 1);
		if (r > 0) {
			s->len += (size_t)r;
			continue;
		}
		if (r == 0)
			return 0;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN || errno == EWOULDBLOCK ? 1 : -1;
	}
}

char *top_stream_line(struct top_stream *s, size_t *consumed)
{
	char *nl = s->len ? memchr(s->buf, '\n', s->len) : NULL;
	if (!nl)
		return NULL;
	*nl = 0;
	*consumed = (size_t)(nl - s->buf) + 1;
	return s->buf;
}

void top_stream_consume(struct top_stream *s, size_t n)
{
	memmove(s->buf, s->buf + n, s->len - n);
	s->len -= n;
}

void top_stream_close(struct top_stream *s)
{
	if (s->fd >= 0)
		close(s->fd);
	free(s->buf);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}
