// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The agent CA (OpenSSL 3): loading or creating it, checking enrollment requests (PKCS#10) and
 * issuing agent client certificates. Handles untrusted input: the CSR comes from the network,
 * before the sender is authenticated (the one-time token is checked by the caller). Nothing of
 * the CSR but its public key reaches the certificate.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "nap/util.h"
#include "agent.h"

#define CA_FILE_MAX     (64 * 1024)
#define CA_CN_PREFIX    "nap agent CA "
#define SERIAL_BYTES    16 /* 128 random bits */
#define RSA_MIN_BITS    2048

struct napsited_agent_ca {
	X509 *cert;
	EVP_PKEY *key;
	char *pem;
	int64_t not_after;
};

__attribute__((format(printf, 4, 5))) static int
ca_err(char *err, size_t len, int r, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && len > 0) {
		va_start(ap, fmt);
		vsnprintf(err, len, fmt, ap);
		va_end(ap);
	}
	ERR_clear_error();
	return r;
}

/* OpenSSL's reason for the last failure, for messages. */
static const char *
ossl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *s = e != 0 ? ERR_reason_error_string(e) : NULL;

	return s != NULL ? s : "unknown OpenSSL error";
}

int
napsited_agent_serial_hex(const uint8_t *p, size_t n, char out[65])
{
	/* DER pads a positive number with 0x00 when its top bit is set: the hex leaves it out. */
	while (n > 1 && p[0] == 0)
		p++, n--;
	if (n == 0 || n > 32)
		return -EINVAL;
	nap_hex_encode(p, n, out);
	return 0;
}

static int
asn1_time_unix(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return -EINVAL;
	*out = (int64_t)timegm(&tm);
	return 0;
}

int
napsited_enroll_token_hash(const char *hex, size_t len, uint8_t hash[32])
{
	uint8_t raw[NAP_AGENT_TOKEN_LEN];

	if (len != 2 * NAP_AGENT_TOKEN_LEN)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		char c = hex[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return -EINVAL;
	}
	if (nap_hex_decode(hex, len, raw, sizeof(raw), NULL) != (long)sizeof(raw))
		return -EINVAL;
	SHA256(raw, sizeof(raw), hash);
	nap_wipe(raw, sizeof(raw));
	return 0;
}

/* ---- the CA ----------------------------------------------------------------------------- */

void
napsited_agent_ca_free(struct napsited_agent_ca *ca)
{
	if (ca == NULL)
		return;
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	free(ca->pem);
	free(ca);
}

const char *
napsited_agent_ca_pem(const struct napsited_agent_ca *ca)
{
	return ca->pem;
}

static int
x509_pem(X509 *x, char **out)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;

	if (b == NULL || PEM_write_bio_X509(b, x) != 1) {
		BIO_free(b);
		return -ENOMEM;
	}
	n = BIO_get_mem_data(b, &p);
	*out = malloc((size_t)n + 1);
	if (*out == NULL) {
		BIO_free(b);
		return -ENOMEM;
	}
	memcpy(*out, p, (size_t)n);
	(*out)[n] = '\0';
	BIO_free(b);
	return 0;
}

static int
add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		return -EINVAL;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? 0 : -ENOMEM;
}

static int
random_serial(X509 *cert, char hex[65])
{
	uint8_t raw[SERIAL_BYTES];
	ASN1_INTEGER *ai = NULL;
	BIGNUM *bn;
	int r = -ENOMEM;

	do {
		if (RAND_bytes(raw, sizeof(raw)) != 1)
			return -EIO;
	} while (raw[0] == 0); /* a full 16-byte number: the hex is always 32 characters */
	bn = BN_bin2bn(raw, sizeof(raw), NULL);
	if (bn != NULL && (ai = BN_to_ASN1_INTEGER(bn, NULL)) != NULL &&
	    X509_set_serialNumber(cert, ai) == 1)
		r = napsited_agent_serial_hex(raw, sizeof(raw), hex);
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	return r;
}

/* CN as a UTF8String set directly: OpenSSL's table would cap it at 64, client names go to 255. */
static int
name_cn(X509_NAME *name, const char *cn)
{
	return X509_NAME_add_entry_by_NID(name, NID_commonName, V_ASN1_UTF8STRING,
					  (const unsigned char *)cn, (int)strlen(cn), -1, 0) == 1
		       ? 0
		       : -EINVAL;
}

static int
set_validity(X509 *cert, int64_t from, int64_t until)
{
	return ASN1_TIME_set(X509_getm_notBefore(cert), (time_t)from) != NULL &&
			       ASN1_TIME_set(X509_getm_notAfter(cert), (time_t)until) != NULL
		       ? 0
		       : -EINVAL;
}

static int
ca_build(const char *site, int64_t now, struct napsited_agent_ca *ca, char *err, size_t len)
{
	char cn[sizeof(CA_CN_PREFIX) + NAP_SITE_MAX + 1];
	char serial[65];
	X509 *cert;

	ca->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (ca->key == NULL)
		return ca_err(err, len, -EIO, "agent CA: key generation: %s", ossl_reason());
	cert = X509_new();
	if (cert == NULL)
		return -ENOMEM;
	ca->cert = cert;
	snprintf(cn, sizeof(cn), "%s%s", CA_CN_PREFIX, site);
	if (X509_set_version(cert, X509_VERSION_3) != 1 || random_serial(cert, serial) < 0 ||
	    name_cn(X509_get_subject_name(cert), cn) < 0 ||
	    X509_set_issuer_name(cert, X509_get_subject_name(cert)) != 1 ||
	    set_validity(cert, now - NAPSITED_AGENT_BACKDATE, now + NAPSITED_AGENT_CA_LIFETIME) < 0 ||
	    X509_set_pubkey(cert, ca->key) != 1 ||
	    add_ext(cert, cert, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") < 0 ||
	    add_ext(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign") < 0 ||
	    add_ext(cert, cert, NID_subject_key_identifier, "hash") < 0 ||
	    X509_sign(cert, ca->key, EVP_sha256()) <= 0)
		return ca_err(err, len, -EIO, "agent CA: building the certificate: %s",
			      ossl_reason());
	return 0;
}

/* Write the new CA: the key first, so a crash never leaves a certificate without its key. */
static int
ca_write(const struct napsited_agent_ca *ca, const char *cert_path, const char *key_path,
	 const char *owner, char *err, size_t len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;
	int r;

	if (b == NULL)
		return -ENOMEM;
	if (PEM_write_bio_PrivateKey(b, ca->key, NULL, NULL, 0, NULL, NULL) != 1) {
		BIO_free(b);
		return ca_err(err, len, -EIO, "agent CA: encoding the key: %s", ossl_reason());
	}
	n = BIO_get_mem_data(b, &p);
	r = nap_write_file_atomic(key_path, p, (size_t)n, 0600);
	nap_wipe(p, (size_t)n);
	BIO_free(b);
	if (r < 0)
		return ca_err(err, len, r, "agent CA: writing %s: %s", key_path, strerror(-r));
	r = nap_write_file_atomic(cert_path, ca->pem, strlen(ca->pem), 0644);
	if (r < 0)
		return ca_err(err, len, r, "agent CA: writing %s: %s", cert_path, strerror(-r));
	if (owner != NULL && geteuid() == 0) {
		struct passwd *pw = getpwnam(owner);

		if (pw == NULL)
			return ca_err(err, len, -ENOENT, "agent CA: no user %s", owner);
		if (chown(key_path, pw->pw_uid, pw->pw_gid) < 0 ||
		    chown(cert_path, pw->pw_uid, pw->pw_gid) < 0)
			return ca_err(err, len, -errno, "agent CA: chown to %s: %s", owner,
				      strerror(errno));
	}
	return 0;
}

static int
ca_read(const char *cert_path, const char *key_path, int64_t now, struct napsited_agent_ca *ca,
	char *err, size_t len)
{
	uint8_t *buf = NULL;
	size_t n;
	struct stat st;
	BIO *b;
	int r;

	if (stat(key_path, &st) < 0)
		return ca_err(err, len, -errno, "agent CA: %s: %s", key_path, strerror(errno));
	if ((st.st_mode & 077) != 0)
		return ca_err(err, len, -EPERM,
			      "agent CA: %s must not be accessible by group or other (chmod 600)",
			      key_path);
	r = nap_read_file(key_path, CA_FILE_MAX, &buf, &n);
	if (r < 0)
		return ca_err(err, len, r, "agent CA: %s: %s", key_path, strerror(-r));
	b = BIO_new_mem_buf(buf, (int)n);
	ca->key = b != NULL ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	nap_wipe(buf, n);
	free(buf);
	if (ca->key == NULL)
		return ca_err(err, len, -EINVAL, "agent CA: %s: no private key: %s", key_path,
			      ossl_reason());

	r = nap_read_file(cert_path, CA_FILE_MAX, &buf, &n);
	if (r < 0)
		return ca_err(err, len, r, "agent CA: %s: %s", cert_path, strerror(-r));
	b = BIO_new_mem_buf(buf, (int)n);
	ca->cert = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	free(buf);
	if (ca->cert == NULL)
		return ca_err(err, len, -EINVAL, "agent CA: %s: no certificate: %s", cert_path,
			      ossl_reason());
	if (X509_check_private_key(ca->cert, ca->key) != 1)
		return ca_err(err, len, -EINVAL, "agent CA: %s does not match the key %s",
			      cert_path, key_path);
	if (X509_check_ca(ca->cert) == 0)
		return ca_err(err, len, -EINVAL, "agent CA: %s is not a CA certificate",
			      cert_path);
	if (asn1_time_unix(X509_get0_notAfter(ca->cert), &ca->not_after) < 0)
		return ca_err(err, len, -EINVAL, "agent CA: %s: bad notAfter", cert_path);
	if (ca->not_after <= now)
		return ca_err(err, len, -EKEYEXPIRED, "agent CA: %s has expired", cert_path);
	return 0;
}

int
napsited_agent_ca_load(const char *cert_path, const char *key_path, const char *site,
		       const char *owner, int64_t now, struct napsited_agent_ca **out, char *err,
		       size_t len)
{
	struct napsited_agent_ca *ca = calloc(1, sizeof(*ca));
	bool have_cert = access(cert_path, F_OK) == 0, have_key = access(key_path, F_OK) == 0;
	int r;

	if (ca == NULL)
		return -ENOMEM;
	if (!have_cert && !have_key) {
		r = ca_build(site, now, ca, err, len);
		if (r == 0)
			r = x509_pem(ca->cert, &ca->pem);
		if (r == 0)
			r = ca_write(ca, cert_path, key_path, owner, err, len);
		ca->not_after = now + NAPSITED_AGENT_CA_LIFETIME;
	} else if (have_cert != have_key) {
		r = ca_err(err, len, -ENOENT,
			   "agent CA: %s exists but %s does not (both or neither, to create one)",
			   have_cert ? cert_path : key_path, have_cert ? key_path : cert_path);
	} else {
		r = ca_read(cert_path, key_path, now, ca, err, len);
		if (r == 0)
			r = x509_pem(ca->cert, &ca->pem);
	}
	if (r < 0) {
		napsited_agent_ca_free(ca);
		return r;
	}
	*out = ca;
	return 0;
}

/* ---- enrollment ------------------------------------------------------------------------- */

static int
csr_key_check(EVP_PKEY *pk, char *err, size_t len)
{
	char group[64];

	if (EVP_PKEY_is_a(pk, "RSA")) {
		if (EVP_PKEY_get_bits(pk) < RSA_MIN_BITS)
			return ca_err(err, len, -EINVAL, "RSA key of %d bits, at least %d required",
				      EVP_PKEY_get_bits(pk), RSA_MIN_BITS);
		return 0;
	}
	if (EVP_PKEY_is_a(pk, "EC")) {
		if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group,
						   sizeof(group), NULL) != 1 ||
		    strcmp(group, "prime256v1") != 0)
			return ca_err(err, len, -EINVAL, "EC key not on P-256");
		return 0;
	}
	return ca_err(err, len, -EINVAL, "key type %s not accepted (EC P-256 or RSA >= %d)",
		      EVP_PKEY_get0_type_name(pk) != NULL ? EVP_PKEY_get0_type_name(pk) : "?",
		      RSA_MIN_BITS);
}

int
napsited_enroll_csr_check(const char *pem, size_t len, X509_REQ **out, char *err, size_t err_len)
{
	X509_REQ *req;
	EVP_PKEY *pk;
	BIO *b;
	int r;

	if (len == 0 || len > NAPSITED_AGENT_BODY_MAX)
		return ca_err(err, err_len, -EINVAL, "csr: empty or too long");
	b = BIO_new_mem_buf(pem, (int)len);
	if (b == NULL)
		return -ENOMEM;
	req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
	BIO_free(b);
	if (req == NULL)
		return ca_err(err, err_len, -EINVAL, "csr: not a PEM certificate request");
	pk = X509_REQ_get0_pubkey(req);
	if (pk == NULL) {
		X509_REQ_free(req);
		return ca_err(err, err_len, -EINVAL, "csr: no usable public key");
	}
	r = csr_key_check(pk, err, err_len);
	if (r == 0 && X509_REQ_verify(req, pk) != 1)
		r = ca_err(err, err_len, -EINVAL, "csr: the signature does not verify");
	if (r < 0) {
		X509_REQ_free(req);
		return r;
	}
	ERR_clear_error();
	*out = req;
	return 0;
}

int
napsited_enroll_issue(const struct napsited_agent_ca *ca, X509_REQ *req, const char *client,
		      int64_t now, int64_t lifetime, char **pem, struct nap_agent_cert *rec,
		      char *err, size_t err_len)
{
	int64_t until = now + lifetime;
	X509 *cert;
	int r;

	if (client[0] == '\0' || strlen(client) > NAP_CLIENT_NAME_MAX || lifetime <= 0)
		return -EINVAL;
	if (until > ca->not_after)
		until = ca->not_after;
	memset(rec, 0, sizeof(*rec));
	cert = X509_new();
	if (cert == NULL)
		return -ENOMEM;
	if (X509_set_version(cert, X509_VERSION_3) != 1 || random_serial(cert, rec->serial) < 0 ||
	    name_cn(X509_get_subject_name(cert), client) < 0 ||
	    X509_set_issuer_name(cert, X509_get_subject_name(ca->cert)) != 1 ||
	    set_validity(cert, now - NAPSITED_AGENT_BACKDATE, until) < 0 ||
	    X509_set_pubkey(cert, X509_REQ_get0_pubkey(req)) != 1 ||
	    add_ext(cert, ca->cert, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    add_ext(cert, ca->cert, NID_key_usage, "critical,digitalSignature") < 0 ||
	    add_ext(cert, ca->cert, NID_ext_key_usage, "clientAuth") < 0 ||
	    add_ext(cert, ca->cert, NID_subject_key_identifier, "hash") < 0 ||
	    add_ext(cert, ca->cert, NID_authority_key_identifier, "keyid:always") < 0 ||
	    X509_sign(cert, ca->key, EVP_sha256()) <= 0) {
		r = ca_err(err, err_len, -EIO, "issuing: %s", ossl_reason());
		X509_free(cert);
		return r;
	}
	r = x509_pem(cert, pem);
	X509_free(cert);
	if (r < 0)
		return r;
	snprintf(rec->client, sizeof(rec->client), "%s", client);
	rec->issued = now;
	rec->not_after = until;
	return 0;
}
