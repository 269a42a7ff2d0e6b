// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * napdump's describing layer (tools/napdump/dump.c) on the vectors: every truncation point of
 * every positive vector fails with an offset inside the input; a corrupted byte inside a split
 * MS-Quarantine-SoH is reported at its offset in the RADIUS packet; the text renderer's layout.
 * Handles test input only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nap/util.h"

#include "dump.h"
#include "dump_dhcp.h"

static const char *vectors_dir;

static size_t
load(const char *name, uint8_t *out, size_t cap)
{
	char path[4096];
	uint8_t *text;
	size_t len;
	long n;

	snprintf(path, sizeof(path), "%s/%s", vectors_dir, name);
	assert_int_equal(nap_read_file(path, 1 << 20, &text, &len), 0);
	n = nap_hex_decode((const char *)text, len, out, cap, NULL);
	free(text);
	assert_true(n > 0);
	return (size_t)n;
}

static int
run(const char *kind, const uint8_t *p, size_t n, struct nap_err *err, json_t **out)
{
	bool problem = false;
	int r;

	*out = NULL;
	if (strcmp(kind, "radius") == 0) {
		r = dump_radius(p, n, NULL, out, &problem, err);
		if (r == 0 && problem) {
			json_decref(*out);
			*out = NULL;
			return -1;
		}
		return r;
	}
	if (strcmp(kind, "dhcp") == 0) {
		r = dump_dhcp(p, n, out, &problem, err);
		if (r == 0 && problem) {
			json_decref(*out);
			*out = NULL;
			return -1;
		}
		return r;
	}
	return dump_soh(p, n, strcmp(kind, "soh") == 0 ? DUMP_SOH : DUMP_SOHR, out, err);
}

static void
test_truncations(void **state)
{
	static const char *const vectors[][2] = {
		{"soh", "soh-wpasupplicant-tnc-soh2.hex"},
		{"soh", "soh-wpasupplicant-tnc-soh1.hex"},
		{"soh", "soh-derived-v2-plus-v3.hex"},
		{"soh", "soh-derived-ssoh-min-plus-v3.hex"},
		{"soh", "soh-derived-v3-wsha-only.hex"},
		{"soh", "soh-derived-v2-peap-wrapped.hex"},
		{"soh", "soh-nap-wsh.hex"},
		{"sohr", "sohr-derived-v4-wshv-entry.hex"},
		{"sohr", "sohr-nap-wsh.hex"},
		{"radius", "radius-access-request-split-soh.hex"},
		{"radius", "radius-access-accept-sohr.hex"},
		{"dhcp", "dhcp-discover-nap-probe.hex"},
		{"dhcp", "dhcp-request-nap-long-soh.hex"},
		{"dhcp", "dhcp-ack-nap-restricted.hex"},
	};
	uint8_t buf[8192];

	(void)state;
	for (size_t v = 0; v < NAP_ARRAY_SIZE(vectors); v++) {
		size_t len = load(vectors[v][1], buf, sizeof(buf));
		struct nap_err err = {0, NULL};
		json_t *j;

		assert_int_equal(run(vectors[v][0], buf, len, &err, &j), 0);
		json_decref(j);
		for (size_t i = 0; i < len; i++) {
			uint8_t *cut = malloc(i + 1); /* exact size, so ASan sees overreads */

			assert_non_null(cut);
			memcpy(cut, buf, i);
			err.what = NULL;
			err.offset = SIZE_MAX;
			if (run(vectors[v][0], cut, i, &err, &j) == 0) {
				json_decref(j);
				/* A RADIUS packet cut after its Length field is still that packet;
				 * a DHCP packet cut between options or in the padding is a shorter
				 * DHCP packet. */
				if (strcmp(vectors[v][0], "radius") != 0 &&
				    strcmp(vectors[v][0], "dhcp") != 0)
					fail_msg("%s cut to %zu bytes decoded", vectors[v][1], i);
			} else {
				assert_non_null(err.what);
				assert_true(err.offset <= i);
			}
			free(cut);
		}
	}
}

/* A byte changed inside the second MS-Quarantine-SoH piece is reported where it is. */
static void
test_split_soh_offset(void **state)
{
	uint8_t buf[8192];
	size_t len = load("radius-access-request-split-soh.hex", buf, sizeof(buf));
	struct nap_err err = {0, NULL};
	bool problem = false;
	json_t *j = NULL, *attrs, *second;
	size_t second_value_at = 0, pos = 20;

	(void)state;
	/* Walk to the second MS-Quarantine-SoH (type 26, vendor 311, vendor type 55). */
	for (int seen = 0; pos + 8 <= len; pos += buf[pos + 1]) {
		if (buf[pos] == 26 && buf[pos + 6] == 55 && ++seen == 2) {
			second_value_at = pos + 8;
			break;
		}
	}
	assert_true(second_value_at > 0);
	/* The nap entry's System-Health-ID TLV header lies in the second piece: make its
	 * length absurd. Find "00 02 00 04 00 7e d9 01" there. */
	for (size_t i = second_value_at; i + 8 <= len; i++) {
		static const uint8_t shid[] = {0x00, 0x02, 0x00, 0x04, 0x00, 0x7e, 0xd9, 0x01};

		if (memcmp(buf + i, shid, sizeof(shid)) == 0) {
			buf[i + 3] = 0xff;
			assert_int_equal(dump_radius(buf, len, NULL, &j, &problem, &err), 0);
			assert_true(problem);
			assert_non_null(json_object_get(j, "soh_error"));
			assert_null(json_object_get(j, "soh"));
			assert_true(err.offset >= second_value_at && err.offset <= i + 3);
			attrs = json_object_get(j, "attributes");
			second = json_array_get(attrs, 6);
			assert_string_equal(json_string_value(json_object_get(second, "name")),
					    "MS-Quarantine-SoH");
			json_decref(j);
			return;
		}
	}
	fail_msg("nap System-Health-ID not found in the second SoH piece");
}

static void
test_text_layout(void **state)
{
	json_t *root = json_pack("{s:s, s:i, s:b, s:[{s:i, s:s}, {s:i, s:{s:s}}], s:[], s:[s]}",
				 "name", "x", "n", 5, "yes", 1, "list", "a", 1, "b", "two", "a", 2,
				 "sub", "k", "v", "empty", "plain", "p");
	char *text = NULL;
	size_t text_len = 0;
	FILE *f = open_memstream(&text, &text_len);

	(void)state;
	assert_non_null(root);
	assert_non_null(f);
	dump_text(f, root);
	fclose(f);
	assert_string_equal(text, "name: x\n"
				  "n: 5\n"
				  "yes: yes\n"
				  "list:\n"
				  "  - a=1 b=two\n"
				  "  - a: 2\n"
				  "    sub:\n"
				  "      k: v\n"
				  "empty: (none)\n"
				  "plain:\n"
				  "  - p\n");
	free(text);
	json_decref(root);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_split_soh_offset),
		cmocka_unit_test(test_text_layout),
	};

	vectors_dir = getenv("VECTORS");
	if (vectors_dir == NULL)
		vectors_dir = "tests/vectors/napdump";
	return cmocka_run_group_tests(tests, NULL, NULL);
}
