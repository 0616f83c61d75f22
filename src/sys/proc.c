/* SPDX-License-Identifier: MIT */
#include "sys/proc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *amx_procdir = "/proc";

static long user_hz(void)
{
	static long hz;
	if (!hz) {
		hz = sysconf(_SC_CLK_TCK);
		if (hz <= 0)
			hz = 100;
	}
	return hz;
}

uint64_t amx_ticks_to_ns(uint64_t ticks)
{
	return ticks * (1000000000ull / (uint64_t)user_hz());
}

uint64_t amx_ns_to_ticks(uint64_t ns)
{
	return ns / (1000000000ull / (uint64_t)user_hz());
}

ssize_t amx_proc_read(int pid, const char *file, char *buf, size_t len)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%d/%s", amx_procdir, pid, file);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	return (ssize_t)got;
}

bool amx_proc_read_stat(int pid, struct amx_proc_stat *st)
{
	char buf[1024];
	ssize_t n = amx_proc_read(pid, "stat", buf, sizeof(buf) - 1);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* comm may hold spaces and ')': the fields start after the last ')'. */
	char *open_paren = strchr(buf, '(');
	char *close_paren = strrchr(buf, ')');
	if (!open_paren || !close_paren || close_paren < open_paren || close_paren[1] != ' ')
		return false;
	memset(st, 0, sizeof(*st));
	size_t clen = (size_t)(close_paren - open_paren - 1);
	if (clen >= sizeof(st->comm))
		clen = sizeof(st->comm) - 1;
	memcpy(st->comm, open_paren + 1, clen);
	char *p = close_paren + 2;
	/* fields from 3 (state) on */
	int field = 3;
	char *save = NULL;
	for (char *tok = strtok_r(p, " ", &save); tok; tok = strtok_r(NULL, " ", &save), field++) {
		if (field == 3)
			st->state = tok[0];
		else if (field == 4)
			st->ppid = atoi(tok);
		else if (field == 22) {
			st->start_ticks = strtoull(tok, NULL, 10);
			break;
		}
	}
	if (field != 22)
		return false;
	char dir[128];
	struct stat sb;
	snprintf(dir, sizeof(dir), "%s/%d", amx_procdir, pid);
	if (stat(dir, &sb) == 0)
		st->uid = sb.st_uid;
	return true;
}

bool amx_proc_alive(int pid)
{
	struct amx_proc_stat st;
	if (pid <= 0 || !amx_proc_read_stat(pid, &st))
		return false;
	return st.state != 'Z' && st.state != 'X' && st.state != 'x';
}

bool amx_proc_environ_get(int pid, const char *key, char *out, size_t outlen)
{
	/* An app's environment is large (PM2 copies the CLI's whole env); 256 KiB is plenty. */
	size_t cap = 256 * 1024;
	char *buf = malloc(cap + 1);
	if (!buf)
		return false;
	ssize_t n = amx_proc_read(pid, "environ", buf, cap);
	bool found = false;
	size_t klen = strlen(key);
	if (n > 0) {
		buf[n] = '\0';
		for (char *p = buf; p < buf + n; p += strlen(p) + 1) {
			if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
				snprintf(out, outlen, "%s", p + klen + 1);
				found = true;
				break;
			}
		}
	}
	free(buf);
	return found;
}

unsigned long amx_proc_full_walks, amx_proc_children_calls;

static bool live_child(int pid, int ppid)
{
	struct amx_proc_stat st;
	return amx_proc_read_stat(pid, &st) && st.ppid == ppid && st.state != 'Z' &&
	       st.state != 'X';
}

/* Every pid of /proc, each one's stat read: O(processes on the host), the fallback. */
static int children_by_walk(int ppid, int *out, int max)
{
	DIR *d = opendir(amx_procdir);
	if (!d)
		return 0;
	amx_proc_full_walks++;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < max) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		int pid = atoi(de->d_name);
		if (live_child(pid, ppid))
			out[n++] = pid;
	}
	closedir(d);
	return n;
}

/* The children files of ppid's threads (CONFIG_PROC_CHILDREN): O(its threads and
 * children), each bounded. -1 when the kernel has no such file. */
#define AMX_PROC_MAX_TASKS 256
static int children_by_task_files(int ppid, int *out, int max)
{
	char path[160];
	snprintf(path, sizeof(path), "%s/%d/task/%d/children", amx_procdir, ppid, ppid);
	if (access(path, R_OK) < 0)
		return errno == ENOENT && amx_proc_alive(ppid) ? -1 : 0;
	snprintf(path, sizeof(path), "%s/%d/task", amx_procdir, ppid);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	int n = 0, tasks = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < max && tasks < AMX_PROC_MAX_TASKS) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		tasks++;
		snprintf(path, sizeof(path), "%s/%d/task/%.16s/children", amx_procdir, ppid,
			 de->d_name);
		FILE *f = fopen(path, "re");
		int pid;
		while (f && n < max && fscanf(f, "%d", &pid) == 1)
			if (live_child(pid, ppid))
				out[n++] = pid;
		if (f)
			fclose(f);
	}
	closedir(d);
	return n;
}

int amx_proc_children(int ppid, int *out, int max)
{
	amx_proc_children_calls++;
	int n = children_by_task_files(ppid, out, max);
	return n >= 0 ? n : children_by_walk(ppid, out, max);
}

uint64_t amx_proc_rss_bytes(int pid)
{
	char buf[256];
	ssize_t n = amx_proc_read(pid, "statm", buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	unsigned long long size = 0, resident = 0;
	if (sscanf(buf, "%llu %llu", &size, &resident) != 2)
		return 0;
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}
