// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * SoH / SoHR codec tests: every vector of tests/vectors/soh decodes field by field as the
 * independent decoders did (or is rejected), round trips byte for byte, fails cleanly at every
 * truncation point, and the tolerances and NAP limits hold.
 */
#include <errno.h>

#include "nap/soh.h"
#include "util.h"

static const char *const valid_vectors[] = {
	"wpasupplicant-tnc-soh1.soh", "wpasupplicant-tnc-soh2.soh", "derived-v2-soh",
	"derived-v2-peap-tlv",        "derived-v2-plus-v3",         "derived-v3-wsha-only-soh",
	"derived-v4-sohr-entry-as-soh", "derived-ssoh-min-plus-v3",
};

static const char *const negative_vectors[] = {
	"derived-v1-peap-soh-request", "derived-v7-pbtnc-cdata", "derived-v8-pttls-version-request",
	"derived-v9-seg-envelope",     "derived-v2-eap-response", "wpasupplicant-tnc-soh2.eap-response",
};

static struct nap_soh soh, soh2;
static uint8_t buf[VEC_MAX], buf2[VEC_MAX];

static void
assert_roundtrip(const uint8_t *p, size_t n, const struct nap_soh *s)
{
	uint8_t *out;
	size_t out_len;

	assert_int_equal(nap_soh_encode_alloc(s, &out, &out_len), 0);
	assert_int_equal(out_len, n);
	assert_memory_equal(out, p, n);
	free(out);
}

static void
test_vectors_decode_and_roundtrip(void **state)
{
	(void)state;
	for (size_t i = 0; i < NAP_ARRAY_SIZE(valid_vectors); i++) {
		struct nap_err err = {0};
		size_t n = vec_load(valid_vectors[i], buf);
		int r = nap_soh_decode(buf, n, &soh, &err);

		if (r != 0)
			fail_msg("%s: %d %s at %zu", valid_vectors[i], r, err.what, err.offset);
		assert_roundtrip(buf, n, &soh);
	}
}

static void
test_negative_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < NAP_ARRAY_SIZE(negative_vectors); i++) {
		struct nap_err err = {0};
		size_t n = vec_load(negative_vectors[i], buf);

		assert_int_equal(nap_soh_decode(buf, n, &soh, &err), -EBADMSG);
		assert_non_null(err.what);
		assert_true(strncmp(err.what, "not an SoH", 10) == 0);
		assert_int_equal(err.offset, 0);
	}
}

/* The EAP-Responses carry the wrapped SoH after the EAP header and Expanded type (12 bytes). */
static void
test_eap_response_payload(void **state)
{
	static const char *const names[] = {"derived-v2-eap-response",
					    "wpasupplicant-tnc-soh2.eap-response"};
	(void)state;
	for (size_t i = 0; i < 2; i++) {
		size_t n = vec_load(names[i], buf);

		assert_int_equal(nap_soh_decode(buf + 12, n - 12, &soh, NULL), 0);
		assert_true(soh.wrapped);
		assert_int_equal(soh.attrs[0].offset, 12 + 46);
		assert_roundtrip(buf + 12, n - 12, &soh);
	}
}

static void
check_wpa_supplicant_ssoh(const struct nap_soh *s, const char *corr_hex)
{
	static const char name[] = "wpa_supplicant@w1.fi";
	static const uint8_t order[] = {3, 1, 5, 6, 2, 8};
	uint8_t corr[24];

	assert_int_equal(hex(corr_hex, corr), 24);
	assert_int_equal(s->inner_type, 2);
	assert_memory_equal(s->correlation_id, corr, 24);
	assert_int_equal(s->intent, 1);
	assert_int_equal(s->content_type, 0);
	assert_true(s->has_ssoh);
	assert_int_equal(s->n_entries, 1);
	assert_int_equal(s->entries[0].system_health_id, NAP_SHID_NAP_SYSTEM);
	assert_int_equal(s->entries[0].n_attrs, 2);
	assert_true(s->attrs[1].ssoh_payload);
	assert_int_equal(s->ssoh.n_order, sizeof(order));
	assert_memory_equal(s->ssoh.order, order, sizeof(order));
	assert_int_equal(s->ssoh.packet_info, 0x11);
	assert_true(nap_soh_is_request(s));
	assert_int_equal(s->ssoh.os_major, 0);
	assert_int_equal(s->ssoh.os_minor, 0);
	assert_int_equal(s->ssoh.os_build, 0);
	assert_int_equal(s->ssoh.sp_major, 0);
	assert_int_equal(s->ssoh.sp_minor, 0);
	assert_int_equal(s->ssoh.processor_arch, NAP_ARCH_X86);
	assert_int_equal(s->ssoh.machine_name_len, sizeof(name));
	assert_memory_equal(s->ssoh.machine_name, name, sizeof(name));
	assert_memory_equal(s->ssoh.correlation_id, corr, 24);
	assert_memory_equal(nap_soh_correlation_id(s), corr, 24);
	assert_int_equal(s->ssoh.qs_reserved, 0);
	assert_int_equal(s->ssoh.qs_flags, 1);
	assert_true(s->ssoh.probation_time == UINT64_MAX);
	assert_int_equal(s->ssoh.url_len, 1);
	assert_int_equal(s->ssoh.url[0], 0);
	assert_int_equal(s->ssoh.product_type, NAP_PRODUCT_CLIENT);
	assert_int_equal(s->ssoh.inv_ex_reserved, 0);
}

static void
test_golden_fields(void **state)
{
	size_t n;

	(void)state;
	n = vec_load("wpasupplicant-tnc-soh2.soh", buf);
	assert_int_equal(n, 152);
	assert_int_equal(nap_soh_decode(buf, n, &soh, NULL), 0);
	assert_false(soh.wrapped);
	check_wpa_supplicant_ssoh(&soh, "3c5a5521cdd06961387d4fdcaf8b872ecfe1a74756e866cb");

	n = vec_load("wpasupplicant-tnc-soh1.soh", buf);
	assert_int_equal(nap_soh_decode(buf, n, &soh, NULL), 0);
	check_wpa_supplicant_ssoh(&soh, "1477bc1d7097188d75ca91aa7c8adf0709f0f7a9031a50cc");

	n = vec_load("derived-v2-soh", buf);
	assert_int_equal(nap_soh_decode(buf, n, &soh, NULL), 0);
	check_wpa_supplicant_ssoh(&soh, "000102030405060708090a0b0c0d0e0f1011121314151617");

	n = vec_load("derived-v2-peap-tlv", buf);
	assert_int_equal(nap_soh_decode(buf, n, &soh, NULL), 0);
	assert_true(soh.wrapped);
	check_wpa_supplicant_ssoh(&soh, "000102030405060708090a0b0c0d0e0f1011121314151617");
}

static void
test_ssoh_min_plus_v3_fields(void **state)
{
	static const uint8_t order[] = {3, 1, 8};
	size_t n = vec_load("derived-ssoh-min-plus-v3", buf);

	(void)state;
	assert_int_equal(n, 205);
	assert_int_equal(nap_soh_decode(buf, n, &soh, NULL), 0);
	assert_int_equal(soh.inner_type, 1);
	assert_true(soh.has_ssoh);
	assert_memory_equal(soh.ssoh.order, order, sizeof(order));
	assert_int_equal(soh.ssoh.os_major, 6);
	assert_int_equal(soh.ssoh.os_minor, 0);
	assert_int_equal(soh.ssoh.os_build, 6001);
	assert_int_equal(soh.ssoh.sp_major, 1);
	assert_int_equal(soh.ssoh.sp_minor, 0);
	assert_int_equal(soh.ssoh.processor_arch, NAP_ARCH_X64);
	assert_int_equal(soh.ssoh.product_type, NAP_PRODUCT_CLIENT);
	assert_true(nap_soh_is_request(&soh));
	assert_null(nap_soh_correlation_id(&soh));
	assert_int_equal(soh.n_entries, 2);
	assert_int_equal(soh.entries[1].system_health_id, NAP_SHID_WSH);
	assert_ptr_equal(nap_soh_find_entry(&soh, NAP_SHID_WSH), &soh.entries[1]);
	assert_null(nap_soh_find_entry(&soh, NAP_SHID_NAP));
	assert_int_equal(soh.entries[0].n_attrs + soh.entries[1].n_attrs, soh.n_attrs);
}

static void
test_v2_plus_v3_and_wsha_only(void **state)
{
	size_t n = vec_load("derived-v2-plus-v3", buf);

	(void)state;
	assert_int_equal(n, 302);
	assert_int_equal(nap_soh_decode(buf, n, &soh, NULL), 0);
	assert_int_equal(soh.n_entries, 2);
	assert_int_equal(soh.entries[1].system_health_id, NAP_SHID_WSH);
	/* V3: SHID, 2 VS, 5 classes (+2 names, 5 statuses), 3 VS = 18 TLVs. */
	assert_int_equal(soh.entries[1].n_attrs, 18);

	n = vec_load("derived-v3-wsha-only-soh", buf);
	assert_int_equal(nap_soh_decode(buf, n, &soh, NULL), 0);
	assert_false(soh.has_ssoh);
	assert_int_equal(soh.n_entries, 1);
	assert_int_equal(soh.entries[0].n_attrs, 18);
	assert_int_equal(soh.attrs[0].offset, 12);
	assert_true(nap_soh_is_request(&soh));

	n = vec_load("derived-v4-sohr-entry-as-soh", buf);
	assert_int_equal(nap_soh_decode(buf, n, &soh, NULL), 0);
	assert_int_equal(soh.n_entries, 1);
	assert_int_equal(soh.entries[0].system_health_id, NAP_SHID_WSH);
	assert_int_equal(soh.entries[0].n_attrs, 12); /* SHID, 5 x (class, codes), 1 FC */
	assert_string_equal(nap_soh_attr_name(soh.attrs[2].type), "Compliance-Result-Codes");
}

static void
put16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/*
 * Rewrite the outer/inner (and wrapper) lengths of a prefix so the header agrees with it: the
 * failure, if any, must then come from the TLVs themselves.
 */
static void
fix_lengths(uint8_t *p, size_t k, bool wrapped)
{
	size_t base = 0;

	if (wrapped) {
		put16(p + 2, k - 4);
		put16(p + 10, k - 12);
		base = 12;
	}
	put16(p + base + 2, k - base - 4);
	put16(p + base + 10, k - base - 12);
}

static void
test_every_truncation_point(void **state)
{
	(void)state;
	for (size_t i = 0; i < NAP_ARRAY_SIZE(valid_vectors); i++) {
		size_t n = vec_load(valid_vectors[i], buf);
		struct nap_soh full;
		size_t base, hdr;

		assert_int_equal(nap_soh_decode(buf, n, &full, NULL), 0);
		base = full.wrapped ? 12 : 0;
		hdr = base + 12 + (full.inner_type == 2 ? 34 : 0);
		for (size_t k = 0; k < n; k++) {
			struct nap_err err = {0};
			int r;

			memcpy(buf2, buf, k);
			r = nap_soh_decode(buf2, k, &soh, &err);
			if (r != -EBADMSG)
				fail_msg("%s prefix %zu: %d", valid_vectors[i], k, r);
			assert_non_null(err.what);
			assert_true(err.offset <= k);
			if (k < hdr)
				continue;
			/* Lengths fixed up: fails, or is a clean cut at a TLV boundary. */
			fix_lengths(buf2, k, full.wrapped);
			memset(&err, 0, sizeof(err));
			r = nap_soh_decode(buf2, k, &soh, &err);
			if (r == 0) {
				bool boundary = false;

				for (uint16_t a = 0; a < full.n_attrs; a++)
					if (full.attrs[a].offset == k)
						boundary = true;
				if (!boundary)
					fail_msg("%s fixed prefix %zu decoded", valid_vectors[i], k);
				assert_roundtrip(buf2, k, &soh);
			} else {
				assert_int_equal(r, -EBADMSG);
				assert_non_null(err.what);
				assert_true(err.offset <= k);
			}
		}
	}
}

static void
test_mr_bits_masked(void **state)
{
	size_t n = vec_load("derived-v2-plus-v3", buf);

	(void)state;
	assert_int_equal(nap_soh_decode(buf, n, &soh2, NULL), 0);
	/* M on the WSH System-Health-ID, R on a Health-Class, both on the SSoH Vendor-Specific. */
	assert_int_equal(soh2.entries[1].first_attr, 2);
	buf[soh2.attrs[2].offset] |= 0x80;
	buf[soh2.attrs[5].offset] |= 0x40;
	buf[soh2.attrs[1].offset] |= 0xc0;
	assert_int_equal(nap_soh_decode(buf, n, &soh, NULL), 0);
	assert_int_equal(soh.n_entries, 2);
	assert_int_equal(soh.attrs[2].type, NAP_SOH_ATTR_SYSTEM_HEALTH_ID);
	assert_int_equal(soh.attrs[2].raw_type, 0x8002);
	assert_int_equal(soh.attrs[5].type, NAP_SOH_ATTR_HEALTH_CLASS);
	assert_int_equal(soh.attrs[5].raw_type, 0x4008);
	assert_int_equal(soh.attrs[1].raw_type, 0xc007);
	assert_true(soh.has_ssoh);
	assert_true(soh.attrs[1].ssoh_payload);
	assert_roundtrip(buf, n, &soh);
}

static void
test_wrapper(void **state)
{
	size_t n = vec_load("derived-v2-peap-tlv", buf);
	size_t m = vec_load("derived-v2-soh", buf2);
	uint8_t *out;
	size_t out_len;
	struct nap_err err;

	(void)state;
	assert_int_equal(n, m + 12);
	assert_memory_equal(buf + 12, buf2, m);
	assert_int_equal(nap_soh_decode(buf, n, &soh, NULL), 0);
	assert_true(soh.wrapped);
	soh.wrapped = false;
	assert_int_equal(nap_soh_encode_alloc(&soh, &out, &out_len), 0);
	assert_int_equal(out_len, m);
	assert_memory_equal(out, buf2, m);
	free(out);

	/* The bare SoH gets the wrapper on request. */
	assert_int_equal(nap_soh_decode(buf2, m, &soh, NULL), 0);
	assert_false(soh.wrapped);
	soh.wrapped = true;
	assert_roundtrip(buf, n, &soh);

	/* Inconsistent wrapper lengths are reported where they disagree. */
	buf[3]++;
	assert_int_equal(nap_soh_decode(buf, n, &soh, &err), -EBADMSG);
	assert_int_equal(err.offset, 2);
	buf[3]--;
	buf[11]--;
	assert_int_equal(nap_soh_decode(buf, n, &soh, &err), -EBADMSG);
	assert_int_equal(err.offset, 10);
	buf[11]++;
	buf[12 + 3]++; /* the SoH's own outer length */
	assert_int_equal(nap_soh_decode(buf, n, &soh, &err), -EBADMSG);
	assert_int_equal(err.offset, 14);
}

/* A bare SoH (inner type 1) of n_entries entries with attrs_per TLVs each (of pad bytes). */
static size_t
build_raw(uint8_t *p, unsigned n_entries, unsigned attrs_per, size_t pad)
{
	size_t k = 12;

	memcpy(p, "\x00\x07\x00\x00\x00\x00\x01\x37\x00\x01\x00\x00", 12);
	for (unsigned e = 0; e < n_entries; e++) {
		memcpy(p + k, "\x00\x02\x00\x04\x00\x7e\xd9\x00", 8);
		p[k + 7] = (uint8_t)(0x10 + e);
		k += 8;
		for (unsigned a = 1; a < attrs_per; a++) {
			put16(p + k, NAP_SOH_ATTR_CLIENT_ID);
			put16(p + k + 2, pad);
			memset(p + k + 4, 0xa5, pad);
			k += 4 + pad;
		}
	}
	put16(p + 2, k - 4);
	put16(p + 10, k - 12);
	return k;
}

static void
test_limits(void **state)
{
	struct nap_err err;
	size_t n;

	(void)state;
	n = build_raw(buf, 20, 5, 0);
	assert_int_equal(nap_soh_decode(buf, n, &soh, NULL), 0);
	assert_int_equal(soh.n_entries, 20);
	assert_int_equal(soh.n_attrs, 100);
	assert_roundtrip(buf, n, &soh);

	n = build_raw(buf, 21, 1, 0);
	assert_int_equal(nap_soh_decode(buf, n, &soh, &err), -EMSGSIZE);
	assert_int_equal(err.offset, 12 + 20 * 8);

	n = build_raw(buf, 1, 101, 0);
	assert_int_equal(nap_soh_decode(buf, n, &soh, &err), -EMSGSIZE);
	assert_int_equal(err.offset, 12 + 8 + 99 * 4);
	n = build_raw(buf, 1, 100, 0);
	assert_int_equal(nap_soh_decode(buf, n, &soh, NULL), 0);

	/* 12 + 8 + 4 * (4 + 994) = 4012: find a padding that gives exactly 4000 and 4001. */
	n = build_raw(buf, 1, 2, 4000 - 12 - 8 - 4);
	assert_int_equal(n, 4000);
	assert_int_equal(nap_soh_decode(buf, n, &soh, NULL), 0);
	assert_roundtrip(buf, n, &soh);
	n = build_raw(buf, 1, 2, 4001 - 12 - 8 - 4);
	assert_int_equal(n, 4001);
	assert_int_equal(nap_soh_decode(buf, n, &soh, &err), -EMSGSIZE);
	/* Wrapped: the limit counts the SoH, not the wrapper. */
	memmove(buf + 12, buf, 4000);
	memcpy(buf, "\x00\x07\x00\x00\x00\x00\x01\x37\x00\x01\x00\x00", 12);
	n = build_raw(buf + 12, 1, 2, 4000 - 12 - 8 - 4) + 12;
	put16(buf + 2, n - 4);
	put16(buf + 10, n - 12);
	assert_int_equal(nap_soh_decode(buf, n, &soh, NULL), 0);
	assert_true(soh.wrapped);
	assert_roundtrip(buf, n, &soh);
}

struct bad_case {
	const char *hex;
	int code;
	size_t offset;
};

static void
test_malformed(void **state)
{
	static const struct bad_case cases[] = {
		/* attribute before the first System-Health-ID */
		{"0007 000c 00000137 0001 0004 0006 0000", -EBADMSG, 12},
		/* System-Health-ID of 3 bytes */
		{"0007 000f 00000137 0001 0007 0002 0003 000137", -EBADMSG, 14},
		/* inner type 3 */
		{"0007 0010 00000137 0003 0008 0002 0004 00013700", -EBADMSG, 8},
		/* inner length one short */
		{"0007 0010 00000137 0001 0007 0002 0004 00013700", -EBADMSG, 10},
		/* outer length one long */
		{"0007 0011 00000137 0001 0008 0002 0004 00013700", -EBADMSG, 2},
		/* vendor not 311 */
		{"0007 0010 00000138 0001 0008 0002 0004 00013700", -EBADMSG, 4},
		/* no TLV at all */
		{"0007 0008 00000137 0001 0000", -EBADMSG, 12},
		/* TLV length past the end */
		{"0007 0010 00000137 0001 0008 0002 0005 00013700", -EBADMSG, 14},
		/* mode sub-header with length 29 */
		{"0007 0032 00000137 0002 002a 0007 001d 00000137 000102030405060708090a0b0c0d0e0f1011121314151617 0100"
		 " 0002 0004 00013700",
		 -EBADMSG, 12},
		/* SSoH with an unknown item type 9 */
		{"0007 0019 00000137 0001 0011 0002 0004 00013700 0007 0005 00000137 09", -EBADMSG, 28},
		/* SSoH with Packet-Info twice */
		{"0007 001c 00000137 0001 0014 0002 0004 00013700 0007 0008 00000137 0311 0311", -EBADMSG,
		 30},
		/* SSoH machine name longer than the Vendor-Specific */
		{"0007 001c 00000137 0001 0014 0002 0004 00013700 0007 0008 00000137 05 0005 41",
		 -EBADMSG, 28},
		/* truncated TLV header */
		{"0007 0012 00000137 0001 000a 0002 0004 00013700 0007", -EBADMSG, 20},
	};
	(void)state;
	for (size_t i = 0; i < NAP_ARRAY_SIZE(cases); i++) {
		struct nap_err err = {0};
		size_t n = hex(cases[i].hex, buf);
		int r = nap_soh_decode(buf, n, &soh, &err);

		if (r != cases[i].code || err.offset != cases[i].offset)
			fail_msg("case %zu: %d at %zu (%s)", i, r, err.offset,
				 err.what ? err.what : "-");
		assert_non_null(err.what);
	}
}

static void
test_builder_response(void **state)
{
	uint8_t corr[24], *out;
	size_t out_len;
	struct nap_wshv w;

	(void)state;
	for (int i = 0; i < 24; i++)
		corr[i] = (uint8_t)(0xa0 + i);
	nap_soh_init(&soh2, false, corr);
	memset(&w, 0, sizeof(w));
	w.cls[NAP_WSH_FIREWALL].present = true;
	assert_int_equal(nap_wshv_add_entry(&soh2, &w), 0);
	assert_int_equal(nap_soh_encode_alloc(&soh2, &out, &out_len), 0);
	assert_int_equal(nap_soh_decode(out, out_len, &soh, NULL), 0);
	assert_false(nap_soh_is_request(&soh));
	assert_int_equal(soh.intent, 0x00);
	assert_int_equal(soh.inner_type, 2);
	assert_int_equal(soh.ssoh.packet_info, 0x01);
	assert_memory_equal(nap_soh_correlation_id(&soh), corr, 24);
	assert_memory_equal(soh.ssoh.correlation_id, corr, 24);
	assert_int_equal(soh.n_entries, 2);
	assert_roundtrip(out, out_len, &soh);
	/* Exact bytes: header, sub-header, SSoHR (Packet-Info 01, CorrelationId), WSHV firewall. */
	assert_int_equal(hex("0007 006a 00000137 0002 0062"
			     "0007 001e 00000137 a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7 00 00"
			     "0002 0004 00013700 0007 001f 00000137 0301"
			     "06 a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7"
			     "0002 0004 00013780 0008 0001 00 0004 0004 00000000",
			     buf),
			 out_len);
	assert_memory_equal(out, buf, out_len);
	free(out);

	nap_soh_init(&soh2, true, corr);
	assert_int_equal(nap_soh_encode_alloc(&soh2, &out, &out_len), 0);
	assert_int_equal(nap_soh_decode(out, out_len, &soh, NULL), 0);
	assert_true(nap_soh_is_request(&soh));
	assert_int_equal(soh.intent, 0x01);
	assert_int_equal(soh.ssoh.packet_info, 0x11);
	free(out);
}

static void
test_builder_limits(void **state)
{
	uint8_t big[3000];
	int r = 0;
	unsigned n = 0;

	(void)state;
	nap_soh_init(&soh2, true, NULL);
	assert_int_equal(soh2.n_entries, 1);
	while ((r = nap_soh_begin_entry(&soh2, 0x007ed900u + n)) == 0)
		n++;
	assert_int_equal(r, -ENOSPC);
	assert_int_equal(soh2.n_entries, NAP_SOH_MAX_ENTRIES);
	while ((r = nap_soh_add_u8(&soh2, NAP_SOH_ATTR_HEALTH_CLASS, 1)) == 0)
		;
	assert_int_equal(r, -ENOSPC);
	assert_int_equal(soh2.n_attrs, NAP_SOH_MAX_ATTRS);

	/* Arena: values beyond 4000 bytes in total do not fit. */
	nap_soh_init(&soh2, true, NULL);
	assert_int_equal(nap_soh_add_attr(&soh2, NAP_SOH_ATTR_CLIENT_ID, big, sizeof(big)), 0);
	assert_int_equal(nap_soh_add_attr(&soh2, NAP_SOH_ATTR_CLIENT_ID, big, sizeof(big)), -ENOSPC);
	assert_null(nap_soh_store(&soh2, big, sizeof(big)));
	assert_int_equal(nap_soh_add_attr(&soh2, NAP_SOH_ATTR_SYSTEM_HEALTH_ID, big, 4), -EINVAL);

	/* Encoding refuses to produce more than 4000 bytes. */
	assert_int_equal(nap_soh_add_attr(&soh2, NAP_SOH_ATTR_CLIENT_ID, big, 950), 0);
	{
		uint8_t *out;
		size_t out_len;

		assert_int_equal(nap_soh_encode_alloc(&soh2, &out, &out_len), -EMSGSIZE);
	}

	memset(&soh2, 0, sizeof(soh2));
	assert_int_equal(nap_soh_add_u8(&soh2, NAP_SOH_ATTR_HEALTH_CLASS, 1), -EINVAL);
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(nap_soh_attr_name(2), "System-Health-ID");
	assert_string_equal(nap_soh_attr_name(0x8002), "System-Health-ID");
	assert_string_equal(nap_soh_attr_name(99), "unknown");
	assert_string_equal(nap_failure_category_name(NAP_FAILURE_CLIENT_COMPONENT),
			    "client-component");
	assert_string_equal(nap_failure_category_name(200), "unknown");
	assert_true(nap_soh_attr_len_valid(NAP_SOH_ATTR_HEALTH_CLASS, 1));
	assert_false(nap_soh_attr_len_valid(NAP_SOH_ATTR_HEALTH_CLASS, 2));
	assert_false(nap_soh_attr_len_valid(NAP_SOH_ATTR_VENDOR_SPECIFIC, 3));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors_decode_and_roundtrip),
		cmocka_unit_test(test_negative_vectors),
		cmocka_unit_test(test_eap_response_payload),
		cmocka_unit_test(test_golden_fields),
		cmocka_unit_test(test_ssoh_min_plus_v3_fields),
		cmocka_unit_test(test_v2_plus_v3_and_wsha_only),
		cmocka_unit_test(test_every_truncation_point),
		cmocka_unit_test(test_mr_bits_masked),
		cmocka_unit_test(test_wrapper),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_builder_response),
		cmocka_unit_test(test_builder_limits),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
