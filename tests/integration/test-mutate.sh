#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Mutation loop: radmutate sends truncated, oversized, bit-flipped and attribute-length-mangled
# Access-Requests (with a stale Message-Authenticator, and with one recomputed after the
# mutation so napvd parses deep into garbage SoHs), interleaved with valid requests that must
# all be answered. Afterwards napvd is alive, still answers, and its drop counters account for
# at least every unauthenticated mutant.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need "$PYTHON"
[[ -x $RADMUTATE ]] || fail "radmutate not built ($RADMUTATE)"

make_site S01 5
write_napvd_conf "$T/napvd.conf"
start_napvd "$T/napvd.conf"

drops_total() { metric "$M_DROPS"; }
D0=$(drops_total)
ITER=${MUTATE_ITERATIONS:-3000}
for soh_kind in short long; do
	if [[ $soh_kind == long ]]; then
		S=$(sample --site S01 --revision 5 --hsr "$T/hsr.json" --compliant yes --wsh)
	else
		S=$(sample --site S01 --revision 5 --hsr "$T/hsr.json" --compliant no \
			--missing deb-openssl-2026-01)
	fi
	rc=0
	"$RADMUTATE" mutate --server "127.0.0.1:$NAPVD_PORT" --secret "$SECRET" --soh "$S" \
		--iterations "$ITER" --seed "$((RANDOM + 1))" >"$T/mutate-$soh_kind.out" || rc=$?
	cat "$T/mutate-$soh_kind.out" >&2
	LAST=$(tail -n1 "$T/mutate-$soh_kind.out")
	assert_eq "$soh_kind: radmutate exit (every valid request answered)" 0 "$rc"
	declare -A R=()
	for kv in $LAST; do R[${kv%%=*}]=${kv#*=}; done
	assert_eq "$soh_kind: valid requests answered" "${R[valid]}" "${R[valid_answered]}"
	assert_ge "$soh_kind: valid requests sent" $((ITER / 8)) "${R[valid]}"
	assert_eq "$soh_kind: signed garbage-SoH requests answered" "${R[signed_soh]}" \
		"${R[signed_soh_answered]}"
	UNSIGNED=$((${UNSIGNED:-0} + R[unsigned]))
	assert_alive
done

D1=$(drops_total)
log "drops: $D0 -> $D1 ($(metrics | grep '^napvd_drops_total' | tr '\n' ' '))"
assert_ge "drop counters grew by at least the unauthenticated mutants" "$UNSIGNED" $((D1 - D0))
assert_ge "malformed SoHs counted" 1 "$(metric napvd_malformed_soh_total)"

# still serving normally
S=$(sample --site S01 --revision 5 --hsr "$T/hsr.json" --compliant yes)
"$NAPCTL" radius query --server "127.0.0.1:$NAPVD_PORT" --secret "$SECRET" --nas-type dhcp \
	--soh "$S" --json >"$T/after.json" || fail "napvd does not answer after the mutants"
assert_eq "after the mutants: state" full-access "$(jget "$T/after.json" "$JQ_Q_STATE")"
assert_alive
stop_napvd
grep -q -i 'AddressSanitizer\|runtime error' "$T/napvd.log" && fail "sanitizer report in napvd.log"
log "no sanitizer reports"
