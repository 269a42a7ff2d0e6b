// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * libFuzzer harness for naphrad's lean PKCS#10 reader (daemons/naphrad/csr.c), differential:
 * every input goes through naphrad_csr_decode() (lean reader, library fallback) and through
 * nap_hcep_request_decode() alone. Both must accept or refuse alike, and on acceptance agree on
 * everything naphrad uses: the signature verdict, the key type and size, the SoH bytes, the SAN
 * and EKU findings, and the SubjectPublicKeyInfo (the lean reader's bytes as received, the
 * library's re-encoded).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "nap/hcep.h"
#include "naphrad.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct naphrad_csr_keys *keys;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nap_hcep_request *a = NULL, *b = NULL;
	struct nap_err ea = {0}, eb = {0};
	uint8_t *spki = NULL;
	unsigned char *der = NULL;
	size_t spki_len = 0;
	bool lean;
	int ra, rb, n;

	if (keys == NULL && naphrad_csr_keys_new(&keys) < 0)
		abort();
	ra = naphrad_csr_decode(keys, data, size, &a, &spki, &spki_len, &lean, &ea);
	rb = nap_hcep_request_decode(data, size, &b, &eb);
	if ((ra == 0) != (rb == 0))
		abort();
	if (ra == 0) {
		if (a->signature_ok != b->signature_ok || a->key_type != b->key_type ||
		    a->key_bits != b->key_bits || strcmp(a->key_desc, b->key_desc) != 0 ||
		    a->soh_len != b->soh_len ||
		    (a->soh_len > 0 && memcmp(a->soh, b->soh, a->soh_len) != 0) ||
		    a->soh_offset != b->soh_offset || a->n_san != b->n_san ||
		    a->n_san_dns != b->n_san_dns || a->eku_health != b->eku_health ||
		    a->eku_client_auth != b->eku_client_auth ||
		    a->has_extensions != b->has_extensions || a->has_csp_name != b->has_csp_name ||
		    a->subject_empty != b->subject_empty || strcmp(a->subject, b->subject) != 0)
			abort();
		for (size_t i = 0; i < a->n_san; i++)
			if (strcmp(a->san[i], b->san[i]) != 0)
				abort();
		n = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(b->req), &der);
		if (n <= 0 || (size_t)n != spki_len || memcmp(der, spki, spki_len) != 0)
			abort();
		OPENSSL_free(der);
	} else if (ra != rb) {
		abort(); /* the same refusal, errno-wise */
	}
	free(spki);
	nap_hcep_request_free(a);
	nap_hcep_request_free(b);
	return 0;
}
