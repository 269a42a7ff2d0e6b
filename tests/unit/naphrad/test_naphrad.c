// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * naphrad unit tests: the configuration, the signer protocol (round trips, every truncation),
 * the name rules, and the signer itself against a CA made here: the certificate profile
 * (serial, validity, subject, EKU, policy, key usage, SKI/AKI, SAN), template refusals (names
 * on anonymous templates, bad names, bad keys), the lifetime cap, an RSA CA, and the issuance
 * log with its rotation.
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "nap/hcep.h"
#include "naphrad.h"

static char tmpdir[64];

/* ---- configuration ------------------------------------------------------------------------- */

#define BASE_CONF                                                                                  \
	"[naphrad]\nmetrics = 127.0.0.1:9100\n"                                                   \
	"[http]\nlisten = 127.0.0.1:8080\n"                                                       \
	"[napvd]\nserver = 127.0.0.1:1812\nserver = [::1]:1812\nsecret_file = /etc/s\n"           \
	"[signer]\nca_cert = /etc/ca.pem\nca_key = /etc/ca.key\n"

static void
test_config_defaults(void **state)
{
	struct naphrad_config *c;
	char err[512];

	(void)state;
	assert_int_equal(naphrad_config_parse_string(BASE_CONF, "t", &c, err, sizeof(err)), 0);
	assert_int_equal(c->n_servers, 2);
	assert_string_equal(c->servers[1], "[::1]:1812");
	assert_int_equal(c->signer.lifetime, 4 * 3600);
	assert_int_equal(c->signer.max_lifetime, 24 * 3600);
	assert_int_equal(c->radius_timeout_ms, 1000);
	assert_string_equal(c->signer.log, "/var/lib/naphrad/issuance.log");
	assert_string_equal(c->nas_identifier, "naphrad");
	assert_int_equal(c->client_auth, NAPHRAD_AUTH_OFF);
	assert_false(c->has_afw_zone);
	naphrad_config_free(c);
}

static void
test_config_values(void **state)
{
	struct naphrad_config *c;
	char err[512], *text = NULL, *printed = NULL;
	size_t n;
	FILE *f;

	(void)state;
	assert_true(asprintf(&text, "%s[https]\nlisten = [::1]:8443\ncert = c\nkey = k\n"
				    "client_ca = ca\nclient_auth = required\n"
				    "[naphrad]\nafw_zone = 3\nafw_protection_level = 2\n"
				    "[napvd]\ntimeout = 250ms\nretries = 0\n"
				    "[signer]\nlifetime = 30m\nmax_lifetime = 2h\nlog_max_size = 1M\n",
			     BASE_CONF) > 0);
	assert_int_equal(naphrad_config_parse_string(text, "t", &c, err, sizeof(err)), 0);
	assert_int_equal(c->client_auth, NAPHRAD_AUTH_REQUIRED);
	assert_int_equal(c->afw_zone, 3);
	assert_int_equal(c->afw_level, 2);
	assert_int_equal(c->radius_timeout_ms, 250);
	assert_int_equal(c->radius_retries, 0);
	assert_int_equal(c->signer.lifetime, 1800);
	assert_int_equal(c->signer.log_max_size, 1024 * 1024);
	/* -n prints a file that parses to the same thing */
	f = open_memstream(&printed, &n);
	naphrad_config_print(c, f);
	fclose(f);
	naphrad_config_free(c);
	assert_int_equal(naphrad_config_parse_string(printed, "p", &c, err, sizeof(err)), 0);
	assert_int_equal(c->signer.max_lifetime, 7200);
	assert_int_equal(c->radius_timeout_ms, 250);
	naphrad_config_free(c);
	free(printed);
	free(text);
}

static void
test_config_errors(void **state)
{
	static const struct {
		const char *extra, *want;
	} cases[] = {
		{"[bogus]\nx = 1\n", "unknown section"},
		{"[naphrad]\nfrobnicate = 1\n", "unknown key"},
		{"[http]\nlisten = nowhere\n", "ADDR:PORT"},
		{"[https]\nlisten = 127.0.0.1:1\n", "needs cert and key"},
		{"[https]\nlisten = 127.0.0.1:1\ncert = c\nkey = k\nclient_auth = required\n",
		 "needs client_ca"},
		{"[https]\nclient_auth = sometimes\n", "want off, optional or required"},
		{"[signer]\nlifetime = 2d\n", "longer than max_lifetime"},
		{"[signer]\nlifetime = 0\n", "want a duration"},
		{"[naphrad]\nafw_protection_level = 3\n", "from 1 to 2"},
		{"[napvd]\nretries = -1\n", "from 0 to 10"},
		{"[signer]\nrsa_min_bits = 1024\n", "from 2048 to 4096"},
		{"[naphrad]\nnas_identifier = hra\f\n", "control character 0x0c"},
		{"; x\r\n[naphrad]\r\nnas_identifier = hra\rx\n", "control character 0x0d"},
	};
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct naphrad_config *c = NULL;
		char *text = NULL;

		assert_true(asprintf(&text, "%s%s", BASE_CONF, cases[i].extra) > 0);
		err[0] = '\0';
		assert_int_equal(naphrad_config_parse_string(text, "t", &c, err, sizeof(err)),
				 -EINVAL);
		assert_null(c);
		if (strstr(err, cases[i].want) == NULL)
			fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].want);
		free(text);
	}
	/* no server, no secret, no signer */
	{
		struct naphrad_config *c = NULL;

		assert_int_equal(naphrad_config_parse_string("[http]\nlisten = 127.0.0.1:1\n", "t",
							     &c, err, sizeof(err)),
				 -EINVAL);
		assert_non_null(strstr(err, "[napvd]"));
	}
}

/* ---- names and the protocol ----------------------------------------------------------------- */

static void
test_names(void **state)
{
	char long_label[80];

	(void)state;
	assert_true(naphrad_dns_name_ok("pc1.napt.test"));
	assert_true(naphrad_dns_name_ok("a"));
	assert_true(naphrad_dns_name_ok("x-1.example"));
	assert_false(naphrad_dns_name_ok(""));
	assert_false(naphrad_dns_name_ok(".a"));
	assert_false(naphrad_dns_name_ok("a..b"));
	assert_false(naphrad_dns_name_ok("-a.b"));
	assert_false(naphrad_dns_name_ok("a-.b"));
	assert_false(naphrad_dns_name_ok("a b"));
	assert_false(naphrad_dns_name_ok("a_b.c"));
	assert_false(naphrad_dns_name_ok("*.example"));
	memset(long_label, 'a', 64);
	long_label[64] = '\0';
	assert_false(naphrad_dns_name_ok(long_label));
	long_label[63] = '\0';
	assert_true(naphrad_dns_name_ok(long_label));
	assert_true(naphrad_cn_ok("pc1"));
	assert_false(naphrad_cn_ok(""));
	assert_false(naphrad_cn_ok("a\nb"));
	assert_false(naphrad_cn_ok("\xc3\xa9"));
}

static void
fill_template(struct naphrad_template *t)
{
	memset(t, 0, sizeof(*t));
	t->authenticated = true;
	t->lifetime = 600;
	t->pubkey_len = 91;
	for (size_t i = 0; i < t->pubkey_len; i++)
		t->pubkey[i] = (uint8_t)i;
	strcpy(t->cn, "pc1");
	strcpy(t->dns[0], "pc1.napt.test");
	strcpy(t->dns[1], "pc1.example");
	t->n_dns = 2;
}

static void
test_proto_request(void **state)
{
	struct naphrad_signer_request rq = {.op = NAPHRAD_OP_SIGN, .id = 0x1122334455667788ULL}, d;
	uint8_t buf[4096];
	long n;

	(void)state;
	fill_template(&rq.t);
	n = naphrad_signer_request_encode(&rq, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(naphrad_signer_request_decode(buf, (size_t)n, &d), 0);
	assert_int_equal(d.op, NAPHRAD_OP_SIGN);
	assert_true(d.id == rq.id);
	assert_true(d.t.authenticated);
	assert_int_equal(d.t.lifetime, 600);
	assert_memory_equal(d.t.pubkey, rq.t.pubkey, rq.t.pubkey_len);
	assert_string_equal(d.t.cn, "pc1");
	assert_int_equal(d.t.n_dns, 2);
	assert_string_equal(d.t.dns[1], "pc1.example");
	/* every truncation and one extra byte fail */
	for (long k = 0; k < n; k++)
		assert_int_equal(naphrad_signer_request_decode(buf, (size_t)k, &d), -EBADMSG);
	buf[n] = 0;
	assert_int_equal(naphrad_signer_request_decode(buf, (size_t)n + 1, &d), -EBADMSG);
	/* bad version, unknown op, unknown flag bit */
	buf[0] = 2;
	assert_int_equal(naphrad_signer_request_decode(buf, (size_t)n, &d), -EBADMSG);
	buf[0] = NAPHRAD_PROTO_VERSION;
	buf[1] = 9;
	assert_int_equal(naphrad_signer_request_decode(buf, (size_t)n, &d), -EBADMSG);
	buf[1] = NAPHRAD_OP_SIGN;
	buf[10] = 3;
	assert_int_equal(naphrad_signer_request_decode(buf, (size_t)n, &d), -EBADMSG);
	/* HELLO has no body */
	rq.op = NAPHRAD_OP_HELLO;
	n = naphrad_signer_request_encode(&rq, buf, sizeof(buf));
	assert_int_equal(n, 10);
	assert_int_equal(naphrad_signer_request_decode(buf, (size_t)n, &d), 0);
	assert_int_equal(naphrad_signer_request_decode(buf, (size_t)n + 1, &d), -EBADMSG);
	/* too many names do not encode */
	rq.op = NAPHRAD_OP_SIGN;
	rq.t.n_dns = NAPHRAD_MAX_DNS_NAMES + 1;
	assert_int_equal(naphrad_signer_request_encode(&rq, buf, sizeof(buf)), -EINVAL);
}

static void
test_proto_reply(void **state)
{
	static const uint8_t cert[] = {0x30, 0x03, 0x02, 0x01, 0x05};
	struct naphrad_signer_reply rp = {.op = NAPHRAD_OP_SIGN, .id = 7}, d;
	uint8_t buf[4096];
	long n;

	(void)state;
	rp.not_before = 100;
	rp.not_after = 200;
	memset(rp.serial, 0x42, sizeof(rp.serial));
	rp.cert = cert;
	rp.cert_len = sizeof(cert);
	n = naphrad_signer_reply_encode(&rp, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(naphrad_signer_reply_decode(buf, (size_t)n, &d), 0);
	assert_int_equal(d.not_after, 200);
	assert_int_equal(d.cert_len, sizeof(cert));
	assert_memory_equal(d.cert, cert, sizeof(cert));
	for (long k = 0; k < n; k++)
		assert_int_equal(naphrad_signer_reply_decode(buf, (size_t)k, &d), -EBADMSG);
	/* notBefore after notAfter */
	rp.not_before = 300;
	n = naphrad_signer_reply_encode(&rp, buf, sizeof(buf));
	assert_int_equal(naphrad_signer_reply_decode(buf, (size_t)n, &d), -EBADMSG);
	/* an error reply */
	rp.status = -EINVAL;
	strcpy(rp.error, "no");
	n = naphrad_signer_reply_encode(&rp, buf, sizeof(buf));
	assert_int_equal(naphrad_signer_reply_decode(buf, (size_t)n, &d), 0);
	assert_int_equal(d.status, -EINVAL);
	assert_string_equal(d.error, "no");
	/* a positive status is not an errno */
	buf[10] = 0;
	assert_int_equal(naphrad_signer_reply_decode(buf, (size_t)n, &d), -EBADMSG);
	/* HELLO: the chain */
	memset(&rp, 0, sizeof(rp));
	rp.op = NAPHRAD_OP_HELLO;
	rp.n_chain = 2;
	rp.chain[0] = rp.chain[1] = cert;
	rp.chain_len[0] = rp.chain_len[1] = sizeof(cert);
	rp.lifetime = 60;
	rp.max_lifetime = 120;
	n = naphrad_signer_reply_encode(&rp, buf, sizeof(buf));
	assert_int_equal(naphrad_signer_reply_decode(buf, (size_t)n, &d), 0);
	assert_int_equal(d.n_chain, 2);
	assert_int_equal(d.max_lifetime, 120);
	for (long k = 0; k < n; k++)
		assert_int_equal(naphrad_signer_reply_decode(buf, (size_t)k, &d), -EBADMSG);
}

/* ---- the signer ----------------------------------------------------------------------------- */

/* A CA key + self-signed certificate (with or without the compliant policy) in tmpdir. */
static void
make_ca(const char *name, EVP_PKEY *k, bool policy, struct naphrad_signer_conf *c)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	char path[256];
	FILE *f;

	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)name, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, k);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:TRUE");
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	e = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_key_identifier, "hash");
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	if (policy) {
		CERTIFICATEPOLICIES *pols = sk_POLICYINFO_new_null();
		POLICYINFO *pi = POLICYINFO_new();

		pi->policyid = OBJ_txt2obj(NAP_HCEP_OID_POLICY_COMPLIANT, 1);
		sk_POLICYINFO_push(pols, pi);
		assert_int_equal(X509_add1_ext_i2d(x, NID_certificate_policies, pols, 0, 0), 1);
		sk_POLICYINFO_pop_free(pols, POLICYINFO_free);
	}
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	snprintf(path, sizeof(path), "%s/%s.pem", tmpdir, name);
	f = fopen(path, "w");
	PEM_write_X509(f, x);
	fclose(f);
	c->ca_cert = strdup(path);
	snprintf(path, sizeof(path), "%s/%s.key", tmpdir, name);
	f = fopen(path, "w");
	PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	c->ca_key = strdup(path);
	snprintf(path, sizeof(path), "%s/%s.log", tmpdir, name);
	c->log = strdup(path);
	c->lifetime = 4 * 3600;
	c->max_lifetime = 24 * 3600;
	c->log_max_size = 1 << 20;
	c->log_keep = 2;
	c->rsa_min_bits = 2048;
	X509_NAME_free(n);
	X509_free(x);
}

static void
conf_free(struct naphrad_signer_conf *c)
{
	free(c->ca_cert);
	free(c->ca_key);
	free(c->log);
}

static void
template_for(EVP_PKEY *k, bool auth, struct naphrad_template *t)
{
	unsigned char *p = NULL;
	int n = i2d_PUBKEY(k, &p);

	memset(t, 0, sizeof(*t));
	assert_true(n > 0 && (size_t)n <= sizeof(t->pubkey));
	memcpy(t->pubkey, p, (size_t)n);
	t->pubkey_len = (size_t)n;
	OPENSSL_free(p);
	t->authenticated = auth;
	if (auth) {
		strcpy(t->cn, "pc1.napt.test");
		strcpy(t->dns[0], "pc1.napt.test");
		t->n_dns = 1;
	}
}

static bool
has_oid(const STACK_OF(ASN1_OBJECT) *s, const char *oid)
{
	for (int i = 0; i < sk_ASN1_OBJECT_num(s); i++) {
		char buf[64];

		OBJ_obj2txt(buf, sizeof(buf), sk_ASN1_OBJECT_value(s, i), 1);
		if (strcmp(buf, oid) == 0)
			return true;
	}
	return false;
}

static X509 *
issue_ok(struct naphrad_signer *s, const struct naphrad_template *t, int64_t now,
	 struct naphrad_signer_reply *rp)
{
	uint8_t *der = NULL;
	const unsigned char *q;
	X509 *x;

	memset(rp, 0, sizeof(*rp));
	if (naphrad_signer_issue(s, t, now, rp, &der) != 0)
		fail_msg("issue: %s", rp->error);
	q = der;
	x = d2i_X509(NULL, &q, (long)rp->cert_len);
	assert_non_null(x);
	free(der);
	return x;
}

static void
check_profile(X509 *x, EVP_PKEY *ca, bool auth, const struct naphrad_signer_reply *rp,
	      int64_t now, int64_t lifetime)
{
	EXTENDED_KEY_USAGE *eku;
	CERTIFICATEPOLICIES *pol;
	BASIC_CONSTRAINTS *bc;
	GENERAL_NAMES *san;
	ASN1_BIT_STRING *ku;
	int crit = -1;
	char buf[128];
	const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
	time_t t;

	assert_int_equal(X509_verify(x, ca), 1);
	assert_int_equal(X509_get_version(x), X509_VERSION_3);
	assert_int_equal(ASN1_STRING_length(serial), 16);
	assert_memory_equal(ASN1_STRING_get0_data(serial), rp->serial, 16);
	assert_true(rp->serial[0] & 0x40);
	assert_false(rp->serial[0] & 0x80);
	t = (time_t)(now - NAPHRAD_BACKDATE);
	{
		ASN1_TIME *want = ASN1_TIME_set(NULL, t);

		assert_int_equal(ASN1_TIME_compare(X509_get0_notBefore(x), want), 0);
		ASN1_TIME_set(want, (time_t)rp->not_after);
		assert_int_equal(ASN1_TIME_compare(X509_get0_notAfter(x), want), 0);
		ASN1_TIME_free(want);
	}
	assert_int_equal(rp->not_before, now - NAPHRAD_BACKDATE);
	assert_int_equal(rp->not_after, now + lifetime);
	X509_NAME_oneline(X509_get_subject_name(x), buf, sizeof(buf));
	assert_string_equal(buf, auth ? "/CN=pc1.napt.test" : "/CN=" NAPHRAD_ANON_SUBJECT);
	bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	assert_non_null(bc);
	assert_int_equal(crit, 1);
	assert_false(bc->ca);
	BASIC_CONSTRAINTS_free(bc);
	ku = X509_get_ext_d2i(x, NID_key_usage, &crit, NULL);
	assert_non_null(ku);
	assert_int_equal(crit, 1);
	assert_true(ASN1_BIT_STRING_get_bit(ku, 0));
	assert_false(ASN1_BIT_STRING_get_bit(ku, 5));
	ASN1_BIT_STRING_free(ku);
	eku = X509_get_ext_d2i(x, NID_ext_key_usage, &crit, NULL);
	assert_non_null(eku);
	assert_int_equal(crit, 0);
	assert_true(has_oid(eku, NAP_HCEP_OID_SOH));
	assert_true(has_oid(eku, "1.3.6.1.5.5.7.3.2") == auth);
	assert_int_equal(sk_ASN1_OBJECT_num(eku), auth ? 2 : 1);
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	pol = X509_get_ext_d2i(x, NID_certificate_policies, &crit, NULL);
	assert_non_null(pol);
	assert_int_equal(sk_POLICYINFO_num(pol), 1);
	OBJ_obj2txt(buf, sizeof(buf), sk_POLICYINFO_value(pol, 0)->policyid, 1);
	assert_string_equal(buf, NAP_HCEP_OID_POLICY_COMPLIANT);
	CERTIFICATEPOLICIES_free(pol);
	assert_non_null(X509_get0_subject_key_id(x));
	assert_non_null(X509_get0_authority_key_id(x));
	san = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	if (auth) {
		assert_non_null(san);
		assert_int_equal(sk_GENERAL_NAME_num(san), 1);
		assert_int_equal(sk_GENERAL_NAME_value(san, 0)->type, GEN_DNS);
	} else {
		assert_null(san);
	}
	GENERAL_NAMES_free(san);
}

static void
test_signer_profile(void **state)
{
	struct naphrad_signer_conf c = {0};
	struct naphrad_signer *s;
	struct naphrad_signer_reply rp;
	struct naphrad_template t;
	EVP_PKEY *ca = EVP_EC_gen("P-256"), *k = EVP_EC_gen("P-256"), *r = EVP_RSA_gen(2048);
	char err[256];
	int64_t now = (int64_t)time(NULL);
	X509 *x;
	FILE *f;
	char line[512];
	int lines = 0;

	(void)state;
	make_ca("ecca", ca, true, &c);
	assert_int_equal(naphrad_signer_new(&c, &s, err, sizeof(err)), 0);
	/* hello: the chain is the CA */
	naphrad_signer_hello(s, &rp);
	assert_int_equal(rp.n_chain, 1);
	assert_int_equal(rp.lifetime, 4 * 3600);
	/* anonymous, default lifetime */
	template_for(k, false, &t);
	x = issue_ok(s, &t, now, &rp);
	check_profile(x, ca, false, &rp, now, 4 * 3600);
	X509_free(x);
	/* authenticated, RSA request key, lifetime asked */
	template_for(r, true, &t);
	t.lifetime = 600;
	x = issue_ok(s, &t, now, &rp);
	check_profile(x, ca, true, &rp, now, 600);
	X509_free(x);
	/* a lifetime over the cap is capped */
	template_for(k, false, &t);
	t.lifetime = 7 * 86400;
	x = issue_ok(s, &t, now, &rp);
	assert_int_equal(rp.not_after, now + 24 * 3600);
	X509_free(x);
	/* never past the CA's own notAfter */
	x = issue_ok(s, &t, (int64_t)time(NULL) + 86400 - 60, &rp);
	assert_true(rp.not_after <= (int64_t)time(NULL) + 86400 + 5);
	X509_free(x);
	assert_int_equal(naphrad_signer_sync(s), 0);
	naphrad_signer_free(s);
	/* the issuance log: one line per certificate with its serial */
	f = fopen(c.log, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		assert_non_null(strstr(line, "serial="));
		lines++;
	}
	fclose(f);
	assert_int_equal(lines, 4);
	conf_free(&c);
	EVP_PKEY_free(ca);
	EVP_PKEY_free(k);
	EVP_PKEY_free(r);
}

static void
test_signer_refusals(void **state)
{
	struct naphrad_signer_conf c = {0};
	struct naphrad_signer *s;
	struct naphrad_signer_reply rp;
	struct naphrad_template t;
	EVP_PKEY *ca = EVP_EC_gen("P-256"), *k = EVP_EC_gen("P-256");
	EVP_PKEY *small = EVP_RSA_gen(1024), *p521 = EVP_EC_gen("P-521");
	uint8_t *der = NULL;
	char err[256];
	int64_t now = (int64_t)time(NULL);
	struct stat st;

	(void)state;
	make_ca("refca", ca, false, &c); /* without the policy: a warning, not an error */
	assert_int_equal(naphrad_signer_new(&c, &s, err, sizeof(err)), 0);
	template_for(k, false, &t);
	strcpy(t.cn, "sneaky");
	assert_int_equal(naphrad_signer_issue(s, &t, now, &rp, &der), -EINVAL);
	assert_non_null(strstr(rp.error, "anonymous"));
	template_for(k, false, &t);
	strcpy(t.dns[0], "x.example");
	t.n_dns = 1;
	assert_int_equal(naphrad_signer_issue(s, &t, now, &rp, &der), -EINVAL);
	template_for(k, true, &t);
	strcpy(t.dns[0], "*.example");
	assert_int_equal(naphrad_signer_issue(s, &t, now, &rp, &der), -EINVAL);
	assert_non_null(strstr(rp.error, "DNS"));
	template_for(k, true, &t);
	strcpy(t.cn, "bad\x01name");
	assert_int_equal(naphrad_signer_issue(s, &t, now, &rp, &der), -EINVAL);
	template_for(k, true, &t);
	t.cn[0] = '\0';
	assert_int_equal(naphrad_signer_issue(s, &t, now, &rp, &der), -EINVAL);
	/* keys */
	template_for(small, false, &t);
	assert_int_equal(naphrad_signer_issue(s, &t, now, &rp, &der), -EINVAL);
	assert_non_null(strstr(rp.error, "RSA key size"));
	template_for(p521, false, &t);
	assert_int_equal(naphrad_signer_issue(s, &t, now, &rp, &der), -EINVAL);
	template_for(k, false, &t);
	t.pubkey[t.pubkey_len++] = 0; /* trailing byte */
	assert_int_equal(naphrad_signer_issue(s, &t, now, &rp, &der), -EINVAL);
	template_for(k, false, &t);
	t.pubkey[t.pubkey_len - 5] ^= 0x55; /* not a point on the curve any more */
	assert_int_equal(naphrad_signer_issue(s, &t, now, &rp, &der), -EINVAL);
	memset(t.pubkey, 0x30, 40);
	t.pubkey_len = 40;
	assert_int_equal(naphrad_signer_issue(s, &t, now, &rp, &der), -EINVAL);
	assert_null(der);
	naphrad_signer_free(s);
	/* nothing was logged */
	assert_int_equal(stat(c.log, &st), 0);
	assert_int_equal(st.st_size, 0);
	/* a key that is not the certificate's */
	free(c.ca_key);
	{
		char path[256];
		FILE *f;

		snprintf(path, sizeof(path), "%s/other.key", tmpdir);
		f = fopen(path, "w");
		PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
		fclose(f);
		c.ca_key = strdup(path);
	}
	assert_int_equal(naphrad_signer_new(&c, &s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "does not match"));
	conf_free(&c);
	EVP_PKEY_free(ca);
	EVP_PKEY_free(k);
	EVP_PKEY_free(small);
	EVP_PKEY_free(p521);
}

/* An issuance log that cannot be written (a full disk): the batch's sync fails, so the signer
 * answers its certificates with an error instead of sending them. */
static void
test_signer_log_full(void **state)
{
	struct naphrad_signer_conf c = {0};
	struct naphrad_signer *s;
	struct naphrad_signer_reply rp;
	struct naphrad_template t;
	EVP_PKEY *ca = EVP_EC_gen("P-256"), *k = EVP_EC_gen("P-256");
	char err[256];
	X509 *x;

	(void)state;
	make_ca("fullca", ca, true, &c);
	free(c.log);
	c.log = strdup("/dev/full");
	assert_int_equal(naphrad_signer_new(&c, &s, err, sizeof(err)), 0);
	template_for(k, false, &t);
	x = issue_ok(s, &t, (int64_t)time(NULL), &rp);
	X509_free(x);
	assert_int_equal(naphrad_signer_sync(s), -ENOSPC);
	/* nothing buffered is carried into the next batch */
	assert_int_equal(naphrad_signer_sync(s), 0);
	naphrad_signer_free(s);
	/* a write failing half-way through a batch (here: the flush before a rotation) fails the
	 * whole batch's sync, also for the certificates whose lines were buffered before it */
	c.log_max_size = 300; /* one line fits, the second one rotates */
	assert_int_equal(naphrad_signer_new(&c, &s, err, sizeof(err)), 0);
	x = issue_ok(s, &t, (int64_t)time(NULL), &rp);
	X509_free(x);
	{
		uint8_t *der = NULL;

		memset(&rp, 0, sizeof(rp));
		assert_int_not_equal(naphrad_signer_issue(s, &t, (int64_t)time(NULL), &rp, &der), 0);
		assert_null(der);
		assert_non_null(strstr(rp.error, "issuance log"));
	}
	assert_int_equal(naphrad_signer_sync(s), -ENOSPC);
	assert_int_equal(naphrad_signer_sync(s), 0);
	naphrad_signer_free(s);
	conf_free(&c);
	EVP_PKEY_free(ca);
	EVP_PKEY_free(k);
}

static void
test_signer_rsa_ca_and_rotation(void **state)
{
	struct naphrad_signer_conf c = {0};
	struct naphrad_signer *s;
	struct naphrad_signer_reply rp;
	struct naphrad_template t;
	EVP_PKEY *ca = EVP_RSA_gen(2048), *k = EVP_EC_gen("P-256");
	char err[256], path[300];
	int64_t now = (int64_t)time(NULL);
	struct stat st;
	uint8_t serials[100][NAPHRAD_SERIAL_LEN];

	(void)state;
	make_ca("rsaca", ca, true, &c);
	c.log_max_size = 4096; /* about 16 records per file */
	c.log_keep = 2;
	assert_int_equal(naphrad_signer_new(&c, &s, err, sizeof(err)), 0);
	template_for(k, true, &t);
	for (int i = 0; i < 100; i++) {
		X509 *x = issue_ok(s, &t, now, &rp);

		/* serials from the pool (refilled past 64): positive, 128 bits, never twice */
		memcpy(serials[i], rp.serial, sizeof(rp.serial));
		assert_int_equal(serials[i][0] & 0xc0, 0x40);
		for (int j = 0; j < i; j++)
			assert_memory_not_equal(serials[j], serials[i], sizeof(rp.serial));
		if (i == 0) {
			assert_int_equal(X509_get_signature_nid(x), NID_sha256WithRSAEncryption);
			check_profile(x, ca, true, &rp, now, 4 * 3600);
		}
		X509_free(x);
	}
	assert_int_equal(naphrad_signer_sync(s), 0);
	naphrad_signer_free(s);
	/* bounded: the live file under the limit, .1 and .2 kept, .3 never */
	assert_int_equal(stat(c.log, &st), 0);
	assert_true(st.st_size <= 4096);
	snprintf(path, sizeof(path), "%s.1", c.log);
	assert_int_equal(stat(path, &st), 0);
	snprintf(path, sizeof(path), "%s.2", c.log);
	assert_int_equal(stat(path, &st), 0);
	snprintf(path, sizeof(path), "%s.3", c.log);
	assert_int_not_equal(stat(path, &st), 0);
	conf_free(&c);
	EVP_PKEY_free(ca);
	EVP_PKEY_free(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_defaults),
		cmocka_unit_test(test_config_values),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_proto_request),
		cmocka_unit_test(test_proto_reply),
		cmocka_unit_test(test_signer_profile),
		cmocka_unit_test(test_signer_refusals),
		cmocka_unit_test(test_signer_rsa_ca_and_rotation),
		cmocka_unit_test(test_signer_log_full),
	};
	int r;
	char cmd[96];

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/naphrad-unit.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		r = 1;
	return r;
}
