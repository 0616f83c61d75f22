/* SPDX-License-Identifier: MIT */
/* Two limits on reports, pure (the caller passes the time). A token bucket: at most `burst`
 * at once, one more each `refill_ms`; what it refuses is counted, for the one report that
 * says so. A fold: counts that come in bursts (a kernel-side loss read in several pieces)
 * said once per window, with their total. */
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

/* The first count opens a window of window_ms; counts added while it is open join it; once
 * it is over its total is taken, and the next count opens a new window. */
struct amx_fold {
	uint64_t total;     /* counted in the open window; 0: no window is open */
	uint64_t opened_ms; /* when it opened */
};

/* Add n at now_ms (0 does nothing). */
void amx_fold_add(struct amx_fold *f, uint64_t n, uint64_t now_ms);
/* When the open window is over (0: none is open). */
uint64_t amx_fold_due_ms(const struct amx_fold *f, uint64_t window_ms);
/* The total of a window that is over at now_ms, or of any open one when force (the last
 * report before stopping); the window is closed, *opened_ms says when it opened. 0 when
 * there is nothing to say yet. */
uint64_t amx_fold_take(struct amx_fold *f, uint64_t window_ms, uint64_t now_ms, bool force,
		       uint64_t *opened_ms);

#endif
