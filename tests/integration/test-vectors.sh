#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# SoH bytes produced by independent programs (vectors/, see its README) sent to napvd in
# MS-Quarantine-SoH with radclient: wpa_supplicant's SoH has no nap entry and is answered with
# branch no_nap_entry, its result mapped by the configuration; inputs that are not SoHs are
# answered as invalid, and napvd keeps serving valid requests after each.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need radclient "$PYTHON"

make_site S01 5
NAPVD_EXTRA=$(
	cat <<'EOF2'
[enforcement dhcp]
compliant = full
noncompliant = restricted
noncapable = restricted
remediation_servers = 192.0.2.10
EOF2
)
write_napvd_conf "$T/napvd.conf"
start_napvd "$T/napvd.conf"
GOOD=$(sample --site S01 --revision 5 --hsr "$T/hsr.json" --compliant yes)

send() { # NAME HEX -> $T/NAME.out, $T/NAME.json (decoded SoHR or {})
	rc_send "$T/$1.out" "127.0.0.1:$NAPVD_PORT" "$SECRET" < <(soh_request "$2") || true
	local sohr
	sohr=$(rc_sohr "$T/$1.out")
	if [[ -n $sohr ]]; then
		sohr_json "$sohr" >"$T/$1.json" || fail "$1: the SoHR does not decode"
	else
		echo '{}' >"$T/$1.json"
	fi
}

still_serving() {
	send "after-$1" "$GOOD"
	assert_eq "after $1: valid request answered" Access-Accept "$(rc_code "$T/after-$1.out")"
	assert_eq "after $1: valid request full access" Full-Access \
		"$(rc_attr "$T/after-$1.out" MS-Quarantine-State)"
}

# --- golden wpa_supplicant SoHs (bare and with the PEAP-style wrapper) ----------------------
declare -A category=()
for v in wpasupplicant-tnc-soh2.soh.hex wpasupplicant-tnc-soh1.soh.hex; do
	H=$(vector "$v")
	for form in bare wrapped; do
		hex=$H
		[[ $form == wrapped ]] && hex=$(wrap "$H")
		send "$v-$form" "$hex"
		assert_eq "$v/$form: reply code" Access-Accept "$(rc_code "$T/$v-$form.out")"
		assert_eq "$v/$form: SoHR branch" no_nap_entry "$(sohr_nap "$T/$v-$form.json" branch)"
		# correlation id from the vector's SSoH, echoed
		want=$(printf '%s\n' "$H" | "$NAPDUMP" soh --json | jget - "$JQ_CORRELATION")
		assert_eq "$v/$form: correlation id echoed" "$want" \
			"$(jget "$T/$v-$form.json" "$JQ_CORRELATION")"
		res=$(sohr_nap "$T/$v-$form.json" result)
		category[$res]=1
		# defaults map every failure category to non-compliant
		assert_eq "$v/$form: MS-Quarantine-State (default mapping)" Quarantine \
			"$(rc_attr "$T/$v-$form.out" MS-Quarantine-State)"
	done
done
((${#category[@]} == 1)) || fail "golden vectors gave different results: ${!category[*]}"
RESULT=${!category[*]}
log "golden vectors: result '$RESULT'"

# --- non-SoH inputs: answered invalid, napvd keeps serving ---------------------------------
for v in derived-v1-peap-soh-request.hex derived-v7-pbtnc-cdata.hex \
	derived-v8-pttls-version-request.hex derived-v9-seg-envelope.hex; do
	send "$v" "$(vector "$v")"
	assert_eq "$v: reply code" Access-Accept "$(rc_code "$T/$v.out")"
	assert_eq "$v: MS-Quarantine-State" Quarantine "$(rc_attr "$T/$v.out" MS-Quarantine-State)"
	if [[ $(rc_sohr "$T/$v.out") != "" ]]; then
		assert_eq "$v: SoHR branch" invalid "$(sohr_nap "$T/$v.json" branch)"
	fi
	still_serving "$v"
done
# the invalid counter (by branch) saw them
assert_ge "napvd branch invalid counter" 4 "$(metric "$M_BRANCH" 'branch="invalid"')"

# --- the golden result category mapped compliant by configuration => full access ----------
case $RESULT in
client_component | client_communication | server_component | server_communication | other)
	stop_napvd
	NAPVD_VALIDATION="$RESULT = compliant"
	write_napvd_conf "$T/napvd-mapped.conf"
	start_napvd "$T/napvd-mapped.conf"
	H=$(vector wpasupplicant-tnc-soh2.soh.hex)
	send golden-mapped "$H"
	assert_eq "golden with $RESULT = compliant: MS-Quarantine-State" Full-Access \
		"$(rc_attr "$T/golden-mapped.out" MS-Quarantine-State)"
	assert_eq "golden with $RESULT = compliant: branch" no_nap_entry \
		"$(sohr_nap "$T/golden-mapped.json" branch)"
	;;
*)
	log "golden result '$RESULT' is not a failure category: no mapping to flip"
	;;
esac
assert_alive
stop_napvd
