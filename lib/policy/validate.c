// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The SHV decision: ConfigMgr's validation order (DESIGN.md §2 step 6, CONFIGMGR-NAP.md §3)
 * over a decoded SoH, the cached HSRs, the configuration and the caller's "now", followed by the
 * MS-WSH checks an enforcement point requires and the five-category mapping. Pure: no I/O, no
 * clock, no allocation. The SoH is untrusted but already decoded; the nap and WSHA entries are
 * decoded here with the codec's own decoders, so a hostile entry ends as "invalid", never as a
 * crash or a compliant verdict.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nap/util.h"
#include "nap/validate.h"

/* Name tables, indexed by the enums. The branch names are Prometheus label values. */
static const char *const result_names[NAP_RESULT_COUNT] = {
	[NAP_RESULT_COMPLIANT] = "compliant",
	[NAP_RESULT_NONCOMPLIANT] = "noncompliant",
	[NAP_RESULT_CLIENT_COMPONENT] = "client_component",
	[NAP_RESULT_CLIENT_COMMUNICATION] = "client_communication",
	[NAP_RESULT_SERVER_COMPONENT] = "server_component",
	[NAP_RESULT_SERVER_COMMUNICATION] = "server_communication",
	[NAP_RESULT_OTHER] = "other",
};

static const char *const branch_names[NAP_BRANCH_COUNT] = {
	[NAP_BRANCH_MATCHES] = "matches",
	[NAP_BRANCH_NEWER] = "newer",
	[NAP_BRANCH_OUT_OF_DATE] = "out_of_date",
	[NAP_BRANCH_EXPIRED_TTL] = "expired_ttl",
	[NAP_BRANCH_EXPIRED_ABSOLUTE] = "expired_absolute",
	[NAP_BRANCH_INVALID] = "invalid",
	[NAP_BRANCH_UNKNOWN_SITE] = "unknown_site",
	[NAP_BRANCH_NO_POLICIES] = "no_policies",
	[NAP_BRANCH_CLIENT_FAILURE] = "client_failure",
	[NAP_BRANCH_SERVER_FAILURE] = "server_failure",
	[NAP_BRANCH_NO_NAP_ENTRY] = "no_nap_entry",
	[NAP_BRANCH_WSH_FAILED] = "wsh_failed",
	[NAP_BRANCH_NO_SOH] = "no_soh",
	[NAP_BRANCH_EXEMPT] = "exempt",
	[NAP_BRANCH_CHECK_FAILED] = "check_failed",
};

static const char *const action_names[NAP_ACTION_COUNT] = {
	[NAP_ACTION_FULL] = "full",
	[NAP_ACTION_RESTRICTED] = "restricted",
	[NAP_ACTION_PROBATION] = "probation",
	[NAP_ACTION_REJECT] = "reject",
};

static const char *const enforcement_names[NAP_EP_COUNT] = {
	[NAP_EP_UNSPECIFIED] = "unspecified",
	[NAP_EP_TS_GATEWAY] = "ts-gateway",
	[NAP_EP_VPN] = "vpn",
	[NAP_EP_DHCP] = "dhcp",
	[NAP_EP_WIRELESS] = "wireless",
	[NAP_EP_HRA] = "hra",
	[NAP_EP_HCAP] = "hcap",
};

/* Failure category reported in the SoHR for each result. */
static const uint8_t result_failure_category[NAP_RESULT_COUNT] = {
	[NAP_RESULT_COMPLIANT] = NAP_FAILURE_NONE,
	[NAP_RESULT_NONCOMPLIANT] = NAP_FAILURE_NONE,
	[NAP_RESULT_CLIENT_COMPONENT] = NAP_FAILURE_CLIENT_COMPONENT,
	[NAP_RESULT_CLIENT_COMMUNICATION] = NAP_FAILURE_CLIENT_COMMUNICATION,
	[NAP_RESULT_SERVER_COMPONENT] = NAP_FAILURE_SERVER_COMPONENT,
	[NAP_RESULT_SERVER_COMMUNICATION] = NAP_FAILURE_SERVER_COMMUNICATION,
	[NAP_RESULT_OTHER] = NAP_FAILURE_OTHER,
};

const char *
nap_result_name(enum nap_result r)
{
	return (unsigned)r < NAP_RESULT_COUNT ? result_names[r] : "unknown";
}

const char *
nap_branch_name(enum nap_branch b)
{
	return (unsigned)b < NAP_BRANCH_COUNT ? branch_names[b] : "unknown";
}

const char *
nap_action_name(enum nap_action a)
{
	return (unsigned)a < NAP_ACTION_COUNT ? action_names[a] : "unknown";
}

const char *
nap_enforcement_name(enum nap_enforcement ep)
{
	return (unsigned)ep < NAP_EP_COUNT ? enforcement_names[ep] : "unknown";
}

int
nap_action_from_name(const char *s, enum nap_action *out)
{
	for (unsigned i = 0; s != NULL && i < NAP_ACTION_COUNT; i++) {
		if (strcmp(s, action_names[i]) == 0) {
			*out = (enum nap_action)i;
			return 0;
		}
	}
	return -EINVAL;
}

int
nap_enforcement_from_name(const char *s, enum nap_enforcement *out)
{
	for (unsigned i = 0; s != NULL && i < NAP_EP_COUNT; i++) {
		if (strcmp(s, enforcement_names[i]) == 0) {
			*out = (enum nap_enforcement)i;
			return 0;
		}
	}
	return -EINVAL;
}

void
nap_validate_config_defaults(struct nap_validate_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->validity_period = NAP_VALIDATE_DEFAULT_VALIDITY;
	cfg->absolute_cutoff = 0;
	cfg->hsr_max_age = NAP_VALIDATE_DEFAULT_HSR_MAX_AGE;
	/* Every failure category maps to non-compliant (ConfigMgr's NPS defaults). */
	for (unsigned i = 0; i < NAP_RESULT_COUNT; i++)
		cfg->maps_compliant[i] = false;
}

/* ---- the nap decision ------------------------------------------------------------------- */

static void
decide(struct nap_verdict *v, enum nap_result result, enum nap_branch branch,
       uint8_t instructions, const char *reason)
{
	v->result = result;
	v->branch = branch;
	v->instructions = instructions;
	v->reason = reason;
}

static bool
known_client_error(const struct nap_validate_config *cfg, uint32_t code)
{
	for (size_t i = 0; i < cfg->n_known_client_errors; i++) {
		if (cfg->known_client_errors[i] == code)
			return true;
	}
	return false;
}

/*
 * Step 5b: a client that says it is compliant with the HSR napvd has (same digest, so the same
 * checks) must report PASS for every check in force; a check it does not report, or reports
 * as FAIL or ERROR, makes it non-compliant.
 */
static void
validate_checks(const struct nap_hsr *hsr, const struct nap_health *h, int64_t now,
		struct nap_verdict *v)
{
	size_t failed = 0;

	for (size_t i = 0; i < hsr->n_checks; i++) {
		const struct nap_hsr_check *c = &hsr->checks[i];
		bool pass = false;

		if (c->effective > now)
			continue;
		for (uint16_t k = 0; k < h->n_checks && k < NAP_HEALTH_MAX_CHECKS; k++) {
			if (strcmp(h->checks[k].id, c->id) == 0) {
				pass = h->checks[k].status == NAP_CHECK_PASS;
				break;
			}
		}
		if (pass)
			continue;
		if (failed < NAP_HEALTH_MAX_CHECKS)
			memcpy(v->failed_checks[failed], c->id, strlen(c->id) + 1);
		failed++;
	}
	if (failed == 0)
		return;
	v->n_failed_checks = (uint16_t)(failed < UINT16_MAX ? failed : UINT16_MAX);
	decide(v, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_CHECK_FAILED, 0,
	       "client did not pass every HSR check in force");
}

/* Steps 1-5: the nap entry against the HSR cache. */
static void
validate_nap(const struct nap_validate_config *cfg, const struct nap_hsr_view *view,
	     const struct nap_soh *soh, int64_t now, struct nap_verdict *v)
{
	const struct nap_soh_entry *e = nap_soh_find_entry(soh, NAP_SHID_NAP);
	const struct nap_health *h = &v->health;
	const struct nap_hsr *hsr;
	struct nap_err err = {0};
	bool same_digest;
	int64_t t;

	/* 1. Decode. */
	if (e == NULL) {
		decide(v, NAP_RESULT_OTHER, NAP_BRANCH_NO_NAP_ENTRY, 0, "no nap entry in the SoH");
		return;
	}
	if (nap_health_decode(soh, e, &v->health, &err) < 0) {
		memset(&v->health, 0, sizeof(v->health));
		decide(v, NAP_RESULT_OTHER, NAP_BRANCH_INVALID, 0, "nap entry badly framed");
		return;
	}
	v->has_health = true;
	v->client_revision = h->hsr_revision;
	if (h->malformed_items || !nap_site_valid(h->site)) {
		decide(v, NAP_RESULT_OTHER, NAP_BRANCH_INVALID, 0, "nap entry has malformed items");
		return;
	}
	memcpy(v->site, h->site, sizeof(v->site));

	/* 2. A failure the client reports. */
	switch (h->failure_category) {
	case NAP_FAILURE_NONE:
		break;
	case NAP_FAILURE_CLIENT_COMPONENT:
	case NAP_FAILURE_CLIENT_COMMUNICATION:
		if (!known_client_error(cfg, h->error_code)) {
			decide(v, NAP_RESULT_OTHER, NAP_BRANCH_INVALID, 0,
			       "client failure with an unknown error code");
			return;
		}
		decide(v,
		       h->failure_category == NAP_FAILURE_CLIENT_COMPONENT
			       ? NAP_RESULT_CLIENT_COMPONENT
			       : NAP_RESULT_CLIENT_COMMUNICATION,
		       NAP_BRANCH_CLIENT_FAILURE, 0, "client reported a failure");
		return;
	case NAP_FAILURE_OTHER:
		decide(v, NAP_RESULT_OTHER, NAP_BRANCH_CLIENT_FAILURE, 0,
		       "client reported an unspecified failure");
		return;
	default:
		/* A client cannot know about server failures: forged or corrupt. */
		decide(v, NAP_RESULT_OTHER, NAP_BRANCH_INVALID, 0,
		       "client reported a server failure category");
		return;
	}

	/* 3. Time. */
	t = h->has_generation_time ? h->generation_time : h->eval_time;
	if (t > now && (uint64_t)t - (uint64_t)now > NAP_VALIDATE_MAX_CLOCK_SKEW) {
		decide(v, NAP_RESULT_OTHER, NAP_BRANCH_INVALID, 0, "SoH created in the future");
		return;
	}
	if (cfg->absolute_cutoff != 0 && t < cfg->absolute_cutoff) {
		decide(v, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_EXPIRED_ABSOLUTE,
		       NAP_INSTRUCT_REEVALUATE, "SoH created before the absolute cut-off");
		return;
	}
	if (cfg->validity_period > 0 && now > t &&
	    (uint64_t)now - (uint64_t)t > (uint64_t)cfg->validity_period) {
		decide(v, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_EXPIRED_TTL, NAP_INSTRUCT_REEVALUATE,
		       "SoH older than the validity period");
		return;
	}

	/* 4. HSR lookup. No cache at all is an internal error; an empty or stale one is not. */
	if (view == NULL) {
		decide(v, NAP_RESULT_SERVER_COMPONENT, NAP_BRANCH_SERVER_FAILURE, 0,
		       "no HSR cache");
		return;
	}
	if (view->set == NULL ||
	    (cfg->hsr_max_age > 0 && now - view->refreshed_at > cfg->hsr_max_age)) {
		decide(v, NAP_RESULT_SERVER_COMMUNICATION, NAP_BRANCH_SERVER_FAILURE, 0,
		       "HSR could not be retrieved");
		return;
	}
	hsr = nap_hsr_set_find(view->set, h->site);
	if (hsr == NULL) {
		decide(v, NAP_RESULT_OTHER, NAP_BRANCH_UNKNOWN_SITE, 0, "no HSR for the site");
		return;
	}
	v->hsr = hsr;
	/* Nothing is required: every client of the site is compliant (a documented decision). */
	if (hsr->n_policies == 0 && hsr->n_checks == 0) {
		decide(v, NAP_RESULT_COMPLIANT, NAP_BRANCH_NO_POLICIES, 0, "HSR holds no policies");
		return;
	}

	/*
	 * 5. Compare with the HSR. Only the digest covers the policies: a client that evaluated an
	 * older revision with the same digest evaluated the same policies (the newer revision
	 * changed exemptions or groups only), so it matches instead of being sent to refresh.
	 */
	same_digest =
		h->has_digest && nap_consttime_eq(h->hsr_digest, hsr->digest, NAP_HSR_DIGEST_LEN);
	if (h->hsr_revision < hsr->revision && !same_digest) {
		decide(v, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_OUT_OF_DATE,
		       NAP_INSTRUCT_REFRESH_POLICY, "client evaluated an older HSR");
		return;
	}
	if (h->hsr_revision == hsr->revision && !same_digest) {
		decide(v, NAP_RESULT_OTHER, NAP_BRANCH_INVALID, 0,
		       "HSR digest does not match its revision");
		return;
	}
	/* The client's own verdict stands; a "compliant" client listing missing updates is not. */
	if (h->compliant && h->n_missing == 0)
		v->result = NAP_RESULT_COMPLIANT;
	else
		v->result = NAP_RESULT_NONCOMPLIANT;
	if (h->hsr_revision <= hsr->revision) {
		v->branch = NAP_BRANCH_MATCHES;
		v->reason = v->result == NAP_RESULT_COMPLIANT ? "client compliant with the HSR"
							      : "client reports missing updates";
		if (v->result == NAP_RESULT_COMPLIANT)
			validate_checks(hsr, h, now, v);
	} else {
		v->branch = NAP_BRANCH_NEWER;
		v->reason = v->result == NAP_RESULT_COMPLIANT
				    ? "client compliant with a newer HSR"
				    : "client reports missing updates (newer HSR)";
	}
}

/* ---- MS-WSH ----------------------------------------------------------------------------- */

struct wsh_rule {
	unsigned check;          /* NAP_WSH_CHECK_* */
	enum nap_wsh_class cls;
	bool has_code2;
};

static const struct wsh_rule wsh_rules[] = {
	{NAP_WSH_CHECK_FIREWALL, NAP_WSH_FIREWALL, false},
	{NAP_WSH_CHECK_ANTIVIRUS, NAP_WSH_ANTIVIRUS, true},
	{NAP_WSH_CHECK_ANTISPYWARE, NAP_WSH_ANTISPYWARE, true},
	{NAP_WSH_CHECK_AUTO_UPDATES, NAP_WSH_AUTO_UPDATES, false},
	{NAP_WSH_CHECK_SECURITY_UPDATES, NAP_WSH_SECURITY_UPDATES, true},
};

#define WSH_AU_POLICY_BIT   0x100u /* automatic-updates setting made by policy */
#define WSH_AU_DISABLED     1u
#define WSH_AU_CHECK_ONLY   2u
#define WSH_AU_INSTALL      4u

/*
 * One health class against the WSHV rules (WSH 2.2.9, 2.2.13, 2.2.14). Returns true when the
 * class passes; fills ComplianceCode1/2 and, for a client-reported error, the failure category.
 */
static bool
wsh_check_class(const struct nap_wsh_class_report *c, const struct wsh_rule *rule,
		struct nap_wshv_class_result *out)
{
	uint32_t s = c->status;

	out->present = true;
	out->code1 = 0;
	out->has_code2 = rule->has_code2;
	out->code2 = 0;
	if (!c->present) {
		out->code1 = NAP_WSH_E_PRODUCT_NOT_INSTALLED;
		return false;
	}
	if (nap_wsh_status_is_error(s)) {
		/* The client could not tell: pass its error code on (WSH 2.2.13). */
		out->code1 = s;
		out->has_failure = true;
		out->failure_category = NAP_FAILURE_CLIENT_COMPONENT;
		return false;
	}
	switch (rule->cls) {
	case NAP_WSH_FIREWALL:
		if (!(s & NAP_WSH_STATUS_ENABLED))
			out->code1 = NAP_WSH_E_PRODUCT_NOT_ENABLED;
		break;
	case NAP_WSH_ANTIVIRUS:
	case NAP_WSH_ANTISPYWARE:
		if (!(s & NAP_WSH_STATUS_ENABLED))
			out->code1 = NAP_WSH_E_PRODUCT_NOT_ENABLED;
		if (!(s & NAP_WSH_STATUS_UPTODATE))
			out->code2 = NAP_WSH_E_PRODUCT_NOT_UPTODATE;
		break;
	case NAP_WSH_AUTO_UPDATES: {
		uint32_t mode = s & ~WSH_AU_POLICY_BIT;

		/* 2 check only, 3 download, 4 download and install; 1 disabled, 5 not set. */
		if (mode < WSH_AU_CHECK_ONLY || mode > WSH_AU_INSTALL)
			out->code1 = NAP_WSH_E_PRODUCT_NOT_ENABLED;
		break;
	}
	case NAP_WSH_SECURITY_UPDATES:
		if (s == NAP_WSH_S_MISSING_UPDATES)
			out->code1 = NAP_WSH_E_SYNC_AND_INSTALL;
		else if (s != NAP_WSH_S_NO_MISSING_UPDATES)
			out->code1 = NAP_WSH_E_SYNC_AND_INSTALL; /* not a status this class has */
		break;
	}
	return out->code1 == 0 && out->code2 == 0;
}

/* Step 6. Returns true when every required check passes (or none is required). */
static bool
validate_wsh(unsigned checks, const struct nap_soh *soh, struct nap_verdict *v,
	     const char **reason)
{
	const struct nap_soh_entry *e = nap_soh_find_entry(soh, NAP_SHID_WSH);
	struct nap_err err = {0};
	struct nap_wsh w;
	bool ok = true;

	if (e == NULL) {
		*reason = "MS-WSH checks required but no MS-WSH entry";
		return false;
	}
	if (nap_wsh_decode(soh, e, &w, &err) < 0) {
		*reason = "MS-WSH entry malformed";
		return false;
	}
	v->has_wshv = true;
	for (size_t i = 0; i < NAP_ARRAY_SIZE(wsh_rules); i++) {
		const struct wsh_rule *rule = &wsh_rules[i];

		if (!(checks & rule->check))
			continue;
		if (!wsh_check_class(&w.cls[rule->cls], rule, &v->wshv.cls[rule->cls]) && ok) {
			ok = false;
			*reason = rule->cls == NAP_WSH_FIREWALL	      ? "MS-WSH: firewall check failed"
				  : rule->cls == NAP_WSH_ANTIVIRUS    ? "MS-WSH: antivirus check failed"
				  : rule->cls == NAP_WSH_ANTISPYWARE  ? "MS-WSH: antispyware check failed"
				  : rule->cls == NAP_WSH_AUTO_UPDATES ? "MS-WSH: automatic updates check failed"
								      : "MS-WSH: security updates missing";
		}
	}
	return ok;
}

static bool
maps_compliant(const struct nap_validate_config *cfg, enum nap_result r)
{
	if (r == NAP_RESULT_COMPLIANT)
		return true;
	if (r == NAP_RESULT_NONCOMPLIANT || (unsigned)r >= NAP_RESULT_COUNT)
		return false;
	return cfg->maps_compliant[r];
}

void
nap_validate(const struct nap_validate_config *cfg, const struct nap_hsr_view *hsr,
	     const struct nap_soh *soh, enum nap_enforcement ep, int64_t now,
	     struct nap_verdict *out)
{
	unsigned checks = (unsigned)ep < NAP_EP_COUNT ? cfg->wsh_checks[ep] : 0;

	memset(out, 0, sizeof(*out));
	out->failure_category = NAP_FAILURE_NONE;
	/* 0. NAP-incapable client: napvd applies its "noncapable" action. */
	if (soh == NULL) {
		decide(out, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_NO_SOH, 0, "no SoH in the request");
		out->compliant = false;
		return;
	}
	validate_nap(cfg, hsr, soh, now, out);
	/* 7. The five-category mapping. */
	out->compliant = maps_compliant(cfg, out->result);
	/* 6. MS-WSH, when the enforcement point asks for it; it can only make things worse. */
	if (checks != 0) {
		const char *reason = NULL;

		out->wsh_failed = !validate_wsh(checks, soh, out, &reason);
		if (out->wsh_failed && out->compliant) {
			decide(out, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_WSH_FAILED, 0, reason);
			out->compliant = false;
		}
	}
	out->failure_category = result_failure_category[out->result];
}

/* ---- exemptions ------------------------------------------------------------------------- */

/* Branches an exemption can never turn: forged or corrupt data, and a cache napvd cannot use. */
static bool
exemptable(const struct nap_verdict *v)
{
	switch (v->branch) {
	case NAP_BRANCH_INVALID:
	case NAP_BRANCH_SERVER_FAILURE:
	case NAP_BRANCH_EXEMPT:
		return false;
	default:
		return !v->compliant;
	}
}

/* The exemption with this id (exemptions are sorted by id), for the reason text. */
static int
exemption_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct nap_hsr_exemption *)elem)->id);
}

void
nap_validate_exempt(const struct nap_hsr_view *view, const char *client, int64_t now,
		    struct nap_verdict *v)
{
	const struct nap_hsr_exemption *e;
	const struct nap_hsr *hsr;
	const char *id = NULL;
	bool exempt = false;

	if (view == NULL || view->set == NULL || client == NULL || client[0] == '\0' ||
	    !exemptable(v))
		return;
	hsr = v->hsr != NULL ? v->hsr : nap_hsr_set_find(view->set, v->site);
	if (hsr != NULL) {
		/*
		 * Missing ids count only when they are the whole reason: the client's own report,
		 * and no MS-WSH check failed behind it. Otherwise only a full exemption helps.
		 */
		bool own = v->has_health && !v->wsh_failed && v->result == NAP_RESULT_NONCOMPLIANT &&
			   (v->branch == NAP_BRANCH_MATCHES || v->branch == NAP_BRANCH_NEWER);

		if (own) {
			exempt = nap_hsr_exempt(hsr, client, v->health.missing,
						v->health.n_missing, now, &id);
		} else if (v->branch == NAP_BRANCH_CHECK_FAILED && !v->wsh_failed &&
			   v->n_failed_checks <= NAP_HEALTH_MAX_CHECKS) {
			/* A compliant report but for HSR checks: exemptions may cover them. */
			exempt = nap_hsr_exempt(hsr, client,
						(const char(*)[NAP_UPDATE_ID_MAX + 1])v->failed_checks,
						v->n_failed_checks, now, &id);
		} else {
			exempt = nap_hsr_exempt(hsr, client, NULL, 0, now, &id);
		}
	} else {
		/* No site to go by: a full exemption for the client in any HSR napvd trusts. */
		for (size_t i = 0; i < view->set->n && !exempt; i++) {
			hsr = &view->set->v[i];
			exempt = nap_hsr_exempt(hsr, client, NULL, 0, now, &id);
		}
	}
	if (!exempt)
		return;
	e = bsearch(id, hsr->exemptions, hsr->n_exemptions, sizeof(*hsr->exemptions),
		    exemption_cmp);
	if (e == NULL || e->n_policies == 0)
		v->reason = "client exempt";
	else if (v->branch == NAP_BRANCH_CHECK_FAILED)
		v->reason = "failed checks covered by exemptions";
	else
		v->reason = "missing updates covered by exemptions";
	v->result = NAP_RESULT_COMPLIANT;
	v->branch = NAP_BRANCH_EXEMPT;
	v->compliant = true;
	v->failure_category = NAP_FAILURE_NONE;
	v->exemption = id;
}
