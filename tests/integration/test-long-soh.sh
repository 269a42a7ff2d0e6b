#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# SoHs longer than one VSA (247 bytes: an SoH with an MS-WSH entry) travel split over several
# MS-Quarantine-SoH attributes; napvd joins them, decides, and its SoHR comes back (split too
# when long). An enforcement point that requires MS-WSH checks restricts a client whose WSH
# entry fails one of them.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need "$PYTHON"

make_site S01 5
# the sample WSH entry reports the firewall on and no antivirus product
NAPVD_EXTRA=$(
	cat <<'EOF2'
[enforcement dhcp]
compliant = full
noncompliant = restricted
noncapable = restricted
wsh_checks = firewall
remediation_servers = 192.0.2.10

[enforcement vpn]
compliant = full
noncompliant = restricted
noncapable = restricted
wsh_checks = firewall antivirus
remediation_servers = 192.0.2.20
EOF2
)
write_napvd_conf "$T/napvd.conf"
start_napvd "$T/napvd.conf"

query() { # NAME NAS SOH -> $T/NAME.json, sets RC
	RC=0
	"$NAPCTL" radius query --server "127.0.0.1:$NAPVD_PORT" --secret "$SECRET" --nas-type "$2" \
		--soh "$3" --json >"$T/$1.json" || RC=$?
	log "$1: exit $RC: $(tr -d '\n' <"$T/$1.json" | cut -c1-300)"
}

LONG_GOOD=$(sample --site S01 --revision 5 --hsr "$T/hsr.json" --compliant yes --wsh)
LONG_BAD=$(sample --site S01 --revision 5 --hsr "$T/hsr.json" --compliant no --wsh \
	--missing deb-openssl-2026-01 --missing deb-openssh-2026-02)
assert_ge "long SoH length (bytes)" 248 $((${#LONG_GOOD} / 2))

# the WSH entry decodes as such (napdump agrees the SoH is well formed)
printf '%s\n' "$LONG_GOOD" | "$NAPDUMP" soh --json >"$T/long.soh.json"
assert_eq "long SoH has a WSH entry" true \
	"$(jget "$T/long.soh.json" 'any("wsh" in e for e in j["entries"])')"

query long-good dhcp "$LONG_GOOD"
assert_eq "long compliant (dhcp, firewall required): exit" 0 "$RC"
assert_eq "long compliant: state" full-access "$(jget "$T/long-good.json" "$JQ_Q_STATE")"
assert_eq "long compliant: SoHR branch" matches "$(jget "$T/long-good.json" "$JQ_Q_BRANCH")"
assert_eq "long compliant: SoHR result" compliant "$(jget "$T/long-good.json" "$JQ_Q_RESULT")"
assert_eq "long compliant: SoHR echoes the correlation id" \
	"$(jget "$T/long.soh.json" "$JQ_CORRELATION")" \
	"$(jget "$T/long-good.json" 'j["sohr_correlation_id"]')"

query long-bad dhcp "$LONG_BAD"
assert_eq "long noncompliant: exit" 0 "$RC"
assert_eq "long noncompliant: state" restricted "$(jget "$T/long-bad.json" "$JQ_Q_STATE")"
assert_eq "long noncompliant: SoHR branch" matches "$(jget "$T/long-bad.json" "$JQ_Q_BRANCH")"
assert_eq "long noncompliant: remediation servers" '["192.0.2.10"]' \
	"$(jget "$T/long-bad.json" 'j["remediation_servers"]')"

# VPN requires antivirus too: the same compliant agent is restricted by its WSH entry
query long-wsh-fail vpn "$LONG_GOOD"
assert_eq "WSH failing (vpn, antivirus required): exit" 0 "$RC"
assert_eq "WSH failing: state" restricted "$(jget "$T/long-wsh-fail.json" "$JQ_Q_STATE")"
assert_eq "WSH failing: SoHR branch" wsh_failed "$(jget "$T/long-wsh-fail.json" "$JQ_Q_BRANCH")"
assert_eq "WSH failing: a WSHV entry came back" true \
	"$(jget "$T/long-wsh-fail.json" '"sohr_wshv" in j')"

# a short SoH (no WSH entry) at an enforcement point that requires WSH checks is restricted
SHORT=$(sample --site S01 --revision 5 --hsr "$T/hsr.json" --compliant yes)
query short-no-wsh vpn "$SHORT"
assert_eq "no WSH entry where WSH is required: state" restricted \
	"$(jget "$T/short-no-wsh.json" "$JQ_Q_STATE")"

# the split really happened on the wire: napctl --full shows several MS-Quarantine-SoH in the
# request it sent, or napdump of the raw request does; count them from napctl's full output
"$NAPCTL" radius query --server "127.0.0.1:$NAPVD_PORT" --secret "$SECRET" --nas-type dhcp \
	--soh "$LONG_GOOD" --json --full >"$T/full.json" || true
N=$(jget "$T/full.json" \
	'sum(1 for a in j.get("request", {}).get("attributes", []) if a.get("name") == "MS-Quarantine-SoH")')
if [[ -n $N && $N != 0 ]]; then
	assert_ge "request MS-Quarantine-SoH attributes" 2 "$N"
fi
assert_alive
stop_napvd
