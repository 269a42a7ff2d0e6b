#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# napdhcpd serves real DHCP clients with NAP off: dhclient, udhcpc (busybox) and dhcpcd, each in
# its own network namespace joined to napdhcpd's bridge, get a lease from the pool with the
# router, DNS, domain and classless routes (121 and 249), and the test reads their interface
# address and routing table. Then: INIT-REBOOT (dhclient again with its lease file), RENEW
# (udhcpc SIGUSR1), RELEASE (dhclient -r: the address goes back), DECLINE (dhclient-script
# refuses the address: the client gets another one and the declined one is not handed out),
# a reservation, and relayed requests (dhcrelay in a relay namespace between two segments when
# isc-dhcp-relay is installed; a relay agent with option 82 from dhcpkit.py always).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns.sh"
KIT="$PYTHON $(dirname "$0")/dhcpkit.py"
netns_init
require dhclient udhcpc dhcpcd "$NAPDHCPD" "$PYTHON"

RES_MAC=02:4e:41:00:00:20
netns_client dh
netns_client ud
netns_client dc
netns_client rs "$RES_MAC"
netns_client dx
netns_client kit
ip -n "${CLI_NS[kit]}" addr add 10.99.0.250/24 dev "${CLI_IF[kit]}"

{
	dhcpd_server_section "decline_time = 1h"
	cat <<EOF
[scope lan]
subnet = 10.99.0.0/24
pool = 10.99.0.100-10.99.0.119
router = $SRV_IP
dns = $SRV_IP, 10.99.0.2
domain = napt.test
routes = 10.99.5.0/24 $SRV_IP, 10.99.6.0/23 via $SRV_IP, 0.0.0.0/0 $SRV_IP
lease_time = 600
reservation = $RES_MAC 10.99.0.20 reserved-host

[scope remote]
subnet = 10.99.1.0/24
pool = 10.99.1.100-10.99.1.119
router = 10.99.1.1
lease_time = 300
EOF
} >"$T/napdhcpd.conf"
in_srv "$NAPDHCPD" -n -f "$T/napdhcpd.conf" >"$T/napdhcpd-n.out" 2>&1 ||
	fail "napdhcpd -n refused the configuration: $(cat "$T/napdhcpd-n.out")"
start_napdhcpd

in_pool() { [[ $1 =~ ^10\.99\.0\.1(0[0-9]|1[0-9])$ ]]; }
ROUTES_WANT=10.99.5.0/24@$SRV_IP,10.99.6.0/23@$SRV_IP,0.0.0.0/0@$SRV_IP

# check_client NAME CLIENT: what the script got and what the namespace holds
check_client() {
	local name=$1 what=$2 ip
	ip=$(ev "$name" ip)
	in_pool "$ip" || fail "$what: address '$ip' is not from the pool"
	assert_eq "$what: mask" 24 "$(ev "$name" mask)"
	assert_eq "$what: routers" "$SRV_IP" "$(ev "$name" routers)"
	assert_eq "$what: option 121" "$ROUTES_WANT" "$(ev "$name" routes121)"
	assert_eq "$what: option 249" "$ROUTES_WANT" "$(ev "$name" routes249)"
	assert_eq "$what: lease time" 600 "$(ev "$name" lease)"
	assert_eq "$what: server id" "$SRV_IP" "$(ev "$name" server)"
	assert_eq "$what: domain" napt.test "$(ev "$name" domain)"
	assert_eq "$what: DNS" "$SRV_IP,10.99.0.2" "$(ev "$name" dns)"
	assert_eq "$what: no option 43 with NAP off" "" "$(ev "$name" opt43)"
	assert_eq "$what: interface address" "$ip/24" "$(cli_addr "$name")"
	has_route "$name" "$what: default route" "default via $SRV_IP"
	has_route "$name" "$what: route from 121" "10.99.5.0/24 via $SRV_IP"
	has_route "$name" "$what: route from 121 (/23)" "10.99.6.0/23 via $SRV_IP"
}

# --- three clients ---------------------------------------------------------------------------
t0=$(date +%s%N)
run_dhclient dh || fail "dhclient got no lease (status $?)"
log "dhclient bound in $((($(date +%s%N) - t0) / 1000000)) ms"
check_client dh dhclient
DH_IP=$(ev dh ip)

start_udhcpc ud
check_client ud udhcpc
UD_IP=$(ev ud ip)

t0=$(date +%s%N)
run_dhcpcd dc || fail "dhcpcd got no lease (status $?)"
log "dhcpcd bound in $((($(date +%s%N) - t0) / 1000000)) ms"
check_client dc dhcpcd
DC_IP=$(ev dc ip)

[[ $DH_IP != "$UD_IP" && $DH_IP != "$DC_IP" && $UD_IP != "$DC_IP" ]] ||
	fail "two clients share an address: $DH_IP $UD_IP $DC_IP"
log "ok: three clients, three addresses ($DH_IP $UD_IP $DC_IP)"

# --- INIT-REBOOT: dhclient stops (keeping its lease file) and starts again ----------------------
dhclient_stop dh
run_dhclient dh || fail "dhclient INIT-REBOOT failed"
assert_eq "dhclient INIT-REBOOT event" 1 "$(n_events dh REBOOT)"
assert_eq "dhclient INIT-REBOOT keeps the address" "$DH_IP" "$(ev dh ip REBOOT)"
assert_eq "dhclient interface after INIT-REBOOT" "$DH_IP/24" "$(cli_addr dh)"

# --- RENEW: udhcpc SIGUSR1 (unicast REQUEST with ciaddr) ---------------------------------------
kill -USR1 "${CLI_PID[ud]}"
for ((i = 0; i < 50; i++)); do
	(($(n_events ud RENEW) >= 1)) && break
	sleep 0.1
done
assert_eq "udhcpc RENEW event" 1 "$(n_events ud RENEW)"
assert_eq "udhcpc RENEW keeps the address" "$UD_IP" "$(ev ud ip RENEW)"
assert_eq "udhcpc RENEW: lease time" 600 "$(ev ud lease RENEW)"

# --- reservation -----------------------------------------------------------------------------
run_dhclient rs || fail "reserved client got no lease"
assert_eq "reservation: address" 10.99.0.20 "$(ev rs ip)"
assert_eq "reservation: interface" 10.99.0.20/24 "$(cli_addr rs)"

# --- RELEASE: dhclient -r; the address goes back to the pool and is free again ----------------
dhclient_release dh
assert_eq "dhclient released: no address" "" "$(cli_addr dh)"
for ((i = 0; i < 30; i++)); do
	(($(dm napdhcpd_releases_total) >= 1)) && break
	sleep 0.1
done
assert_ge "napdhcpd counted the RELEASE" 1 "$(dm napdhcpd_releases_total)"

# --- DECLINE: dhclient-script refuses the first address it is given -------------------------
: >"$T/dx.decline"
run_dhclient dx || fail "dhclient dx got no lease"
FIRST=$(ev dx ip)
dhclient_release dx
rm -f "$T/dx.dhclient.leases"
echo "$FIRST" >"$T/dx.decline"
# dhclient -1 sends the DHCPDECLINE and gives up ("declined"); a second run starts over
run_dhclient dx 30 || true
assert_eq "DECLINE: the script refused $FIRST" 1 "$(n_events dx DECLINED)"
rm -f "$T/dx.dhclient.leases"
run_dhclient dx 30 || fail "dhclient dx got no lease after declining $FIRST"
SECOND=$(ev dx ip)
assert_ne "DECLINE: a different address after declining" "$FIRST" "$SECOND"
in_pool "$SECOND" || fail "DECLINE: $SECOND is not from the pool"
assert_ge "napdhcpd counted the DECLINE" 1 "$(dm napdhcpd_declines_total)"

# --- relayed: dhcpkit.py as a relay agent with option 82 (giaddr in scope lan) ------------------
in_cli kit $KIT dora --relay 10.99.0.250 --server "$SRV_IP" --mac 02:4e:41:00:00:82 \
	--opt 82:0106636972637569740206726d746964 >"$T/relay.json" ||
	fail "dhcpkit relay run failed"
assert_eq "relay agent: ACK" 5 "$(jget "$T/relay.json" 'j["ack"]["type"]')"
in_pool "$(jget "$T/relay.json" 'j["ack"]["yiaddr"]')" || fail "relay agent: address not from the pool"
assert_eq "relay agent: option 82 echoed in the OFFER" 0106636972637569740206726d746964 \
	"$(jget "$T/relay.json" 'j["offer"]["options"]["82"]')"
assert_eq "relay agent: option 82 echoed in the ACK" 0106636972637569740206726d746964 \
	"$(jget "$T/relay.json" 'j["ack"]["options"]["82"]')"
assert_eq "relay agent: giaddr kept" 10.99.0.250 "$(jget "$T/relay.json" 'j["ack"]["giaddr"]')"

# giaddr inside scope remote: the address comes from that scope's pool
ip -n "${CLI_NS[kit]}" addr add 10.99.1.1/24 dev "${CLI_IF[kit]}"
in_srv ip route add 10.99.1.0/24 via 10.99.0.250
in_cli kit $KIT dora --relay 10.99.1.1 --server "$SRV_IP" --mac 02:4e:41:00:01:82 \
	>"$T/relay2.json" || fail "dhcpkit relay run (remote) failed"
assert_match "relay agent for 10.99.1.0/24: address from scope remote" '^10\.99\.1\.1[01][0-9]$' \
	"$(jget "$T/relay2.json" 'j["ack"]["yiaddr"]')"
assert_eq "relay agent for 10.99.1.0/24: router of scope remote" 0a630101 \
	"$(jget "$T/relay2.json" 'j["ack"]["options"]["3"]')"
ip -n "${CLI_NS[kit]}" addr del 10.99.1.1/24 dev "${CLI_IF[kit]}"
in_srv ip route del 10.99.1.0/24 via 10.99.0.250

# --- relayed through a real relay: dhcrelay between segment 10.99.1.0/24 and the server ---------
if command -v dhcrelay >/dev/null 2>&1; then
	netns_client far
	RNS=napt-$$-relay
	ip netns add "$RNS"
	_netns_list+=("$RNS")
	ip -n "$RNS" link set lo up
	# relay uplink on the bridge, downlink to the far client's segment
	ip link add "nr$$u" netns "$RNS" type veth peer name "nb$$u" netns "$NS_SRV"
	ip -n "$NS_SRV" link set "nb$$u" master "$SRV_IF" up
	ip -n "$RNS" addr add 10.99.0.3/24 dev "nr$$u"
	ip -n "$RNS" link set "nr$$u" up
	# move the far client's veth from the bridge to the relay
	ip -n "$NS_SRV" link set "ns$$x$_netns_n" netns "$RNS"
	ip -n "$RNS" addr add 10.99.1.1/24 dev "ns$$x$_netns_n"
	ip -n "$RNS" link set "ns$$x$_netns_n" up
	in_srv ip route add 10.99.1.0/24 via 10.99.0.3
	ip netns exec "$RNS" sysctl -qw net.ipv4.ip_forward=1
	ip netns exec "$RNS" dhcrelay -4 -d -a -pf "$T/dhcrelay.pid" -iu "nr$$u" \
		-id "ns$$x$_netns_n" "$SRV_IP" >"$T/dhcrelay.log" 2>&1 &
	_nap_pids+=($!)
	sleep 0.3
	run_dhclient far 20 || fail "dhclient behind dhcrelay got no lease"
	assert_match "behind dhcrelay: address from scope remote" '^10\.99\.1\.1[01][0-9]$' \
		"$(ev far ip)"
	assert_eq "behind dhcrelay: router of scope remote" 10.99.1.1 "$(ev far routers)"
	assert_eq "behind dhcrelay: lease time of scope remote" 300 "$(ev far lease)"
	assert_eq "behind dhcrelay: interface" "$(ev far ip)/24" "$(cli_addr far)"
else
	log "dhcrelay not installed (isc-dhcp-relay): the real-relay case is left out"
fi

# --- counters and a clean exit ----------------------------------------------------------------
assert_ge "napdhcpd counted DISCOVERs" 5 "$(dm napdhcpd_packets_total 'type="discover"')"
assert_ge "napdhcpd counted REQUESTs" 6 "$(dm napdhcpd_packets_total 'type="request"')"
assert_alive "$DHCPD_PID" napdhcpd
stop_napdhcpd
log "PASS"
