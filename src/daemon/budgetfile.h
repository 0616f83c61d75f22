/* SPDX-License-Identifier: MIT */
/* Restart budgets kept across restarts of amexbpf: a restarted daemon must not get a spent
 * budget back, or a crash loop would cost N more attempts after every restart. Each home's
 * file in the state directory holds the attempt times of its daemon and of each app, on
 * the boot clock (CLOCK_BOOTTIME, the policy's clock), with the kernel's boot_id: after a
 * reboot the clock starts again and the file is ignored (a reboot renews the budgets). */
#ifndef AMX_BUDGETFILE_H
#define AMX_BUDGETFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/home.h"

/* The file's text for home h (malloc'd), or NULL. */
char *amx_budget_encode(const struct amx_home *h, const char *boot_id);
/* Put the budgets of text back into h (its daemon's, and each app's found by name); attempts
 * later than now_ms are dropped (not this boot's). Returns how many attempts were loaded, 0
 * for another boot_id, or -1 when text is not such a file. */
int amx_budget_decode(struct amx_home *h, const char *text, size_t len, const char *boot_id,
		      uint64_t now_ms);

/* This boot's id (/proc/sys/kernel/random/boot_id), or "" when unreadable. */
const char *amx_boot_id(void);
/* Write h's budgets to h->budget_file (atomically); load them from it at start-up. */
void amx_budget_save(const struct amx_home *h);
int amx_budget_load(struct amx_home *h, uint64_t now_ms);

#endif
