# SPDX-License-Identifier: GPL-3.0-or-later
# Shared helpers for the integration tests (bash, sourced): a temporary directory, free loopback
# ports, napvd and FreeRADIUS started in the background and stopped by PID on exit (also when a
# test fails), readiness polling, radclient wrappers, metrics scraping and assertions that say
# what was expected and what came. Traffic goes to 127.0.0.1 / ::1 only.

set -euo pipefail

# Binaries: from the environment (tests/integration/meson.build) or the default build layout.
_nap_build=${MESON_BUILD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build}
: "${NAPVD:=$_nap_build/daemons/napvd/napvd}"
: "${NAPCTL:=$_nap_build/tools/napctl/napctl}"
: "${NAPDUMP:=$_nap_build/tools/napdump/napdump}"
: "${NAPBENCH:=$_nap_build/tools/napbench/napbench}"
: "${RADMUTATE:=$_nap_build/tests/integration/radmutate}"
: "${VECTORS:=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/vectors}"
: "${FR_TEMPLATES:=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/freeradius}"
export NAPVD NAPCTL NAPDUMP NAPBENCH
# the system interpreter: version-manager shims in PATH can cost a second per call
if [[ -z ${PYTHON:-} ]]; then
	if [[ -x /usr/bin/python3 ]]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
fi

TEST_NAME=$(basename "$0" .sh)
T=$(mktemp -d "${TMPDIR:-/tmp}/napit-$TEST_NAME.XXXXXX")
SECRET=testing123
_nap_pids=()
_nap_cleanup_hooks=() # commands run at exit before the PIDs are stopped (pg_ctl stop, ...)
_nap_failed=0
_nap_ports=" "

log() { printf '[%s] %s\n' "$TEST_NAME" "$*" >&2; }

# fail MESSAGE...: print and exit non-zero (the EXIT trap stops every process).
fail() {
	printf '[%s] FAIL: %s\n' "$TEST_NAME" "$*" >&2
	_nap_failed=1
	exit 1
}

skip() {
	printf '[%s] SKIP: %s\n' "$TEST_NAME" "$*" >&2
	exit 77
}

# Is PID gone or a zombie? (PID 1 reaps orphans late; our own children we reap with wait.)
_nap_dead() {
	local st
	[[ -r /proc/$1/stat ]] || return 0
	st=$(sed -e 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 0
	[[ -z $st || $st == Z || $st == X ]]
}

# stop_pid PID [SIGNAL]: signal one process we started, wait up to 5 s, then SIGKILL; reap it.
stop_pid() {
	local pid=$1 sig=${2:-TERM} i
	[[ -n $pid ]] || return 0
	kill -"$sig" "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		_nap_dead "$pid" && break
		sleep 0.1
	done
	if ! _nap_dead "$pid"; then
		log "pid $pid ignored SIG$sig, sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	STOP_STATUS=0
	wait "$pid" 2>/dev/null || STOP_STATUS=$?
	_nap_forget "$pid"
}

_nap_forget() {
	local p keep=()
	for p in "${_nap_pids[@]}"; do
		[[ $p == "$1" ]] || keep+=("$p")
	done
	_nap_pids=("${keep[@]}")
}

_nap_cleanup() {
	local rc=$? p
	set +e
	for p in "${_nap_cleanup_hooks[@]}"; do
		$p
	done
	for p in "${_nap_pids[@]}"; do
		stop_pid "$p"
	done
	if ((rc != 0 && rc != 77)) || ((_nap_failed)); then
		local f
		for f in "$T"/*.log; do
			[[ -f $f ]] || continue
			printf '%s %s (last 40 lines)\n' '-----' "$f" >&2
			tail -n 40 "$f" >&2
		done
	fi
	if [[ -n ${KEEP_TMP:-} ]]; then
		log "kept $T"
	else
		rm -rf "$T"
	fi
	exit "$rc"
}
trap _nap_cleanup EXIT
trap 'exit 130' INT TERM

need() {
	local c
	for c; do
		command -v "$c" >/dev/null 2>&1 || [[ -x $c ]] || skip "$c not available"
	done
}

# free_port [udp|tcp]: a port on loopback not in use (per /proc/net) and not handed out yet,
# below the kernel's ephemeral range (ip_local_port_range): a port in that range can be taken
# by any outgoing connection between this check and the daemon's bind.
free_port() {
	local port hex i lo=10000 hi=32768 range
	read -r range _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || range=32768
	((range > lo + 2000)) && hi=$range
	for ((i = 0; i < 200; i++)); do
		port=$((lo + RANDOM % (hi - lo)))
		[[ $_nap_ports == *" $port "* ]] && continue
		# callers use $(free_port): the variable above is lost in the subshell, the file not
		grep -qx "$port" "$T/.ports" 2>/dev/null && continue
		hex=$(printf ':%04X ' "$port")
		if ! cat /proc/net/udp /proc/net/udp6 /proc/net/tcp /proc/net/tcp6 2>/dev/null |
			awk '{print $2 " "}' | grep -qF "$hex"; then
			_nap_ports+="$port "
			echo "$port" >>"$T/.ports"
			echo "$port"
			return 0
		fi
	done
	fail "no free port found"
}

# ---------------------------------------------------------------------------------------------
# Keys, HSR, SoH samples

# make_site [SITE] [REVISION]: key pair + signed HSR in $T (hsr.json, site.key, site.pub).
make_site() {
	local site=${1:-S01} rev=${2:-5}
	[[ -f $T/site.key ]] ||
		"$NAPCTL" key generate --private "$T/site.key" --public "$T/site.pub" >/dev/null
	write_hsr "$site" "$rev" >"$T/hsr-unsigned.json"
	"$NAPCTL" hsr sign --key "$T/site.key" "$T/hsr-unsigned.json" -o "$T/hsr.json"
}

# write_hsr SITE REVISION: an unsigned HSR document with a few policies.
write_hsr() {
	cat <<EOF
{
  "version": 1,
  "site": "$1",
  "revision": $2,
  "issued": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "policies": [
    {"id": "deb-openssl-2026-01", "package": "openssl", "min_version": "3.0.15-1~deb12u1",
     "scheme": "dpkg", "severity": "critical", "effective": "2026-01-01T00:00:00Z",
     "reason": "DSA openssl"},
    {"id": "deb-openssh-2026-02", "package": "openssh-server", "min_version": "1:9.2p1-2+deb12u5",
     "scheme": "dpkg", "severity": "important", "effective": "2026-02-01T00:00:00Z"},
    {"id": "deb-sudo-2026-03", "package": "sudo", "min_version": "1.9.13p3-1+deb12u2",
     "scheme": "dpkg", "severity": "moderate", "effective": "2026-03-01T00:00:00Z"}
  ]
}
EOF
}

# sample ARGS...: SoH hex from napctl soh sample (one line, no spaces).
sample() {
	"$NAPCTL" soh sample "$@" | tr -d ' \n'
}

# hsr_digest [FILE]: the digest (hex) of the signed HSR.
hsr_digest() {
	"$NAPCTL" hsr show "${1:-$T/hsr.json}" --keys "$T/site.pub" --json | jget - "$JQ_HSR_DIGEST"
}

# wrap HEX: prepend the 12-byte PEAP-style wrapper FreeRADIUS' soh module needs.
wrap() {
	local h=$1 n=$((${#1} / 2))
	printf '0007%04x000001370001%04x%s' $((n + 8)) "$n" "$h"
}

# vector FILE: the hex of a file in the vectors directory (header line dropped).
vector() {
	grep -v '^#' "$VECTORS/$1" | tr -d ' \n'
}

# ---------------------------------------------------------------------------------------------
# napvd

# write_napvd_conf FILE PORT [extra sections from stdin]: base config with one client.
# Sets NAPVD_PORT, METRICS_PORT. Extra INI text (enforcement sections, overrides) comes from
# stdin when stdin is not a terminal; later keys in the same section override earlier ones only
# if napvd does so, so callers put overrides in the NAPVD_* variables below instead.
: "${NAPVD_LISTEN:=}"
: "${NAPVD_CLIENT_ADDR:=127.0.0.1}"
: "${NAPVD_VALIDATION:=}"
: "${NAPVD_EXTRA:=}"
write_napvd_conf() {
	local conf=$1
	: "${NAPVD_PORT:=$(free_port)}"
	: "${METRICS_PORT:=$(free_port)}"
	mkdir -p "$T/state"
	cat >"$conf" <<EOF
[napvd]
listen = ${NAPVD_LISTEN:-127.0.0.1:$NAPVD_PORT}
metrics = 127.0.0.1:$METRICS_PORT
state_dir = $T/state
spool_max = 16M
dup_cache_ttl = 30s

[hsr]
source = file
file = $T/hsr.json
trusted_keys = $T/site.pub
query_interval = 60s
max_age = 24h
sites = S01

[validation]
validity_period = 26h
known_client_errors = 0x80070005 0x8024402c
$NAPVD_VALIDATION

[client local]
address = $NAPVD_CLIENT_ADDR
secret = $SECRET

$NAPVD_EXTRA
EOF
}

# start_napvd [CONF]: start napvd in the foreground (-d) in the background; wait until it
# answers a RADIUS request. Sets NAPVD_PID.
start_napvd() {
	local conf=${1:-$T/napvd.conf}
	[[ -f $conf ]] || write_napvd_conf "$conf"
	"$NAPVD" -d -f "$conf" >>"$T/napvd.log" 2>&1 &
	NAPVD_PID=$!
	_nap_pids+=("$NAPVD_PID")
	wait_napvd
}

# wait_napvd [SERVER]: poll until napvd answers (Accept or Reject) or dies (10 s max).
wait_napvd() {
	local server=${1:-127.0.0.1:$NAPVD_PORT} i rc
	for ((i = 0; i < 100; i++)); do
		_nap_dead "$NAPVD_PID" && fail "napvd (pid $NAPVD_PID) exited during startup"
		rc=0
		"$NAPCTL" radius query --server "$server" --secret "$SECRET" --no-soh \
			--timeout 200ms >/dev/null 2>&1 || rc=$?
		if ((rc == 0 || rc == 2)); then
			return 0
		fi
		sleep 0.1
	done
	fail "napvd did not answer on $server within 10 s"
}

# wait_metrics: poll until napvd's metrics endpoint answers (for configs where no RADIUS
# request from here would be answered).
wait_metrics() {
	local i
	for ((i = 0; i < 100; i++)); do
		_nap_dead "$NAPVD_PID" && fail "napvd (pid $NAPVD_PID) exited during startup"
		if (exec 9<>"/dev/tcp/127.0.0.1/$METRICS_PORT") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	fail "napvd metrics on 127.0.0.1:$METRICS_PORT not up within 10 s"
}

# reload_napvd: SIGHUP napvd and wait until its ok-reload counter moves; fails if it does not.
reload_napvd() {
	local ok0 i
	ok0=$(metric napvd_config_reloads_total 'result="ok"')
	kill -HUP "$NAPVD_PID"
	for ((i = 0; i < 50; i++)); do
		(($(metric napvd_config_reloads_total 'result="ok"') > ok0)) && return 0
		sleep 0.1
	done
	fail "napvd did not reload (napvd_config_reloads_total{result=\"ok\"} stayed $ok0)"
}

# stop_napvd: SIGTERM; napvd must exit 0 (a crash on the way out fails the test).
stop_napvd() {
	local pid=$NAPVD_PID
	stop_pid "$pid"
	NAPVD_PID=
	if ((STOP_STATUS != 0)); then
		fail "napvd (pid $pid) exited with status $STOP_STATUS on SIGTERM"
	fi
	log "ok: napvd stopped cleanly"
}

# metrics: print napvd's Prometheus text (bash /dev/tcp, no curl needed).
metrics() {
	local port=${1:-$METRICS_PORT} line body=0
	exec 9<>"/dev/tcp/127.0.0.1/$port" || fail "cannot connect to metrics port $port"
	printf 'GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&9
	while IFS= read -r line <&9 || [[ -n $line ]]; do
		line=${line%$'\r'}
		if ((body)); then
			printf '%s\n' "$line"
		elif [[ -z $line ]]; then
			body=1
		fi
	done
	exec 9<&-
}

# metric NAME [LABEL_TEXT]: sum of the samples of metric NAME whose labels contain LABEL_TEXT
# (e.g. metric napvd_drops_total 'reason="bad_authenticator"'); 0 if there is none.
metric() {
	metrics | awk -v name="$1" -v lab="${2:-}" '
		/^#/ { next }
		{
			n = $1; sub(/\{.*/, "", n)
			if (n == name && index($0, lab) > 0) s += $NF
		}
		END { printf "%d\n", s }'
}

# ---------------------------------------------------------------------------------------------
# FreeRADIUS

# start_freeradius TEMPLATE VAR=VALUE...: fill @VAR@ in TEMPLATE into a fresh config dir and
# run `freeradius -X`; wait for "Ready to process requests". Sets FR_PID, FR_DIR.
start_freeradius() {
	local tmpl=$1 kv sedargs=() i
	shift
	FR_DIR=$(mktemp -d "$T/fr.XXXXXX")
	mkdir -p "$FR_DIR/run" "$FR_DIR/log"
	: >"$FR_DIR/dictionary"
	sedargs+=(-e "s|@DIR@|$FR_DIR|g")
	for kv; do
		sedargs+=(-e "s|@${kv%%=*}@|${kv#*=}|g")
	done
	sed "${sedargs[@]}" "$tmpl" >"$FR_DIR/radiusd.conf"
	local flog="$T/freeradius-$(basename "$FR_DIR").log"
	freeradius -X -d "$FR_DIR" -D /usr/share/freeradius >"$flog" 2>&1 &
	FR_PID=$!
	_nap_pids+=("$FR_PID")
	for ((i = 0; i < 100; i++)); do
		grep -q 'Ready to process requests' "$flog" && return 0
		_nap_dead "$FR_PID" && fail "freeradius exited during startup (see $flog)"
		sleep 0.1
	done
	fail "freeradius not ready within 10 s"
}

# ---------------------------------------------------------------------------------------------
# radclient

# rc_send OUT SERVER SECRET [radclient options...] < attribute list
# Sends one request with radclient -x; output in OUT. Returns radclient's exit status.
rc_send() {
	local out=$1 server=$2 secret=$3
	shift 3
	local rc=0
	radclient -x -t "${RC_TIMEOUT:-2}" -r 1 "$@" "$server" auth "$secret" >"$out" 2>&1 || rc=$?
	return "$rc"
}

# soh_request HEX [NAS-TYPE]: an attribute list for radclient carrying HEX in MS-Quarantine-SOH
# attributes of at most 247 bytes each.
soh_request() {
	printf 'User-Name = "host/client.example", Service-Type = Authorize-Only, '
	printf 'MS-Network-Access-Server-Type = %s, MS-Machine-Name = "client.example", ' \
		"${2:-DHCP-Server}"
	# radclient truncates a value at 247 bytes: split like nap does, one VSA per 247 bytes
	local h=$1
	while [[ -n $h ]]; do
		printf 'MS-Quarantine-SOH = 0x%s, ' "${h:0:494}"
		h=${h:494}
	done
	printf 'Message-Authenticator = 0x00\n'
}

# rc_code OUT: Access-Accept / Access-Reject / none
rc_code() {
	local c
	c=$(sed -n 's/^Received \(Access-[A-Za-z]*\) .*/\1/p' "$1" | head -n1)
	echo "${c:-none}"
}

# rc_attr OUT NAME: values of attribute NAME in the received reply (one per line, unquoted).
rc_attr() {
	awk -v name="$2" '
		/^Received / { inreply = 1; next }
		/^Sent / { inreply = 0 }
		inreply && $1 == name && $2 == "=" {
			v = $0; sub(/^[^=]*= /, "", v); gsub(/^"|"$/, "", v); print v
		}' "$1"
}

# rc_sohr OUT: the reply's MS-Quarantine-SOH values concatenated (hex, no 0x).
rc_sohr() {
	rc_attr "$1" MS-Quarantine-SOH | sed 's/^0x//' | tr -d '\n'
}

# ---------------------------------------------------------------------------------------------
# JSON and assertions

# jget FILE|- EXPR: evaluate a Python expression on the JSON document `j`, print the result
# (strings bare, everything else as JSON; missing => empty line).
jget() {
	"$PYTHON" -c '
import json, sys
src = sys.argv[1]
j = json.load(sys.stdin if src == "-" else open(src))
RES = ["compliant", "noncompliant", "client_component", "client_communication",
       "server_component", "server_communication", "other"]
BR = ["matches", "newer", "out_of_date", "expired_ttl", "expired_absolute", "invalid",
      "unknown_site", "no_policies", "client_failure", "server_failure", "no_nap_entry",
      "wsh_failed", "no_soh", "exempt", "check_failed"]
def nm(v, t):
    """result/branch as a name whether the tool printed the name or the number"""
    return t[v] if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < len(t) else v
try:
    v = eval(sys.argv[2], {"j": j, "nm": nm, "RES": RES, "BR": BR})
except (KeyError, IndexError, TypeError):
    v = None
if v is None:
    print("")
elif isinstance(v, str):
    print(v)
else:
    print(json.dumps(v))
' "$@"
}

# sohr_json HEX: napdump's decoded SoHR as JSON.
sohr_json() {
	[[ -n $1 ]] || fail "no SoHR in the reply"
	printf '%s\n' "$1" | "$NAPDUMP" sohr --json
}

# Where things are in the tools' JSON output.
JQ_CORRELATION='j["correlation_id"]'
JQ_HSR_DIGEST='j["hsrs"][0]["digest"]'
JQ_SOHR_QSTATE='j["quarantine_state"]["flags"]'
# napvd metric names and labels
M_DROPS=napvd_drops_total
M_BAD_AUTH='reason="bad_authenticator"'
M_NO_MA='reason="no_message_authenticator"'
M_UNKNOWN_CLIENT='reason="unknown_client"'
M_BRANCH=napvd_branch_total
M_RELOADS=napvd_config_reloads_total
M_DUPLICATES=napvd_duplicates_total

# napctl radius query --json
JQ_Q_CODE='j["code"]'
JQ_Q_STATE='j["quarantine_state"]'
JQ_Q_BRANCH='nm(j["sohr_nap"]["branch"], BR)'
JQ_Q_RESULT='nm(j["sohr_nap"]["result"], RES)'
# napbench --json (last line)
JQ_B_ANSWERED='j["received"]'
JQ_B_TIMEOUTS='j["timeouts"]'
JQ_B_RPS='j["rps"]'
JQ_B_P99='j["p99_ms"]'
_JQ_NAP='[e["nap"] for e in j["entries"] if "nap" in e][0]'

# sohr_nap FILE KEY: a field of the nap entry of a decoded SoHR (lists joined with commas).
sohr_nap() {
	local conv='v'
	[[ $2 == result ]] && conv='nm(v, RES)'
	[[ $2 == branch ]] && conv='nm(v, BR)'
	jget "$1" "(lambda v: ','.join(v) if isinstance(v, list) else $conv)($_JQ_NAP[\"$2\"])"
}

sohr_qstate() {
	jget "$1" "$JQ_SOHR_QSTATE"
}

assert_eq() {
	local what=$1 expected=$2 actual=$3
	if [[ $expected != "$actual" ]]; then
		fail "$what: expected '$expected', got '$actual'"
	fi
	log "ok: $what = '$actual'"
}

assert_ne() {
	local what=$1 unexpected=$2 actual=$3
	if [[ $unexpected == "$actual" ]]; then
		fail "$what: expected anything but '$unexpected'"
	fi
	log "ok: $what = '$actual' (not '$unexpected')"
}

assert_match() {
	local what=$1 regex=$2 actual=$3
	if ! [[ $actual =~ $regex ]]; then
		fail "$what: expected to match /$regex/, got '$actual'"
	fi
	log "ok: $what = '$actual' ~ /$regex/"
}

assert_ge() {
	local what=$1 min=$2 actual=$3
	if ! [[ $actual =~ ^-?[0-9]+$ ]] || ((actual < min)); then
		fail "$what: expected >= $min, got '$actual'"
	fi
	log "ok: $what = $actual (>= $min)"
}

assert_alive() {
	_nap_dead "${1:-$NAPVD_PID}" && fail "${2:-napvd} (pid ${1:-$NAPVD_PID}) is not running"
	log "ok: ${2:-napvd} alive"
}
