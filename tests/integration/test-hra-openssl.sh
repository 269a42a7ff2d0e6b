#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# naphrad end to end with real peers on 127.0.0.1: napvd (HSR file) decides, requests are built
# by `openssl req` with the SoH extension and posted by curl over HTTP and HTTPS (TLS client
# certificates for authenticated clients); `openssl verify` checks the issued chain against the
# health CA and `openssl x509 -text` the EKU and policy OIDs. Then the refusals (status codes of
# spec/PROTOCOLS.md §4 and nap's choices), napvd failover and loss, malformed HTTP, oversized
# bodies, garbage DER, duplicate attributes, a slowloris crowd, metrics, the issuance log and a
# SIGHUP that swaps the health CA while requests are in flight.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hra-lib.sh"
need openssl curl "$NAPHRAD" "$PYTHON"

make_site S01 5
NAPVD_EXTRA=$'[enforcement hra]\ncompliant = full\nnoncompliant = restricted\nnoncapable = reject\n'
write_napvd_conf "$T/napvd.conf"
start_napvd "$T/napvd.conf"
hra_pki

# Failover: the first napvd "server" is a port nobody answers on.
DEAD=$(free_port)
HRA_SERVERS="127.0.0.1:$DEAD 127.0.0.1:$NAPVD_PORT"
HRA_RADIUS_TIMEOUT=300ms
HRA_CONN_TIMEOUT=2s
HRA_PER_IP=16
write_naphrad_conf "$T/naphrad.conf"
"$NAPHRAD" -n -f "$T/naphrad.conf" >"$T/check.out" 2>&1 || fail "naphrad -n: $(cat "$T/check.out")"
assert_match "naphrad -n" 'configuration OK' "$(tail -n1 "$T/check.out")"
start_naphrad
URL=http://127.0.0.1:$HRA_PORT/domainhra/hcsrvext.dll
URLS=https://127.0.0.1:$HRAS_PORT/domainhra/hcsrvext.dll
TLS=(--cacert "$T/pki/tls-ca.pem")

GOOD=$(sample --site S01 --revision 5 --hsr "$T/hsr.json" --compliant yes --machine good.example)
BAD=$(sample --site S01 --revision 5 --hsr "$T/hsr.json" --compliant no \
	--missing deb-openssl-2026-01 --machine bad.example)

# --- 1. compliant, anonymous, over HTTP (failover past the dead server) ----------------------
COID=$(coid)
hra_req good anon "$GOOD"
hra_post good "$URL"
assert_eq "good: status" 200 "$HTTP_STATUS"
assert_eq "good: Content-Type" application/healthcertificate-response "$(hdr good Content-Type)"
assert_eq "good: HCEP-Version" 1.0 "$(hdr good HCEP-Version)"
assert_eq "good: correlation id echoed" "$COID" "$(hdr good HCEP-Correlation-Id)"
assert_match "good: Cache-Control" 'no-cache' "$(hdr good Cache-Control)"
assert_eq "good: HCEP-AFW-Zone (config)" 3 "$(hdr good HCEP-AFW-Zone)"
SOHR=$(hdr good HCEP-SoHR)
[[ -n $SOHR ]] || fail "good: no HCEP-SoHR"
printf '%s' "$SOHR" | base64 -d | od -An -v -tx1 | tr -d ' \n' >"$T/good.sohr.hex"
"$NAPDUMP" sohr --json "$T/good.sohr.hex" >"$T/good.sohr.json" || fail "good: SoHR does not decode"
assert_eq "good: SoHR nap result" compliant "$(sohr_nap "$T/good.sohr.json" result)"
unset COID
leaf good
assert_eq "good: chain holds the health CA" "$(openssl x509 -in "$T/pki/health-ca.pem" -noout -fingerprint)" \
	"$(openssl x509 -in "$T/good.chain.pem" -noout -fingerprint)"
assert_match "good: openssl verify" ': OK$' \
	"$(openssl verify -CAfile "$T/pki/health-ca.pem" "$T/good.leaf.pem" 2>&1)"
assert_match "good: openssl verify with the policy required" ': OK$' \
	"$(openssl verify -CAfile "$T/pki/health-ca.pem" -policy "$HEALTH_POLICY" -explicit_policy \
		"$T/good.leaf.pem" 2>&1)"
openssl x509 -in "$T/good.leaf.pem" -noout -text >"$T/good.txt"
grep -A1 'Extended Key Usage' "$T/good.txt" | grep -q "$HEALTH_EKU" || fail "good: no health EKU"
grep -A1 'Extended Key Usage' "$T/good.txt" | grep -q 'Client Authentication' &&
	fail "good: anonymous certificate has clientAuth"
grep -q "Policy: $HEALTH_POLICY" "$T/good.txt" || fail "good: no compliant policy"
grep -q 'Subject: CN = Unauthenticated System Health Authentication' "$T/good.txt" ||
	fail "good: subject: $(grep Subject: "$T/good.txt")"
grep -q 'Subject Key Identifier' "$T/good.txt" || fail "good: no SKI"
grep -q 'Authority Key Identifier' "$T/good.txt" || fail "good: no AKI"
grep -q 'Digital Signature' "$T/good.txt" || fail "good: keyUsage"
grep -q 'Subject Alternative Name' "$T/good.txt" && fail "good: anonymous certificate has a SAN"
assert_eq "good: certificate key = request key" \
	"$(openssl pkey -in "$T/good.key" -pubout | sha256sum)" \
	"$(openssl x509 -in "$T/good.leaf.pem" -noout -pubkey | sha256sum)"
NB=$(date -d "$(openssl x509 -in "$T/good.leaf.pem" -noout -startdate | cut -d= -f2)" +%s)
NA=$(date -d "$(openssl x509 -in "$T/good.leaf.pem" -noout -enddate | cut -d= -f2)" +%s)
assert_eq "good: lifetime 4 h + 5 min backdating" $((4 * 3600 + 300)) $((NA - NB))
SERIAL=$(openssl x509 -in "$T/good.leaf.pem" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')
assert_eq "good: 128-bit serial" 32 "${#SERIAL}"
grep -q "serial=$SERIAL " "$T/hra-state/issuance.log" || fail "good: serial not in the issuance log"
"$NAPDUMP" hcep --raw --json "$T/good.body" | jget - 'j["type"]' >"$T/good.type" ||
	fail "napdump hcep cannot decode the response"
assert_eq "napdump hcep: response" hcep-response "$(cat "$T/good.type")"

# --- 2. authenticated over HTTPS with the enrollment certificate ------------------------------
hra_req auth auth "$GOOD"
hra_post auth "$URLS" "${TLS[@]}" --cert "$T/pki/client.pem" --key "$T/pki/client.key"
assert_eq "auth: status" 200 "$HTTP_STATUS"
leaf auth
openssl x509 -in "$T/auth.leaf.pem" -noout -text >"$T/auth.txt"
grep -q 'Subject: CN = pc1.napt.test' "$T/auth.txt" || fail "auth: subject $(grep Subject: "$T/auth.txt")"
grep -q 'DNS:pc1.napt.test' "$T/auth.txt" || fail "auth: no SAN DNS:pc1.napt.test"
grep -A1 'Extended Key Usage' "$T/auth.txt" | grep -q 'Client Authentication' ||
	fail "auth: no clientAuth"
assert_match "auth: openssl verify (clientAuth purpose)" ': OK$' \
	"$(openssl verify -CAfile "$T/pki/health-ca.pem" -purpose sslclient "$T/auth.leaf.pem" 2>&1)"
# the same request without the client certificate: a SAN from an anonymous client
HRA_BODY=$T/auth.der hra_post auth-anon "$URLS" "${TLS[@]}"
assert_eq "auth request without client certificate: status" 500 "$HTTP_STATUS"
assert_match "auth-anon: reason" 'subjectAltName' "$(cat "$T/auth-anon.body")"
# an anonymous request over HTTPS without a client certificate is fine (client_auth optional)
HRA_BODY=$T/good.der hra_post good-tls "$URLS" "${TLS[@]}"
assert_eq "anonymous over HTTPS: status" 200 "$HTTP_STATUS"
# a client certificate from another CA: 403
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=rogue \
	-keyout "$T/rogue.key" -out "$T/rogue.pem" 2>/dev/null
HRA_BODY=$T/auth.der hra_post rogue "$URLS" "${TLS[@]}" --cert "$T/rogue.pem" \
	--key "$T/rogue.key"
# GnuTLS may already refuse the handshake; either way no certificate
[[ $HTTP_STATUS == 403 || $HTTP_STATUS == 000 ]] || fail "rogue client certificate: $HTTP_STATUS"
log "ok: rogue client certificate refused ($HTTP_STATUS)"

# --- 3. RSA-2048 request key ------------------------------------------------------------------
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/rsa.key" 2>/dev/null
hra_req rsa anon "$GOOD" "$T/rsa.key"
hra_post rsa "$URL"
assert_eq "rsa: status" 200 "$HTTP_STATUS"
leaf rsa
assert_match "rsa: key" 'RSA Public-Key: \(2048 bit\)|Public-Key: \(2048 bit\)' \
	"$(openssl x509 -in "$T/rsa.leaf.pem" -noout -text)"

# --- 4. non-compliant: no certificate, the SoHR ---------------------------------------------
hra_req bad anon "$BAD"
hra_post bad "$URL"
assert_eq "noncompliant: status" 200 "$HTTP_STATUS"
assert_eq "noncompliant: empty body" 0 "$(stat -c %s "$T/bad.body")"
printf '%s' "$(hdr bad HCEP-SoHR)" | base64 -d | od -An -v -tx1 | tr -d ' \n' >"$T/bad.sohr.hex"
"$NAPDUMP" sohr --json "$T/bad.sohr.hex" >"$T/bad.sohr.json" || fail "noncompliant: SoHR"
assert_eq "noncompliant: SoHR nap result" noncompliant "$(sohr_nap "$T/bad.sohr.json" result)"

# --- 5. refusals with their status codes ------------------------------------------------------
h=$(od -An -v -tx1 "$T/good.der" | tr -d ' \n')
last=${h: -2}
printf '%s%02x' "${h%??}" $((0x$last ^ 1)) | xxd -r -p >"$T/badsig.der"
hra_post badsig "$URL"
assert_eq "bad signature: status" 500 "$HTTP_STATUS"
assert_match "bad signature: reason" 'signature' "$(cat "$T/badsig.body")"
hra_req nosoh nosoh ""
hra_post nosoh "$URL"
assert_eq "no SoH: status" 500 "$HTTP_STATUS"
assert_match "no SoH: reason" 'no SoH' "$(cat "$T/nosoh.body")"
hra_req dup dupattr "$GOOD"
hra_post dup "$URL"
assert_eq "duplicate attribute: status" 500 "$HTTP_STATUS"
assert_match "duplicate attribute: reason" 'duplicate attribute' "$(cat "$T/dup.body")"
head -c 600 /dev/urandom >"$T/garbage.der"
hra_post garbage "$URL"
assert_eq "garbage DER: status" 500 "$HTTP_STATUS"
S=$(curl -s -o "$T/ct.body" -w '%{http_code}' -H 'Content-Type: application/octet-stream' \
	-H 'HCEP-Version: 1.0' -H "HCEP-Correlation-Id: $(coid)" --data-binary "@$T/good.der" "$URL")
assert_eq "wrong Content-Type: status" 500 "$S"
S=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/healthcertificate-request' \
	-H 'HCEP-Version: 2.0' -H "HCEP-Correlation-Id: $(coid)" --data-binary "@$T/good.der" "$URL")
assert_eq "HCEP-Version 2.0: status" 500 "$S"
S=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/healthcertificate-request' \
	-H 'HCEP-Version: 1.0' -H 'HCEP-Correlation-Id: c2hvcnQ=' --data-binary "@$T/good.der" "$URL")
assert_eq "bad correlation id: status" 500 "$S"
S=$(curl -s -o /dev/null -D "$T/get.hdr" -w '%{http_code}' "$URL")
assert_eq "GET: status" 405 "$S"
assert_eq "GET: Allow" POST "$(hdr get Allow)"
head -c 20000 /dev/zero >"$T/big.der"
hra_post big "$URL"
assert_eq "oversized body: status" 413 "$HTTP_STATUS"
S=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/healthcertificate-request' \
	-H 'HCEP-Version: 1.0' -H "HCEP-Correlation-Id: $(coid)" -H 'Transfer-Encoding: chunked' \
	--data-binary "@$T/good.der" "$URL")
assert_eq "chunked, no Content-Length: status" 411 "$S"
S=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/healthcertificate-request' \
	-H 'HCEP-Version: 1.0' -H "HCEP-Correlation-Id: $(coid)" -H 'Transfer-Encoding: chunked' \
	--data-binary "@$T/big.der" "$URL")
assert_eq "chunked oversized: status" 413 "$S"

# --- 6. malformed HTTP and a slowloris crowd: errors, bounded memory, no crash ----------------
RSS0=$(awk '/VmRSS/ {print $2}' "/proc/$NAPHRAD_PID/status")
"$PYTHON" - "$HRA_PORT" <<'PY' >"$T/malformed.out"
import socket, sys
port = int(sys.argv[1])
cases = [b"GARBAGE\r\n\r\n", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
         b"POST / HTTP/1.1\r\n" + b"X-Long: " + b"a" * 100000 + b"\r\n\r\n",
         b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,
         b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n"]
for c in cases:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(c)
        s.shutdown(socket.SHUT_WR)
        r = s.recv(200)
    except OSError as e:
        r = repr(e).encode()
    print(r.split(b"\r\n")[0].decode(errors="replace") or "(closed)")
    s.close()
PY
log "malformed HTTP answers: $(tr '\n' '|' <"$T/malformed.out")"
assert_alive "$NAPHRAD_PID" naphrad
# 200 idle connections from 127.0.0.2 (per-IP limit 16, idle timeout 2 s)
"$PYTHON" - "$HRA_PORT" >"$T/slowloris.out" <<'PY' &
import socket, sys, time
port = int(sys.argv[1])
socks, refused = [], 0
for i in range(200):
    try:
        s = socket.socket()
        s.bind(("127.0.0.2", 0))
        s.settimeout(5)
        s.connect(("127.0.0.1", port))
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")  # never finishes the headers
        socks.append(s)
    except OSError:
        refused += 1
time.sleep(0.5)
alive = 0
for s in socks:
    s.setblocking(False)
    try:
        alive += 1 if s.recv(1) != b"" else 0
    except BlockingIOError:
        alive += 1
    except OSError:
        pass
print("held", alive)
time.sleep(4)
still = 0
for s in socks:
    s.setblocking(False)
    try:
        if s.recv(1) != b"":
            still += 1
    except BlockingIOError:
        still += 1
    except OSError:
        pass
print("after-timeout", still)
PY
SLOW=$!
sleep 1
HRA_BODY=$T/good.der hra_post during-slowloris "$URL"
assert_eq "request during slowloris: status" 200 "$HTTP_STATUS"
wait "$SLOW" || fail "slowloris script failed"
HELD=$(awk '/^held/ {print $2}' "$T/slowloris.out")
AFTER=$(awk '/^after-timeout/ {print $2}' "$T/slowloris.out")
((HELD <= 16)) || fail "slowloris: $HELD connections held from one address (limit 16)"
assert_eq "slowloris: idle connections closed after the timeout" 0 "$AFTER"
RSS1=$(awk '/VmRSS/ {print $2}' "/proc/$NAPHRAD_PID/status")
log "naphrad RSS ${RSS0} kB -> ${RSS1} kB"
((RSS1 - RSS0 < 65536)) || fail "naphrad grew by $((RSS1 - RSS0)) kB"
assert_alive "$NAPHRAD_PID" naphrad

# --- 7. metrics -------------------------------------------------------------------------------
assert_ge "metrics: issued" 5 "$(hra_metric naphrad_requests_total 'result="issued"')"
assert_ge "metrics: noncompliant" 1 "$(hra_metric naphrad_requests_total 'result="noncompliant"')"
assert_ge "metrics: bad requests" 8 "$(hra_metric naphrad_requests_total 'result="bad_request"')"
assert_ge "metrics: 500s" 6 "$(hra_metric naphrad_http_responses_total 'code="500"')"
assert_ge "metrics: 413s" 2 "$(hra_metric naphrad_http_responses_total 'code="413"')"
ISSUED=$(hra_metric naphrad_certificates_issued_total)
assert_eq "issuance log lines = certificates issued" "$ISSUED" \
	"$(wc -l <"$T/hra-state/issuance.log")"
assert_ge "metrics: napvd latency observed" 1 \
	"$(hra_metric naphrad_napvd_latency_seconds_count)"
assert_ge "metrics: signer latency observed" 1 \
	"$(hra_metric naphrad_signer_latency_seconds_count)"
# EC requests go through naphrad's own DER reader, the RSA ones through OpenSSL's.
assert_ge "metrics: PKCS#10 requests read by the lean reader" 1 \
	"$(hra_metric naphrad_requests_lean_total)"

# --- 8. SIGHUP: a new health CA (RSA-2048 this time) while requests are in flight -------------
mkdir -p "$T/pki2"
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/O=NAPT test/CN=NAPT health CA 2" \
	-keyout "$T/pki2/ca.key" -out "$T/pki2/ca.pem" -addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" \
	-addext "certificatePolicies=$HEALTH_POLICY" 2>/dev/null
chmod 600 "$T/pki2/ca.key"
(
	for i in $(seq 1 30); do
		curl -s -o /dev/null -w '%{http_code}\n' --max-time 10 \
			-H 'Content-Type: application/healthcertificate-request' -H 'HCEP-Version: 1.0' \
			-H "HCEP-Correlation-Id: $(coid)" --data-binary "@$T/good.der" "$URLS" \
			"${TLS[@]}"
	done
) >"$T/during-reload.out" &
LOAD=$!
sleep 0.3
HRA_CA_CERT=$T/pki2/ca.pem HRA_CA_KEY=$T/pki2/ca.key write_naphrad_conf "$T/naphrad.conf"
kill -HUP "$NAPHRAD_PID"
wait "$LOAD"
assert_eq "requests during the reload: all 200" 30 "$(grep -c '^200$' "$T/during-reload.out")"
for i in $(seq 1 50); do
	grep -q 'signer CA chain' "$T/naphrad.log" && break
	sleep 0.1
done
HRA_BODY=$T/good.der hra_post after-reload "$URLS" "${TLS[@]}"
assert_eq "after reload: status" 200 "$HTTP_STATUS"
leaf after-reload
assert_match "after reload: chains to the new CA" ': OK$' \
	"$(openssl verify -CAfile "$T/pki2/ca.pem" "$T/after-reload.leaf.pem" 2>&1)"
assert_match "after reload: signed with RSA" 'sha256WithRSAEncryption' \
	"$(openssl x509 -in "$T/after-reload.leaf.pem" -noout -text)"
assert_ge "metrics: reloads" 1 "$(hra_metric naphrad_reloads_total)"

# --- 9. napvd gone: 503 within the request timeout -------------------------------------------
stop_napvd
START=$(date +%s%N)
HRA_BODY=$T/good.der hra_post nonapvd "$URL"
MS=$((($(date +%s%N) - START) / 1000000))
assert_eq "napvd down: status" 503 "$HTTP_STATUS"
((MS < 5000)) || fail "napvd down: answered after $MS ms"
assert_ge "metrics: napvd timeouts" 1 "$(hra_metric naphrad_napvd_timeouts_total)"
stop_naphrad
