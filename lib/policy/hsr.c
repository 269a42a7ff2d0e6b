// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Health state reference (HSR) documents: strict JSON parsing with jansson, the canonical form,
 * the SHA-256 policy digest, Ed25519 signatures (OpenSSL 3 EVP_PKEY), the trusted keyring and
 * key generation. Handles untrusted input: the documents come from files and directory values
 * that an attacker may have written; nothing in them is trusted before the digest and the
 * signature check out. The format is described in doc/hsr.md.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "nap/hsr.h"
#include "nap/util.h"

#define HSR_JSON_FLAGS      (JSON_REJECT_DUPLICATES)
#define HSR_DUMP_FLAGS      (JSON_COMPACT | JSON_SORT_KEYS)
#define HSR_ED25519_PUB_LEN 32
#define HSR_ED25519_SIG_LEN 64
#define HSR_SIG_B64_LEN     88 /* base64 of 64 bytes, with padding */
#define HSR_TIME_LEN        20 /* "2026-11-25T10:00:00Z" */
#define HSR_KEY_FILE_MAX    (64 * 1024)

struct nap_keyring_key {
	char id[NAP_KEY_ID_LEN + 1];
	EVP_PKEY *pkey;
};

struct nap_keyring {
	size_t n;
	struct nap_keyring_key keys[NAP_KEYRING_MAX];
};

static const char *const hsr_severities[] = {"critical", "important", "moderate", "low"};

static const struct {
	const char *name;
	enum nap_version_scheme scheme;
} hsr_schemes[] = {
	{"dpkg", NAP_SCHEME_DPKG},
	{"rpm", NAP_SCHEME_RPM},
};

/* ---- small helpers ---------------------------------------------------------------------- */

static int
hsr_err(struct nap_err *err, const char *what, int code)
{
	return nap_err_set(err, 0, what, code);
}

static bool
hsr_is_extension(const char *key)
{
	return strncmp(key, "x-", 2) == 0;
}

/* Members of a JSON object: only the listed ones and "x-" extensions are allowed. */
static const char *const hsr_members[] = {"version",  "site",   "revision", "issued",
					  "policies", "digest", "signature"};
static const char *const policy_members[] = {"id",       "package",   "min_version", "scheme",
					     "severity", "effective", "reason"};

static bool
hsr_members_known(json_t *obj, const char *const *known, size_t n)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v)
	{
		bool ok = hsr_is_extension(key);

		for (size_t i = 0; i < n && !ok; i++)
			ok = strcmp(key, known[i]) == 0;
		if (!ok)
			return false;
	}
	return true;
}

/* Printable ASCII without spaces, 1..max bytes, further restricted by an optional set. */
static bool
hsr_token_valid(const char *s, size_t max, const char *extra)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (extra == NULL) {
			if (c <= 0x20 || c >= 0x7f)
				return false;
		} else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			     (c >= '0' && c <= '9') || strchr(extra, c) != NULL)) {
			return false;
		}
	}
	return true;
}

static bool
hsr_site_valid(const char *s)
{
	return hsr_token_valid(s, NAP_SITE_MAX, "_-");
}

/* Strict RFC 3339 UTC time "YYYY-MM-DDTHH:MM:SSZ". */
static int
hsr_parse_time(const char *s, int64_t *out)
{
	static const char pattern[] = "dddd-dd-ddTdd:dd:ddZ";

	if (strlen(s) != HSR_TIME_LEN)
		return -EBADMSG;
	for (size_t i = 0; i < HSR_TIME_LEN; i++) {
		if (pattern[i] == 'd') {
			if (s[i] < '0' || s[i] > '9')
				return -EBADMSG;
		} else if (s[i] != pattern[i]) {
			return -EBADMSG;
		}
	}
	if (nap_parse_time(s, out) < 0)
		return -EBADMSG;
	return 0;
}

static bool
hsr_has_control(const char *str)
{
	for (const unsigned char *p = (const unsigned char *)str; *p != '\0'; p++) {
		if (*p < 0x20)
			return true;
	}
	return false;
}

/*
 * Values the canonical form cannot carry portably. Reals: their text form differs between JSON
 * libraries. Control characters: jansson escapes them as \u001F where others write \u001f. Either
 * would make the canonical form (and with it digest and signature) depend on the producer.
 * Returns what is wrong, or NULL.
 */
static const char *
hsr_unportable(const json_t *v, unsigned depth)
{
	const char *key, *bad;
	json_t *child;
	size_t i;

	if (depth > 64)
		return "nested too deeply";
	if (json_is_real(v))
		return "real numbers are not allowed";
	if (json_is_string(v) && hsr_has_control(json_string_value(v)))
		return "control characters are not allowed";
	if (json_is_array(v)) {
		json_array_foreach(v, i, child)
		{
			if ((bad = hsr_unportable(child, depth + 1)) != NULL)
				return bad;
		}
	} else if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, child)
		{
			if (hsr_has_control(key))
				return "control characters are not allowed";
			if ((bad = hsr_unportable(child, depth + 1)) != NULL)
				return bad;
		}
	}
	return NULL;
}

static void
hsr_sha256(const void *p, size_t n, uint8_t md[NAP_HSR_DIGEST_LEN])
{
	unsigned int mdlen = NAP_HSR_DIGEST_LEN;

	if (EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) != 1)
		memset(md, 0, NAP_HSR_DIGEST_LEN); /* cannot happen with the default provider */
}

static int
hsr_key_id(EVP_PKEY *pkey, char id[NAP_KEY_ID_LEN + 1])
{
	uint8_t raw[HSR_ED25519_PUB_LEN], md[NAP_HSR_DIGEST_LEN];
	size_t len = sizeof(raw);

	if (EVP_PKEY_get_raw_public_key(pkey, raw, &len) != 1 || len != sizeof(raw))
		return -EINVAL;
	hsr_sha256(raw, len, md);
	nap_hex_encode(md, NAP_KEY_ID_LEN / 2, id);
	return 0;
}

/* ---- keyring ---------------------------------------------------------------------------- */

int
nap_keyring_new(struct nap_keyring **out)
{
	struct nap_keyring *kr = calloc(1, sizeof(*kr));

	if (kr == NULL)
		return -ENOMEM;
	*out = kr;
	return 0;
}

size_t
nap_keyring_count(const struct nap_keyring *kr)
{
	return kr == NULL ? 0 : kr->n;
}

void
nap_keyring_free(struct nap_keyring *kr)
{
	if (kr == NULL)
		return;
	for (size_t i = 0; i < kr->n; i++)
		EVP_PKEY_free(kr->keys[i].pkey);
	free(kr);
}

static EVP_PKEY *
hsr_keyring_find(const struct nap_keyring *kr, const char *id)
{
	for (size_t i = 0; i < kr->n; i++) {
		if (strcmp(kr->keys[i].id, id) == 0)
			return kr->keys[i].pkey;
	}
	return NULL;
}

/* One PEM "PUBLIC KEY" block: must be Ed25519. */
static int
hsr_keyring_add_der(struct nap_keyring *kr, const unsigned char *der, long len)
{
	char id[NAP_KEY_ID_LEN + 1];
	EVP_PKEY *pkey = d2i_PUBKEY(NULL, &der, len);

	if (pkey == NULL)
		return -EBADMSG;
	if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519 || hsr_key_id(pkey, id) < 0) {
		EVP_PKEY_free(pkey);
		return -ENOTSUP;
	}
	if (hsr_keyring_find(kr, id) != NULL) {
		EVP_PKEY_free(pkey);
		return 0;
	}
	if (kr->n == NAP_KEYRING_MAX) {
		EVP_PKEY_free(pkey);
		return -ENOSPC;
	}
	memcpy(kr->keys[kr->n].id, id, sizeof(id));
	kr->keys[kr->n].pkey = pkey;
	kr->n++;
	return 0;
}

int
nap_keyring_add_pem(struct nap_keyring *kr, const uint8_t *pem, size_t len)
{
	char *name = NULL, *header = NULL;
	unsigned char *der = NULL;
	long der_len;
	size_t added = 0;
	BIO *bio;
	int r = 0;

	if (len > HSR_KEY_FILE_MAX)
		return -EMSGSIZE;
	if (len == 0)
		return -ENOENT;
	bio = BIO_new_mem_buf(pem, (int)len);
	if (bio == NULL)
		return -ENOMEM;
	ERR_clear_error();
	/*
	 * Walk the PEM blocks with the plain PEM reader: its end-of-input error is reliable,
	 * unlike the decoder errors PEM_read_bio_PUBKEY leaves behind. Blocks of other types
	 * (certificates, comments) are skipped; a damaged block is an error.
	 */
	while (r == 0 && PEM_read_bio(bio, &name, &header, &der, &der_len) == 1) {
		if (strcmp(name, "PUBLIC KEY") == 0) {
			r = hsr_keyring_add_der(kr, der, der_len);
			added++;
		}
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(der);
		name = header = NULL;
		der = NULL;
	}
	if (r == 0) {
		unsigned long e = ERR_peek_last_error();

		if (e != 0 && !(ERR_GET_LIB(e) == ERR_LIB_PEM &&
				ERR_GET_REASON(e) == PEM_R_NO_START_LINE))
			r = -EBADMSG;
		else if (added == 0)
			r = -ENOENT;
	}
	ERR_clear_error();
	BIO_free(bio);
	return r;
}

int
nap_keyring_add_file(struct nap_keyring *kr, const char *path)
{
	uint8_t *buf;
	size_t len;
	int r = nap_read_file(path, HSR_KEY_FILE_MAX, &buf, &len);

	if (r < 0)
		return r;
	r = nap_keyring_add_pem(kr, buf, len);
	free(buf);
	return r;
}

/* ---- document checks -------------------------------------------------------------------- */

static int
hsr_policy_cmp(const void *a, const void *b)
{
	const json_t *pa = *(json_t *const *)a, *pb = *(json_t *const *)b;

	return strcmp(json_string_value(json_object_get(pa, "id")),
		      json_string_value(json_object_get(pb, "id")));
}

static void
hsr_policy_clear(struct nap_hsr_policy *p)
{
	free(p->id);
	free(p->package);
	free(p->min_version);
	free(p->severity);
	free(p->reason);
	memset(p, 0, sizeof(*p));
}

static void
hsr_clear(struct nap_hsr *h)
{
	for (size_t i = 0; i < h->n_policies; i++)
		hsr_policy_clear(&h->policies[i]);
	free(h->policies);
	memset(h, 0, sizeof(*h));
}

/* Optional string member; *out NULL when absent. */
static int
hsr_get_string(json_t *obj, const char *key, const char **out)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return -EBADMSG;
	*out = json_string_value(v);
	return 0;
}

/* Check one policy object; fill p when non-NULL. */
static int
hsr_check_policy(json_t *obj, struct nap_hsr_policy *p, struct nap_err *err)
{
	const char *id, *package, *min_version, *scheme, *severity, *effective, *reason;
	enum nap_version_scheme sch = NAP_SCHEME_DPKG;
	int64_t eff = 0;
	size_t i;

	if (!json_is_object(obj))
		return hsr_err(err, "policies[]: not an object", -EBADMSG);
	if (!hsr_members_known(obj, policy_members, NAP_ARRAY_SIZE(policy_members)))
		return hsr_err(err, "policies[]: unknown member", -EBADMSG);
	if (hsr_get_string(obj, "id", &id) < 0 || id == NULL)
		return hsr_err(err, "policies[].id: missing or not a string", -EBADMSG);
	if (!hsr_token_valid(id, NAP_UPDATE_ID_MAX, ".:_+~-"))
		return hsr_err(err, "policies[].id: bad characters or length", -EBADMSG);
	if (hsr_get_string(obj, "package", &package) < 0)
		return hsr_err(err, "policies[].package: not a string", -EBADMSG);
	if (hsr_get_string(obj, "min_version", &min_version) < 0)
		return hsr_err(err, "policies[].min_version: not a string", -EBADMSG);
	if ((package == NULL) != (min_version == NULL))
		return hsr_err(err, "policies[]: package and min_version go together", -EBADMSG);
	if (package != NULL && !hsr_token_valid(package, NAP_HSR_MAX_FIELD, NULL))
		return hsr_err(err, "policies[].package: bad characters or length", -EBADMSG);
	if (min_version != NULL && !hsr_token_valid(min_version, NAP_HSR_MAX_FIELD, NULL))
		return hsr_err(err, "policies[].min_version: bad characters or length", -EBADMSG);
	if (hsr_get_string(obj, "scheme", &scheme) < 0)
		return hsr_err(err, "policies[].scheme: not a string", -EBADMSG);
	if (scheme != NULL) {
		bool found = false;

		for (i = 0; i < NAP_ARRAY_SIZE(hsr_schemes) && !found; i++) {
			if (strcmp(scheme, hsr_schemes[i].name) == 0) {
				sch = hsr_schemes[i].scheme;
				found = true;
			}
		}
		if (!found)
			return hsr_err(err, "policies[].scheme: not dpkg or rpm", -EBADMSG);
	}
	if (hsr_get_string(obj, "severity", &severity) < 0 || severity == NULL)
		return hsr_err(err, "policies[].severity: missing or not a string", -EBADMSG);
	{
		bool found = false;

		for (i = 0; i < NAP_ARRAY_SIZE(hsr_severities) && !found; i++)
			found = strcmp(severity, hsr_severities[i]) == 0;
		if (!found)
			return hsr_err(err, "policies[].severity: unknown severity", -EBADMSG);
	}
	if (hsr_get_string(obj, "effective", &effective) < 0 || effective == NULL)
		return hsr_err(err, "policies[].effective: missing or not a string", -EBADMSG);
	if (strcmp(effective, "asap") != 0 && hsr_parse_time(effective, &eff) < 0)
		return hsr_err(err, "policies[].effective: not RFC 3339 UTC or \"asap\"", -EBADMSG);
	if (hsr_get_string(obj, "reason", &reason) < 0)
		return hsr_err(err, "policies[].reason: not a string", -EBADMSG);
	if (reason != NULL && strlen(reason) > NAP_HSR_MAX_REASON)
		return hsr_err(err, "policies[].reason: too long", -EMSGSIZE);

	if (p == NULL)
		return 0;
	p->scheme = sch;
	p->effective = eff;
	p->id = strdup(id);
	p->severity = strdup(severity);
	if (package != NULL) {
		p->package = strdup(package);
		p->min_version = strdup(min_version);
	}
	if (reason != NULL)
		p->reason = strdup(reason);
	if (p->id == NULL || p->severity == NULL || (package != NULL && p->package == NULL) ||
	    (package != NULL && p->min_version == NULL) || (reason != NULL && p->reason == NULL))
		return hsr_err(err, "out of memory", -ENOMEM);
	return 0;
}

enum hsr_mode {
	HSR_MODE_PARSE, /* a published document: digest required, signature checked */
	HSR_MODE_SIGN,  /* producer input: digest and signature optional, replaced */
};

/*
 * Check one HSR object's members and types, fill h (when non-NULL) and return the policies
 * sorted by id as a new array (*sorted, caller decrefs).
 */
static int
hsr_check_object(json_t *obj, enum hsr_mode mode, struct nap_hsr *h, json_t **sorted,
		 struct nap_err *err)
{
	const char *site, *issued;
	json_t *v, *policies, *arr;
	json_t **vec = NULL;
	size_t i, n;
	int r;

	*sorted = NULL;
	if (!json_is_object(obj))
		return hsr_err(err, "HSR: not an object", -EBADMSG);
	if (!hsr_members_known(obj, hsr_members, NAP_ARRAY_SIZE(hsr_members)))
		return hsr_err(err, "HSR: unknown member", -EBADMSG);
	v = json_object_get(obj, "version");
	if (!json_is_integer(v))
		return hsr_err(err, "version: missing or not an integer", -EBADMSG);
	if (json_integer_value(v) != NAP_HSR_VERSION)
		return hsr_err(err, "version: unsupported", -ENOTSUP);
	if (hsr_get_string(obj, "site", &site) < 0 || site == NULL)
		return hsr_err(err, "site: missing or not a string", -EBADMSG);
	if (!hsr_site_valid(site))
		return hsr_err(err, "site: bad characters or length", -EBADMSG);
	v = json_object_get(obj, "revision");
	if (!json_is_integer(v))
		return hsr_err(err, "revision: missing or not an integer", -EBADMSG);
	if (json_integer_value(v) < 1)
		return hsr_err(err, "revision: must be at least 1", -EBADMSG);
	if (hsr_get_string(obj, "issued", &issued) < 0 || issued == NULL)
		return hsr_err(err, "issued: missing or not a string", -EBADMSG);
	if (h != NULL) {
		memcpy(h->site, site, strlen(site) + 1);
		h->revision = (uint64_t)json_integer_value(v);
	}
	{
		int64_t t;

		if (hsr_parse_time(issued, &t) < 0)
			return hsr_err(err, "issued: not RFC 3339 UTC", -EBADMSG);
		if (h != NULL)
			h->issued = t;
	}
	{
		const char *bad = hsr_unportable(obj, 0);

		if (bad != NULL)
			return hsr_err(err, bad, -EBADMSG);
	}
	policies = json_object_get(obj, "policies");
	if (!json_is_array(policies))
		return hsr_err(err, "policies: missing or not an array", -EBADMSG);
	n = json_array_size(policies);
	if (n > NAP_HSR_MAX_POLICIES)
		return hsr_err(err, "policies: too many", -EMSGSIZE);
	if (n > 0) {
		vec = calloc(n, sizeof(*vec));
		if (vec == NULL)
			return hsr_err(err, "out of memory", -ENOMEM);
	}
	if (h != NULL && n > 0) {
		h->policies = calloc(n, sizeof(*h->policies));
		if (h->policies == NULL) {
			free(vec);
			return hsr_err(err, "out of memory", -ENOMEM);
		}
	}
	for (i = 0; i < n; i++) {
		vec[i] = json_array_get(policies, i);
		r = hsr_check_policy(vec[i], NULL, err);
		if (r < 0) {
			free(vec);
			return r;
		}
	}
	if (n > 1)
		qsort(vec, n, sizeof(*vec), hsr_policy_cmp);
	for (i = 1; i < n; i++) {
		if (hsr_policy_cmp(&vec[i - 1], &vec[i]) == 0) {
			free(vec);
			return hsr_err(err, "policies: duplicate id", -EBADMSG);
		}
	}
	arr = json_array();
	if (arr == NULL) {
		free(vec);
		return hsr_err(err, "out of memory", -ENOMEM);
	}
	for (i = 0; i < n; i++) {
		if (json_array_append(arr, vec[i]) < 0) {
			free(vec);
			json_decref(arr);
			return hsr_err(err, "out of memory", -ENOMEM);
		}
		if (h != NULL) {
			/* Filled in id order; n_policies counts what hsr_clear() must free. */
			h->n_policies = i + 1;
			r = hsr_check_policy(vec[i], &h->policies[i], err);
			if (r < 0) {
				free(vec);
				json_decref(arr);
				return r;
			}
		}
	}
	free(vec);

	v = json_object_get(obj, "digest");
	if (v == NULL && mode == HSR_MODE_PARSE) {
		json_decref(arr);
		return hsr_err(err, "digest: missing", -EBADMSG);
	}
	if (v != NULL && mode == HSR_MODE_PARSE) {
		uint8_t d[NAP_HSR_DIGEST_LEN];
		const char *s = json_string_value(v);
		size_t bad;

		if (s == NULL || strlen(s) != 2 * NAP_HSR_DIGEST_LEN ||
		    strspn(s, "0123456789abcdef") != 2 * NAP_HSR_DIGEST_LEN ||
		    nap_hex_decode(s, strlen(s), d, sizeof(d), &bad) != NAP_HSR_DIGEST_LEN) {
			json_decref(arr);
			return hsr_err(err, "digest: not 64 lowercase hex digits", -EBADMSG);
		}
		if (h != NULL)
			memcpy(h->digest, d, sizeof(d));
	}
	*sorted = arr;
	return 0;
}

/* SHA-256 over the canonical serialization of the sorted policies array. */
static int
hsr_digest(json_t *sorted, uint8_t md[NAP_HSR_DIGEST_LEN])
{
	char *s = json_dumps(sorted, HSR_DUMP_FLAGS);

	if (s == NULL)
		return -ENOMEM;
	hsr_sha256(s, strlen(s), md);
	free(s);
	return 0;
}

/*
 * The canonical form of an HSR object: its members with the policies array sorted; "signature"
 * dropped for the signed bytes (with_signature false). Returns a new string (free()).
 */
static char *
hsr_canonical(json_t *obj, json_t *sorted, bool with_signature)
{
	json_t *c = json_copy(obj); /* shallow: members are shared, not modified */
	char *s = NULL;

	if (c == NULL)
		return NULL;
	if (json_object_set(c, "policies", sorted) == 0) {
		if (!with_signature)
			json_object_del(c, "signature");
		s = json_dumps(c, HSR_DUMP_FLAGS);
	}
	json_decref(c);
	return s;
}

/* Check the signature member's shape; return the key id and the raw signature. */
static int
hsr_check_signature(json_t *sig, char key_id[NAP_KEY_ID_LEN + 1],
		    uint8_t raw[HSR_ED25519_SIG_LEN], struct nap_err *err)
{
	const char *key, *alg, *kid, *value;
	unsigned char dec[HSR_SIG_B64_LEN];
	unsigned char enc[HSR_SIG_B64_LEN + 1];
	json_t *v;

	if (!json_is_object(sig))
		return hsr_err(err, "signature: not an object", -EBADMSG);
	json_object_foreach(sig, key, v)
	{
		if (strcmp(key, "alg") != 0 && strcmp(key, "key_id") != 0 &&
		    strcmp(key, "value") != 0)
			return hsr_err(err, "signature: unknown member", -EBADMSG);
	}
	if (hsr_get_string(sig, "alg", &alg) < 0 || alg == NULL)
		return hsr_err(err, "signature.alg: missing or not a string", -EBADMSG);
	if (strcmp(alg, "ed25519") != 0)
		return hsr_err(err, "signature.alg: unsupported algorithm", -ENOTSUP);
	if (hsr_get_string(sig, "key_id", &kid) < 0 || kid == NULL || strlen(kid) != NAP_KEY_ID_LEN ||
	    strspn(kid, "0123456789abcdef") != NAP_KEY_ID_LEN)
		return hsr_err(err, "signature.key_id: not 16 lowercase hex digits", -EBADMSG);
	if (hsr_get_string(sig, "value", &value) < 0 || value == NULL ||
	    strlen(value) != HSR_SIG_B64_LEN)
		return hsr_err(err, "signature.value: not base64 of 64 bytes", -EBADMSG);
	/* EVP_DecodeBlock counts the padding as zero bytes: 88 characters give 66. */
	if (EVP_DecodeBlock(dec, (const unsigned char *)value, HSR_SIG_B64_LEN) !=
	    HSR_ED25519_SIG_LEN + 2)
		return hsr_err(err, "signature.value: not base64 of 64 bytes", -EBADMSG);
	/* Only the one canonical encoding is accepted (no stray bits in the last character). */
	EVP_EncodeBlock(enc, dec, HSR_ED25519_SIG_LEN);
	if (memcmp(enc, value, HSR_SIG_B64_LEN) != 0)
		return hsr_err(err, "signature.value: not canonical base64", -EBADMSG);
	memcpy(key_id, kid, NAP_KEY_ID_LEN + 1);
	memcpy(raw, dec, HSR_ED25519_SIG_LEN);
	return 0;
}

static int
hsr_verify(EVP_PKEY *pkey, const uint8_t sig[HSR_ED25519_SIG_LEN], const char *msg)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int r = -EPERM;

	if (ctx == NULL)
		return -ENOMEM;
	if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) == 1 &&
	    EVP_DigestVerify(ctx, sig, HSR_ED25519_SIG_LEN, (const unsigned char *)msg,
			     strlen(msg)) == 1)
		r = 0;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return r;
}

static int
hsr_parse_one(json_t *obj, const struct nap_keyring *kr, struct nap_hsr *h, struct nap_err *err)
{
	uint8_t md[NAP_HSR_DIGEST_LEN], sig[HSR_ED25519_SIG_LEN];
	json_t *sorted, *sigobj;
	char *canon;
	int r;

	r = hsr_check_object(obj, HSR_MODE_PARSE, h, &sorted, err);
	if (r < 0)
		return r;
	r = hsr_digest(sorted, md);
	if (r < 0)
		goto out;
	if (!nap_consttime_eq(md, h->digest, sizeof(md))) {
		r = hsr_err(err, "digest: does not match the policies", -EBADMSG);
		goto out;
	}
	sigobj = json_object_get(obj, "signature");
	if (sigobj == NULL) {
		if (kr != NULL)
			r = hsr_err(err, "signature: missing", -EPERM);
		goto out;
	}
	r = hsr_check_signature(sigobj, h->key_id, sig, err);
	if (r < 0 || kr == NULL)
		goto out;
	{
		EVP_PKEY *pkey = hsr_keyring_find(kr, h->key_id);

		if (pkey == NULL) {
			r = hsr_err(err, "signature: unknown key", -EPERM);
			goto out;
		}
		canon = hsr_canonical(obj, sorted, false);
		if (canon == NULL) {
			r = hsr_err(err, "out of memory", -ENOMEM);
			goto out;
		}
		r = hsr_verify(pkey, sig, canon);
		free(canon);
		if (r == -EPERM)
			r = hsr_err(err, "signature: does not verify", -EPERM);
		else if (r < 0)
			r = hsr_err(err, "out of memory", r);
	}
out:
	json_decref(sorted);
	return r;
}

/* ---- public parse API ------------------------------------------------------------------- */

void
nap_hsr_set_free(struct nap_hsr_set *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->n; i++)
		hsr_clear(&set->v[i]);
	free(set->v);
	free(set);
}

static json_t *
hsr_load(const uint8_t *text, size_t len, struct nap_err *err, int *r)
{
	json_error_t jerr;
	json_t *root;

	if (len > NAP_HSR_MAX_LEN) {
		*r = nap_err_set(err, NAP_HSR_MAX_LEN, "document too large", -EMSGSIZE);
		return NULL;
	}
	root = json_loadb((const char *)text, len, HSR_JSON_FLAGS, &jerr);
	if (root == NULL) {
		*r = nap_err_set(err, (size_t)jerr.position, "not valid JSON", -EBADMSG);
		return NULL;
	}
	if (json_is_array(root)) {
		if (json_array_size(root) == 0) {
			json_decref(root);
			*r = hsr_err(err, "document: empty array", -EBADMSG);
			return NULL;
		}
		if (json_array_size(root) > NAP_HSR_MAX_SITES) {
			json_decref(root);
			*r = hsr_err(err, "document: too many sites", -EMSGSIZE);
			return NULL;
		}
	}
	*r = 0;
	return root;
}

int
nap_hsr_set_parse(const uint8_t *text, size_t len, const struct nap_keyring *kr,
		  struct nap_hsr_set **out, struct nap_err *err)
{
	struct nap_hsr_set *set;
	json_t *root;
	size_t n;
	int r;

	*out = NULL;
	root = hsr_load(text, len, err, &r);
	if (root == NULL)
		return r;
	n = json_is_array(root) ? json_array_size(root) : 1;
	set = calloc(1, sizeof(*set));
	if (set == NULL || (set->v = calloc(n, sizeof(*set->v))) == NULL) {
		free(set);
		json_decref(root);
		return hsr_err(err, "out of memory", -ENOMEM);
	}
	for (size_t i = 0; i < n; i++) {
		json_t *obj = json_is_array(root) ? json_array_get(root, i) : root;

		set->n = i + 1;
		r = hsr_parse_one(obj, kr, &set->v[i], err);
		if (r < 0)
			break;
		for (size_t j = 0; j < i; j++) {
			if (strcmp(set->v[j].site, set->v[i].site) == 0) {
				r = hsr_err(err, "document: site appears twice", -EBADMSG);
				break;
			}
		}
		if (r < 0)
			break;
	}
	json_decref(root);
	if (r < 0) {
		nap_hsr_set_free(set);
		return r;
	}
	*out = set;
	return 0;
}

const struct nap_hsr *
nap_hsr_set_find(const struct nap_hsr_set *set, const char *site)
{
	if (set == NULL || site == NULL)
		return NULL;
	for (size_t i = 0; i < set->n; i++) {
		if (strcmp(set->v[i].site, site) == 0)
			return &set->v[i];
	}
	return NULL;
}

/* ---- producer side ---------------------------------------------------------------------- */

/* Never prompt for a passphrase: an encrypted key is an error here. */
static int
hsr_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static int
hsr_load_private(const char *path, EVP_PKEY **out)
{
	uint8_t *buf;
	size_t len;
	BIO *bio;
	int r = nap_read_file(path, HSR_KEY_FILE_MAX, &buf, &len);

	if (r < 0)
		return r;
	bio = BIO_new_mem_buf(buf, (int)len);
	if (bio == NULL) {
		nap_wipe(buf, len);
		free(buf);
		return -ENOMEM;
	}
	*out = PEM_read_bio_PrivateKey(bio, NULL, hsr_no_passphrase, NULL);
	BIO_free(bio);
	nap_wipe(buf, len);
	free(buf);
	ERR_clear_error();
	if (*out == NULL)
		return -EBADMSG;
	if (EVP_PKEY_get_id(*out) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(*out);
		*out = NULL;
		return -ENOTSUP;
	}
	return 0;
}

static int
hsr_sign_one(json_t *obj, EVP_PKEY *pkey, const char *key_id, struct nap_err *err)
{
	uint8_t md[NAP_HSR_DIGEST_LEN], sig[HSR_ED25519_SIG_LEN];
	unsigned char b64[HSR_SIG_B64_LEN + 1];
	char hex[2 * NAP_HSR_DIGEST_LEN + 1];
	size_t siglen = sizeof(sig);
	json_t *sorted, *sigobj;
	EVP_MD_CTX *ctx;
	char *canon;
	int r;

	r = hsr_check_object(obj, HSR_MODE_SIGN, NULL, &sorted, err);
	if (r < 0)
		return r;
	r = hsr_digest(sorted, md);
	if (r < 0)
		goto out;
	nap_hex_encode(md, sizeof(md), hex);
	json_object_del(obj, "signature");
	if (json_object_set_new(obj, "digest", json_string(hex)) < 0 ||
	    json_object_set(obj, "policies", sorted) < 0) {
		r = hsr_err(err, "out of memory", -ENOMEM);
		goto out;
	}
	canon = hsr_canonical(obj, sorted, false);
	if (canon == NULL) {
		r = hsr_err(err, "out of memory", -ENOMEM);
		goto out;
	}
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL || EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)canon, strlen(canon)) != 1 ||
	    siglen != sizeof(sig))
		r = hsr_err(err, "signing failed", -EIO);
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	free(canon);
	if (r < 0)
		goto out;
	EVP_EncodeBlock(b64, sig, (int)sizeof(sig));
	sigobj = json_pack("{s:s, s:s, s:s}", "alg", "ed25519", "key_id", key_id, "value",
			   (const char *)b64);
	if (sigobj == NULL || json_object_set_new(obj, "signature", sigobj) < 0)
		r = hsr_err(err, "out of memory", -ENOMEM);
out:
	json_decref(sorted);
	return r;
}

int
nap_hsr_sign(const uint8_t *text, size_t len, const char *key_pem_path, char **out,
	     struct nap_err *err)
{
	char key_id[NAP_KEY_ID_LEN + 1];
	EVP_PKEY *pkey = NULL;
	json_t *root;
	size_t n;
	int r;

	*out = NULL;
	root = hsr_load(text, len, err, &r);
	if (root == NULL)
		return r;
	r = hsr_load_private(key_pem_path, &pkey);
	if (r < 0) {
		json_decref(root);
		return hsr_err(err, r == -ENOTSUP ? "key: not an Ed25519 private key"
						  : "key: cannot read the private key",
			       r);
	}
	if (hsr_key_id(pkey, key_id) < 0) {
		r = hsr_err(err, "key: no public part", -EINVAL);
		goto out;
	}
	n = json_is_array(root) ? json_array_size(root) : 1;
	for (size_t i = 0; i < n && r == 0; i++) {
		json_t *obj = json_is_array(root) ? json_array_get(root, i) : root;

		r = hsr_sign_one(obj, pkey, key_id, err);
		for (size_t j = 0; j < i && r == 0; j++) {
			if (strcmp(json_string_value(json_object_get(json_array_get(root, j), "site")),
				   json_string_value(json_object_get(obj, "site"))) == 0)
				r = hsr_err(err, "document: site appears twice", -EBADMSG);
		}
	}
	if (r == 0) {
		*out = json_dumps(root, HSR_DUMP_FLAGS);
		if (*out == NULL)
			r = hsr_err(err, "out of memory", -ENOMEM);
	}
out:
	EVP_PKEY_free(pkey);
	json_decref(root);
	return r;
}

static int
hsr_write_pem(const char *path, EVP_PKEY *pkey, bool private_part)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long n;
	int r = -EIO;

	if (bio == NULL)
		return -ENOMEM;
	if ((private_part ? PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL)
			  : PEM_write_bio_PUBKEY(bio, pkey)) == 1) {
		n = BIO_get_mem_data(bio, &data);
		if (n > 0)
			r = nap_write_file_atomic(path, data, (size_t)n, private_part ? 0600 : 0644);
		if (private_part && n > 0)
			nap_wipe(data, (size_t)n);
	}
	BIO_free(bio);
	ERR_clear_error();
	return r;
}

int
nap_key_generate(const char *priv_path, const char *pub_path)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	int r;

	if (pkey == NULL) {
		ERR_clear_error();
		return -EIO;
	}
	r = hsr_write_pem(priv_path, pkey, true);
	if (r == 0)
		r = hsr_write_pem(pub_path, pkey, false);
	EVP_PKEY_free(pkey);
	return r;
}

int
nap_key_id_file(const char *pub_path, char id[NAP_KEY_ID_LEN + 1])
{
	struct nap_keyring *kr;
	int r = nap_keyring_new(&kr);

	if (r < 0)
		return r;
	r = nap_keyring_add_file(kr, pub_path);
	if (r == 0)
		memcpy(id, kr->keys[0].id, NAP_KEY_ID_LEN + 1);
	nap_keyring_free(kr);
	return r;
}
