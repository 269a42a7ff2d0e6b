// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Unit tests for the agent endpoint's request-side helpers that need no server: the
 * If-None-Match matcher of GET /v1/policy (lists, weak tags, bare tags, "*", and header values
 * cut short anywhere, which must neither match wrongly nor read past their end).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent.h"

static void
test_etag_match(void **state)
{
	(void)state;
	assert_true(napsited_agent_etag_match("\"5\"", "\"5\""));
	assert_true(napsited_agent_etag_match("W/\"5\"", "\"5\""));
	assert_true(napsited_agent_etag_match("\"4\", \"5\"", "\"5\""));
	assert_true(napsited_agent_etag_match("\"4\",W/\"5\"", "\"5\""));
	assert_true(napsited_agent_etag_match("*", "\"5\""));
	assert_true(napsited_agent_etag_match(" \t*", "\"5\""));
	assert_true(napsited_agent_etag_match("\"5\"", "\"5\""));
	assert_false(napsited_agent_etag_match("\"55\"", "\"5\""));
	assert_false(napsited_agent_etag_match("\"4\"", "\"5\""));
	assert_false(napsited_agent_etag_match("5", "\"5\""));
	assert_false(napsited_agent_etag_match("", "\"5\""));
	assert_false(napsited_agent_etag_match(" , ,", "\"5\""));
	assert_false(napsited_agent_etag_match("\"5", "\"5\""));
	assert_false(napsited_agent_etag_match("W/", "\"5\""));
	assert_false(napsited_agent_etag_match("W/,W/", "\"5\""));
	assert_false(napsited_agent_etag_match("\"", "\"5\""));
	assert_false(napsited_agent_etag_match("\"\"", "\"5\""));
	assert_false(napsited_agent_etag_match("x\"5\"", "\"5\""));
}

/* Every prefix of a header, in a buffer of exactly its size: ASan catches a read past it. */
static void
test_etag_prefixes(void **state)
{
	static const char *const headers[] = {
		"W/\"4\", \"5\"", "\"4\" ,W/", "*", "\"abc", " W/\"5\"\t,,",
	};

	(void)state;
	for (size_t h = 0; h < sizeof(headers) / sizeof(headers[0]); h++) {
		size_t n = strlen(headers[h]);

		for (size_t k = 0; k <= n; k++) {
			char *p = malloc(k + 1);

			assert_non_null(p);
			memcpy(p, headers[h], k);
			p[k] = '\0';
			(void)napsited_agent_etag_match(p, "\"5\"");
			free(p);
		}
	}
	assert_true(napsited_agent_etag_match(" W/\"5\"\t,,", "\"5\""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_etag_match),
		cmocka_unit_test(test_etag_prefixes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
