/* SPDX-License-Identifier: MIT */
/* Starting children the one safe way (see spawn.h): execve with an argv, never a shell;
 * the target user's identity; a clean environment; no inherited descriptors; its own
 * session so that a time-out can kill everything it started. */
#include "sys/spawn.h"
#include "sys/sched.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXIT_SETUP_FAILED 126
#define EXIT_EXEC_FAILED 127
#define MAX_GROUPS 256
#define NOT_REAPED (-1) /* neither WIFEXITED nor WIFSIGNALED */
#define FALLBACK_TICK_MS 10
#define OUTPUT_TICK_MS 200

bool amx_user_from_uid(uid_t uid, struct amx_user *u, char *err, size_t errlen)
{
	struct passwd pw, *found = NULL;
	size_t buflen = 16384;
	char *buf = NULL;
	int rc;

	for (;;) {
		char *bigger = realloc(buf, buflen);

		if (!bigger) {
			rc = ENOMEM;
			break;
		}
		buf = bigger;
		rc = getpwuid_r(uid, &pw, buf, buflen, &found);
		if (rc != ERANGE || buflen >= (1 << 20))
			break;
		buflen *= 2;
	}
	if (rc != 0 || !found) {
		if (rc)
			snprintf(err, errlen, "cannot look up uid %u: %s", (unsigned)uid, strerror(rc));
		else
			snprintf(err, errlen, "cannot look up uid %u: no such user", (unsigned)uid);
		free(buf);
		return false;
	}
	if (strlen(pw.pw_name) >= sizeof(u->name) ||
	    (pw.pw_dir && strlen(pw.pw_dir) >= sizeof(u->home))) {
		snprintf(err, errlen, "cannot use user of uid %u: name or home too long",
			 (unsigned)uid);
		free(buf);
		return false;
	}
	memset(u, 0, sizeof(*u));
	u->uid = pw.pw_uid;
	u->gid = pw.pw_gid;
	strcpy(u->name, pw.pw_name);
	strcpy(u->home, pw.pw_dir && pw.pw_dir[0] ? pw.pw_dir : "/");
	free(buf);
	return true;
}

/* ---- the environment ---- */

/* Everything the child needs, prepared before fork(): after fork only async-signal-safe
 * calls are allowed (the daemon has threads), so no malloc, no NSS, no stdio there. */
struct spawn_plan {
	char *env[6];
	char home[4096 + 8];
	char user[64 + 8];
	char logname[64 + 16];
	char pm2_home[PATH_MAX + 16];
	char path[3 * PATH_MAX + 64];
	gid_t groups[MAX_GROUPS];
	int ngroups;
	bool change_identity;
	rlim_t max_fd;
	struct rlimit limits[RLIM_NLIMITS];
	bool have_limits[RLIM_NLIMITS];
};

/* The limits this process started with, before anything (a unit's LimitNOFILE aside) raised
 * or lowered them: what a child gets back, not the daemon's own. */
static struct rlimit start_limits[RLIM_NLIMITS];
static bool have_start_limits[RLIM_NLIMITS];

static void __attribute__((noreturn)) child_fail(const char *what, int err);

__attribute__((constructor)) static void save_start_limits(void)
{
	for (int r = 0; r < RLIM_NLIMITS; r++)
		have_start_limits[r] = getrlimit(r, &start_limits[r]) == 0;
}

/* A child must not keep the daemon's protection: the unit's OOMScoreAdjust=-900 would
 * shield a resurrected PM2 daemon and every app it starts from the OOM killer, and our
 * umask and limits are not the user's. Async-signal-safe calls only (after fork). */
static void child_reset_protection(const struct spawn_plan *plan)
{
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);

	if (fd < 0 && errno != ENOENT)
		child_fail("cannot open /proc/self/oom_score_adj", errno);
	if (fd >= 0) {
		if (write(fd, "0", 1) != 1)
			child_fail("cannot reset oom_score_adj", errno);
		close(fd);
	}
	/* Without CAP_SYS_RESOURCE a limit lowered since start cannot go back up: lower is
	 * no protection, so it stays as it is. */
	for (int r = 0; r < RLIM_NLIMITS; r++)
		if (plan->have_limits[r])
			setrlimit(r, &plan->limits[r]);
	umask(022);
}

static void path_append_dir(char *path, size_t len, const char *dir)
{
	size_t dlen = strlen(dir);
	const char *p = path + 5; /* after "PATH=" */

	if (dlen == 0)
		return;
	/* Skip a directory already listed: the first occurrence wins. */
	while (*p) {
		size_t n = strcspn(p, ":");

		if (n == dlen && strncmp(p, dir, n) == 0)
			return;
		p += n;
		if (*p == ':')
			p++;
	}
	if (strlen(path) + dlen + 2 > len)
		return;
	if (path[5])
		strcat(path, ":");
	strcat(path, dir);
}

static void dir_of(const char *file, char *dir, size_t len)
{
	const char *slash = strrchr(file, '/');
	size_t n = slash ? (size_t)(slash - file) : 0;

	if (n == 0 && slash) /* "/x" lives in "/" */
		n = 1;
	if (n >= len)
		n = 0;
	memcpy(dir, file, n);
	dir[n] = '\0';
}

/* The directory of the first executable "node" in our own PATH: pm2 is a
 * "#!/usr/bin/env node" script, so the child must find node through PATH. */
static bool find_node_dir(char *dir, size_t len)
{
	const char *p = getenv("PATH");

	while (p && *p) {
		size_t n = strcspn(p, ":");
		char candidate[PATH_MAX];

		if (n > 0 && p[0] == '/' && n + sizeof("/node") <= sizeof(candidate)) {
			memcpy(candidate, p, n);
			strcpy(candidate + n, "/node");
			if (access(candidate, X_OK) == 0 && n < len) {
				memcpy(dir, p, n);
				dir[n] = '\0';
				return true;
			}
		}
		p += n;
		if (*p == ':')
			p++;
	}
	return false;
}

static void plan_environment(struct spawn_plan *plan, const char *exe, const char *node,
			     const struct amx_user *u, const char *pm2_home)
{
	char dir[PATH_MAX];
	int n = 0;

	snprintf(plan->home, sizeof(plan->home), "HOME=%s", u->home);
	snprintf(plan->user, sizeof(plan->user), "USER=%s", u->name);
	snprintf(plan->logname, sizeof(plan->logname), "LOGNAME=%s", u->name);
	strcpy(plan->path, "PATH=");
	/* The node that runs this pm2 comes first: with nvm, n or volta each user has their
	 * own, and ours (root's) may not exist at all. */
	if (node && node[0] == '/') {
		dir_of(node, dir, sizeof(dir));
		path_append_dir(plan->path, sizeof(plan->path), dir);
	}
	dir_of(exe, dir, sizeof(dir));
	path_append_dir(plan->path, sizeof(plan->path), dir);
	if ((!node || node[0] != '/') && find_node_dir(dir, sizeof(dir)))
		path_append_dir(plan->path, sizeof(plan->path), dir);
	path_append_dir(plan->path, sizeof(plan->path), "/usr/local/bin");
	path_append_dir(plan->path, sizeof(plan->path), "/usr/bin");
	path_append_dir(plan->path, sizeof(plan->path), "/bin");

	plan->env[n++] = plan->home;
	plan->env[n++] = plan->user;
	plan->env[n++] = plan->logname;
	if (pm2_home) {
		snprintf(plan->pm2_home, sizeof(plan->pm2_home), "PM2_HOME=%s", pm2_home);
		plan->env[n++] = plan->pm2_home;
	}
	plan->env[n++] = plan->path;
	plan->env[n] = NULL;
}

/* The supplementary groups initgroups() would set, looked up now, in the parent: NSS
 * lookups after fork() in a threaded process can deadlock on a lock held by a thread
 * that no longer exists in the child. */
static void plan_groups(struct spawn_plan *plan, const struct amx_user *u)
{
	int n = MAX_GROUPS;

	if (getgrouplist(u->name, u->gid, plan->groups, &n) < 0 || n < 1) {
		plan->groups[0] = u->gid;
		n = 1;
	}
	plan->ngroups = n;
}

/* ---- the child (async-signal-safe only) ---- */

/* One line to the output pipe, built without stdio (not async-signal-safe). */
static void child_say(const char *a, const char *b, const char *c, const char *d)
{
	char line[PATH_MAX + 256];
	size_t n = 0;
	const char *parts[] = { a, b, c, d, "\n" };

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		size_t len;

		if (!parts[i])
			continue;
		len = strlen(parts[i]);
		if (n + len >= sizeof(line))
			len = sizeof(line) - n - 1;
		memcpy(line + n, parts[i], len);
		n += len;
	}
	if (write(STDOUT_FILENO, line, n) < 0) {
		/* nobody left to tell */
	}
}

static void __attribute__((noreturn)) child_fail(const char *what, int err)
{
	const char *desc = strerrordesc_np(err); /* static text, safe after fork */

	child_say(what, ": ", desc ? desc : "unknown error", NULL);
	_exit(EXIT_SETUP_FAILED);
}

static void child_close_inherited(const struct spawn_plan *plan)
{
	if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0)
		return;
	/* Kernels before 5.9 lack close_range. */
	for (rlim_t fd = 3; fd < plan->max_fd; fd++)
		close((int)fd);
}

static void child_become_user(const struct spawn_plan *plan, const struct amx_user *u)
{
	if (setgroups((size_t)plan->ngroups, plan->groups) != 0 &&
	    setgroups(1, &u->gid) != 0)
		child_fail("cannot set supplementary groups", errno);
	if (setgid(u->gid) != 0)
		child_fail("cannot set group id", errno);
	if (setuid(u->uid) != 0)
		child_fail("cannot set user id", errno);
	/* Belt and braces: a partial switch must never run pm2 with privileges left. */
	if (getuid() != u->uid || geteuid() != u->uid || getgid() != u->gid ||
	    getegid() != u->gid)
		child_fail("cannot switch identity", EPERM);
	if (u->uid != 0 && setuid(0) != -1)
		child_fail("cannot drop root for good", EPERM);
}

static void child_reset_signals(void)
{
	sigset_t none;
	struct sigaction dfl;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	/* Ignored signals stay ignored across execve (the daemon ignores SIGPIPE). */
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static void __attribute__((noreturn))
child_run(const struct spawn_plan *plan, const struct amx_argv *argv, const struct amx_user *u,
	  int out_w, int in_r)
{
	int stdin_fd;

	child_reset_signals();
	/* SCHED_RESET_ON_FORK already made it SCHED_OTHER, nice 0: said again, and the
	 * daemon's RLIMIT_RTTIME guard given back (while still root). */
	amx_sched_child_reset();
	setsid();
	if (dup2(out_w, STDOUT_FILENO) < 0 || dup2(out_w, STDERR_FILENO) < 0)
		_exit(EXIT_SETUP_FAILED);
	stdin_fd = in_r >= 0 ? in_r : open("/dev/null", O_RDONLY);
	if (stdin_fd < 0)
		child_fail("cannot open /dev/null", errno);
	if (stdin_fd != STDIN_FILENO && dup2(stdin_fd, STDIN_FILENO) < 0)
		child_fail("cannot redirect stdin", errno);
	child_reset_protection(plan); /* as root still: a limit may go back up */
	if (plan->change_identity)
		child_become_user(plan, u);
	if (chdir(u->home) != 0 && chdir("/") != 0)
		child_fail("cannot change directory to /", errno);
	child_close_inherited(plan);
	execve(argv->v[0], (char *const *)argv->v, plan->env);
	{
		int err = errno;
		const char *desc = strerrordesc_np(err);

		child_say("cannot run ", argv->v[0], ": ", desc ? desc : "unknown error");
	}
	_exit(EXIT_EXEC_FAILED);
}

/* ---- the parent ---- */

/* A pipe already holding input and closed for writing; its read end (above 2, CLOEXEC:
 * dup2 onto 0 in the child clears that), or -errno. */
static int input_pipe(const char *input, size_t len)
{
	int p[2], rc;

	if (len > AMX_SPAWN_INPUT_MAX)
		return -EMSGSIZE;
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0)
		return -errno;
	if (len > 65536 && fcntl(p[1], F_SETPIPE_SZ, (int)len) < 0) {
		rc = -EMSGSIZE;
		goto fail;
	}
	for (size_t off = 0; off < len;) {
		ssize_t n = write(p[1], input + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 && errno != EAGAIN ? -errno : -EMSGSIZE;
			goto fail;
		}
		off += (size_t)n;
	}
	close(p[1]);
	/* The child reads it blocking, as any program expects of its stdin. */
	fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) & ~O_NONBLOCK);
	if (p[0] <= STDERR_FILENO) {
		int moved = fcntl(p[0], F_DUPFD_CLOEXEC, 3);

		close(p[0]);
		return moved < 0 ? -errno : moved;
	}
	return p[0];
fail:
	close(p[0]);
	close(p[1]);
	return rc;
}

static int spawn_with(struct amx_child *c, const struct amx_argv *argv, const struct amx_user *u,
		      const char *pm2_home, int in_r, char *err, size_t errlen);

int amx_spawn(struct amx_child *c, const struct amx_argv *argv, const struct amx_user *u,
	      const char *pm2_home, char *err, size_t errlen)
{
	return spawn_with(c, argv, u, pm2_home, -1, err, errlen);
}

int amx_spawn_input(struct amx_child *c, const struct amx_argv *argv, const struct amx_user *u,
		    const char *pm2_home, const char *input, size_t len, char *err, size_t errlen)
{
	int in_r = input_pipe(input, len);
	int rc;

	if (in_r < 0) {
		memset(c, 0, sizeof(*c));
		c->pid = -1;
		c->pidfd = -1;
		c->out_fd = -1;
		snprintf(err, errlen, "cannot prepare stdin for %s: %s",
			 argv && argv->n ? argv->v[0] : "?", strerror(-in_r));
		return in_r;
	}
	rc = spawn_with(c, argv, u, pm2_home, in_r, err, errlen);
	close(in_r);
	return rc;
}

static int spawn_with(struct amx_child *c, const struct amx_argv *argv, const struct amx_user *u,
		      const char *pm2_home, int in_r, char *err, size_t errlen)
{
	struct spawn_plan *plan;
	struct rlimit lim;
	int outfd, rc = 0;
	pid_t pid;

	memset(c, 0, sizeof(*c));
	c->pid = -1;
	c->pidfd = -1;
	c->out_fd = -1;
	c->wait_status = NOT_REAPED;
	if (!argv || argv->n < 1 || !argv->v[0] || argv->v[0][0] != '/' || !u) {
		snprintf(err, errlen, "cannot spawn: the program must be an absolute path");
		return -EINVAL;
	}
	if (geteuid() != 0 && u->uid != getuid()) {
		snprintf(err, errlen, "cannot run %s as %s: not running as root", argv->v[0],
			 u->name);
		return -EPERM;
	}

	plan = calloc(1, sizeof(*plan));
	if (!plan) {
		snprintf(err, errlen, "cannot spawn %s: out of memory", argv->v[0]);
		return -ENOMEM;
	}
	plan_environment(plan, argv->v[0], argv->node, u, pm2_home);
	plan->change_identity = geteuid() == 0;
	if (plan->change_identity)
		plan_groups(plan, u);
	plan->max_fd = getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY
			       ? lim.rlim_cur : 65536;
	memcpy(plan->limits, start_limits, sizeof(plan->limits));
	memcpy(plan->have_limits, have_start_limits, sizeof(plan->have_limits));

	/* Output goes to an anonymous memory file, not a pipe: a tier command must finish
	 * even when we are killed meanwhile (a pipe would give it EPIPE, and `pm2 resurrect`
	 * would die between starting the daemon and starting the apps). Read when it ends. */
	outfd = memfd_create("amexbpf-child-output", MFD_CLOEXEC);
	if (outfd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot create an output file: %s", strerror(-rc));
		free(plan);
		return rc;
	}
	/* With stdio closed the file may land on 0..2, where dup2 in the child would be a
	 * no-op that keeps FD_CLOEXEC: move it above 2 first. */
	if (outfd <= STDERR_FILENO) {
		int moved = fcntl(outfd, F_DUPFD_CLOEXEC, 3);

		if (moved < 0) {
			rc = -errno;
			snprintf(err, errlen, "cannot move the output file: %s", strerror(-rc));
			close(outfd);
			free(plan);
			return rc;
		}
		close(outfd);
		outfd = moved;
	}

	pid = fork();
	if (pid < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot fork for %s: %s", argv->v[0], strerror(-rc));
		close(outfd);
		free(plan);
		return rc;
	}
	if (pid == 0)
		child_run(plan, argv, u, outfd, in_r);

	free(plan);
	c->pid = pid;
	c->out_fd = outfd;
	/* The child cannot be reaped behind our back before this (it is ours and unwaited),
	 * so the pidfd names exactly this child. Without pidfds (kernels before 5.3, or
	 * valgrind) the pid itself is safe for the same reason, until we reap it. */
	c->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	return 0;
}

char *amx_child_read_all(const struct amx_child *c, size_t max, size_t *len)
{
	struct stat st;
	if (c->out_fd < 0 || fstat(c->out_fd, &st) < 0 || (uint64_t)st.st_size > max)
		return NULL;
	char *buf = malloc((size_t)st.st_size + 1);
	size_t got = 0;
	while (buf && got < (size_t)st.st_size) {
		ssize_t n = pread(c->out_fd, buf + got, (size_t)st.st_size - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (buf) {
		buf[got] = '\0';
		*len = got;
	}
	return buf;
}

bool amx_child_read_output(struct amx_child *c)
{
	struct stat st;

	if (c->keep_all_output)
		return c->out_fd >= 0; /* read whole by amx_child_read_all */

	while (c->out_fd >= 0) {
		size_t room = sizeof(c->output) - 1 - c->out_len;
		ssize_t n;

		if (room == 0) {
			/* Full: what comes beyond is dropped, and its memory given back, so that a
			 * chatty child costs at most what it writes between two reads. */
			if (fstat(c->out_fd, &st) == 0 && (uint64_t)st.st_size > c->out_off) {
				c->truncated = true;
				fallocate(c->out_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					  (off_t)c->out_off, st.st_size - (off_t)c->out_off);
				c->out_off = (uint64_t)st.st_size;
			}
			break;
		}
		n = pread(c->out_fd, c->output + c->out_len, room, (off_t)c->out_off);
		if (n > 0) {
			c->out_len += (size_t)n;
			c->out_off += (uint64_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		break; /* all written so far is read */
	}
	c->output[c->out_len] = '\0';
	return c->out_fd >= 0;
}

void amx_child_kill_group(struct amx_child *c)
{
	if (c->pid <= 0 || c->wait_status != NOT_REAPED)
		return; /* once reaped, the group id may belong to someone else */
	c->timed_out = true;
	kill(-c->pid, SIGKILL);
	/* Before its setsid() the child has no group of its own yet. */
	if (c->pidfd >= 0)
		syscall(SYS_pidfd_send_signal, c->pidfd, SIGKILL, NULL, 0);
}

static int wait_status_from(const siginfo_t *info)
{
	switch (info->si_code) {
	case CLD_EXITED:
		return (info->si_status & 0xff) << 8;
	case CLD_KILLED:
		return info->si_status & 0x7f;
	case CLD_DUMPED:
		return (info->si_status & 0x7f) | 0x80;
	default:
		return NOT_REAPED;
	}
}

static bool reap(struct amx_child *c, bool block)
{
	siginfo_t info;
	int rc;

	if (c->wait_status != NOT_REAPED)
		return true;
	if (c->pid <= 0)
		return false;
	if (c->pidfd < 0) {
		int status;
		pid_t got;

		do
			got = waitpid(c->pid, &status, block ? 0 : WNOHANG);
		while (got < 0 && errno == EINTR);
		if (got != c->pid)
			return false;
		c->wait_status = status;
		return true;
	}
	memset(&info, 0, sizeof(info));
	do
		rc = waitid(P_PIDFD, (id_t)c->pidfd, &info, WEXITED | (block ? 0 : WNOHANG));
	while (rc < 0 && errno == EINTR);
	if (rc < 0 || info.si_pid == 0)
		return false;
	c->wait_status = wait_status_from(&info);
	return c->wait_status != NOT_REAPED;
}

bool amx_child_reap(struct amx_child *c)
{
	return reap(c, false);
}

void amx_child_release(struct amx_child *c)
{
	if (c->pidfd >= 0)
		close(c->pidfd);
	if (c->out_fd >= 0)
		close(c->out_fd);
	c->pidfd = -1;
	c->out_fd = -1;
}

void amx_child_describe(const struct amx_child *c, int timeout_s, char *buf, size_t len)
{
	const char *sig;

	if (c->timed_out)
		snprintf(buf, len, "timed out after %d s", timeout_s);
	else if (c->wait_status == NOT_REAPED)
		snprintf(buf, len, "still running");
	else if (WIFEXITED(c->wait_status))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(c->wait_status));
	else if (WIFSIGNALED(c->wait_status)) {
		sig = sigabbrev_np(WTERMSIG(c->wait_status));
		if (sig)
			snprintf(buf, len, "killed by SIG%s", sig);
		else
			snprintf(buf, len, "killed by signal %d", WTERMSIG(c->wait_status));
	} else
		snprintf(buf, len, "ended with wait status %d", c->wait_status);
}

bool amx_child_succeeded(const struct amx_child *c)
{
	return !c->timed_out && c->wait_status != NOT_REAPED && WIFEXITED(c->wait_status) &&
	       WEXITSTATUS(c->wait_status) == 0;
}

static int64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int amx_run_wait(struct amx_child *c, const struct amx_argv *argv, const struct amx_user *u,
		 const char *pm2_home, int timeout_s, char *err, size_t errlen)
{
	int rc = amx_spawn(c, argv, u, pm2_home, err, errlen);

	return rc ? rc : amx_child_wait(c, argv->v[0], timeout_s, err, errlen);
}

const struct amx_user *amx_user_root(void)
{
	static const struct amx_user root = { .uid = 0, .gid = 0, .name = "root", .home = "/" };

	return &root;
}

int amx_child_wait(struct amx_child *c, const char *what, int timeout_s, char *err, size_t errlen)
{
	int rc = 0;
	int64_t deadline;

	deadline = monotonic_ms() + (int64_t)timeout_s * 1000;
	while (!amx_child_reap(c)) {
		/* Only the pidfd: the output is a memory file, always "readable" to poll, which
		 * would spin. It is read every OUTPUT_TICK_MS to keep its size bounded. */
		struct pollfd fd = { .fd = c->pidfd, .events = POLLIN }; /* -1 is ignored */
		int64_t left = deadline - monotonic_ms();
		int wait_ms, n;

		if (left <= 0) {
			amx_child_kill_group(c);
			reap(c, true);
			break;
		}
		wait_ms = left > OUTPUT_TICK_MS ? OUTPUT_TICK_MS : (int)left;
		/* Without a pidfd nothing wakes us at the exit: check every few milliseconds. */
		if (c->pidfd < 0 && wait_ms > FALLBACK_TICK_MS)
			wait_ms = FALLBACK_TICK_MS;
		n = poll(&fd, 1, wait_ms);
		if (n < 0 && errno != EINTR) {
			rc = -errno;
			snprintf(err, errlen, "cannot wait for %s: %s", what, strerror(-rc));
			amx_child_kill_group(c);
			reap(c, true);
			break;
		}
		amx_child_read_output(c);
	}
	/* The rest of what it wrote (a grandchild still writing there does not hold us). */
	amx_child_read_output(c);
	return rc;
}
