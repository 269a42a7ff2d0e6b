// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Unit tests for napsited's core (daemons/napsited): the current HSR (built from a signed
 * document, reference counted across replacement, copied), the Prometheus text (every metric the
 * man page names, a cumulative latency histogram) and the publisher's error paths that need no
 * directory (no [directory], nothing listening). Publishing to a real slapd is
 * tests/integration/test-napsited-publish.sh.
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

#include "nap/hsr.h"
#include "nap/siteconf.h"
#include "napsited.h"

static char tmpdir[] = "/tmp/test_napsited_XXXXXX";
static char key_path[128], pub_path[128];

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(key_path, sizeof(key_path), "%s/site.key", tmpdir);
	snprintf(pub_path, sizeof(pub_path), "%s/site.pub", tmpdir);
	return nap_key_generate(key_path, pub_path) == 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(key_path);
	unlink(pub_path);
	rmdir(tmpdir);
	return 0;
}

static char *
signed_doc(const char *site, unsigned revision)
{
	char doc[512];
	struct nap_err err = {0};
	char *out = NULL;

	snprintf(doc, sizeof(doc),
		 "{\"version\":1,\"site\":\"%s\",\"revision\":%u,\"issued\":\"2026-11-25T10:00:"
		 "00Z\","
		 "\"policies\":[{\"id\":\"p1\",\"package\":\"openssl\",\"min_version\":\"3.0.15\","
		 "\"scheme\":\"dpkg\",\"severity\":\"critical\",\"effective\":\"asap\"}]}",
		 site, revision);
	assert_int_equal(nap_hsr_sign((const uint8_t *)doc, strlen(doc), key_path, &out, &err), 0);
	return out;
}

static void
test_hsr_from_doc(void **state)
{
	struct napsited_hsr *h = NULL;
	char key_id[NAP_KEY_ID_LEN + 1], err[256];
	char *doc = signed_doc("S01", 42);

	(void)state;
	assert_int_equal(napsited_hsr_from_doc(doc, &h, err, sizeof(err)), 0);
	assert_int_equal(h->revision, 42);
	assert_string_equal(h->site, "S01");
	assert_int_equal(h->issued, 1795600800); /* 2026-11-25T10:00:00Z */
	assert_int_equal(strlen(h->digest), 64);
	assert_int_equal(nap_key_id_file(pub_path, key_id), 0);
	assert_string_equal(h->key_id, key_id);
	assert_int_equal(h->len, strlen(doc));
	assert_string_equal(h->doc, doc);
	/* The digest attribute is the document's own. */
	assert_non_null(strstr(doc, h->digest));
	napsited_hsr_put(h);
	free(doc);

	/* Unsigned, malformed, or two sites: not something napsited would publish. */
	h = (void *)1;
	assert_int_equal(napsited_hsr_from_doc("{\"version\":1,\"site\":\"S01\",\"revision\":1,"
					       "\"issued\":\"2026-11-25T10:00:00Z\","
					       "\"policies\":[]}",
					       &h, err, sizeof(err)),
			 -EBADMSG);
	assert_null(h);
	assert_true(napsited_hsr_from_doc("{\"version\":", &h, err, sizeof(err)) < 0);
	assert_null(h);
	assert_non_null(strstr(err, "does not parse"));
	{
		char *a = signed_doc("S01", 1), *b = signed_doc("S02", 1);
		char *both = malloc(strlen(a) + strlen(b) + 4);

		sprintf(both, "[%s,%s]", a, b);
		assert_int_equal(napsited_hsr_from_doc(both, &h, err, sizeof(err)), -EBADMSG);
		assert_string_equal(err, "the signed HSR is not one signed object");
		free(both);
		free(a);
		free(b);
	}
}

static void
test_hsr_current(void **state)
{
	static struct napsited sd; /* zeroed */
	struct napsited_hsr *h1, *h2, *held;
	char err[256], *copy = NULL, *d1 = signed_doc("S01", 1), *d2 = signed_doc("S01", 2);
	size_t len = 0;
	uint64_t rev = 0;

	(void)state;
	pthread_mutex_init(&sd.hsr_lock, NULL);
	assert_null(napsited_hsr_get(&sd));
	assert_int_equal(napsited_hsr_copy(&sd, &copy, &len, &rev), -ENOENT);
	assert_null(copy);

	assert_int_equal(napsited_hsr_from_doc(d1, &h1, err, sizeof(err)), 0);
	assert_int_equal(napsited_hsr_from_doc(d2, &h2, err, sizeof(err)), 0);
	napsited_hsr_set(&sd, h1);
	assert_int_equal(atomic_load(&sd.m.hsr_revision), 1);
	/* A reader holds revision 1 while the main thread replaces it: still valid (ASan). */
	held = napsited_hsr_get(&sd);
	assert_ptr_equal(held, h1);
	napsited_hsr_set(&sd, h2);
	assert_int_equal(atomic_load(&sd.m.hsr_revision), 2);
	assert_int_equal(held->revision, 1);
	assert_string_equal(held->doc, d1);
	napsited_hsr_put(held);

	assert_int_equal(napsited_hsr_copy(&sd, &copy, &len, &rev), 0);
	assert_string_equal(copy, d2);
	assert_int_equal(len, strlen(d2));
	assert_int_equal(rev, 2);
	free(copy);

	napsited_hsr_set(&sd, NULL);
	assert_null(napsited_hsr_get(&sd));
	assert_int_equal(atomic_load(&sd.m.hsr_revision), 0);
	pthread_mutex_destroy(&sd.hsr_lock);
	free(d1);
	free(d2);
}

/* The value of one sample line ("name{labels} value") in the text, -1 when absent. */
static double
sample(const char *text, const char *series)
{
	size_t n = strlen(series);

	for (const char *p = text; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 : p)
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return -1;
}

static void
test_metrics_text(void **state)
{
	static struct napsited sd;
	static const char *const names[] = {
		"napsited_policy_revision",
		"napsited_hsr_revision",
		"napsited_published_revision",
		"napsited_publish_total{result=\"ok\"}",
		"napsited_publish_total{result=\"unchanged\"}",
		"napsited_publish_total{result=\"error\"}",
		"napsited_publish_total{result=\"conflict\"}",
		"napsited_publish_pending",
		"napsited_publish_failures_in_row",
		"napsited_publish_retry_seconds",
		"napsited_directory_up",
		"napsited_directory_latency_seconds_count",
		"napsited_directory_latency_seconds_sum",
		"napsited_reloads_total{result=\"ok\"}",
		"napsited_reloads_total{result=\"error\"}",
		"napsited_store_errors_total",
		"napsited_sign_errors_total",
		"napsited_agent_checkins_total",
		"napsited_agent_policy_fetches_total",
		"napsited_agent_enrollments_total{result=\"ok\"}",
		"napsited_agent_enrollments_total{result=\"error\"}",
		"napsited_agent_bad_requests_total",
		"napsited_agent_auth_failures_total",
	};
	char *text;

	(void)state;
	atomic_store(&sd.m.policy_revision, 7);
	atomic_store(&sd.m.publish[NAPSITED_PUBLISH_CONFLICT], 2);
	atomic_store(&sd.m.publish_backoff_ms, 1500);
	atomic_store(&sd.m.agent_checkins, 11);
	napsited_metrics_latency(&sd.m, 0.003);
	napsited_metrics_latency(&sd.m, 0.2);
	napsited_metrics_latency(&sd.m, 20.0);
	text = napsited_metrics_text(&sd);
	assert_non_null(text);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (sample(text, names[i]) < 0)
			fail_msg("no sample %s in\n%s", names[i], text);
	assert_true(sample(text, "napsited_policy_revision") == 7);
	assert_true(sample(text, "napsited_publish_total{result=\"conflict\"}") == 2);
	assert_true(sample(text, "napsited_publish_retry_seconds") == 1.5);
	assert_true(sample(text, "napsited_agent_checkins_total") == 11);
	/* Buckets are cumulative; 20 s only shows in +Inf. */
	assert_true(sample(text, "napsited_directory_latency_seconds_bucket{le=\"0.005\"}") == 1);
	assert_true(sample(text, "napsited_directory_latency_seconds_bucket{le=\"0.1\"}") == 1);
	assert_true(sample(text, "napsited_directory_latency_seconds_bucket{le=\"0.25\"}") == 2);
	assert_true(sample(text, "napsited_directory_latency_seconds_bucket{le=\"10\"}") == 2);
	assert_true(sample(text, "napsited_directory_latency_seconds_bucket{le=\"+Inf\"}") == 3);
	assert_true(sample(text, "napsited_directory_latency_seconds_count") == 3);
	assert_true(sample(text, "napsited_directory_latency_seconds_sum") > 20.2);
	assert_true(sample(text, "napsited_directory_latency_seconds_sum") < 20.21);
	assert_non_null(strstr(text, "# TYPE napsited_directory_latency_seconds histogram\n"));
	assert_non_null(strstr(text, "# TYPE napsited_publish_total counter\n"));
	free(text);
}

static void
test_publish_errors(void **state)
{
	struct nap_siteconf *c = NULL;
	struct napsited_publish_info info;
	struct napsited_hsr *h = NULL;
	char err[512], *doc = signed_doc("S01", 3);
	enum napsited_publish_result r;

	(void)state;
	assert_int_equal(napsited_hsr_from_doc(doc, &h, err, sizeof(err)), 0);
	assert_int_equal(nap_siteconf_parse_string("[site]\ncode=S01\nkey=/k\n", "t.conf", &c, err,
						   sizeof(err)),
			 0);
	r = napsited_publish(c, NULL, h, &info, err, sizeof(err));
	assert_int_equal(r, NAPSITED_PUBLISH_ERROR);
	assert_string_equal(err, "no [directory] configured");
	nap_siteconf_free(c);

	/* Port 1 on loopback: nobody listens, both URIs fail at once, neither is "reached". */
	assert_int_equal(nap_siteconf_parse_string("[site]\ncode=S01\nkey=/k\n[directory]\n"
						   "uri = ldap://127.0.0.1:1 ldaps://127.0.0.1:1\n"
						   "base = dc=napt,dc=test\nbind_dn = cn=a,dc=x\n"
						   "bind_password_file = /p\ntimeout = 1s\n",
						   "t.conf", &c, err, sizeof(err)),
			 0);
	r = napsited_publish(c, "pw", h, &info, err, sizeof(err));
	assert_int_equal(r, NAPSITED_PUBLISH_ERROR);
	assert_false(info.reached);
	assert_non_null(strstr(err, "ldap://127.0.0.1:1: StartTLS (required by starttls = yes): "
				    "Can't contact LDAP server"));
	assert_non_null(strstr(err, "(and 1 more URI(s) failed)"));
	nap_siteconf_free(c);
	napsited_hsr_put(h);
	free(doc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hsr_from_doc),
		cmocka_unit_test(test_hsr_current),
		cmocka_unit_test(test_metrics_text),
		cmocka_unit_test(test_publish_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
