// SPDX-License-Identifier: MIT
/* The report limits of core/ratelimit.h: the fold that makes one kernel-side burst of lost
 * records one events-lost (with the total), and the per-home token bucket. */
#include "check.h"
#include "core/ratelimit.h"

#define W 1000 /* the window, as AMX_LOST_FOLD_MS */

/* One burst read in three pieces (1, then 51, then 3) within the window: one total. */
TEST(a_burst_read_in_pieces_is_one_total)
{
	struct amx_fold f = { 0 };
	uint64_t opened = 0;
	CHECK(amx_fold_due_ms(&f, W) == 0);
	amx_fold_add(&f, 1, 5000);
	CHECK(amx_fold_due_ms(&f, W) == 6000);
	CHECK(amx_fold_take(&f, W, 5000, false, &opened) == 0); /* still open */
	amx_fold_add(&f, 51, 5003);
	amx_fold_add(&f, 3, 5999);
	CHECK(amx_fold_due_ms(&f, W) == 6000); /* later counts do not move the window */
	CHECK(amx_fold_take(&f, W, 5999, false, &opened) == 0);
	CHECK(amx_fold_take(&f, W, 6000, false, &opened) == 55);
	CHECK(opened == 5000);
	CHECK(amx_fold_take(&f, W, 6001, false, &opened) == 0); /* said once */
	CHECK(amx_fold_due_ms(&f, W) == 0);
}

/* A loss after the window is over opens a new one: a second, later report. */
TEST(a_later_loss_opens_a_new_window)
{
	struct amx_fold f = { 0 };
	uint64_t opened = 0;
	amx_fold_add(&f, 7, 100);
	amx_fold_add(&f, 0, 900); /* nothing lost: nothing opened or added */
	CHECK(amx_fold_take(&f, W, 1100, false, &opened) == 7 && opened == 100);
	amx_fold_add(&f, 2, 1500);
	amx_fold_add(&f, 0, 1600);
	CHECK(amx_fold_due_ms(&f, W) == 2500);
	CHECK(amx_fold_take(&f, W, 2499, false, &opened) == 0);
	CHECK(amx_fold_take(&f, W, 2500, false, &opened) == 2 && opened == 1500);
}

/* Stopping says what is pending, window over or not; a count never wraps. */
TEST(force_takes_an_open_window_and_totals_saturate)
{
	struct amx_fold f = { 0 };
	uint64_t opened = 0;
	CHECK(amx_fold_take(&f, W, 0, true, &opened) == 0);
	amx_fold_add(&f, 4, 10);
	CHECK(amx_fold_take(&f, W, 11, true, &opened) == 4 && opened == 10);
	amx_fold_add(&f, UINT64_MAX - 1, 20);
	amx_fold_add(&f, 5, 21);
	CHECK(amx_fold_take(&f, W, 20 + W, false, &opened) == UINT64_MAX);
}

/* The bucket: burst at once, one more per refill, what it refuses counted. */
TEST(bucket_lets_a_burst_then_one_per_refill)
{
	struct amx_bucket b = { 0 };
	for (int i = 0; i < 3; i++)
		CHECK(amx_bucket_take(&b, 3, 100, 1000));
	CHECK(!amx_bucket_take(&b, 3, 100, 1050));
	CHECK(!amx_bucket_take(&b, 3, 100, 1060));
	CHECK(b.suppressed == 2 && b.suppressed_since_ms == 1050);
	CHECK(amx_bucket_next_ms(&b, 3, 100) == 1100);
	CHECK(amx_bucket_take(&b, 3, 100, 1100));
	CHECK(!amx_bucket_take(&b, 3, 100, 1150));
}

int main(void)
{
	RUN(a_burst_read_in_pieces_is_one_total);
	RUN(a_later_loss_opens_a_new_window);
	RUN(force_takes_an_open_window_and_totals_saturate);
	RUN(bucket_lets_a_burst_then_one_per_refill);
	CHECK_DONE();
}
