# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# 7. The sandbox: every path the packaged daemon writes is writable in it (the events
# file, the state dir, the socket, node_exporter's textfile), nothing in its journal says a
# write or an operation was refused, and `systemd-analyze security` scores the unit (the
# score and every exposure left go to OUT/security.txt; docs/systemd.md gives each reason).
name=scenario_7_hardening
pid=$(main_pid amexbpf)
why=""
for p in "$EVENTS" /var/lib/amexbpf /run/amexbpf/amexbpf.sock /var/lib/prometheus/node-exporter/amexbpf.prom; do
	[ -e "$p" ] || why="${why}$p missing; "
done
prom=/var/lib/prometheus/node-exporter/amexbpf.prom
if [ -e "$prom" ]; then
	age=$(($(date +%s) - $(stat -c %Y "$prom")))
	[ "$age" -lt 120 ] || why="${why}$prom not refreshed for $age s; "
	# Written for node_exporter, which runs as its own user: it must be able to read it
	# (the unit's UMask=0027 once made it 0640 root:root).
	mode=$(stat -c '%a %U:%G' "$prom")
	if id prometheus >/dev/null 2>&1; then
		runuser -u prometheus -- head -c 1 "$prom" >/dev/null 2>&1 ||
			why="${why}node_exporter's user cannot read $prom ($mode); "
	fi
	log "$prom: $mode"
fi
# One read of this boot's journal of the unit, timed (an earlier run seemed to hang here).
t=$SECONDS
timeout 120 journalctl -u amexbpf --no-pager -b -q -o cat >"$STATE/journal.txt" 2>&1
log "journalctl -u amexbpf -b: rc $?, $(wc -l <"$STATE/journal.txt") lines in $((SECONDS - t)) s"
refused=$(grep -c -i -E "read-only file system|permission denied|operation not permitted" "$STATE/journal.txt")
grep -i -E "read-only file system|permission denied|operation not permitted" "$STATE/journal.txt" | tail -n 5
[ "$refused" -eq 0 ] || why="${why}$refused refused operations in the journal; "
t=$SECONDS
timeout 60 amexbpf status >"$out/status.txt" 2>&1 || why="${why}amexbpf status failed; "
log "amexbpf status in $((SECONDS - t)) s"
t=$SECONDS
timeout 300 systemd-analyze security amexbpf --no-pager >"$out/security.txt" 2>&1
log "systemd-analyze security: rc $? in $((SECONDS - t)) s"
score=$(sed -n 's/.*Overall exposure level for amexbpf.service: \([0-9.]*\) \([A-Z]*\).*/\1 \2/p' "$out/security.txt")
caps=$(awk '/^CapEff/ { print $2 }' "/proc/$pid/status")
bnd=$(awk '/^CapBnd/ { print $2 }' "/proc/$pid/status")
[ -n "$score" ] || why="${why}no score from systemd-analyze security; "
[ "$caps" = "$bnd" ] || why="${why}CapEff $caps is not the bounding set $bnd; "
if [ -z "$why" ]; then
	result PASS $name "writes ok, no refusal in the journal, systemd-analyze security: $score, CapEff = CapBnd $caps"
else
	result FAIL $name "${why%; }; score ${score:-?}"
fi
