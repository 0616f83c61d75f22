/* SPDX-License-Identifier: MIT */
#include "sys/socket_table.h"
#include "sys/proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <unistd.h>

unsigned long amx_socktab_lines_read, amx_socktab_bounds_hit;

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* n hex digits at p into *v; false on anything else. */
static bool hex_n(const char *p, int n, uint32_t *v)
{
	uint32_t x = 0;
	for (int i = 0; i < n; i++) {
		int h = hexval(p[i]);
		if (h < 0)
			return false;
		x = (x << 4) | (uint32_t)h;
	}
	*v = x;
	return true;
}

static const char *skip_space(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static const char *skip_token(const char *p)
{
	while (*p && *p != ' ' && *p != '\t' && *p != '\n')
		p++;
	return p;
}

bool amx_socktab_parse_line(const char *line, bool v6, struct amx_listen *out, bool *listening)
{
	memset(out, 0, sizeof(*out));
	*listening = false;
	const char *p = skip_space(line);
	/* "N:" slot number */
	const char *t = skip_token(p);
	if (t == p || t[-1] != ':')
		return false;
	p = skip_space(t);
	/* local address: 8 or 32 hex digits, ':', 4 hex digits */
	int words = v6 ? 4 : 1;
	for (int w = 0; w < words; w++) {
		uint32_t v;
		if (!hex_n(p + w * 8, 8, &v))
			return false;
		/* The kernel prints each 32-bit word as a host-order integer (%08X of __be32). */
		memcpy(out->addr + w * 4, &v, 4);
	}
	p += words * 8;
	if (*p != ':')
		return false;
	uint32_t port;
	if (!hex_n(p + 1, 4, &port))
		return false;
	p = skip_space(p + 5);
	/* remote address */
	t = skip_token(p);
	if (t == p)
		return false;
	p = skip_space(t);
	uint32_t st;
	if (!hex_n(p, 2, &st) || (p[2] != ' ' && p[2] != '\t'))
		return false;
	p += 2;
	/* tx:rx, tr:when, retrnsmt, uid, timeout, then the inode */
	for (int i = 0; i < 5; i++) {
		p = skip_space(p);
		t = skip_token(p);
		if (t == p)
			return false;
		p = t;
	}
	p = skip_space(p);
	char *end;
	errno = 0;
	unsigned long long ino = strtoull(p, &end, 10);
	if (end == p || errno)
		return false;
	out->port = (uint16_t)port;
	out->family = v6 ? AF_INET6 : AF_INET;
	out->inode = ino;
	*listening = st == 0x0A;
	return true;
}

void amx_socktab_addr_str(const struct amx_listen *l, char *buf, size_t len)
{
	if (!inet_ntop(l->family == AF_INET6 ? AF_INET6 : AF_INET, l->addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

/* Walks the listening sockets of one table; fn returns false to stop. -E2BIG when the line
 * bound was hit, else 0 (or -errno when the table cannot be opened). */
typedef bool (*listen_fn)(const struct amx_listen *l, void *arg);

static int walk_table(int netns_pid, bool v6, listen_fn fn, void *arg)
{
	char path[128];
	if (netns_pid > 0)
		snprintf(path, sizeof(path), "%s/%d/net/%s", amx_procdir, netns_pid, v6 ? "tcp6" : "tcp");
	else
		snprintf(path, sizeof(path), "%s/net/%s", amx_procdir, v6 ? "tcp6" : "tcp");
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	FILE *f = fdopen(fd, "r");
	if (!f) {
		int e = errno;
		close(fd);
		return -e;
	}
	char line[512];
	int lines = 0, rc = 0;
	while (fgets(line, sizeof(line), f)) {
		size_t n = strlen(line);
		if (n && line[n - 1] != '\n' && !feof(f)) {
			/* a line longer than any the kernel writes: skip the rest of it */
			int c;
			while ((c = fgetc(f)) != EOF && c != '\n')
				;
			continue;
		}
		if (++lines > AMX_SOCKTAB_MAX_LINES) {
			amx_socktab_bounds_hit++;
			rc = -E2BIG;
			break;
		}
		amx_socktab_lines_read++;
		struct amx_listen l;
		bool listening;
		if (!amx_socktab_parse_line(line, v6, &l, &listening) || !listening)
			continue;
		if (!fn(&l, arg))
			break;
	}
	fclose(f);
	return rc;
}

/* The socket inodes among pid's descriptors, sorted; count, or -errno. */
static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int socket_inodes(int pid, uint64_t *out, int max, bool *cut)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%d/fd", amx_procdir, pid);
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0)
		return -errno;
	DIR *d = fdopendir(dfd);
	if (!d) {
		int e = errno;
		close(dfd);
		return -e;
	}
	int n = 0, seen = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (++seen > AMX_SOCKTAB_MAX_FDS || n >= max) {
			*cut = true;
			break;
		}
		/* readlinkat on /proc/PID/fd/N reads the link's text; nothing is followed. */
		char target[64];
		ssize_t len = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		if (strncmp(target, "socket:[", 8) != 0)
			continue;
		char *end;
		unsigned long long ino = strtoull(target + 8, &end, 10);
		if (end == target + 8 || *end != ']')
			continue;
		out[n++] = ino;
	}
	closedir(d);
	qsort(out, (size_t)n, sizeof(*out), cmp_u64);
	return n;
}

struct collect {
	const uint64_t *inodes;
	int ninodes;
	struct amx_listen *out;
	int max, n;
	bool cut;
};

static bool collect_one(const struct amx_listen *l, void *arg)
{
	struct collect *c = arg;
	if (!bsearch(&l->inode, c->inodes, (size_t)c->ninodes, sizeof(uint64_t), cmp_u64))
		return true;
	for (int i = 0; i < c->n; i++)
		if (c->out[i].port == l->port && c->out[i].family == l->family)
			return true;
	if (c->n >= c->max) {
		c->cut = true;
		return false;
	}
	c->out[c->n++] = *l;
	return true;
}

static int cmp_listen(const void *a, const void *b)
{
	const struct amx_listen *x = a, *y = b;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return x->family - y->family;
}

int amx_socktab_listening(int pid, struct amx_listen *out, int max)
{
	if (pid <= 0 || max <= 0)
		return -EINVAL;
	uint64_t *inodes = malloc(sizeof(uint64_t) * AMX_SOCKTAB_MAX_FDS);
	if (!inodes)
		return -ENOMEM;
	bool cut = false;
	int ni = socket_inodes(pid, inodes, AMX_SOCKTAB_MAX_FDS, &cut);
	if (ni < 0) {
		free(inodes);
		return ni;
	}
	struct collect c = { .inodes = inodes, .ninodes = ni, .out = out, .max = max };
	int rc = 0;
	if (ni > 0) {
		for (int v6 = 0; v6 <= 1; v6++) {
			int r = walk_table(pid, v6, collect_one, &c);
			/* no tcp6 table is a kernel without IPv6, not an error */
			if (r == -E2BIG || (r < 0 && r != -ENOENT && !v6))
				rc = r;
		}
	}
	free(inodes);
	if (cut || c.cut) {
		amx_socktab_bounds_hit++;
		rc = -E2BIG;
	}
	qsort(out, (size_t)c.n, sizeof(*out), cmp_listen);
	if (rc == -E2BIG)
		return c.n ? c.n : rc;
	return rc < 0 && !c.n ? rc : c.n;
}

int amx_socktab_listening_ports(int pid, uint16_t *ports, int max)
{
	struct amx_listen l[64];
	int n = amx_socktab_listening(pid, l, 64);
	if (n < 0)
		return n;
	int k = 0;
	for (int i = 0; i < n && k < max; i++)
		if (!k || ports[k - 1] != l[i].port)
			ports[k++] = l[i].port;
	return k;
}

static bool map_one(const struct amx_listen *l, void *arg)
{
	uint64_t *bits = arg;
	bits[l->port / 64] |= 1ull << (l->port % 64);
	return true;
}

int amx_socktab_listen_map(int netns_pid, uint64_t bits[AMX_SOCKTAB_PORT_WORDS])
{
	memset(bits, 0, sizeof(uint64_t) * AMX_SOCKTAB_PORT_WORDS);
	int r4 = walk_table(netns_pid, false, map_one, bits);
	int r6 = walk_table(netns_pid, true, map_one, bits);
	if (r4 == -E2BIG || r6 == -E2BIG)
		return -E2BIG;
	if (r4 < 0)
		return r4; /* no tcp6 table is a kernel without IPv6, not an error */
	return r6 < 0 && r6 != -ENOENT ? r6 : 0;
}

struct holder_inodes {
	uint16_t port;
	uint64_t inodes[16];
	int n;
};

static bool holder_collect(const struct amx_listen *l, void *arg)
{
	struct holder_inodes *h = arg;
	if (l->port == h->port && h->n < 16)
		h->inodes[h->n++] = l->inode;
	return h->n < 16;
}

int amx_socktab_port_holder(uint16_t port, int netns_pid, int except)
{
	struct holder_inodes h = { .port = port };
	int r4 = walk_table(netns_pid, false, holder_collect, &h);
	int r6 = walk_table(netns_pid, true, holder_collect, &h);
	if (!h.n)
		return (r4 == -E2BIG || r6 == -E2BIG) ? -E2BIG : 0;
	qsort(h.inodes, (size_t)h.n, sizeof(uint64_t), cmp_u64);

	DIR *d = opendir(amx_procdir);
	if (!d)
		return -errno;
	uint64_t *inodes = malloc(sizeof(uint64_t) * AMX_SOCKTAB_MAX_FDS);
	if (!inodes) {
		closedir(d);
		return -ENOMEM;
	}
	int found = 0, seen = 0;
	struct dirent *de;
	while (!found && (de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0 || pid == except)
			continue;
		if (++seen > AMX_SOCKTAB_MAX_PIDS) {
			amx_socktab_bounds_hit++;
			found = -E2BIG;
			break;
		}
		bool cut = false;
		int ni = socket_inodes((int)pid, inodes, AMX_SOCKTAB_MAX_FDS, &cut);
		for (int i = 0; i < ni && !found; i++)
			if (bsearch(&inodes[i], h.inodes, (size_t)h.n, sizeof(uint64_t), cmp_u64))
				found = (int)pid;
	}
	free(inodes);
	closedir(d);
	return found;
}
