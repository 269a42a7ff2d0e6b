// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Unit tests for the pre-keyed shared secret (struct nap_radius_secret): the _s variants must
 * build byte-identical packets and give the same verdicts as the functions taking the secret
 * bytes, for secrets from one byte to longer than the HMAC-MD5 block, and an independent
 * HMAC-MD5 must agree with them.
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

#define N_SECRETS 7

struct test_secret {
	uint8_t bytes[NAP_RADIUS_SECRET_MAX];
	size_t len;
};

/* One byte, a usual one, exactly the MD5 block, one past it, long, and the maximum. */
static const size_t secret_lens[N_SECRETS] = {1, 10, 63, 64, 65, 200, NAP_RADIUS_SECRET_MAX};

static uint32_t
lcg(uint32_t *state)
{
	*state = *state * 1103515245u + 12345u;
	return *state >> 8;
}

static void
make_secret(size_t i, struct test_secret *s)
{
	uint32_t st = 0x5eed0000u + (uint32_t)i;

	s->len = secret_lens[i];
	for (size_t j = 0; j < s->len; j++)
		s->bytes[j] = (uint8_t)lcg(&st);
	if (s->len == 10)
		memcpy(s->bytes, "testing123", 10);
}

/* A packet with a few attributes whose contents depend on seed; Message-Authenticator optional. */
static void
build_packet(struct nap_radius_builder *b, uint8_t code, uint32_t seed, bool msg_auth)
{
	uint8_t auth[NAP_RADIUS_AUTH_LEN], soh[400];
	uint32_t st = seed;

	for (size_t i = 0; i < sizeof(auth); i++)
		auth[i] = (uint8_t)lcg(&st);
	for (size_t i = 0; i < sizeof(soh); i++)
		soh[i] = (uint8_t)lcg(&st);
	nap_radius_build_init(b, code, (uint8_t)seed, auth);
	assert_int_equal(nap_radius_add_attr(b, NAP_RADIUS_USER_NAME, "host/nb-co0", 11), 0);
	assert_int_equal(nap_radius_add_u32(b, NAP_RADIUS_SERVICE_TYPE,
					    NAP_RADIUS_SERVICE_AUTHORIZE_ONLY),
			 0);
	assert_int_equal(nap_radius_add_ms_split(b, NAP_MS_QUARANTINE_SOH, soh,
						 100 + seed % 300),
			 0);
	if (msg_auth)
		assert_int_equal(nap_radius_add_message_authenticator(b), 0);
	assert_int_equal(nap_radius_add_ms_u32(b, NAP_MS_NETWORK_ACCESS_SERVER_TYPE,
					       NAP_MS_NAS_DHCP),
			 0);
}

static void
ref_hmac(const uint8_t *p, size_t len, size_t ma_off, const struct test_secret *s,
	 uint8_t out[NAP_RADIUS_AUTH_LEN])
{
	uint8_t copy[NAP_RADIUS_MAX_LEN];
	unsigned n = 0;

	memcpy(copy, p, len);
	memset(copy + ma_off, 0, NAP_RADIUS_AUTH_LEN);
	assert_non_null(HMAC(EVP_md5(), s->bytes, (int)s->len, copy, len, out, &n));
	assert_int_equal(n, NAP_RADIUS_AUTH_LEN);
}

static void
test_requests_identical(void **state)
{
	static const uint8_t codes[] = {NAP_RADIUS_ACCESS_REQUEST, NAP_RADIUS_STATUS_SERVER,
					NAP_RADIUS_ACCOUNTING_REQUEST, NAP_RADIUS_COA_REQUEST};
	static struct nap_radius_builder b1, b2;
	static struct nap_radius_packet pkt;

	(void)state;
	for (size_t i = 0; i < N_SECRETS; i++) {
		struct test_secret s;
		struct nap_radius_secret *ks;

		make_secret(i, &s);
		assert_int_equal(nap_radius_secret_new(s.bytes, s.len, &ks), 0);
		assert_non_null(ks);
		for (size_t c = 0; c < sizeof(codes); c++) {
			for (uint32_t seed = 1; seed <= 4; seed++) {
				const uint8_t *p1, *p2;
				size_t n1, n2;
				uint8_t mac[NAP_RADIUS_AUTH_LEN];
				bool ma = seed != 4;

				build_packet(&b1, codes[c], seed * 77 + (uint32_t)i, ma);
				build_packet(&b2, codes[c], seed * 77 + (uint32_t)i, ma);
				assert_int_equal(nap_radius_finish_request(&b1, s.bytes, s.len, &p1,
									   &n1),
						 0);
				assert_int_equal(nap_radius_finish_request_s(&b2, ks, &p2, &n2), 0);
				assert_int_equal(n1, n2);
				assert_memory_equal(p1, p2, n1);

				assert_int_equal(nap_radius_decode(p2, n2, &pkt, NULL), 0);
				if (ma) {
					/* The code under test against an independent HMAC-MD5. */
					ref_hmac(p2, n2, pkt.msg_auth_offset, &s, mac);
					if (codes[c] == NAP_RADIUS_ACCOUNTING_REQUEST ||
					    codes[c] == NAP_RADIUS_COA_REQUEST) {
						uint8_t copy[NAP_RADIUS_MAX_LEN];

						memcpy(copy, p2, n2);
						memset(copy + 4, 0, NAP_RADIUS_AUTH_LEN);
						ref_hmac(copy, n2, pkt.msg_auth_offset, &s, mac);
					}
					assert_memory_equal(mac, p2 + pkt.msg_auth_offset,
							    NAP_RADIUS_AUTH_LEN);
				}
				assert_int_equal(nap_radius_verify_request_s(&pkt, ks, true),
						 nap_radius_verify_request(&pkt, s.bytes, s.len,
									   true));
				assert_int_equal(nap_radius_verify_request_s(&pkt, ks, true),
						 ma ? 0 : -ENOMSG);
				assert_int_equal(nap_radius_verify_request_s(&pkt, ks, false), 0);
			}
		}
		nap_radius_secret_free(ks);
	}
}

static void
test_responses_identical(void **state)
{
	static struct nap_radius_builder b1, b2;
	static struct nap_radius_packet pkt;

	(void)state;
	for (size_t i = 0; i < N_SECRETS; i++) {
		struct test_secret s;
		struct nap_radius_secret *ks;
		uint8_t req_auth[NAP_RADIUS_AUTH_LEN];

		make_secret(i, &s);
		assert_int_equal(nap_radius_secret_new(s.bytes, s.len, &ks), 0);
		for (size_t j = 0; j < sizeof(req_auth); j++)
			req_auth[j] = (uint8_t)(0xa0 + i + j);
		for (uint32_t seed = 1; seed <= 3; seed++) {
			const uint8_t *p1, *p2;
			size_t n1, n2;
			bool ma = seed != 3;

			build_packet(&b1, NAP_RADIUS_ACCESS_ACCEPT, seed + (uint32_t)i, ma);
			build_packet(&b2, NAP_RADIUS_ACCESS_ACCEPT, seed + (uint32_t)i, ma);
			assert_int_equal(nap_radius_finish_response(&b1, req_auth, s.bytes, s.len,
								    &p1, &n1),
					 0);
			assert_int_equal(nap_radius_finish_response_s(&b2, req_auth, ks, &p2, &n2),
					 0);
			assert_int_equal(n1, n2);
			assert_memory_equal(p1, p2, n1);
			assert_int_equal(nap_radius_decode(p2, n2, &pkt, NULL), 0);
			if (ma) {
				uint8_t mac[NAP_RADIUS_AUTH_LEN], copy[NAP_RADIUS_MAX_LEN];

				memcpy(copy, p2, n2);
				memcpy(copy + 4, req_auth, NAP_RADIUS_AUTH_LEN);
				ref_hmac(copy, n2, pkt.msg_auth_offset, &s, mac);
				assert_memory_equal(mac, p2 + pkt.msg_auth_offset,
						    NAP_RADIUS_AUTH_LEN);
			}
			assert_int_equal(nap_radius_verify_response_s(&pkt, req_auth, ks), 0);
			assert_int_equal(nap_radius_verify_response(&pkt, req_auth, s.bytes, s.len),
					 0);
			/* Another request authenticator: both reject. */
			req_auth[0] ^= 1;
			assert_int_equal(nap_radius_verify_response_s(&pkt, req_auth, ks), -EPERM);
			assert_int_equal(nap_radius_verify_response(&pkt, req_auth, s.bytes, s.len),
					 -EPERM);
			req_auth[0] ^= 1;
		}
		nap_radius_secret_free(ks);
	}
}

/* Every secret rejects what another one signed, and a flipped byte, like the plain functions. */
static void
test_wrong_secret_rejected(void **state)
{
	static struct nap_radius_builder b;
	static struct nap_radius_packet pkt;
	struct nap_radius_secret *ks[N_SECRETS];
	struct test_secret s[N_SECRETS];

	(void)state;
	for (size_t i = 0; i < N_SECRETS; i++) {
		make_secret(i, &s[i]);
		assert_int_equal(nap_radius_secret_new(s[i].bytes, s[i].len, &ks[i]), 0);
	}
	for (size_t i = 0; i < N_SECRETS; i++) {
		const uint8_t *p;
		uint8_t copy[NAP_RADIUS_MAX_LEN];
		size_t n;

		build_packet(&b, NAP_RADIUS_ACCESS_REQUEST, 1000 + (uint32_t)i, true);
		assert_int_equal(nap_radius_finish_request_s(&b, ks[i], &p, &n), 0);
		memcpy(copy, p, n);
		assert_int_equal(nap_radius_decode(copy, n, &pkt, NULL), 0);
		for (size_t j = 0; j < N_SECRETS; j++) {
			int want = i == j ? 0 : -EPERM;

			assert_int_equal(nap_radius_verify_request_s(&pkt, ks[j], true), want);
			assert_int_equal(nap_radius_verify_request(&pkt, s[j].bytes, s[j].len,
								   true),
					 want);
		}
		/* The secret with its last byte changed, and one byte short: rejected. */
		{
			struct nap_radius_secret *near;

			s[i].bytes[s[i].len - 1] ^= 0x01;
			assert_int_equal(nap_radius_secret_new(s[i].bytes, s[i].len, &near), 0);
			assert_int_equal(nap_radius_verify_request_s(&pkt, near, true), -EPERM);
			nap_radius_secret_free(near);
			s[i].bytes[s[i].len - 1] ^= 0x01;
			if (s[i].len > 1) {
				assert_int_equal(nap_radius_secret_new(s[i].bytes, s[i].len - 1,
								       &near),
						 0);
				assert_int_equal(nap_radius_verify_request_s(&pkt, near, true),
						 -EPERM);
				nap_radius_secret_free(near);
			}
		}
		/* A flipped attribute byte. */
		copy[n - 1] ^= 0x80;
		assert_int_equal(nap_radius_decode(copy, n, &pkt, NULL), 0);
		assert_int_equal(nap_radius_verify_request_s(&pkt, ks[i], true), -EPERM);
		assert_int_equal(nap_radius_verify_request(&pkt, s[i].bytes, s[i].len, true),
				 -EPERM);
	}
	for (size_t i = 0; i < N_SECRETS; i++)
		nap_radius_secret_free(ks[i]);
}

static void
test_secret_arguments(void **state)
{
	static struct nap_radius_builder b;
	static struct nap_radius_packet pkt;
	static uint8_t big[NAP_RADIUS_SECRET_MAX + 1];
	struct nap_radius_secret *ks = (struct nap_radius_secret *)&ks;
	const uint8_t *p;
	size_t n;

	(void)state;
	assert_int_equal(nap_radius_secret_new((const uint8_t *)"x", 0, &ks), -EINVAL);
	assert_null(ks);
	assert_int_equal(nap_radius_secret_new(NULL, 4, &ks), -EINVAL);
	assert_int_equal(nap_radius_secret_new(big, sizeof(big), &ks), -EINVAL);
	assert_null(ks);
	nap_radius_secret_free(NULL);

	build_packet(&b, NAP_RADIUS_ACCESS_REQUEST, 9, true);
	assert_int_equal(nap_radius_finish_request_s(&b, NULL, &p, &n), -EINVAL);
	build_packet(&b, NAP_RADIUS_ACCESS_ACCEPT, 9, true);
	assert_int_equal(nap_radius_finish_response_s(&b, b.buf + 4, NULL, &p, &n), -EINVAL);
	assert_int_equal(nap_radius_finish_request(&b, (const uint8_t *)"k", 1, &p, &n), 0);
	assert_int_equal(nap_radius_decode(p, n, &pkt, NULL), 0);
	assert_int_equal(nap_radius_verify_request_s(&pkt, NULL, true), -EINVAL);
	assert_int_equal(nap_radius_verify_response_s(&pkt, pkt.authenticator, NULL), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requests_identical),
		cmocka_unit_test(test_responses_identical),
		cmocka_unit_test(test_wrong_secret_rejected),
		cmocka_unit_test(test_secret_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
