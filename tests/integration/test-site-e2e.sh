#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# End to end through the real directory: napctl policy add -> napsited (store: sqlite or
# PostgreSQL, $1) signs and publishes the HSR to a slapd provider -> slapd's own syncrepl carries
# it to a consumer -> napvd reads the consumer (Content Sync) -> a client evaluated against the
# old revision is "out of date", one against the new revision is judged by its own flag.
# Exemptions change the revision but not the digest, so clients of the previous revision still
# match. No directory query on the request path (counters), forged entries are refused.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/peers.sh"
need radclient openssl
STORE_KIND=${1:-sqlite}
NAPSITED=${NAPSITED:-$_nap_build/daemons/napsited/napsited}

start_slapd prov
start_slapd cons consumer "$prov_URI"

"$NAPCTL" key generate --private "$T/site.key" --public "$T/site.pub" >/dev/null
printf '%s\n' "$LDAP_ADMINPW" >"$T/ldap.secret"
chmod 600 "$T/ldap.secret"
case $STORE_KIND in
sqlite) STORE_URI=sqlite:$T/site.db DIR_URI=$prov_LDAPS ;;
pg)
	start_postgres
	STORE_URI=$PG_URI DIR_URI=$prov_URI
	;;
*) fail "unknown store kind $STORE_KIND" ;;
esac
SITED_METRICS=$(free_port tcp)
mkdir -p "$T/sited"
cat >"$T/napsited.conf" <<CONF
[site]
code = S01
key = $T/site.key
state_dir = $T/sited
pidfile = $T/napsited.pid
metrics = 127.0.0.1:$SITED_METRICS
poll_interval = 200ms

[store]
uri = $STORE_URI

[directory]
uri = $DIR_URI
base = $LDAP_SUFFIX
bind_dn = $LDAP_ADMIN
bind_password_file = $T/ldap.secret
starttls = yes
ca_file = $T/tls/ca.pem
timeout = 3s
retry_min = 200ms
retry_max = 2s
CONF
"$NAPSITED" -d -f "$T/napsited.conf" >"$T/napsited.log" 2>&1 &
SITED_PID=$!
_nap_pids+=("$SITED_PID")
ctl() { "$NAPCTL" -c "$T/napsited.conf" "$@"; }
sited_metric() { METRICS_PORT=$SITED_METRICS metric "$@"; }
napvd_rev() { metric napvd_hsr_revision 'site="S01"'; }

# wait_until SECONDS WHAT COMMAND...: poll every 50 ms.
wait_until() {
	local secs=$1 what=$2 i
	shift 2
	for ((i = 0; i < secs * 20; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	fail "timed out after ${secs}s waiting for $what"
}
published() { [[ $(sited_metric napsited_published_revision 2>/dev/null) == "$1" ]]; }
napvd_has() { [[ $(napvd_rev 2>/dev/null) == "$1" ]]; }
entry_rev() { # entry_rev SLAPD: napHsrRevision of S01 in that directory
	local v=${1}_URI
	ldapsearch -x -LLL -H "${!v}" -b "$LDAP_SUFFIX" '(napSiteCode=S01)' napHsrRevision |
		sed -n 's/^napHsrRevision: //p'
}
has_entry_rev() { [[ $(entry_rev "$1") == "$2" ]]; }
# fetch_hsr FILE: the signed document of S01 from the consumer.
fetch_hsr() {
	ldapsearch -x -LLL -o ldif-wrap=no -H "$cons_URI" -b "$LDAP_SUFFIX" '(napSiteCode=S01)' \
		napHsrDocument | "$PYTHON" -c '
import base64, sys
for line in sys.stdin:
    if line.startswith("napHsrDocument:: "):
        sys.stdout.buffer.write(base64.b64decode(line.split(" ", 1)[1]))
    elif line.startswith("napHsrDocument: "):
        sys.stdout.write(line.split(" ", 1)[1].rstrip("\n"))
' >"$1"
	[[ -s $1 ]] || fail "no napHsrDocument for S01 on the consumer"
}
# verdict MACHINE HSR SAMPLE-ARGS...: "result branch" of napvd's answer.
verdict() {
	local machine=$1 hsr=$2 soh
	shift 2
	soh=$(sample --site S01 --hsr "$hsr" --machine "$machine" "$@")
	"$NAPCTL" radius query --server "127.0.0.1:$NAPVD_PORT" --secret "$SECRET" \
		--nas-type dhcp --machine "$machine" --soh "$soh" --json >"$T/q.json" ||
		[[ $? == 2 ]] || fail "no answer from napvd"
	echo "$(jget "$T/q.json" "$JQ_Q_RESULT") $(jget "$T/q.json" "$JQ_Q_BRANCH")"
}

log "policies in through napctl ($STORE_KIND store)"
ctl policy add deb-openssl-2026-01 --package openssl --min-version 3.0.15-1~deb12u1 \
	--severity critical --effective 2026-01-01 >/dev/null
ctl policy add DSA-5999-1 --requires libc6=2.36-9+deb12u9 --requires libc-bin=2.36-9+deb12u9 \
	--severity important >/dev/null
assert_eq "store revision after two adds" "2 policies, revision 2" "$(ctl policy list | tail -1)"
wait_until 20 "napsited to publish revision 2" published 2
assert_eq "provider entry revision" 2 "$(entry_rev prov)"
wait_until 20 "syncrepl to carry revision 2 to the consumer" has_entry_rev cons 2

log "napvd reads the consumer"
NAPVD_PORT=$(free_port)
METRICS_PORT=$(free_port tcp)
write_napvd_conf "$T/napvd.conf"
"$PYTHON" - "$T/napvd.conf" "$cons_URI" "$LDAP_SUFFIX" "$T/tls/ca.pem" <<'PY'
import sys
p, uri, base, ca = sys.argv[1:]
s = open(p).read()
s = s.replace("source = file\n", "source = ldap\nuri = %s\nbase = %s\nstarttls = yes\n"
              "ca_file = %s\npersist = auto\n" % (uri, base, ca))
# Changes must come by Content Sync: with the hourly full read out of the way, the search
# counter below cannot move by coincidence while requests are answered.
s = s.replace("query_interval = 60s", "query_interval = 1h")
s = s.replace("file = %s\n" % (p.rsplit("/", 1)[0] + "/hsr.json"), "")
open(p, "w").write(s)
PY
start_napvd "$T/napvd.conf"
wait_until 20 "napvd to load revision 2" napvd_has 2
fetch_hsr "$T/hsr-r2.json"

assert_eq "compliant client at revision 2" "compliant matches" \
	"$(verdict pc-1 "$T/hsr-r2.json" --compliant yes)"
assert_eq "client missing an update at revision 2" "noncompliant matches" \
	"$(verdict pc-2 "$T/hsr-r2.json" --compliant no --missing DSA-5999-1)"

log "no directory query on the request path"
searches=$(metric napvd_hsr_ldap_searches_total)
soh=$(sample --site S01 --hsr "$T/hsr-r2.json" --machine pc-1 --compliant yes)
for ((i = 0; i < 100; i++)); do
	"$NAPCTL" radius query --server "127.0.0.1:$NAPVD_PORT" --secret "$SECRET" \
		--nas-type dhcp --machine pc-1 --soh "$soh" >/dev/null || fail "request $i unanswered"
done
assert_eq "LDAP searches while answering 100 requests" "$searches" \
	"$(metric napvd_hsr_ldap_searches_total)"
assert_eq "HSR reads on the request path" 0 "$(metric napvd_hsr_reads_on_request_path_total)"

log "a new policy: revision 3 through napsited, the provider, syncrepl and napvd"
t0=$(date +%s%N)
ctl policy add deb-sudo-2026-03 --package sudo --min-version 1.9.13p3-1+deb12u2 \
	--severity moderate >/dev/null
wait_until 20 "napvd to load revision 3" napvd_has 3
log "policy add -> napvd at revision 3: $((($(date +%s%N) - t0) / 1000000)) ms"
fetch_hsr "$T/hsr-r3.json"
assert_eq "client evaluated against revision 2" "noncompliant out_of_date" \
	"$(verdict pc-1 "$T/hsr-r2.json" --compliant yes)"
assert_eq "compliant client at revision 3" "compliant matches" \
	"$(verdict pc-1 "$T/hsr-r3.json" --compliant yes)"
assert_eq "non-compliant client at revision 3" "noncompliant matches" \
	"$(verdict pc-2 "$T/hsr-r3.json" --compliant no --missing deb-sudo-2026-03)"

log "an exemption: revision 4, same digest"
ctl exemption add lab --client 'lab-*' --reason "re-imaged daily" >/dev/null
wait_until 20 "napvd to load revision 4" napvd_has 4
assert_eq "revision-3 client after an exemption-only change" "compliant matches" \
	"$(verdict pc-1 "$T/hsr-r3.json" --compliant yes)"
assert_eq "exempt lab machine missing an update" "compliant exempt" \
	"$(verdict lab-07 "$T/hsr-r3.json" --compliant no --missing deb-sudo-2026-03)"
assert_eq "non-lab machine missing an update" "noncompliant matches" \
	"$(verdict pc-2 "$T/hsr-r3.json" --compliant no --missing deb-sudo-2026-03)"
assert_match "the status record names the exemption" '"machine":"lab-07".*"branch":"exempt","exemption":"lab"' \
	"$(tr -d '\000' <"$T/state/spool" | grep '"machine":"lab-07"')"

log "removing a policy changes the digest: revision 5"
ctl policy remove deb-sudo-2026-03 >/dev/null
wait_until 20 "napvd to load revision 5" napvd_has 5
assert_eq "revision-3 client after a policy removal" "noncompliant out_of_date" \
	"$(verdict pc-1 "$T/hsr-r3.json" --compliant yes)"

log "a forged entry on the provider is refused; revision 5 stays"
rejected=$(metric napvd_hsr_rejected_total)
fetch_hsr "$T/hsr-r5.json"
"$PYTHON" - "$T/hsr-r5.json" "$T/forged.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["revision"] = 99
d["policies"] = []
json.dump(d, open(sys.argv[2], "w"), sort_keys=True, separators=(",", ":"))
PY
ldapmodify -x -H "$prov_URI" -D "$LDAP_ADMIN" -w "$LDAP_ADMINPW" >/dev/null <<LDIF
dn: cn=S01,cn=System Management,$LDAP_SUFFIX
changetype: modify
replace: napHsrRevision
napHsrRevision: 99
-
replace: napHsrDocument
napHsrDocument:< file://$T/forged.json
LDIF
wait_until 20 "the consumer to hold the forged entry" has_entry_rev cons 99
wait_until 20 "napvd to count the forged entry" \
	eval '(( $(metric napvd_hsr_rejected_total) > rejected ))'
assert_eq "napvd revision after the forgery" 5 "$(napvd_rev)"
assert_eq "client at revision 5 after the forgery" "compliant matches" \
	"$(verdict pc-1 "$T/hsr-r5.json" --compliant yes)"
grep -qi "reject\|signature" "$T/napvd.log" || fail "no log line about the rejected entry"
assert_alive "$NAPVD_PID" napvd
assert_alive "$SITED_PID" napsited
log "passed"
