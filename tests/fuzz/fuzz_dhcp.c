// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * libFuzzer harness for the DHCPv4 codec and the MS-DHCPN sub-options (untrusted input): decode,
 * check that every option value and every mapped offset lies inside the input, parse the NAP
 * sub-options (and an SoH they carry), then rebuild the packet from its decoded options with the
 * builder and the NAP sub-options with the NAP encoder, and check that both decode back to the
 * same values. Any broken invariant aborts.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nap/dhcp.h"
#include "nap/soh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

static void
check_nap_roundtrip(const struct nap_dhcp_packet *pkt, const struct nap_dhcp_nap *nap)
{
	static struct nap_dhcp_builder b;
	static struct nap_dhcp_packet again;
	static struct nap_dhcp_nap nap2;
	const uint8_t *out;
	size_t out_len;
	int r;

	nap_dhcp_build_init(&b, &pkt->hdr, NAP_DHCP_MAX_LEN);
	r = nap_dhcp_add_nap(&b, nap);
	if (r == -EMSGSIZE)
		return;
	CHECK(r == 0);
	CHECK(nap_dhcp_finish(&b, &out, &out_len) == 0);
	CHECK(nap_dhcp_decode(out, out_len, &again, NULL) == 0);
	CHECK(nap_dhcp_nap_parse(&again, &nap2, NULL) == 0);
	CHECK(nap2.present == nap->present || !nap->present);
	CHECK(nap2.soh_kind == nap->soh_kind);
	CHECK(!nap2.marker_pan); /* always re-sent as "NAP" */
	CHECK(nap2.soh_len == nap->soh_len || nap->soh_kind != NAP_DHCP_SOH_DATA);
	if (nap->soh_kind == NAP_DHCP_SOH_DATA)
		CHECK(memcmp(nap2.soh, nap->soh, nap->soh_len) == 0);
	CHECK(nap2.has_coid == nap->has_coid && nap2.has_mask == nap->has_mask &&
	      nap2.has_ipv6 == nap->has_ipv6 && nap2.n_ipv6 == nap->n_ipv6);
	CHECK(!nap->has_coid || memcmp(nap2.coid, nap->coid, sizeof(nap->coid)) == 0);
	CHECK(!nap->has_mask || memcmp(nap2.mask, nap->mask, 4) == 0);
	CHECK(memcmp(nap2.ipv6, nap->ipv6, 16 * (size_t)nap->n_ipv6) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct nap_dhcp_packet pkt, again;
	static struct nap_dhcp_nap nap;
	static struct nap_dhcp_builder b;
	static struct nap_soh soh;
	struct nap_err err = {0};
	const uint8_t *out;
	size_t out_len, sum = 0, want;
	int r;

	r = nap_dhcp_decode(data, size, &pkt, &err);
	if (r < 0) {
		CHECK(r == -EBADMSG || r == -EMSGSIZE || r == -ENOTSUP);
		CHECK(err.what != NULL && err.offset <= size);
		return 0;
	}
	CHECK(size >= NAP_DHCP_OPTIONS_AT && size <= NAP_DHCP_MAX_LEN);
	CHECK(pkt.overload <= 3);
	for (uint16_t i = 0; i < pkt.n_parts; i++)
		CHECK((size_t)pkt.parts[i].value_at + pkt.parts[i].len <= size);
	for (uint16_t i = 0; i < pkt.n_options; i++) {
		const struct nap_dhcp_option *o = &pkt.options[i];

		CHECK(o->code != 0 && o->code != 255);
		CHECK(nap_dhcp_find(&pkt, o->code) == o);
		CHECK(o->offset + 2 <= size && o->n_parts >= 1);
		CHECK(o->value >= pkt.arena && o->value + o->len <= pkt.arena + pkt.arena_len);
		for (size_t k = 0; k < o->len; k += 1 + o->len / 8)
			CHECK(data[nap_dhcp_value_offset(&pkt, o->code, k)] == o->value[k]);
		sum += o->len;
	}
	CHECK(sum == pkt.arena_len);
	(void)nap_dhcp_message_type_name(nap_dhcp_message_type(&pkt));

	r = nap_dhcp_nap_parse(&pkt, &nap, &err);
	if (r < 0) {
		CHECK(r == -EBADMSG || r == -EMSGSIZE);
		CHECK(err.what != NULL && err.offset <= size);
	} else {
		if (nap.soh_kind == NAP_DHCP_SOH_DATA) {
			CHECK(nap.soh_len > 0 && nap.soh_len <= NAP_DHCP_NAP_SOH_MAX);
			for (size_t k = 0; k < nap.soh_len; k += 1 + nap.soh_len / 8)
				CHECK(data[nap_dhcp_nap_soh_offset(&pkt, k)] == nap.soh[k]);
			r = nap_soh_decode(nap.soh, nap.soh_len, &soh, &err);
			CHECK(r == 0 || err.offset <= nap.soh_len);
		}
		if (nap.present)
			check_nap_roundtrip(&pkt, &nap);
	}

	/* Rebuild every option (not 52: the rebuilt message does not overload). */
	nap_dhcp_build_init(&b, &pkt.hdr, NAP_DHCP_MAX_LEN);
	want = NAP_DHCP_OPTIONS_AT + 1;
	r = 0;
	for (uint16_t i = 0; i < pkt.n_options && r == 0; i++) {
		const struct nap_dhcp_option *o = &pkt.options[i];

		if (o->code == NAP_DHCP_OPT_OVERLOAD)
			continue;
		want += o->len + 2 * (o->len == 0 ? 1 : (o->len + 254) / 255);
		r = nap_dhcp_add_option(&b, o->code, o->value, o->len);
	}
	if (want > NAP_DHCP_MAX_LEN) {
		CHECK(r == -EMSGSIZE);
		return 0;
	}
	CHECK(r == 0);
	CHECK(nap_dhcp_finish(&b, &out, &out_len) == 0);
	CHECK(out_len == (want < NAP_DHCP_MIN_LEN ? NAP_DHCP_MIN_LEN : want));
	CHECK(nap_dhcp_decode(out, out_len, &again, &err) == 0 || pkt.overload != 0);
	if (pkt.overload == 0) {
		CHECK(again.n_options == pkt.n_options);
		for (uint16_t i = 0; i < again.n_options; i++) {
			const struct nap_dhcp_option *a = &again.options[i], *o = &pkt.options[i];

			CHECK(a->code == o->code && a->len == o->len);
			CHECK(a->len == 0 || memcmp(a->value, o->value, a->len) == 0);
		}
	}
	return 0;
}
