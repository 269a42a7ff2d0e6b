// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * Unit tests for napvd's managed settings file (managed.c) and the overlay parse of config.c:
 * the file's keys replace napvd.conf's (lists whole), napvd.conf's own rules apply to them, a
 * bad file is rejected whole with the running configuration kept, the status file says so, an
 * old revision is refused, and the settings parser and napvd's key parser agree value by value.
 */
#include <errno.h>
#include <fcntl.h>
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

#include "nap/shv.h"
#include "napvd.h"

static const char base_conf[] = "[hsr]\n"
				"source = file\n"
				"file = /nonexistent/hsr.json\n"
				"trusted_keys = /nonexistent/keys.pem\n"
				"sites = S09\n"
				"[validation]\n"
				"validity_period = 26h\n"
				"other = noncompliant\n"
				"known_client_errors = 0x1 0x2\n"
				"[client local]\n"
				"address = 127.0.0.1\n"
				"secret = testing123\n";

static int
to_overlay(const char *section, const char *key, const char *value, void *arg)
{
	struct napvd_overlay *ov = arg;

	ov->kv = realloc(ov->kv, (ov->n + 1) * sizeof(*ov->kv));
	assert_non_null(ov->kv);
	ov->kv[ov->n].section = strdup(section);
	ov->kv[ov->n].key = strdup(key);
	ov->kv[ov->n].value = strdup(value);
	ov->n++;
	return 0;
}

static void
overlay_free(struct napvd_overlay *ov)
{
	for (size_t i = 0; i < ov->n; i++) {
		free(ov->kv[i].section);
		free(ov->kv[i].key);
		free(ov->kv[i].value);
	}
	free(ov->kv);
	memset(ov, 0, sizeof(*ov));
}

/* A settings file as napvd would parse napvd.conf with it: 0 or the error. */
static int
parse_with(const char *settings, struct napvd_config **out, char *err, size_t err_len)
{
	struct nap_shv_settings s;
	struct nap_shv_errors errs;
	struct napvd_overlay ov = {.name = "nap-shv.conf"};
	int r;

	nap_shv_settings_init(&s);
	r = nap_shv_settings_parse(settings, strlen(settings), &s, &errs);
	if (r < 0) {
		snprintf(err, err_len, "settings: %s", errs.msg[0]);
		return r;
	}
	nap_shv_settings_each(&s, to_overlay, &ov);
	nap_shv_settings_clear(&s);
	r = napvd_config_parse_string_overlay(base_conf, "napvd.conf", &ov, out, err, err_len);
	overlay_free(&ov);
	return r;
}

static void
test_overlay_replaces(void **state)
{
	struct napvd_config *c;
	char err[1024];

	(void)state;
	assert_int_equal(parse_with("[shv]\nrevision=1\nsite=S01\n[hsr]\nsites=S02\n"
				    "[validation]\nvalidity_period=1h\nother=compliant\n"
				    "known_client_errors=\n",
				    &c, err, sizeof(err)),
			 0);
	assert_int_equal(c->vc.validity_period, 3600);
	assert_true(c->vc.maps_compliant[NAP_RESULT_OTHER]);
	assert_int_equal(c->vc.n_known_client_errors, 0); /* the list replaced whole */
	assert_int_equal(c->n_sites, 2);                   /* S09 of napvd.conf is gone */
	assert_string_equal(c->sites[0], "S01");
	assert_string_equal(c->sites[1], "S02");
	napvd_config_free(c);

	/* Keys the file leaves out keep napvd.conf's values. */
	assert_int_equal(parse_with("[shv]\nrevision=1\nsite=S01\n", &c, err, sizeof(err)), 0);
	assert_int_equal(c->vc.validity_period, 26 * 3600);
	assert_int_equal(c->vc.n_known_client_errors, 2);
	napvd_config_free(c);
}

static void
test_napvd_rules_apply(void **state)
{
	struct napvd_config *c = NULL;
	char err[1024];

	(void)state;
	/* The settings parser takes a path; napvd reads the file and it is not there. */
	assert_int_equal(parse_with("[shv]\nrevision=1\nsite=S01\n[hsr]\nuri=ldap://127.0.0.1:1\n"
				    "base=dc=x\nbind_dn=cn=a,dc=x\n"
				    "bind_password_file=/nonexistent/bind.pw\n",
				    &c, err, sizeof(err)),
			 -EINVAL);
	assert_null(c);
	assert_non_null(strstr(err, "nap-shv.conf: bind_password_file /nonexistent/bind.pw"));
}

/* Each value: the settings parser and napvd's own key parser say the same. */
static void
test_agreement(void **state)
{
	static const struct {
		const char *section, *key, *value;
	} cases[] = {
		{"validation", "validity_period", "26h"}, {"validation", "validity_period", "0"},
		{"validation", "validity_period", "5x"},  {"validation", "validity_period", "-1"},
		{"hsr", "query_interval", "0"},           {"hsr", "query_interval", "1s"},
		{"hsr", "max_age", "7d"},                 {"hsr", "max_age", "h"},
		{"validation", "absolute_cutoff", "2026-01-01"},
		{"validation", "absolute_cutoff", "2026-13-01"},
		{"validation", "other", "compliant"},     {"validation", "other", "yes"},
		{"validation", "server_component", "noncompliant"},
		{"validation", "known_client_errors", "0x80070005 12"},
		{"validation", "known_client_errors", "0x1FFFFFFFF"},
		{"validation", "known_client_errors", "abc"},
		{"hsr", "uri", "ldaps://gc.example:3269"}, {"hsr", "uri", "ldap://h/dc=x"},
		{"hsr", "uri", "https://h"},              {"hsr", "base", "dc=example,dc=org"},
		{"hsr", "base", "example"},               {"hsr", "sites", "S02 S03"},
		{"hsr", "sites", "S0!"},                  {"hsr", "sites", "ABCDEFGHIJKLMNOPQ"},
	};
	char text[512], err[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nap_shv_settings s;
		struct nap_shv_errors errs;
		struct napvd_config *c = NULL;
		int lib, napvd;

		snprintf(text, sizeof(text), "[shv]\nrevision=1\nsite=S01\n[%s]\n%s = %s\n",
			 cases[i].section, cases[i].key, cases[i].value);
		nap_shv_settings_init(&s);
		lib = nap_shv_settings_parse(text, strlen(text), &s, &errs);
		nap_shv_settings_clear(&s);
		/* napvd alone: the same key straight in napvd.conf */
		snprintf(text, sizeof(text),
			 "[%s]\n%s = %s\n[hsr]\nfile = /x\ntrusted_keys = /k\n[client a]\n"
			 "address = 127.0.0.1\nsecret = s\n",
			 cases[i].section, cases[i].key, cases[i].value);
		napvd = napvd_config_parse_string(text, "napvd.conf", &c, err, sizeof(err));
		napvd_config_free(c);
		if ((lib == 0) != (napvd == 0))
			fail_msg("[%s] %s = %s: settings parser %d, napvd %d (%s)", cases[i].section,
				 cases[i].key, cases[i].value, lib, napvd,
				 lib < 0 ? errs.msg[0] : err);
	}
}

struct fixture {
	char dir[64];
	char conf[128], managed[128], status[128];
};

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *
read_status(const struct fixture *fx)
{
	FILE *f = fopen(fx->status, "r");
	static char buf[4096];
	size_t n;

	if (f == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int64_t
fixed_real(void *arg)
{
	(void)arg;
	return 1764000000;
}

static int64_t
fixed_mono(void *arg)
{
	(void)arg;
	return 1000;
}

static void
test_managed_file(void **state)
{
	static struct napvd d;
	struct fixture fx;
	char err[1024], *st;
	struct nap_shv_status sts;

	(void)state;
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/napvd-managed-XXXXXX");
	assert_non_null(mkdtemp(fx.dir));
	snprintf(fx.conf, sizeof(fx.conf), "%s/napvd.conf", fx.dir);
	snprintf(fx.managed, sizeof(fx.managed), "%s/nap-shv.conf", fx.dir);
	snprintf(fx.status, sizeof(fx.status), "%s/nap-shv.status", fx.dir);
	{
		char conf[2048];

		snprintf(conf, sizeof(conf), "%s[managed]\nfile = %s\n", base_conf, fx.managed);
		write_file(fx.conf, conf);
	}
	write_file(fx.managed, "[shv]\nrevision = 3\nsite = S01\n[validation]\n"
			       "validity_period = 2h\n");
	memset(&d, 0, sizeof(d));
	d.clock = (struct napvd_clock){.mono_ms = fixed_mono, .real_s = fixed_real};
	assert_int_equal(napvd_config_parse_file(fx.conf, &d.conf, err, sizeof(err)), 0);
	assert_int_equal(napvd_managed_open(&d, fx.conf), 0);
	assert_int_equal(d.conf->vc.validity_period, 2 * 3600);
	st = read_status(&fx);
	assert_non_null(st);
	assert_int_equal(nap_shv_status_parse(st, strlen(st), &sts, err, sizeof(err)), 0);
	assert_int_equal(sts.result, NAP_SHV_ACCEPTED);
	assert_int_equal(sts.revision, 3);
	assert_int_equal(sts.running_revision, 3);
	assert_int_equal(sts.applied, 1764000000);

	/* A bad value: rejected whole, the running settings stay, every error is reported. */
	write_file(fx.managed, "[shv]\nrevision = 4\nsite = S01\n[validation]\n"
			       "validity_period = 1h\nother = perhaps\nserver_component = x\n");
	napvd_managed_check(&d);
	assert_int_equal(d.conf->vc.validity_period, 2 * 3600);
	st = read_status(&fx);
	assert_int_equal(nap_shv_status_parse(st, strlen(st), &sts, err, sizeof(err)), 0);
	assert_int_equal(sts.result, NAP_SHV_REJECTED);
	assert_int_equal(sts.revision, 4);
	assert_int_equal(sts.running_revision, 3);
	assert_int_equal(sts.n_errors, 2);
	assert_non_null(strstr(sts.errors[0], "line 6: other"));
	assert_non_null(strstr(sts.errors[1], "line 7: server_component"));

	/* An old revision is refused even when it is valid. */
	write_file(fx.managed, "[shv]\nrevision = 2\nsite = S01\n[validation]\n"
			       "validity_period = 5h\n");
	napvd_managed_check(&d);
	assert_int_equal(d.conf->vc.validity_period, 2 * 3600);
	st = read_status(&fx);
	assert_non_null(strstr(st, "not newer than the running revision 3"));

	/* A file napvd's own rules refuse (its parser alone would take it). */
	write_file(fx.managed, "[shv]\nrevision = 5\nsite = S01\n[hsr]\nbind_dn = cn=a\n"
			       "bind_password_file = /nonexistent/pw\nuri = ldap://127.0.0.1:1\n");
	napvd_managed_check(&d);
	st = read_status(&fx);
	assert_non_null(strstr(st, "\"rejected\""));
	assert_non_null(strstr(st, "bind_password_file /nonexistent/pw"));

	/* A newer good one applies; the same bytes again are not judged twice. */
	write_file(fx.managed, "[shv]\nrevision = 6\nsite = S01\n[validation]\n"
			       "validity_period = 30m\n");
	napvd_managed_check(&d);
	assert_int_equal(d.conf->vc.validity_period, 1800);
	{
		char mt[2048];

		assert_true(napvd_managed_metrics(&d, mt, sizeof(mt)) > 0);
		assert_non_null(strstr(mt, "napvd_managed_revision 6\n"));
		assert_non_null(strstr(mt, "napvd_managed_rejects_total 3\n"));
		assert_non_null(strstr(mt, "napvd_managed_checks_total 5\n"));
		napvd_managed_check(&d);
		napvd_managed_metrics(&d, mt, sizeof(mt));
		assert_non_null(strstr(mt, "napvd_managed_checks_total 5\n"));
	}
	/* The accepted overlay stays for a parse of napvd.conf (what SIGHUP does). */
	{
		struct napvd_config *c;

		assert_int_equal(napvd_config_parse_file_overlay(fx.conf, napvd_managed_overlay(&d),
								 &c, err, sizeof(err)),
				 0);
		assert_int_equal(c->vc.validity_period, 1800);
		napvd_config_free(c);
	}
	napvd_managed_close(&d);
	napvd_config_free(d.conf);
	unlink(fx.conf);
	unlink(fx.managed);
	unlink(fx.status);
	rmdir(fx.dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_overlay_replaces),
		cmocka_unit_test(test_napvd_rules_apply),
		cmocka_unit_test(test_agreement),
		cmocka_unit_test(test_managed_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
