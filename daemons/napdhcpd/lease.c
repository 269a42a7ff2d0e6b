// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * napdhcpd's lease table and its journal.
 *
 * Table: one slot per pool address and per reservation, scope after scope, so a scope's slots
 * are one contiguous index range. Free addresses form a FIFO list per scope (released and
 * expired addresses go to the tail, so a returning client usually finds its old address still
 * free); outstanding OFFERs form a second list in offer order, the oldest is stolen when the
 * pool runs dry (floods of DISCOVERs cannot pin the pool). An address hash (addr -> slot) and an
 * owner hash ((scope, client id) -> slots) make every lookup O(1); expired leases are found by an
 * incremental sweep, never by a scan on the request path.
 *
 * Journal: state_dir/leases, one text line per change, ending in a CRC-32 of the line:
 *   B <addr> <expires> <mac> <client-id hex> <crc>   bound until expires (Unix seconds)
 *   R <addr> 0 <mac> <client-id hex> <crc>           released (the owner is remembered)
 *   D <addr> <until> - - <crc>                       declined: out of the pool until "until"
 * Records are appended and fdatasync()ed in batches; no ACK leaves before its record is on disk
 * (dhcpd_commit_and_flush). At start the file is replayed (a torn last line, left by a crash in
 * the middle of a write, is dropped with a warning) and rewritten as a snapshot (tmp + fsync +
 * rename + fsync of the directory); the same compaction runs when the journal has grown to twice
 * the last snapshot. The journal is written by napdhcpd only, but read defensively.
 *
 * In the daemon the write + fdatasync of a batch runs in a helper thread (the syncer), so the
 * loop keeps answering DISCOVERs and building the next batch while the disk works; the ACKs of
 * a batch are released when the syncer reports it durable (eventfd). Compaction runs in the
 * loop, only while no batch is in flight.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nap/log.h"
#include "napdhcpd.h"

#define DHCPD_JOURNAL_NAME   "leases"
#define DHCPD_JOURNAL_HEADER "# napdhcpd leases v1\n"
#define DHCPD_LINE_MAX       (64 + 2 * DHCPD_ID_MAX)
#define DHCPD_PENDING_MAX    (8u << 20) /* bytes of records between commits */
#define DHCPD_RECLAIM_SCAN   4096       /* slots examined when a pool runs dry */

/* ---- CRC-32 (IEEE 802.3, reflected) ---- */

uint32_t
dhcpd_crc32(const void *p, size_t n)
{
	static uint32_t table[256];
	static bool ready;
	const uint8_t *b = p;
	uint32_t c = 0xffffffffu;

	if (!ready) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t v = i;

			for (int k = 0; k < 8; k++)
				v = (v & 1) ? 0xedb88320u ^ (v >> 1) : v >> 1;
			table[i] = v;
		}
		ready = true;
	}
	for (size_t i = 0; i < n; i++)
		c = table[(c ^ b[i]) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

/* ---- hashes ---- */

static uint32_t
dhcpd_mix32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	x ^= x >> 16;
	return x;
}

static uint32_t
dhcpd_id_hash(uint16_t scope, const uint8_t *id, size_t len)
{
	uint32_t h = 2166136261u ^ scope;

	for (size_t i = 0; i < len; i++) {
		h ^= id[i];
		h *= 16777619u;
	}
	return dhcpd_mix32(h);
}

static uint32_t
dhcpd_pow2(uint32_t n)
{
	uint32_t p = 16;

	while (p < n)
		p <<= 1;
	return p;
}

struct dhcpd_lease *
dhcpd_lease_by_addr(struct dhcpd_leases *ls, uint32_t addr)
{
	uint32_t i = dhcpd_mix32(addr) & ls->addr_mask;

	for (;;) {
		uint32_t v = ls->addr_hash[i];

		if (v == 0)
			return NULL;
		if (ls->l[v - 1].addr == addr)
			return &ls->l[v - 1];
		i = (i + 1) & ls->addr_mask;
	}
}

static void
dhcpd_addr_insert(struct dhcpd_leases *ls, uint32_t idx)
{
	uint32_t i = dhcpd_mix32(ls->l[idx].addr) & ls->addr_mask;

	while (ls->addr_hash[i] != 0)
		i = (i + 1) & ls->addr_mask;
	ls->addr_hash[i] = idx + 1;
}

bool
dhcpd_lease_owned_by(const struct dhcpd_lease *l, const uint8_t *id, size_t id_len)
{
	return l->id_len == id_len && id_len > 0 && memcmp(l->id, id, id_len) == 0;
}

static void
dhcpd_owner_unlink(struct dhcpd_leases *ls, struct dhcpd_lease *l)
{
	uint32_t idx = (uint32_t)(l - ls->l);
	uint32_t *pp;

	if (l->id_len == 0)
		return;
	pp = &ls->id_hash[dhcpd_id_hash(l->scope, l->id, l->id_len) & ls->id_mask];
	while (*pp != DHCPD_NIL) {
		if (*pp == idx) {
			*pp = l->hash_next;
			break;
		}
		pp = &ls->l[*pp].hash_next;
	}
	l->hash_next = DHCPD_NIL;
	l->id_len = 0;
}

static void
dhcpd_owner_link(struct dhcpd_leases *ls, struct dhcpd_lease *l, const uint8_t *id,
		 size_t id_len)
{
	uint32_t idx = (uint32_t)(l - ls->l);
	uint32_t *head;

	if (dhcpd_lease_owned_by(l, id, id_len))
		return;
	dhcpd_owner_unlink(ls, l);
	if (id_len == 0 || id_len > DHCPD_ID_MAX)
		return;
	memcpy(l->id, id, id_len);
	l->id_len = (uint8_t)id_len;
	head = &ls->id_hash[dhcpd_id_hash(l->scope, id, id_len) & ls->id_mask];
	l->hash_next = *head;
	*head = idx;
}

static int
dhcpd_state_rank(const struct dhcpd_lease *l)
{
	switch (l->state) {
	case DHCPD_LEASE_BOUND:
		return 3;
	case DHCPD_LEASE_OFFERED:
		return 2;
	case DHCPD_LEASE_FREE:
		return 1;
	default:
		return 0;
	}
}

/* The client's slot in the scope: bound before offered before remembered. */
struct dhcpd_lease *
dhcpd_lease_by_id(struct dhcpd_leases *ls, uint16_t scope, const uint8_t *id, size_t id_len)
{
	struct dhcpd_lease *best = NULL;
	uint32_t i;

	if (id_len == 0 || id_len > DHCPD_ID_MAX)
		return NULL;
	i = ls->id_hash[dhcpd_id_hash(scope, id, id_len) & ls->id_mask];
	for (; i != DHCPD_NIL; i = ls->l[i].hash_next) {
		struct dhcpd_lease *l = &ls->l[i];

		if (l->scope != scope || !dhcpd_lease_owned_by(l, id, id_len))
			continue;
		if (best == NULL || dhcpd_state_rank(l) > dhcpd_state_rank(best))
			best = l;
	}
	return best;
}

/* ---- lists ---- */

static void
dhcpd_list_unlink(struct dhcpd_leases *ls, uint32_t *head, uint32_t *tail, struct dhcpd_lease *l)
{
	if (l->prev != DHCPD_NIL)
		ls->l[l->prev].next = l->next;
	else
		*head = l->next;
	if (l->next != DHCPD_NIL)
		ls->l[l->next].prev = l->prev;
	else
		*tail = l->prev;
	l->next = l->prev = DHCPD_NIL;
}

static void
dhcpd_list_append(struct dhcpd_leases *ls, uint32_t *head, uint32_t *tail, struct dhcpd_lease *l)
{
	uint32_t idx = (uint32_t)(l - ls->l);

	l->next = DHCPD_NIL;
	l->prev = *tail;
	if (*tail != DHCPD_NIL)
		ls->l[*tail].next = idx;
	else
		*head = idx;
	*tail = idx;
}

/* Take l out of whatever list and count its state holds. */
static void
dhcpd_detach(struct dhcpd_leases *ls, struct dhcpd_lease *l)
{
	struct dhcpd_pool_state *p = &ls->pools[l->scope];

	switch (l->state) {
	case DHCPD_LEASE_FREE:
		if (!l->reserved) {
			dhcpd_list_unlink(ls, &p->free_head, &p->free_tail, l);
			p->n_free--;
		}
		break;
	case DHCPD_LEASE_OFFERED:
		dhcpd_list_unlink(ls, &p->offer_head, &p->offer_tail, l);
		p->n_offered--;
		break;
	case DHCPD_LEASE_BOUND:
		p->n_bound--;
		break;
	case DHCPD_LEASE_DECLINED:
		p->n_declined--;
		break;
	}
}

static void
dhcpd_attach(struct dhcpd_leases *ls, struct dhcpd_lease *l, uint8_t state)
{
	struct dhcpd_pool_state *p = &ls->pools[l->scope];

	l->state = state;
	switch (state) {
	case DHCPD_LEASE_FREE:
		if (!l->reserved) {
			dhcpd_list_append(ls, &p->free_head, &p->free_tail, l);
			p->n_free++;
		}
		break;
	case DHCPD_LEASE_OFFERED:
		dhcpd_list_append(ls, &p->offer_head, &p->offer_tail, l);
		p->n_offered++;
		break;
	case DHCPD_LEASE_BOUND:
		p->n_bound++;
		break;
	case DHCPD_LEASE_DECLINED:
		p->n_declined++;
		break;
	}
}

static void
dhcpd_set_state(struct dhcpd_leases *ls, struct dhcpd_lease *l, uint8_t state)
{
	dhcpd_detach(ls, l);
	dhcpd_attach(ls, l, state);
}

/* ---- journal records ---- */

static void
dhcpd_hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static size_t
dhcpd_record_format(char *out, size_t cap, char type, const struct dhcpd_lease *l,
		    int64_t expires)
{
	char mac[13], id[2 * DHCPD_ID_MAX + 1], ip[16];
	int n;

	dhcpd_ip_format(l->addr, ip, sizeof(ip));
	if (type == 'D') {
		strcpy(mac, "-");
		strcpy(id, "-");
	} else {
		dhcpd_hex(l->mac, 6, mac);
		if (l->id_len > 0)
			dhcpd_hex(l->id, l->id_len, id);
		else
			strcpy(id, "-");
	}
	n = snprintf(out, cap, "%c %s %" PRId64 " %s %s", type, ip, expires, mac, id);
	if (n < 0 || (size_t)n + 10 >= cap)
		return 0;
	n += snprintf(out + n, cap - (size_t)n, " %08x\n", dhcpd_crc32(out, (size_t)n));
	return (size_t)n;
}

static int
dhcpd_record_append(struct dhcpd_leases *ls, char type, const struct dhcpd_lease *l,
		    int64_t expires)
{
	char line[DHCPD_LINE_MAX + 32];
	size_t n = dhcpd_record_format(line, sizeof(line), type, l, expires);

	if (n == 0)
		return -EINVAL;
	if (ls->fd < 0)
		return 0; /* no journal (tests of the table alone) */
	if (ls->pending_len + n > ls->pending_cap) {
		size_t cap = ls->pending_cap == 0 ? 65536 : ls->pending_cap * 2;
		char *p;

		if (cap > DHCPD_PENDING_MAX || ls->pending_len + n > cap)
			return -ENOBUFS;
		if ((p = realloc(ls->pending, cap)) == NULL)
			return -ENOMEM;
		ls->pending = p;
		ls->pending_cap = cap;
	}
	memcpy(ls->pending + ls->pending_len, line, n);
	ls->pending_len += n;
	ls->st.records++;
	ls->records_since_compact++;
	return 0;
}

/* ---- state changes ---- */

/* A client holds one address per scope: taking l gives up any other slot it held there. */
static int
dhcpd_give_up_others(struct dhcpd_leases *ls, struct dhcpd_lease *l, const uint8_t *id,
		     size_t id_len, bool journal)
{
	int r = 0;

	for (;;) {
		struct dhcpd_lease *o = dhcpd_lease_by_id(ls, l->scope, id, id_len);

		if (o == NULL)
			break;
		if (o == l) {
			/* l itself may be the best match; look past it. */
			uint32_t i = ls->id_hash[dhcpd_id_hash(l->scope, id, id_len) &
						 ls->id_mask];

			o = NULL;
			for (; i != DHCPD_NIL; i = ls->l[i].hash_next) {
				struct dhcpd_lease *x = &ls->l[i];

				if (x != l && x->scope == l->scope &&
				    dhcpd_lease_owned_by(x, id, id_len)) {
					o = x;
					break;
				}
			}
			if (o == NULL)
				break;
		}
		if (o->state == DHCPD_LEASE_BOUND) {
			dhcpd_set_state(ls, o, DHCPD_LEASE_FREE);
			if (journal && r == 0)
				r = dhcpd_record_append(ls, 'R', o, 0);
		} else if (o->state == DHCPD_LEASE_OFFERED) {
			dhcpd_set_state(ls, o, DHCPD_LEASE_FREE);
		}
		dhcpd_owner_unlink(ls, o);
	}
	return r;
}

void
dhcpd_lease_offer(struct dhcpd_leases *ls, struct dhcpd_lease *l, const uint8_t *id,
		  size_t id_len, const uint8_t mac[6], int64_t until_ms)
{
	if (!dhcpd_lease_owned_by(l, id, id_len))
		dhcpd_give_up_others(ls, l, id, id_len, true);
	if (l->state == DHCPD_LEASE_BOUND && dhcpd_lease_owned_by(l, id, id_len))
		return; /* a bound client asking again keeps its lease; nothing to hold */
	dhcpd_owner_link(ls, l, id, id_len);
	if (!l->reserved)
		memcpy(l->mac, mac, 6);
	dhcpd_set_state(ls, l, DHCPD_LEASE_OFFERED);
	l->expires = until_ms;
}

int
dhcpd_lease_bind(struct dhcpd_leases *ls, struct dhcpd_lease *l, const uint8_t *id,
		 size_t id_len, const uint8_t mac[6], int64_t expires)
{
	int r = 0;

	if (!dhcpd_lease_owned_by(l, id, id_len))
		r = dhcpd_give_up_others(ls, l, id, id_len, true);
	dhcpd_owner_link(ls, l, id, id_len);
	if (!l->reserved)
		memcpy(l->mac, mac, 6);
	dhcpd_set_state(ls, l, DHCPD_LEASE_BOUND);
	l->expires = expires;
	if (r == 0)
		r = dhcpd_record_append(ls, 'B', l, expires);
	return r;
}

int
dhcpd_lease_release(struct dhcpd_leases *ls, struct dhcpd_lease *l)
{
	dhcpd_set_state(ls, l, DHCPD_LEASE_FREE);
	l->expires = 0;
	l->restricted = false;
	return dhcpd_record_append(ls, 'R', l, 0);
}

int
dhcpd_lease_decline(struct dhcpd_leases *ls, struct dhcpd_lease *l, int64_t until)
{
	dhcpd_owner_unlink(ls, l);
	dhcpd_set_state(ls, l, DHCPD_LEASE_DECLINED);
	l->expires = until;
	l->restricted = false;
	return dhcpd_record_append(ls, 'D', l, until);
}

/*
 * Keep one of the server's own addresses (found on an interface at run time) out of the pool:
 * it becomes a reservation nobody matches. Returns true when the address was in a pool.
 */
bool
dhcpd_leases_exclude(struct dhcpd_leases *ls, uint32_t addr)
{
	struct dhcpd_lease *l = dhcpd_lease_by_addr(ls, addr);

	if (l == NULL || l->reserved)
		return false;
	dhcpd_detach(ls, l);
	l->reserved = true;
	memset(l->mac, 0, sizeof(l->mac));
	dhcpd_owner_unlink(ls, l);
	dhcpd_attach(ls, l, DHCPD_LEASE_FREE);
	return true;
}

void
dhcpd_lease_unoffer(struct dhcpd_leases *ls, struct dhcpd_lease *l)
{
	if (l->state == DHCPD_LEASE_OFFERED)
		dhcpd_set_state(ls, l, DHCPD_LEASE_FREE);
}

bool
dhcpd_lease_usable(const struct dhcpd_lease *l, const uint8_t *id, size_t id_len, int64_t now,
		   int64_t now_ms)
{
	bool mine = dhcpd_lease_owned_by(l, id, id_len);

	switch (l->state) {
	case DHCPD_LEASE_FREE:
		return true;
	case DHCPD_LEASE_OFFERED:
		return mine || l->expires <= now_ms;
	case DHCPD_LEASE_BOUND:
		return mine || l->expires <= now;
	case DHCPD_LEASE_DECLINED:
		return l->expires <= now;
	}
	return false;
}

/* Return a lease whose time is over to its pool. True when it moved. */
static bool
dhcpd_expire_one(struct dhcpd_leases *ls, struct dhcpd_lease *l, int64_t now, int64_t now_ms)
{
	switch (l->state) {
	case DHCPD_LEASE_OFFERED:
		if (l->expires > now_ms)
			return false;
		break;
	case DHCPD_LEASE_BOUND:
		if (l->expires > now)
			return false;
		l->restricted = false;
		break;
	case DHCPD_LEASE_DECLINED:
		if (l->expires > now)
			return false;
		break;
	default:
		return false;
	}
	dhcpd_set_state(ls, l, DHCPD_LEASE_FREE);
	return true;
}

size_t
dhcpd_leases_sweep(struct dhcpd_leases *ls, size_t budget, int64_t now, int64_t now_ms)
{
	size_t moved = 0;

	/* Offers run out in the order they were made. */
	for (size_t s = 0; s < ls->n_pools; s++) {
		struct dhcpd_pool_state *p = &ls->pools[s];

		while (p->offer_head != DHCPD_NIL &&
		       ls->l[p->offer_head].expires <= now_ms) {
			dhcpd_set_state(ls, &ls->l[p->offer_head], DHCPD_LEASE_FREE);
			moved++;
		}
	}
	if (ls->n == 0)
		return moved;
	if (budget > ls->n)
		budget = ls->n;
	for (size_t k = 0; k < budget; k++) {
		if (ls->sweep_at >= ls->n)
			ls->sweep_at = 0;
		if (dhcpd_expire_one(ls, &ls->l[ls->sweep_at], now, now_ms))
			moved++;
		ls->sweep_at++;
	}
	return moved;
}

struct dhcpd_lease *
dhcpd_lease_alloc(struct dhcpd_leases *ls, uint16_t scope, int64_t now, int64_t now_ms)
{
	struct dhcpd_pool_state *p = &ls->pools[scope];

	if (p->free_head == DHCPD_NIL) {
		/* Expired leases of this scope first, from where the last look stopped. */
		uint32_t count = p->n_total;
		size_t scan = count < DHCPD_RECLAIM_SCAN ? count : DHCPD_RECLAIM_SCAN;

		for (size_t k = 0; k < scan && p->free_head == DHCPD_NIL; k++) {
			struct dhcpd_lease *l = &ls->l[p->first + (p->cursor++ % count)];

			if (!l->reserved)
				dhcpd_expire_one(ls, l, now, now_ms);
		}
	}
	if (p->free_head == DHCPD_NIL && p->offer_head != DHCPD_NIL) {
		/* Steal the oldest outstanding offer: offers are promises, not leases. */
		dhcpd_set_state(ls, &ls->l[p->offer_head], DHCPD_LEASE_FREE);
	}
	if (p->free_head == DHCPD_NIL)
		return NULL;
	return &ls->l[p->free_head];
}

/* ---- table ---- */

/* Addresses a pool never hands out: network, broadcast, the routers and server ids. */
static bool
dhcpd_excluded(const struct dhcpd_config *c, const struct dhcpd_scope *s, uint32_t a)
{
	if (s->prefix < 31 && (a == s->net || a == s->broadcast))
		return true;
	for (size_t i = 0; i < s->opts.n_routers; i++)
		if (s->opts.routers[i] == a)
			return true;
	return a == s->server_id || a == c->server_id;
}

int
dhcpd_leases_init(struct dhcpd_leases *ls, const struct dhcpd_config *c)
{
	uint64_t total = 0;
	uint32_t idx = 0;

	memset(ls, 0, sizeof(*ls));
	ls->fd = ls->dirfd = -1;
	ls->compact_floor = c->journal_compact;
	for (size_t s = 0; s < c->n_scopes; s++) {
		const struct dhcpd_scope *sc = &c->scopes[s];

		for (size_t i = 0; i < sc->n_ranges; i++)
			total += (uint64_t)sc->ranges[i].end - sc->ranges[i].start + 1;
		total += sc->n_res;
	}
	if (total > DHCPD_MAX_POOL_ADDRS)
		return -E2BIG;
	ls->pools = calloc(c->n_scopes > 0 ? c->n_scopes : 1, sizeof(*ls->pools));
	ls->l = calloc(total > 0 ? total : 1, sizeof(*ls->l));
	ls->addr_mask = dhcpd_pow2((uint32_t)total * 2) - 1;
	ls->id_mask = dhcpd_pow2((uint32_t)total) - 1;
	ls->addr_hash = calloc((size_t)ls->addr_mask + 1, sizeof(uint32_t));
	ls->id_hash = malloc(((size_t)ls->id_mask + 1) * sizeof(uint32_t));
	if (ls->pools == NULL || ls->l == NULL || ls->addr_hash == NULL || ls->id_hash == NULL) {
		dhcpd_leases_close(ls);
		return -ENOMEM;
	}
	memset(ls->id_hash, 0xff, ((size_t)ls->id_mask + 1) * sizeof(uint32_t));
	ls->n_pools = c->n_scopes;
	for (size_t s = 0; s < c->n_scopes; s++) {
		const struct dhcpd_scope *sc = &c->scopes[s];
		struct dhcpd_pool_state *p = &ls->pools[s];

		p->free_head = p->free_tail = p->offer_head = p->offer_tail = DHCPD_NIL;
		p->first = idx;
		for (size_t i = 0; i < sc->n_ranges; i++) {
			for (uint64_t a = sc->ranges[i].start; a <= sc->ranges[i].end; a++) {
				if (dhcpd_excluded(c, sc, (uint32_t)a) ||
				    dhcpd_lease_by_addr(ls, (uint32_t)a) != NULL)
					continue;
				ls->l[idx] = (struct dhcpd_lease){.addr = (uint32_t)a,
					.scope = (uint16_t)s, .next = DHCPD_NIL,
					.prev = DHCPD_NIL, .hash_next = DHCPD_NIL};
				dhcpd_addr_insert(ls, idx);
				idx++;
			}
		}
		for (size_t i = 0; i < sc->n_res; i++) {
			struct dhcpd_lease *l = dhcpd_lease_by_addr(ls, sc->res[i].addr);

			if (l == NULL) {
				ls->l[idx] = (struct dhcpd_lease){.addr = sc->res[i].addr,
					.scope = (uint16_t)s, .next = DHCPD_NIL,
					.prev = DHCPD_NIL, .hash_next = DHCPD_NIL};
				dhcpd_addr_insert(ls, idx);
				l = &ls->l[idx++];
			}
			l->reserved = true;
			memcpy(l->mac, sc->res[i].mac, 6);
		}
	}
	ls->n = idx;
	for (uint32_t i = 0; i < ls->n; i++) {
		struct dhcpd_lease *l = &ls->l[i];

		ls->pools[l->scope].n_total++;
		dhcpd_attach(ls, l, DHCPD_LEASE_FREE);
	}
	return 0;
}

void
dhcpd_leases_close(struct dhcpd_leases *ls)
{
	dhcpd_leases_sync_stop(ls);
	if (ls->fd >= 0)
		close(ls->fd);
	if (ls->dirfd >= 0)
		close(ls->dirfd);
	free(ls->l);
	free(ls->addr_hash);
	free(ls->id_hash);
	free(ls->pools);
	free(ls->pending);
	free(ls->path);
	memset(ls, 0, sizeof(*ls));
	ls->fd = ls->dirfd = -1;
}

/* Rebuild the free lists from the states: remembered owners at the tail (affinity). */
static void
dhcpd_relink(struct dhcpd_leases *ls)
{
	for (size_t s = 0; s < ls->n_pools; s++) {
		struct dhcpd_pool_state *p = &ls->pools[s];
		struct dhcpd_pool_state keep = *p;

		memset(p, 0, sizeof(*p));
		p->n_total = keep.n_total;
		p->first = keep.first;
		p->free_head = p->free_tail = p->offer_head = p->offer_tail = DHCPD_NIL;
	}
	for (uint32_t i = 0; i < ls->n; i++)
		ls->l[i].next = ls->l[i].prev = DHCPD_NIL;
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < ls->n; i++) {
			struct dhcpd_lease *l = &ls->l[i];
			bool remembered = l->id_len > 0;

			if (l->state == DHCPD_LEASE_FREE && remembered != (pass == 1))
				continue;
			if (l->state != DHCPD_LEASE_FREE && pass == 1)
				continue;
			dhcpd_attach(ls, l, l->state);
		}
	}
}

void
dhcpd_leases_adopt(struct dhcpd_leases *ls, struct dhcpd_leases *old, int64_t now_ms)
{
	for (uint32_t i = 0; i < old->n; i++) {
		const struct dhcpd_lease *o = &old->l[i];
		struct dhcpd_lease *l = dhcpd_lease_by_addr(ls, o->addr);

		if (l == NULL || (o->state == DHCPD_LEASE_FREE && o->id_len == 0))
			continue;
		if (l->reserved && o->state != DHCPD_LEASE_FREE && memcmp(l->mac, o->mac, 6) != 0)
			continue; /* a new reservation for another machine: the old lease ends */
		l->state = o->state;
		if (l->state == DHCPD_LEASE_OFFERED) {
			l->state = DHCPD_LEASE_FREE; /* offers do not survive a reload */
			(void)now_ms;
		}
		l->expires = o->expires;
		l->restricted = o->restricted;
		if (!l->reserved)
			memcpy(l->mac, o->mac, 6);
		if (o->id_len > 0 && l->scope < ls->n_pools)
			dhcpd_owner_link(ls, l, o->id, o->id_len);
	}
	dhcpd_relink(ls);
	/* The journal goes on in the same file. */
	ls->fd = old->fd;
	ls->dirfd = old->dirfd;
	ls->path = old->path;
	ls->pending = old->pending;
	ls->pending_len = old->pending_len;
	ls->pending_cap = old->pending_cap;
	ls->st = old->st;
	ls->records_since_compact = old->records_since_compact;
	ls->sy = old->sy;
	ls->in_flight = old->in_flight;
	old->sy = NULL;
	old->in_flight = false;
	old->fd = old->dirfd = -1;
	old->path = NULL;
	old->pending = NULL;
	old->pending_len = old->pending_cap = 0;
}

/* ---- replay ---- */

static int
dhcpd_unhex(const char *s, uint8_t *out, size_t cap, size_t *n)
{
	size_t len = strlen(s);

	if (strcmp(s, "-") == 0) {
		*n = 0;
		return 0;
	}
	if (len % 2 != 0 || len / 2 > cap)
		return -EINVAL;
	for (size_t i = 0; i < len / 2; i++) {
		int hi = isxdigit((unsigned char)s[2 * i]), lo = isxdigit((unsigned char)s[2 * i + 1]);
		char b[3] = {s[2 * i], s[2 * i + 1], 0};

		if (!hi || !lo)
			return -EINVAL;
		out[i] = (uint8_t)strtoul(b, NULL, 16);
	}
	*n = len / 2;
	return 0;
}

/* Apply one checked line; -EINVAL when it does not parse. */
static int
dhcpd_replay_line(struct dhcpd_leases *ls, char *line, int64_t now)
{
	char type[2], ip[16], mac[16], id[2 * DHCPD_ID_MAX + 2];
	long long expires;
	struct in_addr in;
	uint8_t macb[6], idb[DHCPD_ID_MAX];
	size_t macn, idn;
	struct dhcpd_lease *l;

	if (sscanf(line, "%1s %15s %lld %15s %129s", type, ip, &expires, mac, id) != 5)
		return -EINVAL;
	if (inet_aton(ip, &in) == 0)
		return -EINVAL;
	if (dhcpd_unhex(mac, macb, sizeof(macb), &macn) < 0 ||
	    dhcpd_unhex(id, idb, sizeof(idb), &idn) < 0 || (macn != 0 && macn != 6))
		return -EINVAL;
	l = dhcpd_lease_by_addr(ls, ntohl(in.s_addr));
	if (l == NULL) {
		ls->replay_orphans++;
		return 0;
	}
	switch (type[0]) {
	case 'B':
	case 'R':
		if (l->reserved && macn == 6 && memcmp(l->mac, macb, 6) != 0)
			return 0; /* the address is now reserved for another machine */
		if (idn > 0) {
			/* Replaying, the R records are in the file already. */
			dhcpd_give_up_others(ls, l, idb, idn, false);
			dhcpd_owner_link(ls, l, idb, idn);
		}
		if (macn == 6 && !l->reserved)
			memcpy(l->mac, macb, 6);
		if (type[0] == 'B' && expires > now) {
			l->state = DHCPD_LEASE_BOUND;
			l->expires = expires;
		} else {
			l->state = DHCPD_LEASE_FREE;
			l->expires = 0;
		}
		break;
	case 'D':
		dhcpd_owner_unlink(ls, l);
		if (expires > now) {
			l->state = DHCPD_LEASE_DECLINED;
			l->expires = expires;
		} else {
			l->state = DHCPD_LEASE_FREE;
		}
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

static int
dhcpd_replay(struct dhcpd_leases *ls, int fd, int64_t now, off_t *good_end)
{
	FILE *f = fdopen(dup(fd), "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	off_t pos = 0;

	*good_end = 0;
	if (f == NULL)
		return -errno;
	while ((n = getline(&line, &cap, f)) > 0) {
		char *sp;
		unsigned long crc;
		bool last;

		if (line[n - 1] != '\n') {
			ls->replay_torn++;
			break; /* a crash in the middle of the last write */
		}
		last = fgetc(f) == EOF;
		if (!last)
			fseeko(f, -1, SEEK_CUR);
		line[n - 1] = '\0';
		if (line[0] == '#' || line[0] == '\0') {
			pos += n;
			*good_end = pos;
			continue;
		}
		sp = strrchr(line, ' ');
		if (sp == NULL || strlen(sp + 1) != 8 ||
		    (crc = strtoul(sp + 1, NULL, 16),
		     crc != dhcpd_crc32(line, (size_t)(sp - line))) ||
		    (*sp = '\0', dhcpd_replay_line(ls, line, now) < 0)) {
			if (last) {
				ls->replay_torn++;
				break;
			}
			ls->replay_bad++;
		}
		pos += n;
		*good_end = pos;
	}
	free(line);
	fclose(f);
	return 0;
}

static int
dhcpd_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
dhcpd_leases_compact(struct dhcpd_leases *ls, int64_t now)
{
	char tmp[4096], line[DHCPD_LINE_MAX + 32];
	char *buf = NULL;
	size_t len = 0, cap = 0;
	uint64_t records = 0;
	int fd, r;

	if (ls->path == NULL)
		return 0;
	if (ls->in_flight)
		(void)dhcpd_leases_sync_wait(ls, now);
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", ls->path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	for (uint32_t i = 0; i < ls->n; i++) {
		size_t n = 0;

		const struct dhcpd_lease *l = &ls->l[i];

		/* The snapshot is the table as it is, uncommitted changes included. */
		if (l->state == DHCPD_LEASE_BOUND && l->expires > now)
			n = dhcpd_record_format(line, sizeof(line), 'B', l, l->expires);
		else if (l->state == DHCPD_LEASE_DECLINED && l->expires > now)
			n = dhcpd_record_format(line, sizeof(line), 'D', l, l->expires);
		else if (l->id_len > 0 && l->state != DHCPD_LEASE_DECLINED)
			n = dhcpd_record_format(line, sizeof(line), 'R', l, 0);
		else
			continue;
		if (len + n + sizeof(DHCPD_JOURNAL_HEADER) > cap) {
			size_t nc = cap == 0 ? 1 << 16 : cap * 2;
			char *p;

			while (nc < len + n + sizeof(DHCPD_JOURNAL_HEADER))
				nc *= 2;
			if ((p = realloc(buf, nc)) == NULL) {
				free(buf);
				return -ENOMEM;
			}
			buf = p;
			cap = nc;
		}
		if (len == 0) {
			memcpy(buf, DHCPD_JOURNAL_HEADER, sizeof(DHCPD_JOURNAL_HEADER) - 1);
			len = sizeof(DHCPD_JOURNAL_HEADER) - 1;
		}
		memcpy(buf + len, line, n);
		len += n;
		records++;
	}
	if (len == 0) {
		buf = malloc(sizeof(DHCPD_JOURNAL_HEADER));
		if (buf == NULL)
			return -ENOMEM;
		memcpy(buf, DHCPD_JOURNAL_HEADER, sizeof(DHCPD_JOURNAL_HEADER) - 1);
		len = sizeof(DHCPD_JOURNAL_HEADER) - 1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0) {
		free(buf);
		return -errno;
	}
	r = dhcpd_write_all(fd, buf, len);
	free(buf);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && rename(tmp, ls->path) < 0)
		r = -errno;
	if (r < 0) {
		close(fd);
		unlink(tmp);
		return r;
	}
	if (ls->dirfd >= 0)
		fsync(ls->dirfd);
	close(fd);
	fd = open(ls->path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ls->fd >= 0)
		close(ls->fd);
	ls->fd = fd;
	ls->pending_len = 0;
	ls->st.compactions++;
	ls->st.fsyncs++;
	ls->records_since_compact = 0;
	ls->compact_floor = ls->compact_floor < 2 * records ? (uint32_t)(2 * records) :
							       ls->compact_floor;
	return 0;
}

int
dhcpd_leases_open(struct dhcpd_leases *ls, const char *state_dir, int64_t now, char *err,
		  size_t err_len)
{
	char path[4096];
	off_t good_end = 0;
	int fd, r;
	struct stat st;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", state_dir, DHCPD_JOURNAL_NAME) >=
	    sizeof(path)) {
		snprintf(err, err_len, "state_dir: path too long");
		return -ENAMETOOLONG;
	}
	ls->dirfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ls->dirfd < 0) {
		r = -errno;
		snprintf(err, err_len, "state_dir %s: %s", state_dir, strerror(-r));
		return r;
	}
	if ((ls->path = strdup(path)) == NULL)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			close(fd);
			snprintf(err, err_len, "%s: not a regular file", path);
			return -EINVAL;
		}
		r = dhcpd_replay(ls, fd, now, &good_end);
		close(fd);
		if (r < 0) {
			snprintf(err, err_len, "%s: %s", path, strerror(-r));
			return r;
		}
		if (ls->replay_torn > 0)
			log_warnx("%s: ignored a torn last record at byte %lld (left by a crash)",
				  path, (long long)good_end);
		if (ls->replay_bad > 0)
			log_warnx("%s: skipped %" PRIu64 " damaged record(s)", path,
				  ls->replay_bad);
		if (ls->replay_orphans > 0)
			log_info("%s: %" PRIu64 " record(s) for addresses no longer in any pool",
				 path, ls->replay_orphans);
	} else if (errno != ENOENT) {
		r = -errno;
		snprintf(err, err_len, "%s: %s", path, strerror(-r));
		return r;
	}
	dhcpd_relink(ls);
	/* Start from a clean snapshot: it also drops the torn tail. */
	r = dhcpd_leases_compact(ls, now);
	if (r < 0) {
		snprintf(err, err_len, "%s: cannot write the lease snapshot: %s", path,
			 strerror(-r));
		return r;
	}
	return 0;
}

bool
dhcpd_leases_dirty(const struct dhcpd_leases *ls)
{
	return ls->pending_len > 0;
}

int
dhcpd_leases_commit(struct dhcpd_leases *ls, int64_t now)
{
	int r;

	if (ls->in_flight && (r = dhcpd_leases_sync_wait(ls, now)) < 0)
		return r;
	if (ls->pending_len == 0 || ls->fd < 0) {
		ls->pending_len = 0;
		return 0;
	}
	r = dhcpd_write_all(ls->fd, ls->pending, ls->pending_len);
	if (r == 0 && fdatasync(ls->fd) < 0)
		r = -errno;
	if (r < 0) {
		/* The file may hold part of the batch: start a fresh snapshot next time. */
		ls->st.write_errors++;
		r = dhcpd_leases_compact(ls, now) == 0 ? 0 : r;
		if (r < 0)
			ls->pending_len = 0;
		return r;
	}
	ls->st.fsyncs++;
	ls->pending_len = 0;
	if (ls->records_since_compact > ls->compact_floor)
		(void)dhcpd_leases_compact(ls, now);
	return 0;
}

/* ---- the syncer thread ---- */

struct dhcpd_syncer {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int efd;
	bool work, done, stop;
	int fd;
	char *buf;
	size_t len, cap;
	int result;
};

static void *
dhcpd_syncer_main(void *arg)
{
	struct dhcpd_syncer *sy = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&sy->mu);
	for (;;) {
		int r;

		while (!sy->work && !sy->stop)
			pthread_cond_wait(&sy->cv, &sy->mu);
		if (sy->stop)
			break;
		pthread_mutex_unlock(&sy->mu);
		r = dhcpd_write_all(sy->fd, sy->buf, sy->len);
		if (r == 0 && fdatasync(sy->fd) < 0)
			r = -errno;
		pthread_mutex_lock(&sy->mu);
		sy->result = r;
		sy->work = false;
		sy->done = true;
		pthread_cond_broadcast(&sy->cv);
		if (write(sy->efd, &one, sizeof(one)) < 0) {
			/* The counter cannot overflow here; nothing to do. */
		}
	}
	pthread_mutex_unlock(&sy->mu);
	return NULL;
}

int
dhcpd_leases_sync_start(struct dhcpd_leases *ls)
{
	struct dhcpd_syncer *sy = calloc(1, sizeof(*sy));
	int r;

	if (sy == NULL)
		return -ENOMEM;
	sy->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (sy->efd < 0) {
		r = -errno;
		free(sy);
		return r;
	}
	pthread_mutex_init(&sy->mu, NULL);
	pthread_cond_init(&sy->cv, NULL);
	if ((r = pthread_create(&sy->th, NULL, dhcpd_syncer_main, sy)) != 0) {
		close(sy->efd);
		free(sy);
		return -r;
	}
	ls->sy = sy;
	return 0;
}

int
dhcpd_leases_sync_fd(const struct dhcpd_leases *ls)
{
	return ls->sy != NULL ? ls->sy->efd : -1;
}

bool
dhcpd_leases_sync_busy(const struct dhcpd_leases *ls)
{
	return ls->sy != NULL && ls->in_flight;
}

/* Hand the pending records to the syncer. 1 = handed over, 0 = nothing to do / busy. */
int
dhcpd_leases_sync_submit(struct dhcpd_leases *ls)
{
	struct dhcpd_syncer *sy = ls->sy;
	char *tb;
	size_t tc;

	if (sy == NULL || ls->in_flight || ls->pending_len == 0 || ls->fd < 0)
		return 0;
	pthread_mutex_lock(&sy->mu);
	tb = sy->buf;
	tc = sy->cap;
	sy->buf = ls->pending;
	sy->cap = ls->pending_cap;
	sy->len = ls->pending_len;
	sy->fd = ls->fd;
	sy->work = true;
	sy->done = false;
	pthread_cond_signal(&sy->cv);
	pthread_mutex_unlock(&sy->mu);
	ls->pending = tb;
	ls->pending_cap = tc;
	ls->pending_len = 0;
	ls->in_flight = true;
	return 1;
}

/* After the eventfd fired: 1 and *result when the batch in flight finished, else 0. */
int
dhcpd_leases_sync_collect(struct dhcpd_leases *ls, int *result, int64_t now)
{
	struct dhcpd_syncer *sy = ls->sy;
	uint64_t v;
	bool done;

	if (sy == NULL || !ls->in_flight)
		return 0;
	if (read(sy->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return 0;
	pthread_mutex_lock(&sy->mu);
	done = sy->done;
	*result = sy->result;
	sy->done = false;
	pthread_mutex_unlock(&sy->mu);
	if (!done)
		return 0;
	ls->in_flight = false;
	if (*result < 0) {
		ls->st.write_errors++;
		/* The file may hold part of the batch: a snapshot makes it whole again. */
		if (dhcpd_leases_compact(ls, now) == 0)
			*result = 0;
	} else {
		ls->st.fsyncs++;
		if (ls->records_since_compact > ls->compact_floor)
			(void)dhcpd_leases_compact(ls, now);
	}
	return 1;
}

/* Block until the batch in flight is on disk (reload, stop, a full reply queue). */
int
dhcpd_leases_sync_wait(struct dhcpd_leases *ls, int64_t now)
{
	struct dhcpd_syncer *sy = ls->sy;
	int result = 0;

	if (sy == NULL || !ls->in_flight)
		return 1;
	pthread_mutex_lock(&sy->mu);
	while (!sy->done)
		pthread_cond_wait(&sy->cv, &sy->mu);
	pthread_mutex_unlock(&sy->mu);
	return dhcpd_leases_sync_collect(ls, &result, now) == 1 && result == 0 ? 1 : result;
}

void
dhcpd_leases_sync_stop(struct dhcpd_leases *ls)
{
	struct dhcpd_syncer *sy = ls->sy;

	if (sy == NULL)
		return;
	pthread_mutex_lock(&sy->mu);
	sy->stop = true;
	pthread_cond_signal(&sy->cv);
	pthread_mutex_unlock(&sy->mu);
	pthread_join(sy->th, NULL);
	close(sy->efd);
	pthread_mutex_destroy(&sy->mu);
	pthread_cond_destroy(&sy->cv);
	free(sy->buf);
	free(sy);
	ls->sy = NULL;
	ls->in_flight = false;
}
