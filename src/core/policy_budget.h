/* SPDX-License-Identifier: MIT */
/* The restart budget (attempts in a sliding window) and the backoff between attempts, shared
 * by the app and home machines of policy.c. Pure: the clock and the jitter are arguments. */
#ifndef AMX_POLICY_BUDGET_H
#define AMX_POLICY_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

#include "core/policy.h"

/* Whether the budget is spent at now_ms (then *lift_at_ms: when an attempt frees up). */
bool amx_budget_spent(struct amx_budget *b, const struct amx_policy_config *c, uint64_t now_ms, uint64_t *lift_at_ms);
void amx_budget_record(struct amx_budget *b, const struct amx_policy_config *c, uint64_t now_ms);
void amx_budget_refund(struct amx_budget *b, uint64_t at_ms);
uint64_t amx_backoff_before_attempt(const struct amx_policy_config *c, int attempt, uint32_t rand);

#endif
