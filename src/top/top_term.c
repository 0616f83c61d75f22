/* SPDX-License-Identifier: MIT */
/* `amexbpf top`: the terminal (see top_term.h): set up, painted, and given back. */
#include <errno.h>
#include <fcntl.h>
#include <ncurses.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <term.h>
#include <termios.h>
#include <unistd.h>

#include "core/options.h"
#include "top/top_term.h"

/* What puts the terminal back, saved before ncurses changes it: a crash handler can only
 * use async-signal-safe calls, so it restores these bytes and modes by hand. */
static struct termios saved_tio;
static bool have_saved_tio;
static char reset_seq[256];
static size_t reset_len;
static volatile sig_atomic_t curses_on;
static int sig_pipe[2] = { -1, -1 };
static volatile sig_atomic_t quit_signal;

static void add_reset_cap(const char *cap)
{
	char *s = tigetstr((char *)cap);
	if (!s || s == (char *)-1)
		return;
	size_t n = strlen(s);
	if (reset_len + n < sizeof(reset_seq)) {
		memcpy(reset_seq + reset_len, s, n + 1); /* with its NUL: there is room */
		reset_len += n;
	}
}

static void on_crash(int sig)
{
	if (curses_on) {
		if (reset_len)
			(void)!write(STDOUT_FILENO, reset_seq, reset_len);
		(void)!write(STDOUT_FILENO, "\r\n", 2);
		if (have_saved_tio)
			tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
	}
	static const char msg[] = "amexbpf top: crashed; terminal restored\n";
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void on_quit(int sig)
{
	quit_signal = sig;
	int saved = errno;
	(void)!write(sig_pipe[1], "q", 1);
	errno = saved;
}

void top_term_stop(void)
{
	if (curses_on) {
		curses_on = 0;
		endwin();
	}
}

static void install_handlers(void)
{
	struct sigaction sa = { .sa_handler = on_quit };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	struct sigaction sc = { .sa_handler = on_crash, .sa_flags = SA_RESETHAND };
	sigemptyset(&sc.sa_mask);
	int crash[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
	for (size_t i = 0; i < sizeof(crash) / sizeof(crash[0]); i++)
		sigaction(crash[i], &sc, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* ------------------------------------------------------------------ styles */

static attr_t style_attr[TS_COUNT];

static void setup_styles(bool color)
{
	/* Without colour, attributes alone must still tell a problem from the rest. */
	attr_t mono[TS_COUNT] = {
		[TS_NORMAL] = A_NORMAL, [TS_BOLD] = A_BOLD, [TS_TITLE] = A_REVERSE, [TS_DIM] = A_DIM,
		[TS_OK] = A_NORMAL, [TS_WARN] = A_BOLD, [TS_ERR] = A_BOLD | A_UNDERLINE,
		[TS_CRIT] = A_BOLD | A_REVERSE, [TS_SELECTED] = A_BOLD | A_REVERSE,
	};
	memcpy(style_attr, mono, sizeof(mono));
	if (!color)
		return;
	start_color();
	use_default_colors();
	init_pair(1, COLOR_GREEN, -1);
	init_pair(2, COLOR_YELLOW, -1);
	init_pair(3, COLOR_RED, -1);
	init_pair(4, COLOR_WHITE, COLOR_RED);
	init_pair(5, COLOR_BLACK, COLOR_CYAN);
	init_pair(6, COLOR_BLACK, COLOR_WHITE);
	style_attr[TS_OK] = COLOR_PAIR(1);
	style_attr[TS_WARN] = COLOR_PAIR(2) | A_BOLD;
	style_attr[TS_ERR] = COLOR_PAIR(3) | A_BOLD;
	style_attr[TS_CRIT] = COLOR_PAIR(4) | A_BOLD;
	style_attr[TS_TITLE] = COLOR_PAIR(5);
	style_attr[TS_SELECTED] = COLOR_PAIR(6) | A_BOLD;
}

void top_term_paint(const struct top_frame *f)
{
	erase();
	for (int r = 0; r < f->rows && r < LINES; r++) {
		int c = 0;
		while (c < f->w && c < COLS) {
			/* One run of same-styled cells per addstr. */
			unsigned char st = f->cells[(size_t)r * (size_t)f->w + (size_t)c].style;
			char run[2048];
			size_t n = 0;
			int start = c;
			while (c < f->w && c < COLS) {
				const struct top_cell *x = &f->cells[(size_t)r * (size_t)f->w + (size_t)c];
				size_t k = strlen(x->ch);
				if (x->style != st || n + k + 1 > sizeof(run))
					break;
				memcpy(run + n, x->ch, k);
				n += k;
				c++;
			}
			run[n] = 0;
			attrset(style_attr[st < TS_COUNT ? st : TS_NORMAL]);
			mvaddstr(r, start, run);
		}
	}
	attrset(A_NORMAL);
	move(LINES - 1, 0);
}

/* ------------------------------------------------------------------ start */

int top_term_start(bool no_color)
{
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "amexbpf top: needs a terminal (use --once for a plain-text frame)\n");
		return AMX_EXIT_USAGE;
	}
	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		fprintf(stderr, "amexbpf top: pipe: %s\n", strerror(errno));
		return AMX_EXIT_OS;
	}
	have_saved_tio = tcgetattr(STDIN_FILENO, &saved_tio) == 0;
	install_handlers();
	if (!initscr()) {
		fprintf(stderr, "amexbpf top: cannot set up the terminal (TERM=%s)\n",
			getenv("TERM") ? getenv("TERM") : "");
		return AMX_EXIT_OS;
	}
	curses_on = 1;
	atexit(top_term_stop);
	add_reset_cap("sgr0");
	add_reset_cap("cnorm");
	add_reset_cap("rmkx");
	add_reset_cap("rmcup");
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	const char *nc = getenv("NO_COLOR");
	setup_styles(!no_color && !(nc && *nc) && has_colors());
	return 0;
}

int top_term_signal_fd(void)
{
	return sig_pipe[0];
}

int top_term_quit_signal(void)
{
	return quit_signal;
}
