/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Byte-string reader (struct nap_cbs) and builder (struct nap_cbb).
 *
 * The reader is a non-owning view over untrusted bytes: every accessor checks the remaining
 * length first and returns false (consuming nothing) when the input is too short, so a parser
 * can never read past a child's declared length. Byte order lives here and nowhere else.
 *
 * The builder writes into a buffer with a hard maximum. Length-prefixed children are opened with
 * nap_cbb_add_u16_length_prefixed() and their length is filled in by nap_cbb_flush(); nobody
 * patches length bytes by hand. Any failure (overflow of the maximum, allocation) poisons the
 * builder: later calls fail and nap_cbb_finish() reports the error.
 */
#ifndef NAP_WIRE_H
#define NAP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nap_cbs {
	const uint8_t *data;
	size_t len;
	const uint8_t *base; /* start of the whole message, for error offsets */
};

void nap_cbs_init(struct nap_cbs *cbs, const uint8_t *data, size_t len);
size_t nap_cbs_len(const struct nap_cbs *cbs);
const uint8_t *nap_cbs_data(const struct nap_cbs *cbs);
/* Offset of the read position from the start of the outermost message. */
size_t nap_cbs_offset(const struct nap_cbs *cbs);

bool nap_cbs_skip(struct nap_cbs *cbs, size_t n);
bool nap_cbs_get_u8(struct nap_cbs *cbs, uint8_t *out);
bool nap_cbs_get_u16(struct nap_cbs *cbs, uint16_t *out);
bool nap_cbs_get_u24(struct nap_cbs *cbs, uint32_t *out);
bool nap_cbs_get_u32(struct nap_cbs *cbs, uint32_t *out);
bool nap_cbs_get_u64(struct nap_cbs *cbs, uint64_t *out);
bool nap_cbs_get_u16_le(struct nap_cbs *cbs, uint16_t *out);
bool nap_cbs_get_u32_le(struct nap_cbs *cbs, uint32_t *out);
bool nap_cbs_peek_u8(const struct nap_cbs *cbs, uint8_t *out);
bool nap_cbs_peek_u16(const struct nap_cbs *cbs, uint16_t *out);
/* Carve the next n bytes into a child view (same base) and advance past them. */
bool nap_cbs_get_bytes(struct nap_cbs *cbs, struct nap_cbs *child, size_t n);
/* Copy the next n bytes out and advance. */
bool nap_cbs_copy_bytes(struct nap_cbs *cbs, uint8_t *out, size_t n);
bool nap_cbs_get_u8_length_prefixed(struct nap_cbs *cbs, struct nap_cbs *child);
bool nap_cbs_get_u16_length_prefixed(struct nap_cbs *cbs, struct nap_cbs *child);

#define NAP_CBB_MAX_DEPTH 8

struct nap_cbb {
	uint8_t *buf;
	size_t len;
	size_t cap;
	size_t max;   /* hard maximum; growth past it is an error */
	bool owned;   /* buf is malloc'ed by the builder and may grow */
	bool error;
	int depth;    /* open length-prefixed children */
	size_t open_at[NAP_CBB_MAX_DEPTH];
	uint8_t open_size[NAP_CBB_MAX_DEPTH];
};

/* Growable builder, starting at initial bytes, never larger than max. */
int nap_cbb_init(struct nap_cbb *cbb, size_t initial, size_t max);
/* Builder over caller memory of size cap (never grows). */
void nap_cbb_init_fixed(struct nap_cbb *cbb, uint8_t *buf, size_t cap);
void nap_cbb_cleanup(struct nap_cbb *cbb);

bool nap_cbb_add_u8(struct nap_cbb *cbb, uint8_t v);
bool nap_cbb_add_u16(struct nap_cbb *cbb, uint16_t v);
bool nap_cbb_add_u24(struct nap_cbb *cbb, uint32_t v);
bool nap_cbb_add_u32(struct nap_cbb *cbb, uint32_t v);
bool nap_cbb_add_u64(struct nap_cbb *cbb, uint64_t v);
bool nap_cbb_add_u16_le(struct nap_cbb *cbb, uint16_t v);
bool nap_cbb_add_u32_le(struct nap_cbb *cbb, uint32_t v);
bool nap_cbb_add_bytes(struct nap_cbb *cbb, const uint8_t *p, size_t n);
bool nap_cbb_add_zeros(struct nap_cbb *cbb, size_t n);
/* Open a child whose 1- or 2-byte big-endian length prefix is written when it is closed. */
bool nap_cbb_open_u8_length_prefixed(struct nap_cbb *cbb);
bool nap_cbb_open_u16_length_prefixed(struct nap_cbb *cbb);
/* Close the innermost open child: fills its length; fails if it does not fit the prefix. */
bool nap_cbb_close(struct nap_cbb *cbb);
/* Current write position, for callers that need to know where a child starts. */
size_t nap_cbb_len(const struct nap_cbb *cbb);
const uint8_t *nap_cbb_data(const struct nap_cbb *cbb);
/*
 * Finish: all children must be closed and no error seen. On success *out and *out_len describe the
 * bytes; for a growable builder ownership passes to the caller (free()), for a fixed one *out
 * points into the caller's buffer. Returns 0 or -ENOSPC / -EINVAL / -ENOMEM.
 */
int nap_cbb_finish(struct nap_cbb *cbb, uint8_t **out, size_t *out_len);

#endif
