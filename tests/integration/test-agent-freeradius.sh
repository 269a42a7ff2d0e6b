#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Interop: the SoH napagentd emits (`--once --json --print-soh`, one evaluation) is decoded by
# FreeRADIUS 3.2's soh module and by napdump, and the decoded fields equal what the agent
# reported: machine name (--json and the SSoH), OS version (uname -r mapped into the inventory
# fields), processor, role, correlation id (napdump's and FreeRADIUS' decodings of the same
# bytes), the MS-WSH health classes, and napdump's view of the nap entry (compliant flag,
# missing ids) against --json. FreeRADIUS gets the SoH behind the 12-byte PEAP-style wrapper it
# needs, split over MS-Quarantine-SoH attributes of 247 bytes; its policy joins them before the
# module runs (3.2.1 reads only the first and crashes on a truncated SoH, see
# freeradius/soh-decode.conf.in), and the test checks it is alive after every request. A short
# evaluation (one policy, met) and a long one (40 missing updates: the SoH over four
# attributes) both go through.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need radclient freeradius "$PYTHON"
[[ -x ${NAPAGENTD:-} ]] || skip "napagentd not built"

"$NAPCTL" key generate --private "$T/site.key" --public "$T/site.pub" >/dev/null

# write_policy N-MISSING: the HSR: dpkg (installed on any Debian, met) plus N policies for
# packages this machine does not have
write_policy() {
	local i
	{
		printf '{"version": 1, "site": "S01", "revision": 9, "issued": "%s", "policies": [\n' \
			"$(date -u +%Y-%m-%dT%H:%M:%SZ)"
		printf '{"id": "deb-dpkg-2020-01", "package": "dpkg", "min_version": "1.0",'
		printf ' "scheme": "dpkg", "severity": "low", "effective": "2020-01-01T00:00:00Z"}'
		for ((i = 0; i < $1; i++)); do
			printf ',\n{"id": "napt-missing-%02d", "package": "napt-no-such-package-%02d",' \
				"$i" "$i"
			printf ' "min_version": "1.0", "scheme": "dpkg", "severity": "critical",'
			printf ' "effective": "2020-01-01T00:00:00Z"}'
		done
		printf '\n]}\n'
	} >"$T/hsr-unsigned.json"
	"$NAPCTL" hsr sign --key "$T/site.key" "$T/hsr-unsigned.json" -o "$T/hsr.json"
}

MACHINE=napt-agent-fr.napt.test
cat >"$T/napagentd.conf" <<CONF
[agent]
machine_name = $MACHINE
state_dir = $T/agent
pidfile = $T/napagentd.pid

[site]
policy_file = $T/hsr.json
hsr_key = $T/site.pub

[packages]
backend = dpkg
dpkg_status = /var/lib/dpkg/status
CONF

FR_PORT=$(free_port)
start_freeradius "$FR_TEMPLATES/soh-decode.conf.in" "PORT=$FR_PORT" "SECRET=$SECRET"
FR_LOG=$(ls "$T"/freeradius-*.log)

# fr_attr OUT NAME: the value FreeRADIUS decoded for SoH attribute NAME (from Reply-Message)
fr_attr() {
	rc_attr "$1" Reply-Message | sed -n "s/^$2=//p" | head -n1
}

KERNEL=$(uname -r)
if [[ $KERNEL =~ ^([0-9]+)\.([0-9]+)\.([0-9]+) ]]; then
	K_VERSION=${BASH_REMATCH[1]}.${BASH_REMATCH[2]}.${BASH_REMATCH[3]}
elif [[ $KERNEL =~ ^([0-9]+)\.([0-9]+) ]]; then
	K_VERSION=${BASH_REMATCH[1]}.${BASH_REMATCH[2]}.0
else
	fail "cannot read the kernel version from '$KERNEL'"
fi
JQ_NAP='[e["nap"] for e in j["entries"] if "nap" in e][0]'

run_case() { # NAME N-MISSING
	local name=$1 missing=$2 soh len
	write_policy "$missing"
	"$NAPAGENTD" -f "$T/napagentd.conf" --once --json --print-soh >"$T/$name.once" \
		2>>"$T/agent.log" || fail "$name: napagentd --once failed"
	soh=$(tail -n1 "$T/$name.once")
	head -n -1 "$T/$name.once" >"$T/$name.json"
	[[ $soh =~ ^[0-9a-f]+$ ]] || fail "$name: --print-soh printed no hex SoH"
	len=$((${#soh} / 2))
	log "$name: SoH of $len bytes"

	# napdump decodes it, and agrees with --json
	printf '%s\n' "$soh" | "$NAPDUMP" soh --json >"$T/$name.napdump.json" ||
		fail "$name: napdump cannot decode the agent's SoH"
	assert_eq "$name: --json machine name" "$MACHINE" \
		"$(jget "$T/$name.json" 'j["machine_name"]')"
	assert_eq "$name: napdump machine name = --json's" "$MACHINE" \
		"$(jget "$T/$name.napdump.json" 'j["machine_name"]')"
	assert_eq "$name: napdump OS version = uname -r" "$K_VERSION" \
		"$(jget "$T/$name.napdump.json" 'j["os_version"]')"
	assert_eq "$name: --json missing count" "$missing" \
		"$(jget "$T/$name.json" 'len(j["missing"])')"
	assert_eq "$name: napdump's nap entry: compliant flag = --json's" \
		"$(jget "$T/$name.json" 'j["compliant"]')" \
		"$(jget "$T/$name.napdump.json" "$JQ_NAP[\"compliant\"]")"
	# the SoH carries up to NAP_HEALTH_MAX_MISSING (32) of the missing ids, all from --json's
	jget "$T/$name.json" '"\n".join(j["missing"])' | sort >"$T/$name.missing.json"
	jget "$T/$name.napdump.json" "\"\\n\".join($JQ_NAP[\"missing\"])" | sort >"$T/$name.missing.soh"
	assert_eq "$name: napdump's nap entry: number of missing ids" \
		"$((missing < 32 ? missing : 32))" "$(grep -c . "$T/$name.missing.soh" || true)"
	assert_eq "$name: napdump's nap entry: missing ids all in --json's" "" \
		"$(comm -13 "$T/$name.missing.json" "$T/$name.missing.soh")"

	# FreeRADIUS decodes it
	rc_send "$T/$name.fr.out" "127.0.0.1:$FR_PORT" "$SECRET" < <(soh_request "$(wrap "$soh")") ||
		true
	assert_alive "$FR_PID" freeradius
	assert_eq "$name: FreeRADIUS decoded the SoH (accept)" Access-Accept \
		"$(rc_code "$T/$name.fr.out")"
	assert_eq "$name: MS-Quarantine-SoH attributes sent" $(((len + 12 + 246) / 247)) \
		"$(grep -c 'MS-Quarantine-SOH = ' "$T/$name.fr.out")"
	assert_eq "$name: FreeRADIUS SoH-MS-Machine-Name = --json's" "$MACHINE" \
		"$(fr_attr "$T/$name.fr.out" SoH-MS-Machine-Name)"
	assert_eq "$name: FreeRADIUS SoH-MS-Correlation-Id = napdump's" \
		"0x$(jget "$T/$name.napdump.json" 'j["correlation_id"]')" \
		"$(fr_attr "$T/$name.fr.out" SoH-MS-Correlation-Id)"
	assert_eq "$name: FreeRADIUS OS version.release.build = uname -r" "$K_VERSION" \
		"$(fr_attr "$T/$name.fr.out" SoH-MS-Machine-OS-version).$(fr_attr "$T/$name.fr.out" SoH-MS-Machine-OS-release).$(fr_attr "$T/$name.fr.out" SoH-MS-Machine-OS-build)"
	assert_eq "$name: FreeRADIUS service pack" "0.0" \
		"$(fr_attr "$T/$name.fr.out" SoH-MS-Machine-SP-version).$(fr_attr "$T/$name.fr.out" SoH-MS-Machine-SP-release)"
	assert_eq "$name: FreeRADIUS role" client "$(fr_attr "$T/$name.fr.out" SoH-MS-Machine-Role)"
	if [[ $(uname -m) == x86_64 ]]; then
		assert_eq "$name: FreeRADIUS processor" x86_64 \
			"$(fr_attr "$T/$name.fr.out" SoH-MS-Machine-Processor)"
	fi
	# the MS-WSH entry: FreeRADIUS reports a status for every health class napdump saw
	assert_eq "$name: FreeRADIUS health classes = napdump's" \
		"$(jget "$T/$name.napdump.json" '",".join(sorted(c["class"] for e in j["entries"] if "wsh" in e for c in e["wsh"]["classes"]))')" \
		"$(rc_attr "$T/$name.fr.out" Reply-Message |
			sed -n 's/^SoH-MS-Windows-Health-Status=\([a-z-]*\) .*/\1/p' | sort | paste -sd,)"
}

run_case short 0
run_case long 40
assert_ge "long SoH spans several attributes (bytes)" 500 \
	$(($(tail -n1 "$T/long.once" | tr -d '\n' | wc -c) / 2))
# FreeRADIUS walked through nap's entry (enterprise 0x7ed9, an unknown vendor to it) of the
# long SoH: more bytes than one attribute holds, so the SoH was decoded whole
NAP_ENTRY=$(sed -n 's/.*unhandled vendor-specific TLV 00007ed9\/component=1 \([0-9]*\) bytes.*/\1/p' \
	"$FR_LOG" | sort -n | tail -n1)
assert_ge "FreeRADIUS read nap's entry of the long SoH whole (bytes)" 248 "${NAP_ENTRY:-0}"
assert_alive "$FR_PID" freeradius
