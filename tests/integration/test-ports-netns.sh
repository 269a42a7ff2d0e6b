#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# napctl firewall and napctl check across a network namespace boundary with nftables. The peers
# (slapd, smbd with the inbox and an SHV point's share, napvd, napsited's agent endpoint and
# dashboard) run in a server namespace on 10.99.41.1; napctl check runs in a client namespace
# (10.99.41.2) joined to it by a veth pair. Addresses exist only inside the namespaces.
#   1. no ruleset: every probe passes.
#   2. nft -c accepts every ruleset napctl firewall emits (each role, inet/ip/ip6).
#   3. default drop + napctl firewall's rules (server: directory,site,shv; client: the roles
#      napctl check plays): every probe passes.
#   4. the same default-drop table without nap's rules on the server: every probe "blocked".
#   5. REJECT rules for those ports instead: every probe "refused".
#   6. the client's own output chain without nap's rules: "blocked" by this host's firewall.
set -euo pipefail
NETNS_NET=10.99.41
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/peers.sh"
. "$(dirname "$0")/netns.sh"

: "${NAPSITED:=$_nap_build/daemons/napsited/napsited}"
need openssl "$NAPSITED" "$NAPCTL" "$NAPVD" "$PYTHON"
netns_init
require nft
netns_client cli
CLI_IP=$NETNS_NET.2
in_cli cli ip addr add "$CLI_IP/24" dev "${CLI_IF[cli]}"

# ---- the peers, set up on loopback, then moved into the server namespace ---------------------
start_slapd dir
stop_slapd dir
DPORT=${dir_URI##*:}
bg_srv slapd-ns slapd -F "$T/dir/slapd.d" -h "ldap://$SRV_IP:$DPORT/" -d 0
start_smbd smb inbox napconf
stop_smbd smb
SPORT=$smb_PORT
sed -i "s/^  interfaces = 127.0.0.1$/  interfaces = $SRV_IP/" "$T/smb/smb.conf"
grep -q "interfaces = $SRV_IP" "$T/smb/smb.conf" || fail "smb.conf: no interfaces line"
bg_srv smbd-ns env LD_PRELOAD=libnss_wrapper.so NSS_WRAPPER_PASSWD="$T/smb/passwd" \
	NSS_WRAPPER_GROUP="$T/smb/group" smbd -s "$T/smb/smb.conf" --foreground --debug-stdout -d 1

make_site S01 5
NAPVD_PORT=$(free_port udp)
NAPVD_LISTEN=$SRV_IP:$NAPVD_PORT NAPVD_CLIENT_ADDR=$CLI_IP write_napvd_conf "$T/napvd.conf"
bg_srv napvd "$NAPVD" -d -f "$T/napvd.conf"
NAPVD_PID=$BG_PID

printf '%s\n' "$SECRET" >"$T/radius.secret"
printf '%s\n' "$LDAP_ADMINPW" >"$T/bind.pw"
chmod 600 "$T/radius.secret" "$T/bind.pw"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$T/ca.key" -out "$T/ca.pem" -subj "/CN=test endpoint CA" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/endpoint.key" -out "$T/endpoint.csr" -subj "/CN=$SRV_IP" 2>/dev/null
printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n' "$SRV_IP" >"$T/endpoint.ext"
openssl x509 -req -in "$T/endpoint.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial \
	-days 2 -extfile "$T/endpoint.ext" -out "$T/endpoint.pem" 2>/dev/null

APORT=$(free_port tcp)
WPORT=$(free_port tcp)
mkdir -p "$T/site-state"
cat >"$T/napsited.conf" <<EOF
[site]
code = S01
key = $T/site.key
state_dir = $T/site-state
pidfile = $T/napsited.pid
poll_interval = 1s

[store]
uri = sqlite:$T/site.db

[directory]
uri = ldap://$SRV_IP:$DPORT
base = $LDAP_SUFFIX
bind_dn = $LDAP_ADMIN
bind_password_file = $T/bind.pw
starttls = no
timeout = 2s

[agent]
listen = $SRV_IP:$APORT
cert = $T/endpoint.pem
key = $T/endpoint.key

[web]
listen = $SRV_IP:$WPORT
allow = $NETNS_NET.0/24

[deployment]
inbox_url = smb://$SRV_IP:$SPORT/inbox
inbox_credentials = $smb_CRED
radius = $SRV_IP:$NAPVD_PORT
radius_secret_file = $T/radius.secret
ca_file = $T/ca.pem
EOF
ctl() { "$NAPCTL" -c "$T/napsited.conf" "$@"; }
ctl policy add DSA-1 --package openssl --min-version 3.0.15-1 --severity critical \
	>/dev/null 2>&1 || fail "napctl policy add"
"$PYTHON" - "$T/site.db" "smb://$SRV_IP:$SPORT/napconf" "$smb_CRED" "ldap://$SRV_IP:$DPORT" <<'PY'
import json, sqlite3, sys, time
db, url, cred, uri = sys.argv[1:]
c = sqlite3.connect(db)
now = int(time.time())
c.execute("INSERT INTO shv_points (host, url, credentials, settings, revision, created, updated)"
          " VALUES (?, ?, ?, ?, 1, ?, ?)",
          ("shv1", url, cred, json.dumps({"site": "S01", "uri": uri}), now, now))
c.commit()
PY
bg_srv napsited "$NAPSITED" -d -f "$T/napsited.conf"
NAPSITED_PID=$BG_PID

# ready: napvd answers the client, the HSR is published, smbd and the endpoints listen
for ((i = 0; i < 150; i++)); do
	_nap_dead "$NAPSITED_PID" && fail "napsited exited during startup"
	_nap_dead "$NAPVD_PID" && fail "napvd exited during startup"
	rc=0
	in_cli cli "$NAPCTL" radius query --server "$SRV_IP:$NAPVD_PORT" --secret "$SECRET" \
		--no-soh --timeout 200ms >/dev/null 2>&1 || rc=$?
	if ((rc == 0 || rc == 2)) &&
		in_srv ldapsearch -x -LLL -H "ldap://$SRV_IP:$DPORT" -b "$LDAP_SUFFIX" \
			'(objectClass=napHealthStateReference)' napHsrRevision 2>/dev/null |
		grep -q '^napHsrRevision:' &&
		in_cli cli bash -c "exec 9<>/dev/tcp/$SRV_IP/$SPORT && exec 8<>/dev/tcp/$SRV_IP/$APORT \
			&& exec 7<>/dev/tcp/$SRV_IP/$WPORT" 2>/dev/null; then
		break
	fi
	sleep 0.1
done
((i < 150)) || fail "the peers were not ready in the server namespace within 15 s"

N_PROBES=7
# check TIMEOUT: napctl check --json in the client namespace; exit status in RC
check() {
	RC=0
	in_cli cli "$NAPCTL" -c "$T/napsited.conf" check --json --timeout "$1" >"$T/check.json" \
		2>"$T/check.err" || RC=$?
	[[ -s $T/check.json ]] || fail "napctl check printed nothing: $(cat "$T/check.err")"
}
results() { jget "$T/check.json" '" ".join(r["result"] for r in j["results"])'; }
all_of() { # WORD: the WORD repeated N_PROBES times
	local s="" k
	for ((k = 0; k < N_PROBES; k++)); do s+="${s:+ }$1"; done
	printf '%s' "$s"
}

# ---- 1. no ruleset ---------------------------------------------------------------------------
check 2s
assert_eq "no firewall: results" "$(all_of ok)" "$(results)"
assert_eq "no firewall: exit" 0 "$RC"
assert_eq "probes" "$N_PROBES" "$(jget "$T/check.json" 'j["probes"]')"

# ---- 2. nft -c accepts every emitted ruleset ---------------------------------------------------
ALL=site,directory,shv,dhcp,hra,client,admin
for rf in site/inet directory/inet shv/inet dhcp/inet hra/inet client/inet admin/inet $ALL/ip \
	$ALL/ip6; do
	ctl firewall --role "${rf%/*}" --family "${rf#*/}" -o "$T/fw.nft" ||
		fail "napctl firewall --role ${rf%/*} --family ${rf#*/}"
	in_srv nft -c -f "$T/fw.nft" 2>"$T/nft.err" ||
		fail "nft -c rejects the ruleset for $rf: $(cat "$T/nft.err")"
done
log "ok: nft -c accepts the rulesets of every role and family"

# ---- 3. default drop + nap's rules: the probes pass -----------------------------------------
ctl firewall --role directory,site,shv -o "$T/srv.nft"
ctl firewall --role site,shv,dhcp,client,admin -o "$T/cli.nft"
in_srv nft -f "$T/srv.nft" || fail "nft -f srv.nft"
in_cli cli nft -f "$T/cli.nft" || fail "nft -f cli.nft"
assert_match "server policy" "policy drop" "$(in_srv nft list chain inet nap input)"
check 2s
assert_eq "nap rules: results" "$(all_of ok)" "$(results)"
assert_eq "nap rules: exit" 0 "$RC"
log "ok: with default drop and napctl firewall's rules every probe passes"

# baseline FILE [EXTRA_INPUT_RULE...]: the same default-drop table without nap's accept rules
baseline() {
	local f=$1 r
	shift
	{
		printf 'table inet nap\ndelete table inet nap\ntable inet nap {\n'
		printf '\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n'
		printf '\t\tiif "lo" accept\n\t\tct state established,related accept\n'
		for r; do printf '\t\t%s\n' "$r"; done
		printf '\t}\n\tchain output {\n'
		printf '\t\ttype filter hook output priority filter; policy drop;\n'
		printf '\t\toif "lo" accept\n\t\tct state established,related accept\n\t}\n}\n'
	} >"$f"
}

# ---- 4. default drop without nap's rules: blocked -------------------------------------------
baseline "$T/drop.nft"
in_srv nft -f "$T/drop.nft" || fail "nft -f drop.nft"
check 1s
assert_eq "default drop: results" "$(all_of blocked)" "$(results)"
assert_eq "default drop: exit" 1 "$RC"
assert_match "blocked: why" "no answer from tcp $SRV_IP:$DPORT in 1000 ms: a firewall drops it\?" \
	"$(jget "$T/check.json" 'j["results"][0]["why"]')"
assert_match "blocked radius: why" "no answer from udp $SRV_IP:$NAPVD_PORT in 1000 ms" \
	"$(jget "$T/check.json" 'j["results"][4]["why"]')"

# ---- 5. REJECT: refused ------------------------------------------------------------------------
baseline "$T/reject.nft" \
	"tcp dport { $DPORT, $SPORT, $APORT, $WPORT } reject with tcp reset" \
	"udp dport $NAPVD_PORT reject"
in_srv nft -f "$T/reject.nft" || fail "nft -f reject.nft"
check 2s
assert_eq "reject: results" "$(all_of refused)" "$(results)"
assert_eq "reject: exit" 1 "$RC"
assert_match "refused radius: why" "ICMP port unreachable" \
	"$(jget "$T/check.json" 'j["results"][4]["why"]')"
log "ok: without nap's rules the probes are blocked (drop) or refused (reject)"

# ---- 6. the client's own output chain ---------------------------------------------------------
in_srv nft -f "$T/srv.nft"
baseline "$T/cli-drop.nft"
in_cli cli nft -f "$T/cli-drop.nft"
check 1s
assert_eq "client output drop: results" "$(all_of blocked)" "$(results)"
in_cli cli nft -f "$T/cli.nft"
check 2s
assert_eq "rules back: results" "$(all_of ok)" "$(results)"
log "napctl firewall/check in namespaces: all good"
