#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Status messages across a full disk on the share side: the inbox share lives on a 2 MB tmpfs
# (in a private mount namespace of this test), filled up in mid-stream. napvd's puts fail with
# "disk full" (counted, retried, the temporary file removed), the spool keeps every record,
# and once space is back the backlog drains: exactly one row per decision.
if [[ -z ${NAP_STATUS_MOUNT_NS:-} ]]; then
	if [[ $(id -u) -ne 0 ]] || ! command -v unshare >/dev/null 2>&1; then
		echo "[test-status-diskfull] SKIP: needs root and unshare (a private tmpfs)" >&2
		exit 77
	fi
	NAP_STATUS_MOUNT_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/peers.sh"
. "$(dirname "$0")/status-lib.sh"
need "$NAPSITED" "$NAPBENCH" sqlite3

mkdir -p "$T/SMB/share/inbox"
mount -t tmpfs -o size=2m,mode=0755 napt-inbox "$T/SMB/share/inbox" || skip "cannot mount a tmpfs"
status_start_smbd
status_start_napsited
status_start_napvd 64K
drive 300 1
wait_drained 30
# fill the share's file system (the ingester ignores names not ending in .jsonl)
dd if=/dev/zero of="$INBOX/filler" bs=64k >/dev/null 2>&1 || true
log "inbox file system full: $(df -k "$INBOX" | awk 'NR==2 {print $4}') KB free"
drive 300 2
sleep 2.5
assert_ge "ship errors while the share is full" 1 "$(metric napvd_status_ship_errors_total)"
assert_ge "backlog while the share is full" 1 "$(metric napvd_status_backlog_records)"
grep -q "disk full" "$T/napvd.log" || fail "napvd did not say the disk is full"
log "ok: napvd said: $(grep -m1 -o 'disk full[^(]*' "$T/napvd.log")"
rm -f "$INBOX/filler"
log "space back"
drive 200 1
wait_drained 60
status_check_exact
leftover=$(find "$INBOX" -maxdepth 1 -name '.*.tmp' | wc -l)
assert_eq "temporary files left on the share" 0 "$leftover"
stop_napvd
status_stop_napsited
stop_smbd SMB
umount "$INBOX" 2>/dev/null || true
log "all ok"
