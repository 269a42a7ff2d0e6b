// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The evaluation: every required update of the site's HSR against the installed packages
 * (nap_pkgver_cmp: dpkg or rpm semantics), the HSR's checks through the collectors, the
 * effective dates, and the result the SoH and the state report carry. Requirements in the other
 * package scheme than the machine's backend do not apply (a cross-distribution advisory names
 * both). Whatever cannot be evaluated becomes a failure category with an error code, never a
 * silent "compliant".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "nap/pkgver.h"
#include "nap/util.h"

static const char *const agent_state_names[] = {
	[AGENT_STATE_UNRESTRICTED] = "unrestricted",
	[AGENT_STATE_DEFERRED] = "deferred",
	[AGENT_STATE_RESTRICTED] = "restricted",
};

const char *
agent_state_name(enum agent_state s)
{
	if ((size_t)s < NAP_ARRAY_SIZE(agent_state_names) && agent_state_names[s] != NULL)
		return agent_state_names[s];
	return "unknown";
}

const char *
agent_policy_status_name(enum agent_policy_status s)
{
	switch (s) {
	case AGENT_POLICY_OK:
		return "ok";
	case AGENT_POLICY_MISSING:
		return "not_installed";
	case AGENT_POLICY_OUTDATED:
		return "outdated";
	case AGENT_POLICY_ERROR:
		return "error";
	}
	return "unknown";
}

void
agent_eval_free(struct agent_eval *e)
{
	if (e == NULL)
		return;
	free(e->findings);
	free(e->checks);
	free(e->check_deferred);
	agent_policy_clear(&e->policy);
	memset(e, 0, sizeof(*e));
}

static int64_t
eval_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The first failure wins: it is what the SoH carries. */
static void
eval_fail(struct agent_eval *e, uint8_t category, uint32_t code, const char *what)
{
	if (e->failure_category != NAP_FAILURE_NONE)
		return;
	e->failure_category = category;
	e->error_code = code;
	snprintf(e->failure, sizeof(e->failure), "%s", what);
}

/*
 * One requirement: 0 satisfied, else the status, with the installed version that failed (the
 * oldest instance when the package is installed for several architectures).
 */
static enum agent_policy_status
eval_req(const struct agent_pkgdb *db, const struct nap_hsr_req *req, char *installed,
	 size_t ilen, int *cmp_err)
{
	const struct agent_pkg *p = agent_pkgdb_find(db, req->package);
	enum agent_policy_status st = AGENT_POLICY_OK;

	installed[0] = '\0';
	*cmp_err = 0;
	if (p == NULL)
		return AGENT_POLICY_MISSING;
	for (; p != NULL; p = agent_pkgdb_next(db, p, req->package)) {
		const char *v = agent_pkgdb_str(db, p->version);
		int c = 0, r = nap_pkgver_cmp(req->scheme, v, req->min_version, &c);

		if (r < 0) {
			*cmp_err = r;
			snprintf(installed, ilen, "%s", v);
			return AGENT_POLICY_ERROR;
		}
		if (c < 0 && st == AGENT_POLICY_OK) {
			st = AGENT_POLICY_OUTDATED;
			snprintf(installed, ilen, "%s", v);
		}
	}
	return st;
}

static bool
eval_scheme_applies(const struct agent_conf *c, enum nap_version_scheme s)
{
	return (c->backend == AGENT_BACKEND_RPM) == (s == NAP_SCHEME_RPM);
}

static int
eval_add_finding(struct agent_eval *e, size_t *cap, const struct agent_finding *f)
{
	if (e->n_findings == *cap) {
		size_t nc = *cap != 0 ? *cap * 2 : 16;
		struct agent_finding *nf = realloc(e->findings, nc * sizeof(*nf));

		if (nf == NULL)
			return -ENOMEM;
		e->findings = nf;
		*cap = nc;
	}
	e->findings[e->n_findings++] = *f;
	return 0;
}

static void
eval_policies(const struct agent_conf *c, const struct nap_hsr *hsr,
	      const struct agent_pkgdb *db, int64_t now, struct agent_eval *e)
{
	size_t cap = 0;

	for (size_t i = 0; i < hsr->n_policies; i++) {
		const struct nap_hsr_policy *pol = &hsr->policies[i];
		struct agent_finding f;
		bool applies = false, failed = false;

		memset(&f, 0, sizeof(f));
		for (size_t j = 0; j < pol->n_reqs && !failed; j++) {
			const struct nap_hsr_req *req = &pol->reqs[j];
			int cmp_err = 0;
			enum agent_policy_status st;

			if (!eval_scheme_applies(c, req->scheme))
				continue;
			applies = true;
			e->n_reqs_checked++;
			st = eval_req(db, req, f.installed, sizeof(f.installed), &cmp_err);
			if (st == AGENT_POLICY_OK)
				continue;
			failed = true;
			f.status = st;
			f.package = req->package;
			f.required = req->min_version;
			f.scheme = req->scheme;
			if (st == AGENT_POLICY_ERROR) {
				char what[256];

				snprintf(what, sizeof(what), "policy %s: %s %s vs %s: %s", pol->id,
					 req->package, f.installed, req->min_version,
					 cmp_err == -ENOTSUP ? "version scheme not supported"
							     : "version does not parse");
				eval_fail(e, NAP_FAILURE_CLIENT_COMPONENT,
					  cmp_err == -ENOTSUP ? AGENT_ERR_SCHEME : AGENT_ERR_VERSION,
					  what);
			}
		}
		if (!applies)
			e->n_not_applicable++;
		if (!failed)
			continue;
		snprintf(f.id, sizeof(f.id), "%s", pol->id);
		f.effective = pol->effective;
		f.deferred = pol->effective > now && f.status != AGENT_POLICY_ERROR;
		if (eval_add_finding(e, &cap, &f) < 0) {
			eval_fail(e, NAP_FAILURE_CLIENT_COMPONENT, AGENT_ERR_INTERNAL,
				  "out of memory");
			return;
		}
	}
}

static void
eval_checks(const struct agent_conf *c, const struct nap_hsr *hsr, int64_t now,
	    struct agent_eval *e)
{
	struct agent_collect_env env;

	if (hsr == NULL || hsr->n_checks == 0)
		return;
	e->checks = calloc(hsr->n_checks, sizeof(*e->checks));
	e->check_deferred = calloc(hsr->n_checks, sizeof(*e->check_deferred));
	if (e->checks == NULL || e->check_deferred == NULL) {
		eval_fail(e, NAP_FAILURE_CLIENT_COMPONENT, AGENT_ERR_INTERNAL, "out of memory");
		return;
	}
	agent_collect_env_init(&env, &c->checks, now);
	for (size_t i = 0; i < hsr->n_checks; i++) {
		const struct nap_hsr_check *chk = &hsr->checks[i];
		struct agent_check_result *res = &e->checks[i];

		agent_collect(&env, chk, res);
		/* The id is the HSR's, whatever the collector wrote. */
		snprintf(res->id, sizeof(res->id), "%s", chk->id);
		e->check_deferred[i] = chk->effective > now;
		e->n_checks++;
	}
}

/* The WSHA view: the collectors' probes, the security-updates class from the evaluation. */
static void
eval_wsh(const struct agent_conf *c, int64_t now, struct agent_eval *e)
{
	struct agent_collect_env env;
	bool missing = false;

	agent_collect_env_init(&env, &c->checks, now);
	agent_collect_wsh(&env, &e->wsh);
	for (size_t i = 0; i < e->n_findings; i++)
		if (!e->findings[i].deferred)
			missing = true;
	e->wsh.cls[NAP_WSH_SECURITY_UPDATES].present = true;
	if (!e->has_policy || e->failure_category != NAP_FAILURE_NONE)
		e->wsh.cls[NAP_WSH_SECURITY_UPDATES].status = NAP_WSH_E_WSC_SERVICE_DOWN;
	else
		e->wsh.cls[NAP_WSH_SECURITY_UPDATES].status =
			missing ? NAP_WSH_S_MISSING_UPDATES : NAP_WSH_S_NO_MISSING_UPDATES;
	e->has_wsh = true;
}

void
agent_evaluate(const struct agent_conf *c, const struct nap_hsr *hsr,
	       const struct agent_pkgdb *db, int64_t now, struct agent_eval *e)
{
	bool pending = false, missing = false;

	e->eval_time = now;
	if (hsr != NULL) {
		e->has_policy = true;
		snprintf(e->site, sizeof(e->site), "%s", hsr->site);
		e->revision = hsr->revision;
		memcpy(e->digest, hsr->digest, sizeof(e->digest));
		e->n_policies = hsr->n_policies;
		if (db != NULL) {
			e->n_installed = db->n;
			eval_policies(c, hsr, db, now, e);
		}
		eval_checks(c, hsr, now, e);
		nap_pkgver_release();
	}
	eval_wsh(c, now, e);
	for (size_t i = 0; i < e->n_findings; i++) {
		if (e->findings[i].deferred)
			pending = true;
		else
			missing = true;
	}
	for (size_t i = 0; i < e->n_checks; i++) {
		if (e->checks[i].status == NAP_CHECK_PASS)
			continue;
		if (e->check_deferred[i])
			pending = true;
		else
			missing = true;
	}
	e->compliant = e->has_policy && !missing && e->failure_category == NAP_FAILURE_NONE;
	if (!e->compliant)
		e->state = AGENT_STATE_RESTRICTED;
	else
		e->state = pending ? AGENT_STATE_DEFERRED : AGENT_STATE_UNRESTRICTED;
}

void
agent_eval_once(const struct agent_conf *c, struct agent_eval *e)
{
	struct agent_pkgdb db;
	char err[512];
	int64_t t0 = eval_now_us();
	int64_t now = (int64_t)time(NULL);
	uint8_t cat = NAP_FAILURE_NONE;
	uint32_t code = 0;
	int r;

	memset(e, 0, sizeof(*e));
	memset(&db, 0, sizeof(db));
	r = agent_policy_load(c, &e->policy, &cat, &code, err, sizeof(err));
	if (r < 0) {
		eval_fail(e, cat, code, err);
		agent_evaluate(c, NULL, NULL, now, e);
		e->duration_us = eval_now_us() - t0;
		return;
	}
	r = agent_pkgdb_read(c, &db, err, sizeof(err));
	if (r < 0)
		eval_fail(e, NAP_FAILURE_CLIENT_COMPONENT,
			  r == -ENOTSUP ? AGENT_ERR_SCHEME : AGENT_ERR_PKGDB, err);
	agent_evaluate(c, e->policy.hsr, r < 0 ? NULL : &db, now, e);
	agent_pkgdb_free(&db);
	e->duration_us = eval_now_us() - t0;
}
