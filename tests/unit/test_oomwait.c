// SPDX-License-Identifier: MIT
/* Holding oom-killed until its outcome is known, and the event it becomes. */
#include "check.h"
#include "core/oomwait.h"

static struct amx_event oom_record(uint32_t pid)
{
	struct amx_event kev = { 0 };

	kev.type = AMX_EV_OOM;
	kev.pid = pid;
	kev.ts_ns = 5000000000ull;
	kev.oom_fields = 1;
	kev.anon_rss_kb = 65000;
	kev.file_rss_kb = 1200;
	kev.total_vm_kb = 900000;
	kev.oom_score_adj = -100;
	snprintf(kev.comm, sizeof(kev.comm), "node");
	kev.memcg_flags = AMX_MEMCG_V1;
	snprintf(kev.memcg, sizeof(kev.memcg), "/amx-oom-42");
	return kev;
}

TEST(held_until_released_or_expired)
{
	static struct amx_oomwait w;
	struct amx_event kev = oom_record(100);

	CHECK(amx_oomwait_next_deadline(&w) == 0);
	struct amx_oom_pending *p = amx_oomwait_hold(&w, 0, "api", &kev, 1000);
	CHECK(p != NULL);
	CHECK(amx_oomwait_find(&w, 0, "api") == p);
	CHECK(amx_oomwait_find(&w, 1, "api") == NULL);
	CHECK(amx_oomwait_find(&w, 0, "web") == NULL);
	CHECK(amx_oomwait_next_deadline(&w) == 1000 + AMX_OOM_HOLD_MAX_MS);
	CHECK(amx_oomwait_expired(&w, 1000 + AMX_OOM_HOLD_MAX_MS - 1) == NULL);
	CHECK(amx_oomwait_expired(&w, 1000 + AMX_OOM_HOLD_MAX_MS) == p);
	CHECK(p->kev.pid == 100 && !strcmp(p->kev.memcg, "/amx-oom-42"));
	amx_oomwait_release(p);
	CHECK(amx_oomwait_find(&w, 0, "api") == NULL);
	CHECK(amx_oomwait_any(&w) == NULL);
}

TEST(full_table_refuses)
{
	static struct amx_oomwait w;
	struct amx_event kev = oom_record(7);
	char name[16];

	for (int i = 0; i < AMX_OOM_PENDING_MAX; i++) {
		snprintf(name, sizeof(name), "app%d", i);
		CHECK(amx_oomwait_hold(&w, 0, name, &kev, (uint64_t)i) != NULL);
	}
	CHECK(amx_oomwait_hold(&w, 0, "one-more", &kev, 0) == NULL);
	CHECK(amx_oomwait_next_deadline(&w) == AMX_OOM_HOLD_MAX_MS);
}

TEST(event_when_pm2_restarted)
{
	struct amx_event_stream s;
	struct amx_event kev = oom_record(4242);
	struct amx_oom_outcome o = { .result = AMX_OOM_PM2_RESTARTED, .new_pid = 4300, .restart_ms = 180 };

	amx_event_stream_init(&s);
	json_t *ev = amx_oom_event_new(&s, &kev, "/home/deploy/.pm2", "api", &o);
	CHECK_STR(json_string_value(amx_event_get(ev, "event.action")), "oom-killed");
	CHECK(json_integer_value(amx_event_get(ev, "process.pid")) == 4242);
	CHECK_STR(json_string_value(amx_event_get(ev, "process.name")), "node");
	CHECK(json_integer_value(amx_event_get(ev, "amexbpf.oom.anon_rss_kb")) == 65000);
	CHECK(json_integer_value(amx_event_get(ev, "amexbpf.oom.total_vm_kb")) == 900000);
	CHECK(json_integer_value(amx_event_get(ev, "amexbpf.oom.oom_score_adj")) == -100);
	CHECK_STR(json_string_value(amx_event_get(ev, "amexbpf.oom.memcg")), "/amx-oom-42");
	CHECK_STR(json_string_value(amx_event_get(ev, "amexbpf.oom.memcg_hierarchy")), "v1");
	CHECK(json_is_true(amx_event_get(ev, "amexbpf.oom.pm2_restarted")));
	CHECK(json_integer_value(amx_event_get(ev, "amexbpf.oom.pm2_restart_ms")) == 180);
	CHECK(json_integer_value(amx_event_get(ev, "amexbpf.oom.new_pid")) == 4300);
	CHECK_STR(json_string_value(amx_event_get(ev, "service.name")), "api");
	CHECK_STR(json_string_value(amx_event_get(ev, "amexbpf.pm2.home")), "/home/deploy/.pm2");
	CHECK(strstr(json_string_value(amx_event_get(ev, "message")), "PM2 restarted it in 180 ms"));
	json_decref(ev);
}

TEST(event_when_not_restarted_or_unknown)
{
	struct amx_event_stream s;
	struct amx_event kev = oom_record(9);
	struct amx_oom_outcome no = { .result = AMX_OOM_NOT_RESTARTED };
	struct amx_oom_outcome unknown = { .result = AMX_OOM_RESULT_UNKNOWN };

	amx_event_stream_init(&s);
	kev.memcg_flags = 0; /* the kernel gave no cgroup */
	json_t *ev = amx_oom_event_new(&s, &kev, "/h", "api", &no);
	CHECK(json_is_false(amx_event_get(ev, "amexbpf.oom.pm2_restarted")));
	CHECK(amx_event_get(ev, "amexbpf.oom.pm2_restart_ms") == NULL);
	CHECK(amx_event_get(ev, "amexbpf.oom.memcg") == NULL);
	json_decref(ev);

	kev.oom_fields = 0; /* an old kernel: the pid only */
	ev = amx_oom_event_new(&s, &kev, "/h", "api", &unknown);
	json_t *r = amx_event_get(ev, "amexbpf.oom");
	CHECK(json_is_null(json_object_get(r, "pm2_restarted")));
	CHECK(json_object_get(r, "anon_rss_kb") == NULL);
	CHECK(json_object_get(r, "oom_score_adj") != NULL); /* comm known: the task was read */
	json_decref(ev);

	/* The pid-only record as the kernel side writes it: pid and tid, nothing read from
	 * the task, so no oom_score_adj and no process.name either. */
	memset(&kev, 0, sizeof(kev));
	kev.type = AMX_EV_OOM;
	kev.pid = kev.tid = 4242;
	ev = amx_oom_event_new(&s, &kev, "/h", "api", &unknown);
	r = amx_event_get(ev, "amexbpf.oom");
	CHECK(json_integer_value(amx_event_get(ev, "process.pid")) == 4242);
	CHECK(amx_event_get(ev, "process.name") == NULL);
	CHECK(json_object_get(r, "oom_score_adj") == NULL && json_object_get(r, "memcg") == NULL);
	CHECK(json_is_null(json_object_get(r, "pm2_restarted")));
	json_decref(ev);
}

TEST(unterminated_memcg_is_cut)
{
	struct amx_event_stream s;
	struct amx_event kev = oom_record(9);
	struct amx_oom_outcome no = { .result = AMX_OOM_NOT_RESTARTED };

	amx_event_stream_init(&s);
	kev.memcg_flags = AMX_MEMCG_V2 | AMX_MEMCG_TRUNCATED;
	memset(kev.memcg, 'a', sizeof(kev.memcg));
	json_t *ev = amx_oom_event_new(&s, &kev, "/h", "api", &no);
	CHECK(strlen(json_string_value(amx_event_get(ev, "amexbpf.oom.memcg"))) == AMX_MEMCG_LEN - 1);
	CHECK_STR(json_string_value(amx_event_get(ev, "amexbpf.oom.memcg_hierarchy")), "v2");
	json_decref(ev);
}

int main(void)
{
	RUN(held_until_released_or_expired);
	RUN(full_table_refuses);
	RUN(event_when_pm2_restarted);
	RUN(event_when_not_restarted_or_unknown);
	RUN(unterminated_memcg_is_cut);
	CHECK_DONE();
}
