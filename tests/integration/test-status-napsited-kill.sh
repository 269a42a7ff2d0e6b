#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Status messages across napsited kill -9 in mid-ingest: batch files keep arriving in the
# inbox while napsited is dead (a file it committed but had not deleted yet is read again);
# after the restart every decision is exactly one row, re-read files counted as duplicates.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/peers.sh"
. "$(dirname "$0")/status-lib.sh"
need "$NAPSITED" "$NAPBENCH" sqlite3

status_start_smbd
STATUS_BATCH_MAX=20 # many small files: the kill lands between commit and delete often
status_start_napvd 64K
status_start_napsited
drive_bg 400 4
for k in 1 2 3; do
	sleep 0.8
	status_stop_napsited KILL
	log "napsited killed (-9), round $k"
	sleep 0.3
	status_start_napsited
done
drive_wait
wait_drained 60
status_check_exact
log "files re-read after a kill: duplicates $(ns_metric napsited_status_duplicates_total) (this run)"
stop_napvd
status_stop_napsited
log "all ok"
