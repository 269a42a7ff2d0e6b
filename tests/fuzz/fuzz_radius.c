// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * libFuzzer harness for the RADIUS codec (untrusted input): decode, verify both ways with a
 * fixed secret, run the dictionary checks and the MS-Quarantine-SoH concatenation, then rebuild
 * the packet from its decoded attributes with the builder and check that the result decodes to
 * the same attributes and authenticates. Any broken invariant aborts.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nap/radius.h"

static const uint8_t fuzz_secret[] = "fuzz-secret";
#define FUZZ_SECRET_LEN (sizeof(fuzz_secret) - 1)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

static size_t
rebuilt_size(const struct nap_radius_attr *a)
{
	if (a->type == NAP_RADIUS_VENDOR_SPECIFIC && a->vendor_type != 0)
		return 8 + (size_t)a->len;
	return 2 + (size_t)a->len;
}

static int
rebuild_attr(struct nap_radius_builder *b, const struct nap_radius_attr *a)
{
	if (a->type == NAP_RADIUS_MESSAGE_AUTHENTICATOR)
		return nap_radius_add_message_authenticator(b);
	if (a->type == NAP_RADIUS_VENDOR_SPECIFIC && a->vendor_type != 0)
		return nap_radius_add_vsa(b, a->vendor, a->vendor_type, a->value, a->len);
	return nap_radius_add_attr(b, a->type, a->value, a->len);
}

static void
same_attrs(const struct nap_radius_packet *x, const struct nap_radius_packet *y)
{
	CHECK(x->n_attrs == y->n_attrs);
	for (uint16_t i = 0; i < x->n_attrs; i++) {
		const struct nap_radius_attr *a = &x->attrs[i], *b = &y->attrs[i];

		CHECK(a->type == b->type && a->vendor == b->vendor &&
		      a->vendor_type == b->vendor_type && a->len == b->len);
		if (a->type != NAP_RADIUS_MESSAGE_AUTHENTICATOR)
			CHECK(a->len == 0 || memcmp(a->value, b->value, a->len) == 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct nap_radius_packet pkt, again;
	static struct nap_radius_builder b;
	static uint8_t concat[NAP_RADIUS_MAX_LEN];
	static const uint8_t req_auth[NAP_RADIUS_AUTH_LEN] = {1, 2, 3, 4, 5, 6, 7, 8,
							      9, 10, 11, 12, 13, 14, 15, 16};
	struct nap_err err = {0};
	const uint8_t *out;
	size_t out_len, want = NAP_RADIUS_HDR_LEN, sum = 0;
	int r;
	long n;

	r = nap_radius_decode(data, size, &pkt, &err);
	if (r < 0) {
		CHECK(r == -EBADMSG || r == -EMSGSIZE);
		CHECK(err.what != NULL && err.offset <= size);
		return 0;
	}
	CHECK(pkt.length >= NAP_RADIUS_HDR_LEN && pkt.length <= size &&
	      pkt.length <= NAP_RADIUS_MAX_LEN);
	CHECK(pkt.n_attrs <= NAP_RADIUS_MAX_ATTRS);

	r = nap_radius_verify_request(&pkt, fuzz_secret, FUZZ_SECRET_LEN, true);
	CHECK(r == 0 || r == -ENOMSG || r == -EPERM);
	r = nap_radius_verify_response(&pkt, req_auth, fuzz_secret, FUZZ_SECRET_LEN);
	CHECK(r == 0 || r == -EPERM);

	for (uint16_t i = 0; i < pkt.n_attrs; i++) {
		const struct nap_radius_attr *a = &pkt.attrs[i];

		CHECK(a->offset >= NAP_RADIUS_HDR_LEN && a->offset < pkt.length);
		CHECK(a->value >= data && a->value + a->len <= data + pkt.length);
		r = nap_radius_attr_check(a);
		CHECK(r == 0 || r == -EBADMSG);
		(void)nap_radius_attr_lookup(a);
		if (a->type == NAP_RADIUS_VENDOR_SPECIFIC && a->vendor == NAP_RADIUS_VENDOR_MS &&
		    a->vendor_type == NAP_MS_QUARANTINE_SOH)
			sum += a->len;
		want += rebuilt_size(a);
	}
	r = nap_radius_packet_check(&pkt, &err);
	CHECK(r == 0 || r == -EBADMSG);
	n = nap_radius_ms_concat(&pkt, NAP_MS_QUARANTINE_SOH, concat, sizeof(concat));
	CHECK(n >= 0 && (size_t)n == sum);
	(void)nap_radius_code_name(pkt.code);

	/* Rebuild: one VSA per sub-attribute, so the result may grow past 4096 bytes. */
	nap_radius_build_init(&b, pkt.code, pkt.id, pkt.authenticator);
	r = 0;
	for (uint16_t i = 0; i < pkt.n_attrs && r == 0; i++)
		r = rebuild_attr(&b, &pkt.attrs[i]);
	if (want > NAP_RADIUS_MAX_LEN) {
		CHECK(r == -EMSGSIZE);
		return 0;
	}
	CHECK(r == 0);
	CHECK(nap_radius_finish_request(&b, fuzz_secret, FUZZ_SECRET_LEN, &out, &out_len) == 0);
	CHECK(out_len == want);
	CHECK(nap_radius_decode(out, out_len, &again, &err) == 0);
	same_attrs(&pkt, &again);
	r = nap_radius_verify_request(&again, fuzz_secret, FUZZ_SECRET_LEN, false);
	CHECK(r == 0);
	CHECK(nap_radius_finish_response(&b, req_auth, fuzz_secret, FUZZ_SECRET_LEN, &out,
					 &out_len) == 0);
	CHECK(nap_radius_decode(out, out_len, &again, &err) == 0);
	same_attrs(&pkt, &again);
	CHECK(nap_radius_verify_response(&again, req_auth, fuzz_secret, FUZZ_SECRET_LEN) == 0);
	return 0;
}
