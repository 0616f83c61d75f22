/* SPDX-License-Identifier: MIT */
/* The control-socket client shared by `amexbpf events`, `status` and `top`: lines read
 * over a socketpair (split, batched, unterminated at the end, over the bound, nothing yet
 * without waiting), connecting (no socket, a path too long, a request that arrives), and
 * one-answer requests (answered, closed without an answer, not answered in time). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "sys/control_client.h"

/* A reader of lines up to max bytes over one end of a socketpair; returns the other end. */
static int reader(struct amx_control_lines *r, size_t max)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	amx_control_lines_init(r, sv[0], max);
	return sv[1];
}

static void put(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		abort();
}

/* A listening socket at a fresh path in dir (filled in). */
static int listener(char *dir, char *path, size_t len)
{
	strcpy(dir, "/tmp/amx-ctl-test.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(path, len, "%s/s", dir);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0)
		abort();
	return fd;
}

static void unlisten(int fd, const char *dir, const char *path)
{
	close(fd);
	unlink(path);
	rmdir(dir);
}

TEST(lines_split_across_reads_come_whole)
{
	struct amx_control_lines r;
	int w = reader(&r, 64);
	size_t n;
	put(w, "{\"a\":1}\n{\"b\"");
	CHECK(amx_control_lines_fill(&r, 0) == 1);
	char *l = amx_control_lines_next(&r, &n);
	CHECK(l && !strcmp(l, "{\"a\":1}") && n == 7);
	CHECK(amx_control_lines_next(&r, &n) == NULL); /* half a line waits */
	put(w, ":2}\n");
	CHECK(amx_control_lines_fill(&r, 1000) == 1);
	l = amx_control_lines_next(&r, &n);
	CHECK(l && !strcmp(l, "{\"b\":2}"));
	CHECK(amx_control_lines_next(&r, &n) == NULL);
	close(w);
	amx_control_lines_close(&r);
	CHECK(r.fd == -1 && r.buf == NULL);
}

TEST(nothing_there_does_not_wait)
{
	struct amx_control_lines r;
	int w = reader(&r, 64);
	size_t n;
	time_t t0 = time(NULL);
	CHECK(amx_control_lines_fill(&r, 0) == 1);
	CHECK(amx_control_lines_fill(&r, 20) == 1); /* a short wait, then still open */
	CHECK(time(NULL) - t0 < 2);
	CHECK(amx_control_lines_next(&r, &n) == NULL);
	close(w);
	amx_control_lines_close(&r);
}

TEST(end_of_stream_gives_the_unterminated_rest)
{
	struct amx_control_lines r;
	int w = reader(&r, 64);
	size_t n;
	put(w, "one\ntwo");
	close(w);
	CHECK(amx_control_lines_fill(&r, -1) == 0);
	char *l = amx_control_lines_next(&r, &n);
	CHECK(l && !strcmp(l, "one"));
	l = amx_control_lines_next(&r, &n);
	CHECK(l && !strcmp(l, "two") && n == 3);
	CHECK(amx_control_lines_next(&r, &n) == NULL);
	CHECK(amx_control_lines_fill(&r, -1) == 0);
	amx_control_lines_close(&r);
}

TEST(a_line_over_the_bound_breaks_the_stream)
{
	struct amx_control_lines r;
	int w = reader(&r, 16);
	size_t n;
	put(w, "0123456789abcdef\n"); /* exactly the bound: fine */
	CHECK(amx_control_lines_fill(&r, 0) == 1);
	char *l = amx_control_lines_next(&r, &n);
	CHECK(l && n == 16);
	put(w, "0123456789abcdefX");
	CHECK(amx_control_lines_fill(&r, 0) == -EMSGSIZE);
	CHECK(amx_control_lines_next(&r, &n) == NULL);
	close(w);
	amx_control_lines_close(&r);
}

TEST(many_lines_through_a_small_bound_in_order)
{
	struct amx_control_lines r;
	int w = reader(&r, 40);
	/* One write: each small write would take a whole buffer's worth of the socket's room. */
	char want[64], *all = malloc(2000 * 24 + 1);
	size_t off = 0;
	for (int i = 0; all && i < 2000; i++)
		off += (size_t)snprintf(all + off, 24, "{\"sequence\":%d}\n", i);
	if (all)
		put(w, all);
	free(all);
	close(w);
	int got = 0, rc = 1;
	size_t n;
	bool in_order = true;
	while (rc > 0 || r.len > r.start) {
		char *l = amx_control_lines_next(&r, &n);
		if (!l) {
			if (rc <= 0)
				break;
			rc = amx_control_lines_fill(&r, 0);
			continue;
		}
		snprintf(want, sizeof(want), "{\"sequence\":%d}", got++);
		in_order = in_order && !strcmp(l, want);
	}
	CHECK(rc == 0);
	CHECK(got == 2000);
	CHECK(in_order);
	amx_control_lines_close(&r);
}

TEST(connect_reports_errno)
{
	char dir[64], path[128];
	CHECK(amx_control_connect("/nonexistent/amx.sock", 100) == -ENOENT);
	char longp[200];
	memset(longp, 'x', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = 0;
	CHECK(amx_control_connect(longp, 100) == -ENAMETOOLONG);
	struct amx_control_error e;
	CHECK(amx_control_request("/nonexistent/amx.sock", "STATUS\n", &e) == -1);
	CHECK(e.stage == AMX_CONTROL_CONNECT && e.err == ENOENT);
	char buf[128];
	CHECK(!strcmp(amx_control_strerror(&e, 0, buf, sizeof(buf)), strerror(ENOENT)));

	int l = listener(dir, path, sizeof(path));
	int fd = amx_control_request(path, "EVENTS since=3\n", &e);
	CHECK(fd >= 0);
	int s = accept(l, NULL, NULL);
	char req[64] = { 0 };
	CHECK(s >= 0 && read(s, req, sizeof(req) - 1) == 15);
	CHECK(!strcmp(req, "EVENTS since=3\n"));
	if (s >= 0)
		close(s);
	if (fd >= 0)
		close(fd);
	unlisten(l, dir, path);
}

/* A server for one connection, in a child: reads the request, then writes answer (NULL:
 * closes at once). */
static pid_t serve_once(int l, const char *answer)
{
	pid_t pid = fork();
	if (pid == 0) {
		int s = accept(l, NULL, NULL);
		char req[256];
		if (s >= 0 && read(s, req, sizeof(req)) > 0 && answer)
			put(s, answer);
		_exit(0);
	}
	return pid;
}

TEST(fetch_line_takes_the_first_line)
{
	char dir[64], path[128];
	int l = listener(dir, path, sizeof(path));
	struct amx_control_error e;
	pid_t pid = serve_once(l, "{\"pid\":123}\n{\"ignored\":true}\n");
	char *line = amx_control_fetch_line(path, "STATUS\n", 5000, AMX_CONTROL_STATUS_MAX, &e);
	CHECK(line && !strcmp(line, "{\"pid\":123}"));
	free(line);
	waitpid(pid, NULL, 0);

	pid = serve_once(l, "{\"no-newline\":1}"); /* then closes: the rest is the answer */
	line = amx_control_fetch_line(path, "STATUS\n", 5000, AMX_CONTROL_STATUS_MAX, &e);
	CHECK(line && !strcmp(line, "{\"no-newline\":1}"));
	free(line);
	waitpid(pid, NULL, 0);

	pid = serve_once(l, NULL);
	line = amx_control_fetch_line(path, "STATUS\n", -1, AMX_CONTROL_STATUS_MAX, &e);
	CHECK(!line && e.stage == AMX_CONTROL_RECEIVE && e.err == 0);
	char buf[128];
	CHECK(!strcmp(amx_control_strerror(&e, -1, buf, sizeof(buf)), "closed without an answer"));
	waitpid(pid, NULL, 0);
	unlisten(l, dir, path);
}

TEST(fetch_line_gives_up_at_the_deadline)
{
	char dir[64], path[128];
	int l = listener(dir, path, sizeof(path)); /* never accepts: the backlog holds us */
	struct amx_control_error e;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	char *line = amx_control_fetch_line(path, "STATUS\n", 150, AMX_CONTROL_STATUS_MAX, &e);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	CHECK(!line && e.stage == AMX_CONTROL_RECEIVE && e.err == ETIMEDOUT);
	CHECK(ms >= 140 && ms < 2000);
	char buf[128];
	CHECK(!strcmp(amx_control_strerror(&e, 150, buf, sizeof(buf)), "not answered within 150 ms"));
	unlisten(l, dir, path);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	RUN(lines_split_across_reads_come_whole);
	RUN(nothing_there_does_not_wait);
	RUN(end_of_stream_gives_the_unterminated_rest);
	RUN(a_line_over_the_bound_breaks_the_stream);
	RUN(many_lines_through_a_small_bound_in_order);
	RUN(connect_reports_errno);
	RUN(fetch_line_takes_the_first_line);
	RUN(fetch_line_gives_up_at_the_deadline);
	CHECK_DONE();
}
