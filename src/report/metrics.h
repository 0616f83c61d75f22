/* SPDX-License-Identifier: MIT */
/* Prometheus metrics through node_exporter's textfile collector: DIR/amexbpf.prom, written
 * to a temporary file and renamed, after every batch of events and at least every 15 s.
 * Counters and histograms come from the event stream; gauges from the daemon's view. */
#ifndef AMX_METRICS_H
#define AMX_METRICS_H

#include <stddef.h>

/* 0, or an exit code with err filled (the directory must exist). */
int amx_metrics_start(const char *dir, char *err, size_t errlen);
/* Write the file now (at shutdown). */
void amx_metrics_flush(void);

#endif
