/* SPDX-License-Identifier: MIT */
#include "core/ratelimit.h"

static void top_up(struct amx_bucket *b, uint32_t burst, uint64_t refill_ms, uint64_t now_ms)
{
	if (!b->started) {
		b->started = true;
		b->tokens = burst;
		b->last_ms = now_ms;
		return;
	}
	if (now_ms <= b->last_ms || !refill_ms)
		return;
	uint64_t add = (now_ms - b->last_ms) / refill_ms;
	if (add == 0)
		return;
	if (add >= burst || b->tokens + add >= burst) {
		b->tokens = burst;
		b->last_ms = now_ms;
	} else {
		b->tokens += (uint32_t)add;
		b->last_ms += add * refill_ms;
	}
}

bool amx_bucket_ready(struct amx_bucket *b, uint32_t burst, uint64_t refill_ms, uint64_t now_ms)
{
	top_up(b, burst, refill_ms, now_ms);
	return b->tokens > 0;
}

bool amx_bucket_take(struct amx_bucket *b, uint32_t burst, uint64_t refill_ms, uint64_t now_ms)
{
	if (amx_bucket_ready(b, burst, refill_ms, now_ms)) {
		if (b->tokens == burst)
			b->last_ms = now_ms; /* a full bucket refills from its first take */
		b->tokens--;
		return true;
	}
	if (!b->suppressed)
		b->suppressed_since_ms = now_ms;
	b->suppressed++;
	return false;
}

uint64_t amx_bucket_next_ms(const struct amx_bucket *b, uint32_t burst, uint64_t refill_ms)
{
	if (!b->started || b->tokens >= burst || !refill_ms)
		return 0;
	return b->last_ms + refill_ms;
}

void amx_fold_add(struct amx_fold *f, uint64_t n, uint64_t now_ms)
{
	if (!n)
		return;
	if (!f->total)
		f->opened_ms = now_ms;
	f->total = f->total + n < f->total ? UINT64_MAX : f->total + n;
}

uint64_t amx_fold_due_ms(const struct amx_fold *f, uint64_t window_ms)
{
	return f->total ? f->opened_ms + window_ms : 0;
}

uint64_t amx_fold_take(struct amx_fold *f, uint64_t window_ms, uint64_t now_ms, bool force,
		       uint64_t *opened_ms)
{
	if (!f->total || (!force && now_ms < f->opened_ms + window_ms))
		return 0;
	uint64_t n = f->total;
	*opened_ms = f->opened_ms;
	f->total = 0;
	return n;
}
