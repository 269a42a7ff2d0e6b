#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# napdhcpd's lease journal survives kill -9: a stream of clients (dhcpkit.py, one DORA per MAC)
# is running when napdhcpd is killed right after an ACK; after the restart every client that
# got an ACK gets the same address back, new clients never get an address someone holds, and
# a real dhclient's INIT-REBOOT is acknowledged. Three kill cycles, dozens of leases.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns.sh"
KIT="$PYTHON $(dirname "$0")/dhcpkit.py"
netns_init
require dhclient "$NAPDHCPD" "$PYTHON"
netns_client kit
ip -n "${CLI_NS[kit]}" addr add 10.99.0.250/24 dev "${CLI_IF[kit]}"
netns_client real

{
	dhcpd_server_section "journal_compact = 16"
	cat <<EOF
[scope lan]
subnet = 10.99.0.0/24
pool = 10.99.0.20-10.99.0.239
router = $SRV_IP
lease_time = 3600
EOF
} >"$T/napdhcpd.conf"
start_napdhcpd

run_dhclient real || fail "dhclient got no lease"
REAL_IP=$(ev real ip)

: >"$T/acked"
for cycle in 1 2 3; do
	# a stream of DORAs; dhcpkit kills napdhcpd (-9) right after the Nth ACK and goes on trying
	n=$((10 + RANDOM % 15))
	in_cli kit $KIT leases --iface "${CLI_IF[kit]}" --count 40 --timeout 0.3 --retries 1 \
		--kill-after "$n" --kill-pid "$DHCPD_PID" >"$T/stream$cycle" 2>>"$T/kit.log" &
	KPID=$!
	for ((i = 0; i < 200; i++)); do
		grep -q '^# killed' "$T/stream$cycle" && break
		sleep 0.05
	done
	grep -q '^# killed' "$T/stream$cycle" || fail "cycle $cycle: the stream never got $n ACKs"
	wait "$DHCPD_PID" 2>/dev/null || true
	_nap_forget "$DHCPD_PID"
	kill -TERM "$KPID" 2>/dev/null || true
	wait "$KPID" 2>/dev/null || true
	# every ACK the stream saw, napdhcpd sent before it died
	grep -E '^([0-9a-f]{2}:){5}[0-9a-f]{2} [0-9.]+$' "$T/stream$cycle" >>"$T/acked" || true
	log "cycle $cycle: napdhcpd killed (-9) right after ACK $n;" \
		"$(grep -cE '^([0-9a-f]{2}:){5}[0-9a-f]{2} [0-9.]+$' "$T/stream$cycle" || true) ACKs in this cycle"
	start_napdhcpd
done
N=$(wc -l <"$T/acked")
assert_ge "ACKed leases across the kills" 30 "$N"

# no address was handed to two clients
DUP=$(awk '{print $2}' "$T/acked" | sort | uniq -d | head -n1)
assert_eq "no address ACKed to two MACs" "" "$DUP"
grep -q " $REAL_IP\$" "$T/acked" && fail "dhclient's address $REAL_IP was handed to a stream client"

# every ACKed client gets its address back after the last restart
in_cli kit $KIT leases --iface "${CLI_IF[kit]}" --macs "$T/acked" --timeout 1 >"$T/again" ||
	fail "dhcpkit failed"
while read -r mac ip; do
	got=$(awk -v m="$mac" '$1 == m { print $2 }' "$T/again")
	[[ $got == "$ip" ]] || fail "after kill -9: $mac had $ip, now gets '$got'"
done <"$T/acked"
log "ok: all $N clients got their address back after kill -9"

# new clients get free addresses only
in_cli kit $KIT leases --iface "${CLI_IF[kit]}" --count 20 --timeout 1 >"$T/new" ||
	fail "dhcpkit failed"
assert_eq "20 new clients served" 20 "$(grep -vc ' - ' "$T/new" || true)"
while read -r mac ip; do
	grep -q " $ip\$" "$T/acked" && fail "new client $mac got $ip, which an earlier client holds"
	[[ $ip == "$REAL_IP" ]] && fail "new client $mac got dhclient's $REAL_IP"
done <"$T/new"
log "ok: new clients got unused addresses"

# the real client's INIT-REBOOT is acknowledged with its address
dhclient_stop real
run_dhclient real || fail "dhclient INIT-REBOOT after kill -9 failed"
assert_eq "dhclient INIT-REBOOT after kill -9" "$REAL_IP" "$(ev real ip REBOOT)"

# the journal is there and was compacted
ls "$DHCPD_STATE" >"$T/state.ls"
[[ -s $T/state.ls ]] || fail "napdhcpd's state directory is empty"
log "state directory: $(tr '\n' ' ' <"$T/state.ls")"
assert_alive "$DHCPD_PID" napdhcpd
stop_napdhcpd
log "PASS"
