/* SPDX-License-Identifier: MIT */
/* The fake exit source (fake_exit_source.h): a unit test includes this file. */
#include "fake_exit_source.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/event.h"

static struct fake_exit_source *fake_of(void *ctx)
{
	return ctx;
}

static int fake_fd(void *ctx)
{
	return fake_of(ctx)->efd;
}

static void fake_forget(struct fake_exit_source *f, pid_t tgid)
{
	for (int i = 0; i < f->n_watched; i++) {
		if (f->watched[i].tgid == tgid) {
			f->watched[i] = f->watched[--f->n_watched];
			return;
		}
	}
}

static int fake_consume(void *ctx)
{
	struct fake_exit_source *f = fake_of(ctx);
	uint64_t ignored;
	int handled = 0;

	/* Events the handler pushes are handed over in this same call, after the rest. */
	while (f->taken < f->pushed) {
		struct amx_event ev = f->queue[f->taken++ % FAKE_EXIT_SOURCE_QUEUE];
		if (ev.type == AMX_EV_EXIT)
			fake_forget(f, (pid_t)ev.pid);
		f->handler(f->handler_ctx, &ev);
		handled++;
	}
	/* Now empty: no longer readable. */
	if (read(f->efd, &ignored, sizeof(ignored)) < 0 && errno != EAGAIN)
		return -errno;
	return handled;
}

static void fake_record(struct fake_exit_source *f, struct fake_watch_call call)
{
	if (f->n_calls < FAKE_EXIT_SOURCE_CALLS)
		f->calls[f->n_calls++] = call;
}

static int fake_watch(void *ctx, pid_t tgid, uint32_t flags, uint64_t start_boottime_ns)
{
	struct fake_exit_source *f = fake_of(ctx);
	struct fake_watch_call call = {
		.tgid = tgid, .flags = flags, .start_boottime_ns = start_boottime_ns,
	};

	fake_record(f, call);
	if (f->watch_rc)
		return f->watch_rc;
	fake_forget(f, tgid); /* a second watch replaces the first, as in the kernel's map */
	if (f->n_watched == FAKE_EXIT_SOURCE_WATCHED)
		return -ENOSPC;
	f->watched[f->n_watched++] = call;
	return 0;
}

static int fake_unwatch(void *ctx, pid_t tgid)
{
	struct fake_exit_source *f = fake_of(ctx);
	struct fake_watch_call call = { .unwatch = true, .tgid = tgid };

	fake_record(f, call);
	if (!fake_exit_source_watched(f, tgid))
		return -ENOENT;
	fake_forget(f, tgid);
	return 0;
}

static struct amx_exit_source_lost fake_lost(void *ctx)
{
	return fake_of(ctx)->lost;
}

static int fake_watched_count(void *ctx)
{
	return fake_of(ctx)->n_watched;
}

static const char *fake_attach_kind(void *ctx)
{
	(void)ctx;
	return "none";
}

static void fake_close(void *ctx)
{
	struct fake_exit_source *f = fake_of(ctx);

	if (f->efd >= 0)
		close(f->efd);
	f->efd = -1;
	f->closed = true;
}

int fake_exit_source_open(struct fake_exit_source *f, struct amx_exit_source *src,
			  amx_exit_source_handler handler, void *handler_ctx)
{
	memset(f, 0, sizeof(*f));
	memset(src, 0, sizeof(*src));
	f->ops = (struct amx_exit_source_ops){
		.name = "fake",
		.limits = NULL,
		.channel = "fake queue",
		.fd = fake_fd,
		.consume = fake_consume,
		.watch = fake_watch,
		.unwatch = fake_unwatch,
		.lost = fake_lost,
		.watched_count = fake_watched_count,
		.attach_kind = fake_attach_kind,
		.prog_stats = NULL,
		.close = fake_close,
	};
	f->handler = handler;
	f->handler_ctx = handler_ctx;
	f->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (f->efd < 0)
		return -errno;
	src->ops = &f->ops;
	src->ctx = f;
	return 0;
}

bool fake_exit_source_push(struct fake_exit_source *f, const struct amx_event *ev)
{
	uint64_t one = 1;

	if (f->pushed - f->taken == FAKE_EXIT_SOURCE_QUEUE)
		return false;
	f->queue[f->pushed++ % FAKE_EXIT_SOURCE_QUEUE] = *ev;
	return write(f->efd, &one, sizeof(one)) == (ssize_t)sizeof(one);
}

struct amx_event fake_exit_source_event(uint32_t type, pid_t pid, uint32_t exit_code,
					uint64_t start_boottime_ns)
{
	struct amx_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.ts_ns = amx_boot_ns();
	ev.type = type;
	ev.pid = (uint32_t)pid;
	ev.tid = (uint32_t)pid;
	ev.exit_code = exit_code;
	ev.start_boottime_ns = start_boottime_ns;
	return ev;
}

const struct fake_watch_call *fake_exit_source_watched(const struct fake_exit_source *f,
						       pid_t tgid)
{
	for (int i = 0; i < f->n_watched; i++)
		if (f->watched[i].tgid == tgid)
			return &f->watched[i];
	return NULL;
}
