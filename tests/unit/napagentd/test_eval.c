// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The evaluation against synthetic dpkg status files and signed HSRs: satisfied, outdated,
 * missing, deferred (effective date ahead), epochs, Multi-Arch, advisories with several
 * packages, requirements of the other scheme, checks; and every failure path (status file
 * missing or malformed, no policy, a tampered or foreign-signed policy, no HSR for the site),
 * which must give a failure category and never "compliant".
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

#include <cmocka.h>

#include "agent.h"
#include "agent_test.h"
#include "nap/pkgver.h"

#define HSR_HEAD "{\"version\":1,\"site\":\"S01\",\"revision\":7,\"issued\":\"2026-11-25T10:00:00Z\","

static const char status_text[] =
	"Package: openssl\nStatus: install ok installed\nArchitecture: amd64\n"
	"Version: 3.0.15-1~deb12u1\n\n"
	"Package: sudo\nStatus: install ok installed\nArchitecture: amd64\n"
	"Version: 1.9.13p3-1~deb12u1\n\n"
	"Package: tzdata\nStatus: install ok installed\nArchitecture: all\nVersion: 1:2024a-0\n\n"
	"Package: libc6\nStatus: install ok installed\nArchitecture: amd64\n"
	"Version: 2.36-9+deb12u9\n\n"
	"Package: libc6\nStatus: install ok installed\nArchitecture: i386\n"
	"Version: 2.36-9+deb12u4\n\n"
	"Package: gone\nStatus: deinstall ok config-files\nVersion: 9\n";

static const struct agent_finding *
finding(const struct agent_eval *e, const char *id)
{
	for (size_t i = 0; i < e->n_findings; i++)
		if (strcmp(e->findings[i].id, id) == 0)
			return &e->findings[i];
	return NULL;
}

static void
test_compliant_and_deferred(void **state)
{
	struct agent_test *t = agent_test_new();
	struct agent_eval e;

	(void)state;
	agent_test_write(t->status, status_text);
	agent_test_hsr(t, HSR_HEAD "\"policies\":["
		"{\"id\":\"DSA-1\",\"package\":\"openssl\",\"min_version\":\"3.0.15-1~deb12u1\","
		"\"severity\":\"critical\",\"effective\":\"asap\"},"
		"{\"id\":\"DSA-2\",\"package\":\"sudo\",\"min_version\":\"1.9.13p3-1\","
		"\"severity\":\"important\",\"effective\":\"2099-01-01T00:00:00Z\"},"
		"{\"id\":\"DSA-3\",\"package\":\"tzdata\",\"min_version\":\"2099a-1\","
		"\"severity\":\"low\",\"effective\":\"asap\"},"
		"{\"id\":\"NAP-ADVISORY\",\"severity\":\"low\",\"effective\":\"asap\"},"
		"{\"id\":\"RHSA-1\",\"package\":\"openssl\",\"min_version\":\"9.9\",\"scheme\":\"rpm\","
		"\"severity\":\"low\",\"effective\":\"asap\"}]}");
	agent_eval_once(t->conf, &e);
	assert_int_equal(e.failure_category, NAP_FAILURE_NONE);
	assert_true(e.has_policy);
	assert_string_equal(e.site, "S01");
	assert_int_equal(e.revision, 7);
	assert_int_equal(e.n_installed, 5);
	assert_int_equal(e.n_policies, 5);
	assert_int_equal(e.n_reqs_checked, 3);
	assert_int_equal(e.n_not_applicable, 2); /* the advisory-only and the rpm one */
	/* sudo is older, but not yet in force; tzdata's epoch 1 beats 2099a. */
	assert_true(e.compliant);
	assert_int_equal(e.state, AGENT_STATE_DEFERRED);
	assert_int_equal(e.n_findings, 1);
	assert_string_equal(e.findings[0].id, "DSA-2");
	assert_true(e.findings[0].deferred);
	assert_int_equal(e.findings[0].status, AGENT_POLICY_OUTDATED);
	assert_string_equal(e.findings[0].installed, "1.9.13p3-1~deb12u1");
	agent_eval_free(&e);

	/* Nothing ahead: unrestricted. */
	agent_test_hsr(t, HSR_HEAD "\"policies\":["
		"{\"id\":\"DSA-1\",\"package\":\"openssl\",\"min_version\":\"3.0.11-1\","
		"\"severity\":\"critical\",\"effective\":\"asap\"}]}");
	agent_eval_once(t->conf, &e);
	assert_true(e.compliant);
	assert_int_equal(e.state, AGENT_STATE_UNRESTRICTED);
	assert_int_equal(e.n_findings, 0);
	agent_eval_free(&e);

	/* No policies at all: compliant. */
	agent_test_hsr(t, HSR_HEAD "\"policies\":[]}");
	agent_eval_once(t->conf, &e);
	assert_true(e.compliant);
	assert_int_equal(e.state, AGENT_STATE_UNRESTRICTED);
	agent_eval_free(&e);
	agent_test_free(t);
}

static void
test_noncompliant(void **state)
{
	struct agent_test *t = agent_test_new();
	const struct agent_finding *f;
	struct agent_eval e;

	(void)state;
	agent_test_write(t->status, status_text);
	agent_test_hsr(t, HSR_HEAD "\"policies\":["
		"{\"id\":\"DSA-1\",\"package\":\"openssl\",\"min_version\":\"3.0.15-1\","
		"\"severity\":\"critical\",\"effective\":\"asap\"},"
		"{\"id\":\"DSA-2\",\"package\":\"gone\",\"min_version\":\"1\","
		"\"severity\":\"important\",\"effective\":\"2020-01-01T00:00:00Z\"},"
		"{\"id\":\"DSA-3\",\"severity\":\"low\",\"effective\":\"asap\",\"requires\":["
		"{\"package\":\"libc6\",\"min_version\":\"2.36-9+deb12u5\"},"
		"{\"package\":\"openssl\",\"min_version\":\"3.0.0\"}]},"
		"{\"id\":\"DSA-4\",\"severity\":\"low\",\"effective\":\"asap\",\"requires\":["
		"{\"package\":\"libc6\",\"min_version\":\"2.36-9+deb12u4\"},"
		"{\"package\":\"sudo\",\"min_version\":\"1.9.13p3-1~deb12u1\"}]}]}");
	agent_eval_once(t->conf, &e);
	assert_int_equal(e.failure_category, NAP_FAILURE_NONE);
	assert_false(e.compliant);
	assert_int_equal(e.state, AGENT_STATE_RESTRICTED);
	assert_int_equal(e.n_findings, 3);
	/* ~deb12u1 is older than the plain revision. */
	f = finding(&e, "DSA-1");
	assert_non_null(f);
	assert_int_equal(f->status, AGENT_POLICY_OUTDATED);
	assert_string_equal(f->package, "openssl");
	assert_string_equal(f->required, "3.0.15-1");
	assert_false(f->deferred);
	/* config-files only: not installed. */
	f = finding(&e, "DSA-2");
	assert_non_null(f);
	assert_int_equal(f->status, AGENT_POLICY_MISSING);
	assert_string_equal(f->installed, "");
	/* Multi-Arch: the i386 instance is older. */
	f = finding(&e, "DSA-3");
	assert_non_null(f);
	assert_int_equal(f->status, AGENT_POLICY_OUTDATED);
	assert_string_equal(f->package, "libc6");
	assert_string_equal(f->installed, "2.36-9+deb12u4");
	assert_null(finding(&e, "DSA-4"));
	agent_eval_free(&e);

	/* A package upgrade in the status file makes it compliant on the next evaluation. */
	agent_test_hsr(t, HSR_HEAD "\"policies\":["
		"{\"id\":\"DSA-1\",\"package\":\"openssl\",\"min_version\":\"3.0.15-1\","
		"\"severity\":\"critical\",\"effective\":\"asap\"}]}");
	agent_test_write(t->status, "Package: openssl\nStatus: install ok installed\n"
				    "Version: 3.0.15-1\n");
	agent_eval_once(t->conf, &e);
	assert_true(e.compliant);
	agent_eval_free(&e);
	agent_test_free(t);
}

static void
expect_failure(struct agent_test *t, uint8_t category, uint32_t code, const char *msg)
{
	struct agent_eval e;

	agent_eval_once(t->conf, &e);
	assert_false(e.compliant);
	assert_int_equal(e.state, AGENT_STATE_RESTRICTED);
	assert_int_equal(e.failure_category, category);
	assert_int_equal(e.error_code, code);
	if (strstr(e.failure, msg) == NULL)
		fail_msg("failure \"%s\" lacks \"%s\"", e.failure, msg);
	agent_eval_free(&e);
}

static void
test_failures(void **state)
{
	struct agent_test *t = agent_test_new();
	char other_key[160], other_pub[160];
	char *text;
	FILE *f;
	long n;

	(void)state;
	/* No policy yet. */
	agent_test_write(t->status, status_text);
	expect_failure(t, NAP_FAILURE_CLIENT_COMMUNICATION, AGENT_ERR_NO_POLICY, "hsr.json");

	agent_test_hsr(t, HSR_HEAD "\"policies\":["
		"{\"id\":\"DSA-1\",\"package\":\"openssl\",\"min_version\":\"3.0.11-1\","
		"\"severity\":\"critical\",\"effective\":\"asap\"}]}");
	/* The status file missing, then malformed: client component. */
	unlink(t->status);
	expect_failure(t, NAP_FAILURE_CLIENT_COMPONENT, AGENT_ERR_PKGDB, "status");
	agent_test_write(t->status, "Package: openssl\nStatus: install ok installed\nVersion\n");
	expect_failure(t, NAP_FAILURE_CLIENT_COMPONENT, AGENT_ERR_PKGDB, "line 3");
	agent_test_write(t->status, status_text);

	/* No HSR for the configured site. */
	t->conf->site = strdup("S02");
	expect_failure(t, NAP_FAILURE_CLIENT_COMMUNICATION, AGENT_ERR_SITE, "S02");
	free(t->conf->site);
	t->conf->site = NULL;

	/* Signed by another key. */
	snprintf(other_key, sizeof(other_key), "%s/other.key", t->dir);
	snprintf(other_pub, sizeof(other_pub), "%s/other.pub", t->dir);
	assert_int_equal(nap_key_generate(other_key, other_pub), 0);
	free(t->conf->hsr_key);
	t->conf->hsr_key = strdup(other_pub);
	expect_failure(t, NAP_FAILURE_CLIENT_COMMUNICATION, AGENT_ERR_POLICY, "signature");
	free(t->conf->hsr_key);
	t->conf->hsr_key = strdup(t->pub);

	/* Tampered: a version changed after signing. */
	f = fopen(t->hsr, "r");
	assert_non_null(f);
	text = calloc(1, 65536);
	n = (long)fread(text, 1, 65535, f);
	fclose(f);
	assert_true(n > 0);
	{
		char *p = strstr(text, "3.0.11-1");

		assert_non_null(p);
		p[0] = '1';
	}
	agent_test_write(t->hsr, text);
	expect_failure(t, NAP_FAILURE_CLIENT_COMMUNICATION, AGENT_ERR_POLICY, "hsr.json");
	/* Garbage. */
	agent_test_write(t->hsr, "{\"version\":1,");
	expect_failure(t, NAP_FAILURE_CLIENT_COMMUNICATION, AGENT_ERR_POLICY, "hsr.json");
	free(text);

	/* rpm backend with a database that is not there. */
	agent_test_hsr(t, HSR_HEAD "\"policies\":[]}");
	t->conf->backend = AGENT_BACKEND_RPM;
	free(t->conf->rpm_dbpath);
	{
		char db[200];

		snprintf(db, sizeof(db), "%s/no-rpmdb", t->dir);
		t->conf->rpm_dbpath = strdup(db);
	}
	{
		struct agent_eval e;

		agent_eval_once(t->conf, &e);
		assert_false(e.compliant);
		assert_int_equal(e.failure_category, NAP_FAILURE_CLIENT_COMPONENT);
		assert_true(e.error_code == AGENT_ERR_PKGDB || e.error_code == AGENT_ERR_SCHEME);
		agent_eval_free(&e);
	}
	agent_test_free(t);
}

static void
test_checks(void **state)
{
	struct agent_test *t = agent_test_new();
	struct agent_eval e;
	char json[2048], marker[160];

	(void)state;
	agent_test_write(t->status, status_text);
	snprintf(marker, sizeof(marker), "%s/marker", t->dir);
	agent_test_write(marker, "x");
	snprintf(json, sizeof(json),
		 HSR_HEAD "\"policies\":[],\"checks\":["
		 "{\"id\":\"CHK-FILE\",\"type\":\"file\",\"path\":\"%s\",\"severity\":\"low\","
		 "\"effective\":\"asap\"},"
		 "{\"id\":\"CHK-LATER\",\"type\":\"file\",\"path\":\"%s/absent\","
		 "\"severity\":\"low\",\"effective\":\"2099-01-01T00:00:00Z\"}]}",
		 marker, t->dir);
	agent_test_hsr(t, json);
	agent_eval_once(t->conf, &e);
	assert_int_equal(e.n_checks, 2);
	assert_string_equal(e.checks[0].id, "CHK-FILE");
	assert_string_equal(e.checks[1].id, "CHK-LATER");
	assert_false(e.check_deferred[0]);
	assert_true(e.check_deferred[1]);
	assert_int_equal(e.checks[0].status, NAP_CHECK_PASS);
	assert_int_equal(e.checks[1].status, NAP_CHECK_FAIL);
	assert_true(e.compliant);
	assert_int_equal(e.state, AGENT_STATE_DEFERRED);
	agent_eval_free(&e);
	/* The marker gone: the check in force fails. */
	unlink(marker);
	agent_eval_once(t->conf, &e);
	assert_int_not_equal(e.checks[0].status, NAP_CHECK_PASS);
	assert_false(e.compliant);
	assert_int_equal(e.state, AGENT_STATE_RESTRICTED);
	agent_eval_free(&e);
	agent_test_free(t);
}

/* The rpm backend against a real rpm database: rpmbuild makes a package, rpm --justdb records
 * it (skipped where rpm or librpm are missing). */
static void
test_rpm_backend(void **state)
{
	struct agent_test *t = agent_test_new();
	struct agent_eval e;
	char cmd[2048], db[200];
	const struct agent_finding *f;

	(void)state;
	if (!nap_pkgver_supported(NAP_SCHEME_RPM) || system("command -v rpmbuild >/dev/null") != 0) {
		agent_test_free(t);
		skip();
	}
	snprintf(db, sizeof(db), "%s/rpmdb", t->dir);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && printf 'Name: naptest\\nVersion: 1.2.3\\nRelease: 4\\nEpoch: 1\\n"
		 "Summary: t\\nLicense: GPL\\nBuildArch: noarch\\n%%%%description\\nt\\n"
		 "%%%%files\\n' >t.spec && rpmbuild -bb --define '_topdir %s/top' "
		 "--define '_rpmdir %s/out' t.spec >/dev/null 2>&1 && mkdir -p %s && "
		 "rpm --dbpath %s --initdb && rpm --dbpath %s -i --justdb --nodeps --noscripts "
		 "--ignorearch --ignoreos %s/out/noarch/*.rpm >/dev/null 2>&1",
		 t->dir, t->dir, t->dir, db, db, db, t->dir);
	assert_int_equal(system(cmd), 0);
	t->conf->backend = AGENT_BACKEND_RPM;
	t->conf->rpm_dbpath = strdup(db);
	agent_test_hsr(t, HSR_HEAD "\"policies\":["
		"{\"id\":\"RH-1\",\"package\":\"naptest\",\"min_version\":\"1:1.2.3-3\","
		"\"scheme\":\"rpm\",\"severity\":\"low\",\"effective\":\"asap\"},"
		"{\"id\":\"RH-2\",\"package\":\"naptest\",\"min_version\":\"1:1.2.3^git1-1\","
		"\"scheme\":\"rpm\",\"severity\":\"low\",\"effective\":\"asap\"},"
		"{\"id\":\"RH-3\",\"package\":\"absent\",\"min_version\":\"1\","
		"\"scheme\":\"rpm\",\"severity\":\"low\",\"effective\":\"asap\"},"
		"{\"id\":\"DEB-1\",\"package\":\"naptest\",\"min_version\":\"9\","
		"\"severity\":\"low\",\"effective\":\"asap\"}]}");
	agent_eval_once(t->conf, &e);
	if (e.failure_category != NAP_FAILURE_NONE)
		fail_msg("rpm backend: %s", e.failure);
	assert_int_equal(e.n_installed, 1);
	assert_int_equal(e.n_reqs_checked, 3);
	assert_int_equal(e.n_not_applicable, 1); /* the dpkg requirement */
	assert_int_equal(e.n_findings, 2);
	f = finding(&e, "RH-2"); /* 1.2.3^git1 sorts after 1.2.3 */
	assert_non_null(f);
	assert_int_equal(f->status, AGENT_POLICY_OUTDATED);
	assert_string_equal(f->installed, "1:1.2.3-4");
	f = finding(&e, "RH-3");
	assert_non_null(f);
	assert_int_equal(f->status, AGENT_POLICY_MISSING);
	assert_null(finding(&e, "RH-1"));
	assert_false(e.compliant);
	agent_eval_free(&e);
	agent_test_free(t);
}

/* 3,000 installed packages and 500 policies: the evaluation stays fast (a loose bound here;
 * bench/agent-eval measures). */
static void
test_many(void **state)
{
	struct agent_test *t = agent_test_new();
	struct agent_eval e;
	size_t cap = 4u << 20, n = 0;
	char *st = malloc(cap), *hsr = malloc(cap);

	(void)state;
	for (int i = 0; i < 3000; i++)
		n += (size_t)snprintf(st + n, cap - n,
				      "Package: p%d\nStatus: install ok installed\n"
				      "Architecture: amd64\nVersion: 1:%d.%d-%d~deb12u1\n"
				      "Description: x\n more\n\n",
				      i, i % 10, i % 17, i % 5);
	agent_test_write(t->status, st);
	n = (size_t)snprintf(hsr, cap, HSR_HEAD "\"policies\":[");
	for (int i = 0; i < 500; i++)
		n += (size_t)snprintf(hsr + n, cap - n,
				      "%s{\"id\":\"P-%04d\",\"package\":\"p%d\",\"min_version\":"
				      "\"1:%d.%d-%d\",\"severity\":\"low\",\"effective\":\"asap\"}",
				      i != 0 ? "," : "", i, i * 6, (i * 6) % 10, (i * 6) % 17,
				      (i * 6) % 5);
	snprintf(hsr + n, cap - n, "]}");
	agent_test_hsr(t, hsr);
	agent_eval_once(t->conf, &e);
	assert_int_equal(e.failure_category, NAP_FAILURE_NONE);
	assert_int_equal(e.n_installed, 3000);
	assert_int_equal(e.n_reqs_checked, 500);
	/* Installed "...-R~deb12u1" is older than "...-R": every one is outdated. */
	assert_int_equal(e.n_findings, 500);
	assert_false(e.compliant);
	assert_true(e.duration_us < 5 * 1000 * 1000);
	agent_eval_free(&e);
	free(st);
	free(hsr);
	agent_test_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compliant_and_deferred),
		cmocka_unit_test(test_noncompliant),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_checks),
		cmocka_unit_test(test_rpm_backend),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
