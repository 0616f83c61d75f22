/* SPDX-License-Identifier: MIT */
/* The state-file writer (sys/statewriter.h): the loop hands bytes over without waiting for
 * the disk, reads answer what was handed over even before it lands, the writes of one path
 * land in order (newest last), and a remove queued after a write wins. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "sys/statewriter.h"
#include "sys/userfile.h"

static char dir[] = "/tmp/amx-statewriter-XXXXXX";

static void path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static bool on_disk(const char *path, const char *want)
{
	char *out = NULL;
	size_t len = 0;
	bool same = amx_statefile_read(path, 1 << 20, &out, &len) == 0 && want &&
		    len == strlen(want) && memcmp(out, want, len) == 0;
	free(out);
	return want ? same : access(path, F_OK) < 0 && errno == ENOENT;
}

TEST(without_the_thread_writes_are_at_once)
{
	char p[128];
	path_of(p, sizeof(p), "sync");
	CHECK(amx_statefile_put(p, "one", 3) == 0);
	CHECK(on_disk(p, "one"));
	CHECK(amx_statefile_remove(p) == 0);
	CHECK(on_disk(p, NULL));
	/* a failed write is said at once: a directory that does not exist */
	CHECK(amx_statefile_put("/nonexistent-amx-dir/x", "x", 1) == -ENOENT);
}

TEST(queued_writes_are_read_back_and_land_in_order)
{
	char p[128], q[128];
	path_of(p, sizeof(p), "budget");
	path_of(q, sizeof(q), "good");
	CHECK(amx_statewriter_start() == 0);
	unsigned long before = amx_statewriter_done();
	char text[64];
	for (int i = 0; i < 200; i++) {
		snprintf(text, sizeof(text), "v%d", i);
		CHECK(amx_statefile_put(p, text, strlen(text)) == 0);
		CHECK(amx_statefile_put(q, "g", 1) == 0);
		/* what was handed over is what the daemon reads, landed or not */
		char *out = NULL;
		size_t len = 0;
		CHECK(amx_statefile_get(p, 64, &out, &len) == 0 && len == strlen(text) &&
		      memcmp(out, text, len) == 0);
		free(out);
		CHECK(amx_statefile_get(p, 1, &out, &len) == -EFBIG);
	}
	amx_statewriter_flush();
	CHECK(on_disk(p, "v199"));
	CHECK(on_disk(q, "g"));
	/* coalesced: not one fsync per call (each write waits for the disk) */
	CHECK(amx_statewriter_done() - before <= 400);
	CHECK(amx_statewriter_done() - before >= 2);
	/* a remove after a write: gone, and read as gone before it is done */
	CHECK(amx_statefile_put(p, "last", 4) == 0);
	CHECK(amx_statefile_remove(p) == 0);
	char *out = NULL;
	size_t len = 0;
	CHECK(amx_statefile_get(p, 64, &out, &len) == -ENOENT);
	free(out);
	amx_statewriter_flush();
	CHECK(on_disk(p, NULL));
	/* stop lands what is queued */
	CHECK(amx_statefile_put(q, "final", 5) == 0);
	amx_statewriter_stop();
	CHECK(on_disk(q, "final"));
	/* and writes are synchronous again */
	CHECK(amx_statefile_put(q, "after", 5) == 0);
	CHECK(on_disk(q, "after"));
	unlink(q);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(without_the_thread_writes_are_at_once);
	RUN(queued_writes_are_read_back_and_land_in_order);
	rmdir(dir);
	CHECK_DONE();
}
