// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * napctl ports / firewall: the port matrix built from a napsited.conf with a [deployment]
 * section and SHV points (exact rows), the nftables ruleset for each role (exact accept rules,
 * nothing more), role lists, and the [deployment] keys' checks.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "nap/siteconf.h"

#include "ports.h"

static const char conf_text[] = "[site]\n"
				"code = S01\n"
				"key = /etc/nap/site.key\n"
				"[directory]\n"
				"uri = ldap://10.0.0.5 ldaps://10.0.0.6:3269 ldapi:///\n"
				"base = dc=example,dc=org\n"
				"[agent]\n"
				"listen = 0.0.0.0:8443\n"
				"cert = /c.pem\n"
				"key = /k.pem\n"
				"[web]\n"
				"listen = 10.0.0.1:8080\n"
				"allow = 192.0.2.0/24 2001:db8::/32\n"
				"[deployment]\n"
				"site_host = 10.0.0.1\n"
				"inbox_url = smb://10.0.0.1:44501/inbox/napvd\n"
				"inbox_credentials = /etc/nap/inbox.cred\n"
				"radius = 10.0.0.7 [2001:db8::7]:18120\n"
				"radius_secret_file = /etc/nap/radius.secret\n"
				"dhcp = 10.0.0.9\n"
				"hra = https://10.0.0.11 http://10.0.0.10:8080/hcep\n"
				"ipsec = yes\n";

static const struct ports_shv shv[] = {
	{"shv1", "smb://10.0.0.7/napconf", "/etc/nap/shv1.cred",
	 "ldap://10.0.0.5:3268 ldaps://10.0.0.6:3269"},
	{"shv2", "smb://[2001:db8::7]:4450/napconf/dir", "/etc/nap/shv2.cred", NULL},
};

struct want_row {
	unsigned from, to;
	enum ports_proto proto;
	uint16_t port;
	const char *host;
	enum ports_probe probe;
	const char *url;
};

static struct nap_siteconf *
conf_parse(const char *text)
{
	struct nap_siteconf *c = NULL;
	char err[512] = "";

	if (nap_siteconf_parse_string(text, "t.conf", &c, err, sizeof(err)) < 0)
		fail_msg("parse: %s", err);
	return c;
}

static void
test_matrix_rows(void **state)
{
	static const struct want_row want[] = {
		{PORTS_SITE, PORTS_DIRECTORY, PORTS_TCP, 389, "10.0.0.5", PORTS_PROBE_LDAP,
		 "ldap://10.0.0.5"},
		{PORTS_SITE, PORTS_DIRECTORY, PORTS_TCP, 3269, "10.0.0.6", PORTS_PROBE_LDAP,
		 "ldaps://10.0.0.6:3269"},
		{PORTS_SHV, PORTS_DIRECTORY, PORTS_TCP, 3268, "10.0.0.5", PORTS_PROBE_GC,
		 "ldap://10.0.0.5:3268"},
		{PORTS_SHV, PORTS_DIRECTORY, PORTS_TCP, 3269, "10.0.0.6", PORTS_PROBE_GC,
		 "ldaps://10.0.0.6:3269"},
		{PORTS_SITE, PORTS_SHV, PORTS_TCP, 445, "10.0.0.7", PORTS_PROBE_SMB,
		 "smb://10.0.0.7/napconf"},
		{PORTS_SITE, PORTS_SHV, PORTS_TCP, 4450, "2001:db8::7", PORTS_PROBE_SMB,
		 "smb://[2001:db8::7]:4450/napconf/dir"},
		{PORTS_SHV, PORTS_SITE, PORTS_TCP, 44501, "10.0.0.1", PORTS_PROBE_SMB,
		 "smb://10.0.0.1:44501/inbox/napvd"},
		{PORTS_CLIENT, PORTS_DHCP, PORTS_UDP, 67, "10.0.0.9", PORTS_PROBE_NONE, ""},
		{PORTS_DHCP, PORTS_CLIENT, PORTS_UDP, 68, "", PORTS_PROBE_NONE, ""},
		{PORTS_CLIENT, PORTS_HRA, PORTS_TCP, 443, "10.0.0.11", PORTS_PROBE_HTTP,
		 "https://10.0.0.11"},
		{PORTS_CLIENT, PORTS_HRA, PORTS_TCP, 8080, "10.0.0.10", PORTS_PROBE_HTTP,
		 "http://10.0.0.10:8080/hcep"},
		{PORTS_CLIENT, PORTS_CLIENT, PORTS_UDP, 500, "", PORTS_PROBE_NONE, ""},
		{PORTS_CLIENT, PORTS_CLIENT, PORTS_UDP, 4500, "", PORTS_PROBE_NONE, ""},
		{PORTS_DHCP | PORTS_HRA, PORTS_SHV, PORTS_UDP, 1812, "10.0.0.7", PORTS_PROBE_RADIUS,
		 "10.0.0.7"},
		{PORTS_DHCP | PORTS_HRA, PORTS_SHV, PORTS_UDP, 18120, "2001:db8::7",
		 PORTS_PROBE_RADIUS, "[2001:db8::7]:18120"},
		{PORTS_CLIENT, PORTS_SITE, PORTS_TCP, 8443, "10.0.0.1", PORTS_PROBE_HTTP,
		 "https://10.0.0.1:8443/"},
		{PORTS_ADMIN, PORTS_SITE, PORTS_TCP, 8080, "10.0.0.1", PORTS_PROBE_HTTP,
		 "http://10.0.0.1:8080/"},
	};
	struct nap_siteconf *c = conf_parse(conf_text);
	struct ports_matrix m;
	char err[256] = "";

	(void)state;
	assert_int_equal(ports_matrix_build(c, shv, 2, &m, err, sizeof(err)), 0);
	assert_int_equal(m.n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < m.n; i++) {
		const struct ports_row *r = &m.rows[i];

		if (r->from != want[i].from || r->to != want[i].to || r->proto != want[i].proto ||
		    r->port != want[i].port || strcmp(r->host, want[i].host) != 0 ||
		    r->probe != want[i].probe || strcmp(r->url, want[i].url) != 0)
			fail_msg("row %zu: %s -> %s %s %u %s probe %d %s", i,
				 ports_role_title(r->from), ports_role_title(r->to),
				 r->proto == PORTS_UDP ? "udp" : "tcp", r->port, r->host, r->probe,
				 r->url);
	}
	assert_string_equal(m.rows[4].credentials, "/etc/nap/shv1.cred");
	assert_string_equal(m.rows[6].credentials, "/etc/nap/inbox.cred");
	assert_string_equal(m.rows[2].source, "SHV point shv1 [hsr] uri");
	ports_matrix_free(&m);
	nap_siteconf_free(c);
}

/* Without SHV points or [deployment] gc, the SHV points read the site server's directory. */
static void
test_matrix_defaults(void **state)
{
	struct nap_siteconf *c = conf_parse("[site]\ncode = S01\nkey = /k\n"
					    "[directory]\nuri = ldaps://dir.example.org\n"
					    "base = dc=example,dc=org\n"
					    "[agent]\nlisten = 0.0.0.0:443\ncert = /c\nkey = /k\n");
	struct ports_matrix m;
	char err[256] = "";
	json_t *j;

	(void)state;
	assert_int_equal(ports_matrix_build(c, NULL, 0, &m, err, sizeof(err)), 0);
	assert_int_equal(m.n, 3);
	assert_int_equal(m.rows[0].probe, PORTS_PROBE_LDAP);
	assert_int_equal(m.rows[0].port, 636);
	assert_int_equal(m.rows[1].probe, PORTS_PROBE_GC);
	assert_string_equal(m.rows[1].host, "dir.example.org");
	assert_string_equal(m.rows[1].source, "[directory] uri (no [deployment] gc)");
	/* The agent listens on a wildcard and no site_host: the host is unknown, not probed. */
	assert_int_equal(m.rows[2].port, 443);
	assert_string_equal(m.rows[2].host, "");
	assert_string_equal(m.rows[2].url, "");
	j = ports_matrix_json(&m, c->site);
	assert_non_null(j);
	assert_int_equal(json_array_size(json_object_get(j, "rows")), 3);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(j, "rows"), 2), "endpoint")),
			    "*:443");
	json_decref(j);
	ports_matrix_free(&m);
	nap_siteconf_free(c);
}

static char *
firewall_text(const struct nap_siteconf *c, const struct ports_matrix *m, unsigned roles,
	      const char *family)
{
	char *buf = NULL, err[256] = "";
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	if (ports_firewall(m, c, roles, family, f, err, sizeof(err)) < 0)
		fail_msg("firewall: %s", err);
	fclose(f);
	return buf;
}

/* The accept rules of one chain (the lines after the fixed head), each without its comment. */
static void
chain_rules(const char *text, const char *chain, char *out, size_t cap)
{
	char head[64];
	const char *p, *end;

	out[0] = '\0';
	snprintf(head, sizeof(head), "\tchain %s {\n", chain);
	p = strstr(text, head);
	assert_non_null(p);
	end = strstr(p, "\t}\n");
	assert_non_null(end);
	for (p = strchr(p, '\n') + 1; p < end; p = strchr(p, '\n') + 1) {
		const char *nl = strchr(p, '\n');
		const char *cm = strstr(p, " comment \"");
		size_t n = (size_t)((cm != NULL && cm < nl ? cm : nl) - p);

		while (*p == '\t')
			p++, n--;
		if (strncmp(p, "type ", 5) == 0 || strncmp(p, "iif ", 4) == 0 ||
		    strncmp(p, "oif ", 4) == 0 || strncmp(p, "ct state", 8) == 0 ||
		    strstr(p, "icmpv6") == p || strncmp(p, "meta l4proto ipv6-icmp", 22) == 0)
			continue;
		snprintf(out + strlen(out), cap - strlen(out), "%.*s|", (int)n, p);
	}
}

static void
test_firewall_roles(void **state)
{
	static const struct {
		unsigned roles;
		const char *family, *in, *out;
	} cases[] = {
		{PORTS_SITE, "inet",
		 "tcp dport 44501 accept|tcp dport 8443 accept|"
		 "ip saddr { 192.0.2.0/24 } tcp dport 8080 accept|"
		 "ip6 saddr { 2001:db8::/32 } tcp dport 8080 accept|",
		 "ip daddr 10.0.0.5 tcp dport 389 accept|ip daddr 10.0.0.6 tcp dport 3269 accept|"
		 "ip daddr 10.0.0.7 tcp dport 445 accept|ip6 daddr 2001:db8::7 tcp dport 4450 "
		 "accept|"},
		{PORTS_SHV, "inet",
		 "tcp dport 445 accept|tcp dport 4450 accept|"
		 "udp dport 1812 accept|udp dport 18120 accept|",
		 "ip daddr 10.0.0.5 tcp dport 3268 accept|ip daddr 10.0.0.6 tcp dport 3269 accept|"
		 "ip daddr 10.0.0.1 tcp dport 44501 accept|"},
		{PORTS_DHCP, "inet", "udp dport 67 accept|",
		 "udp dport 68 accept|ip daddr 10.0.0.7 udp dport 1812 accept|"
		 "ip6 daddr 2001:db8::7 udp dport 18120 accept|"},
		{PORTS_HRA, "ip", "tcp dport 443 accept|tcp dport 8080 accept|",
		 "ip daddr 10.0.0.7 udp dport 1812 accept|"
		 "# 2001:db8::7: not an IPv4 address, not opened (\"enforcement point -> SHV "
		 "point: health check request (as NPS)\")|"},
		{PORTS_CLIENT, "inet",
		 "udp dport 68 accept|udp dport 500 accept|udp dport 4500 accept|",
		 "udp dport 67 accept|ip daddr 10.0.0.11 tcp dport 443 accept|"
		 "ip daddr 10.0.0.10 tcp dport 8080 accept|udp dport 500 accept|"
		 "udp dport 4500 accept|ip daddr 10.0.0.1 tcp dport 8443 accept|"},
		{PORTS_DIRECTORY, "inet",
		 "tcp dport 389 accept|tcp dport 3269 accept|"
		 "tcp dport 3268 accept|",
		 ""},
	};
	struct nap_siteconf *c = conf_parse(conf_text);
	struct ports_matrix m;
	char err[256] = "", got[4096];

	(void)state;
	assert_int_equal(ports_matrix_build(c, shv, 2, &m, err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *t = firewall_text(c, &m, cases[i].roles, cases[i].family);
		char table[64];

		snprintf(table, sizeof(table), "\ntable %s nap {\n", cases[i].family);
		assert_non_null(strstr(t, table));
		assert_non_null(strstr(t, "policy drop;"));
		assert_non_null(strstr(t, "\t\tiif \"lo\" accept"));
		assert_non_null(strstr(t, "\t\toif \"lo\" accept"));
		assert_non_null(strstr(t, "\t\tct state established,related accept\n"));
		assert_true((strstr(t, "icmpv6") != NULL) == (strcmp(cases[i].family, "ip") != 0));
		chain_rules(t, "input", got, sizeof(got));
		if (strcmp(got, cases[i].in) != 0)
			fail_msg("case %zu input:\n got  %s\n want %s", i, got, cases[i].in);
		chain_rules(t, "output", got, sizeof(got));
		if (strcmp(got, cases[i].out) != 0)
			fail_msg("case %zu output:\n got  %s\n want %s", i, got, cases[i].out);
		free(t);
	}
	ports_matrix_free(&m);
	nap_siteconf_free(c);
}

/* A host holding several roles gets each rule once, and an unresolvable name is an error. */
static void
test_firewall_union_and_errors(void **state)
{
	struct nap_siteconf *c = conf_parse(conf_text);
	struct ports_matrix m;
	char err[256] = "", *t, *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	assert_int_equal(ports_matrix_build(c, shv, 2, &m, err, sizeof(err)), 0);
	t = firewall_text(c, &m, PORTS_DHCP | PORTS_HRA, "inet");
	/* RADIUS to napvd appears in both roles' rows but is one rule. */
	assert_non_null(strstr(t, "ip daddr 10.0.0.7 udp dport 1812 accept"));
	assert_null(strstr(strstr(t, "ip daddr 10.0.0.7 udp dport 1812 accept") + 1,
			   "ip daddr 10.0.0.7 udp dport 1812 accept"));
	free(t);
	f = open_memstream(&buf, &len);
	assert_int_equal(ports_firewall(&m, c, PORTS_SITE, "bridge", f, err, sizeof(err)), -EINVAL);
	fclose(f);
	free(buf);
	ports_matrix_free(&m);
	nap_siteconf_free(c);

	c = conf_parse("[site]\ncode = S01\nkey = /k\n"
		       "[deployment]\nradius = no-such-host.invalid\n");
	assert_int_equal(ports_matrix_build(c, NULL, 0, &m, err, sizeof(err)), 0);
	buf = NULL;
	f = open_memstream(&buf, &len);
	assert_true(ports_firewall(&m, c, PORTS_DHCP, "inet", f, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "no-such-host.invalid"));
	fclose(f);
	free(buf);
	ports_matrix_free(&m);
	nap_siteconf_free(c);
}

static void
test_roles_parse(void **state)
{
	unsigned m;

	(void)state;
	assert_int_equal(ports_roles_parse("site", &m), 0);
	assert_int_equal(m, PORTS_SITE);
	assert_int_equal(ports_roles_parse("site,shv,client", &m), 0);
	assert_int_equal(m, PORTS_SITE | PORTS_SHV | PORTS_CLIENT);
	assert_int_equal(ports_roles_parse("", &m), -EINVAL);
	assert_int_equal(ports_roles_parse("site,", &m), -EINVAL);
	assert_int_equal(ports_roles_parse("sites", &m), -EINVAL);
	assert_int_equal(ports_roles_parse("site,,shv", &m), -EINVAL);
	assert_string_equal(ports_role_title(PORTS_DHCP | PORTS_HRA), "enforcement point");
}

static void
test_hostport(void **state)
{
	char host[64], scheme[8];
	uint16_t port;

	(void)state;
	assert_int_equal(nap_siteconf_hostport("a.example:99", host, sizeof(host), &port, 1), 0);
	assert_string_equal(host, "a.example");
	assert_int_equal(port, 99);
	assert_int_equal(nap_siteconf_hostport("2001:db8::1", host, sizeof(host), &port, 1812), 0);
	assert_string_equal(host, "2001:db8::1");
	assert_int_equal(port, 1812);
	assert_int_equal(nap_siteconf_hostport("[::1]:5", host, sizeof(host), &port, 1), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 5);
	assert_int_equal(nap_siteconf_hostport("[::1]", host, sizeof(host), &port, 7), 0);
	assert_int_equal(port, 7);
	assert_int_equal(nap_siteconf_hostport("h:0", host, sizeof(host), &port, 1), -EINVAL);
	assert_int_equal(nap_siteconf_hostport("h:65536", host, sizeof(host), &port, 1), -EINVAL);
	assert_int_equal(nap_siteconf_hostport("h x", host, sizeof(host), &port, 1), -EINVAL);
	assert_int_equal(nap_siteconf_hostport("[nothex]:1", host, sizeof(host), &port, 1),
			 -EINVAL);
	assert_int_equal(nap_siteconf_hostport(":5", host, sizeof(host), &port, 1), -EINVAL);
	assert_int_equal(nap_siteconf_url_hostport("SMB://u@h:4450/s", scheme, sizeof(scheme), host,
						   sizeof(host), &port),
			 0);
	assert_string_equal(scheme, "smb");
	assert_string_equal(host, "h");
	assert_int_equal(port, 4450);
	assert_int_equal(nap_siteconf_url_hostport("https://h/x", scheme, sizeof(scheme), host,
						   sizeof(host), &port),
			 0);
	assert_int_equal(port, 443);
	assert_int_equal(nap_siteconf_url_hostport("ftp://h/", scheme, sizeof(scheme), host,
						   sizeof(host), &port),
			 -EINVAL);
	assert_int_equal(nap_siteconf_url_hostport("smb:///s", scheme, sizeof(scheme), host,
						   sizeof(host), &port),
			 -EINVAL);
}

static void
test_deployment_errors(void **state)
{
	static const struct {
		const char *body, *msg;
	} bad[] = {
		{"radius = 10.0.0.1:70000\n",
		 "t.conf:5: radius: \"10.0.0.1:70000\" is not HOST[:PORT]"},
		{"radius = a a\n", "t.conf:5: radius: \"a\" given twice"},
		{"inbox_url = http://x/\n", "is not smb://HOST[:PORT]/SHARE"},
		{"gc = ldapi:///\n", "gc: \"ldapi:///\" is not an ldap:// or ldaps:// URI"},
		{"hra = ldap://x\n", "hra: \"ldap://x\" is not an http:// or https:// URL"},
		{"gc_bind_dn = cn=x,dc=y\n", "gc_bind_dn and gc_bind_password_file go together"},
		{"ipsec = maybe\n", "ipsec: want yes or no"},
		{"site_host = a/b\n", "site_host: \"a/b\" is not a host name or address"},
		{"radius_secret_file = rel\n", "is not an absolute path"},
		{"nope = 1\n", "unknown key \"nope\" in [deployment]"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[512], err[512] = "";
		struct nap_siteconf *c = NULL;

		snprintf(text, sizeof(text), "[site]\ncode = S01\nkey = /k\n[deployment]\n%s",
			 bad[i].body);
		assert_int_equal(nap_siteconf_parse_string(text, "t.conf", &c, err, sizeof(err)),
				 -EINVAL);
		if (strstr(err, bad[i].msg) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, bad[i].msg);
		assert_null(c);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matrix_rows),
		cmocka_unit_test(test_matrix_defaults),
		cmocka_unit_test(test_firewall_roles),
		cmocka_unit_test(test_firewall_union_and_errors),
		cmocka_unit_test(test_roles_parse),
		cmocka_unit_test(test_hostport),
		cmocka_unit_test(test_deployment_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
