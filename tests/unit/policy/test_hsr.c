// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * HSR documents: parse and verify the sample vectors, the sign round trip against the golden
 * signed files, tampering (digest, signature, key), strict types, limits and key generation;
 * the same for "requires", exemptions and groups, and the canonical order of every set.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "nap/hsr.h"
#include "nap/util.h"

#define V(name) NAP_HSR_VECTORS "/" name

static const char ec_p256_pub[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE14ZKk2+cl7HUufQ/ImP3BNhMLnj7\n"
	"4dy21k1B7pRizysiXfrmco0ITnwHaSrnAdB+h/r3shQfwiwlPJSuS20cLw==\n"
	"-----END PUBLIC KEY-----\n";

static char *
slurp(const char *path, size_t *len)
{
	uint8_t *buf;
	size_t n;

	assert_int_equal(nap_read_file(path, NAP_HSR_MAX_LEN, &buf, &n), 0);
	/* Vector files end with a newline that is not part of the canonical form. */
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (len != NULL)
		*len = n;
	return (char *)buf;
}

static struct nap_keyring *
keyring(const char *path)
{
	struct nap_keyring *kr;

	assert_int_equal(nap_keyring_new(&kr), 0);
	if (path != NULL)
		assert_int_equal(nap_keyring_add_file(kr, path), 0);
	return kr;
}

static int
parse_str(const char *s, const struct nap_keyring *kr, struct nap_hsr_set **set,
	  struct nap_err *err)
{
	return nap_hsr_set_parse((const uint8_t *)s, strlen(s), kr, set, err);
}

static char *
sign_str(const char *s, int expect)
{
	struct nap_err err = {0};
	char *out = NULL;
	int r = nap_hsr_sign((const uint8_t *)s, strlen(s), V("TEST-ONLY-ed25519-private.pem"), &out,
			     &err);

	if (r != expect)
		fail_msg("sign: got %d (%s), want %d", r, err.what ? err.what : "-", expect);
	return out;
}

static void
test_parse_signed_vector(void **state)
{
	struct nap_keyring *kr = keyring(V("TEST-ONLY-ed25519-public.pem"));
	struct nap_hsr_set *set;
	struct nap_err err = {0};
	const struct nap_hsr *h;
	char hex[65];
	char *text = slurp(V("S01-signed.json"), NULL);

	(void)state;
	assert_int_equal(parse_str(text, kr, &set, &err), 0);
	assert_int_equal(set->n, 1);
	h = nap_hsr_set_find(set, "S01");
	assert_non_null(h);
	assert_null(nap_hsr_set_find(set, "S02"));
	assert_string_equal(h->site, "S01");
	assert_int_equal(h->revision, 42);
	assert_int_equal(h->issued, 1795600800); /* 2026-11-25T10:00:00Z */
	assert_string_equal(h->key_id, "42f6c66e7ea8906e");
	nap_hex_encode(h->digest, sizeof(h->digest), hex);
	assert_string_equal(hex, "27fe77dc7d2d7b745c59c49d635d655ec115a361ef300367267282d22988cf52");
	assert_int_equal(h->n_policies, 4);
	/* Sorted by id, whatever the order in the unsigned input. */
	assert_string_equal(h->policies[0].id, "DSA-4999-1");
	assert_int_equal(h->policies[0].effective, 0); /* "asap" */
	assert_string_equal(h->policies[1].id, "DSA-5001-1");
	assert_string_equal(h->policies[1].package, "openssl");
	assert_string_equal(h->policies[1].min_version, "3.0.11-1~deb12u2");
	assert_int_equal(h->policies[1].scheme, NAP_SCHEME_DPKG);
	assert_string_equal(h->policies[1].severity, "critical");
	assert_int_equal(h->policies[1].effective, 1795132800); /* 2026-11-20T00:00:00Z */
	assert_string_equal(h->policies[1].reason, "OpenSSL: several vulnerabilities");
	assert_string_equal(h->policies[2].id, "NAP-BASELINE-2026");
	assert_null(h->policies[2].package);
	assert_null(h->policies[2].min_version);
	assert_string_equal(h->policies[3].id, "RHSA-2026:0101");
	assert_int_equal(h->policies[3].scheme, NAP_SCHEME_RPM);
	nap_hsr_set_free(set);

	/* Without a keyring the signature is not checked (labs), the digest still is. */
	assert_int_equal(parse_str(text, NULL, &set, &err), 0);
	assert_int_equal(set->v[0].revision, 42);
	nap_hsr_set_free(set);
	free(text);
	nap_keyring_free(kr);
}

static void
test_sign_round_trip(void **state)
{
	char *in, *golden, *out;

	(void)state;
	in = slurp(V("S01-unsigned.json"), NULL);
	golden = slurp(V("S01-signed.json"), NULL);
	out = sign_str(in, 0);
	/* Ed25519 is deterministic: the output is byte for byte the golden file. */
	assert_string_equal(out, golden);
	free(in);
	free(golden);
	free(out);

	in = slurp(V("two-sites-unsigned.json"), NULL);
	golden = slurp(V("two-sites-signed.json"), NULL);
	out = sign_str(in, 0);
	assert_string_equal(out, golden);
	/* Signing a signed document again gives the same document. */
	free(in);
	in = sign_str(out, 0);
	assert_string_equal(in, golden);
	free(in);
	free(golden);
	free(out);
}

static void
test_two_sites(void **state)
{
	struct nap_keyring *kr = keyring(V("TEST-ONLY-ed25519-public.pem"));
	char *text = slurp(V("two-sites-signed.json"), NULL);
	struct nap_hsr_set *set;
	struct nap_err err = {0};
	const struct nap_hsr *h;

	(void)state;
	assert_int_equal(parse_str(text, kr, &set, &err), 0);
	assert_int_equal(set->n, 2);
	h = nap_hsr_set_find(set, "S01");
	assert_non_null(h);
	assert_int_equal(h->revision, 42);
	assert_int_equal(h->n_policies, 1);
	h = nap_hsr_set_find(set, "S02");
	assert_non_null(h);
	assert_int_equal(h->revision, 7);
	assert_int_equal(h->n_policies, 0);
	assert_null(h->policies);
	assert_null(nap_hsr_set_find(set, "S03"));
	assert_null(nap_hsr_set_find(NULL, "S01"));
	nap_hsr_set_free(set);
	free(text);
	nap_keyring_free(kr);
}

/* Replace the first occurrence of from by to (same buffer size or larger). */
static char *
replace(const char *s, const char *from, const char *to)
{
	const char *p = strstr(s, from);
	size_t n = strlen(s) - strlen(from) + strlen(to) + 1;
	char *out = malloc(n);

	assert_non_null(p);
	assert_non_null(out);
	snprintf(out, n, "%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
	return out;
}

static void
expect_parse(const char *text, const struct nap_keyring *kr, int code, const char *what_prefix)
{
	struct nap_hsr_set *set = (struct nap_hsr_set *)0x1;
	struct nap_err err = {0};
	int r = parse_str(text, kr, &set, &err);

	if (r != code)
		fail_msg("parse: got %d (%s), want %d", r, err.what ? err.what : "-", code);
	if (code < 0) {
		assert_null(set);
		assert_non_null(err.what);
		if (what_prefix != NULL &&
		    strncmp(err.what, what_prefix, strlen(what_prefix)) != 0)
			fail_msg("parse: error \"%s\", want \"%s...\"", err.what, what_prefix);
	}
	nap_hsr_set_free(code < 0 ? NULL : set);
}

static void
test_tampering(void **state)
{
	struct nap_keyring *kr = keyring(V("TEST-ONLY-ed25519-public.pem"));
	struct nap_keyring *other = keyring(V("TEST-ONLY-other-ed25519-public.pem"));
	char *text = slurp(V("S01-signed.json"), NULL);
	char *t;

	(void)state;
	expect_parse(text, kr, 0, NULL);
	/* A changed policy no longer matches the digest. */
	t = replace(text, "3.0.11-1~deb12u2", "3.0.11-1~deb12u1");
	expect_parse(t, kr, -EBADMSG, "digest: does not match");
	expect_parse(t, NULL, -EBADMSG, "digest: does not match");
	free(t);
	/* A changed revision keeps the digest but breaks the signature. */
	t = replace(text, "\"revision\":42", "\"revision\":43");
	expect_parse(t, kr, -EPERM, "signature: does not verify");
	expect_parse(t, NULL, 0, NULL);
	free(t);
	/* So does a changed extension member: it is signed too. */
	t = replace(text, "sample HSR", "Sample HSR");
	expect_parse(t, kr, -EPERM, "signature: does not verify");
	free(t);
	/* A flipped signature byte. */
	t = replace(text, "\"value\":\"bw", "\"value\":\"cw");
	expect_parse(t, kr, -EPERM, "signature: does not verify");
	free(t);
	/* Unknown key, and a forged key id. */
	expect_parse(text, other, -EPERM, "signature: unknown key");
	t = replace(text, "42f6c66e7ea8906e", "42f6c66e7ea8906f");
	expect_parse(t, kr, -EPERM, "signature: unknown key");
	free(t);
	/* The signature is required when a keyring is given. */
	t = replace(text, "\"alg\"", "\"x-alg\"");
	expect_parse(t, kr, -EBADMSG, "signature: unknown member");
	free(t);
	{
		json_t *j = json_loads(text, 0, NULL);
		char *s;

		assert_non_null(j);
		json_object_del(j, "signature");
		s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
		expect_parse(s, kr, -EPERM, "signature: missing");
		expect_parse(s, NULL, 0, NULL);
		free(s);
		json_decref(j);
	}
	/* Reordered members and whitespace do not matter: the canonical form is recomputed. */
	{
		json_t *j = json_loads(text, 0, NULL);
		char *s;

		json_array_append_new(json_object_get(j, "policies"),
				      json_incref(json_array_get(json_object_get(j, "policies"), 0)));
		json_array_remove(json_object_get(j, "policies"), 0);
		s = json_dumps(j, JSON_INDENT(2));
		expect_parse(s, kr, 0, NULL);
		free(s);
		json_decref(j);
	}
	/* Base64 with stray bits in the last character is not the canonical encoding. */
	t = replace(text, "g==\"}", "h==\"}");
	expect_parse(t, kr, -EBADMSG, "signature.value: not canonical");
	free(t);
	t = replace(text, "\"ed25519\"", "\"ecdsa\"");
	expect_parse(t, kr, -ENOTSUP, "signature.alg");
	free(t);
	free(text);
	nap_keyring_free(kr);
	nap_keyring_free(other);
}

static void
test_other_key(void **state)
{
	struct nap_keyring *kr = keyring(V("TEST-ONLY-ed25519-public.pem"));
	char *in = slurp(V("S01-unsigned.json"), NULL);
	struct nap_hsr_set *set;
	struct nap_err err = {0};
	char *out = NULL;

	(void)state;
	assert_int_equal(nap_hsr_sign((const uint8_t *)in, strlen(in),
				      V("TEST-ONLY-other-ed25519-private.pem"), &out, &err),
			 0);
	expect_parse(out, kr, -EPERM, "signature: unknown key");
	/* A ring with both keys accepts both signers. */
	assert_int_equal(nap_keyring_add_file(kr, V("TEST-ONLY-other-ed25519-public.pem")), 0);
	assert_int_equal(nap_keyring_count(kr), 2);
	assert_int_equal(parse_str(out, kr, &set, &err), 0);
	nap_hsr_set_free(set);
	/* Adding the same key again does not grow the ring. */
	assert_int_equal(nap_keyring_add_file(kr, V("TEST-ONLY-other-ed25519-public.pem")), 0);
	assert_int_equal(nap_keyring_count(kr), 2);
	/* A public key is not a signing key. */
	free(out);
	out = NULL;
	assert_int_equal(nap_hsr_sign((const uint8_t *)in, strlen(in),
				      V("TEST-ONLY-ed25519-public.pem"), &out, &err) < 0,
			 true);
	free(out);
	free(in);
	nap_keyring_free(kr);
}

/* Mutate the unsigned sample with a JSON patch "member": value on the first policy or the top. */
struct mutation {
	bool in_policy;
	const char *key;
	const char *value; /* JSON text; NULL deletes the member */
	int code;
	const char *what;
};

static const struct mutation mutations[] = {
	{false, "version", "\"1\"", -EBADMSG, "version"},
	{false, "version", "2", -ENOTSUP, "version: unsupported"},
	{false, "version", NULL, -EBADMSG, "version"},
	{false, "site", "5", -EBADMSG, "site"},
	{false, "site", "\"S 01\"", -EBADMSG, "site"},
	{false, "site", "\"S01234567890123456\"", -EBADMSG, "site"},
	{false, "site", "\"\"", -EBADMSG, "site"},
	{false, "revision", "\"42\"", -EBADMSG, "revision"},
	{false, "revision", "42.0", -EBADMSG, "revision"},
	{false, "revision", "0", -EBADMSG, "revision"},
	{false, "revision", "-1", -EBADMSG, "revision"},
	{false, "issued", "1795600800", -EBADMSG, "issued"},
	{false, "issued", "\"2026-11-25\"", -EBADMSG, "issued"},
	{false, "issued", "\"2026-11-25T10:00:00+01:00\"", -EBADMSG, "issued"},
	{false, "issued", "\"2026-13-25T10:00:00Z\"", -EBADMSG, "issued"},
	{false, "policies", "{}", -EBADMSG, "policies"},
	{false, "policies", NULL, -EBADMSG, "policies"},
	{false, "policies", "[1]", -EBADMSG, "policies[]"},
	{false, "sites", "[]", -EBADMSG, "HSR: unknown member"},
	{false, "x-real", "{\"a\":[1.5]}", -EBADMSG, "real numbers"},
	{false, "x-ctl", "\"a\\u001fb\"", -EBADMSG, "control characters"},
	{false, "x-ctl", "{\"a\\nb\":1}", -EBADMSG, "control characters"},
	{false, "x-extra", "{\"a\":[1,\"b\",null,true]}", 0, NULL},
	{true, "id", "5", -EBADMSG, "policies[].id"},
	{true, "id", NULL, -EBADMSG, "policies[].id"},
	{true, "id", "\"DSA 5001\"", -EBADMSG, "policies[].id"},
	{true, "id", "\"0123456789012345678901234567890123456789012345678901234567890123\"", -EBADMSG,
	 "policies[].id"},
	{true, "id", "\"012345678901234567890123456789012345678901234567890123456789012\"", 0, NULL},
	{true, "package", "null", -EBADMSG, "policies[].package"},
	{true, "package", NULL, -EBADMSG, "policies[]: package and min_version"},
	{true, "min_version", "3", -EBADMSG, "policies[].min_version"},
	{true, "scheme", "\"apk\"", -EBADMSG, "policies[].scheme"},
	{true, "scheme", NULL, 0, NULL},
	{true, "severity", "\"urgent\"", -EBADMSG, "policies[].severity"},
	{true, "severity", NULL, -EBADMSG, "policies[].severity"},
	{true, "effective", "\"tomorrow\"", -EBADMSG, "policies[].effective"},
	{true, "effective", "0", -EBADMSG, "policies[].effective"},
	{true, "reason", "[]", -EBADMSG, "policies[].reason"},
	{true, "cve", "\"CVE-1\"", -EBADMSG, "policies[]: unknown member"},
	{true, "x-cve", "\"CVE-1\"", 0, NULL},
	{true, "x-score", "9.8", -EBADMSG, "real numbers"},
	{true, "reason", "\"line one\\nline two\"", -EBADMSG, "control characters"},
	{true, "reason", "\"caf\\u00e9 / \\\"quoted\\\" \\\\ \u00e9\"", 0, NULL},
};

static void
test_strict_types(void **state)
{
	char *base = slurp(V("S01-unsigned.json"), NULL);

	(void)state;
	for (size_t i = 0; i < NAP_ARRAY_SIZE(mutations); i++) {
		const struct mutation *m = &mutations[i];
		json_t *j = json_loads(base, 0, NULL);
		json_t *target = m->in_policy ? json_array_get(json_object_get(j, "policies"), 1) : j;
		struct nap_hsr_set *set = NULL;
		struct nap_err err = {0};
		char *text, *out = NULL;
		int r;

		if (m->value == NULL) {
			json_object_del(target, m->key);
		} else {
			json_t *v = json_loads(m->value, JSON_DECODE_ANY, NULL);

			assert_non_null(v);
			json_object_set_new(target, m->key, v);
		}
		text = json_dumps(j, JSON_COMPACT);
		r = nap_hsr_sign((const uint8_t *)text, strlen(text),
				 V("TEST-ONLY-ed25519-private.pem"), &out, &err);
		if (r != m->code)
			fail_msg("mutation %zu (%s): sign gave %d (%s)", i, m->key, r,
				 err.what ? err.what : "-");
		if (r < 0) {
			assert_null(out);
			if (strncmp(err.what, m->what, strlen(m->what)) != 0)
				fail_msg("mutation %zu: error \"%s\", want \"%s...\"", i, err.what,
					 m->what);
			/* The parser rejects it the same way. */
			r = parse_str(text, NULL, &set, &err);
			assert_int_equal(r, m->code);
			assert_null(set);
		} else {
			struct nap_keyring *kr = keyring(V("TEST-ONLY-ed25519-public.pem"));

			assert_int_equal(parse_str(out, kr, &set, &err), 0);
			nap_hsr_set_free(set);
			nap_keyring_free(kr);
		}
		free(out);
		free(text);
		json_decref(j);
	}
	free(base);
}

static void
test_duplicates(void **state)
{
	char *base = slurp(V("S01-unsigned.json"), NULL);
	char *t, *signed_doc;
	json_t *j;

	(void)state;
	/* Two policies with the same id. */
	t = replace(base, "\"DSA-4999-1\"", "\"DSA-5001-1\"");
	free(sign_str(t, -EBADMSG));
	expect_parse(t, NULL, -EBADMSG, "policies: duplicate id");
	free(t);
	/* A member twice in one object is invalid JSON for us. */
	t = replace(base, "\"revision\": 42,", "\"revision\": 42, \"revision\": 43,");
	expect_parse(t, NULL, -EBADMSG, "not valid JSON");
	free(t);
	/* The same site twice in one document. */
	signed_doc = sign_str(base, 0);
	j = json_pack("[o,o]", json_loads(signed_doc, 0, NULL), json_loads(signed_doc, 0, NULL));
	assert_non_null(j);
	t = json_dumps(j, 0);
	expect_parse(t, NULL, -EBADMSG, "document: site appears twice");
	free(sign_str(t, -EBADMSG));
	free(t);
	json_decref(j);
	free(signed_doc);
	free(base);
}

static void
test_bad_json(void **state)
{
	static const char *const bad[] = {
		"", "{", "[]", "null", "42", "\"S01\"", "{} x", "[{}, 1]", "[[]]",
		"{\"version\":1,\"site\":\"\\u0000\"}",
	};
	struct nap_hsr_set *set;
	struct nap_err err = {0};
	char *text = slurp(V("S01-signed.json"), NULL);
	size_t len = strlen(text);

	(void)state;
	for (size_t i = 0; i < NAP_ARRAY_SIZE(bad); i++)
		expect_parse(bad[i], NULL, -EBADMSG, NULL);
	/* The error position of a JSON syntax error is reported. */
	assert_int_equal(parse_str("{\"version\":1,}", NULL, &set, &err), -EBADMSG);
	assert_int_equal(err.offset, 14);
	/* Every truncation of a good document fails cleanly. */
	for (size_t n = 0; n < len; n++) {
		set = NULL;
		assert_int_equal(nap_hsr_set_parse((const uint8_t *)text, n, NULL, &set, &err),
				 -EBADMSG);
		assert_null(set);
	}
	free(text);
}

static void
test_limits(void **state)
{
	struct nap_hsr_set *set = NULL;
	struct nap_err err = {0};
	json_t *j, *pol, *arr;
	char *text, *out;
	uint8_t *big;

	(void)state;
	/* Document size. */
	big = malloc(NAP_HSR_MAX_LEN + 1);
	assert_non_null(big);
	memset(big, ' ', NAP_HSR_MAX_LEN + 1);
	big[0] = '[';
	big[NAP_HSR_MAX_LEN] = ']';
	assert_int_equal(nap_hsr_set_parse(big, NAP_HSR_MAX_LEN + 1, NULL, &set, &err), -EMSGSIZE);
	free(big);

	/* Policy count: exactly the maximum is fine, one more is not. */
	j = json_pack("{s:i, s:s, s:i, s:s, s:[]}", "version", 1, "site", "S01", "revision", 1,
		      "issued", "2026-11-25T10:00:00Z", "policies");
	pol = json_object_get(j, "policies");
	for (int i = 0; i < NAP_HSR_MAX_POLICIES; i++) {
		char id[32];

		snprintf(id, sizeof(id), "P-%05d", i);
		json_array_append_new(pol, json_pack("{s:s, s:s, s:s}", "id", id, "severity", "low",
						     "effective", "asap"));
	}
	text = json_dumps(j, JSON_COMPACT);
	out = sign_str(text, 0);
	assert_int_equal(parse_str(out, NULL, &set, &err), 0);
	assert_int_equal(set->v[0].n_policies, NAP_HSR_MAX_POLICIES);
	assert_string_equal(set->v[0].policies[NAP_HSR_MAX_POLICIES - 1].id, "P-09999");
	nap_hsr_set_free(set);
	free(out);
	free(text);
	json_array_append_new(pol, json_pack("{s:s, s:s, s:s}", "id", "P-X", "severity", "low",
					     "effective", "asap"));
	text = json_dumps(j, JSON_COMPACT);
	free(sign_str(text, -EMSGSIZE));
	assert_int_equal(parse_str(text, NULL, &set, &err), -EMSGSIZE);
	free(text);
	json_decref(j);

	/* Site count. */
	arr = json_array();
	for (int i = 0; i <= NAP_HSR_MAX_SITES; i++)
		json_array_append_new(arr, json_object());
	text = json_dumps(arr, JSON_COMPACT);
	assert_int_equal(parse_str(text, NULL, &set, &err), -EMSGSIZE);
	free(text);
	json_decref(arr);

	/* Reason length. */
	{
		char *base = slurp(V("S01-unsigned.json"), NULL);
		char reason[NAP_HSR_MAX_REASON + 3];

		memset(reason, 'r', sizeof(reason));
		reason[0] = '"';
		reason[NAP_HSR_MAX_REASON + 1] = '"';
		reason[NAP_HSR_MAX_REASON + 2] = '\0';
		text = replace(base, "\"OpenSSL: several vulnerabilities\"", reason);
		out = sign_str(text, 0); /* exactly the maximum */
		free(out);
		free(text);
		{
			char longer[NAP_HSR_MAX_REASON + 4];

			memset(longer, 'r', sizeof(longer));
			longer[0] = '"';
			longer[NAP_HSR_MAX_REASON + 2] = '"';
			longer[NAP_HSR_MAX_REASON + 3] = '\0';
			text = replace(base, "\"OpenSSL: several vulnerabilities\"", longer);
		}
		free(sign_str(text, -EMSGSIZE));
		free(text);
		free(base);
	}
}

static void
test_keyring_files(void **state)
{
	struct nap_keyring *kr;
	char dir[] = "/tmp/nap-test-keys-XXXXXX";
	char path[256];

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(nap_keyring_new(&kr), 0);
	assert_int_equal(nap_keyring_count(kr), 0);
	assert_int_equal(nap_keyring_add_pem(kr, (const uint8_t *)ec_p256_pub, strlen(ec_p256_pub)),
			 -ENOTSUP);
	assert_int_equal(nap_keyring_add_pem(kr, (const uint8_t *)"", 0), -ENOENT);
	assert_int_equal(nap_keyring_add_pem(kr, (const uint8_t *)"no keys here\n", 13), -ENOENT);
	{
		const char *broken = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAy!!\n"
				     "-----END PUBLIC KEY-----\n";

		assert_int_equal(nap_keyring_add_pem(kr, (const uint8_t *)broken, strlen(broken)),
				 -EBADMSG);
	}
	assert_int_equal(nap_keyring_count(kr), 0);
	snprintf(path, sizeof(path), "%s/missing.pem", dir);
	assert_int_equal(nap_keyring_add_file(kr, path), -ENOENT);
	/* Two keys in one file. */
	{
		char *a = slurp(V("TEST-ONLY-ed25519-public.pem"), NULL);
		char *b = slurp(V("TEST-ONLY-other-ed25519-public.pem"), NULL);
		char both[2048];
		int n = snprintf(both, sizeof(both), "%s\n%s\n", a, b);

		assert_int_equal(nap_keyring_add_pem(kr, (const uint8_t *)both, (size_t)n), 0);
		assert_int_equal(nap_keyring_count(kr), 2);
		free(a);
		free(b);
	}
	nap_keyring_free(kr);
	nap_keyring_free(NULL);
	rmdir(dir);
}

static void
test_key_generate(void **state)
{
	char dir[] = "/tmp/nap-test-keys-XXXXXX";
	char priv[256], pub[256], id[NAP_KEY_ID_LEN + 1], id2[NAP_KEY_ID_LEN + 1];
	struct nap_keyring *kr;
	struct nap_hsr_set *set;
	struct nap_err err = {0};
	struct stat st;
	char *in, *out = NULL;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(priv, sizeof(priv), "%s/site.key", dir);
	snprintf(pub, sizeof(pub), "%s/site.pub", dir);
	assert_int_equal(nap_key_generate(priv, pub), 0);
	assert_int_equal(stat(priv, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(nap_key_id_file(pub, id), 0);
	assert_int_equal(strlen(id), NAP_KEY_ID_LEN);
	assert_int_equal(nap_key_id_file(V("TEST-ONLY-ed25519-public.pem"), id2), 0);
	assert_string_equal(id2, "42f6c66e7ea8906e");
	assert_string_not_equal(id, id2);

	in = slurp(V("S01-unsigned.json"), NULL);
	assert_int_equal(nap_hsr_sign((const uint8_t *)in, strlen(in), priv, &out, &err), 0);
	kr = keyring(pub);
	assert_int_equal(parse_str(out, kr, &set, &err), 0);
	assert_string_equal(set->v[0].key_id, id);
	nap_hsr_set_free(set);
	nap_keyring_free(kr);
	/* The generated key is not the test key. */
	kr = keyring(V("TEST-ONLY-ed25519-public.pem"));
	expect_parse(out, kr, -EPERM, "signature: unknown key");
	nap_keyring_free(kr);
	free(out);
	free(in);
	unlink(priv);
	unlink(pub);
	rmdir(dir);
}

/* ---- requires, exemptions, groups ------------------------------------------------------- */

static void
test_exemptions_vector(void **state)
{
	struct nap_keyring *kr = keyring(V("TEST-ONLY-ed25519-public.pem"));
	char *text = slurp(V("exemptions-signed.json"), NULL);
	char *s01_text = slurp(V("S01-signed.json"), NULL);
	struct nap_hsr_set *set, *old;
	struct nap_err err = {0};
	const struct nap_hsr *h, *h42;
	const struct nap_hsr_exemption *e;
	const struct nap_hsr_policy *p;

	(void)state;
	assert_int_equal(parse_str(text, kr, &set, &err), 0);
	assert_int_equal(parse_str(s01_text, kr, &old, &err), 0);
	assert_int_equal(set->n, 2);

	/* S01 revision 43: the policies of revision 42, so the same digest. */
	h = nap_hsr_set_find(set, "S01");
	h42 = nap_hsr_set_find(old, "S01");
	assert_non_null(h);
	assert_int_equal(h->revision, 43);
	assert_memory_equal(h->digest, h42->digest, NAP_HSR_DIGEST_LEN);
	assert_int_equal(h->n_policies, 4);
	/* The single form fills reqs with one entry too; advisory-only has none. */
	p = &h->policies[1];
	assert_string_equal(p->id, "DSA-5001-1");
	assert_int_equal(p->n_reqs, 1);
	assert_string_equal(p->reqs[0].package, "openssl");
	assert_string_equal(p->reqs[0].min_version, "3.0.11-1~deb12u2");
	assert_int_equal(p->reqs[0].scheme, NAP_SCHEME_DPKG);
	assert_int_equal(h->policies[3].reqs[0].scheme, NAP_SCHEME_RPM);
	assert_int_equal(h->policies[2].n_reqs, 0);
	assert_null(h->policies[2].reqs);

	/* Exemptions sorted by id, their policies sorted, the group form, the windows. */
	assert_int_equal(h->n_exemptions, 7);
	assert_string_equal(h->exemptions[0].id, "EX-GHOST");
	assert_string_equal(h->exemptions[6].id, "EX-SRV-DB");
	e = &h->exemptions[6];
	assert_string_equal(e->client, "SRV-DB-0[1-3]");
	assert_null(e->group);
	assert_int_equal(e->n_policies, 2);
	assert_string_equal(e->policies[0], "DSA-5001-1");
	assert_string_equal(e->policies[1], "RHSA-2026:0101");
	assert_int_equal(e->from, 0);
	assert_int_equal(e->until, 0);
	assert_string_equal(e->reason, "database servers: openssl and bash after the migration");
	e = &h->exemptions[2];
	assert_string_equal(e->id, "EX-KIOSK-OPENSSL");
	assert_null(e->client);
	assert_string_equal(e->group, "kiosks");
	assert_int_equal(e->from, 1793491200);  /* 2026-11-01T00:00:00Z */
	assert_int_equal(e->until, 1796083200); /* 2026-12-01T00:00:00Z */
	assert_null(e->reason);
	e = &h->exemptions[3];
	assert_string_equal(e->id, "EX-LAB");
	assert_int_equal(e->n_policies, 0);
	assert_null(e->policies);
	/* Groups sorted by name, members sorted. */
	assert_int_equal(h->n_groups, 2);
	assert_string_equal(h->groups[0].name, "empty");
	assert_int_equal(h->groups[0].n_members, 0);
	assert_null(h->groups[0].members);
	assert_string_equal(h->groups[1].name, "kiosks");
	assert_int_equal(h->groups[1].n_members, 2);
	assert_string_equal(h->groups[1].members[0], "kiosk-??");
	assert_string_equal(h->groups[1].members[1], "reception");

	/* S03: "requires", sorted by package then scheme. */
	h = nap_hsr_set_find(set, "S03");
	assert_non_null(h);
	assert_int_equal(h->n_policies, 2);
	p = &h->policies[0];
	assert_string_equal(p->id, "DSA-5100-1");
	assert_null(p->package);
	assert_null(p->min_version);
	assert_int_equal(p->n_reqs, 2);
	assert_string_equal(p->reqs[0].package, "libssl3");
	assert_int_equal(p->reqs[0].scheme, NAP_SCHEME_DPKG);
	assert_string_equal(p->reqs[1].package, "openssl");
	p = &h->policies[1];
	assert_int_equal(p->n_reqs, 3);
	assert_string_equal(p->reqs[0].package, "openssl");
	assert_int_equal(p->reqs[0].scheme, NAP_SCHEME_DPKG);
	assert_string_equal(p->reqs[0].min_version, "3.0.15-1~deb12u1");
	assert_string_equal(p->reqs[1].package, "openssl");
	assert_int_equal(p->reqs[1].scheme, NAP_SCHEME_RPM);
	assert_string_equal(p->reqs[1].min_version, "1:3.0.7-28.el9");
	assert_string_equal(p->reqs[2].package, "openssl-libs");
	assert_int_equal(h->n_exemptions, 2);
	assert_int_equal(h->n_groups, 1);
	assert_int_equal(h->groups[0].n_members, 2);
	assert_string_equal(h->groups[0].members[0], "build-*");
	nap_hsr_set_free(set);
	nap_hsr_set_free(old);
	free(s01_text);
	free(text);
	nap_keyring_free(kr);
}

/* Reverse every array of a JSON value (the sets end up in another order). */
static void
reverse_arrays(json_t *v)
{
	const char *key;
	json_t *child;
	size_t i, n;

	if (json_is_array(v)) {
		n = json_array_size(v);
		for (i = 0; i < n / 2; i++) {
			json_t *a = json_incref(json_array_get(v, i));
			json_t *b = json_incref(json_array_get(v, n - 1 - i));

			json_array_set_new(v, i, b);
			json_array_set_new(v, n - 1 - i, a);
		}
		json_array_foreach(v, i, child)
		{
			reverse_arrays(child);
		}
	} else if (json_is_object(v)) {
		json_object_foreach(v, key, child)
		{
			reverse_arrays(child);
		}
	}
}

static void
test_exemptions_canonical(void **state)
{
	struct nap_keyring *kr = keyring(V("TEST-ONLY-ed25519-public.pem"));
	char *in = slurp(V("exemptions-unsigned.json"), NULL);
	char *golden = slurp(V("exemptions-signed.json"), NULL);
	char *out, *again, *t;
	json_t *j;

	(void)state;
	/* Byte for byte the golden file; signing the output again changes nothing. */
	out = sign_str(in, 0);
	assert_string_equal(out, golden);
	again = sign_str(out, 0);
	assert_string_equal(again, golden);
	free(again);
	free(out);
	/* Every set in the opposite order, indented: the same canonical form and signature. */
	j = json_loads(in, 0, NULL);
	assert_non_null(j);
	/* Not the top-level array: the order of the sites is the producer's. */
	for (size_t i = 0; i < json_array_size(j); i++)
		reverse_arrays(json_array_get(j, i));
	t = json_dumps(j, JSON_INDENT(3));
	out = sign_str(t, 0);
	assert_string_equal(out, golden);
	free(out);
	/* A published document in another order verifies as well (the parser sorts too). */
	json_decref(j);
	j = json_loads(golden, 0, NULL);
	for (size_t i = 0; i < json_array_size(j); i++)
		reverse_arrays(json_array_get(j, i));
	free(t);
	t = json_dumps(j, JSON_INDENT(1));
	expect_parse(t, kr, 0, NULL);
	free(t);
	json_decref(j);

	/* Exemptions and groups are signed but not in the digest. */
	t = replace(golden, "\"lab-*\"", "\"lab*\"");
	expect_parse(t, kr, -EPERM, "signature: does not verify");
	expect_parse(t, NULL, 0, NULL);
	free(t);
	t = replace(golden, "\"reception\"", "\"reception2\"");
	expect_parse(t, kr, -EPERM, "signature: does not verify");
	free(t);
	t = replace(golden, "\"until\":\"2026-12-01T00:00:00Z\"", "\"until\":\"2027-12-01T00:00:00Z\"");
	expect_parse(t, kr, -EPERM, "signature: does not verify");
	free(t);
	/* A requirement is part of its policy, so of the digest. */
	t = replace(golden, "\"libssl3\"", "\"libssl4\"");
	expect_parse(t, kr, -EBADMSG, "digest: does not match");
	expect_parse(t, NULL, -EBADMSG, "digest: does not match");
	free(t);
	/* Removing every exemption of a signed document is caught. */
	j = json_loads(golden, 0, NULL);
	json_object_del(json_array_get(j, 0), "exemptions");
	t = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	expect_parse(t, kr, -EPERM, "signature: does not verify");
	free(t);
	json_decref(j);
	free(golden);
	free(in);
	nap_keyring_free(kr);
}

/* A document with every new member, for the mutations below. */
static const char new_base[] =
	"{\"version\":1,\"site\":\"S09\",\"revision\":3,\"issued\":\"2026-11-25T10:00:00Z\","
	"\"policies\":[{\"id\":\"ADV-1\",\"requires\":["
	"{\"package\":\"openssl\",\"min_version\":\"3.0.15\",\"scheme\":\"dpkg\"},"
	"{\"package\":\"libssl3\",\"min_version\":\"3.0.15\"}],"
	"\"severity\":\"critical\",\"effective\":\"asap\"}],"
	"\"exemptions\":[{\"id\":\"EX-1\",\"client\":\"pc-*\",\"policies\":[\"ADV-1\"],"
	"\"from\":\"2026-11-01T00:00:00Z\",\"until\":\"2026-12-01T00:00:00Z\",\"reason\":\"r\"}],"
	"\"groups\":[{\"name\":\"g1\",\"members\":[\"a\",\"b-*\"]}]}";

enum target { T_TOP, T_POLICY, T_REQ, T_EXEMPTION, T_GROUP };

struct mutation2 {
	enum target target;
	const char *key, *value; /* value NULL deletes */
	const char *key2, *value2;
	int code;
	const char *what;
};

#define S63 "012345678901234567890123456789012345678901234567890123456789012"
#define S64 S63 "3"

static const struct mutation2 mutations2[] = {
	{T_TOP, "exemptions", "{}", NULL, NULL, -EBADMSG, "exemptions: not an array"},
	{T_TOP, "exemptions", "[1]", NULL, NULL, -EBADMSG, "exemptions[]: not an object"},
	{T_TOP, "exemptions", "[]", NULL, NULL, 0, NULL},
	{T_TOP, "exemptions", NULL, NULL, NULL, 0, NULL},
	{T_TOP, "groups", "{}", NULL, NULL, -EBADMSG, "groups: not an array"},
	{T_TOP, "groups", "[[]]", NULL, NULL, -EBADMSG, "groups[]: not an object"},
	{T_TOP, "groups", "[]", NULL, NULL, 0, NULL},
	{T_TOP, "groups", NULL, NULL, NULL, 0, NULL},
	{T_TOP, "group", "[]", NULL, NULL, -EBADMSG, "HSR: unknown member"},

	{T_POLICY, "requires", "[]", NULL, NULL, -EBADMSG, "policies[].requires: not a non-empty"},
	{T_POLICY, "requires", "{}", NULL, NULL, -EBADMSG, "policies[].requires: not a non-empty"},
	{T_POLICY, "requires", "\"openssl\"", NULL, NULL, -EBADMSG, "policies[].requires: not"},
	{T_POLICY, "requires", "[1]", NULL, NULL, -EBADMSG, "policies[].requires[]: not an object"},
	{T_POLICY, "requires", NULL, NULL, NULL, 0, NULL}, /* advisory-only */
	{T_POLICY, "scheme", "\"dpkg\"", NULL, NULL, -EBADMSG, "policies[].requires: excludes"},
	{T_POLICY, "package", "\"x\"", NULL, NULL, -EBADMSG, "policies[]: package and min_version"},
	{T_POLICY, "package", "\"x\"", "min_version", "\"1\"", -EBADMSG,
	 "policies[].requires: excludes"},

	{T_REQ, "package", NULL, NULL, NULL, -EBADMSG, "policies[].requires[].package"},
	{T_REQ, "package", "5", NULL, NULL, -EBADMSG, "policies[].requires[].package"},
	{T_REQ, "package", "\"open ssl\"", NULL, NULL, -EBADMSG, "policies[].requires[].package"},
	{T_REQ, "min_version", NULL, NULL, NULL, -EBADMSG, "policies[].requires[].min_version"},
	{T_REQ, "min_version", "\"\"", NULL, NULL, -EBADMSG, "policies[].requires[].min_version"},
	{T_REQ, "min_version", "\"1 2\"", NULL, NULL, -EBADMSG, "policies[].requires[].min_version"},
	{T_REQ, "scheme", "\"apk\"", NULL, NULL, -EBADMSG, "policies[].requires[].scheme"},
	{T_REQ, "scheme", "1", NULL, NULL, -EBADMSG, "policies[].requires[].scheme"},
	{T_REQ, "scheme", "\"rpm\"", NULL, NULL, 0, NULL},
	{T_REQ, "scheme", NULL, NULL, NULL, 0, NULL},
	{T_REQ, "cve", "\"CVE-1\"", NULL, NULL, -EBADMSG, "policies[].requires[]: unknown member"},
	{T_REQ, "x-cve", "\"CVE-1\"", NULL, NULL, 0, NULL},
	{T_REQ, "x-score", "9.8", NULL, NULL, -EBADMSG, "real numbers"},

	{T_EXEMPTION, "id", NULL, NULL, NULL, -EBADMSG, "exemptions[].id"},
	{T_EXEMPTION, "id", "5", NULL, NULL, -EBADMSG, "exemptions[].id"},
	{T_EXEMPTION, "id", "\"EX 1\"", NULL, NULL, -EBADMSG, "exemptions[].id"},
	{T_EXEMPTION, "id", "\"" S64 "\"", NULL, NULL, -EBADMSG, "exemptions[].id"},
	{T_EXEMPTION, "id", "\"" S63 "\"", NULL, NULL, 0, NULL},
	{T_EXEMPTION, "client", NULL, NULL, NULL, -EBADMSG, "exemptions[]: exactly one"},
	{T_EXEMPTION, "group", "\"g1\"", NULL, NULL, -EBADMSG, "exemptions[]: exactly one"},
	{T_EXEMPTION, "client", NULL, "group", "\"g1\"", 0, NULL},
	{T_EXEMPTION, "client", NULL, "group", "\"not-defined\"", 0, NULL},
	{T_EXEMPTION, "client", NULL, "group", "\"g:1\"", -EBADMSG, "exemptions[].group"},
	{T_EXEMPTION, "client", NULL, "group", "7", -EBADMSG, "exemptions[].group"},
	{T_EXEMPTION, "client", "7", NULL, NULL, -EBADMSG, "exemptions[].client: not a string"},
	{T_EXEMPTION, "client", "\"pc 1\"", NULL, NULL, -EBADMSG, "exemptions[].client: bad"},
	{T_EXEMPTION, "client", "\"\"", NULL, NULL, -EBADMSG, "exemptions[].client: bad"},
	{T_EXEMPTION, "client", "\"pc-\\u00e9\"", NULL, NULL, -EBADMSG, "exemptions[].client: bad"},
	{T_EXEMPTION, "client", "\"[a-z]*.example.org\"", NULL, NULL, 0, NULL},
	{T_EXEMPTION, "policies", "{}", NULL, NULL, -EBADMSG, "exemptions[].policies: not an array"},
	{T_EXEMPTION, "policies", "[5]", NULL, NULL, -EBADMSG, "exemptions[].policies[]"},
	{T_EXEMPTION, "policies", "[\"A B\"]", NULL, NULL, -EBADMSG, "exemptions[].policies[]"},
	{T_EXEMPTION, "policies", "[\"" S64 "\"]", NULL, NULL, -EBADMSG, "exemptions[].policies[]"},
	{T_EXEMPTION, "policies", "[\"NOT-A-POLICY-HERE\"]", NULL, NULL, 0, NULL},
	{T_EXEMPTION, "policies", "[]", NULL, NULL, 0, NULL},
	{T_EXEMPTION, "policies", NULL, NULL, NULL, 0, NULL},
	{T_EXEMPTION, "from", "\"2026-11-01\"", NULL, NULL, -EBADMSG, "exemptions[].from"},
	{T_EXEMPTION, "from", "0", NULL, NULL, -EBADMSG, "exemptions[].from"},
	{T_EXEMPTION, "from", "\"asap\"", NULL, NULL, -EBADMSG, "exemptions[].from"},
	{T_EXEMPTION, "until", "\"2026-12-01T00:00:00+01:00\"", NULL, NULL, -EBADMSG,
	 "exemptions[].until: not RFC"},
	{T_EXEMPTION, "until", "\"2026-11-01T00:00:00Z\"", NULL, NULL, -EBADMSG,
	 "exemptions[].until: not later"},
	{T_EXEMPTION, "until", "\"2026-10-01T00:00:00Z\"", NULL, NULL, -EBADMSG,
	 "exemptions[].until: not later"},
	{T_EXEMPTION, "until", "\"2026-11-01T00:00:01Z\"", NULL, NULL, 0, NULL},
	{T_EXEMPTION, "from", NULL, "until", "\"1970-01-01T00:00:00Z\"", -EBADMSG,
	 "exemptions[].until: not later"},
	{T_EXEMPTION, "from", NULL, "until", "\"1970-01-01T00:00:01Z\"", 0, NULL},
	{T_EXEMPTION, "from", NULL, "until", NULL, 0, NULL},
	{T_EXEMPTION, "reason", "[]", NULL, NULL, -EBADMSG, "exemptions[].reason"},
	{T_EXEMPTION, "reason", "\"a\\nb\"", NULL, NULL, -EBADMSG, "control characters"},
	{T_EXEMPTION, "reason", NULL, NULL, NULL, 0, NULL},
	{T_EXEMPTION, "ticket", "\"T-1\"", NULL, NULL, -EBADMSG, "exemptions[]: unknown member"},
	{T_EXEMPTION, "x-ticket", "\"T-1\"", NULL, NULL, 0, NULL},
	{T_EXEMPTION, "x-real", "1.5", NULL, NULL, -EBADMSG, "real numbers"},

	{T_GROUP, "name", NULL, NULL, NULL, -EBADMSG, "groups[].name"},
	{T_GROUP, "name", "\"g 1\"", NULL, NULL, -EBADMSG, "groups[].name"},
	{T_GROUP, "name", "\"g:1\"", NULL, NULL, -EBADMSG, "groups[].name"},
	{T_GROUP, "name", "\"" S64 "\"", NULL, NULL, -EBADMSG, "groups[].name"},
	{T_GROUP, "name", "\"" S63 "\"", NULL, NULL, 0, NULL},
	{T_GROUP, "name", "\"Kiosks.floor_2-east\"", NULL, NULL, 0, NULL},
	{T_GROUP, "members", NULL, NULL, NULL, -EBADMSG, "groups[].members: missing"},
	{T_GROUP, "members", "{}", NULL, NULL, -EBADMSG, "groups[].members: missing"},
	{T_GROUP, "members", "[5]", NULL, NULL, -EBADMSG, "groups[].members[]"},
	{T_GROUP, "members", "[\"a b\"]", NULL, NULL, -EBADMSG, "groups[].members[]"},
	{T_GROUP, "members", "[\"\"]", NULL, NULL, -EBADMSG, "groups[].members[]"},
	{T_GROUP, "members", "[]", NULL, NULL, 0, NULL},
	{T_GROUP, "owner", "\"x\"", NULL, NULL, -EBADMSG, "groups[]: unknown member"},
	{T_GROUP, "x-owner", "\"x\"", NULL, NULL, 0, NULL},
};

static json_t *
mutation_target(json_t *j, enum target target)
{
	json_t *pol = json_array_get(json_object_get(j, "policies"), 0);

	switch (target) {
	case T_TOP:
		return j;
	case T_POLICY:
		return pol;
	case T_REQ:
		return json_array_get(json_object_get(pol, "requires"), 0);
	case T_EXEMPTION:
		return json_array_get(json_object_get(j, "exemptions"), 0);
	case T_GROUP:
		return json_array_get(json_object_get(j, "groups"), 0);
	}
	return NULL;
}

static void
mutate(json_t *target, const char *key, const char *value)
{
	if (key == NULL)
		return;
	if (value == NULL) {
		json_object_del(target, key);
	} else {
		json_t *v = json_loads(value, JSON_DECODE_ANY, NULL);

		assert_non_null(v);
		json_object_set_new(target, key, v);
	}
}

/* Sign and parse a mutated document: the same verdict from both sides. */
static void
check_sign_and_parse(const char *text, int code, const char *what, size_t i)
{
	struct nap_hsr_set *set = NULL;
	struct nap_err err = {0};
	char *out = NULL;
	int r = nap_hsr_sign((const uint8_t *)text, strlen(text), V("TEST-ONLY-ed25519-private.pem"),
			     &out, &err);

	if (r != code)
		fail_msg("case %zu: sign gave %d (%s), want %d", i, r, err.what ? err.what : "-",
			 code);
	if (r < 0) {
		assert_null(out);
		if (strncmp(err.what, what, strlen(what)) != 0)
			fail_msg("case %zu: error \"%s\", want \"%s...\"", i, err.what, what);
		r = parse_str(text, NULL, &set, &err);
		assert_int_equal(r, code);
		assert_null(set);
	} else {
		struct nap_keyring *kr = keyring(V("TEST-ONLY-ed25519-public.pem"));

		if (parse_str(out, kr, &set, &err) != 0)
			fail_msg("case %zu: signed output does not parse: %s", i, err.what);
		nap_hsr_set_free(set);
		nap_keyring_free(kr);
	}
	free(out);
}

static void
test_new_members_strict(void **state)
{
	(void)state;
	check_sign_and_parse(new_base, 0, NULL, SIZE_MAX);
	for (size_t i = 0; i < NAP_ARRAY_SIZE(mutations2); i++) {
		const struct mutation2 *m = &mutations2[i];
		json_t *j = json_loads(new_base, 0, NULL);
		json_t *target;
		char *text;

		assert_non_null(j);
		target = mutation_target(j, m->target);
		assert_non_null(target);
		mutate(target, m->key, m->value);
		mutate(target, m->key2, m->value2);
		text = json_dumps(j, JSON_COMPACT);
		check_sign_and_parse(text, m->code, m->what, i);
		free(text);
		json_decref(j);
	}
}

/* Append to an array member of the base document's target. */
static char *
base_with(enum target target, const char *key, const char *json_value)
{
	json_t *j = json_loads(new_base, 0, NULL);
	json_t *v = json_loads(json_value, JSON_DECODE_ANY, NULL);
	char *text;

	assert_non_null(v);
	json_array_append_new(json_object_get(mutation_target(j, target), key), v);
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return text;
}

static void
test_new_members_duplicates(void **state)
{
	static const struct {
		enum target target;
		const char *key, *value;
		int code;
		const char *what;
	} cases[] = {
		/* An absent scheme is dpkg. */
		{T_POLICY, "requires", "{\"package\":\"openssl\",\"min_version\":\"3.1\"}", -EBADMSG,
		 "policies[].requires: duplicate package and scheme"},
		{T_POLICY, "requires",
		 "{\"package\":\"libssl3\",\"min_version\":\"3.1\",\"scheme\":\"dpkg\"}", -EBADMSG,
		 "policies[].requires: duplicate package and scheme"},
		{T_POLICY, "requires",
		 "{\"package\":\"openssl\",\"min_version\":\"3.0.7\",\"scheme\":\"rpm\"}", 0, NULL},
		{T_TOP, "exemptions", "{\"id\":\"EX-1\",\"client\":\"other\"}", -EBADMSG,
		 "exemptions: duplicate id"},
		{T_TOP, "exemptions", "{\"id\":\"EX-2\",\"client\":\"pc-*\"}", 0, NULL},
		{T_EXEMPTION, "policies", "\"ADV-1\"", -EBADMSG, "exemptions[].policies: duplicate"},
		{T_TOP, "groups", "{\"name\":\"g1\",\"members\":[]}", -EBADMSG,
		 "groups: duplicate name"},
		{T_TOP, "groups", "{\"name\":\"G1\",\"members\":[]}", 0, NULL},
		{T_GROUP, "members", "\"b-*\"", -EBADMSG, "groups[].members: duplicate member"},
		{T_GROUP, "members", "\"B-*\"", 0, NULL},
	};

	(void)state;
	for (size_t i = 0; i < NAP_ARRAY_SIZE(cases); i++) {
		char *text = base_with(cases[i].target, cases[i].key, cases[i].value);

		check_sign_and_parse(text, cases[i].code, cases[i].what, i);
		free(text);
	}
}

/* An array of n generated elements. */
enum gen { GEN_REQ, GEN_EXEMPTION, GEN_GROUP, GEN_POLICY_ID, GEN_MEMBER };

static json_t *
gen_array(size_t n, enum gen kind)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < n; i++) {
		char id[32];
		json_t *v = NULL;

		switch (kind) {
		case GEN_REQ:
			snprintf(id, sizeof(id), "p%zu", i);
			v = json_pack("{s:s, s:s}", "package", id, "min_version", "1");
			break;
		case GEN_EXEMPTION:
			snprintf(id, sizeof(id), "EX-%05zu", i);
			v = json_pack("{s:s, s:s}", "id", id, "client", id);
			break;
		case GEN_GROUP:
			snprintf(id, sizeof(id), "g%05zu", i);
			v = json_pack("{s:s, s:[]}", "name", id, "members");
			break;
		case GEN_POLICY_ID:
			snprintf(id, sizeof(id), "P-%zu", i);
			v = json_string(id);
			break;
		case GEN_MEMBER:
			snprintf(id, sizeof(id), "pc-%05zu", i);
			v = json_string(id);
			break;
		}
		assert_non_null(v);
		json_array_append_new(arr, v);
	}
	return arr;
}

static void
limit_case(enum target target, const char *key, json_t *arr, int code, const char *what)
{
	json_t *j = json_loads(new_base, 0, NULL);
	char *text;

	json_object_set_new(mutation_target(j, target), key, arr);
	text = json_dumps(j, JSON_COMPACT);
	check_sign_and_parse(text, code, what, 0);
	free(text);
	json_decref(j);
}

static void
test_new_members_limits(void **state)
{
	(void)state;
	limit_case(T_POLICY, "requires", gen_array(NAP_HSR_MAX_REQS, GEN_REQ), 0, NULL);
	limit_case(T_POLICY, "requires", gen_array(NAP_HSR_MAX_REQS + 1, GEN_REQ), -EMSGSIZE,
		   "policies[].requires: too many");
	limit_case(T_EXEMPTION, "policies",
		   gen_array(NAP_HSR_MAX_EXEMPTION_POLICIES, GEN_POLICY_ID), 0, NULL);
	limit_case(T_EXEMPTION, "policies",
		   gen_array(NAP_HSR_MAX_EXEMPTION_POLICIES + 1, GEN_POLICY_ID), -EMSGSIZE,
		   "exemptions[].policies: too many");
	limit_case(T_GROUP, "members", gen_array(NAP_HSR_MAX_MEMBERS, GEN_MEMBER), 0, NULL);
	limit_case(T_GROUP, "members", gen_array(NAP_HSR_MAX_MEMBERS + 1, GEN_MEMBER), -EMSGSIZE,
		   "groups[].members: too many");
	limit_case(T_TOP, "exemptions", gen_array(NAP_HSR_MAX_EXEMPTIONS, GEN_EXEMPTION), 0, NULL);
	limit_case(T_TOP, "exemptions", gen_array(NAP_HSR_MAX_EXEMPTIONS + 1, GEN_EXEMPTION),
		   -EMSGSIZE, "exemptions: too many");
	limit_case(T_TOP, "groups", gen_array(NAP_HSR_MAX_GROUPS, GEN_GROUP), 0, NULL);
	limit_case(T_TOP, "groups", gen_array(NAP_HSR_MAX_GROUPS + 1, GEN_GROUP), -EMSGSIZE,
		   "groups: too many");
	/* Client pattern and reason lengths. */
	{
		char client[NAP_HSR_MAX_CLIENT + 2];
		char reason[NAP_HSR_MAX_REASON + 2];
		json_t *j;
		char *text;

		memset(client, 'c', sizeof(client));
		client[NAP_HSR_MAX_CLIENT] = '\0';
		memset(reason, 'r', sizeof(reason));
		reason[NAP_HSR_MAX_REASON] = '\0';
		for (int over = 0; over < 2; over++) {
			j = json_loads(new_base, 0, NULL);
			client[NAP_HSR_MAX_CLIENT + over] = '\0';
			client[NAP_HSR_MAX_CLIENT - 1 + over] = 'c';
			json_object_set_new(mutation_target(j, T_EXEMPTION), "client",
					    json_string(client));
			text = json_dumps(j, JSON_COMPACT);
			check_sign_and_parse(text, over ? -EBADMSG : 0,
					     "exemptions[].client: bad", 0);
			free(text);
			json_decref(j);

			j = json_loads(new_base, 0, NULL);
			reason[NAP_HSR_MAX_REASON + over] = '\0';
			reason[NAP_HSR_MAX_REASON - 1 + over] = 'r';
			json_object_set_new(mutation_target(j, T_EXEMPTION), "reason",
					    json_string(reason));
			text = json_dumps(j, JSON_COMPACT);
			check_sign_and_parse(text, over ? -EMSGSIZE : 0,
					     "exemptions[].reason: too long", 0);
			free(text);
			json_decref(j);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_signed_vector),
		cmocka_unit_test(test_sign_round_trip),
		cmocka_unit_test(test_two_sites),
		cmocka_unit_test(test_tampering),
		cmocka_unit_test(test_other_key),
		cmocka_unit_test(test_strict_types),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_bad_json),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_keyring_files),
		cmocka_unit_test(test_key_generate),
		cmocka_unit_test(test_exemptions_vector),
		cmocka_unit_test(test_exemptions_canonical),
		cmocka_unit_test(test_new_members_strict),
		cmocka_unit_test(test_new_members_duplicates),
		cmocka_unit_test(test_new_members_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
