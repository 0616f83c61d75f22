/* SPDX-License-Identifier: MIT */
/* `amexbpf top`: the terminal under ncurses. Set up so that it is given back as it was on
 * every way out: q, SIGINT/SIGTERM/SIGHUP (reported through a descriptor the main loop
 * polls), exit(), and a crash (restored by hand from async-signal-safe calls). A frame
 * (top_render.h) is painted with its styles as colours, or as attributes alone. */
#ifndef AMX_TOP_TERM_H
#define AMX_TOP_TERM_H

#include <stdbool.h>

#include "top/top_render.h"

/* Takes over the terminal: 0, or the exit code after a one-line reason on stderr (64 not
 * a terminal, 71 it could not be set up). Colour unless no_color, NO_COLOR, or none. */
int top_term_start(bool no_color);
/* Gives the terminal back (also at exit, when not called). */
void top_term_stop(void);
/* Paints f from the top left (what does not fit the screen is left out). */
void top_term_paint(const struct top_frame *f);
/* Readable after a quit signal; top_term_quit_signal says which (0: none yet). */
int top_term_signal_fd(void);
int top_term_quit_signal(void);

#endif
