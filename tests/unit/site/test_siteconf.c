// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Unit tests for napsited.conf(5) (lib/site/siteconf.c): the shared example, defaults, every kind
 * of bad input with its file:line, printing back and parsing the printout again, the warnings,
 * the HSR entry's DN with RFC 4514 escaping, and the bind password file's checks.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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

#include "nap/siteconf.h"

/* The example of the brief, verbatim (including "5min"). */
static const char example[] = "[site]\n"
			      "code = S01\n"
			      "key = /etc/nap/site.key\n"
			      "state_dir = /var/lib/nap\n"
			      "user = nap\n"
			      "pidfile = /run/nap/napsited.pid\n"
			      "metrics = 127.0.0.1:9813\n"
			      "poll_interval = 1s\n"
			      "\n"
			      "[store]\n"
			      "uri = sqlite:/var/lib/nap/site.db\n"
			      "\n"
			      "[directory]\n"
			      "uri = ldaps://dc1.example.org:636 ldap://dc2.example.org\n"
			      "base = dc=example,dc=org\n"
			      "container = cn=System Management\n"
			      "bind_dn = cn=napsited,ou=services,dc=example,dc=org\n"
			      "bind_password_file = /etc/nap/ldap.secret\n"
			      "starttls = yes\n"
			      "ca_file = /etc/nap/ldap-ca.pem\n"
			      "timeout = 10s\n"
			      "retry_min = 1s\n"
			      "retry_max = 5min\n"
			      "\n"
			      "[agent]\n"
			      "listen = 0.0.0.0:8443\n"
			      "cert = /etc/nap/napsited.pem\n"
			      "key = /etc/nap/napsited.key\n"
			      "cert_lifetime = 365d\n"
			      "token_lifetime = 24h\n";

static const char minimal[] = "[site]\ncode = S02\nkey = /k.pem\n";

static struct nap_siteconf *
parse_ok(const char *text)
{
	struct nap_siteconf *c = NULL;
	char err[512] = "";
	int r = nap_siteconf_parse_string(text, "t.conf", &c, err, sizeof(err));

	if (r != 0)
		fail_msg("unexpected error: %s", err);
	assert_non_null(c);
	return c;
}

/* text must fail with exactly the message want (which starts with "t.conf"). */
static void
parse_bad(const char *text, const char *want)
{
	struct nap_siteconf *c = (void *)1;
	char err[512] = "";
	int r = nap_siteconf_parse_string(text, "t.conf", &c, err, sizeof(err));

	assert_int_equal(r, -EINVAL);
	assert_null(c);
	if (strcmp(err, want) != 0)
		fail_msg("want \"%s\"\n got \"%s\"", want, err);
}

static void
test_example(void **state)
{
	struct nap_siteconf *c = parse_ok(example);

	(void)state;
	assert_string_equal(c->path, "t.conf");
	assert_string_equal(c->site, "S01");
	assert_string_equal(c->key, "/etc/nap/site.key");
	assert_string_equal(c->user, "nap");
	assert_string_equal(c->pidfile, "/run/nap/napsited.pid");
	assert_string_equal(c->metrics, "127.0.0.1:9813");
	assert_int_equal(c->poll_interval_ms, 1000);
	assert_string_equal(c->store_uri, "sqlite:/var/lib/nap/site.db");
	assert_true(c->has_directory);
	assert_int_equal(c->n_dir_uri, 2);
	assert_string_equal(c->dir_uri[0], "ldaps://dc1.example.org:636");
	assert_string_equal(c->dir_uri[1], "ldap://dc2.example.org");
	assert_string_equal(c->dir_base, "dc=example,dc=org");
	assert_string_equal(c->dir_container, "cn=System Management");
	assert_string_equal(c->dir_bind_dn, "cn=napsited,ou=services,dc=example,dc=org");
	assert_string_equal(c->dir_bind_password_file, "/etc/nap/ldap.secret");
	assert_true(c->dir_starttls);
	assert_string_equal(c->dir_ca_file, "/etc/nap/ldap-ca.pem");
	assert_int_equal(c->dir_timeout_ms, 10000);
	assert_int_equal(c->dir_retry_min_ms, 1000);
	assert_int_equal(c->dir_retry_max_ms, 300000);
	assert_true(c->dir_create_container);
	assert_true(c->has_agent);
	assert_string_equal(c->agent_listen, "0.0.0.0:8443");
	assert_string_equal(c->agent_cert, "/etc/nap/napsited.pem");
	assert_string_equal(c->agent_key, "/etc/nap/napsited.key");
	assert_string_equal(c->agent_ca_cert, "/var/lib/nap/agent-ca.pem");
	assert_string_equal(c->agent_ca_key, "/var/lib/nap/agent-ca.key");
	assert_int_equal(c->agent_cert_lifetime, 365 * 86400);
	assert_int_equal(c->agent_token_lifetime, 86400);
	nap_siteconf_free(c);
}

static void
test_defaults(void **state)
{
	struct nap_siteconf *c = parse_ok(minimal);

	(void)state;
	assert_string_equal(c->site, "S02");
	assert_string_equal(c->state_dir, "/var/lib/nap");
	assert_null(c->user);
	assert_null(c->pidfile);
	assert_null(c->metrics);
	assert_int_equal(c->poll_interval_ms, 1000);
	assert_string_equal(c->store_uri, "sqlite:/var/lib/nap/site.db");
	assert_false(c->has_directory);
	assert_false(c->has_agent);
	/* Directory defaults hold even without the section (napctl reads them). */
	assert_true(c->dir_starttls);
	assert_true(c->dir_create_container);
	assert_int_equal(c->dir_timeout_ms, 10000);
	assert_int_equal(c->dir_retry_min_ms, 1000);
	assert_int_equal(c->dir_retry_max_ms, 300000);
	assert_int_equal(c->agent_cert_lifetime, 365 * 86400);
	assert_int_equal(c->agent_token_lifetime, 24 * 3600);
	nap_siteconf_free(c);

	c = parse_ok("[site]\ncode = a_b-9\nkey = /k\nstate_dir = /srv/nap\n"
		     "[directory]\nuri = ldap://127.0.0.1:3890\nbase = dc=napt,dc=test\n"
		     "[agent]\nlisten = [::1]:8443\ncert = /c\nkey = /k2\n");
	assert_string_equal(c->store_uri, "sqlite:/srv/nap/site.db");
	assert_string_equal(c->dir_container, "cn=System Management");
	assert_null(c->dir_bind_dn);
	assert_string_equal(c->agent_ca_cert, "/srv/nap/agent-ca.pem");
	assert_string_equal(c->agent_ca_key, "/srv/nap/agent-ca.key");
	nap_siteconf_free(c);
}

static void
test_durations(void **state)
{
	struct nap_siteconf *c;

	(void)state;
	c = parse_ok("[site]\ncode=S\nkey=/k\npoll_interval = 250ms\n"
		     "[directory]\nuri=ldapi:///\nbase=dc=x\ntimeout=1500ms\nretry_min = 2\n"
		     "retry_max = 1h\n[agent]\nlisten=127.0.0.1:1\ncert=/c\nkey=/k\n"
		     "cert_lifetime = 90d\ntoken_lifetime = 30min\n");
	assert_int_equal(c->poll_interval_ms, 250);
	assert_int_equal(c->dir_timeout_ms, 1500);
	assert_int_equal(c->dir_retry_min_ms, 2000);
	assert_int_equal(c->dir_retry_max_ms, 3600 * 1000);
	assert_int_equal(c->agent_cert_lifetime, 90 * 86400);
	assert_int_equal(c->agent_token_lifetime, 1800);
	nap_siteconf_free(c);
}

static void
test_errors(void **state)
{
	(void)state;
	/* Where inih or a key handler stops: the line of the offending key. */
	parse_bad("code = S01\n", "t.conf:1: key \"code\" outside a section");
	parse_bad("[site]\ncode = S01\n[sight]\nx = 1\n",
		  "t.conf:4: unknown section [sight] (site, store, directory, agent, web, deployment, status)");
	parse_bad("[site]\ncode = S01\nkeys = /k\n", "t.conf:3: unknown key \"keys\" in [site]");
	parse_bad("[site]\ncode = S01\ncode = S02\n", "t.conf:3: [site] code given twice");
	parse_bad("[site]\n\ncode = S 01\n",
		  "t.conf:3: code: \"S 01\" is not 1..16 characters of [A-Za-z0-9_-]");
	parse_bad("[site]\ncode = S01234567890123456\n",
		  "t.conf:2: code: \"S01234567890123456\" is not 1..16 characters of "
		  "[A-Za-z0-9_-]");
	parse_bad("[site]\ncode =\n", "t.conf:2: code: \"\" is not 1..16 characters of "
				      "[A-Za-z0-9_-]");
	parse_bad("[site]\nkey = site.key\n",
		  "t.conf:2: key: \"site.key\" is not an absolute path");
	parse_bad("[site]\nkey =\n", "t.conf:2: key: empty");
	parse_bad("[site]\nstate_dir = var/lib\n",
		  "t.conf:2: state_dir: \"var/lib\" is not an absolute path");
	parse_bad("[site]\nuser = a b\n", "t.conf:2: user: \"a b\" is not a user name");
	parse_bad("[site]\nmetrics = localhost:9813\n",
		  "t.conf:2: metrics: bad address \"localhost:9813\" (want IPV4:PORT or "
		  "[IPV6]:PORT)");
	parse_bad("[site]\nmetrics = 127.0.0.1\n",
		  "t.conf:2: metrics: bad address \"127.0.0.1\" (want IPV4:PORT or [IPV6]:PORT)");
	parse_bad("[site]\nmetrics = 127.0.0.1:65536\n",
		  "t.conf:2: metrics: bad address \"127.0.0.1:65536\" (want IPV4:PORT or "
		  "[IPV6]:PORT)");
	parse_bad("[site]\npoll_interval = soon\n",
		  "t.conf:2: poll_interval: bad duration \"soon\" (e.g. 500ms, 10s, 5m)");
	parse_bad("[site]\npoll_interval = -1s\n",
		  "t.conf:2: poll_interval: bad duration \"-1s\" (e.g. 500ms, 10s, 5m)");
	parse_bad("[site]\npoll_interval = 5ms\n",
		  "t.conf:2: poll_interval: \"5ms\" is outside 10ms..3600s");
	parse_bad("[site]\npoll_interval = 2h\n",
		  "t.conf:2: poll_interval: \"2h\" is outside 10ms..3600s");
	parse_bad("[store]\nuri =\n", "t.conf:2: uri: empty");
	parse_bad("[directory]\nuri = http://dc1\n",
		  "t.conf:2: uri: \"http://dc1\" is not an ldap://, ldaps:// or ldapi:// URI");
	parse_bad("[directory]\nuri = ldap://dc1:x/\n",
		  "t.conf:2: uri: \"ldap://dc1:x/\" is not a valid LDAP URI");
	parse_bad("[directory]\nuri = ldap://a ldap://b ldap://A\n",
		  "t.conf:2: uri: \"ldap://A\" given twice");
	parse_bad("[directory]\nuri = ldap://a ldap://b ldap://c ldap://d ldap://e ldap://f "
		  "ldap://g ldap://h ldap://i\n",
		  "t.conf:2: uri: more than 8 URIs");
	parse_bad("[directory]\nuri =\n", "t.conf:2: uri: empty");
	parse_bad("[directory]\nbase = example.org\n",
		  "t.conf:2: base: \"example.org\" is not a DN");
	parse_bad("[directory]\nbind_dn = cn=x,,dc=y\n",
		  "t.conf:2: bind_dn: \"cn=x,,dc=y\" is not a DN");
	parse_bad("[directory]\ncontainer = System Management\n",
		  "t.conf:2: container: \"System Management\" is not a relative DN");
	parse_bad("[directory]\nstarttls = maybe\n",
		  "t.conf:2: starttls: want yes or no, not \"maybe\"");
	parse_bad("[directory]\ncreate_container = 2\n",
		  "t.conf:2: create_container: want yes or no, not \"2\"");
	parse_bad("[directory]\nca_file = ca.pem\n",
		  "t.conf:2: ca_file: \"ca.pem\" is not an absolute path");
	parse_bad("[directory]\ntimeout = 50ms\n",
		  "t.conf:2: timeout: \"50ms\" is outside 100ms..3600s");
	parse_bad("[directory]\nretry_max = 2d\n",
		  "t.conf:2: retry_max: \"2d\" is outside 10ms..86400s");
	parse_bad("[agent]\nlisten = *:8443\n",
		  "t.conf:2: listen: bad address \"*:8443\" (want IPV4:PORT or [IPV6]:PORT)");
	parse_bad("[agent]\ncert_lifetime = 10m\n",
		  "t.conf:2: cert_lifetime: \"10m\" is outside 3600s..36500d");
	parse_bad("[agent]\ntoken_lifetime = 1500ms\n",
		  "t.conf:2: token_lifetime: bad duration \"1500ms\" (e.g. 90s, 15m, 26h, 365d)");
	/* inih's own complaint: a line that is neither a section, a key nor a comment. */
	parse_bad("[site]\ncode = S01\nthis is not a key\n", "t.conf:3: syntax error");
	/* Values -n could not print so that they read back the same. */
	parse_bad("[site]\ncode = S01\nuser=;c\n",
		  "t.conf:3: user: a value may not start with ';' (after a blank it starts a "
		  "comment)");
	{
		char text[300];

		snprintf(text, sizeof(text), "[site]\nkey=/%0192d\n", 0);
		parse_bad(text, "t.conf:2: key: value longer than 191 characters");
		snprintf(text, sizeof(text), "[site]\ncode=S\nkey=/%0190d\n", 0);
		nap_siteconf_free(parse_ok(text));
	}
	/* A continuation line repeats the key. */
	parse_bad("[site]\ncode = S01\n  S02\n", "t.conf:3: [site] code given twice");
}

static void
test_errors_after_parse(void **state)
{
	char line[400];

	(void)state;
	/* Missing keys point at their section's header. */
	parse_bad("; napsited\n\n[site]\nkey = /k\n", "t.conf:3: [site] code is required");
	parse_bad("[site]\ncode = S01\n",
		  "t.conf:1: [site] key is required (the site's Ed25519 signing key)");
	parse_bad("[store]\nuri = sqlite:/x.db\n",
		  "t.conf: no [site] section (code and key are required)");
	parse_bad("", "t.conf: no [site] section (code and key are required)");
	parse_bad("[site]\ncode=S\nkey=/k\n\n[directory]\nbase = dc=x\n",
		  "t.conf:5: [directory] uri is required");
	parse_bad("[site]\ncode=S\nkey=/k\n[directory]\nuri = ldap://x\n",
		  "t.conf:4: [directory] base is required");
	parse_bad("[site]\ncode=S\nkey=/k\n[directory]\nuri = ldap://x\nbase=dc=x\n"
		  "bind_dn = cn=a,dc=x\n",
		  "t.conf:4: [directory] bind_dn needs bind_password_file");
	parse_bad("[site]\ncode=S\nkey=/k\n[directory]\nuri = ldap://x\nbase=dc=x\n"
		  "bind_password_file = /p\n",
		  "t.conf:4: [directory] bind_password_file without bind_dn");
	parse_bad("[site]\ncode=S\nkey=/k\n[directory]\nuri = ldap://x\nbase=dc=x\n"
		  "retry_min = 10s\nretry_max = 5s\n",
		  "t.conf:4: [directory] retry_min (10000ms) is longer than retry_max (5000ms)");
	parse_bad("[site]\ncode=S\nkey=/k\n[agent]\ncert=/c\nkey=/k\n",
		  "t.conf:4: [agent] listen is required");
	parse_bad("[site]\ncode=S\nkey=/k\n[agent]\nlisten=127.0.0.1:8443\nkey=/k\n",
		  "t.conf:4: [agent] cert and key are required (the endpoint's TLS certificate)");
	parse_bad("[site]\ncode=S\nkey=/k\nmetrics=127.0.0.1:8443\n[agent]\n"
		  "listen=127.0.0.1:8443\ncert=/c\nkey=/k\n",
		  "t.conf:5: [agent] listen is the same address as [site] metrics");
	/* A line inih would cut silently. */
	memset(line, 'x', sizeof(line));
	memcpy(line, "[site]\n; ", 9);
	line[sizeof(line) - 1] = '\0';
	parse_bad(line, "t.conf:2: longer than 197 characters");
}

static void
test_file(void **state)
{
	char path[] = "/tmp/test_siteconf_XXXXXX";
	struct nap_siteconf *c = (void *)1;
	char err[512], want[600];
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "[site]\ncode = S\n\0", 17), 17);
	close(fd);
	assert_int_equal(nap_siteconf_parse_file(path, &c, err, sizeof(err)), -EINVAL);
	assert_null(c);
	snprintf(want, sizeof(want), "%s: NUL byte in the file", path);
	assert_string_equal(err, want);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, "[site]\ncode = S\n", 16), 16);
	close(fd);
	assert_int_equal(nap_siteconf_parse_file(path, &c, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want),
		 "%s:1: [site] key is required (the site's Ed25519 signing key)", path);
	assert_string_equal(err, want);
	unlink(path);
	assert_int_equal(nap_siteconf_parse_file(path, &c, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	assert_string_equal(err, want);
}

static char *
print_to_string(const struct nap_siteconf *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	nap_siteconf_print(c, f);
	fclose(f);
	return buf;
}

static void
round_trip(const char *text)
{
	struct nap_siteconf *c = parse_ok(text), *c2;
	char *p1 = print_to_string(c), *p2;

	c2 = parse_ok(p1);
	p2 = print_to_string(c2);
	assert_string_equal(p1, p2);
	free(p1);
	free(p2);
	nap_siteconf_free(c);
	nap_siteconf_free(c2);
}

static void
test_print(void **state)
{
	struct nap_siteconf *c = parse_ok(example);
	char *p = print_to_string(c);

	(void)state;
	/* Every key appears, with defaults filled in and durations normalised. */
	assert_non_null(strstr(p, "[site]\ncode = S01\nkey = /etc/nap/site.key\n"));
	assert_non_null(strstr(p, "poll_interval = 1s\n"));
	assert_non_null(strstr(p, "\n[store]\nuri = sqlite:/var/lib/nap/site.db\n"));
	assert_non_null(strstr(p, "uri = ldaps://dc1.example.org:636 ldap://dc2.example.org\n"));
	assert_non_null(strstr(p, "retry_max = 5m\n"));
	assert_non_null(strstr(p, "create_container = yes\n"));
	assert_non_null(strstr(p, "ca_key = /var/lib/nap/agent-ca.key\n"));
	assert_non_null(strstr(p, "cert_lifetime = 365d\n"));
	assert_non_null(strstr(p, "token_lifetime = 1d\n"));
	free(p);
	nap_siteconf_free(c);

	round_trip(example);
	round_trip(minimal);
	round_trip("[site]\ncode=S\nkey=/k\npoll_interval=1500ms\nmetrics=[::1]:9\n"
		   "[directory]\nuri=ldapi:///\nbase=dc=x\ncontainer=\nstarttls=off\n"
		   "create_container=false\ntimeout=90s\n");
}

static int
count_warnings(const char *text, char **out)
{
	struct nap_siteconf *c = parse_ok(text);
	size_t len = 0;
	FILE *f = open_memstream(out, &len);
	int n;

	n = nap_siteconf_warnings(c, f);
	fclose(f);
	nap_siteconf_free(c);
	return n;
}

static void
test_warnings(void **state)
{
	char *w;

	(void)state;
	assert_int_equal(count_warnings(minimal, &w), 1);
	assert_non_null(strstr(w, "no [directory] section"));
	free(w);
	/* The brief's example is consistent. */
	assert_int_equal(count_warnings(example, &w), 0);
	free(w);
	assert_int_equal(count_warnings("[site]\ncode=S\nkey=/k\npoll_interval=5s\n"
					"[directory]\nuri=ldap://a ldap://b\nbase=dc=x\n"
					"bind_dn=cn=a,dc=x\nbind_password_file=/p\nstarttls=no\n"
					"timeout=20s\nretry_min=1s\nretry_max=30s\n"
					"[agent]\nlisten=127.0.0.1:1\ncert=/c\nkey=/k\n"
					"cert_lifetime=1h\ntoken_lifetime=1d\n",
					&w),
			 5);
	assert_non_null(strstr(w, "crosses ldap://a in clear text"));
	assert_non_null(strstr(w, "crosses ldap://b in clear text"));
	assert_non_null(strstr(w, "can take 40000ms (timeout), longer than retry_max (30000ms)"));
	assert_non_null(strstr(w, "poll_interval (5000ms) is longer than [directory] retry_min"));
	assert_non_null(strstr(w, "token_lifetime is longer than cert_lifetime"));
	free(w);
	assert_int_equal(count_warnings("[site]\ncode=S\nkey=/k\n[directory]\nuri=ldap://a\n"
					"base=dc=x\n",
					&w),
			 1);
	assert_non_null(strstr(w, "an anonymous bind cannot write"));
	free(w);
}

static void
test_hsr_dn(void **state)
{
	struct nap_siteconf *c = parse_ok(example);
	char dn[256];

	(void)state;
	assert_int_equal(nap_siteconf_hsr_dn(c, "S01", dn, sizeof(dn)), 0);
	assert_string_equal(dn, "cn=S01,cn=System Management,dc=example,dc=org");
	assert_int_equal(nap_siteconf_hsr_dn(c, "S02", dn, sizeof(dn)), 0);
	assert_string_equal(dn, "cn=S02,cn=System Management,dc=example,dc=org");
	/* RFC 4514: specials, a leading '#' or space, a trailing space, control characters. */
	assert_int_equal(nap_siteconf_hsr_dn(c, "a,b+\"\\<>;=c", dn, sizeof(dn)), 0);
	assert_string_equal(dn, "cn=a\\,b\\+\\\"\\\\\\<\\>\\;\\=c,cn=System Management,"
				"dc=example,dc=org");
	assert_int_equal(nap_siteconf_hsr_dn(c, "#x y ", dn, sizeof(dn)), 0);
	assert_string_equal(dn, "cn=\\#x y\\ ,cn=System Management,dc=example,dc=org");
	assert_int_equal(nap_siteconf_hsr_dn(c, " a\n", dn, sizeof(dn)), 0);
	assert_string_equal(dn, "cn=\\ a\\0a,cn=System Management,dc=example,dc=org");
	assert_int_equal(nap_siteconf_hsr_dn(c, "", dn, sizeof(dn)), -EINVAL);
	assert_int_equal(nap_siteconf_hsr_dn(c, "S01", dn, 20), -ENAMETOOLONG);
	nap_siteconf_free(c);

	c = parse_ok("[site]\ncode=S\nkey=/k\n[directory]\nuri=ldap://a\nbase=dc=napt,dc=test\n"
		     "container=\n");
	assert_int_equal(nap_siteconf_hsr_dn(c, "S", dn, sizeof(dn)), 0);
	assert_string_equal(dn, "cn=S,dc=napt,dc=test");
	nap_siteconf_free(c);
	/* Without [directory] there is no base and no DN. */
	c = parse_ok(minimal);
	assert_int_equal(nap_siteconf_hsr_dn(c, "S02", dn, sizeof(dn)), -EINVAL);
	nap_siteconf_free(c);
}

static struct nap_siteconf *
password_conf(const char *path)
{
	char text[512];

	snprintf(text, sizeof(text),
		 "[site]\ncode=S\nkey=/k\n[directory]\nuri=ldap://a\nbase=dc=x\n"
		 "bind_dn=cn=a,dc=x\nbind_password_file=%s\n",
		 path);
	return parse_ok(text);
}

static void
write_secret(const char *path, const char *text, size_t n, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void
test_password(void **state)
{
	char dir[] = "/tmp/test_siteconf_pw_XXXXXX", path[128], link[160];
	struct nap_siteconf *c;
	char err[512], *pw = NULL;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/secret", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	c = password_conf(path);

	assert_int_equal(nap_siteconf_bind_password(c, &pw, err, sizeof(err)), -ENOENT);
	assert_null(pw);
	assert_non_null(strstr(err, "No such file"));

	write_secret(path, "s3cret\n", 7, 0600);
	assert_int_equal(nap_siteconf_bind_password(c, &pw, err, sizeof(err)), 0);
	assert_string_equal(pw, "s3cret");
	free(pw);
	/* One trailing newline goes (CRLF too); a second one is part of no password. */
	write_secret(path, "s3cret\r\n", 8, 0400);
	assert_int_equal(nap_siteconf_bind_password(c, &pw, err, sizeof(err)), 0);
	assert_string_equal(pw, "s3cret");
	free(pw);
	write_secret(path, "with space", 10, 0600);
	assert_int_equal(nap_siteconf_bind_password(c, &pw, err, sizeof(err)), 0);
	assert_string_equal(pw, "with space");
	free(pw);
	pw = NULL;
	write_secret(path, "s3cret\n\n", 8, 0600);
	assert_int_equal(nap_siteconf_bind_password(c, &pw, err, sizeof(err)), -EINVAL);
	assert_null(pw);
	assert_non_null(strstr(err, "NUL or a line break"));
	write_secret(path, "\n", 1, 0600);
	assert_int_equal(nap_siteconf_bind_password(c, &pw, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "empty"));

	/* Group or other may not even look. */
	write_secret(path, "s3cret\n", 7, 0644);
	assert_int_equal(nap_siteconf_bind_password(c, &pw, err, sizeof(err)), -EPERM);
	assert_null(pw);
	assert_non_null(strstr(err, "mode 0644 lets group or other at it; refusing"));
	write_secret(path, "s3cret\n", 7, 0640);
	assert_int_equal(nap_siteconf_bind_password(c, &pw, err, sizeof(err)), -EPERM);
	write_secret(path, "s3cret\n", 7, 0602);
	assert_int_equal(nap_siteconf_bind_password(c, &pw, err, sizeof(err)), -EPERM);

	/* Not through a symbolic link, not a directory. */
	write_secret(path, "s3cret\n", 7, 0600);
	assert_int_equal(symlink(path, link), 0);
	nap_siteconf_free(c);
	c = password_conf(link);
	assert_int_equal(nap_siteconf_bind_password(c, &pw, err, sizeof(err)), -ELOOP);
	nap_siteconf_free(c);
	c = password_conf(dir);
	chmod(dir, 0700);
	assert_int_equal(nap_siteconf_bind_password(c, &pw, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a regular file"));
	nap_siteconf_free(c);

	/* Too long. */
	{
		static char big[5000];

		memset(big, 'p', sizeof(big));
		write_secret(path, big, sizeof(big), 0600);
		c = password_conf(path);
		assert_int_equal(nap_siteconf_bind_password(c, &pw, err, sizeof(err)), -EFBIG);
		nap_siteconf_free(c);
	}
	c = parse_ok(minimal);
	assert_int_equal(nap_siteconf_bind_password(c, &pw, err, sizeof(err)), -ENOENT);
	nap_siteconf_free(c);

	unlink(link);
	unlink(path);
	rmdir(dir);
}

static void
test_sockaddr(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len;

	(void)state;
	assert_int_equal(nap_siteconf_sockaddr("127.0.0.1:9813", &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 9813);
	assert_int_equal(len, sizeof(struct sockaddr_in));
	assert_int_equal(nap_siteconf_sockaddr("[::1]:443", &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 443);
	assert_int_equal(nap_siteconf_sockaddr("::1:443", &ss, &len), -EINVAL);
	assert_int_equal(nap_siteconf_sockaddr("[::1]", &ss, &len), -EINVAL);
	assert_int_equal(nap_siteconf_sockaddr("[::1]:", &ss, &len), -EINVAL);
	assert_int_equal(nap_siteconf_sockaddr("1.2.3.4:0", &ss, &len), -EINVAL);
	assert_int_equal(nap_siteconf_sockaddr("1.2.3.4:+1", &ss, &len), -EINVAL);
	assert_int_equal(nap_siteconf_sockaddr("1.2.3:1", &ss, &len), -EINVAL);
	assert_int_equal(nap_siteconf_sockaddr(":1", &ss, &len), -EINVAL);
}

/* [web]: defaults (loopback only), allow networks, TLS both-or-neither, address clashes. */
static void
test_web(void **state)
{
	struct nap_siteconf *c;
	struct sockaddr_in a4 = {.sin_family = AF_INET};
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
	char *p = NULL;
	size_t n = 0;
	FILE *f;

	(void)state;
	c = parse_ok("[site]\ncode=S\nkey=/k\n[web]\nlisten = 127.0.0.1:8080\n");
	assert_true(c->has_web);
	assert_string_equal(c->web_listen, "127.0.0.1:8080");
	assert_null(c->web_cert);
	assert_null(c->web_token_file);
	assert_int_equal(c->web_threads, 4);
	assert_int_equal(c->web_refresh, 60);
	assert_int_equal(c->n_web_allow, 2);
	inet_pton(AF_INET, "127.3.2.1", &a4.sin_addr);
	assert_true(nap_siteconf_cidr_match(c->web_allow, c->n_web_allow, (void *)&a4));
	inet_pton(AF_INET, "10.0.0.1", &a4.sin_addr);
	assert_false(nap_siteconf_cidr_match(c->web_allow, c->n_web_allow, (void *)&a4));
	inet_pton(AF_INET6, "::1", &a6.sin6_addr);
	assert_true(nap_siteconf_cidr_match(c->web_allow, c->n_web_allow, (void *)&a6));
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &a6.sin6_addr);
	assert_true(nap_siteconf_cidr_match(c->web_allow, c->n_web_allow, (void *)&a6));
	inet_pton(AF_INET6, "::2", &a6.sin6_addr);
	assert_false(nap_siteconf_cidr_match(c->web_allow, c->n_web_allow, (void *)&a6));
	nap_siteconf_free(c);

	c = parse_ok("[site]\ncode=S\nkey=/k\n[web]\nlisten = [::1]:8080\ncert = /c\nkey = /k\n"
		     "allow = 10.1.0.0/16, 192.0.2.7 fd00::/8\ntoken_file = /t\nthreads = 2\n"
		     "refresh = 5m\n");
	assert_int_equal(c->n_web_allow, 3);
	assert_int_equal(c->web_allow[0].prefix, 16);
	assert_int_equal(c->web_allow[1].prefix, 32);
	inet_pton(AF_INET, "10.1.255.3", &a4.sin_addr);
	assert_true(nap_siteconf_cidr_match(c->web_allow, c->n_web_allow, (void *)&a4));
	inet_pton(AF_INET, "10.2.0.1", &a4.sin_addr);
	assert_false(nap_siteconf_cidr_match(c->web_allow, c->n_web_allow, (void *)&a4));
	inet_pton(AF_INET, "127.0.0.1", &a4.sin_addr);
	assert_false(nap_siteconf_cidr_match(c->web_allow, c->n_web_allow, (void *)&a4));
	inet_pton(AF_INET6, "fdff::1", &a6.sin6_addr);
	assert_true(nap_siteconf_cidr_match(c->web_allow, c->n_web_allow, (void *)&a6));
	assert_string_equal(c->web_token_file, "/t");
	assert_int_equal(c->web_threads, 2);
	assert_int_equal(c->web_refresh, 300);
	f = open_memstream(&p, &n);
	nap_siteconf_print(c, f);
	fclose(f);
	assert_non_null(strstr(p, "[web]\nlisten = [::1]:8080\ncert = /c\nkey = /k\n"
				  "allow = 10.1.0.0/16 192.0.2.7/32 fd00::/8\ntoken_file = /t\n"
				  "threads = 2\nrefresh = 5m\n"));
	nap_siteconf_free(c);
	c = parse_ok(p);
	assert_int_equal(c->n_web_allow, 3);
	assert_int_equal(c->web_refresh, 300);
	nap_siteconf_free(c);
	free(p);
	c = parse_ok("[site]\ncode=S\nkey=/k\n[web]\nlisten = 127.0.0.1:8080\nrefresh = 0\n");
	assert_int_equal(c->web_refresh, 0);
	f = open_memstream(&p, &n);
	nap_siteconf_print(c, f);
	fclose(f);
	assert_non_null(strstr(p, "refresh = 0\n"));
	nap_siteconf_free(c);
	free(p);

	parse_bad("[site]\ncode=S\nkey=/k\n[web]\ncert=/c\n",
		  "t.conf:4: [web] listen is required");
	parse_bad("[site]\ncode=S\nkey=/k\n[web]\nlisten=127.0.0.1:1\ncert=/c\n",
		  "t.conf:4: [web] cert and key go together (HTTPS), or neither (plain HTTP)");
	parse_bad("[site]\ncode=S\nkey=/k\nmetrics=127.0.0.1:1\n[web]\nlisten=127.0.0.1:1\n",
		  "t.conf:5: [web] listen is the same address as [site] metrics or [agent] listen");
	parse_bad("[web]\nallow = 10.0.0.1/8\n",
		  "t.conf:2: allow: \"10.0.0.1/8\" is not ADDRESS[/PREFIX] (e.g. 10.1.0.0/16, ::1; "
		  "no host bits past the prefix)");
	parse_bad("[web]\nallow = 10.0.0.0/33\n",
		  "t.conf:2: allow: \"10.0.0.0/33\" is not ADDRESS[/PREFIX] (e.g. 10.1.0.0/16, ::1; "
		  "no host bits past the prefix)");
	parse_bad("[web]\nallow = localhost\n",
		  "t.conf:2: allow: \"localhost\" is not ADDRESS[/PREFIX] (e.g. 10.1.0.0/16, ::1; "
		  "no host bits past the prefix)");
	parse_bad("[web]\nallow = ,\n",
		  "t.conf:2: allow: empty (leave the key out for loopback only)");
	parse_bad("[web]\nthreads = 0\n", "t.conf:2: threads: \"0\" is not a number 1..64");
	parse_bad("[web]\nlisten = 127.0.0.1:1\v\n", "t.conf:2: control character 0x0b");
	parse_bad("# \x7f\n[web]\n", "t.conf:1: control character 0x7f");
	parse_bad("[web]\nrefresh = 1s\n", "t.conf:2: refresh: \"1s\" is outside 5s..1d");
	parse_bad("[web]\nrefresh = often\n", "t.conf:2: refresh: bad duration \"often\" (e.g. 90s, 15m, 26h, 365d)");
	parse_bad("[web]\nlisten = *:80\n",
		  "t.conf:2: listen: bad address \"*:80\" (want IPV4:PORT or [IPV6]:PORT)");
}

/* [status]: the inbox, the quarantine next to it by default, silent_after, print round trip. */
static void
test_status(void **state)
{
	struct nap_siteconf *c, *c2;
	char *out = NULL, *out2 = NULL;
	size_t n = 0, n2 = 0;
	FILE *f;

	(void)state;
	c = parse_ok("[site]\ncode = S02\nkey = /k.pem\n[status]\ninbox = /srv/inbox\n");
	assert_true(c->has_status);
	assert_string_equal(c->status_inbox, "/srv/inbox");
	assert_string_equal(c->status_quarantine, "/srv/inbox/quarantine");
	assert_int_equal(c->status_silent_after, 1800);
	assert_int_equal(c->status_scan_interval_ms, 1000);
	assert_int_equal(c->status_keep, 90 * 86400);
	assert_int_equal(c->status_keep_daily, 400 * 86400);
	f = open_memstream(&out, &n);
	nap_siteconf_print(c, f);
	fclose(f);
	c2 = parse_ok(out);
	f = open_memstream(&out2, &n2);
	nap_siteconf_print(c2, f);
	fclose(f);
	assert_string_equal(out, out2);
	nap_siteconf_free(c);
	nap_siteconf_free(c2);
	free(out);
	free(out2);
	c = parse_ok("[site]\ncode = S02\nkey = /k.pem\n[status]\ninbox = /i\nquarantine = /q\n"
		     "silent_after = 2h\nscan_interval = 200ms\n");
	assert_string_equal(c->status_quarantine, "/q");
	assert_int_equal(c->status_silent_after, 7200);
	assert_int_equal(c->status_scan_interval_ms, 200);
	nap_siteconf_free(c);
	/* retention: 0 keeps forever, and prints back as 0 */
	c = parse_ok("[site]\ncode = S02\nkey = /k.pem\n[status]\ninbox = /i\nkeep = 0\n"
		     "keep_daily = 730d\n");
	assert_int_equal(c->status_keep, 0);
	assert_int_equal(c->status_keep_daily, 730 * 86400);
	f = open_memstream(&out, &n);
	nap_siteconf_print(c, f);
	fclose(f);
	assert_non_null(strstr(out, "keep = 0\n"));
	assert_non_null(strstr(out, "keep_daily = 730d\n"));
	free(out);
	nap_siteconf_free(c);
	parse_bad("[site]\ncode = S02\nkey = /k.pem\n[status]\nkeep = 12h\n",
		  "t.conf:5: keep: \"12h\" is outside 86400s..36600d");
	parse_bad("[site]\ncode = S02\nkey = /k.pem\n[status]\nkeep_daily = forever\n",
		  "t.conf:5: keep_daily: bad duration \"forever\" (e.g. 90s, 15m, 26h, 365d)");
	c = parse_ok(minimal);
	assert_false(c->has_status);
	assert_null(c->status_inbox);
	assert_int_equal(c->status_silent_after, 1800);
	nap_siteconf_free(c);
	parse_bad("[site]\ncode = S02\nkey = /k.pem\n[status]\ninbox = rel/dir\n",
		  "t.conf:5: inbox: \"rel/dir\" is not an absolute path");
	parse_bad("[site]\ncode = S02\nkey = /k.pem\n[status]\nsilent_after = 10s\n",
		  "t.conf:5: silent_after: \"10s\" is outside 60s..30d");
	parse_bad("[site]\ncode = S02\nkey = /k.pem\n[status]\nfoo = 1\n",
		  "t.conf:5: unknown key \"foo\" in [status]");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_errors_after_parse),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_hsr_dn),
		cmocka_unit_test(test_password),
		cmocka_unit_test(test_sockaddr),
		cmocka_unit_test(test_web),
		cmocka_unit_test(test_status),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
