#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Status messages on PostgreSQL: tests/unit/store/test_status (the parser and the exactly-once
# batch insert, run on SQLite in the unit suite) against a real server from initdb/pg_ctl.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/peers.sh"
: "${TEST_STATUS:=$_nap_build/tests/unit/store/test_status}"
[[ -x $TEST_STATUS ]] || fail "test_status not built ($TEST_STATUS)"

start_postgres
rc=0
NAP_TEST_STORE_URI=$PG_URI "$TEST_STATUS" >"$T/test-status.log" 2>&1 || rc=$?
if ((rc != 0)); then
	cat "$T/test-status.log" >&2
	fail "test_status against PostgreSQL: exit $rc"
fi
grep -E '^\[ +(PASSED|SKIPPED|FAILED) +\]' "$T/test-status.log" >&2 || true
grep -q '^\[  PASSED  \] 10 test' "$T/test-status.log" || fail "test_status did not pass all 10 cases"
log "ok"
