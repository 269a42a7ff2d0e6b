#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Malformed status files in the inbox: quarantined (moved to inbox/quarantine), reported (a
# status_quarantine row per bad line with its reason, a counter, a log line), good lines of the
# same file stored, and the ingester alive for the next good file. One bad file arrives the
# way napvd's do, through the SMB share; temporary names are left alone. Last, SIGHUP with a
# new inbox restarts the ingester on it; one with an inbox that is not there keeps the old one;
# retention ([status] keep, keep_daily) deletes what is older, never client_last.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/peers.sh"
. "$(dirname "$0")/status-lib.sh"
: "${NAP_SMB_TOOL:=$_nap_build/tests/integration/nap_smb_tool}"
need "$NAPSITED" sqlite3 "$NAP_SMB_TOOL"

status_start_smbd
status_start_napsited
I=0123456789abcdef
good() { # SEQ MACHINE
	printf '{"id":"%s-%s","time":"2026-11-25T10:00:01Z","nas":"127.0.0.1","client":"local","machine":"%s","site":"S01","enforcement":"dhcp","result":"compliant","branch":"matches","action":"full","hsr_revision":5,"correlation_id":""}\n' \
		"$I" "$1" "$2"
}
# 1. one bad line between good ones
{
	good 1 pc-1
	echo 'this is not json'
	good 2 pc-2
} >"$T/mixed.jsonl"
cp "$T/mixed.jsonl" "$INBOX/.m"
mv "$INBOX/.m" "$INBOX/$I-1-2.jsonl"
# 2. binary garbage, 3. a line past the length limit, 4. a directory, 5. a strict refusal
head -c 3000 /dev/urandom >"$INBOX/garbage.jsonl"
{ printf '{"id":"%s-3","x":"' "$I"; head -c 5000 /dev/zero | tr '\0' a; printf '"}\n'; } >"$INBOX/long.jsonl"
mkdir "$INBOX/dir.jsonl"
good 4 pc-4 | sed 's/"time":"[^"]*"/"time":"2026-02-30T10:00:00Z"/' >"$T/badtime.jsonl"
# 6. the same kind of file written over SMB, as a broken napvd would
"$NAP_SMB_TOOL" "$SMB_CRED" put "smb://127.0.0.1:$SMB_PORT/inbox/badtime.jsonl" \
	"$T/badtime.jsonl" || fail "put over SMB"
# 7. a temporary name: not read
good 9 pc-9 >"$INBOX/.x.jsonl.tmp"

for ((i = 0; i < 100; i++)); do
	[[ -z $(find "$INBOX" -maxdepth 1 -name '*.jsonl' -print -quit) ]] && break
	sleep 0.1
done
[[ -z $(find "$INBOX" -maxdepth 1 -name '*.jsonl' -print -quit) ]] ||
	fail "files left in the inbox: $(ls "$INBOX")"
assert_alive "$NAPSITED_PID" napsited
assert_eq "good lines of the mixed file stored" 2 "$(dbq "SELECT count(*) FROM status_messages")"
assert_eq "quarantined files" 5 "$(ls "$INBOX/quarantine" | wc -l)"
assert_eq "the mixed file's bad line" \
	"2|not a JSON object" "$(dbq "SELECT line, substr(reason, 1, 17) FROM status_quarantine WHERE file = '$I-1-2.jsonl'")"
assert_match "long line reason" "more than 4096" \
	"$(dbq "SELECT reason FROM status_quarantine WHERE file = 'long.jsonl'")"
assert_match "directory reason" "not a regular file" \
	"$(dbq "SELECT reason FROM status_quarantine WHERE file = 'dir.jsonl'")"
assert_match "strict time reason" "^time:" \
	"$(dbq "SELECT reason FROM status_quarantine WHERE file = 'badtime.jsonl'")"
assert_ge "quarantine rows" 5 "$(dbq "SELECT count(*) FROM status_quarantine")"
assert_ge "napsited_status_quarantined_total" 5 "$(ns_metric napsited_status_quarantined_total)"
grep -q "quarantined" "$T/napsited.log" || fail "no log line about the quarantine"
[[ -e $INBOX/.x.jsonl.tmp ]] || fail "the temporary file was touched"
# the ingester goes on
good 5 pc-5 >"$INBOX/.t"
mv "$INBOX/.t" "$INBOX/$I-5-5.jsonl"
for ((i = 0; i < 50; i++)); do
	[[ -e $INBOX/$I-5-5.jsonl ]] || break
	sleep 0.1
done
assert_eq "rows after a good file" 3 "$(dbq "SELECT count(*) FROM status_messages")"
# re-delivering the quarantined mixed file after a fix counts nothing twice
grep -v 'not json' "$T/mixed.jsonl" >"$INBOX/.again"
mv "$INBOX/.again" "$INBOX/again.jsonl"
for ((i = 0; i < 50; i++)); do
	[[ -e $INBOX/again.jsonl ]] || break
	sleep 0.1
done
assert_eq "rows after the re-delivery" 3 "$(dbq "SELECT count(*) FROM status_messages")"
assert_eq "pc-1 counted once" 1 "$(dbq "SELECT messages FROM client_last WHERE machine = 'pc-1'")"

# SIGHUP with a new [status] inbox: the ingester restarts on it
reload_napsited() { # EXPECTED-LOG-LINE
	local n
	n=$(ns_metric napsited_reloads_total)
	kill -HUP "$NAPSITED_PID"
	for ((i = 0; i < 50; i++)); do
		(($(ns_metric napsited_reloads_total) > n)) && grep -q "$1" "$T/napsited.log" && return 0
		sleep 0.1
	done
	fail "no reload with '$1' in the log"
}
ingested() { # FILE
	for ((i = 0; i < 50; i++)); do
		[[ -e $1 ]] || return 0
		sleep 0.1
	done
	fail "$1 was not ingested"
}
mkdir "$T/inbox2"
sed -i "s|^inbox = .*|inbox = $T/inbox2|" "$T/napsited.conf"
reload_napsited "ingester restarted"
good 6 pc-6 >"$T/inbox2/.t"
mv "$T/inbox2/.t" "$T/inbox2/$I-6-6.jsonl"
ingested "$T/inbox2/$I-6-6.jsonl"
assert_eq "rows after a file in the new inbox" 4 "$(dbq "SELECT count(*) FROM status_messages")"
# an inbox that is not there: the ingester keeps the previous one
sed -i "s|^inbox = .*|inbox = $T/nonexistent|" "$T/napsited.conf"
reload_napsited "the ingester keeps its previous settings"
good 7 pc-7 >"$T/inbox2/.t"
mv "$T/inbox2/.t" "$T/inbox2/$I-7-7.jsonl"
ingested "$T/inbox2/$I-7-7.jsonl"
assert_eq "rows after a failed [status] reload" 5 "$(dbq "SELECT count(*) FROM status_messages")"

# The same bad file once more (as after a napsited stop between its rows and moving it): its
# good lines count nothing twice and its bad line keeps its one row; quarantined again.
rows0=$(dbq "SELECT count(*) FROM status_quarantine")
cp "$T/mixed.jsonl" "$T/inbox2/.t"
mv "$T/inbox2/.t" "$T/inbox2/$I-1-2.jsonl"
ingested "$T/inbox2/$I-1-2.jsonl"
assert_eq "the same bad file again: no new quarantine row" "$rows0" \
	"$(dbq "SELECT count(*) FROM status_quarantine")"
assert_eq "the same bad file again: its messages not counted twice" 5 \
	"$(dbq "SELECT count(*) FROM status_messages")"
[[ -e $T/inbox2/quarantine/$I-1-2.jsonl ]] || fail "the file was not quarantined again"

# Retention: a message 200 days old is stored (the start-up pass ran before it came); a reload
# with keep = 100d restarts the ingester, whose first pass deletes it and keeps the recent ones;
# its day stays in the daily history until keep_daily = 150d; client_last keeps the machine.
OLD=$(date -u -d '200 days ago' +%Y-%m-%dT%H:%M:%SZ)
good 8 pc-old | sed "s/\"time\":\"[^\"]*\"/\"time\":\"$OLD\"/" >"$T/inbox2/.t"
mv "$T/inbox2/.t" "$T/inbox2/$I-8-8.jsonl"
ingested "$T/inbox2/$I-8-8.jsonl"
assert_eq "the old message stored" 1 "$(dbq "SELECT count(*) FROM status_messages WHERE machine = 'pc-old'")"
assert_eq "pruned before" 0 "$(ns_metric napsited_status_pruned_total)"
# a put's temporary file whose writer stopped two days ago goes with that pass; a fresh one stays
good 11 pc-11 >"$T/inbox2/.$I-11-11.jsonl.0badf00d.tmp"
touch -d '2 days ago' "$T/inbox2/.$I-11-11.jsonl.0badf00d.tmp"
good 12 pc-12 >"$T/inbox2/.$I-12-12.jsonl.5eed1e55.tmp"
sed -i "s|^inbox = .*|inbox = $T/inbox2\nkeep = 100d|" "$T/napsited.conf"
reload_napsited "pruned 1 message(s) older than 100 d"
[[ ! -e $T/inbox2/.$I-11-11.jsonl.0badf00d.tmp ]] || fail "a stale temporary file was left"
[[ -e $T/inbox2/.$I-12-12.jsonl.5eed1e55.tmp ]] || fail "a fresh temporary file was removed"
grep -q "removed .*0badf00d.tmp, a temporary file untouched for a day" "$T/napsited.log" ||
	fail "no log line for the stale temporary file"
assert_eq "old message pruned" 0 "$(dbq "SELECT count(*) FROM status_messages WHERE machine = 'pc-old'")"
assert_eq "recent messages kept" 5 "$(dbq "SELECT count(*) FROM status_messages")"
assert_eq "napsited_status_pruned_total" 1 "$(ns_metric napsited_status_pruned_total)"
assert_eq "client_last keeps pc-old" 1 "$(dbq "SELECT count(*) FROM client_last WHERE machine = 'pc-old'")"
assert_eq "its day in the history" 1 "$(dbq "SELECT count(*) FROM status_daily WHERE machine = 'pc-old'")"
sed -i "s|^keep = 100d|keep = 100d\nkeep_daily = 150d|" "$T/napsited.conf"
reload_napsited "1 daily row(s) older than 150 d"
assert_eq "its day pruned at keep_daily" 0 "$(dbq "SELECT count(*) FROM status_daily WHERE machine = 'pc-old'")"
assert_eq "napsited_status_daily_pruned_total" 1 "$(ns_metric napsited_status_daily_pruned_total)"

# A large backlog (as on the first pass after an upgrade): 230,000 old messages and 25,000 old
# daily rows go in turns of ten 10,000-row transactions, the inbox's files read between turns,
# until none is left; the recent rows and client_last stay.
dbq "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 230000)
     INSERT INTO status_messages (id, time, received, napvd, nas, client, machine, site,
       enforcement, result, branch, action, hsr_revision, correlation_id)
     SELECT 'backlog-' || i, strftime('%s', 'now') - 200 * 86400 - i, strftime('%s', 'now'),
       'bench', '127.0.0.1', 'local', 'pc-b' || (i % 1000), 'S01', 'dhcp', 'compliant',
       'matches', 'full', 5, '' FROM n;
     WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 25000)
     INSERT INTO status_daily (day, machine, v, messages)
     SELECT strftime('%s', 'now') / 86400 - 200 - i / 100, 'pc-d' || (i % 100), 1, 1 FROM n;" \
	>/dev/null
assert_eq "backlog stored" 230000 "$(dbq "SELECT count(*) FROM status_messages WHERE id LIKE 'backlog-%'")"
pruned0=$(ns_metric napsited_status_pruned_total)
daily0=$(ns_metric napsited_status_daily_pruned_total)
sed -i "s|^keep = 100d|keep = 99d|" "$T/napsited.conf"
reload_napsited "more after the inbox's turn"
good 10 pc-10 >"$T/inbox2/.t"
mv "$T/inbox2/.t" "$T/inbox2/$I-10-10.jsonl"
ingested "$T/inbox2/$I-10-10.jsonl"
for ((i = 0; i < 300; i++)); do
	(($(ns_metric napsited_status_pruned_total) - pruned0 >= 230000)) && break
	sleep 0.1
done
assert_eq "backlog pruned (messages)" 230000 $(($(ns_metric napsited_status_pruned_total) - pruned0))
assert_eq "backlog pruned (daily rows)" 25000 $(($(ns_metric napsited_status_daily_pruned_total) - daily0))
assert_eq "no old message left" 0 "$(dbq "SELECT count(*) FROM status_messages WHERE id LIKE 'backlog-%'")"
assert_eq "no old daily row left" 0 "$(dbq "SELECT count(*) FROM status_daily WHERE machine LIKE 'pc-d%'")"
assert_eq "recent messages kept, the file sent while pruning stored" 6 "$(dbq "SELECT count(*) FROM status_messages")"
assert_ge "turns taken" 2 "$(grep -c "pruned .*more after the inbox's turn" "$T/napsited.log")"
assert_eq "client_last untouched" 1 "$(dbq "SELECT count(*) FROM client_last WHERE machine = 'pc-old'")"
assert_alive "$NAPSITED_PID" napsited
status_stop_napsited
log "all ok"
