/* SPDX-License-Identifier: MIT */
/* subreaper TIMEOUT_S CMD ARGS...: run CMD as a child subreaper so that everything it
 * daemonises (a PM2 God daemon and its apps) is re-parented to us rather than to PID 1,
 * which on these machines never reaps orphans. When CMD exits, or TIMEOUT_S passes, every
 * remaining descendant is killed by pid and reaped. Exit status: CMD's, 124 on time-out. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXIT_TIMED_OUT 124
#define TERM_GRACE_MS 2000
#define POLL_MS 20
#define SIGNAL_GRACE_MS 10000

static volatile sig_atomic_t forwarded_signal;

static void remember_signal(int sig)
{
	forwarded_signal = sig;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Field 4 of /proc/PID/stat, read after the last ')' because comm may hold spaces and ')'. */
static pid_t parent_of(pid_t pid)
{
	char path[64], buf[512];
	FILE *f;
	size_t n;
	char *end;
	int ppid;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	end = strrchr(buf, ')');
	if (!end || sscanf(end + 1, " %*c %d", &ppid) != 1)
		return -1;
	return ppid;
}

/* Signals every live process whose parent is us; returns how many it found. Zombies are
 * counted too (they are reaped by the caller's waitpid loop). */
static int signal_our_children(int sig)
{
	pid_t self = getpid();
	struct dirent *de;
	DIR *proc;
	int found = 0;

	proc = opendir("/proc");
	if (!proc) {
		fprintf(stderr, "subreaper: failed to open /proc: %s\n", strerror(errno));
		return 0;
	}
	while ((de = readdir(proc))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0 || parent_of((pid_t)pid) != self)
			continue;
		found++;
		kill((pid_t)pid, sig);
	}
	closedir(proc);
	return found;
}

static void reap_all_nonblocking(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/* Orphans land on us one generation at a time (a dying parent hands its children to us),
 * so keep signalling until no child is left: SIGTERM first, SIGKILL after the grace. */
static void kill_remaining_descendants(void)
{
	long long deadline = now_ms() + TERM_GRACE_MS;
	int sig = SIGTERM;

	for (;;) {
		int left;

		reap_all_nonblocking();
		left = signal_our_children(sig);
		if (left == 0)
			break;
		if (sig == SIGTERM && now_ms() >= deadline)
			sig = SIGKILL;
		sleep_ms(POLL_MS);
	}
	reap_all_nonblocking();
}

static int usage(void)
{
	fprintf(stderr, "usage: subreaper TIMEOUT_S CMD [ARGS...]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = remember_signal };
	long long deadline;
	int status = 0, result, signal_sent = 0;
	char *end;
	double timeout_s;
	pid_t cmd;

	if (argc < 3)
		return usage();
	timeout_s = strtod(argv[1], &end);
	if (*end || timeout_s <= 0)
		return usage();

	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
		fprintf(stderr, "subreaper: failed to become a child subreaper: %s\n", strerror(errno));
		return 1;
	}
	/* Ctrl-C or a SIGTERM to us ends the run the same way a time-out does. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	cmd = fork();
	if (cmd < 0) {
		fprintf(stderr, "subreaper: failed to fork: %s\n", strerror(errno));
		return 1;
	}
	if (cmd == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		/* Own process group, so a time-out can kill CMD and what it did not daemonise. */
		setpgid(0, 0);
		execvp(argv[2], argv + 2);
		fprintf(stderr, "subreaper: failed to run %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	setpgid(cmd, cmd);

	deadline = now_ms() + (long long)(timeout_s * 1000);
	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG);

		if (pid == cmd) {
			status = st;
			break;
		}
		if (pid > 0)
			continue; /* a reaped orphan */
		if (forwarded_signal && !signal_sent) {
			/* CMD has its own process group, so a Ctrl-C reaches only us: pass it on
			 * and give CMD time to clean up before it is killed. */
			fprintf(stderr, "subreaper: got signal %d: passing it to %s\n",
				(int)forwarded_signal, argv[2]);
			kill(-cmd, forwarded_signal);
			signal_sent = 1;
			if (deadline > now_ms() + SIGNAL_GRACE_MS)
				deadline = now_ms() + SIGNAL_GRACE_MS;
		}
		if (now_ms() >= deadline) {
			fprintf(stderr, "subreaper: %s timed out after %s s\n", argv[2],
				signal_sent ? "the signal grace of 10" : argv[1]);
			kill(-cmd, SIGKILL);
			kill(cmd, SIGKILL);
			waitpid(cmd, &st, 0);
			kill_remaining_descendants();
			return EXIT_TIMED_OUT;
		}
		sleep_ms(POLL_MS);
	}

	kill_remaining_descendants();
	if (WIFEXITED(status))
		result = WEXITSTATUS(status);
	else
		result = 128 + WTERMSIG(status);
	return result;
}
