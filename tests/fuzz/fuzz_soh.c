// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * libFuzzer harness for the SoH decoder: decode; on success re-encode and require the input
 * bytes back exactly; then run the entry decoders (MS-WSH, nap) over every entry found.
 * Input: untrusted bytes, as they arrive in a RADIUS VSA, a DHCP option or PEAP.
 */
#include <stdlib.h>
#include <string.h>

#include "nap/health.h"
#include "nap/soh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct nap_soh soh;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nap_err err;
	uint8_t *out;
	size_t out_len;

	if (nap_soh_decode(data, size, &soh, &err) != 0) {
		if (err.what == NULL || err.offset > size)
			abort();
		return 0;
	}
	if (nap_soh_encode_alloc(&soh, &out, &out_len) != 0)
		abort();
	if (out_len != size || memcmp(out, data, size) != 0)
		abort();
	free(out);
	(void)nap_soh_is_request(&soh);
	(void)nap_soh_correlation_id(&soh);
	for (uint16_t i = 0; i < soh.n_entries; i++) {
		const struct nap_soh_entry *e = &soh.entries[i];
		struct nap_wsh w;
		struct nap_wshv wv;
		struct nap_health h;
		struct nap_health_response r;

		if (e->system_health_id == NAP_SHID_WSH) {
			if (nap_wsh_decode(&soh, e, &w, &err) < 0 && err.offset > size)
				abort();
			if (nap_wshv_decode(&soh, e, &wv, &err) < 0 && err.offset > size)
				abort();
		} else if (e->system_health_id == NAP_SHID_NAP) {
			if (nap_health_decode(&soh, e, &h, &err) < 0 && err.offset > size)
				abort();
			if (nap_health_response_decode(&soh, e, &r, &err) < 0 && err.offset > size)
				abort();
		}
		for (uint16_t k = 0; k < e->n_attrs; k++)
			(void)nap_soh_attr_name(soh.attrs[e->first_attr + k].raw_type);
	}
	return 0;
}
