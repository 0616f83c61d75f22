// SPDX-License-Identifier: MIT
/* The app's last words: see stderr_tail.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/stderr_tail.h"

/* Length of a valid UTF-8 sequence at s (at most n bytes), 0 when not valid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t need;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		need = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		need = 4;
	else
		return 0;
	if (n < need)
		return 0;
	for (size_t i = 1; i < need; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* overlong 3/4-byte forms, surrogates, and beyond U+10FFFF */
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
		return 0;
	return need;
}

/* One line, escaped into a new JSON string. */
static json_t *escaped_line(const char *line, size_t n)
{
	if (n && line[n - 1] == '\r')
		n--;
	char *out = malloc(n * 4 + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	const unsigned char *s = (const unsigned char *)line;
	for (size_t i = 0; i < n;) {
		size_t u = s[i] >= 0x80 ? utf8_len(s + i, n - i) : 0;
		if (u) {
			memcpy(out + o, s + i, u);
			o += u;
			i += u;
		} else if (s[i] == '\t' || (s[i] >= 0x20 && s[i] < 0x7f)) {
			out[o++] = (char)s[i++];
		} else {
			o += (size_t)snprintf(out + o, 5, "\\x%02x", s[i++]);
		}
	}
	json_t *j = json_stringn(out, o);
	free(out);
	return j;
}

json_t *amx_stderr_tail_lines(const char *buf, size_t len, bool cut, int max_lines)
{
	json_t *arr = json_array();
	if (!arr || max_lines <= 0)
		return arr;
	size_t start = 0;
	if (cut) {
		const char *nl = memchr(buf, '\n', len);
		start = nl ? (size_t)(nl - buf) + 1 : len;
	}
	size_t end = len;
	while (end > start && buf[end - 1] == '\n')
		end--;
	/* Walk back max_lines line starts from the end. */
	size_t from = end;
	int lines = 0;
	while (from > start && lines < max_lines) {
		size_t p = from - 1;
		while (p > start && buf[p - 1] != '\n')
			p--;
		from = p;
		lines++;
	}
	while (from < end) {
		const char *nl = memchr(buf + from, '\n', end - from);
		size_t stop = nl ? (size_t)(nl - buf) : end;
		json_t *s = escaped_line(buf + from, stop - from);
		if (s)
			json_array_append_new(arr, s);
		from = stop + 1;
	}
	return arr;
}
