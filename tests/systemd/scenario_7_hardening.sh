# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# 7. The sandbox: every path the packaged daemon writes is writable in it (the events
# file, the state dir, the socket, node_exporter's textfile), nothing in its journal says a
# write was refused, and `systemd-analyze security` scores the unit (the score and the
# exposures left go to OUT/security.txt).
name=scenario_7_hardening
pid=$(main_pid amexbpf)
why=""
sleep 5
for p in "$EVENTS" /var/lib/amexbpf /run/amexbpf/amexbpf.sock /var/lib/prometheus/node-exporter/amexbpf.prom; do
	[ -e "$p" ] || why="${why}$p missing; "
done
prom=/var/lib/prometheus/node-exporter/amexbpf.prom
if [ -e "$prom" ]; then
	age=$(($(date +%s) - $(stat -c %Y "$prom")))
	[ "$age" -lt 120 ] || why="${why}$prom not refreshed for $age s; "
fi
refused=$(timeout 120 journalctl -u amexbpf --no-pager -b -q -o cat | grep -c -i -E "read-only file system|permission denied|operation not permitted")
[ "$refused" -eq 0 ] || why="${why}$refused refused operations in the journal; "
timeout 120 journalctl -u amexbpf --no-pager -b -q -o cat | grep -i -E "read-only file system|permission denied|operation not permitted" | tail -n 5
timeout 60 amexbpf status >"$out/status.txt" 2>&1 || why="${why}amexbpf status failed; "
timeout 300 systemd-analyze security amexbpf --no-pager >"$out/security.txt" 2>&1
score=$(sed -n 's/.*Overall exposure level for amexbpf.service: \([0-9.]*\) \([A-Z]*\).*/\1 \2/p' "$out/security.txt")
caps=$(awk '/^CapEff/ { print $2 }' "/proc/$pid/status")
[ -n "$score" ] || why="${why}no score from systemd-analyze security; "
if [ -z "$why" ]; then
	result PASS $name "writes ok, systemd-analyze security: $score, CapEff $caps"
else
	result FAIL $name "${why%; }; score ${score:-?}"
fi
