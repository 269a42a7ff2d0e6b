#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The site store on PostgreSQL: the store's unit tests (tests/unit/store/test_store, the binary
# that runs on SQLite in the unit suite) against a real server from initdb/pg_ctl, every case on
# a freshly emptied schema; one more case restarts the server between two writes on one handle
# ($NAP_TEST_STORE_RESTART) and expects the store to reconnect.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/peers.sh"
: "${TEST_STORE:=$_nap_build/tests/unit/store/test_store}"
[[ -x $TEST_STORE ]] || fail "test_store not built ($TEST_STORE)"

start_postgres
log "PostgreSQL on 127.0.0.1:$PG_PORT"

cat >"$T/pg-restart.sh" <<EOF
#!/bin/bash
runuser -u postgres -- "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -m fast \\
	-w -o "-p $PG_PORT -k $PG_SOCKDIR -c listen_addresses=127.0.0.1" restart >/dev/null
EOF
chmod +x "$T/pg-restart.sh"

rc=0
NAP_TEST_STORE_URI=$PG_URI NAP_TEST_STORE_RESTART=$T/pg-restart.sh \
	"$TEST_STORE" >"$T/test-store.log" 2>&1 || rc=$?
if ((rc != 0)); then
	cat "$T/test-store.log" >&2
	fail "test_store against PostgreSQL: exit $rc"
fi
grep -E '^\[ +(PASSED|SKIPPED|FAILED) +\]' "$T/test-store.log" >&2 || true
grep -q '^\[  PASSED  \]' "$T/test-store.log" || fail "test_store printed no PASSED line"
# The restart case must have run, not skipped.
! grep -q 'SKIPPED.*test_pg_reconnect' "$T/test-store.log" || fail "reconnect case skipped"
log "ok"
