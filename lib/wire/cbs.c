// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * nap_cbs: bounded reader over untrusted bytes. Every accessor checks the remaining length
 * (as a size comparison, never pointer arithmetic past the end) before it reads.
 */
#include <string.h>

#include "nap/wire.h"

void
nap_cbs_init(struct nap_cbs *cbs, const uint8_t *data, size_t len)
{
	cbs->data = data;
	cbs->len = len;
	cbs->base = data;
}

size_t
nap_cbs_len(const struct nap_cbs *cbs)
{
	return cbs->len;
}

const uint8_t *
nap_cbs_data(const struct nap_cbs *cbs)
{
	return cbs->data;
}

size_t
nap_cbs_offset(const struct nap_cbs *cbs)
{
	if (cbs->base == NULL || cbs->data == NULL)
		return 0;
	return (size_t)(cbs->data - cbs->base);
}

bool
nap_cbs_skip(struct nap_cbs *cbs, size_t n)
{
	if (cbs->len < n)
		return false;
	cbs->data += n;
	cbs->len -= n;
	return true;
}

static bool
cbs_get_be(struct nap_cbs *cbs, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (cbs->len < n)
		return false;
	for (size_t i = 0; i < n; i++)
		v = (v << 8) | cbs->data[i];
	cbs->data += n;
	cbs->len -= n;
	*out = v;
	return true;
}

static bool
cbs_get_le(struct nap_cbs *cbs, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (cbs->len < n)
		return false;
	for (size_t i = n; i > 0; i--)
		v = (v << 8) | cbs->data[i - 1];
	cbs->data += n;
	cbs->len -= n;
	*out = v;
	return true;
}

bool
nap_cbs_get_u8(struct nap_cbs *cbs, uint8_t *out)
{
	uint64_t v;

	if (!cbs_get_be(cbs, 1, &v))
		return false;
	*out = (uint8_t)v;
	return true;
}

bool
nap_cbs_get_u16(struct nap_cbs *cbs, uint16_t *out)
{
	uint64_t v;

	if (!cbs_get_be(cbs, 2, &v))
		return false;
	*out = (uint16_t)v;
	return true;
}

bool
nap_cbs_get_u24(struct nap_cbs *cbs, uint32_t *out)
{
	uint64_t v;

	if (!cbs_get_be(cbs, 3, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

bool
nap_cbs_get_u32(struct nap_cbs *cbs, uint32_t *out)
{
	uint64_t v;

	if (!cbs_get_be(cbs, 4, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

bool
nap_cbs_get_u64(struct nap_cbs *cbs, uint64_t *out)
{
	return cbs_get_be(cbs, 8, out);
}

bool
nap_cbs_get_u16_le(struct nap_cbs *cbs, uint16_t *out)
{
	uint64_t v;

	if (!cbs_get_le(cbs, 2, &v))
		return false;
	*out = (uint16_t)v;
	return true;
}

bool
nap_cbs_get_u32_le(struct nap_cbs *cbs, uint32_t *out)
{
	uint64_t v;

	if (!cbs_get_le(cbs, 4, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

bool
nap_cbs_peek_u8(const struct nap_cbs *cbs, uint8_t *out)
{
	if (cbs->len < 1)
		return false;
	*out = cbs->data[0];
	return true;
}

bool
nap_cbs_peek_u16(const struct nap_cbs *cbs, uint16_t *out)
{
	if (cbs->len < 2)
		return false;
	*out = (uint16_t)((cbs->data[0] << 8) | cbs->data[1]);
	return true;
}

bool
nap_cbs_get_bytes(struct nap_cbs *cbs, struct nap_cbs *child, size_t n)
{
	if (cbs->len < n)
		return false;
	child->data = cbs->data;
	child->len = n;
	child->base = cbs->base;
	cbs->data += n;
	cbs->len -= n;
	return true;
}

bool
nap_cbs_copy_bytes(struct nap_cbs *cbs, uint8_t *out, size_t n)
{
	if (cbs->len < n)
		return false;
	if (n > 0)
		memcpy(out, cbs->data, n);
	cbs->data += n;
	cbs->len -= n;
	return true;
}

bool
nap_cbs_get_u8_length_prefixed(struct nap_cbs *cbs, struct nap_cbs *child)
{
	struct nap_cbs save = *cbs;
	uint8_t n;

	if (!nap_cbs_get_u8(cbs, &n) || !nap_cbs_get_bytes(cbs, child, n)) {
		*cbs = save;
		return false;
	}
	return true;
}

bool
nap_cbs_get_u16_length_prefixed(struct nap_cbs *cbs, struct nap_cbs *child)
{
	struct nap_cbs save = *cbs;
	uint16_t n;

	if (!nap_cbs_get_u16(cbs, &n) || !nap_cbs_get_bytes(cbs, child, n)) {
		*cbs = save;
		return false;
	}
	return true;
}
