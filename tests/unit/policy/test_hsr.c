// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * HSR documents: parse and verify the sample vectors, the sign round trip against the golden
 * signed files, tampering (digest, signature, key), strict types, limits and key generation.
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
