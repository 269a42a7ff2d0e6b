// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * libFuzzer harness for the SoHR side: decode the input as a response (WSHV and nap SHV
 * entries), then build an SoHR with the builder from fields taken out of the input, encode it,
 * decode it again and require the same fields back. Input: untrusted bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "nap/health.h"
#include "nap/soh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct nap_soh soh, built;

static uint32_t
take32(const uint8_t **p, size_t *n)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		v = v << 8 | (*n > 0 ? **p : 0);
		if (*n > 0) {
			(*p)++;
			(*n)--;
		}
	}
	return v;
}

static void
decode_response(const uint8_t *data, size_t size)
{
	struct nap_err err;

	if (nap_soh_decode(data, size, &soh, &err) != 0)
		return;
	(void)nap_soh_is_request(&soh);
	for (uint16_t i = 0; i < soh.n_entries; i++) {
		const struct nap_soh_entry *e = &soh.entries[i];
		struct nap_wshv wv;
		struct nap_health_response r;

		if (e->system_health_id == NAP_SHID_WSH)
			(void)nap_wshv_decode(&soh, e, &wv, &err);
		else if (e->system_health_id == NAP_SHID_NAP)
			(void)nap_health_response_decode(&soh, e, &r, &err);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nap_health_response r, r2;
	struct nap_wshv wv, wv2;
	uint8_t corr[NAP_CORRELATION_ID_LEN] = {0};
	const uint8_t *p = data;
	size_t n = size, out_len;
	uint8_t *out;

	decode_response(data, size);

	/* Fields for an SoHR, from the input bytes. */
	memcpy(corr, data, size < sizeof(corr) ? size : sizeof(corr));
	memset(&r, 0, sizeof(r));
	memset(&wv, 0, sizeof(wv));
	uint32_t a = take32(&p, &n), b = take32(&p, &n);
	r.result = (uint8_t)a;
	r.branch = (uint8_t)(a >> 8);
	r.instructions = (uint8_t)(a >> 16);
	r.failure_category = (uint8_t)(b % 6);
	r.hsr_revision = (uint64_t)take32(&p, &n) << 32 | take32(&p, &n);
	r.compliance_code = take32(&p, &n);
	r.has_digest = (b & 0x100) != 0;
	for (size_t i = 0; i < NAP_HSR_DIGEST_LEN; i++)
		r.hsr_digest[i] = (uint8_t)(i < n ? p[i] : 0);
	for (int c = 0; c < NAP_WSH_CLASSES; c++) {
		uint32_t bits = take32(&p, &n);

		wv.cls[c].present = (bits & 1) != 0;
		wv.cls[c].has_code2 = (bits & 2) != 0;
		wv.cls[c].has_failure = (bits & 4) != 0;
		wv.cls[c].failure_category = (uint8_t)(bits >> 8);
		wv.cls[c].code1 = take32(&p, &n);
		wv.cls[c].code2 = wv.cls[c].has_code2 ? take32(&p, &n) : 0;
	}

	nap_soh_init(&built, false, corr);
	if (nap_wshv_add_entry(&built, &wv) != 0 || nap_health_response_add_entry(&built, &r) != 0)
		abort();
	if (nap_soh_encode_alloc(&built, &out, &out_len) != 0)
		abort();
	if (nap_soh_decode(out, out_len, &soh, NULL) != 0 || nap_soh_is_request(&soh) ||
	    memcmp(nap_soh_correlation_id(&soh), corr, sizeof(corr)) != 0)
		abort();
	if (nap_wshv_decode(&soh, nap_soh_find_entry(&soh, NAP_SHID_WSH), &wv2, NULL) != 0 ||
	    nap_health_response_decode(&soh, nap_soh_find_entry(&soh, NAP_SHID_NAP), &r2, NULL) != 0)
		abort();
	if (r2.result != r.result || r2.branch != r.branch || r2.instructions != r.instructions ||
	    r2.hsr_revision != r.hsr_revision || r2.compliance_code != r.compliance_code ||
	    r2.failure_category != r.failure_category || r2.has_digest != r.has_digest ||
	    (r.has_digest && memcmp(r2.hsr_digest, r.hsr_digest, NAP_HSR_DIGEST_LEN) != 0))
		abort();
	for (int c = 0; c < NAP_WSH_CLASSES; c++) {
		const struct nap_wshv_class_result *x = &wv.cls[c], *y = &wv2.cls[c];

		if (x->present != y->present)
			abort();
		if (x->present && (x->code1 != y->code1 || x->has_code2 != y->has_code2 ||
				   x->code2 != y->code2 || x->has_failure != y->has_failure ||
				   (x->has_failure && x->failure_category != y->failure_category)))
			abort();
	}
	free(out);
	return 0;
}
