// SPDX-License-Identifier: MIT
// The systemd bed's app: an HTTP server on the port given; GET /hog makes it allocate 16 MB
// every 50 ms until the kernel's OOM killer ends it (scenario 5).
'use strict';
const http = require('http');
const port = Number(process.argv[2] || 3101);
const held = [];
http.createServer((req, res) => {
	if (req.url === '/hog') {
		setInterval(() => { held.push(Buffer.alloc(16 << 20, 1)); }, 50);
	}
	res.end('ok ' + process.pid + '\n');
}).listen(port, '127.0.0.1');
