#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# napagentd end to end with real peers: napsited's agent endpoint (enrollment, policy over HTTPS
# with the client certificate, state reports), napdump decoding the agent's SoH, radclient
# asking napvd about it. The installed packages come from a synthetic dpkg status file, so the
# test machine's own packages play no part: compliant (with a deferred update), non-compliant
# after a "downgrade", a client-component failure for a broken status file, a client-
# communication failure without any policy; then the daemon: inotify on the status file, state
# reports to napsited, a SoHR from napvd with "refresh policy" handed over with --sohr,
# SIGHUP, SIGTERM.
. "$(dirname "$0")/lib.sh"

: "${NAPSITED:=$_nap_build/daemons/napsited/napsited}"
: "${NAPAGENTD:=$_nap_build/daemons/napagentd/napagentd}"
need curl openssl radclient "$NAPSITED" "$NAPCTL" "$NAPAGENTD" "$NAPDUMP"

PORT=$(free_port)
MPORT=$(free_port)
URL=https://127.0.0.1:$PORT
mkdir -p "$T/site-state"
"$NAPCTL" key generate --private "$T/site.key" --public "$T/site.pub" >/dev/null

# napsited's TLS certificate for 127.0.0.1 from a throwaway CA the agent pins.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$T/server-ca.key" -out "$T/server-ca.pem" -subj "/CN=test server CA" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$T/endpoint.key" -out "$T/endpoint.csr" -subj /CN=127.0.0.1 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$T/endpoint.ext"
openssl x509 -req -in "$T/endpoint.csr" -CA "$T/server-ca.pem" -CAkey "$T/server-ca.key" \
	-CAcreateserial -days 2 -extfile "$T/endpoint.ext" -out "$T/endpoint.pem" 2>/dev/null

cat >"$T/napsited.conf" <<EOF
[site]
code = S01
key = $T/site.key
state_dir = $T/site-state
pidfile = $T/napsited.pid
metrics = 127.0.0.1:$MPORT
poll_interval = 1s

[store]
uri = sqlite:$T/site.db

[agent]
listen = 127.0.0.1:$PORT
cert = $T/endpoint.pem
key = $T/endpoint.key
cert_lifetime = 30d
token_lifetime = 1h
EOF
ctl() { "$NAPCTL" -c "$T/napsited.conf" "$@"; }
ctl policy add deb-openssl --package openssl --min-version 3.0.15-1~deb12u1 --scheme dpkg \
	--severity critical >/dev/null 2>&1 || fail "napctl policy add"
ctl policy add deb-sudo --package sudo --min-version 1.9.13p3-1+deb12u2 --scheme dpkg \
	--severity moderate --effective 2099-01-01 >/dev/null 2>&1 || fail "napctl policy add"

"$NAPSITED" -d -f "$T/napsited.conf" >>"$T/napsited.log" 2>&1 &
NAPSITED_PID=$!
_nap_pids+=("$NAPSITED_PID")
for ((i = 0; i < 100; i++)); do
	_nap_dead "$NAPSITED_PID" && fail "napsited exited during startup"
	[[ $(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/server-ca.pem" "$URL/") == 404 ]] &&
		break
	sleep 0.1
done

# The machine: a synthetic dpkg status file.
status() { # OPENSSL-VERSION SUDO-VERSION
	{
		printf 'Package: openssl\nStatus: install ok installed\nPriority: optional\n'
		printf 'Architecture: amd64\nVersion: %s\nDescription: TLS toolkit\n more\n\n' "$1"
		printf 'Package: sudo\nStatus: install ok installed\nArchitecture: amd64\n'
		printf 'Version: %s\n\n' "$2"
		printf 'Package: libc6\nStatus: install ok installed\nArchitecture: amd64\n'
		printf 'Version: 2.36-9+deb12u9\n'
	} >"$T/dpkg/status.tmp"
	mv "$T/dpkg/status.tmp" "$T/dpkg/status" # as dpkg does: a new file renamed into place
}
mkdir -p "$T/dpkg"
status 3.0.15-1~deb12u1 1.9.13p3-1+deb12u1

cat >"$T/agent.conf" <<EOF
[agent]
site = S01
machine_name = pc1
state_dir = $T/agent
pidfile = $T/napagentd.pid
evaluate_interval = 1h
validity_period = 26h
settle = 0s

[site]
url = $URL
ca = $T/server-ca.pem
hsr_key = $T/site.pub
policy_interval = 1h
timeout = 10s

[packages]
dpkg_status = $T/dpkg/status
EOF
agent() { "$NAPAGENTD" -f "$T/agent.conf" "$@"; }

# ---- -n ----------------------------------------------------------------------------------
agent -n >"$T/n.out" 2>"$T/n.err" || fail "napagentd -n: $(cat "$T/n.err")"
assert_match "-n prints the config" "url = $URL" "$(cat "$T/n.out")"
assert_match "-n says OK" "configuration OK" "$(cat "$T/n.err")"
assert_eq "-n: no timing warning for this file" 0 "$(grep -c 'longer than' "$T/n.err" || true)"
assert_match "-n: not enrolled yet" "agent.pem: No such file.*--enroll" "$(cat "$T/n.err")"
sed 's/^evaluate_interval = 1h/evaluate_interval = 30h/' "$T/agent.conf" >"$T/agent-bad.conf"
"$NAPAGENTD" -n -f "$T/agent-bad.conf" >/dev/null 2>"$T/n2.err" || fail "napagentd -n (30h)"
assert_match "-n warns about the validity period" "longer than napvd's validity_period" \
	"$(cat "$T/n2.err")"

# ---- before enrollment: no certificate, no policy ------------------------------------------
agent --once --json >"$T/e0.json" 2>"$T/e0.err" || fail "napagentd --once --json"
assert_eq "no policy: compliant" false "$(jget "$T/e0.json" 'j["compliant"]')"
assert_eq "no policy: category" client-communication "$(jget "$T/e0.json" 'j["failure"]["category"]')"
assert_eq "no policy: error code" 0xC07E0101 "$(jget "$T/e0.json" 'j["failure"]["error_code"]')"

# ---- enrollment ----------------------------------------------------------------------------
TOKEN=$(ctl agent enroll pc1 2>/dev/null)
agent --enroll "$TOKEN" 2>"$T/enroll.err" || fail "enrollment: $(cat "$T/enroll.err")"
assert_eq "key mode" 600 "$(stat -c %a "$T/agent/agent.key")"
assert_eq "certificate subject" "subject=CN = pc1" \
	"$(openssl x509 -in "$T/agent/agent.pem" -noout -subject)"
[[ -s $T/agent/policy.json ]] || fail "no policy cached after enrollment"
"$NAPCTL" hsr show "$T/agent/policy.json" --keys "$T/site.pub" >/dev/null ||
	fail "the cached policy does not verify"
log "ok: enrolled, certificate + key (0600) stored, policy cached and verified"
assert_ne "token works once" 0 "$(agent --enroll "$TOKEN" >/dev/null 2>&1; echo $?)"

# ---- compliant, with an update deferred --------------------------------------------------
agent --once --json >"$T/e1.json" 2>"$T/e1.err" || fail "--once --json"
REV=$(jget "$T/agent/policy.json" 'j["revision"]')
assert_eq "state deferred" 2 "$(jget "$T/e1.json" 'j["state"]')"
assert_eq "compliant" true "$(jget "$T/e1.json" 'j["compliant"]')"
assert_eq "deferred" '["deb-sudo"]' "$(jget "$T/e1.json" 'j["deferred"]')"
assert_eq "evaluated revision" "$REV" "$(jget "$T/e1.json" 'j["hsr_revision"]')"
assert_eq "packages checked" 2 "$(jget "$T/e1.json" 'j["packages_checked"]')"

SOH=$(agent --once --print-soh 2>/dev/null)
[[ $SOH =~ ^[0-9a-f]+$ ]] || fail "--print-soh: not hex: $SOH"
((${#SOH} / 2 <= 4000)) || fail "SoH of $((${#SOH} / 2)) bytes"
log "ok: --print-soh: $((${#SOH} / 2)) bytes of SoH"
printf '%s\n' "$SOH" | "$NAPDUMP" soh --json >"$T/soh1.json" || fail "napdump soh"
NAP='[e["nap"] for e in j["entries"] if "nap" in e][0]'
assert_eq "napdump: machine name" pc1 "$(jget "$T/soh1.json" 'j["machine_name"]')"
assert_eq "napdump: site" S01 "$(jget "$T/soh1.json" "$NAP[\"site\"]")"
assert_eq "napdump: revision" "$REV" "$(jget "$T/soh1.json" "$NAP[\"hsr_revision\"]")"
assert_eq "napdump: compliant" true "$(jget "$T/soh1.json" "$NAP[\"compliant\"]")"
assert_eq "napdump: OS major = kernel" "$(uname -r | cut -d. -f1)" \
	"$(jget "$T/soh1.json" 'j["os_version"].split(".")[0]')"

# ---- napvd judges it ---------------------------------------------------------------------
cp "$T/agent/policy.json" "$T/hsr.json"
NAPVD_VALIDATION='known_client_errors = 0xC07E0001 0xC07E0002 0xC07E0003 0xC07E0004 0xC07E0101 0xC07E0102 0xC07E0103'
write_napvd_conf "$T/napvd.conf"
start_napvd "$T/napvd.conf"
judge() { # NAME SOH -> CODE STATE SOHR_J
	rc_send "$T/$1.out" "127.0.0.1:$NAPVD_PORT" "$SECRET" < <(soh_request "$2") || true
	CODE=$(rc_code "$T/$1.out")
	STATE=$(rc_attr "$T/$1.out" MS-Quarantine-State)
	SOHR=$(rc_sohr "$T/$1.out")
	SOHR_J=$T/$1.sohr.json
	sohr_json "$SOHR" >"$SOHR_J" || fail "$1: napdump could not decode the SoHR"
}
judge compliant "$SOH"
assert_eq "compliant: reply" Access-Accept "$CODE"
assert_eq "compliant: MS-Quarantine-State" Full-Access "$STATE"
assert_eq "compliant: result" compliant "$(sohr_nap "$SOHR_J" result)"
assert_eq "compliant: branch" matches "$(sohr_nap "$SOHR_J" branch)"

# ---- the machine falls behind: non-compliant ---------------------------------------------
status 3.0.11-1~deb12u2 1.9.13p3-1+deb12u1
agent --once --json >"$T/e2.json" 2>/dev/null
assert_eq "outdated: state" 3 "$(jget "$T/e2.json" 'j["state"]')"
assert_eq "outdated: missing" '["deb-openssl"]' "$(jget "$T/e2.json" 'j["missing"]')"
assert_eq "outdated: installed" 3.0.11-1~deb12u2 "$(jget "$T/e2.json" 'j["findings"][0]["installed"]')"
judge outdated "$(agent --once --print-soh 2>/dev/null)"
assert_eq "outdated: MS-Quarantine-State" Quarantine "$STATE"
assert_eq "outdated: result" noncompliant "$(sohr_nap "$SOHR_J" result)"

# Not installed at all.
grep -v -e '^Package: openssl' "$T/dpkg/status" | awk 'BEGIN{RS="";ORS="\n\n"} !/TLS toolkit/' \
	>"$T/dpkg/status.new" && mv "$T/dpkg/status.new" "$T/dpkg/status"
agent --once --json >"$T/e3.json" 2>/dev/null
assert_eq "removed: status" not_installed "$(jget "$T/e3.json" 'j["findings"][0]["status"]')"
judge removed "$(agent --once --print-soh 2>/dev/null)"
assert_eq "removed: result" noncompliant "$(sohr_nap "$SOHR_J" result)"

# A broken status file: client component failure, never compliant.
printf 'Package: openssl\nStatus: install ok installed\nVersion\n' >"$T/dpkg/status"
judge broken "$(agent --once --print-soh 2>/dev/null)"
assert_eq "broken status: result" client_component "$(sohr_nap "$SOHR_J" result)"
assert_eq "broken status: branch" client_failure "$(sohr_nap "$SOHR_J" branch)"
assert_eq "broken status: MS-Quarantine-State" Quarantine "$STATE"

# A corrupt cached policy and the site down: client communication failure.
status 3.0.15-1~deb12u1 1.9.13p3-1+deb12u1
cp "$T/agent/policy.json" "$T/policy.good"
sed -i 's/3.0.15-1~deb12u1/3.0.0-1/' "$T/agent/policy.json"
sed "s|^url = .*|url = https://127.0.0.1:$(free_port)|" "$T/agent.conf" >"$T/agent-down.conf"
"$NAPAGENTD" -f "$T/agent-down.conf" --once --json >"$T/e4.json" 2>"$T/e4.err"
assert_eq "corrupt cache: category" client-communication \
	"$(jget "$T/e4.json" 'j["failure"]["category"]')"
assert_eq "corrupt cache: code" 0xC07E0102 "$(jget "$T/e4.json" 'j["failure"]["error_code"]')"
assert_match "a log line says the site is down" "policy: .*127.0.0.1" "$(cat "$T/e4.err")"
judge corrupt "$("$NAPAGENTD" -f "$T/agent-down.conf" --once --print-soh 2>/dev/null)"
assert_eq "corrupt cache: result" client_communication "$(sohr_nap "$SOHR_J" result)"
# The site reachable again: the next run replaces the corrupt cache.
agent --once --json >"$T/e5.json" 2>/dev/null
assert_eq "cache repaired" true "$(jget "$T/e5.json" 'j["compliant"]')"
cmp -s "$T/agent/policy.json" "$T/policy.good" || fail "the cache was not replaced"

# ---- the daemon ----------------------------------------------------------------------------
"$NAPAGENTD" -d -f "$T/agent.conf" >>"$T/agent.log" 2>&1 &
AGENT_PID=$!
_nap_pids+=("$AGENT_PID")
# wait_for WHAT CMD...: poll up to 10 s.
wait_for() {
	local what=$1 i
	shift
	for ((i = 0; i < 100; i++)); do
		"$@" && { log "ok: $what"; return 0; }
		_nap_dead "$AGENT_PID" && fail "napagentd exited ($what)"
		sleep 0.1
	done
	fail "$what: not within 10 s (log: $(tail -n 5 "$T/agent.log"))"
}
site_state() { ctl agent show pc1 --json 2>/dev/null | jget - 'j["state"]' 2>/dev/null; }
eval_state() { jget "$T/agent/evaluation.json" 'j["state"]' 2>/dev/null; }
wait_for "first evaluation reported to napsited (deferred)" \
	eval "[[ \$(site_state) == deferred ]]"
[[ -f $T/napagentd.pid ]] || fail "no pidfile"

# A package "downgrade" seen through inotify: restricted, reported.
status 3.0.11-1~deb12u2 1.9.13p3-1+deb12u1
wait_for "inotify: restricted after the status file changed" eval "[[ \$(eval_state) == 3 ]]"
wait_for "napsited has the restricted state" eval "[[ \$(site_state) == restricted ]]"
assert_match "state report's missing ids" 'deb-openssl' \
	"$(ctl agent show pc1 --json 2>/dev/null | jget - 'j["missing"]')"
status 3.0.15-1~deb12u1 1.9.13p3-1+deb12u2
wait_for "compliant again, no update deferred: unrestricted" \
	eval "[[ \$(site_state) == unrestricted ]]"

# A new policy at the site; napvd gets the new HSR; the agent's SoH (older revision) gets an
# SoHR with "refresh policy", which the DHCP hook would hand over with --sohr.
OLD_SOH=$(tr -d '\n' <"$T/agent/soh")
ctl policy add deb-libc --package libc6 --min-version 2.36-9+deb12u9 --scheme dpkg \
	--severity important >/dev/null 2>&1 || fail "napctl policy add deb-libc"
for ((i = 0; i < 50; i++)); do
	curl -s -o "$T/hsr-new.json" --cacert "$T/server-ca.pem" --cert "$T/agent/agent.pem" \
		--key "$T/agent/agent.key" "$URL/v1/policy"
	[[ $(jget "$T/hsr-new.json" 'j["revision"]') -gt $REV ]] && break
	sleep 0.1
done
NEWREV=$(jget "$T/hsr-new.json" 'j["revision"]')
cp "$T/hsr-new.json" "$T/hsr.json"
kill -HUP "$NAPVD_PID"
sleep 0.5
judge stale "$OLD_SOH"
assert_eq "stale SoH: branch" out_of_date "$(sohr_nap "$SOHR_J" branch)"
assert_eq "stale SoH: instruction" refresh-policy "$(sohr_nap "$SOHR_J" instructions)"
agent --sohr "$SOHR" 2>"$T/sohr.err" || fail "--sohr: $(cat "$T/sohr.err")"
wait_for "SoHR refresh-policy: the daemon evaluated the new revision" \
	eval "[[ \$(jget $T/agent/evaluation.json 'j[\"hsr_revision\"]') == $NEWREV ]]"
judge refreshed "$(tr -d '\n' <"$T/agent/soh")"
assert_eq "refreshed SoH: result" compliant "$(sohr_nap "$SOHR_J" result)"
assert_eq "refreshed SoH: branch" matches "$(sohr_nap "$SOHR_J" branch)"

# Garbage handed over: refused with a message, the daemon untouched.
assert_ne "--sohr garbage refused" 0 "$(agent --sohr 00070000zz >/dev/null 2>&1; echo $?)"
assert_ne "--sohr an SoH instead of a SoHR" 0 \
	"$(agent --sohr "$OLD_SOH" >/dev/null 2>&1; echo $?)"
assert_alive "$AGENT_PID" napagentd

# The counters (state_dir/metrics.prom, for node_exporter's textfile collector).
pm() { awk -v n="$1" -v l="${2:-}" '$1 ~ "^"n"({|$)" && index($1, l) { s += $NF } END { print s + 0 }' \
	"$T/agent/metrics.prom"; }
assert_ge "metrics: evaluations" 4 "$(pm napagentd_evaluations_total)"
assert_ge "metrics: state reports ok" 4 "$(pm napagentd_state_reports_total 'result="ok"')"
assert_ge "metrics: SoHRs" 1 "$(pm napagentd_sohrs_total 'result="ok"')"
assert_ge "metrics: policy fetches (new)" 1 "$(pm napagentd_policy_fetches_total 'result="new"')"
assert_eq "metrics: state" 1 "$(pm napagentd_state)"

# SIGHUP with a broken file keeps running; SIGTERM ends it cleanly.
cp "$T/agent.conf" "$T/agent.conf.good"
echo "bogus = 1" >>"$T/agent.conf"
kill -HUP "$AGENT_PID"
wait_for "a broken reload is refused" grep -q "keeping the running configuration" "$T/agent.log"
cp "$T/agent.conf.good" "$T/agent.conf"
kill -HUP "$AGENT_PID"
wait_for "a good reload" grep -q "reload: configuration" "$T/agent.log"
stop_pid "$AGENT_PID"
assert_eq "napagentd exit status" 0 "$STOP_STATUS"
[[ ! -e $T/napagentd.pid ]] || fail "pidfile left behind"
stop_napvd
stop_pid "$NAPSITED_PID"
log "ok: all agent core checks passed"
