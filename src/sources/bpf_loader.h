/* SPDX-License-Identifier: MIT */
/* Loading, attaching and talking to the kernel side. */
#ifndef AMX_BPF_LOADER_H
#define AMX_BPF_LOADER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/types.h>
#include "bpf/amexbpf.h"

struct amx_bpf;

/* Called for each event taken from the ring buffer. */
typedef void (*amx_bpf_handler)(void *ctx, const struct amx_event *ev);

/* Open, load and attach every program: per hook, the tp_btf twin where the kernel's BTF
 * prototype has the arguments it reads, raw_tp otherwise (sources/hookchoice.h), and
 * raw_tp for all when that set fails; never anything that needs tracefs or kprobes. libbpf's own messages are shown only when
 * verbose. On failure returns NULL and writes one line naming the step into err. */
struct amx_bpf *amx_bpf_open(bool verbose, amx_bpf_handler handler, void *ctx,
			     char *err, size_t errlen);
void amx_bpf_close(struct amx_bpf *b);

/* The fd to put in epoll; readable when events wait in the ring buffer. */
int amx_bpf_epoll_fd(const struct amx_bpf *b);
/* Consume every waiting event, calling the handler; returns events handled or -errno. */
int amx_bpf_consume(struct amx_bpf *b);

/* Maintain the watched set (the kernel adds forked children and removes exited ones itself).
 * start_boottime_ns: exact (from a kernel event), or 0 when unknown; a mismatch makes the
 * kernel side drop the entry as a reused pid. */
int amx_bpf_watch(struct amx_bpf *b, pid_t tgid, uint32_t flags, uint64_t start_boottime_ns);
int amx_bpf_unwatch(struct amx_bpf *b, pid_t tgid);
/* Number of entries in the watched map (for status and tests). */
int amx_bpf_watched_count(struct amx_bpf *b);
/* How many children of one AMX_WATCH_CHILDREN parent are watched at once (default
 * AMX_MAX_CHILDREN_PER_PARENT); the ones past it are reported with AMX_FORK_NOT_WATCHED. */
void amx_bpf_set_child_cap(struct amx_bpf *b, uint32_t cap);

/* Events the kernel side could not reserve ring-buffer space for, since load. */
uint64_t amx_bpf_lost(const struct amx_bpf *b);
/* Forked children the kernel side could not add to the watched map (it was full), since
 * load: their exec and exit go unreported. */
uint64_t amx_bpf_unwatched_forks(const struct amx_bpf *b);

/* How the hooks attached: "tp_btf" or "raw_tp" when all four the same way, otherwise
 * e.g. "exit,fork,exec,listen,signal=tp_btf oom=raw_tp (oom: pid only)" (amx_hook_choice_summary). */
const char *amx_bpf_attach_kind(const struct amx_bpf *b);
/* The twin each hook runs (struct amx_hook_choice, sources/hookchoice.h). */
struct amx_hook_choice;
const struct amx_hook_choice *amx_bpf_hooks(const struct amx_bpf *b);

/* Turn the kernel's run-time statistics on or off for as long as b is open; returns
 * whether they are on (a kernel may refuse). Off after amx_bpf_open. */
bool amx_bpf_set_stats(struct amx_bpf *b, bool on);
/* Per-program run counts and time (non-zero only while statistics are on, by
 * amx_bpf_set_stats or the kernel.bpf_stats_enabled sysctl). */
struct amx_bpf_prog_stat {
	char name[64];
	uint64_t run_cnt, run_time_ns;
};
int amx_bpf_prog_stats(struct amx_bpf *b, struct amx_bpf_prog_stat *out, int max);

/* Exit-status decoding, shared by every consumer of AMX_EV_EXIT. */
struct amx_exit_status {
	int status;      /* exit status when not signalled, else 0 */
	int signal;      /* terminating signal, 0 if none */
	bool core_dumped;
	int exit_code;   /* shell convention: status, or 128 + signal */
};
struct amx_exit_status amx_decode_exit(uint32_t raw_exit_code);

#endif
