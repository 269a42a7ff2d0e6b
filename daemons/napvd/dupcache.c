// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * RFC 5080 §2.2.2 duplicate detection: remembers the reply to each authenticated request, keyed
 * by source address and port, RADIUS Identifier and Request Authenticator, for dup_cache_ttl, so
 * a retransmission gets the same bytes again instead of a second decision (and a second status
 * record). Keys come from the wire (untrusted); entries are only made for authenticated requests.
 *
 * Layout: entries live in a FIFO ring (oldest first, which is also expiry order) with a chained
 * hash index, and reply bytes live in a byte ring allocated in the same FIFO order. Both have a
 * fixed size chosen at start; inserting into a full cache evicts the oldest entries. Nothing is
 * allocated per request.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "napvd.h"

#define NAPVD_DUP_NONE (-1)

int
napvd_dup_init(struct napvd_dupcache *dc, uint32_t max_entries, uint32_t max_bytes,
	       int64_t ttl_ms)
{
	memset(dc, 0, sizeof(*dc));
	if (max_entries == 0 || max_bytes < NAP_RADIUS_MAX_LEN || max_entries > (1u << 30))
		return -EINVAL;
	dc->n_buckets = 1;
	while (dc->n_buckets < max_entries * 2)
		dc->n_buckets <<= 1;
	dc->e = calloc(max_entries, sizeof(*dc->e));
	dc->buckets = malloc(dc->n_buckets * sizeof(*dc->buckets));
	dc->bytes = malloc(max_bytes);
	if (dc->e == NULL || dc->buckets == NULL || dc->bytes == NULL) {
		napvd_dup_free(dc);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < dc->n_buckets; i++)
		dc->buckets[i] = NAPVD_DUP_NONE;
	dc->max_entries = max_entries;
	dc->max_bytes = max_bytes;
	dc->ttl_ms = ttl_ms;
	return 0;
}

void
napvd_dup_free(struct napvd_dupcache *dc)
{
	free(dc->e);
	free(dc->buckets);
	free(dc->bytes);
	memset(dc, 0, sizeof(*dc));
}

void
napvd_dup_key_make(struct napvd_dup_key *k, const struct sockaddr *sa, uint8_t id,
		   const uint8_t auth[NAP_RADIUS_AUTH_LEN])
{
	memset(k, 0, sizeof(*k));
	k->family = (uint8_t)sa->sa_family;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a4 = (const struct sockaddr_in *)sa;

		memcpy(k->addr, &a4->sin_addr, 4);
		k->port = a4->sin_port;
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)sa;

		memcpy(k->addr, &a6->sin6_addr, 16);
		k->port = a6->sin6_port;
	}
	k->id = id;
	memcpy(k->auth, auth, NAP_RADIUS_AUTH_LEN);
}

/* FNV-1a over the key fields; the authenticator is random, so this spreads well. */
static uint32_t
napvd_dup_hash(const struct napvd_dup_key *k)
{
	uint32_t h = 2166136261u;
	uint8_t fix[4] = {k->family, (uint8_t)(k->port >> 8), (uint8_t)k->port, k->id};

	for (size_t i = 0; i < sizeof(fix); i++)
		h = (h ^ fix[i]) * 16777619u;
	for (size_t i = 0; i < sizeof(k->addr); i++)
		h = (h ^ k->addr[i]) * 16777619u;
	for (size_t i = 0; i < NAP_RADIUS_AUTH_LEN; i++)
		h = (h ^ k->auth[i]) * 16777619u;
	return h;
}

static bool
napvd_dup_key_eq(const struct napvd_dup_key *a, const struct napvd_dup_key *b)
{
	return a->family == b->family && a->port == b->port && a->id == b->id &&
	       memcmp(a->addr, b->addr, sizeof(a->addr)) == 0 &&
	       memcmp(a->auth, b->auth, sizeof(a->auth)) == 0;
}

static void
napvd_dup_evict_oldest(struct napvd_dupcache *dc)
{
	uint32_t idx = dc->head;
	struct napvd_dup_entry *e = &dc->e[idx];
	int32_t *link = &dc->buckets[e->hash & (dc->n_buckets - 1)];

	while (*link != NAPVD_DUP_NONE && *link != (int32_t)idx)
		link = &dc->e[*link].next;
	if (*link == (int32_t)idx)
		*link = e->next;
	dc->head = (dc->head + 1) % dc->max_entries;
	dc->count--;
	if (dc->count == 0)
		dc->wpos = 0;
}

void
napvd_dup_expire(struct napvd_dupcache *dc, int64_t now_ms)
{
	while (dc->count > 0 && now_ms - dc->e[dc->head].at_ms >= dc->ttl_ms)
		napvd_dup_evict_oldest(dc);
}

const uint8_t *
napvd_dup_lookup(struct napvd_dupcache *dc, const struct napvd_dup_key *k, int64_t now_ms,
		 size_t *len)
{
	uint32_t h = napvd_dup_hash(k);

	if (dc->count == 0)
		return NULL;
	for (int32_t i = dc->buckets[h & (dc->n_buckets - 1)]; i != NAPVD_DUP_NONE;
	     i = dc->e[i].next) {
		const struct napvd_dup_entry *e = &dc->e[i];

		if (e->hash != h || !napvd_dup_key_eq(&e->key, k))
			continue;
		if (now_ms - e->at_ms >= dc->ttl_ms)
			return NULL;
		*len = e->len;
		return dc->bytes + e->off;
	}
	return NULL;
}

/*
 * Find room for len bytes in the byte ring. The live bytes run from the oldest entry's offset
 * up to wpos (wrapping), so the free space is what lies between wpos and that offset.
 */
static uint32_t
napvd_dup_alloc(struct napvd_dupcache *dc, uint32_t len)
{
	for (;;) {
		uint32_t h;

		if (dc->count == 0) {
			dc->wpos = 0;
			return 0;
		}
		h = dc->e[dc->head].off;
		if (h < dc->wpos) {
			if (dc->max_bytes - dc->wpos >= len)
				return dc->wpos;
			if (len <= h)
				return 0;
		} else if (h > dc->wpos) {
			if (h - dc->wpos >= len)
				return dc->wpos;
		}
		/* h == wpos with live entries: the ring is full. */
		napvd_dup_evict_oldest(dc);
	}
}

int
napvd_dup_insert(struct napvd_dupcache *dc, const struct napvd_dup_key *k, int64_t now_ms,
		 const uint8_t *reply, size_t len)
{
	struct napvd_dup_entry *e;
	uint32_t idx, off, bucket;

	if (len == 0 || len > NAP_RADIUS_MAX_LEN)
		return -EINVAL;
	napvd_dup_expire(dc, now_ms);
	if (dc->count == dc->max_entries)
		napvd_dup_evict_oldest(dc);
	off = napvd_dup_alloc(dc, (uint32_t)len);
	idx = (dc->head + dc->count) % dc->max_entries;
	e = &dc->e[idx];
	e->key = *k;
	e->at_ms = now_ms;
	e->off = off;
	e->len = (uint32_t)len;
	e->hash = napvd_dup_hash(k);
	memcpy(dc->bytes + off, reply, len);
	dc->wpos = off + (uint32_t)len;
	bucket = e->hash & (dc->n_buckets - 1);
	e->next = dc->buckets[bucket];
	dc->buckets[bucket] = (int32_t)idx;
	dc->count++;
	return 0;
}
