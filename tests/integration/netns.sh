# SPDX-License-Identifier: GPL-3.0-or-later
# Network namespace helpers for the DHCP tests (bash, sourced after lib.sh).
#
# Topology: one server namespace napt-<pid>-srv holding a bridge (SRV_IF, SRV_IP/SRV_PREFIX) and
# one namespace per client, napt-<pid>-<name>, each joined to the bridge by its own veth pair
# (the client end, CLI_IF[name], has no address until DHCP gives one). Names carry the test's
# PID, so parallel runs never meet; everything is deleted on exit through lib.sh's cleanup hooks:
# clients stopped by PID, dhcpcd's /var/lib/dhcpcd/<iface>.lease removed, namespaces deleted.
#
# Clients: dhclient (own -cf/-sf/-lf/-pf under $T; the host's resolv.conf is never touched),
# udhcpc (own -s script) and dhcpcd (own -f conf with nohook, wrapped in timeout). Every script
# appends one line per event to $T/<name>.events:
#   event=BOUND client=dhclient ip=10.99.0.100 mask=24 routers=10.99.0.1 lease=600
#   routes121=10.99.0.10/32@10.99.0.1,... routes249=... opt43=dc034e4150 server=10.99.0.1
# (lists comma-separated, option 43 as plain lower-case hex); ev NAME KEY reads the last
# binding event. The client's real state comes from `ip addr` / `ip route` in its namespace.

: "${NETNS_NET:=10.99.0}"
NS_SRV=napt-$$-srv
SRV_IF=napbr0
SRV_IP=$NETNS_NET.1
SRV_PREFIX=24
declare -A CLI_NS=() CLI_IF=() CLI_MAC=() CLI_PID=()
_netns_n=0
_netns_list=()

# netns_init: the server namespace and its bridge; skips the test (77) when namespaces cannot
# be created here (no root, no CAP_SYS_ADMIN, no veth).
netns_init() {
	need ip
	((EUID == 0)) || skip "network namespaces need root"
	ip netns add "$NS_SRV" 2>"$T/netns.err" || skip "ip netns add failed: $(cat "$T/netns.err")"
	_netns_list+=("$NS_SRV")
	_nap_cleanup_hooks+=(_netns_cleanup)
	ip -n "$NS_SRV" link set lo up
	ip -n "$NS_SRV" link add "$SRV_IF" type bridge forward_delay 0 stp_state 0 ||
		skip "no bridge support"
	ip -n "$NS_SRV" addr add "$SRV_IP/$SRV_PREFIX" dev "$SRV_IF"
	ip -n "$NS_SRV" link set "$SRV_IF" up
	_netns_scripts
}

# netns_client NAME [MAC]: a client namespace joined to the server's bridge.
netns_client() {
	local name=$1 mac=${2:-} ns=napt-$$-$1 i
	_netns_n=$((_netns_n + 1))
	i=$_netns_n
	ip netns add "$ns" || fail "ip netns add $ns"
	_netns_list+=("$ns")
	CLI_NS[$name]=$ns
	CLI_IF[$name]=nc$$x$i
	ip -n "$ns" link set lo up
	ip link add "nc$$x$i" netns "$ns" type veth peer name "ns$$x$i" netns "$NS_SRV" ||
		fail "veth for $name"
	[[ -n $mac ]] && ip -n "$ns" link set "nc$$x$i" address "$mac"
	ip -n "$NS_SRV" link set "ns$$x$i" master "$SRV_IF"
	ip -n "$NS_SRV" link set "ns$$x$i" up
	ip -n "$ns" link set "nc$$x$i" up
	CLI_MAC[$name]=$(cat "/sys/class/net/nc$$x$i/address" 2>/dev/null ||
		ip netns exec "$ns" cat "/sys/class/net/nc$$x$i/address")
}

# require CMD|PATH...: like lib.sh's need, but a missing peer or binary fails the test (these
# tests skip only when namespaces are impossible; scripts/install-deps installs the clients).
require() {
	local c
	for c; do
		command -v "$c" >/dev/null 2>&1 || [[ -x $c ]] || fail "$c not available"
	done
}

in_srv() { ip netns exec "$NS_SRV" "$@"; }
in_cli() {
	local name=$1
	shift
	ip netns exec "${CLI_NS[$name]}" "$@"
}

# bg_srv LOGNAME CMD...: run CMD in the server namespace in the background, stdout+stderr to
# $T/LOGNAME.log; the PID (ip netns exec execs the command) is stopped on exit. Sets BG_PID.
bg_srv() {
	local logname=$1
	shift
	ip netns exec "$NS_SRV" "$@" >>"$T/$logname.log" 2>&1 &
	BG_PID=$!
	_nap_pids+=("$BG_PID")
}

_netns_cleanup() {
	local name pid ns p
	for name in "${!CLI_PID[@]}"; do
		pid=${CLI_PID[$name]}
		[[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null
	done
	for name in "${!CLI_IF[@]}"; do
		[[ -f $T/$name.dhclient.pid ]] && kill -TERM "$(cat "$T/$name.dhclient.pid")" 2>/dev/null
		rm -f "/var/lib/dhcpcd/${CLI_IF[$name]}.lease" "/var/lib/dhcpcd/${CLI_IF[$name]}.lease6"
	done
	sleep 0.2
	# whatever is left in our own namespaces was started by this test (dhcpcd's privsep helpers,
	# dhclient daemons): end it by PID before the names go
	for ns in "${_netns_list[@]}"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			_nap_is_ours "$p" && continue
			kill -KILL "$p" 2>/dev/null
		done
	done
	for ns in "${_netns_list[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	return 0
}

# daemons lib.sh stops itself (it wants their exit status) are left to it
_nap_is_ours() {
	local q
	for q in "${_nap_pids[@]}"; do
		[[ $q == "$1" ]] && return 0
	done
	return 1
}

# ---------------------------------------------------------------------------------------------
# Client scripts. One generic recorder, called by each client's own small wrapper.

_netns_scripts() {
	# record EVENTFILE CLIENT EVENT IFACE IP MASK(prefix or dotted) ROUTERS ROUTES121 ROUTES249
	#        OPT43 LEASE SERVER [APPLY]: append the event line; APPLY=1 configures the interface
	#        the way Debian's dhclient-script + rfc3442 hook do (routes from 121 when present,
	#        else a default route per router, host route to the router on a /32).
	cat >"$T/netns-record.sh" <<'EOF'
#!/bin/sh
# One awk for the parsing and one `ip -batch` for the configuration: every fork costs here.
f=$1 ifc=$4 apply=${13}
awk -v client="$2" -v event="$3" -v ifc="$4" -v ip="$5" -v mask="$6" -v routers="$7" \
	-v r121="$8" -v r249="$9" -v opt43="${10}" -v lease="${11}" -v server="${12}" \
	-v domain="${14}" -v dns="${15}" -v cmds="$f.cmds" -v apply="$apply" '
function prefix(m,   a, n, i, v) {
	if (m !~ /\./) return m
	split(m, a, "."); n = 0
	for (i = 1; i <= 4; i++) { v = a[i] + 0; while (v > 0) { n += v % 2; v = int(v / 2) } }
	return n
}
function routes(s,   w, n, i, out, k, nb, d, g) {
	# "a/n gw a/n gw" pairs (udhcpc, dhcpcd) or RFC 3442 bytes (dhclient) -> a/n@gw,...
	gsub(/,/, " ", s); n = split(s, w, " "); out = ""
	if (s ~ /\//) {
		for (i = 1; i + 1 <= n; i += 2) out = out (out != "" ? "," : "") w[i] "@" w[i+1]
		return out
	}
	i = 1
	while (i <= n) {
		nb = int((w[i] + 7) / 8); d = ""
		for (k = 0; k < 4; k++) d = d (k ? "." : "") (k < nb ? w[i + 1 + k] : 0)
		g = w[i + 1 + nb] "." w[i + 2 + nb] "." w[i + 3 + nb] "." w[i + 4 + nb]
		out = out (out != "" ? "," : "") d "/" w[i] "@" g
		i += 5 + nb
	}
	return out
}
function hex(s,   a, n, i, h, out) {
	# dhclient: dc:3:4e (no leading zeros); udhcpc/dhcpcd: plain hex
	if (s !~ /:/) { gsub(/ /, "", s); return tolower(s) }
	n = split(s, a, ":"); out = ""
	for (i = 1; i <= n; i++) { h = a[i]; if (length(h) == 1) h = "0" h; out = out h }
	return tolower(out)
}
BEGIN {
	p = prefix(mask); l121 = routes(r121); l249 = routes(r249)
	rt = routers; gsub(/ /, ",", rt); d = dns; gsub(/ /, ",", d)
	print "event=" event " client=" client " ip=" ip " mask=" p " routers=" rt \
		" routes121=" l121 " routes249=" l249 " opt43=" hex(opt43) " lease=" lease \
		" server=" server " domain=" domain " dns=" d
	if (apply != 1) exit
	# the way Debian dhclient-script + its rfc3442 hook configure: routes from 121 when
	# present (routers ignored), else a default route per router (host route to it on a /32)
	if (event ~ /^(BOUND|RENEW|REBIND|REBOOT)$/) {
		print "route flush dev " ifc > cmds
		print "addr flush dev " ifc > cmds
		print "addr add " ip "/" p " dev " ifc > cmds
		if (l121 != "") {
			n = split(l121, r, ",")
			for (i = 1; i <= n; i++) {
				split(r[i], x, "@")
				if (x[2] == "0.0.0.0") print "route add " x[1] " dev " ifc > cmds
				else print "route add " x[1] " via " x[2] " dev " ifc > cmds
			}
		} else {
			n = split(routers, r, " ")
			for (i = 1; i <= n; i++) {
				if (p == 32) print "route add " r[i] " dev " ifc > cmds
				print "route add default via " r[i] " dev " ifc > cmds
			}
		}
	} else if (event ~ /^(EXPIRE|FAIL|RELEASE|STOP|DECONFIG|NAK)$/) {
		print "route flush dev " ifc > cmds
		print "addr flush dev " ifc > cmds
	}
}' >>"$f"
[ -s "$f.cmds" ] && ip -4 -force -batch "$f.cmds" 2>>"$f.err"
rm -f "$f.cmds"
exit 0
EOF
	chmod +x "$T/netns-record.sh"
}

# ---------------------------------------------------------------------------------------------
# dhclient

# dhclient_conf NAME [LINES...]: the client's dhclient.conf (vendor class MSFT 5.0, options 121
# and 249 declared and requested); extra lines (send vendor-encapsulated-options ...) appended.
dhclient_conf() {
	local name=$1 l
	shift
	{
		echo 'option rfc3442-classless-static-routes code 121 = array of unsigned integer 8;'
		echo 'option ms-classless-static-routes code 249 = array of unsigned integer 8;'
		echo 'send vendor-class-identifier "MSFT 5.0";'
		echo 'timeout 10;'
		echo 'retry 1;'
		echo 'request subnet-mask, broadcast-address, routers, domain-name-servers, domain-name,'
		echo '	rfc3442-classless-static-routes, ms-classless-static-routes,'
		echo '	vendor-encapsulated-options, dhcp-lease-time, dhcp-renewal-time,'
		echo '	dhcp-rebinding-time;'
		for l; do echo "$l"; done
	} >"$T/$name.dhclient.conf"
	# the -sf script: record (and configure) every event; DECLINE an address listed in
	# $T/NAME.decline by exiting non-zero on BOUND, as dhclient-script(8) describes
	cat >"$T/$name.dhclient.sh" <<EOF
#!/bin/sh
if [ "\$reason" = BOUND ] && [ -f "$T/$name.decline" ] &&
	grep -qx "\$new_ip_address" "$T/$name.decline"; then
	echo "event=DECLINED client=dhclient ip=\$new_ip_address" >>"$T/$name.events"
	exit 1
fi
case "\$reason" in
BOUND|RENEW|REBIND|REBOOT)
	exec "$T/netns-record.sh" "$T/$name.events" dhclient "\$reason" "\$interface" \\
		"\$new_ip_address" "\$new_subnet_mask" "\$new_routers" \\
		"\$new_rfc3442_classless_static_routes" "\$new_ms_classless_static_routes" \\
		"\$new_vendor_encapsulated_options" "\$new_dhcp_lease_time" \\
		"\$new_dhcp_server_identifier" 1 "\$new_domain_name" "\$new_domain_name_servers" ;;
EXPIRE|FAIL|RELEASE|STOP)
	exec "$T/netns-record.sh" "$T/$name.events" dhclient "\$reason" "\$interface" \\
		"\$old_ip_address" "\$old_subnet_mask" "" "" "" "" "" "" 1 ;;
esac
exit 0
EOF
	chmod +x "$T/$name.dhclient.sh"
}

# dhclient_args NAME: the common argument list (one per line).
_dhclient_args() {
	printf '%s\n' -cf "$T/$1.dhclient.conf" -sf "$T/$1.dhclient.sh" \
		-lf "$T/$1.dhclient.leases" -pf "$T/$1.dhclient.pid"
}

# run_dhclient NAME [TIMEOUT]: one DORA (or INIT-REBOOT when the lease file holds a lease);
# dhclient stays in the background as a daemon (its PID in $T/NAME.dhclient.pid). Returns
# dhclient's status (2 = no lease).
run_dhclient() {
	local name=$1 t=${2:-15} args rc=0
	[[ -f $T/$name.dhclient.conf ]] || dhclient_conf "$name"
	mapfile -t args < <(_dhclient_args "$name")
	timeout "$t" ip netns exec "${CLI_NS[$name]}" dhclient -1 -v "${args[@]}" \
		"${CLI_IF[$name]}" >>"$T/$name.dhclient.log" 2>&1 || rc=$?
	return "$rc"
}

# dhclient_release NAME: dhclient -r (DHCPRELEASE, the script's RELEASE, daemon stopped).
dhclient_release() {
	local name=$1 args
	mapfile -t args < <(_dhclient_args "$name")
	timeout 10 ip netns exec "${CLI_NS[$name]}" dhclient -r -v "${args[@]}" \
		"${CLI_IF[$name]}" >>"$T/$name.dhclient.log" 2>&1 || true
}

# dhclient_stop NAME: dhclient -x (stop without releasing; the lease file keeps the lease).
dhclient_stop() {
	local name=$1 args
	mapfile -t args < <(_dhclient_args "$name")
	timeout 10 ip netns exec "${CLI_NS[$name]}" dhclient -x "${args[@]}" \
		"${CLI_IF[$name]}" >>"$T/$name.dhclient.log" 2>&1 || true
}

# ---------------------------------------------------------------------------------------------
# udhcpc (busybox)

_udhcpc_script() {
	local name=$1
	cat >"$T/$name.udhcpc.sh" <<EOF
#!/bin/sh
case "\$1" in
bound|renew)
	exec "$T/netns-record.sh" "$T/$name.events" udhcpc "\$(echo "\$1" | tr a-z A-Z)" \\
		"\$interface" "\$ip" "\$mask" "\$router" "\$staticroutes" "\$msstaticroutes" \\
		"\$opt43" "\$lease" "\$serverid" 1 "\$domain" "\$dns" ;;
deconfig|nak|leasefail)
	exec "$T/netns-record.sh" "$T/$name.events" udhcpc "\$(echo "\$1" | tr a-z A-Z)" \\
		"\$interface" "" "" "" "" "" "" "" "" 1 ;;
esac
exit 0
EOF
	chmod +x "$T/$name.udhcpc.sh"
}

# run_udhcpc NAME [udhcpc options...]: one lease, then exit (-q); sends vendor class MSFT 5.0
# and asks for 43, 121, 249. Returns udhcpc's status.
run_udhcpc() {
	local name=$1 rc=0
	shift
	_udhcpc_script "$name"
	timeout 20 ip netns exec "${CLI_NS[$name]}" udhcpc -f -q -n -t 4 -T 1 -i "${CLI_IF[$name]}" \
		-s "$T/$name.udhcpc.sh" -V "MSFT 5.0" -O 43 -O 121 -O 249 "$@" \
		>>"$T/$name.udhcpc.log" 2>&1 || rc=$?
	return "$rc"
}

# start_udhcpc NAME [options...]: udhcpc staying in the foreground (background job): SIGUSR1
# renews, SIGUSR2 releases. Sets CLI_PID[NAME]; waits for the first binding.
start_udhcpc() {
	local name=$1 i
	shift
	_udhcpc_script "$name"
	ip netns exec "${CLI_NS[$name]}" udhcpc -f -t 4 -T 1 -i "${CLI_IF[$name]}" \
		-s "$T/$name.udhcpc.sh" -V "MSFT 5.0" -O 43 -O 121 -O 249 "$@" \
		>>"$T/$name.udhcpc.log" 2>&1 &
	CLI_PID[$name]=$!
	for ((i = 0; i < 100; i++)); do
		[[ -n $(ev "$name" ip) ]] && return 0
		sleep 0.1
	done
	fail "udhcpc $name got no lease within 10 s"
}

# ---------------------------------------------------------------------------------------------
# dhcpcd

# dhcpcd_conf NAME [LINES...]: ipv4 only, no hooks that touch the host, no ARP probe unless
# asked, client id = hardware address (no DUID file on the host), the address kept on exit.
dhcpcd_conf() {
	local name=$1 l
	shift
	cat >"$T/$name.dhcpcd.sh" <<EOF
#!/bin/sh
case "\$reason" in
BOUND|RENEW|REBIND|REBOOT)
	exec "$T/netns-record.sh" "$T/$name.events" dhcpcd "\$reason" "\$interface" \\
		"\$new_ip_address" "\$new_subnet_cidr" "\$new_routers" \\
		"\$new_classless_static_routes" "\$new_ms_classless_static_routes" \\
		"\$new_vendor_encapsulated_options" "\$new_dhcp_lease_time" \\
		"\$new_dhcp_server_identifier" 0 "\$new_domain_name" "\$new_domain_name_servers" ;;
EXPIRE|NAK|RELEASE|STOP)
	exec "$T/netns-record.sh" "$T/$name.events" dhcpcd "\$reason" "\$interface" \\
		"" "" "" "" "" "" "" "" 0 ;;
esac
exit 0
EOF
	chmod +x "$T/$name.dhcpcd.sh"
	{
		echo 'ipv4only'
		echo 'noipv4ll'
		echo 'nodelay'
		echo 'clientid'
		echo 'persistent'
		echo 'nohook resolv.conf, hostname, ntp.conf, timesyncd.conf, chrony.conf, wpa_supplicant'
		echo "script $T/$name.dhcpcd.sh"
		echo 'vendorclassid MSFT 5.0'
		echo 'option subnet_mask, routers, classless_static_routes, ms_classless_static_routes'
		echo 'option domain_name, domain_name_servers'
		echo 'option vendor_encapsulated_options, dhcp_lease_time'
		for l; do echo "$l"; done
	} >"$T/$name.dhcpcd.conf"
}

# run_dhcpcd NAME [dhcpcd options...]: one lease (-1), in the foreground, ended by timeout.
run_dhcpcd() {
	local name=$1 rc=0
	shift
	[[ -f $T/$name.dhcpcd.conf ]] || dhcpcd_conf "$name" noarp
	timeout 20 ip netns exec "${CLI_NS[$name]}" dhcpcd -f "$T/$name.dhcpcd.conf" -4 -1 -B -t 10 \
		"$@" "${CLI_IF[$name]}" >>"$T/$name.dhcpcd.log" 2>&1 || rc=$?
	rm -f "/var/lib/dhcpcd/${CLI_IF[$name]}.lease"
	return "$rc"
}

# ---------------------------------------------------------------------------------------------
# What a client got

# ev NAME KEY [EVENT-REGEX]: KEY of the last binding event (BOUND/RENEW/REBIND/REBOOT, or those
# matching EVENT-REGEX) the client's script recorded; empty when there is none.
ev() {
	local name=$1 key=$2 re=${3:-BOUND|RENEW|REBIND|REBOOT}
	[[ -f $T/$name.events ]] || return 0
	awk -v key="$key" -v re="^($re)\$" '{
		e = ""; v = ""; found = 0
		for (i = 1; i <= NF; i++) {
			split($i, kv, "=")
			if (kv[1] == "event") e = kv[2]
			if (kv[1] == key) { v = substr($i, length(key) + 2); found = 1 }
		}
		if (e ~ re && found) last = v
	} END { print last }' "$T/$name.events"
}

# n_events NAME EVENT-REGEX: how many events of that kind were recorded.
n_events() {
	[[ -f $T/$1.events ]] || { echo 0; return 0; }
	grep -cE "^event=($2) " "$T/$1.events" || true
}

# cli_addr NAME: the client interface's IPv4 address(es) as a/prefix, one per line.
cli_addr() {
	in_cli "$1" ip -4 -o addr show dev "${CLI_IF[$1]}" | awk '{ print $4 }'
}

# cli_routes NAME: the client's IPv4 routing table (main), one route per line, normalised
# ("default via 10.99.0.1", "10.99.0.10 via 10.99.0.1", "10.99.0.0/24 proto kernel ...").
cli_routes() {
	in_cli "$1" ip -4 route show table main | sed -e "s/ dev ${CLI_IF[$1]}//" -e 's/ *$//'
}

# has_route NAME WHAT ROUTE-PREFIX / no_route NAME WHAT ROUTE-PREFIX: a line of cli_routes starts
# (or no line starts) with ROUTE-PREFIX followed by a space or the end of the line.
has_route() {
	cli_routes "$1" | grep -qE "^${3//./\\.}( |\$)" ||
		fail "$2: no route '$3' in: $(cli_routes "$1" | tr '\n' ';')"
	log "ok: $2: '$3'"
}
no_route() {
	if cli_routes "$1" | grep -qE "^${3//./\\.}( |\$)"; then
		fail "$2: unexpected route '$3' in: $(cli_routes "$1" | tr '\n' ';')"
	fi
	log "ok: $2: no '$3'"
}

# opt43_sub HEX CODE: the concatenated value of vendor sub-option CODE in option 43's bytes.
opt43_sub() {
	"$PYTHON" - "$1" "$2" <<'EOF'
import sys
b = bytes.fromhex(sys.argv[1])
code = int(sys.argv[2])
out = b""
i = 0
while i < len(b):
    c = b[i]
    if c == 0:
        i += 1
        continue
    if c == 255 or i + 1 >= len(b):
        break
    n = b[i + 1]
    if c == code:
        out += b[i + 2:i + 2 + n]
    i += 2 + n
print(out.hex())
EOF
}

# nap43 COID-HEX [SOH-HEX]: option 43 bytes a NAP client sends: NAP-CoID (222) then the SoH in
# as many 220 sub-options as it needs (or the DISCOVER probe, 220 length 0, without SOH-HEX).
# Printed in dhclient's colon form.
nap43() {
	"$PYTHON" - "$1" "${2:-}" <<'EOF'
import sys
coid = bytes.fromhex(sys.argv[1])
soh = bytes.fromhex(sys.argv[2])
out = bytes([222, len(coid)]) + coid
if not soh:
    out += bytes([220, 0])
while soh:
    part, soh = soh[:255], soh[255:]
    out += bytes([220, len(part)]) + part
print(":".join("%02x" % x for x in out))
EOF
}

# random_coid: 130 random bytes as hex (NAP-CoID).
random_coid() {
	head -c 130 /dev/urandom | od -An -v -tx1 | tr -d ' \n'
}

# ns_metrics NS PORT: Prometheus text of a daemon inside a namespace (bash /dev/tcp there).
ns_metrics() {
	ip netns exec "$1" bash -c '
		exec 9<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" >&9
		body=0
		while IFS= read -r line <&9 || [[ -n $line ]]; do
			line=${line%$'"'"'\r'"'"'}
			if ((body)); then printf "%s\n" "$line"; elif [[ -z $line ]]; then body=1; fi
		done' _ "$2"
}

# ns_metric NS PORT NAME [LABEL_TEXT]: sum of NAME's samples whose labels contain LABEL_TEXT.
ns_metric() {
	ns_metrics "$1" "$2" | awk -v name="$3" -v lab="${4:-}" '
		/^#/ { next }
		{ n = $1; sub(/\{.*/, "", n); if (n == name && index($0, lab) > 0) s += $NF }
		END { printf "%d\n", s }'
}

# ---------------------------------------------------------------------------------------------
# napdhcpd in the server namespace

: "${NAPDHCPD:=$_nap_build/daemons/napdhcpd/napdhcpd}"
export NAPDHCPD

# dhcpd_server_section [EXTRA LINES...]: the [server] section of a test configuration:
# serves the bridge, metrics on 127.0.0.1:DHCPD_METRICS inside the server namespace, state in
# $T/dhcpd. Sets DHCPD_METRICS, DHCPD_STATE.
dhcpd_server_section() {
	local l
	: "${DHCPD_METRICS:=9867}"
	DHCPD_STATE=$T/dhcpd
	mkdir -p "$DHCPD_STATE"
	echo '[server]'
	echo "interfaces = $SRV_IF"
	echo "state_dir = $DHCPD_STATE"
	echo "pidfile = $T/napdhcpd.pid"
	echo "metrics = 127.0.0.1:$DHCPD_METRICS"
	for l; do echo "$l"; done
	echo
}

# start_napdhcpd [CONF]: napdhcpd -d in the server namespace; waits for its metrics endpoint.
# Sets DHCPD_PID.
start_napdhcpd() {
	local conf=${1:-$T/napdhcpd.conf} i
	bg_srv napdhcpd "$NAPDHCPD" -d -f "$conf"
	DHCPD_PID=$BG_PID
	for ((i = 0; i < 100; i++)); do
		_nap_dead "$DHCPD_PID" && fail "napdhcpd (pid $DHCPD_PID) exited during startup"
		ns_metrics "$NS_SRV" "$DHCPD_METRICS" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "napdhcpd metrics not up within 10 s"
}

# stop_napdhcpd: SIGTERM; it must exit 0.
stop_napdhcpd() {
	local pid=$DHCPD_PID
	stop_pid "$pid"
	DHCPD_PID=
	((STOP_STATUS == 0)) || fail "napdhcpd (pid $pid) exited with status $STOP_STATUS on SIGTERM"
	log "ok: napdhcpd stopped cleanly"
}

# dm NAME [LABEL_TEXT]: a napdhcpd metric (sum over the matching samples).
dm() {
	ns_metric "$NS_SRV" "$DHCPD_METRICS" "$@"
}

# napvd in the server namespace: lib.sh's write_napvd_conf with 127.0.0.1 there; started with
# the namespace's napctl radius query as the readiness probe. Sets NAPVD_PID.
start_napvd_ns() {
	local conf=${1:-$T/napvd.conf} i rc
	bg_srv napvd "$NAPVD" -d -f "$conf"
	NAPVD_PID=$BG_PID
	for ((i = 0; i < 100; i++)); do
		_nap_dead "$NAPVD_PID" && fail "napvd (pid $NAPVD_PID) exited during startup"
		rc=0
		in_srv "$NAPCTL" radius query --server "127.0.0.1:$NAPVD_PORT" --secret "$SECRET" \
			--no-soh --timeout 200ms >/dev/null 2>&1 || rc=$?
		((rc == 0 || rc == 2)) && return 0
		sleep 0.1
	done
	fail "napvd did not answer within 10 s"
}
