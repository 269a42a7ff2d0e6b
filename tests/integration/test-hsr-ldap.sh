#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# napvd's LDAP HSR source against a real slapd (nap schema, syncprov): HSR entries written by the
# admin with ldapadd/ldapmodify, documents signed with napctl hsr sign (no napsited).
#   1. StartTLS with a bind from a 0600 password file, the first URI dead: napvd answers with
#      the directory's revision; a group-readable password file and a wrong CA are refused.
#   2. polling: an updated entry is picked up within query_interval; a hung directory
#      (SIGSTOP) never delays a RADIUS reply, not even across a reload, napvd recovers after
#      SIGCONT and stops at once while the directory hangs.
#   3. ldaps:// with refreshAndPersist: an update is picked up within about a second; no search
#      while napvd answers thousands of requests; forged entries (another key, digest,
#      revision, missing attribute, rollback) are rejected by reason with a log line while the
#      previous HSR keeps answering.
#   4. directory down: served from the cache, also by a restarted napvd (its saved copy), until
#      max_age (counted from the last read, not from the restart); then the server-communication
#      failure.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/peers.sh"
. "$(dirname "$0")/hsr-ldap-lib.sh"
need radclient "$PYTHON"

start_slapd prov
# napvd must trust the directory through ca_file alone, not through libldap's environment.
unset LDAPTLS_CACERT
"$NAPCTL" key generate --private "$T/site.key" --public "$T/site.pub" >/dev/null
"$NAPCTL" key generate --private "$T/other.key" --public "$T/other.pub" >/dev/null
publish prov S01 5
DOC5=$DOC

DEAD=$(free_port tcp)
printf '%s\n' "$LDAP_ADMINPW" >"$T/bind.pw"
chmod 600 "$T/bind.pw"

# --- 1. StartTLS, bind, first URI dead; refusals by napvd -n ----------------------------------
HSR_URIS="ldap://127.0.0.1:$DEAD $prov_URI" HSR_PERSIST=no HSR_QI=2s HSR_TIMEOUT=1s \
	HSR_BIND=$T/bind.pw write_ldap_conf "$T/napvd.conf"
"$NAPVD" -n -f "$T/napvd.conf" >"$T/check.out" 2>"$T/check.err" ||
	fail "napvd -n: $(cat "$T/check.err")"
assert_match "napvd -n prints the URIs" "uri = ldap://127.0.0.1:$DEAD $prov_URI" \
	"$(grep '^uri =' "$T/check.out")"
assert_match "napvd -n prints starttls" '^starttls = yes$' "$(grep '^starttls' "$T/check.out")"
assert_match "napvd -n reads the directory" 'HSRs read from the directory: 1 site' \
	"$(cat "$T/check.err")"
grep -v '^; secret = ' "$T/check.out" | grep -qw "$LDAP_ADMINPW" &&
	fail "napvd -n printed the bind password"

cp "$T/bind.pw" "$T/bind-open.pw"
chmod 640 "$T/bind-open.pw"
sed "s|$T/bind.pw|$T/bind-open.pw|" "$T/napvd.conf" >"$T/open.conf"
rc=0
"$NAPVD" -n -f "$T/open.conf" >/dev/null 2>"$T/open.err" || rc=$?
assert_ne "napvd -n with a group-readable password file fails" 0 "$rc"
assert_match "the refusal names the mode" 'lets group or other read it' "$(cat "$T/open.err")"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-subj "/CN=some other CA" -keyout "$T/other-ca.key" -out "$T/other-ca.pem" 2>/dev/null
sed "s|ca_file = .*|ca_file = $T/other-ca.pem|" "$T/napvd.conf" >"$T/badca.conf"
"$NAPVD" -n -f "$T/badca.conf" >/dev/null 2>"$T/badca.err" || fail "napvd -n (wrong CA)"
assert_match "StartTLS with a CA that did not sign the server certificate fails" \
	'could not be read from the directory' "$(cat "$T/badca.err")"

start_napvd "$T/napvd.conf"
expect_answer "StartTLS + bind" "$DOC5"
assert_match "napvd skipped the dead URI" \
	"connected to $prov_URI; failed before it: ldap://127.0.0.1:$DEAD: connect: Connection refused" \
	"$(grep 'hsr: ldap: connected' "$T/napvd.log" | tail -1)"
assert_eq "napvd_hsr_ldap_up" 1 "$(metric napvd_hsr_ldap_up)"
assert_eq "napvd_hsr_ldap_persist (persist = no)" 0 "$(metric napvd_hsr_ldap_persist)"

# --- 2. polling: an update within query_interval (2 s) --------------------------------------
S0=$(metric napvd_hsr_ldap_searches_total)
publish prov S01 6
DOC6=$DOC
wait_rev 6 3500
log "ok: polling napvd took revision 6 ${WAITED_MS} ms after the update (query_interval 2 s)"
expect_answer "polling, after the update" "$DOC6"
assert_ge "searches while polling" $((S0 + 1)) "$(metric napvd_hsr_ldap_searches_total)"

# A hung directory: every RADIUS reply still immediate (radclient, one at a time).
SOH6=$(sample --site S01 --hsr "$DOC6" --compliant yes)
E0=$(metric napvd_hsr_ldap_errors_total)
kill -STOP "$prov_PID"
t_end=$(($(now_ms) + 4500))
n=0
worst=0
while (($(now_ms) < t_end)); do
	t0=$(now_ms)
	rc_send "$T/hung.out" "127.0.0.1:$NAPVD_PORT" "$SECRET" < <(soh_request "$SOH6") || true
	dt=$(($(now_ms) - t0))
	((dt > worst)) && worst=$dt
	[[ $(rc_code "$T/hung.out") == Access-Accept ]] ||
		fail "no Access-Accept while the directory hangs (request $n)"
	n=$((n + 1))
done
hung_errors=$(metric napvd_hsr_ldap_errors_total)
# A reload while the directory hangs: the old reader thread stops at once, replies go on.
R0=$(metric "$M_RELOADS" 'result="ok"')
kill -HUP "$NAPVD_PID"
t0=$(now_ms)
rc_send "$T/hup.out" "127.0.0.1:$NAPVD_PORT" "$SECRET" < <(soh_request "$SOH6") || true
dt=$(($(now_ms) - t0))
assert_eq "reply right after SIGHUP while the directory hangs" Access-Accept \
	"$(rc_code "$T/hup.out")"
((dt < 1000)) || fail "the reply after SIGHUP took ${dt} ms"
assert_eq "reload while the directory hangs" $((R0 + 1)) "$(metric "$M_RELOADS" 'result="ok"')"
kill -CONT "$prov_PID"
log "directory hung 4.5 s: $n radclient replies, slowest ${worst} ms; after SIGHUP ${dt} ms"
((worst < 1000)) || fail "a RADIUS reply took ${worst} ms while the directory hung"
assert_ge "radclient replies while hung" 5 "$n"
assert_ge "directory errors while hung (timeout 1 s)" $((E0 + 1)) "$hung_errors"
wait_metric napvd_hsr_ldap_up "" 1 8
log "ok: napvd reads the directory again after SIGCONT"
expect_answer "after the hang" "$DOC6"
# Shut down while the directory hangs: napvd does not wait for it.
kill -STOP "$prov_PID"
sleep 1.5
t0=$(now_ms)
stop_napvd
dt=$(($(now_ms) - t0))
kill -CONT "$prov_PID"
log "napvd stopped in ${dt} ms while the directory hung"
((dt < 1500)) || fail "napvd took ${dt} ms to stop while the directory hung"

# --- 3. ldaps://, refreshAndPersist ------------------------------------------------------------
rm -f "$T/napvd.log"
HSR_URIS="$prov_LDAPS" HSR_PERSIST=auto HSR_QI=60s HSR_TIMEOUT=2s HSR_FILTER='(napSiteCode=*)' \
	write_ldap_conf "$T/napvd.conf"
start_napvd "$T/napvd.conf"
expect_answer "ldaps://" "$DOC6"
wait_metric napvd_hsr_ldap_persist "" 1 5
S0=$(metric napvd_hsr_ldap_searches_total)
N0=$(metric napvd_hsr_ldap_notifications_total)
publish prov S01 7
DOC7=$DOC
wait_rev 7 1500
log "ok: persist napvd took revision 7 ${WAITED_MS} ms after the update (query_interval 60 s)"
expect_answer "persist, after the update" "$DOC7"
assert_ge "notifications" $((N0 + 1)) "$(metric napvd_hsr_ldap_notifications_total)"

# No directory read on the request path: the search counter stands still under load.
S0=$(metric napvd_hsr_ldap_searches_total)
Q0=$(metric napvd_requests_total 'code="Access-Request"')
"$NAPBENCH" radius --server "127.0.0.1:$NAPVD_PORT" --secret "$SECRET" --hsr "$DOC7" \
	--duration 2 --clients 2 --window 8 --json >"$T/bench.out" 2>"$T/bench.log" || true
Q1=$(metric napvd_requests_total 'code="Access-Request"')
S1=$(metric napvd_hsr_ldap_searches_total)
log "napbench: $((Q1 - Q0)) requests answered by napvd"
assert_ge "requests during the load" $((Q0 + 1000)) "$Q1"
assert_eq "LDAP searches during $((Q1 - Q0)) requests" "$S0" "$S1"
assert_eq "napvd_hsr_reads_on_request_path_total" 0 \
	"$(metric napvd_hsr_reads_on_request_path_total)"

# Forged or broken entries: rejected by reason, logged, revision 7 keeps answering.
# forge REASON WHAT CN SITE REV DOC [DIGEST]
forge() {
	local reason=$1 what=$2
	shift 2
	local r0
	r0=$(metric napvd_hsr_rejected_total "reason=\"$reason\"")
	ldap_put prov "$@"
	wait_metric napvd_hsr_rejected_total "reason=\"$reason\"" $((r0 + 1)) 5
	log "ok: $what: napvd_hsr_rejected_total{reason=\"$reason\"} grew"
	grep -q "rejected ($reason)" "$T/napvd.log" || fail "$what: no log line 'rejected ($reason)'"
	expect_answer "after $what" "$DOC7"
}
forge signature "document signed by another key" S01 S01 8 "$(hsr_doc S01 8 "$T/other.key")" \
	"$(doc_digest "$T/hsr-S01-8-other.json" "$T/other.pub")"
DOC8=$(hsr_doc S01 8)
forge mismatch "napHsrDigest differs" S01 S01 8 "$DOC8" \
	0000000000000000000000000000000000000000000000000000000000000000
forge mismatch "napHsrRevision disagrees with the document" S01 S01 9 "$DOC8"
forge rollback "a lower revision (rollback)" S01 S01 3 "$(hsr_doc S01 3)"
forge mismatch "napSiteCode disagrees with the document" S01 S01 8 "$(hsr_doc S02 8)" -
# An entry without napHsrDocument (the schema requires it of napHealthStateReference, so it is
# an extensibleObject the filter napSiteCode=* still finds).
R0=$(metric napvd_hsr_rejected_total 'reason="missing_attribute"')
ldapadd -x -H "$prov_URI" -D "$LDAP_ADMIN" -w "$LDAP_ADMINPW" >/dev/null <<EOF ||
dn: cn=S01-partial,$LDAP_CONTAINER
objectClass: device
objectClass: extensibleObject
cn: S01-partial
napSiteCode: S01
napHsrRevision: 10
EOF
	fail "ldapadd of the partial entry"
wait_metric napvd_hsr_rejected_total 'reason="missing_attribute"' $((R0 + 1)) 5
grep -q 'rejected (missing_attribute): no napHsrDocument' "$T/napvd.log" ||
	fail "no log line for the entry without napHsrDocument"
expect_answer "after an entry without napHsrDocument" "$DOC7"
ldapdelete -x -H "$prov_URI" -D "$LDAP_ADMIN" -w "$LDAP_ADMINPW" \
	"cn=S01-partial,$LDAP_CONTAINER" || fail "ldapdelete"
assert_eq "napvd_hsr_revision while forged entries came and went" 7 \
	"$(metric napvd_hsr_revision 'site="S01"')"

# The good revision 8 after all that is taken.
ldap_put prov S01 S01 8 "$DOC8"
wait_rev 8 1500
expect_answer "revision 8" "$DOC8"
log "ok: a good revision 8 is taken ${WAITED_MS} ms after the forged ones"
assert_eq "napvd_hsr_reads_on_request_path_total" 0 \
	"$(metric napvd_hsr_reads_on_request_path_total)"
stop_napvd

# --- 4. directory down: cache, saved copy across a restart, then max_age -------------------
rm -f "$T/napvd.log"
HSR_URIS="$prov_LDAPS" HSR_PERSIST=no HSR_QI=1s HSR_MAX_AGE=10s HSR_TIMEOUT=1s \
	write_ldap_conf "$T/napvd.conf"
start_napvd "$T/napvd.conf"
expect_answer "before the outage" "$DOC8"
sleep 1.2 # one more read, so the saved copy is fresh
stop_slapd prov
T_DOWN=$(now_ms)
expect_answer "directory stopped: from the cache" "$DOC8"
wait_metric napvd_hsr_ldap_errors_total "" 1 4
stop_napvd
start_napvd "$T/napvd.conf"
assert_match "the restarted napvd loaded its saved copy" 'saved HSR\(s\) from' \
	"$(grep 'saved HSR' "$T/napvd.log" | tail -1)"
expect_answer "restarted during the outage: from the saved copy" "$DOC8"
for (( ; ; )); do
	ask "$DOC8"
	[[ $A_BRANCH == server_failure ]] && break
	(($(now_ms) - T_DOWN > 16000)) && fail "still '$A_BRANCH' 16 s into the outage (max_age 10 s)"
	sleep 0.2
done
DOWN_MS=$(($(now_ms) - T_DOWN))
log "server failure ${DOWN_MS} ms after the directory stopped (max_age 10 s, query_interval 1 s)"
# The age counts from the last read (at most query_interval before the stop), for the restarted
# napvd from its saved copy (saved at least every max_age / 4).
((DOWN_MS >= 6000)) || fail "the cache expired after ${DOWN_MS} ms, before max_age"
assert_eq "past max_age: result" server_communication "$A_RESULT"
assert_ge "napvd_hsr_age_seconds past max_age" 10 "$(metric napvd_hsr_age_seconds)"
stop_napvd
log "PASS"
