// SPDX-License-Identifier: GPL-3.0-or-later
/* Unit tests for napvd's configuration parser: the shared example, defaults, every kind of bad
 * input, printing back and parsing the printout again, and client lookup by address. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "nap/util.h"
#include "napvd.h"

static const char example[] =
	"[napvd]\n"
	"listen = 127.0.0.1:18120, [::1]:18121   ; comma-separated\n"
	"metrics = 127.0.0.1:9812\n"
	"user = nap\n"
	"state_dir = /var/lib/nap/napvd\n"
	"spool_max = 64M\n"
	"dup_cache_ttl = 30s\n"
	"pidfile = /run/napvd.pid\n"
	"\n"
	"[hsr]\n"
	"source = file\n"
	"file = /etc/nap/hsr.json\n"
	"trusted_keys = /etc/nap/site-keys.pem\n"
	"query_interval = 60s\n"
	"max_age = 24h\n"
	"sites = S01 S02\n"
	"\n"
	"[validation]\n"
	"validity_period = 26h\n"
	"absolute_cutoff = 2026-11-01T00:00:00Z\n"
	"client_component = noncompliant\n"
	"client_communication = compliant\n"
	"server_component = noncompliant\n"
	"server_communication = compliant\n"
	"other = noncompliant\n"
	"known_client_errors = 0x80070005 0x8024402c\n"
	"\n"
	"[client local]\n"
	"address = 127.0.0.1\n"
	"secret = testing123\n"
	"\n"
	"[client lab]\n"
	"address = 10.1.0.0/16\n"
	"secret = labsecret\n"
	"\n"
	"[client lab-host]\n"
	"address = 10.1.2.3/32\n"
	"secret = hostsecret\n"
	"\n"
	"[client v6]\n"
	"address = 2001:db8::/32\n"
	"secret = v6secret\n"
	"\n"
	"[enforcement dhcp]\n"
	"compliant = full\n"
	"noncompliant = restricted\n"
	"noncapable = reject\n"
	"wsh_checks = firewall antivirus auto-updates security-updates antispyware\n"
	"remediation_servers = 192.0.2.10 192.0.2.11\n"
	"user_class = nap-restricted\n"
	"probation = 3d\n"
	"\n"
	"[enforcement hra]\n"
	"noncompliant = probation\n"
	"probation = 12h\n";

static struct napvd_config *
parse_ok(const char *text)
{
	struct napvd_config *c = NULL;
	char err[512] = "";
	int r = napvd_config_parse_string(text, "test.conf", &c, err, sizeof(err));

	if (r != 0)
		fail_msg("unexpected parse error: %s", err);
	assert_non_null(c);
	return c;
}

static void
test_example(void **state)
{
	struct napvd_config *c = parse_ok(example);
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)&c->listen[0].ss;
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&c->listen[1].ss;
	const struct napvd_enforcement *dh = &c->enforcement[NAP_EP_DHCP];
	const struct napvd_enforcement *hra = &c->enforcement[NAP_EP_HRA];
	const struct napvd_enforcement *vpn = &c->enforcement[NAP_EP_VPN];
	uint8_t rem0[4] = {192, 0, 2, 10};

	(void)state;
	assert_int_equal(c->n_listen, 2);
	assert_int_equal(a4->sin_family, AF_INET);
	assert_int_equal(ntohs(a4->sin_port), 18120);
	assert_int_equal(a6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(a6->sin6_port), 18121);
	assert_true(IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr));
	assert_true(c->has_metrics);
	assert_string_equal(c->user, "nap");
	assert_true(c->spool_max == 64ull * 1024 * 1024);
	assert_int_equal(c->dup_cache_ttl, 30);
	assert_string_equal(c->pidfile, "/run/napvd.pid");
	assert_string_equal(c->hsr_source, "file");
	assert_int_equal(c->hsr_query_interval, 60);
	assert_int_equal(c->hsr_max_age, 86400);
	assert_int_equal(c->vc.hsr_max_age, 86400);
	assert_int_equal(c->n_sites, 2);
	assert_string_equal(c->sites[1], "S02");
	assert_int_equal(c->vc.validity_period, 26 * 3600);
	assert_int_equal(c->vc.absolute_cutoff, 1793491200); /* 2026-11-01T00:00:00Z */
	assert_false(c->vc.maps_compliant[NAP_RESULT_CLIENT_COMPONENT]);
	assert_true(c->vc.maps_compliant[NAP_RESULT_CLIENT_COMMUNICATION]);
	assert_true(c->vc.maps_compliant[NAP_RESULT_SERVER_COMMUNICATION]);
	assert_false(c->vc.maps_compliant[NAP_RESULT_OTHER]);
	assert_int_equal(c->vc.n_known_client_errors, 2);
	assert_int_equal(c->vc.known_client_errors[1], 0x8024402c);
	assert_int_equal(c->n_clients, 4);
	assert_int_equal(c->clients[0].secret_len, 10);
	assert_memory_equal(c->clients[0].secret, "testing123", 10);
	assert_int_equal(c->clients[1].prefix, 16);

	assert_true(dh->present);
	assert_int_equal(dh->action[NAPVD_CLASS_COMPLIANT], NAP_ACTION_FULL);
	assert_int_equal(dh->action[NAPVD_CLASS_NONCOMPLIANT], NAP_ACTION_RESTRICTED);
	assert_int_equal(dh->action[NAPVD_CLASS_NONCAPABLE], NAP_ACTION_REJECT);
	assert_int_equal(dh->wsh_checks, 0x1f);
	assert_int_equal(c->vc.wsh_checks[NAP_EP_DHCP], 0x1f);
	assert_int_equal(c->vc.wsh_checks[NAP_EP_VPN], 0);
	assert_int_equal(dh->n_remediation, 2);
	assert_memory_equal(dh->remediation[0], rem0, 4);
	assert_string_equal(dh->user_class, "nap-restricted");
	assert_int_equal(dh->probation, 3 * 86400);
	/* A partial section keeps the defaults for what it does not say. */
	assert_int_equal(hra->action[NAPVD_CLASS_COMPLIANT], NAP_ACTION_FULL);
	assert_int_equal(hra->action[NAPVD_CLASS_NONCOMPLIANT], NAP_ACTION_PROBATION);
	assert_int_equal(hra->probation, 12 * 3600);
	/* No section at all: built-in defaults. */
	assert_false(vpn->present);
	assert_int_equal(vpn->action[NAPVD_CLASS_COMPLIANT], NAP_ACTION_FULL);
	assert_int_equal(vpn->action[NAPVD_CLASS_NONCOMPLIANT], NAP_ACTION_RESTRICTED);
	assert_int_equal(vpn->action[NAPVD_CLASS_NONCAPABLE], NAP_ACTION_RESTRICTED);
	napvd_config_free(c);
}

static const char minimal[] = "[hsr]\nfile = /h.json\ntrusted_keys = /k.pem\n"
			      "[client a]\naddress = 127.0.0.1\nsecret = s\n";

static void
test_defaults(void **state)
{
	struct napvd_config *c = parse_ok(minimal);

	(void)state;
	assert_int_equal(c->n_listen, 2); /* 0.0.0.0:1812 and [::]:1812 */
	assert_int_equal(ntohs(((struct sockaddr_in *)&c->listen[0].ss)->sin_port), 1812);
	assert_false(c->has_metrics);
	assert_null(c->user);
	assert_string_equal(c->state_dir, "/var/lib/nap/napvd");
	assert_int_equal(c->dup_cache_ttl, 30);
	assert_int_equal(c->spool_sync, NAPVD_SYNC_BATCH);
	assert_int_equal(c->hsr_query_interval, 60);
	assert_int_equal(c->vc.validity_period, 26 * 3600);
	assert_int_equal(c->vc.absolute_cutoff, 0);
	for (size_t i = 0; i < NAP_RESULT_COUNT; i++)
		assert_false(c->vc.maps_compliant[i]);
	napvd_config_free(c);
}

/* [enforcement unspecified] stands in for every missing enforcement section. */
static void
test_unspecified_fallback(void **state)
{
	char text[1024];
	struct napvd_config *c;

	(void)state;
	snprintf(text, sizeof(text), "%s[enforcement unspecified]\nnoncompliant = reject\n"
				     "wsh_checks = firewall\n[enforcement dhcp]\ncompliant = probation\n",
		 minimal);
	c = parse_ok(text);
	assert_int_equal(c->enforcement[NAP_EP_VPN].action[NAPVD_CLASS_NONCOMPLIANT],
			 NAP_ACTION_REJECT);
	assert_int_equal(c->vc.wsh_checks[NAP_EP_VPN], NAP_WSH_CHECK_FIREWALL);
	/* A present section is not merged with unspecified. */
	assert_int_equal(c->enforcement[NAP_EP_DHCP].action[NAPVD_CLASS_NONCOMPLIANT],
			 NAP_ACTION_RESTRICTED);
	assert_int_equal(c->enforcement[NAP_EP_DHCP].action[NAPVD_CLASS_COMPLIANT],
			 NAP_ACTION_PROBATION);
	napvd_config_free(c);
}

static const struct {
	const char *extra; /* appended to the minimal config */
	const char *want;  /* substring of the error */
} bad[] = {
	{"[napvd]\nlisten = 127.0.0.1:99999\n", "listen: bad address"},
	{"[napvd]\nlisten = localhost:1812\n", "listen: bad address"},
	{"[napvd]\nlisten = [::1:1812\n", "listen: bad address"},
	{"[napvd]\nlisten = 127.0.0.1:1, 127.0.0.1:1\n", "given twice"},
	{"[napvd]\nbogus = 1\n", "unknown key \"bogus\""},
	{"[napvd]\ndup_cache_ttl = 30x\n", "bad duration"},
	{"[napvd]\ndup_cache_ttl = 2h\n", "at most 1h"},
	{"[napvd]\nspool_max = 12Q\n", "spool_max"},
	{"[napvd]\nspool_max = 100\n", "spool_max"},
	{"[napvd]\nspool_sync = always\n", "neither batch nor reply"},
	{"[napvd]\nspool_sync = reply\nspool_sync = batch\n", "given twice"},
	{"[napvd]\nstate_dir = relative/dir\n", "absolute"},
	{"[napvd]\nmetrics = nope\n", "metrics: bad address"},
	{"[napvd]\nuser = a\nuser = b\n", "given twice"},
	{"[nonsense]\nx = 1\n", "unknown section"},
	{"[hsr]\nsource = ldap-someday\n", "unknown HSR source"},
	{"[hsr]\nquery_interval = 0\n", "query_interval"},
	{"[hsr]\nsites = S01 bad/site\n", "sites"},
	{"[hsr]\nsites = S01 S01\n", "given twice"},
	{"[hsr]\nsites = ABCDEFGHIJKLMNOPQ\n", "sites"},
	{"[validation]\nother = maybe\n", "compliant or noncompliant"},
	{"[validation]\nabsolute_cutoff = yesterday\n", "absolute_cutoff"},
	{"[validation]\nknown_client_errors = 0x80070005 zz\n", "known_client_errors"},
	{"[validation]\nknown_client_errors = 0x1ffffffff\n", "known_client_errors"},
	{"[client b]\naddress = 127.0.0.2\n", "secret or secret_file is required"},
	{"[client b]\nsecret = x\n", "address is required"},
	{"[client b]\naddress = 127.0.0.300\nsecret = x\n", "bad IP or CIDR"},
	{"[client b]\naddress = 10.0.0.0/33\nsecret = x\n", "bad IP or CIDR"},
	{"[client b]\naddress = 127.0.0.1\nsecret = x\n", "same address"},
	{"[client b]\naddress = 127.0.0.2\nsecret = x\nsecret_file = /etc/passwd\n",
	 "secret or secret_file once"},
	{"[client b]\naddress = 127.0.0.2\nsecret_file = /nonexistent/secret\n", "secret_file"},
	{"[client b]\naddress = 127.0.0.2\nsecret = x\ncolour = blue\n", "unknown key"},
	{"[client]\naddress = 127.0.0.2\n", "unknown section"},
	{"[enforcement lan]\ncompliant = full\n", "unknown enforcement point"},
	{"[enforcement dhcp]\ncompliant = allow\n", "full, restricted, probation or reject"},
	{"[enforcement dhcp]\nwsh_checks = firewall teapot\n", "unknown check"},
	{"[enforcement dhcp]\nremediation_servers = 2001:db8::1\n", "not an IPv4 address"},
	{"[enforcement dhcp]\nprobation = 0\n", "probation"},
	{"[enforcement dhcp]\ncompliant = full\ncompliant = reject\n", "given twice"},
	{"[napvd\nlisten = 1.2.3.4\n", ""},
	{"[napvd]\nlisten = 127.0.0.1:1812, 127.0.0.1:1813, 127.0.0.1:1814, 127.0.0.1:1815, "
	 "127.0.0.1:1816, 127.0.0.1:1817, 127.0.0.1:1818, 127.0.0.1:1819, 127.0.0.1:1820, "
	 "127.0.0.1:1821, 127.0.0.1:1822, 127.0.0.1:1823, 127.0.0.1:1824, 127.0.0.1:1825\n",
	 "longer than"},
	{"[napvd]\nnas_identifier = a\vb\n", "control character 0x0b"},
};

static void
test_bad_configs(void **state)
{
	(void)state;
	for (size_t i = 0; i < NAP_ARRAY_SIZE(bad); i++) {
		char text[2048], err[512] = "";
		struct napvd_config *c = (struct napvd_config *)1;
		int r;

		snprintf(text, sizeof(text), "%s%s", minimal, bad[i].extra);
		r = napvd_config_parse_string(text, "bad.conf", &c, err, sizeof(err));
		if (r >= 0 || c != NULL)
			fail_msg("case %zu accepted: %s", i, bad[i].extra);
		if (strstr(err, bad[i].want) == NULL || strncmp(err, "bad.conf", 8) != 0)
			fail_msg("case %zu: error \"%s\" lacks \"%s\"", i, err, bad[i].want);
	}
}

static void
test_missing_required(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{"[hsr]\nfile = /h\ntrusted_keys = /k\n", "no [client NAME]"},
		{"[hsr]\ntrusted_keys = /k\n[client a]\naddress = ::1\nsecret = s\n",
		 "file is required"},
		{"[hsr]\nfile = /h\n[client a]\naddress = ::1\nsecret = s\n", "trusted_keys"},
		{"listen = 1.2.3.4\n", "outside a section"},
	};
	(void)state;
	for (size_t i = 0; i < NAP_ARRAY_SIZE(cases); i++) {
		struct napvd_config *c;
		char err[512] = "";

		assert_true(napvd_config_parse_string(cases[i].text, "m.conf", &c, err,
						      sizeof(err)) < 0);
		assert_null(c);
		if (strstr(err, cases[i].want) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].want);
	}
}

/* Printing is normal form: printing the re-parsed printout gives the same text. */
static void
test_print_roundtrip(void **state)
{
	char path[] = "/tmp/napvd-secret-XXXXXX", text[4096];
	struct napvd_config *c1, *c2;
	char *out1 = NULL, *out2 = NULL;
	size_t n1 = 0, n2 = 0;
	FILE *f;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "filesecret\nignored\n", 19), 19);
	close(fd);
	snprintf(text, sizeof(text),
		 "[napvd]\nlisten = 127.0.0.1:18120, [::1]:18121\nmetrics = [::1]:9999\n"
		 "spool_max = 1536K\nspool_sync = reply\ndup_cache_ttl = 90s\n"
		 "[hsr]\nfile = /h.json\ntrusted_keys = /k.pem\nsites = A B\nmax_age = 36h\n"
		 "[validation]\nvalidity_period = 0\nother = compliant\n"
		 "known_client_errors = 5 0x8024402c\n"
		 "[client f]\naddress = 192.0.2.0/24\nsecret_file = %s\n"
		 "[enforcement vpn]\nnoncompliant = reject\nremediation_servers = 192.0.2.1\n",
		 path);
	c1 = parse_ok(text);
	assert_int_equal(c1->spool_sync, NAPVD_SYNC_REPLY);
	assert_int_equal(c1->clients[0].secret_len, 10);
	assert_memory_equal(c1->clients[0].secret, "filesecret", 10);
	f = open_memstream(&out1, &n1);
	napvd_config_print(c1, f);
	fclose(f);
	c2 = parse_ok(out1);
	f = open_memstream(&out2, &n2);
	napvd_config_print(c2, f);
	fclose(f);
	assert_string_equal(out1, out2);
	assert_non_null(strstr(out1, "spool_max = 1536K\n"));
	assert_non_null(strstr(out1, "dup_cache_ttl = 90s\n"));
	assert_non_null(strstr(out1, "max_age = 36h\n"));
	assert_non_null(strstr(out1, "known_client_errors = 0x00000005 0x8024402c\n"));
	assert_non_null(strstr(out1, "listen = 127.0.0.1:18120, [::1]:18121\n"));
	assert_null(strstr(out1, "filesecret")); /* never printed */
	assert_int_equal(c2->enforcement[NAP_EP_VPN].action[NAPVD_CLASS_NONCOMPLIANT],
			 NAP_ACTION_REJECT);
	free(out1);
	free(out2);
	napvd_config_free(c1);
	napvd_config_free(c2);
	unlink(path);
}

static void
test_inline_secret_not_printed(void **state)
{
	struct napvd_config *c = parse_ok(example);
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);

	(void)state;
	napvd_config_print(c, f);
	fclose(f);
	assert_null(strstr(out, "testing123"));
	assert_non_null(strstr(out, "[client local]"));
	free(out);
	napvd_config_free(c);
}

static const struct napvd_client *
lookup(const struct napvd_config *c, const char *addr)
{
	struct napvd_sockaddr sa;

	assert_int_equal(napvd_sockaddr_parse(addr, 1812, &sa), 0);
	return napvd_client_lookup(c, (const struct sockaddr *)&sa.ss);
}

static void
test_client_lookup(void **state)
{
	struct napvd_config *c = parse_ok(example);
	const struct napvd_client *cl;

	(void)state;
	cl = lookup(c, "127.0.0.1:5000");
	assert_non_null(cl);
	assert_string_equal(cl->name, "local");
	assert_null(lookup(c, "127.0.0.2:5000"));
	assert_string_equal(lookup(c, "10.1.9.9")->name, "lab");
	assert_string_equal(lookup(c, "10.1.2.3")->name, "lab-host"); /* most specific */
	assert_null(lookup(c, "10.2.0.1"));
	assert_string_equal(lookup(c, "[2001:db8:1::5]:1")->name, "v6");
	assert_null(lookup(c, "[2001:db9::5]:1"));
	/* An IPv4 NAS seen through an IPv6 socket. */
	assert_string_equal(lookup(c, "[::ffff:10.1.2.3]:7")->name, "lab-host");
	assert_null(lookup(c, "[::1]:7"));
	napvd_config_free(c);
}

static void
test_warnings(void **state)
{
	char text[1024];
	struct napvd_config *c;
	FILE *f = fopen("/dev/null", "w");

	(void)state;
	snprintf(text, sizeof(text), "%s[hsr]\nquery_interval = 2h\nmax_age = 1h\n", minimal);
	/* minimal already has [hsr]; a second [hsr] block continues the same section. */
	c = parse_ok(text);
	assert_true(napvd_config_warnings(c, f) >= 1);
	napvd_config_free(c);
	c = parse_ok(minimal);
	assert_int_equal(napvd_config_warnings(c, f), 0);
	napvd_config_free(c);
	fclose(f);
}


/* ---- [hsr] source = ldap ---- */

static const char ldap_base[] = "[hsr]\nsource = ldap\ntrusted_keys = /k.pem\n"
				"uri = ldaps://dc1.example.org:3269 ldap://127.0.0.1:3268\n"
				"base = dc=example,dc=org\n"
				"[client a]\naddress = 127.0.0.1\nsecret = s\n";

/* A file with the given mode and content in /tmp; path receives its name. */
static void
temp_file(char *path, const char *content, mode_t mode)
{
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void
test_ldap_defaults(void **state)
{
	struct napvd_config *c = parse_ok(ldap_base);
	FILE *f = fopen("/dev/null", "w");

	(void)state;
	assert_string_equal(c->hsr_source, "ldap");
	assert_int_equal(c->n_hsr_uris, 2);
	assert_string_equal(c->hsr_uris[0], "ldaps://dc1.example.org:3269");
	assert_string_equal(c->hsr_uris[1], "ldap://127.0.0.1:3268");
	assert_string_equal(c->hsr_base, "dc=example,dc=org");
	assert_string_equal(c->hsr_filter, NAPVD_HSR_DEFAULT_FILTER);
	assert_null(c->hsr_bind_dn);
	assert_null(c->hsr_bind_password);
	assert_true(c->hsr_starttls);
	assert_null(c->hsr_ca_file);
	assert_int_equal(c->hsr_timeout, 5);
	assert_int_equal(c->hsr_persist, NAPVD_PERSIST_AUTO);
	assert_int_equal(napvd_config_warnings(c, f), 0);
	napvd_config_free(c);
	fclose(f);
}

static void
test_ldap_keys(void **state)
{
	char pw[] = "/tmp/napvd-ldap-pw-XXXXXX", ca[] = "/tmp/napvd-ldap-ca-XXXXXX";
	char sec[] = "/tmp/napvd-ldap-secret-XXXXXX";
	char text[2048], printed[8192], printed2[8192];
	struct napvd_config *c, *c2;
	FILE *f;

	(void)state;
	temp_file(pw, "s3cr3t-bind\n", 0600);
	temp_file(ca, "-----BEGIN CERTIFICATE-----\n", 0644);
	temp_file(sec, "radius-secret\n", 0600);
	/* secret_file, so that the printout (which never shows an inline secret) parses again */
	snprintf(text, sizeof(text),
		 "[hsr]\nsource = ldap\ntrusted_keys = /k.pem\n"
		 "uri = ldaps://dc1.example.org:3269 ldap://127.0.0.1:3268\n"
		 "base = dc=example,dc=org\n"
		 "[client a]\naddress = 127.0.0.1\nsecret_file = %s\n"
		 "[hsr]\nuri = ldap://10.0.0.2\n"
		 "  ldap://10.0.0.3:389\n" /* a continuation line adds more */
		 "filter = (&(objectClass=napHealthStateReference)(napSiteCode=S*))\n"
		 "bind_dn = cn=napvd,ou=services,dc=example,dc=org\n"
		 "bind_password_file = %s\nstarttls = no\nca_file = %s\ntimeout = 10s\n"
		 "persist = no\nquery_interval = 30s\n",
		 sec, pw, ca);
	c = parse_ok(text);
	assert_int_equal(c->n_hsr_uris, 4);
	assert_string_equal(c->hsr_uris[3], "ldap://10.0.0.3:389");
	assert_string_equal(c->hsr_filter,
			    "(&(objectClass=napHealthStateReference)(napSiteCode=S*))");
	assert_string_equal(c->hsr_bind_dn, "cn=napvd,ou=services,dc=example,dc=org");
	assert_string_equal(c->hsr_bind_password, "s3cr3t-bind"); /* newline dropped */
	assert_false(c->hsr_starttls);
	assert_string_equal(c->hsr_ca_file, ca);
	assert_int_equal(c->hsr_timeout, 10);
	assert_int_equal(c->hsr_persist, NAPVD_PERSIST_NO);

	/* Printed back in normal form, without the password; the printout parses to the same. */
	f = fmemopen(printed, sizeof(printed), "w");
	napvd_config_print(c, f);
	fclose(f);
	assert_null(strstr(printed, "s3cr3t"));
	assert_non_null(strstr(printed, "\nuri = ldaps://dc1.example.org:3269 "
					"ldap://127.0.0.1:3268 ldap://10.0.0.2 ldap://10.0.0.3:389\n"));
	assert_non_null(strstr(printed, "\nstarttls = no\n"));
	assert_non_null(strstr(printed, "\npersist = no\n"));
	assert_non_null(strstr(printed, "\ntimeout = 10s\n"));
	c2 = parse_ok(printed);
	f = fmemopen(printed2, sizeof(printed2), "w");
	napvd_config_print(c2, f);
	fclose(f);
	assert_string_equal(printed, printed2);

	/* starttls = no with a bind to an ldap:// URI: the password would cross in clear. */
	f = fopen("/dev/null", "w");
	assert_true(napvd_config_warnings(c, f) >= 1);
	fclose(f);
	napvd_config_free(c2);
	napvd_config_free(c);
	unlink(pw);
	unlink(ca);
	unlink(sec);
}

static void
test_ldap_bad(void **state)
{
	static const struct {
		const char *extra, *want;
	} cases[] = {
		{"uri = http://dc1.example.org\n", "neither ldap:// nor ldaps://"},
		{"uri = ldapi:///run/slapd/ldapi\n", "neither ldap:// nor ldaps://"},
		{"uri = ldap://dc1/dc=example,dc=org\n", "scheme://host[:port] only"},
		{"uri = ldap://dc1:3268?cn\n", "scheme://host[:port] only"},
		{"uri = ldap://\n", "scheme://host[:port] only"},
		{"uri = ldap://dc1:99999\n", "port out of range"},
		{"uri = ldap://dc1:389/?\n", "scheme://host[:port] only"},
		{"uri = ldap://127.0.0.1:3268\n", "given twice"},
		{"base = dc=a\nbase = dc=b\n", "given twice"},
		{"filter = objectClass=napHealthStateReference\n", "not an LDAP filter"},
		{"filter = (a=1)(b=2)\n", "not an LDAP filter"},
		{"filter = ((a=1)\n", "not an LDAP filter"},
		{"filter = (a=1))\n", "not an LDAP filter"},
		{"bind_dn = nonsense\n", "is not a DN"},
		{"bind_dn = cn=napvd,dc=example,dc=org\n", "go together"},
		{"bind_password_file = /nonexistent/pw\n", "bind_password_file /nonexistent/pw"},
		{"bind_password_file = relative/pw\n", "absolute"},
		{"starttls = maybe\n", "yes or no"},
		{"ca_file = /nonexistent/ca.pem\n", "ca_file /nonexistent/ca.pem"},
		{"timeout = 0\n", "between 1s and 1h"},
		{"timeout = 2h\n", "between 1s and 1h"},
		{"persist = yes\n", "auto or no"},
		{"persist = no\npersist = auto\n", "given twice"},
	};
	(void)state;
	for (size_t i = 0; i < NAP_ARRAY_SIZE(cases); i++) {
		char text[2048], err[512] = "";
		struct napvd_config *c = (struct napvd_config *)1;

		snprintf(text, sizeof(text), "%s[hsr]\n%s", ldap_base, cases[i].extra);
		assert_true(napvd_config_parse_string(text, "l.conf", &c, err, sizeof(err)) < 0);
		assert_null(c);
		if (strstr(err, cases[i].want) == NULL)
			fail_msg("case %zu (%s): \"%s\" lacks \"%s\"", i, cases[i].extra, err,
				 cases[i].want);
	}
}

/* The bind password file: only its owner may read it; one line, not empty. */
static void
test_ldap_password_file(void **state)
{
	static const struct {
		const char *content;
		mode_t mode;
		const char *want; /* NULL: accepted */
	} cases[] = {
		{"pw\n", 0600, NULL},
		{"pw", 0400, NULL},
		{"pw\n", 0640, "lets group or other read it"},
		{"pw\n", 0604, "lets group or other read it"},
		{"", 0600, "empty"},
		{"\n", 0600, "empty"},
		{"two\nlines\n", 0600, "line break"},
	};
	(void)state;
	for (size_t i = 0; i < NAP_ARRAY_SIZE(cases); i++) {
		char path[] = "/tmp/napvd-ldap-pw-XXXXXX", text[2048], err[512] = "";
		struct napvd_config *c = NULL;
		int r;

		temp_file(path, cases[i].content, cases[i].mode);
		snprintf(text, sizeof(text),
			 "%s[hsr]\nbind_dn = cn=napvd,dc=example,dc=org\nbind_password_file = %s\n",
			 ldap_base, path);
		r = napvd_config_parse_string(text, "p.conf", &c, err, sizeof(err));
		unlink(path);
		if (cases[i].want == NULL) {
			if (r != 0)
				fail_msg("case %zu refused: %s", i, err);
			napvd_config_free(c);
		} else if (r == 0 || strstr(err, cases[i].want) == NULL) {
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].want);
		}
	}
}

static void
test_ldap_missing_and_warnings(void **state)
{
	static const struct {
		const char *text, *want;
	} missing[] = {
		{"[hsr]\nsource = ldap\ntrusted_keys = /k\nbase = dc=x\n"
		 "[client a]\naddress = ::1\nsecret = s\n",
		 "uri is required"},
		{"[hsr]\nsource = ldap\ntrusted_keys = /k\nuri = ldap://h\n"
		 "[client a]\naddress = ::1\nsecret = s\n",
		 "base is required"},
		{"[hsr]\nsource = ldap\ntrusted_keys = /k\nuri = ldap://h\nbase = not a dn\n"
		 "[client a]\naddress = ::1\nsecret = s\n",
		 "is not a DN"},
		{"[hsr]\nsource = ldap\nuri = ldap://h\nbase = dc=x\n"
		 "[client a]\naddress = ::1\nsecret = s\n",
		 "trusted_keys is required"},
	};
	char text[2048];
	struct napvd_config *c;
	FILE *f = fopen("/dev/null", "w");

	(void)state;
	for (size_t i = 0; i < NAP_ARRAY_SIZE(missing); i++) {
		char err[512] = "";

		assert_true(napvd_config_parse_string(missing[i].text, "m.conf", &c, err,
						      sizeof(err)) < 0);
		if (strstr(err, missing[i].want) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, missing[i].want);
	}
	/* A timeout as long as query_interval; file given with source = ldap. */
	snprintf(text, sizeof(text), "%s[hsr]\ntimeout = 60s\nfile = /h.json\n", ldap_base);
	c = parse_ok(text);
	assert_int_equal(napvd_config_warnings(c, f), 2);
	napvd_config_free(c);
	/* LDAP keys with source = file are ignored, with a warning. */
	snprintf(text, sizeof(text), "%s[hsr]\nuri = ldap://h\nbase = dc=x\n", minimal);
	c = parse_ok(text);
	assert_int_equal(napvd_config_warnings(c, f), 1);
	napvd_config_free(c);
	fclose(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_unspecified_fallback),
		cmocka_unit_test(test_bad_configs),
		cmocka_unit_test(test_missing_required),
		cmocka_unit_test(test_print_roundtrip),
		cmocka_unit_test(test_inline_secret_not_printed),
		cmocka_unit_test(test_client_lookup),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_ldap_defaults),
		cmocka_unit_test(test_ldap_keys),
		cmocka_unit_test(test_ldap_bad),
		cmocka_unit_test(test_ldap_password_file),
		cmocka_unit_test(test_ldap_missing_and_warnings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
