/* SPDX-License-Identifier: MIT */
/* notify_sink PATH: stand in for systemd's notify socket. Binds a datagram socket at PATH
 * and prints each message it receives as one line ("\n" inside a message becomes "|"),
 * prefixed with the receive time in ms on the boot clock, flushing each line. Runs until
 * killed. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: notify_sink PATH\n");
		return 64;
	}
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if (strlen(argv[1]) >= sizeof(a.sun_path)) {
		fprintf(stderr, "notify_sink: path too long\n");
		return 64;
	}
	strcpy(a.sun_path, argv[1]);
	unlink(argv[1]);
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("notify_sink: bind");
		return 71;
	}
	char buf[4096];
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n < 0)
			continue;
		buf[n] = '\0';
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] == '\n')
				buf[i] = '|';
		struct timespec ts;
		clock_gettime(CLOCK_BOOTTIME, &ts);
		printf("%lld %s\n", (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, buf);
		fflush(stdout);
	}
}
