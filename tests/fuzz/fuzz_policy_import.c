// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * libFuzzer harness for policy import files (untrusted input): every input goes through
 * nap_policy_import_parse as JSON and as CSV. A success must hand back policies that pass
 * nap_policy_check; a failure must return nothing and say why.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nap/policy_import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_one(const uint8_t *data, size_t size, enum nap_policy_import_format format)
{
	struct nap_policy *v = NULL;
	struct nap_store_err err;
	size_t n = 0, total = 0;

	memset(&err, 0, sizeof(err));
	if (nap_policy_import_parse(data, size, format, &v, &n, &err) < 0) {
		if (v != NULL || n != 0 || err.msg[0] == '\0')
			abort();
		return;
	}
	if (v == NULL || n > NAP_POLICY_IMPORT_MAX_POLICIES)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (nap_policy_check(&v[i], &err) < 0)
			abort();
		for (size_t j = 0; j < v[i].n_reqs; j++)
			total += strlen(v[i].reqs[j].package) + strlen(v[i].reqs[j].min_version);
		if (v[i].reason != NULL)
			total += strlen(v[i].reason);
	}
	if (total == SIZE_MAX)
		abort();
	nap_policy_import_free(v, n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_one(data, size, NAP_POLICY_IMPORT_JSON);
	fuzz_one(data, size, NAP_POLICY_IMPORT_CSV);
	(void)nap_policy_import_guess(data, size);
	return 0;
}
