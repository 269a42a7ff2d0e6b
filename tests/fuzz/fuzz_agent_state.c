// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * libFuzzer harness for the agent endpoint's POST /v1/state body (untrusted input):
 * napsited_state_parse() and the strict RFC 3339 time it carries (and, on the same bytes, the
 * If-None-Match matcher of GET /v1/policy). Whatever parses must satisfy
 * what the store is promised: a state of 1-3, unique ids of the policy id charset, at most
 * NAP_AGENT_MAX_MISSING of them, a digest of "" or 64 lowercase hex characters, a detail that is
 * a JSON object no larger than the body limit. A failure must leave nothing allocated.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
fuzz_id_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > NAP_UPDATE_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:+~-",
			   s[i]) == NULL)
			return false;
	return true;
}

static void
fuzz_check(const struct nap_agent_state *s)
{
	size_t dn = strlen(s->hsr_digest);

	if (s->state < NAP_AGENT_UNRESTRICTED || s->state > NAP_AGENT_RESTRICTED)
		abort();
	if (s->n_missing > NAP_AGENT_MAX_MISSING || s->client[0] != '\0' || s->received != 0)
		abort();
	if (dn != 0 && dn != 64)
		abort();
	for (size_t i = 0; i < dn; i++)
		if (strchr("0123456789abcdef", s->hsr_digest[i]) == NULL)
			abort();
	for (size_t i = 0; i < s->n_missing; i++) {
		if (!fuzz_id_ok(s->missing[i]))
			abort();
		for (size_t j = 0; j < i; j++)
			if (strcmp(s->missing[i], s->missing[j]) == 0)
				abort();
	}
	if (s->detail != NULL) {
		json_t *d = json_loads(s->detail, 0, NULL);

		if (d == NULL || !json_is_object(d) || strlen(s->detail) > NAPSITED_AGENT_BODY_MAX)
			abort();
		json_decref(d);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nap_agent_state s;
	char err[256], tbuf[64];
	int64_t t;

	if (napsited_state_parse(data, size, &s, err, sizeof(err)) == 0) {
		fuzz_check(&s);
		free(s.detail);
	} else {
		if (s.detail != NULL || err[0] == '\0')
			abort();
		for (const char *p = err; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
				abort();
	}
	/* The same bytes as a time string. */
	if (size < sizeof(tbuf)) {
		memcpy(tbuf, data, size);
		tbuf[size] = '\0';
		(void)napsited_state_parse_time(tbuf, &t);
		/* And as an If-None-Match header. */
		(void)napsited_agent_etag_match(tbuf, "\"5\"");
	}
	return 0;
}
