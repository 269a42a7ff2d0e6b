// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * libFuzzer harness for the HCEP codec: the input is decoded as a PKCS#10 request body (then
 * checked both as from an authenticated and an unauthenticated client, and its SoH handed to
 * the SoH decoder), as a PKCS#7 response body, and, cut at its first NUL, as the header values
 * the HTTP check reads. Input: untrusted bytes, as an HRA receives them.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "nap/hcep.h"
#include "nap/soh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct nap_soh soh;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nap_hcep_request *r = NULL;
	STACK_OF(X509) *certs = NULL;
	struct nap_err err = {0, NULL};
	char text[128];
	size_t n;

	if (nap_hcep_request_decode(data, size, &r, &err) == 0) {
		(void)nap_hcep_request_check(r, false, NULL, &err);
		(void)nap_hcep_request_check(r, true, "pc17.example.org", &err);
		if (r->soh != NULL) {
			if (r->soh_len > NAP_SOH_MAX_LEN || r->soh_offset + r->soh_len > size)
				abort();
			(void)nap_soh_decode(r->soh, r->soh_len, &soh, &err);
		}
		nap_hcep_request_free(r);
	} else if (err.what == NULL || r != NULL) {
		abort();
	}
	err.what = NULL;
	if (nap_hcep_chain_decode(data, size, &certs, &err) == 0)
		sk_X509_pop_free(certs, X509_free);
	else if (err.what == NULL || certs != NULL)
		abort();

	n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
	memcpy(text, data, n);
	text[n] = '\0';
	{
		struct nap_hcep_http_request h = {
			.method = "POST",
			.content_type = text,
			.hcep_version = text,
			.correlation_id = text,
			.has_content_length = true,
			.content_length = size,
		};
		uint8_t id[24];

		(void)nap_hcep_http_check(&h, id, &err);
		h.content_type = NAP_HCEP_CONTENT_TYPE_REQUEST;
		h.hcep_version = NAP_HCEP_VERSION;
		(void)nap_hcep_http_check(&h, id, &err);
	}
	return 0;
}
