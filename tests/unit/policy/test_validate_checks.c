// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The check validator (doc/hsr.md "Checks in napvd"): a client that says it is compliant must
 * report PASS for every HSR check in force; branch CHECK_FAILED otherwise, with the failed ids;
 * exemptions naming check ids; the branches that are left alone (non-compliant report, newer
 * revision, checks not yet in force) and the SoHR. The HSRs are signed here with the test key,
 * the SoHs built, encoded and decoded as napvd sees them.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "nap/hsr.h"
#include "nap/util.h"
#include "nap/validate.h"

#define V(name) NAP_HSR_VECTORS "/" name

static const int64_t NOW = 1795600800 + 3600; /* 2026-11-25T11:00:00Z */

/*
 * S05: one policy, checks C-FW and C-FILE in force, C-AV from 2026-11-26; exemptions for the
 * firewall check (fw-*), for both (both-*) and a full one (lab-*). S06: checks only.
 */
static const char doc[] =
	"[{\"version\":1,\"site\":\"S05\",\"revision\":3,\"issued\":\"2026-11-25T10:00:00Z\","
	"\"policies\":[{\"id\":\"P-1\",\"severity\":\"low\",\"effective\":\"asap\"}],"
	"\"checks\":["
	"{\"id\":\"C-FW\",\"type\":\"firewall\",\"severity\":\"critical\",\"effective\":\"asap\"},"
	"{\"id\":\"C-FILE\",\"type\":\"file\",\"path\":\"/etc/nap/ok\",\"severity\":\"low\","
	"\"effective\":\"2026-11-01T00:00:00Z\"},"
	"{\"id\":\"C-AV\",\"type\":\"antivirus\",\"max_age\":86400,\"severity\":\"low\","
	"\"effective\":\"2026-11-26T00:00:00Z\"}],"
	"\"exemptions\":["
	"{\"id\":\"EX-FW\",\"client\":\"fw-*\",\"policies\":[\"C-FW\"]},"
	"{\"id\":\"EX-BOTH\",\"client\":\"both-*\",\"policies\":[\"C-FW\",\"C-FILE\",\"P-1\"]},"
	"{\"id\":\"EX-LAB\",\"client\":\"lab-*\"}]},"
	"{\"version\":1,\"site\":\"S06\",\"revision\":1,\"issued\":\"2026-11-25T10:00:00Z\","
	"\"policies\":[],\"checks\":["
	"{\"id\":\"C-REBOOT\",\"type\":\"reboot\",\"severity\":\"low\",\"effective\":\"asap\"}]}]";

struct fx {
	struct nap_hsr_set *set;
	struct nap_hsr_view view;
	struct nap_validate_config cfg;
	const struct nap_hsr *s05, *s06;
	struct nap_soh built, soh;
	uint8_t *wire;
	struct nap_verdict v;
};

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct nap_keyring *kr;
	struct nap_err err = {0};
	char *signed_doc = NULL;

	assert_non_null(fx);
	if (nap_hsr_sign((const uint8_t *)doc, strlen(doc), V("TEST-ONLY-ed25519-private.pem"),
			 &signed_doc, &err) != 0)
		fail_msg("sign: %s", err.what);
	assert_int_equal(nap_keyring_new(&kr), 0);
	assert_int_equal(nap_keyring_add_file(kr, V("TEST-ONLY-ed25519-public.pem")), 0);
	assert_int_equal(nap_hsr_set_parse((const uint8_t *)signed_doc, strlen(signed_doc), kr,
					   &fx->set, &err),
			 0);
	free(signed_doc);
	nap_keyring_free(kr);
	fx->s05 = nap_hsr_set_find(fx->set, "S05");
	fx->s06 = nap_hsr_set_find(fx->set, "S06");
	assert_non_null(fx->s05);
	assert_non_null(fx->s06);
	fx->view.set = fx->set;
	fx->view.refreshed_at = NOW - 60;
	nap_validate_config_defaults(&fx->cfg);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	nap_hsr_set_free(fx->set);
	free(fx->wire);
	free(fx);
	return 0;
}

/* A compliant report against hsr, generated ten minutes ago, without check results. */
static void
health_for(const struct nap_hsr *hsr, struct nap_health *h)
{
	memset(h, 0, sizeof(*h));
	h->version = NAP_HEALTH_VERSION;
	strcpy(h->site, hsr->site);
	h->hsr_revision = hsr->revision;
	h->has_digest = true;
	memcpy(h->hsr_digest, hsr->digest, NAP_HSR_DIGEST_LEN);
	h->eval_time = NOW - 600;
	h->has_generation_time = true;
	h->generation_time = NOW - 600;
	h->compliant = true;
}

static void
add_check(struct nap_health *h, const char *id, uint8_t status)
{
	h->checks[h->n_checks].status = status;
	strcpy(h->checks[h->n_checks].id, id);
	h->n_checks++;
}

static const uint8_t corr_id[NAP_CORRELATION_ID_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
							 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24};

static const struct nap_soh *
build(struct fx *fx, const struct nap_health *h, const struct nap_wsh *w)
{
	struct nap_err err = {0};
	size_t len;

	nap_soh_init(&fx->built, true, corr_id);
	if (w != NULL)
		assert_int_equal(nap_wsh_add_entry(&fx->built, w), 0);
	assert_int_equal(nap_health_add_entry(&fx->built, h), 0);
	free(fx->wire);
	fx->wire = NULL;
	assert_int_equal(nap_soh_encode_alloc(&fx->built, &fx->wire, &len), 0);
	if (nap_soh_decode(fx->wire, len, &fx->soh, &err) != 0)
		fail_msg("decode: %s", err.what);
	return &fx->soh;
}

static void
run_at(struct fx *fx, const struct nap_health *h, const char *client, int64_t now)
{
	nap_validate(&fx->cfg, &fx->view, build(fx, h, NULL), NAP_EP_DHCP, now, &fx->v);
	if (client != NULL)
		nap_validate_exempt(&fx->view, client, now, &fx->v);
	assert_non_null(fx->v.reason);
}

static void
run(struct fx *fx, const struct nap_health *h, const char *client)
{
	run_at(fx, h, client, NOW);
}

#define assert_verdict(fx, res, br, comp)                                                     \
	do {                                                                                   \
		if ((fx)->v.result != (res) || (fx)->v.branch != (br) ||                       \
		    (fx)->v.compliant != (comp))                                               \
			fail_msg("line %d: verdict %s/%s/%d (%s), want %s/%s/%d", __LINE__,    \
				 nap_result_name((fx)->v.result),                              \
				 nap_branch_name((fx)->v.branch), (fx)->v.compliant,           \
				 (fx)->v.reason, nap_result_name(res), nap_branch_name(br),    \
				 (comp));                                                      \
	} while (0)

static void
test_pass(void **state)
{
	struct fx *fx = *state;
	struct nap_health h;

	health_for(fx->s05, &h);
	add_check(&h, "C-FILE", NAP_CHECK_PASS);
	add_check(&h, "C-FW", NAP_CHECK_PASS);
	/* Results for checks the HSR does not have, or not yet in force, change nothing. */
	add_check(&h, "C-OLD", NAP_CHECK_FAIL);
	add_check(&h, "C-AV", NAP_CHECK_ERROR);
	run(fx, &h, NULL);
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_MATCHES, true);
	assert_int_equal(fx->v.n_failed_checks, 0);
	assert_int_equal(fx->v.health.n_checks, 4);
}

static void
test_fail_error_missing(void **state)
{
	struct fx *fx = *state;
	struct nap_health h;

	health_for(fx->s05, &h);
	add_check(&h, "C-FW", NAP_CHECK_FAIL);
	add_check(&h, "C-FILE", NAP_CHECK_PASS);
	run(fx, &h, NULL);
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_CHECK_FAILED, false);
	assert_string_equal(fx->v.reason, "client did not pass every HSR check in force");
	assert_int_equal(fx->v.n_failed_checks, 1);
	assert_string_equal(fx->v.failed_checks[0], "C-FW");
	assert_int_equal(fx->v.failure_category, NAP_FAILURE_NONE);
	assert_int_equal(fx->v.instructions, 0);

	/* ERROR counts as FAIL. */
	h.checks[0].status = NAP_CHECK_ERROR;
	run(fx, &h, NULL);
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_CHECK_FAILED, false);
	assert_int_equal(fx->v.n_failed_checks, 1);

	/* Not reported at all: both fail, in the HSR's id order. */
	h.n_checks = 0;
	run(fx, &h, NULL);
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_CHECK_FAILED, false);
	assert_int_equal(fx->v.n_failed_checks, 2);
	assert_string_equal(fx->v.failed_checks[0], "C-FILE");
	assert_string_equal(fx->v.failed_checks[1], "C-FW");

	/* Once C-AV is in force it must be reported too (validity period off for the clock). */
	fx->cfg.validity_period = 0;
	fx->cfg.hsr_max_age = 0;
	add_check(&h, "C-FILE", NAP_CHECK_PASS);
	add_check(&h, "C-FW", NAP_CHECK_PASS);
	run_at(fx, &h, NULL, NOW + 86400);
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_CHECK_FAILED, false);
	assert_int_equal(fx->v.n_failed_checks, 1);
	assert_string_equal(fx->v.failed_checks[0], "C-AV");
	add_check(&h, "C-AV", NAP_CHECK_PASS);
	run_at(fx, &h, NULL, NOW + 86400);
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_MATCHES, true);
}

static void
test_left_alone(void **state)
{
	struct fx *fx = *state;
	struct nap_health h;

	/* The client's own "non-compliant" stands, branch matches (its missing ids say why). */
	health_for(fx->s05, &h);
	h.compliant = false;
	strcpy(h.missing[0], "C-FW");
	h.n_missing = 1;
	add_check(&h, "C-FW", NAP_CHECK_FAIL);
	run(fx, &h, NULL);
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_MATCHES, false);
	assert_int_equal(fx->v.n_failed_checks, 0);

	/* A newer revision: napvd does not know its checks; the client's verdict stands. */
	health_for(fx->s05, &h);
	h.hsr_revision = 4;
	memset(h.hsr_digest, 0x11, sizeof(h.hsr_digest));
	run(fx, &h, NULL);
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_NEWER, true);

	/* An older revision with a different digest: out of date, as before. */
	h.hsr_revision = 2;
	run(fx, &h, NULL);
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_OUT_OF_DATE, false);

	/* An older revision with the same digest (same policies and checks) is held to them. */
	health_for(fx->s05, &h);
	h.hsr_revision = 2;
	run(fx, &h, NULL);
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_CHECK_FAILED, false);
}

static void
test_checks_only_site(void **state)
{
	struct fx *fx = *state;
	struct nap_health h;

	/* No policies but a check: not "no_policies" (which would pass everyone). */
	health_for(fx->s06, &h);
	run(fx, &h, NULL);
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_CHECK_FAILED, false);
	assert_string_equal(fx->v.failed_checks[0], "C-REBOOT");
	add_check(&h, "C-REBOOT", NAP_CHECK_PASS);
	run(fx, &h, NULL);
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_MATCHES, true);
}

static void
test_exemptions(void **state)
{
	struct fx *fx = *state;
	struct nap_health h;

	health_for(fx->s05, &h);
	add_check(&h, "C-FW", NAP_CHECK_FAIL);
	add_check(&h, "C-FILE", NAP_CHECK_PASS);
	run(fx, &h, "pc-1");
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_CHECK_FAILED, false);
	assert_null(fx->v.exemption);
	/* An exemption naming the failed check id. */
	run(fx, &h, "fw-1");
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_EXEMPT, true);
	assert_string_equal(fx->v.exemption, "EX-FW");
	assert_string_equal(fx->v.reason, "failed checks covered by exemptions");
	/* It does not cover a second failed check; an exemption naming both does. */
	h.checks[1].status = NAP_CHECK_ERROR;
	run(fx, &h, "fw-1");
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_CHECK_FAILED, false);
	run(fx, &h, "both-1");
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_EXEMPT, true);
	assert_string_equal(fx->v.exemption, "EX-BOTH");
	/* A full exemption covers anything. */
	run(fx, &h, "lab-1");
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_EXEMPT, true);
	assert_string_equal(fx->v.reason, "client exempt");

	/* The agent's own report may list failed check ids as missing: covered the same way. */
	health_for(fx->s05, &h);
	h.compliant = false;
	strcpy(h.missing[0], "C-FW");
	h.n_missing = 1;
	run(fx, &h, "fw-1");
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_EXEMPT, true);
	assert_string_equal(fx->v.reason, "missing updates covered by exemptions");
}

static void
test_wsh_and_sohr(void **state)
{
	struct fx *fx = *state;
	struct nap_health h;
	struct nap_wsh w;
	struct nap_soh sohr, dec;
	struct nap_health_response resp;
	struct nap_err err = {0};
	uint8_t *wire;
	size_t len;

	/* A failed MS-WSH check behind a failed HSR check: the branch stays, no scoped exemption. */
	memset(&w, 0, sizeof(w));
	w.has_flag = w.has_version = true;
	w.client_version = 0x00060001;
	for (int i = 0; i < NAP_WSH_CLASSES; i++)
		w.cls[i].present = true;
	w.cls[NAP_WSH_FIREWALL].status = 0; /* off */
	w.cls[NAP_WSH_ANTIVIRUS].status = NAP_WSH_STATUS_ENABLED | NAP_WSH_STATUS_UPTODATE;
	w.cls[NAP_WSH_ANTISPYWARE].status = NAP_WSH_STATUS_ENABLED | NAP_WSH_STATUS_UPTODATE;
	w.cls[NAP_WSH_AUTO_UPDATES].status = 4;
	w.cls[NAP_WSH_SECURITY_UPDATES].status = NAP_WSH_S_NO_MISSING_UPDATES;
	fx->cfg.wsh_checks[NAP_EP_DHCP] = NAP_WSH_CHECK_FIREWALL;
	health_for(fx->s05, &h);
	add_check(&h, "C-FW", NAP_CHECK_FAIL);
	add_check(&h, "C-FILE", NAP_CHECK_PASS);
	nap_validate(&fx->cfg, &fx->view, build(fx, &h, &w), NAP_EP_DHCP, NOW, &fx->v);
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_CHECK_FAILED, false);
	assert_true(fx->v.wsh_failed);
	nap_validate_exempt(&fx->view, "fw-1", NOW, &fx->v);
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_CHECK_FAILED, false);
	nap_validate_exempt(&fx->view, "lab-1", NOW, &fx->v);
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_EXEMPT, true);

	/* The SoHR names the branch (14) and the non-compliant code. */
	nap_validate(&fx->cfg, &fx->view, build(fx, &h, &w), NAP_EP_DHCP, NOW, &fx->v);
	assert_int_equal(nap_sohr_build(&fx->soh, &fx->v, NAP_ACTION_RESTRICTED, 0, &sohr), 0);
	assert_int_equal(nap_soh_encode_alloc(&sohr, &wire, &len), 0);
	assert_int_equal(nap_soh_decode(wire, len, &dec, &err), 0);
	assert_int_equal(nap_health_response_decode(&dec, nap_soh_find_entry(&dec, NAP_SHID_NAP),
						    &resp, &err),
			 0);
	assert_int_equal(resp.branch, 14);
	assert_int_equal(resp.branch, NAP_BRANCH_CHECK_FAILED);
	assert_int_equal(resp.result, NAP_RESULT_NONCOMPLIANT);
	assert_int_equal(resp.compliance_code, NAP_COMPLIANCE_E_NONCOMPLIANT);
	free(wire);
	assert_string_equal(nap_branch_name(NAP_BRANCH_CHECK_FAILED), "check_failed");
	assert_int_equal(NAP_BRANCH_EXEMPT, 13);
}

/* More checks in force than an SoH can carry results for. */
static void
test_many_checks(void **state)
{
	json_t *j = json_pack("{s:i, s:s, s:i, s:s, s:[], s:[], s:[{s:s, s:s}]}", "version", 1,
			      "site", "S07", "revision", 1, "issued", "2026-11-25T10:00:00Z",
			      "policies", "checks", "exemptions", "id", "EX-ALL-CHECKS", "client",
			      "pc-*");
	json_t *ex_pol = json_array();
	struct nap_hsr_set *set;
	struct nap_hsr_view view;
	struct nap_validate_config cfg;
	struct nap_err err = {0};
	struct nap_health h;
	struct fx *fx = *state;
	char *text, *signed_doc = NULL;

	for (int i = 0; i < 40; i++) {
		char id[16];

		snprintf(id, sizeof(id), "C-%02d", i);
		json_array_append_new(json_object_get(j, "checks"),
				      json_pack("{s:s, s:s, s:s, s:s}", "id", id, "type", "reboot",
						"severity", "low", "effective", "asap"));
		json_array_append_new(ex_pol, json_string(id));
	}
	json_object_set_new(json_array_get(json_object_get(j, "exemptions"), 0), "policies",
			    ex_pol);
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	assert_int_equal(nap_hsr_sign((const uint8_t *)text, strlen(text),
				      V("TEST-ONLY-ed25519-private.pem"), &signed_doc, &err),
			 0);
	free(text);
	assert_int_equal(nap_hsr_set_parse((const uint8_t *)signed_doc, strlen(signed_doc), NULL,
					   &set, &err),
			 0);
	free(signed_doc);
	view.set = set;
	view.refreshed_at = NOW;
	nap_validate_config_defaults(&cfg);
	health_for(&set->v[0], &h);
	for (int i = 0; i < NAP_HEALTH_MAX_CHECKS; i++) {
		char id[16];

		snprintf(id, sizeof(id), "C-%02d", i);
		add_check(&h, id, NAP_CHECK_PASS);
	}
	nap_validate(&cfg, &view, build(fx, &h, NULL), NAP_EP_DHCP, NOW, &fx->v);
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_CHECK_FAILED, false);
	assert_int_equal(fx->v.n_failed_checks, 8);
	assert_string_equal(fx->v.failed_checks[0], "C-32");
	nap_validate_exempt(&view, "pc-1", NOW, &fx->v);
	assert_verdict(fx, NAP_RESULT_COMPLIANT, NAP_BRANCH_EXEMPT, true);

	/* 40 failed: more ids than the verdict keeps; a scoped exemption cannot vouch for them. */
	h.n_checks = 0;
	nap_validate(&cfg, &view, build(fx, &h, NULL), NAP_EP_DHCP, NOW, &fx->v);
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_CHECK_FAILED, false);
	assert_int_equal(fx->v.n_failed_checks, 40);
	assert_string_equal(fx->v.failed_checks[31], "C-31");
	nap_validate_exempt(&view, "pc-1", NOW, &fx->v);
	assert_verdict(fx, NAP_RESULT_NONCOMPLIANT, NAP_BRANCH_CHECK_FAILED, false);
	nap_hsr_set_free(set);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_pass),		  T(test_fail_error_missing), T(test_left_alone),
		T(test_checks_only_site), T(test_exemptions),	      T(test_wsh_and_sohr),
		T(test_many_checks),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
