/* SPDX-License-Identifier: MIT */
/* `amexbpf events` and `amexbpf status`: clients of the control socket (protocol in
 * control.h). They return the process exit code. */
#ifndef AMX_CLIENT_H
#define AMX_CLIENT_H

int amx_client_events(int argc, char **argv);
int amx_client_status(int argc, char **argv);

#endif
