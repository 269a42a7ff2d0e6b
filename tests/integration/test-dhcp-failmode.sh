#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# napdhcpd when napvd does not answer: the scope's nap_fail (Windows' napdeffail) decides, for a
# client whose SoH napvd would have judged non-compliant:
#   full        -> full configuration (/24, default route)
#   restricted  -> restricted configuration (/32, host routes to the scope's nap_remediation)
#   drop        -> no lease
# napvd is stopped in the middle of the run and started again: napdhcpd asks it again (failed
# checks are not cached) and the client gets napvd's verdict. Two napvd servers in order: with
# the first one stopped, the second answers (failover) and nothing falls back to nap_fail.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns.sh"
netns_init
require dhclient "$NAPDHCPD" "$NAPVD" "$NAPCTL" "$PYTHON"

make_site S01 5
NAPVD_PORT=1812
METRICS_PORT=9812
write_napvd_conf "$T/napvd.conf"
cat >>"$T/napvd.conf" <<'EOF'
[enforcement dhcp]
compliant = full
noncompliant = restricted
noncapable = restricted
remediation_servers = 10.98.0.10
user_class = nap-restricted
EOF
# the second napvd: same policy, its own port, metrics and state
mkdir -p "$T/state2"
sed -e "s|127.0.0.1:$NAPVD_PORT|127.0.0.1:1813|" -e "s|127.0.0.1:$METRICS_PORT|127.0.0.1:9813|" \
	-e "s|state_dir = $T/state|state_dir = $T/state2|" "$T/napvd.conf" >"$T/napvd2.conf"
printf '%s\n' "$SECRET" >"$T/napvd.secret"
chmod 600 "$T/napvd.secret"

# dhcpd_conf FAIL SERVERS: nap_fail = FAIL, [napvd] server = SERVERS
dhcpd_conf() {
	{
		dhcpd_server_section
		cat <<EOF
[napvd]
server = $2
secret_file = $T/napvd.secret
timeout = 300ms
retries = 1
holddown = 1s

[scope lan]
subnet = 10.99.0.0/24
pool = 10.99.0.100-10.99.0.149
router = $SRV_IP
lease_time = 600
nap = on
nap_incapable = restricted
nap_fail = $1
nap_remediation = 10.99.0.12
restricted_lease_time = 120
verdict_cache_ttl = 60
EOF
	} >"$T/napdhcpd.conf"
}
restart_dhcpd() {
	[[ -n ${DHCPD_PID:-} ]] && stop_napdhcpd
	dhcpd_conf "$@"
	start_napdhcpd
}
verdicts() { dm napdhcpd_nap_verdicts_total "source=\"$1\",action=\"$2\""; }

SOH_BAD=$(sample --site S01 --revision 5 --hsr "$T/hsr.json" --compliant no \
	--missing deb-openssl-2026-01 --machine bad.napt.test)
SOH_GOOD=$(sample --site S01 --revision 5 --hsr "$T/hsr.json" --compliant yes \
	--machine good.napt.test)
# client NAME SOH: a dhclient namespace sending SOH (dhclient gives up after 5 s)
client() {
	netns_client "$1"
	dhclient_conf "$1" "send vendor-encapsulated-options $(nap43 "$(random_coid)" "$2");" \
		'send dhcp-max-message-size 1500;' \
		'timeout 5;'
}
is_restricted() {
	assert_eq "$2: mask" 32 "$(ev "$1" mask)"
	assert_eq "$2: interface /32" "$(ev "$1" ip)/32" "$(cli_addr "$1")"
	no_route "$1" "$2" default
}
is_full() {
	assert_eq "$2: mask" 24 "$(ev "$1" mask)"
	assert_eq "$2: interface /24" "$(ev "$1" ip)/24" "$(cli_addr "$1")"
	has_route "$1" "$2" "default via $SRV_IP"
}

# --- napvd up: its verdict ---------------------------------------------------------------------
start_napvd_ns
restart_dhcpd restricted "127.0.0.1:$NAPVD_PORT"
client up "$SOH_BAD"
run_dhclient up || fail "client with napvd up got no lease"
is_restricted up "napvd up, non-compliant"
has_route up "napvd up: napvd's remediation server" "10.98.0.10 via $SRV_IP"
assert_ge "napvd's verdict counted" 1 "$(verdicts napvd restricted)"

# --- napvd stopped mid-test: nap_fail = restricted, full, drop ---------------------------------
stop_napvd
client fr "$SOH_GOOD"
t0=$(date +%s%N)
run_dhclient fr || fail "nap_fail restricted: no lease"
log "nap_fail decided in $((($(date +%s%N) - t0) / 1000000)) ms"
is_restricted fr "napvd down, nap_fail = restricted (compliant SoH)"
has_route fr "nap_fail restricted: the scope's nap_remediation" "10.99.0.12 scope link"
assert_ge "nap_fail restricted counted" 1 "$(verdicts fail restricted)"
assert_ge "napvd timeouts counted" 1 "$(dm napdhcpd_napvd_timeouts_total)"

# napvd returns: the same napdhcpd asks it again (a nap_fail verdict is not cached)
start_napvd_ns
sleep 1.2 # past the dead-server holddown
dhclient_stop fr
run_dhclient fr || fail "napvd back: the nap_fail client gets no lease"
is_full fr "napvd back: the earlier nap_fail client (compliant SoH) now"
assert_ge "napvd back: napvd's verdict counted" 1 "$(verdicts napvd full)"

stop_napvd
restart_dhcpd full "127.0.0.1:$NAPVD_PORT"
client ff "$SOH_BAD"
run_dhclient ff || fail "nap_fail full: no lease"
is_full ff "napvd down, nap_fail = full (non-compliant SoH)"
assert_ge "nap_fail full counted" 1 "$(verdicts fail full)"

restart_dhcpd drop "127.0.0.1:$NAPVD_PORT"
client fd "$SOH_GOOD"
rc=0
run_dhclient fd 6 || rc=$? # dhclient keeps asking in REQUESTING: 6 s are enough
assert_ne "nap_fail drop: dhclient gets no lease" 0 "$rc"
assert_eq "nap_fail drop: no address" "" "$(cli_addr fd)"
assert_ge "nap_fail drop counted" 1 "$(verdicts fail drop)"
assert_alive "$DHCPD_PID" napdhcpd

# napvd returns: the dropped client is served with napvd's verdict
start_napvd_ns
sleep 1.2
run_dhclient fd || fail "napvd back: the dropped client still gets no lease"
is_full fd "napvd back, compliant SoH"

# --- two napvd servers, the first one dead: failover ------------------------------------------
bg_srv napvd2 "$NAPVD" -d -f "$T/napvd2.conf"
NAPVD2_PID=$BG_PID
for ((i = 0; i < 100; i++)); do
	rc=0
	in_srv "$NAPCTL" radius query --server 127.0.0.1:1813 --secret "$SECRET" --no-soh \
		--timeout 200ms >/dev/null 2>&1 || rc=$?
	((rc == 0 || rc == 2)) && break
	sleep 0.1
done
restart_dhcpd full "127.0.0.1:$NAPVD_PORT, 127.0.0.1:1813"
stop_napvd
client fo "$SOH_BAD"
run_dhclient fo || fail "failover: no lease"
is_restricted fo "failover to the second napvd (non-compliant SoH)"
has_route fo "failover: napvd's remediation server" "10.98.0.10 via $SRV_IP"
assert_eq "failover: nap_fail not used" 0 "$(verdicts fail full)"
assert_ge "failover counted" 1 "$(dm napdhcpd_napvd_failovers_total)"
client fo2 "$SOH_GOOD"
run_dhclient fo2 || fail "failover: second client no lease"
is_full fo2 "failover, compliant SoH"

assert_alive "$NAPVD2_PID" "second napvd"
assert_alive "$DHCPD_PID" napdhcpd
stop_napdhcpd
log "PASS"
