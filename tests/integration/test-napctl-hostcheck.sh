#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# napctl hostcheck add/list/show/remove against a real SQLite store (--store sqlite:$T/site.db):
# each type with its parameters, the revision growing by one per change and not on a failed or
# empty change, the JSON form, ids shared with policies (both ways), the type rules (a parameter
# a type does not take, a missing one, a relative path, a bad unit, argv[0] not absolute), the
# limit of 32 checks, and `hsr show` printing the checks of a document signed by napctl.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need "$PYTHON"

DB=$T/site.db
ST=(--store "sqlite:$DB")
V=$(cd "$(dirname "$0")/../vectors/hsr" && pwd)

ctl() {
	RC=0
	"$NAPCTL" "$@" >"$T/out" 2>"$T/err" || RC=$?
}
revision() {
	"$NAPCTL" "${ST[@]}" hostcheck list | sed -n '$s/.*, revision \([0-9]*\)$/\1/p'
}
changed() {
	local want=$(($2 + 1))
	assert_eq "$1: exit" 0 "$RC"
	grep -qx "revision $want" "$T/out" ||
		fail "$1: expected a line 'revision $want', got: $(cat "$T/out" "$T/err")"
	log "ok: $1: revision $want"
}
unchanged() {
	assert_eq "$1: exit" "$3" "$RC"
	assert_match "$1: message" "$4" "$(cat "$T/err")"
	assert_eq "$1: store revision unchanged" "$2" "$(revision)"
}

# ---- one check of each type ----------------------------------------------------------------
assert_eq "new store: revision" 0 "$(revision)"
ctl "${ST[@]}" hostcheck add CHK-FW --type firewall --severity critical
changed "firewall" 0
ctl "${ST[@]}" hostcheck add CHK-AU --type auto_updates
changed "auto_updates" 1
ctl "${ST[@]}" hostcheck add CHK-AV --type antivirus --max-age 7d --effective 2026-12-01 \
	--reason "ClamAV signatures at most a week old"
changed "antivirus" 2
ctl "${ST[@]}" hostcheck add CHK-REBOOT --type reboot --severity low
changed "reboot" 3
ctl "${ST[@]}" hostcheck add CHK-CONF --type file --path /etc/nap/napagentd.conf \
	--sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
changed "file" 4
ctl "${ST[@]}" hostcheck add CHK-SSH --type service --unit ssh.service
changed "service" 5
ctl "${ST[@]}" hostcheck add CHK-AIDE --type command --argv /usr/bin/aide --argv --check --exit 0 \
	--severity moderate
changed "command" 6

ctl "${ST[@]}" hostcheck list
assert_eq "list: exit" 0 "$RC"
assert_match "list: footer" "^7 checks, revision 7$" "$(tail -n1 "$T/out")"
assert_match "list: antivirus row" "CHK-AV +antivirus +important +2026-12-01T00:00:00Z +max_age 7d" \
	"$(cat "$T/out")"
assert_match "list: command row" "CHK-AIDE +command +moderate +asap +/usr/bin/aide --check \(exit 0\)" \
	"$(cat "$T/out")"
ctl "${ST[@]}" hostcheck list --json
assert_eq "list --json: ids" "CHK-AIDE,CHK-AU,CHK-AV,CHK-CONF,CHK-FW,CHK-REBOOT,CHK-SSH" \
	"$(jget "$T/out" '",".join(c["id"] for c in j["checks"])')"
assert_eq "list --json: max_age" 604800 "$(jget "$T/out" 'j["checks"][2]["max_age"]')"
assert_eq "list --json: argv" '["/usr/bin/aide", "--check"]' \
	"$(jget "$T/out" 'j["checks"][0]["argv"]')"
ctl "${ST[@]}" hostcheck show CHK-SSH
assert_match "show: unit" "parameters: ssh.service" "$(cat "$T/out")"
ctl "${ST[@]}" hostcheck show CHK-CONF --json
assert_eq "show --json: path" /etc/nap/napagentd.conf "$(jget "$T/out" 'j["path"]')"

# ---- no change, replace, errors ----------------------------------------------------------------
ctl "${ST[@]}" hostcheck add CHK-SSH --type service --unit ssh.service --replace
assert_eq "same again: exit" 0 "$RC"
assert_eq "same again: revision unchanged" 7 "$(revision)"
ctl "${ST[@]}" hostcheck add CHK-SSH --type service --unit sshd.service
unchanged "add an existing id" 7 1 "exists \(--replace"
ctl "${ST[@]}" hostcheck add CHK-SSH --type service --unit sshd.service --replace
changed "replace" 7
ctl "${ST[@]}" hostcheck add CHK-X --type firewall --path /etc/x
unchanged "a parameter firewall does not take" 8 1 "only file checks take a path"
ctl "${ST[@]}" hostcheck add CHK-X --type antivirus
unchanged "antivirus without --max-age" 8 1 "maximum signature age"
ctl "${ST[@]}" hostcheck add CHK-X --type file --path etc/x
unchanged "relative path" 8 1 "absolute path"
ctl "${ST[@]}" hostcheck add CHK-X --type file --path /etc/../shadow
unchanged "path with .." 8 1 "absolute path"
ctl "${ST[@]}" hostcheck add CHK-X --type service --unit ssh
unchanged "unit without a type suffix" 8 1 "systemd unit name"
ctl "${ST[@]}" hostcheck add CHK-X --type command --argv true
unchanged "argv[0] not absolute" 8 1 "absolute path"
ctl "${ST[@]}" hostcheck add CHK-X --type command --argv /bin/true --exit 256
unchanged "exit out of range" 8 64 "0-255"
ctl "${ST[@]}" hostcheck add CHK-X --type reboot --exit 1
unchanged "--exit on a reboot check" 8 64 "goes with --type command"
ctl "${ST[@]}" hostcheck add CHK-X --type virus
unchanged "unknown type" 8 64 "is not firewall"
ctl "${ST[@]}" hostcheck add "CHK X" --type reboot
unchanged "bad id" 8 1 "characters of"

# Policies and checks share ids.
ctl "${ST[@]}" policy add CHK-FW --severity low
unchanged "a policy with a check's id" 8 1 "a check has the id CHK-FW"
ctl "${ST[@]}" policy add DSA-1 --package openssl --min-version 3 --severity low
changed "policy" 8
ctl "${ST[@]}" hostcheck add DSA-1 --type reboot
unchanged "a check with a policy's id" 9 1 "a policy has the id DSA-1"

# ---- remove, the limit ------------------------------------------------------------------------
ctl "${ST[@]}" hostcheck remove CHK-REBOOT
changed "remove" 9
ctl "${ST[@]}" hostcheck remove CHK-REBOOT
unchanged "remove again" 10 1 "no check CHK-REBOOT"
ctl "${ST[@]}" hostcheck show CHK-REBOOT
assert_eq "show a removed check: exit" 1 "$RC"
for i in $(seq 1 26); do
	"$NAPCTL" "${ST[@]}" hostcheck add "CHK-N$i" --type reboot >/dev/null
done
assert_eq "32 checks" 32 "$("$NAPCTL" "${ST[@]}" hostcheck list --json | jget - 'len(j["checks"])')"
ctl "${ST[@]}" hostcheck add CHK-33 --type reboot
unchanged "33rd check" 36 1 "32 checks, the most one SoH reports"

# ---- hsr show prints the checks of a signed document ------------------------------------------
ctl hsr sign --key "$V/TEST-ONLY-ed25519-private.pem" -o "$T/signed.json" "$V/checks-unsigned.json"
assert_eq "sign: exit" 0 "$RC"
cmp -s "$T/signed.json" "$V/checks-signed.json" || fail "napctl hsr sign differs from the vector"
ctl hsr show --keys "$V/TEST-ONLY-ed25519-public.pem" --json "$T/signed.json"
assert_eq "hsr show: exit" 0 "$RC"
assert_eq "hsr show: digest" ea72e02aed51db883072e4633bdcd260e58dbe33789904564addf6d07a6bcc62 \
	"$(jget "$T/out" 'j["hsrs"][0]["digest"]')"
assert_eq "hsr show: check types" "file,command,auto_updates,antivirus,firewall,reboot,service" \
	"$(jget "$T/out" '",".join(c["type"] for c in j["hsrs"][0]["checks"])')"
# A tampered check parameter fails the digest.
sed 's/"max_age":604800/"max_age":1/' "$T/signed.json" >"$T/tampered.json"
ctl hsr show "$T/tampered.json"
assert_eq "tampered: exit" 1 "$RC"
assert_match "tampered: message" "digest: does not match" "$(cat "$T/err")"
log "napctl hostcheck: all good"
