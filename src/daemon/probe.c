/* SPDX-License-Identifier: MIT */
/* The hung-app probe: see probe.h. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sys/loop.h"
#include "daemon/probe.h"

int amx_probe_status(const char *buf, size_t len)
{
	/* "HTTP/1.x NNN" */
	if (len < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ')
		return -1;
	int code = 0;
	for (int i = 9; i < 12; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return -1;
		code = code * 10 + (buf[i] - '0');
	}
	return code;
}

enum phase { IDLE, CONNECTING, READING };

struct probe {
	char app[256];
	char *home;      /* NULL: any */
	char url[1300];
	struct amx_probe_url u;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int fd;
	enum phase phase;
	uint64_t next_ms, deadline_ms;
	unsigned failures;
	char buf[64];
	size_t got;
};

static struct {
	struct probe p[AMX_PROBE_MAX];
	int n;
	uint64_t interval_ms, timeout_ms;
	unsigned failures;
	struct amx_probe_hooks hooks;
} P;

static void probe_close(struct probe *p)
{
	if (p->fd >= 0) {
		amx_loop_del_fd(p->fd);
		close(p->fd);
	}
	p->fd = -1;
	p->phase = IDLE;
}

static void probe_done(struct probe *p, const char *failure)
{
	probe_close(p);
	if (!failure) {
		p->failures = 0;
		return;
	}
	if (++p->failures >= P.failures) {
		P.hooks.failed(P.hooks.ctx, p->home, p->app, p->url, failure, p->failures);
		p->failures = 0;
	}
}

static void on_probe_fd(void *ctx, int fd, uint32_t events)
{
	struct probe *p = ctx;
	char reason[96];

	if (p->phase == CONNECTING) {
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
		if (soerr || (events & EPOLLERR)) {
			snprintf(reason, sizeof(reason), "connect: %s", strerror(soerr ? soerr : ECONNREFUSED));
			probe_done(p, reason);
			return;
		}
		char req[1600];
		int n = snprintf(req, sizeof(req),
				 "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: amexbpf-probe\r\nConnection: close\r\n\r\n",
				 p->u.path, p->u.host);
		/* a request this small fits the empty send buffer of a fresh connection */
		if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
			snprintf(reason, sizeof(reason), "send: %s", strerror(errno));
			probe_done(p, reason);
			return;
		}
		p->phase = READING;
		p->got = 0;
		amx_loop_mod_fd(fd, EPOLLIN);
		return;
	}
	ssize_t r = recv(fd, p->buf + p->got, sizeof(p->buf) - 1 - p->got, MSG_DONTWAIT);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r > 0)
		p->got += (size_t)r;
	int code = amx_probe_status(p->buf, p->got);
	if (code >= 200 && code < 400) {
		probe_done(p, NULL);
	} else if (code >= 0) {
		snprintf(reason, sizeof(reason), "HTTP status %d", code);
		probe_done(p, reason);
	} else if (r <= 0 || p->got >= sizeof(p->buf) - 1) {
		snprintf(reason, sizeof(reason), r < 0 ? "recv: %s" : "no HTTP status line",
			 strerror(errno));
		probe_done(p, reason);
	}
}

static void probe_begin(struct probe *p, uint64_t now)
{
	char reason[96];

	p->fd = socket(p->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0) {
		snprintf(reason, sizeof(reason), "socket: %s", strerror(errno));
		probe_done(p, reason);
		return;
	}
	p->deadline_ms = now + P.timeout_ms;
	p->phase = CONNECTING;
	if (connect(p->fd, (struct sockaddr *)&p->addr, p->addrlen) < 0 && errno != EINPROGRESS) {
		snprintf(reason, sizeof(reason), "connect: %s", strerror(errno));
		probe_done(p, reason);
		return;
	}
	amx_loop_add_fd(p->fd, EPOLLOUT, on_probe_fd, p);
}

static void probe_tick(void *ctx, uint64_t now)
{
	(void)ctx;
	for (int i = 0; i < P.n; i++) {
		struct probe *p = &P.p[i];
		if (p->phase != IDLE && now >= p->deadline_ms) {
			char reason[64];
			snprintf(reason, sizeof(reason), "timed out after %llu ms",
				 (unsigned long long)P.timeout_ms);
			probe_done(p, reason);
		}
		if (p->phase == IDLE && now >= p->next_ms) {
			p->next_ms = now + P.interval_ms;
			if (P.hooks.app_alive(P.hooks.ctx, p->home, p->app))
				probe_begin(p, now);
			else
				p->failures = 0; /* down or recovering: the count starts over */
		}
		amx_loop_wake_at(p->phase == IDLE ? p->next_ms : p->deadline_ms);
	}
}

int amx_probe_start(const char *const *specs, const char *const *homes, int n,
		    double interval_s, double timeout_s, unsigned failures,
		    const struct amx_probe_hooks *hooks, char *err, size_t errlen)
{
	for (int i = 0; i < P.n; i++) {
		free(P.p[i].home);
		P.p[i].home = NULL;
	}
	P.n = 0;
	P.interval_ms = (uint64_t)(interval_s * 1000);
	P.timeout_ms = (uint64_t)(timeout_s * 1000);
	P.failures = failures ? failures : 1;
	P.hooks = *hooks;
	for (int i = 0; i < n && P.n < AMX_PROBE_MAX; i++) {
		struct probe *p = &P.p[P.n];
		const char *app;
		size_t len;
		if (!amx_probe_parse(specs[i], &app, &len, &p->u) || len >= sizeof(p->app)) {
			snprintf(err, errlen, "bad --probe %s", specs[i]);
			return -1;
		}
		memcpy(p->app, app, len);
		p->app[len] = '\0';
		p->home = homes && homes[i] ? strdup(homes[i]) : NULL;
		snprintf(p->url, sizeof(p->url), "%s", app + len + 1);
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
		int rc = getaddrinfo(p->u.host, p->u.port, &hints, &res);
		if (rc || !res) {
			snprintf(err, errlen, "resolve probe host %s: %s", p->u.host, gai_strerror(rc));
			return -1;
		}
		memcpy(&p->addr, res->ai_addr, res->ai_addrlen);
		p->addrlen = res->ai_addrlen;
		freeaddrinfo(res);
		p->fd = -1;
		p->phase = IDLE;
		p->next_ms = 0;
		p->failures = 0;
		P.n++;
	}
	return P.n ? amx_loop_add_ticker(probe_tick, NULL) : 0;
}
