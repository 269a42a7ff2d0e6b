// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The SoH Response for a verdict: the SSoHR with the isolation state of the action and the
 * echoed correlation id, the nap SHV entry and, when MS-WSH was checked, a WSHV entry. Builds
 * from validated data only; handles no untrusted input beyond copying the correlation id.
 */
#include <errno.h>
#include <string.h>

#include "nap/util.h"
#include "nap/validate.h"

#define SOHR_NO_PROBATION UINT64_MAX /* FILETIME all-ones: no probation time */

/* Isolation state sent in MS-Quarantine-State for each action; reject reads as restricted. */
static const uint8_t action_isolation[NAP_ACTION_COUNT] = {
	[NAP_ACTION_FULL] = NAP_ISOLATION_NOT_RESTRICTED,
	[NAP_ACTION_RESTRICTED] = NAP_ISOLATION_RESTRICTED,
	[NAP_ACTION_PROBATION] = NAP_ISOLATION_IN_PROBATION,
	[NAP_ACTION_REJECT] = NAP_ISOLATION_RESTRICTED,
};

int
nap_sohr_build(const struct nap_soh *request, const struct nap_verdict *v,
	       enum nap_action action, int64_t probation_until, struct nap_soh *sohr)
{
	static const uint8_t zero_id[NAP_CORRELATION_ID_LEN];
	static const uint8_t empty_url[1] = {0};
	const uint8_t *corr = request != NULL ? nap_soh_correlation_id(request) : NULL;
	struct nap_health_response resp;
	int r;

	if ((unsigned)action >= NAP_ACTION_COUNT)
		return -EINVAL;
	nap_soh_init(sohr, false, corr != NULL ? corr : zero_id);

	/* MS-Quarantine-State: the decision, the probation end and an empty URL. */
	sohr->ssoh.qs_reserved = 0;
	sohr->ssoh.qs_flags = action_isolation[action];
	sohr->ssoh.probation_time = action == NAP_ACTION_PROBATION
					    ? nap_unix_to_filetime(probation_until)
					    : SOHR_NO_PROBATION;
	sohr->ssoh.url = nap_soh_store(sohr, empty_url, sizeof(empty_url));
	if (sohr->ssoh.url == NULL)
		return -ENOSPC;
	sohr->ssoh.url_len = sizeof(empty_url);
	nap_ssoh_set(&sohr->ssoh, NAP_SSOH_QUARANTINE_STATE);

	memset(&resp, 0, sizeof(resp));
	resp.result = (uint8_t)v->result;
	resp.branch = (uint8_t)v->branch;
	resp.instructions = v->instructions;
	if (v->hsr != NULL) {
		resp.hsr_revision = v->hsr->revision;
		resp.has_digest = true;
		memcpy(resp.hsr_digest, v->hsr->digest, NAP_HSR_DIGEST_LEN);
	}
	resp.compliance_code = v->compliant ? 0 : NAP_COMPLIANCE_E_NONCOMPLIANT;
	resp.failure_category = v->failure_category;
	r = nap_health_response_add_entry(sohr, &resp);
	if (r == 0 && v->has_wshv)
		r = nap_wshv_add_entry(sohr, &v->wshv);
	return r;
}
