// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * The nap SHA entry (what the agent evaluated) and the nap SHV entry (what napvd decided):
 * System-Health-ID NAP_SHID_NAP, a Vendor-Specific TLV holding nap items (type u8, length u16,
 * value), and a few standard SoH attributes. Handles untrusted input: item framing errors are
 * errors, impossible values in a well-framed entry only set malformed_items.
 * Layout: doc/formats.md.
 */
#include <errno.h>
#include <string.h>

#include "nap/health.h"
#include "nap/hsr.h"
#include "nap/util.h"

#define HEALTH_ITEMS_MAX 1024 /* bytes of nap items in one Vendor-Specific value */

bool
nap_site_valid(const char *site)
{
	size_t n;

	if (site == NULL)
		return false;
	n = strnlen(site, NAP_SITE_MAX + 1);
	if (n == 0 || n > NAP_SITE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = site[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t
be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* An update id: printable ASCII, no spaces, 1..63 bytes. */
static bool
update_id_valid(const uint8_t *p, size_t n)
{
	if (n == 0 || n > NAP_UPDATE_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] <= 0x20 || p[i] >= 0x7f)
			return false;
	return true;
}

/*
 * Walk the nap items of a Vendor-Specific value (after its 4-byte vendor id) and hand each to
 * fn. Framing (item header, item length) is checked here; fn judges values.
 */
typedef void (*health_item_fn)(void *ctx, uint8_t type, const uint8_t *v, uint16_t len);

static int
health_walk_items(const struct nap_soh_attr *a, health_item_fn fn, void *ctx,
		  struct nap_err *err)
{
	struct nap_cbs cbs;

	nap_cbs_init(&cbs, a->value, a->len);
	(void)nap_cbs_skip(&cbs, 4);
	while (nap_cbs_len(&cbs) > 0) {
		size_t off = a->offset + 4 + nap_cbs_offset(&cbs);
		struct nap_cbs v;
		uint8_t type;

		if (!nap_cbs_get_u8(&cbs, &type) || !nap_cbs_get_u16_length_prefixed(&cbs, &v))
			return nap_err_set(err, off, "nap item runs past its Vendor-Specific TLV",
					   -EBADMSG);
		fn(ctx, type, nap_cbs_data(&v), (uint16_t)nap_cbs_len(&v));
	}
	return 0;
}

/* Find the entry's nap Vendor-Specific TLV (vendor id NAP_SHID_NAP), or NULL. */
static const struct nap_soh_attr *
health_vs(const struct nap_soh *soh, const struct nap_soh_entry *e)
{
	for (uint16_t i = 1; i < e->n_attrs; i++) {
		const struct nap_soh_attr *a = &soh->attrs[e->first_attr + i];

		if (a->type == NAP_SOH_ATTR_VENDOR_SPECIFIC && a->len >= 4 &&
		    be32(a->value) == NAP_SHID_NAP)
			return a;
	}
	return NULL;
}

/*
 * A CHECK item: status (PASS, FAIL, ERROR) + a check id in the HSR's id charset. More than
 * NAP_HEALTH_MAX_CHECKS of them, or one id twice, is malformed: napvd could not tell which
 * result counts.
 */
static bool
check_item_decode(struct nap_health *h, const uint8_t *v, uint16_t len)
{
	char id[NAP_UPDATE_ID_MAX + 1];

	if (len < 2 || len > 1 + NAP_UPDATE_ID_MAX || v[0] > NAP_CHECK_ERROR ||
	    h->n_checks >= NAP_HEALTH_MAX_CHECKS)
		return false;
	memcpy(id, v + 1, len - 1u);
	id[len - 1] = '\0';
	if (memchr(id, '\0', len - 1u) != NULL || !nap_hsr_id_valid(id))
		return false;
	for (uint16_t i = 0; i < h->n_checks; i++) {
		if (strcmp(h->checks[i].id, id) == 0)
			return false;
	}
	h->checks[h->n_checks].status = v[0];
	memcpy(h->checks[h->n_checks].id, id, len);
	h->n_checks++;
	return true;
}

struct sha_ctx {
	struct nap_health *h;
	uint32_t seen; /* bit per known item type (< 32) */
};

static void
sha_item(void *ctx, uint8_t type, const uint8_t *v, uint16_t len)
{
	struct sha_ctx *c = ctx;
	struct nap_health *h = c->h;
	bool ok = true;

	if (type < 32 && type != NAP_ITEM_MISSING && type != NAP_ITEM_CHECK &&
	    (c->seen & (1u << type)) != 0) {
		h->malformed_items = true; /* a second value for a single-valued item */
		return;
	}
	switch (type) {
	case NAP_ITEM_VERSION:
		ok = len == 1 && v[0] >= 1;
		if (ok)
			h->version = v[0];
		break;
	case NAP_ITEM_SITE:
		ok = len >= 1 && len <= NAP_SITE_MAX;
		if (ok) {
			memcpy(h->site, v, len);
			h->site[len] = '\0';
			ok = nap_site_valid(h->site);
			if (!ok)
				h->site[0] = '\0';
		}
		break;
	case NAP_ITEM_HSR_REVISION:
		ok = len == 8;
		if (ok)
			h->hsr_revision = be64(v);
		break;
	case NAP_ITEM_HSR_DIGEST:
		ok = len == NAP_HSR_DIGEST_LEN;
		if (ok) {
			memcpy(h->hsr_digest, v, NAP_HSR_DIGEST_LEN);
			h->has_digest = true;
		}
		break;
	case NAP_ITEM_EVAL_TIME:
		ok = len == 8;
		if (ok)
			h->eval_time = (int64_t)be64(v);
		break;
	case NAP_ITEM_COMPLIANT:
		ok = len == 1 && v[0] <= 1;
		if (ok)
			h->compliant = v[0] == 1;
		break;
	case NAP_ITEM_MISSING:
		ok = update_id_valid(v, len) && h->n_missing < NAP_HEALTH_MAX_MISSING;
		if (ok) {
			memcpy(h->missing[h->n_missing], v, len);
			h->missing[h->n_missing][len] = '\0';
			h->n_missing++;
		}
		break;
	case NAP_ITEM_CHECK:
		ok = check_item_decode(h, v, len);
		break;
	default:
		return; /* unknown: a newer agent's item */
	}
	if (!ok)
		h->malformed_items = true;
	else if (type < 32)
		c->seen |= 1u << type;
}

/* Items an SHA entry must carry for napvd to compare it with an HSR. */
#define SHA_REQUIRED                                                                           \
	((1u << NAP_ITEM_VERSION) | (1u << NAP_ITEM_SITE) | (1u << NAP_ITEM_HSR_REVISION) |    \
	 (1u << NAP_ITEM_COMPLIANT))

int
nap_health_decode(const struct nap_soh *soh, const struct nap_soh_entry *e,
		  struct nap_health *out, struct nap_err *err)
{
	const struct nap_soh_attr *vs;
	struct sha_ctx ctx = {.h = out};
	bool have_fc = false, have_gen = false, have_err = false;

	memset(out, 0, sizeof(*out));
	if (e == NULL || e->system_health_id != NAP_SHID_NAP)
		return nap_err_set(err, 0, "not a nap entry", -EINVAL);
	vs = health_vs(soh, e);
	if (vs != NULL) {
		int r = health_walk_items(vs, sha_item, &ctx, err);

		if (r < 0)
			return r;
	}
	if ((ctx.seen & SHA_REQUIRED) != SHA_REQUIRED)
		out->malformed_items = true;
	for (uint16_t i = 1; i < e->n_attrs; i++) {
		const struct nap_soh_attr *a = &soh->attrs[e->first_attr + i];

		switch (a->type) {
		case NAP_SOH_ATTR_SOH_GENERATION_TIME:
			if (a->len != 8 || have_gen) {
				out->malformed_items = true;
				break;
			}
			have_gen = out->has_generation_time = true;
			out->generation_time = nap_filetime_to_unix(be64(a->value));
			break;
		case NAP_SOH_ATTR_FAILURE_CATEGORY:
			if (a->len != 1 || have_fc || a->value[0] > NAP_FAILURE_SERVER_COMMUNICATION) {
				out->malformed_items = true;
				break;
			}
			have_fc = true;
			out->failure_category = a->value[0];
			break;
		case NAP_SOH_ATTR_ERROR_CODES:
			if (a->len < 4 || a->len % 4 != 0 || have_err) {
				out->malformed_items = true;
				break;
			}
			have_err = true;
			out->error_code = be32(a->value);
			break;
		default:
			break;
		}
	}
	return 0;
}

static bool
item_add(struct nap_cbb *cbb, uint8_t type, const void *v, size_t len)
{
	return len <= 0xffff && nap_cbb_add_u8(cbb, type) && nap_cbb_add_u16(cbb, (uint16_t)len) &&
	       nap_cbb_add_bytes(cbb, v, len);
}

static bool
item_add_u8(struct nap_cbb *cbb, uint8_t type, uint8_t v)
{
	return item_add(cbb, type, &v, 1);
}

static bool
item_add_u64(struct nap_cbb *cbb, uint8_t type, uint64_t v)
{
	uint8_t b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (56 - 8 * i));
	return item_add(cbb, type, b, sizeof(b));
}

static int
health_add_vs(struct nap_soh *soh, struct nap_cbb *cbb)
{
	uint8_t *p;
	size_t n;
	int r = nap_cbb_finish(cbb, &p, &n);

	if (r < 0)
		return r;
	return nap_soh_add_attr(soh, NAP_SOH_ATTR_VENDOR_SPECIFIC, p, n);
}

int
nap_health_add_entry(struct nap_soh *soh, const struct nap_health *h)
{
	uint8_t buf[HEALTH_ITEMS_MAX + 4 + NAP_HEALTH_MAX_MISSING * (NAP_UPDATE_ID_MAX + 3) +
		    NAP_HEALTH_MAX_CHECKS * (NAP_UPDATE_ID_MAX + 4)];
	struct nap_cbb cbb;
	bool ok;
	int r;

	if (!nap_site_valid(h->site) || h->n_missing > NAP_HEALTH_MAX_MISSING ||
	    h->n_checks > NAP_HEALTH_MAX_CHECKS)
		return -EINVAL;
	nap_cbb_init_fixed(&cbb, buf, sizeof(buf));
	ok = nap_cbb_add_u32(&cbb, NAP_SHID_NAP) &&
	     item_add_u8(&cbb, NAP_ITEM_VERSION, h->version != 0 ? h->version : NAP_HEALTH_VERSION) &&
	     item_add(&cbb, NAP_ITEM_SITE, h->site, strlen(h->site)) &&
	     item_add_u64(&cbb, NAP_ITEM_HSR_REVISION, h->hsr_revision) &&
	     (!h->has_digest ||
	      item_add(&cbb, NAP_ITEM_HSR_DIGEST, h->hsr_digest, NAP_HSR_DIGEST_LEN)) &&
	     item_add_u64(&cbb, NAP_ITEM_EVAL_TIME, (uint64_t)h->eval_time) &&
	     item_add_u8(&cbb, NAP_ITEM_COMPLIANT, h->compliant ? 1 : 0);
	for (uint16_t i = 0; ok && i < h->n_missing; i++) {
		size_t n = strnlen(h->missing[i], NAP_UPDATE_ID_MAX + 1);

		if (!update_id_valid((const uint8_t *)h->missing[i], n))
			return -EINVAL;
		ok = item_add(&cbb, NAP_ITEM_MISSING, h->missing[i], n);
	}
	for (uint16_t i = 0; ok && i < h->n_checks; i++) {
		const struct nap_health_check *c = &h->checks[i];
		uint8_t item[1 + NAP_UPDATE_ID_MAX];
		size_t n = strnlen(c->id, NAP_UPDATE_ID_MAX + 1);

		if (c->status > NAP_CHECK_ERROR || n > NAP_UPDATE_ID_MAX || !nap_hsr_id_valid(c->id))
			return -EINVAL;
		item[0] = c->status;
		memcpy(item + 1, c->id, n);
		ok = item_add(&cbb, NAP_ITEM_CHECK, item, 1 + n);
	}
	if (!ok)
		return -ENOSPC;
	r = nap_soh_begin_entry(soh, NAP_SHID_NAP);
	if (r == 0)
		r = health_add_vs(soh, &cbb);
	if (r == 0 && h->has_generation_time) {
		uint64_t ft = nap_unix_to_filetime(h->generation_time);
		uint8_t b[8];

		for (int i = 0; i < 8; i++)
			b[i] = (uint8_t)(ft >> (56 - 8 * i));
		r = nap_soh_add_attr(soh, NAP_SOH_ATTR_SOH_GENERATION_TIME, b, sizeof(b));
	}
	if (r == 0 && h->failure_category != NAP_FAILURE_NONE) {
		r = nap_soh_add_u8(soh, NAP_SOH_ATTR_FAILURE_CATEGORY, h->failure_category);
		if (r == 0)
			r = nap_soh_add_u32(soh, NAP_SOH_ATTR_ERROR_CODES, h->error_code);
	}
	return r;
}

struct shv_ctx {
	struct nap_health_response *r;
	bool bad;
};

static void
shv_item(void *ctx, uint8_t type, const uint8_t *v, uint16_t len)
{
	struct shv_ctx *c = ctx;
	struct nap_health_response *r = c->r;

	switch (type) {
	case NAP_ITEM_RESULT:
	case NAP_ITEM_BRANCH:
	case NAP_ITEM_INSTRUCTION:
		if (len != 1) {
			c->bad = true;
			return;
		}
		if (type == NAP_ITEM_RESULT)
			r->result = v[0];
		else if (type == NAP_ITEM_BRANCH)
			r->branch = v[0];
		else
			r->instructions = v[0];
		break;
	case NAP_ITEM_HSR_REVISION:
		if (len != 8) {
			c->bad = true;
			return;
		}
		r->hsr_revision = be64(v);
		break;
	case NAP_ITEM_HSR_DIGEST:
		if (len != NAP_HSR_DIGEST_LEN) {
			c->bad = true;
			return;
		}
		memcpy(r->hsr_digest, v, NAP_HSR_DIGEST_LEN);
		r->has_digest = true;
		break;
	default:
		break;
	}
}

int
nap_health_response_decode(const struct nap_soh *soh, const struct nap_soh_entry *e,
			   struct nap_health_response *out, struct nap_err *err)
{
	const struct nap_soh_attr *vs;
	struct shv_ctx ctx = {.r = out};

	memset(out, 0, sizeof(*out));
	if (e == NULL || e->system_health_id != NAP_SHID_NAP)
		return nap_err_set(err, 0, "not a nap entry", -EINVAL);
	vs = health_vs(soh, e);
	if (vs == NULL)
		return nap_err_set(err, soh->attrs[e->first_attr].offset,
				   "nap SHV entry without its Vendor-Specific TLV", -EBADMSG);
	int r = health_walk_items(vs, shv_item, &ctx, err);
	if (r < 0)
		return r;
	if (ctx.bad)
		return nap_err_set(err, vs->offset, "nap SHV item with a bad length", -EBADMSG);
	for (uint16_t i = 1; i < e->n_attrs; i++) {
		const struct nap_soh_attr *a = &soh->attrs[e->first_attr + i];

		if (a->type == NAP_SOH_ATTR_FAILURE_CATEGORY) {
			if (a->len != 1)
				return nap_err_set(err, a->offset + 2, "Failure-Category is not 1 byte",
						   -EBADMSG);
			out->failure_category = a->value[0];
		} else if (a->type == NAP_SOH_ATTR_COMPLIANCE_RESULT_CODES) {
			if (a->len < 4 || a->len % 4 != 0)
				return nap_err_set(err, a->offset + 2,
						   "Compliance-Result-Codes length is not 4n", -EBADMSG);
			out->compliance_code = be32(a->value);
		}
	}
	return 0;
}

int
nap_health_response_add_entry(struct nap_soh *soh, const struct nap_health_response *r)
{
	uint8_t buf[128];
	struct nap_cbb cbb;
	int rc;

	nap_cbb_init_fixed(&cbb, buf, sizeof(buf));
	if (!(nap_cbb_add_u32(&cbb, NAP_SHID_NAP) && item_add_u8(&cbb, NAP_ITEM_RESULT, r->result) &&
	      item_add_u8(&cbb, NAP_ITEM_BRANCH, r->branch) &&
	      item_add_u8(&cbb, NAP_ITEM_INSTRUCTION, r->instructions) &&
	      item_add_u64(&cbb, NAP_ITEM_HSR_REVISION, r->hsr_revision) &&
	      (!r->has_digest ||
	       item_add(&cbb, NAP_ITEM_HSR_DIGEST, r->hsr_digest, NAP_HSR_DIGEST_LEN))))
		return -ENOSPC;
	rc = nap_soh_begin_entry(soh, NAP_SHID_NAP);
	if (rc == 0)
		rc = health_add_vs(soh, &cbb);
	if (rc == 0 && r->failure_category != NAP_FAILURE_NONE)
		rc = nap_soh_add_u8(soh, NAP_SOH_ATTR_FAILURE_CATEGORY, r->failure_category);
	if (rc == 0)
		rc = nap_soh_add_u32(soh, NAP_SOH_ATTR_COMPLIANCE_RESULT_CODES, r->compliance_code);
	return rc;
}
