// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The SoH the agent builds, decoded again with libnap (nap_soh_decode, nap_health_decode,
 * nap_wsh_decode): SSoH fields, the nap entry for compliant / non-compliant / failed
 * evaluations, the 4,000-byte limit with 32 missing ids and 32 check results; and the SoHR
 * parser with napvd's own builder (nap_sohr_build), malformed SoHRs and an SoH in its place.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include <cmocka.h>

#include "agent.h"
#include "agent_test.h"
#include "nap/validate.h"

static struct nap_soh soh;
static uint8_t *soh_bytes;

static void
build_decode(const struct agent_conf *c, const struct agent_eval *e, int64_t now,
	     struct nap_health *h, size_t *len_out)
{
	uint8_t *p = NULL, corr[NAP_CORRELATION_ID_LEN];
	const struct nap_soh_entry *ent;
	struct nap_err err = {0};
	size_t n = 0;

	assert_int_equal(agent_soh_build(c, e, now, &p, &n, corr), 0);
	assert_true(n <= NAP_SOH_MAX_LEN);
	if (nap_soh_decode(p, n, &soh, &err) != 0)
		fail_msg("decode: %s at %zu", err.what, err.offset);
	assert_true(nap_soh_is_request(&soh));
	assert_memory_equal(nap_soh_correlation_id(&soh), corr, NAP_CORRELATION_ID_LEN);
	ent = nap_soh_find_entry(&soh, NAP_SHID_NAP);
	assert_non_null(ent);
	assert_int_equal(nap_health_decode(&soh, ent, h, &err), 0);
	assert_false(h->malformed_items);
	*len_out = n;
	/* soh's views point into p: keep it for the caller's checks, freed on the next call. */
	free(soh_bytes);
	soh_bytes = p;
}

static void
test_round_trip(void **state)
{
	struct agent_test *t = agent_test_new();
	struct agent_eval e;
	struct nap_health h;
	size_t n;
	int64_t now;

	(void)state;
	agent_test_write(t->status, "Package: openssl\nStatus: install ok installed\n"
				    "Version: 3.0.11-1\n");
	agent_test_hsr(t, "{\"version\":1,\"site\":\"S07\",\"revision\":42,"
			  "\"issued\":\"2026-11-25T10:00:00Z\",\"policies\":["
			  "{\"id\":\"DSA-1\",\"package\":\"openssl\",\"min_version\":\"3.0.15-1\","
			  "\"severity\":\"critical\",\"effective\":\"asap\"},"
			  "{\"id\":\"DSA-2\",\"package\":\"absent\",\"min_version\":\"1\","
			  "\"severity\":\"critical\",\"effective\":\"asap\"},"
			  "{\"id\":\"DSA-3\",\"package\":\"absent2\",\"min_version\":\"1\","
			  "\"severity\":\"critical\",\"effective\":\"2099-01-01T00:00:00Z\"}]}");
	agent_eval_once(t->conf, &e);
	now = (int64_t)time(NULL);
	build_decode(t->conf, &e, now, &h, &n);
	/* SSoH */
	assert_true(soh.has_ssoh);
	assert_int_equal(soh.ssoh.machine_name_len, 6);
	assert_memory_equal(soh.ssoh.machine_name, "pc-17", 6);
	assert_true(nap_ssoh_has(&soh.ssoh, NAP_SSOH_MACHINE_INVENTORY));
	assert_true(soh.ssoh.os_major >= 2); /* the running kernel */
	assert_int_equal(soh.ssoh.product_type, NAP_PRODUCT_CLIENT);
	assert_int_equal(soh.ssoh.qs_flags, NAP_ISOLATION_RESTRICTED);
	/* nap entry */
	assert_string_equal(h.site, "S07");
	assert_int_equal(h.hsr_revision, 42);
	assert_true(h.has_digest);
	assert_memory_equal(h.hsr_digest, e.digest, NAP_HSR_DIGEST_LEN);
	assert_int_equal(h.eval_time, e.eval_time);
	assert_int_equal(h.generation_time, now);
	assert_false(h.compliant);
	/* The deferred DSA-3 is not "missing". */
	assert_int_equal(h.n_missing, 2);
	assert_string_equal(h.missing[0], "DSA-1");
	assert_string_equal(h.missing[1], "DSA-2");
	assert_int_equal(h.failure_category, NAP_FAILURE_NONE);
	/* WSHA entry: security updates missing. */
	{
		const struct nap_soh_entry *w = nap_soh_find_entry(&soh, NAP_SHID_WSH);
		struct nap_wsh wsh;
		struct nap_err err = {0};

		assert_non_null(w);
		assert_int_equal(nap_wsh_decode(&soh, w, &wsh, &err), 0);
		assert_true(wsh.cls[NAP_WSH_SECURITY_UPDATES].present);
		assert_int_equal(wsh.cls[NAP_WSH_SECURITY_UPDATES].status,
				 NAP_WSH_S_MISSING_UPDATES);
	}
	agent_eval_free(&e);

	/* A failure: category and code travel, compliant is false. */
	unlink(t->status);
	agent_eval_once(t->conf, &e);
	build_decode(t->conf, &e, now, &h, &n);
	assert_false(h.compliant);
	assert_int_equal(h.failure_category, NAP_FAILURE_CLIENT_COMPONENT);
	assert_int_equal(h.error_code, AGENT_ERR_PKGDB);
	agent_eval_free(&e);

	/* No policy at all: the configured site, else a placeholder, and client communication. */
	unlink(t->hsr);
	agent_eval_once(t->conf, &e);
	build_decode(t->conf, &e, now, &h, &n);
	assert_string_equal(h.site, "unknown");
	assert_int_equal(h.failure_category, NAP_FAILURE_CLIENT_COMMUNICATION);
	assert_int_equal(h.error_code, AGENT_ERR_NO_POLICY);
	t->conf->site = strdup("S07");
	build_decode(t->conf, &e, now, &h, &n);
	assert_string_equal(h.site, "S07");
	agent_eval_free(&e);
	agent_test_free(t);
}

/* 40 missing ids of 63 characters and 40 failing checks: trimmed to fit, still "missing". */
static void
test_size_limit(void **state)
{
	struct agent_test *t = agent_test_new();
	struct agent_eval e;
	struct nap_health h;
	size_t n;

	(void)state;
	memset(&e, 0, sizeof(e));
	e.has_policy = true;
	snprintf(e.site, sizeof(e.site), "S01");
	e.revision = 1;
	e.eval_time = 1764000000;
	e.state = AGENT_STATE_RESTRICTED;
	e.findings = calloc(40, sizeof(*e.findings));
	e.n_findings = 40;
	e.checks = calloc(40, sizeof(*e.checks));
	e.check_deferred = calloc(40, sizeof(*e.check_deferred));
	e.n_checks = 40;
	for (int i = 0; i < 40; i++) {
		snprintf(e.findings[i].id, sizeof(e.findings[i].id), "%02d%061d", i, 0);
		snprintf(e.checks[i].id, sizeof(e.checks[i].id), "C%02d%060d", i, 0);
		e.checks[i].status = NAP_CHECK_FAIL;
	}
	build_decode(t->conf, &e, 1764000000, &h, &n);
	assert_true(n <= NAP_SOH_MAX_LEN);
	assert_false(h.compliant);
	assert_true(h.n_missing >= 1);
	assert_string_equal(h.missing[0], e.findings[0].id);
	agent_eval_free(&e);

	/* Compliant with 32 passing checks in force: everything fits, nothing dropped. */
	memset(&e, 0, sizeof(e));
	e.has_policy = true;
	snprintf(e.site, sizeof(e.site), "S01");
	e.compliant = true;
	e.state = AGENT_STATE_UNRESTRICTED;
	e.checks = calloc(32, sizeof(*e.checks));
	e.check_deferred = calloc(32, sizeof(*e.check_deferred));
	e.n_checks = 32;
	for (int i = 0; i < 32; i++)
		snprintf(e.checks[i].id, sizeof(e.checks[i].id), "C%02d%060d", i, 0);
	build_decode(t->conf, &e, 1764000000, &h, &n);
	assert_true(h.compliant);
	assert_int_equal(h.n_checks, 32);
	assert_int_equal(h.checks[31].status, NAP_CHECK_PASS);
	agent_eval_free(&e);
	agent_test_free(t);
}

static size_t
make_sohr(uint8_t instructions, enum nap_action action, enum nap_result result, uint8_t *out,
	  size_t cap)
{
	struct nap_verdict v;
	struct nap_soh *s = malloc(sizeof(*s));
	uint8_t *p = NULL;
	size_t n = 0;

	memset(&v, 0, sizeof(v));
	v.result = result;
	v.branch = NAP_BRANCH_OUT_OF_DATE;
	v.instructions = instructions;
	assert_int_equal(nap_sohr_build(NULL, &v, action, 0, s), 0);
	assert_int_equal(nap_soh_encode_alloc(s, &p, &n), 0);
	assert_true(n <= cap);
	memcpy(out, p, n);
	free(p);
	free(s);
	return n;
}

static void
test_sohr(void **state)
{
	struct agent_sohr_info info;
	struct agent_sohr_actions act;
	uint8_t buf[NAP_SOH_MAX_LEN];
	char err[256];
	size_t n;

	(void)state;
	n = make_sohr(NAP_INSTRUCT_REFRESH_POLICY, NAP_ACTION_RESTRICTED, NAP_RESULT_NONCOMPLIANT,
		      buf, sizeof(buf));
	assert_int_equal(agent_sohr_parse(buf, n, &info, err, sizeof(err)), 0);
	assert_true(info.has_nap);
	assert_int_equal(info.instructions, NAP_INSTRUCT_REFRESH_POLICY);
	assert_int_equal(info.result, NAP_RESULT_NONCOMPLIANT);
	assert_int_equal(info.branch, NAP_BRANCH_OUT_OF_DATE);
	assert_true(info.has_qstate);
	assert_int_equal(info.quarantine_state, NAP_ISOLATION_RESTRICTED);

	agent_sohr_actions(&info, &act);
	assert_true(act.refresh_policy);
	assert_true(act.reevaluate);
	assert_true(act.restricted);

	n = make_sohr(0, NAP_ACTION_FULL, NAP_RESULT_COMPLIANT, buf, sizeof(buf));
	assert_int_equal(agent_sohr_parse(buf, n, &info, err, sizeof(err)), 0);
	assert_int_equal(info.instructions, 0);
	assert_int_equal(info.quarantine_state, NAP_ISOLATION_NOT_RESTRICTED);
	agent_sohr_actions(&info, &act);
	assert_false(act.refresh_policy);
	assert_false(act.reevaluate);
	assert_false(act.restricted);

	/* "Evaluate now" with full access (an SoH past the validity period, on probation). */
	n = make_sohr(NAP_INSTRUCT_REEVALUATE, NAP_ACTION_PROBATION, NAP_RESULT_NONCOMPLIANT, buf,
		      sizeof(buf));
	assert_int_equal(agent_sohr_parse(buf, n, &info, err, sizeof(err)), 0);
	assert_int_equal(info.quarantine_state, NAP_ISOLATION_IN_PROBATION);
	agent_sohr_actions(&info, &act);
	assert_false(act.refresh_policy);
	assert_true(act.reevaluate);
	assert_false(act.restricted);

	/* Restricted without a nap entry (a plain NPS-style answer): evaluate, count quarantined. */
	memset(&info, 0, sizeof(info));
	info.has_qstate = true;
	info.quarantine_state = NAP_ISOLATION_RESTRICTED;
	agent_sohr_actions(&info, &act);
	assert_true(act.reevaluate);
	assert_true(act.restricted);
	assert_false(act.refresh_policy);

	/* Every truncation is refused, never a crash. */
	n = make_sohr(NAP_INSTRUCT_REEVALUATE, NAP_ACTION_RESTRICTED, NAP_RESULT_NONCOMPLIANT, buf,
		      sizeof(buf));
	for (size_t i = 0; i < n; i++)
		assert_true(agent_sohr_parse(buf, i, &info, err, sizeof(err)) < 0);
	/* Bytes flipped: either refused or parsed, never a crash (ASan watches). */
	for (size_t i = 0; i < n; i++) {
		buf[i] ^= 0xff;
		(void)agent_sohr_parse(buf, n, &info, err, sizeof(err));
		buf[i] ^= 0xff;
	}
	/* An SoH (request) where an SoHR belongs. */
	{
		struct agent_test *t = agent_test_new();
		struct agent_eval e;
		uint8_t *p = NULL, corr[NAP_CORRELATION_ID_LEN];

		agent_eval_once(t->conf, &e);
		assert_int_equal(agent_soh_build(t->conf, &e, 1764000000, &p, &n, corr), 0);
		assert_int_equal(agent_sohr_parse(p, n, &info, err, sizeof(err)), -EBADMSG);
		assert_non_null(strstr(err, "SoH request"));
		free(p);
		agent_eval_free(&e);
		agent_test_free(t);
	}
}

static void
test_json(void **state)
{
	struct agent_test *t = agent_test_new();
	struct agent_eval e;
	char *j, *b;

	(void)state;
	agent_test_write(t->status, "Package: openssl\nStatus: install ok installed\n"
				    "Version: 3.0.11-1\n");
	agent_test_hsr(t, "{\"version\":1,\"site\":\"S07\",\"revision\":42,"
			  "\"issued\":\"2026-11-25T10:00:00Z\",\"policies\":["
			  "{\"id\":\"DSA-1\",\"package\":\"openssl\",\"min_version\":\"3.0.15-1\","
			  "\"severity\":\"critical\",\"effective\":\"asap\"}]}");
	agent_eval_once(t->conf, &e);
	j = agent_eval_json(&e, "pc-17");
	assert_non_null(j);
	assert_non_null(strstr(j, "\"missing\": [\n    \"DSA-1\""));
	assert_non_null(strstr(j, "\"installed\": \"3.0.11-1\""));
	assert_non_null(strstr(j, "\"state\": 3"));
	b = agent_state_body(&e);
	assert_non_null(b);
	assert_non_null(strstr(b, "\"state\":3,\"compliant\":false,\"hsr_revision\":42"));
	assert_non_null(strstr(b, "\"missing\":[\"DSA-1\"]"));
	free(j);
	free(b);
	agent_eval_free(&e);
	agent_test_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_sohr),
		cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
