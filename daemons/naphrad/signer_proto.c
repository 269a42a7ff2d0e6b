// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The messages between naphrad and its signer, one per SOCK_SEQPACKET datagram. Both sides
 * decode what the other sends as untrusted: the signer assumes the network-facing process may be
 * compromised, so a request is only a template whose every field is checked here for framing
 * and again in signer.c for meaning. Big-endian integers, u16 length prefixes.
 *
 *   request: u8 version, u8 op, u64 id
 *            SIGN: u8 flags (bit 0 authenticated), u32 lifetime, u16-prefixed public key DER,
 *                  u8-prefixed common name, u8 count + that many u8-prefixed DNS names
 *   reply:   u8 version, u8 op, u64 id, u32 status (two's complement errno)
 *            status != 0: u8-prefixed message
 *            SIGN: u64 notBefore, u64 notAfter, 16-byte serial, u16-prefixed certificate DER
 *            HELLO/RELOAD: u32 lifetime, u32 max lifetime, u8 count + u16-prefixed DER certs
 */
#include <errno.h>
#include <string.h>

#include "nap/wire.h"
#include "naphrad.h"

bool
naphrad_dns_name_ok(const char *s)
{
	size_t n = strlen(s), label = 0;

	if (n == 0 || n > NAPHRAD_MAX_DNS || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return false;
		if (c == '-' && label == 0)
			return false;
		if (++label > 63)
			return false;
	}
	return s[n - 1] != '-';
}

bool
naphrad_cn_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > NAPHRAD_MAX_NAME)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

static bool
add_str8(struct nap_cbb *b, const char *s)
{
	size_t n = strlen(s);

	return n <= 255 && nap_cbb_add_u8(b, (uint8_t)n) && nap_cbb_add_bytes(b, (const uint8_t *)s, n);
}

/* A u8-prefixed string into out (cap includes the NUL); no NUL bytes inside. */
static bool
get_str8(struct nap_cbs *c, char *out, size_t cap)
{
	struct nap_cbs s;
	size_t n;

	if (!nap_cbs_get_u8_length_prefixed(c, &s))
		return false;
	n = nap_cbs_len(&s);
	if (n >= cap || memchr(nap_cbs_data(&s), '\0', n) != NULL)
		return false;
	memcpy(out, nap_cbs_data(&s), n);
	out[n] = '\0';
	return true;
}

static long
finish(struct nap_cbb *b)
{
	uint8_t *p;
	size_t n;
	int r = nap_cbb_finish(b, &p, &n);

	return r < 0 ? r : (long)n;
}

long
naphrad_signer_request_encode(const struct naphrad_signer_request *rq, uint8_t *out, size_t cap)
{
	struct nap_cbb b;
	const struct naphrad_template *t = &rq->t;

	nap_cbb_init_fixed(&b, out, cap);
	nap_cbb_add_u8(&b, NAPHRAD_PROTO_VERSION);
	nap_cbb_add_u8(&b, rq->op);
	nap_cbb_add_u64(&b, rq->id);
	if (rq->op == NAPHRAD_OP_SIGN) {
		if (t->pubkey_len > NAPHRAD_MAX_PUBKEY || t->n_dns > NAPHRAD_MAX_DNS_NAMES)
			return -EINVAL;
		nap_cbb_add_u8(&b, t->authenticated ? 1 : 0);
		nap_cbb_add_u32(&b, t->lifetime);
		nap_cbb_add_u16(&b, (uint16_t)t->pubkey_len);
		nap_cbb_add_bytes(&b, t->pubkey, t->pubkey_len);
		if (!add_str8(&b, t->cn))
			return -EINVAL;
		nap_cbb_add_u8(&b, (uint8_t)t->n_dns);
		for (size_t i = 0; i < t->n_dns; i++)
			if (!add_str8(&b, t->dns[i]))
				return -EINVAL;
	}
	return finish(&b);
}

int
naphrad_signer_request_decode(const uint8_t *p, size_t len, struct naphrad_signer_request *rq)
{
	struct nap_cbs c, key;
	struct naphrad_template *t = &rq->t;
	uint8_t version, flags, n_dns;

	memset(rq, 0, sizeof(*rq));
	nap_cbs_init(&c, p, len);
	if (!nap_cbs_get_u8(&c, &version) || version != NAPHRAD_PROTO_VERSION ||
	    !nap_cbs_get_u8(&c, &rq->op) || !nap_cbs_get_u64(&c, &rq->id))
		return -EBADMSG;
	switch (rq->op) {
	case NAPHRAD_OP_HELLO:
	case NAPHRAD_OP_RELOAD:
		return nap_cbs_len(&c) == 0 ? 0 : -EBADMSG;
	case NAPHRAD_OP_SIGN:
		break;
	default:
		return -EBADMSG;
	}
	if (!nap_cbs_get_u8(&c, &flags) || (flags & ~1u) != 0 ||
	    !nap_cbs_get_u32(&c, &t->lifetime) || !nap_cbs_get_u16_length_prefixed(&c, &key))
		return -EBADMSG;
	t->authenticated = flags & 1;
	t->pubkey_len = nap_cbs_len(&key);
	if (t->pubkey_len == 0 || t->pubkey_len > NAPHRAD_MAX_PUBKEY)
		return -EBADMSG;
	memcpy(t->pubkey, nap_cbs_data(&key), t->pubkey_len);
	if (!get_str8(&c, t->cn, sizeof(t->cn)) || !nap_cbs_get_u8(&c, &n_dns) ||
	    n_dns > NAPHRAD_MAX_DNS_NAMES)
		return -EBADMSG;
	t->n_dns = n_dns;
	for (size_t i = 0; i < t->n_dns; i++)
		if (!get_str8(&c, t->dns[i], sizeof(t->dns[i])))
			return -EBADMSG;
	return nap_cbs_len(&c) == 0 ? 0 : -EBADMSG;
}

long
naphrad_signer_reply_encode(const struct naphrad_signer_reply *rp, uint8_t *out, size_t cap)
{
	struct nap_cbb b;

	nap_cbb_init_fixed(&b, out, cap);
	nap_cbb_add_u8(&b, NAPHRAD_PROTO_VERSION);
	nap_cbb_add_u8(&b, rp->op);
	nap_cbb_add_u64(&b, rp->id);
	nap_cbb_add_u32(&b, (uint32_t)rp->status);
	if (rp->status != 0) {
		char msg[sizeof(rp->error)];

		memcpy(msg, rp->error, sizeof(msg));
		msg[sizeof(msg) - 1] = '\0';
		add_str8(&b, msg);
		return finish(&b);
	}
	if (rp->op == NAPHRAD_OP_SIGN) {
		if (rp->cert_len == 0 || rp->cert_len > NAPHRAD_MAX_CERT)
			return -EINVAL;
		nap_cbb_add_u64(&b, (uint64_t)rp->not_before);
		nap_cbb_add_u64(&b, (uint64_t)rp->not_after);
		nap_cbb_add_bytes(&b, rp->serial, sizeof(rp->serial));
		nap_cbb_add_u16(&b, (uint16_t)rp->cert_len);
		nap_cbb_add_bytes(&b, rp->cert, rp->cert_len);
	} else {
		if (rp->n_chain == 0 || rp->n_chain > NAPHRAD_MAX_CHAIN)
			return -EINVAL;
		nap_cbb_add_u32(&b, rp->lifetime);
		nap_cbb_add_u32(&b, rp->max_lifetime);
		nap_cbb_add_u8(&b, (uint8_t)rp->n_chain);
		for (size_t i = 0; i < rp->n_chain; i++) {
			if (rp->chain_len[i] == 0 || rp->chain_len[i] > NAPHRAD_MAX_CERT)
				return -EINVAL;
			nap_cbb_add_u16(&b, (uint16_t)rp->chain_len[i]);
			nap_cbb_add_bytes(&b, rp->chain[i], rp->chain_len[i]);
		}
	}
	return finish(&b);
}

int
naphrad_signer_reply_decode(const uint8_t *p, size_t len, struct naphrad_signer_reply *rp)
{
	struct nap_cbs c, cert;
	uint8_t version, n;
	uint32_t status;
	uint64_t nb, na;

	memset(rp, 0, sizeof(*rp));
	nap_cbs_init(&c, p, len);
	if (!nap_cbs_get_u8(&c, &version) || version != NAPHRAD_PROTO_VERSION ||
	    !nap_cbs_get_u8(&c, &rp->op) || !nap_cbs_get_u64(&c, &rp->id) ||
	    !nap_cbs_get_u32(&c, &status))
		return -EBADMSG;
	if (rp->op < NAPHRAD_OP_SIGN || rp->op > NAPHRAD_OP_RELOAD)
		return -EBADMSG;
	rp->status = (int32_t)status;
	if (rp->status != 0) {
		if (rp->status > 0 || !get_str8(&c, rp->error, sizeof(rp->error)))
			return -EBADMSG;
		return nap_cbs_len(&c) == 0 ? 0 : -EBADMSG;
	}
	if (rp->op == NAPHRAD_OP_SIGN) {
		if (!nap_cbs_get_u64(&c, &nb) || !nap_cbs_get_u64(&c, &na) ||
		    !nap_cbs_copy_bytes(&c, rp->serial, sizeof(rp->serial)) ||
		    !nap_cbs_get_u16_length_prefixed(&c, &cert))
			return -EBADMSG;
		if (nb > INT64_MAX || na > INT64_MAX || nb > na || nap_cbs_len(&cert) == 0 ||
		    nap_cbs_len(&cert) > NAPHRAD_MAX_CERT)
			return -EBADMSG;
		rp->not_before = (int64_t)nb;
		rp->not_after = (int64_t)na;
		rp->cert = nap_cbs_data(&cert);
		rp->cert_len = nap_cbs_len(&cert);
	} else {
		if (!nap_cbs_get_u32(&c, &rp->lifetime) || !nap_cbs_get_u32(&c, &rp->max_lifetime) ||
		    !nap_cbs_get_u8(&c, &n) || n == 0 || n > NAPHRAD_MAX_CHAIN)
			return -EBADMSG;
		rp->n_chain = n;
		for (size_t i = 0; i < n; i++) {
			if (!nap_cbs_get_u16_length_prefixed(&c, &cert) || nap_cbs_len(&cert) == 0 ||
			    nap_cbs_len(&cert) > NAPHRAD_MAX_CERT)
				return -EBADMSG;
			rp->chain[i] = nap_cbs_data(&cert);
			rp->chain_len[i] = nap_cbs_len(&cert);
		}
	}
	return nap_cbs_len(&c) == 0 ? 0 : -EBADMSG;
}
