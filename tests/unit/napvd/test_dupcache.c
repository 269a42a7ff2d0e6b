// SPDX-License-Identifier: GPL-3.0-or-later
/* Unit tests for napvd's RFC 5080 duplicate cache: hits and misses on every key field, expiry,
 * eviction by entry count and by reply bytes, and a randomised check against a simple model. */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "napvd.h"

static struct sockaddr_in
v4(uint32_t addr, uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};

	a.sin_addr.s_addr = htonl(addr);
	a.sin_port = htons(port);
	return a;
}

static void
key(struct napvd_dup_key *k, uint32_t addr, uint16_t port, uint8_t id, uint8_t authbyte)
{
	struct sockaddr_in a = v4(addr, port);
	uint8_t auth[NAP_RADIUS_AUTH_LEN];

	memset(auth, authbyte, sizeof(auth));
	napvd_dup_key_make(k, (const struct sockaddr *)&a, id, auth);
}

static void
test_hit_and_miss(void **state)
{
	struct napvd_dupcache dc;
	struct napvd_dup_key k, other;
	uint8_t reply[100];
	const uint8_t *p;
	size_t n = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(reply); i++)
		reply[i] = (uint8_t)i;
	assert_int_equal(napvd_dup_init(&dc, 16, 8192, 30000), 0);
	key(&k, 0x7f000001, 4000, 7, 0xaa);
	assert_null(napvd_dup_lookup(&dc, &k, 0, &n));
	assert_int_equal(napvd_dup_insert(&dc, &k, 1000, reply, sizeof(reply)), 0);
	p = napvd_dup_lookup(&dc, &k, 2000, &n);
	assert_non_null(p);
	assert_int_equal(n, sizeof(reply));
	assert_memory_equal(p, reply, sizeof(reply));
	/* Every key field matters. */
	key(&other, 0x7f000002, 4000, 7, 0xaa);
	assert_null(napvd_dup_lookup(&dc, &other, 2000, &n));
	key(&other, 0x7f000001, 4001, 7, 0xaa);
	assert_null(napvd_dup_lookup(&dc, &other, 2000, &n));
	key(&other, 0x7f000001, 4000, 8, 0xaa);
	assert_null(napvd_dup_lookup(&dc, &other, 2000, &n));
	key(&other, 0x7f000001, 4000, 7, 0xab);
	assert_null(napvd_dup_lookup(&dc, &other, 2000, &n));
	/* The window is dup_cache_ttl. */
	assert_non_null(napvd_dup_lookup(&dc, &k, 1000 + 29999, &n));
	assert_null(napvd_dup_lookup(&dc, &k, 1000 + 30000, &n));
	napvd_dup_expire(&dc, 1000 + 30000);
	assert_int_equal(dc.count, 0);
	napvd_dup_free(&dc);
}

static void
test_ipv6_key(void **state)
{
	struct napvd_dupcache dc;
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(9)};
	struct napvd_dup_key k1, k2;
	uint8_t auth[16] = {1}, reply[20] = {2};
	size_t n;

	(void)state;
	assert_int_equal(napvd_dup_init(&dc, 4, 8192, 1000), 0);
	a.sin6_addr.s6_addr[15] = 1;
	napvd_dup_key_make(&k1, (const struct sockaddr *)&a, 1, auth);
	a.sin6_addr.s6_addr[0] = 0x20;
	napvd_dup_key_make(&k2, (const struct sockaddr *)&a, 1, auth);
	assert_int_equal(napvd_dup_insert(&dc, &k1, 0, reply, sizeof(reply)), 0);
	assert_non_null(napvd_dup_lookup(&dc, &k1, 1, &n));
	assert_null(napvd_dup_lookup(&dc, &k2, 1, &n));
	napvd_dup_free(&dc);
}

static void
test_evict_by_entries(void **state)
{
	struct napvd_dupcache dc;
	struct napvd_dup_key k[6];
	uint8_t reply[20] = {0};
	size_t n;

	(void)state;
	assert_int_equal(napvd_dup_init(&dc, 4, 8192, 60000), 0);
	for (uint8_t i = 0; i < 6; i++) {
		key(&k[i], 0x0a000001, 1812, i, i);
		reply[0] = i;
		assert_int_equal(napvd_dup_insert(&dc, &k[i], i, reply, sizeof(reply)), 0);
	}
	assert_int_equal(dc.count, 4);
	assert_null(napvd_dup_lookup(&dc, &k[0], 10, &n));
	assert_null(napvd_dup_lookup(&dc, &k[1], 10, &n));
	for (uint8_t i = 2; i < 6; i++) {
		const uint8_t *p = napvd_dup_lookup(&dc, &k[i], 10, &n);

		assert_non_null(p);
		assert_int_equal(p[0], i);
	}
	napvd_dup_free(&dc);
}

static void
test_evict_by_bytes(void **state)
{
	struct napvd_dupcache dc;
	struct napvd_dup_key k[4];
	static uint8_t reply[3000];
	size_t n;

	(void)state;
	/* 8192 bytes hold two 3000-byte replies; the third evicts the oldest. */
	assert_int_equal(napvd_dup_init(&dc, 100, 8192, 60000), 0);
	for (uint8_t i = 0; i < 4; i++) {
		key(&k[i], 0x0a000001, 1812, i, i);
		memset(reply, i + 1, sizeof(reply));
		assert_int_equal(napvd_dup_insert(&dc, &k[i], i, reply, sizeof(reply)), 0);
	}
	assert_null(napvd_dup_lookup(&dc, &k[0], 10, &n));
	assert_null(napvd_dup_lookup(&dc, &k[1], 10, &n));
	for (uint8_t i = 2; i < 4; i++) {
		const uint8_t *p = napvd_dup_lookup(&dc, &k[i], 10, &n);

		assert_non_null(p);
		assert_int_equal(n, 3000);
		assert_int_equal(p[0], i + 1);
		assert_int_equal(p[2999], i + 1);
	}
	assert_int_equal(napvd_dup_insert(&dc, &k[0], 11, reply, 0), -EINVAL);
	napvd_dup_free(&dc);
}

/* Random sizes and times against a model: what is found is always exactly what was stored. */
static void
test_model(void **state)
{
	enum { N = 5000, MAXE = 64 };
	struct napvd_dupcache dc;
	static uint8_t buf[NAP_RADIUS_MAX_LEN];
	static size_t lens[N];
	static int64_t at[N];
	unsigned seed = 12345;
	size_t found = 0;

	(void)state;
	assert_int_equal(napvd_dup_init(&dc, MAXE, 3 * NAP_RADIUS_MAX_LEN, 500), 0);
	for (int i = 0; i < N; i++) {
		struct napvd_dup_key k;
		int64_t now = i;

		key(&k, 0x0a000000u + (uint32_t)i, (uint16_t)i, (uint8_t)i, (uint8_t)(i >> 8));
		lens[i] = 20 + (size_t)(rand_r(&seed) % (NAP_RADIUS_MAX_LEN - 20));
		at[i] = now;
		memset(buf, (uint8_t)i, lens[i]);
		buf[0] = (uint8_t)(i >> 8);
		assert_int_equal(napvd_dup_insert(&dc, &k, now, buf, lens[i]), 0);
		assert_true(dc.count <= MAXE);
		/* Check a few earlier keys. */
		for (int j = i; j >= 0 && j > i - 80; j -= 7) {
			struct napvd_dup_key kj;
			const uint8_t *p;
			size_t n = 0;

			key(&kj, 0x0a000000u + (uint32_t)j, (uint16_t)j, (uint8_t)j,
			    (uint8_t)(j >> 8));
			p = napvd_dup_lookup(&dc, &kj, now, &n);
			if (p == NULL)
				continue;
			assert_true(now - at[j] < 500);
			assert_int_equal(n, lens[j]);
			assert_int_equal(p[0], (uint8_t)(j >> 8));
			assert_int_equal(p[n - 1], (uint8_t)j);
			for (size_t b = 1; b < n; b++)
				if (p[b] != (uint8_t)j)
					fail_msg("entry %d byte %zu corrupted", j, b);
			found++;
		}
		/* The newest entry is always there. */
		size_t n = 0;

		assert_non_null(napvd_dup_lookup(&dc, &k, now, &n));
	}
	assert_true(found > N);
	napvd_dup_free(&dc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_and_miss),
		cmocka_unit_test(test_ipv6_key),
		cmocka_unit_test(test_evict_by_entries),
		cmocka_unit_test(test_evict_by_bytes),
		cmocka_unit_test(test_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
