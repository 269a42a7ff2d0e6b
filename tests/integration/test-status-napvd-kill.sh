#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Status messages across napvd kill -9 in mid-ship: napvd dies while batches are on their way
# (a batch written to the share but not yet recorded as shipped goes again after the restart:
# duplicates, counted once) and while records are decided; the restarted napvd keeps its
# instance id and continues the sequence after the highest one it finds (never reusing one).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/peers.sh"
. "$(dirname "$0")/status-lib.sh"
need "$NAPSITED" "$NAPBENCH" sqlite3

status_start_smbd
status_start_napsited
STATUS_BATCH_MAX=25
status_start_napvd 64K
inst=$(cat "$T/state/instance")
for k in 1 2 3; do
	drive_bg 400 2
	sleep 1.2
	stop_pid "$NAPVD_PID" KILL
	log "napvd killed (-9) at sequence $(napvd_seq), shipped $(cat "$T/state/shipped" 2>/dev/null), round $k"
	wait "$DRIVE_PID" 2>/dev/null || true
	drive_wait
	start_napvd "$T/napvd.conf"
	assert_eq "instance id after kill -9" "$inst" "$(cat "$T/state/instance")"
done
drive 300 1
wait_drained 60
status_check_exact
stop_napvd
status_stop_napsited
log "all ok"
