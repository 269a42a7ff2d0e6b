#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# FreeRADIUS 3.2 as a proxy in front of napvd: radclient -> FreeRADIUS -> napvd. The proxied
# request must carry a Message-Authenticator (napvd drops it otherwise) and get the same verdict
# as the same SoH sent directly.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need radclient freeradius "$PYTHON"

make_site S01 5
NAPVD_EXTRA=$(
	cat <<'EOF2'
[enforcement dhcp]
compliant = full
noncompliant = restricted
noncapable = restricted
remediation_servers = 192.0.2.10 192.0.2.11
user_class = nap-restricted
EOF2
)
write_napvd_conf "$T/napvd.conf"
start_napvd "$T/napvd.conf"

PROXY_PORT=$(free_port)
PROXY_SECRET=proxysecret
start_freeradius "$FR_TEMPLATES/proxy.conf.in" "PORT=$PROXY_PORT" "SECRET=$PROXY_SECRET" \
	"HOME_ADDR=127.0.0.1" "HOME_PORT=$NAPVD_PORT" "HOME_SECRET=$SECRET"
FR_LOG=$(ls "$T"/freeradius-*.log)

NOMA0=$(metric "$M_DROPS" "$M_NO_MA")
BAD0=$(metric "$M_DROPS" "$M_BAD_AUTH")

# one SoH, two paths; compare the quarantine state and the SoHR's nap branch and result
compare() {
	local name=$1 soh=$2 want_state=$3 want_branch=$4 d p
	rc_send "$T/$name-direct.out" "127.0.0.1:$NAPVD_PORT" "$SECRET" < <(soh_request "$soh") ||
		true
	RC_TIMEOUT=6 rc_send "$T/$name-proxy.out" "127.0.0.1:$PROXY_PORT" "$PROXY_SECRET" \
		< <(soh_request "$soh") || true
	for path in direct proxy; do
		assert_eq "$name/$path: reply code" Access-Accept "$(rc_code "$T/$name-$path.out")"
		assert_eq "$name/$path: MS-Quarantine-State" "$want_state" \
			"$(rc_attr "$T/$name-$path.out" MS-Quarantine-State)"
		sohr_json "$(rc_sohr "$T/$name-$path.out")" >"$T/$name-$path.json"
		assert_eq "$name/$path: SoHR branch" "$want_branch" \
			"$(sohr_nap "$T/$name-$path.json" branch)"
	done
	d=$(sohr_nap "$T/$name-direct.json" result)
	p=$(sohr_nap "$T/$name-proxy.json" result)
	assert_eq "$name: proxied SoHR result equals direct" "$d" "$p"
	assert_eq "$name: proxied remediation servers equal direct" \
		"$(rc_attr "$T/$name-direct.out" MS-IPv4-Remediation-Servers)" \
		"$(rc_attr "$T/$name-proxy.out" MS-IPv4-Remediation-Servers)"
	assert_eq "$name: proxied SoHR echoes the same correlation id" \
		"$(jget "$T/$name-direct.json" "$JQ_CORRELATION")" \
		"$(jget "$T/$name-proxy.json" "$JQ_CORRELATION")"
}

compare compliant "$(sample --site S01 --revision 5 --hsr "$T/hsr.json" --compliant yes)" \
	Full-Access matches
compare noncompliant "$(sample --site S01 --revision 5 --hsr "$T/hsr.json" --compliant no \
	--missing deb-openssl-2026-01)" Quarantine matches
# Stale: an older revision with other policies (the digest of [], no policies).
compare stale "$(sample --site S01 --revision 4 \
	--digest 4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945 --compliant yes)" \
	Quarantine out_of_date

# FreeRADIUS added a Message-Authenticator to what it proxied, and napvd dropped nothing
grep -A12 'Proxying request to home server' "$FR_LOG" | grep -q 'Message-Authenticator' ||
	fail "proxied request shows no Message-Authenticator in FreeRADIUS' log"
log "ok: proxied requests carry Message-Authenticator"
assert_eq "napvd drops{$M_NO_MA} unchanged" "$NOMA0" "$(metric "$M_DROPS" "$M_NO_MA")"
assert_eq "napvd drops{$M_BAD_AUTH} unchanged" "$BAD0" "$(metric "$M_DROPS" "$M_BAD_AUTH")"
assert_alive "$FR_PID" freeradius
assert_alive
stop_napvd
