/* SPDX-License-Identifier: MIT */
/* The client side of the control socket (protocol in core/control.h), shared by
 * `amexbpf events`, `amexbpf status` (cli/client.c) and `amexbpf top` (top/top.c): connect
 * with a time-out, send the one request line, read the answer's NDJSON lines with a bound
 * on their length. Blocking or not is the caller's choice per read (a time-out of 0 never
 * waits: top's poll loop), so one reader serves a follow stream, a one-line answer and a
 * live view alike. No message is printed here: errors come back as errno values, and each
 * command words them its own way. */
#ifndef AMX_CONTROL_CLIENT_H
#define AMX_CONTROL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

/* A connection that cannot be made within this is not a daemon that answers. */
#define AMX_CONTROL_CONNECT_TIMEOUT_MS 2000
/* Bounds on one answer line: an event, and the status document (it grows with the apps
 * watched). A longer line is a broken stream, not something to buffer without end. */
#define AMX_CONTROL_EVENT_MAX (1u << 20)
#define AMX_CONTROL_STATUS_MAX (8u << 20)

/* Connects to the Unix stream socket at path, waiting at most timeout_ms (< 0: no limit)
 * when its backlog is full; sending on it is bounded by the same time-out. Returns the
 * descriptor (blocking, close-on-exec) or -errno: -ENAMETOOLONG for a path longer than a
 * socket address holds, -EAGAIN when the time-out passed, -EACCES when refused. */
int amx_control_connect(const char *path, int timeout_ms);

/* Sends all of line (the request, with its "\n"). 0, or -errno. */
int amx_control_send(int fd, const char *line);

/* What went wrong in amx_control_request or amx_control_fetch_line. */
enum amx_control_stage { AMX_CONTROL_CONNECT, AMX_CONTROL_SEND, AMX_CONTROL_RECEIVE };
struct amx_control_error {
	enum amx_control_stage stage;
	int err; /* an errno value; at AMX_CONTROL_RECEIVE 0 means closed without an answer,
		  * ETIMEDOUT no answer in time, EMSGSIZE an answer over the bound */
};

/* Connects and sends the request line: the descriptor, or -1 with *e filled. */
int amx_control_request(const char *path, const char *line, struct amx_control_error *e);

/* A line reader over a connected stream socket. */
struct amx_control_lines {
	int fd;
	size_t max;      /* the longest line accepted, without its "\n" */
	char *buf;
	size_t start;    /* buf[start, len) is not taken yet */
	size_t len, cap;
	bool eof;        /* the peer closed: what is left is the last line */
};

void amx_control_lines_init(struct amx_control_lines *r, int fd, size_t max_line);
/* Waits up to timeout_ms (0: not at all, < 0: no limit) for bytes, then reads all there
 * is without blocking. Returns 1 while the stream is open (bytes read or not), 0 once the
 * peer closed, -EMSGSIZE for a line longer than max, or -errno. Lines already read stay to
 * be taken in every case. */
int amx_control_lines_fill(struct amx_control_lines *r, int timeout_ms);
/* The next whole line, NUL-terminated and without its "\n" (*len: its length), valid until
 * the next call on r; or NULL. At the end of the stream an unterminated rest counts as a
 * line. */
char *amx_control_lines_next(struct amx_control_lines *r, size_t *len);
/* Frees the buffer and closes the descriptor. */
void amx_control_lines_close(struct amx_control_lines *r);

/* One request, one answer line (STATUS): connects, sends line, and reads the first line of
 * the answer within timeout_ms (< 0: no limit) and max bytes. Returns it (malloc'd,
 * without "\n"), or NULL with *e filled. The connection is closed either way. */
char *amx_control_fetch_line(const char *path, const char *line, int timeout_ms, size_t max,
			     struct amx_control_error *e);

/* *e in a few words, e.g. "Connection refused", "send: Broken pipe", "not answered within
 * 800 ms" (timeout_ms: the one given), "closed without an answer". */
const char *amx_control_strerror(const struct amx_control_error *e, int timeout_ms, char *buf,
				 size_t len);

#endif
