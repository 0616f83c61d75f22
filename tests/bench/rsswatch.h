/* SPDX-License-Identifier: MIT */
/* The rss_stat candidate for the memory limit (measured in tests/bench/memwatch_cost.c):
 * the map user space fills, and the one record the kernel sends on a crossing. */
#ifndef AMX_RSSWATCH_H
#define AMX_RSSWATCH_H

struct amx_rss_watch {
	__u64 limit_pages;   /* report when anon+file+shmem RSS reaches this */
	__u32 over;          /* 1 once reported, until it falls back under */
	__u32 pad;
};

struct amx_rss_event {
	__u32 tgid;
	__u32 pad;
	__u64 rss_pages;
	__u64 ts_ns;
};
_Static_assert(sizeof(struct amx_rss_event) == 24, "rss event ABI");

#endif
