// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Unit tests of napdhcpd's configuration parser (daemons/napdhcpd/config.c): a full file read
 * and printed back, the defaults, the NAP keys handed to nap.c, and one refusal per rule, each
 * naming the line (or the section) at fault.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dhcpd_test.h"

static const char *const full =
	"; a comment\n"
	"[server]\n"
	"interfaces = eth1, eth2\n"
	"listen = 127.0.0.1:6767\n"
	"user = nap\n"
	"state_dir = /var/lib/nap/napdhcpd\n"
	"pidfile = /run/napdhcpd.pid\n"
	"metrics = 127.0.0.1:9867\n"
	"server_id = 10.1.0.1\n"
	"offer_timeout = 1m\n"
	"decline_time = 2h\n"
	"[napvd]\n"
	"server = 127.0.0.1:1812\n"
	"server = 127.0.0.2:1812\n"
	"timeout = 500ms\n"
	"retries = 2\n"
	"nas_identifier = dhcp-1\n"
	"[scope lan]\n"
	"subnet = 10.1.0.0/24\n"
	"pool = 10.1.0.100-10.1.0.199, 10.1.0.210 - 10.1.0.220\n"
	"router = 10.1.0.1\n"
	"dns = 10.1.0.53 10.1.0.54\n"
	"domain = corp.example\n"
	"routes = 10.9.0.0/16 10.1.0.1, 192.168.0.0/24 via 10.1.0.2\n"
	"lease_time = 8h\n"
	"renew_time = 1h\n"
	"rebind_time = 2h\n"
	"reservation = 02:00:00:00:00:01 10.1.0.10 printer\n"
	"reservation = 02-00-00-00-00-02 10.1.0.150\n"
	"nap = on\n"
	"nap_incapable = restricted\n"
	"nap_fail = drop\n"
	"exempt_mac = 02:00:00:00:00:03\n"
	"exempt_user_class = \"MSFT Quarantine\"\n"
	"restricted_lease_time = 10m\n"
	"verdict_cache_ttl = 45s\n"
	"service_class = lan\n"
	"[scope remote]\n"
	"subnet = 10.2.0.0/16\n"
	"pool = 10.2.1.0-10.2.255.254\n"
	"[class quarantine]\n"
	"dns = 10.1.0.99\n"
	"domain = remediation.corp.example\n"
	"lease_time = 5m\n";

static char out[16384];

static const char *
print(const struct dhcpd_config *c)
{
	FILE *f = fmemopen(out, sizeof(out), "w");

	assert_non_null(f);
	dhcpd_config_print(c, f);
	fclose(f);
	return out;
}

static void
test_full(void **state)
{
	struct dhcpd_config *c = test_config(full), *again;
	const struct dhcpd_scope *s;
	const char *text;

	(void)state;
	assert_non_null(c);
	assert_int_equal(c->n_ifaces, 2);
	assert_string_equal(c->ifaces[1], "eth2");
	assert_int_equal(c->n_listen, 1);
	assert_int_equal(c->offer_timeout, 60);
	assert_int_equal(c->decline_time, 7200);
	assert_int_equal(c->server_id, test_ip("10.1.0.1"));
	assert_true(c->has_napvd);
	assert_int_equal(c->napvd.n_servers, 2);
	assert_int_equal(c->napvd.timeout_ms, 500);
	assert_int_equal(c->n_scopes, 2);
	s = &c->scopes[0];
	assert_string_equal(s->name, "lan");
	assert_int_equal(s->prefix, 24);
	assert_int_equal(s->broadcast, test_ip("10.1.0.255"));
	assert_int_equal(s->n_ranges, 2);
	assert_int_equal(s->ranges[1].start, test_ip("10.1.0.210"));
	assert_int_equal(s->opts.n_dns, 2);
	assert_int_equal(s->opts.n_routes, 2);
	assert_int_equal(s->opts.routes[1].gw, test_ip("10.1.0.2"));
	assert_int_equal(s->lease_time, 8 * 3600);
	assert_int_equal(s->renew_time, 3600);
	assert_int_equal(s->n_res, 2);
	assert_non_null(dhcpd_reservation_by_mac(s, (const uint8_t *)"\2\0\0\0\0\2"));
	assert_string_equal(dhcpd_reservation_by_mac(s, (const uint8_t *)"\2\0\0\0\0\1")->hostname,
			    "printer");
	assert_true(s->nap.enabled);
	assert_int_equal(s->nap.incapable, DHCPD_NAP_MODE_RESTRICTED);
	assert_int_equal(s->nap.fail, DHCPD_NAP_MODE_DROP);
	assert_int_equal(s->nap.n_exempt_macs, 1);
	assert_int_equal(s->nap.restricted_lease_time, 600);
	assert_int_equal(s->nap.cache_ttl, 45);
	assert_string_equal(s->nap.service_class, "lan");
	assert_false(c->scopes[1].nap.enabled);
	assert_int_equal(c->scopes[1].lease_time, 3600); /* default */
	assert_ptr_equal(dhcpd_scope_for(c, test_ip("10.2.200.1")), &c->scopes[1]);
	assert_null(dhcpd_scope_for(c, test_ip("10.3.0.1")));
	assert_non_null(dhcpd_class_find(c, "quarantine"));
	assert_int_equal(dhcpd_class_find(c, "quarantine")->opts.lease_time, 300);

	/* Printed back, the text parses to the same thing and prints the same. */
	text = print(c);
	assert_non_null(strstr(text, "pool = 10.1.0.210-10.1.0.220\n"));
	assert_non_null(strstr(text, "route = 192.168.0.0/24 10.1.0.2\n"));
	assert_non_null(strstr(text, "reservation = 02:00:00:00:00:01 10.1.0.10 printer\n"));
	assert_non_null(strstr(text, "nap_fail = drop\n"));
	again = test_config(text);
	assert_non_null(again);
	{
		char first[16384];

		strcpy(first, text);
		assert_string_equal(print(again), first);
	}
	dhcpd_config_free(again);
	dhcpd_config_free(c);
}

static void
test_defaults(void **state)
{
	struct dhcpd_config *c = test_config("[server]\nlisten = 127.0.0.1:67\n[scope s]\n"
					     "subnet = 10.0.0.0/8\npool = 10.0.0.10-10.0.0.20\n");

	(void)state;
	assert_non_null(c);
	assert_string_equal(c->state_dir, DHCPD_DEFAULT_STATE_DIR);
	assert_int_equal(c->offer_timeout, 30);
	assert_int_equal(c->decline_time, 600);
	assert_int_equal(c->pending_max, DHCPD_PENDING_DEFAULT);
	assert_false(c->has_metrics);
	assert_false(c->scopes[0].nap.enabled);
	assert_int_equal(c->scopes[0].lease_time, 3600);
	dhcpd_config_free(c);
}

/* The text must be refused with an error containing want. */
static void
refused(const char *text, const char *want)
{
	struct dhcpd_config *c = NULL;
	char err[512];

	assert_int_equal(dhcpd_config_parse_string(text, "t.conf", &c, err, sizeof(err)), -EINVAL);
	assert_null(c);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", err, want);
}

#define HEAD  "[server]\nlisten = 127.0.0.1:67\n"
#define SCOPE "[scope s]\nsubnet = 10.1.0.0/24\n"

static void
test_refusals(void **state)
{
	(void)state;
	refused(HEAD SCOPE "pool = 10.1.0.10-10.1.1.20\n", "not inside subnet");
	refused(HEAD SCOPE "pool = 10.1.0.30-10.1.0.20\n", "t.conf:5: pool: range starts after");
	refused(HEAD SCOPE "pool = 10.1.0.10-10.1.0.20\npool = 10.1.0.15-10.1.0.30\n", "overlap");
	refused(HEAD SCOPE "pool = 10.1.0.10-10.1.0.20\n[scope t]\nsubnet = 10.1.0.0/25\n"
			   "pool = 10.1.0.30-10.1.0.40\n", "subnets overlap");
	refused(HEAD SCOPE "pool = 10.1.0.10-10.1.0.20\nreservation = 02:00:00:00:00:01 10.2.0.5\n",
		"reservation 10.2.0.5 is not a host address");
	refused(HEAD SCOPE "pool = 10.1.0.10-10.1.0.20\nreservation = 02:00:00:00:00:01 10.1.0.5\n"
			   "reservation = 02:00:00:00:00:01 10.1.0.6\n", "two reservations for MAC");
	refused(HEAD SCOPE "reservation = 02:00:00:00:00:01 10.1.0.5\n"
			   "reservation = 02:00:00:00:00:02 10.1.0.5\n", "reserved twice");
	refused(HEAD SCOPE "reservation = 02:00:00:00:01 10.1.0.5\n", "t.conf:5: reservation: bad MAC");
	refused(HEAD SCOPE "pool = 10.1.0.10-10.1.0.20\nrouter = 10.9.0.1\n", "router 10.9.0.1 is not");
	refused(HEAD SCOPE "pool = 10.1.0.10-10.1.0.20\nlease_time = 1h\nrenew_time = 2h\n",
		"renew_time must be shorter");
	refused(HEAD SCOPE "pool = 10.1.0.10-10.1.0.20\nrenew_time = 40m\nrebind_time = 30m\n",
		"renew_time must be shorter than rebind_time");
	refused(HEAD SCOPE "pool = 10.1.0.10-10.1.0.20\nlease_time = 10\n", "t.conf:6: lease_time");
	refused(HEAD "[scope s]\npool = 10.1.0.10-10.1.0.20\n", "subnet is required");
	refused(HEAD "[scope s]\nsubnet = 10.1.0.1/24\n", "t.conf:4: subnet");
	refused(HEAD SCOPE "\n", "no pool and no reservation");
	refused(HEAD, "no [scope NAME] section");
	refused("[server]\nuser = nap\n" SCOPE "pool = 10.1.0.10-10.1.0.20\n",
		"interfaces or listen is required");
	refused(HEAD SCOPE "pool = 10.1.0.10-10.1.0.20\ncolour = blue\n",
		"t.conf:6: unknown key \"colour\" in [scope s]");
	refused(HEAD "[mystery]\nx = 1\n", "t.conf:4: unknown section [mystery]");
	refused(HEAD SCOPE "pool = 10.1.0.10-10.1.0.20\nnap = maybe\n", "t.conf:6:");
	refused(HEAD SCOPE "pool = 10.1.0.10-10.1.0.20\nnap_fail = sometimes\n", "t.conf:6:");
	refused(HEAD "[napvd]\nserver = nowhere\n" SCOPE "pool = 10.1.0.10-10.1.0.20\n",
		"t.conf:4:");
	refused(HEAD "[napvd]\ncolour = red\n", "t.conf:4: unknown key \"colour\" in [napvd]");
	refused("[server]\nlisten = 127.0.0.1\n", "t.conf:2: listen: bad address");
	refused("[server]\nmetrics = localhost\n", "t.conf:2: metrics: bad address");
	refused("[server]\nstate_dir = relative/dir\n", "t.conf:2: state_dir");
	refused(HEAD SCOPE "dns = 10.1.0.1 10.1.0.2 10.1.0.3 10.1.0.4 10.1.0.5 10.1.0.6 10.1.0.7 "
			   "10.1.0.8 10.1.0.9\n", "more than 8 addresses");
	refused(HEAD SCOPE "routes = 10.9.0.1/16 10.1.0.1\n", "host bits zero");
	refused(HEAD SCOPE "domain = bad..name\n", "not a domain name");
	refused(HEAD "[class q]\nnap = on\n", "unknown key \"nap\" in [class q]");
	refused(HEAD SCOPE "pool = 10.1.0.10-10.1.0.20\n[scope s]\npool = 10.1.0.15-10.1.0.16\n",
		"overlap");
	{
		char big[400];

		snprintf(big, sizeof(big), HEAD "; %0300d\n", 0);
		refused(big, "line 3: longer than");
		refused(big, "(repeat the key instead)");
	}
	refused(HEAD "; bell \a\n", "line 3: control character 0x07");
	refused(HEAD "[scope s]\nsubnet = 10.0.0.0/8\npool = 10.0.0.1-10.255.255.254\n",
		"the pools hold");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
