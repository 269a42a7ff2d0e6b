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
#include <strings.h>

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
static const char *const hsr_members[] = {"version",   "site",       "revision",
					  "issued",    "policies",   "digest",
					  "signature", "exemptions", "groups",
					  "checks"};
static const char *const policy_members[] = {"id",       "package",   "min_version", "scheme",
					     "severity", "effective", "reason",      "requires"};
static const char *const req_members[] = {"package", "min_version", "scheme"};
static const char *const exemption_members[] = {"id",   "client", "group", "policies",
						"from", "until",  "reason"};
static const char *const group_members[] = {"name", "members"};
static const char *const check_members[] = {"id",      "type", "severity", "effective",
					    "reason",  "max_age", "path", "sha256",
					    "unit",    "argv", "exit"};

/* Check types by name, and the type parameters each one takes (the rest are rejected). */
#define CK_MAX_AGE 0x01u
#define CK_PATH    0x02u
#define CK_SHA256  0x04u
#define CK_UNIT    0x08u
#define CK_ARGV    0x10u
#define CK_EXIT    0x20u

static const struct {
	const char *name;
	unsigned allowed;  /* CK_* parameters the type takes */
	unsigned required; /* ... of which these must be present */
} check_types[NAP_CHECK_TYPE_COUNT] = {
	[NAP_CHECK_TYPE_FIREWALL] = {"firewall", 0, 0},
	[NAP_CHECK_TYPE_AUTO_UPDATES] = {"auto_updates", 0, 0},
	[NAP_CHECK_TYPE_ANTIVIRUS] = {"antivirus", CK_MAX_AGE, CK_MAX_AGE},
	[NAP_CHECK_TYPE_REBOOT] = {"reboot", 0, 0},
	[NAP_CHECK_TYPE_FILE] = {"file", CK_PATH | CK_SHA256, CK_PATH},
	[NAP_CHECK_TYPE_SERVICE] = {"service", CK_UNIT, CK_UNIT},
	[NAP_CHECK_TYPE_COMMAND] = {"command", CK_ARGV | CK_EXIT, CK_ARGV},
};

static const struct {
	const char *member;
	unsigned bit;
} check_params[] = {
	{"max_age", CK_MAX_AGE}, {"path", CK_PATH}, {"sha256", CK_SHA256},
	{"unit", CK_UNIT},       {"argv", CK_ARGV}, {"exit", CK_EXIT},
};

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
	size_t n;

	if (s == NULL)
		return false;
	n = strnlen(s, max + 1);
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

/* Policy and exemption ids travel in the SoH's missing-update list. */
bool
nap_hsr_id_valid(const char *s)
{
	return hsr_token_valid(s, NAP_UPDATE_ID_MAX, ".:_+~-");
}

/* Machine names and globs: printable ASCII without spaces. */
bool
nap_hsr_client_valid(const char *s)
{
	return hsr_token_valid(s, NAP_HSR_MAX_CLIENT, NULL);
}

bool
nap_hsr_group_name_valid(const char *s)
{
	return hsr_token_valid(s, NAP_HSR_MAX_GROUP_NAME, "._-");
}

bool
nap_hsr_field_valid(const char *s)
{
	return hsr_token_valid(s, NAP_HSR_MAX_FIELD, NULL);
}

bool
nap_hsr_severity_valid(const char *s)
{
	if (s == NULL)
		return false;
	for (size_t i = 0; i < NAP_ARRAY_SIZE(hsr_severities); i++)
		if (strcmp(s, hsr_severities[i]) == 0)
			return true;
	return false;
}

const char *
nap_hsr_scheme_name(enum nap_version_scheme scheme)
{
	for (size_t i = 0; i < NAP_ARRAY_SIZE(hsr_schemes); i++)
		if (hsr_schemes[i].scheme == scheme)
			return hsr_schemes[i].name;
	return NULL;
}

const char *
nap_check_type_name(enum nap_check_type type)
{
	if ((unsigned)type >= NAP_CHECK_TYPE_COUNT)
		return NULL;
	return check_types[type].name;
}

int
nap_check_type_from_name(const char *s, enum nap_check_type *out)
{
	if (s == NULL)
		return -EINVAL;
	for (size_t i = 0; i < NAP_CHECK_TYPE_COUNT; i++) {
		if (strcmp(s, check_types[i].name) == 0) {
			*out = (enum nap_check_type)i;
			return 0;
		}
	}
	return -EINVAL;
}

/*
 * An absolute path: "/" first, at most NAP_HSR_MAX_PATH bytes, no control characters and no
 * "." or ".." component (the agent looks paths up under a root prefix they must not leave).
 */
bool
nap_hsr_path_valid(const char *s)
{
	size_t n;

	if (s == NULL || s[0] != '/')
		return false;
	n = strnlen(s, NAP_HSR_MAX_PATH + 1);
	if (n > NAP_HSR_MAX_PATH)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			return false;
		if (c == '/' && s[i + 1] == '.') {
			size_t k = s[i + 2] == '.' ? i + 3 : i + 2;

			if (s[k] == '/' || s[k] == '\0')
				return false;
		}
	}
	return true;
}

/*
 * A systemd unit name: [A-Za-z0-9:_.@\\-]+ ending in a unit type suffix, not starting with
 * "-" or ".", at most NAP_HSR_MAX_UNIT bytes.
 */
bool
nap_hsr_unit_valid(const char *s)
{
	static const char *const suffixes[] = {".service", ".socket", ".target", ".timer",
					       ".mount",   ".automount", ".path", ".slice",
					       ".scope",   ".device", ".swap"};
	size_t n;

	if (!hsr_token_valid(s, NAP_HSR_MAX_UNIT, ":_.@\\-") || s[0] == '-' || s[0] == '.')
		return false;
	n = strlen(s);
	for (size_t i = 0; i < NAP_ARRAY_SIZE(suffixes); i++) {
		size_t k = strlen(suffixes[i]);

		if (n > k && strcmp(s + n - k, suffixes[i]) == 0)
			return true;
	}
	return false;
}

bool
nap_hsr_sha256_valid(const char *s)
{
	return s != NULL && strlen(s) == 2 * NAP_HSR_DIGEST_LEN &&
	       strspn(s, "0123456789abcdef") == 2 * NAP_HSR_DIGEST_LEN;
}

static bool
hsr_scheme_parse(const char *s, enum nap_version_scheme *out)
{
	for (size_t i = 0; i < NAP_ARRAY_SIZE(hsr_schemes); i++) {
		if (strcmp(s, hsr_schemes[i].name) == 0) {
			*out = hsr_schemes[i].scheme;
			return true;
		}
	}
	return false;
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

static void
hsr_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
hsr_policy_clear(struct nap_hsr_policy *p)
{
	free(p->id);
	free(p->package);
	free(p->min_version);
	free(p->severity);
	free(p->reason);
	for (size_t i = 0; i < p->n_reqs; i++) {
		free(p->reqs[i].package);
		free(p->reqs[i].min_version);
	}
	free(p->reqs);
	memset(p, 0, sizeof(*p));
}

static void
hsr_exemption_clear(struct nap_hsr_exemption *e)
{
	free(e->id);
	free(e->client);
	free(e->group);
	hsr_strv_free(e->policies, e->n_policies);
	free(e->reason);
	memset(e, 0, sizeof(*e));
}

static void
hsr_group_clear(struct nap_hsr_group *g)
{
	free(g->name);
	hsr_strv_free(g->members, g->n_members);
	memset(g, 0, sizeof(*g));
}

static void
hsr_check_clear(struct nap_hsr_check *c)
{
	free(c->id);
	free(c->severity);
	free(c->reason);
	free(c->path);
	free(c->sha256);
	free(c->unit);
	hsr_strv_free(c->argv, c->n_argv);
	memset(c, 0, sizeof(*c));
}

static void
hsr_clear(struct nap_hsr *h)
{
	for (size_t i = 0; i < h->n_policies; i++)
		hsr_policy_clear(&h->policies[i]);
	free(h->policies);
	for (size_t i = 0; i < h->n_exemptions; i++)
		hsr_exemption_clear(&h->exemptions[i]);
	free(h->exemptions);
	for (size_t i = 0; i < h->n_groups; i++)
		hsr_group_clear(&h->groups[i]);
	free(h->groups);
	for (size_t i = 0; i < h->n_checks; i++)
		hsr_check_clear(&h->checks[i]);
	free(h->checks);
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

/* strdup that tolerates NULL; *ok cleared on allocation failure. */
static char *
hsr_dup(const char *s, bool *ok)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = strdup(s);
	if (d == NULL)
		*ok = false;
	return d;
}

/* Copy an array of strings (already checked). */
static int
hsr_strv_dup(json_t *arr, char ***out, size_t *n, struct nap_err *err)
{
	size_t cnt = json_array_size(arr), i;
	char **v;

	*out = NULL;
	*n = 0;
	if (cnt == 0)
		return 0;
	v = calloc(cnt, sizeof(*v));
	if (v == NULL)
		return hsr_err(err, "out of memory", -ENOMEM);
	for (i = 0; i < cnt; i++) {
		v[i] = strdup(json_string_value(json_array_get(arr, i)));
		if (v[i] == NULL) {
			hsr_strv_free(v, i);
			return hsr_err(err, "out of memory", -ENOMEM);
		}
	}
	*out = v;
	*n = cnt;
	return 0;
}

/* One element of a policy's "requires"; fill r when non-NULL. */
static int
hsr_check_req(json_t *obj, struct nap_hsr_req *r, struct nap_err *err)
{
	const char *package, *min_version, *scheme;
	enum nap_version_scheme sch = NAP_SCHEME_DPKG;
	bool ok = true;

	if (!json_is_object(obj))
		return hsr_err(err, "policies[].requires[]: not an object", -EBADMSG);
	if (!hsr_members_known(obj, req_members, NAP_ARRAY_SIZE(req_members)))
		return hsr_err(err, "policies[].requires[]: unknown member", -EBADMSG);
	if (hsr_get_string(obj, "package", &package) < 0 || package == NULL)
		return hsr_err(err, "policies[].requires[].package: missing or not a string",
			       -EBADMSG);
	if (!nap_hsr_field_valid(package))
		return hsr_err(err, "policies[].requires[].package: bad characters or length",
			       -EBADMSG);
	if (hsr_get_string(obj, "min_version", &min_version) < 0 || min_version == NULL)
		return hsr_err(err, "policies[].requires[].min_version: missing or not a string",
			       -EBADMSG);
	if (!nap_hsr_field_valid(min_version))
		return hsr_err(err, "policies[].requires[].min_version: bad characters or length",
			       -EBADMSG);
	if (hsr_get_string(obj, "scheme", &scheme) < 0)
		return hsr_err(err, "policies[].requires[].scheme: not a string", -EBADMSG);
	if (scheme != NULL && !hsr_scheme_parse(scheme, &sch))
		return hsr_err(err, "policies[].requires[].scheme: not dpkg or rpm", -EBADMSG);
	if (r == NULL)
		return 0;
	r->scheme = sch;
	r->package = hsr_dup(package, &ok);
	r->min_version = hsr_dup(min_version, &ok);
	return ok ? 0 : hsr_err(err, "out of memory", -ENOMEM);
}

/* Check one policy object; fill p when non-NULL. */
static int
hsr_check_policy(json_t *obj, struct nap_hsr_policy *p, struct nap_err *err)
{
	const char *id, *package, *min_version, *scheme, *severity, *effective, *reason;
	enum nap_version_scheme sch = NAP_SCHEME_DPKG;
	json_t *requires;
	int64_t eff = 0;
	bool ok = true;
	size_t i, n_req = 0;
	int r;

	if (!json_is_object(obj))
		return hsr_err(err, "policies[]: not an object", -EBADMSG);
	if (!hsr_members_known(obj, policy_members, NAP_ARRAY_SIZE(policy_members)))
		return hsr_err(err, "policies[]: unknown member", -EBADMSG);
	if (hsr_get_string(obj, "id", &id) < 0 || id == NULL)
		return hsr_err(err, "policies[].id: missing or not a string", -EBADMSG);
	if (!nap_hsr_id_valid(id))
		return hsr_err(err, "policies[].id: bad characters or length", -EBADMSG);
	if (hsr_get_string(obj, "package", &package) < 0)
		return hsr_err(err, "policies[].package: not a string", -EBADMSG);
	if (hsr_get_string(obj, "min_version", &min_version) < 0)
		return hsr_err(err, "policies[].min_version: not a string", -EBADMSG);
	if ((package == NULL) != (min_version == NULL))
		return hsr_err(err, "policies[]: package and min_version go together", -EBADMSG);
	if (package != NULL && !nap_hsr_field_valid(package))
		return hsr_err(err, "policies[].package: bad characters or length", -EBADMSG);
	if (min_version != NULL && !nap_hsr_field_valid(min_version))
		return hsr_err(err, "policies[].min_version: bad characters or length", -EBADMSG);
	if (hsr_get_string(obj, "scheme", &scheme) < 0)
		return hsr_err(err, "policies[].scheme: not a string", -EBADMSG);
	if (scheme != NULL && !hsr_scheme_parse(scheme, &sch))
		return hsr_err(err, "policies[].scheme: not dpkg or rpm", -EBADMSG);
	requires = json_object_get(obj, "requires");
	if (requires != NULL) {
		if (package != NULL || scheme != NULL)
			return hsr_err(err,
				       "policies[].requires: excludes package, min_version and scheme",
				       -EBADMSG);
		if (!json_is_array(requires) || json_array_size(requires) == 0)
			return hsr_err(err, "policies[].requires: not a non-empty array", -EBADMSG);
		n_req = json_array_size(requires);
		if (n_req > NAP_HSR_MAX_REQS)
			return hsr_err(err, "policies[].requires: too many", -EMSGSIZE);
		for (i = 0; i < n_req; i++) {
			r = hsr_check_req(json_array_get(requires, i), NULL, err);
			if (r < 0)
				return r;
		}
	} else if (package != NULL) {
		n_req = 1;
	}
	if (hsr_get_string(obj, "severity", &severity) < 0 || severity == NULL)
		return hsr_err(err, "policies[].severity: missing or not a string", -EBADMSG);
	if (!nap_hsr_severity_valid(severity))
		return hsr_err(err, "policies[].severity: unknown severity", -EBADMSG);
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
	p->id = hsr_dup(id, &ok);
	p->severity = hsr_dup(severity, &ok);
	p->package = hsr_dup(package, &ok);
	p->min_version = hsr_dup(min_version, &ok);
	p->reason = hsr_dup(reason, &ok);
	if (!ok)
		return hsr_err(err, "out of memory", -ENOMEM);
	if (n_req == 0)
		return 0;
	p->reqs = calloc(n_req, sizeof(*p->reqs));
	if (p->reqs == NULL)
		return hsr_err(err, "out of memory", -ENOMEM);
	if (requires == NULL) {
		p->n_reqs = 1;
		p->reqs[0].scheme = sch;
		p->reqs[0].package = hsr_dup(package, &ok);
		p->reqs[0].min_version = hsr_dup(min_version, &ok);
		return ok ? 0 : hsr_err(err, "out of memory", -ENOMEM);
	}
	for (i = 0; i < n_req; i++) {
		/* n_reqs counts what hsr_policy_clear() must free. */
		p->n_reqs = i + 1;
		r = hsr_check_req(json_array_get(requires, i), &p->reqs[i], err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* An optional RFC 3339 member of an exemption; *out 0 when absent. */
static int
hsr_get_time(json_t *obj, const char *key, int64_t *out)
{
	const char *s;

	*out = 0;
	if (hsr_get_string(obj, key, &s) < 0)
		return -EBADMSG;
	if (s != NULL && hsr_parse_time(s, out) < 0)
		return -EBADMSG;
	return 0;
}

/* Check one exemption object; fill e when non-NULL. */
static int
hsr_check_exemption(json_t *obj, struct nap_hsr_exemption *e, struct nap_err *err)
{
	const char *id, *client, *group, *reason;
	json_t *policies, *v;
	int64_t from, until;
	bool ok = true;
	size_t i;

	if (!json_is_object(obj))
		return hsr_err(err, "exemptions[]: not an object", -EBADMSG);
	if (!hsr_members_known(obj, exemption_members, NAP_ARRAY_SIZE(exemption_members)))
		return hsr_err(err, "exemptions[]: unknown member", -EBADMSG);
	if (hsr_get_string(obj, "id", &id) < 0 || id == NULL)
		return hsr_err(err, "exemptions[].id: missing or not a string", -EBADMSG);
	if (!nap_hsr_id_valid(id))
		return hsr_err(err, "exemptions[].id: bad characters or length", -EBADMSG);
	if (hsr_get_string(obj, "client", &client) < 0)
		return hsr_err(err, "exemptions[].client: not a string", -EBADMSG);
	if (hsr_get_string(obj, "group", &group) < 0)
		return hsr_err(err, "exemptions[].group: not a string", -EBADMSG);
	if ((client == NULL) == (group == NULL))
		return hsr_err(err, "exemptions[]: exactly one of client and group", -EBADMSG);
	if (client != NULL && !nap_hsr_client_valid(client))
		return hsr_err(err, "exemptions[].client: bad characters or length", -EBADMSG);
	if (group != NULL && !nap_hsr_group_name_valid(group))
		return hsr_err(err, "exemptions[].group: bad characters or length", -EBADMSG);
	policies = json_object_get(obj, "policies");
	if (policies != NULL) {
		if (!json_is_array(policies))
			return hsr_err(err, "exemptions[].policies: not an array", -EBADMSG);
		if (json_array_size(policies) > NAP_HSR_MAX_EXEMPTION_POLICIES)
			return hsr_err(err, "exemptions[].policies: too many", -EMSGSIZE);
		json_array_foreach(policies, i, v)
		{
			if (!json_is_string(v) || !nap_hsr_id_valid(json_string_value(v)))
				return hsr_err(err, "exemptions[].policies[]: not a policy id",
					       -EBADMSG);
		}
	}
	if (hsr_get_time(obj, "from", &from) < 0)
		return hsr_err(err, "exemptions[].from: not RFC 3339 UTC", -EBADMSG);
	if (hsr_get_time(obj, "until", &until) < 0)
		return hsr_err(err, "exemptions[].until: not RFC 3339 UTC", -EBADMSG);
	/* An absent "from" is 0, so "until" must also be after the epoch (0 means no end). */
	if (json_object_get(obj, "until") != NULL && until <= from)
		return hsr_err(err, "exemptions[].until: not later than from", -EBADMSG);
	if (hsr_get_string(obj, "reason", &reason) < 0)
		return hsr_err(err, "exemptions[].reason: not a string", -EBADMSG);
	if (reason != NULL && strlen(reason) > NAP_HSR_MAX_REASON)
		return hsr_err(err, "exemptions[].reason: too long", -EMSGSIZE);

	if (e == NULL)
		return 0;
	e->from = from;
	e->until = until;
	e->id = hsr_dup(id, &ok);
	e->client = hsr_dup(client, &ok);
	e->group = hsr_dup(group, &ok);
	e->reason = hsr_dup(reason, &ok);
	if (!ok)
		return hsr_err(err, "out of memory", -ENOMEM);
	return policies == NULL ? 0 : hsr_strv_dup(policies, &e->policies, &e->n_policies, err);
}

/* Check one group object; fill g when non-NULL. */
static int
hsr_check_group(json_t *obj, struct nap_hsr_group *g, struct nap_err *err)
{
	const char *name;
	json_t *members, *v;
	size_t i;

	if (!json_is_object(obj))
		return hsr_err(err, "groups[]: not an object", -EBADMSG);
	if (!hsr_members_known(obj, group_members, NAP_ARRAY_SIZE(group_members)))
		return hsr_err(err, "groups[]: unknown member", -EBADMSG);
	if (hsr_get_string(obj, "name", &name) < 0 || name == NULL)
		return hsr_err(err, "groups[].name: missing or not a string", -EBADMSG);
	if (!nap_hsr_group_name_valid(name))
		return hsr_err(err, "groups[].name: bad characters or length", -EBADMSG);
	members = json_object_get(obj, "members");
	if (!json_is_array(members))
		return hsr_err(err, "groups[].members: missing or not an array", -EBADMSG);
	if (json_array_size(members) > NAP_HSR_MAX_MEMBERS)
		return hsr_err(err, "groups[].members: too many", -EMSGSIZE);
	json_array_foreach(members, i, v)
	{
		if (!json_is_string(v) || !nap_hsr_client_valid(json_string_value(v)))
			return hsr_err(err, "groups[].members[]: not a machine name or glob",
				       -EBADMSG);
	}
	if (g == NULL)
		return 0;
	g->name = strdup(name);
	if (g->name == NULL)
		return hsr_err(err, "out of memory", -ENOMEM);
	return hsr_strv_dup(members, &g->members, &g->n_members, err);
}

/* A command check's argv: 1..NAP_HSR_MAX_ARGV strings, the first an absolute path. */
static int
hsr_check_argv(json_t *argv, struct nap_err *err)
{
	json_t *v;
	size_t i;

	if (!json_is_array(argv) || json_array_size(argv) == 0)
		return hsr_err(err, "checks[].argv: not a non-empty array", -EBADMSG);
	if (json_array_size(argv) > NAP_HSR_MAX_ARGV)
		return hsr_err(err, "checks[].argv: too many entries", -EMSGSIZE);
	json_array_foreach(argv, i, v)
	{
		if (!json_is_string(v))
			return hsr_err(err, "checks[].argv[]: not a string", -EBADMSG);
		if (json_string_length(v) > NAP_HSR_MAX_PATH)
			return hsr_err(err, "checks[].argv[]: too long", -EMSGSIZE);
		if (strlen(json_string_value(v)) != json_string_length(v))
			return hsr_err(err, "checks[].argv[]: NUL byte", -EBADMSG);
	}
	if (!nap_hsr_path_valid(json_string_value(json_array_get(argv, 0))))
		return hsr_err(err, "checks[].argv[0]: not an absolute path", -EBADMSG);
	return 0;
}

/* Check one check object; fill c when non-NULL. */
static int
hsr_check_check(json_t *obj, struct nap_hsr_check *c, struct nap_err *err)
{
	const char *id, *type, *severity, *effective, *reason, *path, *sha256, *unit;
	enum nap_check_type t;
	json_t *v, *argv;
	int64_t eff = 0, max_age = 0, ex = 0;
	unsigned present = 0;
	bool ok = true;
	int r;

	if (!json_is_object(obj))
		return hsr_err(err, "checks[]: not an object", -EBADMSG);
	if (!hsr_members_known(obj, check_members, NAP_ARRAY_SIZE(check_members)))
		return hsr_err(err, "checks[]: unknown member", -EBADMSG);
	if (hsr_get_string(obj, "id", &id) < 0 || id == NULL)
		return hsr_err(err, "checks[].id: missing or not a string", -EBADMSG);
	if (!nap_hsr_id_valid(id))
		return hsr_err(err, "checks[].id: bad characters or length", -EBADMSG);
	if (hsr_get_string(obj, "type", &type) < 0 || type == NULL)
		return hsr_err(err, "checks[].type: missing or not a string", -EBADMSG);
	if (nap_check_type_from_name(type, &t) < 0)
		return hsr_err(err, "checks[].type: unknown check type", -EBADMSG);
	if (hsr_get_string(obj, "severity", &severity) < 0 || severity == NULL)
		return hsr_err(err, "checks[].severity: missing or not a string", -EBADMSG);
	if (!nap_hsr_severity_valid(severity))
		return hsr_err(err, "checks[].severity: unknown severity", -EBADMSG);
	if (hsr_get_string(obj, "effective", &effective) < 0 || effective == NULL)
		return hsr_err(err, "checks[].effective: missing or not a string", -EBADMSG);
	if (strcmp(effective, "asap") != 0 && hsr_parse_time(effective, &eff) < 0)
		return hsr_err(err, "checks[].effective: not RFC 3339 UTC or \"asap\"", -EBADMSG);
	if (hsr_get_string(obj, "reason", &reason) < 0)
		return hsr_err(err, "checks[].reason: not a string", -EBADMSG);
	if (reason != NULL && strlen(reason) > NAP_HSR_MAX_REASON)
		return hsr_err(err, "checks[].reason: too long", -EMSGSIZE);

	for (size_t i = 0; i < NAP_ARRAY_SIZE(check_params); i++) {
		if (json_object_get(obj, check_params[i].member) != NULL)
			present |= check_params[i].bit;
	}
	if (present & ~check_types[t].allowed)
		return hsr_err(err, "checks[]: a parameter this check type does not take",
			       -EBADMSG);
	if ((present & check_types[t].required) != check_types[t].required)
		return hsr_err(err, "checks[]: a required parameter of this check type is missing",
			       -EBADMSG);
	if ((v = json_object_get(obj, "max_age")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) <= 0)
			return hsr_err(err, "checks[].max_age: not a positive integer", -EBADMSG);
		max_age = json_integer_value(v);
	}
	if (hsr_get_string(obj, "path", &path) < 0 || (path != NULL && !nap_hsr_path_valid(path)))
		return hsr_err(err, "checks[].path: not an absolute path", -EBADMSG);
	if (hsr_get_string(obj, "sha256", &sha256) < 0 ||
	    (sha256 != NULL && !nap_hsr_sha256_valid(sha256)))
		return hsr_err(err, "checks[].sha256: not 64 lowercase hex digits", -EBADMSG);
	if (hsr_get_string(obj, "unit", &unit) < 0 || (unit != NULL && !nap_hsr_unit_valid(unit)))
		return hsr_err(err, "checks[].unit: not a systemd unit name", -EBADMSG);
	argv = json_object_get(obj, "argv");
	if (argv != NULL && (r = hsr_check_argv(argv, err)) < 0)
		return r;
	if ((v = json_object_get(obj, "exit")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 255)
			return hsr_err(err, "checks[].exit: not an integer 0..255", -EBADMSG);
		ex = json_integer_value(v);
	}

	if (c == NULL)
		return 0;
	c->type = t;
	c->effective = eff;
	c->max_age = max_age;
	c->expect_exit = (int)ex;
	c->id = hsr_dup(id, &ok);
	c->severity = hsr_dup(severity, &ok);
	c->reason = hsr_dup(reason, &ok);
	c->path = hsr_dup(path, &ok);
	c->sha256 = hsr_dup(sha256, &ok);
	c->unit = hsr_dup(unit, &ok);
	if (!ok)
		return hsr_err(err, "out of memory", -ENOMEM);
	return argv == NULL ? 0 : hsr_strv_dup(argv, &c->argv, &c->n_argv, err);
}

/* ---- the canonical form ----------------------------------------------------------------- */

typedef int (*hsr_cmp_fn)(const void *, const void *);

static int
hsr_cmp_member(const void *a, const void *b, const char *key)
{
	const json_t *ja = *(json_t *const *)a, *jb = *(json_t *const *)b;

	return strcmp(json_string_value(json_object_get(ja, key)),
		      json_string_value(json_object_get(jb, key)));
}

static int
hsr_cmp_id(const void *a, const void *b)
{
	return hsr_cmp_member(a, b, "id");
}

static int
hsr_cmp_name(const void *a, const void *b)
{
	return hsr_cmp_member(a, b, "name");
}

static int
hsr_cmp_string(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a),
		      json_string_value(*(json_t *const *)b));
}

/* Requirements: by package, then by scheme ("dpkg" when absent, the default). */
static const char *
hsr_req_scheme(const json_t *req)
{
	const char *s = json_string_value(json_object_get(req, "scheme"));

	return s != NULL ? s : "dpkg";
}

static int
hsr_cmp_req(const void *a, const void *b)
{
	const json_t *ja = *(json_t *const *)a, *jb = *(json_t *const *)b;
	int c = hsr_cmp_member(a, b, "package");

	return c != 0 ? c : strcmp(hsr_req_scheme(ja), hsr_req_scheme(jb));
}

/*
 * Sort a checked JSON array in place. Returns 1 when two elements compare equal (a duplicate),
 * 0, or -ENOMEM.
 */
static int
hsr_sort_array(json_t *arr, hsr_cmp_fn cmp)
{
	size_t n = json_array_size(arr), i;
	json_t **vec;
	int r = 0;

	if (n < 2)
		return 0;
	vec = malloc(n * sizeof(*vec));
	if (vec == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		vec[i] = json_incref(json_array_get(arr, i));
	qsort(vec, n, sizeof(*vec), cmp);
	for (i = 1; i < n && r == 0; i++)
		r = cmp(&vec[i - 1], &vec[i]) == 0;
	json_array_clear(arr);
	for (i = 0; i < n; i++) {
		/* json_array_append_new drops the reference even when it fails. */
		if (json_array_append_new(arr, vec[i]) < 0)
			r = -ENOMEM;
	}
	free(vec);
	return r;
}

/* Sort one array; a duplicate is reported with dup_what. */
static int
hsr_sort_checked(json_t *arr, hsr_cmp_fn cmp, const char *dup_what, struct nap_err *err)
{
	int r;

	if (arr == NULL)
		return 0;
	r = hsr_sort_array(arr, cmp);
	if (r < 0)
		return hsr_err(err, "out of memory", -ENOMEM);
	if (r > 0)
		return hsr_err(err, dup_what, -EBADMSG);
	return 0;
}

/*
 * Sort every array of a checked HSR object that is a set, in place: policies by id and each
 * policy's requires by (package, scheme); exemptions by id and each one's policies; groups by
 * name and each one's members; checks by id (a command's argv keeps its order). A duplicate in
 * any of them is an error.
 */
static int
hsr_canonicalize(json_t *obj, struct nap_err *err)
{
	json_t *arr, *v;
	size_t i;
	int r;

	arr = json_object_get(obj, "policies");
	r = hsr_sort_checked(arr, hsr_cmp_id, "policies: duplicate id", err);
	json_array_foreach(arr, i, v)
	{
		if (r == 0)
			r = hsr_sort_checked(json_object_get(v, "requires"), hsr_cmp_req,
					     "policies[].requires: duplicate package and scheme",
					     err);
	}
	arr = json_object_get(obj, "exemptions");
	if (r == 0)
		r = hsr_sort_checked(arr, hsr_cmp_id, "exemptions: duplicate id", err);
	json_array_foreach(arr, i, v)
	{
		if (r == 0)
			r = hsr_sort_checked(json_object_get(v, "policies"), hsr_cmp_string,
					     "exemptions[].policies: duplicate id", err);
	}
	arr = json_object_get(obj, "checks");
	if (r == 0)
		r = hsr_sort_checked(arr, hsr_cmp_id, "checks: duplicate id", err);
	arr = json_object_get(obj, "groups");
	if (r == 0)
		r = hsr_sort_checked(arr, hsr_cmp_name, "groups: duplicate name", err);
	json_array_foreach(arr, i, v)
	{
		if (r == 0)
			r = hsr_sort_checked(json_object_get(v, "members"), hsr_cmp_string,
					     "groups[].members: duplicate member", err);
	}
	return r;
}

/* Check every element of an array member with check(elem, NULL); count limit max. */
static int
hsr_check_array(json_t *arr, size_t max, int (*check)(json_t *, void *, struct nap_err *),
		const char *too_many, struct nap_err *err)
{
	json_t *v;
	size_t i;
	int r;

	if (json_array_size(arr) > max)
		return hsr_err(err, too_many, -EMSGSIZE);
	json_array_foreach(arr, i, v)
	{
		r = check(v, NULL, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int
hsr_check_policy_v(json_t *obj, void *out, struct nap_err *err)
{
	return hsr_check_policy(obj, out, err);
}

static int
hsr_check_exemption_v(json_t *obj, void *out, struct nap_err *err)
{
	return hsr_check_exemption(obj, out, err);
}

static int
hsr_check_group_v(json_t *obj, void *out, struct nap_err *err)
{
	return hsr_check_group(obj, out, err);
}

static int
hsr_check_check_v(json_t *obj, void *out, struct nap_err *err)
{
	return hsr_check_check(obj, out, err);
}

/* Check ids live in the policy id namespace: none may equal a policy id (both sorted). */
static int
hsr_check_ids_disjoint(json_t *canon, struct nap_err *err)
{
	json_t *pol = json_object_get(canon, "policies"), *chk = json_object_get(canon, "checks");
	size_t i = 0, j = 0, np = json_array_size(pol), nc = json_array_size(chk);

	while (i < np && j < nc) {
		int c = strcmp(json_string_value(json_object_get(json_array_get(pol, i), "id")),
			       json_string_value(json_object_get(json_array_get(chk, j), "id")));

		if (c == 0)
			return hsr_err(err, "checks[].id: also a policy id", -EBADMSG);
		if (c < 0)
			i++;
		else
			j++;
	}
	return 0;
}

static int
hsr_check_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct nap_hsr_check *)elem)->id);
}

const struct nap_hsr_check *
nap_hsr_find_check(const struct nap_hsr *hsr, const char *id)
{
	if (hsr == NULL || id == NULL || hsr->n_checks == 0)
		return NULL;
	return bsearch(id, hsr->checks, hsr->n_checks, sizeof(*hsr->checks), hsr_check_cmp);
}

/*
 * Fill an array of C structs (element size sz) from a canonical JSON array; *n counts the
 * elements hsr_clear() must free, so a failure halfway leaves nothing behind.
 */
static int
hsr_fill_array(json_t *arr, size_t sz, void **out, size_t *n,
	       int (*check)(json_t *, void *, struct nap_err *), struct nap_err *err)
{
	size_t cnt = json_array_size(arr);
	char *v;
	int r;

	*out = NULL;
	*n = 0;
	if (cnt == 0)
		return 0;
	v = calloc(cnt, sz);
	if (v == NULL)
		return hsr_err(err, "out of memory", -ENOMEM);
	*out = v;
	for (size_t i = 0; i < cnt; i++) {
		*n = i + 1;
		r = check(json_array_get(arr, i), v + i * sz, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int
hsr_group_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct nap_hsr_group *)elem)->name);
}

static const struct nap_hsr_group *
hsr_find_group(const struct nap_hsr *h, const char *name)
{
	if (h->n_groups == 0)
		return NULL;
	return bsearch(name, h->groups, h->n_groups, sizeof(*h->groups), hsr_group_cmp);
}

/* Point each exemption at its group once, not on every request. */
static void
hsr_resolve_groups(struct nap_hsr *h)
{
	for (size_t i = 0; i < h->n_exemptions; i++) {
		struct nap_hsr_exemption *e = &h->exemptions[i];

		if (e->group != NULL)
			e->grp = hsr_find_group(h, e->group);
	}
}

enum hsr_mode {
	HSR_MODE_PARSE, /* a published document: digest required, signature checked */
	HSR_MODE_SIGN,  /* producer input: digest and signature optional, replaced */
};

/*
 * Check one HSR object's members and types, fill h (when non-NULL) and return its canonical
 * form as a new object (*canon, caller decrefs): a deep copy with every set sorted.
 */
static int
hsr_check_object(json_t *obj, enum hsr_mode mode, struct nap_hsr *h, json_t **canon,
		 struct nap_err *err)
{
	const char *site, *issued;
	json_t *v, *policies, *exemptions, *groups, *checks, *c;
	int r;

	*canon = NULL;
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
	r = hsr_check_array(policies, NAP_HSR_MAX_POLICIES, hsr_check_policy_v,
			    "policies: too many", err);
	if (r < 0)
		return r;
	exemptions = json_object_get(obj, "exemptions");
	if (exemptions != NULL && !json_is_array(exemptions))
		return hsr_err(err, "exemptions: not an array", -EBADMSG);
	r = hsr_check_array(exemptions, NAP_HSR_MAX_EXEMPTIONS, hsr_check_exemption_v,
			    "exemptions: too many", err);
	if (r < 0)
		return r;
	groups = json_object_get(obj, "groups");
	if (groups != NULL && !json_is_array(groups))
		return hsr_err(err, "groups: not an array", -EBADMSG);
	r = hsr_check_array(groups, NAP_HSR_MAX_GROUPS, hsr_check_group_v, "groups: too many", err);
	if (r < 0)
		return r;
	checks = json_object_get(obj, "checks");
	if (checks != NULL && !json_is_array(checks))
		return hsr_err(err, "checks: not an array", -EBADMSG);
	r = hsr_check_array(checks, NAP_HSR_MAX_CHECKS, hsr_check_check_v, "checks: too many", err);
	if (r < 0)
		return r;

	c = json_deep_copy(obj);
	if (c == NULL)
		return hsr_err(err, "out of memory", -ENOMEM);
	r = hsr_canonicalize(c, err);
	if (r == 0)
		r = hsr_check_ids_disjoint(c, err);
	if (r == 0 && h != NULL) {
		void *p = NULL;

		r = hsr_fill_array(json_object_get(c, "policies"), sizeof(*h->policies), &p,
				   &h->n_policies, hsr_check_policy_v, err);
		h->policies = p;
		if (r == 0) {
			r = hsr_fill_array(json_object_get(c, "exemptions"), sizeof(*h->exemptions),
					   &p, &h->n_exemptions, hsr_check_exemption_v, err);
			h->exemptions = p;
		}
		if (r == 0) {
			r = hsr_fill_array(json_object_get(c, "groups"), sizeof(*h->groups), &p,
					   &h->n_groups, hsr_check_group_v, err);
			h->groups = p;
		}
		if (r == 0) {
			r = hsr_fill_array(json_object_get(c, "checks"), sizeof(*h->checks), &p,
					   &h->n_checks, hsr_check_check_v, err);
			h->checks = p;
		}
		if (r == 0)
			hsr_resolve_groups(h);
	}
	if (r < 0) {
		json_decref(c);
		return r;
	}

	v = json_object_get(obj, "digest");
	if (v == NULL && mode == HSR_MODE_PARSE) {
		json_decref(c);
		return hsr_err(err, "digest: missing", -EBADMSG);
	}
	if (v != NULL && mode == HSR_MODE_PARSE) {
		uint8_t d[NAP_HSR_DIGEST_LEN];
		const char *s = json_string_value(v);
		size_t bad;

		if (s == NULL || strlen(s) != 2 * NAP_HSR_DIGEST_LEN ||
		    strspn(s, "0123456789abcdef") != 2 * NAP_HSR_DIGEST_LEN ||
		    nap_hex_decode(s, strlen(s), d, sizeof(d), &bad) != NAP_HSR_DIGEST_LEN) {
			json_decref(c);
			return hsr_err(err, "digest: not 64 lowercase hex digits", -EBADMSG);
		}
		if (h != NULL)
			memcpy(h->digest, d, sizeof(d));
	}
	*canon = c;
	return 0;
}

/*
 * SHA-256 over the canonical serialization of the sorted policies array; when the HSR has
 * checks, over the object {"checks":[...],"policies":[...]} instead, so a change of a check
 * changes the digest too (and sends clients to re-evaluate) while HSRs without checks keep the
 * digest they always had.
 */
static int
hsr_digest(json_t *canon, uint8_t md[NAP_HSR_DIGEST_LEN])
{
	json_t *checks = json_object_get(canon, "checks");
	char *s;

	if (json_array_size(checks) > 0) {
		json_t *o = json_pack("{s:O, s:O}", "checks", checks, "policies",
				      json_object_get(canon, "policies"));

		s = o != NULL ? json_dumps(o, HSR_DUMP_FLAGS) : NULL;
		json_decref(o);
	} else {
		s = json_dumps(json_object_get(canon, "policies"), HSR_DUMP_FLAGS);
	}
	if (s == NULL)
		return -ENOMEM;
	hsr_sha256(s, strlen(s), md);
	free(s);
	return 0;
}

/* The signed bytes: the canonical object without "signature". Returns a new string. */
static char *
hsr_signed_bytes(json_t *canon)
{
	json_t *c = json_copy(canon); /* shallow: members are shared, not modified */
	char *s;

	if (c == NULL)
		return NULL;
	json_object_del(c, "signature");
	s = json_dumps(c, HSR_DUMP_FLAGS);
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
	json_t *canon, *sigobj;
	char *msg;
	int r;

	r = hsr_check_object(obj, HSR_MODE_PARSE, h, &canon, err);
	if (r < 0)
		return r;
	r = hsr_digest(canon, md);
	if (r < 0) {
		r = hsr_err(err, "out of memory", r);
		goto out;
	}
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
		msg = hsr_signed_bytes(canon);
		if (msg == NULL) {
			r = hsr_err(err, "out of memory", -ENOMEM);
			goto out;
		}
		r = hsr_verify(pkey, sig, msg);
		free(msg);
		if (r == -EPERM)
			r = hsr_err(err, "signature: does not verify", -EPERM);
		else if (r < 0)
			r = hsr_err(err, "out of memory", r);
	}
out:
	json_decref(canon);
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

/* ---- exemptions ------------------------------------------------------------------------- */

static unsigned char
hsr_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* Case-insensitive ranges: the character and both ends compare in lower case. */
static bool
hsr_in_range(unsigned char c, unsigned char lo, unsigned char hi)
{
	c = hsr_lower(c);
	return c >= hsr_lower(lo) && c <= hsr_lower(hi);
}

/*
 * A bracket expression starting just after its "[": 1 when c is in it, 0 when not, with *end
 * after the closing "]"; -1 when it does not close (the "[" is then an ordinary character).
 * A "]" right after "[" or "[!" is a member; "\" quotes the next character.
 */
static int
hsr_bracket(const char *p, unsigned char c, const char **end)
{
	bool neg = false, hit = false, first = true;
	unsigned char lo, hi;

	if (*p == '!' || *p == '^') {
		neg = true;
		p++;
	}
	while (*p != '\0' && (first || *p != ']')) {
		first = false;
		if (*p == '\\' && p[1] != '\0')
			p++;
		lo = hi = (unsigned char)*p++;
		if (*p == '-' && p[1] != ']' && p[1] != '\0') {
			p++;
			if (*p == '\\' && p[1] != '\0')
				p++;
			hi = (unsigned char)*p++;
		}
		if (hsr_in_range(c, lo, hi))
			hit = true;
	}
	if (*p != ']')
		return -1;
	*end = p + 1;
	return hit != neg;
}

/* One single-character pattern element at p (not "*", not the end) against c. */
static bool
hsr_glob_one(const char *p, unsigned char c, const char **next)
{
	int r;

	switch (*p) {
	case '?':
		*next = p + 1;
		return true;
	case '[':
		r = hsr_bracket(p + 1, c, next);
		if (r >= 0)
			return r == 1;
		*next = p + 1;
		return c == '[';
	case '\\':
		/* A backslash quotes the next character; one at the very end matches nothing. */
		*next = p[1] != '\0' ? p + 2 : p + 1;
		return p[1] != '\0' && hsr_lower((unsigned char)p[1]) == hsr_lower(c);
	default:
		break;
	}
	*next = p + 1;
	return hsr_lower((unsigned char)*p) == hsr_lower(c);
}

/*
 * Glob match with one backtrack point: on a mismatch after a "*", the star takes one more
 * character and matching resumes behind it. Elements other than "*" match exactly one
 * character, so this finds a match whenever one exists, in O(|pattern| x |name|) element
 * matches (a bracket expression costs its length).
 */
bool
nap_hsr_name_match(const char *pattern, const char *name)
{
	const char *p = pattern, *s = name, *star_p = NULL, *star_s = NULL, *next;

	if (pattern == NULL || name == NULL)
		return false;
	while (*s != '\0') {
		if (*p == '*') {
			while (*p == '*')
				p++;
			star_p = p;
			star_s = s;
			continue;
		}
		if (*p != '\0' && hsr_glob_one(p, (unsigned char)*s, &next)) {
			p = next;
			s++;
			continue;
		}
		if (star_p == NULL)
			return false;
		p = star_p;
		s = ++star_s;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

static int
hsr_str_cmp(const void *key, const void *elem)
{
	return strcmp(key, *(char *const *)elem);
}

/* Group membership, remembered per call: a group many exemptions name is looked at once. */
struct hsr_group_memo {
	uint8_t done[(NAP_HSR_MAX_GROUPS + 7) / 8];
	uint8_t member[(NAP_HSR_MAX_GROUPS + 7) / 8];
	bool cleared;
};

static bool
hsr_in_group(const struct nap_hsr *hsr, const struct nap_hsr_exemption *e, const char *client,
	     struct hsr_group_memo *memo)
{
	const struct nap_hsr_group *g = e->grp != NULL ? e->grp : hsr_find_group(hsr, e->group);
	size_t idx;
	bool in = false;

	if (g == NULL)
		return false; /* a group the document does not define has no members */
	idx = (size_t)(g - hsr->groups);
	if (idx < NAP_HSR_MAX_GROUPS) {
		if (!memo->cleared) {
			memset(memo->done, 0, sizeof(memo->done));
			memo->cleared = true;
		}
		if (memo->done[idx / 8] & (1u << (idx % 8)))
			return (memo->member[idx / 8] & (1u << (idx % 8))) != 0;
	}
	for (size_t i = 0; i < g->n_members && !in; i++)
		in = nap_hsr_name_match(g->members[i], client);
	if (idx < NAP_HSR_MAX_GROUPS) {
		memo->done[idx / 8] |= (uint8_t)(1u << (idx % 8));
		if (in)
			memo->member[idx / 8] |= (uint8_t)(1u << (idx % 8));
		else
			memo->member[idx / 8] &= (uint8_t)~(1u << (idx % 8));
	}
	return in;
}

static bool
hsr_exemption_applies(const struct nap_hsr *hsr, const struct nap_hsr_exemption *e,
		      const char *client, int64_t now, struct hsr_group_memo *memo)
{
	if (e->from != 0 && now < e->from)
		return false;
	if (e->until != 0 && now >= e->until)
		return false;
	if (e->client != NULL)
		return nap_hsr_name_match(e->client, client);
	return e->group != NULL && hsr_in_group(hsr, e, client, memo);
}

#define HSR_CHUNK 64 /* missing ids tracked per pass, one bit each */

bool
nap_hsr_exempt(const struct nap_hsr *hsr, const char *client,
	       const char (*missing)[NAP_UPDATE_ID_MAX + 1], size_t n_missing, int64_t now,
	       const char **exemption_id)
{
	struct hsr_group_memo memo;
	const char *first = NULL;

	if (exemption_id != NULL)
		*exemption_id = NULL;
	if (hsr == NULL || client == NULL || client[0] == '\0' ||
	    strlen(client) > NAP_HSR_MAX_CLIENT || hsr->n_exemptions == 0)
		return false;
	if (missing == NULL)
		n_missing = 0;
	memo.cleared = false;
	/* Each pass covers up to 64 missing ids; the first pass also finds a full exemption. */
	for (size_t base = 0; base == 0 || base < n_missing; base += HSR_CHUNK) {
		size_t n = n_missing - base < HSR_CHUNK ? n_missing - base : HSR_CHUNK;
		uint64_t want = n == HSR_CHUNK ? UINT64_MAX : ((uint64_t)1 << n) - 1;
		uint64_t covered = 0;

		for (size_t i = 0; i < hsr->n_exemptions && (n == 0 || covered != want); i++) {
			const struct nap_hsr_exemption *e = &hsr->exemptions[i];
			uint64_t before = covered;

			if (!hsr_exemption_applies(hsr, e, client, now, &memo))
				continue;
			if (e->n_policies == 0) {
				if (exemption_id != NULL)
					*exemption_id = e->id;
				return true;
			}
			for (size_t j = 0; j < n; j++) {
				if (!(covered & ((uint64_t)1 << j)) &&
				    bsearch(missing[base + j], e->policies, e->n_policies,
					    sizeof(*e->policies), hsr_str_cmp) != NULL)
					covered |= (uint64_t)1 << j;
			}
			if (covered != before && first == NULL)
				first = e->id;
		}
		if (n == 0 || covered != want)
			return false;
	}
	if (exemption_id != NULL)
		*exemption_id = first;
	return true;
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

/* Check and sign one HSR object; *out gets its signed canonical form (a new object). */
static int
hsr_sign_one(json_t *obj, EVP_PKEY *pkey, const char *key_id, json_t **out, struct nap_err *err)
{
	uint8_t md[NAP_HSR_DIGEST_LEN], sig[HSR_ED25519_SIG_LEN];
	unsigned char b64[HSR_SIG_B64_LEN + 1];
	char hex[2 * NAP_HSR_DIGEST_LEN + 1];
	size_t siglen = sizeof(sig);
	json_t *canon, *sigobj;
	EVP_MD_CTX *ctx;
	char *msg;
	int r;

	*out = NULL;
	r = hsr_check_object(obj, HSR_MODE_SIGN, NULL, &canon, err);
	if (r < 0)
		return r;
	r = hsr_digest(canon, md);
	if (r < 0) {
		r = hsr_err(err, "out of memory", r);
		goto out;
	}
	nap_hex_encode(md, sizeof(md), hex);
	json_object_del(canon, "signature");
	if (json_object_set_new(canon, "digest", json_string(hex)) < 0) {
		r = hsr_err(err, "out of memory", -ENOMEM);
		goto out;
	}
	msg = json_dumps(canon, HSR_DUMP_FLAGS);
	if (msg == NULL) {
		r = hsr_err(err, "out of memory", -ENOMEM);
		goto out;
	}
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL || EVP_DigestSignInit(ctx, NULL, NULL, NULL, pkey) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)msg, strlen(msg)) != 1 ||
	    siglen != sizeof(sig))
		r = hsr_err(err, "signing failed", -EIO);
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	free(msg);
	if (r < 0)
		goto out;
	EVP_EncodeBlock(b64, sig, (int)sizeof(sig));
	sigobj = json_pack("{s:s, s:s, s:s}", "alg", "ed25519", "key_id", key_id, "value",
			   (const char *)b64);
	if (sigobj == NULL || json_object_set_new(canon, "signature", sigobj) < 0) {
		r = hsr_err(err, "out of memory", -ENOMEM);
		goto out;
	}
	*out = canon;
	return 0;
out:
	json_decref(canon);
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
		json_t *signed_obj;

		r = hsr_sign_one(obj, pkey, key_id, &signed_obj, err);
		if (r == 0 && json_is_array(root)) {
			if (json_array_set_new(root, i, signed_obj) < 0)
				r = hsr_err(err, "out of memory", -ENOMEM);
			obj = json_array_get(root, i);
		} else if (r == 0) {
			json_decref(root);
			root = obj = signed_obj;
		}
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
