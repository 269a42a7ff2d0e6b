#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# NAP over DHCP, the agent's side, end to end: napvd and napdhcpd in the server namespace,
# dhclient in a client namespace run with the configuration napagentd writes ([dhcp] client =
# dhclient, a template + the fragment) and the -sf script sourcing the installed exit hook
# (dist/dhclient/napagentd), napagentd as a daemon on the host.
#   - the agent evaluates a status file with an old openssl: restricted; it writes the fragment
#     (CoID + its SoH split over several 220 sub-options, more than 255 bytes: dhclient sends
#     several option-43 instances, checked on the wire with tcpdump when it is installed) and
#     runs its renew command, which restarts dhclient;
#   - napdhcpd asks napvd and gives the restricted configuration (a /32, no default route); the
#     hook hands the ACK's SoHR to `napagentd --sohr`: the daemon logs it, state_dir/last-sohr
#     decodes with napdump and echoes the correlation id of the SoH the agent published;
#   - the package is upgraded (the status file rewritten): inotify, the agent evaluates again
#     (compliant), rewrites the fragment, renews, and the client gets the full configuration;
#     the SoHR handed over now says compliant;
#   - a malformed option 43 handed to --sohr is refused with a clear message, the daemon lives.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns.sh"
need dhclient "$PYTHON"
for b in "$NAPDHCPD" "$NAPVD" "$NAPAGENTD"; do
	[[ -x $b ]] || skip "$b not built"
done
HOOK_SRC=$(cd "$(dirname "$0")/../.." && pwd)/dist/dhclient/napagentd.in
netns_init

make_site S01 5
NAPVD_PORT=1812
METRICS_PORT=9812
write_napvd_conf "$T/napvd.conf"
cat >>"$T/napvd.conf" <<'CONF'
[enforcement dhcp]
compliant = full
noncompliant = restricted
noncapable = restricted
remediation_servers = 10.99.0.10
CONF
start_napvd_ns
printf '%s\n' "$SECRET" >"$T/napvd.secret"
chmod 600 "$T/napvd.secret"
{
	dhcpd_server_section
	cat <<CONF
[napvd]
server = 127.0.0.1:$NAPVD_PORT
secret_file = $T/napvd.secret
timeout = 500ms
retries = 1

[scope lan]
subnet = 10.99.0.0/24
pool = 10.99.0.100-10.99.0.149
router = $SRV_IP
lease_time = 60
nap = on
nap_incapable = restricted
nap_fail = restricted
restricted_lease_time = 45
verdict_cache_ttl = 0
CONF
} >"$T/napdhcpd.conf"
in_srv "$NAPDHCPD" -n -f "$T/napdhcpd.conf" >"$T/napdhcpd-n.out" 2>&1 ||
	fail "napdhcpd -n refused the configuration: $(cat "$T/napdhcpd-n.out")"
start_napdhcpd

netns_client c1
IFACE=${CLI_IF[c1]}
NS=${CLI_NS[c1]}

# --- the agent's side: status file, the dhclient template, -sf script with the hook, renew ------
status() { # OPENSSL-VERSION
	cat >"$T/status.new" <<ST
Package: openssl
Status: install ok installed
Architecture: amd64
Version: $1

Package: openssh-server
Status: install ok installed
Architecture: amd64
Version: 1:9.2p1-2+deb12u5

Package: sudo
Status: install ok installed
Architecture: amd64
Version: 1.9.13p3-1+deb12u2

ST
	mv "$T/status.new" "$T/dpkg/status" # the way dpkg replaces it
}
mkdir -p "$T/dpkg"
status 3.0.11-1~deb12u2
# the template: everything but the NAP lines, which napagentd adds
dhclient_conf c1
grep -v 'vendor-class-identifier' "$T/c1.dhclient.conf" >"$T/c1.template"
echo 'send dhcp-max-message-size 1500;' >>"$T/c1.template"
FRAG=$T/c1.fragment.conf
# the -sf script: netns.sh's recorder (configures the interface) + the installed hook
sed -e "s|@SBINDIR@|/usr/sbin|g" -e "s|@SYSCONFDIR@|/etc|g" "$HOOK_SRC" >"$T/hook.sh"
cat >"$T/c1.sf.sh" <<SF
#!/bin/sh
NAPAGENTD_BIN=$NAPAGENTD
NAPAGENTD_CONF=$T/napagentd.conf
. "$T/hook.sh"
exec "$T/c1.dhclient.sh"
SF
chmod +x "$T/c1.sf.sh"
# renew: stop dhclient keeping its lease, start it again on the new fragment (INIT-REBOOT: a
# REQUEST with the new SoH)
cat >"$T/renew.sh" <<RENEW
#!/bin/sh
ip netns exec $NS dhclient -x -cf "$FRAG" -sf "$T/c1.sf.sh" -lf "$T/c1.dhclient.leases" \\
	-pf "$T/c1.dhclient.pid" "\$1" >>"$T/c1.dhclient.log" 2>&1
echo "renew \$1" >>"$T/renew.calls"
exec timeout 20 ip netns exec $NS dhclient -1 -v -cf "$FRAG" -sf "$T/c1.sf.sh" \\
	-lf "$T/c1.dhclient.leases" -pf "$T/c1.dhclient.pid" "\$1" >>"$T/c1.dhclient.log" 2>&1
RENEW
chmod +x "$T/renew.sh"
_nap_cleanup_hooks+=(_agent_dhcp_cleanup)
_agent_dhcp_cleanup() {
	[[ -f $T/c1.dhclient.pid ]] && kill -TERM "$(cat "$T/c1.dhclient.pid")" 2>/dev/null
	return 0
}

cat >"$T/napagentd.conf" <<CONF
[agent]
machine_name = napt-agent-dhcp.napt.test
state_dir = $T/agent
pidfile = $T/napagentd.pid
settle = 1s

[site]
policy_file = $T/hsr.json
hsr_key = $T/site.pub

[packages]
dpkg_status = $T/dpkg/status

[dhcp]
client = dhclient
interface = $IFACE
fragment = $FRAG
template = $T/c1.template
renew_command = $T/renew.sh %i
renew_timeout = 30s
CONF
"$NAPAGENTD" -n -f "$T/napagentd.conf" >"$T/napagentd-n.out" 2>&1 ||
	fail "napagentd -n: $(cat "$T/napagentd-n.out")"
# the wire, when tcpdump is here: how dhclient sends the long option 43
if command -v tcpdump >/dev/null 2>&1; then
	bg_srv tcpdump tcpdump --immediate-mode -i "$SRV_IF" -n -s0 -U -w "$T/dhcp.pcap" udp port 67 or udp port 68
	TCPDUMP_PID=$BG_PID
	for ((i = 0; i < 50; i++)); do
		grep -q 'listening on' "$T/tcpdump.log" 2>/dev/null && break
		sleep 0.1
	done
fi
"$NAPAGENTD" -d -v -f "$T/napagentd.conf" >>"$T/napagentd.log" 2>&1 &
AGENT_PID=$!
_nap_pids+=("$AGENT_PID")

# wait_for WHAT 'SHELL CONDITION': until the condition (evaluated each time) holds (30 s)
wait_for() {
	local what=$1 i
	for ((i = 0; i < 300; i++)); do
		_nap_dead "$AGENT_PID" && fail "napagentd exited (see napagentd.log)"
		eval "$2" && { log "ok: $what"; return 0; }
		sleep 0.1
	done
	fail "$what: not within 30 s"
}
sohr_result() { # -> the nap result name in the last SoHR the hook handed over
	[[ -s $T/agent/last-sohr ]] || return 0
	sohr_json "$(tr -d ' \n' <"$T/agent/last-sohr")" >"$T/last-sohr.json"
	sohr_nap "$T/last-sohr.json" result
}

# --- restricted -------------------------------------------------------------------------------
wait_for "the agent wrote the fragment" '[[ -s $FRAG ]]'
wait_for "the agent ran its renew command" 'grep -qs "renew $IFACE" "$T/renew.calls"'
wait_for "dhclient bound" '[[ -n $(ev c1 ip) ]]'
grep -q '^timeout 10;' "$FRAG" || fail "the template is not at the top of the fragment"
grep -q '^send vendor-encapsulated-options de:82:' "$FRAG" || fail "no NAP option 43 in the fragment"
SOH=$(tr -d ' \n' <"$T/agent/soh")
PAYLOAD_LEN=$(($(sed -n 's/^send vendor-encapsulated-options \(.*\);$/\1/p' "$FRAG" | tr -cd ':' | wc -c) + 1))
assert_ge "option 43 payload over one option (bytes)" 256 "$PAYLOAD_LEN"
assert_eq "restricted: mask" 32 "$(ev c1 mask)"
assert_eq "restricted: no router" "" "$(ev c1 routers)"
wait_for "the hook handed the SoHR to the agent" '[[ -s $T/agent/last-sohr ]]'
wait_for "the daemon acted on the SoHR (SIGUSR2)" 'grep -q "^SoHR: result" "$T/napagentd.log"'
assert_eq "the SoHR says" noncompliant "$(sohr_result)"
# the ACK: the SoHR (napvd echoed the correlation id of the SoH it judged) and the CoID
# (napdhcpd echoed the agent's, whose first 24 bytes are that correlation id)
O43=$(ev c1 opt43)
COID=$(opt43_sub "$O43" 222)
assert_eq "the ACK echoes the 130-byte CoID" 260 "${#COID}"
assert_eq "the ACK's SoHR answers the SoH whose correlation id heads the CoID" "${COID:0:48}" \
	"$(sohr_json "$(opt43_sub "$O43" 220)" | jget - "$JQ_CORRELATION")"
assert_ge "napdhcpd: napvd restricted the agent" 1 \
	"$(dm napdhcpd_nap_verdicts_total 'action="restricted"')"
if [[ -n ${TCPDUMP_PID:-} ]]; then
	# the REQUEST is in the capture before tcpdump stops (the kernel ring is not flushed on INT)
	for ((i = 0; i < 50; i++)); do
		tcpdump -r "$T/dhcp.pcap" -n -v 2>/dev/null | grep -q 'DHCP-Message (53), length 1: Request' && break
		sleep 0.1
	done
	stop_pid "$TCPDUMP_PID" INT
	# the client's REQUESTs carry option 43 as consecutive instances (RFC 3396): 255, 244
	tcpdump -r "$T/dhcp.pcap" -n -v 2>/dev/null >"$T/dhcp.txt" || true
	PARTS=$("$PYTHON" - "$T/dhcp.txt" <<'PY'
import re, sys
pkts, cur = [], []
for line in open(sys.argv[1]):
    if re.match(r"^\d", line) and cur:
        pkts.append(cur)
        cur = []
    cur.append(line)
pkts.append(cur)
for p in pkts:
    text = "".join(p)
    if "DHCP-Message (53), length 1: Request" in text:
        print(",".join(re.findall(r"Vendor-Option \(43\), length (\d+):", text)))
        break
PY
)
	assert_match "dhclient split option 43 in its REQUEST (instance lengths)" '^255,[0-9]+' "$PARTS"
	assert_eq "the instances add up to the fragment's payload" "$PAYLOAD_LEN" \
		"$(($(tr ',' '+' <<<"$PARTS")))"
fi

# --- remediated by hand: the status file changes, the agent renews, full access ----------------
N_RENEW=$(grep -c . "$T/renew.calls")
status 3.0.15-1~deb12u1
wait_for "the agent renewed after the package change" \
	'(($(grep -c . "$T/renew.calls") > N_RENEW))'
wait_for "full configuration" '[[ $(ev c1 mask) == 24 ]]'
assert_eq "full: router" "$SRV_IP" "$(ev c1 routers)"
has_default() { in_cli c1 ip -4 route show default | grep -q "via $SRV_IP"; }
wait_for "full: default route" has_default
wait_for "the SoHR handed over says compliant" '[[ $(sohr_result) == compliant ]]'
SOH2=$(tr -d ' \n' <"$T/agent/soh")
assert_ne "a new SoH was published" "$SOH" "$SOH2"
grep -q '^send vendor-encapsulated-options de:82:' "$FRAG" || fail "no NAP option 43 after renew"

# --- bad input through the hook path ------------------------------------------------------------
RC=0
"$NAPAGENTD" -f "$T/napagentd.conf" --sohr 'dc:5:1:2' >"$T/bad-sohr.out" 2>&1 || RC=$?
assert_ne "--sohr with a truncated sub-option fails" 0 "$RC"
grep -q 'malformed NAP sub-options' "$T/bad-sohr.out" ||
	fail "no clear message for a malformed option 43: $(cat "$T/bad-sohr.out")"
log "ok: malformed option 43 refused: $(head -n1 "$T/bad-sohr.out")"
RC=0
"$NAPAGENTD" -f "$T/napagentd.conf" --sohr 'dc:3:4e:41:50' >"$T/marker.out" 2>&1 || RC=$?
assert_eq "--sohr with the marker only: nothing to do, success" 0 "$RC"
assert_alive "$AGENT_PID" napagentd
stop_pid "$AGENT_PID"
((STOP_STATUS == 0)) || fail "napagentd exited with status $STOP_STATUS"
stop_napdhcpd
