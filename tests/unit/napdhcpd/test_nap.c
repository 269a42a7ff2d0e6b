// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Unit tests of napdhcpd's NAP side (daemons/napdhcpd/nap.c): the scope and [napvd] knobs, the
 * classification table, the Access-Request's attributes (decoded with nap_radius_decode), the
 * mapping of every answer napvd gives (Access-Accept full / restricted / probation, Reject, a bad
 * state, no answer), the verdict cache (TTL, off, eviction, coalescing), and the options of
 * restricted / probation / NAP-marked replies (decoded with nap_dhcp_decode). napvd is played
 * by a UDP socket on 127.0.0.1 that the test answers itself; the clock is the test's.
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "nap.h"
#include "nap/radius.h"
#include "nap/sample.h"
#include "nap/soh.h"

#define SECRET "napdhcpd-unit-secret"

static const uint8_t mac_a[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0a};
static const uint8_t mac_b[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0b};
static const uint8_t mac_c[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0c};

/* ---- DHCP packets a client would send ---- */

struct client_opts {
	int type;
	const uint8_t *mac;
	enum nap_dhcp_soh_kind nap; /* ABSENT, PROBE, PROBE_RENEW, DATA */
	const uint8_t *soh;
	size_t soh_len;
	const char *user_class; /* sent as a plain string (Windows) */
	const char *hostname;
	const uint8_t *fqdn; /* option 81 value as is */
	size_t fqdn_len;
};

static uint8_t coid[NAP_DHCP_COID_LEN];

static void
client_packet(const struct client_opts *o, struct nap_dhcp_packet *pkt, struct nap_dhcp_nap *nap)
{
	static struct nap_dhcp_builder b;
	struct nap_dhcp_header h = {0};
	struct nap_err err = {0};
	const uint8_t *p;
	size_t n;

	h.op = NAP_DHCP_BOOTREQUEST;
	h.htype = 1;
	h.hlen = 6;
	h.xid = 0x12345678;
	memcpy(h.chaddr, o->mac != NULL ? o->mac : mac_a, 6);
	nap_dhcp_build_init(&b, &h, 1500);
	assert_int_equal(nap_dhcp_add_u8(&b, NAP_DHCP_OPT_MESSAGE_TYPE, (uint8_t)o->type), 0);
	if (o->user_class != NULL)
		assert_int_equal(nap_dhcp_add_option(&b, NAP_DHCP_OPT_USER_CLASS, o->user_class,
						     strlen(o->user_class)),
				 0);
	if (o->hostname != NULL)
		assert_int_equal(nap_dhcp_add_option(&b, NAP_DHCP_OPT_HOSTNAME, o->hostname,
						     strlen(o->hostname)),
				 0);
	if (o->fqdn != NULL)
		assert_int_equal(nap_dhcp_add_option(&b, NAP_DHCP_OPT_CLIENT_FQDN, o->fqdn,
						     o->fqdn_len),
				 0);
	switch (o->nap) {
	case NAP_DHCP_SOH_PROBE:
	case NAP_DHCP_SOH_PROBE_RENEW:
		assert_int_equal(nap_dhcp_add_nap_probe(&b, coid, o->nap == NAP_DHCP_SOH_PROBE_RENEW),
				 0);
		break;
	case NAP_DHCP_SOH_DATA:
		assert_int_equal(nap_dhcp_add_nap_soh(&b, o->soh, o->soh_len, coid), 0);
		break;
	default:
		break;
	}
	assert_int_equal(nap_dhcp_finish(&b, &p, &n), 0);
	assert_int_equal(nap_dhcp_decode(p, n, pkt, &err), 0);
	assert_int_equal(nap_dhcp_nap_parse(pkt, nap, &err), 0);
}

static uint8_t *
make_soh(const char *machine, bool compliant, size_t *len)
{
	struct nap_sample_spec spec = {
		.machine_name = machine,
		.compliant = compliant,
		.revision = 5,
		.generation_time = 1760000000,
		.eval_time = 1760000000,
		.with_wsh = true, /* over 247 bytes: split over several VSAs */
	};
	uint8_t *soh;

	assert_int_equal(nap_sample_soh_build(&spec, &soh, len), 0);
	return soh;
}

/* ---- configuration ---- */

static void
test_scope_knobs(void **state)
{
	struct dhcpd_scope_nap sn;
	char err[256];

	(void)state;
	dhcpd_scope_nap_init(&sn);
	assert_false(sn.enabled);
	assert_int_equal(sn.incapable, DHCPD_NAP_MODE_FULL);
	assert_int_equal(sn.fail, DHCPD_NAP_MODE_FULL);
	assert_int_equal(sn.cache_ttl, 30);
	assert_int_equal(sn.restricted_lease_time, 300);
	assert_int_equal(sn.n_exempt_classes, 1);
	assert_string_equal(sn.exempt_classes[0], "MSFT Quarantine");

	assert_int_equal(dhcpd_scope_nap_set(&sn, "nap", "on", err, sizeof(err)), 0);
	assert_true(sn.enabled);
	assert_int_equal(dhcpd_scope_nap_set(&sn, "nap_incapable", "restricted", err, sizeof(err)),
			 0);
	assert_int_equal(sn.incapable, DHCPD_NAP_MODE_RESTRICTED);
	assert_int_equal(dhcpd_scope_nap_set(&sn, "nap_fail", "drop", err, sizeof(err)), 0);
	assert_int_equal(sn.fail, DHCPD_NAP_MODE_DROP);
	assert_int_equal(dhcpd_scope_nap_set(&sn, "nap_fail", "none", err, sizeof(err)), 0);
	assert_int_equal(sn.fail, DHCPD_NAP_MODE_DROP);
	assert_int_equal(dhcpd_scope_nap_set(&sn, "exempt_mac",
					     "02:00:00:00:00:0b, 02-00-00-00-00-0C", err,
					     sizeof(err)),
			 0);
	assert_int_equal(sn.n_exempt_macs, 2);
	assert_memory_equal(sn.exempt_macs[1], mac_c, 6);
	assert_int_equal(dhcpd_scope_nap_set(&sn, "exempt_user_class", "lab", err, sizeof(err)), 0);
	assert_int_equal(sn.n_exempt_classes, 1); /* the first one replaces the default */
	assert_int_equal(dhcpd_scope_nap_set(&sn, "exempt_user_class", "MSFT Quarantine", err,
					     sizeof(err)),
			 0);
	assert_int_equal(sn.n_exempt_classes, 2);
	assert_int_equal(dhcpd_scope_nap_set(&sn, "restricted_lease_time", "2m", err, sizeof(err)),
			 0);
	assert_int_equal(sn.restricted_lease_time, 120);
	assert_int_equal(dhcpd_scope_nap_set(&sn, "verdict_cache_ttl", "0", err, sizeof(err)), 0);
	assert_int_equal(sn.cache_ttl, 0);
	assert_int_equal(dhcpd_scope_nap_set(&sn, "service_class", "office", err, sizeof(err)), 0);
	assert_string_equal(sn.service_class, "office");
	assert_int_equal(dhcpd_scope_nap_set(&sn, "nap_remediation", "192.0.2.10 192.0.2.11", err,
					     sizeof(err)),
			 0);
	assert_int_equal(sn.n_remediation, 2);

	/* Not NAP keys, and bad values with a message. */
	assert_int_equal(dhcpd_scope_nap_set(&sn, "router", "10.0.0.1", err, sizeof(err)), 1);
	err[0] = '\0';
	assert_int_equal(dhcpd_scope_nap_set(&sn, "nap", "maybe", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "maybe"));
	assert_int_equal(dhcpd_scope_nap_set(&sn, "nap_incapable", "partial", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(dhcpd_scope_nap_set(&sn, "exempt_mac", "02:00:00:00:00", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(dhcpd_scope_nap_set(&sn, "exempt_mac", "02:00:00:00:00:zz", err,
					     sizeof(err)),
			 -EINVAL);
	assert_int_equal(dhcpd_scope_nap_set(&sn, "restricted_lease_time", "5", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(dhcpd_scope_nap_set(&sn, "verdict_cache_ttl", "-1", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(dhcpd_scope_nap_set(&sn, "service_class", "a\tb", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(dhcpd_scope_nap_set(&sn, "nap_remediation", "192.0.2.300", err,
					     sizeof(err)),
			 -EINVAL);
	assert_int_equal(dhcpd_scope_nap_set(&sn, "exempt_user_class", "none", err, sizeof(err)), 0);
	assert_int_equal(sn.n_exempt_classes, 0);
	assert_string_equal(dhcpd_nap_mode_name(DHCPD_NAP_MODE_RESTRICTED), "restricted");
}

static void
test_server_knobs(void **state)
{
	struct dhcpd_nap_servers s;
	char err[256];

	(void)state;
	dhcpd_nap_servers_init(&s);
	assert_int_equal(s.timeout_ms, 1000);
	assert_int_equal(s.retries, 1);
	assert_string_equal(s.nas_identifier, "napdhcpd");
	assert_int_equal(dhcpd_nap_servers_set(&s, "server", "127.0.0.1:1812 127.0.0.2:1812", err,
					       sizeof(err)),
			 0);
	assert_int_equal(dhcpd_nap_servers_set(&s, "server", "[::1]:1812", err, sizeof(err)), 0);
	assert_int_equal(s.n_servers, 3);
	assert_string_equal(s.server[2], "[::1]:1812");
	assert_int_equal(dhcpd_nap_servers_set(&s, "timeout", "250ms", err, sizeof(err)), 0);
	assert_int_equal(s.timeout_ms, 250);
	assert_int_equal(dhcpd_nap_servers_set(&s, "timeout", "2s", err, sizeof(err)), 0);
	assert_int_equal(s.timeout_ms, 2000);
	assert_int_equal(dhcpd_nap_servers_set(&s, "retries", "3", err, sizeof(err)), 0);
	assert_int_equal(dhcpd_nap_servers_set(&s, "nas_ip", "192.0.2.1", err, sizeof(err)), 0);
	assert_true(s.has_nas_ip);
	assert_int_equal(dhcpd_nap_servers_set(&s, "verdict_cache_size", "10", err, sizeof(err)), 0);
	assert_int_equal(s.cache_size, 10);
	assert_int_equal(dhcpd_nap_servers_set(&s, "listen", "x", err, sizeof(err)), 1);
	assert_int_equal(dhcpd_nap_servers_set(&s, "timeout", "0", err, sizeof(err)), -EINVAL);
	assert_int_equal(dhcpd_nap_servers_set(&s, "timeout", "xms", err, sizeof(err)), -EINVAL);
	assert_int_equal(dhcpd_nap_servers_set(&s, "retries", "11", err, sizeof(err)), -EINVAL);
	assert_int_equal(dhcpd_nap_servers_set(&s, "nas_ip", "::1", err, sizeof(err)), -EINVAL);
}

/* ---- classification ---- */

static void
test_classify(void **state)
{
	static struct nap_dhcp_packet pkt;
	static struct nap_dhcp_nap nap;
	struct dhcpd_scope_nap sn, off;
	uint8_t soh[64] = {0x00, 0x02};
	char err[128];
	static const struct {
		struct client_opts o;
		enum dhcpd_nap_decision want, want_off;
	} table[] = {
		{{NAP_DHCPDISCOVER, NULL, NAP_DHCP_SOH_PROBE, NULL, 0, NULL, NULL, NULL, 0},
		 DHCPD_NAP_MARKER, DHCPD_NAP_PLAIN},
		{{NAP_DHCPDISCOVER, NULL, NAP_DHCP_SOH_ABSENT, NULL, 0, NULL, NULL, NULL, 0},
		 DHCPD_NAP_PLAIN, DHCPD_NAP_PLAIN},
		/* dhclient sends the same option 43 (a whole SoH) in every message */
		{{NAP_DHCPDISCOVER, NULL, NAP_DHCP_SOH_DATA, NULL, 0, NULL, NULL, NULL, 0},
		 DHCPD_NAP_MARKER, DHCPD_NAP_PLAIN},
		{{NAP_DHCPINFORM, NULL, NAP_DHCP_SOH_PROBE_RENEW, NULL, 0, NULL, NULL, NULL, 0},
		 DHCPD_NAP_MARKER, DHCPD_NAP_PLAIN},
		{{NAP_DHCPINFORM, NULL, NAP_DHCP_SOH_ABSENT, NULL, 0, NULL, NULL, NULL, 0},
		 DHCPD_NAP_PLAIN, DHCPD_NAP_PLAIN},
		{{NAP_DHCPREQUEST, NULL, NAP_DHCP_SOH_DATA, NULL, 0, NULL, NULL, NULL, 0},
		 DHCPD_NAP_CHECK, DHCPD_NAP_PLAIN},
		{{NAP_DHCPREQUEST, NULL, NAP_DHCP_SOH_PROBE_RENEW, NULL, 0, NULL, NULL, NULL, 0},
		 DHCPD_NAP_INCAPABLE, DHCPD_NAP_PLAIN},
		{{NAP_DHCPREQUEST, NULL, NAP_DHCP_SOH_PROBE, NULL, 0, NULL, NULL, NULL, 0},
		 DHCPD_NAP_INCAPABLE, DHCPD_NAP_PLAIN},
		{{NAP_DHCPREQUEST, NULL, NAP_DHCP_SOH_ABSENT, NULL, 0, NULL, NULL, NULL, 0},
		 DHCPD_NAP_INCAPABLE, DHCPD_NAP_PLAIN},
		{{NAP_DHCPREQUEST, NULL, NAP_DHCP_SOH_DATA, NULL, 0, "MSFT Quarantine", NULL, NULL, 0},
		 DHCPD_NAP_EXEMPT, DHCPD_NAP_PLAIN},
		{{NAP_DHCPREQUEST, NULL, NAP_DHCP_SOH_ABSENT, NULL, 0, "MSFT Quarantine", NULL, NULL,
		  0},
		 DHCPD_NAP_EXEMPT, DHCPD_NAP_PLAIN},
		{{NAP_DHCPDISCOVER, NULL, NAP_DHCP_SOH_PROBE, NULL, 0, "MSFT Quarantine", NULL, NULL,
		  0},
		 DHCPD_NAP_EXEMPT, DHCPD_NAP_PLAIN},
		{{NAP_DHCPREQUEST, NULL, NAP_DHCP_SOH_DATA, NULL, 0, "other class", NULL, NULL, 0},
		 DHCPD_NAP_CHECK, DHCPD_NAP_PLAIN},
		{{NAP_DHCPREQUEST, mac_b, NAP_DHCP_SOH_DATA, NULL, 0, NULL, NULL, NULL, 0},
		 DHCPD_NAP_EXEMPT, DHCPD_NAP_PLAIN},
		{{NAP_DHCPREQUEST, mac_b, NAP_DHCP_SOH_ABSENT, NULL, 0, NULL, NULL, NULL, 0},
		 DHCPD_NAP_EXEMPT, DHCPD_NAP_PLAIN},
		{{NAP_DHCPRELEASE, NULL, NAP_DHCP_SOH_DATA, NULL, 0, NULL, NULL, NULL, 0},
		 DHCPD_NAP_PLAIN, DHCPD_NAP_PLAIN},
		{{NAP_DHCPDECLINE, NULL, NAP_DHCP_SOH_ABSENT, NULL, 0, NULL, NULL, NULL, 0},
		 DHCPD_NAP_PLAIN, DHCPD_NAP_PLAIN},
	};

	(void)state;
	dhcpd_scope_nap_init(&off);
	dhcpd_scope_nap_init(&sn);
	assert_int_equal(dhcpd_scope_nap_set(&sn, "nap", "on", err, sizeof(err)), 0);
	assert_int_equal(dhcpd_scope_nap_set(&sn, "exempt_mac", "02:00:00:00:00:0b", err,
					     sizeof(err)),
			 0);
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		struct client_opts o = table[i].o;

		if (o.nap == NAP_DHCP_SOH_DATA) {
			o.soh = soh;
			o.soh_len = sizeof(soh);
		}
		client_packet(&o, &pkt, &nap);
		if (dhcpd_nap_classify(&sn, &pkt, &nap) != table[i].want)
			fail_msg("row %zu: %s, want %s", i,
				 dhcpd_nap_decision_name(dhcpd_nap_classify(&sn, &pkt, &nap)),
				 dhcpd_nap_decision_name(table[i].want));
		assert_int_equal(dhcpd_nap_classify(&off, &pkt, &nap), table[i].want_off);
	}
	/* An option 43 that did not parse: the caller passes nap with present = false. */
	{
		struct client_opts o = {NAP_DHCPREQUEST, NULL, NAP_DHCP_SOH_ABSENT, NULL, 0,
					NULL, NULL, NULL, 0};

		client_packet(&o, &pkt, &nap);
		assert_int_equal(dhcpd_nap_classify(&sn, &pkt, NULL), DHCPD_NAP_INCAPABLE);
	}
	/* A custom exempt class replaces "MSFT Quarantine". */
	assert_int_equal(dhcpd_scope_nap_set(&sn, "exempt_user_class", "lab", err, sizeof(err)), 0);
	{
		struct client_opts o = {NAP_DHCPREQUEST, NULL, NAP_DHCP_SOH_DATA, soh, sizeof(soh),
					"MSFT Quarantine", NULL, NULL, 0};

		client_packet(&o, &pkt, &nap);
		assert_int_equal(dhcpd_nap_classify(&sn, &pkt, &nap), DHCPD_NAP_CHECK);
		o.user_class = "lab";
		client_packet(&o, &pkt, &nap);
		assert_int_equal(dhcpd_nap_classify(&sn, &pkt, &nap), DHCPD_NAP_EXEMPT);
	}
}

/* Machine name for MS-Machine-Name: option 81 (ASCII or wire form), option 12, the SSoH. */
static void
test_query_machine_name(void **state)
{
	static struct nap_dhcp_packet pkt;
	static struct nap_dhcp_nap nap;
	struct dhcpd_scope_nap sn;
	struct dhcpd_nap_query q;
	static const uint8_t fqdn_ascii[] = "\x01\x00\x00pc1.example.org";
	static const uint8_t fqdn_wire[] = {0x05, 0, 0, 3, 'p', 'c', '2', 7, 'e', 'x', 'a', 'm',
					    'p', 'l', 'e', 0};
	size_t soh_len;
	uint8_t *soh = make_soh("ssoh-name.example", true, &soh_len);
	struct client_opts o = {NAP_DHCPREQUEST, mac_a, NAP_DHCP_SOH_DATA, soh, soh_len, NULL,
				"host12", fqdn_ascii, sizeof(fqdn_ascii) - 1};

	(void)state;
	dhcpd_scope_nap_init(&sn);
	client_packet(&o, &pkt, &nap);
	dhcpd_nap_query_init(&q, &sn, &pkt, &nap);
	assert_string_equal(q.machine_name, "pc1.example.org");
	assert_memory_equal(q.mac, mac_a, 6);
	assert_int_equal(q.soh_len, soh_len);
	assert_memory_equal(q.soh, soh, soh_len);
	assert_int_equal(q.xid, 0x12345678);

	o.fqdn = fqdn_wire;
	o.fqdn_len = sizeof(fqdn_wire);
	client_packet(&o, &pkt, &nap);
	dhcpd_nap_query_init(&q, &sn, &pkt, &nap);
	assert_string_equal(q.machine_name, "pc2.example");

	o.fqdn = NULL;
	client_packet(&o, &pkt, &nap);
	dhcpd_nap_query_init(&q, &sn, &pkt, &nap);
	assert_string_equal(q.machine_name, "host12");

	o.hostname = NULL;
	client_packet(&o, &pkt, &nap);
	dhcpd_nap_query_init(&q, &sn, &pkt, &nap);
	assert_string_equal(q.machine_name, "ssoh-name.example");

	/* A host name with a control character is no name: fall back to the SSoH. */
	o.hostname = "bad\001name";
	client_packet(&o, &pkt, &nap);
	dhcpd_nap_query_init(&q, &sn, &pkt, &nap);
	assert_string_equal(q.machine_name, "ssoh-name.example");
	free(soh);
}

/* ---- checks against a fake napvd ---- */

struct fake {
	int fd;
	struct sockaddr_in addr;
	struct sockaddr_storage from;
	socklen_t from_len;
	uint8_t buf[NAP_RADIUS_MAX_LEN];
	size_t len;
	struct nap_radius_packet req;
	struct nap_radius_secret *secret;
};

struct env {
	struct fake srv;
	char secret_path[64];
	struct dhcpd_nap_servers servers;
	struct dhcpd_scope_nap sn;
	struct dhcpd_nap *nap;
	int64_t now;
	uint8_t *soh;
	size_t soh_len;
};

struct got {
	int calls;
	struct dhcpd_nap_verdict v;
};

static void
on_done(void *arg, const struct dhcpd_nap_verdict *v)
{
	struct got *g = arg;

	g->calls++;
	g->v = *v;
}

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	socklen_t l = sizeof(e->srv.addr);
	char srv[64], err[256];
	int fd;

	assert_non_null(e);
	e->srv.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(e->srv.fd >= 0);
	e->srv.addr.sin_family = AF_INET;
	e->srv.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(e->srv.fd, (struct sockaddr *)&e->srv.addr, sizeof(e->srv.addr)), 0);
	assert_int_equal(getsockname(e->srv.fd, (struct sockaddr *)&e->srv.addr, &l), 0);
	assert_int_equal(nap_radius_secret_new((const uint8_t *)SECRET, strlen(SECRET),
					       &e->srv.secret),
			 0);

	snprintf(e->secret_path, sizeof(e->secret_path), "/tmp/test_nap_secret.XXXXXX");
	fd = mkstemp(e->secret_path);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0600), 0);
	assert_int_equal(write(fd, SECRET "\n", strlen(SECRET) + 1), (ssize_t)strlen(SECRET) + 1);
	close(fd);

	dhcpd_nap_servers_init(&e->servers);
	snprintf(srv, sizeof(srv), "127.0.0.1:%u", ntohs(e->srv.addr.sin_port));
	assert_int_equal(dhcpd_nap_servers_set(&e->servers, "server", srv, err, sizeof(err)), 0);
	assert_int_equal(dhcpd_nap_servers_set(&e->servers, "secret_file", e->secret_path, err,
					       sizeof(err)),
			 0);
	assert_int_equal(dhcpd_nap_servers_set(&e->servers, "nas_ip", "192.0.2.1", err,
					       sizeof(err)),
			 0);
	assert_int_equal(dhcpd_nap_servers_set(&e->servers, "nas_identifier", "dhcp-1", err,
					       sizeof(err)),
			 0);
	assert_int_equal(dhcpd_nap_servers_set(&e->servers, "timeout", "200ms", err, sizeof(err)),
			 0);
	assert_int_equal(dhcpd_nap_servers_set(&e->servers, "retries", "0", err, sizeof(err)), 0);
	assert_int_equal(dhcpd_nap_new(&e->servers, &e->nap, err, sizeof(err)), 0);

	dhcpd_scope_nap_init(&e->sn);
	assert_int_equal(dhcpd_scope_nap_set(&e->sn, "nap", "on", err, sizeof(err)), 0);
	assert_int_equal(dhcpd_scope_nap_set(&e->sn, "service_class", "office", err, sizeof(err)),
			 0);
	e->now = 5000000;
	e->soh = make_soh("pc.example", false, &e->soh_len);
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;

	dhcpd_nap_free(e->nap);
	close(e->srv.fd);
	nap_radius_secret_free(e->srv.secret);
	unlink(e->secret_path);
	free(e->soh);
	free(e);
	return 0;
}

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

/* The SoHR napvd would send: any bytes do for napdhcpd, which forwards them. */
static const uint8_t fake_sohr[300] = {0x00, 0x02, 0x01, 0x2a};

/* Answer like napvd's engine.c. state < 0: Access-Reject. */
struct answer {
	int state;
	uint32_t grace;
	size_t n_rem;
	const char *user_class;
	bool sohr;
};

static void
fake_answer(struct fake *f, const struct answer *a)
{
	struct nap_radius_builder b;
	const uint8_t *p;
	size_t n;

	nap_radius_build_init(&b, a->state < 0 ? NAP_RADIUS_ACCESS_REJECT : NAP_RADIUS_ACCESS_ACCEPT,
			      f->req.id, f->req.authenticator);
	assert_int_equal(nap_radius_add_message_authenticator(&b), 0);
	if (a->state < 0) {
		assert_int_equal(nap_radius_add_attr(&b, NAP_RADIUS_REPLY_MESSAGE, "nap: x", 6), 0);
	} else {
		assert_int_equal(nap_radius_add_ms_u32(&b, NAP_MS_QUARANTINE_STATE,
						       (uint32_t)a->state),
				 0);
		assert_int_equal(nap_radius_add_ms_u32(&b, NAP_MS_EXTENDED_QUARANTINE_STATE, 0), 0);
		if (a->grace != 0)
			assert_int_equal(nap_radius_add_ms_u32(&b, NAP_MS_QUARANTINE_GRACE_TIME,
							       a->grace),
					 0);
		if (a->n_rem != 0) {
			uint8_t v[1 + 4 * 3] = {0, 192, 0, 2, 10, 10, 0, 0, 5, 192, 0, 2, 11};

			assert_int_equal(nap_radius_add_vsa(&b, NAP_RADIUS_VENDOR_MS,
							    NAP_MS_IPV4_REMEDIATION_SERVERS, v,
							    1 + 4 * a->n_rem),
					 0);
		}
		if (a->user_class != NULL)
			assert_int_equal(nap_radius_add_vsa(&b, NAP_RADIUS_VENDOR_MS,
							    NAP_MS_QUARANTINE_USER_CLASS,
							    a->user_class, strlen(a->user_class)),
					 0);
		if (a->sohr)
			assert_int_equal(nap_radius_add_ms_split(&b, NAP_MS_QUARANTINE_SOH, fake_sohr,
								 sizeof(fake_sohr)),
					 0);
	}
	assert_int_equal(nap_radius_finish_response_s(&b, f->req.authenticator, f->secret, &p, &n),
			 0);
	assert_int_equal(sendto(f->fd, p, n, 0, (struct sockaddr *)&f->from, f->from_len),
			 (ssize_t)n);
}

/* Let napdhcpd read what napvd sent. */
static void
pump(struct env *e)
{
	struct pollfd fds[DHCPD_NAP_MAX_POLLFDS];
	size_t n = dhcpd_nap_pollfds(e->nap, fds, DHCPD_NAP_MAX_POLLFDS);

	assert_true(n >= 1);
	assert_true(poll(fds, n, 1000) >= 1);
	dhcpd_nap_events(e->nap, fds, n, e->now);
}

static void
query(struct env *e, struct dhcpd_nap_query *q, const uint8_t *mac)
{
	memset(q, 0, sizeof(*q));
	q->sn = &e->sn;
	memcpy(q->mac, mac, 6);
	q->soh = e->soh;
	q->soh_len = e->soh_len;
	snprintf(q->machine_name, sizeof(q->machine_name), "pc.example");
	q->xid = 7;
}

/* The Access-Request carries exactly what napvd needs. */
static void
test_request_attributes(void **state)
{
	struct env *e = *state;
	struct fake *f = &e->srv;
	struct dhcpd_nap_query q;
	struct got g = {0};
	const struct nap_radius_attr *a;
	uint8_t soh[NAP_SOH_MAX_LEN];
	uint32_t v;
	size_t n_soh_vsas = 0;

	query(e, &q, mac_a);
	assert_int_equal(dhcpd_nap_check(e->nap, &q, e->now, on_done, &g), 0);
	assert_int_equal(g.calls, 0);
	assert_true(fake_recv(f, 1000));
	assert_int_equal(f->req.code, NAP_RADIUS_ACCESS_REQUEST);
	assert_int_equal(nap_radius_verify_request_s(&f->req, f->secret, true), 0);
	assert_int_equal(nap_radius_packet_check(&f->req, NULL), 0);
	assert_true(nap_radius_attr_u32(nap_radius_find(&f->req, NAP_RADIUS_SERVICE_TYPE), &v));
	assert_int_equal(v, 17);
	assert_true(nap_radius_attr_u32(nap_radius_find_vsa(&f->req, NAP_RADIUS_VENDOR_MS,
							    NAP_MS_NETWORK_ACCESS_SERVER_TYPE),
					&v));
	assert_int_equal(v, 3);
	assert_true(nap_radius_attr_u32(
		nap_radius_find_vsa(&f->req, NAP_RADIUS_VENDOR_MS, NAP_MS_IDENTITY_TYPE), &v));
	assert_int_equal(v, 1);
	a = nap_radius_find(&f->req, NAP_RADIUS_CALLING_STATION_ID);
	assert_non_null(a);
	assert_int_equal(a->len, 17);
	assert_memory_equal(a->value, "02-00-00-00-00-0A", 17);
	a = nap_radius_find(&f->req, NAP_RADIUS_NAS_IP_ADDRESS);
	assert_non_null(a);
	assert_memory_equal(a->value, "\xc0\x00\x02\x01", 4);
	a = nap_radius_find(&f->req, NAP_RADIUS_NAS_IDENTIFIER);
	assert_non_null(a);
	assert_memory_equal(a->value, "dhcp-1", 6);
	a = nap_radius_find_vsa(&f->req, NAP_RADIUS_VENDOR_MS, NAP_MS_MACHINE_NAME);
	assert_non_null(a);
	assert_int_equal(a->len, 10);
	assert_memory_equal(a->value, "pc.example", 10);
	a = nap_radius_find_vsa(&f->req, NAP_RADIUS_VENDOR_MS, NAP_MS_SERVICE_CLASS);
	assert_non_null(a);
	assert_memory_equal(a->value, "office", 6);
	/* The SoH, split over consecutive VSAs, comes back whole. */
	assert_true(e->soh_len > NAP_RADIUS_VSA_MAX_VALUE);
	for (uint16_t i = 0; i < f->req.n_attrs; i++)
		n_soh_vsas += f->req.attrs[i].vendor_type == NAP_MS_QUARANTINE_SOH;
	assert_int_equal(n_soh_vsas, (e->soh_len + 246) / 247);
	assert_int_equal(nap_radius_ms_concat(&f->req, NAP_MS_QUARANTINE_SOH, soh, sizeof(soh)),
			 (long)e->soh_len);
	assert_memory_equal(soh, e->soh, e->soh_len);
	assert_null(nap_radius_find(&f->req, NAP_RADIUS_USER_PASSWORD));

	fake_answer(f, &(struct answer){.state = 0, .sohr = true});
	e->now += 3;
	pump(e);
	assert_int_equal(g.calls, 1);
}

/* Every answer napvd gives, mapped. */
static void
test_reply_mapping(void **state)
{
	struct env *e = *state;
	struct fake *f = &e->srv;
	struct dhcpd_nap_query q;
	struct dhcpd_nap_stats st;
	struct got g;
	char err[64];

	/* Full access with the SoHR. */
	memset(&g, 0, sizeof(g));
	query(e, &q, mac_a);
	assert_int_equal(dhcpd_nap_check(e->nap, &q, e->now, on_done, &g), 0);
	assert_true(fake_recv(f, 1000));
	fake_answer(f, &(struct answer){.state = 0, .sohr = true});
	e->now += 4;
	pump(e);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.v.action, DHCPD_NAP_ACT_FULL);
	assert_int_equal(g.v.source, DHCPD_NAP_SRC_NAPVD);
	assert_false(g.v.from_cache);
	assert_false(g.v.timed_out);
	assert_int_equal(g.v.sohr_len, sizeof(fake_sohr));
	assert_memory_equal(g.v.sohr, fake_sohr, sizeof(fake_sohr));
	assert_int_equal(g.v.n_remediation, 0);
	assert_int_equal(g.v.latency_ms, 4);

	/* Restricted: remediation servers and the user class. */
	memset(&g, 0, sizeof(g));
	query(e, &q, mac_b);
	assert_int_equal(dhcpd_nap_check(e->nap, &q, e->now, on_done, &g), 0);
	assert_true(fake_recv(f, 1000));
	fake_answer(f, &(struct answer){.state = 1, .n_rem = 3, .user_class = "nap-restricted",
					.sohr = true});
	pump(e);
	assert_int_equal(g.v.action, DHCPD_NAP_ACT_RESTRICTED);
	assert_int_equal(g.v.n_remediation, 3);
	assert_memory_equal(g.v.remediation[0], "\xc0\x00\x02\x0a", 4);
	assert_memory_equal(g.v.remediation[1], "\x0a\x00\x00\x05", 4);
	assert_memory_equal(g.v.remediation[2], "\xc0\x00\x02\x0b", 4);
	assert_string_equal(g.v.user_class, "nap-restricted");
	assert_int_equal(g.v.sohr_len, sizeof(fake_sohr));

	/* Probation with the grace time. */
	memset(&g, 0, sizeof(g));
	query(e, &q, mac_c);
	assert_int_equal(dhcpd_nap_check(e->nap, &q, e->now, on_done, &g), 0);
	assert_true(fake_recv(f, 1000));
	fake_answer(f, &(struct answer){.state = 2, .grace = 1900000000u, .sohr = true});
	pump(e);
	assert_int_equal(g.v.action, DHCPD_NAP_ACT_PROBATION);
	assert_int_equal(g.v.grace_until, 1900000000);

	/* Reject: no lease. Cache off from here so each one asks. */
	e->sn.cache_ttl = 0;
	memset(&g, 0, sizeof(g));
	query(e, &q, mac_a);
	assert_int_equal(dhcpd_nap_check(e->nap, &q, e->now, on_done, &g), 0);
	assert_true(fake_recv(f, 1000));
	fake_answer(f, &(struct answer){.state = -1});
	pump(e);
	assert_int_equal(g.v.action, DHCPD_NAP_ACT_DROP);
	assert_int_equal(g.v.source, DHCPD_NAP_SRC_NAPVD);

	/* A state napvd never sends: nap_fail (restricted, with the scope's fallback servers). */
	assert_int_equal(dhcpd_scope_nap_set(&e->sn, "nap_fail", "restricted", err, sizeof(err)), 0);
	assert_int_equal(dhcpd_scope_nap_set(&e->sn, "nap_remediation", "198.51.100.7", err,
					     sizeof(err)),
			 0);
	memset(&g, 0, sizeof(g));
	query(e, &q, mac_a);
	assert_int_equal(dhcpd_nap_check(e->nap, &q, e->now, on_done, &g), 0);
	assert_true(fake_recv(f, 1000));
	fake_answer(f, &(struct answer){.state = 7});
	pump(e);
	assert_int_equal(g.v.action, DHCPD_NAP_ACT_RESTRICTED);
	assert_int_equal(g.v.source, DHCPD_NAP_SRC_FAIL);
	assert_int_equal(g.v.n_remediation, 1);
	assert_memory_equal(g.v.remediation[0], "\xc6\x33\x64\x07", 4);

	/* No answer: after the timeout (200 ms, no retries, one server) nap_fail = drop. */
	assert_int_equal(dhcpd_scope_nap_set(&e->sn, "nap_fail", "drop", err, sizeof(err)), 0);
	memset(&g, 0, sizeof(g));
	query(e, &q, mac_a);
	assert_int_equal(dhcpd_nap_check(e->nap, &q, e->now, on_done, &g), 0);
	assert_true(fake_recv(f, 1000));
	assert_int_equal(dhcpd_nap_next_deadline(e->nap), e->now + 200);
	dhcpd_nap_events(e->nap, NULL, 0, e->now + 199);
	assert_int_equal(g.calls, 0);
	e->now += 200;
	dhcpd_nap_events(e->nap, NULL, 0, e->now);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.v.action, DHCPD_NAP_ACT_DROP);
	assert_int_equal(g.v.source, DHCPD_NAP_SRC_FAIL);
	assert_true(g.v.timed_out);
	assert_int_equal(dhcpd_nap_next_deadline(e->nap), -1);

	dhcpd_nap_get_stats(e->nap, &st);
	assert_int_equal(st.verdicts[DHCPD_NAP_SRC_NAPVD][DHCPD_NAP_ACT_FULL], 1);
	assert_int_equal(st.verdicts[DHCPD_NAP_SRC_NAPVD][DHCPD_NAP_ACT_RESTRICTED], 1);
	assert_int_equal(st.verdicts[DHCPD_NAP_SRC_NAPVD][DHCPD_NAP_ACT_PROBATION], 1);
	assert_int_equal(st.verdicts[DHCPD_NAP_SRC_NAPVD][DHCPD_NAP_ACT_DROP], 1);
	assert_int_equal(st.verdicts[DHCPD_NAP_SRC_FAIL][DHCPD_NAP_ACT_RESTRICTED], 1);
	assert_int_equal(st.verdicts[DHCPD_NAP_SRC_FAIL][DHCPD_NAP_ACT_DROP], 1);
	assert_int_equal(st.bad_replies, 1);
	assert_int_equal(st.radius.timeouts, 1);
	assert_int_equal(st.lat_count, 5);
	assert_int_equal(st.checks_started, 6);
}

/* Cache: a hit answers at once without napvd; the TTL ends it; 0 turns it off. */
static void
test_cache_ttl(void **state)
{
	struct env *e = *state;
	struct fake *f = &e->srv;
	struct dhcpd_nap_query q;
	struct dhcpd_nap_stats st;
	struct got g = {0};

	query(e, &q, mac_a);
	assert_int_equal(dhcpd_nap_check(e->nap, &q, e->now, on_done, &g), 0);
	assert_true(fake_recv(f, 1000));
	fake_answer(f, &(struct answer){.state = 1, .n_rem = 1, .user_class = "uc", .sohr = true});
	pump(e);
	assert_int_equal(g.calls, 1);

	/* 29.999 s later: from the cache, synchronously, the same verdict. */
	e->now += 29999;
	memset(&g, 0, sizeof(g));
	assert_int_equal(dhcpd_nap_check(e->nap, &q, e->now, on_done, &g), 0);
	assert_int_equal(g.calls, 1);
	assert_true(g.v.from_cache);
	assert_int_equal(g.v.source, DHCPD_NAP_SRC_CACHE);
	assert_int_equal(g.v.action, DHCPD_NAP_ACT_RESTRICTED);
	assert_int_equal(g.v.n_remediation, 1);
	assert_string_equal(g.v.user_class, "uc");
	assert_int_equal(g.v.sohr_len, sizeof(fake_sohr));
	assert_memory_equal(g.v.sohr, fake_sohr, sizeof(fake_sohr));
	assert_false(fake_recv(f, 50));

	/* Another SoH from the same MAC is another key. */
	{
		struct dhcpd_nap_query q2 = q;
		uint8_t other[NAP_SOH_MAX_LEN];

		memcpy(other, e->soh, e->soh_len);
		other[e->soh_len - 1] ^= 1;
		q2.soh = other;
		memset(&g, 0, sizeof(g));
		assert_int_equal(dhcpd_nap_check(e->nap, &q2, e->now, on_done, &g), 0);
		assert_int_equal(g.calls, 0);
		assert_true(fake_recv(f, 1000));
		fake_answer(f, &(struct answer){.state = 0});
		pump(e);
		assert_int_equal(g.calls, 1);
		assert_false(g.v.from_cache);
	}

	/* At 30 s it has expired: napvd is asked again. */
	e->now += 1;
	memset(&g, 0, sizeof(g));
	assert_int_equal(dhcpd_nap_check(e->nap, &q, e->now, on_done, &g), 0);
	assert_int_equal(g.calls, 0);
	assert_true(fake_recv(f, 1000));
	fake_answer(f, &(struct answer){.state = 0});
	pump(e);
	assert_int_equal(g.calls, 1);
	assert_false(g.v.from_cache);
	assert_int_equal(g.v.action, DHCPD_NAP_ACT_FULL);

	/* TTL 0: never cached. */
	e->sn.cache_ttl = 0;
	memset(&g, 0, sizeof(g));
	assert_int_equal(dhcpd_nap_check(e->nap, &q, e->now, on_done, &g), 0);
	assert_int_equal(g.calls, 0);
	assert_true(fake_recv(f, 1000));
	fake_answer(f, &(struct answer){.state = 0});
	pump(e);
	assert_int_equal(g.calls, 1);

	dhcpd_nap_get_stats(e->nap, &st);
	assert_int_equal(st.cache_hits, 1);
	assert_int_equal(st.cache_misses, 3);
	assert_int_equal(st.verdicts[DHCPD_NAP_SRC_CACHE][DHCPD_NAP_ACT_RESTRICTED], 1);
}

/* A bounded cache evicts the least recently used; a retransmitted REQUEST joins the check in
 * flight instead of asking napvd twice. */
static void
test_cache_evict_coalesce(void **state)
{
	struct env *e = *state;
	struct fake *f = &e->srv;
	struct dhcpd_nap_query q;
	struct dhcpd_nap_stats st;
	struct got g1 = {0}, g2 = {0}, g3 = {0};
	const uint8_t *macs[3] = {mac_a, mac_b, mac_c};
	char err[128];
	struct dhcpd_nap *small;

	dhcpd_nap_free(e->nap);
	assert_int_equal(dhcpd_nap_servers_set(&e->servers, "verdict_cache_size", "2", err,
					       sizeof(err)),
			 0);
	assert_int_equal(dhcpd_nap_new(&e->servers, &small, err, sizeof(err)), 0);
	e->nap = small;

	/* Two checks for the same MAC + SoH before napvd answers: one request, two verdicts. */
	query(e, &q, mac_a);
	assert_int_equal(dhcpd_nap_check(e->nap, &q, e->now, on_done, &g1), 0);
	assert_int_equal(dhcpd_nap_check(e->nap, &q, e->now, on_done, &g2), 0);
	assert_true(fake_recv(f, 1000));
	assert_false(fake_recv(f, 50));
	fake_answer(f, &(struct answer){.state = 1, .n_rem = 1, .sohr = true});
	pump(e);
	assert_int_equal(g1.calls, 1);
	assert_int_equal(g2.calls, 1);
	assert_int_equal(g2.v.action, DHCPD_NAP_ACT_RESTRICTED);
	assert_int_equal(g2.v.sohr_len, sizeof(fake_sohr));

	/* b and c fill the cache: a (least recently used) goes. */
	for (size_t i = 1; i < 3; i++) {
		memset(&g3, 0, sizeof(g3));
		query(e, &q, macs[i]);
		assert_int_equal(dhcpd_nap_check(e->nap, &q, e->now, on_done, &g3), 0);
		assert_true(fake_recv(f, 1000));
		fake_answer(f, &(struct answer){.state = 0});
		pump(e);
		assert_int_equal(g3.calls, 1);
	}
	dhcpd_nap_get_stats(e->nap, &st);
	assert_int_equal(st.cache_entries, 2);
	assert_int_equal(st.cache_evictions, 1);
	assert_int_equal(st.checks_coalesced, 1);
	/* c is still cached, a is not. */
	memset(&g3, 0, sizeof(g3));
	query(e, &q, mac_c);
	assert_int_equal(dhcpd_nap_check(e->nap, &q, e->now, on_done, &g3), 0);
	assert_int_equal(g3.calls, 1);
	assert_true(g3.v.from_cache);
	memset(&g3, 0, sizeof(g3));
	query(e, &q, mac_a);
	assert_int_equal(dhcpd_nap_check(e->nap, &q, e->now, on_done, &g3), 0);
	assert_int_equal(g3.calls, 0);
	assert_true(fake_recv(f, 1000));
	fake_answer(f, &(struct answer){.state = 0});
	pump(e);
	assert_int_equal(g3.calls, 1);
}

/* No [napvd] server: every check gets nap_fail at once; local verdicts for exempt/incapable. */
static void
test_no_server_and_local(void **state)
{
	struct env *e = *state;
	struct dhcpd_nap_servers none;
	struct dhcpd_nap *nap;
	struct dhcpd_nap_query q;
	struct dhcpd_nap_verdict v;
	struct dhcpd_nap_stats st;
	struct got g = {0};
	char err[128];

	dhcpd_nap_servers_init(&none);
	assert_int_equal(dhcpd_nap_new(&none, &nap, err, sizeof(err)), 0);
	assert_int_equal(dhcpd_nap_pollfds(nap, NULL, 0), 0);
	query(e, &q, mac_a);
	assert_int_equal(dhcpd_nap_check(nap, &q, e->now, on_done, &g), 0);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.v.action, DHCPD_NAP_ACT_FULL);
	assert_true(g.v.timed_out);

	assert_int_equal(dhcpd_scope_nap_set(&e->sn, "nap_incapable", "restricted", err,
					     sizeof(err)),
			 0);
	assert_int_equal(dhcpd_scope_nap_set(&e->sn, "nap_remediation", "192.0.2.99", err,
					     sizeof(err)),
			 0);
	dhcpd_nap_verdict_local(nap, &e->sn, DHCPD_NAP_INCAPABLE, &v);
	assert_int_equal(v.action, DHCPD_NAP_ACT_RESTRICTED);
	assert_int_equal(v.source, DHCPD_NAP_SRC_INCAPABLE);
	assert_int_equal(v.n_remediation, 1);
	assert_int_equal(v.sohr_len, 0);
	dhcpd_nap_verdict_local(nap, &e->sn, DHCPD_NAP_EXEMPT, &v);
	assert_int_equal(v.action, DHCPD_NAP_ACT_FULL);
	assert_int_equal(v.source, DHCPD_NAP_SRC_EXEMPT);
	dhcpd_nap_count_decision(nap, DHCPD_NAP_CHECK);
	dhcpd_nap_get_stats(nap, &st);
	assert_int_equal(st.verdicts[DHCPD_NAP_SRC_INCAPABLE][DHCPD_NAP_ACT_RESTRICTED], 1);
	assert_int_equal(st.verdicts[DHCPD_NAP_SRC_EXEMPT][DHCPD_NAP_ACT_FULL], 1);
	assert_int_equal(st.verdicts[DHCPD_NAP_SRC_FAIL][DHCPD_NAP_ACT_FULL], 1);
	assert_int_equal(st.decisions[DHCPD_NAP_CHECK], 1);
	dhcpd_nap_free(nap);

	/* A secret file others may read is refused; so is a server without a secret. */
	chmod(e->secret_path, 0644);
	assert_true(dhcpd_nap_new(&e->servers, &nap, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "secret_file"));
	e->servers.secret_file[0] = '\0';
	assert_int_equal(dhcpd_nap_new(&e->servers, &nap, err, sizeof(err)), -EINVAL);
}

/* Reconfiguring while a check is in flight: it finishes against the old server. */
static void
test_reconfigure(void **state)
{
	struct env *e = *state;
	struct fake *f = &e->srv;
	struct dhcpd_nap_query q;
	struct dhcpd_nap_stats st;
	struct got g = {0};
	char err[128];

	query(e, &q, mac_a);
	assert_int_equal(dhcpd_nap_check(e->nap, &q, e->now, on_done, &g), 0);
	assert_true(fake_recv(f, 1000));
	assert_int_equal(dhcpd_nap_reconfigure(e->nap, &e->servers, err, sizeof(err)), 0);
	fake_answer(f, &(struct answer){.state = 2, .grace = 2000000000u});
	pump(e);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.v.action, DHCPD_NAP_ACT_PROBATION);
	dhcpd_nap_get_stats(e->nap, &st);
	assert_int_equal(st.radius.requests, 1);
	assert_int_equal(st.radius.replies, 1);
	assert_int_equal(st.radius.outstanding, 0);
}

/* ---- reply options ---- */

static void
build_reply(const struct dhcpd_scope_nap *sn, const struct dhcpd_nap_net *net,
	    const struct dhcpd_nap_verdict *v, const struct nap_dhcp_nap *client,
	    struct nap_dhcp_packet *out, struct nap_dhcp_nap *out_nap)
{
	static struct nap_dhcp_builder b;
	struct nap_dhcp_header h = {.op = NAP_DHCP_BOOTREPLY, .htype = 1, .hlen = 6};
	struct nap_err err = {0};
	const uint8_t *p;
	size_t n;

	nap_dhcp_build_init(&b, &h, 1500);
	assert_int_equal(nap_dhcp_add_u8(&b, NAP_DHCP_OPT_MESSAGE_TYPE, NAP_DHCPACK), 0);
	if (!dhcpd_nap_restricts(v)) {
		assert_int_equal(nap_dhcp_add_ipv4(&b, NAP_DHCP_OPT_SUBNET_MASK, net->mask), 0);
		assert_int_equal(nap_dhcp_add_ipv4(&b, NAP_DHCP_OPT_ROUTER, net->router), 0);
	}
	assert_int_equal(dhcpd_nap_add_options(&b, sn, net, v, client), 0);
	assert_int_equal(nap_dhcp_finish(&b, &p, &n), 0);
	assert_int_equal(nap_dhcp_decode(p, n, out, &err), 0);
	assert_int_equal(nap_dhcp_nap_parse(out, out_nap, &err), 0);
}

static void
test_restricted_options(void **state)
{
	static struct nap_dhcp_packet req, ack;
	static struct nap_dhcp_nap req_nap, ack_nap;
	static struct dhcpd_nap_verdict v;
	struct dhcpd_scope_nap sn;
	struct dhcpd_nap_net net = {
		.subnet = {10, 0, 0, 0},
		.mask = {255, 255, 255, 0},
		.has_router = true,
		.router = {10, 0, 0, 1},
	};
	const struct nap_dhcp_option *o121, *o249;
	uint8_t mask[4];
	uint8_t soh[40] = {0, 2};
	/* router/32 on-link, 192.0.2.10 via router, 10.0.0.5 (in the subnet) on-link */
	static const uint8_t routes[] = {32, 10, 0, 0, 1,  0,  0, 0, 0,
					 32, 192, 0, 2, 10, 10, 0, 0, 1,
					 32, 10, 0, 0, 5,  0,  0, 0, 0};
	struct client_opts o = {NAP_DHCPREQUEST, mac_a, NAP_DHCP_SOH_DATA, soh, sizeof(soh),
				NULL, NULL, NULL, 0};

	(void)state;
	dhcpd_scope_nap_init(&sn);
	client_packet(&o, &req, &req_nap);
	assert_true(req_nap.has_coid);

	memset(&v, 0, sizeof(v));
	v.action = DHCPD_NAP_ACT_RESTRICTED;
	v.n_remediation = 3;
	memcpy(v.remediation[0], "\xc0\x00\x02\x0a", 4);
	memcpy(v.remediation[1], "\x0a\x00\x00\x05", 4);
	memcpy(v.remediation[2], "\x0a\x00\x00\x01", 4); /* the router itself: no second route */
	v.sohr_len = sizeof(fake_sohr);
	memcpy(v.sohr, fake_sohr, sizeof(fake_sohr));
	build_reply(&sn, &net, &v, &req_nap, &ack, &ack_nap);

	assert_true(nap_dhcp_get_ipv4(&ack, NAP_DHCP_OPT_SUBNET_MASK, mask));
	assert_memory_equal(mask, "\xff\xff\xff\xff", 4);
	assert_null(nap_dhcp_find(&ack, NAP_DHCP_OPT_ROUTER));
	o121 = nap_dhcp_find(&ack, NAP_DHCP_OPT_CLASSLESS_ROUTE);
	o249 = nap_dhcp_find(&ack, NAP_DHCP_OPT_MS_CLASSLESS_ROUTE);
	assert_non_null(o121);
	assert_non_null(o249);
	assert_int_equal(o121->len, sizeof(routes));
	assert_memory_equal(o121->value, routes, sizeof(routes));
	assert_int_equal(o249->len, sizeof(routes));
	assert_memory_equal(o249->value, routes, sizeof(routes));
	/* Option 43: the SoHR, the echoed CoID, the real mask in NAP-Mask (LE on the wire). */
	assert_true(ack_nap.present);
	assert_int_equal(ack_nap.soh_kind, NAP_DHCP_SOH_DATA);
	assert_int_equal(ack_nap.soh_len, sizeof(fake_sohr));
	assert_memory_equal(ack_nap.soh, fake_sohr, sizeof(fake_sohr));
	assert_int_equal(ack_nap.n_soh_parts, 2);
	assert_true(ack_nap.has_coid);
	assert_memory_equal(ack_nap.coid, coid, sizeof(coid));
	assert_true(ack_nap.has_mask);
	assert_memory_equal(ack_nap.mask, net.mask, 4);
	{
		/* the raw sub-option is 00 ff ff ff */
		const struct nap_dhcp_option *o43 = nap_dhcp_find(&ack, NAP_DHCP_OPT_VENDOR);
		const uint8_t le[] = {NAP_DHCP_SUB_MASK, 4, 0, 255, 255, 255};

		assert_non_null(o43);
		assert_non_null(memmem(o43->value, o43->len, le, sizeof(le)));
		assert_true(o43->len > 255);
		assert_true(o43->n_parts >= 2); /* RFC 3396 split */
	}

	/* Without a router: every remediation server on-link. */
	net.has_router = false;
	build_reply(&sn, &net, &v, &req_nap, &ack, &ack_nap);
	o121 = nap_dhcp_find(&ack, NAP_DHCP_OPT_CLASSLESS_ROUTE);
	assert_int_equal(o121->len, 27);
	assert_memory_equal(o121->value, "\x20\xc0\x00\x02\x0a\x00\x00\x00\x00", 9);

	/* Restricted without an SoHR (NAP-capable client, napvd down): marker + CoID + mask. */
	net.has_router = true;
	v.sohr_len = 0;
	v.source = DHCPD_NAP_SRC_FAIL;
	build_reply(&sn, &net, &v, &req_nap, &ack, &ack_nap);
	assert_int_equal(ack_nap.soh_kind, NAP_DHCP_SOH_MARKER);
	assert_true(ack_nap.has_mask);

	/* A NAP-incapable client restricted: mask and routes, no option 43. */
	v.source = DHCPD_NAP_SRC_INCAPABLE;
	build_reply(&sn, &net, &v, NULL, &ack, &ack_nap);
	assert_true(nap_dhcp_get_ipv4(&ack, NAP_DHCP_OPT_SUBNET_MASK, mask));
	assert_memory_equal(mask, "\xff\xff\xff\xff", 4);
	assert_non_null(nap_dhcp_find(&ack, NAP_DHCP_OPT_CLASSLESS_ROUTE));
	assert_null(nap_dhcp_find(&ack, NAP_DHCP_OPT_VENDOR));
}

static void
test_full_probation_marker(void **state)
{
	static struct nap_dhcp_packet req, ack;
	static struct nap_dhcp_nap req_nap, ack_nap;
	static struct dhcpd_nap_verdict v;
	struct dhcpd_scope_nap sn;
	struct dhcpd_nap_net net = {
		.subnet = {10, 0, 0, 0},
		.mask = {255, 255, 255, 0},
		.has_router = true,
		.router = {10, 0, 0, 1},
	};
	uint8_t mask[4];
	struct client_opts o = {NAP_DHCPDISCOVER, mac_a, NAP_DHCP_SOH_PROBE, NULL, 0, NULL, NULL,
				NULL, 0};
	const int64_t now = 1800000000;

	(void)state;
	dhcpd_scope_nap_init(&sn);
	client_packet(&o, &req, &req_nap);

	/* MARKER: "NAP" + the CoID. */
	build_reply(&sn, &net, NULL, &req_nap, &ack, &ack_nap);
	assert_int_equal(ack_nap.soh_kind, NAP_DHCP_SOH_MARKER);
	assert_false(ack_nap.marker_pan);
	assert_true(ack_nap.has_coid);
	assert_memory_equal(ack_nap.coid, coid, sizeof(coid));
	assert_false(ack_nap.has_mask);
	assert_true(nap_dhcp_get_ipv4(&ack, NAP_DHCP_OPT_SUBNET_MASK, mask));
	assert_memory_equal(mask, net.mask, 4);
	assert_non_null(nap_dhcp_find(&ack, NAP_DHCP_OPT_ROUTER));
	assert_int_equal(nap_dhcp_find(&ack, NAP_DHCP_OPT_VENDOR)->len, 2 + 130 + 2 + 3);

	/* Full access: SoHR, no mask change, no routes. */
	memset(&v, 0, sizeof(v));
	v.action = DHCPD_NAP_ACT_FULL;
	v.sohr_len = 20;
	memcpy(v.sohr, fake_sohr, 20);
	build_reply(&sn, &net, &v, &req_nap, &ack, &ack_nap);
	assert_int_equal(ack_nap.soh_kind, NAP_DHCP_SOH_DATA);
	assert_int_equal(ack_nap.soh_len, 20);
	assert_false(ack_nap.has_mask);
	assert_null(nap_dhcp_find(&ack, NAP_DHCP_OPT_CLASSLESS_ROUTE));
	assert_int_equal(dhcpd_nap_lease_time(&v, &sn, 86400, now), 86400);

	/* Probation: full configuration, lease no later than the grace time. */
	v.action = DHCPD_NAP_ACT_PROBATION;
	v.grace_until = now + 600;
	build_reply(&sn, &net, &v, &req_nap, &ack, &ack_nap);
	assert_non_null(nap_dhcp_find(&ack, NAP_DHCP_OPT_ROUTER));
	assert_null(nap_dhcp_find(&ack, NAP_DHCP_OPT_CLASSLESS_ROUTE));
	assert_int_equal(dhcpd_nap_lease_time(&v, &sn, 86400, now), 600);
	assert_int_equal(dhcpd_nap_lease_time(&v, &sn, 300, now), 300);
	v.grace_until = now - 5;
	assert_int_equal(dhcpd_nap_lease_time(&v, &sn, 86400, now), 1);
	v.grace_until = 0;
	assert_int_equal(dhcpd_nap_lease_time(&v, &sn, 86400, now), 86400);

	/* Restricted lease time. */
	v.action = DHCPD_NAP_ACT_RESTRICTED;
	assert_int_equal(dhcpd_nap_lease_time(&v, &sn, 86400, now), 300);
	assert_int_equal(dhcpd_nap_lease_time(&v, &sn, 100, now), 100);
	assert_int_equal(dhcpd_nap_lease_time(NULL, &sn, 86400, now), 86400);

	/* Exempt: plain DHCP, nothing NAP added. */
	v.action = DHCPD_NAP_ACT_FULL;
	v.source = DHCPD_NAP_SRC_EXEMPT;
	build_reply(&sn, &net, &v, &req_nap, &ack, &ack_nap);
	assert_null(nap_dhcp_find(&ack, NAP_DHCP_OPT_VENDOR));
	/* A full verdict for a client without NAP options: nothing either. */
	v.source = DHCPD_NAP_SRC_INCAPABLE;
	build_reply(&sn, &net, &v, NULL, &ack, &ack_nap);
	assert_null(nap_dhcp_find(&ack, NAP_DHCP_OPT_VENDOR));
}

static void
test_metrics(void **state)
{
	struct env *e = *state;
	struct dhcpd_nap_verdict v;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	dhcpd_nap_verdict_local(e->nap, &e->sn, DHCPD_NAP_EXEMPT, &v);
	dhcpd_nap_count_decision(e->nap, DHCPD_NAP_EXEMPT);
	assert_int_equal(dhcpd_nap_metrics_write(e->nap, f), 0);
	fclose(f);
	assert_non_null(strstr(text, "napdhcpd_nap_decisions_total{decision=\"exempt\"} 1\n"));
	assert_non_null(
		strstr(text, "napdhcpd_nap_verdicts_total{source=\"exempt\",action=\"full\"} 1\n"));
	assert_non_null(strstr(text, "# TYPE napdhcpd_napvd_latency_seconds histogram\n"));
	assert_non_null(strstr(text, "napdhcpd_napvd_latency_seconds_bucket{le=\"+Inf\"} 0\n"));
	assert_non_null(strstr(text, "napdhcpd_napvd_timeouts_total 0\n"));
	assert_non_null(strstr(text, "napdhcpd_nap_cache_hits_total 0\n"));
	assert_non_null(strstr(text, "napdhcpd_napvd_server_up{server=\"0\"} 1\n"));
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scope_knobs),
		cmocka_unit_test(test_server_knobs),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_query_machine_name),
		cmocka_unit_test_setup_teardown(test_request_attributes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_mapping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_ttl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_evict_coalesce, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_server_and_local, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconfigure, setup, teardown),
		cmocka_unit_test(test_restricted_options),
		cmocka_unit_test(test_full_probation_marker),
		cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
	};

	for (size_t i = 0; i < sizeof(coid); i++)
		coid[i] = (uint8_t)(i * 7);

	return cmocka_run_group_tests(tests, NULL, NULL);
}
