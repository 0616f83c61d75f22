// SPDX-License-Identifier: GPL-2.0
/* A memory-limit candidate, kept for the cost benchmark: kmem:rss_stat fires on every RSS
 * counter change of every process on the host. The filter runs in the kernel (a hash of
 * watched tgids with a per-process limit), and only a crossing reaches user space. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "rsswatch.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct amx_rss_watch);
} rss_watched SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} rss_events SEC(".maps");

__u64 rss_calls = 0;

SEC("tp_btf/rss_stat")
int BPF_PROG(on_rss_stat, struct mm_struct *mm, int member)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct amx_rss_watch *w;
	struct amx_rss_event *e;
	__s64 rss;

	__sync_fetch_and_add(&rss_calls, 1);
	w = bpf_map_lookup_elem(&rss_watched, &tgid);
	if (!w)
		return 0;
	rss = BPF_CORE_READ(mm, rss_stat[MM_FILEPAGES].count) +
	      BPF_CORE_READ(mm, rss_stat[MM_ANONPAGES].count) +
	      BPF_CORE_READ(mm, rss_stat[MM_SHMEMPAGES].count);
	if (rss < (__s64)w->limit_pages) {
		w->over = 0;
		return 0;
	}
	if (w->over)
		return 0;
	w->over = 1;
	e = bpf_ringbuf_reserve(&rss_events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->tgid = tgid;
	e->pad = 0;
	e->rss_pages = (__u64)rss;
	e->ts_ns = bpf_ktime_get_boot_ns();
	bpf_ringbuf_submit(e, 0);
	return 0;
}
