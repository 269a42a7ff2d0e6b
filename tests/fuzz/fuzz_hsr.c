// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * libFuzzer harness for HSR documents (untrusted input): nap_hsr_set_parse without a keyring
 * (digest checks only) and with the TEST-ONLY public key of tests/vectors/hsr, so that inputs
 * derived from the signed samples reach the signature check. Every parsed set is walked.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nap/hsr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* tests/vectors/hsr/TEST-ONLY-ed25519-public.pem */
static const char test_only_pub[] = "-----BEGIN PUBLIC KEY-----\n"
				    "MCowBQYDK2VwAyEA08Ewm/uh3gQZWyVEslRaijFAdDqznWx+0Slg8IWrqKQ=\n"
				    "-----END PUBLIC KEY-----\n";

static struct nap_keyring *fuzz_kr;

static void
fuzz_walk(const struct nap_hsr_set *set)
{
	size_t total = 0;

	for (size_t i = 0; i < set->n; i++) {
		const struct nap_hsr *h = &set->v[i];

		if (nap_hsr_set_find(set, h->site) != h)
			abort();
		for (size_t j = 0; j < h->n_policies; j++) {
			total += strlen(h->policies[j].id) + strlen(h->policies[j].severity);
			if (h->policies[j].package != NULL)
				total += strlen(h->policies[j].min_version);
		}
	}
	if (total == SIZE_MAX)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nap_hsr_set *set = NULL;
	struct nap_err err = {0};

	if (fuzz_kr == NULL) {
		if (nap_keyring_new(&fuzz_kr) < 0 ||
		    nap_keyring_add_pem(fuzz_kr, (const uint8_t *)test_only_pub,
					strlen(test_only_pub)) < 0)
			abort();
	}
	if (nap_hsr_set_parse(data, size, NULL, &set, &err) == 0) {
		fuzz_walk(set);
		nap_hsr_set_free(set);
	} else if (set != NULL || err.what == NULL) {
		abort();
	}
	set = NULL;
	if (nap_hsr_set_parse(data, size, fuzz_kr, &set, &err) == 0) {
		fuzz_walk(set);
		nap_hsr_set_free(set);
	} else if (set != NULL || err.what == NULL) {
		abort();
	}
	return 0;
}
