/* SPDX-License-Identifier: MIT */
/* sd_notify: what reaches systemd's notify socket is fixed text or one sanitised
 * STATUS= line, whatever an app name (written by a PM2_HOME owner) contains. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"
#include "core/event.h"
#include "sys/loop.h"
#include "sys/sdnotify.h"

static struct amx_event_stream stream;

TEST(status_is_one_line)
{
	char dir[] = "/tmp/amx-sdnotify-XXXXXX";
	char path[128], buf[2048];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/notify", dir);
	strcpy(sa.sun_path, path);
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	CHECK(s >= 0 && bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	setenv("NOTIFY_SOCKET", path, 1);
	unsetenv("WATCHDOG_USEC");
	CHECK(amx_loop_init() == 0);
	amx_sd_notify_start();

	amx_event_stream_init(&stream);
	json_t *ev = amx_event_new(&stream, AMX_EVT_RECOVERY_STARTED, 0, "recovering %s",
				   "demo\nMAINPID=4242\nWATCHDOG=trigger\\x0a\x1b[2J");
	amx_loop_publish(ev, "");
	json_decref(ev);

	ssize_t n = recv(s, buf, sizeof(buf) - 1, 0);
	CHECK(n > 0);
	if (n > 0) {
		buf[n] = '\0';
		CHECK(strchr(buf, '\n') == NULL);
		CHECK(strchr(buf, '\x1b') == NULL);
		CHECK(strncmp(buf, "STATUS=", 7) == 0);
		CHECK(strstr(buf, "\nMAINPID=") == NULL);
		/* the escape of a real newline differs from the literal text "\x0a" */
		CHECK_STR(buf, "STATUS=recovering demo\\x0aMAINPID=4242\\x0aWATCHDOG=trigger\\\\x0a\\x1b[2J");
	}
	close(s);
	unlink(path);
	rmdir(dir);
}

TEST(one_line_bounds)
{
	char out[8];

	amx_text_one_line(out, sizeof(out), "ab\ncdef");
	CHECK_STR(out, "ab\\x0ac"); /* 7 bytes + NUL */
	amx_text_one_line(out, 6, "ab\ncd");
	CHECK_STR(out, "ab"); /* the escape is not cut in half */
	amx_text_one_line(out, sizeof(out), "\xC2\x9B" "x");
	CHECK_STR(out, ""); /* an 8-byte escape does not fit in 7: nothing half-written */
	amx_text_one_line(out, sizeof(out), "a\\b");
	CHECK_STR(out, "a\\\\b");
}

int main(void)
{
	RUN(status_is_one_line);
	RUN(one_line_bounds);
	CHECK_DONE();
}
