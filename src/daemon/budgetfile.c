/* SPDX-License-Identifier: MIT */
/* Restart budgets across restarts: {"boot_id":"...","daemon":[ms,...],"apps":{"name":[ms,...]}}
 * with boot-clock milliseconds, written atomically to the state directory (root's, 0600). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/budgetfile.h"
#include "sys/statewriter.h"
#include "sys/userfile.h"

static json_t *attempts_json(const struct amx_budget *b)
{
	json_t *arr = json_array();
	for (unsigned i = 0; i < b->n && i < AMX_BUDGET_MAX; i++)
		json_array_append_new(arr, json_integer((json_int_t)b->at_ms[i]));
	return arr;
}

char *amx_budget_encode(const struct amx_home *h, const char *boot_id)
{
	json_t *apps = json_object();
	for (size_t i = 0; i < h->n_apps; i++)
		if (h->apps[i].pol.budget.n)
			json_object_set_new(apps, h->apps[i].name, attempts_json(&h->apps[i].pol.budget));
	json_t *doc = json_pack("{s:i,s:s,s:o,s:o}", "version", 1, "boot_id", boot_id, "daemon",
				attempts_json(&h->pol.budget), "apps", apps);
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	return text;
}

/* Only well-formed attempts of this boot, oldest first, as the policy keeps them. */
static int attempts_from(const json_t *arr, struct amx_budget *b, uint64_t now_ms)
{
	size_t i;
	const json_t *v;
	struct amx_budget got = { .n = 0 };
	if (!json_is_array(arr))
		return 0;
	json_array_foreach(arr, i, v) {
		json_int_t at = json_integer_value(v);
		if (!json_is_integer(v) || at <= 0 || (uint64_t)at > now_ms || got.n == AMX_BUDGET_MAX)
			continue;
		if (got.n && (uint64_t)at < got.at_ms[got.n - 1])
			continue;
		got.at_ms[got.n++] = (uint64_t)at;
	}
	*b = got;
	return (int)got.n;
}

int amx_budget_decode(struct amx_home *h, const char *text, size_t len, const char *boot_id,
		      uint64_t now_ms)
{
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	const char *id = json_string_value(json_object_get(doc, "boot_id"));
	if (!json_is_object(doc) || !id) {
		json_decref(doc);
		return -1;
	}
	int n = 0;
	if (boot_id[0] && !strcmp(id, boot_id)) {
		n += attempts_from(json_object_get(doc, "daemon"), &h->pol.budget, now_ms);
		const json_t *apps = json_object_get(doc, "apps");
		for (size_t i = 0; i < h->n_apps; i++)
			n += attempts_from(json_object_get(apps, h->apps[i].name), &h->apps[i].pol.budget,
					   now_ms);
	}
	json_decref(doc);
	return n;
}

const char *amx_boot_id(void)
{
	static char id[64];
	if (!id[0]) {
		FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
		if (f) {
			if (fgets(id, sizeof(id), f))
				id[strcspn(id, "\n")] = '\0';
			fclose(f);
		}
	}
	return id;
}

void amx_budget_save(const struct amx_home *h)
{
	char *text = amx_budget_encode(h, amx_boot_id());
	/* At once, not through the writer thread: the attempt must be on disk before its
	 * command starts, or an amexbpf that dies in a loop would not spend its budget. One
	 * fsync per attempt, each followed by a fork and exec of pm2 anyway. */
	if (text && amx_statefile_write(h->budget_file, text, strlen(text)) < 0)
		fprintf(stderr, "amexbpf: failed to write %s: the restart budgets may be renewed "
				"by a restart\n", h->budget_file);
	free(text);
}

int amx_budget_load(struct amx_home *h, uint64_t now_ms)
{
	char *text = NULL;
	size_t len = 0;
	if (amx_statefile_get(h->budget_file, 1 << 20, &text, &len) < 0)
		return 0;
	int n = amx_budget_decode(h, text, len, amx_boot_id(), now_ms);
	free(text);
	if (n < 0)
		fprintf(stderr, "amexbpf: %s is not a budget file: ignored\n", h->budget_file);
	return n;
}
