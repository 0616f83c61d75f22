/* SPDX-License-Identifier: MIT */
/* The control socket: a Unix stream socket (default /run/amexbpf/amexbpf.sock), one
 * request line per connection, answers in NDJSON. The protocol (documented in README):
 *
 *   EVENTS [since=SEQ] [follow=0|1] [action=NAME]...\n
 *       Every event with event.sequence > SEQ still in the bounded history (default: all of
 *       it), one NDJSON line each, filtered by action when given; then, with follow=1 (the
 *       default), every new event as it happens. A client that falls behind its bounded
 *       queue is dropped after one last line:
 *       {"error":"slow-subscriber","missed":N}
 *   STATUS\n
 *       One JSON line, the status document below, then the server closes.
 *   anything else, an over-long line (> 4096 bytes), or a half line then silence:
 *       {"error":"<what>"} and close (a half line is dropped after 5 s).
 *
 * Status document:
 * {"version":"0.1.0","host":"vm","pid":123,"uptime_s":42,"source":"bpf","attach":"tp_btf",
 *  "events":{"sequence":17,"per_second":0.4,"lost":{"bpf":0,"inotify":0,"file":0},
 *            "subscribers":1,"subscribers_dropped":0,"history":{"count":17,"bytes":9000}},
 *  "detect_latency_us":{"p50":80,"p99":900,"samples":12,"window_s":60},
 *  "memory":{"rss_kb":9400,"heap_in_use_bytes":1400000,"heap_free_bytes":300000,
 *            "heap_arena_bytes":1700000},
 *  "bpf":{"programs":[{"name":"exit_btf","run_cnt":100,"run_time_ns":50000}],"watched":2},
 *  "homes":[{"path":"/home/u/.pm2","owner":"u",
 *            "daemon":{"pid":1000,"up":true,"state":"up","budget_left":5},
 *            "dump":{"valid":true,"problem":null,"age_s":300,"apps":1},
 *            "apps":[{"name":"demo-api","pid":1234,"status":"online","state":"alive",
 *                     "desired_online":true,"uptime_s":30,"restarts_pm2":2,
 *                     "recoveries":{"1":0,"2":1,"3":0},"rss_bytes":52000000,
 *                     "memory_limit_bytes":1073741824,
 *                     "last_exit":{"code":137,"signal":"SIGKILL","oom":false,"at":"<RFC 3339>"},
 *                     "parked":false,"budget_left":5}]}]}
 * "status" is PM2's vocabulary as amexbpf sees it: online, stopped, errored, down
 * (exited, recovery pending), launching. "state" is the policy's state name. Fields are
 * added over time, never renamed (as for events).
 */
#ifndef AMX_CONTROL_H
#define AMX_CONTROL_H

#define AMX_DEFAULT_SOCKET "/run/amexbpf/amexbpf.sock"
#define AMX_CONTROL_LINE_MAX 4096

#endif
