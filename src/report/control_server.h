/* SPDX-License-Identifier: MIT */
/* The daemon's side of the control socket (protocol in control.h). */
#ifndef AMX_CONTROL_SERVER_H
#define AMX_CONTROL_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* Events kept for replay, and the most a client may have waiting before it is dropped. */
#define AMX_CONTROL_HISTORY 4096
#define AMX_CONTROL_QUEUE_MAX 8192

/* Builds the answer to STATUS (report/status.c's amx_status_document); passed in so that
 * the server does not link to what it serves. */
typedef json_t *(*amx_status_document_fn)(void);

/* Create the socket safely (root-owned parent, 0600, or 0660 with group), serve it from
 * the loop, keep the history. 0, or an exit code with err filled. */
int amx_control_start(const char *path, const char *group, bool verbose,
		      amx_status_document_fn status_document, char *err, size_t errlen);
void amx_control_stop(void);

struct amx_control_stats {
	int subscribers;
	uint64_t dropped, accepted, refused;
	size_t history_count;  /* events kept for replay (at most AMX_CONTROL_HISTORY) */
	size_t history_bytes;  /* what they take, allocation headers included */
};
void amx_control_stats(struct amx_control_stats *st);

#endif
