// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * napdhcpd's request handler (RFC 2131 §4.3): one decoded DHCPv4 message in, at most one reply
 * queued out. Handles untrusted input: every datagram from the network comes through
 * dhcpd_handle(); bad ones are counted, logged rate-limited and dropped.
 *
 * Client identity is option 61 when present, else htype + chaddr. The scope is the one holding
 * giaddr (relayed), else the interface's (direct), else ciaddr's. REQUEST states are told apart
 * as RFC 2131 §4.3.2 says: server identifier present = SELECTING; requested address without
 * ciaddr = INIT-REBOOT; ciaddr = RENEWING (unicast to us) or REBINDING (broadcast). NAKs and
 * silences follow the same section; the table in dhcpd_request() names each case.
 *
 * NAP (nap.h): DISCOVER with NAP sub-options gets the marker; a REQUEST with an SoH waits in a
 * bounded pending table for dhcpd_nap_check()'s verdict, and the ACK is built in its callback.
 * No ACK leaves before its journal record is on disk: replies wait in d->outq until
 * dhcpd_commit_and_flush() has written and fdatasync()ed the batch.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "nap/log.h"
#include "nap/util.h"
#include "napdhcpd.h"

enum dhcpd_req_state {
	DHCPD_REQ_SELECTING,
	DHCPD_REQ_INIT_REBOOT,
	DHCPD_REQ_RENEWING,
	DHCPD_REQ_REBINDING,
};

static const char *const dhcpd_req_state_names[] = {
	[DHCPD_REQ_SELECTING] = "SELECTING",
	[DHCPD_REQ_INIT_REBOOT] = "INIT-REBOOT",
	[DHCPD_REQ_RENEWING] = "RENEWING",
	[DHCPD_REQ_REBINDING] = "REBINDING",
};

static const char *const dhcpd_drop_names[DHCPD_DROP_COUNT] = {
	[DHCPD_DROP_MALFORMED] = "malformed",
	[DHCPD_DROP_NOT_REQUEST] = "not_bootrequest",
	[DHCPD_DROP_BAD_TYPE] = "bad_message_type",
	[DHCPD_DROP_BAD_CLIENT_ID] = "bad_client_id",
	[DHCPD_DROP_NO_SCOPE] = "no_scope",
	[DHCPD_DROP_POOL_EXHAUSTED] = "pool_exhausted",
	[DHCPD_DROP_OTHER_SERVER] = "other_server",
	[DHCPD_DROP_PENDING_FULL] = "pending_full",
	[DHCPD_DROP_NAP] = "nap_drop",
	[DHCPD_DROP_TOO_BIG] = "reply_too_big",
	[DHCPD_DROP_SEND_ERROR] = "send_error",
	[DHCPD_DROP_QUEUE_FULL] = "queue_full",
	[DHCPD_DROP_JOURNAL] = "journal_error",
};

const char *
dhcpd_drop_name(enum dhcpd_drop d)
{
	return (unsigned)d < DHCPD_DROP_COUNT ? dhcpd_drop_names[d] : "?";
}

static uint32_t
dhcpd_get32(const uint8_t a[4])
{
	return (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
}

static void
dhcpd_put32(uint8_t a[4], uint32_t v)
{
	a[0] = (uint8_t)(v >> 24);
	a[1] = (uint8_t)(v >> 16);
	a[2] = (uint8_t)(v >> 8);
	a[3] = (uint8_t)v;
}

static void
dhcpd_drop(struct dhcpd *d, enum dhcpd_drop why)
{
	d->m.drops[why]++;
}

/* ---- set-up ---- */

int
dhcpd_init(struct dhcpd *d, struct dhcpd_config *conf)
{
	int r;

	d->conf = conf;
	d->pkt = malloc(sizeof(*d->pkt));
	d->napp = malloc(sizeof(*d->napp));
	d->b = malloc(sizeof(*d->b));
	d->outq = malloc(DHCPD_OUTQ * sizeof(*d->outq));
	d->pending.cap = conf->pending_max;
	d->pending.slots = calloc(d->pending.cap, sizeof(*d->pending.slots));
	if (d->pkt == NULL || d->napp == NULL || d->b == NULL || d->outq == NULL ||
	    d->pending.slots == NULL) {
		dhcpd_free(d);
		return -ENOMEM;
	}
	if ((r = dhcpd_leases_init(&d->leases, conf)) < 0) {
		dhcpd_free(d);
		return r;
	}
	return 0;
}

void
dhcpd_free(struct dhcpd *d)
{
	free(d->pkt);
	free(d->napp);
	free(d->b);
	free(d->outq);
	free(d->held_next);
	free(d->held_fly);
	free(d->pending.slots);
	d->pkt = NULL;
	d->napp = NULL;
	d->b = NULL;
	d->outq = NULL;
	d->held_next = d->held_fly = NULL;
	d->pending.slots = NULL;
	dhcpd_leases_close(&d->leases);
}

/* ---- replies ---- */

static uint32_t
dhcpd_server_id(const struct dhcpd *d, const struct dhcpd_scope *s, const struct dhcpd_rx *rx)
{
	if (s->server_id != 0)
		return s->server_id;
	if (d->conf->server_id != 0)
		return d->conf->server_id;
	return rx->local;
}

static bool
dhcpd_wanted(const struct dhcpd_req *rq, uint8_t code)
{
	if (!rq->has_prl)
		return true;
	return memchr(rq->prl, code, rq->prl_len) != NULL;
}

/* Room for an option of len bytes, keeping End and the echoed option 82. */
static bool
dhcpd_fits(const struct dhcpd *d, const struct dhcpd_req *rq, size_t len)
{
	const struct nap_dhcp_builder *b = d->b;
	size_t need = len + 2 * (len == 0 ? 1 : (len + 254) / 255) + 1;

	if (rq->has_relay)
		need += rq->relay_len + 2 * ((rq->relay_len + 254) / 255 + 1);
	return b->error == 0 && b->cbb.max - nap_cbb_len(&b->cbb) >= need;
}

static void
dhcpd_add_opt(struct dhcpd *d, const struct dhcpd_req *rq, uint8_t code, const void *v,
	      size_t len)
{
	if (dhcpd_fits(d, rq, len))
		nap_dhcp_add_option(d->b, code, v, len);
}

static void
dhcpd_add_addrs(struct dhcpd *d, const struct dhcpd_req *rq, uint8_t code, const uint32_t *a,
		size_t n)
{
	uint8_t buf[4 * DHCPD_MAX_ADDRS];

	if (n == 0 || !dhcpd_wanted(rq, code))
		return;
	for (size_t i = 0; i < n; i++)
		dhcpd_put32(buf + 4 * i, a[i]);
	dhcpd_add_opt(d, rq, code, buf, 4 * n);
}

/* RFC 3442 encoding: prefix length, the significant octets of the destination, the router. */
static size_t
dhcpd_routes_encode(const struct dhcpd_opts *o, uint8_t *out)
{
	size_t n = 0;

	for (size_t i = 0; i < o->n_routes; i++) {
		const struct dhcpd_route *rt = &o->routes[i];
		uint8_t dest[4];
		size_t sig = (rt->prefix + 7u) / 8;

		dhcpd_put32(dest, rt->dest);
		out[n++] = rt->prefix;
		memcpy(out + n, dest, sig);
		n += sig;
		dhcpd_put32(out + n, rt->gw);
		n += 4;
	}
	return n;
}

static void
dhcpd_enqueue(struct dhcpd *d, const struct dhcpd_req *rq, int type, uint32_t yiaddr,
	      uint32_t sid, const uint8_t *p, size_t len, bool needs_commit)
{
	const struct dhcpd_rx *rx = &rq->rx;
	uint32_t giaddr = dhcpd_get32(rq->hdr.giaddr), ciaddr = dhcpd_get32(rq->hdr.ciaddr);
	struct dhcpd_out *o;

	if (d->n_out == DHCPD_OUTQ) {
		if (d->async)
			dhcpd_turn_end(d);
		else if (d->send != NULL)
			dhcpd_commit_and_flush(d);
		if (d->n_out == DHCPD_OUTQ) {
			dhcpd_drop(d, DHCPD_DROP_QUEUE_FULL);
			return;
		}
	}
	if (len > sizeof(o->buf)) {
		dhcpd_drop(d, DHCPD_DROP_TOO_BIG);
		return;
	}
	o = &d->outq[d->n_out];
	o->sock = rx->sock;
	o->ifindex = rx->ifindex;
	o->src_ip = sid;
	o->needs_commit = needs_commit;
	memcpy(o->mac, rq->hdr.chaddr, 6);
	/* RFC 2131 §4.1, "If the 'giaddr' field ... is nonzero": the table below in order. */
	if (rx->is_listen) {
		/* Relayed or test traffic: back to the relay (its source port) or the sender. */
		o->dest = DHCPD_DEST_UDP;
		o->dst_ip = giaddr != 0 ? giaddr : rx->src;
		o->dst_port = rx->src_port;
		if (o->dst_ip == 0)
			return;
	} else if (giaddr != 0) {
		o->dest = DHCPD_DEST_UDP;
		o->dst_ip = giaddr;
		o->dst_port = DHCPD_SERVER_PORT;
	} else if (type == NAP_DHCPNAK) {
		o->dest = DHCPD_DEST_L2_BCAST;
	} else if (ciaddr != 0) {
		o->dest = DHCPD_DEST_UDP;
		o->dst_ip = ciaddr;
		o->dst_port = DHCPD_CLIENT_PORT;
	} else if ((rq->hdr.flags & NAP_DHCP_FLAG_BROADCAST) != 0 || rq->hdr.htype != 1 ||
		   rq->hdr.hlen != 6 || yiaddr == 0) {
		o->dest = DHCPD_DEST_L2_BCAST;
	} else {
		o->dest = DHCPD_DEST_L2;
		o->dst_ip = yiaddr;
	}
	if (o->dest == DHCPD_DEST_L2_BCAST) {
		o->dst_ip = 0xffffffffu;
		memset(o->mac, 0xff, 6);
	}
	if (o->dest != DHCPD_DEST_UDP)
		o->dst_port = DHCPD_CLIENT_PORT;
	memcpy(o->buf, p, len);
	o->len = len;
	d->n_out++;
	d->m.tx[type]++;
}

struct dhcpd_reply {
	int type;
	uint32_t yiaddr;
	uint32_t lease; /* 0: no lease options (NAK, INFORM) */
	const struct dhcpd_nap_verdict *v;
	bool marker;
	const struct nap_dhcp_nap *cn;
	bool needs_commit;
	const char *message; /* option 56 of a NAK */
	const struct dhcpd_reservation *res;
};

static int
dhcpd_reply_try(struct dhcpd *d, const struct dhcpd_req *rq, const struct dhcpd_reply *rp)
{
	const struct dhcpd_scope *s = &d->conf->scopes[rq->scope];
	struct nap_dhcp_builder *b = d->b;
	struct nap_dhcp_header h;
	uint32_t sid = rq->server_id;
	const uint8_t *out;
	size_t out_len;
	bool restricted = rp->v != NULL && dhcpd_nap_restricts(rp->v);
	const struct dhcpd_opts *o = &s->opts, *co = NULL;
	uint8_t buf[DHCPD_MAX_ROUTES * 9];

	memset(&h, 0, sizeof(h));
	h.op = NAP_DHCP_BOOTREPLY;
	h.htype = rq->hdr.htype;
	h.hlen = rq->hdr.hlen;
	h.xid = rq->hdr.xid;
	h.flags = rq->hdr.flags;
	/* RFC 2131 §4.3.2: a NAK through a relay asks it to broadcast. */
	if (rp->type == NAP_DHCPNAK && dhcpd_get32(rq->hdr.giaddr) != 0)
		h.flags |= NAP_DHCP_FLAG_BROADCAST;
	if (rp->type == NAP_DHCPACK)
		memcpy(h.ciaddr, rq->hdr.ciaddr, 4);
	dhcpd_put32(h.yiaddr, rp->yiaddr);
	memcpy(h.giaddr, rq->hdr.giaddr, 4);
	memcpy(h.chaddr, rq->hdr.chaddr, sizeof(h.chaddr));
	nap_dhcp_build_init(b, &h, rq->max_size);
	nap_dhcp_add_u8(b, NAP_DHCP_OPT_MESSAGE_TYPE, (uint8_t)rp->type);
	nap_dhcp_add_u32(b, NAP_DHCP_OPT_SERVER_ID, sid);
	if (rp->type == NAP_DHCPNAK) {
		if (rp->message != NULL)
			dhcpd_add_opt(d, rq, NAP_DHCP_OPT_MESSAGE, rp->message,
				      strlen(rp->message));
		goto end;
	}
	if (rp->lease != 0) {
		uint32_t t1 = s->renew_time, t2 = s->rebind_time;

		if (t1 == 0 || t1 >= rp->lease)
			t1 = rp->lease / 2;
		if (t2 == 0 || t2 >= rp->lease || t2 <= t1)
			t2 = (uint32_t)((uint64_t)rp->lease * 7 / 8);
		nap_dhcp_add_u32(b, NAP_DHCP_OPT_LEASE_TIME, rp->lease);
		nap_dhcp_add_u32(b, NAP_DHCP_OPT_RENEWAL_TIME, t1);
		nap_dhcp_add_u32(b, NAP_DHCP_OPT_REBINDING_TIME, t2);
	}
	if (rp->v != NULL || rp->marker) {
		struct dhcpd_nap_net net = {.has_router = s->opts.n_routers > 0};

		dhcpd_put32(net.subnet, s->net);
		dhcpd_put32(net.mask, s->mask);
		if (net.has_router)
			dhcpd_put32(net.router, s->opts.routers[0]);
		if (dhcpd_nap_add_options(b, &s->nap, &net, rp->marker ? NULL : rp->v, rp->cn) < 0 ||
		    (rq->has_relay && !dhcpd_fits(d, rq, 0)))
			return -EMSGSIZE;
	}
	if (restricted && rp->v->user_class[0] != '\0') {
		const struct dhcpd_class *cl = dhcpd_class_find(d->conf, rp->v->user_class);

		if (cl != NULL)
			co = &cl->opts;
	}
	if (!restricted) {
		uint8_t m[4];

		dhcpd_put32(m, s->mask);
		dhcpd_add_opt(d, rq, NAP_DHCP_OPT_SUBNET_MASK, m, 4);
		dhcpd_add_addrs(d, rq, NAP_DHCP_OPT_ROUTER, o->routers, o->n_routers);
	}
	if (co != NULL && co->n_dns > 0)
		dhcpd_add_addrs(d, rq, NAP_DHCP_OPT_DNS, co->dns, co->n_dns);
	else
		dhcpd_add_addrs(d, rq, NAP_DHCP_OPT_DNS, o->dns, o->n_dns);
	if (rp->res != NULL && rp->res->hostname[0] != '\0' &&
	    dhcpd_wanted(rq, NAP_DHCP_OPT_HOSTNAME))
		dhcpd_add_opt(d, rq, NAP_DHCP_OPT_HOSTNAME, rp->res->hostname,
			      strlen(rp->res->hostname));
	{
		const char *dom = co != NULL && co->domain[0] != '\0' ? co->domain : o->domain;

		if (dom[0] != '\0' && dhcpd_wanted(rq, NAP_DHCP_OPT_DOMAIN_NAME))
			dhcpd_add_opt(d, rq, NAP_DHCP_OPT_DOMAIN_NAME, dom, strlen(dom));
	}
	if (!restricted) {
		uint8_t bc[4];
		size_t n;

		dhcpd_put32(bc, s->broadcast);
		if (dhcpd_wanted(rq, 28))
			dhcpd_add_opt(d, rq, 28, bc, 4);
		if (o->n_routes > 0) {
			n = dhcpd_routes_encode(o, buf);
			if (dhcpd_wanted(rq, NAP_DHCP_OPT_CLASSLESS_ROUTE))
				dhcpd_add_opt(d, rq, NAP_DHCP_OPT_CLASSLESS_ROUTE, buf, n);
			if (dhcpd_wanted(rq, NAP_DHCP_OPT_MS_CLASSLESS_ROUTE))
				dhcpd_add_opt(d, rq, NAP_DHCP_OPT_MS_CLASSLESS_ROUTE, buf, n);
		}
	}
end:
	/* RFC 3046 §2.2: the relay agent information goes back unchanged, last. */
	if (rq->has_relay)
		nap_dhcp_add_option(b, NAP_DHCP_OPT_RELAY_AGENT, rq->relay, rq->relay_len);
	if (nap_dhcp_finish(b, &out, &out_len) < 0)
		return -E2BIG;
	dhcpd_enqueue(d, rq, rp->type, rp->yiaddr, sid, out, out_len, rp->needs_commit);
	return 0;
}

/* Build and queue; an SoHR too long for the client's limit is left out rather than the ACK. */
static void
dhcpd_reply(struct dhcpd *d, const struct dhcpd_req *rq, const struct dhcpd_reply *rp)
{
	int r = dhcpd_reply_try(d, rq, rp);

	if (r == -EMSGSIZE && rp->v != NULL && rp->v->sohr_len > 0) {
		struct dhcpd_nap_verdict *v = malloc(sizeof(*v));
		struct dhcpd_reply again = *rp;

		if (v != NULL) {
			memcpy(v, rp->v, offsetof(struct dhcpd_nap_verdict, sohr));
			v->sohr_len = 0;
			again.v = v;
			r = dhcpd_reply_try(d, rq, &again);
			free(v);
			if (r == 0)
				LOG_WARNX_RL("%s to %02x:%02x:%02x:%02x:%02x:%02x: the SoHR does not fit "
					     "the client's %zu-byte limit: sent without it",
					     nap_dhcp_message_type_name(rp->type), rq->hdr.chaddr[0],
					     rq->hdr.chaddr[1], rq->hdr.chaddr[2], rq->hdr.chaddr[3],
					     rq->hdr.chaddr[4], rq->hdr.chaddr[5], rq->max_size);
		}
	}
	if (r < 0) {
		dhcpd_drop(d, DHCPD_DROP_TOO_BIG);
		LOG_WARNX_RL("%s to %02x:%02x:%02x:%02x:%02x:%02x does not fit the client's "
			     "%zu-byte limit", nap_dhcp_message_type_name(rp->type),
			     rq->hdr.chaddr[0], rq->hdr.chaddr[1], rq->hdr.chaddr[2],
			     rq->hdr.chaddr[3], rq->hdr.chaddr[4], rq->hdr.chaddr[5], rq->max_size);
	}
}

static void
dhcpd_nak(struct dhcpd *d, const struct dhcpd_req *rq, const char *why)
{
	struct dhcpd_reply rp = {.type = NAP_DHCPNAK, .message = why};

	if (d->verbose > 0) {
		char a[16];

		dhcpd_ip_format(rq->addr, a, sizeof(a));
		log_debug("DHCPNAK %s to %02x:%02x:%02x:%02x:%02x:%02x: %s", a, rq->hdr.chaddr[0],
			  rq->hdr.chaddr[1], rq->hdr.chaddr[2], rq->hdr.chaddr[3],
			  rq->hdr.chaddr[4], rq->hdr.chaddr[5], why);
	}
	dhcpd_reply(d, rq, &rp);
}

/* The lease time to grant: the scope's, or the client's wish when shorter (not below min). */
static uint32_t
dhcpd_lease_for(const struct dhcpd *d, const struct dhcpd_req *rq,
		const struct dhcpd_nap_verdict *v)
{
	const struct dhcpd_scope *s = &d->conf->scopes[rq->scope];
	uint32_t lease = s->lease_time;

	if (rq->req_lease != 0 && rq->req_lease < lease)
		lease = rq->req_lease < d->conf->min_lease ? d->conf->min_lease : rq->req_lease;
	if (v != NULL) {
		lease = dhcpd_nap_lease_time(v, &s->nap, lease, d->now);
		if (dhcpd_nap_restricts(v) && v->user_class[0] != '\0') {
			const struct dhcpd_class *cl = dhcpd_class_find(d->conf, v->user_class);

			if (cl != NULL && cl->opts.lease_time != 0 && cl->opts.lease_time < lease)
				lease = cl->opts.lease_time;
		}
	}
	return lease == 0 ? 1 : lease;
}

/* Bind the lease and queue the ACK behind its journal record. */
static void
dhcpd_ack(struct dhcpd *d, const struct dhcpd_req *rq, struct dhcpd_lease *l,
	  const struct dhcpd_nap_verdict *v, bool marker, const struct nap_dhcp_nap *cn)
{
	const struct dhcpd_scope *s = &d->conf->scopes[rq->scope];
	uint32_t lease = dhcpd_lease_for(d, rq, v);
	struct dhcpd_reply rp = {.type = NAP_DHCPACK, .yiaddr = l->addr, .lease = lease,
				 .v = v, .marker = marker, .cn = cn, .needs_commit = true};
	int r;

	if (v != NULL && v->action == DHCPD_NAP_ACT_DROP) {
		dhcpd_drop(d, DHCPD_DROP_NAP);
		return;
	}
	if (l->reserved)
		rp.res = dhcpd_reservation_by_mac(s, l->mac);
	r = dhcpd_lease_bind(&d->leases, l, rq->id, rq->id_len, rq->hdr.chaddr, d->now + lease);
	if (r < 0) {
		dhcpd_drop(d, DHCPD_DROP_JOURNAL);
		LOG_WARNX_RL("journal: cannot queue a record: %s", strerror(-r));
		return;
	}
	l->restricted = v != NULL && dhcpd_nap_restricts(v);
	if (d->verbose > 0) {
		char a[16];

		dhcpd_ip_format(l->addr, a, sizeof(a));
		log_debug("DHCPACK %s to %02x:%02x:%02x:%02x:%02x:%02x for %" PRIu32 "s%s", a,
			  rq->hdr.chaddr[0], rq->hdr.chaddr[1], rq->hdr.chaddr[2],
			  rq->hdr.chaddr[3], rq->hdr.chaddr[4], rq->hdr.chaddr[5], lease,
			  l->restricted ? " (restricted)" : "");
	}
	dhcpd_reply(d, rq, &rp);
}

/* ---- NAP verdicts ---- */

static void
dhcpd_verdict_fail(const struct dhcpd_scope_nap *sn, struct dhcpd_nap_verdict *v)
{
	static const enum dhcpd_nap_action map[] = {
		[DHCPD_NAP_MODE_FULL] = DHCPD_NAP_ACT_FULL,
		[DHCPD_NAP_MODE_RESTRICTED] = DHCPD_NAP_ACT_RESTRICTED,
		[DHCPD_NAP_MODE_DROP] = DHCPD_NAP_ACT_DROP,
	};

	memset(v, 0, offsetof(struct dhcpd_nap_verdict, sohr));
	v->action = (unsigned)sn->fail < NAP_ARRAY_SIZE(map) ? map[sn->fail] : DHCPD_NAP_ACT_DROP;
	v->source = DHCPD_NAP_SRC_FAIL;
	v->timed_out = true;
	v->n_remediation = sn->n_remediation;
	memcpy(v->remediation, sn->remediation, sizeof(v->remediation));
}

static struct dhcpd_req *
dhcpd_pending_get(struct dhcpd *d)
{
	struct dhcpd_pending *pd = &d->pending;

	if (pd->used == pd->cap)
		return NULL;
	/* Slots are taken and given back in any order: a short scan from a rotating start. */
	for (size_t k = 0; k < pd->cap; k++) {
		size_t i = (pd->used + k) % pd->cap;

		if (!pd->slots[i].in_use) {
			pd->slots[i].in_use = true;
			pd->used++;
			return &pd->slots[i];
		}
	}
	return NULL;
}

static void
dhcpd_pending_put(struct dhcpd *d, struct dhcpd_req *rq)
{
	rq->in_use = false;
	d->pending.used--;
}

/* The client's CoID and that it spoke NAP, for the reply built later. */
static void
dhcpd_client_nap(const struct dhcpd_req *rq, struct nap_dhcp_nap *cn)
{
	memset(cn, 0, offsetof(struct nap_dhcp_nap, soh_buf));
	cn->present = rq->nap_present;
	cn->soh_kind = NAP_DHCP_SOH_DATA;
	cn->has_coid = rq->has_coid;
	memcpy(cn->coid, rq->coid, sizeof(cn->coid));
}

static void
dhcpd_nap_done(void *arg, const struct dhcpd_nap_verdict *v)
{
	struct dhcpd_req *rq = arg;
	struct dhcpd *d = rq->d;
	struct dhcpd_lease *l;
	struct nap_dhcp_nap *cn;

	if (rq->gen != d->pending.gen || rq->scope >= d->conf->n_scopes) {
		dhcpd_pending_put(d, rq); /* a reload came in between: the client asks again */
		return;
	}
	l = dhcpd_lease_by_addr(&d->leases, rq->addr);
	if (l == NULL || l->scope != rq->scope ||
	    !dhcpd_lease_usable(l, rq->id, rq->id_len, d->now, d->now_ms)) {
		dhcpd_nak(d, rq, "address no longer available");
		dhcpd_pending_put(d, rq);
		return;
	}
	cn = malloc(sizeof(*cn));
	if (cn == NULL) {
		dhcpd_pending_put(d, rq);
		return;
	}
	dhcpd_client_nap(rq, cn);
	dhcpd_ack(d, rq, l, v, false, cn);
	free(cn);
	dhcpd_pending_put(d, rq);
}

/* Grant l to the client of rq, asking napvd first when the scope and the message say so. */
static void
dhcpd_grant(struct dhcpd *d, struct dhcpd_req *rq, struct dhcpd_lease *l)
{
	const struct dhcpd_scope *s = &d->conf->scopes[rq->scope];
	enum dhcpd_nap_decision dec = dhcpd_nap_classify(&s->nap, d->pkt, d->napp);
	struct dhcpd_nap_verdict *v;
	struct dhcpd_nap_query q;
	struct dhcpd_req *pr;
	int r;

	if (d->nap != NULL)
		dhcpd_nap_count_decision(d->nap, dec);
	switch (dec) {
	case DHCPD_NAP_PLAIN:
		dhcpd_ack(d, rq, l, NULL, false, NULL);
		return;
	case DHCPD_NAP_MARKER:
		dhcpd_ack(d, rq, l, NULL, true, d->napp);
		return;
	case DHCPD_NAP_EXEMPT:
	case DHCPD_NAP_INCAPABLE:
		if ((v = malloc(sizeof(*v))) == NULL)
			return;
		dhcpd_nap_verdict_local(d->nap, &s->nap, dec, v);
		dhcpd_ack(d, rq, l, v, false, d->napp);
		free(v);
		return;
	default:
		break;
	}
	/* CHECK: hold the address while napvd thinks. */
	if (d->nap == NULL || (pr = dhcpd_pending_get(d)) == NULL) {
		if (d->nap != NULL) {
			dhcpd_drop(d, DHCPD_DROP_PENDING_FULL);
			LOG_WARNX_RL("%zu requests wait for napvd already: dropping one",
				     d->pending.cap);
			return;
		}
		if ((v = malloc(sizeof(*v))) == NULL)
			return;
		dhcpd_verdict_fail(&s->nap, v);
		dhcpd_ack(d, rq, l, v, false, d->napp);
		free(v);
		return;
	}
	dhcpd_lease_offer(&d->leases, l, rq->id, rq->id_len, rq->hdr.chaddr,
			  d->now_ms + (int64_t)d->conf->offer_timeout * 1000);
	*pr = *rq;
	pr->in_use = true;
	pr->d = d;
	pr->gen = d->pending.gen;
	pr->addr = l->addr;
	dhcpd_nap_query_init(&q, &s->nap, d->pkt, d->napp);
	r = dhcpd_nap_check(d->nap, &q, d->now_ms, dhcpd_nap_done, pr);
	if (r < 0) {
		dhcpd_pending_put(d, pr);
		if ((v = malloc(sizeof(*v))) == NULL)
			return;
		dhcpd_verdict_fail(&s->nap, v);
		dhcpd_ack(d, rq, l, v, false, d->napp);
		free(v);
	}
}

/* ---- messages ---- */

static bool
dhcpd_is_ether(const struct dhcpd_req *rq)
{
	return rq->hdr.htype == 1 && rq->hdr.hlen == 6;
}

static const struct dhcpd_reservation *
dhcpd_res_of(const struct dhcpd_scope *s, const struct dhcpd_req *rq)
{
	return dhcpd_is_ether(rq) ? dhcpd_reservation_by_mac(s, rq->hdr.chaddr) : NULL;
}

/* May this client have l? Reserved addresses go to their MAC only. */
static bool
dhcpd_may_use(const struct dhcpd *d, const struct dhcpd_req *rq, const struct dhcpd_lease *l)
{
	if (l->reserved)
		return dhcpd_is_ether(rq) && memcmp(l->mac, rq->hdr.chaddr, 6) == 0;
	return dhcpd_lease_usable(l, rq->id, rq->id_len, d->now, d->now_ms);
}

static void
dhcpd_discover(struct dhcpd *d, struct dhcpd_req *rq)
{
	const struct dhcpd_scope *s = &d->conf->scopes[rq->scope];
	const struct dhcpd_reservation *res = dhcpd_res_of(s, rq);
	struct dhcpd_lease *l = NULL, *own;
	enum dhcpd_nap_decision dec;
	struct dhcpd_nap_verdict *v = NULL;
	uint8_t want[4];
	struct dhcpd_reply rp = {.type = NAP_DHCPOFFER};

	if (res != NULL)
		l = dhcpd_lease_by_addr(&d->leases, res->addr);
	if (l == NULL && (own = dhcpd_lease_by_id(&d->leases, rq->scope, rq->id, rq->id_len)) !=
				 NULL &&
	    !own->reserved && dhcpd_may_use(d, rq, own))
		l = own;
	if (l == NULL && nap_dhcp_requested_ip(d->pkt, want)) {
		struct dhcpd_lease *x = dhcpd_lease_by_addr(&d->leases, dhcpd_get32(want));

		if (x != NULL && x->scope == rq->scope && !x->reserved && dhcpd_may_use(d, rq, x))
			l = x;
	}
	if (l == NULL)
		l = dhcpd_lease_alloc(&d->leases, rq->scope, d->now, d->now_ms);
	if (l == NULL) {
		dhcpd_drop(d, DHCPD_DROP_POOL_EXHAUSTED);
		LOG_WARNX_RL("[scope %s]: no free address for a DISCOVER", s->name);
		return;
	}
	dhcpd_lease_offer(&d->leases, l, rq->id, rq->id_len, rq->hdr.chaddr,
			  d->now_ms + (int64_t)d->conf->offer_timeout * 1000);
	dec = dhcpd_nap_classify(&s->nap, d->pkt, d->napp);
	if (d->nap != NULL)
		dhcpd_nap_count_decision(d->nap, dec);
	if (dec == DHCPD_NAP_MARKER) {
		/* No napvd question on DISCOVER: the marker says NAP is on here. */
		rp.marker = d->napp->present;
		rp.cn = d->napp;
	}
	rp.yiaddr = l->addr;
	rp.lease = dhcpd_lease_for(d, rq, v);
	rp.res = l->reserved ? res : NULL;
	dhcpd_reply(d, rq, &rp);
}

/*
 * REQUEST, RFC 2131 §4.3.2:
 *   SELECTING, server id not ours          -> silence (the client took another offer)
 *   address outside the scope's subnet     -> NAK
 *   address owned by another client        -> NAK
 *   reservation for this MAC elsewhere     -> NAK
 *   SELECTING / RENEWING, address free     -> ACK
 *   INIT-REBOOT / REBINDING, the client's  -> ACK
 *   INIT-REBOOT / REBINDING, no record     -> silence
 *   INIT-REBOOT, known at another address  -> NAK
 */
static void
dhcpd_request(struct dhcpd *d, struct dhcpd_req *rq)
{
	const struct dhcpd_scope *s = &d->conf->scopes[rq->scope];
	const struct dhcpd_reservation *res = dhcpd_res_of(s, rq);
	struct dhcpd_lease *l, *own;
	enum dhcpd_req_state st;
	uint8_t a[4];
	uint32_t want, ciaddr = dhcpd_get32(rq->hdr.ciaddr);
	bool mine;

	own = dhcpd_lease_by_id(&d->leases, rq->scope, rq->id, rq->id_len);
	if (nap_dhcp_server_id(d->pkt, a)) {
		if (dhcpd_get32(a) != rq->server_id) {
			/* It chose another server: our offer goes back to the pool. */
			if (own != NULL && own->state == DHCPD_LEASE_OFFERED)
				dhcpd_lease_unoffer(&d->leases, own);
			dhcpd_drop(d, DHCPD_DROP_OTHER_SERVER);
			return;
		}
		st = DHCPD_REQ_SELECTING;
		if (nap_dhcp_requested_ip(d->pkt, a))
			want = dhcpd_get32(a);
		else
			want = ciaddr;
	} else if (nap_dhcp_requested_ip(d->pkt, a) && ciaddr == 0) {
		st = DHCPD_REQ_INIT_REBOOT;
		want = dhcpd_get32(a);
	} else if (ciaddr != 0) {
		st = rq->rx.dst == 0xffffffffu || dhcpd_get32(rq->hdr.giaddr) != 0 ?
			     DHCPD_REQ_REBINDING : DHCPD_REQ_RENEWING;
		want = ciaddr;
	} else {
		dhcpd_drop(d, DHCPD_DROP_MALFORMED);
		LOG_WARNX_RL("DHCPREQUEST from %02x:%02x:%02x:%02x:%02x:%02x names no address",
			     rq->hdr.chaddr[0], rq->hdr.chaddr[1], rq->hdr.chaddr[2],
			     rq->hdr.chaddr[3], rq->hdr.chaddr[4], rq->hdr.chaddr[5]);
		return;
	}
	rq->addr = want;
	if (d->verbose > 1)
		log_debug("DHCPREQUEST in %s", dhcpd_req_state_names[st]);
	if (want == 0 || (want & s->mask) != s->net) {
		dhcpd_nak(d, rq, "wrong network");
		return;
	}
	if (res != NULL && res->addr != want) {
		dhcpd_nak(d, rq, "address reserved elsewhere for this client");
		return;
	}
	l = dhcpd_lease_by_addr(&d->leases, want);
	if (l == NULL || l->scope != rq->scope) {
		if (st == DHCPD_REQ_SELECTING || st == DHCPD_REQ_RENEWING || own != NULL)
			dhcpd_nak(d, rq, "address not in any pool");
		else
			d->m.silent++;
		return;
	}
	if (!dhcpd_may_use(d, rq, l)) {
		dhcpd_nak(d, rq, "address not available");
		return;
	}
	mine = dhcpd_lease_owned_by(l, rq->id, rq->id_len) ||
	       (l->reserved && res != NULL);
	if (!mine) {
		switch (st) {
		case DHCPD_REQ_SELECTING:
		case DHCPD_REQ_RENEWING:
			break; /* a free address the client names: it can have it */
		case DHCPD_REQ_INIT_REBOOT:
		case DHCPD_REQ_REBINDING:
			if (own != NULL && own != l) {
				dhcpd_nak(d, rq, "client known at another address");
				return;
			}
			/* No record of this client: another server may own it (RFC 2131). */
			d->m.silent++;
			return;
		}
	}
	dhcpd_grant(d, rq, l);
}

static void
dhcpd_decline(struct dhcpd *d, struct dhcpd_req *rq)
{
	uint8_t a[4];
	struct dhcpd_lease *l;
	char ip[16];

	if (nap_dhcp_server_id(d->pkt, a) && dhcpd_get32(a) != rq->server_id) {
		dhcpd_drop(d, DHCPD_DROP_OTHER_SERVER);
		return;
	}
	if (!nap_dhcp_requested_ip(d->pkt, a)) {
		dhcpd_drop(d, DHCPD_DROP_MALFORMED);
		return;
	}
	l = dhcpd_lease_by_addr(&d->leases, dhcpd_get32(a));
	if (l == NULL || l->scope != rq->scope || !dhcpd_lease_owned_by(l, rq->id, rq->id_len) ||
	    (l->state != DHCPD_LEASE_BOUND && l->state != DHCPD_LEASE_OFFERED)) {
		d->m.silent++;
		return;
	}
	dhcpd_ip_format(l->addr, ip, sizeof(ip));
	log_info("DHCPDECLINE: %s is in use on the network; out of the pool for %" PRIu32 "s",
		 ip, d->conf->decline_time);
	d->m.declines++;
	if (dhcpd_lease_decline(&d->leases, l, d->now + d->conf->decline_time) < 0)
		dhcpd_drop(d, DHCPD_DROP_JOURNAL);
}

static void
dhcpd_release(struct dhcpd *d, struct dhcpd_req *rq)
{
	uint8_t a[4];
	struct dhcpd_lease *l;

	if (nap_dhcp_server_id(d->pkt, a) && dhcpd_get32(a) != rq->server_id) {
		dhcpd_drop(d, DHCPD_DROP_OTHER_SERVER);
		return;
	}
	l = dhcpd_lease_by_addr(&d->leases, dhcpd_get32(rq->hdr.ciaddr));
	if (l == NULL || l->scope != rq->scope || l->state != DHCPD_LEASE_BOUND ||
	    !dhcpd_lease_owned_by(l, rq->id, rq->id_len)) {
		d->m.silent++;
		return;
	}
	d->m.releases++;
	if (dhcpd_lease_release(&d->leases, l) < 0)
		dhcpd_drop(d, DHCPD_DROP_JOURNAL);
}

static void
dhcpd_inform(struct dhcpd *d, struct dhcpd_req *rq)
{
	const struct dhcpd_scope *s = &d->conf->scopes[rq->scope];
	struct dhcpd_reply rp = {.type = NAP_DHCPACK};
	enum dhcpd_nap_decision dec;

	if (dhcpd_get32(rq->hdr.ciaddr) == 0) {
		dhcpd_drop(d, DHCPD_DROP_MALFORMED);
		return;
	}
	d->m.informs++;
	dec = dhcpd_nap_classify(&s->nap, d->pkt, d->napp);
	if (d->nap != NULL)
		dhcpd_nap_count_decision(d->nap, dec);
	if (dec == DHCPD_NAP_MARKER) {
		rp.marker = true;
		rp.cn = d->napp;
	}
	dhcpd_reply(d, rq, &rp);
}

/* ---- the entry point ---- */

static int
dhcpd_pick_scope(const struct dhcpd *d, const struct dhcpd_rx *rx, uint32_t giaddr,
		 uint32_t ciaddr)
{
	const struct dhcpd_config *c = d->conf;
	const struct dhcpd_scope *s;

	if (giaddr != 0) {
		s = dhcpd_scope_for(c, giaddr);
		return s != NULL ? (int)(s - c->scopes) : -1;
	}
	if (rx->scope >= 0)
		return rx->scope;
	if (ciaddr != 0 && (s = dhcpd_scope_for(c, ciaddr)) != NULL)
		return (int)(s - c->scopes);
	if (rx->local != 0 && (s = dhcpd_scope_for(c, rx->local)) != NULL)
		return (int)(s - c->scopes);
	return c->n_scopes == 1 ? 0 : -1;
}

void
dhcpd_handle(struct dhcpd *d, const uint8_t *p, size_t len, const struct dhcpd_rx *rx)
{
	struct nap_dhcp_packet *pkt = d->pkt;
	struct nap_err err = {0};
	struct nap_cbs v;
	struct dhcpd_req *rq;
	uint16_t u16;
	uint32_t u32;
	int type, r, scope;
	static struct dhcpd_req req; /* one thread; keeps 1.3 KiB off the stack */

	r = nap_dhcp_decode(p, len, pkt, &err);
	if (r < 0) {
		d->m.rx[0]++;
		dhcpd_drop(d, DHCPD_DROP_MALFORMED);
		LOG_WARNX_RL("bad DHCP packet (%zu bytes): %s at offset %zu", len,
			     err.what != NULL ? err.what : strerror(-r), err.offset);
		return;
	}
	if (pkt->hdr.op != NAP_DHCP_BOOTREQUEST) {
		d->m.rx[0]++;
		dhcpd_drop(d, DHCPD_DROP_NOT_REQUEST);
		return;
	}
	type = nap_dhcp_message_type(pkt);
	d->m.rx[type >= 1 && type <= 8 ? type : 0]++;
	if (pkt->hdr.hlen == 0 || pkt->hdr.hlen > NAP_DHCP_CHADDR_LEN) {
		dhcpd_drop(d, DHCPD_DROP_MALFORMED);
		LOG_WARNX_RL("DHCP packet with hardware address length %u", pkt->hdr.hlen);
		return;
	}
	switch (type) {
	case NAP_DHCPDISCOVER:
	case NAP_DHCPREQUEST:
	case NAP_DHCPDECLINE:
	case NAP_DHCPRELEASE:
	case NAP_DHCPINFORM:
		break;
	default:
		dhcpd_drop(d, DHCPD_DROP_BAD_TYPE);
		LOG_WARNX_RL("DHCP message type %d from a client: dropped", type);
		return;
	}
	rq = &req;
	memset(rq, 0, sizeof(*rq));
	rq->hdr = pkt->hdr;
	rq->type = type;
	rq->rx = *rx;
	if (nap_dhcp_get_bytes(pkt, NAP_DHCP_OPT_CLIENT_ID, &v)) {
		if (v.len < 2 || v.len > DHCPD_ID_MAX) {
			dhcpd_drop(d, DHCPD_DROP_BAD_CLIENT_ID);
			LOG_WARNX_RL("client identifier of %zu bytes: dropped", v.len);
			return;
		}
		memcpy(rq->id, v.data, v.len);
		rq->id_len = (uint8_t)v.len;
	} else {
		rq->id[0] = pkt->hdr.htype;
		memcpy(rq->id + 1, pkt->hdr.chaddr, pkt->hdr.hlen);
		rq->id_len = (uint8_t)(1 + pkt->hdr.hlen);
	}
	scope = dhcpd_pick_scope(d, rx, dhcpd_get32(pkt->hdr.giaddr), dhcpd_get32(pkt->hdr.ciaddr));
	if (scope < 0) {
		dhcpd_drop(d, DHCPD_DROP_NO_SCOPE);
		LOG_WARNX_RL("%s from %02x:%02x:%02x:%02x:%02x:%02x: no scope for it",
			     nap_dhcp_message_type_name(type), pkt->hdr.chaddr[0],
			     pkt->hdr.chaddr[1], pkt->hdr.chaddr[2], pkt->hdr.chaddr[3],
			     pkt->hdr.chaddr[4], pkt->hdr.chaddr[5]);
		return;
	}
	rq->scope = (uint16_t)scope;
	rq->server_id = dhcpd_server_id(d, &d->conf->scopes[scope], rx);
	if (rq->server_id == 0) {
		dhcpd_drop(d, DHCPD_DROP_NO_SCOPE);
		LOG_WARNX_RL("[scope %s]: no server identifier (set server_id)",
			     d->conf->scopes[scope].name);
		return;
	}
	if (nap_dhcp_get_bytes(pkt, NAP_DHCP_OPT_PARAM_LIST, &v)) {
		rq->has_prl = true;
		rq->prl_len = (uint16_t)(v.len > sizeof(rq->prl) ? sizeof(rq->prl) : v.len);
		memcpy(rq->prl, v.data, rq->prl_len);
	}
	if (nap_dhcp_get_bytes(pkt, NAP_DHCP_OPT_RELAY_AGENT, &v)) {
		if (v.len > DHCPD_RELAY_MAX) {
			dhcpd_drop(d, DHCPD_DROP_MALFORMED);
			LOG_WARNX_RL("relay agent information of %zu bytes: dropped", v.len);
			return;
		}
		rq->has_relay = true;
		rq->relay_len = (uint16_t)v.len;
		memcpy(rq->relay, v.data, v.len);
	}
	/*
	 * Option 57 counts the IP and UDP headers (RFC 2131 §2, 576 = the IP datagram). Without
	 * it, a client that sent a message over 576 bytes itself (dhclient with an SoH in option
	 * 43 sends no option 57) sits on a link with a larger MTU and reads whole frames: it gets
	 * up to an Ethernet frame's worth.
	 */
	rq->max_size = NAP_DHCP_DEFAULT_MAX - 28;
	if (nap_dhcp_get_u16(pkt, NAP_DHCP_OPT_MAX_MSG_SIZE, &u16)) {
		if (u16 >= NAP_DHCP_DEFAULT_MAX)
			rq->max_size = (size_t)u16 - 28;
	} else if (len > rq->max_size) {
		rq->max_size = DHCPD_OUT_MAX;
	}
	if (rq->max_size > DHCPD_OUT_MAX)
		rq->max_size = DHCPD_OUT_MAX;
	if (nap_dhcp_lease_time(pkt, &u32))
		rq->req_lease = u32;
	r = nap_dhcp_nap_parse(pkt, d->napp, &err);
	if (r < 0) {
		LOG_WARNX_RL("%s from %02x:%02x:%02x:%02x:%02x:%02x: bad NAP sub-options (%s at "
			     "offset %zu): treated as none", nap_dhcp_message_type_name(type),
			     pkt->hdr.chaddr[0], pkt->hdr.chaddr[1], pkt->hdr.chaddr[2],
			     pkt->hdr.chaddr[3], pkt->hdr.chaddr[4], pkt->hdr.chaddr[5],
			     err.what != NULL ? err.what : "?", err.offset);
		memset(d->napp, 0, offsetof(struct nap_dhcp_nap, soh_buf));
	}
	rq->nap_present = d->napp->present;
	if (d->napp->has_coid) {
		rq->has_coid = true;
		memcpy(rq->coid, d->napp->coid, sizeof(rq->coid));
	}
	switch (type) {
	case NAP_DHCPDISCOVER:
		dhcpd_discover(d, rq);
		break;
	case NAP_DHCPREQUEST:
		dhcpd_request(d, rq);
		break;
	case NAP_DHCPDECLINE:
		dhcpd_decline(d, rq);
		break;
	case NAP_DHCPRELEASE:
		dhcpd_release(d, rq);
		break;
	case NAP_DHCPINFORM:
		dhcpd_inform(d, rq);
		break;
	}
}

static void
dhcpd_send_all(struct dhcpd *d, const struct dhcpd_out *o, size_t n, int result)
{
	for (size_t i = 0; i < n; i++) {
		if (result < 0)
			dhcpd_drop(d, DHCPD_DROP_JOURNAL);
		else if (d->send != NULL)
			d->send(d, &o[i]);
	}
}

static void
dhcpd_journal_failed(int r, size_t n)
{
	LOG_WARNX_RL("journal: %s: %zu ACK(s) not sent", strerror(-r), n);
}

void
dhcpd_commit_and_flush(struct dhcpd *d)
{
	int r;

	if (dhcpd_leases_sync_busy(&d->leases)) {
		r = dhcpd_leases_sync_wait(&d->leases, d->now);
		if (r < 0)
			dhcpd_journal_failed(r, d->n_fly);
		dhcpd_send_all(d, d->held_fly, d->n_fly, r < 0 ? r : 0);
		d->n_fly = 0;
	}
	r = dhcpd_leases_dirty(&d->leases) ? dhcpd_leases_commit(&d->leases, d->now) : 0;
	if (r < 0)
		dhcpd_journal_failed(r, d->n_next);
	dhcpd_send_all(d, d->held_next, d->n_next, r < 0 ? r : 0);
	d->n_next = 0;
	if (r < 0) {
		size_t k = 0;

		for (size_t i = 0; i < d->n_out; i++) {
			if (d->outq[i].needs_commit) {
				dhcpd_drop(d, DHCPD_DROP_JOURNAL);
				continue;
			}
			if (k != i)
				d->outq[k] = d->outq[i];
			k++;
		}
		d->n_out = k;
	}
	if (d->send != NULL) {
		dhcpd_send_all(d, d->outq, d->n_out, 0);
		d->n_out = 0;
	}
}

int
dhcpd_async_start(struct dhcpd *d)
{
	int r;

	d->held_next = malloc(DHCPD_HELD_MAX * sizeof(*d->held_next));
	d->held_fly = malloc(DHCPD_HELD_MAX * sizeof(*d->held_fly));
	if (d->held_next == NULL || d->held_fly == NULL)
		return -ENOMEM;
	if ((r = dhcpd_leases_sync_start(&d->leases)) < 0)
		return r;
	d->async = true;
	return 0;
}

bool
dhcpd_can_read(const struct dhcpd *d)
{
	return !d->async || d->n_next + d->n_out + DHCPD_RX_BATCH <= DHCPD_HELD_MAX;
}

void
dhcpd_turn_end(struct dhcpd *d)
{
	if (!d->async) {
		dhcpd_commit_and_flush(d);
		return;
	}
	/* OFFERs, NAKs, INFORM ACKs go now; ACKs join the next batch. */
	for (size_t i = 0; i < d->n_out; i++) {
		const struct dhcpd_out *o = &d->outq[i];

		if (!o->needs_commit) {
			if (d->send != NULL)
				d->send(d, o);
		} else if (d->n_next < DHCPD_HELD_MAX) {
			memcpy(&d->held_next[d->n_next++], o, offsetof(struct dhcpd_out, buf) + o->len);
		} else {
			dhcpd_drop(d, DHCPD_DROP_QUEUE_FULL);
		}
	}
	d->n_out = 0;
	if (dhcpd_leases_sync_busy(&d->leases))
		return;
	if (dhcpd_leases_sync_submit(&d->leases) == 1) {
		struct dhcpd_out *t = d->held_fly;

		d->held_fly = d->held_next;
		d->n_fly = d->n_next;
		d->held_next = t;
		d->n_next = 0;
	} else if (!dhcpd_leases_dirty(&d->leases) && d->n_next > 0) {
		/* A snapshot took their records along: durable already. */
		dhcpd_send_all(d, d->held_next, d->n_next, 0);
		d->n_next = 0;
	}
}

void
dhcpd_sync_done(struct dhcpd *d)
{
	int result = 0;

	if (dhcpd_leases_sync_collect(&d->leases, &result, d->now) == 1) {
		if (result < 0)
			dhcpd_journal_failed(result, d->n_fly);
		dhcpd_send_all(d, d->held_fly, d->n_fly, result);
		d->n_fly = 0;
	}
	dhcpd_turn_end(d);
}

void
dhcpd_tick(struct dhcpd *d)
{
	size_t budget = d->leases.n / 30 + 1024;

	dhcpd_leases_sweep(&d->leases, budget, d->now, d->now_ms);
}
