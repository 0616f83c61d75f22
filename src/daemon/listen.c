/* SPDX-License-Identifier: MIT */
/* The TCP ports an app listens on, and whether a recovered app serves on them again.
 *
 * With BPF the kernel says when a watched process puts a socket in LISTEN (AMX_EV_LISTEN,
 * the inet_sock_set_state hook). Without it, the socket tables are read from /proc
 * (sys/socket_table.h) for a new pid every LISTEN_POLL_MS until --verify-timeout after
 * its appearance: the same facts, found up to LISTEN_POLL_MS late. In both modes a pid is
 * looked at once when it is first seen, so an app that listened before amexbpf started,
 * or before its pid was watched, is known too.
 *
 * The ports an app must listen on again are those of its last life that listened (set at
 * an instance's exit), less the kernel's ephemeral range: a port the kernel picked (bind
 * to port 0) differs from one life to the next, and asking for it again would fail every
 * recovery. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include "daemon/engine.h"
#include "sys/loop.h"
#include "sys/proc.h"
#include "sys/socket_table.h"

#define LISTEN_POLL_MS 200

/* The kernel's ephemeral port range, read once; 0-0 when unknown (nothing left out). */
void eng_listen_init(struct amx_engine *e)
{
	char path[128];
	FILE *f;
	unsigned lo = 0, hi = 0;

	snprintf(path, sizeof(path), "%s/sys/net/ipv4/ip_local_port_range", amx_procdir);
	f = fopen(path, "re");
	if (f) {
		if (fscanf(f, "%u %u", &lo, &hi) != 2 || lo > hi || hi > 65535)
			lo = hi = 0;
		fclose(f);
	}
	e->ephemeral_lo = (uint16_t)lo;
	e->ephemeral_hi = (uint16_t)hi;
}

static bool ephemeral(const struct amx_engine *e, uint16_t port)
{
	return e->ephemeral_hi && port >= e->ephemeral_lo && port <= e->ephemeral_hi;
}

static bool bpf_source(const struct amx_engine *e)
{
	return strcmp(amx_exit_source_name(&e->src), "bpf") == 0;
}

/* A new pid for the instance: what the old one listened on is forgotten (it stays in the
 * app's want_ports). */
void eng_listen_new_pid(struct amx_engine *e, struct amx_instance *in)
{
	in->n_ports = 0;
	in->listen_poll_until_ms = bpf_source(e) ? 0 : eng_now_ms(e) + e->cfg.verify_ms;
}

/* The instance's process is gone: if this life listened, its ports (and the other
 * instances') are what the next life must listen on. */
void eng_listen_instance_gone(struct amx_engine *e, struct amx_app *a, struct amx_instance *in)
{
	in->listen_poll_until_ms = 0;
	if (!in->n_ports)
		return; /* it never got to listen: the previous life's ports stay wanted */
	uint16_t want[AMX_PORTS_MAX] = { 0 };
	uint8_t n = 0;
	for (unsigned i = 0; i < a->n_inst; i++)
		for (unsigned k = 0; k < a->inst[i].n_ports; k++)
			if (!ephemeral(e, a->inst[i].ports[k]))
				amx_ports_add(want, &n, a->inst[i].ports[k]);
	memcpy(a->want_ports, want, sizeof(want));
	a->n_want_ports = n;
}

/* An incident waits on the app's ports: tell the policy once they are all listened on. */
static void maybe_serving(struct amx_engine *e, int hi, struct amx_app *a, struct amx_instance *in)
{
	if (a->pol.state != AMX_APP_AWAIT_LISTEN && a->pol.state != AMX_APP_HOME_DOWN)
		return;
	if (!amx_app_serving(a))
		return;
	e->instance_now = in;
	struct amx_input x = { .kind = AMX_IN_SERVING, .pid = in->pid };
	eng_feed_app(e, hi, eng_app_index(&e->homes[hi], a), x);
	e->instance_now = NULL;
}

/* The instance's process listens on port: kept, said (app-listening) when announce. */
static void instance_listens(struct amx_engine *e, int hi, struct amx_app *a,
			     struct amx_instance *in, const struct amx_listen *l, uint64_t ts_ns,
			     uint64_t start_ns, bool announce)
{
	if (amx_ports_has(in->ports, in->n_ports, l->port))
		return; /* IPv4 and IPv6 on one port, or seen by both the kernel and /proc */
	if (!amx_ports_add(in->ports, &in->n_ports, l->port)) {
		a->ports_dropped++;
		return;
	}
	if (announce) {
		char addr[INET6_ADDRSTRLEN];
		amx_socktab_addr_str(l, addr, sizeof(addr));
		json_t *ev = amx_event_new(&e->stream, AMX_EVT_APP_LISTENING, ts_ns,
					   "%.300s listens on %s port %u", a->name, addr, l->port);
		amx_event_set_int(ev, "process.pid", in->pid);
		amx_event_set_int(ev, "amexbpf.listen.port", l->port);
		amx_event_set_str(ev, "amexbpf.listen.address", addr);
		amx_event_set_bool(ev, "amexbpf.listen.first", in->n_ports == 1);
		if (start_ns && ts_ns > start_ns)
			amx_event_set_int(ev, "event.duration", (int64_t)(ts_ns - start_ns));
		eng_set_app_fields(ev, &e->homes[hi], a);
		eng_set_instance_fields(ev, a, in);
		eng_emit(e, ev);
	}
	maybe_serving(e, hi, a, in);
}

/* AMX_EV_LISTEN from the kernel: an app instance's process (by pid and start time). */
void eng_on_listen_event(struct amx_engine *e, const struct amx_event *kev)
{
	struct amx_listen l = { .port = kev->listen_port,
				.family = kev->listen_family == 10 ? AF_INET6 : AF_INET };
	memcpy(l.addr, kev->listen_addr, sizeof(l.addr));
	for (int hi = 0; hi < e->n_homes; hi++) {
		struct amx_app *a = NULL;
		struct amx_instance *in = amx_home_instance_with_pid(&e->homes[hi], (int)kev->pid, &a);
		if (in && amx_ns_to_ticks(kev->start_boottime_ns) == in->start_ticks) {
			instance_listens(e, hi, a, in, &l, kev->ts_ns, kev->start_boottime_ns, true);
			return;
		}
	}
	/* The PM2 daemon (a cluster app's master listens for its workers) or a pid not
	 * claimed yet: not an app's port. */
}

/* Read pid's listening sockets from /proc (bounded) and keep them; announce: say each new
 * one (a listen that happened since we looked). */
void eng_listen_scan(struct amx_engine *e, int hi, struct amx_app *a, struct amx_instance *in,
		     bool announce)
{
	struct amx_listen l[AMX_PORTS_MAX * 2];
	int n = amx_socktab_listening(in->pid, l, (int)(sizeof(l) / sizeof(l[0])));
	if (n <= 0)
		return;
	uint64_t now_ns = amx_boot_ns();
	uint64_t start_ns = amx_ticks_to_ns(in->start_ticks);
	for (int i = 0; i < n && in->pid; i++)
		instance_listens(e, hi, a, in, &l[i], now_ns, start_ns, announce);
}

/* What the policy is told with a new pid: must it still listen, or does it already. */
void eng_listen_alive_input(const struct amx_app *a, struct amx_input *x)
{
	if (!a->n_want_ports)
		return;
	x->serving = amx_app_serving(a);
	x->must_listen = !x->serving;
}

/* No BPF: look again at the new pids still within their window. */
void eng_tick_listen(void *ctx, uint64_t now)
{
	struct amx_engine *e = ctx;
	uint64_t next = 0;
	for (int hi = 0; hi < e->n_homes; hi++) {
		struct amx_home *h = &e->homes[hi];
		for (size_t i = 0; i < h->n_apps; i++) {
			struct amx_app *a = &h->apps[i];
			for (unsigned k = 0; k < a->n_inst; k++) {
				struct amx_instance *in = &a->inst[k];
				if (!in->listen_poll_until_ms)
					continue;
				if (!in->pid || now >= in->listen_poll_until_ms) {
					in->listen_poll_until_ms = 0;
					continue;
				}
				if (now >= e->listen_poll_at_ms)
					eng_listen_scan(e, hi, a, in, true);
				/* Listening, and on every port a recovery waits for: the cold start is
				 * over, and each read costs the whole socket table of the host. */
				if (in->n_ports && (!a->n_want_ports || amx_app_serving(a))) {
					in->listen_poll_until_ms = 0;
					continue;
				}
				next = 1;
			}
		}
	}
	if (!next)
		return;
	if (now >= e->listen_poll_at_ms)
		e->listen_poll_at_ms = now + LISTEN_POLL_MS;
	amx_loop_wake_at(e->listen_poll_at_ms);
}
