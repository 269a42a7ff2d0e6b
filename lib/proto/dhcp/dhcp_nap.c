// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * NAP over DHCP ([MS-DHCPN] 2.2.1; spec/PROTOCOLS.md §3.1): the sub-options 220-223 inside
 * option 43 (RFC 2132 §8.4 encoding), decoded from a packet whose option 43 instances were
 * already concatenated (RFC 3396), and encoded for the server's OFFER/ACK and the client's
 * DISCOVER/REQUEST. Handles untrusted input.
 *
 * Tolerances (DESIGN.md §3, spec §3.4): the marker is accepted as "NAP" (DHCPN 2.2.1.1) or "PAN"
 * (what FreeRADIUS rlm_soh writes) and always sent as "NAP"; an SoH may arrive split over several
 * 220 sub-options and/or several option 43 instances and is concatenated in order.
 */
#include <errno.h>
#include <string.h>

#include "nap/dhcp.h"

static const uint8_t marker_nap[3] = {'N', 'A', 'P'}; /* 4e 41 50, DHCPN 2.2.1.1 */
static const uint8_t marker_pan[3] = {'P', 'A', 'N'}; /* 50 41 4e, FR rlm_soh (spec §3.4) */

const char *
nap_dhcp_soh_kind_name(enum nap_dhcp_soh_kind kind)
{
	switch (kind) {
	case NAP_DHCP_SOH_ABSENT:
		return "absent";
	case NAP_DHCP_SOH_PROBE:
		return "probe";
	case NAP_DHCP_SOH_PROBE_RENEW:
		return "probe-renew";
	case NAP_DHCP_SOH_MARKER:
		return "marker";
	case NAP_DHCP_SOH_DATA:
		return "soh";
	}
	return "unknown";
}

int
nap_dhcp_nap_parse(const struct nap_dhcp_packet *pkt, struct nap_dhcp_nap *nap,
		   struct nap_err *err)
{
	const struct nap_dhcp_option *o = nap_dhcp_find(pkt, NAP_DHCP_OPT_VENDOR);
	struct nap_cbs cbs;
	bool seen_soh = false;

	memset(nap, 0, offsetof(struct nap_dhcp_nap, soh_buf));
	if (o == NULL)
		return 0;
	nap_cbs_init(&cbs, o->value, o->len);
	while (nap_cbs_len(&cbs) > 0) {
		size_t at = nap_cbs_offset(&cbs);
		struct nap_cbs v;
		uint8_t code;
		size_t n;

		(void)nap_cbs_get_u8(&cbs, &code);
		if (code == 0) /* Pad (RFC 2132 §8.4: same syntax as the options field) */
			continue;
		if (code == 255)
			break;
		if (!nap_cbs_get_u8_length_prefixed(&cbs, &v))
			return nap_err_set(err, nap_dhcp_value_offset(pkt, NAP_DHCP_OPT_VENDOR, at),
					   "vendor sub-option overruns option 43", -EBADMSG);
		n = nap_cbs_len(&v);
		at = nap_dhcp_value_offset(pkt, NAP_DHCP_OPT_VENDOR, at);
		switch (code) {
		case NAP_DHCP_SUB_SOH:
			/* DHCPN 2.2.1.1: the pieces of one SoH, in order. */
			if (n > sizeof(nap->soh_buf) - nap->soh_len)
				return nap_err_set(err, at, "NAP-SoH over the NAP limit", -EMSGSIZE);
			memcpy(nap->soh_buf + nap->soh_len, nap_cbs_data(&v), n);
			nap->soh_len += n;
			nap->n_soh_parts++;
			seen_soh = true;
			break;
		case NAP_DHCP_SUB_MASK:
			/* DHCPN 2.2.1.2: 4 bytes, little-endian. */
			if (nap->has_mask)
				return nap_err_set(err, at, "repeated NAP-Mask", -EBADMSG);
			if (n != 4)
				return nap_err_set(err, at, "NAP-Mask not 4 bytes", -EBADMSG);
			for (int i = 0; i < 4; i++)
				nap->mask[i] = nap_cbs_data(&v)[3 - i];
			nap->has_mask = true;
			break;
		case NAP_DHCP_SUB_COID:
			/* DHCPN 2.2.1.3: 130 bytes. */
			if (nap->has_coid)
				return nap_err_set(err, at, "repeated NAP-CoID", -EBADMSG);
			if (n != NAP_DHCP_COID_LEN)
				return nap_err_set(err, at, "NAP-CoID not 130 bytes", -EBADMSG);
			memcpy(nap->coid, nap_cbs_data(&v), n);
			nap->has_coid = true;
			break;
		case NAP_DHCP_SUB_IPV6:
			/* DHCPN 2.2.1.4: length 0, or a count and that many IPv6 addresses. */
			if (nap->has_ipv6)
				return nap_err_set(err, at, "repeated NAP-IPv6", -EBADMSG);
			if (n > 0) {
				uint8_t count = nap_cbs_data(&v)[0];

				/* n <= 255, so a matching count is at most 15. */
				if (n != 1 + 16 * (size_t)count)
					return nap_err_set(err, at, "NAP-IPv6 length does not match its count",
							   -EBADMSG);
				nap->n_ipv6 = count;
				memcpy(nap->ipv6, nap_cbs_data(&v) + 1, 16 * (size_t)count);
			}
			nap->has_ipv6 = true;
			break;
		default:
			continue; /* another vendor's sub-option: not ours to judge */
		}
		nap->present = true;
	}
	if (!seen_soh)
		return 0;
	nap->soh = nap->soh_buf;
	if (nap->soh_len == 0)
		nap->soh_kind = NAP_DHCP_SOH_PROBE;
	else if (nap->soh_len == 1 && nap->soh_buf[0] == 0)
		nap->soh_kind = NAP_DHCP_SOH_PROBE_RENEW;
	else if (nap->soh_len == 3 && memcmp(nap->soh_buf, marker_nap, 3) == 0)
		nap->soh_kind = NAP_DHCP_SOH_MARKER;
	else if (nap->soh_len == 3 && memcmp(nap->soh_buf, marker_pan, 3) == 0) {
		nap->soh_kind = NAP_DHCP_SOH_MARKER;
		nap->marker_pan = true;
	} else
		nap->soh_kind = NAP_DHCP_SOH_DATA;
	return 0;
}

size_t
nap_dhcp_nap_soh_offset(const struct nap_dhcp_packet *pkt, size_t off)
{
	const struct nap_dhcp_option *o = nap_dhcp_find(pkt, NAP_DHCP_OPT_VENDOR);
	struct nap_cbs cbs, v;
	size_t last = pkt->length;
	uint8_t code;

	if (o == NULL)
		return last;
	nap_cbs_init(&cbs, o->value, o->len);
	while (nap_cbs_get_u8(&cbs, &code) && code != 255) {
		if (code == 0)
			continue;
		if (!nap_cbs_get_u8_length_prefixed(&cbs, &v))
			break;
		if (code != NAP_DHCP_SUB_SOH)
			continue;
		if (off < nap_cbs_len(&v))
			return nap_dhcp_value_offset(pkt, NAP_DHCP_OPT_VENDOR,
						     nap_cbs_offset(&v) + off);
		off -= nap_cbs_len(&v);
		last = nap_dhcp_value_offset(pkt, NAP_DHCP_OPT_VENDOR,
					     nap_cbs_offset(&v) + nap_cbs_len(&v));
	}
	return last;
}

long
nap_dhcp_nap_encode(const struct nap_dhcp_nap *nap, uint8_t *out, size_t cap)
{
	struct nap_cbb c;
	uint8_t *p;
	size_t n;
	bool ok = true;

	nap_cbb_init_fixed(&c, out, cap);
	if (nap->has_coid)
		ok = nap_cbb_add_u8(&c, NAP_DHCP_SUB_COID) && nap_cbb_add_u8(&c, NAP_DHCP_COID_LEN) &&
		     nap_cbb_add_bytes(&c, nap->coid, NAP_DHCP_COID_LEN);
	switch (nap->soh_kind) {
	case NAP_DHCP_SOH_ABSENT:
		break;
	case NAP_DHCP_SOH_PROBE: /* DHCPN 2.2.1.1: length 0 in DHCPDISCOVER */
		ok = ok && nap_cbb_add_u8(&c, NAP_DHCP_SUB_SOH) && nap_cbb_add_u8(&c, 0);
		break;
	case NAP_DHCP_SOH_PROBE_RENEW: /* length 1, value 0 */
		ok = ok && nap_cbb_add_u8(&c, NAP_DHCP_SUB_SOH) && nap_cbb_add_u8(&c, 1) &&
		     nap_cbb_add_u8(&c, 0);
		break;
	case NAP_DHCP_SOH_MARKER: /* always "NAP" (spec §3.4), whatever the peer sent */
		ok = ok && nap_cbb_add_u8(&c, NAP_DHCP_SUB_SOH) && nap_cbb_add_u8(&c, 3) &&
		     nap_cbb_add_bytes(&c, marker_nap, 3);
		break;
	case NAP_DHCP_SOH_DATA: {
		const uint8_t *s = nap->soh;
		size_t left = nap->soh_len;

		if (s == NULL || left == 0 || left > NAP_DHCP_NAP_SOH_MAX)
			return -EINVAL;
		/* Longer than one sub-option: consecutive 220s, concatenated by the reader. */
		while (ok && left > 0) {
			size_t k = left > 255 ? 255 : left;

			ok = nap_cbb_add_u8(&c, NAP_DHCP_SUB_SOH) && nap_cbb_add_u8(&c, (uint8_t)k) &&
			     nap_cbb_add_bytes(&c, s, k);
			s += k;
			left -= k;
		}
		break;
	}
	default:
		return -EINVAL;
	}
	if (nap->has_mask) /* DHCPN 2.2.1.2: little-endian on the wire */
		ok = ok && nap_cbb_add_u8(&c, NAP_DHCP_SUB_MASK) && nap_cbb_add_u8(&c, 4) &&
		     nap_cbb_add_u8(&c, nap->mask[3]) && nap_cbb_add_u8(&c, nap->mask[2]) &&
		     nap_cbb_add_u8(&c, nap->mask[1]) && nap_cbb_add_u8(&c, nap->mask[0]);
	if (nap->has_ipv6) {
		if (nap->n_ipv6 > NAP_DHCP_NAP_MAX_IPV6)
			return -EINVAL;
		ok = ok && nap_cbb_add_u8(&c, NAP_DHCP_SUB_IPV6) &&
		     nap_cbb_add_u8(&c, (uint8_t)(1 + 16 * nap->n_ipv6)) &&
		     nap_cbb_add_u8(&c, nap->n_ipv6) &&
		     nap_cbb_add_bytes(&c, &nap->ipv6[0][0], 16 * (size_t)nap->n_ipv6);
	}
	if (!ok || nap_cbb_finish(&c, &p, &n) < 0)
		return -EMSGSIZE;
	return (long)n;
}

int
nap_dhcp_add_nap(struct nap_dhcp_builder *b, const struct nap_dhcp_nap *nap)
{
	uint8_t tmp[NAP_DHCP_MAX_LEN];
	long n;

	if (b->error != 0)
		return b->error;
	if ((n = nap_dhcp_nap_encode(nap, tmp, sizeof(tmp))) < 0)
		return b->error = (int)n;
	/* Over 255 bytes: several option 43 instances (RFC 3396). */
	return nap_dhcp_add_option(b, NAP_DHCP_OPT_VENDOR, tmp, (size_t)n);
}

static void
nap_out_init(struct nap_dhcp_nap *nap, const uint8_t *coid, enum nap_dhcp_soh_kind kind)
{
	memset(nap, 0, offsetof(struct nap_dhcp_nap, soh_buf));
	nap->present = true;
	nap->soh_kind = kind;
	if (coid != NULL) {
		nap->has_coid = true;
		memcpy(nap->coid, coid, NAP_DHCP_COID_LEN);
	}
}

int
nap_dhcp_add_nap_marker(struct nap_dhcp_builder *b, const uint8_t *coid)
{
	struct nap_dhcp_nap nap;

	nap_out_init(&nap, coid, NAP_DHCP_SOH_MARKER);
	return nap_dhcp_add_nap(b, &nap);
}

int
nap_dhcp_add_nap_sohr(struct nap_dhcp_builder *b, const uint8_t *sohr, size_t len,
		      const uint8_t *coid, const uint8_t *mask)
{
	struct nap_dhcp_nap nap;

	nap_out_init(&nap, coid, NAP_DHCP_SOH_DATA);
	nap.soh = sohr;
	nap.soh_len = len;
	if (mask != NULL) {
		nap.has_mask = true;
		memcpy(nap.mask, mask, 4);
	}
	return nap_dhcp_add_nap(b, &nap);
}

int
nap_dhcp_add_nap_probe(struct nap_dhcp_builder *b, const uint8_t *coid, bool renew)
{
	struct nap_dhcp_nap nap;

	nap_out_init(&nap, coid, renew ? NAP_DHCP_SOH_PROBE_RENEW : NAP_DHCP_SOH_PROBE);
	return nap_dhcp_add_nap(b, &nap);
}

int
nap_dhcp_add_nap_soh(struct nap_dhcp_builder *b, const uint8_t *soh, size_t len,
		     const uint8_t *coid)
{
	return nap_dhcp_add_nap_sohr(b, soh, len, coid, NULL);
}
