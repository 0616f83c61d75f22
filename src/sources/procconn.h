/* SPDX-License-Identifier: MIT */
/* The fallback without BPF: the netlink process connector (fork, exec and exit of every
 * process on the host, with exit codes) plus a pidfd per watched process, behind the same
 * handler and struct amx_event the BPF loader uses. It follows the God daemon's children
 * as the kernel side does: a process forked by a pid watched with AMX_WATCH_CHILDREN is
 * watched from its fork.
 * What is lost against BPF: OOM attribution (no AMX_EV_OOM, ever) and in-kernel filtering
 * (every fork and exit on the host crosses into user space and is filtered here). */
#ifndef AMX_PROCCONN_H
#define AMX_PROCCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sources/bpf_loader.h"

#define AMX_PROCCONN_SOURCE "proc-connector"
#define AMX_PROCCONN_LOST "no OOM attribution (oom-killed is never reported), no in-kernel filtering (every fork and exit on the host is read and filtered in user space)"

struct amx_procconn;

/* Subscribe to the process connector (needs CAP_NET_ADMIN). NULL with one line in err. */
struct amx_procconn *amx_procconn_open(amx_bpf_handler handler, void *ctx, char *err,
				       size_t errlen);
void amx_procconn_close(struct amx_procconn *p);
/* One descriptor for the loop (an epoll set over the netlink socket and the pidfds). */
int amx_procconn_epoll_fd(const struct amx_procconn *p);
/* Handle everything waiting; returns events handed to the handler, or -errno. */
int amx_procconn_consume(struct amx_procconn *p);
/* As amx_bpf_watch: flags AMX_WATCH_PROC / AMX_WATCH_CHILDREN; start 0 = read /proc. */
int amx_procconn_watch(struct amx_procconn *p, pid_t tgid, uint32_t flags,
		       uint64_t start_boottime_ns);
/* As amx_bpf_unwatch: forget it without reporting its exit; -ENOENT if not watched. */
int amx_procconn_unwatch(struct amx_procconn *p, pid_t tgid);
/* Processes watched now, children followed from their fork included. */
int amx_procconn_watched_count(const struct amx_procconn *p);
/* Times the socket overflowed (ENOBUFS), since open: each time one or more messages were
 * dropped, how many the kernel does not say. */
uint64_t amx_procconn_lost(const struct amx_procconn *p);
/* Children of a followed parent left unwatched because every entry was taken. */
uint64_t amx_procconn_unwatched_forks(const struct amx_procconn *p);

#endif
