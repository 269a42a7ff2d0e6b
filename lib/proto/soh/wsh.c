// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * [MS-WSH] report entries (System-Health-ID 0x00013780): decode the WSHA entry of a client SoH
 * and the WSHV entry of an SoHR into plain structs, and build both. Handles untrusted input
 * (the attributes of an already framed entry; each value length is checked here).
 */
#include <errno.h>
#include <string.h>

#include "nap/soh.h"
#include "nap/util.h"

static const char *const wsh_class_names[NAP_WSH_CLASSES] = {
	[NAP_WSH_FIREWALL] = "firewall",
	[NAP_WSH_ANTIVIRUS] = "antivirus",
	[NAP_WSH_ANTISPYWARE] = "antispyware",
	[NAP_WSH_AUTO_UPDATES] = "auto-updates",
	[NAP_WSH_SECURITY_UPDATES] = "security-updates",
};

const char *
nap_wsh_class_name(enum nap_wsh_class c)
{
	if ((unsigned)c < NAP_WSH_CLASSES)
		return wsh_class_names[c];
	return "unknown";
}

/* WSH 2.2.9: a 0xC0 top byte is an error, and so is 0x00FF0008 despite its prefix. */
bool
nap_wsh_status_is_error(uint32_t status)
{
	return (status >> 24) == 0xC0u || status == 0x00FF0008u;
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* Slots of the Vendor-Specific 0x00013780 TLVs, in the mandatory order of WSH 2.2.2. */
enum wsh_vs_slot {
	WSH_VS_FLAG,
	WSH_VS_VERSION,
	WSH_VS_LAST_SCAN,
	WSH_VS_WSUS,
	WSH_VS_UPDATES_FLAG,
	WSH_VS_DONE,
};

static int
wsh_decode_vs(const struct nap_soh_attr *a, struct nap_wsh *w, enum wsh_vs_slot *slot,
	      bool after_classes, struct nap_err *err)
{
	const uint8_t *v = a->value + 4;
	size_t n = a->len - 4u;

	if (be32(a->value) != NAP_SHID_WSH)
		return 0; /* another vendor's data: not ours to interpret */
	if (!after_classes) {
		if (*slot > WSH_VS_VERSION)
			return nap_err_set(err, a->offset, "unexpected Vendor-Specific in WSHA entry",
					   -EBADMSG);
		if (n != 4)
			return nap_err_set(err, a->offset + 2, "WSHA flag/version is not 4 bytes",
					   -EBADMSG);
		if (*slot == WSH_VS_FLAG) {
			w->has_flag = true;
			w->flag_counter = le32(v);
		} else {
			w->has_version = true;
			w->client_version = le32(v);
		}
		(*slot)++;
		return 0;
	}
	if (*slot < WSH_VS_LAST_SCAN) {
		/* The last scan time is absent when security updates reported an error. */
		const struct nap_wsh_class_report *su = &w->cls[NAP_WSH_SECURITY_UPDATES];

		*slot = su->present && nap_wsh_status_is_error(su->status) ? WSH_VS_WSUS
									 : WSH_VS_LAST_SCAN;
	}
	if (*slot == WSH_VS_LAST_SCAN && n != 4)
		*slot = WSH_VS_WSUS;
	switch (*slot) {
	case WSH_VS_LAST_SCAN:
		w->has_last_scan = true;
		w->last_scan_seconds = le32(v);
		break;
	case WSH_VS_WSUS:
		w->has_wsus = true;
		w->wsus_server = v;
		w->wsus_server_len = (uint16_t)n;
		break;
	case WSH_VS_UPDATES_FLAG:
		if (n != 4)
			return nap_err_set(err, a->offset + 2, "WSHA updates flag is not 4 bytes",
					   -EBADMSG);
		w->has_updates_flag = true;
		w->updates_flag = le32(v);
		break;
	default:
		return nap_err_set(err, a->offset, "unexpected Vendor-Specific in WSHA entry",
				   -EBADMSG);
	}
	(*slot)++;
	return 0;
}

static int
wsh_check_len(const struct nap_soh_attr *a, struct nap_err *err)
{
	if (!nap_soh_attr_len_valid(a->type, a->len))
		return nap_err_set(err, a->offset + 2, "bad attribute length in WSH entry",
				   -EBADMSG);
	return 0;
}

static int
wsh_class_of(const struct nap_soh_attr *a, struct nap_err *err)
{
	if (a->value[0] >= NAP_WSH_CLASSES)
		return nap_err_set(err, a->offset + 4, "unknown WSH health class", -EBADMSG);
	return a->value[0];
}

int
nap_wsh_decode(const struct nap_soh *soh, const struct nap_soh_entry *e, struct nap_wsh *out,
	       struct nap_err *err)
{
	enum wsh_vs_slot slot = WSH_VS_FLAG;
	int cls = -1;

	memset(out, 0, sizeof(*out));
	if (e == NULL || e->system_health_id != NAP_SHID_WSH)
		return nap_err_set(err, 0, "not an MS-WSH entry", -EINVAL);
	for (uint16_t i = 1; i < e->n_attrs; i++) {
		const struct nap_soh_attr *a = &soh->attrs[e->first_attr + i];
		struct nap_wsh_class_report *c = cls >= 0 ? &out->cls[cls] : NULL;
		int r = wsh_check_len(a, err);

		if (r < 0)
			return r;
		switch (a->type) {
		case NAP_SOH_ATTR_VENDOR_SPECIFIC:
			r = wsh_decode_vs(a, out, &slot, cls >= 0, err);
			break;
		case NAP_SOH_ATTR_HEALTH_CLASS:
			r = cls = wsh_class_of(a, err);
			if (r >= 0 && out->cls[cls].present)
				r = nap_err_set(err, a->offset, "health class repeated", -EBADMSG);
			if (r >= 0)
				out->cls[cls].present = true;
			break;
		case NAP_SOH_ATTR_PRODUCT_NAME:
			if (c == NULL)
				return nap_err_set(err, a->offset, "Product-Name outside a health class",
						   -EBADMSG);
			if (c->product_name == NULL) {
				c->product_name = a->value;
				c->product_name_len = a->len;
			}
			break;
		case NAP_SOH_ATTR_HEALTH_CLASS_STATUS:
			if (c == NULL)
				return nap_err_set(err, a->offset,
						   "Health-Class-Status outside a health class", -EBADMSG);
			c->status = be32(a->value);
			break;
		default:
			break; /* not part of WSHA: ignored */
		}
		if (r < 0)
			return r;
	}
	return 0;
}

int
nap_wshv_decode(const struct nap_soh *soh, const struct nap_soh_entry *e, struct nap_wshv *out,
		struct nap_err *err)
{
	int cls = -1;

	memset(out, 0, sizeof(*out));
	if (e == NULL || e->system_health_id != NAP_SHID_WSH)
		return nap_err_set(err, 0, "not an MS-WSH entry", -EINVAL);
	for (uint16_t i = 1; i < e->n_attrs; i++) {
		const struct nap_soh_attr *a = &soh->attrs[e->first_attr + i];
		struct nap_wshv_class_result *c = cls >= 0 ? &out->cls[cls] : NULL;
		int r = wsh_check_len(a, err);

		if (r < 0)
			return r;
		switch (a->type) {
		case NAP_SOH_ATTR_HEALTH_CLASS:
			cls = wsh_class_of(a, err);
			if (cls < 0)
				return cls;
			if (out->cls[cls].present)
				return nap_err_set(err, a->offset, "health class repeated", -EBADMSG);
			out->cls[cls].present = true;
			break;
		case NAP_SOH_ATTR_COMPLIANCE_RESULT_CODES:
			if (c == NULL)
				return nap_err_set(err, a->offset,
						   "Compliance-Result-Codes outside a health class",
						   -EBADMSG);
			if (a->len != 4 && a->len != 8)
				return nap_err_set(err, a->offset + 2,
						   "Compliance-Result-Codes is not 4 or 8 bytes", -EBADMSG);
			c->code1 = be32(a->value);
			c->has_code2 = a->len == 8;
			if (c->has_code2)
				c->code2 = be32(a->value + 4);
			break;
		case NAP_SOH_ATTR_FAILURE_CATEGORY:
			if (c == NULL)
				return nap_err_set(err, a->offset,
						   "Failure-Category outside a health class", -EBADMSG);
			c->has_failure = true;
			c->failure_category = a->value[0];
			break;
		default:
			break;
		}
	}
	return 0;
}

static int
wsh_add_vs(struct nap_soh *soh, const uint8_t *data, size_t n)
{
	uint8_t v[4 + 255];

	if (n > sizeof(v) - 4)
		return -EINVAL;
	v[0] = (uint8_t)(NAP_SHID_WSH >> 24);
	v[1] = (uint8_t)(NAP_SHID_WSH >> 16);
	v[2] = (uint8_t)(NAP_SHID_WSH >> 8);
	v[3] = (uint8_t)NAP_SHID_WSH;
	if (n > 0)
		memcpy(v + 4, data, n);
	return nap_soh_add_attr(soh, NAP_SOH_ATTR_VENDOR_SPECIFIC, v, 4 + n);
}

static int
wsh_add_vs_le32(struct nap_soh *soh, uint32_t x)
{
	uint8_t b[4] = {(uint8_t)x, (uint8_t)(x >> 8), (uint8_t)(x >> 16), (uint8_t)(x >> 24)};

	return wsh_add_vs(soh, b, sizeof(b));
}

int
nap_wsh_add_entry(struct nap_soh *soh, const struct nap_wsh *w)
{
	int r = nap_soh_begin_entry(soh, NAP_SHID_WSH);

	if (r == 0 && w->has_flag)
		r = wsh_add_vs_le32(soh, w->flag_counter);
	if (r == 0 && w->has_version)
		r = wsh_add_vs_le32(soh, w->client_version);
	for (int i = 0; r == 0 && i < NAP_WSH_CLASSES; i++) {
		const struct nap_wsh_class_report *c = &w->cls[i];

		if (!c->present)
			continue;
		r = nap_soh_add_u8(soh, NAP_SOH_ATTR_HEALTH_CLASS, (uint8_t)i);
		if (r == 0 && c->product_name != NULL)
			r = nap_soh_add_attr(soh, NAP_SOH_ATTR_PRODUCT_NAME, c->product_name,
					     c->product_name_len);
		if (r == 0)
			r = nap_soh_add_u32(soh, NAP_SOH_ATTR_HEALTH_CLASS_STATUS, c->status);
	}
	if (r == 0 && w->has_last_scan)
		r = wsh_add_vs_le32(soh, w->last_scan_seconds);
	if (r == 0 && w->has_wsus)
		r = wsh_add_vs(soh, w->wsus_server, w->wsus_server_len);
	if (r == 0 && w->has_updates_flag)
		r = wsh_add_vs_le32(soh, w->updates_flag);
	return r;
}

int
nap_wshv_add_entry(struct nap_soh *soh, const struct nap_wshv *w)
{
	int r = nap_soh_begin_entry(soh, NAP_SHID_WSH);

	for (int i = 0; r == 0 && i < NAP_WSH_CLASSES; i++) {
		const struct nap_wshv_class_result *c = &w->cls[i];
		uint8_t codes[8];

		if (!c->present)
			continue;
		for (int k = 0; k < 4; k++) {
			codes[k] = (uint8_t)(c->code1 >> (24 - 8 * k));
			codes[4 + k] = (uint8_t)(c->code2 >> (24 - 8 * k));
		}
		r = nap_soh_add_u8(soh, NAP_SOH_ATTR_HEALTH_CLASS, (uint8_t)i);
		if (r == 0)
			r = nap_soh_add_attr(soh, NAP_SOH_ATTR_COMPLIANCE_RESULT_CODES, codes,
					     c->has_code2 ? 8 : 4);
		if (r == 0 && c->has_failure)
			r = nap_soh_add_u8(soh, NAP_SOH_ATTR_FAILURE_CATEGORY, c->failure_category);
	}
	return r;
}
