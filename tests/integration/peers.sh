# SPDX-License-Identifier: GPL-3.0-or-later
# Real directory and database peers for the integration tests (bash, sourced after lib.sh):
# a throwaway OpenLDAP slapd (own cn=config, mdb, nap schema, syncprov, ldap:// + ldaps:// +
# ldapi://, self-signed CA with an IP SAN for 127.0.0.1), a slapd syncrepl consumer of it, and a
# PostgreSQL server from initdb/pg_ctl. Everything lives under $T and is stopped by PID on exit.

: "${NAP_SCHEMA_LDIF:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/schema/nap.ldif}"
LDAP_SUFFIX=dc=napt,dc=test
LDAP_ADMIN=cn=admin,$LDAP_SUFFIX
LDAP_ADMINPW=secret

# _slapd_ca DIR: a CA and a server certificate for 127.0.0.1 (once per test; shared by slapds).
_slapd_ca() {
	local d=$1
	[[ -f $d/ca.pem ]] && return 0
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=napt test CA" -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
		-keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$d/ext.cnf"
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
		-CAcreateserial -days 2 -extfile "$d/ext.cnf" -out "$d/server.pem" 2>/dev/null
	chmod 644 "$d"/*.key
}

# start_slapd NAME [provider|consumer PROVIDER_URI]: a slapd in $T/NAME with the nap schema.
# Sets ${NAME}_URI (ldap://), ${NAME}_LDAPS, ${NAME}_LDAPI, ${NAME}_PID. A provider carries the
# syncprov overlay (so Content Sync / refreshAndPersist works against it); a consumer replicates
# the provider's whole suffix with syncrepl refreshAndPersist, is read-only and carries syncprov
# as well (its own readers get notifications).
start_slapd() {
	local name=$1 role=${2:-provider} provider=${3:-} d=$T/$1 port tlsport urls hash i
	need slapd slapadd slappasswd ldapsearch ldapadd ldapmodify openssl
	_slapd_ca "$T/tls"
	port=$(free_port tcp)
	tlsport=$(free_port tcp)
	rm -rf "$d"
	mkdir -p "$d/slapd.d" "$d/db"
	hash=$(slappasswd -s "$LDAP_ADMINPW")
	{
		cat <<LDIF
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $d/slapd.pid
olcTLSCACertificateFile: $T/tls/ca.pem
olcTLSCertificateFile: $T/tls/server.pem
olcTLSCertificateKeyFile: $T/tls/server.key

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb
olcModuleLoad: syncprov

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file:///etc/ldap/schema/cosine.ldif
include: file:///etc/ldap/schema/inetorgperson.ldif
include: file://$NAP_SCHEMA_LDIF

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: unlimited

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by dn.exact=gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth manage by * break

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: $LDAP_SUFFIX
olcRootDN: $LDAP_ADMIN
olcRootPW: $hash
olcDbDirectory: $d/db
olcDbMaxSize: 104857600
olcDbIndex: objectClass eq
olcDbIndex: entryCSN,entryUUID eq
olcLimits: dn.exact="$LDAP_ADMIN" size=unlimited time=unlimited
olcAccess: {0}to * by dn.exact=gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth manage by * read
LDIF
		if [[ $role == consumer ]]; then
			cat <<LDIF
olcSyncrepl: rid=001 provider=$provider bindmethod=simple binddn="$LDAP_ADMIN"
  credentials=$LDAP_ADMINPW searchbase="$LDAP_SUFFIX" type=refreshAndPersist
  retry="1 +" timeout=3
olcUpdateRef: $provider
LDIF
		fi
		# a consumer carries syncprov too, so its readers get Content Sync notifications
		if true; then
			cat <<LDIF

dn: olcOverlay=syncprov,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcSyncProvConfig
olcOverlay: syncprov
olcSpCheckpoint: 100 10
LDIF
		fi
	} >"$d/config.ldif"
	slapadd -n0 -F "$d/slapd.d" -l "$d/config.ldif" >"$d/slapadd.log" 2>&1 ||
		{ cat "$d/slapadd.log" >&2; fail "slapadd of the $name config failed"; }
	urls="ldap://127.0.0.1:$port/ ldaps://127.0.0.1:$tlsport/ ldapi://$(echo "$d/ldapi" | sed 's,/,%2F,g')"
	slapd -F "$d/slapd.d" -h "$urls" -d 0 >"$T/slapd-$name.log" 2>&1 &
	local pid=$!
	_nap_pids+=("$pid")
	printf -v "${name}_PID" '%s' "$pid"
	printf -v "${name}_URI" '%s' "ldap://127.0.0.1:$port"
	printf -v "${name}_LDAPS" '%s' "ldaps://127.0.0.1:$tlsport"
	printf -v "${name}_LDAPI" '%s' "ldapi://$(echo "$d/ldapi" | sed 's,/,%2F,g')"
	for ((i = 0; i < 200; i++)); do
		ldapsearch -x -H "ldap://127.0.0.1:$port" -s base -b "" namingContexts \
			>/dev/null 2>&1 && break
		_nap_dead "$pid" && fail "slapd $name exited (see $T/slapd-$name.log)"
		sleep 0.05
	done
	((i < 200)) || fail "slapd $name did not answer"
	if [[ $role == provider ]]; then
		ldapadd -x -H "ldap://127.0.0.1:$port" -D "$LDAP_ADMIN" -w "$LDAP_ADMINPW" \
			>/dev/null <<LDIF || fail "base entries on $name"
dn: $LDAP_SUFFIX
objectClass: dcObject
objectClass: organization
dc: napt
o: nap test

dn: cn=System Management,$LDAP_SUFFIX
objectClass: napContainer
cn: System Management
LDIF
	fi
	export LDAPTLS_CACERT=$T/tls/ca.pem
}

# stop_slapd NAME / restart after: pid-based, data kept in $T/NAME.
stop_slapd() {
	local v=${1}_PID
	stop_pid "${!v}"
}

# ldap_admin_search NAME FILTER [ATTR...]: ldapsearch as the admin, LDIF without wrapping.
ldap_admin_search() {
	local v=${1}_URI f=$2
	shift 2
	ldapsearch -x -LLL -o ldif-wrap=no -H "${!v}" -D "$LDAP_ADMIN" -w "$LDAP_ADMINPW" \
		-b "$LDAP_SUFFIX" "$f" "$@"
}

# start_postgres: PostgreSQL in $T/pg as the postgres user on a unix socket and 127.0.0.1.
# Sets PG_PORT, PG_SOCKDIR and PG_URI (a libpq URI for database nap, user postgres).
start_postgres() {
	local bindir i
	bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
	[[ -n $bindir && -x $bindir/initdb ]] || skip "PostgreSQL server not installed"
	id postgres >/dev/null 2>&1 || skip "no postgres user"
	PG_PORT=$(free_port tcp)
	PG_DIR=$T/pg
	PG_SOCKDIR=$T/pgsock
	mkdir -p "$PG_DIR" "$PG_SOCKDIR"
	chmod 755 "$T"
	chown postgres "$PG_DIR" "$PG_SOCKDIR"
	runuser -u postgres -- "$bindir/initdb" -D "$PG_DIR/data" -A trust -U postgres \
		>"$T/initdb.log" 2>&1 || fail "initdb failed (see $T/initdb.log)"
	runuser -u postgres -- "$bindir/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w \
		-o "-p $PG_PORT -k $PG_SOCKDIR -c listen_addresses=127.0.0.1 -c fsync=on" start \
		>/dev/null || fail "pg_ctl start failed (see $PG_DIR/postgres.log)"
	PG_BINDIR=$bindir
	PG_PID=$(head -1 "$PG_DIR/data/postmaster.pid")
	for ((i = 0; i < 100; i++)); do
		runuser -u postgres -- "$bindir/psql" -h "$PG_SOCKDIR" -p "$PG_PORT" -d postgres \
			-Atc 'select 1' >/dev/null 2>&1 && break
		sleep 0.05
	done
	runuser -u postgres -- "$bindir/createdb" -h "$PG_SOCKDIR" -p "$PG_PORT" nap ||
		fail "createdb nap"
	PG_URI="postgresql://postgres@127.0.0.1:$PG_PORT/nap"
	_nap_cleanup_hooks+=(_pg_stop)
}

_pg_stop() {
	[[ -n ${PG_DIR:-} && -f $PG_DIR/data/postmaster.pid ]] || return 0
	runuser -u postgres -- "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -m fast -w stop \
		>/dev/null 2>&1 || kill -9 "$PG_PID" 2>/dev/null || true
}

# pg_restart: stop and start the same cluster (data kept).
pg_restart() {
	_pg_stop
	runuser -u postgres -- "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w \
		-o "-p $PG_PORT -k $PG_SOCKDIR -c listen_addresses=127.0.0.1" start >/dev/null ||
		fail "pg_ctl restart failed"
	PG_PID=$(head -1 "$PG_DIR/data/postmaster.pid")
}

# start_smbd NAME SHARE...: a throwaway Samba smbd in $T/NAME on 127.0.0.1 (PEERS.md §4): its
# own smb.conf, tdbsam passdb and state dirs, user napt (password Passw0rd) provided by
# nss_wrapper (uid 5001, nothing written under /etc or /var), SMB3 minimum and server signing
# mandatory. Each SHARE is exported read-write for napt from $T/NAME/share/SHARE
# (smb://127.0.0.1:${NAME}_PORT/SHARE). Sets ${NAME}_PORT, ${NAME}_PID and ${NAME}_CRED (a
# credentials file in smbclient -A format, mode 0600). Started again after stop_smbd (same
# NAME, no SHARE), it reuses the configuration, port, passdb and share contents.
# smbd runs without --no-process-group: it is its own session leader, so stop_smbd's SIGTERM
# to its PID reaches its children and never the test's process group.
start_smbd() {
	local name=$1 d=$T/$1 port share i pid
	shift
	need smbd smbpasswd
	[[ $(ldconfig -p 2>/dev/null) == *'libnss_wrapper.so '* ]] || skip "libnss-wrapper not installed"
	if [[ -f $d/smb.conf ]]; then
		port=$(cat "$d/port")
	else
		(($# > 0)) || fail "start_smbd $name: no share named"
		port=$(free_port tcp)
		mkdir -p "$d"/private "$d"/lock "$d"/state "$d"/cache "$d"/pid "$d"/log "$d"/ncalrpc \
			"$d"/share
		echo "$port" >"$d/port"
		# uid 5001 (napt) must reach the shares
		chmod 755 "$T" "$d" "$d/share"
		{
			echo "napt:x:5001:5001:NAPT test:$d:/bin/false"
			echo "root:x:0:0:root:/root:/bin/sh"
			echo "nobody:x:65534:65534:nobody:/nonexistent:/bin/false"
		} >"$d/passwd"
		printf 'napt:x:5001:\nroot:x:0:\nnogroup:x:65534:\n' >"$d/group"
		cat >"$d/smb.conf" <<CONF
[global]
  server role = standalone server
  workgroup = NAPT
  netbios name = NAPTSMB
  interfaces = 127.0.0.1
  bind interfaces only = yes
  smb ports = $port
  disable netbios = yes
  private dir = $d/private
  lock directory = $d/lock
  state directory = $d/state
  cache directory = $d/cache
  pid directory = $d/pid
  ncalrpc dir = $d/ncalrpc
  log file = $d/log/log.%m
  passdb backend = tdbsam:$d/private/passdb.tdb
  map to guest = never
  restrict anonymous = 2
  load printers = no
  printing = bsd
  printcap name = /dev/null
  disable spoolss = yes
  server min protocol = SMB3
  server signing = mandatory
  rpc start on demand helpers = no
  usershare path =
CONF
		for share; do
			mkdir -p "$d/share/$share"
			chown 5001:5001 "$d/share/$share"
			printf '[%s]\n  path = %s\n  read only = no\n  valid users = napt\n' \
				"$share" "$d/share/$share" >>"$d/smb.conf"
		done
		printf 'username = napt\npassword = Passw0rd\ndomain = NAPT\n' >"$d/cred"
		chmod 600 "$d/cred"
		printf 'Passw0rd\nPassw0rd\n' | LD_PRELOAD=libnss_wrapper.so \
			NSS_WRAPPER_PASSWD="$d/passwd" NSS_WRAPPER_GROUP="$d/group" \
			smbpasswd -c "$d/smb.conf" -s -a napt >"$d/smbpasswd.log" 2>&1 ||
			{ cat "$d/smbpasswd.log" >&2; fail "smbpasswd for $name failed"; }
	fi
	LD_PRELOAD=libnss_wrapper.so NSS_WRAPPER_PASSWD="$d/passwd" NSS_WRAPPER_GROUP="$d/group" \
		smbd -s "$d/smb.conf" --foreground --debug-stdout -d 1 >>"$T/smbd-$name.log" 2>&1 &
	pid=$!
	_nap_pids+=("$pid")
	printf -v "${name}_PID" '%s' "$pid"
	printf -v "${name}_PORT" '%s' "$port"
	printf -v "${name}_CRED" '%s' "$d/cred"
	for ((i = 0; i < 200; i++)); do
		_nap_dead "$pid" && fail "smbd $name exited (see $T/smbd-$name.log)"
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		sleep 0.05
	done
	fail "smbd $name did not listen on 127.0.0.1:$port within 10 s"
}

# stop_smbd NAME: SIGTERM to smbd (its children exit with it); data kept in $T/NAME.
stop_smbd() {
	local v=${1}_PID i
	stop_pid "${!v}"
	# the per-connection children are in smbd's process group; wait until none is left
	for ((i = 0; i < 50; i++)); do
		pgrep -g "${!v}" >/dev/null 2>&1 || break
		sleep 0.1
	done
	printf -v "$v" '%s' ""
}
