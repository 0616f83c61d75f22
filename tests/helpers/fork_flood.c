/* SPDX-License-Identifier: MIT */
/* fork_flood N GO_FILE: the hostile tenant's many-children process (tests/e2e/t_x_fork_flood.sh).
 * Becomes a session leader (its children are one process group, killed by pgid), waits
 * until GO_FILE exists, forks N children that only pause() (each dies with it:
 * PR_SET_PDEATHSIG), says "ready N" on stdout and pauses. Started under a PM2 God
 * daemon's title (exec -a), amexbpf takes it for that home's daemon. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: fork_flood N GO_FILE\n");
		return 2;
	}
	long n = strtol(argv[1], NULL, 10);
	if (n < 0 || n > 100000)
		return 2;
	setsid();
	pid_t self = getpid();
	struct stat st;
	while (stat(argv[2], &st) < 0)
		usleep(20 * 1000);
	long made = 0;
	for (; made < n; made++) {
		pid_t p = fork();
		if (p < 0) {
			fprintf(stderr, "fork_flood: fork %ld: errno %d\n", made, errno);
			break;
		}
		if (p == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != self)
				_exit(0);
			for (;;)
				pause();
		}
	}
	printf("ready %ld\n", made);
	fflush(stdout);
	for (;;)
		pause();
}
