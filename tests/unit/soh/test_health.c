// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * nap SHA / SHV entry tests: golden bytes (the hex examples of doc/formats.md), round trips,
 * unknown items skipped, bad values flagged as malformed, framing errors rejected.
 */
#include <errno.h>

#include "nap/health.h"
#include "util.h"

/* doc/formats.md, "nap SHA entry" example. */
static const char sha_golden[] =
	"0002 0004 007ed901"
	"0007 0058 007ed901"
	"  01 0001 01"
	"  02 0003 533031"
	"  03 0008 000000000000002a"
	"  04 0020 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	"  05 0008 0000000069248100"
	"  06 0001 00"
	"  07 000a 4453412d353637382d31"
	"000c 0008 01dc5d5b86d84600";

/* doc/formats.md, "nap SHV entry" example. */
static const char shv_golden[] =
	"0002 0004 007ed901"
	"0007 001b 007ed901"
	"  10 0001 01"
	"  11 0001 02"
	"  12 0001 02"
	"  03 0008 000000000000002b"
	"0004 0004 00000001";

static struct nap_soh soh, dec;

/* The bytes of the fenced block "```hex <tag>" in doc/formats.md. */
static size_t
doc_block(const char *tag, uint8_t *out)
{
	const char *path = getenv("NAP_FORMATS_DOC");
	char open[64], *start, *end;
	uint8_t *text;
	size_t len, bad;
	long n;

	assert_non_null(path);
	assert_int_equal(nap_read_file(path, 1 << 20, &text, &len), 0);
	snprintf(open, sizeof(open), "```hex %s\n", tag);
	text = realloc(text, len + 1);
	assert_non_null(text);
	text[len] = '\0';
	start = strstr((char *)text, open);
	assert_non_null(start);
	start += strlen(open);
	end = strstr(start, "```");
	assert_non_null(end);
	n = nap_hex_decode(start, (size_t)(end - start), out, 512, &bad);
	free(text);
	assert_true(n > 0);
	return (size_t)n;
}
static uint8_t buf[VEC_MAX];

static void
golden_health(struct nap_health *h)
{
	memset(h, 0, sizeof(*h));
	h->version = 1;
	strcpy(h->site, "S01");
	h->hsr_revision = 42;
	h->has_digest = true;
	for (int i = 0; i < 32; i++)
		h->hsr_digest[i] = (uint8_t)i;
	h->eval_time = 1764000000;
	h->has_generation_time = true;
	h->generation_time = 1764000060;
	h->compliant = false;
	h->n_missing = 1;
	strcpy(h->missing[0], "DSA-5678-1");
}

/* Encode soh and return the bytes of its last entry (from its System-Health-ID on). */
static size_t
last_entry_bytes(const struct nap_soh *s, uint8_t *out)
{
	uint8_t *p;
	size_t n, start;

	assert_int_equal(nap_soh_encode_alloc(s, &p, &n), 0);
	assert_int_equal(nap_soh_decode(p, n, &dec, NULL), 0);
	start = dec.attrs[dec.entries[dec.n_entries - 1].first_attr].offset;
	memcpy(out, p + start, n - start);
	free(p);
	return n - start;
}

static const struct nap_soh_entry *
roundtrip_entry(const struct nap_soh *s, uint8_t **keep)
{
	size_t n;

	assert_int_equal(nap_soh_encode_alloc(s, keep, &n), 0);
	assert_int_equal(nap_soh_decode(*keep, n, &dec, NULL), 0);
	return nap_soh_find_entry(&dec, NAP_SHID_NAP);
}

static void
test_sha_golden(void **state)
{
	struct nap_health h, got;
	uint8_t want[512];
	size_t n, m;

	(void)state;
	golden_health(&h);
	nap_soh_init(&soh, true, NULL);
	assert_int_equal(nap_health_add_entry(&soh, &h), 0);
	n = last_entry_bytes(&soh, buf);
	m = hex(sha_golden, want);
	assert_int_equal(n, m);
	assert_memory_equal(buf, want, m);
	assert_int_equal(doc_block("nap-sha-entry", want), m);
	assert_memory_equal(buf, want, m);

	uint8_t *keep;
	const struct nap_soh_entry *e = roundtrip_entry(&soh, &keep);
	assert_non_null(e);
	assert_int_equal(nap_health_decode(&dec, e, &got, NULL), 0);
	assert_false(got.malformed_items);
	assert_int_equal(got.version, 1);
	assert_string_equal(got.site, "S01");
	assert_true(got.hsr_revision == 42);
	assert_true(got.has_digest);
	assert_memory_equal(got.hsr_digest, h.hsr_digest, 32);
	assert_true(got.eval_time == 1764000000);
	assert_true(got.has_generation_time);
	assert_true(got.generation_time == 1764000060);
	assert_false(got.compliant);
	assert_int_equal(got.n_missing, 1);
	assert_string_equal(got.missing[0], "DSA-5678-1");
	assert_int_equal(got.failure_category, NAP_FAILURE_NONE);
	free(keep);
}

static void
test_sha_failure_roundtrip(void **state)
{
	struct nap_health h, got;
	uint8_t *keep;
	const struct nap_soh_entry *e;

	(void)state;
	golden_health(&h);
	h.compliant = true;
	h.n_missing = NAP_HEALTH_MAX_MISSING;
	for (int i = 0; i < NAP_HEALTH_MAX_MISSING; i++)
		snprintf(h.missing[i], sizeof(h.missing[i]), "pkg-%d>=1.%d", i, i);
	h.failure_category = NAP_FAILURE_CLIENT_COMPONENT;
	h.error_code = 0x80070005;
	h.has_digest = false;
	h.eval_time = -5;
	nap_soh_init(&soh, true, NULL);
	assert_int_equal(nap_health_add_entry(&soh, &h), 0);
	e = roundtrip_entry(&soh, &keep);
	assert_int_equal(nap_health_decode(&dec, e, &got, NULL), 0);
	assert_false(got.malformed_items);
	assert_true(got.compliant);
	assert_false(got.has_digest);
	assert_true(got.eval_time == -5);
	assert_int_equal(got.n_missing, NAP_HEALTH_MAX_MISSING);
	assert_string_equal(got.missing[31], "pkg-31>=1.31");
	assert_int_equal(got.failure_category, NAP_FAILURE_CLIENT_COMPONENT);
	assert_int_equal(got.error_code, 0x80070005);
	free(keep);

	/* Invalid input to the encoder. */
	strcpy(h.site, "bad site");
	assert_int_equal(nap_health_add_entry(&soh, &h), -EINVAL);
	golden_health(&h);
	strcpy(h.missing[0], "has space");
	assert_int_equal(nap_health_add_entry(&soh, &h), -EINVAL);
}

static void
test_shv_golden(void **state)
{
	struct nap_health_response r, got;
	uint8_t want[512], *keep;
	size_t n, m;
	const struct nap_soh_entry *e;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.result = 1;
	r.branch = 2;
	r.instructions = NAP_INSTRUCT_REFRESH_POLICY;
	r.hsr_revision = 43;
	r.compliance_code = 1;
	nap_soh_init(&soh, false, NULL);
	assert_int_equal(nap_health_response_add_entry(&soh, &r), 0);
	n = last_entry_bytes(&soh, buf);
	m = hex(shv_golden, want);
	assert_int_equal(n, m);
	assert_memory_equal(buf, want, m);
	assert_int_equal(doc_block("nap-shv-entry", want), m);
	assert_memory_equal(buf, want, m);

	r.has_digest = true;
	memset(r.hsr_digest, 0x5a, 32);
	r.failure_category = NAP_FAILURE_SERVER_COMMUNICATION;
	nap_soh_init(&soh, false, NULL);
	assert_int_equal(nap_health_response_add_entry(&soh, &r), 0);
	e = roundtrip_entry(&soh, &keep);
	assert_int_equal(nap_health_response_decode(&dec, e, &got, NULL), 0);
	assert_int_equal(got.result, 1);
	assert_int_equal(got.branch, 2);
	assert_int_equal(got.instructions, NAP_INSTRUCT_REFRESH_POLICY);
	assert_true(got.hsr_revision == 43);
	assert_true(got.has_digest);
	assert_memory_equal(got.hsr_digest, r.hsr_digest, 32);
	assert_int_equal(got.failure_category, NAP_FAILURE_SERVER_COMMUNICATION);
	assert_int_equal(got.compliance_code, 1);
	free(keep);
}

/*
 * Decode an SoH holding one nap entry: System-Health-ID, then (unless items is NULL) the nap
 * Vendor-Specific TLV with these items, then the tail TLVs.
 */
static int
decode_entry_hex(const char *items, const char *tail, struct nap_health *h, struct nap_err *err)
{
	size_t n = 12;

	memcpy(buf, "\x00\x07\x00\x00\x00\x00\x01\x37\x00\x01\x00\x00"
		    "\x00\x02\x00\x04\x00\x7e\xd9\x01", 20);
	n = 20;
	if (items != NULL) {
		size_t m = hex(items, buf + n + 8);

		memcpy(buf + n, "\x00\x07\x00\x00\x00\x7e\xd9\x01", 8);
		buf[n + 2] = (uint8_t)((m + 4) >> 8);
		buf[n + 3] = (uint8_t)(m + 4);
		n += 8 + m;
	}
	if (tail != NULL)
		n += hex(tail, buf + n);
	buf[2] = (uint8_t)((n - 4) >> 8);
	buf[3] = (uint8_t)(n - 4);
	buf[10] = (uint8_t)((n - 12) >> 8);
	buf[11] = (uint8_t)(n - 12);
	assert_int_equal(nap_soh_decode(buf, n, &dec, NULL), 0);
	return nap_health_decode(&dec, nap_soh_find_entry(&dec, NAP_SHID_NAP), h, err);
}

#define GOOD_ITEMS "010001 01 020003 533031 030008 0000000000000007 060001 01"

static void
test_sha_tolerance(void **state)
{
	struct nap_health h;
	struct nap_err err;

	(void)state;
	assert_int_equal(decode_entry_hex(GOOD_ITEMS, NULL, &h, NULL), 0);
	assert_false(h.malformed_items);
	/* Unknown item 99 and an unknown TLV are skipped. */
	assert_int_equal(decode_entry_hex("630002 abcd " GOOD_ITEMS " 630000", "0006 0002 1234", &h,
					  NULL),
			 0);
	assert_false(h.malformed_items);
	assert_string_equal(h.site, "S01");
	assert_true(h.hsr_revision == 7);
	assert_true(h.compliant);

	/* Digest of 31 bytes: malformed, not an error. */
	assert_int_equal(decode_entry_hex(GOOD_ITEMS " 04001f 00000000000000000000000000000000"
						     "000000000000000000000000000000",
					  NULL, &h, NULL),
			 0);
	assert_true(h.malformed_items);
	assert_false(h.has_digest);

	/* Compliant flag 2; a bad site character; required items missing; no VS at all. */
	assert_int_equal(decode_entry_hex("010001 01 020003 533031 030008 0000000000000007 060001 02",
					  NULL, &h, NULL),
			 0);
	assert_true(h.malformed_items);
	assert_int_equal(decode_entry_hex("010001 01 020003 532031 030008 0000000000000007 060001 01",
					  NULL, &h, NULL),
			 0);
	assert_true(h.malformed_items);
	assert_string_equal(h.site, "");
	assert_int_equal(decode_entry_hex("010001 01 020003 533031", NULL, &h, NULL), 0);
	assert_true(h.malformed_items);
	assert_int_equal(decode_entry_hex(NULL, NULL, &h, NULL), 0);
	assert_true(h.malformed_items);
	/* Version 0; site twice; missing id with a space; eval time of 4 bytes. */
	assert_int_equal(decode_entry_hex("010001 00 020003 533031 030008 0000000000000007 060001 01",
					  NULL, &h, NULL),
			 0);
	assert_true(h.malformed_items);
	assert_int_equal(decode_entry_hex(GOOD_ITEMS " 020003 533032", NULL, &h, NULL), 0);
	assert_true(h.malformed_items);
	assert_int_equal(decode_entry_hex(GOOD_ITEMS " 070003 612062", NULL, &h, NULL), 0);
	assert_true(h.malformed_items);
	assert_int_equal(h.n_missing, 0);
	assert_int_equal(decode_entry_hex(GOOD_ITEMS " 050004 00000001", NULL, &h, NULL), 0);
	assert_true(h.malformed_items);
	/* Failure-Category out of range; Error-Codes of 3 bytes; generation time of 4 bytes. */
	assert_int_equal(decode_entry_hex(GOOD_ITEMS, "000e 0001 09", &h, NULL), 0);
	assert_true(h.malformed_items);
	assert_int_equal(decode_entry_hex(GOOD_ITEMS, "000d 0003 000000", &h, NULL), 0);
	assert_true(h.malformed_items);
	assert_int_equal(decode_entry_hex(GOOD_ITEMS, "000c 0004 00000000", &h, NULL), 0);
	assert_true(h.malformed_items);
	/* A good failure report. */
	assert_int_equal(decode_entry_hex(GOOD_ITEMS, "000e 0001 03 000d 0008 c0ff0001 00000000",
					  &h, NULL),
			 0);
	assert_false(h.malformed_items);
	assert_int_equal(h.failure_category, NAP_FAILURE_CLIENT_COMMUNICATION);
	assert_int_equal(h.error_code, 0xc0ff0001);

	/* Framing: an item longer than the Vendor-Specific value, a cut item header. */
	assert_int_equal(decode_entry_hex("010001 01 020005 5330", NULL, &h, &err), -EBADMSG);
	assert_int_equal(err.offset, 20 + 8 + 4);
	assert_int_equal(decode_entry_hex("010001 01 0200", NULL, &h, &err), -EBADMSG);
	assert_int_equal(err.offset, 20 + 8 + 4);

	/* Not a nap entry. */
	dec.entries[0].system_health_id = NAP_SHID_WSH;
	assert_int_equal(nap_health_decode(&dec, &dec.entries[0], &h, NULL), -EINVAL);
	assert_int_equal(nap_health_decode(&dec, NULL, &h, NULL), -EINVAL);
}

/* CHECK items (NAP_ITEM_CHECK): round trip, encoder and decoder rules. */
static void
test_checks(void **state)
{
	struct nap_health h, got;
	uint8_t *keep;
	const struct nap_soh_entry *e;

	(void)state;
	golden_health(&h);
	h.n_checks = NAP_HEALTH_MAX_CHECKS;
	for (int i = 0; i < NAP_HEALTH_MAX_CHECKS; i++) {
		h.checks[i].status = (uint8_t)(i % 3);
		snprintf(h.checks[i].id, sizeof(h.checks[i].id), "CHK-%02d", i);
	}
	memset(h.checks[31].id, 'x', NAP_UPDATE_ID_MAX);
	h.checks[31].id[NAP_UPDATE_ID_MAX] = '\0';
	h.n_missing = NAP_HEALTH_MAX_MISSING;
	for (int i = 0; i < NAP_HEALTH_MAX_MISSING; i++)
		snprintf(h.missing[i], sizeof(h.missing[i]), "DSA-%d", i);
	nap_soh_init(&soh, true, NULL);
	assert_int_equal(nap_health_add_entry(&soh, &h), 0);
	e = roundtrip_entry(&soh, &keep);
	assert_int_equal(nap_health_decode(&dec, e, &got, NULL), 0);
	assert_false(got.malformed_items);
	assert_int_equal(got.n_missing, NAP_HEALTH_MAX_MISSING);
	assert_int_equal(got.n_checks, NAP_HEALTH_MAX_CHECKS);
	for (int i = 0; i < NAP_HEALTH_MAX_CHECKS; i++) {
		assert_int_equal(got.checks[i].status, i % 3);
		assert_string_equal(got.checks[i].id, h.checks[i].id);
	}
	free(keep);

	/* Encoder: bad status, id charset, empty id, too many. */
	golden_health(&h);
	h.n_checks = 1;
	h.checks[0].status = NAP_CHECK_ERROR + 1;
	strcpy(h.checks[0].id, "CHK-1");
	assert_int_equal(nap_health_add_entry(&soh, &h), -EINVAL);
	h.checks[0].status = NAP_CHECK_FAIL;
	strcpy(h.checks[0].id, "CHK/1");
	assert_int_equal(nap_health_add_entry(&soh, &h), -EINVAL);
	h.checks[0].id[0] = '\0';
	assert_int_equal(nap_health_add_entry(&soh, &h), -EINVAL);
	h.n_checks = NAP_HEALTH_MAX_CHECKS + 1;
	assert_int_equal(nap_health_add_entry(&soh, &h), -EINVAL);

	/* Decoder: "08 0006 01 43484b2d31" = FAIL "CHK-1". */
	assert_int_equal(decode_entry_hex(GOOD_ITEMS " 080006 01 43484b2d31 080006 00 43484b2d32",
					  NULL, &got, NULL),
			 0);
	assert_false(got.malformed_items);
	assert_int_equal(got.n_checks, 2);
	assert_int_equal(got.checks[0].status, NAP_CHECK_FAIL);
	assert_string_equal(got.checks[0].id, "CHK-1");
	assert_int_equal(got.checks[1].status, NAP_CHECK_PASS);
	assert_string_equal(got.checks[1].id, "CHK-2");
	/* Status 3; no id; a NUL, a space or a slash in the id; the same id twice. */
	static const char *const bad[] = {
		GOOD_ITEMS " 080006 03 43484b2d31",
		GOOD_ITEMS " 080001 00",
		GOOD_ITEMS " 080000",
		GOOD_ITEMS " 080006 00 43484b002d",
		GOOD_ITEMS " 080006 00 43484b202d",
		GOOD_ITEMS " 080006 00 43484b2f2d",
		GOOD_ITEMS " 080006 01 43484b2d31 080006 00 43484b2d31",
	};
	for (size_t i = 0; i < NAP_ARRAY_SIZE(bad); i++) {
		assert_int_equal(decode_entry_hex(bad[i], NULL, &got, NULL), 0);
		if (!got.malformed_items)
			fail_msg("case %zu accepted", i);
	}
	/* An id of 64 bytes; 33 items. */
	{
		char items[4096];
		int n = snprintf(items, sizeof(items), "%s 080041 00", GOOD_ITEMS);

		for (int i = 0; i < 64; i++)
			n += snprintf(items + n, sizeof(items) - (size_t)n, "41");
		assert_int_equal(decode_entry_hex(items, NULL, &got, NULL), 0);
		assert_true(got.malformed_items);
		n = snprintf(items, sizeof(items), "%s", GOOD_ITEMS);
		for (int i = 0; i <= NAP_HEALTH_MAX_CHECKS; i++)
			n += snprintf(items + n, sizeof(items) - (size_t)n, " 080004 00 43 3%d 3%d",
				      i / 10, i % 10);
		assert_int_equal(decode_entry_hex(items, NULL, &got, NULL), 0);
		assert_true(got.malformed_items);
		assert_int_equal(got.n_checks, NAP_HEALTH_MAX_CHECKS);
	}
}

static void
test_site_valid(void **state)
{
	(void)state;
	assert_true(nap_site_valid("S01"));
	assert_true(nap_site_valid("a-b_C9"));
	assert_true(nap_site_valid("ABCDEFGHIJKLMNOP"));
	assert_false(nap_site_valid("ABCDEFGHIJKLMNOPQ"));
	assert_false(nap_site_valid(""));
	assert_false(nap_site_valid(NULL));
	assert_false(nap_site_valid("S 1"));
	assert_false(nap_site_valid("S\xc3\xa9"));
	assert_false(nap_site_valid("S1."));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha_golden),
		cmocka_unit_test(test_sha_failure_roundtrip),
		cmocka_unit_test(test_shv_golden),
		cmocka_unit_test(test_sha_tolerance),
		cmocka_unit_test(test_site_valid),
		cmocka_unit_test(test_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
