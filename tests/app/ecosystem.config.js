// SPDX-License-Identifier: MIT
// The test and demo app as production runs it: one fork-mode instance with the production
// limits. Tests override the limits, name, port and crash file from the environment of the
// `pm2 start` that reads this file.
'use strict';
const path = require('path');

const env = process.env;
const appEnv = { PORT: env.AMX_PORT || '3000' };
if (env.AMX_CRASH_FILE)
	appEnv.CRASH_FILE = env.AMX_CRASH_FILE;
if (env.AMX_NOLISTEN_FILE)
	appEnv.NOLISTEN_FILE = env.AMX_NOLISTEN_FILE;
if (env.AMX_CLOSE_FILE)
	appEnv.CLOSE_FILE = env.AMX_CLOSE_FILE;

module.exports = {
	apps: [{
		name: env.AMX_APP_NAME || 'demo-api',
		script: path.join(__dirname, 'server.js'),
		cwd: __dirname,
		exec_mode: 'fork',
		instances: 1,
		max_restarts: env.AMX_MAX_RESTARTS || '10',
		min_uptime: env.AMX_MIN_UPTIME || '10s',
		max_memory_restart: env.AMX_MAX_MEMORY_RESTART || '1G',
		// AMX_RESTART_DELAY (ms): PM2's pause between restarts; unset, none (PM2's default).
		restart_delay: env.AMX_RESTART_DELAY ? Number(env.AMX_RESTART_DELAY) : undefined,
		// AMX_SURVIVE_ORPHAN: no in-app PM2 agent (pmx), whose metrics timer is what ends an
		// app whose daemon died (process.exit(1) on the closed IPC channel); without it the
		// app outlives a killed daemon and keeps its port, as pm2-facts describes.
		pmx: !env.AMX_SURVIVE_ORPHAN,
		env: { NODE_ENV: 'development', PORT: appEnv.PORT },
		env_production: Object.assign({ NODE_ENV: 'production' }, appEnv),
	}],
};
