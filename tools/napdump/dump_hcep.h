/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Decoded views of HCEP messages (the PKCS#10 request body, the PKCS#7 response body) as JSON
 * trees for napdump. Handles untrusted input (through libnap's HCEP and SoH decoders).
 */
#ifndef NAP_TOOLS_DUMP_HCEP_H
#define NAP_TOOLS_DUMP_HCEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "nap/error.h"

/*
 * PEM input ("-----BEGIN ...") to DER: *out is malloc'ed. Returns 1 when the text was PEM and
 * decoded, 0 when it is not PEM, a negative errno (err filled) for broken PEM.
 */
int dump_hcep_pem(const uint8_t *text, size_t len, uint8_t **out, size_t *out_len,
		  struct nap_err *err);

/*
 * Decode an HCEP request (DER PKCS#10) or, failing that, a response (DER PKCS#7 certs-only) and
 * describe it. Returns a negative errno with err filled when neither decodes (the request's
 * error). Otherwise 0 with *out set; *problem is set (err filled) when the request's signature
 * does not verify or its SoH is malformed (offset into the input; "soh_error" replaces "soh").
 */
int dump_hcep(const uint8_t *p, size_t len, json_t **out, bool *problem, struct nap_err *err);

#endif
