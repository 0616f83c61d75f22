// SPDX-License-Identifier: GPL-2.0
/* Kernel side of amexbpf: reports the death of watched processes, the birth and exec of
 * the processes a watched parent (the PM2 God daemon) forks, and every OOM victim.
 *
 * Each hook exists twice, as tp_btf and as raw_tp, sharing one __always_inline handler:
 * user space picks the twin per hook from the hook's BTF prototype (tp_btf where the
 * arguments it reads are there, raw_tp otherwise) and falls back to raw_tp for every hook
 * when that set does not load. Neither kind needs tracefs or kprobes. Every kernel read
 * goes through CO-RE probe reads so the same handler is valid for both kinds. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "amexbpf.h"

char LICENSE[] SEC("license") = "GPL";

#define SIGNAL_GROUP_EXIT_FLAG 0x00000004 /* SIGNAL_GROUP_EXIT, a #define the BTF lacks */
#define PAGE_KB 4                         /* x86_64 base page size, in kB */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct amx_watch);
} watched SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* The last fatal signal generated for each watched process, read and deleted at its exit.
 * LRU: an entry whose exit is never seen (unwatched meanwhile) ages out by itself. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct amx_kill);
} last_kill SEC(".maps");

/* One bit per tgid modulo AMX_HINT_BITS, set for every tgid ever watched (by user space in
 * amx_bpf_watch, here for a forked child). A clear bit proves "not watched" with one load,
 * before the hash lookup: the signal hook runs for every signal of every process. Bits are
 * never cleared; a stale one costs only the lookup it would have cost anyway. */
__u64 watched_hint[AMX_HINT_WORDS] = {};

static __always_inline bool maybe_watched(__u32 tgid)
{
	__u32 word = (tgid / 64) % AMX_HINT_WORDS;

	return watched_hint[word] & (1ull << (tgid % 64));
}

/* How many children of each AMX_WATCH_CHILDREN parent are in `watched` now. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u32);
} watched_children SEC(".maps");

/* The cap of watched_children per parent; user space may lower it (a test does). */
__u32 max_children_per_parent = AMX_MAX_CHILDREN_PER_PARENT;

/* Events we could not reserve ring-buffer space for: reported, never silently dropped. */
__u64 lost_events = 0;
/* Forked children we could not add to `watched` because the map was full. */
__u64 watch_insert_failed = 0;

/* The layout of mm->rss_stat before 6.2 (an atomic_long_t array inside a struct); the
 * ___pre62 flavour lets CO-RE tell the two layouts apart at load time. */
struct mm_rss_stat___pre62 {
	atomic_long_t count[4];
} __attribute__((preserve_access_index));

struct mm_struct___pre62 {
	struct mm_rss_stat___pre62 rss_stat;
} __attribute__((preserve_access_index));

/* Scratch for assembling a cgroup path: twice the path so that a read of AMX_MEMCG_LEN
 * bytes at any offset below AMX_MEMCG_LEN stays inside, which the verifier can prove. */
struct memcg_scratch {
	char buf[2 * AMX_MEMCG_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct memcg_scratch);
} memcg_scratch SEC(".maps");

/* kernfs_node->parent became the RCU-annotated __parent in 6.15. */
struct kernfs_node___pre615 {
	struct kernfs_node *parent;
} __attribute__((preserve_access_index));

/* Set by the loader from mark_victim's BTF prototype (src/sources/hookchoice.c): the hook
 * passes only the victim's pid (before upstream 6.8 and Debian's 6.1.133), so the raw_tp
 * twin reports the pid alone. A read-only constant: the verifier drops the other branch,
 * so neither branch's argument reads count against the other prototype. */
const volatile bool oom_pid_only = false;

/* size: AMX_EVENT_BASE_SIZE, or sizeof(struct amx_event) for an OOM record (a constant
 * at every call site once inlined, as the ring buffer and memset need). */
static __always_inline struct amx_event *reserve_sized(__u64 size)
{
	struct amx_event *ev = bpf_ringbuf_reserve(&events, size, 0);

	if (!ev) {
		__sync_fetch_and_add(&lost_events, 1);
		return NULL;
	}
	__builtin_memset(ev, 0, size);
	ev->ts_ns = bpf_ktime_get_boot_ns();
	return ev;
}

/* Every record but OOM stops before the memcg fields: do not touch them. */
static __always_inline struct amx_event *reserve_event(void)
{
	return reserve_sized(AMX_EVENT_BASE_SIZE);
}

static __always_inline __u64 task_start_boottime(struct task_struct *task)
{
	if (bpf_core_field_exists(task->start_boottime))
		return BPF_CORE_READ(task, start_boottime);
	return 0;
}

/* Fields every event about a process carries: tgid, tid, parent, uid, leader's comm,
 * leader's start time. */
static __always_inline void fill_process(struct amx_event *ev, struct task_struct *task)
{
	struct task_struct *leader = BPF_CORE_READ(task, group_leader);

	ev->pid = BPF_CORE_READ(task, tgid);
	ev->tid = BPF_CORE_READ(task, pid);
	ev->ppid = BPF_CORE_READ(task, real_parent, tgid);
	ev->uid = BPF_CORE_READ(task, real_cred, uid.val);
	ev->start_boottime_ns = task_start_boottime(leader);
	BPF_CORE_READ_STR_INTO(&ev->comm, leader, comm);
}

/* ---- exit ------------------------------------------------------------------------ */

static __always_inline int handle_exit(struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	struct amx_watch *found, watch;
	struct signal_struct *signal;
	struct amx_kill *kill;
	struct amx_event *ev;
	__u32 code;

	found = bpf_map_lookup_elem(&watched, &tgid);
	if (!found)
		return 0;
	/* The process is gone only when its last thread leaves; `live` is decremented
	 * before this tracepoint, so the last thread reads 0. (group_dead is not used: older
	 * kernels do not pass it.) */
	signal = BPF_CORE_READ(task, signal);
	if (BPF_CORE_READ(signal, live.counter) != 0)
		return 0;
	watch = *found;
	/* Two threads exiting at once may both read 0: the one whose delete succeeds
	 * reports, so a process is reported exactly once. */
	if (bpf_map_delete_elem(&watched, &tgid) != 0)
		return 0;
	if (watch.flags & AMX_WATCH_FORKED) {
		__u32 *count = bpf_map_lookup_elem(&watched_children, &watch.parent_tgid);

		if (count && *count > 0)
			__sync_fetch_and_add(count, -1);
	}
	if (watch.flags & AMX_WATCH_CHILDREN)
		bpf_map_delete_elem(&watched_children, &tgid);
	if (!(watch.flags & AMX_WATCH_PROC))
		return 0;
	/* A stale entry for a pid that has since been reused by another process. */
	if (watch.start_boottime_ns &&
	    watch.start_boottime_ns != task_start_boottime(BPF_CORE_READ(task, group_leader)))
		return 0;

	/* After exit_group or a fatal signal the group's code is authoritative: the last
	 * thread may be one that was merely zapped. */
	if (BPF_CORE_READ(signal, flags) & SIGNAL_GROUP_EXIT_FLAG)
		code = BPF_CORE_READ(signal, group_exit_code);
	else
		code = BPF_CORE_READ(task, exit_code);

	ev = reserve_event();
	if (!ev)
		return 0;
	ev->type = AMX_EV_EXIT;
	fill_process(ev, task);
	ev->exit_code = code;
	kill = bpf_map_lookup_elem(&last_kill, &tgid);
	if (kill) {
		ev->killer_pid = kill->sender_pid;
		ev->killer_uid = kill->sender_uid;
		ev->killer_sig = kill->sig;
		ev->killer_code = kill->code;
		__builtin_memcpy(ev->killer_comm, kill->sender_comm, AMX_COMM_LEN);
		bpf_map_delete_elem(&last_kill, &tgid);
	}
	bpf_ringbuf_submit(ev, 0);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(exit_btf, struct task_struct *task)
{
	return handle_exit(task);
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(exit_raw, struct task_struct *task)
{
	return handle_exit(task);
}

/* ---- fatal signal ------------------------------------------------------------------ */

#define TRACE_SIGNAL_DELIVERED 0  /* enum trace_signal_result, not in every BTF */
#define TRACE_SIGNAL_LOSE_INFO 4
#define SEND_SIG_PRIV_PTR 1       /* SEND_SIG_PRIV: a kernel-internal signal, no siginfo */
#define SI_KERNEL_CODE 0x80

/* Signals whose default action is not to end the process: never a cause of death. */
static __always_inline bool never_fatal(int sig)
{
	return sig <= 0 || sig == 17 /* SIGCHLD */ || sig == 18 /* SIGCONT */ ||
	       sig == 19 /* SIGSTOP */ || sig == 20 /* SIGTSTP */ || sig == 21 /* SIGTTIN */ ||
	       sig == 22 /* SIGTTOU */ || sig == 23 /* SIGURG */ || sig == 28 /* SIGWINCH */ ||
	       sig >= 32 /* real-time signals */;
}

/* Who generated a possibly fatal signal for a watched process: the current task (the
 * sender of kill(2), tgkill(2), or the faulting task itself), kept until the exit. The
 * cheap checks come first: the signal number and result, the tgid's hint bit, then the
 * watched map; nothing else runs for the signals of unwatched processes. */
static __always_inline int handle_signal(int sig, struct kernel_siginfo *info, __u32 tgid)
{
	struct amx_kill kill = {}, *prev;
	struct task_struct *cur;
	struct amx_watch *found;

	if (!maybe_watched(tgid))
		return 0;
	found = bpf_map_lookup_elem(&watched, &tgid);
	if (!found || !(found->flags & AMX_WATCH_PROC))
		return 0;
	kill.sender_pid = bpf_get_current_pid_tgid() >> 32;
	/* A handler that re-raises the signal it got (Node under PM2 does, on SIGINT) must
	 * not hide who sent it first. */
	prev = bpf_map_lookup_elem(&last_kill, &tgid);
	if (prev && kill.sender_pid == tgid && prev->sig == sig && prev->sender_pid != tgid)
		return 0;
	cur = (struct task_struct *)bpf_get_current_task();
	kill.ts_ns = bpf_ktime_get_boot_ns();
	kill.sender_uid = (__u32)bpf_get_current_uid_gid();
	kill.sig = sig;
	/* SEND_SIG_NOINFO (NULL) is a kill from user space; SEND_SIG_PRIV (1) the kernel's. */
	if ((unsigned long)info == SEND_SIG_PRIV_PTR)
		kill.code = SI_KERNEL_CODE;
	else if (info)
		kill.code = BPF_CORE_READ(info, si_code);
	BPF_CORE_READ_STR_INTO(&kill.sender_comm, cur, group_leader, comm);
	bpf_map_update_elem(&last_kill, &tgid, &kill, BPF_ANY);
	return 0;
}

/* The first filter, before anything is read from the kernel. */
static __always_inline bool worth_a_look(int sig, int result)
{
	return !never_fatal(sig) &&
	       (result == TRACE_SIGNAL_DELIVERED || result == TRACE_SIGNAL_LOSE_INFO);
}

SEC("tp_btf/signal_generate")
int BPF_PROG(signal_btf, int sig, struct kernel_siginfo *info, struct task_struct *task,
	     int group, int result)
{
	if (!worth_a_look(sig, result))
		return 0;
	/* A BTF pointer: a plain load, no probe-read helper, on the path every signal of
	 * every process takes. */
	return handle_signal(sig, info, task->tgid);
}

SEC("raw_tp/signal_generate")
int BPF_PROG(signal_raw, int sig, struct kernel_siginfo *info, struct task_struct *task,
	     int group, int result)
{
	if (!worth_a_look(sig, result))
		return 0;
	return handle_signal(sig, info, BPF_CORE_READ(task, tgid));
}

/* ---- fork ------------------------------------------------------------------------ */

static __always_inline int handle_fork(struct task_struct *parent, struct task_struct *child)
{
	__u32 parent_tgid = BPF_CORE_READ(parent, tgid);
	__u32 child_tgid = BPF_CORE_READ(child, tgid);
	struct amx_watch *parent_watch, child_watch = {};
	__u32 *count, not_watched = 0;
	struct amx_event *ev;

	if (child_tgid == parent_tgid) /* a new thread, not a new process */
		return 0;
	parent_watch = bpf_map_lookup_elem(&watched, &parent_tgid);
	if (!parent_watch || !(parent_watch->flags & AMX_WATCH_CHILDREN))
		return 0;

	/* Watch the child before it ever runs, so even an instant crash is reported; but no
	 * more than max_children_per_parent of one parent at once. */
	child_watch.flags = AMX_WATCH_PROC | AMX_WATCH_FORKED;
	child_watch.parent_tgid = parent_tgid;
	child_watch.start_boottime_ns = task_start_boottime(child);
	count = bpf_map_lookup_elem(&watched_children, &parent_tgid);
	if (!count) {
		__u32 zero = 0;

		bpf_map_update_elem(&watched_children, &parent_tgid, &zero, BPF_NOEXIST);
		count = bpf_map_lookup_elem(&watched_children, &parent_tgid);
	}
	if ((count && *count >= max_children_per_parent) ||
	    bpf_map_update_elem(&watched, &child_tgid, &child_watch, BPF_ANY) != 0) {
		__sync_fetch_and_add(&watch_insert_failed, 1);
		not_watched = AMX_FORK_NOT_WATCHED;
	} else {
		if (count)
			__sync_fetch_and_add(count, 1);
		__sync_fetch_and_or(&watched_hint[(child_tgid / 64) % AMX_HINT_WORDS],
				    1ull << (child_tgid % 64));
	}

	ev = reserve_event();
	if (!ev)
		return 0;
	ev->type = AMX_EV_FORK;
	ev->exit_code = not_watched;
	ev->pid = child_tgid;
	ev->tid = BPF_CORE_READ(child, pid);
	ev->ppid = parent_tgid;
	ev->uid = BPF_CORE_READ(child, real_cred, uid.val);
	ev->start_boottime_ns = child_watch.start_boottime_ns;
	BPF_CORE_READ_STR_INTO(&ev->comm, child, comm);
	bpf_ringbuf_submit(ev, 0);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(fork_btf, struct task_struct *parent, struct task_struct *child)
{
	return handle_fork(parent, child);
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(fork_raw, struct task_struct *parent, struct task_struct *child)
{
	return handle_fork(parent, child);
}

/* ---- exec ------------------------------------------------------------------------ */

static __always_inline int handle_exec(struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);
	struct amx_watch *found;
	struct amx_event *ev;

	found = bpf_map_lookup_elem(&watched, &tgid);
	if (!found || !(found->flags & AMX_WATCH_FORKED))
		return 0;
	ev = reserve_event();
	if (!ev)
		return 0;
	ev->type = AMX_EV_EXEC;
	fill_process(ev, task);
	bpf_ringbuf_submit(ev, 0);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(exec_btf, struct task_struct *task)
{
	return handle_exec(task);
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(exec_raw, struct task_struct *task)
{
	return handle_exec(task);
}

/* ---- listen ------------------------------------------------------------------------ */

#define TCP_LISTEN_STATE 10 /* TCP_LISTEN; SCTP_SS_LISTENING has the same value */
#define IPPROTO_TCP_NUM 6
#define AF_INET_NUM 2
#define AF_INET6_NUM 10

/* Listen and unlisten records sent per watched process life (AMX_LISTENS_PER_PROCESS at
 * most of each); LRU, so an entry of a process whose exit removed it from `watched` ages
 * out by itself. */
struct listen_count {
	__u64 start_boottime_ns;
	__u32 sent;
	__u32 closed;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct listen_count);
} listen_counts SEC(".maps");

/* Listen or unlisten records not sent because their process had sent its
 * AMX_LISTENS_PER_PROCESS of that kind. */
__u64 listens_capped = 0;

/* Counts one record of the kind against the process life's cap; false when it is spent. */
static __always_inline bool listen_budget(__u32 tgid, __u64 start, bool closing)
{
	struct listen_count *count = bpf_map_lookup_elem(&listen_counts, &tgid);

	if (count && count->start_boottime_ns == start) {
		__u32 *n = closing ? &count->closed : &count->sent;

		if (*n >= AMX_LISTENS_PER_PROCESS) {
			__sync_fetch_and_add(&listens_capped, 1);
			return false;
		}
		__sync_fetch_and_add(n, 1);
	} else {
		struct listen_count first = { .start_boottime_ns = start,
					      .sent = closing ? 0 : 1, .closed = closing ? 1 : 0 };

		bpf_map_update_elem(&listen_counts, &tgid, &first, BPF_ANY);
	}
	return true;
}

/* A watched process put a TCP socket in LISTEN, or took one out of it (closing == true:
 * LISTEN -> CLOSE). inet_csk_listen_start runs in the listen(2) caller's context, so the
 * current task is the listener. A listener leaves LISTEN in tcp_close or tcp_disconnect:
 * from close(2) or shutdown(2) (the socket file's last fput runs as task work of the
 * caller), or when a listen(2) fails to get its port; the caller is current there too. At
 * the process's exit its sockets are closed in exit_files, after sched_process_exit took
 * the process out of `watched`: those closes leave at the map and a dead app keeps the
 * ports it died with. A socket whose last descriptor another process closes (one passed
 * on or inherited) is not seen here.
 * The state is the tracepoint's own argument (a register compare), so every other state
 * change of every socket of the host leaves there; then the current tgid's hint bit and
 * the watched map, as for signals; only a watched listener's socket is read. */
static __always_inline int handle_listen(const struct sock *sk, bool closing)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct amx_watch *found;
	struct amx_event *ev;
	__u16 family;
	__u64 start;

	if (!maybe_watched(tgid))
		return 0;
	found = bpf_map_lookup_elem(&watched, &tgid);
	if (!found || !(found->flags & AMX_WATCH_PROC))
		return 0;
	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP_NUM)
		return 0; /* SCTP and MPTCP's outer socket pass here too */
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET_NUM && family != AF_INET6_NUM)
		return 0;
	start = task_start_boottime(BPF_CORE_READ((struct task_struct *)bpf_get_current_task(),
						  group_leader));
	if (!listen_budget(tgid, start, closing))
		return 0;
	ev = reserve_event();
	if (!ev)
		return 0;
	ev->type = closing ? AMX_EV_UNLISTEN : AMX_EV_LISTEN;
	fill_process(ev, (struct task_struct *)bpf_get_current_task());
	ev->listen_family = family;
	ev->listen_port = BPF_CORE_READ(sk, __sk_common.skc_num);
	if (family == AF_INET6_NUM)
		BPF_CORE_READ_INTO(&ev->listen_addr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
	else
		BPF_CORE_READ_INTO((__u32 *)ev->listen_addr, sk, __sk_common.skc_rcv_saddr);
	bpf_ringbuf_submit(ev, 0);
	return 0;
}

/* Two compares of the tracepoint's arguments before anything else: a socket leaves
 * LISTEN only for CLOSE, so oldstate == LISTEN is the close of a listener. */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(listen_btf, const struct sock *sk, const int oldstate, const int newstate)
{
	if (newstate == TCP_LISTEN_STATE)
		return handle_listen(sk, false);
	if (oldstate == TCP_LISTEN_STATE)
		return handle_listen(sk, true);
	return 0;
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(listen_raw, const struct sock *sk, const int oldstate, const int newstate)
{
	if (newstate == TCP_LISTEN_STATE)
		return handle_listen(sk, false);
	if (oldstate == TCP_LISTEN_STATE)
		return handle_listen(sk, true);
	return 0;
}

/* ---- OOM victim ------------------------------------------------------------------ */

static __always_inline void fill_oom_memory(struct amx_event *ev, struct task_struct *task)
{
	struct mm_struct *mm = BPF_CORE_READ(task, mm);
	__s64 anon, file, shmem;

	if (!mm || !bpf_core_field_exists(mm->total_vm))
		return;
	/* The MM_* counter indexes are an anonymous enum in the kernel, which CO-RE cannot
	 * relocate; their values (vmlinux.h) have not changed since they were introduced. */
	if (bpf_core_field_exists(mm->rss_stat[0].count)) {
		/* 6.2+: percpu_counter; .count is what get_mm_counter() reports too. */
		anon = BPF_CORE_READ(mm, rss_stat[MM_ANONPAGES].count);
		file = BPF_CORE_READ(mm, rss_stat[MM_FILEPAGES].count);
		shmem = BPF_CORE_READ(mm, rss_stat[MM_SHMEMPAGES].count);
	} else if (bpf_core_field_exists(((struct mm_struct___pre62 *)mm)->rss_stat.count)) {
		struct mm_struct___pre62 *old = (void *)mm;

		anon = BPF_CORE_READ(old, rss_stat.count[MM_ANONPAGES].counter);
		file = BPF_CORE_READ(old, rss_stat.count[MM_FILEPAGES].counter);
		shmem = BPF_CORE_READ(old, rss_stat.count[MM_SHMEMPAGES].counter);
	} else {
		return;
	}
	/* Per-CPU batching can leave the summary counter slightly negative. */
	ev->anon_rss_kb = anon > 0 ? anon * PAGE_KB : 0;
	ev->file_rss_kb = file > 0 ? file * PAGE_KB : 0;
	ev->shmem_rss_kb = shmem > 0 ? shmem * PAGE_KB : 0;
	ev->total_vm_kb = BPF_CORE_READ(mm, total_vm) * PAGE_KB;
	ev->oom_fields = 1;
}

static __always_inline struct kernfs_node *kn_parent(struct kernfs_node *kn)
{
	if (bpf_core_field_exists(kn->__parent))
		return BPF_CORE_READ(kn, __parent);
	return BPF_CORE_READ((struct kernfs_node___pre615 *)kn, parent);
}

/* The victim's memory cgroup: the cgroup of its memory controller state (v1 hierarchy or
 * v2, wherever the controller is bound), or its v2 cgroup when the kernel has no memory
 * controller. Read here, at mark_victim, because by the time user space could look at
 * /proc/PID/cgroup the dying task has already been moved out of it. */
static __always_inline struct cgroup *victim_memcg(struct task_struct *task, __u32 *flags)
{
	struct css_set *cset = BPF_CORE_READ(task, cgroups);
	struct cgroup *cg = NULL;

	if (!cset)
		return NULL;
	if (bpf_core_enum_value_exists(enum cgroup_subsys_id, memory_cgrp_id)) {
		int id = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
		int count = bpf_core_enum_value(enum cgroup_subsys_id, CGROUP_SUBSYS_COUNT);

		if (id >= 0 && id < count) /* cset->subsys is CGROUP_SUBSYS_COUNT long */
			cg = BPF_CORE_READ(cset, subsys[id], cgroup);
	}
	if (!cg && bpf_core_field_exists(cset->dfl_cgrp))
		cg = BPF_CORE_READ(cset, dfl_cgrp);
	if (!cg)
		return NULL;
	/* The default hierarchy is the one with id 0 (v1 hierarchies count from 1). */
	*flags = BPF_CORE_READ(cg, root, hierarchy_id) == 0 ? AMX_MEMCG_V2 : AMX_MEMCG_V1;
	return cg;
}

/* Write cg's path ("/a/b", "/" for the root) into ev->memcg: its kernfs names walked up
 * at most AMX_MEMCG_DEPTH levels, then written top-down. A deeper path keeps its last
 * levels after "...", and a path longer than the buffer is cut. */
static __always_inline void fill_memcg(struct amx_event *ev, struct task_struct *task)
{
	struct kernfs_node *chain[AMX_MEMCG_DEPTH];
	struct kernfs_node *kn, *parent;
	struct memcg_scratch *s;
	__u32 zero = 0, flags = 0, off = 0;
	struct cgroup *cg;
	int depth = 0;

	cg = victim_memcg(task, &flags);
	s = bpf_map_lookup_elem(&memcg_scratch, &zero);
	if (!cg || !s)
		return;
	kn = BPF_CORE_READ(cg, kn);
#pragma unroll
	for (int i = 0; i < AMX_MEMCG_DEPTH; i++) {
		if (!kn)
			break;
		parent = kn_parent(kn);
		if (!parent) /* kn is the hierarchy's root: not part of the path */
			break;
		chain[depth++] = kn;
		kn = parent;
	}
	if (kn && kn_parent(kn)) {
		flags |= AMX_MEMCG_TRUNCATED;
		s->buf[0] = '.';
		s->buf[1] = '.';
		s->buf[2] = '.';
		off = 3;
	}
#pragma unroll
	for (int i = AMX_MEMCG_DEPTH - 1; i >= 0; i--) {
		long n;

		if (i >= depth || off >= AMX_MEMCG_LEN - 1)
			continue;
		/* The mask proves the bound to the verifier; the barrier keeps the compiler,
		 * which already knows off < AMX_MEMCG_LEN, from dropping it. */
		barrier_var(off);
		s->buf[off & (AMX_MEMCG_LEN - 1)] = '/';
		off++;
		barrier_var(off);
		n = bpf_probe_read_kernel_str(&s->buf[off & (AMX_MEMCG_LEN - 1)], AMX_MEMCG_LEN,
					      BPF_CORE_READ(chain[i], name));
		if (n > 1)
			off += n - 1; /* without the NUL, which the next '/' overwrites */
	}
	/* Each name read ends in a NUL (a failed read zero-fills), so the path is terminated
	 * where it ends; only a cut one needs the last byte. */
	if (depth == 0) {
		s->buf[0] = '/';
		s->buf[1] = '\0';
	}
	__builtin_memcpy(ev->memcg, s->buf, AMX_MEMCG_LEN);
	ev->memcg[AMX_MEMCG_LEN - 1] = '\0';
	ev->memcg_flags = flags;
}

static __always_inline int handle_oom_victim(struct task_struct *task, __u32 uid)
{
	struct amx_event *ev = reserve_sized(sizeof(struct amx_event));

	if (!ev)
		return 0;
	ev->type = AMX_EV_OOM;
	fill_process(ev, task);
	ev->uid = uid;
	ev->oom_score_adj = BPF_CORE_READ(task, signal, oom_score_adj);
	fill_oom_memory(ev, task);
	fill_memcg(ev, task);
	bpf_ringbuf_submit(ev, 0);
	return 0;
}

SEC("tp_btf/mark_victim")
int BPF_PROG(oom_btf, struct task_struct *task, __u32 uid)
{
	return handle_oom_victim(task, uid);
}

SEC("raw_tp/mark_victim")
int oom_raw(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 arg0 = ctx->args[0];
	struct amx_event *ev;

	/* mark_victim(task, uid): args[1] is read on this branch only, since a one-argument
	 * tracepoint refuses a program that reads past its argument. */
	if (!oom_pid_only)
		return handle_oom_victim((struct task_struct *)arg0, (__u32)ctx->args[1]);

	/* mark_victim(pid): report what we have. A kernel pointer is no pid: a run that
	 * forces this record on a kernel that passes the task (the test of this branch)
	 * takes its tgid and nothing more. */
	ev = reserve_event();
	if (!ev)
		return 0;
	ev->type = AMX_EV_OOM;
	ev->pid = arg0 >> 32 ? BPF_CORE_READ((struct task_struct *)arg0, tgid) : (__u32)arg0;
	ev->tid = arg0 >> 32 ? BPF_CORE_READ((struct task_struct *)arg0, pid) : (__u32)arg0;
	bpf_ringbuf_submit(ev, 0);
	return 0;
}
