/* SPDX-License-Identifier: MIT */
#include "cli/client.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/control.h"
#include "core/options.h"
#include "sys/control_client.h"

static const char *const EVENTS_HELP =
	"Usage: amexbpf events [--socket PATH] [--since SEQ] [--follow|--no-follow] [--action A]...\n"
	"Print the daemon's events as NDJSON on stdout: those still in its history (the last 4096)\n"
	"with event.sequence > SEQ, then, with --follow (the default), every new one.\n"
	"Exit codes: 0 done, 64 usage, 74 dropped as a slow reader or stream broken,\n"
	"75 no daemon answers on the socket, 77 permission denied.\n";

static const char *const STATUS_HELP =
	"Usage: amexbpf status [--json] [--socket PATH]\n"
	"Print the daemon's view: each PM2 home, its daemon and dump, and each app.\n"
	"--json prints the status document (format in the README).\n"
	"Exit codes: 0 done, 64 usage, 74 bad answer, 75 no daemon answers, 77 permission denied.\n";

/* Says why a request could not be made or answered; returns the exit code. */
static int report_control_error(const char *path, const struct amx_control_error *e)
{
	char why[128];
	switch (e->stage) {
	case AMX_CONTROL_CONNECT:
		if (e->err == ENAMETOOLONG) {
			fprintf(stderr, "amexbpf: socket path too long: %s\n", path);
			return AMX_EXIT_USAGE;
		}
		fprintf(stderr, "amexbpf: cannot connect to %s: %s%s\n", path, strerror(e->err),
			e->err == EACCES ? " (root, or a member of --socket-group, only)"
					 : " (is `amexbpf run` running? see --socket)");
		return e->err == EACCES || e->err == EPERM ? AMX_EXIT_NOT_ROOT : AMX_EXIT_NO_DAEMON;
	case AMX_CONTROL_SEND:
		fprintf(stderr, "amexbpf: cannot send the request: %s\n", strerror(e->err));
		return AMX_EXIT_IO;
	case AMX_CONTROL_RECEIVE:
		if (e->err == 0)
			fprintf(stderr, "amexbpf: the daemon closed the connection without an answer\n");
		else
			fprintf(stderr, "amexbpf: cannot read the answer: %s\n",
				amx_control_strerror(e, -1, why, sizeof(why)));
		return AMX_EXIT_IO;
	}
	return AMX_EXIT_IO;
}

/* A line from the daemon that is not an event: {"error":...}. The code to exit with. */
static int report_error(const char *line)
{
	json_t *j = json_loads(line, 0, NULL);
	const char *what = json_string_value(json_object_get(j, "error"));
	int rc = AMX_EXIT_IO;
	if (what && !strcmp(what, "slow-subscriber"))
		fprintf(stderr, "amexbpf: the daemon dropped this reader for falling behind (%lld events missed)\n",
			(long long)json_integer_value(json_object_get(j, "missed")));
	else if (what && !strcmp(what, "permission denied")) {
		fprintf(stderr, "amexbpf: the daemon refused this user (root, or a member of --socket-group, only)\n");
		rc = AMX_EXIT_NOT_ROOT;
	} else
		fprintf(stderr, "amexbpf: the daemon answered: %s\n", what ? what : line);
	json_decref(j);
	return rc;
}

static int bad_usage(const char *what, const char *arg)
{
	fprintf(stderr, "amexbpf: %s: %s (see --help)\n", what, arg);
	return AMX_EXIT_USAGE;
}

static bool is_error_line(const char *line)
{
	return strncmp(line, "{\"error\":", 9) == 0;
}

int amx_client_events(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "since", required_argument, NULL, 'S' },
		{ "follow", no_argument, NULL, 'f' },
		{ "no-follow", no_argument, NULL, 'n' },
		{ "action", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *path = AMX_DEFAULT_SOCKET;
	char req[AMX_CONTROL_LINE_MAX + 1] = "EVENTS";
	bool follow = true;
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		char *end;
		size_t used = strlen(req);
		switch (c) {
		case 's': path = optarg; break;
		case 'S':
			errno = 0;
			strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] == '-') {
				fprintf(stderr, "amexbpf: bad value for --since: %s\n", optarg);
				return AMX_EXIT_USAGE;
			}
			snprintf(req + used, sizeof(req) - used, " since=%s", optarg);
			break;
		case 'f': follow = true; break;
		case 'n': follow = false; break;
		case 'a':
			if (!optarg[0] || strpbrk(optarg, " \t\r\n") || strlen(optarg) >= 40 ||
			    used + strlen(optarg) + 16 >= sizeof(req)) {
				fprintf(stderr, "amexbpf: bad value for --action: %s\n", optarg);
				return AMX_EXIT_USAGE;
			}
			snprintf(req + used, sizeof(req) - used, " action=%s", optarg);
			break;
		case 'h': fputs(EVENTS_HELP, stdout); return 0;
		default: return bad_usage("unknown option or missing value", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return bad_usage("unexpected argument", argv[optind]);
	size_t used = strlen(req);
	snprintf(req + used, sizeof(req) - used, " follow=%d\n", follow ? 1 : 0);
	struct amx_control_error e;
	int fd = amx_control_request(path, req, &e);
	if (fd < 0)
		return report_control_error(path, &e);
	/* A reader that goes away (`| head`) ends us quietly. */
	signal(SIGPIPE, SIG_IGN);
	struct amx_control_lines in;
	amx_control_lines_init(&in, fd, AMX_CONTROL_EVENT_MAX);
	int rc = 0, open = 1;
	for (;;) {
		size_t n;
		char *line = amx_control_lines_next(&in, &n);
		if (!line) {
			if (open <= 0)
				break;
			open = amx_control_lines_fill(&in, -1);
			continue;
		}
		if (is_error_line(line)) {
			rc = report_error(line);
			break;
		}
		if (fwrite(line, 1, n, stdout) != n || putchar('\n') == EOF || fflush(stdout) != 0) {
			rc = errno == EPIPE ? 0 : AMX_EXIT_IO;
			open = 1; /* our reader went away, not the daemon */
			break;
		}
	}
	if (!rc && open < 0) {
		e = (struct amx_control_error){ AMX_CONTROL_RECEIVE, -open };
		rc = report_control_error(path, &e);
	} else if (!rc && follow && open == 0) {
		fprintf(stderr, "amexbpf: the daemon closed the stream (stopped?)\n");
		rc = AMX_EXIT_IO;
	}
	amx_control_lines_close(&in);
	return rc;
}

static const char *s_or(json_t *j, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(j, key));
	return s ? s : dflt;
}

/* ":3000 :3001" of an array of ports into buf; false when there is none. */
static bool ports_text(json_t *ports, char *buf, size_t len)
{
	size_t i, off = 0;
	json_t *p;
	buf[0] = '\0';
	json_array_foreach(ports, i, p)
		if (json_is_integer(p) && off < len)
			off += (size_t)snprintf(buf + off, len - off, "%s:%lld", off ? " " : "",
						(long long)json_integer_value(p));
	return off > 0;
}

/* The app's listening ports under its row; per instance when it has several. */
static void print_ports(json_t *app)
{
	char b[160];
	json_t *insts = json_object_get(app, "instances"), *in;
	size_t i;
	if (json_array_size(insts) > 1) {
		json_array_foreach(insts, i, in)
			if (ports_text(json_object_get(in, "ports"), b, sizeof(b)))
				printf("    pm_id %lld listening %s\n",
				       (long long)json_integer_value(json_object_get(in, "pm_id")), b);
	} else if (ports_text(json_object_get(app, "ports"), b, sizeof(b))) {
		printf("    listening %s\n", b);
	} else if (ports_text(json_object_get(app, "serving_ports"), b, sizeof(b))) {
		printf("    not listening (served on %s)\n", b);
	}
}

static void print_status(json_t *doc)
{
	json_t *ev = json_object_get(doc, "events");
	json_t *lat = json_object_get(doc, "detect_latency_us");
	char p50[24] = "-", p99[24] = "-";
	if (json_is_integer(json_object_get(lat, "p50")))
		snprintf(p50, sizeof(p50), "%lld", (long long)json_integer_value(json_object_get(lat, "p50")));
	if (json_is_integer(json_object_get(lat, "p99")))
		snprintf(p99, sizeof(p99), "%lld", (long long)json_integer_value(json_object_get(lat, "p99")));
	printf("amexbpf %s on %s, pid %lld, up %llds, %s (%s); event #%lld, %.2f/s; detection p50 %s µs, p99 %s µs\n",
	       s_or(doc, "version", "?"), s_or(doc, "host", "?"),
	       (long long)json_integer_value(json_object_get(doc, "pid")),
	       (long long)json_integer_value(json_object_get(doc, "uptime_s")),
	       s_or(doc, "source", "?"), s_or(doc, "attach", "?"),
	       (long long)json_integer_value(json_object_get(ev, "sequence")),
	       json_number_value(json_object_get(ev, "per_second")),
	       p50, p99);
	size_t i, j;
	json_t *h, *a;
	json_array_foreach(json_object_get(doc, "homes"), i, h) {
		json_t *d = json_object_get(h, "daemon"), *dump = json_object_get(h, "dump");
		printf("\n%s (owner %s): PM2 daemon %s", s_or(h, "path", "?"), s_or(h, "owner", "?"),
		       json_is_true(json_object_get(d, "up")) ? "up" : "DOWN");
		if (json_is_integer(json_object_get(d, "pid")))
			printf(", pid %lld", (long long)json_integer_value(json_object_get(d, "pid")));
		printf(" [%s]; dump.pm2 %s", s_or(d, "state", "?"),
		       json_is_true(json_object_get(dump, "valid")) ? "valid" : s_or(dump, "problem", "invalid"));
		if (json_is_integer(json_object_get(dump, "age_s")))
			printf(", saved %llds ago", (long long)json_integer_value(json_object_get(dump, "age_s")));
		json_t *tools = json_object_get(h, "pm2");
		printf("\n  pm2 %s, node %s (from %s)", s_or(tools, "path", "none"),
		       s_or(tools, "node", "on PATH"), s_or(tools, "source", "?"));
		printf("\n  %-24s %-9s %8s %9s %8s %11s %9s  %s\n", "APP", "STATUS", "PID", "UPTIME",
		       "RSS MiB", "RESTARTS", "BUDGET", "LAST EXIT");
		json_array_foreach(json_object_get(h, "apps"), j, a) {
			json_t *rec = json_object_get(a, "recoveries"), *lx = json_object_get(a, "last_exit");
			char pid[16] = "-", up[16] = "-", rss[16] = "-", restarts[32], last[96] = "-";
			if (json_is_integer(json_object_get(a, "pid")))
				snprintf(pid, sizeof(pid), "%lld", (long long)json_integer_value(json_object_get(a, "pid")));
			if (json_is_integer(json_object_get(a, "uptime_s")))
				snprintf(up, sizeof(up), "%llds", (long long)json_integer_value(json_object_get(a, "uptime_s")));
			if (json_is_integer(json_object_get(a, "rss_bytes")))
				snprintf(rss, sizeof(rss), "%.1f", (double)json_integer_value(json_object_get(a, "rss_bytes")) / 1048576);
			snprintf(restarts, sizeof(restarts), "%lld+%lld/%lld/%lld",
				 (long long)json_integer_value(json_object_get(a, "restarts_pm2")),
				 (long long)json_integer_value(json_object_get(rec, "1")),
				 (long long)json_integer_value(json_object_get(rec, "2")),
				 (long long)json_integer_value(json_object_get(rec, "3")));
			if (json_is_object(lx))
				snprintf(last, sizeof(last), "%s%s %s", s_or(lx, "signal", "exit"),
					 json_is_true(json_object_get(lx, "oom")) ? " (OOM)" : "", s_or(lx, "at", ""));
			printf("  %-24.24s %-9s %8s %9s %8s %11s %6lld%3s  %s\n", s_or(a, "name", "?"),
			       s_or(a, "status", "?"), pid, up, rss, restarts,
			       (long long)json_integer_value(json_object_get(a, "budget_left")),
			       json_is_true(json_object_get(a, "parked")) ? " P" : "", last);
			print_ports(a);
		}
	}
	printf("\nRESTARTS: by PM2 + by amexbpf in tier 1/2/3.  P: parked (budget spent).\n");
}

int amx_client_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *path = AMX_DEFAULT_SOCKET;
	bool as_json = false;
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 's': path = optarg; break;
		case 'j': as_json = true; break;
		case 'h': fputs(STATUS_HELP, stdout); return 0;
		default: return bad_usage("unknown option or missing value", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return bad_usage("unexpected argument", argv[optind]);
	struct amx_control_error e;
	char *line = amx_control_fetch_line(path, "STATUS\n", -1, AMX_CONTROL_STATUS_MAX, &e);
	if (!line)
		return report_control_error(path, &e);
	int rc = 0;
	if (is_error_line(line)) {
		rc = report_error(line);
	} else {
		json_t *doc = json_loads(line, 0, NULL);
		if (!json_is_object(doc)) {
			fprintf(stderr, "amexbpf: the daemon's answer is not a JSON object\n");
			rc = AMX_EXIT_IO;
		} else if (as_json) {
			puts(line);
		} else {
			print_status(doc);
		}
		json_decref(doc);
	}
	free(line);
	return rc;
}
