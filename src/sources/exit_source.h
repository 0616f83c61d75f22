/* SPDX-License-Identifier: MIT */
/* One interface to where process exits, forks, execs and OOM victims come from: the BPF
 * programs (sources/bpf_loader.h) or, without BPF, the netlink process connector
 * (sources/procconn.h). The code that acts on events holds a struct amx_exit_source and
 * never asks which one it has; a unit test hands it a fake
 * (tests/unit/fake_exit_source.h) through the same ops table. */
#ifndef AMX_EXIT_SOURCE_H
#define AMX_EXIT_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/types.h> /* the ABI header's __u32 and friends */

#include "bpf/amexbpf.h"
#include "core/options.h"
#include "sources/bpf_loader.h"

/* Called from consume for each event, in the order the kernel gave them. */
typedef void (*amx_exit_source_handler)(void *ctx, const struct amx_event *ev);

/* What the source failed to report since it was opened, by cause. Each count only grows;
 * a change of either means the caller's view of processes may be stale: re-scan. */
struct amx_exit_source_lost {
	/* The way up to user space overflowed. BPF: records the ring buffer had no room for.
	 * Connector: times the socket overflowed (ENOBUFS), each one message or more (the
	 * kernel does not say how many). */
	uint64_t overflow;
	/* Children of a process watched with AMX_WATCH_CHILDREN that could not be watched,
	 * the watched set being full: their exec and exit go unreported. */
	uint64_t unwatched_forks;
};

/* An implementation. ctx is the implementation's own state, handed to every call. */
struct amx_exit_source_ops {
	const char *name;   /* amexbpf.source of the events: "bpf", AMX_PROCCONN_SOURCE */
	const char *limits; /* what it cannot do that BPF does (amexbpf.source_lost); NULL: none */
	/* What overflows when events are lost ("kernel ring buffer"), for messages. */
	const char *channel;
	int (*fd)(void *ctx);
	int (*consume)(void *ctx);
	int (*watch)(void *ctx, pid_t tgid, uint32_t flags, uint64_t start_boottime_ns);
	int (*unwatch)(void *ctx, pid_t tgid);
	struct amx_exit_source_lost (*lost)(void *ctx);
	int (*watched_count)(void *ctx);
	const char *(*attach_kind)(void *ctx);
	/* NULL where there are no programs to count. */
	int (*prog_stats)(void *ctx, struct amx_bpf_prog_stat *out, int max);
	bool (*set_stats)(void *ctx, bool on);
	void (*close)(void *ctx);
};

/* A source in use; all zero (ops NULL) when none is open, and every call below is then
 * harmless: no fd (-1), nothing consumed, nothing watched, attach kind "none". */
struct amx_exit_source {
	const struct amx_exit_source_ops *ops;
	void *ctx;
	/* When the connector is in use: why not BPF ("--no-bpf", or the step that failed).
	 * Empty when BPF is. */
	char why_not_bpf[256];
};

struct amx_exit_source_want {
	enum amx_bpf_mode mode;  /* AUTO: BPF, else the connector; REQUIRED: BPF or fail; OFF */
	bool verbose;            /* libbpf's own messages on stderr */
	bool bpf_stats;          /* the programs' run-time statistics (--bpf-stats) */
	amx_exit_source_handler handler;
	void *handler_ctx;
};

/* Open what want->mode asks for, falling back from BPF to the connector where it may (no
 * BTF, a program that does not load or attach): src->why_not_bpf then says why. Returns 0,
 * or -1 with one line in err (and src all zero). */
int amx_exit_source_open(struct amx_exit_source *src, const struct amx_exit_source_want *want,
			 char *err, size_t errlen);
/* Close it and zero *src; a closed or never opened source is fine. */
void amx_exit_source_close(struct amx_exit_source *src);

/* The fd to put in epoll: readable when consume has something to do. -1 when none. */
int amx_exit_source_fd(const struct amx_exit_source *src);
/* Hand every waiting event to the handler, in order; returns how many, or -errno. */
int amx_exit_source_consume(const struct amx_exit_source *src);
/* Report this process's exit (AMX_WATCH_PROC) and follow its children from their fork
 * (AMX_WATCH_CHILDREN). start_boottime_ns: exact (from an event), or 0 when unknown. A
 * process is forgotten once its exit is reported. 0 or -errno. */
int amx_exit_source_watch(const struct amx_exit_source *src, pid_t tgid, uint32_t flags,
			  uint64_t start_boottime_ns);
/* Forget it without reporting its exit; -ENOENT when it was not watched. */
int amx_exit_source_unwatch(const struct amx_exit_source *src, pid_t tgid);
struct amx_exit_source_lost amx_exit_source_lost(const struct amx_exit_source *src);
/* Processes watched now, children followed from their fork included. */
int amx_exit_source_watched_count(const struct amx_exit_source *src);

/* "bpf", AMX_PROCCONN_SOURCE, or "none" when none is open. */
const char *amx_exit_source_name(const struct amx_exit_source *src);
/* What it cannot do that BPF does, or NULL (BPF, or none open). */
const char *amx_exit_source_limits(const struct amx_exit_source *src);
/* What overflowed when events were lost: "kernel ring buffer", "process connector socket". */
const char *amx_exit_source_channel(const struct amx_exit_source *src);
/* How the BPF programs attached ("tp_btf", "raw_tp"); "none" for the connector. */
const char *amx_exit_source_attach_kind(const struct amx_exit_source *src);
/* Per-program run counts and times, up to max; 0 where there are no programs. */
/* The programs' run-time statistics on or off (--bpf-stats); whether they are on. */
bool amx_exit_source_set_stats(const struct amx_exit_source *src, bool on);
int amx_exit_source_prog_stats(const struct amx_exit_source *src, struct amx_bpf_prog_stat *out,
			       int max);

#endif
