#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# napsited's agent endpoint end to end with real peers: curl and openssl as the agent, napctl
# for tokens, states and revocation, a SQLite store. Enrollment (the CSR's subject ignored, the
# certificate verifies with openssl verify, a token works once, an expired or unknown one not, a
# bad CSR leaves the token usable), GET /v1/policy (document, revision, ETag, 304; no
# certificate 401, a foreign one 403), POST /v1/state (stored with history, malformed bodies
# 400 and nothing stored, oversized 413), revocation, garbage on the port, a reload with new
# certificates that keeps an in-flight request alive, the counters.
. "$(dirname "$0")/lib.sh"

: "${NAPSITED:=$_nap_build/daemons/napsited/napsited}"
need curl openssl "$NAPSITED" "$NAPCTL"

PORT=$(free_port)
MPORT=$(free_port)
URL=https://127.0.0.1:$PORT
mkdir -p "$T/state"

"$NAPCTL" key generate --private "$T/site.key" --public "$T/site.pub" >/dev/null

# The endpoint's own TLS certificate (for 127.0.0.1) from a throwaway CA the agents trust.
server_cert() { # NAME
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-keyout "$T/$1-ca.key" -out "$T/$1-ca.pem" -subj "/CN=test server CA $1" 2>/dev/null
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/$1.key" -out "$T/$1.csr" -subj /CN=127.0.0.1 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$T/$1.ext"
	openssl x509 -req -in "$T/$1.csr" -CA "$T/$1-ca.pem" -CAkey "$T/$1-ca.key" \
		-CAcreateserial -days 2 -extfile "$T/$1.ext" -out "$T/$1.pem" 2>/dev/null
}
server_cert server
server_cert server2
cp "$T/server.pem" "$T/endpoint.pem"
cp "$T/server.key" "$T/endpoint.key"

cat >"$T/napsited.conf" <<EOF
[site]
code = S01
key = $T/site.key
state_dir = $T/state
pidfile = $T/napsited.pid
metrics = 127.0.0.1:$MPORT
poll_interval = 1s

[store]
uri = sqlite:$T/site.db

[agent]
listen = 127.0.0.1:$PORT
cert = $T/endpoint.pem
key = $T/endpoint.key
cert_lifetime = 30d
token_lifetime = 1h
EOF
ctl() { "$NAPCTL" -c "$T/napsited.conf" "$@"; }

ctl policy add deb-openssl --package openssl --min-version 3.0.15-1 --scheme dpkg \
	--severity critical >/dev/null 2>&1 || fail "napctl policy add"

"$NAPSITED" -d -v -f "$T/napsited.conf" >>"$T/napsited.log" 2>&1 &
NAPSITED_PID=$!
_nap_pids+=("$NAPSITED_PID")

# code METHOD PATH [curl args...]: the HTTP status (000 when there is none); body in $T/body.
code() {
	local m=$1 p=$2
	shift 2
	curl -sS -o "$T/body" -w '%{http_code}' --max-time 10 --cacert "$T/server-ca.pem" -X "$m" \
		"$@" "$URL$p" 2>"$T/curl.err" || true
}
for ((i = 0; i < 100; i++)); do
	_nap_dead "$NAPSITED_PID" && fail "napsited exited during startup"
	[[ $(code GET /) == 404 ]] && break
	sleep 0.1
done
assert_eq "unknown path" 404 "$(code GET /)"

# ---- the agent CA ------------------------------------------------------------------------
[[ -f $T/state/agent-ca.pem && -f $T/state/agent-ca.key ]] || fail "no agent CA was created"
assert_eq "agent CA key mode" 600 "$(stat -c %a "$T/state/agent-ca.key")"
assert_eq "agent CA subject" "subject=CN = nap agent CA S01" \
	"$(openssl x509 -in "$T/state/agent-ca.pem" -noout -subject)"

# ---- enrollment --------------------------------------------------------------------------
# csr NAME [openssl req key options...]: key NAME.key and request NAME.csr (subject "evil").
csr() {
	local n=$1
	shift
	openssl req -new -newkey "${@:-ec}" -nodes -keyout "$T/$n.key" -out "$T/$n.csr" \
		-subj /CN=evil 2>/dev/null
}
# enroll_body TOKEN CSRFILE: the JSON body.
enroll_body() {
	"$PYTHON" -c 'import json, sys; print(json.dumps({"token": sys.argv[1],
		"csr": open(sys.argv[2]).read()}))' "$1" "$2" >"$T/enroll.json"
}
token() { ctl agent enroll "$@" 2>/dev/null; }

csr pc1 ec -pkeyopt ec_paramgen_curve:P-256
TOKEN=$(token pc1)
assert_match "token" '^[0-9a-f]{64}$' "$TOKEN"
enroll_body "$TOKEN" "$T/pc1.csr"
assert_eq "enroll pc1" 200 "$(code POST /v1/enroll --data-binary @"$T/enroll.json")"
jget "$T/body" 'j["certificate"]' >"$T/pc1.pem"
jget "$T/body" 'j["ca"]' >"$T/agent-ca.pem"
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256; }
assert_eq "the CA handed out" "$(fp "$T/state/agent-ca.pem")" "$(fp "$T/agent-ca.pem")"
assert_eq "openssl verify" "$T/pc1.pem: OK" \
	"$(openssl verify -CAfile "$T/agent-ca.pem" -purpose sslclient "$T/pc1.pem" 2>&1)"
assert_eq "issued subject (the CSR said evil)" "subject=CN = pc1" \
	"$(openssl x509 -in "$T/pc1.pem" -noout -subject)"
assert_match "extensions" 'CA:FALSE.*Digital Signature.*TLS Web Client Authentication' \
	"$(openssl x509 -in "$T/pc1.pem" -noout -ext basicConstraints,keyUsage,extendedKeyUsage |
		tr '\n' ' ')"
SERIAL=$(openssl x509 -in "$T/pc1.pem" -noout -serial | sed 's/^serial=//' | tr 'A-F' 'a-f')
assert_match "128-bit serial" '^[0-9a-f]{32}$' "$SERIAL"

assert_eq "token reused" 409 "$(code POST /v1/enroll --data-binary @"$T/enroll.json")"
enroll_body "$(printf '%064d' 7)" "$T/pc1.csr"
assert_eq "unknown token" 403 "$(code POST /v1/enroll --data-binary @"$T/enroll.json")"
enroll_body "abc" "$T/pc1.csr"
assert_eq "malformed token" 400 "$(code POST /v1/enroll --data-binary @"$T/enroll.json")"
assert_eq "enroll: not JSON" 400 "$(code POST /v1/enroll --data-binary 'token=1')"
assert_eq "enroll: GET" 405 "$(code GET /v1/enroll)"

# A refused CSR (RSA 1024) leaves the token usable; RSA 2048 then works.
TOKEN=$(token pc2)
csr weak rsa:1024
enroll_body "$TOKEN" "$T/weak.csr"
assert_eq "RSA-1024 CSR" 400 "$(code POST /v1/enroll --data-binary @"$T/enroll.json")"
assert_match "its message" 'at least 2048' "$(cat "$T/body")"
csr pc2 rsa:2048
enroll_body "$TOKEN" "$T/pc2.csr"
assert_eq "enroll pc2 (RSA 2048, same token)" 200 \
	"$(code POST /v1/enroll --data-binary @"$T/enroll.json")"
jget "$T/body" 'j["certificate"]' >"$T/pc2.pem"

# A CSR whose signature does not verify (the key swapped after signing).
TOKEN=$(token pc3)
"$PYTHON" - "$T/pc1.csr" "$T/forged.csr" <<'EOF'
import base64, sys
lines = open(sys.argv[1]).read().split("\n")
der = bytearray(base64.b64decode("".join(l for l in lines if l and not l.startswith("-----"))))
der[-5] ^= 1  # inside the signature
b64 = base64.b64encode(bytes(der)).decode()
open(sys.argv[2], "w").write("-----BEGIN CERTIFICATE REQUEST-----\n" +
    "\n".join(b64[i:i + 64] for i in range(0, len(b64), 64)) +
    "\n-----END CERTIFICATE REQUEST-----\n")
EOF
enroll_body "$TOKEN" "$T/forged.csr"
assert_eq "CSR with a bad signature" 400 "$(code POST /v1/enroll --data-binary @"$T/enroll.json")"

# An expired token.
TOKEN=$(token pc4 --lifetime 1s)
sleep 2
enroll_body "$TOKEN" "$T/pc1.csr"
assert_eq "expired token" 403 "$(code POST /v1/enroll --data-binary @"$T/enroll.json")"
assert_match "its message" 'expired' "$(cat "$T/body")"

# ---- GET /v1/policy ----------------------------------------------------------------------
PC1=(--cert "$T/pc1.pem" --key "$T/pc1.key")
assert_eq "policy with a certificate" 200 "$(code GET /v1/policy "${PC1[@]}" -D "$T/hdr")"
assert_eq "document site" S01 "$(jget "$T/body" 'j["site"]')"
REV=$(jget "$T/body" 'j["revision"]')
assert_eq "X-Nap-Revision" "$REV" "$(sed -n 's/^X-Nap-Revision: \([0-9]*\).*/\1/Ip' "$T/hdr")"
assert_eq "ETag" "\"$REV\"" "$(sed -n 's/^ETag: \("[0-9]*"\).*/\1/Ip' "$T/hdr")"
"$NAPCTL" hsr show "$T/body" --keys "$T/site.pub" >/dev/null ||
	fail "the served document does not verify with the site key"
log "ok: the served document verifies with the site key"
assert_eq "If-None-Match current" 304 \
	"$(code GET /v1/policy "${PC1[@]}" -H "If-None-Match: \"$REV\"")"
assert_eq "If-None-Match older" 200 \
	"$(code GET /v1/policy "${PC1[@]}" -H "If-None-Match: \"$((REV - 1))\", W/\"x\"")"
assert_eq "policy without a certificate" 401 "$(code GET /v1/policy)"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-keyout "$T/foreign.key" -out "$T/foreign.pem" -subj /CN=pc1 2>/dev/null
assert_eq "policy with a foreign certificate" 403 \
	"$(code GET /v1/policy --cert "$T/foreign.pem" --key "$T/foreign.key")"
assert_eq "policy: POST" 405 "$(code POST /v1/policy "${PC1[@]}" --data x)"

# A new policy: the served revision follows (napsited polls every second).
ctl policy add deb-sudo --package sudo --min-version 1.9.13p3-1 --scheme dpkg \
	--severity important >/dev/null 2>&1 || fail "napctl policy add"
for ((i = 0; i < 50; i++)); do
	[[ $(code GET /v1/policy "${PC1[@]}" -H "If-None-Match: \"$REV\"") == 200 ]] && break
	sleep 0.1
done
assert_eq "revision after a change" $((REV + 1)) "$(jget "$T/body" 'j["revision"]')"
REV=$((REV + 1))

# ---- POST /v1/state ----------------------------------------------------------------------
history_len() {
	ctl agent show "$1" --history 50 --json 2>/dev/null | jget - 'len(j.get("history", []))'
}
state_body() { # STATE COMPLIANT MISSING-JSON
	printf '{"state":%s,"compliant":%s,"hsr_revision":%s,"evaluated":"%s","missing":%s,%s}' \
		"$1" "$2" "$REV" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$3" \
		'"detail":{"agent":"curl","checks":{"firewall":true}}'
}
assert_eq "state: restricted" 204 \
	"$(code POST /v1/state "${PC1[@]}" --data-binary "$(state_body 3 false '["deb-sudo"]')")"
assert_eq "state: unrestricted" 204 \
	"$(code POST /v1/state "${PC1[@]}" --data-binary "$(state_body 1 true '[]')")"
ctl agent show pc1 --history 10 --json >"$T/show.json" 2>/dev/null || fail "napctl agent show"
assert_eq "stored state" unrestricted "$(jget "$T/show.json" 'j["state"]')"
assert_eq "stored revision" "$REV" "$(jget "$T/show.json" 'j["hsr_revision"]')"
assert_eq "history" 2 "$(history_len pc1)"
assert_eq "oldest in history" '["deb-sudo"]' "$(jget "$T/show.json" 'j["history"][1]["missing"]')"

for bad in '{"state":9,"compliant":true,"hsr_revision":1,"evaluated":"2026-11-25T10:00:00Z"}' \
	'{"state":1,"compliant":true,"hsr_revision":1,"evaluated":"2026-11-25T10:00:00Z","client":"pc2"}' \
	'{"state":1,"compliant":true,"hsr_revision":1,"evaluated":"yesterday"}' \
	'{"state":3,"compliant":false,"hsr_revision":1,"evaluated":"2026-11-25T10:00:00Z","missing":["a b"]}' \
	'{"state":1,' 'not json at all' ''; do
	assert_eq "malformed state ${bad:0:40}" 400 \
		"$(code POST /v1/state "${PC1[@]}" --data-binary "$bad")"
done
assert_match "a message says why" '"error":' "$(cat "$T/body")"
assert_eq "history after malformed states" 2 "$(history_len pc1)"
ctl agent show pc2 --json >/dev/null 2>&1 && fail "pc2 has a state: a body named it"
log "ok: no state for pc2 (a body cannot name the client)"
head -c 70000 /dev/zero | tr '\0' ' ' >"$T/big"
assert_eq "oversized state" 413 "$(code POST /v1/state "${PC1[@]}" --data-binary @"$T/big")"
assert_eq "oversized chunked state" 413 \
	"$(code POST /v1/state "${PC1[@]}" -H 'Transfer-Encoding: chunked' --data-binary @"$T/big")"
assert_eq "state without a certificate" 401 \
	"$(code POST /v1/state --data-binary "$(state_body 1 true '[]')")"
assert_eq "history unchanged" 2 "$(history_len pc1)"

# ---- garbage on the port -----------------------------------------------------------------
"$PYTHON" - "$PORT" <<'EOF'
import os, socket, sys
port = int(sys.argv[1])
payloads = [os.urandom(n) for n in (1, 5, 300, 5000, 70000)]
payloads += [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",                # plain HTTP to a TLS port
             b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(40),  # cut ClientHello
             b"\x16\x03\x01\xff\xff" + os.urandom(200)]         # record longer than sent
for p in payloads:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(p)
        s.shutdown(socket.SHUT_WR)
        while s.recv(4096):
            pass
    except OSError:
        pass
    s.close()
EOF
for ((i = 0; i < 3; i++)); do
	curl -sS -o /dev/null --max-time 5 --cacert "$T/server-ca.pem" "${PC1[@]}" \
		-H "Content-Length: 99999999999999999999" -X POST "$URL/v1/state" 2>/dev/null || true
done
assert_alive "$NAPSITED_PID" napsited
assert_eq "serving after garbage" 200 "$(code GET /v1/policy "${PC1[@]}")"

# ---- reload: new certificates, an in-flight request survives -----------------------------
# A request that is half sent when napsited reloads with another TLS certificate: it completes
# on the old instance; new connections get the new certificate.
cat "$T/server-ca.pem" "$T/server2-ca.pem" >"$T/both-ca.pem"
threads() { ls "/proc/$NAPSITED_PID/task" | wc -l; }
THREADS=$(threads)
"$PYTHON" - "$PORT" "$T" "$NAPSITED_PID" "$(state_body 2 false '["deb-openssl"]')" \
	>"$T/inflight.out" 2>&1 <<'EOF' &
import os, signal, socket, ssl, sys, time
port, t, pid, body = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4].encode()
ctx = ssl.create_default_context(cafile=t + "/both-ca.pem")
ctx.load_cert_chain(t + "/pc1.pem", t + "/pc1.key")
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=20),
                    server_hostname="127.0.0.1")
old = s.getpeercert(binary_form=True)
s.sendall(b"POST /v1/state HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
          b"Content-Length: %d\r\n\r\n" % len(body) + body[:10])
os.rename(t + "/server2.pem", t + "/endpoint.pem")
os.rename(t + "/server2.key", t + "/endpoint.key")
os.kill(pid, signal.SIGHUP)
for _ in range(100):
    if "endpoint reloaded" in open(t + "/napsited.log").read():
        break
    time.sleep(0.05)
else:
    sys.exit("no reload in the log")
s2 = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=20),
                     server_hostname="127.0.0.1")
new = s2.getpeercert(binary_form=True)
s2.close()
s.sendall(body[10:])
reply = s.recv(4096).decode(errors="replace")
print(reply.split("\r\n")[0])
print("certificate changed" if old != new else "certificate unchanged")
EOF
INFLIGHT=$!
wait "$INFLIGHT" || { cat "$T/inflight.out" >&2; fail "the in-flight client failed"; }
assert_eq "in-flight request across the reload" "HTTP/1.1 204 No Content" \
	"$(sed -n 1p "$T/inflight.out")"
assert_eq "new connections" "certificate changed" "$(sed -n 2p "$T/inflight.out")"
assert_eq "history" 3 "$(history_len pc1)"
URL_CA=$T/server2-ca.pem
assert_eq "policy after the reload" 200 \
	"$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$URL_CA" "${PC1[@]}" "$URL/v1/policy")"

# Requests in a loop across several reloads: none is refused or cut.
"$PYTHON" - "$PORT" "$T" <<'EOF' >"$T/loop.out" 2>&1 &
import socket, ssl, sys, time
port, t = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=t + "/both-ca.pem")
ctx.load_cert_chain(t + "/pc1.pem", t + "/pc1.key")
ok = bad = 0
end = time.monotonic() + 2.5
while time.monotonic() < end:
    try:
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                            server_hostname="127.0.0.1")
        s.sendall(b"GET /v1/policy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        if data.startswith(b"HTTP/1.1 200"):
            ok += 1
        else:
            bad += 1
    except OSError as e:
        print("error:", e)
        bad += 1
print(ok, bad)
EOF
LOOP=$!
for ((i = 0; i < 4; i++)); do
	sleep 0.5
	kill -HUP "$NAPSITED_PID"
done
wait "$LOOP" || fail "the request loop failed"
read -r LOOP_OK LOOP_BAD < <(tail -n1 "$T/loop.out")
assert_ge "requests answered across 4 reloads" 10 "$LOOP_OK"
assert_eq "requests failed across 4 reloads" 0 "$LOOP_BAD"
assert_ge "reloads" 5 "$(grep -c 'endpoint reloaded' "$T/napsited.log")"

# A reload with a broken certificate changes nothing.
cp "$T/endpoint.pem" "$T/endpoint.pem.good"
echo broken >"$T/endpoint.pem"
kill -HUP "$NAPSITED_PID"
for ((i = 0; i < 50; i++)); do
	grep -q 'keeping the running configuration' "$T/napsited.log" && break
	sleep 0.1
done
grep -q 'keeping the running configuration' "$T/napsited.log" ||
	fail "a broken certificate was not refused on reload"
assert_eq "policy after a failed reload" 200 \
	"$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$URL_CA" "${PC1[@]}" "$URL/v1/policy")"
mv "$T/endpoint.pem.good" "$T/endpoint.pem"

# Another listen address: the new one serves, the old one refuses at once.
PORT2=$(free_port)
sed -i "s/^listen = .*/listen = 127.0.0.1:$PORT2/" "$T/napsited.conf"
kill -HUP "$NAPSITED_PID"
for ((i = 0; i < 50; i++)); do
	grep -q "endpoint reloaded on 127.0.0.1:$PORT2" "$T/napsited.log" && break
	sleep 0.1
done
OLD_URL=$URL
URL=https://127.0.0.1:$PORT2
assert_eq "policy on the new address" 200 \
	"$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$URL_CA" "${PC1[@]}" "$URL/v1/policy")"
rc=0
curl -sS -o /dev/null --max-time 5 --cacert "$URL_CA" "${PC1[@]}" "$OLD_URL/v1/policy" \
	2>/dev/null || rc=$?
assert_eq "curl to the old address (7: refused)" 7 "$rc"
# The replaced instances stop once their connections are done: no threads pile up.
for ((i = 0; i < 100; i++)); do
	(($(threads) <= THREADS)) && break
	sleep 0.1
done
assert_eq "threads after the reloads drained" "$THREADS" "$(threads)"

# ---- revocation --------------------------------------------------------------------------
ctl agent revoke pc1 >/dev/null 2>&1 || fail "napctl agent revoke pc1"
assert_eq "revoked agent: policy" 403 \
	"$(curl -sS -o "$T/body" -w '%{http_code}' --cacert "$URL_CA" "${PC1[@]}" "$URL/v1/policy")"
assert_match "its message" 'revoked' "$(cat "$T/body")"
assert_eq "revoked agent: state" 403 \
	"$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$URL_CA" "${PC1[@]}" \
		--data-binary "$(state_body 1 true '[]')" "$URL/v1/state")"
assert_eq "history after revocation" 3 "$(history_len pc1)"
assert_eq "pc2 still served" 200 \
	"$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$URL_CA" --cert "$T/pc2.pem" \
		--key "$T/pc2.key" "$URL/v1/policy")"

# ---- counters ----------------------------------------------------------------------------
metrics "$MPORT" >"$T/metrics.txt"
m() { awk -v n="$1" -v l="${2:-}" '$1 ~ "^"n && index($1, l) { s += $NF } END { print s + 0 }' \
	"$T/metrics.txt"; }
assert_eq "enrollments ok" 2 "$(m napsited_agent_enrollments_total 'result="ok"')"
assert_ge "enrollments refused" 7 "$(m napsited_agent_enrollments_total 'result="error"')"
assert_eq "check-ins" 3 "$(m napsited_agent_checkins_total)"
assert_ge "policy fetches" 10 "$(m napsited_agent_policy_fetches_total)"
assert_ge "bad requests" 9 "$(m napsited_agent_bad_requests_total)"
assert_ge "auth failures" 4 "$(m napsited_agent_auth_failures_total)"

# ---- shutdown ----------------------------------------------------------------------------
stop_pid "$NAPSITED_PID"
assert_eq "napsited exit status" 0 "$STOP_STATUS"
log "ok: all agent endpoint checks passed"
