#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# napdump against the vectors in tests/vectors/napdump/: golden text and JSON output, fields
# known from independent decoders (FreeRADIUS' decoding of the same bytes, the vector README),
# negative vectors, every truncation point, bad hex, --raw, Message-Authenticator checks.
# Environment: NAPDUMP, JSONQ, VECTORS (set by meson).
set -u
: "${NAPDUMP:?}" "${JSONQ:?}" "${VECTORS:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
checks=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}
ok() {
	checks=$((checks + 1))
}

# field FILE KIND PATH EXPECTED [ARGS...]
field() {
	f=$1 kind=$2 path=$3 want=$4
	shift 4
	got=$("$NAPDUMP" "$kind" "$@" --json "$VECTORS/$f" 2>/dev/null | "$JSONQ" "$path")
	if [ "$got" = "$want" ]; then ok; else fail "$f $path: got '$got', want '$want'"; fi
}

# expect_error RC EXPECTED_STDERR_REGEX CMD... : exit status and exactly one matching stderr line
expect_error() {
	want_rc=$1 re=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	lines=$(wc -l <"$tmp/err")
	if [ "$rc" -ne "$want_rc" ]; then
		fail "$*: exit $rc, want $want_rc"
	elif [ "$lines" -ne 1 ]; then
		fail "$*: $lines stderr lines, want 1: $(cat "$tmp/err")"
	elif ! grep -Eq "$re" "$tmp/err"; then
		fail "$*: stderr '$(cat "$tmp/err")' does not match '$re'"
	else
		ok
	fi
}

hexbody() {
	grep -v '^#' "$1" | tr -d ' \n'
}

# 1. Goldens, text and JSON, and the same through --raw and stdin.
n_golden=0
for f in "$VECTORS"/*.hex; do
	base=${f%.hex}
	name=$(basename "$base")
	args=
	[ -f "$base.args" ] && args=$(cat "$base.args")
	case $name in
	neg-*)
		kind=${name#neg-}
		kind=${kind%%-*}
		# shellcheck disable=SC2086
		"$NAPDUMP" "$kind" $args "$f" >/dev/null 2>"$tmp/err"
		rc=$?
		if [ $rc -ne 1 ]; then fail "$name: exit $rc, want 1"; fi
		if cmp -s "$tmp/err" "$base.err"; then ok; else
			fail "$name: stderr '$(cat "$tmp/err")', want '$(cat "$base.err")'"
		fi
		continue
		;;
	esac
	kind=${name%%-*}
	n_golden=$((n_golden + 1))
	# shellcheck disable=SC2086
	"$NAPDUMP" "$kind" $args "$f" >"$tmp/txt" 2>"$tmp/err" || fail "$name: text exit $?"
	if cmp -s "$tmp/txt" "$base.txt"; then ok; else
		fail "$name: text output differs from $name.txt"
		diff "$base.txt" "$tmp/txt" | head -20
	fi
	# shellcheck disable=SC2086
	"$NAPDUMP" "$kind" $args --json "$f" >"$tmp/json" 2>"$tmp/err" || fail "$name: json exit $?"
	if cmp -s "$tmp/json" "$base.json"; then ok; else
		fail "$name: JSON output differs from $name.json"
		diff "$base.json" "$tmp/json" | head -20
	fi
	if "$JSONQ" . <"$tmp/json" >/dev/null; then ok; else fail "$name: output is not JSON"; fi
	hexbody "$f" | xxd -r -p >"$tmp/raw"
	# shellcheck disable=SC2086
	"$NAPDUMP" "$kind" $args --raw "$tmp/raw" >"$tmp/txt2" 2>&1
	if cmp -s "$tmp/txt2" "$base.txt"; then ok; else fail "$name: --raw output differs"; fi
	# shellcheck disable=SC2086
	"$NAPDUMP" "$kind" $args <"$f" >"$tmp/txt3" 2>&1
	if cmp -s "$tmp/txt3" "$base.txt"; then ok; else fail "$name: stdin output differs"; fi
done
[ "$n_golden" -ge 10 ] || fail "only $n_golden golden vectors found in $VECTORS"

# 2. Fields that independent decoders agree on.
w=soh-wpasupplicant-tnc-soh2.hex
field $w soh .machine_name wpa_supplicant@w1.fi
field $w soh .os_version 0.0.0
field $w soh .service_pack 0.0
field $w soh .processor_arch x86
field $w soh .product_type client
field $w soh .packet_info request
field $w soh .correlation_id 3c5a5521cdd06961387d4fdcaf8b872ecfe1a74756e866cb
field $w soh .inner_type 2
field $w soh .quarantine_state.isolation_state not-restricted
field $w soh .wrapped false
field $w soh .length 152
field $w soh '.entries[0].system_health_id' 79616
field $w soh '.entries[0].attributes[0].name' System-Health-ID
field soh-derived-ssoh-min-plus-v3.hex soh .os_version 6.0.6001
field soh-derived-ssoh-min-plus-v3.hex soh .service_pack 1.0
field soh-derived-ssoh-min-plus-v3.hex soh .processor_arch x64
field soh-derived-ssoh-min-plus-v3.hex soh .inner_type 1
field soh-derived-v2-peap-wrapped.hex soh .wrapped true
field soh-derived-v2-peap-wrapped.hex soh .correlation_id 000102030405060708090a0b0c0d0e0f1011121314151617
field soh-derived-v2-plus-v3.hex soh '.entries[1].system_health_id' 79744
field soh-derived-v2-plus-v3.hex soh '.entries[1].wsh.classes[0].class' firewall
field soh-derived-v2-plus-v3.hex soh '.entries[1].wsh.classes[1].state' 'error product-not-installed'
field soh-derived-v2-plus-v3.hex soh '.entries[1].wsh.classes[0].product' FW
field sohr-derived-v4-wshv-entry.hex sohr '.entries[0].wshv.classes[1].compliance_code' 0xc0ff0002
field sohr-derived-v4-wshv-entry.hex sohr '.entries[0].wshv.classes[1].failure_category' \
	client-component
n=soh-nap-wsh.hex
field $n soh '.entries[2].nap.site' S01
field $n soh '.entries[2].nap.hsr_revision' 7
field $n soh '.entries[2].nap.hsr_digest' a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf
field $n soh '.entries[2].nap.compliant' false
field $n soh '.entries[2].nap.eval_time' 2026-11-25T09:55:00Z
field $n soh '.entries[2].nap.missing[1]' DSA-5555-1
field $n soh '.entries[2].nap.failure_category' none
field $n soh .machine_name pc1.example
field sohr-nap-wsh.hex sohr .packet_info response
field sohr-nap-wsh.hex sohr '.entries[1].nap.instructions[0]' refresh-policy
field sohr-nap-wsh.hex sohr '.entries[1].nap.hsr_revision' 8
field sohr-nap-wsh.hex sohr '.entries[1].nap.result' noncompliant
field sohr-nap-wsh.hex sohr '.entries[1].nap.branch' out_of_date
r=radius-access-request-split-soh.hex
field $r radius .code_name Access-Request
field $r radius .id 42
field $r radius .message_authenticator ok --secret testing123
field $r radius '.attributes[1].value_name' Authorize-Only
field $r radius '.attributes[3].value_name' dhcp
field $r radius '.attributes[4].value' pc1.example
field $r radius '.attributes[5].name' MS-Quarantine-SoH
field $r radius '.attributes[6].name' MS-Quarantine-SoH
field $r radius '.soh.entries[2].nap.site' S01
a=radius-access-accept-sohr.hex
field $a radius .code_name Access-Accept
field $a radius '.attributes[0].value_name' restricted
field $a radius '.attributes[1].value_name' no-data
field $a radius '.attributes[2].time' 2023-11-14T22:13:20Z
field $a radius '.attributes[3].servers[1]' 192.0.2.11
field $a radius '.attributes[4].value' nap-restricted
field $a radius .soh.type sohr
field $a radius '.soh.entries[1].nap.instructions[0]' refresh-policy
d=dhcp-discover-nap-probe.hex
field $d dhcp .message_type DHCPDISCOVER
field $d dhcp .chaddr 525400123456
field $d dhcp '.options[3].length' 134
field $d dhcp .nap.soh_kind probe
field $d dhcp .nap.correlation_id 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f8081
field dhcp-offer-nap-marker.hex dhcp .nap.marker NAP
field dhcp-ack-freeradius-pan.hex dhcp .nap.marker PAN
d=dhcp-request-nap-freeradius-case4.hex
field $d dhcp .nap.mask 255.255.255.0
field $d dhcp '.nap.ipv6_remediation_servers[0]' 2001:db8::1
field $d dhcp .nap.soh.wrapped true
field $d dhcp .nap.soh.os_version 6.1.7601
field $d dhcp .nap.soh.processor_arch x64
d=dhcp-request-nap-long-soh.hex
field $d dhcp '.options[4].parts' 2
field $d dhcp .nap.soh_parts 2
field $d dhcp .nap.soh_length 302
field $d dhcp '.nap.soh.entries[1].wsh.classes[0].product' FW
d=dhcp-ack-nap-restricted.hex
field $d dhcp '.options[3].value' 255.255.255.255
field $d dhcp '.options[4].value[0]' '192.0.2.10/32 via 192.0.2.1'
field $d dhcp '.options[5].name' MS-Classless-Static-Route
field $d dhcp .nap.mask 255.255.255.0
field $d dhcp .nap.sohr.type sohr
field dhcp-ack-overload.hex dhcp .overload file+sname
field dhcp-ack-overload.hex dhcp '.options[2].value' abcdef
field dhcp-inform-exempt.hex dhcp '.options[1].value' 'MSFT Quarantine'
field dhcp-inform-exempt.hex dhcp .nap.soh_kind probe-renew

# 3. Every truncation point of the golden capture through the whole program (the C test
# test_dump covers every truncation point of every vector at the library level): exit 1,
# exactly one line, an offset within the input.
hexbody "$VECTORS/$w" | xxd -r -p >"$tmp/full"
len=$(wc -c <"$tmp/full")
i=0
bad=0
while [ "$i" -lt "$len" ]; do
	head -c "$i" "$tmp/full" >"$tmp/cut"
	"$NAPDUMP" soh --raw "$tmp/cut" >/dev/null 2>"$tmp/err"
	rc=$?
	read -r line <"$tmp/err"
	off=${line##* at offset }
	case $line in
	"error: "*" at offset "*) ;;
	*) off=999999 ;;
	esac
	if [ $rc -ne 1 ] || [ "$(wc -l <"$tmp/err")" -ne 1 ] || [ "$off" -gt "$i" ]; then
		fail "$w truncated to $i bytes: exit $rc, stderr '$line'"
		bad=$((bad + 1))
		[ $bad -gt 3 ] && break
	fi
	i=$((i + 1))
done
[ $bad -eq 0 ] && ok

# 4. Input errors and usage.
printf '00 07 zz\n' >"$tmp/badhex"
expect_error 1 '^error: bad hex at offset 6$' "$NAPDUMP" soh "$tmp/badhex"
printf '# comment 0xzz\n\n00 0\n' >"$tmp/oddhex"
expect_error 1 '^error: bad hex at offset 20$' "$NAPDUMP" soh "$tmp/oddhex"
expect_error 1 '^error: .+ at offset 0$' "$NAPDUMP" soh /dev/null
expect_error 1 '^error: .*nonexistent' "$NAPDUMP" soh "$tmp/nonexistent"
expect_error 1 '^error: not a DER PKCS#10 request at offset 0$' "$NAPDUMP" hcep "$VECTORS/$w"
"$NAPDUMP" >/dev/null 2>&1
[ $? -eq 64 ] && ok || fail "no arguments: want exit 64"
"$NAPDUMP" bogus "$VECTORS/$w" >/dev/null 2>&1
[ $? -eq 64 ] && ok || fail "unknown type: want exit 64"
"$NAPDUMP" soh --bogus "$VECTORS/$w" >/dev/null 2>&1
[ $? -eq 64 ] && ok || fail "unknown option: want exit 64"

# 5. Message-Authenticator: wrong secret, and a request changed after signing.
expect_error 1 '^error: Message-Authenticator does not verify at offset [0-9]+$' \
	"$NAPDUMP" radius --secret wrong "$VECTORS/$r"
grep "bad" "$tmp/out" >/dev/null && ok || fail "wrong secret: output does not say bad"
hexbody "$VECTORS/$r" | sed 's/6e61702d636c69656e74/6e61702d636c69656e75/' >"$tmp/tampered"
expect_error 1 '^error: Message-Authenticator does not verify at offset [0-9]+$' \
	"$NAPDUMP" radius --secret testing123 "$tmp/tampered"
"$NAPDUMP" radius --secret testing123 "$VECTORS/$r" >/dev/null 2>&1
[ $? -eq 0 ] && ok || fail "right secret: want exit 0"

echo "napdump: $checks checks passed, $failures failed"
[ "$failures" -eq 0 ]
