// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Unit tests of the enforcement points' RADIUS client (lib/enforce/radclient.c). The servers are
 * UDP sockets on 127.0.0.1 that the test reads and answers itself with the libnap codec; the
 * clock is a number the test advances, so retransmits, failover, holddown and timeouts are
 * exercised without sleeping.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "nap/radclient.h"
#include "nap/radius.h"

static const uint8_t secret_bytes[] = "radclient-test-secret";
#define SECRET_LEN (sizeof(secret_bytes) - 1)
static const uint8_t other_bytes[] = "another-secret";

/* A fake napvd: a bound socket and the last request it read. */
struct fake {
	int fd;
	struct sockaddr_in addr;
	struct sockaddr_storage from;
	socklen_t from_len;
	uint8_t buf[NAP_RADIUS_MAX_LEN];
	size_t len;
	struct nap_radius_packet req;
};

struct env {
	struct nap_radius_secret *secret, *other;
	struct fake srv[3];
	struct nap_radclient_config conf;
	struct nap_radclient *rc;
	int64_t now;
};

/* What the callbacks saw. */
struct seen {
	int calls;
	enum nap_radclient_status status;
	uint8_t code;
	size_t server;
	unsigned attempts, failovers;
	int64_t rtt;
	uint32_t qstate;
};

static void
fake_open(struct fake *f)
{
	socklen_t l = sizeof(f->addr);

	f->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(f->fd >= 0);
	memset(&f->addr, 0, sizeof(f->addr));
	f->addr.sin_family = AF_INET;
	f->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(f->fd, (struct sockaddr *)&f->addr, sizeof(f->addr)), 0);
	assert_int_equal(getsockname(f->fd, (struct sockaddr *)&f->addr, &l), 0);
}

/* Read one request if one is waiting (within wait_ms); true when there was one. */
static bool
fake_recv(struct fake *f, int wait_ms)
{
	struct pollfd p = {.fd = f->fd, .events = POLLIN};
	struct nap_err err = {0};
	ssize_t n;

	if (poll(&p, 1, wait_ms) != 1)
		return false;
	f->from_len = sizeof(f->from);
	n = recvfrom(f->fd, f->buf, sizeof(f->buf), 0, (struct sockaddr *)&f->from, &f->from_len);
	assert_true(n > 0);
	f->len = (size_t)n;
	assert_int_equal(nap_radius_decode(f->buf, f->len, &f->req, &err), 0);
	return true;
}

/* Answer the request last read, signed with s; qstate < 0: Access-Reject. */
static void
fake_reply_ex(struct fake *f, const struct nap_radius_secret *s, int64_t qstate, bool msg_auth,
	      int id_delta)
{
	struct nap_radius_builder b;
	const uint8_t *p;
	size_t n;

	nap_radius_build_init(&b,
			      f->req.code == NAP_RADIUS_STATUS_SERVER || qstate >= 0
				      ? NAP_RADIUS_ACCESS_ACCEPT
				      : NAP_RADIUS_ACCESS_REJECT,
			      (uint8_t)(f->req.id + id_delta), f->req.authenticator);
	if (msg_auth)
		assert_int_equal(nap_radius_add_message_authenticator(&b), 0);
	if (qstate >= 0 && f->req.code == NAP_RADIUS_ACCESS_REQUEST)
		assert_int_equal(nap_radius_add_ms_u32(&b, NAP_MS_QUARANTINE_STATE, (uint32_t)qstate),
				 0);
	assert_int_equal(nap_radius_finish_response_s(&b, f->req.authenticator, s, &p, &n), 0);
	assert_int_equal(sendto(f->fd, p, n, 0, (struct sockaddr *)&f->from, f->from_len),
			 (ssize_t)n);
}

static void
fake_reply(struct fake *f, const struct nap_radius_secret *s, int64_t qstate)
{
	fake_reply_ex(f, s, qstate, true, 0);
}

static void
on_result(void *arg, const struct nap_radclient_result *res)
{
	struct seen *s = arg;
	const struct nap_radius_attr *a;

	s->calls++;
	s->status = res->status;
	s->server = res->server;
	s->attempts = res->attempts;
	s->failovers = res->failovers;
	s->rtt = res->rtt_ms;
	s->code = 0;
	s->qstate = UINT32_MAX;
	if (res->status == NAP_RADCLIENT_REPLY) {
		assert_non_null(res->reply);
		s->code = res->reply->code;
		a = nap_radius_find_vsa(res->reply, NAP_RADIUS_VENDOR_MS, NAP_MS_QUARANTINE_STATE);
		if (a != NULL)
			assert_true(nap_radius_attr_u32(a, &s->qstate));
	} else {
		assert_null(res->reply);
	}
}

/* Wait until the client has read what is on its sockets (loopback delivery is immediate, but
 * poll to be sure) and process it. */
static void
client_read(struct env *e)
{
	struct pollfd fds[2 * NAP_RADCLIENT_MAX_SOCKETS];
	size_t n = nap_radclient_pollfds(e->rc, fds, NAP_RADCLIENT_MAX_SOCKETS * 2);

	assert_true(poll(fds, n, 1000) >= 1);
	nap_radclient_events(e->rc, fds, n, e->now);
}

static int
setup_n(void **state, size_t n_servers, uint32_t retries)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	assert_int_equal(nap_radius_secret_new(secret_bytes, SECRET_LEN, &e->secret), 0);
	assert_int_equal(nap_radius_secret_new(other_bytes, sizeof(other_bytes) - 1, &e->other), 0);
	for (size_t i = 0; i < 3; i++)
		fake_open(&e->srv[i]);
	e->conf.n_servers = n_servers;
	for (size_t i = 0; i < n_servers; i++) {
		struct nap_radclient_server *s = &e->conf.servers[i];

		memcpy(&s->addr, &e->srv[i].addr, sizeof(e->srv[i].addr));
		s->addr_len = sizeof(e->srv[i].addr);
		snprintf(s->name, sizeof(s->name), "server%zu", i);
		s->secret = e->secret;
	}
	e->conf.timeout_ms = 500;
	e->conf.retries = retries;
	e->conf.holddown_ms = 10000;
	assert_int_equal(nap_radclient_new(&e->conf, &e->rc), 0);
	e->now = 1000000;
	*state = e;
	return 0;
}

static int
setup1(void **state)
{
	return setup_n(state, 1, 1);
}

static int
setup2(void **state)
{
	return setup_n(state, 2, 1);
}

static int
teardown(void **state)
{
	struct env *e = *state;

	nap_radclient_free(e->rc);
	for (size_t i = 0; i < 3; i++)
		close(e->srv[i].fd);
	nap_radius_secret_free(e->secret);
	nap_radius_secret_free(e->other);
	free(e);
	return 0;
}

static void
build_request(struct nap_radius_builder *b)
{
	static const uint8_t soh[300] = {1, 2, 3};

	nap_radius_build_init(b, NAP_RADIUS_ACCESS_REQUEST, 0, NULL);
	assert_int_equal(nap_radius_add_u32(b, NAP_RADIUS_SERVICE_TYPE,
					    NAP_RADIUS_SERVICE_AUTHORIZE_ONLY),
			 0);
	assert_int_equal(nap_radius_add_ms_u32(b, NAP_MS_NETWORK_ACCESS_SERVER_TYPE, NAP_MS_NAS_DHCP),
			 0);
	assert_int_equal(nap_radius_add_ms_split(b, NAP_MS_QUARANTINE_SOH, soh, sizeof(soh)), 0);
}

static void
start(struct env *e, struct seen *s)
{
	struct nap_radius_builder b;

	build_request(&b);
	assert_int_equal(nap_radclient_request(e->rc, &b, e->now, on_result, s, NULL), 0);
}

/* One request, one answer: the request is signed, keeps the caller's attributes, and the
 * verified reply reaches the callback. */
static void
test_basic(void **state)
{
	struct env *e = *state;
	struct fake *f = &e->srv[0];
	struct seen s = {0};
	struct nap_radclient_stats st;
	uint8_t soh[400];
	uint32_t v;

	start(e, &s);
	assert_int_equal(s.calls, 0); /* never from inside the call */
	assert_true(fake_recv(f, 1000));
	assert_int_equal(f->req.code, NAP_RADIUS_ACCESS_REQUEST);
	/* Message-Authenticator first, and right. */
	assert_int_equal(f->req.attrs[0].type, NAP_RADIUS_MESSAGE_AUTHENTICATOR);
	assert_int_equal(nap_radius_verify_request_s(&f->req, e->secret, true), 0);
	assert_int_equal(nap_radius_verify_request_s(&f->req, e->other, true), -EPERM);
	assert_true(nap_radius_attr_u32(nap_radius_find(&f->req, NAP_RADIUS_SERVICE_TYPE), &v));
	assert_int_equal(v, NAP_RADIUS_SERVICE_AUTHORIZE_ONLY);
	assert_int_equal(nap_radius_ms_concat(&f->req, NAP_MS_QUARANTINE_SOH, soh, sizeof(soh)), 300);
	assert_int_equal(soh[0], 1);
	assert_int_equal(nap_radius_packet_check(&f->req, NULL), 0);
	assert_int_equal(nap_radclient_next_deadline(e->rc), e->now + 500);

	e->now += 7;
	fake_reply(f, e->secret, NAP_MS_QSTATE_RESTRICTED);
	client_read(e);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.status, NAP_RADCLIENT_REPLY);
	assert_int_equal(s.code, NAP_RADIUS_ACCESS_ACCEPT);
	assert_int_equal(s.qstate, NAP_MS_QSTATE_RESTRICTED);
	assert_int_equal(s.attempts, 1);
	assert_int_equal(s.failovers, 0);
	assert_int_equal(s.rtt, 7);
	assert_int_equal(nap_radclient_next_deadline(e->rc), -1);
	nap_radclient_get_stats(e->rc, &st);
	assert_int_equal(st.requests, 1);
	assert_int_equal(st.replies, 1);
	assert_int_equal(st.outstanding, 0);
	assert_int_equal(st.servers[0].sent, 1);
	assert_int_equal(st.servers[0].replies, 1);
}

/* Replies that must not be believed: wrong secret, no Message-Authenticator, wrong id, from
 * another address, garbage. Then the real one is still accepted. */
static void
test_bad_replies(void **state)
{
	struct env *e = *state;
	struct fake *f = &e->srv[0];
	struct seen s = {0};
	struct nap_radclient_stats st;
	static const uint8_t junk[] = {2, 0, 0, 50, 1, 2, 3};
	struct sockaddr_in other;
	socklen_t l = sizeof(other);

	start(e, &s);
	assert_true(fake_recv(f, 1000));

	fake_reply(f, e->other, NAP_MS_QSTATE_FULL_ACCESS);
	client_read(e);
	fake_reply_ex(f, e->secret, NAP_MS_QSTATE_FULL_ACCESS, false, 0);
	client_read(e);
	fake_reply_ex(f, e->secret, NAP_MS_QSTATE_FULL_ACCESS, true, 1);
	client_read(e);
	assert_int_equal(sendto(f->fd, junk, sizeof(junk), 0, (struct sockaddr *)&f->from,
				f->from_len),
			 (ssize_t)sizeof(junk));
	client_read(e);
	/* Larger than any RADIUS packet (the read is truncated: dropped and counted), twice in one
	 * read with the junk between. */
	{
		static uint8_t big[NAP_RADIUS_MAX_LEN + 900];

		big[0] = 2;
		for (int i = 0; i < 2; i++) {
			assert_int_equal(sendto(f->fd, big, sizeof(big), 0,
						(struct sockaddr *)&f->from, f->from_len),
					 (ssize_t)sizeof(big));
			if (i == 0)
				assert_int_equal(sendto(f->fd, junk, sizeof(junk), 0,
							(struct sockaddr *)&f->from, f->from_len),
						 (ssize_t)sizeof(junk));
		}
		client_read(e);
	}
	/* The right answer from the wrong address (server 1's socket). */
	{
		struct fake *g = &e->srv[1];

		memcpy(g->buf, f->buf, f->len);
		g->req = f->req;
		g->from = f->from;
		g->from_len = f->from_len;
		fake_reply(g, e->secret, NAP_MS_QSTATE_FULL_ACCESS);
		client_read(e);
		assert_int_equal(getsockname(g->fd, (struct sockaddr *)&other, &l), 0);
	}
	assert_int_equal(s.calls, 0);
	nap_radclient_get_stats(e->rc, &st);
	assert_int_equal(st.bad_auth, 2);
	assert_int_equal(st.unexpected, 2);
	assert_int_equal(st.malformed, 4);
	assert_int_equal(st.servers[0].bad_auth, 2);

	fake_reply(f, e->secret, NAP_MS_QSTATE_FULL_ACCESS);
	client_read(e);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.qstate, NAP_MS_QSTATE_FULL_ACCESS);
	/* A second copy (duplicate answer) finds no request. */
	fake_reply(f, e->secret, NAP_MS_QSTATE_FULL_ACCESS);
	client_read(e);
	assert_int_equal(s.calls, 1);
	nap_radclient_get_stats(e->rc, &st);
	assert_int_equal(st.unexpected, 3);
}

/* Access-Reject is an answer too. */
static void
test_reject(void **state)
{
	struct env *e = *state;
	struct seen s = {0};

	start(e, &s);
	assert_true(fake_recv(&e->srv[0], 1000));
	fake_reply(&e->srv[0], e->secret, -1);
	client_read(e);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.code, NAP_RADIUS_ACCESS_REJECT);
}

/* Retransmits repeat the packet byte for byte; after the retries the next server gets a new
 * packet (new authenticator); its answer completes the request. */
static void
test_retransmit_failover(void **state)
{
	struct env *e = *state;
	struct fake *a = &e->srv[0], *b = &e->srv[1];
	struct seen s = {0};
	struct nap_radclient_stats st;
	uint8_t first[NAP_RADIUS_MAX_LEN];
	size_t first_len;

	start(e, &s);
	assert_true(fake_recv(a, 1000));
	memcpy(first, a->buf, a->len);
	first_len = a->len;

	nap_radclient_timers(e->rc, e->now + 499); /* not yet */
	assert_false(fake_recv(a, 0));
	e->now += 500;
	nap_radclient_timers(e->rc, e->now);
	assert_true(fake_recv(a, 1000));
	assert_int_equal(a->len, first_len);
	assert_memory_equal(a->buf, first, first_len);
	assert_false(fake_recv(b, 0));

	e->now += 500; /* retries (1) used up: server 1 is next */
	nap_radclient_timers(e->rc, e->now);
	assert_false(fake_recv(a, 0));
	assert_true(fake_recv(b, 1000));
	assert_memory_not_equal(b->req.authenticator, first + 4, NAP_RADIUS_AUTH_LEN);
	assert_int_equal(nap_radius_verify_request_s(&b->req, e->secret, true), 0);

	/* A late answer from server 0 no longer counts. */
	a->len = first_len;
	fake_reply(a, e->secret, NAP_MS_QSTATE_FULL_ACCESS);
	client_read(e);
	assert_int_equal(s.calls, 0);

	e->now += 3;
	fake_reply(b, e->secret, NAP_MS_QSTATE_PROBATION);
	client_read(e);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.status, NAP_RADCLIENT_REPLY);
	assert_int_equal(s.server, 1);
	assert_int_equal(s.attempts, 3);
	assert_int_equal(s.failovers, 1);
	assert_int_equal(s.rtt, 1003);
	assert_int_equal(s.qstate, NAP_MS_QSTATE_PROBATION);
	nap_radclient_get_stats(e->rc, &st);
	assert_int_equal(st.failovers, 1);
	assert_int_equal(st.retransmits, 1);
	assert_true(st.servers[0].dead);
	assert_int_equal(st.servers[0].timeouts, 1);
	assert_false(st.servers[1].dead);

	/* Server 0 is held down: the next request goes straight to server 1. */
	memset(&s, 0, sizeof(s));
	start(e, &s);
	assert_false(fake_recv(a, 50));
	assert_true(fake_recv(b, 1000));
	fake_reply(b, e->secret, NAP_MS_QSTATE_FULL_ACCESS);
	client_read(e);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.server, 1);
	assert_int_equal(s.failovers, 0);

	/* After the holddown, server 0 is first again; its answer revives it. */
	e->now += 10000;
	memset(&s, 0, sizeof(s));
	start(e, &s);
	assert_true(fake_recv(a, 1000));
	assert_false(fake_recv(b, 0));
	fake_reply(a, e->secret, NAP_MS_QSTATE_FULL_ACCESS);
	client_read(e);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.server, 0);
	nap_radclient_get_stats(e->rc, &st);
	assert_false(st.servers[0].dead);
}

/* Nobody answers: every server gets 1 + retries sends, then one TIMEOUT callback. While all
 * are held down, a new request probes only the one whose holddown ends first, once. */
static void
test_timeout_all(void **state)
{
	struct env *e = *state;
	struct fake *a = &e->srv[0], *b = &e->srv[1];
	struct seen s = {0};
	struct nap_radclient_stats st;
	int64_t t0 = e->now;

	start(e, &s);
	for (int i = 0; i < 4; i++) {
		assert_true(fake_recv(i < 2 ? a : b, 1000));
		assert_int_equal(s.calls, 0);
		e->now = nap_radclient_next_deadline(e->rc);
		nap_radclient_timers(e->rc, e->now);
	}
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.status, NAP_RADCLIENT_TIMEOUT);
	assert_int_equal(s.attempts, 4);
	assert_int_equal(s.failovers, 1);
	assert_int_equal(s.rtt, 2000);
	assert_int_equal(e->now - t0, 2000);
	assert_int_equal(nap_radclient_next_deadline(e->rc), -1);
	nap_radclient_get_stats(e->rc, &st);
	assert_int_equal(st.timeouts, 1);
	assert_true(st.servers[0].dead && st.servers[1].dead);

	memset(&s, 0, sizeof(s));
	start(e, &s);
	assert_true(fake_recv(a, 1000)); /* a's holddown ends first */
	e->now += 500;
	nap_radclient_timers(e->rc, e->now);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.status, NAP_RADCLIENT_TIMEOUT);
	assert_int_equal(s.attempts, 1);
	assert_false(fake_recv(a, 0));
	assert_false(fake_recv(b, 0));
}

/* More than 256 requests in flight: more sockets, distinct (socket, id) pairs, every answer
 * lands on its own request. Sent and answered in batches so no socket buffer overflows. */
#define MANY 700
#define BATCH 50
static void
test_many(void **state)
{
	struct env *e = *state;
	struct fake *f = &e->srv[0];
	static struct seen s[MANY];
	static struct fake got[MANY];
	struct nap_radclient_stats st;
	struct nap_err err = {0};

	memset(s, 0, sizeof(s));
	for (int i = 0; i < MANY; i++) {
		struct nap_radius_builder b;

		nap_radclient_attrs_init(&b, NAP_RADIUS_ACCESS_REQUEST);
		assert_int_equal(nap_radius_add_u32(&b, NAP_RADIUS_NAS_PORT, (uint32_t)i), 0);
		assert_int_equal(nap_radclient_request(e->rc, &b, e->now, on_result, &s[i], NULL), 0);
		if (i % BATCH == BATCH - 1 || i == MANY - 1) {
			for (int j = i - i % BATCH; j <= i; j++) {
				assert_true(fake_recv(f, 1000));
				got[j].fd = f->fd;
				got[j].from = f->from;
				got[j].from_len = f->from_len;
				memcpy(got[j].buf, f->buf, f->len);
				got[j].len = f->len;
				assert_int_equal(nap_radius_decode(got[j].buf, got[j].len, &got[j].req,
								   &err),
						 0);
			}
		}
	}
	nap_radclient_get_stats(e->rc, &st);
	assert_int_equal(st.sockets, 3);
	assert_int_equal(st.outstanding, MANY);
	/* every Request Authenticator its own, across the client's refills of its random pool */
	for (int i = 0; i < MANY; i++)
		for (int j = i + 1; j < MANY; j++)
			assert_memory_not_equal(got[i].req.authenticator, got[j].req.authenticator,
						NAP_RADIUS_AUTH_LEN);
	for (int i = 0; i < MANY; i++) {
		uint32_t port;

		assert_true(nap_radius_attr_u32(nap_radius_find(&got[i].req, NAP_RADIUS_NAS_PORT),
						&port));
		/* Answer with the request's port number as the quarantine state. */
		fake_reply(&got[i], e->secret, port);
		if (i % BATCH == BATCH - 1 || i == MANY - 1) {
			usleep(1000);
			nap_radclient_read_all(e->rc, e->now);
		}
	}
	for (int i = 0; i < MANY; i++) {
		assert_int_equal(s[i].calls, 1);
		assert_int_equal(s[i].qstate, (uint32_t)i);
	}
	nap_radclient_get_stats(e->rc, &st);
	assert_int_equal(st.outstanding, 0);
	assert_int_equal(st.replies, MANY);
}

static void
test_limits(void **state)
{
	struct env *e = *state;
	struct nap_radius_builder b;
	struct nap_radclient_config c = e->conf;
	struct nap_radclient *rc;
	struct seen s = {0};
	static uint8_t big[3940]; /* 16 VSAs: 4068 attribute bytes, no room for 18 more */

	/* The caller must not add a Message-Authenticator. */
	nap_radius_build_init(&b, NAP_RADIUS_ACCESS_REQUEST, 0, NULL);
	assert_int_equal(nap_radius_add_message_authenticator(&b), 0);
	assert_int_equal(nap_radclient_request(e->rc, &b, e->now, on_result, &s, NULL), -EINVAL);
	/* No room left for the Message-Authenticator. */
	nap_radius_build_init(&b, NAP_RADIUS_ACCESS_REQUEST, 0, NULL);
	assert_int_equal(nap_radius_add_ms_split(&b, NAP_MS_QUARANTINE_SOH, big, sizeof(big)), 0);
	assert_int_equal(nap_radclient_request(e->rc, &b, e->now, on_result, &s, NULL), -EMSGSIZE);
	/* max_outstanding. */
	c.max_outstanding = 2;
	assert_int_equal(nap_radclient_new(&c, &rc), 0);
	build_request(&b);
	assert_int_equal(nap_radclient_request(rc, &b, e->now, on_result, &s, NULL), 0);
	assert_int_equal(nap_radclient_request(rc, &b, e->now, on_result, &s, NULL), 0);
	assert_int_equal(nap_radclient_request(rc, &b, e->now, on_result, &s, NULL), -ENOBUFS);
	nap_radclient_free(rc); /* both cancelled */
	assert_int_equal(s.calls, 2);
	assert_int_equal(s.status, NAP_RADCLIENT_CANCELLED);
	/* Bad configurations. */
	c = e->conf;
	c.n_servers = 0;
	assert_int_equal(nap_radclient_new(&c, &rc), -EINVAL);
	c = e->conf;
	c.servers[0].secret = NULL;
	assert_int_equal(nap_radclient_new(&c, &rc), -EINVAL);
}

static void
test_cancel_and_status(void **state)
{
	struct env *e = *state;
	struct fake *f = &e->srv[0];
	struct seen s = {0}, t = {0};
	uint64_t h;

	assert_int_equal(nap_radclient_status_server(e->rc, 0, e->now, on_result, &t, NULL), 0);
	assert_true(fake_recv(f, 1000));
	assert_int_equal(f->req.code, NAP_RADIUS_STATUS_SERVER);
	assert_int_equal(nap_radius_verify_request_s(&f->req, e->secret, true), 0);
	fake_reply(f, e->secret, 0);
	client_read(e);
	assert_int_equal(t.calls, 1);
	assert_int_equal(t.status, NAP_RADCLIENT_REPLY);
	assert_int_equal(t.code, NAP_RADIUS_ACCESS_ACCEPT);
	assert_int_equal(nap_radclient_status_server(e->rc, 5, e->now, on_result, &t, NULL), -EINVAL);

	struct nap_radius_builder b;

	build_request(&b);
	assert_int_equal(nap_radclient_request(e->rc, &b, e->now, on_result, &s, &h), 0);
	assert_true(fake_recv(f, 1000));
	assert_int_equal(nap_radclient_cancel(e->rc, h), 0);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.status, NAP_RADCLIENT_CANCELLED);
	assert_int_equal(nap_radclient_cancel(e->rc, h), -ENOENT);
	fake_reply(f, e->secret, 0); /* too late */
	client_read(e);
	assert_int_equal(s.calls, 1);
}

/* A callback may start the next request (re-entrancy from the read path and the timers). */
struct chain {
	struct env *e;
	struct seen inner;
	int calls;
};

static void
on_chain(void *arg, const struct nap_radclient_result *res)
{
	struct chain *c = arg;
	struct nap_radius_builder b;

	(void)res;
	c->calls++;
	build_request(&b);
	assert_int_equal(nap_radclient_request(c->e->rc, &b, c->e->now, on_result, &c->inner, NULL),
			 0);
}

static void
test_reentrant(void **state)
{
	struct env *e = *state;
	struct chain c = {.e = e};
	struct nap_radius_builder b;

	build_request(&b);
	assert_int_equal(nap_radclient_request(e->rc, &b, e->now, on_chain, &c, NULL), 0);
	assert_true(fake_recv(&e->srv[0], 1000));
	e->now += 500;
	nap_radclient_timers(e->rc, e->now); /* retransmit */
	assert_true(fake_recv(&e->srv[0], 1000));
	e->now += 500;
	nap_radclient_timers(e->rc, e->now); /* gives up, callback starts another */
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.inner.calls, 0);
	/* The server is dead but it is the only one: the new request probes it. */
	assert_true(fake_recv(&e->srv[0], 1000));
	fake_reply(&e->srv[0], e->secret, 0);
	client_read(e);
	assert_int_equal(c.inner.calls, 1);
	assert_int_equal(c.inner.status, NAP_RADCLIENT_REPLY);
}

static void
test_server_parse(void **state)
{
	struct env *e = *state;
	struct nap_radclient_server s;

	assert_int_equal(nap_radclient_server_parse(&s, "127.0.0.1:1812", e->secret), 0);
	assert_int_equal(s.addr.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&s.addr)->sin_port), 1812);
	assert_string_equal(s.name, "127.0.0.1:1812");
	assert_int_equal(nap_radclient_server_parse(&s, "[::1]:1812", e->secret), 0);
	assert_int_equal(s.addr.ss_family, AF_INET6);
	assert_true(nap_radclient_server_parse(&s, "127.0.0.1", e->secret) < 0);
	assert_true(nap_radclient_server_parse(&s, "127.0.0.1:x", e->secret) < 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_basic, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_bad_replies, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_reject, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_retransmit_failover, setup2, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_all, setup2, teardown),
		cmocka_unit_test_setup_teardown(test_many, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_and_status, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_reentrant, setup1, teardown),
		cmocka_unit_test_setup_teardown(test_server_parse, setup1, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
