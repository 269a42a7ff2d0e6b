#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Status messages across an smbd restart in mid-stream: napvd keeps deciding while the inbox
# share is gone (ship errors counted, backlog and delivery lag grow, nothing is dropped), and
# once smbd is back the backlog drains; every decision ends as exactly one row.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/peers.sh"
. "$(dirname "$0")/status-lib.sh"
need "$NAPSITED" "$NAPBENCH" sqlite3

status_start_smbd
status_start_napsited
status_start_napvd 64K
drive_bg 300 4
sleep 1.5
stop_smbd SMB
log "smbd stopped while napbench runs"
drive_wait
drive 300 1
sleep 2.5
errs=$(metric napvd_status_ship_errors_total)
backlog=$(metric napvd_status_backlog_records)
lag=$(metric napvd_status_delivery_lag_seconds)
assert_ge "ship errors while smbd is down" 1 "$errs"
assert_ge "backlog while smbd is down" 1 "$backlog"
assert_ge "delivery lag while smbd is down (s)" 1 "$lag"
start_smbd SMB
log "smbd back on port $SMB_PORT"
wait_drained 60
status_check_exact
assert_eq "backlog after the restart" 0 "$(metric napvd_status_backlog_records)"
assert_eq "napsited duplicates (at most once per re-sent batch)" 0 \
	"$(ns_metric napsited_status_duplicates_total)"
stop_napvd
status_stop_napsited
stop_smbd SMB
log "all ok"
