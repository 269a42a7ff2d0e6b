// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The signer: the only process that holds the health CA's private key. It signs templates, never
 * requests: naphrad sends a public key, the names and the lifetime it wants (signer_proto.c); the
 * signer checks each of them itself (key type and size, name syntax, anonymous requests carry no
 * names, lifetime within its own cap) and builds the certificate from its own fixed profile:
 *
 *   version 3, serial 128 random bits, issuer = the CA's subject,
 *   notBefore now - 5 min, notAfter now + lifetime (never past the CA's own notAfter),
 *   subject CN=<identity> (authenticated) or CN=Unauthenticated System Health Authentication,
 *   basicConstraints CA:FALSE (critical), keyUsage digitalSignature (critical),
 *   extendedKeyUsage System Health Authentication 1.3.6.1.4.1.311.47.1.1 (+ clientAuth when
 *   authenticated), certificatePolicies 1.3.6.1.4.1.311.47.1.10 (compliant; strongSwan checks
 *   it with cert_policy), subjectKeyIdentifier, authorityKeyIdentifier, subjectAltName DNS names
 *   (authenticated only).
 *
 * Issuance log: one text line per certificate, appended, and fdatasync'ed before any certificate
 * of a batch is sent back (group commit: the loop reads every request waiting, signs them, syncs
 * once, answers). Rotated by size into FILE.1 .. FILE.<keep>; rotated files older than
 * log_max_age go too. Short-lived certificates need no CRL or OCSP (see naphrad(8)).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/store.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "nap/hcep.h"
#include "nap/log.h"
#include "nap/util.h"
#include "naphrad.h"

#define SIGNER_BATCH 64
#define SIGNER_IN_MAX (NAPHRAD_MAX_PUBKEY + 4096) /* a request datagram: template + framing */
#define SIGNER_LOG_LINE 512
#define SIGNER_SERIALS  64

struct naphrad_signer {
	struct naphrad_signer_conf conf; /* strings owned */
	X509 *ca;
	EVP_PKEY *key;
	const EVP_MD *md;
	int64_t ca_not_after;
	size_t n_chain; /* chain[0] is the CA certificate */
	uint8_t *chain[NAPHRAD_MAX_CHAIN];
	size_t chain_len[NAPHRAD_MAX_CHAIN];
	/* the fixed parts of the profile, encoded once */
	X509_EXTENSION *ext_bc, *ext_ku, *ext_eku_anon, *ext_eku_auth, *ext_pol, *ext_aki;
	X509_NAME *anon_name;
	struct naphrad_csr_keys *keys; /* EC key templates for the point checks */
	int log_fd;
	uint64_t log_size;
	bool log_dirty;
	/* the batch's log lines, written with one write() before the batch's fdatasync */
	char log_buf[SIGNER_BATCH * SIGNER_LOG_LINE];
	size_t log_buffered;
	/* a write or rotation of this batch failed: its sync fails, so no certificate of the batch
	 * leaves, including those whose lines were buffered before the failure */
	int log_error;
	/* serial numbers drawn SIGNER_SERIALS at a time (one DRBG call, not one per certificate);
	 * empty at start, so a pool is only ever filled in the process that issues from it */
	uint8_t serials[SIGNER_SERIALS][NAPHRAD_SERIAL_LEN];
	unsigned n_serials;
};

static void
signer_conf_free(struct naphrad_signer_conf *c)
{
	free(c->ca_cert);
	free(c->ca_key);
	free(c->chain);
	free(c->pkcs11_module);
	free(c->pin_file);
	free(c->user);
	free(c->log);
	memset(c, 0, sizeof(*c));
}

static int
signer_conf_copy(struct naphrad_signer_conf *dst, const struct naphrad_signer_conf *src)
{
	*dst = *src;
	dst->ca_cert = src->ca_cert ? strdup(src->ca_cert) : NULL;
	dst->ca_key = src->ca_key ? strdup(src->ca_key) : NULL;
	dst->chain = src->chain ? strdup(src->chain) : NULL;
	dst->pkcs11_module = src->pkcs11_module ? strdup(src->pkcs11_module) : NULL;
	dst->pin_file = src->pin_file ? strdup(src->pin_file) : NULL;
	dst->user = src->user ? strdup(src->user) : NULL;
	dst->log = src->log ? strdup(src->log) : NULL;
	if ((src->ca_cert && !dst->ca_cert) || (src->ca_key && !dst->ca_key) ||
	    (src->chain && !dst->chain) || (src->user && !dst->user) || (src->log && !dst->log) ||
	    (src->pkcs11_module && !dst->pkcs11_module) || (src->pin_file && !dst->pin_file)) {
		signer_conf_free(dst);
		return -ENOMEM;
	}
	return 0;
}

void
naphrad_signer_free(struct naphrad_signer *s)
{
	if (s == NULL)
		return;
	X509_free(s->ca);
	EVP_PKEY_free(s->key);
	for (size_t i = 0; i < s->n_chain; i++)
		free(s->chain[i]);
	X509_EXTENSION_free(s->ext_bc);
	X509_EXTENSION_free(s->ext_ku);
	X509_EXTENSION_free(s->ext_eku_anon);
	X509_EXTENSION_free(s->ext_eku_auth);
	X509_EXTENSION_free(s->ext_pol);
	X509_EXTENSION_free(s->ext_aki);
	X509_NAME_free(s->anon_name);
	naphrad_csr_keys_free(s->keys);
	if (s->log_fd >= 0)
		close(s->log_fd);
	signer_conf_free(&s->conf);
	free(s);
}

__attribute__((format(printf, 4, 5))) static int
signer_fail(char *err, size_t len, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	ERR_clear_error();
	return r;
}

/* The CA key: a PEM file, or any URI OpenSSL's store loaders know (pkcs11: is the engine's). */
static EVP_PKEY *
signer_load_key(const char *uri)
{
	OSSL_STORE_CTX *st;
	EVP_PKEY *k = NULL;

	if (strchr(uri, ':') == NULL || strncmp(uri, "file:", 5) == 0) {
		FILE *f = fopen(uri + (strncmp(uri, "file:", 5) == 0 ? 5 : 0), "re");

		if (f == NULL)
			return NULL;
		k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
		return k;
	}
	if ((st = OSSL_STORE_open(uri, NULL, NULL, NULL, NULL)) == NULL)
		return NULL;
	while (k == NULL && !OSSL_STORE_eof(st)) {
		OSSL_STORE_INFO *info = OSSL_STORE_load(st);

		if (info == NULL)
			break;
		if (OSSL_STORE_INFO_get_type(info) == OSSL_STORE_INFO_PKEY)
			k = OSSL_STORE_INFO_get1_PKEY(info);
		OSSL_STORE_INFO_free(info);
	}
	OSSL_STORE_close(st);
	return k;
}

static int
signer_add_chain(struct naphrad_signer *s, X509 *x)
{
	unsigned char *der = NULL;
	int n;

	if (s->n_chain >= NAPHRAD_MAX_CHAIN)
		return -E2BIG;
	n = i2d_X509(x, &der);
	if (n <= 0 || n > NAPHRAD_MAX_CERT) {
		OPENSSL_free(der);
		return -EINVAL;
	}
	s->chain[s->n_chain] = malloc((size_t)n);
	if (s->chain[s->n_chain] == NULL) {
		OPENSSL_free(der);
		return -ENOMEM;
	}
	memcpy(s->chain[s->n_chain], der, (size_t)n);
	s->chain_len[s->n_chain++] = (size_t)n;
	OPENSSL_free(der);
	return 0;
}

/* Does the CA allow the compliant policy (itself or anyPolicy)? strongSwan needs it to. */
static bool
signer_ca_has_policy(X509 *ca)
{
	CERTIFICATEPOLICIES *pol = X509_get_ext_d2i(ca, NID_certificate_policies, NULL, NULL);
	bool ok = false;

	for (int i = 0; pol != NULL && i < sk_POLICYINFO_num(pol); i++) {
		char buf[64];
		POLICYINFO *pi = sk_POLICYINFO_value(pol, i);

		if (OBJ_obj2nid(pi->policyid) == NID_any_policy ||
		    (OBJ_obj2txt(buf, sizeof(buf), pi->policyid, 1) > 0 &&
		     strcmp(buf, NAP_HCEP_OID_POLICY_COMPLIANT) == 0))
			ok = true;
	}
	CERTIFICATEPOLICIES_free(pol);
	return ok;
}

static int
signer_profile(struct naphrad_signer *s)
{
	BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
	ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
	EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
	CERTIFICATEPOLICIES *pols = sk_POLICYINFO_new_null();
	POLICYINFO *pi = POLICYINFO_new();
	AUTHORITY_KEYID *aki = AUTHORITY_KEYID_new();
	const ASN1_OCTET_STRING *ca_ski = X509_get0_subject_key_id(s->ca);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int r = -ENOMEM;

	if (bc == NULL || ku == NULL || eku == NULL || pols == NULL || pi == NULL || aki == NULL)
		goto out;
	bc->ca = 0;
	if (!ASN1_BIT_STRING_set_bit(ku, 0, 1)) /* digitalSignature */
		goto out;
	if (sk_ASN1_OBJECT_push(eku, OBJ_txt2obj(NAP_HCEP_OID_SOH, 1)) <= 0)
		goto out;
	s->ext_bc = X509V3_EXT_i2d(NID_basic_constraints, 1, bc);
	s->ext_ku = X509V3_EXT_i2d(NID_key_usage, 1, ku);
	s->ext_eku_anon = X509V3_EXT_i2d(NID_ext_key_usage, 0, eku);
	if (sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_client_auth)) <= 0)
		goto out;
	s->ext_eku_auth = X509V3_EXT_i2d(NID_ext_key_usage, 0, eku);
	pi->policyid = OBJ_txt2obj(NAP_HCEP_OID_POLICY_COMPLIANT, 1);
	if (pi->policyid == NULL || sk_POLICYINFO_push(pols, pi) <= 0)
		goto out;
	pi = NULL;
	s->ext_pol = X509V3_EXT_i2d(NID_certificate_policies, 0, pols);
	/* AKI keyid: the CA's own SKI, or the RFC 5280 method 1 hash of its key. */
	if ((aki->keyid = ASN1_OCTET_STRING_new()) == NULL)
		goto out;
	if (ca_ski != NULL) {
		if (!ASN1_OCTET_STRING_set(aki->keyid, ASN1_STRING_get0_data(ca_ski),
					   ASN1_STRING_length(ca_ski)))
			goto out;
	} else if (!X509_pubkey_digest(s->ca, EVP_sha1(), md, &mdlen) ||
		   !ASN1_OCTET_STRING_set(aki->keyid, md, (int)mdlen)) {
		goto out;
	}
	s->ext_aki = X509V3_EXT_i2d(NID_authority_key_identifier, 0, aki);
	s->anon_name = X509_NAME_new();
	if (s->anon_name == NULL ||
	    !X509_NAME_add_entry_by_NID(s->anon_name, NID_commonName, MBSTRING_UTF8,
					(const unsigned char *)NAPHRAD_ANON_SUBJECT, -1, -1, 0))
		goto out;
	if (s->ext_bc && s->ext_ku && s->ext_eku_anon && s->ext_eku_auth && s->ext_pol && s->ext_aki)
		r = 0;
out:
	BASIC_CONSTRAINTS_free(bc);
	ASN1_BIT_STRING_free(ku);
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	sk_POLICYINFO_pop_free(pols, POLICYINFO_free);
	POLICYINFO_free(pi);
	AUTHORITY_KEYID_free(aki);
	ERR_clear_error();
	return r;
}

/* ---- the issuance log ---------------------------------------------------------------------- */

static void
signer_log_prune(struct naphrad_signer *s, int64_t now)
{
	char path[4096];
	struct stat st;

	for (unsigned i = 1; i <= s->conf.log_keep + 8; i++) {
		snprintf(path, sizeof(path), "%s.%u", s->conf.log, i);
		if (stat(path, &st) < 0)
			continue;
		if (i > s->conf.log_keep ||
		    (s->conf.log_max_age > 0 && (int64_t)st.st_mtime < now - s->conf.log_max_age))
			unlink(path);
	}
}

static int
signer_log_open(struct naphrad_signer *s)
{
	struct stat st;

	s->log_fd = open(s->conf.log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (s->log_fd < 0)
		return -errno;
	if (fstat(s->log_fd, &st) < 0)
		return -errno;
	s->log_size = (uint64_t)st.st_size;
	return 0;
}

/* FILE -> FILE.1 -> ... -> FILE.<keep> (dropped), then a fresh FILE. */
static int
signer_log_rotate(struct naphrad_signer *s, int64_t now)
{
	char from[4096], to[4096];

	if (s->log_dirty && fdatasync(s->log_fd) < 0)
		return -errno;
	s->log_dirty = false;
	for (unsigned i = s->conf.log_keep; i >= 1; i--) {
		if (i == 1)
			snprintf(from, sizeof(from), "%s", s->conf.log);
		else
			snprintf(from, sizeof(from), "%s.%u", s->conf.log, i - 1);
		snprintf(to, sizeof(to), "%s.%u", s->conf.log, i);
		if (rename(from, to) < 0 && errno != ENOENT)
			log_warn("signer: issuance log: rename %s", from);
	}
	if (s->conf.log_keep == 0 && unlink(s->conf.log) < 0 && errno != ENOENT)
		log_warn("signer: issuance log: unlink %s", s->conf.log);
	close(s->log_fd);
	s->log_fd = -1;
	signer_log_prune(s, now);
	return signer_log_open(s);
}

/* The lines buffered for the batch go to the file. On a failure what reached the file stays (a
 * line for a certificate not issued: the safe side) and the caller refuses the batch. */
static int
signer_log_flush(struct naphrad_signer *s)
{
	size_t done = 0;
	int r = 0;

	/* after a rotation that could not open the new file: try again */
	if (s->log_buffered > 0 && s->log_fd < 0)
		r = signer_log_open(s);
	while (r == 0 && done < s->log_buffered) {
		ssize_t w = write(s->log_fd, s->log_buf + done, s->log_buffered - done);

		if (w > 0)
			done += (size_t)w;
		else if (w == 0 || errno != EINTR)
			r = w < 0 ? -errno : -EIO;
	}
	s->log_size += done;
	s->log_buffered = 0;
	s->log_dirty = s->log_dirty || done > 0;
	return r;
}

static int
signer_log_append(struct naphrad_signer *s, const char *line, size_t n, int64_t now)
{
	int r;

	if (s->log_size + s->log_buffered + n > s->conf.log_max_size) {
		if ((r = signer_log_flush(s)) < 0 || (r = signer_log_rotate(s, now)) < 0)
			goto fail;
	}
	if (s->log_buffered + n > sizeof(s->log_buf) && (r = signer_log_flush(s)) < 0)
		goto fail;
	memcpy(s->log_buf + s->log_buffered, line, n);
	s->log_buffered += n;
	return 0;
fail:
	if (s->log_error == 0)
		s->log_error = r;
	return r;
}

int
naphrad_signer_sync(struct naphrad_signer *s)
{
	int r = signer_log_flush(s);

	if (r == 0 && s->log_error != 0)
		r = s->log_error;
	s->log_error = 0;
	if (r < 0)
		return r;
	if (!s->log_dirty)
		return 0;
	if (fdatasync(s->log_fd) < 0)
		return -errno;
	s->log_dirty = false;
	return 0;
}

/* ---- setup ---------------------------------------------------------------------------------- */

int
naphrad_signer_new(const struct naphrad_signer_conf *c, struct naphrad_signer **out, char *err,
		   size_t len)
{
	struct naphrad_signer *s = calloc(1, sizeof(*s));
	FILE *f = NULL;
	X509 *x;
	int r, id, bits;

	*out = NULL;
	if (s == NULL)
		return -ENOMEM;
	s->log_fd = -1;
	if ((r = signer_conf_copy(&s->conf, c)) < 0)
		goto fail;
	if ((f = fopen(c->ca_cert, "re")) == NULL) {
		r = signer_fail(err, len, -errno, "signer: ca_cert %s: cannot open", c->ca_cert);
		goto fail;
	}
	s->ca = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (s->ca == NULL) {
		r = signer_fail(err, len, -EINVAL, "signer: ca_cert %s: no PEM certificate",
				c->ca_cert);
		goto fail;
	}
	if (X509_check_ca(s->ca) == 0) {
		r = signer_fail(err, len, -EINVAL, "signer: ca_cert %s is not a CA certificate",
				c->ca_cert);
		goto fail;
	}
	if (strncmp(c->ca_key, "pkcs11:", 7) == 0) {
		if ((s->key = naphrad_pkcs11_key(c->ca_key, c->pkcs11_module, c->pin_file, err,
						 len)) == NULL) {
			r = -EACCES;
			goto fail;
		}
	} else if ((s->key = signer_load_key(c->ca_key)) == NULL) {
		r = signer_fail(err, len, -EACCES, "signer: ca_key %s: cannot load the private key",
				c->ca_key);
		goto fail;
	}
	if (X509_check_private_key(s->ca, s->key) != 1) {
		r = signer_fail(err, len, -EINVAL, "signer: ca_key does not match %s", c->ca_cert);
		goto fail;
	}
	id = EVP_PKEY_get_base_id(s->key);
	bits = EVP_PKEY_get_bits(s->key);
	if (id == EVP_PKEY_EC)
		s->md = bits > 256 ? EVP_sha384() : EVP_sha256();
	else if (id == EVP_PKEY_RSA && bits >= 2048)
		s->md = EVP_sha256();
	else {
		r = signer_fail(err, len, -EINVAL,
				"signer: ca_key %s: only ECDSA (P-256/P-384) and RSA >= 2048 CAs",
				c->ca_key);
		goto fail;
	}
	{
		const ASN1_TIME *na = X509_get0_notAfter(s->ca);
		struct tm tm;

		if (ASN1_TIME_to_tm(na, &tm) != 1) {
			r = signer_fail(err, len, -EINVAL, "signer: %s: bad notAfter", c->ca_cert);
			goto fail;
		}
		s->ca_not_after = (int64_t)timegm(&tm);
	}
	if ((r = signer_add_chain(s, s->ca)) < 0)
		goto fail;
	if (c->chain != NULL) {
		if ((f = fopen(c->chain, "re")) == NULL) {
			r = signer_fail(err, len, -errno, "signer: chain %s: cannot open", c->chain);
			goto fail;
		}
		while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
			r = signer_add_chain(s, x);
			X509_free(x);
			if (r < 0) {
				fclose(f);
				signer_fail(err, len, r, "signer: chain %s: too many or bad certificates",
					    c->chain);
				goto fail;
			}
		}
		fclose(f);
		ERR_clear_error();
	}
	if ((r = naphrad_csr_keys_new(&s->keys)) < 0) {
		signer_fail(err, len, r, "signer: %s", "cannot make the EC key templates");
		goto fail;
	}
	if ((r = signer_profile(s)) < 0) {
		signer_fail(err, len, r, "signer: %s", "cannot encode the certificate profile");
		goto fail;
	}
	if ((r = signer_log_open(s)) < 0) {
		signer_fail(err, len, r, "signer: issuance log %s: cannot open", c->log);
		goto fail;
	}
	signer_log_prune(s, (int64_t)time(NULL));
	if (!signer_ca_has_policy(s->ca))
		log_warnx("signer: %s lists neither %s nor anyPolicy in certificatePolicies: "
			  "peers checking the policy (strongSwan cert_policy) will refuse its "
			  "certificates",
			  c->ca_cert, NAP_HCEP_OID_POLICY_COMPLIANT);
	*out = s;
	return 0;
fail:
	naphrad_signer_free(s);
	return r;
}

void
naphrad_signer_hello(const struct naphrad_signer *s, struct naphrad_signer_reply *rp)
{
	rp->status = 0;
	rp->lifetime = (uint32_t)s->conf.lifetime;
	rp->max_lifetime = (uint32_t)s->conf.max_lifetime;
	rp->n_chain = s->n_chain;
	for (size_t i = 0; i < s->n_chain; i++) {
		rp->chain[i] = s->chain[i];
		rp->chain_len[i] = s->chain_len[i];
	}
}

/* ---- issuing -------------------------------------------------------------------------------- */

static int
issue_fail(struct naphrad_signer_reply *rp, int r, const char *msg)
{
	rp->status = r;
	snprintf(rp->error, sizeof(rp->error), "%s", msg);
	ERR_clear_error();
	return r;
}

/*
 * The public key, parsed strictly without OpenSSL 3.0's decoder framework (a d2i_PUBKEY costs
 * more than an ECDSA signature there): the SubjectPublicKeyInfo is split by hand, its
 * AlgorithmIdentifier parsed as plain ASN.1, an EC point imported with EVP_PKEY_fromdata (which
 * refuses points off the curve); RSA keys go through d2i_PUBKEY for their size.
 */
struct spki {
	X509_ALGOR *alg;
	const uint8_t *bits; /* subjectPublicKey without its unused-bits octet */
	size_t bits_len;
};

static int
template_key(const struct naphrad_signer *s, const struct naphrad_template *t, struct spki *out,
	     const char **why)
{
	const uint8_t *p = t->pubkey, *end = t->pubkey + t->pubkey_len, *seq, *alg, *bits, *q;
	size_t seq_len, alg_len, bits_len;
	const ASN1_OBJECT *obj;
	const void *pval;
	int ptype, nid;

	memset(out, 0, sizeof(*out));
	*why = "public key does not parse";
	if (!naphrad_der_tlv(&p, end, 0x30, &seq, &seq_len) || p != end)
		return -EINVAL;
	p = seq;
	end = seq + seq_len;
	q = p;
	if (!naphrad_der_tlv(&p, end, 0x30, &alg, &alg_len) ||
	    !naphrad_der_tlv(&p, end, 0x03, &bits, &bits_len) ||
	    p != end || bits_len < 2 || bits[0] != 0)
		return -EINVAL;
	if ((out->alg = d2i_X509_ALGOR(NULL, &q, (long)(alg + alg_len - q))) == NULL ||
	    q != alg + alg_len)
		goto bad;
	out->bits = bits + 1;
	out->bits_len = bits_len - 1;
	X509_ALGOR_get0(&obj, &ptype, &pval, out->alg);
	nid = OBJ_obj2nid(obj);
	if (nid == NID_X9_62_id_ecPublicKey && ptype == V_ASN1_OBJECT) {
		int curve = OBJ_obj2nid(pval);
		int bits_n = curve == NID_X9_62_prime256v1 ? 256 : curve == NID_secp384r1 ? 384 : 0;
		EVP_PKEY *k;

		if (bits_n == 0) {
			*why = "EC key not on P-256 or P-384";
			goto bad;
		}
		/* A copy of the curve's template with the point set: it refuses points off the
		 * curve, without building the group again for every key (csr.c). */
		k = naphrad_csr_ec_key(s->keys, bits_n, out->bits, out->bits_len);
		if (k == NULL) {
			*why = "EC public key is not a valid point";
			goto bad;
		}
		EVP_PKEY_free(k);
		return 0;
	}
	if (nid == NID_rsaEncryption && (ptype == V_ASN1_NULL || ptype == V_ASN1_UNDEF)) {
		const unsigned char *k = t->pubkey;
		EVP_PKEY *pk = d2i_PUBKEY(NULL, &k, (long)t->pubkey_len);
		int bits_n = pk != NULL ? EVP_PKEY_get_bits(pk) : 0;

		EVP_PKEY_free(pk);
		if (bits_n == 0 || k != t->pubkey + t->pubkey_len)
			goto bad;
		if (bits_n < (int)s->conf.rsa_min_bits || bits_n > 4096) {
			*why = "RSA key size outside the allowed range";
			goto bad;
		}
		return 0;
	}
	*why = "key type not allowed (RSA or ECDSA only)";
bad:
	X509_ALGOR_free(out->alg);
	out->alg = NULL;
	return -EINVAL;
}

/* The validated key into the certificate, as it came (no re-encoding). */
static int
set_spki(X509 *x, const struct spki *k)
{
	const ASN1_OBJECT *obj;
	const void *pval;
	int ptype;
	ASN1_OBJECT *o, *param = NULL;
	unsigned char *enc;

	X509_ALGOR_get0(&obj, &ptype, &pval, k->alg);
	if ((o = OBJ_dup(obj)) == NULL)
		return -ENOMEM;
	if (ptype == V_ASN1_OBJECT && (param = OBJ_dup(pval)) == NULL) {
		ASN1_OBJECT_free(o);
		return -ENOMEM;
	}
	if ((enc = OPENSSL_memdup(k->bits, k->bits_len)) == NULL) {
		ASN1_OBJECT_free(o);
		ASN1_OBJECT_free(param);
		return -ENOMEM;
	}
	if (X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x), o, ptype, param, enc,
				   (int)k->bits_len) != 1) {
		ASN1_OBJECT_free(o);
		ASN1_OBJECT_free(param);
		OPENSSL_free(enc);
		return -ENOMEM;
	}
	return 0;
}

static int
template_names(const struct naphrad_template *t, const char **why)
{
	if (!t->authenticated) {
		if (t->cn[0] != '\0' || t->n_dns != 0) {
			*why = "an anonymous template carries no names";
			return -EINVAL;
		}
		return 0;
	}
	if (!naphrad_cn_ok(t->cn)) {
		*why = "common name empty, too long or not printable";
		return -EINVAL;
	}
	for (size_t i = 0; i < t->n_dns; i++)
		if (!naphrad_dns_name_ok(t->dns[i])) {
			*why = "a DNS name is not a host name";
			return -EINVAL;
		}
	return 0;
}

static int
add_san(X509 *x, const struct naphrad_template *t)
{
	GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
	int ok = names != NULL;

	for (size_t i = 0; ok && i < t->n_dns; i++) {
		GENERAL_NAME *gn = GENERAL_NAME_new();
		ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();

		ok = gn != NULL && ia5 != NULL &&
		     ASN1_STRING_set(ia5, t->dns[i], (int)strlen(t->dns[i])) == 1;
		if (ok) {
			GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
			ia5 = NULL;
			ok = sk_GENERAL_NAME_push(names, gn) > 0;
			if (ok)
				gn = NULL;
		}
		GENERAL_NAME_free(gn);
		ASN1_IA5STRING_free(ia5);
	}
	if (ok)
		ok = X509_add1_ext_i2d(x, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT) == 1;
	GENERAL_NAMES_free(names);
	return ok ? 0 : -ENOMEM;
}

int
naphrad_signer_issue(struct naphrad_signer *s, const struct naphrad_template *t, int64_t now,
		     struct naphrad_signer_reply *rp, uint8_t **der)
{
	const char *why = NULL;
	struct spki k;
	X509 *x = NULL;
	X509_NAME *name = NULL;
	BIGNUM *bn = NULL;
	ASN1_OCTET_STRING *ski = NULL;
	unsigned char md[EVP_MAX_MD_SIZE], *enc = NULL;
	unsigned int mdlen = 0;
	int64_t lifetime, nb, na;
	char line[SIGNER_LOG_LINE], hex[33], kh[17];
	int r = -ENOMEM, n, dlen;

	*der = NULL;
	rp->op = NAPHRAD_OP_SIGN;
	if (template_names(t, &why) < 0)
		return issue_fail(rp, -EINVAL, why);
	if (template_key(s, t, &k, &why) < 0)
		return issue_fail(rp, -EINVAL, why);
	lifetime = t->lifetime == 0 ? s->conf.lifetime : (int64_t)t->lifetime;
	if (lifetime > s->conf.max_lifetime)
		lifetime = s->conf.max_lifetime;
	nb = now - NAPHRAD_BACKDATE;
	na = now + lifetime;
	if (na > s->ca_not_after)
		na = s->ca_not_after;
	if (na <= now) {
		X509_ALGOR_free(k.alg);
		return issue_fail(rp, -EKEYEXPIRED, "the CA certificate has expired");
	}
	/* 128 random bits, positive and non-zero (RFC 5280 4.1.2.2: at most 20 octets). */
	if (s->n_serials == 0) {
		if (RAND_bytes(&s->serials[0][0], sizeof(s->serials)) != 1) {
			X509_ALGOR_free(k.alg);
			return issue_fail(rp, -EIO, "no randomness for the serial number");
		}
		s->n_serials = SIGNER_SERIALS;
	}
	s->n_serials--;
	memcpy(rp->serial, s->serials[s->n_serials], sizeof(rp->serial));
	rp->serial[0] = (uint8_t)((rp->serial[0] & 0x7f) | 0x40);
	if ((x = X509_new()) == NULL || (bn = BN_bin2bn(rp->serial, sizeof(rp->serial), NULL)) ==
						NULL)
		goto fail;
	if (!X509_set_version(x, X509_VERSION_3) ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    !X509_set_issuer_name(x, X509_get_subject_name(s->ca)) ||
	    ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na) == NULL || set_spki(x, &k) < 0)
		goto fail;
	if (t->authenticated) {
		if ((name = X509_NAME_new()) == NULL ||
		    !X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
						(const unsigned char *)t->cn, -1, -1, 0) ||
		    !X509_set_subject_name(x, name))
			goto fail;
	} else if (!X509_set_subject_name(x, s->anon_name)) {
		goto fail;
	}
	if (!X509_add_ext(x, s->ext_bc, -1) || !X509_add_ext(x, s->ext_ku, -1) ||
	    !X509_add_ext(x, t->authenticated ? s->ext_eku_auth : s->ext_eku_anon, -1) ||
	    !X509_add_ext(x, s->ext_pol, -1))
		goto fail;
	if (!X509_pubkey_digest(x, EVP_sha1(), md, &mdlen) || (ski = ASN1_OCTET_STRING_new()) ==
								      NULL ||
	    !ASN1_OCTET_STRING_set(ski, md, (int)mdlen) ||
	    X509_add1_ext_i2d(x, NID_subject_key_identifier, ski, 0, X509V3_ADD_DEFAULT) != 1 ||
	    !X509_add_ext(x, s->ext_aki, -1))
		goto fail;
	if (t->authenticated && t->n_dns > 0 && add_san(x, t) < 0)
		goto fail;
	if (X509_sign(x, s->key, s->md) <= 0) {
		r = -EIO;
		goto fail;
	}
	dlen = i2d_X509(x, &enc);
	if (dlen <= 0 || dlen > NAPHRAD_MAX_CERT)
		goto fail;
	/* The record goes to the log before the certificate can leave (synced per batch). */
	nap_hex_encode(rp->serial, sizeof(rp->serial), hex);
	nap_hex_encode(md, 8, kh);
	{
		char tnb[24], tna[24], tnow[24];

		nap_format_time(now, tnow, sizeof(tnow));
		nap_format_time(nb, tnb, sizeof(tnb));
		nap_format_time(na, tna, sizeof(tna));
		n = snprintf(line, sizeof(line), "%s serial=%s subject=\"%s\" dns=%s%s auth=%s "
						 "not_before=%s not_after=%s key=%s\n",
			     tnow, hex, t->authenticated ? t->cn : NAPHRAD_ANON_SUBJECT,
			     t->n_dns > 0 ? t->dns[0] : "-", t->n_dns > 1 ? ",..." : "",
			     t->authenticated ? "yes" : "no", tnb, tna, kh);
	}
	if (n < 0 || (size_t)n >= sizeof(line) ||
	    (r = signer_log_append(s, line, (size_t)n, now)) < 0) {
		if (r >= 0)
			r = -EOVERFLOW;
		log_warnx("signer: issuance log %s: %s; certificate not issued", s->conf.log,
			  strerror(-r));
		OPENSSL_free(enc);
		enc = NULL;
		issue_fail(rp, -EIO, "issuance log not writable");
		goto out;
	}
	if ((*der = malloc((size_t)dlen)) == NULL)
		goto fail;
	memcpy(*der, enc, (size_t)dlen);
	rp->cert_len = (size_t)dlen;
	rp->not_before = nb;
	rp->not_after = na;
	rp->status = 0;
	r = 0;
	goto out;
fail:
	issue_fail(rp, r, "cannot build the certificate");
out:
	OPENSSL_free(enc);
	ASN1_OCTET_STRING_free(ski);
	BN_free(bn);
	X509_NAME_free(name);
	X509_free(x);
	X509_ALGOR_free(k.alg);
	ERR_clear_error();
	return r;
}

/* ---- the process ---------------------------------------------------------------------------- */

static int
signer_reload(struct naphrad_signer **sp, const char *conf_path)
{
	struct naphrad_config *c = NULL;
	struct naphrad_signer *ns = NULL;
	char err[512];
	int r;

	r = naphrad_config_parse_file(conf_path, &c, err, sizeof(err));
	if (r == 0)
		r = naphrad_signer_new(&c->signer, &ns, err, sizeof(err));
	naphrad_config_free(c);
	if (r < 0) {
		log_warnx("signer: reload: %s; keeping the running CA", err);
		return r;
	}
	naphrad_signer_sync(*sp);
	naphrad_signer_free(*sp);
	*sp = ns;
	log_info("signer: reloaded, CA %s", ns->conf.ca_cert);
	return 0;
}

struct signer_out {
	uint8_t *der;
	uint8_t msg[NAPHRAD_SIGNER_MSG_MAX];
	size_t len;
};

/* One request in, its reply into out (0), or nothing to answer (-1). */
static int
signer_one(struct naphrad_signer **sp, const char *conf_path, const uint8_t *in, size_t n,
	   int64_t now, struct signer_out *out)
{
	struct naphrad_signer_request rq;
	struct naphrad_signer_reply rp;
	uint8_t *der = NULL;
	long m;

	memset(&rp, 0, sizeof(rp));
	if (naphrad_signer_request_decode(in, n, &rq) < 0) {
		/* Not ours to guess an id for: the peer is broken or hostile. */
		LOG_WARNX_RL("signer: malformed request of %zu bytes dropped", n);
		return -1;
	}
	rp.op = rq.op;
	rp.id = rq.id;
	switch (rq.op) {
	case NAPHRAD_OP_RELOAD:
		if (signer_reload(sp, conf_path) < 0) {
			rp.status = -EINVAL;
			snprintf(rp.error, sizeof(rp.error), "reload failed; see the signer's log");
			break;
		}
		/* FALLTHROUGH */
	case NAPHRAD_OP_HELLO:
		naphrad_signer_hello(*sp, &rp);
		break;
	case NAPHRAD_OP_SIGN:
		if (naphrad_signer_issue(*sp, &rq.t, now, &rp, &der) < 0)
			LOG_WARNX_RL("signer: template refused: %s", rp.error);
		else
			rp.cert = der;
		break;
	default:
		break;
	}
	m = naphrad_signer_reply_encode(&rp, out->msg, sizeof(out->msg));
	if (m < 0) {
		free(der);
		LOG_WARNX_RL("signer: reply does not encode: %s", strerror((int)-m));
		return -1;
	}
	out->der = der;
	out->len = (size_t)m;
	return 0;
}

/*
 * The loop: every request waiting is read with one recvmmsg() (up to SIGNER_BATCH), signed, the
 * batch's issuance log lines written with one write() and synced once (group commit), the
 * replies sent with one sendmmsg().
 */
int
naphrad_signer_main(int fd, const char *conf_path, struct naphrad_signer *s)
{
	static uint8_t in[SIGNER_BATCH][SIGNER_IN_MAX];
	static struct signer_out out[SIGNER_BATCH];
	struct mmsghdr mm[SIGNER_BATCH];
	struct iovec iov[SIGNER_BATCH];
	struct naphrad_signer_reply rp;

	for (;;) {
		size_t n_out = 0, sent = 0;
		int64_t now;
		int got;

		memset(mm, 0, sizeof(mm));
		for (size_t i = 0; i < SIGNER_BATCH; i++) {
			iov[i] = (struct iovec){.iov_base = in[i], .iov_len = sizeof(in[i])};
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		/* waits for the first request, then takes the others already waiting */
		got = recvmmsg(fd, mm, SIGNER_BATCH, MSG_WAITFORONE, NULL);
		if (got < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			log_warn("signer: recv");
			naphrad_signer_free(s);
			return 1;
		}
		if (got == 0 || mm[0].msg_len == 0)
			goto done;
		now = (int64_t)time(NULL);
		for (int i = 0; i < got; i++) {
			if ((mm[i].msg_hdr.msg_flags & MSG_TRUNC) != 0) {
				LOG_WARNX_RL("signer: request over %d bytes dropped", SIGNER_IN_MAX);
				continue;
			}
			if (signer_one(&s, conf_path, in[i], mm[i].msg_len, now, &out[n_out]) == 0)
				n_out++;
		}
		if (naphrad_signer_sync(s) < 0) {
			/* Nothing leaves that is not on disk: fail the batch's certificates. */
			log_warn("signer: issuance log fdatasync");
			for (size_t i = 0; i < n_out; i++) {
				if (out[i].der == NULL)
					continue;
				memset(&rp, 0, sizeof(rp));
				naphrad_signer_reply_decode(out[i].msg, out[i].len, &rp);
				rp.status = -EIO;
				snprintf(rp.error, sizeof(rp.error), "issuance log not durable");
				out[i].len = (size_t)naphrad_signer_reply_encode(
					&rp, out[i].msg, sizeof(out[i].msg));
			}
		}
		while (sent < n_out) {
			int k;

			memset(mm, 0, sizeof(mm));
			for (size_t i = sent; i < n_out; i++) {
				iov[i - sent] = (struct iovec){.iov_base = out[i].msg,
							       .iov_len = out[i].len};
				mm[i - sent].msg_hdr.msg_iov = &iov[i - sent];
				mm[i - sent].msg_hdr.msg_iovlen = 1;
			}
			/* Blocking: naphrad reads its replies in every loop turn. */
			k = sendmmsg(fd, mm, (unsigned)(n_out - sent), MSG_NOSIGNAL);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				log_warn("signer: send");
				for (size_t i = 0; i < n_out; i++)
					free(out[i].der);
				naphrad_signer_free(s);
				return 1;
			}
			sent += (size_t)k;
		}
		for (size_t i = 0; i < n_out; i++)
			free(out[i].der);
	}
done:
	naphrad_signer_sync(s);
	naphrad_signer_free(s);
	return 0;
}
