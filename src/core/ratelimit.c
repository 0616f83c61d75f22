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
