#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# IPsec enforcement, the agent's side, end to end: napvd and naphrad on the host's loopback,
# napagentd as a daemon with [hra] (its enrollment certificate for TLS client authentication,
# a dead HRA url first, naphrad second), and two charons in two network namespaces (as in
# test-hra-strongswan.sh: the responder A trusts only the health CA and requires the compliant
# certificate policy 1.3.6.1.4.1.311.47.1.10; B's swanctl directory is the agent's swanctl_dir,
# its connection names its identity only, no certificate file).
#   1. the agent's packages are out of date: naphrad answers without a certificate, nothing is
#      installed, B cannot bring the SA up;
#   2. remediation (the dpkg status file changes): the agent asks again at once, installs the
#      certificate and key, reloads charon; B connects and pings through the CHILD_SA;
#   3. naphrad issues 6 s certificates: the agent renews before expiry (renew_before = 50%),
#      new serials, no state change;
#   4. naphrad stops: renewal fails, the certificate expires, the agent removes it; B is
#      refused, and charon refuses the expired certificate itself when loaded by hand;
#   5. naphrad back: the agent's retry gets a certificate and B connects again;
#   6. bad answers from a fake HRA (garbage PKCS#7, oversized body, HTTP 500, wrong content type,
#      malformed HCEP-SoHR, a chain without the request's key): clear errors, no crash.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hra-lib.sh"
need openssl swanctl ip busybox "$PYTHON"
for b in "$NAPHRAD" "$NAPVD" "$NAPAGENTD"; do
	[[ -x $b ]] || skip "$b not built"
done
[[ -x /usr/lib/ipsec/charon ]] || skip "strongSwan charon not installed"
((EUID == 0)) || skip "network namespaces need root"
[[ -c /dev/net/tun ]] || skip "no /dev/net/tun for kernel-libipsec"

NSA=napt-$$-aa
NSB=napt-$$-ab
ip netns add "$NSA" 2>"$T/netns.err" || skip "ip netns add failed: $(cat "$T/netns.err")"
netns_cleanup() {
	ip netns del "$NSA" 2>/dev/null || true
	ip netns del "$NSB" 2>/dev/null || true
}
_nap_cleanup_hooks+=(netns_cleanup)
ip netns add "$NSB"
ip link add ahr-a0 netns "$NSA" type veth peer name ahr-b0 netns "$NSB"
ip -n "$NSA" link set lo up
ip -n "$NSB" link set lo up
ip -n "$NSA" addr add 10.99.5.1/24 dev ahr-a0
ip -n "$NSB" addr add 10.99.5.2/24 dev ahr-b0
ip -n "$NSA" link set ahr-a0 up
ip -n "$NSB" link set ahr-b0 up
ip -n "$NSA" addr add 10.99.6.1/32 dev lo
ip -n "$NSB" addr add 10.99.7.1/32 dev lo

# --- napvd + naphrad ----------------------------------------------------------------------------
make_site S01 5
NAPVD_EXTRA=$'[enforcement hra]\ncompliant = full\nnoncompliant = restricted\nnoncapable = reject\n'
write_napvd_conf "$T/napvd.conf"
# napvd starts while the PKI is made (start_napvd without its wait)
"$NAPVD" -d -f "$T/napvd.conf" >>"$T/napvd.log" 2>&1 &
NAPVD_PID=$!
_nap_pids+=("$NAPVD_PID")
hra_pki
P=$T/pki

# A's own certificate, from the health CA with the policy
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=a.napt.test" \
	-keyout "$P/a.key" -out "$P/a.csr" 2>/dev/null
printf '%s\n' 'basicConstraints=CA:FALSE' 'keyUsage=critical,digitalSignature' \
	'subjectAltName=DNS:a.napt.test' "extendedKeyUsage=serverAuth,clientAuth,$HEALTH_EKU" \
	"certificatePolicies=$HEALTH_POLICY" >"$P/a.ext"
openssl x509 -req -in "$P/a.csr" -CA "$P/health-ca.pem" -CAkey "$P/health-ca.key" \
	-CAcreateserial -days 2 -extfile "$P/a.ext" -out "$P/a.pem" 2>/dev/null

wait_napvd
write_naphrad_conf "$T/naphrad.conf"
"$NAPHRAD" -d -v -f "$T/naphrad.conf" >>"$T/naphrad.log" 2>&1 & # start_naphrad waits below
NAPHRAD_PID=$!
_nap_pids+=("$NAPHRAD_PID")

# --- charons (see test-hra-strongswan.sh) -------------------------------------------------------
run_charon() {
	local side=$1 ns=$2 D=$T/ipsec-$1 i
	mkdir -p "$D"/{x509,x509ca,private,x509crl,x509ocsp,x509aa,x509ac,pubkey,rsa,ecdsa,bliss,pkcs8,pkcs12}
	cp "$P/health-ca.pem" "$D/x509ca/ca.pem"
	cat >"$D/strongswan.conf" <<CONF
charon {
  load = random nonce x509 constraints pem pkcs1 pkcs8 openssl kdf pubkey kernel-libipsec kernel-netlink socket-default vici
  install_virtual_ip = no
  port = 500
  port_nat_t = 4500
  filelog {
    stderr { default = 1  ike = 1  cfg = 2  time_format = %T }
  }
  plugins {
    vici { socket = unix://$D/charon.vici }
  }
}
swanctl {
  socket = unix://$D/charon.vici
  load = pem pkcs1 pkcs8 x509 openssl
}
CONF
	rm -f "$D/charon.vici"
	STRONGSWAN_CONF=$D/strongswan.conf ip netns exec "$ns" \
		sh -c "mount -t tmpfs napt-$side /run && exec /usr/lib/ipsec/charon" \
		>"$T/charon-$side.log" 2>&1 &
	_nap_pids+=("$!")
	for ((i = 0; i < 100; i++)); do
		[[ -S $D/charon.vici ]] && return 0
		sleep 0.05
	done
	fail "charon $side did not start"
}
sw() {
	STRONGSWAN_CONF=$T/ipsec-$1/strongswan.conf SWANCTL_DIR=$T/ipsec-$1 swanctl "${@:2}"
}
run_charon a "$NSA"
run_charon b "$NSB"
cat >"$T/ipsec-a/swanctl.conf" <<EOF
connections {
  hsr {
    version = 2
    local_addrs = 10.99.5.1
    remote_addrs = 10.99.5.2
    proposals = aes128gcm16-prfsha256-ecp256
    encap = yes
    local { auth = pubkey
            certs = me.pem
            id = a.napt.test }
    remote { auth = pubkey
             id = pc1.napt.test
             cacerts = ca.pem
             cert_policy = $HEALTH_POLICY }
    children {
      hsr { mode = tunnel
            local_ts = 10.99.6.1/32
            remote_ts = 10.99.7.1/32
            esp_proposals = aes128gcm16-ecp256
            start_action = none }
    }
  }
}
EOF
# B names its identity only: charon takes whatever certificate for it the agent installed
cat >"$T/ipsec-b/swanctl.conf" <<EOF
connections {
  hsr {
    version = 2
    local_addrs = 10.99.5.2
    remote_addrs = 10.99.5.1
    proposals = aes128gcm16-prfsha256-ecp256
    encap = yes
    local { auth = pubkey
            id = pc1.napt.test }
    remote { auth = pubkey
             id = a.napt.test
             cacerts = ca.pem }
    children {
      hsr { mode = tunnel
            local_ts = 10.99.7.1/32
            remote_ts = 10.99.6.1/32
            esp_proposals = aes128gcm16-ecp256
            start_action = none }
    }
  }
}
EOF
cp "$P/a.pem" "$T/ipsec-a/x509/me.pem"
cp "$P/a.key" "$T/ipsec-a/private/me.key"
for ((i = 0; i < 100; i++)); do
	_nap_dead "$NAPHRAD_PID" && fail "naphrad exited during startup"
	(exec 9<>"/dev/tcp/127.0.0.1/$HRAS_PORT") 2>/dev/null && break
	sleep 0.1
done
sw a --load-all >"$T/load-a.out" 2>&1 || fail "swanctl A: $(cat "$T/load-a.out")"
sw b --load-all >"$T/load-b.out" 2>&1 || fail "swanctl B: $(cat "$T/load-b.out")"

connect() {
	local out=$T/initiate-$1.out
	sw b --initiate --child hsr --timeout 8 >"$out" 2>&1 || true
	if grep -q 'initiate completed successfully' "$out"; then
		CONNECT=ok
	else
		CONNECT=refused
	fi
	log "$1: $CONNECT ($(grep -Eo 'received [A-Z_]+ notify error|AUTH[A-Z_]*|no private key found' "$out" | head -n1))"
}
disconnect() {
	sw b --terminate --ike hsr --timeout 5 >/dev/null 2>&1 || true
}

# --- the agent -----------------------------------------------------------------------------------
status() { # OPENSSL-VERSION
	cat >"$T/status.new" <<ST
Package: openssl
Status: install ok installed
Architecture: amd64
Version: $1

Package: openssh-server
Status: install ok installed
Architecture: amd64
Version: 1:9.2p1-2+deb12u5

Package: sudo
Status: install ok installed
Architecture: amd64
Version: 1.9.13p3-1+deb12u2

ST
	mv "$T/status.new" "$T/dpkg/status"
}
mkdir -p "$T/dpkg"
status 3.0.11-1~deb12u2
DEAD_PORT=$(free_port)
cat >"$T/napagentd.conf" <<CONF
[agent]
machine_name = pc1.napt.test
state_dir = $T/agent
pidfile = $T/napagentd.pid
settle = 1s

[site]
policy_file = $T/hsr.json
hsr_key = $T/site.pub

[packages]
dpkg_status = $T/dpkg/status

[hra]
url = http://127.0.0.1:$DEAD_PORT/
url = https://127.0.0.1:$HRAS_PORT/
ca_file = $P/tls-ca.pem
cert = $P/client.pem
key = $P/client.key
swanctl_dir = $T/ipsec-b
swanctl_uri = unix://$T/ipsec-b/charon.vici
install_ca = yes
renew_before = 50%
retry = 1s
timeout = 5s
CONF
"$NAPAGENTD" -n -f "$T/napagentd.conf" >"$T/napagentd-n.out" 2>&1 ||
	fail "napagentd -n: $(cat "$T/napagentd-n.out")"
grep -q "^swanctl_uri = unix://$T/ipsec-b/charon.vici" "$T/napagentd-n.out" ||
	fail "napagentd -n does not print [hra]: $(cat "$T/napagentd-n.out")"
"$NAPAGENTD" -d -v -f "$T/napagentd.conf" >>"$T/napagentd.log" 2>&1 &
AGENT_PID=$!
_nap_pids+=("$AGENT_PID")

wait_for() {
	local what=$1 i
	for ((i = 0; i < ${3:-150}; i++)); do
		_nap_dead "$AGENT_PID" && fail "napagentd exited (see napagentd.log)"
		eval "$2" && { log "ok: $what"; return 0; }
		sleep 0.1
	done
	fail "$what: not within $((${3:-150} / 10)) s"
}
am() { # agent metric NAME [LABEL]
	awk -v name="$1" -v lab="${2:-}" '
		/^#/ { next }
		{ n = $1; sub(/\{.*/, "", n); if (n == name && index($0, lab) > 0) s += $NF }
		END { printf "%d\n", s }' "$T/agent/metrics.prom" 2>/dev/null || echo 0
}
CERT=$T/ipsec-b/x509/nap-health.pem
KEY=$T/ipsec-b/private/nap-health.key

# --- 1. not compliant: no certificate, no SA --------------------------------------------------
wait_for "naphrad answered: not compliant" '(($(am napagentd_hra_requests_total noncompliant) >= 1))'
[[ ! -e $CERT && ! -e $KEY ]] || fail "a certificate was installed for a non-compliant agent"
assert_ge "the dead url was tried first" 1 "$(am napagentd_hra_failures_total 'category="unreachable"')"
grep -q 'hra: SoHR result' "$T/napagentd.log" || fail "the agent did not read the HCEP-SoHR"
connect noncompliant
assert_eq "non-compliant agent, no health certificate" refused "$CONNECT"
disconnect

# --- 2. remediation: at once a certificate, the SA comes up -----------------------------------
T0=$(date +%s%N)
status 3.0.15-1~deb12u1
wait_for "certificate installed after remediation" '[[ -s $CERT ]] && (($(am napagentd_hra_requests_total issued) >= 1))'
log "certificate $((($(date +%s%N) - T0) / 1000000)) ms after the package change (settle 1 s)"
grep -q 'health certificate installed (state changed)' "$T/napagentd.log" ||
	fail "the request after remediation was not made for the state change"
assert_eq "key mode" 600 "$(stat -c %a "$KEY")"
openssl x509 -in "$CERT" -noout -ext certificatePolicies,extendedKeyUsage,subjectAltName \
	>"$T/cert.txt" 2>&1
grep -q "$HEALTH_POLICY" "$T/cert.txt" || fail "no compliant policy: $(cat "$T/cert.txt")"
grep -q 'DNS:pc1.napt.test' "$T/cert.txt" || fail "no SAN pc1.napt.test: $(cat "$T/cert.txt")"
openssl verify -CAfile "$P/health-ca.pem" "$CERT" >/dev/null || fail "certificate does not verify"
assert_eq "install_ca: the chain's CA in x509ca" "$(openssl x509 -in "$P/health-ca.pem" -noout -fingerprint)" \
	"$(openssl x509 -in "$T/ipsec-b/x509ca/nap-health-ca.pem" -noout -fingerprint 2>&1)"
[[ $(openssl pkey -in "$KEY" -pubout) == "$(openssl x509 -in "$CERT" -noout -pubkey)" ]] ||
	fail "installed key and certificate do not match"
connect remediated
assert_eq "compliant agent with the installed health certificate" ok "$CONNECT"
ip netns exec "$NSB" busybox ping -c 2 -W 2 -I 10.99.7.1 10.99.6.1 >"$T/ping.out" 2>&1 ||
	fail "ping through the SA: $(cat "$T/ping.out")"
log "ok: ping through the CHILD_SA"
disconnect

# --- 3. renewal before expiry ----------------------------------------------------------------
HRA_SIGNER_EXTRA="lifetime = 6s" write_naphrad_conf "$T/naphrad.conf"
kill -HUP "$NAPHRAD_PID"
wait_for "naphrad reloaded" 'grep -q "signer CA chain of 1 certificate(s), lifetime 6 s" "$T/naphrad.log"' 50
kill -HUP "$AGENT_PID" # a reload asks again: the next certificate has the short lifetime
SERIAL0=$(openssl x509 -in "$CERT" -noout -serial)
wait_for "a 6 s certificate" \
	'[[ -s $CERT ]] && (($(date -d "$(openssl x509 -in "$CERT" -noout -enddate | cut -d= -f2)" +%s) < $(date +%s) + 10))'
SERIAL1=$(openssl x509 -in "$CERT" -noout -serial)
ISSUED1=$(am napagentd_hra_requests_total issued)
NA1=$(date -d "$(openssl x509 -in "$CERT" -noout -enddate | cut -d= -f2)" +%s)
wait_for "renewed before expiry" \
	'[[ $(openssl x509 -in "$CERT" -noout -serial 2>/dev/null) != "$SERIAL1" ]] && (($(am napagentd_hra_requests_total issued) > ISSUED1))' 80
# issued (notBefore is 300 s back-dated) before the previous one expired
NB2=$(($(date -d "$(openssl x509 -in "$CERT" -noout -startdate | cut -d= -f2)" +%s) + 300))
((NB2 < NA1)) || fail "the renewal was issued at $NB2, after the old certificate expired ($NA1)"
log "renewed $((NA1 - NB2)) s before the old certificate expired"
assert_ne "renewal: new serial" "$SERIAL0" "$SERIAL1"
assert_ge "renewals counted" $((ISSUED1 + 1)) "$(am napagentd_hra_requests_total issued)"
grep -q 'health certificate installed (renewal)' "$T/napagentd.log" || fail "no renewal logged"
NA_METRIC=$(am napagentd_hra_certificate_not_after_seconds)
assert_ge "not_after metric is in the future" "$(date +%s)" "$NA_METRIC"

# --- 4. naphrad down: the certificate expires, is removed, B is refused -----------------------
stop_naphrad
cp "$CERT" "$T/last.pem"
cp "$KEY" "$T/last.key"
NA=$(date -d "$(openssl x509 -in "$T/last.pem" -noout -enddate | cut -d= -f2)" +%s)
wait_for "expired certificate removed" '[[ ! -e $CERT ]]' 120
(($(date +%s) >= NA)) || fail "the certificate was removed before it expired"
grep -q 'removed (expired, no renewal)' "$T/napagentd.log" || fail "no removal logged"
connect expired-removed
assert_eq "certificate expired and removed" refused "$CONNECT"
disconnect
# charon counts a certificate valid through its notAfter second: be past it
while (($(date +%s) <= NA + 1)); do sleep 0.2; done
cp "$T/last.pem" "$T/ipsec-b/x509/by-hand.pem"
cp "$T/last.key" "$T/ipsec-b/private/by-hand.key"
sw b --load-creds --clear >/dev/null 2>&1
connect expired-by-hand
assert_eq "an expired health certificate (loaded by hand)" refused "$CONNECT"
disconnect
rm -f "$T/ipsec-b/x509/by-hand.pem" "$T/ipsec-b/private/by-hand.key"

# --- 5. naphrad back (4 h): the agent's retry, connected again --------------------------------
ISSUED=$(am napagentd_hra_requests_total issued)
HRA_SIGNER_EXTRA="" write_naphrad_conf "$T/naphrad.conf"
start_naphrad
# the metrics are written after charon reloaded its credentials
wait_for "a certificate after naphrad came back" \
	'[[ -s $CERT ]] && (($(am napagentd_hra_requests_total issued) > ISSUED))' 100
connect back
assert_eq "after naphrad came back" ok "$CONNECT"
disconnect
assert_alive "$AGENT_PID" napagentd

# --- 6. bad answers from a fake HRA (napagentd --once) ------------------------------------------
FAKE_PORT=$(free_port)
cat >"$T/fake-hra.py" <<'PY'
import http.server, os, sys
port, der = int(sys.argv[1]), open(sys.argv[2], "rb").read()
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        kind = self.path.strip("/")
        status, ctype, sohr, body = 200, "application/healthcertificate-response", None, b""
        if kind == "garbage": body = b"\x30\x82\x01\x00" + os.urandom(200)
        elif kind == "oversize": body = b"\x30" * 70000
        elif kind == "error": status, ctype, body = 500, "text/plain", b"no\n"
        elif kind == "ctype": ctype, body = "text/html", der
        elif kind == "sohr": sohr = "!!notbase64"
        elif kind == "otherkey": body = der
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if sohr is not None: self.send_header("HCEP-SoHR", sohr)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
# a real chain (A's certificate and the CA) that does not hold the agent's key
openssl crl2pkcs7 -nocrl -certfile "$P/a.pem" -certfile "$P/health-ca.pem" -outform DER \
	-out "$T/other.p7b"
"$PYTHON" "$T/fake-hra.py" "$FAKE_PORT" "$T/other.p7b" >"$T/fake-hra.log" 2>&1 &
FAKE_PID=$!
_nap_pids+=("$FAKE_PID")
for ((i = 0; i < 50; i++)); do
	(exec 9<>"/dev/tcp/127.0.0.1/$FAKE_PORT") 2>/dev/null && break
	sleep 0.1
done
KINDS=(garbage oversize error ctype sohr otherkey)
for kind in "${KINDS[@]}"; do
	mkdir -p "$T/fake-$kind"
	sed -e '/^url = /d' -e "s|^swanctl_dir = .*|swanctl_dir = $T/fake-$kind|" \
		-e "s|^\[hra\]|[hra]\nurl = http://127.0.0.1:$FAKE_PORT/$kind|" \
		-e '/^cert = /d' -e '/^key = /d' -e '/^swanctl_uri/d' \
		-e "s|^state_dir = .*|state_dir = $T/fake-$kind/state|" \
		"$T/napagentd.conf" >"$T/fake-$kind.conf"
	echo "reload_command = /bin/true" >>"$T/fake-$kind.conf"
	# all at once: each is a whole agent start (seconds under ASan)
	( RC=0; "$NAPAGENTD" --once -f "$T/fake-$kind.conf" >"$T/fake-$kind.out" 2>&1 || RC=$?
	  echo "$RC" >"$T/fake-$kind.rc" ) &
done
for kind in "${KINDS[@]}"; do
	for ((i = 0; i < 300; i++)); do
		[[ -s $T/fake-$kind.rc ]] && break
		sleep 0.1
	done
	assert_eq "fake HRA $kind: exit status" 1 "$(cat "$T/fake-$kind.rc" 2>/dev/null)"
	grep -q 'health certificate: request failed' "$T/fake-$kind.out" ||
		fail "fake HRA $kind: $(cat "$T/fake-$kind.out")"
	[[ ! -e $T/fake-$kind/x509/nap-health.pem ]] || fail "fake HRA $kind: a certificate was installed"
	log "ok: $kind: $(grep -o 'hra: .*' "$T/fake-$kind.out" | head -n1)"
done
grep -q 'bad_response failure: .*not a DER PKCS#7\|bad_response failure: .*malformed PKCS#7' "$T/fake-garbage.out" ||
	fail "garbage: $(cat "$T/fake-garbage.out")"
grep -q 'too_large' "$T/fake-oversize.out" || fail "oversize: $(cat "$T/fake-oversize.out")"
grep -q 'http failure: .*HTTP 500' "$T/fake-error.out" || fail "error: $(cat "$T/fake-error.out")"
grep -q 'Content-Type' "$T/fake-ctype.out" || fail "ctype: $(cat "$T/fake-ctype.out")"
grep -q 'HCEP-SoHR is not base64' "$T/fake-sohr.out" || fail "sohr: $(cat "$T/fake-sohr.out")"
grep -q "request's public key" "$T/fake-otherkey.out" || fail "otherkey: $(cat "$T/fake-otherkey.out")"
stop_pid "$FAKE_PID"

stop_pid "$AGENT_PID"
((STOP_STATUS == 0)) || fail "napagentd exited with status $STOP_STATUS"
stop_naphrad
stop_napvd
