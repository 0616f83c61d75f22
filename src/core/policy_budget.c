/* SPDX-License-Identifier: MIT */
/* The restart budget and the backoff before an attempt: arithmetic both recovery machines
 * of policy.c share, pure like them. */
#include "core/policy_budget.h"

#include <string.h>

/* ---- the restart budget ---- */

/* The ring cannot remember more than AMX_BUDGET_MAX attempts; a larger limit would never be
 * reached and so would mean no limit at all. */
static unsigned budget_limit(const struct amx_policy_config *c)
{
	return c->budget_attempts < AMX_BUDGET_MAX ? c->budget_attempts : AMX_BUDGET_MAX;
}

/* A time stamp from the future (a caller's clock mix-up) counts as inside the window. */
static bool budget_in_window(uint64_t at_ms, uint64_t window_ms, uint64_t now_ms)
{
	return now_ms < at_ms || now_ms - at_ms < window_ms;
}

static void budget_drop_oldest(struct amx_budget *b, unsigned count)
{
	if (count > b->n)
		count = b->n;
	memmove(b->at_ms, b->at_ms + count, (b->n - count) * sizeof(b->at_ms[0]));
	b->n -= count;
}

static void budget_prune(struct amx_budget *b, const struct amx_policy_config *c, uint64_t now_ms)
{
	unsigned expired = 0;

	while (expired < b->n && !budget_in_window(b->at_ms[expired], c->budget_window_ms, now_ms))
		expired++;
	budget_drop_oldest(b, expired);
}

unsigned amx_budget_left(const struct amx_budget *b, const struct amx_policy_config *c, uint64_t now_ms)
{
	unsigned used = 0, limit = budget_limit(c);

	for (unsigned i = 0; i < b->n && i < AMX_BUDGET_MAX; i++)
		if (budget_in_window(b->at_ms[i], c->budget_window_ms, now_ms))
			used++;
	return used >= limit ? 0 : limit - used;
}

/* Is the budget spent at now_ms? If so, *lift_at_ms is when the next slot frees up. */
bool amx_budget_spent(struct amx_budget *b, const struct amx_policy_config *c, uint64_t now_ms,
			 uint64_t *lift_at_ms)
{
	unsigned limit = budget_limit(c);

	budget_prune(b, c, now_ms);
	if (b->n < limit)
		return false;
	if (limit == 0) /* "at most 0 attempts": look again every window */
		*lift_at_ms = now_ms + c->budget_window_ms;
	else /* the slot frees when the entry that keeps n at the limit leaves the window */
		*lift_at_ms = b->at_ms[b->n - limit] + c->budget_window_ms;
	if (*lift_at_ms <= now_ms)
		*lift_at_ms = now_ms + 1;
	return true;
}

void amx_budget_record(struct amx_budget *b, const struct amx_policy_config *c, uint64_t now_ms)
{
	budget_prune(b, c, now_ms);
	if (b->n >= AMX_BUDGET_MAX)
		budget_drop_oldest(b, 1);
	b->at_ms[b->n++] = now_ms;
}

/* A deferred tier (no command slot) was not an attempt: the entry it took goes back. */
void amx_budget_refund(struct amx_budget *b, uint64_t at_ms)
{
	if (b->n && b->at_ms[b->n - 1] == at_ms)
		b->n--;
}

/* ---- backoff ---- */

/* The wait before attempt number `attempt` of an incident: none for the first, then
 * base * 2^(attempt-2) capped at max, with +-20 % jitter so that apps failing together do not
 * retry in lockstep. The jittered value is capped too: backoff_max_ms is a promise. */
uint64_t amx_backoff_before_attempt(const struct amx_policy_config *c, int attempt, uint32_t rand)
{
	uint64_t ms = c->backoff_base_ms, percent = 80 + rand % 41;

	if (attempt <= 1)
		return 0;
	for (int k = 2; k < attempt && ms > 0 && ms < c->backoff_max_ms; k++)
		ms = ms > UINT64_MAX / 2 ? UINT64_MAX : ms * 2;
	if (ms > c->backoff_max_ms)
		ms = c->backoff_max_ms;
	ms = ms > UINT64_MAX / 120 ? ms / 100 * percent : ms * percent / 100;
	return ms > c->backoff_max_ms ? c->backoff_max_ms : ms;
}

/* ---- actions ---- */

