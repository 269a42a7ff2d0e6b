// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * libFuzzer harness for napdhcpd's NAP side (daemons/napdhcpd/nap.c) on untrusted input. The
 * first byte picks the path, the rest is the input:
 *   even: a DHCP request: decode, parse the NAP sub-options, classify for a NAP-on scope, build
 *         the query (machine name from options 81 / 12 / the SSoH), then the reply options for
 *         a restricted verdict; the reply must decode again and carry the invariants (mask
 *         255.255.255.255, no router, the echoed CoID).
 *   odd:  a RADIUS answer from napvd: decode, map to a verdict (checked for bounds), then the
 *         reply options for that verdict.
 * Any broken invariant aborts.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nap.h"
#include "nap/radius.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

static struct nap_dhcp_packet pkt, reply;
static struct nap_dhcp_nap nap, reply_nap;
static struct nap_dhcp_builder b;
static struct nap_radius_packet rad;
static struct dhcpd_nap_verdict v;

static const struct dhcpd_nap_net net = {
	.subnet = {10, 0, 0, 0},
	.mask = {255, 255, 255, 0},
	.has_router = true,
	.router = {10, 0, 0, 1},
};

static void
build_reply(const struct dhcpd_scope_nap *sn, const struct dhcpd_nap_verdict *verdict,
	    const struct nap_dhcp_nap *client)
{
	struct nap_dhcp_header h = {.op = NAP_DHCP_BOOTREPLY, .htype = 1, .hlen = 6};
	struct nap_err err = {0};
	const uint8_t *out;
	size_t out_len;
	uint8_t mask[4];
	int r;

	nap_dhcp_build_init(&b, &h, NAP_DHCP_MAX_LEN);
	r = dhcpd_nap_add_options(&b, sn, &net, verdict, client);
	if (r == -EMSGSIZE)
		return;
	CHECK(r == 0);
	CHECK(nap_dhcp_finish(&b, &out, &out_len) == 0);
	CHECK(nap_dhcp_decode(out, out_len, &reply, &err) == 0);
	CHECK(nap_dhcp_nap_parse(&reply, &reply_nap, &err) == 0);
	CHECK(nap_dhcp_find(&reply, NAP_DHCP_OPT_ROUTER) == NULL);
	if (dhcpd_nap_restricts(verdict)) {
		CHECK(nap_dhcp_get_ipv4(&reply, NAP_DHCP_OPT_SUBNET_MASK, mask));
		CHECK(memcmp(mask, "\xff\xff\xff\xff", 4) == 0);
	}
	if (client != NULL && client->present && client->has_coid && reply_nap.present) {
		CHECK(reply_nap.has_coid);
		CHECK(memcmp(reply_nap.coid, client->coid, NAP_DHCP_COID_LEN) == 0);
	}
	if (reply_nap.present && verdict != NULL && verdict->sohr_len > 0) {
		CHECK(reply_nap.soh_len == verdict->sohr_len);
		CHECK(memcmp(reply_nap.soh, verdict->sohr, verdict->sohr_len) == 0);
	}
}

static void
dhcp_path(const struct dhcpd_scope_nap *sn, const uint8_t *p, size_t n)
{
	struct nap_err err = {0};
	struct dhcpd_nap_query q;
	enum dhcpd_nap_decision d;

	if (nap_dhcp_decode(p, n, &pkt, &err) < 0)
		return;
	if (nap_dhcp_nap_parse(&pkt, &nap, &err) < 0)
		memset(&nap, 0, offsetof(struct nap_dhcp_nap, soh_buf));
	d = dhcpd_nap_classify(sn, &pkt, &nap);
	CHECK((unsigned)d < DHCPD_NAP_DECISION_COUNT);
	dhcpd_nap_query_init(&q, sn, &pkt, &nap);
	CHECK(strlen(q.machine_name) <= DHCPD_NAP_NAME_MAX);
	for (size_t i = 0; q.machine_name[i] != '\0'; i++)
		CHECK((unsigned char)q.machine_name[i] >= 0x20 &&
		      (unsigned char)q.machine_name[i] < 0x7f);
	if (d == DHCPD_NAP_CHECK)
		CHECK(q.soh != NULL && q.soh_len > 0);
	/* A restricted verdict with napvd's usual answer, for this client. */
	memset(&v, 0, sizeof(v));
	v.action = DHCPD_NAP_ACT_RESTRICTED;
	v.source = DHCPD_NAP_SRC_NAPVD;
	v.n_remediation = 2;
	memcpy(v.remediation[0], "\xc0\x00\x02\x0a", 4);
	memcpy(v.remediation[1], "\x0a\x00\x00\x05", 4);
	v.sohr_len = q.soh_len < sizeof(v.sohr) ? q.soh_len : sizeof(v.sohr);
	if (v.sohr_len > 0)
		memcpy(v.sohr, q.soh, v.sohr_len);
	build_reply(sn, &v, &nap);
	build_reply(sn, NULL, &nap);
}

static void
radius_path(const struct dhcpd_scope_nap *sn, const uint8_t *p, size_t n)
{
	struct nap_err err = {0};

	if (nap_radius_decode(p, n, &rad, &err) < 0)
		return;
	if (!dhcpd_nap_map_reply(&rad, &v))
		return;
	CHECK((unsigned)v.action < DHCPD_NAP_ACT_COUNT);
	CHECK(v.n_remediation <= DHCPD_NAP_MAX_REMEDIATION);
	CHECK(v.sohr_len <= DHCPD_NAP_SOHR_MAX);
	CHECK(strlen(v.user_class) <= DHCPD_NAP_NAME_MAX);
	if (rad.code == NAP_RADIUS_ACCESS_REJECT)
		CHECK(v.action == DHCPD_NAP_ACT_DROP);
	CHECK(dhcpd_nap_lease_time(&v, sn, 86400, 1800000000) <= 86400);
	memset(&nap, 0, offsetof(struct nap_dhcp_nap, soh_buf));
	nap.present = true;
	nap.has_coid = true;
	memset(nap.coid, 0x5a, sizeof(nap.coid));
	build_reply(sn, &v, &nap);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dhcpd_scope_nap sn;
	char err[64];

	if (size < 1)
		return 0;
	dhcpd_scope_nap_init(&sn);
	CHECK(dhcpd_scope_nap_set(&sn, "nap", "on", err, sizeof(err)) == 0);
	if (data[0] & 1)
		radius_path(&sn, data + 1, size - 1);
	else
		dhcp_path(&sn, data + 1, size - 1);
	return 0;
}
