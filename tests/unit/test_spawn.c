/* SPDX-License-Identifier: MIT */
/* Spawning children: hostile names stay one word, identity, environment,
 * descriptors, time-outs. Runs real children, so it needs root (as CI has). */
#include "check.h"
#include "test_users.h"
#include "sys/spawn.h"
#include "sys/systemd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>


static void argv_from(struct amx_argv *a, const char *const *words)
{
	memset(a, 0, sizeof(*a));
	while (words[a->n] && a->n < AMX_ARGV_MAX) {
		a->v[a->n] = words[a->n];
		a->n++;
	}
	a->v[a->n] = NULL;
}

static int line_count(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static bool has_line(const char *output, const char *line)
{
	size_t n = strlen(line);
	const char *p = output;

	while ((p = strstr(p, line)) != NULL) {
		if ((p == output || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return true;
		p += n;
	}
	return false;
}

/* The decisions are unit-tested with the builder (test_tier_command.c); this is the look. */
TEST(systemd_booted_is_the_run_directory)
{
	struct stat st;
	bool expected = lstat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);

	CHECK(amx_systemd_booted() == expected);
}

TEST(user_lookup)
{
	struct amx_user u;
	char err[256] = "";

	CHECK(amx_user_from_uid(0, &u, err, sizeof(err)));
	CHECK(u.uid == 0 && u.gid == 0);
	CHECK_STR(u.name, "root");
	CHECK_STR(u.home, "/root");
	CHECK(!amx_user_from_uid(3999999, &u, err, sizeof(err)));
	CHECK(strstr(err, "3999999") != NULL);
}

TEST(runs_as_target_user_without_root_groups)
{
	struct amx_user u = nobody();
	const char *words[] = { "/usr/bin/id", NULL };
	struct amx_argv a;
	struct amx_child c;
	char err[256], want[128];
	const char *groups;

	CHECK(u.uid != 0);
	argv_from(&a, words);
	CHECK(amx_run_wait(&c, &a, &u, NULL, 10, err, sizeof(err)) == 0);
	CHECK(amx_child_succeeded(&c));
	snprintf(want, sizeof(want), "uid=%u(%s) ", (unsigned)u.uid, u.name);
	CHECK(strncmp(c.output, want, strlen(want)) == 0);
	snprintf(want, sizeof(want), " gid=%u(", (unsigned)u.gid);
	CHECK(strstr(c.output, want) != NULL);
	groups = strstr(c.output, "groups=");
	CHECK(groups != NULL);
	CHECK(groups && strstr(groups, "=0(") == NULL && strstr(groups, ",0(") == NULL);
	CHECK(strstr(c.output, "root") == NULL);
	amx_child_release(&c);
}

TEST(environment_is_exactly_the_clean_one)
{
	struct amx_user u = nobody();
	const char *words[] = { "/usr/bin/env", NULL };
	struct amx_argv a;
	struct amx_child c;
	char err[256], want[4200], node_dir[4096] = "";
	const char *path_env = getenv("PATH"), *p;

	setenv("AMX_SECRET_TEST_VAR", "leak", 1);
	argv_from(&a, words);
	CHECK(amx_run_wait(&c, &a, &u, "/tmp/amx-h5-pm2home", 10, err, sizeof(err)) == 0);
	CHECK(amx_child_succeeded(&c));
	CHECK(line_count(c.output) == 5);
	snprintf(want, sizeof(want), "HOME=%s", u.home);
	CHECK(has_line(c.output, want));
	snprintf(want, sizeof(want), "USER=%s", u.name);
	CHECK(has_line(c.output, want));
	snprintf(want, sizeof(want), "LOGNAME=%s", u.name);
	CHECK(has_line(c.output, want));
	CHECK(has_line(c.output, "PM2_HOME=/tmp/amx-h5-pm2home"));
	CHECK(strstr(c.output, "AMX_SECRET_TEST_VAR") == NULL);

	/* PATH: the program's dir first, then node's, then the usual ones. */
	p = strstr(c.output, "PATH=");
	CHECK(p && strncmp(p, "PATH=/usr/bin:", 14) == 0);
	for (const char *d = path_env; d && *d && !node_dir[0];) {
		size_t n = strcspn(d, ":");
		char candidate[4200];

		snprintf(candidate, sizeof(candidate), "%.*s/node", (int)n, d);
		if (d[0] == '/' && access(candidate, X_OK) == 0)
			snprintf(node_dir, sizeof(node_dir), "%.*s", (int)n, d);
		d += n;
		if (*d == ':')
			d++;
	}
	CHECK(node_dir[0] != '\0');
	CHECK(p && strstr(p, node_dir) != NULL);
	CHECK(p && strstr(p, "/usr/local/bin") != NULL);
	CHECK(p && strstr(p, ":/bin\n") != NULL);
	amx_child_release(&c);

	/* The node that runs pm2 named (nvm): its directory first, and no other node's. */
	a.node = "/opt/amx-nvm/v20/bin/node";
	CHECK(amx_run_wait(&c, &a, &u, "/tmp/amx-h5-pm2home", 10, err, sizeof(err)) == 0);
	p = strstr(c.output, "PATH=");
	CHECK(p && strncmp(p, "PATH=/opt/amx-nvm/v20/bin:/usr/bin:/usr/local/bin:/bin\n",
			   strlen("PATH=/opt/amx-nvm/v20/bin:/usr/bin:/usr/local/bin:/bin\n")) == 0);
	amx_child_release(&c);
	a.node = NULL;

	/* Without a PM2_HOME there is none at all. */
	CHECK(amx_run_wait(&c, &a, &u, NULL, 10, err, sizeof(err)) == 0);
	CHECK(line_count(c.output) == 4);
	CHECK(strstr(c.output, "PM2_HOME") == NULL);
	amx_child_release(&c);
	unsetenv("AMX_SECRET_TEST_VAR");
}

TEST(descriptors_are_not_inherited)
{
	struct amx_user u = nobody();
	const char *words[] = { "/bin/ls", "-l", "/proc/self/fd", NULL };
	struct amx_argv a;
	struct amx_child c;
	char err[256], name[64];
	int leaky, links = 0;
	const char *p;

	snprintf(name, sizeof(name), "/tmp/amx-h5-leak-%d", (int)getpid());
	leaky = open(name, O_RDWR | O_CREAT, 0600); /* deliberately no O_CLOEXEC */
	CHECK(leaky >= 0);
	argv_from(&a, words);
	CHECK(amx_run_wait(&c, &a, &u, NULL, 10, err, sizeof(err)) == 0);
	CHECK(amx_child_succeeded(&c));
	CHECK(strstr(c.output, name) == NULL);
	CHECK(strstr(c.output, "0 -> /dev/null") != NULL);
	for (p = c.output; (p = strstr(p, " -> ")) != NULL; p += 4)
		links++;
	CHECK(links == 4); /* 0, 1, 2 and ls's own directory handle */
	amx_child_release(&c);
	close(leaky);
	unlink(name);
}

TEST(hostile_name_is_printed_literally)
{
	struct amx_user u = nobody();
	char name1[192], name2[192], marker[64], err[256], want[256];
	const char *names[2] = { name1, name2 };
	struct amx_argv a;
	struct amx_child c;

	snprintf(marker, sizeof(marker), "/tmp/amx-p-%d", (int)getpid());
	snprintf(name1, sizeof(name1), "x;touch %s", marker);
	snprintf(name2, sizeof(name2), "$(touch %s)`touch %s`", marker, marker);
	unlink(marker);
	for (int i = 0; i < 2; i++) {
		CHECK(amx_pm2_argv(&a, 1, "/bin/echo", names[i], NULL));
		CHECK(amx_run_wait(&c, &a, &u, NULL, 10, err, sizeof(err)) == 0);
		snprintf(want, sizeof(want), "restart %s\n", names[i]);
		CHECK_STR(c.output, want);
		amx_child_release(&c);
	}
	CHECK(access(marker, F_OK) != 0);
}

TEST(time_out_kills_the_whole_group)
{
	struct amx_user u = nobody();
	const char *words[] = { "/bin/sh", "-c", "sleep 30 & echo $!; sleep 30", NULL };
	struct amx_argv a;
	struct amx_child c;
	char err[256], what[64];
	struct timespec t0, t1;
	pid_t grandchild, got;
	int status = 0;
	double took;

	/* Orphans come to us, not to a PID 1 that never reaps them. */
	CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
	argv_from(&a, words);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(amx_run_wait(&c, &a, &u, NULL, 1, err, sizeof(err)) == 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	CHECK(took >= 0.9 && took < 3.0);
	CHECK(c.timed_out);
	CHECK(!amx_child_succeeded(&c));
	CHECK(WIFSIGNALED(c.wait_status) && WTERMSIG(c.wait_status) == SIGKILL);
	amx_child_describe(&c, 1, what, sizeof(what));
	CHECK_STR(what, "timed out after 1 s");

	grandchild = (pid_t)atoi(c.output);
	CHECK(grandchild > 1);
	/* It was killed too, so this returns at once: either we reap it (it was
	 * orphaned to us) or the dying shell reaped it first and it is gone. */
	got = grandchild > 1 ? waitpid(grandchild, &status, 0) : -1;
	if (got == grandchild) {
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	} else {
		CHECK(errno == ECHILD);
		CHECK(kill(grandchild, 0) == -1 && errno == ESRCH);
	}
	/* The foreground sleep was orphaned to us too; it is dead, so this does not block. */
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
	amx_child_release(&c);
	prctl(PR_SET_CHILD_SUBREAPER, 0);
}

TEST(exit_status_and_signal_described)
{
	struct amx_user u = nobody();
	const char *exit3[] = { "/bin/sh", "-c", "echo bye; exit 3", NULL };
	const char *term[] = { "/bin/sh", "-c", "kill -TERM $$", NULL };
	struct amx_argv a;
	struct amx_child c;
	char err[256], what[64];

	argv_from(&a, exit3);
	CHECK(amx_run_wait(&c, &a, &u, NULL, 10, err, sizeof(err)) == 0);
	CHECK(!amx_child_succeeded(&c));
	CHECK(!c.timed_out);
	CHECK_STR(c.output, "bye\n");
	amx_child_describe(&c, 10, what, sizeof(what));
	CHECK_STR(what, "exit status 3");
	amx_child_release(&c);

	argv_from(&a, term);
	CHECK(amx_run_wait(&c, &a, &u, NULL, 10, err, sizeof(err)) == 0);
	amx_child_describe(&c, 10, what, sizeof(what));
	CHECK_STR(what, "killed by SIGTERM");
	amx_child_release(&c);
}

TEST(missing_binary_exits_127)
{
	struct amx_user u = nobody();
	const char *words[] = { "/nonexistent/amx-no-such-tool", "arg", NULL };
	struct amx_argv a;
	struct amx_child c;
	char err[256], what[64];

	argv_from(&a, words);
	CHECK(amx_run_wait(&c, &a, &u, NULL, 10, err, sizeof(err)) == 0);
	CHECK(WIFEXITED(c.wait_status) && WEXITSTATUS(c.wait_status) == 127);
	/* A line of its own (under valgrind the child's leak report follows it). */
	CHECK(strncmp(c.output,
		      "cannot run /nonexistent/amx-no-such-tool: No such file or directory\n",
		      68) == 0);
	amx_child_describe(&c, 10, what, sizeof(what));
	CHECK_STR(what, "exit status 127");
	amx_child_release(&c);
}

TEST(output_is_bounded)
{
	struct amx_user u = nobody();
	const char *words[] = { "/bin/sh", "-c", "head -c 200000 /dev/zero | tr '\\0' a", NULL };
	struct amx_argv a;
	struct amx_child c;
	char err[256];

	argv_from(&a, words);
	CHECK(amx_run_wait(&c, &a, &u, NULL, 10, err, sizeof(err)) == 0);
	CHECK(amx_child_succeeded(&c));
	CHECK(c.truncated);
	CHECK(c.out_len == AMX_CHILD_OUTPUT_MAX - 1);
	CHECK(strlen(c.output) == AMX_CHILD_OUTPUT_MAX - 1);
	amx_child_release(&c);
}

TEST(sigpipe_is_default_in_child)
{
	struct amx_user u = nobody();
	/* With SIGPIPE still ignored, yes would report "Broken pipe" instead of dying. */
	const char *words[] = { "/bin/sh", "-c", "yes | head -c 2", NULL };
	struct amx_argv a;
	struct amx_child c;
	char err[256];

	argv_from(&a, words);
	CHECK(amx_run_wait(&c, &a, &u, NULL, 10, err, sizeof(err)) == 0);
	CHECK(amx_child_succeeded(&c));
	CHECK_STR(c.output, "y\n");
	amx_child_release(&c);
}

TEST(child_does_not_keep_the_daemons_protection)
{
	struct amx_user u = nobody();
	const char *words[] = { "/bin/sh", "-c",
				"cat /proc/self/oom_score_adj; ulimit -n; umask", NULL };
	struct amx_argv a;
	struct amx_child c;
	char err[256], want[128];
	struct rlimit start, low;
	FILE *f;

	/* the daemon under its unit: OOM-protected, and limits changed since it started */
	CHECK(getrlimit(RLIMIT_NOFILE, &start) == 0);
	f = fopen("/proc/self/oom_score_adj", "w");
	CHECK(f != NULL);
	if (f && (fputs("-900", f) < 0 || fclose(f) != 0)) {
		/* no CAP_SYS_RESOURCE here (a container): any value other than 0 shows it */
		f = fopen("/proc/self/oom_score_adj", "w");
		CHECK(f && fputs("500", f) >= 0 && fclose(f) == 0);
	}
	low = start;
	low.rlim_cur = 100;
	CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
	mode_t old = umask(077);

	argv_from(&a, words);
	CHECK(amx_run_wait(&c, &a, &u, NULL, 10, err, sizeof(err)) == 0);
	CHECK(amx_child_succeeded(&c));
	snprintf(want, sizeof(want), "0\n%llu\n0022\n", (unsigned long long)start.rlim_cur);
	CHECK_STR(c.output, want);
	amx_child_release(&c);

	umask(old);
	CHECK(setrlimit(RLIMIT_NOFILE, &start) == 0);
	f = fopen("/proc/self/oom_score_adj", "w");
	CHECK(f && fputs("0", f) >= 0 && fclose(f) == 0);
}

TEST(relative_program_refused)
{
	struct amx_user u = nobody();
	const char *words[] = { "ls", NULL };
	struct amx_argv a;
	struct amx_child c;
	char err[256] = "";

	argv_from(&a, words);
	CHECK(amx_spawn(&c, &a, &u, NULL, err, sizeof(err)) == -EINVAL);
	CHECK(err[0] != '\0');
}

int main(void)
{
	/* The daemon ignores SIGPIPE; children must not inherit that. */
	signal(SIGPIPE, SIG_IGN);
	RUN(systemd_booted_is_the_run_directory);
	RUN(user_lookup);
	RUN(runs_as_target_user_without_root_groups);
	RUN(environment_is_exactly_the_clean_one);
	RUN(descriptors_are_not_inherited);
	RUN(hostile_name_is_printed_literally);
	RUN(time_out_kills_the_whole_group);
	RUN(exit_status_and_signal_described);
	RUN(missing_binary_exits_127);
	RUN(output_is_bounded);
	RUN(sigpipe_is_default_in_child);
	RUN(child_does_not_keep_the_daemons_protection);
	RUN(relative_program_refused);
	CHECK_DONE();
}
