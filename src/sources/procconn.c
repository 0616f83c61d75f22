/* SPDX-License-Identifier: MIT */
#include "sources/procconn.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "sys/proc.h"

#define MAX_WATCHED 4096

struct watched {
	pid_t tgid;              /* 0: free */
	uint32_t flags;
	pid_t ppid;
	int pidfd;               /* readable once the whole thread group is gone; -1 if none */
	uint64_t start_ns;
	char comm[AMX_COMM_LEN];
	bool exit_seen;          /* an exit message of one of its threads was read */
	uint32_t exit_code;
	uint64_t exit_ts_ns;
	uint64_t gone_unsaid_ns; /* boot ns its pidfd was first readable with no exit message */
};

struct amx_procconn {
	int sock;
	int epfd;
	amx_bpf_handler handler;
	void *ctx;
	uint64_t lost;
	uint64_t unwatched_forks; /* children not followed: no free entry (MAX_WATCHED) */
	struct watched w[MAX_WATCHED];
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The connector stamps events with the monotonic clock; events carry the boot clock. */
static uint64_t mono_to_boot(uint64_t mono_ns)
{
	uint64_t boot = clock_ns(CLOCK_BOOTTIME), mono = clock_ns(CLOCK_MONOTONIC);
	return mono_ns + (boot - mono);
}

static struct watched *find(struct amx_procconn *p, pid_t tgid)
{
	for (int i = 0; i < MAX_WATCHED; i++)
		if (p->w[i].tgid == tgid)
			return &p->w[i];
	return NULL;
}

static void forget(struct amx_procconn *p, struct watched *w)
{
	if (w->pidfd >= 0) {
		epoll_ctl(p->epfd, EPOLL_CTL_DEL, w->pidfd, NULL);
		close(w->pidfd);
	}
	memset(w, 0, sizeof(*w));
	w->pidfd = -1;
}

static void emit(struct amx_procconn *p, uint32_t type, const struct watched *w,
		 uint64_t ts_ns)
{
	struct amx_event ev = { 0 };
	ev.type = type;
	ev.ts_ns = ts_ns ? ts_ns : clock_ns(CLOCK_BOOTTIME);
	ev.start_boottime_ns = w->start_ns;
	ev.pid = (uint32_t)w->tgid;
	ev.tid = (uint32_t)w->tgid;
	ev.ppid = (uint32_t)w->ppid;
	ev.exit_code = w->exit_code;
	memcpy(ev.comm, w->comm, sizeof(ev.comm));
	p->handler(p->ctx, &ev);
}

/* The process is gone: report it once, with what the connector said about its exit. */
static void report_exit(struct amx_procconn *p, struct watched *w)
{
	if (w->flags & AMX_WATCH_PROC)
		emit(p, AMX_EV_EXIT, w, w->exit_ts_ns);
	forget(p, w);
}

/* Whether the whole thread group is gone (the pidfd polls readable). */
static bool pidfd_ready(const struct watched *w)
{
	struct pollfd pfd = { .fd = w->pidfd, .events = POLLIN };
	return w->pidfd >= 0 && poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
}

static void read_identity(struct watched *w)
{
	struct amx_proc_stat st;
	if (amx_proc_read_stat(w->tgid, &st)) {
		w->ppid = st.ppid;
		if (!w->start_ns)
			w->start_ns = amx_ticks_to_ns(st.start_ticks);
		snprintf(w->comm, sizeof(w->comm), "%s", st.comm);
	}
}

int amx_procconn_watch(struct amx_procconn *p, pid_t tgid, uint32_t flags,
		       uint64_t start_boottime_ns)
{
	struct watched *w = find(p, tgid);
	if (w) {
		/* The same process (by start time) gets more flags; an entry left by an earlier
		 * process of this pid number (pids wrap) is replaced, or its exit would be
		 * reported with the old identity, and the new one's never. */
		struct amx_proc_stat st;
		uint64_t now_start = amx_proc_read_stat(tgid, &st) ? amx_ticks_to_ns(st.start_ticks) : 0;
		if (!now_start || !w->start_ns ||
		    amx_ns_to_ticks(w->start_ns) == amx_ns_to_ticks(now_start)) {
			w->flags |= flags;
			return 0;
		}
		report_exit(p, w); /* the earlier process is gone: say so, late rather than never */
	}
	w = find(p, 0);
	if (!w)
		return -ENOSPC;
	memset(w, 0, sizeof(*w));
	w->tgid = tgid;
	w->flags = flags;
	w->start_ns = start_boottime_ns;
	read_identity(w);
	w->pidfd = (int)syscall(SYS_pidfd_open, tgid, 0);
	if (w->pidfd >= 0) {
		struct epoll_event e = { .events = EPOLLIN, .data.u64 = (uint64_t)(w - p->w) };
		if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, w->pidfd, &e) < 0) {
			close(w->pidfd);
			w->pidfd = -1;
		}
	}
	/* Without a pidfd (it exited already, or pidfds are missing) the connector's exit
	 * event of the leader is what reports it, if still unread; if not, the entry is
	 * replaced by the next process of this pid (fork, or a watch with another start). */
	return 0;
}

static int subscribe(int sock, enum proc_cn_mcast_op op)
{
	struct {
		struct nlmsghdr nl;
		struct cn_msg cn;
		enum proc_cn_mcast_op op;
	} __attribute__((packed)) msg;
	memset(&msg, 0, sizeof(msg));
	msg.nl.nlmsg_len = sizeof(msg);
	msg.nl.nlmsg_type = NLMSG_DONE;
	msg.nl.nlmsg_pid = (uint32_t)getpid();
	msg.cn.id.idx = CN_IDX_PROC;
	msg.cn.id.val = CN_VAL_PROC;
	msg.cn.len = sizeof(op);
	msg.op = op;
	return send(sock, &msg, sizeof(msg), 0) == (ssize_t)sizeof(msg) ? 0 : -errno;
}

struct amx_procconn *amx_procconn_open(amx_bpf_handler handler, void *ctx, char *err,
				       size_t errlen)
{
	struct amx_procconn *p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "failed to allocate the process connector state");
		return NULL;
	}
	for (int i = 0; i < MAX_WATCHED; i++)
		p->w[i].pidfd = -1;
	p->handler = handler;
	p->ctx = ctx;
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	p->sock = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_CONNECTOR);
	if (p->epfd < 0 || p->sock < 0) {
		snprintf(err, errlen, "failed to open the process connector socket: %s", strerror(errno));
		goto fail;
	}
	/* A larger buffer rides out fork storms on busy hosts before ENOBUFS. */
	int size = 4 << 20;
	setsockopt(p->sock, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
	struct sockaddr_nl addr = { .nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC };
	if (bind(p->sock, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		snprintf(err, errlen, "failed to bind the process connector socket: %s", strerror(errno));
		goto fail;
	}
	int rc = subscribe(p->sock, PROC_CN_MCAST_LISTEN);
	if (rc < 0) {
		snprintf(err, errlen, "failed to subscribe to process events: %s", strerror(-rc));
		goto fail;
	}
	struct epoll_event e = { .events = EPOLLIN, .data.u64 = UINT64_MAX };
	if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->sock, &e) < 0) {
		snprintf(err, errlen, "failed to poll the process connector: %s", strerror(errno));
		goto fail;
	}
	return p;
fail:
	amx_procconn_close(p);
	return NULL;
}

void amx_procconn_close(struct amx_procconn *p)
{
	if (!p)
		return;
	for (int i = 0; i < MAX_WATCHED; i++)
		if (p->w[i].pidfd >= 0)
			close(p->w[i].pidfd);
	if (p->sock >= 0) {
		subscribe(p->sock, PROC_CN_MCAST_IGNORE);
		close(p->sock);
	}
	if (p->epfd >= 0)
		close(p->epfd);
	free(p);
}

int amx_procconn_epoll_fd(const struct amx_procconn *p)
{
	return p->epfd;
}

uint64_t amx_procconn_lost(const struct amx_procconn *p)
{
	return p->lost;
}

uint64_t amx_procconn_unwatched_forks(const struct amx_procconn *p)
{
	return p->unwatched_forks;
}

int amx_procconn_unwatch(struct amx_procconn *p, pid_t tgid)
{
	struct watched *w = tgid > 0 ? find(p, tgid) : NULL;
	if (!w)
		return -ENOENT;
	forget(p, w); /* silently: the caller no longer wants its exit */
	return 0;
}

int amx_procconn_watched_count(const struct amx_procconn *p)
{
	int n = 0;
	for (int i = 0; i < MAX_WATCHED; i++)
		n += p->w[i].tgid != 0;
	return n;
}

static int on_proc_event(struct amx_procconn *p, const struct proc_event *pe)
{
	struct watched *w;
	switch (pe->what) {
	case PROC_EVENT_FORK: {
		pid_t parent = pe->event_data.fork.parent_tgid;
		pid_t child = pe->event_data.fork.child_pid;
		/* a new process (not a thread) of a parent whose children we follow */
		if (child != pe->event_data.fork.child_tgid)
			return 0;
		w = find(p, parent);
		if (!w || !(w->flags & AMX_WATCH_CHILDREN))
			return 0;
		/* A fork of this pid number means the earlier process of it is gone, even if its
		 * pidfd has not been handled yet in this batch: report it now, then start afresh. */
		struct watched *stale = find(p, child);
		if (stale)
			report_exit(p, stale);
		if (amx_procconn_watch(p, child, AMX_WATCH_PROC | AMX_WATCH_FORKED, 0) < 0)
			p->unwatched_forks++; /* its fork, exec and exit go unreported */
		struct watched *c = find(p, child);
		if (c) {
			c->ppid = parent;
			emit(p, AMX_EV_FORK, c, mono_to_boot(pe->timestamp_ns));
		}
		return 1;
	}
	case PROC_EVENT_EXEC:
		w = find(p, pe->event_data.exec.process_tgid);
		if (!w || pe->event_data.exec.process_pid != pe->event_data.exec.process_tgid)
			return 0;
		read_identity(w);
		if (w->flags & AMX_WATCH_FORKED) {
			emit(p, AMX_EV_EXEC, w, mono_to_boot(pe->timestamp_ns));
			return 1;
		}
		return 0;
	case PROC_EVENT_EXIT:
		w = find(p, pe->event_data.exit.process_tgid);
		if (!w)
			return 0;
		/* The leader's exit code is the group's on a group exit (signal, exit_group);
		 * a later thread's exit overrides it, the last thread being the one that counts. */
		w->exit_seen = true;
		w->exit_code = pe->event_data.exit.exit_code;
		w->exit_ts_ns = mono_to_boot(pe->timestamp_ns);
		if (pe->event_data.exit.parent_tgid)
			w->ppid = pe->event_data.exit.parent_tgid;
		/* Reported here, in the connector's order, once this message completes the
		 * exit: PM2 forks and execs the next copy of the app within milliseconds, and
		 * the daemon must read this exit before it reads that fork and exec (which are
		 * later messages, maybe in this very batch). The kernel wakes the pidfd before
		 * it sends the last thread's message, so that message finds it readable. (Read
		 * late, an earlier thread's message may find it so: its code differs only when
		 * threads leave one by one with codes of their own, never on a group exit.) */
		if ((w->pidfd < 0 && pe->event_data.exit.process_pid == w->tgid) || pidfd_ready(w)) {
			report_exit(p, w);
			return 1;
		}
		return 0;
	default:
		return 0;
	}
}

static int drain_socket(struct amx_procconn *p)
{
	char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	int handled = 0;
	for (;;) {
		ssize_t n = recv(p->sock, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == ENOBUFS) {
				/* the kernel dropped messages: the daemon re-scans */
				p->lost++;
				continue;
			}
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? handled : -errno;
		}
		for (struct nlmsghdr *nl = (struct nlmsghdr *)buf; NLMSG_OK(nl, (size_t)n);
		     nl = NLMSG_NEXT(nl, n)) {
			if (nl->nlmsg_type == NLMSG_ERROR || nl->nlmsg_type == NLMSG_NOOP)
				continue;
			struct cn_msg *cn = NLMSG_DATA(nl);
			if (cn->id.idx != CN_IDX_PROC || cn->id.val != CN_VAL_PROC ||
			    cn->len < sizeof(struct proc_event) - sizeof(((struct proc_event *)0)->event_data))
				continue;
			/* The event sits 4 bytes past an 8-byte boundary (after the 20-byte
			 * cn_msg) and holds a u64: read it from an aligned copy. */
			struct proc_event pe;
			size_t room = nl->nlmsg_len - NLMSG_HDRLEN - sizeof(*cn);
			size_t take = cn->len < sizeof(pe) ? cn->len : sizeof(pe);
			if (nl->nlmsg_len < NLMSG_HDRLEN + sizeof(*cn) || take > room)
				continue;
			memset(&pe, 0, sizeof(pe));
			memcpy(&pe, cn->data, take);
			handled += on_proc_event(p, &pe);
		}
	}
}

/* The pidfd wakes in exit_notify(), the connector's message leaves just after: read in
 * that gap, no message has told how it ended yet. Wait for it (its own arrival reports the
 * exit, with its code), but not past EXIT_MESSAGE_WAIT_NS: a message the socket dropped
 * (ENOBUFS, counted as lost) must not hold the report back for good. Meanwhile the
 * readable pidfd wakes the loop again. */
#define EXIT_MESSAGE_WAIT_NS (20 * 1000000ull)
static bool exit_message_due(struct watched *w)
{
	if (w->exit_seen)
		return true;
	uint64_t now = clock_ns(CLOCK_BOOTTIME);
	if (!w->gone_unsaid_ns)
		w->gone_unsaid_ns = now;
	return now - w->gone_unsaid_ns >= EXIT_MESSAGE_WAIT_NS;
}

int amx_procconn_consume(struct amx_procconn *p)
{
	struct epoll_event evs[64];
	int handled = 0;
	int n = epoll_wait(p->epfd, evs, 64, 0);
	/* The socket first: a pidfd that became readable has its exit code in there. */
	int rc = drain_socket(p);
	if (rc < 0)
		return rc;
	handled += rc;
	for (int i = 0; i < n; i++) {
		if (evs[i].data.u64 == UINT64_MAX)
			continue;
		struct watched *w = &p->w[evs[i].data.u64];
		/* Checked again: the socket above may have reported this entry and handed its
		 * slot to a new process, whose pidfd is not readable. */
		if (w->tgid && pidfd_ready(w)) {
			/* Gone. The kernel wakes pidfds (exit_notify) before it sends the last
			 * thread's connector message, so read the socket once more; a message
			 * still later only leaves the leader's timestamp on the event (the exit
			 * code of a group exit is the same for every thread). */
			drain_socket(p);
			if (w->tgid && pidfd_ready(w) && exit_message_due(w)) {
				report_exit(p, w);
				handled++;
			}
		}
	}
	return handled;
}
