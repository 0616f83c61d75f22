/* SPDX-License-Identifier: MIT */
/* fake_control SOCKET STATUS_FILE EVENTS_FILE: a stand-in for amexbpf's control socket
 * (protocol in src/core/control.h), for testing `amexbpf top` without a daemon.
 *   STATUS\n                    the content of STATUS_FILE, read at each request (a test
 *                                rewrites it, with rename(), to change what top sees)
 *   EVENTS [since=N] [follow=0|1] the lines of EVENTS_FILE whose "sequence": is > N, then
 *                                (follow=1, the default) each line appended later
 * Each connection is served by its own child, which dies with this process. A test
 * "restarts the daemon" by killing this process and starting another one. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static const char *sock_path;

static void on_term(int sig)
{
	(void)sig;
	unlink(sock_path);
	_exit(0);
}

static bool send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t cap = 0;
	*len = 0;
	for (;;) {
		if (*len + 4096 > cap) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap);
			if (!buf)
				exit(1);
		}
		size_t r = fread(buf + *len, 1, cap - *len - 1, f);
		*len += r;
		if (r == 0)
			break;
	}
	fclose(f);
	buf[*len] = 0;
	return buf;
}

static unsigned long long line_seq(const char *line)
{
	const char *p = strstr(line, "\"sequence\":");
	return p ? strtoull(p + 11, NULL, 10) : 0;
}

/* Sends the whole lines of EVENTS_FILE from byte offset *off; returns false when the
 * client is gone. */
static bool send_new_lines(int fd, const char *path, size_t *off, unsigned long long since)
{
	size_t len;
	char *buf = slurp(path, &len);
	if (!buf)
		return true;
	bool ok = true;
	while (ok && *off < len) {
		char *nl = memchr(buf + *off, '\n', len - *off);
		if (!nl)
			break;
		*nl = 0;
		char *line = buf + *off;
		size_t n = (size_t)(nl - line);
		if (line_seq(line) > since) {
			*nl = '\n';
			ok = send_all(fd, line, n + 1);
		}
		*off += n + 1;
	}
	free(buf);
	return ok;
}

static void serve(int fd, const char *status_path, const char *events_path)
{
	char req[4097];
	size_t n = 0;
	while (n < sizeof(req) - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 5000) <= 0)
			return;
		ssize_t r = read(fd, req + n, sizeof(req) - 1 - n);
		if (r <= 0)
			return;
		n += (size_t)r;
		if (memchr(req, '\n', n))
			break;
	}
	req[n] = 0;
	if (!strncmp(req, "STATUS", 6)) {
		size_t len;
		char *doc = slurp(status_path, &len);
		if (!doc) {
			send_all(fd, "{\"error\":\"no status\"}\n", 21);
			return;
		}
		send_all(fd, doc, len);
		if (len == 0 || doc[len - 1] != '\n')
			send_all(fd, "\n", 1);
		free(doc);
		return;
	}
	if (strncmp(req, "EVENTS", 6) != 0) {
		send_all(fd, "{\"error\":\"unknown request\"}\n", 28);
		return;
	}
	const char *s = strstr(req, "since=");
	unsigned long long since = s ? strtoull(s + 6, NULL, 10) : 0;
	bool follow = !strstr(req, "follow=0");
	size_t off = 0;
	for (;;) {
		if (!send_new_lines(fd, events_path, &off, since) || !follow)
			return;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 50) > 0) { /* the client spoke or hung up: either way, done */
			char c;
			if (read(fd, &c, 1) <= 0)
				return;
		}
	}
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: fake_control SOCKET STATUS_FILE EVENTS_FILE\n");
		return 64;
	}
	sock_path = argv[1];
	signal(SIGCHLD, SIG_IGN); /* children reap themselves */
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(sock_path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "fake_control: socket path too long\n");
		return 64;
	}
	strcpy(sa.sun_path, sock_path);
	unlink(sock_path);
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 16) < 0) {
		fprintf(stderr, "fake_control: %s: %s\n", sock_path, strerror(errno));
		return 71;
	}
	chmod(sock_path, 0666);
	pid_t parent = getpid();
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			return 71;
		}
		pid_t pid = fork();
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(0);
			close(lfd);
			serve(fd, argv[2], argv[3]);
			_exit(0);
		}
		close(fd);
	}
}
