// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * HCEP codec tests. Requests are built here with OpenSSL the way an HCEP client builds them
 * (spec/PROTOCOLS.md §4): EKU, SAN, and the SoH as extension 1.3.6.1.4.1.311.47.1.1 whose value
 * is a DER OCTET STRING holding the SoH, all in the extension-request attribute. RSA-2048 and EC
 * P-256 keys; with and without the SoH; bad signatures; every truncation point; malformed and
 * duplicate attributes; the HTTP header checks; the PKCS#7 chain round trip.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "nap/hcep.h"
#include "nap/sample.h"
#include "nap/soh.h"

static EVP_PKEY *rsa_key, *ec_key;
static uint8_t *sample_soh;
static size_t sample_soh_len;

static int
setup(void **state)
{
	struct nap_sample_spec s = {0};

	(void)state;
	rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	ec_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	s.machine_name = "pc17.example.org";
	s.compliant = true;
	s.generation_time = 1764000060;
	s.eval_time = 1764000000;
	if (rsa_key == NULL || ec_key == NULL ||
	    nap_sample_soh_build(&s, &sample_soh, &sample_soh_len) != 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(rsa_key);
	EVP_PKEY_free(ec_key);
	free(sample_soh);
	return 0;
}

struct csr_spec {
	EVP_PKEY *key;
	const char *cn;           /* NULL = empty subject */
	bool soh;                 /* add the SoH extension */
	bool soh_unwrapped;       /* extnValue is the SoH itself, without the inner OCTET STRING */
	bool soh_bare_attr;       /* the SoH as its own attribute instead of an extension */
	bool eku_health, eku_client_auth;
	const char *san;          /* "DNS:host" etc., NULL = none */
	bool dup_ext;             /* the SoH extension twice */
	bool dup_attr;            /* a second extension-request attribute */
	bool ms_ext_req;          /* use szOID_CERT_EXTENSIONS instead of PKCS#9 */
};

static X509_EXTENSION *
soh_extension(bool unwrapped)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(NAP_HCEP_OID_SOH, 1);
	ASN1_OCTET_STRING *inner = ASN1_OCTET_STRING_new(), *value = ASN1_OCTET_STRING_new();
	unsigned char *der = NULL;
	int n;
	X509_EXTENSION *ext;

	assert_non_null(obj);
	assert_int_equal(ASN1_OCTET_STRING_set(inner, sample_soh, (int)sample_soh_len), 1);
	if (unwrapped) {
		assert_int_equal(ASN1_OCTET_STRING_set(value, sample_soh, (int)sample_soh_len), 1);
	} else {
		n = i2d_ASN1_OCTET_STRING(inner, &der);
		assert_true(n > 0);
		assert_int_equal(ASN1_OCTET_STRING_set(value, der, n), 1);
		OPENSSL_free(der);
	}
	ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, value);
	assert_non_null(ext);
	ASN1_OBJECT_free(obj);
	ASN1_OCTET_STRING_free(inner);
	ASN1_OCTET_STRING_free(value);
	return ext;
}

static uint8_t *
csr_build(const struct csr_spec *c, size_t *len)
{
	X509_REQ *req = X509_REQ_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	unsigned char *der = NULL;
	uint8_t *out;
	int n;

	assert_non_null(req);
	assert_int_equal(X509_REQ_set_version(req, X509_REQ_VERSION_1), 1);
	if (c->cn != NULL)
		assert_int_equal(X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN",
							    MBSTRING_ASC,
							    (const unsigned char *)c->cn, -1, -1,
							    0),
				 1);
	assert_int_equal(X509_REQ_set_pubkey(req, c->key), 1);
	if (c->eku_health || c->eku_client_auth) {
		char v[96] = "";

		if (c->eku_health)
			strcat(v, NAP_HCEP_OID_SOH);
		if (c->eku_client_auth)
			strcat(v, c->eku_health ? ",clientAuth" : "clientAuth");
		sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(NULL, NULL, NID_ext_key_usage, v));
	}
	if (c->san != NULL)
		sk_X509_EXTENSION_push(exts,
				       X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, c->san));
	if (c->soh)
		sk_X509_EXTENSION_push(exts, soh_extension(c->soh_unwrapped));
	if (c->dup_ext)
		sk_X509_EXTENSION_push(exts, soh_extension(false));
	if (sk_X509_EXTENSION_num(exts) > 0) {
		assert_int_equal(X509_REQ_add_extensions_nid(req, exts,
							     c->ms_ext_req ? NID_ms_ext_req
									   : NID_ext_req),
				 1);
		if (c->dup_attr)
			assert_int_equal(X509_REQ_add_extensions_nid(req, exts, NID_ms_ext_req), 1);
	}
	if (c->soh_bare_attr) {
		ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
		ASN1_OBJECT *obj = OBJ_txt2obj(NAP_HCEP_OID_SOH, 1);

		ASN1_OCTET_STRING_set(os, sample_soh, (int)sample_soh_len);
		assert_int_equal(X509_REQ_add1_attr_by_OBJ(req, obj,
							   V_ASN1_OCTET_STRING,
							   ASN1_STRING_get0_data(os),
							   ASN1_STRING_length(os)),
				 1);
		ASN1_OBJECT_free(obj);
		ASN1_OCTET_STRING_free(os);
	}
	assert_true(X509_REQ_sign(req, c->key, EVP_sha256()) > 0);
	n = i2d_X509_REQ(req, &der);
	assert_true(n > 0);
	out = malloc((size_t)n);
	assert_non_null(out);
	memcpy(out, der, (size_t)n);
	*len = (size_t)n;
	OPENSSL_free(der);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	return out;
}

static struct nap_hcep_request *
decode_ok(const uint8_t *p, size_t n)
{
	struct nap_hcep_request *r = NULL;
	struct nap_err err = {0};
	int rc = nap_hcep_request_decode(p, n, &r, &err);

	if (rc != 0)
		fail_msg("decode: %d %s at %zu", rc, err.what, err.offset);
	return r;
}

static void
decode_fails(const uint8_t *p, size_t n, int want, const char *what)
{
	struct nap_hcep_request *r = NULL;
	struct nap_err err = {0};
	int rc = nap_hcep_request_decode(p, n, &r, &err);

	assert_null(r);
	assert_int_equal(rc, want);
	assert_non_null(err.what);
	if (what != NULL && strstr(err.what, what) == NULL)
		fail_msg("error '%s', want '%s'", err.what, what);
}

static void
test_ec_with_soh(void **state)
{
	struct csr_spec c = {.key = ec_key, .cn = NAP_HCEP_ANONYMOUS_SUBJECT, .soh = true,
			     .eku_health = true};
	struct nap_hcep_request *r;
	struct nap_soh *soh = malloc(sizeof(*soh));
	struct nap_err err = {0};
	size_t n;
	uint8_t *der = csr_build(&c, &n);

	(void)state;
	r = decode_ok(der, n);
	assert_true(r->signature_ok);
	assert_int_equal(r->key_type, NAP_HCEP_KEY_EC);
	assert_int_equal(r->key_bits, 256);
	assert_string_equal(r->key_desc, "EC P-256");
	assert_string_equal(r->subject, "CN=Anonymous System Health Authentication");
	assert_false(r->subject_empty);
	assert_true(r->eku_health);
	assert_false(r->eku_client_auth);
	assert_int_equal(r->n_san, 0);
	assert_int_equal(r->soh_len, sample_soh_len);
	assert_memory_equal(r->soh, sample_soh, sample_soh_len);
	assert_memory_equal(der + r->soh_offset, sample_soh, sample_soh_len);
	/* The bytes go straight to the SoH decoder. */
	assert_int_equal(nap_soh_decode(r->soh, r->soh_len, soh, &err), 0);
	assert_true(nap_soh_is_request(soh));
	assert_int_equal(nap_hcep_request_check(r, false, NULL, &err), 0);
	/* Authenticated clients also need clientAuth. */
	assert_int_equal(nap_hcep_request_check(r, true, NULL, &err), 500);
	nap_hcep_request_free(r);
	free(soh);
	free(der);
}

static void
test_rsa_authenticated(void **state)
{
	struct csr_spec c = {.key = rsa_key, .soh = true, .eku_health = true,
			     .eku_client_auth = true, .san = "DNS:pc17.example.org"};
	struct nap_hcep_request *r;
	struct nap_err err = {0};
	size_t n;
	uint8_t *der = csr_build(&c, &n);

	(void)state;
	r = decode_ok(der, n);
	assert_true(r->signature_ok);
	assert_int_equal(r->key_type, NAP_HCEP_KEY_RSA);
	assert_string_equal(r->key_desc, "RSA-2048");
	assert_true(r->subject_empty);
	assert_string_equal(r->subject, "");
	assert_int_equal(r->n_san, 1);
	assert_string_equal(r->san[0], "DNS:pc17.example.org");
	assert_true(r->eku_client_auth);
	assert_int_equal(nap_hcep_request_check(r, true, NULL, &err), 0);
	assert_int_equal(nap_hcep_request_check(r, true, "PC17.example.org", &err), 0);
	assert_int_equal(nap_hcep_request_check(r, true, "pc18.example.org", &err), 500);
	assert_non_null(strstr(err.what, "differs"));
	/* HCEP 3.2.5.1: a SAN from an unauthenticated client fails the SAN check. */
	assert_int_equal(nap_hcep_request_check(r, false, NULL, &err), 500);
	assert_non_null(strstr(err.what, "subjectAltName"));
	nap_hcep_request_free(r);
	free(der);
}

static void
test_san_not_dns(void **state)
{
	struct csr_spec c = {.key = ec_key, .soh = true, .eku_health = true,
			     .eku_client_auth = true, .san = "IP:192.0.2.1"};
	struct nap_hcep_request *r;
	struct nap_err err = {0};
	size_t n;
	uint8_t *der = csr_build(&c, &n);

	(void)state;
	r = decode_ok(der, n);
	assert_string_equal(r->san[0], "ip");
	assert_int_equal(nap_hcep_request_check(r, true, NULL, &err), 500);
	nap_hcep_request_free(r);
	free(der);
}

static void
test_without_soh(void **state)
{
	struct csr_spec c = {.key = ec_key, .cn = NAP_HCEP_ANONYMOUS_SUBJECT, .eku_health = true};
	struct csr_spec bare = {.key = rsa_key};
	struct nap_hcep_request *r;
	struct nap_err err = {0};
	size_t n;
	uint8_t *der = csr_build(&c, &n);

	(void)state;
	r = decode_ok(der, n);
	assert_true(r->signature_ok);
	assert_null(r->soh);
	assert_int_equal(nap_hcep_request_check(r, false, NULL, &err), 500);
	assert_non_null(strstr(err.what, "no SoH"));
	nap_hcep_request_free(r);
	free(der);

	/* No extensions at all: decodes, lacks both the SoH and the EKU. */
	der = csr_build(&bare, &n);
	r = decode_ok(der, n);
	assert_false(r->has_extensions);
	assert_int_equal(nap_hcep_request_check(r, false, NULL, &err), 500);
	nap_hcep_request_free(r);
	free(der);
}

static void
test_no_eku(void **state)
{
	struct csr_spec c = {.key = ec_key, .soh = true};
	struct nap_hcep_request *r;
	struct nap_err err = {0};
	size_t n;
	uint8_t *der = csr_build(&c, &n);

	(void)state;
	r = decode_ok(der, n);
	assert_int_equal(nap_hcep_request_check(r, false, NULL, &err), 500);
	assert_non_null(strstr(err.what, "extendedKeyUsage"));
	nap_hcep_request_free(r);
	free(der);
}

static void
test_bad_signature(void **state)
{
	EVP_PKEY *keys[] = {rsa_key, ec_key};

	(void)state;
	for (size_t k = 0; k < 2; k++) {
		struct csr_spec c = {.key = keys[k], .soh = true, .eku_health = true};
		struct nap_hcep_request *r;
		struct nap_err err = {0};
		size_t n;
		uint8_t *der = csr_build(&c, &n);

		/* A byte of the signed part (the SoH's last byte), then the signature itself. */
		der[n - 1] ^= 0x01;
		r = decode_ok(der, n);
		assert_false(r->signature_ok);
		assert_int_equal(nap_hcep_request_check(r, false, NULL, &err), 500);
		assert_non_null(strstr(err.what, "signature"));
		nap_hcep_request_free(r);
		der[n - 1] ^= 0x01;

		for (size_t i = 0; i + 1 < n; i++)
			if (memcmp(der + i, sample_soh + sample_soh_len - 2, 2) == 0) {
				der[i + 1] ^= 0x80;
				break;
			}
		r = decode_ok(der, n);
		assert_false(r->signature_ok);
		nap_hcep_request_free(r);
		free(der);
	}
}

static void
test_soh_encodings(void **state)
{
	struct csr_spec unwrapped = {.key = ec_key, .soh = true, .soh_unwrapped = true,
				     .eku_health = true};
	struct csr_spec bare = {.key = ec_key, .soh_bare_attr = true, .eku_health = true};
	struct csr_spec dup_ext = {.key = ec_key, .soh = true, .dup_ext = true};
	struct csr_spec dup_attr = {.key = ec_key, .soh = true, .dup_attr = true};
	struct csr_spec ms = {.key = ec_key, .soh = true, .eku_health = true, .ms_ext_req = true};
	struct nap_hcep_request *r;
	size_t n;
	uint8_t *der;

	(void)state;
	/* The SoH directly in extnValue, without SoHExtension's OCTET STRING. */
	der = csr_build(&unwrapped, &n);
	decode_fails(der, n, -EBADMSG, "OCTET STRING");
	free(der);
	der = csr_build(&bare, &n);
	decode_fails(der, n, -EBADMSG, "bare attribute");
	free(der);
	der = csr_build(&dup_ext, &n);
	decode_fails(der, n, -EBADMSG, "duplicate extension");
	free(der);
	der = csr_build(&dup_attr, &n);
	decode_fails(der, n, -EBADMSG, "two extension-request");
	free(der);
	/* szOID_CERT_EXTENSIONS (HCEP 3.2.5.4) carries extensions just as well. */
	der = csr_build(&ms, &n);
	r = decode_ok(der, n);
	assert_non_null(r->soh);
	nap_hcep_request_free(r);
	free(der);
}

static void
test_truncations_and_garbage(void **state)
{
	struct csr_spec c = {.key = ec_key, .soh = true, .eku_health = true};
	size_t n;
	uint8_t *der = csr_build(&c, &n);
	uint8_t *big;

	(void)state;
	for (size_t i = 0; i < n; i++) {
		uint8_t *cut = malloc(i + 1); /* exact-size copy so ASan sees any over-read */

		memcpy(cut, der, i);
		decode_fails(cut, i, -EBADMSG, NULL);
		free(cut);
	}
	big = malloc(n + 1);
	memcpy(big, der, n);
	big[n] = 0;
	decode_fails(big, n + 1, -EBADMSG, "trailing");
	free(big);
	big = calloc(1, NAP_HCEP_MAX_BODY + 1);
	big[0] = 0x30;
	decode_fails(big, NAP_HCEP_MAX_BODY + 1, -EMSGSIZE, NULL);
	free(big);
	decode_fails((const uint8_t *)"hello", 5, -EBADMSG, NULL);
	free(der);
}

static void
test_http_check(void **state)
{
	static const char id_b64[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYX"; /* 0x00..0x17 */
	struct nap_hcep_http_request ok = {
		.method = "POST",
		.content_type = "application/healthcertificate-request",
		.hcep_version = "1.0",
		.correlation_id = id_b64,
		.has_content_length = true,
		.content_length = 900,
	};
	struct nap_hcep_http_request h;
	struct nap_err err = {0};
	uint8_t id[24];

	(void)state;
	assert_int_equal(nap_hcep_http_check(&ok, id, &err), 0);
	for (int i = 0; i < 24; i++)
		assert_int_equal(id[i], i);
	h = ok;
	h.content_type = " Application/HealthCertificate-Request ; charset=binary";
	assert_int_equal(nap_hcep_http_check(&h, NULL, &err), 0);
	h = ok;
	h.method = "GET";
	assert_int_equal(nap_hcep_http_check(&h, id, &err), 405);
	h = ok;
	h.has_content_length = false;
	assert_int_equal(nap_hcep_http_check(&h, id, &err), 411);
	h = ok;
	h.content_length = NAP_HCEP_MAX_BODY + 1;
	assert_int_equal(nap_hcep_http_check(&h, id, &err), 413);
	h = ok;
	h.content_length = 0;
	assert_int_equal(nap_hcep_http_check(&h, id, &err), 500);
	h = ok;
	h.content_type = NULL;
	assert_int_equal(nap_hcep_http_check(&h, id, &err), 500);
	h = ok;
	h.content_type = "application/healthcertificate-requestx";
	assert_int_equal(nap_hcep_http_check(&h, id, &err), 500);
	h = ok;
	h.content_type = "application/pkcs10";
	assert_int_equal(nap_hcep_http_check(&h, id, &err), 500);
	h = ok;
	h.hcep_version = NULL;
	assert_int_equal(nap_hcep_http_check(&h, id, &err), 500);
	h = ok;
	h.hcep_version = "2.0";
	assert_int_equal(nap_hcep_http_check(&h, id, &err), 500);
	h = ok;
	h.correlation_id = NULL;
	assert_int_equal(nap_hcep_http_check(&h, id, &err), 500);
	h = ok;
	h.correlation_id = "AAECAwQFBgcICQoLDA0ODxAREhMUFQ=="; /* 22 bytes */
	assert_int_equal(nap_hcep_http_check(&h, id, &err), 500);
	h = ok;
	h.correlation_id = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYX\n";
	assert_int_equal(nap_hcep_http_check(&h, id, &err), 500);
	h = ok;
	h.correlation_id = "";
	assert_int_equal(nap_hcep_http_check(&h, id, &err), 500);
}

static void
test_base64(void **state)
{
	uint8_t out[8];

	(void)state;
	assert_int_equal(nap_hcep_base64_decode("TWFu", 4, out, sizeof(out)), 3);
	assert_memory_equal(out, "Man", 3);
	assert_int_equal(nap_hcep_base64_decode("TWE=", 4, out, sizeof(out)), 2);
	assert_int_equal(nap_hcep_base64_decode("TQ==", 4, out, sizeof(out)), 1);
	assert_int_equal(nap_hcep_base64_decode("", 0, out, sizeof(out)), 0);
	assert_int_equal(nap_hcep_base64_decode("TWF", 3, out, sizeof(out)), -EBADMSG);
	assert_int_equal(nap_hcep_base64_decode("TR==", 4, out, sizeof(out)), -EBADMSG);
	assert_int_equal(nap_hcep_base64_decode("T=Fu", 4, out, sizeof(out)), -EBADMSG);
	assert_int_equal(nap_hcep_base64_decode("TQ==TWFu", 8, out, sizeof(out)), -EBADMSG);
	assert_int_equal(nap_hcep_base64_decode("TW-u", 4, out, sizeof(out)), -EBADMSG);
	assert_int_equal(nap_hcep_base64_decode("TWFuTWFuTWFu", 12, out, sizeof(out)), -EBADMSG);
}

static void
test_sohr_header(void **state)
{
	static const uint8_t sohr[] = {0x00, 0x02, 0x00, 0x00, 0x00, 0x10, 0xff};
	uint8_t back[16];
	char *h;
	uint8_t *big = calloc(1, NAP_SOH_MAX_LEN + 1);

	(void)state;
	assert_int_equal(nap_hcep_sohr_header(sohr, sizeof(sohr), &h), 0);
	assert_string_equal(h, "AAIAAAAQ/w==");
	assert_int_equal(nap_hcep_base64_decode(h, strlen(h), back, sizeof(back)), sizeof(sohr));
	assert_memory_equal(back, sohr, sizeof(sohr));
	free(h);
	assert_int_equal(nap_hcep_sohr_header(big, NAP_SOH_MAX_LEN + 1, &h), -EMSGSIZE);
	assert_null(h);
	assert_int_equal(nap_hcep_sohr_header(big, NAP_SOH_MAX_LEN, &h), 0);
	assert_int_equal(strlen(h), (NAP_SOH_MAX_LEN + 2) / 3 * 4);
	free(h);
	free(big);
}

static X509 *
self_signed(EVP_PKEY *key, const char *cn)
{
	X509 *x = X509_new();

	assert_non_null(x);
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 4 * 3600);
	X509_set_pubkey(x, key);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	return x;
}

static void
test_chain(void **state)
{
	X509 *certs[2];
	STACK_OF(X509) *back = NULL;
	struct nap_err err = {0};
	const unsigned char *q;
	uint8_t *der;
	size_t n;
	PKCS7 *p7;

	(void)state;
	certs[0] = self_signed(ec_key, "leaf");
	certs[1] = self_signed(rsa_key, "ca");
	assert_int_equal(nap_hcep_chain_encode(certs, 2, &der, &n), 0);
	/* What OpenSSL itself reads back: a signed-data with no signers. */
	q = der;
	p7 = d2i_PKCS7(NULL, &q, (long)n);
	assert_non_null(p7);
	assert_true(PKCS7_type_is_signed(p7));
	assert_int_equal(sk_PKCS7_SIGNER_INFO_num(p7->d.sign->signer_info), 0);
	assert_int_equal(OBJ_obj2nid(p7->d.sign->contents->type), NID_pkcs7_data);
	PKCS7_free(p7);
	assert_int_equal(nap_hcep_chain_decode(der, n, &back, &err), 0);
	assert_int_equal(sk_X509_num(back), 2);
	assert_int_equal(X509_cmp(sk_X509_value(back, 0), certs[0]), 0);
	assert_int_equal(X509_cmp(sk_X509_value(back, 1), certs[1]), 0);
	sk_X509_pop_free(back, X509_free);
	for (size_t i = 0; i < n; i++) {
		uint8_t *cut = malloc(i + 1);

		memcpy(cut, der, i);
		assert_true(nap_hcep_chain_decode(cut, i, &back, &err) < 0);
		assert_null(back);
		assert_non_null(err.what);
		free(cut);
	}
	free(der);
	assert_int_equal(nap_hcep_chain_encode(certs, 0, &der, &n), -EINVAL);
	assert_int_equal(nap_hcep_chain_encode(certs, NAP_HCEP_MAX_CHAIN + 1, &der, &n), -EINVAL);
	X509_free(certs[0]);
	X509_free(certs[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ec_with_soh),
		cmocka_unit_test(test_rsa_authenticated),
		cmocka_unit_test(test_san_not_dns),
		cmocka_unit_test(test_without_soh),
		cmocka_unit_test(test_no_eku),
		cmocka_unit_test(test_bad_signature),
		cmocka_unit_test(test_soh_encodings),
		cmocka_unit_test(test_truncations_and_garbage),
		cmocka_unit_test(test_http_check),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_sohr_header),
		cmocka_unit_test(test_chain),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
