# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Boot 1 of the systemd bed (sourced by tests/systemd/guest.sh): the pinned PM2 copied to a
# root-owned place, a test user with three apps saved in its dump, PM2 under the unit
# `pm2 startup systemd` writes, and amexbpf installed from its package (which enables and
# starts the unit). Returns non-zero on the first step that fails.
log "setup"
mkdir -p /opt/amx-bed
# One tarball over 9p (run.sh packs it): thousands of small files cost minutes under TCG.
tar -C /opt/amx-bed -xf "$repo/.output/systemd/pm2.tar" || return 1
chmod -R go-w /opt/amx-bed
# On PATH, as `npm install -g pm2` puts it: amexbpf finds it there.
ln -sf /opt/amx-bed/pm2/node_modules/pm2/bin/pm2 /usr/local/bin/pm2 || return 1
log "pinned PM2 in /opt/amx-bed/pm2, on PATH as /usr/local/bin/pm2"
cp "$repo/tests/systemd/app.js" "$repo/tests/systemd/ecosystem.config.js" /opt/amx-bed/ || return 1
id "$USER_" >/dev/null 2>&1 || useradd -m -s /bin/bash "$USER_" || return 1
pm2u start /opt/amx-bed/ecosystem.config.js >/dev/null || return 1
wait_apps 120 || { log "apps did not come online"; return 1; }
pm2u save >/dev/null || return 1
pm2u kill >/dev/null
# What an operator runs: the unit PM2 writes, enabled; then started so that the PM2 daemon
# lives in that unit's cgroup.
env PATH="$PATH" HOME=/root "$PM2" startup systemd -u "$USER_" --hp "$UHOME" >"$out/pm2-startup.log" 2>&1 ||
	{ log "pm2 startup failed"; return 1; }
cp "/etc/systemd/system/$UNIT" "$out/$UNIT"
systemctl start "$UNIT" || { systemctl status "$UNIT" --no-pager; return 1; }
wait_apps 180 >/dev/null || { log "apps not back under $UNIT"; return 1; }
log "PM2 under $UNIT: God $(god_pid) in $(cgroup_of "$(god_pid)")"
# TCG: pm2 commands take 10-30 s, node starts in ~5 s.
# The host is a container image whose policy-rc.d forbids starting services from packages;
# this guest is a real system, where the postinst starts the unit.
rm -f /usr/sbin/policy-rc.d
dpkg -i "$repo"/.output/systemd/amexbpf_*.deb >"$out/dpkg.log" 2>&1 || { cat "$out/dpkg.log"; return 1; }
wait_active amexbpf 120 || { log "the package did not start amexbpf"; return 1; }
log "the package started amexbpf: $(systemctl show -p MainPID -p ActiveState amexbpf | tr '\n' ' ')"
printf 'action-timeout = 180\nverify-timeout = 90\n' >>/etc/amexbpf/amexbpf.conf
log "setup done"
