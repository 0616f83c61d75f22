/* SPDX-License-Identifier: MIT */
/* `amexbpf top`: the client side of the control socket (protocol in control.h). */
#ifndef AMX_TOP_CLIENT_H
#define AMX_TOP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

/* Connects to the Unix socket at path and sends one request line (with "\n").
 * Returns the descriptor (blocking, close-on-exec) or -1 with a one-line reason in err. */
int top_request(const char *path, const char *line, char *err, size_t errlen);

/* STATUS: the status document, or NULL with a reason in err (no answer within
 * timeout_ms, not JSON, or the server's {"error":...}). */
json_t *top_fetch_status(const char *path, int timeout_ms, char *err, size_t errlen);

/* A line reader over a non-blocking stream (EVENTS). */
struct top_stream {
	int fd;
	char *buf;
	size_t len, cap;
};

void top_stream_init(struct top_stream *s, int fd); /* makes fd non-blocking */
/* Reads what is there. Returns 1 while open, 0 at end of stream, -1 on an error. */
int top_stream_fill(struct top_stream *s);
/* The next whole line (NUL-terminated, without "\n", valid until the next call), or NULL. */
char *top_stream_line(struct top_stream *s, size_t *consumed);
void top_stream_consume(struct top_stream *s, size_t n);
void top_stream_close(struct top_stream *s);

#endif
