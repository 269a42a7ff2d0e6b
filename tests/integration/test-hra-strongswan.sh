#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# IPsec enforcement with strongSwan 5.9 and naphrad's health certificates. Two network
# namespaces joined by a veth pair, one charon in each (private /run per instance, swanctl via
# its own vici socket, kernel-libipsec because this kernel has no ESP: spec PEERS.md §6). The
# responder A trusts only the health CA and requires the compliant certificate policy
# 1.3.6.1.4.1.311.47.1.10 (cert_policy; strongSwan has no EKU requirement). Client B:
#   1. compliant SoH -> naphrad issues a certificate (HTTPS, B's enrollment certificate)
#      -> the IKEv2 SA comes up and a ping goes through the CHILD_SA;
#   2. non-compliant SoH -> naphrad gives no certificate; with its enrollment certificate (not
#      from the health CA) B is refused; a health-CA certificate without the policy is refused;
#   3. naphrad reloaded with a 3 s lifetime -> a certificate that expires -> refused;
#   4. "remediation" (a compliant SoH), naphrad back to 4 h, a new certificate -> connected.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hra-lib.sh"
need openssl curl "$NAPHRAD" swanctl ip busybox
[[ -x /usr/lib/ipsec/charon ]] || skip "strongSwan charon not installed"
((EUID == 0)) || skip "network namespaces need root"
[[ -c /dev/net/tun ]] || skip "no /dev/net/tun for kernel-libipsec"

NSA=napt-$$-ia
NSB=napt-$$-ib
ip netns add "$NSA" 2>"$T/netns.err" || skip "ip netns add failed: $(cat "$T/netns.err")"
netns_cleanup() {
	ip netns del "$NSA" 2>/dev/null || true
	ip netns del "$NSB" 2>/dev/null || true
}
_nap_cleanup_hooks+=(netns_cleanup)
ip netns add "$NSB"
ip link add hra-a0 netns "$NSA" type veth peer name hra-b0 netns "$NSB"
ip -n "$NSA" link set lo up
ip -n "$NSB" link set lo up
ip -n "$NSA" addr add 10.99.2.1/24 dev hra-a0
ip -n "$NSB" addr add 10.99.2.2/24 dev hra-b0
ip -n "$NSA" link set hra-a0 up
ip -n "$NSB" link set hra-b0 up
# inner (protected) addresses: kernel-libipsec refuses TS == IKE peer address
ip -n "$NSA" addr add 10.99.3.1/32 dev lo
ip -n "$NSB" addr add 10.99.4.1/32 dev lo

# --- napvd + naphrad on the host's loopback ----------------------------------------------------
make_site S01 5
NAPVD_EXTRA=$'[enforcement hra]\ncompliant = full\nnoncompliant = restricted\nnoncapable = reject\n'
write_napvd_conf "$T/napvd.conf"
start_napvd "$T/napvd.conf"
hra_pki
write_naphrad_conf "$T/naphrad.conf"
start_naphrad
URLS=https://127.0.0.1:$HRAS_PORT/
ENROLL=(--cacert "$T/pki/tls-ca.pem" --cert "$T/pki/client.pem" --key "$T/pki/client.key")
GOOD=$(sample --site S01 --revision 5 --hsr "$T/hsr.json" --compliant yes --machine pc1)
BAD=$(sample --site S01 --revision 5 --hsr "$T/hsr.json" --compliant no \
	--missing deb-openssl-2026-01 --machine pc1)

# A's own certificate: from the health CA, with the policy (it is a protected host).
P=$T/pki
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=a.napt.test" \
	-keyout "$P/a.key" -out "$P/a.csr" 2>/dev/null
printf '%s\n' 'basicConstraints=CA:FALSE' 'keyUsage=critical,digitalSignature' \
	'subjectAltName=DNS:a.napt.test' "extendedKeyUsage=serverAuth,clientAuth,$HEALTH_EKU" \
	"certificatePolicies=$HEALTH_POLICY" >"$P/a.ext"
openssl x509 -req -in "$P/a.csr" -CA "$P/health-ca.pem" -CAkey "$P/health-ca.key" \
	-CAcreateserial -days 2 -extfile "$P/a.ext" -out "$P/a.pem" 2>/dev/null
# B's key for the certificate naphrad does not issue
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$P/b.key" 2>/dev/null

# --- charons -------------------------------------------------------------------------------------
# run_charon SIDE NS: all state under $T/ipsec-SIDE, charon with a private tmpfs /run.
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

cat >"$T/ipsec-a.conf" <<EOF
connections {
  hsr {
    version = 2
    local_addrs = 10.99.2.1
    remote_addrs = 10.99.2.2
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
            local_ts = 10.99.3.1/32
            remote_ts = 10.99.4.1/32
            esp_proposals = aes128gcm16-ecp256
            start_action = none }
    }
  }
}
EOF
cat >"$T/ipsec-b.conf" <<EOF
connections {
  hsr {
    version = 2
    local_addrs = 10.99.2.2
    remote_addrs = 10.99.2.1
    proposals = aes128gcm16-prfsha256-ecp256
    encap = yes
    local { auth = pubkey
            certs = me.pem
            id = pc1.napt.test }
    remote { auth = pubkey
             id = a.napt.test
             cacerts = ca.pem }
    children {
      hsr { mode = tunnel
            local_ts = 10.99.4.1/32
            remote_ts = 10.99.3.1/32
            esp_proposals = aes128gcm16-ecp256
            start_action = none }
    }
  }
}
EOF

run_charon a "$NSA"
run_charon b "$NSB"
cp "$T/ipsec-a.conf" "$T/ipsec-a/swanctl.conf"
cp "$T/ipsec-b.conf" "$T/ipsec-b/swanctl.conf"
cp "$P/a.pem" "$T/ipsec-a/x509/me.pem"
cp "$P/a.key" "$T/ipsec-a/private/me.key"
sw a --load-all >"$T/load-a.out" 2>&1 || fail "swanctl A: $(cat "$T/load-a.out")"

# b_cert PEM KEY: install B's credentials and reload them.
b_cert() {
	rm -f "$T/ipsec-b/x509/"*.pem "$T/ipsec-b/private/"*.key
	cp "$1" "$T/ipsec-b/x509/me.pem"
	cp "$2" "$T/ipsec-b/private/me.key"
	sw b --load-all --clear >"$T/load-b.out" 2>&1 || fail "swanctl B: $(cat "$T/load-b.out")"
}

# connect NAME: B initiates; CONNECT = ok | refused; the SA is torn down afterwards.
connect() {
	local out=$T/initiate-$1.out
	sw b --initiate --child hsr --timeout 10 >"$out" 2>&1 || true
	if grep -q 'initiate completed successfully' "$out"; then
		CONNECT=ok
	else
		CONNECT=refused
	fi
	log "$1: $CONNECT ($(grep -Eo 'received [A-Z_]+ notify error|AUTH[A-Z_]*' "$out" | head -n1))"
}
disconnect() {
	sw b --terminate --ike hsr --timeout 5 >/dev/null 2>&1 || true
}

# health_cert NAME SOH: HCEP over HTTPS with B's enrollment certificate, a fresh key per
# request as Windows clients make (charon caches received certificates: an older valid one with
# the same key would still authenticate B); key $T/NAME.key
health_cert() {
	hra_req "$1" auth "$2"
	hra_post "$1" "$URLS" "${ENROLL[@]}"
	assert_eq "$1: HCEP status" 200 "$HTTP_STATUS"
}

# --- 1. compliant: connected ---------------------------------------------------------------
health_cert good "$GOOD"
leaf good
b_cert "$T/good.leaf.pem" "$T/good.key"
connect compliant
assert_eq "compliant client with a fresh health certificate" ok "$CONNECT"
ip netns exec "$NSB" busybox ping -c 2 -W 2 -I 10.99.4.1 10.99.3.1 >"$T/ping.out" 2>&1 ||
	fail "ping through the SA: $(cat "$T/ping.out")"
sw a --list-sas >"$T/sas.out" 2>&1
grep -q 'ESP' "$T/sas.out" || fail "A lists no CHILD_SA: $(cat "$T/sas.out")"
log "ok: ping through the CHILD_SA"
disconnect

# --- 2. non-compliant: no certificate; other certificates are refused ------------------------
health_cert bad "$BAD"
assert_eq "non-compliant: no certificate in the body" 0 "$(stat -c %s "$T/bad.body")"
[[ -n $(hdr bad HCEP-SoHR) ]] || fail "non-compliant: no HCEP-SoHR"
b_cert "$P/client.pem" "$P/client.key" # its enrollment certificate, not a health certificate
connect enrollment-cert
assert_eq "non-compliant client (enrollment certificate only)" refused "$CONNECT"
disconnect
openssl req -new -key "$P/b.key" -subj "/CN=pc1.napt.test" -out "$P/b-nopol.csr"
printf '%s\n' 'basicConstraints=CA:FALSE' 'keyUsage=critical,digitalSignature' \
	'subjectAltName=DNS:pc1.napt.test' "extendedKeyUsage=clientAuth,$HEALTH_EKU" >"$P/nopol.ext"
openssl x509 -req -in "$P/b-nopol.csr" -CA "$P/health-ca.pem" -CAkey "$P/health-ca.key" \
	-CAcreateserial -days 1 -extfile "$P/nopol.ext" -out "$P/b-nopol.pem" 2>/dev/null
b_cert "$P/b-nopol.pem" "$P/b.key"
connect no-policy
assert_eq "health CA certificate without the compliant policy" refused "$CONNECT"
grep -q 'cert policy' "$T/charon-a.log" || log "note: A logged no cert policy line"
disconnect

# --- 3. an expired health certificate: naphrad with a 3 s lifetime (reload) -----------------
HRA_SIGNER_EXTRA="lifetime = 3s" write_naphrad_conf "$T/naphrad.conf"
kill -HUP "$NAPHRAD_PID"
for i in $(seq 1 50); do
	(($(grep -c 'signer CA chain' "$T/naphrad.log") >= 1)) && break
	sleep 0.1
done
health_cert short "$GOOD"
leaf short
NB=$(date -d "$(openssl x509 -in "$T/short.leaf.pem" -noout -startdate | cut -d= -f2)" +%s)
NA=$(date -d "$(openssl x509 -in "$T/short.leaf.pem" -noout -enddate | cut -d= -f2)" +%s)
assert_eq "short certificate lifetime" 303 $((NA - NB))
while (($(date +%s) <= NA + 1)); do sleep 0.5; done
b_cert "$T/short.leaf.pem" "$T/short.key"
connect expired
assert_eq "expired health certificate" refused "$CONNECT"
disconnect

# --- 4. remediation: compliant again, a new 4 h certificate -> connected ----------------------
HRA_SIGNER_EXTRA="" write_naphrad_conf "$T/naphrad.conf"
kill -HUP "$NAPHRAD_PID"
for i in $(seq 1 50); do
	(($(grep -c 'signer CA chain' "$T/naphrad.log") >= 2)) && break
	sleep 0.1
done
health_cert remediated "$GOOD"
leaf remediated
NB=$(date -d "$(openssl x509 -in "$T/remediated.leaf.pem" -noout -startdate | cut -d= -f2)" +%s)
NA=$(date -d "$(openssl x509 -in "$T/remediated.leaf.pem" -noout -enddate | cut -d= -f2)" +%s)
assert_eq "remediated certificate lifetime" $((4 * 3600 + 300)) $((NA - NB))
b_cert "$T/remediated.leaf.pem" "$T/remediated.key"
connect remediated
assert_eq "after remediation and a new certificate" ok "$CONNECT"
disconnect
stop_naphrad
