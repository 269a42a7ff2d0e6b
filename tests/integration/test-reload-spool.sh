#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Reload and spool durability. SIGHUP with a changed [enforcement] mapping changes the verdict of
# the next request while a background napbench stream sees no timeouts; SIGHUP with a broken
# config changes nothing. Every answered request has its status record in the spool; after
# kill -9 in the middle of traffic every acknowledged record is still there and napvd restarts
# cleanly on the same spool.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need "$PYTHON"

make_site S01 5
enforcement() {
	cat <<EOF2
[enforcement dhcp]
compliant = full
noncompliant = $1
noncapable = restricted
remediation_servers = 192.0.2.10
EOF2
}
# every answered request has its record only below spool_max: room for two seconds of --flat
conf() { write_napvd_conf "$T/napvd.conf" && sed -i 's/^spool_max = .*/spool_max = 512M/' "$T/napvd.conf"; }
NAPVD_EXTRA=$(enforcement restricted)
conf
start_napvd "$T/napvd.conf"

BAD=$(sample --site S01 --revision 5 --hsr "$T/hsr.json" --compliant no --missing deb-sudo-2026-03)
state_of_bad() {
	"$NAPCTL" radius query --server "127.0.0.1:$NAPVD_PORT" --secret "$SECRET" --nas-type dhcp \
		--soh "$BAD" --json | jget - "$JQ_Q_STATE"
}
SPOOL=$T/state/spool
# wc -l counts records: the zero-filled preallocation holds no newline
spool_lines() { if [[ -f $SPOOL ]]; then wc -l <"$SPOOL"; else echo 0; fi; }

# --- spool: N answered requests => N more records --------------------------------------
L0=$(spool_lines)
N=20
for ((i = 0; i < N; i++)); do
	state_of_bad >/dev/null || fail "request $i not answered"
done
assert_eq "spool records after $N requests" $((L0 + N)) "$(spool_lines)"
# records up to the first NUL byte, then the zero-filled preallocation (napvd(8))
spool_check() {
	"$PYTHON" -c '
import json, sys
data = open(sys.argv[1], "rb").read()
end = data.find(b"\0")
records, tail = (data, b"") if end < 0 else (data[:end], data[end:])
assert tail.count(0) == len(tail), "non-zero bytes after the records"
assert records == b"" or records.endswith(b"\n"), "partial last record"
for line in records.splitlines():
    json.loads(line)
' "$SPOOL"
}
spool_check || fail "spool holds a line that is not JSON"
log "ok: every spool line is JSON"

# --- reload under load -----------------------------------------------------------------
assert_eq "before reload: noncompliant" restricted "$(state_of_bad)"
"$NAPBENCH" radius --server "127.0.0.1:$NAPVD_PORT" --secret "$SECRET" --hsr "$T/hsr.json" \
	--rate 300 --duration 3 --clients 4 --json >"$T/bench.out" 2>"$T/bench.log" &
BENCH_PID=$!
_nap_pids+=("$BENCH_PID")
# the stream is running once napvd has counted some of its requests
R0=$(metric napvd_requests_total)
for ((i = 0; i < 50; i++)); do
	(($(metric napvd_requests_total) > R0 + 50)) && break
	sleep 0.1
done

OK0=$(metric "$M_RELOADS" 'result="ok"')
NAPVD_EXTRA=$(enforcement full)
conf
kill -HUP "$NAPVD_PID"
for ((i = 0; i < 50; i++)); do
	(($(metric "$M_RELOADS" 'result="ok"') > OK0)) && break
	sleep 0.1
done
assert_eq "reload ok counted" $((OK0 + 1)) "$(metric "$M_RELOADS" 'result="ok"')"
assert_eq "after reload: noncompliant => full" full-access "$(state_of_bad)"

ERR0=$(metric "$M_RELOADS" 'result="error"')
cp "$T/napvd.conf" "$T/napvd.conf.good"
printf '[enforcement dhcp]\nnoncompliant = sideways\n[napvd]\nlisten = nonsense\n' >>"$T/napvd.conf"
kill -HUP "$NAPVD_PID"
for ((i = 0; i < 50; i++)); do
	(($(metric "$M_RELOADS" 'result="error"') > ERR0)) && break
	sleep 0.1
done
assert_eq "broken reload counted as error" $((ERR0 + 1)) "$(metric "$M_RELOADS" 'result="error"')"
assert_eq "after broken reload: unchanged" full-access "$(state_of_bad)"
assert_alive

wait "$BENCH_PID" || fail "napbench failed: $(cat "$T/bench.log")"
_nap_forget "$BENCH_PID"
BJ=$(tail -n1 "$T/bench.out")
log "napbench: $BJ"
assert_ge "background stream requests" 100 "$(jget - "$JQ_B_ANSWERED" <<<"$BJ")"
assert_eq "background stream timeouts" 0 "$(jget - "$JQ_B_TIMEOUTS" <<<"$BJ")"

# --- kill -9 in the middle of traffic: acknowledged records survive -------------------
cp "$T/napvd.conf.good" "$T/napvd.conf"
# count before the stream starts: every answer napbench sees must add to this
L1=$(spool_lines)
"$NAPBENCH" radius --server "127.0.0.1:$NAPVD_PORT" --secret "$SECRET" --hsr "$T/hsr.json" \
	--flat --duration 2 --clients 4 --window 16 --json >"$T/crash.out" 2>"$T/crash.log" &
BENCH_PID=$!
_nap_pids+=("$BENCH_PID")
sleep 1
kill -KILL "$NAPVD_PID"
wait "$NAPVD_PID" 2>/dev/null || true
_nap_forget "$NAPVD_PID"
wait "$BENCH_PID" || true
_nap_forget "$BENCH_PID"
CJ=$(tail -n1 "$T/crash.out")
log "napbench across the crash: $CJ"
ACKED=$(jget - "$JQ_B_ANSWERED" <<<"$CJ")
assert_ge "answered before the crash" 1 "$ACKED"
L2=$(spool_lines)
assert_ge "spool records after kill -9 (acknowledged: $ACKED)" $((L1 + ACKED)) "$L2"

# restart on the same spool: recovers, appends, answers
start_napvd "$T/napvd.conf"
L3=$(spool_lines)
state_of_bad >/dev/null
assert_ge "spool keeps growing after restart" $((L3 + 1)) "$(spool_lines)"
spool_check || fail "spool holds a line that is not JSON after the crash"
log "ok: spool intact after kill -9 and restart"
assert_alive
stop_napvd
