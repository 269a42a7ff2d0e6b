// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * naphrad <-> napvd: the Access-Request an HRA sends (MS-RNAP 4.x "HRA": Service-Type
 * Authorize-Only, MS-Network-Access-Server-Type = HRA (5), the SoH in MS-Quarantine-SoH split
 * over VSAs, MS-Machine-Name when the client authenticated, Calling-Station-Id = the client's
 * address, NAS-Identifier) and what napvd's reply means for the certificate: one table from
 * MS-Quarantine-State to "issue or not". The reply is authenticated by the RADIUS client
 * (lib/enforce) before it gets here, but its attributes are still checked for size.
 */
#include <errno.h>
#include <string.h>

#include "nap/radius.h"
#include "nap/soh.h"
#include "naphrad.h"

/* MS-Quarantine-State -> certificate. Probation is full access until the grace time. */
static const struct {
	bool issue;
} verdict_by_qstate[] = {
	[NAP_MS_QSTATE_FULL_ACCESS] = {.issue = true},
	[NAP_MS_QSTATE_RESTRICTED] = {.issue = false},
	[NAP_MS_QSTATE_PROBATION] = {.issue = true},
};

int
naphrad_verdict_request(struct nap_radius_builder *b, const struct naphrad_query *q)
{
	int r = 0;
	const char *user = q->identity != NULL ? q->identity : "anonymous";

	nap_radclient_attrs_init(b, NAP_RADIUS_ACCESS_REQUEST);
	r |= nap_radius_add_attr(b, NAP_RADIUS_USER_NAME, user, strlen(user));
	r |= nap_radius_add_u32(b, NAP_RADIUS_SERVICE_TYPE, NAP_RADIUS_SERVICE_AUTHORIZE_ONLY);
	r |= nap_radius_add_ms_u32(b, NAP_MS_NETWORK_ACCESS_SERVER_TYPE, NAP_MS_NAS_HRA);
	if (q->nas_identifier != NULL)
		r |= nap_radius_add_attr(b, NAP_RADIUS_NAS_IDENTIFIER, q->nas_identifier,
					 strlen(q->nas_identifier));
	if (q->client_ip != NULL && q->client_ip[0] != '\0')
		r |= nap_radius_add_attr(b, NAP_RADIUS_CALLING_STATION_ID, q->client_ip,
					 strlen(q->client_ip));
	if (q->identity != NULL)
		r |= nap_radius_add_vsa(b, NAP_RADIUS_VENDOR_MS, NAP_MS_MACHINE_NAME, q->identity,
					strlen(q->identity));
	if (r != 0)
		return -EMSGSIZE;
	return nap_radius_add_ms_split(b, NAP_MS_QUARANTINE_SOH, q->soh, q->soh_len);
}

void
naphrad_verdict_from_reply(const struct nap_radius_packet *reply, struct naphrad_verdict *v)
{
	const struct nap_radius_attr *a;
	uint32_t u;
	long n;

	memset(v, 0, sizeof(*v));
	v->qstate = NAP_MS_QSTATE_RESTRICTED;
	n = nap_radius_ms_concat(reply, NAP_MS_QUARANTINE_SOH, v->sohr, sizeof(v->sohr));
	v->sohr_len = n > 0 ? (size_t)n : 0;
	if ((a = nap_radius_find_vsa(reply, NAP_RADIUS_VENDOR_MS, NAP_MS_AFW_ZONE)) != NULL &&
	    nap_radius_attr_u32(a, &u)) {
		v->has_zone = true;
		v->zone = u;
	}
	if ((a = nap_radius_find_vsa(reply, NAP_RADIUS_VENDOR_MS, NAP_MS_AFW_PROTECTION_LEVEL)) !=
		    NULL &&
	    nap_radius_attr_u32(a, &u) && (u == 1 || u == 2)) {
		v->has_level = true;
		v->level = u;
	}
	if (reply->code != NAP_RADIUS_ACCESS_ACCEPT) {
		v->rejected = true;
		return;
	}
	/* An Accept without a state is full access (RNAP: the attribute is optional). */
	u = NAP_MS_QSTATE_FULL_ACCESS;
	a = nap_radius_find_vsa(reply, NAP_RADIUS_VENDOR_MS, NAP_MS_QUARANTINE_STATE);
	if (a != NULL && (!nap_radius_attr_u32(a, &u) || u >= sizeof(verdict_by_qstate) /
									 sizeof(verdict_by_qstate[0])))
		u = NAP_MS_QSTATE_RESTRICTED; /* unknown state: the safe side */
	v->qstate = u;
	v->issue = verdict_by_qstate[u].issue;
	if (u == NAP_MS_QSTATE_PROBATION &&
	    (a = nap_radius_find_vsa(reply, NAP_RADIUS_VENDOR_MS, NAP_MS_QUARANTINE_GRACE_TIME)) !=
		    NULL &&
	    nap_radius_attr_u32(a, &u))
		v->grace = u;
}
