/* SPDX-License-Identifier: MIT */
/* The control socket server (protocol in control.h). It must never delay detection or
 * recovery: every descriptor is non-blocking, each client has a bounded queue of shared
 * lines, and a client that falls behind is dropped with one last line saying what it
 * missed. */
#include "report/control_server.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/control.h"
#include "core/control_request.h"
#include "core/event.h"
#include "sys/loop.h"
#include "core/options.h"
#include "sys/userfile.h"

#define MAX_CLIENTS 64
#define REQUEST_TIMEOUT_MS 5000
#define CLOSING_TIMEOUT_MS 10000
/* A dropped subscriber's socket is full: its notice waits this long for it to read. */
#define DROPPED_TIMEOUT_MS 120000

/* One encoded event, shared by the history and every client queue. */
struct line {
	unsigned refs;
	uint64_t seq;
	char action[40];
	size_t len;
	char data[];
};

enum client_state { C_FREE, C_READING, C_STREAMING, C_CLOSING };

struct client {
	enum client_state st;
	int fd;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	char in[AMX_CONTROL_LINE_MAX + 2];
	size_t in_len;
	uint64_t deadline_ms;        /* request or closing deadline */
	struct line **q;             /* ring of AMX_CONTROL_QUEUE_MAX */
	size_t q_head, q_count, off; /* off: bytes of q[q_head] already sent */
	bool follow;
	bool want_out;               /* EPOLLOUT is on */
	char actions[AMX_CONTROL_MAX_FILTERS][AMX_CONTROL_ACTION_MAX];
	int n_actions;
};

static struct {
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	bool has_group;
	gid_t group;
	bool verbose;
	amx_status_document_fn status_document;
	struct line *hist[AMX_CONTROL_HISTORY];
	size_t hist_head, hist_count;
	size_t hist_bytes;
	struct client clients[MAX_CLIENTS];
	uint64_t dropped, accepted, refused;
} S = { .fd = -1 };

/* ---------------------------------------------------------------- lines */

static struct line *line_new(const char *data, size_t len, uint64_t seq, const char *action)
{
	struct line *l = malloc(sizeof(*l) + len + 1);
	if (!l)
		return NULL;
	l->refs = 1;
	l->seq = seq;
	snprintf(l->action, sizeof(l->action), "%s", action ? action : "");
	l->len = len;
	memcpy(l->data, data, len);
	l->data[len] = '\0';
	return l;
}

/* What a line costs the heap: it is what the history grows by until it is full. */
static size_t line_bytes(const struct line *l)
{
	return sizeof(*l) + l->len + 1 + 16;
}

static void line_unref(struct line *l)
{
	if (l && --l->refs == 0)
		free(l);
}

/* ---------------------------------------------------------------- clients */

static void client_close(struct client *c)
{
	if (c->st == C_FREE)
		return;
	amx_loop_del_fd(c->fd);
	close(c->fd);
	while (c->q_count) {
		line_unref(c->q[c->q_head]);
		c->q_head = (c->q_head + 1) % AMX_CONTROL_QUEUE_MAX;
		c->q_count--;
	}
	free(c->q);
	c->q = NULL;
	c->st = C_FREE;
}

static void client_set_out(struct client *c, bool on)
{
	if (c->want_out == on)
		return;
	c->want_out = on;
	/* EPOLLIN is off once the request is read: later input (or a half-close) is not ours
	 * to read, and a readable EOF would wake the loop forever. HUP/ERR always report. */
	amx_loop_mod_fd(c->fd, on ? EPOLLOUT : 0);
}

/* Send what the socket takes; the rest waits for EPOLLOUT. */
static void client_flush(struct client *c)
{
	while (c->q_count) {
		struct line *l = c->q[c->q_head];
		ssize_t n = send(c->fd, l->data + c->off, l->len - c->off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				client_set_out(c, true);
				return;
			}
			client_close(c); /* EPIPE, ECONNRESET: the reader is gone */
			return;
		}
		c->off += (size_t)n;
		if (c->off == l->len) {
			line_unref(l);
			c->q_head = (c->q_head + 1) % AMX_CONTROL_QUEUE_MAX;
			c->q_count--;
			c->off = 0;
		}
	}
	/* Empty: start again at slot 0, so a long-lived subscriber's queue touches only as
	 * many pages as its deepest backlog, not the whole ring as the head goes round. */
	c->q_head = 0;
	client_set_out(c, false);
	if (c->st == C_CLOSING)
		client_close(c);
}

static bool client_append(struct client *c, struct line *l)
{
	if (c->q_count == AMX_CONTROL_QUEUE_MAX)
		return false;
	l->refs++;
	c->q[(c->q_head + c->q_count) % AMX_CONTROL_QUEUE_MAX] = l;
	c->q_count++;
	return true;
}

/* Queue one last line (an answer or an error), then close once it is out. */
static void client_finish(struct client *c, const char *text)
{
	struct line *l = line_new(text, strlen(text), 0, NULL);
	if (!l || !client_append(c, l)) {
		line_unref(l);
		client_close(c);
		return;
	}
	line_unref(l);
	c->st = C_CLOSING;
	amx_loop_mod_fd(c->fd, 0); /* stop reading: only the last line goes out */
	c->want_out = false;
	c->deadline_ms = amx_boot_ms() + CLOSING_TIMEOUT_MS;
	amx_loop_wake_at(c->deadline_ms);
	client_flush(c);
}

static void client_error(struct client *c, const char *what)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "{\"error\":\"%s\"}\n", what);
	client_finish(c, buf);
}

/* The queue is full: keep the line being sent (half a line would break the reader's
 * NDJSON), drop the rest, and tell the client how many events it missed. */
static void client_drop_slow(struct client *c)
{
	uint64_t missed = 1; /* the event that did not fit */
	size_t keep = c->off ? 1 : 0;
	while (c->q_count > keep) {
		size_t last = (c->q_head + c->q_count - 1) % AMX_CONTROL_QUEUE_MAX;
		line_unref(c->q[last]);
		c->q_count--;
		missed++;
	}
	S.dropped++;
	fprintf(stderr, "amexbpf: control: dropped a slow subscriber (uid %u, pid %d): %llu events missed\n",
		(unsigned)c->uid, (int)c->pid, (unsigned long long)missed);
	char buf[128];
	snprintf(buf, sizeof(buf), "{\"error\":\"slow-subscriber\",\"missed\":%llu}\n",
		 (unsigned long long)missed);
	client_finish(c, buf);
	if (c->st == C_CLOSING)
		c->deadline_ms = amx_boot_ms() + DROPPED_TIMEOUT_MS;
}

static bool client_wants(const struct client *c, const struct line *l)
{
	if (c->n_actions == 0)
		return true;
	for (int i = 0; i < c->n_actions; i++)
		if (strcmp(c->actions[i], l->action) == 0)
			return true;
	return false;
}

static void client_deliver(struct client *c, struct line *l)
{
	if (!client_wants(c, l))
		return;
	bool was_empty = c->q_count == 0;
	if (!client_append(c, l)) {
		client_drop_slow(c);
		return;
	}
	if (was_empty)
		client_flush(c);
}

/* ---------------------------------------------------------------- requests */

static void start_events(struct client *c, const struct amx_request *r)
{
	c->follow = r->follow;
	c->n_actions = r->n_actions;
	memcpy(c->actions, r->actions, sizeof(c->actions));
	c->st = C_STREAMING;
	if (S.verbose)
		fprintf(stderr, "amexbpf: control: uid %u pid %d subscribed (since %llu, follow %d)\n",
			(unsigned)c->uid, (int)c->pid, (unsigned long long)r->since, c->follow);
	for (size_t i = 0; i < S.hist_count; i++) {
		struct line *l = S.hist[(S.hist_head + i) % AMX_CONTROL_HISTORY];
		if (l->seq > r->since && client_wants(c, l))
			client_append(c, l); /* the history is smaller than the queue */
	}
	if (!c->follow) {
		c->st = C_CLOSING;
		c->deadline_ms = amx_boot_ms() + CLOSING_TIMEOUT_MS;
		amx_loop_wake_at(c->deadline_ms);
	}
	client_flush(c);
}

static void answer_status(struct client *c)
{
	json_t *doc = S.status_document ? S.status_document() : NULL;
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!text)
		return client_error(c, "out of memory");
	size_t n = strlen(text);
	char *withnl = realloc(text, n + 2);
	if (!withnl) {
		free(text);
		return client_error(c, "out of memory");
	}
	withnl[n] = '\n';
	withnl[n + 1] = '\0';
	client_finish(c, withnl);
	free(withnl);
}

static void handle_request(struct client *c, const char *line, size_t len)
{
	struct amx_request r;
	amx_control_parse_request(line, len, &r);
	if (r.kind == AMX_REQUEST_STATUS)
		return answer_status(c);
	if (r.kind == AMX_REQUEST_EVENTS)
		return start_events(c, &r);
	client_error(c, r.error);
}

static void on_client(void *ctx, int fd, uint32_t events)
{
	(void)fd;
	struct client *c = ctx;
	if (c->st == C_READING && (events & EPOLLIN)) {
		ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - 1 - c->in_len, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return client_close(c); /* gone before asking anything */
		if (n < 0)
			return;
		c->in_len += (size_t)n;
		c->in[c->in_len] = '\0';
		char *nl = memchr(c->in, '\n', c->in_len);
		if (!nl) {
			if (c->in_len > AMX_CONTROL_LINE_MAX)
				client_error(c, "request too long");
			return;
		}
		amx_loop_mod_fd(c->fd, 0);
		c->want_out = false;
		return handle_request(c, c->in, (size_t)(nl - c->in));
	}
	if (events & (EPOLLHUP | EPOLLERR))
		return client_close(c);
	if (events & EPOLLOUT)
		client_flush(c);
}

static bool peer_in_group(int fd, gid_t primary)
{
	if (primary == S.group)
		return true;
	gid_t groups[256];
	socklen_t len = sizeof(groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return false;
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == S.group)
			return true;
	return false;
}

static void on_listen(void *ctx, int fd, uint32_t events)
{
	(void)ctx;
	(void)events;
	for (;;) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0)
			return; /* EAGAIN, or EMFILE: the backlog waits */
		struct ucred cred = { .pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1 };
		socklen_t clen = sizeof(cred);
		getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &clen);
		bool allowed = cred.uid == 0 || (S.has_group && peer_in_group(cfd, cred.gid));
		struct client *c = NULL;
		for (int i = 0; allowed && i < MAX_CLIENTS && !c; i++)
			if (S.clients[i].st == C_FREE)
				c = &S.clients[i];
		if (!allowed || !c) {
			const char *msg = allowed ? "{\"error\":\"too many clients\"}\n"
						  : "{\"error\":\"permission denied\"}\n";
			if (send(cfd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
				/* best effort */
			}
			S.refused++;
			fprintf(stderr, "amexbpf: control: refused uid %u gid %u pid %d: %s\n",
				(unsigned)cred.uid, (unsigned)cred.gid, (int)cred.pid,
				allowed ? "too many clients" : "not root and not in the socket group");
			close(cfd);
			continue;
		}
		memset(c, 0, sizeof(*c));
		c->fd = cfd;
		c->uid = cred.uid;
		c->gid = cred.gid;
		c->pid = cred.pid;
		/* the queue holds pointers: the type spelled out, as clang-tidy asks */
		c->q = calloc(AMX_CONTROL_QUEUE_MAX, sizeof(struct line *));
		if (!c->q) {
			close(cfd);
			continue;
		}
		c->st = C_READING;
		c->deadline_ms = amx_boot_ms() + REQUEST_TIMEOUT_MS;
		if (amx_loop_add_fd(cfd, EPOLLIN, on_client, c) < 0) {
			close(cfd);
			free(c->q);
			c->q = NULL;
			c->st = C_FREE;
			continue;
		}
		S.accepted++;
		if (S.verbose || cred.uid != 0)
			fprintf(stderr, "amexbpf: control: accepted uid %u gid %u pid %d\n",
				(unsigned)cred.uid, (unsigned)cred.gid, (int)cred.pid);
	}
}

/* ---------------------------------------------------------------- the loop's side */

static void on_event(void *ctx, json_t *ev, const char *line)
{
	(void)ctx;
	json_t *seq = amx_event_get(ev, "event.sequence");
	struct line *l = line_new(line, strlen(line), (uint64_t)json_integer_value(seq),
				  json_string_value(amx_event_get(ev, "event.action")));
	if (!l)
		return;
	if (S.hist_count == AMX_CONTROL_HISTORY) {
		S.hist_bytes -= line_bytes(S.hist[S.hist_head]);
		line_unref(S.hist[S.hist_head]);
		S.hist_head = (S.hist_head + 1) % AMX_CONTROL_HISTORY;
		S.hist_count--;
	}
	S.hist[(S.hist_head + S.hist_count) % AMX_CONTROL_HISTORY] = l;
	S.hist_count++;
	S.hist_bytes += line_bytes(l);
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (S.clients[i].st == C_STREAMING && S.clients[i].follow)
			client_deliver(&S.clients[i], l);
}

static void on_tick(void *ctx, uint64_t now)
{
	(void)ctx;
	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = &S.clients[i];
		if (c->st == C_READING || c->st == C_CLOSING) {
			if (now >= c->deadline_ms) {
				if (c->st == C_READING)
					client_error(c, "request timed out");
				else
					client_close(c);
			}
			if (c->st == C_READING || c->st == C_CLOSING)
				amx_loop_wake_at(c->deadline_ms);
		}
	}
}

/* ---------------------------------------------------------------- set-up */

/* The directory must be root's alone: whoever could write there could swap the socket. */
static int check_parent(const char *dir, char *err, size_t errlen)
{
	struct stat st;
	if (lstat(dir, &st) < 0 && errno == ENOENT) {
		int rc = amx_mkdir_p(dir, 0755);
		if (rc < 0) {
			snprintf(err, errlen, "cannot create %s: %s", dir, strerror(-rc));
			return AMX_EXIT_OS;
		}
	}
	if (lstat(dir, &st) < 0) {
		snprintf(err, errlen, "cannot use %s: %s", dir, strerror(errno));
		return AMX_EXIT_OS;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022)) {
		snprintf(err, errlen, "refusing socket directory %s: it must be a directory owned by root "
			 "and writable by root only", dir);
		return AMX_EXIT_OS;
	}
	return 0;
}

int amx_control_start(const char *path, const char *group, bool verbose,
		      amx_status_document_fn status_document, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	S.verbose = verbose;
	S.status_document = status_document;
	if (!path || path[0] != '/' || strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "--socket must be an absolute path shorter than %zu bytes",
			 sizeof(sa.sun_path));
		return AMX_EXIT_USAGE;
	}
	if (group) {
		struct group *g = getgrnam(group);
		if (!g) {
			snprintf(err, errlen, "--socket-group: no such group: %s", group);
			return AMX_EXIT_USAGE;
		}
		S.has_group = true;
		S.group = g->gr_gid;
	}
	char dir[sizeof(sa.sun_path)];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	int rc = check_parent(dir, err, errlen);
	if (rc)
		return rc;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket", path);
			return AMX_EXIT_OS;
		}
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		bool live = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		if (probe >= 0)
			close(probe);
		if (live) {
			snprintf(err, errlen, "another amexbpf is serving %s", path);
			return AMX_EXIT_OS;
		}
		unlink(path); /* left by a daemon that died */
	}
	S.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (S.fd < 0) {
		snprintf(err, errlen, "cannot create the control socket: %s", strerror(errno));
		return AMX_EXIT_OS;
	}
	/* Created 0600 from the start: no moment where anyone else could connect. With
	 * --socket-group it is created with that group as our filesystem group (CAP_SETGID,
	 * which the unit has), so it is root:group without chown to a group root is not in:
	 * that needs CAP_CHOWN, which the unit does not give (a capability to chown any file
	 * is more than a socket deserves). chown to -1:group as a "member" then only makes
	 * sure, in a setgid directory, and needs no capability either. */
	mode_t old = umask(0177);
	if (S.has_group)
		setfsgid(S.group);
	int b = bind(S.fd, (struct sockaddr *)&sa, sizeof(sa));
	int berr = errno;
	int gerr = b == 0 && S.has_group && chown(path, (uid_t)-1, S.group) < 0 ? errno : 0;
	if (S.has_group)
		setfsgid(0);
	umask(old);
	if (b == 0 && S.has_group && !gerr && chmod(path, 0660) < 0)
		gerr = errno;
	if (b < 0 || gerr || listen(S.fd, 64) < 0) {
		if (b == 0)
			unlink(path);
		snprintf(err, errlen, "cannot serve the control socket %s: %s", path,
			 strerror(b < 0 ? berr : gerr ? gerr : errno));
		close(S.fd);
		S.fd = -1;
		return AMX_EXIT_OS;
	}
	snprintf(S.path, sizeof(S.path), "%s", path);
	amx_loop_add_fd(S.fd, EPOLLIN, on_listen, NULL);
	amx_loop_subscribe(on_event, NULL);
	amx_loop_add_ticker(on_tick, NULL);
	return 0;
}

void amx_control_stop(void)
{
	for (int i = 0; i < MAX_CLIENTS; i++)
		client_close(&S.clients[i]);
	if (S.fd >= 0) {
		amx_loop_del_fd(S.fd);
		close(S.fd);
		unlink(S.path);
		S.fd = -1;
	}
	while (S.hist_count) {
		line_unref(S.hist[S.hist_head]);
		S.hist_head = (S.hist_head + 1) % AMX_CONTROL_HISTORY;
		S.hist_count--;
	}
	S.hist_bytes = 0;
}

void amx_control_stats(struct amx_control_stats *st)
{
	int n = 0;
	for (int i = 0; i < MAX_CLIENTS; i++)
		n += S.clients[i].st == C_STREAMING;
	st->subscribers = n;
	st->dropped = S.dropped;
	st->accepted = S.accepted;
	st->refused = S.refused;
	st->history_count = S.hist_count;
	st->history_bytes = S.hist_bytes;
}
