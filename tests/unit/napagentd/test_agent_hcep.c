// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The agent's HCEP client (hcep.h) without a network: the PKCS#10 it builds passes libnap's
 * HCEP decoder and the HRA's checks exactly as naphrad runs them (authenticated and anonymous,
 * EC and RSA); the answer checks (a chain with our key, another key, expired, not PKCS#7, no
 * body, content type, HCEP-SoHR); the [hra] keys and the renewal time.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "agent.h"
#include "nap/hcep.h"

/* Any bytes do for the SoH here: the HRA passes it on to napvd. */
static const uint8_t soh[] = {0x00, 0x07, 0x00, 0x08, 0x00, 0x00, 0x01, 0x37,
			      0x00, 0x01, 0x00, 0x00, 0xde, 0xad, 0xbe, 0xef};

static struct nap_hcep_request *
make(enum agent_hra_key_type type, const char *machine, EVP_PKEY **key)
{
	struct nap_hcep_request *r = NULL;
	struct nap_err e = {0};
	uint8_t *der = NULL;
	size_t n = 0;
	char err[256];

	assert_int_equal(agent_hra_make_request(type, NULL, machine, soh, sizeof(soh), key, &der,
						&n, err, sizeof(err)),
			 0);
	assert_int_equal(nap_hcep_request_decode(der, n, &r, &e), 0);
	free(der);
	return r;
}

static void
test_request_authenticated(void **state)
{
	EVP_PKEY *key = NULL;
	struct nap_hcep_request *r = make(AGENT_HRA_KEY_EC, "pc1.napt.test", &key);
	struct nap_err e = {0};

	(void)state;
	assert_true(r->signature_ok);
	assert_int_equal(r->key_type, NAP_HCEP_KEY_EC);
	assert_string_equal(r->key_curve, "prime256v1");
	assert_true(r->subject_empty);
	assert_int_equal(r->n_san, 1);
	assert_string_equal(r->san[0], "DNS:pc1.napt.test");
	assert_true(r->eku_health);
	assert_true(r->eku_client_auth);
	assert_true(r->has_csp_name);
	assert_int_equal(r->soh_len, sizeof(soh));
	assert_memory_equal(r->soh, soh, sizeof(soh));
	assert_int_equal(nap_hcep_request_check(r, true, "pc1.napt.test", &e), 0);
	assert_int_equal(nap_hcep_request_check(r, true, "other.napt.test", &e), 500);
	/* a SAN is refused from a client that did not authenticate */
	assert_int_equal(nap_hcep_request_check(r, false, NULL, &e), 500);
	nap_hcep_request_free(r);
	EVP_PKEY_free(key);
}

static void
test_request_anonymous_rsa(void **state)
{
	EVP_PKEY *key = NULL;
	struct nap_hcep_request *r = make(AGENT_HRA_KEY_RSA, NULL, &key);
	struct nap_err e = {0};

	(void)state;
	assert_true(r->signature_ok);
	assert_int_equal(r->key_type, NAP_HCEP_KEY_RSA);
	assert_int_equal(r->key_bits, 2048);
	assert_string_equal(r->subject, "CN=" NAP_HCEP_ANONYMOUS_SUBJECT);
	assert_int_equal(r->n_san, 0);
	assert_true(r->eku_health);
	assert_false(r->eku_client_auth);
	assert_int_equal(nap_hcep_request_check(r, false, NULL, &e), 0);
	nap_hcep_request_free(r);
	EVP_PKEY_free(key);
}

static void
test_request_bad_input(void **state)
{
	EVP_PKEY *key = NULL;
	uint8_t *der = NULL, big[NAP_SOH_MAX_LEN + 1] = {0};
	size_t n = 0;
	char err[256], name[300];

	(void)state;
	assert_int_equal(agent_hra_make_request(AGENT_HRA_KEY_EC, NULL, NULL, soh, 0, &key, &der,
						&n, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(agent_hra_make_request(AGENT_HRA_KEY_EC, NULL, NULL, big, sizeof(big),
						&key, &der, &n, err, sizeof(err)),
			 -EINVAL);
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(agent_hra_make_request(AGENT_HRA_KEY_EC, NULL, name, soh, sizeof(soh),
						&key, &der, &n, err, sizeof(err)),
			 -EINVAL);
	assert_null(key);
	assert_null(der);
}

/* A CA and a certificate for key, valid from now - 300 to now + lifetime. */
static X509 *
issue(EVP_PKEY *ca_key, X509 *ca, EVP_PKEY *key, long lifetime)
{
	X509 *x = X509_new();

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)(ca == NULL ? "test CA" : "pc1"), -1, -1,
				   0);
	X509_set_issuer_name(x, ca != NULL ? X509_get_subject_name(ca)
					   : X509_get_subject_name(x));
	X509_gmtime_adj(X509_getm_notBefore(x), -300);
	X509_gmtime_adj(X509_getm_notAfter(x), lifetime);
	X509_set_pubkey(x, key);
	if (ca == NULL) {
		X509_EXTENSION *bc = X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints,
							 "critical,CA:TRUE");

		X509_add_ext(x, bc, -1);
		X509_EXTENSION_free(bc);
	}
	assert_true(X509_sign(x, ca_key, EVP_sha256()) > 0);
	return x;
}

static const struct agent_hra_headers hdr_ok = {
	.content_type = NAP_HCEP_CONTENT_TYPE_RESPONSE,
};

static void
test_answer(void **state)
{
	EVP_PKEY *ca_key = EVP_EC_gen("P-256"), *key = EVP_EC_gen("P-256"),
		 *other = EVP_EC_gen("P-256");
	X509 *ca = issue(ca_key, NULL, ca_key, 86400), *leaf = issue(ca_key, ca, key, 3600);
	X509 *chain[2] = {ca, leaf}; /* leaf not first: found by its key */
	struct agent_hra_answer *a = calloc(1, sizeof(*a));
	struct agent_hra_headers h = hdr_ok;
	int64_t now = (int64_t)time(NULL);
	uint8_t *body = NULL;
	size_t n = 0;
	char err[256];

	(void)state;
	assert_int_equal(nap_hcep_chain_encode(chain, 2, &body, &n), 0);
	assert_int_equal(agent_hra_parse_answer(&h, body, n, key, now, a, err, sizeof(err)), 0);
	assert_true(a->compliant);
	assert_int_equal(X509_cmp(a->leaf, leaf), 0);
	assert_int_equal(sk_X509_num(a->cas), 1);
	agent_hra_answer_clear(a);
	/* without a key (the fuzzer): the first end-entity certificate */
	assert_int_equal(agent_hra_parse_answer(&h, body, n, NULL, now, a, err, sizeof(err)), 0);
	assert_int_equal(X509_cmp(a->leaf, leaf), 0);
	agent_hra_answer_clear(a);
	/* not our key */
	assert_int_equal(agent_hra_parse_answer(&h, body, n, other, now, a, err, sizeof(err)),
			 -EBADMSG);
	assert_non_null(strstr(err, "public key"));
	assert_null(a->leaf);
	/* expired by the time it arrived */
	assert_int_equal(agent_hra_parse_answer(&h, body, n, key, now + 7200, a, err,
						sizeof(err)),
			 -EBADMSG);
	assert_non_null(strstr(err, "expired"));
	/* signed by another key than its issuer's in the chain */
	{
		X509 *forged = issue(other, ca, key, 3600), *fc[2] = {forged, ca};
		uint8_t *fb = NULL;
		size_t fn = 0;

		assert_int_equal(nap_hcep_chain_encode(fc, 2, &fb, &fn), 0);
		assert_int_equal(agent_hra_parse_answer(&h, fb, fn, key, now, a, err, sizeof(err)),
				 -EBADMSG);
		assert_non_null(strstr(err, "signature"));
		free(fb);
		X509_free(forged);
	}
	/* garbage: the outer length no longer matches */
	body[3] ^= 0x01;
	assert_int_equal(agent_hra_parse_answer(&h, body, n, key, now, a, err, sizeof(err)),
			 -EBADMSG);
	assert_null(a->leaf);
	/* no body: not compliant */
	assert_int_equal(agent_hra_parse_answer(&h, NULL, 0, key, now, a, err, sizeof(err)), 0);
	assert_false(a->compliant);
	/* the content type */
	snprintf(h.content_type, sizeof(h.content_type), "text/html");
	assert_int_equal(agent_hra_parse_answer(&h, NULL, 0, key, now, a, err, sizeof(err)),
			 -EBADMSG);
	free(body);
	free(a);
	X509_free(ca);
	X509_free(leaf);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other);
}

static void
test_headers(void **state)
{
	struct agent_hra_headers h;
	struct agent_hra_answer *a = calloc(1, sizeof(*a));
	char err[256];

	(void)state;
	memset(&h, 0, sizeof(h));
	agent_hra_header_line(&h, "content-type: application/healthcertificate-response; x=1\r\n",
			      59);
	agent_hra_header_line(&h, "HCEP-AFW-Zone: 3\r\n", 18);
	agent_hra_header_line(&h, "HCEP-AFW-Protection-Level: 99999999999\r\n", 40);
	agent_hra_header_line(&h, "HCEP-SoHR: AAcA\r\n", 17);
	assert_string_equal(h.content_type, "application/healthcertificate-response; x=1");
	assert_true(h.has_zone);
	assert_int_equal(h.zone, 3);
	assert_false(h.has_level);
	assert_true(h.has_sohr);
	assert_string_equal(h.sohr, "AAcA");
	/* base64 of a truncated SoHR: refused as an SoHR */
	assert_int_equal(agent_hra_parse_answer(&h, NULL, 0, NULL, 0, a, err, sizeof(err)),
			 -EBADMSG);
	assert_non_null(strstr(err, "HCEP-SoHR"));
	/* twice: refused */
	agent_hra_header_line(&h, "HCEP-SoHR: AAcA\r\n", 17);
	assert_true(h.sohr_too_long);
	assert_int_equal(agent_hra_parse_answer(&h, NULL, 0, NULL, 0, a, err, sizeof(err)),
			 -EBADMSG);
	/* a new status line (100 Continue, a redirect) starts over */
	agent_hra_header_line(&h, "HTTP/1.1 200 OK\r\n", 17);
	assert_false(h.has_sohr);
	assert_string_equal(h.content_type, "");
	free(a);
}

static void
test_conf(void **state)
{
	struct agent_hra_conf c;
	char err[256];

	(void)state;
	agent_hra_conf_init(&c);
	assert_false(agent_hra_enabled(&c));
	assert_int_equal(agent_hra_conf_set(&c, "url", "https://hra.example/", err, sizeof(err)),
			 0);
	assert_int_equal(agent_hra_conf_check(&c, err, sizeof(err)), -EINVAL); /* no ca_file */
	assert_int_equal(agent_hra_conf_set(&c, "ca_file", "/etc/ca.pem", err, sizeof(err)), 0);
	assert_int_equal(agent_hra_conf_check(&c, err, sizeof(err)), 0);
	assert_int_equal(agent_hra_conf_set(&c, "cert", "/etc/a.pem", err, sizeof(err)), 0);
	assert_int_equal(agent_hra_conf_check(&c, err, sizeof(err)), -EINVAL); /* no key */
	assert_int_equal(agent_hra_conf_set(&c, "url", "ftp://x/", err, sizeof(err)), -EINVAL);
	assert_int_equal(agent_hra_conf_set(&c, "url", "https://a b/", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(agent_hra_conf_set(&c, "key_type", "dsa", err, sizeof(err)), -EINVAL);
	assert_int_equal(agent_hra_conf_set(&c, "reload_command", "swanctl --load-creds", err,
					    sizeof(err)),
			 -EINVAL);
	assert_int_equal(agent_hra_conf_set(&c, "swanctl_dir", "etc/swanctl", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(agent_hra_conf_set(&c, "nonsense", "1", err, sizeof(err)), 1);
	for (int i = 1; i < AGENT_HRA_MAX_URLS; i++)
		assert_int_equal(agent_hra_conf_set(&c, "url", "http://h/", err, sizeof(err)), 0);
	assert_int_equal(agent_hra_conf_set(&c, "url", "http://h/", err, sizeof(err)), -EINVAL);

	/* renew_before: a fraction of the lifetime left at arrival, or a duration */
	assert_int_equal(agent_hra_renew_at(&c, 1000, 1000 + 4 * 3600), 1000 + 3 * 3600);
	assert_int_equal(agent_hra_conf_set(&c, "renew_before", "50%", err, sizeof(err)), 0);
	assert_int_equal(agent_hra_renew_at(&c, 1000, 1006), 1003);
	assert_int_equal(agent_hra_conf_set(&c, "renew_before", "0.1", err, sizeof(err)), 0);
	assert_int_equal(agent_hra_renew_at(&c, 0, 1000), 900);
	assert_int_equal(agent_hra_conf_set(&c, "renew_before", "1h", err, sizeof(err)), 0);
	assert_int_equal(agent_hra_renew_at(&c, 0, 4 * 3600), 3 * 3600);
	/* never sooner than a second after arrival */
	assert_int_equal(agent_hra_renew_at(&c, 0, 600), 1);
	assert_int_equal(agent_hra_conf_set(&c, "renew_before", "100%", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(agent_hra_conf_set(&c, "renew_before", "0.0", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(agent_hra_conf_set(&c, "renew_before", "soon", err, sizeof(err)),
			 -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_authenticated),
		cmocka_unit_test(test_request_anonymous_rsa),
		cmocka_unit_test(test_request_bad_input),
		cmocka_unit_test(test_answer),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_conf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
