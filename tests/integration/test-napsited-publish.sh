#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# napsited publishes the signed HSR to a real slapd: over ldap:// with StartTLS (a wrong CA
# fails) and over ldaps://; ldapsearch sees the entry and its document verifies with the site's
# public key; a policy change republishes revision + 1 through the poll and through napctl's
# SIGUSR1; with the directory down publishes fail and are counted, napsited stays up and
# publishes with backoff once slapd is back; a restart writes nothing (entryCSN unchanged,
# result "unchanged"); a higher revision in the directory is refused; two sites share one
# directory; a container is created when missing; a group-readable bind password file is
# refused at start; -n prints the configuration; SIGHUP with a bad file keeps running.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/peers.sh"

: "${NAPSITED:=$_nap_build/daemons/napsited/napsited}"
need "$NAPSITED" "$NAPCTL" ldapsearch ldapmodify

start_slapd D1
"$NAPCTL" key generate --private "$T/site.key" --public "$T/site.pub" >/dev/null
printf '%s\n' "$LDAP_ADMINPW" >"$T/ldap.secret"
chmod 600 "$T/ldap.secret"
CONTAINER_DN="cn=System Management,$LDAP_SUFFIX"

# site_conf NAME SITE URI [KEY=VALUE overrides for [site] / [directory] ...]: $T/NAME.conf, a
# store in $T/NAME.db, metrics on a free port (NAME_MPORT).
site_conf() {
	local name=$1 site=$2 uri=$3 port
	shift 3
	port=$(free_port tcp)
	printf -v "${name}_MPORT" '%s' "$port"
	local poll=200ms container="cn=System Management" starttls=yes ca=$T/tls/ca.pem
	local retry_min=200ms retry_max=1s pwfile=$T/ldap.secret create=yes timeout=2s kv
	local key=$T/site.key user= store=sqlite:$T/$name.db
	for kv; do
		case ${kv%%=*} in
		poll) poll=${kv#*=} ;;
		container) container=${kv#*=} ;;
		starttls) starttls=${kv#*=} ;;
		ca) ca=${kv#*=} ;;
		pwfile) pwfile=${kv#*=} ;;
		create) create=${kv#*=} ;;
		timeout) timeout=${kv#*=} ;;
		key) key=${kv#*=} ;;
		user) user=${kv#*=} ;;
		store) store=${kv#*=} ;;
		*) fail "site_conf: unknown override $kv" ;;
		esac
	done
	cat >"$T/$name.conf" <<EOF
[site]
code = $site
key = $key
user = $user
state_dir = $T/state-$name
pidfile = $T/$name.pid
metrics = 127.0.0.1:$port
poll_interval = $poll

[store]
uri = $store

[directory]
uri = $uri
base = $LDAP_SUFFIX
container = $container
bind_dn = $LDAP_ADMIN
bind_password_file = $pwfile
starttls = $starttls
ca_file = $ca
timeout = $timeout
retry_min = $retry_min
retry_max = $retry_max
create_container = $create
EOF
}

# start_site NAME: napsited -d in the background; waits for its metrics. Sets NAME_PID.
start_site() {
	local name=$1 port v=${1}_MPORT i pid
	port=${!v}
	"$NAPSITED" -d -f "$T/$name.conf" >>"$T/napsited-$name.log" 2>&1 &
	pid=$!
	_nap_pids+=("$pid")
	printf -v "${name}_PID" '%s' "$pid"
	for ((i = 0; i < 100; i++)); do
		_nap_dead "$pid" && fail "napsited $name exited during startup"
		(exec 9<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		sleep 0.05
	done
	fail "napsited $name: metrics not up within 5 s"
}

stop_site() {
	local v=${1}_PID pid
	pid=${!v}
	stop_pid "$pid"
	((STOP_STATUS == 0)) || fail "napsited $1 exited with status $STOP_STATUS on SIGTERM"
}

# smetric NAME METRIC [LABELS]: one napsited's metric (sum over matching samples).
smetric() {
	local v=${1}_MPORT
	METRICS_PORT=${!v} metric "$2" "${3:-}"
}

# entry_attr SITE ATTR: the attribute's value in the site's entry ("" when absent).
entry_attr() {
	ldapsearch -x -LLL -o ldif-wrap=no -H "$D1_URI" -D "$LDAP_ADMIN" -w "$LDAP_ADMINPW" \
		-b "cn=$1,$CONTAINER_DN" -s base "(objectClass=*)" "$2" 2>/dev/null |
		sed -n "s/^$2: //p" || true
}

# wait_revision SITE REV [SECONDS]: until the entry holds REV; prints the milliseconds waited.
wait_revision() {
	local site=$1 rev=$2 max=${3:-5} t0 i cur
	t0=$(date +%s%N)
	for ((i = 0; i < max * 20; i++)); do
		cur=$(entry_attr "$site" napHsrRevision)
		if [[ $cur == "$rev" ]]; then
			echo $((($(date +%s%N) - t0) / 1000000))
			return 0
		fi
		sleep 0.05
	done
	fail "entry of $site: revision '$cur' after ${max}s, expected $rev"
}

# wait_metric NAME METRIC LABELS MIN [SECONDS]
wait_metric() {
	local i v
	for ((i = 0; i < ${5:-5} * 20; i++)); do
		v=$(smetric "$1" "$2" "$3")
		((v >= $4)) && return 0
		sleep 0.05
	done
	fail "$1: $2{$3} = $v after ${5:-5}s, expected >= $4"
}

policy() {
	local conf=$1
	shift
	"$NAPCTL" -c "$T/$conf.conf" policy add "$@" --severity critical --effective asap
}

# verify_entry SITE REV: the published document verifies with site.pub and agrees with the
# entry's other attributes.
verify_entry() {
	local site=$1 rev=$2 doc=$T/doc-$1-$2.json out
	entry_attr "$site" napHsrDocument >"$doc"
	[[ -s $doc ]] || fail "no napHsrDocument in the entry of $site"
	out=$("$NAPCTL" hsr show "$doc" --keys "$T/site.pub" --json) ||
		fail "the published document of $site does not verify with the site key"
	assert_eq "$site document site" "$site" "$(jget - 'j["hsrs"][0]["site"]' <<<"$out")"
	assert_eq "$site document revision" "$rev" "$(jget - 'j["hsrs"][0]["revision"]' <<<"$out")"
	assert_eq "$site napHsrDigest = document digest" \
		"$(jget - 'j["hsrs"][0]["digest"]' <<<"$out")" "$(entry_attr "$site" napHsrDigest)"
	assert_eq "$site napHsrKeyId = document key id" \
		"$(jget - 'j["hsrs"][0]["key_id"]' <<<"$out")" "$(entry_attr "$site" napHsrKeyId)"
	assert_eq "$site napSiteCode" "$site" "$(entry_attr "$site" napSiteCode)"
	assert_match "$site napHsrIssued" '^[0-9]{14}Z$' "$(entry_attr "$site" napHsrIssued)"
}

# --- configuration check and refusals -------------------------------------------------------
site_conf s1 S01 "$D1_URI"
out=$("$NAPSITED" -n -f "$T/s1.conf" 2>"$T/n.err") || fail "napsited -n: $(cat "$T/n.err")"
grep -qx "uri = $D1_URI" <<<"$out" || fail "-n does not print [directory] uri"
grep -qx "create_container = yes" <<<"$out" || fail "-n does not fill in the defaults"
assert_eq "-n last line" "configuration OK" "$(tail -n 1 <<<"$out")"
printf '[site]\ncode = S01\nkey = %s\nbogus = 1\n' "$T/site.key" >"$T/bad.conf"
rc=0
"$NAPSITED" -n -f "$T/bad.conf" >/dev/null 2>"$T/n.err" || rc=$?
assert_eq "-n on a bad file: exit status" 1 "$rc"
assert_eq "-n on a bad file: message" "napsited: $T/bad.conf:4: unknown key \"bogus\" in [site]" \
	"$(cat "$T/n.err")"

cp "$T/ldap.secret" "$T/ldap.secret-644"
chmod 644 "$T/ldap.secret-644"
site_conf loose S01 "$D1_URI" pwfile="$T/ldap.secret-644"
rc=0
"$NAPSITED" -d -f "$T/loose.conf" >"$T/loose.out" 2>&1 || rc=$?
assert_eq "bind password file 0644: exit status" 1 "$rc"
grep -qF "bind_password_file $T/ldap.secret-644: mode 0644 lets group or other at it; refusing" \
	"$T/loose.out" || fail "bind password file 0644: no clear message: $(cat "$T/loose.out")"
log "ok: a 0644 bind password file is refused at start"
rc=0
"$NAPSITED" -n -f "$T/loose.conf" >/dev/null 2>"$T/n.err" || rc=$?
assert_eq "-n refuses the 0644 password file too" 1 "$rc"

# --- StartTLS with the wrong CA fails, with the right one publishes -------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-subj "/CN=some other CA" -keyout "$T/other-ca.key" -out "$T/other-ca.pem" 2>/dev/null
site_conf wrongca S09 "$D1_URI" ca="$T/other-ca.pem"
policy wrongca p1 --package bash --min-version 5.2 >/dev/null
start_site wrongca
wait_metric wrongca napsited_publish_total 'result="error"' 1
assert_eq "wrong CA: directory_up" 0 "$(smetric wrongca napsited_directory_up)"
grep -q "StartTLS (required by starttls = yes)" "$T/napsited-wrongca.log" ||
	fail "wrong CA: the log does not name the StartTLS failure"
[[ -z $(entry_attr S09 napHsrRevision) ]] || fail "wrong CA: an entry was written anyway"
stop_site wrongca

policy s1 deb-openssl --package openssl --min-version 3.0.15-1~deb12u1 >/dev/null
start_site s1
ms=$(wait_revision S01 1)
log "S01 revision 1 published over StartTLS ${ms} ms after start"
verify_entry S01 1
assert_eq "S01 publish ok" 1 "$(smetric s1 napsited_publish_total 'result="ok"')"
assert_eq "S01 directory_up" 1 "$(smetric s1 napsited_directory_up)"
assert_eq "S01 published_revision" 1 "$(smetric s1 napsited_published_revision)"
assert_ge "S01 latency samples" 1 "$(smetric s1 napsited_directory_latency_seconds_count)"

# --- the poll path: a change is published as revision 2 -------------------------------------
t0=$(date +%s%N)
# No pidfile is named for this call, so only the 200 ms poll can notice.
"$NAPCTL" --store "sqlite:$T/s1.db" policy add deb-sudo --package sudo \
	--min-version 1.9.13p3-1+deb12u2 --severity important --effective asap >/dev/null
ms=$(wait_revision S01 2 3)
log "S01 revision 2 (poll path) published ${ms} ms after napctl policy add"
verify_entry S01 2
assert_eq "S01 policy_revision" 2 "$(smetric s1 napsited_policy_revision)"

# --- LDAPS and a second site; the SIGUSR1 path ---------------------------------------------
site_conf s2 S02 "$D1_LDAPS" poll=1h
policy s2 rpm-kernel --package kernel --min-version 5.14.0-427 --scheme rpm >/dev/null
start_site s2
wait_revision S02 1 >/dev/null
verify_entry S02 1
t0=$(date +%s%N)
out=$(policy s2 rpm-glibc --package glibc --min-version 2.34-100 --scheme rpm)
grep -q "napsited (pid $s2_PID) notified" <<<"$out" || fail "napctl did not notify napsited: $out"
ms=$(wait_revision S02 2 3)
log "S02 revision 2 (SIGUSR1 path, poll_interval 1h) published ${ms} ms after napctl policy add"
verify_entry S02 2
assert_eq "S01 untouched by S02" 2 "$(entry_attr S01 napHsrRevision)"
n=$(ldap_admin_search D1 "(objectClass=napHealthStateReference)" napSiteCode |
	grep -c '^napSiteCode: ')
assert_eq "two sites' entries in one directory" 2 "$n"

# --- the directory goes down and comes back -------------------------------------------------
stop_slapd D1
policy s1 deb-curl --package curl --min-version 7.88.1-10+deb12u8 >/dev/null
wait_metric s1 napsited_publish_total 'result="error"' 3 5
assert_alive "$s1_PID" "napsited s1"
assert_eq "directory down: directory_up" 0 "$(smetric s1 napsited_directory_up)"
assert_eq "directory down: pending" 1 "$(smetric s1 napsited_publish_pending)"
assert_ge "directory down: failures in a row" 3 "$(smetric s1 napsited_publish_failures_in_row)"
retry=$(METRICS_PORT=$s1_MPORT metrics | sed -n 's/^napsited_publish_retry_seconds //p')
assert_match "directory down: backoff grew past retry_min (0.2 s)" '^0\.[4-9]|^1\.0' "$retry"
assert_eq "directory down: HSR revision 3 signed anyway" 3 "$(smetric s1 napsited_hsr_revision)"
errors_down=$(smetric s1 napsited_publish_total 'result="error"')
# slapd again, same ports and data
slapd -F "$T/D1/slapd.d" -h "$D1_URI/ $D1_LDAPS/ $D1_LDAPI" -d 0 >>"$T/slapd-D1.log" 2>&1 &
D1_PID=$!
_nap_pids+=("$D1_PID")
for ((i = 0; i < 100; i++)); do
	ldapsearch -x -H "$D1_URI" -s base -b "" namingContexts >/dev/null 2>&1 && break
	sleep 0.05
done
t0=$(date +%s%N)
ms=$(wait_revision S01 3 5)
log "S01 revision 3 published ${ms} ms after slapd came back (retry_max 1s)"
verify_entry S01 3
assert_eq "back up: directory_up" 1 "$(smetric s1 napsited_directory_up)"
assert_eq "back up: pending" 0 "$(smetric s1 napsited_publish_pending)"
assert_eq "back up: failures in a row" 0 "$(smetric s1 napsited_publish_failures_in_row)"
assert_ge "errors counted while down" 3 "$errors_down"
grep -q "publish of HSR revision 3 failed" "$T/napsited-s1.log" || fail "no failure logged"

# --- a restart writes nothing ---------------------------------------------------------------
csn=$(entry_attr S01 entryCSN)
stop_site s1
start_site s1
wait_metric s1 napsited_publish_total 'result="unchanged"' 1
assert_eq "restart: nothing written (ok)" 0 "$(smetric s1 napsited_publish_total 'result="ok"')"
assert_eq "restart: entryCSN unchanged" "$csn" "$(entry_attr S01 entryCSN)"
assert_eq "restart: published_revision" 3 "$(smetric s1 napsited_published_revision)"

# --- SIGHUP: a bad file keeps running, a good one is taken ----------------------------------
cp "$T/s1.conf" "$T/s1.conf.good"
printf '\n[directory]\nuri = ldap://elsewhere\n' >>"$T/s1.conf"
kill -HUP "$s1_PID"
wait_metric s1 napsited_reloads_total 'result="error"' 1
assert_alive "$s1_PID" "napsited s1 after a bad reload"
grep -q "keeping the running configuration" "$T/napsited-s1.log" || fail "bad reload not logged"
cp "$T/s1.conf.good" "$T/s1.conf"
kill -HUP "$s1_PID"
wait_metric s1 napsited_reloads_total 'result="ok"' 1
policy s1 deb-tar --package tar --min-version 1.34+dfsg-1.2+deb12u1 >/dev/null
wait_revision S01 4 3 >/dev/null
log "ok: still publishing after the reloads"

# --- a higher revision in the directory is never overwritten --------------------------------
ldapmodify -x -H "$D1_URI" -D "$LDAP_ADMIN" -w "$LDAP_ADMINPW" >/dev/null <<EOF
dn: cn=S01,$CONTAINER_DN
changetype: modify
replace: napHsrRevision
napHsrRevision: 1000
EOF
policy s1 deb-bash --package bash --min-version 5.2.15-2+b7 >/dev/null
wait_metric s1 napsited_publish_total 'result="conflict"' 1
assert_eq "conflict: the directory keeps its revision" 1000 "$(entry_attr S01 napHsrRevision)"
assert_eq "conflict: nothing pending" 0 "$(smetric s1 napsited_publish_pending)"
grep -q "holds revision 1000, newer than ours (5): not going back" "$T/napsited-s1.log" ||
	fail "conflict not logged"
stop_site s1

# --- a missing container is created; or not ----------------------------------------------
site_conf s3 S03 "$D1_URI" container="cn=NAP Sites" create=no
policy s3 p1 --package bash --min-version 5.2 >/dev/null
start_site s3
wait_metric s3 napsited_publish_total 'result="error"' 1
grep -q "adding the entry: No such object" "$T/napsited-s3.log" ||
	fail "create_container = no: the missing container is not named in the log"
stop_site s3
site_conf s3 S03 "$D1_URI" container="cn=NAP Sites"
start_site s3
wait_metric s3 napsited_publish_total 'result="ok"' 1
oc=$(ldapsearch -x -LLL -H "$D1_URI" -b "cn=NAP Sites,$LDAP_SUFFIX" -s base objectClass |
	sed -n 's/^objectClass: //p')
assert_eq "created container's class" napContainer "$oc"
n=$(ldapsearch -x -LLL -H "$D1_URI" -b "cn=S03,cn=NAP Sites,$LDAP_SUFFIX" -s base napHsrRevision |
	sed -n 's/^napHsrRevision: //p')
assert_eq "S03 in the new container" 1 "$n"
stop_site s3

# --- a directory that accepts but never answers: bounded by timeout, the next URI is used ---
bh_port=$(free_port tcp)
"$PYTHON" -c 'import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
time.sleep(120)' "$bh_port" &
_nap_pids+=("$!")
for ((i = 0; i < 100; i++)); do
	(exec 9<>"/dev/tcp/127.0.0.1/$bh_port") 2>/dev/null && break
	sleep 0.05
done
site_conf s4 S04 "ldap://127.0.0.1:$bh_port $D1_URI" timeout=500ms
policy s4 p1 --package bash --min-version 5.2 >/dev/null
t0=$(date +%s%N)
start_site s4
wait_revision S04 1 5 >/dev/null
ms=$((($(date +%s%N) - t0) / 1000000))
log "S04 published through the second URI ${ms} ms after start (first URI hangs, timeout 500ms)"
((ms >= 450)) || fail "the hanging URI was not waited for (${ms} ms)"
grep -q "ldap://127.0.0.1:$bh_port: StartTLS (required by starttls = yes): Timed out; trying the next URI" \
	"$T/napsited-s4.log" || fail "the hanging URI's timeout is not logged"
assert_eq "S04 publish ok" 1 "$(smetric s4 napsited_publish_total 'result="ok"')"
stop_site s4

# --- privileges dropped to [site] user after reading what needs root -------------------------
# The bind password file stays root's (read before the drop); the key, the store and state_dir
# belong to the user.
chmod 711 "$T"
mkdir -p "$T/priv"
cp "$T/site.key" "$T/priv/site.key"
site_conf s5 S05 "$D1_URI" user=nobody key="$T/priv/site.key" store="sqlite:$T/priv/site.db"
policy s5 p1 --package bash --min-version 5.2 >/dev/null
chown -R nobody "$T/priv"
start_site s5
wait_revision S05 1 5 >/dev/null
assert_eq "S05 runs as nobody" "$(id -u nobody)" \
	"$(awk '/^Uid:/ { print $2 "/" $3 "/" $4 }' "/proc/$s5_PID/status" | cut -d/ -f1)"
assert_eq "S05 real, effective and saved uid" "$(id -u nobody)/$(id -u nobody)/$(id -u nobody)" \
	"$(awk '/^Uid:/ { print $2 "/" $3 "/" $4 }' "/proc/$s5_PID/status")"
grep -q "running as nobody" "$T/napsited-s5.log" || fail "the drop is not logged"
stop_site s5
# A key the user cannot read stops start-up with a clear message.
chown root "$T/priv/site.key"
rc=0
"$NAPSITED" -d -f "$T/s5.conf" >"$T/s5-nokey.out" 2>&1 || rc=$?
assert_eq "unreadable key after the drop: exit status" 1 "$rc"
grep -q "\[site\] key $T/priv/site.key: key: cannot read the private key" "$T/s5-nokey.out" ||
	fail "unreadable key: no clear message: $(cat "$T/s5-nokey.out")"

# --- without -d: detaches, writes the pidfile, exits cleanly on SIGTERM ---------------------
"$NAPSITED" -f "$T/s2.conf.d" 2>/dev/null && fail "napsited started with a missing file"
stop_site s2
"$NAPSITED" -f "$T/s2.conf" || fail "napsited (daemon mode) did not start"
pid=$(cat "$T/s2.pid")
_nap_pids+=("$pid")
assert_eq "daemon's name" napsited "$(cat "/proc/$pid/comm")"
kill -TERM "$pid"
for ((i = 0; i < 50; i++)); do
	_nap_dead "$pid" && break
	sleep 0.1
done
_nap_dead "$pid" || fail "daemon did not exit on SIGTERM"
_nap_forget "$pid"
[[ ! -e $T/s2.pid ]] || fail "pidfile left behind"
log "ok: daemon mode"
log "PASS"
