// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Unit tests for the SHV point settings file (lib/site/shv.c): a full file, normal forms,
 * rendering and parsing back, every kind of bad value with its line, all errors of a file
 * collected at once, what napvd is handed (nap_shv_settings_each), JSON round trip, the status
 * file, and the store's shv_points in SQLite.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "nap/shv.h"
#include "nap/store.h"

static const char full[] = "; a comment\n"
			   "[shv]\n"
			   "revision = 7\n"
			   "host = shv1.example.org\n"
			   "site = S01\n"
			   "\n"
			   "[hsr]\n"
			   "sites = S02, S03\n"
			   "uri = ldaps://gc1.example.org:3269 ldap://gc2.example.org\n"
			   "base = cn=System Management,dc=example,dc=org\n"
			   "bind_dn = cn=napvd,ou=services,dc=example,dc=org\n"
			   "bind_password_file = /etc/nap/hsr-bind.secret\n"
			   "query_interval = 120\n"
			   "max_age = 1440m\n"
			   "\n"
			   "[validation]\n"
			   "validity_period = 26h\n"
			   "absolute_cutoff = 2026-01-01\n"
			   "client_component = compliant\n"
			   "client_communication = noncompliant\n"
			   "server_component = noncompliant\n"
			   "server_communication = compliant\n"
			   "other = noncompliant\n"
			   "known_client_errors = 0xC0FF0001, 3221225473\n";

static void
parse_ok(const char *text, struct nap_shv_settings *s)
{
	struct nap_shv_errors errs;
	int r;

	nap_shv_settings_init(s);
	r = nap_shv_settings_parse(text, strlen(text), s, &errs);
	if (r != 0)
		fail_msg("parse failed: %s", errs.n > 0 ? errs.msg[0] : "?");
}

/* The first error of a file that must fail. */
static const char *
parse_err(const char *text, struct nap_shv_errors *errs)
{
	struct nap_shv_settings s;

	nap_shv_settings_init(&s);
	assert_int_equal(nap_shv_settings_parse(text, strlen(text), &s, errs), -EINVAL);
	assert_true(errs->n >= 1);
	for (size_t k = 0; k < NAP_SHV_KEY_COUNT; k++)
		assert_null(s.value[k]); /* nothing half-read */
	return errs->msg[0];
}

static void
test_full(void **state)
{
	struct nap_shv_settings s;

	(void)state;
	parse_ok(full, &s);
	assert_int_equal(s.revision, 7);
	assert_string_equal(s.value[NAP_SHV_SITE], "S01");
	assert_string_equal(s.value[NAP_SHV_SITES], "S02 S03");
	assert_string_equal(s.value[NAP_SHV_URI], "ldaps://gc1.example.org:3269 ldap://gc2.example.org");
	assert_string_equal(s.value[NAP_SHV_QUERY_INTERVAL], "2m");
	assert_string_equal(s.value[NAP_SHV_MAX_AGE], "1d");
	assert_string_equal(s.value[NAP_SHV_VALIDITY_PERIOD], "26h");
	assert_string_equal(s.value[NAP_SHV_ABSOLUTE_CUTOFF], "2026-01-01T00:00:00Z");
	assert_string_equal(s.value[NAP_SHV_CLIENT_COMPONENT], "compliant");
	assert_string_equal(s.value[NAP_SHV_KNOWN_CLIENT_ERRORS], "0xc0ff0001 0xc0000001");
	nap_shv_settings_clear(&s);
}

static void
test_minimal_and_unset(void **state)
{
	struct nap_shv_settings s;

	(void)state;
	parse_ok("[shv]\nrevision=1\nsite=S01\n", &s);
	assert_string_equal(s.value[NAP_SHV_SITE], "S01");
	for (size_t k = 1; k < NAP_SHV_KEY_COUNT; k++)
		assert_null(s.value[k]);
	nap_shv_settings_clear(&s);
	/* An empty list of known errors is a value (none known), not an unset key. */
	parse_ok("[shv]\nrevision=1\nsite=S01\n[validation]\nknown_client_errors =\n"
		 "absolute_cutoff = none\n",
		 &s);
	assert_string_equal(s.value[NAP_SHV_KNOWN_CLIENT_ERRORS], "");
	assert_string_equal(s.value[NAP_SHV_ABSOLUTE_CUTOFF], "none");
	nap_shv_settings_clear(&s);
}

static void
test_render_roundtrip(void **state)
{
	struct nap_shv_settings s, t;
	char *text, err[256];
	size_t len;

	(void)state;
	parse_ok(full, &s);
	assert_int_equal(nap_shv_settings_render(&s, "shv1", 8, &text, &len), 0);
	assert_int_equal(strlen(text), len);
	parse_ok(text, &t);
	assert_int_equal(t.revision, 8);
	assert_true(nap_shv_settings_equal(&s, &t));
	free(text);
	nap_shv_settings_clear(&t);

	/* Long lists go over continuation lines within the line limit, and come back whole. */
	{
		char sites[4096] = "";

		for (int i = 0; i < 200; i++) {
			char one[16];

			snprintf(one, sizeof(one), "%sX%03d", i ? " " : "", i);
			strcat(sites, one);
		}
		assert_int_equal(nap_shv_settings_set(&s, NAP_SHV_SITES, sites, err, sizeof(err)),
				 0);
		assert_int_equal(nap_shv_settings_render(&s, "shv1", 9, &text, &len), 0);
		for (char *l = text; *l != '\0';) {
			size_t n = strcspn(l, "\n");

			assert_true(n <= NAP_SHV_LINE_MAX);
			l += n + (l[n] == '\n');
		}
		parse_ok(text, &t);
		assert_string_equal(t.value[NAP_SHV_SITES], sites);
		free(text);
		nap_shv_settings_clear(&t);
	}
	/* A render of settings that break a rule is refused. */
	nap_shv_settings_set(&s, NAP_SHV_SITE, NULL, err, sizeof(err));
	assert_int_equal(nap_shv_settings_render(&s, "shv1", 9, &text, &len), -EINVAL);
	nap_shv_settings_clear(&s);
}

static void
test_bad_values(void **state)
{
	static const struct {
		const char *line; /* in [validation] or [hsr] after the [shv] lines */
		const char *want;
	} cases[] = {
		{"[validation]\nvalidity_period = 26x", "line 5: validity_period: bad duration"},
		{"[validation]\nvalidity_period = -5s", "bad duration"},
		{"[validation]\nvalidity_period = 99999999d", "longer than ten years"},
		{"[hsr]\nquery_interval = 0", "query_interval: at least 1s"},
		{"[validation]\nabsolute_cutoff = yesterday", "absolute_cutoff: bad time"},
		{"[validation]\nother = maybe", "other: want compliant or noncompliant"},
		{"[validation]\nknown_client_errors = 0x1 zz", "not a 32-bit code"},
		{"[validation]\nknown_client_errors = 0x100000000", "not a 32-bit code"},
		{"[validation]\nknown_client_errors = 1 0x1", "given twice"},
		{"[hsr]\nuri = http://x", "neither ldap:// nor ldaps://"},
		{"[hsr]\nuri = ldap://x/dc=a", "more than scheme://host"},
		{"[hsr]\nuri = ldap://x:99999", "port out of range"},
		{"[hsr]\nbase = not a dn", "base: \"not a dn\" is not a DN"},
		{"[hsr]\nbind_dn = cn=a\nbind_password_file = rel/path", "not an absolute path"},
		{"[hsr]\nbind_dn = cn=a", "bind_dn and bind_password_file go together"},
		{"[hsr]\nbind_password = hunter2", "secrets never travel in the share"},
		{"[hsr]\ntrusted_keys = /k", "not managed over SMB"},
		{"[hsr]\nsites = S01", "is the site itself"},
		{"[hsr]\nsites = bad!site", "is not a site code"},
		{"[hsr]\nsites = S02 S02", "given twice"},
		{"[hsr]\nmax_age = 1h\nmax_age = 2h", "line 6: key \"max_age\" given twice"},
		{"[validation]\nfoo = 1", "unknown key \"foo\" in [validation]"},
		{"[napvd]\nlisten = 1.2.3.4", "unknown section [napvd]"},
		{"[validation]\nthis line has no equals sign", "line 5: syntax error"},
	};
	char text[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nap_shv_errors errs;
		const char *e;

		snprintf(text, sizeof(text), "[shv]\nrevision = 2\nsite = S01\n%s\n", cases[i].line);
		e = parse_err(text, &errs);
		if (strstr(e, cases[i].want) == NULL)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, e, cases[i].want);
	}
}

static void
test_file_level(void **state)
{
	struct nap_shv_errors errs;
	char text[512];
	const char *e;

	(void)state;
	e = parse_err("[shv]\nsite = S01\n", &errs);
	assert_non_null(strstr(e, "revision is required"));
	e = parse_err("[shv]\nrevision = 0\nsite = S01\n", &errs);
	assert_non_null(strstr(e, "line 2: revision"));
	e = parse_err("[shv]\nrevision = 9007199254740992\nsite = S01\n", &errs);
	assert_non_null(strstr(e, "revision"));
	e = parse_err("[shv]\nrevision = 3\n", &errs);
	assert_non_null(strstr(e, "site code is required"));
	e = parse_err("revision = 3\n", &errs);
	assert_non_null(strstr(e, "outside a section"));
	/* NUL bytes and lines inih would cut are refused before parsing. */
	assert_int_equal(nap_shv_settings_parse("[shv]\nrev\0ision = 1\n", 20,
						&(struct nap_shv_settings){0}, &errs),
			 -EINVAL);
	assert_non_null(strstr(errs.msg[0], "line 2: NUL byte"));
	memset(text, 'a', sizeof(text));
	memcpy(text, "[shv]\nrevision = 1\nsite = S01\n[hsr]\nbase = cn=", 46);
	text[sizeof(text) - 2] = '\n';
	text[sizeof(text) - 1] = '\0';
	e = parse_err(text, &errs);
	assert_non_null(strstr(e, "line 5: longer than 197 characters"));
}

static void
test_all_errors_collected(void **state)
{
	struct nap_shv_errors errs;

	(void)state;
	parse_err("[shv]\nrevision = 5\nsite = S01\n[validation]\nvalidity_period = soon\n"
		  "other = maybe\n[hsr]\nquery_interval = 0\nuri = ftp://x\n",
		  &errs);
	assert_int_equal(errs.n, 4);
	assert_non_null(strstr(errs.msg[0], "line 5: validity_period"));
	assert_non_null(strstr(errs.msg[1], "line 6: other"));
	assert_non_null(strstr(errs.msg[2], "line 8: query_interval"));
	assert_non_null(strstr(errs.msg[3], "line 9: uri"));
}

struct kv_list {
	char text[2048];
};

static int
collect_kv(const char *section, const char *key, const char *value, void *arg)
{
	struct kv_list *l = arg;
	size_t n = strlen(l->text);

	snprintf(l->text + n, sizeof(l->text) - n, "[%s]%s=%s\n", section, key, value);
	return 0;
}

static void
test_each(void **state)
{
	struct nap_shv_settings s;
	struct kv_list l = {{0}};

	(void)state;
	parse_ok("[shv]\nrevision=1\nsite=S01\n[hsr]\nsites=S02 S03\nuri=ldap://a ldap://b\n"
		 "[validation]\nabsolute_cutoff=none\nknown_client_errors=\nother=compliant\n",
		 &s);
	assert_int_equal(nap_shv_settings_each(&s, collect_kv, &l), 0);
	assert_string_equal(l.text, "[hsr]sites=S01\n"
				    "[hsr]sites=S02\n"
				    "[hsr]sites=S03\n"
				    "[hsr]uri=ldap://a\n"
				    "[hsr]uri=ldap://b\n"
				    "[validation]absolute_cutoff=\n"
				    "[validation]other=compliant\n"
				    "[validation]known_client_errors=\n");
	nap_shv_settings_clear(&s);
}

static void
test_set_and_json(void **state)
{
	struct nap_shv_settings s, t;
	enum nap_shv_key k;
	char err[256];
	json_t *o;

	(void)state;
	nap_shv_settings_init(&s);
	nap_shv_settings_init(&t);
	assert_int_equal(nap_shv_key_from_name("validity_period", &k), 0);
	assert_int_equal(k, NAP_SHV_VALIDITY_PERIOD);
	assert_int_equal(nap_shv_key_from_name("bogus", &k), -EINVAL);
	assert_int_equal(nap_shv_settings_set(&s, NAP_SHV_VALIDITY_PERIOD, "93600", err,
					      sizeof(err)),
			 0);
	assert_string_equal(s.value[NAP_SHV_VALIDITY_PERIOD], "26h");
	/* A failed set leaves the old value. */
	assert_int_equal(nap_shv_settings_set(&s, NAP_SHV_VALIDITY_PERIOD, "x", err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(s.value[NAP_SHV_VALIDITY_PERIOD], "26h");
	assert_int_equal(nap_shv_settings_set(&s, NAP_SHV_BASE, "dc=a;b", err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "comment"));
	assert_int_equal(nap_shv_settings_set(&s, NAP_SHV_SITE, "S01", err, sizeof(err)), 0);
	o = nap_shv_settings_to_json(&s);
	assert_non_null(o);
	assert_int_equal(nap_shv_settings_from_json(o, &t, err, sizeof(err)), 0);
	assert_true(nap_shv_settings_equal(&s, &t));
	json_object_set_new(o, "other", json_string("perhaps"));
	assert_int_equal(nap_shv_settings_from_json(o, &t, err, sizeof(err)), -EINVAL);
	assert_true(nap_shv_settings_equal(&s, &t)); /* unchanged */
	json_decref(o);
	nap_shv_settings_clear(&s);
	nap_shv_settings_clear(&t);

	assert_true(nap_shv_host_valid("shv1.example.org"));
	assert_false(nap_shv_host_valid("-x"));
	assert_false(nap_shv_host_valid("a b"));
	assert_true(nap_shv_url_valid("smb://127.0.0.1:44501/conf"));
	assert_true(nap_shv_url_valid("smb://host/conf/dir"));
	assert_false(nap_shv_url_valid("smb://host/"));
	assert_false(nap_shv_url_valid("smb:///share"));
	assert_false(nap_shv_url_valid("http://host/share"));
	assert_false(nap_shv_url_valid("smb://host/a/../b"));
}

static void
test_status(void **state)
{
	struct nap_shv_status st = {.revision = 4, .running_revision = 3,
				    .result = NAP_SHV_REJECTED, .applied = 1764000000,
				    .n_errors = 1};
	struct nap_shv_status back;
	char why[256], *text;

	(void)state;
	snprintf(st.errors[0], sizeof(st.errors[0]), "line 5: other: want compliant");
	text = nap_shv_status_format(&st);
	assert_non_null(text);
	assert_int_equal(nap_shv_status_parse(text, strlen(text), &back, why, sizeof(why)), 0);
	assert_int_equal(back.revision, 4);
	assert_int_equal(back.running_revision, 3);
	assert_int_equal(back.result, NAP_SHV_REJECTED);
	assert_int_equal(back.applied, 1764000000);
	assert_int_equal(back.n_errors, 1);
	assert_string_equal(back.errors[0], st.errors[0]);
	free(text);
	assert_int_equal(nap_shv_status_parse("{}", 2, &back, why, sizeof(why)), -EINVAL);
	assert_int_equal(nap_shv_status_parse("[", 1, &back, why, sizeof(why)), -EINVAL);
	text = "{\"revision\":1,\"running_revision\":1,\"result\":\"rejected\",\"errors\":[],"
	       "\"applied\":\"2026-01-01T00:00:00Z\"}";
	assert_int_equal(nap_shv_status_parse(text, strlen(text), &back, why, sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "without an error"));
}

static void
test_store(void **state)
{
	char path[] = "/tmp/test_shv_XXXXXX", uri[64], err_s[256];
	struct nap_store_err err;
	struct nap_store *st;
	struct nap_shv_point p = {0}, got = {0}, *v;
	size_t n;
	uint64_t rev;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	snprintf(uri, sizeof(uri), "sqlite:%s", path);
	assert_int_equal(nap_store_open(uri, &st, &err), 0);

	snprintf(p.host, sizeof(p.host), "shv1");
	snprintf(p.url, sizeof(p.url), "smb://127.0.0.1:44501/conf");
	snprintf(p.credentials, sizeof(p.credentials), "/etc/nap/shv1.cred");
	assert_int_equal(nap_store_shv_add(st, &p, &err), -EINVAL); /* no site */
	assert_int_equal(nap_shv_settings_set(&p.settings, NAP_SHV_SITE, "S01", err_s,
					      sizeof(err_s)),
			 0);
	assert_int_equal(nap_store_shv_add(st, &p, &err), 0);
	assert_int_equal(nap_store_shv_add(st, &p, &err), -EEXIST);
	assert_int_equal(nap_store_shv_get(st, "shv1", &got, &err), 0);
	assert_int_equal(got.revision, 1);
	assert_int_equal(got.pushed_revision, 0);
	assert_null(got.status);
	assert_string_equal(got.settings.value[NAP_SHV_SITE], "S01");
	assert_string_equal(got.url, p.url);
	nap_shv_point_clear(&got);

	/* The same settings again: no new revision; a change: one more. */
	assert_int_equal(nap_store_shv_update(st, "shv1", NULL, NULL, &p.settings, &rev, &err), 0);
	assert_int_equal(rev, 1);
	nap_shv_settings_set(&p.settings, NAP_SHV_VALIDITY_PERIOD, "1h", err_s, sizeof(err_s));
	assert_int_equal(nap_store_shv_update(st, "shv1", "smb://h/other", NULL, &p.settings, &rev,
					      &err),
			 0);
	assert_int_equal(rev, 2);
	assert_int_equal(nap_store_shv_pushed(st, "shv1", 2, 1000, &err), 0);
	assert_int_equal(nap_store_shv_pushed(st, "shv1", 1, 2000, &err), 0); /* not backwards */
	assert_int_equal(nap_store_shv_status_put(st, "shv1", "rejected", "{\"x\":1}", &err), 0);
	assert_int_equal(nap_store_shv_status_put(st, "shv1", "bogus", NULL, &err), -EINVAL);
	assert_int_equal(nap_store_shv_get(st, "shv1", &got, &err), 0);
	assert_int_equal(got.revision, 2);
	assert_int_equal(got.pushed_revision, 2);
	assert_int_equal(got.pushed, 1000);
	assert_string_equal(got.status, "rejected");
	assert_string_equal(got.status_detail, "{\"x\":1}");
	assert_string_equal(got.url, "smb://h/other");
	assert_string_equal(got.credentials, "/etc/nap/shv1.cred");
	assert_string_equal(got.settings.value[NAP_SHV_VALIDITY_PERIOD], "1h");
	nap_shv_point_clear(&got);

	snprintf(p.host, sizeof(p.host), "shv0");
	assert_int_equal(nap_store_shv_add(st, &p, &err), 0);
	assert_int_equal(nap_store_shv_list(st, &v, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].host, "shv0");
	assert_string_equal(v[1].host, "shv1");
	nap_shv_points_free(v, n);
	assert_int_equal(nap_store_shv_remove(st, "shv0", &err), 0);
	assert_int_equal(nap_store_shv_remove(st, "shv0", &err), -ENOENT);
	assert_int_equal(nap_store_shv_get(st, "shv0", &got, &err), -ENOENT);
	assert_int_equal(nap_store_shv_get(st, "bad name!", &got, &err), -ENOENT);

	nap_shv_point_clear(&p);
	nap_store_close(st);
	unlink(path);
	snprintf(uri, sizeof(uri), "%s-wal", path);
	unlink(uri);
	snprintf(uri, sizeof(uri), "%s-shm", path);
	unlink(uri);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_minimal_and_unset),
		cmocka_unit_test(test_render_roundtrip),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_file_level),
		cmocka_unit_test(test_all_errors_collected),
		cmocka_unit_test(test_each),
		cmocka_unit_test(test_set_and_json),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_store),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
