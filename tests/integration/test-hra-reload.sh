#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# naphrad reload under load: curl loops (a new connection per request) and a Python client on one
# keep-alive HTTPS connection post HCEP requests without a pause while the health CA is rotated
# twice by SIGHUP (EC -> RSA-2048 -> a new EC CA). No request may fail; every certificate must
# chain to one of the three CAs, and after each rotation the new certificates chain to the new
# CA only.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hra-lib.sh"
need openssl curl "$NAPHRAD" "$PYTHON"

make_site S01 5
NAPVD_EXTRA=$'[enforcement hra]\ncompliant = full\nnoncompliant = restricted\nnoncapable = reject\n'
write_napvd_conf "$T/napvd.conf"
start_napvd "$T/napvd.conf"
hra_pki
mkca() { # NAME KEYOPTS...: $T/NAME.pem, $T/NAME.key
	local n=$1
	shift
	openssl req -x509 "$@" -nodes -days 30 -subj "/O=NAPT test/CN=NAPT health CA $n" \
		-keyout "$T/$n.key" -out "$T/$n.pem" -addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		-addext "certificatePolicies=$HEALTH_POLICY" 2>/dev/null
	chmod 600 "$T/$n.key"
}
mkca ca2 -newkey rsa:2048
mkca ca3 -newkey ec -pkeyopt ec_paramgen_curve:P-256
cp "$T/pki/health-ca.pem" "$T/ca1.pem"
cat "$T/ca1.pem" "$T/ca2.pem" "$T/ca3.pem" >"$T/all-cas.pem"

HRA_CONN_TIMEOUT=10s
write_naphrad_conf "$T/naphrad.conf"
start_naphrad
URL=http://127.0.0.1:$HRA_PORT/hcep
URLS=https://127.0.0.1:$HRAS_PORT/hcep
GOOD=$(sample --site S01 --revision 5 --hsr "$T/hsr.json" --compliant yes --machine pc1)
hra_req good anon "$GOOD"

mkdir -p "$T/out"
# Three curl loops (HTTP, HTTPS, HTTPS) until $T/stop appears.
curl_loop() { # ID URL [curl args]
	local id=$1 url=$2 i=0
	shift 2
	while [[ ! -e $T/stop ]]; do
		i=$((i + 1))
		curl -s -o "$T/out/$id-$i.body" -w '%{http_code}\n' --max-time 10 \
			-H 'Content-Type: application/healthcertificate-request' -H 'HCEP-Version: 1.0' \
			-H "HCEP-Correlation-Id: $(coid)" --data-binary "@$T/good.der" "$@" "$url" \
			>>"$T/out/$id.codes" || echo "curl-$?" >>"$T/out/$id.codes"
	done
}
curl_loop c1 "$URL" &
L1=$!
curl_loop c2 "$URLS" --cacert "$T/pki/tls-ca.pem" &
L2=$!
curl_loop c3 "$URLS" --cacert "$T/pki/tls-ca.pem" &
L3=$!
# One keep-alive connection across both reloads.
"$PYTHON" - "$HRAS_PORT" "$T/pki/tls-ca.pem" "$T/good.der" "$T/stop" "$T/out/ka" <<'PY' &
import base64, http.client, os, ssl, sys
port, ca, der, stop, out = sys.argv[1:]
body = open(der, "rb").read()
ctx = ssl.create_default_context(cafile=ca)
conn = http.client.HTTPSConnection("127.0.0.1", int(port), context=ctx, timeout=10)
n = ok = 0
codes = open(out + ".codes", "w")
ports = open(out + ".ports", "w")
while not os.path.exists(stop):
    n += 1
    conn.request("POST", "/hcep", body, {
        "Content-Type": "application/healthcertificate-request", "HCEP-Version": "1.0",
        "HCEP-Correlation-Id": base64.b64encode(os.urandom(24)).decode()})
    r = conn.getresponse()
    data = r.read()
    codes.write("%d\n" % r.status)
    ports.write("%d\n" % conn.sock.getsockname()[1])
    if r.status == 200:
        open("%s-%d.body" % (out, n), "wb").write(data)
codes.close()
ports.close()
PY
KA=$!

rotate() { # CA-NAME: write the configuration with it, SIGHUP, wait for the signer's answer
	local n before
	before=$(grep -c 'signer CA chain' "$T/naphrad.log" || true)
	HRA_CA_CERT=$T/$1.pem HRA_CA_KEY=$T/$1.key HRA_CONN_TIMEOUT=10s write_naphrad_conf "$T/naphrad.conf"
	kill -HUP "$NAPHRAD_PID"
	for n in $(seq 1 100); do
		(($(grep -c 'signer CA chain' "$T/naphrad.log" || true) > before)) && return 0
		sleep 0.1
	done
	fail "reload to $1: the signer did not answer"
}
sleep 1.5
rotate ca2
sleep 1.5
rotate ca3
sleep 1.5
touch "$T/stop"
wait "$L1" "$L2" "$L3"
wait "$KA"
cat "$T/out/"*.codes >"$T/codes"
TOTAL=$(wc -l <"$T/codes")
log "requests during the rotations: $TOTAL ($(sort "$T/codes" | uniq -c | tr '\n' ' '))"
((TOTAL >= 30)) || fail "only $TOTAL requests made"
assert_eq "every request during the rotations: 200" "$TOTAL" "$(grep -c '^200$' "$T/codes")"
for id in c1 c2 c3 ka; do
	assert_ge "requests on $id" 5 "$(grep -c '^200$' "$T/out/$id.codes")"
done
# http.client reconnects silently: the local port shows it did not.
assert_eq "keep-alive: one TCP connection across both reloads" 1 \
	"$(sort -u "$T/out/ka.ports" | wc -l)"
# Every certificate chains to one of the three CAs; the last of each loop to ca3 only.
BAD=0
for b in "$T/out/"*.body; do
	openssl pkcs7 -inform DER -in "$b" -print_certs 2>/dev/null |
		awk '/BEGIN CERT/ { n++ } n == 1 { print }' >"$b.leaf"
	openssl verify -CAfile "$T/all-cas.pem" "$b.leaf" >/dev/null 2>&1 || BAD=$((BAD + 1))
done
assert_eq "certificates that chain to none of the CAs" 0 "$BAD"
for id in c1 c2 c3 ka; do
	last=$(ls -v "$T/out/$id"-*.body | tail -n1)
	assert_match "$id: the last certificate chains to the new CA" ': OK$' \
		"$(openssl verify -CAfile "$T/ca3.pem" "$last.leaf" 2>&1)"
	openssl verify -CAfile "$T/ca1.pem" "$last.leaf" >/dev/null 2>&1 &&
		fail "$id: the last certificate still chains to the first CA"
done
# Certificates from each CA were seen (the rotations happened under load).
for ca in ca1 ca2 ca3; do
	n=0
	for b in "$T/out/"*.leaf; do
		openssl verify -CAfile "$T/$ca.pem" "$b" >/dev/null 2>&1 && n=$((n + 1))
	done
	assert_ge "certificates from $ca" 1 "$n"
done
assert_eq "metrics: reloads" 2 "$(hra_metric naphrad_reloads_total)"
assert_eq "metrics: reload errors" 0 "$(hra_metric naphrad_reload_errors_total)"
stop_naphrad
