# SPDX-License-Identifier: GPL-3.0-or-later
# Status messages end to end (bash, sourced after lib.sh and peers.sh): a real smbd exporting
# the inbox share, napsited ingesting it into SQLite or PostgreSQL, napvd shipping its spool
# there over SMB3, napbench deciding requests. The check at the end of every test: the store
# holds exactly the ids napvd assigned, <instance>-1 .. <instance>-N without a gap (the primary
# key rules out doubles), N at least the decisions napbench got answers for, and client_last
# counting each message once.

: "${STATUS_STORE:=sqlite}"
BENCH_RECEIVED=0

# status_start_smbd: the site server's inbox share.
status_start_smbd() {
	start_smbd SMB inbox
	INBOX=$T/SMB/share/inbox
}

# status_start_napsited: napsited with [status] inbox on the share's directory.
status_start_napsited() {
	local store_uri
	if [[ ! -f $T/napsited.conf ]]; then
		[[ -f $T/site.key ]] ||
			"$NAPCTL" key generate --private "$T/site.key" --public "$T/site.pub" >/dev/null
		NS_MPORT=$(free_port tcp)
		if [[ $STATUS_STORE == pg ]]; then
			start_postgres
			store_uri=$PG_URI
		else
			store_uri=sqlite:$T/site.db
		fi
		STORE_URI=$store_uri
		cat >"$T/napsited.conf" <<EOF
[site]
code = S01
key = $T/site.key
state_dir = $T/site-state
metrics = 127.0.0.1:$NS_MPORT
poll_interval = 1s

[store]
uri = $store_uri

[status]
inbox = $INBOX
scan_interval = 200ms
EOF
	fi
	"$NAPSITED" -d ${NAPSITED_VERBOSE:+-v} -f "$T/napsited.conf" >>"$T/napsited.log" 2>&1 &
	NAPSITED_PID=$!
	_nap_pids+=("$NAPSITED_PID")
	local i
	for ((i = 0; i < 100; i++)); do
		_nap_dead "$NAPSITED_PID" && fail "napsited exited during startup"
		(exec 9<>"/dev/tcp/127.0.0.1/$NS_MPORT") 2>/dev/null && return 0
		sleep 0.1
	done
	fail "napsited metrics not up"
}

# status_stop_napsited [SIGNAL]: stop napsited; with SIGTERM it must exit 0.
status_stop_napsited() {
	local sig=${1:-TERM}
	stop_pid "$NAPSITED_PID" "$sig"
	if [[ $sig == TERM ]] && ((STOP_STATUS != 0)); then
		fail "napsited exited with status $STOP_STATUS on SIGTERM"
	fi
	NAPSITED_PID=
}

# ns_metric NAME: a napsited metric.
ns_metric() {
	METRICS_PORT=$NS_MPORT metric "$@"
}

# status_start_napvd [SEGMENT]: napvd shipping to the inbox share.
status_start_napvd() {
	if [[ ! -f $T/napvd.conf ]]; then
		[[ -f $T/hsr.json ]] || make_site
		NAPVD_EXTRA="[status]
ship = smb://127.0.0.1:$SMB_PORT/inbox
credentials = $SMB_CRED
ship_interval = 1s
batch_max = ${STATUS_BATCH_MAX:-200}
segment_size = ${1:-64K}"
		write_napvd_conf "$T/napvd.conf"
	fi
	start_napvd "$T/napvd.conf"
}

# dbq SQL: one value from the store.
dbq() {
	if [[ $STATUS_STORE == pg ]]; then
		runuser -u postgres -- "$PG_BINDIR/psql" -h "$PG_SOCKDIR" -p "$PG_PORT" -d nap -Atc "$1"
	else
		sqlite3 -cmd '.timeout 5000' "$T/site.db" "$1"
	fi
}

# drive RATE SECONDS: napbench against napvd; adds the answers it got to BENCH_RECEIVED.
drive() {
	local out rc=0 got
	out=$T/bench.$RANDOM.json
	"$NAPBENCH" radius --server "127.0.0.1:$NAPVD_PORT" --secret "$SECRET" --hsr "$T/hsr.json" \
		--rate "$1" --duration "$2" --clients 50 --window 16 --json >"$out" \
		2>>"$T/bench.log" || rc=$?
	got=$("$PYTHON" -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")][-1]["received"])' \
		"$out" 2>/dev/null || echo 0)
	BENCH_RECEIVED=$((BENCH_RECEIVED + got))
	log "napbench: $got answers (rc $rc)"
}

# drive_bg RATE SECONDS: the same in the background (DRIVE_PID); drive_wait collects it.
drive_bg() {
	DRIVE_OUT=$T/bench.bg.$RANDOM.json
	"$NAPBENCH" radius --server "127.0.0.1:$NAPVD_PORT" --secret "$SECRET" --hsr "$T/hsr.json" \
		--rate "$1" --duration "$2" --clients 50 --window 16 --json >"$DRIVE_OUT" \
		2>>"$T/bench.log" &
	DRIVE_PID=$!
}
drive_wait() {
	local got
	wait "$DRIVE_PID" || true
	got=$("$PYTHON" -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")][-1]["received"])' \
		"$DRIVE_OUT" 2>/dev/null || echo 0)
	BENCH_RECEIVED=$((BENCH_RECEIVED + got))
	log "napbench (background): $got answers"
}

# napvd_seq: the highest sequence napvd assigned (its spool files, else the shipped position).
napvd_seq() {
	local f last=0 s
	for f in "$T"/state/spool "$T"/state/spool.*; do
		[[ -f $f ]] || continue
		s=$(tr -d '\000' <"$f" | tail -n 1 | sed -n 's/^{"id":"[0-9a-f]*-\([0-9]*\)".*/\1/p')
		[[ -n $s ]] && ((s > last)) && last=$s
	done
	s=$(cat "$T/state/shipped" 2>/dev/null || echo 0)
	((s > last)) && last=$s
	echo "$last"
}

# wait_drained [SECONDS]: until napvd shipped everything and napsited stored it.
wait_drained() {
	local i n rows files max=${1:-30}
	for ((i = 0; i < max * 5; i++)); do
		n=$(napvd_seq)
		files=$(find "$INBOX" -maxdepth 1 -name '*.jsonl' | wc -l)
		rows=$(dbq "SELECT count(*) FROM status_messages" 2>/dev/null || echo -1)
		if [[ $(cat "$T/state/shipped" 2>/dev/null || echo 0) == "$n" ]] && ((files == 0)) &&
			((rows == n)); then
			return 0
		fi
		sleep 0.2
	done
	fail "not drained after ${max}s: napvd at $(napvd_seq), shipped $(cat "$T/state/shipped" 2>/dev/null), $files file(s) in the inbox, $rows row(s)"
}

# status_check_exact: the store holds exactly <instance>-1 .. <instance>-N once each.
status_check_exact() {
	local inst n rows distinct mn mx msgs other
	inst=$(head -c 16 "$T/state/instance")
	n=$(napvd_seq)
	assert_ge "napvd sequence vs answered decisions" "$BENCH_RECEIVED" "$n"
	rows=$(dbq "SELECT count(*) FROM status_messages")
	distinct=$(dbq "SELECT count(DISTINCT id) FROM status_messages")
	mn=$(dbq "SELECT min(CAST(substr(id, 18) AS INTEGER)) FROM status_messages WHERE napvd = '$inst'")
	mx=$(dbq "SELECT max(CAST(substr(id, 18) AS INTEGER)) FROM status_messages WHERE napvd = '$inst'")
	other=$(dbq "SELECT count(*) FROM status_messages WHERE napvd <> '$inst'")
	msgs=$(dbq "SELECT sum(messages) FROM client_last")
	assert_eq "rows in status_messages (napvd assigned $n ids)" "$n" "$rows"
	assert_eq "distinct ids" "$n" "$distinct"
	assert_eq "lowest sequence" 1 "$mn"
	assert_eq "highest sequence" "$n" "$mx"
	assert_eq "rows of another napvd" 0 "$other"
	assert_eq "client_last messages counted" "$n" "$msgs"
	log "ok: exactly once: $n messages, ids $inst-1..$inst-$n"
}
