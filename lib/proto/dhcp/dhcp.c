// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * DHCPv4 codec: BOOTP fixed header (RFC 2131 §2), magic cookie (RFC 2131 §3), options
 * (RFC 2132) with Option Overload (RFC 2132 §9.3) and long options (RFC 3396), and a bounded
 * builder. Handles untrusted input: every option is carved from its field with a size check
 * before it is read, and values are only handed out after concatenation into the packet's arena.
 */
#include <errno.h>
#include <string.h>

#include "nap/dhcp.h"
#include "nap/util.h"

#define DHCP_SNAME_AT 44
#define DHCP_FILE_AT  108
#define U16MAX        0xffffu

/* Protocols are data: one row per option nap names; the decoder checks lengths against it. */
static const struct nap_dhcp_option_def option_defs[] = {
	{NAP_DHCP_OPT_SUBNET_MASK, "Subnet-Mask", NAP_DHCP_V_IPV4, 4, 4, 0},
	{2, "Time-Offset", NAP_DHCP_V_U32, 4, 4, 0},
	{NAP_DHCP_OPT_ROUTER, "Router", NAP_DHCP_V_IPV4_LIST, 4, U16MAX, 4},
	{4, "Time-Server", NAP_DHCP_V_IPV4_LIST, 4, U16MAX, 4},
	{NAP_DHCP_OPT_DNS, "Domain-Name-Server", NAP_DHCP_V_IPV4_LIST, 4, U16MAX, 4},
	{NAP_DHCP_OPT_HOSTNAME, "Host-Name", NAP_DHCP_V_STRING, 1, U16MAX, 0},
	{NAP_DHCP_OPT_DOMAIN_NAME, "Domain-Name", NAP_DHCP_V_STRING, 1, U16MAX, 0},
	{26, "Interface-MTU", NAP_DHCP_V_U16, 2, 2, 0},
	{28, "Broadcast-Address", NAP_DHCP_V_IPV4, 4, 4, 0},
	{NAP_DHCP_OPT_STATIC_ROUTE, "Static-Route", NAP_DHCP_V_IPV4_LIST, 8, U16MAX, 8},
	{42, "NTP-Servers", NAP_DHCP_V_IPV4_LIST, 4, U16MAX, 4},
	{NAP_DHCP_OPT_VENDOR, "Vendor-Specific", NAP_DHCP_V_NAP, 1, U16MAX, 0},
	{44, "NetBIOS-Name-Servers", NAP_DHCP_V_IPV4_LIST, 4, U16MAX, 4},
	{NAP_DHCP_OPT_REQUESTED_IP, "Requested-IP-Address", NAP_DHCP_V_IPV4, 4, 4, 0},
	{NAP_DHCP_OPT_LEASE_TIME, "IP-Address-Lease-Time", NAP_DHCP_V_U32, 4, 4, 0},
	{NAP_DHCP_OPT_OVERLOAD, "Option-Overload", NAP_DHCP_V_U8, 1, 1, 0},
	{NAP_DHCP_OPT_MESSAGE_TYPE, "DHCP-Message-Type", NAP_DHCP_V_MSG_TYPE, 1, 1, 0},
	{NAP_DHCP_OPT_SERVER_ID, "Server-Identifier", NAP_DHCP_V_IPV4, 4, 4, 0},
	{NAP_DHCP_OPT_PARAM_LIST, "Parameter-Request-List", NAP_DHCP_V_CODES, 1, U16MAX, 0},
	{NAP_DHCP_OPT_MESSAGE, "Message", NAP_DHCP_V_STRING, 1, U16MAX, 0},
	{NAP_DHCP_OPT_MAX_MSG_SIZE, "Maximum-DHCP-Message-Size", NAP_DHCP_V_U16, 2, 2, 0},
	{NAP_DHCP_OPT_RENEWAL_TIME, "Renewal-Time", NAP_DHCP_V_U32, 4, 4, 0},
	{NAP_DHCP_OPT_REBINDING_TIME, "Rebinding-Time", NAP_DHCP_V_U32, 4, 4, 0},
	{NAP_DHCP_OPT_VENDOR_CLASS, "Vendor-Class-Identifier", NAP_DHCP_V_STRING, 1, U16MAX, 0},
	{NAP_DHCP_OPT_CLIENT_ID, "Client-Identifier", NAP_DHCP_V_OCTETS, 2, U16MAX, 0},
	{66, "TFTP-Server-Name", NAP_DHCP_V_STRING, 1, U16MAX, 0},
	{67, "Bootfile-Name", NAP_DHCP_V_STRING, 1, U16MAX, 0},
	{NAP_DHCP_OPT_USER_CLASS, "User-Class", NAP_DHCP_V_STRING, 1, U16MAX, 0},
	{NAP_DHCP_OPT_CLIENT_FQDN, "Client-FQDN", NAP_DHCP_V_OCTETS, 3, U16MAX, 0},
	{NAP_DHCP_OPT_RELAY_AGENT, "Relay-Agent-Information", NAP_DHCP_V_OCTETS, 2, U16MAX, 0},
	{118, "Subnet-Selection", NAP_DHCP_V_IPV4, 4, 4, 0},
	{NAP_DHCP_OPT_CLASSLESS_ROUTE, "Classless-Static-Route", NAP_DHCP_V_ROUTES, 5, U16MAX, 0},
	{NAP_DHCP_OPT_MS_CLASSLESS_ROUTE, "MS-Classless-Static-Route", NAP_DHCP_V_ROUTES, 5, U16MAX,
	 0},
	{NAP_DHCP_OPT_MS_LONG_OPTION, "MS-Encoding-Long-Options", NAP_DHCP_V_OCTETS, 0, U16MAX, 0},
};

static const char *const message_type_names[] = {
	[NAP_DHCPDISCOVER] = "DHCPDISCOVER", [NAP_DHCPOFFER] = "DHCPOFFER",
	[NAP_DHCPREQUEST] = "DHCPREQUEST",   [NAP_DHCPDECLINE] = "DHCPDECLINE",
	[NAP_DHCPACK] = "DHCPACK",           [NAP_DHCPNAK] = "DHCPNAK",
	[NAP_DHCPRELEASE] = "DHCPRELEASE",   [NAP_DHCPINFORM] = "DHCPINFORM",
};

const struct nap_dhcp_option_def *
nap_dhcp_option_def(uint8_t code)
{
	for (size_t i = 0; i < NAP_ARRAY_SIZE(option_defs); i++)
		if (option_defs[i].code == code)
			return &option_defs[i];
	return NULL;
}

const char *
nap_dhcp_message_type_name(int type)
{
	if (type <= 0 || (size_t)type >= NAP_ARRAY_SIZE(message_type_names))
		return NULL;
	return message_type_names[type];
}

/* ---------------------------------------------------------------------------------------- */
/* Decoding                                                                                  */

enum dhcp_area { AREA_OPTIONS, AREA_FILE, AREA_SNAME };

/*
 * Walk one option area [at, at + n) and record every instance. Pad is skipped; End stops the
 * area (what follows is padding). An area may also simply end: many clients omit End in file
 * and sname, and the bounds are what matter.
 */
static int
dhcp_walk_area(struct nap_dhcp_packet *pkt, const uint8_t *p, size_t at, size_t n,
	       enum dhcp_area area, struct nap_err *err)
{
	struct nap_cbs cbs;

	nap_cbs_init(&cbs, p, at + n);
	(void)nap_cbs_skip(&cbs, at);
	while (nap_cbs_len(&cbs) > 0) {
		size_t opt_at = nap_cbs_offset(&cbs);
		struct nap_cbs value;
		uint8_t code;

		(void)nap_cbs_get_u8(&cbs, &code);
		if (code == NAP_DHCP_OPT_PAD)
			continue;
		if (code == NAP_DHCP_OPT_END)
			return 0;
		if (!nap_cbs_get_u8_length_prefixed(&cbs, &value))
			return nap_err_set(err, opt_at,
					   nap_cbs_len(&cbs) == 0 ? "option length missing"
								   : "option overruns its field",
					   -EBADMSG);
		if (code == NAP_DHCP_OPT_OVERLOAD && area != AREA_OPTIONS)
			return nap_err_set(err, opt_at,
					   "option overload outside the options field", -EBADMSG);
		/* Every instance takes at least two bytes of a message of at most
		 * NAP_DHCP_MAX_LEN, so the table cannot fill up; checked all the same. */
		if (pkt->n_parts >= NAP_DHCP_MAX_PARTS)
			return nap_err_set(err, opt_at, "too many options", -EMSGSIZE);
		pkt->parts[pkt->n_parts++] = (struct nap_dhcp_part){
			.code = code,
			.len = (uint8_t)nap_cbs_len(&value),
			.value_at = (uint16_t)nap_cbs_offset(&value),
		};
	}
	return 0;
}

/* RFC 3396 §5: concatenate the instances of each code in aggregate order. */
static int
dhcp_concatenate(struct nap_dhcp_packet *pkt, const uint8_t *p, struct nap_err *err)
{
	size_t total[256] = {0}, fill[256] = {0}, at = 0;

	for (uint16_t i = 0; i < pkt->n_parts; i++) {
		const struct nap_dhcp_part *part = &pkt->parts[i];

		if (pkt->index[part->code] == 0) {
			struct nap_dhcp_option *o = &pkt->options[pkt->n_options];

			o->code = part->code;
			o->offset = (size_t)part->value_at - 2;
			pkt->index[part->code] = (uint8_t)++pkt->n_options;
		}
		pkt->options[pkt->index[part->code] - 1].n_parts++;
		total[part->code] += part->len;
	}
	for (uint16_t i = 0; i < pkt->n_options; i++) {
		struct nap_dhcp_option *o = &pkt->options[i];

		/* The arena is as large as the largest message, and every value byte is a
		 * message byte, so this cannot overflow. */
		if (total[o->code] > sizeof(pkt->arena) - at)
			return nap_err_set(err, o->offset, "options too long", -EMSGSIZE);
		o->value = pkt->arena + at;
		o->len = (uint16_t)total[o->code];
		fill[o->code] = at;
		at += total[o->code];
	}
	for (uint16_t i = 0; i < pkt->n_parts; i++) {
		const struct nap_dhcp_part *part = &pkt->parts[i];

		memcpy(pkt->arena + fill[part->code], p + part->value_at, part->len);
		fill[part->code] += part->len;
	}
	pkt->arena_len = at;
	return 0;
}

static int
dhcp_check_lengths(const struct nap_dhcp_packet *pkt, struct nap_err *err)
{
	for (uint16_t i = 0; i < pkt->n_options; i++) {
		const struct nap_dhcp_option *o = &pkt->options[i];
		const struct nap_dhcp_option_def *d = nap_dhcp_option_def(o->code);

		if (d == NULL)
			continue;
		if (o->len < d->min_len)
			return nap_err_set(err, o->offset, "option too short", -EBADMSG);
		if (o->len > d->max_len)
			return nap_err_set(err, o->offset, "option too long", -EBADMSG);
		if (d->multiple != 0 && o->len % d->multiple != 0)
			return nap_err_set(err, o->offset, "option length not a multiple of its item",
					   -EBADMSG);
	}
	return 0;
}

int
nap_dhcp_decode(const uint8_t *p, size_t len, struct nap_dhcp_packet *pkt, struct nap_err *err)
{
	struct nap_dhcp_header *h = &pkt->hdr;
	struct nap_cbs cbs;
	uint32_t cookie;
	uint8_t overload = 0;
	int r;

	memset(pkt, 0, offsetof(struct nap_dhcp_packet, arena));
	if (len > NAP_DHCP_MAX_LEN)
		return nap_err_set(err, NAP_DHCP_MAX_LEN, "message too long", -EMSGSIZE);
	nap_cbs_init(&cbs, p, len);
	if (!nap_cbs_get_u8(&cbs, &h->op) || !nap_cbs_get_u8(&cbs, &h->htype) ||
	    !nap_cbs_get_u8(&cbs, &h->hlen) || !nap_cbs_get_u8(&cbs, &h->hops) ||
	    !nap_cbs_get_u32(&cbs, &h->xid) || !nap_cbs_get_u16(&cbs, &h->secs) ||
	    !nap_cbs_get_u16(&cbs, &h->flags) || !nap_cbs_copy_bytes(&cbs, h->ciaddr, 4) ||
	    !nap_cbs_copy_bytes(&cbs, h->yiaddr, 4) || !nap_cbs_copy_bytes(&cbs, h->siaddr, 4) ||
	    !nap_cbs_copy_bytes(&cbs, h->giaddr, 4) ||
	    !nap_cbs_copy_bytes(&cbs, h->chaddr, sizeof(h->chaddr)) ||
	    !nap_cbs_copy_bytes(&cbs, h->sname, sizeof(h->sname)) ||
	    !nap_cbs_copy_bytes(&cbs, h->file, sizeof(h->file)))
		return nap_err_set(err, nap_cbs_offset(&cbs), "truncated BOOTP header", -EBADMSG);
	if (!nap_cbs_get_u32(&cbs, &cookie))
		return nap_err_set(err, NAP_DHCP_FIXED_LEN, "truncated magic cookie", -EBADMSG);
	if (cookie != NAP_DHCP_COOKIE)
		return nap_err_set(err, NAP_DHCP_FIXED_LEN, "no DHCP magic cookie (BOOTP)",
				   -ENOTSUP);
	pkt->length = len;

	/* RFC 3396 §7: the options field first, then file, then sname, when overloaded. */
	if ((r = dhcp_walk_area(pkt, p, NAP_DHCP_OPTIONS_AT, len - NAP_DHCP_OPTIONS_AT,
				AREA_OPTIONS, err)) < 0)
		return r;
	for (uint16_t i = 0; i < pkt->n_parts; i++) {
		const struct nap_dhcp_part *part = &pkt->parts[i];

		if (part->code != NAP_DHCP_OPT_OVERLOAD)
			continue;
		/* RFC 2132 §9.3: one byte, 1 file, 2 sname, 3 both. */
		if (overload != 0 || part->len != 1 || p[part->value_at] < 1 ||
		    p[part->value_at] > 3)
			return nap_err_set(err, (size_t)part->value_at - 2, "bad option overload",
					   -EBADMSG);
		overload = p[part->value_at];
	}
	pkt->overload = overload;
	if ((overload & 1) != 0 &&
	    (r = dhcp_walk_area(pkt, p, DHCP_FILE_AT, NAP_DHCP_FILE_LEN, AREA_FILE, err)) < 0)
		return r;
	if ((overload & 2) != 0 &&
	    (r = dhcp_walk_area(pkt, p, DHCP_SNAME_AT, NAP_DHCP_SNAME_LEN, AREA_SNAME, err)) < 0)
		return r;
	if ((r = dhcp_concatenate(pkt, p, err)) < 0)
		return r;
	return dhcp_check_lengths(pkt, err);
}

const struct nap_dhcp_option *
nap_dhcp_find(const struct nap_dhcp_packet *pkt, uint8_t code)
{
	if (pkt->index[code] == 0)
		return NULL;
	return &pkt->options[pkt->index[code] - 1];
}

bool
nap_dhcp_get_bytes(const struct nap_dhcp_packet *pkt, uint8_t code, struct nap_cbs *out)
{
	const struct nap_dhcp_option *o = nap_dhcp_find(pkt, code);

	if (o == NULL)
		return false;
	nap_cbs_init(out, o->value, o->len);
	return true;
}

bool
nap_dhcp_get_u8(const struct nap_dhcp_packet *pkt, uint8_t code, uint8_t *v)
{
	const struct nap_dhcp_option *o = nap_dhcp_find(pkt, code);

	if (o == NULL || o->len != 1)
		return false;
	*v = o->value[0];
	return true;
}

bool
nap_dhcp_get_u16(const struct nap_dhcp_packet *pkt, uint8_t code, uint16_t *v)
{
	struct nap_cbs cbs;

	return nap_dhcp_get_bytes(pkt, code, &cbs) && nap_cbs_len(&cbs) == 2 &&
	       nap_cbs_get_u16(&cbs, v);
}

bool
nap_dhcp_get_u32(const struct nap_dhcp_packet *pkt, uint8_t code, uint32_t *v)
{
	struct nap_cbs cbs;

	return nap_dhcp_get_bytes(pkt, code, &cbs) && nap_cbs_len(&cbs) == 4 &&
	       nap_cbs_get_u32(&cbs, v);
}

bool
nap_dhcp_get_ipv4(const struct nap_dhcp_packet *pkt, uint8_t code, uint8_t addr[4])
{
	struct nap_cbs cbs;

	return nap_dhcp_get_bytes(pkt, code, &cbs) && nap_cbs_len(&cbs) == 4 &&
	       nap_cbs_copy_bytes(&cbs, addr, 4);
}

int
nap_dhcp_message_type(const struct nap_dhcp_packet *pkt)
{
	uint8_t t;

	return nap_dhcp_get_u8(pkt, NAP_DHCP_OPT_MESSAGE_TYPE, &t) ? t : 0;
}

bool
nap_dhcp_requested_ip(const struct nap_dhcp_packet *pkt, uint8_t addr[4])
{
	return nap_dhcp_get_ipv4(pkt, NAP_DHCP_OPT_REQUESTED_IP, addr);
}

bool
nap_dhcp_server_id(const struct nap_dhcp_packet *pkt, uint8_t addr[4])
{
	return nap_dhcp_get_ipv4(pkt, NAP_DHCP_OPT_SERVER_ID, addr);
}

bool
nap_dhcp_lease_time(const struct nap_dhcp_packet *pkt, uint32_t *seconds)
{
	return nap_dhcp_get_u32(pkt, NAP_DHCP_OPT_LEASE_TIME, seconds);
}

bool
nap_dhcp_user_class_has(const struct nap_dhcp_packet *pkt, const char *name)
{
	size_t n = strlen(name);
	struct nap_cbs cbs, inst;

	if (!nap_dhcp_get_bytes(pkt, NAP_DHCP_OPT_USER_CLASS, &cbs))
		return false;
	if (nap_cbs_len(&cbs) == n && memcmp(nap_cbs_data(&cbs), name, n) == 0)
		return true;
	/* RFC 3004 §4: a run of (length, data) instances; stop at the first malformed one. */
	while (nap_cbs_get_u8_length_prefixed(&cbs, &inst))
		if (nap_cbs_len(&inst) == n && memcmp(nap_cbs_data(&inst), name, n) == 0)
			return true;
	return false;
}

size_t
nap_dhcp_value_offset(const struct nap_dhcp_packet *pkt, uint8_t code, size_t off)
{
	size_t last = pkt->length;

	for (uint16_t i = 0; i < pkt->n_parts; i++) {
		const struct nap_dhcp_part *part = &pkt->parts[i];

		if (part->code != code)
			continue;
		if (off < part->len)
			return (size_t)part->value_at + off;
		off -= part->len;
		last = (size_t)part->value_at + part->len;
	}
	return last;
}

/* ---------------------------------------------------------------------------------------- */
/* Building                                                                                  */

void
nap_dhcp_build_init(struct nap_dhcp_builder *b, const struct nap_dhcp_header *h, size_t max)
{
	struct nap_cbb *c = &b->cbb;

	if (max == 0)
		max = NAP_DHCP_DEFAULT_MAX;
	if (max < NAP_DHCP_MIN_LEN)
		max = NAP_DHCP_MIN_LEN;
	if (max > sizeof(b->buf))
		max = sizeof(b->buf);
	nap_cbb_init_fixed(c, b->buf, max);
	b->error = 0;
	(void)(nap_cbb_add_u8(c, h->op) && nap_cbb_add_u8(c, h->htype) &&
	       nap_cbb_add_u8(c, h->hlen) && nap_cbb_add_u8(c, h->hops) &&
	       nap_cbb_add_u32(c, h->xid) && nap_cbb_add_u16(c, h->secs) &&
	       nap_cbb_add_u16(c, h->flags) && nap_cbb_add_bytes(c, h->ciaddr, 4) &&
	       nap_cbb_add_bytes(c, h->yiaddr, 4) && nap_cbb_add_bytes(c, h->siaddr, 4) &&
	       nap_cbb_add_bytes(c, h->giaddr, 4) &&
	       nap_cbb_add_bytes(c, h->chaddr, sizeof(h->chaddr)) &&
	       nap_cbb_add_bytes(c, h->sname, sizeof(h->sname)) &&
	       nap_cbb_add_bytes(c, h->file, sizeof(h->file)) &&
	       nap_cbb_add_u32(c, NAP_DHCP_COOKIE));
	/* 240 bytes always fit the 300-byte minimum maximum. */
}

int
nap_dhcp_add_option(struct nap_dhcp_builder *b, uint8_t code, const void *value, size_t len)
{
	const uint8_t *v = value;
	size_t pieces = len == 0 ? 1 : (len + 254) / 255;

	if (b->error != 0)
		return b->error;
	if (code == NAP_DHCP_OPT_PAD || code == NAP_DHCP_OPT_END || (len > 0 && value == NULL))
		return b->error = -EINVAL;
	/* All or nothing, and always room for End: check the whole size first. */
	if (b->cbb.max - nap_cbb_len(&b->cbb) < len + 2 * pieces + 1)
		return b->error = -EMSGSIZE;
	do {
		size_t n = len > 255 ? 255 : len;

		if (!nap_cbb_add_u8(&b->cbb, code) || !nap_cbb_add_u8(&b->cbb, (uint8_t)n) ||
		    !nap_cbb_add_bytes(&b->cbb, v, n))
			return b->error = -EMSGSIZE;
		v += n;
		len -= n;
	} while (len > 0);
	return 0;
}

int
nap_dhcp_add_u8(struct nap_dhcp_builder *b, uint8_t code, uint8_t v)
{
	return nap_dhcp_add_option(b, code, &v, 1);
}

int
nap_dhcp_add_u16(struct nap_dhcp_builder *b, uint8_t code, uint16_t v)
{
	uint8_t w[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	return nap_dhcp_add_option(b, code, w, sizeof(w));
}

int
nap_dhcp_add_u32(struct nap_dhcp_builder *b, uint8_t code, uint32_t v)
{
	uint8_t w[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

	return nap_dhcp_add_option(b, code, w, sizeof(w));
}

int
nap_dhcp_add_ipv4(struct nap_dhcp_builder *b, uint8_t code, const uint8_t addr[4])
{
	return nap_dhcp_add_option(b, code, addr, 4);
}

int
nap_dhcp_finish(struct nap_dhcp_builder *b, const uint8_t **out, size_t *out_len)
{
	uint8_t *p;
	size_t n;
	int r;

	if (b->error != 0)
		return b->error;
	if (!nap_cbb_add_u8(&b->cbb, NAP_DHCP_OPT_END))
		return b->error = -EMSGSIZE;
	if (nap_cbb_len(&b->cbb) < NAP_DHCP_MIN_LEN &&
	    !nap_cbb_add_zeros(&b->cbb, NAP_DHCP_MIN_LEN - nap_cbb_len(&b->cbb)))
		return b->error = -EMSGSIZE;
	if ((r = nap_cbb_finish(&b->cbb, &p, &n)) < 0)
		return b->error = r;
	*out = p;
	*out_len = n;
	return 0;
}
