// SPDX-License-Identifier: MIT
// The systemd bed's three apps (tests/systemd/app.js on ports 3101-3103), started in one
// pm2 command: each pm2 command costs 10-30 s under TCG.
module.exports = {
	apps: [1, 2, 3].map((n) => ({
		name: 'a' + n,
		script: '/opt/amx-bed/app.js',
		args: String(3100 + n),
	})),
};
