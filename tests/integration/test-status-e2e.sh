#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Status messages end to end over SMB 445: napbench -> napvd (spool, ids, segments) -> shipper
# (SMB3, signed) -> smbd inbox share -> napsited ingester -> store (sqlite or pg, argument 1).
# Every decision napvd made is exactly one row; the spool segments shipped are removed; the
# metrics on both sides say so (backlog 0, lag 0, shipped = ingested).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/peers.sh"
STATUS_STORE=${1:-sqlite}
. "$(dirname "$0")/status-lib.sh"
need "$NAPSITED" "$NAPBENCH" sqlite3

status_start_smbd
status_start_napsited
status_start_napvd 64K
drive 400 3
wait_drained 30
status_check_exact
n=$(napvd_seq)
assert_eq "napvd shipped counter" "$n" "$(metric napvd_status_shipped_total)"
assert_eq "napvd backlog" 0 "$(metric napvd_status_backlog_records)"
assert_eq "napvd delivery lag" 0 "$(metric napvd_status_delivery_lag_seconds)"
assert_eq "napvd ship errors" 0 "$(metric napvd_status_ship_errors_total)"
assert_eq "napsited ingested" "$n" "$(ns_metric napsited_status_ingested_total)"
assert_eq "napsited duplicates" 0 "$(ns_metric napsited_status_duplicates_total)"
# 64K segments: the spool rotated, and what was shipped is gone from state_dir
segs=$(find "$T/state" -name 'spool.*' | wc -l)
assert_ge "napvd requests" 1000 "$n"
log "segments left after shipping: $segs"
((segs <= 1)) || fail "$segs shipped segments were not removed"
# the batch files were signed SMB3 writes by user napt: the files landed owned by uid 5001
# (deleted after the commit) — and a napvd restart keeps its instance and goes on counting
inst=$(cat "$T/state/instance")
stop_napvd
start_napvd "$T/napvd.conf"
assert_eq "instance id after a restart" "$inst" "$(cat "$T/state/instance")"
drive 200 1
wait_drained 30
status_check_exact
# SIGHUP with other [status] settings: a new shipper takes over after the old one's pass
sed -i 's/^ship_interval = .*/ship_interval = 2s/; s/^batch_max = .*/batch_max = 7/' "$T/napvd.conf"
reload_napvd
grep -q 'status: shipping reconfigured' "$T/napvd.log" || fail "no 'shipping reconfigured' line"
shipped0=$(metric napvd_status_shipped_total)
drive 50 1
wait_drained 30
status_check_exact
assert_ge "shipped counter kept across the reload" $((shipped0 + 1)) "$(metric napvd_status_shipped_total)"
# a credentials file that is not there: the reload is refused whole, shipping goes on
err0=$(metric napvd_config_reloads_total 'result="error"')
cp "$T/napvd.conf" "$T/napvd.conf.good"
sed -i "s|^credentials = .*|credentials = $T/nonexistent.cred|" "$T/napvd.conf"
kill -HUP "$NAPVD_PID"
for ((i = 0; i < 50; i++)); do
	(($(metric napvd_config_reloads_total 'result="error"') > err0)) && break
	sleep 0.1
done
assert_eq "reload with missing credentials refused" $((err0 + 1)) \
	"$(metric napvd_config_reloads_total 'result="error"')"
cp "$T/napvd.conf.good" "$T/napvd.conf"
drive 50 1
wait_drained 30
status_check_exact
# [status] ship removed: nothing ships; put back: the backlog goes, exactly once
sed -i 's/^ship = /#ship = /' "$T/napvd.conf"
reload_napvd
grep -q 'status: shipping stopped' "$T/napvd.log" || fail "no 'shipping stopped' line"
shipped_at=$(cat "$T/state/shipped")
drive 50 1
sleep 3
assert_eq "nothing shipped while [status] ship is off" "$shipped_at" "$(cat "$T/state/shipped")"
cp "$T/napvd.conf.good" "$T/napvd.conf"
reload_napvd
wait_drained 30
status_check_exact
stop_napvd
status_stop_napsited
log "all ok ($STATUS_STORE)"
