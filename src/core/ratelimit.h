/* SPDX-License-Identifier: MIT */
/* A token bucket, pure (the caller passes the time): at most `burst` at once, one more each
 * `refill_ms`. What it refuses is counted, for the one report that says so. */
#ifndef AMX_RATELIMIT_H
#define AMX_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct amx_bucket {
	uint32_t tokens;
	uint64_t last_ms;       /* when tokens were last topped up */
	uint64_t suppressed;    /* refused since the last report */
	uint64_t suppressed_since_ms;
	bool started;
};

/* Take a token at now_ms: true when one was there; false counts one suppressed. */
bool amx_bucket_take(struct amx_bucket *b, uint32_t burst, uint64_t refill_ms, uint64_t now_ms);
/* Whether a token is there at now_ms (topped up first), without taking it. */
bool amx_bucket_ready(struct amx_bucket *b, uint32_t burst, uint64_t refill_ms, uint64_t now_ms);
/* When the next token comes (0: the bucket is full or refill_ms is 0). */
uint64_t amx_bucket_next_ms(const struct amx_bucket *b, uint32_t burst, uint64_t refill_ms);

#endif
