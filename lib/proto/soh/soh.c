// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * SoH / SoHR codec: the 12-byte header (optionally behind the PEAP-style wrapper), the mode
 * sub-header, the flat TLV run split into report entries, and the SSoH type-value items of
 * entry 0x00013700; plus the builder used to produce SoHs and SoHRs. Handles untrusted input:
 * every length is checked against its container, and a container must be consumed exactly.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "nap/soh.h"
#include "nap/util.h"

#define SOH_HEADER_LEN    12
#define SOH_SUBHEADER_LEN 34
#define SOH_SUBHEADER_VAL 30
#define SOH_TLV_HDR       4
#define SOH_INNER_PLAIN   1
#define SOH_INNER_MODE    2
#define SOH_WRAP_SOH_TLV  1 /* MS vendor TLV type 1 "SoH TLV" of the PEAP-style wrapper */

/* Attribute table: names for tools and logs, and the value length every producer uses. */
struct soh_attr_info {
	const char *name;
	uint16_t min_len, max_len;
};

static const struct soh_attr_info soh_attr_table[] = {
	[NAP_SOH_ATTR_SYSTEM_HEALTH_ID] = {"System-Health-ID", 4, 4},
	[NAP_SOH_ATTR_IPV4_FIXUP_SERVERS] = {"IPv4-Fixup-Servers", 0, 0xffff},
	[NAP_SOH_ATTR_COMPLIANCE_RESULT_CODES] = {"Compliance-Result-Codes", 4, 0xffff},
	[NAP_SOH_ATTR_TIME_OF_LAST_UPDATE] = {"Time-Of-Last-Update", 8, 8},
	[NAP_SOH_ATTR_CLIENT_ID] = {"Client-Id", 0, 0xffff},
	[NAP_SOH_ATTR_VENDOR_SPECIFIC] = {"Vendor-Specific", 4, 0xffff},
	[NAP_SOH_ATTR_HEALTH_CLASS] = {"Health-Class", 1, 1},
	[NAP_SOH_ATTR_SOFTWARE_VERSION] = {"Software-Version", 0, 0xffff},
	[NAP_SOH_ATTR_PRODUCT_NAME] = {"Product-Name", 0, 0xffff},
	[NAP_SOH_ATTR_HEALTH_CLASS_STATUS] = {"Health-Class-Status", 4, 4},
	[NAP_SOH_ATTR_SOH_GENERATION_TIME] = {"SoH-Generation-Time", 8, 8},
	[NAP_SOH_ATTR_ERROR_CODES] = {"Error-Codes", 4, 0xffff},
	[NAP_SOH_ATTR_FAILURE_CATEGORY] = {"Failure-Category", 1, 1},
	[NAP_SOH_ATTR_IPV6_FIXUP_SERVERS] = {"IPv6-Fixup-Servers", 0, 0xffff},
	[NAP_SOH_ATTR_EXTENDED_ISOLATION_STATE] = {"Extended-Isolation-State", 0, 0xffff},
};

const char *
nap_soh_attr_name(uint16_t type)
{
	type &= NAP_SOH_TYPE_MASK;
	if (type < NAP_ARRAY_SIZE(soh_attr_table) && soh_attr_table[type].name != NULL)
		return soh_attr_table[type].name;
	return "unknown";
}

static const char *const failure_names[] = {
	[NAP_FAILURE_NONE] = "none",
	[NAP_FAILURE_OTHER] = "other",
	[NAP_FAILURE_CLIENT_COMPONENT] = "client-component",
	[NAP_FAILURE_CLIENT_COMMUNICATION] = "client-communication",
	[NAP_FAILURE_SERVER_COMPONENT] = "server-component",
	[NAP_FAILURE_SERVER_COMMUNICATION] = "server-communication",
};

const char *
nap_failure_category_name(uint8_t category)
{
	if (category < NAP_ARRAY_SIZE(failure_names))
		return failure_names[category];
	return "unknown";
}

/*
 * SSoH items. Each item type has an implied layout (no length byte), so an unknown type stops
 * the parse: its length cannot be known.
 */
static int
ssoh_get_lp(struct nap_cbs *cbs, const uint8_t **p, uint16_t *len)
{
	struct nap_cbs v;

	if (!nap_cbs_get_u16_length_prefixed(cbs, &v))
		return -1;
	*p = nap_cbs_data(&v);
	*len = (uint16_t)nap_cbs_len(&v);
	return 0;
}

static int
ssoh_decode(struct nap_cbs *cbs, struct nap_ssoh *s, struct nap_err *err)
{
	memset(s, 0, sizeof(*s));
	while (nap_cbs_len(cbs) > 0) {
		size_t off = nap_cbs_offset(cbs);
		uint8_t item;
		bool ok;

		(void)nap_cbs_get_u8(cbs, &item);
		if (item < NAP_SSOH_MACHINE_INVENTORY || item > NAP_SSOH_MACHINE_INVENTORY_EX)
			return nap_err_set(err, off, "unknown SSoH item type (layout unknown)",
					   -EBADMSG);
		if (s->present & (1u << item))
			return nap_err_set(err, off, "duplicate SSoH item", -EBADMSG);
		switch (item) {
		case NAP_SSOH_MACHINE_INVENTORY:
			ok = nap_cbs_get_u32(cbs, &s->os_major) &&
			     nap_cbs_get_u32(cbs, &s->os_minor) &&
			     nap_cbs_get_u32(cbs, &s->os_build) &&
			     nap_cbs_get_u16(cbs, &s->sp_major) &&
			     nap_cbs_get_u16(cbs, &s->sp_minor) &&
			     nap_cbs_get_u16(cbs, &s->processor_arch);
			break;
		case NAP_SSOH_QUARANTINE_STATE:
			ok = nap_cbs_get_u8(cbs, &s->qs_reserved) &&
			     nap_cbs_get_u8(cbs, &s->qs_flags) &&
			     nap_cbs_get_u64(cbs, &s->probation_time) &&
			     ssoh_get_lp(cbs, &s->url, &s->url_len) == 0;
			break;
		case NAP_SSOH_PACKET_INFO:
			ok = nap_cbs_get_u8(cbs, &s->packet_info);
			break;
		case NAP_SSOH_SYSTEM_GENERATED_IDS:
			ok = ssoh_get_lp(cbs, &s->sysgen_ids, &s->sysgen_ids_len) == 0;
			break;
		case NAP_SSOH_MACHINE_NAME:
			ok = ssoh_get_lp(cbs, &s->machine_name, &s->machine_name_len) == 0;
			break;
		case NAP_SSOH_CORRELATION_ID:
			ok = nap_cbs_copy_bytes(cbs, s->correlation_id, NAP_CORRELATION_ID_LEN);
			break;
		case NAP_SSOH_INSTALLED_SHVS:
			ok = ssoh_get_lp(cbs, &s->installed_shvs, &s->installed_shvs_len) == 0;
			break;
		default: /* NAP_SSOH_MACHINE_INVENTORY_EX */
			ok = nap_cbs_get_u32(cbs, &s->inv_ex_reserved) &&
			     nap_cbs_get_u8(cbs, &s->product_type);
			break;
		}
		if (!ok)
			return nap_err_set(err, off, "SSoH item runs past its Vendor-Specific TLV",
					   -EBADMSG);
		s->present |= 1u << item;
		s->order[s->n_order++] = item;
	}
	return 0;
}

static bool
ssoh_add_lp(struct nap_cbb *cbb, const uint8_t *p, uint16_t len)
{
	return nap_cbb_add_u16(cbb, len) && nap_cbb_add_bytes(cbb, p, len);
}

static bool
ssoh_encode(const struct nap_ssoh *s, struct nap_cbb *cbb)
{
	for (uint8_t i = 0; i < s->n_order && i < NAP_SSOH_MAX_ITEMS; i++) {
		uint8_t item = s->order[i];
		bool ok;

		if (!nap_cbb_add_u8(cbb, item))
			return false;
		switch (item) {
		case NAP_SSOH_MACHINE_INVENTORY:
			ok = nap_cbb_add_u32(cbb, s->os_major) && nap_cbb_add_u32(cbb, s->os_minor) &&
			     nap_cbb_add_u32(cbb, s->os_build) && nap_cbb_add_u16(cbb, s->sp_major) &&
			     nap_cbb_add_u16(cbb, s->sp_minor) &&
			     nap_cbb_add_u16(cbb, s->processor_arch);
			break;
		case NAP_SSOH_QUARANTINE_STATE:
			ok = nap_cbb_add_u8(cbb, s->qs_reserved) && nap_cbb_add_u8(cbb, s->qs_flags) &&
			     nap_cbb_add_u64(cbb, s->probation_time) &&
			     ssoh_add_lp(cbb, s->url, s->url_len);
			break;
		case NAP_SSOH_PACKET_INFO:
			ok = nap_cbb_add_u8(cbb, s->packet_info);
			break;
		case NAP_SSOH_SYSTEM_GENERATED_IDS:
			ok = ssoh_add_lp(cbb, s->sysgen_ids, s->sysgen_ids_len);
			break;
		case NAP_SSOH_MACHINE_NAME:
			ok = ssoh_add_lp(cbb, s->machine_name, s->machine_name_len);
			break;
		case NAP_SSOH_CORRELATION_ID:
			ok = nap_cbb_add_bytes(cbb, s->correlation_id, NAP_CORRELATION_ID_LEN);
			break;
		case NAP_SSOH_INSTALLED_SHVS:
			ok = ssoh_add_lp(cbb, s->installed_shvs, s->installed_shvs_len);
			break;
		case NAP_SSOH_MACHINE_INVENTORY_EX:
			ok = nap_cbb_add_u32(cbb, s->inv_ex_reserved) &&
			     nap_cbb_add_u8(cbb, s->product_type);
			break;
		default:
			return false;
		}
		if (!ok)
			return false;
	}
	return true;
}

/*
 * The PEAP-style wrapper is a Vendor-Specific TLV (7, vendor 311) holding MS vendor TLV 1
 * ("SoH TLV"), i.e. 00 07 LL LL 00 00 01 37 00 01 LL LL, followed by a second Vendor-Specific
 * 311 header: the SoH proper. A bare SoH header is instead followed by a System-Health-ID TLV
 * or the mode sub-header (inner type 2), so the two cannot be confused.
 */
static bool
soh_looks_wrapped(const uint8_t *p, size_t len)
{
	static const uint8_t vs311[] = {0x00, 0x07};
	static const uint8_t ms[] = {0x00, 0x00, 0x01, 0x37};

	if (len < 2 * SOH_HEADER_LEN)
		return false;
	return memcmp(p, vs311, 2) == 0 && memcmp(p + 4, ms, 4) == 0 && p[8] == 0x00 &&
	       p[9] == SOH_WRAP_SOH_TLV && memcmp(p + 12, vs311, 2) == 0 &&
	       memcmp(p + 16, ms, 4) == 0;
}

static int
soh_decode_header(struct nap_cbs *msg, struct nap_soh *soh, struct nap_cbs *body,
		  struct nap_err *err)
{
	size_t start = nap_cbs_offset(msg);
	uint16_t type, outer_len, inner_len;
	uint32_t vendor;

	if (!nap_cbs_get_u16(msg, &type))
		return nap_err_set(err, start, "truncated SoH header", -EBADMSG);
	if (type != NAP_SOH_ATTR_VENDOR_SPECIFIC)
		return nap_err_set(err, start, "not an SoH: type is not Vendor-Specific (7)",
				   -EBADMSG);
	if (!nap_cbs_get_u16(msg, &outer_len) || !nap_cbs_get_u32(msg, &vendor))
		return nap_err_set(err, start, "truncated SoH header", -EBADMSG);
	if (vendor != NAP_VENDOR_MICROSOFT)
		return nap_err_set(err, start + 4, "not an SoH: vendor is not Microsoft (311)",
				   -EBADMSG);
	if (nap_cbs_len(msg) + 8 > NAP_SOH_MAX_LEN)
		return nap_err_set(err, start, "SoH longer than 4000 bytes", -EMSGSIZE);
	if (outer_len != nap_cbs_len(msg) + 4)
		return nap_err_set(err, start + 2, "SoH length does not match the input",
				   -EBADMSG);
	if (!nap_cbs_get_u16(msg, &soh->inner_type) || !nap_cbs_get_u16(msg, &inner_len))
		return nap_err_set(err, start + 8, "truncated SoH header", -EBADMSG);
	if (soh->inner_type != SOH_INNER_PLAIN && soh->inner_type != SOH_INNER_MODE)
		return nap_err_set(err, start + 8, "not an SoH: inner type is not 1 or 2",
				   -EBADMSG);
	if (inner_len != nap_cbs_len(msg))
		return nap_err_set(err, start + 10, "SoH inner length does not match its outer length",
				   -EBADMSG);
	*body = *msg;
	if (soh->inner_type == SOH_INNER_MODE) {
		size_t off = nap_cbs_offset(body);
		uint16_t sub_type, sub_len;

		if (!nap_cbs_get_u16(body, &sub_type) || !nap_cbs_get_u16(body, &sub_len) ||
		    !nap_cbs_get_u32(body, &vendor) ||
		    !nap_cbs_copy_bytes(body, soh->correlation_id, NAP_CORRELATION_ID_LEN) ||
		    !nap_cbs_get_u8(body, &soh->intent) || !nap_cbs_get_u8(body, &soh->content_type))
			return nap_err_set(err, off, "truncated mode sub-header", -EBADMSG);
		if (sub_type != NAP_SOH_ATTR_VENDOR_SPECIFIC || sub_len != SOH_SUBHEADER_VAL ||
		    vendor != NAP_VENDOR_MICROSOFT)
			return nap_err_set(err, off, "bad mode sub-header (want 0007 001e 00000137)",
					   -EBADMSG);
	}
	return 0;
}

static uint32_t
a_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int
soh_decode_tlvs(struct nap_cbs *body, struct nap_soh *soh, struct nap_err *err)
{
	while (nap_cbs_len(body) > 0) {
		size_t off = nap_cbs_offset(body);
		struct nap_soh_attr *a;
		struct nap_cbs val;
		uint16_t raw, len, type;

		if (!nap_cbs_get_u16(body, &raw) || !nap_cbs_get_u16(body, &len))
			return nap_err_set(err, off, "truncated TLV header", -EBADMSG);
		if (!nap_cbs_get_bytes(body, &val, len))
			return nap_err_set(err, off + 2, "TLV length runs past its container",
					   -EBADMSG);
		if (soh->n_attrs >= NAP_SOH_MAX_ATTRS)
			return nap_err_set(err, off, "more than 100 attributes", -EMSGSIZE);
		type = raw & NAP_SOH_TYPE_MASK;
		if (type == NAP_SOH_ATTR_SYSTEM_HEALTH_ID) {
			struct nap_soh_entry *e;
			uint32_t shid;

			if (len != 4)
				return nap_err_set(err, off + 2, "System-Health-ID length is not 4",
						   -EBADMSG);
			if (soh->n_entries >= NAP_SOH_MAX_ENTRIES)
				return nap_err_set(err, off, "more than 20 health entries", -EMSGSIZE);
			shid = (uint32_t)a_be32(nap_cbs_data(&val));
			e = &soh->entries[soh->n_entries++];
			e->system_health_id = shid;
			e->first_attr = soh->n_attrs;
			e->n_attrs = 0;
		} else if (soh->n_entries == 0) {
			return nap_err_set(err, off, "attribute before the first System-Health-ID",
					   -EBADMSG);
		}
		a = &soh->attrs[soh->n_attrs++];
		a->type = type;
		a->raw_type = raw;
		a->len = len;
		a->value = nap_cbs_data(&val);
		a->offset = off;
		a->ssoh_payload = false;
		soh->entries[soh->n_entries - 1].n_attrs++;
	}
	if (soh->n_entries == 0)
		return nap_err_set(err, nap_cbs_offset(body), "SoH without a System-Health-ID",
				   -EBADMSG);
	return 0;
}

/* The SSoH is the first Vendor-Specific 311 TLV of the first entry 0x00013700. */
static int
soh_decode_ssoh(struct nap_soh *soh, struct nap_err *err)
{
	const struct nap_soh_entry *e = nap_soh_find_entry(soh, NAP_SHID_NAP_SYSTEM);

	if (e == NULL)
		return 0;
	for (uint16_t i = 1; i < e->n_attrs; i++) {
		struct nap_soh_attr *a = &soh->attrs[e->first_attr + i];
		struct nap_cbs v;
		uint32_t vendor;

		if (a->type != NAP_SOH_ATTR_VENDOR_SPECIFIC)
			continue;
		nap_cbs_init(&v, a->value, a->len);
		if (!nap_cbs_get_u32(&v, &vendor) || vendor != NAP_VENDOR_MICROSOFT)
			continue;
		/* Offsets inside the SSoH: rebase the view on the whole input. */
		v.base = a->value - a->offset - SOH_TLV_HDR;
		int r = ssoh_decode(&v, &soh->ssoh, err);
		if (r < 0)
			return r;
		a->ssoh_payload = true;
		soh->has_ssoh = true;
		return 0;
	}
	return 0;
}

int
nap_soh_decode(const uint8_t *p, size_t len, struct nap_soh *soh, struct nap_err *err)
{
	struct nap_cbs in, msg, body;
	int r;

	memset(soh, 0, offsetof(struct nap_soh, arena));
	if (p == NULL) {
		p = (const uint8_t *)"";
		len = 0;
	}
	nap_cbs_init(&in, p, len);
	if (soh_looks_wrapped(p, len)) {
		uint16_t outer_len, tlv_len;

		if (len - 4 > NAP_SOH_MAX_LEN + 8)
			return nap_err_set(err, 0, "SoH longer than 4000 bytes", -EMSGSIZE);
		outer_len = (uint16_t)((p[2] << 8) | p[3]);
		tlv_len = (uint16_t)((p[10] << 8) | p[11]);
		if (outer_len != len - 4)
			return nap_err_set(err, 2, "wrapper length does not match the input",
					   -EBADMSG);
		if (tlv_len != len - SOH_HEADER_LEN)
			return nap_err_set(err, 10, "wrapper SoH TLV length does not match the input",
					   -EBADMSG);
		(void)nap_cbs_skip(&in, SOH_HEADER_LEN);
		soh->wrapped = true;
	}
	msg = in;
	r = soh_decode_header(&msg, soh, &body, err);
	if (r < 0)
		return r;
	r = soh_decode_tlvs(&body, soh, err);
	if (r < 0)
		return r;
	return soh_decode_ssoh(soh, err);
}

static bool
soh_encode_attr(const struct nap_soh *soh, const struct nap_soh_attr *a, struct nap_cbb *out)
{
	if (!nap_cbb_add_u16(out, a->raw_type))
		return false;
	if (a->ssoh_payload) {
		return nap_cbb_open_u16_length_prefixed(out) &&
		       nap_cbb_add_u32(out, NAP_VENDOR_MICROSOFT) && ssoh_encode(&soh->ssoh, out) &&
		       nap_cbb_close(out);
	}
	return nap_cbb_add_u16(out, a->len) && nap_cbb_add_bytes(out, a->value, a->len);
}

int
nap_soh_encode(const struct nap_soh *soh, struct nap_cbb *out)
{
	size_t soh_start;
	bool ok = true;

	if (soh->inner_type != SOH_INNER_PLAIN && soh->inner_type != SOH_INNER_MODE)
		return -EINVAL;
	if (soh->n_attrs > NAP_SOH_MAX_ATTRS || soh->n_entries > NAP_SOH_MAX_ENTRIES)
		return -EMSGSIZE;
	if (soh->wrapped)
		ok = nap_cbb_add_u16(out, NAP_SOH_ATTR_VENDOR_SPECIFIC) &&
		     nap_cbb_open_u16_length_prefixed(out) &&
		     nap_cbb_add_u32(out, NAP_VENDOR_MICROSOFT) &&
		     nap_cbb_add_u16(out, SOH_WRAP_SOH_TLV) && nap_cbb_open_u16_length_prefixed(out);
	soh_start = nap_cbb_len(out);
	ok = ok && nap_cbb_add_u16(out, NAP_SOH_ATTR_VENDOR_SPECIFIC) &&
	     nap_cbb_open_u16_length_prefixed(out) && nap_cbb_add_u32(out, NAP_VENDOR_MICROSOFT) &&
	     nap_cbb_add_u16(out, soh->inner_type) && nap_cbb_open_u16_length_prefixed(out);
	if (ok && soh->inner_type == SOH_INNER_MODE)
		ok = nap_cbb_add_u16(out, NAP_SOH_ATTR_VENDOR_SPECIFIC) &&
		     nap_cbb_add_u16(out, SOH_SUBHEADER_VAL) &&
		     nap_cbb_add_u32(out, NAP_VENDOR_MICROSOFT) &&
		     nap_cbb_add_bytes(out, soh->correlation_id, NAP_CORRELATION_ID_LEN) &&
		     nap_cbb_add_u8(out, soh->intent) && nap_cbb_add_u8(out, soh->content_type);
	for (uint16_t i = 0; ok && i < soh->n_attrs; i++)
		ok = soh_encode_attr(soh, &soh->attrs[i], out);
	ok = ok && nap_cbb_close(out) && nap_cbb_close(out);
	if (ok && nap_cbb_len(out) - soh_start > NAP_SOH_MAX_LEN)
		return -EMSGSIZE;
	if (ok && soh->wrapped)
		ok = nap_cbb_close(out) && nap_cbb_close(out);
	return ok ? 0 : -ENOSPC;
}

int
nap_soh_encode_alloc(const struct nap_soh *soh, uint8_t **out, size_t *out_len)
{
	struct nap_cbb cbb;
	int r;

	r = nap_cbb_init(&cbb, 256, NAP_SOH_MAX_LEN + SOH_HEADER_LEN);
	if (r < 0)
		return r;
	r = nap_soh_encode(soh, &cbb);
	if (r == 0)
		r = nap_cbb_finish(&cbb, out, out_len);
	if (r == -ENOSPC)
		r = -EMSGSIZE; /* the only bound on an allocating builder is the NAP limit */
	nap_cbb_cleanup(&cbb);
	return r;
}

bool
nap_soh_is_request(const struct nap_soh *soh)
{
	if (soh->has_ssoh && nap_ssoh_has(&soh->ssoh, NAP_SSOH_PACKET_INFO))
		return (soh->ssoh.packet_info & NAP_PACKET_INFO_REQUEST) != 0;
	if (soh->inner_type == SOH_INNER_MODE)
		return soh->intent == 0x01;
	return true;
}

const struct nap_soh_entry *
nap_soh_find_entry(const struct nap_soh *soh, uint32_t shid)
{
	for (uint16_t i = 0; i < soh->n_entries; i++)
		if (soh->entries[i].system_health_id == shid)
			return &soh->entries[i];
	return NULL;
}

const struct nap_soh_attr *
nap_soh_entry_attr(const struct nap_soh *soh, const struct nap_soh_entry *e, uint16_t type)
{
	for (uint16_t i = 0; i < e->n_attrs; i++) {
		const struct nap_soh_attr *a = &soh->attrs[e->first_attr + i];

		if (a->type == type)
			return a;
	}
	return NULL;
}

const uint8_t *
nap_soh_correlation_id(const struct nap_soh *soh)
{
	if (soh->inner_type == SOH_INNER_MODE)
		return soh->correlation_id;
	if (soh->has_ssoh && nap_ssoh_has(&soh->ssoh, NAP_SSOH_CORRELATION_ID))
		return soh->ssoh.correlation_id;
	return NULL;
}

/* Builder. */

void
nap_ssoh_set(struct nap_ssoh *s, enum nap_ssoh_item item)
{
	if (item < NAP_SSOH_MACHINE_INVENTORY || item > NAP_SSOH_MACHINE_INVENTORY_EX)
		return;
	if (s->present & (1u << item))
		return;
	if (s->n_order >= NAP_SSOH_MAX_ITEMS)
		return;
	s->present |= 1u << item;
	s->order[s->n_order++] = (uint8_t)item;
}

const uint8_t *
nap_soh_store(struct nap_soh *soh, const void *p, size_t n)
{
	uint8_t *dst;

	if (sizeof(soh->arena) - soh->arena_len < n)
		return NULL;
	dst = soh->arena + soh->arena_len;
	if (n > 0)
		memcpy(dst, p, n);
	soh->arena_len += n;
	return dst;
}

/*
 * An SoHR mirrors the SoH: the same header and mode sub-header (intent 0x00, our inference for
 * "response": PROTOCOLS.md §1.7) and an SSoHR whose Packet-Info has the request bit clear.
 */
void
nap_soh_init(struct nap_soh *soh, bool request, const uint8_t corr[NAP_CORRELATION_ID_LEN])
{
	struct nap_soh_attr *a;

	memset(soh, 0, offsetof(struct nap_soh, arena));
	soh->arena_len = 0;
	soh->inner_type = SOH_INNER_MODE;
	if (corr != NULL)
		memcpy(soh->correlation_id, corr, NAP_CORRELATION_ID_LEN);
	soh->intent = request ? 0x01 : 0x00;
	soh->content_type = 0x00;
	soh->has_ssoh = true;
	soh->ssoh.packet_info = request ? (NAP_PACKET_INFO_REQUEST | 0x01) : 0x01;
	nap_ssoh_set(&soh->ssoh, NAP_SSOH_PACKET_INFO);
	memcpy(soh->ssoh.correlation_id, soh->correlation_id, NAP_CORRELATION_ID_LEN);
	nap_ssoh_set(&soh->ssoh, NAP_SSOH_CORRELATION_ID);
	(void)nap_soh_begin_entry(soh, NAP_SHID_NAP_SYSTEM);
	a = &soh->attrs[soh->n_attrs++];
	a->type = a->raw_type = NAP_SOH_ATTR_VENDOR_SPECIFIC;
	a->ssoh_payload = true;
	soh->entries[soh->n_entries - 1].n_attrs++;
}

static int
soh_append(struct nap_soh *soh, uint16_t type, const void *value, size_t len)
{
	struct nap_soh_attr *a;
	const uint8_t *v;

	if (soh->n_attrs >= NAP_SOH_MAX_ATTRS || len > 0xffff)
		return -ENOSPC;
	v = nap_soh_store(soh, value, len);
	if (v == NULL)
		return -ENOSPC;
	a = &soh->attrs[soh->n_attrs++];
	a->type = type & NAP_SOH_TYPE_MASK;
	a->raw_type = type;
	a->len = (uint16_t)len;
	a->value = v;
	a->offset = 0;
	a->ssoh_payload = false;
	soh->entries[soh->n_entries - 1].n_attrs++;
	return 0;
}

int
nap_soh_begin_entry(struct nap_soh *soh, uint32_t shid)
{
	uint8_t v[4] = {(uint8_t)(shid >> 24), (uint8_t)(shid >> 16), (uint8_t)(shid >> 8),
			(uint8_t)shid};
	struct nap_soh_entry *e;

	if (soh->n_entries >= NAP_SOH_MAX_ENTRIES || soh->n_attrs >= NAP_SOH_MAX_ATTRS ||
	    sizeof(soh->arena) - soh->arena_len < sizeof(v))
		return -ENOSPC;
	e = &soh->entries[soh->n_entries++];
	e->system_health_id = shid;
	e->first_attr = soh->n_attrs;
	e->n_attrs = 0;
	return soh_append(soh, NAP_SOH_ATTR_SYSTEM_HEALTH_ID, v, sizeof(v));
}

int
nap_soh_add_attr(struct nap_soh *soh, uint16_t type, const void *value, size_t len)
{
	if (soh->n_entries == 0 || (type & NAP_SOH_TYPE_MASK) == NAP_SOH_ATTR_SYSTEM_HEALTH_ID)
		return -EINVAL;
	return soh_append(soh, type, value, len);
}

int
nap_soh_add_u8(struct nap_soh *soh, uint16_t type, uint8_t v)
{
	return nap_soh_add_attr(soh, type, &v, 1);
}

int
nap_soh_add_u32(struct nap_soh *soh, uint16_t type, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

	return nap_soh_add_attr(soh, type, b, sizeof(b));
}

bool
nap_soh_attr_len_valid(uint16_t type, size_t len)
{
	type &= NAP_SOH_TYPE_MASK;
	if (type < NAP_ARRAY_SIZE(soh_attr_table) && soh_attr_table[type].name != NULL)
		return len >= soh_attr_table[type].min_len && len <= soh_attr_table[type].max_len;
	return len <= 0xffff;
}
