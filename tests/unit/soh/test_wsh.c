// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * MS-WSH tests: PROTOCOLS.md V3 (WSHA) and V4 (WSHV) decode field by field, and the encoders
 * rebuild both byte for byte.
 */
#include <errno.h>

#include "nap/soh.h"
#include "util.h"

/* PROTOCOLS.md §10 V3, 150 bytes. */
static const char v3_hex[] =
	"00 02 00 04 00 01 37 80 00 07 00 08 00 01 37 80"
	"01 00 00 00 00 07 00 08 00 01 37 80 01 00 06 00"
	"00 08 00 01 00 00 0a 00 06 46 00 57 00 00 00 00"
	"0b 00 04 00 00 00 05 00 08 00 01 01 00 0b 00 04"
	"c0 ff 00 02 00 08 00 01 02 00 0a 00 06 41 00 53"
	"00 00 00 00 0b 00 04 00 00 00 07 00 08 00 01 03"
	"00 0b 00 04 00 00 00 04 00 08 00 01 04 00 0b 00"
	"04 00 ff 00 05 00 07 00 08 00 01 37 80 10 0e 00"
	"00 00 07 00 05 00 01 37 80 00 00 07 00 08 00 01"
	"37 80 00 42 00 00";

/* PROTOCOLS.md §10 V4, 90 bytes. */
static const char v4_hex[] =
	"00 02 00 04 00 01 37 80 00 08 00 01 00 00 04 00"
	"04 00 00 00 00 00 08 00 01 01 00 04 00 08 c0 ff"
	"00 02 00 00 00 00 00 0e 00 01 02 00 08 00 01 02"
	"00 04 00 08 00 00 00 00 00 00 00 00 00 08 00 01"
	"03 00 04 00 04 00 00 00 00 00 08 00 01 04 00 04"
	"00 08 00 00 00 00 00 00 00 00";

static struct nap_soh soh, built;
static uint8_t buf[VEC_MAX], v[VEC_MAX];

/* Encode and return a pointer to the last len bytes (the entry just added). */
static void
assert_tail_equal(const struct nap_soh *s, const uint8_t *want, size_t len)
{
	uint8_t *out;
	size_t n;

	assert_int_equal(nap_soh_encode_alloc(s, &out, &n), 0);
	assert_true(n > len);
	assert_memory_equal(out + n - len, want, len);
	free(out);
}

static void
test_v3_wsha(void **state)
{
	static const uint8_t fw[] = {'F', 0, 'W', 0, 0, 0}, as[] = {'A', 0, 'S', 0, 0, 0};
	struct nap_wsh w;
	struct nap_err err;
	size_t n = vec_load("derived-v3-wsha-only-soh", buf);
	size_t m = hex(v3_hex, v);

	(void)state;
	assert_int_equal(m, 150);
	assert_memory_equal(buf + 12, v, m);
	assert_int_equal(nap_soh_decode(buf, n, &soh, NULL), 0);
	assert_int_equal(nap_wsh_decode(&soh, &soh.entries[0], &w, &err), 0);
	assert_true(w.has_flag);
	assert_int_equal(w.flag_counter, 1);
	assert_true(w.has_version);
	assert_int_equal(w.client_version, 0x00060001);
	assert_true(w.cls[NAP_WSH_FIREWALL].present);
	assert_int_equal(w.cls[NAP_WSH_FIREWALL].status, 0x5);
	assert_int_equal(w.cls[NAP_WSH_FIREWALL].product_name_len, 6);
	assert_memory_equal(w.cls[NAP_WSH_FIREWALL].product_name, fw, 6);
	assert_int_equal(w.cls[NAP_WSH_ANTIVIRUS].status, NAP_WSH_E_PRODUCT_NOT_INSTALLED);
	assert_null(w.cls[NAP_WSH_ANTIVIRUS].product_name);
	assert_true(nap_wsh_status_is_error(w.cls[NAP_WSH_ANTIVIRUS].status));
	assert_int_equal(w.cls[NAP_WSH_ANTISPYWARE].status, 0x7);
	assert_memory_equal(w.cls[NAP_WSH_ANTISPYWARE].product_name, as, 6);
	assert_int_equal(w.cls[NAP_WSH_AUTO_UPDATES].status, 0x4);
	assert_int_equal(w.cls[NAP_WSH_SECURITY_UPDATES].status, NAP_WSH_S_NO_MISSING_UPDATES);
	assert_false(nap_wsh_status_is_error(NAP_WSH_S_NO_MISSING_UPDATES));
	assert_true(w.has_last_scan);
	assert_int_equal(w.last_scan_seconds, 3600);
	assert_true(w.has_wsus);
	assert_int_equal(w.wsus_server_len, 1);
	assert_int_equal(w.wsus_server[0], 0);
	assert_true(w.has_updates_flag);
	assert_int_equal(w.updates_flag, 0x4000 | 0x200);

	/* The same entry through the encoder. */
	nap_soh_init(&built, true, NULL);
	assert_int_equal(nap_wsh_add_entry(&built, &w), 0);
	assert_tail_equal(&built, v, m);

	/* Also inside the Windows-like SoH. */
	n = vec_load("derived-v2-plus-v3", buf);
	assert_int_equal(nap_soh_decode(buf, n, &soh, NULL), 0);
	assert_int_equal(nap_wsh_decode(&soh, nap_soh_find_entry(&soh, NAP_SHID_WSH), &w, NULL), 0);
	assert_int_equal(w.updates_flag, 0x4200);
	assert_int_equal(nap_wsh_decode(&soh, &soh.entries[0], &w, NULL), -EINVAL);
}

static void
test_v4_wshv(void **state)
{
	struct nap_wshv w;
	size_t n = vec_load("derived-v4-sohr-entry-as-soh", buf);
	size_t m = hex(v4_hex, v);

	(void)state;
	assert_int_equal(m, 90);
	assert_memory_equal(buf + 12, v, m);
	assert_int_equal(nap_soh_decode(buf, n, &soh, NULL), 0);
	assert_int_equal(nap_wshv_decode(&soh, &soh.entries[0], &w, NULL), 0);
	for (int i = 0; i < NAP_WSH_CLASSES; i++)
		assert_true(w.cls[i].present);
	assert_int_equal(w.cls[NAP_WSH_FIREWALL].code1, 0);
	assert_false(w.cls[NAP_WSH_FIREWALL].has_code2);
	assert_int_equal(w.cls[NAP_WSH_ANTIVIRUS].code1, NAP_WSH_E_PRODUCT_NOT_INSTALLED);
	assert_true(w.cls[NAP_WSH_ANTIVIRUS].has_code2);
	assert_int_equal(w.cls[NAP_WSH_ANTIVIRUS].code2, 0);
	assert_true(w.cls[NAP_WSH_ANTIVIRUS].has_failure);
	assert_int_equal(w.cls[NAP_WSH_ANTIVIRUS].failure_category, 2);
	assert_false(w.cls[NAP_WSH_ANTISPYWARE].has_failure);
	assert_true(w.cls[NAP_WSH_ANTISPYWARE].has_code2);
	assert_false(w.cls[NAP_WSH_AUTO_UPDATES].has_code2);
	assert_true(w.cls[NAP_WSH_SECURITY_UPDATES].has_code2);

	/* V4 built from scratch with the encoder. */
	struct nap_wshv b;
	memset(&b, 0, sizeof(b));
	for (int i = 0; i < NAP_WSH_CLASSES; i++)
		b.cls[i].present = true;
	b.cls[NAP_WSH_ANTIVIRUS].code1 = NAP_WSH_E_PRODUCT_NOT_INSTALLED;
	b.cls[NAP_WSH_ANTIVIRUS].has_code2 = true;
	b.cls[NAP_WSH_ANTIVIRUS].has_failure = true;
	b.cls[NAP_WSH_ANTIVIRUS].failure_category = NAP_FAILURE_CLIENT_COMPONENT;
	b.cls[NAP_WSH_ANTISPYWARE].has_code2 = true;
	b.cls[NAP_WSH_SECURITY_UPDATES].has_code2 = true;
	nap_soh_init(&built, false, NULL);
	assert_int_equal(nap_wshv_add_entry(&built, &b), 0);
	assert_tail_equal(&built, v, m);
}

static void
test_wsh_malformed(void **state)
{
	struct nap_wsh w;
	struct nap_wshv wv;
	struct nap_err err;
	size_t n = vec_load("derived-v3-wsha-only-soh", buf);
	size_t class_at;

	(void)state;
	assert_int_equal(nap_soh_decode(buf, n, &soh, NULL), 0);
	/* Health class 5 does not exist. */
	class_at = soh.attrs[3].offset;
	assert_int_equal(soh.attrs[3].type, NAP_SOH_ATTR_HEALTH_CLASS);
	buf[class_at + 4] = 5;
	assert_int_equal(nap_soh_decode(buf, n, &soh, NULL), 0);
	assert_int_equal(nap_wsh_decode(&soh, &soh.entries[0], &w, &err), -EBADMSG);
	assert_int_equal(err.offset, class_at + 4);
	/* Repeated class. */
	buf[class_at + 4] = 1;
	assert_int_equal(nap_soh_decode(buf, n, &soh, NULL), 0);
	assert_int_equal(nap_wsh_decode(&soh, &soh.entries[0], &w, &err), -EBADMSG);
	buf[class_at + 4] = 0;
	/* A Health-Class turned into a 1-byte Health-Class-Status: bad length. */
	buf[class_at + 1] = 0x0b;
	assert_int_equal(nap_soh_decode(buf, n, &soh, NULL), 0);
	assert_int_equal(nap_wsh_decode(&soh, &soh.entries[0], &w, &err), -EBADMSG);
	buf[class_at + 1] = 0x08;

	/* WSHV: Compliance-Result-Codes of 12 bytes; codes before any class. */
	n = hex("0007 0025 00000137 0001 001d 0002 0004 00013780 0008 0001 00"
		" 0004 000c 000000000000000000000000",
		buf);
	assert_int_equal(nap_soh_decode(buf, n, &soh, NULL), 0);
	assert_int_equal(nap_wshv_decode(&soh, &soh.entries[0], &wv, &err), -EBADMSG);
	assert_int_equal(err.offset, 12 + 8 + 5 + 2);
	n = hex("0007 0018 00000137 0001 0010 0002 0004 00013780 0004 0004 00000000", buf);
	assert_int_equal(nap_soh_decode(buf, n, &soh, NULL), 0);
	assert_int_equal(nap_wshv_decode(&soh, &soh.entries[0], &wv, &err), -EBADMSG);
}

static void
test_wsh_no_last_scan_after_error(void **state)
{
	struct nap_wsh w, got;
	static const uint8_t wsus[] = {'w', 's', 'u', 's'};
	uint8_t *out;
	size_t n;

	(void)state;
	/* Security updates in error: no last-scan TLV; a 4-byte WSUS name must not be mistaken. */
	memset(&w, 0, sizeof(w));
	w.cls[NAP_WSH_SECURITY_UPDATES].present = true;
	w.cls[NAP_WSH_SECURITY_UPDATES].status = 0xC0FF000Cu;
	w.has_wsus = true;
	w.wsus_server = wsus;
	w.wsus_server_len = sizeof(wsus);
	w.has_updates_flag = true;
	w.updates_flag = 0x10400;
	nap_soh_init(&built, true, NULL);
	assert_int_equal(nap_wsh_add_entry(&built, &w), 0);
	assert_int_equal(nap_soh_encode_alloc(&built, &out, &n), 0);
	assert_int_equal(nap_soh_decode(out, n, &soh, NULL), 0);
	assert_int_equal(nap_wsh_decode(&soh, nap_soh_find_entry(&soh, NAP_SHID_WSH), &got, NULL),
			 0);
	assert_false(got.has_last_scan);
	assert_true(got.has_wsus);
	assert_int_equal(got.wsus_server_len, 4);
	assert_memory_equal(got.wsus_server, wsus, 4);
	assert_true(got.has_updates_flag);
	assert_int_equal(got.updates_flag, 0x10400);
	free(out);
	assert_string_equal(nap_wsh_class_name(NAP_WSH_AUTO_UPDATES), "auto-updates");
	assert_string_equal(nap_wsh_class_name((enum nap_wsh_class)7), "unknown");
	assert_true(nap_wsh_status_is_error(0x00FF0008u));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v3_wsha),
		cmocka_unit_test(test_v4_wshv),
		cmocka_unit_test(test_wsh_malformed),
		cmocka_unit_test(test_wsh_no_last_scan_after_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
