// SPDX-License-Identifier: MIT
// A memory hog for the OOM test: after GET /grow (or at start when GROW=1) it allocates and
// touches 8 MiB every 50 ms until the kernel kills it. GET / answers like server.js.
'use strict';
const http = require('http');

const port = Number(process.env.PORT || 3000);
const hoard = [];
let growing = false;

function grow() {
	if (growing)
		return;
	growing = true;
	setInterval(() => {
		// Buffer.alloc fills with zeros, so every page is touched and counted as RSS.
		const chunk = Buffer.alloc(8 * 1024 * 1024, 1);
		hoard.push(chunk);
	}, 50);
}

const server = http.createServer((req, res) => {
	if (req.url === '/grow')
		grow();
	res.writeHead(200, { 'Content-Type': 'application/json' });
	res.end(JSON.stringify({ pid: process.pid, name: process.env.name || null,
		growing, mib: hoard.length * 8 }) + '\n');
});
server.on('error', (err) => {
	console.error(`cannot listen on port ${port}: ${err.message}`);
	process.exit(1);
});
server.listen(port, '127.0.0.1');
if (process.env.GROW === '1')
	grow();
