#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# napagentd remediates for real, with apt, inside a throwaway root: the test builds two .deb
# packages (nap-demo-fix 1.0 and 1.1) with dpkg-deb, a local apt repository (dpkg-scanpackages)
# served over HTTP on 127.0.0.1 (python3 -m http.server), and an apt configuration
# (APT_CONFIG) whose Dir, status file, lists, cache and dpkg --root all point into $ROOT, so
# the machine's own packages are untouched (the host's /var/lib/dpkg/status is compared byte
# for byte before and after).
#
# Flow: the signed HSR requires nap-demo-fix >= 1.1 while $ROOT has 1.0 → `napagentd --once
# --json` reports not compliant and napvd (radclient) restricts its SoH → the daemon
# (napagentd -d) evaluates, runs apt-get update + install from the repository, re-evaluates:
# compliant, and the SoH it wrote is given full access by napvd. Then the repository goes away
# and dpkg downgrades the package under the running daemon: inotify on the status file's
# directory makes it evaluate again, the install fails with a clear log line, and the SoH it
# publishes is never compliant.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need radclient dpkg-deb dpkg-scanpackages apt-get dpkg "$PYTHON"
[[ -x ${NAPAGENTD:-} ]] || skip "napagentd not built"
((EUID == 0)) || skip "dpkg --root needs root"

HOST_STATUS=/var/lib/dpkg/status
HOST_SUM=$(sha256sum "$HOST_STATUS" | cut -d' ' -f1)
host_untouched() {
	assert_eq "host $HOST_STATUS unchanged ($1)" "$HOST_SUM" \
		"$(sha256sum "$HOST_STATUS" | cut -d' ' -f1)"
}

# --- packages and repository -----------------------------------------------------------------
mkdir -p "$T/repo"
for v in 1.0 1.1; do
	d=$T/build-$v
	mkdir -p "$d/DEBIAN" "$d/usr/share/nap-demo-fix"
	cat >"$d/DEBIAN/control" <<EOF
Package: nap-demo-fix
Version: $v
Architecture: all
Maintainer: nap tests <nap@napt.test>
Description: nap remediation test package
 Installed into a throwaway root by tests/integration/test-agent-remediation.sh.
EOF
	echo "$v" >"$d/usr/share/nap-demo-fix/version"
	dpkg-deb --root-owner-group -Zgzip --build "$d" "$T/repo/nap-demo-fix_${v}_all.deb" \
		>/dev/null
done
(cd "$T/repo" && dpkg-scanpackages -m . /dev/null >Packages 2>/dev/null)
grep -q '^Version: 1.1' "$T/repo/Packages" || fail "dpkg-scanpackages did not index 1.1"
HTTP_PORT=$(free_port)
start_repo() {
	(cd "$T/repo" && exec "$PYTHON" -m http.server --bind 127.0.0.1 "$HTTP_PORT") \
		>>"$T/http.log" 2>&1 &
	HTTP_PID=$!
	_nap_pids+=("$HTTP_PID")
	local i
	for ((i = 0; i < 100; i++)); do
		(exec 9<>"/dev/tcp/127.0.0.1/$HTTP_PORT") 2>/dev/null && return 0
		_nap_dead "$HTTP_PID" && fail "http.server exited"
		sleep 0.1
	done
	fail "http.server not up on $HTTP_PORT"
}
start_repo

# --- the throwaway root, apt pointed into it -------------------------------------------------
ROOT=$T/root
mkdir -p "$ROOT"/var/lib/dpkg/{info,updates,triggers} "$ROOT"/var/lib/apt/lists/partial \
	"$ROOT"/var/cache/apt/archives/partial "$ROOT"/var/log/apt \
	"$ROOT"/etc/apt/{apt.conf.d,preferences.d,sources.list.d,trusted.gpg.d}
: >"$ROOT/var/lib/dpkg/status"
: >"$ROOT/var/lib/dpkg/available"
# APT_CONFIG is read first and names the parts directory: none of the host's apt.conf.d
# (hooks, proxies) applies
cat >"$ROOT/etc/apt/apt.conf" <<EOF
Dir "$ROOT/";
Dir::Etc "etc/apt/";
Dir::Etc::main "apt.conf";
Dir::Etc::parts "apt.conf.d/";
Dir::State "var/lib/apt/";
Dir::State::status "$ROOT/var/lib/dpkg/status";
Dir::Cache "var/cache/apt/";
Dir::Log "var/log/apt/";
APT::Sandbox::User "root";
APT::Install-Recommends "false";
APT::Keep-Downloaded-Packages "false";
Acquire::Languages "none";
Acquire::Retries "0";
Acquire::http::Timeout "5";
DPkg::Options { "--root=$ROOT"; };
EOF
echo "deb [trusted=yes] http://127.0.0.1:$HTTP_PORT/ ./" >"$ROOT/etc/apt/sources.list"
dpkg_root() { dpkg --root="$ROOT" "$@" >>"$T/dpkg.log" 2>&1 || fail "dpkg --root $*"; }
root_version() {
	dpkg-query --admindir="$ROOT/var/lib/dpkg" -W -f '${Version}' nap-demo-fix 2>/dev/null || true
}
dpkg_root -i "$T/repo/nap-demo-fix_1.0_all.deb"
assert_eq "throwaway root starts with" 1.0 "$(root_version)"
host_untouched "after dpkg --root"

# --- policy: nap-demo-fix >= 1.1 ---------------------------------------------------------------
"$NAPCTL" key generate --private "$T/site.key" --public "$T/site.pub" >/dev/null
cat >"$T/hsr-unsigned.json" <<EOF
{
  "version": 1,
  "site": "S01",
  "revision": 7,
  "issued": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "policies": [
    {"id": "napt-demo-fix-2026-01", "package": "nap-demo-fix", "min_version": "1.1",
     "scheme": "dpkg", "severity": "critical", "effective": "2026-01-01T00:00:00Z",
     "reason": "demo fix"}
  ]
}
EOF
"$NAPCTL" hsr sign --key "$T/site.key" "$T/hsr-unsigned.json" -o "$T/hsr.json"

NAPVD_EXTRA=$(
	cat <<'EOF'
[enforcement dhcp]
compliant = full
noncompliant = restricted
noncapable = restricted
remediation_servers = 192.0.2.10
EOF
)
write_napvd_conf "$T/napvd.conf"
start_napvd "$T/napvd.conf"

# --- the agent ---------------------------------------------------------------------------------
AGENT_STATE=$T/agent
cat >"$T/napagentd.conf" <<EOF
[agent]
machine_name = napt-remediate.napt.test
state_dir = $AGENT_STATE
pidfile = $T/napagentd.pid
evaluate_interval = 1h
settle = 1s

[site]
policy_file = $T/hsr.json
hsr_key = $T/site.pub

[packages]
backend = dpkg
dpkg_status = $ROOT/var/lib/dpkg/status

[remediation]
enabled = yes
update_command = /usr/bin/apt-get -q update
install_command = /usr/bin/apt-get -y -q install
env = APT_CONFIG=$ROOT/etc/apt/apt.conf
timeout = 60s
EOF
"$NAPAGENTD" -n -f "$T/napagentd.conf" >"$T/napagentd-n.out" 2>&1 ||
	fail "napagentd -n refused the configuration: $(cat "$T/napagentd-n.out")"

# judge HEX NAME: the SoH through radclient to napvd; sets STATE
judge() {
	rc_send "$T/$2.out" "127.0.0.1:$NAPVD_PORT" "$SECRET" < <(soh_request "$1") || true
	assert_eq "$2: napvd answered" Access-Accept "$(rc_code "$T/$2.out")"
	STATE=$(rc_attr "$T/$2.out" MS-Quarantine-State)
}

# the nap entry of an SoH, decoded by napdump (compliant flag, missing ids, failure category)
soh_nap() { # HEX KEY
	printf '%s\n' "$1" | "$NAPDUMP" soh --json >"$T/soh-nap.json"
	jget "$T/soh-nap.json" "[e[\"nap\"] for e in j[\"entries\"] if \"nap\" in e][0][\"$2\"]"
}

"$NAPAGENTD" -f "$T/napagentd.conf" --once --json >"$T/once-before.json" 2>>"$T/agent-once.log" ||
	fail "napagentd --once --json failed"
assert_eq "before: agent says compliant" false "$(jget "$T/once-before.json" 'j["compliant"]')"
assert_match "before: the policy is reported missing" napt-demo-fix-2026-01 \
	"$(tr -d '\n' <"$T/once-before.json")"
BEFORE_SOH=$("$NAPAGENTD" -f "$T/napagentd.conf" --once --print-soh 2>>"$T/agent-once.log")
judge "$BEFORE_SOH" before
assert_eq "before: napvd restricts the agent's SoH" Quarantine "$STATE"
assert_eq "--once did not remediate" 1.0 "$(root_version)"

# --- the daemon remediates ----------------------------------------------------------------------
"$NAPAGENTD" -d -v -f "$T/napagentd.conf" >>"$T/napagentd.log" 2>&1 &
AGENT_PID=$!
_nap_pids+=("$AGENT_PID")
# wait_eval WHAT PYTHON-CONDITION: until state_dir/evaluation.json satisfies it (30 s)
wait_eval() {
	local i
	for ((i = 0; i < 300; i++)); do
		_nap_dead "$AGENT_PID" && fail "napagentd exited (see napagentd.log)"
		if [[ -s $AGENT_STATE/evaluation.json ]] &&
			[[ $(jget "$AGENT_STATE/evaluation.json" "$2") == true ]]; then
			log "ok: $1"
			return 0
		fi
		sleep 0.1
	done
	fail "$1: not within 30 s (evaluation: $(tr -d '\n' <"$AGENT_STATE/evaluation.json" 2>/dev/null | cut -c1-300))"
}
wait_eval "daemon: compliant after remediation" 'j["compliant"] is True'
assert_eq "apt installed the fix into the throwaway root" 1.1 "$(root_version)"
assert_eq "the package's file is in the root" 1.1 "$(cat "$ROOT/usr/share/nap-demo-fix/version")"
grep -q 'remediation: installed nap-demo-fix' "$T/napagentd.log" ||
	fail "no 'remediation: installed' line in the daemon's log"
log "ok: the daemon logged the installation"
host_untouched "after apt-get install"
[[ ! -e /usr/share/nap-demo-fix ]] || fail "nap-demo-fix landed on the host"

# the SoH the daemon published is judged compliant
for ((i = 0; i < 50; i++)); do
	AFTER_SOH=$(tr -d ' \n' <"$AGENT_STATE/soh" 2>/dev/null || true)
	[[ -n $AFTER_SOH && $AFTER_SOH != "$BEFORE_SOH" ]] && break
	sleep 0.1
done
judge "$AFTER_SOH" after
assert_eq "after: napvd gives the remediated agent full access" Full-Access "$STATE"
# and the one-shot evaluation agrees
"$NAPAGENTD" -f "$T/napagentd.conf" --once --json >"$T/once-after.json" 2>>"$T/agent-once.log"
assert_eq "after: --once says compliant" true "$(jget "$T/once-after.json" 'j["compliant"]')"

# --- the package manager fails: repository down, package downgraded under the daemon -----------
stop_pid "$HTTP_PID"
ls "$ROOT"/var/cache/apt/archives/*.deb >/dev/null 2>&1 &&
	fail "apt kept the downloaded package: the failure below would not need the repository"
REMED0=$(grep -c 'remediation: install of nap-demo-fix failed' "$T/napagentd.log" || true)
dpkg_root -i "$T/repo/nap-demo-fix_1.0_all.deb" # inotify: the status file changes
assert_eq "downgraded in the root" 1.0 "$(root_version)"
wait_eval "daemon: re-evaluated after the downgrade (inotify), not compliant" \
	'j["compliant"] is False'
for ((i = 0; i < 300; i++)); do
	n=$(grep -c 'remediation: install of nap-demo-fix failed' "$T/napagentd.log" || true)
	((n > REMED0)) && break
	sleep 0.1
done
((n > REMED0)) || fail "no 'install ... failed' line after the repository went down"
LINE=$(grep '^remediation: install of nap-demo-fix failed' "$T/napagentd.log" | tail -n1)
assert_match "failure log line names apt-get and its status" \
	'install of nap-demo-fix failed: /usr/bin/apt-get exited [0-9]+' "$LINE"
assert_eq "still 1.0 in the root" 1.0 "$(root_version)"
sleep 0.5
FAIL_SOH=$(tr -d ' \n' <"$AGENT_STATE/soh")
assert_ne "the SoH after the failure is never compliant" true "$(soh_nap "$FAIL_SOH" compliant)"
assert_eq "the SoH after the failure: failure category" client-component \
	"$(soh_nap "$FAIL_SOH" failure_category)"
judge "$FAIL_SOH" failed
assert_eq "failed remediation: napvd restricts" Quarantine "$STATE"
assert_alive "$AGENT_PID" napagentd

stop_pid "$AGENT_PID"
((STOP_STATUS == 0)) || fail "napagentd exited with status $STOP_STATUS on SIGTERM"
host_untouched "at the end"
stop_napvd
