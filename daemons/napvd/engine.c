// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * napvd's decision engine: from an authenticated Access-Request to its reply. Gathers the SoH
 * from the MS-Quarantine-SoH VSAs, decodes it, asks nap_validate() for the verdict, maps the
 * verdict to an action through the enforcement table, queues the status record and builds the
 * Access-Accept (quarantine state, grace time, remediation servers, user class, SoHR) or the
 * Access-Reject. The request is authenticated, but its SoH is still untrusted input: a SoH that
 * does not decode gets the "invalid" answer instead of silence.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nap/log.h"
#include "nap/soh.h"
#include "nap/util.h"
#include "napvd.h"

struct napvd_scratch {
	struct nap_soh soh;
	struct nap_soh sohr;
	struct nap_radius_builder rb;
	uint8_t soh_buf[NAP_SOH_MAX_LEN + 12];
	uint8_t sohr_buf[NAP_SOH_MAX_LEN + 12];
};

int
napvd_scratch_new(struct napvd_scratch **out)
{
	*out = calloc(1, sizeof(**out));
	return *out == NULL ? -ENOMEM : 0;
}

void
napvd_scratch_free(struct napvd_scratch *s)
{
	free(s);
}

/* What each action puts into the reply. */
static const struct napvd_action_reply {
	uint8_t code;
	uint32_t qstate;
	bool grace;       /* MS-Quarantine-Grace-Time = now + probation */
	bool remediation; /* MS-IPv4-Remediation-Servers, MS-Quarantine-User-Class */
	bool sohr;        /* the SoHR in MS-Quarantine-SoH */
} napvd_action_replies[NAP_ACTION_COUNT] = {
	[NAP_ACTION_FULL] = {
		.code = NAP_RADIUS_ACCESS_ACCEPT,
		.qstate = NAP_MS_QSTATE_FULL_ACCESS,
		.sohr = true,
	},
	[NAP_ACTION_RESTRICTED] = {
		.code = NAP_RADIUS_ACCESS_ACCEPT,
		.qstate = NAP_MS_QSTATE_RESTRICTED,
		.remediation = true,
		.sohr = true,
	},
	[NAP_ACTION_PROBATION] = {
		.code = NAP_RADIUS_ACCESS_ACCEPT,
		.qstate = NAP_MS_QSTATE_PROBATION,
		.grace = true,
		.sohr = true,
	},
	[NAP_ACTION_REJECT] = {
		.code = NAP_RADIUS_ACCESS_REJECT,
	},
};

/*
 * MS-Extended-Quarantine-State for a non-compliant verdict, by the branch that decided
 * (RNAP 2.2.1.21): stale data is a transition, a client that says it is missing updates is
 * "infected", everything else is unknown.
 */
static const uint8_t napvd_ext_by_branch[NAP_BRANCH_COUNT] = {
	[NAP_BRANCH_MATCHES] = NAP_MS_EXTSTATE_INFECTED,
	[NAP_BRANCH_NEWER] = NAP_MS_EXTSTATE_INFECTED,
	[NAP_BRANCH_OUT_OF_DATE] = NAP_MS_EXTSTATE_TRANSITION,
	[NAP_BRANCH_EXPIRED_TTL] = NAP_MS_EXTSTATE_TRANSITION,
	[NAP_BRANCH_EXPIRED_ABSOLUTE] = NAP_MS_EXTSTATE_TRANSITION,
	[NAP_BRANCH_INVALID] = NAP_MS_EXTSTATE_UNKNOWN,
	[NAP_BRANCH_UNKNOWN_SITE] = NAP_MS_EXTSTATE_UNKNOWN,
	[NAP_BRANCH_NO_POLICIES] = NAP_MS_EXTSTATE_INFECTED,
	[NAP_BRANCH_CLIENT_FAILURE] = NAP_MS_EXTSTATE_UNKNOWN,
	[NAP_BRANCH_SERVER_FAILURE] = NAP_MS_EXTSTATE_UNKNOWN,
	[NAP_BRANCH_NO_NAP_ENTRY] = NAP_MS_EXTSTATE_UNKNOWN,
	[NAP_BRANCH_WSH_FAILED] = NAP_MS_EXTSTATE_INFECTED,
	[NAP_BRANCH_NO_SOH] = NAP_MS_EXTSTATE_UNKNOWN,
	[NAP_BRANCH_EXEMPT] = NAP_MS_EXTSTATE_NO_DATA, /* always compliant */
	[NAP_BRANCH_CHECK_FAILED] = NAP_MS_EXTSTATE_INFECTED,
};

uint8_t
napvd_extended_state(const struct nap_verdict *v)
{
	if (v->compliant)
		return NAP_MS_EXTSTATE_NO_DATA;
	if (v->result != NAP_RESULT_NONCOMPLIANT)
		return NAP_MS_EXTSTATE_UNKNOWN; /* a failure category */
	if ((unsigned)v->branch >= NAP_BRANCH_COUNT)
		return NAP_MS_EXTSTATE_UNKNOWN;
	return napvd_ext_by_branch[v->branch];
}

enum nap_action
napvd_action_for(const struct napvd_config *c, enum nap_enforcement ep,
		 const struct nap_verdict *v, bool capable)
{
	enum napvd_class cls;

	if ((unsigned)ep >= NAP_EP_COUNT)
		ep = NAP_EP_UNSPECIFIED;
	if (!capable)
		cls = NAPVD_CLASS_NONCAPABLE;
	else
		cls = v->compliant ? NAPVD_CLASS_COMPLIANT : NAPVD_CLASS_NONCOMPLIANT;
	return c->enforcement[ep].action[cls];
}

/* MS-Network-Access-Server-Type values are the enum's order; others are policy tags. */
static enum nap_enforcement
napvd_request_ep(const struct nap_radius_packet *req)
{
	const struct nap_radius_attr *a =
		nap_radius_find_vsa(req, NAP_RADIUS_VENDOR_MS, NAP_MS_NETWORK_ACCESS_SERVER_TYPE);
	uint32_t v;

	if (a == NULL || !nap_radius_attr_u32(a, &v) || v >= NAP_EP_COUNT)
		return NAP_EP_UNSPECIFIED;
	return (enum nap_enforcement)v;
}

static bool
napvd_request_not_capable(const struct nap_radius_packet *req)
{
	const struct nap_radius_attr *a =
		nap_radius_find_vsa(req, NAP_RADIUS_VENDOR_MS, NAP_MS_NOT_QUARANTINE_CAPABLE);
	uint32_t v;

	return a != NULL && nap_radius_attr_u32(a, &v) && v == 1;
}

/*
 * The client's machine name for HSR exemptions: MS-Machine-Name from the NAS when present, else
 * the machine name of the client's SSoH. Trailing NULs are dropped (clients send one); a name
 * with other control bytes, or longer than an HSR pattern can be, is no name.
 */
static const char *
napvd_client_name(const struct nap_radius_packet *req, const struct nap_soh *soh, bool decoded,
		  char buf[NAP_HSR_MAX_CLIENT + 1])
{
	const struct nap_radius_attr *a =
		nap_radius_find_vsa(req, NAP_RADIUS_VENDOR_MS, NAP_MS_MACHINE_NAME);
	const uint8_t *p = NULL;
	size_t n = 0;

	if (a != NULL) {
		p = a->value;
		n = a->len;
	} else if (decoded && soh->has_ssoh && nap_ssoh_has(&soh->ssoh, NAP_SSOH_MACHINE_NAME)) {
		p = soh->ssoh.machine_name;
		n = soh->ssoh.machine_name_len;
	}
	while (n > 0 && p[n - 1] == '\0')
		n--;
	if (n == 0 || n > NAP_HSR_MAX_CLIENT)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			return NULL;
	}
	memcpy(buf, p, n);
	buf[n] = '\0';
	return buf;
}

/* The answer for an SoH that did not decode: "other" category, invalid branch. */
static void
napvd_verdict_invalid(const struct napvd_config *c, struct nap_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->result = NAP_RESULT_OTHER;
	v->branch = NAP_BRANCH_INVALID;
	v->compliant = c->vc.maps_compliant[NAP_RESULT_OTHER];
	v->failure_category = NAP_FAILURE_OTHER;
	v->reason = "SoH did not decode";
}

static int
napvd_add_sohr(struct napvd_scratch *s, const struct nap_verdict *v, enum nap_action action,
	       int64_t probation_until)
{
	struct nap_radius_builder *rb = &s->rb;
	struct nap_cbb cbb;
	uint8_t *enc;
	size_t len, need;
	int r;

	r = nap_sohr_build(&s->soh, v, action, probation_until, &s->sohr);
	if (r < 0)
		return r;
	/* Answer in the form the client used: the PEAP-style wrapper only if it came wrapped. */
	s->sohr.wrapped = s->soh.wrapped;
	nap_cbb_init_fixed(&cbb, s->sohr_buf, sizeof(s->sohr_buf));
	r = nap_soh_encode(&s->sohr, &cbb);
	if (r < 0)
		return r;
	r = nap_cbb_finish(&cbb, &enc, &len);
	if (r < 0)
		return r;
	/* Only when it fits: the verdict matters more than the SoHR. */
	need = (len + NAP_RADIUS_VSA_MAX_VALUE - 1) / NAP_RADIUS_VSA_MAX_VALUE * 8 + len;
	if (nap_cbb_len(&rb->cbb) + need > NAP_RADIUS_MAX_LEN)
		return -EMSGSIZE;
	return nap_radius_add_ms_split(rb, NAP_MS_QUARANTINE_SOH, enc, len);
}

static int
napvd_build_reply(struct napvd *d, const struct napvd_client *cl,
		  const struct nap_radius_packet *req, enum nap_enforcement ep,
		  const struct nap_verdict *v, enum nap_action action, bool sohr_possible,
		  int64_t now, uint8_t *out, size_t *out_len)
{
	const struct napvd_action_reply *ar = &napvd_action_replies[action];
	const struct napvd_enforcement *e = &d->conf->enforcement[ep];
	struct nap_radius_builder *rb = &d->scratch->rb;
	int64_t until = 0;
	const uint8_t *p;
	size_t n;
	int r = 0;

	nap_radius_build_init(rb, ar->code, req->id, req->authenticator);
	/* First, as RFC 3579 and the BlastRADIUS advice recommend. */
	r |= nap_radius_add_message_authenticator(rb);
	if (ar->code == NAP_RADIUS_ACCESS_REJECT) {
		char msg[128];

		snprintf(msg, sizeof(msg), "nap: %s (%s)", nap_result_name(v->result),
			 nap_branch_name(v->branch));
		r |= nap_radius_add_attr(rb, NAP_RADIUS_REPLY_MESSAGE, msg, strlen(msg));
	} else {
		r |= nap_radius_add_ms_u32(rb, NAP_MS_QUARANTINE_STATE, ar->qstate);
		r |= nap_radius_add_ms_u32(rb, NAP_MS_EXTENDED_QUARANTINE_STATE,
					   napvd_extended_state(v));
		if (ar->grace) {
			until = now + e->probation;
			if (until > (int64_t)UINT32_MAX)
				until = UINT32_MAX;
			r |= nap_radius_add_ms_u32(rb, NAP_MS_QUARANTINE_GRACE_TIME,
						   (uint32_t)until);
		}
		if (ar->remediation && e->n_remediation > 0) {
			uint8_t val[1 + NAPVD_MAX_REMEDIATION * 4];

			val[0] = 0; /* reserved */
			for (size_t i = 0; i < e->n_remediation; i++)
				memcpy(val + 1 + 4 * i, e->remediation[i], 4);
			r |= nap_radius_add_vsa(rb, NAP_RADIUS_VENDOR_MS,
						NAP_MS_IPV4_REMEDIATION_SERVERS, val,
						1 + 4 * e->n_remediation);
		}
		if (ar->remediation && e->user_class[0] != '\0')
			r |= nap_radius_add_vsa(rb, NAP_RADIUS_VENDOR_MS, NAP_MS_QUARANTINE_USER_CLASS,
						e->user_class, strlen(e->user_class));
	}
	/* RFC 2865 §5.33: every Proxy-State, in order. */
	for (uint16_t i = 0; i < req->n_attrs; i++)
		if (req->attrs[i].type == NAP_RADIUS_PROXY_STATE)
			r |= nap_radius_add_attr(rb, NAP_RADIUS_PROXY_STATE, req->attrs[i].value,
						 req->attrs[i].len);
	if (r != 0)
		return -EMSGSIZE;
	if (ar->sohr && sohr_possible) {
		int rs = napvd_add_sohr(d->scratch, v, action, until);

		if (rs < 0)
			LOG_WARNX_RL("engine: reply to id %u without SoHR: %s", req->id,
				     strerror(-rs));
	}
	r = nap_radius_finish_response_s(rb, req->authenticator, cl->keyed, &p, &n);
	if (r < 0)
		return r;
	memcpy(out, p, n);
	*out_len = n;
	return 0;
}

int
napvd_engine_access_request(struct napvd *d, const struct napvd_client *cl,
			    const char *nas_text, const struct nap_radius_packet *req,
			    uint8_t *out, size_t *out_len)
{
	const struct napvd_config *c = d->conf;
	struct napvd_scratch *s = d->scratch;
	struct nap_hsr_view view = {.set = d->hsr.set, .refreshed_at = d->hsr.refreshed_at};
	struct napvd_spool_record rec = {0};
	struct nap_verdict v;
	struct nap_err err = {0};
	enum nap_enforcement ep = napvd_request_ep(req);
	enum nap_action action;
	bool capable, decoded = false;
	int64_t now = napvd_real_s(&d->clock);
	char client_name[NAP_HSR_MAX_CLIENT + 1];
	const struct nap_radius_attr *mn;
	long soh_len;

	soh_len = nap_radius_ms_concat(req, NAP_MS_QUARANTINE_SOH, s->soh_buf, sizeof(s->soh_buf));
	capable = soh_len != 0 && !napvd_request_not_capable(req);
	if (!capable) {
		nap_validate(&c->vc, &view, NULL, ep, now, &v);
	} else if (soh_len < 0 || nap_soh_decode(s->soh_buf, (size_t)soh_len, &s->soh, &err) < 0) {
		char esc[4 * 16 + 1];

		nap_escape(s->soh_buf, soh_len > 16 ? 16 : (soh_len > 0 ? (size_t)soh_len : 0), esc,
			   sizeof(esc));
		LOG_WARNX_RL("engine: SoH from NAS %s (client %s, id %u) did not decode: %s at "
			     "offset %zu; starts \"%s\"",
			     nas_text, cl->name, req->id,
			     soh_len < 0 ? "over the NAP size limit"
					 : (err.what != NULL ? err.what : "malformed"),
			     err.offset, esc);
		d->m.malformed_soh++;
		napvd_verdict_invalid(c, &v);
	} else {
		decoded = true;
		nap_validate(&c->vc, &view, &s->soh, ep, now, &v);
	}
	/* HSR exemptions; an exempt NAP-incapable client gets the compliant action too. */
	nap_validate_exempt(&view, napvd_client_name(req, &s->soh, decoded, client_name), now, &v);
	action = napvd_action_for(c, ep, &v, capable || v.branch == NAP_BRANCH_EXEMPT);
	if ((unsigned)v.result < NAP_RESULT_COUNT)
		d->m.verdicts[v.result]++;
	if ((unsigned)v.branch < NAP_BRANCH_COUNT)
		d->m.branches[v.branch]++;
	d->m.actions[action][ep]++;

	rec.time = now;
	rec.nas = nas_text;
	rec.client = cl->name;
	if (decoded && s->soh.has_ssoh && nap_ssoh_has(&s->soh.ssoh, NAP_SSOH_MACHINE_NAME)) {
		rec.machine = s->soh.ssoh.machine_name;
		rec.machine_len = s->soh.ssoh.machine_name_len;
	} else if ((mn = nap_radius_find_vsa(req, NAP_RADIUS_VENDOR_MS, NAP_MS_MACHINE_NAME)) !=
		   NULL) {
		rec.machine = mn->value;
		rec.machine_len = mn->len;
	}
	rec.site = v.site;
	rec.result = nap_result_name(v.result);
	rec.branch = nap_branch_name(v.branch);
	rec.exemption = v.branch == NAP_BRANCH_EXEMPT ? v.exemption : NULL;
	rec.action = nap_action_name(action);
	rec.enforcement = nap_enforcement_name(ep);
	rec.hsr_revision = v.hsr != NULL ? v.hsr->revision : 0;
	rec.correlation_id = decoded ? nap_soh_correlation_id(&s->soh) : NULL;
	napvd_spool_append(&d->spool, &rec, &d->m);

	log_debug("engine: NAS %s id %u %s site %s: %s/%s -> %s (%s)", nas_text, req->id,
		  nap_enforcement_name(ep), v.site[0] ? v.site : "-", nap_result_name(v.result),
		  nap_branch_name(v.branch), nap_action_name(action),
		  v.reason != NULL ? v.reason : "");
	return napvd_build_reply(d, cl, req, ep, &v, action, decoded, now, out, out_len);
}
