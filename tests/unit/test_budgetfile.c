/* SPDX-License-Identifier: MIT */
/* Restart budgets across restarts: what is written comes back for the same boot, by app
 * name; another boot, attempts from the future and a file that is not ours give nothing. */
#include <stdlib.h>
#include <string.h>

#include "daemon/budgetfile.h"
#include "check.h"

static void home_with(struct amx_home *h, const char *const *names, size_t n)
{
	memset(h, 0, sizeof(*h));
	h->apps = calloc(n, sizeof(*h->apps));
	h->n_apps = n;
	for (size_t i = 0; i < n; i++)
		snprintf(h->apps[i].name, sizeof(h->apps[i].name), "%s", names[i]);
}

TEST(budgets_round_trip_by_app_name)
{
	struct amx_home a, b;
	home_with(&a, (const char *[]){ "web", "worker", "idle" }, 3);
	a.pol.budget = (struct amx_budget){ .at_ms = { 1000 }, .n = 1 };
	a.apps[1].pol.budget = (struct amx_budget){ .at_ms = { 2000, 3000, 4000 }, .n = 3 };
	char *text = amx_budget_encode(&a, "boot-1");
	CHECK(text != NULL);
	/* the new run lists the apps in another order, and one more */
	home_with(&b, (const char *[]){ "new", "worker", "web" }, 3);
	CHECK(amx_budget_decode(&b, text, strlen(text), "boot-1", 5000) == 4);
	CHECK(b.pol.budget.n == 1 && b.pol.budget.at_ms[0] == 1000);
	CHECK(b.apps[1].pol.budget.n == 3 && b.apps[1].pol.budget.at_ms[2] == 4000);
	CHECK(b.apps[0].pol.budget.n == 0 && b.apps[2].pol.budget.n == 0);
	free(b.apps);

	/* another boot: the boot clock started again, nothing counts */
	home_with(&b, (const char *[]){ "worker" }, 1);
	CHECK(amx_budget_decode(&b, text, strlen(text), "boot-2", 5000) == 0);
	CHECK(b.apps[0].pol.budget.n == 0 && b.pol.budget.n == 0);
	/* attempts later than now are not of this boot's clock: dropped */
	CHECK(amx_budget_decode(&b, text, strlen(text), "boot-1", 3500) == 3);
	CHECK(b.apps[0].pol.budget.n == 2 && b.apps[0].pol.budget.at_ms[1] == 3000);
	free(b.apps);
	free(a.apps);
	free(text);
}

TEST(a_file_that_is_not_ours_gives_nothing)
{
	struct amx_home h;
	home_with(&h, (const char *[]){ "web" }, 1);
	static const char *const bad[] = {
		"", "[]", "{", "{\"boot_id\":1}", "garbage",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(amx_budget_decode(&h, bad[i], strlen(bad[i]), "b", 100) == -1);
	/* wrong types, negative, unordered and too many entries are skipped one by one */
	const char *odd = "{\"boot_id\":\"b\",\"daemon\":\"x\",\"apps\":{\"web\":[5,\"7\",-1,3,9,"
			  "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,"
			  "29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,"
			  "54,55,56,57,58,59,60,61,62,63,64,65,66,67,68,69,70]}}";
	CHECK(amx_budget_decode(&h, odd, strlen(odd), "b", 9) == 3);   /* 5, 9, 9 */
	CHECK(h.apps[0].pol.budget.n == 3 && h.apps[0].pol.budget.at_ms[1] == 9);
	CHECK(h.pol.budget.n == 0);
	CHECK(amx_budget_decode(&h, odd, strlen(odd), "b", 100) == AMX_BUDGET_MAX);
	free(h.apps);
}

int main(void)
{
	RUN(budgets_round_trip_by_app_name);
	RUN(a_file_that_is_not_ours_gives_nothing);
	CHECK_DONE();
}
