#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# napdhcpd's NAP side (nap.c + the lib/enforce RADIUS client) against real napvd servers on
# loopback, without the DHCP server around it: every napvd answer for DHCP enforcement mapped to
# a verdict (full with an SoHR that decodes, restricted with remediation servers and user class,
# probation with a grace time), the verdict cache, failover from a dead server to a live one, a
# wrong secret and a stopped napvd giving the fail mode, and recovery when napvd is back.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need "$NAP_ENFORCE_CHECK"

make_site S01 5
printf '%s\n' "$SECRET" >"$T/secret"
chmod 600 "$T/secret"
printf 'wrong-secret\n' >"$T/wrong"
chmod 600 "$T/wrong"

dhcp_section() {
	cat <<EOF
[enforcement dhcp]
compliant = full
noncompliant = $1
noncapable = restricted
remediation_servers = 192.0.2.10 192.0.2.11
user_class = nap-restricted
probation = 1h
EOF
}
NAPVD_EXTRA=$(dhcp_section restricted)
write_napvd_conf "$T/napvd.conf"
start_napvd "$T/napvd.conf"
SERVER=127.0.0.1:$NAPVD_PORT

GOOD=$(sample --site S01 --revision 5 --hsr "$T/hsr.json" --compliant yes --machine good.example)
BAD=$(sample --site S01 --revision 5 --hsr "$T/hsr.json" --compliant no \
	--missing deb-openssl-2026-01 --machine bad.example)

# check NAME ARGS...: run the driver, keep its output in $T/NAME.out
check() {
	local name=$1
	shift
	"$NAP_ENFORCE_CHECK" --secret-file "$T/secret" "$@" >"$T/$name.out" 2>>"$T/$name.err" ||
		fail "$name: driver failed: $(cat "$T/$name.err")"
	log "$name: $(grep -v '^stats' "$T/$name.out" | sed 's/sohr=\([0-9a-f]\{16\}\)[0-9a-f]*/sohr=\1.../' | tr '\n' ' ')"
}
# field NAME LINE KEY: a key=value of the Nth line of NAME's output (LINE "stats" or N)
field() {
	local line
	if [[ $2 == stats ]]; then
		line=$(grep '^stats ' "$T/$1.out")
	else
		line=$(grep "^verdict $2 " "$T/$1.out")
	fi
	tr ' ' '\n' <<<"$line" | sed -n "s/^$3=//p"
}

# --- compliant: full access, the SoHR decodes and echoes the correlation id -----------------
check full --server "$SERVER" --soh "$GOOD" --machine good.example
assert_eq "full: action" full "$(field full 0 action)"
assert_eq "full: source" napvd "$(field full 0 source)"
SOHR=$(field full 0 sohr)
assert_ne "full: an SoHR" - "$SOHR"
sohr_json "$SOHR" >"$T/full.sohr.json" || fail "full: napdump cannot decode the SoHR"
want=$(printf '%s\n' "$GOOD" | "$NAPDUMP" soh --json | jget - "$JQ_CORRELATION")
assert_eq "full: SoHR correlation id" "$want" "$(jget "$T/full.sohr.json" "$JQ_CORRELATION")"
assert_eq "full: SoHR nap result" compliant "$(sohr_nap "$T/full.sohr.json" result)"

# --- non-compliant: restricted, remediation servers, user class; cached the second time ---
check restricted --server "$SERVER" --soh "$BAD" --count 3
assert_eq "restricted: action" restricted "$(field restricted 0 action)"
assert_eq "restricted: remediation servers" 192.0.2.10,192.0.2.11 \
	"$(field restricted 0 remediation)"
assert_eq "restricted: user class" nap-restricted "$(field restricted 0 user_class)"
sohr_json "$(field restricted 0 sohr)" >"$T/bad.sohr.json" ||
	fail "restricted: napdump cannot decode the SoHR"
assert_eq "restricted: SoHR nap result" noncompliant "$(sohr_nap "$T/bad.sohr.json" result)"
assert_eq "restricted: 2nd from the cache" cache "$(field restricted 1 source)"
assert_eq "restricted: cached action" restricted "$(field restricted 2 action)"
assert_eq "restricted: cached SoHR" "$(field restricted 0 sohr)" "$(field restricted 2 sohr)"
assert_eq "restricted: one Access-Request" 1 "$(field restricted stats requests)"
assert_eq "restricted: two cache hits" 2 "$(field restricted stats cache_hits)"

# --- cache off: every check asks ------------------------------------------------------------
check nocache --server "$SERVER" --soh "$BAD" --count 2 --ttl 0
assert_eq "nocache: two Access-Requests" 2 "$(field nocache stats requests)"
assert_eq "nocache: second from napvd" napvd "$(field nocache 1 source)"

# --- failover: the first server does not answer, the second (napvd) does -------------------
DEAD=127.0.0.1:$(free_port)
check failover --server "$DEAD" --server "$SERVER" --soh "$GOOD" --timeout 200ms --retries 1
assert_eq "failover: answered by napvd" napvd "$(field failover 0 source)"
assert_eq "failover: full" full "$(field failover 0 action)"
assert_eq "failover: one failover" 1 "$(field failover stats failovers)"
assert_eq "failover: one retransmit to the dead server" 1 "$(field failover stats retransmits)"
assert_ge "failover: latency covers two timeouts" 400 "$(field failover 0 latency_ms)"

# --- wrong secret: napvd drops the request, nothing verifies: the fail mode ----------------
check wrongsecret --server "$SERVER" --soh "$GOOD" --timeout 200ms --retries 0 --fail drop \
	--secret-file "$T/wrong"
assert_eq "wrong secret: fail mode" fail "$(field wrongsecret 0 source)"
assert_eq "wrong secret: drop" drop "$(field wrongsecret 0 action)"
assert_eq "wrong secret: timeout counted" 1 "$(field wrongsecret stats timeouts)"
assert_ge "napvd dropped the bad authenticator" 1 \
	"$(metric napvd_drops_total 'reason="bad_authenticator"')"

# --- probation: full access until the grace time -------------------------------------------
stop_napvd
NAPVD_EXTRA=$(dhcp_section probation)
write_napvd_conf "$T/napvd.conf"
start_napvd "$T/napvd.conf"
NOW=$(date -u +%s)
check probation --server "$SERVER" --soh "$BAD"
assert_eq "probation: action" probation "$(field probation 0 action)"
G=$(field probation 0 grace)
assert_ge "probation: grace >= now + 1h - 5s" $((NOW + 3595)) "$G"
assert_ge "probation: grace <= now + 1h + 5s" "$G" $((NOW + 3605))
assert_eq "probation: no remediation servers" "" "$(field probation 0 remediation)"

# --- napvd stopped: the fail mode; back: real verdicts again ---------------------------------
stop_napvd
check down --server "$SERVER" --soh "$BAD" --timeout 200ms --retries 1 --fail restricted
assert_eq "down: fail mode" fail "$(field down 0 source)"
assert_eq "down: restricted" restricted "$(field down 0 action)"
assert_eq "down: two attempts, one timeout" "1 1" \
	"$(field down stats retransmits) $(field down stats timeouts)"
start_napvd "$T/napvd.conf"
check back --server "$SERVER" --soh "$BAD" --timeout 200ms --retries 1 --fail restricted
assert_eq "back: napvd answers" napvd "$(field back 0 source)"
assert_eq "back: probation again" probation "$(field back 0 action)"

log "ok: napdhcpd's NAP checks against napvd"
