/* SPDX-License-Identifier: MIT */
/* The engine's real seams (engine.h): the boot clock, and pm2 commands started and reaped
 * through sys/spawn.c. A test puts its own in their place. */
#include "daemon/engine.h"

uint64_t eng_real_clock_ms(void *ctx)
{
	(void)ctx;
	return amx_boot_ms();
}

static int real_spawn(void *ctx, struct amx_child *c, const struct amx_argv *argv,
		      const struct amx_user *u, const char *pm2_home, char *err, size_t errlen)
{
	(void)ctx;
	return amx_spawn(c, argv, u, pm2_home, err, errlen);
}

static void real_read_output(void *ctx, struct amx_child *c)
{
	(void)ctx;
	amx_child_read_output(c);
}

static bool real_reap(void *ctx, struct amx_child *c)
{
	(void)ctx;
	return amx_child_reap(c);
}

static char *real_read_all(void *ctx, const struct amx_child *c, size_t max, size_t *len)
{
	(void)ctx;
	return amx_child_read_all(c, max, len);
}

static void real_kill_group(void *ctx, struct amx_child *c)
{
	(void)ctx;
	amx_child_kill_group(c);
}

static void real_release(void *ctx, struct amx_child *c)
{
	(void)ctx;
	amx_child_release(c);
}

const struct amx_spawner eng_real_spawner = {
	.spawn = real_spawn,
	.read_output = real_read_output,
	.reap = real_reap,
	.read_all = real_read_all,
	.kill_group = real_kill_group,
	.release = real_release,
};
