// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * naphrad's PKCS#10 reader: the request shapes HCEP clients send (an EC P-256 or P-384 key,
 * ecdsa-with-SHA256/384/512) read without d2i_X509_REQ. OpenSSL 3.0 decodes every
 * SubjectPublicKeyInfo through its decoder framework, which costs more per request (~100 us)
 * than the ECDSA signature naphrad then has issued; here the DER is split by hand and the key
 * is a copy of a per-curve template with the point set (EVP_PKEY_set1_encoded_public_key refuses
 * points off the curve). Anything else — RSA keys, other algorithms, BER, a key that does not
 * import — goes to nap_hcep_request_decode() unchanged, so both paths accept and refuse the same
 * requests: the lean path only takes strict DER of the known shapes and shares the attribute,
 * extension and SoH rules with the library (nap_hcep_request_attributes); the fuzz harness
 * fuzz_hra_csr checks the two agree on every input.
 *
 * The signature is verified over the certificationRequestInfo bytes as received, as
 * X509_REQ_verify does (it keeps the original encoding).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "nap/hcep.h"
#include "nap/util.h"
#include "naphrad.h"

#define CSR_MAX_ATTRS 32

/* AlgorithmIdentifiers of the lean path, whole DER. */
static const uint8_t alg_p256[] = {0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02,
				   0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01,
				   0x07};
static const uint8_t alg_p384[] = {0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d,
				   0x02, 0x01, 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
static const uint8_t sig_ecdsa[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
				    0x48, 0xce, 0x3d, 0x04, 0x03}; /* + 02 | 03 | 04 */

struct naphrad_csr_keys {
	EVP_PKEY *tmpl[2]; /* P-256, P-384: domain parameters only */
};

int
naphrad_csr_keys_new(struct naphrad_csr_keys **out)
{
	static const char *const groups[2] = {"prime256v1", "secp384r1"};
	struct naphrad_csr_keys *k = calloc(1, sizeof(*k));

	*out = NULL;
	if (k == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < 2; i++) {
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
		OSSL_PARAM ps[2] = {
			OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
							 (char *)groups[i], 0),
			OSSL_PARAM_construct_end(),
		};
		int ok = ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1 &&
			 EVP_PKEY_fromdata(ctx, &k->tmpl[i], EVP_PKEY_KEY_PARAMETERS, ps) == 1;

		EVP_PKEY_CTX_free(ctx);
		if (!ok) {
			naphrad_csr_keys_free(k);
			ERR_clear_error();
			return -ENOMEM;
		}
	}
	*out = k;
	return 0;
}

void
naphrad_csr_keys_free(struct naphrad_csr_keys *k)
{
	if (k == NULL)
		return;
	for (size_t i = 0; i < 2; i++)
		EVP_PKEY_free(k->tmpl[i]);
	free(k);
}

EVP_PKEY *
naphrad_csr_ec_key(const struct naphrad_csr_keys *k, int bits, const uint8_t *point, size_t len)
{
	EVP_PKEY *pk;

	if (bits != 256 && bits != 384)
		return NULL;
	if ((pk = EVP_PKEY_dup(k->tmpl[bits == 384])) == NULL)
		return NULL;
	if (EVP_PKEY_set1_encoded_public_key(pk, point, len) != 1) {
		EVP_PKEY_free(pk);
		ERR_clear_error();
		return NULL;
	}
	return pk;
}

/* One DER TLV at *p: tag, definite minimal length (up to 3 octets), content. */
bool
naphrad_der_tlv(const uint8_t **p, const uint8_t *end, uint8_t tag, const uint8_t **content,
		size_t *len)
{
	const uint8_t *q = *p;
	size_t n;

	if (end - q < 2 || q[0] != tag)
		return false;
	n = q[1];
	q += 2;
	if (n & 0x80) {
		size_t k = n & 0x7f;

		if (k == 0 || k > 3 || (size_t)(end - q) < k || q[0] == 0)
			return false;
		n = 0;
		for (size_t i = 0; i < k; i++)
			n = n << 8 | q[i];
		if (n < 0x80)
			return false; /* not minimal: DER */
		q += k;
	}
	if ((size_t)(end - q) < n)
		return false;
	*content = q;
	*len = n;
	*p = q + n;
	return true;
}

/* The whole TLV at *p (header included) when it has tag. */
static bool
der_whole(const uint8_t **p, const uint8_t *end, uint8_t tag, const uint8_t **start,
	  size_t *len)
{
	const uint8_t *s = *p, *c;
	size_t n;

	if (!naphrad_der_tlv(p, end, tag, &c, &n))
		return false;
	*start = s;
	*len = (size_t)(*p - s);
	return true;
}

/*
 * The lean path. 1: not a shape it takes (the caller falls back); 0 with *out; a negative errno
 * with err filled for what the library would refuse too (attribute rules).
 */
static int
csr_lean(const struct naphrad_csr_keys *keys, const uint8_t *p, size_t len,
	 struct nap_hcep_request **out, const uint8_t **spki_out, size_t *spki_out_len,
	 struct nap_err *err)
{
	const uint8_t *end = p + len, *q = p, *c, *info, *name, *spki, *alg, *bits, *sigalg, *sig,
		      *attrs, *a, *d;
	size_t c_len, info_len, name_len, spki_len, alg_len, bits_len, sigalg_len, sig_len,
		attrs_len, n;
	X509_ATTRIBUTE *av[CSR_MAX_ATTRS];
	int n_attrs = 0, key_bits, r = 1;
	const EVP_MD *md;
	struct nap_hcep_request *req = NULL;
	X509_NAME *xn = NULL;
	EVP_PKEY *pk = NULL;
	EVP_MD_CTX *mctx = NULL;

	*out = NULL;
	/* CertificationRequest ::= SEQUENCE { info, signatureAlgorithm, signature } */
	if (!naphrad_der_tlv(&q, end, 0x30, &c, &c_len) || q != end)
		return 1;
	q = c;
	end = c + c_len;
	if (!der_whole(&q, end, 0x30, &info, &info_len) ||
	    !der_whole(&q, end, 0x30, &sigalg, &sigalg_len) ||
	    !naphrad_der_tlv(&q, end, 0x03, &sig, &sig_len) || q != end)
		return 1;
	if (sigalg_len != sizeof(sig_ecdsa) + 1 ||
	    memcmp(sigalg, sig_ecdsa, sizeof(sig_ecdsa)) != 0)
		return 1;
	switch (sigalg[sizeof(sig_ecdsa)]) {
	case 0x02: md = EVP_sha256(); break;
	case 0x03: md = EVP_sha384(); break;
	case 0x04: md = EVP_sha512(); break;
	default: return 1;
	}
	if (sig_len < 2 || sig[0] != 0)
		return 1;
	/* info ::= SEQUENCE { version 0, subject Name, subjectPKInfo, [0] attributes } */
	q = info;
	end = info + info_len;
	if (!naphrad_der_tlv(&q, end, 0x30, &c, &c_len))
		return 1;
	q = c;
	end = c + c_len;
	if (end - q < 3 || q[0] != 0x02 || q[1] != 0x01 || q[2] != 0x00)
		return 1;
	q += 3;
	if (!der_whole(&q, end, 0x30, &name, &name_len) ||
	    !der_whole(&q, end, 0x30, &spki, &spki_len) ||
	    !naphrad_der_tlv(&q, end, 0xa0, &attrs, &attrs_len) || q != end)
		return 1;
	/* SubjectPublicKeyInfo: one of the two EC AlgorithmIdentifiers, a BIT STRING point. */
	a = spki;
	if (!naphrad_der_tlv(&a, spki + spki_len, 0x30, &c, &c_len))
		return 1;
	a = c;
	if (!der_whole(&a, c + c_len, 0x30, &alg, &alg_len) ||
	    !naphrad_der_tlv(&a, c + c_len, 0x03, &bits, &bits_len) || a != c + c_len ||
	    bits_len < 2 || bits[0] != 0)
		return 1;
	if (alg_len == sizeof(alg_p256) && memcmp(alg, alg_p256, alg_len) == 0)
		key_bits = 256;
	else if (alg_len == sizeof(alg_p384) && memcmp(alg, alg_p384, alg_len) == 0)
		key_bits = 384;
	else
		return 1;
	if ((pk = naphrad_csr_ec_key(keys, key_bits, bits + 1, bits_len - 1)) == NULL)
		return 1; /* the library says why */
	d = name;
	if ((xn = d2i_X509_NAME(NULL, &d, (long)name_len)) == NULL || d != name + name_len)
		goto out;
	/* attributes: SET OF Attribute, each a SEQUENCE d2i'ed on its own */
	a = attrs;
	while (a < attrs + attrs_len) {
		const uint8_t *s;

		if (!der_whole(&a, attrs + attrs_len, 0x30, &s, &n))
			goto out;
		if (n_attrs == CSR_MAX_ATTRS)
			goto out; /* the library refuses it with its own words */
		d = s;
		if ((av[n_attrs] = d2i_X509_ATTRIBUTE(NULL, &d, (long)n)) == NULL || d != s + n) {
			if (av[n_attrs] != NULL)
				n_attrs++;
			goto out;
		}
		n_attrs++;
	}
	if ((req = calloc(1, sizeof(*req))) == NULL) {
		r = nap_err_set(err, 0, "out of memory", -ENOMEM);
		goto out;
	}
	req->key_type = NAP_HCEP_KEY_EC;
	req->key_bits = key_bits;
	snprintf(req->key_curve, sizeof(req->key_curve), "%s",
		 key_bits == 256 ? "prime256v1" : "secp384r1");
	snprintf(req->key_desc, sizeof(req->key_desc), "EC %s",
		 key_bits == 256 ? "P-256" : "P-384");
	if ((r = nap_hcep_request_subject(req, xn, err)) < 0 ||
	    (r = nap_hcep_request_attributes(req, av, n_attrs, p, len, err)) < 0)
		goto out;
	mctx = EVP_MD_CTX_new();
	req->signature_ok = mctx != NULL && EVP_DigestVerifyInit(mctx, NULL, md, NULL, pk) == 1 &&
			    EVP_DigestVerify(mctx, sig + 1, sig_len - 1, info, info_len) == 1;
	*out = req;
	req = NULL;
	*spki_out = spki;
	*spki_out_len = spki_len;
	r = 0;
out:
	EVP_MD_CTX_free(mctx);
	for (int i = 0; i < n_attrs; i++)
		X509_ATTRIBUTE_free(av[i]);
	X509_NAME_free(xn);
	EVP_PKEY_free(pk);
	nap_hcep_request_free(req);
	ERR_clear_error();
	return r;
}

int
naphrad_csr_decode(const struct naphrad_csr_keys *keys, const uint8_t *p, size_t len,
		   struct nap_hcep_request **out, uint8_t **spki, size_t *spki_len, bool *lean,
		   struct nap_err *err)
{
	const uint8_t *k = NULL;
	unsigned char *der = NULL;
	size_t k_len = 0;
	int r, n;

	*out = NULL;
	*spki = NULL;
	*spki_len = 0;
	*lean = false;
	if (len <= NAP_HCEP_MAX_BODY && keys != NULL) {
		r = csr_lean(keys, p, len, out, &k, &k_len, err);
		if (r < 0) {
			*lean = true;
			return r;
		}
		if (r == 0) {
			/* The key as it came, the SubjectPublicKeyInfo bytes of the request. */
			*lean = true;
			if ((*spki = malloc(k_len)) == NULL) {
				nap_hcep_request_free(*out);
				*out = NULL;
				return nap_err_set(err, 0, "out of memory", -ENOMEM);
			}
			memcpy(*spki, k, k_len);
			*spki_len = k_len;
			return 0;
		}
	}
	if ((r = nap_hcep_request_decode(p, len, out, err)) < 0)
		return r;
	n = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY((*out)->req), &der);
	if (n <= 0 || (*spki = malloc((size_t)n)) == NULL) {
		OPENSSL_free(der);
		nap_hcep_request_free(*out);
		*out = NULL;
		ERR_clear_error();
		return nap_err_set(err, 0, "public key does not encode", -ENOMEM);
	}
	memcpy(*spki, der, (size_t)n);
	*spki_len = (size_t)n;
	OPENSSL_free(der);
	return 0;
}
