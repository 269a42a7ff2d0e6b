// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Non-blocking RADIUS client for enforcement points (include/nap/radclient.h). Handles
 * untrusted input: every datagram that arrives on its sockets.
 *
 * Bookkeeping: every request in flight owns one (socket, id) slot and sits in one list sorted by
 * its next deadline. All attempts use the same timeout and the caller's clock never goes back,
 * so "append at the tail on every send" keeps the list sorted: the timers only look at the head.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "nap/log.h"
#include "nap/radclient.h"
#include "nap/util.h"

#define RC_DEFAULT_TIMEOUT  1000
#define RC_DEFAULT_HOLDDOWN 30000
#define RC_DEFAULT_MAX      4096
#define RC_READ_BUDGET      256 /* datagrams per socket per call, so timers are not starved */
#define RC_READ_VLEN        8   /* datagrams per recvmmsg */

struct rc_req {
	struct rc_req *prev, *next; /* deadline list */
	uint64_t handle;
	nap_radclient_cb *cb;
	void *arg;
	int sock; /* index into the socket table, -1 when no slot */
	uint8_t id;
	uint8_t code;
	bool pinned;   /* Status-Server: this server only */
	size_t server; /* current server */
	uint32_t tried; /* bitmask of servers tried */
	unsigned sends_here, attempts, failovers;
	int64_t started, deadline;
	uint8_t auth[NAP_RADIUS_AUTH_LEN];
	uint16_t n_attrs;
	size_t attrs_len;
	uint8_t attrs[]; /* attribute bytes after the header, without Message-Authenticator */
};

struct rc_sock {
	int fd;
	int family;
	unsigned used;
	uint8_t next_id;
	struct rc_req *ids[256];
};

struct rc_server {
	struct nap_radclient_server conf;
	struct nap_radclient_server_stats st;
};

struct nap_radclient {
	uint32_t timeout_ms, retries, holddown_ms;
	size_t max_outstanding;
	size_t n_servers;
	struct rc_server servers[NAP_RADCLIENT_MAX_SERVERS];
	size_t n_socks;
	struct rc_sock socks[2 * NAP_RADCLIENT_MAX_SOCKETS];
	struct rc_req *head, *tail;
	uint64_t next_handle;
	struct nap_radclient_stats st;
	/* Request Authenticators come from here: one DRBG call per 32 of them (each RAND_bytes
	 * costs a getpid() for OpenSSL's fork check, a syscall per request otherwise). Filled
	 * on first use, so never before a daemon's fork. */
	uint8_t rnd[32 * NAP_RADIUS_AUTH_LEN];
	size_t rnd_left;
	/* scratch */
	struct nap_radius_builder b;
	struct nap_radius_packet pkt;
	uint8_t rbuf[RC_READ_VLEN][NAP_RADIUS_MAX_LEN];
	bool reading; /* rbuf holds datagrams not yet handled: a callback's read waits */
};

int
nap_radclient_server_parse(struct nap_radclient_server *s, const char *hostport,
			   const struct nap_radius_secret *secret)
{
	struct addrinfo *res;
	int r;

	memset(s, 0, sizeof(*s));
	if ((r = nap_resolve_udp(hostport, &res)) < 0)
		return r;
	if (res->ai_addrlen > sizeof(s->addr)) {
		freeaddrinfo(res);
		return -EINVAL;
	}
	memcpy(&s->addr, res->ai_addr, res->ai_addrlen);
	s->addr_len = res->ai_addrlen;
	freeaddrinfo(res);
	snprintf(s->name, sizeof(s->name), "%s", hostport);
	s->secret = secret;
	return 0;
}

static bool
rc_addr_equal(const struct sockaddr_storage *a, socklen_t alen, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const struct sockaddr_in *)a;
		const struct sockaddr_in *y = (const struct sockaddr_in *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
		const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)b;

		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	(void)alen;
	return false;
}

int
nap_radclient_new(const struct nap_radclient_config *conf, struct nap_radclient **out)
{
	struct nap_radclient *rc;

	*out = NULL;
	if (conf->n_servers == 0 || conf->n_servers > NAP_RADCLIENT_MAX_SERVERS)
		return -EINVAL;
	for (size_t i = 0; i < conf->n_servers; i++) {
		int f = conf->servers[i].addr.ss_family;

		if ((f != AF_INET && f != AF_INET6) || conf->servers[i].secret == NULL)
			return -EINVAL;
	}
	rc = calloc(1, sizeof(*rc));
	if (rc == NULL)
		return -ENOMEM;
	rc->timeout_ms = conf->timeout_ms != 0 ? conf->timeout_ms : RC_DEFAULT_TIMEOUT;
	rc->retries = conf->retries;
	rc->holddown_ms = conf->holddown_ms != 0 ? conf->holddown_ms : RC_DEFAULT_HOLDDOWN;
	rc->max_outstanding = conf->max_outstanding != 0 ? conf->max_outstanding : RC_DEFAULT_MAX;
	rc->n_servers = conf->n_servers;
	for (size_t i = 0; i < conf->n_servers; i++)
		rc->servers[i].conf = conf->servers[i];
	rc->next_handle = 1;
	*out = rc;
	return 0;
}

/* ---- deadline list ---- */

static void
rc_unlink(struct nap_radclient *rc, struct rc_req *q)
{
	if (q->prev != NULL)
		q->prev->next = q->next;
	else
		rc->head = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	else
		rc->tail = q->prev;
	q->prev = q->next = NULL;
}

static void
rc_append(struct nap_radclient *rc, struct rc_req *q)
{
	q->next = NULL;
	q->prev = rc->tail;
	if (rc->tail != NULL)
		rc->tail->next = q;
	else
		rc->head = q;
	rc->tail = q;
}

/* ---- sockets and ids ---- */

static int
rc_sock_open(struct nap_radclient *rc, int family)
{
	struct rc_sock *s;
	int fd;

	if (rc->n_socks >= NAP_ARRAY_SIZE(rc->socks))
		return -ENOBUFS;
	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* An unbound UDP socket gets an ephemeral port on its first sendto(). */
	s = &rc->socks[rc->n_socks];
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->family = family;
	RAND_bytes(&s->next_id, 1);
	return (int)rc->n_socks++;
}

static size_t
rc_family_socks(const struct nap_radclient *rc, int family)
{
	size_t n = 0;

	for (size_t i = 0; i < rc->n_socks; i++)
		n += rc->socks[i].family == family;
	return n;
}

/* Give q a free (socket, id) of the server's family. */
static int
rc_slot_take(struct nap_radclient *rc, struct rc_req *q, int family)
{
	struct rc_sock *s;
	int si = -1;

	for (size_t i = 0; i < rc->n_socks; i++) {
		if (rc->socks[i].family == family && rc->socks[i].used < 256) {
			si = (int)i;
			break;
		}
	}
	if (si < 0) {
		if (rc_family_socks(rc, family) >= NAP_RADCLIENT_MAX_SOCKETS)
			return -ENOBUFS;
		if ((si = rc_sock_open(rc, family)) < 0)
			return si;
	}
	s = &rc->socks[si];
	/* Round robin through the id space: a late reply to a finished request is less likely
	 * to find a new request under the same id. */
	for (unsigned k = 0; k < 256; k++) {
		uint8_t id = (uint8_t)(s->next_id + k);

		if (s->ids[id] == NULL) {
			s->ids[id] = q;
			s->used++;
			s->next_id = (uint8_t)(id + 1);
			q->sock = si;
			q->id = id;
			return 0;
		}
	}
	return -ENOBUFS; /* not reached: used < 256 */
}

static void
rc_slot_release(struct nap_radclient *rc, struct rc_req *q)
{
	if (q->sock < 0)
		return;
	rc->socks[q->sock].ids[q->id] = NULL;
	rc->socks[q->sock].used--;
	q->sock = -1;
}

/* ---- sending ---- */

static int
rc_send(struct nap_radclient *rc, struct rc_req *q, int64_t now)
{
	struct rc_server *sv = &rc->servers[q->server];
	struct nap_radius_builder *b = &rc->b;
	const uint8_t *p;
	size_t n;
	int r;

	if (q->sock < 0 || rc->socks[q->sock].family != sv->conf.addr.ss_family) {
		rc_slot_release(rc, q);
		if ((r = rc_slot_take(rc, q, sv->conf.addr.ss_family)) < 0)
			return r;
	}
	nap_radius_build_init(b, q->code, q->id, q->auth);
	nap_radius_add_message_authenticator(b);
	if (!nap_cbb_add_bytes(&b->cbb, q->attrs, q->attrs_len))
		return -EMSGSIZE;
	b->n_attrs += q->n_attrs;
	if ((r = nap_radius_finish_request_s(b, sv->conf.secret, &p, &n)) < 0)
		return r;
	q->attempts++;
	q->sends_here++;
	q->deadline = now + rc->timeout_ms;
	rc_unlink(rc, q);
	rc_append(rc, q);
	if (q->sends_here > 1) {
		sv->st.retransmits++;
		rc->st.retransmits++;
	}
	sv->st.sent++;
	if (sendto(rc->socks[q->sock].fd, p, n, 0, (const struct sockaddr *)&sv->conf.addr,
		   sv->conf.addr_len) < 0) {
		/* Treated like a lost datagram: the timer retries or fails over. */
		rc->st.send_errors++;
		LOG_WARNX_RL("radclient: send to %s: %s", sv->conf.name, strerror(errno));
	}
	return 0;
}

static bool
rc_server_dead(const struct nap_radclient *rc, size_t i, int64_t now)
{
	return rc->servers[i].st.dead && rc->servers[i].st.dead_until > now;
}

/*
 * Next server for q: the first untried live one in order; for a fresh request with every
 * server held down, the one whose holddown ends first (someone has to find out it is back).
 * Returns -1 when there is none.
 */
static int
rc_next_server(const struct nap_radclient *rc, const struct rc_req *q, int64_t now)
{
	int best = -1;

	for (size_t i = 0; i < rc->n_servers; i++) {
		if (q->tried & (1u << i))
			continue;
		if (!rc_server_dead(rc, i, now))
			return (int)i;
		if (best < 0 || rc->servers[i].st.dead_until < rc->servers[best].st.dead_until)
			best = (int)i;
	}
	return q->tried == 0 ? best : -1;
}

static void
rc_new_auth(struct nap_radclient *rc, struct rc_req *q)
{
	if (rc->rnd_left < sizeof(q->auth)) {
		if (RAND_bytes(rc->rnd, sizeof(rc->rnd)) != 1) {
			/* RAND_bytes does not fail on Linux with a seeded DRBG; keep going. */
			for (size_t i = 0; i < sizeof(q->auth); i++)
				q->auth[i] = (uint8_t)random();
			return;
		}
		rc->rnd_left = sizeof(rc->rnd);
	}
	rc->rnd_left -= sizeof(q->auth);
	memcpy(q->auth, rc->rnd + rc->rnd_left, sizeof(q->auth));
	OPENSSL_cleanse(rc->rnd + rc->rnd_left, sizeof(q->auth)); /* used once, then gone */
}

static void
rc_finish(struct nap_radclient *rc, struct rc_req *q, enum nap_radclient_status status,
	  const struct nap_radius_packet *reply, int64_t now)
{
	struct nap_radclient_result res = {
		.status = status,
		.reply = reply,
		.server = q->server,
		.attempts = q->attempts,
		.failovers = q->failovers,
		.rtt_ms = now - q->started,
	};

	rc_unlink(rc, q);
	rc_slot_release(rc, q);
	rc->st.outstanding--;
	if (status == NAP_RADCLIENT_REPLY)
		rc->st.replies++;
	else if (status == NAP_RADCLIENT_TIMEOUT)
		rc->st.timeouts++;
	else
		rc->st.cancelled++;
	if (q->cb != NULL)
		q->cb(q->arg, &res);
	free(q);
}

/* Move q to its next server and send; false when there is none left. */
static bool
rc_failover(struct nap_radclient *rc, struct rc_req *q, int64_t now)
{
	int next;

	for (;;) {
		if (q->pinned || (next = rc_next_server(rc, q, now)) < 0)
			return false;
		if (q->tried != 0) {
			q->failovers++;
			rc->st.failovers++;
		}
		q->tried |= 1u << next;
		q->server = (size_t)next;
		q->sends_here = 0;
		rc_new_auth(rc, q); /* a new packet for a new server (RFC 5080 §2.2.1) */
		if (rc_send(rc, q, now) == 0)
			return true;
		/* No slot for that family or the packet does not build for it: try the next. */
		rc->st.send_errors++;
	}
}

static int
rc_start(struct nap_radclient *rc, uint8_t code, const uint8_t *attrs, size_t attrs_len,
	 uint16_t n_attrs, int pinned_server, int64_t now, nap_radclient_cb *cb, void *arg,
	 uint64_t *handle)
{
	struct rc_req *q;
	int r;

	if (rc->st.outstanding >= rc->max_outstanding)
		return -ENOBUFS;
	/* Room for the header and the Message-Authenticator. */
	if (NAP_RADIUS_HDR_LEN + 18 + attrs_len > NAP_RADIUS_MAX_LEN ||
	    n_attrs + 1 > NAP_RADIUS_MAX_ATTRS)
		return -EMSGSIZE;
	q = calloc(1, sizeof(*q) + attrs_len);
	if (q == NULL)
		return -ENOMEM;
	if (attrs_len != 0)
		memcpy(q->attrs, attrs, attrs_len);
	q->attrs_len = attrs_len;
	q->n_attrs = n_attrs;
	q->code = code;
	q->cb = cb;
	q->arg = arg;
	q->sock = -1;
	q->started = now;
	q->handle = rc->next_handle++;
	rc_append(rc, q);
	rc->st.outstanding++;
	rc->st.requests++;
	if (pinned_server >= 0) {
		q->pinned = true;
		q->tried = 1u << pinned_server;
		q->server = (size_t)pinned_server;
		rc_new_auth(rc, q);
		r = rc_send(rc, q, now);
	} else {
		q->pinned = false;
		r = rc_failover(rc, q, now) ? 0 : -ENOBUFS;
	}
	if (r < 0) {
		rc_unlink(rc, q);
		rc_slot_release(rc, q);
		rc->st.outstanding--;
		rc->st.requests--;
		free(q);
		return r;
	}
	if (handle != NULL)
		*handle = q->handle;
	return 0;
}

void
nap_radclient_attrs_init(struct nap_radius_builder *b, uint8_t code)
{
	static const uint8_t unused[NAP_RADIUS_AUTH_LEN]; /* the client stamps its own */

	nap_radius_build_init(b, code, 0, unused);
}

int
nap_radclient_request(struct nap_radclient *rc, const struct nap_radius_builder *attrs,
		      int64_t now_ms, nap_radclient_cb *cb, void *arg, uint64_t *handle)
{
	size_t len;

	if (attrs->error || attrs->cbb.error || attrs->msg_auth_at != 0)
		return -EINVAL;
	len = nap_cbb_len(&attrs->cbb);
	if (len < NAP_RADIUS_HDR_LEN)
		return -EINVAL;
	return rc_start(rc, attrs->buf[0], attrs->buf + NAP_RADIUS_HDR_LEN, len - NAP_RADIUS_HDR_LEN,
			attrs->n_attrs, -1, now_ms, cb, arg, handle);
}

int
nap_radclient_status_server(struct nap_radclient *rc, size_t server, int64_t now_ms,
			    nap_radclient_cb *cb, void *arg, uint64_t *handle)
{
	if (server >= rc->n_servers)
		return -EINVAL;
	return rc_start(rc, NAP_RADIUS_STATUS_SERVER, NULL, 0, 0, (int)server, now_ms, cb, arg,
			handle);
}

int
nap_radclient_cancel(struct nap_radclient *rc, uint64_t handle)
{
	for (struct rc_req *q = rc->head; q != NULL; q = q->next) {
		if (q->handle == handle) {
			rc_finish(rc, q, NAP_RADCLIENT_CANCELLED, NULL, q->started);
			return 0;
		}
	}
	return -ENOENT;
}

void
nap_radclient_free(struct nap_radclient *rc)
{
	if (rc == NULL)
		return;
	while (rc->head != NULL)
		rc_finish(rc, rc->head, NAP_RADCLIENT_CANCELLED, NULL, rc->head->started);
	for (size_t i = 0; i < rc->n_socks; i++)
		close(rc->socks[i].fd);
	free(rc);
}

/* ---- timers ---- */

void
nap_radclient_timers(struct nap_radclient *rc, int64_t now_ms)
{
	struct rc_req *q;

	while ((q = rc->head) != NULL && q->deadline <= now_ms) {
		struct rc_server *sv = &rc->servers[q->server];

		/* Retransmit unless the retries are used up or another request already found
		 * this server dead (then fail over at once). */
		if (q->sends_here <= rc->retries && !rc_server_dead(rc, q->server, now_ms)) {
			if (rc_send(rc, q, now_ms) == 0)
				continue;
		}
		if (!rc_server_dead(rc, q->server, now_ms)) {
			sv->st.dead = true;
			sv->st.dead_until = now_ms + rc->holddown_ms;
			LOG_WARNX_RL("radclient: %s did not answer %u attempt(s); held down for "
				     "%u ms",
				     sv->conf.name, q->sends_here, rc->holddown_ms);
		}
		sv->st.timeouts++;
		if (!rc_failover(rc, q, now_ms))
			rc_finish(rc, q, NAP_RADCLIENT_TIMEOUT, NULL, now_ms);
	}
}

int64_t
nap_radclient_next_deadline(const struct nap_radclient *rc)
{
	return rc->head != NULL ? rc->head->deadline : -1;
}

/* ---- receiving ---- */

static bool
rc_code_answers(uint8_t req_code, uint8_t code)
{
	if (req_code == NAP_RADIUS_STATUS_SERVER)
		return code == NAP_RADIUS_ACCESS_ACCEPT || code == NAP_RADIUS_ACCOUNTING_RESPONSE;
	if (req_code == NAP_RADIUS_ACCESS_REQUEST)
		return code == NAP_RADIUS_ACCESS_ACCEPT || code == NAP_RADIUS_ACCESS_REJECT ||
		       code == NAP_RADIUS_ACCESS_CHALLENGE;
	if (req_code == NAP_RADIUS_ACCOUNTING_REQUEST)
		return code == NAP_RADIUS_ACCOUNTING_RESPONSE;
	return false;
}

static void
rc_datagram(struct nap_radclient *rc, size_t si, const uint8_t *p, size_t n,
	    const struct sockaddr_storage *from, socklen_t from_len, int64_t now)
{
	struct nap_radius_packet *pkt = &rc->pkt;
	struct nap_err err = {0};
	struct rc_server *sv;
	struct rc_req *q;

	if (nap_radius_decode(p, n, pkt, &err) < 0) {
		rc->st.malformed++;
		LOG_WARNX_RL("radclient: malformed reply (%zu bytes): %s at offset %zu", n,
			     err.what != NULL ? err.what : "bad framing", err.offset);
		return;
	}
	q = rc->socks[si].ids[pkt->id];
	if (q == NULL) {
		rc->st.unexpected++;
		LOG_WARNX_RL("radclient: reply id %u matches no request (late or forged)", pkt->id);
		return;
	}
	sv = &rc->servers[q->server];
	if (!rc_addr_equal(from, from_len, &sv->conf.addr)) {
		rc->st.unexpected++;
		LOG_WARNX_RL("radclient: reply id %u not from %s, the server asked", pkt->id,
			     sv->conf.name);
		return;
	}
	if (!rc_code_answers(q->code, pkt->code)) {
		rc->st.unexpected++;
		LOG_WARNX_RL("radclient: %s from %s does not answer %s", nap_radius_code_name(pkt->code),
			     sv->conf.name, nap_radius_code_name(q->code));
		return;
	}
	/* We always send a Message-Authenticator, so the reply must carry one too. */
	if (pkt->msg_auth_offset == 0 ||
	    nap_radius_verify_response_s(pkt, q->auth, sv->conf.secret) < 0) {
		rc->st.bad_auth++;
		sv->st.bad_auth++;
		LOG_WARNX_RL("radclient: %s id %u from %s: %s (wrong secret?)",
			     nap_radius_code_name(pkt->code), pkt->id, sv->conf.name,
			     pkt->msg_auth_offset == 0 ? "no Message-Authenticator"
						       : "bad authenticator");
		return;
	}
	sv->st.replies++;
	if (sv->st.dead) {
		sv->st.dead = false;
		log_info("radclient: %s answers again", sv->conf.name);
	}
	rc_finish(rc, q, NAP_RADCLIENT_REPLY, pkt, now);
}

/*
 * Read what the socket holds, RC_READ_VLEN datagrams per recvmmsg; fewer than asked means the
 * queue is empty, so the usual single reply costs one syscall (no trailing EAGAIN read).
 */
static void
rc_read_sock(struct nap_radclient *rc, size_t si, int64_t now)
{
	if (rc->reading)
		return; /* from a callback: the read under way goes on with this socket too */
	rc->reading = true;
	for (int k = 0; k < RC_READ_BUDGET; k += RC_READ_VLEN) {
		struct mmsghdr mm[RC_READ_VLEN];
		struct iovec iov[RC_READ_VLEN];
		struct sockaddr_storage from[RC_READ_VLEN];
		int n;

		memset(mm, 0, sizeof(mm));
		for (int i = 0; i < RC_READ_VLEN; i++) {
			iov[i].iov_base = rc->rbuf[i];
			iov[i].iov_len = sizeof(rc->rbuf[i]);
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
			mm[i].msg_hdr.msg_name = &from[i];
			mm[i].msg_hdr.msg_namelen = sizeof(from[i]);
		}
		n = recvmmsg(rc->socks[si].fd, mm, RC_READ_VLEN, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNREFUSED)
				LOG_WARNX_RL("radclient: recv: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			if (mm[i].msg_hdr.msg_flags & MSG_TRUNC) {
				rc->st.malformed++;
				LOG_WARNX_RL("radclient: dropped a datagram over %d bytes",
					     NAP_RADIUS_MAX_LEN);
				continue;
			}
			rc_datagram(rc, si, rc->rbuf[i], mm[i].msg_len, &from[i],
				    mm[i].msg_hdr.msg_namelen, now);
		}
		if (n < RC_READ_VLEN)
			break;
	}
	rc->reading = false;
}

size_t
nap_radclient_pollfds(const struct nap_radclient *rc, struct pollfd *fds, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < rc->n_socks && n < cap; i++) {
		fds[n].fd = rc->socks[i].fd;
		fds[n].events = POLLIN;
		fds[n].revents = 0;
		n++;
	}
	return n;
}

void
nap_radclient_events(struct nap_radclient *rc, const struct pollfd *fds, size_t n, int64_t now_ms)
{
	for (size_t i = 0; i < n; i++) {
		if ((fds[i].revents & (POLLIN | POLLERR)) == 0)
			continue;
		for (size_t s = 0; s < rc->n_socks; s++) {
			if (rc->socks[s].fd == fds[i].fd) {
				rc_read_sock(rc, s, now_ms);
				break;
			}
		}
	}
}

void
nap_radclient_read_all(struct nap_radclient *rc, int64_t now_ms)
{
	for (size_t s = 0; s < rc->n_socks; s++)
		rc_read_sock(rc, s, now_ms);
}

void
nap_radclient_get_stats(const struct nap_radclient *rc, struct nap_radclient_stats *st)
{
	*st = rc->st;
	st->sockets = rc->n_socks;
	st->n_servers = rc->n_servers;
	for (size_t i = 0; i < rc->n_servers; i++)
		st->servers[i] = rc->servers[i].st;
}
