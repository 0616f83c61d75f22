/* SPDX-License-Identifier: MIT */
/* `amexbpf top`: a live terminal view, as a client of the control socket. It never loads
 * BPF and needs no privilege beyond connecting to the socket.
 *
 * Once a second it asks for STATUS (one connection each, as the protocol says) and it
 * keeps one EVENTS stream open. Each wake-up lays out a frame (top_render.c, pure) and
 * paints it only when it differs from the one on screen. When the daemon goes away the
 * view says so and keeps asking; when it answers again (a new pid: restarted) the event
 * stream is reopened from the start of the new run. */
#include <errno.h>
#include <getopt.h>
#include <langinfo.h>
#include <locale.h>
#include <ncurses.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "core/control.h"
#include "core/event.h"
#include "core/options.h"
#include "sys/control_client.h"
#include "top/top.h"
#include "top/top_render.h"
#include "top/top_term.h"

#define EVENT_RING 1000
#define STATUS_TIMEOUT_MS 800
#define TICK_MS 1000

static const char *const TOP_HELP =
	"Usage: amexbpf top [--socket PATH] [--once] [--no-color]\n"
	"A live view of amexbpf: the daemon, each PM2 home, each app, and the latest events.\n"
	"A client of the control socket: it needs no root, only access to the socket.\n"
	"\n"
	"  --socket PATH   the control socket (default " AMX_DEFAULT_SOCKET ")\n"
	"  --once          print one plain-text frame and exit (width: the terminal's, else\n"
	"                  $COLUMNS, else 120)\n"
	"  --no-color      no colour (also when NO_COLOR is set or the terminal has none)\n"
	"  -h, --help      this help\n"
	"\n"
	"Keys: q quit, ? help, p pause events, / filter, s sort, Up/Down select,\n"
	"PgUp/PgDn scroll events, Enter the selected app's history.\n"
	"Exit codes: 0 ok, 64 usage (or not a terminal), 69 --once: no daemon answers,\n"
	"71 the terminal could not be set up; 128+N after signal N (terminal restored).\n";

/* ------------------------------------------------------------------ client state */

struct top_state {
	const char *socket_path;
	json_t *status;
	bool connected, ever_connected;
	char problem[256];
	double daemon_pid;
	struct amx_control_lines stream; /* EVENTS; fd -1 while none is open */
	unsigned long long last_seq;
	struct top_events events;
	struct top_view view;
	char history_app[256];
	char selected_app[256]; /* the selection follows the app when the order changes */
};

/* A line of top's own in the event pane (never sent anywhere): connection changes. */
static void note(struct top_state *s, const char *level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void note(struct top_state *s, const char *level, const char *fmt, ...)
{
	char msg[512], ts[40];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	amx_format_timestamp(0, ts, sizeof(ts));
	json_t *ev = json_pack("{s:s, s:{s:s}, s:s, s:{s:s}}", "@timestamp", ts, "log", "level", level,
			       "message", msg, "event", "action", "top-connection");
	if (ev)
		top_events_push(&s->events, ev);
}

static void open_stream(struct top_state *s)
{
	char req[64];
	struct amx_control_error e;
	if (s->last_seq)
		snprintf(req, sizeof(req), "EVENTS since=%llu\n", s->last_seq);
	else
		snprintf(req, sizeof(req), "EVENTS\n");
	int fd = amx_control_request(s->socket_path, req, &e);
	if (fd >= 0)
		amx_control_lines_init(&s->stream, fd, AMX_CONTROL_EVENT_MAX);
}

/* STATUS: the status document, or NULL with a reason in err (no answer within
 * timeout_ms, not JSON, or the server's {"error":...}). */
static json_t *fetch_status(const char *path, int timeout_ms, char *err, size_t errlen)
{
	struct amx_control_error e;
	char *line = amx_control_fetch_line(path, "STATUS\n", timeout_ms, AMX_CONTROL_STATUS_MAX, &e);
	if (!line) {
		char why[128];
		snprintf(err, errlen, "%s%s", e.stage == AMX_CONTROL_RECEIVE ? "STATUS " : "",
			 amx_control_strerror(&e, timeout_ms, why, sizeof(why)));
		return NULL;
	}
	json_error_t je;
	json_t *doc = json_loads(line, 0, &je);
	free(line);
	if (!json_is_object(doc)) {
		snprintf(err, errlen, "STATUS answer is not a JSON object: %s", je.text);
		json_decref(doc);
		return NULL;
	}
	if (json_is_string(json_object_get(doc, "error"))) {
		snprintf(err, errlen, "server says: %s", json_string_value(json_object_get(doc, "error")));
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/* Asks for STATUS; notices a daemon that went away, came back, or restarted. */
static void refresh_status(struct top_state *s)
{
	char err[256];
	json_t *doc = fetch_status(s->socket_path, STATUS_TIMEOUT_MS, err, sizeof(err));
	if (!doc) {
		if (s->connected)
			note(s, "error", "amexbpf stopped answering on %s: %s", s->socket_path, err);
		s->connected = false;
		snprintf(s->problem, sizeof(s->problem), "%s", err);
		return;
	}
	json_t *pidv = json_object_get(doc, "pid");
	double pid = json_is_number(pidv) ? json_number_value(pidv) : 0;
	if (s->ever_connected && pid != s->daemon_pid) {
		note(s, "warn", "amexbpf restarted (pid %.0f, was %.0f); reconnected", pid, s->daemon_pid);
		s->last_seq = 0; /* event.sequence starts again at 1 in a new run */
		amx_control_lines_close(&s->stream);
	} else if (s->ever_connected && !s->connected) {
		note(s, "info", "reconnected to amexbpf (pid %.0f)", pid);
	}
	s->daemon_pid = pid;
	s->connected = s->ever_connected = true;
	s->problem[0] = 0;
	json_decref(s->status);
	s->status = doc;
	if (s->stream.fd < 0)
		open_stream(s);
}

/* Takes the complete lines off the event stream; false when it ended. */
static bool drain_stream(struct top_state *s)
{
	int st = amx_control_lines_fill(&s->stream, 0);
	char *line;
	size_t len;
	while ((line = amx_control_lines_next(&s->stream, &len))) {
		json_t *ev = json_loads(line, 0, NULL);
		if (!json_is_object(ev)) {
			json_decref(ev);
			continue;
		}
		json_t *e = json_object_get(ev, "error");
		if (json_is_string(e)) {
			/* slow-subscriber: the server dropped us; ask again from where we were. */
			note(s, "warn", "event stream: %s; reopening", json_string_value(e));
			json_decref(ev);
			st = 0;
			break;
		}
		json_t *seq = amx_event_get(ev, "event.sequence");
		unsigned long long n = json_is_integer(seq) ? (unsigned long long)json_integer_value(seq) : 0;
		if (n && n <= s->last_seq) { /* already have it (a reopened stream) */
			json_decref(ev);
			continue;
		}
		if (n)
			s->last_seq = n;
		top_events_push(&s->events, ev);
	}
	if (st <= 0) {
		amx_control_lines_close(&s->stream);
		return false;
	}
	return true;
}

/* ------------------------------------------------------------------ keys */

static void clamp_selection(struct top_state *s)
{
	struct top_view *v = &s->view;
	int n = top_apps(v, NULL, 0), app_rows, event_rows;
	top_pane_rows(v, LINES, &app_rows, &event_rows);
	if (v->selected >= n)
		v->selected = n - 1;
	if (v->selected < 0)
		v->selected = 0;
	if (v->selected < v->app_top)
		v->app_top = v->selected;
	if (v->selected >= v->app_top + app_rows)
		v->app_top = v->selected - app_rows + 1;
	if (v->app_top > (n > app_rows ? n - app_rows : 0))
		v->app_top = n > app_rows ? n - app_rows : 0;
	if (v->app_top < 0)
		v->app_top = 0;
	if (v->event_scroll < 0)
		v->event_scroll = 0;
	if ((size_t)v->event_scroll >= s->events.len)
		v->event_scroll = s->events.len ? (int)s->events.len - 1 : 0;
}

/* The index of the selected app by name (when it is still shown), and the name of the
 * app at the selected index after a key moved it. */
static void follow_selection(struct top_state *s, bool by_name)
{
	struct top_view *v = &s->view;
	int n = top_apps(v, NULL, 0);
	struct top_app *apps = n > 0 ? calloc((size_t)n, sizeof(*apps)) : NULL;
	if (!apps)
		return;
	n = top_apps(v, apps, n);
	for (int i = 0; by_name && i < n; i++)
		if (!strcmp(apps[i].name, s->selected_app)) {
			v->selected = i;
			break;
		}
	if (v->selected >= 0 && v->selected < n)
		snprintf(s->selected_app, sizeof(s->selected_app), "%s", apps[v->selected].name);
	free(apps);
}

static void open_history(struct top_state *s)
{
	struct top_view *v = &s->view;
	int n = top_apps(v, NULL, 0);
	if (n <= 0)
		return;
	struct top_app *apps = calloc((size_t)n, sizeof(*apps));
	if (!apps)
		return;
	n = top_apps(v, apps, n);
	if (v->selected < n) {
		snprintf(s->history_app, sizeof(s->history_app), "%s", apps[v->selected].name);
		v->history_app = s->history_app;
		v->overlay = OVERLAY_HISTORY;
	}
	free(apps);
}

static void edit_filter(struct top_view *v, int ch)
{
	size_t n = strlen(v->filter);
	if (ch == 27) { /* Esc */
		v->filter[0] = 0;
		v->editing_filter = false;
	} else if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
		v->editing_filter = false;
	} else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
		while (n > 0 && ((unsigned char)v->filter[n - 1] & 0xc0) == 0x80)
			n--; /* a whole UTF-8 character */
		if (n > 0)
			n--;
		v->filter[n] = 0;
	} else if (ch >= 0x20 && ch < 0x100 && ch != 0x7f && n + 1 < sizeof(v->filter)) {
		v->filter[n] = (char)ch;
		v->filter[n + 1] = 0;
	}
	v->selected = 0;
	v->app_top = 0;
}

/* Returns false to quit. */
static bool on_key(struct top_state *s, int ch)
{
	struct top_view *v = &s->view;
	int app_rows, event_rows;
	bool moved = false;
	top_pane_rows(v, LINES, &app_rows, &event_rows);
	if (v->editing_filter) {
		edit_filter(v, ch);
		return true;
	}
	if (ch == 'q' || ch == 'Q')
		return false;
	if (v->overlay == OVERLAY_HELP) {
		v->overlay = OVERLAY_NONE;
		return true;
	}
	if (v->overlay == OVERLAY_HISTORY && (ch == 27 || ch == '\n' || ch == '\r' || ch == KEY_ENTER ||
					      ch == KEY_BACKSPACE || ch == KEY_LEFT)) {
		v->overlay = OVERLAY_NONE;
		return true;
	}
	switch (ch) {
	case '?':
	case 'h':
	case KEY_F(1):
		v->overlay = OVERLAY_HELP;
		break;
	case 'p':
	case 'P':
		v->paused = !v->paused;
		v->paused_total = s->events.total;
		break;
	case '/':
		v->overlay = OVERLAY_NONE;
		v->editing_filter = true;
		break;
	case 's':
	case 'S':
		v->sort = (v->sort + 1) % SORT_COUNT;
		break;
	case KEY_UP:
	case 'k':
		v->selected--;
		moved = true;
		break;
	case KEY_DOWN:
	case 'j':
		v->selected++;
		moved = true;
		break;
	case KEY_PPAGE:
		v->event_scroll -= event_rows > 1 ? event_rows - 1 : 1;
		break;
	case KEY_NPAGE:
		v->event_scroll += event_rows > 1 ? event_rows - 1 : 1;
		break;
	case KEY_HOME:
		v->event_scroll = 0;
		break;
	case KEY_END:
		v->event_scroll = (int)s->events.len;
		break;
	case '\n':
	case '\r':
	case KEY_ENTER:
		open_history(s);
		break;
	default:
		break;
	}
	/* A new sort keeps the same app selected; a move selects another. */
	follow_selection(s, !moved);
	clamp_selection(s);
	follow_selection(s, false);
	return true;
}

/* ------------------------------------------------------------------ the two modes */

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static bool locale_is_utf8(void)
{
	const char *cs = nl_langinfo(CODESET);
	return cs && (!strcasecmp(cs, "UTF-8") || !strcasecmp(cs, "utf8"));
}

static int once_width(void)
{
	struct winsize ws;
	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col < TOP_MIN_W ? TOP_MIN_W : ws.ws_col;
	const char *c = getenv("COLUMNS");
	int w = c ? atoi(c) : 0;
	if (w <= 0)
		w = 120;
	if (w < TOP_MIN_W)
		w = TOP_MIN_W;
	return w > 1000 ? 1000 : w;
}

static int run_once(struct top_state *s)
{
	char err[256];
	s->status = fetch_status(s->socket_path, 2000, err, sizeof(err));
	if (!s->status) {
		fprintf(stderr, "amexbpf top: no answer on %s: %s\n", s->socket_path, err);
		return AMX_TOP_EXIT_NO_DAEMON;
	}
	s->connected = true;
	struct amx_control_error e;
	int fd = amx_control_request(s->socket_path, "EVENTS follow=0\n", &e);
	if (fd >= 0) {
		amx_control_lines_init(&s->stream, fd, AMX_CONTROL_EVENT_MAX);
		long long deadline = mono_ms() + 2000;
		while (mono_ms() < deadline) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			if (poll(&pfd, 1, (int)(deadline - mono_ms())) <= 0)
				break;
			if (!drain_stream(s))
				break;
		}
		amx_control_lines_close(&s->stream);
	}
	struct top_view *v = &s->view;
	v->status = s->status;
	v->connected = true;
	struct top_frame f = { .w = once_width(), .h = 0 };
	top_render(v, &f);
	size_t len = (size_t)f.w * 4 + 1;
	char *row = malloc(len);
	for (int r = 0; row && r < f.rows; r++) {
		top_frame_row(&f, r, row, len);
		size_t n = strlen(row);
		while (n > 0 && row[n - 1] == ' ')
			row[--n] = 0;
		puts(row);
	}
	free(row);
	top_frame_free(&f);
	return fflush(stdout) == 0 ? 0 : AMX_EXIT_OS;
}

static int run_live(struct top_state *s, bool no_color)
{
	int rc = top_term_start(no_color);
	if (rc)
		return rc;

	struct top_frame shown = { 0 }, next = { 0 };
	long long next_tick = 0;
	bool crash_test = getenv("AMX_TOP_TEST_CRASH") != NULL; /* tests/e2e only */
	bool force = true;
	for (;;) {
		long long now = mono_ms();
		if (now >= next_tick) {
			refresh_status(s);
			next_tick = now + TICK_MS;
		}
		struct top_view *v = &s->view;
		v->status = s->status;
		v->connected = s->connected;
		v->problem = s->problem[0] ? s->problem : NULL;
		follow_selection(s, true);
		clamp_selection(s);
		top_frame_free(&next);
		next = (struct top_frame){ .w = COLS, .h = LINES };
		top_render(v, &next);
		if (force || !top_frame_equal(&next, &shown)) {
			top_term_paint(&next);
			refresh();
			struct top_frame t = shown;
			shown = next;
			next = t;
			force = false;
			if (crash_test)
				raise(SIGSEGV);
		}

		struct pollfd pfd[3] = {
			{ .fd = STDIN_FILENO, .events = POLLIN },
			{ .fd = top_term_signal_fd(), .events = POLLIN },
			{ .fd = s->stream.fd, .events = POLLIN },
		};
		long long wait = next_tick - mono_ms();
		int pr = poll(pfd, s->stream.fd >= 0 ? 3 : 2, wait > 0 ? (int)wait : 0);
		if (pr < 0 && errno != EINTR)
			break;
		if (top_term_quit_signal()) {
			rc = 128 + top_term_quit_signal();
			break;
		}
		if (pr > 0 && (pfd[2].revents & (POLLIN | POLLHUP | POLLERR)) && s->stream.fd >= 0)
			if (!drain_stream(s))
				next_tick = 0; /* the stream ended: find out why now, not in a second */
		/* Keys, and KEY_RESIZE from ncurses' own SIGWINCH handling (poll saw EINTR). */
		int ch;
		bool quit = false;
		while ((ch = getch()) != ERR) {
			if (ch == KEY_RESIZE) {
				clear(); /* the next paint starts from a blank screen: no garbage */
				force = true;
				continue;
			}
			if (!on_key(s, ch)) {
				quit = true;
				break;
			}
		}
		if (quit)
			break;
	}
	top_term_stop();
	top_frame_free(&shown);
	top_frame_free(&next);
	return rc;
}

int amx_top_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 'S' },
		{ "once", no_argument, NULL, '1' },
		{ "no-color", no_argument, NULL, 'C' },
		{ "no-colour", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static struct top_state s;
	bool once = false, no_color = false;
	s.socket_path = AMX_DEFAULT_SOCKET;
	opterr = 0;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'S': s.socket_path = optarg; break;
		case '1': once = true; break;
		case 'C': no_color = true; break;
		case 'h': fputs(TOP_HELP, stdout); return 0;
		default:
			fprintf(stderr, "amexbpf: unknown option or missing value: %s (see top --help)\n",
				argv[optind - 1]);
			return AMX_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "amexbpf: unexpected argument: %s (see top --help)\n", argv[optind]);
		return AMX_EXIT_USAGE;
	}
	setlocale(LC_ALL, "");
	s.stream.fd = -1;
	top_events_init(&s.events, EVENT_RING);
	s.view.events = &s.events;
	s.view.socket_path = s.socket_path;
	s.view.utf8 = locale_is_utf8();
	int rc = once ? run_once(&s) : run_live(&s, no_color);
	amx_control_lines_close(&s.stream);
	top_events_free(&s.events);
	json_decref(s.status);
	return rc;
}
