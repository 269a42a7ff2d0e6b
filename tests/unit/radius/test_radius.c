// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Unit tests of the RADIUS codec: PROTOCOLS.md V5 vectors and the RFC 2865 §7.1 example byte for
 * byte, every truncation point, framing errors, NAP limits, authenticators checked against an
 * independent computation, split MS-Quarantine-SoH values and the attribute dictionary.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "nap/radius.h"
#include "nap/util.h"

#ifndef RADIUS_VECTORS_DIR
#error "RADIUS_VECTORS_DIR must be defined by the build"
#endif

static const uint8_t rfc_secret[] = "xyzzy5461";
#define RFC_SECRET_LEN (sizeof(rfc_secret) - 1)
static const uint8_t secret[] = "s3cr3t-for-tests";
#define SECRET_LEN (sizeof(secret) - 1)

static size_t
load_vector(const char *name, uint8_t *out, size_t cap)
{
	char path[512];
	uint8_t *text;
	size_t text_len, bad_at;
	long n;

	snprintf(path, sizeof(path), "%s/%s", RADIUS_VECTORS_DIR, name);
	assert_int_equal(nap_read_file(path, 1 << 16, &text, &text_len), 0);
	n = nap_hex_decode((const char *)text, text_len, out, cap, &bad_at);
	free(text);
	assert_true(n > 0);
	return (size_t)n;
}

/* Independent Message-Authenticator: copy, substitute the authenticator, zero the MA, HMAC. */
static void
ref_msg_auth(const uint8_t *p, size_t len, const uint8_t *auth, size_t ma_off, const uint8_t *key,
	     size_t key_len, uint8_t out[16])
{
	uint8_t copy[NAP_RADIUS_MAX_LEN];
	unsigned out_len = 0;

	memcpy(copy, p, len);
	if (auth != NULL)
		memcpy(copy + 4, auth, 16);
	memset(copy + ma_off, 0, 16);
	assert_non_null(HMAC(EVP_md5(), key, (int)key_len, copy, len, out, &out_len));
	assert_int_equal(out_len, 16);
}

/* Independent MD5(code | id | length | auth | attributes | secret). */
static void
ref_md5_auth(const uint8_t *p, size_t len, const uint8_t *auth, const uint8_t *key,
	     size_t key_len, uint8_t out[16])
{
	uint8_t copy[NAP_RADIUS_MAX_LEN + 64];
	unsigned out_len = 0;

	memcpy(copy, p, len);
	memcpy(copy + 4, auth, 16);
	memcpy(copy + len, key, key_len);
	assert_int_equal(EVP_Digest(copy, len + key_len, out, &out_len, EVP_md5(), NULL), 1);
}

/* A request carrying every V5 VSA, built with the builder. */
static void
build_v5_attrs(struct nap_radius_builder *b)
{
	static const uint8_t rem4[] = {0x00, 192, 0, 2, 1, 192, 0, 2, 2};
	static const uint8_t soh[] = {0x00, 0x07, 0x00, 0x00};

	assert_int_equal(nap_radius_add_ms_u32(b, NAP_MS_QUARANTINE_STATE, 1), 0);
	assert_int_equal(nap_radius_add_ms_u32(b, NAP_MS_EXTENDED_QUARANTINE_STATE, 2), 0);
	assert_int_equal(nap_radius_add_ms_u32(b, NAP_MS_QUARANTINE_GRACE_TIME, 1700000000u), 0);
	assert_int_equal(nap_radius_add_ms_u32(b, NAP_MS_NETWORK_ACCESS_SERVER_TYPE, 3), 0);
	assert_int_equal(nap_radius_add_ms_u32(b, NAP_MS_IDENTITY_TYPE, 1), 0);
	assert_int_equal(nap_radius_add_vsa(b, NAP_RADIUS_VENDOR_MS,
					    NAP_MS_IPV4_REMEDIATION_SERVERS, rem4, sizeof(rem4)),
			 0);
	assert_int_equal(nap_radius_add_ms_split(b, NAP_MS_QUARANTINE_SOH, soh, sizeof(soh)), 0);
}

static void
test_v5_build_and_decode(void **state)
{
	uint8_t want[256];
	size_t want_len = load_vector("v5-ms-vsas.hex", want, sizeof(want));
	uint8_t auth[16] = {0};
	struct nap_radius_builder b;
	struct nap_radius_packet pkt;
	struct nap_err err = {0};
	const uint8_t *out;
	size_t out_len;
	uint32_t v;

	(void)state;
	nap_radius_build_init(&b, NAP_RADIUS_ACCESS_ACCEPT, 7, auth);
	build_v5_attrs(&b);
	assert_int_equal(nap_radius_finish_request(&b, secret, SECRET_LEN, &out, &out_len), 0);
	assert_int_equal(out_len, 20 + want_len);
	assert_int_equal(out[2] << 8 | out[3], out_len);
	assert_memory_equal(out + 20, want, want_len);

	assert_int_equal(nap_radius_decode(out, out_len, &pkt, &err), 0);
	assert_int_equal(pkt.n_attrs, 7);
	assert_int_equal(pkt.code, NAP_RADIUS_ACCESS_ACCEPT);
	assert_int_equal(pkt.id, 7);
	for (int i = 0; i < pkt.n_attrs; i++) {
		assert_int_equal(pkt.attrs[i].type, 26);
		assert_int_equal(pkt.attrs[i].vendor, 311);
		if (pkt.attrs[i].vendor_type != NAP_MS_QUARANTINE_SOH)
			assert_int_equal(nap_radius_attr_check(&pkt.attrs[i]), 0);
		assert_non_null(nap_radius_attr_lookup(&pkt.attrs[i]));
	}
	/* The 4-byte SoH of the vector is below the RNAP minimum, and named as the culprit. */
	assert_int_equal(nap_radius_packet_check(&pkt, &err), -EBADMSG);
	assert_string_equal(err.what, "MS-Quarantine-SoH");
	assert_int_equal(err.offset, 20 + 6 * 12 + 5);
	assert_true(nap_radius_attr_u32(nap_radius_find_vsa(&pkt, 311, NAP_MS_QUARANTINE_STATE),
					&v));
	assert_int_equal(v, 1);
	assert_true(nap_radius_attr_u32(
		nap_radius_find_vsa(&pkt, 311, NAP_MS_EXTENDED_QUARANTINE_STATE), &v));
	assert_int_equal(v, 2);
	assert_true(nap_radius_attr_u32(nap_radius_find_vsa(&pkt, 311, NAP_MS_QUARANTINE_GRACE_TIME),
					&v));
	assert_int_equal(v, 1700000000u);
	assert_true(nap_radius_attr_u32(
		nap_radius_find_vsa(&pkt, 311, NAP_MS_NETWORK_ACCESS_SERVER_TYPE), &v));
	assert_int_equal(v, NAP_MS_NAS_DHCP);
	assert_true(nap_radius_attr_u32(nap_radius_find_vsa(&pkt, 311, NAP_MS_IDENTITY_TYPE), &v));
	assert_int_equal(v, 1);
	{
		const struct nap_radius_attr *a =
			nap_radius_find_vsa(&pkt, 311, NAP_MS_IPV4_REMEDIATION_SERVERS);
		static const uint8_t rem4[] = {0x00, 192, 0, 2, 1, 192, 0, 2, 2};

		assert_non_null(a);
		assert_int_equal(a->len, sizeof(rem4));
		assert_memory_equal(a->value, rem4, sizeof(rem4));
		assert_int_equal(a->offset, 20 + 5 * 12);
	}
	{
		uint8_t soh[16];

		assert_int_equal(nap_radius_ms_concat(&pkt, NAP_MS_QUARANTINE_SOH, soh, sizeof(soh)),
				 4);
		assert_memory_equal(soh, "\x00\x07\x00\x00", 4);
		/* A 4-byte SoH is below the RNAP minimum (VL >= 12). */
		assert_int_equal(
			nap_radius_attr_check(nap_radius_find_vsa(&pkt, 311, NAP_MS_QUARANTINE_SOH)),
			-EBADMSG);
	}
	assert_null(nap_radius_find(&pkt, NAP_RADIUS_MESSAGE_AUTHENTICATOR));
	assert_int_equal(pkt.msg_auth_offset, 0);
}

static void
test_v5_soh_header(void **state)
{
	uint8_t soh[247];
	struct nap_radius_builder b;
	const uint8_t *out;
	size_t out_len;

	(void)state;
	for (size_t i = 0; i < sizeof(soh); i++)
		soh[i] = (uint8_t)(i * 7 + 1);
	for (size_t n = 10; n <= 247; n += 237) {
		nap_radius_build_init(&b, NAP_RADIUS_ACCESS_REQUEST, 1, NULL);
		assert_int_equal(nap_radius_add_ms_split(&b, NAP_MS_QUARANTINE_SOH, soh, n), 0);
		assert_int_equal(nap_radius_finish_request(&b, secret, SECRET_LEN, &out, &out_len),
				 0);
		assert_int_equal(out_len, 20 + 8 + n);
		assert_int_equal(out[20], 0x1a);
		assert_int_equal(out[21], n + 8);
		assert_memory_equal(out + 22, "\x00\x00\x01\x37\x37", 5);
		assert_int_equal(out[27], n + 2);
		assert_memory_equal(out + 28, soh, n);
	}
}

static void
test_rfc2865_example(void **state)
{
	uint8_t req[128], acc[128];
	size_t req_len = load_vector("rfc2865-7.1-access-request.hex", req, sizeof(req));
	size_t acc_len = load_vector("rfc2865-7.1-access-accept.hex", acc, sizeof(acc));
	struct nap_radius_packet rq, rs;
	struct nap_err err = {0};
	struct nap_radius_builder b;
	const uint8_t *out;
	size_t out_len;
	uint32_t v;
	static const uint8_t host[] = {192, 168, 1, 3};

	(void)state;
	assert_int_equal(nap_radius_decode(req, req_len, &rq, &err), 0);
	assert_int_equal(rq.code, NAP_RADIUS_ACCESS_REQUEST);
	assert_int_equal(rq.length, 56);
	assert_int_equal(rq.n_attrs, 4);
	assert_int_equal(nap_radius_find(&rq, NAP_RADIUS_USER_NAME)->len, 4);
	assert_memory_equal(nap_radius_find(&rq, NAP_RADIUS_USER_NAME)->value, "nemo", 4);
	assert_true(nap_radius_attr_u32(nap_radius_find(&rq, NAP_RADIUS_NAS_PORT), &v));
	assert_int_equal(v, 3);
	assert_int_equal(nap_radius_packet_check(&rq, &err), 0);
	/* No Message-Authenticator in a 2000 example. */
	assert_int_equal(nap_radius_verify_request(&rq, rfc_secret, RFC_SECRET_LEN, false), 0);
	assert_int_equal(nap_radius_verify_request(&rq, rfc_secret, RFC_SECRET_LEN, true), -ENOMSG);

	assert_int_equal(nap_radius_decode(acc, acc_len, &rs, &err), 0);
	assert_int_equal(rs.code, NAP_RADIUS_ACCESS_ACCEPT);
	assert_int_equal(nap_radius_verify_response(&rs, rq.authenticator, rfc_secret,
						    RFC_SECRET_LEN),
			 0);
	assert_int_equal(nap_radius_verify_response(&rs, rq.authenticator, secret, SECRET_LEN),
			 -EPERM);
	{
		uint8_t other[16];

		memcpy(other, rq.authenticator, 16);
		other[15] ^= 1;
		assert_int_equal(nap_radius_verify_response(&rs, other, rfc_secret, RFC_SECRET_LEN),
				 -EPERM);
	}

	/* Our builder produces the RFC's Access-Accept byte for byte. */
	nap_radius_build_init(&b, NAP_RADIUS_ACCESS_ACCEPT, 0, NULL);
	assert_int_equal(nap_radius_add_u32(&b, NAP_RADIUS_SERVICE_TYPE, 1), 0);
	assert_int_equal(nap_radius_add_u32(&b, 15, 0), 0);
	assert_int_equal(nap_radius_add_attr(&b, 14, host, sizeof(host)), 0);
	assert_int_equal(nap_radius_finish_response(&b, rq.authenticator, rfc_secret,
						    RFC_SECRET_LEN, &out, &out_len),
			 0);
	assert_int_equal(out_len, acc_len);
	assert_memory_equal(out, acc, acc_len);
}

/* Every truncation of the datagram, and every shortened Length field, of a valid packet. */
static void
check_truncations(const uint8_t *p, size_t len)
{
	uint8_t copy[NAP_RADIUS_MAX_LEN];
	struct nap_radius_packet pkt, full;
	struct nap_err err;
	bool boundary[NAP_RADIUS_MAX_LEN + 1] = {false};

	assert_int_equal(nap_radius_decode(p, len, &full, &err), 0);
	/* Attribute boundaries: where a shorter Length still frames whole attributes. */
	boundary[20] = true;
	for (size_t i = 20; i < len;) {
		i += p[i + 1];
		boundary[i] = true;
	}
	for (size_t cut = 0; cut < len; cut++) {
		err.what = NULL;
		assert_int_equal(nap_radius_decode(p, cut, &pkt, &err), -EBADMSG);
		assert_non_null(err.what);
		assert_true(err.offset <= cut);
	}
	memcpy(copy, p, len);
	for (size_t l = 20; l < len; l++) {
		int r;

		copy[2] = (uint8_t)(l >> 8);
		copy[3] = (uint8_t)l;
		err.what = NULL;
		r = nap_radius_decode(copy, len, &pkt, &err);
		if (boundary[l]) {
			assert_int_equal(r, 0);
			assert_int_equal(pkt.length, l);
		} else {
			assert_int_equal(r, -EBADMSG);
			assert_non_null(err.what);
			assert_true(err.offset < l);
		}
	}
}

/* A request whose Message-Authenticator radclient (FreeRADIUS) computed. */
static void
test_radclient_request(void **state)
{
	uint8_t p[256], copy[256], soh[64];
	size_t n = load_vector("radclient-access-request-soh.hex", p, sizeof(p));
	static const uint8_t key[] = "nap-interop-secret";
	struct nap_radius_packet pkt;
	struct nap_err err;

	(void)state;
	assert_int_equal(nap_radius_decode(p, n, &pkt, &err), 0);
	assert_int_equal(pkt.n_attrs, 3);
	assert_int_equal(pkt.msg_auth_offset, n - 16);
	assert_int_equal(nap_radius_verify_request(&pkt, key, sizeof(key) - 1, true), 0);
	assert_int_equal(nap_radius_verify_request(&pkt, key, sizeof(key) - 2, true), -EPERM);
	assert_int_equal(nap_radius_ms_concat(&pkt, NAP_MS_QUARANTINE_SOH, soh, sizeof(soh)), 33);
	assert_memory_equal(soh, "\x00\x07\x00\x20\x00\x00\x01\x37", 8);
	assert_int_equal(nap_radius_packet_check(&pkt, &err), 0);
	check_truncations(p, n);
	memcpy(copy, p, n);
	copy[5] ^= 0x01; /* the Request Authenticator is covered too */
	assert_int_equal(nap_radius_decode(copy, n, &pkt, &err), 0);
	assert_int_equal(nap_radius_verify_request(&pkt, key, sizeof(key) - 1, true), -EPERM);
}

static void
test_truncations(void **state)
{
	uint8_t buf[256];
	size_t n;
	struct nap_radius_builder b;
	const uint8_t *out;
	size_t out_len;

	(void)state;
	n = load_vector("rfc2865-7.1-access-request.hex", buf, sizeof(buf));
	check_truncations(buf, n);
	n = load_vector("rfc2865-7.1-access-accept.hex", buf, sizeof(buf));
	check_truncations(buf, n);
	nap_radius_build_init(&b, NAP_RADIUS_ACCESS_REQUEST, 9, NULL);
	assert_int_equal(nap_radius_add_attr(&b, NAP_RADIUS_USER_NAME, "host/pc1", 8), 0);
	build_v5_attrs(&b);
	assert_int_equal(nap_radius_add_message_authenticator(&b), 0);
	assert_int_equal(nap_radius_finish_request(&b, secret, SECRET_LEN, &out, &out_len), 0);
	check_truncations(out, out_len);
}

/* A header with Length set to len; attributes appended by the caller. */
static void
hdr(uint8_t *p, size_t len)
{
	memset(p, 0, 20);
	p[0] = NAP_RADIUS_ACCESS_REQUEST;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
}

static void
test_framing_errors(void **state)
{
	uint8_t p[NAP_RADIUS_MAX_LEN + 16];
	struct nap_radius_packet pkt;
	struct nap_err err;

	(void)state;
	memset(p, 0, sizeof(p));
	hdr(p, 19);
	assert_int_equal(nap_radius_decode(p, 20, &pkt, &err), -EBADMSG);
	assert_int_equal(err.offset, 2);
	hdr(p, 4097);
	assert_int_equal(nap_radius_decode(p, sizeof(p), &pkt, &err), -EBADMSG);
	assert_int_equal(err.offset, 2);
	hdr(p, 4096);
	memset(p + 20, 0, 4076);
	for (size_t i = 20; i + 2 <= 4096; i += 254) {
		p[i] = 18;
		p[i + 1] = (uint8_t)(4096 - i < 254 ? 4096 - i : 254);
	}
	assert_int_equal(nap_radius_decode(p, 4096, &pkt, &err), 0);
	assert_int_equal(nap_radius_decode(p, 4095, &pkt, &err), -EBADMSG);
	assert_int_equal(err.offset, 2);
	/* Header only: valid, no attributes. */
	hdr(p, 20);
	assert_int_equal(nap_radius_decode(p, 20, &pkt, &err), 0);
	assert_int_equal(pkt.n_attrs, 0);
	assert_int_equal(nap_radius_decode(p, 19, &pkt, &err), -EBADMSG);
	assert_int_equal(nap_radius_decode(NULL, 0, &pkt, &err), -EBADMSG);

	/* Attribute overrunning the packet. */
	hdr(p, 26);
	memcpy(p + 20, "\x01\x07xyzab", 7);
	assert_int_equal(nap_radius_decode(p, 27, &pkt, &err), -EBADMSG);
	assert_int_equal(err.offset, 21);
	/* Zero- and one-byte attribute lengths. */
	hdr(p, 24);
	memcpy(p + 20, "\x01\x00\x01\x02", 4);
	assert_int_equal(nap_radius_decode(p, 24, &pkt, &err), -EBADMSG);
	assert_int_equal(err.offset, 21);
	memcpy(p + 20, "\x01\x01\x01\x02", 4);
	assert_int_equal(nap_radius_decode(p, 24, &pkt, &err), -EBADMSG);
	/* A lone type byte at the end. */
	hdr(p, 21);
	assert_int_equal(nap_radius_decode(p, 21, &pkt, &err), -EBADMSG);
	assert_int_equal(err.offset, 20);
	/* A 2-byte (empty) attribute is well framed. */
	hdr(p, 22);
	memcpy(p + 20, "\x12\x02", 2);
	assert_int_equal(nap_radius_decode(p, 22, &pkt, &err), 0);
	assert_int_equal(pkt.n_attrs, 1);
	assert_int_equal(pkt.attrs[0].len, 0);
	assert_int_equal(nap_radius_attr_check(&pkt.attrs[0]), -EBADMSG);
}

static void
test_attr_limit(void **state)
{
	uint8_t p[20 + 101 * 2];
	struct nap_radius_packet pkt;
	struct nap_err err;

	(void)state;
	hdr(p, 20 + 100 * 2);
	for (int i = 0; i < 101; i++) {
		p[20 + 2 * i] = 33;
		p[21 + 2 * i] = 2;
	}
	assert_int_equal(nap_radius_decode(p, 20 + 100 * 2, &pkt, &err), 0);
	assert_int_equal(pkt.n_attrs, 100);
	hdr(p, sizeof(p));
	assert_int_equal(nap_radius_decode(p, sizeof(p), &pkt, &err), -EMSGSIZE);
	assert_int_equal(err.offset, 20 + 100 * 2);

	/* Sub-attributes count: one VSA with 101 empty MS sub-attributes is too much... */
	{
		uint8_t q[20 + 2 + 4 + 2 * 101];
		size_t n = 20;

		q[n++] = 26;
		q[n++] = 2 + 4 + 2 * 101;
		memcpy(q + n, "\x00\x00\x01\x37", 4);
		n += 4;
		for (int i = 0; i < 101; i++) {
			q[n++] = 55;
			q[n++] = 2;
		}
		hdr(q, n);
		assert_int_equal(nap_radius_decode(q, n, &pkt, &err), -EMSGSIZE);
		/* ...while 100 of them fit. */
		q[21] -= 2;
		hdr(q, n - 2);
		assert_int_equal(nap_radius_decode(q, n - 2, &pkt, &err), 0);
		assert_int_equal(pkt.n_attrs, 100);
		assert_int_equal(pkt.attrs[99].vendor_type, 55);
		assert_int_equal(pkt.attrs[99].offset, 20);
	}
}

static void
test_message_authenticator_rules(void **state)
{
	uint8_t p[64];
	struct nap_radius_packet pkt;
	struct nap_err err;

	(void)state;
	memset(p, 0, sizeof(p));
	hdr(p, 56);
	p[20] = 80;
	p[21] = 18;
	p[38] = 80;
	p[39] = 18;
	assert_int_equal(nap_radius_decode(p, 56, &pkt, &err), -EBADMSG);
	assert_int_equal(err.offset, 38);
	hdr(p, 38);
	assert_int_equal(nap_radius_decode(p, 38, &pkt, &err), 0);
	assert_int_equal(pkt.msg_auth_offset, 22);
	/* Wrong size. */
	hdr(p, 37);
	p[21] = 17;
	assert_int_equal(nap_radius_decode(p, 37, &pkt, &err), -EBADMSG);
	assert_int_equal(err.offset, 21);
}

static void
test_request_authentication(void **state)
{
	struct nap_radius_builder b;
	struct nap_radius_packet pkt;
	struct nap_err err;
	const uint8_t *out;
	size_t out_len;
	uint8_t copy[512], mac[16];
	static const uint8_t auth[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

	(void)state;
	nap_radius_build_init(&b, NAP_RADIUS_ACCESS_REQUEST, 42, auth);
	assert_int_equal(nap_radius_add_attr(&b, NAP_RADIUS_USER_NAME, "alice", 5), 0);
	assert_int_equal(nap_radius_add_message_authenticator(&b), 0);
	assert_int_equal(nap_radius_add_message_authenticator(&b), -EEXIST);
	nap_radius_build_init(&b, NAP_RADIUS_ACCESS_REQUEST, 42, auth);
	assert_int_equal(nap_radius_add_attr(&b, NAP_RADIUS_USER_NAME, "alice", 5), 0);
	assert_int_equal(nap_radius_add_message_authenticator(&b), 0);
	assert_int_equal(nap_radius_add_ms_u32(&b, NAP_MS_QUARANTINE_STATE, 0), 0);
	assert_int_equal(nap_radius_finish_request(&b, secret, SECRET_LEN, &out, &out_len), 0);
	assert_memory_equal(out + 4, auth, 16);
	ref_msg_auth(out, out_len, NULL, 29, secret, SECRET_LEN, mac);
	assert_memory_equal(out + 29, mac, 16);

	assert_int_equal(nap_radius_decode(out, out_len, &pkt, &err), 0);
	assert_int_equal(pkt.msg_auth_offset, 29);
	assert_int_equal(nap_radius_verify_request(&pkt, secret, SECRET_LEN, true), 0);
	assert_int_equal(nap_radius_verify_request(&pkt, (const uint8_t *)"wrong", 5, true),
			 -EPERM);
	assert_int_equal(nap_radius_verify_request(&pkt, secret, 0, true), -EINVAL);
	/* Any flipped bit anywhere in the packet breaks the Message-Authenticator. */
	for (size_t i = 0; i < out_len; i++) {
		if (i == 2 || i == 3 || i == 21 || i == 28 || i == 46)
			continue; /* framing bytes: would fail to decode instead */
		memcpy(copy, out, out_len);
		copy[i] ^= 0x10;
		assert_int_equal(nap_radius_decode(copy, out_len, &pkt, &err), 0);
		/* The Message-Authenticator's own type byte: the attribute is gone. */
		assert_int_equal(nap_radius_verify_request(&pkt, secret, SECRET_LEN, true),
				 i == 27 ? -ENOMSG : -EPERM);
	}
	/* Extra bytes past Length are ignored and do not change the result. */
	memcpy(copy, out, out_len);
	memset(copy + out_len, 0xee, 40);
	assert_int_equal(nap_radius_decode(copy, out_len + 40, &pkt, &err), 0);
	assert_int_equal(pkt.length, out_len);
	assert_int_equal(pkt.n_attrs, 3);
	assert_int_equal(nap_radius_verify_request(&pkt, secret, SECRET_LEN, true), 0);

	/* Missing Message-Authenticator. */
	nap_radius_build_init(&b, NAP_RADIUS_ACCESS_REQUEST, 43, NULL);
	assert_int_equal(nap_radius_add_attr(&b, NAP_RADIUS_USER_NAME, "alice", 5), 0);
	assert_int_equal(nap_radius_finish_request(&b, secret, SECRET_LEN, &out, &out_len), 0);
	assert_int_equal(nap_radius_decode(out, out_len, &pkt, &err), 0);
	assert_int_equal(nap_radius_verify_request(&pkt, secret, SECRET_LEN, true), -ENOMSG);
	assert_int_equal(nap_radius_verify_request(&pkt, secret, SECRET_LEN, false), 0);
}

static void
test_accounting_request(void **state)
{
	struct nap_radius_builder b;
	struct nap_radius_packet pkt;
	struct nap_err err;
	const uint8_t *out;
	size_t out_len;
	uint8_t copy[256], md[16];

	(void)state;
	nap_radius_build_init(&b, NAP_RADIUS_ACCOUNTING_REQUEST, 5, NULL);
	assert_int_equal(nap_radius_add_u32(&b, 40, 1), 0);
	assert_int_equal(nap_radius_add_attr(&b, NAP_RADIUS_ACCT_SESSION_ID, "s1", 2), 0);
	assert_int_equal(nap_radius_finish_request(&b, secret, SECRET_LEN, &out, &out_len), 0);
	ref_md5_auth(out, out_len, (const uint8_t *)"\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", secret,
		     SECRET_LEN, md);
	assert_memory_equal(out + 4, md, 16);
	assert_int_equal(nap_radius_decode(out, out_len, &pkt, &err), 0);
	assert_int_equal(nap_radius_verify_request(&pkt, secret, SECRET_LEN, false), 0);
	memcpy(copy, out, out_len);
	copy[out_len - 1] ^= 1;
	assert_int_equal(nap_radius_decode(copy, out_len, &pkt, &err), 0);
	assert_int_equal(nap_radius_verify_request(&pkt, secret, SECRET_LEN, false), -EPERM);
}

static void
test_response_authentication(void **state)
{
	struct nap_radius_builder b;
	struct nap_radius_packet pkt;
	struct nap_err err;
	const uint8_t *out;
	size_t out_len, ma;
	uint8_t req_auth[16], mac[16], md[16], copy[512], soh[40];

	(void)state;
	for (int i = 0; i < 16; i++)
		req_auth[i] = (uint8_t)(0xa0 + i);
	for (size_t i = 0; i < sizeof(soh); i++)
		soh[i] = (uint8_t)i;
	nap_radius_build_init(&b, NAP_RADIUS_ACCESS_ACCEPT, 42, NULL);
	assert_int_equal(nap_radius_add_ms_u32(&b, NAP_MS_QUARANTINE_STATE, 1), 0);
	assert_int_equal(nap_radius_add_message_authenticator(&b), 0);
	assert_int_equal(nap_radius_add_ms_split(&b, NAP_MS_QUARANTINE_SOH, soh, sizeof(soh)), 0);
	assert_int_equal(nap_radius_finish_response(&b, req_auth, secret, SECRET_LEN, &out,
						    &out_len),
			 0);
	ma = 20 + 12 + 2;
	/* RFC 3579 §3.2: HMAC over the response with the request authenticator in place. */
	ref_msg_auth(out, out_len, req_auth, ma, secret, SECRET_LEN, mac);
	assert_memory_equal(out + ma, mac, 16);
	ref_md5_auth(out, out_len, req_auth, secret, SECRET_LEN, md);
	assert_memory_equal(out + 4, md, 16);

	assert_int_equal(nap_radius_decode(out, out_len, &pkt, &err), 0);
	assert_int_equal(pkt.msg_auth_offset, ma);
	assert_int_equal(nap_radius_verify_response(&pkt, req_auth, secret, SECRET_LEN), 0);
	assert_int_equal(nap_radius_verify_response(&pkt, req_auth, (const uint8_t *)"x", 1),
			 -EPERM);
	/* A Message-Authenticator computed over the response authenticator is wrong. */
	memcpy(copy, out, out_len);
	ref_msg_auth(out, out_len, NULL, ma, secret, SECRET_LEN, mac);
	memcpy(copy + ma, mac, 16);
	ref_md5_auth(copy, out_len, req_auth, secret, SECRET_LEN, md);
	memcpy(copy + 4, md, 16);
	assert_int_equal(nap_radius_decode(copy, out_len, &pkt, &err), 0);
	assert_int_equal(nap_radius_verify_response(&pkt, req_auth, secret, SECRET_LEN), -EPERM);
}

static void
test_long_soh_split(void **state)
{
	uint8_t soh[700], back[1024];
	struct nap_radius_builder b;
	struct nap_radius_packet pkt;
	struct nap_err err;
	const uint8_t *out;
	size_t out_len;

	(void)state;
	for (size_t i = 0; i < sizeof(soh); i++)
		soh[i] = (uint8_t)(i ^ (i >> 8));
	nap_radius_build_init(&b, NAP_RADIUS_ACCESS_REQUEST, 1, NULL);
	assert_int_equal(nap_radius_add_attr(&b, NAP_RADIUS_USER_NAME, "u", 1), 0);
	assert_int_equal(nap_radius_add_ms_split(&b, NAP_MS_QUARANTINE_SOH, soh, sizeof(soh)), 0);
	assert_int_equal(nap_radius_add_ms_u32(&b, NAP_MS_QUARANTINE_STATE, 2), 0);
	assert_int_equal(nap_radius_add_message_authenticator(&b), 0);
	assert_int_equal(nap_radius_finish_request(&b, secret, SECRET_LEN, &out, &out_len), 0);
	assert_int_equal(out_len, 20 + 3 + 3 * 8 + 700 + 12 + 18);
	assert_int_equal(nap_radius_decode(out, out_len, &pkt, &err), 0);
	assert_int_equal(pkt.n_attrs, 6);
	assert_int_equal(pkt.attrs[1].len, 247);
	assert_int_equal(pkt.attrs[2].len, 247);
	assert_int_equal(pkt.attrs[3].len, 206);
	assert_int_equal(pkt.attrs[1].vendor_type, 55);
	assert_int_equal(pkt.attrs[3].vendor_type, 55);
	assert_int_equal(nap_radius_ms_concat(&pkt, NAP_MS_QUARANTINE_SOH, back, sizeof(back)), 700);
	assert_memory_equal(back, soh, 700);
	assert_int_equal(nap_radius_ms_concat(&pkt, NAP_MS_QUARANTINE_SOH, back, 699), -EMSGSIZE);
	assert_int_equal(nap_radius_ms_concat(&pkt, NAP_MS_QUARANTINE_IPFILTER, back, 0), 0);
	assert_int_equal(nap_radius_packet_check(&pkt, &err), 0);
	assert_int_equal(nap_radius_verify_request(&pkt, secret, SECRET_LEN, true), 0);

	/* 250 bytes: the 3-byte tail is fine as part of a split value. */
	nap_radius_build_init(&b, NAP_RADIUS_ACCESS_REQUEST, 1, NULL);
	assert_int_equal(nap_radius_add_ms_split(&b, NAP_MS_QUARANTINE_SOH, soh, 250), 0);
	assert_int_equal(nap_radius_finish_request(&b, secret, SECRET_LEN, &out, &out_len), 0);
	assert_int_equal(nap_radius_decode(out, out_len, &pkt, &err), 0);
	assert_int_equal(pkt.n_attrs, 2);
	assert_int_equal(pkt.attrs[1].len, 3);
	assert_int_equal(nap_radius_packet_check(&pkt, &err), 0);

	/* An empty value still yields one VSA (Vendor-Length 2). */
	nap_radius_build_init(&b, NAP_RADIUS_ACCESS_REQUEST, 1, NULL);
	assert_int_equal(nap_radius_add_ms_split(&b, NAP_MS_QUARANTINE_SOH, NULL, 0), 0);
	assert_int_equal(nap_radius_finish_request(&b, secret, SECRET_LEN, &out, &out_len), 0);
	assert_int_equal(out_len, 28);
	assert_memory_equal(out + 20, "\x1a\x08\x00\x00\x01\x37\x37\x02", 8);
	assert_int_equal(nap_radius_decode(out, out_len, &pkt, &err), 0);
	assert_int_equal(pkt.n_attrs, 1);
	assert_int_equal(pkt.attrs[0].vendor_type, 55);
	assert_int_equal(pkt.attrs[0].len, 0);
	assert_int_equal(nap_radius_packet_check(&pkt, &err), -EBADMSG);
}

static void
test_builder_limits(void **state)
{
	static uint8_t big[4096];
	struct nap_radius_builder b;
	const uint8_t *out;
	size_t out_len;
	struct nap_radius_packet pkt;
	struct nap_err err;

	(void)state;
	/* 100 attributes fit, the 101st does not and poisons the builder. */
	nap_radius_build_init(&b, NAP_RADIUS_ACCESS_ACCEPT, 1, NULL);
	for (int i = 0; i < 100; i++)
		assert_int_equal(nap_radius_add_attr(&b, NAP_RADIUS_CLASS, "c", 1), 0);
	assert_int_equal(nap_radius_add_attr(&b, NAP_RADIUS_CLASS, "c", 1), -EMSGSIZE);
	assert_int_not_equal(nap_radius_finish_request(&b, secret, SECRET_LEN, &out, &out_len), 0);

	/* Byte limit: 16 attributes of 255 bytes = 4080 + 20 > 4096. */
	nap_radius_build_init(&b, NAP_RADIUS_ACCESS_ACCEPT, 1, NULL);
	for (int i = 0; i < 15; i++)
		assert_int_equal(nap_radius_add_attr(&b, NAP_RADIUS_CLASS, big, 253), 0);
	assert_int_equal(nap_radius_add_attr(&b, NAP_RADIUS_CLASS, big, 253), -EMSGSIZE);
	assert_int_not_equal(nap_radius_finish_request(&b, secret, SECRET_LEN, &out, &out_len), 0);

	/* Exactly 4096 bytes. */
	nap_radius_build_init(&b, NAP_RADIUS_ACCESS_ACCEPT, 1, NULL);
	for (int i = 0; i < 15; i++)
		assert_int_equal(nap_radius_add_attr(&b, NAP_RADIUS_CLASS, big, 253), 0);
	assert_int_equal(nap_radius_add_attr(&b, NAP_RADIUS_CLASS, big, 4096 - 20 - 15 * 255 - 2),
			 0);
	assert_int_equal(nap_radius_finish_request(&b, secret, SECRET_LEN, &out, &out_len), 0);
	assert_int_equal(out_len, 4096);
	assert_int_equal(nap_radius_decode(out, out_len, &pkt, &err), 0);

	/* Value too long for one attribute / one VSA; MA cannot be added as data. */
	nap_radius_build_init(&b, NAP_RADIUS_ACCESS_ACCEPT, 1, NULL);
	assert_int_equal(nap_radius_add_attr(&b, NAP_RADIUS_CLASS, big, 254), -EMSGSIZE);
	nap_radius_build_init(&b, NAP_RADIUS_ACCESS_ACCEPT, 1, NULL);
	assert_int_equal(nap_radius_add_vsa(&b, 311, 55, big, 248), -EMSGSIZE);
	nap_radius_build_init(&b, NAP_RADIUS_ACCESS_ACCEPT, 1, NULL);
	assert_int_equal(nap_radius_add_attr(&b, NAP_RADIUS_MESSAGE_AUTHENTICATOR, big, 16),
			 -EINVAL);

	/* Split is all or nothing: 4000 bytes do not fit after 2 x 253. */
	nap_radius_build_init(&b, NAP_RADIUS_ACCESS_ACCEPT, 1, NULL);
	assert_int_equal(nap_radius_add_ms_split(&b, 55, big, 3700), 0);
	nap_radius_build_init(&b, NAP_RADIUS_ACCESS_ACCEPT, 1, NULL);
	assert_int_equal(nap_radius_add_attr(&b, NAP_RADIUS_CLASS, big, 253), 0);
	assert_int_equal(nap_radius_add_ms_split(&b, 55, big, 3800), -EMSGSIZE);
	assert_int_equal(nap_cbb_len(&b.cbb), 20 + 255);
}

static void
test_vsa_shapes(void **state)
{
	uint8_t p[128];
	struct nap_radius_packet pkt;
	struct nap_err err;
	size_t n;

	(void)state;
	/* Two sub-attributes in one VSA. */
	n = 20;
	memcpy(p + n, "\x1a\x12\x00\x00\x01\x37\x2d\x06\x00\x00\x00\x02\x2a\x06name", 18);
	n += 18;
	hdr(p, n);
	assert_int_equal(nap_radius_decode(p, n, &pkt, &err), 0);
	assert_int_equal(pkt.n_attrs, 2);
	assert_int_equal(pkt.attrs[0].vendor_type, 45);
	assert_int_equal(pkt.attrs[1].vendor_type, 42);
	assert_int_equal(pkt.attrs[1].len, 4);
	assert_memory_equal(pkt.attrs[1].value, "name", 4);
	assert_int_equal(pkt.attrs[1].offset, 20);

	/* Vendor-length not consuming the VSA exactly: opaque. */
	p[27] = 0x05;
	assert_int_equal(nap_radius_decode(p, n, &pkt, &err), 0);
	assert_int_equal(pkt.n_attrs, 1);
	assert_int_equal(pkt.attrs[0].vendor_type, 0);
	assert_int_equal(pkt.attrs[0].vendor, 311);
	assert_int_equal(pkt.attrs[0].len, 16);
	assert_ptr_equal(pkt.attrs[0].value, p + 22);
	assert_null(nap_radius_find_vsa(&pkt, 311, 45));
	assert_int_equal(nap_radius_attr_check(&pkt.attrs[0]), 0);
	/* Vendor-length 1 and vendor-type 0: opaque. */
	p[27] = 0x01;
	assert_int_equal(nap_radius_decode(p, n, &pkt, &err), 0);
	assert_int_equal(pkt.attrs[0].vendor_type, 0);
	p[27] = 0x06;
	p[26] = 0x00;
	assert_int_equal(nap_radius_decode(p, n, &pkt, &err), 0);
	assert_int_equal(pkt.n_attrs, 1);
	assert_int_equal(pkt.attrs[0].vendor_type, 0);
	/* Too short to hold a vendor id. */
	n = 20;
	memcpy(p + n, "\x1a\x05\x00\x00\x01", 5);
	n += 5;
	hdr(p, n);
	assert_int_equal(nap_radius_decode(p, n, &pkt, &err), 0);
	assert_int_equal(pkt.attrs[0].vendor, 0);
	assert_int_equal(pkt.attrs[0].len, 3);
	assert_int_equal(nap_radius_attr_check(&pkt.attrs[0]), -EBADMSG);
	/* Vendor id only. */
	n = 20;
	memcpy(p + n, "\x1a\x06\x00\x00\x01\x37", 6);
	n += 6;
	hdr(p, n);
	assert_int_equal(nap_radius_decode(p, n, &pkt, &err), 0);
	assert_int_equal(pkt.attrs[0].vendor_type, 0);
	assert_int_equal(pkt.attrs[0].vendor, 311);
	/* Another vendor's well-formed VSA: split, unknown to the dictionary, passes checks. */
	n = 20;
	memcpy(p + n, "\x1a\x09\x00\x00\x00\x09\x01\x03x", 9);
	n += 9;
	hdr(p, n);
	assert_int_equal(nap_radius_decode(p, n, &pkt, &err), 0);
	assert_int_equal(pkt.attrs[0].vendor, 9);
	assert_int_equal(pkt.attrs[0].vendor_type, 1);
	assert_null(nap_radius_attr_lookup(&pkt.attrs[0]));
	assert_int_equal(nap_radius_attr_check(&pkt.attrs[0]), 0);
}

static void
test_dictionary(void **state)
{
	struct nap_radius_attr a = {.type = 26, .vendor = 311};
	uint8_t v[256];
	static const uint8_t std_types[] = {1,  2,  4,  5,  6,  8,  18, 24, 25, 26, 27,
					    30, 31, 32, 33, 44, 55, 61, 79, 80, 95};

	(void)state;
	memset(v, 0, sizeof(v));
	a.value = v;
	for (int t = 34; t <= 63; t++) {
		const struct nap_radius_attr_def *d = nap_radius_attr_def(311, (uint8_t)t);

		if (t == 38 || t == 39 || t == 43) {
			assert_null(d);
			continue;
		}
		assert_non_null(d);
		assert_int_equal(d->type, t);
		assert_int_equal(d->vendor, 311);
		assert_true(d->min_len <= d->max_len && d->max_len <= 247);
		assert_ptr_equal(nap_radius_attr_def_by_name(d->name), d);
		if (d->fr_name != NULL)
			assert_ptr_equal(nap_radius_attr_def_by_name(d->fr_name), d);
	}
	for (size_t i = 0; i < sizeof(std_types); i++) {
		const struct nap_radius_attr_def *d = nap_radius_attr_def(0, std_types[i]);

		assert_non_null(d);
		assert_int_equal(d->type, std_types[i]);
	}
	assert_string_equal(nap_radius_attr_def(0, 55)->name, "Event-Timestamp");
	assert_string_equal(nap_radius_attr_def(0, 44)->name, "Acct-Session-Id");
	assert_ptr_equal(nap_radius_attr_def_by_name("ms-quarantine-soh"),
			 nap_radius_attr_def(311, 55));
	assert_null(nap_radius_attr_def_by_name("No-Such-Attribute"));
	assert_null(nap_radius_attr_def(9, 1));
	assert_string_equal(nap_radius_code_name(1), "Access-Request");
	assert_string_equal(nap_radius_code_name(2), "Access-Accept");
	assert_string_equal(nap_radius_code_name(11), "Access-Challenge");
	assert_string_equal(nap_radius_code_name(200), "Unknown");

	/* MS-IPv4-Remediation-Servers: value 1 + 4N, N >= 1 (RNAP VL > 6, VL mod 4 = 3). */
	a.vendor_type = NAP_MS_IPV4_REMEDIATION_SERVERS;
	for (unsigned len = 0; len <= 247; len++) {
		a.len = (uint8_t)len;
		assert_int_equal(nap_radius_attr_check(&a),
				 (len >= 5 && (len - 1) % 4 == 0) ? 0 : -EBADMSG);
	}
	a.vendor_type = NAP_MS_IPV6_REMEDIATION_SERVERS;
	for (unsigned len = 0; len <= 247; len++) {
		a.len = (uint8_t)len;
		assert_int_equal(nap_radius_attr_check(&a),
				 (len >= 17 && (len - 1) % 16 == 0) ? 0 : -EBADMSG);
	}
	/* Integers are exactly 4 bytes. */
	a.vendor_type = NAP_MS_QUARANTINE_STATE;
	for (unsigned len = 0; len <= 8; len++) {
		a.len = (uint8_t)len;
		assert_int_equal(nap_radius_attr_check(&a), len == 4 ? 0 : -EBADMSG);
	}
	/* MS-Quarantine-SoH: at least 10 bytes (VL >= 12), at most 247. */
	a.vendor_type = NAP_MS_QUARANTINE_SOH;
	a.len = 9;
	assert_int_equal(nap_radius_attr_check(&a), -EBADMSG);
	a.len = 10;
	assert_int_equal(nap_radius_attr_check(&a), 0);
	a.len = 247;
	assert_int_equal(nap_radius_attr_check(&a), 0);
	a.len = 248;
	assert_int_equal(nap_radius_attr_check(&a), -EBADMSG);
	/* MS-RAS-Client-Name: 3 <= VL < 36. */
	a.vendor_type = NAP_MS_RAS_CLIENT_NAME;
	a.len = 33;
	assert_int_equal(nap_radius_attr_check(&a), 0);
	a.len = 34;
	assert_int_equal(nap_radius_attr_check(&a), -EBADMSG);
	/* Standard attributes. */
	a.type = NAP_RADIUS_USER_PASSWORD;
	a.vendor = 0;
	a.vendor_type = 0;
	a.len = 16;
	assert_int_equal(nap_radius_attr_check(&a), 0);
	a.len = 17;
	assert_int_equal(nap_radius_attr_check(&a), -EBADMSG);
	a.type = NAP_RADIUS_NAS_IPV6_ADDRESS;
	a.len = 16;
	assert_int_equal(nap_radius_attr_check(&a), 0);
	a.len = 4;
	assert_int_equal(nap_radius_attr_check(&a), -EBADMSG);
	a.type = 97; /* Framed-IPv6-Prefix */
	v[1] = 64;
	a.len = 10;
	assert_int_equal(nap_radius_attr_check(&a), 0);
	a.len = 9;
	assert_int_equal(nap_radius_attr_check(&a), -EBADMSG);
	v[1] = 129;
	a.len = 18;
	assert_int_equal(nap_radius_attr_check(&a), -EBADMSG);
	a.type = 200; /* unknown: passes */
	a.len = 0;
	assert_int_equal(nap_radius_attr_check(&a), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v5_build_and_decode),
		cmocka_unit_test(test_v5_soh_header),
		cmocka_unit_test(test_rfc2865_example),
		cmocka_unit_test(test_radclient_request),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_framing_errors),
		cmocka_unit_test(test_attr_limit),
		cmocka_unit_test(test_message_authenticator_rules),
		cmocka_unit_test(test_request_authentication),
		cmocka_unit_test(test_accounting_request),
		cmocka_unit_test(test_response_authentication),
		cmocka_unit_test(test_long_soh_split),
		cmocka_unit_test(test_builder_limits),
		cmocka_unit_test(test_vsa_shapes),
		cmocka_unit_test(test_dictionary),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
