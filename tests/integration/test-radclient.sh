#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# radclient (FreeRADIUS' client) sends MS-Quarantine-SoH requests to napvd on loopback; the
# reply attributes and the decoded SoHR are checked for every validation branch, plus the
# requests napvd must drop (wrong secret, no Message-Authenticator, unknown client) and
# RFC 5080 duplicate detection.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need radclient "$PYTHON"

make_site S01 5
NOW=$(date -u +%s)
CUTOFF=$(date -u -d "@$((NOW - 7200))" +%Y-%m-%dT%H:%M:%SZ)
BEFORE_CUTOFF=$(date -u -d "@$((NOW - 10800))" +%Y-%m-%dT%H:%M:%SZ)

NAPVD_EXTRA=$(
	cat <<'EOF'
[enforcement dhcp]
compliant = full
noncompliant = restricted
noncapable = restricted
remediation_servers = 192.0.2.10 192.0.2.11
user_class = nap-restricted

[enforcement vpn]
compliant = full
noncompliant = probation
noncapable = reject
probation = 3d

[enforcement ts-gateway]
compliant = full
noncompliant = reject
noncapable = reject
EOF
)
write_napvd_conf "$T/napvd.conf"
start_napvd "$T/napvd.conf"

# ask NAME NAS-TYPE SOH-HEX: radclient round trip; sets CODE, STATE, EXT, SOHR, SOHR_J (json file)
ask() {
	local name=$1 nas=$2 soh=$3
	CASE=$name
	rc_send "$T/$name.out" "127.0.0.1:$NAPVD_PORT" "$SECRET" < <(soh_request "$soh" "$nas") ||
		true
	CODE=$(rc_code "$T/$name.out")
	STATE=$(rc_attr "$T/$name.out" MS-Quarantine-State)
	EXT=$(rc_attr "$T/$name.out" MS-Extended-Quarantine-State)
	SOHR=$(rc_sohr "$T/$name.out")
	SOHR_J=$T/$name.sohr.json
	if [[ -n $SOHR ]]; then
		sohr_json "$SOHR" >"$SOHR_J" || fail "$name: napdump could not decode the SoHR $SOHR"
	else
		echo '{}' >"$SOHR_J"
	fi
	log "$name: $CODE state=$STATE ext=$EXT sohr=${#SOHR} hex chars"
}

# expect CODE STATE RESULT BRANCH: check the reply and the nap entry of the SoHR
expect() {
	assert_eq "$CASE: reply code" "$1" "$CODE"
	assert_eq "$CASE: MS-Quarantine-State" "$2" "$STATE"
	if [[ -n ${3:-} ]]; then
		assert_eq "$CASE: SoHR nap result" "$3" "$(sohr_nap "$SOHR_J" result)"
		assert_eq "$CASE: SoHR nap branch" "$4" "$(sohr_nap "$SOHR_J" branch)"
	fi
}

# correlation id of a request SoH and of a reply SoHR must match
expect_echo() {
	local soh=$1 want got
	want=$(printf '%s\n' "$soh" | "$NAPDUMP" soh --json | jget - "$JQ_CORRELATION")
	got=$(jget "$SOHR_J" "$JQ_CORRELATION")
	[[ -n $want ]] || fail "$CASE: no correlation id in the request SoH"
	assert_eq "$CASE: SoHR echoes the correlation id" "$want" "$got"
}

# --- compliant -------------------------------------------------------------------------------
S=$(sample --site S01 --revision 5 --hsr "$T/hsr.json" --compliant yes --machine good.example)
ask compliant DHCP-Server "$S"
expect Access-Accept Full-Access compliant matches
assert_eq "compliant: MS-Extended-Quarantine-State (no data)" 0 "$EXT"
expect_echo "$S"
assert_eq "compliant: no remediation servers" "" \
	"$(rc_attr "$T/compliant.out" MS-IPv4-Remediation-Servers)"
QS_FULL=$(sohr_qstate "$SOHR_J")

# --- non-compliant: restricted with remediation servers and user class ---------------------
S=$(sample --site S01 --revision 5 --hsr "$T/hsr.json" --compliant no \
	--missing deb-openssl-2026-01 --machine bad.example)
ask noncompliant DHCP-Server "$S"
expect Access-Accept Quarantine noncompliant matches
assert_eq "noncompliant: MS-Extended-Quarantine-State" Infected "$EXT"
expect_echo "$S"
assert_eq "noncompliant: MS-IPv4-Remediation-Servers" "0x00c000020ac000020b" \
	"$(rc_attr "$T/noncompliant.out" MS-IPv4-Remediation-Servers)"
assert_eq "noncompliant: MS-Quarantine-User-Class" "nap-restricted" \
	"$(rc_attr "$T/noncompliant.out" MS-Quarantine-User-Class)"
assert_ne "noncompliant: SoHR quarantine state differs from full access" "$QS_FULL" \
	"$(sohr_qstate "$SOHR_J")"

# --- stale policy: older HSR revision with other policies => out of date + refresh ---------
# (the digest of [], as if revision 4 had held no policies)
EMPTY_DIGEST=4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945
S=$(sample --site S01 --revision 4 --digest "$EMPTY_DIGEST" --compliant yes --machine stale.example)
ask stale DHCP-Server "$S"
expect Access-Accept Quarantine noncompliant out_of_date
assert_eq "stale: MS-Extended-Quarantine-State" Transition "$EXT"
assert_match "stale: refresh instruction" 'refresh' "$(sohr_nap "$SOHR_J" instructions)"

# --- older revision, same digest (only exemptions or groups changed): it matches ----------
S=$(sample --site S01 --revision 4 --digest "$(hsr_digest)" --compliant yes --machine older.example)
ask older DHCP-Server "$S"
expect Access-Accept Full-Access compliant matches

# --- newer revision than the cache: the client's flag stands ------------------------------
S=$(sample --site S01 --revision 6 --digest "$(hsr_digest)" --compliant yes --machine newer.example)
ask newer DHCP-Server "$S"
expect Access-Accept Full-Access compliant newer

# --- expired: older than the validity period (26h; no absolute cut-off in this config) -----
S=$(sample --site S01 --revision 5 --hsr "$T/hsr.json" --compliant yes --age 27h)
ask expired-ttl DHCP-Server "$S"
expect Access-Accept Quarantine noncompliant expired_ttl
assert_match "expired-ttl: re-evaluate instruction" 'evaluat' "$(sohr_nap "$SOHR_J" instructions)"

# --- unknown site --------------------------------------------------------------------------
S=$(sample --site S99 --revision 5 --digest "$(hsr_digest)" --compliant yes)
ask unknown-site DHCP-Server "$S"
expect Access-Accept Quarantine other unknown_site
assert_eq "unknown-site: MS-Extended-Quarantine-State" Unknown "$EXT"

# --- client failure: known code => its category; unknown code => invalid -------------------
S=$(sample --site S01 --revision 5 --hsr "$T/hsr.json" --failure client-component \
	--error-code 0x80070005)
ask client-failure-known DHCP-Server "$S"
expect Access-Accept Quarantine client_component client_failure

S=$(sample --site S01 --revision 5 --hsr "$T/hsr.json" --failure client-component \
	--error-code 0x80001234)
ask client-failure-unknown DHCP-Server "$S"
expect Access-Accept Quarantine other invalid

# --- malformed SoH: answered, invalid -------------------------------------------------------
S=$(sample --site S01 --revision 5 --hsr "$T/hsr.json" --malformed)
ask malformed DHCP-Server "$S"
assert_eq "malformed: reply code" Access-Accept "$CODE"
assert_eq "malformed: MS-Quarantine-State" Quarantine "$STATE"
if [[ -n $SOHR ]]; then
	assert_eq "malformed: SoHR nap branch" invalid "$(sohr_nap "$SOHR_J" branch)"
fi

# --- no SoH: the noncapable action (restricted for DHCP, reject for VPN) -------------------
ask no-soh DHCP-Server ""
expect Access-Accept Quarantine
assert_eq "no-soh: remediation servers" "0x00c000020ac000020b" \
	"$(rc_attr "$T/no-soh.out" MS-IPv4-Remediation-Servers)"
ask no-soh-vpn Remote-Access-Server ""
assert_eq "no-soh-vpn: reply code" Access-Reject "$CODE"

# --- probation (VPN): full access until MS-Quarantine-Grace-Time = now + 3d ----------------
S=$(sample --site S01 --revision 5 --hsr "$T/hsr.json" --compliant no --missing deb-sudo-2026-03)
ask probation Remote-Access-Server "$S"
expect Access-Accept Probation noncompliant matches
GRACE=$(rc_attr "$T/probation.out" MS-Quarantine-Grace-Time)
WANT=$(($(date -u +%s) + 3 * 86400))
assert_match "probation: Grace-Time is a number" '^[0-9]+$' "$GRACE"
((GRACE > WANT - 120 && GRACE < WANT + 120)) ||
	fail "probation: Grace-Time $GRACE not within 120 s of now+3d ($WANT)"
log "ok: probation Grace-Time $GRACE ~ now+3d"

# --- reject action (TS gateway: noncompliant => reject) ------------------------------------
S=$(sample --site S01 --revision 5 --hsr "$T/hsr.json" --compliant no --missing deb-sudo-2026-03)
ask reject Terminal-Server-Gateway "$S"
assert_eq "reject: reply code" Access-Reject "$CODE"
S=$(sample --site S01 --revision 5 --hsr "$T/hsr.json" --compliant yes)
ask reject-compliant Terminal-Server-Gateway "$S"
expect Access-Accept Full-Access compliant matches

# --- duplicate: the same packet twice gets the identical cached reply ----------------------
S=$(sample --site S01 --revision 5 --hsr "$T/hsr.json" --compliant yes)
OUT=$("$RADMUTATE" dup --server "127.0.0.1:$NAPVD_PORT" --secret "$SECRET" --soh "$S")
log "dup: $OUT"
assert_match "duplicate reply identical" 'identical=yes' "$OUT"

# --- drops: wrong secret, missing Message-Authenticator ------------------------------------
RC_TIMEOUT=1
BAD0=$(metric "$M_DROPS" "$M_BAD_AUTH")
rc=0
rc_send "$T/wrong-secret.out" "127.0.0.1:$NAPVD_PORT" wrongsecret < <(soh_request "$S") || rc=$?
assert_eq "wrong secret: no answer" none "$(rc_code "$T/wrong-secret.out")"
assert_ne "wrong secret: radclient fails" 0 "$rc"
assert_eq "wrong secret: drops{$M_BAD_AUTH} +1" $((BAD0 + 1)) "$(metric "$M_DROPS" "$M_BAD_AUTH")"

NOMA0=$(metric "$M_DROPS" "$M_NO_MA")
rc_send "$T/no-ma.out" "127.0.0.1:$NAPVD_PORT" "$SECRET" < <(
	printf 'User-Name = "x", Service-Type = Authorize-Only, MS-Quarantine-SOH = 0x%s\n' "$S"
) || true
assert_eq "missing Message-Authenticator: no answer" none "$(rc_code "$T/no-ma.out")"
assert_eq "missing Message-Authenticator: drops{$M_NO_MA} +1" $((NOMA0 + 1)) \
	"$(metric "$M_DROPS" "$M_NO_MA")"
RC_TIMEOUT=2
assert_alive

# --- second config: five-category mapping flipped (client_component => compliant) and an
# absolute cut-off ---------------------------------------------------------------------------
stop_napvd
NAPVD_VALIDATION="absolute_cutoff = $CUTOFF
client_component = compliant"
write_napvd_conf "$T/napvd-flip.conf"
start_napvd "$T/napvd-flip.conf"
S=$(sample --site S01 --revision 5 --hsr "$T/hsr.json" --failure client-component \
	--error-code 0x80070005)
ask mapping-flipped DHCP-Server "$S"
expect Access-Accept Full-Access client_component client_failure
# --- expired: created before the absolute cut-off (2 h ago), within the TTL ----------------
S=$(sample --site S01 --revision 5 --hsr "$T/hsr.json" --compliant yes --generated "$BEFORE_CUTOFF")
ask expired-absolute DHCP-Server "$S"
expect Access-Accept Quarantine noncompliant expired_absolute
assert_match "expired-absolute: re-evaluate instruction" 'evaluat' \
	"$(sohr_nap "$SOHR_J" instructions)"
S=$(sample --site S01 --revision 5 --hsr "$T/hsr.json" --compliant yes)
ask after-cutoff DHCP-Server "$S"
expect Access-Accept Full-Access compliant matches
# the other categories keep their default
S=$(sample --site S01 --revision 5 --hsr "$T/hsr.json" --failure client-communication \
	--error-code 0x8024402c)
ask mapping-other DHCP-Server "$S"
expect Access-Accept Quarantine client_communication client_failure

# --- unknown client address: napvd knows only 127.0.0.2, radclient sends from 127.0.0.1 ----
stop_napvd
NAPVD_CLIENT_ADDR=127.0.0.2
write_napvd_conf "$T/napvd-unknown.conf"
"$NAPVD" -d -f "$T/napvd-unknown.conf" >>"$T/napvd.log" 2>&1 &
NAPVD_PID=$!
_nap_pids+=("$NAPVD_PID")
wait_metrics
UNK0=$(metric "$M_DROPS" "$M_UNKNOWN_CLIENT")
RC_TIMEOUT=1
rc_send "$T/unknown-client.out" "127.0.0.1:$NAPVD_PORT" "$SECRET" < <(soh_request "$S") || true
assert_eq "unknown client: no answer" none "$(rc_code "$T/unknown-client.out")"
assert_eq "unknown client: drops{$M_UNKNOWN_CLIENT} +1" $((UNK0 + 1)) \
	"$(metric "$M_DROPS" "$M_UNKNOWN_CLIENT")"
assert_alive
stop_napvd
log "all radclient cases passed"
