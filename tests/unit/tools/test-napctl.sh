#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# napctl: key generate -> hsr sign -> hsr show round trip, tampered and wrongly signed documents,
# soh sample decoded by napdump, usage errors (exit 64), radius query to a closed port.
# Environment: NAPCTL, NAPDUMP, JSONQ, HSR_VECTORS (set by meson).
set -u
: "${NAPCTL:?}" "${NAPDUMP:?}" "${JSONQ:?}" "${HSR_VECTORS:?}"
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
# eq WHAT GOT WANT
eq() {
	if [ "$2" = "$3" ]; then ok; else fail "$1: got '$2', want '$3'"; fi
}
# status WANT CMD... : exit status only
status() {
	want=$1
	shift
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -eq "$want" ]; then ok; else
		fail "$*: exit $rc, want $want ($(head -c 300 "$tmp/err"))"
	fi
}

# 1. Keys and the HSR round trip.
status 0 "$NAPCTL" key generate --private "$tmp/site.key" --public "$tmp/site.pub"
[ -s "$tmp/site.key" ] && [ -s "$tmp/site.pub" ] && ok || fail "key files missing"
eq "private key mode" "$(stat -c %a "$tmp/site.key")" 600
grep -q "BEGIN PUBLIC KEY" "$tmp/site.pub" && ok || fail "public key is not PEM"

cat >"$tmp/unsigned.json" <<'JSON'
{"version": 1, "site": "S01", "revision": 7, "issued": "2026-11-25T10:00:00Z",
 "policies": [
  {"id": "CVE-2026-0001", "package": "openssl", "min_version": "3.0.15-1", "scheme": "dpkg",
   "severity": "critical", "effective": "asap"},
  {"id": "ADV-1", "severity": "low", "effective": "2026-11-01T00:00:00Z", "reason": "advisory"}
 ]}
JSON
status 0 "$NAPCTL" hsr sign --key "$tmp/site.key" "$tmp/unsigned.json" -o "$tmp/hsr.json"
digest=$("$JSONQ" .digest <"$tmp/hsr.json")
eq "digest length" "${#digest}" 64
"$NAPCTL" hsr sign --key "$tmp/site.key" <"$tmp/unsigned.json" >"$tmp/hsr-stdout.json"
if cmp -s "$tmp/hsr.json" "$tmp/hsr-stdout.json"; then ok; else fail "sign via stdin/stdout differs"; fi

status 0 "$NAPCTL" hsr show "$tmp/hsr.json" --keys "$tmp/site.pub"
grep -q "^signature: verified$" "$tmp/out" && ok || fail "show: no 'signature: verified'"
grep -q "digest: $digest" "$tmp/out" && ok || fail "show: digest not printed"
"$NAPCTL" hsr show --json --keys "$tmp/site.pub" "$tmp/hsr.json" >"$tmp/show.json"
eq "show .hsrs[0].site" "$("$JSONQ" '.hsrs[0].site' <"$tmp/show.json")" S01
eq "show .hsrs[0].revision" "$("$JSONQ" '.hsrs[0].revision' <"$tmp/show.json")" 7
eq "show .hsrs[0].digest" "$("$JSONQ" '.hsrs[0].digest' <"$tmp/show.json")" "$digest"
eq "show .hsrs[0].policy_count" "$("$JSONQ" '.hsrs[0].policy_count' <"$tmp/show.json")" 2
eq "show .signature" "$("$JSONQ" .signature <"$tmp/show.json")" verified

# Tampered: a changed revision breaks the signature; a changed policy breaks the digest.
sed 's/"revision":7/"revision":8/' "$tmp/hsr.json" >"$tmp/tampered-rev.json"
cmp -s "$tmp/hsr.json" "$tmp/tampered-rev.json" && fail "sed did not tamper the revision"
status 1 "$NAPCTL" hsr show "$tmp/tampered-rev.json" --keys "$tmp/site.pub"
grep -q "tampered-rev.json: signature check failed" "$tmp/err" && ok ||
	fail "tampered revision: unclear message '$(cat "$tmp/err")'"
eq "tampered: stderr lines" "$(wc -l <"$tmp/err")" 1
sed 's/3.0.15-1/3.0.14-1/' "$tmp/hsr.json" >"$tmp/tampered-pol.json"
status 1 "$NAPCTL" hsr show "$tmp/tampered-pol.json"
grep -q "tampered-pol.json: .*digest" "$tmp/err" && ok ||
	fail "tampered policy: unclear message '$(cat "$tmp/err")'"
# Signed by another key.
status 1 "$NAPCTL" hsr show "$tmp/hsr.json" --keys "$HSR_VECTORS/TEST-ONLY-other-ed25519-public.pem"
grep -q "signature check failed" "$tmp/err" && ok || fail "wrong key: '$(cat "$tmp/err")'"
status 1 "$NAPCTL" hsr show "$tmp/missing.json"

# 2. soh sample, read back with napdump.
soh_field() {
	"$NAPDUMP" soh --json "$tmp/soh.hex" | "$JSONQ" "$1"
}
now=$(date +%s)
status 0 "$NAPCTL" soh sample --site S01 --hsr "$tmp/hsr.json" --compliant no --age 2h \
	--missing CVE-2026-0001 --missing DSA-1-1 --machine pc7.example
cp "$tmp/out" "$tmp/soh.hex"
eq "sample site" "$(soh_field '.entries[1].nap.site')" S01
eq "sample revision" "$(soh_field '.entries[1].nap.hsr_revision')" 7
eq "sample digest" "$(soh_field '.entries[1].nap.hsr_digest')" "$digest"
eq "sample compliant" "$(soh_field '.entries[1].nap.compliant')" false
eq "sample missing[1]" "$(soh_field '.entries[1].nap.missing[1]')" DSA-1-1
eq "sample machine" "$(soh_field .machine_name)" pc7.example
eq "sample packet_info" "$(soh_field .packet_info)" request
eval_time=$(soh_field '.entries[1].nap.eval_time')
found=no
for d in 0 1 2 3 4 5; do
	[ "$eval_time" = "$(date -u -d "@$((now - 7200 + d))" +%Y-%m-%dT%H:%M:%SZ)" ] && found=yes
done
eq "sample eval_time $eval_time is now - 2h" $found yes

d64=$(printf 'ab%.0s' 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 \
	28 29 30 31 32)
"$NAPCTL" soh sample --site S02 --revision 9 --digest "$d64" --failure client-component \
	--error-code 0x80070005 --generated 2026-01-01T00:00:00Z --age 1h --wsh --wrap >"$tmp/soh.hex"
eq "explicit revision" "$(soh_field '.entries[2].nap.hsr_revision')" 9
eq "explicit digest" "$(soh_field '.entries[2].nap.hsr_digest')" "$d64"
eq "compliant default" "$(soh_field '.entries[2].nap.compliant')" true
eq "failure" "$(soh_field '.entries[2].nap.failure_category')" client-component
eq "error code" "$(soh_field '.entries[2].nap.error_code')" 0x80070005
eq "generated - age" "$(soh_field '.entries[2].nap.eval_time')" 2025-12-31T23:00:00Z
eq "wsh entry" "$(soh_field '.entries[1].name')" ms-wsh
eq "wrapped" "$(soh_field .wrapped)" true
"$NAPCTL" soh sample --site S01 --hsr "$tmp/hsr.json" --revision 3 >"$tmp/soh.hex"
eq "--hsr with --revision" "$(soh_field '.entries[1].nap.hsr_revision')" 3
"$NAPCTL" soh sample --site S01 --hsr "$tmp/hsr.json" --no-nap-entry >"$tmp/soh.hex"
eq "no nap entry" "$(soh_field '.entries[1]')" ""
"$NAPCTL" soh sample --site S01 --hsr "$tmp/hsr.json" --malformed >"$tmp/soh.hex"
eq "malformed nap entry" "$(soh_field '.entries[1].nap.malformed_items')" true
status 1 "$NAPCTL" soh sample --site S09 --hsr "$tmp/hsr.json"
grep -q "no HSR for site S09" "$tmp/err" && ok || fail "unknown site: '$(cat "$tmp/err")'"

# 3. Usage errors exit 64; help exits 0.
status 64 "$NAPCTL"
status 64 "$NAPCTL" frobnicate
status 64 "$NAPCTL" key
status 64 "$NAPCTL" key generate --private "$tmp/x.key"
status 64 "$NAPCTL" key generate --private a --public b extra
status 64 "$NAPCTL" hsr sign "$tmp/unsigned.json"
status 64 "$NAPCTL" hsr show
status 64 "$NAPCTL" hsr show --bogus "$tmp/hsr.json"
status 64 "$NAPCTL" soh sample --revision 1 --digest "$d64"
status 64 "$NAPCTL" soh sample --site S01 --revision 1
status 64 "$NAPCTL" soh sample --site S01 --revision 1 --digest abcd
status 64 "$NAPCTL" soh sample --site 'bad site' --revision 1 --digest "$d64"
status 64 "$NAPCTL" soh sample --site S01 --revision 1 --digest "$d64" --compliant maybe
status 64 "$NAPCTL" soh sample --site S01 --revision 1 --digest "$d64" --age soon
status 64 "$NAPCTL" soh sample --site S01 --revision 1 --digest "$d64" --failure bad
status 64 "$NAPCTL" radius query --secret s
status 64 "$NAPCTL" radius query --server 127.0.0.1:1812
status 64 "$NAPCTL" radius query --server 127.0.0.1:1812 --secret s --nas-type bogus
status 64 "$NAPCTL" radius query --server 127.0.0.1:1812 --secret s --timeout 2x
status 64 "$NAPCTL" radius query --server 127.0.0.1:1812 --secret s --soh 00 --no-soh
status 64 "$NAPCTL" radius query --server nonsense --secret s
grep -q "^usage: napctl radius query" "$tmp/err" && ok || fail "usage line not printed"
status 0 "$NAPCTL" help
grep -q "napctl soh sample" "$tmp/out" && ok || fail "help does not list soh sample"
status 0 "$NAPCTL" soh sample --help
grep -q -- "--missing" "$tmp/out" && ok || fail "soh sample --help does not show options"

# 4. radius query to a closed port: no answer, exit 1, quickly (3 tries of 200 ms).
start=$(date +%s%N)
status 1 "$NAPCTL" radius query --server 127.0.0.1:1 --secret testing123 --timeout 200ms --no-soh
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
[ "$elapsed_ms" -lt 3000 ] && ok || fail "closed port took $elapsed_ms ms"
[ "$elapsed_ms" -ge 500 ] && ok || fail "closed port gave up after $elapsed_ms ms, before 3 tries"
grep -q "no valid reply from 127.0.0.1:1 after 3 tries" "$tmp/err" && ok ||
	fail "closed port: '$(cat "$tmp/err")'"
status 1 "$NAPCTL" radius query --server '[::1]:1' --secret testing123 --timeout 100ms --tries 1 \
	--soh "$(cat "$tmp/soh.hex")"

echo "napctl: $checks checks passed, $failures failed"
[ "$failures" -eq 0 ]
