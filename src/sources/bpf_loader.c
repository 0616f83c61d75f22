// SPDX-License-Identifier: MIT
/* Loads the kernel side (bpf/amexbpf.bpf.c), attaches it, and hands its events over. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "sources/bpf_loader.h"
#include "sources/hookchoice.h"
#include "amexbpf.skel.h"

struct amx_bpf {
	struct amexbpf_bpf *skel;
	struct ring_buffer *ring;
	amx_bpf_handler handler;
	void *ctx;
	struct amx_hook_choice hooks; /* how each hook is loaded */
	char attach_kind[96];         /* amx_hook_choice_summary() of what attached */
	int stats_fd;     /* held while we run: the kernel counts run_cnt/run_time_ns */
};

/* libbpf's print callback has no context pointer, so the choice is process-wide. */
static bool libbpf_verbose;

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list args)
{
	(void)level;
	if (!libbpf_verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

/* Each hook has a tp_btf and a raw_tp twin; keep the one chosen for it. */
static void select_twins(struct amexbpf_bpf *skel, const struct amx_hook_choice *c)
{
	struct bpf_program *twins[AMX_HOOK_COUNT][2] = {
		[AMX_HOOK_EXIT] = { skel->progs.exit_btf, skel->progs.exit_raw },
		[AMX_HOOK_FORK] = { skel->progs.fork_btf, skel->progs.fork_raw },
		[AMX_HOOK_EXEC] = { skel->progs.exec_btf, skel->progs.exec_raw },
		[AMX_HOOK_OOM] = { skel->progs.oom_btf, skel->progs.oom_raw },
		[AMX_HOOK_LISTEN] = { skel->progs.listen_btf, skel->progs.listen_raw },
		[AMX_HOOK_SIGNAL] = { skel->progs.signal_btf, skel->progs.signal_raw },
	};

	for (int h = 0; h < AMX_HOOK_COUNT; h++) {
		bpf_program__set_autoload(twins[h][0], c->kind[h] == AMX_KIND_TP_BTF);
		bpf_program__set_autoload(twins[h][1], c->kind[h] == AMX_KIND_RAW_TP);
	}
	skel->rodata->oom_pid_only = c->oom_pid_only;
}

/* The choice from the running kernel's BTF. Two variables change it, for tests and for
 * working around a kernel by hand: AMEXBPF_FORCE_RAW_TP=oom,exec,... (or all) moves those
 * hooks to raw_tp; AMEXBPF_TEST_BTF=FILE decides from a raw BTF blob instead of the
 * kernel's (e.g. one whose mark_victim takes only a pid, to run the pid-only OOM record). */
static void choose_hooks(struct amx_hook_choice *c, bool verbose)
{
	const char *test_btf = getenv("AMEXBPF_TEST_BTF");
	const char *force = getenv("AMEXBPF_FORCE_RAW_TP");
	struct btf *btf = test_btf && *test_btf ? btf__parse_raw(test_btf) : btf__load_vmlinux_btf();

	if (!btf && verbose)
		fprintf(stderr, "no BTF to choose the hooks from (%s): raw_tp for every hook\n",
			strerror(errno));
	amx_hook_choose(btf, c);
	btf__free(btf);
	if (force && *force && amx_hook_force_raw(c, force) < 0)
		fprintf(stderr, "amexbpf: AMEXBPF_FORCE_RAW_TP=%s names an unknown hook (exit, fork, "
				"exec, oom, listen, signal, all): ignored\n", force);
#ifdef AMX_BPF_RAW_TP_ONLY /* defined only to exercise the fallback by hand */
	amx_hook_force_raw(c, "all");
#endif
}

/* AMEXBPF_TEST_RINGBUF_BYTES (a power of two, >= 4096; unset in production) shrinks the
 * kernel ring buffer so the fault tests can overflow it with a few dozen exits and prove
 * that events-lost and the re-scan recover what was lost. An invalid value is ignored. */
static void shrink_ring_for_tests(struct amexbpf_bpf *skel)
{
	const char *v = getenv("AMEXBPF_TEST_RINGBUF_BYTES");
	char *end;
	unsigned long n;

	if (!v || !*v)
		return;
	n = strtoul(v, &end, 10);
	if (*end || n < 4096 || n > (256u << 10) || (n & (n - 1)))
		return;
	bpf_map__set_max_entries(skel->maps.events, (__u32)n);
}

/* Open and load the chosen twins; returns the skeleton or NULL with errno-style *err. */
static struct amexbpf_bpf *open_and_load(const struct amx_hook_choice *c, int *err,
					 const char **step)
{
	struct amexbpf_bpf *skel = amexbpf_bpf__open();

	if (!skel) {
		*err = errno ? errno : EINVAL;
		*step = "open BPF object";
		return NULL;
	}
	select_twins(skel, c);
	shrink_ring_for_tests(skel);
	*err = amexbpf_bpf__load(skel);
	if (*err) {
		*err = -*err;
		*step = "load BPF programs";
		amexbpf_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

static int on_ring_sample(void *ctx, void *data, size_t size)
{
	struct amx_bpf *b = ctx;
	struct amx_event short_record;

	if (size == sizeof(struct amx_event)) {
		b->handler(b->ctx, data);
	} else if (size == AMX_EVENT_BASE_SIZE) {
		/* Most records stop before the OOM-only fields: hand over a whole struct. */
		memset(&short_record, 0, sizeof(short_record));
		memcpy(&short_record, data, AMX_EVENT_BASE_SIZE);
		b->handler(b->ctx, &short_record);
	}
	/* A record of another size means the two sides were built from different headers. */
	return 0;
}

struct amx_bpf *amx_bpf_open(bool verbose, amx_bpf_handler handler, void *ctx,
			     char *err, size_t errlen)
{
	struct amx_bpf *b;
	const char *step = "";
	int rc = 0;

	libbpf_verbose = verbose;
	libbpf_set_print(print_libbpf);

	b = calloc(1, sizeof(*b));
	if (!b) {
		snprintf(err, errlen, "failed to allocate BPF state: %s", strerror(ENOMEM));
		return NULL;
	}
	b->handler = handler;
	b->ctx = ctx;
	b->stats_fd = -1;

	choose_hooks(&b->hooks, verbose);
	b->skel = open_and_load(&b->hooks, &rc, &step);
	if (!b->skel && strstr(amx_hook_choice_summary(&b->hooks, b->attach_kind,
							sizeof(b->attach_kind)), "tp_btf")) {
		/* A tp_btf twin that the prototype admitted but the verifier refused: the
		 * raw_tp set loads on any prototype. */
		if (verbose)
			fprintf(stderr, "the chosen programs did not load (%s), trying raw_tp\n",
				strerror(rc));
		amx_hook_force_raw(&b->hooks, "all");
		b->skel = open_and_load(&b->hooks, &rc, &step);
	}
	amx_hook_choice_summary(&b->hooks, b->attach_kind, sizeof(b->attach_kind));
	if (!b->skel) {
		snprintf(err, errlen, "failed to %s: %s", step, strerror(rc));
		goto fail;
	}

	rc = amexbpf_bpf__attach(b->skel);
	if (rc) {
		snprintf(err, errlen, "failed to attach %s programs: %s", b->attach_kind,
			 strerror(-rc));
		goto fail;
	}

	b->ring = ring_buffer__new(bpf_map__fd(b->skel->maps.events), on_ring_sample, b, NULL);
	if (!b->ring) {
		snprintf(err, errlen, "failed to create ring buffer reader: %s", strerror(errno));
		goto fail;
	}
	return b;

fail:
	amx_bpf_close(b);
	return NULL;
}

void amx_bpf_close(struct amx_bpf *b)
{
	if (!b)
		return;
	ring_buffer__free(b->ring);
	amexbpf_bpf__destroy(b->skel);
	amx_bpf_set_stats(b, false);
	free(b);
}

/* Run counts and times for `status` and `top`, without touching the
 * kernel.bpf_stats_enabled sysctl: the kernel counts while this descriptor is open. The
 * switch behind it is host-wide (a static key), so while it is on every BPF program of
 * every tool on the host pays two clock reads per run: off unless asked (--bpf-stats). */
bool amx_bpf_set_stats(struct amx_bpf *b, bool on)
{
	if (on && b->stats_fd < 0)
		b->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	else if (!on && b->stats_fd >= 0) {
		close(b->stats_fd);
		b->stats_fd = -1;
	}
	return b->stats_fd >= 0;
}

int amx_bpf_epoll_fd(const struct amx_bpf *b)
{
	return ring_buffer__epoll_fd(b->ring);
}

int amx_bpf_consume(struct amx_bpf *b)
{
	return ring_buffer__consume(b->ring);
}

int amx_bpf_watch(struct amx_bpf *b, pid_t tgid, uint32_t flags, uint64_t start_boottime_ns)
{
	__u32 key = (__u32)tgid;
	struct amx_watch value = {
		.flags = flags,
		.parent_tgid = 0,
		.start_boottime_ns = start_boottime_ns,
	}, old;
	int fd = bpf_map__fd(b->skel->maps.watched);

	/* A child the kernel added at fork keeps its parent and FORKED: its exit must give
	 * its place back under its parent's cap (watched_children). */
	if (bpf_map_lookup_elem(fd, &key, &old) == 0 && (old.flags & AMX_WATCH_FORKED)) {
		value.flags |= AMX_WATCH_FORKED;
		value.parent_tgid = old.parent_tgid;
		if (!value.start_boottime_ns)
			value.start_boottime_ns = old.start_boottime_ns;
	}
	if (bpf_map_update_elem(bpf_map__fd(b->skel->maps.watched), &key, &value, BPF_ANY))
		return -errno;
	/* The kernel side's first filter (watched_hint): shared memory, set atomically. */
	__atomic_fetch_or(&b->skel->bss->watched_hint[(key / 64) % AMX_HINT_WORDS],
			  1ull << (key % 64), __ATOMIC_RELAXED);
	return 0;
}

int amx_bpf_unwatch(struct amx_bpf *b, pid_t tgid)
{
	__u32 key = (__u32)tgid;

	if (bpf_map_delete_elem(bpf_map__fd(b->skel->maps.watched), &key))
		return -errno;
	return 0;
}

int amx_bpf_watched_count(struct amx_bpf *b)
{
	int fd = bpf_map__fd(b->skel->maps.watched);
	int limit = (int)bpf_map__max_entries(b->skel->maps.watched);
	__u32 key, next;
	int count = 0;
	void *prev = NULL;

	/* A key deleted under us restarts the walk; the limit keeps that from looping. */
	while (count < limit && bpf_map_get_next_key(fd, prev, &next) == 0) {
		count++;
		key = next;
		prev = &key;
	}
	if (count < limit && errno != ENOENT)
		return -errno;
	return count;
}

uint64_t amx_bpf_lost(const struct amx_bpf *b)
{
	/* The kernel side adds to it atomically; read it the same way. */
	return __atomic_load_n(&b->skel->bss->lost_events, __ATOMIC_RELAXED);
}

void amx_bpf_set_child_cap(struct amx_bpf *b, uint32_t cap)
{
	__atomic_store_n(&b->skel->data->max_children_per_parent, cap, __ATOMIC_RELAXED);
}

uint64_t amx_bpf_unwatched_forks(const struct amx_bpf *b)
{
	return __atomic_load_n(&b->skel->bss->watch_insert_failed, __ATOMIC_RELAXED);
}

const char *amx_bpf_attach_kind(const struct amx_bpf *b)
{
	return b->attach_kind;
}

const struct amx_hook_choice *amx_bpf_hooks(const struct amx_bpf *b)
{
	return &b->hooks;
}

int amx_bpf_prog_stats(struct amx_bpf *b, struct amx_bpf_prog_stat *out, int max)
{
	struct bpf_program *prog;
	int n = 0;

	bpf_object__for_each_program(prog, b->skel->obj) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd < 0 || n == max)
			continue; /* the twin that was not loaded */
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
			continue;
		snprintf(out[n].name, sizeof(out[n].name), "%s", bpf_program__name(prog));
		out[n].run_cnt = info.run_cnt;
		out[n].run_time_ns = info.run_time_ns;
		n++;
	}
	return n;
}

struct amx_exit_status amx_decode_exit(uint32_t raw_exit_code)
{
	struct amx_exit_status s = {
		.status = (raw_exit_code >> 8) & 0xff,
		.signal = raw_exit_code & 0x7f,
		.core_dumped = (raw_exit_code & 0x80) != 0,
	};

	if (s.signal)
		s.status = 0;
	s.exit_code = s.signal ? 128 + s.signal : s.status;
	return s;
}
