# SPDX-License-Identifier: GPL-3.0-or-later
# Helpers for the tests of napvd's LDAP HSR source (bash, sourced after lib.sh and peers.sh):
# signed HSR documents written into a real slapd as the admin with ldapadd/ldapmodify (no
# napsited involved), a napvd configuration with [hsr] source = ldap, and polling napvd over
# RADIUS until it answers with a given revision.

LDAP_CONTAINER="cn=System Management,$LDAP_SUFFIX"

# hsr_doc SITE REV [KEY]: sign an HSR for SITE at REV with KEY (default $T/site.key); prints the
# path of the signed document.
hsr_doc() {
	local site=$1 rev=$2 key=${3:-$T/site.key} out
	out=$T/hsr-$site-$rev-$(basename "$key" .key).json
	write_hsr "$site" "$rev" >"$T/hsr-unsigned-$site-$rev.json"
	"$NAPCTL" hsr sign --key "$key" "$T/hsr-unsigned-$site-$rev.json" -o "$out" ||
		fail "napctl hsr sign $site $rev"
	echo "$out"
}

# doc_digest FILE [PUBKEYS]: the digest of a signed document.
doc_digest() {
	"$NAPCTL" hsr show "$1" --keys "${2:-$T/site.pub}" --json | jget - "$JQ_HSR_DIGEST"
}

# ldap_put NAME CN SITE REV DOCFILE [DIGEST|-]: write the entry cn=CN under the container of
# slapd NAME (add, or replace the attributes in one modify when it exists). DIGEST "-" leaves
# napHsrDigest out; empty takes the document's.
ldap_put() {
	local name=$1 cn=$2 site=$3 rev=$4 doc=$5 dig=${6-} v=${1}_URI dn
	dn="cn=$cn,$LDAP_CONTAINER"
	[[ -z $dig ]] && dig=$(doc_digest "$doc")
	if ldapsearch -x -LLL -H "${!v}" -D "$LDAP_ADMIN" -w "$LDAP_ADMINPW" -b "$dn" -s base \
		dn >/dev/null 2>&1; then
		{
			printf 'dn: %s\nchangetype: modify\n' "$dn"
			printf 'replace: napSiteCode\nnapSiteCode: %s\n-\n' "$site"
			printf 'replace: napHsrRevision\nnapHsrRevision: %s\n-\n' "$rev"
			if [[ $dig == - ]]; then
				printf 'replace: napHsrDigest\n-\n'
			else
				printf 'replace: napHsrDigest\nnapHsrDigest: %s\n-\n' "$dig"
			fi
			printf 'replace: napHsrDocument\nnapHsrDocument:< file://%s\n' "$doc"
		} | ldapmodify -x -H "${!v}" -D "$LDAP_ADMIN" -w "$LDAP_ADMINPW" >/dev/null ||
			fail "ldapmodify $dn"
	else
		{
			printf 'dn: %s\nobjectClass: napHealthStateReference\ncn: %s\n' "$dn" "$cn"
			printf 'napSiteCode: %s\nnapHsrRevision: %s\n' "$site" "$rev"
			[[ $dig == - ]] || printf 'napHsrDigest: %s\n' "$dig"
			printf 'napHsrIssued: %s\n' "$(date -u +%Y%m%d%H%M%SZ)"
			printf 'napHsrDocument:< file://%s\n' "$doc"
		} | ldapadd -x -H "${!v}" -D "$LDAP_ADMIN" -w "$LDAP_ADMINPW" >/dev/null ||
			fail "ldapadd $dn"
	fi
}

# publish NAME SITE REV: a good entry cn=SITE for SITE at REV; sets DOC to the document.
publish() {
	DOC=$(hsr_doc "$2" "$3")
	ldap_put "$1" "$2" "$2" "$3" "$DOC"
}

# write_ldap_conf FILE: napvd with [hsr] source = ldap. Variables: HSR_URIS (required),
# HSR_PERSIST (auto), HSR_QI (query_interval, 60s), HSR_MAX_AGE (1h), HSR_TIMEOUT (2s),
# HSR_FILTER (default filter), HSR_STARTTLS (yes), HSR_BIND (a password file: bind as admin).
write_ldap_conf() {
	local conf=$1
	: "${NAPVD_PORT:=$(free_port)}"
	: "${METRICS_PORT:=$(free_port)}"
	mkdir -p "$T/state"
	{
		cat <<EOF
[napvd]
listen = 127.0.0.1:$NAPVD_PORT
metrics = 127.0.0.1:$METRICS_PORT
state_dir = $T/state
spool_max = 16M

[hsr]
source = ldap
uri = $HSR_URIS
base = $LDAP_SUFFIX
ca_file = $T/tls/ca.pem
starttls = ${HSR_STARTTLS:-yes}
trusted_keys = $T/site.pub
query_interval = ${HSR_QI:-60s}
max_age = ${HSR_MAX_AGE:-1h}
timeout = ${HSR_TIMEOUT:-2s}
persist = ${HSR_PERSIST:-auto}
sites = S01
EOF
		[[ -n ${HSR_FILTER:-} ]] && printf 'filter = %s\n' "$HSR_FILTER"
		if [[ -n ${HSR_BIND:-} ]]; then
			printf 'bind_dn = %s\nbind_password_file = %s\n' "$LDAP_ADMIN" "$HSR_BIND"
		fi
		cat <<EOF

[validation]
validity_period = 26h

[client local]
address = 127.0.0.1
secret = $SECRET
EOF
	} >"$conf"
}

# ask DOCFILE: one RADIUS query with a compliant SoH evaluated against DOCFILE's revision;
# sets A_CODE, A_RESULT, A_BRANCH and A_REV (the revision napvd answers with). The SoH of each
# document is built once.
declare -A _ask_soh=()
ask() {
	local out rc=0
	[[ -n ${_ask_soh[$1]:-} ]] ||
		_ask_soh[$1]=$(sample --site S01 --hsr "$1" --compliant yes --machine ldap.example)
	out=$("$NAPCTL" radius query --server "127.0.0.1:$NAPVD_PORT" --secret "$SECRET" \
		--soh "${_ask_soh[$1]}" --timeout 1s --json 2>/dev/null) || rc=$?
	if ((rc != 0 && rc != 2)); then
		A_CODE=none A_RESULT= A_BRANCH= A_REV=
		return 0
	fi
	read -r A_CODE A_RESULT A_BRANCH A_REV < <(jget - "' '.join(str(x) for x in [$JQ_Q_CODE, \
		$JQ_Q_RESULT, $JQ_Q_BRANCH, j['sohr_nap'].get('hsr_revision', '-')])" <<<"$out")
}

# doc_rev DOCFILE: the revision of a signed document.
doc_rev() {
	jget "$1" 'j["revision"]'
}

# expect_answer WHAT DOCFILE: napvd answers compliant/matches with DOCFILE's revision.
expect_answer() {
	local rev
	rev=$(doc_rev "$2")
	ask "$2"
	assert_eq "$1: result, branch, revision" "compliant matches $rev" \
		"$A_RESULT $A_BRANCH $A_REV"
}

# now_ms: wall clock in milliseconds, for measuring.
now_ms() {
	date +%s%3N
}

# wait_rev REV LIMIT_MS: poll napvd's metrics (cheap: bash and awk) until it holds revision REV
# for S01; sets WAITED_MS, counted from the call. Fails past the limit.
wait_rev() {
	local rev=$1 limit=$2 t0 v
	t0=$(now_ms)
	for (( ; ; )); do
		v=$(metric napvd_hsr_revision 'site="S01"')
		WAITED_MS=$(($(now_ms) - t0))
		[[ $v == "$rev" ]] && return 0
		((WAITED_MS > limit)) &&
			fail "napvd still holds revision $v ${WAITED_MS} ms later, want $rev"
		sleep 0.02
	done
}

# wait_metric NAME LABEL MIN LIMIT_S: poll until the metric reaches MIN.
wait_metric() {
	local i v
	for ((i = 0; i < $4 * 20; i++)); do
		v=$(metric "$1" "$2")
		((v >= $3)) && return 0
		sleep 0.05
	done
	fail "$1{$2} = $v after $4 s, want >= $3"
}

# restart_slapd NAME: start a stopped slapd again on its ports with its data.
restart_slapd() {
	local name=$1 d=$T/$1 u=${1}_URI s=${1}_LDAPS i=${1}_LDAPI pid n
	slapd -F "$d/slapd.d" -h "${!u}/ ${!s}/ ${!i}" -d 0 >>"$T/slapd-$name.log" 2>&1 &
	pid=$!
	_nap_pids+=("$pid")
	printf -v "${name}_PID" '%s' "$pid"
	for ((n = 0; n < 200; n++)); do
		ldapsearch -x -H "${!u}" -s base -b "" namingContexts >/dev/null 2>&1 && return 0
		_nap_dead "$pid" && fail "slapd $name exited on restart"
		sleep 0.05
	done
	fail "slapd $name did not answer after a restart"
}
