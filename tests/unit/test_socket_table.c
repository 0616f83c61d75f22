// SPDX-License-Identifier: MIT
/* src/sys/socket_table.c: lines of /proc/net/tcp{,6} parsed, and the listening sockets of
 * this very process found through /proc (a real listen, no root needed). */
#include "check.h"
#include "sys/socket_table.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

TEST(v4_listen_line)
{
	const char *l = "   0: 0100007F:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 "
			"00000000  1000        0 123456 1 0000000000000000 100 0 0 10 0";
	struct amx_listen s;
	bool listening;
	CHECK(amx_socktab_parse_line(l, false, &s, &listening));
	CHECK(listening);
	CHECK(s.port == 3000 && s.inode == 123456 && s.family == AF_INET);
	char a[64];
	amx_socktab_addr_str(&s, a, sizeof(a));
	CHECK_STR(a, "127.0.0.1");
}

TEST(v6_line_and_established)
{
	const char *l = "   1: 00000000000000000000000001000000:1F90 "
			"00000000000000000000000000000000:0000 01 00000000:00000000 00:00000000 "
			"00000000     0        0 77 1 0000000000000000 100 0 0 10 0";
	struct amx_listen s;
	bool listening;
	CHECK(amx_socktab_parse_line(l, true, &s, &listening));
	CHECK(!listening);
	CHECK(s.port == 8080 && s.inode == 77);
	char a[64];
	amx_socktab_addr_str(&s, a, sizeof(a));
	CHECK_STR(a, "::1");
}

TEST(hostile_lines_refused)
{
	struct amx_listen s;
	bool listening;
	CHECK(!amx_socktab_parse_line("", false, &s, &listening));
	CHECK(!amx_socktab_parse_line("  sl  local_address rem_address   st", false, &s, &listening));
	CHECK(!amx_socktab_parse_line("   0: 0100007G:0BB8 00000000:0000 0A 0 0 0 0 0 1", false, &s,
				      &listening));
	CHECK(!amx_socktab_parse_line("   0: 0100007F:0BB8 00000000:0000 0A", false, &s, &listening));
	CHECK(!amx_socktab_parse_line("   0: 0100007F:0BB8", true, &s, &listening));
}

static int listen_on(int family, uint16_t *port)
{
	int fd = socket(family, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	if (family == AF_INET) {
		struct sockaddr_in *in = (void *)&ss;
		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (void *)&ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_addr = in6addr_loopback;
		len = sizeof(*in6);
	}
	if (bind(fd, (void *)&ss, len) || listen(fd, 1) || getsockname(fd, (void *)&ss, &len)) {
		close(fd);
		return -1;
	}
	*port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					 : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

TEST(own_listening_sockets_and_holder)
{
	uint16_t p4 = 0, p6 = 0;
	int f4 = listen_on(AF_INET, &p4);
	int f6 = listen_on(AF_INET6, &p6);
	CHECK(f4 >= 0);
	/* a bound-but-not-listening socket is not reported */
	int idle = socket(AF_INET, SOCK_STREAM, 0);
	struct amx_listen l[8];
	int n = amx_socktab_listening(getpid(), l, 8);
	CHECK(n == (f6 >= 0 ? 2 : 1));
	bool saw4 = false, saw6 = false;
	for (int i = 0; i < n; i++) {
		char a[64];
		amx_socktab_addr_str(&l[i], a, sizeof(a));
		if (l[i].port == p4 && l[i].family == AF_INET && strcmp(a, "127.0.0.1") == 0)
			saw4 = true;
		if (f6 >= 0 && l[i].port == p6 && l[i].family == AF_INET6 && strcmp(a, "::1") == 0)
			saw6 = true;
	}
	CHECK(saw4 && (f6 < 0 || saw6));
	uint16_t ports[8];
	CHECK(amx_socktab_listening_ports(getpid(), ports, 8) == n);
	CHECK(amx_socktab_port_holder(p4, getpid(), 0) == getpid());
	CHECK(amx_socktab_port_holder(p4, getpid(), getpid()) == 0);
	close(f4);
	if (f6 >= 0)
		close(f6);
	close(idle);
	CHECK(amx_socktab_listening(getpid(), l, 8) == 0);
	CHECK(amx_socktab_port_holder(p4, 0, 0) == 0);
}

TEST(gone_process)
{
	struct amx_listen l[2];
	CHECK(amx_socktab_listening(0x3fffffff, l, 2) == -ENOENT);
}

int main(void)
{
	RUN(v4_listen_line);
	RUN(v6_line_and_established);
	RUN(hostile_lines_refused);
	RUN(own_listening_sockets_and_holder);
	RUN(gone_process);
	CHECK_DONE();
}
