// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * napbench radius: a RADIUS load generator for napvd (and, for comparison, FreeRADIUS). Keeps N
 * requests outstanding per UDP socket (each socket has its own 256 RADIUS identifiers, so more
 * sockets mean more concurrency), sends a mix of SoH classes (compliant, non-compliant, stale,
 * malformed) with a fresh identifier, Request Authenticator and Message-Authenticator per send,
 * verifies every reply, and reports throughput and latency percentiles. Replies are untrusted
 * network input, decoded and verified by libnap.
 *
 * The hot path allocates nothing: every (socket, id) slot owns a packet buffer sized for the
 * largest template, sends and receives go through sendmmsg()/recvmmsg() in batches, and the
 * Message-Authenticator is an HMAC-MD5 whose inner and outer key states are hashed once and
 * copied per packet.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "nap/hsr.h"
#include "nap/radius.h"
#include "nap/sample.h"
#include "nap/soh.h"
#include "nap/util.h"
#include "nap/validate.h"

#define EXIT_FAILED 1
#define EXIT_USAGE  64

#define BENCH_IDS         256
#define BENCH_MAX_SOCKETS 1024
#define BENCH_BATCH       64
#define BENCH_TIMEOUT_NS  1000000000LL /* unanswered after 1 s = timeout (no retransmits) */
#define BENCH_COOLDOWN_NS 2000000000LL /* a timed-out id rests so a late reply can't match */
#define BENCH_SCAN_NS     50000000LL
#define BENCH_STALE_AGE   (30 * 86400) /* older than any sane validity period */
#define BENCH_SCHEDULE    1000
#define BENCH_PACE_US     250 /* tick of --rate pacing */

/* Latency histogram: log-linear buckets (32 per power of two, about 3 % wide) in microseconds. */
#define HIST_SUB_BITS 5
#define HIST_SUB      (1u << HIST_SUB_BITS)
#define HIST_BUCKETS  (HIST_SUB * 28)

enum bench_class { CLASS_COMPLIANT, CLASS_NONCOMPLIANT, CLASS_STALE, CLASS_MALFORMED, CLASS_COUNT };

static const char *const class_names[CLASS_COUNT] = {
	[CLASS_COMPLIANT] = "compliant",
	[CLASS_NONCOMPLIANT] = "noncompliant",
	[CLASS_STALE] = "stale",
	[CLASS_MALFORMED] = "malformed",
};

static const unsigned default_mix[CLASS_COUNT] = {70, 15, 10, 5};

struct bench_template {
	uint8_t pkt[NAP_RADIUS_MAX_LEN];
	size_t len;
	size_t ma_off; /* Message-Authenticator value */
};

struct bench_class_stats {
	uint64_t sent, received, accept, reject, other, full_access, limited, unexpected;
};

enum slot_state { SLOT_FREE, SLOT_BUSY, SLOT_COOLDOWN };

struct bench_slot {
	uint8_t *pkt;
	uint8_t auth[NAP_RADIUS_AUTH_LEN];
	uint8_t state;
	uint8_t cls;
	int64_t t; /* sent at (BUSY) or reusable at (COOLDOWN), monotonic ns */
};

struct bench_sock {
	int fd;
	unsigned outstanding;
	/*
	 * Free ids as a FIFO ring: an id goes to the back when its answer arrives, so a server's
	 * duplicate cache sees each id rest as long as possible before it is reused (RFC 5080).
	 */
	unsigned free_head, n_free;
	uint8_t free_ids[BENCH_IDS];
	struct bench_slot slots[BENCH_IDS];
};

struct hmac_md5 {
	EVP_MD_CTX *inner, *outer, *tmp;
};

struct bench {
	/* options */
	const char *server, *secret, *hsr_path, *site;
	unsigned mix[CLASS_COUNT];
	double rate; /* 0 = flat */
	int64_t duration_ns;
	unsigned clients, window;
	bool wrap, no_wsh, json, expect_napvd;
	uint32_t nas_type;

	/* state */
	struct bench_template tmpl[CLASS_COUNT][2];
	unsigned n_tmpl[CLASS_COUNT];
	size_t max_len;
	uint8_t schedule[BENCH_SCHEDULE];
	unsigned sched_pos, variant;
	struct bench_sock *socks;
	struct hmac_md5 hmac;
	uint64_t rng;
	struct nap_radius_packet reply;

	/* results */
	uint64_t sent, received, timeouts, errors, bad_auth, undecodable, late, send_errors;
	struct bench_class_stats cls[CLASS_COUNT];
	uint64_t hist[HIST_BUCKETS];
	uint64_t max_us;
	int64_t start, last_reply;
};

static volatile sig_atomic_t interrupted;

static void
on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* splitmix64: authenticators of a load generator need to be fresh, not secret. */
static uint64_t
rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* --- HMAC-MD5 with precomputed key states (RFC 2104) ---------------------------------------- */

static int
hmac_md5_init(struct hmac_md5 *h, const uint8_t *key, size_t key_len)
{
	uint8_t k[64], pad[64];
	unsigned n = 0;
	int ok;

	memset(k, 0, sizeof(k));
	if (key_len > sizeof(k)) {
		if (EVP_Digest(key, key_len, k, &n, EVP_md5(), NULL) != 1)
			return -EIO;
	} else {
		memcpy(k, key, key_len);
	}
	h->inner = EVP_MD_CTX_new();
	h->outer = EVP_MD_CTX_new();
	h->tmp = EVP_MD_CTX_new();
	if (h->inner == NULL || h->outer == NULL || h->tmp == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x36;
	ok = EVP_DigestInit_ex(h->inner, EVP_md5(), NULL) && EVP_DigestUpdate(h->inner, pad, 64);
	for (size_t i = 0; i < sizeof(pad); i++)
		pad[i] = k[i] ^ 0x5c;
	ok = ok && EVP_DigestInit_ex(h->outer, EVP_md5(), NULL) &&
	     EVP_DigestUpdate(h->outer, pad, 64);
	nap_wipe(k, sizeof(k));
	nap_wipe(pad, sizeof(pad));
	return ok ? 0 : -EIO;
}

static int
hmac_md5(struct hmac_md5 *h, const uint8_t *p, size_t n, uint8_t out[16])
{
	uint8_t ih[16];
	unsigned len;

	if (!EVP_MD_CTX_copy_ex(h->tmp, h->inner) || !EVP_DigestUpdate(h->tmp, p, n) ||
	    !EVP_DigestFinal_ex(h->tmp, ih, &len) || !EVP_MD_CTX_copy_ex(h->tmp, h->outer) ||
	    !EVP_DigestUpdate(h->tmp, ih, sizeof(ih)) || !EVP_DigestFinal_ex(h->tmp, out, &len))
		return -EIO;
	return 0;
}

static void
hmac_md5_free(struct hmac_md5 *h)
{
	EVP_MD_CTX_free(h->inner);
	EVP_MD_CTX_free(h->outer);
	EVP_MD_CTX_free(h->tmp);
}

/* --- histogram ------------------------------------------------------------------------------ */

static unsigned
hist_index(uint64_t us)
{
	unsigned msb, idx;

	if (us < HIST_SUB)
		return (unsigned)us;
	msb = 63u - (unsigned)__builtin_clzll(us);
	idx = (msb - HIST_SUB_BITS + 1) * HIST_SUB +
	      (unsigned)((us >> (msb - HIST_SUB_BITS)) & (HIST_SUB - 1));
	return idx < HIST_BUCKETS ? idx : HIST_BUCKETS - 1;
}

/* Middle of a bucket, in microseconds. */
static double
hist_value(unsigned idx)
{
	unsigned msb, sub;
	uint64_t lower, width;

	if (idx < HIST_SUB)
		return idx;
	msb = idx / HIST_SUB + HIST_SUB_BITS - 1;
	sub = idx % HIST_SUB;
	width = 1ULL << (msb - HIST_SUB_BITS);
	lower = (uint64_t)(HIST_SUB + sub) << (msb - HIST_SUB_BITS);
	return (double)lower + (double)width / 2.0;
}

static double
hist_percentile_ms(const struct bench *b, double pct)
{
	uint64_t total = 0, want, seen = 0;

	for (unsigned i = 0; i < HIST_BUCKETS; i++)
		total += b->hist[i];
	if (total == 0)
		return 0.0;
	want = (uint64_t)ceil(pct / 100.0 * (double)total);
	if (want == 0)
		want = 1;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += b->hist[i];
		if (seen >= want) {
			double v = hist_value(i);

			return (v > (double)b->max_us ? (double)b->max_us : v) / 1000.0;
		}
	}
	return (double)b->max_us / 1000.0;
}

/* --- templates ------------------------------------------------------------------------------ */

/* Make the SoH's outer length disagree with the bytes: framing error inside a valid packet. */
static void
corrupt_soh(uint8_t *soh, size_t len, bool wrapped)
{
	size_t at = wrapped ? 12 + 2 : 2;

	if (len >= at + 2) {
		unsigned v = (unsigned)soh[at] << 8 | soh[at + 1];

		v = (v + 1) & 0xffff;
		soh[at] = (uint8_t)(v >> 8);
		soh[at + 1] = (uint8_t)v;
	}
}

/*
 * For --no-wsh: drop the SSoH's CorrelationId item, which repeats the mode sub-header's, so the
 * SoH (with the 12-byte wrapper too) fits one 247-byte MS-Quarantine-SoH for FreeRADIUS, which
 * reads only the first.
 */
static int
shrink_soh(uint8_t **soh, size_t *len)
{
	struct nap_soh *s = malloc(sizeof(*s));
	uint8_t *out = NULL;
	size_t out_len = 0, o = 0;
	int r;

	if (s == NULL)
		return -ENOMEM;
	if ((r = nap_soh_decode(*soh, *len, s, NULL)) == 0) {
		for (size_t i = 0; i < s->ssoh.n_order; i++)
			if (s->ssoh.order[i] != NAP_SSOH_CORRELATION_ID)
				s->ssoh.order[o++] = s->ssoh.order[i];
		s->ssoh.n_order = (uint8_t)o;
		s->ssoh.present &= ~(1u << NAP_SSOH_CORRELATION_ID);
		r = nap_soh_encode_alloc(s, &out, &out_len);
	}
	free(s);
	if (r < 0)
		return r;
	free(*soh);
	*soh = out;
	*len = out_len;
	return 0;
}

static int
build_template(struct bench *b, struct bench_template *t, enum bench_class cls, unsigned variant,
	       const struct nap_hsr *hsr)
{
	struct nap_sample_spec spec;
	struct nap_radius_builder *rb;
	int64_t now = (int64_t)time(NULL);
	char user[80], machine[64];
	const uint8_t *pkt;
	uint8_t *soh = NULL;
	size_t soh_len = 0, pkt_len = 0;
	int r;

	memset(&spec, 0, sizeof(spec));
	/* Short ("nb-co0"): every --no-wsh SoH must fit one VSA with the wrapper (see below). */
	snprintf(machine, sizeof(machine), "nb-%.2s%u", class_names[cls], variant);
	snprintf(user, sizeof(user), "host/%s", machine);
	spec.machine_name = machine;
	spec.site = hsr->site;
	spec.revision = hsr->revision;
	spec.digest = hsr->digest;
	spec.compliant = cls != CLASS_NONCOMPLIANT;
	spec.generation_time = now;
	spec.eval_time = now;
	spec.with_wsh = !b->no_wsh;
	spec.wrapped = b->wrap;
	spec.os_major = 6;
	spec.os_minor = 1;
	spec.processor_arch = NAP_ARCH_X64;
	if (cls == CLASS_STALE) {
		/* Variant 0: evaluated against an older revision; variant 1: evaluated long ago. */
		if (variant == 0 && hsr->revision > 1) {
			/* With other policies: an older revision with today's digest matches. */
			static const uint8_t older_digest[NAP_HSR_DIGEST_LEN] = {0x01};

			spec.revision = hsr->revision - 1;
			spec.digest = older_digest;
		} else {
			spec.generation_time = now - BENCH_STALE_AGE;
			spec.eval_time = now - BENCH_STALE_AGE;
		}
	}
	if ((r = nap_sample_soh_build(&spec, &soh, &soh_len)) < 0)
		return r;
	if (b->no_wsh && (r = shrink_soh(&soh, &soh_len)) < 0) {
		free(soh);
		return r;
	}
	if (cls == CLASS_MALFORMED)
		corrupt_soh(soh, soh_len, b->wrap);
	/*
	 * --no-wsh exists for peers that read only the first MS-Quarantine-SoH (FreeRADIUS 3.2
	 * crashes on the truncated rest): an SoH that needs two VSAs would defeat it.
	 */
	if (b->no_wsh && soh_len > NAP_RADIUS_VSA_MAX_VALUE) {
		fprintf(stderr,
			"napbench: the --no-wsh %s SoH is %zu bytes, more than one VSA holds (%d)\n",
			class_names[cls], soh_len, NAP_RADIUS_VSA_MAX_VALUE);
		free(soh);
		return -EMSGSIZE;
	}

	if ((rb = malloc(sizeof(*rb))) == NULL) {
		free(soh);
		return -ENOMEM;
	}
	nap_radius_build_init(rb, NAP_RADIUS_ACCESS_REQUEST, 0, NULL);
	r = nap_radius_add_attr(rb, NAP_RADIUS_USER_NAME, user, strlen(user));
	if (r == 0)
		r = nap_radius_add_u32(rb, NAP_RADIUS_SERVICE_TYPE,
				       NAP_RADIUS_SERVICE_AUTHORIZE_ONLY);
	if (r == 0)
		r = nap_radius_add_attr(rb, NAP_RADIUS_NAS_IDENTIFIER, "napbench", 8);
	if (r == 0)
		r = nap_radius_add_ms_u32(rb, NAP_MS_NETWORK_ACCESS_SERVER_TYPE, b->nas_type);
	if (r == 0)
		r = nap_radius_add_vsa(rb, NAP_VENDOR_MICROSOFT, NAP_MS_MACHINE_NAME, machine,
				       strlen(machine));
	if (r == 0)
		r = nap_radius_add_ms_split(rb, NAP_MS_QUARANTINE_SOH, soh, soh_len);
	if (r == 0)
		r = nap_radius_add_message_authenticator(rb);
	if (r == 0)
		r = nap_radius_finish_request(rb, (const uint8_t *)b->secret, strlen(b->secret),
					      &pkt, &pkt_len);
	if (r == 0) {
		memcpy(t->pkt, pkt, pkt_len);
		t->len = pkt_len;
		t->ma_off = rb->msg_auth_at;
		if (pkt_len > b->max_len)
			b->max_len = pkt_len;
	}
	free(rb);
	free(soh);
	return r;
}

static int
build_schedule(struct bench *b)
{
	unsigned total = 0, pos = 0, best = 0;

	for (int c = 0; c < CLASS_COUNT; c++)
		total += b->mix[c];
	if (total == 0)
		return -EINVAL;
	for (int c = 0; c < CLASS_COUNT; c++) {
		unsigned n = (unsigned)((uint64_t)b->mix[c] * BENCH_SCHEDULE / total);

		for (unsigned i = 0; i < n && pos < BENCH_SCHEDULE; i++)
			b->schedule[pos++] = (uint8_t)c;
	}
	/* Rounding leftovers go to the heaviest class. */
	for (int c = 0; c < CLASS_COUNT; c++)
		if (b->mix[c] > b->mix[best])
			best = (unsigned)c;
	while (pos < BENCH_SCHEDULE)
		b->schedule[pos++] = (uint8_t)best;
	for (unsigned i = BENCH_SCHEDULE - 1; i > 0; i--) {
		unsigned j = (unsigned)(rng_next(&b->rng) % (i + 1));
		uint8_t tmp = b->schedule[i];

		b->schedule[i] = b->schedule[j];
		b->schedule[j] = tmp;
	}
	return 0;
}

/* --- sockets -------------------------------------------------------------------------------- */

static int
open_sockets(struct bench *b, int epfd)
{
	struct addrinfo *res = NULL;
	uint8_t *bufs;
	int r;

	if ((r = nap_resolve_udp(b->server, &res)) < 0)
		return r;
	b->socks = calloc(b->clients, sizeof(*b->socks));
	bufs = calloc((size_t)b->clients * BENCH_IDS, b->max_len);
	if (b->socks == NULL || bufs == NULL) {
		freeaddrinfo(res);
		free(bufs);
		return -ENOMEM;
	}
	for (unsigned s = 0; s < b->clients; s++) {
		struct bench_sock *so = &b->socks[s];
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = s};
		int size = 4 << 20;

		so->fd = socket(res->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (so->fd < 0 || connect(so->fd, res->ai_addr, res->ai_addrlen) < 0) {
			r = -errno;
			freeaddrinfo(res);
			return r;
		}
		(void)setsockopt(so->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
		(void)setsockopt(so->fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, so->fd, &ev) < 0) {
			r = -errno;
			freeaddrinfo(res);
			return r;
		}
		so->n_free = BENCH_IDS;
		for (unsigned i = 0; i < BENCH_IDS; i++) {
			so->free_ids[i] = (uint8_t)i;
			so->slots[i].pkt = bufs + ((size_t)s * BENCH_IDS + i) * b->max_len;
		}
	}
	freeaddrinfo(res);
	return 0;
}

/* --- the loop ------------------------------------------------------------------------------- */

static uint8_t
id_take(struct bench_sock *so)
{
	uint8_t id = so->free_ids[so->free_head];

	so->free_head = (so->free_head + 1) % BENCH_IDS;
	so->n_free--;
	return id;
}

static void
id_put(struct bench_sock *so, uint8_t id)
{
	so->free_ids[(so->free_head + so->n_free) % BENCH_IDS] = id;
	so->n_free++;
}

/* Take a free id, fill its packet with the next class's template and sign it. */
static int
prepare(struct bench *b, struct bench_sock *so, int64_t now, struct iovec *iov)
{
	uint8_t id = id_take(so);
	struct bench_slot *sl = &so->slots[id];
	unsigned cls = b->schedule[b->sched_pos];
	const struct bench_template *t;
	uint64_t r1 = rng_next(&b->rng), r2 = rng_next(&b->rng);

	b->sched_pos = (b->sched_pos + 1) % BENCH_SCHEDULE;
	t = &b->tmpl[cls][b->n_tmpl[cls] > 1 ? b->variant++ % b->n_tmpl[cls] : 0];
	memcpy(sl->pkt, t->pkt, t->len);
	sl->pkt[1] = id;
	memcpy(sl->auth, &r1, 8);
	memcpy(sl->auth + 8, &r2, 8);
	memcpy(sl->pkt + 4, sl->auth, NAP_RADIUS_AUTH_LEN);
	memset(sl->pkt + t->ma_off, 0, NAP_RADIUS_AUTH_LEN);
	if (hmac_md5(&b->hmac, sl->pkt, t->len, sl->pkt + t->ma_off) < 0) {
		id_put(so, id);
		return -EIO;
	}
	sl->state = SLOT_BUSY;
	sl->cls = (uint8_t)cls;
	sl->t = now;
	so->outstanding++;
	iov->iov_base = sl->pkt;
	iov->iov_len = t->len;
	return id;
}

/* Send up to budget requests on one socket; returns how many went out. */
static unsigned
send_some(struct bench *b, struct bench_sock *so, unsigned budget, int64_t now)
{
	struct mmsghdr msgs[BENCH_BATCH];
	struct iovec iov[BENCH_BATCH];
	uint8_t ids[BENCH_BATCH];
	unsigned n = 0;
	int sent;

	while (n < BENCH_BATCH && n < budget && so->outstanding < b->window && so->n_free > 0) {
		int id = prepare(b, so, now, &iov[n]);

		if (id < 0)
			break;
		ids[n] = (uint8_t)id;
		memset(&msgs[n], 0, sizeof(msgs[n]));
		msgs[n].msg_hdr.msg_iov = &iov[n];
		msgs[n].msg_hdr.msg_iovlen = 1;
		n++;
	}
	if (n == 0)
		return 0;
	sent = sendmmsg(so->fd, msgs, n, 0);
	if (sent < 0) {
		if (errno != EAGAIN && errno != ENOBUFS && errno != ECONNREFUSED)
			b->send_errors++;
		sent = 0;
	}
	/* Whatever did not go out goes back. */
	for (unsigned i = n; i > (unsigned)sent; i--) {
		struct bench_slot *sl = &so->slots[ids[i - 1]];

		sl->state = SLOT_FREE;
		so->outstanding--;
		id_put(so, ids[i - 1]);
	}
	for (int i = 0; i < sent; i++)
		b->cls[so->slots[ids[i]].cls].sent++;
	b->sent += (unsigned)sent;
	return (unsigned)sent;
}

static void
handle_reply(struct bench *b, struct bench_sock *so, const uint8_t *p, size_t n, int64_t now)
{
	struct nap_err err;
	struct bench_slot *sl;
	struct bench_class_stats *cs;
	const struct nap_radius_attr *qs;
	uint32_t state = NAP_MS_QSTATE_FULL_ACCESS;
	uint64_t us;
	bool full, sane;

	if (n < NAP_RADIUS_HDR_LEN) {
		b->undecodable++;
		b->errors++;
		return;
	}
	sl = &so->slots[p[1]];
	if (sl->state != SLOT_BUSY) {
		b->late++; /* answer to a request already counted as a timeout */
		return;
	}
	sl->state = SLOT_FREE;
	so->outstanding--;
	id_put(so, p[1]);
	if (nap_radius_decode(p, n, &b->reply, &err) < 0) {
		b->undecodable++;
		b->errors++;
		return;
	}
	if (nap_radius_verify_response(&b->reply, sl->auth, (const uint8_t *)b->secret,
				       strlen(b->secret)) < 0) {
		b->bad_auth++;
		b->errors++;
		return;
	}
	b->received++;
	b->last_reply = now;
	us = (uint64_t)(now - sl->t) / 1000u;
	b->hist[hist_index(us)]++;
	if (us > b->max_us)
		b->max_us = us;

	cs = &b->cls[sl->cls];
	cs->received++;
	if ((qs = nap_radius_find_vsa(&b->reply, NAP_VENDOR_MICROSOFT, NAP_MS_QUARANTINE_STATE)) !=
	    NULL)
		(void)nap_radius_attr_u32(qs, &state);
	switch (b->reply.code) {
	case NAP_RADIUS_ACCESS_ACCEPT:
		cs->accept++;
		full = state == NAP_MS_QSTATE_FULL_ACCESS;
		break;
	case NAP_RADIUS_ACCESS_REJECT:
		cs->reject++;
		full = false;
		break;
	default:
		cs->other++;
		full = false;
		break;
	}
	if (full)
		cs->full_access++;
	else
		cs->limited++;
	/* napvd's defaults: only a compliant SoH earns full access; everything else is limited. */
	sane = b->reply.code == NAP_RADIUS_ACCESS_ACCEPT ||
	       b->reply.code == NAP_RADIUS_ACCESS_REJECT;
	sane = sane && (sl->cls == CLASS_COMPLIANT ? full : !full);
	if (b->expect_napvd && !sane)
		cs->unexpected++;
}

static void
receive_some(struct bench *b, struct bench_sock *so)
{
	static uint8_t bufs[BENCH_BATCH][NAP_RADIUS_MAX_LEN];
	struct mmsghdr msgs[BENCH_BATCH];
	struct iovec iov[BENCH_BATCH];

	for (;;) {
		int n;
		int64_t now;

		for (unsigned i = 0; i < BENCH_BATCH; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = sizeof(bufs[i]);
			memset(&msgs[i], 0, sizeof(msgs[i]));
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(so->fd, msgs, BENCH_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		now = now_ns();
		for (int i = 0; i < n; i++)
			handle_reply(b, so, bufs[i], msgs[i].msg_len, now);
		if (n < BENCH_BATCH)
			return;
	}
}

/* Requests unanswered for 1 s are timeouts; their ids rest before reuse. */
static void
scan_timeouts(struct bench *b, int64_t now, bool final)
{
	for (unsigned s = 0; s < b->clients; s++) {
		struct bench_sock *so = &b->socks[s];

		for (unsigned i = 0; i < BENCH_IDS; i++) {
			struct bench_slot *sl = &so->slots[i];

			if (sl->state == SLOT_BUSY && (final || now - sl->t >= BENCH_TIMEOUT_NS)) {
				b->timeouts++;
				sl->state = SLOT_COOLDOWN;
				sl->t = now + BENCH_COOLDOWN_NS;
				so->outstanding--;
			} else if (sl->state == SLOT_COOLDOWN && now >= sl->t) {
				sl->state = SLOT_FREE;
				id_put(so, (uint8_t)i);
			}
		}
	}
}

static bool
can_send(const struct bench *b)
{
	for (unsigned s = 0; s < b->clients; s++)
		if (b->socks[s].outstanding < b->window && b->socks[s].n_free > 0)
			return true;
	return false;
}

static bool
all_done(const struct bench *b)
{
	for (unsigned s = 0; s < b->clients; s++)
		if (b->socks[s].outstanding > 0)
			return false;
	return true;
}

static int
run(struct bench *b)
{
	struct epoll_event evs[64];
	int64_t now = now_ns(), end, drain_end, last_scan, last_refill;
	/* Paced sends are spread over 250 us ticks; tokens never pile up beyond 2 ms. */
	double tokens = 0.0, burst = b->rate > 0 ? fmax(1.0, b->rate / 500.0) : 0.0;
	unsigned rr = 0;
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	int r;

	if (epfd < 0)
		return -errno;
	if ((r = open_sockets(b, epfd)) < 0) {
		close(epfd);
		return r;
	}
	b->start = last_scan = last_refill = now;
	b->last_reply = now;
	end = now + b->duration_ns;
	drain_end = end + BENCH_TIMEOUT_NS;

	while (!interrupted) {
		bool sending = now < end;
		int64_t timeout_us = 10000;
		struct timespec ts;
		int n;

		if (sending) {
			unsigned budget = UINT32_MAX;

			if (b->rate > 0) {
				tokens += (double)(now - last_refill) * b->rate / 1e9;
				if (tokens > burst)
					tokens = burst;
				last_refill = now;
				budget = (unsigned)tokens;
			}
			/* Round-robin over the sockets so none starves under a rate limit. */
			for (unsigned k = 0; k < b->clients && budget > 0; k++) {
				struct bench_sock *so = &b->socks[(rr + k) % b->clients];
				unsigned sent = send_some(b, so, budget, now);

				budget -= sent;
				if (b->rate > 0)
					tokens -= sent;
			}
			rr = (rr + 1) % b->clients;
			/*
			 * Paced: come back for the next tick's tokens. Flat: if a window
			 * still has room (the socket buffer was full), retry at once; otherwise
			 * sleep until replies free some ids.
			 */
			if (b->rate > 0)
				timeout_us = BENCH_PACE_US;
			else
				timeout_us = can_send(b) ? 0 : 10000;
		} else if (now >= drain_end || all_done(b)) {
			break;
		}
		ts.tv_sec = 0;
		ts.tv_nsec = (long)timeout_us * 1000;
		n = epoll_pwait2(epfd, evs, (int)NAP_ARRAY_SIZE(evs), &ts, NULL);
		if (n < 0 && errno != EINTR) {
			r = -errno;
			break;
		}
		for (int i = 0; i < n; i++)
			receive_some(b, &b->socks[evs[i].data.u32]);
		now = now_ns();
		if (now - last_scan >= BENCH_SCAN_NS) {
			scan_timeouts(b, now, false);
			last_scan = now;
		}
	}
	scan_timeouts(b, now_ns(), true);
	close(epfd);
	return 0;
}

/* --- options and report --------------------------------------------------------------------- */

static int
parse_mix(const char *s, unsigned mix[CLASS_COUNT])
{
	char buf[256], *save = NULL, *tok;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, strlen(s) + 1);
	memset(mix, 0, sizeof(unsigned) * CLASS_COUNT);
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '='), *end;
		unsigned long v;
		int c;

		if (eq == NULL)
			return -EINVAL;
		*eq = '\0';
		for (c = 0; c < CLASS_COUNT; c++)
			if (strcmp(tok, class_names[c]) == 0)
				break;
		if (c == CLASS_COUNT)
			return -EINVAL;
		v = strtoul(eq + 1, &end, 10);
		if (eq[1] == '\0' || *end != '\0' || v > 1000000)
			return -EINVAL;
		mix[c] = (unsigned)v;
	}
	for (int c = 0; c < CLASS_COUNT; c++)
		if (mix[c] > 0)
			return 0;
	return -EINVAL;
}

static int
parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: napbench radius --server ADDR:PORT --secret S --hsr FILE [--site S]\n"
		   "         [--mix compliant=70,noncompliant=15,stale=10,malformed=5]\n"
		   "         [--rate N | --flat] [--duration SECONDS] [--clients N] [--window N]\n"
		   "         [--nas-type TYPE] [--wrap] [--no-wsh] [--expect-napvd] [--json]\n");
}

static void
report(const struct bench *b)
{
	int64_t span = b->last_reply - b->start;
	double secs = span > 0 ? (double)span / 1e9 : (double)b->duration_ns / 1e9;
	double rps = b->received > 0 ? (double)b->received / secs : 0.0;
	double p50 = hist_percentile_ms(b, 50), p90 = hist_percentile_ms(b, 90);
	double p99 = hist_percentile_ms(b, 99), max = (double)b->max_us / 1000.0;
	uint64_t unexpected = 0;

	for (int c = 0; c < CLASS_COUNT; c++)
		unexpected += b->cls[c].unexpected;
	printf("napbench: radius %s, %u socket%s x window %u, %s, %.1f s\n", b->server, b->clients,
	       b->clients == 1 ? "" : "s", b->window, b->rate > 0 ? "paced" : "flat",
	       (double)b->duration_ns / 1e9);
	printf("sent:       %" PRIu64 "\n", b->sent);
	printf("received:   %" PRIu64 "\n", b->received);
	printf("timeouts:   %" PRIu64 "\n", b->timeouts);
	printf("errors:     %" PRIu64 " (bad authenticator %" PRIu64 ", undecodable %" PRIu64
	       ", send %" PRIu64 ")\n",
	       b->errors + b->send_errors, b->bad_auth, b->undecodable, b->send_errors);
	printf("late:       %" PRIu64 "\n", b->late);
	if (b->expect_napvd)
		printf("unexpected: %" PRIu64 "\n", unexpected);
	printf("requests/s: %.1f\n", rps);
	printf("latency ms: p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n", p50, p90, p99, max);
	for (int c = 0; c < CLASS_COUNT; c++) {
		const struct bench_class_stats *cs = &b->cls[c];

		if (cs->sent == 0)
			continue;
		printf("  %-13s sent %" PRIu64 " received %" PRIu64 " accept %" PRIu64
		       " reject %" PRIu64 " full-access %" PRIu64 " limited %" PRIu64,
		       class_names[c], cs->sent, cs->received, cs->accept, cs->reject,
		       cs->full_access, cs->limited);
		if (b->expect_napvd)
			printf(" unexpected %" PRIu64, cs->unexpected);
		putchar('\n');
	}
	if (b->json) {
		json_t *o = json_object(), *cls = json_object();
		char *s;

		json_object_set_new(o, "rps", json_real(round(rps * 10) / 10));
		json_object_set_new(o, "p50_ms", json_real(p50));
		json_object_set_new(o, "p90_ms", json_real(p90));
		json_object_set_new(o, "p99_ms", json_real(p99));
		json_object_set_new(o, "max_ms", json_real(max));
		json_object_set_new(o, "errors",
				    json_integer((json_int_t)(b->errors + b->send_errors)));
		json_object_set_new(o, "timeouts", json_integer((json_int_t)b->timeouts));
		json_object_set_new(o, "sent", json_integer((json_int_t)b->sent));
		json_object_set_new(o, "received", json_integer((json_int_t)b->received));
		json_object_set_new(o, "late", json_integer((json_int_t)b->late));
		if (b->expect_napvd)
			json_object_set_new(o, "unexpected", json_integer((json_int_t)unexpected));
		for (int c = 0; c < CLASS_COUNT; c++) {
			const struct bench_class_stats *cs = &b->cls[c];

			json_object_set_new(cls, class_names[c],
					    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "sent",
						      (json_int_t)cs->sent, "received",
						      (json_int_t)cs->received, "accept",
						      (json_int_t)cs->accept, "reject",
						      (json_int_t)cs->reject, "full_access",
						      (json_int_t)cs->full_access, "unexpected",
						      (json_int_t)cs->unexpected));
		}
		json_object_set_new(o, "classes", cls);
		s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6));
		printf("%s\n", s != NULL ? s : "{}");
		free(s);
		json_decref(o);
	} else {
		printf("result: rps=%.1f p50_ms=%.3f p99_ms=%.3f errors=%" PRIu64
		       " timeouts=%" PRIu64 " sent=%" PRIu64 " received=%" PRIu64 "\n",
		       rps, p50, p99, b->errors + b->send_errors, b->timeouts, b->sent,
		       b->received);
	}
	fflush(stdout);
}

static int
load_hsr(struct bench *b, struct nap_hsr_set **set, const struct nap_hsr **hsr)
{
	struct nap_err err = {0, NULL};
	uint8_t *text = NULL;
	size_t len;
	int r;

	if ((r = nap_read_file(b->hsr_path, NAP_HSR_MAX_LEN, &text, &len)) < 0) {
		fprintf(stderr, "napbench: %s: %s\n", b->hsr_path, strerror(-r));
		return r;
	}
	/* Lab tool: the revision and digest are all it needs, the signature is napvd's job. */
	r = nap_hsr_set_parse(text, len, NULL, set, &err);
	free(text);
	if (r < 0) {
		fprintf(stderr, "napbench: %s: %s at offset %zu\n", b->hsr_path,
			err.what != NULL ? err.what : strerror(-r), err.offset);
		return r;
	}
	if (b->site != NULL)
		*hsr = nap_hsr_set_find(*set, b->site);
	else
		*hsr = (*set)->n > 0 ? &(*set)->v[0] : NULL;
	if (*hsr == NULL) {
		fprintf(stderr, "napbench: %s: no HSR for site %s\n", b->hsr_path,
			b->site != NULL ? b->site : "(any)");
		return -ENOENT;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	enum {
		O_SERVER = 256,
		O_SECRET,
		O_HSR,
		O_SITE,
		O_MIX,
		O_RATE,
		O_FLAT,
		O_DURATION,
		O_CLIENTS,
		O_WINDOW,
		O_WRAP,
		O_NO_WSH,
		O_JSON,
		O_EXPECT,
		O_NAS
	};
	static const struct option opts[] = {
		{"server", required_argument, NULL, O_SERVER},
		{"secret", required_argument, NULL, O_SECRET},
		{"hsr", required_argument, NULL, O_HSR},
		{"site", required_argument, NULL, O_SITE},
		{"mix", required_argument, NULL, O_MIX},
		{"rate", required_argument, NULL, O_RATE},
		{"flat", no_argument, NULL, O_FLAT},
		{"duration", required_argument, NULL, O_DURATION},
		{"clients", required_argument, NULL, O_CLIENTS},
		{"window", required_argument, NULL, O_WINDOW},
		{"wrap", no_argument, NULL, O_WRAP},
		{"no-wsh", no_argument, NULL, O_NO_WSH},
		{"json", no_argument, NULL, O_JSON},
		{"expect-napvd", no_argument, NULL, O_EXPECT},
		{"nas-type", required_argument, NULL, O_NAS},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static struct bench bench;
	struct bench *b = &bench;
	struct nap_hsr_set *set = NULL;
	const struct nap_hsr *hsr = NULL;
	struct sigaction sa;
	bool flat = false;
	unsigned long v;
	int64_t secs;
	int c, r, ret = EXIT_FAILED;

	if (argc < 2 || strcmp(argv[1], "radius") != 0) {
		if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0)) {
			usage(stdout);
			return 0;
		}
		usage(stderr);
		return EXIT_USAGE;
	}
	argc--;
	argv++;
	memcpy(b->mix, default_mix, sizeof(b->mix));
	b->duration_ns = 10 * 1000000000LL;
	b->clients = 4;
	b->window = 32;
	b->nas_type = NAP_MS_NAS_DHCP;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_SERVER:
			b->server = optarg;
			break;
		case O_SECRET:
			b->secret = optarg;
			break;
		case O_HSR:
			b->hsr_path = optarg;
			break;
		case O_SITE:
			b->site = optarg;
			break;
		case O_MIX:
			if (parse_mix(optarg, b->mix) < 0) {
				fprintf(stderr, "napbench: bad --mix '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case O_RATE:
			if (parse_uint(optarg, 1, 10000000, &v) < 0) {
				fprintf(stderr, "napbench: bad --rate '%s'\n", optarg);
				return EXIT_USAGE;
			}
			b->rate = (double)v;
			break;
		case O_FLAT:
			flat = true;
			break;
		case O_DURATION:
			if (nap_parse_duration(optarg, &secs) < 0 || secs < 1 || secs > 86400) {
				fprintf(stderr, "napbench: bad --duration '%s'\n", optarg);
				return EXIT_USAGE;
			}
			b->duration_ns = secs * 1000000000LL;
			break;
		case O_CLIENTS:
			if (parse_uint(optarg, 1, BENCH_MAX_SOCKETS, &v) < 0) {
				fprintf(stderr, "napbench: bad --clients '%s' (1..%d)\n", optarg,
					BENCH_MAX_SOCKETS);
				return EXIT_USAGE;
			}
			b->clients = (unsigned)v;
			break;
		case O_WINDOW:
			if (parse_uint(optarg, 1, BENCH_IDS, &v) < 0) {
				fprintf(stderr, "napbench: bad --window '%s' (1..%d per socket)\n",
					optarg, BENCH_IDS);
				return EXIT_USAGE;
			}
			b->window = (unsigned)v;
			break;
		case O_WRAP:
			b->wrap = true;
			break;
		case O_NO_WSH:
			b->no_wsh = true;
			break;
		case O_JSON:
			b->json = true;
			break;
		case O_EXPECT:
			b->expect_napvd = true;
			break;
		case O_NAS: {
			enum nap_enforcement ep;

			if (nap_enforcement_from_name(optarg, &ep) < 0) {
				fprintf(stderr, "napbench: unknown --nas-type '%s'\n", optarg);
				return EXIT_USAGE;
			}
			b->nas_type = (uint32_t)ep;
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc || b->server == NULL || b->secret == NULL || *b->secret == '\0' ||
	    b->hsr_path == NULL) {
		fprintf(stderr, "napbench: --server, --secret and --hsr are required\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (flat && b->rate > 0) {
		fprintf(stderr, "napbench: --rate and --flat exclude each other\n");
		return EXIT_USAGE;
	}

	if (RAND_bytes((uint8_t *)&b->rng, sizeof(b->rng)) != 1) {
		fprintf(stderr, "napbench: no randomness\n");
		return EXIT_FAILED;
	}
	if (load_hsr(b, &set, &hsr) < 0)
		goto out;
	for (int cls = 0; cls < CLASS_COUNT; cls++) {
		b->n_tmpl[cls] = cls == CLASS_STALE ? 2 : 1;
		for (unsigned var = 0; var < b->n_tmpl[cls]; var++)
			if ((r = build_template(b, &b->tmpl[cls][var], cls, var, hsr)) < 0) {
				fprintf(stderr, "napbench: cannot build the %s request: %s\n",
					class_names[cls], strerror(-r));
				goto out;
			}
	}
	if (build_schedule(b) < 0 ||
	    hmac_md5_init(&b->hmac, (const uint8_t *)b->secret, strlen(b->secret)) < 0) {
		fprintf(stderr, "napbench: setup failed\n");
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if ((r = run(b)) < 0) {
		fprintf(stderr, "napbench: %s: %s\n", b->server, strerror(-r));
		goto out;
	}
	report(b);
	ret = 0;
	if (b->received == 0 || b->errors + b->send_errors > 0)
		ret = EXIT_FAILED;
	for (int cls = 0; cls < CLASS_COUNT; cls++)
		if (b->cls[cls].unexpected > 0)
			ret = EXIT_FAILED;
out:
	hmac_md5_free(&b->hmac);
	nap_hsr_set_free(set);
	return ret;
}
