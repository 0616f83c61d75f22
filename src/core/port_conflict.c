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

/* The first word after the first of s[0..len) that does not start with '-', words being
 * separated by any byte of seps. */
static bool first_script_word(const char *s, size_t len, const char *seps, char *out, size_t outlen)
{
	size_t off = 0;
	bool first = true;
	while (off < len) {
		size_t n = 0;
		while (off + n < len && s[off + n] && !strchr(seps, s[off + n]))
			n++;
		const char *word = s + off;
		off += n + 1;
		if (n == 0)
			continue;
		if (first) {
			first = false;
			continue;
		}
		if (word[0] == '-')
			continue;
		if (n >= outlen)
			return false; /* a cut path would compare equal to the wrong one */
		memcpy(out, word, n);
		out[n] = '\0';
		return true;
	}
	return false;
}

bool amx_cmdline_script(const char *cmdline, size_t len, char *out, size_t outlen)
{
	if (!outlen)
		return false;
	out[0] = '\0';
	if (first_script_word(cmdline, len, "", out, outlen))
		return true;
	/* PM2 sets the app's process.title to "node /path/to/script.js": one argument with
	 * spaces, padded to the old length. A path with a space in it then does not match
	 * pm_exec_path, and the holder is not taken for the app (the safe side). */
	size_t first = strnlen(cmdline, len);
	return first_script_word(cmdline, first, " ", out, outlen);
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
