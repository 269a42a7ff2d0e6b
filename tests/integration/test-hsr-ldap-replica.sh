#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The directory's own replication carries the HSR: a second slapd replicates the first with
# syncrepl (refreshAndPersist), napvd reads only the replica. HSR entries are written on the
# provider by the admin (ldapadd/ldapmodify, documents signed with napctl hsr sign); napvd
# answers with the revision written there, and picks up an update made there. The replica lists
# Content Sync in its root DSE (the syncprov module is loaded) but its database does not provide
# it, so napvd's persistent search is refused and it reads every query_interval.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/peers.sh"
. "$(dirname "$0")/hsr-ldap-lib.sh"
need "$PYTHON"

start_slapd prov
start_slapd cons consumer "$prov_URI"
unset LDAPTLS_CACERT
"$NAPCTL" key generate --private "$T/site.key" --public "$T/site.pub" >/dev/null
publish prov S01 5
DOC5=$DOC

# wait_replica REV: until the consumer holds the provider's revision REV.
wait_replica() {
	local i v
	for ((i = 0; i < 200; i++)); do
		v=$(ldap_admin_search cons '(napSiteCode=S01)' napHsrRevision |
			sed -n 's/^napHsrRevision: //p')
		[[ $v == "$1" ]] && return 0
		sleep 0.05
	done
	fail "the consumer still holds revision '$v', want $1"
}
wait_replica 5
log "ok: syncrepl carried revision 5 to the consumer"

HSR_URIS="$cons_URI" HSR_PERSIST=auto HSR_QI=2s HSR_TIMEOUT=1s write_ldap_conf "$T/napvd.conf"
start_napvd "$T/napvd.conf"
wait_rev 5 5000
expect_answer "napvd reading the consumer" "$DOC5"

publish prov S01 6
DOC6=$DOC
T0=$(now_ms)
wait_replica 6
wait_rev 6 5000
log "ok: provider update -> consumer -> napvd in $(($(now_ms) - T0)) ms (query_interval 2 s)"
expect_answer "after the provider's update" "$DOC6"
assert_eq "napvd never wrote to or read from the provider" 1 \
	"$(grep -c "hsr: ldap: connected to $cons_URI" "$T/napvd.log")"
assert_eq "napvd_hsr_reads_on_request_path_total" 0 \
	"$(metric napvd_hsr_reads_on_request_path_total)"
stop_napvd
log "PASS"
