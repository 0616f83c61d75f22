/* SPDX-License-Identifier: MIT */
/* The kernel's TCP socket tables (/proc/PID/net/tcp and tcp6) joined with a process's
 * socket descriptors (/proc/PID/fd): which TCP ports a process listens on, and which process
 * holds a listening port. Used where BPF is absent (no-bpf mode verifies serving with it)
 * and to name the holder of a port. Every walk is bounded (lines per table, descriptors
 * per process, processes per search); a bound reached is reported, never silently cut.
 * The tables are read through the process's own /proc/PID/net, so a process in another
 * network namespace is looked up in its own. Paths follow amx_procdir (the test seam).
 * Return convention: a count >= 0, or -errno. */
#ifndef AMX_SOCKET_TABLE_H
#define AMX_SOCKET_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AMX_SOCKTAB_MAX_LINES 65536  /* lines read per table (tcp or tcp6) */
#define AMX_SOCKTAB_MAX_FDS   8192   /* descriptors looked at per process */
#define AMX_SOCKTAB_MAX_PIDS  32768  /* processes looked at by amx_socktab_port_holder */

struct amx_listen {
	uint16_t port;
	uint8_t family;        /* AF_INET or AF_INET6 */
	uint8_t addr[16];      /* network order; IPv4 in the first 4 bytes */
	uint64_t inode;
};

/* One line of /proc/net/tcp or tcp6 (`sl local rem st ... inode`). True when it parsed;
 * *listening when its state is TCP_LISTEN (0A). The address is turned back into network
 * order (the kernel prints the 32-bit words in host order). */
bool amx_socktab_parse_line(const char *line, bool v6, struct amx_listen *out, bool *listening);

/* "0.0.0.0", "::", "127.0.0.1", "::1" ... into buf. */
void amx_socktab_addr_str(const struct amx_listen *l, char *buf, size_t len);

/* The listening TCP sockets of pid (IPv4 and IPv6), at most max, sorted by port with
 * duplicates of one port and family folded. -ENOENT when the process is gone, -E2BIG when
 * a bound was reached (out then holds what was found). */
int amx_socktab_listening(int pid, struct amx_listen *out, int max);

/* The ports of amx_socktab_listening, deduplicated across families, sorted; count. */
int amx_socktab_listening_ports(int pid, uint16_t *ports, int max);

/* Every port with a listening TCP socket (IPv4 or IPv6) in the network namespace of
 * netns_pid (0: the caller's), as bits: port p is bit p % 64 of bits[p / 64]. One read of
 * the tables for any number of processes: the fallback's check that apps still listen.
 * 0, -E2BIG when the line bound was reached (bits then holds what was read), or -errno. */
#define AMX_SOCKTAB_PORT_WORDS 1024
int amx_socktab_listen_map(int netns_pid, uint64_t bits[AMX_SOCKTAB_PORT_WORDS]);

static inline bool amx_socktab_map_has(const uint64_t *bits, uint16_t port)
{
	return bits[port / 64] & (1ull << (port % 64));
}

/* A pid holding a listening socket on port, looked up in the network namespace of
 * netns_pid (0: the caller's). 0 when none was found, -E2BIG when a bound stopped the
 * search. Skips the pid `except` (the one asking). */
int amx_socktab_port_holder(uint16_t port, int netns_pid, int except);

/* Counters for status and tests: table lines read, bounds hit. */
extern unsigned long amx_socktab_lines_read, amx_socktab_bounds_hit;

#endif
