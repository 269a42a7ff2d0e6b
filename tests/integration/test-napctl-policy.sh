#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# napctl's site commands against a real SQLite store (--store sqlite:$T/site.db): policy
# add/list/show/remove, the revision growing by one per change and not on a failed or empty
# change, JSON and CSV imports (a bad file changes nothing and names its line or index),
# exemptions and groups, agent enrollment tokens and states, SIGUSR1 to a running napsited named
# by the pidfile; then `hsr show --directory` against a real slapd holding an entry signed by
# `napctl hsr sign`: verified, tampered, wrong key, missing site, ldaps and StartTLS.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/peers.sh"
need "$PYTHON"

DB=$T/site.db
ST=(--store "sqlite:$DB")

# ctl ARGS...: napctl on the store; stdout in $T/out, stderr in $T/err, exit status in RC.
ctl() {
	RC=0
	"$NAPCTL" "$@" >"$T/out" 2>"$T/err" || RC=$?
}
# revision: the store's revision as policy list reports it ("N policies, revision R").
revision() {
	"$NAPCTL" "${ST[@]}" policy list | sed -n '$s/.*, revision \([0-9]*\)$/\1/p'
}
# changed WHAT OLD: the last command succeeded and printed "revision OLD+1".
changed() {
	local want=$(($2 + 1))
	assert_eq "$1: exit" 0 "$RC"
	# napctl prints the revision the store returned; the next check reads it back.
	grep -qx "revision $want" "$T/out" ||
		fail "$1: expected a line 'revision $want', got: $(cat "$T/out" "$T/err")"
	log "ok: $1: revision $want"
}
# unchanged WHAT REV EXIT MESSAGE-REGEX: the command failed as expected and the revision stayed.
unchanged() {
	assert_eq "$1: exit" "$3" "$RC"
	assert_match "$1: message" "$4" "$(cat "$T/err")"
	assert_eq "$1: store revision unchanged" "$2" "$(revision)"
}
ids() {
	"$NAPCTL" "${ST[@]}" policy list --json | jget - '",".join(p["id"] for p in j["policies"])'
}

# ---- policy add / list / show / remove ---------------------------------------------------------
assert_eq "new store: revision" 0 "$(revision)"
ctl "${ST[@]}" policy add DSA-5001-1 --package openssl --min-version 3.0.11-1~deb12u2 \
	--severity critical --effective 2026-11-20 --reason "OpenSSL: several vulnerabilities"
changed "policy add" 0
ctl "${ST[@]}" policy add RHSA-2026:0001 --requires kernel=5.14.0-427.el9 \
	--requires kernel-core=5.14.0-427.el9 --scheme rpm --severity important \
	--effective 2026-12-01T12:00:00Z
changed "policy add (advisory, two packages)" 1
ctl "${ST[@]}" policy add BASELINE --severity low
changed "policy add (advisory only)" 2
assert_eq "list ids" "BASELINE,DSA-5001-1,RHSA-2026:0001" "$(ids)"

ctl "${ST[@]}" policy add DSA-5001-1 --package openssl --min-version 1 --severity low
unchanged "add an existing id" 3 1 "exists \(--replace"
ctl "${ST[@]}" policy add BAD-1 --severity urgent
unchanged "add with a bad severity" 3 1 "severity"
ctl "${ST[@]}" policy add "BAD ID" --severity low
unchanged "add with a bad id" 3 1 "policy id"
ctl "${ST[@]}" policy add BAD-2 --package p --severity low
unchanged "add --package without --min-version" 3 64 "go together"
ctl "${ST[@]}" policy add BAD-3 --severity low --effective 2026-02-30
unchanged "add with a date that does not exist" 3 64 "--effective"
ctl "${ST[@]}" policy add BAD-4 --severity low --requires nover
unchanged "add with --requires without a version" 3 64 "PACKAGE=MIN_VERSION"

"$NAPCTL" "${ST[@]}" policy show RHSA-2026:0001 --json >"$T/show.json"
assert_eq "show: two requirements" 2 "$(jget "$T/show.json" 'len(j["requires"])')"
assert_eq "show: rpm scheme" rpm "$(jget "$T/show.json" 'j["requires"][0]["scheme"]')"
assert_eq "show: effective" 2026-12-01T12:00:00Z "$(jget "$T/show.json" 'j["effective"]')"
"$NAPCTL" "${ST[@]}" policy show DSA-5001-1 --json >"$T/show.json"
assert_eq "show: package" openssl "$(jget "$T/show.json" 'j["package"]')"
assert_eq "show: date means 00:00 UTC" 2026-11-20T00:00:00Z "$(jget "$T/show.json" 'j["effective"]')"
assert_eq "show: reason" "OpenSSL: several vulnerabilities" "$(jget "$T/show.json" 'j["reason"]')"
ctl "${ST[@]}" policy show DSA-5001-1
assert_match "show (text)" "requires: openssl >= 3.0.11-1~deb12u2" "$(cat "$T/out")"
ctl "${ST[@]}" policy list
assert_match "list (text): table and revision" "BASELINE +low +asap +\(advisory only\).*3 policies, revision 3" \
	"$(tr '\n' ' ' <"$T/out")"

# Putting the same policy again is no change: the revision stays.
ctl "${ST[@]}" policy add BASELINE --severity low --replace
assert_eq "replace with the same content: exit" 0 "$RC"
assert_match "replace with the same content: says unchanged" "revision 3 \(unchanged" "$(cat "$T/out")"
assert_eq "replace with the same content: revision" 3 "$(revision)"
ctl "${ST[@]}" policy add BASELINE --severity moderate --replace
changed "replace with new content" 3

ctl "${ST[@]}" policy remove BASELINE
changed "policy remove" 4
ctl "${ST[@]}" policy remove BASELINE
unchanged "remove a missing id" 5 1 "no policy BASELINE"
ctl "${ST[@]}" policy show BASELINE
assert_eq "show a missing id: exit" 1 "$RC"

# ---- import ------------------------------------------------------------------------------------
cat >"$T/feed.json" <<'EOF'
{"policies": [
 {"id": "DSA-6001-1", "package": "sudo", "min_version": "1.9.13p3-1+deb12u2", "severity": "moderate",
  "effective": "2026-03-01T00:00:00Z", "reason": "sudo"},
 {"id": "DSA-6002-1", "severity": "important", "effective": "asap",
  "requires": [{"package": "libc6", "min_version": "2.36-9+deb12u10"},
               {"package": "libc-bin", "min_version": "2.36-9+deb12u10"}]},
 {"id": "DSA-5001-1", "package": "openssl", "min_version": "3.0.15-1~deb12u1", "severity": "critical"}
]}
EOF
ctl "${ST[@]}" policy import "$T/feed.json"
changed "import JSON (three policies, one revision)" 5
assert_match "import JSON: counts" "3 policies imported .*: 2 new, 1 replaced" "$(cat "$T/out")"
assert_eq "import JSON: ids" "DSA-5001-1,DSA-6001-1,DSA-6002-1,RHSA-2026:0001" "$(ids)"
"$NAPCTL" "${ST[@]}" policy show DSA-5001-1 --json >"$T/show.json"
assert_eq "import replaced DSA-5001-1" 3.0.15-1~deb12u1 "$(jget "$T/show.json" 'j["min_version"]')"

cat >"$T/feed.csv" <<'EOF'
id,package,min_version,scheme,severity,effective,reason
DSA-7001-1,openssh-server,1:9.2p1-2+deb12u5,dpkg,important,2026-02-01,"OpenSSH, ""regreSSHion"""
DSA-7001-1,openssh-client,1:9.2p1-2+deb12u5,,,,
ADV-LOCAL,,,,low,asap,site baseline
EOF
ctl "${ST[@]}" policy import --format csv "$T/feed.csv"
changed "import CSV" 6
"$NAPCTL" "${ST[@]}" policy show DSA-7001-1 --json >"$T/show.json"
assert_eq "CSV rows of one id: one advisory with two packages" 2 "$(jget "$T/show.json" 'len(j["requires"])')"
assert_eq "CSV quoting" 'OpenSSH, "regreSSHion"' "$(jget "$T/show.json" 'j["reason"]')"

# Bad files change nothing and say where.
"$NAPCTL" "${ST[@]}" policy list --json | jget - 'j["policies"]' >"$T/before.json"
cat >"$T/bad.json" <<'EOF'
[{"id": "NEW-1", "severity": "low"},
 {"id": "NEW-2", "severity": "low"},
 {"id": "NEW-3", "severity": "severe"}]
EOF
ctl "${ST[@]}" policy import "$T/bad.json"
unchanged "import a bad JSON file" 7 1 "bad.json: \[2\]: policy NEW-3: severity.*nothing imported"
printf '[{"id": "NEW-1", "severity": "low", "pakage": "x"}]' >"$T/bad2.json"
ctl "${ST[@]}" policy import "$T/bad2.json"
unchanged "import JSON with an unknown member" 7 1 "\[0\] \(id NEW-1\): unknown member 'pakage'"
cat >"$T/bad.csv" <<'EOF'
id,package,min_version,severity,effective
NEW-1,curl,7.88.1-10+deb12u8,important,asap
NEW-2,wget,1.21.3-1+b2,low,asap
NEW-3,zlib1g,,low,asap
EOF
ctl "${ST[@]}" policy import "$T/bad.csv"
unchanged "import a bad CSV file" 7 1 "bad.csv: line 4 \(id NEW-3\): min_version"
printf 'id,severity\nNEW-1,low\nNEW-1,low\n"NEW-2,low\n' >"$T/bad2.csv"
ctl "${ST[@]}" policy import "$T/bad2.csv"
unchanged "import CSV with a repeated id" 7 1 "line 3 \(id NEW-1\): id already on line 2"
printf 'id,package,min_version,severity\nA,x,1,low\nB,y,2,low,extra\n' >"$T/bad3.csv"
ctl "${ST[@]}" policy import - <"$T/bad3.csv"
unchanged "import CSV from stdin with a long row" 7 1 "standard input: line 3: 5 fields"
"$NAPCTL" "${ST[@]}" policy list --json | jget - 'j["policies"]' >"$T/after.json"
cmp -s "$T/before.json" "$T/after.json" || fail "a failed import changed the policies"
log "ok: failed imports left the policies as they were"

# The list's JSON imports as it is and changes nothing; --dry-run stores nothing.
"$NAPCTL" "${ST[@]}" policy list --json >"$T/export.json"
ctl "${ST[@]}" policy import "$T/export.json"
assert_eq "re-import the export: exit" 0 "$RC"
assert_eq "re-import the export: revision unchanged" 7 "$(revision)"
ctl "${ST[@]}" policy import --dry-run "$T/feed.csv"
assert_match "dry run" "2 policies, all good \(dry run" "$(cat "$T/out")"
assert_eq "dry run: revision unchanged" 7 "$(revision)"

printf '[{"id": "ONLY-1", "package": "bash", "min_version": "5.2.15-2+b7", "severity": "low"}]' \
	>"$T/only.json"
ctl "${ST[@]}" policy import --replace-all "$T/only.json"
changed "import --replace-all" 7
assert_match "replace-all: counts" "1 new, 0 replaced, 6 removed" "$(cat "$T/out")"
assert_eq "replace-all: ids" ONLY-1 "$(ids)"

# ---- exemptions and groups ---------------------------------------------------------------------
ctl "${ST[@]}" exemption add EX-LAB --client 'lab-*' --policy ONLY-1 --from 2026-11-01 \
	--until 2027-01-01T00:00:00Z --reason "lab machines"
changed "exemption add (client)" 8
ctl "${ST[@]}" group set servers web1.example db1.example 'app-*' web1.example
changed "group set" 9
assert_match "group set: members deduplicated" "group servers: 3 members" "$(cat "$T/out")"
ctl "${ST[@]}" exemption add EX-SRV --group servers --reason "change freeze"
changed "exemption add (group)" 10
ctl "${ST[@]}" exemption add EX-BAD --client a --group servers
unchanged "exemption with a client and a group" 11 64 "exactly one of --client and --group"
ctl "${ST[@]}" exemption add EX-BAD --client a --from 2027-01-01 --until 2026-01-01
unchanged "exemption ending before it starts" 11 1 "from must be before until"
ctl "${ST[@]}" exemption add EX-LAB --client other
unchanged "exemption id taken" 11 1 "exists"
"$NAPCTL" "${ST[@]}" exemption list --json >"$T/ex.json"
assert_eq "exemption list" EX-LAB,EX-SRV "$(jget "$T/ex.json" '",".join(e["id"] for e in j["exemptions"])')"
assert_eq "exemption window" 2026-11-01T00:00:00Z,2027-01-01T00:00:00Z \
	"$(jget "$T/ex.json" 'j["exemptions"][0]["from"] + "," + j["exemptions"][0]["until"]')"
assert_eq "exemption policies" '["ONLY-1"]' "$(jget "$T/ex.json" 'j["exemptions"][0]["policies"]')"
assert_eq "group exemption" servers "$(jget "$T/ex.json" 'j["exemptions"][1]["group"]')"
"$NAPCTL" "${ST[@]}" group list --json >"$T/groups.json"
assert_eq "group members sorted" "app-*,db1.example,web1.example" \
	"$(jget "$T/groups.json" '",".join(j["groups"][0]["members"])')"
ctl "${ST[@]}" group set servers web1.example
changed "group set (replace members)" 11
ctl "${ST[@]}" exemption remove EX-SRV
changed "exemption remove" 12
ctl "${ST[@]}" exemption remove EX-SRV
unchanged "exemption remove (missing)" 13 1 "no exemption EX-SRV"
ctl "${ST[@]}" group remove servers
changed "group remove" 13
ctl "${ST[@]}" group list
assert_match "group list (text)" "0 groups, revision 14" "$(cat "$T/out")"

# ---- agents ------------------------------------------------------------------------------------
ctl "${ST[@]}" agent enroll pc1.example --lifetime 2h
assert_eq "agent enroll: exit" 0 "$RC"
TOKEN=$(cat "$T/out")
assert_match "agent enroll: one line of 64 hex digits" '^[0-9a-f]{64}$' "$TOKEN"
assert_match "agent enroll: says when it expires (stderr)" "valid until" "$(cat "$T/err")"
if grep -qai "$TOKEN" "$DB" "$DB-wal" 2>/dev/null; then
	fail "the token itself is in the store"
fi
log "ok: the store does not hold the token itself"
ctl "${ST[@]}" agent enroll pc1.example
assert_ne "a second token differs" "$TOKEN" "$(cat "$T/out")"
ctl "${ST[@]}" agent enroll 'bad name'
assert_eq "agent enroll with a bad name: exit" 1 "$RC"
ctl "${ST[@]}" agent enroll pc1.example --lifetime forever
assert_eq "agent enroll with a bad lifetime: exit" 64 "$RC"
ctl "${ST[@]}" agent list --json
assert_eq "agent list (no states yet)" 0 "$(jget "$T/out" 'len(j["agents"])')"
ctl "${ST[@]}" agent show pc1.example
assert_eq "agent show without a state: exit" 1 "$RC"
ctl "${ST[@]}" agent revoke pc1.example
assert_eq "agent revoke without a certificate: exit" 1 "$RC"
assert_eq "agent commands leave the revision" 14 "$(revision)"

# States come from napsited's agent endpoint; here two reports go straight into the store's
# tables, so that list and show have something to read.
if command -v sqlite3 >/dev/null 2>&1; then
	sqlite3 "$DB" <<'EOF'
INSERT INTO agent_state (client, state, compliant, hsr_revision, hsr_digest, evaluated, received, missing, detail)
 VALUES ('pc1.example', 3, 0, 12, '', 1795600000, 1795600005, 'ONLY-1', NULL);
INSERT INTO agent_state_history (client, state, compliant, hsr_revision, hsr_digest, evaluated, received, missing, detail)
 VALUES ('pc1.example', 1, 1, 11, '', 1795500000, 1795500005, '', NULL);
INSERT INTO agent_state_history (client, state, compliant, hsr_revision, hsr_digest, evaluated, received, missing, detail)
 VALUES ('pc1.example', 3, 0, 12, '', 1795600000, 1795600005, 'ONLY-1', NULL);
EOF
	ctl "${ST[@]}" agent list --json
	assert_eq "agent list: client" pc1.example "$(jget "$T/out" 'j["agents"][0]["client"]')"
	assert_eq "agent list: state" restricted "$(jget "$T/out" 'j["agents"][0]["state"]')"
	ctl "${ST[@]}" agent show pc1.example --history 5 --json
	assert_eq "agent show: missing" '["ONLY-1"]' "$(jget "$T/out" 'j["missing"]')"
	assert_eq "agent show: history newest first" 12,11 \
		"$(jget "$T/out" '",".join(str(h["hsr_revision"]) for h in j["history"])')"
	ctl "${ST[@]}" agent list
	assert_match "agent list (text)" "pc1.example +restricted +no +12" "$(cat "$T/out")"
else
	log "sqlite3 not installed: agent states not checked"
fi

# ---- napsited notification ---------------------------------------------------------------------
"$NAPCTL" key generate --private "$T/site.key" --public "$T/site.pub" >/dev/null
cat >"$T/napsited.conf" <<EOF
[site]
code = S01
key = $T/site.key
state_dir = $T
pidfile = $T/napsited.pid

[store]
uri = sqlite:$DB
EOF
ctl -c "$T/napsited.conf" policy add N-1 --severity low
changed "with -c: policy add" 14
assert_match "no pidfile: napsited not running" "napsited is not running" "$(cat "$T/out")"
# A stand-in named napsited that records SIGUSR1 (the real one publishes on it).
cp "$(command -v bash)" "$T/napsited"
"$T/napsited" -c "trap 'echo usr1 >>$T/usr1' USR1; while :; do sleep 0.05; done" &
FAKE_PID=$!
_nap_pids+=("$FAKE_PID")
echo "$FAKE_PID" >"$T/napsited.pid"
for ((i = 0; i < 50; i++)); do
	[[ $(cat "/proc/$FAKE_PID/comm" 2>/dev/null) == napsited ]] && break
	sleep 0.02
done
ctl --config="$T/napsited.conf" policy remove N-1
changed "with --config=: policy remove" 15
assert_match "napsited notified" "napsited \(pid $FAKE_PID\) notified" "$(cat "$T/out")"
for ((i = 0; i < 50; i++)); do
	[[ -s $T/usr1 ]] && break
	sleep 0.05
done
assert_eq "napsited got SIGUSR1" usr1 "$(cat "$T/usr1" 2>/dev/null)"
stop_pid "$FAKE_PID"
# A pidfile naming some other process: never signalled.
sleep 30 &
OTHER=$!
_nap_pids+=("$OTHER")
echo "$OTHER" >"$T/napsited.pid"
ctl policy add N-2 --severity low -c "$T/napsited.conf"
changed "option after the command: policy add" 16
assert_match "not napsited: not signalled" "not napsited" "$(cat "$T/out")"
_nap_dead "$OTHER" && fail "napctl signalled a process that is not napsited"
stop_pid "$OTHER"

# ---- hsr show --directory ----------------------------------------------------------------------
need slapd ldapadd ldapmodify
start_slapd dir
write_hsr S01 7 >"$T/unsigned.json"
"$NAPCTL" hsr sign --key "$T/site.key" "$T/unsigned.json" -o "$T/hsr.json"
printf '%s' "$(cat "$T/hsr.json")" >"$T/hsr.doc" # the value as napsited writes it: no newline
DIGEST=$("$NAPCTL" hsr show "$T/hsr.json" --json | jget - 'j["hsrs"][0]["digest"]')
KEYID=$("$NAPCTL" hsr show "$T/hsr.json" --json | jget - 'j["hsrs"][0]["key_id"]')
ISSUED=$(jget "$T/hsr.json" 'j["issued"].replace("-", "").replace(":", "").replace("T", "")')
ldapadd -x -H "$dir_URI" -D "$LDAP_ADMIN" -w "$LDAP_ADMINPW" >/dev/null <<EOF || fail "ldapadd of the HSR entry"
dn: cn=S01,cn=System Management,$LDAP_SUFFIX
objectClass: napHealthStateReference
cn: S01
napSiteCode: S01
napHsrRevision: 7
napHsrDocument:< file://$T/hsr.doc
napHsrDigest: $DIGEST
napHsrIssued: $ISSUED
napHsrKeyId: $KEYID
EOF

DIRARGS=(--uri "$dir_URI" --base "$LDAP_SUFFIX" --ca-file "$T/tls/ca.pem")
ctl hsr show --directory "${DIRARGS[@]}" --keys "$T/site.pub" --json
assert_eq "directory: exit" 0 "$RC"
assert_eq "directory: site" S01 "$(jget "$T/out" 'j["entries"][0]["site"]')"
assert_eq "directory: revision" 7 "$(jget "$T/out" 'j["entries"][0]["revision"]')"
assert_eq "directory: digest" "$DIGEST" "$(jget "$T/out" 'j["entries"][0]["digest"]')"
assert_eq "directory: key id" "$KEYID" "$(jget "$T/out" 'j["entries"][0]["key_id"]')"
assert_eq "directory: policies" 3 "$(jget "$T/out" 'j["entries"][0]["policies"]')"
assert_eq "directory: signature" verified "$(jget "$T/out" 'j["entries"][0]["signature"]')"
assert_eq "directory: no problems" "[]" "$(jget "$T/out" 'j["entries"][0]["problems"]')"
ctl hsr show --directory "${DIRARGS[@]}"
assert_match "directory (text): not verified without --keys" "signature: not checked" "$(cat "$T/out")"

# Over ldaps://, and with the configuration's [directory] section (StartTLS) and store.
ctl hsr show --directory --uri "$dir_LDAPS" --base "$LDAP_SUFFIX" --ca-file "$T/tls/ca.pem" \
	--keys "$T/site.pub"
assert_eq "directory over ldaps: exit" 0 "$RC"
cat >>"$T/napsited.conf" <<EOF

[directory]
uri = ldap://127.0.0.1:1 $dir_URI
base = $LDAP_SUFFIX
starttls = yes
ca_file = $T/tls/ca.pem
timeout = 2s
EOF
ctl -c "$T/napsited.conf" hsr show --directory --keys "$T/site.pub" --json
assert_eq "directory from the configuration (first URI down): exit" 0 "$RC"
assert_eq "directory: the URI that answered" "$dir_URI" "$(jget "$T/out" 'j["directory"]')"
assert_eq "directory: store revision" 17 "$(jget "$T/out" 'j["store"]["revision"]')"
assert_eq "directory: publish record" never "$(jget "$T/out" 'j["store"]["published"][0]["published"]')"

# A wrong key, a tampered attribute, a site that has no entry.
"$NAPCTL" key generate --private "$T/other.key" --public "$T/other.pub" >/dev/null
ctl hsr show --directory "${DIRARGS[@]}" --keys "$T/other.pub"
assert_eq "directory, wrong key: exit" 1 "$RC"
assert_match "directory, wrong key: says so" "signature check failed" "$(cat "$T/out")"
ldapmodify -x -H "$dir_URI" -D "$LDAP_ADMIN" -w "$LDAP_ADMINPW" >/dev/null <<EOF
dn: cn=S01,cn=System Management,$LDAP_SUFFIX
changetype: modify
replace: napHsrRevision
napHsrRevision: 8
EOF
ctl hsr show --directory "${DIRARGS[@]}" --keys "$T/site.pub" --json
assert_eq "directory, tampered revision: exit" 1 "$RC"
assert_match "directory, tampered revision: problem" "napHsrRevision differs" \
	"$(jget "$T/out" 'j["entries"][0]["problems"]')"
ctl hsr show --directory "${DIRARGS[@]}" --site S99
assert_eq "directory, no entry for the site: exit" 1 "$RC"
assert_match "directory, no entry: message" "no HSR entry for site S99" "$(cat "$T/err")"
ctl hsr show --directory --uri "ldap://127.0.0.1:1" --base "$LDAP_SUFFIX" --timeout 1s
assert_eq "directory down: exit" 1 "$RC"
assert_match "directory down: message" "127.0.0.1:1" "$(cat "$T/err")"
ctl hsr show --directory
assert_eq "no directory and no config: usage" 1 "$RC"

log "all napctl site checks passed"
