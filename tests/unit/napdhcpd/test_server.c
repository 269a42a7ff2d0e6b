// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Unit tests of napdhcpd's request handler (daemons/napdhcpd/server.c), fed crafted client
 * packets and reading the replies it queues: DISCOVER/OFFER with the scope's options, the
 * parameter request list and the maximum message size honoured, REQUEST in SELECTING,
 * INIT-REBOOT, RENEWING and REBINDING (ACK, NAK or silence as RFC 2131 §4.3.2 says), RELEASE,
 * DECLINE (quarantine), INFORM, client identifier vs chaddr, reservations, relay agents (giaddr,
 * option 82 last and unchanged), where each reply goes (RFC 2131 §4.1), bad packets counted,
 * and the NAP paths that need no napvd (marker in the OFFER, NAP-incapable clients restricted,
 * an SoH with no napvd configured -> nap_fail).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dhcpd_test.h"

static const char *const conf_text =
	"[server]\nlisten = 127.0.0.1:6767\nserver_id = 10.1.0.1\ndecline_time = 10m\n"
	"[scope a]\nsubnet = 10.1.0.0/24\npool = 10.1.0.100-10.1.0.102\n"
	"router = 10.1.0.1\ndns = 10.1.0.53, 10.1.0.54\ndomain = napt.test\n"
	"routes = 10.9.0.0/16 10.1.0.1, 0.0.0.0/0 10.1.0.1\nlease_time = 1h\n"
	"reservation = 02:00:00:00:00:99 10.1.0.50 printer\n"
	"[scope nap]\nsubnet = 10.2.0.0/24\npool = 10.2.0.100-10.2.0.110\nrouter = 10.2.0.1\n"
	"nap = on\nnap_incapable = restricted\nnap_fail = restricted\n"
	"nap_remediation = 10.2.0.12\nrestricted_lease_time = 5m\n"
	"[scope drop]\nsubnet = 10.3.0.0/24\npool = 10.3.0.100-10.3.0.110\nnap = on\n"
	"nap_fail = drop\n";

#define NOW    1700000000
#define NOW_MS 9000000

static const uint8_t mac1[6] = {2, 0, 0, 0, 0, 1};
static const uint8_t mac2[6] = {2, 0, 0, 0, 0, 2};
static const uint8_t macr[6] = {2, 0, 0, 0, 0, 0x99};

struct fx {
	struct dhcpd d;
	char *dir;
	struct nap_dhcp_packet reply;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];
	struct dhcpd_config *c = test_config(conf_text);

	assert_non_null(f);
	assert_non_null(c);
	assert_int_equal(dhcpd_init(&f->d, c), 0);
	f->dir = test_tmpdir();
	assert_int_equal(dhcpd_leases_open(&f->d.leases, f->dir, NOW, err, sizeof(err)), 0);
	f->d.now = NOW;
	f->d.now_ms = NOW_MS;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	struct dhcpd_config *c = f->d.conf;

	dhcpd_free(&f->d);
	dhcpd_config_free(c);
	test_rmdir(f->dir);
	free(f);
	return 0;
}

/* What a client puts in its message. */
struct msg {
	int type;
	const uint8_t *mac;
	const char *ciaddr, *giaddr, *requested, *server_id;
	const uint8_t *prl;
	size_t prl_len;
	const uint8_t *client_id;
	size_t client_id_len;
	uint16_t max_size;
	const uint8_t *relay;
	size_t relay_len;
	const uint8_t *opt43;
	size_t opt43_len;
	bool broadcast;
	uint16_t htype; /* 0 = Ethernet */
};

static void
put_ip(uint8_t out[4], const char *s)
{
	uint32_t a = s != NULL ? test_ip(s) : 0;

	out[0] = (uint8_t)(a >> 24);
	out[1] = (uint8_t)(a >> 16);
	out[2] = (uint8_t)(a >> 8);
	out[3] = (uint8_t)a;
}

static size_t
build(const struct msg *m, uint8_t *out)
{
	static struct nap_dhcp_builder b;
	struct nap_dhcp_header h = {0};
	const uint8_t *p;
	size_t n;
	uint8_t a[4];

	h.op = NAP_DHCP_BOOTREQUEST;
	h.htype = m->htype != 0 ? (uint8_t)m->htype : 1;
	h.hlen = 6;
	h.xid = 0x12345678;
	h.flags = m->broadcast ? NAP_DHCP_FLAG_BROADCAST : 0;
	put_ip(h.ciaddr, m->ciaddr);
	put_ip(h.giaddr, m->giaddr);
	memcpy(h.chaddr, m->mac != NULL ? m->mac : mac1, 6);
	nap_dhcp_build_init(&b, &h, 1400);
	nap_dhcp_add_u8(&b, NAP_DHCP_OPT_MESSAGE_TYPE, (uint8_t)m->type);
	if (m->requested != NULL) {
		put_ip(a, m->requested);
		nap_dhcp_add_ipv4(&b, NAP_DHCP_OPT_REQUESTED_IP, a);
	}
	if (m->server_id != NULL) {
		put_ip(a, m->server_id);
		nap_dhcp_add_ipv4(&b, NAP_DHCP_OPT_SERVER_ID, a);
	}
	if (m->prl != NULL)
		nap_dhcp_add_option(&b, NAP_DHCP_OPT_PARAM_LIST, m->prl, m->prl_len);
	if (m->client_id != NULL)
		nap_dhcp_add_option(&b, NAP_DHCP_OPT_CLIENT_ID, m->client_id, m->client_id_len);
	if (m->max_size != 0)
		nap_dhcp_add_u16(&b, NAP_DHCP_OPT_MAX_MSG_SIZE, m->max_size);
	if (m->opt43 != NULL)
		nap_dhcp_add_option(&b, NAP_DHCP_OPT_VENDOR, m->opt43, m->opt43_len);
	if (m->relay != NULL)
		nap_dhcp_add_option(&b, NAP_DHCP_OPT_RELAY_AGENT, m->relay, m->relay_len);
	assert_int_equal(nap_dhcp_finish(&b, &p, &n), 0);
	memcpy(out, p, n);
	return n;
}

/* Feed m arriving on an interface socket of scope (or a listen socket when scope < 0). */
static void
feed_on(struct fx *f, const struct msg *m, int scope, bool listen, uint32_t dst)
{
	uint8_t buf[NAP_DHCP_MAX_LEN];
	size_t n = build(m, buf);
	struct dhcpd_rx rx = {.sock = 0, .ifindex = listen ? 0 : 7, .is_listen = listen,
			      .src = listen ? test_ip("127.0.0.1") : 0, .src_port = listen ? 40000 : 68,
			      .dst = dst, .local = test_ip("10.1.0.1"), .scope = scope};

	f->d.n_out = 0;
	dhcpd_handle(&f->d, buf, n, &rx);
}

static void
feed(struct fx *f, const struct msg *m)
{
	feed_on(f, m, 0, false, 0xffffffffu);
}

/* The one reply queued, decoded; its type. */
static int
reply(struct fx *f)
{
	struct nap_err err;

	assert_int_equal(f->d.n_out, 1);
	assert_int_equal(nap_dhcp_decode(f->d.outq[0].buf, f->d.outq[0].len, &f->reply, &err), 0);
	assert_int_equal(f->reply.hdr.op, NAP_DHCP_BOOTREPLY);
	assert_int_equal(f->reply.hdr.xid, 0x12345678);
	return nap_dhcp_message_type(&f->reply);
}

static uint32_t
yiaddr(const struct fx *f)
{
	const uint8_t *y = f->reply.hdr.yiaddr;

	return (uint32_t)y[0] << 24 | (uint32_t)y[1] << 16 | (uint32_t)y[2] << 8 | y[3];
}

static bool
has(const struct fx *f, uint8_t code)
{
	return nap_dhcp_find(&f->reply, code) != NULL;
}

static void
ip_str(uint32_t a, char *out)
{
	dhcpd_ip_format(a, out, 16);
}

/* DISCOVER, then REQUEST (SELECTING): the address bound. */
static uint32_t
dora(struct fx *f, const uint8_t *mac, int scope)
{
	struct msg m = {.type = NAP_DHCPDISCOVER, .mac = mac};
	char ip[16];
	uint32_t a;

	feed_on(f, &m, scope, false, 0xffffffffu);
	assert_int_equal(reply(f), NAP_DHCPOFFER);
	a = yiaddr(f);
	ip_str(a, ip);
	m = (struct msg){.type = NAP_DHCPREQUEST, .mac = mac, .requested = ip,
			 .server_id = "10.1.0.1"};
	feed_on(f, &m, scope, false, 0xffffffffu);
	assert_int_equal(reply(f), NAP_DHCPACK);
	assert_int_equal(yiaddr(f), a);
	assert_true(f->d.outq[0].needs_commit);
	return a;
}

static void
test_discover_offer(void **state)
{
	struct fx *f = *state;
	struct msg m = {.type = NAP_DHCPDISCOVER};
	const struct nap_dhcp_option *o;
	uint32_t v;
	uint8_t a[4];

	feed(f, &m);
	assert_int_equal(reply(f), NAP_DHCPOFFER);
	assert_int_equal(yiaddr(f), test_ip("10.1.0.100"));
	assert_false(f->d.outq[0].needs_commit); /* OFFERs are not journaled */
	assert_true(nap_dhcp_server_id(&f->reply, a));
	assert_int_equal(a[3], 1);
	assert_true(nap_dhcp_lease_time(&f->reply, &v));
	assert_int_equal(v, 3600);
	assert_true(nap_dhcp_get_u32(&f->reply, NAP_DHCP_OPT_RENEWAL_TIME, &v));
	assert_int_equal(v, 1800);
	assert_true(nap_dhcp_get_u32(&f->reply, NAP_DHCP_OPT_REBINDING_TIME, &v));
	assert_int_equal(v, 3150);
	assert_true(nap_dhcp_get_ipv4(&f->reply, NAP_DHCP_OPT_SUBNET_MASK, a));
	assert_int_equal(a[3], 0);
	assert_int_equal(a[2], 255);
	o = nap_dhcp_find(&f->reply, NAP_DHCP_OPT_DNS);
	assert_non_null(o);
	assert_int_equal(o->len, 8);
	o = nap_dhcp_find(&f->reply, NAP_DHCP_OPT_DOMAIN_NAME);
	assert_int_equal(o->len, 9);
	assert_memory_equal(o->value, "napt.test", 9);
	/* RFC 3442: 16 10 9 | gw, 0 | gw */
	o = nap_dhcp_find(&f->reply, NAP_DHCP_OPT_CLASSLESS_ROUTE);
	assert_non_null(o);
	{
		static const uint8_t want[] = {16, 10, 9, 10, 1, 0, 1, 0, 10, 1, 0, 1};

		assert_int_equal(o->len, sizeof(want));
		assert_memory_equal(o->value, want, sizeof(want));
		o = nap_dhcp_find(&f->reply, NAP_DHCP_OPT_MS_CLASSLESS_ROUTE);
		assert_memory_equal(o->value, want, sizeof(want));
	}
	assert_false(has(f, NAP_DHCP_OPT_VENDOR)); /* NAP off in this scope */
	/* Direct client without an address: unicast at L2 to chaddr with yiaddr. */
	assert_int_equal(f->d.outq[0].dest, DHCPD_DEST_L2);
	assert_int_equal(f->d.outq[0].dst_ip, test_ip("10.1.0.100"));
	assert_memory_equal(f->d.outq[0].mac, mac1, 6);
	assert_int_equal(f->d.outq[0].dst_port, 68);
	/* The same client asking again gets the same address. */
	feed(f, &m);
	assert_int_equal(reply(f), NAP_DHCPOFFER);
	assert_int_equal(yiaddr(f), test_ip("10.1.0.100"));
	/* Another client gets another one. */
	m.mac = mac2;
	m.broadcast = true;
	feed(f, &m);
	assert_int_equal(reply(f), NAP_DHCPOFFER);
	assert_int_equal(yiaddr(f), test_ip("10.1.0.101"));
	assert_int_equal(f->d.outq[0].dest, DHCPD_DEST_L2_BCAST);
	assert_int_equal(f->d.outq[0].dst_ip, 0xffffffffu);
	assert_int_equal(f->d.m.rx[NAP_DHCPDISCOVER], 3);
	assert_int_equal(f->d.m.tx[NAP_DHCPOFFER], 3);
}

static void
test_prl_and_max_size(void **state)
{
	struct fx *f = *state;
	static const uint8_t prl[] = {1, 3};
	struct msg m = {.type = NAP_DHCPDISCOVER, .prl = prl, .prl_len = sizeof(prl)};

	feed(f, &m);
	assert_int_equal(reply(f), NAP_DHCPOFFER);
	assert_true(has(f, NAP_DHCP_OPT_ROUTER));
	assert_true(has(f, NAP_DHCP_OPT_LEASE_TIME)); /* always */
	assert_false(has(f, NAP_DHCP_OPT_DNS));
	assert_false(has(f, NAP_DHCP_OPT_DOMAIN_NAME));
	assert_false(has(f, NAP_DHCP_OPT_CLASSLESS_ROUTE));
	/* Option 57 (IP datagram size): a 1000-byte limit means 972 bytes of DHCP. */
	m = (struct msg){.type = NAP_DHCPDISCOVER, .mac = mac2, .max_size = 1000};
	feed(f, &m);
	reply(f);
	assert_true(f->d.outq[0].len <= 972);
}

static void
test_request_states(void **state)
{
	struct fx *f = *state;
	uint32_t a = dora(f, mac1, 0);
	struct msg m;
	char ip[16];

	ip_str(a, ip);
	assert_int_equal(a, test_ip("10.1.0.100"));
	assert_int_equal(f->d.leases.pools[0].n_bound, 1);
	/* INIT-REBOOT with its own address: ACK. */
	m = (struct msg){.type = NAP_DHCPREQUEST, .requested = ip};
	feed(f, &m);
	assert_int_equal(reply(f), NAP_DHCPACK);
	/* INIT-REBOOT on the wrong network: NAK, broadcast. */
	m.requested = "192.168.7.7";
	feed(f, &m);
	assert_int_equal(reply(f), NAP_DHCPNAK);
	assert_int_equal(f->d.outq[0].dest, DHCPD_DEST_L2_BCAST);
	assert_false(has(f, NAP_DHCP_OPT_LEASE_TIME));
	/* INIT-REBOOT from a client we never saw: silence. */
	m = (struct msg){.type = NAP_DHCPREQUEST, .mac = mac2, .requested = "10.1.0.102"};
	feed(f, &m);
	assert_int_equal(f->d.n_out, 0);
	assert_int_equal(f->d.m.silent, 1);
	/* INIT-REBOOT for another client's address: NAK. */
	m.requested = ip;
	feed(f, &m);
	assert_int_equal(reply(f), NAP_DHCPNAK);
	/* RENEWING (unicast, ciaddr): ACK, unicast to ciaddr:68 with ciaddr echoed. */
	m = (struct msg){.type = NAP_DHCPREQUEST, .ciaddr = ip};
	feed_on(f, &m, 0, false, test_ip("10.1.0.1"));
	assert_int_equal(reply(f), NAP_DHCPACK);
	assert_int_equal(f->d.outq[0].dest, DHCPD_DEST_UDP);
	assert_int_equal(f->d.outq[0].dst_ip, a);
	assert_int_equal(f->d.outq[0].dst_port, 68);
	assert_memory_equal(f->reply.hdr.ciaddr, f->reply.hdr.yiaddr, 4);
	/* RENEWING an address that is free and in the pool (a client we forgot): ACK. */
	m = (struct msg){.type = NAP_DHCPREQUEST, .mac = mac2, .ciaddr = "10.1.0.102"};
	feed_on(f, &m, 0, false, test_ip("10.1.0.1"));
	assert_int_equal(reply(f), NAP_DHCPACK);
	/* REBINDING (broadcast) from an unknown client: silence. */
	m = (struct msg){.type = NAP_DHCPREQUEST, .mac = (const uint8_t *)"\2\0\0\0\0\3",
			 .ciaddr = "10.1.0.101"};
	feed(f, &m);
	assert_int_equal(f->d.n_out, 0);
	/* REBINDING for someone else's address: NAK. */
	m.ciaddr = ip;
	feed(f, &m);
	assert_int_equal(reply(f), NAP_DHCPNAK);
	/* SELECTING another server: silence, and our offer goes back. */
	m = (struct msg){.type = NAP_DHCPDISCOVER, .mac = (const uint8_t *)"\2\0\0\0\0\4"};
	feed(f, &m);
	assert_int_equal(reply(f), NAP_DHCPOFFER);
	assert_int_equal(f->d.leases.pools[0].n_offered, 1);
	m = (struct msg){.type = NAP_DHCPREQUEST, .mac = (const uint8_t *)"\2\0\0\0\0\4",
			 .requested = "10.1.0.101", .server_id = "10.1.0.222"};
	feed(f, &m);
	assert_int_equal(f->d.n_out, 0);
	assert_int_equal(f->d.leases.pools[0].n_offered, 0);
	assert_int_equal(f->d.m.drops[DHCPD_DROP_OTHER_SERVER], 1);
	/* SELECTING an address outside every pool: NAK. */
	m.server_id = "10.1.0.1";
	m.requested = "10.1.0.7";
	feed(f, &m);
	assert_int_equal(reply(f), NAP_DHCPNAK);
	/* REQUEST naming no address at all: counted as malformed. */
	m = (struct msg){.type = NAP_DHCPREQUEST};
	feed(f, &m);
	assert_int_equal(f->d.n_out, 0);
	assert_int_equal(f->d.m.drops[DHCPD_DROP_MALFORMED], 1);
	/* Everything ACKed is in the journal once committed. */
	assert_true(dhcpd_leases_dirty(&f->d.leases));
	dhcpd_commit_and_flush(&f->d);
	assert_false(dhcpd_leases_dirty(&f->d.leases));
}

static void
test_release_decline(void **state)
{
	struct fx *f = *state;
	uint32_t a = dora(f, mac1, 0), b;
	struct msg m;
	char ip[16];

	ip_str(a, ip);
	m = (struct msg){.type = NAP_DHCPRELEASE, .ciaddr = ip, .server_id = "10.1.0.1"};
	feed(f, &m);
	assert_int_equal(f->d.n_out, 0);
	assert_int_equal(f->d.m.releases, 1);
	assert_int_equal(dhcpd_lease_by_addr(&f->d.leases, a)->state, DHCPD_LEASE_FREE);
	/* A RELEASE for an address the client does not hold changes nothing. */
	b = dora(f, mac2, 0);
	ip_str(b, ip);
	m = (struct msg){.type = NAP_DHCPRELEASE, .mac = mac1, .ciaddr = ip};
	feed(f, &m);
	assert_int_equal(dhcpd_lease_by_addr(&f->d.leases, b)->state, DHCPD_LEASE_BOUND);
	/* DECLINE: out of the pool for decline_time; the client gets another address. */
	m = (struct msg){.type = NAP_DHCPDECLINE, .mac = mac2, .requested = ip,
			 .server_id = "10.1.0.1"};
	feed(f, &m);
	assert_int_equal(f->d.n_out, 0);
	assert_int_equal(f->d.m.declines, 1);
	assert_int_equal(dhcpd_lease_by_addr(&f->d.leases, b)->state, DHCPD_LEASE_DECLINED);
	assert_int_not_equal(dora(f, mac2, 0), b);
	f->d.now += 601;
	dhcpd_tick(&f->d);
	assert_int_equal(dhcpd_lease_by_addr(&f->d.leases, b)->state, DHCPD_LEASE_FREE);
}

static void
test_inform(void **state)
{
	struct fx *f = *state;
	struct msg m = {.type = NAP_DHCPINFORM, .ciaddr = "10.1.0.77"};

	feed(f, &m);
	assert_int_equal(reply(f), NAP_DHCPACK);
	assert_false(has(f, NAP_DHCP_OPT_LEASE_TIME));
	assert_false(has(f, NAP_DHCP_OPT_RENEWAL_TIME));
	assert_true(has(f, NAP_DHCP_OPT_ROUTER));
	assert_int_equal(yiaddr(f), 0);
	assert_int_equal(f->d.outq[0].dest, DHCPD_DEST_UDP);
	assert_int_equal(f->d.outq[0].dst_ip, test_ip("10.1.0.77"));
	assert_false(f->d.outq[0].needs_commit);
	assert_int_equal(f->d.leases.pools[0].n_offered + f->d.leases.pools[0].n_bound, 0);
}

static void
test_client_id_and_reservation(void **state)
{
	struct fx *f = *state;
	static const uint8_t cid[] = {0xff, 1, 2, 3, 4, 0, 1, 0, 1, 9, 9, 9, 9};
	struct msg m = {.type = NAP_DHCPDISCOVER, .client_id = cid, .client_id_len = sizeof(cid)};
	uint32_t a;

	feed(f, &m);
	assert_int_equal(reply(f), NAP_DHCPOFFER);
	a = yiaddr(f);
	/* Same client id, another chaddr (a second NIC, a docking station): same offer. */
	m.mac = mac2;
	feed(f, &m);
	reply(f);
	assert_int_equal(yiaddr(f), a);
	/* Same chaddr without the client id: another client. */
	m = (struct msg){.type = NAP_DHCPDISCOVER};
	feed(f, &m);
	reply(f);
	assert_int_not_equal(yiaddr(f), a);
	/* A client id of one byte is malformed (the codec), one over 64 bytes is refused. */
	m = (struct msg){.type = NAP_DHCPDISCOVER, .client_id = cid, .client_id_len = 1};
	feed(f, &m);
	assert_int_equal(f->d.n_out, 0);
	assert_int_equal(f->d.m.drops[DHCPD_DROP_MALFORMED], 1);
	{
		uint8_t longid[DHCPD_ID_MAX + 1];

		memset(longid, 7, sizeof(longid));
		m = (struct msg){.type = NAP_DHCPDISCOVER, .client_id = longid,
				 .client_id_len = sizeof(longid)};
		feed(f, &m);
		assert_int_equal(f->d.n_out, 0);
		assert_int_equal(f->d.m.drops[DHCPD_DROP_BAD_CLIENT_ID], 1);
	}
	/* The reserved MAC always gets its address, with its host name. */
	assert_int_equal(dora(f, macr, 0), test_ip("10.1.0.50"));
	{
		const struct nap_dhcp_option *o = nap_dhcp_find(&f->reply, NAP_DHCP_OPT_HOSTNAME);

		assert_non_null(o);
		assert_memory_equal(o->value, "printer", 7);
	}
	/* Nobody else gets it. */
	m = (struct msg){.type = NAP_DHCPREQUEST, .mac = mac2, .requested = "10.1.0.50",
			 .server_id = "10.1.0.1"};
	feed(f, &m);
	assert_int_equal(reply(f), NAP_DHCPNAK);
	/* And the reserved client asking for another address is sent to its own. */
	m = (struct msg){.type = NAP_DHCPREQUEST, .mac = macr, .requested = "10.1.0.101"};
	feed(f, &m);
	assert_int_equal(reply(f), NAP_DHCPNAK);
}

static void
test_relay(void **state)
{
	struct fx *f = *state;
	static const uint8_t o82[] = {1, 4, 'p', 'o', 'r', 't', 2, 3, 'r', 'i', 'd'};
	struct msg m = {.type = NAP_DHCPDISCOVER, .giaddr = "10.2.0.1", .relay = o82,
			.relay_len = sizeof(o82)};
	const struct nap_dhcp_option *o;
	const struct nap_dhcp_part *last;

	/* On an interface socket whose own scope is a: giaddr picks scope nap. */
	feed_on(f, &m, 0, false, test_ip("10.1.0.1"));
	assert_int_equal(reply(f), NAP_DHCPOFFER);
	assert_int_equal(yiaddr(f), test_ip("10.2.0.100"));
	assert_memory_equal(f->reply.hdr.giaddr, "\x0a\x02\x00\x01", 4);
	o = nap_dhcp_find(&f->reply, NAP_DHCP_OPT_RELAY_AGENT);
	assert_non_null(o);
	assert_int_equal(o->len, sizeof(o82));
	assert_memory_equal(o->value, o82, sizeof(o82));
	last = &f->reply.parts[f->reply.n_parts - 1];
	assert_int_equal(last->code, NAP_DHCP_OPT_RELAY_AGENT); /* last option */
	assert_int_equal(f->d.outq[0].dest, DHCPD_DEST_UDP);
	assert_int_equal(f->d.outq[0].dst_ip, test_ip("10.2.0.1"));
	assert_int_equal(f->d.outq[0].dst_port, 67);
	/* On a listen socket: back to the relay at its source port. */
	feed_on(f, &m, -1, true, test_ip("127.0.0.1"));
	reply(f);
	assert_int_equal(f->d.outq[0].dst_ip, test_ip("10.2.0.1"));
	assert_int_equal(f->d.outq[0].dst_port, 40000);
	/* A NAK through the relay carries the broadcast flag (RFC 2131 §4.3.2). */
	{
		struct msg n = {.type = NAP_DHCPREQUEST, .giaddr = "10.2.0.1",
				.requested = "192.168.1.1"};

		feed_on(f, &n, -1, true, test_ip("127.0.0.1"));
		assert_int_equal(reply(f), NAP_DHCPNAK);
		assert_true(f->reply.hdr.flags & NAP_DHCP_FLAG_BROADCAST);
		assert_int_equal(f->d.outq[0].dst_ip, test_ip("10.2.0.1"));
	}
	/* A giaddr in no scope: dropped and counted. */
	m.giaddr = "172.16.0.1";
	feed(f, &m);
	assert_int_equal(f->d.n_out, 0);
	assert_int_equal(f->d.m.drops[DHCPD_DROP_NO_SCOPE], 1);
}

static void
test_bad_packets(void **state)
{
	struct fx *f = *state;
	struct dhcpd_rx rx = {.sock = 0, .scope = 0, .local = test_ip("10.1.0.1")};
	uint8_t buf[NAP_DHCP_MAX_LEN];
	struct msg m = {.type = NAP_DHCPDISCOVER};
	size_t n = build(&m, buf);

	dhcpd_handle(&f->d, buf, 100, &rx); /* truncated */
	dhcpd_handle(&f->d, buf, 0, &rx);
	buf[0] = NAP_DHCP_BOOTREPLY; /* a server's message */
	dhcpd_handle(&f->d, buf, n, &rx);
	buf[0] = NAP_DHCP_BOOTREQUEST;
	buf[2] = 0; /* hlen 0 */
	dhcpd_handle(&f->d, buf, n, &rx);
	buf[2] = 6;
	m.type = NAP_DHCPACK; /* a server's type from a client */
	n = build(&m, buf);
	dhcpd_handle(&f->d, buf, n, &rx);
	m.type = 0x77;
	n = build(&m, buf);
	dhcpd_handle(&f->d, buf, n, &rx);
	assert_int_equal(f->d.n_out, 0);
	assert_int_equal(f->d.m.drops[DHCPD_DROP_MALFORMED], 3);
	assert_int_equal(f->d.m.drops[DHCPD_DROP_NOT_REQUEST], 1);
	assert_int_equal(f->d.m.drops[DHCPD_DROP_BAD_TYPE], 2);
	/* Still serving. */
	assert_int_equal(dora(f, mac1, 0), test_ip("10.1.0.100"));
}

static void
test_pool_exhausted(void **state)
{
	struct fx *f = *state;
	uint8_t mac[6] = {2, 9, 0, 0, 0, 0};
	struct msg m = {.type = NAP_DHCPDISCOVER, .mac = mac};

	for (int i = 0; i < 3; i++) {
		mac[5] = (uint8_t)i;
		dora(f, mac, 0);
	}
	mac[5] = 9;
	feed(f, &m);
	assert_int_equal(f->d.n_out, 0);
	assert_int_equal(f->d.m.drops[DHCPD_DROP_POOL_EXHAUSTED], 1);
}

static void
test_nap_marker_and_incapable(void **state)
{
	struct fx *f = *state;
	static const uint8_t probe[] = {220, 0};
	struct msg m = {.type = NAP_DHCPDISCOVER, .opt43 = probe, .opt43_len = sizeof(probe)};
	struct nap_dhcp_nap nap;
	struct nap_err err;
	uint8_t a[4];
	uint32_t v;
	char ip[16];

	feed_on(f, &m, 1, false, 0xffffffffu);
	assert_int_equal(reply(f), NAP_DHCPOFFER);
	assert_int_equal(nap_dhcp_nap_parse(&f->reply, &nap, &err), 0);
	assert_true(nap.present);
	assert_int_equal(nap.soh_kind, NAP_DHCP_SOH_MARKER);
	/* REQUEST with the probe only: NAP-incapable -> restricted in this scope. */
	ip_str(yiaddr(f), ip);
	m = (struct msg){.type = NAP_DHCPREQUEST, .requested = ip, .server_id = "10.1.0.1",
			 .opt43 = probe, .opt43_len = sizeof(probe)};
	feed_on(f, &m, 1, false, 0xffffffffu);
	assert_int_equal(reply(f), NAP_DHCPACK);
	assert_true(nap_dhcp_get_ipv4(&f->reply, NAP_DHCP_OPT_SUBNET_MASK, a));
	assert_memory_equal(a, "\xff\xff\xff\xff", 4);
	assert_false(has(f, NAP_DHCP_OPT_ROUTER));
	assert_true(nap_dhcp_lease_time(&f->reply, &v));
	assert_int_equal(v, 300);
	assert_true(dhcpd_lease_by_addr(&f->d.leases, test_ip(ip))->restricted);
	/* A client sending an SoH with no napvd configured: nap_fail (restricted here). */
	{
		static const uint8_t soh[] = {220, 4, 1, 2, 3, 4};

		m = (struct msg){.type = NAP_DHCPREQUEST, .mac = mac2, .requested = "10.2.0.105",
				 .server_id = "10.1.0.1", .opt43 = soh, .opt43_len = sizeof(soh)};
		feed_on(f, &m, 1, false, 0xffffffffu);
		assert_int_equal(reply(f), NAP_DHCPACK);
		assert_true(nap_dhcp_get_ipv4(&f->reply, NAP_DHCP_OPT_SUBNET_MASK, a));
		assert_memory_equal(a, "\xff\xff\xff\xff", 4);
		/* nap_fail = drop: no answer at all. */
		m.requested = "10.3.0.105";
		feed_on(f, &m, 2, false, 0xffffffffu);
		assert_int_equal(f->d.n_out, 0);
		assert_int_equal(f->d.m.drops[DHCPD_DROP_NAP], 1);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_discover_offer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prl_and_max_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_states, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_decline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inform, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_id_and_reservation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_packets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool_exhausted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nap_marker_and_incapable, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
