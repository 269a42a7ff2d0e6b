// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * napvd's RADIUS front end: the UDP sockets, the batch loop (recvmmsg, decisions, one spool
 * write, sendmmsg), the replies held for their fdatasync in spool_sync = reply mode, and the
 * per-datagram request path (client lookup by source address, framing, code,
 * Message-Authenticator, duplicate cache, then Status-Server or the engine). Handles untrusted
 * input: every datagram from the network.
 *
 * Nothing is answered before it is authenticated: unknown sources, malformed packets, missing
 * or wrong Message-Authenticators and unsupported codes are counted, logged rate-limited and
 * dropped.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "nap/log.h"
#include "nap/util.h"
#include "napvd.h"

#define NAPVD_RCVBUF   (4 * 1024 * 1024)
#define NAPVD_CMSG_LEN 128
#define NAPVD_HELD_MAX (4 * NAPVD_BATCH) /* replies waiting for their fdatasync */

struct napvd_batch {
	struct mmsghdr in[NAPVD_BATCH];
	struct mmsghdr out[NAPVD_BATCH];
	struct iovec in_iov[NAPVD_BATCH], out_iov[NAPVD_BATCH];
	struct sockaddr_storage from[NAPVD_BATCH];
	uint8_t in_cmsg[NAPVD_BATCH][NAPVD_CMSG_LEN];
	uint8_t out_cmsg[NAPVD_BATCH][NAPVD_CMSG_LEN];
	uint8_t in_buf[NAPVD_BATCH][NAP_RADIUS_MAX_LEN];
	uint8_t out_buf[NAPVD_BATCH][NAP_RADIUS_MAX_LEN];
	size_t out_src[NAPVD_BATCH]; /* which received datagram each reply answers */
};

/* A reply held until the spool's durable record count reaches its tag (spool_sync = reply). */
struct napvd_held {
	int fd;
	uint64_t tag;
	struct sockaddr_storage to;
	socklen_t to_len;
	size_t cmsg_len, len;
	uint8_t cmsg[NAPVD_CMSG_LEN];
	uint8_t buf[NAP_RADIUS_MAX_LEN];
};

struct napvd_held_queue {
	size_t head, count; /* ring */
	struct napvd_held e[NAPVD_HELD_MAX];
	struct mmsghdr mm[NAPVD_BATCH];
	struct iovec iov[NAPVD_BATCH];
};

static enum napvd_disposition
napvd_drop(struct napvd *d, enum napvd_drop why)
{
	d->m.drops[why]++;
	return NAPVD_DROP;
}

static int
napvd_status_server_reply(const struct nap_radius_packet *req, const struct napvd_client *cl,
			  struct nap_radius_builder *rb, uint8_t *out, size_t *out_len)
{
	const uint8_t *p;
	size_t n;
	int r;

	/* RFC 5997 §3: an Access-Accept with a Message-Authenticator says "alive". */
	nap_radius_build_init(rb, NAP_RADIUS_ACCESS_ACCEPT, req->id, req->authenticator);
	if ((r = nap_radius_add_message_authenticator(rb)) < 0)
		return r;
	if ((r = nap_radius_finish_response_s(rb, req->authenticator, cl->keyed, &p, &n)) < 0)
		return r;
	memcpy(out, p, n);
	*out_len = n;
	return 0;
}

/* Scratch for the request path that is not the engine's: the decoded request and a builder. */
struct napvd_front_scratch {
	struct nap_radius_packet req;
	struct nap_radius_builder rb;
};
static struct napvd_front_scratch napvd_front;

enum napvd_disposition
napvd_request(struct napvd *d, const struct sockaddr *from, const uint8_t *pkt, size_t len,
	      uint8_t *out, size_t *out_len)
{
	struct nap_radius_packet *req = &napvd_front.req;
	const struct napvd_client *cl;
	struct napvd_dup_key key;
	struct nap_err err = {0};
	const uint8_t *cached;
	char addr[INET6_ADDRSTRLEN + 8];
	int64_t now_ms;
	size_t n;
	int r;

	cl = napvd_client_lookup(d->conf, from);
	if (cl == NULL) {
		napvd_sockaddr_format(from, addr, sizeof(addr), true);
		LOG_WARNX_RL("radius: dropped %zu bytes from unknown client %s", len, addr);
		return napvd_drop(d, NAPVD_DROP_UNKNOWN_CLIENT);
	}
	r = nap_radius_decode(pkt, len, req, &err);
	if (r < 0) {
		char esc[4 * 24 + 1];

		napvd_sockaddr_format(from, addr, sizeof(addr), true);
		nap_escape(pkt, len < 24 ? len : 24, esc, sizeof(esc));
		LOG_WARNX_RL("radius: malformed packet from %s (client %s): %s at offset %zu; "
			     "starts \"%s\"",
			     addr, cl->name, err.what != NULL ? err.what : "bad framing", err.offset,
			     esc);
		return napvd_drop(d, NAPVD_DROP_MALFORMED);
	}
	d->m.requests[req->code]++;
	if (req->code != NAP_RADIUS_ACCESS_REQUEST && req->code != NAP_RADIUS_STATUS_SERVER) {
		napvd_sockaddr_format(from, addr, sizeof(addr), true);
		LOG_WARNX_RL("radius: dropped %s (code %u) from %s (client %s): not served",
			     nap_radius_code_name(req->code), req->code, addr, cl->name);
		return napvd_drop(d, NAPVD_DROP_UNSUPPORTED_CODE);
	}
	r = nap_radius_verify_request_s(req, cl->keyed, true);
	if (r < 0) {
		napvd_sockaddr_format(from, addr, sizeof(addr), true);
		if (r == -ENOMSG) {
			LOG_WARNX_RL("radius: dropped %s id %u from %s (client %s): no "
				     "Message-Authenticator",
				     nap_radius_code_name(req->code), req->id, addr, cl->name);
			return napvd_drop(d, NAPVD_DROP_NO_MSG_AUTH);
		}
		LOG_WARNX_RL("radius: dropped %s id %u from %s (client %s): bad authenticator "
			     "(wrong secret?)",
			     nap_radius_code_name(req->code), req->id, addr, cl->name);
		return napvd_drop(d, NAPVD_DROP_BAD_AUTH);
	}
	if (req->code == NAP_RADIUS_STATUS_SERVER) {
		/* Not cached: RFC 5997 answers every Status-Server afresh. */
		if (napvd_status_server_reply(req, cl, &napvd_front.rb, out, out_len) < 0)
			return napvd_drop(d, NAPVD_DROP_INTERNAL);
		return NAPVD_REPLY;
	}
	now_ms = napvd_mono_ms(&d->clock);
	napvd_dup_key_make(&key, from, req->id, req->authenticator);
	cached = napvd_dup_lookup(&d->dup, &key, now_ms, &n);
	if (cached != NULL) {
		d->m.duplicates++;
		memcpy(out, cached, n);
		*out_len = n;
		return NAPVD_REPLY;
	}
	napvd_sockaddr_format(from, addr, sizeof(addr), false);
	r = napvd_engine_access_request(d, cl, addr, req, out, out_len);
	if (r < 0) {
		LOG_WARNX_RL("radius: internal error answering id %u from %s: %s", req->id, addr,
			     strerror(-r));
		return napvd_drop(d, NAPVD_DROP_INTERNAL);
	}
	if (d->dup.max_entries != 0)
		napvd_dup_insert(&d->dup, &key, now_ms, out, *out_len);
	return NAPVD_REPLY;
}

/* ---- sockets ---- */

static bool
napvd_is_wildcard(const struct napvd_sockaddr *a)
{
	if (a->ss.ss_family == AF_INET)
		return ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr);
}

/*
 * Copy the request's destination (IP_PKTINFO / IPV6_PKTINFO) into the reply's control data, so
 * a wildcard socket answers from the address the NAS sent to.
 */
static size_t
napvd_reply_cmsg(const struct msghdr *in, uint8_t *out, size_t cap)
{
	struct msghdr m = {.msg_control = out, .msg_controllen = cap};
	struct cmsghdr *o = CMSG_FIRSTHDR(&m);

	for (struct cmsghdr *c = CMSG_FIRSTHDR(in); c != NULL;
	     c = CMSG_NXTHDR((struct msghdr *)in, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			pi.ipi_spec_dst = pi.ipi_addr;
			pi.ipi_ifindex = 0;
			o->cmsg_level = IPPROTO_IP;
			o->cmsg_type = IP_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(o), &pi, sizeof(pi));
			return CMSG_SPACE(sizeof(pi));
		}
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			o->cmsg_level = IPPROTO_IPV6;
			o->cmsg_type = IPV6_PKTINFO;
			o->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(o), &pi, sizeof(pi));
			return CMSG_SPACE(sizeof(pi));
		}
	}
	return 0;
}

static double
napvd_now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
napvd_send(int fd, struct mmsghdr *mm, unsigned n)
{
	unsigned sent = 0;

	while (sent < n) {
		int w = sendmmsg(fd, mm + sent, n - sent, 0);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			LOG_WARNX_RL("radius: send: %s", strerror(errno));
			sent++; /* skip the datagram that failed, keep the others */
			continue;
		}
		sent += (unsigned)w;
	}
}

/* Copy a batch's replies into the held queue, tagged with the record count they wait for. */
static void
napvd_held_push(struct napvd *d, int fd, const struct napvd_batch *b, unsigned n, uint64_t tag)
{
	struct napvd_held_queue *q = d->held;

	for (unsigned i = 0; i < n; i++) {
		const struct msghdr *mh = &b->out[i].msg_hdr;
		struct napvd_held *h = &q->e[(q->head + q->count) % NAPVD_HELD_MAX];

		h->fd = fd;
		h->tag = tag;
		memcpy(&h->to, mh->msg_name, mh->msg_namelen);
		h->to_len = mh->msg_namelen;
		h->len = mh->msg_iov[0].iov_len;
		memcpy(h->buf, mh->msg_iov[0].iov_base, h->len);
		h->cmsg_len = mh->msg_controllen;
		if (h->cmsg_len != 0)
			memcpy(h->cmsg, mh->msg_control, h->cmsg_len);
		q->count++;
		d->m.replies_held++;
	}
}

/* Send every held reply whose record is durable, in arrival order, sendmmsg per socket run. */
void
napvd_held_flush(struct napvd *d, uint64_t durable)
{
	struct napvd_held_queue *q = d->held;

	while (q != NULL && q->count > 0 && q->e[q->head].tag <= durable) {
		int fd = q->e[q->head].fd;
		unsigned n = 0;

		while (n < NAPVD_BATCH && n < q->count) {
			struct napvd_held *h = &q->e[(q->head + n) % NAPVD_HELD_MAX];
			struct msghdr *mh = &q->mm[n].msg_hdr;

			if (h->tag > durable || h->fd != fd)
				break;
			memset(mh, 0, sizeof(*mh));
			q->iov[n].iov_base = h->buf;
			q->iov[n].iov_len = h->len;
			mh->msg_name = &h->to;
			mh->msg_namelen = h->to_len;
			mh->msg_iov = &q->iov[n];
			mh->msg_iovlen = 1;
			mh->msg_control = h->cmsg_len != 0 ? h->cmsg : NULL;
			mh->msg_controllen = h->cmsg_len;
			n++;
		}
		napvd_send(fd, q->mm, n);
		q->head = (q->head + n) % NAPVD_HELD_MAX;
		q->count -= n;
	}
}

/* The sync thread finished a sync: release the replies it made durable. */
static void
napvd_sync_cb(struct napvd_io *io, uint32_t events)
{
	struct napvd *d = io->arg;

	(void)events;
	napvd_held_flush(d, napvd_spool_sync_poll(&d->spool, &d->m));
}

int
napvd_sync_attach(struct napvd *d, napvd_sync_fn *fn)
{
	int r;

	if (d->spool.fd < 0)
		return 0;
	if (d->conf->spool_sync == NAPVD_SYNC_REPLY && d->held == NULL) {
		d->held = calloc(1, sizeof(*d->held));
		if (d->held == NULL)
			return -ENOMEM;
	}
	if ((r = napvd_spool_sync_start(&d->spool, fn, d->held != NULL)) < 0)
		return r;
	if (d->held == NULL)
		return 0; /* batch: the tick and the metrics scrape collect the progress */
	d->sync_io = (struct napvd_io){
		.fd = napvd_spool_sync_fd(&d->spool), .cb = napvd_sync_cb, .arg = d};
	return napvd_ev_add(&d->ev, &d->sync_io, EPOLLIN);
}

void
napvd_sync_detach(struct napvd *d)
{
	/* Everything written becomes durable, then every held reply leaves. */
	napvd_spool_commit(&d->spool, &d->m);
	napvd_held_flush(d, UINT64_MAX);
	if (d->sync_io.fd >= 0) {
		napvd_ev_del(&d->ev, &d->sync_io);
		d->sync_io.fd = -1;
	}
	free(d->held);
	d->held = NULL;
}

/*
 * One batch: receive what is ready, decide each, make the batch's status records durable with
 * one fdatasync (group commit), then send every reply.
 */
static void
napvd_sock_cb(struct napvd_io *io, uint32_t events)
{
	struct napvd_sock *s = io->arg;
	struct napvd *d = s->d;
	struct napvd_batch *b = d->batch;
	unsigned nout = 0;
	double t0, t1;
	int n;

	(void)events;
	for (size_t i = 0; i < NAPVD_BATCH; i++) {
		b->in_iov[i].iov_base = b->in_buf[i];
		b->in_iov[i].iov_len = sizeof(b->in_buf[i]);
		memset(&b->in[i].msg_hdr, 0, sizeof(b->in[i].msg_hdr));
		b->in[i].msg_hdr.msg_name = &b->from[i];
		b->in[i].msg_hdr.msg_namelen = sizeof(b->from[i]);
		b->in[i].msg_hdr.msg_iov = &b->in_iov[i];
		b->in[i].msg_hdr.msg_iovlen = 1;
		b->in[i].msg_hdr.msg_control = b->in_cmsg[i];
		b->in[i].msg_hdr.msg_controllen = s->wildcard ? sizeof(b->in_cmsg[i]) : 0;
	}
	/* Held replies fill the queue faster than syncs drain it: wait for the sync in flight. */
	if (d->held != NULL && NAPVD_HELD_MAX - d->held->count < NAPVD_BATCH)
		napvd_held_flush(d, napvd_spool_sync_wait(&d->spool, &d->m));
	n = recvmmsg(io->fd, b->in, NAPVD_BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return;
	t0 = napvd_now_seconds();
	for (int i = 0; i < n; i++) {
		struct msghdr *mh = &b->out[nout].msg_hdr;
		size_t out_len = 0;

		if (b->in[i].msg_hdr.msg_flags & MSG_TRUNC) {
			d->m.drops[NAPVD_DROP_MALFORMED]++;
			continue;
		}
		if (napvd_request(d, (const struct sockaddr *)&b->from[i], b->in_buf[i],
				  b->in[i].msg_len, b->out_buf[nout], &out_len) != NAPVD_REPLY)
			continue;
		memset(mh, 0, sizeof(*mh));
		b->out_iov[nout].iov_base = b->out_buf[nout];
		b->out_iov[nout].iov_len = out_len;
		mh->msg_name = &b->from[i];
		mh->msg_namelen = b->in[i].msg_hdr.msg_namelen;
		mh->msg_iov = &b->out_iov[nout];
		mh->msg_iovlen = 1;
		if (s->wildcard) {
			size_t cl = napvd_reply_cmsg(&b->in[i].msg_hdr, b->out_cmsg[nout],
						     sizeof(b->out_cmsg[nout]));

			mh->msg_control = cl != 0 ? b->out_cmsg[nout] : NULL;
			mh->msg_controllen = cl;
		}
		b->out_src[nout] = (size_t)i;
		nout++;
	}
	/* Every record of the batch is in the file before any of its replies leaves. */
	napvd_spool_write(&d->spool, &d->m);
	if (d->conf->spool_sync == NAPVD_SYNC_REPLY && d->spool.sync != NULL) {
		napvd_spool_sync_request(&d->spool);
		napvd_held_push(d, io->fd, b, nout, d->spool.written);
		napvd_held_flush(d, d->spool.durable);
	} else {
		if (d->spool.sync != NULL)
			napvd_spool_sync_request(&d->spool); /* in the background */
		else
			napvd_spool_commit(&d->spool, &d->m); /* no thread: sync before replying */
		napvd_send(io->fd, b->out, nout);
	}
	t1 = napvd_now_seconds();
	for (unsigned i = 0; i < nout; i++)
		napvd_metrics_observe_latency(&d->m, t1 - t0);
}

static int
napvd_sock_open(struct napvd *d, const struct napvd_sockaddr *a, struct napvd_sock **out)
{
	struct napvd_sock *s;
	int one = 1, rcv = NAPVD_RCVBUF, fd, r;

	fd = socket(a->ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto fail;
	/* Best effort: a larger queue absorbs bursts between two batches. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	if (a->ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto fail;
	if (napvd_is_wildcard(a)) {
		if (a->ss.ss_family == AF_INET &&
		    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0)
			goto fail;
		if (a->ss.ss_family == AF_INET6 &&
		    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) < 0)
			goto fail;
	}
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0)
		goto fail;
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		errno = ENOMEM;
		goto fail;
	}
	s->addr = *a;
	s->wildcard = napvd_is_wildcard(a);
	s->d = d;
	s->io.fd = fd;
	s->io.cb = napvd_sock_cb;
	s->io.arg = s;
	*out = s;
	return 0;
fail:
	r = -errno;
	close(fd);
	return r;
}

static void
napvd_sock_close(struct napvd *d, struct napvd_sock *s)
{
	napvd_ev_del(&d->ev, &s->io);
	close(s->io.fd);
	free(s);
}

/*
 * Make the open sockets match next->listen: keep those that still match, bind the new ones,
 * close the rest. All or nothing: if a new address cannot be bound, nothing changes.
 */
int
napvd_sockets_sync(struct napvd *d, const struct napvd_config *next)
{
	struct napvd_sock *socks[NAPVD_MAX_LISTEN] = {0};
	bool fresh[NAPVD_MAX_LISTEN] = {0}, kept[NAPVD_MAX_LISTEN] = {0};
	char a[INET6_ADDRSTRLEN + 8];
	int r = 0;

	if (d->batch == NULL) {
		d->batch = calloc(1, sizeof(*d->batch));
		if (d->batch == NULL)
			return -ENOMEM;
	}
	for (size_t i = 0; i < next->n_listen; i++) {
		for (size_t j = 0; j < d->n_socks; j++) {
			if (!kept[j] && napvd_sockaddr_equal(&d->socks[j]->addr, &next->listen[i])) {
				socks[i] = d->socks[j];
				kept[j] = true;
				break;
			}
		}
		if (socks[i] != NULL)
			continue;
		r = napvd_sock_open(d, &next->listen[i], &socks[i]);
		if (r < 0) {
			napvd_sockaddr_format((const struct sockaddr *)&next->listen[i].ss, a,
					      sizeof(a), true);
			log_warnx("radius: cannot listen on %s: %s", a, strerror(-r));
			goto fail;
		}
		fresh[i] = true;
		r = napvd_ev_add(&d->ev, &socks[i]->io, EPOLLIN);
		if (r < 0)
			goto fail;
	}
	for (size_t j = 0; j < d->n_socks; j++) {
		if (kept[j])
			continue;
		napvd_sockaddr_format((const struct sockaddr *)&d->socks[j]->addr.ss, a, sizeof(a),
				      true);
		log_info("radius: no longer listening on %s", a);
		napvd_sock_close(d, d->socks[j]);
	}
	for (size_t i = 0; i < next->n_listen; i++) {
		d->socks[i] = socks[i];
		if (fresh[i]) {
			napvd_sockaddr_format((const struct sockaddr *)&socks[i]->addr.ss, a,
					      sizeof(a), true);
			log_info("radius: listening on %s", a);
		}
	}
	d->n_socks = next->n_listen;
	return 0;
fail:
	for (size_t i = 0; i < next->n_listen; i++)
		if (fresh[i] && socks[i] != NULL)
			napvd_sock_close(d, socks[i]);
	return r;
}

void
napvd_sockets_close(struct napvd *d)
{
	for (size_t i = 0; i < d->n_socks; i++)
		napvd_sock_close(d, d->socks[i]);
	d->n_socks = 0;
	free(d->batch);
	d->batch = NULL;
}
