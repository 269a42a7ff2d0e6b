// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * DHCPv4 codec tests: the vectors of tests/vectors/dhcp decode field by field (header, options,
 * RFC 3396 concatenation, option overload, the MS-DHCPN sub-options of spec/PROTOCOLS.md §3.1
 * and V6, the SoH inside with the SoH decoder), every truncation point fails cleanly, the
 * malformed cases are refused with an offset, and the builder splits, pads and round trips.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nap/dhcp.h"
#include "nap/soh.h"
#include "nap/util.h"

#define VEC_MAX 8192

static struct nap_dhcp_packet pkt, pkt2;
static struct nap_dhcp_nap nap;
static struct nap_dhcp_builder b;
static struct nap_soh soh;
static uint8_t buf[VEC_MAX];

static size_t
vec_load(const char *dir, const char *name, uint8_t *out)
{
	const char *root = getenv("NAP_VECTORS");
	char path[1024];
	uint8_t *text;
	size_t text_len, bad;
	long n;

	assert_non_null(root);
	snprintf(path, sizeof(path), "%s/%s/%s.hex", root, dir, name);
	assert_int_equal(nap_read_file(path, 1 << 20, &text, &text_len), 0);
	n = nap_hex_decode((const char *)text, text_len, out, VEC_MAX, &bad);
	free(text);
	assert_true(n > 0);
	return (size_t)n;
}

static size_t
load_ok(const char *name)
{
	struct nap_err err = {0};
	size_t n = vec_load("dhcp", name, buf);
	int r = nap_dhcp_decode(buf, n, &pkt, &err);

	if (r != 0)
		fail_msg("%s: %d %s at %zu", name, r, err.what, err.offset);
	return n;
}

static const char *const vectors[] = {
	"discover-nap-probe", "offer-nap-marker",     "ack-freeradius-pan",
	"request-nap-freeradius-case4", "request-nap-long-soh", "ack-nap-restricted",
	"ack-overload",       "inform-exempt",
};

static void
test_discover_probe(void **state)
{
	static const uint8_t chaddr[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
	const struct nap_dhcp_option *o;
	struct nap_err err = {0};
	struct nap_cbs cbs;
	size_t n;

	(void)state;
	n = load_ok("discover-nap-probe");
	assert_int_equal(n, 240 + 3 + 9 + 10 + 2 + 134 + 7 + 1);
	assert_int_equal(pkt.hdr.op, NAP_DHCP_BOOTREQUEST);
	assert_int_equal(pkt.hdr.htype, 1);
	assert_int_equal(pkt.hdr.hlen, 6);
	assert_int_equal(pkt.hdr.xid, 0x12345678);
	assert_int_equal(pkt.hdr.flags, NAP_DHCP_FLAG_BROADCAST);
	assert_memory_equal(pkt.hdr.chaddr, chaddr, 6);
	assert_int_equal(nap_dhcp_message_type(&pkt), NAP_DHCPDISCOVER);
	assert_string_equal(nap_dhcp_message_type_name(1), "DHCPDISCOVER");
	/* Option 43 of spec V6: 2b 86 de 82 <130 bytes> dc 00, the first at offset 240+3+9+10. */
	o = nap_dhcp_find(&pkt, NAP_DHCP_OPT_VENDOR);
	assert_non_null(o);
	assert_int_equal(o->len, 0x86);
	assert_int_equal(o->offset, 262);
	assert_int_equal(buf[262], 0x2b);
	assert_int_equal(buf[263], 0x86);
	assert_int_equal(buf[264], 0xde);
	assert_int_equal(buf[265], 0x82);
	assert_int_equal(buf[262 + 2 + 132], 0xdc);
	assert_int_equal(buf[262 + 2 + 133], 0x00);
	assert_true(nap_dhcp_get_bytes(&pkt, NAP_DHCP_OPT_CLIENT_ID, &cbs));
	assert_int_equal(nap_cbs_len(&cbs), 7);
	assert_true(nap_dhcp_get_bytes(&pkt, NAP_DHCP_OPT_VENDOR_CLASS, &cbs));
	assert_memory_equal(nap_cbs_data(&cbs), "MSFT 5.0", 8);
	assert_true(nap_dhcp_get_bytes(&pkt, NAP_DHCP_OPT_PARAM_LIST, &cbs));
	assert_int_equal(nap_cbs_len(&cbs), 5);
	assert_false(nap_dhcp_get_bytes(&pkt, NAP_DHCP_OPT_RELAY_AGENT, &cbs));

	assert_int_equal(nap_dhcp_nap_parse(&pkt, &nap, &err), 0);
	assert_true(nap.present);
	assert_int_equal(nap.soh_kind, NAP_DHCP_SOH_PROBE);
	assert_true(nap.has_coid);
	for (int i = 0; i < NAP_DHCP_COID_LEN; i++)
		assert_int_equal(nap.coid[i], i);
	assert_false(nap.has_mask);
	assert_false(nap.has_ipv6);
}

static void
test_offer_marker(void **state)
{
	struct nap_err err = {0};
	uint8_t a[4], want_sid[4] = {192, 0, 2, 1};
	uint32_t lease;

	(void)state;
	load_ok("offer-nap-marker");
	assert_int_equal(nap_dhcp_message_type(&pkt), NAP_DHCPOFFER);
	assert_true(nap_dhcp_server_id(&pkt, a));
	assert_memory_equal(a, want_sid, 4);
	assert_true(nap_dhcp_lease_time(&pkt, &lease));
	assert_int_equal(lease, 3600);
	assert_false(nap_dhcp_requested_ip(&pkt, a));
	assert_int_equal(nap_dhcp_nap_parse(&pkt, &nap, &err), 0);
	assert_int_equal(nap.soh_kind, NAP_DHCP_SOH_MARKER);
	assert_false(nap.marker_pan);
	assert_true(nap.has_coid);
}

/* FreeRADIUS writes "PAN" and no CoID (spec §3.4): accepted as the marker. */
static void
test_freeradius_pan(void **state)
{
	struct nap_err err = {0};

	(void)state;
	load_ok("ack-freeradius-pan");
	assert_int_equal(nap_dhcp_nap_parse(&pkt, &nap, &err), 0);
	assert_int_equal(nap.soh_kind, NAP_DHCP_SOH_MARKER);
	assert_true(nap.marker_pan);
	assert_false(nap.has_coid);
}

static void
test_freeradius_case4(void **state)
{
	static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	static const uint8_t mask[4] = {255, 255, 255, 0};
	struct nap_err err = {0};

	(void)state;
	load_ok("request-nap-freeradius-case4");
	assert_int_equal(nap_dhcp_nap_parse(&pkt, &nap, &err), 0);
	assert_int_equal(nap.soh_kind, NAP_DHCP_SOH_DATA);
	assert_true(nap.has_mask);
	assert_memory_equal(nap.mask, mask, 4); /* dd 04 00 ff ff ff, little-endian */
	assert_true(nap.has_ipv6);
	assert_int_equal(nap.n_ipv6, 1);
	assert_memory_equal(nap.ipv6[0], v6, 16);
	assert_int_equal(nap.soh_len, 0x43);
	assert_int_equal(nap.n_soh_parts, 1);
	/* What FreeRADIUS decoded: wrapped, no mode sub-header, 6.1.7601 SP 1.0, x86_64, client. */
	assert_int_equal(nap_soh_decode(nap.soh, nap.soh_len, &soh, &err), 0);
	assert_true(soh.wrapped);
	assert_int_equal(soh.inner_type, 1);
	assert_int_equal(soh.ssoh.os_major, 6);
	assert_int_equal(soh.ssoh.os_minor, 1);
	assert_int_equal(soh.ssoh.os_build, 7601);
	assert_int_equal(soh.ssoh.sp_major, 1);
	assert_int_equal(soh.ssoh.processor_arch, NAP_ARCH_X64);
	assert_int_equal(soh.ssoh.product_type, NAP_PRODUCT_CLIENT);
}

/* A 302-byte SoH: 220 split 255 + 47, option 43 split 255 + 183 (RFC 3396). */
static void
test_long_soh(void **state)
{
	uint8_t want[VEC_MAX];
	size_t want_len = vec_load("soh", "derived-v2-plus-v3", want);
	const struct nap_dhcp_option *o;
	struct nap_err err = {0};
	uint16_t mms;

	(void)state;
	load_ok("request-nap-long-soh");
	o = nap_dhcp_find(&pkt, NAP_DHCP_OPT_VENDOR);
	assert_non_null(o);
	assert_int_equal(o->n_parts, 2);
	assert_int_equal(o->len, 132 + 257 + 49);
	assert_true(nap_dhcp_get_u16(&pkt, NAP_DHCP_OPT_MAX_MSG_SIZE, &mms));
	assert_int_equal(mms, 1500);
	assert_int_equal(nap_dhcp_nap_parse(&pkt, &nap, &err), 0);
	assert_int_equal(nap.soh_kind, NAP_DHCP_SOH_DATA);
	assert_int_equal(nap.n_soh_parts, 2);
	assert_int_equal(nap.soh_len, want_len);
	assert_memory_equal(nap.soh, want, want_len);
	assert_int_equal(nap_soh_decode(nap.soh, nap.soh_len, &soh, &err), 0);
	assert_int_equal(soh.n_entries, 2);
	/* Offsets into the SoH map back into the packet across both splits. */
	for (size_t i = 0; i < want_len; i++)
		assert_int_equal(buf[nap_dhcp_nap_soh_offset(&pkt, i)], want[i]);
}

static void
test_restricted_ack(void **state)
{
	static const uint8_t mask[4] = {255, 255, 255, 0}, host[4] = {255, 255, 255, 255};
	struct nap_err err = {0};
	uint8_t a[4];

	(void)state;
	load_ok("ack-nap-restricted");
	assert_true(nap_dhcp_get_ipv4(&pkt, NAP_DHCP_OPT_SUBNET_MASK, a));
	assert_memory_equal(a, host, 4);
	assert_int_equal(nap_dhcp_nap_parse(&pkt, &nap, &err), 0);
	assert_true(nap.has_mask);
	assert_memory_equal(nap.mask, mask, 4);
	assert_int_equal(nap.soh_kind, NAP_DHCP_SOH_DATA);
	assert_int_equal(nap_soh_decode(nap.soh, nap.soh_len, &soh, &err), 0);
	assert_non_null(nap_dhcp_find(&pkt, NAP_DHCP_OPT_CLASSLESS_ROUTE));
	assert_non_null(nap_dhcp_find(&pkt, NAP_DHCP_OPT_MS_CLASSLESS_ROUTE));
}

static void
test_overload(void **state)
{
	const struct nap_dhcp_option *o;

	(void)state;
	load_ok("ack-overload");
	assert_int_equal(pkt.overload, 3);
	o = nap_dhcp_find(&pkt, NAP_DHCP_OPT_HOSTNAME);
	assert_non_null(o);
	assert_int_equal(o->n_parts, 3);
	assert_int_equal(o->len, 6);
	assert_memory_equal(o->value, "abcdef", 6); /* options, then file, then sname */
	assert_int_equal(nap_dhcp_value_offset(&pkt, NAP_DHCP_OPT_HOSTNAME, 2), 108 + 2);
	assert_int_equal(nap_dhcp_value_offset(&pkt, NAP_DHCP_OPT_HOSTNAME, 5), 44 + 3);
}

static void
test_inform_exempt(void **state)
{
	struct nap_err err = {0};

	(void)state;
	load_ok("inform-exempt");
	assert_int_equal(nap_dhcp_message_type(&pkt), NAP_DHCPINFORM);
	assert_true(nap_dhcp_user_class_has(&pkt, "MSFT Quarantine"));
	assert_false(nap_dhcp_user_class_has(&pkt, "MSFT"));
	assert_int_equal(nap_dhcp_nap_parse(&pkt, &nap, &err), 0);
	assert_int_equal(nap.soh_kind, NAP_DHCP_SOH_PROBE_RENEW);
}

static void
test_truncations(void **state)
{
	(void)state;
	for (size_t v = 0; v < NAP_ARRAY_SIZE(vectors); v++) {
		size_t len = vec_load("dhcp", vectors[v], buf);

		for (size_t i = 0; i < len; i++) {
			uint8_t *cut = malloc(i + 1); /* exact size, so ASan sees overreads */
			struct nap_err err = {SIZE_MAX, NULL};
			int r;

			assert_non_null(cut);
			memcpy(cut, buf, i);
			r = nap_dhcp_decode(cut, i, &pkt, &err);
			if (i < NAP_DHCP_OPTIONS_AT) {
				assert_int_equal(r, -EBADMSG);
			}
			if (r < 0) {
				assert_non_null(err.what);
				assert_true(err.offset <= i);
			} else {
				/* Cut in the padding or the options: a shorter, still framed
				 * message; NAP parsing must stay within bounds too. */
				r = nap_dhcp_nap_parse(&pkt, &nap, &err);
				assert_true(r == 0 || r == -EBADMSG);
			}
			free(cut);
		}
	}
}

/* Build a packet: header from a vector, options from inline hex. */
static size_t
with_options(const char *hexopts, uint8_t *out)
{
	size_t n = vec_load("dhcp", "discover-nap-probe", out), bad;
	long k = nap_hex_decode(hexopts, strlen(hexopts), out + NAP_DHCP_OPTIONS_AT,
				VEC_MAX - NAP_DHCP_OPTIONS_AT, &bad);

	assert_true(k >= 0);
	(void)n;
	return NAP_DHCP_OPTIONS_AT + (size_t)k;
}

static void
test_malformed(void **state)
{
	static const struct {
		const char *opts;
		int r;
		size_t offset;
		const char *what;
	} cases[] = {
		{"35 01 01 0c 05 61 62", -EBADMSG, 243, "option overruns its field"},
		{"35 01 01 0c", -EBADMSG, 243, "option length missing"},
		{"35 02 01 01 ff", -EBADMSG, 240, "option too long"},
		{"36 03 01 02 03 ff", -EBADMSG, 240, "option too short"},
		{"03 06 01 02 03 04 05 06 ff", -EBADMSG, 240, "option length not a multiple of its item"},
		{"34 01 04 35 01 01 ff", -EBADMSG, 240, "bad option overload"},
		{"34 01 01 34 01 01 ff", -EBADMSG, 243, "bad option overload"},
		/* A 53 split in two instances concatenates to 2 bytes: too long. */
		{"35 01 01 35 01 01 ff", -EBADMSG, 240, "option too long"},
	};

	(void)state;
	for (size_t i = 0; i < NAP_ARRAY_SIZE(cases); i++) {
		struct nap_err err = {0};
		size_t n = with_options(cases[i].opts, buf);
		int r = nap_dhcp_decode(buf, n, &pkt, &err);

		if (r != cases[i].r || err.offset != cases[i].offset ||
		    strcmp(err.what, cases[i].what) != 0)
			fail_msg("case %zu: %d '%s' at %zu", i, r, err.what, err.offset);
	}
}

static void
test_malformed_header(void **state)
{
	struct nap_err err = {0};
	size_t n = vec_load("dhcp", "discover-nap-probe", buf);
	static uint8_t big[NAP_DHCP_MAX_LEN + 1];

	(void)state;
	buf[236] = 0x64; /* not the cookie: BOOTP */
	assert_int_equal(nap_dhcp_decode(buf, n, &pkt, &err), -ENOTSUP);
	assert_int_equal(err.offset, 236);
	assert_int_equal(nap_dhcp_decode(big, sizeof(big), &pkt, &err), -EMSGSIZE);

	/* Option 52 is only allowed in the options field; an option in file overruns it. */
	n = with_options("34 01 01 35 01 05 ff", buf);
	memset(buf + 108, 0, 128);
	buf[108] = 0x34, buf[109] = 1, buf[110] = 2;
	assert_int_equal(nap_dhcp_decode(buf, n, &pkt, &err), -EBADMSG);
	assert_string_equal(err.what, "option overload outside the options field");
	assert_int_equal(err.offset, 108);
	buf[108 + 126] = 0x0c, buf[108 + 127] = 2;
	buf[108] = 0;
	assert_int_equal(nap_dhcp_decode(buf, n, &pkt, &err), -EBADMSG);
	assert_string_equal(err.what, "option overruns its field");
	assert_int_equal(err.offset, 108 + 126);
}

static void
test_nap_malformed(void **state)
{
	static const struct {
		const char *opts;
		int r;
		size_t offset;
		const char *what;
	} cases[] = {
		{"2b 03 dd 02 00 ff", -EBADMSG, 242, "vendor sub-option overruns option 43"},
		{"2b 05 dd 03 00 ff ff ff", -EBADMSG, 242, "NAP-Mask not 4 bytes"},
		{"2b 0c dd 04 00 ff ff ff dd 04 00 ff ff ff ff", -EBADMSG, 248, "repeated NAP-Mask"},
		{"2b 04 de 02 00 01 ff", -EBADMSG, 242, "NAP-CoID not 130 bytes"},
		{"2b 04 df 02 01 00 ff", -EBADMSG, 242, "NAP-IPv6 length does not match its count"},
		/* Split over two option 43 instances: the error is in the second. */
		{"2b 02 dc 00 2b 03 dd 01 00 ff", -EBADMSG, 246, "NAP-Mask not 4 bytes"},
	};

	(void)state;
	for (size_t i = 0; i < NAP_ARRAY_SIZE(cases); i++) {
		struct nap_err err = {0};
		size_t n = with_options(cases[i].opts, buf);
		int r;

		assert_int_equal(nap_dhcp_decode(buf, n, &pkt, &err), 0);
		r = nap_dhcp_nap_parse(&pkt, &nap, &err);
		if (r != cases[i].r || err.offset != cases[i].offset ||
		    strcmp(err.what, cases[i].what) != 0)
			fail_msg("case %zu: %d '%s' at %zu", i, r, err.what, err.offset);
	}
	/* Other vendors' sub-options, Pad and End inside 43 are fine; no NAP sub-option. */
	assert_int_equal(nap_dhcp_decode(buf, with_options("2b 06 01 01 aa 00 ff 07 ff", buf),
					 &pkt, NULL),
			 0);
	assert_int_equal(nap_dhcp_nap_parse(&pkt, &nap, NULL), 0);
	assert_false(nap.present);
	/* RFC 3004 user class instances. */
	assert_int_equal(nap_dhcp_decode(buf, with_options("4d 08 02 61 62 04 63 64 65 66 ff", buf),
					 &pkt, NULL),
			 0);
	assert_true(nap_dhcp_user_class_has(&pkt, "cdef"));
	assert_true(nap_dhcp_user_class_has(&pkt, "ab"));
	assert_false(nap_dhcp_user_class_has(&pkt, "abc"));
}

static void
init_header(struct nap_dhcp_header *h)
{
	memset(h, 0, sizeof(*h));
	h->op = NAP_DHCP_BOOTREPLY;
	h->htype = 1;
	h->hlen = 6;
	h->xid = 0xdeadbeef;
	h->yiaddr[0] = 192, h->yiaddr[3] = 50;
}

static void
test_builder(void **state)
{
	struct nap_dhcp_header h;
	const uint8_t *out;
	size_t out_len;
	uint8_t big[600];
	const struct nap_dhcp_option *o;

	(void)state;
	init_header(&h);
	nap_dhcp_build_init(&b, &h, 0);
	assert_int_equal(nap_dhcp_add_u8(&b, NAP_DHCP_OPT_MESSAGE_TYPE, NAP_DHCPACK), 0);
	assert_int_equal(nap_dhcp_add_u32(&b, NAP_DHCP_OPT_LEASE_TIME, 300), 0);
	assert_int_equal(nap_dhcp_finish(&b, &out, &out_len), 0);
	assert_int_equal(out_len, NAP_DHCP_MIN_LEN);
	assert_int_equal(out[240], 53);
	assert_int_equal(out[243], 51);
	assert_int_equal(out[249], 255);
	assert_int_equal(nap_dhcp_decode(out, out_len, &pkt, NULL), 0);
	assert_int_equal(pkt.hdr.xid, 0xdeadbeef);
	assert_int_equal(pkt.hdr.yiaddr[0], 192);

	/* 600 bytes: 255 + 255 + 90, concatenated back. */
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	nap_dhcp_build_init(&b, &h, 1500);
	assert_int_equal(nap_dhcp_add_option(&b, 224, big, sizeof(big)), 0);
	assert_int_equal(nap_dhcp_add_option(&b, 225, NULL, 0), 0);
	assert_int_equal(nap_dhcp_finish(&b, &out, &out_len), 0);
	assert_int_equal(out_len, 240 + 600 + 6 + 2 + 1);
	assert_int_equal(out[240 + 1], 255);
	assert_int_equal(out[240 + 257 + 1], 255);
	assert_int_equal(out[240 + 514 + 1], 90);
	assert_int_equal(nap_dhcp_decode(out, out_len, &pkt, NULL), 0);
	o = nap_dhcp_find(&pkt, 224);
	assert_non_null(o);
	assert_int_equal(o->n_parts, 3);
	assert_int_equal(o->len, sizeof(big));
	assert_memory_equal(o->value, big, sizeof(big));
	o = nap_dhcp_find(&pkt, 225);
	assert_non_null(o);
	assert_int_equal(o->len, 0);

	/* Past the maximum (576 by default): refused, nothing written, builder poisoned. */
	nap_dhcp_build_init(&b, &h, 0);
	assert_int_equal(nap_dhcp_add_option(&b, 224, big, sizeof(big)), -EMSGSIZE);
	assert_int_equal(nap_cbb_len(&b.cbb), NAP_DHCP_OPTIONS_AT);
	assert_int_equal(nap_dhcp_add_u8(&b, 53, 5), -EMSGSIZE);
	assert_int_equal(nap_dhcp_finish(&b, &out, &out_len), -EMSGSIZE);
	nap_dhcp_build_init(&b, &h, 0);
	assert_int_equal(nap_dhcp_add_option(&b, 0, big, 1), -EINVAL);
	nap_dhcp_build_init(&b, &h, 0);
	assert_int_equal(nap_dhcp_add_option(&b, 255, big, 1), -EINVAL);
	/* Exactly full: the End byte still fits. */
	nap_dhcp_build_init(&b, &h, 300);
	assert_int_equal(nap_dhcp_add_option(&b, 224, big, 300 - 240 - 2 - 1), 0);
	assert_int_equal(nap_dhcp_finish(&b, &out, &out_len), 0);
	assert_int_equal(out_len, 300);
	assert_int_equal(out[299], 255);
}

/* The server side: OFFER marker, ACK with a long SoHR and the mask; the client side probes. */
static void
test_nap_builders(void **state)
{
	static const uint8_t marker_opt[] = {0x2b, 0x89, 0xde, 0x82}; /* 132 + 5 */
	static const uint8_t mask[4] = {255, 255, 255, 0};
	uint8_t coid[NAP_DHCP_COID_LEN], long_soh[VEC_MAX];
	size_t long_len = vec_load("soh", "derived-v2-plus-v3", long_soh);
	struct nap_dhcp_header h;
	const uint8_t *out;
	size_t out_len;
	struct nap_err err = {0};
	uint8_t enc[64];

	(void)state;
	for (int i = 0; i < NAP_DHCP_COID_LEN; i++)
		coid[i] = (uint8_t)i;
	init_header(&h);

	nap_dhcp_build_init(&b, &h, 0);
	assert_int_equal(nap_dhcp_add_u8(&b, NAP_DHCP_OPT_MESSAGE_TYPE, NAP_DHCPOFFER), 0);
	assert_int_equal(nap_dhcp_add_nap_marker(&b, coid), 0);
	assert_int_equal(nap_dhcp_finish(&b, &out, &out_len), 0);
	assert_memory_equal(out + 243, marker_opt, sizeof(marker_opt));
	assert_int_equal(out[243 + 2 + 132], 0xdc);
	assert_int_equal(out[243 + 2 + 133], 3);
	assert_memory_equal(out + 243 + 2 + 134, "NAP", 3);
	/* Identical to the OFFER vector's option 43 (hand-built from DHCPN 2.2.1.1). */
	assert_int_equal(nap_dhcp_decode(out, out_len, &pkt, NULL), 0);
	load_ok("offer-nap-marker");
	assert_int_equal(nap_dhcp_decode(out, out_len, &pkt2, NULL), 0);
	assert_int_equal(nap_dhcp_find(&pkt, 43)->len, nap_dhcp_find(&pkt2, 43)->len);
	assert_memory_equal(nap_dhcp_find(&pkt, 43)->value, nap_dhcp_find(&pkt2, 43)->value,
			    nap_dhcp_find(&pkt, 43)->len);

	/* A PAN marker decoded is re-sent as NAP. */
	memset(&nap, 0, sizeof(nap));
	nap.soh_kind = NAP_DHCP_SOH_MARKER;
	nap.marker_pan = true;
	assert_int_equal(nap_dhcp_nap_encode(&nap, enc, sizeof(enc)), 5);
	assert_memory_equal(enc, "\xdc\x03NAP", 5);
	/* V6 sub-options byte for byte. */
	memset(&nap, 0, sizeof(nap));
	nap.has_mask = true;
	memcpy(nap.mask, mask, 4);
	nap.has_ipv6 = true;
	nap.n_ipv6 = 1;
	nap.ipv6[0][0] = 0x20, nap.ipv6[0][1] = 0x01, nap.ipv6[0][2] = 0x0d, nap.ipv6[0][3] = 0xb8;
	nap.ipv6[0][15] = 1;
	assert_int_equal(nap_dhcp_nap_encode(&nap, enc, sizeof(enc)), 6 + 19);
	assert_memory_equal(enc, "\xdd\x04\x00\xff\xff\xff\xdf\x11\x01\x20\x01\x0d\xb8", 13);
	assert_int_equal(nap_dhcp_nap_encode(&nap, enc, 10), -EMSGSIZE);
	nap.n_ipv6 = 16;
	assert_int_equal(nap_dhcp_nap_encode(&nap, enc, sizeof(enc)), -EINVAL);

	/* ACK with the 302-byte SoH as SoHR stand-in: same bytes as the REQUEST vector's 43
	 * plus NAP-Mask; decodes back to the same SoH. */
	nap_dhcp_build_init(&b, &h, 1500);
	assert_int_equal(nap_dhcp_add_u8(&b, NAP_DHCP_OPT_MESSAGE_TYPE, NAP_DHCPACK), 0);
	assert_int_equal(nap_dhcp_add_nap_sohr(&b, long_soh, long_len, coid, mask), 0);
	assert_int_equal(nap_dhcp_finish(&b, &out, &out_len), 0);
	assert_int_equal(nap_dhcp_decode(out, out_len, &pkt, &err), 0);
	assert_int_equal(nap_dhcp_find(&pkt, 43)->n_parts, 2);
	assert_int_equal(nap_dhcp_nap_parse(&pkt, &nap, &err), 0);
	assert_int_equal(nap.soh_kind, NAP_DHCP_SOH_DATA);
	assert_int_equal(nap.n_soh_parts, 2);
	assert_int_equal(nap.soh_len, long_len);
	assert_memory_equal(nap.soh, long_soh, long_len);
	assert_true(nap.has_mask);
	assert_memory_equal(nap.mask, mask, 4);

	/* The client's REQUEST SoH matches the vector built by hand. */
	load_ok("request-nap-long-soh");
	nap_dhcp_build_init(&b, &h, 1500);
	assert_int_equal(nap_dhcp_add_nap_soh(&b, long_soh, long_len, coid), 0);
	assert_int_equal(nap_dhcp_finish(&b, &out, &out_len), 0);
	assert_int_equal(nap_dhcp_decode(out, out_len, &pkt2, NULL), 0);
	assert_int_equal(nap_dhcp_find(&pkt, 43)->len, nap_dhcp_find(&pkt2, 43)->len);
	assert_memory_equal(nap_dhcp_find(&pkt, 43)->value, nap_dhcp_find(&pkt2, 43)->value,
			    nap_dhcp_find(&pkt, 43)->len);

	/* Probes: dc 00 and dc 01 00. */
	nap_dhcp_build_init(&b, &h, 0);
	assert_int_equal(nap_dhcp_add_nap_probe(&b, NULL, false), 0);
	assert_int_equal(nap_dhcp_add_nap_probe(&b, NULL, true), 0);
	assert_int_equal(nap_dhcp_finish(&b, &out, &out_len), 0);
	assert_memory_equal(out + 240, "\x2b\x02\xdc\x00\x2b\x03\xdc\x01\x00\xff", 10);
	/* An empty SoH cannot be sent as data. */
	nap_dhcp_build_init(&b, &h, 0);
	assert_int_equal(nap_dhcp_add_nap_soh(&b, long_soh, 0, NULL), -EINVAL);
}

/* decode -> rebuild every option -> decode: same options, same values. */
static void
test_roundtrip(void **state)
{
	(void)state;
	for (size_t v = 0; v < NAP_ARRAY_SIZE(vectors); v++) {
		const uint8_t *out;
		size_t out_len;

		load_ok(vectors[v]);
		pkt.hdr.file[0] = 0, pkt.hdr.sname[0] = 0; /* overloaded fields are not rebuilt */
		nap_dhcp_build_init(&b, &pkt.hdr, NAP_DHCP_MAX_LEN);
		for (uint16_t i = 0; i < pkt.n_options; i++)
			if (pkt.options[i].code != NAP_DHCP_OPT_OVERLOAD)
				assert_int_equal(nap_dhcp_add_option(&b, pkt.options[i].code,
								     pkt.options[i].value,
								     pkt.options[i].len),
						 0);
		assert_int_equal(nap_dhcp_finish(&b, &out, &out_len), 0);
		assert_int_equal(nap_dhcp_decode(out, out_len, &pkt2, NULL), 0);
		assert_int_equal(pkt2.n_options + (pkt.overload != 0), pkt.n_options);
		for (uint16_t i = 0; i < pkt2.n_options; i++) {
			const struct nap_dhcp_option *a = &pkt2.options[i];
			const struct nap_dhcp_option *o = nap_dhcp_find(&pkt, a->code);

			assert_non_null(o);
			assert_int_equal(a->len, o->len);
			assert_memory_equal(a->value, o->value, a->len);
		}
		if (pkt.overload == 0)
			assert_memory_equal(out, buf, out_len < 300 ? out_len : 300);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_discover_probe),
		cmocka_unit_test(test_offer_marker),
		cmocka_unit_test(test_freeradius_pan),
		cmocka_unit_test(test_freeradius_case4),
		cmocka_unit_test(test_long_soh),
		cmocka_unit_test(test_restricted_ack),
		cmocka_unit_test(test_overload),
		cmocka_unit_test(test_inform_exempt),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_malformed_header),
		cmocka_unit_test(test_nap_malformed),
		cmocka_unit_test(test_builder),
		cmocka_unit_test(test_nap_builders),
		cmocka_unit_test(test_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
