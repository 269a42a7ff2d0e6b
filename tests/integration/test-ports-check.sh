#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# napctl ports and napctl check against real peers on loopback: slapd (StartTLS and LDAPS, the
# HSR napsited publishes), smbd (the inbox share and an SHV point's configuration share, SMB3
# with signing), napvd (RADIUS Status-Server) and napsited (agent endpoint over HTTPS, the
# dashboard over HTTP).
#   1. napctl ports: the exact rows for this napsited.conf and store (one SHV point).
#   2. napctl check: every probe passes, exit 0; the probe files are gone from the shares.
#   3. what goes wrong is named: a wrong bind password (auth-failure), wrong SMB credentials
#      (auth-failure), an agent endpoint certificate from another CA or for another name
#      (tls-failure), napvd and smbd stopped (refused); exit 1 each time.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/peers.sh"

: "${NAPSITED:=$_nap_build/daemons/napsited/napsited}"
need openssl "$NAPSITED" "$NAPCTL" "$NAPVD" "$PYTHON"

start_slapd dir
start_smbd smb inbox napconf
make_site S01 5
start_napvd
printf '%s\n' "$SECRET" >"$T/radius.secret"
printf '%s\n' "$LDAP_ADMINPW" >"$T/bind.pw"
chmod 600 "$T/radius.secret" "$T/bind.pw"

# The agent endpoint's certificate (127.0.0.1) from a CA of its own, and one from another CA.
server_cert() { # NAME
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-keyout "$T/$1-ca.key" -out "$T/$1-ca.pem" -subj "/CN=test CA $1" 2>/dev/null
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/$1.key" -out "$T/$1.csr" -subj /CN=127.0.0.1 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$T/$1.ext"
	openssl x509 -req -in "$T/$1.csr" -CA "$T/$1-ca.pem" -CAkey "$T/$1-ca.key" \
		-CAcreateserial -days 2 -extfile "$T/$1.ext" -out "$T/$1.pem" 2>/dev/null
}
server_cert endpoint
server_cert other

APORT=$(free_port tcp)
WPORT=$(free_port tcp)
MPORT=$(free_port tcp)
mkdir -p "$T/site-state"
# conf [CA_FILE [INBOX_CRED [SITE_HOST]]]: napsited.conf for this deployment
conf() {
	cat >"$T/napsited.conf" <<EOF
[site]
code = S01
key = $T/site.key
state_dir = $T/site-state
pidfile = $T/napsited.pid
metrics = 127.0.0.1:$MPORT
poll_interval = 1s

[store]
uri = sqlite:$T/site.db

[directory]
uri = $dir_URI $dir_LDAPS
base = $LDAP_SUFFIX
bind_dn = $LDAP_ADMIN
bind_password_file = $T/bind.pw
ca_file = $T/tls/ca.pem
timeout = 2s

[agent]
listen = 127.0.0.1:$APORT
cert = $T/endpoint.pem
key = $T/endpoint.key

[web]
listen = 127.0.0.1:$WPORT

[deployment]
${3:+site_host = $3}
inbox_url = smb://127.0.0.1:$smb_PORT/inbox
inbox_credentials = ${2:-$smb_CRED}
radius = 127.0.0.1:$NAPVD_PORT
radius_secret_file = $T/radius.secret
ca_file = ${1:-$T/endpoint-ca.pem}
EOF
}
conf
ctl() { "$NAPCTL" -c "$T/napsited.conf" "$@"; }
ctl policy add DSA-1 --package openssl --min-version 3.0.15-1 --severity critical \
	>/dev/null 2>&1 || fail "napctl policy add"

# One SHV point in the store: its configuration share and the directory URI it reads.
"$PYTHON" - "$T/site.db" "smb://127.0.0.1:$smb_PORT/napconf" "$smb_CRED" "$dir_LDAPS" <<'PY'
import json, sqlite3, sys, time
db, url, cred, uri = sys.argv[1:]
c = sqlite3.connect(db)
now = int(time.time())
c.execute("INSERT INTO shv_points (host, url, credentials, settings, revision, created, updated)"
          " VALUES (?, ?, ?, ?, 1, ?, ?)",
          ("shv1", url, cred, json.dumps({"site": "S01", "uri": uri}), now, now))
c.commit()
PY

"$NAPSITED" -d -f "$T/napsited.conf" >>"$T/napsited.log" 2>&1 &
NAPSITED_PID=$!
_nap_pids+=("$NAPSITED_PID")
# ready when the HSR is in the directory and the agent endpoint answers
for ((i = 0; i < 100; i++)); do
	_nap_dead "$NAPSITED_PID" && fail "napsited exited during startup"
	if ldap_admin_search dir '(objectClass=napHealthStateReference)' napHsrRevision 2>/dev/null |
		grep -q '^napHsrRevision:' && (exec 9<>"/dev/tcp/127.0.0.1/$APORT") 2>/dev/null; then
		break
	fi
	sleep 0.1
done
((i < 100)) || fail "napsited did not publish and listen within 10 s"

# ---- 1. napctl ports ------------------------------------------------------------------------
ctl ports >"$T/ports.txt" || fail "napctl ports: $(cat "$T/ports.txt")"
ctl ports --json >"$T/ports.json" || fail "napctl ports --json"
rows=$(jget "$T/ports.json" '"\n".join("%s|%s|%s|%s %d|%s|%s" % (r["from"], r["to"], r["purpose"],
	r["protocol"], r["port"], r["endpoint"], r.get("probe", "")) for r in j["rows"])')
D=${dir_URI##*:}
L=${dir_LDAPS##*:}
want="site server|directory|publish the health state reference (HSR)|tcp $D|127.0.0.1:$D|ldap
site server|directory|publish the health state reference (HSR)|tcp $L|127.0.0.1:$L|ldap
SHV point|directory|read the HSR (global catalog)|tcp $L|127.0.0.1:$L|gc
site server|SHV point|install and configure the SHV point|tcp $smb_PORT|127.0.0.1:$smb_PORT|smb
SHV point|site server|status messages|tcp $smb_PORT|127.0.0.1:$smb_PORT|smb
enforcement point|SHV point|health check request (as NPS)|udp $NAPVD_PORT|127.0.0.1:$NAPVD_PORT|radius
client|site server|fetch NAP policy, send state|tcp $APORT|127.0.0.1:$APORT|http
admin|site server|dashboard and JSON API|tcp $WPORT|127.0.0.1:$WPORT|http"
[[ $rows == "$want" ]] || fail "napctl ports rows:
$rows
want:
$want"
assert_match "table header" "^FROM -> TO +PURPOSE +PORT +NAP PARTS +HOST:PORT$" \
	"$(head -n1 "$T/ports.txt")"
assert_match "table row" "^SHV point -> site server +status messages +TCP $smb_PORT +napvd -> smbd on the napsited host +127.0.0.1:$smb_PORT$" \
	"$(grep 'status messages' "$T/ports.txt")"
assert_eq "table rows" 9 "$(wc -l <"$T/ports.txt")"
log "ok: napctl ports lists the deployment's 8 connections"

# ---- 2. napctl check: everything passes -----------------------------------------------------
# check [ARGS...]: napctl check --json; exit status in RC, results in $T/check.json
check() {
	RC=0
	ctl check --json --timeout 2s "$@" >"$T/check.json" 2>"$T/check.err" || RC=$?
}
# result N: "result: why" of probe N
result() { jget "$T/check.json" "j['results'][$1]['result'] + ': ' + j['results'][$1]['why']"; }
check
if ((RC != 0)); then
	cat "$T/check.json" >&2
	fail "napctl check: exit $RC"
fi
assert_eq "probes" 8 "$(jget "$T/check.json" 'j["probes"]')"
assert_eq "passed" 8 "$(jget "$T/check.json" 'j["passed"]')"
assert_match "ldap StartTLS" "^ok: bound as $LDAP_ADMIN over StartTLS$" "$(result 0)"
assert_match "ldaps" "^ok: bound as $LDAP_ADMIN over LDAPS$" "$(result 1)"
assert_match "gc" "^ok: HSR of S01 found \(revision [0-9]+\) as anonymous over LDAPS$" \
	"$(result 2)"
assert_match "smb shv" "^ok: wrote and removed nap-check-[0-9a-f]{16}\.probe" "$(result 3)"
assert_match "smb inbox" "^ok: wrote and removed nap-check-[0-9a-f]{16}\.probe" "$(result 4)"
assert_match "radius" "^ok: Status-Server answered \(Access-Accept, authenticated\)$" \
	"$(result 5)"
assert_match "agent" "^ok: TLSv1\.[23], certificate verified, GET /: HTTP [0-9]{3}$" "$(result 6)"
assert_match "web" "^ok: GET /: HTTP 200$" "$(result 7)"
assert_eq "probe files removed" "" "$(find "$T/smb/share/inbox" "$T/smb/share/napconf" -name "*nap-check-*")"
ctl check --timeout 2s >"$T/check.txt" || fail "napctl check (text): $(cat "$T/check.txt")"
assert_eq "text summary" "8 of 8 probes passed" "$(tail -n1 "$T/check.txt")"
assert_match "text row" "^radius +enforcement point -> SHV point +127\.0\.0\.1:$NAPVD_PORT udp +ok " \
	"$(grep '^radius' "$T/check.txt")"
log "ok: napctl check passes every probe"

# ---- 3. failures, each named ----------------------------------------------------------------
printf 'wrong\n' >"$T/bind.pw"
check
assert_eq "wrong bind password: exit" 1 "$RC"
assert_match "wrong bind password: ldap" "^auth-failure: bind as $LDAP_ADMIN: Invalid credentials" \
	"$(result 0)"
assert_match "wrong bind password: ldaps" "^auth-failure: " "$(result 1)"
assert_match "anonymous gc unaffected" "^ok: " "$(result 2)"
printf '%s\n' "$LDAP_ADMINPW" >"$T/bind.pw"

printf 'username = napt\npassword = nope\ndomain = NAPT\n' >"$T/bad.cred"
chmod 600 "$T/bad.cred"
conf "" "$T/bad.cred"
check
assert_eq "wrong SMB password: exit" 1 "$RC"
assert_match "wrong SMB password" "^auth-failure: write smb://127\.0\.0\.1:$smb_PORT/inbox/" \
	"$(result 4)"
assert_match "the SHV point's own credentials still work" "^ok: " "$(result 3)"

conf "$T/other-ca.pem"
check
assert_eq "foreign CA: exit" 1 "$RC"
assert_match "foreign CA" "^tls-failure: TLS handshake: certificate not trusted: " "$(result 6)"
# The certificate is for the address 127.0.0.1 (SAN and CN), not for the name localhost.
conf "" "" localhost
check
assert_match "name mismatch" "^tls-failure: TLS handshake: certificate not trusted: hostname mismatch$" \
	"$(result 6)"
conf

stop_napvd
stop_smbd smb
check
assert_eq "peers down: exit" 1 "$RC"
assert_match "napvd down" "^refused: udp 127\.0\.0\.1:$NAPVD_PORT refused: nothing listens there, or a firewall REJECTs it \(ICMP port unreachable\)$" \
	"$(result 5)"
assert_match "smbd down" "^refused: tcp 127\.0\.0\.1:$smb_PORT refused: nothing listens there, or a firewall REJECTs it \(TCP reset\)$" \
	"$(result 3)"
assert_eq "passed" 5 "$(jget "$T/check.json" 'j["passed"]')"
log "ok: auth, TLS and refused failures are told apart"
log "napctl ports/check: all good"
