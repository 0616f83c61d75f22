# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Boot 1 of the systemd bed (sourced by tests/systemd/guest.sh): the pinned PM2 copied to a
# root-owned place, a test user whose three apps run under the unit `pm2 startup systemd`
# writes (saved in its dump), and amexbpf installed from its package (which enables and
# starts the unit). Returns non-zero on the first step that fails. Each pm2 command costs
# 10-30 s under TCG: the steps are the fewest an operator's would be.
log "setup"
# The package goes in beside the PM2 set-up: dpkg spends its time reading its database
# over 9p, the PM2 steps in node. The host is a container image whose policy-rc.d forbids
# starting services from packages; this guest is a real system, where the postinst starts
# the unit. The man-db trigger (a full mandb over 9p, a minute of TCG) is turned off as
# Debian documents it: no auto-update flag.
rm -f /usr/sbin/policy-rc.d /var/lib/man-db/auto-update
t_dpkg=$SECONDS
dpkg -i "$repo"/.output/systemd/amexbpf_*.deb >"$out/dpkg.log" 2>&1 &
dpkg_pid=$!
mkdir -p /opt/amx-bed
# One tarball over 9p (run.sh packs it): thousands of small files cost minutes under TCG.
tar -C /opt/amx-bed -xf "$repo/.output/systemd/pm2.tar" || return 1
chmod -R go-w /opt/amx-bed
# On PATH, as `npm install -g pm2` puts it: amexbpf finds it there.
ln -sf /opt/amx-bed/pm2/node_modules/pm2/bin/pm2 /usr/local/bin/pm2 || return 1
cp "$repo/tests/systemd/app.js" "$repo/tests/systemd/ecosystem.config.js" /opt/amx-bed/ || return 1
id "$USER_" >/dev/null 2>&1 || useradd -m -s /bin/bash "$USER_" || return 1
log "pinned PM2 in /opt/amx-bed/pm2, on PATH as /usr/local/bin/pm2; user $USER_"
# What an operator runs: the unit PM2 writes, enabled and started (its `pm2 resurrect` of
# an empty dump brings up the daemon, in the unit's cgroup); then the apps, started through
# that daemon (so they are its children, in the same cgroup), and saved.
env PATH="$PATH" HOME=/root "$PM2" startup systemd -u "$USER_" --hp "$UHOME" >"$out/pm2-startup.log" 2>&1 ||
	{ log "pm2 startup failed"; return 1; }
cp "/etc/systemd/system/$UNIT" "$out/$UNIT"
systemctl start "$UNIT" || { systemctl status "$UNIT" --no-pager; return 1; }
pm2u start /opt/amx-bed/ecosystem.config.js >/dev/null || return 1
wait_apps 120 >/dev/null || { log "apps did not come online"; return 1; }
pm2u save >/dev/null || return 1
apps=$(apps_online)
log "PM2 under $UNIT: God $(god_pid) in $(cgroup_of "$(god_pid)"); apps $apps"
for a in $apps; do
	[ "$(cgroup_of "${a#*:}")" = "/system.slice/$UNIT" ] || { log "$a is in $(cgroup_of "${a#*:}")"; return 1; }
done
wait "$dpkg_pid" || { cat "$out/dpkg.log"; return 1; }
log "dpkg -i done after $((SECONDS - t_dpkg)) s"
wait_active amexbpf 120 || { log "the package did not start amexbpf"; return 1; }
log "the package started amexbpf: $(systemctl show -p MainPID -p ActiveState -p NRestarts amexbpf | tr '\n' ' ')"
timeout 60 journalctl -u amexbpf -b --no-pager -o short-monotonic | grep -v " amexbpf\[" | head -n 20
# Scenario 1 restarts the daemon, which then reads these.
printf 'action-timeout = 180\nverify-timeout = 90\n' >>/etc/amexbpf/amexbpf.conf
log "setup done"
