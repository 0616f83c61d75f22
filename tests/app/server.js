// SPDX-License-Identifier: MIT
// The test app: answers GET / with {"pid":..,"name":..}. If CRASH_FILE names an existing file
// at start-up it exits at once with status 1, so tests can make PM2 crash-loop it on demand.
'use strict';
const http = require('http');
const fs = require('fs');

if (process.env.CRASH_FILE && fs.existsSync(process.env.CRASH_FILE)) {
	console.error(`crash file ${process.env.CRASH_FILE} exists: exiting`);
	process.exit(1);
}

// SURVIVE_ORPHAN: behave like the quiet app of pm2-facts that outlives a killed PM2 daemon
// (re-parented to PID 1, still holding its port): PM2's in-app agent keeps sending over the
// closed IPC channel, and the error that would end the app is swallowed.
if (process.env.SURVIVE_ORPHAN) {
	process.on('error', () => {});
	const send = process.send && process.send.bind(process);
	if (send)
		process.send = (...args) => { try { return send(...args); } catch (e) { return false; } };
}

const port = Number(process.env.PORT || 3000);
const body = () => JSON.stringify({ pid: process.pid, name: process.env.name || null }) + '\n';

const server = http.createServer((req, res) => {
	res.writeHead(200, { 'Content-Type': 'application/json' });
	res.end(body());
});
server.on('error', (err) => {
	console.error(`cannot listen on port ${port}: ${err.message}`);
	process.exit(1);
});
server.listen(port, '127.0.0.1', () => console.log(`listening on 127.0.0.1:${port}`));
