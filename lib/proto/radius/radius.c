// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * RADIUS codec: packet framing (RFC 2865 §3, §5), vendor-specific sub-attributes, the Request,
 * Response and Message-Authenticator computations (RFC 2865, RFC 2866, RFC 2869 §5.14,
 * RFC 3579 §3.2, RFC 5176 §3.5) and a bounded packet builder. Handles untrusted input: the
 * decoder only produces views into the caller's buffer after checking every length.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "nap/radius.h"
#include "nap/util.h"

#define RADIUS_ATTR_HDR 2
#define RADIUS_VSA_HDR  6 /* vendor id (4) + vendor-type (1) + vendor-length (1) */
#define RADIUS_ATTR_MAX_VALUE 253

/* ---------------------------------------------------------------------------------------- */
/* Decoding                                                                                  */

static int
radius_push_attr(struct nap_radius_packet *pkt, const struct nap_radius_attr *a, size_t offset,
		 struct nap_err *err)
{
	if (pkt->n_attrs >= NAP_RADIUS_MAX_ATTRS)
		return nap_err_set(err, offset, "more than 100 attributes", -EMSGSIZE);
	pkt->attrs[pkt->n_attrs++] = *a;
	return 0;
}

/*
 * A Vendor-Specific value is split into sub-attributes only when it is well formed in the
 * RFC 2865 §5.26 suggested format: vendor id, then sub-attributes whose vendor-length (>= 2)
 * covers their header and which consume the value exactly. Vendor-type 0 is not a valid
 * sub-attribute: keeping it opaque leaves vendor_type == 0 meaning "opaque" without ambiguity.
 */
static bool
radius_vsa_well_formed(struct nap_cbs v)
{
	uint32_t vendor;

	if (!nap_cbs_get_u32(&v, &vendor) || nap_cbs_len(&v) == 0)
		return false;
	while (nap_cbs_len(&v) > 0) {
		uint8_t vt, vl;

		if (!nap_cbs_get_u8(&v, &vt) || !nap_cbs_get_u8(&v, &vl))
			return false;
		if (vt == 0 || vl < 2 || !nap_cbs_skip(&v, vl - 2u))
			return false;
	}
	return true;
}

static int
radius_decode_vsa(struct nap_radius_packet *pkt, struct nap_cbs v, size_t attr_offset,
		  struct nap_err *err)
{
	struct nap_radius_attr a = {.type = NAP_RADIUS_VENDOR_SPECIFIC, .offset = attr_offset};

	if (!radius_vsa_well_formed(v)) {
		struct nap_cbs peek = v;

		/* Opaque: the whole value, vendor id included, so it can be forwarded as is. */
		if (!nap_cbs_get_u32(&peek, &a.vendor))
			a.vendor = 0;
		a.vendor_type = 0;
		a.len = (uint8_t)nap_cbs_len(&v);
		a.value = nap_cbs_data(&v);
		return radius_push_attr(pkt, &a, attr_offset, err);
	}
	(void)nap_cbs_get_u32(&v, &a.vendor);
	while (nap_cbs_len(&v) > 0) {
		struct nap_cbs sub;
		uint8_t vl;
		int r;

		(void)nap_cbs_get_u8(&v, &a.vendor_type);
		(void)nap_cbs_get_u8(&v, &vl);
		(void)nap_cbs_get_bytes(&v, &sub, vl - 2u);
		a.len = (uint8_t)nap_cbs_len(&sub);
		a.value = nap_cbs_data(&sub);
		if ((r = radius_push_attr(pkt, &a, attr_offset, err)) < 0)
			return r;
	}
	return 0;
}

int
nap_radius_decode(const uint8_t *p, size_t len, struct nap_radius_packet *pkt,
		  struct nap_err *err)
{
	struct nap_cbs cbs, attrs;
	uint16_t length;

	pkt->n_attrs = 0;
	pkt->msg_auth_offset = 0;
	pkt->raw = NULL;
	pkt->length = 0;
	if (p == NULL || len < NAP_RADIUS_HDR_LEN)
		return nap_err_set(err, len, "packet shorter than the RADIUS header", -EBADMSG);
	nap_cbs_init(&cbs, p, len);
	(void)nap_cbs_get_u8(&cbs, &pkt->code);
	(void)nap_cbs_get_u8(&cbs, &pkt->id);
	(void)nap_cbs_get_u16(&cbs, &length);
	(void)nap_cbs_copy_bytes(&cbs, pkt->authenticator, NAP_RADIUS_AUTH_LEN);
	if (length < NAP_RADIUS_HDR_LEN)
		return nap_err_set(err, 2, "Length field below 20", -EBADMSG);
	if (length > NAP_RADIUS_MAX_LEN)
		return nap_err_set(err, 2, "Length field above 4096", -EBADMSG);
	if (length > len)
		return nap_err_set(err, 2, "Length field exceeds the datagram", -EBADMSG);
	/* RFC 2865 §3: octets past Length are padding and are ignored. */
	if (!nap_cbs_get_bytes(&cbs, &attrs, length - NAP_RADIUS_HDR_LEN))
		return nap_err_set(err, NAP_RADIUS_HDR_LEN, "truncated packet", -EBADMSG);

	while (nap_cbs_len(&attrs) > 0) {
		size_t off = nap_cbs_offset(&attrs);
		struct nap_cbs value;
		uint8_t type, alen;
		int r;

		if (!nap_cbs_get_u8(&attrs, &type) || !nap_cbs_get_u8(&attrs, &alen))
			return nap_err_set(err, off, "truncated attribute header", -EBADMSG);
		if (alen < RADIUS_ATTR_HDR)
			return nap_err_set(err, off + 1, "attribute length below 2", -EBADMSG);
		if (!nap_cbs_get_bytes(&attrs, &value, alen - RADIUS_ATTR_HDR))
			return nap_err_set(err, off + 1, "attribute overruns the packet", -EBADMSG);

		if (type == NAP_RADIUS_VENDOR_SPECIFIC) {
			r = radius_decode_vsa(pkt, value, off, err);
		} else {
			struct nap_radius_attr a = {
				.type = type,
				.len = (uint8_t)nap_cbs_len(&value),
				.value = nap_cbs_data(&value),
				.offset = off,
			};

			if (type == NAP_RADIUS_MESSAGE_AUTHENTICATOR) {
				if (a.len != NAP_RADIUS_AUTH_LEN)
					return nap_err_set(err, off + 1,
							   "Message-Authenticator not 16 bytes",
							   -EBADMSG);
				if (pkt->msg_auth_offset != 0)
					return nap_err_set(err, off,
							   "second Message-Authenticator",
							   -EBADMSG);
				pkt->msg_auth_offset = off + RADIUS_ATTR_HDR;
			}
			r = radius_push_attr(pkt, &a, off, err);
		}
		if (r < 0)
			return r;
	}
	pkt->length = length;
	pkt->raw = p;
	return 0;
}

const struct nap_radius_attr *
nap_radius_find(const struct nap_radius_packet *pkt, uint8_t type)
{
	for (uint16_t i = 0; i < pkt->n_attrs; i++)
		if (pkt->attrs[i].type == type)
			return &pkt->attrs[i];
	return NULL;
}

const struct nap_radius_attr *
nap_radius_find_vsa(const struct nap_radius_packet *pkt, uint32_t vendor, uint8_t vendor_type)
{
	for (uint16_t i = 0; i < pkt->n_attrs; i++) {
		const struct nap_radius_attr *a = &pkt->attrs[i];

		if (a->type == NAP_RADIUS_VENDOR_SPECIFIC && a->vendor == vendor &&
		    a->vendor_type == vendor_type && vendor_type != 0)
			return a;
	}
	return NULL;
}

bool
nap_radius_attr_u32(const struct nap_radius_attr *a, uint32_t *v)
{
	struct nap_cbs cbs;

	if (a == NULL || a->len != 4)
		return false;
	nap_cbs_init(&cbs, a->value, a->len);
	return nap_cbs_get_u32(&cbs, v);
}

long
nap_radius_ms_concat(const struct nap_radius_packet *pkt, uint8_t vendor_type, uint8_t *out,
		     size_t cap)
{
	size_t total = 0;

	if (vendor_type == 0)
		return 0;
	for (uint16_t i = 0; i < pkt->n_attrs; i++) {
		const struct nap_radius_attr *a = &pkt->attrs[i];

		if (a->type != NAP_RADIUS_VENDOR_SPECIFIC || a->vendor != NAP_RADIUS_VENDOR_MS ||
		    a->vendor_type != vendor_type)
			continue;
		if (cap - total < a->len)
			return -EMSGSIZE;
		if (a->len > 0)
			memcpy(out + total, a->value, a->len);
		total += a->len;
	}
	return (long)total;
}

/* ---------------------------------------------------------------------------------------- */
/* Authenticators                                                                            */

/*
 * Fetching an algorithm is a locked lookup in the provider store, and setting the HMAC digest
 * fetches MD5 again: too slow to repeat for every packet. A keyless HMAC-MD5 context and the
 * MD5 algorithm are therefore prepared once and kept for the life of the process (the first
 * thread to publish wins); each computation works on a duplicate of the template.
 */
static _Atomic(EVP_MAC_CTX *) radius_hmac_template;
static _Atomic(EVP_MD *) radius_md5_alg;

static EVP_MAC_CTX *
radius_hmac_new(void)
{
	EVP_MAC_CTX *t = atomic_load(&radius_hmac_template), *none = NULL;

	if (t == NULL) {
		EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
		OSSL_PARAM params[2];

		if (mac == NULL)
			return NULL;
		t = EVP_MAC_CTX_new(mac);
		EVP_MAC_free(mac); /* the context holds its own reference */
		if (t == NULL)
			return NULL;
		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"MD5",
							     0);
		params[1] = OSSL_PARAM_construct_end();
		if (!EVP_MAC_CTX_set_params(t, params)) {
			EVP_MAC_CTX_free(t);
			return NULL;
		}
		if (!atomic_compare_exchange_strong(&radius_hmac_template, &none, t)) {
			EVP_MAC_CTX_free(t);
			t = none;
		}
	}
	return EVP_MAC_CTX_dup(t);
}

static EVP_MD *
radius_md5_fetch(void)
{
	EVP_MD *m = atomic_load(&radius_md5_alg), *none = NULL;

	if (m != NULL)
		return m;
	if ((m = EVP_MD_fetch(NULL, "MD5", NULL)) == NULL)
		return NULL;
	if (!atomic_compare_exchange_strong(&radius_md5_alg, &none, m)) {
		EVP_MD_free(m);
		m = none;
	}
	return m;
}

static const uint8_t radius_zero16[NAP_RADIUS_AUTH_LEN];

/*
 * HMAC-MD5 over a packet of len bytes with the header authenticator replaced by auth (when not
 * NULL) and the 16-byte Message-Authenticator value at ma_off read as zeros. The packet is fed
 * in pieces so the caller's buffer is never modified or copied.
 */
static int
radius_hmac(const uint8_t *p, size_t len, const uint8_t *auth, size_t ma_off,
	    const uint8_t *secret, size_t secret_len, uint8_t out[NAP_RADIUS_AUTH_LEN])
{
	EVP_MAC_CTX *ctx = radius_hmac_new();
	size_t out_len = 0;
	int ok;

	if (ctx == NULL)
		return -ENOMEM;
	ok = EVP_MAC_init(ctx, secret, secret_len, NULL) && EVP_MAC_update(ctx, p, 4) &&
	     EVP_MAC_update(ctx, auth != NULL ? auth : p + 4, NAP_RADIUS_AUTH_LEN) &&
	     EVP_MAC_update(ctx, p + NAP_RADIUS_HDR_LEN, ma_off - NAP_RADIUS_HDR_LEN) &&
	     EVP_MAC_update(ctx, radius_zero16, NAP_RADIUS_AUTH_LEN) &&
	     EVP_MAC_update(ctx, p + ma_off + NAP_RADIUS_AUTH_LEN,
			    len - ma_off - NAP_RADIUS_AUTH_LEN) &&
	     EVP_MAC_final(ctx, out, &out_len, NAP_RADIUS_AUTH_LEN) &&
	     out_len == NAP_RADIUS_AUTH_LEN;
	EVP_MAC_CTX_free(ctx);
	return ok ? 0 : -EIO;
}

/* ---------------------------------------------------------------------------------------- */
/* Pre-keyed shared secret                                                                   */

#define RADIUS_MD5_BLOCK 64

/*
 * HMAC-MD5 (RFC 2104) is MD5((K ^ opad) | MD5((K ^ ipad) | m)). The first block of both hashes
 * depends on the key only, so it is hashed once here: each computation then starts from a copy
 * of these two MD5 states instead of keying an HMAC context again. The secret itself is kept
 * for the Request and Response Authenticators, which append it to the hashed packet.
 */
struct nap_radius_secret {
	EVP_MD_CTX *inner; /* MD5 state after K ^ ipad */
	EVP_MD_CTX *outer; /* MD5 state after K ^ opad */
	size_t len;
	uint8_t key[]; /* the shared secret, len bytes */
};

static EVP_MD_CTX *
radius_md5_prefed(const EVP_MD *alg, const uint8_t pad[RADIUS_MD5_BLOCK])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (ctx == NULL)
		return NULL;
	if (!EVP_DigestInit_ex(ctx, alg, NULL) || !EVP_DigestUpdate(ctx, pad, RADIUS_MD5_BLOCK)) {
		EVP_MD_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int
nap_radius_secret_new(const uint8_t *secret, size_t len, struct nap_radius_secret **out)
{
	uint8_t k[RADIUS_MD5_BLOCK] = {0}, ipad[RADIUS_MD5_BLOCK], opad[RADIUS_MD5_BLOCK];
	EVP_MD *alg = radius_md5_fetch();
	struct nap_radius_secret *s;
	int r = -ENOMEM;

	*out = NULL;
	if (secret == NULL || len == 0 || len > NAP_RADIUS_SECRET_MAX)
		return -EINVAL;
	if (alg == NULL || (s = calloc(1, sizeof(*s) + len)) == NULL)
		return -ENOMEM;
	memcpy(s->key, secret, len);
	s->len = len;
	/* RFC 2104 §2: a key longer than the block is replaced by its hash. */
	if (len > RADIUS_MD5_BLOCK) {
		unsigned n = 0;

		if (!EVP_Digest(secret, len, k, &n, alg, NULL) || n != NAP_RADIUS_AUTH_LEN) {
			r = -EIO;
			goto out;
		}
	} else {
		memcpy(k, secret, len);
	}
	for (size_t i = 0; i < RADIUS_MD5_BLOCK; i++) {
		ipad[i] = k[i] ^ 0x36;
		opad[i] = k[i] ^ 0x5c;
	}
	if ((s->inner = radius_md5_prefed(alg, ipad)) == NULL ||
	    (s->outer = radius_md5_prefed(alg, opad)) == NULL)
		goto out;
	*out = s;
	s = NULL;
	r = 0;
out:
	nap_wipe(k, sizeof(k));
	nap_wipe(ipad, sizeof(ipad));
	nap_wipe(opad, sizeof(opad));
	nap_radius_secret_free(s);
	return r;
}

void
nap_radius_secret_free(struct nap_radius_secret *s)
{
	if (s == NULL)
		return;
	/* Freeing an MD5 context clears its state (OpenSSL's provider uses a clearing free). */
	EVP_MD_CTX_free(s->inner);
	EVP_MD_CTX_free(s->outer);
	nap_wipe(s->key, s->len);
	s->len = 0;
	free(s);
}

/* radius_hmac() from the pre-keyed states. s is only read: safe to share between threads. */
static int
radius_hmac_s(const uint8_t *p, size_t len, const uint8_t *auth, size_t ma_off,
	      const struct nap_radius_secret *s, uint8_t out[NAP_RADIUS_AUTH_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t inner[NAP_RADIUS_AUTH_LEN];
	unsigned n1 = 0, n2 = 0;
	int ok;

	if (ctx == NULL)
		return -ENOMEM;
	ok = EVP_MD_CTX_copy_ex(ctx, s->inner) && EVP_DigestUpdate(ctx, p, 4) &&
	     EVP_DigestUpdate(ctx, auth != NULL ? auth : p + 4, NAP_RADIUS_AUTH_LEN) &&
	     EVP_DigestUpdate(ctx, p + NAP_RADIUS_HDR_LEN, ma_off - NAP_RADIUS_HDR_LEN) &&
	     EVP_DigestUpdate(ctx, radius_zero16, NAP_RADIUS_AUTH_LEN) &&
	     EVP_DigestUpdate(ctx, p + ma_off + NAP_RADIUS_AUTH_LEN,
			      len - ma_off - NAP_RADIUS_AUTH_LEN) &&
	     EVP_DigestFinal_ex(ctx, inner, &n1) && n1 == NAP_RADIUS_AUTH_LEN &&
	     EVP_MD_CTX_copy_ex(ctx, s->outer) && EVP_DigestUpdate(ctx, inner, sizeof(inner)) &&
	     EVP_DigestFinal_ex(ctx, out, &n2) && n2 == NAP_RADIUS_AUTH_LEN;
	EVP_MD_CTX_free(ctx);
	nap_wipe(inner, sizeof(inner));
	return ok ? 0 : -EIO;
}

/* The key for one operation: a plain secret, or a pre-keyed one (then s != NULL). */
struct radius_key {
	const uint8_t *secret;
	size_t len;
	const struct nap_radius_secret *s;
};

static int
radius_key_hmac(const struct radius_key *k, const uint8_t *p, size_t len, const uint8_t *auth,
		size_t ma_off, uint8_t out[NAP_RADIUS_AUTH_LEN])
{
	if (k->s != NULL)
		return radius_hmac_s(p, len, auth, ma_off, k->s, out);
	return radius_hmac(p, len, auth, ma_off, k->secret, k->len, out);
}

/* MD5(code | id | length | auth | attributes | secret): Response and Accounting authenticators. */
static int
radius_md5(const uint8_t *p, size_t len, const uint8_t *auth, const uint8_t *secret,
	   size_t secret_len, uint8_t out[NAP_RADIUS_AUTH_LEN])
{
	EVP_MD *alg = radius_md5_fetch();
	EVP_MD_CTX *ctx;
	unsigned out_len = 0;
	int ok;

	if (alg == NULL || (ctx = EVP_MD_CTX_new()) == NULL)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(ctx, alg, NULL) && EVP_DigestUpdate(ctx, p, 4) &&
	     EVP_DigestUpdate(ctx, auth, NAP_RADIUS_AUTH_LEN) &&
	     EVP_DigestUpdate(ctx, p + NAP_RADIUS_HDR_LEN, len - NAP_RADIUS_HDR_LEN) &&
	     EVP_DigestUpdate(ctx, secret, secret_len) && EVP_DigestFinal_ex(ctx, out, &out_len) &&
	     out_len == NAP_RADIUS_AUTH_LEN;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -EIO;
}

/*
 * Requests whose Request Authenticator is an MD5 over the packet with a zero authenticator
 * (RFC 2866 §3, RFC 5176 §3.5); their Message-Authenticator is computed with that zero field.
 */
static bool
radius_code_has_md5_request_auth(uint8_t code)
{
	return code == NAP_RADIUS_ACCOUNTING_REQUEST || code == NAP_RADIUS_DISCONNECT_REQUEST ||
	       code == NAP_RADIUS_COA_REQUEST;
}

static int
radius_verify_request(const struct nap_radius_packet *pkt, const struct radius_key *k,
		      bool require_msg_auth)
{
	uint8_t mac[NAP_RADIUS_AUTH_LEN];
	const uint8_t *auth = NULL;
	int r;

	if (pkt->raw == NULL || k->secret == NULL || k->len == 0)
		return -EINVAL;
	if (radius_code_has_md5_request_auth(pkt->code)) {
		if ((r = radius_md5(pkt->raw, pkt->length, radius_zero16, k->secret, k->len,
				    mac)) < 0)
			return r;
		if (CRYPTO_memcmp(mac, pkt->authenticator, NAP_RADIUS_AUTH_LEN) != 0)
			return -EPERM;
		auth = radius_zero16;
	}
	if (pkt->msg_auth_offset == 0)
		return require_msg_auth ? -ENOMSG : 0;
	if ((r = radius_key_hmac(k, pkt->raw, pkt->length, auth, pkt->msg_auth_offset, mac)) < 0)
		return r;
	if (CRYPTO_memcmp(mac, pkt->raw + pkt->msg_auth_offset, NAP_RADIUS_AUTH_LEN) != 0)
		return -EPERM;
	return 0;
}

int
nap_radius_verify_request(const struct nap_radius_packet *pkt, const uint8_t *secret,
			  size_t secret_len, bool require_msg_auth)
{
	struct radius_key k = {.secret = secret, .len = secret_len};

	return radius_verify_request(pkt, &k, require_msg_auth);
}

int
nap_radius_verify_request_s(const struct nap_radius_packet *pkt,
			    const struct nap_radius_secret *s, bool require_msg_auth)
{
	struct radius_key k = {.s = s};

	if (s == NULL)
		return -EINVAL;
	k.secret = s->key;
	k.len = s->len;
	return radius_verify_request(pkt, &k, require_msg_auth);
}

static int
radius_verify_response(const struct nap_radius_packet *resp,
		       const uint8_t req_auth[NAP_RADIUS_AUTH_LEN], const struct radius_key *k)
{
	uint8_t mac[NAP_RADIUS_AUTH_LEN];
	int r;

	if (resp->raw == NULL || k->secret == NULL || k->len == 0)
		return -EINVAL;
	if ((r = radius_md5(resp->raw, resp->length, req_auth, k->secret, k->len, mac)) < 0)
		return r;
	if (CRYPTO_memcmp(mac, resp->authenticator, NAP_RADIUS_AUTH_LEN) != 0)
		return -EPERM;
	if (resp->msg_auth_offset == 0)
		return 0;
	if ((r = radius_key_hmac(k, resp->raw, resp->length, req_auth, resp->msg_auth_offset,
				 mac)) < 0)
		return r;
	if (CRYPTO_memcmp(mac, resp->raw + resp->msg_auth_offset, NAP_RADIUS_AUTH_LEN) != 0)
		return -EPERM;
	return 0;
}

int
nap_radius_verify_response(const struct nap_radius_packet *resp,
			   const uint8_t req_auth[NAP_RADIUS_AUTH_LEN], const uint8_t *secret,
			   size_t secret_len)
{
	struct radius_key k = {.secret = secret, .len = secret_len};

	return radius_verify_response(resp, req_auth, &k);
}

int
nap_radius_verify_response_s(const struct nap_radius_packet *resp,
			     const uint8_t req_auth[NAP_RADIUS_AUTH_LEN],
			     const struct nap_radius_secret *s)
{
	struct radius_key k = {.s = s};

	if (s == NULL)
		return -EINVAL;
	k.secret = s->key;
	k.len = s->len;
	return radius_verify_response(resp, req_auth, &k);
}

/* ---------------------------------------------------------------------------------------- */
/* Builder                                                                                   */

void
nap_radius_build_init(struct nap_radius_builder *b, uint8_t code, uint8_t id,
		      const uint8_t authenticator[NAP_RADIUS_AUTH_LEN])
{
	uint8_t auth[NAP_RADIUS_AUTH_LEN];

	b->msg_auth_at = 0;
	b->n_attrs = 0;
	b->error = false;
	nap_cbb_init_fixed(&b->cbb, b->buf, sizeof(b->buf));
	if (authenticator == NULL) {
		if (RAND_bytes(auth, sizeof(auth)) != 1)
			b->error = true;
		authenticator = auth;
	}
	/*
	 * The Length field counts the header itself, which a length-prefixed child cannot
	 * express; it is written once by the finish functions.
	 */
	if (!nap_cbb_add_u8(&b->cbb, code) || !nap_cbb_add_u8(&b->cbb, id) ||
	    !nap_cbb_add_u16(&b->cbb, 0) ||
	    !nap_cbb_add_bytes(&b->cbb, authenticator, NAP_RADIUS_AUTH_LEN))
		b->error = true;
}

static int
radius_builder_fail(struct nap_radius_builder *b, int code)
{
	b->error = true;
	return code;
}

/* Room for n more attributes taking bytes octets in total? */
static int
radius_builder_room(struct nap_radius_builder *b, size_t n, size_t bytes)
{
	if (b->error)
		return -EINVAL;
	if ((size_t)(NAP_RADIUS_MAX_ATTRS - b->n_attrs) < n)
		return radius_builder_fail(b, -EMSGSIZE);
	if (NAP_RADIUS_MAX_LEN - nap_cbb_len(&b->cbb) < bytes)
		return radius_builder_fail(b, -EMSGSIZE);
	return 0;
}

static int
radius_put_attr(struct nap_radius_builder *b, uint8_t type, const void *value, size_t len)
{
	int r;

	if (len > RADIUS_ATTR_MAX_VALUE || (len > 0 && value == NULL))
		return radius_builder_fail(b, len > RADIUS_ATTR_MAX_VALUE ? -EMSGSIZE : -EINVAL);
	if ((r = radius_builder_room(b, 1, RADIUS_ATTR_HDR + len)) < 0)
		return r;
	if (!nap_cbb_add_u8(&b->cbb, type) || !nap_cbb_add_u8(&b->cbb, (uint8_t)(len + 2)) ||
	    !nap_cbb_add_bytes(&b->cbb, value, len))
		return radius_builder_fail(b, -EMSGSIZE);
	b->n_attrs++;
	return 0;
}

int
nap_radius_add_attr(struct nap_radius_builder *b, uint8_t type, const void *value, size_t len)
{
	/* The Message-Authenticator is computed, never supplied. */
	if (type == NAP_RADIUS_MESSAGE_AUTHENTICATOR)
		return radius_builder_fail(b, -EINVAL);
	return radius_put_attr(b, type, value, len);
}

int
nap_radius_add_u32(struct nap_radius_builder *b, uint8_t type, uint32_t v)
{
	uint8_t be[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

	return nap_radius_add_attr(b, type, be, sizeof(be));
}

int
nap_radius_add_vsa(struct nap_radius_builder *b, uint32_t vendor, uint8_t vendor_type,
		   const void *value, size_t len)
{
	int r;

	if (len > NAP_RADIUS_VSA_MAX_VALUE || (len > 0 && value == NULL) || vendor_type == 0)
		return radius_builder_fail(b, len > NAP_RADIUS_VSA_MAX_VALUE ? -EMSGSIZE : -EINVAL);
	if ((r = radius_builder_room(b, 1, RADIUS_ATTR_HDR + RADIUS_VSA_HDR + len)) < 0)
		return r;
	if (!nap_cbb_add_u8(&b->cbb, NAP_RADIUS_VENDOR_SPECIFIC) ||
	    !nap_cbb_add_u8(&b->cbb, (uint8_t)(RADIUS_ATTR_HDR + RADIUS_VSA_HDR + len)) ||
	    !nap_cbb_add_u32(&b->cbb, vendor) || !nap_cbb_add_u8(&b->cbb, vendor_type) ||
	    !nap_cbb_add_u8(&b->cbb, (uint8_t)(len + 2)) || !nap_cbb_add_bytes(&b->cbb, value, len))
		return radius_builder_fail(b, -EMSGSIZE);
	b->n_attrs++;
	return 0;
}

int
nap_radius_add_ms_u32(struct nap_radius_builder *b, uint8_t vendor_type, uint32_t v)
{
	uint8_t be[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

	return nap_radius_add_vsa(b, NAP_RADIUS_VENDOR_MS, vendor_type, be, sizeof(be));
}

int
nap_radius_add_ms_split(struct nap_radius_builder *b, uint8_t vendor_type, const void *value,
			size_t len)
{
	const uint8_t *p = value;
	size_t n;
	int r;

	if (len > 0 && value == NULL)
		return radius_builder_fail(b, -EINVAL);
	if (len > NAP_RADIUS_MAX_LEN)
		return radius_builder_fail(b, -EMSGSIZE);
	/* All or nothing: check room for every piece before writing the first. An empty value
	 * still yields one VSA. */
	n = len == 0 ? 1 : (len + NAP_RADIUS_VSA_MAX_VALUE - 1) / NAP_RADIUS_VSA_MAX_VALUE;
	if ((r = radius_builder_room(b, n, n * (RADIUS_ATTR_HDR + RADIUS_VSA_HDR) + len)) < 0)
		return r;
	do {
		size_t chunk = len < NAP_RADIUS_VSA_MAX_VALUE ? len : NAP_RADIUS_VSA_MAX_VALUE;

		if ((r = nap_radius_add_vsa(b, NAP_RADIUS_VENDOR_MS, vendor_type, p, chunk)) < 0)
			return r;
		p += chunk;
		len -= chunk;
	} while (len > 0);
	return 0;
}

int
nap_radius_add_message_authenticator(struct nap_radius_builder *b)
{
	size_t at;
	int r;

	if (b->msg_auth_at != 0)
		return radius_builder_fail(b, -EEXIST);
	at = nap_cbb_len(&b->cbb) + RADIUS_ATTR_HDR;
	if ((r = radius_put_attr(b, NAP_RADIUS_MESSAGE_AUTHENTICATOR, radius_zero16,
				 NAP_RADIUS_AUTH_LEN)) < 0)
		return r;
	b->msg_auth_at = at;
	return 0;
}

static int
radius_finish_length(struct nap_radius_builder *b, const struct radius_key *k, size_t *len)
{
	if (b->error || b->cbb.error)
		return -EINVAL;
	if (k->secret == NULL || k->len == 0)
		return -EINVAL;
	*len = nap_cbb_len(&b->cbb);
	b->buf[2] = (uint8_t)(*len >> 8);
	b->buf[3] = (uint8_t)*len;
	if (b->msg_auth_at != 0)
		memset(b->buf + b->msg_auth_at, 0, NAP_RADIUS_AUTH_LEN);
	return 0;
}

static int
radius_finish_request(struct nap_radius_builder *b, const struct radius_key *k,
		      const uint8_t **out, size_t *out_len)
{
	uint8_t mac[NAP_RADIUS_AUTH_LEN];
	bool md5_auth = radius_code_has_md5_request_auth(b->buf[0]);
	size_t len;
	int r;

	if ((r = radius_finish_length(b, k, &len)) < 0)
		return r;
	if (md5_auth)
		memset(b->buf + 4, 0, NAP_RADIUS_AUTH_LEN);
	if (b->msg_auth_at != 0) {
		if ((r = radius_key_hmac(k, b->buf, len, NULL, b->msg_auth_at, mac)) < 0)
			return radius_builder_fail(b, r);
		memcpy(b->buf + b->msg_auth_at, mac, NAP_RADIUS_AUTH_LEN);
	}
	if (md5_auth) {
		if ((r = radius_md5(b->buf, len, radius_zero16, k->secret, k->len, mac)) < 0)
			return radius_builder_fail(b, r);
		memcpy(b->buf + 4, mac, NAP_RADIUS_AUTH_LEN);
	}
	*out = b->buf;
	*out_len = len;
	return 0;
}

int
nap_radius_finish_request(struct nap_radius_builder *b, const uint8_t *secret, size_t secret_len,
			  const uint8_t **out, size_t *out_len)
{
	struct radius_key k = {.secret = secret, .len = secret_len};

	return radius_finish_request(b, &k, out, out_len);
}

int
nap_radius_finish_request_s(struct nap_radius_builder *b, const struct nap_radius_secret *s,
			    const uint8_t **out, size_t *out_len)
{
	struct radius_key k = {.s = s};

	if (s == NULL)
		return -EINVAL;
	k.secret = s->key;
	k.len = s->len;
	return radius_finish_request(b, &k, out, out_len);
}

static int
radius_finish_response(struct nap_radius_builder *b, const uint8_t req_auth[NAP_RADIUS_AUTH_LEN],
		       const struct radius_key *k, const uint8_t **out, size_t *out_len)
{
	uint8_t mac[NAP_RADIUS_AUTH_LEN];
	size_t len;
	int r;

	if ((r = radius_finish_length(b, k, &len)) < 0)
		return r;
	/* RFC 3579 §3.2: the Message-Authenticator of a response covers the request's
	 * authenticator; the Response Authenticator then covers the finished attributes. */
	memcpy(b->buf + 4, req_auth, NAP_RADIUS_AUTH_LEN);
	if (b->msg_auth_at != 0) {
		if ((r = radius_key_hmac(k, b->buf, len, NULL, b->msg_auth_at, mac)) < 0)
			return radius_builder_fail(b, r);
		memcpy(b->buf + b->msg_auth_at, mac, NAP_RADIUS_AUTH_LEN);
	}
	if ((r = radius_md5(b->buf, len, req_auth, k->secret, k->len, mac)) < 0)
		return radius_builder_fail(b, r);
	memcpy(b->buf + 4, mac, NAP_RADIUS_AUTH_LEN);
	*out = b->buf;
	*out_len = len;
	return 0;
}

int
nap_radius_finish_response(struct nap_radius_builder *b,
			   const uint8_t req_auth[NAP_RADIUS_AUTH_LEN], const uint8_t *secret,
			   size_t secret_len, const uint8_t **out, size_t *out_len)
{
	struct radius_key k = {.secret = secret, .len = secret_len};

	return radius_finish_response(b, req_auth, &k, out, out_len);
}

int
nap_radius_finish_response_s(struct nap_radius_builder *b,
			     const uint8_t req_auth[NAP_RADIUS_AUTH_LEN],
			     const struct nap_radius_secret *s, const uint8_t **out,
			     size_t *out_len)
{
	struct radius_key k = {.s = s};

	if (s == NULL)
		return -EINVAL;
	k.secret = s->key;
	k.len = s->len;
	return radius_finish_response(b, req_auth, &k, out, out_len);
}
