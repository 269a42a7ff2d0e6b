// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * libFuzzer harness for the nap SHA/SHV entries. Input: byte 0 = length of the nap items, then
 * the items (the Vendor-Specific value after its vendor id), then the TLVs that follow it in the
 * entry. The entry is wrapped into an SoH, decoded both ways; a well-formed SHA entry is encoded
 * again and must decode to the same fields. Input: untrusted bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "nap/health.h"
#include "nap/soh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct nap_soh soh, built;
static uint8_t msg[NAP_SOH_MAX_LEN + 64];

static void
check_reencode(const struct nap_health *h)
{
	struct nap_health h2;
	uint8_t *out;
	size_t out_len;

	nap_soh_init(&built, true, NULL);
	if (nap_health_add_entry(&built, h) != 0)
		abort();
	if (nap_soh_encode_alloc(&built, &out, &out_len) != 0)
		abort();
	if (nap_soh_decode(out, out_len, &built, NULL) != 0 ||
	    nap_health_decode(&built, nap_soh_find_entry(&built, NAP_SHID_NAP), &h2, NULL) != 0)
		abort();
	if (h2.malformed_items || h2.version != h->version || strcmp(h2.site, h->site) != 0 ||
	    h2.hsr_revision != h->hsr_revision || h2.has_digest != h->has_digest ||
	    memcmp(h2.hsr_digest, h->hsr_digest, sizeof(h->hsr_digest)) != 0 ||
	    h2.eval_time != h->eval_time || h2.compliant != h->compliant ||
	    h2.n_missing != h->n_missing || h2.failure_category != h->failure_category ||
	    (h->failure_category != 0 && h2.error_code != h->error_code))
		abort();
	for (uint16_t i = 0; i < h->n_missing; i++)
		if (strcmp(h2.missing[i], h->missing[i]) != 0)
			abort();
	if (h2.n_checks != h->n_checks)
		abort();
	for (uint16_t i = 0; i < h->n_checks; i++)
		if (h2.checks[i].status != h->checks[i].status ||
		    strcmp(h2.checks[i].id, h->checks[i].id) != 0)
			abort();
	if (h->has_generation_time && h->generation_time >= 0 &&
	    h->generation_time < 100000000000LL && h2.generation_time != h->generation_time)
		abort();
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nap_health h;
	struct nap_health_response r;
	struct nap_err err;
	size_t items, k;

	if (size < 1 || size > NAP_SOH_MAX_LEN - 32)
		return 0;
	items = data[0] < size - 1 ? data[0] : size - 1;
	/* Header (inner type 1), System-Health-ID, nap Vendor-Specific, tail. */
	k = 0;
	memcpy(msg, "\x00\x07\x00\x00\x00\x00\x01\x37\x00\x01\x00\x00"
		    "\x00\x02\x00\x04\x00\x7e\xd9\x01"
		    "\x00\x07\x00\x00\x00\x7e\xd9\x01", 28);
	msg[22] = (uint8_t)((items + 4) >> 8);
	msg[23] = (uint8_t)(items + 4);
	k = 28;
	memcpy(msg + k, data + 1, items);
	k += items;
	memcpy(msg + k, data + 1 + items, size - 1 - items);
	k += size - 1 - items;
	msg[2] = (uint8_t)((k - 4) >> 8);
	msg[3] = (uint8_t)(k - 4);
	msg[10] = (uint8_t)((k - 12) >> 8);
	msg[11] = (uint8_t)(k - 12);
	if (nap_soh_decode(msg, k, &soh, &err) != 0)
		return 0;
	const struct nap_soh_entry *e = nap_soh_find_entry(&soh, NAP_SHID_NAP);
	if (e == NULL)
		abort();
	(void)nap_health_response_decode(&soh, e, &r, &err);
	if (nap_health_decode(&soh, e, &h, &err) != 0)
		return 0;
	if (!h.malformed_items)
		check_reencode(&h);
	return 0;
}
