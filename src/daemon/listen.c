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
 * A port the app stops listening on while it lives (it closed its server) is taken out
 * and said (app-stopped-listening): with BPF from the kernel's LISTEN -> CLOSE
 * (AMX_EV_UNLISTEN, checked against /proc); without it, the host's socket tables are
 * read every LISTEN_RECHECK_MS for the ports apps listen on, once for all of them.
 *
 * The ports an app must listen on again are those it listened on at its death (set at an
 * instance's exit, over all its instances), plus those it closed in the CLOSE_KEEP_MS
 * before (a graceful shutdown closes its server, then exits), less the kernel's
 * ephemeral range: a port the kernel picked (bind to port 0) differs from one life to the
 * next, and asking for it again would fail every recovery. A port it closed earlier and
 * lived on without was closed on purpose, and no recovery waits for it. A life that never
 * listened (a crash during start-up) leaves the wanted ports as they were. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include "daemon/engine.h"
#include "sys/loop.h"
#include "sys/proc.h"
#include "sys/socket_table.h"

#define LISTEN_POLL_MS 200
/* No BPF: how often the ports apps listen on are checked against the socket tables (one
 * read of the host's tables for every app, whatever their number). */
#define LISTEN_RECHECK_MS 5000
/* A port closed this long before its process's death is still wanted from the next life:
 * PM2 gives a stopping app kill_timeout (1.6 s by default) between its SIGINT and SIGKILL,
 * and a graceful shutdown closes its server within it. */
#define CLOSE_KEEP_MS 5000

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
	in->n_closed = 0;
	in->listened = false;
	in->listen_poll_until_ms = bpf_source(e) ? 0 : eng_now_ms(e) + e->cfg.verify_ms;
}

/* The instance's process is gone: if this life listened, its ports (and the other
 * instances') are what the next life must listen on. */
void eng_listen_instance_gone(struct amx_engine *e, struct amx_app *a, struct amx_instance *in)
{
	in->listen_poll_until_ms = 0;
	if (!in->listened)
		return; /* it never got to listen: the previous life's ports stay wanted */
	uint16_t want[AMX_PORTS_MAX] = { 0 };
	uint8_t n = 0;
	uint64_t now = eng_now_ms(e);
	for (unsigned i = 0; i < a->n_inst; i++) {
		const struct amx_instance *x = &a->inst[i];
		for (unsigned k = 0; k < x->n_ports; k++)
			if (!ephemeral(e, x->ports[k]))
				amx_ports_add(want, &n, x->ports[k]);
		for (unsigned k = 0; k < x->n_closed; k++)
			if (now - x->closed_at_ms[k] <= CLOSE_KEEP_MS && !ephemeral(e, x->closed_ports[k]))
				amx_ports_add(want, &n, x->closed_ports[k]);
	}
	memcpy(a->want_ports, want, sizeof(want));
	a->n_want_ports = n;
	/* This life is accounted for: a new pid seen next does not account for it again. */
	in->n_closed = 0;
	in->listened = false;
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
	bool first = !in->listened;
	in->listened = true;
	for (unsigned k = 0; k < in->n_closed; k++)
		if (in->closed_ports[k] == l->port) { /* listening again: not closed any more */
			in->closed_ports[k] = in->closed_ports[in->n_closed - 1];
			in->closed_at_ms[k] = in->closed_at_ms[in->n_closed - 1];
			in->n_closed--;
			break;
		}
	if (announce) {
		char addr[INET6_ADDRSTRLEN];
		amx_socktab_addr_str(l, addr, sizeof(addr));
		json_t *ev = amx_event_new(&e->stream, AMX_EVT_APP_LISTENING, ts_ns,
					   "%.300s listens on %s port %u", a->name, addr, l->port);
		amx_event_set_int(ev, "process.pid", in->pid);
		amx_event_set_int(ev, "amexbpf.listen.port", l->port);
		amx_event_set_str(ev, "amexbpf.listen.address", addr);
		amx_event_set_bool(ev, "amexbpf.listen.first", first);
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

/* The instance's process no longer listens on port (address: where it listened, NULL
 * when not known): taken out of its ports, remembered as closed (for the wanted ports at
 * its death) and said. */
static void instance_stops_listening(struct amx_engine *e, int hi, struct amx_app *a,
				     struct amx_instance *in, uint16_t port, const char *address,
				     uint64_t ts_ns)
{
	if (!amx_ports_remove(in->ports, &in->n_ports, port))
		return;
	uint64_t now = eng_now_ms(e);
	unsigned k = 0;
	while (k < in->n_closed && in->closed_ports[k] != port)
		k++;
	if (k == in->n_closed && in->n_closed < AMX_PORTS_MAX)
		in->n_closed++;
	if (k < in->n_closed) {
		in->closed_ports[k] = port;
		in->closed_at_ms[k] = now;
	}
	json_t *ev = amx_event_new(&e->stream, AMX_EVT_APP_STOPPED_LISTENING, ts_ns,
				   "%.300s stopped listening on port %u", a->name, port);
	amx_event_set_int(ev, "process.pid", in->pid);
	amx_event_set_int(ev, "amexbpf.listen.port", port);
	if (address)
		amx_event_set_str(ev, "amexbpf.listen.address", address);
	eng_set_app_fields(ev, &e->homes[hi], a);
	eng_set_instance_fields(ev, a, in);
	eng_set_instance_ports(ev, in);
	eng_emit(e, ev);
}

/* AMX_EV_UNLISTEN from the kernel: the process closed a listener. What /proc says it
 * still listens on decides: the same port may be listened on through another socket
 * (IPv4 and IPv6, or a new server already), and a port the kernel had given back (bound
 * to port 0) reads 0 in the record. If /proc cannot be read, the record is taken as is. */
/* The ports in's record still lists that the socket table (n entries of now) no longer
 * has; into gone (room for AMX_PORTS_MAX), their number returned. */
static unsigned ports_gone(const struct amx_instance *in, const struct amx_listen *now, int n,
			   uint16_t *gone)
{
	unsigned n_gone = 0;
	for (unsigned k = 0; k < in->n_ports; k++) {
		bool still = false;
		for (int i = 0; i < n && !still; i++)
			still = now[i].port == in->ports[k];
		if (!still)
			gone[n_gone++] = in->ports[k];
	}
	return n_gone;
}

void eng_on_unlisten_event(struct amx_engine *e, const struct amx_event *kev)
{
	struct amx_listen rec = { .port = kev->listen_port,
				  .family = kev->listen_family == 10 ? AF_INET6 : AF_INET };
	memcpy(rec.addr, kev->listen_addr, sizeof(rec.addr));
	for (int hi = 0; hi < e->n_homes; hi++) {
		struct amx_app *a = NULL;
		struct amx_instance *in = amx_home_instance_with_pid(&e->homes[hi], (int)kev->pid, &a);
		if (!in || amx_ns_to_ticks(kev->start_boottime_ns) != in->start_ticks)
			continue;
		char addr[INET6_ADDRSTRLEN];
		amx_socktab_addr_str(&rec, addr, sizeof(addr));
		struct amx_listen now[AMX_PORTS_MAX * 2];
		int n = amx_socktab_listening(in->pid, now, (int)(sizeof(now) / sizeof(now[0])));
		if (n < 0 && n != -E2BIG) {
			if (rec.port)
				instance_stops_listening(e, hi, a, in, rec.port, addr, kev->ts_ns);
			return;
		}
		uint16_t gone[AMX_PORTS_MAX];
		unsigned n_gone = ports_gone(in, now, n, gone);
		for (unsigned k = 0; k < n_gone; k++)
			instance_stops_listening(e, hi, a, in, gone[k],
						 gone[k] == rec.port ? addr : NULL, kev->ts_ns);
		return;
	}
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

/* Whether pid is in the network namespace amexbpf runs in (/proc/self/net is the table
 * read for every app of that namespace). */
static bool same_netns(int pid)
{
	char path[96], mine[64], theirs[64];
	snprintf(path, sizeof(path), "%s/self/ns/net", amx_procdir);
	ssize_t a = readlink(path, mine, sizeof(mine) - 1);
	snprintf(path, sizeof(path), "%s/%d/ns/net", amx_procdir, pid);
	ssize_t b = readlink(path, theirs, sizeof(theirs) - 1);
	return a > 0 && a == b && memcmp(mine, theirs, (size_t)a) == 0;
}

/* No BPF: each port an app's live process listens on is still listened on by someone in
 * its namespace, or the app stopped listening on it. One read of the host's tables serves
 * every app of amexbpf's own namespace; an app in another one has its own read. A port
 * another process took over since is taken for the app's (no close is seen then; the
 * kernel side sees it). */
static void recheck_ports(struct amx_engine *e)
{
	uint64_t *bits = NULL;
	bool read_done = false;
	for (int hi = 0; hi < e->n_homes; hi++) {
		struct amx_home *h = &e->homes[hi];
		for (size_t i = 0; i < h->n_apps; i++) {
			struct amx_app *a = &h->apps[i];
			for (unsigned k = 0; k < a->n_inst; k++) {
				struct amx_instance *in = &a->inst[k];
				if (!in->pid || !in->n_ports || in->listen_poll_until_ms)
					continue;
				if (!same_netns(in->pid)) {
					struct amx_listen l[AMX_PORTS_MAX * 2];
					int n = amx_socktab_listening(in->pid, l, (int)(sizeof(l) / sizeof(l[0])));
					if (n < 0)
						continue; /* gone (its exit says so) or a bound: no guess */
					uint16_t gone[AMX_PORTS_MAX];
					unsigned n_gone = ports_gone(in, l, n, gone);
					for (unsigned p = 0; p < n_gone; p++)
						instance_stops_listening(e, hi, a, in, gone[p], NULL, 0);
					continue;
				}
				if (!read_done) {
					read_done = true;
					bits = malloc(sizeof(uint64_t) * AMX_SOCKTAB_PORT_WORDS);
					if (bits && amx_socktab_listen_map(0, bits) < 0) {
						free(bits); /* a bound or no table: nothing is taken out on a guess */
						bits = NULL;
					}
				}
				if (!bits)
					continue;
				uint16_t gone[AMX_PORTS_MAX];
				unsigned n_gone = 0;
				for (unsigned p = 0; p < in->n_ports; p++)
					if (!amx_socktab_map_has(bits, in->ports[p]))
						gone[n_gone++] = in->ports[p];
				for (unsigned p = 0; p < n_gone; p++)
					instance_stops_listening(e, hi, a, in, gone[p], NULL, 0);
			}
		}
	}
	free(bits);
}

/* No BPF: look again at the new pids still within their window, and every
 * LISTEN_RECHECK_MS at the ports apps listen on. */
void eng_tick_listen(void *ctx, uint64_t now)
{
	struct amx_engine *e = ctx;
	uint64_t next = 0;
	bool any_ports = false;
	for (int hi = 0; hi < e->n_homes; hi++) {
		struct amx_home *h = &e->homes[hi];
		for (size_t i = 0; i < h->n_apps; i++) {
			struct amx_app *a = &h->apps[i];
			for (unsigned k = 0; k < a->n_inst; k++) {
				struct amx_instance *in = &a->inst[k];
				any_ports |= in->pid && in->n_ports;
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
	if (any_ports && !bpf_source(e)) {
		if (!e->listen_recheck_at_ms)
			e->listen_recheck_at_ms = now + LISTEN_RECHECK_MS;
		if (now >= e->listen_recheck_at_ms) {
			recheck_ports(e);
			e->listen_recheck_at_ms = now + LISTEN_RECHECK_MS;
		}
		amx_loop_wake_at(e->listen_recheck_at_ms);
	}
	if (!next)
		return;
	if (now >= e->listen_poll_at_ms)
		e->listen_poll_at_ms = now + LISTEN_POLL_MS;
	amx_loop_wake_at(e->listen_poll_at_ms);
}
