# SPDX-License-Identifier: GPL-3.0-or-later
# Helpers for the naphrad tests (sourced after lib.sh): a PKI made with openssl (health CA with
# the compliant certificate policy, a TLS CA for the HTTPS endpoint and the agents' enrollment
# certificates), naphrad's configuration, start/stop, HCEP requests built with `openssl req` plus
# the SoH extension and posted with curl.

: "${NAPHRAD:=$_nap_build/daemons/naphrad/naphrad}"
export NAPHRAD
HEALTH_POLICY=1.3.6.1.4.1.311.47.1.10
HEALTH_EKU=1.3.6.1.4.1.311.47.1.1

# hra_pki: $T/pki/{health-ca,tls-ca,server,client}.{pem,key}; health CA EC P-256 by default,
# HRA_CA_ALG=rsa for RSA-2048. The client certificate is pc1.napt.test (CN and SAN).
hra_pki() {
	local P=$T/pki alg=${HRA_CA_ALG:-ec}
	mkdir -p "$P"
	local keyopt=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
	[[ $alg == rsa ]] && keyopt=(-newkey rsa:2048)
	openssl req -x509 "${keyopt[@]}" -nodes -days 30 -subj "/O=NAPT test/CN=NAPT health CA" \
		-keyout "$P/health-ca.key" -out "$P/health-ca.pem" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		-addext "certificatePolicies=$HEALTH_POLICY" 2>/dev/null
	chmod 600 "$P/health-ca.key"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
		-subj "/O=NAPT test/CN=NAPT TLS CA" -keyout "$P/tls-ca.key" -out "$P/tls-ca.pem" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
	hra_leaf server "127.0.0.1" "subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth"
	hra_leaf client "pc1.napt.test" "subjectAltName=DNS:pc1.napt.test
extendedKeyUsage=clientAuth"
}

# hra_leaf NAME CN EXTRA-EXTENSION-LINES: a leaf signed by the TLS CA.
hra_leaf() {
	local P=$T/pki
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" \
		-keyout "$P/$1.key" -out "$P/$1.csr" 2>/dev/null
	printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n%s\n' "$3" \
		>"$P/$1.ext"
	openssl x509 -req -in "$P/$1.csr" -CA "$P/tls-ca.pem" -CAkey "$P/tls-ca.key" \
		-CAcreateserial -days 10 -extfile "$P/$1.ext" -out "$P/$1.pem" 2>/dev/null
}

# write_naphrad_conf FILE: HTTP + HTTPS on free ports, napvd servers from HRA_SERVERS (default
# napvd), [signer] in $T. Sets HRA_PORT, HRAS_PORT, HRA_METRICS_PORT. Extra [naphrad] keys come
# from HRA_EXTRA, extra [signer] keys from HRA_SIGNER_EXTRA.
write_naphrad_conf() {
	local conf=$1 s
	: "${HRA_PORT:=$(free_port)}"
	: "${HRAS_PORT:=$(free_port)}"
	: "${HRA_METRICS_PORT:=$(free_port)}"
	printf '%s\n' "$SECRET" >"$T/hra.secret"
	chmod 600 "$T/hra.secret"
	{
		cat <<EOF
[naphrad]
state_dir = $T/hra-state
metrics = 127.0.0.1:$HRA_METRICS_PORT
connection_timeout = ${HRA_CONN_TIMEOUT:-5s}
request_timeout = ${HRA_REQ_TIMEOUT:-5s}
max_connections_per_ip = ${HRA_PER_IP:-64}
afw_zone = 3
${HRA_EXTRA:-}

[http]
listen = 127.0.0.1:$HRA_PORT

[https]
listen = 127.0.0.1:$HRAS_PORT
cert = $T/pki/server.pem
key = $T/pki/server.key
client_ca = $T/pki/tls-ca.pem
client_auth = optional

[napvd]
secret_file = $T/hra.secret
timeout = ${HRA_RADIUS_TIMEOUT:-500ms}
retries = 1
EOF
		for s in ${HRA_SERVERS:-127.0.0.1:$NAPVD_PORT}; do
			echo "server = $s"
		done
		cat <<EOF

[signer]
ca_cert = ${HRA_CA_CERT:-$T/pki/health-ca.pem}
ca_key = ${HRA_CA_KEY:-$T/pki/health-ca.key}
log = $T/hra-state/issuance.log
${HRA_SIGNER_EXTRA:-}
EOF
	} >"$conf"
	mkdir -p "$T/hra-state"
}

# start_naphrad [CONF]: naphrad -d in the background, wait for the HTTP port. Sets NAPHRAD_PID.
start_naphrad() {
	local conf=${1:-$T/naphrad.conf} i
	"$NAPHRAD" -d -v -f "$conf" >>"$T/naphrad.log" 2>&1 &
	NAPHRAD_PID=$!
	_nap_pids+=("$NAPHRAD_PID")
	for ((i = 0; i < 100; i++)); do
		_nap_dead "$NAPHRAD_PID" && fail "naphrad exited during startup"
		if (exec 9<>"/dev/tcp/127.0.0.1/$HRA_PORT") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	fail "naphrad did not listen on $HRA_PORT within 10 s"
}

stop_naphrad() {
	local pid=$NAPHRAD_PID
	stop_pid "$pid"
	NAPHRAD_PID=
	((STOP_STATUS == 0)) || fail "naphrad (pid $pid) exited with status $STOP_STATUS"
	log "ok: naphrad stopped cleanly"
}

hra_metric() {
	metrics "$HRA_METRICS_PORT" | awk -v name="$1" -v lab="${2:-}" '
		/^#/ { next }
		{ n = $1; sub(/\{.*/, "", n); if (n == name && index($0, lab) > 0) s += $NF }
		END { printf "%d\n", s }'
}

# hra_req NAME KIND SOH-HEX [KEY]: $T/NAME.der, an HCEP request made by openssl req.
# KIND: anon (EKU health, no SAN), auth (EKU health + clientAuth, SAN DNS:pc1.napt.test),
# nosoh, dupattr (two challengePassword attributes). KEY defaults to a fresh EC P-256 key.
hra_req() {
	local name=$1 kind=$2 soh=$3 key=${4:-} len wrapped
	len=$((${#soh} / 2))
	if ((len < 128)); then
		wrapped=$(printf '04%02x' "$len")$soh
	elif ((len < 256)); then
		wrapped=$(printf '0481%02x' "$len")$soh
	else
		wrapped=$(printf '0482%04x' "$len")$soh
	fi
	if [[ -z $key ]]; then
		key=$T/$name.key
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$key" 2>/dev/null
	fi
	cat >"$T/$name.cnf" <<CNF
[req]
distinguished_name = dn
prompt = no
attributes = attrs
[dn]
CN = Anonymous System Health Authentication
[attrs]
[dupattrs]
challengePassword = secret1
[anon]
extendedKeyUsage = $HEALTH_EKU
$HEALTH_EKU = DER:$wrapped
[auth]
extendedKeyUsage = $HEALTH_EKU, clientAuth
subjectAltName = DNS:pc1.napt.test
$HEALTH_EKU = DER:$wrapped
[nosoh]
extendedKeyUsage = $HEALTH_EKU
CNF
	local ext=$kind
	if [[ $kind == dupattr ]]; then
		sed -i 's/^attributes = attrs$/attributes = dupattrs/' "$T/$name.cnf"
		ext=anon
	fi
	openssl req -new -key "$key" -config "$T/$name.cnf" -reqexts "$ext" -outform DER \
		-out "$T/$name.der" 2>"$T/$name.openssl.err" ||
		fail "openssl req $name: $(cat "$T/$name.openssl.err")"
	# OpenSSL refuses to add an attribute twice: copy the first one, sign again with openssl.
	[[ $kind != dupattr ]] || hra_dup_attr "$T/$name.der" "$key"
}

# hra_dup_attr DER KEY: rewrite a PKCS#10 request with its first attribute twice, re-signed
# (ECDSA/SHA-256, `openssl dgst -sign`) so that only the duplicate is wrong.
hra_dup_attr() {
	"$PYTHON" - "$1" "$2" <<'PY'
import subprocess, sys
path, key = sys.argv[1], sys.argv[2]
b = open(path, "rb").read()
def tlv(b, i):
    l = b[i + 1]; j = i + 2
    if l & 0x80:
        n = l & 0x7F; l = int.from_bytes(b[j:j + n], "big"); j += n
    return b[i], j, j + l
def children(b, start, end):
    out = []
    while start < end:
        t, s, e = tlv(b, start); out.append(b[start:e]); start = e
    return out
def enc(tag, c):
    n = len(c)
    if n < 128: return bytes([tag, n]) + c
    nb = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(nb)]) + nb + c
_, s, e = tlv(b, 0)
cri, alg, _sig = children(b, s, e)
_, s, e = tlv(cri, 0)
parts = children(cri, s, e)
_, s, e = tlv(parts[3], 0)
attrs = children(parts[3], s, e)
parts[3] = enc(0xA0, attrs[0] + attrs[0] + b"".join(attrs[1:]))
cri = enc(0x30, b"".join(parts))
sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=cri,
                     capture_output=True, check=True).stdout
open(path, "wb").write(enc(0x30, cri + alg + enc(0x03, b"\x00" + sig)))
PY
}

# coid: a random 24-byte correlation id, base64.
coid() {
	head -c 24 /dev/urandom | base64 -w0
}

# hra_post NAME URL [curl args...]: POST $T/NAME.der (or $HRA_BODY); headers in $T/NAME.hdr, body
# $T/NAME.body, status in HTTP_STATUS.
hra_post() {
	local name=$1 url=$2
	shift 2
	HTTP_STATUS=$(curl -s -o "$T/$name.body" -D "$T/$name.hdr" -w '%{http_code}' \
		--max-time 15 -H 'Content-Type: application/healthcertificate-request' \
		-H 'HCEP-Version: 1.0' -H "HCEP-Correlation-Id: ${COID:-$(coid)}" \
		-H 'Pragma: no-cache' --data-binary "@${HRA_BODY:-$T/$name.der}" "$@" "$url") ||
		HTTP_STATUS=000
}

# hdr NAME HEADER: a response header's value (last one), CR stripped.
hdr() {
	awk -v h="$2" 'BEGIN { IGNORECASE = 1 }
		{ sub(/\r$/, "") }
		tolower($0) ~ "^" tolower(h) ":" { v = $0; sub(/^[^:]*: */, "", v) }
		END { print v }' "$T/$1.hdr"
}

# leaf NAME: split the PKCS#7 body into $T/NAME.leaf.pem and $T/NAME.chain.pem.
leaf() {
	openssl pkcs7 -inform DER -in "$T/$1.body" -print_certs -out "$T/$1.all.pem" 2>/dev/null ||
		fail "$1: the body is not a PKCS#7"
	awk -v l="$T/$1.leaf.pem" -v c="$T/$1.chain.pem" '
		/BEGIN CERT/ { n++ } n == 1 { print > l } n > 1 { print > c }' "$T/$1.all.pem"
}
