/* SPDX-License-Identifier: MIT */
/* `amexbpf top`: the live terminal view (top.c), a client of the control socket. */
#ifndef AMX_TOP_H
#define AMX_TOP_H

/* --once and no daemon answers on the socket (sysexits' EX_UNAVAILABLE). */
#define AMX_TOP_EXIT_NO_DAEMON 69

/* argv[0] is "top". Returns the exit code. */
int amx_top_main(int argc, char **argv);

#endif
