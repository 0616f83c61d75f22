// SPDX-License-Identifier: MIT
/* Port conflicts, the engine's side (core/port_conflict.h decides, core/policy.c acts):
 * the port an app's error log names, who holds it (sys/socket_table.h), what that holder
 * is, read from /proc as root without following any link, and stopping an orphaned copy
 * of the app through a pidfd. Nothing here feeds the policy: observe.c and act.c do. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "daemon/engine.h"
#include "sys/proc.h"
#include "sys/socket_table.h"

uint16_t eng_conflict_port(const struct amx_home *h, const struct amx_app *a)
{
	char *buf;
	size_t len;
	if (!eng_read_error_tail(h, a, &buf, &len))
		return 0;
	uint16_t port = amx_port_from_error_tail(buf, len);
	free(buf);
	return port;
}

/* The facts of pid, from /proc: stat, cmdline, the cwd link's text (readlink reads the
 * link, it does not follow it) and four environment keys. false when it is gone. */
static bool holder_facts(int pid, struct amx_holder_facts *f)
{
	struct amx_proc_stat st;
	memset(f, 0, sizeof(*f));
	if (!amx_proc_read_stat(pid, &st) || st.state == 'Z')
		return false;
	f->pid = pid;
	f->ppid = st.ppid;
	f->uid = st.uid;
	snprintf(f->comm, sizeof(f->comm), "%s", st.comm);
	char cmd[4096];
	ssize_t n = amx_proc_read(pid, "cmdline", cmd, sizeof(cmd));
	if (n > 0)
		amx_cmdline_script(cmd, (size_t)n, f->script, sizeof(f->script));
	char link[128];
	snprintf(link, sizeof(link), "%s/%d/cwd", amx_procdir, pid);
	n = readlink(link, f->cwd, sizeof(f->cwd) - 1);
	f->cwd[n > 0 ? n : 0] = '\0';
	if (n >= (ssize_t)sizeof(f->cwd) - 1)
		f->cwd[0] = '\0'; /* cut: never compared */
	amx_proc_environ_get(pid, "PM2_HOME", f->env_home, sizeof(f->env_home));
	amx_proc_environ_get(pid, "name", f->env_name, sizeof(f->env_name));
	amx_proc_environ_get(pid, "pm_exec_path", f->env_exec_path, sizeof(f->env_exec_path));
	amx_proc_environ_get(pid, "pm_cwd", f->env_cwd, sizeof(f->env_cwd));
	return true;
}

static bool is_instance_of(const struct amx_app *a, int pid)
{
	for (unsigned k = 0; k < a->n_inst; k++)
		if (a->inst[k].pid == pid)
			return true;
	return false;
}

bool eng_conflict_lookup_allowed(struct amx_engine *e, int hi, uint64_t *next_ms)
{
	struct amx_home *h = &e->homes[hi];
	uint64_t now = eng_now_ms(e);
	if (h->conflict_lookup_ms && now < h->conflict_lookup_ms + AMX_CONFLICT_LOOKUP_EVERY_MS) {
		*next_ms = h->conflict_lookup_ms + AMX_CONFLICT_LOOKUP_EVERY_MS;
		return false;
	}
	h->conflict_lookup_ms = now;
	return true;
}

enum amx_holder_kind eng_port_holder(struct amx_engine *e, int hi, const struct amx_app *a,
				     uint16_t port, struct amx_holder_facts *f)
{
	struct amx_home *h = &e->homes[hi];
	memset(f, 0, sizeof(*f));
	/* The app's network namespace is its daemon's; with the daemon down, ours. */
	int ns = h->god_pid && amx_home_is_god(h, h->god_pid) ? h->god_pid : 0;
	int pid = amx_socktab_port_holder(port, ns, 0);
	if (pid <= 0) {
		if (pid < 0)
			eng_log(e, "%s: %s: holder of port %u not found: %s", h->path, a->name,
				port, strerror(-pid));
		return AMX_HOLDER_NONE;
	}
	if (is_instance_of(a, pid) || !holder_facts(pid, f))
		return AMX_HOLDER_NONE; /* its own copy listens: no conflict (any more) */
	return amx_holder_classify(f, h->owner.uid, h->path, a->name, h->god_pid);
}

bool eng_stop_holder(struct amx_engine *e, int hi, const struct amx_app *a, uint16_t port,
		     int pid)
{
	struct amx_home *h = &e->homes[hi];
	struct amx_holder_facts f;
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return false;
	/* Classified again once the pidfd pins the process: a pid reused since the lookup
	 * is a process that fails the checks, and is never signalled. */
	bool stopped = false;
	if (holder_facts(pid, &f) &&
	    amx_holder_classify(&f, h->owner.uid, h->path, a->name, h->god_pid) == AMX_HOLDER_ORPHAN &&
	    amx_socktab_port_holder(port, h->god_pid, 0) == pid &&
	    syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) == 0) {
		stopped = true;
		fprintf(stderr, "amexbpf: %s: stopped pid %d, an orphaned copy of %s holding port %u\n",
			h->path, pid, a->name, port);
	}
	close(pidfd);
	return stopped;
}
