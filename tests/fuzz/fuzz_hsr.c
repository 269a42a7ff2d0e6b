// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * libFuzzer harness for HSR documents (untrusted input): nap_hsr_set_parse without a keyring
 * (digest checks only) and with the TEST-ONLY public key of tests/vectors/hsr, so that inputs
 * derived from the signed samples reach the signature check. Every parsed set is walked.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nap/hsr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* tests/vectors/hsr/TEST-ONLY-ed25519-public.pem */
static const char test_only_pub[] = "-----BEGIN PUBLIC KEY-----\n"
				    "MCowBQYDK2VwAyEA08Ewm/uh3gQZWyVEslRaijFAdDqznWx+0Slg8IWrqKQ=\n"
				    "-----END PUBLIC KEY-----\n";

static struct nap_keyring *fuzz_kr;

/* A client name from the input bytes (printable ASCII only, as napvd passes them). */
static void
fuzz_name(const uint8_t *data, size_t size, char out[NAP_HSR_MAX_CLIENT + 1])
{
	size_t n = 0;

	for (size_t i = size > 64 ? size - 64 : 0; i < size && n < NAP_HSR_MAX_CLIENT; i++) {
		if (data[i] > 0x20 && data[i] < 0x7f)
			out[n++] = (char)data[i];
	}
	out[n] = '\0';
}

static void
fuzz_exempt(const struct nap_hsr *h, const char *client)
{
	char missing[NAP_HEALTH_MAX_MISSING][NAP_UPDATE_ID_MAX + 1];
	const char *id = NULL;
	size_t n = 0;

	for (size_t j = 0; j < h->n_policies && n < NAP_HEALTH_MAX_MISSING; j++)
		snprintf(missing[n++], sizeof(missing[0]), "%s", h->policies[j].id);
	for (int64_t now = 0; now <= 2000000000; now += 1000000000) {
		if (nap_hsr_exempt(h, client, NULL, 0, now, &id) && id == NULL)
			abort();
		if (nap_hsr_exempt(h, client, (const char(*)[NAP_UPDATE_ID_MAX + 1])missing, n,
				   now, &id) &&
		    id == NULL)
			abort();
	}
}

static void
fuzz_walk(const struct nap_hsr_set *set, const uint8_t *data, size_t size)
{
	char name[NAP_HSR_MAX_CLIENT + 1];
	size_t total = 0;

	fuzz_name(data, size, name);
	for (size_t i = 0; i < set->n; i++) {
		const struct nap_hsr *h = &set->v[i];

		if (nap_hsr_set_find(set, h->site) != h)
			abort();
		for (size_t j = 0; j < h->n_policies; j++) {
			const struct nap_hsr_policy *p = &h->policies[j];

			total += strlen(p->id) + strlen(p->severity);
			if (p->package != NULL)
				total += strlen(p->min_version);
			if ((p->package != NULL && p->n_reqs != 1) || p->n_reqs > NAP_HSR_MAX_REQS)
				abort();
			for (size_t k = 0; k < p->n_reqs; k++)
				total += strlen(p->reqs[k].package) + strlen(p->reqs[k].min_version);
		}
		for (size_t j = 0; j < h->n_exemptions; j++) {
			const struct nap_hsr_exemption *e = &h->exemptions[j];

			if ((e->client == NULL) == (e->group == NULL))
				abort();
			total += strlen(e->id) + e->n_policies;
			if (e->client != NULL && j < 4)
				fuzz_exempt(h, e->client); /* the pattern as a name */
		}
		for (size_t j = 0; j < h->n_groups; j++) {
			total += h->groups[j].n_members;
			for (size_t k = 0; k < h->groups[j].n_members && j < 4 && k < 4; k++)
				fuzz_exempt(h, h->groups[j].members[k]);
		}
		fuzz_exempt(h, name);
	}
	if (total == SIZE_MAX)
		abort();
}

/* The glob matcher on its own: pattern and name from the two halves of the input. */
static void
fuzz_glob(const uint8_t *data, size_t size)
{
	char pattern[NAP_HSR_MAX_CLIENT + 1], name[NAP_HSR_MAX_CLIENT + 1];
	size_t half = size / 2, np = 0, nn = 0;

	for (size_t i = 0; i < half && np < NAP_HSR_MAX_CLIENT; i++)
		if (data[i] != 0)
			pattern[np++] = (char)data[i];
	for (size_t i = half; i < size && nn < NAP_HSR_MAX_CLIENT; i++)
		if (data[i] != 0)
			name[nn++] = (char)data[i];
	pattern[np] = name[nn] = '\0';
	(void)nap_hsr_name_match(pattern, name);
	/* A name always matches itself once its glob characters are quoted. */
	if (strpbrk(name, "*?[\\") == NULL && !nap_hsr_name_match(name, name))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nap_hsr_set *set = NULL;
	struct nap_err err = {0};

	fuzz_glob(data, size);

	if (fuzz_kr == NULL) {
		if (nap_keyring_new(&fuzz_kr) < 0 ||
		    nap_keyring_add_pem(fuzz_kr, (const uint8_t *)test_only_pub,
					strlen(test_only_pub)) < 0)
			abort();
	}
	if (nap_hsr_set_parse(data, size, NULL, &set, &err) == 0) {
		fuzz_walk(set, data, size);
		nap_hsr_set_free(set);
	} else if (set != NULL || err.what == NULL) {
		abort();
	}
	set = NULL;
	if (nap_hsr_set_parse(data, size, fuzz_kr, &set, &err) == 0) {
		fuzz_walk(set, data, size);
		nap_hsr_set_free(set);
	} else if (set != NULL || err.what == NULL) {
		abort();
	}
	return 0;
}
