// SPDX-License-Identifier: MIT
/* The kernel side against the real kernel: run as root. Every test loads the programs
 * itself and fails (never skips) when they do not load. Events are awaited with epoll and a
 * deadline; every child forked here is reaped here. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "check.h"
#include "fake_btf.h"
#include "sources/hookchoice.h"
#include "sources/bpf_loader.h"

#define MAX_EVENTS 4096
#define EVENT_DEADLINE_MS 5000

static struct amx_event seen[MAX_EVENTS];
static int seen_count;

static void collect_event(void *ctx, const struct amx_event *ev)
{
	(void)ctx;
	if (seen_count < MAX_EVENTS)
		seen[seen_count++] = *ev;
}

struct loaded {
	struct amx_bpf *bpf;
	int epfd;
};

static struct loaded load_programs(void)
{
	struct loaded l = { .bpf = NULL, .epfd = -1 };
	struct epoll_event ee = { .events = EPOLLIN };
	char err[256] = "";

	seen_count = 0;
	l.bpf = amx_bpf_open(false, collect_event, NULL, err, sizeof(err));
	if (!l.bpf) {
		printf("# amx_bpf_open: %s\n", err);
		return l;
	}
	l.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l.epfd < 0 || epoll_ctl(l.epfd, EPOLL_CTL_ADD, amx_bpf_epoll_fd(l.bpf), &ee) < 0) {
		printf("# failed to set up epoll on the ring buffer: %s\n", strerror(errno));
		amx_bpf_close(l.bpf);
		l.bpf = NULL;
	}
	return l;
}

static void unload_programs(struct loaded *l)
{
	if (l->epfd >= 0)
		close(l->epfd);
	amx_bpf_close(l->bpf);
}

static uint64_t boottime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static const struct amx_event *find_event(uint32_t type, pid_t pid)
{
	for (int i = 0; i < seen_count; i++)
		if (seen[i].type == type && seen[i].pid == (uint32_t)pid)
			return &seen[i];
	return NULL;
}

static int count_events(uint32_t type, pid_t pid)
{
	int n = 0;

	for (int i = 0; i < seen_count; i++)
		if (seen[i].type == type && seen[i].pid == (uint32_t)pid)
			n++;
	return n;
}

/* Wait (epoll, bounded) until an event of this type for this pid has arrived. */
static const struct amx_event *wait_event(struct loaded *l, uint32_t type, pid_t pid)
{
	uint64_t deadline = boottime_ns() + EVENT_DEADLINE_MS * 1000000ull;
	const struct amx_event *ev;
	struct epoll_event ee;

	amx_bpf_consume(l->bpf);
	while (!(ev = find_event(type, pid))) {
		uint64_t now = boottime_ns();

		if (now >= deadline)
			return NULL;
		if (epoll_wait(l->epfd, &ee, 1, (int)((deadline - now) / 1000000 + 1)) < 0 &&
		    errno != EINTR)
			return NULL;
		amx_bpf_consume(l->bpf);
	}
	return ev;
}

static int wait_child(pid_t pid)
{
	int status = -1;

	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

/* A child that blocks until released through the pipe, then runs `body`. */
static pid_t fork_held_child(int *release_fd, void (*body)(int held_fd))
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		char c;

		close(fds[1]);
		if (read(fds[0], &c, 1) != 1)
			_exit(120);
		body(fds[0]);
		_exit(121);
	}
	close(fds[0]);
	*release_fd = fds[1];
	return pid;
}

static void release_child(int release_fd)
{
	if (write(release_fd, "g", 1) != 1)
		printf("# failed to release child: %s\n", strerror(errno));
	close(release_fd);
}

#define LOAD_OR_FAIL(l)                                                               \
	struct loaded l = load_programs();                                            \
	CHECK(l.bpf != NULL && "BPF programs must load and attach (see # line)");     \
	if (!l.bpf)                                                                   \
		return

/* ---- (a) a plain exit ---------------------------------------------------------- */

static void exit_seven(int fd)
{
	(void)fd;
	exit(7);
}

TEST(exit_status_reported_once)
{
	LOAD_OR_FAIL(l);
	int release;
	uint64_t before = boottime_ns();
	pid_t pid = fork_held_child(&release, exit_seven);

	CHECK(pid > 0);
	CHECK(amx_bpf_watch(l.bpf, pid, AMX_WATCH_PROC, 0) == 0);
	CHECK(amx_bpf_watched_count(l.bpf) == 1);
	release_child(release);
	const struct amx_event *ev = wait_event(&l, AMX_EV_EXIT, pid);
	uint64_t now = boottime_ns();
	int status = wait_child(pid);

	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7);
	CHECK(ev != NULL);
	if (ev) {
		struct amx_exit_status s = amx_decode_exit(ev->exit_code);

		CHECK(s.status == 7 && s.signal == 0 && s.exit_code == 7);
		CHECK(ev->pid == (uint32_t)pid && ev->tid == (uint32_t)pid);
		CHECK(ev->ppid == (uint32_t)getpid());
		CHECK(ev->uid == getuid());
		CHECK(ev->ts_ns >= before && ev->ts_ns <= now);
		CHECK(ev->start_boottime_ns >= before - 1000000 && ev->start_boottime_ns <= ev->ts_ns);
	}
	amx_bpf_consume(l.bpf);
	CHECK(count_events(AMX_EV_EXIT, pid) == 1);
	CHECK(amx_bpf_watched_count(l.bpf) == 0); /* the kernel side removed it */
	CHECK(amx_bpf_lost(l.bpf) == 0);
	CHECK(strcmp(amx_bpf_attach_kind(l.bpf), "tp_btf") == 0);
	unload_programs(&l);
}

/* ---- (b) killed by a signal ---------------------------------------------------- */

static void wait_forever(int fd)
{
	(void)fd;
	for (;;)
		pause();
}

TEST(sigkill_reported_as_signal)
{
	LOAD_OR_FAIL(l);
	int release;
	pid_t pid = fork_held_child(&release, wait_forever);

	CHECK(pid > 0);
	CHECK(amx_bpf_watch(l.bpf, pid, AMX_WATCH_PROC, 0) == 0);
	release_child(release);
	kill(pid, SIGKILL);
	int status = wait_child(pid);
	const struct amx_event *ev = wait_event(&l, AMX_EV_EXIT, pid);

	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	CHECK(ev != NULL);
	if (ev) {
		struct amx_exit_status s = amx_decode_exit(ev->exit_code);

		CHECK(s.signal == 9 && s.exit_code == 137 && !s.core_dumped);
	}
	amx_bpf_consume(l.bpf);
	CHECK(count_events(AMX_EV_EXIT, pid) == 1);
	unload_programs(&l);
}

/* ---- (b2) killed by another process: who sent it ------------------------------ */

/* A child running body, watched (AMX_WATCH_PROC) before it is let go. */
static pid_t start_watched(struct loaded *l, void (*body)(int held_fd))
{
	int release;
	pid_t pid = fork_held_child(&release, body);

	if (pid > 0 && amx_bpf_watch(l->bpf, pid, AMX_WATCH_PROC, 0) != 0)
		printf("# failed to watch %d\n", (int)pid);
	if (pid > 0)
		release_child(release);
	return pid;
}

/* Runs as nobody, so that a process of nobody's may kill it. */
static void wait_forever_as_nobody(int fd)
{
	if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
		_exit(3);
	wait_forever(fd);
}

/* True once pid's real uid reads uid in /proc, waiting up to 5 s: the child changes
 * uid only after it is released, and a killer that ran before would get EPERM. */
static bool wait_uid(pid_t pid, unsigned uid)
{
	char path[64], line[256];

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	for (int i = 0; i < 5000; i++) {
		FILE *f = fopen(path, "r");
		unsigned ruid = ~0u;

		if (!f)
			return false;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "Uid: %u", &ruid) == 1)
				break;
		fclose(f);
		if (ruid == uid)
			return true;
		usleep(1000);
	}
	return false;
}

TEST(killer_named_by_pid_comm_and_uid)
{
	LOAD_OR_FAIL(l);
	pid_t pid = start_watched(&l, wait_forever_as_nobody);

	CHECK(pid > 0);
	CHECK(wait_uid(pid, 65534));
	kill(pid, SIGCHLD); /* never fatal: not kept, and the SIGKILL below is what counts */
	pid_t killer = fork();
	if (killer == 0) {
		prctl(PR_SET_NAME, "amx-killer", 0, 0, 0);
		if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			_exit(3);
		_exit(kill(pid, SIGKILL) == 0 ? 0 : 4);
	}
	int kstatus = wait_child(killer);
	if (!WIFEXITED(kstatus) || WEXITSTATUS(kstatus) != 0)
		kill(pid, SIGKILL); /* never leave it behind */
	int status = wait_child(pid);
	const struct amx_event *ev = wait_event(&l, AMX_EV_EXIT, pid);

	CHECK(WIFEXITED(kstatus) && WEXITSTATUS(kstatus) == 0);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	CHECK(ev != NULL);
	if (ev) {
		printf("# killer %u %s uid %u sig %d code %d\n", ev->killer_pid, ev->killer_comm,
		       ev->killer_uid, ev->killer_sig, ev->killer_code);
		CHECK(ev->killer_pid == (uint32_t)killer);
		CHECK(strcmp(ev->killer_comm, "amx-killer") == 0);
		CHECK(ev->killer_uid == 65534);
		CHECK(ev->killer_sig == SIGKILL);
		CHECK(ev->killer_code == 0); /* SI_USER: kill(2) */
	}
	unload_programs(&l);
}

static void segfault(int fd)
{
	(void)fd;
	volatile uintptr_t bad = 8; /* opaque to the compiler: a real fault at run time */

	signal(SIGSEGV, SIG_DFL);
	*(volatile int *)bad = 1;
}

TEST(fault_signal_names_the_process_itself)
{
	LOAD_OR_FAIL(l);
	pid_t pid = start_watched(&l, segfault);

	CHECK(pid > 0);
	int status = wait_child(pid);
	const struct amx_event *ev = wait_event(&l, AMX_EV_EXIT, pid);

	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
	CHECK(ev != NULL);
	if (ev) {
		CHECK(ev->killer_pid == (uint32_t)pid);
		CHECK(ev->killer_sig == SIGSEGV);
		CHECK(ev->killer_code > 0); /* SEGV_MAPERR: a fault, not a kill */
	}
	unload_programs(&l);
}

TEST(plain_exit_has_no_killer)
{
	LOAD_OR_FAIL(l);
	pid_t pid = start_watched(&l, exit_seven);

	CHECK(pid > 0);
	wait_child(pid);
	const struct amx_event *ev = wait_event(&l, AMX_EV_EXIT, pid);

	CHECK(ev != NULL);
	if (ev)
		CHECK(ev->killer_sig == 0 && ev->killer_pid == 0);
	unload_programs(&l);
}

/* ---- (c) the leader leaves first, a later thread ends the process --------------- */

static pthread_t main_thread;
static int last_thread_release_fd;

static void *idle_thread(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static void *last_thread(void *arg)
{
	char c;

	(void)arg;
	if (read(last_thread_release_fd, &c, 1) != 1)
		_exit(122);
	/* Joining the main thread returns once it has really left the kernel. */
	pthread_join(main_thread, NULL);
	/* _exit, not exit: under SANITIZE=address, exit() runs LeakSanitizer's check in this
	 * forked child, which no longer sees the gone leader's stack, reports the parent's
	 * libbpf objects (copied by fork) as leaked and turns the status into 23. _exit is the
	 * same exit_group() for the kernel, which is what this test is about. */
	_exit(5);
}

static void threads_then_leader_exits(int held_fd)
{
	pthread_t idle, last;

	main_thread = pthread_self();
	last_thread_release_fd = held_fd;
	if (pthread_create(&idle, NULL, idle_thread, NULL) ||
	    pthread_create(&last, NULL, last_thread, NULL))
		_exit(123);
	pthread_exit(NULL);
}

TEST(multithreaded_exit_reported_after_last_thread)
{
	LOAD_OR_FAIL(l);
	int fds[2];
	pid_t pid;

	/* Two releases: one to start, one (read by the last thread) to finish. */
	CHECK(pipe2(fds, O_CLOEXEC) == 0);
	pid = fork();
	if (pid == 0) {
		char c;

		close(fds[1]);
		if (read(fds[0], &c, 1) != 1)
			_exit(120);
		threads_then_leader_exits(fds[0]);
	}
	close(fds[0]);
	CHECK(pid > 0);
	CHECK(amx_bpf_watch(l.bpf, pid, AMX_WATCH_PROC, 0) == 0);
	CHECK(write(fds[1], "gg", 2) == 2);
	close(fds[1]);
	int status = wait_child(pid);
	const struct amx_event *ev = wait_event(&l, AMX_EV_EXIT, pid);

	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 5);
	CHECK(ev != NULL);
	if (ev) {
		struct amx_exit_status s = amx_decode_exit(ev->exit_code);

		CHECK(s.status == 5 && s.signal == 0);
		CHECK(ev->tid != (uint32_t)pid); /* reported by a thread, not the leader */
		CHECK(ev->pid == (uint32_t)pid);
	}
	amx_bpf_consume(l.bpf);
	CHECK(count_events(AMX_EV_EXIT, pid) == 1);
	CHECK(amx_bpf_watched_count(l.bpf) == 0);
	unload_programs(&l);
}

/* ---- (d) children of a watched parent ------------------------------------------- */

static void *short_thread(void *arg)
{
	return arg;
}

static void threads_then_fork_exec_true(int fd)
{
	pthread_t t[2];
	pid_t grandchild;
	int status;

	(void)fd;
	/* Threads of the watched parent must not count as children. */
	for (int i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, short_thread, NULL))
			_exit(123);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	grandchild = fork();
	if (grandchild == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	if (grandchild < 0 || waitpid(grandchild, &status, 0) != grandchild)
		_exit(124);
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 125);
}

TEST(watched_parent_children_fork_exec_exit)
{
	LOAD_OR_FAIL(l);
	int release;
	pid_t pid = fork_held_child(&release, threads_then_fork_exec_true);

	CHECK(pid > 0);
	CHECK(amx_bpf_watch(l.bpf, pid, AMX_WATCH_PROC | AMX_WATCH_CHILDREN, 0) == 0);
	release_child(release);
	int status = wait_child(pid);
	const struct amx_event *parent_exit = wait_event(&l, AMX_EV_EXIT, pid);

	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(parent_exit != NULL);
	amx_bpf_consume(l.bpf);

	const struct amx_event *fork_ev = NULL;
	int forks = 0;

	for (int i = 0; i < seen_count; i++)
		if (seen[i].type == AMX_EV_FORK && seen[i].ppid == (uint32_t)pid) {
			forks++;
			fork_ev = &seen[i];
		}
	CHECK(forks == 1);
	CHECK(fork_ev != NULL);
	if (!fork_ev) {
		unload_programs(&l);
		return;
	}
	pid_t grandchild = (pid_t)fork_ev->pid;

	CHECK(fork_ev->tid == fork_ev->pid);
	CHECK(fork_ev->start_boottime_ns != 0);

	const struct amx_event *exec_ev = find_event(AMX_EV_EXEC, grandchild);
	const struct amx_event *exit_ev = find_event(AMX_EV_EXIT, grandchild);

	CHECK(exec_ev != NULL);
	if (exec_ev)
		CHECK_STR(exec_ev->comm, "true");
	CHECK(exit_ev != NULL);
	if (exit_ev) {
		CHECK(amx_decode_exit(exit_ev->exit_code).exit_code == 0);
		CHECK(exit_ev->ppid == (uint32_t)pid);
		CHECK(exit_ev->start_boottime_ns == fork_ev->start_boottime_ns);
		CHECK_STR(exit_ev->comm, "true");
	}
	if (exec_ev && exit_ev)
		CHECK(fork_ev->ts_ns <= exec_ev->ts_ns && exec_ev->ts_ns <= exit_ev->ts_ns);
	CHECK(count_events(AMX_EV_EXIT, grandchild) == 1);
	CHECK(count_events(AMX_EV_EXEC, pid) == 0); /* the parent itself was not forked by us */
	CHECK(amx_bpf_watched_count(l.bpf) == 0);
	unload_programs(&l);
}

/* ---- (d2) one parent cannot fill the watched set ---------------------------------- */

#define CAP_KIDS 6
#define CAP 4

/* Fork CAP_KIDS children that wait for the pipe to close, then exit 0. */
static void fork_many_then_wait(int held_fd)
{
	int fds[2];
	pid_t kids[CAP_KIDS];

	(void)held_fd;
	if (pipe(fds) < 0)
		_exit(1);
	for (int i = 0; i < CAP_KIDS; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			char c;

			close(fds[1]);
			if (read(fds[0], &c, 1) < 0)
				_exit(2);
			_exit(0);
		}
	}
	close(fds[0]);
	close(fds[1]);
	for (int i = 0; i < CAP_KIDS; i++)
		waitpid(kids[i], NULL, 0);
	_exit(0);
}

TEST(children_past_the_parent_cap_are_not_watched_and_said)
{
	LOAD_OR_FAIL(l);
	int release;
	uint64_t failed_before = amx_bpf_unwatched_forks(l.bpf);
	pid_t pid = fork_held_child(&release, fork_many_then_wait);

	CHECK(pid > 0);
	amx_bpf_set_child_cap(l.bpf, CAP);
	CHECK(amx_bpf_watch(l.bpf, pid, AMX_WATCH_PROC | AMX_WATCH_CHILDREN, 0) == 0);
	release_child(release);
	int status = wait_child(pid);

	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(wait_event(&l, AMX_EV_EXIT, pid) != NULL);
	amx_bpf_consume(l.bpf);
	int forks = 0, not_watched = 0, exits = 0;

	for (int i = 0; i < seen_count; i++) {
		if (seen[i].type == AMX_EV_FORK && seen[i].ppid == (uint32_t)pid) {
			forks++;
			not_watched += !!(seen[i].exit_code & AMX_FORK_NOT_WATCHED);
		}
		if (seen[i].type == AMX_EV_EXIT && seen[i].ppid == (uint32_t)pid)
			exits++;
	}
	CHECK(forks == CAP_KIDS);
	CHECK(not_watched == CAP_KIDS - CAP);
	CHECK(exits == CAP); /* the watched ones only */
	CHECK(amx_bpf_unwatched_forks(l.bpf) - failed_before == CAP_KIDS - CAP);
	CHECK(amx_bpf_watched_count(l.bpf) == 0);
	unload_programs(&l);
}

/* ---- (e) nothing for the unwatched ---------------------------------------------- */

TEST(unwatched_exit_is_silent)
{
	LOAD_OR_FAIL(l);
	pid_t pid = fork();

	if (pid == 0)
		_exit(3);
	CHECK(pid > 0);
	int status = wait_child(pid);

	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3);
	amx_bpf_consume(l.bpf);
	for (int i = 0; i < seen_count; i++)
		CHECK(seen[i].pid != (uint32_t)pid);
	unload_programs(&l);
}

/* ---- (f) a real OOM kill in a memory cgroup (v1 or v2) ------------------------- */

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t len = (ssize_t)strlen(text);
	int ok;

	if (fd < 0) {
		printf("# failed to open %s: %s\n", path, strerror(errno));
		return -1;
	}
	ok = write(fd, text, (size_t)len) == len;
	if (!ok)
		printf("# failed to write %s: %s\n", path, strerror(errno));
	close(fd);
	return ok ? 0 : -1;
}

static void allocate_256_mib(int fd)
{
	size_t size = 256u << 20;
	volatile char *p = malloc(size);

	(void)fd;
	if (!p)
		_exit(126);
	for (size_t off = 0; off < size; off += 4096)
		p[off] = 1;
	_exit(0);
}

/* Where the tests make memory groups: the v1 memory hierarchy where one is mounted (this
 * machine), else the cgroup2 mount whose root offers the memory controller (a stock
 * Debian 12; 6.12 cannot mount v1 memory at all). The kernel side names the group the
 * same way in both: its path below the hierarchy's root. */
static struct {
	char root[256];
	const char *limit_file; /* memory.limit_in_bytes (v1) or memory.max (v2) */
	uint32_t flag;          /* AMX_MEMCG_V1 or AMX_MEMCG_V2 */
} memfs;

static int file_has_word(const char *path, const char *word)
{
	char buf[512], *tok, *save = NULL;
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	for (tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
		if (strcmp(tok, word) == 0)
			return 1;
	return 0;
}

static int find_memory_cgroups(void)
{
	char line[1024], dev[256], dir[256], type[64], path[300];
	FILE *f;

	if (memfs.flag)
		return 1;
	if (access("/sys/fs/cgroup/memory/memory.limit_in_bytes", F_OK) == 0) {
		snprintf(memfs.root, sizeof(memfs.root), "/sys/fs/cgroup/memory");
		memfs.limit_file = "memory.limit_in_bytes";
		memfs.flag = AMX_MEMCG_V1;
		return 1;
	}
	f = fopen("/proc/self/mounts", "re");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%255s %255s %63s", dev, dir, type) != 3 || strcmp(type, "cgroup2"))
			continue;
		snprintf(path, sizeof(path), "%s/cgroup.controllers", dir);
		if (!file_has_word(path, "memory"))
			continue;
		snprintf(memfs.root, sizeof(memfs.root), "%s", dir);
		memfs.limit_file = "memory.max";
		memfs.flag = AMX_MEMCG_V2;
		break;
	}
	if (f)
		fclose(f);
	if (!memfs.flag)
		printf("# no memory cgroup: neither a v1 memory hierarchy nor a cgroup2 mount with the memory controller\n");
	return memfs.flag != 0;
}

/* Remove the groups of rel (under the memory hierarchy) deepest first; an emptied group may
 * still be tearing down its last task, so EBUSY is retried for a while. */
static int remove_groups(const char *rel)
{
	char dir[512];
	int ok = 1;

	snprintf(dir, sizeof(dir), "%s%s", memfs.root, rel);
	while (strlen(dir) > strlen(memfs.root)) {
		int removed = 0;

		for (int tries = 0; tries < 50 && !(removed = rmdir(dir) == 0); tries++) {
			struct timespec pause_10ms = { 0, 10000000 };

			if (errno != EBUSY)
				break;
			nanosleep(&pause_10ms, NULL);
		}
		if (!removed) {
			printf("# failed to remove %s: %s\n", dir, strerror(errno));
			ok = 0;
		}
		*strrchr(dir, '/') = '\0';
	}
	return ok;
}

/* v2: a group has the memory controller only if its parent hands it down. */
static void enable_memory_below(const char *dir)
{
	char path[600];

	if (memfs.flag != AMX_MEMCG_V2)
		return;
	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", dir);
	if (!file_has_word(path, "memory"))
		write_file(path, "+memory");
}

/* Make every level of rel (e.g. "/a/b"), limit the deepest to 32 MiB, run a child there
 * that allocates 256 MiB, and wait for the kernel side's OOM and exit records. */
static void oom_in_group(const char *check_name, struct loaded *l, const char *rel,
			 const struct amx_event **oom, const struct amx_event **ex)
{
	char dir[512], path[600], text[32];
	int release;
	pid_t pid;

	*oom = *ex = NULL;
	CHECK(find_memory_cgroups());
	if (!memfs.flag)
		return;
	snprintf(dir, sizeof(dir), "%s%s", memfs.root, rel);
	for (char *slash = dir + strlen(memfs.root); (slash = strchr(slash, '/')); slash++) {
		*slash = '\0';
		if (slash > dir + strlen(memfs.root))
			CHECK(mkdir(dir, 0755) == 0 || errno == EEXIST);
		enable_memory_below(dir);
		*slash = '/';
	}
	CHECK(mkdir(dir, 0755) == 0 || errno == EEXIST);
	snprintf(path, sizeof(path), "%s/%s", dir, memfs.limit_file);
	CHECK(write_file(path, "33554432") == 0);
	/* Swap (where there is any) would absorb the growth. */
	snprintf(path, sizeof(path), "%s/memory.swap.max", dir);
	if (memfs.flag == AMX_MEMCG_V2 && access(path, F_OK) == 0)
		write_file(path, "0");

	pid = fork_held_child(&release, allocate_256_mib);
	CHECK(pid > 0);
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	snprintf(text, sizeof(text), "%d", (int)pid);
	int moved = write_file(path, text) == 0;

	CHECK(moved);
	if (!moved)
		kill(pid, SIGKILL); /* never let it allocate 256 MiB outside the group */
	CHECK(amx_bpf_watch(l->bpf, pid, AMX_WATCH_PROC, 0) == 0);
	release_child(release);
	int status = wait_child(pid);

	*oom = wait_event(l, AMX_EV_OOM, pid);
	*ex = wait_event(l, AMX_EV_EXIT, pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	if (memfs.flag == AMX_MEMCG_V2) {
		/* v2 counts the kill in the group's memory.events: "oom_kill 1". */
		char events[600];
		FILE *f;
		unsigned long kills = 0;

		snprintf(events, sizeof(events), "%s/memory.events", dir);
		f = fopen(events, "re");
		while (f && fgets(path, sizeof(path), f))
			if (sscanf(path, "oom_kill %lu", &kills) == 1)
				break;
		if (f)
			fclose(f);
		CHECK(kills >= 1);
	}
	CHECK(remove_groups(rel));
}

TEST(oom_kill_reported_with_memory)
{
	LOAD_OR_FAIL(l);
	const struct amx_event *oom, *ex;
	char rel[64];

	snprintf(rel, sizeof(rel), "/amx-test-%d", (int)getpid());
	oom_in_group(check_name, &l, rel, &oom, &ex);
	CHECK(oom != NULL);
	if (oom) {
		CHECK(oom->oom_fields == 1);
		CHECK(oom->anon_rss_kb > 16000);
		CHECK(oom->total_vm_kb >= 256 * 1024);
		CHECK(oom->uid == getuid());
		CHECK(oom->oom_score_adj == 0);
		CHECK(oom->start_boottime_ns != 0);
		/* The group it was killed in, read by the kernel side before the exit moved it. */
		CHECK(strcmp(oom->memcg, rel) == 0);
		CHECK(oom->memcg_flags == memfs.flag);
		printf("# oom victim %u: anon %llu kB, file %llu kB, shmem %llu kB, vm %llu kB, memcg %s (%s)\n",
		       oom->pid, (unsigned long long)oom->anon_rss_kb,
		       (unsigned long long)oom->file_rss_kb, (unsigned long long)oom->shmem_rss_kb,
		       (unsigned long long)oom->total_vm_kb, oom->memcg,
		       memfs.flag == AMX_MEMCG_V2 ? "v2" : "v1");
	}
	CHECK(ex != NULL);
	if (ex) {
		CHECK(amx_decode_exit(ex->exit_code).signal == SIGKILL);
		CHECK(ex->memcg[0] == '\0' && ex->memcg_flags == 0); /* short record, zero-filled */
	}
	if (oom && ex)
		CHECK(oom->ts_ns <= ex->ts_ns);
	unload_programs(&l);
}

/* Deeper than the kernel side walks: the last AMX_MEMCG_DEPTH levels after "...". */
TEST(oom_memcg_path_of_a_deep_group_keeps_its_last_levels)
{
	LOAD_OR_FAIL(l);
	const struct amx_event *oom, *ex;
	char rel[256], expect[256];
	int n;

	n = snprintf(rel, sizeof(rel), "/amx-deep-%d", (int)getpid());
	for (int level = 1; level <= AMX_MEMCG_DEPTH; level++)
		n += snprintf(rel + n, sizeof(rel) - (size_t)n, "/level-%d", level);
	snprintf(expect, sizeof(expect), "...%s", strchr(rel + 1, '/'));
	oom_in_group(check_name, &l, rel, &oom, &ex);
	CHECK(oom != NULL);
	if (oom) {
		printf("# memcg %s\n", oom->memcg);
		CHECK(strcmp(oom->memcg, expect) == 0);
		CHECK(oom->memcg_flags == (memfs.flag | AMX_MEMCG_TRUNCATED));
	}
	unload_programs(&l);
}

/* The pid-only OOM record, as a kernel whose mark_victim passes only a pid (before 6.8 and
 * Debian's 6.1.133) makes it: the loader is handed that prototype (AMEXBPF_TEST_BTF), moves
 * only oom to raw_tp, and the record names the victim's pid and nothing else. The exit
 * still comes from tp_btf. */
TEST(oom_pid_only_record_from_a_one_argument_prototype)
{
	struct btf *b = fake_vmlinux(MARK_VICTIM_PID);
	char blob[] = "/tmp/amx-btf-XXXXXX";
	int fd = mkstemp(blob);
	__u32 size = 0;
	const void *raw = btf__raw_data(b, &size);

	CHECK(fd >= 0 && raw && write(fd, raw, size) == (ssize_t)size);
	if (fd >= 0)
		close(fd);
	btf__free(b);
	setenv("AMEXBPF_TEST_BTF", blob, 1);
	struct loaded l = load_programs();
	unsetenv("AMEXBPF_TEST_BTF");
	unlink(blob);
	CHECK(l.bpf != NULL);
	if (!l.bpf)
		return;
	const struct amx_event *oom, *ex;
	char rel[64];

	CHECK_STR(amx_bpf_attach_kind(l.bpf), "exit,fork,exec,listen,signal=tp_btf oom=raw_tp (oom: pid only)");
	CHECK(amx_bpf_hooks(l.bpf)->oom_pid_only);
	snprintf(rel, sizeof(rel), "/amx-pidonly-%d", (int)getpid());
	oom_in_group(check_name, &l, rel, &oom, &ex);
	CHECK(oom != NULL);
	if (oom) {
		CHECK(oom->tid == oom->pid);
		CHECK(oom->oom_fields == 0 && oom->anon_rss_kb == 0 && oom->comm[0] == '\0');
		CHECK(oom->memcg_flags == 0 && oom->memcg[0] == '\0'); /* a short record */
	}
	CHECK(ex != NULL && amx_decode_exit(ex->exit_code).signal == SIGKILL);
	unload_programs(&l);
}

/* Every hook forced to raw_tp (AMEXBPF_FORCE_RAW_TP=all): the full OOM record still. */
TEST(oom_full_record_on_raw_tp)
{
	setenv("AMEXBPF_FORCE_RAW_TP", "all", 1);
	struct loaded l = load_programs();
	unsetenv("AMEXBPF_FORCE_RAW_TP");
	CHECK(l.bpf != NULL);
	if (!l.bpf)
		return;
	const struct amx_event *oom, *ex;
	char rel[64];

	CHECK_STR(amx_bpf_attach_kind(l.bpf), "raw_tp");
	snprintf(rel, sizeof(rel), "/amx-raw-%d", (int)getpid());
	oom_in_group(check_name, &l, rel, &oom, &ex);
	CHECK(oom != NULL);
	if (oom) {
		CHECK(oom->oom_fields == 1 && oom->anon_rss_kb > 16000);
		CHECK(strcmp(oom->memcg, rel) == 0 && oom->memcg_flags == memfs.flag);
	}
	CHECK(ex != NULL && amx_decode_exit(ex->exit_code).signal == SIGKILL);
	unload_programs(&l);
}

/* ---- (g) listen: a watched process's TCP sockets going to LISTEN ---------------- */

static int listen_report_fd = -1;

static uint16_t listen_any(int family)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int fd = socket(family, SOCK_STREAM, 0);

	if (family == AF_INET) {
		struct sockaddr_in *in = (void *)&ss;

		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (void *)&ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_addr = in6addr_loopback;
		len = sizeof(*in6);
	}
	if (fd < 0 || bind(fd, (void *)&ss, len) || listen(fd, 4) ||
	    getsockname(fd, (void *)&ss, &len))
		return 0;
	return ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
				       : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* Listens on 127.0.0.1 and ::1 (ephemeral ports), a UDP socket and a TCP connect to
 * itself as noise, writes both ports to the report pipe, then waits to be killed. */
static void listen_twice(int fd)
{
	uint16_t ports[2] = { listen_any(AF_INET), listen_any(AF_INET6) };
	int udp = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in self = { .sin_family = AF_INET,
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				    .sin_port = htons(ports[0]) };
	int c = socket(AF_INET, SOCK_STREAM, 0);

	(void)udp;
	(void)!connect(c, (void *)&self, sizeof(self));
	if (write(listen_report_fd, ports, sizeof(ports)) != sizeof(ports))
		_exit(4);
	wait_forever(fd);
}

static void listen_reported(const char *check_name, bool force_raw)
{
	if (force_raw)
		setenv("AMEXBPF_FORCE_RAW_TP", "listen", 1);
	struct loaded l = load_programs();

	unsetenv("AMEXBPF_FORCE_RAW_TP");
	CHECK(l.bpf != NULL);
	if (!l.bpf)
		return;
	CHECK(strstr(amx_bpf_attach_kind(l.bpf), force_raw ? "listen=raw_tp" : "tp_btf") != NULL);
	int fds[2];
	uint16_t ports[2] = { 0, 0 };

	CHECK(pipe2(fds, O_CLOEXEC) == 0);
	listen_report_fd = fds[1];
	uint64_t before = boottime_ns();
	pid_t pid = start_watched(&l, listen_twice);

	CHECK(read(fds[0], ports, sizeof(ports)) == sizeof(ports));
	close(fds[0]);
	close(fds[1]);
	/* The test process itself (not watched) listens too: never reported. */
	uint16_t mine = listen_any(AF_INET);

	CHECK(mine != 0);
	CHECK(wait_event(&l, AMX_EV_LISTEN, pid) != NULL);
	uint64_t deadline = boottime_ns() + EVENT_DEADLINE_MS * 1000000ull;

	while (count_events(AMX_EV_LISTEN, pid) < 2 && boottime_ns() < deadline) {
		struct epoll_event ee;

		epoll_wait(l.epfd, &ee, 1, 100);
		amx_bpf_consume(l.bpf);
	}
	kill(pid, SIGKILL);
	wait_child(pid);
	amx_bpf_consume(l.bpf);
	CHECK(count_events(AMX_EV_LISTEN, pid) == 2); /* not the UDP socket, not the connect */
	bool v4 = false, v6 = false;

	for (int i = 0; i < seen_count; i++) {
		const struct amx_event *ev = &seen[i];
		static const uint8_t lo6[16] = { [15] = 1 };

		CHECK(ev->pid != (uint32_t)getpid());
		if (ev->type != AMX_EV_LISTEN || ev->pid != (uint32_t)pid)
			continue;
		CHECK(ev->ts_ns >= before && ev->start_boottime_ns <= ev->ts_ns);
		CHECK(ev->uid == getuid());
		if (ev->listen_family == AF_INET && ev->listen_port == ports[0] &&
		    memcmp(ev->listen_addr, "\x7f\0\0\x01", 4) == 0)
			v4 = true;
		if (ev->listen_family == AF_INET6 && ev->listen_port == ports[1] &&
		    memcmp(ev->listen_addr, lo6, 16) == 0)
			v6 = true;
	}
	CHECK(v4 && v6);
	CHECK(amx_bpf_lost(l.bpf) == 0);
	unload_programs(&l);
}

/* Listens and closes 100 times, then says so on the report pipe and waits. */
static void listen_in_a_loop(int fd)
{
	for (int i = 0; i < 100; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int s = socket(AF_INET, SOCK_STREAM, 0);

		if (s >= 0 && bind(s, (void *)&a, sizeof(a)) == 0)
			listen(s, 1);
		close(s);
	}
	if (write(listen_report_fd, "d", 1) != 1)
		_exit(4);
	wait_forever(fd);
}

/* A process that listens without end sends AMX_LISTENS_PER_PROCESS records, no more. */
TEST(listens_of_one_process_are_capped)
{
	LOAD_OR_FAIL(l);
	int fds[2];
	char c;

	CHECK(pipe2(fds, O_CLOEXEC) == 0);
	listen_report_fd = fds[1];
	pid_t pid = start_watched(&l, listen_in_a_loop);

	CHECK(read(fds[0], &c, 1) == 1);
	close(fds[0]);
	close(fds[1]);
	kill(pid, SIGKILL);
	wait_child(pid);
	CHECK(wait_event(&l, AMX_EV_EXIT, pid) != NULL); /* everything before it is in */
	CHECK(count_events(AMX_EV_LISTEN, pid) == AMX_LISTENS_PER_PROCESS);
	CHECK(count_events(AMX_EV_UNLISTEN, pid) == AMX_LISTENS_PER_PROCESS);
	CHECK(amx_bpf_lost(l.bpf) == 0);
	unload_programs(&l);
}

static uint16_t closing_port; /* a free port the child below binds by number */

/* A port free now: bound to find one, then closed (never listened on). */
static uint16_t free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	uint16_t port = 0;

	if (fd >= 0 && bind(fd, (void *)&a, len) == 0 && getsockname(fd, (void *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* Listens on 127.0.0.1:closing_port (a port given by number, as an app's is) and on an
 * ephemeral one, closes both, says so on the report pipe, then listens on closing_port
 * again and waits to be killed with that listener open. */
static void listen_then_close(int fd)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				 .sin_port = htons(closing_port) };
	int one = 1, s = socket(AF_INET, SOCK_STREAM, 0), eph = socket(AF_INET, SOCK_STREAM, 0);

	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (void *)&a, sizeof(a)) || listen(s, 4))
		_exit(5);
	a.sin_port = 0;
	if (bind(eph, (void *)&a, sizeof(a)) || listen(eph, 4))
		_exit(6);
	close(s);
	close(eph);
	if (write(listen_report_fd, "c", 1) != 1)
		_exit(4);
	a.sin_port = htons(closing_port);
	s = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (void *)&a, sizeof(a)) || listen(s, 4))
		_exit(7);
	wait_forever(fd);
}

/* A watched process that closes a listener sends AMX_EV_UNLISTEN from close(2)'s context,
 * with the port when it was bound by number (the kernel gives back an autobound port
 * before the state change: port 0); its listeners closed by its death send nothing (the
 * exit took it out of `watched` first), so a dead app keeps the ports it died with. */
TEST(unlisten_reported_on_close_not_on_exit)
{
	LOAD_OR_FAIL(l);
	int fds[2];
	char c;

	closing_port = free_port();
	CHECK(closing_port != 0);
	CHECK(pipe2(fds, O_CLOEXEC) == 0);
	listen_report_fd = fds[1];
	pid_t pid = start_watched(&l, listen_then_close);

	CHECK(read(fds[0], &c, 1) == 1);
	close(fds[0]);
	close(fds[1]);
	uint64_t deadline = boottime_ns() + EVENT_DEADLINE_MS * 1000000ull;

	while ((count_events(AMX_EV_UNLISTEN, pid) < 2 || count_events(AMX_EV_LISTEN, pid) < 3) &&
	       boottime_ns() < deadline) {
		struct epoll_event ee;

		epoll_wait(l.epfd, &ee, 1, 100);
		amx_bpf_consume(l.bpf);
	}
	kill(pid, SIGKILL);
	wait_child(pid);
	CHECK(wait_event(&l, AMX_EV_EXIT, pid) != NULL);
	/* the listener open at the SIGKILL is closed after the exit record: nothing for it */
	struct epoll_event ee;

	epoll_wait(l.epfd, &ee, 1, 200);
	amx_bpf_consume(l.bpf);
	CHECK(count_events(AMX_EV_LISTEN, pid) == 3);
	CHECK(count_events(AMX_EV_UNLISTEN, pid) == 2);
	bool by_number = false, autobound = false;

	for (int i = 0; i < seen_count; i++) {
		const struct amx_event *ev = &seen[i];

		if (ev->type != AMX_EV_UNLISTEN || ev->pid != (uint32_t)pid)
			continue;
		CHECK(ev->tid == (uint32_t)pid); /* current was the closer */
		CHECK(ev->listen_family == AF_INET && memcmp(ev->listen_addr, "\x7f\0\0\x01", 4) == 0);
		if (ev->listen_port == closing_port)
			by_number = true;
		if (ev->listen_port == 0)
			autobound = true;
	}
	CHECK(by_number && autobound);
	CHECK(amx_bpf_lost(l.bpf) == 0);
	unload_programs(&l);
}

TEST(listen_reported_with_port_and_address)
{
	listen_reported(check_name, false);
}

TEST(listen_reported_on_raw_tp)
{
	listen_reported(check_name, true);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0)
		printf("# these tests need root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN)\n");
	RUN(exit_status_reported_once);
	RUN(sigkill_reported_as_signal);
	RUN(killer_named_by_pid_comm_and_uid);
	RUN(fault_signal_names_the_process_itself);
	RUN(plain_exit_has_no_killer);
	RUN(multithreaded_exit_reported_after_last_thread);
	RUN(watched_parent_children_fork_exec_exit);
	RUN(children_past_the_parent_cap_are_not_watched_and_said);
	RUN(unwatched_exit_is_silent);
	RUN(oom_kill_reported_with_memory);
	RUN(oom_memcg_path_of_a_deep_group_keeps_its_last_levels);
	RUN(oom_pid_only_record_from_a_one_argument_prototype);
	RUN(oom_full_record_on_raw_tp);
	RUN(listen_reported_with_port_and_address);
	RUN(listen_reported_on_raw_tp);
	RUN(listens_of_one_process_are_capped);
	RUN(unlisten_reported_on_close_not_on_exit);
	CHECK_DONE();
}
