#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# napvd listening on [::1] and 127.0.0.1 answers napctl and radclient over IPv6 with the same
# verdict as over IPv4; a client section for ::1 is matched by address family.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need "$PYTHON"

[[ -e /proc/net/if_inet6 ]] && grep -q '^0*1 ' /proc/net/if_inet6 || skip "no ::1 on this host"

make_site S01 5
NAPVD_PORT=$(free_port)
NAPVD_LISTEN="127.0.0.1:$NAPVD_PORT, [::1]:$NAPVD_PORT"
NAPVD_EXTRA=$(
	cat <<'EOF2'
[client local6]
address = ::1
secret = testing123
EOF2
)
write_napvd_conf "$T/napvd.conf"
start_napvd "$T/napvd.conf"

GOOD=$(sample --site S01 --revision 5 --hsr "$T/hsr.json" --compliant yes)
BAD=$(sample --site S01 --revision 5 --hsr "$T/hsr.json" --compliant no --missing deb-sudo-2026-03)
for server in "[::1]:$NAPVD_PORT" "127.0.0.1:$NAPVD_PORT"; do
	rc=0
	"$NAPCTL" radius query --server "$server" --secret "$SECRET" --nas-type dhcp \
		--soh "$GOOD" --json >"$T/good.json" || rc=$?
	assert_eq "$server compliant: napctl exit (Accept)" 0 "$rc"
	assert_eq "$server compliant: code" Access-Accept "$(jget "$T/good.json" "$JQ_Q_CODE")"
	assert_eq "$server compliant: MS-Quarantine-State" full-access "$(jget "$T/good.json" "$JQ_Q_STATE")"
	assert_eq "$server compliant: SoHR branch" matches "$(jget "$T/good.json" "$JQ_Q_BRANCH")"
	rc=0
	"$NAPCTL" radius query --server "$server" --secret "$SECRET" --nas-type dhcp \
		--soh "$BAD" --json >"$T/bad.json" || rc=$?
	assert_eq "$server noncompliant: napctl exit (Accept)" 0 "$rc"
	assert_eq "$server noncompliant: MS-Quarantine-State" restricted "$(jget "$T/bad.json" "$JQ_Q_STATE")"
done

if command -v radclient >/dev/null; then
	rc_send "$T/rc6.out" "[::1]:$NAPVD_PORT" "$SECRET" < <(soh_request "$GOOD") || true
	assert_eq "radclient over IPv6: code" Access-Accept "$(rc_code "$T/rc6.out")"
	assert_eq "radclient over IPv6: state" Full-Access "$(rc_attr "$T/rc6.out" MS-Quarantine-State)"
fi
assert_alive
stop_napvd
