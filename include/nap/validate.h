/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The SHV decision: the ConfigMgr validation flow (DESIGN.md §2 step 6, CONFIGMGR-NAP.md §3) as
 * one pure function over a decoded SoH, the cached HSRs, the configuration and the time, plus
 * the table that maps (result x enforcement point) to an action. No I/O, no clock of its own:
 * the caller passes "now", so tests can drive every branch.
 */
#ifndef NAP_VALIDATE_H
#define NAP_VALIDATE_H

#include <stdbool.h>
#include <stdint.h>

#include "nap/health.h"
#include "nap/hsr.h"
#include "nap/soh.h"

/* Outcome of validation before mapping. */
enum nap_result {
	NAP_RESULT_COMPLIANT = 0,
	NAP_RESULT_NONCOMPLIANT = 1,
	NAP_RESULT_CLIENT_COMPONENT = 2,
	NAP_RESULT_CLIENT_COMMUNICATION = 3,
	NAP_RESULT_SERVER_COMPONENT = 4,
	NAP_RESULT_SERVER_COMMUNICATION = 5,
	NAP_RESULT_OTHER = 6, /* unknown / invalid */
	NAP_RESULT_COUNT
};

/* The branch that decided, one counter each (ConfigMgr SHV counters are the model). */
enum nap_branch {
	NAP_BRANCH_MATCHES = 0,      /* same revision (or older, same digest): client's flag stands */
	NAP_BRANCH_NEWER,            /* client revision > cached HSR: client's flag stands */
	NAP_BRANCH_OUT_OF_DATE,      /* client revision < HSR: non-compliant, refresh policy */
	NAP_BRANCH_EXPIRED_TTL,      /* older than the validity period: re-evaluate */
	NAP_BRANCH_EXPIRED_ABSOLUTE, /* created before the absolute cut-off: re-evaluate */
	NAP_BRANCH_INVALID,          /* malformed/forged compliance data, unknown client error code */
	NAP_BRANCH_UNKNOWN_SITE,     /* no HSR cached for the client's site */
	NAP_BRANCH_NO_POLICIES,      /* the site's HSR holds no policies */
	NAP_BRANCH_CLIENT_FAILURE,   /* client component / communication failure, known code */
	NAP_BRANCH_SERVER_FAILURE,   /* HSR unavailable (too old) or internal error */
	NAP_BRANCH_NO_NAP_ENTRY,     /* SoH without the nap entry */
	NAP_BRANCH_WSH_FAILED,       /* an MS-WSH check required by the enforcement point failed */
	NAP_BRANCH_NO_SOH,           /* NAP-incapable client: no SoH in the request */
	NAP_BRANCH_EXEMPT,           /* non-compliant, but an HSR exemption covers the client */
	NAP_BRANCH_CHECK_FAILED,     /* "compliant" client without a PASS for every HSR check in
					force: non-compliant (failed_checks names them) */
	NAP_BRANCH_COUNT
};

/* Enforcement points, indexed from MS-Network-Access-Server-Type. */
enum nap_enforcement {
	NAP_EP_UNSPECIFIED = 0,
	NAP_EP_TS_GATEWAY,
	NAP_EP_VPN,
	NAP_EP_DHCP,
	NAP_EP_WIRELESS,
	NAP_EP_HRA,
	NAP_EP_HCAP,
	NAP_EP_COUNT
};

enum nap_action {
	NAP_ACTION_FULL = 0,
	NAP_ACTION_RESTRICTED,
	NAP_ACTION_PROBATION,
	NAP_ACTION_REJECT,
	NAP_ACTION_COUNT
};

/* MS-WSH checks an enforcement point can require. */
#define NAP_WSH_CHECK_FIREWALL     0x01u
#define NAP_WSH_CHECK_ANTIVIRUS    0x02u
#define NAP_WSH_CHECK_AUTO_UPDATES 0x04u
#define NAP_WSH_CHECK_SECURITY_UPDATES 0x08u
#define NAP_WSH_CHECK_ANTISPYWARE  0x10u

/* An SoH created more than this many seconds after "now" is invalid (clock skew allowance). */
#define NAP_VALIDATE_MAX_CLOCK_SKEW      600
#define NAP_VALIDATE_DEFAULT_VALIDITY    (26 * 3600) /* ConfigMgr's widely quoted default */
#define NAP_VALIDATE_DEFAULT_HSR_MAX_AGE (24 * 3600)
/* Compliance-Result-Codes value of the nap SHV entry when the verdict is non-compliant. */
#define NAP_COMPLIANCE_E_NONCOMPLIANT 0xC07ED901u

struct nap_validate_config {
	int64_t validity_period;   /* seconds; 0 = no TTL check */
	int64_t absolute_cutoff;   /* Unix seconds; 0 = none */
	int64_t hsr_max_age;       /* seconds a cached HSR may be served after the last good
				      refresh; 0 = forever */
	/* Per failure category: does it count as compliant? Index enum nap_result 2..6. */
	bool maps_compliant[NAP_RESULT_COUNT];
	/* Client error codes accepted with a client failure category. */
	const uint32_t *known_client_errors;
	size_t n_known_client_errors;
	/* MS-WSH checks required, per enforcement point (NAP_WSH_CHECK_* bits). */
	unsigned wsh_checks[NAP_EP_COUNT];
};

/* HSR cache as the validator sees it: the set and when it was last refreshed successfully. */
struct nap_hsr_view {
	const struct nap_hsr_set *set; /* NULL when nothing was ever loaded */
	int64_t refreshed_at;          /* Unix seconds of the last successful load */
};

struct nap_verdict {
	enum nap_result result;   /* before mapping */
	enum nap_branch branch;
	bool compliant;           /* after the five-category mapping */
	uint8_t instructions;     /* NAP_INSTRUCT_* for the SoHR */
	uint8_t failure_category; /* NAP_FAILURE_* reported in the SoHR, NONE if none */
	const struct nap_hsr *hsr; /* the site's HSR when found */
	char site[NAP_SITE_MAX + 1];
	uint64_t client_revision;
	struct nap_health health; /* the client's nap entry as decoded */
	bool has_health;
	struct nap_wshv wshv;     /* WSH results when a WSH entry was checked */
	bool has_wshv;
	bool wsh_failed;          /* a required MS-WSH check failed (even if the branch is not
				     WSH_FAILED because the nap part failed first) */
	const char *reason;       /* short static text for logs and status messages */
	const char *exemption;    /* branch EXEMPT: id of the exemption (points into the HSR) */
	/*
	 * Branch CHECK_FAILED: the HSR checks in force the client did not report as PASS (not
	 * reported, FAIL or ERROR), in the HSR's id order; the first NAP_HEALTH_MAX_CHECKS of
	 * n_failed_checks (an SoH carries no more results, so an HSR with more checks in force
	 * fails every client; policy-scoped exemptions then do not apply).
	 */
	uint16_t n_failed_checks;
	char failed_checks[NAP_HEALTH_MAX_CHECKS][NAP_UPDATE_ID_MAX + 1];
};

void nap_validate_config_defaults(struct nap_validate_config *cfg);
/* soh == NULL means the request carried no SoH (NAP-incapable client). */
void nap_validate(const struct nap_validate_config *cfg, const struct nap_hsr_view *hsr,
		  const struct nap_soh *soh, enum nap_enforcement ep, int64_t now,
		  struct nap_verdict *out);

/*
 * Exemptions (doc/hsr.md), applied after nap_validate() with the client's machine name (NULL or
 * "" = unknown: nothing happens). A verdict that is not compliant after the mapping turns into
 * result COMPLIANT, branch EXEMPT when an exemption covers the client, unless its branch is
 * INVALID or SERVER_FAILURE (forged data and a stale cache are never exempted):
 *   - site known (its HSR is in the set): that HSR's exemptions; policy-scoped ones count only
 *     when the client's own report (branch MATCHES or NEWER, no failed MS-WSH check) lists
 *     missing updates and they cover every one of them, or when the only reason is HSR checks
 *     (branch CHECK_FAILED) and they cover every failed check id;
 *   - site unknown, no nap entry, no SoH: a full exemption for the client in any HSR of the set.
 * The instructions (refresh policy, re-evaluate) are kept: an exempt client should still catch up.
 */
void nap_validate_exempt(const struct nap_hsr_view *view, const char *client, int64_t now,
			 struct nap_verdict *v);

const char *nap_result_name(enum nap_result r);
const char *nap_branch_name(enum nap_branch b);
const char *nap_action_name(enum nap_action a);
const char *nap_enforcement_name(enum nap_enforcement ep);
int nap_action_from_name(const char *s, enum nap_action *out);
int nap_enforcement_from_name(const char *s, enum nap_enforcement *out);

/*
 * Build the SoHR for a verdict: echoes the client's correlation id, SSoHR Quarantine-State from
 * the action, the nap SHV entry (result, branch, instructions, the cached HSR revision/digest)
 * and a WSHV entry when WSH was checked.
 */
int nap_sohr_build(const struct nap_soh *request, const struct nap_verdict *v,
		   enum nap_action action, int64_t probation_until, struct nap_soh *sohr);

#endif
