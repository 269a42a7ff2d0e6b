#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# napdhcpd under bad input: malformed and truncated packets, bad cookies and message types,
# options overrunning their field, option-overload tricks (52 pointing into file/sname that hold
# garbage, a second 52, unterminated fields), NAP sub-options of the wrong length, RFC 3396
# long options, datagrams over the codec's 4096-byte limit, broadcast and unicast; then floods of
# DISCOVERs from thousands of random MACs out of two namespaces. napdhcpd must not crash, its
# drop counters must move, and a real client (dhclient) must still get a lease during the flood.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns.sh"
KIT="$PYTHON $(dirname "$0")/dhcpkit.py"
netns_init
require dhclient udhcpc "$NAPDHCPD" "$PYTHON"
netns_client kit
ip -n "${CLI_NS[kit]}" addr add 10.99.0.250/20 dev "${CLI_IF[kit]}"
netns_client kit2
ip -n "${CLI_NS[kit2]}" addr add 10.99.0.251/20 dev "${CLI_IF[kit2]}"
netns_client ok
netns_client ok2
netns_client ok3
ip -n "$NS_SRV" addr flush dev "$SRV_IF"
ip -n "$NS_SRV" addr add "$SRV_IP/20" dev "$SRV_IF"

{
	dhcpd_server_section "offer_timeout = 2s"
	cat <<EOF
[scope lan]
subnet = 10.99.0.0/20
pool = 10.99.1.0-10.99.15.254
router = $SRV_IP
lease_time = 600
nap = on
nap_incapable = full
nap_fail = full
EOF
} >"$T/napdhcpd.conf"
start_napdhcpd
drops() { dm napdhcpd_dropped_total; }

d0=$(drops)
in_cli kit $KIT bad --iface "${CLI_IF[kit]}" --rounds 3 >"$T/bad-bcast.json" ||
	fail "dhcpkit bad (broadcast) failed"
in_cli kit $KIT bad --server "$SRV_IP" --rounds 3 >"$T/bad-ucast.json" ||
	fail "dhcpkit bad (unicast) failed"
SENT=$(($(jget "$T/bad-bcast.json" 'j["sent"]') + $(jget "$T/bad-ucast.json" 'j["sent"]')))
log "sent $SENT malformed packets ($(jget "$T/bad-bcast.json" 'len(j["kinds"])') kinds)"
sleep 0.5
assert_alive "$DHCPD_PID" napdhcpd
d1=$(drops)
log "napdhcpd_dropped_total: $d0 -> $d1 ($(ns_metrics "$NS_SRV" "$DHCPD_METRICS" |
	awk '/^napdhcpd_dropped_total/ && $2 > 0 { printf "%s ", $0 }'))"
# at least the clearly broken kinds (truncated, bad cookie, overruns, oversize, ...) x 6 sends
assert_ge "drop counters moved" $((d0 + 20 * 6)) "$d1"
in_srv cat "/proc/$DHCPD_PID/status" | awk '/^VmRSS/ { print "napdhcpd RSS", $2, $3 }' >&2

# still serving
run_dhclient ok || fail "no lease after the malformed packets"
log "ok: dhclient served after the malformed packets ($(ev ok ip))"

# --- flood: random MACs from two namespaces ---------------------------------------------------
# first as fast as python sends (several times what napdhcpd can answer): no crash, and the
# kernel's socket buffer is what overflows; then a storm of 1,500 DISCOVERs a second from new
# MACs (a building's worth of machines booting at once) while real clients ask for leases:
# they must be served while the storm is still going.
in_cli kit $KIT flood --iface "${CLI_IF[kit]}" --seconds 3 --count 0 >"$T/flood0a.json" &
F1=$!
in_cli kit2 $KIT flood --server "$SRV_IP" --seconds 3 --count 0 >"$T/flood0b.json" &
F2=$!
wait "$F1" "$F2" || true
FLOOD=$(($(jget "$T/flood0a.json" 'j["sent"]') + $(jget "$T/flood0b.json" 'j["sent"]')))
log "unlimited flood: $FLOOD DISCOVERs in 3 s; napdhcpd counted" \
	"$(dm napdhcpd_packets_total 'type="discover"') DISCOVERs so far"
assert_alive "$DHCPD_PID" napdhcpd

r0=$(dm napdhcpd_packets_total 'type="discover"')
in_cli kit $KIT flood --iface "${CLI_IF[kit]}" --seconds 8 --count 0 --rate 750 \
	>"$T/flood1.json" &
F1=$!
in_cli kit2 $KIT flood --server "$SRV_IP" --seconds 8 --count 0 --rate 750 >"$T/flood2.json" &
F2=$!
sleep 1
t0=$(date +%s%N)
run_dhclient ok2 || fail "dhclient got no lease during the storm"
log "ok: dhclient bound during the storm in $((($(date +%s%N) - t0) / 1000000)) ms ($(ev ok2 ip))"
start_udhcpc ok3
kill -TERM "${CLI_PID[ok3]}" 2>/dev/null || true
log "ok: udhcpc bound during the storm ($(ev ok3 ip))"
kill -0 "$F1" 2>/dev/null && kill -0 "$F2" 2>/dev/null ||
	fail "the storm ended before the clients were served: the test proves nothing"
log "ok: both clients were served while the storm was still going"
wait "$F1" "$F2" || true
FLOOD=$(($(jget "$T/flood1.json" 'j["sent"]') + $(jget "$T/flood2.json" 'j["sent"]')))
r1=$(dm napdhcpd_packets_total 'type="discover"')
log "storm: $FLOOD DISCOVERs sent, napdhcpd counted $((r1 - r0)), drops now $(drops)," \
	"offers $(dm napdhcpd_replies_total 'type="offer"')"
assert_ge "napdhcpd answered the storm" $((FLOOD * 9 / 10)) $((r1 - r0))
assert_alive "$DHCPD_PID" napdhcpd
stop_napdhcpd
log "PASS"
