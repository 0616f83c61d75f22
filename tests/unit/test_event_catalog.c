/* SPDX-License-Identifier: MIT */
/* The event catalogue (core/event_catalog.h): every entry well formed, one entry per
 * action, the level rule of amx_event_new_level, and the catalogue and docs/events.md
 * naming the same actions (once that file is in the tree; tests run from the repo root). */
#include "check.h"
#include "core/event.h"
#include "core/event_catalog.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVENTS_DOC "docs/events.md"

static bool one_of(const char *s, const char *const *set)
{
	for (; *set; set++)
		if (!strcmp(s, *set))
			return true;
	return false;
}

/* Each item of a comma-separated list is in set, and there is at least one. */
static bool list_of(const char *list, const char *const *set)
{
	char buf[128];
	if (!list || !*list || strlen(list) >= sizeof(buf))
		return false;
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *save = NULL, *item = strtok_r(buf, ",", &save); item;
	     item = strtok_r(NULL, ",", &save))
		if (!one_of(item, set))
			return false;
	return true;
}

static const char *const KINDS[] = { "event", "alert", NULL };
static const char *const CATEGORIES[] = { "process", "host", "configuration", "file", NULL };
static const char *const TYPES[] = { "start", "end", "change", "info", "error", NULL };

TEST(every_entry_is_well_formed)
{
	CHECK(amx_event_catalog_count() == AMX_EVT_COUNT);
	for (size_t i = 0; i < amx_event_catalog_count(); i++) {
		const struct amx_event_info *c = amx_event_catalog_at(i);
		CHECK(c != NULL);
		if (!c)
			continue;
		CHECK(c->id == (enum amx_event_id)i);
		CHECK(amx_event_catalog((enum amx_event_id)i) == c);
		CHECK(c->action && c->action[0]);
		CHECK(amx_level_rank(c->level) >= 0);
		CHECK(c->kind && one_of(c->kind, KINDS));
		CHECK(list_of(c->category, CATEGORIES));
		CHECK(list_of(c->type, TYPES));
		CHECK(!c->level_varies || c->level_varies[0]);
		if (check_current_failed) {
			printf("  entry %zu (%s)\n", i, c->action ? c->action : "?");
			return;
		}
	}
	CHECK(amx_event_catalog_at(AMX_EVT_COUNT) == NULL);
	CHECK(amx_event_catalog(AMX_EVT_COUNT) == NULL);
}

TEST(actions_are_unique)
{
	for (size_t i = 0; i < amx_event_catalog_count(); i++)
		for (size_t j = i + 1; j < amx_event_catalog_count(); j++)
			CHECK(strcmp(amx_event_catalog_at(i)->action,
				     amx_event_catalog_at(j)->action) != 0);
	CHECK(amx_event_catalog_find("oom-killed") == amx_event_catalog(AMX_EVT_OOM_KILLED));
	CHECK(amx_event_catalog_find("no-such-action") == NULL);
}

static const char *level_of(json_t *ev)
{
	return json_string_value(amx_event_get(ev, "log.level"));
}

TEST(level_is_given_only_where_it_varies)
{
	struct amx_event_stream s;
	amx_event_stream_init(&s);
	json_t *ev = amx_event_new(&s, AMX_EVT_PROCESS_EXITED, 0, "x");
	CHECK_STR(level_of(ev), "error");
	json_decref(ev);
	ev = amx_event_new_level(&s, AMX_EVT_PROCESS_EXITED, "warn", 0, "x");
	CHECK_STR(level_of(ev), "warn");
	CHECK_STR(json_string_value(amx_event_get(ev, "event.action")), "process-exited");
	json_decref(ev);
	/* monitor-started's level does not vary: a level at the call is ignored */
	CHECK(amx_event_catalog(AMX_EVT_MONITOR_STARTED)->level_varies == NULL);
	ev = amx_event_new_level(&s, AMX_EVT_MONITOR_STARTED, "critical", 0, "x");
	CHECK_STR(level_of(ev), "info");
	json_decref(ev);
	ev = amx_event_new_level(&s, AMX_EVT_CONFIG_RELOADED, NULL, 0, "x");
	CHECK_STR(level_of(ev), "info");
	json_decref(ev);
	CHECK(amx_event_new(&s, AMX_EVT_COUNT, 0, "x") == NULL);
	CHECK(s.next_seq == 5); /* four events, no number taken by the refused one */
}

/* The rows of the "## Actions" table of docs/events.md, below its header: "| `action` |". */
static int doc_actions(const char *text, char out[][64], int max)
{
	const char *p = strstr(text, "\n## Actions");
	const char *end = p ? strstr(p + 1, "\n## ") : NULL;
	p = p ? strstr(p, "\n|---") : NULL;
	int n = 0;
	while (p && (!end || p < end) && (p = strstr(p, "\n| `")) && (!end || p < end)) {
		p += 4;
		const char *q = strchr(p, '`');
		if (!q || q - p >= 64 || n >= max)
			break;
		snprintf(out[n++], 64, "%.*s", (int)(q - p), p);
	}
	return n;
}

TEST(catalogue_and_events_doc_name_the_same_actions)
{
	FILE *f = fopen(EVENTS_DOC, "r");
	if (!f) {
		printf("note: %s is not in this tree; the catalogue is not compared with it\n",
		       EVENTS_DOC);
		return;
	}
	static char text[1 << 20];
	size_t len = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[len] = '\0';
	char documented[128][64];
	int n = doc_actions(text, documented, 128);
	CHECK(n > 0);
	for (size_t i = 0; i < amx_event_catalog_count(); i++) {
		const char *action = amx_event_catalog_at(i)->action;
		bool found = false;
		for (int j = 0; j < n; j++)
			found |= !strcmp(documented[j], action);
		if (!found)
			printf("  %s: not in the actions table of %s\n", action, EVENTS_DOC);
		CHECK(found);
	}
	for (int j = 0; j < n; j++) {
		bool known = amx_event_catalog_find(documented[j]) != NULL;
		if (!known)
			printf("  %s: documented in %s, not in the catalogue\n", documented[j],
			       EVENTS_DOC);
		CHECK(known);
	}
}

int main(void)
{
	RUN(every_entry_is_well_formed);
	RUN(actions_are_unique);
	RUN(level_is_given_only_where_it_varies);
	RUN(catalogue_and_events_doc_name_the_same_actions);
	CHECK_DONE();
}
