// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Policy import files (lib/store/import.c): JSON and CSV lists of policies as napctl policy
 * import reads them. Good files give the expected policies; every bad one fails with a message
 * naming the line or index and the member, and returns nothing.
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

#include "nap/policy_import.h"

static int
parse(const char *text, enum nap_policy_import_format f, struct nap_policy **v, size_t *n,
      struct nap_store_err *err)
{
	memset(err, 0, sizeof(*err));
	return nap_policy_import_parse((const uint8_t *)text, strlen(text), f, v, n, err);
}

/* The text must fail with code and a message containing every fragment (NULL-terminated). */
static void
expect_fail(const char *text, enum nap_policy_import_format f, int code, ...)
{
	struct nap_policy *v = (void *)1;
	struct nap_store_err err;
	size_t n = 99;
	const char *frag;
	va_list ap;
	int r;

	r = parse(text, f, &v, &n, &err);
	if (r != code)
		fail_msg("expected %d, got %d (%s) for:\n%s", code, r, err.msg, text);
	assert_null(v);
	assert_int_equal(n, 0);
	va_start(ap, code);
	while ((frag = va_arg(ap, const char *)) != NULL) {
		if (strstr(err.msg, frag) == NULL)
			fail_msg("message '%s' lacks '%s'", err.msg, frag);
	}
	va_end(ap);
}

static void
test_time(void **state)
{
	int64_t t;

	(void)state;
	assert_int_equal(nap_policy_time_parse("2026-11-25T10:00:00Z", &t), 0);
	assert_int_equal(t, 1795600800);
	assert_int_equal(nap_policy_time_parse("2026-11-25", &t), 0);
	assert_int_equal(t, 1795564800);
	assert_int_equal(nap_policy_time_parse("1970-01-01", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(nap_policy_time_parse("2028-02-29", &t), 0);
	static const char *const bad[] = {
		"",
		"asap",
		"2026-02-30",
		"2026-13-01",
		"2026-00-10",
		"2026-01-01T24:00:00Z",
		"2026-12-31T23:59:60Z",
		"1969-12-31",
		"2026-01-01T00:00:00",
		"2026-01-01 00:00:00Z",
		" 2026-01-01",
		"2026-1-01",
		"2026-01-01T00:00:00+01:00",
		"20260101",
		"2027-02-29",
		"+026-01-01",
		"2026-01-01Z",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (nap_policy_time_parse(bad[i], &t) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
	}
}

static void
test_guess(void **state)
{
	(void)state;
	assert_int_equal(nap_policy_import_guess((const uint8_t *)" \n [", 4),
			 NAP_POLICY_IMPORT_JSON);
	assert_int_equal(nap_policy_import_guess((const uint8_t *)"\xef\xbb\xbf{", 4),
			 NAP_POLICY_IMPORT_JSON);
	assert_int_equal(nap_policy_import_guess((const uint8_t *)"id,severity\n", 12),
			 NAP_POLICY_IMPORT_CSV);
	assert_int_equal(nap_policy_import_guess((const uint8_t *)"", 0), NAP_POLICY_IMPORT_CSV);
}

static void
test_json_good(void **state)
{
	static const char doc[] =
		"[{\"id\": \"DSA-5001-1\", \"package\": \"openssl\", \"min_version\": "
		"\"3.0.11-1\",\n"
		"  \"severity\": \"critical\", \"effective\": \"2026-11-20T00:00:00Z\",\n"
		"  \"reason\": \"OpenSSL: several vulnerabilities\", \"x-feed\": [1.5, null]},\n"
		" {\"id\": \"BASELINE\", \"severity\": \"low\", \"reason\": null},\n"
		" {\"id\": \"RHSA-1\", \"scheme\": \"rpm\", \"severity\": \"important\",\n"
		"  \"effective\": \"2026-12-01\", \"requires\": [\n"
		"   {\"package\": \"kernel\", \"min_version\": \"5.14.0-1\"},\n"
		"   {\"package\": \"kernel-core\", \"min_version\": \"5.14.0-1\", \"scheme\": "
		"\"dpkg\"}]}]";
	struct nap_policy *v;
	struct nap_store_err err;
	size_t n;

	(void)state;
	assert_int_equal(parse(doc, NAP_POLICY_IMPORT_JSON, &v, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].id, "DSA-5001-1");
	assert_int_equal(v[0].n_reqs, 1);
	assert_string_equal(v[0].reqs[0].package, "openssl");
	assert_string_equal(v[0].reqs[0].min_version, "3.0.11-1");
	assert_int_equal(v[0].reqs[0].scheme, NAP_SCHEME_DPKG);
	assert_string_equal(v[0].severity, "critical");
	assert_int_equal(v[0].effective, 1795132800);
	assert_string_equal(v[0].reason, "OpenSSL: several vulnerabilities");
	assert_string_equal(v[1].id, "BASELINE");
	assert_int_equal(v[1].n_reqs, 0);
	assert_int_equal(v[1].effective, 0);
	assert_null(v[1].reason);
	assert_int_equal(v[2].n_reqs, 2);
	assert_int_equal(v[2].reqs[0].scheme, NAP_SCHEME_RPM);
	assert_string_equal(v[2].reqs[1].package, "kernel-core");
	assert_int_equal(v[2].reqs[1].scheme, NAP_SCHEME_DPKG);
	assert_int_equal(v[2].effective, 1796083200);
	nap_policy_import_free(v, n);
}

static void
test_json_object(void **state)
{
	/* What `napctl policy list --json` prints imports as it is. */
	static const char doc[] =
		"{\"revision\": 12, \"changed\": \"2026-11-25T10:00:00Z\", \"x-by\": \"napctl\",\n"
		" \"policies\": [{\"id\": \"A\", \"package\": \"sudo\", \"min_version\": \"1.9\",\n"
		"  \"scheme\": \"dpkg\", \"severity\": \"moderate\", \"effective\": \"asap\",\n"
		"  \"created\": \"2026-11-25T10:00:00Z\", \"updated\": \"2026-11-25T10:00:00Z\"}]}";
	struct nap_policy *v;
	struct nap_store_err err;
	size_t n;

	(void)state;
	assert_int_equal(parse(doc, NAP_POLICY_IMPORT_JSON, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].reqs[0].package, "sudo");
	nap_policy_import_free(v, n);

	assert_int_equal(parse("{\"policies\": []}", NAP_POLICY_IMPORT_JSON, &v, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_non_null(v);
	nap_policy_import_free(v, n);
}

static void
test_json_bad(void **state)
{
	const enum nap_policy_import_format J = NAP_POLICY_IMPORT_JSON;

	(void)state;
	expect_fail("[{\"id\": \"A\",\n \"severity\": }]", J, -EINVAL, "JSON: line 2", NULL);
	expect_fail("", J, -EINVAL, "JSON: line", NULL);
	expect_fail("\"policies\"", J, -EINVAL, "expected an array", NULL);
	expect_fail("{\"policy\": []}", J, -EINVAL, "unknown member 'policy'", NULL);
	expect_fail("{\"policies\": {}}", J, -EINVAL, "policies: not an array", NULL);
	expect_fail("[{\"id\": \"A\", \"severity\": \"low\"}, 7]", J, -EINVAL, "[1]",
		    "not a policy object", NULL);
	expect_fail("[{\"severity\": \"low\"}]", J, -EINVAL, "[0]: id: missing", NULL);
	expect_fail("[{\"id\": 5, \"severity\": \"low\"}]", J, -EINVAL, "[0]: id: not a string",
		    NULL);
	expect_fail("{\"policies\": [{\"id\": \"A\", \"severity\": \"low\"},\n"
		    "{\"id\": \"B\", \"severity\": \"low\", \"pakage\": \"x\"}]}",
		    J, -EINVAL, "policies[1] (id B): unknown member 'pakage'", NULL);
	expect_fail("[{\"id\": \"A\"}]", J, -EINVAL, "[0] (id A): severity: missing", NULL);
	expect_fail("[{\"id\": \"A\", \"severity\": \"urgent\"}]", J, -EINVAL, "[0]: policy A",
		    "severity", NULL);
	expect_fail("[{\"id\": \"A\", \"severity\": \"low\", \"package\": \"x\"}]", J, -EINVAL,
		    "min_version: missing", NULL);
	expect_fail("[{\"id\": \"A\", \"severity\": \"low\", \"package\": \"x\", "
		    "\"min_version\": \"1\", \"requires\": []}]",
		    J, -EINVAL, "requires: not together", NULL);
	expect_fail("[{\"id\": \"A\", \"severity\": \"low\", \"requires\": []}]", J, -EINVAL,
		    "requires: not a non-empty array", NULL);
	expect_fail("[{\"id\": \"A\", \"severity\": \"low\", \"requires\": "
		    "[{\"package\": \"x\", \"min_version\": \"1\"}, {\"package\": \"x\", "
		    "\"min_version\": \"2\"}]}]",
		    J, -EINVAL, "requires[1]: package 'x' listed twice", NULL);
	expect_fail("[{\"id\": \"A\", \"severity\": \"low\", \"requires\": "
		    "[{\"package\": \"x\", \"version\": \"1\"}]}]",
		    J, -EINVAL, "requires[0]: unknown member 'version'", NULL);
	expect_fail("[{\"id\": \"A\", \"severity\": \"low\", \"scheme\": \"deb\"}]", J, -EINVAL,
		    "scheme: 'deb'", NULL);
	expect_fail("[{\"id\": \"A\", \"severity\": \"low\", \"effective\": \"tomorrow\"}]", J,
		    -EINVAL, "[0] (id A): effective: 'tomorrow'", NULL);
	expect_fail("[{\"id\": \"A\", \"severity\": \"low\"}, {\"id\": \"B\", \"severity\": "
		    "\"low\"}, {\"id\": \"A\", \"severity\": \"low\"}]",
		    J, -EINVAL, "[2] (id A): id already used by [0]", NULL);
	expect_fail("[{\"id\": \"A\", \"severity\": \"low\", \"reason\": \"two\\nlines\"}]", J,
		    -EINVAL, "[0]: policy A: reason: control character", NULL);
	expect_fail("[{\"id\": \"A B\", \"severity\": \"low\"}]", J, -EINVAL, "[0]: policy id",
		    NULL);
	expect_fail("[{\"id\": \"A\", \"severity\": \"low\", \"id\": \"B\"}]", J, -EINVAL,
		    "duplicate", NULL);
	/* An unknown member's name is escaped in the message. */
	expect_fail("[{\"id\": \"A\", \"severity\": \"low\", \"\\u0007x\": 1}]", J, -EINVAL,
		    "unknown member '\\x07x'", NULL);
}

static char *
repeat_policies(size_t n, int csv)
{
	size_t cap = n * 64 + 64, o = 0;
	char *s = malloc(cap);

	assert_non_null(s);
	o += (size_t)snprintf(s + o, cap - o, csv ? "id,severity\n" : "[");
	for (size_t i = 0; i < n; i++) {
		if (csv)
			o += (size_t)snprintf(s + o, cap - o, "P%zu,low\n", i);
		else
			o += (size_t)snprintf(s + o, cap - o,
					      "%s{\"id\":\"P%zu\",\"severity\":\"low\"}",
					      i ? "," : "", i);
	}
	if (!csv)
		snprintf(s + o, cap - o, "]");
	return s;
}

static void
test_limits(void **state)
{
	struct nap_policy *v;
	struct nap_store_err err;
	size_t n;
	char *s;
	uint8_t *big;

	(void)state;
	s = repeat_policies(NAP_POLICY_IMPORT_MAX_POLICIES, 0);
	assert_int_equal(parse(s, NAP_POLICY_IMPORT_JSON, &v, &n, &err), 0);
	assert_int_equal(n, NAP_POLICY_IMPORT_MAX_POLICIES);
	nap_policy_import_free(v, n);
	free(s);
	s = repeat_policies(NAP_POLICY_IMPORT_MAX_POLICIES + 1, 0);
	expect_fail(s, NAP_POLICY_IMPORT_JSON, -EMSGSIZE, "10001 policies, at most 10000", NULL);
	free(s);
	s = repeat_policies(NAP_POLICY_IMPORT_MAX_POLICIES, 1);
	assert_int_equal(parse(s, NAP_POLICY_IMPORT_CSV, &v, &n, &err), 0);
	assert_int_equal(n, NAP_POLICY_IMPORT_MAX_POLICIES);
	nap_policy_import_free(v, n);
	free(s);
	s = repeat_policies(NAP_POLICY_IMPORT_MAX_POLICIES + 1, 1);
	expect_fail(s, NAP_POLICY_IMPORT_CSV, -EMSGSIZE, "line 10002: more than 10000 policies",
		    NULL);
	free(s);

	big = calloc(1, NAP_POLICY_IMPORT_MAX_LEN + 1);
	assert_non_null(big);
	v = NULL;
	assert_int_equal(nap_policy_import_parse(big, NAP_POLICY_IMPORT_MAX_LEN + 1,
						 NAP_POLICY_IMPORT_CSV, &v, &n, &err),
			 -EMSGSIZE);
	assert_null(v);
	free(big);
}

static void
test_csv_good(void **state)
{
	/* BOM, CRLF, quoting, a quoted comma and quote, blank lines, rows of one advisory apart,
	 * no final newline. */
	static const char doc[] =
		"\xef\xbb\xbfid,package,min_version,scheme,severity,effective,reason\r\n"
		"DSA-1,openssl,3.0.11-1,,critical,2026-11-20,\"OpenSSL, \"\"several\"\" bugs\"\r\n"
		"\r\n"
		"ADV,,,,low,asap,\r\n"
		"DSA-1,libssl3,3.0.11-1,dpkg,,,\r\n"
		"RHSA-2,kernel,5.14,rpm,important,2026-12-01T12:00:00Z,kernel";
	struct nap_policy *v;
	struct nap_store_err err;
	size_t n;

	(void)state;
	assert_int_equal(parse(doc, NAP_POLICY_IMPORT_CSV, &v, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].id, "DSA-1");
	assert_int_equal(v[0].n_reqs, 2);
	assert_string_equal(v[0].reqs[0].package, "openssl");
	assert_string_equal(v[0].reqs[1].package, "libssl3");
	assert_string_equal(v[0].severity, "critical");
	assert_int_equal(v[0].effective, 1795132800);
	assert_string_equal(v[0].reason, "OpenSSL, \"several\" bugs");
	assert_string_equal(v[1].id, "ADV");
	assert_int_equal(v[1].n_reqs, 0);
	assert_null(v[1].reason);
	assert_int_equal(v[1].effective, 0);
	assert_string_equal(v[2].id, "RHSA-2");
	assert_int_equal(v[2].reqs[0].scheme, NAP_SCHEME_RPM);
	assert_int_equal(v[2].effective, 1796126400);
	nap_policy_import_free(v, n);

	/* Columns in any order, optional ones left out, x- columns ignored; header only. */
	assert_int_equal(parse("severity,X-Note,id\nlow,whatever,A\n\n", NAP_POLICY_IMPORT_CSV, &v,
			       &n, &err),
			 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].id, "A");
	assert_string_equal(v[0].severity, "low");
	nap_policy_import_free(v, n);
	assert_int_equal(parse("id,severity\n", NAP_POLICY_IMPORT_CSV, &v, &n, &err), 0);
	assert_int_equal(n, 0);
	nap_policy_import_free(v, n);
}

static void
test_csv_bad(void **state)
{
	const enum nap_policy_import_format C = NAP_POLICY_IMPORT_CSV;
	static const char hdr[] = "id,package,min_version,severity,effective,reason\n";
	char doc[1024];

	(void)state;
	expect_fail("", C, -EINVAL, "header line is required", NULL);
	expect_fail("id,package,version,severity\n", C, -EINVAL, "line 1: unknown column 'version'",
		    NULL);
	expect_fail("id,package,min_version\n", C, -EINVAL, "line 1: the header needs a", NULL);
	expect_fail("id,severity,id\n", C, -EINVAL, "line 1: column id twice", NULL);
	expect_fail("id,severity,package\n", C, -EINVAL, "package and min_version go together",
		    NULL);

	snprintf(doc, sizeof(doc), "%sA,x,1,low,,\nB,y,2,low\n", hdr);
	expect_fail(doc, C, -EINVAL, "line 3: 4 fields, the header has 6", NULL);
	snprintf(doc, sizeof(doc), "%sA,x,1,low,,\nB,y,2,urgent,,\n", hdr);
	expect_fail(doc, C, -EINVAL, "line 3: policy B: severity", NULL);
	snprintf(doc, sizeof(doc), "%sA,x,1,low,,\nB,y,2,,,\n", hdr);
	expect_fail(doc, C, -EINVAL, "line 3 (id B): severity: empty", NULL);
	snprintf(doc, sizeof(doc), "%sA,x,,low,,\n", hdr);
	expect_fail(doc, C, -EINVAL, "line 2 (id A): min_version: empty", NULL);
	snprintf(doc, sizeof(doc), "%s,x,1,low,,\n", hdr);
	expect_fail(doc, C, -EINVAL, "line 2: id: empty", NULL);
	snprintf(doc, sizeof(doc), "%sA,x,1,low,2026-02-30,\n", hdr);
	expect_fail(doc, C, -EINVAL, "line 2 (id A): effective: '2026-02-30'", NULL);
	/* Rows of one id: a second advisory row, a repeated package, disagreeing fields. */
	snprintf(doc, sizeof(doc), "%sA,,,low,,\nB,x,1,low,,\nA,,,low,,\n", hdr);
	expect_fail(doc, C, -EINVAL, "line 4 (id A): id already on line 2", NULL);
	snprintf(doc, sizeof(doc), "%sA,x,1,low,,\nA,x,2,low,,\n", hdr);
	expect_fail(doc, C, -EINVAL, "line 3 (id A): package 'x' listed twice", NULL);
	snprintf(doc, sizeof(doc), "%sA,x,1,low,,\nA,y,1,critical,,\n", hdr);
	expect_fail(doc, C, -EINVAL,
		    "line 3 (id A): severity 'critical' differs from 'low' on "
		    "line 2",
		    NULL);
	snprintf(doc, sizeof(doc), "%sA,x,1,low,asap,\nA,y,1,,2026-01-01,\n", hdr);
	expect_fail(doc, C, -EINVAL, "line 3 (id A): effective '2026-01-01' differs from 'asap'",
		    NULL);
	snprintf(doc, sizeof(doc), "%sA,x,1,low,,one\nA,y,1,,,two\n", hdr);
	expect_fail(doc, C, -EINVAL, "reason 'two' differs from 'one'", NULL);
	/* Quoting: a newline inside quotes counts for later line numbers. */
	snprintf(doc, sizeof(doc), "%sA,x,1,low,,\"two\nlines\"\nB,y,1,low,,\"open\n", hdr);
	expect_fail(doc, C, -EINVAL, "line 4: quoted field never closed", NULL);
	snprintf(doc, sizeof(doc), "%sA,x,1,low,,\"two\nlines\"\n", hdr);
	expect_fail(doc, C, -EINVAL, "line 2: policy A: reason: control character", NULL);
	snprintf(doc, sizeof(doc), "%sA,x,1,low,,\"quoted\"tail\n", hdr);
	expect_fail(doc, C, -EINVAL, "line 2: text after the closing quote of column 6", NULL);
	snprintf(doc, sizeof(doc), "%sA,x,1,low,,say \"hi\"\n", hdr);
	expect_fail(doc, C, -EINVAL, "line 2: column 6: quote inside an unquoted field", NULL);
	snprintf(doc, sizeof(doc), "%sA,x,1,low,,r\rB\n", hdr);
	expect_fail(doc, C, -EINVAL, "line 2: carriage return without line feed", NULL);
	expect_fail("id,severity\nA,lo\0w\n", C, -EINVAL, "line", NULL); /* NUL cuts the text */
	{
		static const uint8_t nul[] = "id,severity\nA,lo\0w\n";
		struct nap_policy *v = NULL;
		struct nap_store_err err;
		size_t n;

		assert_int_equal(nap_policy_import_parse(nul, sizeof(nul) - 1, C, &v, &n, &err),
				 -EINVAL);
		assert_non_null(strstr(err.msg, "line 2: NUL byte"));
		assert_null(v);
	}
	snprintf(doc, sizeof(doc), "%sA,x,1,low,,bad\xff\n", hdr);
	expect_fail(doc, C, -EINVAL, "line 2: policy A: reason: not UTF-8", NULL);
}

static void
test_csv_long(void **state)
{
	size_t cap = NAP_POLICY_IMPORT_MAX_FIELD + 64;
	char *s = malloc(cap);

	(void)state;
	assert_non_null(s);
	memcpy(s, "id,severity\nA,", 14);
	memset(s + 14, 'x', NAP_POLICY_IMPORT_MAX_FIELD + 1);
	s[14 + NAP_POLICY_IMPORT_MAX_FIELD + 1] = '\0';
	expect_fail(s, NAP_POLICY_IMPORT_CSV, -EMSGSIZE, "line 2: column 2: longer than", NULL);
	free(s);

	/* A policy of many rows: up to NAP_POLICY_MAX_REQS packages. */
	cap = (NAP_POLICY_MAX_REQS + 2) * 32;
	s = malloc(cap);
	assert_non_null(s);
	for (int extra = 0; extra <= 1; extra++) {
		size_t o = (size_t)snprintf(s, cap, "id,package,min_version,severity\n");
		struct nap_policy *v;
		struct nap_store_err err;
		size_t n;

		for (int i = 0; i < NAP_POLICY_MAX_REQS + extra; i++)
			o += (size_t)snprintf(s + o, cap - o, "ADV,pkg%d,1.%d,low\n", i, i);
		if (!extra) {
			assert_int_equal(parse(s, NAP_POLICY_IMPORT_CSV, &v, &n, &err), 0);
			assert_int_equal(n, 1);
			assert_int_equal(v[0].n_reqs, NAP_POLICY_MAX_REQS);
			assert_string_equal(v[0].reqs[255].min_version, "1.255");
			nap_policy_import_free(v, n);
		} else {
			expect_fail(s, NAP_POLICY_IMPORT_CSV, -EMSGSIZE,
				    "line 258 (id ADV): more than 256 packages", NULL);
		}
	}
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time),      cmocka_unit_test(test_guess),
		cmocka_unit_test(test_json_good), cmocka_unit_test(test_json_object),
		cmocka_unit_test(test_json_bad),  cmocka_unit_test(test_limits),
		cmocka_unit_test(test_csv_good),  cmocka_unit_test(test_csv_bad),
		cmocka_unit_test(test_csv_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
