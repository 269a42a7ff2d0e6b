// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * nap_cbb: byte builder with a hard maximum and length-prefixed children whose lengths are
 * written when the child is closed. The first failure poisons the builder.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nap/wire.h"

int
nap_cbb_init(struct nap_cbb *cbb, size_t initial, size_t max)
{
	memset(cbb, 0, sizeof(*cbb));
	if (initial == 0)
		initial = 64;
	if (initial > max)
		initial = max;
	cbb->buf = malloc(initial > 0 ? initial : 1);
	if (cbb->buf == NULL) {
		cbb->error = true;
		return -ENOMEM;
	}
	cbb->cap = initial;
	cbb->max = max;
	cbb->owned = true;
	return 0;
}

void
nap_cbb_init_fixed(struct nap_cbb *cbb, uint8_t *buf, size_t cap)
{
	memset(cbb, 0, sizeof(*cbb));
	cbb->buf = buf;
	cbb->cap = cap;
	cbb->max = cap;
}

void
nap_cbb_cleanup(struct nap_cbb *cbb)
{
	if (cbb->owned)
		free(cbb->buf);
	cbb->buf = NULL;
	cbb->len = cbb->cap = 0;
	cbb->owned = false;
}

/* Make room for n more bytes; returns where they go, or NULL (and poisons) if impossible. */
static uint8_t *
cbb_reserve(struct nap_cbb *cbb, size_t n)
{
	if (cbb->error || cbb->buf == NULL)
		return NULL;
	if (cbb->max - cbb->len < n) {
		cbb->error = true;
		return NULL;
	}
	if (cbb->cap - cbb->len < n) {
		size_t want = cbb->len + n;
		size_t cap = cbb->cap;
		uint8_t *p;

		if (!cbb->owned) {
			cbb->error = true;
			return NULL;
		}
		while (cap < want)
			cap = cap > cbb->max / 2 ? cbb->max : cap * 2;
		p = realloc(cbb->buf, cap);
		if (p == NULL) {
			cbb->error = true;
			return NULL;
		}
		cbb->buf = p;
		cbb->cap = cap;
	}
	cbb->len += n;
	return cbb->buf + cbb->len - n;
}

static bool
cbb_add_be(struct nap_cbb *cbb, uint64_t v, size_t n)
{
	uint8_t *p = cbb_reserve(cbb, n);

	if (p == NULL)
		return false;
	for (size_t i = n; i > 0; i--) {
		p[i - 1] = (uint8_t)v;
		v >>= 8;
	}
	return true;
}

static bool
cbb_add_le(struct nap_cbb *cbb, uint64_t v, size_t n)
{
	uint8_t *p = cbb_reserve(cbb, n);

	if (p == NULL)
		return false;
	for (size_t i = 0; i < n; i++) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
	return true;
}

bool
nap_cbb_add_u8(struct nap_cbb *cbb, uint8_t v)
{
	return cbb_add_be(cbb, v, 1);
}

bool
nap_cbb_add_u16(struct nap_cbb *cbb, uint16_t v)
{
	return cbb_add_be(cbb, v, 2);
}

bool
nap_cbb_add_u24(struct nap_cbb *cbb, uint32_t v)
{
	return cbb_add_be(cbb, v, 3);
}

bool
nap_cbb_add_u32(struct nap_cbb *cbb, uint32_t v)
{
	return cbb_add_be(cbb, v, 4);
}

bool
nap_cbb_add_u64(struct nap_cbb *cbb, uint64_t v)
{
	return cbb_add_be(cbb, v, 8);
}

bool
nap_cbb_add_u16_le(struct nap_cbb *cbb, uint16_t v)
{
	return cbb_add_le(cbb, v, 2);
}

bool
nap_cbb_add_u32_le(struct nap_cbb *cbb, uint32_t v)
{
	return cbb_add_le(cbb, v, 4);
}

bool
nap_cbb_add_bytes(struct nap_cbb *cbb, const uint8_t *src, size_t n)
{
	uint8_t *p = cbb_reserve(cbb, n);

	if (p == NULL)
		return false;
	if (n > 0)
		memcpy(p, src, n);
	return true;
}

bool
nap_cbb_add_zeros(struct nap_cbb *cbb, size_t n)
{
	uint8_t *p = cbb_reserve(cbb, n);

	if (p == NULL)
		return false;
	memset(p, 0, n);
	return true;
}

static bool
cbb_open(struct nap_cbb *cbb, uint8_t size)
{
	if (cbb->error)
		return false;
	if (cbb->depth >= NAP_CBB_MAX_DEPTH) {
		cbb->error = true;
		return false;
	}
	if (cbb_reserve(cbb, size) == NULL)
		return false;
	cbb->open_at[cbb->depth] = cbb->len;
	cbb->open_size[cbb->depth] = size;
	cbb->depth++;
	return true;
}

bool
nap_cbb_open_u8_length_prefixed(struct nap_cbb *cbb)
{
	return cbb_open(cbb, 1);
}

bool
nap_cbb_open_u16_length_prefixed(struct nap_cbb *cbb)
{
	return cbb_open(cbb, 2);
}

bool
nap_cbb_close(struct nap_cbb *cbb)
{
	size_t start, n;
	uint8_t size;

	if (cbb->error)
		return false;
	if (cbb->depth == 0) {
		cbb->error = true;
		return false;
	}
	cbb->depth--;
	start = cbb->open_at[cbb->depth];
	size = cbb->open_size[cbb->depth];
	n = cbb->len - start;
	if (n > (size == 1 ? 0xffu : 0xffffu)) {
		cbb->error = true;
		return false;
	}
	if (size == 1) {
		cbb->buf[start - 1] = (uint8_t)n;
	} else {
		cbb->buf[start - 2] = (uint8_t)(n >> 8);
		cbb->buf[start - 1] = (uint8_t)n;
	}
	return true;
}

size_t
nap_cbb_len(const struct nap_cbb *cbb)
{
	return cbb->len;
}

const uint8_t *
nap_cbb_data(const struct nap_cbb *cbb)
{
	return cbb->buf;
}

int
nap_cbb_finish(struct nap_cbb *cbb, uint8_t **out, size_t *out_len)
{
	if (cbb->error) {
		if (cbb->buf == NULL)
			return -ENOMEM;
		return -ENOSPC;
	}
	if (cbb->depth != 0)
		return -EINVAL;
	*out = cbb->buf;
	*out_len = cbb->len;
	if (cbb->owned) {
		cbb->buf = NULL;
		cbb->owned = false;
		cbb->len = cbb->cap = 0;
	}
	return 0;
}
