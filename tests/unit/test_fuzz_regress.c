/* SPDX-License-Identifier: MIT */
/* Replays every input kept under tests/fuzz/ (seed corpora and the crashers the fuzzers
 * found) through the parsers they target, so a fixed crash stays fixed in `make test`,
 * under SANITIZE=address,undefined too. Run from the repository root (tests/run.sh does). */
#include "check.h"
#include "daemon/config.h"
#include "core/control_request.h"
#include "core/dump.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

typedef void (*replay_fn)(const char *buf, size_t len);

static void replay_dump(const char *buf, size_t len)
{
	struct amx_dump d = { 0 }, none = { 0 };
	enum amx_dump_problem p = amx_dump_parse(buf, len, &d);

	(void)amx_dump_judge(p, &d, &none);
	amx_dump_free(&d);
}

static void replay_jlist(const char *buf, size_t len)
{
	struct amx_dump d = { 0 };

	(void)amx_jlist_parse(buf, len, &d);
	amx_dump_free(&d);
}

static void replay_config(const char *buf, size_t len)
{
	static struct amx_options o;
	char problems[4096];
	FILE *f = len ? fmemopen((void *)buf, len, "r") : NULL;

	if (!f)
		return;
	memset(&o, 0, sizeof(o));
	(void)amx_config_read(f, "replay.conf", &o, problems, sizeof(problems));
	fclose(f);
	amx_config_free_strings();
}

static void replay_control(const char *buf, size_t len)
{
	struct amx_request r;
	const char *nl = memchr(buf, '\n', len);

	amx_control_parse_request(buf, nl ? (size_t)(nl - buf) : len, &r);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

/* Every regular file in dir through fn; returns how many were replayed, -1 when a file
 * could not be read. A missing directory replays nothing. */
static int replay_dir(const char *dir, replay_fn fn)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char path[4096];
		size_t len = 0;
		char *buf;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		buf = slurp(path, &len);
		if (!buf) {
			n = -1;
			break;
		}
		fn(buf, len);
		free(buf);
		n++;
	}
	closedir(d);
	return n;
}

TEST(seed_corpora_replay)
{
	CHECK(replay_dir("tests/fuzz/corpus/dump", replay_dump) > 0);
	CHECK(replay_dir("tests/fuzz/corpus/jlist", replay_jlist) > 0);
	CHECK(replay_dir("tests/fuzz/corpus/config", replay_config) > 0);
	CHECK(replay_dir("tests/fuzz/corpus/control", replay_control) > 0);
}

TEST(crashers_replay)
{
	CHECK(replay_dir("tests/fuzz/crashers/dump", replay_dump) >= 0);
	CHECK(replay_dir("tests/fuzz/crashers/jlist", replay_jlist) >= 0);
	CHECK(replay_dir("tests/fuzz/crashers/config", replay_config) >= 0);
	CHECK(replay_dir("tests/fuzz/crashers/control", replay_control) >= 0);
}

int main(void)
{
	RUN(seed_corpora_replay);
	RUN(crashers_replay);
	CHECK_DONE();
}
