// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * HSR exemptions: the glob matcher (a table, a comparison with glibc's fnmatch over random
 * patterns, a hostile pattern), and nap_hsr_exempt against the signed sample
 * tests/vectors/hsr/exemptions-signed.json (client globs, groups, time windows, policy scopes
 * and their union) and against hand-built documents (more missing ids than one pass tracks).
 */
#include <errno.h>
#include <fnmatch.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "nap/hsr.h"
#include "nap/util.h"

#define V(name) NAP_HSR_VECTORS "/" name

static const int64_t NOW = 1795600800 + 3600; /* 2026-11-25T11:00:00Z */

static int64_t
t(const char *rfc3339)
{
	int64_t v;

	assert_int_equal(nap_parse_time(rfc3339, &v), 0);
	return v;
}

static struct nap_hsr_set *
load_sample(void)
{
	struct nap_keyring *kr;
	struct nap_hsr_set *set;
	struct nap_err err = {0};
	uint8_t *text;
	size_t len;

	assert_int_equal(nap_keyring_new(&kr), 0);
	assert_int_equal(nap_keyring_add_file(kr, V("TEST-ONLY-ed25519-public.pem")), 0);
	assert_int_equal(nap_read_file(V("exemptions-signed.json"), NAP_HSR_MAX_LEN, &text, &len),
			 0);
	if (nap_hsr_set_parse(text, len, kr, &set, &err) != 0)
		fail_msg("parse: %s", err.what);
	free(text);
	nap_keyring_free(kr);
	return set;
}

static const struct {
	const char *pattern, *name;
	bool match;
} globs[] = {
	{"pc-0042", "pc-0042", true},
	{"PC-0042", "pc-0042", true},
	{"pc-0042", "PC-0042", true},
	{"pc-0042", "pc-0042.example.org", false},
	{"pc-0042", "pc-004", false},
	{"lab-*", "LAB-07", true},
	{"lab-*", "lab-", true},
	{"lab-*", "lab", false},
	{"*.example.org", "pc1.EXAMPLE.org", true},
	{"*.example.org", "example.org", false},
	{"*", "", true},
	{"*", "anything.at.all", true},
	{"**a", "a", true},
	{"", "", true},
	{"", "a", false},
	{"a", "", false},
	{"pc?", "pc1", true},
	{"pc?", "pc12", false},
	{"pc?", "pc", false},
	{"kiosk-??", "KIOSK-12", true},
	{"kiosk-??", "kiosk-123", false},
	{"SRV-DB-0[1-3]", "srv-db-02", true},
	{"SRV-DB-0[1-3]", "srv-db-04", false},
	{"[A-F]x", "bx", true},
	{"[a-f]x", "Bx", true},
	{"[!a]x", "bx", true},
	{"[!a]x", "Ax", false},
	{"[^a]x", "bx", true},
	{"[]]x", "]x", true},
	{"[!]]x", "]x", false},
	{"[a-", "[a-", true},
	{"[a-", "a", false},
	{"a[-]b", "a-b", true},
	{"a[b-]c", "a-c", true},
	{"\\*", "*", true},
	{"\\*", "a", false},
	{"\\a", "A", true},
	{"a\\", "a\\", false}, /* a backslash at the end matches nothing */
	{"a*b*c", "aXXbYYc", true},
	{"a*b*c", "aXXbYY", false},
	{"a*b*c", "abcbc", true},
	{"*ab", "aab", true},
	{"*a*b", "ab", true},
	{"x*y*z", "xyyyzzz", true},
};

static void
test_name_match_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < NAP_ARRAY_SIZE(globs); i++) {
		if (nap_hsr_name_match(globs[i].pattern, globs[i].name) != globs[i].match)
			fail_msg("\"%s\" vs \"%s\": want %d", globs[i].pattern, globs[i].name,
				 globs[i].match);
	}
	assert_false(nap_hsr_name_match(NULL, "a"));
	assert_false(nap_hsr_name_match("a", NULL));
}

/* The same answers as glibc's fnmatch(FNM_CASEFOLD) within the supported syntax. */
static void
test_name_match_fnmatch(void **state)
{
	static const struct {
		const char *pattern_chars, *name_chars;
	} alphabets[] = {
		{"aB*?", "abAB"},
		{"aBc*?[]!-", "abcABC-]!"},
		{"aB*?\\", "abAB\\*?"},
		{"aZ*?[]!-^\\", "azAZ-]!^\\_`"},
		{"a.-*?", "a.-A"}, /* no brackets: glibc reads "[." as a collating symbol */
	};
	unsigned seed = 4;
	size_t checked = 0;

	(void)state;
	for (size_t k = 0; k < NAP_ARRAY_SIZE(alphabets); k++) {
		const char *pa = alphabets[k].pattern_chars, *na = alphabets[k].name_chars;

		for (int it = 0; it < 40000; it++) {
			char p[12], n[10];
			int lp = rand_r(&seed) % 11, ln = rand_r(&seed) % 9;

			for (int i = 0; i < lp; i++)
				p[i] = pa[(size_t)rand_r(&seed) % strlen(pa)];
			for (int i = 0; i < ln; i++)
				n[i] = na[(size_t)rand_r(&seed) % strlen(na)];
			p[lp] = n[ln] = '\0';
			if (nap_hsr_name_match(p, n) != (fnmatch(p, n, FNM_CASEFOLD) == 0))
				fail_msg("\"%s\" vs \"%s\": nap %d, fnmatch %d", p, n,
					 nap_hsr_name_match(p, n), fnmatch(p, n, FNM_CASEFOLD) == 0);
			checked++;
		}
	}
	assert_int_equal(checked, 5 * 40000);
}

/* Many stars against a long name that almost matches: no exponential backtracking. */
static void
test_name_match_hostile(void **state)
{
	char pattern[NAP_HSR_MAX_CLIENT + 1], name[NAP_HSR_MAX_CLIENT + 1];
	struct timespec a, b;
	double ms;
	size_t i;

	(void)state;
	for (i = 0; i + 2 < NAP_HSR_MAX_CLIENT; i += 2) {
		pattern[i] = '*';
		pattern[i + 1] = 'a';
	}
	pattern[i++] = 'b';
	pattern[i] = '\0';
	memset(name, 'a', NAP_HSR_MAX_CLIENT);
	name[NAP_HSR_MAX_CLIENT] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int k = 0; k < 10; k++)
		assert_false(nap_hsr_name_match(pattern, name));
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	/* Quadratic is a few ms even under the sanitizers; exponential would never end. */
	if (ms > 2000)
		fail_msg("10 hostile matches took %.0f ms", ms);
	name[NAP_HSR_MAX_CLIENT - 1] = 'b';
	assert_true(nap_hsr_name_match(pattern, name));
}

typedef char missing_t[NAP_UPDATE_ID_MAX + 1];

static bool
exempt(const struct nap_hsr *h, const char *client, const char *m1, const char *m2, int64_t now,
       const char **id)
{
	missing_t missing[2] = {{0}};
	size_t n = 0;

	if (m1 != NULL)
		snprintf(missing[n++], sizeof(missing[0]), "%s", m1);
	if (m2 != NULL)
		snprintf(missing[n++], sizeof(missing[0]), "%s", m2);
	return nap_hsr_exempt(h, client, (const missing_t *)missing, n, now, id);
}

static void
test_exempt_sample(void **state)
{
	struct nap_hsr_set *set = load_sample();
	const struct nap_hsr *s01 = nap_hsr_set_find(set, "S01");
	const struct nap_hsr *s03 = nap_hsr_set_find(set, "S03");
	const char *id;

	(void)state;
	assert_non_null(s01);
	assert_non_null(s03);

	/* Full exemption by glob, with or without missing ids. */
	assert_true(exempt(s01, "LAB-07", NULL, NULL, NOW, &id));
	assert_string_equal(id, "EX-LAB");
	assert_true(exempt(s01, "lab-07", "DSA-5001-1", "anything", NOW, &id));
	assert_string_equal(id, "EX-LAB");
	assert_false(exempt(s01, "lab", NULL, NULL, NOW, &id));
	assert_null(id);
	assert_true(exempt(s01, "lab-07", NULL, NULL, NOW, NULL));

	/* Policy-scoped by glob: every missing id must be covered. */
	assert_true(exempt(s01, "srv-db-02", "DSA-5001-1", NULL, NOW, &id));
	assert_string_equal(id, "EX-SRV-DB");
	assert_true(exempt(s01, "SRV-DB-03", "RHSA-2026:0101", "DSA-5001-1", NOW, &id));
	assert_false(exempt(s01, "srv-db-02", "DSA-4999-1", NULL, NOW, &id));
	assert_false(exempt(s01, "srv-db-02", "DSA-5001-1", "DSA-4999-1", NOW, &id));
	assert_null(id);
	/* Nothing missing: a scoped exemption has nothing to cover. */
	assert_false(exempt(s01, "srv-db-02", NULL, NULL, NOW, &id));
	assert_false(exempt(s01, "srv-db-04", "DSA-5001-1", NULL, NOW, &id));

	/* Groups: member globs and exact members; two scoped exemptions cover the union. */
	assert_true(exempt(s01, "kiosk-12", "DSA-5001-1", NULL, NOW, &id));
	assert_string_equal(id, "EX-KIOSK-OPENSSL");
	assert_true(exempt(s01, "kiosk-12", "DSA-4999-1", NULL, NOW, &id));
	assert_string_equal(id, "EX-KIOSK-CURL");
	assert_true(exempt(s01, "KIOSK-12", "DSA-5001-1", "DSA-4999-1", NOW, &id));
	assert_string_equal(id, "EX-KIOSK-CURL"); /* the first in id order that counted */
	assert_true(exempt(s01, "Reception", "DSA-4999-1", "DSA-5001-1", NOW, &id));
	assert_false(exempt(s01, "kiosk-12", "DSA-5001-1", "NAP-BASELINE-2026", NOW, &id));
	assert_false(exempt(s01, "kiosk-123", "DSA-5001-1", NULL, NOW, &id));
	/* A group the document does not define has no members. */
	assert_false(exempt(s01, "ghosts", NULL, NULL, NOW, &id));

	/* Windows: [from, until). */
	assert_false(exempt(s01, "kiosk-12", "DSA-5001-1", NULL, t("2026-10-31T23:59:59Z"), &id));
	assert_true(exempt(s01, "kiosk-12", "DSA-5001-1", NULL, t("2026-11-01T00:00:00Z"), &id));
	assert_true(exempt(s01, "kiosk-12", "DSA-5001-1", NULL, t("2026-11-30T23:59:59Z"), &id));
	assert_false(exempt(s01, "kiosk-12", "DSA-5001-1", NULL, t("2026-12-01T00:00:00Z"), &id));
	/* EX-KIOSK-CURL has no start. */
	assert_true(exempt(s01, "kiosk-12", "DSA-4999-1", NULL, 1, &id));
	assert_false(exempt(s01, "old-pc", NULL, NULL, NOW, &id));
	assert_true(exempt(s01, "old-pc", NULL, NULL, t("2026-10-31T00:00:00Z"), &id));
	assert_string_equal(id, "EX-OLD-PC");
	assert_false(exempt(s01, "new-pc", NULL, NULL, NOW, &id));
	assert_true(exempt(s01, "new-pc", NULL, NULL, t("2027-01-01T00:00:00Z"), &id));

	/* Each document only knows its own exemptions. */
	assert_false(exempt(s03, "lab-07", NULL, NULL, NOW, &id));
	assert_true(exempt(s03, "appliance-9", NULL, NULL, NOW, &id));
	assert_string_equal(id, "EX-APPLIANCE");
	assert_true(exempt(s03, "build-17", "RHSA-2026:0200", NULL, NOW, &id));
	assert_true(exempt(s03, "CI-RUNNER-01", "RHSA-2026:0200", NULL, NOW, &id));
	assert_false(exempt(s03, "ci-runner-02", "RHSA-2026:0200", NULL, NOW, &id));
	assert_false(exempt(s03, "build-17", "DSA-5100-1", NULL, NOW, &id));

	/* No name, or one no pattern may be. */
	{
		char longname[NAP_HSR_MAX_CLIENT + 2];

		memset(longname, 'a', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		memcpy(longname, "lab-", 4);
		assert_false(exempt(s01, longname, NULL, NULL, NOW, &id));
		longname[NAP_HSR_MAX_CLIENT] = '\0';
		assert_true(exempt(s01, longname, NULL, NULL, NOW, &id));
	}
	assert_false(exempt(s01, NULL, NULL, NULL, NOW, &id));
	assert_false(exempt(s01, "", NULL, NULL, NOW, &id));
	assert_false(exempt(NULL, "lab-07", NULL, NULL, NOW, &id));
	assert_false(nap_hsr_exempt(s01, "srv-db-02", NULL, 3, NOW, &id));
	nap_hsr_set_free(set);
}

/* More missing ids than one 64-bit pass tracks, and a group many exemptions name. */
static void
test_exempt_many(void **state)
{
	enum { N = 100 };
	static missing_t missing[N];
	static char ids[N][16];
	static char *covered[N];
	char *members[] = {"other-*", "pc-1"};
	struct nap_hsr_group groups[] = {{.name = "g", .members = members, .n_members = 2}};
	struct nap_hsr_exemption ex[3];
	struct nap_hsr h = {.site = "S09", .revision = 1};
	const char *id;

	(void)state;
	for (int i = 0; i < N; i++) {
		snprintf(ids[i], sizeof(ids[i]), "P-%03d", i);
		snprintf(missing[i], sizeof(missing[i]), "%s", ids[i]);
		covered[i] = ids[i];
	}
	memset(ex, 0, sizeof(ex));
	/* A: not yet in force; B: P-000..P-069; C: P-070..P-099, both for group g. */
	ex[0] = (struct nap_hsr_exemption){.id = "A", .group = "g", .from = NOW + 1};
	ex[1] = (struct nap_hsr_exemption){.id = "B", .group = "g", .policies = covered,
					   .n_policies = 70};
	ex[2] = (struct nap_hsr_exemption){.id = "C", .group = "g", .policies = covered + 70,
					   .n_policies = 30};
	h.exemptions = ex;
	h.n_exemptions = 3;
	h.groups = groups;
	h.n_groups = 1;
	assert_true(nap_hsr_exempt(&h, "PC-1", (const missing_t *)missing, N, NOW, &id));
	assert_string_equal(id, "B");
	assert_true(nap_hsr_exempt(&h, "other-x", (const missing_t *)missing, N, NOW, &id));
	assert_false(nap_hsr_exempt(&h, "pc-2", (const missing_t *)missing, N, NOW, &id));
	/* One id in the second pass that nothing covers. */
	snprintf(missing[N - 1], sizeof(missing[0]), "Q-1");
	assert_false(nap_hsr_exempt(&h, "pc-1", (const missing_t *)missing, N, NOW, &id));
	/* Exactly 64 (one full pass) and 65. */
	assert_true(nap_hsr_exempt(&h, "pc-1", (const missing_t *)missing, 64, NOW, &id));
	assert_true(nap_hsr_exempt(&h, "pc-1", (const missing_t *)missing, 65, NOW, &id));
	/* A in force now: a full exemption wins whatever is missing. */
	ex[0].from = NOW;
	assert_true(nap_hsr_exempt(&h, "pc-1", (const missing_t *)missing, N, NOW, &id));
	assert_string_equal(id, "A");
	/* No groups at all. */
	h.n_groups = 0;
	assert_false(nap_hsr_exempt(&h, "pc-1", (const missing_t *)missing, N, NOW, &id));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_match_table),
		cmocka_unit_test(test_name_match_fnmatch),
		cmocka_unit_test(test_name_match_hostile),
		cmocka_unit_test(test_exempt_sample),
		cmocka_unit_test(test_exempt_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
