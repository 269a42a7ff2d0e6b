// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * MS-HCEP codec: decode and check the PKCS#10 request body and its HTTP headers, build the
 * PKCS#7 certs-only response body and the HCEP-SoHR header. Handles untrusted input: the request
 * body and header values come from the network, the response body from napdump's input.
 *
 * OpenSSL parses the DER; everything nap relies on (one extension-request attribute, no
 * duplicate attributes or extensions, the SoH's two OCTET STRING layers, exact consumption of
 * every container) is checked here, because d2i_X509_REQ parses attributes only as opaque sets.
 * Wire reference: spec/PROTOCOLS.md §4.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "nap/hcep.h"
#include "nap/soh.h"
#include "nap/util.h"

#define HCEP_MAX_ATTRS       32 /* PKCS#10 attributes; Windows sends about five */
#define HCEP_MAX_EXTENSIONS  32
#define HCEP_MAX_RSA_BITS    8192 /* verification cost a client can make us pay */

static int
hcep_err(struct nap_err *err, size_t offset, const char *what, int code)
{
	/* OpenSSL's error queue holds nothing a caller could use; keep it from leaking onward. */
	ERR_clear_error();
	return nap_err_set(err, offset, what, code);
}

/* Offset of needle in the input, for error messages and napdump; 0 when not found. */
static size_t
offset_of(const uint8_t *p, size_t len, const uint8_t *needle, size_t n)
{
	const uint8_t *hit;

	if (n == 0 || n > len)
		return 0;
	hit = memmem(p, len, needle, n);
	return hit != NULL ? (size_t)(hit - p) : 0;
}

static bool
obj_is(const ASN1_OBJECT *obj, const char *oid)
{
	char buf[64];
	int n = OBJ_obj2txt(buf, sizeof(buf), obj, 1);

	return n > 0 && (size_t)n < sizeof(buf) && strcmp(buf, oid) == 0;
}

void
nap_hcep_request_free(struct nap_hcep_request *r)
{
	if (r == NULL)
		return;
	X509_REQ_free(r->req);
	free(r->soh);
	free(r);
}

static int
request_key(struct nap_hcep_request *r, EVP_PKEY *pkey, struct nap_err *err)
{
	int id = EVP_PKEY_get_base_id(pkey);

	r->key_bits = EVP_PKEY_get_bits(pkey);
	if (id == EVP_PKEY_RSA) {
		r->key_type = NAP_HCEP_KEY_RSA;
		if (r->key_bits > HCEP_MAX_RSA_BITS)
			return hcep_err(err, 0, "RSA key over 8192 bits", -EMSGSIZE);
		snprintf(r->key_desc, sizeof(r->key_desc), "RSA-%d", r->key_bits);
	} else if (id == EVP_PKEY_EC) {
		static const struct {
			const char *group, *name;
		} curves[] = {
			{"prime256v1", "P-256"}, {"secp384r1", "P-384"}, {"secp521r1", "P-521"},
		};
		const char *name;
		size_t i;

		r->key_type = NAP_HCEP_KEY_EC;
		if (EVP_PKEY_get_group_name(pkey, r->key_curve, sizeof(r->key_curve), NULL) != 1)
			snprintf(r->key_curve, sizeof(r->key_curve), "unknown");
		name = r->key_curve;
		for (i = 0; i < NAP_ARRAY_SIZE(curves); i++)
			if (strcmp(r->key_curve, curves[i].group) == 0)
				name = curves[i].name;
		snprintf(r->key_desc, sizeof(r->key_desc), "EC %s", name);
	} else {
		const char *sn = OBJ_nid2sn(id);

		r->key_type = NAP_HCEP_KEY_OTHER;
		snprintf(r->key_desc, sizeof(r->key_desc), "%s-%d", sn != NULL ? sn : "unknown",
			 r->key_bits);
	}
	return 0;
}

int
nap_hcep_request_subject(struct nap_hcep_request *r, const X509_NAME *name, struct nap_err *err)
{
	BIO *bio;
	char *data;
	long n;

	if (name == NULL || X509_NAME_entry_count(name) == 0) {
		r->subject_empty = true;
		return 0;
	}
	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return hcep_err(err, 0, "out of memory", -ENOMEM);
	/* RFC 2253 with its escaping of control and non-ASCII bytes: printable, safe to log. */
	if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) < 0) {
		BIO_free(bio);
		return hcep_err(err, 0, "subject unprintable", -EBADMSG);
	}
	n = BIO_get_mem_data(bio, &data);
	if (n < 0 || (size_t)n >= sizeof(r->subject)) {
		BIO_free(bio);
		return hcep_err(err, 0, "subject too long", -EMSGSIZE);
	}
	memcpy(r->subject, data, (size_t)n);
	r->subject[n] = '\0';
	BIO_free(bio);
	return 0;
}

static int
request_san(struct nap_hcep_request *r, X509_EXTENSION *ext, struct nap_err *err)
{
	GENERAL_NAMES *names = X509V3_EXT_d2i(ext);
	int count;

	if (names == NULL)
		return hcep_err(err, 0, "malformed subjectAltName", -EBADMSG);
	count = sk_GENERAL_NAME_num(names);
	if (count < 0 || (size_t)count > NAP_HCEP_MAX_SAN) {
		GENERAL_NAMES_free(names);
		return hcep_err(err, 0, "too many subjectAltName entries", -EMSGSIZE);
	}
	for (int i = 0; i < count; i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
		char *out = r->san[r->n_san++];

		if (gn->type == GEN_DNS) {
			const ASN1_IA5STRING *s = gn->d.dNSName;
			int n = ASN1_STRING_length(s);
			const unsigned char *d = ASN1_STRING_get0_data(s);

			if (n <= 0 || (size_t)n + 5 > NAP_HCEP_MAX_NAME) {
				GENERAL_NAMES_free(names);
				return hcep_err(err, 0, "bad subjectAltName DNS name length",
						-EBADMSG);
			}
			for (int k = 0; k < n; k++)
				if (d[k] <= 0x20 || d[k] >= 0x7f) {
					GENERAL_NAMES_free(names);
					return hcep_err(err, 0,
							"subjectAltName DNS name not printable ASCII",
							-EBADMSG);
				}
			snprintf(out, NAP_HCEP_MAX_NAME, "DNS:%.*s", n, (const char *)d);
			r->n_san_dns++;
		} else {
			static const char *const kinds[] = {
				[GEN_OTHERNAME] = "othername", [GEN_EMAIL] = "email",
				[GEN_X400] = "x400", [GEN_DIRNAME] = "dirname",
				[GEN_EDIPARTY] = "ediparty", [GEN_URI] = "uri",
				[GEN_IPADD] = "ip", [GEN_RID] = "rid",
			};
			const char *k = gn->type >= 0 && (size_t)gn->type < NAP_ARRAY_SIZE(kinds)
						? kinds[gn->type]
						: NULL;

			snprintf(out, NAP_HCEP_MAX_NAME, "%s", k != NULL ? k : "unknown");
		}
	}
	GENERAL_NAMES_free(names);
	return 0;
}

static int
request_eku(struct nap_hcep_request *r, X509_EXTENSION *ext, struct nap_err *err)
{
	EXTENDED_KEY_USAGE *eku = X509V3_EXT_d2i(ext);
	int n;

	if (eku == NULL)
		return hcep_err(err, 0, "malformed extendedKeyUsage", -EBADMSG);
	n = sk_ASN1_OBJECT_num(eku);
	for (int i = 0; i < n; i++) {
		const ASN1_OBJECT *o = sk_ASN1_OBJECT_value(eku, i);

		if (OBJ_obj2nid(o) == NID_client_auth)
			r->eku_client_auth = true;
		else if (obj_is(o, NAP_HCEP_OID_SOH))
			r->eku_health = true;
	}
	EXTENDED_KEY_USAGE_free(eku);
	return 0;
}

/* extnValue holds `SoHExtension ::= OCTET STRING` (HCEP 2.2.3.7): unwrap exactly one layer. */
static int
request_soh(struct nap_hcep_request *r, X509_EXTENSION *ext, const uint8_t *p, size_t len,
	    struct nap_err *err)
{
	const ASN1_OCTET_STRING *value = X509_EXTENSION_get_data(ext);
	const unsigned char *d = ASN1_STRING_get0_data(value);
	const unsigned char *q = d;
	long n = ASN1_STRING_length(value);
	size_t at = offset_of(p, len, d, (size_t)n);
	ASN1_OCTET_STRING *inner;
	int inner_len;

	/* Primitive OCTET STRING tag only: DER forbids the constructed (BER) form. */
	if (n < 2 || d[0] != V_ASN1_OCTET_STRING)
		return hcep_err(err, at, "SoH extension value is not an OCTET STRING", -EBADMSG);
	if ((inner = d2i_ASN1_OCTET_STRING(NULL, &q, n)) == NULL)
		return hcep_err(err, at, "malformed SoH OCTET STRING", -EBADMSG);
	if (q != d + n) {
		ASN1_OCTET_STRING_free(inner);
		return hcep_err(err, at, "trailing bytes after the SoH OCTET STRING", -EBADMSG);
	}
	inner_len = ASN1_STRING_length(inner);
	if (inner_len <= 0) {
		ASN1_OCTET_STRING_free(inner);
		return hcep_err(err, at, "empty SoH", -EBADMSG);
	}
	if (inner_len > NAP_SOH_MAX_LEN) {
		ASN1_OCTET_STRING_free(inner);
		return hcep_err(err, at, "SoH over 4000 bytes", -EMSGSIZE);
	}
	if ((r->soh = malloc((size_t)inner_len)) == NULL) {
		ASN1_OCTET_STRING_free(inner);
		return hcep_err(err, 0, "out of memory", -ENOMEM);
	}
	memcpy(r->soh, ASN1_STRING_get0_data(inner), (size_t)inner_len);
	r->soh_len = (size_t)inner_len;
	r->soh_offset = offset_of(p, len, r->soh, r->soh_len);
	ASN1_OCTET_STRING_free(inner);
	return 0;
}

static int
request_extensions(struct nap_hcep_request *r, X509_ATTRIBUTE *attr, const uint8_t *p, size_t len,
		   struct nap_err *err)
{
	const ASN1_TYPE *t;
	const unsigned char *d, *q;
	STACK_OF(X509_EXTENSION) *exts;
	long n;
	int count, rc = 0;

	if (X509_ATTRIBUTE_count(attr) != 1)
		return hcep_err(err, 0, "extension-request attribute must hold one value", -EBADMSG);
	t = X509_ATTRIBUTE_get0_type(attr, 0);
	if (t == NULL || t->type != V_ASN1_SEQUENCE || t->value.sequence == NULL)
		return hcep_err(err, 0, "extension-request value is not a SEQUENCE", -EBADMSG);
	d = q = ASN1_STRING_get0_data(t->value.sequence);
	n = ASN1_STRING_length(t->value.sequence);
	if ((exts = d2i_X509_EXTENSIONS(NULL, &q, n)) == NULL)
		return hcep_err(err, offset_of(p, len, d, (size_t)n), "malformed extensions",
				-EBADMSG);
	if (q != d + n) {
		rc = hcep_err(err, offset_of(p, len, d, (size_t)n),
			      "trailing bytes after the extensions", -EBADMSG);
		goto out;
	}
	r->has_extensions = true;
	count = sk_X509_EXTENSION_num(exts);
	if (count > HCEP_MAX_EXTENSIONS) {
		rc = hcep_err(err, 0, "too many extensions", -EMSGSIZE);
		goto out;
	}
	for (int i = 0; i < count; i++) {
		X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, i);
		const ASN1_OBJECT *obj = X509_EXTENSION_get_object(ext);

		/* RFC 5280 §4.2: an extension appears at most once. */
		for (int k = 0; k < i; k++)
			if (OBJ_cmp(obj, X509_EXTENSION_get_object(sk_X509_EXTENSION_value(exts,
											k))) == 0) {
				rc = hcep_err(err, 0, "duplicate extension", -EBADMSG);
				goto out;
			}
		if (obj_is(obj, NAP_HCEP_OID_SOH)) {
			rc = request_soh(r, ext, p, len, err);
		} else if (OBJ_obj2nid(obj) == NID_subject_alt_name) {
			rc = request_san(r, ext, err);
		} else if (OBJ_obj2nid(obj) == NID_ext_key_usage) {
			rc = request_eku(r, ext, err);
		}
		if (rc < 0)
			goto out;
	}
out:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

int
nap_hcep_request_attributes(struct nap_hcep_request *r, X509_ATTRIBUTE *const *attrs, int count,
			    const uint8_t *p, size_t len, struct nap_err *err)
{
	X509_ATTRIBUTE *ext_attr = NULL;

	if (count > HCEP_MAX_ATTRS)
		return hcep_err(err, 0, "too many attributes", -EMSGSIZE);
	for (int i = 0; i < count; i++) {
		X509_ATTRIBUTE *attr = attrs[i];
		const ASN1_OBJECT *obj = X509_ATTRIBUTE_get0_object(attr);
		int nid = OBJ_obj2nid(obj);

		for (int k = 0; k < i; k++)
			if (OBJ_cmp(obj, X509_ATTRIBUTE_get0_object(attrs[k])) == 0)
				return hcep_err(err, 0, "duplicate attribute", -EBADMSG);
		if (nid == NID_ext_req || nid == NID_ms_ext_req) {
			/* Both forms at once would leave it open which list the HRA honours. */
			if (ext_attr != NULL)
				return hcep_err(err, 0, "two extension-request attributes",
						-EBADMSG);
			ext_attr = attr;
		} else if (obj_is(obj, NAP_HCEP_OID_SOH)) {
			/* §4: the SoH is an extension carried in the extension-request attribute. */
			return hcep_err(err, 0,
					"SoH given as a bare attribute, not as an extension",
					-EBADMSG);
		} else if (obj_is(obj, NAP_HCEP_OID_CSP_NAME)) {
			r->has_csp_name = true;
		}
	}
	if (ext_attr != NULL)
		return request_extensions(r, ext_attr, p, len, err);
	return 0;
}

int
nap_hcep_request_decode(const uint8_t *p, size_t len, struct nap_hcep_request **out,
			struct nap_err *err)
{
	struct nap_hcep_request *r;
	const unsigned char *q = p;
	EVP_PKEY *pkey;
	int rc;

	*out = NULL;
	if (len > NAP_HCEP_MAX_BODY)
		return hcep_err(err, NAP_HCEP_MAX_BODY, "request over 16384 bytes", -EMSGSIZE);
	if (len < 2 || p[0] != (V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED))
		return hcep_err(err, 0, "not a DER PKCS#10 request", -EBADMSG);
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return hcep_err(err, 0, "out of memory", -ENOMEM);
	if ((r->req = d2i_X509_REQ(NULL, &q, (long)len)) == NULL) {
		rc = hcep_err(err, 0, "malformed PKCS#10 request", -EBADMSG);
		goto fail;
	}
	if (q != p + len) {
		rc = hcep_err(err, (size_t)(q - p), "trailing bytes after the request", -EBADMSG);
		goto fail;
	}
	if (X509_REQ_get_version(r->req) != X509_REQ_VERSION_1) {
		rc = hcep_err(err, 0, "PKCS#10 version is not 1 (0)", -EBADMSG);
		goto fail;
	}
	if ((pkey = X509_REQ_get0_pubkey(r->req)) == NULL) {
		rc = hcep_err(err, 0, "public key unreadable", -EBADMSG);
		goto fail;
	}
	if ((rc = request_key(r, pkey, err)) < 0)
		goto fail;
	if ((rc = nap_hcep_request_subject(r, X509_REQ_get_subject_name(r->req), err)) < 0)
		goto fail;
	{
		int count = X509_REQ_get_attr_count(r->req);
		X509_ATTRIBUTE *attrs[HCEP_MAX_ATTRS];

		if (count > HCEP_MAX_ATTRS) {
			rc = hcep_err(err, 0, "too many attributes", -EMSGSIZE);
			goto fail;
		}
		for (int i = 0; i < count; i++)
			attrs[i] = X509_REQ_get_attr(r->req, i);
		if ((rc = nap_hcep_request_attributes(r, attrs, count, p, len, err)) < 0)
			goto fail;
	}
	r->signature_ok = X509_REQ_verify(r->req, pkey) == 1;
	ERR_clear_error();
	*out = r;
	return 0;
fail:
	nap_hcep_request_free(r);
	return rc;
}

int
nap_hcep_request_check(const struct nap_hcep_request *r, bool authenticated,
		       const char *auth_fqdn, struct nap_err *err)
{
	/* HCEP 3.2.5.1: the HRA answers 500 for a missing mandatory field or a failed SAN check. */
	const int status = NAP_HCEP_HTTP_SERVER_ERROR;

	if (!r->signature_ok)
		return nap_err_set(err, 0, "request signature does not verify", status);
	if (r->soh == NULL)
		return nap_err_set(err, 0, "no SoH extension (1.3.6.1.4.1.311.47.1.1)", status);
	if (!r->eku_health)
		return nap_err_set(err, 0, "extendedKeyUsage lacks System Health Authentication",
				   status);
	if (!authenticated) {
		if (r->n_san != 0)
			return nap_err_set(err, 0,
					   "subjectAltName present for an unauthenticated client",
					   status);
		return 0;
	}
	if (!r->eku_client_auth)
		return nap_err_set(err, 0, "extendedKeyUsage lacks clientAuth", status);
	if (r->n_san_dns != r->n_san)
		return nap_err_set(err, 0, "subjectAltName holds a name that is not DNS", status);
	if (auth_fqdn != NULL)
		for (size_t i = 0; i < r->n_san; i++)
			if (strcasecmp(r->san[i] + 4, auth_fqdn) != 0)
				return nap_err_set(err, 0,
						   "subjectAltName differs from the authenticated name",
						   status);
	return 0;
}

static int
b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long
nap_hcep_base64_decode(const char *s, size_t s_len, uint8_t *out, size_t out_cap)
{
	size_t n = 0;

	if (s_len % 4 != 0)
		return -EBADMSG;
	for (size_t i = 0; i < s_len; i += 4) {
		int v[4];
		size_t pad = 0;
		uint32_t w = 0;

		for (size_t k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)s[i + k];

			if (c == '=' && i + 4 == s_len && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad != 0 || (v[k] = b64val(c)) < 0)
				return -EBADMSG;
		}
		w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
		    (uint32_t)v[3];
		/* Canonical form: the bits the padding drops must be zero. */
		if ((pad == 1 && (w & 0xff) != 0) || (pad == 2 && (w & 0xffff) != 0))
			return -EBADMSG;
		if (out_cap - n < 3 - pad)
			return -EBADMSG;
		out[n++] = (uint8_t)(w >> 16);
		if (pad < 2)
			out[n++] = (uint8_t)(w >> 8);
		if (pad < 1)
			out[n++] = (uint8_t)w;
	}
	return (long)n;
}

static bool
media_type_is(const char *value, const char *want)
{
	size_t n = strlen(want);

	while (*value == ' ' || *value == '\t')
		value++;
	if (strncasecmp(value, want, n) != 0)
		return false;
	value += n;
	while (*value == ' ' || *value == '\t')
		value++;
	/* Parameters (";charset=...") are allowed and ignored; anything else is another type. */
	return *value == '\0' || *value == ';';
}

int
nap_hcep_http_check(const struct nap_hcep_http_request *h, uint8_t correlation_id[24],
		    struct nap_err *err)
{
	const int status = NAP_HCEP_HTTP_SERVER_ERROR; /* HCEP 3.2.5.1 */
	uint8_t id[NAP_CORRELATION_ID_LEN + 3];
	long n;

	if (h->method == NULL || strcmp(h->method, "POST") != 0)
		return nap_err_set(err, 0, "method is not POST", NAP_HCEP_HTTP_BAD_METHOD);
	if (!h->has_content_length)
		return nap_err_set(err, 0, "no Content-Length", NAP_HCEP_HTTP_LENGTH_REQUIRED);
	if (h->content_length > NAP_HCEP_MAX_BODY)
		return nap_err_set(err, 0, "body over 16384 bytes", NAP_HCEP_HTTP_TOO_LARGE);
	if (h->content_length == 0)
		return nap_err_set(err, 0, "empty body", status);
	if (h->content_type == NULL)
		return nap_err_set(err, 0, "no Content-Type", status);
	if (!media_type_is(h->content_type, NAP_HCEP_CONTENT_TYPE_REQUEST))
		return nap_err_set(err, 0, "Content-Type is not application/healthcertificate-request",
				   status);
	if (h->hcep_version == NULL)
		return nap_err_set(err, 0, "no HCEP-Version", status);
	if (strcmp(h->hcep_version, NAP_HCEP_VERSION) != 0)
		return nap_err_set(err, 0, "HCEP-Version is not 1.0", status);
	if (h->correlation_id == NULL)
		return nap_err_set(err, 0, "no HCEP-Correlation-Id", status);
	n = nap_hcep_base64_decode(h->correlation_id, strlen(h->correlation_id), id, sizeof(id));
	if (n != NAP_CORRELATION_ID_LEN)
		return nap_err_set(err, 0, "HCEP-Correlation-Id is not base64 of 24 bytes", status);
	if (correlation_id != NULL)
		memcpy(correlation_id, id, NAP_CORRELATION_ID_LEN);
	return 0;
}

int
nap_hcep_sohr_header(const uint8_t *sohr, size_t len, char **out)
{
	char *s;

	*out = NULL;
	if (len > NAP_SOH_MAX_LEN)
		return -EMSGSIZE;
	if ((s = malloc((len + 2) / 3 * 4 + 1)) == NULL)
		return -ENOMEM;
	EVP_EncodeBlock((unsigned char *)s, sohr, (int)len);
	*out = s;
	return 0;
}

int
nap_hcep_chain_encode(X509 *const *certs, size_t n, uint8_t **out, size_t *out_len)
{
	PKCS7 *p7;
	unsigned char *der = NULL;
	int len;

	*out = NULL;
	*out_len = 0;
	if (n == 0 || n > NAP_HCEP_MAX_CHAIN)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (certs[i] == NULL)
			return -EINVAL;
	/* Degenerate SignedData, as `openssl crl2pkcs7 -nocrl` writes it: version 1, no digest
	 * algorithms, content type data with no content, the certificates, no signers. */
	if ((p7 = PKCS7_new()) == NULL || PKCS7_set_type(p7, NID_pkcs7_signed) != 1)
		goto nomem;
	p7->d.sign->contents->type = OBJ_nid2obj(NID_pkcs7_data);
	for (size_t i = 0; i < n; i++)
		if (PKCS7_add_certificate(p7, certs[i]) != 1)
			goto nomem;
	if ((len = i2d_PKCS7(p7, &der)) <= 0)
		goto nomem;
	PKCS7_free(p7);
	*out = malloc((size_t)len);
	if (*out == NULL) {
		OPENSSL_free(der);
		return -ENOMEM;
	}
	memcpy(*out, der, (size_t)len);
	*out_len = (size_t)len;
	OPENSSL_free(der);
	return 0;
nomem:
	PKCS7_free(p7);
	ERR_clear_error();
	return -ENOMEM;
}

int
nap_hcep_chain_decode(const uint8_t *p, size_t len, STACK_OF(X509) **out, struct nap_err *err)
{
	const unsigned char *q = p;
	STACK_OF(X509) *certs;
	PKCS7 *p7;
	int n, rc = 0;

	*out = NULL;
	if (len > NAP_HCEP_MAX_RESPONSE)
		return hcep_err(err, NAP_HCEP_MAX_RESPONSE, "response over 65536 bytes", -EMSGSIZE);
	if (len < 2 || p[0] != (V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED))
		return hcep_err(err, 0, "not a DER PKCS#7", -EBADMSG);
	if ((p7 = d2i_PKCS7(NULL, &q, (long)len)) == NULL)
		return hcep_err(err, 0, "malformed PKCS#7", -EBADMSG);
	if (q != p + len) {
		rc = hcep_err(err, (size_t)(q - p), "trailing bytes after the PKCS#7", -EBADMSG);
		goto out;
	}
	if (!PKCS7_type_is_signed(p7) || p7->d.sign == NULL) {
		rc = hcep_err(err, 0, "PKCS#7 is not SignedData", -EBADMSG);
		goto out;
	}
	n = sk_X509_num(p7->d.sign->cert);
	if (n <= 0) {
		rc = hcep_err(err, 0, "PKCS#7 holds no certificates", -EBADMSG);
		goto out;
	}
	if (n > NAP_HCEP_MAX_CHAIN) {
		rc = hcep_err(err, 0, "PKCS#7 holds more than 8 certificates", -EMSGSIZE);
		goto out;
	}
	if ((certs = sk_X509_new_null()) == NULL) {
		rc = hcep_err(err, 0, "out of memory", -ENOMEM);
		goto out;
	}
	for (int i = 0; i < n; i++) {
		X509 *x = sk_X509_value(p7->d.sign->cert, i);

		if (X509_up_ref(x) != 1)
			x = NULL;
		if (x == NULL || sk_X509_push(certs, x) <= 0) {
			X509_free(x);
			sk_X509_pop_free(certs, X509_free);
			rc = hcep_err(err, 0, "out of memory", -ENOMEM);
			goto out;
		}
	}
	*out = certs;
out:
	PKCS7_free(p7);
	return rc;
}
