// SPDX-License-Identifier: MIT
// The test app: answers GET / with {"pid":..,"name":..}. If CRASH_FILE names an existing file
// at start-up it exits at once with status 1 (or throws, if the file starts with "throw"), so
// tests can make PM2 crash-loop it on demand. If NOLISTEN_FILE names an existing file it runs
// without listening (an app that starts but never serves). If CLOSE_FILE names a file, the
// app closes its server once that file exists and runs on without a port (an app that stops
// serving without dying).
'use strict';
const http = require('http');
const fs = require('fs');

if (process.env.CRASH_FILE && fs.existsSync(process.env.CRASH_FILE)) {
	// A crash file that says "throw" makes it throw instead: an uncaught exception.
	if (fs.readFileSync(process.env.CRASH_FILE, 'utf8').startsWith('throw'))
		throw new Error(`thrown at start, crash file ${process.env.CRASH_FILE}`);
	console.error(`crash file ${process.env.CRASH_FILE} exists: exiting`);
	process.exit(1);
}

if (process.env.NOLISTEN_FILE && fs.existsSync(process.env.NOLISTEN_FILE)) {
	console.error(`no-listen file ${process.env.NOLISTEN_FILE} exists: running without a port`);
	setInterval(() => {}, 1 << 30);
	return;
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
if (process.env.CLOSE_FILE) {
	const poll = setInterval(() => {
		if (!fs.existsSync(process.env.CLOSE_FILE))
			return;
		clearInterval(poll);
		server.close(() => console.log(`closed 127.0.0.1:${port}, running on`));
		setInterval(() => {}, 1 << 30); // alive without a server
	}, 200);
}
