// SPDX-License-Identifier: MIT
/* The exit-source interface: choosing BPF or the process connector, and one adapter for
 * each, so that the code that acts on events never branches on which one it has. */
#include "sources/exit_source.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sources/procconn.h"

/* ---------------------------------------------------------------- BPF */

static int bpf_fd(void *ctx)
{
	return amx_bpf_epoll_fd(ctx);
}

static int bpf_consume(void *ctx)
{
	return amx_bpf_consume(ctx);
}

static int bpf_watch(void *ctx, pid_t tgid, uint32_t flags, uint64_t start_boottime_ns)
{
	return amx_bpf_watch(ctx, tgid, flags, start_boottime_ns);
}

static int bpf_unwatch(void *ctx, pid_t tgid)
{
	return amx_bpf_unwatch(ctx, tgid);
}

static struct amx_exit_source_lost bpf_lost(void *ctx)
{
	return (struct amx_exit_source_lost){
		.overflow = amx_bpf_lost(ctx),
		.unwatched_forks = amx_bpf_unwatched_forks(ctx),
	};
}

static int bpf_watched_count(void *ctx)
{
	return amx_bpf_watched_count(ctx);
}

static const char *bpf_attach_kind(void *ctx)
{
	return amx_bpf_attach_kind(ctx);
}

static int bpf_prog_stats(void *ctx, struct amx_bpf_prog_stat *out, int max)
{
	return amx_bpf_prog_stats(ctx, out, max);
}

static bool bpf_set_stats(void *ctx, bool on)
{
	return amx_bpf_set_stats(ctx, on);
}

static void bpf_close(void *ctx)
{
	amx_bpf_close(ctx);
}

static const struct amx_exit_source_ops bpf_ops = {
	.name = "bpf",
	.limits = NULL,
	.channel = "kernel ring buffer",
	.fd = bpf_fd,
	.consume = bpf_consume,
	.watch = bpf_watch,
	.unwatch = bpf_unwatch,
	.lost = bpf_lost,
	.watched_count = bpf_watched_count,
	.attach_kind = bpf_attach_kind,
	.prog_stats = bpf_prog_stats,
	.set_stats = bpf_set_stats,
	.close = bpf_close,
};

/* ---------------------------------------------------------------- the process connector */

static int connector_fd(void *ctx)
{
	return amx_procconn_epoll_fd(ctx);
}

static int connector_consume(void *ctx)
{
	return amx_procconn_consume(ctx);
}

static int connector_watch(void *ctx, pid_t tgid, uint32_t flags, uint64_t start_boottime_ns)
{
	return amx_procconn_watch(ctx, tgid, flags, start_boottime_ns);
}

static int connector_unwatch(void *ctx, pid_t tgid)
{
	return amx_procconn_unwatch(ctx, tgid);
}

static struct amx_exit_source_lost connector_lost(void *ctx)
{
	return (struct amx_exit_source_lost){
		.overflow = amx_procconn_lost(ctx),
		.unwatched_forks = amx_procconn_unwatched_forks(ctx),
	};
}

static int connector_watched_count(void *ctx)
{
	return amx_procconn_watched_count(ctx);
}

static const char *connector_attach_kind(void *ctx)
{
	(void)ctx;
	return "none"; /* nothing is attached to the kernel: it sends to every listener */
}

static void connector_close(void *ctx)
{
	amx_procconn_close(ctx);
}

static const struct amx_exit_source_ops connector_ops = {
	.name = AMX_PROCCONN_SOURCE,
	.limits = AMX_PROCCONN_LOST,
	.channel = "process connector socket",
	.fd = connector_fd,
	.consume = connector_consume,
	.watch = connector_watch,
	.unwatch = connector_unwatch,
	.lost = connector_lost,
	.watched_count = connector_watched_count,
	.attach_kind = connector_attach_kind,
	.prog_stats = NULL,
	.close = connector_close,
};

/* ---------------------------------------------------------------- choosing one */

/* BPF, with why not in why when it cannot be had. 0 or -1. */
static int open_bpf(struct amx_exit_source *src, const struct amx_exit_source_want *want,
		    char *why, size_t whylen)
{
	/* CO-RE relocates against the kernel's BTF: without it nothing would load, and
	 * libbpf's message would not say why as plainly. */
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		snprintf(why, whylen, "this kernel has no BTF (/sys/kernel/btf/vmlinux)");
		return -1;
	}
	struct amx_bpf *b = amx_bpf_open(want->verbose, want->handler, want->handler_ctx, why,
					 whylen);
	if (!b)
		return -1;
	src->ops = &bpf_ops;
	src->ctx = b;
	amx_bpf_set_stats(b, want->bpf_stats);
	return 0;
}

int amx_exit_source_open(struct amx_exit_source *src, const struct amx_exit_source_want *want,
			 char *err, size_t errlen)
{
	memset(src, 0, sizeof(*src));
	if (want->mode == AMX_BPF_OFF) {
		/* `bpf = off` in the config file is the same choice, and said the same way. */
		snprintf(src->why_not_bpf, sizeof(src->why_not_bpf), "--no-bpf");
	} else if (open_bpf(src, want, src->why_not_bpf, sizeof(src->why_not_bpf)) == 0) {
		return 0;
	} else if (want->mode == AMX_BPF_REQUIRED) {
		snprintf(err, errlen, "%s", src->why_not_bpf);
		memset(src, 0, sizeof(*src));
		return -1;
	}

	char pcerr[256];
	struct amx_procconn *pc = amx_procconn_open(want->handler, want->handler_ctx, pcerr,
						    sizeof(pcerr));
	if (!pc) {
		snprintf(err, errlen, "no BPF (%s), and %s", src->why_not_bpf, pcerr);
		memset(src, 0, sizeof(*src));
		return -1;
	}
	src->ops = &connector_ops;
	src->ctx = pc;
	return 0;
}

void amx_exit_source_close(struct amx_exit_source *src)
{
	if (src->ops)
		src->ops->close(src->ctx);
	memset(src, 0, sizeof(*src));
}

/* ---------------------------------------------------------------- the calls */

int amx_exit_source_fd(const struct amx_exit_source *src)
{
	return src->ops ? src->ops->fd(src->ctx) : -1;
}

int amx_exit_source_consume(const struct amx_exit_source *src)
{
	return src->ops ? src->ops->consume(src->ctx) : 0;
}

int amx_exit_source_watch(const struct amx_exit_source *src, pid_t tgid, uint32_t flags,
			  uint64_t start_boottime_ns)
{
	return src->ops ? src->ops->watch(src->ctx, tgid, flags, start_boottime_ns) : -ENODEV;
}

int amx_exit_source_unwatch(const struct amx_exit_source *src, pid_t tgid)
{
	return src->ops ? src->ops->unwatch(src->ctx, tgid) : -ENOENT;
}

struct amx_exit_source_lost amx_exit_source_lost(const struct amx_exit_source *src)
{
	return src->ops ? src->ops->lost(src->ctx) : (struct amx_exit_source_lost){ 0 };
}

int amx_exit_source_watched_count(const struct amx_exit_source *src)
{
	return src->ops ? src->ops->watched_count(src->ctx) : 0;
}

const char *amx_exit_source_name(const struct amx_exit_source *src)
{
	return src->ops ? src->ops->name : "none";
}

const char *amx_exit_source_limits(const struct amx_exit_source *src)
{
	return src->ops ? src->ops->limits : NULL;
}

const char *amx_exit_source_channel(const struct amx_exit_source *src)
{
	return src->ops ? src->ops->channel : "none";
}

const char *amx_exit_source_attach_kind(const struct amx_exit_source *src)
{
	return src->ops ? src->ops->attach_kind(src->ctx) : "none";
}

bool amx_exit_source_set_stats(const struct amx_exit_source *src, bool on)
{
	return src->ops && src->ops->set_stats ? src->ops->set_stats(src->ctx, on) : false;
}

int amx_exit_source_prog_stats(const struct amx_exit_source *src, struct amx_bpf_prog_stat *out,
			       int max)
{
	return src->ops && src->ops->prog_stats ? src->ops->prog_stats(src->ctx, out, max) : 0;
}
