// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Unit tests for the checks of napvd's LDAP HSR source without a directory: entries as the
 * thread sees them after a search (napvd_hsr_ldap_apply), the set handed to the event loop
 * (refresh), rejections by reason (the stats), rollback and conflict protection, sites that
 * appear and go, [hsr] sites, and the copy saved in state_dir that a new source starts from with
 * the time of its read. Documents are signed here with the TEST-ONLY keys of tests/vectors/hsr.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "nap/hsr.h"
#include "nap/util.h"
#include "napvd.h"

#define KEY       NAP_HSR_VECTORS "/TEST-ONLY-ed25519-private.pem"
#define PUB       NAP_HSR_VECTORS "/TEST-ONLY-ed25519-public.pem"
#define OTHER_KEY NAP_HSR_VECTORS "/TEST-ONLY-other-ed25519-private.pem"
#define NOW       1795000000

struct fixture {
	char dir[64];
	struct napvd_config *conf;
	void *src;
};

/* A signed document for site at rev (policies differ by rev, so digests do too). */
static char *
sign_doc(const char *site, unsigned rev, const char *key)
{
	char text[1024];
	struct nap_err err = {0};
	char *out = NULL;

	snprintf(text, sizeof(text),
		 "{\"version\":1,\"site\":\"%s\",\"revision\":%u,\"issued\":"
		 "\"2026-11-25T10:00:00Z\",\"policies\":[{\"id\":\"p%u\",\"package\":\"openssl\","
		 "\"min_version\":\"3.0.%u\",\"scheme\":\"dpkg\",\"severity\":\"critical\","
		 "\"effective\":\"asap\"}]}",
		 site, rev, rev, rev);
	if (nap_hsr_sign((const uint8_t *)text, strlen(text), key, &out, &err) < 0)
		fail_msg("nap_hsr_sign: %s", err.what ? err.what : "?");
	return out;
}

/* The digest hex of a signed document. */
static void
doc_digest(const char *doc, char hex[2 * NAP_HSR_DIGEST_LEN + 1])
{
	struct nap_hsr_set *set = NULL;
	struct nap_err err = {0};

	assert_int_equal(nap_hsr_set_parse((const uint8_t *)doc, strlen(doc), NULL, &set, &err), 0);
	nap_hex_encode(set->v[0].digest, NAP_HSR_DIGEST_LEN, hex);
	nap_hsr_set_free(set);
}

static struct napvd_hsr_value
val(const char *s)
{
	return (struct napvd_hsr_value){.p = s, .len = s != NULL ? strlen(s) : 0};
}

/* An entry as a well-formed directory entry has it; digest NULL leaves napHsrDigest out. */
static struct napvd_hsr_entry
entry(const char *site, const char *rev, const char *doc, const char *digest)
{
	return (struct napvd_hsr_entry){
		.dn = "cn=x,cn=System Management,dc=example,dc=org",
		.site = val(site),
		.revision = val(rev),
		.document = val(doc),
		.digest = val(digest),
		.n_site = site != NULL,
		.n_revision = rev != NULL,
		.n_document = doc != NULL,
		.n_digest = digest != NULL,
	};
}

static void
open_source(struct fixture *f, const char *sites)
{
	char text[1024], err[512] = "";

	snprintf(text, sizeof(text),
		 "[napvd]\nstate_dir = %s\n[hsr]\nsource = ldap\nuri = ldap://127.0.0.1:1\n"
		 "base = dc=example,dc=org\ntrusted_keys = %s\nsites = %s\nmax_age = 1h\n"
		 "[client a]\naddress = 127.0.0.1\nsecret = s\n",
		 f->dir, PUB, sites);
	if (napvd_config_parse_string(text, "t.conf", &f->conf, err, sizeof(err)) < 0)
		fail_msg("config: %s", err);
	if (napvd_hsr_ldap_ops.open(f->conf, &f->src, err, sizeof(err)) < 0)
		fail_msg("open: %s", err);
}

static void
close_source(struct fixture *f)
{
	napvd_hsr_ldap_ops.close(f->src);
	napvd_config_free(f->conf);
	f->src = NULL;
	f->conf = NULL;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/napvd-hsr-ldap-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	open_source(f, "S01 S02");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char path[128];

	close_source(f);
	snprintf(path, sizeof(path), "%s/hsr-ldap.json", f->dir);
	unlink(path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Apply one read; returns what refresh() then reports (0 new set, 1 unchanged). */
static int
read_once(struct fixture *f, const struct napvd_hsr_entry *e, size_t n, int64_t now,
	  struct nap_hsr_set **set, int64_t *read_at)
{
	char err[256] = "";
	int r = napvd_hsr_ldap_apply(f->src, e, n, now, err, sizeof(err));

	if (r < 0)
		fail_msg("apply: %s", err);
	*set = NULL;
	return napvd_hsr_ldap_ops.refresh(f->src, set, read_at, err, sizeof(err));
}

static uint64_t
rejected(struct fixture *f, enum napvd_hsr_reject why)
{
	struct napvd_hsr_stats st;

	napvd_hsr_ldap_ops.stats(f->src, &st);
	return st.rejected[why];
}

static void
test_good_then_unchanged(void **state)
{
	struct fixture *f = *state;
	char *d5 = sign_doc("S01", 5, KEY), dig[65];
	struct nap_hsr_set *set;
	struct napvd_hsr_entry e;
	int64_t at;

	doc_digest(d5, dig);
	e = entry("S01", "5", d5, dig);
	assert_int_equal(read_once(f, &e, 1, NOW, &set, &at), 0);
	assert_non_null(set);
	assert_int_equal(set->n, 1);
	assert_string_equal(set->v[0].site, "S01");
	assert_int_equal(set->v[0].revision, 5);
	assert_int_equal(at, NOW);
	nap_hsr_set_free(set);

	/* The same entry again: unchanged, but the read time moves (max_age counts from it). */
	assert_int_equal(read_once(f, &e, 1, NOW + 60, &set, &at), 1);
	assert_null(set);
	assert_int_equal(at, NOW + 60);
	/* Nothing since: nothing to report. */
	assert_int_equal(napvd_hsr_ldap_ops.refresh(f->src, &set, &at, dig, sizeof(dig)), 2);
	free(d5);
}

static void
test_rejections_keep_the_good_one(void **state)
{
	struct fixture *f = *state;
	char *d5 = sign_doc("S01", 5, KEY), *d6 = sign_doc("S01", 6, KEY);
	char *forged = sign_doc("S01", 6, OTHER_KEY), *d3 = sign_doc("S01", 3, KEY);
	char *s02 = sign_doc("S02", 6, KEY), *d5b = sign_doc("S01", 5, KEY), dig[65];
	struct nap_hsr_set *set;
	struct napvd_hsr_entry e;
	int64_t at;

	e = entry("S01", "5", d5, NULL);
	assert_int_equal(read_once(f, &e, 1, NOW, &set, &at), 0);
	nap_hsr_set_free(set);

	struct {
		struct napvd_hsr_entry e;
		enum napvd_hsr_reject why;
	} cases[] = {
		{entry("S01", "6", forged, NULL), NAPVD_REJECT_SIGNATURE},
		{entry("S01", "6", "{\"not\":\"an hsr\"}", NULL), NAPVD_REJECT_MALFORMED},
		{entry("S01", "6", "[", NULL), NAPVD_REJECT_MALFORMED},
		{entry("S01", "7", d6, NULL), NAPVD_REJECT_MISMATCH},
		{entry("S01", "6", s02, NULL), NAPVD_REJECT_MISMATCH},
		{entry("S01", "6", d6, "00"), NAPVD_REJECT_MISMATCH},
		{entry("S01", "3", d3, NULL), NAPVD_REJECT_ROLLBACK},
		{entry("S01", "six", d6, NULL), NAPVD_REJECT_BAD_VALUE},
		{entry("S01", "0", d6, NULL), NAPVD_REJECT_BAD_VALUE},
		{entry("S01", "99999999999999999999999", d6, NULL), NAPVD_REJECT_BAD_VALUE},
		{entry("S 01", "6", d6, NULL), NAPVD_REJECT_BAD_VALUE},
		{entry(NULL, "6", d6, NULL), NAPVD_REJECT_MISSING_ATTRIBUTE},
		{entry("S01", NULL, d6, NULL), NAPVD_REJECT_MISSING_ATTRIBUTE},
		{entry("S01", "6", NULL, NULL), NAPVD_REJECT_MISSING_ATTRIBUTE},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t before = rejected(f, cases[i].why);

		assert_int_equal(read_once(f, &cases[i].e, 1, NOW + 1 + (int64_t)i, &set, &at), 1);
		if (rejected(f, cases[i].why) != before + 1)
			fail_msg("case %zu: reason %s not counted", i,
				 napvd_hsr_reject_name(cases[i].why));
		/* The site keeps revision 5: nothing new was handed over. */
		assert_null(set);
	}
	/* Two values of napHsrRevision. */
	e = entry("S01", "6", d6, NULL);
	e.n_revision = 2;
	{
		uint64_t before = rejected(f, NAPVD_REJECT_BAD_VALUE);

		assert_int_equal(read_once(f, &e, 1, NOW + 50, &set, &at), 1);
		assert_int_equal(rejected(f, NAPVD_REJECT_BAD_VALUE), before + 1);
	}
	/* Revision 5 again but another document (a space more): conflict. */
	{
		size_t n = strlen(d5b);
		char *alt = malloc(n + 2);
		uint64_t before = rejected(f, NAPVD_REJECT_CONFLICT);

		memcpy(alt, d5b, n);
		alt[n] = ' ';
		alt[n + 1] = '\0';
		e = entry("S01", "5", alt, NULL);
		assert_int_equal(read_once(f, &e, 1, NOW + 51, &set, &at), 1);
		assert_int_equal(rejected(f, NAPVD_REJECT_CONFLICT), before + 1);
		free(alt);
	}
	/* And the good revision 6 with its digest goes through. */
	doc_digest(d6, dig);
	e = entry("S01", "6", d6, dig);
	assert_int_equal(read_once(f, &e, 1, NOW + 60, &set, &at), 0);
	assert_int_equal(set->v[0].revision, 6);
	nap_hsr_set_free(set);
	free(d5);
	free(d6);
	free(forged);
	free(d3);
	free(s02);
	free(d5b);
}

static void
test_sites(void **state)
{
	struct fixture *f = *state;
	char *a = sign_doc("S01", 5, KEY), *b = sign_doc("S02", 9, KEY);
	char *c = sign_doc("S03", 1, KEY), *a7 = sign_doc("S01", 7, KEY);
	struct napvd_hsr_entry e[4];
	struct nap_hsr_set *set;
	int64_t at;

	/* S03 is not in [hsr] sites: skipped without counting. */
	e[0] = entry("S01", "5", a, NULL);
	e[1] = entry("S02", "9", b, NULL);
	e[2] = entry("S03", "1", c, NULL);
	assert_int_equal(read_once(f, e, 3, NOW, &set, &at), 0);
	assert_int_equal(set->n, 2);
	assert_non_null(nap_hsr_set_find(set, "S01"));
	assert_non_null(nap_hsr_set_find(set, "S02"));
	assert_null(nap_hsr_set_find(set, "S03"));
	nap_hsr_set_free(set);

	/* Two entries for S01: the higher revision wins; S02's entry broken: S02 stays. */
	e[0] = entry("S01", "5", a, NULL);
	e[1] = entry("S01", "7", a7, NULL);
	e[2] = entry("S02", "9", NULL, NULL);
	assert_int_equal(read_once(f, e, 3, NOW + 1, &set, &at), 0);
	assert_int_equal(nap_hsr_set_find(set, "S01")->revision, 7);
	assert_int_equal(nap_hsr_set_find(set, "S02")->revision, 9);
	nap_hsr_set_free(set);

	/* S02 no longer in the directory at all: it goes. */
	e[0] = entry("S01", "7", a7, NULL);
	assert_int_equal(read_once(f, e, 1, NOW + 2, &set, &at), 0);
	assert_int_equal(set->n, 1);
	assert_null(nap_hsr_set_find(set, "S02"));
	nap_hsr_set_free(set);

	/* Nothing in the directory: an empty set (every client: unknown site), not an error. */
	assert_int_equal(read_once(f, NULL, 0, NOW + 3, &set, &at), 0);
	assert_int_equal(set->n, 0);
	nap_hsr_set_free(set);
	free(a);
	free(b);
	free(c);
	free(a7);
}

/* A new source (a restart) starts from the saved copy, with the time of the read it came from. */
static void
test_saved_copy(void **state)
{
	struct fixture *f = *state;
	char *d8 = sign_doc("S01", 8, KEY), *d4 = sign_doc("S01", 4, KEY);
	struct napvd_hsr_entry e = entry("S01", "8", d8, NULL);
	struct nap_hsr_set *set;
	char err[128];
	int64_t at;

	assert_int_equal(read_once(f, &e, 1, NOW, &set, &at), 0);
	nap_hsr_set_free(set);
	close_source(f);

	open_source(f, "S01 S02");
	assert_int_equal(napvd_hsr_ldap_ops.refresh(f->src, &set, &at, err, sizeof(err)), 0);
	assert_non_null(set);
	assert_int_equal(set->v[0].revision, 8);
	assert_int_equal(at, NOW); /* the read's time, not the restart's */
	nap_hsr_set_free(set);
	/* The saved revision is the floor: a lower one from the directory is a rollback. */
	e = entry("S01", "4", d4, NULL);
	assert_int_equal(read_once(f, &e, 1, NOW + 10, &set, &at), 0);
	assert_int_equal(rejected(f, NAPVD_REJECT_ROLLBACK), 1);
	/* The first read after a start always hands a set over: still revision 8. */
	assert_int_equal(set->v[0].revision, 8);
	nap_hsr_set_free(set);
	close_source(f);

	/* A source that trusts other sites only ignores the saved S01. */
	open_source(f, "S02");
	assert_int_equal(napvd_hsr_ldap_ops.refresh(f->src, &set, &at, err, sizeof(err)), 2);
	free(d8);
	free(d4);
}

/* No directory read may happen outside the source's thread: the counter stays 0 here. */
static void
test_stats(void **state)
{
	struct fixture *f = *state;
	struct napvd_hsr_stats st;

	napvd_hsr_ldap_ops.stats(f->src, &st);
	assert_true(st.has_ldap);
	assert_false(st.up);
	assert_int_equal(st.searches, 0);
	assert_int_equal(st.reads_off_thread, 0);
	assert_true(napvd_hsr_ldap_ops.event_fd(f->src) >= 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_good_then_unchanged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rejections_keep_the_good_one, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sites, setup, teardown),
		cmocka_unit_test_setup_teardown(test_saved_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
