// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Sample SoH builder tests: for each kind of SoH the validator distinguishes, the built bytes
 * decode back to exactly what the spec asked for.
 */
#include <errno.h>

#include "nap/health.h"
#include "nap/sample.h"
#include "nap/soh.h"
#include "util.h"

static struct nap_soh soh;

static void
base_spec(struct nap_sample_spec *s)
{
	static const char *missing[] = {"openssl>=3.0.15", "DSA-5678-1"};

	memset(s, 0, sizeof(*s));
	s->machine_name = "host1.example.org";
	s->site = "S01";
	s->revision = 12;
	s->compliant = false;
	s->generation_time = 1764000060;
	s->eval_time = 1764000000;
	s->missing = missing;
	s->n_missing = 2;
	s->os_major = 6;
	s->os_minor = 1;
	s->os_build = 55;
	s->processor_arch = NAP_ARCH_X64;
}

static void
build_decode(const struct nap_sample_spec *s, uint8_t **out, size_t *n)
{
	struct nap_err err = {0};
	int r;

	assert_int_equal(nap_sample_soh_build(s, out, n), 0);
	r = nap_soh_decode(*out, *n, &soh, &err);
	if (r != 0)
		fail_msg("decode: %d %s at %zu", r, err.what, err.offset);
}

static void
test_sample_noncompliant(void **state)
{
	struct nap_sample_spec s;
	struct nap_health h;
	uint8_t *out, corr[24];
	size_t n;

	(void)state;
	base_spec(&s);
	build_decode(&s, &out, &n);
	assert_false(soh.wrapped);
	assert_true(nap_soh_is_request(&soh));
	assert_int_equal(soh.ssoh.machine_name_len, strlen(s.machine_name) + 1);
	assert_memory_equal(soh.ssoh.machine_name, s.machine_name, strlen(s.machine_name) + 1);
	assert_int_equal(soh.ssoh.os_major, 6);
	assert_int_equal(soh.ssoh.os_minor, 1);
	assert_int_equal(soh.ssoh.os_build, 55);
	assert_int_equal(soh.ssoh.processor_arch, NAP_ARCH_X64);
	assert_int_equal(soh.ssoh.product_type, NAP_PRODUCT_CLIENT);
	nap_sample_correlation_id(s.machine_name, s.generation_time, corr);
	assert_memory_equal(nap_soh_correlation_id(&soh), corr, 24);
	assert_memory_equal(soh.ssoh.correlation_id, corr, 24);
	assert_null(nap_soh_find_entry(&soh, NAP_SHID_WSH));
	assert_int_equal(nap_health_decode(&soh, nap_soh_find_entry(&soh, NAP_SHID_NAP), &h, NULL),
			 0);
	assert_false(h.malformed_items);
	assert_string_equal(h.site, "S01");
	assert_true(h.hsr_revision == 12);
	assert_false(h.compliant);
	assert_true(h.has_digest);
	for (int i = 0; i < 32; i++)
		assert_int_equal(h.hsr_digest[i], 0);
	assert_true(h.generation_time == 1764000060);
	assert_true(h.eval_time == 1764000000);
	assert_int_equal(h.n_missing, 2);
	assert_string_equal(h.missing[0], "openssl>=3.0.15");
	assert_string_equal(h.missing[1], "DSA-5678-1");
	assert_int_equal(h.failure_category, NAP_FAILURE_NONE);
	free(out);

	/* Another machine or another time: another correlation id. */
	uint8_t other[24];
	nap_sample_correlation_id("host2.example.org", s.generation_time, other);
	assert_memory_not_equal(corr, other, 16);
	nap_sample_correlation_id(s.machine_name, s.generation_time + 1, other);
	assert_memory_not_equal(corr, other, 24);
}

static void
test_sample_compliant_wsh_wrapped(void **state)
{
	struct nap_sample_spec s;
	struct nap_health h;
	struct nap_wsh w;
	uint8_t *out, digest[32], corr[24];
	size_t n;

	(void)state;
	base_spec(&s);
	for (int i = 0; i < 32; i++)
		digest[i] = (uint8_t)(0xf0 ^ i);
	memset(corr, 0x42, sizeof(corr));
	s.compliant = true;
	s.n_missing = 0;
	s.digest = digest;
	s.with_wsh = true;
	s.wrapped = true;
	s.correlation_id = corr;
	build_decode(&s, &out, &n);
	assert_true(soh.wrapped);
	assert_true(n - 12 > 247);
	assert_memory_equal(nap_soh_correlation_id(&soh), corr, 24);
	assert_int_equal(nap_wsh_decode(&soh, nap_soh_find_entry(&soh, NAP_SHID_WSH), &w, NULL), 0);
	assert_int_equal(w.cls[NAP_WSH_FIREWALL].status, 0x5);
	assert_int_equal(w.cls[NAP_WSH_ANTIVIRUS].status, NAP_WSH_E_PRODUCT_NOT_INSTALLED);
	assert_int_equal(w.last_scan_seconds, 3600);
	assert_int_equal(nap_health_decode(&soh, nap_soh_find_entry(&soh, NAP_SHID_NAP), &h, NULL),
			 0);
	assert_true(h.compliant);
	assert_memory_equal(h.hsr_digest, digest, 32);
	assert_int_equal(h.n_missing, 0);
	free(out);
}

static void
test_sample_failure_malformed_omitted(void **state)
{
	struct nap_sample_spec s;
	struct nap_health h;
	uint8_t *out;
	size_t n;

	(void)state;
	base_spec(&s);
	s.failure_category = NAP_FAILURE_CLIENT_COMPONENT;
	s.error_code = 0x80070002;
	build_decode(&s, &out, &n);
	assert_int_equal(nap_health_decode(&soh, nap_soh_find_entry(&soh, NAP_SHID_NAP), &h, NULL),
			 0);
	assert_int_equal(h.failure_category, NAP_FAILURE_CLIENT_COMPONENT);
	assert_int_equal(h.error_code, 0x80070002);
	assert_false(h.malformed_items);
	free(out);

	base_spec(&s);
	s.malformed_nap_entry = true;
	build_decode(&s, &out, &n);
	assert_int_equal(nap_health_decode(&soh, nap_soh_find_entry(&soh, NAP_SHID_NAP), &h, NULL),
			 0);
	assert_true(h.malformed_items);
	assert_string_equal(h.site, "S01");
	free(out);

	base_spec(&s);
	s.omit_nap_entry = true;
	build_decode(&s, &out, &n);
	assert_null(nap_soh_find_entry(&soh, NAP_SHID_NAP));
	assert_int_equal(soh.n_entries, 1);
	free(out);

	base_spec(&s);
	s.site = "not a site";
	assert_int_equal(nap_sample_soh_build(&s, &out, &n), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample_noncompliant),
		cmocka_unit_test(test_sample_compliant_wsh_wrapped),
		cmocka_unit_test(test_sample_failure_malformed_omitted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
