/* SPDX-License-Identifier: MIT */
/* The event ABI shared by the kernel side (bpf/amexbpf.bpf.c) and user space.
 * Fixed-width fields, explicit padding, size checked on both sides. */
#ifndef AMEXBPF_H
#define AMEXBPF_H

#define AMX_COMM_LEN 16
#define AMX_HINT_WORDS 1024 /* watched_hint: 65536 bits, one per tgid modulo that */
#define AMX_MEMCG_LEN 256 /* a memory cgroup path, NUL-terminated, cut to fit */
#define AMX_MEMCG_DEPTH 8 /* levels walked up from the victim's memory cgroup */

enum amx_event_type {
	AMX_EV_EXIT = 1, /* last thread of a watched process exited */
	AMX_EV_FORK = 2, /* a process whose parent has AMX_WATCH_CHILDREN was born */
	AMX_EV_EXEC = 3, /* a watched child (AMX_WATCH_FORKED) called execve */
	AMX_EV_OOM = 4,  /* the kernel chose a victim (any process; user space filters) */
	AMX_EV_LISTEN = 5, /* a watched process put a TCP socket in LISTEN (listen_* fields) */
	AMX_EV_UNLISTEN = 6, /* a watched process closed a listening TCP socket (LISTEN -> CLOSE) */
};

/* Flags in the value of the `watched` map. */
enum amx_watch_flags {
	AMX_WATCH_PROC = 1 << 0,     /* report this process's exit */
	AMX_WATCH_CHILDREN = 1 << 1, /* watch every new process it forks (the God daemon) */
	AMX_WATCH_FORKED = 1 << 2,   /* set by BPF on a child added at fork; report its exec */
};

/* AMX_EV_FORK records: amx_event.exit_code carries these (no exit code there). */
enum amx_fork_flags {
	AMX_FORK_NOT_WATCHED = 1 << 0, /* not added to `watched`: its parent is at its cap
					* (max_children_per_parent) or the map is full */
};

/* Listen records one watched process life may send, and as many unlisten records: an app
 * listens on a few ports; one that listens and closes in a loop must not fill the ring
 * buffer every home shares. */
#define AMX_LISTENS_PER_PROCESS 32

/* Children of one AMX_WATCH_CHILDREN parent watched at once, by default: one PM2 God
 * daemon forking without end cannot fill the map that every other home shares. */
#define AMX_MAX_CHILDREN_PER_PARENT 2048

/* amx_event.memcg_flags: where the path in amx_event.memcg comes from. */
enum amx_memcg_flags {
	AMX_MEMCG_V1 = 1 << 0,        /* the memory controller's cgroup v1 hierarchy */
	AMX_MEMCG_V2 = 1 << 1,        /* the default (v2) hierarchy */
	AMX_MEMCG_TRUNCATED = 1 << 2, /* deeper than AMX_MEMCG_DEPTH: the path starts "..." */
};

/* The value of the `last_kill` map: the last fatal signal generated for a watched tgid. */
struct amx_kill {
	__u64 ts_ns;
	__u32 sender_pid;
	__u32 sender_uid;
	__s32 sig;
	__s32 code;
	char sender_comm[AMX_COMM_LEN];
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
	union {
		struct { /* AMX_EV_OOM */
			__u64 total_vm_kb;
			__u64 anon_rss_kb;
			__u64 file_rss_kb;
			__u64 shmem_rss_kb;
		};
		struct { /* AMX_EV_LISTEN, AMX_EV_UNLISTEN: the socket's local address */
			__u8 listen_addr[16]; /* network order; IPv4 in the first 4 bytes */
			__u16 listen_port;    /* host order */
			__u16 listen_family;  /* AF_INET (2) or AF_INET6 (10) */
			__u32 listen_pad;
			__u64 listen_pad2;
		};
	};
	char comm[AMX_COMM_LEN];
	/* AMX_EV_EXIT: the last fatal signal another process (or the kernel on the process's
	 * behalf) generated for it, taken at signal:signal_generate; killer_sig 0 when none. */
	__u32 killer_pid;        /* tgid of the sender (current at generation time) */
	__u32 killer_uid;        /* its real uid */
	__s32 killer_sig;
	__s32 killer_code;       /* si_code: SI_USER 0, SI_TKILL -6, SI_KERNEL 0x80, > 0 a fault */
	char killer_comm[AMX_COMM_LEN]; /* the sender's group leader's comm */
	/* ---- AMX_EV_OOM records only: other records end here (AMX_EVENT_BASE_SIZE bytes)
	 * so the ring buffer holds as many exits as before; the loader zero-fills the rest. */
	__u32 memcg_flags;       /* enum amx_memcg_flags; 0 when the kernel gave no cgroup */
	__u32 pad0;
	char memcg[AMX_MEMCG_LEN]; /* e.g. "/amx-oom-1234", "/" for the root group */
};

#define AMX_EVENT_BASE_SIZE 128

#ifndef __bpf__
_Static_assert(__builtin_offsetof(struct amx_event, memcg_flags) == AMX_EVENT_BASE_SIZE,
	       "struct amx_event: the fields every record carries changed");
_Static_assert(sizeof(struct amx_event) == AMX_EVENT_BASE_SIZE + 8 + AMX_MEMCG_LEN,
	       "struct amx_event layout changed");
_Static_assert(sizeof(struct amx_kill) == 40, "struct amx_kill layout changed");
_Static_assert(sizeof(struct amx_watch) == 16, "struct amx_watch layout changed");
#endif

#endif /* AMEXBPF_H */
