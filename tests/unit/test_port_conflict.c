// SPDX-License-Identifier: MIT
/* Port conflicts: the port read from an error log's tail (hostile text), the script of a
 * cmdline, the holder's kind (core/port_conflict.c), and what the recovery policy does
 * with a conflict (core/policy.c): stop an orphan, park for another holder, say it once,
 * look again, run tier 1 once the port is free. */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "core/policy.h"
#include "core/port_conflict.h"

#define T0 1000000ull
#define IN(...) ((struct amx_input){__VA_ARGS__})
#define S(lit) (lit), sizeof(lit) - 1

TEST(node_lines_name_the_port)
{
	CHECK(amx_port_from_error_tail(S("Error: listen EADDRINUSE: address already in use :::3000\n")) == 3000);
	CHECK(amx_port_from_error_tail(S("Error: listen EADDRINUSE: address already in use 0.0.0.0:8080")) == 8080);
	CHECK(amx_port_from_error_tail(S("Error: listen EADDRINUSE: address already in use 127.0.0.1:1\r\n")) == 1);
	CHECK(amx_port_from_error_tail(S("Error: listen EADDRINUSE: address already in use [::1]:65535  \n")) == 65535);
	CHECK(amx_port_from_error_tail(S("Error: listen EADDRINUSE :::4000\n")) == 4000); /* older Node */
	CHECK(amx_port_from_error_tail(S("Error: bind EADDRINUSE 0.0.0.0:5353\n")) == 5353); /* dgram */
}

/* Node's whole report: the error line, then the stack and the error object. The last line
 * that names a port wins; the others are not an address. */
TEST(a_whole_node_report)
{
	/* Node 20.20 word for word (the port put to 3000): 21 lines follow the error. */
	const char *log =
		"node:events:502\n"
		"      throw er; // Unhandled 'error' event\n"
		"      ^\n"
		"\n"
		"Error: listen EADDRINUSE: address already in use :::3000\n"
		"    at Server.setupListenHandle [as _listen2] (node:net:1908:16)\n"
		"    at listenInCluster (node:net:1965:12)\n"
		"    at Server.listen (node:net:2067:7)\n"
		"    at [eval]:1:32\n"
		"    at runScriptInThisContext (node:internal/vm:209:10)\n"
		"    at node:internal/process/execution:118:14\n"
		"    at [eval]-wrapper:6:24\n"
		"    at runScript (node:internal/process/execution:101:62)\n"
		"    at evalScript (node:internal/process/execution:133:3)\n"
		"    at node:internal/main/eval_string:51:3\n"
		"Emitted 'error' event on Server instance at:\n"
		"    at emitErrorNT (node:net:1944:8)\n"
		"    at process.processTicksAndRejections (node:internal/process/task_queues:82:21) {\n"
		"  code: 'EADDRINUSE',\n"
		"  errno: -98,\n"
		"  syscall: 'listen',\n"
		"  address: '::',\n"
		"  port: 3000\n"
		"}\n"
		"\n"
		"Node.js v20.20.2\n";
	CHECK(amx_port_from_error_tail(log, strlen(log)) == 3000);
	/* A newer conflict after an older one: the newer port. */
	const char *two = "Error: listen EADDRINUSE: address already in use :::3000\n"
			  "Error: listen EADDRINUSE: address already in use :::3001\n";
	CHECK(amx_port_from_error_tail(two, strlen(two)) == 3001);
}

TEST(hostile_or_unrelated_text_names_no_port)
{
	CHECK(amx_port_from_error_tail(NULL, 0) == 0);
	CHECK(amx_port_from_error_tail(S("")) == 0);
	CHECK(amx_port_from_error_tail(S("\n\n\n")) == 0);
	CHECK(amx_port_from_error_tail(S("Error: listen EACCES: permission denied 0.0.0.0:80\n")) == 0);
	CHECK(amx_port_from_error_tail(S("listening on :::3000\n")) == 0);
	CHECK(amx_port_from_error_tail(S("EADDRINUSE :::0\n")) == 0);
	CHECK(amx_port_from_error_tail(S("EADDRINUSE :::65536\n")) == 0);
	CHECK(amx_port_from_error_tail(S("EADDRINUSE :::999999999999999999999\n")) == 0);
	CHECK(amx_port_from_error_tail(S("EADDRINUSE :::-3000\n")) == 0);
	CHECK(amx_port_from_error_tail(S("EADDRINUSE 3000\n")) == 0); /* no ':' before it */
	CHECK(amx_port_from_error_tail(S("EADDRINUSE :::30a0\n")) == 0);
	CHECK(amx_port_from_error_tail(S("EADDRINUSE\0:::3000\n")) == 0 ||
	      amx_port_from_error_tail(S("EADDRINUSE\0:::3000\n")) == 3000); /* a NUL: no crash */
	/* Only the last AMX_CONFLICT_LINES lines count: an old conflict far up is not news. */
	size_t n = 64 + AMX_CONFLICT_LINES * 2;
	char *buf = malloc(n + 64);
	int off = sprintf(buf, "EADDRINUSE :::3000\n");
	for (int i = 0; i < AMX_CONFLICT_LINES; i++)
		buf[off++] = 'x', buf[off++] = '\n';
	CHECK(amx_port_from_error_tail(buf, (size_t)off) == 0);
	free(buf);
	/* A huge line is cut to its first AMX_CONFLICT_LINE_MAX bytes, not scanned whole. */
	size_t big = 1 << 20;
	char *h = malloc(big);
	memset(h, 'A', big);
	memcpy(h, "EADDRINUSE ", 11);
	memcpy(h + big - 6, ":3000\n", 6);
	CHECK(amx_port_from_error_tail(h, big) == 0);
	free(h);
}

TEST(cmdline_script)
{
	char out[64];
	CHECK(amx_cmdline_script(S("node\0/srv/app/server.js\0--port\0"), out, sizeof(out)));
	CHECK_STR(out, "/srv/app/server.js");
	CHECK(amx_cmdline_script(S("node\0--max-old-space-size=64\0/srv/a.js\0"), out, sizeof(out)));
	CHECK_STR(out, "/srv/a.js");
	CHECK(!amx_cmdline_script(S("node\0--inspect\0"), out, sizeof(out)));
	CHECK(!amx_cmdline_script(S("node"), out, sizeof(out)));
	CHECK(!amx_cmdline_script(S(""), out, sizeof(out)));
	/* Too long for out: refused, never cut (a cut path could match another). */
	CHECK(!amx_cmdline_script(S("node\0/a/very/long/path/that/does/not/fit/in/sixty/four/bytes/at/all.js\0"),
				  out, sizeof(out)));
	/* PM2's process.title: one argument, padded with spaces or NULs. */
	CHECK(amx_cmdline_script(S("node /srv/app/server.js          "), out, sizeof(out)));
	CHECK_STR(out, "/srv/app/server.js");
	CHECK(amx_cmdline_script(S("node /srv/app/server.js\0\0\0\0"), out, sizeof(out)));
	CHECK_STR(out, "/srv/app/server.js");
	CHECK(amx_cmdline_script(S("node --inspect /srv/b.js"), out, sizeof(out)));
	CHECK_STR(out, "/srv/b.js");
	CHECK(!amx_cmdline_script(S("node          "), out, sizeof(out)));
	/* No final NUL: read within len only. */
	CHECK(amx_cmdline_script(S("node\0/x.js"), out, sizeof(out)));
	CHECK_STR(out, "/x.js");
}

static struct amx_holder_facts orphan_facts(void)
{
	struct amx_holder_facts f;
	memset(&f, 0, sizeof(f));
	f.pid = 4242;
	f.ppid = 1;
	f.uid = 1001;
	strcpy(f.comm, "node");
	strcpy(f.script, "/srv/app/server.js");
	strcpy(f.cwd, "/srv/app");
	strcpy(f.env_home, "/home/u/.pm2");
	strcpy(f.env_name, "api");
	strcpy(f.env_exec_path, "/srv/app/server.js");
	strcpy(f.env_cwd, "/srv/app");
	return f;
}

TEST(holder_classification)
{
	struct amx_holder_facts f = orphan_facts(), g;
	CHECK(amx_holder_classify(&f, 1001, "/home/u/.pm2", "api", 500) == AMX_HOLDER_ORPHAN);
	CHECK(amx_holder_classify(&f, 1001, "/home/u/.pm2", "api", 0) == AMX_HOLDER_ORPHAN);
	CHECK(amx_holder_classify(NULL, 1001, "/home/u/.pm2", "api", 500) == AMX_HOLDER_NONE);
	g = f; g.pid = 0;
	CHECK(amx_holder_classify(&g, 1001, "/home/u/.pm2", "api", 500) == AMX_HOLDER_NONE);
	g = f; g.pid = 500; /* the God daemon itself (cluster mode holds the port there) */
	CHECK(amx_holder_classify(&g, 1001, "/home/u/.pm2", "api", 500) == AMX_HOLDER_NONE);
	/* Each fact short of the whole: another process, never stopped. */
	g = f; g.uid = 0;
	CHECK(amx_holder_classify(&g, 1001, "/home/u/.pm2", "api", 500) == AMX_HOLDER_OTHER);
	g = f; g.ppid = 500; /* a child of the current God: PM2's own copy */
	CHECK(amx_holder_classify(&g, 1001, "/home/u/.pm2", "api", 500) == AMX_HOLDER_OTHER);
	g = f; strcpy(g.env_home, "/home/u/other-pm2");
	CHECK(amx_holder_classify(&g, 1001, "/home/u/.pm2", "api", 500) == AMX_HOLDER_OTHER);
	g = f; strcpy(g.env_name, "web");
	CHECK(amx_holder_classify(&g, 1001, "/home/u/.pm2", "api", 500) == AMX_HOLDER_OTHER);
	g = f; strcpy(g.script, "/tmp/evil.js"); /* claims to be the app, runs something else */
	CHECK(amx_holder_classify(&g, 1001, "/home/u/.pm2", "api", 500) == AMX_HOLDER_OTHER);
	g = f; strcpy(g.cwd, "/tmp");
	CHECK(amx_holder_classify(&g, 1001, "/home/u/.pm2", "api", 500) == AMX_HOLDER_OTHER);
	g = f; g.env_home[0] = g.env_name[0] = g.env_exec_path[0] = g.env_cwd[0] = '\0';
	g.script[0] = g.cwd[0] = '\0'; /* nothing known: not ours */
	CHECK(amx_holder_classify(&g, 1001, "", "", 500) == AMX_HOLDER_OTHER);
	CHECK_STR(amx_holder_kind_name(AMX_HOLDER_ORPHAN), "orphan");
	CHECK_STR(amx_holder_kind_name(AMX_HOLDER_OTHER), "other");
	CHECK_STR(amx_holder_kind_name(AMX_HOLDER_NONE), "none");
}

/* ---- the policy ---- */

static struct amx_actions feed(struct amx_app_policy *p, const struct amx_policy_config *c,
			       struct amx_input in)
{
	struct amx_actions out;
	memset(&out, 0, sizeof(out));
	amx_app_step(p, c, &in, &out);
	return out;
}

static const struct amx_action *find(const struct amx_actions *o, enum amx_action_kind kind,
				     enum amx_emit_kind emit)
{
	for (int i = 0; i < o->n; i++)
		if (o->a[i].kind == kind && (kind != AMX_ACT_EMIT || o->a[i].emit == emit))
			return &o->a[i];
	return NULL;
}

static struct amx_app_policy exited_app(const struct amx_policy_config *c)
{
	struct amx_app_policy p;
	amx_app_policy_init(&p);
	feed(&p, c, IN(.kind = AMX_IN_ALIVE, .now_ms = T0 - 5000, .pid = 100));
	feed(&p, c, IN(.kind = AMX_IN_EXITED, .now_ms = T0));
	return p;
}

TEST(policy_orphan_is_stopped_and_the_incident_goes_on)
{
	struct amx_policy_config c;
	amx_policy_config_defaults(&c);
	struct amx_app_policy p = exited_app(&c);
	struct amx_actions o = feed(&p, &c, IN(.kind = AMX_IN_PORT_CONFLICT, .now_ms = T0 + 1,
					       .port = 3000, .holder_pid = 77,
					       .holder = AMX_HOLDER_ORPHAN));
	const struct amx_action *stop = find(&o, AMX_ACT_STOP_HOLDER, 0);
	const struct amx_action *said = find(&o, AMX_ACT_EMIT, AMX_EMIT_PORT_CONFLICT);
	CHECK(stop && stop->holder_pid == 77 && stop->port == 3000);
	CHECK(said && said->holder == AMX_HOLDER_ORPHAN && said->port == 3000);
	CHECK(o.a[0].kind == AMX_ACT_STOP_HOLDER); /* stopped first: the event says whether */
	CHECK(!find(&o, AMX_ACT_EMIT, AMX_EMIT_RECOVERY_PARKED));
	CHECK(p.state == AMX_APP_WAIT_PM2); /* PM2's restart (or tier 1) goes on */
	CHECK(p.budget.n == 0);
	/* PM2 brings it back: a PM2 restart, as ever. */
	o = feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = T0 + 200, .pid = 101));
	CHECK(find(&o, AMX_ACT_EMIT, AMX_EMIT_PM2_RESTARTED_APP));
	CHECK(p.state == AMX_APP_ALIVE);
}

TEST(policy_other_holder_parks_without_spending_the_budget)
{
	struct amx_policy_config c;
	amx_policy_config_defaults(&c);
	struct amx_app_policy p = exited_app(&c);
	struct amx_actions o = feed(&p, &c, IN(.kind = AMX_IN_PORT_CONFLICT, .now_ms = T0 + 1,
					       .port = 3000, .holder_pid = 88,
					       .holder = AMX_HOLDER_OTHER));
	const struct amx_action *parked = find(&o, AMX_ACT_EMIT, AMX_EMIT_RECOVERY_PARKED);
	CHECK(find(&o, AMX_ACT_EMIT, AMX_EMIT_PORT_CONFLICT));
	CHECK(!find(&o, AMX_ACT_STOP_HOLDER, 0));
	CHECK(!find(&o, AMX_ACT_RUN_TIER, 0));
	CHECK(parked && !strcmp(parked->reason, "port-conflict") && parked->port == 3000);
	CHECK(parked && parked->ms == AMX_CONFLICT_RECHECK_MS);
	CHECK(p.state == AMX_APP_PARKED && p.conflict_parked);
	CHECK(p.budget.n == 0);

	/* PM2's own loop: the copy it starts dies the same way. Nothing is said again. */
	feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = T0 + 100, .pid = 102));
	CHECK(p.state == AMX_APP_ALIVE);
	feed(&p, &c, IN(.kind = AMX_IN_EXITED, .now_ms = T0 + 200));
	o = feed(&p, &c, IN(.kind = AMX_IN_PORT_CONFLICT, .now_ms = T0 + 201, .port = 3000,
			    .holder_pid = 88, .holder = AMX_HOLDER_OTHER));
	CHECK(o.n == 0);
	CHECK(p.state == AMX_APP_PARKED && p.conflict_parked);

	/* The status query never runs while parked; the deadline looks at the port. */
	o = feed(&p, &c, IN(.kind = AMX_IN_TICK, .now_ms = T0 + 201 + c.grace_ms));
	CHECK(o.n == 0);
	o = feed(&p, &c, IN(.kind = AMX_IN_TICK, .now_ms = T0 + 201 + AMX_CONFLICT_RECHECK_MS));
	const struct amx_action *look = find(&o, AMX_ACT_CHECK_PORT, 0);
	CHECK(look && look->port == 3000);
	CHECK(!find(&o, AMX_ACT_RUN_TIER, 0));
	/* Still held: parked on, silently. */
	o = feed(&p, &c, IN(.kind = AMX_IN_PORT_CONFLICT, .now_ms = T0 + 202 + AMX_CONFLICT_RECHECK_MS,
			    .port = 3000, .holder_pid = 88, .holder = AMX_HOLDER_OTHER));
	CHECK(o.n == 0 && p.state == AMX_APP_PARKED);
	/* Free: tier 1 at once, the first attempt spent now. */
	o = feed(&p, &c, IN(.kind = AMX_IN_PORT_CONFLICT, .now_ms = T0 + 2 * AMX_CONFLICT_RECHECK_MS,
			    .port = 3000, .holder = AMX_HOLDER_NONE));
	const struct amx_action *run = find(&o, AMX_ACT_RUN_TIER, 0);
	CHECK(run && run->tier == 1);
	CHECK(find(&o, AMX_ACT_EMIT, AMX_EMIT_RECOVERY_STARTED));
	CHECK(p.state == AMX_APP_RECOVERING && !p.conflict_parked && p.budget.n == 1);
}

/* Said again for a new holder, a new port, or once the budget window has passed. */
TEST(policy_conflict_said_again_when_it_changes)
{
	struct amx_policy_config c;
	amx_policy_config_defaults(&c);
	struct amx_app_policy p = exited_app(&c);
	feed(&p, &c, IN(.kind = AMX_IN_PORT_CONFLICT, .now_ms = T0 + 1, .port = 3000,
			.holder_pid = 88, .holder = AMX_HOLDER_OTHER));
	feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = T0 + 10, .pid = 103));
	feed(&p, &c, IN(.kind = AMX_IN_EXITED, .now_ms = T0 + 20));
	struct amx_actions o = feed(&p, &c, IN(.kind = AMX_IN_PORT_CONFLICT, .now_ms = T0 + 21,
					       .port = 3000, .holder_pid = 89,
					       .holder = AMX_HOLDER_OTHER));
	CHECK(find(&o, AMX_ACT_EMIT, AMX_EMIT_PORT_CONFLICT));
	CHECK(find(&o, AMX_ACT_EMIT, AMX_EMIT_RECOVERY_PARKED));
	feed(&p, &c, IN(.kind = AMX_IN_ALIVE, .now_ms = T0 + 30, .pid = 104));
	feed(&p, &c, IN(.kind = AMX_IN_EXITED, .now_ms = T0 + c.budget_window_ms + 40));
	o = feed(&p, &c, IN(.kind = AMX_IN_PORT_CONFLICT, .now_ms = T0 + c.budget_window_ms + 41,
			    .port = 3000, .holder_pid = 89, .holder = AMX_HOLDER_OTHER));
	CHECK(find(&o, AMX_ACT_EMIT, AMX_EMIT_PORT_CONFLICT));
}

/* Where the app is not ours to act on, a conflict does nothing; a budget park stands. */
TEST(policy_conflict_ignored_where_it_means_nothing)
{
	struct amx_policy_config c;
	amx_policy_config_defaults(&c);
	struct amx_app_policy p;
	amx_app_policy_init(&p);
	struct amx_actions o = feed(&p, &c, IN(.kind = AMX_IN_PORT_CONFLICT, .now_ms = T0,
					       .port = 3000, .holder_pid = 88,
					       .holder = AMX_HOLDER_OTHER));
	CHECK(o.n == 0 && p.state == AMX_APP_UNKNOWN);
	feed(&p, &c, IN(.kind = AMX_IN_DESIRED, .now_ms = T0, .desired_online = false));
	o = feed(&p, &c, IN(.kind = AMX_IN_PORT_CONFLICT, .now_ms = T0, .port = 3000,
			    .holder_pid = 88, .holder = AMX_HOLDER_ORPHAN));
	CHECK(o.n == 0 && p.state == AMX_APP_DESIRED_STOPPED);
	/* A free port while not parked for it: nothing. */
	p = exited_app(&c);
	o = feed(&p, &c, IN(.kind = AMX_IN_PORT_CONFLICT, .now_ms = T0 + 1, .port = 3000,
			    .holder = AMX_HOLDER_NONE));
	CHECK(o.n == 0 && p.state == AMX_APP_WAIT_PM2);
	/* Parked by the budget: the conflict is said, the park is not replaced. */
	p.state = AMX_APP_PARKED;
	p.deadline_ms = T0 + 999999;
	o = feed(&p, &c, IN(.kind = AMX_IN_PORT_CONFLICT, .now_ms = T0 + 2, .port = 3000,
			    .holder_pid = 88, .holder = AMX_HOLDER_OTHER));
	CHECK(find(&o, AMX_ACT_EMIT, AMX_EMIT_PORT_CONFLICT));
	CHECK(!find(&o, AMX_ACT_EMIT, AMX_EMIT_RECOVERY_PARKED));
	CHECK(p.deadline_ms == T0 + 999999 && !p.conflict_parked);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	RUN(node_lines_name_the_port);
	RUN(a_whole_node_report);
	RUN(hostile_or_unrelated_text_names_no_port);
	RUN(cmdline_script);
	RUN(holder_classification);
	RUN(policy_orphan_is_stopped_and_the_incident_goes_on);
	RUN(policy_other_holder_parks_without_spending_the_budget);
	RUN(policy_conflict_said_again_when_it_changes);
	RUN(policy_conflict_ignored_where_it_means_nothing);
	CHECK_DONE();
}
