#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# HCEP requests made by the `openssl req` command line, with the SoH extension added through a
# config line `1.3.6.1.4.1.311.47.1.1 = DER:04 <len> <SoH>` (spec/PROTOCOLS.md §4: the
# extension value is an OCTET STRING holding the SoH), decoded by `napdump hcep` from DER, PEM
# and hex; an RSA-2048 authenticated request with a SAN; no SoH; a bad signature; the SoH
# without its OCTET STRING; a malformed SoH; a PKCS#7 chain from `openssl crl2pkcs7`.
# Environment: NAPDUMP, JSONQ, VECTORS, OPENSSL (set by meson).
set -u
: "${NAPDUMP:?}" "${JSONQ:?}" "${VECTORS:?}" "${OPENSSL:?}"
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

# field FILE PATH EXPECTED [ARGS...]
field() {
	f=$1 path=$2 want=$3
	shift 3
	got=$("$NAPDUMP" hcep "$@" --json "$f" 2>/dev/null | "$JSONQ" "$path")
	if [ "$got" = "$want" ]; then ok; else fail "$f $path: got '$got', want '$want'"; fi
}

# expect_error RC EXPECTED_STDERR_REGEX CMD...
expect_error() {
	want_rc=$1 re=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -ne "$want_rc" ]; then
		fail "$*: exit $rc, want $want_rc: $(cat "$tmp/err")"
	elif ! grep -Eq "$re" "$tmp/err"; then
		fail "$*: stderr '$(cat "$tmp/err")' does not match '$re'"
	else
		ok
	fi
}

# The 205-byte SoH of PROTOCOLS.md V3 (as napdump's own vector), wrapped in a DER OCTET STRING.
soh=$(grep -v '^#' "$VECTORS/soh-derived-ssoh-min-plus-v3.hex" | tr -d ' \n')
len=$((${#soh} / 2))
[ "$len" -eq 205 ] || { echo "unexpected SoH vector length $len"; exit 1; }
wrapped=$(printf '0481%02x' "$len")$soh
# A malformed SoH (header length one more than the bytes) in a well-formed OCTET STRING.
bad_soh=0007$(printf '%04x' $((len - 3)))$(echo "$soh" | cut -c9-)
bad_wrapped=$(printf '0481%02x' "$len")$bad_soh

cat >"$tmp/req.cnf" <<CNF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = Anonymous System Health Authentication
[anon]
extendedKeyUsage = 1.3.6.1.4.1.311.47.1.1
1.3.6.1.4.1.311.47.1.1 = DER:$wrapped
[auth]
extendedKeyUsage = 1.3.6.1.4.1.311.47.1.1, clientAuth
subjectAltName = DNS:pc17.example.org
1.3.6.1.4.1.311.47.1.1 = DER:$wrapped
[nosoh]
extendedKeyUsage = 1.3.6.1.4.1.311.47.1.1
[unwrapped]
1.3.6.1.4.1.311.47.1.1 = DER:$soh
[badsoh]
1.3.6.1.4.1.311.47.1.1 = DER:$bad_wrapped
CNF

req() {
	ext=$1 key=$2 out=$3
	"$OPENSSL" req -new -key "$key" -config "$tmp/req.cnf" -reqexts "$ext" -outform DER \
		-out "$out" 2>"$tmp/openssl.err" || { cat "$tmp/openssl.err"; exit 1; }
}

"$OPENSSL" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/ec.key" 2>/dev/null
"$OPENSSL" genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/rsa.key" 2>/dev/null
req anon "$tmp/ec.key" "$tmp/anon.der"
req auth "$tmp/rsa.key" "$tmp/auth.der"
req nosoh "$tmp/ec.key" "$tmp/nosoh.der"
req unwrapped "$tmp/ec.key" "$tmp/unwrapped.der"
req badsoh "$tmp/ec.key" "$tmp/badsoh.der"

# 1. EC P-256, unauthenticated, SoH: DER, PEM and hex give the same answer.
"$OPENSSL" req -inform DER -in "$tmp/anon.der" -out "$tmp/anon.pem"
od -An -v -tx1 "$tmp/anon.der" >"$tmp/anon.hex"
for form in "$tmp/anon.der --raw" "$tmp/anon.pem" "$tmp/anon.hex"; do
	# shellcheck disable=SC2086 # the form carries its option
	set -- $form
	f=$1
	shift
	field "$f" .type hcep-request "$@"
	field "$f" .key "EC P-256" "$@"
	field "$f" .signature ok "$@"
	field "$f" .subject "CN=Anonymous System Health Authentication" "$@"
	field "$f" '.extended_key_usage[0]' system-health-authentication "$@"
	field "$f" .subject_alt_names '[]' "$@"
	field "$f" .soh.type soh "$@"
	field "$f" .soh.length 205 "$@"
	field "$f" '.soh.entries[0].name' nap-system "$@"
done
# The text form says the same.
"$NAPDUMP" hcep --raw "$tmp/anon.der" >"$tmp/anon.txt" 2>&1 && ok || fail "anon: text exit $?"
grep -q '^signature: ok$' "$tmp/anon.txt" && ok || fail "anon: text lacks 'signature: ok'"
grep -q '^key: EC P-256$' "$tmp/anon.txt" && ok || fail "anon: text lacks the key"
# napdump soh on the SoH alone decodes the same bytes the same way.
printf '%s\n' "$soh" >"$tmp/soh.hex"
a=$("$NAPDUMP" soh --json "$tmp/soh.hex" | "$JSONQ" .entries)
b=$("$NAPDUMP" hcep --raw --json "$tmp/anon.der" | "$JSONQ" .soh.entries)
[ -n "$a" ] && [ "$a" = "$b" ] && ok || fail "SoH in the request decodes unlike napdump soh"

# 2. RSA-2048, authenticated: clientAuth and the SAN.
field "$tmp/auth.der" .key RSA-2048 --raw
field "$tmp/auth.der" .signature ok --raw
field "$tmp/auth.der" '.extended_key_usage[1]' client-auth --raw
field "$tmp/auth.der" '.subject_alt_names[0]' DNS:pc17.example.org --raw
field "$tmp/auth.der" .soh.length 205 --raw

# 3. No SoH extension: decodes, "soh" is null.
field "$tmp/nosoh.der" .soh null --raw
field "$tmp/nosoh.der" .signature ok --raw

# 4. A bad signature: printed, and exit 1 with one error line.
# Flip the low bit of the last byte: inside the signature's s value.
h=$(od -An -v -tx1 "$tmp/anon.der" | tr -d ' \n')
last=${h#"${h%??}"}
printf '%s%02x\n' "${h%??}" $((0x$last ^ 1)) >"$tmp/badsig.hex"
expect_error 1 '^error: request signature does not verify at offset 0$' \
	"$NAPDUMP" hcep "$tmp/badsig.hex"
grep -q '^signature: bad$' "$tmp/out" && ok || fail "bad signature: output does not say bad"

# 5. The SoH straight in extnValue, without SoHExtension's OCTET STRING: refused.
expect_error 1 '^error: SoH extension value is not an OCTET STRING at offset [0-9]+$' \
	"$NAPDUMP" hcep --raw "$tmp/unwrapped.der"

# 6. A malformed SoH in a good request: soh_error, exit 1, offset into the request.
expect_error 1 '^error: .+ at offset [0-9]+$' "$NAPDUMP" hcep --raw "$tmp/badsoh.der"
"$NAPDUMP" hcep --raw --json "$tmp/badsoh.der" 2>/dev/null | "$JSONQ" .soh_error >/dev/null &&
	ok || fail "bad SoH: no soh_error"

# 7. A response chain as `openssl crl2pkcs7 -nocrl` writes it, DER and PEM.
"$OPENSSL" req -x509 -new -key "$tmp/ec.key" -subj /CN=nap-hra-ca -days 1 \
	-out "$tmp/ca.pem" 2>/dev/null
"$OPENSSL" crl2pkcs7 -nocrl -certfile "$tmp/ca.pem" -outform DER -out "$tmp/chain.p7b"
"$OPENSSL" crl2pkcs7 -nocrl -certfile "$tmp/ca.pem" -out "$tmp/chain.pem"
field "$tmp/chain.p7b" .type hcep-response --raw
field "$tmp/chain.p7b" '.certificates[0].subject' CN=nap-hra-ca --raw
field "$tmp/chain.pem" '.certificates[0].issuer' CN=nap-hra-ca

# 8. Garbage and broken PEM.
printf 'not der' >"$tmp/garbage"
expect_error 1 '^error: not a DER PKCS#10 request at offset 0$' \
	"$NAPDUMP" hcep --raw "$tmp/garbage"
printf -- '-----BEGIN CERTIFICATE REQUEST-----\n!!!\n' >"$tmp/badpem"
expect_error 1 '^error: bad PEM at offset 0$' "$NAPDUMP" hcep "$tmp/badpem"

echo "hcep-openssl: $checks checks passed, $failures failed"
[ "$failures" -eq 0 ]
