// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Unit tests for napsited's agent CA and enrollment (enroll.c): creating the CA once and loading
 * it again, the refusals (one file without the other, a readable key, a key that does not
 * match, not a CA), CSR checks (key types and sizes, the self-signature), issuing (the CSR's
 * subject ignored, extensions, serial, validity clamped to the CA's), the token hash and serials.
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
#include <sys/stat.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "nap/util.h"
#include "agent.h"

#define NOW 1795600800LL /* 2026-11-25T10:00:00Z */

static char dir[64];
static char ca_cert[128], ca_key[128];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/nap-enroll-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(ca_cert, sizeof(ca_cert), "%s/agent-ca.pem", dir);
	snprintf(ca_key, sizeof(ca_key), "%s/agent-ca.key", dir);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static X509 *
pem_cert(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);

	BIO_free(b);
	assert_non_null(x);
	return x;
}

/* A PEM CSR for key with the given subject CN; corrupt flips a signature bit. */
static char *
make_csr(EVP_PKEY *key, const char *cn, bool corrupt)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_NAME_new();
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *out;
	long n;

	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
						    (const unsigned char *)cn, -1, -1, 0),
			 1);
	assert_int_equal(X509_REQ_set_subject_name(req, name), 1);
	assert_int_equal(X509_REQ_set_pubkey(req, key), 1);
	assert_true(X509_REQ_sign(req, key, EVP_PKEY_is_a(key, "ED25519") ? NULL : EVP_sha256()) >
		    0);
	if (corrupt) {
		const ASN1_BIT_STRING *sig;

		X509_REQ_get0_signature(req, &sig, NULL);
		((ASN1_BIT_STRING *)sig)->data[sig->length / 2] ^= 0x01;
	}
	assert_int_equal(PEM_write_bio_X509_REQ(b, req), 1);
	n = BIO_get_mem_data(b, &p);
	/* the BIO's bytes are not NUL-terminated: no strndup (ASan strict_string_checks) */
	out = malloc((size_t)n + 1);
	assert_non_null(out);
	memcpy(out, p, (size_t)n);
	out[n] = '\0';
	BIO_free(b);
	X509_NAME_free(name);
	X509_REQ_free(req);
	return out;
}

static int
csr_check(EVP_PKEY *key, bool corrupt, char *err, size_t len)
{
	char *pem = make_csr(key, "ignored", corrupt);
	X509_REQ *req = NULL;
	int r = napsited_enroll_csr_check(pem, strlen(pem), &req, err, len);

	X509_REQ_free(req);
	free(pem);
	return r;
}

static void
test_ca_create_and_load(void **state)
{
	struct napsited_agent_ca *ca = NULL, *again = NULL;
	struct stat st;
	char err[256], cn[128];
	X509 *x;

	(void)state;
	assert_int_equal(napsited_agent_ca_load(ca_cert, ca_key, "S01", NULL, NOW, &ca, err,
						sizeof(err)),
			 0);
	assert_int_equal(stat(ca_key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	x = pem_cert(napsited_agent_ca_pem(ca));
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
	assert_string_equal(cn, "nap agent CA S01");
	assert_int_equal(X509_check_ca(x), 1);
	assert_int_equal(X509_check_issued(x, x), X509_V_OK);
	assert_true(EVP_PKEY_is_a(X509_get0_pubkey(x), "EC"));
	/* Ten years. */
	int days, secs;

	assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x),
					X509_get0_notAfter(x)),
			 1);
	assert_true(days >= 3650 && days <= 3651);
	X509_free(x);

	/* Loaded again: the same CA, not a new one. */
	assert_int_equal(napsited_agent_ca_load(ca_cert, ca_key, "S01", NULL, NOW + 60, &again,
						err, sizeof(err)),
			 0);
	assert_string_equal(napsited_agent_ca_pem(ca), napsited_agent_ca_pem(again));
	napsited_agent_ca_free(again);
	napsited_agent_ca_free(ca);

	/* Expired: refused. */
	assert_int_equal(napsited_agent_ca_load(ca_cert, ca_key, "S01", NULL,
						NOW + NAPSITED_AGENT_CA_LIFETIME + 86400, &again,
						err, sizeof(err)),
			 -EKEYEXPIRED);
}

static void
test_ca_refusals(void **state)
{
	struct napsited_agent_ca *ca = NULL;
	char err[256], other_cert[160], other_key[160];
	uint8_t *buf;
	size_t n;

	(void)state;
	/* The key is readable by others. */
	assert_int_equal(chmod(ca_key, 0640), 0);
	assert_int_equal(napsited_agent_ca_load(ca_cert, ca_key, "S01", NULL, NOW, &ca, err,
						sizeof(err)),
			 -EPERM);
	assert_non_null(strstr(err, "group or other"));
	assert_int_equal(chmod(ca_key, 0600), 0);

	/* Only one of the two files. */
	snprintf(other_cert, sizeof(other_cert), "%s/lone.pem", dir);
	snprintf(other_key, sizeof(other_key), "%s/lone.key", dir);
	assert_int_equal(napsited_agent_ca_load(other_cert, ca_key, "S01", NULL, NOW, &ca, err,
						sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "both or neither"));
	assert_int_equal(napsited_agent_ca_load(ca_cert, other_key, "S01", NULL, NOW, &ca, err,
						sizeof(err)),
			 -ENOENT);

	/* A second CA's key with the first CA's certificate. */
	snprintf(other_cert, sizeof(other_cert), "%s/b.pem", dir);
	snprintf(other_key, sizeof(other_key), "%s/b.key", dir);
	assert_int_equal(napsited_agent_ca_load(other_cert, other_key, "S02", NULL, NOW, &ca, err,
						sizeof(err)),
			 0);
	napsited_agent_ca_free(ca);
	assert_int_equal(napsited_agent_ca_load(ca_cert, other_key, "S01", NULL, NOW, &ca, err,
						sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "does not match"));

	/* Garbage as the certificate. */
	assert_int_equal(nap_write_file_atomic(other_cert, "not a certificate\n", 18, 0644), 0);
	assert_int_equal(napsited_agent_ca_load(other_cert, other_key, "S02", NULL, NOW, &ca, err,
						sizeof(err)),
			 -EINVAL);
	/* An unreadable directory for a new CA: an error, nothing half-written left behind. */
	assert_int_equal(napsited_agent_ca_load("/nonexistent/x.pem", "/nonexistent/x.key", "S01",
						NULL, NOW, &ca, err, sizeof(err)),
			 -ENOENT);
	(void)buf;
	(void)n;
}

static void
test_csr_keys(void **state)
{
	EVP_PKEY *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	EVP_PKEY *rsa2048 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	EVP_PKEY *rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	X509_REQ *req = NULL;
	char err[256];

	(void)state;
	assert_int_equal(csr_check(p256, false, err, sizeof(err)), 0);
	assert_int_equal(csr_check(rsa2048, false, err, sizeof(err)), 0);
	assert_int_equal(csr_check(p384, false, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "P-256"));
	assert_int_equal(csr_check(rsa1024, false, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "1024 bits"));
	assert_int_equal(csr_check(ed, false, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not accepted"));
	assert_int_equal(csr_check(p256, true, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "signature"));
	assert_int_equal(csr_check(rsa2048, true, err, sizeof(err)), -EINVAL);
	assert_int_equal(napsited_enroll_csr_check("garbage", 7, &req, err, sizeof(err)), -EINVAL);
	assert_int_equal(napsited_enroll_csr_check("", 0, &req, err, sizeof(err)), -EINVAL);
	assert_null(req);
	EVP_PKEY_free(p256);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(rsa2048);
	EVP_PKEY_free(rsa1024);
	EVP_PKEY_free(ed);
}

static void
issue(struct napsited_agent_ca *ca, EVP_PKEY *key, const char *client, int64_t lifetime,
      X509 **out, struct nap_agent_cert *rec)
{
	char *csr = make_csr(key, "attacker-chosen", false), *pem = NULL, err[256];
	X509_REQ *req = NULL;

	assert_int_equal(napsited_enroll_csr_check(csr, strlen(csr), &req, err, sizeof(err)), 0);
	assert_int_equal(napsited_enroll_issue(ca, req, client, NOW, lifetime, &pem, rec, err,
					       sizeof(err)),
			 0);
	*out = pem_cert(pem);
	free(pem);
	free(csr);
	X509_REQ_free(req);
}

static void
test_issue(void **state)
{
	struct napsited_agent_ca *ca = NULL;
	struct nap_agent_cert rec, rec2;
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *cax, *x, *x2;
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	char err[256], cn[300], hex[65], longname[NAP_CLIENT_NAME_MAX + 1];
	const ASN1_INTEGER *sn;
	uint8_t raw[32];
	int days, secs;

	(void)state;
	assert_int_equal(napsited_agent_ca_load(ca_cert, ca_key, "S01", NULL, NOW, &ca, err,
						sizeof(err)),
			 0);
	cax = pem_cert(napsited_agent_ca_pem(ca));
	issue(ca, key, "pc1.example.org", 365 * 86400LL, &x, &rec);

	/* Subject from the token's client, never from the CSR. */
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
	assert_string_equal(cn, "pc1.example.org");
	assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(x)), 1);
	assert_string_equal(rec.client, "pc1.example.org");
	assert_int_equal(rec.issued, NOW);
	assert_int_equal(rec.not_after, NOW + 365 * 86400LL);
	assert_false(rec.revoked);

	/* Serial: 128 random bits, the store's hex of the certificate's number. */
	sn = X509_get0_serialNumber(x);
	assert_int_equal(sn->length, 16);
	assert_int_equal(napsited_agent_serial_hex(sn->data, (size_t)sn->length, hex), 0);
	assert_string_equal(hex, rec.serial);
	assert_int_equal(strlen(rec.serial), 32);

	/* Verifies against the CA, for client authentication. */
	assert_int_equal(X509_STORE_add_cert(store, cax), 1);
	assert_int_equal(X509_STORE_CTX_init(ctx, store, x, NULL), 1);
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), (time_t)NOW);
	assert_int_equal(X509_verify_cert(ctx), 1);
	assert_int_equal(X509_check_ca(x), 0);
	assert_true((X509_get_extended_key_usage(x) & XKU_SSL_CLIENT) != 0);
	assert_true((X509_get_extended_key_usage(x) & XKU_SSL_SERVER) == 0);
	assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x),
					X509_get0_notAfter(x)),
			 1);
	assert_int_equal(days * 86400LL + secs, 365 * 86400LL + NAPSITED_AGENT_BACKDATE);

	/* A second certificate gets another serial. */
	issue(ca, key, "pc1.example.org", 86400, &x2, &rec2);
	assert_string_not_equal(rec.serial, rec2.serial);
	X509_free(x2);

	/* Never past the CA's own end. */
	issue(ca, key, "pc2", 20 * 365 * 86400LL, &x2, &rec2);
	assert_int_equal(ASN1_TIME_compare(X509_get0_notAfter(x2), X509_get0_notAfter(cax)), 0);
	assert_true(rec2.not_after < NOW + NAPSITED_AGENT_CA_LIFETIME + 1);
	X509_free(x2);

	/* Client names longer than X.509's 64-character CN bound still work. */
	memset(longname, 'n', NAP_CLIENT_NAME_MAX);
	longname[NAP_CLIENT_NAME_MAX] = '\0';
	issue(ca, key, longname, 86400, &x2, &rec2);
	X509_NAME_get_text_by_NID(X509_get_subject_name(x2), NID_commonName, cn, sizeof(cn));
	assert_string_equal(cn, longname);
	X509_free(x2);

	/* Token hash: SHA-256 over the 32 raw bytes. */
	for (size_t i = 0; i < 32; i++)
		raw[i] = (uint8_t)(i * 7 + 1);
	char tok[65];
	uint8_t h[32], want[32];

	nap_hex_encode(raw, 32, tok);
	SHA256(raw, 32, want);
	assert_int_equal(napsited_enroll_token_hash(tok, 64, h), 0);
	assert_memory_equal(h, want, 32);
	for (char *p = tok; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 32);
	assert_int_equal(napsited_enroll_token_hash(tok, 64, h), 0);
	assert_memory_equal(h, want, 32);
	assert_int_equal(napsited_enroll_token_hash(tok, 63, h), -EINVAL);
	tok[10] = 'g';
	assert_int_equal(napsited_enroll_token_hash(tok, 64, h), -EINVAL);
	tok[10] = ' ';
	assert_int_equal(napsited_enroll_token_hash(tok, 64, h), -EINVAL);

	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(x);
	X509_free(cax);
	EVP_PKEY_free(key);
	napsited_agent_ca_free(ca);
}

static void
test_serial_hex(void **state)
{
	static const uint8_t padded[] = {0x00, 0x80, 0x01};
	static const uint8_t zero[] = {0x00};
	uint8_t big[33] = {1};
	char hex[65];

	(void)state;
	assert_int_equal(napsited_agent_serial_hex(padded, sizeof(padded), hex), 0);
	assert_string_equal(hex, "8001");
	assert_int_equal(napsited_agent_serial_hex(zero, sizeof(zero), hex), 0);
	assert_string_equal(hex, "00");
	assert_int_equal(napsited_agent_serial_hex(big, sizeof(big), hex), -EINVAL);
	assert_int_equal(napsited_agent_serial_hex(big, 0, hex), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ca_create_and_load),
		cmocka_unit_test(test_ca_refusals),
		cmocka_unit_test(test_csr_keys),
		cmocka_unit_test(test_issue),
		cmocka_unit_test(test_serial_hex),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
