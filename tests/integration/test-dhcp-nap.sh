#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# NAP over DHCP end to end: napvd (file HSR) and napdhcpd in the server namespace, real clients
# in their own namespaces.
#   - NAP-incapable clients get the scope's treatment: full (udhcpc), restricted (dhcpcd sending
#     only the NAP probe, dhclient without option 43), drop (udhcpc gets no lease);
#   - the DISCOVER probe gets the "NAP" marker and the CoID back in the OFFER (dhcpkit.py);
#   - dhclient sending a compliant SoH (napctl soh sample, or napagentd --once --print-soh when
#     it is built) in `send vendor-encapsulated-options` gets full configuration, the SoHR in the
#     ACK decodes with napdump and the CoID is echoed;
#   - a non-compliant SoH gets the restricted configuration: the client's real mask is /32 while
#     NAP-Mask carries 255.255.255.0, its routing table holds host routes to the remediation
#     servers only (no default route), the lease is restricted_lease_time, the user class napvd
#     names supplies its options; after "remediation" (a compliant SoH) the client comes back
#     with full access, and its renewals (checked again, from the verdict cache) keep it;
#   - the "MSFT Quarantine" user class and exempt_mac are exempt (no napvd query);
#   - probation (napvd reloaded with noncompliant = probation) caps the lease at the grace time.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns.sh"
KIT="$PYTHON $(dirname "$0")/dhcpkit.py"
netns_init
require dhclient udhcpc dhcpcd "$NAPDHCPD" "$NAPVD" "$NAPCTL" "$NAPDUMP" "$PYTHON"

make_site S01 5
NAPVD_PORT=1812
METRICS_PORT=9812
write_napvd_conf "$T/napvd.conf"
cat >>"$T/napvd.conf" <<'EOF'
[enforcement dhcp]
compliant = full
noncompliant = restricted
noncapable = restricted
remediation_servers = 10.98.0.10 10.99.0.11
user_class = nap-restricted
EOF
start_napvd_ns
printf '%s\n' "$SECRET" >"$T/napvd.secret"
chmod 600 "$T/napvd.secret"

EXEMPT_MAC=02:4e:41:00:00:ee
# dhcpd_conf INCAPABLE: napdhcpd.conf with nap_incapable = INCAPABLE
dhcpd_conf() {
	{
		dhcpd_server_section
		cat <<EOF
[napvd]
server = 127.0.0.1:$NAPVD_PORT
secret_file = $T/napvd.secret
timeout = 500ms
retries = 1
nas_identifier = napt-dhcp

[scope lan]
subnet = 10.99.0.0/24
pool = 10.99.0.100-10.99.0.149
router = $SRV_IP
dns = $SRV_IP
domain = napt.test
lease_time = 60
renew_time = 3
rebind_time = 50
nap = on
nap_incapable = $1
nap_fail = restricted
nap_remediation = 10.99.0.12
restricted_lease_time = 45
verdict_cache_ttl = 30
service_class = napt-lan
exempt_mac = $EXEMPT_MAC

[class nap-restricted]
domain = restricted.napt.test
dns = 10.99.0.10
EOF
	} >"$T/napdhcpd.conf"
}
restart_dhcpd() {
	[[ -n ${DHCPD_PID:-} ]] && stop_napdhcpd
	dhcpd_conf "$1"
	in_srv "$NAPDHCPD" -n -f "$T/napdhcpd.conf" >"$T/napdhcpd-n.out" 2>&1 ||
		fail "napdhcpd -n refused the configuration: $(cat "$T/napdhcpd-n.out")"
	start_napdhcpd
}

# SoHs: from napagentd --once --print-soh when it is built (the real agent evaluating a dpkg
# status file under $T against the same signed HSR), else napctl's samples.
: "${NAPAGENTD:=$_nap_build/daemons/napagentd/napagentd}"
# agent_soh MACHINE OPENSSL-VERSION: the agent's SoH with that openssl installed
agent_soh() {
	local d=$T/agent-$1
	mkdir -p "$d/state"
	cat >"$d/status" <<EOF
Package: openssl
Status: install ok installed
Architecture: amd64
Version: $2

Package: openssh-server
Status: install ok installed
Architecture: amd64
Version: 1:9.2p1-2+deb12u5

Package: sudo
Status: install ok installed
Architecture: amd64
Version: 1.9.13p3-1+deb12u2

EOF
	cat >"$d/napagentd.conf" <<EOF
[agent]
site = S01
machine_name = $1
state_dir = $d/state

[site]
policy_file = $T/hsr.json
hsr_key = $T/site.pub

[packages]
backend = dpkg
dpkg_status = $d/status
EOF
	"$NAPAGENTD" -f "$d/napagentd.conf" --once --print-soh 2>>"$T/napagentd.log" | tr -d ' \n'
}
if [[ -x $NAPAGENTD ]]; then
	SOH_FROM="napagentd --once --print-soh"
	soh_compliant() { agent_soh "$1" 3.0.15-1~deb12u1; }
	soh_noncompliant() { agent_soh "$1" 3.0.11-1~deb12u2; }
else
	SOH_FROM="napctl soh sample"
	soh_compliant() {
		sample --site S01 --revision 5 --hsr "$T/hsr.json" --compliant yes --machine "$1"
	}
	soh_noncompliant() {
		sample --site S01 --revision 5 --hsr "$T/hsr.json" --compliant no \
			--missing deb-openssl-2026-01 --machine "$1"
	}
fi
log "client SoHs come from $SOH_FROM"
# dhclient_nap NAME SOH-HEX [COID] [LINES...]: dhclient.conf sending NAP-CoID + the SoH
dhclient_nap() {
	local name=$1 soh=$2 coid=${3:-}
	shift 3 || shift $#
	[[ -n $coid ]] || coid=$(random_coid)
	echo "$coid" >"$T/$name.coid"
	# no option 57: the ACK with the SoHR and the CoID is over RFC 2131's 576 bytes, which
	# napdhcpd sends because the client's own REQUEST was that large
	dhclient_conf "$name" "send vendor-encapsulated-options $(nap43 "$coid" "$soh");" "$@"
}

# restricted_ok NAME WHAT LEASE: the client's real state is the restricted configuration
restricted_ok() {
	local name=$1 what=$2 ip
	ip=$(ev "$name" ip)
	[[ $ip =~ ^10\.99\.0\.1[0-4][0-9]$ ]] || fail "$what: address '$ip' not from the pool"
	assert_eq "$what: mask option" 32 "$(ev "$name" mask)"
	assert_eq "$what: interface address is a /32" "$ip/32" "$(cli_addr "$name")"
	assert_eq "$what: lease (restricted_lease_time)" "$3" "$(ev "$name" lease)"
	no_route "$name" "$what" default
	has_route "$name" "$what: on-link route to the router" "$SRV_IP"
	assert_eq "$what: no router option" "" "$(ev "$name" routers)"
}
# full_ok NAME WHAT: full configuration
full_ok() {
	local name=$1 what=$2 ip
	ip=$(ev "$name" ip)
	[[ $ip =~ ^10\.99\.0\.1[0-4][0-9]$ ]] || fail "$what: address '$ip' not from the pool"
	assert_eq "$what: mask" 24 "$(ev "$name" mask)"
	assert_eq "$what: interface address" "$ip/24" "$(cli_addr "$name")"
	has_route "$name" "$what" "default via $SRV_IP"
	assert_eq "$what: lease" 60 "$(ev "$name" lease)"
	assert_eq "$what: domain" napt.test "$(ev "$name" domain)"
}
# sohr_of NAME: the SoHR (sub-option 220) of the client's last option 43, decoded into FILE
sohr_of() {
	local o43
	o43=$(ev "$1" opt43)
	[[ -n $o43 ]] || fail "$1: no option 43 in the ACK"
	opt43_sub "$o43" 220 >"$T/$1.sohr.hex"
	sohr_json "$(cat "$T/$1.sohr.hex")" >"$T/$1.sohr.json" ||
		fail "$1: napdump cannot decode the SoHR $(cat "$T/$1.sohr.hex")"
}
verdicts() { dm napdhcpd_nap_verdicts_total "source=\"$1\",action=\"$2\""; }

# =============================================================================================
# NAP-incapable: full
restart_dhcpd full
netns_client inc_full
start_udhcpc inc_full
kill -TERM "${CLI_PID[inc_full]}"
full_ok inc_full "incapable (full), udhcpc"
assert_ge "incapable (full) counted" 1 "$(verdicts incapable full)"

# NAP-incapable: restricted. dhcpcd sends the NAP probe only (220 length 0) and installs the
# routes itself; dhclient sends no option 43 at all.
restart_dhcpd restricted
netns_client inc_res
dhcpcd_conf inc_res noarp 'vendor ,dc:00'
run_dhcpcd inc_res || fail "dhcpcd (NAP probe only) got no lease"
assert_eq "incapable (restricted), dhcpcd: mask option" 32 "$(ev inc_res mask)"
IP=$(ev inc_res ip)
assert_eq "incapable (restricted), dhcpcd: interface /32" "$IP/32" "$(cli_addr inc_res)"
assert_eq "incapable (restricted), dhcpcd: lease" 45 "$(ev inc_res lease)"
no_route inc_res "incapable (restricted), dhcpcd" default
# a remediation server inside the subnet is on-link, one outside goes via the router
has_route inc_res "incapable (restricted), dhcpcd: remediation server (on-link)" 10.99.0.12
no_route inc_res "incapable (restricted), dhcpcd: on-link" "10.99.0.12 via"
o43=$(ev inc_res opt43)
assert_eq "incapable (restricted), dhcpcd: NAP-Mask (little-endian)" 00ffffff \
	"$(opt43_sub "$o43" 221)"

netns_client inc_res2
run_dhclient inc_res2 || fail "dhclient without SoH got no lease"
restricted_ok inc_res2 "incapable (restricted), dhclient" 45
has_route inc_res2 "incapable (restricted), dhclient: remediation server" "10.99.0.12 scope link"
assert_eq "incapable (restricted): the restricted class does not apply without napvd's word" \
	napt.test "$(ev inc_res2 domain)"
assert_ge "incapable (restricted) counted" 2 "$(verdicts incapable restricted)"

# NAP-incapable: drop
restart_dhcpd drop
netns_client inc_drop
rc=0
run_udhcpc inc_drop -t 2 || rc=$?
assert_ne "incapable (drop): udhcpc gets no lease" 0 "$rc"
assert_eq "incapable (drop): no address" "" "$(cli_addr inc_drop)"
assert_ge "incapable (drop) counted" 1 "$(verdicts incapable drop)"

# =============================================================================================
restart_dhcpd restricted

# DISCOVER probe: the OFFER carries "NAP" and the CoID
netns_client kit
ip -n "${CLI_NS[kit]}" addr add 10.99.0.250/24 dev "${CLI_IF[kit]}"
COID=$(random_coid)
in_cli kit $KIT dora --iface "${CLI_IF[kit]}" --opt "43:de82${COID}dc00" >"$T/probe.json" ||
	fail "dhcpkit probe run failed"
O43=$(jget "$T/probe.json" 'j["offer"]["options"]["43"]')
assert_eq "probe: OFFER carries the NAP marker" 4e4150 "$(opt43_sub "$O43" 220)"
assert_eq "probe: OFFER echoes the CoID" "$COID" "$(opt43_sub "$O43" 222)"

# compliant SoH -----------------------------------------------------------------------------
GOOD_SOH=$(soh_compliant good.napt.test)
[[ -n $GOOD_SOH ]] || fail "no compliant SoH from $SOH_FROM"
netns_client good
dhclient_nap good "$GOOD_SOH"
run_dhclient good || fail "dhclient with a compliant SoH got no lease"
full_ok good "compliant SoH"
sohr_of good
assert_eq "compliant: SoHR nap result" compliant "$(sohr_nap "$T/good.sohr.json" result)"
assert_eq "compliant: CoID echoed" "$(cat "$T/good.coid")" "$(opt43_sub "$(ev good opt43)" 222)"
want=$(printf '%s\n' "$GOOD_SOH" | "$NAPDUMP" soh --json | jget - "$JQ_CORRELATION")
assert_eq "compliant: SoHR echoes the SoH's correlation id" "$want" \
	"$(jget "$T/good.sohr.json" "$JQ_CORRELATION")"
assert_eq "compliant: no NAP-Mask" "" "$(opt43_sub "$(ev good opt43)" 221)"
O43_LEN=$(($(ev good opt43 | wc -c) / 2))
assert_ge "compliant: option 43 (SoHR + CoID) longer than one instance (RFC 3396 split)" 256 \
	"$O43_LEN"
assert_ge "compliant: napvd's verdict counted" 1 "$(verdicts napvd full)"

# non-compliant SoH: restricted --------------------------------------------------------------
BAD_SOH=$(soh_noncompliant bad.napt.test)
[[ -n $BAD_SOH ]] || fail "no non-compliant SoH from $SOH_FROM"
netns_client bad
dhclient_nap bad "$BAD_SOH"
run_dhclient bad || fail "dhclient with a non-compliant SoH got no lease"
restricted_ok bad "non-compliant SoH" 45
has_route bad "non-compliant: remediation server outside the subnet" "10.98.0.10 via $SRV_IP"
has_route bad "non-compliant: remediation server inside the subnet" "10.99.0.11 scope link"
no_route bad "non-compliant: scope fallback not used when napvd names servers" 10.99.0.12
assert_eq "non-compliant: exactly three routes" 3 "$(cli_routes bad | wc -l)"
assert_eq "non-compliant: NAP-Mask carries the real mask (little-endian)" 00ffffff \
	"$(opt43_sub "$(ev bad opt43)" 221)"
assert_eq "non-compliant: user class nap-restricted's domain" restricted.napt.test \
	"$(ev bad domain)"
assert_eq "non-compliant: user class nap-restricted's DNS" 10.99.0.10 "$(ev bad dns)"
sohr_of bad
assert_eq "non-compliant: SoHR nap result" noncompliant "$(sohr_nap "$T/bad.sohr.json" result)"
assert_eq "non-compliant: CoID echoed" "$(cat "$T/bad.coid")" "$(opt43_sub "$(ev bad opt43)" 222)"
assert_ge "non-compliant: napvd's verdict counted" 1 "$(verdicts napvd restricted)"
# the remediation server is reachable through the host route, the rest of the net is not
in_cli bad ip route get 10.98.0.10 >/dev/null || fail "no route to the remediation server"
for a in 10.99.0.77 10.98.0.77 192.0.2.1; do
	if in_cli bad ip route get "$a" >/dev/null 2>&1; then
		fail "restricted client can route to $a"
	fi
done
log "ok: restricted client reaches only the remediation servers (and the router)"

# renewals while restricted: checked again, answered from the verdict cache
n0=$(n_events bad RENEW)
for ((i = 0; i < 80; i++)); do
	(($(n_events bad RENEW) > n0)) && break
	sleep 0.1
done
(($(n_events bad RENEW) > n0)) || fail "restricted dhclient did not renew within 8 s"
assert_eq "restricted renewal stays restricted" 32 "$(ev bad mask RENEW)"
assert_ge "renewal answered from the verdict cache" 1 "$(dm napdhcpd_nap_cache_hits_total)"

# remediation: the update is installed (the agent's dpkg status changes), the client now sends
# a compliant SoH (dhclient restarted with it: INIT-REBOOT, as the agent's renew command does)
dhclient_stop bad
REMEDIATED=$(soh_compliant bad.napt.test)
dhclient_nap bad "$REMEDIATED" "$(cat "$T/bad.coid")"
run_dhclient bad || fail "remediated dhclient got no lease"
assert_eq "remediated: INIT-REBOOT" REBOOT "$(tail -n1 "$T/bad.events" | sed 's/^event=\([A-Z]*\).*/\1/')"
full_ok bad "after remediation"
assert_eq "after remediation: three routes at most, one default" 1 \
	"$(cli_routes bad | grep -c '^default')"
sohr_of bad
assert_eq "after remediation: SoHR nap result" compliant "$(sohr_nap "$T/bad.sohr.json" result)"
# and a renewal keeps full access
n0=$(n_events bad RENEW)
for ((i = 0; i < 80; i++)); do
	(($(n_events bad RENEW) > n0)) && break
	sleep 0.1
done
(($(n_events bad RENEW) > n0)) || fail "remediated dhclient did not renew within 8 s"
assert_eq "after remediation: RENEW keeps full access" 24 "$(ev bad mask RENEW)"
has_route bad "after remediation: default route after RENEW" "default via $SRV_IP"

# exemptions -------------------------------------------------------------------------------
# (the clients above stop renewing first: their renewals would ask napvd once the cache expires)
dhclient_stop good
dhclient_stop bad
q0=$(dm napdhcpd_napvd_requests_total)
netns_client exq
dhclient_nap exq "$(soh_noncompliant exq.napt.test)" "" 'send user-class "MSFT Quarantine";'
run_dhclient exq || fail "MSFT Quarantine client got no lease"
full_ok exq "user class MSFT Quarantine (non-compliant SoH)"
netns_client exm "$EXEMPT_MAC"
dhclient_nap exm "$(soh_noncompliant exm.napt.test)"
run_dhclient exm || fail "exempt MAC client got no lease"
full_ok exm "exempt_mac (non-compliant SoH)"
assert_ge "exemptions counted" 2 "$(verdicts exempt full)"
assert_eq "exempt clients cost no napvd query" "$q0" "$(dm napdhcpd_napvd_requests_total)"

# probation: napvd reloaded with noncompliant = probation, grace 20 s -------------------------
sed -i 's/^noncompliant = restricted/noncompliant = probation\nprobation = 20s/' "$T/napvd.conf"
kill -HUP "$NAPVD_PID"
sleep 0.5
netns_client prob
dhclient_nap prob "$(soh_noncompliant prob.napt.test)"
run_dhclient prob || fail "probation client got no lease"
L=$(ev prob lease)
[[ $L =~ ^[0-9]+$ ]] && ((L >= 1 && L <= 20)) ||
	fail "probation: lease $L is not capped at the 20 s grace time"
log "ok: probation lease $L s (<= 20 s grace)"
assert_eq "probation: full mask" 24 "$(ev prob mask)"
has_route prob "probation: default route" "default via $SRV_IP"
assert_ge "probation counted" 1 "$(verdicts napvd probation)"

assert_alive "$DHCPD_PID" napdhcpd
assert_alive "$NAPVD_PID" napvd
stop_napdhcpd
log "PASS"
