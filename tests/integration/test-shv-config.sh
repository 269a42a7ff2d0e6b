#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# SHV point configuration over SMB 445 against a real smbd whose share directory is napvd's
# [managed] directory: napctl shv add + push writes nap-shv.conf over SMB3, napvd applies it
# through its reload path (a verdict changes: validity period, failure mapping; the metric
# moves), the status napvd writes beside it is read back into napctl shv status. A bad value
# written straight onto the share (smbclient, bypassing napctl) is rejected whole and the
# running settings stay; napctl refuses bad values itself; wrong credentials give a clear error.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/peers.sh"
need smbclient

make_site S01 5
start_smbd SHV conf
SHARE=$T/SHV/share/conf
URL=smb://127.0.0.1:$SHV_PORT/conf
STORE=sqlite:$T/site.db
shv() { "$NAPCTL" --store "$STORE" shv "$@"; }

NAPVD_EXTRA=$(printf '[managed]\nfile = %s/nap-shv.conf\ncheck_interval = 1s\n' "$SHARE")
write_napvd_conf "$T/napvd.conf"
start_napvd "$T/napvd.conf"

# A compliant SoH made two hours ago, and a client-component failure with a known error code.
AGED=$(sample --site S01 --revision 5 --hsr "$T/hsr.json" --compliant yes --age 2h)
FAILED=$(sample --site S01 --revision 5 --hsr "$T/hsr.json" --compliant yes \
	--failure client-component --error-code 0x80070005)
state_of() {
	"$NAPCTL" radius query --server "127.0.0.1:$NAPVD_PORT" --secret "$SECRET" \
		--nas-type dhcp --soh "$1" --json | jget - "$JQ_Q_STATE"
}
# A restricted verdict comes back as a Reject or a restricted Accept: "full-access" is the
# only state that says compliant.
assert_eq "napvd.conf alone: 2h-old SoH within 26h" full-access "$(state_of "$AGED")"
assert_ne "napvd.conf alone: client component failure noncompliant" full-access \
	"$(state_of "$FAILED")"
assert_eq "no managed revision yet" 0 "$(metric napvd_managed_revision)"
# napvd -n: no managed file yet is not an error
rc=0
out=$("$NAPVD" -n -f "$T/napvd.conf" 2>&1) || rc=$?
assert_eq "napvd -n without the managed file: exit 0" 0 "$rc"
assert_match "napvd -n says the file is not there" 'nap-shv.conf is not there' "$out"

# --- napctl validates before storing -----------------------------------------------------
rc=0
out=$(shv add shv1 --url "$URL" --credentials "$SHV_CRED" --validity-period soon 2>&1) || rc=$?
assert_eq "bad --validity-period refused" 64 "$rc"
assert_match "bad value named" 'validity_period: bad duration "soon"' "$out"
rc=0
out=$(shv add shv1 --url "$URL" --credentials "$SHV_CRED" --site S01 \
	--bind-dn cn=napvd,dc=napt,dc=test 2>&1) || rc=$?
assert_eq "bind_dn without its password file refused" 1 "$rc"
assert_match "pairing explained" 'bind_dn and bind_password_file go together' "$out"

# --- add + push: napvd applies it ---------------------------------------------------------
shv add shv1 --url "$URL" --credentials "$SHV_CRED" --site S01 --validity-period 1h >/dev/null
out=$(shv push shv1 --wait 10s) || fail "push failed: $out"
log "$out"
assert_match "push accepted" 'revision 1 accepted' "$out"
[[ -f $SHARE/nap-shv.conf && -f $SHARE/nap-shv.status ]] || fail "files not in the share"
grep -q '^validity_period = 1h$' "$SHARE/nap-shv.conf" || fail "validity_period not written"
if grep -qiE '^[[:space:]]*(bind_)?password[[:space:]]*=' "$SHARE/nap-shv.conf"; then
	fail "a password travelled in the share"
fi
assert_ne "validity period 1h: the 2h-old SoH is out of date" full-access "$(state_of "$AGED")"
assert_eq "managed revision metric" 1 "$(metric napvd_managed_revision)"
assert_eq "accepted metric" 1 "$(metric napvd_managed_accepted_total)"

out=$(shv status shv1)
assert_match "status read back" 'shv1: revision 1 accepted' "$out"
# a push that stopped half-way a day ago leaves its temporary file: napvd removes it on its
# next check; a fresh one (a push under way) and other names stay
printf 'x\n' >"$SHARE/.nap-shv.conf.0badf00d.tmp"
touch -d '2 days ago' "$SHARE/.nap-shv.conf.0badf00d.tmp"
printf 'x\n' >"$SHARE/.nap-shv.conf.5eed1e55.tmp"
printf 'x\n' >"$SHARE/.other.0badf00d.tmp"
touch -d '2 days ago' "$SHARE/.other.0badf00d.tmp"
for ((i = 0; i < 50; i++)); do
	[[ -e $SHARE/.nap-shv.conf.0badf00d.tmp ]] || break
	sleep 0.1
done
[[ ! -e $SHARE/.nap-shv.conf.0badf00d.tmp ]] || fail "napvd left a stale temporary file"
[[ -e $SHARE/.nap-shv.conf.5eed1e55.tmp ]] || fail "napvd removed a fresh temporary file"
[[ -e $SHARE/.other.0badf00d.tmp ]] || fail "napvd removed a file that is not its"
grep -q "removed .*0badf00d.tmp, a temporary file untouched" "$T/napvd.log" ||
	fail "no log line for the stale temporary file"
rm -f "$SHARE/.nap-shv.conf.5eed1e55.tmp" "$SHARE/.other.0badf00d.tmp"
assert_eq "status stored" accepted "$(shv show shv1 --json | jget - 'j["status"]')"

# --- a failure mapping and a second revision; SIGHUP keeps the managed settings ------------
shv set shv1 client_component=compliant validity_period=3h >/dev/null
assert_eq "set moves the revision" 2 "$(shv show shv1 --json | jget - 'j["revision"]')"
out=$(shv push shv1 --wait 10s) || fail "push 2 failed: $out"
assert_match "push 2 accepted" 'revision 2 accepted' "$out"
assert_eq "validity period 3h: the 2h-old SoH is compliant" full-access "$(state_of "$AGED")"
assert_eq "client_component = compliant" full-access "$(state_of "$FAILED")"
# (each applied revision went through the reload path, and counted there)
OK0=$(metric napvd_config_reloads_total 'result="ok"')
reload_napvd
assert_eq "SIGHUP reloaded once" $((OK0 + 1)) "$(metric napvd_config_reloads_total 'result="ok"')"
assert_eq "after SIGHUP the managed mapping stays" full-access "$(state_of "$FAILED")"
# napvd -n judges the managed file too and shows the settings with it
rc=0
out=$("$NAPVD" -n -f "$T/napvd.conf" 2>&1) || rc=$?
assert_eq "napvd -n with a valid managed file: exit 0" 0 "$rc"
assert_match "napvd -n: managed file valid" 'nap-shv.conf is valid' "$out"
assert_match "napvd -n: the managed validity period shown" 'validity_period = 3h' "$out"

# --- a bad file written straight onto the share: rejected whole ----------------------------
cat >"$T/bad.conf" <<'EOF'
[shv]
revision = 10
site = S01
[validation]
validity_period = 1h
client_component = noncompliant
other = sometimes
EOF
smbclient //127.0.0.1/conf -p "$SHV_PORT" -A "$SHV_CRED" -m SMB3 \
	-c "put $T/bad.conf nap-shv.conf" >/dev/null 2>&1 || fail "smbclient put failed"
for ((i = 0; i < 50; i++)); do
	grep -q '"revision":10' "$SHARE/nap-shv.status" 2>/dev/null && break
	sleep 0.1
done
out=$(shv status shv1 --json)
assert_eq "bad file: status revision" 10 "$(jget - 'j["shv_points"][0]["status_detail"]["revision"]' <<<"$out")"
assert_eq "bad file: rejected" rejected "$(jget - 'j["shv_points"][0]["status"]' <<<"$out")"
assert_eq "bad file: running revision stays" 2 \
	"$(jget - 'j["shv_points"][0]["status_detail"]["running_revision"]' <<<"$out")"
assert_match "bad file: the error" 'line 7: other: want compliant or noncompliant' "$out"
out=$(shv status shv1)
assert_match "rejection in napctl shv status" 'shv1: revision 10 rejected' "$out"
# rejected whole: neither validity_period = 1h nor client_component = noncompliant applied
assert_eq "rejected whole: validity period stays 3h" full-access "$(state_of "$AGED")"
assert_eq "rejected whole: mapping stays" full-access "$(state_of "$FAILED")"
# (a writer that is not nap_smb_put may show napvd a partial file first: rejected as well)
assert_ge "rejects metric" 1 "$(metric napvd_managed_rejects_total)"
assert_eq "managed revision metric unchanged" 2 "$(metric napvd_managed_revision)"
rc=0
out=$("$NAPVD" -n -f "$T/napvd.conf" 2>&1) || rc=$?
assert_eq "napvd -n with the bad managed file: exit 1" 1 "$rc"
assert_match "napvd -n: why" 'revision 10\) would be rejected' "$out"
assert_match "napvd -n: the error" 'line 7: other: want compliant or noncompliant' "$out"

# napvd's own rules too: a bind password file that is not on the napvd host
shv set shv1 uri=ldap://127.0.0.1:1 base=dc=napt,dc=test bind_dn=cn=napvd,dc=napt,dc=test \
	bind_password_file=/nonexistent/bind.pw >/dev/null
rc=0
out=$(shv push shv1 --wait 10s 2>&1) || rc=$?
assert_eq "napvd rejects: exit 2" 2 "$rc"
assert_match "napvd's reason" 'bind_password_file /nonexistent/bind.pw' "$out"
shv set shv1 uri= base= bind_dn= bind_password_file= >/dev/null

# --- wrong credentials: a clear error ------------------------------------------------------
sed 's/^password *=.*/password = wrong/' "$SHV_CRED" >"$T/wrong.cred"
chmod 600 "$T/wrong.cred"
shv set shv1 --credentials "$T/wrong.cred" validity_period=4h >/dev/null
rc=0
out=$(shv push shv1 --wait 2s 2>&1) || rc=$?
assert_eq "wrong credentials: exit 1" 1 "$rc"
assert_match "wrong credentials: logon failure" '[Ll]ogon failure' "$out"
assert_eq "wrong credentials: stored as unreachable" unreachable \
	"$(shv show shv1 --json | jget - 'j["status"]')"
shv set shv1 --credentials "$SHV_CRED" >/dev/null
out=$(shv push shv1 --wait 10s) || fail "push after fixing the credentials: $out"
assert_match "good again" 'accepted' "$out"

# --- napsited pushes a change on its poll loop and reads the status back ------------------
SITED_MPORT=$(free_port tcp)
mkdir -p "$T/sited"
cat >"$T/napsited.conf" <<EOF
[site]
code = S01
key = $T/site.key
state_dir = $T/sited
metrics = 127.0.0.1:$SITED_MPORT
poll_interval = 200ms

[store]
uri = $STORE
EOF
"$NAPSITED" -d -f "$T/napsited.conf" >>"$T/napsited.log" 2>&1 &
SITED_PID=$!
_nap_pids+=("$SITED_PID")
for ((i = 0; i < 50; i++)); do
	(exec 9<>"/dev/tcp/127.0.0.1/$SITED_MPORT") 2>/dev/null && break
	_nap_dead "$SITED_PID" && fail "napsited exited: $(tail -5 "$T/napsited.log")"
	sleep 0.1
done
sited_metric() { METRICS_PORT=$SITED_MPORT metric "$@"; }
P0=$(sited_metric napsited_shv_pushes_total)
shv set shv1 validity_period=90m >/dev/null
REV=$(shv show shv1 --json | jget - 'j["revision"]')
for ((i = 0; i < 100; i++)); do
	st=$(shv show shv1 --json)
	[[ $(jget - 'j["status"]' <<<"$st") == accepted &&
		$(jget - 'j["status_detail"]["revision"]' <<<"$st") == "$REV" ]] && break
	sleep 0.1
done
assert_eq "napsited pushed the new revision" "$REV" "$(jget - 'j["pushed_revision"]' <<<"$st")"
assert_eq "napsited read napvd's verdict back" accepted "$(jget - 'j["status"]' <<<"$st")"
assert_eq "napvd runs the revision napsited pushed" "$REV" "$(metric napvd_managed_revision)"
assert_ne "validity period 90m: the 2h-old SoH is out of date" full-access "$(state_of "$AGED")"
assert_ge "napsited push counted" $((P0 + 1)) "$(sited_metric napsited_shv_pushes_total)"
# the gauge follows the store at the pusher's next pass
for ((i = 0; i < 100; i++)); do
	[[ $(sited_metric napsited_shv_points_out_of_date) == 0 ]] && break
	sleep 0.1
done
assert_eq "napsited: nothing out of date" 0 "$(sited_metric napsited_shv_points_out_of_date)"
stop_pid "$SITED_PID"
((STOP_STATUS == 0)) || fail "napsited exited with status $STOP_STATUS on SIGTERM"
assert_alive
stop_napvd
