// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Unit tests for the agent endpoint's POST /v1/state parser (napsited_state_parse) and its
 * strict RFC 3339 times: every member's type and range, the id charset and count, duplicates,
 * unknown members, sizes, and that a refused body leaves nothing behind.
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

#include "agent.h"

#define DIGEST "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static int
parse(const char *text, struct nap_agent_state *s, char *err, size_t len)
{
	return napsited_state_parse((const uint8_t *)text, strlen(text), s, err, len);
}

/* The body must be refused with a message containing want. */
static void
refused(const char *text, const char *want)
{
	struct nap_agent_state s;
	char err[256] = "";

	if (parse(text, &s, err, sizeof(err)) != -EINVAL) {
		print_error("accepted: %s\n", text);
		fail();
	}
	if (strstr(err, want) == NULL) {
		print_error("message \"%s\" lacks \"%s\" for %s\n", err, want, text);
		fail();
	}
	assert_null(s.detail);
	assert_int_equal(s.n_missing, 0);
}

static void
test_full(void **state)
{
	struct nap_agent_state s;
	char err[256];

	(void)state;
	assert_int_equal(parse("{\"state\":3,\"compliant\":false,\"hsr_revision\":42,"
			       "\"hsr_digest\":\"" DIGEST "\",\"evaluated\":\"2026-11-25T10:00:00Z\","
			       "\"missing\":[\"DSA-5555-1\",\"openssl\"],"
			       "\"detail\":{\"z\":1,\"a\":[true,null]}}",
			       &s, err, sizeof(err)),
			 0);
	assert_int_equal(s.state, NAP_AGENT_RESTRICTED);
	assert_false(s.compliant);
	assert_int_equal(s.hsr_revision, 42);
	assert_string_equal(s.hsr_digest, DIGEST);
	assert_int_equal(s.evaluated, 1795600800);
	assert_int_equal(s.n_missing, 2);
	assert_string_equal(s.missing[0], "DSA-5555-1");
	assert_string_equal(s.missing[1], "openssl");
	/* Compact, keys sorted: what the store keeps does not depend on the agent's spacing. */
	assert_string_equal(s.detail, "{\"a\":[true,null],\"z\":1}");
	assert_string_equal(s.client, "");
	assert_int_equal(s.received, 0);
	free(s.detail);
}

static void
test_minimal(void **state)
{
	struct nap_agent_state s;
	char err[256];

	(void)state;
	assert_int_equal(parse("{\"evaluated\":\"2026-11-25T10:00:00Z\",\"hsr_revision\":0,"
			       "\"compliant\":true,\"state\":1,\"detail\":null,\"missing\":[]}",
			       &s, err, sizeof(err)),
			 0);
	assert_int_equal(s.state, NAP_AGENT_UNRESTRICTED);
	assert_true(s.compliant);
	assert_int_equal(s.hsr_revision, 0);
	assert_string_equal(s.hsr_digest, "");
	assert_int_equal(s.n_missing, 0);
	assert_null(s.detail);
}

static void
test_digest_case(void **state)
{
	struct nap_agent_state s;
	char err[256], upper[65];

	(void)state;
	for (size_t i = 0; i < 64; i++)
		upper[i] = (DIGEST[i] >= 'a' && DIGEST[i] <= 'f') ? (char)(DIGEST[i] - 32) : DIGEST[i];
	upper[64] = '\0';
	char body[512];

	snprintf(body, sizeof(body),
		 "{\"state\":2,\"compliant\":false,\"hsr_revision\":1,\"hsr_digest\":\"%s\","
		 "\"evaluated\":\"2026-11-25T10:00:00Z\"}",
		 upper);
	assert_int_equal(parse(body, &s, err, sizeof(err)), 0);
	assert_string_equal(s.hsr_digest, DIGEST);
}

#define BASE_TAIL "\"compliant\":true,\"hsr_revision\":1,\"evaluated\":\"2026-11-25T10:00:00Z\""

static void
test_refused(void **state)
{
	(void)state;
	refused("", "empty");
	refused("[]", "object");
	refused("null", "bad JSON");
	refused("{\"state\":1,", "bad JSON");
	refused("{\"state\":1," BASE_TAIL "} x", "bad JSON");
	refused("{\"state\":1,\"state\":1," BASE_TAIL "}", "bad JSON");
	refused("{\"state\":1,\"client\":\"pc9\"," BASE_TAIL "}", "unknown member \"client\"");
	refused("{\"state\":1,\"\\u0001\x7f\":0," BASE_TAIL "}", "unknown member \"??\"");
	refused("{" BASE_TAIL "}", "\"state\" is missing");
	refused("{\"state\":0," BASE_TAIL "}", "1, 2 or 3");
	refused("{\"state\":4," BASE_TAIL "}", "1, 2 or 3");
	refused("{\"state\":\"1\"," BASE_TAIL "}", "integer");
	refused("{\"state\":1.0," BASE_TAIL "}", "integer");
	refused("{\"state\":1,\"hsr_revision\":1,\"evaluated\":\"2026-11-25T10:00:00Z\"}",
		"\"compliant\" is missing");
	refused("{\"state\":1,\"compliant\":1,\"hsr_revision\":1,"
		"\"evaluated\":\"2026-11-25T10:00:00Z\"}",
		"true or false");
	refused("{\"state\":1,\"compliant\":true,\"evaluated\":\"2026-11-25T10:00:00Z\"}",
		"\"hsr_revision\" is missing");
	refused("{\"state\":1,\"compliant\":true,\"hsr_revision\":-1,"
		"\"evaluated\":\"2026-11-25T10:00:00Z\"}",
		"hsr_revision");
	refused("{\"state\":1,\"compliant\":true,\"hsr_revision\":\"7\","
		"\"evaluated\":\"2026-11-25T10:00:00Z\"}",
		"hsr_revision");
	refused("{\"state\":1,\"compliant\":true,\"hsr_revision\":1}", "\"evaluated\" is missing");
	refused("{\"state\":1," BASE_TAIL ",\"hsr_digest\":7}", "hsr_digest");
	refused("{\"state\":1," BASE_TAIL ",\"hsr_digest\":\"abc\"}", "64 hex");
	refused("{\"state\":1," BASE_TAIL ",\"hsr_digest\":\"" DIGEST "00\"}", "64 hex");
	refused("{\"state\":1," BASE_TAIL
		",\"hsr_digest\":\"g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"}",
		"hex");
	refused("{\"state\":1," BASE_TAIL ",\"missing\":\"openssl\"}", "array");
	refused("{\"state\":1," BASE_TAIL ",\"missing\":[1]}", "\"missing\"[0] must be a string");
	refused("{\"state\":1," BASE_TAIL ",\"missing\":[\"\"]}", "not an id");
	refused("{\"state\":1," BASE_TAIL ",\"missing\":[\"a b\"]}", "not an id");
	refused("{\"state\":1," BASE_TAIL ",\"missing\":[\"ok\",\"a/b\"]}", "\"missing\"[1]");
	refused("{\"state\":1," BASE_TAIL ",\"missing\":[\"caf\\u00e9\"]}", "not an id");
	refused("{\"state\":1," BASE_TAIL ",\"missing\":[\"x\",\"y\",\"x\"]}", "repeats \"x\"");
	refused("{\"state\":1," BASE_TAIL ",\"detail\":[1]}", "\"detail\" must be an object");
	refused("{\"state\":1," BASE_TAIL ",\"detail\":\"text\"}", "\"detail\" must be an object");
	refused("{\"state\":1,\"compliant\":true,\"hsr_revision\":1,\"evaluated\":\"x\\u0000\"}",
		"bad JSON");
	refused("{\"state\":1,\"compliant\":true,\"hsr_revision\":1,\"evaluated\":1}", "RFC 3339");
	refused("{\"state\":1,\"compliant\":true,\"hsr_revision\":1,\"evaluated\":\"2026-11-25\"}",
		"RFC 3339");
	refused("{\"state\":1,\"compliant\":true,\"hsr_revision\":1,\"evaluated\":\"\xff\xfe\"}",
		"bad JSON");
}

static void
test_id_limits(void **state)
{
	struct nap_agent_state s;
	char err[256], body[4096], id[NAP_UPDATE_ID_MAX + 2];
	size_t n;

	(void)state;
	memset(id, 'a', NAP_UPDATE_ID_MAX);
	id[NAP_UPDATE_ID_MAX] = '\0';
	snprintf(body, sizeof(body), "{\"state\":1," BASE_TAIL ",\"missing\":[\"%s\",\"%s\"]}",
		 id, "Aa0._:+~-");
	assert_int_equal(parse(body, &s, err, sizeof(err)), 0);
	assert_string_equal(s.missing[0], id);
	assert_string_equal(s.missing[1], "Aa0._:+~-");
	memset(id, 'a', NAP_UPDATE_ID_MAX + 1);
	id[NAP_UPDATE_ID_MAX + 1] = '\0';
	snprintf(body, sizeof(body), "{\"state\":1," BASE_TAIL ",\"missing\":[\"%s\"]}", id);
	refused(body, "not an id");

	/* Exactly NAP_AGENT_MAX_MISSING ids pass, one more does not. */
	n = (size_t)snprintf(body, sizeof(body), "{\"state\":3," BASE_TAIL ",\"missing\":[");
	for (int i = 0; i < NAP_AGENT_MAX_MISSING; i++)
		n += (size_t)snprintf(body + n, sizeof(body) - n, "%s\"p%d\"", i ? "," : "", i);
	snprintf(body + n, sizeof(body) - n, "]}");
	assert_int_equal(parse(body, &s, err, sizeof(err)), 0);
	assert_int_equal(s.n_missing, NAP_AGENT_MAX_MISSING);
	assert_string_equal(s.missing[NAP_AGENT_MAX_MISSING - 1], "p31");
	snprintf(body + n, sizeof(body) - n, ",\"p99\"]}");
	refused(body, "at most 32");
}

static void
test_sizes(void **state)
{
	size_t cap = NAPSITED_AGENT_BODY_MAX + 64, n;
	char *body = malloc(cap);
	struct nap_agent_state s;
	char err[256];

	(void)state;
	assert_non_null(body);
	/* A body just under the limit with a large detail passes. */
	n = (size_t)snprintf(body, cap, "{\"state\":1," BASE_TAIL ",\"detail\":{\"pad\":\"");
	while (n < NAPSITED_AGENT_BODY_MAX - 3)
		body[n++] = 'x';
	memcpy(body + n, "\"}}", 3);
	n += 3;
	assert_int_equal(napsited_state_parse((const uint8_t *)body, n, &s, err, sizeof(err)), 0);
	assert_non_null(s.detail);
	free(s.detail);
	/* One byte more does not, whatever it is. */
	body[n] = ' ';
	assert_int_equal(napsited_state_parse((const uint8_t *)body, n + 1, &s, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "larger than"));
	assert_null(s.detail);
	free(body);
}

static void
test_error_printable(void **state)
{
	struct nap_agent_state s;
	char err[256];
	const char body[] = "{\"state\":1,\x01\x02\x1b[31m}";

	(void)state;
	assert_int_equal(parse(body, &s, err, sizeof(err)), -EINVAL);
	for (const char *p = err; *p != '\0'; p++)
		assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
	/* A tiny or absent message buffer is fine. */
	assert_int_equal(parse(body, &s, err, 1), -EINVAL);
	assert_string_equal(err, "");
	assert_int_equal(parse(body, &s, NULL, 0), -EINVAL);
}

static void
test_time(void **state)
{
	int64_t t;

	(void)state;
	assert_int_equal(napsited_state_parse_time("1970-01-01T00:00:00Z", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(napsited_state_parse_time("2026-11-25T10:00:00Z", &t), 0);
	assert_int_equal(t, 1795600800);
	assert_int_equal(napsited_state_parse_time("2026-11-25t10:00:00.999999999z", &t), 0);
	assert_int_equal(t, 1795600800);
	assert_int_equal(napsited_state_parse_time("2026-11-25T11:30:00+01:30", &t), 0);
	assert_int_equal(t, 1795600800);
	assert_int_equal(napsited_state_parse_time("2026-11-25T05:00:00-05:00", &t), 0);
	assert_int_equal(t, 1795600800);
	assert_int_equal(napsited_state_parse_time("2024-02-29T00:00:00Z", &t), 0);

	static const char *const bad[] = {
		"",
		"2026-11-25",
		"2026-11-25T10:00:00",
		"2026-11-25 10:00:00Z",
		"2026-11-25T10:00Z",
		"2026-13-01T00:00:00Z",
		"2026-00-01T00:00:00Z",
		"2026-04-31T00:00:00Z",
		"2025-02-29T00:00:00Z",
		"2100-02-29T00:00:00Z",
		"2026-11-25T24:00:00Z",
		"2026-11-25T10:60:00Z",
		"2026-11-25T10:00:60Z",
		"2026-11-25T10:00:00.Z",
		"2026-11-25T10:00:00+0100",
		"2026-11-25T10:00:00+24:00",
		"2026-11-25T10:00:00+01:00x",
		"2026-11-25T10:00:00ZZ",
		" 2026-11-25T10:00:00Z",
		"1969-12-31T23:59:59Z",
		"2026-1-25T10:00:00Z",
		"+026-11-25T10:00:00Z",
		"2026-11-25T10:00:00.12345678901234567890123Z",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (napsited_state_parse_time(bad[i], &t) != -EINVAL) {
			print_error("accepted time \"%s\"\n", bad[i]);
			fail();
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),        cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_digest_case), cmocka_unit_test(test_refused),
		cmocka_unit_test(test_id_limits),   cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_error_printable), cmocka_unit_test(test_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
