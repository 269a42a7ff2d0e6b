#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# napbench without a server: usage errors exit 64; against a closed port every request times
# out or is refused, nothing is received, the exit status is 1 and the last line is the
# machine-readable result (the integration suite runs it against napvd).
# Environment: NAPBENCH, NAPCTL, JSONQ (set by meson).
set -u
: "${NAPBENCH:?}" "${NAPCTL:?}" "${JSONQ:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
checks=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}
ok() {
	checks=$((checks + 1))
}
status() {
	want=$1
	shift
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -eq "$want" ]; then ok; else
		fail "$*: exit $rc, want $want ($(head -c 300 "$tmp/err"))"
	fi
}

"$NAPCTL" key generate --private "$tmp/k" --public "$tmp/k.pub" >/dev/null
printf '{"version":1,"site":"S01","revision":3,"issued":"2026-11-25T10:00:00Z","policies":[]}' |
	"$NAPCTL" hsr sign --key "$tmp/k" -o "$tmp/hsr.json"
base="--server 127.0.0.1:1 --secret testing123 --hsr $tmp/hsr.json"

status 64 "$NAPBENCH"
status 64 "$NAPBENCH" dhcp
status 64 "$NAPBENCH" radius --secret s --hsr "$tmp/hsr.json"
# shellcheck disable=SC2086
status 64 "$NAPBENCH" radius $base --mix compliant=x
# shellcheck disable=SC2086
status 64 "$NAPBENCH" radius $base --mix bogus=1
# shellcheck disable=SC2086
status 64 "$NAPBENCH" radius $base --mix compliant=0
# shellcheck disable=SC2086
status 64 "$NAPBENCH" radius $base --window 257
# shellcheck disable=SC2086
status 64 "$NAPBENCH" radius $base --rate 100 --flat
# shellcheck disable=SC2086
status 64 "$NAPBENCH" radius $base --duration 0
status 0 "$NAPBENCH" radius --help
# shellcheck disable=SC2086
status 1 "$NAPBENCH" radius $base --site S09 --duration 1

# shellcheck disable=SC2086
status 1 "$NAPBENCH" radius $base --duration 1 --rate 200 --clients 2 --window 8
last=$(tail -n 1 "$tmp/out")
case $last in
"result: rps="*" errors="*" timeouts="*" sent="*" received=0") ok ;;
*) fail "closed port: last line '$last'" ;;
esac
grep -q "^requests/s: 0.0$" "$tmp/out" && ok || fail "closed port: requests/s not 0"
# shellcheck disable=SC2086
status 1 "$NAPBENCH" radius $base --duration 1 --json --no-wsh --wrap
eq_received=$(tail -n 1 "$tmp/out" | "$JSONQ" .received)
[ "$eq_received" = 0 ] && ok || fail "json: received '$eq_received'"
tail -n 1 "$tmp/out" | "$JSONQ" .classes.compliant.sent >/dev/null && ok || fail "json: no classes"

echo "napbench: $checks checks passed, $failures failed"
[ "$failures" -eq 0 ]
