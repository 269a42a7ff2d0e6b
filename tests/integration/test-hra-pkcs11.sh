#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# naphrad's signer with the health CA's private key in a PKCS#11 token: SoftHSM2 (its token
# directory in $T through SOFTHSM2_CONF), the key imported with softhsm2-util and then deleted
# from disk, loaded through libp11's engine (ca_key = pkcs11:..., pkcs11_module, pin_file).
# A compliant request gets a certificate that `openssl verify` chains to the CA certificate; a
# wrong PIN, a missing object and a PIN in the URI are refused at start with a clear message.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hra-lib.sh"
need openssl curl "$NAPHRAD" "$PYTHON"
SOFTHSM_MODULE=/usr/lib/softhsm/libsofthsm2.so
for f in /usr/bin/softhsm2-util "$SOFTHSM_MODULE"; do
	[[ -e $f ]] || fail "$f missing: run scripts/install-deps (softhsm2, libengine-pkcs11-openssl)"
done
ls /usr/lib/*/engines-3/pkcs11.so >/dev/null 2>&1 ||
	fail "OpenSSL's pkcs11 engine missing: run scripts/install-deps (libengine-pkcs11-openssl)"

make_site S01 5
NAPVD_EXTRA=$'[enforcement hra]\ncompliant = full\nnoncompliant = restricted\nnoncapable = reject\n'
write_napvd_conf "$T/napvd.conf"
start_napvd "$T/napvd.conf"
hra_pki

# --- the token: SoftHSM2 in $T, the CA key imported, then gone from the disk ----------------
mkdir -p "$T/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
	"$T/tokens" >"$T/softhsm2.conf"
export SOFTHSM2_CONF=$T/softhsm2.conf
softhsm2-util --init-token --free --label nap-hra --pin 4321 --so-pin 87654321 >/dev/null
openssl pkcs8 -topk8 -nocrypt -in "$T/pki/health-ca.key" -out "$T/ca.p8"
softhsm2-util --import "$T/ca.p8" --token nap-hra --label health-ca --id 0a01 --pin 4321 \
	>/dev/null
rm -f "$T/pki/health-ca.key" "$T/ca.p8"
printf '4321\n' >"$T/pin"
chmod 600 "$T/pin"
URI='pkcs11:token=nap-hra;object=health-ca;type=private'

# --- refusals at start (naphrad -n loads the key like the signer) -----------------------------
printf '1111\n' >"$T/badpin"
chmod 600 "$T/badpin"
HRA_CA_KEY=$URI HRA_SIGNER_EXTRA="pkcs11_module = $SOFTHSM_MODULE
pin_file = $T/badpin" write_naphrad_conf "$T/bad.conf"
"$NAPHRAD" -n -f "$T/bad.conf" >"$T/bad.out" 2>&1 && fail "naphrad -n accepted a wrong PIN"
assert_match "wrong PIN: message" 'not loaded from the token \(wrong PIN' "$(cat "$T/bad.out")"
HRA_CA_KEY='pkcs11:token=nap-hra;object=nothere;type=private' HRA_SIGNER_EXTRA="pkcs11_module = $SOFTHSM_MODULE
pin_file = $T/pin" write_naphrad_conf "$T/bad2.conf"
"$NAPHRAD" -n -f "$T/bad2.conf" >"$T/bad2.out" 2>&1 && fail "naphrad -n accepted a missing object"
assert_match "missing object: message" 'no such object' "$(cat "$T/bad2.out")"
HRA_CA_KEY="$URI;pin-value=4321" HRA_SIGNER_EXTRA="pkcs11_module = $SOFTHSM_MODULE" \
	write_naphrad_conf "$T/bad3.conf"
"$NAPHRAD" -n -f "$T/bad3.conf" >"$T/bad3.out" 2>&1 && fail "naphrad -n accepted a PIN in the URI"
assert_match "PIN in the URI: message" 'no pin-value in the URI' "$(cat "$T/bad3.out")"

# --- the real thing ----------------------------------------------------------------------------
HRA_CA_KEY=$URI HRA_SIGNER_EXTRA="pkcs11_module = $SOFTHSM_MODULE
pin_file = $T/pin" write_naphrad_conf "$T/naphrad.conf"
"$NAPHRAD" -n -f "$T/naphrad.conf" >"$T/check.out" 2>&1 || fail "naphrad -n: $(cat "$T/check.out")"
start_naphrad
URL=http://127.0.0.1:$HRA_PORT/domainhra/hcsrvext.dll
GOOD=$(sample --site S01 --revision 5 --hsr "$T/hsr.json" --compliant yes --machine pc1)
for i in 1 2 3; do
	hra_req good$i anon "$GOOD"
	hra_post good$i "$URL"
	assert_eq "token-signed request $i: status" 200 "$HTTP_STATUS"
	leaf good$i
	assert_match "token-signed certificate $i: openssl verify" ': OK$' \
		"$(openssl verify -CAfile "$T/pki/health-ca.pem" -policy "$HEALTH_POLICY" \
			-explicit_policy "$T/good$i.leaf.pem" 2>&1)"
done
openssl x509 -in "$T/good1.leaf.pem" -noout -text >"$T/good1.txt"
grep -q 'Signature Algorithm: ecdsa-with-SHA256' "$T/good1.txt" || fail "not signed with ECDSA"
grep -A1 'Extended Key Usage' "$T/good1.txt" | grep -q "$HEALTH_EKU" || fail "no health EKU"
assert_eq "certificate key = request key" "$(openssl pkey -in "$T/good1.key" -pubout | sha256sum)" \
	"$(openssl x509 -in "$T/good1.leaf.pem" -noout -pubkey | sha256sum)"
assert_eq "issuance log: three lines" 3 "$(wc -l <"$T/hra-state/issuance.log")"
[[ ! -e $T/pki/health-ca.key ]] || fail "the CA key file is back on disk"
# The key never left the token: the token holds it as a sensitive, non-extractable object.
softhsm2-util --show-slots 2>/dev/null | grep -q 'nap-hra' || fail "token gone"
stop_naphrad
log "ok: certificates signed by a key that lives only in a SoftHSM2 token"
