/* SPDX-License-Identifier: MIT */
/* The event ABI shared by the kernel side (bpf/amexbpf.bpf.c) and user space.
 * Fixed-width fields, explicit padding, size checked on both sides. */
#ifndef AMEXBPF_H
#define AMEXBPF_H

#define AMX_COMM_LEN 16

enum amx_event_type {
	AMX_EV_EXIT = 1, /* last thread of a watched process exited */
	AMX_EV_FORK = 2, /* a process whose parent has AMX_WATCH_CHILDREN was born */
	AMX_EV_EXEC = 3, /* a watched child (AMX_WATCH_FORKED) called execve */
	AMX_EV_OOM = 4,  /* the kernel chose a victim (any process; user space filters) */
};

/* Flags in the value of the `watched` map. */
enum amx_watch_flags {
	AMX_WATCH_PROC = 1 << 0,     /* report this process's exit */
	AMX_WATCH_CHILDREN = 1 << 1, /* watch every new process it forks (the God daemon) */
	AMX_WATCH_FORKED = 1 << 2,   /* set by BPF on a child added at fork; report its exec */
};

struct amx_watch {
	__u32 flags;
	__u32 parent_tgid;       /* tgid of the process that forked it (0 if set by user space) */
	__u64 start_boottime_ns; /* task->start_boottime, to tell a reused pid apart */
};

struct amx_event {
	__u64 ts_ns;             /* bpf_ktime_get_boot_ns() when it happened */
	__u64 start_boottime_ns; /* the process's start, boot clock (== /proc stat starttime * 10 ms) */
	__u32 type;              /* enum amx_event_type */
	__u32 pid;               /* tgid */
	__u32 tid;               /* the thread that triggered it */
	__u32 ppid;              /* tgid of the real parent */
	__u32 exit_code;         /* raw task->exit_code: status = code >> 8, signal = code & 0x7f, core = code & 0x80 */
	__u32 uid;
	__s32 oom_score_adj;
	__u32 oom_fields;        /* 1 when the OOM memory fields below are filled */
	__u64 total_vm_kb;
	__u64 anon_rss_kb;
	__u64 file_rss_kb;
	__u64 shmem_rss_kb;
	char comm[AMX_COMM_LEN];
};

#ifndef __bpf__
_Static_assert(sizeof(struct amx_event) == 96, "struct amx_event layout changed");
_Static_assert(sizeof(struct amx_watch) == 16, "struct amx_watch layout changed");
#endif

#endif /* AMEXBPF_H */
