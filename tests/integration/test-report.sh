#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# napctl report compliance|clients|policies|history|feed and napctl explain on SQLite and on
# PostgreSQL. The verdicts are real: napvd judges five machines over RADIUS (napctl radius query
# with SoHs from napctl soh sample) and writes its status spool; the spool's records go into
# status_messages, client_last and status_daily the way the ingester stores them (one row per
# record, the latest per machine, a count; per day and machine the last verdict). The ingester (napsited's inbox, include/nap/status.h) has not
# landed yet, so this script loads the records with SQL generated from the spool; agent states
# (napsited's agent endpoint in production) are loaded the same way. Then every report is
# checked against what napvd decided, the silent-client report against the clock, and bad
# parameters (names with spaces, SQL in names, negative limits, unknown options) are refused
# with exit 64 and leave the tables as they were. Last, the unit test of the report queries
# runs against the same PostgreSQL server.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/peers.sh"
need "$PYTHON"
need sqlite3
: "${TEST_REPORT:=$_nap_build/tests/unit/store/test_report}"

make_site S01 5
NAPVD_EXTRA='[enforcement dhcp]
compliant = full
noncompliant = restricted
noncapable = restricted
remediation_servers = 192.0.2.10'
write_napvd_conf "$T/napvd.conf"
start_napvd "$T/napvd.conf"

SPOOL=$T/state/spool
# start_napvd's readiness probe is a decision too (no machine name): leave it out
L0=$(tr -d '\0' <"$SPOOL" | wc -l)
query() { # MACHINE SAMPLE-ARGS...: one Access-Request for MACHINE; prints the decision
	local m=$1
	shift
	"$NAPCTL" radius query --server "127.0.0.1:$NAPVD_PORT" --secret "$SECRET" --nas-type dhcp \
		--soh "$(sample --site S01 --machine "$m" "$@")" --json |
		jget - 'j.get("decision") or j.get("code") or ""'
}
# pc-bad first compliant, then missing sudo: its last verdict counts
H=(--hsr "$T/hsr.json")
query pc-bad "${H[@]}" --compliant yes >/dev/null
query pc-good "${H[@]}" --compliant yes >/dev/null
query pc-bad "${H[@]}" --compliant no --missing deb-sudo-2026-03 >/dev/null
# evaluated against revision 4 (another digest): out of date
query pc-old --revision 4 --digest "$(printf '%064d' 4)" --compliant yes >/dev/null
query pc-ssl "${H[@]}" --compliant no --missing deb-openssl-2026-01 \
	--missing deb-sudo-2026-03 >/dev/null
query lab-1 "${H[@]}" --compliant yes >/dev/null
for ((i = 0; i < 100; i++)); do
	(($(tr -d '\0' <"$SPOOL" | wc -l) >= L0 + 6)) && break
	sleep 0.05
done
assert_eq "spool records" $((L0 + 6)) "$(tr -d '\0' <"$SPOOL" | wc -l)"

# The spool as the ingester would store it, and agent states as napsited's endpoint would.
NOW=$(date +%s)
"$PYTHON" - "$SPOOL" "$NOW" "$L0" >"$T/load.sql" <<'EOF'
import calendar, json, sys, time
spool, now, skip = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def q(v):
    return "NULL" if v is None else "'" + str(v).replace("'", "''") + "'"
rows = []
with open(spool, "rb") as f:
    for n, line in enumerate(f.read().split(b"\0")[0].decode().splitlines(), 1):
        if n <= skip:
            continue
        r = json.loads(line)
        t = calendar.timegm(time.strptime(r["time"], "%Y-%m-%dT%H:%M:%SZ"))
        rows.append((r.get("id", "00000000000000aa-%d" % n), t, r))
print("BEGIN;")
last = {}
for id_, t, r in rows:
    print("INSERT INTO status_messages (id, time, received, napvd, nas, client, machine, site,"
          " enforcement, result, branch, exemption, action, hsr_revision, correlation_id)"
          " VALUES (%s, %d, %d, 'test-napvd', %s, %s, %s, %s, %s, %s, %s, %s, %s, %d, %s);" %
          (q(id_), t, now, q(r["nas"]), q(r["client"]), q(r["machine"]), q(r["site"]),
           q(r["enforcement"]), q(r["result"]), q(r["branch"]), q(r.get("exemption")),
           q(r["action"]), r["hsr_revision"], q(r["correlation_id"])))
    m = r["machine"]
    first = last[m][3] if m in last else t
    count = last[m][4] + 1 if m in last else 1
    last[m] = (id_, t, r, first, count)
for m, (id_, t, r, first, count) in sorted(last.items()):
    print("INSERT INTO client_last (machine, id, time, first_seen, napvd, nas, client, site,"
          " enforcement, result, branch, exemption, action, hsr_revision, messages)"
          " VALUES (%s, %s, %d, %d, 'test-napvd', %s, %s, %s, %s, %s, %s, %s, %s, %d, %d);" %
          (q(m), q(id_), t, first, q(r["nas"]), q(r["client"]), q(r["site"]),
           q(r["enforcement"]), q(r["result"]), q(r["branch"]), q(r.get("exemption")),
           q(r["action"]), r["hsr_revision"], count))
agents = [("pc-bad", 3, 0, "deb-sudo-2026-03",
           '{"checks":{"fw":"pass"},"failure":null}', now - 30),
          ("pc-ssl", 3, 0, "deb-openssl-2026-01 deb-sudo-2026-03", None, now - 30),
          ("pc-good", 1, 1, "", None, now - 30),
          ("pc-lost", 1, 1, "", None, now - 3 * 3600)]
print("INSERT INTO status_daily (day, machine, v, messages) SELECT time / 86400, machine,"
      " max(time * 2 + CASE WHEN result = 'compliant' THEN 0 ELSE 1 END), count(*)"
      " FROM status_messages GROUP BY 1, 2;")
for c, state, compliant, missing, detail, received in agents:
    print("INSERT INTO agent_state (client, state, compliant, hsr_revision, hsr_digest,"
          " evaluated, received, missing, detail) VALUES (%s, %d, %d, 5, '', %d, %d, %s, %s);" %
          (q(c), state, compliant, received - 5, received, q(missing), q(detail)))
print("COMMIT;")
EOF

policies() { # STORE
	local s=$1
	"$NAPCTL" --store "$s" policy add deb-openssl-2026-01 --package openssl \
		--min-version 3.0.15-1~deb12u1 --severity critical --effective 2026-01-01 >/dev/null
	"$NAPCTL" --store "$s" policy add deb-sudo-2026-03 --package sudo \
		--min-version 1.9.13p3-1+deb12u2 --severity moderate --effective 2026-03-01 >/dev/null
}

# checks STORE NAME: every report against what napvd decided above
checks() {
	local s=$1 name=$2 out
	r() { "$NAPCTL" --store "$s" "$@"; }

	r report compliance --json >"$T/c.json"
	assert_eq "$name: clients" 5 "$(jget "$T/c.json" 'j["clients"]')"
	assert_eq "$name: compliant" 2 "$(jget "$T/c.json" 'j["compliant"]')"
	assert_eq "$name: noncompliant" 3 "$(jget "$T/c.json" 'j["noncompliant"]')"
	assert_eq "$name: messages" 6 "$(jget "$T/c.json" 'j["messages"]')"
	assert_eq "$name: by result" '{"compliant": 2, "noncompliant": 3}' \
		"$(jget "$T/c.json" 'j["by_result"]')"
	assert_eq "$name: by action" '{"full": 2, "restricted": 3}' \
		"$(jget "$T/c.json" 'j["by_action"]')"
	assert_eq "$name: by branch" '{"matches": 4, "out_of_date": 1}' \
		"$(jget "$T/c.json" 'j["by_branch"]')"
	assert_eq "$name: by enforcement" '{"dhcp": 5}' "$(jget "$T/c.json" 'j["by_enforcement"]')"
	assert_eq "$name: silent (30min)" 0 "$(jget "$T/c.json" 'j["silent"]')"
	assert_eq "$name: agents" 4 "$(jget "$T/c.json" 'j["agents"]["total"]')"
	assert_eq "$name: agents restricted" 2 "$(jget "$T/c.json" 'j["agents"]["restricted"]')"
	assert_eq "$name: agents missing" 2 "$(jget "$T/c.json" 'j["agents"]["missing"]')"
	out=$(r report compliance)
	assert_match "$name: compliance table" 'noncompliant +3 \(60.0%\)' "$out"

	r report clients --json >"$T/l.json"
	assert_eq "$name: clients listed" '["lab-1", "pc-bad", "pc-good", "pc-lost", "pc-old", "pc-ssl"]' \
		"$(jget "$T/l.json" '[c["machine"] for c in j["clients"]]')"
	assert_eq "$name: pc-bad result" noncompliant \
		"$(jget "$T/l.json" 'j["clients"][1]["verdict"]["result"]')"
	assert_eq "$name: pc-bad verdicts" 2 "$(jget "$T/l.json" 'j["clients"][1]["verdict"]["messages"]')"
	assert_eq "$name: pc-bad missing" '["deb-sudo-2026-03"]' \
		"$(jget "$T/l.json" 'j["clients"][1]["agent"]["missing"]')"
	assert_eq "$name: pc-lost judged" false "$(jget "$T/l.json" 'j["clients"][3]["judged"]')"
	assert_eq "$name: pc-old branch" out_of_date \
		"$(jget "$T/l.json" 'j["clients"][4]["verdict"]["branch"]')"
	r report clients --noncompliant --json >"$T/l.json"
	assert_eq "$name: noncompliant" '["pc-bad", "pc-old", "pc-ssl"]' \
		"$(jget "$T/l.json" '[c["machine"] for c in j["clients"]]')"
	r report clients --prefix pc- --limit 2 --offset 1 --json >"$T/l.json"
	assert_eq "$name: page" '[5, "pc-good", "pc-lost"]' \
		"$(jget "$T/l.json" '[j["total"]] + [c["machine"] for c in j["clients"]]')"
	r report clients --policy deb-sudo-2026-03 --json >"$T/l.json"
	assert_eq "$name: missing sudo" '["pc-bad", "pc-ssl"]' \
		"$(jget "$T/l.json" '[c["machine"] for c in j["clients"]]')"
	# silent: only the agent that last reported 3 h ago; with 1 s everybody once a second passed
	r report clients --silent --json >"$T/l.json"
	assert_eq "$name: silent 30min" '["pc-lost"]' \
		"$(jget "$T/l.json" '[c["machine"] for c in j["clients"]]')"
	sleep 2
	r report clients --silent --silent-after 1s --json >"$T/l.json"
	assert_eq "$name: silent 1s" 6 "$(jget "$T/l.json" 'j["total"]')"
	assert_eq "$name: longest silent first" pc-lost "$(jget "$T/l.json" 'j["clients"][0]["machine"]')"
	out=$(r report clients --silent)
	assert_match "$name: silent table" 'pc-lost .*\[silent\]' "$out"

	r report policies --json >"$T/p.json"
	assert_eq "$name: policies" '[["deb-sudo-2026-03", 2], ["deb-openssl-2026-01", 1]]' \
		"$(jget "$T/p.json" '[[p["id"], p["missing"]] for p in j["policies"]]')"

	r report history --since 2h --json >"$T/h.json"
	assert_eq "$name: history messages" 6 "$(jget "$T/h.json" 'sum(p["messages"] for p in j["points"])')"
	# each machine counts once per hour, as its last verdict there (pc-bad: noncompliant; when its
	# two verdicts fall in the same second, the noncompliant one counts)
	assert_eq "$name: history noncompliant" 3 \
		"$(jget "$T/h.json" 'sum(p["noncompliant"] for p in j["points"])')"
	r report history --bucket day --since 3d --json >"$T/h.json"
	assert_eq "$name: history by day" 6 "$(jget "$T/h.json" 'sum(p["messages"] for p in j["points"])')"

	r report feed --client pc-bad --json >"$T/f.json"
	assert_eq "$name: feed pc-bad" '["noncompliant", "compliant"]' \
		"$(jget "$T/f.json" '[m["result"] for m in j["messages"]]')"
	r report feed --limit 3 --json >"$T/f.json"
	assert_eq "$name: feed limit" 3 "$(jget "$T/f.json" 'len(j["messages"])')"

	r explain pc-ssl --json >"$T/e.json"
	assert_eq "$name: explain result" noncompliant "$(jget "$T/e.json" 'j["verdict"]["result"]')"
	assert_eq "$name: explain branch" matches "$(jget "$T/e.json" 'j["verdict"]["branch"]')"
	assert_eq "$name: explain revision" 5 "$(jget "$T/e.json" 'j["verdict"]["hsr_revision"]')"
	assert_eq "$name: explain fixes" \
		'["install openssl >= 3.0.15-1~deb12u1 (deb-openssl-2026-01)", "install sudo >= 1.9.13p3-1+deb12u2 (deb-sudo-2026-03)"]' \
		"$(jget "$T/e.json" 'j["fixes"]')"
	out=$(r explain pc-old)
	assert_match "$name: explain out_of_date" 'branch +out_of_date: the client evaluated an older policy revision' "$out"
	out=$(r explain pc-lost)
	assert_match "$name: explain silent" 'agent silent for 3 h: check napagentd on the host' "$out"
	assert_match "$name: explain never judged" 'never judged by napvd' "$out"
	out=$(r explain lab-1)
	assert_match "$name: explain compliant" 'COMPLIANT, full' "$out"
	assert_match "$name: nothing to fix" 'to fix +nothing' "$out"

	# bad parameters: refused with 64 (usage) or 1 (no such client), nothing changed
	local rc
	# bad parameters are refused before the store is touched: once is enough (SQLite)
	[[ $name == sqlite ]] || bad() { :; }
	[[ $name != sqlite ]] || bad() {
		rc=0
		r "$@" >/dev/null 2>"$T/err" || rc=$?
		assert_eq "$name: '$*' refused" 64 "$rc"
		[[ -s $T/err ]] || fail "$name: '$*' printed no reason"
	}
	bad explain
	bad explain "a b"
	bad explain pc-bad extra
	bad explain "x'; DROP TABLE client_last;--"
	bad explain "$(printf 'pc\tbad')"
	bad report clients --limit -1
	bad report clients --limit 0
	bad report clients --limit abc
	bad report clients --limit 5001
	bad report clients --offset -5
	bad report clients --sort bogus
	bad report clients --action "full' OR 1=1"
	bad report clients --compliant --noncompliant
	bad report clients --prefix "a b"
	bad report clients --policy "x y"
	bad report clients --silent-after -3m
	bad report history --since yesterday
	bad report history --bucket week
	bad report history --since 1h --until 2h
	bad report policies --limit 99999
	bad report feed --client "a b"
	bad report bogus
	rc=0
	r explain "x';DROP" >/dev/null 2>"$T/err" || rc=$?
	assert_eq "$name: unknown client" 1 "$rc"
	assert_match "$name: unknown client message" "no client x';DROP" "$(cat "$T/err")"
	r report clients --prefix "pc'OR'1'='1" --json >"$T/l.json"
	assert_eq "$name: SQL in a prefix matches nothing" 0 "$(jget "$T/l.json" 'j["total"]')"
	r report compliance --json >"$T/c.json"
	assert_eq "$name: tables intact" '[5, 6]' "$(jget "$T/c.json" '[j["clients"], j["messages"]]')"
	log "ok: $name"
}

# --- SQLite ---------------------------------------------------------------------------------
SQ=sqlite:$T/site.db
policies "$SQ"
sqlite3 "$T/site.db" <"$T/load.sql"
checks "$SQ" sqlite

# --- PostgreSQL -----------------------------------------------------------------------------
start_postgres
policies "$PG_URI"
psql -q -v ON_ERROR_STOP=1 "$PG_URI" -f "$T/load.sql" >/dev/null
checks "$PG_URI" postgresql

# the unit test of the report queries on the same server (it empties the schema per case)
if [[ -x $TEST_REPORT ]]; then
	rc=0
	NAP_TEST_STORE_URI=$PG_URI "$TEST_REPORT" >"$T/test-report.log" 2>&1 || rc=$?
	((rc == 0)) || { cat "$T/test-report.log" >&2; fail "test_report on PostgreSQL: exit $rc"; }
	grep -q '^\[  PASSED  \]' "$T/test-report.log" || fail "test_report printed no PASSED line"
	log "ok: test_report on PostgreSQL"
else
	fail "test_report not built ($TEST_REPORT)"
fi
log "ok"
