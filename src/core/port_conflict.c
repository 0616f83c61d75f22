// SPDX-License-Identifier: MIT
/* Port conflicts: the error line, the script of a cmdline, the holder's kind (see
 * port_conflict.h). */
#include "core/port_conflict.h"

#include <stdio.h>
#include <string.h>

/* The port at the end of one line that says EADDRINUSE: the digits after its last ':'
 * (Node prints `:::3000`, `0.0.0.0:3000`, `[::1]:3000`), before optional trailing blanks.
 * 0 when the line does not end that way or the number is not a port. */
static uint16_t port_of_line(const char *s, size_t n)
{
	if (!memmem(s, n, "EADDRINUSE", 10))
		return 0;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	size_t end = n, digits = 0;
	while (n && s[n - 1] >= '0' && s[n - 1] <= '9' && digits < 6) {
		n--;
		digits++;
	}
	if (!digits || digits > 5 || !n || s[n - 1] != ':')
		return 0;
	unsigned long port = 0;
	for (size_t i = n; i < end; i++)
		port = port * 10 + (unsigned long)(s[i] - '0');
	return port >= 1 && port <= 65535 ? (uint16_t)port : 0;
}

uint16_t amx_port_from_error_tail(const char *buf, size_t len)
{
	if (!buf)
		return 0;
	size_t end = len;
	for (int lines = 0; end > 0 && lines < AMX_CONFLICT_LINES; lines++) {
		size_t start = end;
		while (start > 0 && buf[start - 1] != '\n')
			start--;
		size_t n = end - start;
		/* A line past the bound is looked at by its first bytes: Node's message is
		 * short, and a huge line is not worth the work. */
		uint16_t port = port_of_line(buf + start, n > AMX_CONFLICT_LINE_MAX ? AMX_CONFLICT_LINE_MAX : n);
		if (port)
			return port;
		end = start ? start - 1 : 0;
	}
	return 0;
}

bool amx_cmdline_script(const char *cmdline, size_t len, char *out, size_t outlen)
{
	size_t off = 0;
	bool first = true;
	if (!outlen)
		return false;
	out[0] = '\0';
	while (off < len) {
		const char *arg = cmdline + off;
		size_t n = strnlen(arg, len - off);
		off += n + 1;
		if (first) {
			first = false;
			continue;
		}
		if (n == 0 || arg[0] == '-')
			continue;
		if (n >= outlen)
			return false; /* a cut path would compare equal to the wrong one */
		memcpy(out, arg, n);
		out[n] = '\0';
		return true;
	}
	return false;
}

enum amx_holder_kind amx_holder_classify(const struct amx_holder_facts *f, uid_t owner_uid,
					 const char *home, const char *app, int god_pid)
{
	if (!f || f->pid <= 0)
		return AMX_HOLDER_NONE;
	if (god_pid > 0 && f->pid == god_pid)
		return AMX_HOLDER_NONE; /* cluster mode: the daemon holds the port for its workers */
	bool orphan = f->uid == owner_uid && f->ppid != god_pid &&
		      f->env_home[0] && !strcmp(f->env_home, home) &&
		      f->env_name[0] && !strcmp(f->env_name, app) &&
		      f->script[0] && !strcmp(f->script, f->env_exec_path) &&
		      f->cwd[0] && !strcmp(f->cwd, f->env_cwd);
	return orphan ? AMX_HOLDER_ORPHAN : AMX_HOLDER_OTHER;
}

const char *amx_holder_kind_name(enum amx_holder_kind k)
{
	switch (k) {
	case AMX_HOLDER_ORPHAN:
		return "orphan";
	case AMX_HOLDER_OTHER:
		return "other";
	default:
		return "none";
	}
}
